// Copyright 2026 the Sluice authors. Apache-2.0 license.
// AddPartitionsToTxn (key 24): served v0-v3 (flexible from v3).
// - Adds partitions to the producer's transaction through the transaction coordinator
//   (`../txn/`), starting one if none is ongoing.
// - v4+ (KIP-890 batched, broker-to-broker verification) is not advertised.
// - PRODUCER_FENCED is sent as INVALID_PRODUCER_EPOCH below v2.
// - ACLs (`../security/access.ts`): WRITE on the transactional id, else every partition
//   TRANSACTIONAL_ID_AUTHORIZATION_FAILED; WRITE on each topic, else its partitions
//   TOPIC_AUTHORIZATION_FAILED and the others OPERATION_NOT_ATTEMPTED (nothing is added).

import { ErrorCode } from "../../protocol/errors.ts";
import {
  AddPartitionsToTxnRequest,
  AddPartitionsToTxnResponse,
  createAddPartitionsToTxnResponse,
  createAddPartitionsToTxnResponsePartitionResult,
  createAddPartitionsToTxnResponseTopicResult,
} from "../../protocol/messages/add_partitions_to_txn.ts";
import { type ApiHandler, defineApi } from "../api.ts";
import { fencedFor, transactionCoordinatorOf } from "../txn/mod.ts";
import { ACCESS, authorize, authorizedNames } from "../security/access.ts";

/** AddPartitionsToTxn handler. */
export const addPartitionsToTxn: ApiHandler = defineApi<
  AddPartitionsToTxnRequest,
  AddPartitionsToTxnResponse
>({
  minVersion: 0,
  maxVersion: 3,
  request: AddPartitionsToTxnRequest,
  response: AddPartitionsToTxnResponse,
  async handle(ctx, req) {
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
      resultsByTopicV3AndBelow: results.map((t) =>
        createAddPartitionsToTxnResponseTopicResult({
          name: t.topic,
          resultsByPartition: t.partitions.map((p) =>
            createAddPartitionsToTxnResponsePartitionResult({
              partitionIndex: p.partition,
              partitionErrorCode: fencedFor(p.errorCode, ctx.version >= 2),
            })
          ),
        })
      ),
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
