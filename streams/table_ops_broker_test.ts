// Copyright 2026 the Sluice authors. Apache-2.0 license.
import assert, { deepStrictEqual as assertEquals } from "node:assert/strict";
import { Admin, Client, Consumer, Producer } from "../client/mod.ts";
import { sharedBroker, uniqueTopic } from "../tests/harness.ts";
import { KafkaStreams, Serdes, StreamsBuilder, type StreamsConfig } from "./mod.ts";
import { decodeChange } from "./table_ops.ts";
import { createTopics, eventually, latestByKey, prng, sorted } from "./testing.ts";

const broker = sharedBroker();
const S = Serdes.String();
const L = Serdes.Int64();

type Update = [string, string | null];

/** Users per region (groupBy + count) and each user's region joined with their plan. */
function topology(users: string, plans: string, counts: string, joined: string) {
  const b = new StreamsBuilder();
  const userTable = b.table<string, string>(users, { storeName: "users" });
  userTable.groupBy((user, region) => [region, user]).count({ storeName: "per-region" })
    .toStream().to(counts, { valueSerde: L });
  const planTable = b.table<string, string>(plans, { storeName: "plans" });
  userTable.join(planTable, (region, plan) => `${region}/${plan}`, { storeName: "user-plans" })
    .toStream().to(joined);
  return b.build();
}

function updates(seed: number, n: number, values: string[]): Update[] {
  const rnd = prng(seed);
  return Array.from({ length: n }, () => [
    `u${Math.floor(rnd() * 40)}`,
    rnd() < 0.15 ? null : values[Math.floor(rnd() * values.length)],
  ]);
}

function apply(table: Map<string, string>, list: Update[]): void {
  for (const [k, v] of list) v === null ? table.delete(k) : table.set(k, v);
}

/** The counts per region a run of updates leaves: every region ever entered, maybe 0. */
function countModel(all: Update[]): Map<string, number> {
  const table = new Map<string, string>();
  const counts = new Map<string, number>();
  for (const [user, region] of all) {
    const old = table.get(user);
    if (old !== undefined) counts.set(old, counts.get(old)! - 1);
    if (region !== null) counts.set(region, (counts.get(region) ?? 0) + 1);
    apply(table, [[user, region]]);
  }
  return counts;
}

/** The repartition records' flags the updates make (Kafka 3.4+): 2 when the group stays, else
 * 0 (old group) and/or 1 (new group). */
function flagModel(all: Update[]): [number, number, number] {
  const table = new Map<string, string>();
  const flags: [number, number, number] = [0, 0, 0];
  for (const [user, region] of all) {
    const old = table.get(user) ?? null;
    if (old !== null && old === region) flags[2]++;
    else {
      if (old !== null) flags[0]++;
      if (region !== null) flags[1]++;
    }
    apply(table, [[user, region]]);
  }
  return flags;
}

function joinModel(users: Map<string, string>, plans: Map<string, string>): Map<string, string> {
  const out = new Map<string, string>();
  for (const [u, r] of users) if (plans.has(u)) out.set(u, `${r}/${plans.get(u)}`);
  return out;
}

async function produceUpdates(client: Client, topic: string, list: Update[]): Promise<void> {
  const producer = new Producer(client);
  try {
    await producer.send({
      topic,
      messages: list.map(([k, v]) => ({ key: k, value: v })),
    });
  } finally {
    await producer.close();
  }
}

async function repartitionFlags(client: Client, topic: string): Promise<[number, number, number]> {
  const info = await client.topic(topic, { refresh: true });
  const consumer = new Consumer(client, { fromBeginning: true, isolationLevel: 1 });
  const flags: [number, number, number] = [0, 0, 0];
  const ends = await new Admin(client).listOffsets(
    info.partitions.map((p) => ({ topic, partition: p.partition, spec: "latest" as const })),
  );
  try {
    await consumer.assign(info.partitions.map((p) => ({ topic, partition: p.partition })));
    const deadline = Date.now() + 60_000;
    while (!consumer.assignment().every((p) => p.offset >= ends[p.partition].offset)) {
      if (Date.now() > deadline) throw new Error(`read ${topic}: did not reach the end`);
      for (const r of await consumer.poll({ maxWaitMs: 200 })) {
        const flag = r.value![r.value!.length - 1];
        decodeChange(r.value!);
        flags[flag]++;
      }
    }
  } finally {
    await consumer.close();
  }
  return flags;
}

