// Copyright 2026 the Sluice authors. Apache-2.0 license.
// Timestamp synchronisation of a task's partitions (Kafka's PartitionGroup, KIP-353/KIP-695)
// through the test driver: records written with `produce` wait on the simulated broker until
// `poll` fetches them, so a task of two topics can receive them in another order than their
// timestamps'. And KIP-962: left/outer joins forward records without a key, unjoined.
import assert, { deepStrictEqual as assertEquals } from "node:assert/strict";
import {
  JoinWindows,
  type KStream,
  Serdes,
  StreamsBuilder,
  type TestDriverConfig,
  TopologyTestDriver,
} from "./mod.ts";
import { MAX_TASK_IDLE_MS_DISABLED, PartitionGroup } from "./partition_group.ts";

const S = Serdes.String();

/** Clicks (stream `s`) left-joined with the users' regions (table `t`). */
function streamTable(config: TestDriverConfig = {}, left = true) {
  const b = new StreamsBuilder();
  const table = b.table<string, string>("t", { storeName: "regions" });
  const clicks: KStream<string, string> = b.stream("s");
  const joiner = (c: string, r: string | null) => `${c}/${r}`;
  (left ? clicks.leftJoin(table, joiner) : clicks.join(table, joiner)).to("out");
  const d = new TopologyTestDriver(b.build(), {
    defaultKeySerde: S,
    defaultValueSerde: S,
    initialWallClockTimeMs: 0,
    ...config,
  });
  const out = d.createOutputTopic("out", S, S);
  return {
    d,
    s: d.createInputTopic("s", S, S),
    t: d.createInputTopic("t", S, S),
    read: () => out.readRecordsToList().map((o) => `${o.key}:${o.value}@${o.timestamp}`),
  };
}

Deno.test("sync: a table update fetched after a later stream record is applied before it", () => {
  const { d, s, t, read } = streamTable();
  s.produce("u1", "click1", 20);
  t.produce("u1", "eu", 10);
  t.produce("u1", "us", 30);
  // The click is fetched alone: the table's partition has records on the broker, so the task
  // waits for them rather than join the click with nothing.
  d.poll({ s: 1 });
  assertEquals(read(), []);
  // Fetched: eu@10 first, then click1@20 (joins eu), then us@30.
  d.poll();
  assertEquals(read(), ["u1:click1/eu@20"]);
  assertEquals(d.getKeyValueStore<string, string>("regions").get("u1"), "us");
  d.close();
});

Deno.test("sync: a stream-stream join processes two topics' records in timestamp order", () => {
  const b = new StreamsBuilder();
  const l: KStream<string, string> = b.stream("l");
  const r: KStream<string, string> = b.stream("r");
  l.join(r, (x, y) => `${x}+${y}`, JoinWindows.ofTimeDifferenceWithNoGrace(100)).to("out");
  const d = new TopologyTestDriver(b.build(), { defaultKeySerde: S, defaultValueSerde: S });
  const out = d.createOutputTopic("out", S, S);
  const li = d.createInputTopic("l", S, S);
  const ri = d.createInputTopic("r", S, S);
  li.produce("k", "L1", 5);
  li.produce("k", "L2", 30);
  ri.produce("k", "R1", 10);
  ri.produce("k", "R2", 20);
  // One fetch returns all of `l` then all of `r`; processed L1@5 R1@10 R2@20 L2@30.
  d.poll();
  assertEquals(out.readRecordsToList().map((o) => `${o.value}@${o.timestamp}`), [
    "L1+R1@10",
    "L1+R2@20",
    "L2+R1@30",
    "L2+R2@30",
  ]);
  d.close();
});

Deno.test("sync: a merge of two topics comes out in timestamp order across fetches", () => {
  const b = new StreamsBuilder();
  b.stream<string, string>("a").merge(b.stream<string, string>("b")).to("out");
  const d = new TopologyTestDriver(b.build(), { defaultKeySerde: S, defaultValueSerde: S });
  const out = d.createOutputTopic("out", S, S);
  const a = d.createInputTopic("a", S, S);
  const bi = d.createInputTopic("b", S, S);
  for (const ts of [1, 4, 6, 9]) a.produce("k", `a${ts}`, ts);
  for (const ts of [2, 3, 7, 8]) bi.produce("k", `b${ts}`, ts);
  const read = () => out.readRecordsToList().map((o) => o.value);
  // a1 a4 fetched, b2 fetched: a1 b2, then b is empty with records left: wait.
  d.poll({ a: 2, b: 1 });
  assertEquals(read(), ["a1", "b2"]);
  d.poll({ b: 3 });
  // b3 a4, then a empty with a6 a9 on the broker: wait (b7 b8 stay buffered).
  assertEquals(read(), ["b3", "a4"]);
  d.poll();
  assertEquals(read(), ["a6", "b7", "b8", "a9"]);
  d.close();
});

