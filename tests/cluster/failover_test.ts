// Copyright 2026 the Sluice authors. Apache-2.0 license.
// Cluster mode with three broker processes on one real etcd, and real faults: the controller
// SIGKILLed (another is elected once its lease goes, with a higher epoch), a broker SIGKILLed
// (its RF=1 partitions go offline, its RF=3 ones get a new leader from the ISR) and started
// again (its partitions come back, with their records). Timings are printed, not asserted
// (`deno task cluster:failover` measures them over many cycles; docs/CLUSTER.md has figures). The
// leases go when the liveness probe sees the ports refuse (tests/cluster/failure_detection_test.ts),
// or expire.
import { deepStrictEqual as assertEquals, ok, strictEqual } from "node:assert/strict";
import { Admin, Client, Consumer, Producer } from "../../client/mod.ts";
import { EtcdClient } from "../../server/cluster/etcd.ts";
import { MetadataStore } from "../../server/cluster/metadata_store.ts";
import { sharedEtcd } from "../etcd.ts";
import { clusterTest, startProcessCluster, until } from "./harness.ts";

const etcd = sharedEtcd();

const test = clusterTest("cluster failover");

/** The cluster's keys in etcd, read directly (what the brokers' views follow). */
function storeOf(endpoints: string[], clusterName: string): MetadataStore {
  return new MetadataStore(
    new EtcdClient({ endpoints, timeoutMs: 2000 }),
    `/sluice/${clusterName}`,
  );
}

test("SIGKILL of the controller: another broker is elected with a higher epoch", async () => {
  const e = await etcd();
  const c = await startProcessCluster(e, 3);
  const store = storeOf(e.endpoints, c.clusterName);
  try {
    await until("3 registered, a controller", async () => {
      const s = await store.snapshot();
      return s.brokers.size === 3 && s.controller !== undefined;
    });
    for (let round = 0; round < 2; round++) {
      const before = (await store.snapshot()).controller!;
      const victim = c.brokers[before.value.id - 1];
      const killedAt = performance.now();
      await victim.kill();
      const ms = await until("a new controller", async () => {
        const now = (await store.snapshot()).controller;
        return now !== undefined && now.createRevision !== before.createRevision;
      });
      const after = (await store.snapshot()).controller!;
      ok(after.value.id !== before.value.id, `controller ${after.value.id} again`);
      ok(after.createRevision > before.createRevision, "the epoch grows");
      console.log(
        `controller ${before.value.id} (epoch ${before.createRevision}) SIGKILLed; ` +
          `${after.value.id} elected (epoch ${after.createRevision}) after ` +
          `${(performance.now() - killedAt).toFixed(0)} ms (polled ${ms.toFixed(0)} ms)`,
      );
      // every broker's DescribeCluster names the new controller
      const client = new Client({ bootstrapServers: c.bootstrap, retries: 20 });
      try {
        await until("DescribeCluster shows the new controller", async () => {
          const d = await new Admin(client).describeCluster();
          return d.controllerId === after.value.id && d.brokers.length === 2;
        });
      } finally {
        await client.close();
      }
      await victim.start();
      await until("3 registered again", async () => (await store.snapshot()).brokers.size === 3);
    }
  } finally {
    store.etcd.close();
    await c.close();
  }
});

