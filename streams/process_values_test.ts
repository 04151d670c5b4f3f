// Copyright 2026 the Sluice authors. Apache-2.0 license.
// KStream.processValues (KIP-820's FixedKeyProcessor) and the deprecated transformValues under
// the test driver: the key cannot change, the stream is not marked for repartitioning (unlike
// process), stores and punctuators work as in process.
import assert, { deepStrictEqual as assertEquals } from "node:assert/strict";
import {
  type FixedKeyProcessorContext,
  type FixedKeyRecord,
  type ProcessorContext,
  PunctuationType,
  Serdes,
  Stores,
  StreamsBuilder,
  TopologyTestDriver,
} from "./mod.ts";

const S = Serdes.String();
const L = Serdes.Int64();
const defaults = { defaultKeySerde: S, defaultValueSerde: S };

function runningTotals(b: StreamsBuilder) {
  b.addStateStore(Stores.keyValueStoreBuilder(Stores.inMemoryKeyValueStore("totals"), S, L));
  return b.stream<string, string>("in", { keySerde: S })
    .processValues<number>(() => {
      let ctx: FixedKeyProcessorContext<string, number>;
      return {
        init(c) {
          ctx = c;
          c.schedule(100, PunctuationType.STREAM_TIME, () => {});
        },
        process(record) {
          const totals = ctx.getStateStore<string, number>("totals");
          const n = (totals.get(record.key) ?? 0) + Number(record.value);
          totals.put(record.key, n);
          ctx.forward(record.withValue(n).withTimestamp(record.timestamp + 1));
        },
      };
    }, "totals");
}

Deno.test("processValues: forwards records made from the input with new values and timestamps, keeps the key, uses its store", () => {
  const b = new StreamsBuilder();
  runningTotals(b).to("out", { valueSerde: L });
  const d = new TopologyTestDriver(b.build(), defaults);
  const input = d.createInputTopic("in", S, S);
  input.pipeInput("a", "1", 10);
  input.pipeInput("b", "5", 11);
  input.pipeInput("a", "2", 12);
  assertEquals(
    d.createOutputTopic("out", S, L).readRecordsToList().map((r) =>
      `${r.key}=${r.value}@${r.timestamp}`
    ),
    ["a=1@11", "b=5@12", "a=3@13"],
  );
  assertEquals(d.getKeyValueStore<string, number>("totals").get("a"), 3);
});

Deno.test("processValues keeps the stream unmarked: a grouping after it does not repartition; after process it does; after a key change it still does", () => {
  const fixed = new StreamsBuilder();
  runningTotals(fixed).groupByKey({ valueSerde: L }).count({ storeName: "c1" });
  const fixedText = fixed.build().describe();
  assert(!fixedText.includes("repartition"), fixedText);
  assert(fixedText.includes("KSTREAM-PROCESSVALUES-0000000001 (stores: [totals])"), fixedText);

  const free = new StreamsBuilder();
  free.stream<string, string>("in")
    .process<string, string>(() => {
      let ctx: ProcessorContext<string, string>;
      return {
        init: (c) => void (ctx = c),
        process: (r) => ctx.forward(r),
      };
    })
    .groupByKey()
    .count({ storeName: "c2" });
  assert(free.build().describe().includes("(topic: c2-repartition)"), free.build().describe());

  const keyed = new StreamsBuilder();
  keyed.stream<string, string>("in")
    .selectKey((_k, v) => v)
    .processValues<string>(() => {
      let ctx: FixedKeyProcessorContext<string, string>;
      return { init: (c) => void (ctx = c), process: (r) => ctx.forward(r) };
    })
    .groupByKey()
    .count({ storeName: "c3" });
  assert(keyed.build().describe().includes("(topic: c3-repartition)"), keyed.build().describe());
});

Deno.test("processValues: forwarding anything but a FixedKeyRecord (a changed key) is a TypeError; a kept record can be forwarded from a punctuator", () => {
  const b = new StreamsBuilder();
  b.stream<string, string>("in")
    .processValues<string>(() => {
      let ctx: FixedKeyProcessorContext<string, string>;
      let last: FixedKeyRecord<string, string> | undefined;
      return {
        init(c) {
          ctx = c;
          c.schedule(1000, PunctuationType.WALL_CLOCK_TIME, (now) => {
            if (last !== undefined) ctx.forward(last.withValue("again").withTimestamp(now));
          });
        },
        process(record) {
          last = record;
          if (record.value === "rekey") {
            ctx.forward({ ...record, key: "other" } as FixedKeyRecord<string, string>);
          }
          ctx.forward(record);
        },
      };
    })
    .to("out");
  const d = new TopologyTestDriver(b.build(), { ...defaults, initialWallClockTimeMs: 0 });
  const input = d.createInputTopic("in", S, S);
  input.pipeInput("k", "v", 5);
  assert.throws(
    () => input.pipeInput("k", "rekey", 6),
    /processValues forwards only the records it is given .*the key is fixed/,
  );
  d.advanceWallClockTime(1000);
  assertEquals(
    d.createOutputTopic("out", S, S).readRecordsToList().map((r) =>
      `${r.key}:${r.value}@${r.timestamp}`
    ),
    ["k:v@5", "k:again@1000"],
  );
});

Deno.test("transformValues: the transformer's result is the new value, key and timestamp kept; it may use stores; forward from it throws", () => {
  const b = new StreamsBuilder();
  b.addStateStore(Stores.keyValueStoreBuilder(Stores.inMemoryKeyValueStore("seen"), S, L));
  let closed = 0;
  b.stream<string, string>("in")
    .transformValues<string>(() => {
      let ctx: FixedKeyProcessorContext<string, string>;
      return {
        init: (c) => void (ctx = c),
        transform(value, key) {
          const seen = ctx.getStateStore<string, number>("seen");
          const n = (seen.get(key) ?? 0) + 1;
          seen.put(key, n);
          if (value === "forward") ctx.forward({} as FixedKeyRecord<string, string>);
          return `${key}:${value}#${n}`;
        },
        close: () => void closed++,
      };
    }, "seen")
    .groupByKey()
    .count({ storeName: "n" });
  const text = b.build().describe();
  assert(!text.includes("repartition"), text);
  const out = new StreamsBuilder();
  out.stream<string, string>("in").transformValues(() => ({ transform: (v: string) => v.length }))
    .to("out", { valueSerde: L });
  const d = new TopologyTestDriver(out.build(), defaults);
  d.createInputTopic("in", S, S).pipeInput("k", "abc", 9);
  assertEquals(
    d.createOutputTopic("out", S, L).readRecordsToList().map((r) =>
      `${r.key}=${r.value}@${r.timestamp}`
    ),
    ["k=3@9"],
  );
  const d2 = new TopologyTestDriver(b.build(), defaults);
  const input = d2.createInputTopic("in", S, S);
  input.pipeInput("a", "x", 1);
  input.pipeInput("a", "y", 2);
  assertEquals(d2.getKeyValueStore<string, number>("seen").get("a"), 2);
  assertEquals(d2.getKeyValueStore<string, number>("n").get("a"), 2);
  assert.throws(() => input.pipeInput("a", "forward", 3), /a transformer must not forward/);
  d2.close();
  assertEquals(closed, 1);
});
