// Copyright 2026 the Sluice authors. Apache-2.0 license.
// Which stream time closes windows: as Kafka Streams', each windowed aggregation closes its
// windows by the largest timestamp it has itself seen (KStreamWindowAggregate's and
// KStreamSessionWindowAggregate's `observedStreamTime`), and a stream–stream join has no late
// drop of its own: each join store expires by the latest record time put into it. Records of
// another topic of the task, or filtered out before the window, close nothing.
import assert, { deepStrictEqual as assertEquals } from "node:assert/strict";
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

/** Topics `a` and `b` merged, values `other` filtered out, counted in windows. */
function mergedWindowedCount(windows: TimeWindows, persistent = false): StreamsBuilder {
  const b = new StreamsBuilder();
  const a = b.stream<string, string>("a");
  a.merge(b.stream<string, string>("b"))
    .filter((_k, v) => v !== "other")
    .groupByKey()
    .windowedBy(windows)
    .count({ storeName: "wc", persistent })
    .toStream()
    .map((wk, n) => [`${wk.key}@${wk.window.start}`, n])
    .to("counts", { valueSerde: L });
  return b;
}

Deno.test("time windows close by the aggregation's own time, not by records it never saw", () => {
  const d = new TopologyTestDriver(
    mergedWindowedCount(TimeWindows.ofSizeWithNoGrace(1000)).build(),
    defaults,
  );
  const a = d.createInputTopic("a", S, S);
  const b = d.createInputTopic("b", S, S);
  a.pipeInput("k", "x", 500);
  b.pipeInput("k", "other", 5000); // task stream time 5000; filtered before the window
  a.pipeInput("k", "x", 600); // the window saw only 500: [0,1000) is open (Kafka counts it)
  b.pipeInput("j", "x", 1999); // reaches the window: its time is 1999 now
  a.pipeInput("k", "x", 999); // [0,1000) ends at or before 1999 - 0: closed, dropped
  assertEquals(d.createOutputTopic("counts", S, L).readKeyValuesToList(), [
    ["k@0", 1],
    ["k@0", 2],
    ["j@1000", 1],
  ]);
  assertEquals(d.droppedRecords, 1);
  assertEquals(d.getWindowStore<string, number>("wc").fetch("k", 0), 2);
});

/**
 * What Kafka computes for {@linkcode mergedWindowedCount}: the updates in order and the late
 * records dropped, the window's time following only the records that pass the filter.
 */
function mergedWindowModel(
  records: Array<[string, string, number]>,
  windows: TimeWindows,
): { updates: Array<[string, number]>; dropped: number } {
  const counts = new Map<string, number>();
  const updates: Array<[string, number]> = [];
  let observed = -1;
  let dropped = 0;
  for (const [key, value, ts] of records) {
    if (value === "other") continue;
    observed = Math.max(observed, ts);
    for (const w of windows.windowsFor(ts)) {
      if (w.end <= observed - windows.graceMs) {
        dropped++;
        continue;
      }
      const k = `${key}@${w.start}`;
      const n = (counts.get(k) ?? 0) + 1;
      counts.set(k, n);
      updates.push([k, n]);
    }
  }
  return { updates, dropped };
}

/** Records on topics `a` and `b`; `b` carries `other` records that run ahead in time. */
function twoTopicRecords(seed: number, count: number): Array<[string, string, string, number]> {
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const out: Array<[string, string, string, number]> = [];
  let t = 10_000;
  for (let i = 0; i < count; i++) {
    t += Math.floor(rnd() * 40);
    const key = `k${Math.floor(rnd() * 4)}`;
    if (rnd() < 0.25) {
      out.push(["b", key, "other", t + Math.floor(rnd() * 3000)]);
    } else {
      const late = rnd() < 0.3 ? Math.floor(rnd() * 1500) : 0;
      out.push([rnd() < 0.5 ? "a" : "b", key, "x", t - late]);
    }
  }
  return out;
}

for (const [size, advance, grace] of [[1000, 1000, 0], [1000, 250, 300], [500, 100, 800]]) {
  Deno.test(`merged topics, windowed count (size ${size}, advance ${advance}, grace ${grace}): every update equals Kafka's model`, () => {
    const windows = TimeWindows.ofSizeAndGrace(size, grace).advanceBy(advance);
    const d = new TopologyTestDriver(mergedWindowedCount(windows).build(), defaults);
    const inputs = { a: d.createInputTopic("a", S, S), b: d.createInputTopic("b", S, S) };
    const records = twoTopicRecords(size + advance + grace, 3000);
    for (const [topic, k, v, ts] of records) inputs[topic as "a" | "b"].pipeInput(k, v, ts);
    const model = mergedWindowModel(records.map(([, k, v, ts]) => [k, v, ts]), windows);
    // The task's stream time (every record) would have dropped many more.
    const byTaskTime = mergedWindowModel(records.map(([, k, _v, ts]) => [k, "x", ts]), windows);
    assert(model.dropped > 0 && byTaskTime.dropped > model.dropped);
    assertEquals(d.createOutputTopic("counts", S, L).readKeyValuesToList(), model.updates);
    assertEquals(d.droppedRecords, model.dropped);
  });
}

