// Copyright 2026 the Sluice authors. Apache-2.0 license.
import assert, { deepStrictEqual as assertEquals, throws } from "node:assert/strict";
import {
  JoinWindows,
  type KStream,
  Serdes,
  SessionWindows,
  StreamsBuilder,
  TimeWindows,
  TopologyTestDriver,
  type Windowed,
  WindowedSerdes,
} from "./mod.ts";

const S = Serdes.String();
const L = Serdes.Int64();
const defaults = { defaultKeySerde: S, defaultValueSerde: S };

Deno.test("stateless operations: filter, map, flatMap, peek, selectKey, merge", () => {
  const b = new StreamsBuilder();
  const a = b.stream<string, string>("a");
  const peeked: string[] = [];
  a.filter((_k, v) => v.length > 1)
    .filterNot((k) => k === "skip")
    .mapValues((v, k) => `${k}:${v}`)
    .peek((_k, v) => peeked.push(v))
    .to("filtered");
  a.flatMapValues((v) => v.split(" ")).to("words");
  a.flatMap((k, v) => [[v, k], [k, v]] as Array<[string, string]>).to("flat");
  a.map((k, v) => [v, k.length]).to("mapped", { valueSerde: Serdes.Int32() });
  const bStream = b.stream<string, string>("b");
  a.selectKey((_k, v) => v.toUpperCase()).merge(bStream).to("merged");
  const seen: string[] = [];
  bStream.foreach((k, v) => seen.push(`${k}=${v}`));
  // A topic can be read by one source only.
  throws(() => b.stream("a"), /already read/);
  const d = new TopologyTestDriver(b.build(), defaults);
  const inA = d.createInputTopic("a", S, S);
  inA.pipeInput("k1", "x");
  inA.pipeInput("k2", "hello world");
  inA.pipeInput("skip", "yy");
  assertEquals(d.createOutputTopic("filtered", S, S).readKeyValuesToList(), [[
    "k2",
    "k2:hello world",
  ]]);
  assertEquals(peeked, ["k2:hello world"]);
  assertEquals(d.createOutputTopic("words", S, S).readKeyValuesToList(), [
    ["k1", "x"],
    ["k2", "hello"],
    ["k2", "world"],
    ["skip", "yy"],
  ]);
  assertEquals(d.createOutputTopic("flat", S, S).readKeyValuesToList().length, 6);
  assertEquals(d.createOutputTopic("mapped", S, Serdes.Int32()).readKeyValuesToList(), [
    ["x", 2],
    ["hello world", 2],
    ["yy", 4],
  ]);
  d.createInputTopic("b", S, S).pipeInput("bk", "bv");
  assertEquals(d.createOutputTopic("merged", S, S).readKeyValuesToList(), [
    ["X", "x"],
    ["HELLO WORLD", "hello world"],
    ["YY", "yy"],
    ["bk", "bv"],
  ]);
  assertEquals(seen, ["bk=bv"]);
  d.close();
});

Deno.test("a stream read twice is rejected", () => {
  const b = new StreamsBuilder();
  b.stream("t");
  throws(() => b.stream("t"), /topic t is already read/);
});

Deno.test("branch and split send each record to the first matching branch", () => {
  const b = new StreamsBuilder();
  const s = b.stream<string, string>("in");
  const [small, big] = s.branch((_k, v) => v.length < 3, (_k, v) => v.length < 10);
  small.to("small");
  big.to("big");
  const parts = s.split({ name: "p-" })
    .branch((k) => k === "a", { name: "a" })
    .branch((k) => k === "b")
    .defaultBranch();
  assertEquals(Object.keys(parts), ["p-a", "p-2", "p-0"]);
  parts["p-a"].to("A");
  parts["p-2"].to("B");
  parts["p-0"].to("rest");
  const d = new TopologyTestDriver(b.build(), defaults);
  const input = d.createInputTopic("in", S, S);
  for (const [k, v] of [["a", "x"], ["b", "medium"], ["c", "a very long value"]]) {
    input.pipeInput(k, v);
  }
  assertEquals(d.createOutputTopic("small", S, S).readKeyValuesToList(), [["a", "x"]]);
  assertEquals(d.createOutputTopic("big", S, S).readKeyValuesToList(), [["b", "medium"]]);
  assertEquals(d.createOutputTopic("A", S, S).readKeyValuesToList(), [["a", "x"]]);
  assertEquals(d.createOutputTopic("B", S, S).readKeyValuesToList(), [["b", "medium"]]);
  assertEquals(d.createOutputTopic("rest", S, S).readKeyValuesToList(), [[
    "c",
    "a very long value",
  ]]);
});

