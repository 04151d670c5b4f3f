// Copyright 2026 the Sluice authors. Apache-2.0 license.
// Heartbeat fencing (docs/CLUSTER.md "Fencing"): broker processes on a real etcd with a 30 s lease
// and the default 2 s session. A broker SIGSTOPped keeps its lease (and registration) far longer
// than the session, yet the controller, no longer seeing its heartbeats, marks it fenced in etcd
// within a few seconds: its leadership moves and it leaves the ISR, acks=all produce goes on. After
// SIGCONT it unfences itself on the same registration (broker epoch) and rejoins the ISR.
import { ok, strictEqual } from "node:assert/strict";
import { Admin, Client, Producer } from "../../client/mod.ts";
import { EtcdClient } from "../../server/cluster/etcd.ts";
import { MetadataStore } from "../../server/cluster/metadata_store.ts";
import { sharedEtcd } from "../etcd.ts";
import { aliasEtcd } from "./etcd_link.ts";
import { clusterTest, startCluster, startProcessCluster, until } from "./harness.ts";

const etcd = sharedEtcd();

const test = clusterTest("session fencing");

function storeOf(endpoints: string[], clusterName: string): MetadataStore {
  return new MetadataStore(
    new EtcdClient({ endpoints, timeoutMs: 2000 }),
    `/sluice/${clusterName}`,
  );
}

test("SIGSTOP past broker.session.timeout.ms, within the lease: fenced by the controller and out of the ISR; after SIGCONT unfenced on the same broker epoch and back in the ISR", async () => {
  const e = await etcd();
  const c = await startProcessCluster(e, 3, ["sluice.broker.lease.ttl.ms=30000"]);
  const store = storeOf(e.endpoints, c.clusterName);
  const client = new Client({ bootstrapServers: c.bootstrap, retries: 50 });
  let paused: number | undefined;
  try {
    await until("3 registered and unfenced, a controller", async () => {
      const s = await store.snapshot();
      return s.brokers.size === 3 && [...s.brokers.values()].every((b) => !b.value.fenced) &&
        s.controller !== undefined;
    });
    await new Admin(client).createTopics([{
      name: "t",
      numPartitions: 3,
      replicationFactor: 3,
      configs: { "min.insync.replicas": "2" },
    }]);
    await until("every ISR is all three", async () => {
      const s = (await store.snapshot()).partitions.get("t");
      return [0, 1, 2].every((p) => s?.get(p)?.value.isr.length === 3);
    });
    const s0 = await store.snapshot();
    const controller = s0.controller!.value.id;
    const led = (b: number) =>
      [0, 1, 2].filter((p) => s0.partitions.get("t")!.get(p)!.value.leader === b);
    const victim = [1, 2, 3].find((b) => b !== controller && led(b).length > 0)!;
    ok(victim !== undefined, "a broker other than the controller leads a partition of t");
    const p = led(victim)[0];
    const reg0 = s0.brokers.get(victim)!;
    strictEqual(
      (await store.etcd.leaseTimeToLive(
        (await store.etcd.get(store.brokerKey(victim)))!.lease,
      )).grantedTtl,
      30,
    );

    c.brokers[victim - 1].pause(true);
    paused = victim;
    const stoppedAt = performance.now();
    await until(
      "the controller fenced the stopped broker, moved t's leader, shrank the ISR",
      async () => {
        const s = await store.snapshot();
        const b = s.brokers.get(victim);
        const st = s.partitions.get("t")!.get(p)!.value;
        return b?.value.fenced === true && st.leader !== victim && st.leader !== -1 &&
          [0, 1, 2].every((q) => !s.partitions.get("t")!.get(q)!.value.isr.includes(victim));
      },
      20_000,
    );
    const fencedMs = performance.now() - stoppedAt;
    const s1 = await store.snapshot();
    // the same registration (its lease lives on): fenced in place, not expired
    strictEqual(s1.brokers.get(victim)!.createRevision, reg0.createRevision);
    ok(fencedMs < 30_000, `fenced after ${fencedMs} ms, within the lease`);
    // acks=all goes on without it
    const producer = new Producer(client, { acks: -1 });
    const [m] = await producer.send({ topic: "t", messages: [{ partition: p, value: "during" }] });
    ok(m.offset >= 0);

    c.brokers[victim - 1].pause(false);
    paused = undefined;
    const contAt = performance.now();
    await until("unfenced on the same broker epoch and back in the ISR", async () => {
      const s = await store.snapshot();
      const b = s.brokers.get(victim);
      return b !== undefined && b.createRevision === reg0.createRevision &&
        b.value.fenced === false && s.partitions.get("t")!.get(p)!.value.isr.includes(victim);
    }, 30_000);
    const backMs = performance.now() - contAt;
    const [m2] = await producer.send({ topic: "t", messages: [{ partition: p, value: "after" }] });
    strictEqual(m2.offset, m.offset + 1);
    await producer.close();
    const controllerLog = await Deno.readTextFile(c.logs[controller - 1]);
    ok(
      new RegExp(
        `Controller: broker ${victim} \\(broker epoch ${reg0.createRevision}\\) fenced: no heartbeat`,
      )
        .test(controllerLog),
      "the controller's log says why",
    );
    const victimLog = await Deno.readTextFile(c.logs[victim - 1]);
    ok(/was fenced by the controller/.test(victimLog), "the broker's log says it was fenced");
    console.log(
      `broker ${victim} SIGSTOPped: fenced and out of the ISR after ${fencedMs.toFixed(0)} ms ` +
        `(session 2 s, lease 30 s); after SIGCONT unfenced and in the ISR after ` +
        `${backMs.toFixed(0)} ms`,
    );
  } finally {
    if (paused !== undefined) c.brokers[paused - 1].pause(false);
    await client.close();
    store.etcd.close();
    await c.close();
  }
});

