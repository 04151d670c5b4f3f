// Copyright 2026 the Sluice authors. Apache-2.0 license.
import { deepStrictEqual as assertEquals, ok, strictEqual } from "node:assert/strict";
import { ClusterView } from "./cluster_view.ts";
import { Controller, nextPartitionState } from "./controller.ts";
import { EtcdClient } from "./etcd.ts";
import { Membership } from "./membership.ts";
import { MetadataStore, type PartitionState } from "./metadata_store.ts";
import { createLogger, type LogLevel } from "../logger.ts";
import { requireEtcd, sharedEtcd, uniquePrefix } from "../../tests/etcd.ts";
import { waitFor } from "../../tests/harness.ts";

const etcdReq = requireEtcd();
const etcd = sharedEtcd();
const logger = createLogger({
  level: (Deno.env.get("SLUICE_TEST_LOG") as LogLevel | undefined) ?? "silent",
});

const s = (leader: number, isr: number[], leaderEpoch = 0, partitionEpoch = 0): PartitionState => ({
  leader,
  leaderEpoch,
  isr,
  partitionEpoch,
});

Deno.test("nextPartitionState(): Kafka's election rules, unclean election disabled", () => {
  const live = (...ids: number[]) => new Set(ids);
  // all alive: nothing to do
  strictEqual(nextPartitionState(s(1, [1, 2, 3]), [1, 2, 3], live(1, 2, 3)), undefined);
  // the leader died: first live ISR member in replica order, leader epoch + 1, it leaves the ISR
  assertEquals(
    nextPartitionState(s(1, [3, 2, 1], 4, 9), [1, 2, 3], live(2, 3)),
    s(2, [3, 2], 5, 10),
  );
  // a follower died: it leaves the ISR; same leader and leader epoch, partition epoch + 1
  assertEquals(
    nextPartitionState(s(1, [1, 2, 3], 4, 9), [1, 2, 3], live(1, 2)),
    s(1, [1, 2], 4, 10),
  );
  // a live replica out of the ISR is never elected (no unclean election): offline, last ISR kept
  assertEquals(nextPartitionState(s(1, [1], 4, 9), [1, 2, 3], live(2, 3)), s(-1, [1], 5, 10));
  // RF=1: offline while its broker is gone, the ISR kept
  assertEquals(nextPartitionState(s(2, [2], 0, 0), [2], live(1, 3)), s(-1, [2], 1, 1));
  strictEqual(nextPartitionState(s(-1, [2], 1, 1), [2], live(1, 3)), undefined);
  // ... and elected again when it comes back
  assertEquals(nextPartitionState(s(-1, [2], 1, 1), [2], live(1, 2, 3)), s(2, [2], 2, 2));
  // of a last ISR of two that died together, the first to return in replica order leads alone
  assertEquals(nextPartitionState(s(-1, [3, 2], 5, 7), [1, 2, 3], live(3)), s(3, [3], 6, 8));
  assertEquals(
    nextPartitionState(s(-1, [3, 2], 5, 7), [1, 2, 3], live(1, 2, 3)),
    s(2, [3, 2], 6, 8),
  );
});

Deno.test("nextPartitionState(): a broker in controlled shutdown hands over and leaves ISRs", () => {
  const live = (...ids: number[]) => new Set(ids);
  const all = live(1, 2, 3);
  // its leadership goes to the first other live ISR member in replica order, it leaves the ISR
  assertEquals(
    nextPartitionState(s(1, [1, 3, 2], 4, 9), [1, 2, 3], all, live(1)),
    s(2, [3, 2], 5, 10),
  );
  // a follower in controlled shutdown leaves the ISR; the leader stays
  assertEquals(
    nextPartitionState(s(2, [1, 2, 3], 4, 9), [1, 2, 3], all, live(3)),
    s(2, [1, 2], 4, 10),
  );
  // no other live ISR member: it keeps leading (no offline partition before it stops)
  strictEqual(nextPartitionState(s(1, [1], 4, 9), [1, 2, 3], all, live(1)), undefined);
  assertEquals(
    nextPartitionState(s(1, [1, 2], 4, 9), [1, 2, 3], live(1, 3), live(1)),
    s(1, [1], 4, 10),
  );
  // ... and other brokers shutting down leave its ISR meanwhile
  assertEquals(nextPartitionState(s(1, [1, 2], 4, 9), [1, 2], all, live(1, 2)), s(1, [1], 4, 10));
  // offline: not elected while shutting down
  strictEqual(nextPartitionState(s(-1, [2], 5, 9), [1, 2], all, live(2)), undefined);
  // none shutting down: the rule as before
  strictEqual(nextPartitionState(s(1, [1, 2, 3]), [1, 2, 3], all, live()), undefined);
});

