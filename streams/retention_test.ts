// Copyright 2026 the Sluice authors. Apache-2.0 license.
import { deepStrictEqual as assertEquals, ok, throws } from "node:assert/strict";
import {
  JoinWindows,
  type KStream,
  type ReadOnlyWindowStore,
  Serdes,
  SessionWindows,
  StreamsBuilder,
  TimeWindows,
  TopologyTestDriver,
} from "./mod.ts";
import { BytesStore, sessionKey, windowKey } from "./stores.ts";

const S = Serdes.String();
const defaults = { defaultKeySerde: S, defaultValueSerde: S };
const enc = new TextEncoder();

/** Tumbling counts of 1000 ms windows, no grace, kept `retentionMs`. */
function windowedCount(retentionMs: number, persistent = false) {
  const b = new StreamsBuilder();
  b.stream<string, string>("in").groupByKey()
    .windowedBy(TimeWindows.ofSizeWithNoGrace(1000))
    .count({ storeName: "w", retentionMs, persistent });
  return b.build();
}

function contents(store: ReadOnlyWindowStore<string, number>): string[] {
  return store.all().map(([w, v]) => `${w.key}@${w.window.start}=${v}`);
}

async function dirBytes(dir: string): Promise<number> {
  let n = 0;
  for await (const f of Deno.readDir(dir)) {
    if (f.isFile) n += (await Deno.stat(`${dir}/${f.name}`)).size;
  }
  return n;
}

Deno.test("window store: windows expire with stream time, whole segments are dropped", () => {
  const d = new TopologyTestDriver(windowedCount(5000), defaults);
  const input = d.createInputTopic("in", S, S);
  const store = d.getWindowStore<string, number>("w");
  input.pipeInput("a", "x", 0);
  input.pipeInput("b", "x", 500);
  input.pipeInput("a", "x", 1000);
  input.pipeInput("a", "x", 3000);
  assertEquals(contents(store), ["a@0=1", "a@1000=1", "a@3000=1", "b@0=1"]);
  assertEquals(d.storeSize("w"), 4);
  // Stream time 5500: windows starting before 5500 - 5000 + 1 are gone for reads.
  input.pipeInput("a", "x", 5500);
  assertEquals(contents(store), ["a@1000=1", "a@3000=1", "a@5000=1"]);
  assertEquals(store.fetch("a", 0), undefined);
  assertEquals(store.fetch("b", 0), undefined);
  assertEquals(store.fetchRange("a", 0, 10_000).map(([w]) => w.window.start), [1000, 3000, 5000]);
  // Still in the first segment ([0, 60000)): nothing dropped yet.
  assertEquals(d.storeSize("w"), 5);
  input.pipeInput("a", "x", 61_000);
  assertEquals(contents(store), ["a@61000=1"]);
  assertEquals(d.storeSize("w"), 6);
  // 65000 - 5000 + 1 is past the first segment's last millisecond: it is dropped whole.
  input.pipeInput("a", "x", 65_000);
  assertEquals(contents(store), ["a@61000=1", "a@65000=1"]);
  assertEquals(d.storeSize("w"), 2);
  input.pipeInput("a", "x", 1500); // its window closed long ago
  assertEquals(d.droppedRecords, 1);
  assertEquals(d.storeSize("w"), 2);
  d.close();
});

Deno.test("window store on disk: reopened and restored from the changelog without expired windows", async () => {
  const stateDir = await Deno.makeTempDir();
  try {
    const topology = windowedCount(5000, true);
    const d1 = await TopologyTestDriver.create(topology, { ...defaults, stateDir });
    const in1 = d1.createInputTopic("in", S, S);
    in1.pipeInput("a", "x", 0);
    in1.pipeInput("b", "x", 500);
    in1.pipeInput("a", "x", 3000);
    await d1.commit();
    in1.pipeInput("a", "x", 65_000);
    await d1.commit();
    assertEquals(contents(d1.getWindowStore("w")), ["a@65000=1"]);
    assertEquals(d1.storeSize("w"), 1);
    const changelogs = d1.changelogs();
    // The changelog still holds the expired windows (its delete policy forgets them later).
    assertEquals(changelogs.get("test-driver-w-changelog")!.length, 4);
    d1.close();

    // Reopened from disk alone: the log still holds the old windows; the checkpoint's stream
    // time keeps them out.
    const d2 = await TopologyTestDriver.create(topology, { ...defaults, stateDir });
    assertEquals(contents(d2.getWindowStore("w")), ["a@65000=1"]);
    assertEquals(d2.storeSize("w"), 1);
    const in2 = d2.createInputTopic("in", S, S);
    in2.pipeInput("a", "x", 3500); // stream time resumed at 65000: closed
    in2.pipeInput("a", "x", 65_500);
    assertEquals(contents(d2.getWindowStore("w")), ["a@65000=2"]);
    assertEquals(d2.droppedRecords, 1);
    d2.close();

    // In memory, restored from the whole changelog.
    const d3 = await TopologyTestDriver.create(topology, { ...defaults, changelogs });
    assertEquals(contents(d3.getWindowStore("w")), ["a@65000=1"]);
    assertEquals(d3.storeSize("w"), 1);
    d3.close();
  } finally {
    await Deno.remove(stateDir, { recursive: true });
  }
});

