// Copyright 2026 the Sluice authors. Apache-2.0 license.
// The hot paths added for issues #16 and #17, each against what it replaced, in one run:
// - a batch of 1,000 records of a 4-byte key and a 100-byte value built from strings written in
//   place (records/utf8.ts) vs encoded first with TextEncoder (the old producer path);
// - decodeUtf8 vs a fatal TextDecoder for 100-byte values and 8-byte header keys;
// - a 1 MiB produce frame taken from a FrameBufferPool and given back vs a fresh buffer.
// Run: deno bench --allow-all bench/text_records_bench.ts
import { RecordBatchBuilder } from "../records/batch_builder.ts";
import { decodeUtf8 } from "../records/utf8.ts";
import { FrameBufferPool } from "../server/frame_buffer_pool.ts";

const RECORDS = 1000;
const keys = Array.from({ length: RECORDS }, (_, i) => `k${String(i).padStart(3, "0")}`);
const values = Array.from({ length: RECORDS }, (_, i) => `value-${i}-`.padEnd(100, "x"));
const te = new TextEncoder();

Deno.bench("batch of 1,000 text records: strings written in place", { group: "build" }, () => {
  const b = new RecordBatchBuilder(128 * 1024, { baseTimestamp: 0 });
  for (let i = 0; i < RECORDS; i++) b.append(keys[i], values[i], 0);
  b.finish();
});

Deno.bench(
  "batch of 1,000 text records: TextEncoder first",
  { group: "build", baseline: true },
  () => {
    const b = new RecordBatchBuilder(128 * 1024, { baseTimestamp: 0 });
    for (let i = 0; i < RECORDS; i++) b.append(te.encode(keys[i]), te.encode(values[i]), 0);
    b.finish();
  },
);

const encodedValues = values.map((v) => te.encode(v));
const encodedKeys = values.map((_, i) => te.encode(`header${i % 10}`));
const fatal = new TextDecoder("utf-8", { fatal: true });

Deno.bench("decode 1,000 100-byte values: decodeUtf8", { group: "decode-value" }, () => {
  for (const v of encodedValues) decodeUtf8(v);
});
Deno.bench(
  "decode 1,000 100-byte values: fatal TextDecoder",
  { group: "decode-value", baseline: true },
  () => {
    for (const v of encodedValues) fatal.decode(v);
  },
);
Deno.bench("decode 1,000 header keys: decodeUtf8", { group: "decode-key" }, () => {
  for (const k of encodedKeys) decodeUtf8(k);
});
Deno.bench(
  "decode 1,000 header keys: fatal TextDecoder",
  { group: "decode-key", baseline: true },
  () => {
    for (const k of encodedKeys) fatal.decode(k);
  },
);

const FRAME = 1 << 20;
const pool = new FrameBufferPool();
const source = new Uint8Array(FRAME).fill(7);

Deno.bench("1 MiB frame: pooled buffer, filled, given back", { group: "frame" }, () => {
  const f = pool.take(FRAME) ?? pool.allocate(FRAME);
  f.set(source);
  pool.give(f);
});
Deno.bench("1 MiB frame: fresh buffer, filled", { group: "frame", baseline: true }, () => {
  const f = new Uint8Array(FRAME);
  f.set(source);
});
