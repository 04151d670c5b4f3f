// Copyright 2026 the Sluice authors. Apache-2.0 license.
// ISR expansion refuses ineligible replicas (docs/CLUSTER.md "ISR changes"; Kafka's KIP-841
// and KIP-903): a broker registered again is fenced until its view caught up, and no leader
// adds it to an ISR meanwhile, even though its fetches reach the leader's log end; once it is
// unfenced the leader adds it. A follower whose fetches carry a broker epoch that is not its
// current registration's is not added either. Both are enforced in the AlterPartition's
// compare-and-swap in etcd, so a leader whose view is stale cannot add them. Meanwhile the
// other brokers' Metadata does not list the fenced broker, and the fenced broker's own Metadata
// vouches for no leader. Three in-process brokers on a real etcd.
import { deepStrictEqual as assertEquals, ok, strictEqual } from "node:assert/strict";
import { Client, Connection, Producer } from "../../client/mod.ts";
import { ErrorCode } from "../../protocol/errors.ts";
import { FetchRequest, FetchResponse } from "../../protocol/messages/fetch.ts";
import { MetadataRequest, MetadataResponse } from "../../protocol/messages/metadata.ts";
import { ZERO_UUID } from "../../protocol/primitives.ts";
import type { Broker } from "../../server/mod.ts";
import type { MetadataStore } from "../../server/cluster/metadata_store.ts";
import { requireEtcd, sharedEtcd } from "../etcd.ts";
import { aliasEtcd } from "./etcd_link.ts";
import { startCluster, until } from "./harness.ts";

const etcdReq = requireEtcd();
const etcd = sharedEtcd();

/** `count` records to `topic`-0 through `bootstrap`, acknowledged with `acks`. */
async function produce(bootstrap: string, topic: string, count: number, acks: -1 | 1) {
  const client = new Client({ bootstrapServers: bootstrap, retries: 20 });
  try {
    const producer = new Producer(client, { acks });
    const values = Array.from({ length: count }, (_, i) => ({ partition: 0, value: `v${i}` }));
    await producer.send({ topic, messages: values });
    await producer.close();
  } finally {
    await client.close();
  }
}

/** The ISR of `topic`-0 as etcd has it. */
async function isrInEtcd(store: MetadataStore, topic: string): Promise<number[]> {
  return [...(await store.readPartition(topic, 0))!.value.isr].sort();
}

/**
 * The partition epoch of `topic`-0 as etcd has it: unchanged means no ISR change at all, not
 * even one undone in between two reads (the controller drops a fenced broker from an ISR).
 */
async function partitionEpochInEtcd(store: MetadataStore, topic: string): Promise<number> {
  return (await store.readPartition(topic, 0))!.value.partitionEpoch;
}

/** Metadata v12 of `topic` from one broker. */
async function metadataOf(b: Broker, topic: string): Promise<MetadataResponse> {
  const conn = await Connection.connect({ host: "127.0.0.1", port: b.port });
  try {
    return await conn.send(
      { request: MetadataRequest, response: MetadataResponse },
      MetadataRequest.create({
        topics: [{ topicId: ZERO_UUID, name: topic }],
        allowAutoTopicCreation: false,
      }),
      { version: 12 },
    );
  } finally {
    conn.close();
  }
}

/** A follower's Fetch v15 of `topicId`-0 at `offset` as replica `id` with broker epoch `epoch`. */
async function fetchAsReplica(
  b: Broker,
  topicId: string,
  id: number,
  epoch: number,
  offset: number,
): Promise<number> {
  const conn = await Connection.connect({ host: "127.0.0.1", port: b.port });
  try {
    const res = await conn.send(
      { request: FetchRequest, response: FetchResponse },
      FetchRequest.create({
        replicaId: -1,
        replicaState: { replicaId: id, replicaEpoch: epoch },
        maxWaitMs: 0,
        minBytes: 0,
        topics: [{
          topic: "",
          topicId,
          partitions: [{
            partition: 0,
            currentLeaderEpoch: -1,
            fetchOffset: offset,
            lastFetchedEpoch: -1,
            logStartOffset: 0,
            partitionMaxBytes: 1 << 20,
            replicaDirectoryId: ZERO_UUID,
          }],
        }],
      }),
      { version: 15 },
    );
    return res.errorCode || res.responses[0].partitions[0].errorCode;
  } finally {
    conn.close();
  }
}

