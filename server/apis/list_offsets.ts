// Copyright 2026 the Sluice authors. Apache-2.0 license.
// ListOffsets (key 2): served v0-v8.
// - Cluster mode (docs/CLUSTER.md): only the partition's leader answers; other brokers (and a
//   fenced leader) answer NOT_LEADER_OR_FOLLOWER, an unknown partition UNKNOWN_TOPIC_OR_PARTITION.
// - timestamp -1 = latest (the high watermark; for isolation_level=1, read_committed, v2+, the
//   partition's last stable offset, `PartitionLog.lastStableOffset`), -2 = earliest (log start
//   offset), -3 (v7+) = the record with the largest timestamp, -4 (v8+, earliest local) =
//   earliest; otherwise the first offset whose timestamp is >= the target
//   (`PartitionLog.offsetForTime`); none: offset -1. As Kafka, a read_committed timestamp lookup
//   (-3 included) that lands at or after the last stable offset finds nothing (offset -1).
// - v0 answers with old_style_offsets by segment, as Kafka's `legacyFetchOffsetsBefore`
//   (`PartitionLog.legacyOffsetsBefore`): latest = the log end offset then each segment's base
//   offset, earliest = the log start offset, a time = the base offsets of segments last written
//   at or before it (not record timestamps), largest first, at most max_num_offsets; for a
//   consumer (replica id -1) offsets past the high watermark become the high watermark.
//   v1+ answer timestamp + offset; v4+ leader_epoch (the log's leader epoch on a replicated
//   partition, else 0: a standalone broker is the single permanent leader).
// - v4+ current_leader_epoch (-1 = not checked) on a replicated partition: older than the
//   leader's epoch FENCED_LEADER_EPOCH, newer UNKNOWN_LEADER_EPOCH, as Fetch checks it (KIP-320:
//   a consumer resetting its position must not take an offset from a leader it no longer knows).
// - Unknown topic/partition: UNKNOWN_TOPIC_OR_PARTITION.
// - Replicated partitions (cluster mode, `../replica_manager.ts`): only the leader answers
//   (NOT_LEADER_OR_FOLLOWER elsewhere); as in Kafka, a timestamp lookup that lands at or after
//   the high watermark finds nothing (on a standalone broker the HW is the log end offset).
// - ACLs: DESCRIBE on each topic, else its partitions TOPIC_AUTHORIZATION_FAILED
//   (`../security/access.ts`).

import {
  createListOffsetsResponse,
  createListOffsetsResponsePartitionResponse,
  createListOffsetsResponseTopicResponse,
  ListOffsetsRequest,
  ListOffsetsResponse,
} from "../../protocol/messages/list_offsets.ts";
import { type ApiHandler, type BrokerContext, defineApi } from "../api.ts";
import { leaderError } from "../leadership.ts";
import { ACCESS, authorizedNames } from "../security/access.ts";
import { ErrorCode } from "../../protocol/errors.ts";

type PartitionResponse = ListOffsetsResponse["topics"][number]["partitions"][number];

const LATEST = -1;
/** The replica id a consumer sends (Kafka's `ListOffsetsRequest.CONSUMER_REPLICA_ID`). */
const CONSUMER_REPLICA_ID = -1;
const EARLIEST = -2;
const EARLIEST_LOCAL = -4;

async function lookup(
  broker: BrokerContext,
  topic: string,
  partitionIndex: number,
  timestamp: number,
  maxNumOffsets: number,
  version: number,
  readCommitted: boolean,
  currentLeaderEpoch: number,
  replicaId: number,
): Promise<PartitionResponse> {
  // only the partition's leader answers (cluster mode, or a replicated partition), in its epoch
  const notLeader = leaderError(broker, topic, partitionIndex);
  const fenced = notLeader?.code ??
    broker.replicas?.checkFetch(topic, partitionIndex, currentLeaderEpoch);
  if (fenced !== undefined && fenced !== ErrorCode.NONE) {
    return createListOffsetsResponsePartitionResponse({ partitionIndex, errorCode: fenced });
  }
  const log = broker.logs.partition(topic, partitionIndex)!;
  // Fields absent from v0 keep their defaults (the codec refuses others).
  if (version === 0) {
    // by segment, as Kafka's legacyFetchOffsetsForTimestamp; a consumer (replica id -1) never
    // sees an offset past the high watermark: those are replaced by the high watermark
    const hw = log.highWatermark;
    let offsets = log.legacyOffsetsBefore(timestamp, Math.max(0, maxNumOffsets));
    if (replicaId === CONSUMER_REPLICA_ID && offsets.some((o) => o > hw)) {
      offsets = [hw, ...offsets.filter((o) => o <= hw)];
    }
    return createListOffsetsResponsePartitionResponse({
      partitionIndex,
      errorCode: 0,
      oldStyleOffsets: offsets,
    });
  }
  let offset = -1;
  let ts = -1;
  if (timestamp === LATEST) {
    offset = readCommitted ? log.lastStableOffset : log.highWatermark;
  } else if (timestamp === EARLIEST || timestamp === EARLIEST_LOCAL) offset = log.logStartOffset;
  else {
    const stable = log.lastStableOffset;
    const hit = await log.offsetForTime(timestamp);
    if (hit !== null && hit.offset < (readCommitted ? stable : log.highWatermark)) {
      offset = hit.offset;
      ts = hit.timestamp;
    }
  }
  return createListOffsetsResponsePartitionResponse({
    partitionIndex,
    errorCode: 0,
    timestamp: ts,
    offset,
    leaderEpoch: version >= 4 ? (broker.replicas !== undefined ? log.leaderEpoch : 0) : -1,
  });
}

/** ListOffsets handler. */
export const listOffsets: ApiHandler = defineApi<ListOffsetsRequest, ListOffsetsResponse>({
  minVersion: 0,
  maxVersion: 8,
  request: ListOffsetsRequest,
  response: ListOffsetsResponse,
  async handle(ctx, req) {
    const readCommitted = ctx.version >= 2 && req.isolationLevel === 1;
    const visible = authorizedNames(ctx, ACCESS.ListOffsets.topic, req.topics.map((t) => t.name));
    const topics = await Promise.all(
      req.topics.map(async (t) =>
        createListOffsetsResponseTopicResponse({
          name: t.name,
          partitions: await Promise.all(t.partitions.map((p) =>
            !visible.has(t.name)
              ? createListOffsetsResponsePartitionResponse({
                partitionIndex: p.partitionIndex,
                errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
                timestamp: -1,
                offset: -1,
              })
              : lookup(
                ctx.broker,
                t.name,
                p.partitionIndex,
                p.timestamp,
                p.maxNumOffsets,
                ctx.version,
                readCommitted,
                ctx.version >= 4 ? p.currentLeaderEpoch : -1,
                req.replicaId,
              )
          )),
        })
      ),
    );
    return createListOffsetsResponse({ topics });
  },
  errorResponse(req, errorCode) {
    return createListOffsetsResponse({
      topics: req.topics.map((t) =>
        createListOffsetsResponseTopicResponse({
          name: t.name,
          partitions: t.partitions.map((p) =>
            createListOffsetsResponsePartitionResponse({
              partitionIndex: p.partitionIndex,
              errorCode,
              timestamp: -1,
              offset: -1,
            })
          ),
        })
      ),
    });
  },
});