interface Node {
  store: MetadataStore;
  membership: Membership;
  view: ClusterView;
  controller: Controller;
  close(): Promise<void>;
}

async function node(
  endpoints: string[],
  prefix: string,
  id: number,
  reconcileIntervalMs = 500,
): Promise<Node> {
  const client = new EtcdClient({ endpoints, timeoutMs: 1000 });
  const store = new MetadataStore(client, prefix);
  const membership = new Membership({
    store,
    registration: { id, host: "127.0.0.1", port: 9000 + id, rack: null },
    sessionTimeoutMs: 2000,
    logger,
  });
  const view = new ClusterView({
    store,
    nodeId: id,
    brokerEpoch: () => membership.state.registered ? membership.state.epoch : 0,
    logger,
  });
  await view.start();
  await membership.start();
  await membership.unfence(); // as ClusterNode does once its view caught up
  const controller = new Controller({
    store,
    view,
    membership,
    nodeId: id,
    logger,
    reconcileIntervalMs,
  });
  controller.start();
  return {
    store,
    membership,
    view,
    controller,
    async close() {
      await controller.stop();
      await membership.close();
      view.close();
      client.close();
    },
  };
}

const until = (what: string, cond: () => boolean, ms = 20_000) =>
  waitFor(what, cond, { timeoutMs: ms, intervalMs: 25 });

Deno.test({
  name: "controller: elected with an epoch; on a broker's death it elects from the ISR, " +
    "takes offline what has no live ISR member, and a deposed controller's write is refused",
  ignore: etcdReq.ignore,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    etcdReq.assertAvailable();
    const e = await etcd();
    const prefix = uniquePrefix();
    const a = await node(e.endpoints, prefix, 1);
    await until("1 is controller", () => a.controller.active);
    const b = await node(e.endpoints, prefix, 2);
    const epochA = a.controller.epoch;
    await until("2 sees controller 1", () => b.view.controllerId === 1);
    strictEqual(b.controller.active, false);
    strictEqual(a.view.controller?.createRevision, epochA); // epoch = the key's create revision
    try {
      // t: RF 2 led by 1 and by 2; r: RF 1 on broker 1
      await a.store.createTopic("t", {
        id: "AAAAAAAAAAAAAAAAAAAAAA",
        replicas: [[1, 2], [2, 1]],
        configs: {},
      }, [
        s(1, [1, 2]),
        s(2, [2, 1]),
      ]);
      await a.store.createTopic(
        "r",
        { id: "AAAAAAAAAAAAAAAAAAAAAQ", replicas: [[1]], configs: {} },
        [
          s(1, [1]),
        ],
      );
      await until("b sees the topics", () => b.view.partition("r", 0) !== undefined);

      // broker 1 (the controller) stops renewing its lease: a broker cut off, or SIGSTOPped
      const epoch1 = a.membership.state.epoch;
      const cutAt = Date.now();
      a.membership.pauseKeepAlive(true);
      await until("2 is controller", () => b.controller.active);
      const failoverMs = Date.now() - cutAt;
      ok(b.controller.epoch > epochA, `${b.controller.epoch} > ${epochA}`);
      ok(failoverMs < 10_000, `controller failover took ${failoverMs} ms`);
      await until("t-0 moved to 2", () => b.view.partition("t", 0)?.value.leader === 2);
      assertEquals(b.view.partition("t", 0)!.value, s(2, [2], 1, 1));
      await until("1 left t-1's ISR", () => b.view.partition("t", 1)?.value.isr.length === 1);
      assertEquals(b.view.partition("t", 1)!.value, s(2, [2], 0, 1));
      await until("r-0 offline", () => b.view.partition("r", 0)?.value.leader === -1);
      assertEquals(b.view.partition("r", 0)!.value, s(-1, [1], 1, 1));

      // the deposed controller's write (epoch check) is refused and changes nothing
      const before = (await a.store.readPartition("r", 0))!;
      const refused = await a.controller.writePartitionState(
        "r",
        0,
        before.modRevision,
        s(1, [1], 7, 7),
      );
      strictEqual(refused.ok, false);
      strictEqual(!refused.ok && refused.reason, "fenced");
      strictEqual(a.controller.active, false);
      assertEquals((await a.store.readPartition("r", 0))!.value, s(-1, [1], 1, 1));
      // while the current controller's write with the same revision goes through
      const accepted = await b.controller.writePartitionState(
        "r",
        0,
        before.modRevision,
        before.value,
      );
      strictEqual(accepted.ok, true);

      // broker 1 comes back (a new registration): r-0 gets its only ISR member back as leader;
      // t-0 stays with 2, since 1 is not in its ISR until a leader adds it
      a.membership.pauseKeepAlive(false);
      // registered again fenced (catching up): not elected yet (Kafka elects unfenced brokers)
      await until(
        "1 registered again",
        () => a.membership.state.registered && (b.view.broker(1)?.createRevision ?? 0) > epoch1,
      );
      ok(!b.view.isUnfenced(1), "1 is fenced in b's view");
      await new Promise((r) => setTimeout(r, 1000)); // a reconcile pass or two
      strictEqual(b.view.partition("r", 0)!.value.leader, -1);
      await a.membership.unfence();
      await until("r-0 back", () => b.view.partition("r", 0)?.value.leader === 1);
      assertEquals(b.view.partition("r", 0)!.value, s(1, [1], 2, 2)); // (the write above: epochs 1, 1)
      strictEqual(b.view.partition("t", 0)!.value.leader, 2);
      strictEqual(a.controller.active, false);
      strictEqual(a.view.controllerId, 2);
    } finally {
      await b.close();
      await a.close();
    }
  },
});

