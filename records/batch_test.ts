// Copyright 2026 the Sluice authors. Apache-2.0 license.
import assert from "node:assert/strict";
import { gzipSync } from "node:zlib";
import { BatchStatus, scanBatches } from "../wasm/mod.ts";
import { buildBatch, concatBytes as concat, seededRandom } from "../wasm/testing.ts";
import {
  checkBatchAt,
  decodeRecordBatches,
  decodeRecords,
  decodeRecordsInto,
  peekBatchHeaders,
  readRecords,
} from "./batch_reader.ts";
import { encodeRecordBatch, RecordBatchBuilder, type RecordInput } from "./batch_builder.ts";
import { RecordsError } from "./errors.ts";
import {
  type CompressionName,
  computeCrcAt,
  CRC_OFFSET,
  crcAt,
  LAST_OFFSET_DELTA_OFFSET,
  LENGTH_OFFSET,
  LOG_OVERHEAD,
  MAGIC_OFFSET,
  RECORD_BATCH_OVERHEAD,
  RECORDS_COUNT_OFFSET,
  setAttributesAt,
  updateCrcAt,
  writeInt32,
} from "./layout.ts";

function concatBytes(...parts: Uint8Array[]): Uint8Array {
  return concat(parts);
}

const te = new TextEncoder();
const td = new TextDecoder();

const RECORDS: RecordInput[] = [
  {
    key: te.encode("k1"),
    value: te.encode("hello"),
    headers: [{ key: "h", value: te.encode("v") }],
    timestamp: 1_700_000_000_000,
  },
  { key: null, value: te.encode("no key"), timestamp: 1_700_000_000_005 },
  {
    key: te.encode("tomb"),
    value: null,
    headers: [{ key: "a", value: null }, { key: "ü", value: new Uint8Array([0, 255]) }],
    timestamp: 1_699_999_999_990,
  },
  { key: new Uint8Array(0), value: new Uint8Array(300).fill(7), timestamp: 1_700_000_000_001 },
];

function assertRoundTrip(bytes: Uint8Array, baseOffset: number): void {
  const batches = decodeRecordBatches(bytes);
  assert.equal(batches.length, 1);
  const b = batches[0];
  assert.equal(b.baseOffset, baseOffset);
  assert.equal(b.lastOffset, baseOffset + 3);
  assert.equal(b.baseTimestamp, 1_700_000_000_000);
  assert.equal(b.maxTimestamp, 1_700_000_000_005);
  assert.equal(b.control, false);
  assert.equal(b.sizeInBytes, bytes.length);
  assert.deepEqual(b.records, [
    {
      offset: baseOffset,
      timestamp: 1_700_000_000_000,
      key: te.encode("k1"),
      value: te.encode("hello"),
      headers: [{ key: "h", value: te.encode("v") }],
    },
    {
      offset: baseOffset + 1,
      timestamp: 1_700_000_000_005,
      key: null,
      value: te.encode("no key"),
      headers: [],
    },
    {
      offset: baseOffset + 2,
      timestamp: 1_699_999_999_990,
      key: te.encode("tomb"),
      value: null,
      headers: [{ key: "a", value: null }, { key: "ü", value: new Uint8Array([0, 255]) }],
    },
    {
      offset: baseOffset + 3,
      timestamp: 1_700_000_000_001,
      key: new Uint8Array(0),
      value: new Uint8Array(300).fill(7),
      headers: [],
    },
  ]);
}

Deno.test("encodeRecordBatch() round-trips keys, values, headers, timestamps and nulls", () => {
  const bytes = encodeRecordBatch(RECORDS, { baseOffset: 42 });
  assertRoundTrip(bytes, 42);
});

Deno.test("encodeRecordBatch() output is accepted by the wasm scanner with a valid CRC", () => {
  const a = encodeRecordBatch(RECORDS, { baseOffset: 0 });
  const b = encodeRecordBatch([{ value: te.encode("x") }], { baseOffset: 4 });
  const both = new Uint8Array(a.length + b.length);
  both.set(a);
  both.set(b, a.length);
  const scan = scanBatches(both);
  assert.equal(scan.status, BatchStatus.OK, scan.detail);
  assert.equal(scan.count, 2);
  assert.equal(scan.records, 5);
  assert.equal(scan.validBytes, both.length);
  assert.equal(scan.baseOffsets[1], 4);
  assert.equal(scan.lastOffsetDeltas[0], 3);
  assert.equal(crcAt(a, 0), computeCrcAt(a, 0));
});

