// Copyright 2026 the Sluice authors. Apache-2.0 license.
import assert, { deepStrictEqual as assertEquals } from "node:assert/strict";
import {
  Admin,
  Client,
  Consumer,
  type ConsumerRecord,
  GroupConsumer,
  partitionForKey,
  Producer,
} from "../client/mod.ts";
import { FaultProxy } from "../tests/fault_proxy.ts";
import { sharedBroker, startBroker, uniqueTopic } from "../tests/harness.ts";
import { isSequence, readCounts } from "../tests/streams/kill_run.ts";
import {
  JoinWindows,
  KafkaStreams,
  Serdes,
  SessionWindows,
  StreamsBuilder,
  type StreamsConfig,
  Suppressed,
  TimeWindows,
} from "./mod.ts";
import {
  createTopics,
  eventually,
  type JoinInput,
  latestByKey,
  lines,
  outerJoinModel,
  prng,
  produceLines,
  sorted,
  suppressedCountModel,
  windowCountModel,
  wordCountModel,
  words,
} from "./testing.ts";

const broker = sharedBroker();
const S = Serdes.String();
const L = Serdes.Int64();
const int64 = (b: Uint8Array | null) => L.deserialize(b)!;

function wordCount(input: string, output: string, persistent = false) {
  const builder = new StreamsBuilder();
  builder.stream<string, string>(input)
    .flatMapValues((line) => words(line))
    .groupBy((_key, word) => word)
    .count({ storeName: "counts-store", persistent })
    .toStream()
    .to(output, { valueSerde: L });
  return builder.build();
}

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

/** Every word's output counts are exactly 1..n. */
async function assertExactCounts(client: Client, output: string, model: Map<string, number>) {
  const { counts } = await readCounts(client, output);
  const wrong = [...model].filter(([w, n]) => !isSequence(counts.get(w), n)).map(([w]) => w);
  assertEquals(wrong, []);
  assertEquals(counts.size, model.size);
}

Deno.test("word count (exactly-once, on-disk store): a restart resumes from the store's checkpoint; counts exact", async () => {
  const { client, input, output, applicationId, config } = await setup(2);
  const stateDir = await Deno.makeTempDir({ prefix: "sluice_streams_" });
  const text = lines(2, 2000);
  const model = wordCountModel(text);
  const total = (t: string[]) => t.length + t.reduce((n, l) => n + words(l).length, 0);
  try {
    await produceLines(client, input, text.slice(0, 1000));
    const first = new KafkaStreams(
      wordCount(input, output, true),
      config({ processingGuarantee: "exactly_once_v2", stateDir }),
    );
    await first.start();
    await eventually(
      "the first half",
      () => first.metrics().processed >= total(text.slice(0, 1000)),
    );
    await first.close();
    const checkpoints: string[] = [];
    for await (const e of Deno.readDir(`${stateDir}/${applicationId}`)) {
      try {
        await Deno.stat(`${stateDir}/${applicationId}/${e.name}/counts-store/checkpoint`);
        checkpoints.push(e.name);
      } catch { /* a task without the store */ }
    }
    assertEquals(checkpoints.sort(), ["1_0", "1_1"]);
    await produceLines(client, input, text.slice(1000));
    const second = new KafkaStreams(
      wordCount(input, output, true),
      config({ processingGuarantee: "exactly_once_v2", stateDir }),
    );
    await second.start();
    // Loaded from disk up to its checkpoint: nothing to replay from the changelog.
    assertEquals(second.metrics().restored, 0);
    await eventually(
      "the second half",
      () => second.metrics().processed >= total(text.slice(1000)),
    );
    assertEquals(second.store<string, number>("counts-store").all(), sorted(model));
    await second.close();
    await assertExactCounts(client, output, model);
  } finally {
    await client.close();
    await Deno.remove(stateDir, { recursive: true });
  }
});

