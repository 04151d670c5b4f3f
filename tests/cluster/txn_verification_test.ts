// Copyright 2026 the Sluice authors. Apache-2.0 license.
// KIP-890 part 1 across brokers (three in-process brokers on a real etcd, RF=3): a partition
// leader verifies a transaction's first batch on the partition with the transaction's
// coordinator on another broker (AddPartitionsToTxn v4 verify_only, as Kafka 3.6+) before it
// appends it. A batch of a partition not added to the transaction, or of a transaction that
// ended, is refused with INVALID_TXN_STATE and nothing is appended (the last stable offset is
// not held back: no hanging transaction); a producer fenced by a newer epoch of its
// transactional id gets INVALID_PRODUCER_EPOCH; after AddPartitionsToTxn the batches go in.
import { deepStrictEqual as assertEquals, ok, strictEqual } from "node:assert/strict";
import { Admin, Client, Connection } from "../../client/mod.ts";
import { ErrorCode } from "../../protocol/errors.ts";
import {
  AddPartitionsToTxnRequest,
  AddPartitionsToTxnResponse,
} from "../../protocol/messages/add_partitions_to_txn.ts";
import { EndTxnRequest, EndTxnResponse } from "../../protocol/messages/end_txn.ts";
import {
  FindCoordinatorRequest,
  FindCoordinatorResponse,
} from "../../protocol/messages/find_coordinator.ts";
import {
  InitProducerIdRequest,
  InitProducerIdResponse,
} from "../../protocol/messages/init_producer_id.ts";
import {
  createListOffsetsRequest,
  createListOffsetsRequestPartition,
  createListOffsetsRequestTopic,
  ListOffsetsRequest,
  ListOffsetsResponse,
} from "../../protocol/messages/list_offsets.ts";
import { ProduceRequest, ProduceResponse } from "../../protocol/messages/produce.ts";
import { encodeRecordBatch } from "../../records/mod.ts";
import type { Broker } from "../../server/mod.ts";
import { requireEtcd, sharedEtcd } from "../etcd.ts";
import { startCluster, until } from "./harness.ts";

const etcdReq = requireEtcd();
const etcd = sharedEtcd();
const TOPIC = "verified";

async function on<T>(b: Broker, fn: (conn: Connection) => Promise<T>): Promise<T> {
  const conn = await Connection.connect({ host: "127.0.0.1", port: b.port });
  try {
    return await fn(conn);
  } finally {
    conn.close();
  }
}

function findTxnCoordinator(b: Broker, id: string): Promise<number> {
  return on(b, async (conn) => {
    const res = await conn.send(
      { request: FindCoordinatorRequest, response: FindCoordinatorResponse },
      FindCoordinatorRequest.create({ key: id, keyType: 1 }),
      { version: 3 },
    );
    return res.errorCode === ErrorCode.NONE ? res.nodeId : -1;
  });
}

interface Producer {
  transactionalId: string;
  producerId: number;
  producerEpoch: number;
}

/** One transactional batch of one record at `sequence` to `TOPIC`-0; the partition's answer. */
function produce(b: Broker, p: Producer, sequence: number) {
  return on(b, async (conn) => {
    const records = encodeRecordBatch([{
      key: null,
      value: new TextEncoder().encode(`s${sequence}`),
    }], {
      producerId: p.producerId,
      producerEpoch: p.producerEpoch,
      baseSequence: sequence,
      transactional: true,
    });
    const res = await conn.send(
      { request: ProduceRequest, response: ProduceResponse },
      ProduceRequest.create({
        transactionalId: p.transactionalId,
        acks: -1,
        timeoutMs: 30_000,
        topicData: [{ name: TOPIC, partitionData: [{ index: 0, records }] }],
      }),
      { version: 9, timeoutMs: 60_000 },
    );
    const r = res.responses[0].partitionResponses[0];
    return { errorCode: r.errorCode, baseOffset: r.baseOffset };
  });
}

/** `TOPIC`-0's high watermark (read_uncommitted) and last stable offset (read_committed). */
async function offsets(b: Broker): Promise<{ hw: number; lso: number }> {
  const at = (isolationLevel: number) =>
    on(b, async (conn) => {
      const res = await conn.send(
        { request: ListOffsetsRequest, response: ListOffsetsResponse },
        createListOffsetsRequest({
          replicaId: -1,
          isolationLevel,
          topics: [createListOffsetsRequestTopic({
            name: TOPIC,
            partitions: [createListOffsetsRequestPartition({ partitionIndex: 0, timestamp: -1 })],
          })],
        }),
        { version: 5 },
      );
      return res.topics[0].partitions[0].offset;
    });
  return { hw: await at(0), lso: await at(1) };
}

