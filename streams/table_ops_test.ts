// Copyright 2026 the Sluice authors. Apache-2.0 license.
import assert, { deepStrictEqual as assertEquals, throws } from "node:assert/strict";
import { type KTable, type Serde, Serdes, StreamsBuilder, TopologyTestDriver } from "./mod.ts";
import { decodeChange, encodeChange } from "./table_ops.ts";
import { prng } from "./testing.ts";

const S = Serdes.String();
const L = Serdes.Int64();
const defaults = { defaultKeySerde: S, defaultValueSerde: S };
const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array | null) => b === null ? null : new TextDecoder().decode(b);

/** `key:value@timestamp` of every record written to `topic` since the last read. */
function drain<V>(d: TopologyTestDriver, topic: string, vs: Serde<V>): string[] {
  return d.createOutputTopic(topic, S, vs).readRecordsToList().map((r) =>
    `${r.key}:${r.value}@${r.timestamp}`
  );
}

/** Users per region: a table of user -> region re-grouped by region and counted. */
function regionCount() {
  const b = new StreamsBuilder();
  b.table<string, string>("user-regions", { storeName: "users" })
    .groupBy((user, region) => [region, user])
    .count({ storeName: "per-region" })
    .toStream().to("out", { valueSerde: L });
  return b.build();
}

Deno.test("KTable.groupBy count: moves subtract from the old region, deletes subtract only; exact output", () => {
  const topology = regionCount();
  // Kafka's repartition topic name: the store's, as no Grouped name was given.
  assert(topology.describe().includes("per-region-repartition"), topology.describe());
  const d = new TopologyTestDriver(topology, defaults);
  const users = d.createInputTopic("user-regions", S, S);
  users.pipeInput("alice", "europe", 1);
  users.pipeInput("bob", "europe", 2);
  assertEquals(drain(d, "out", L), ["europe:1@1", "europe:2@2"]);
  // A move: the old region first (subtraction), then the new one (addition).
  users.pipeInput("alice", "asia", 3);
  assertEquals(drain(d, "out", L), ["europe:1@3", "asia:1@3"]);
  // The same region again: one repartition record with old and new, one result.
  users.pipeInput("bob", "europe", 4);
  assertEquals(drain(d, "out", L), ["europe:1@4"]);
  users.pipeInput("carol", "asia", 5);
  // A deletion subtracts only; deleting a user never seen forwards nothing.
  users.pipeInput("alice", null, 6);
  users.pipeInput("dave", null, 7);
  assertEquals(drain(d, "out", L), ["asia:2@5", "asia:1@6"]);
  // An emptied region keeps the count 0 (Kafka's count does not delete).
  users.pipeInput("bob", "asia", 8);
  assertEquals(drain(d, "out", L), ["europe:0@8", "asia:2@8"]);
  // An older record: the results keep the aggregates' later timestamps (Kafka's max).
  users.pipeInput("carol", "europe", 5);
  assertEquals(drain(d, "out", L), ["asia:1@8", "europe:1@8"]);
  const store = d.getKeyValueStore<string, number>("per-region");
  assertEquals(store.all(), [["asia", 1], ["europe", 1]]);
  assertEquals(d.getKeyValueStore<string, string>("users").all(), [
    ["bob", "asia"],
    ["carol", "europe"],
  ]);
});

