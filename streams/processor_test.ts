// Copyright 2026 the Sluice authors. Apache-2.0 license.
// The Processor API, punctuation and the deserialization exception handler, through the
// TopologyTestDriver (exact semantics, no broker).
import { deepStrictEqual as assertEquals, throws } from "node:assert/strict";
import {
  type Cancellable,
  DeserializationFailedError,
  type ProcessorContext,
  type ProcessorRecord,
  PunctuationType,
  type RecordMetadata,
  Serdes,
  Stores,
  StreamsBuilder,
  TopologyTestDriver,
} from "./mod.ts";

const S = Serdes.String();
const L = Serdes.Int64();
const B = Serdes.Bytes();
const defaults = { defaultKeySerde: S, defaultValueSerde: S };

/**
 * Counts records per key in the store `counts`; a stream-time punctuator every `intervalMs`
 * forwards every key's count with the punctuation time as timestamp.
 */
function countingTopology(intervalMs: number, log: number[] = []) {
  const b = new StreamsBuilder();
  b.addStateStore(Stores.keyValueStoreBuilder(Stores.inMemoryKeyValueStore("counts"), S, L));
  b.stream<string, string>("in")
    .process<string, number>(() => {
      let ctx: ProcessorContext<string, number>;
      return {
        init(context) {
          ctx = context;
          context.schedule(intervalMs, PunctuationType.STREAM_TIME, (time) => {
            log.push(time);
            for (const [key, value] of ctx.getStateStore<string, number>("counts").all()) {
              ctx.forward({ key, value, timestamp: time });
            }
          });
        },
        process(record) {
          const store = ctx.getStateStore<string, number>("counts");
          store.put(record.key, (store.get(record.key) ?? 0) + 1);
        },
      };
    }, "counts")
    .to("out", { valueSerde: L });
  return b.build();
}

Deno.test("process: a per-key count forwarded on stream-time punctuation, once per advance", () => {
  const fired: number[] = [];
  const d = new TopologyTestDriver(countingTopology(1000, fired), defaults);
  const input = d.createInputTopic("in", S, S);
  const out = d.createOutputTopic("out", S, L);
  const pipe = (k: string, t: number) => input.pipeInput(k, "x", t);
  // Aligned to 0: the first record fires it (stream time 0 >= 0), next at 1000.
  pipe("a", 0);
  assertEquals(out.readRecordsToList(), [{ key: "a", value: 1, timestamp: 0 }]);
  pipe("b", 500);
  pipe("a", 999);
  assertEquals(out.readRecordsToList(), []);
  pipe("a", 1000);
  assertEquals(out.readRecordsToList(), [
    { key: "a", value: 3, timestamp: 1000 },
    { key: "b", value: 1, timestamp: 1000 },
  ]);
  // A jump over 2000, 3000 and 4000 fires once, at the stream time; the next is 5000.
  pipe("b", 4500);
  assertEquals(out.readRecordsToList(), [
    { key: "a", value: 3, timestamp: 4500 },
    { key: "b", value: 2, timestamp: 4500 },
  ]);
  pipe("a", 4999);
  pipe("a", 3000); // late: stream time stays 4999
  assertEquals(out.readRecordsToList(), []);
  pipe("b", 5000);
  assertEquals(out.readRecordsToList(), [
    { key: "a", value: 5, timestamp: 5000 },
    { key: "b", value: 3, timestamp: 5000 },
  ]);
  assertEquals(fired, [0, 1000, 4500, 5000]);
  assertEquals(d.punctuations, 4);
  assertEquals(d.getKeyValueStore<string, number>("counts").all(), [["a", 5], ["b", 3]]);
  d.close();
});

Deno.test("process: the store is changelogged and restored; init runs after the restore", async () => {
  const fired: number[] = [];
  const first = await TopologyTestDriver.create(countingTopology(1000, fired), defaults);
  const input = first.createInputTopic("in", S, S);
  input.pipeInput("a", "x", 0);
  input.pipeInput("a", "x", 10);
  input.pipeInput("b", "x", 20);
  await first.commit();
  const changelogs = first.changelogs();
  assertEquals([...changelogs.keys()], ["test-driver-counts-changelog"]);
  assertEquals(changelogs.get("test-driver-counts-changelog")!.length, 2);
  first.close();
  // The second instance's processor reads its store in init: the restored counts.
  const seenInInit: Array<[string, number]>[] = [];
  const b = new StreamsBuilder();
  b.addStateStore(Stores.keyValueStoreBuilder(Stores.inMemoryKeyValueStore("counts"), S, L));
  b.stream<string, string>("in").process<string, number>(() => {
    let ctx: ProcessorContext<string, number>;
    return {
      init(context) {
        ctx = context;
        seenInInit.push(context.getStateStore<string, number>("counts").all());
      },
      process(record) {
        const store = ctx.getStateStore<string, number>("counts");
        const n = (store.get(record.key) ?? 0) + 1;
        store.put(record.key, n);
        ctx.forward({ key: record.key, value: n, timestamp: record.timestamp });
      },
    };
  }, "counts").to("out", { valueSerde: L });
  const second = await TopologyTestDriver.create(b.build(), { ...defaults, changelogs });
  assertEquals(seenInInit, [[["a", 2], ["b", 1]]]);
  second.createInputTopic("in", S, S).pipeInput("a", "x", 30);
  assertEquals(second.createOutputTopic("out", S, L).readKeyValuesToList(), [["a", 3]]);
  second.close();
});

