// Copyright 2026 the Sluice authors. Apache-2.0 license.
// Stream–stream leftJoin and outerJoin with Kafka 3.1+ semantics (KStreamKStreamJoin with the
// spurious-results fix): a record without a match waits in the outer-join store and is
// forwarded with a `null` partner, with its own timestamp, only once the join's stream time
// (the largest timestamp either side processed) has passed its time + the window's far edge +
// grace; a match in time gives only the joined result; a record whose window has closed when
// it arrives and that finds no match is forwarded with `null` at once.
import assert, { deepStrictEqual as assertEquals } from "node:assert/strict";
import { JoinWindows, type KStream, Serdes, StreamsBuilder, TopologyTestDriver } from "./mod.ts";
import { type JoinInput as In, type JoinMode as Mode, outerJoinModel as model } from "./testing.ts";

const S = Serdes.String();
const defaults = { defaultKeySerde: S, defaultValueSerde: S };

function topology(windows: JoinWindows, mode: Mode): StreamsBuilder {
  const b = new StreamsBuilder();
  const left: KStream<string, string> = b.stream("l");
  const right: KStream<string, string> = b.stream("r");
  const joiner = (l: string | null, r: string | null) => `${l}+${r}`;
  const joined = mode === "left"
    ? left.leftJoin(right, joiner, windows, { name: "j" })
    : left.outerJoin(right, joiner, windows, { name: "j" });
  joined.to("out");
  return b;
}

function driver(windows: JoinWindows, mode: Mode) {
  const d = new TopologyTestDriver(topology(windows, mode).build(), defaults);
  const inputs = { l: d.createInputTopic("l", S, S), r: d.createInputTopic("r", S, S) };
  const out = d.createOutputTopic("out", S, S);
  return {
    d,
    pipe: (side: "l" | "r", k: string, v: string, ts: number) => inputs[side].pipeInput(k, v, ts),
    read: () => out.readRecordsToList().map((o) => `${o.key}:${o.value}@${o.timestamp}`),
  };
}

Deno.test("leftJoin: a match in time gives only the joined result; no match waits for window + grace", () => {
  const { d, pipe, read } = driver(JoinWindows.ofTimeDifferenceAndGrace(100, 50), "left");
  pipe("l", "k", "L1", 1000);
  pipe("r", "k", "R1", 1100); // just inside the window (1000 + 100)
  assertEquals(read(), ["k:L1+R1@1100"]);
  pipe("l", "k", "L2", 2000);
  pipe("r", "k", "R2", 2101); // just outside: no join; L2 waits (no null result yet)
  assertEquals(read(), []);
  pipe("r", "x", "X1", 2150); // time 2150 = 2000 + 100 + 50: the window is not closed yet
  assertEquals(read(), []);
  pipe("r", "x", "X2", 2151); // now it is: L2 with null, with L2's own timestamp
  assertEquals(read(), ["k:L2+null@2000"]);
  pipe("r", "x", "X3", 3000); // nothing else waits
  assertEquals(read(), []);
  // A match inside the window but arriving late (within grace) still joins, and the left
  // record is not emitted with null afterwards.
  pipe("l", "k", "L3", 3010);
  pipe("r", "x", "X4", 3120); // time 3120: L3's window (3110) closed, grace (3160) not
  pipe("r", "k", "R3", 3105); // out of order, within L3's window: joins
  assertEquals(read(), ["k:L3+R3@3105"]);
  pipe("r", "x", "X5", 4000);
  assertEquals(read(), []);
  // A left record already past its window when it arrives, without a match: null at once.
  pipe("l", "k", "L4", 3850); // 3850 + 100 < 4000
  assertEquals(read(), ["k:L4+null@3850"]);
  // A late left record that finds a match still joins (no drop by lateness).
  pipe("l", "x", "L5", 3950); // X5 at 4000 is within 50 ms
  assertEquals(read(), ["x:L5+X5@4000"]);
  assertEquals(d.droppedRecords, 0);
  // A right record never waits in a left join.
  pipe("r", "z", "Z1", 5000);
  pipe("r", "z", "Z2", 9000);
  assertEquals(read(), []);
  assertEquals(d.storeSize("j-left-shared-join-store"), 0);
});