Deno.test("KTable.groupBy reduce and aggregate: adder and subtractor, same-group updates, a Grouped name", () => {
  const b = new StreamsBuilder();
  // user -> "region:score"
  const scores = b.table<string, string>("scores");
  const grouped = scores.groupBy(
    (_user, v) => [v.split(":")[0], Number(v.split(":")[1])],
    { name: "by-region", valueSerde: L },
  );
  grouped.reduce((a, v) => a + v, (a, v) => a - v, { storeName: "sum" })
    .toStream().to("sums", { valueSerde: L });
  const names = scores.groupBy((user, v) => [v.split(":")[0], user], { name: "names" });
  names.aggregate(
    () => "",
    (_r, user, agg) => [...agg.split(",").filter((x) => x), user].sort().join(","),
    (_r, user, agg) => agg.split(",").filter((x) => x && x !== user).join(","),
    { storeName: "members" },
  ).toStream().to("members");
  const topology = b.build();
  const desc = topology.describe();
  assert(desc.includes("by-region-repartition") && desc.includes("names-repartition"), desc);
  const d = new TopologyTestDriver(topology, defaults);
  const input = d.createInputTopic("scores", S, S);
  input.pipeInput("u1", "eu:5", 10);
  input.pipeInput("u2", "eu:3", 11);
  // Same region, new score: subtract 5, add 7 in one step.
  input.pipeInput("u1", "eu:7", 12);
  input.pipeInput("u2", "us:4", 13);
  input.pipeInput("u1", null, 14);
  assertEquals(drain(d, "sums", L), [
    "eu:5@10",
    "eu:8@11",
    "eu:10@12",
    "eu:7@13",
    "us:4@13",
    "eu:0@14",
  ]);
  assertEquals(drain(d, "members", S), [
    "eu:u1@10",
    "eu:u1,u2@11",
    "eu:u1,u2@12",
    "eu:u1@13",
    "us:u2@13",
    "eu:@14",
  ]);
  assertEquals(d.getKeyValueStore<string, number>("sum").all(), [["eu", 0], ["us", 4]]);
  // A reduce whose subtractor gives null deletes the group (a tombstone downstream).
  const b2 = new StreamsBuilder();
  b2.table<string, string>("t").groupBy((k, v) => [v, k])
    .reduce((a, v) => `${a}+${v}`, () => null as unknown as string, { storeName: "r" })
    .toStream().to("o");
  const d2 = new TopologyTestDriver(b2.build(), defaults);
  const t = d2.createInputTopic("t", S, S);
  t.pipeInput("k1", "g", 1);
  t.pipeInput("k2", "g", 2);
  t.pipeInput("k1", "h", 3);
  assertEquals(drain(d2, "o", S), ["g:k1@1", "g:k1+k2@2", "g:null@3", "h:k1@3"]);
});

Deno.test("KTable.groupBy repartition records: Kafka's ChangedSerializer layout", () => {
  // {new}{1}, {old}{0}, {zig-zag varint len(new)}{new}{old}{2}
  assertEquals([...encodeChange(bytes("ab"), null)], [97, 98, 1]);
  assertEquals([...encodeChange(null, bytes("c"))], [99, 0]);
  assertEquals([...encodeChange(bytes("ab"), bytes("c"))], [4, 97, 98, 99, 2]);
  const long = new Uint8Array(200).fill(7);
  const both = encodeChange(long, bytes("x"));
  assertEquals([...both.subarray(0, 2)], [0x90, 0x03]); // zig-zag 400 as a varint
  const back = decodeChange(both);
  assertEquals([back.newValue!.length, text(back.oldValue)], [200, "x"]);
  assertEquals(decodeChange(Uint8Array.of(97, 1, 4)).newValue, bytes("a")); // flag 4: isLatest
  assertEquals(text(decodeChange(Uint8Array.of(99, 1, 3)).oldValue), "c");
  throws(() => encodeChange(null, null), /neither/);
  throws(() => decodeChange(Uint8Array.of(1, 9)), /unknown repartition record flag 9/);
  throws(() => decodeChange(Uint8Array.of(40, 1, 2)), /truncated/);
  throws(() => decodeChange(new Uint8Array(0)), /empty/);
});

/** A KTable-KTable join of tables `left` and `right`, materialized as `joined`. */
function tableJoin(mode: "inner" | "left" | "outer") {
  const b = new StreamsBuilder();
  const left = b.table<string, string>("left", { storeName: "left-store" });
  const right = b.table<string, string>("right", { storeName: "right-store" });
  const joiner = (l: string | null, r: string | null) => `${l}-${r}`;
  const m = { storeName: "joined" };
  const out: KTable<string, string> = mode === "inner"
    ? left.join(right, joiner, m)
    : mode === "left"
    ? left.leftJoin(right, joiner, m)
    : left.outerJoin(right, joiner, m);
  out.toStream().to("out");
  return b.build();
}

// Kafka's "KTable-KTable Equi-Join" semantics table (Kafka Streams developer guide / the "Kafka
// Streams Join Semantics" wiki page): updates of one key, ts: left or right value.
const SEMANTICS: Array<[number, "l" | "r", string | null]> = [
  [1, "l", null],
  [2, "r", null],
  [3, "l", "A"],
  [4, "r", "a"],
  [5, "l", "B"],
  [6, "r", "b"],
  [7, "l", null],
  [8, "r", null],
  [9, "l", "C"],
  [10, "r", "c"],
  [11, "r", null],
  [12, "l", null],
  [13, "r", null],
  [14, "r", "d"],
  [15, "l", "D"],
];

