// Copyright 2026 the Sluice authors. Apache-2.0 license.
// DescribeTopicPartitions (key 75, KIP-966): served v0 (flexible), as Kafka 3.9's
// `DescribeTopicPartitionsRequestHandler` and `KRaftMetadataCache`:
// - The topics: those listed (each once), or every topic when the list is empty; only names
//   >= the cursor's topic name (string order), sorted by name.
// - The cursor starts the answer at its topic and partition; the other topics start at
//   partition 0. A cursor on a topic that no longer exists starts at the next topic (all
//   topics), or answers the listed topic UNKNOWN_TOPIC_OR_PARTITION and goes on. A cursor whose
//   topic is not in a non-empty list, or with a negative partition, is INVALID_REQUEST (every
//   listed topic answered with it, nothing else).
// - The answer holds at most max(min(response_partition_limit, 2000), 1) partitions (2000:
//   Kafka's `max.request.partition.size.limit` default; not configurable here). A topic cut in
//   the middle is answered with its first partitions and next_cursor = (topic, next partition);
//   when the limit is used up exactly at a topic's end, next_cursor = (next topic, 0); the last
//   page has a null next_cursor. A cursor partition past a topic's end answers the topic with no
//   partitions.
// - A listed topic that does not exist: UNKNOWN_TOPIC_OR_PARTITION (INVALID_TOPIC_EXCEPTION for
//   an invalid name), zero topic id, no partitions; it takes nothing from the limit. Unknown
//   topics are not answered when all topics are asked for.
// - Partitions: leader, leader epoch, replicas, ISR and offline replicas as Metadata has them
//   (`./metadata.ts`: standalone, this broker leads every partition; cluster mode, from the
//   cluster view, a partition without a leader has leader -1 but error 0, as Kafka). ELR
//   (eligible_leader_replicas, last_known_elr) is not kept: both are empty, as on a Kafka 3.9
//   cluster without ELR. A fenced broker (cluster mode) waits up to 1 s for its view, then
//   vouches for no leader, as its Metadata does.
// - ACLs (`../security/access.ts`, as Metadata): DESCRIBE on each topic. All topics: only those
//   allowed are answered. Listed: a denied topic is answered TOPIC_AUTHORIZATION_FAILED (zero
//   id, no partitions, after the others, sorted by name) on every page whose cursor is at or
//   before it. topic_authorized_operations is always filled for the topics answered without
//   that error (unknown topics included, as Kafka).

import { ErrorCode } from "../../protocol/errors.ts";
import {
  createDescribeTopicPartitionsResponse,
  createDescribeTopicPartitionsResponseCursor,
  createDescribeTopicPartitionsResponseResponsePartition,
  createDescribeTopicPartitionsResponseResponseTopic,
  DescribeTopicPartitionsRequest,
  DescribeTopicPartitionsResponse,
} from "../../protocol/messages/describe_topic_partitions.ts";
import { validateTopicName } from "../../engine/mod.ts";
import { type ApiHandler, defineApi } from "../api.ts";
import { ACCESS, authorize, authorizedOperations } from "../security/access.ts";
import { ResourceType } from "../security/acl.ts";
import {
  describedTopic,
  isInternalTopic,
  topicNames,
  viewIsCurrent,
  vouchForNothing,
} from "./metadata.ts";

/** Kafka's `max.request.partition.size.limit` default: the most partitions one answer holds. */
export const MAX_REQUEST_PARTITION_SIZE_LIMIT = 2000;

type ResponseTopic = DescribeTopicPartitionsResponse["topics"][number];

function errorTopic(name: string, errorCode: number): ResponseTopic {
  return createDescribeTopicPartitionsResponseResponseTopic({
    errorCode,
    name,
    isInternal: isInternalTopic(name),
  });
}

function unknownTopicError(name: string): number {
  try {
    validateTopicName(name);
    return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
  } catch {
    return ErrorCode.INVALID_TOPIC_EXCEPTION;
  }
}

