// Copyright 2026 the Sluice authors. Apache-2.0 license.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { Admin, type Client, Consumer, type ConsumerRecord } from "../client/mod.ts";
import { uniqueTopic } from "../tests/harness.ts";
import { DataException, RetriableException, SourceConnector, SourceTask } from "./api.ts";
import type { SourceRecord } from "./data.ts";
import { registerPlugin } from "./plugins.ts";
import { ERROR_HEADERS, RetryWithToleranceOperator, SKIPPED, TaskStoppingError } from "./errors.ts";
import { type ConnectRuntime, startStandalone } from "./runtime.ts";
import { type ConnectTestEnv, failedTask, openConnectTestEnv, until } from "./testing.ts";

const decode = (b: Uint8Array | null) => (b === null ? null : new TextDecoder().decode(b));

/** Every record of a one-partition topic, from the start, until `count` were read. */
async function readAll(client: Client, topic: string, count: number): Promise<ConsumerRecord[]> {
  const consumer = new Consumer(client, { fromBeginning: true });
  try {
    await consumer.assign([{ topic, partition: 0, offset: "earliest" }]);
    const got: ConsumerRecord[] = [];
    await until(`${count} records of ${topic}`, async () => {
      got.push(...await consumer.poll({ maxWaitMs: 200 }));
      return got.length >= count ? true : undefined;
    });
    return got;
  } finally {
    await consumer.close();
  }
}

async function lines(path: string): Promise<string[]> {
  return (await Deno.readTextFile(path).catch(() => "")).split("\n").filter((l) => l);
}

/** What the JSON converter says about bytes that are not JSON (V8's parser message inside). */
function jsonFailure(topic: string, text: string): string {
  try {
    JSON.parse(text);
  } catch (e) {
    return `Converting byte[] to Kafka Connect data failed due to serialization error of topic ` +
      `${topic}: ${(e as Error).message}`;
  }
  throw new Error(`${text} is JSON`);
}

// The input: good records at offsets 0, 3 and 5; invalid JSON at 1 (value conversion fails);
// a JSON string at 2 and a JSON number at 4, which InsertField$Value cannot extend (the
// transformation fails).
const INPUT = [
  { key: "k0", value: `{"n":0}` },
  { key: "k1", value: `not json`, headers: [{ key: "trace", value: "t-1" }] },
  { key: "k2", value: `"text"` },
  { key: "k3", value: `{"n":3}` },
  { key: "k4", value: `4` },
  { key: "k5", value: `{"n":5}` },
];

function sinkConfig(dir: string, topic: string, extra: Record<string, string> = {}) {
  return {
    name: "sink",
    "connector.class": "FileStreamSink",
    file: `${dir}/out.txt`,
    topics: topic,
    "key.converter": "org.apache.kafka.connect.storage.StringConverter",
    "value.converter": "org.apache.kafka.connect.json.JsonConverter",
    "value.converter.schemas.enable": "false",
    transforms: "tag",
    "transforms.tag.type": "org.apache.kafka.connect.transforms.InsertField$Value",
    "transforms.tag.static.field": "via",
    "transforms.tag.static.value": "connect",
    ...extra,
  };
}

/** The sink of {@linkcode sinkConfig} on a standalone worker flushing offsets every 100 ms. */
function startSink(env: ConnectTestEnv, topic: string, extra: Record<string, string> = {}) {
  return startStandalone({
    worker: env.worker({ "offset.flush.interval.ms": "100" }),
    connectors: [sinkConfig(env.dir, topic, extra)],
  });
}

