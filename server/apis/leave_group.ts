// Copyright 2026 the Sluice authors. Apache-2.0 license.
// LeaveGroup (key 13): served v0-v5 by the group coordinator (`server/group/`).
// - v0-v2: one member_id; its error is the top-level error.
// - v3+: a batch of members (member_id and/or group_instance_id; a static member may be named by
//   instance id alone), answered per member; the top-level error is for the group.
//   v5+: a reason per member (logged only).
// - ACLs: READ on the group, else GROUP_AUTHORIZATION_FAILED (`../security/access.ts`).

import { ErrorCode } from "../../protocol/errors.ts";
import {
  createLeaveGroupResponse,
  createLeaveGroupResponseMemberResponse,
  LeaveGroupRequest,
  LeaveGroupResponse,
} from "../../protocol/messages/leave_group.ts";
import { type ApiHandler, defineApi } from "../api.ts";
import { groupCoordinatorOf } from "../group/broker_context.ts";
import { ACCESS, authorize } from "../security/access.ts";

/** LeaveGroup handler. */
export const leaveGroup: ApiHandler = defineApi<LeaveGroupRequest, LeaveGroupResponse>({
  minVersion: 0,
  maxVersion: 5,
  request: LeaveGroupRequest,
  response: LeaveGroupResponse,
  handle(ctx, req) {
    const batched = ctx.version >= 3;
    if (!authorize(ctx, ACCESS.LeaveGroup.group, req.groupId)) {
      return createLeaveGroupResponse({ errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED });
    }
    const members = batched
      ? req.members.map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId }))
      : [{ memberId: req.memberId, groupInstanceId: null }];
    const r = groupCoordinatorOf(ctx.broker).leaveGroup(req.groupId, members);
    if (!batched) {
      const code = r.errorCode !== 0 ? r.errorCode : r.members[0].errorCode;
      return createLeaveGroupResponse({ errorCode: code });
    }
    return createLeaveGroupResponse({
      errorCode: r.errorCode,
      members: r.members.map((m) =>
        createLeaveGroupResponseMemberResponse({
          memberId: m.memberId,
          groupInstanceId: m.groupInstanceId,
          errorCode: m.errorCode,
        })
      ),
    });
  },
  errorResponse(req, errorCode) {
    return createLeaveGroupResponse({
      errorCode,
      members: req.members.map((m) =>
        createLeaveGroupResponseMemberResponse({
          memberId: m.memberId,
          groupInstanceId: m.groupInstanceId,
          errorCode,
        })
      ),
    });
  },
});