/** DescribeTopicPartitions handler. */
export const describeTopicPartitions: ApiHandler = defineApi<
  DescribeTopicPartitionsRequest,
  DescribeTopicPartitionsResponse
>({
  minVersion: 0,
  maxVersion: 0,
  request: DescribeTopicPartitionsRequest,
  response: DescribeTopicPartitionsResponse,
  async handle(ctx, req) {
    const broker = ctx.broker;
    const all = req.topics.length === 0;
    const cursor = req.cursor;
    const from = cursor?.topicName ?? "";
    const names = new Set<string>();
    for (const name of all ? topicNames(broker) : req.topics.map((t) => t.name)) {
      if (name >= from) names.add(name);
    }
    if (
      cursor !== null && ((!all && !names.has(cursor.topicName)) || cursor.partitionIndex < 0)
    ) {
      return invalidRequest(req);
    }
    const fenced = broker.cluster !== undefined && !await viewIsCurrent(ctx);
    const denied: ResponseTopic[] = [];
    const allowed: string[] = [];
    for (const name of [...names].sort()) {
      if (authorize(ctx, ACCESS.DescribeTopicPartitions.topic, name)) allowed.push(name);
      else if (!all) denied.push(errorTopic(name, ErrorCode.TOPIC_AUTHORIZATION_FAILED));
    }
    const res = createDescribeTopicPartitionsResponse();
    let remaining = Math.max(
      Math.min(MAX_REQUEST_PARTITION_SIZE_LIMIT, req.responsePartitionLimit),
      1,
    );
    for (const name of allowed) {
      if (remaining === 0) {
        res.nextCursor = createDescribeTopicPartitionsResponseCursor({
          topicName: name,
          partitionIndex: 0,
        });
        break;
      }
      const t = describedTopic(broker, name);
      if (t === undefined) {
        if (!all) res.topics.push(errorTopic(name, unknownTopicError(name)));
        continue;
      }
      const start = name === cursor?.topicName ? cursor.partitionIndex : 0;
      const end = Math.min(t.partitionCount, start + remaining);
      const partitions = [];
      for (let i = start; i < end; i++) {
        const p = t.partition(i);
        if (fenced) vouchForNothing(p);
        partitions.push(createDescribeTopicPartitionsResponseResponsePartition({
          // Kafka leaves the error at NONE when a partition has no leader (leader -1)
          errorCode: fenced ? p.errorCode : 0,
          partitionIndex: i,
          leaderId: p.leaderId,
          leaderEpoch: p.leaderEpoch,
          replicaNodes: p.replicaNodes,
          isrNodes: p.isrNodes,
          eligibleLeaderReplicas: [],
          lastKnownElr: [],
          offlineReplicas: p.offlineReplicas,
        }));
      }
      res.topics.push(createDescribeTopicPartitionsResponseResponseTopic({
        errorCode: 0,
        name,
        topicId: t.id,
        isInternal: isInternalTopic(name),
        partitions,
      }));
      if (end < t.partitionCount) {
        res.nextCursor = createDescribeTopicPartitionsResponseCursor({
          topicName: name,
          partitionIndex: end,
        });
        break;
      }
      remaining -= partitions.length;
    }
    for (const t of res.topics) {
      t.topicAuthorizedOperations = authorizedOperations(ctx, ResourceType.TOPIC, t.name!);
    }
    res.topics.push(...denied);
    return res;
  },
  errorResponse(req, errorCode) {
    return errorAnswer(req, errorCode);
  },
});

/** Kafka's error answer: every listed topic with the error, nothing else. */
function errorAnswer(
  req: DescribeTopicPartitionsRequest,
  errorCode: number,
): DescribeTopicPartitionsResponse {
  return createDescribeTopicPartitionsResponse({
    topics: req.topics.map((t) =>
      createDescribeTopicPartitionsResponseResponseTopic({ errorCode, name: t.name })
    ),
  });
}

function invalidRequest(req: DescribeTopicPartitionsRequest): DescribeTopicPartitionsResponse {
  return errorAnswer(req, ErrorCode.INVALID_REQUEST);
}