Deno.test("connect errors.tolerance=all: a sink puts every good record once, sends each bad one to the dead-letter queue with Kafka's context headers, logs it, and commits past it", async () => {
  await using env = await openConnectTestEnv("sluice_connect_errors_");
  const { client, admin, dir } = env;
  const topic = uniqueTopic("errs");
  const dlq = uniqueTopic("errs-dlq");
  await admin.createTopics([{ name: topic, numPartitions: 1 }]);
  await env.produce(topic, INPUT);
  const sent = await readAll(client, topic, INPUT.length);
  const logs: string[] = [];
  const config = sinkConfig(dir, topic, {
    "errors.tolerance": "all",
    "errors.log.enable": "true",
    "errors.log.include.messages": "true",
    "errors.deadletterqueue.topic.name": dlq,
    "errors.deadletterqueue.topic.replication.factor": "1",
    "errors.deadletterqueue.context.headers.enable": "true",
  });
  const start = () =>
    startStandalone({
      worker: env.worker({ "offset.flush.interval.ms": "100" }),
      connectors: [config],
      log: (level, text) => {
        if (level === "error") logs.push(text);
      },
    });
  let rt: ConnectRuntime | undefined = await start();
  try {
    await until("3 lines", async () => (await lines(`${dir}/out.txt`)).length >= 3 || undefined);
    const dead = await readAll(client, dlq, 3);
    assertEquals(await lines(`${dir}/out.txt`), [
      `{"n":0,"via":"connect"}`,
      `{"n":3,"via":"connect"}`,
      `{"n":5,"via":"connect"}`,
    ]);
    // The original bytes, key, timestamp and headers, then the context headers in Kafka's order.
    const expect = [
      {
        offset: 1,
        stage: "VALUE_CONVERTER",
        className: "org.apache.kafka.connect.json.JsonConverter",
        message: jsonFailure(topic, "not json"),
      },
      {
        offset: 2,
        stage: "TRANSFORMATION",
        className: "org.apache.kafka.connect.transforms.InsertField$Value",
        message: "Only Map objects supported in absence of schema for [field insertion], found: " +
          "string",
      },
      {
        offset: 4,
        stage: "TRANSFORMATION",
        className: "org.apache.kafka.connect.transforms.InsertField$Value",
        message: "Only Map objects supported in absence of schema for [field insertion], found: " +
          "number",
      },
    ];
    assertEquals(dead.length, 3);
    for (const [i, e] of expect.entries()) {
      const d = dead[i];
      const original = sent[e.offset];
      assertEquals(decode(d.key), INPUT[e.offset].key);
      assertEquals(decode(d.value), INPUT[e.offset].value);
      assertEquals(d.timestamp, original.timestamp);
      const headers = d.headers.map((h) => [h.key, decode(h.value)]);
      const stack = headers.pop()!;
      assertEquals(headers, [
        ...(INPUT[e.offset].headers ?? []).map((h) => [h.key, h.value]),
        [ERROR_HEADERS.topic, topic],
        [ERROR_HEADERS.partition, "0"],
        [ERROR_HEADERS.offset, String(e.offset)],
        [ERROR_HEADERS.connectorName, "sink"],
        [ERROR_HEADERS.taskId, "0"],
        [ERROR_HEADERS.stage, e.stage],
        [ERROR_HEADERS.className, e.className],
        [ERROR_HEADERS.exceptionClassName, "org.apache.kafka.connect.errors.DataException"],
        [ERROR_HEADERS.exceptionMessage, e.message],
      ]);
      assertEquals(stack[0], "__connect.errors.exception.stacktrace");
      assert(String(stack[1]).startsWith(`DataException: ${e.message}\n    at `), String(stack[1]));
    }
    // One log line per failure, with the record (errors.log.include.messages).
    const failures = logs.filter((l) => l.startsWith("Error encountered in task sink-0."));
    assertEquals(failures.length, 3);
    assertEquals(
      failures[0],
      `Error encountered in task sink-0. Executing stage 'VALUE_CONVERTER' with class ` +
        `'org.apache.kafka.connect.json.JsonConverter', where consumed record is ` +
        `{topic='${topic}', partition=0, offset=1, timestamp=${sent[1].timestamp}, ` +
        `timestampType=CreateTime, key=k1, value=not json, headers=[trace=t-1]}. ` +
        `org.apache.kafka.connect.errors.DataException: ${expect[0].message}`,
    );
    const metrics = rt.worker.taskErrorMetrics({ connector: "sink", task: 0 })!;
    assertEquals(
      {
        recordFailures: metrics.recordFailures,
        recordErrors: metrics.recordErrors,
        recordsSkipped: metrics.recordsSkipped,
        retries: metrics.retries,
        errorsLogged: metrics.errorsLogged,
        deadLetterQueueProduceRequests: metrics.deadLetterQueueProduceRequests,
        deadLetterQueueProduceFailures: metrics.deadLetterQueueProduceFailures,
      },
      {
        recordFailures: 3,
        recordErrors: 3,
        recordsSkipped: 3,
        retries: 0,
        errorsLogged: 3,
        deadLetterQueueProduceRequests: 3,
        deadLetterQueueProduceFailures: 0,
      },
    );
    assertEquals((await rt.herder.connectorStatus("sink")).tasks[0].state, "RUNNING");
    const first = rt;
    rt = undefined;
    await first.stop();
    // Every offset is committed, the skipped records' too: a restart delivers nothing again.
    assertEquals(
      (await new Admin(client).listConsumerGroupOffsets("connect-sink")).map((o) => o.offset),
      [INPUT.length],
    );
    rt = await start();
    await env.produce(topic, [{ key: "k6", value: `{"n":6}` }]);
    await until("4 lines", async () => (await lines(`${dir}/out.txt`)).length >= 4 || undefined);
    assertEquals((await lines(`${dir}/out.txt`)).slice(3), [`{"n":6,"via":"connect"}`]);
    const metricsAfter = rt.worker.taskErrorMetrics({ connector: "sink", task: 0 })!;
    assertEquals(metricsAfter.recordErrors, 0);
    assertEquals(
      (await new Admin(client).listOffsets([{ topic: dlq, partition: 0, spec: "latest" }]))[0]
        .offset,
      3,
    );
  } finally {
    await rt?.stop();
  }
});

