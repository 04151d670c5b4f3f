// Copyright 2026 the Sluice authors. Apache-2.0 license.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { Consumer, GroupConsumer, Producer } from "../client/mod.ts";
import { uniqueTopic } from "../tests/harness.ts";
import { startStandalone } from "./runtime.ts";
import { failedTask, openConnectTestEnv, until } from "./testing.ts";

Deno.test("connect source: offsets are stored only for acknowledged records; a rejected record fails the task and is sent again after a restart", async () => {
  await using env = await openConnectTestEnv("sluice_connect_worker_");
  const { client, admin, dir } = env;
  const topic = uniqueTopic("acks");
  await admin.createTopics([{
    name: topic,
    numPartitions: 1,
    configs: { "max.message.bytes": "2000" },
  }]);
  const big = "B".repeat(5000);
  const input = ["one", "two", big, "four", "five"];
  await Deno.writeTextFile(`${dir}/in.txt`, input.join("\n") + "\n");
  const rt = await startStandalone({
    worker: env.worker({
      "offset.flush.interval.ms": "100",
      "value.converter": "org.apache.kafka.connect.storage.StringConverter",
    }),
    connectors: [{
      name: "src",
      "connector.class": "FileStreamSource",
      file: `${dir}/in.txt`,
      topic,
      "batch.size": "1",
    }],
  });
  try {
    const failed = await failedTask(rt.herder, "src");
    assert(/MESSAGE_TOO_LARGE|RECORD_LIST_TOO_LARGE|too large/i.test(failed.trace!), failed.trace);
    // The broker takes the line now; the restarted task sends it and what follows, once.
    await admin.alterConfigs([{
      type: "topic",
      name: topic,
      changes: [{ name: "max.message.bytes", value: String(1 << 20) }],
    }]);
    await rt.herder.restartTask("src", 0);
    const consumer = new Consumer(client, { fromBeginning: true });
    await consumer.assign([{ topic, partition: 0, offset: "earliest" }]);
    const got: string[] = [];
    await until("5 records", async () => {
      for (const r of await consumer.poll({ maxWaitMs: 200 })) {
        got.push(new TextDecoder().decode(r.value!));
      }
      return got.length >= input.length ? true : undefined;
    });
    await new Promise((r) => setTimeout(r, 1000));
    for (const r of await consumer.poll({ maxWaitMs: 200 })) {
      got.push(new TextDecoder().decode(r.value!));
    }
    assertEquals(got, input);
    await consumer.close();
  } finally {
    await rt.stop();
  }
});

// A sink started while its topic has one partition reads the partitions added later: its
// consumer looks the topic up every metadata.max.age.ms (worker `consumer.` or connector
// `consumer.override.`) and rejoins when the count changes.
for (const where of ["worker", "connector"] as const) {
  Deno.test(`connect sink: partitions added to its topic are consumed (metadata.max.age.ms in the ${where} config)`, async () => {
    await using env = await openConnectTestEnv("sluice_connect_worker_");
    const { client, admin, dir } = env;
    const topic = uniqueTopic("grow");
    await admin.createTopics([{ name: topic, numPartitions: 1 }]);
    const producer = new Producer(client);
    const rt = await startStandalone({
      worker: env.worker({
        "offset.flush.interval.ms": "100",
        "value.converter": "org.apache.kafka.connect.storage.StringConverter",
        ...(where === "worker" ? { "consumer.metadata.max.age.ms": "500" } : {}),
      }),
      connectors: [{
        name: "sink",
        "connector.class": "FileStreamSink",
        file: `${dir}/out.txt`,
        topics: topic,
        ...(where === "connector" ? { "consumer.override.metadata.max.age.ms": "500" } : {}),
      }],
    });
    const lines = async () =>
      (await Deno.readTextFile(`${dir}/out.txt`).catch(() => "")).split("\n").filter((l) => l)
        .sort();
    try {
      await producer.send({ topic, messages: [{ value: "p0-a", partition: 0 }] });
      await until("the first record", async () => (await lines()).length >= 1 || undefined);
      await admin.createPartitions([{ topic, count: 3 }]);
      await producer.send({
        topic,
        messages: [0, 1, 2].map((partition) => ({ value: `p${partition}-b`, partition })),
      });
      await until("4 records", async () => (await lines()).length >= 4 || undefined);
      assertEquals(await lines(), ["p0-a", "p0-b", "p1-b", "p2-b"]);
    } finally {
      await rt.stop();
      await producer.close();
    }
  });
}

Deno.test("connect sink: an invalid consumer metadata.max.age.ms fails the task with a clear error", async () => {
  await using env = await openConnectTestEnv("sluice_connect_worker_");
  const dir = env.dir;
  const rt = await startStandalone({
    worker: env.worker(),
    connectors: [{
      name: "sink",
      "connector.class": "FileStreamSink",
      file: `${dir}/out.txt`,
      topics: uniqueTopic("bad"),
      "consumer.override.metadata.max.age.ms": "soon",
    }],
  });
  try {
    const failed = await failedTask(rt.herder, "sink");
    assert(
      failed.trace!.includes(`invalid consumer metadata.max.age.ms "soon"`),
      failed.trace,
    );
  } finally {
    await rt.stop();
  }
});