const EXPECTED: Record<"inner" | "left" | "outer", string[]> = {
  inner: ["A-a@4", "B-a@5", "B-b@6", "null@7", "C-c@10", "null@11", "D-d@15"],
  left: [
    "A-null@3",
    "A-a@4",
    "B-a@5",
    "B-b@6",
    "null@7",
    "C-null@9",
    "C-c@10",
    "C-null@11",
    "null@12",
    "D-d@15",
  ],
  outer: [
    "A-null@3",
    "A-a@4",
    "B-a@5",
    "B-b@6",
    "null-b@7",
    "null@8",
    "C-null@9",
    "C-c@10",
    "C-null@11",
    "null@12",
    "null-d@14",
    "D-d@15",
  ],
};

for (const mode of ["inner", "left", "outer"] as const) {
  Deno.test(`KTable-KTable ${mode} join: Kafka's join semantics table, exactly`, () => {
    const d = new TopologyTestDriver(tableJoin(mode), defaults);
    const inputs = { l: d.createInputTopic("left", S, S), r: d.createInputTopic("right", S, S) };
    const out = d.createOutputTopic("out", S, S);
    const got: string[] = [];
    for (const [ts, side, value] of SEMANTICS) {
      inputs[side].pipeInput("k", value, ts);
      for (const r of out.readRecordsToList()) {
        assertEquals(r.key, "k");
        got.push(`${r.value}@${r.timestamp}`);
      }
      if (ts === 8) {
        // Queried in the middle: only the outer join has no result for k after both deleted.
        assertEquals(d.getKeyValueStore("joined").get("k") ?? null, null);
      }
    }
    assertEquals(got, EXPECTED[mode]);
    assertEquals(d.getKeyValueStore("joined").all(), [["k", "D-d"]]);
  });
}

Deno.test("KTable-KTable join without a store: a derived table's getter joins, and feeds a stream-table join", () => {
  const b = new StreamsBuilder();
  const names = b.table<string, string>("names");
  const emails = b.table<string, string>("emails").filter((_k, v) => v.includes("@"));
  const contacts = names.leftJoin(emails, (n, e) => `${n}<${e ?? "?"}>`);
  assertEquals(contacts.queryableStoreName, undefined);
  b.stream<string, string>("mail").join(contacts, (msg, c) => `${msg} to ${c}`).to("sent");
  contacts.toStream().to("changes");
  const d = new TopologyTestDriver(b.build(), defaults);
  const n = d.createInputTopic("names", S, S);
  const e = d.createInputTopic("emails", S, S);
  const mail = d.createInputTopic("mail", S, S);
  n.pipeInput("u1", "Ann", 1);
  e.pipeInput("u1", "ann@x", 2);
  e.pipeInput("u2", "bob@x", 3); // no name: a left join forwards nothing
  e.pipeInput("u1", "not-an-address", 4); // filtered: u1's email reads as deleted
  mail.pipeInput("u1", "hi", 5);
  mail.pipeInput("u2", "hey", 6); // u2 has no result in a left join
  assertEquals(drain(d, "changes", S), ["u1:Ann<?>@1", "u1:Ann<ann@x>@2", "u1:Ann<?>@4"]);
  assertEquals(drain(d, "sent", S), ["u1:hi to Ann<?>@5"]);
});

Deno.test("KTable.groupBy on a join result: the join's old values subtract", () => {
  const b = new StreamsBuilder();
  const region = b.table<string, string>("region");
  const plan = b.table<string, string>("plan");
  region.join(plan, (r, p) => `${r}/${p}`)
    .groupBy((_user, rp) => [rp, "x"])
    .count({ storeName: "by-region-plan" });
  const d = new TopologyTestDriver(b.build(), defaults);
  const r = d.createInputTopic("region", S, S);
  const p = d.createInputTopic("plan", S, S);
  r.pipeInput("u1", "eu", 1);
  p.pipeInput("u1", "free", 2);
  r.pipeInput("u2", "eu", 3);
  p.pipeInput("u2", "free", 4);
  p.pipeInput("u1", "pro", 5);
  r.pipeInput("u2", null, 6);
  assertEquals(d.getKeyValueStore<string, number>("by-region-plan").all(), [
    ["eu/free", 0],
    ["eu/pro", 1],
  ]);
});

