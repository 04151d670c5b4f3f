// Copyright 2026 the Sluice authors. Apache-2.0 license.
// The coordinators' writes in cluster mode are acks=all writes to their internal partitions
// (three in-process brokers on a real etcd, RF=3, min.insync.replicas=2): an offset commit is
// answered once the in-sync replicas have it, and gets Kafka's errors when they cannot
// (GroupMetadataManager.storeOffsets): REQUEST_TIMED_OUT when they do not within
// offsets.commit.timeout.ms, NOT_COORDINATOR when the coordinator loses its partition's
// leadership meanwhile, COORDINATOR_NOT_AVAILABLE when the ISR is below min.insync.replicas
// (NOT_ENOUGH_REPLICAS). WriteTxnMarkers, sent to a broker that does not lead the partition,
// gets NOT_LEADER_OR_FOLLOWER.
import { deepStrictEqual as assertEquals, ok, strictEqual } from "node:assert/strict";
import { Admin, Client } from "../../client/mod.ts";
import { ErrorCode } from "../../protocol/errors.ts";
import {
  FindCoordinatorRequest,
  FindCoordinatorResponse,
} from "../../protocol/messages/find_coordinator.ts";
import {
  WriteTxnMarkersRequest,
  WriteTxnMarkersResponse,
} from "../../protocol/messages/write_txn_markers.ts";
import { partitionForGroup } from "../../server/group/schemas.ts";
import { sharedEtcd } from "../etcd.ts";
import { clusterTest, commitOffset, onBroker, startCluster, until } from "./harness.ts";

const etcd = sharedEtcd();

const test = clusterTest("cluster coordinator errors");

test(
  "an offset commit the in-sync replicas cannot take: REQUEST_TIMED_OUT, NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE",
  async () => {
    const c = await startCluster(await etcd(), 3, {
      offsetsCommitTimeoutMs: 1500,
      topicDefaults: { "min.insync.replicas": "2" },
    });
    try {
      const client = new Client({ bootstrapServers: c.bootstrapAll(), retries: 20 });
      try {
        await new Admin(client).createTopics([{
          name: "t",
          numPartitions: 1,
          replicationFactor: 3,
        }]);
      } finally {
        await client.close();
      }
      const group = "commit-errors";
      let coordinator = -1;
      await until("a coordinator", async () => {
        const res = await onBroker(c.brokers[0]!, (conn) =>
          conn.send(
            { request: FindCoordinatorRequest, response: FindCoordinatorResponse },
            FindCoordinatorRequest.create({ key: group }),
            { version: 3 },
          ));
        coordinator = res.nodeId;
        return res.errorCode === ErrorCode.NONE;
      });
      const leader = c.brokers[coordinator - 1]!;
      const view = leader.cluster!.view;
      const p = partitionForGroup(group, 5);
      await until("the coordinator's partition in sync and loaded", async () => {
        const s = view.partition("__consumer_offsets", p)?.value;
        return s?.isr.length === 3 && await commitOffset(leader, group, 1) === ErrorCode.NONE;
      });
      // the followers stop fetching but stay in the ISR (replica.lag.time.max.ms is 30 s): the
      // commit is appended and not acknowledged within offsets.commit.timeout.ms
      const followers = [1, 2, 3].filter((id) => id !== coordinator);
      for (const id of followers) await c.brokers[id - 1]!.replicaManager!.close();
      strictEqual(await commitOffset(leader, group, 2), ErrorCode.REQUEST_TIMED_OUT);
      // the partition gets another leader while a commit waits: NOT_COORDINATOR
      const store = leader.cluster!.store;
      const moveTo = async (next: { leader: number; isr: number[] }) => {
        const cur = (await store.readPartition("__consumer_offsets", p))!;
        const r = await store.writePartition("__consumer_offsets", p, cur.modRevision, {
          ...next,
          leaderEpoch: cur.value.leaderEpoch + 1,
          partitionEpoch: cur.value.partitionEpoch + 1,
        }, {});
        ok(r.ok, "state written");
      };
      const waiting = commitOffset(leader, group, 3);
      await new Promise((r) => setTimeout(r, 300));
      await moveTo({ leader: followers[0], isr: [followers[0], coordinator] });
      strictEqual(await waiting, ErrorCode.NOT_COORDINATOR);
      // leader again with an ISR of one, below min.insync.replicas=2: COORDINATOR_NOT_AVAILABLE
      // (NOT_ENOUGH_REPLICAS, nothing appended) once the partition is loaded again
      await moveTo({ leader: coordinator, isr: [coordinator] });
      let code = -1;
      await until("COORDINATOR_NOT_AVAILABLE", async () => {
        code = await commitOffset(leader, group, 4);
        return code !== ErrorCode.NOT_COORDINATOR &&
          code !== ErrorCode.COORDINATOR_LOAD_IN_PROGRESS;
      });
      strictEqual(code, ErrorCode.COORDINATOR_NOT_AVAILABLE);
    } finally {
      await c.close();
    }
  },
);

test("WriteTxnMarkers to a broker that does not lead the partition: NOT_LEADER_OR_FOLLOWER", async () => {
  const c = await startCluster(await etcd(), 3);
  try {
    const client = new Client({ bootstrapServers: c.bootstrapAll(), retries: 20 });
    try {
      await new Admin(client).createTopics([{ name: "m", numPartitions: 1, replicationFactor: 3 }]);
    } finally {
      await client.close();
    }
    const leader = c.brokers[0]!.cluster!.view.partition("m", 0)!.value.leader;
    await until(
      "the leader leads",
      () => c.brokers[leader - 1]!.cluster!.leaderError("m", 0) === undefined,
    );
    const codes = [];
    for (const b of c.brokers) {
      codes.push(
        await onBroker(b!, async (conn) => {
          const res = await conn.send(
            { request: WriteTxnMarkersRequest, response: WriteTxnMarkersResponse },
            WriteTxnMarkersRequest.create({
              markers: [{
                producerId: 4242,
                producerEpoch: 0,
                transactionResult: false,
                coordinatorEpoch: 0,
                topics: [{ name: "m", partitionIndexes: [0, 7] }],
              }],
            }),
            { version: 1 },
          );
          return res.markers[0].topics[0].partitions.map((p) => p.errorCode);
        }),
      );
    }
    assertEquals(
      codes,
      [1, 2, 3].map((id) => [
        id === leader ? ErrorCode.NONE : ErrorCode.NOT_LEADER_OR_FOLLOWER,
        ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
      ]),
    );
  } finally {
    await c.close();
  }
});
