// Copyright 2026 the Sluice authors. Apache-2.0 license.
import { deepStrictEqual as assertEquals, ok, strictEqual } from "node:assert/strict";
import { ErrorCode } from "../../protocol/errors.ts";
import { ClusterView, type ReplicaState, type ViewChange } from "./cluster_view.ts";
import { EtcdClient } from "./etcd.ts";
import { MAX_TXN_OPS, MetadataStore, type PartitionState } from "./metadata_store.ts";
import { createLogger, type LogLevel } from "../logger.ts";
import { requireEtcd, sharedEtcd, uniquePrefix } from "../../tests/etcd.ts";
import { waitFor } from "../../tests/harness.ts";

const etcdReq = requireEtcd();
const etcd = sharedEtcd();
const logger = createLogger({
  level: (Deno.env.get("SLUICE_TEST_LOG") as LogLevel | undefined) ?? "silent",
});
const ID = "AAAAAAAAAAAAAAAAAAAAAA";
const ID2 = "AAAAAAAAAAAAAAAAAAAAAQ";

function test(name: string, fn: (store: MetadataStore) => Promise<void>): void {
  Deno.test({
    name: `cluster view: ${name}`,
    ignore: etcdReq.ignore,
    sanitizeOps: false,
    sanitizeResources: false,
    async fn() {
      etcdReq.assertAvailable();
      const e = await etcd();
      const client = new EtcdClient({ endpoints: e.endpoints, timeoutMs: 2000 });
      try {
        await fn(new MetadataStore(client, uniquePrefix()));
      } finally {
        client.close();
      }
    },
  });
}

const until = (what: string, cond: () => boolean, ms = 10_000) =>
  waitFor(what, cond, { timeoutMs: ms });

const state = (leader: number, isr: number[], le = 0, pe = 0): PartitionState => ({
  leader,
  leaderEpoch: le,
  isr,
  partitionEpoch: pe,
});

function registration(id: number) {
  return { id, host: "127.0.0.1", port: 9000 + id, rack: null, incarnation: `i${id}` };
}

test("the cluster id is create-if-absent: the first proposal wins", async (store) => {
  strictEqual(await store.ensureClusterId(undefined), undefined);
  strictEqual(await store.ensureClusterId("first"), "first");
  strictEqual(await store.ensureClusterId("second"), "first");
  strictEqual(await store.ensureClusterId(undefined), "first");
});

test("follows every change in order; a topic too big for one txn is complete", async (store) => {
  const view = new ClusterView({ store, nodeId: 2, brokerEpoch: () => 0, logger });
  const lease = await store.etcd.grantLease(10);
  await store.registerBroker(registration(1), lease.id);
  await view.start();
  const changes: ViewChange[][] = [];
  view.onChange((c) => changes.push(c));
  try {
    assertEquals(view.brokers().map((b) => b.id), [1]);
    const r2 = await store.registerBroker(registration(2), lease.id);
    ok("epoch" in r2);
    // a second registration of id 2 is refused and names the holder
    const again = await store.registerBroker(
      { ...registration(2), incarnation: "other" },
      lease.id,
    );
    strictEqual("holder" in again && again.holder.value.incarnation, "i2");
    // 300 partitions: more than one transaction carries (etcd's --max-txn-ops is 128)
    const n = 3 * MAX_TXN_OPS;
    const replicas = Array.from({ length: n }, (_, p) => [1 + (p % 2), 2 - (p % 2)]);
    const states = replicas.map((r) => state(r[0], r));
    const created = await store.createTopic("big", { id: ID, replicas, configs: {} }, states);
    strictEqual(created.created, true);
    await view.waitForRevision(created.revision);
    strictEqual(view.topic("big")?.value.replicas.length, n);
    for (let p = 0; p < n; p++) assertEquals(view.partition("big", p)?.value, states[p]);
    // the same name again: refused, nothing changed
    const dup = await store.createTopic("big", { id: ID2, replicas: [[1]], configs: {} }, [
      state(1, [1]),
    ]);
    strictEqual(dup.created, false);
    strictEqual(view.topic("big")?.value.id, ID);
    // deletion removes the topic and every partition state, in one revision
    const t = view.topic("big")!;
    strictEqual(await store.deleteTopic("big", t.createRevision), true);
    await until("deleted", () => view.topic("big") === undefined);
    strictEqual(view.partition("big", 0), undefined);
    const deletion = changes.find((c) => c.some((x) => x.kind === "topic" && !x.after))!;
    strictEqual(deletion.filter((x) => x.kind === "partition").length, n);
    // revisions arrive in order and brokers leave with their lease
    await store.etcd.revokeLease(lease.id);
    await until("brokers gone", () => view.brokers().length === 0);
  } finally {
    view.close();
  }
});