Deno.test("word count (in memory): a restarted instance restores its store from the changelog", async () => {
  const { client, input, output, config } = await setup(2);
  const text = lines(3, 1000);
  const model = wordCountModel(text.slice(0, 500));
  try {
    await produceLines(client, input, text.slice(0, 500));
    const first = new KafkaStreams(wordCount(input, output), config());
    await first.start();
    await eventually(
      "processed",
      () =>
        first.store("counts-store").approximateNumEntries() === model.size &&
        sorted(new Map(first.store<string, number>("counts-store").all())).join() ===
          sorted(model).join(),
    );
    await first.close();
    const second = new KafkaStreams(wordCount(input, output), config());
    await second.start();
    assert(second.metrics().restored >= model.size, `restored ${second.metrics().restored}`);
    assertEquals(second.store<string, number>("counts-store").all(), sorted(model));
    await produceLines(client, input, text.slice(500));
    const full = wordCountModel(text);
    await eventually("the rest", () => {
      const got = second.store<string, number>("counts-store").all();
      return JSON.stringify(got) === JSON.stringify(sorted(full));
    });
    await second.close();
    await assertExactCounts(client, output, full);
  } finally {
    await client.close();
  }
});

Deno.test("exactly-once: a repartitioned count completes once the input stops (a commit after empty polls)", async () => {
  const { client, input, output, config } = await setup(2);
  const text = lines(5, 300);
  const model = wordCountModel(text);
  await produceLines(client, input, text);
  // All input arrives in the first polls, well within one commit interval: the repartition
  // records are only visible to the counting sub-topology once a commit follows empty polls.
  const streams = new KafkaStreams(
    wordCount(input, output),
    config({ processingGuarantee: "exactly_once_v2", commitIntervalMs: 1000 }),
  );
  try {
    await streams.start();
    await eventually(
      "the counts",
      () =>
        JSON.stringify(streams.store<string, number>("counts-store").all()) ===
          JSON.stringify(sorted(model)),
      30_000,
    );
    await streams.close();
    await assertExactCounts(client, output, model);
  } finally {
    await streams.close();
    await client.close();
  }
});

Deno.test("two instances share an application id; one leaves; the survivor's counts are exact", async () => {
  const { client, input, output, applicationId, config } = await setup(4);
  const text = lines(4, 4000);
  const a = new KafkaStreams(wordCount(input, output), config({ heartbeatIntervalMs: 500 }));
  const b = new KafkaStreams(wordCount(input, output), config({ heartbeatIntervalMs: 500 }));
  try {
    await a.start();
    await b.start();
    await eventually(
      "both instances own tasks",
      () =>
        a.metrics().tasks.length > 0 && b.metrics().tasks.length > 0 &&
        a.metrics().tasks.length + b.metrics().tasks.length === 8,
    );
    const split = [a.metrics().tasks, b.metrics().tasks];
    assertEquals([...split[0], ...split[1]].sort(), [
      "0_0",
      "0_1",
      "0_2",
      "0_3",
      "1_0",
      "1_1",
      "1_2",
      "1_3",
    ]);
    await produceLines(client, input, text.slice(0, 2000));
    const firstHalf = wordCountModel(text.slice(0, 2000));
    const counted = () => [
      ...a.store<string, number>("counts-store").all(),
      ...b.store<string, number>("counts-store").all(),
    ];
    await eventually(
      "the first half counted by both",
      () => JSON.stringify(counted().sort()) === JSON.stringify(sorted(firstHalf)),
    );
    assert(a.metrics().processed > 0 && b.metrics().processed > 0);
    await b.close();
    await eventually("the survivor owns every task", () => a.metrics().tasks.length === 8);
    await produceLines(client, input, text.slice(2000));
    const model = wordCountModel(text);
    await eventually(
      "the survivor's store holds the model",
      () =>
        JSON.stringify(a.store<string, number>("counts-store").all()) ===
          JSON.stringify(sorted(model)),
    );
    await a.close();
    await assertExactCounts(client, output, model);
    const groups = await new Admin(client).describeGroups([applicationId]);
    assertEquals(groups[0].members.length, 0);
  } finally {
    await a.close();
    await b.close();
    await client.close();
  }
});

