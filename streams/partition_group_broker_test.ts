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
