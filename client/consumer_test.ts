import assert from "node:assert/strict";
import { Broker } from "../server/mod.ts";
import { KafkaError } from "../protocol/errors.ts";
import { Admin } from "./admin.ts";
import { Client } from "./client.ts";
import { Consumer, type ConsumerRecord } from "./consumer.ts";
import { Producer } from "./producer.ts";

const td = new TextDecoder();
const values = (rs: ConsumerRecord[]) =>
  rs.map((r) => [r.partition, r.offset, td.decode(r.value!)]);

async function withTopic(
  partitions: number,
  fn: (client: Client, producer: Producer) => Promise<void>,
) {
  const dir = await Deno.makeTempDir({ prefix: "sluice_consumer_test_" });
  const broker = await Broker.start({
    listeners: "PLAINTEXT://127.0.0.1:0",
    logDirs: [dir],
    logLevel: "silent",
  });
  const client = new Client({ bootstrapServers: `127.0.0.1:${broker.port}`, retryBackoffMs: 20 });
  try {
    await new Admin(client).createTopics([{ name: "t", numPartitions: partitions }]);
    await fn(client, new Producer(client));
  } finally {
    await client.close();
    await broker.close();
    await Deno.remove(dir, { recursive: true });
  }
}

async function pollUntil(consumer: Consumer, count: number): Promise<ConsumerRecord[]> {
  const out: ConsumerRecord[] = [];
  for (let i = 0; i < 50 && out.length < count; i++) {
    out.push(...await consumer.poll({ maxWaitMs: 100 }));
  }
  return out;
}

Deno.test("Consumer reads from the beginning, an offset, or only new records", async () => {
  await withTopic(1, async (client, producer) => {
    await producer.send({ topic: "t", messages: ["a", "b", "c"].map((value) => ({ value })) });
    const early = new Consumer(client, { fromBeginning: true });
    await early.assign([{ topic: "t", partition: 0 }]);
    assert.deepEqual(values(await pollUntil(early, 3)), [[0, 0, "a"], [0, 1, "b"], [0, 2, "c"]]);

    const mid = new Consumer(client);
    await mid.assign([{ topic: "t", partition: 0, offset: 1 }]);
    assert.deepEqual(values(await pollUntil(mid, 2)), [[0, 1, "b"], [0, 2, "c"]]);

    const late = new Consumer(client);
    await late.assign([{ topic: "t", partition: 0 }]);
    assert.deepEqual(late.assignment(), [{ topic: "t", partition: 0, offset: 3 }]);
    assert.deepEqual(await late.poll({ maxWaitMs: 50 }), []);
    await producer.send({ topic: "t", messages: [{ value: "d" }] });
    assert.deepEqual(values(await pollUntil(late, 1)), [[0, 3, "d"]]);
    assert.deepEqual(late.assignment(), [{ topic: "t", partition: 0, offset: 4 }]);
  });
});

Deno.test("Consumer long-poll returns records produced while it waits", async () => {
  await withTopic(1, async (client, producer) => {
    const consumer = new Consumer(client, { maxWaitMs: 5000 });
    await consumer.assign([{ topic: "t", partition: 0 }]);
    const polled = consumer.poll();
    await new Promise((r) => setTimeout(r, 100));
    await producer.send({ topic: "t", messages: [{ value: "wake" }] });
    assert.deepEqual(values(await polled), [[0, 0, "wake"]]);
  });
});

Deno.test("Consumer seeks to earliest, latest and explicit offsets", async () => {
  await withTopic(2, async (client, producer) => {
    await producer.send({
      topic: "t",
      messages: ["p0a", "p0b", "p0c"].map((value) => ({ value, partition: 0 })),
    });
    await producer.send({ topic: "t", messages: [{ value: "p1a", partition: 1 }] });
    const consumer = new Consumer(client, { fromBeginning: true });
    await consumer.assign([{ topic: "t", partition: 0 }, { topic: "t", partition: 1 }]);
    const all = await pollUntil(consumer, 4);
    assert.deepEqual(
      values(all).sort(),
      [[0, 0, "p0a"], [0, 1, "p0b"], [0, 2, "p0c"], [1, 0, "p1a"]],
    );
    await consumer.seek({ topic: "t", partition: 0, offset: 2 });
    assert.deepEqual(values(await pollUntil(consumer, 1)), [[0, 2, "p0c"]]);
    await consumer.seek({ topic: "t", partition: 1, offset: "earliest" });
    assert.deepEqual(values(await pollUntil(consumer, 1)), [[1, 0, "p1a"]]);
    await consumer.seek({ topic: "t", partition: 0, offset: "latest" });
    assert.deepEqual(consumer.assignment().find((a) => a.partition === 0)?.offset, 3);
    await assert.rejects(consumer.seek({ topic: "t", partition: 5, offset: 0 }), {
      name: "RangeError",
      message: "seek: t-5 is not assigned",
    });
  });
});

