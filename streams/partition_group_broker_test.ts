// Copyright 2026 the Sluice authors. Apache-2.0 license.
// Timestamp synchronisation on a real broker: a stream-table join whose table updates sit in
// another topic, interleaved in time with the stream's records. Kafka processes a task's
// partitions lowest timestamp first (PartitionGroup), so each click joins the region its user
// had at the click's time; processing in fetch order would join every click of a fetch with
// the table as before or after all of the fetch's updates.
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { Client, Consumer, Producer } from "../client/mod.ts";
import { sharedBroker, uniqueTopic } from "../tests/harness.ts";
import { KafkaStreams, Serdes, StreamsBuilder } from "./mod.ts";
import { createTopics, eventually } from "./testing.ts";

const broker = sharedBroker();
const S = Serdes.String();

async function readValues(client: Client, topic: string, count: number): Promise<string[]> {
  const consumer = new Consumer(client, { fromBeginning: true });
  const out: string[] = [];
  const text = new TextDecoder();
  try {
    await consumer.assign([{ topic, partition: 0 }]);
    const deadline = Date.now() + 60_000;
    while (out.length < count) {
      if (Date.now() > deadline) throw new Error(`read ${topic}: ${out.length} of ${count}`);
      for (const r of await consumer.poll({ maxWaitMs: 200 })) {
        out.push(`${text.decode(r.key!)}:${text.decode(r.value!)}@${r.timestamp}`);
      }
    }
  } finally {
    await consumer.close();
  }
  return out;
}

Deno.test("stream-table join on a broker: table updates in another topic apply in timestamp order", async () => {
  const { bootstrap } = await broker();
  const client = new Client({ bootstrapServers: bootstrap });
  const users = uniqueTopic("users");
  const clicks = uniqueTopic("clicks");
  const output = uniqueTopic("out");
  await createTopics(client, 1, users, clicks, output);
  const builder = new StreamsBuilder();
  const table = builder.table<string, string>(users, { storeName: "regions" });
  builder.stream<string, string>(clicks)
    .leftJoin(table, (click, region) => `${click}/${region}`)
    .to(output);
  const streams = new KafkaStreams(builder.build(), {
    applicationId: uniqueTopic("app"),
    bootstrapServers: bootstrap,
    defaultKeySerde: S,
    defaultValueSerde: S,
    commitIntervalMs: 100,
  });
  const n = 100;
  const base = Date.now() - 10_000;
  try {
    // User u moves to region r<i> at base + 2i; clicks c<i> at base + 2i + 1 (each written to
    // its own topic, so every fetch hands the task a run of updates and a run of clicks).
    const producer = new Producer(client);
    await producer.send({
      topic: clicks,
      messages: Array.from({ length: n }, (_, i) => ({
        key: "u",
        value: `c${i}`,
        timestamp: base + 2 * i + 1,
      })),
    });
    await producer.send({
      topic: users,
      messages: Array.from({ length: n }, (_, i) => ({
        key: "u",
        value: `r${i}`,
        timestamp: base + 2 * i,
      })),
    });
    await producer.close();
    await streams.start();
    await eventually("every record", () => streams.metrics().processed === 2 * n);
    const got = await readValues(client, output, n);
    assertEquals(
      got,
      Array.from({ length: n }, (_, i) => `u:c${i}/r${i}@${base + 2 * i + 1}`),
    );
  } finally {
    await streams.close();
    await client.close();
  }
});

