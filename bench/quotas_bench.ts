// Copyright 2026 the Sluice authors. Apache-2.0 license.
// What client quotas cost a request (server/quota_throttle.ts): Broker.serveFrame (decode,
// handler, encode, no socket) of a small Produce and a Metadata request with no quota configured,
// with a quota configured for another client id (every request then resolves its quotas: a cached
// lookup), and with the request's own client under a high quota (recorded on every request).
// With SLUICE_BASELINE=<a copy of main> (`git archive main | tar -x -C DIR`), the same requests
// through main's broker are the group baseline, so the no-quota case reads as an A/B ratio.
// Run: SLUICE_BASELINE=/tmp/sluice-main deno bench --allow-all bench/quotas_bench.ts
import { encodeRequestFrame } from "../protocol/framing.ts";
import { MetadataRequest } from "../protocol/messages/metadata.ts";
import { ProduceRequest } from "../protocol/messages/produce.ts";
import { Broker } from "../server/broker.ts";
import { createTopic, produceBody, RawClient } from "../server/testing.ts";
import { buildBatch } from "../wasm/testing.ts";

interface Served {
  serveFrame(frame: Uint8Array): Promise<Uint8Array[] | null>;
  close(): Promise<void>;
  port: number;
}

async function start(
  mod: { Broker: { start(c: Record<string, unknown>): Promise<Served> } },
): Promise<Served> {
  const dir = await Deno.makeTempDir({ prefix: "sluice-quota-bench-" });
  const b = await mod.Broker.start({
    listeners: "PLAINTEXT://127.0.0.1:0",
    logDirs: [dir],
    logLevel: "silent",
  });
  const c = await RawClient.connect(b.port);
  await createTopic(c, "bench");
  c.close();
  return b;
}

const batch = buildBatch({ records: [{ key: null, value: "x".repeat(100) }], baseTimestamp: 1 });
const produce = encodeRequestFrame(ProduceRequest, 9, 1, "bench", {
  ...ProduceRequest.create(),
  ...produceBody("bench", 0, batch),
}).subarray(4);
const metadata = encodeRequestFrame(MetadataRequest, 12, 1, "bench", {
  ...MetadataRequest.create(),
  topics: [],
}).subarray(4);

const baselineDir = Deno.env.get("SLUICE_BASELINE");
const main = baselineDir === undefined
  ? undefined
  : await start(await import(`file://${baselineDir}/server/broker.ts`));
const none = await start({ Broker } as never);
const other = await start({ Broker } as never) as unknown as Broker;
await other.quotas.store.apply([
  { entity: { clientId: "someone-else" }, key: "producer_byte_rate", value: 1000 },
]);
const own = await start({ Broker } as never) as unknown as Broker;
await own.quotas.store.apply([
  { entity: { clientId: null }, key: "producer_byte_rate", value: 1e12 },
  { entity: { clientId: null }, key: "request_percentage", value: 1e9 },
]);

for (const [what, frame] of [["Produce", produce], ["Metadata", metadata]] as const) {
  // serveFrame rewrites a Produce frame's base offsets in place: each call gets a copy
  const copy = () => frame.slice();
  if (main !== undefined) {
    Deno.bench({
      name: `${what}: main (no quotas)`,
      group: what,
      baseline: true,
      fn: async () => void await main.serveFrame(copy()),
    });
  }
  Deno.bench({
    name: `${what}: no quota configured`,
    group: what,
    baseline: main === undefined,
    fn: async () => void await none.serveFrame(copy()),
  });
  Deno.bench({
    name: `${what}: a quota for another client id`,
    group: what,
    fn: async () => void await other.serveFrame(copy()),
  });
  Deno.bench({
    name: `${what}: own quotas recorded`,
    group: what,
    fn: async () => void await own.serveFrame(copy()),
  });
}
