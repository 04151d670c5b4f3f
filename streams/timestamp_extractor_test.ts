// Copyright 2026 the Sluice authors. Apache-2.0 license.
// Timestamp extractors under the test driver: Kafka's built-ins on negative timestamps (fail,
// skip, partition time), the wall clock, and a user function whose time drives stream time,
// windows, stream-time punctuation, the order of a task of several topics and the timestamps
// of what is written.
import assert, { deepStrictEqual as assertEquals } from "node:assert/strict";
import {
  type ConsumedRecord,
  type ProcessorContext,
  PunctuationType,
  Serdes,
  StreamsBuilder,
  type TimestampExtractor,
  TimestampExtractors,
  TimeWindows,
  TopologyTestDriver,
} from "./mod.ts";

const S = Serdes.String();
const L = Serdes.Int64();

/** `in` copied to `out`; the output as `key:value@timestamp`. */
function copy(config: Record<string, unknown>) {
  const b = new StreamsBuilder();
  b.stream<string, string>("in").to("out");
  const warnings: string[] = [];
  const d = new TopologyTestDriver(b.build(), {
    defaultKeySerde: S,
    defaultValueSerde: S,
    onWarning: (m) => warnings.push(m),
    ...config,
  });
  const input = d.createInputTopic("in", S, S);
  const out = d.createOutputTopic("out", S, S);
  const read = () => out.readRecordsToList().map((r) => `${r.key}:${r.value}@${r.timestamp}`);
  return { d, input, read, warnings };
}

Deno.test("default extractor (FailOnInvalidTimestamp): a negative timestamp fails the task with Kafka's message; records before it were processed", () => {
  for (
    const config of [{}, { defaultTimestampExtractor: TimestampExtractors.FailOnInvalidTimestamp }]
  ) {
    const { d, input, read } = copy(config);
    input.pipeInput("a", "x", 5);
    assert.throws(
      () => input.pipeInput("b", "y", -1),
      /input record in-0@1 has invalid \(negative\) timestamp -1: .*use a different TimestampExtractor/,
    );
    assertEquals(read(), ["a:x@5"]);
    assertEquals(d.droppedRecords, 0);
  }
});

Deno.test("LogAndSkipOnInvalidTimestamp: a negative timestamp is skipped with a warning and counted as dropped", () => {
  const { d, input, read, warnings } = copy({
    defaultTimestampExtractor: TimestampExtractors.LogAndSkipOnInvalidTimestamp,
  });
  input.pipeInput("a", "x", 5);
  input.pipeInput("b", "y", -1);
  input.pipeInput("c", "z", 7);
  assertEquals(read(), ["a:x@5", "c:z@7"]);
  assertEquals(d.droppedRecords, 1);
  assertEquals(warnings, [
    "task 0_0: skipping record due to negative extracted timestamp: in-0@1, extracted timestamp -1",
  ]);
});

Deno.test("UsePartitionTimeOnInvalidTimestamp: a negative timestamp takes the partition time (the largest so far); with none yet it fails", () => {
  const { d, input, read } = copy({
    defaultTimestampExtractor: TimestampExtractors.UsePartitionTimeOnInvalidTimestamp,
  });
  assert.throws(
    () => input.pipeInput("a", "x", -1),
    /could not infer a timestamp for input record in-0@0 \(timestamp -1\): the partition time is not known yet/,
  );
  input.pipeInput("b", "y", 50);
  input.pipeInput("c", "z", 30);
  input.pipeInput("d", "w", -1);
  assertEquals(read(), ["b:y@50", "c:z@30", "d:w@50"]);
  assertEquals(d.droppedRecords, 0);
});

Deno.test("WallclockTimestampExtractor: records take the processing time (Date.now())", () => {
  const { input, read } = copy({
    defaultTimestampExtractor: TimestampExtractors.WallclockTimestampExtractor,
  });
  const before = Date.now();
  input.pipeInput("a", "x", -1);
  input.pipeInput("b", "y", 3);
  const after = Date.now();
  const times = read().map((l) => Number(l.slice(l.indexOf("@") + 1)));
  assertEquals(times.length, 2);
  for (const t of times) assert(t >= before && t <= after, `${t} not in [${before}, ${after}]`);
});

