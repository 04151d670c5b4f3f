// Copyright 2026 the Sluice authors. Apache-2.0 license.
// Foreign-key table joins (KIP-213) on a real broker: a random run of left and right updates
// (foreign-key changes, null foreign keys, deletes on both sides) through an inner and a left
// foreign-key join, the left table on 2 partitions and the right on 3 (not co-partitioned),
// stopped in the middle and restarted; the joined tables and the output topics must equal a
// model computed here, under at-least-once and exactly-once.
import assert, { deepStrictEqual as assertEquals } from "node:assert/strict";
import { Client } from "../client/mod.ts";
import { sharedBroker, uniqueTopic } from "../tests/harness.ts";
import { KafkaStreams, Serdes, type StreamsConfig } from "./mod.ts";
import { createTopics, eventually, latestByKey, sorted } from "./testing.ts";
import { model, produce, topology, updates } from "../tests/streams/fk_orders.ts";

const broker = sharedBroker();
const S = Serdes.String();

async function fkRun(guarantee: "at_least_once" | "exactly_once_v2") {
  const { bootstrap } = await broker();
  const client = new Client({ bootstrapServers: bootstrap });
  const orders = uniqueTopic("orders");
  const customers = uniqueTopic("customers");
  const innerOut = uniqueTopic("inner-out");
  const leftOut = uniqueTopic("left-out");
  const applicationId = uniqueTopic("fk-app");
  await createTopics(client, 2, orders, innerOut, leftOut);
  await createTopics(client, 3, customers);
  const config: StreamsConfig = {
    applicationId,
    bootstrapServers: bootstrap,
    defaultKeySerde: S,
    defaultValueSerde: S,
    processingGuarantee: guarantee,
    commitIntervalMs: 100,
  };
  const seed = guarantee === "at_least_once" ? 10 : 20;
  const [first, second, third] = [
    updates(seed + 1, 600),
    updates(seed + 2, 600),
    updates(seed + 3, 600),
  ];
  const state = (s: KafkaStreams) => ({
    inner: s.store<string, string>("inner-result").all(),
    left: s.store<string, string>("left-result").all(),
  });
  const want = (m: ReturnType<typeof model>) => ({
    inner: sorted(m.inner),
    left: sorted(m.left),
  });
  try {
    await produce(client, orders, customers, first);
    const a = new KafkaStreams(topology(orders, customers, innerOut, leftOut), config);
    await a.start();
    try {
      // More updates while it runs, and stopped in the middle: subscriptions and responses
      // of both joins on their way.
      await produce(client, orders, customers, second);
      await eventually("part of the updates", () => a.metrics().processed >= 1500);
    } finally {
      await a.close();
    }
    // Kafka's internal topics, each with the partitions of the table its reader joins with.
    for (const name of ["fk-inner", "fk-left"]) {
      const sub = await client.topic(`${applicationId}-${name}-subscription-registration-topic`);
      const resp = await client.topic(`${applicationId}-${name}-subscription-response-topic`);
      assertEquals([sub.partitions.length, resp.partitions.length], [3, 2]);
      await client.topic(`${applicationId}-${name}-subscription-store-changelog`);
    }
    await produce(client, orders, customers, third);
    const expected = want(model([...first, ...second, ...third]));
    // The run ends with rows of each kind: joined, not joined (left join only), null FK.
    assert(expected.inner.length > 0 && expected.left.length > expected.inner.length);
    assert(expected.left.some(([, v]) => v.startsWith("-:")));
    const b = new KafkaStreams(topology(orders, customers, innerOut, leftOut), config);
    await b.start();
    try {
      assert(b.metrics().restored > 0, `restored ${b.metrics().restored}`);
      await eventually(
        "the joined tables",
        () => JSON.stringify(state(b)) === JSON.stringify(expected),
        120_000,
      ).catch((e) => {
        assertEquals(state(b), expected); // shows the difference
        throw e;
      });
    } finally {
      await b.close();
    }
    // The output topics' latest value per key is the joined table (a tombstone for a key whose
    // result went away).
    for (const [topic, table] of [[innerOut, expected.inner], [leftOut, expected.left]] as const) {
      const out = await latestByKey(client, topic, (v) => S.deserialize(v), {
        readCommitted: guarantee === "exactly_once_v2",
      });
      const live = [...out.values].filter(([, v]) => v !== null) as Array<[string, string]>;
      assertEquals(live.sort((x, y) => x[0] < y[0] ? -1 : 1), table);
    }
  } finally {
    await client.close();
  }
}

Deno.test("foreign-key joins on a broker: random updates, 2 and 3 partitions, restarted in the middle (at-least-once)", async () => {
  await fkRun("at_least_once");
});

Deno.test("foreign-key joins on a broker: random updates, 2 and 3 partitions, restarted in the middle (exactly-once)", async () => {
  await fkRun("exactly_once_v2");
});
