// Copyright 2026 the Sluice authors. Apache-2.0 license.
// `suppress(Suppressed.untilWindowCloses(...))` on windowed tables: only each window's final
// result, once the suppression's stream time minus the grace period reaches the window's end,
// with the timestamp of the window's last update; a changelogged buffer that a restart
// resumes.
import assert, { deepStrictEqual as assertEquals } from "node:assert/strict";
import {
  BufferConfig,
  Serdes,
  SessionWindows,
  StreamsBuilder,
  Suppressed,
  TimeWindows,
  TopologyTestDriver,
  WindowedSerdes,
} from "./mod.ts";
import { suppressedCountModel } from "./testing.ts";

const S = Serdes.String();
const L = Serdes.Int64();
const defaults = { defaultKeySerde: S, defaultValueSerde: S };

function windowedFinal(windows: TimeWindows, suppressed = Suppressed.untilWindowCloses()) {
  const b = new StreamsBuilder();
  b.stream<string, string>("in").groupByKey()
    .windowedBy(windows)
    .count({ storeName: "wc" })
    .suppress(suppressed.withName("final"))
    .toStream()
    .map((w, n) => [`${w.key}@${w.window.start}`, n])
    .to("out", { valueSerde: L });
  return b.build();
}

function show(d: TopologyTestDriver): string[] {
  return d.createOutputTopic("out", S, L).readRecordsToList().map((r) =>
    `${r.key}=${r.value}@${r.timestamp}`
  );
}

Deno.test("suppress untilWindowCloses: each window once, at end + grace, with its last update's timestamp", () => {
  const d = new TopologyTestDriver(windowedFinal(TimeWindows.ofSizeAndGrace(1000, 100)), defaults);
  const input = d.createInputTopic("in", S, S);
  input.pipeInput("a", "x", 10);
  input.pipeInput("a", "x", 20);
  input.pipeInput("b", "x", 500);
  input.pipeInput("c", "x", 1099); // 1099 - 100 < 1000: [0,1000) still open
  assertEquals(show(d), []);
  input.pipeInput("a", "x", 900); // late but within grace: counted
  assertEquals(show(d), []);
  input.pipeInput("d", "x", 1100); // 1100 - 100 >= 1000: [0,1000) closes; by key
  assertEquals(show(d), ["a@0=3@900", "b@0=1@500"]);
  input.pipeInput("a", "x", 950); // too late: dropped by the aggregation, nothing forwarded
  assertEquals(show(d), []);
  assertEquals(d.droppedRecords, 1);
  input.pipeInput("e", "x", 2099);
  assertEquals(show(d), []);
  input.pipeInput("e", "x", 2100);
  assertEquals(show(d), ["c@1000=1@1099", "d@1000=1@1100"]);
  // The aggregation's store still holds every window (the suppression only holds updates back).
  assertEquals(d.getWindowStore<string, number>("wc").fetch("a", 0), 3);
  assertEquals(d.storeSize("final-store"), 1); // e@2000
});

Deno.test("suppress on session windows: merged-away sessions are never forwarded", () => {
  const b = new StreamsBuilder();
  b.stream<string, string>("in").groupByKey()
    .windowedBy(SessionWindows.ofInactivityGapAndGrace(100, 50))
    .count()
    .suppress(Suppressed.untilWindowCloses())
    .toStream()
    .to("out", { keySerde: WindowedSerdes.sessionWindowed(S), valueSerde: L });
  const d = new TopologyTestDriver(b.build(), defaults);
  const input = d.createInputTopic("in", S, S);
  const out = d.createOutputTopic("out", WindowedSerdes.sessionWindowed(S), L);
  const read = () =>
    out.readRecordsToList().map((r) =>
      `${r.key!.key}[${r.key!.window.start},${r.key!.window.end}]=${r.value}@${r.timestamp}`
    );
  input.pipeInput("a", "x", 1000);
  input.pipeInput("a", "x", 1080); // merges into [1000,1080]; [1000,1000] deleted
  input.pipeInput("b", "x", 1120);
  assertEquals(read(), []);
  input.pipeInput("b", "x", 1130); // 1130 - 50 >= 1080: a's session closes
  assertEquals(read(), ["a[1000,1080]=2@1080"]);
  input.pipeInput("c", "x", 1179); // b's session [1120,1130] closes at 1180
  assertEquals(read(), []);
  input.pipeInput("c", "x", 1180);
  assertEquals(read(), ["b[1120,1130]=2@1130"]);
  // Kafka's edge: the aggregation closes a session whose end is before its time minus grace,
  // the suppression one at or before it, so a record at exactly that end still updates a
  // session already forwarded, and it is forwarded again.
  input.pipeInput("b", "x", 1130); // 1130 is not before 1180 - 50
  assertEquals(read(), ["b[1120,1130]=3@1130"]);
  input.pipeInput("b", "x", 1129); // inside the session: its end stays 1130, not before 1130
  assertEquals(read(), ["b[1120,1130]=4@1129"]);
  assertEquals(d.droppedRecords, 0);
});