/** The event time in the value: `name@time`. */
const fromValue: TimestampExtractor = (record) => Number(String(record.value).split("@")[1]);

Deno.test("a user extractor drives windows, their closing, stream-time punctuation and output timestamps; it gets the deserialized record and the partition time", () => {
  const seen: string[] = [];
  const extractor: TimestampExtractor = (record, partitionTime) => {
    seen.push(
      `${record.key}/${record.value}/${record.timestamp}/${record.offset}/${partitionTime}`,
    );
    return fromValue(record, partitionTime);
  };
  const b = new StreamsBuilder();
  const events = b.stream<string, string>("in", { timestampExtractor: extractor });
  events.groupByKey()
    .windowedBy(TimeWindows.ofSizeWithNoGrace(1000))
    .count({ storeName: "wc" })
    .toStream()
    .map((wk, n) => [`${wk.key}@${wk.window.start}`, n])
    .to("counts", { valueSerde: L });
  events.process<string, string>(() => {
    let ctx: ProcessorContext<string, string>;
    return {
      init(c) {
        ctx = c;
        c.schedule(1000, PunctuationType.STREAM_TIME, (t) => {
          ctx.forward({ key: "tick", value: String(ctx.currentStreamTimeMs()), timestamp: t });
        });
      },
      process(record) {
        ctx.forward({ ...record, value: `${record.value}#${record.timestamp}` });
      },
    };
  }).to("out");
  const d = new TopologyTestDriver(b.build(), { defaultKeySerde: S, defaultValueSerde: S });
  const input = d.createInputTopic("in", S, S);
  // The record timestamps (1, 2, 3...) are ignored: the times in the values count.
  input.pipeInput("k", "e@500", 1);
  input.pipeInput("k", "e@1500", 2);
  input.pipeInput("k", "e@900", 3); // window [0,1000) ends at or before 1500: closed, dropped
  input.pipeInput("k", "e@2200", 4);
  assertEquals(seen, [
    "k/e@500/1/0/-1",
    "k/e@1500/2/1/500",
    "k/e@900/3/2/1500",
    "k/e@2200/4/3/1500",
  ]);
  assertEquals(
    d.createOutputTopic("counts", S, L).readRecordsToList().map((r) =>
      `${r.key}=${r.value}@${r.timestamp}`
    ),
    ["k@0=1@500", "k@1000=1@1500", "k@2000=1@2200"],
  );
  assertEquals(d.droppedRecords, 1);
  assertEquals(
    d.createOutputTopic("out", S, S).readRecordsToList().map((r) =>
      `${r.key}:${r.value}@${r.timestamp}`
    ),
    [
      "k:e@500#500@500",
      "tick:500@500",
      "k:e@1500#1500@1500",
      "tick:1500@1500",
      "k:e@900#900@900",
      "k:e@2200#2200@2200",
      "tick:2200@2200",
    ],
  );
});

Deno.test("Consumed's timestampExtractor wins over the application's default, per source; a table source's extractor sees the deserialized key and value", () => {
  const b = new StreamsBuilder();
  const tableSeen: ConsumedRecord[] = [];
  b.stream<string, string>("a", { timestampExtractor: fromValue }).to("out");
  b.stream<string, string>("b").to("out");
  b.table<string, number>("t", {
    valueSerde: L,
    timestampExtractor: (r) => {
      tableSeen.push(r);
      return (r.value as number) * 10;
    },
  }).toStream().mapValues((n) => String(n)).to("out");
  const d = new TopologyTestDriver(b.build(), {
    defaultKeySerde: S,
    defaultValueSerde: S,
    defaultTimestampExtractor: () => 77,
  });
  d.createInputTopic("a", S, S).pipeInput("x", "v@123", 1);
  d.createInputTopic("b", S, S).pipeInput("y", "w@456", 2);
  d.createInputTopic("t", S, L).pipeInput("z", 4, 3);
  assertEquals(
    d.createOutputTopic("out", S, S).readRecordsToList().map((r) =>
      `${r.key}:${r.value}@${r.timestamp}`
    ),
    ["x:v@123@123", "y:w@456@77", "z:4@40"],
  );
  assertEquals(tableSeen.map((r) => [r.topic, r.key, r.value, r.timestamp]), [["t", "z", 4, 3]]);
});