Deno.test("encodeRecordBatch() with every codec compresses and decodes back", () => {
  for (const compression of ["gzip", "snappy", "lz4", "zstd"] as const) {
    const bytes = encodeRecordBatch(RECORDS, { baseOffset: 7, compression });
    const plain = encodeRecordBatch(RECORDS, { baseOffset: 7 });
    assert.ok(bytes.length < plain.length, `${compression} should shrink the 300-byte value`);
    const scan = scanBatches(bytes, { walkRecords: false });
    assert.equal(scan.status, BatchStatus.OK, scan.detail);
    assert.equal(decodeRecordBatches(bytes)[0].compression, compression);
    assertRoundTrip(bytes, 7);
  }
});

Deno.test("decodeRecordBatches() ignores a partial trailing batch", () => {
  const a = encodeRecordBatch([{ value: te.encode("one") }], { baseOffset: 0 });
  const b = encodeRecordBatch([{ value: te.encode("two") }], { baseOffset: 1 });
  for (const cut of [1, 12, 20, b.length - 1]) {
    const buf = new Uint8Array(a.length + cut);
    buf.set(a);
    buf.set(b.subarray(0, cut), a.length);
    const records = decodeRecords(buf);
    assert.deepEqual(records.map((r) => td.decode(r.value!)), ["one"], `cut ${cut}`);
  }
  assert.deepEqual(decodeRecordBatches(new Uint8Array(0)), []);
});

Deno.test("decodeRecords() skips control batches and records below the fetch offset", () => {
  const data = encodeRecordBatch([{ value: te.encode("a") }, { value: te.encode("b") }], {
    baseOffset: 10,
  });
  const control = encodeRecordBatch([{ key: new Uint8Array([0, 0, 0, 0]), value: null }], {
    baseOffset: 12,
    control: true,
    transactional: true,
  });
  const more = encodeRecordBatch([{ value: te.encode("c") }], { baseOffset: 13 });
  const buf = new Uint8Array(data.length + control.length + more.length);
  buf.set(data);
  buf.set(control, data.length);
  buf.set(more, data.length + control.length);
  const batches = decodeRecordBatches(buf);
  assert.deepEqual(batches.map((b) => b.control), [false, true, false]);
  const records = decodeRecords(buf, 11);
  assert.deepEqual(records.map((r) => [r.offset, td.decode(r.value!)]), [[11, "b"], [13, "c"]]);
});

Deno.test("decodeRecordBatches() uses maxTimestamp for LogAppendTime batches", () => {
  const bytes = encodeRecordBatch([{ value: null, timestamp: 5 }, { value: null, timestamp: 9 }], {
    timestampType: 1,
  });
  assert.deepEqual(decodeRecordBatches(bytes)[0].records.map((r) => r.timestamp), [9, 9]);
});

Deno.test("decodeRecordBatches() rejects a corrupted CRC with CORRUPT_MESSAGE", () => {
  const bytes = encodeRecordBatch(RECORDS, { baseOffset: 3 });
  bytes[bytes.length - 10] ^= 0xff; // inside the 300-byte value
  assert.throws(() => decodeRecordBatches(bytes), (e: unknown) => {
    assert.ok(e instanceof RecordsError);
    assert.equal(e.code, 2);
    assert.match(e.message, /^record batch: CRC mismatch at offset 3: stored [0-9a-f]+, computed/);
    return true;
  });
  // Without CRC verification the (damaged) value still decodes.
  assert.equal(decodeRecordBatches(bytes, { verifyCrc: false })[0].records.length, 4);
});

Deno.test("decodeRecordBatches() rejects old magic and malformed records clearly", () => {
  const bytes = encodeRecordBatch([{ value: te.encode("v") }]);
  const old = bytes.slice();
  old[MAGIC_OFFSET] = 1;
  assert.throws(() => decodeRecordBatches(old), {
    name: "RecordsError",
    message: /^record batch: unsupported magic 1 at offset 0 \(only v2 is supported\)/,
  });
  // Claim 2 records while only 1 is present (CRC recomputed so only the count is wrong).
  const short = bytes.slice();
  writeInt32(short, RECORDS_COUNT_OFFSET, 2);
  updateCrcAt(short, 0);
  assert.throws(() => decodeRecordBatches(short), {
    name: "RecordsError",
    message: /^record batch: record truncated inside a varint$/,
  });
});