Deno.test({
  name:
    "cluster transactions: a partition leader verifies the first batch with the coordinator on another broker (KIP-890)",
  ignore: etcdReq.ignore,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    etcdReq.assertAvailable();
    const c = await startCluster(await etcd(), 3);
    try {
      const client = new Client({ bootstrapServers: c.bootstrapAll(), retries: 20 });
      try {
        await new Admin(client).createTopics([
          { name: TOPIC, numPartitions: 1, replicationFactor: 3 },
        ]);
      } finally {
        await client.close();
      }
      const view = c.brokers[0]!.cluster!.view;
      const leaderId = view.partition(TOPIC, 0)!.value.leader;
      const leader = c.brokers[leaderId - 1]!;
      await until("the leader leads", () => leader.cluster!.leaderError(TOPIC, 0) === undefined);
      // a transactional id coordinated by another broker than the partition's leader
      let txnId = "";
      let coordinatorId = -1;
      await until("a coordinator on another broker", async () => {
        for (let i = 0; i < 30 && txnId === ""; i++) {
          const id = await findTxnCoordinator(c.brokers[0]!, `verify-${i}`);
          if (id > 0 && id !== leaderId) [txnId, coordinatorId] = [`verify-${i}`, id];
        }
        return txnId !== "";
      }, 60_000);
      const coordinator = c.brokers[coordinatorId - 1]!;
      const init = (current?: Producer) =>
        on(coordinator, (conn) =>
          conn.send(
            { request: InitProducerIdRequest, response: InitProducerIdResponse },
            InitProducerIdRequest.create({
              transactionalId: txnId,
              transactionTimeoutMs: 60_000,
              producerId: current?.producerId ?? -1,
              producerEpoch: current?.producerEpoch ?? -1,
            }),
            { version: 4, timeoutMs: 60_000 },
          ));
      let res = await init();
      await until("InitProducerId", async () => {
        if (res.errorCode === ErrorCode.NONE) return true;
        res = await init();
        return false;
      });
      const p: Producer = {
        transactionalId: txnId,
        producerId: Number(res.producerId),
        producerEpoch: res.producerEpoch,
      };

      // not added to the transaction: refused, nothing appended, no transaction left open
      assertEquals(await produce(leader, p, 0), {
        errorCode: ErrorCode.INVALID_TXN_STATE,
        baseOffset: -1,
      });
      assertEquals(await offsets(leader), { hw: 0, lso: 0 });

      // added: the first batch is verified, the next one follows the partition's state
      const added = await on(coordinator, (conn) =>
        conn.send(
          { request: AddPartitionsToTxnRequest, response: AddPartitionsToTxnResponse },
          AddPartitionsToTxnRequest.create({
            v3AndBelowTransactionalId: txnId,
            v3AndBelowProducerId: p.producerId,
            v3AndBelowProducerEpoch: p.producerEpoch,
            v3AndBelowTopics: [{ name: TOPIC, partitions: [0] }],
          }),
          { version: 3, timeoutMs: 60_000 },
        ));
      strictEqual(added.resultsByTopicV3AndBelow[0].resultsByPartition[0].partitionErrorCode, 0);
      assertEquals(await produce(leader, p, 0), { errorCode: ErrorCode.NONE, baseOffset: 0 });
      assertEquals(await produce(leader, p, 1), { errorCode: ErrorCode.NONE, baseOffset: 1 });
      const during = await offsets(leader);
      strictEqual(during.lso, 0, "the transaction in progress holds the LSO");

      // committed (the marker goes to the leader from the other broker)
      const ended = await on(coordinator, (conn) =>
        conn.send(
          { request: EndTxnRequest, response: EndTxnResponse },
          EndTxnRequest.create({ ...p, committed: true }),
          { version: 3, timeoutMs: 60_000 },
        ));
      strictEqual(ended.errorCode, ErrorCode.NONE);
      await until("the marker on the leader", async () => (await offsets(leader)).lso === 3);

      // a batch after the transaction ended, without a new AddPartitionsToTxn: refused
      assertEquals(await produce(leader, p, 2), {
        errorCode: ErrorCode.INVALID_TXN_STATE,
        baseOffset: -1,
      });
      assertEquals(await offsets(leader), { hw: 3, lso: 3 });

      // fenced by a newer epoch of its transactional id
      const bumped = await init(p);
      strictEqual(bumped.errorCode, ErrorCode.NONE);
      ok(bumped.producerEpoch > p.producerEpoch);
      assertEquals(await produce(leader, p, 2), {
        errorCode: ErrorCode.INVALID_PRODUCER_EPOCH,
        baseOffset: -1,
      });
      assertEquals(await offsets(leader), { hw: 3, lso: 3 });
    } finally {
      await c.close();
    }
  },
});
