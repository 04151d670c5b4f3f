// Copyright 2026 the Sluice authors. Apache-2.0 license.
// kafkajs 2.2.4 (npm, run in-process under Deno's Node compatibility) against a real in-process
// Sluice broker: round trips (none, gzip: the codecs kafkajs has without plugins), murmur2
// placement, consumer groups, admin, offsets by timestamp, long-poll fetch, 1 MiB messages, the
// idempotent producer and acks=0. Every client call is bounded by withTimeout.

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { partitionForKey } from "../../client/partitioner.ts";
import { interopTest, requireClient, sharedBroker, uniqueTopic, withTimeout } from "../harness.ts";
import { CALL_MS, consumeAll, type Got, kafkaFor, loadKafkajs } from "./kafkajs_client.ts";

const client = requireClient("kafkajs");
const kafkajs = await loadKafkajs(client.available);
const broker = sharedBroker({
  numPartitions: 3,
  topicDefaults: { "max.message.bytes": "4194304" },
});

interface Sent {
  key: string | null;
  value: string | null;
  headers: Record<string, string>;
  timestamp: number;
}

function sample(n: number, tag: string): Sent[] {
  const base = Date.now() - 60_000;
  return Array.from({ length: n }, (_, i) => ({
    key: i === 7 ? "ключ-🔑" : `key-${i % 5}`,
    value: i === 4 ? null : i === 5 ? "" : i === 6 ? `ünïcødé ✓ 🚀 ${tag}` : `${tag}-value-${i}`,
    headers: { trace: `t-${i}`, origin: "kafkajs", "ünï": "✓" },
    timestamp: base + i * 3,
  }));
}

/** The expected consumption of keyed `sent` on a fresh topic with `partitions` partitions. */
function expectedPlacement(sent: Sent[], partitions: number): Got[] {
  const next = new Map<number, number>();
  const out: Got[] = [];
  for (const r of sent) {
    const partition = partitionForKey(new TextEncoder().encode(r.key!), partitions);
    const offset = next.get(partition) ?? 0;
    next.set(partition, offset + 1);
    out.push({ partition, offset, ...r });
  }
  return out.sort((a, b) => (a.partition - b.partition) || (a.offset - b.offset));
}

for (const codec of ["None", "GZIP"] as const) {
  interopTest(client, `round trip, compression ${codec}, murmur2 placement`, async () => {
    const b = await broker();
    const kafka = kafkaFor(kafkajs!, b);
    const topic = uniqueTopic(`kafkajs-rt-${codec}`);
    const producer = kafka.producer({
      createPartitioner: kafkajs!.Partitioners.DefaultPartitioner,
    });
    const sent = sample(25, codec);
    try {
      await withTimeout(producer.connect(), CALL_MS, "kafkajs producer connect");
      const meta = await withTimeout(
        producer.send({
          topic,
          compression: kafkajs!.CompressionTypes[codec],
          messages: sent.map((r) => ({
            key: r.key,
            value: r.value,
            headers: r.headers,
            timestamp: String(r.timestamp),
          })),
        }),
        CALL_MS,
        "kafkajs send",
      );
      for (const m of meta) assertEquals([m.errorCode, m.baseOffset], [0, "0"]);
    } finally {
      await producer.disconnect();
    }
    const got = await consumeAll(kafka, topic, sent.length);
    assertEquals(got, expectedPlacement(sent, 3));
  });
}