Deno.test("process: wall-clock punctuation fires from the driver's mock clock, with no input", () => {
  const fired: number[] = [];
  const b = new StreamsBuilder();
  b.stream<string, string>("in")
    .process<string, string>(() => ({
      init(ctx) {
        ctx.schedule(100, PunctuationType.WALL_CLOCK_TIME, (now) => {
          fired.push(now);
          ctx.forward({
            key: `k${fired.length % 2}`,
            value: `tick@${ctx.currentSystemTimeMs()}`,
            timestamp: 7,
          });
        });
      },
      process() {},
    }))
    .to("ticks");
  const d = new TopologyTestDriver(b.build(), { ...defaults, initialWallClockTimeMs: 10_000 });
  const ticks = d.createOutputTopic("ticks", S, S);
  d.advanceWallClockTime(99);
  assertEquals(fired, []);
  d.advanceWallClockTime(1);
  assertEquals(fired, [10_100]);
  // 350 ms later: once (not three times), the next on the grid after now.
  d.advanceWallClockTime(350);
  assertEquals(fired, [10_100, 10_450]);
  d.advanceWallClockTime(49);
  assertEquals(fired, [10_100, 10_450]);
  d.advanceWallClockTime(1);
  assertEquals(fired, [10_100, 10_450, 10_500]);
  assertEquals(ticks.readRecordsToList(), [
    { key: "k1", value: "tick@10100", timestamp: 7 },
    { key: "k0", value: "tick@10450", timestamp: 7 },
    { key: "k1", value: "tick@10500", timestamp: 7 },
  ]);
  // Records do not move the wall clock.
  d.createInputTopic("in", S, S).pipeInput("x", "y", 1_000_000);
  assertEquals(fired.length, 3);
  assertEquals(d.wallClockTimeMs, 10_500);
  throws(() => d.advanceWallClockTime(-1), /a whole number >= 0/);
  d.close();
});

Deno.test("process: punctuators forwarded through a repartition and an aggregation", () => {
  const b = new StreamsBuilder();
  b.stream<string, string>("in")
    .process<string, string>(() => ({
      init(ctx) {
        ctx.schedule(10, PunctuationType.WALL_CLOCK_TIME, (now) => {
          ctx.forward({ key: `w${(now / 10) % 2}`, value: "tick", timestamp: now });
        });
      },
      process() {},
    }))
    .groupByKey({ name: "ticks" })
    .count({ storeName: "tick-counts" })
    .toStream()
    .to("counts", { valueSerde: L });
  const topology = b.build();
  // The processor's key may have changed: grouping repartitions.
  assertEquals(topology.describe().includes("ticks-repartition"), true);
  assertEquals(topology.describe().includes("KSTREAM-PROCESSOR-0000000001"), true);
  const d = new TopologyTestDriver(topology, { ...defaults, initialWallClockTimeMs: 0 });
  for (let i = 0; i < 5; i++) d.advanceWallClockTime(10);
  assertEquals(d.createOutputTopic("counts", S, L).readKeyValuesToList(), [
    ["w1", 1],
    ["w0", 1],
    ["w1", 2],
    ["w0", 2],
    ["w1", 3],
  ]);
  d.close();
});