Deno.test("suppress: a table that is not windowed is refused; a bounded buffer that fills stops processing", () => {
  const b = new StreamsBuilder();
  const counts = b.stream<string, string>("in").groupByKey().count();
  assert.throws(
    () => counts.suppress(Suppressed.untilWindowCloses()),
    /suppress: untilWindowCloses needs a windowed table/,
  );
  assert.throws(() => BufferConfig.maxRecords(0), RangeError);
  const d = new TopologyTestDriver(
    windowedFinal(
      TimeWindows.ofSizeWithNoGrace(1000),
      Suppressed.untilWindowCloses(BufferConfig.maxRecords(2)),
    ),
    defaults,
  );
  const input = d.createInputTopic("in", S, S);
  input.pipeInput("a", "x", 10);
  input.pipeInput("b", "x", 20);
  input.pipeInput("a", "x", 30); // the same window again: still 2
  assert.throws(
    () => input.pipeInput("c", "x", 40),
    /suppress final: the buffer is full \(2 windows/,
  );
});

/** Records of 12 keys over time, 15% of them late by up to 3 s. */
function generate(count: number, seed: number): Array<[string, number]> {
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const out: Array<[string, number]> = [];
  let t = 100_000;
  for (let i = 0; i < count; i++) {
    t += Math.floor(rnd() * 40);
    out.push([`k${Math.floor(rnd() * 12)}`, rnd() < 0.15 ? t - Math.floor(rnd() * 3000) : t]);
  }
  return out;
}

for (const [size, advance, grace] of [[1000, 1000, 0], [1000, 250, 500], [2000, 500, 1500]]) {
  const windows = () => TimeWindows.ofSizeAndGrace(size, grace).advanceBy(advance);
  const label = `size ${size}, advance ${advance}, grace ${grace}`;

  Deno.test(`suppress (${label}): 3000 records give exactly the model's final results`, () => {
    const records = generate(3000, size + advance + grace);
    const d = new TopologyTestDriver(windowedFinal(windows()), defaults);
    const input = d.createInputTopic("in", S, S);
    for (const [k, ts] of records) input.pipeInput(k, "x", ts);
    const { finals, dropped } = suppressedCountModel(records, size, advance, grace);
    assert(finals.length > 300 && dropped > 20, `${finals.length} finals, ${dropped} dropped`);
    assertEquals(show(d), finals);
    assertEquals(d.droppedRecords, dropped);
  });

  Deno.test(`suppress (${label}): restarts restored from the changelogs neither lose nor repeat a final result`, async () => {
    const records = generate(3000, size * 3 + advance + grace);
    const out: string[] = [];
    let changelogs = undefined;
    for (const [from, to] of [[0, 500], [500, 1700], [1700, 1701], [1701, 3000]]) {
      const d = await TopologyTestDriver.create(windowedFinal(windows()), {
        ...defaults,
        changelogs,
      });
      const input = d.createInputTopic("in", S, S);
      for (const [k, ts] of records.slice(from, to)) input.pipeInput(k, "x", ts);
      out.push(...show(d));
      await d.commit();
      changelogs = d.changelogs();
      d.close();
    }
    assertEquals(out, suppressedCountModel(records, size, advance, grace).finals);
  });
}