Deno.test("a payload that does not decompress is CORRUPT_MESSAGE naming the codec", () => {
  const bytes = encodeRecordBatch([{ value: te.encode("v") }]);
  for (const [codec, name] of [[2, "snappy"], [3, "lz4"]] as const) {
    // Attributes claim a codec but the payload is plain records: a decompression failure.
    const b = bytes.slice();
    setAttributesAt(b, 0, codec);
    updateCrcAt(b, 0);
    assert.throws(() => decodeRecordBatches(b), (e: unknown) => {
      assert.ok(e instanceof RecordsError);
      assert.equal(e.code, 2);
      assert.match(e.message, new RegExp(`^record batch: cannot decompress ${name} records: `));
      return true;
    });
  }
  assert.throws(
    () => encodeRecordBatch([{ value: null }], { compression: "brotli" as CompressionName }),
    (e: unknown) =>
      e instanceof RecordsError && e.code === 76 && /unknown compression/.test(e.message),
  );
});

Deno.test("decodeRecordBatches() reports a broken gzip payload as CORRUPT_MESSAGE", () => {
  const good = gzipSync(new Uint8Array([1, 2, 3]));
  const b = new Uint8Array(RECORD_BATCH_OVERHEAD + good.length - 4);
  b.set(encodeRecordBatch([{ value: null }]).subarray(0, RECORD_BATCH_OVERHEAD));
  b.set(good.subarray(0, good.length - 4), RECORD_BATCH_OVERHEAD);
  writeInt32(b, LENGTH_OFFSET, b.length - LOG_OVERHEAD);
  setAttributesAt(b, 0, 1);
  updateCrcAt(b, 0);
  assert.throws(() => decodeRecordBatches(b), {
    name: "RecordsError",
    message: /^record batch: cannot decompress gzip records: /,
  });
});

Deno.test("encodeRecordBatch() rejects an empty batch", () => {
  assert.throws(() => encodeRecordBatch([]), {
    name: "RangeError",
    message: "record batch: cannot encode an empty batch",
  });
});

Deno.test("decodeRecordsInto() skips control batches and records below fromOffset, returns the next offset", () => {
  const last = encodeRecordBatch(
    [{ key: te.encode("k"), value: te.encode("c"), headers: [{ key: "h", value: null }] }],
    { baseOffset: 3, timestamp: 1_700_000_000_123 },
  );
  const data = concatBytes(
    encodeRecordBatch([{ value: te.encode("a") }, { value: te.encode("b") }], { baseOffset: 0 }),
    encodeRecordBatch([{ key: null, value: new Uint8Array(6) }], { baseOffset: 2, control: true }),
    last,
  );
  const out: Array<[number, string, string[]]> = [];
  const next = decodeRecordsInto(
    data,
    1,
    (offset, _ts, _key, value, headers) =>
      [offset, new TextDecoder().decode(value!), headers.map((h) => h.key)] as [
        number,
        string,
        string[],
      ],
    out,
  );
  assert.equal(next, 4);
  assert.deepEqual(out, [[1, "b", []], [3, "c", ["h"]]]);
  // A cut trailing batch is not decoded and does not move the offset.
  const cut: unknown[] = [];
  assert.equal(decodeRecordsInto(data.subarray(0, data.length - 3), 0, (o) => o, cut), 3);
  assert.equal(cut.length, 2);
  // A corrupted CRC is refused unless checks are off.
  const bad = data.slice();
  bad[data.length - last.length + CRC_OFFSET] ^= 0xff; // the stored CRC of the last batch
  assert.throws(() => decodeRecordsInto(bad, 0, (o) => o, []), /CRC mismatch at offset 3/);
  assert.equal(decodeRecordsInto(bad, 0, (o) => o, [], { verifyCrc: false }), 4);
});

