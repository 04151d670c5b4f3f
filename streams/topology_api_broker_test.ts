// Copyright 2026 the Sluice authors. Apache-2.0 license.
// The low-level Topology API and timestamp extractors on a real broker (127.0.0.1:0):
// exactly-once with a close and a crash mid-transaction (stores restored from their
// changelogs, every output once, with the extracted times), records skipped by a negative
// extracted time committed past, the partition time surviving a restart; the default
// extractor stopping the instance at a record with a negative timestamp.
import assert, { deepStrictEqual as assertEquals } from "node:assert/strict";
import { Admin, Client, partitionForKey, Producer } from "../client/mod.ts";
import { sharedBroker, uniqueTopic } from "../tests/harness.ts";
import {
  KafkaStreams,
  type ProcessorContext,
  Serdes,
  Stores,
  type StreamsConfig,
  type TimestampExtractor,
  TimestampExtractors,
  Topology,
} from "./mod.ts";
import { createTopics, eventually, prng, readAll } from "./testing.ts";

const broker = sharedBroker();
const S = Serdes.String();
const L = Serdes.Int64();
const te = new TextEncoder();

async function setup(partitions: number) {
  const { bootstrap } = await broker();
  const client = new Client({ bootstrapServers: bootstrap });
  const input = uniqueTopic("in");
  const output = uniqueTopic("out");
  const applicationId = uniqueTopic("app");
  await createTopics(client, partitions, input, output);
  const config = (extra: Partial<StreamsConfig> = {}): StreamsConfig => ({
    applicationId,
    bootstrapServers: bootstrap,
    defaultKeySerde: S,
    defaultValueSerde: S,
    commitIntervalMs: 100,
    ...extra,
  });
  return { client, input, output, applicationId, config };
}

async function produce(
  client: Client,
  topic: string,
  messages: Array<{ key: string; value: string; timestamp: number }>,
): Promise<void> {
  const producer = new Producer(client);
  try {
    for (let i = 0; i < messages.length; i += 500) {
      await producer.send({
        topic,
        messages: messages.slice(i, i + 500).map((m) => ({
          ...m,
          key: te.encode(m.key),
          value: te.encode(m.value),
        })),
      });
    }
  } finally {
    await producer.close();
  }
}

/** The event time in the value; `skip`: -1 (skipped); `pt`: the partition time. */
const eventTime: TimestampExtractor = (record, partitionTime) =>
  record.value === "skip" ? -1 : record.value === "pt" ? partitionTime : Number(record.value);

/** Source (event-time extractor) -> Count (store `counts`) -> Sink: `n` per key, with the
 * record's extracted time; the processor throws after `failAfter` records. */
function countTopology(input: string, output: string, failAfter = Infinity): Topology {
  let seen = 0;
  return new Topology()
    .addSource({ name: "Source", timestampExtractor: eventTime }, input)
    .addProcessor("Count", () => {
      let ctx: ProcessorContext<string, string>;
      return {
        init: (c) => void (ctx = c),
        process(record: { key: string; timestamp: number }) {
          if (++seen > failAfter) throw new Error("a crash in the middle of a transaction");
          const counts = ctx.getStateStore<string, number>("counts");
          const n = (counts.get(record.key) ?? 0) + 1;
          counts.put(record.key, n);
          ctx.forward({ key: record.key, value: String(n), timestamp: record.timestamp });
        },
      };
    }, "Source")
    .addStateStore(
      Stores.keyValueStoreBuilder(Stores.inMemoryKeyValueStore("counts"), S, L),
      "Count",
    )
    .addSink("Sink", output, "Count");
}

