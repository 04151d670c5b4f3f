// Copyright 2026 the Sluice authors. Apache-2.0 license.
// What a connection spends per small request outside the handler (issue #17,
// server/connection.ts), each against what it replaced: taking a 1.2 KB Produce frame out of the
// read buffer (a fresh copy per frame, as before, against a spare buffer of the connection's);
// encoding a Produce v7 answer (into a fresh 1 KiB Writer, as before, against one of the
// connection's two response buffers); and one request over real TCP to a broker (one connection,
// one request at a time, the conns-1 workload of bench/e2e). Run:
// deno bench --allow-all bench/connection_bench.ts
import { encodeRequestFrame, encodeResponseFrame } from "../protocol/framing.ts";
import {
  createProduceRequest,
  createProduceResponsePartitionProduceResponse,
  ProduceRequest,
  ProduceResponse,
} from "../protocol/messages/produce.ts";
import { encodeRecordBatch } from "../records/mod.ts";
import { MIN_SPARE_FRAME_BYTES, RESPONSE_SCRATCH_BYTES } from "../server/connection.ts";
import { createTopic, RawClient, startTestBroker } from "../server/testing.ts";

const value = new Uint8Array(100).fill(97);
const batch = encodeRecordBatch(Array.from({ length: 10 }, () => ({ value })));
const request = encodeRequestFrame(
  ProduceRequest,
  7,
  1,
  "conns_perf",
  createProduceRequest({
    acks: 1,
    timeoutMs: 30_000,
    topicData: [{ name: "bench", partitionData: [{ index: 0, records: batch }] }],
  }),
);
// the read buffer of a connection, holding one request after its size prefix
const readBuffer = new Uint8Array(64 * 1024);
readBuffer.set(request);
const size = request.length - 4;
let sink = 0;

Deno.bench("frame: a fresh copy (before)", { group: "frame", baseline: true }, () => {
  const frame = readBuffer.slice(4, 4 + size);
  sink += frame[0];
});

const spares: ArrayBuffer[] = [];
Deno.bench("frame: into a spare buffer, given back once handled", { group: "frame" }, () => {
  const buf = spares.pop() ??
    new ArrayBuffer(Math.max(MIN_SPARE_FRAME_BYTES, 2 ** Math.ceil(Math.log2(size))));
  const frame = new Uint8Array(buf, 0, size);
  frame.set(readBuffer.subarray(4, 4 + size));
  sink += frame[0];
  spares.push(buf);
});

const answer = ProduceResponse.create({
  responses: [{
    name: "bench",
    partitionResponses: [createProduceResponsePartitionProduceResponse({ baseOffset: 12345 })],
  }],
});
Deno.bench(
  "answer: into a fresh 1 KiB buffer (before)",
  { group: "answer", baseline: true },
  () => {
    sink += encodeResponseFrame(ProduceResponse, 7, 1, answer)[0].length;
  },
);

const scratch = [new Uint8Array(RESPONSE_SCRATCH_BYTES), new Uint8Array(RESPONSE_SCRATCH_BYTES)];
let turn = 0;
Deno.bench("answer: into the connection's response buffers", { group: "answer" }, () => {
  sink += encodeResponseFrame(ProduceResponse, 7, 1, answer, scratch[turn++ & 1])[0].length;
});

const t = await startTestBroker();
const c = await RawClient.connect(t.broker.port);
await createTopic(c, "bench");
const conn = await Deno.connect({ hostname: "127.0.0.1", port: t.broker.port });
conn.setNoDelay(true);
const reply = new Uint8Array(4096);
Deno.bench("Produce 10 × 100 B over TCP, one connection (conns-1)", { group: "tcp" }, async () => {
  await conn.write(request);
  let got = 0;
  let need = Infinity;
  while (got < need) {
    const n = await conn.read(reply.subarray(got));
    if (n === null) throw new Error("produce failed: the broker closed the connection");
    got += n;
    if (got >= 4) need = 4 + new DataView(reply.buffer).getInt32(0);
  }
});

globalThis.addEventListener("unload", () => {
  conn.close();
  c.close();
  if (sink < 0) console.log(sink);
});
