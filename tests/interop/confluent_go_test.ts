// Copyright 2026 the Sluice authors. Apache-2.0 license.
// confluent-kafka-go 0.11.6 (Debian's golang-github-confluentinc-confluent-kafka-go-dev, cgo over
// Debian's librdkafka 2.0.2) against a real Sluice broker: its producer with delivery reports on
// a channel and on Events(), a consumer group with application rebalance events and synchronous
// commits, two members splitting and rejoining, watermarks and offsets for times, its whole Admin
// API (CreateTopics, CreatePartitions, AlterConfigs, DescribeConfigs, DeleteTopics) with Kafka's
// error codes, and an idempotent producer running across a broker restart.

import { deepStrictEqual as assertEquals } from "node:assert/strict";
import {
  clientRequirement,
  GO_SOURCES,
  interopTest,
  sharedBroker,
  startBroker,
  uniqueTopic,
} from "../harness.ts";
import { crc32 } from "./crc32.ts";
import { runGoClient } from "./go.ts";

function available(): boolean {
  try {
    Deno.statSync(`${GO_SOURCES}/src/github.com/confluentinc/confluent-kafka-go/kafka`);
    return new Deno.Command("pkg-config", { args: ["--exists", "rdkafka"] }).outputSync()
      .success && new Deno.Command("go", { args: ["version"] }).outputSync().success;
  } catch {
    return false;
  }
}

const confluentGo = clientRequirement(
  "confluent-kafka-go",
  available(),
  Deno.env.get("CI") === "true",
  "apt-get install golang-go golang-github-confluentinc-confluent-kafka-go-dev librdkafka-dev",
);
const broker = sharedBroker({ numPartitions: 1 });

interface Header {
  key: string;
  value: string | null;
}
interface GoRecord {
  topic: string;
  partition: number;
  offset: number;
  key: string | null;
  value: string | null;
  headers: Header[];
  timestamp: number;
  timestampType?: string;
}
interface Member {
  events: string[];
  records: GoRecord[];
}

/** librdkafka's consistent_random: CRC-32 of the key modulo the partition count. */
const partitionOf = (key: string, partitions: number) =>
  crc32(new TextEncoder().encode(key)) % partitions;

const run = <T>(command: string, request: Record<string, unknown>, timeoutMs?: number) =>
  broker().then(({ bootstrap }) =>
    runGoClient<T>("sluice_confluentgo", command, { brokers: [bootstrap], ...request }, timeoutMs)
  );

interopTest(confluentGo, "librdkafka version", async () => {
  const v = await run<{ librdkafka: string }>("version", {});
  assertEquals(v.librdkafka, "2.0.2");
});

interopTest(
  confluentGo,
  "produce with delivery reports, then a consumer group reads and commits",
  async () => {
    const topic = uniqueTopic("cgo");
    const created = await run("admin", {
      create: [{ topic, numPartitions: 3, replicationFactor: 1 }],
    });
    assertEquals(created, { create: { [topic]: "Success" } });
    const messages = Array.from({ length: 12 }, (_, i) => ({
      key: `key-${i % 4}`,
      value: i === 5 ? null : `value-${i}`,
      headers: i % 3 === 0 ? [{ key: "h", value: `${i}` }, { key: "n", value: null }] : [],
      timestamp: i === 7 ? 1_700_000_000_000 : 0,
    }));
    const produced = await run<{ records: GoRecord[] }>("produce", {
      topic,
      messages,
      config: { "compression.codec": "zstd" },
    });
    // One report per message, on the key's partition, offsets 0.. per partition in send order
    // (reports come per batch: their order across partitions is librdkafka's).
    const next = [0, 0, 0];
    for (let p = 0; p < 3; p++) {
      assertEquals(
        produced.records.filter((r) => r.partition === p).map((r) => [r.offset, r.value]),
        messages.filter((m) => partitionOf(m.key, 3) === p).map((m) => [next[p]++, m.value]),
      );
    }
    assertEquals(produced.records.length, messages.length);
    const got = await run<{ events: string[]; records: GoRecord[]; committed: object }>("group", {
      topic,
      group: `${topic}-g`,
      count: 12,
      partitions: 3,
    });
    assertEquals(got.events, [`assigned [${topic}-0 ${topic}-1 ${topic}-2]`]);
    // Each record read is the message its delivery report named (values are unique but one).
    const byReport = new Map(
      produced.records.map((r) => [`${r.partition}/${r.offset}`, r.value]),
    );
    assertEquals(got.records.length, 12);
    for (const r of got.records) {
      const value = byReport.get(`${r.partition}/${r.offset}`);
      assertEquals(r.value, value);
      const m = messages.find((m) => m.value === value && m.key === r.key)!;
      assertEquals([r.key, r.value, r.headers, r.timestampType], [
        m.key,
        m.value,
        m.headers,
        "CreateTime",
      ]);
      if (m.timestamp) assertEquals(r.timestamp, m.timestamp);
    }
    // Partition 1 got nothing: no committed offset (-1 from the broker, -1001 in librdkafka).
    assertEquals(next[1], 0);
    assertEquals(got.committed, { "0": next[0], "1": -1001, "2": next[2] });
  },
);

