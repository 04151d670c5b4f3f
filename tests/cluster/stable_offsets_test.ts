// Copyright 2026 the Sluice authors. Apache-2.0 license.
// OffsetFetch's require_stable (KIP-447) in cluster mode (three in-process brokers on a real etcd,
// RF=3): the group's coordinator holds a TxnOffsetCommit's offsets as pending (the transaction's
// coordinator is another broker), so OffsetFetch with require_stable answers
// UNSTABLE_OFFSET_COMMIT for them and the committed offset without it. When the group's
// coordinator stops, its successor replays the open transaction from __consumer_offsets and
// answers the same; the transaction's COMMIT marker then makes the new offset stable.
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { Admin, Client, Connection, Producer } from "../../client/mod.ts";
import { ErrorCode } from "../../protocol/errors.ts";
import {
  FindCoordinatorRequest,
  FindCoordinatorResponse,
} from "../../protocol/messages/find_coordinator.ts";
import { OffsetFetchRequest, OffsetFetchResponse } from "../../protocol/messages/offset_fetch.ts";
import type { Broker } from "../../server/mod.ts";
import { requireEtcd, sharedEtcd } from "../etcd.ts";
import { startCluster, until } from "./harness.ts";

const etcdReq = requireEtcd();
const etcd = sharedEtcd();
const TOPIC = "stable-in";
const NO_GROUP = { generationId: -1, memberId: "", groupInstanceId: null };

async function coordinatorOf(b: Broker, key: string, keyType: number): Promise<number> {
  const conn = await Connection.connect({ host: "127.0.0.1", port: b.port });
  try {
    const res = await conn.send(
      { request: FindCoordinatorRequest, response: FindCoordinatorResponse },
      FindCoordinatorRequest.create({ key, keyType }),
      { version: 3 },
    );
    return res.errorCode === ErrorCode.NONE ? res.nodeId : -1;
  } finally {
    conn.close();
  }
}

/** OffsetFetch v8 of partitions 0 and 1 at broker `b`: the group error, then [offset, error]. */
async function fetchAt(b: Broker, group: string, requireStable: boolean): Promise<number[][]> {
  const conn = await Connection.connect({ host: "127.0.0.1", port: b.port });
  try {
    const res = await conn.send(
      { request: OffsetFetchRequest, response: OffsetFetchResponse },
      OffsetFetchRequest.create({
        groups: [{
          groupId: group,
          memberId: null,
          memberEpoch: -1,
          topics: [{ name: TOPIC, partitionIndexes: [0, 1] }],
        }],
        requireStable,
      }),
      { version: 8 },
    );
    const g = res.groups[0];
    return [
      [g.errorCode],
      ...(g.topics[0]?.partitions ?? []).map((p) => [p.committedOffset, p.errorCode]),
    ];
  } finally {
    conn.close();
  }
}

Deno.test({
  name:
    "cluster OffsetFetch require_stable: pending transactional offsets are unstable at the group's coordinator and its successor",
  ignore: etcdReq.ignore,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    etcdReq.assertAvailable();
    const c = await startCluster(await etcd(), 3, {
      topicDefaults: { "min.insync.replicas": "2" },
    });
    try {
      const client = new Client({ bootstrapServers: c.bootstrapAll(), retries: 20 });
      try {
        await new Admin(client).createTopics([
          { name: TOPIC, numPartitions: 2, replicationFactor: 3 },
        ]);
        // a group and a transactional id whose coordinators are different brokers
        let group = "";
        let txnId = "";
        let groupCoordinator = -1;
        await until("coordinators", async () => {
          for (let i = 0; i < 50 && group === ""; i++) {
            const g = await coordinatorOf(c.brokers[0]!, `stable-group-${i}`, 0);
            const t = await coordinatorOf(c.brokers[0]!, `stable-txn-${i}`, 1);
            if (g > 0 && t > 0 && g !== t) {
              [group, txnId, groupCoordinator] = [`stable-group-${i}`, `stable-txn-${i}`, g];
            }
          }
          return group !== "";
        }, 60_000);
        const producer = new Producer(client, { transactionalId: txnId });
        await producer.initTransactions();
        producer.beginTransaction();
        await producer.sendOffsetsToTransaction([{ topic: TOPIC, partition: 1, offset: 4 }], {
          groupId: group,
          ...NO_GROUP,
        });
        await producer.commitTransaction();
        producer.beginTransaction();
        await producer.sendOffsetsToTransaction([
          { topic: TOPIC, partition: 0, offset: 7 },
          { topic: TOPIC, partition: 1, offset: 9 },
        ], { groupId: group, ...NO_GROUP });
        const coordinator = c.brokers[groupCoordinator - 1]!;
        const U = ErrorCode.UNSTABLE_OFFSET_COMMIT;
        assertEquals(await fetchAt(coordinator, group, true), [[0], [-1, U], [-1, U]]);
        assertEquals(await fetchAt(coordinator, group, false), [[0], [-1, 0], [4, 0]]);
        // the group's coordinator goes: its successor replays the open transaction
        await c.stop(groupCoordinator - 1);
        let successor: Broker | undefined;
        await until("a new group coordinator", async () => {
          const alive = c.brokers.find((b) => b !== undefined)!;
          const now = await coordinatorOf(alive, group, 0);
          successor = now > 0 && now !== groupCoordinator ? c.brokers[now - 1] : undefined;
          return successor !== undefined;
        }, 60_000);
        let answer: number[][] = [];
        await until("the successor answers", async () => {
          answer = await fetchAt(successor!, group, true).catch(() => [[-2]]);
          return answer[0][0] === 0;
        }, 60_000);
        assertEquals(answer, [[0], [-1, U], [-1, U]]);
        assertEquals(await fetchAt(successor!, group, false), [[0], [-1, 0], [4, 0]]);
        await producer.commitTransaction();
        await until("the commit applied", async () => {
          answer = await fetchAt(successor!, group, true);
          return answer[1][1] === 0;
        }, 30_000);
        assertEquals(answer, [[0], [7, 0], [9, 0]]);
        await producer.close();
      } finally {
        await client.close();
      }
    } finally {
      await c.close();
    }
  },
});