Deno.test("session windows close by the aggregation's own time", () => {
  const b = new StreamsBuilder();
  b.stream<string, string>("a").merge(b.stream<string, string>("b"))
    .filter((_k, v) => v !== "other")
    .groupByKey()
    .windowedBy(SessionWindows.ofInactivityGapAndGrace(100, 50))
    .count({ storeName: "sc" })
    .toStream()
    .to("sessions", { keySerde: WindowedSerdes.sessionWindowed(S), valueSerde: L });
  const d = new TopologyTestDriver(b.build(), defaults);
  const a = d.createInputTopic("a", S, S);
  const bt = d.createInputTopic("b", S, S);
  const fmt = (r: [Windowed<string>, number | null]) =>
    `${r[0].key}[${r[0].window.start},${r[0].window.end}]=${r[1]}`;
  const out = d.createOutputTopic("sessions", WindowedSerdes.sessionWindowed(S), L);
  a.pipeInput("k", "x", 1000);
  bt.pipeInput("k", "other", 9000); // task stream time 9000, never seen by the session
  a.pipeInput("k", "x", 1050); // merges into [1000,1050] (Kafka does; by task time: dropped)
  a.pipeInput("j", "x", 1300); // the session's time: 1300
  a.pipeInput("k", "x", 1120); // [1000,1120]: 1120 >= 1300 - 50? no: closed, dropped
  a.pipeInput("k", "x", 1260); // a new session [1260,1260], ends at 1260 >= 1250: kept
  assertEquals(
    out.readKeyValuesToList().map(fmt),
    [
      "k[1000,1000]=1",
      "k[1000,1000]=null",
      "k[1000,1050]=2",
      "j[1300,1300]=1",
      "k[1260,1260]=1",
    ],
  );
  assertEquals(d.droppedRecords, 1);
});

/** Kafka's stream–stream inner join: no late drop; each side's store expires by its own time
 * (a record below `time - retention + 1` is neither kept nor found). */
function joinModel(
  records: Array<["l" | "r", string, string, number]>,
  beforeMs: number,
  afterMs: number,
  graceMs: number,
): string[] {
  const retention = beforeMs + afterMs + graceMs;
  const stores = {
    l: { time: -1, entries: [] as Array<[string, string, number]> },
    r: { time: -1, entries: [] as Array<[string, string, number]> },
  };
  const out: string[] = [];
  for (const [side, key, value, ts] of records) {
    const mine = stores[side];
    const theirs = stores[side === "l" ? "r" : "l"];
    const [lo, hi] = side === "l" ? [beforeMs, afterMs] : [afterMs, beforeMs];
    const matches = theirs.entries
      .filter(([k, , t]) =>
        k === key && t >= theirs.time - retention + 1 && t >= ts - lo && t <= ts + hi
      )
      .map((e, i) => [e, i] as const)
      .sort(([x, i], [y, j]) => x[2] - y[2] || i - j);
    for (const [[, v, t]] of matches) {
      out.push(`${key}:${side === "l" ? `${value}+${v}` : `${v}+${value}`}@${Math.max(ts, t)}`);
    }
    mine.time = Math.max(mine.time, ts);
    if (ts >= mine.time - retention + 1) mine.entries.push([key, value, ts]);
  }
  return out;
}

function joinTopology(windows: JoinWindows): StreamsBuilder {
  const b = new StreamsBuilder();
  const left: KStream<string, string> = b.stream("l");
  const right: KStream<string, string> = b.stream("r");
  left.join(right, (l, r) => `${l}+${r}`, windows).to("j");
  return b;
}

Deno.test("stream–stream join: a late record still joins what the other side's store holds", () => {
  const d = new TopologyTestDriver(
    joinTopology(JoinWindows.ofTimeDifferenceWithNoGrace(100)).build(),
    defaults,
  );
  const l = d.createInputTopic("l", S, S);
  const r = d.createInputTopic("r", S, S);
  l.pipeInput("k", "L1", 10_000); // task stream time 10000
  r.pipeInput("k", "R0", 9000); // the right store's time is 9000: kept
  l.pipeInput("k", "L0", 9050); // late for the left store (not kept), joins R0 (Kafka does)
  r.pipeInput("k", "R1", 9950); // joins L1 only: L0 was not kept
  const out = d.createOutputTopic("j", S, S).readRecordsToList();
  assertEquals(out.map((o) => `${o.key}:${o.value}@${o.timestamp}`), [
    "k:L0+R0@9050",
    "k:L1+R1@10000",
  ]);
  assertEquals(d.droppedRecords, 0);
});