test("a broker fenced by the controller while it runs (its heartbeats late, say) unfences itself on the same broker epoch", async () => {
  const e = await etcd();
  const c = await startCluster(e, 3);
  try {
    const b2 = c.brokers[1]!;
    const store = b2.cluster!.store;
    const s0 = await store.snapshot();
    const reg = s0.brokers.get(2)!;
    strictEqual(reg.value.fenced, false);
    const rev = await store.fenceBroker(2, reg.modRevision, s0.controller!.createRevision);
    ok(rev !== undefined, "the registration marked fenced, as the controller does");
    await until("broker 2 sees itself fenced", () => !b2.cluster!.registered);
    await until("broker 2 unfenced again in etcd", async () => {
      const b = (await store.snapshot()).brokers.get(2);
      return b?.value.fenced === false && b.modRevision > rev!;
    });
    const b = (await store.snapshot()).brokers.get(2)!;
    strictEqual(b.createRevision, reg.createRevision, "the same broker epoch");
    await until("broker 2 leads again", () => b2.cluster!.registered);
  } finally {
    await c.close();
  }
});

test("a controller whose view lags (its etcd watch held) fences no one: etcd has their later heartbeats", async () => {
  const e = await etcd();
  const alias = "http://lagging-controller-1.invalid:2379";
  const link = aliasEtcd(alias, e.endpoints[0]);
  const c = await startCluster(e, 3, (i) => ({
    etcdEndpoints: i === 0 ? [alias] : e.endpoints,
  }));
  try {
    const b1 = c.brokers[0]!;
    await until("broker 1 is the controller", () => b1.cluster!.controller?.active === true);
    const beats = new Set<number>();
    const unsubscribe = b1.cluster!.view.onHeartbeat((id) => beats.add(id));
    await until("broker 1 saw heartbeats of brokers 2 and 3", () => beats.has(2) && beats.has(3));
    unsubscribe();
    const store = c.brokers[1]!.cluster!.store;
    // broker 1's watch stream broken, its reconnection held: its view gets nothing, its other
    // calls (keep-alives, writes) go through
    link.set("cut");
    await new Promise((r) => setTimeout(r, 50));
    link.set("watch-held");
    const heldFrom = b1.cluster!.view.revision;
    // bounded: 3 sessions (2 s each), every 200 ms
    for (let round = 0; round < 30; round++) {
      const s = await store.snapshot();
      for (const id of [2, 3]) {
        strictEqual(s.brokers.get(id)?.value.fenced, false, `round ${round}: broker ${id}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    strictEqual(b1.cluster!.view.revision, heldFrom, "broker 1's view did not move meanwhile");
    ok(b1.cluster!.controller?.active, "broker 1 is still the controller");
  } finally {
    link.set("open");
    await c.close();
    link.restore();
  }
});
