// Copyright 2026 the Sluice authors. Apache-2.0 license.
// The value getter of windowed tables (Kafka's KStreamWindowAggregateValueGetter and
// KStreamSessionWindowAggregateValueGetter): a stream keyed by Windowed<K> joined with a
// time- or session-windowed aggregation (and with its filter/mapValues) reads exactly the
// aggregate of that key and window at the time the record is processed, as a model computes it:
// null for a window never aggregated, for a session merged into another, and (leftJoin) for
// a value the filter takes out.

import { deepStrictEqual as assertEquals } from "node:assert/strict";
import {
  Serdes,
  SessionWindows,
  StreamsBuilder,
  TimeWindows,
  TopologyTestDriver,
  type Windowed,
  WindowedSerdes,
} from "./mod.ts";

const S = Serdes.String();
const defaults = { defaultKeySerde: S, defaultValueSerde: S };

/** A small seeded generator (records are reproducible). */
function random(seed: number): () => number {
  return () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
}

Deno.test("windowed table getter: a Windowed-keyed stream joined with a hopping count (and its filter and mapValues) reads exactly the model's count", () => {
  const size = 100;
  const advance = 50;
  const grace = 1_000;
  const windows = TimeWindows.ofSizeAndGrace(size, grace).advanceBy(advance);
  const TW = WindowedSerdes.timeWindowed(S, size);
  const b = new StreamsBuilder();
  const counts = b.stream<string, string>("events").groupByKey().windowedBy(windows)
    .count({ storeName: "wc" });
  const queries = b.stream<Windowed<string>, string>("queries", { keySerde: TW });
  queries.leftJoin(counts, (q, n) => `${q}:${n}`).to("plain", { keySerde: TW });
  queries.leftJoin(counts.filter((_k, n) => n % 2 === 0), (q, n) => `${q}:${n}`)
    .to("even", { keySerde: TW });
  queries.join(counts.mapValues((n, k) => `${k.key}@${k.window.start}x${n}`), (q, s) => `${q}:${s}`)
    .to("mapped", { keySerde: TW });
  const d = new TopologyTestDriver(b.build(), defaults);
  const events = d.createInputTopic("events", S, S);
  const ask = d.createInputTopic("queries", TW, S);
  const model = new Map<string, number>();
  const want = { plain: [] as string[], even: [] as string[], mapped: [] as string[] };
  const rnd = random(11);
  let t = 1_000;
  for (let i = 0; i < 3_000; i++) {
    t += Math.floor(rnd() * 20);
    const key = `k${Math.floor(rnd() * 4)}`;
    if (rnd() < 0.6) {
      // within the grace period: every window of the record is still open
      const ts = t - Math.floor(rnd() * 200);
      events.pipeInput(key, "x", ts);
      for (const w of windows.windowsFor(ts)) {
        const k = `${key}@${w.start}`;
        model.set(k, (model.get(k) ?? 0) + 1);
      }
      continue;
    }
    // a window start on the hop grid, some never aggregated (ahead of every record)
    const start = (Math.floor(t / advance) - Math.floor(rnd() * 8) + 2) * advance;
    const q = `q${i}`;
    ask.pipeInput({ key, window: { start, end: start + size } }, q, t);
    const n = model.get(`${key}@${start}`) ?? null;
    want.plain.push(`${key}@${start}=${q}:${n}`);
    want.even.push(`${key}@${start}=${q}:${n !== null && n % 2 === 0 ? n : null}`);
    if (n !== null) want.mapped.push(`${key}@${start}=${q}:${key}@${start}x${n}`);
  }
  const read = (topic: string) =>
    d.createOutputTopic(topic, TW, S).readKeyValuesToList().map(([k, v]) =>
      `${k.key}@${k.window.start}=${v}`
    );
  const plain = read("plain");
  assertEquals(plain, want.plain);
  assertEquals(read("even"), want.even);
  assertEquals(read("mapped"), want.mapped);
  // the run asks for windows with and without a count
  assertEquals(plain.some((s) => s.endsWith(":null")), true);
  assertEquals(plain.some((s) => !s.endsWith(":null")), true);
  // interactive queries read the same store
  const store = d.getWindowStore<string, number>("wc");
  for (const [k, n] of model) {
    const [key, start] = k.split("@");
    assertEquals(store.fetch(key, Number(start)), n);
  }
  assertEquals(store.all().length, model.size);
});