Deno.test("RecordBatchBuilder grows its buffer, keeps negative and large timestamp deltas, refuses use after finish", () => {
  const b = new RecordBatchBuilder(16);
  const value = new Uint8Array(300).fill(7);
  const base = 1_700_000_000_000;
  const stamps = [base, base - 5, base + 2 ** 33, base + 1];
  for (const ts of stamps) b.append(null, value, ts);
  assert.equal(b.count, 4);
  const bytes = b.finish();
  assert.equal(bytes.length, b.sizeInBytes);
  const [batch] = decodeRecordBatches(bytes);
  assert.deepEqual(batch.records.map((r) => r.timestamp), stamps);
  assert.equal(batch.maxTimestamp, base + 2 ** 33);
  assert.deepEqual(batch.records[2].value, value);
  assert.throws(() => b.append(null, value, base), /cannot append to a finished batch/);
  assert.throws(() => new RecordBatchBuilder().finish(), /cannot encode an empty batch/);
});

/** Random records: keys and values null, empty or up to 2 KiB, 0-3 headers, spread timestamps. */
function randomRecords(rnd: () => number, n: number, base: number): RecordInput[] {
  const bytes = (max: number): Uint8Array | null => {
    const k = rnd();
    if (k < 0.1) return null;
    if (k < 0.2) return new Uint8Array(0);
    const len = (rnd() * max) | 0;
    return Uint8Array.from({ length: len }, (_, i) => (i * 31 + len) & 0xff);
  };
  return Array.from({ length: n }, () => ({
    key: bytes(64),
    value: bytes(2048),
    headers: Array.from({ length: (rnd() * 4) | 0 }, (_, h) => ({
      key: `h${h}-ü`,
      value: bytes(16),
    })),
    timestamp: base + Math.round((rnd() - 0.3) * 1e6),
  }));
}

Deno.test("property: random batches of every codec round-trip and pass the WASM validator", () => {
  const rnd = seededRandom(2026);
  const codecs: CompressionName[] = ["none", "gzip", "snappy", "lz4", "zstd"];
  for (let i = 0; i < 60; i++) {
    const records = randomRecords(rnd, 1 + ((rnd() * 40) | 0), 1_700_000_000_000);
    const compression = codecs[i % codecs.length];
    const baseOffset = Math.floor(rnd() * 2 ** 40);
    const bytes = encodeRecordBatch(records, {
      baseOffset,
      compression,
      producerId: 9,
      producerEpoch: 1,
      baseSequence: 100,
    });
    const scan = scanBatches(bytes);
    assert.equal(scan.status, BatchStatus.OK, `${compression}: ${scan.detail}`);
    const [b] = decodeRecordBatches(bytes, { validation: "strict" });
    assert.equal(b.compression, compression);
    assert.deepEqual([b.producerId, b.producerEpoch, b.baseSequence], [9, 1, 100]);
    assert.deepEqual(
      b.records.map((r) => [r.offset, r.timestamp, r.key, r.value, r.headers]),
      records.map((r, j) => [
        baseOffset + j,
        r.timestamp,
        r.key ?? null,
        r.value,
        r.headers,
      ]),
    );
    assert.equal(b.maxTimestamp, Math.max(...records.map((r) => r.timestamp!)));
    const fast: unknown[] = [];
    decodeRecordsInto(bytes, 0, (o, t, k, v, h) => [o, t, k, v, h], fast);
    assert.deepEqual(
      fast,
      b.records.map((r) => [r.offset, r.timestamp, r.key, r.value, r.headers]),
    );
  }
});

Deno.test("uncompressed batches are byte for byte those of the independent test encoder", () => {
  const rnd = seededRandom(7);
  for (let i = 0; i < 20; i++) {
    const n = 1 + ((rnd() * 20) | 0);
    const base = 1_700_000_000_000;
    const deltas = Array.from({ length: n }, () => ((rnd() - 0.5) * 1000) | 0);
    deltas[0] = 0;
    const te = new TextEncoder();
    const recs = deltas.map((d, j) => ({
      key: j % 3 === 0 ? null : `k${j}`,
      value: j % 4 === 1 ? null : "v".repeat(j * 7),
      headers: j % 2 ? [{ key: "hk", value: `hv${j}` }] : [],
      timestampDelta: d,
    }));
    const reference = buildBatch({ baseOffset: 5, baseTimestamp: base, records: recs });
    const ours = encodeRecordBatch(
      recs.map((r) => ({
        key: r.key === null ? null : te.encode(r.key),
        value: r.value === null ? null : te.encode(r.value),
        headers: r.headers.map((h) => ({ key: h.key, value: te.encode(h.value) })),
        timestamp: base + r.timestampDelta,
      })),
      { baseOffset: 5 },
    );
    // The reference sets maxTimestamp to base + the largest delta, as the records' max.
    assert.deepEqual(ours, reference);
  }
});