for (const [before, after, grace] of [[100, 100, 0], [50, 200, 100]]) {
  Deno.test(`stream–stream join (before ${before}, after ${after}, grace ${grace}): every result equals Kafka's model`, () => {
    const windows = JoinWindows.ofTimeDifferenceAndGrace(before, grace).after(after);
    const d = new TopologyTestDriver(joinTopology(windows).build(), defaults);
    const inputs = { l: d.createInputTopic("l", S, S), r: d.createInputTopic("r", S, S) };
    let seed = before * 7 + after * 3 + grace;
    const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    const records: Array<["l" | "r", string, string, number]> = [];
    // Both sides mostly in order, the right side running up to 1 s behind the left.
    let t = 10_000;
    for (let i = 0; i < 3000; i++) {
      t += Math.floor(rnd() * 20);
      const side = rnd() < 0.5 ? "l" : "r";
      const lag = side === "r" ? Math.floor(rnd() * 1000) : 0;
      const late = rnd() < 0.1 ? Math.floor(rnd() * 600) : 0;
      records.push([side, `k${Math.floor(rnd() * 3)}`, `${side}${i}`, t - lag - late]);
    }
    for (const [side, k, v, ts] of records) inputs[side].pipeInput(k, v, ts);
    const expected = joinModel(records, before, after, grace);
    assert(expected.length > 500);
    const out = d.createOutputTopic("j", S, S).readRecordsToList();
    assertEquals(out.map((o) => `${o.key}:${o.value}@${o.timestamp}`), expected);
  });
}

for (const where of ["memory", "disk"]) {
  Deno.test(`a window aggregation restored (${where}) resumes its own time, not the task's`, async () => {
    const persistent = where === "disk";
    const stateDir = persistent ? await Deno.makeTempDir() : undefined;
    const build = () =>
      mergedWindowedCount(TimeWindows.ofSizeWithNoGrace(1000), persistent).build();
    try {
      const d1 = await TopologyTestDriver.create(build(), { ...defaults, stateDir });
      const a1 = d1.createInputTopic("a", S, S);
      a1.pipeInput("k", "x", 500);
      a1.pipeInput("k", "x", 1500); // the window's time: 1500, [0,1000) closed
      d1.createInputTopic("b", S, S).pipeInput("k", "other", 5000); // the task's: 5000
      a1.pipeInput("k", "x", 1450);
      await d1.commit();
      const changelogs = d1.changelogs();
      d1.close();
      const d2 = await TopologyTestDriver.create(build(), {
        ...defaults,
        stateDir,
        changelogs: persistent ? undefined : changelogs,
      });
      const a2 = d2.createInputTopic("a", S, S);
      a2.pipeInput("k", "x", 600); // [0,1000) stays closed: the time resumed at 1500
      a2.pipeInput("k", "x", 1400); // [1000,2000) is open (the task's 5000 would close it)
      assertEquals(d2.createOutputTopic("counts", S, L).readKeyValuesToList(), [["k@1000", 3]]);
      assertEquals(d2.droppedRecords, 1);
      d2.close();
    } finally {
      if (stateDir !== undefined) await Deno.remove(stateDir, { recursive: true });
    }
  });
}

Deno.test("a restored session aggregation resumes its own time (a merge's tombstones do not move it)", async () => {
  const build = () => {
    const b = new StreamsBuilder();
    b.stream<string, string>("a").merge(b.stream<string, string>("b"))
      .filter((_k, v) => v !== "other")
      .groupByKey()
      .windowedBy(SessionWindows.ofInactivityGapAndGrace(100, 50))
      .count({ storeName: "sc" })
      .toStream()
      .to("sessions", { keySerde: WindowedSerdes.sessionWindowed(S), valueSerde: L });
    return b.build();
  };
  const d1 = new TopologyTestDriver(build(), defaults);
  const a1 = d1.createInputTopic("a", S, S);
  a1.pipeInput("k", "x", 1000);
  d1.createInputTopic("b", S, S).pipeInput("k", "other", 9000);
  a1.pipeInput("k", "x", 1050); // merges: [1000,1000] deleted while the task's time is 9000
  await d1.commit();
  const d2 = await TopologyTestDriver.create(build(), {
    ...defaults,
    changelogs: d1.changelogs(),
  });
  d2.createInputTopic("a", S, S).pipeInput("k", "x", 1080); // the session's time is 1080: open
  const out = d2.createOutputTopic("sessions", WindowedSerdes.sessionWindowed(S), L);
  assertEquals(
    out.readKeyValuesToList().map(([k, n]) => `${k.window.start},${k.window.end}=${n}`),
    [
      "1000,1050=null",
      "1000,1080=3",
    ],
  );
  assertEquals(d2.droppedRecords, 0);
});