Deno.test("groupBy repartitions through <appId>-<store>-repartition; count, reduce, aggregate", () => {
  const b = new StreamsBuilder();
  const s = b.stream<string, string>("in");
  s.groupBy((_k, v) => v).count({ storeName: "counts" }).toStream().to("counts", {
    valueSerde: L,
  });
  s.groupByKey().reduce((a, v) => `${a}+${v}`, { storeName: "concat" }).toStream().to("concat");
  s.mapValues((v) => v === null ? 0 : v.length).groupByKey({ valueSerde: Serdes.Int32() })
    .aggregate(() => 100, (_k, v, agg) => agg + v, { storeName: "sum", valueSerde: L })
    .toStream().to("sum", { valueSerde: L });
  const topology = b.build();
  const text = topology.describe();
  assert(text.includes("(topic: counts-repartition)"), text);
  assert(
    !text.includes("concat-repartition"),
    "groupByKey on an unchanged key does not repartition",
  );
  const d = new TopologyTestDriver(topology, { ...defaults, applicationId: "app" });
  const input = d.createInputTopic("in", S, S);
  input.pipeInput("k1", "a");
  input.pipeInput("k2", "b");
  input.pipeInput("k1", "a");
  input.pipeInput(null, "c"); // counted (its new key is "c"); skipped by the groupByKey ones
  input.pipeInput("k2", null); // null values are skipped everywhere
  assertEquals(d.createOutputTopic("counts", S, L).readKeyValuesToList(), [
    ["a", 1],
    ["b", 1],
    ["a", 2],
    ["c", 1],
  ]);
  assertEquals(
    d.createOutputTopic("concat", S, S).readKeyValuesToMap(),
    new Map([
      ["k1", "a+a"],
      ["k2", "b"],
    ]),
  );
  assertEquals(
    d.createOutputTopic("sum", S, L).readKeyValuesToMap(),
    new Map([
      ["k1", 102],
      ["k2", 101],
    ]),
  );
  assertEquals(d.getKeyValueStore<string, number>("counts").all(), [["a", 2], ["b", 1], [
    "c",
    1,
  ]]);
  assertEquals(d.getKeyValueStore<string, number>("counts").range("b", "c"), [["b", 1], [
    "c",
    1,
  ]]);
  // The null key in reduce and aggregate, the null value in count and reduce.
  assertEquals(d.droppedRecords, 4);
});

Deno.test("table: latest value per key, tombstones, filter and mapValues, toStream", () => {
  const b = new StreamsBuilder();
  const t = b.table<string, string>("users", { storeName: "users-store" });
  t.filter((_k, v) => v !== "hidden").mapValues((v) => v.toUpperCase()).toStream().to("out");
  const d = new TopologyTestDriver(b.build(), defaults);
  const input = d.createInputTopic("users", S, S);
  input.pipeInput("a", "alice");
  input.pipeInput("b", "bob");
  input.pipeInput("a", "hidden");
  input.pipeInput("b", null);
  assertEquals(d.createOutputTopic("out", S, S).readKeyValuesToList(), [
    ["a", "ALICE"],
    ["b", "BOB"],
    ["a", null],
    ["b", null],
  ]);
  assertEquals(d.getKeyValueStore<string, string>("users-store").all(), [["a", "hidden"]]);
});

Deno.test("stream–table join and leftJoin", () => {
  const b = new StreamsBuilder();
  const users = b.table<string, string>("users");
  const clicks = b.stream<string, string>("clicks");
  clicks.join(users, (click, user) => `${user} clicked ${click}`).to("joined");
  b.stream<string, string>("views").leftJoin(users, (view, user) => `${user ?? "?"} viewed ${view}`)
    .to("left");
  const d = new TopologyTestDriver(b.build(), defaults);
  const u = d.createInputTopic("users", S, S);
  const c = d.createInputTopic("clicks", S, S);
  const v = d.createInputTopic("views", S, S);
  c.pipeInput("1", "early"); // no user yet: dropped by the inner join
  v.pipeInput("1", "home");
  u.pipeInput("1", "ann");
  c.pipeInput("1", "buy");
  v.pipeInput("1", "cart");
  u.pipeInput("1", null);
  c.pipeInput("1", "gone");
  assertEquals(d.createOutputTopic("joined", S, S).readKeyValuesToList(), [[
    "1",
    "ann clicked buy",
  ]]);
  assertEquals(d.createOutputTopic("left", S, S).readKeyValuesToList(), [
    ["1", "? viewed home"],
    ["1", "ann viewed cart"],
  ]);
});