Deno.test("connect errors.tolerance=none (the default): a record that fails conversion fails the sink task, nothing of its batch is put or committed, and a restart fails on it again", async () => {
  await using env = await openConnectTestEnv("sluice_connect_errors_");
  const { client, admin, dir } = env;
  const topic = uniqueTopic("errs-none");
  await admin.createTopics([{ name: topic, numPartitions: 1 }]);
  await env.produce(topic, INPUT.slice(0, 2));
  const rt = await startSink(env, topic);
  try {
    const status = await failedTask(rt.herder, "sink");
    assert(
      status.trace!.startsWith("ConnectException: Tolerance exceeded in error handler\n"),
      status.trace,
    );
    assert(
      status.trace!.includes(`\nCaused by: DataException: ${jsonFailure(topic, "not json")}\n`),
      status.trace,
    );
    assertEquals(await lines(`${dir}/out.txt`), []);
    assertEquals(await new Admin(client).listConsumerGroupOffsets("connect-sink"), []);
    await rt.herder.restartTask("sink", 0);
    await failedTask(rt.herder, "sink"); // again
    assertEquals(await lines(`${dir}/out.txt`), []);
  } finally {
    await rt.stop();
  }
});

Deno.test("connect errors.tolerance=all: a record the dead-letter queue refuses fails the task, and no offset of its batch is committed", async () => {
  await using env = await openConnectTestEnv("sluice_connect_errors_");
  const { client, admin, dir } = env;
  const topic = uniqueTopic("errs-dlqfail");
  const dlq = uniqueTopic("errs-dlqfail-dlq");
  // The context headers (the stack trace) make the record larger than the queue takes.
  await admin.createTopics([
    { name: topic, numPartitions: 1 },
    { name: dlq, numPartitions: 1, configs: { "max.message.bytes": "200" } },
  ]);
  await env.produce(topic, INPUT.slice(0, 4));
  const rt = await startSink(env, topic, {
    "errors.tolerance": "all",
    "errors.deadletterqueue.topic.name": dlq,
    "errors.deadletterqueue.topic.replication.factor": "1",
    "errors.deadletterqueue.context.headers.enable": "true",
  });
  try {
    const status = await failedTask(rt.herder, "sink");
    assert(
      status.trace!.startsWith(
        `ConnectException: Could not produce message to dead letter queue. topic=${dlq}: `,
      ),
      status.trace,
    );
    assertEquals(await lines(`${dir}/out.txt`), []);
    assertEquals(await new Admin(client).listConsumerGroupOffsets("connect-sink"), []);
  } finally {
    await rt.stop();
  }
});

