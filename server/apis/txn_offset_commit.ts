// Copyright 2026 the Sluice authors. Apache-2.0 license.
// TxnOffsetCommit (key 28): served v0-v3 (flexible from v3).
// - Standalone: holds the offsets in the producer's transaction (`../txn/`, after
//   AddOffsetsToTxn for the group); they are committed to the group when the transaction
//   commits, dropped on abort.
// - Cluster mode (Kafka's): the group's coordinator (`../group/`) writes them to
//   `__consumer_offsets` as a transactional batch of the producer and holds them as pending;
//   the transaction's COMMIT marker on the group's partition (sent by the transaction
//   coordinator, wherever it is) commits them, ABORT drops them.
// - v3 adds generation/member/instance ids (KIP-447): when given, they must be the group's
//   current member and generation (else ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID,
//   FENCED_INSTANCE_ID), in both modes, so that a member fenced out of its generation cannot
//   commit offsets in a transaction.
// - PRODUCER_FENCED is sent as INVALID_PRODUCER_EPOCH below v3.
// - ACLs (`../security/access.ts`): WRITE on the transactional id, else every partition
//   TRANSACTIONAL_ID_AUTHORIZATION_FAILED; READ on the group, else GROUP_AUTHORIZATION_FAILED;
//   READ on each topic, else its partitions TOPIC_AUTHORIZATION_FAILED (the others are
//   committed).

import {
  createTxnOffsetCommitResponse,
  createTxnOffsetCommitResponseResponsePartition,
  createTxnOffsetCommitResponseResponseTopic,
  TxnOffsetCommitRequest,
  TxnOffsetCommitResponse,
} from "../../protocol/messages/txn_offset_commit.ts";
import { type ApiHandler, defineApi } from "../api.ts";
import { fencedFor, transactionCoordinatorOf } from "../txn/coordinator_of.ts";
import { groupCoordinatorOf } from "../group/broker_context.ts";
import { ACCESS, authorize, authorizedNames } from "../security/access.ts";
import { ErrorCode } from "../../protocol/errors.ts";

/** TxnOffsetCommit handler. */
export const txnOffsetCommit: ApiHandler = defineApi<
  TxnOffsetCommitRequest,
  TxnOffsetCommitResponse
>({
  minVersion: 0,
  maxVersion: 3,
  request: TxnOffsetCommitRequest,
  response: TxnOffsetCommitResponse,
  async handle(ctx, req) {
    const v = ctx.version;
    if (!authorize(ctx, ACCESS.TxnOffsetCommit.transactionalId, req.transactionalId)) {
      return this.errorResponse(req, ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, "");
    }
    if (!authorize(ctx, ACCESS.TxnOffsetCommit.group, req.groupId)) {
      return this.errorResponse(req, ErrorCode.GROUP_AUTHORIZATION_FAILED, "");
    }
    const readable = authorizedNames(
      ctx,
      ACCESS.TxnOffsetCommit.topic,
      req.topics.map((t) => t.name),
    );
    const denied = req.topics.filter((t) => !readable.has(t.name)).map((t) => ({
      topic: t.name,
      partitions: t.partitions.map((p) => ({
        partition: p.partitionIndex,
        errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
      })),
    }));
    const allowed = req.topics.filter((t) => readable.has(t.name));
    const params = {
      transactionalId: req.transactionalId,
      producerId: req.producerId,
      producerEpoch: req.producerEpoch,
      groupId: req.groupId,
      generationId: v >= 3 ? req.generationId : -1,
      memberId: v >= 3 ? req.memberId : "",
      groupInstanceId: v >= 3 ? req.groupInstanceId : null,
      topics: allowed.map((t) => ({
        topic: t.name,
        partitions: t.partitions.map((p) => ({
          partition: p.partitionIndex,
          offset: p.committedOffset,
          leaderEpoch: v >= 2 ? p.committedLeaderEpoch : -1,
          metadata: p.committedMetadata,
        })),
      })),
    };
    // Standalone: the group's KIP-447 check first (cluster mode: txnCommitOffsets does it).
    const stale = ctx.broker.cluster === undefined && allowed.length > 0
      ? groupCoordinatorOf(ctx.broker).validateTxnOffsetCommit(params)
      : ErrorCode.NONE;
    const committed = allowed.length === 0
      ? []
      : stale !== ErrorCode.NONE
      ? params.topics.map((t) => ({
        topic: t.topic,
        partitions: t.partitions.map((p) => ({ partition: p.partition, errorCode: stale })),
      }))
      : ctx.broker.cluster !== undefined
      ? await groupCoordinatorOf(ctx.broker).txnCommitOffsets(params)
      : await (await transactionCoordinatorOf(ctx.broker)).txnOffsetCommit(params);
    const results = [...committed, ...denied];
    return createTxnOffsetCommitResponse({
      topics: results.map((t) =>
        createTxnOffsetCommitResponseResponseTopic({
          name: t.topic,
          partitions: t.partitions.map((p) =>
            createTxnOffsetCommitResponseResponsePartition({
              partitionIndex: p.partition,
              errorCode: fencedFor(p.errorCode, v >= 3),
            })
          ),
        })
      ),
    });
  },
  errorResponse(req, errorCode) {
    return createTxnOffsetCommitResponse({
      topics: req.topics.map((t) =>
        createTxnOffsetCommitResponseResponseTopic({
          name: t.name,
          partitions: t.partitions.map((p) =>
            createTxnOffsetCommitResponseResponsePartition({
              partitionIndex: p.partitionIndex,
              errorCode,
            })
          ),
        })
      ),
    });
  },
});