Deno.test("windowed count on a broker: hopping windows with grace, late records dropped, exact", async () => {
  const { client, input, output, config } = await setup(2);
  const windows = TimeWindows.ofSizeAndGrace(1000, 300).advanceBy(500);
  const builder = new StreamsBuilder();
  builder.stream<string, string>(input)
    .groupByKey()
    .windowedBy(windows)
    .count({ storeName: "windowed-counts" })
    .toStream()
    .map((wk, n) => [`${wk.key}@${wk.window.start}`, n])
    .to(output, { valueSerde: L });
  const rnd = prng(9);
  const records: Array<{ key: string; timestamp: number; partition: number }> = [];
  let t = 1_000_000;
  for (let i = 0; i < 3000; i++) {
    t += Math.floor(rnd() * 20);
    const late = rnd() < 0.15 ? Math.floor(rnd() * 2000) : 0;
    const key = `k${Math.floor(rnd() * 10)}`;
    records.push({
      key,
      timestamp: t - late,
      partition: partitionForKey(new TextEncoder().encode(key), 2),
    });
  }
  const model = windowCountModel(records, (ts) => windows.windowsFor(ts), windows.graceMs);
  assert(model.dropped > 100, `late records: ${model.dropped}`);
  const streams = new KafkaStreams(builder.build(), config());
  try {
    await produceLines(client, input, records.map(() => "x"), {
      key: (i) => records[i].key,
      timestamp: (i) => records[i].timestamp,
    });
    await streams.start();
    await eventually("every record", () => streams.metrics().processed === records.length);
    await streams.close();
    assertEquals(streams.metrics().dropped, model.dropped);
    const out = await latestByKey(client, output, int64);
    assertEquals(sorted(out.values), sorted(model.counts));
  } finally {
    await streams.close();
    await client.close();
  }
});

Deno.test("stream–table join on a broker", async () => {
  const { client, input, output, config } = await setup(3);
  const users = uniqueTopic("users");
  await createTopics(client, 3, users);
  const builder = new StreamsBuilder();
  const table = builder.table<string, string>(users, { storeName: "users-store" });
  builder.stream<string, string>(input)
    .leftJoin(table, (click, user) => `${user ?? "unknown"}:${click}`)
    .to(output);
  const streams = new KafkaStreams(builder.build(), config());
  try {
    const names = Array.from({ length: 30 }, (_, i) => [`u${i}`, `name${i}`]);
    await produceLines(client, users, names.map(([, n]) => n), { key: (i) => names[i][0] });
    await streams.start();
    await eventually(
      "the table loaded",
      () => streams.store("users-store").approximateNumEntries() === names.length,
    );
    assertEquals(streams.store<string, string>("users-store").get("u7"), "name7");
    assertEquals(streams.store<string, string>("users-store").range("u1", "u11").length, 3);
    const clicks = Array.from({ length: 200 }, (_, i) => [`u${i % 40}`, `c${i}`]);
    await produceLines(client, input, clicks.map(([, c]) => c), { key: (i) => clicks[i][0] });
    await eventually(
      "every click",
      () => streams.metrics().processed === names.length + clicks.length,
    );
    const out = await latestByKey(client, output, (b) => S.deserialize(b)!);
    assertEquals(out.records, clicks.length);
    for (const [user, click] of clicks.slice(-40)) {
      const n = Number(user.slice(1));
      assertEquals(out.values.get(user), `${n < 30 ? `name${n}` : "unknown"}:${click}`);
    }
  } finally {
    await streams.close();
    await client.close();
  }
});

/** Every record of a topic (read committed), as `key:value@timestamp`, per partition. */
async function readAll(client: Client, topic: string, partitions: number): Promise<string[][]> {
  const admin = new Admin(client);
  const ends = await admin.listOffsets(
    Array.from(
      { length: partitions },
      (_, p) => ({ topic, partition: p, spec: "latest" as const }),
    ),
  );
  const consumer = new Consumer(client, { fromBeginning: true, isolationLevel: 1 });
  const out: string[][] = Array.from({ length: partitions }, () => []);
  const text = new TextDecoder();
  try {
    await consumer.assign(Array.from({ length: partitions }, (_, p) => ({ topic, partition: p })));
    const deadline = Date.now() + 60_000;
    for (;;) {
      // The end offsets include the transaction markers: stop once every position reached it.
      if (consumer.assignment().every((p) => p.offset >= ends[p.partition].offset)) break;
      if (Date.now() > deadline) throw new Error(`read ${topic}: did not reach the end`);
      for (const r of await consumer.poll({ maxWaitMs: 200 })) {
        out[r.partition].push(
          `${text.decode(r.key ?? new Uint8Array())}:${
            text.decode(r.value ?? new Uint8Array())
          }@${r.timestamp}`,
        );
      }
    }
  } finally {
    await consumer.close();
  }
  return out;
}

