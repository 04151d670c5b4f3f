// Copyright 2026 the Sluice authors. Apache-2.0 license.
// OffsetCommit (key 8): served v0-v9 by the group coordinator (`server/group/`).
// - v0 (ZooKeeper-era) is treated like v1 with generation -1: a simple commit.
// - generation -1 with an empty member id is a simple (admin) commit, accepted while the group
//   is Empty or unknown (it is then created Empty). Otherwise member id, generation and (v7+)
//   group_instance_id are checked: UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION, FENCED_INSTANCE_ID,
//   REBALANCE_IN_PROGRESS while the group awaits its SyncGroup.
// - v1 per-partition commit_timestamp is ignored (the broker's time is stored); v2-v4
//   retention_time_ms sets an explicit expiry (-1: offsets.retention.minutes). v6+
//   committed_leader_epoch is stored. v9's member epoch is the classic generation for classic
//   groups; for a consumer-protocol group (KIP-848) it is the member epoch, as Kafka's
//   `ConsumerGroup.validateOffsetCommit`: epoch -1 is accepted while the group has no members,
//   otherwise UNKNOWN_MEMBER_ID, UNSUPPORTED_VERSION for a member committing below v9, and
//   STALE_MEMBER_EPOCH for another epoch than the member's.
// - Partitions of unknown topics get UNKNOWN_TOPIC_OR_PARTITION; metadata longer than
//   offset.metadata.max.bytes gets OFFSET_METADATA_TOO_LARGE. A commit is acknowledged once it
//   is appended to __consumer_offsets.
// - ACLs (`../security/access.ts`): READ on the group, else every partition
//   GROUP_AUTHORIZATION_FAILED; READ on each topic, else its partitions
//   TOPIC_AUTHORIZATION_FAILED. Nothing refused is committed.

import { ErrorCode } from "../../protocol/errors.ts";
import {
  createOffsetCommitResponse,
  createOffsetCommitResponseResponsePartition,
  createOffsetCommitResponseResponseTopic,
  OffsetCommitRequest,
  OffsetCommitResponse,
} from "../../protocol/messages/offset_commit.ts";
import { type ApiHandler, defineApi } from "../api.ts";
import { groupCoordinatorOf } from "../group/broker_context.ts";
import { partitionExists } from "../leadership.ts";
import type { OffsetCommitParams } from "../group/coordinator.ts";
import { ACCESS, authorize, authorizedNames } from "../security/access.ts";

/** OffsetCommit handler. */
export const offsetCommit: ApiHandler = defineApi<OffsetCommitRequest, OffsetCommitResponse>({
  minVersion: 0,
  maxVersion: 9,
  request: OffsetCommitRequest,
  response: OffsetCommitResponse,
  async handle(ctx, req) {
    const v = ctx.version;
    if (!authorize(ctx, ACCESS.OffsetCommit.group, req.groupId)) {
      return this.errorResponse(req, ErrorCode.GROUP_AUTHORIZATION_FAILED, "");
    }
    const readable = authorizedNames(ctx, ACCESS.OffsetCommit.topic, req.topics.map((t) => t.name));
    const known: OffsetCommitParams["topics"] = [];
    for (const t of req.topics) {
      if (!readable.has(t.name)) continue;
      const partitions = t.partitions
        .filter((p) => partitionExists(ctx.broker, t.name, p.partitionIndex))
        .map((p) => ({
          partition: p.partitionIndex,
          offset: p.committedOffset,
          leaderEpoch: v >= 6 ? p.committedLeaderEpoch : -1,
          metadata: p.committedMetadata,
        }));
      if (partitions.length > 0) known.push({ topic: t.name, partitions });
    }
    const results = await groupCoordinatorOf(ctx.broker).commitOffsets({
      groupId: req.groupId,
      generationId: v >= 1 ? req.generationIdOrMemberEpoch : -1,
      memberId: v >= 1 ? req.memberId : "",
      groupInstanceId: v >= 7 ? req.groupInstanceId : null,
      retentionTimeMs: v >= 2 && v <= 4 ? req.retentionTimeMs : -1,
      apiVersion: v,
      topics: known,
    });
    const codes = new Map<string, number>();
    for (const t of results) {
      for (const p of t.partitions) codes.set(`${t.topic}\u0000${p.partition}`, p.errorCode);
    }
    return createOffsetCommitResponse({
      topics: req.topics.map((t) =>
        createOffsetCommitResponseResponseTopic({
          name: t.name,
          partitions: t.partitions.map((p) =>
            createOffsetCommitResponseResponsePartition({
              partitionIndex: p.partitionIndex,
              errorCode: !readable.has(t.name)
                ? ErrorCode.TOPIC_AUTHORIZATION_FAILED
                : codes.get(`${t.name}\u0000${p.partitionIndex}`) ??
                  ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
            })
          ),
        })
      ),
    });
  },
  errorResponse(req, errorCode) {
    return createOffsetCommitResponse({
      topics: req.topics.map((t) =>
        createOffsetCommitResponseResponseTopic({
          name: t.name,
          partitions: t.partitions.map((p) =>
            createOffsetCommitResponseResponsePartition({
              partitionIndex: p.partitionIndex,
              errorCode,
            })
          ),
        })
      ),
    });
  },
});