interopTest(confluentGo, "delivery reports on Events() (lz4)", async () => {
  const topic = uniqueTopic("cgo-events");
  const messages = Array.from({ length: 20 }, (_, i) => ({ key: "k", value: `e${i}` }));
  const produced = await run<{ records: GoRecord[] }>("produce-events", {
    topic,
    messages,
    config: { "compression.codec": "lz4", "linger.ms": "50" },
  });
  assertEquals(
    produced.records.map((r) => [r.partition, r.offset, r.value]),
    messages.map((m, i) => [0, i, m.value]),
  );
});

interopTest(
  confluentGo,
  "two members: the partitions split, then all return to the one left",
  async () => {
    const topic = uniqueTopic("cgo-rebalance");
    await run("admin", { create: [{ topic, numPartitions: 4, replicationFactor: 1 }] });
    const messages = [0, 1, 2, 3, 0, 1, 2, 3].map((p, i) => ({ partition: p, value: `r${i}` }));
    const got = await run<{ a: Member; b: Member; committed: object }>("rebalance", {
      topic,
      group: `${topic}-g`,
      partitions: 4,
      messages,
    });
    const [p0, p1, p2, p3] = [0, 1, 2, 3].map((p) => `${topic}-${p}`);
    // The range assignor over member ids "member-a-..." < "member-b-...".
    assertEquals(got.a.events, [
      `assigned [${p0} ${p1} ${p2} ${p3}]`,
      `revoked [${p0} ${p1} ${p2} ${p3}]`,
      `assigned [${p0} ${p1}]`,
      `revoked [${p0} ${p1}]`,
      `assigned [${p0} ${p1} ${p2} ${p3}]`,
    ]);
    assertEquals(got.b.events, [`assigned [${p2} ${p3}]`]);
    const read = (m: Member) => m.records.map((r) => [r.partition, r.offset, r.value]).sort();
    assertEquals(read(got.a), [[0, 0, "r0"], [0, 1, "r4"], [1, 0, "r1"], [1, 1, "r5"]]);
    assertEquals(read(got.b), [[2, 0, "r2"], [2, 1, "r6"], [3, 0, "r3"], [3, 1, "r7"]]);
    assertEquals(got.committed, { "0": 2, "1": 2, "2": 2, "3": 2 });
  },
);

interopTest(confluentGo, "watermarks, offsets for times and metadata", async () => {
  const { bootstrap } = await broker();
  const topic = uniqueTopic("cgo-times");
  await run("admin", { create: [{ topic, numPartitions: 2, replicationFactor: 1 }] });
  const t0 = 1_700_000_000_000;
  await run("produce", {
    topic,
    messages: [0, 1, 2].map((i) => ({ partition: 0, value: `t${i}`, timestamp: t0 + i * 1000 })),
  });
  const got = await run("watermarks", { topic, partitions: 2, timestamp: t0 + 500 });
  assertEquals(got, {
    watermarks: { "0": [0, 3], "1": [0, 0] },
    offsetsForTimes: { "0": 1, "1": -1 },
    brokers: [`1 ${bootstrap}`],
    partitions: 2,
    topicError: "Success",
  });
});