interopTest(client, "admin: create, describe, alter, add partitions, delete", async () => {
  const kafka = kafkaFor(kafkajs!, await broker());
  const admin = kafka.admin();
  const topic = uniqueTopic("kafkajs-admin");
  const { ConfigResourceTypes } = kafkajs!;
  await withTimeout(admin.connect(), CALL_MS, "kafkajs admin connect");
  try {
    const spec = {
      topic,
      numPartitions: 2,
      replicationFactor: 1,
      configEntries: [{ name: "retention.ms", value: "3600000" }, {
        name: "cleanup.policy",
        value: "compact",
      }],
    };
    await withTimeout(
      // waitForLeaders would poll Metadata for a topic that (rightly) does not exist
      admin.createTopics({ validateOnly: true, waitForLeaders: false, topics: [spec] }),
      CALL_MS,
      "createTopics validateOnly",
    );
    assert(!(await admin.listTopics()).includes(topic), "validateOnly created the topic");
    assertEquals(
      await withTimeout(admin.createTopics({ topics: [spec] }), CALL_MS, "createTopics"),
      true,
    );
    assert((await admin.listTopics()).includes(topic), "created topic not listed");
    // kafkajs reports an existing topic as `false`, not an error
    assertEquals(await admin.createTopics({ topics: [spec] }), false);

    const describe = async () => {
      const r = await withTimeout(
        admin.describeConfigs({
          resources: [{ type: ConfigResourceTypes.TOPIC, name: topic }],
          includeSynonyms: false,
        }),
        CALL_MS,
        "describeConfigs",
      );
      assertEquals(r.resources.length, 1);
      assertEquals(r.resources[0].errorCode, 0);
      return Object.fromEntries(r.resources[0].configEntries.map((e) => [e.configName, e]));
    };
    const before = await describe();
    assertEquals(before["retention.ms"].configValue, "3600000");
    assertEquals(before["retention.ms"].isDefault, false);
    assertEquals(before["cleanup.policy"].configValue, "compact");

    await withTimeout(
      admin.alterConfigs({
        validateOnly: false,
        resources: [{
          type: ConfigResourceTypes.TOPIC,
          name: topic,
          configEntries: [{ name: "retention.ms", value: "7200000" }],
        }],
      }),
      CALL_MS,
      "alterConfigs",
    );
    const after = await describe();
    assertEquals(after["retention.ms"].configValue, "7200000");
    // AlterConfigs replaces the whole set: cleanup.policy is back to its default
    assertEquals(after["cleanup.policy"].configValue, "delete");

    await withTimeout(
      admin.createPartitions({ topicPartitions: [{ topic, count: 4 }] }),
      CALL_MS,
      "createPartitions",
    );
    const md = await admin.fetchTopicMetadata({ topics: [topic] });
    assertEquals(md.topics[0].partitions.map((p) => p.partitionId).sort(), [0, 1, 2, 3]);
    const offsets = await admin.fetchTopicOffsets(topic);
    assertEquals(
      offsets.map((o) => [o.partition, o.low, o.high]).sort(),
      [[0, "0", "0"], [1, "0", "0"], [2, "0", "0"], [3, "0", "0"]],
    );

    await withTimeout(admin.deleteTopics({ topics: [topic] }), CALL_MS, "deleteTopics");
    assert(!(await admin.listTopics()).includes(topic), "deleted topic still listed");
  } finally {
    await admin.disconnect();
  }
});

interopTest(client, "offsets by timestamp", async () => {
  const kafka = kafkaFor(kafkajs!, await broker());
  const topic = uniqueTopic("kafkajs-oft");
  const base = Date.now() - 3_600_000;
  const producer = kafka.producer({ createPartitioner: kafkajs!.Partitioners.DefaultPartitioner });
  const admin = kafka.admin();
  try {
    await producer.connect();
    await admin.connect();
    await withTimeout(
      producer.send({
        topic,
        messages: [0, 10, 20, 30].map((d, i) => ({
          partition: 0,
          value: `v${i}`,
          timestamp: String(base + d),
        })),
      }),
      CALL_MS,
      "kafkajs send",
    );
    const at = async (ts: number) =>
      (await withTimeout(admin.fetchTopicOffsetsByTimestamp(topic, ts), CALL_MS, "by timestamp"))
        .find((p) => p.partition === 0)?.offset;
    assertEquals(await at(base - 5), "0");
    assertEquals(await at(base + 11), "2");
    assertEquals(await at(base + 30), "3");
    // later than every record: the log end offset
    assertEquals(await at(base + 100_000), "4");
  } finally {
    await producer.disconnect();
    await admin.disconnect();
  }
});