Deno.test("window store on disk: a long run keeps the store and its log bounded", async () => {
  const stateDir = await Deno.makeTempDir();
  try {
    const d = await TopologyTestDriver.create(windowedCount(5000, true), { ...defaults, stateDir });
    const input = d.createInputTopic("in", S, S);
    const keys = 10;
    const n = 20_000; // 2000 windows of 1000 ms per key, 20000 without expiry
    // At most (retention + segment) / size + 1 windows per key are held.
    const bound = keys * ((5000 + 60_000) / 1000 + 1);
    const dir = `${stateDir}/test-driver/0_0/w`;
    let largest = 0;
    let largestLog = 0;
    for (let i = 0; i < n; i++) {
      input.pipeInput(`k${i % keys}`, "x", i * 100);
      if (i % 1000 === 999) {
        await d.commit();
        largest = Math.max(largest, d.storeSize("w"));
        largestLog = Math.max(largestLog, await dirBytes(dir));
      }
    }
    ok(largest <= bound, `store held ${largest} entries, bound ${bound}`);
    // Entries are 26 bytes (2-byte key + 8-byte start, 8-byte count, two lengths); the log is
    // compacted past four times its live bytes plus 64 KiB.
    ok(largestLog <= 4 * 26 * bound + 65_536 + 200, `log ${largestLog} bytes`);
    // Stream time 1999900: windows from 1995000 on are live, one record per key in each.
    const all = contents(d.getWindowStore("w"));
    assertEquals(all.length, keys * 5);
    assertEquals(all.filter((e) => e.endsWith("=1")).length, keys * 5);
    assertEquals(all.slice(0, 5), [
      "k0@1995000=1",
      "k0@1996000=1",
      "k0@1997000=1",
      "k0@1998000=1",
      "k0@1999000=1",
    ]);
    d.close();
  } finally {
    await Deno.remove(stateDir, { recursive: true });
  }
});

Deno.test("session store: sessions expire by their end; a long run stays bounded", () => {
  const b = new StreamsBuilder();
  b.stream<string, string>("in").groupByKey()
    .windowedBy(SessionWindows.ofInactivityGapWithNoGrace(100))
    .count({ storeName: "s", retentionMs: 1000 });
  const d = new TopologyTestDriver(b.build(), defaults);
  const input = d.createInputTopic("in", S, S);
  const n = 5000;
  let largest = 0;
  for (let i = 0; i < n; i++) {
    input.pipeInput(`s${i % 5}`, "x", i * 300); // 1500 ms apart per key: a session each
    largest = Math.max(largest, d.storeSize("s"));
  }
  // (retention + segment) / 1500 + 1 sessions per key.
  ok(largest <= 5 * (Math.ceil(61_000 / 1500) + 1), `store held ${largest} sessions`);
  assertEquals(d.droppedRecords, 0);
  d.close();
});

