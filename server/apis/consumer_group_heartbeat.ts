// Copyright 2026 the Sluice authors. Apache-2.0 license.
// ConsumerGroupHeartbeat (key 68): served v0-v1 by the group coordinator (`server/group/`), the
// consumer group protocol of KIP-848 (`group.protocol=consumer`), as Kafka 3.9 serves v0.
// - v1 is Kafka 4.0's (librdkafka 2.10+ sends only v1): it adds subscribed_topic_regex and
//   requires a member id made by the client (KIP-1082: INVALID_REQUEST "MemberId can't be
//   empty." otherwise). The regex (RE2J syntax, `../group/topic_regex.ts`) is resolved by the
//   coordinator against the topics the member may DESCRIBE, internal topics left out, again at
//   most every sluice.group.consumer.regex.refresh.interval.ms (10 s, Kafka's interval); an
//   invalid one is answered INVALID_REGULAR_EXPRESSION, as Kafka 4.0.
// - Epoch 0 joins (the coordinator makes a member id when none is sent), a positive epoch
//   heartbeats, -1 leaves, -2 is a static member leaving for a while. The answer carries the
//   member epoch, group.consumer.heartbeat.interval.ms and, when the request was a full one or
//   the member's partitions changed, its assignment (topic ids).
// - The target assignment is computed by the server assignor (`uniform`, the default, or
//   `range`: the request's server_assignor); members reconcile towards it as Kafka's
//   `CurrentAssignmentBuilder` (`../group/consumer_group.ts`).
// - Subscribed topic names are literal names; topics that do not exist are left out until they
//   do. The subscribed topics are looked up again at every
//   heartbeat, so a topic created or grown moves the group to a new epoch and assignment.
// - Errors as Kafka: INVALID_REQUEST (with Kafka's messages) for bad fields,
//   UNSUPPORTED_ASSIGNOR, GROUP_ID_NOT_FOUND (unknown group with a non-zero epoch, or a classic
//   group with members), UNKNOWN_MEMBER_ID, FENCED_MEMBER_EPOCH, UNRELEASED_INSTANCE_ID,
//   FENCED_INSTANCE_ID, GROUP_MAX_SIZE_REACHED, NOT_COORDINATOR.
// - Answered once the group's records (epoch, member, current assignment) are durable in
//   `__consumer_offsets` (acks=all in cluster mode); a failed write is answered NOT_COORDINATOR or
//   COORDINATOR_NOT_AVAILABLE, as Kafka.
// - ACLs: READ on the group, else GROUP_AUTHORIZATION_FAILED (`../security/access.ts`).

import { ErrorCode } from "../../protocol/errors.ts";
import {
  ConsumerGroupHeartbeatRequest,
  ConsumerGroupHeartbeatResponse,
  createConsumerGroupHeartbeatResponse,
  createConsumerGroupHeartbeatResponseAssignment,
  createConsumerGroupHeartbeatResponseTopicPartitions,
} from "../../protocol/messages/consumer_group_heartbeat.ts";
import { type ApiHandler, defineApi } from "../api.ts";
import { clientHostOf, groupCoordinatorOf } from "../group/broker_context.ts";
import { ACCESS, authorize } from "../security/access.ts";
import { describedTopic, topicNames } from "./metadata.ts";

/** ConsumerGroupHeartbeat handler. */
export const consumerGroupHeartbeat: ApiHandler = defineApi<
  ConsumerGroupHeartbeatRequest,
  ConsumerGroupHeartbeatResponse
>({
  minVersion: 0,
  maxVersion: 1,
  request: ConsumerGroupHeartbeatRequest,
  response: ConsumerGroupHeartbeatResponse,
  async handle(ctx, req) {
    if (!authorize(ctx, ACCESS.ConsumerGroupHeartbeat.group, req.groupId)) {
      return createConsumerGroupHeartbeatResponse({
        errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED,
      });
    }
    const r = groupCoordinatorOf(ctx.broker).consumerGroupHeartbeat(
      {
        groupId: req.groupId,
        apiVersion: ctx.version,
        memberId: req.memberId,
        memberEpoch: req.memberEpoch,
        subscribedTopicRegex: ctx.version >= 1 ? req.subscribedTopicRegex : null,
        instanceId: req.instanceId,
        rackId: req.rackId,
        rebalanceTimeoutMs: req.rebalanceTimeoutMs,
        subscribedTopicNames: req.subscribedTopicNames,
        serverAssignor: req.serverAssignor,
        topicPartitions: req.topicPartitions,
        clientId: ctx.clientId ?? "",
        clientHost: clientHostOf(ctx.connection.remote),
      },
      (name) => {
        const t = describedTopic(ctx.broker, name);
        return t === undefined ? undefined : { id: t.id, name, partitions: t.partitionCount };
      },
      () =>
        topicNames(ctx.broker).filter((n) =>
          authorize(ctx, ACCESS.ConsumerGroupHeartbeat.regexTopic, n)
        ),
    );
    // answered once the group's records are durable, as Kafka does
    const written = r.written === undefined ? 0 : await r.written;
    if (written !== 0) return createConsumerGroupHeartbeatResponse({ errorCode: written });
    return createConsumerGroupHeartbeatResponse({
      errorCode: r.errorCode,
      errorMessage: r.errorMessage,
      memberId: r.memberId,
      memberEpoch: r.memberEpoch,
      heartbeatIntervalMs: r.heartbeatIntervalMs,
      assignment: r.assignment === null ? null : createConsumerGroupHeartbeatResponseAssignment({
        topicPartitions: r.assignment.map((t) =>
          createConsumerGroupHeartbeatResponseTopicPartitions(t)
        ),
      }),
    });
  },
  errorResponse(_req, errorCode) {
    return createConsumerGroupHeartbeatResponse({ errorCode });
  },
});