Deno.test("Consumer async iterator yields records in order", async () => {
  await withTopic(1, async (client, producer) => {
    await producer.send({ topic: "t", messages: ["x", "y", "z"].map((value) => ({ value })) });
    const consumer = new Consumer(client, { fromBeginning: true, maxWaitMs: 100 });
    await consumer.assign([{ topic: "t", partition: 0 }]);
    const seen: string[] = [];
    for await (const r of consumer) {
      seen.push(td.decode(r.value!));
      if (seen.length === 3) break;
    }
    assert.deepEqual(seen, ["x", "y", "z"]);
  });
});

Deno.test("Consumer resets an out-of-range offset, or throws with autoOffsetReset none", async () => {
  await withTopic(1, async (client, producer) => {
    await producer.send({ topic: "t", messages: [{ value: "only" }] });
    const resetting = new Consumer(client, { autoOffsetReset: "earliest" });
    await resetting.assign([{ topic: "t", partition: 0, offset: 100 }]);
    assert.deepEqual(values(await pollUntil(resetting, 1)), [[0, 0, "only"]]);

    const strict = new Consumer(client, { autoOffsetReset: "none" });
    await strict.assign([{ topic: "t", partition: 0, offset: 100 }]);
    await assert.rejects(strict.poll({ maxWaitMs: 50 }), (e: unknown) => {
      assert.ok(e instanceof KafkaError);
      assert.equal(e.errorName, "OFFSET_OUT_OF_RANGE");
      assert.match(e.message, /^fetch t-0 at offset 100: OFFSET_OUT_OF_RANGE/);
      return true;
    });
  });
});

Deno.test("Consumer.assign() rejects a missing topic or partition", async () => {
  await withTopic(1, async (client) => {
    const consumer = new Consumer(client);
    await assert.rejects(consumer.assign([{ topic: "missing", partition: 0 }]), {
      name: "KafkaError",
      message: /^metadata for topic missing: UNKNOWN_TOPIC_OR_PARTITION/,
    });
    await assert.rejects(consumer.assign([{ topic: "t", partition: 3, offset: 0 }]), {
      name: "KafkaError",
      message: /t-3/,
    });
  });
});

Deno.test("Consumer prefetch: positions follow returned records only, and a seek drops the prefetched fetch", async () => {
  await withTopic(1, async (client, producer) => {
    // Three separate batches, so that a small maxPartitionBytes returns one per fetch.
    for (const v of ["a", "b", "c"]) await producer.send({ topic: "t", messages: [{ value: v }] });
    const consumer = new Consumer(client, { maxWaitMs: 100, maxPartitionBytes: 1 });
    await consumer.assign([{ topic: "t", partition: 0, offset: 0 }]);
    assert.deepEqual(values(await consumer.poll()), [[0, 0, "a"]]);
    // The next fetch is already in flight, but the position is only past what was returned.
    assert.deepEqual(consumer.assignment(), [{ topic: "t", partition: 0, offset: 1 }]);
    assert.deepEqual(values(await consumer.poll()), [[0, 1, "b"]]);
    assert.deepEqual(consumer.assignment(), [{ topic: "t", partition: 0, offset: 2 }]);
    // Seeking back discards the prefetched "c".
    await consumer.seek({ topic: "t", partition: 0, offset: 0 });
    assert.deepEqual(values(await pollUntil(consumer, 1)), [[0, 0, "a"]]);
    assert.deepEqual(values(await pollUntil(consumer, 2)), [[0, 1, "b"], [0, 2, "c"]]);
    assert.deepEqual(consumer.assignment(), [{ topic: "t", partition: 0, offset: 3 }]);
    await consumer.close();
  });
});

Deno.test("Consumer poll with an aborted signal, then close: the abandoned fetch rejects nowhere", async () => {
  // KafkaStreams.close() right after start() hit this: the signal was aborted while the leader
  // was looked up, the fetch was sent anyway and left without a handler, and closing its
  // connection made an unhandled rejection (a crash of the process).
  await withTopic(1, async (client) => {
    const consumer = new Consumer(client, { maxWaitMs: 5000, prefetch: false });
    await consumer.assign([{ topic: "t", partition: 0 }]);
    const abort = new AbortController();
    const polled = consumer.poll({ signal: abort.signal });
    abort.abort(); // while the poll looks the leader up, before its fetch is sent
    assert.deepEqual(await polled, []);
    await consumer.close();
    // Let a rejection surface (the test fails on an unhandled one).
    await new Promise((r) => setTimeout(r, 50));
  });
});