/** Windowed counts as a model computes them: stream time, grace, late records dropped. */
function windowModel(
  records: Array<[string, number]>,
  sizeMs: number,
  advanceMs: number,
  graceMs: number,
): { counts: Map<string, number>; dropped: number } {
  const w = TimeWindows.ofSizeAndGrace(sizeMs, graceMs).advanceBy(advanceMs);
  const counts = new Map<string, number>();
  let streamTime = -1;
  let dropped = 0;
  for (const [key, ts] of records) {
    streamTime = Math.max(streamTime, ts);
    for (const win of w.windowsFor(ts)) {
      if (win.end <= streamTime - graceMs) {
        dropped++;
        continue;
      }
      const k = `${key}@${win.start}`;
      counts.set(k, (counts.get(k) ?? 0) + 1);
    }
  }
  return { counts, dropped };
}

Deno.test("windowsFor: tumbling and hopping windows aligned to the epoch", () => {
  assertEquals(TimeWindows.ofSizeWithNoGrace(10).windowsFor(25), [{ start: 20, end: 30 }]);
  assertEquals(TimeWindows.ofSizeWithNoGrace(10).advanceBy(5).windowsFor(25), [
    { start: 20, end: 30 },
    { start: 25, end: 35 },
  ]);
  assertEquals(TimeWindows.ofSizeWithNoGrace(10).advanceBy(3).windowsFor(4).map((w) => w.start), [
    0,
    3,
  ]);
  throws(() => TimeWindows.ofSizeWithNoGrace(10).advanceBy(11), /exceeds the window size/);
  throws(() => TimeWindows.ofSizeAndGrace(0, 1), /window size/);
});

for (const [size, advance, grace] of [[1000, 1000, 200], [1000, 250, 0], [500, 100, 1000]]) {
  Deno.test(`windowed count (size ${size}, advance ${advance}, grace ${grace}) equals the model, late records dropped`, () => {
    const b = new StreamsBuilder();
    b.stream<string, string>("events")
      .groupByKey()
      .windowedBy(TimeWindows.ofSizeAndGrace(size, grace).advanceBy(advance))
      .count({ storeName: "wc" })
      .toStream()
      .map((wk, n) => [`${wk.key}@${wk.window.start}`, n])
      .to("counts", { valueSerde: L });
    const d = new TopologyTestDriver(b.build(), defaults);
    const input = d.createInputTopic("events", S, S);
    // Mostly increasing times with records up to 1.5 s late.
    let t = 10_000;
    const records: Array<[string, number]> = [];
    let seed = 7;
    const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    for (let i = 0; i < 2000; i++) {
      t += Math.floor(rnd() * 50);
      const late = rnd() < 0.2 ? Math.floor(rnd() * 1500) : 0;
      records.push([`k${Math.floor(rnd() * 5)}`, t - late]);
    }
    for (const [k, ts] of records) input.pipeInput(k, "x", ts);
    const model = windowModel(records, size, advance, grace);
    assert(model.dropped > 0, "the run has late records");
    const out = d.createOutputTopic("counts", S, L).readKeyValuesToMap();
    assertEquals([...out].sort(), [...model.counts].sort());
    assertEquals(d.droppedRecords, model.dropped);
    const store = d.getWindowStore<string, number>("wc");
    const [key, start] = [...model.counts.keys()][0].split("@");
    assertEquals(store.fetch(key, Number(start)), model.counts.get(`${key}@${start}`));
    assertEquals(store.all().length, model.counts.size);
  });
}

Deno.test("windowed keys in the output: Kafka's time-windowed key layout", () => {
  const b = new StreamsBuilder();
  b.stream<string, string>("e").groupByKey().windowedBy(TimeWindows.ofSizeWithNoGrace(100))
    .count().toStream().to("out", { keySerde: WindowedSerdes.timeWindowed(S, 100), valueSerde: L });
  const d = new TopologyTestDriver(b.build(), defaults);
  d.createInputTopic("e", S, S).pipeInput("k", "v", 250);
  const [r] = d.createOutputTopic("out", WindowedSerdes.timeWindowed(S, 100), L)
    .readKeyValuesToList();
  assertEquals(r, [{ key: "k", window: { start: 200, end: 300 } }, 1]);
});