Deno.test("record validation: strict, relaxed and none", () => {
  const te = new TextEncoder();
  // A compacted batch: offset deltas 0 and 2, lastOffsetDelta 3 (built from a full one).
  const full = encodeRecordBatch(
    ["a", "b", "c", "d"].map((k) => ({ key: te.encode(k), value: te.encode(k) })),
    { baseOffset: 100 },
  );
  const builder = new RecordBatchBuilder();
  const r = readRecords(full);
  while (r.next()) if (r.offsetDelta % 2 === 0) builder.appendTail(r.offsetDelta, 0, r.tail());
  const compacted = builder.finish({ baseOffset: 100, lastOffsetDelta: 3 });
  const read = (b: Uint8Array, validation: "strict" | "relaxed" | "none") => {
    const rr = readRecords(b, 0, { validation });
    const deltas: number[] = [];
    while (rr.next()) deltas.push(rr.offsetDelta);
    return deltas;
  };
  assert.deepEqual(read(full, "strict"), [0, 1, 2, 3]);
  assert.deepEqual(read(compacted, "relaxed"), [0, 2]);
  assert.deepEqual(read(compacted, "none"), [0, 2]);
  assert.throws(() => read(compacted, "strict"), {
    name: "RecordsError",
    message: /^record batch: record 1 of batch at offset 100 has offset delta 2/,
  });
  // lastOffsetDelta below the last record's delta: refused by relaxed, read by none.
  const tooShort = compacted.slice();
  writeInt32(tooShort, LAST_OFFSET_DELTA_OFFSET, 1);
  updateCrcAt(tooShort, 0);
  assert.throws(
    () => read(tooShort, "relaxed"),
    /has offset delta 2 \(previous 0, lastOffsetDelta 1\)/,
  );
  assert.deepEqual(read(tooShort, "none"), [0, 2]);
  // strict also wants lastOffsetDelta = count - 1.
  const longer = full.slice();
  writeInt32(longer, LAST_OFFSET_DELTA_OFFSET, 4);
  updateCrcAt(longer, 0);
  assert.throws(() => read(longer, "strict"), /has 4 records but lastOffsetDelta 4/);
  // Bytes after the last record are refused unless validation is none.
  const extra = new Uint8Array(full.length + 2);
  extra.set(full);
  writeInt32(extra, LENGTH_OFFSET, extra.length - LOG_OVERHEAD);
  updateCrcAt(extra, 0);
  assert.throws(() => read(extra, "relaxed"), /has 2 bytes after its 4 records/);
  assert.deepEqual(read(extra, "none"), [0, 1, 2, 3]);
});

Deno.test("checkBatchAt() tells partial batches from corrupt ones", () => {
  const b = encodeRecordBatch([{ value: null }]);
  for (let cut = 0; cut < b.length; cut++) assert.equal(checkBatchAt(b.subarray(0, cut), 0), -1);
  const negative = b.slice();
  writeInt32(negative, LENGTH_OFFSET, -1);
  assert.throws(() => checkBatchAt(negative, 0), /negative batch length -1 at byte 0/);
  const tiny = b.slice(0, 30);
  writeInt32(tiny, LENGTH_OFFSET, 18);
  assert.throws(() => checkBatchAt(tiny, 0), /batch length 18 is too small/);
  const codec = b.slice();
  setAttributesAt(codec, 0, 5);
  updateCrcAt(codec, 0);
  assert.throws(() => checkBatchAt(codec, 0), /unknown compression codec 5/);
});

Deno.test("property: truncated or bit-flipped batches never decode wrongly without an error", () => {
  const rnd = seededRandom(99);
  for (let i = 0; i < 200; i++) {
    const compression = (["none", "gzip", "snappy", "lz4", "zstd"] as const)[i % 5];
    const bytes = encodeRecordBatch(randomRecords(rnd, 1 + ((rnd() * 5) | 0), 1e12), {
      compression,
    });
    const bad = bytes.slice();
    const at = RECORD_BATCH_OVERHEAD - 40 +
      ((rnd() * (bad.length - RECORD_BATCH_OVERHEAD + 40)) | 0);
    bad[at] ^= 1 << ((rnd() * 8) | 0);
    // With CRC checks a flip is always caught; without, decoding either throws a RecordsError or
    // returns records (a flip inside a key or value), never anything else.
    assert.throws(() => decodeRecordBatches(bad), RecordsError);
    try {
      decodeRecordBatches(bad, { verifyCrc: false });
    } catch (e) {
      assert.ok(e instanceof RecordsError, `${compression}: ${e}`);
    }
  }
});