Deno.test("leftJoin: an out-of-order record closes nothing; the next record at stream time emits, oldest first", () => {
  const { pipe, read } = driver(JoinWindows.ofTimeDifferenceWithNoGrace(100), "left");
  pipe("l", "b", "B1", 1000);
  pipe("l", "a", "A1", 1000); // same time, key a sorts first
  pipe("l", "c", "C1", 900); // out of order, its window (1000) not closed: waits
  assertEquals(read(), []);
  pipe("l", "a", "A2", 1050); // at stream time: closes C1 (1000 < 1050)
  assertEquals(read(), ["c:C1+null@900"]);
  pipe("r", "z", "Z1", 1101); // closes A1, B1 (1100 < 1101), not A2 (1150)
  assertEquals(read(), ["a:A1+null@1000", "b:B1+null@1000"]);
  // Out of order: joins A1 (still in the left store, as in Kafka: it was emitted with null
  // and now joins too) and A2, which no longer waits.
  pipe("r", "a", "R", 1040);
  assertEquals(read(), ["a:A1+R@1040", "a:A2+R@1050"]);
  pipe("r", "z", "Z2", 5000); // A2 was matched: nothing waits
  assertEquals(read(), []);
});

Deno.test("outerJoin: both sides wait, each by its own edge of the window (before/after), and match each other", () => {
  // The right side may be 50 ms before or 200 ms after a left record: a left record closes at
  // its time + 200 + grace, a right record at its time + 50 + grace.
  const windows = JoinWindows.ofTimeDifferenceAndGrace(50, 10).after(200);
  const { d, pipe, read } = driver(windows, "outer");
  pipe("l", "k", "L1", 1000);
  pipe("r", "q", "R1", 1000);
  pipe("l", "x", "X1", 1060); // R1 closes after 1060 (1000 + 50 + 10 = 1060 is not past)
  assertEquals(read(), []);
  pipe("l", "x", "X2", 1061); // R1 closed; L1 still open (1210); X1 waits too
  assertEquals(read(), ["q:null+R1@1000"]);
  pipe("r", "k", "R2", 1199); // joins L1 (1199 <= 1000 + 200)
  assertEquals(read(), ["k:L1+R2@1199"]);
  pipe("r", "y", "Y1", 1300);
  // X1 (1060 + 210 = 1270) and X2 (1271) closed; L1 and R2 matched: neither waits.
  assertEquals(read(), ["x:X1+null@1060", "x:X2+null@1061"]);
  // A right record already past its window when it arrives, without a match: null at once.
  pipe("r", "w", "R3", 1200); // 1200 + 50 < 1300
  assertEquals(read(), ["w:null+R3@1200"]);
  // Late, it still joins what the left store holds (L1: 1200 - 200 <= 1000).
  pipe("r", "k", "R4", 1200);
  assertEquals(read(), ["k:L1+R4@1200"]);
  // Same time on both sides: right before left, as Kafka's store orders them.
  pipe("l", "m", "M1", 2000);
  pipe("r", "n", "N1", 2000);
  pipe("l", "z", "Z", 3000);
  assertEquals(read(), ["y:null+Y1@1300", "n:null+N1@2000", "m:M1+null@2000"]);
  assertEquals(d.storeSize("j-outer-shared-join-store"), 1); // Z waits
});

Deno.test("leftJoin across a restart: waiting records and the join's time come back from the changelogs", async () => {
  const windows = JoinWindows.ofTimeDifferenceWithNoGrace(100);
  const d1 = new TopologyTestDriver(topology(windows, "left").build(), defaults);
  const l1 = d1.createInputTopic("l", S, S);
  l1.pipeInput("k", "L1", 1000);
  l1.pipeInput("z", "L3", 1150);
  d1.createInputTopic("r", S, S).pipeInput("x", "X", 1200); // closes L1, not L3 (1250)
  assertEquals(d1.createOutputTopic("out", S, S).readKeyValuesToList(), [["k", "L1+null"]]);
  await d1.commit();
  const d2 = await TopologyTestDriver.create(topology(windows, "left").build(), {
    ...defaults,
    changelogs: d1.changelogs(),
  });
  d1.close();
  const out = d2.createOutputTopic("out", S, S);
  const show = () => out.readRecordsToList().map((o) => `${o.key}:${o.value}@${o.timestamp}`);
  d2.createInputTopic("l", S, S).pipeInput("y", "L2", 1050); // the join's time is 1200 still
  assertEquals(show(), ["y:L2+null@1050"]); // 1050 + 100 < 1200: at once
  d2.createInputTopic("r", S, S).pipeInput("w", "W", 1251); // L3 waited through the restart
  assertEquals(show(), ["z:L3+null@1150"]);
  assertEquals(d2.storeSize("j-left-shared-join-store"), 0);
  d2.close();
});