Deno.test("stream–stream join stores expire after before + after + grace; joins stay exact", () => {
  const b = new StreamsBuilder();
  const left: KStream<string, string> = b.stream("l");
  const right: KStream<string, string> = b.stream("r");
  left.join(right, (l, r) => `${l}+${r}`, JoinWindows.ofTimeDifferenceWithNoGrace(100), {
    name: "j",
  }).to("out");
  const d = new TopologyTestDriver(b.build(), defaults);
  const l = d.createInputTopic("l", S, S);
  const r = d.createInputTopic("r", S, S);
  const n = 6000;
  let largest = 0;
  for (let i = 0; i < n; i++) {
    (i % 2 === 0 ? l : r).pipeInput("k", String(i), i * 100);
    largest = Math.max(
      largest,
      d.storeSize("j-this-join-store"),
      d.storeSize("j-other-join-store"),
    );
  }
  // Each record joins its two neighbours (100 ms apart on the other side).
  const out = d.createOutputTopic("out", S, S).readRecordsToList();
  assertEquals(out.length, n - 1);
  assertEquals(out[0].value, "0+1");
  assertEquals(out[n - 2].value, `${n - 2}+${n - 1}`);
  // Retention 200 ms, segments of 60 s: a side holds at most 60200 / 200 + 1 records.
  ok(largest <= 60_200 / 200 + 1, `a join store held ${largest} records`);
  d.close();
});

Deno.test("retention shorter than the window plus grace is rejected", () => {
  const grouped = () => new StreamsBuilder().stream<string, string>("in").groupByKey();
  throws(
    () => grouped().windowedBy(TimeWindows.ofSizeAndGrace(1000, 500)).count({ retentionMs: 1499 }),
    /retention 1499 ms is less than the window plus its grace period \(1500 ms\)/,
  );
  throws(
    () =>
      grouped().windowedBy(SessionWindows.ofInactivityGapAndGrace(100, 50))
        .count({ retentionMs: 149 }),
    /retention 149 ms is less than the window plus its grace period \(150 ms\)/,
  );
  grouped().windowedBy(TimeWindows.ofSizeAndGrace(1000, 500)).count({ retentionMs: 1500 });
});

Deno.test("BytesStore: session and join keys expire by end and record time, by segment", () => {
  const a = enc.encode("a");
  const sessions = new BytesStore("s", "session", undefined, 1000, 500);
  const v = new Uint8Array([1]);
  sessions.put(sessionKey(a, { start: 0, end: 0 }), v, 0);
  sessions.put(sessionKey(a, { start: 400, end: 900 }), v, 900);
  sessions.put(sessionKey(a, { start: 1200, end: 1400 }), v, 1400);
  sessions.advance(1500); // live from 501: [0,0] hidden, its segment [0, 500) dropped
  assertEquals(sessions.byInnerKey(a).length, 2);
  assertEquals(sessions.size, 2);
  sessions.advance(1950); // live from 951: [400,900] hidden, its segment [500, 1000) kept
  assertEquals(sessions.range().length, 1);
  assertEquals(sessions.size, 2);
  sessions.advance(2000); // live from 1001: dropped
  assertEquals(sessions.size, 1);
  // A write into an expired segment is skipped.
  sessions.put(sessionKey(a, { start: 10, end: 20 }), v, 2000);
  assertEquals(sessions.size, 1);
  // Only the live session is worth a changelog record at the commit.
  assertEquals(sessions.takeDirty().map((c) => c instanceof Uint8Array ? -1 : c.timestamp), [1400]);

  const join = new BytesStore("j", "join", undefined, 200, 100);
  const jk = (ts: number, seq: number) => {
    const k = new Uint8Array(13);
    k[0] = 0x6b;
    new DataView(k.buffer).setBigInt64(1, BigInt(ts));
    new DataView(k.buffer).setUint32(9, seq);
    return k;
  };
  for (let i = 0; i < 6; i++) join.put(jk(i * 50, i), v, i * 50);
  assertEquals(join.size, 6); // the store's time is 250: live from 51, segment [0, 100) kept
  // each write moves the store's time: 450 at the end, live from 251: 250 is expired,
  // segment [200, 300) kept for 250 and 300
  for (let i = 6; i < 10; i++) join.put(jk(i * 50, i), v, i * 50);
  assertEquals(join.range().map((e) => e.key[12]), [6, 7, 8, 9]);
  assertEquals(join.size, 6);
  join.advance(450); // no further
  assertEquals(join.size, 6);

  const windows = new BytesStore("w", "window", undefined, 100, 100);
  windows.put(windowKey(a, 50), v, 50);
  windows.advance(150); // live from 51
  assertEquals(windows.get(windowKey(a, 50)), undefined);
  throws(() => new BytesStore("kv", "kv", undefined, 100), /retention 100 ms needs a kv store/);
});