Deno.test("sync: maxTaskIdleMs 0 waits only for records known to be on the broker", () => {
  const { d, s, t, read } = streamTable();
  t.produce("u1", "eu", 10);
  // Piped clicks are fetched at once; the table's record is not fetched yet (lag 1).
  s.pipeInput("u1", "click1", 20);
  assertEquals(read(), []);
  d.advanceWallClockTime(60_000);
  assertEquals(read(), [], "a known lag is waited for however long");
  d.poll();
  assertEquals(read(), ["u1:click1/eu@20"]);
  // Nothing on the broker for the table: a click goes at once (enforced processing).
  s.pipeInput("u1", "click2", 25);
  assertEquals(read(), ["u1:click2/eu@25"]);
  d.close();
});

Deno.test("sync: maxTaskIdleMs > 0 waits that long for a caught-up partition, then enforces", () => {
  const { d, s, t, read } = streamTable({ maxTaskIdleMs: 100 });
  s.pipeInput("u1", "click1", 20);
  assertEquals(read(), [], "the table's partition is empty and caught up: idle");
  d.advanceWallClockTime(99);
  assertEquals(read(), []);
  d.advanceWallClockTime(1);
  assertEquals(read(), ["u1:click1/null@20"], "deadline passed: processed without the table");
  // The table's partition stays idle past its deadline (Kafka resets the deadline only when
  // the partition gets records): a new click goes at once.
  s.pipeInput("u1", "click2", 40);
  assertEquals(read(), ["u1:click2/null@40"]);
  // A table update now waits for the clicks' partition (empty, caught up) to idle 100 ms...
  t.pipeInput("u1", "eu", 30);
  d.advanceWallClockTime(50);
  assertEquals(d.getKeyValueStore<string, string>("regions").get("u1"), undefined);
  // ...and a click arriving meanwhile with a later timestamp lets it go first; the click then
  // waits for the table's partition, empty again, to idle 100 ms.
  s.pipeInput("u1", "click3", 35);
  assertEquals(d.getKeyValueStore<string, string>("regions").get("u1"), "eu");
  assertEquals(read(), []);
  d.advanceWallClockTime(99);
  assertEquals(read(), []);
  d.advanceWallClockTime(1);
  assertEquals(read(), ["u1:click3/eu@35"]);
  d.close();
});

Deno.test("sync: maxTaskIdleMs -1 processes what is buffered, in fetch order", () => {
  const { d, s, t, read } = streamTable({ maxTaskIdleMs: -1 });
  t.produce("u1", "eu", 10);
  s.pipeInput("u1", "click1", 20);
  assertEquals(read(), ["u1:click1/null@20"]);
  d.poll();
  s.pipeInput("u1", "click2", 25);
  assertEquals(read(), ["u1:click2/eu@25"]);
  assert.throws(
    () => new TopologyTestDriver(new StreamsBuilder().build(), { maxTaskIdleMs: -2 }),
    /invalid maxTaskIdleMs -2/,
  );
  d.close();
});

Deno.test("KIP-962: stream-table leftJoin forwards a record without a key with a null table value", () => {
  const { d, s, t, read } = streamTable();
  t.pipeInput("u1", "eu", 1);
  s.pipeInput(null, "anon", 5);
  s.pipeInput("u1", "click", 6);
  assertEquals(read(), ["null:anon/null@5", "u1:click/eu@6"]);
  assertEquals(d.droppedRecords, 0);
  d.close();
  // An inner join still drops it.
  const inner = streamTable({}, false);
  inner.t.pipeInput("u1", "eu", 1);
  inner.s.pipeInput(null, "anon", 5);
  assertEquals(inner.read(), []);
  assertEquals(inner.d.droppedRecords, 1);
  inner.d.close();
});

function streamStream(mode: "inner" | "left" | "outer") {
  const b = new StreamsBuilder();
  const l: KStream<string, string> = b.stream("l");
  const r: KStream<string, string> = b.stream("r");
  const joiner = (x: string | null, y: string | null) => `${x}+${y}`;
  const w = JoinWindows.ofTimeDifferenceAndGrace(100, 0);
  const j = mode === "inner"
    ? l.join(r, joiner, w)
    : mode === "left"
    ? l.leftJoin(r, joiner, w)
    : l.outerJoin(r, joiner, w);
  j.to("out");
  const d = new TopologyTestDriver(b.build(), { defaultKeySerde: S, defaultValueSerde: S });
  const out = d.createOutputTopic("out", S, S);
  return {
    d,
    l: d.createInputTopic("l", S, S),
    r: d.createInputTopic("r", S, S),
    read: () => out.readRecordsToList().map((o) => `${o.key}:${o.value}@${o.timestamp}`),
  };
}