interopTest(confluentGo, "Admin API: every call 0.11.6 has, with Kafka's error codes", async () => {
  const topic = uniqueTopic("cgo-admin");
  const spec = (name: string, numPartitions: number, config?: Record<string, string>) => ({
    topic: name,
    numPartitions,
    replicationFactor: 1,
    config,
  });
  const checked = await run("admin", {
    create: [
      spec(topic, 2),
      { ...spec(`${topic}-rf`, 1), replicationFactor: 3 },
      spec(`${topic}-zero`, 0),
      spec(`${topic}-unknown`, 1, { "no.such.config": "1" }),
      spec(`${topic}-value`, 1, { "retention.ms": "abc" }),
      spec("bad topic", 1),
    ],
    validateOnly: true,
  });
  assertEquals(checked, {
    create: {
      [topic]: "Success",
      [`${topic}-rf`]: "Broker: Invalid replication factor",
      [`${topic}-zero`]: "Broker: Invalid number of partitions",
      [`${topic}-unknown`]: "Broker: Configuration is invalid",
      [`${topic}-value`]: "Broker: Configuration is invalid",
      "bad topic": "Broker: Invalid topic",
    },
  });
  // validate_only created nothing: the same topic is created now, with a config.
  const made = await run<{
    create: object;
    createPartitions: object;
    alter: string;
    describe: { error: string; configs: Record<string, { value: string; source: string }> };
  }>("admin", {
    create: [spec(topic, 2, { "retention.ms": "3600000" })],
    topic,
    partitions: 3,
    alter: { "retention.bytes": "1000000" },
  });
  assertEquals([made.create, made.createPartitions, made.alter, made.describe.error], [
    { [topic]: "Success" },
    { [topic]: "Success" },
    "Success",
    "Success",
  ]);
  // AlterConfigs is not incremental: retention.ms, not listed, is back to its default.
  assertEquals(made.describe.configs["retention.bytes"], {
    value: "1000000",
    source: "DYNAMIC_TOPIC_CONFIG",
    readOnly: false,
    sensitive: false,
  });
  assertEquals(made.describe.configs["retention.ms"].source, "DEFAULT_CONFIG");
  const errors = await run<Record<string, unknown>>("admin", {
    create: [spec(topic, 1)],
    topic,
    partitions: 2,
    alter: { "no.such": "x" },
    delete: [topic, `${topic}-never`],
  });
  assertEquals(
    { ...errors, describe: undefined },
    {
      create: { [topic]: "Broker: Topic already exists" },
      createPartitions: { [topic]: "Broker: Invalid number of partitions" },
      alter: "Broker: Configuration is invalid",
      describe: undefined,
      delete: { [topic]: "Success", [`${topic}-never`]: "Broker: Unknown topic or partition" },
    },
  );
  const gone = await run<{ createPartitions: object; describe: { error: string } }>("admin", {
    topic,
    partitions: 4,
  });
  assertEquals([gone.createPartitions, gone.describe.error], [
    { [topic]: "Broker: Unknown topic or partition" },
    "Broker: Unknown topic or partition",
  ]);
});

interopTest(
  confluentGo,
  "an idempotent producer across a broker restart: every record once, in order",
  async () => {
    const own = await startBroker({
      listeners: `PLAINTEXT://127.0.0.1:${freePort()}`,
      numPartitions: 2,
    });
    try {
      const topic = uniqueTopic("cgo-restart");
      const messages = Array.from({ length: 40 }, (_, i) => ({ key: `k${i % 2}`, value: `m${i}` }));
      const producing = runGoClient<{ records: GoRecord[] }>("sluice_confluentgo", "produce", {
        brokers: [own.bootstrap],
        topic,
        messages,
        intervalMs: 50,
        config: { "enable.idempotence": "true" },
      });
      await new Promise((r) => setTimeout(r, 800));
      await own.restart();
      const produced = await producing;
      const next = [0, 0];
      assertEquals(
        produced.records.map((r) => [r.partition, r.offset, r.value]),
        messages.map((m) => {
          const p = partitionOf(m.key, 2);
          return [p, next[p]++, m.value];
        }),
      );
      const got = await runGoClient<{ records: GoRecord[] }>("sluice_confluentgo", "group", {
        brokers: [own.bootstrap],
        topic,
        group: `${topic}-g`,
        count: 40,
        partitions: 2,
      });
      assertEquals(
        got.records.map((r) => [r.partition, r.offset, r.value]).sort(),
        produced.records.map((r) => [r.partition, r.offset, r.value]).sort(),
      );
    } finally {
      await own.close();
    }
  },
);

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}