interopTest(client, "long-poll fetch wakes when a record arrives", async () => {
  const kafka = kafkaFor(kafkajs!, await broker());
  const topic = uniqueTopic("kafkajs-longpoll");
  const producer = kafka.producer({ createPartitioner: kafkajs!.Partitioners.DefaultPartitioner });
  await producer.connect();
  try {
    await producer.send({ topic, messages: [{ partition: 0, value: "before" }] });
    let firstSeen!: () => void;
    const first = new Promise<void>((r) => firstSeen = r);
    // 60 s fetch wait, 45 s overall: the second record only arrives in time if the broker answers
    // the parked fetch when it is appended.
    const consuming = consumeAll(kafka, topic, 2, {
      maxWaitTimeInMs: 60_000,
      onFirst: firstSeen,
      timeoutMs: 45_000,
    });
    // if consuming fails before the first record, report that failure (not an unhandled one)
    await withTimeout(Promise.race([first, consuming]), 40_000, "first record");
    await new Promise((r) => setTimeout(r, 1500));
    await producer.send({ topic, messages: [{ partition: 0, value: "after" }] });
    const got = await consuming;
    assertEquals(got.map((g) => [g.offset, g.value]), [[0, "before"], [1, "after"]]);
  } finally {
    await producer.disconnect();
  }
});

interopTest(client, "1 MiB messages", async () => {
  const kafka = kafkaFor(kafkajs!, await broker());
  const topic = uniqueTopic("kafkajs-big");
  const big = "j".repeat(1024 * 1024);
  const producer = kafka.producer({ createPartitioner: kafkajs!.Partitioners.DefaultPartitioner });
  await producer.connect();
  try {
    await withTimeout(
      producer.send({
        topic,
        messages: [{ partition: 0, key: "big", value: big }, {
          partition: 0,
          key: "small",
          value: "after",
        }],
      }),
      CALL_MS,
      "send 1 MiB",
    );
  } finally {
    await producer.disconnect();
  }
  const got = await consumeAll(kafka, topic, 2, {
    maxBytesPerPartition: 4 * 1024 * 1024,
    maxBytes: 8 * 1024 * 1024,
  });
  assertEquals([got[0].offset, got[0].key, got[0].value?.length], [0, "big", big.length]);
  assert(got[0].value === big, "1 MiB value differs");
  assertEquals([got[1].offset, got[1].key, got[1].value], [1, "small", "after"]);
});

interopTest(client, "idempotent producer", async () => {
  const kafka = kafkaFor(kafkajs!, await broker());
  const topic = uniqueTopic("kafkajs-idem");
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: kafkajs!.Partitioners.DefaultPartitioner,
  });
  const sent = sample(20, "idem");
  await withTimeout(producer.connect(), CALL_MS, "idempotent connect");
  try {
    // two sends: the second continues the producer's sequence numbers
    for (const part of [sent.slice(0, 10), sent.slice(10)]) {
      await withTimeout(
        producer.send({
          topic,
          acks: -1,
          messages: part.map((r) => ({
            key: r.key,
            value: r.value,
            headers: r.headers,
            timestamp: String(r.timestamp),
          })),
        }),
        CALL_MS,
        "idempotent send",
      );
    }
  } finally {
    await producer.disconnect();
  }
  const got = await consumeAll(kafka, topic, sent.length);
  assertEquals(got, expectedPlacement(sent, 3));
});

interopTest(client, "acks=0 produce", async () => {
  const kafka = kafkaFor(kafkajs!, await broker());
  const topic = uniqueTopic("kafkajs-acks0");
  const producer = kafka.producer({ createPartitioner: kafkajs!.Partitioners.DefaultPartitioner });
  await producer.connect();
  try {
    await producer.send({ topic, messages: [{ partition: 0, value: "setup" }] });
    await withTimeout(
      producer.send({
        topic,
        acks: 0,
        messages: ["a", "b", "c"].map((value) => ({ partition: 0, value })),
      }),
      CALL_MS,
      "send acks=0",
    );
  } finally {
    await producer.disconnect();
  }
  const got = await consumeAll(kafka, topic, 4);
  assertEquals(got.map((g) => [g.offset, g.value]), [[0, "setup"], [1, "a"], [2, "b"], [3, "c"]]);
});
