// Copyright 2026 the Sluice authors. Apache-2.0 license.
// Operations of cluster mode (docs/CLUSTER.md "Operations") with four in-process brokers on one
// real etcd: a partition moved to other brokers (its leader among the removed ones) while an
// idempotent acks=all producer writes to it, every acknowledged record then read back exactly
// once at its offset and the replicas byte-identical, the removed broker's log gone; a
// reassignment cancelled; one that a controller failover interrupts, completed by the next
// controller; preferred and unclean leader elections; the refusals. The time a move takes is
// printed, not asserted.
import { deepStrictEqual as assertEquals, ok, strictEqual } from "node:assert/strict";
import { Admin, Client, Consumer, type KafkaError, Producer } from "../../client/mod.ts";
import { ErrorCode, errorName } from "../../protocol/errors.ts";
import type { BrokerConfig } from "../../server/config.ts";
import { sharedEtcd } from "../etcd.ts";
import { uniqueTopic } from "../harness.ts";
import { clusterTest, type InProcessCluster, startCluster, until } from "./harness.ts";
import { compareReplicas, readReplica } from "./replicas.ts";

const etcd = sharedEtcd();

const test = clusterTest("cluster operations");

async function withCluster(
  fn: (c: InProcessCluster) => Promise<void>,
  config: Partial<BrokerConfig> = {},
): Promise<void> {
  const c = await startCluster(await etcd(), 4, config);
  try {
    await fn(c);
  } finally {
    await c.close();
  }
}

async function withAdmin<T>(c: InProcessCluster, fn: (a: Admin) => Promise<T>): Promise<T> {
  const client = new Client({ bootstrapServers: c.bootstrapAll(), retries: 20 });
  try {
    return await fn(new Admin(client));
  } finally {
    await client.close();
  }
}

/** Any running broker's view (they converge; tests wait on all of them). */
function views(c: InProcessCluster) {
  return c.brokers.filter((b) => b !== undefined).map((b) => b!.cluster!.view);
}

function replicasOf(c: InProcessCluster, topic: string, p: number): number[][] {
  return views(c).map((v) => v.topic(topic)?.value.replicas[p] ?? []);
}

async function createTopic(
  c: InProcessCluster,
  topic: string,
  replicas: number[],
  configs: Record<string, string> = {},
): Promise<void> {
  await c.brokers.find((b) => b !== undefined)!.cluster!.createTopic({
    name: topic,
    numPartitions: -1,
    replicationFactor: -1,
    assignments: [replicas],
    configs,
  });
  await until(
    `${topic} led by ${replicas[0]} with ISR [${replicas}] everywhere`,
    () =>
      views(c).every((v) => {
        const s = v.partition(topic, 0)?.value;
        return s?.leader === replicas[0] && s.isr.length === replicas.length;
      }),
  );
}

function codeOf(e: KafkaError | null): string {
  return e === null ? "NONE" : errorName(e.code);
}

/** Writes `count` records of `size` bytes to partition 0 with an idempotent acks=all producer. */
async function fill(c: InProcessCluster, topic: string, count: number, size: number) {
  const client = new Client({ bootstrapServers: c.bootstrapAll(), retries: 20 });
  const producer = new Producer(client, { acks: -1, lingerMs: 5 });
  const acked = new Map<number, string>();
  try {
    for (let i = 0; i < count; i += 64) {
      const values = Array.from(
        { length: Math.min(64, count - i) },
        (_, j) => `fill-${i + j}-`.padEnd(size, "x"),
      );
      const metas = await producer.send({
        topic,
        messages: values.map((value) => ({ partition: 0, value })),
      });
      metas.forEach((m, j) => acked.set(m.offset, values[j]));
    }
    await producer.flush();
  } finally {
    await producer.close();
    await client.close();
  }
  return acked;
}

/** Every record of partition 0 from offset 0 to `end`, through the cluster (its leader). */
async function readAll(c: InProcessCluster, topic: string, end: number) {
  const client = new Client({ bootstrapServers: c.bootstrapAll(), retries: 20 });
  const consumer = new Consumer(client, { fromBeginning: true });
  const out: { offset: number; value: string }[] = [];
  try {
    await consumer.assign([{ topic, partition: 0 }]);
    const deadline = Date.now() + 60_000;
    while ((out.at(-1)?.offset ?? -1) < end - 1 && Date.now() < deadline) {
      for (const r of await consumer.poll({ maxWaitMs: 200 })) {
        out.push({ offset: r.offset, value: new TextDecoder().decode(r.value!) });
      }
    }
  } finally {
    await consumer.close();
    await client.close();
  }
  return out;
}

