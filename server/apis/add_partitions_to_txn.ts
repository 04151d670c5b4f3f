// Copyright 2026 the Sluice authors. Apache-2.0 license.
// AddPartitionsToTxn (key 24): served v0-v5 (flexible from v3).
// - v0-v3 (clients): adds partitions to the producer's transaction through the transaction
//   coordinator (`../txn/`), starting one if none is ongoing.
// - v4-v5 (brokers; KIP-890): a batch of transactions, each answered in
//   `results_by_transaction`. With `verify_only` a partition leader asks whether the partitions
//   are in the transaction in progress before it appends the transaction's first batch there
//   (Kafka 3.6's verification; nothing changes); without, the partitions are added as for v3.
//   Coordinator errors (NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS) are per partition, as
//   Kafka's.
// - PRODUCER_FENCED is sent as INVALID_PRODUCER_EPOCH below v2.
// - ACLs (`../security/access.ts`): v4+ needs CLUSTER_ACTION (brokers), else
//   CLUSTER_AUTHORIZATION_FAILED; v0-v3: WRITE on the transactional id, else every partition
//   TRANSACTIONAL_ID_AUTHORIZATION_FAILED; WRITE on each topic, else its partitions
//   TOPIC_AUTHORIZATION_FAILED and the others OPERATION_NOT_ATTEMPTED (nothing is added).

import { ErrorCode } from "../../protocol/errors.ts";
import {
  AddPartitionsToTxnRequest,
  AddPartitionsToTxnResponse,
  createAddPartitionsToTxnResponse,
  createAddPartitionsToTxnResponsePartitionResult,
  createAddPartitionsToTxnResponseResult,
  createAddPartitionsToTxnResponseTopicResult,
} from "../../protocol/messages/add_partitions_to_txn.ts";
import { type ApiHandler, defineApi, type RequestContext } from "../api.ts";
import { ACCESS, authorize, authorizedNames } from "../security/access.ts";
import { fencedFor, transactionCoordinatorOf } from "../txn/coordinator_of.ts";
import type { TxnTopicResult } from "../txn/coordinator.ts";

function topicResults(results: TxnTopicResult[], supportsProducerFenced: boolean) {
  return results.map((t) =>
    createAddPartitionsToTxnResponseTopicResult({
      name: t.topic,
      resultsByPartition: t.partitions.map((p) =>
        createAddPartitionsToTxnResponsePartitionResult({
          partitionIndex: p.partition,
          partitionErrorCode: fencedFor(p.errorCode, supportsProducerFenced),
        })
      ),
    })
  );
}

/** v4+ (brokers): CLUSTER_ACTION, as Kafka's KafkaApis, then verify or add per transaction. */
async function verifyOrAdd(
  ctx: RequestContext,
  req: AddPartitionsToTxnRequest,
): Promise<AddPartitionsToTxnResponse> {
  if (!authorize(ctx, ACCESS.AddPartitionsToTxn.cluster)) {
    return createAddPartitionsToTxnResponse({
      errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
    });
  }
  const txns = await transactionCoordinatorOf(ctx.broker);
  const resultsByTransaction = await Promise.all(req.transactions.map(async (t) => {
    const producer = {
      transactionalId: t.transactionalId,
      producerId: t.producerId,
      producerEpoch: t.producerEpoch,
    };
    const topics = t.topics.map((x) => ({ topic: x.name, partitions: x.partitions }));
    const results = t.verifyOnly
      ? await txns.verifyPartitions(producer, topics)
      : await txns.addPartitions(producer, topics);
    return createAddPartitionsToTxnResponseResult({
      transactionalId: t.transactionalId,
      topicResults: topicResults(results, true),
    });
  }));
  return createAddPartitionsToTxnResponse({ resultsByTransaction });
}

/** AddPartitionsToTxn handler. */
export const addPartitionsToTxn: ApiHandler = defineApi<
  AddPartitionsToTxnRequest,
  AddPartitionsToTxnResponse
>({
  minVersion: 0,
  maxVersion: 5,
  request: AddPartitionsToTxnRequest,
  response: AddPartitionsToTxnResponse,
  async handle(ctx, req) {
    if (ctx.version >= 4) return await verifyOrAdd(ctx, req);
    const txnId = req.v3AndBelowTransactionalId;
    const writable = authorizedNames(
      ctx,
      ACCESS.AddPartitionsToTxn.topic,
      req.v3AndBelowTopics.map((t) => t.name),
    );
    const txnDenied = !authorize(ctx, ACCESS.AddPartitionsToTxn.transactionalId, txnId);
    if (txnDenied || req.v3AndBelowTopics.some((t) => !writable.has(t.name))) {
      // nothing is added: the refused topics get their error, the others OPERATION_NOT_ATTEMPTED
      return createAddPartitionsToTxnResponse({
        resultsByTopicV3AndBelow: req.v3AndBelowTopics.map((t) =>
          createAddPartitionsToTxnResponseTopicResult({
            name: t.name,
            resultsByPartition: t.partitions.map((p) =>
              createAddPartitionsToTxnResponsePartitionResult({
                partitionIndex: p,
                partitionErrorCode: txnDenied
                  ? ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED
                  : writable.has(t.name)
                  ? ErrorCode.OPERATION_NOT_ATTEMPTED
                  : ErrorCode.TOPIC_AUTHORIZATION_FAILED,
              })
            ),
          })
        ),
      });
    }
    const txns = await transactionCoordinatorOf(ctx.broker);
    const results = await txns.addPartitions({
      transactionalId: req.v3AndBelowTransactionalId,
      producerId: req.v3AndBelowProducerId,
      producerEpoch: req.v3AndBelowProducerEpoch,
    }, req.v3AndBelowTopics.map((t) => ({ topic: t.name, partitions: t.partitions })));
    return createAddPartitionsToTxnResponse({
      resultsByTopicV3AndBelow: topicResults(results, ctx.version >= 2),
    });
  },
  errorResponse(req, errorCode) {
    return createAddPartitionsToTxnResponse({
      errorCode: req.transactions.length > 0 ? errorCode : ErrorCode.NONE,
      resultsByTopicV3AndBelow: req.v3AndBelowTopics.map((t) =>
        createAddPartitionsToTxnResponseTopicResult({
          name: t.name,
          resultsByPartition: t.partitions.map((p) =>
            createAddPartitionsToTxnResponsePartitionResult({
              partitionIndex: p,
              partitionErrorCode: errorCode,
            })
          ),
        })
      ),
    });
  },
});
