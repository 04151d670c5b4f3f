// Copyright 2026 the Sluice authors. Apache-2.0 license.
// JoinGroup (key 11): served v0-v9 by the group coordinator (`server/group/`).
// - v0 has no rebalance timeout: the session timeout is used, as in Kafka.
// - v4+: a new dynamic member first gets MEMBER_ID_REQUIRED with its member id and must rejoin
//   with it. v5+: group_instance_id (static membership). v7+: protocol_type in the response.
//   v8+: reason (logged only). v9: skip_assignment, set when a static leader rejoins a Stable
//   group (KIP-814); before v9 that leader is sent leader "" instead, as Kafka does, so it acts
//   as a follower and keeps its assignment.
// - A long call: it waits for the rebalance to complete. A broker shutdown (or a closed
//   connection) ends the wait with NOT_COORDINATOR.
// - Before v7 the response's protocol_name is not nullable: "" is sent when there is none.
// - ACLs: READ on the group, else GROUP_AUTHORIZATION_FAILED (`../security/access.ts`).

import { ErrorCode } from "../../protocol/errors.ts";
import {
  createJoinGroupResponse,
  createJoinGroupResponseResponseMember,
  JoinGroupRequest,
  JoinGroupResponse,
} from "../../protocol/messages/join_group.ts";
import { type ApiHandler, defineApi } from "../api.ts";
import { clientHostOf, groupCoordinatorOf, waitSignalOf } from "../group/broker_context.ts";
import { ACCESS, authorize } from "../security/access.ts";

/** JoinGroup handler. */
export const joinGroup: ApiHandler = defineApi<JoinGroupRequest, JoinGroupResponse>({
  minVersion: 0,
  maxVersion: 9,
  request: JoinGroupRequest,
  response: JoinGroupResponse,
  async handle(ctx, req) {
    const v = ctx.version;
    if (!authorize(ctx, ACCESS.JoinGroup.group, req.groupId)) {
      return createJoinGroupResponse({
        errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED,
        generationId: -1,
        protocolName: v >= 7 ? null : "",
        memberId: req.memberId,
      });
    }
    const r = await groupCoordinatorOf(ctx.broker).joinGroup({
      groupId: req.groupId,
      memberId: req.memberId,
      groupInstanceId: v >= 5 ? req.groupInstanceId : null,
      requireKnownMemberId: v >= 4,
      clientId: ctx.clientId ?? "",
      clientHost: clientHostOf(ctx.connection.remote),
      rebalanceTimeoutMs: v >= 1 ? req.rebalanceTimeoutMs : req.sessionTimeoutMs,
      sessionTimeoutMs: req.sessionTimeoutMs,
      protocolType: req.protocolType,
      protocols: req.protocols.map((p) => ({ name: p.name, metadata: p.metadata })),
      reason: v >= 8 ? req.reason : null,
    }, waitSignalOf(ctx));
    const hideLeader = r.skipAssignment && v < 9;
    return createJoinGroupResponse({
      errorCode: r.errorCode,
      generationId: r.generationId,
      protocolType: v >= 7 ? r.protocolType : null,
      protocolName: r.protocolName ?? (v >= 7 ? null : ""),
      leader: hideLeader ? "" : r.leader,
      skipAssignment: v >= 9 ? r.skipAssignment : false,
      memberId: r.memberId,
      members: r.members.map((m) =>
        createJoinGroupResponseResponseMember({
          memberId: m.memberId,
          groupInstanceId: m.groupInstanceId,
          metadata: m.metadata,
        })
      ),
    });
  },
  errorResponse(req, errorCode) {
    return createJoinGroupResponse({
      errorCode,
      generationId: -1,
      protocolName: "",
      memberId: req.memberId,
    });
  },
});