Deno.test("windowed table getter: a session-windowed count read by Windowed key; merged sessions read null", () => {
  const SW = WindowedSerdes.sessionWindowed(S);
  const b = new StreamsBuilder();
  const sessions = b.stream<string, string>("clicks").groupByKey()
    .windowedBy(SessionWindows.ofInactivityGapAndGrace(100, 10_000)).count();
  b.stream<Windowed<string>, string>("queries", { keySerde: SW })
    .leftJoin(sessions, (q, n) => `${q}:${n}`).to("answers", { keySerde: SW });
  const d = new TopologyTestDriver(b.build(), defaults);
  const clicks = d.createInputTopic("clicks", S, S);
  const ask = d.createInputTopic("queries", SW, S);
  const answers = d.createOutputTopic("answers", SW, S);
  const q = (start: number, end: number, ts: number) =>
    ask.pipeInput({ key: "a", window: { start, end } }, `${start}-${end}`, ts);
  const read = () => answers.readKeyValuesToList().map(([, v]) => v);
  clicks.pipeInput("a", "x", 0);
  clicks.pipeInput("a", "x", 200);
  clicks.pipeInput("a", "x", 50); // [0,50]
  q(0, 50, 200);
  q(0, 0, 200); // merged into [0,50]
  q(200, 200, 200);
  q(0, 200, 200); // not a session (yet)
  assertEquals(read(), ["0-50:2", "0-0:null", "200-200:1", "0-200:null"]);
  clicks.pipeInput("a", "x", 125); // within the gap of both: [0,50] and [200,200] become [0,200]
  q(0, 50, 200);
  q(200, 200, 200);
  q(0, 200, 200);
  assertEquals(read(), ["0-50:null", "200-200:null", "0-200:4"]);
  // another key's session of the same window is not this one's
  clicks.pipeInput("b", "x", 0);
  ask.pipeInput({ key: "b", window: { start: 0, end: 200 } }, "b", 200);
  ask.pipeInput({ key: "b", window: { start: 0, end: 0 } }, "b0", 200);
  assertEquals(read(), ["b:null", "b0:1"]);
});

Deno.test("windowed table getter: a window expires with the store's time (the latest window start written), not with other records' timestamps", () => {
  // Kafka's window stores: observedStreamTime is the largest window start put; a fetch of a
  // window starting at or before observedStreamTime - retention reads nothing.
  const TW = WindowedSerdes.timeWindowed(S, 100);
  const b = new StreamsBuilder();
  const counts = b.stream<string, string>("events").groupByKey()
    .windowedBy(TimeWindows.ofSizeWithNoGrace(100)).count({ storeName: "wc", retentionMs: 100 });
  b.stream<Windowed<string>, string>("queries", { keySerde: TW })
    .leftJoin(counts, (q, n) => `${q}:${n}`).to("answers", { keySerde: TW });
  const d = new TopologyTestDriver(b.build(), defaults);
  const events = d.createInputTopic("events", S, S);
  const ask = d.createInputTopic("queries", TW, S);
  const answers = d.createOutputTopic("answers", TW, S);
  const store = d.getWindowStore<string, number>("wc");
  const a0 = { key: "a", window: { start: 0, end: 100 } };
  events.pipeInput("a", "x", 10); // [0,100): the store's time is 0
  ask.pipeInput(a0, "q1", 150); // a later record, but no write to the store
  assertEquals(answers.readKeyValuesToList().map(([, v]) => v), ["q1:1"]);
  assertEquals(store.fetch("a", 0), 1);
  events.pipeInput("b", "x", 150); // [100,200): the store's time is 100, [0,100) expires
  ask.pipeInput(a0, "q2", 150);
  assertEquals(answers.readKeyValuesToList().map(([, v]) => v), ["q2:null"]);
  assertEquals(store.fetch("a", 0), undefined);
  assertEquals(store.fetch("b", 100), 1);
});