Deno.test("maxTaskIdleMs on a broker: a click waits for the caught-up table's partition; a table update that arrives meanwhile goes first", async () => {
  const { bootstrap } = await broker();
  const client = new Client({ bootstrapServers: bootstrap });
  const users = uniqueTopic("users");
  const clicks = uniqueTopic("clicks");
  const output = uniqueTopic("out");
  await createTopics(client, 1, users, clicks, output);
  const builder = new StreamsBuilder();
  const table = builder.table<string, string>(users, { storeName: "regions" });
  builder.stream<string, string>(clicks)
    .leftJoin(table, (click, region) => `${click}/${region}`)
    .to(output);
  const streams = new KafkaStreams(builder.build(), {
    applicationId: uniqueTopic("app"),
    bootstrapServers: bootstrap,
    defaultKeySerde: S,
    defaultValueSerde: S,
    commitIntervalMs: 100,
    // The click waits this long for the users' partition, empty and caught up: the update
    // arrives meanwhile and goes first (earlier timestamp); then the users' partition is empty
    // again and the click waits its idle time once more, and is processed with the update.
    maxTaskIdleMs: 5_000,
  });
  const base = Date.now() - 10_000;
  const producer = new Producer(client);
  try {
    await producer.send({
      topic: clicks,
      messages: [{ key: "u", value: "c1", timestamp: base + 20 }],
    });
    await streams.start();
    // Time to fetch the click (and learn that the users' partition is empty and caught up);
    // it waits for that partition's idle time.
    await new Promise((r) => setTimeout(r, 500));
    assertEquals(streams.metrics().processed, 0);
    await producer.send({
      topic: users,
      messages: [{ key: "u", value: "eu", timestamp: base + 10 }],
    });
    await eventually("both processed", () => streams.metrics().processed === 2);
    assertEquals(await readValues(client, output, 1), [`u:c1/eu@${base + 20}`]);
  } finally {
    await producer.close();
    await streams.close();
    await client.close();
  }
});

Deno.test("bufferedRecordsPerPartition on a broker: a task waiting for one partition pauses the other, then processes all in timestamp order", async () => {
  const { bootstrap } = await broker();
  const client = new Client({ bootstrapServers: bootstrap });
  const a = uniqueTopic("a");
  const b = uniqueTopic("b");
  const output = uniqueTopic("out");
  await createTopics(client, 1, a, b, output);
  const builder = new StreamsBuilder();
  builder.stream<string, string>(a).merge(builder.stream<string, string>(b)).to(output);
  const bound = 100;
  const streams = new KafkaStreams(builder.build(), {
    applicationId: uniqueTopic("app"),
    bootstrapServers: bootstrap,
    defaultKeySerde: S,
    defaultValueSerde: S,
    commitIntervalMs: 100,
    // b is empty and caught up: the task waits for it (with a's records buffered) until b's
    // records come.
    maxTaskIdleMs: 60_000,
    bufferedRecordsPerPartition: bound,
  });
  const n = 10_000;
  const base = Date.now() - 100_000;
  const producer = new Producer(client);
  let sampling = true;
  let most = 0;
  const sampler = (async () => {
    while (sampling) {
      most = Math.max(most, streams.metrics().buffered);
      await new Promise((r) => setTimeout(r, 2));
    }
  })();
  try {
    // a: n records of 100 bytes at base + 2i + 1, in batches of 100 (a fetch of the task's
    // 256 KiB holds about 2300 of them).
    for (let i = 0; i < n; i += 100) {
      await producer.send({
        topic: a,
        messages: Array.from({ length: 100 }, (_, j) => ({
          key: "k",
          value: `a${i + j}-`.padEnd(100, "x"),
          timestamp: base + 2 * (i + j) + 1,
        })),
      });
    }
    await streams.start();
    // Without the pause every record of a would be fetched and buffered by now.
    await new Promise((r) => setTimeout(r, 2_000));
    assertEquals(streams.metrics().processed, 0);
    const held = streams.metrics().buffered;
    // b: 100 records among a's times, and one after all of them (it stays buffered: a is
    // then empty and caught up, and waits its idle time).
    await producer.send({
      topic: b,
      messages: [
        ...Array.from({ length: 100 }, (_, i) => ({
          key: "k",
          value: `b${i}`,
          timestamp: base + 200 * i,
        })),
        { key: "k", value: "last", timestamp: base + 2 * n + 10 },
      ],
    });
    await eventually("all but b's last", () => streams.metrics().processed === n + 100);
    sampling = false;
    await sampler;
    const got = await readValues(client, output, n + 100);
    const times = got.map((s) => Number(s.slice(s.lastIndexOf("@") + 1)));
    assertEquals(times, [...times].sort((x, y) => x - y), "timestamp order");
    assertEquals(got.filter((s) => s.startsWith("k:a")).length, n);
    assertEquals(got.includes(`k:b0@${base}`) && got.includes(`k:b99@${base + 19_800}`), true);
    // Held: the fetch that crossed the bound (about 2300 records), not all of a (the records
    // of the fetch in flight when a was paused wait in the consumer); never more.
    assertEquals(held > bound && held <= bound + 2_400, true, `held ${held}`);
    assertEquals(most <= bound + 2_400, true, `most buffered ${most}`);
  } finally {
    sampling = false;
    await sampler;
    await producer.close();
    await streams.close();
    await client.close();
  }
});
