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
