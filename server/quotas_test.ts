// Copyright 2026 the Sluice authors. Apache-2.0 license.
// Client quotas (server/quotas.ts): Kafka's precedence order, the sensors shared by a <default>
// entity, the rate over samples and the throttle time, as Kafka's ClientQuotaManager computes it.

import { deepStrictEqual as assertEquals } from "node:assert/strict";
import {
  CLIENT_QUOTAS_FILE,
  ClientQuotaManager,
  ClientQuotaStore,
  type QuotaEntity,
  SampledRate,
  validateQuota,
} from "./quotas.ts";

const P = "producer_byte_rate";

Deno.test("quotas: Kafka's precedence, from users/<user>/clients/<client-id> to clients/<default>", async () => {
  const store = await ClientQuotaStore.open(null);
  // each level gets a distinct value; removing them one by one walks down the order
  const order: QuotaEntity[] = [
    { user: "alice", clientId: "app" },
    { user: "alice", clientId: null },
    { user: "alice" },
    { user: null, clientId: "app" },
    { user: null, clientId: null },
    { user: null },
    { clientId: "app" },
    { clientId: null },
  ];
  await store.apply(order.map((entity, i) => ({ entity, key: P, value: 100 * (i + 1) })));
  const seen: number[] = [];
  for (const entity of order) {
    seen.push(store.resolve(P, "alice", "app")?.bound ?? -1);
    await store.apply([{ entity, key: P, value: null }]);
  }
  assertEquals(seen, [100, 200, 300, 400, 500, 600, 700, 800]);
  assertEquals(store.resolve(P, "alice", "app"), null);
  assertEquals(store.empty, true);
  // another key of the same entity does not stand in for the one asked
  await store.apply([{ entity: { user: "alice" }, key: "consumer_byte_rate", value: 5 }]);
  assertEquals(store.resolve(P, "alice", "app"), null);
  assertEquals(store.resolve("consumer_byte_rate", "alice", "other")?.bound, 5);
});

Deno.test("quotas: a <default> entity gives each client its own sensor; a named user shares one", async () => {
  const store = await ClientQuotaStore.open(null);
  await store.apply([
    { entity: { clientId: null }, key: P, value: 1000 },
    { entity: { user: "bob" }, key: P, value: 1000 },
  ]);
  assertEquals(store.resolve(P, "ANONYMOUS", "a")?.sensor, `${P}\u0000\u0000a`);
  assertEquals(store.resolve(P, "ANONYMOUS", "b")?.sensor, `${P}\u0000\u0000b`);
  assertEquals(store.resolve(P, "bob", "a")?.sensor, `${P}\u0000bob\u0000`);
  assertEquals(store.resolve(P, "bob", "b")?.sensor, `${P}\u0000bob\u0000`);
});

Deno.test("quotas: rate over 11 samples of 1 s and Kafka's throttle time", () => {
  const cfg = { samples: 11, windowMs: 1000 };
  const rate = new SampledRate(cfg);
  rate.record(10_000, 0);
  // fewer than samples - 1 whole windows: the window counts as 10 s
  assertEquals(rate.windowSize(0), 10_000);
  assertEquals(rate.measure(0), 1000);
  rate.record(10_000, 20_500);
  // the old sample expired (older than 11 s); the window is still at least 10 s
  assertEquals(rate.measure(20_500), 1000);
  rate.record(0, 40_000);
  assertEquals(rate.measure(40_000), 0);
});

Deno.test("quotas: throttle = (rate - bound) / bound * window, as QuotaUtils.throttleTime", async () => {
  const store = await ClientQuotaStore.open(null);
  await store.apply([{ entity: { clientId: "c" }, key: P, value: 1000 }]);
  const m = new ClientQuotaManager(store);
  assertEquals(m.record(P, "u", "c", 10_000, 0), 0); // 1000 B/s over 10 s: at the bound
  // 30 000 B over a 10 s window = 3000 B/s, twice over the bound: 2 * 10 s
  assertEquals(m.record(P, "u", "c", 20_000, 0), 20_000);
  assertEquals(m.record(P, "u", "other", 1_000_000, 0), 0); // no quota for that client id
  assertEquals(m.throttledTotal[P], 1);
});

Deno.test("quotas: values are checked as Kafka's ClientQuotaControlManager does", () => {
  assertEquals(validateQuota("producer_byte_rate", 1024), null);
  assertEquals(validateQuota("request_percentage", 12.5), null);
  assertEquals(validateQuota("bogus", 1), "Invalid configuration key bogus");
  assertEquals(
    validateQuota("producer_byte_rate", 1.5),
    "Configuration producer_byte_rate must be a Long value",
  );
  assertEquals(
    validateQuota("consumer_byte_rate", 0),
    "Quota consumer_byte_rate must be greater than 0",
  );
  assertEquals(
    validateQuota("request_percentage", -1),
    "Quota request_percentage must be greater than 0",
  );
});

Deno.test("quotas: kept in the data directory and read back", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const a = await ClientQuotaStore.open(dir);
    await a.apply([
      { entity: { user: "u,=<x", clientId: null }, key: P, value: 10 },
      { entity: { user: null }, key: "request_percentage", value: 2.5 },
    ]);
    const b = await ClientQuotaStore.open(dir);
    assertEquals(b.entries(), a.entries());
    assertEquals(b.resolve(P, "u,=<x", "any")?.bound, 10);
    const text = await Deno.readTextFile(`${dir}/${CLIENT_QUOTAS_FILE}`);
    assertEquals(JSON.parse(text).version, 1);
    await Deno.writeTextFile(
      `${dir}/${CLIENT_QUOTAS_FILE}`,
      '{"version":1,"quotas":[{"entity":{"user":"x"},"quotas":{"bogus":1}}]}',
    );
    let error = "";
    await ClientQuotaStore.open(dir).catch((e) => error = e.message);
    assertEquals(error.endsWith("invalid quota bogus=1 for user=x"), true);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