Deno.test("process: cancel stops a punctuator, from its own callback, from process, or later", () => {
  const log: string[] = [];
  const b = new StreamsBuilder();
  b.stream<string, string>("in").process(() => {
    let other: Cancellable;
    let wall: Cancellable;
    return {
      init(ctx) {
        let n = 0;
        const self = ctx.schedule(100, PunctuationType.STREAM_TIME, (t) => {
          log.push(`self@${t}`);
          if (++n === 2) self.cancel();
        });
        other = ctx.schedule(50, PunctuationType.STREAM_TIME, (t) => log.push(`other@${t}`));
        wall = ctx.schedule(10, PunctuationType.WALL_CLOCK_TIME, (t) => log.push(`wall@${t}`));
      },
      process(record) {
        if (record.value === "stop") {
          other.cancel();
          other.cancel(); // twice is harmless
        }
        if (record.value === "stop-wall") wall.cancel();
      },
    };
  });
  const d = new TopologyTestDriver(b.build(), { ...defaults, initialWallClockTimeMs: 0 });
  const input = d.createInputTopic("in", S, S);
  input.pipeInput("k", "x", 0);
  input.pipeInput("k", "x", 100);
  input.pipeInput("k", "x", 200); // self was cancelled at its second firing
  input.pipeInput("k", "stop", 250); // other was due at 250: cancelled in process first
  input.pipeInput("k", "x", 400);
  d.advanceWallClockTime(10);
  input.pipeInput("k", "stop-wall", 401);
  d.advanceWallClockTime(100);
  assertEquals(log, [
    "self@0",
    "other@0",
    "other@100", // due at 50, before self (due at 100)
    "self@100",
    "other@200", // due at 150
    "wall@10",
  ]);
  d.close();
});

Deno.test("process: record metadata, stream time and store errors", () => {
  const seen: Array<RecordMetadata | undefined> = [];
  const times: number[] = [];
  const b = new StreamsBuilder();
  b.addStateStore(Stores.keyValueStoreBuilder(Stores.inMemoryKeyValueStore("a"), S, S));
  b.addStateStore(Stores.keyValueStoreBuilder(Stores.inMemoryKeyValueStore("other"), S, S));
  const counts = Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore("from-supplier"), S, L);
  b.stream<string, string>("in").process<string, string>({
    get: () => {
      let ctx: ProcessorContext<string, string>;
      return {
        init(context) {
          ctx = context;
          seen.push(context.recordMetadata());
          assertEquals(context.taskId, "0_0");
          assertEquals(context.applicationId, "test-driver");
          context.schedule(1000, PunctuationType.STREAM_TIME, () => {
            seen.push(ctx.recordMetadata());
          });
        },
        process(record: ProcessorRecord<string, string>) {
          seen.push(ctx.recordMetadata());
          times.push(ctx.currentStreamTimeMs());
          const store = ctx.getStateStore<string, number>("from-supplier");
          assertEquals(store.putIfAbsent(record.key, 1), record.value === "first" ? undefined : 1);
          if (record.value === "delete") assertEquals(store.delete(record.key), 1);
          throws(() => ctx.getStateStore("other"), /store other is not connected to it/);
          throws(() => store.put(null as unknown as string, 1), /a key must not be null/);
          throws(
            () => ctx.forward({ key: "k", value: "v", timestamp: -1 }),
            /forward: invalid timestamp -1/,
          );
          throws(() => ctx.schedule(0, PunctuationType.STREAM_TIME, () => {}), /interval 0 ms/);
        },
      };
    },
    stores: () => [counts],
  }, "a");
  // The same builder again is a no-op; another store of that name is refused.
  b.addStateStore(counts);
  throws(
    () => b.addStateStore(Stores.keyValueStoreBuilder(Stores.inMemoryKeyValueStore("a"))),
    /a store named a already exists/,
  );
  throws(
    () => b.stream<string, string>("x").process(() => ({ process() {} }), "nope"),
    /no store named nope/,
  );
  throws(() => Stores.inMemoryKeyValueStore("bad name"), /invalid store name/);
  const topology = b.build();
  assertEquals(topology.describe().includes("(stores: [a, from-supplier])"), true);
  const d = new TopologyTestDriver(topology, defaults);
  const input = d.createInputTopic("in", S, S);
  input.pipeInput("k", "first", 5);
  input.pipeInput("k", "again", 3);
  input.pipeInput("k", "delete", 9);
  assertEquals(seen, [
    undefined, // init
    { topic: "in", partition: 0, offset: 0 },
    undefined, // the punctuator (at stream time 5)
    { topic: "in", partition: 0, offset: 1 },
    { topic: "in", partition: 0, offset: 2 },
  ]);
  assertEquals(times, [5, 5, 9]);
  assertEquals(d.getKeyValueStore("from-supplier").all(), []);
  d.close();
});

