// Copyright 2026 the Sluice authors. Apache-2.0 license.
// DeleteRecords (key 21): served v0-v2 (flexible from v2).
// - Cluster mode (docs/CLUSTER.md): only the partition's leader answers; other brokers (and a
//   fenced leader) answer NOT_LEADER_OR_FOLLOWER, an unknown partition UNKNOWN_TOPIC_OR_PARTITION.
// - Moves each partition's log start offset to `offset` (-1 = high watermark) and deletes whole
//   segments below it; answers with the new low watermark. Offset above the high watermark:
//   OFFSET_OUT_OF_RANGE; unknown partition: UNKNOWN_TOPIC_OR_PARTITION.

import {
  createDeleteRecordsResponse,
  createDeleteRecordsResponsePartitionResult,
  createDeleteRecordsResponseTopicResult,
  DeleteRecordsRequest,
  DeleteRecordsResponse,
} from "../../protocol/messages/delete_records.ts";
import { type ApiHandler, defineApi, errorCodeOf } from "../api.ts";
import { leaderError } from "../leadership.ts";

/** DeleteRecords handler. */
export const deleteRecords: ApiHandler = defineApi<DeleteRecordsRequest, DeleteRecordsResponse>({
  minVersion: 0,
  maxVersion: 2,
  request: DeleteRecordsRequest,
  response: DeleteRecordsResponse,
  async handle(ctx, req) {
    const broker = ctx.broker;
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
            // only the partition's leader deletes (cluster mode, or a replicated partition);
            // its followers move their log start when they next fetch
            const notLeader = leaderError(broker, t.name, p.partitionIndex);
            if (notLeader !== undefined) return result(notLeader.code, -1);
            const log = broker.logs.partition(t.name, p.partitionIndex)!;
            try {
              const low = await log.deleteRecordsBefore(p.offset);
              broker.logger.info(`Deleted records of ${t.name}-${p.partitionIndex} before ${low}`);
              return result(0, low);
            } catch (e) {
              return result(errorCodeOf(e), -1);
            }
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