Deno.test("stream–stream outerJoin on a broker (exactly-once, restarted between the sides): every partition's output equals the model", async () => {
  const { client, input: left, output, config } = await setup(2);
  const right = uniqueTopic("right");
  await createTopics(client, 2, right);
  const te = new TextEncoder();
  const build = () => {
    const b = new StreamsBuilder();
    b.stream<string, string>(left)
      .outerJoin(
        b.stream<string, string>(right),
        (l, r) => `${l}+${r}`,
        JoinWindows.ofTimeDifferenceAndGrace(100, 50),
        { name: "oj" },
      )
      .to(output);
    return b.build();
  };
  const rnd = prng(16);
  // Phase 1 the left side, phase 2 the right (between 150 ms before and 150 ms after the left
  // records' times, some keys only on one side), phase 3 one right record per key far ahead,
  // which closes every window. Each phase is processed before the next is produced, so each
  // task sees them in this order, as the model does.
  const lefts: JoinInput[] = Array.from(
    { length: 300 },
    (_, i) => ["l", `k${i % 12}`, `L${i}`, 10_000 + i * 7],
  );
  const rights: JoinInput[] = Array.from({ length: 300 }, (_, i) => [
    "r",
    `k${(i * 5) % 14}`,
    `R${i}`,
    10_000 + i * 7 + Math.floor(rnd() * 300) - 150,
  ]);
  const closers: JoinInput[] = Array.from({ length: 14 }, (_, i) => ["r", `k${i}`, "END", 100_000]);
  const produce = async (records: JoinInput[]) => {
    const producer = new Producer(client);
    try {
      await producer.send({
        topic: records[0][0] === "l" ? left : right,
        messages: records.map(([, k, v, ts]) => ({
          key: te.encode(k),
          value: te.encode(v),
          timestamp: ts,
        })),
      });
    } finally {
      await producer.close();
    }
  };
  const eos = config({ processingGuarantee: "exactly_once_v2" });
  let streams = new KafkaStreams(build(), eos);
  try {
    await produce(lefts);
    await streams.start();
    await eventually("the left side", () => streams.metrics().processed === lefts.length);
    await streams.close();
    // A new instance: the join stores and the waiting records come back from the changelogs.
    streams = new KafkaStreams(build(), eos);
    await streams.start();
    assert(streams.metrics().restored > 0, `restored ${streams.metrics().restored}`);
    await produce(rights);
    await eventually("the right side", () => streams.metrics().processed === rights.length);
    await produce(closers);
    await eventually(
      "the closers",
      () => streams.metrics().processed === rights.length + closers.length,
    );
    await streams.close();
    const got = await readAll(client, output, 2);
    const partitionOf = (k: string) => partitionForKey(te.encode(k), 2);
    let nulls = 0;
    let joins = 0;
    for (let p = 0; p < 2; p++) {
      const mine = (r: JoinInput) => partitionOf(r[1]) === p;
      const expected = outerJoinModel(
        [...lefts.filter(mine), ...rights.filter(mine), ...closers.filter(mine)],
        100,
        100,
        50,
        "outer",
      );
      assertEquals(got[p], expected, `partition ${p}`);
      nulls += expected.filter((e) => e.includes("null")).length;
      joins += expected.filter((e) => !e.includes("null")).length;
    }
    assert(nulls > 50 && joins > 50, `${nulls} null results, ${joins} joins`);
  } finally {
    await streams.close();
    await client.close();
  }
});