Deno.test("KTable.groupBy count and a KTable-KTable join on a broker (exactly-once, restarted: stores restored from their changelogs)", async () => {
  const { bootstrap } = await broker();
  const client = new Client({ bootstrapServers: bootstrap });
  const users = uniqueTopic("users");
  const plans = uniqueTopic("plans");
  const counts = uniqueTopic("counts");
  const joined = uniqueTopic("joined");
  const applicationId = uniqueTopic("ktable-app");
  await createTopics(client, 3, users, plans, counts, joined);
  const config: StreamsConfig = {
    applicationId,
    bootstrapServers: bootstrap,
    defaultKeySerde: S,
    defaultValueSerde: S,
    processingGuarantee: "exactly_once_v2",
    commitIntervalMs: 100,
  };
  const regions = ["eu", "us", "asia", "africa", "oceania"];
  const first = { users: updates(1, 400, regions), plans: updates(2, 200, ["free", "pro"]) };
  const second = { users: updates(3, 400, regions), plans: updates(4, 200, ["free", "pro"]) };
  const userTable = new Map<string, string>();
  const planTable = new Map<string, string>();
  apply(userTable, first.users);
  apply(planTable, first.plans);
  const countsAfter1 = countModel(first.users);
  const joinedAfter1 = joinModel(userTable, planTable);
  const state = (s: KafkaStreams) => ({
    counts: s.store<string, number>("per-region").all(),
    joined: s.store<string, string>("user-plans").all(),
  });
  try {
    await produceUpdates(client, users, first.users);
    await produceUpdates(client, plans, first.plans);
    const a = new KafkaStreams(topology(users, plans, counts, joined), config);
    await a.start();
    try {
      await eventually("the first updates", () => a.metrics().processed >= 600);
      await eventually(
        "the first tables",
        () =>
          JSON.stringify(state(a)) ===
            JSON.stringify({ counts: sorted(countsAfter1), joined: sorted(joinedAfter1) }),
      );
    } finally {
      await a.close();
    }
    // A new instance restores the stores from their changelogs before it processes anything.
    const b = new KafkaStreams(topology(users, plans, counts, joined), config);
    await b.start();
    try {
      assert(b.metrics().restored > 0, `restored ${b.metrics().restored}`);
      assertEquals(state(b), { counts: sorted(countsAfter1), joined: sorted(joinedAfter1) });
      await produceUpdates(client, users, second.users);
      await produceUpdates(client, plans, second.plans);
      apply(userTable, second.users);
      apply(planTable, second.plans);
      const countsFinal = countModel([...first.users, ...second.users]);
      const joinedFinal = joinModel(userTable, planTable);
      await eventually(
        "the second updates",
        () =>
          JSON.stringify(state(b)) ===
            JSON.stringify({ counts: sorted(countsFinal), joined: sorted(joinedFinal) }),
      );
      await eventually("every update processed", () => b.metrics().processed >= 600);
      await b.close();
      // The output topics' latest value per key is the final table (a tombstone for a user
      // whose join result went away).
      const outCounts = await latestByKey(client, counts, (v) => L.deserialize(v)!, {
        readCommitted: true,
      });
      assertEquals(sorted(outCounts.values), sorted(countsFinal));
      const outJoined = await latestByKey(client, joined, (v) => S.deserialize(v), {
        readCommitted: true,
      });
      const live = new Map([...outJoined.values].filter(([, v]) => v !== null)) as Map<
        string,
        string
      >;
      assertEquals(sorted(live), sorted(joinedFinal));
      // Kafka's repartition layout: flag 2 for a same-region update, else 0 and/or 1.
      assertEquals(
        await repartitionFlags(client, `${applicationId}-per-region-repartition`),
        flagModel([...first.users, ...second.users]),
      );
    } finally {
      await b.close();
    }
  } finally {
    await client.close();
  }
});

Deno.test("KTable-KTable join: tables whose topics differ in partition count are refused at start", async () => {
  const { bootstrap } = await broker();
  const client = new Client({ bootstrapServers: bootstrap });
  const left = uniqueTopic("left");
  const right = uniqueTopic("right");
  await createTopics(client, 2, left);
  await createTopics(client, 3, right);
  const b = new StreamsBuilder();
  b.table<string, string>(left).join(b.table<string, string>(right), (l, r) => l + r)
    .toStream().to(uniqueTopic("out"));
  const streams = new KafkaStreams(b.build(), {
    applicationId: uniqueTopic("copart"),
    bootstrapServers: bootstrap,
    defaultKeySerde: S,
    defaultValueSerde: S,
  });
  try {
    await streams.start().then(
      () => assert.fail("started"),
      (e) => assert.match(String(e), /must have the same partition count \((2, 3|3, 2)\)/),
    );
    assertEquals(streams.state, "ERROR");
  } finally {
    await streams.close();
    await client.close();
  }
});
