// Copyright 2026 the Sluice authors. Apache-2.0 license.
// ConsumerGroupDescribe (key 69): served v0 by the group coordinator (`server/group/`), KIP-848.
// - Each consumer-protocol group: state (Empty, Assigning, Reconciling, Stable), group and
//   assignment epochs, the assignor in use, and each member with its epoch, subscription (topic
//   names and regex), current and target assignment (topic ids and names). An unknown group, or
//   a classic one, gets GROUP_ID_NOT_FOUND with Kafka's message.
// - ACLs: DESCRIBE on each group, else GROUP_AUTHORIZATION_FAILED; authorized operations when
//   asked for (`../security/access.ts`).

import { ErrorCode } from "../../protocol/errors.ts";
import {
  ConsumerGroupDescribeRequest,
  ConsumerGroupDescribeResponse,
  createConsumerGroupDescribeResponse,
  createConsumerGroupDescribeResponseAssignment,
  createConsumerGroupDescribeResponseDescribedGroup,
  createConsumerGroupDescribeResponseMember,
  createConsumerGroupDescribeResponseTopicPartitions,
} from "../../protocol/messages/consumer_group_describe.ts";
import { type ApiHandler, defineApi } from "../api.ts";
import { groupCoordinatorOf } from "../group/broker_context.ts";
import {
  ACCESS,
  authorize,
  AUTHORIZED_OPERATIONS_OMITTED,
  authorizedOperations,
} from "../security/access.ts";
import { ResourceType } from "../security/acl.ts";

/** ConsumerGroupDescribe handler. */
export const consumerGroupDescribe: ApiHandler = defineApi<
  ConsumerGroupDescribeRequest,
  ConsumerGroupDescribeResponse
>({
  minVersion: 0,
  maxVersion: 0,
  request: ConsumerGroupDescribeRequest,
  response: ConsumerGroupDescribeResponse,
  handle(ctx, req) {
    const groups = groupCoordinatorOf(ctx.broker);
    const assignment = (list: { topicId: string; topicName: string; partitions: number[] }[]) =>
      createConsumerGroupDescribeResponseAssignment({
        topicPartitions: list.map((t) => createConsumerGroupDescribeResponseTopicPartitions(t)),
      });
    return createConsumerGroupDescribeResponse({
      groups: req.groupIds.map((id) => {
        if (!authorize(ctx, ACCESS.ConsumerGroupDescribe.group, id)) {
          return createConsumerGroupDescribeResponseDescribedGroup({
            groupId: id,
            errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED,
            authorizedOperations: AUTHORIZED_OPERATIONS_OMITTED,
          });
        }
        const d = groups.consumerGroupDescribe(id);
        return createConsumerGroupDescribeResponseDescribedGroup({
          groupId: d.groupId,
          errorCode: d.errorCode,
          errorMessage: d.errorMessage,
          groupState: d.groupState,
          groupEpoch: d.groupEpoch,
          assignmentEpoch: d.assignmentEpoch,
          assignorName: d.assignorName,
          authorizedOperations: req.includeAuthorizedOperations && d.errorCode === 0
            ? authorizedOperations(ctx, ResourceType.GROUP, id)
            : AUTHORIZED_OPERATIONS_OMITTED,
          members: d.members.map((m) =>
            createConsumerGroupDescribeResponseMember({
              memberId: m.memberId,
              instanceId: m.instanceId,
              rackId: m.rackId,
              memberEpoch: m.memberEpoch,
              clientId: m.clientId,
              clientHost: m.clientHost,
              subscribedTopicNames: m.subscribedTopicNames,
              subscribedTopicRegex: m.subscribedTopicRegex,
              assignment: assignment(m.assignment),
              targetAssignment: assignment(m.targetAssignment),
            })
          ),
        });
      }),
    });
  },
  errorResponse(req, errorCode) {
    return createConsumerGroupDescribeResponse({
      groups: req.groupIds.map((groupId) =>
        createConsumerGroupDescribeResponseDescribedGroup({
          groupId,
          errorCode,
          authorizedOperations: AUTHORIZED_OPERATIONS_OMITTED,
        })
      ),
    });
  },
});