Deno.test("suppress untilWindowCloses on a broker (exactly-once, restarted mid-stream): every window's final result exactly once", async () => {
  const { client, input, output, config } = await setup(2);
  const te = new TextEncoder();
  const [size, advance, grace] = [1000, 500, 300];
  const build = () => {
    const b = new StreamsBuilder();
    b.stream<string, string>(input).groupByKey()
      .windowedBy(TimeWindows.ofSizeAndGrace(size, grace).advanceBy(advance))
      .count({ storeName: "final-counts" })
      .suppress(Suppressed.untilWindowCloses().withName("final"))
      .toStream()
      .map((w, n) => [`${w.key}@${w.window.start}`, `${n}`])
      .to(output);
    return b.build();
  };
  const rnd = prng(61);
  let t = 50_000;
  const records: Array<[string, number]> = Array.from({ length: 1600 }, () => {
    t += Math.floor(rnd() * 30);
    return [`k${Math.floor(rnd() * 10)}`, rnd() < 0.15 ? t - Math.floor(rnd() * 1500) : t];
  });
  // One record per key far ahead closes every earlier window.
  for (let i = 0; i < 10; i++) records.push([`k${i}`, t + 100_000]);
  const produce = async (part: Array<[string, number]>) => {
    const producer = new Producer(client);
    try {
      await producer.send({
        topic: input,
        messages: part.map(([k, ts]) => ({
          key: te.encode(k),
          value: te.encode("x"),
          timestamp: ts,
        })),
      });
    } finally {
      await producer.close();
    }
  };
  const eos = config({ processingGuarantee: "exactly_once_v2" });
  let streams = new KafkaStreams(build(), eos);
  try {
    await produce(records.slice(0, 800));
    await streams.start();
    await eventually("the first half", () => streams.metrics().processed === 800);
    await streams.close();
    // A new instance: the buffer of windows not yet final comes back from its changelog.
    streams = new KafkaStreams(build(), eos);
    await streams.start();
    assert(streams.metrics().restored > 0, `restored ${streams.metrics().restored}`);
    await produce(records.slice(800));
    await eventually("the rest", () => streams.metrics().processed === records.length - 800);
    await streams.close();
    const got = (await readAll(client, output, 2)).flat().sort();
    const expected: string[] = [];
    let dropped = 0;
    for (let p = 0; p < 2; p++) {
      const model = suppressedCountModel(
        records.filter(([k]) => partitionForKey(te.encode(k), 2) === p),
        size,
        advance,
        grace,
      );
      expected.push(...model.finals);
      dropped += model.dropped;
    }
    assert(expected.length > 100 && dropped > 10, `${expected.length} finals, ${dropped} dropped`);
    assertEquals(got, expected.map((f) => f.replace(/=(\d+)@/, ":$1@")).sort());
  } finally {
    await streams.close();
    await client.close();
  }
});

Deno.test("start fails clearly when a source topic is missing", async () => {
  const { bootstrap } = await broker();
  const b = new StreamsBuilder();
  b.stream("no-such-topic").to("x");
  const streams = new KafkaStreams(b.build(), {
    applicationId: uniqueTopic("app"),
    bootstrapServers: bootstrap,
    defaultKeySerde: S,
    defaultValueSerde: S,
  });
  await assert.rejects(() => streams.start(), /source topic no-such-topic is missing/);
  assertEquals(streams.state, "ERROR");
  await streams.close();
});

