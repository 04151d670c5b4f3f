// Copyright 2026 the Sluice authors. Apache-2.0 license.
// OffsetForLeaderEpoch (key 23): served v0-v4.
// - Cluster mode (docs/CLUSTER.md): only the partition's leader answers; other brokers (and a
//   fenced leader) answer NOT_LEADER_OR_FOLLOWER, an unknown partition UNKNOWN_TOPIC_OR_PARTITION.
// - For each partition, the end offset of the requested leader epoch from the partition's
//   leader-epoch cache (engine `leader_epoch_cache.ts`, `leader-epoch-checkpoint`): the start of
//   the next epoch, or the log end offset for the current one; with the epoch found (v1+), which
//   is the largest known epoch ≤ the requested one. An epoch newer than every known one, or -1:
//   leader_epoch -1 and end_offset -1 (Kafka's UNDEFINED_EPOCH / UNDEFINED_EPOCH_OFFSET).
// - current_leader_epoch (v2+, -1 = not checked) newer than ours: UNKNOWN_LEADER_EPOCH; older:
//   FENCED_LEADER_EPOCH, as Kafka fences clients with stale metadata. Unknown partition:
//   UNKNOWN_TOPIC_OR_PARTITION. replica_id (v3+) is accepted from consumers (-1) and followers.
// - Used by the Java consumer to validate its position after a leader change (KIP-320), and by
//   followers to find where their log diverges from the leader's. Flexible from v4.
// - Replicated partitions (cluster mode, `../replica_manager.ts`): only the leader answers;
//   a follower answers NOT_LEADER_OR_FOLLOWER.
// - ACLs: CLUSTER_ACTION on the cluster (a follower), else DESCRIBE on each topic, else its
//   partitions TOPIC_AUTHORIZATION_FAILED (`../security/access.ts`).

import { ErrorCode } from "../../protocol/errors.ts";
import {
  createOffsetForLeaderEpochResponse,
  createOffsetForLeaderEpochResponseEpochEndOffset,
  createOffsetForLeaderEpochResponseOffsetForLeaderTopicResult,
  OffsetForLeaderEpochRequest,
  OffsetForLeaderEpochResponse,
} from "../../protocol/messages/offset_for_leader_epoch.ts";
import { type ApiHandler, defineApi } from "../api.ts";
import { leaderError } from "../leadership.ts";
import { ACCESS, authorize, authorizedNames } from "../security/access.ts";

/** OffsetForLeaderEpoch handler. */
export const offsetForLeaderEpoch: ApiHandler = defineApi<
  OffsetForLeaderEpochRequest,
  OffsetForLeaderEpochResponse
>({
  minVersion: 0,
  maxVersion: 4,
  request: OffsetForLeaderEpochRequest,
  response: OffsetForLeaderEpochResponse,
  handle(ctx, req) {
    const logs = ctx.broker.logs;
    // a follower's CLUSTER_ACTION covers every topic; a consumer needs DESCRIBE on each (KIP-320)
    const all = authorize(ctx, ACCESS.OffsetForLeaderEpoch.cluster);
    const visible = all ? undefined : authorizedNames(
      ctx,
      ACCESS.OffsetForLeaderEpoch.topic,
      req.topics.map((t) => t.topic),
    );
    return createOffsetForLeaderEpochResponse({
      topics: req.topics.map((t) =>
        createOffsetForLeaderEpochResponseOffsetForLeaderTopicResult({
          topic: t.topic,
          partitions: t.partitions.map((p) => {
            const result = (errorCode: number, leaderEpoch = -1, endOffset = -1) =>
              createOffsetForLeaderEpochResponseEpochEndOffset({
                partition: p.partition,
                errorCode,
                leaderEpoch,
                endOffset,
              });
            if (visible !== undefined && !visible.has(t.topic)) {
              return result(ErrorCode.TOPIC_AUTHORIZATION_FAILED);
            }
            // only the partition's leader answers (cluster mode, or a replicated partition)
            const notLeader = leaderError(ctx.broker, t.topic, p.partition);
            if (notLeader !== undefined) return result(notLeader.code);
            const log = logs.partition(t.topic, p.partition)!;
            const current = p.currentLeaderEpoch;
            if (current !== -1 && current > log.leaderEpoch) {
              return result(ErrorCode.UNKNOWN_LEADER_EPOCH);
            }
            if (current !== -1 && current < log.leaderEpoch) {
              return result(ErrorCode.FENCED_LEADER_EPOCH);
            }
            const { epoch, endOffset } = log.endOffsetForEpoch(p.leaderEpoch);
            return result(ErrorCode.NONE, epoch, endOffset);
          }),
        })
      ),
    });
  },
  errorResponse(req, errorCode) {
    return createOffsetForLeaderEpochResponse({
      topics: req.topics.map((t) =>
        createOffsetForLeaderEpochResponseOffsetForLeaderTopicResult({
          topic: t.topic,
          partitions: t.partitions.map((p) =>
            createOffsetForLeaderEpochResponseEpochEndOffset({ partition: p.partition, errorCode })
          ),
        })
      ),
    });
  },
});