test("SIGKILL of a broker: RF=1 partitions offline, RF=3 ones re-elected from the ISR; back after a restart", async () => {
  const e = await etcd();
  const c = await startProcessCluster(e, 3);
  const store = storeOf(e.endpoints, c.clusterName);
  const client = new Client({ bootstrapServers: c.bootstrap, retries: 30 });
  try {
    await until("3 registered", async () => (await store.snapshot()).brokers.size === 3);
    const admin = new Admin(client);
    await admin.createTopics([
      { name: "r1", numPartitions: 6, replicationFactor: 1 },
      { name: "r3", numPartitions: 3, replicationFactor: 3 },
    ]);
    const producer = new Producer(client);
    for (let p = 0; p < 6; p++) {
      producer.send({ topic: "r1", messages: [{ partition: p, value: `before-${p}` }] });
    }
    await producer.flush();
    const s0 = await store.snapshot();
    const controller = s0.controller!.value.id;
    // the victim: not the controller (that is the previous test), leading an r3 partition
    const victim = [1, 2, 3].find((b) =>
      b !== controller && [0, 1, 2].some((p) =>
        s0.partitions.get("r3")!.get(p)!.value.leader === b
      )
    ) ?? [1, 2, 3].find((b) => b !== controller)!;
    const r1Mine = [0, 1, 2, 3, 4, 5].filter((p) =>
      s0.topics.get("r1")!.value.replicas[p][0] === victim
    );
    const r3Led = [0, 1, 2].filter((p) => s0.partitions.get("r3")!.get(p)!.value.leader === victim);
    ok(r1Mine.length === 2, `victim ${victim} holds r1 ${r1Mine}`);
    const killedAt = performance.now();
    await c.brokers[victim - 1].kill();
    await until("the controller moved the victim's partitions", async () => {
      const s = await store.snapshot();
      return r1Mine.every((p) => s.partitions.get("r1")!.get(p)!.value.leader === -1) &&
        r3Led.every((p) => s.partitions.get("r3")!.get(p)!.value.leader !== victim) &&
        [0, 1, 2].every((p) => !s.partitions.get("r3")!.get(p)!.value.isr.includes(victim));
    });
    console.log(
      `broker ${victim} SIGKILLed: its partitions moved or went offline after ` +
        `${(performance.now() - killedAt).toFixed(0)} ms`,
    );
    const s1 = await store.snapshot();
    for (const p of r1Mine) {
      // RF=1: offline, the ISR kept as the last ISR, leader epoch + 1
      assertEquals(s1.partitions.get("r1")!.get(p)!.value, {
        leader: -1,
        leaderEpoch: 1,
        isr: [victim],
        partitionEpoch: 1,
      });
    }
    for (let p = 0; p < 3; p++) {
      const before = s0.partitions.get("r3")!.get(p)!.value;
      const after = s1.partitions.get("r3")!.get(p)!.value;
      const replicas = s1.topics.get("r3")!.value.replicas[p];
      if (before.leader === victim) {
        // the first live ISR member in replica order, a new leader epoch
        strictEqual(after.leader, replicas.find((b) => b !== victim));
        strictEqual(after.leaderEpoch, before.leaderEpoch + 1);
      } else {
        strictEqual(after.leader, before.leader);
        strictEqual(after.leaderEpoch, before.leaderEpoch);
      }
      assertEquals(after.isr, before.isr.filter((b) => b !== victim));
      strictEqual(after.partitionEpoch, before.partitionEpoch + 1);
    }
    // Metadata from a survivor: the offline partitions, the offline replica
    const [r1] = await admin.describeTopics(["r1"]);
    for (const p of r1Mine) {
      strictEqual(r1.partitions[p].leader, -1);
      assertEquals(r1.partitions[p].offlineReplicas, [victim]);
    }
    // the victim comes back: it registers again (new broker epoch) and leads its partitions
    const epochBefore = s0.brokers.get(victim)!.createRevision;
    await c.brokers[victim - 1].start();
    await until("the victim's RF=1 partitions are back", async () => {
      const s = await store.snapshot();
      return r1Mine.every((p) => s.partitions.get("r1")!.get(p)!.value.leader === victim);
    });
    const s2 = await store.snapshot();
    ok(s2.brokers.get(victim)!.createRevision > epochBefore, "a new broker epoch");
    for (const p of r1Mine) {
      assertEquals(s2.partitions.get("r1")!.get(p)!.value, {
        leader: victim,
        leaderEpoch: 2,
        isr: [victim],
        partitionEpoch: 2,
      });
    }
    // its records are still there, served by it again
    const consumer = new Consumer(client, { fromBeginning: true });
    await consumer.assign(r1Mine.map((p) => ({ topic: "r1", partition: p })));
    const got: string[] = [];
    await until("the records from before the kill", async () => {
      for (const r of await consumer.poll({ maxWaitMs: 200 })) {
        got.push(`${r.partition}:${r.offset}:${new TextDecoder().decode(r.value!)}`);
      }
      return got.length >= r1Mine.length;
    });
    await consumer.close();
    assertEquals(got.sort(), r1Mine.map((p) => `${p}:0:before-${p}`).sort());
    // and takes new records again
    for (const p of r1Mine) {
      await producer.send({ topic: "r1", messages: [{ partition: p, value: "after" }] });
    }
    await producer.close();
  } finally {
    await client.close();
    store.etcd.close();
    await c.close();
  }
});