Deno.test("internal-topic batches keep the bytes the group coordinator's encoder wrote", () => {
  // Written by the former server/group/records.ts encodeRecordBatch(records, 1700000000000).
  const expected =
    "000000000000000000000042ffffffff02c0bd384e0000000000010000018bcfe568000000018bcfe5" +
    "6800ffffffffffffffffffffffffffff000000021000000004010201000e00000201020900";
  const bytes = encodeRecordBatch([
    { key: new Uint8Array([1, 2]), value: null },
    { key: null, value: new Uint8Array([9]) },
  ], { timestamp: 1700000000000 });
  assert.equal(Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(""), expected);
});

Deno.test("peekBatchHeaders() agrees with the WASM scan's columns, or declines odd framing", () => {
  const rnd = seededRandom(5);
  const batches: Uint8Array[] = [];
  for (let i = 0; i < 20; i++) {
    const n = 1 + Math.floor(rnd() * 4);
    const compression = (["none", "gzip", "snappy", "lz4", "zstd"] as const)[i % 5];
    batches.push(
      encodeRecordBatch(
        Array.from({ length: n }, (_, k) => ({
          value: new Uint8Array(10 + k),
          timestamp: 1_700_000_000_000 + i * 10 + k,
        })),
        { compression, baseOffset: 1000 + i * 5 },
      ),
    );
  }
  const all = concat(batches);
  const cols = peekBatchHeaders(all)!;
  const scan = scanBatches(all);
  assert.equal(scan.status, BatchStatus.OK);
  assert.equal(cols.count, scan.count);
  for (
    const k of [
      "positions",
      "sizes",
      "lastOffsetDeltas",
      "recordCounts",
      "firstTimestamps",
      "maxTimestamps",
    ] as const
  ) {
    assert.deepEqual(Array.from(cols[k]), Array.from(scan[k].subarray(0, scan.count)), k);
  }
  assert.deepEqual(peekBatchHeaders(new Uint8Array(0)), {
    ...cols,
    count: 0,
    positions: [],
    sizes: [],
    lastOffsetDeltas: [],
    recordCounts: [],
    firstTimestamps: [],
    maxTimestamps: [],
  });
  // cut short, another magic, an uncompressed batch whose lastOffsetDelta is not count - 1
  assert.equal(peekBatchHeaders(all.subarray(0, all.length - 1)), null);
  const v1 = batches[0].slice();
  v1[MAGIC_OFFSET] = 1;
  assert.equal(peekBatchHeaders(v1), null);
  const gap = batches[0].slice();
  gap[LAST_OFFSET_DELTA_OFFSET + 3] += 1;
  assert.equal(peekBatchHeaders(gap), null);
});

Deno.test("a header key that is not valid UTF-8 is CORRUPT_MESSAGE; valid keys of every length decode", () => {
  const keys = ["", "h", "x".repeat(12), "y".repeat(40), "clé", "🔑".repeat(10)];
  const bytes = encodeRecordBatch([{
    value: te.encode("v"),
    headers: keys.map((key) => ({ key, value: null })),
  }]);
  assert.deepEqual(decodeRecordBatches(bytes)[0].records[0].headers.map((h) => h.key), keys);
  // "x" × 12 becomes an invalid sequence (a lone continuation byte) of the same length
  const bad = encodeRecordBatch([{
    value: te.encode("v"),
    headers: [{ key: "xxxxxxxxxxxx", value: null }],
  }]);
  const at = bad.findIndex((b, i) => b === 0x78 && bad[i + 11] === 0x78);
  bad[at + 5] = 0x80;
  assert.throws(() => decodeRecordBatches(bad, { verifyCrc: false }), (e: unknown) => {
    assert.ok(e instanceof RecordsError);
    assert.equal(e.code, 2);
    assert.match(e.message, /header key is not valid UTF-8/);
    return true;
  });
});