Deno.test("connect dead-letter queue: Kafka's default replication factor 3 on a single broker fails the sink task at start with a clear error", async () => {
  await using env = await openConnectTestEnv("sluice_connect_errors_");
  const { admin, dir } = env;
  const topic = uniqueTopic("errs-rf");
  const dlq = uniqueTopic("errs-rf-dlq");
  await admin.createTopics([{ name: topic, numPartitions: 1 }]);
  const rt = await startStandalone({
    worker: env.worker(),
    connectors: [sinkConfig(dir, topic, {
      "errors.tolerance": "all",
      "errors.deadletterqueue.topic.name": dlq,
    })],
  });
  try {
    const status = await failedTask(rt.herder, "sink");
    assert(
      status.trace!.startsWith(
        `ConnectException: Could not initialize dead letter queue with topic=${dlq}: `,
      ) && status.trace!.includes("Replication factor 3 is larger than the 1 available broker"),
      status.trace,
    );
    assert(!(await admin.listTopics()).includes(dlq));
  } finally {
    await rt.stop();
  }
});

// What the source emits: the string and the number cannot take InsertField$Value; the last
// one is skipped, so the offset stored is a skipped record's.
const VALUES: unknown[] = [{ n: 0 }, "one", { n: 2 }, { n: 3 }, 4];
/** A source task emitting VALUES once, each with its index as source offset. */
class ListSourceTask extends SourceTask {
  #topic = "";
  #done = false;
  version() {
    return "1";
  }
  start(props: Record<string, string>) {
    this.#topic = props.topic;
    this.#done = this.context.offsetStorageReader.offset({ list: "values" }) !== null;
  }
  async poll(): Promise<SourceRecord[]> {
    await new Promise((r) => setTimeout(r, 50));
    if (this.#done) return [];
    this.#done = true;
    return VALUES.map((value, i) => ({
      topic: this.#topic,
      key: null,
      value,
      sourcePartition: { list: "values" },
      sourceOffset: { next: i + 1 },
    }));
  }
  stop() {}
}
class ListSourceConnector extends SourceConnector {
  #props: Record<string, string> = {};
  version() {
    return "1";
  }
  config() {
    return {};
  }
  start(props: Record<string, string>) {
    this.#props = props;
  }
  taskClass() {
    return ListSourceTask;
  }
  taskConfigs() {
    return [{ topic: this.#props.topic }];
  }
  stop() {}
}
registerPlugin("sluice.test.ListSourceConnector", ListSourceConnector);

for (const tolerance of ["all", "none"] as const) {
  Deno.test(
    `connect source errors.tolerance=${tolerance}: records a transform cannot handle are ${
      tolerance === "all" ? "skipped and their offsets stored" : "a task failure"
    }`,
    async () => {
      await using env = await openConnectTestEnv("sluice_connect_errors_");
      const { client, admin } = env;
      const topic = uniqueTopic(`errs-src-${tolerance}`);
      await admin.createTopics([{ name: topic, numPartitions: 1 }]);
      const rt = await startStandalone({
        worker: env.worker({
          "offset.flush.interval.ms": "100",
          "value.converter": "org.apache.kafka.connect.json.JsonConverter",
          "value.converter.schemas.enable": "false",
        }),
        connectors: [{
          name: "src",
          "connector.class": "sluice.test.ListSourceConnector",
          topic,
          "errors.tolerance": tolerance,
          transforms: "tag",
          "transforms.tag.type": "InsertField$Value",
          "transforms.tag.static.field": "via",
          "transforms.tag.static.value": "connect",
        }],
      });
      try {
        if (tolerance === "all") {
          const got = (await readAll(client, topic, 3)).map((r) => decode(r.value));
          assertEquals(got, [
            `{"n":0,"via":"connect"}`,
            `{"n":2,"via":"connect"}`,
            `{"n":3,"via":"connect"}`,
          ]);
          await until(
            "the offset stored",
            () => Promise.resolve(rt.worker.offsets.get("src", { list: "values" }) ?? undefined),
          );
          assertEquals(rt.worker.offsets.get("src", { list: "values" }), { next: 5 });
          const m = rt.worker.taskErrorMetrics({ connector: "src", task: 0 })!;
          assertEquals([m.recordErrors, m.recordsSkipped], [2, 2]);
        } else {
          const s = await failedTask(rt.herder, "src");
          assert(
            s.trace!.includes(
              "\nCaused by: DataException: Only Map objects supported in absence of schema for " +
                "[field insertion], found: string\n",
            ),
            s.trace,
          );
          assertEquals(rt.worker.offsets.get("src", { list: "values" }), null);
          assertEquals(
            (await admin.listOffsets([{ topic, partition: 0, spec: "latest" }]))[0].offset,
            0,
          );
        }
      } finally {
        await rt.stop();
      }
    },
  );
}

Deno.test("RetryWithToleranceOperator: a RetriableException is retried until it succeeds; other errors and errors.retry.timeout=0 are not retried; a bounded timeout gives up; a stop ends the wait", async () => {
  // Succeeds at the third attempt: two retries (waits capped by errors.retry.delay.max.ms).
  let calls = 0;
  const op = new RetryWithToleranceOperator({ retryTimeoutMs: 60_000, retryDelayMaxMs: 50 });
  const flaky = () => {
    if (++calls < 3) throw new RetriableException(`attempt ${calls}`);
    return "ok";
  };
  assertEquals(await op.execute({}, "TRANSFORMATION", "T", flaky), "ok");
  assertEquals(calls, 3);
  assertEquals([op.metrics.retries, op.metrics.recordFailures, op.metrics.recordErrors], [2, 2, 0]);

  // Not retriable: one attempt, then the tolerance decides.
  calls = 0;
  const all = new RetryWithToleranceOperator({
    tolerance: "all",
    retryTimeoutMs: 60_000,
    retryDelayMaxMs: 50,
  });
  const bad = () => {
    calls++;
    throw new DataException("bad");
  };
  assertEquals(await all.execute({}, "VALUE_CONVERTER", "C", bad), SKIPPED);
  assertEquals([calls, all.metrics.retries, all.metrics.recordsSkipped], [1, 0, 1]);

  // errors.retry.timeout=0 (the default): a retriable failure is not retried either.
  calls = 0;
  const none = new RetryWithToleranceOperator();
  const retriable = () => {
    calls++;
    throw new RetriableException("down");
  };
  let thrown: unknown;
  try {
    await none.execute({}, "KEY_CONVERTER", "C", retriable);
  } catch (e) {
    thrown = e;
  }
  assertEquals((thrown as Error).message, "Tolerance exceeded in error handler");
  assert((thrown as Error).cause instanceof RetriableException);
  assertEquals([calls, none.metrics.retries], [1, 0]);

  // A bounded timeout: retried, then given up (skipped with tolerance all).
  calls = 0;
  const bounded = new RetryWithToleranceOperator({
    tolerance: "all",
    retryTimeoutMs: 200,
    retryDelayMaxMs: 20,
  });
  assertEquals(await bounded.execute({}, "TRANSFORMATION", "T", retriable), SKIPPED);
  assert(calls >= 2 && bounded.metrics.retries === calls - 1, `calls ${calls}`);
  assertEquals(bounded.metrics.recordsSkipped, 1);

  // Forever (-1), until the task stops.
  const abort = new AbortController();
  const forever = new RetryWithToleranceOperator({ retryTimeoutMs: -1, signal: abort.signal });
  const running = forever.execute({}, "TRANSFORMATION", "T", retriable);
  setTimeout(() => abort.abort(), 50);
  let stopped: unknown;
  try {
    await running;
  } catch (e) {
    stopped = e;
  }
  assert(stopped instanceof TaskStoppingError, String(stopped));
});