Deno.test("a task of several topics processes by extracted time (timestamp synchronisation), not by the records' own timestamps", () => {
  const b = new StreamsBuilder();
  b.stream<string, string>("a").merge(b.stream<string, string>("b")).to("out");
  const d = new TopologyTestDriver(b.build(), {
    defaultKeySerde: S,
    defaultValueSerde: S,
    defaultTimestampExtractor: fromValue,
  });
  const a = d.createInputTopic("a", S, S);
  const bIn = d.createInputTopic("b", S, S);
  // Own timestamps say a1, a2, b1; the values say a@100, b@200, a@300.
  a.produce("a1", "a@100", 1);
  a.produce("a2", "a@300", 2);
  bIn.produce("b1", "b@200", 50);
  d.poll();
  assertEquals(
    d.createOutputTopic("out", S, S).readRecordsToList().map((r) => `${r.key}@${r.timestamp}`),
    ["a1@100", "b1@200", "a2@300"],
  );
});

Deno.test("several topics: records with a negative extracted time and undeserializable ones are skipped in their turn", () => {
  const b = new StreamsBuilder();
  b.stream<string, number>("a", { valueSerde: L }).mapValues((n) => String(n))
    .merge(b.stream<string, string>("b")).to("out");
  const warnings: string[] = [];
  const d = new TopologyTestDriver(b.build(), {
    defaultKeySerde: S,
    defaultValueSerde: S,
    defaultTimestampExtractor: (r) => r.key === "neg" ? -5 : r.timestamp,
    deserializationExceptionHandler: "logAndContinue",
    onWarning: (m) => warnings.push(m),
  });
  const a = d.createInputTopic("a", S, L);
  const bIn = d.createInputTopic("b", S, S);
  a.produce("x", 1, 10);
  a.produce("neg", 2, 20);
  bIn.produce("y", "v", 15);
  d.poll();
  d.createInputTopic("a", S, S).pipeInput("bad", "not eight bytes", 30);
  bIn.pipeInput("z", "w", 40);
  assertEquals(
    d.createOutputTopic("out", S, S).readRecordsToList().map((r) => `${r.key}@${r.timestamp}`),
    ["x@10", "y@15", "z@40"],
  );
  assertEquals(d.droppedRecords, 2);
  assertEquals(d.deserializationErrors, 1);
  assertEquals(
    warnings[0],
    "task 0_0: skipping record due to negative extracted timestamp: a-0@1, extracted timestamp -5",
  );
});

Deno.test("an extractor returning a non-integer, or a non-function extractor, is a clear error", () => {
  const { input } = copy({ defaultTimestampExtractor: () => 1.5 });
  assert.throws(
    () => input.pipeInput("a", "x", 5),
    /source KSTREAM-SOURCE-0000000000: the timestamp extractor returned 1.5 for in-0@0 \(an integer number of ms\)/,
  );
  assert.throws(
    () => copy({ defaultTimestampExtractor: 5 }),
    /test driver: defaultTimestampExtractor: a timestamp extractor is a function/,
  );
  assert.throws(
    // deno-lint-ignore no-explicit-any
    () => new StreamsBuilder().stream("in", { timestampExtractor: "x" as any }),
    /stream in: a timestamp extractor is a function/,
  );
});

Deno.test("repartition topics are read with FailOnInvalidTimestamp whatever the default (their records carry the time extracted upstream), as Kafka's", () => {
  const b = new StreamsBuilder();
  b.stream<string, string>("in")
    .selectKey((_k, v) => v)
    .groupByKey()
    .count({ storeName: "by-value" })
    .toStream()
    .to("out", { valueSerde: L });
  const d = new TopologyTestDriver(b.build(), {
    defaultKeySerde: S,
    defaultValueSerde: S,
    defaultTimestampExtractor: (r) => r.timestamp + 1000,
  });
  assert(b.build().describe().includes("(topic: by-value-repartition)"));
  const input = d.createInputTopic("in", S, S);
  input.pipeInput("a", "x", 1);
  input.pipeInput("b", "x", 2);
  assertEquals(
    d.createOutputTopic("out", S, L).readRecordsToList().map((r) =>
      `${r.key}=${r.value}@${r.timestamp}`
    ),
    ["x=1@1001", "x=2@1002"],
  );
});