Deno.test("windowed, session and join store changelogs are created compact,delete with retention.ms (DescribeConfigs)", async () => {
  const { client, input, applicationId, config } = await setup(2);
  const other = uniqueTopic("other");
  await createTopics(client, 2, other);
  const builder = new StreamsBuilder();
  const stream = builder.stream<string, string>(input);
  stream.groupByKey().windowedBy(TimeWindows.ofSizeAndGrace(60_000, 5_000))
    .count({ storeName: "win", retentionMs: 3_600_000 });
  stream.groupByKey().windowedBy(SessionWindows.ofInactivityGapWithNoGrace(1000))
    .count({ storeName: "sess" });
  stream.groupByKey().count({ storeName: "plain" });
  stream.join(
    builder.stream<string, string>(other),
    (a, b) => a + b,
    JoinWindows.ofTimeDifferenceAndGrace(100, 50),
    { name: "jn" },
  ).to(uniqueTopic("joined"));
  const streams = new KafkaStreams(builder.build(), config());
  const admin = new Admin(client);
  try {
    await streams.start();
    const describe = async (store: string) => {
      const [d] = await admin.describeConfigs([
        { type: "topic", name: `${applicationId}-${store}-changelog` },
      ]);
      const value = (name: string) => d.entries.find((e) => e.name === name)?.value;
      return [value("cleanup.policy"), value("retention.ms")];
    };
    const day = 86_400_000;
    assertEquals(await describe("win"), ["compact,delete", String(3_600_000 + day)]);
    // A session store's default retention: the larger of gap + grace and one day.
    assertEquals(await describe("sess"), ["compact,delete", String(day + day)]);
    // Join stores: before + after + grace.
    assertEquals(await describe("jn-this-join-store"), ["compact,delete", String(250 + day)]);
    assertEquals(await describe("jn-other-join-store"), ["compact,delete", String(250 + day)]);
    const [plainPolicy] = await describe("plain");
    assertEquals(plainPolicy, "compact");
  } finally {
    await streams.close();
    await client.close();
  }
});

Deno.test("at-least-once: a produce failure before a commit leaves the offsets uncommitted; a new instance processes the records again", async () => {
  const { client, input, applicationId, config } = await setup(1);
  const admin = new Admin(client);
  // An output topic that refuses batches over 4000 bytes (MESSAGE_TOO_LARGE, not retriable).
  const output = uniqueTopic("out-small");
  await admin.createTopics([
    { name: output, numPartitions: 1, configs: { "max.message.bytes": "4000" } },
  ]);
  const text = Array.from({ length: 50 }, (_, i) => `line-${i}`);
  await produceLines(client, input, text, { key: (i) => `k${i}` });
  const committed = async () =>
    (await admin.listConsumerGroupOffsets(applicationId, [{ topic: input, partition: 0 }]))[0]
      ?.offset ?? -1;
  try {
    // One record becomes too large: its send fails, the commit that covers it must not happen.
    const failing = new StreamsBuilder();
    failing.stream<string, string>(input)
      .mapValues((v) => v === "line-40" ? "x".repeat(5000) : v.toUpperCase())
      .to(output);
    const errors: unknown[] = [];
    const first = new KafkaStreams(failing.build(), {
      ...config({ commitIntervalMs: 0 }),
      onError: (e) => errors.push(e),
    });
    await first.start();
    await eventually("the first instance fails", () => first.state === "ERROR");
    await first.close();
    assertEquals(errors.length, 1);
    assert.match(String(errors[0]), /MESSAGE_TOO_LARGE|RECORD_LIST_TOO_LARGE|too large/i);
    assert(first.metrics().processed > 40, `processed ${first.metrics().processed}`);
    // Records 0..39 may be committed by earlier commits; never the one that failed nor later.
    const after = await committed();
    assert(after <= 40, `committed offset ${after} covers the record whose send failed`);

    // A new instance (the record fixed) starts from the committed offset: every record from it
    // on is processed and written again.
    const fixed = new StreamsBuilder();
    fixed.stream<string, string>(input).mapValues((v) => v.toUpperCase()).to(output);
    const second = new KafkaStreams(fixed.build(), config());
    await second.start();
    await eventually(
      "the second instance commits the whole input",
      async () => (await committed()) === text.length,
      20_000,
    );
    assertEquals(second.metrics().processed, text.length - Math.max(0, after));
    await second.close();
    const { values } = await latestByKey(client, output, (b) => S.deserialize(b)!);
    assertEquals(sorted(values), sorted(new Map(text.map((l, i) => [`k${i}`, l.toUpperCase()]))));
  } finally {
    await client.close();
  }
});

