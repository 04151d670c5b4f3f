// Copyright 2026 the Sluice authors. Apache-2.0 license.
// DeleteRecords (key 21): served v0-v2 (flexible from v2).
// - Cluster mode (docs/CLUSTER.md): only the partition's leader answers; other brokers (and a
//   fenced leader) answer NOT_LEADER_OR_FOLLOWER, an unknown partition UNKNOWN_TOPIC_OR_PARTITION.
// - Moves each partition's log start offset to `offset` (-1 = high watermark) and deletes whole
//   segments below it; answers with the new low watermark. Offset above the high watermark:
//   OFFSET_OUT_OF_RANGE; unknown partition: UNKNOWN_TOPIC_OR_PARTITION.
// - A replicated partition (Kafka's DelayedDeleteRecords) is answered once every in-sync
//   replica's log starts there (followers move theirs when a fetch answer brings the leader's
//   and say so in their next fetch): the low watermark is the smallest log start over the ISR.
//   Not within the request's `timeout_ms`: REQUEST_TIMED_OUT (the leader's log start has
//   moved; the followers' follow); leadership lost meanwhile: NOT_LEADER_OR_FOLLOWER.
// - ACLs: DELETE on each topic, else its partitions TOPIC_AUTHORIZATION_FAILED and nothing is
//   deleted (`../security/access.ts`).

import {
  createDeleteRecordsResponse,
  createDeleteRecordsResponsePartitionResult,
  createDeleteRecordsResponseTopicResult,
  DeleteRecordsRequest,
  DeleteRecordsResponse,
} from "../../protocol/messages/delete_records.ts";
import { ErrorCode } from "../../protocol/errors.ts";
import { type ApiHandler, defineApi, errorCodeOf } from "../api.ts";
import { leaderError } from "../leadership.ts";
import { ACCESS, authorizedNames } from "../security/access.ts";

/** DeleteRecords handler. */
export const deleteRecords: ApiHandler = defineApi<DeleteRecordsRequest, DeleteRecordsResponse>({
  minVersion: 0,
  maxVersion: 2,
  request: DeleteRecordsRequest,
  response: DeleteRecordsResponse,
  async handle(ctx, req) {
    const broker = ctx.broker;
    // a replicated partition's wait for its followers ends early when the client leaves or
    // the broker shuts down
    const signal = ctx.connection.closed === undefined
      ? broker.closing
      : AbortSignal.any([broker.closing, ctx.connection.closed]);
    const deletable = authorizedNames(
      ctx,
      ACCESS.DeleteRecords.topic,
      req.topics.map((t) => t.name),
    );
    const topics = await Promise.all(
      req.topics.map(async (t) =>
        createDeleteRecordsResponseTopicResult({
          name: t.name,
          partitions: await Promise.all(t.partitions.map(async (p) => {
            const result = (errorCode: number, lowWatermark: number) =>
              createDeleteRecordsResponsePartitionResult({
                partitionIndex: p.partitionIndex,
                errorCode,
                lowWatermark,
              });
            if (!deletable.has(t.name)) return result(ErrorCode.TOPIC_AUTHORIZATION_FAILED, -1);
            // only the partition's leader deletes (cluster mode, or a replicated partition);
            // its followers move their log start when they next fetch
            const notLeader = leaderError(broker, t.name, p.partitionIndex);
            if (notLeader !== undefined) return result(notLeader.code, -1);
            const log = broker.logs.partition(t.name, p.partitionIndex)!;
            let low: number;
            try {
              low = await log.deleteRecordsBefore(p.offset);
              broker.logger.info(`Deleted records of ${t.name}-${p.partitionIndex} before ${low}`);
            } catch (e) {
              return result(errorCodeOf(e), -1);
            }
            if (broker.replicas === undefined) return result(0, low);
            const w = await broker.replicas.waitForLowWatermark(
              t.name,
              p.partitionIndex,
              low,
              req.timeoutMs,
              signal,
            );
            if (w.code !== ErrorCode.NONE) {
              broker.logger.warn(`DeleteRecords on ${t.name}-${p.partitionIndex}: ${w.message}`);
            }
            return result(w.code, w.lowWatermark);
          })),
        })
      ),
    );
    return createDeleteRecordsResponse({ topics });
  },
  errorResponse(req, errorCode) {
    return createDeleteRecordsResponse({
      topics: req.topics.map((t) =>
        createDeleteRecordsResponseTopicResult({
          name: t.name,
          partitions: t.partitions.map((p) =>
            createDeleteRecordsResponsePartitionResult({
              partitionIndex: p.partitionIndex,
              errorCode,
              lowWatermark: -1,
            })
          ),
        })
      ),
    });
  },
});
