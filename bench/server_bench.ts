// Copyright 2026 the Sluice authors. Apache-2.0 license.
// Broker round trips over real TCP on localhost: Produce (acks=1) of one 64 KiB batch
// (64 records of 1 KiB), Fetch of 1 MiB from a filled partition (with and without a long-poll
// wait: data present answers at once either way; read_committed: below the last stable offset,
// with the aborted transactions of the range), and a long-polling Fetch at the log end woken by
// a small Produce on another connection. Run: deno task bench bench/server_bench.ts. Figures
// are per request; MB/s = 0.0655 / (time in s) for produce.
import { FetchRequest, FetchResponse } from "../protocol/messages/fetch.ts";
import { ProduceRequest, ProduceResponse } from "../protocol/messages/produce.ts";
import { buildBatch } from "../wasm/testing.ts";
import {
  createTopic,
  fetchBody,
  produceBody,
  RawClient,
  startTestBroker,
} from "../server/testing.ts";

const t = await startTestBroker();
const c = await RawClient.connect(t.broker.port);
const poller = await RawClient.connect(t.broker.port);
await createTopic(c, "bench-produce");
await createTopic(c, "bench-fetch");
await createTopic(c, "bench-wake");
const value = "v".repeat(1024);
const batch = buildBatch({
  records: Array.from({ length: 64 }, (_, i) => ({ key: `k${i}`, value })),
  baseTimestamp: Date.now(),
});
// 16 MiB to fetch from.
for (let i = 0; i < 256; i++) {
  await c.request(ProduceRequest, ProduceResponse, 9, produceBody("bench-fetch", 0, batch));
}
let fetchOffset = 0;
const small = buildBatch({ records: [{ key: null, value: "x".repeat(100) }] });
let wakeOffset = 0;

Deno.bench("produce 64 KiB batch, acks=1", { group: "broker" }, async () => {
  const r = await c.request(
    ProduceRequest,
    ProduceResponse,
    9,
    produceBody("bench-produce", 0, batch),
  );
  if (r.responses[0].partitionResponses[0].errorCode !== 0) throw new Error("produce failed");
});

Deno.bench("fetch up to 1 MiB", { group: "broker" }, async () => {
  const r = await c.request(
    FetchRequest,
    FetchResponse,
    12,
    fetchBody([{ topic: "bench-fetch", partition: 0, offset: fetchOffset }], { maxBytes: 1 << 20 }),
  );
  const p = r.responses[0].partitions[0];
  if (p.errorCode !== 0 || p.records!.length === 0) throw new Error("fetch failed");
  fetchOffset = fetchOffset + 16 * 64 >= 256 * 64 ? 0 : fetchOffset + 16 * 64;
});

Deno.bench("fetch up to 1 MiB, read_committed", { group: "broker" }, async () => {
  const r = await c.request(
    FetchRequest,
    FetchResponse,
    12,
    fetchBody([{ topic: "bench-fetch", partition: 0, offset: fetchOffset }], {
      maxBytes: 1 << 20,
      isolationLevel: 1,
    }),
  );
  const p = r.responses[0].partitions[0];
  if (p.errorCode !== 0 || p.records!.length === 0) throw new Error("fetch failed");
  fetchOffset = fetchOffset + 16 * 64 >= 256 * 64 ? 0 : fetchOffset + 16 * 64;
});

Deno.bench("fetch up to 1 MiB, max wait 500 ms (data present)", { group: "broker" }, async () => {
  const r = await c.request(
    FetchRequest,
    FetchResponse,
    12,
    fetchBody([{ topic: "bench-fetch", partition: 0, offset: fetchOffset }], {
      maxBytes: 1 << 20,
      maxWaitMs: 500,
      minBytes: 1,
    }),
  );
  const p = r.responses[0].partitions[0];
  if (p.errorCode !== 0 || p.records!.length === 0) throw new Error("fetch failed");
  fetchOffset = fetchOffset + 16 * 64 >= 256 * 64 ? 0 : fetchOffset + 16 * 64;
});

Deno.bench("long-poll fetch at the log end, then a 1-record produce on another connection", {
  group: "long poll",
}, async () => {
  const fetched = poller.request(
    FetchRequest,
    FetchResponse,
    12,
    fetchBody([{ topic: "bench-wake", partition: 0, offset: wakeOffset }], {
      maxWaitMs: 5_000,
      minBytes: 1,
    }),
  );
  const produced = await c.request(
    ProduceRequest,
    ProduceResponse,
    9,
    produceBody("bench-wake", 0, small),
  );
  const r = await fetched;
  const p = r.responses[0].partitions[0];
  if (produced.responses[0].partitionResponses[0].errorCode !== 0 || p.records!.length === 0) {
    throw new Error("long poll failed");
  }
  wakeOffset++;
});

globalThis.addEventListener("unload", () => {
  c.close();
  poller.close();
});
