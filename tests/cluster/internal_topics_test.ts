// Copyright 2026 the Sluice authors. Apache-2.0 license.
// The internal topics' replication settings in cluster mode (three in-process brokers on a real
// etcd), as Kafka's: `__transaction_state` is created only once
// `transaction.state.log.replication.factor` (3) brokers are registered (FindCoordinator answers
// COORDINATOR_NOT_AVAILABLE before), with `min.insync.replicas` =
// `transaction.state.log.min.isr` (2) and no unclean leader election; the transaction
// coordinator's writes are acks=all, so with an ISR of one its requests get
// COORDINATOR_NOT_AVAILABLE (Kafka's TransactionStateManager maps NOT_ENOUGH_REPLICAS so), and
// succeed again once a replica is back in the ISR.
import { ok, strictEqual } from "node:assert/strict";
import { ErrorCode } from "../../protocol/errors.ts";
import {
  FindCoordinatorRequest,
  FindCoordinatorResponse,
} from "../../protocol/messages/find_coordinator.ts";
import {
  InitProducerIdRequest,
  InitProducerIdResponse,
} from "../../protocol/messages/init_producer_id.ts";
import type { Broker } from "../../server/mod.ts";
import { partitionForGroup } from "../../server/group/schemas.ts";
import { sharedEtcd } from "../etcd.ts";
import { clusterTest, onBroker, startCluster, until } from "./harness.ts";

const etcd = sharedEtcd();
const TXN_TOPIC = "__transaction_state";

const test = clusterTest("cluster internal topics");

function findTxnCoordinator(b: Broker, id: string): Promise<FindCoordinatorResponse> {
  return onBroker(b, (conn) =>
    conn.send(
      { request: FindCoordinatorRequest, response: FindCoordinatorResponse },
      FindCoordinatorRequest.create({ key: id, keyType: 1 }),
      { version: 3 },
    ));
}

/** InitProducerId v4 for `id` (a new producer: id and epoch -1); its error code. */
function initProducerId(b: Broker, id: string): Promise<number> {
  return onBroker(b, async (conn) => {
    const res = await conn.send(
      { request: InitProducerIdRequest, response: InitProducerIdResponse },
      InitProducerIdRequest.create({
        transactionalId: id,
        transactionTimeoutMs: 60_000,
        producerId: -1,
        producerEpoch: -1,
      }),
      { version: 4, timeoutMs: 60_000 },
    );
    return res.errorCode;
  });
}

test(
  "__transaction_state: replication factor and min ISR as Kafka's; an ISR of one is COORDINATOR_NOT_AVAILABLE",
  async () => {
    const c = await startCluster(await etcd(), 3, { requestTimeoutMs: 3000 });
    try {
      const id = "txn-min-isr";
      // two brokers registered, transaction.state.log.replication.factor=3: not created yet
      await c.stop(2);
      await until(
        "broker 3 gone",
        () => c.brokers[0]!.cluster!.view.broker(3) === undefined,
      );
      const before = await findTxnCoordinator(c.brokers[0]!, id);
      strictEqual(before.errorCode, ErrorCode.COORDINATOR_NOT_AVAILABLE);
      ok(
        before.errorMessage?.includes("transaction.state.log.replication.factor"),
        before.errorMessage ?? "",
      );
      strictEqual(c.brokers[0]!.cluster!.view.topic(TXN_TOPIC), undefined);
      await c.start(2);
      let coordinator = -1;
      await until("a transaction coordinator", async () => {
        const res = await findTxnCoordinator(c.brokers[0]!, id);
        coordinator = res.nodeId;
        return res.errorCode === ErrorCode.NONE;
      });
      const topic = c.brokers[0]!.cluster!.view.topic(TXN_TOPIC)!.value;
      ok(topic.replicas.every((r) => r.length === 3), JSON.stringify(topic.replicas));
      strictEqual(topic.configs["min.insync.replicas"], "2");
      strictEqual(topic.configs["unclean.leader.election.enable"], "false");
      const leader = c.brokers[coordinator - 1]!;
      const p = partitionForGroup(id, 5);
      const view = leader.cluster!.view;
      await until("the partition in sync and loaded", async () => {
        return view.partition(TXN_TOPIC, p)?.value.isr.length === 3 &&
          await initProducerId(leader, id) === ErrorCode.NONE;
      });
      // the two other brokers go: the ISR is the coordinator alone, below min.insync.replicas=2
      const others = [1, 2, 3].filter((n) => n !== coordinator);
      for (const n of others) await c.stop(n - 1);
      await until(
        "an ISR of one",
        () => view.partition(TXN_TOPIC, p)?.value.isr.join() === String(coordinator),
      );
      strictEqual(view.partition(TXN_TOPIC, p)?.value.leader, coordinator);
      let code = -1;
      await until("the coordinator answers", async () => {
        code = await initProducerId(leader, id);
        return code !== ErrorCode.COORDINATOR_LOAD_IN_PROGRESS &&
          code !== ErrorCode.NOT_COORDINATOR;
      });
      strictEqual(code, ErrorCode.COORDINATOR_NOT_AVAILABLE);
      // one replica back in the ISR: the writes are committed again
      await c.start(others[0] - 1);
      await until(
        "an ISR of two",
        () => (view.partition(TXN_TOPIC, p)?.value.isr.length ?? 0) >= 2,
        60_000,
      );
      await until("InitProducerId succeeds", async () => {
        return await initProducerId(leader, id) === ErrorCode.NONE;
      });
    } finally {
      await c.close();
    }
  },
);