/** A TCP forwarder to etcd that can be cut (every connection closed, new ones refused). */
class CuttableProxy {
  readonly port: number;
  readonly #target: number;
  #listener: Deno.Listener | undefined;
  #conns = new Set<Deno.Conn>();

  constructor(target: number) {
    this.#target = target;
    this.#listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    this.port = (this.#listener.addr as Deno.NetAddr).port;
    this.#accept(this.#listener);
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async #accept(l: Deno.Listener): Promise<void> {
    for await (const conn of l) {
      try {
        const up = await Deno.connect({ hostname: "127.0.0.1", port: this.#target });
        this.#conns.add(conn).add(up);
        const pipe = (a: Deno.Conn, b: Deno.Conn) =>
          a.readable.pipeTo(b.writable).catch(() => {}).finally(() => {
            for (const c of [a, b]) {
              this.#conns.delete(c);
              try {
                c.close();
              } catch { /* closed */ }
            }
          });
        pipe(conn, up);
        pipe(up, conn);
      } catch {
        conn.close();
      }
    }
  }

  cut(): void {
    this.#listener?.close();
    this.#listener = undefined;
    for (const c of this.#conns) {
      try {
        c.close();
      } catch { /* closed */ }
    }
    this.#conns.clear();
  }

  heal(): void {
    this.#listener = Deno.listen({ hostname: "127.0.0.1", port: this.port });
    this.#accept(this.#listener);
  }
}

Deno.test({
  name:
    "cluster view: cut off across a compaction, it reads everything again and reports the changes",
  ignore: etcdReq.ignore,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    etcdReq.assertAvailable();
    const e = await etcd();
    const direct = new EtcdClient({ endpoints: e.endpoints, timeoutMs: 2000 });
    const proxy = new CuttableProxy(Number(new URL(e.endpoints[0]).port));
    const viaProxy = new EtcdClient({ endpoints: [proxy.url], timeoutMs: 1000 });
    const prefix = uniquePrefix();
    const store = new MetadataStore(direct, prefix);
    const view = new ClusterView({
      store: new MetadataStore(viaProxy, prefix),
      nodeId: 1,
      brokerEpoch: () => 0,
      logger,
    });
    try {
      await store.createTopic("gone", { id: ID, replicas: [[1]], configs: {} }, [state(1, [1])]);
      await store.createTopic("kept", { id: ID2, replicas: [[1]], configs: {} }, [state(1, [1])]);
      await view.start();
      const changes: ViewChange[] = [];
      const replicaStates: ReplicaState[] = [];
      view.onChange((c) => changes.push(...c));
      view.onPartitionStates((s) => replicaStates.push(...s));
      replicaStates.length = 0;
      proxy.cut();
      // meanwhile: one topic deleted, one partition changed, one topic created; then compacted
      await store.deleteTopic("gone", (await store.readTopic("gone"))!.createRevision);
      const kept = (await store.readPartition("kept", 0))!;
      await store.writePartition("kept", 0, kept.modRevision, state(-1, [1], 1, 1), {});
      const made = await store.createTopic("new", {
        id: "AAAAAAAAAAAAAAAAAAAAAg",
        replicas: [[1]],
        configs: {},
      }, [
        state(1, [1]),
      ]);
      await direct.compact(made.revision);
      proxy.heal();
      await until("the view re-read", () => view.revision >= made.revision, 15_000);
      strictEqual(view.topic("gone"), undefined);
      strictEqual(view.topic("new")?.value.replicas.length, 1);
      assertEquals(view.partition("kept", 0)?.value, state(-1, [1], 1, 1));
      const kinds = changes.map((c) =>
        c.kind === "topic"
          ? `topic ${c.name} ${c.after ? "put" : "delete"}`
          : c.kind === "partition"
          ? `partition ${c.topic}-${c.partition} ${c.after ? "put" : "delete"}`
          : c.kind
      ).sort();
      assertEquals(kinds, [
        "partition gone-0 delete",
        "partition kept-0 put",
        "partition new-0 put",
        "topic gone delete",
        "topic new put",
      ]);
      assertEquals(
        replicaStates.map((s) => `${s.topic}-${s.partition} ${s.leader} ${s.removed}`).sort(),
        ["gone-0 -1 true", "kept-0 -1 false", "new-0 1 false"],
      );
      // and it keeps following after the re-read
      await store.deleteTopic("new", view.topic("new")!.createRevision);
      await until("deletion after the re-read", () => view.topic("new") === undefined);
    } finally {
      view.close();
      proxy.cut();
      viaProxy.close();
      direct.close();
    }
  },
});

test("onPartitionStates: current states at once, then every change of this broker's replicas", async (store) => {
  const view = new ClusterView({ store, nodeId: 2, brokerEpoch: () => 0, logger });
  await store.createTopic("mine", { id: ID, replicas: [[1, 2], [3]], configs: {} }, [
    state(1, [1, 2]),
    state(3, [3]),
  ]);
  await view.start();
  const got: ReplicaState[][] = [];
  view.onPartitionStates((s) => got.push(s));
  try {
    strictEqual(got.length, 1);
    assertEquals(got[0].map((s) => [s.topic, s.partition, s.leader, s.isr, s.replicas]), [
      ["mine", 0, 1, [1, 2], [1, 2]],
    ]);
    // a change of a partition not replicated here is not delivered; one replicated here is
    const p1 = (await store.readPartition("mine", 1))!;
    await store.writePartition("mine", 1, p1.modRevision, state(-1, [3], 1, 1), {});
    const p0 = (await store.readPartition("mine", 0))!;
    const w = await store.writePartition("mine", 0, p0.modRevision, state(2, [2], 1, 1), {});
    ok(w.ok);
    await view.waitForRevision(w.revision);
    strictEqual(got.length, 2);
    assertEquals(
      got[1].map((s) => [s.partition, s.leader, s.leaderEpoch, s.isr, s.partitionEpoch]),
      [
        [0, 2, 1, [2], 1],
      ],
    );
    // a new topic with a replica here, then its deletion (removed: true)
    const made = await store.createTopic("new", { id: ID2, replicas: [[2]], configs: {} }, [
      state(2, [2]),
    ]);
    await view.waitForRevision(made.revision);
    assertEquals(got[2].map((s) => [s.topic, s.partition, s.leader, s.removed]), [
      ["new", 0, 2, false],
    ]);
    await store.deleteTopic("new", view.topic("new")!.createRevision);
    await until("removal delivered", () => got.length === 4);
    assertEquals(got[3].map((s) => [s.topic, s.partition, s.removed]), [["new", 0, true]]);
  } finally {
    view.close();
  }
});

test("alterPartition: Kafka's AlterPartition checks, compare-and-swap, fenced by the broker epoch", async (store) => {
  const lease = await store.etcd.grantLease(10);
  const r1 = await store.registerBroker(registration(1), lease.id);
  await store.registerBroker(registration(2), lease.id);
  await store.registerBroker(registration(3), lease.id);
  let epoch = "epoch" in r1 ? r1.epoch : 0;
  const view = new ClusterView({ store, nodeId: 1, brokerEpoch: () => epoch, logger });
  await store.createTopic("t", { id: ID, replicas: [[1, 2, 3], [2, 1, 3]], configs: {} }, [
    state(1, [1, 2, 3], 3, 7),
    state(2, [2, 1, 3], 0, 0),
  ]);
  await view.start();
  try {
    const alter = (isr: number[], leaderEpoch = 3, partitionEpoch = 7, p = 0) =>
      view.alterPartition("t", p, { isr, leaderEpoch, partitionEpoch });
    strictEqual((await alter([1, 2], 2)).errorCode, ErrorCode.FENCED_LEADER_EPOCH);
    strictEqual((await alter([1, 2], 3, 6)).errorCode, ErrorCode.INVALID_UPDATE_VERSION);
    strictEqual((await alter([2, 3])).errorCode, ErrorCode.INVALID_REQUEST); // leader missing
    strictEqual((await alter([1, 4])).errorCode, ErrorCode.INVALID_REQUEST); // not a replica
    strictEqual((await alter([1, 2], 0, 0, 1)).errorCode, ErrorCode.INVALID_REQUEST); // not leader
    strictEqual(
      (await view.alterPartition("nope", 0, { isr: [1], leaderEpoch: 0, partitionEpoch: 0 }))
        .errorCode,
      ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
    );
    // shrink: partition epoch + 1, same leader epoch
    const shrunk = await alter([1, 2]);
    strictEqual(shrunk.errorCode, ErrorCode.NONE);
    assertEquals(shrunk.state, state(1, [1, 2], 3, 8));
    assertEquals((await store.readPartition("t", 0))!.value, state(1, [1, 2], 3, 8));
    strictEqual(view.partition("t", 0)?.value.partitionEpoch, 8); // the view has it on return
    // the same request again is stale now
    const stale = await alter([1]);
    strictEqual(stale.errorCode, ErrorCode.INVALID_UPDATE_VERSION);
    assertEquals(stale.state, state(1, [1, 2], 3, 8));
    // expand to a broker that is not registered: INELIGIBLE_REPLICA
    const three = await store.etcd.get(store.brokerKey(3));
    await store.etcd.delete(store.brokerKey(3));
    await until("3 gone", () => !view.isLive(3));
    strictEqual((await alter([1, 2, 3], 3, 8)).errorCode, ErrorCode.INELIGIBLE_REPLICA);
    void three;
    // this broker's registration changed (it was fenced and registered again): refused
    epoch = epoch - 1;
    strictEqual((await alter([1], 3, 8)).errorCode, ErrorCode.STALE_BROKER_EPOCH);
    assertEquals((await store.readPartition("t", 0))!.value, state(1, [1, 2], 3, 8));
    epoch = 0;
    strictEqual((await alter([1], 3, 8)).errorCode, ErrorCode.STALE_BROKER_EPOCH);
  } finally {
    view.close();
    await store.etcd.revokeLease(lease.id);
  }
});

test("alterPartition: the calls of one moment go to etcd 100 to a transaction; a bad one among them gets its own answer", async (store) => {
  const lease = await store.etcd.grantLease(10);
  const r1 = await store.registerBroker(registration(1), lease.id);
  await store.registerBroker(registration(2), lease.id);
  const r3 = await store.registerBroker(registration(3), lease.id);
  const epoch = "epoch" in r1 ? r1.epoch : 0;
  const epoch3 = "epoch" in r3 ? r3.epoch : 0;
  const view = new ClusterView({ store, nodeId: 1, brokerEpoch: () => epoch, logger });
  const n = 250;
  await store.createTopic(
    "m",
    { id: ID, replicas: Array.from({ length: n }, () => [1, 2, 3]), configs: {} },
    Array.from({ length: n }, () => state(1, [1, 2], 0, 0)),
  );
  await view.start();
  let txns = 0;
  const txn = store.etcd.txn.bind(store.etcd);
  store.etcd.txn = (r) => {
    if (r.success.some((op) => "put" in op && op.put.key.includes("/partitions/"))) txns++;
    return txn(r);
  };
  try {
    // broker 3 caught up on every partition at once: 250 expansions, in 3 transactions
    const brokerEpochs = [{ brokerId: 3, brokerEpoch: epoch3 }];
    const grown = await Promise.all(
      Array.from(
        { length: n },
        (_, p) =>
          view.alterPartition("m", p, {
            isr: [1, 2, 3],
            leaderEpoch: 0,
            partitionEpoch: 0,
            brokerEpochs,
          }),
      ),
    );
    for (const r of grown) {
      assertEquals(r, { errorCode: ErrorCode.NONE, state: state(1, [1, 2, 3], 0, 1) });
    }
    strictEqual(txns, 3);
    for (let p = 0; p < n; p++) {
      assertEquals((await store.readPartition("m", p))!.value, state(1, [1, 2, 3], 0, 1));
    }
    // 250 shrinks, one stale by the view (answered without etcd) and one not plain (an ISR
    // member that is no replica): the batch with the second goes one by one, each with its
    // exact answer
    txns = 0;
    const shrunk = await Promise.all(
      Array.from({ length: n }, (_, p) =>
        view.alterPartition("m", p, {
          isr: p === 7 ? [1, 4] : [1, 2],
          leaderEpoch: 0,
          partitionEpoch: p === 42 ? 0 : 1,
        })),
    );
    for (let p = 0; p < n; p++) {
      if (p === 42 || p === 7) {
        const code = p === 42 ? ErrorCode.INVALID_UPDATE_VERSION : ErrorCode.INVALID_REQUEST;
        strictEqual(shrunk[p].errorCode, code);
        assertEquals(shrunk[p].state, state(1, [1, 2, 3], 0, 1));
        assertEquals((await store.readPartition("m", p))!.value, state(1, [1, 2, 3], 0, 1));
      } else {
        assertEquals(shrunk[p], { errorCode: ErrorCode.NONE, state: state(1, [1, 2], 0, 2) });
        assertEquals((await store.readPartition("m", p))!.value, state(1, [1, 2], 0, 2));
      }
    }
    // the 99 others of the first batch (0-100 but 7 and 42) alone, then 101-200 and 201-249
    strictEqual(txns, 99 + 2);
  } finally {
    view.close();
    await store.etcd.revokeLease(lease.id);
  }
});