Deno.test({
  name: "ISR eligibility: a broker registered again is not added to an ISR while it is fenced, " +
    "though its fetches reach the log end; it is once unfenced",
  ignore: etcdReq.ignore,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    etcdReq.assertAvailable();
    const e = await etcd();
    const alias = "http://isr-broker-3.invalid:2379";
    const link = aliasEtcd(alias, e.endpoints[0]);
    const c = await startCluster(e, 3, (i) => ({
      etcdEndpoints: i === 2 ? [alias] : e.endpoints,
    }));
    try {
      const [b1, b3] = [c.brokers[0]!, c.brokers[2]!];
      const store = b1.cluster!.store;
      await b1.cluster!.createTopic({
        name: "t",
        numPartitions: -1,
        replicationFactor: -1,
        assignments: [[1, 2, 3]],
        configs: {},
      });
      await until("broker 1 leads t-0", () => b1.cluster!.leaderError("t", 0) === undefined);
      await produce(c.bootstrap(0), "t", 100, -1);
      assertEquals(await isrInEtcd(store, "t"), [1, 2, 3]);
      const oldEpoch = b3.cluster!.membership!.state.epoch;

      // broker 3 cut off from etcd: its registration expires, the controller drops it from the ISR
      link.set("cut");
      await until(
        "broker 3's registration expired",
        async () => await store.readBroker(3) === undefined,
      );
      await until("3 left t-0's ISR", async () => !(await isrInEtcd(store, "t")).includes(3));
      await produce(c.bootstrap(0), "t", 100, -1);
      const leo = b1.replicaManager!.offsets("t", 0)!.logEndOffset;
      strictEqual(leo, 200);

      // half-heal: broker 3 registers again, fenced, and its view does not catch up
      link.set("watch-held");
      const membership = b3.cluster!.membership!;
      await until(
        "broker 3 registered again",
        () => membership.state.registered && membership.state.epoch > oldEpoch,
      );
      const newEpoch = membership.state.epoch;
      const partitionEpoch = await partitionEpochInEtcd(store, "t");
      const reg = (await store.readBroker(3))!;
      strictEqual(reg.createRevision, newEpoch);
      strictEqual(reg.value.fenced, true, "registered fenced");
      await until("broker 1 sees broker 3 registered", () => b1.cluster!.view.isLive(3));
      ok(!b1.cluster!.view.isUnfenced(3));
      // its fetches (carrying its new broker epoch) reach the leader's log end
      await until(
        "broker 3's fetches reach the leader's log end",
        () =>
          b1.replicaManager!.followerProgress("t", 0).find((f) => f.nodeId === 3)?.logEndOffset ===
            leo,
      );
      strictEqual(b3.replicaManager!.offsets("t", 0)!.logEndOffset, leo);
      // its replica fetcher sends its broker epoch (Fetch v15)
      await until(
        "broker 3's fetches carry its new broker epoch",
        () =>
          b1.replicaManager!.followerProgress("t", 0).find((f) => f.nodeId === 3)?.brokerEpoch ===
            newEpoch,
      );
      // bounded: 20 rounds over 2 s (the leader may try every 500 ms): never in the ISR
      for (let round = 0; round < 20; round++) {
        assertEquals(await isrInEtcd(store, "t"), [1, 2], `round ${round}: t-0's ISR`);
        strictEqual(
          await partitionEpochInEtcd(store, "t"),
          partitionEpoch,
          `round ${round}: t-0's ISR never changed`,
        );
        ok(!b3.cluster!.registered, `round ${round}: broker 3 still catching up`);
        await new Promise((r) => setTimeout(r, 100));
      }
      // a leader whose view is stale cannot add it either: the compare-and-swap refuses
      const cur = (await store.readPartition("t", 0))!.value;
      const refused = await b1.cluster!.view.alterPartition("t", 0, {
        isr: [1, 2, 3],
        leaderEpoch: cur.leaderEpoch,
        partitionEpoch: cur.partitionEpoch,
        brokerEpochs: [{ brokerId: 3, brokerEpoch: newEpoch }],
      });
      strictEqual(refused.errorCode, ErrorCode.INELIGIBLE_REPLICA);
      ok(refused.message?.includes("fenced"), refused.message);
      assertEquals(await isrInEtcd(store, "t"), [1, 2]);
      strictEqual(await partitionEpochInEtcd(store, "t"), partitionEpoch);

      // Metadata: the others do not list the fenced broker; it vouches for no leader
      const fromLeader = await metadataOf(b1, "t");
      assertEquals(fromLeader.brokers.map((b) => b.nodeId).sort(), [1, 2]);
      assertEquals(fromLeader.topics[0].partitions[0].offlineReplicas, [3]);
      strictEqual(fromLeader.topics[0].partitions[0].leaderId, 1);
      const fromFenced = await metadataOf(b3, "t");
      assertEquals(fromFenced.brokers.map((b) => b.nodeId), [3]);
      strictEqual(fromFenced.controllerId, -1);
      const p = fromFenced.topics[0].partitions[0];
      strictEqual(p.errorCode, ErrorCode.LEADER_NOT_AVAILABLE);
      strictEqual(p.leaderId, -1);
      const unknown = await metadataOf(b3, "no-such-topic");
      strictEqual(unknown.topics[0].errorCode, ErrorCode.LEADER_NOT_AVAILABLE);

      // healed: broker 3 catches up, unfences its registration, and the leader adds it
      link.set("open");
      await until("broker 3 unfenced", () => b3.cluster!.registered);
      strictEqual((await store.readBroker(3))!.value.fenced, false);
      await until("3 back in t-0's ISR", async () => (await isrInEtcd(store, "t")).includes(3));
      assertEquals(await isrInEtcd(store, "t"), [1, 2, 3]);
      const healed = await metadataOf(b3, "t");
      assertEquals(healed.brokers.map((b) => b.nodeId).sort(), [1, 2, 3]);
      strictEqual(healed.topics[0].partitions[0].leaderId, 1);
    } finally {
      await c.close();
      link.restore();
    }
  },
});

