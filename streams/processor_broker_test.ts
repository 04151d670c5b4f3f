// Copyright 2026 the Sluice authors. Apache-2.0 license.
// The Processor API, punctuation and the deserialization exception handler on a real broker
// (127.0.0.1:0): exactly-once with a restart, wall-clock punctuation with no input, requested
// commits, skipped records.
import assert, { deepStrictEqual as assertEquals } from "node:assert/strict";
import { Admin, Client, partitionForKey, Producer } from "../client/mod.ts";
import { sharedBroker, uniqueTopic } from "../tests/harness.ts";
import {
  DeserializationFailedError,
  KafkaStreams,
  type ProcessorContext,
  PunctuationType,
  Serdes,
  Stores,
  StreamsBuilder,
  type StreamsConfig,
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
  messages: Array<{ key: string; value: Uint8Array; timestamp: number }>,
): Promise<void> {
  const producer = new Producer(client);
  try {
    for (let i = 0; i < messages.length; i += 500) {
      await producer.send({
        topic,
        messages: messages.slice(i, i + 500).map((m) => ({ ...m, key: te.encode(m.key) })),
      });
    }
  } finally {
    await producer.close();
  }
}

/**
 * Counts per key (store `counts`); every 1000 ms of stream time forwards each key whose count
 * changed since it was last forwarded (store `emitted`), as `count@time`, through a
 * repartition topic to the output.
 */
function punctuatedCounts(input: string, output: string, failAfter = Infinity) {
  let seen = 0;
  const b = new StreamsBuilder();
  b.addStateStore(Stores.keyValueStoreBuilder(Stores.inMemoryKeyValueStore("counts"), S, L));
  b.addStateStore(Stores.keyValueStoreBuilder(Stores.inMemoryKeyValueStore("emitted"), S, L));
  b.stream<string, string>(input)
    .process<string, string>(
      () => {
        let ctx: ProcessorContext<string, string>;
        return {
          init(context) {
            ctx = context;
            const counts = context.getStateStore<string, number>("counts");
            const emitted = context.getStateStore<string, number>("emitted");
            context.schedule(1000, PunctuationType.STREAM_TIME, (time) => {
              for (const [key, n] of counts.all()) {
                if (emitted.get(key) === n) continue;
                ctx.forward({ key, value: `${n}@${time}`, timestamp: time });
                emitted.put(key, n);
              }
            });
          },
          process(record) {
            if (++seen > failAfter) throw new Error("a crash in the middle of a transaction");
            const counts = ctx.getStateStore<string, number>("counts");
            counts.put(record.key, (counts.get(record.key) ?? 0) + 1);
          },
        };
      },
      "counts",
      "emitted",
    )
    .repartition({ name: "punctuated" })
    .to(output);
  return b.build();
}

/**
 * The model of {@linkcode punctuatedCounts} for one partition's records in offset order, the
 * instance restarting before each record of `restartAt` (its punctuator scheduled again at 0,
 * the stream time and stores as committed): output per key.
 */
function punctuatedModel(
  records: Array<{ key: string; timestamp: number }>,
  restartAt: number[],
): Map<string, string[]> {
  const counts = new Map<string, number>();
  const emitted = new Map<string, number>();
  const out = new Map<string, string[]>();
  let streamTime = -1;
  let next = 0;
  records.forEach((r, i) => {
    if (restartAt.includes(i)) next = 0;
    streamTime = Math.max(streamTime, r.timestamp);
    counts.set(r.key, (counts.get(r.key) ?? 0) + 1);
    if (next > streamTime) return;
    for (const [key, n] of [...counts].sort((a, b) => a[0] < b[0] ? -1 : 1)) {
      if (emitted.get(key) === n) continue;
      if (!out.has(key)) out.set(key, []);
      out.get(key)!.push(`${n}@${streamTime}`);
      emitted.set(key, n);
    }
    next = next + 1000 > streamTime
      ? next + 1000
      : next + (Math.floor((streamTime - next) / 1000) + 1) * 1000;
  });
  return out;
}

