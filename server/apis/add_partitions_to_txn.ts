// Copyright 2026 the Sluice authors. Apache-2.0 license.
// AddPartitionsToTxn (key 24): served v0-v3 (flexible from v3).
// - Adds partitions to the producer's transaction through the transaction coordinator
//   (`../txn/`), starting one if none is ongoing.
// - v4+ (KIP-890 batched, broker-to-broker verification) is not advertised.
// - PRODUCER_FENCED is sent as INVALID_PRODUCER_EPOCH below v2.

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