Deno.test("KIP-962: stream-stream leftJoin forwards a left record without a key at once", () => {
  const { d, l, r, read } = streamStream("left");
  l.pipeInput("k", "L1", 10);
  l.pipeInput(null, "L0", 20);
  r.pipeInput(null, "R0", 30);
  r.pipeInput("k", "R1", 40);
  assertEquals(read(), ["null:L0+null@20", "k:L1+R1@40"]);
  assertEquals(d.droppedRecords, 1, "the right side's record without a key is dropped");
  d.close();
});

Deno.test("KIP-962: stream-stream outerJoin forwards either side's record without a key at once", () => {
  const { d, l, r, read } = streamStream("outer");
  l.pipeInput(null, "L0", 20);
  r.pipeInput(null, "R0", 30);
  // A null value is still dropped (Kafka: no record to join).
  l.pipeInput(null, null, 35);
  assertEquals(read(), ["null:L0+null@20", "null:null+R0@30"]);
  assertEquals(d.droppedRecords, 1);
  d.close();
  const inner = streamStream("inner");
  inner.l.pipeInput(null, "L0", 20);
  inner.r.pipeInput(null, "R0", 30);
  assertEquals(inner.read(), []);
  assertEquals(inner.d.droppedRecords, 2);
  inner.d.close();
});

Deno.test("PartitionGroup.readyToProcess: unknown lag waits; nothing buffered is never ready", () => {
  const rec = (topic: string, offset: number, timestamp: number) => ({
    topic,
    partition: 0,
    offset,
    timestamp,
    key: null,
    value: null,
    headers: [],
    leaderEpoch: -1,
  });
  const g = new PartitionGroup(["a", "b"], 0);
  g.add([rec("a", 0, 5)], 0, 1);
  assertEquals(g.readyToProcess(0), false, "b's lag is not known yet");
  g.setLag("b", 0);
  assertEquals(g.readyToProcess(0), true, "b caught up: enforced at once with 0");
  assertEquals(g.enforced, 1);
  assertEquals(g.next()?.timestamp, 5);
  g.setLag("a", 0);
  assertEquals(g.readyToProcess(0), false, "nothing buffered");
  g.add([rec("b", 0, 3), rec("b", 1, 9)], 0, 2);
  g.add([rec("a", 1, 4)], 0, 1);
  assertEquals(g.readyToProcess(0), true);
  assertEquals([g.next()?.offset, g.next()?.topic, g.next()?.timestamp, g.next()], [
    0,
    "a",
    9,
    undefined,
  ]);
  g.add([rec("a", 2, 7)], 0, 1);
  g.setLag("b", undefined);
  g.clear();
  assertEquals([g.buffered, g.readyToProcess(0)], [0, false]);
  const never = new PartitionGroup(["a", "b"], MAX_TASK_IDLE_MS_DISABLED);
  never.add([rec("a", 0, 5)], 0, 1);
  assertEquals(never.readyToProcess(0), true, "-1: b's unknown lag is not waited for");
});

Deno.test("sync: a record that does not deserialize takes its turn and is skipped (logAndContinue)", () => {
  const L = Serdes.Int64();
  const b = new StreamsBuilder();
  b.stream<string, number>("a", { valueSerde: L })
    .merge(b.stream<string, number>("b", { valueSerde: L }))
    .to("out", { valueSerde: L });
  const warnings: string[] = [];
  const d = new TopologyTestDriver(b.build(), {
    defaultKeySerde: S,
    deserializationExceptionHandler: "logAndContinue",
    onWarning: (m) => warnings.push(m),
  });
  const out = d.createOutputTopic("out", S, L);
  const a = d.createInputTopic("a", S, L);
  const bad = d.createInputTopic("b", S, S);
  const good = d.createInputTopic("b", S, L);
  a.produce("k", 1, 1);
  a.produce("k", 4, 4);
  good.produce("k", 2, 2);
  bad.produce("k", "not 8 bytes", 3);
  d.poll();
  assertEquals(out.readRecordsToList().map((r) => `${r.value}@${r.timestamp}`), [
    "1@1",
    "2@2",
    "4@4",
  ]);
  assertEquals([d.deserializationErrors, warnings.length], [1, 1]);
  d.close();
});