Deno.test("Topology API + event-time extractor under exactly_once_v2, closed, then crashed mid-transaction: counts restored, every output once with its extracted time, skipped records committed past, partition time kept across restarts", async () => {
  const { client, input, output, applicationId, config } = await setup(2);
  const rnd = prng(83);
  const keys = Array.from({ length: 10 }, (_, i) => `k${i}`);
  // Every record's own timestamp is 5: only the extractor gives the times seen downstream.
  const records = Array.from({ length: 2400 }, (_, i) => {
    const key = keys[Math.floor(rnd() * keys.length)];
    const r = rnd();
    const value = i < 20 || r > 0.1
      ? String(1_000_000 + i * 10 - Math.floor(rnd() * 300))
      : r < 0.05
      ? "skip"
      : "pt";
    return { key, value, timestamp: 5 };
  });
  // The first record of each partition after the first instance closes takes the partition
  // time: the time committed by the first instance (-1 if it were lost: skipped).
  for (let p = 0; p < 2; p++) {
    records.find((r, i) => i >= 1200 && partitionForKey(te.encode(r.key), 2) === p)!.value = "pt";
  }
  // The last record of each partition is skipped: the offsets are committed past it anyway.
  for (let p = 0; p < 2; p++) {
    records.push({
      key: keys.find((k) => partitionForKey(te.encode(k), 2) === p)!,
      value: "skip",
      timestamp: 5,
    });
  }
  const admin = new Admin(client);
  const committed = async () => {
    const c = await admin.listConsumerGroupOffsets(applicationId, [
      { topic: input, partition: 0 },
      { topic: input, partition: 1 },
    ]);
    return [0, 1].map((p) => c.find((x) => x.partition === p));
  };
  const eos = config({ processingGuarantee: "exactly_once_v2", onWarning: () => {} });
  let streams = new KafkaStreams(countTopology(input, output), eos);
  try {
    await produce(client, input, records.slice(0, 1200));
    await streams.start();
    await eventually("the first part", async () => {
      const [a, b] = await committed();
      return (a?.offset ?? 0) + (b?.offset ?? 0) === 1200;
    });
    await streams.close();
    // A new instance restores `counts`; it crashes 500 records later, mid-transaction (its
    // commit interval is long: what it sent before the crash is in the open transaction).
    const errors: unknown[] = [];
    streams = new KafkaStreams(countTopology(input, output, 500), {
      ...eos,
      commitIntervalMs: 60_000,
      onError: (e) => errors.push(e),
    });
    await streams.start();
    assert(streams.metrics().restored > 0, `restored ${streams.metrics().restored}`);
    await produce(client, input, records.slice(1200));
    await eventually("the crash", () => streams.state === "ERROR");
    assert.match(String(errors[0]), /a crash in the middle of a transaction/);
    const crashed = await committed();
    assert((crashed[0]?.offset ?? 0) + (crashed[1]?.offset ?? 0) < records.length, "crashed early");
    // A third instance finishes.
    streams = new KafkaStreams(countTopology(input, output), eos);
    await streams.start();
    await eventually("all committed", async () => {
      const [a, b] = await committed();
      return (a?.offset ?? 0) + (b?.offset ?? 0) === records.length;
    });
    const dropped = streams.metrics().dropped;
    await streams.close();
    // The model: per partition in offset order, the extracted time (the partition time for
    // `pt`, the largest extracted so far), skipped records counted nowhere.
    const expected: string[][] = [[], []];
    const streamTimes = [-1, -1];
    const counts = new Map<string, number>();
    let skipped = 0;
    for (let p = 0; p < 2; p++) {
      for (const r of records.filter((r) => partitionForKey(te.encode(r.key), 2) === p)) {
        const t = r.value === "skip" ? -1 : r.value === "pt" ? streamTimes[p] : Number(r.value);
        if (t < 0) {
          skipped++;
          continue;
        }
        streamTimes[p] = Math.max(streamTimes[p], t);
        const n = (counts.get(r.key) ?? 0) + 1;
        counts.set(r.key, n);
        expected[p].push(`${r.key}:${n}@${t}`);
      }
    }
    assert(skipped > 50 && skipped < 200, `${skipped} skipped`);
    assert(records.filter((r) => r.value === "pt").length > 50);
    assertEquals(await readAll(client, output), expected);
    // Stream time, committed with the offsets, is the largest extracted time.
    const [a, b] = await committed();
    assertEquals([a?.metadata, b?.metadata], streamTimes.map(String));
    assert(dropped <= skipped, `dropped ${dropped}`);
  } finally {
    await streams.close();
    await client.close();
  }
});

Deno.test("default extractor on a broker: a record with a negative timestamp stops the instance (ERROR) with Kafka's message, nothing past it committed; LogAndSkipOnInvalidTimestamp skips it", async () => {
  const { client, input, output, applicationId, config } = await setup(1);
  const copy = () => {
    return new Topology()
      .addSource("Source", input)
      .addSink("Sink", output, "Source");
  };
  await produce(client, input, [
    { key: "a", value: "1", timestamp: 10 },
    { key: "b", value: "2", timestamp: -1 },
    { key: "c", value: "3", timestamp: 30 },
  ]);
  const errors: unknown[] = [];
  const failing = new KafkaStreams(copy(), config({ onError: (e) => errors.push(e) }));
  try {
    await failing.start().catch((e) => errors.push(e));
    await eventually("ERROR", () => failing.state === "ERROR");
  } finally {
    await failing.close();
  }
  assertEquals(errors.length, 1);
  assert.match(
    String(errors[0]),
    new RegExp(`input record ${input}-0@1 has invalid \\(negative\\) timestamp -1`),
  );
  const admin = new Admin(client);
  const [f] = await admin.listConsumerGroupOffsets(applicationId, [{ topic: input, partition: 0 }]);
  assert((f?.offset ?? -1) <= 1, `committed ${f?.offset}`);

  const warnings: string[] = [];
  const skipping = new KafkaStreams(
    copy(),
    config({
      applicationId: `${applicationId}-skip`,
      defaultTimestampExtractor: TimestampExtractors.LogAndSkipOnInvalidTimestamp,
      onWarning: (m) => warnings.push(m),
    }),
  );
  try {
    await skipping.start();
    await eventually("committed", async () => {
      const [c] = await admin.listConsumerGroupOffsets(`${applicationId}-skip`, [
        { topic: input, partition: 0 },
      ]);
      return c?.offset === 3;
    });
    assertEquals(skipping.metrics().dropped, 1);
  } finally {
    await skipping.close();
  }
  assertEquals(warnings, [
    `task 0_0: skipping record due to negative extracted timestamp: ${input}-0@1, extracted timestamp -1`,
  ]);
  assertEquals((await readAll(client, output))[0], ["a:1@10", "c:3@30"]);
  await client.close();
});
