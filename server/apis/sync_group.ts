// Copyright 2026 the Sluice authors. Apache-2.0 license.
// SyncGroup (key 14): served v0-v5 by the group coordinator (`server/group/`).
// - The leader sends the assignment; every member (leader included) gets its own. Followers
//   that sync before the leader wait for it (a long call, ended by broker shutdown with
//   NOT_COORDINATOR).
// - Errors as Kafka: UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION, REBALANCE_IN_PROGRESS,
//   FENCED_INSTANCE_ID (v3+ group_instance_id), INCONSISTENT_GROUP_PROTOCOL (v5+ protocol
//   type/name checked when given; also returned in the response from v5).
// - ACLs: READ on the group, else GROUP_AUTHORIZATION_FAILED (`../security/access.ts`).

import { ErrorCode } from "../../protocol/errors.ts";
import {
  createSyncGroupResponse,
  SyncGroupRequest,
  SyncGroupResponse,
} from "../../protocol/messages/sync_group.ts";
import { type ApiHandler, defineApi } from "../api.ts";
import { groupCoordinatorOf, waitSignalOf } from "../group/broker_context.ts";
import { ACCESS, authorize } from "../security/access.ts";

/** SyncGroup handler. */
export const syncGroup: ApiHandler = defineApi<SyncGroupRequest, SyncGroupResponse>({
  minVersion: 0,
  maxVersion: 5,
  request: SyncGroupRequest,
  response: SyncGroupResponse,
  async handle(ctx, req) {
    const v = ctx.version;
    if (!authorize(ctx, ACCESS.SyncGroup.group, req.groupId)) {
      return createSyncGroupResponse({
        errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED,
        assignment: new Uint8Array(0),
      });
    }
    const r = await groupCoordinatorOf(ctx.broker).syncGroup({
      groupId: req.groupId,
      generationId: req.generationId,
      memberId: req.memberId,
      groupInstanceId: v >= 3 ? req.groupInstanceId : null,
      protocolType: v >= 5 ? req.protocolType : null,
      protocolName: v >= 5 ? req.protocolName : null,
      assignments: req.assignments.map((a) => ({
        memberId: a.memberId,
        assignment: a.assignment,
      })),
    }, waitSignalOf(ctx));
    return createSyncGroupResponse({
      errorCode: r.errorCode,
      protocolType: v >= 5 ? r.protocolType : null,
      protocolName: v >= 5 ? r.protocolName : null,
      assignment: r.assignment,
    });
  },
  errorResponse(_req, errorCode) {
    return createSyncGroupResponse({ errorCode, assignment: new Uint8Array(0) });
  },
});
