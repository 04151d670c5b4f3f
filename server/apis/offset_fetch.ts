// Copyright 2026 the Sluice authors. Apache-2.0 license.
// OffsetFetch (key 9): served v0-v9 by the group coordinator (`server/group/`).
// - v0 (ZooKeeper-era) is served like v1 from __consumer_offsets.
// - Partitions without a committed offset (or of unknown groups/topics) get offset -1,
//   metadata "" and no error. v2+: null topics = every committed offset of the group, and a
//   top-level error code (v0-v1 carry group errors per partition). v5+ committed_leader_epoch.
// - v7+ require_stable (KIP-447, Kafka's `GroupMetadataManager.getOffsets`): a partition with
//   an offset of a transaction not completed yet (TxnOffsetCommit accepted, its COMMIT/ABORT
//   not yet applied to the group) gets UNSTABLE_OFFSET_COMMIT with offset -1, per partition
//   (in v8+ in each group); clients retry until the transaction ends. On one broker the
//   transaction coordinator holds those offsets, in cluster mode the group coordinator.
//   Without it the last committed offset is answered. With null topics only partitions with a
//   committed offset are listed (a pending one among them is UNSTABLE_OFFSET_COMMIT).
// - v8+: several groups per request, answered per group; v9 member id/epoch (KIP-848) are not
//   checked for classic groups. For a consumer-protocol group (ConsumerGroupHeartbeat) they are,
//   as Kafka's `ConsumerGroup.validateOffsetFetch`: no member id with epoch -1 (admin) passes, an
//   unknown member gets UNKNOWN_MEMBER_ID, another epoch STALE_MEMBER_EPOCH (group-level).
// - ACLs (`../security/access.ts`): DESCRIBE on the group, else GROUP_AUTHORIZATION_FAILED (per
//   group in v8+, top-level in v2-v7, per partition before); DESCRIBE on each topic: a named
//   topic the principal may not DESCRIBE gets TOPIC_AUTHORIZATION_FAILED per partition, and
//   when every committed offset is asked for (null topics) such topics are left out.

import {
  createOffsetFetchResponse,
  createOffsetFetchResponseResponseGroup,
  createOffsetFetchResponseResponsePartition,
  createOffsetFetchResponseResponsePartitions,
  createOffsetFetchResponseResponseTopic,
  createOffsetFetchResponseResponseTopics,
  OffsetFetchRequest,
  OffsetFetchResponse,
} from "../../protocol/messages/offset_fetch.ts";
import { type ApiHandler, defineApi } from "../api.ts";
import { groupCoordinatorOf } from "../group/broker_context.ts";
import type { OffsetFetchResult } from "../group/coordinator.ts";
import { ErrorCode } from "../../protocol/errors.ts";
import { ACCESS, authorize, authorizedNames } from "../security/access.ts";
import type { RequestContext } from "../api.ts";

type Topics = { name: string; partitionIndexes: number[] }[] | null;

function wanted(topics: Topics): { topic: string; partitions: number[] }[] | null {
  return topics === null
    ? null
    : topics.map((t) => ({ topic: t.name, partitions: t.partitionIndexes }));
}