Deno.test("session windows merge sessions a record bridges; late sessions are dropped", () => {
  const b = new StreamsBuilder();
  b.stream<string, string>("clicks").groupByKey()
    .windowedBy(SessionWindows.ofInactivityGapAndGrace(100, 200))
    .count()
    .toStream()
    .to("sessions", { keySerde: WindowedSerdes.sessionWindowed(S), valueSerde: L });
  const d = new TopologyTestDriver(b.build(), defaults);
  const input = d.createInputTopic("clicks", S, S);
  const out = d.createOutputTopic("sessions", WindowedSerdes.sessionWindowed(S), L);
  const fmt = (r: [Windowed<string>, number | null]) =>
    `${r[0].key}[${r[0].window.start},${r[0].window.end}]=${r[1]}`;
  input.pipeInput("a", "x", 0);
  input.pipeInput("a", "x", 300); // a new session
  input.pipeInput("a", "x", 100); // joins [0,0]; its end 100 is not before 300 - 200
  assertEquals(out.readKeyValuesToList().map(fmt), [
    "a[0,0]=1",
    "a[300,300]=1",
    "a[0,0]=null",
    "a[0,100]=2",
  ]);
  input.pipeInput("a", "x", 200); // bridges [0,100] and [300,300]
  assertEquals(out.readKeyValuesToList().map(fmt), [
    "a[0,100]=null",
    "a[300,300]=null",
    "a[0,300]=4",
  ]);
  input.pipeInput("b", "x", 1000);
  input.pipeInput("b", "x", 700); // its session [700,700] ends before 1000 - 200: late
  assertEquals(out.readKeyValuesToList().map(fmt), ["b[1000,1000]=1"]);
  assertEquals(d.droppedRecords, 1);
});

Deno.test("stream–stream join within a JoinWindows", () => {
  const b = new StreamsBuilder();
  const left: KStream<string, string> = b.stream("l");
  const right: KStream<string, string> = b.stream("r");
  left.join(right, (l, r) => `${l}+${r}`, JoinWindows.ofTimeDifferenceWithNoGrace(100)).to("j");
  const d = new TopologyTestDriver(b.build(), defaults);
  const l = d.createInputTopic("l", S, S);
  const r = d.createInputTopic("r", S, S);
  l.pipeInput("k", "L1", 1000);
  r.pipeInput("k", "R1", 1050); // joins L1
  r.pipeInput("k", "R2", 1200); // 200 after L1: no
  l.pipeInput("k", "L2", 1150); // joins R1 (100 before) and R2 (50 after)
  r.pipeInput("x", "R3", 1150); // other key
  const out = d.createOutputTopic("j", S, S).readRecordsToList();
  assertEquals(out.map((o) => `${o.key}:${o.value}@${o.timestamp}`), [
    "k:L1+R1@1050",
    "k:L2+R1@1150",
    "k:L2+R2@1200",
  ]);
});

Deno.test("serdes: Kafka's byte layouts and clear errors", () => {
  assertEquals([...L.serialize(258)!], [0, 0, 0, 0, 0, 0, 1, 2]);
  assertEquals([...Serdes.Int32().serialize(-1)!], [255, 255, 255, 255]);
  assertEquals(Serdes.Float64().deserialize(Serdes.Float64().serialize(1.5)), 1.5);
  assertEquals(Serdes.Json<{ a: number[] }>().deserialize(Serdes.Json().serialize({ a: [1] })), {
    a: [1],
  });
  assertEquals(S.serialize(null), null);
  throws(() => L.deserialize(new Uint8Array(3)), /deserialize int64: expected 8 bytes, got 3/);
  throws(() => Serdes.Int32().serialize(2 ** 31), /not a 32-bit integer/);
  throws(() => Serdes.Json().deserialize(new TextEncoder().encode("{")), /deserialize json/);
  throws(() => S.deserialize(new Uint8Array([0xff])), /not valid UTF-8/);
});

Deno.test("a missing serde is a clear error", () => {
  const b = new StreamsBuilder();
  b.stream("in").to("out");
  throws(
    () => new TopologyTestDriver(b.build()),
    /no key serde \(give one, or set defaultKeySerde\)/,
  );
});

Deno.test("grace boundary: a window closes when stream time reaches its end plus grace", () => {
  const b = new StreamsBuilder();
  b.stream<string, string>("e").groupByKey()
    .windowedBy(TimeWindows.ofSizeAndGrace(1000, 200))
    .count({ storeName: "c" });
  const d = new TopologyTestDriver(b.build(), defaults);
  const input = d.createInputTopic("e", S, S);
  const store = d.getWindowStore<string, number>("c");
  input.pipeInput("k", "v", 1199); // stream time 1199: window [0,1000) closes at 1200
  input.pipeInput("k", "v", 999); // accepted
  assertEquals(store.fetch("k", 0), 1);
  input.pipeInput("k", "v", 1200); // stream time 1200: [0,1000) is closed now
  input.pipeInput("k", "v", 999); // dropped, as Kafka does (window end <= stream time - grace)
  assertEquals(store.fetch("k", 0), 1);
  assertEquals(d.droppedRecords, 1);
  assertEquals(store.fetch("k", 1000), 2);
});
