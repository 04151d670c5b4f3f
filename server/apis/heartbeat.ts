// Copyright 2026 the Sluice authors. Apache-2.0 license.
// Heartbeat (key 12): served v0-v4 by the group coordinator (`server/group/`).
// - Keeps a member's session alive. REBALANCE_IN_PROGRESS tells the member to rejoin;
//   UNKNOWN_MEMBER_ID / ILLEGAL_GENERATION that it was evicted or is behind; v3+
//   group_instance_id can be fenced (FENCED_INSTANCE_ID).
// - ACLs: READ on the group, else GROUP_AUTHORIZATION_FAILED (`../security/access.ts`).

import { ErrorCode } from "../../protocol/errors.ts";
import {
  createHeartbeatResponse,
  HeartbeatRequest,
  HeartbeatResponse,
} from "../../protocol/messages/heartbeat.ts";
import { type ApiHandler, defineApi } from "../api.ts";
import { groupCoordinatorOf } from "../group/broker_context.ts";
import { ACCESS, authorize } from "../security/access.ts";

/** Heartbeat handler. */
export const heartbeat: ApiHandler = defineApi<HeartbeatRequest, HeartbeatResponse>({
  minVersion: 0,
  maxVersion: 4,
  request: HeartbeatRequest,
  response: HeartbeatResponse,
  handle(ctx, req) {
    if (!authorize(ctx, ACCESS.Heartbeat.group, req.groupId)) {
      return createHeartbeatResponse({ errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED });
    }
    const errorCode = groupCoordinatorOf(ctx.broker).heartbeat({
      groupId: req.groupId,
      generationId: req.generationId,
      memberId: req.memberId,
      groupInstanceId: ctx.version >= 3 ? req.groupInstanceId : null,
    });
    return createHeartbeatResponse({ errorCode });
  },
  errorResponse(_req, errorCode) {
    return createHeartbeatResponse({ errorCode });
  },
});