for (const guarantee of ["at_least_once", "exactly_once_v2"] as const) {
  Deno.test(`${guarantee}: offsets are committed with the leader epoch of the last record processed (KIP-320)`, async () => {
    const { client, input, output, applicationId, config } = await setup(1);
    const text = Array.from({ length: 20 }, (_, i) => `line-${i}`);
    await produceLines(client, input, text);
    // The input records' leader epoch, as a plain consumer reads it (a standalone broker's: 0).
    const reader = new Consumer(client, { fromBeginning: true });
    await reader.assign([{ topic: input, partition: 0 }]);
    const read: ConsumerRecord[] = [];
    for (let i = 0; i < 50 && read.length < text.length; i++) {
      read.push(...await reader.poll({ maxWaitMs: 100 }));
    }
    await reader.close();
    assertEquals(read.length, text.length);
    const epoch = read[read.length - 1].leaderEpoch;
    assert(epoch >= 0, `leader epoch ${epoch}`);
    const builder = new StreamsBuilder();
    builder.stream<string, string>(input).mapValues((v) => v.toUpperCase()).to(output);
    const streams = new KafkaStreams(builder.build(), config({ processingGuarantee: guarantee }));
    const group = new GroupConsumer(client, { groupId: applicationId });
    const committed = async () => (await group.committed([{ topic: input, partition: 0 }]))[0];
    try {
      await streams.start();
      await eventually(
        "the whole input committed",
        async () => (await committed()).offset === text.length,
        20_000,
      );
      assertEquals(await committed(), {
        topic: input,
        partition: 0,
        offset: text.length,
        leaderEpoch: epoch,
      });
    } finally {
      await streams.close();
      await group.close();
      await client.close();
    }
  });
}

Deno.test("exactly-once: after an aborted transaction the rewind to the committed offsets carries their leader epoch and is validated (KIP-320)", async () => {
  // A broker behind a proxy that records the OffsetForLeaderEpoch requests (the validations).
  let target = 0;
  const proxy = new FaultProxy(() => target);
  const tb = await startBroker({ advertisedListeners: `PLAINTEXT://127.0.0.1:${proxy.port}` });
  target = tb.port;
  const bootstrap = `127.0.0.1:${proxy.port}`;
  const client = new Client({ bootstrapServers: bootstrap });
  const admin = new Admin(client);
  const input = uniqueTopic("in");
  const output = uniqueTopic("out-small");
  const applicationId = uniqueTopic("app");
  // An output topic that refuses batches over 4000 bytes (MESSAGE_TOO_LARGE: the transaction
  // fails and is aborted, not retried).
  await admin.createTopics([
    { name: input, numPartitions: 1 },
    { name: output, numPartitions: 1, configs: { "max.message.bytes": "4000" } },
  ]);
  const committed = async () =>
    (await admin.listConsumerGroupOffsets(applicationId, [{ topic: input, partition: 0 }]))[0];
  let failOnce = true; // line-15 becomes too large the first time it is processed only
  const builder = new StreamsBuilder();
  builder.stream<string, string>(input).mapValues((v) => {
    if (v === "line-15" && failOnce) {
      failOnce = false;
      return "x".repeat(5000);
    }
    return v.toUpperCase();
  }).to(output);
  const streams = new KafkaStreams(builder.build(), {
    applicationId,
    bootstrapServers: bootstrap,
    defaultKeySerde: S,
    defaultValueSerde: S,
    commitIntervalMs: 100,
    processingGuarantee: "exactly_once_v2",
  });
  const text = Array.from({ length: 20 }, (_, i) => `line-${i}`);
  try {
    await produceLines(client, input, text.slice(0, 10), { key: (i) => `k${i}` });
    await streams.start();
    await eventually("0..9 committed", async () => (await committed())?.offset === 10, 20_000);
    // Nothing validated yet: the group started with no committed offset (ListOffsets earliest).
    assertEquals(proxy.epochQueries, []);
    const first = await committed();
    assertEquals([first.offset, first.leaderEpoch], [10, 0]); // (metadata: the stream time)
    await produceLines(client, input, text.slice(10), { key: (i) => `k${i + 10}` });
    await eventually("10..19 committed", async () => (await committed())?.offset === 20, 20_000);
    assertEquals(failOnce, false);
    assertEquals(streams.state, "RUNNING");
    // The transaction holding line-15 was aborted; the rewind went back to offset 10 with its
    // committed epoch 0, which was validated against the leader's log before the next fetch.
    assertEquals(proxy.epochQueries, [
      { topic: input, partition: 0, leaderEpoch: 0, currentLeaderEpoch: 0 },
    ]);
    await streams.close();
    // Every input record is in the committed output once, line-15 as the retry wrote it.
    const { values, records } = await latestByKey(client, output, (b) => S.deserialize(b)!, {
      readCommitted: true,
    });
    assertEquals(records, text.length);
    assertEquals(sorted(values), sorted(new Map(text.map((l, i) => [`k${i}`, l.toUpperCase()]))));
  } finally {
    await streams.close();
    await client.close();
    await tb.close();
    await proxy.close();
  }
});