/** Random user -> region updates (15% deletions) over 60 users and 7 regions. */
function regionUpdates(seed: number, n: number): Array<[string, string | null, number]> {
  const rnd = prng(seed);
  const out: Array<[string, string | null, number]> = [];
  for (let i = 0; i < n; i++) {
    const user = `u${Math.floor(rnd() * 60)}`;
    const region = rnd() < 0.15 ? null : `r${Math.floor(rnd() * 7)}`;
    // Mostly increasing timestamps, some older (none negative: the default extractor,
    // FailOnInvalidTimestamp, fails a task on one, as Kafka's).
    out.push([user, region, Math.max(0, i * 10 - (rnd() < 0.1 ? Math.floor(rnd() * 300) : 0))]);
  }
  return out;
}

/** Kafka's expected outputs of the region count for the updates: `region:count` in order. */
function regionCountModel(updates: Array<[string, string | null, number]>) {
  const table = new Map<string, string>();
  const counts = new Map<string, number>();
  const outputs: string[] = [];
  for (const [user, region, _ts] of updates) {
    const old = table.get(user) ?? null;
    if (region === null) table.delete(user);
    else table.set(user, region);
    if (old !== null && old === region) {
      outputs.push(`${region}:${counts.get(region)}`);
      continue;
    }
    if (old !== null) {
      counts.set(old, counts.get(old)! - 1);
      outputs.push(`${old}:${counts.get(old)}`);
    }
    if (region !== null) {
      counts.set(region, (counts.get(region) ?? 0) + 1);
      outputs.push(`${region}:${counts.get(region)}`);
    }
  }
  return { outputs, counts };
}

Deno.test("KTable.groupBy count model: 4000 random moves and deletes, every output and the final table exact, with restarts", async () => {
  const updates = regionUpdates(11, 4000);
  const model = regionCountModel(updates);
  const got: string[] = [];
  let changelogs = undefined;
  // Four drivers, each restored from the previous one's changelogs (a restart each time).
  for (let part = 0; part < 4; part++) {
    const d = await TopologyTestDriver.create(regionCount(), { ...defaults, changelogs });
    const users = d.createInputTopic("user-regions", S, S);
    for (const [user, region, ts] of updates.slice(part * 1000, (part + 1) * 1000)) {
      users.pipeInput(user, region, ts);
    }
    const out = d.createOutputTopic("out", S, L).readKeyValuesToList();
    got.push(...out.map(([k, v]) => `${k}:${v}`));
    await d.commit();
    changelogs = d.changelogs();
    if (part === 3) {
      const store = new Map(d.getKeyValueStore<string, number>("per-region").all());
      assertEquals(
        [...store].sort(),
        [...model.counts].sort(),
      );
    }
    d.close();
  }
  assertEquals(got.length, model.outputs.length);
  assertEquals(got, model.outputs);
});

Deno.test("KTable-KTable join model: 3000 random updates and deletes on both sides, each step's result exact (all three joins)", () => {
  for (const mode of ["inner", "left", "outer"] as const) {
    const d = new TopologyTestDriver(tableJoin(mode), defaults);
    const inputs = { l: d.createInputTopic("left", S, S), r: d.createInputTopic("right", S, S) };
    const out = d.createOutputTopic("out", S, S);
    const store = d.getKeyValueStore<string, string>("joined");
    const tables = { l: new Map<string, string>(), r: new Map<string, string>() };
    const expect = (k: string): string | null => {
      const l = tables.l.get(k) ?? null;
      const r = tables.r.get(k) ?? null;
      if (l !== null && r !== null) return `${l}-${r}`;
      if (l !== null && mode !== "inner") return `${l}-null`;
      if (r !== null && mode === "outer") return `null-${r}`;
      return null;
    };
    const rnd = prng(23);
    let outputs = 0;
    for (let i = 0; i < 3000; i++) {
      const side = rnd() < 0.5 ? "l" : "r";
      const key = `k${Math.floor(rnd() * 40)}`;
      const value = rnd() < 0.25 ? null : `${side}${i}`;
      const before = expect(key);
      if (value === null) tables[side].delete(key);
      else tables[side].set(key, value);
      const after = expect(key);
      inputs[side].pipeInput(key, value, i);
      const recs = out.readRecordsToList();
      // At most one result per update, for its key, equal to the join of the tables now.
      assert(recs.length <= 1, `${mode} step ${i}: ${recs.length} results`);
      if (recs.length === 1) {
        assertEquals([recs[0].key, recs[0].value, recs[0].timestamp], [key, after, i]);
        outputs++;
      } else {
        // Nothing forwarded: the result must not have changed.
        assertEquals(after, before, `${mode} step ${i}: ${key} changed without a result`);
      }
      assertEquals(store.get(key) ?? null, after);
    }
    const final = [...new Set([...tables.l.keys(), ...tables.r.keys()])]
      .map((k) => [k, expect(k)] as [string, string | null])
      .filter(([, v]) => v !== null)
      .sort((a, b) => a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);
    assertEquals(store.all(), final);
    assert(outputs > 1000, `${mode}: ${outputs} results`);
  }
});