Deno.test("deserialization handler: logAndContinue skips exactly the bad record; it moves no time", () => {
  const warnings: string[] = [];
  const times: number[] = [];
  const b = new StreamsBuilder();
  b.stream<string, number>("in", { valueSerde: L })
    .process<string, number>(() => {
      let ctx: ProcessorContext<string, number>;
      return {
        init: (c) => ctx = c,
        process(record) {
          times.push(ctx.currentStreamTimeMs());
          ctx.forward(record);
        },
      };
    })
    .to("out", { valueSerde: L });
  b.table<string, number>("table", { valueSerde: L, storeName: "t" });
  const d = new TopologyTestDriver(b.build(), {
    ...defaults,
    deserializationExceptionHandler: "logAndContinue",
    onWarning: (m) => warnings.push(m),
  });
  const input = d.createInputTopic("in", S, B);
  const long = (n: number) => L.serialize(n)!;
  input.pipeInput("a", long(1), 10);
  input.pipeInput("bad", new Uint8Array([1, 2, 3]), 1_000_000);
  input.pipeInput("c", long(3), 20);
  assertEquals(d.createOutputTopic("out", S, L).readRecordsToList(), [
    { key: "a", value: 1, timestamp: 10 },
    { key: "c", value: 3, timestamp: 20 },
  ]);
  // The skipped record's huge timestamp did not become stream time.
  assertEquals(times, [10, 20]);
  assertEquals(d.deserializationErrors, 1);
  assertEquals(d.droppedRecords, 1);
  assertEquals(warnings, [
    "streams: task 0_0: record in-0 offset 1 does not deserialize, skipped: " +
    "deserialize int64: expected 8 bytes, got 3",
  ]);
  // A table's bad record is skipped too (not stored).
  const table = d.createInputTopic("table", S, B);
  table.pipeInput("x", new Uint8Array([9]), 0);
  table.pipeInput("y", long(2), 0);
  assertEquals(d.getKeyValueStore<string, number>("t").all(), [["y", 2]]);
  assertEquals(d.deserializationErrors, 2);
  d.close();
});

Deno.test("deserialization handler: logAndFail (default) throws; a function decides per record", () => {
  const topology = () => {
    const b = new StreamsBuilder();
    b.stream<string, number>("in", { valueSerde: L }).to("out", { valueSerde: L });
    return b.build();
  };
  const bad = new Uint8Array([1]);
  const d = new TopologyTestDriver(topology(), defaults);
  throws(
    () => d.createInputTopic("in", S, B).pipeInput("k", bad, 0),
    (e: unknown) =>
      e instanceof DeserializationFailedError &&
      e.message ===
        "streams: task 0_0: record in-0 offset 0 does not deserialize " +
          "(deserializationExceptionHandler: logAndFail): deserialize int64: expected 8 bytes, got 1",
  );
  d.close();
  const calls: string[] = [];
  const custom = new TopologyTestDriver(topology(), {
    ...defaults,
    onWarning: () => {},
    deserializationExceptionHandler: (ctx, record, error) => {
      calls.push(
        `${ctx.taskId} ${ctx.sourceNodeName} ${ctx.topic}@${ctx.offset} ${ctx.timestamp} ` +
          `${record.value?.length} ${(error as Error).name}`,
      );
      return record.key !== null && S.deserialize(record.key) === "skip" ? "CONTINUE" : "FAIL";
    },
  });
  const input = custom.createInputTopic("in", S, B);
  input.pipeInput("skip", bad, 4);
  throws(() => input.pipeInput("fail", bad, 5), /deserializationExceptionHandler: FAIL/);
  assertEquals(calls, [
    "0_0 KSTREAM-SOURCE-0000000000 in@0 4 1 SerdeError",
    "0_0 KSTREAM-SOURCE-0000000000 in@1 5 1 SerdeError",
  ]);
  custom.close();
  throws(
    () =>
      new TopologyTestDriver(topology(), {
        ...defaults,
        deserializationExceptionHandler: "skip" as "logAndFail",
      }),
    /invalid deserializationExceptionHandler skip/,
  );
});

Deno.test("process: a processor connected by name to a DSL aggregation's store reads it (one sub-topology)", () => {
  const b = new StreamsBuilder();
  b.stream<string, string>("clicks").groupByKey().count({ storeName: "click-counts" });
  b.stream<string, string>("lookups")
    .process<string, number>(() => {
      let ctx: ProcessorContext<string, number>;
      return {
        init: (c) => ctx = c,
        process(record) {
          const counts = ctx.getStateStore<string, number>("click-counts");
          ctx.forward({ ...record, value: counts.get(record.key) ?? 0 });
        },
      };
    }, "click-counts")
    .to("answers", { valueSerde: L });
  const topology = b.build();
  // Sharing the store joins the two sources in one sub-topology (their tasks co-partitioned).
  assertEquals(topology.describe().includes("Sub-topology: 1"), false);
  const d = new TopologyTestDriver(topology, defaults);
  const clicks = d.createInputTopic("clicks", S, S);
  const lookups = d.createInputTopic("lookups", S, S);
  clicks.pipeInput("home", "x", 1);
  clicks.pipeInput("home", "x", 2);
  lookups.pipeInput("home", "?", 3);
  lookups.pipeInput("cart", "?", 4);
  assertEquals(d.createOutputTopic("answers", S, L).readRecordsToList(), [
    { key: "home", value: 2, timestamp: 3 },
    { key: "cart", value: 0, timestamp: 4 },
  ]);
  d.close();
});