Deno.test({
  name: "ISR eligibility: a follower whose fetches carry a stale broker epoch is not added to " +
    "the ISR; with its current epoch it is",
  ignore: etcdReq.ignore,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    etcdReq.assertAvailable();
    const e = await etcd();
    const c = await startCluster(e, 3);
    const b1 = c.brokers[0]!;
    const store = b1.cluster!.store;
    // broker 4: registered by this test, which fetches as it
    const reg = {
      id: 4,
      host: "127.0.0.1",
      port: 1,
      rack: null,
      incarnation: "test-4",
      fenced: true,
    };
    const register = async () => {
      const lease = await store.etcd.grantLease(60);
      const r = await store.registerBroker(reg, lease.id);
      ok("epoch" in r, "broker 4 registered");
      ok(await store.setBrokerFenced(reg, r.epoch, lease.id, false) !== undefined);
      await until(
        "broker 1 sees broker 4 unfenced at its epoch",
        () =>
          b1.cluster!.view.isUnfenced(4) &&
          b1.cluster!.view.broker(4)?.createRevision === r.epoch,
      );
      return { epoch: r.epoch, lease: lease.id };
    };
    let four = await register();
    try {
      const created = await b1.cluster!.createTopic({
        name: "s",
        numPartitions: -1,
        replicationFactor: -1,
        assignments: [[1, 2, 4]],
        configs: {},
      });
      await until("broker 1 leads s-0", () => b1.cluster!.leaderError("s", 0) === undefined);
      await produce(c.bootstrap(0), "s", 50, 1);
      // broker 4 out of the ISR (as its leader would after replica.lag.time.max.ms)
      const cur = (await store.readPartition("s", 0))!;
      const w = await store.writePartition("s", 0, cur.modRevision, {
        ...cur.value,
        isr: [1, 2],
        partitionEpoch: cur.value.partitionEpoch + 1,
      }, {});
      ok(w.ok);
      await until(
        "broker 1 applied ISR [1,2]",
        () =>
          b1.cluster!.view.partition("s", 0)?.value.isr.length === 2 &&
          b1.replicaManager!.followerProgress("s", 0).length > 0,
      );

      // broker 4 registers again: a fetch with its old epoch is from a previous incarnation
      const stale = four.epoch;
      await store.etcd.revokeLease(four.lease);
      four = await register();
      ok(four.epoch > stale);
      const leo = b1.replicaManager!.offsets("s", 0)!.logEndOffset;
      strictEqual(leo, 50);
      // bounded: 15 fetches over 1.5 s (the leader may try every 500 ms)
      for (let round = 0; round < 15; round++) {
        strictEqual(await fetchAsReplica(b1, created.id, 4, stale, leo), ErrorCode.NONE);
        assertEquals(await isrInEtcd(store, "s"), [1, 2], `round ${round}: s-0's ISR`);
        await new Promise((r) => setTimeout(r, 100));
      }
      strictEqual(
        b1.replicaManager!.followerProgress("s", 0).find((f) => f.nodeId === 4)?.logEndOffset,
        leo,
      );
      // a leader that does not check it itself: the compare-and-swap refuses
      const now = (await store.readPartition("s", 0))!.value;
      const refused = await b1.cluster!.view.alterPartition("s", 0, {
        isr: [1, 2, 4],
        leaderEpoch: now.leaderEpoch,
        partitionEpoch: now.partitionEpoch,
        brokerEpochs: [{ brokerId: 4, brokerEpoch: stale }],
      });
      strictEqual(refused.errorCode, ErrorCode.INELIGIBLE_REPLICA);
      ok(refused.message?.includes("stale broker epoch"), refused.message);

      // in controlled shutdown (KIP-841's other ineligible replica): not added at its current
      // epoch, by the leader (its view) nor by etcd's check
      ok(
        await store.setBrokerFenced(
          { ...reg, controlledShutdown: true },
          four.epoch,
          four.lease,
          false,
        ) !== undefined,
      );
      await until(
        "broker 1 sees broker 4 in controlled shutdown",
        () => b1.cluster!.view.broker(4)?.value.controlledShutdown === true,
      );
      for (let round = 0; round < 10; round++) {
        strictEqual(await fetchAsReplica(b1, created.id, 4, four.epoch, leo), ErrorCode.NONE);
        assertEquals(await isrInEtcd(store, "s"), [1, 2], `round ${round}: s-0's ISR (shutdown)`);
        await new Promise((r) => setTimeout(r, 100));
      }
      const shutdown = (await store.readPartition("s", 0))!.value;
      const refusedShutdown = await b1.cluster!.view.alterPartition("s", 0, {
        isr: [1, 2, 4],
        leaderEpoch: shutdown.leaderEpoch,
        partitionEpoch: shutdown.partitionEpoch,
        brokerEpochs: [{ brokerId: 4, brokerEpoch: four.epoch }],
      });
      strictEqual(refusedShutdown.errorCode, ErrorCode.INELIGIBLE_REPLICA);
      ok(refusedShutdown.message?.includes("in controlled shutdown"), refusedShutdown.message);
      ok(await store.setBrokerFenced(reg, four.epoch, four.lease, false) !== undefined);

      // its current epoch: added
      await until("4 in s-0's ISR", async () => {
        await fetchAsReplica(b1, created.id, 4, four.epoch, leo);
        return (await isrInEtcd(store, "s")).includes(4);
      });
      assertEquals(await isrInEtcd(store, "s"), [1, 2, 4]);
    } finally {
      await store.etcd.revokeLease(four.lease).catch(() => {});
      await c.close();
    }
  },
});
