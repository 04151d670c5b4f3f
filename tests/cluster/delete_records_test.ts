// Copyright 2026 the Sluice authors. Apache-2.0 license.
// DeleteRecords in cluster mode (three in-process brokers on a real etcd, RF=3), as Kafka's
// DelayedDeleteRecords: the leader answers once every in-sync replica's log starts at the new
// offset (the followers learn it from their fetch answers and tell it in their next fetch), so
// at the answer the three replicas' logs all start there; followers that do not fetch (still in
// the ISR) make it answer REQUEST_TIMED_OUT after the request's timeout, the leader's log start
// moved already.
import { deepStrictEqual as assertEquals, strictEqual } from "node:assert/strict";
import { Admin, Client, Connection, Producer } from "../../client/mod.ts";
import { ErrorCode } from "../../protocol/errors.ts";
import {
  DeleteRecordsRequest,
  DeleteRecordsResponse,
} from "../../protocol/messages/delete_records.ts";
import type { Broker } from "../../server/mod.ts";
import { requireEtcd, sharedEtcd } from "../etcd.ts";
import { startCluster, until } from "./harness.ts";

const etcdReq = requireEtcd();
const etcd = sharedEtcd();

/** Records written (100-byte values, 2 MB in all, over 1 MiB segments). */
const RECORDS = 20_000;

Deno.test({
  name:
    "cluster DeleteRecords: answered once every in-sync replica's log starts there; REQUEST_TIMED_OUT when followers do not fetch",
  ignore: etcdReq.ignore,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    etcdReq.assertAvailable();
    const c = await startCluster(await etcd(), 3);
    const topic = "deleted";
    try {
      const client = new Client({ bootstrapServers: c.bootstrapAll(), retries: 20 });
      try {
        await new Admin(client).createTopics([{
          name: topic,
          numPartitions: 1,
          replicationFactor: 3,
          configs: { "segment.bytes": String(1024 * 1024) },
        }]);
        const producer = new Producer(client, { acks: -1 });
        const value = "v".repeat(100);
        for (let i = 0; i < RECORDS; i += 500) {
          producer.send({
            topic,
            messages: Array.from(
              { length: 500 },
              (_, j) => ({ partition: 0, value: value + (i + j) }),
            ),
          });
        }
        await producer.flush();
        await producer.close();
      } finally {
        await client.close();
      }
      const view = c.brokers[0]!.cluster!.view;
      const leaderId = view.partition(topic, 0)!.value.leader;
      const leader = c.brokers[leaderId - 1]!;
      const replicaOffsets = () =>
        c.brokers.map((b) => b!.replicaManager!.offsets(topic, 0)!.logStartOffset);
      await until(
        "every replica has the records",
        () =>
          c.brokers.every((b) => b!.replicaManager!.offsets(topic, 0)?.highWatermark === RECORDS),
      );
      strictEqual(view.partition(topic, 0)!.value.isr.length, 3);

      // answered once the three logs start at 12345 (checked at the answer, not after)
      const first = await deleteRecords(leader, topic, 12_345, 30_000);
      assertEquals(first, { errorCode: ErrorCode.NONE, lowWatermark: 12_345 });
      assertEquals(replicaOffsets(), [12_345, 12_345, 12_345]);
      strictEqual(leader.replicaManager!.lowWatermark(topic, 0), 12_345);

      // -1: up to the high watermark, on every replica too
      const all = await deleteRecords(leader, topic, -1, 30_000);
      assertEquals(all, { errorCode: ErrorCode.NONE, lowWatermark: RECORDS });
      assertEquals(replicaOffsets(), [RECORDS, RECORDS, RECORDS]);

      // the followers stop fetching but stay in the ISR (replica.lag.time.max.ms is 30 s): the
      // leader's log start moves, the answer is REQUEST_TIMED_OUT after the request's timeout
      const more = Array.from({ length: 100 }, (_, j) => ({ partition: 0, value: `m${j}` }));
      const client2 = new Client({ bootstrapServers: c.bootstrapAll(), retries: 20 });
      try {
        const producer = new Producer(client2, { acks: -1 });
        producer.send({ topic, messages: more });
        await producer.flush();
        await producer.close();
      } finally {
        await client2.close();
      }
      await until(
        "every replica has the new records",
        () =>
          c.brokers.every((b) =>
            b!.replicaManager!.offsets(topic, 0)?.highWatermark === RECORDS + 100
          ),
      );
      const followers = [1, 2, 3].filter((id) => id !== leaderId);
      for (const id of followers) await c.brokers[id - 1]!.replicaManager!.close();
      const timedOut = await deleteRecords(leader, topic, RECORDS + 50, 1500);
      assertEquals(timedOut, { errorCode: ErrorCode.REQUEST_TIMED_OUT, lowWatermark: -1 });
      strictEqual(leader.replicaManager!.offsets(topic, 0)!.logStartOffset, RECORDS + 50);
      strictEqual(leader.replicaManager!.lowWatermark(topic, 0), RECORDS);
      for (const id of followers) {
        strictEqual(c.brokers[id - 1]!.replicaManager!.offsets(topic, 0)!.logStartOffset, RECORDS);
      }
    } finally {
      await c.close();
    }
  },
});

/** One DeleteRecords v2 of partition 0 to `b`: its error code and low watermark. */
function deleteRecords(
  b: Broker,
  topic: string,
  offset: number,
  timeoutMs: number,
): Promise<{ errorCode: number; lowWatermark: number }> {
  return (async () => {
    const conn = await Connection.connect({ host: "127.0.0.1", port: b.port });
    try {
      const res = await conn.send(
        { request: DeleteRecordsRequest, response: DeleteRecordsResponse },
        DeleteRecordsRequest.create({
          topics: [{ name: topic, partitions: [{ partitionIndex: 0, offset }] }],
          timeoutMs,
        }),
        { version: 2, timeoutMs: timeoutMs + 30_000 },
      );
      const p = res.topics[0].partitions[0];
      return { errorCode: p.errorCode, lowWatermark: p.lowWatermark };
    } finally {
      conn.close();
    }
  })();
}