async function partitionDirExists(dir: string, topic: string, p: number): Promise<boolean> {
  try {
    await Deno.stat(`${dir}/${topic}-${p}`);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

test("a partition moves to other brokers, leader included, while an idempotent acks=all producer writes; every acknowledged record is there exactly once", async () => {
  await withCluster(async (c) => {
    const topic = uniqueTopic("move");
    await createTopic(c, topic, [1, 2, 3], { "min.insync.replicas": "2" });
    // 16 MiB the new replica must copy
    const filled = await fill(c, topic, 16 * 1024, 1024);
    const acked = new Map(filled);
    const ackedNoOffset: string[] = [];
    // writes go on during the move
    const client = new Client({ bootstrapServers: c.bootstrapAll(), retries: 50 });
    const producer = new Producer(client, { acks: -1, lingerMs: 2 });
    let stop = false;
    let sent = 0;
    const producing = (async () => {
      const deadline = Date.now() + 120_000;
      while (!stop && sent < 200_000 && Date.now() < deadline) {
        const values = Array.from({ length: 20 }, (_, j) => `live-${sent + j}`);
        sent += values.length;
        const metas = await producer.send({
          topic,
          messages: values.map((value) => ({ partition: 0, value })),
        });
        metas.forEach((m, j) => {
          if (m.offset >= 0) acked.set(m.offset, values[j]);
          else ackedNoOffset.push(values[j]);
        });
      }
    })();
    await until("the producer writes", () => sent > 200);
    const started = performance.now();
    const results = await withAdmin(
      c,
      (a) => a.alterPartitionReassignments([{ topic, partition: 0, replicas: [4, 2, 3] }]),
    );
    assertEquals(results.map((r) => codeOf(r.error)), ["NONE"]);
    // in progress: the union, broker 4 adding and broker 1 removing
    const listed = await withAdmin(c, (a) => a.listPartitionReassignments());
    const mine = listed.filter((r) => r.topic === topic);
    if (mine.length > 0) {
      assertEquals(mine[0].replicas, [4, 2, 3, 1]);
      assertEquals(mine[0].addingReplicas, [4]);
      assertEquals(mine[0].removingReplicas, [1]);
    }
    await until(
      "the reassignment completes on every broker",
      () => replicasOf(c, topic, 0).every((r) => r.join() === "4,2,3"),
      120_000,
    );
    const ms = performance.now() - started;
    console.log(
      `moved ${topic}-0 (16 MiB + the live writes) from [1,2,3] to [4,2,3] in ${ms.toFixed(0)} ms`,
    );
    for (const v of views(c)) {
      const s = v.partition(topic, 0)!.value;
      strictEqual(s.leader, 4, "the leader moved to the first replica of the target");
      ok(!s.isr.includes(1), `ISR [${s.isr}] without the removed broker`);
      strictEqual(s.addingReplicas, undefined);
    }
    assertEquals(
      (await withAdmin(c, (a) => a.listPartitionReassignments())).filter((r) => r.topic === topic),
      [],
    );
    await until(
      "broker 1's log of the partition is deleted",
      async () => !(await partitionDirExists(c.dirs[0], topic, 0)),
    );
    strictEqual(c.brokers[0]!.replicaManager!.role(topic, 0), undefined);
    // a few more writes on the new leader, then stop
    const before = sent;
    await until("writes go on after the move", () => sent > before + 200, 60_000);
    stop = true;
    await producing;
    await producer.flush();
    await producer.close();
    await client.close();
    const end = Math.max(...acked.keys()) + 1;
    const records = await readAll(c, topic, end);
    // every acknowledged record exactly once, at its offset; no value twice
    const byOffset = new Map(records.map((r) => [r.offset, r.value]));
    for (const [offset, value] of acked) {
      strictEqual(byOffset.get(offset), value, `offset ${offset}`);
    }
    const counts = new Map<string, number>();
    for (const r of records) counts.set(r.value, (counts.get(r.value) ?? 0) + 1);
    const dups = [...counts].filter(([, n]) => n > 1);
    assertEquals(dups, [], "no record written twice");
    for (const v of ackedNoOffset) strictEqual(counts.get(v), 1, v);
    console.log(
      `${acked.size + ackedNoOffset.length} acknowledged records (${
        acked.size - filled.size
      } during the move), ${records.length} read back: 0 lost, 0 misplaced, 0 duplicated`,
    );
    // the three new replicas are byte-identical up to the high watermark
    const hw = c.brokers[3]!.replicaManager!.offsets(topic, 0)!.highWatermark;
    await until(
      "followers at the leader's log end",
      () =>
        [1, 2].every((i) =>
          c.brokers[i]!.replicaManager!.offsets(topic, 0)!.logEndOffset >=
            c.brokers[3]!.replicaManager!.offsets(topic, 0)!.logEndOffset
        ),
    );
    for (let i = 0; i < 4; i++) await c.stop(i);
    const replicas = [];
    for (const i of [3, 1, 2]) replicas.push((await readReplica(c.dirs[i], topic, 0))!);
    ok(replicas.every((r) => r.logEndOffset >= end), "each replica has every record");
    for (const r of replicas.slice(1)) {
      strictEqual(compareReplicas(replicas[0], r, Math.max(hw, end)), undefined);
    }
    strictEqual(await readReplica(c.dirs[0], topic, 0), undefined, "broker 1 holds no replica");
  });
});

test("a cancelled reassignment goes back to the original replicas; the new replica's log goes", async () => {
  await withCluster(async (c) => {
    const topic = uniqueTopic("cancel");
    await createTopic(c, topic, [1, 2, 3]);
    await fill(c, topic, 16 * 1024, 1024); // more than broker 4 copies before it stops
    const r = await withAdmin(
      c,
      (a) => a.alterPartitionReassignments([{ topic, partition: 0, replicas: [2, 3, 4] }]),
    );
    assertEquals(r.map((x) => codeOf(x.error)), ["NONE"]);
    await c.stop(3); // broker 4 cannot catch up: the reassignment stays in progress
    const listed = await withAdmin(
      c,
      (a) => a.listPartitionReassignments([{ topic, partition: 0 }]),
    );
    assertEquals(listed, [{
      topic,
      partition: 0,
      replicas: [2, 3, 4, 1],
      addingReplicas: [4],
      removingReplicas: [1],
    }]);
    const cancelled = await withAdmin(
      c,
      (a) => a.alterPartitionReassignments([{ topic, partition: 0, replicas: null }]),
    );
    assertEquals(cancelled.map((x) => codeOf(x.error)), ["NONE"]);
    // back to the original replicas without the adding one, in the order they have now (as
    // Kafka's revert does): the leader and the ISR as before
    await until(
      "back to [2,3,1]",
      () => replicasOf(c, topic, 0).every((x) => x.join() === "2,3,1"),
    );
    for (const v of views(c)) {
      const s = v.partition(topic, 0)!.value;
      strictEqual(s.leader, 1);
      assertEquals([...s.isr].sort(), [1, 2, 3]);
      strictEqual(s.addingReplicas, undefined);
    }
    assertEquals(await withAdmin(c, (a) => a.listPartitionReassignments()), []);
    // a second cancel: nothing in progress
    const again = await withAdmin(
      c,
      (a) => a.alterPartitionReassignments([{ topic, partition: 0, replicas: null }]),
    );
    assertEquals(again.map((x) => codeOf(x.error)), ["NO_REASSIGNMENT_IN_PROGRESS"]);
    // broker 4 comes back and deletes what it had copied
    const had = await partitionDirExists(c.dirs[3], topic, 0);
    await c.start(3);
    await until(
      "broker 4's partial copy is deleted",
      async () => !(await partitionDirExists(c.dirs[3], topic, 0)),
    );
    console.log(`broker 4 had a partial copy before the cancel: ${had}`);
  });
});

test("a reassignment interrupted by a controller failover is completed by the next controller", async () => {
  await withCluster(async (c) => {
    const topic = uniqueTopic("failover");
    await createTopic(c, topic, [1, 2, 3]);
    await fill(c, topic, 16 * 1024, 1024); // more than broker 4 copies before it stops
    const r = await withAdmin(
      c,
      (a) => a.alterPartitionReassignments([{ topic, partition: 0, replicas: [4, 2, 3] }]),
    );
    assertEquals(r.map((x) => codeOf(x.error)), ["NONE"]);
    await c.stop(3); // broker 4 stops: in progress
    const controller = views(c)[0].controllerId;
    ok(controller > 0);
    if (controller !== 4) await c.stop(controller - 1);
    await until("another controller", () => {
      const id = views(c)[0].controllerId;
      return id > 0 && id !== controller;
    });
    await until(
      "still in progress",
      () => views(c).every((v) => v.partition(topic, 0)?.value.addingReplicas?.join() === "4"),
    );
    await c.start(3);
    if (controller !== 4) await c.start(controller - 1);
    await until(
      "the new controller completes the reassignment",
      () => replicasOf(c, topic, 0).every((x) => x.join() === "4,2,3"),
      60_000,
    );
    await until(
      "broker 1's log of the partition is deleted",
      async () => !(await partitionDirExists(c.dirs[0], topic, 0)),
    );
    // the leader stays where it is when the target keeps it; a preferred election moves it
    const s = views(c)[0].partition(topic, 0)!.value;
    ok([4, 2, 3].includes(s.leader), `leader ${s.leader}`);
    const e = await withAdmin(c, (a) => a.electLeaders("preferred", [{ topic, partition: 0 }]));
    assertEquals(e.map((x) => codeOf(x.error)), [s.leader === 4 ? "ELECTION_NOT_NEEDED" : "NONE"]);
    await until(
      "broker 4 leads",
      () => views(c).every((v) => v.partition(topic, 0)?.value.leader === 4),
    );
  });
});

test("preferred election moves leadership back to the first replica once it is in the ISR", async () => {
  await withCluster(async (c) => {
    const topic = uniqueTopic("preferred");
    await createTopic(c, topic, [1, 2, 3]);
    await fill(c, topic, 100, 100);
    const tp = [{ topic, partition: 0 }];
    let r = await withAdmin(c, (a) => a.electLeaders("preferred", tp));
    assertEquals(r.map((x) => codeOf(x.error)), ["ELECTION_NOT_NEEDED"]);
    await c.stop(0);
    await until(
      "broker 2 leads",
      () => views(c).every((v) => v.partition(topic, 0)?.value.leader === 2),
    );
    r = await withAdmin(c, (a) => a.electLeaders("preferred", tp));
    assertEquals(r.map((x) => codeOf(x.error)), ["PREFERRED_LEADER_NOT_AVAILABLE"]);
    await c.start(0);
    await until(
      "broker 1 back in the ISR",
      () => views(c).every((v) => v.partition(topic, 0)?.value.isr.includes(1) ?? false),
      60_000,
    );
    strictEqual(views(c)[0].partition(topic, 0)!.value.leader, 2);
    // every partition: only this one needs an election (the internal topics' leaders are theirs)
    r = await withAdmin(c, (a) => a.electLeaders("preferred", null));
    ok(r.some((x) => x.topic === topic && x.partition === 0 && x.error === null));
    ok(r.every((x) => x.error?.code !== ErrorCode.ELECTION_NOT_NEEDED));
    await until(
      "broker 1 leads again everywhere",
      () => views(c).every((v) => v.partition(topic, 0)?.value.leader === 1),
    );
    // and serves: a produce and a read through it
    const more = await fill(c, topic, 10, 100);
    ok([...more.keys()].every((o) => o >= 100));
    const all = await readAll(c, topic, 110);
    strictEqual(all.length, 110);
    assertEquals(all.map((x) => x.offset), Array.from({ length: 110 }, (_, i) => i));
  });
});

test("unclean election only for a partition without a live leader, and only when asked", async () => {
  await withCluster(async (c) => {
    const topic = uniqueTopic("unclean");
    await createTopic(c, topic, [1, 2]);
    const tp = [{ topic, partition: 0 }];
    let r = await withAdmin(c, (a) => a.electLeaders("unclean", tp));
    assertEquals(r.map((x) => codeOf(x.error)), ["ELECTION_NOT_NEEDED"]);
    await c.stop(1); // broker 2 leaves the ISR
    await until(
      "ISR [1]",
      () => views(c).every((v) => v.partition(topic, 0)?.value.isr.join() === "1"),
    );
    await c.stop(0); // the last ISR member goes: offline
    await until("offline", () => views(c).every((v) => v.partition(topic, 0)?.value.leader === -1));
    r = await withAdmin(c, (a) => a.electLeaders("unclean", tp));
    assertEquals(r.map((x) => codeOf(x.error)), ["ELIGIBLE_LEADERS_NOT_AVAILABLE"]);
    await c.start(1); // broker 2 is back but not in the ISR: no clean election
    await new Promise((res) => setTimeout(res, 500));
    strictEqual(views(c)[0].partition(topic, 0)!.value.leader, -1);
    r = await withAdmin(c, (a) => a.electLeaders("preferred", tp));
    assertEquals(r.map((x) => codeOf(x.error)), ["PREFERRED_LEADER_NOT_AVAILABLE"]);
    r = await withAdmin(c, (a) => a.electLeaders("unclean", tp));
    assertEquals(r.map((x) => codeOf(x.error)), ["NONE"]);
    await until("broker 2 leads with ISR [2]", () =>
      views(c).every((v) => {
        const s = v.partition(topic, 0)?.value;
        return s?.leader === 2 && s.isr.join() === "2";
      }));
    await fill(c, topic, 5, 10);
  });
});

test("refusals: bad assignments, unknown partitions, nothing to cancel", async () => {
  await withCluster(async (c) => {
    const topic = uniqueTopic("refusals");
    await createTopic(c, topic, [1, 2, 3]);
    const r = await withAdmin(c, (a) =>
      a.alterPartitionReassignments([
        { topic, partition: 0, replicas: [] },
        { topic: `${topic}-none`, partition: 0, replicas: [1] },
        { topic, partition: 5, replicas: [1] },
      ]));
    assertEquals(r.map((x) => codeOf(x.error)), [
      "INVALID_REPLICA_ASSIGNMENT",
      "UNKNOWN_TOPIC_OR_PARTITION",
      "UNKNOWN_TOPIC_OR_PARTITION",
    ]);
    for (const replicas of [[1, 1, 2], [1, 2, 99], [-1]]) {
      const [x] = await withAdmin(
        c,
        (a) => a.alterPartitionReassignments([{ topic, partition: 0, replicas }]),
      );
      strictEqual(codeOf(x.error), "INVALID_REPLICA_ASSIGNMENT", `[${replicas}]`);
      ok(x.error!.message.length > 0);
    }
    const [cancel] = await withAdmin(
      c,
      (a) => a.alterPartitionReassignments([{ topic, partition: 0, replicas: null }]),
    );
    strictEqual(codeOf(cancel.error), "NO_REASSIGNMENT_IN_PROGRESS");
    // the same replicas: nothing to do
    const [same] = await withAdmin(
      c,
      (a) => a.alterPartitionReassignments([{ topic, partition: 0, replicas: [1, 2, 3] }]),
    );
    strictEqual(same.error, null);
    const e = await withAdmin(
      c,
      (a) =>
        a.electLeaders("preferred", [{ topic, partition: 7 }, {
          topic: `${topic}-x`,
          partition: 0,
        }]),
    );
    assertEquals(e.map((x) => codeOf(x.error)), [
      "UNKNOWN_TOPIC_OR_PARTITION",
      "UNKNOWN_TOPIC_OR_PARTITION",
    ]);
    // nothing changed
    assertEquals(replicasOf(c, topic, 0)[0], [1, 2, 3]);
    strictEqual(views(c)[0].partition(topic, 0)!.value.partitionEpoch, 0);
  });
});

for (const enable of [true, false]) {
  test(
    `auto.leader.rebalance.enable=${enable}: ${
      enable ? "the controller moves" : "nothing moves"
    } the leadership back to a restarted preferred replica`,
    async () => {
      await withCluster(async (c) => {
        const topic = uniqueTopic("rebalance");
        await createTopic(c, topic, [1, 2, 3]);
        await c.stop(0);
        await until(
          "broker 2 leads",
          () => views(c).every((v) => v.partition(topic, 0)?.value.leader === 2),
        );
        await c.start(0);
        await until(
          "broker 1 back in the ISR",
          () => views(c).every((v) => v.partition(topic, 0)?.value.isr.includes(1) ?? false),
          60_000,
        );
        if (enable) {
          const ms = await until(
            "broker 1 leads again",
            () => views(c).every((v) => v.partition(topic, 0)?.value.leader === 1),
            30_000,
          );
          console.log(`rebalanced ${ms.toFixed(0)} ms after broker 1 rejoined the ISR`);
        } else {
          // three check intervals: still broker 2
          await new Promise((r) => setTimeout(r, 3500));
          for (const v of views(c)) {
            strictEqual(v.partition(topic, 0)!.value.leader, 2);
          }
        }
      }, { autoLeaderRebalanceEnable: enable, leaderImbalanceCheckIntervalSeconds: 1 });
    },
  );
}