Deno.test("map/filter with string serdes writes exact records: keys, values, headers, timestamps, nulls, unicode, order per key", async () => {
  const { client, input, output, config } = await setup(4);
  const te = new TextEncoder();
  // Keys and values through the ASCII fast paths and around them: unicode, surrogate pairs,
  // a replacement character (what a lone surrogate becomes), long and empty strings.
  const texts = ["k1", "clé", "€uro", "a😀b", "\ufffd", "", "x".repeat(300), "漢字かな", "plain"];
  const inputs = Array.from({ length: 240 }, (_, i) => ({
    key: i % 17 === 0 ? null : `${texts[i % texts.length]}-${i % 23}`,
    value: i % 13 === 0 ? null : `${texts[(i * 7) % texts.length]}#${i}`,
    headers: i % 3 === 0 ? [] : [{ key: `h${i % 2 === 0 ? "é" : ""}`, value: te.encode(`v${i}`) }, {
      key: "none",
      value: null,
    }],
    timestamp: 1_700_000_000_000 + i * 1000,
  }));
  const producer = new Producer(client);
  await producer.send({
    topic: input,
    messages: inputs.map((m) => ({
      key: m.key === null ? null : te.encode(m.key),
      value: m.value === null ? null : te.encode(m.value),
      headers: m.headers,
      timestamp: m.timestamp,
    })),
  });
  await producer.close();
  const builder = new StreamsBuilder();
  builder.stream<string, string>(input)
    .mapValues((v) => v === null ? null : `${v.toUpperCase()}✓`)
    .filter((k) => k === null || !k.endsWith("-7"))
    .to(output);
  const streams = new KafkaStreams(builder.build(), config());
  try {
    await streams.start();
    await eventually("every record", () => streams.metrics().processed === inputs.length);
    await streams.close();
    const expected = inputs.filter((m) => m.key === null || !m.key.endsWith("-7"));
    const consumer = new Consumer(client, { fromBeginning: true, maxWaitMs: 100 });
    await consumer.assign([0, 1, 2, 3].map((partition) => ({ topic: output, partition })));
    const got: ConsumerRecord[] = [];
    const deadline = Date.now() + 30_000;
    while (got.length < expected.length && Date.now() < deadline) {
      got.push(...await consumer.poll());
    }
    await consumer.close();
    assertEquals(got.length, expected.length);
    // Each record once, exactly; keyed ones in the key's partition.
    const byTimestamp = new Map(got.map((r) => [r.timestamp, r]));
    for (const m of expected) {
      const r = byTimestamp.get(m.timestamp)!;
      assert(r !== undefined, `record at ${m.timestamp}`);
      assertEquals(r.key, m.key === null ? null : te.encode(m.key));
      assertEquals(r.value, m.value === null ? null : te.encode(`${m.value.toUpperCase()}✓`));
      assertEquals(r.headers, m.headers);
      if (m.key !== null) assertEquals(r.partition, partitionForKey(te.encode(m.key), 4));
    }
    // A key's records come from one input partition: they are written in their input order.
    const td = new TextDecoder();
    const byKey = Map.groupBy(got.filter((r) => r.key !== null), (r) => td.decode(r.key!));
    for (const [key, records] of byKey) {
      const offsets = records.map((r) => r.offset);
      assertEquals(
        records.map((r) => r.timestamp),
        [...records.map((r) => r.timestamp)].sort((a, b) => a - b),
        key,
      );
      assertEquals(offsets, [...offsets].sort((a, b) => a - b), key);
    }
  } finally {
    await streams.close();
    await client.close();
  }
});