/** Both sides mostly in order, the right up to 300 ms behind, 10% later by up to 400 ms. */
function generate(count: number, seed: number): In[] {
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const records: In[] = [];
  let t = 10_000;
  for (let i = 0; i < count; i++) {
    t += Math.floor(rnd() * 30);
    const side = rnd() < 0.5 ? "l" : "r";
    const lag = side === "r" ? Math.floor(rnd() * 300) : 0;
    const late = rnd() < 0.1 ? Math.floor(rnd() * 400) : 0;
    records.push([side, `k${Math.floor(rnd() * 8)}`, `${side}${i}`, t - lag - late]);
  }
  return records;
}

const cases: Array<[Mode, number, number, number]> = [
  ["left", 100, 100, 0],
  ["left", 50, 200, 100],
  ["outer", 100, 100, 0],
  ["outer", 200, 30, 60],
];

for (const [mode, before, after, grace] of cases) {
  const windows = JoinWindows.ofTimeDifferenceAndGrace(before, grace).after(after);
  Deno.test(`${mode}Join (before ${before}, after ${after}, grace ${grace}): 4000 records equal the model`, () => {
    const records = generate(4000, before * 7 + after * 3 + grace + (mode === "outer" ? 1 : 0));
    const { pipe, read } = driver(windows, mode);
    for (const [side, k, v, ts] of records) pipe(side, k, v, ts);
    const expected = model(records, before, after, grace, mode);
    const out = read();
    assert(expected.filter((e) => e.includes("null")).length > 200);
    assert(expected.filter((e) => !e.includes("null")).length > 200);
    assertEquals(out, expected);
  });

  Deno.test(`${mode}Join (before ${before}, after ${after}, grace ${grace}): restarts restored from the changelogs give the uninterrupted output`, async () => {
    const records = generate(3000, before + after + grace + 11);
    const expected = model(records, before, after, grace, mode);
    const out: string[] = [];
    let changelogs = undefined;
    // Three restarts: each driver processes a third, commits, and hands its changelogs on.
    for (const [from, to] of [[0, 700], [700, 1500], [1500, 2200], [2200, 3000]]) {
      const d = await TopologyTestDriver.create(topology(windows, mode).build(), {
        ...defaults,
        changelogs,
      });
      const inputs = { l: d.createInputTopic("l", S, S), r: d.createInputTopic("r", S, S) };
      for (const [side, k, v, ts] of records.slice(from, to)) inputs[side].pipeInput(k, v, ts);
      out.push(
        ...d.createOutputTopic("out", S, S).readRecordsToList().map((o) =>
          `${o.key}:${o.value}@${o.timestamp}`
        ),
      );
      await d.commit();
      changelogs = d.changelogs();
      d.close();
    }
    assertEquals(out, expected);
  });
}

Deno.test("leftJoin/outerJoin: store names, a JoinWindows is required", () => {
  const windows = JoinWindows.ofTimeDifferenceWithNoGrace(10);
  for (const mode of ["left", "outer"] as const) {
    const text = topology(windows, mode).build().describe();
    const stores = mode === "left"
      ? ["j-this-join-store", "j-outer-other-join-store", "j-left-shared-join-store"]
      : ["j-outer-this-join-store", "j-outer-other-join-store", "j-outer-shared-join-store"];
    for (const s of stores) assert(text.includes(s), `${s} in\n${text}`);
  }
  const b = new StreamsBuilder();
  const l = b.stream<string, string>("l");
  const r = b.stream<string, string>("r");
  assert.throws(
    // @ts-expect-error: no JoinWindows
    () => l.leftJoin(r, (a: string, c: string | null) => `${a}${c}`),
    /leftJoin: a stream–stream join needs a JoinWindows/,
  );
  assert.throws(
    // @ts-expect-error: no JoinWindows
    () => l.outerJoin(r, (a: string | null, c: string | null) => `${a}${c}`),
    /outerJoin: joins two streams and needs a JoinWindows/,
  );
});
