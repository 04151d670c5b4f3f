// Copyright 2026 the Sluice authors. Apache-2.0 license.
// Broker round trips over real TCP on localhost: Produce (acks=1) of one 64 KiB batch
// (64 records of 1 KiB) and Fetch of 1 MiB from a filled partition. Run: deno task bench
// bench/server_bench.ts. Figures are per request; MB/s = 0.0655 / (time in s) for produce.
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
await createTopic(c, "bench-produce");
await createTopic(c, "bench-fetch");
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

globalThis.addEventListener("unload", () => {
  c.close();
});
