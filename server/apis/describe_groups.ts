// Copyright 2026 the Sluice authors. Apache-2.0 license.
// DescribeGroups (key 15): served v0-v5 by the group coordinator (`server/group/`).
// - An unknown group is reported as state "Dead" with no error (as Kafka up to v5).
// - Member metadata and assignment, and protocol_data (the selected protocol), are filled only
//   when the group is Stable, as in Kafka. v4+ group_instance_id per member.
// - v3+ authorized operations are not computed: INT32_MIN (omitted), even when requested.
// - A group id listed more than once is described once, at its first place: one group named
//   58,000 times (members with 32 KiB client ids) made the broker encode gigabytes for 18 s,
//   during which no other client was served.
// - ACLs: DESCRIBE on each group, else GROUP_AUTHORIZATION_FAILED for it; v3+
//   include_authorized_operations fills authorized_operations (`../security/access.ts`).

import { ErrorCode } from "../../protocol/errors.ts";
import {
  createDescribeGroupsResponse,
  createDescribeGroupsResponseDescribedGroup,
  createDescribeGroupsResponseDescribedGroupMember,
  DescribeGroupsRequest,
  DescribeGroupsResponse,
} from "../../protocol/messages/describe_groups.ts";
import { type ApiHandler, defineApi } from "../api.ts";
import { groupCoordinatorOf } from "../group/broker_context.ts";
import {
  ACCESS,
  authorize,
  AUTHORIZED_OPERATIONS_OMITTED,
  authorizedOperations,
} from "../security/access.ts";
import { ResourceType } from "../security/acl.ts";

/** DescribeGroups handler. */
export const describeGroups: ApiHandler = defineApi<
  DescribeGroupsRequest,
  DescribeGroupsResponse
>({
  minVersion: 0,
  maxVersion: 5,
  request: DescribeGroupsRequest,
  response: DescribeGroupsResponse,
  handle(ctx, req) {
    const groups = groupCoordinatorOf(ctx.broker);
    return createDescribeGroupsResponse({
      groups: [...new Set(req.groups)].map((id) => {
        if (!authorize(ctx, ACCESS.DescribeGroups.group, id)) {
          return createDescribeGroupsResponseDescribedGroup({
            errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED,
            groupId: id,
          });
        }
        const d = groups.describeGroup(id);
        return createDescribeGroupsResponseDescribedGroup({
          authorizedOperations: ctx.version >= 3 && req.includeAuthorizedOperations
            ? authorizedOperations(ctx, ResourceType.GROUP, id)
            : AUTHORIZED_OPERATIONS_OMITTED,
          errorCode: d.errorCode,
          groupId: d.groupId,
          groupState: d.groupState,
          protocolType: d.protocolType,
          protocolData: d.protocolData,
          members: d.members.map((m) =>
            createDescribeGroupsResponseDescribedGroupMember({
              memberId: m.memberId,
              groupInstanceId: ctx.version >= 4 ? m.groupInstanceId : null,
              clientId: m.clientId,
              clientHost: m.clientHost,
              memberMetadata: m.memberMetadata,
              memberAssignment: m.memberAssignment,
            })
          ),
        });
      }),
    });
  },
  errorResponse(req, errorCode) {
    return createDescribeGroupsResponse({
      groups: req.groups.map((groupId) =>
        createDescribeGroupsResponseDescribedGroup({ errorCode, groupId })
      ),
    });
  },
});