Deno.test("connect sink topics.regex: topics created after the start that match are consumed (metadata.max.age.ms), others are not", async () => {
  await using env = await openConnectTestEnv("sluice_connect_worker_");
  const { client, admin, dir } = env;
  const base = uniqueTopic("rx");
  const producer = new Producer(client);
  const rt = await startStandalone({
    worker: env.worker({
      "offset.flush.interval.ms": "100",
      "value.converter": "org.apache.kafka.connect.storage.StringConverter",
    }),
    connectors: [{
      name: "sink",
      "connector.class": "FileStreamSink",
      file: `${dir}/out.txt`,
      "topics.regex": `${base}-\\d+`,
      "consumer.override.metadata.max.age.ms": "500",
    }],
  });
  const lines = async () =>
    (await Deno.readTextFile(`${dir}/out.txt`).catch(() => "")).split("\n").filter((l) => l)
      .sort();
  let stopped = false;
  try {
    // Nothing matches at the start: the task runs and waits.
    await until("task RUNNING", async () => {
      const s = await rt.herder.connectorStatus("sink");
      return s.tasks[0]?.state === "RUNNING" || undefined;
    });
    await admin.createTopics([{ name: `${base}-1`, numPartitions: 1 }]);
    await producer.send({ topic: `${base}-1`, messages: [{ value: "one" }] });
    await until("the first topic's record", async () => (await lines()).length >= 1 || undefined);
    await admin.createTopics([
      { name: `${base}-2`, numPartitions: 2 },
      { name: `${base}-3x`, numPartitions: 1 },
    ]);
    await producer.send({ topic: `${base}-3x`, messages: [{ value: "not matched" }] });
    await producer.send({
      topic: `${base}-2`,
      messages: [{ value: "two-a", partition: 0 }, { value: "two-b", partition: 1 }],
    });
    await producer.send({ topic: `${base}-1`, messages: [{ value: "three" }] });
    await until("4 lines", async () => (await lines()).length >= 4 || undefined);
    stopped = true;
    await rt.stop();
    assertEquals(await lines(), ["one", "three", "two-a", "two-b"]);
    // The group committed the matching topics' partitions, and only those.
    assertEquals(
      (await admin.listConsumerGroupOffsets("connect-sink")).map((o) => [
        o.topic,
        o.partition,
        o.offset,
      ]),
      [[`${base}-1`, 0, 2], [`${base}-2`, 0, 1], [`${base}-2`, 1, 1]],
    );
    // ...with the leader epoch of the last record consumed (a standalone broker's: 0, KIP-320).
    const group = new GroupConsumer(client, { groupId: "connect-sink" });
    const partitions = [
      { topic: `${base}-1`, partition: 0 },
      { topic: `${base}-2`, partition: 0 },
      { topic: `${base}-2`, partition: 1 },
    ];
    assertEquals((await group.committed(partitions)).map((c) => c.leaderEpoch), [0, 0, 0]);
    await group.close();
  } finally {
    if (!stopped) await rt.stop();
    await producer.close();
  }
});

Deno.test("connect sink topics / topics.regex / dead-letter queue: invalid combinations are a 400 with Kafka's messages", async () => {
  await using env = await openConnectTestEnv("sluice_connect_worker_");
  const rt = await startStandalone({ worker: env.worker() });
  const put = (config: Record<string, string>) =>
    fetch(`${rt.url}/connectors/s/config`, {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ "connector.class": "FileStreamSink", ...config }),
    }).then(async (r) => ({ status: r.status, message: String((await r.json()).message) }));
  const errors = (m: string) => m.split("\n").slice(1, -1);
  try {
    for (
      const [config, expected] of [
        [{ topics: "a", "topics.regex": "a.*" }, [
          "topics and topics.regex are mutually exclusive options, but both are set.",
        ]],
        [{}, ["Must configure one of topics or topics.regex"]],
        [{ topics: "a,dlq", "errors.deadletterqueue.topic.name": "dlq" }, [
          "The DLQ topic 'dlq' may not be included in the list of topics ('topics=a,dlq') " +
          "consumed by the connector",
        ]],
        [{ "topics.regex": "d.*", "errors.deadletterqueue.topic.name": "dlq" }, [
          "The DLQ topic 'dlq' may not be included in the regex matching the topics " +
          "('topics.regex=d.*') consumed by the connector",
        ]],
        [{ "topics.regex": "a(", "errors.tolerance": "some" }, [
          "Invalid value some for configuration errors.tolerance: String must be one of: none, all",
          "Invalid value a( for configuration topics.regex: Invalid regex: Invalid regular " +
          "expression: /a(/: Unterminated group",
        ]],
        [{ topics: "a", "errors.retry.timeout": "-2" }, [
          "Invalid value -2 for configuration errors.retry.timeout: Value must be at least -1",
        ]],
      ] as Array<[Record<string, string>, string[]]>
    ) {
      const r = await put(config);
      assertEquals(r.status, 400, JSON.stringify(config));
      assertEquals(errors(r.message), expected, JSON.stringify(config));
    }
  } finally {
    await rt.stop();
  }
});