Deno.test("process: stream-time punctuation forwarding through a repartition topic under exactly_once_v2, closed, then crashed mid-transaction: stores restored, output equal to the model, no duplicates", async () => {
  const { client, input, output, applicationId, config } = await setup(2);
  const rnd = prng(71);
  let t = 10_000;
  const records = Array.from({ length: 3000 }, (_, i) => {
    // Mostly 0-40 ms apart, with jumps of several intervals (fired once each).
    t += i % 200 === 199 ? 3_500 + Math.floor(rnd() * 2000) : Math.floor(rnd() * 40);
    const late = rnd() < 0.05;
    return { key: `k${Math.floor(rnd() * 12)}`, timestamp: late ? t - 2500 : t };
  });
  const eos = config({ processingGuarantee: "exactly_once_v2" });
  let streams = new KafkaStreams(punctuatedCounts(input, output), eos);
  try {
    const messages = records.map((r) => ({ ...r, value: te.encode("x") }));
    await produce(client, input, messages.slice(0, 1400));
    await streams.start();
    const admin = new Admin(client);
    const committed = async () => {
      const c = await admin.listConsumerGroupOffsets(applicationId, [
        { topic: input, partition: 0 },
        { topic: input, partition: 1 },
      ]);
      return [0, 1].map((p) => c.find((x) => x.partition === p)?.offset ?? 0);
    };
    await eventually("the first part", async () => {
      const [a, b] = await committed();
      return a + b === 1400;
    });
    await streams.close();
    const closedAt = await committed();
    // A new instance: both stores come back from their changelogs. It crashes (a processor
    // throws) 700 records later, in the middle of a transaction: aborted, its punctuations'
    // output and changelog writes with it.
    const errors: unknown[] = [];
    streams = new KafkaStreams(
      punctuatedCounts(input, output, 700),
      { ...eos, onError: (e) => errors.push(e) },
    );
    await streams.start();
    const restored = streams.metrics().restored;
    assert(restored > 0, `restored ${restored}`);
    await produce(client, input, messages.slice(1400));
    await eventually("the crash", () => streams.state === "ERROR");
    assert.match(String(errors[0]), /a crash in the middle of a transaction/);
    const crashedAt = await committed();
    assert(crashedAt[0] + crashedAt[1] < 2100, `committed ${crashedAt} after the crash`);
    // A third instance restores again and finishes.
    streams = new KafkaStreams(punctuatedCounts(input, output), eos);
    await streams.start();
    const expected = new Map<string, string[]>();
    for (let p = 0; p < 2; p++) {
      const mine = records.filter((r) => partitionForKey(te.encode(r.key), 2) === p);
      assert(closedAt[p] > 0 && crashedAt[p] < mine.length, `restarts ${closedAt}, ${crashedAt}`);
      for (const [k, v] of punctuatedModel(mine, [closedAt[p], crashedAt[p]])) expected.set(k, v);
    }
    const total = [...expected.values()].reduce((n, v) => n + v.length, 0);
    assert(total > 100, `${total} expected outputs`);
    // Until the model's output count is reached, or (a failure shown by the comparison
    // below) the input is all committed and the output stopped growing.
    const deadline = Date.now() + 60_000;
    for (let last = -1, since = Date.now();;) {
      const n = (await readAll(client, output)).flat().length;
      if (n >= total) break;
      const [a, b] = await committed();
      if (n !== last) [last, since] = [n, Date.now()];
      else if (a + b === records.length && Date.now() - since > 3000) break;
      if (Date.now() > deadline) throw new Error("timed out waiting for the output");
      await new Promise((r) => setTimeout(r, 500));
    }
    await streams.close();
    const got = new Map<string, string[]>();
    for (const part of await readAll(client, output)) {
      for (const line of part) {
        const [key, rest] = line.split(":");
        if (!got.has(key)) got.set(key, []);
        got.get(key)!.push(rest.slice(0, rest.lastIndexOf("@")));
      }
    }
    const sortedEntries = (m: Map<string, string[]>) => [...m].sort((a, b) => a[0] < b[0] ? -1 : 1);
    assertEquals(sortedEntries(got), sortedEntries(expected));
  } finally {
    await streams.close();
    await client.close();
  }
});

