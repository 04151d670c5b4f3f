// Copyright 2026 the Sluice authors. Apache-2.0 license.

// Hot-path codec benchmarks: a Produce v9 request with 100 partitions and a Fetch v12 response
// with 100 partitions, 1 KiB of records each. Run: deno bench --allow-all bench/protocol_bench.ts

import {
  createFetchResponsePartitionData,
  decodeBody,
  decodeRequestHeader,
  encodeRequestFrame,
  encodeResponseFrame,
  FetchResponse,
  ProduceRequest,
  Reader,
  Writer,
} from "../protocol/mod.ts";

const RECORDS = new Uint8Array(1024).fill(0x61);

const produce = ProduceRequest.create({
  acks: -1,
  timeoutMs: 30000,
  topicData: Array.from({ length: 10 }, (_, t) => ({
    name: `topic-${t}`,
    partitionData: Array.from({ length: 10 }, (_, p) => ({ index: p, records: RECORDS })),
  })),
});
const produceBytes = (() => {
  const w = new Writer();
  ProduceRequest.write(w, produce, 9);
  return w.finish().slice();
})();
const produceFrame = encodeRequestFrame(ProduceRequest, 9, 1, "bench", produce);

const fetch = FetchResponse.create({
  responses: Array.from({ length: 10 }, (_, t) => ({
    topic: `topic-${t}`,
    topicId: "AAAAAAAAAAAAAAAAAAAAAA",
    partitions: Array.from({ length: 10 }, (_, p) =>
      createFetchResponsePartitionData({
        partitionIndex: p,
        highWatermark: 1_000_000 + p,
        lastStableOffset: 1_000_000 + p,
        logStartOffset: 0,
        abortedTransactions: [],
        records: RECORDS,
      })),
  })),
});
const fetchBytes = (() => {
  const w = new Writer();
  FetchResponse.write(w, fetch, 12);
  return w.finish().slice();
})();

Deno.bench("produce v9 (100 partitions) decode", { group: "produce", baseline: true }, () => {
  ProduceRequest.read(new Reader(produceBytes), 9);
});

Deno.bench("produce v9 (100 partitions) encode", { group: "produce" }, () => {
  const w = new Writer(128 * 1024);
  ProduceRequest.write(w, produce, 9);
  w.finish();
});

Deno.bench("produce v9 frame: decode header + body", { group: "produce" }, () => {
  const { header, bodyOffset } = decodeRequestHeader(produceFrame, 4);
  decodeBody(ProduceRequest, produceFrame, bodyOffset, header.requestApiVersion);
});

Deno.bench("fetch v12 (100 partitions) decode", { group: "fetch", baseline: true }, () => {
  FetchResponse.read(new Reader(fetchBytes), 12);
});

Deno.bench("fetch v12 (100 partitions) encode", { group: "fetch" }, () => {
  const w = new Writer(128 * 1024);
  FetchResponse.write(w, fetch, 12);
  w.finish();
});

Deno.bench("fetch v12 response frame as chunks", { group: "fetch" }, () => {
  encodeResponseFrame(FetchResponse, 12, 1, fetch);
});

// Short ASCII strings (client ids, topic names): `Reader` keeps the last one read in each of
// 256 slots (`internAscii`), so a name read again allocates nothing. 100 int16-prefixed names of
// 16 bytes per iteration. The baseline is `TextDecoder` (what `Reader` calls for other strings);
// beside it the path before the cache (the ASCII check, then `String.fromCharCode` of the bytes);
// both take the lengths from a `Reader` as `readString` does. "Hit" reads one name 100 times;
// "miss" cycles through 4,096 names (~16 to a slot), so a name's slot has been taken by another
// one since it was last read.
const NAMES = 4096;
const PER_ITERATION = 100;
const nameBytes = (i: number) =>
  new TextEncoder().encode(`topic-${String(i).padStart(5, "0")}-bench`);
function prefixed(names: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(names.reduce((n, b) => n + 2 + b.length, 0));
  let at = 0;
  for (const b of names) {
    out[at] = b.length >> 8;
    out[at + 1] = b.length & 0xff;
    out.set(b, at + 2);
    at += 2 + b.length;
  }
  return out;
}
const sameName = prefixed(Array.from({ length: PER_ITERATION }, () => nameBytes(0)));
const manyNames = prefixed(Array.from({ length: NAMES }, (_, i) => nameBytes(i)));
const NAME_LENGTH = 2 + nameBytes(0).length;
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
let nextName = 0;
/** A reader of the next 100 of the 4,096 names (wraps). */
const nextNames = () => {
  const from = nextName * NAME_LENGTH;
  nextName = (nextName + PER_ITERATION) % (NAMES - PER_ITERATION);
  return new Reader(manyNames, from, from + PER_ITERATION * NAME_LENGTH);
};
let sink = 0;

Deno.bench("TextDecoder.decode (reference)", { group: "strings", baseline: true }, () => {
  const r = nextNames();
  for (let i = 0; i < PER_ITERATION; i++) {
    const n = r.readInt16();
    sink += utf8.decode(r.buf.subarray(r.pos, r.pos + n)).length;
    r.pos += n;
  }
});

Deno.bench("ASCII check + String.fromCharCode (before the cache)", { group: "strings" }, () => {
  const r = nextNames();
  const b = r.buf;
  for (let i = 0; i < PER_ITERATION; i++) {
    const n = r.readInt16();
    const p = r.pos;
    let ascii = true;
    for (let k = p; k < p + n; k++) {
      if (b[k] >= 0x80) {
        ascii = false;
        break;
      }
    }
    const text = ascii
      ? String.fromCharCode.apply(null, b.subarray(p, p + n) as never)
      : utf8.decode(b.subarray(p, p + n));
    sink += text.length;
    r.pos += n;
  }
});

Deno.bench("Reader.readString, cache hit", { group: "strings" }, () => {
  const r = new Reader(sameName);
  for (let i = 0; i < PER_ITERATION; i++) sink += r.readString().length;
});

Deno.bench("Reader.readString, cache miss", { group: "strings" }, () => {
  const r = nextNames();
  for (let i = 0; i < PER_ITERATION; i++) sink += r.readString().length;
});

globalThis.addEventListener("unload", () => {
  if (sink === 0) console.log("strings: nothing read");
});
