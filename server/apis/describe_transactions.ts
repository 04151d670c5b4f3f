// Copyright 2026 the Sluice authors. Apache-2.0 license.
// DescribeTransactions (key 65): served v0 (flexible).
// - Per transactional id: state, timeout, start time, producer id/epoch, partitions; an unknown
//   id gets TRANSACTIONAL_ID_NOT_FOUND.
// - ACLs (`../security/access.ts`): DESCRIBE on each transactional id, else
//   TRANSACTIONAL_ID_AUTHORIZATION_FAILED for it; a transaction's topics the principal may not
//   DESCRIBE are left out.

import { ErrorCode } from "../../protocol/errors.ts";
import {
  createDescribeTransactionsResponse,
  createDescribeTransactionsResponseTopicData,
  createDescribeTransactionsResponseTransactionState,
  DescribeTransactionsRequest,
  DescribeTransactionsResponse,
} from "../../protocol/messages/describe_transactions.ts";
import { type ApiHandler, defineApi } from "../api.ts";
import { transactionCoordinatorOf } from "../txn/coordinator_of.ts";
import { ACCESS, authorize } from "../security/access.ts";

/** DescribeTransactions handler. */
export const describeTransactions: ApiHandler = defineApi<
  DescribeTransactionsRequest,
  DescribeTransactionsResponse
>({
  minVersion: 0,
  maxVersion: 0,
  request: DescribeTransactionsRequest,
  response: DescribeTransactionsResponse,
  async handle(ctx, req) {
    const txns = await transactionCoordinatorOf(ctx.broker);
    return createDescribeTransactionsResponse({
      transactionStates: req.transactionalIds.map((id) => {
        if (!authorize(ctx, ACCESS.DescribeTransactions.transactionalId, id)) {
          return createDescribeTransactionsResponseTransactionState({
            errorCode: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
            transactionalId: id,
            producerId: -1,
            producerEpoch: -1,
          });
        }
        const d = txns.describe(id);
        if (d === undefined) {
          return createDescribeTransactionsResponseTransactionState({
            errorCode: ErrorCode.TRANSACTIONAL_ID_NOT_FOUND,
            transactionalId: id,
            producerId: -1,
            producerEpoch: -1,
          });
        }
        return createDescribeTransactionsResponseTransactionState({
          errorCode: ErrorCode.NONE,
          transactionalId: id,
          transactionState: d.state,
          transactionTimeoutMs: d.timeoutMs,
          transactionStartTimeMs: d.startTimestamp,
          producerId: d.producerId,
          producerEpoch: d.producerEpoch,
          topics: d.topics.filter((t) => authorize(ctx, ACCESS.DescribeTransactions.topic, t.topic))
            .map((t) =>
              createDescribeTransactionsResponseTopicData({
                topic: t.topic,
                partitions: t.partitions,
              })
            ),
        });
      }),
    });
  },
  errorResponse(req, errorCode) {
    return createDescribeTransactionsResponse({
      transactionStates: req.transactionalIds.map((id) =>
        createDescribeTransactionsResponseTransactionState({
          errorCode,
          transactionalId: id,
          producerId: -1,
          producerEpoch: -1,
        })
      ),
    });
  },
});