Deno.test("process: wall-clock punctuation fires with no input and its output commits (exactly_once_v2); a requested commit commits at once", async () => {
  const { client, input, output, applicationId, config } = await setup(1);
  const build = () => {
    const b = new StreamsBuilder();
    b.stream<string, string>(input).process<string, string>(() => {
      let ctx: ProcessorContext<string, string>;
      let ticks = 0;
      return {
        init(context) {
          ctx = context;
          context.schedule(100, PunctuationType.WALL_CLOCK_TIME, (now) => {
            ctx.forward({ key: "tick", value: String(++ticks), timestamp: now });
          });
        },
        process(record) {
          if (record.value === "commit") ctx.commit();
          ctx.forward(record);
        },
      };
    }).to(output);
    return b.build();
  };
  const streams = new KafkaStreams(build(), config({ processingGuarantee: "exactly_once_v2" }));
  let punctuations = 0;
  try {
    await streams.start();
    // No input at all: the ticks fire, and their transactions commit.
    await eventually(
      "ticks committed",
      () => streams.metrics().punctuations >= 5 && streams.metrics().commits >= 2,
      20_000,
    );
    assertEquals(streams.metrics().processed, 0);
    await streams.close();
    punctuations = streams.metrics().punctuations;
  } finally {
    await streams.close();
  }
  const ticks = (await readAll(client, output))[0];
  // Every tick exactly once, in order.
  assertEquals(
    ticks.map((l) => l.slice(0, l.lastIndexOf("@"))),
    Array.from(
      { length: punctuations },
      (_, i) => `tick:${i + 1}`,
    ),
  );
  // At-least-once with a commit interval of an hour: only a requested commit commits.
  const second = new KafkaStreams(
    build(),
    config({ applicationId: `${applicationId}-2`, commitIntervalMs: 3_600_000 }),
  );
  const admin = new Admin(client);
  const committedOffset = async () =>
    (await admin.listConsumerGroupOffsets(`${applicationId}-2`, [{ topic: input, partition: 0 }]))
      .find((c) => c.partition === 0)?.offset ?? -1;
  try {
    await second.start();
    await produce(client, input, [
      { key: "a", value: te.encode("x"), timestamp: 1 },
      { key: "b", value: te.encode("y"), timestamp: 2 },
    ]);
    await eventually("two processed", () => second.metrics().processed === 2);
    await new Promise((r) => setTimeout(r, 300));
    assertEquals(await committedOffset(), -1);
    await produce(client, input, [{ key: "c", value: te.encode("commit"), timestamp: 3 }]);
    await eventually("committed on request", async () => (await committedOffset()) === 3, 10_000);
  } finally {
    await second.close();
    await client.close();
  }
});

Deno.test("deserialization handler on a broker: logAndContinue skips exactly the bad records and commits past them; logAndFail stops before them", async () => {
  const { client, input, output, applicationId, config } = await setup(1);
  const build = () => {
    const b = new StreamsBuilder();
    b.stream<string, number>(input, { valueSerde: L })
      .mapValues((n) => String(n))
      .to(output, { valueSerde: S });
    return b.build();
  };
  const messages = Array.from({ length: 100 }, (_, i) => ({
    key: `k${i}`,
    value: i === 37 || i === 99 ? new Uint8Array([1, 2, 3]) : L.serialize(i)!,
    timestamp: 1000 + i,
  }));
  await produce(client, input, messages);
  const warnings: string[] = [];
  const streams = new KafkaStreams(
    build(),
    config({
      deserializationExceptionHandler: "logAndContinue",
      onWarning: (m) => warnings.push(m),
    }),
  );
  const admin = new Admin(client);
  try {
    await streams.start();
    await eventually("all processed", () => streams.metrics().processed === 100);
    assertEquals(streams.metrics().deserializationErrors, 2);
    assertEquals(streams.metrics().dropped, 2);
    await streams.close();
  } finally {
    await streams.close();
  }
  assertEquals(warnings.map((w) => w.replace(/ does not.*/, "")), [
    `streams: task 0_0: record ${input}-0 offset 37`,
    `streams: task 0_0: record ${input}-0 offset 99`,
  ]);
  const out = (await readAll(client, output))[0];
  assertEquals(
    out,
    messages.flatMap((_m, i) => i === 37 || i === 99 ? [] : [`k${i}:${i}@${1000 + i}`]),
  );
  // The last record was skipped, and committed past all the same.
  const [c] = await admin.listConsumerGroupOffsets(applicationId, [{ topic: input, partition: 0 }]);
  assertEquals(c?.offset, 100);

  // The default, logAndFail: the instance stops at the first bad record; nothing past it is
  // committed.
  const errors: unknown[] = [];
  const failing = new KafkaStreams(
    build(),
    config({ applicationId: `${applicationId}-fail`, onError: (e) => errors.push(e) }),
  );
  try {
    await failing.start().catch((e) => errors.push(e));
    await eventually("ERROR", () => failing.state === "ERROR");
  } finally {
    await failing.close();
  }
  assertEquals(errors.length, 1);
  assert(errors[0] instanceof DeserializationFailedError, String(errors[0]));
  assert.match(
    String(errors[0]),
    /offset 37 does not deserialize \(deserializationExceptionHandler: logAndFail\)/,
  );
  const [f] = await admin.listConsumerGroupOffsets(`${applicationId}-fail`, [
    { topic: input, partition: 0 },
  ]);
  assert((f?.offset ?? -1) <= 37, `committed ${f?.offset}`);
  await client.close();
});