Deno.test({
  name: "controller: a broker's death is written in batches of elections, and a partition's " +
    "change is decided for that partition alone (not a pass over all)",
  ignore: etcdReq.ignore,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    etcdReq.assertAvailable();
    const e = await etcd();
    const prefix = uniquePrefix();
    // no periodic pass (an hour): every pass below comes from a change
    const a = await node(e.endpoints, prefix, 1, 3_600_000);
    await until("1 is controller", () => a.controller.active);
    const c = await node(e.endpoints, prefix, 3, 3_600_000);
    const n = 250;
    try {
      await until("1 sees 3", () => a.view.isUnfenced(3));
      await a.store.createTopic(
        "many",
        {
          id: "AAAAAAAAAAAAAAAAAAAAAg",
          replicas: Array.from({ length: n }, () => [3, 1]),
          configs: {},
        },
        Array.from({ length: n }, () => s(3, [3, 1])),
      );
      await until("1 sees every partition", () => a.view.partition("many", n - 1) !== undefined);
      // count the controller's etcd transactions and its reads of partition states
      let txns = 0;
      const txn = a.store.etcd.txn.bind(a.store.etcd);
      a.store.etcd.txn = (r) => {
        // writes of partition states (not the fencing of broker 3, which may come first)
        if (r.success.some((op) => "put" in op && op.put.key.includes("/partitions/"))) txns++;
        return txn(r);
      };
      let reads = 0;
      const partition = a.view.partition.bind(a.view);
      a.view.partition = (t, p) => (reads++, partition(t, p));

      // broker 3 stops renewing its lease: its 250 leaderships move to 1
      c.membership.pauseKeepAlive(true);
      await until(
        "every partition led by 1",
        () =>
          Array.from({ length: n }, (_, p) => a.view.partition("many", p)!.value)
            .every((v) => v.leader === 1),
      );
      for (let p = 0; p < n; p++) assertEquals(a.view.partition("many", p)!.value, s(1, [1], 1, 1));
      // ceil(250 / 100) transactions, not one per partition
      strictEqual(txns, 3);

      // one partition changes (written as its leader would): the controller's next pass reads
      // that partition's state only
      await new Promise((r) => setTimeout(r, 500)); // passes in progress end
      reads = 0;
      txns = 0;
      const p7 = (await a.store.readPartition("many", 7))!;
      const w = await a.store.writePartition("many", 7, p7.modRevision, s(-1, [1], 2, 2), {});
      ok(w.ok);
      // the controller elects 1 again (the only live ISR member) for that partition alone
      // (until the view has the election: before the write reaches it, it still shows the
      // old state, also led by 1)
      await until("many-7 led by 1 again", () => {
        const v = a.view.partition("many", 7)?.value;
        return v !== undefined && v.leader === 1 && v.leaderEpoch > 2;
      });
      assertEquals(a.view.partition("many", 7)!.value, s(1, [1], 3, 3));
      ok(reads < 10, `${reads} reads of partition states for one change`);
      strictEqual(txns, 2); // the write above (same client) and the election
    } finally {
      c.membership.pauseKeepAlive(false);
      await c.close();
      await a.close();
    }
  },
});