Deno.test("KTable.groupBy on disk: a reopened driver resumes the counts from the store's checkpoint alone", async () => {
  const stateDir = await Deno.makeTempDir({ prefix: "sluice-ktable-" });
  const topology = () => {
    const b = new StreamsBuilder();
    b.table<string, string>("user-regions", { storeName: "users", persistent: true })
      .groupBy((user, region) => [region, user])
      .count({ storeName: "per-region", persistent: true })
      .toStream().to("out", { valueSerde: L });
    return b.build();
  };
  try {
    const first = await TopologyTestDriver.create(topology(), { ...defaults, stateDir });
    const users = first.createInputTopic("user-regions", S, S);
    users.pipeInput("alice", "europe", 1);
    users.pipeInput("bob", "europe", 2);
    users.pipeInput("carol", "asia", 3);
    await first.commit();
    first.close();
    // No changelogs given: the stores come back from disk only.
    const second = await TopologyTestDriver.create(topology(), { ...defaults, stateDir });
    const again = second.createInputTopic("user-regions", S, S);
    again.pipeInput("alice", "asia", 4);
    again.pipeInput("carol", null, 5);
    assertEquals(drain(second, "out", L), ["europe:1@4", "asia:2@4", "asia:1@5"]);
    assertEquals(second.getKeyValueStore<string, number>("per-region").all(), [
      ["asia", 1],
      ["europe", 1],
    ]);
    second.close();
  } finally {
    await Deno.remove(stateDir, { recursive: true });
  }
});

Deno.test("KTable-KTable join timestamps: the larger of the update's and the other side's value's (Kafka)", () => {
  const b = new StreamsBuilder();
  const left = b.table<string, string>("left", { storeName: "left-store" });
  const right = b.table<string, string>("right", { storeName: "right-store" });
  const joined = left.leftJoin(right, (l, r) => `${l}-${r}`);
  joined.toStream().to("out");
  // A join of the join (no store): its value's timestamp is the larger of both sides'.
  const third = b.table<string, string>("third", { storeName: "third-store" });
  third.join(joined, (t, j) => `${t}+${j}`).toStream().to("out2");
  const d = new TopologyTestDriver(b.build(), defaults);
  const l = d.createInputTopic("left", S, S);
  const r = d.createInputTopic("right", S, S);
  const t = d.createInputTopic("third", S, S);
  l.pipeInput("k", "A", 10);
  r.pipeInput("k", "a", 5); // older than A: the result keeps A's 10
  l.pipeInput("k", "B", 7); // newer than a: 7
  r.pipeInput("k", null, 3); // left join, a deleted: B alone, still max(3, B's 7)
  l.pipeInput("j", "C", 4); // no right side: the update's own 4
  t.pipeInput("k", "T", 1); // the join's value B-null: max(left 7, right none) = 7
  assertEquals(drain(d, "out", S), [
    "k:A-null@10",
    "k:A-a@10",
    "k:B-a@7",
    "k:B-null@7",
    "j:C-null@4",
  ]);
  assertEquals(drain(d, "out2", S), ["k:T+B-null@7"]);
});

Deno.test("KTable-KTable join with a stream aggregation: the aggregate's own timestamp, not the task's time", () => {
  const b = new StreamsBuilder();
  const counts = b.stream<string, string>("clicks").groupByKey().count({ storeName: "clicks" });
  b.table<string, string>("names").join(counts, (n, c) => `${n}:${c}`).toStream().to("out");
  const d = new TopologyTestDriver(b.build(), defaults);
  const clicks = d.createInputTopic("clicks", S, S);
  const names = d.createInputTopic("names", S, S);
  clicks.pipeInput("k", "x", 1);
  names.pipeInput("k", "ann", 9); // max(9, the count's 1)
  clicks.pipeInput("k", "x", 3); // the count's timestamp: max(3, 1) = 3; the result max(3, 9)
  names.pipeInput("k", "bob", 4); // max(4, 3): the task's time (9) is not the count's
  assertEquals(drain(d, "out", S), ["k:ann:1@9", "k:ann:2@9", "k:bob:2@4"]);
});