/** One group's offsets as the principal may see them (`null` topics: every committed one). */
function fetchAuthorized(
  ctx: RequestContext,
  groupId: string,
  topics: Topics,
  requireStable: boolean,
  member: { memberId: string | null; memberEpoch: number } = { memberId: null, memberEpoch: -1 },
): OffsetFetchResult {
  if (!authorize(ctx, ACCESS.OffsetFetch.group, groupId)) {
    return { errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED, topics: [] };
  }
  const groups = groupCoordinatorOf(ctx.broker);
  const options = { requireStable, ...member };
  if (topics === null) {
    const r = groups.fetchOffsets(groupId, null, options);
    if (ctx.broker.authorizer === undefined) return r;
    const visible = authorizedNames(ctx, ACCESS.OffsetFetch.topic, r.topics.map((t) => t.topic));
    return { ...r, topics: r.topics.filter((t) => visible.has(t.topic)) };
  }
  const visible = authorizedNames(ctx, ACCESS.OffsetFetch.topic, topics.map((t) => t.name));
  const r = groups.fetchOffsets(
    groupId,
    wanted(topics.filter((t) => visible.has(t.name))),
    options,
  );
  if (r.errorCode !== 0 || visible.size === topics.length) return r;
  const denied = topics.filter((t) => !visible.has(t.name)).map((t) => ({
    topic: t.name,
    partitions: t.partitionIndexes.map((partition) => ({
      partition,
      offset: -1,
      leaderEpoch: -1,
      metadata: "",
      errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
    })),
  }));
  return { ...r, topics: [...r.topics, ...denied] };
}

/** OffsetFetch handler. */
export const offsetFetch: ApiHandler = defineApi<OffsetFetchRequest, OffsetFetchResponse>({
  minVersion: 0,
  maxVersion: 9,
  request: OffsetFetchRequest,
  response: OffsetFetchResponse,
  handle(ctx, req) {
    const v = ctx.version;
    const requireStable = v >= 7 && req.requireStable;
    if (v >= 8) {
      const results: OffsetFetchResult[] = [];
      for (const g of req.groups) {
        const member = v >= 9
          ? { memberId: g.memberId, memberEpoch: g.memberEpoch }
          : { memberId: null, memberEpoch: -1 };
        results.push(fetchAuthorized(ctx, g.groupId, g.topics, requireStable, member));
      }
      return createOffsetFetchResponse({
        groups: req.groups.map((g, i) => {
          const r = results[i];
          return createOffsetFetchResponseResponseGroup({
            groupId: g.groupId,
            errorCode: r.errorCode,
            topics: r.topics.map((t) =>
              createOffsetFetchResponseResponseTopics({
                name: t.topic,
                partitions: t.partitions.map((p) =>
                  createOffsetFetchResponseResponsePartitions({
                    partitionIndex: p.partition,
                    committedOffset: p.offset,
                    committedLeaderEpoch: p.leaderEpoch,
                    metadata: p.metadata,
                    errorCode: p.errorCode,
                  })
                ),
              })
            ),
          });
        }),
      });
    }
    const r = fetchAuthorized(ctx, req.groupId, req.topics, requireStable);
    return single(r, req.topics, v);
  },
  errorResponse(req, errorCode) {
    if (req.groups.length > 0) {
      return createOffsetFetchResponse({
        groups: req.groups.map((g) =>
          createOffsetFetchResponseResponseGroup({ groupId: g.groupId, errorCode, topics: [] })
        ),
      });
    }
    return single({ errorCode, topics: [] }, req.topics, 2);
  },
});

function single(r: OffsetFetchResult, requested: Topics, v: number): OffsetFetchResponse {
  // A group-level error before v2 goes into every requested partition.
  const topics = r.errorCode !== 0 && (v < 2 || r.topics.length === 0) && requested !== null
    ? requested.map((t) => ({
      topic: t.name,
      partitions: t.partitionIndexes.map((partition) => ({
        partition,
        offset: -1,
        leaderEpoch: -1,
        metadata: "",
        errorCode: r.errorCode,
      })),
    }))
    : r.topics;
  return createOffsetFetchResponse({
    errorCode: v >= 2 ? r.errorCode : 0,
    topics: topics.map((t) =>
      createOffsetFetchResponseResponseTopic({
        name: t.topic,
        partitions: t.partitions.map((p) =>
          createOffsetFetchResponseResponsePartition({
            partitionIndex: p.partition,
            committedOffset: p.offset,
            committedLeaderEpoch: p.leaderEpoch,
            metadata: p.metadata,
            errorCode: p.errorCode,
          })
        ),
      })
    ),
  });
}
