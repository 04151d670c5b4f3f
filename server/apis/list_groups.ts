// Copyright 2026 the Sluice authors. Apache-2.0 license.
// ListGroups (key 16): served v0-v5 by the group coordinator (`server/group/`).
// - Every group this broker coordinates (all of them), in group id order.
// - v4+ states_filter (case-insensitive; empty = all). v5+ types_filter ("classic",
//   "consumer"; case-insensitive; empty = all) and group_type: a group of the consumer protocol
//   (KIP-848, ConsumerGroupHeartbeat) is "consumer", with protocol type "consumer" and its state
//   (Empty, Assigning, Reconciling, Stable), as Kafka 3.9 lists it.
// - ACLs: DESCRIBE on the cluster lists every group; otherwise only the groups the principal
//   may DESCRIBE are listed, with no error (`../security/access.ts`).

import {
  createListGroupsResponse,
  createListGroupsResponseListedGroup,
  ListGroupsRequest,
  ListGroupsResponse,
} from "../../protocol/messages/list_groups.ts";
import { type ApiHandler, defineApi } from "../api.ts";
import { groupCoordinatorOf } from "../group/broker_context.ts";
import { ACCESS, authorize } from "../security/access.ts";

/** ListGroups handler. */
export const listGroups: ApiHandler = defineApi<ListGroupsRequest, ListGroupsResponse>({
  minVersion: 0,
  maxVersion: 5,
  request: ListGroupsRequest,
  response: ListGroupsResponse,
  handle(ctx, req) {
    const v = ctx.version;
    const listed = groupCoordinatorOf(ctx.broker).listGroups(
      v >= 4 ? req.statesFilter : [],
      v >= 5 ? req.typesFilter : [],
    );
    // DESCRIBE on the cluster lists every group, else those the principal may DESCRIBE
    const all = authorize(ctx, ACCESS.ListGroups.cluster);
    const visible = all
      ? listed
      : listed.filter((g) => authorize(ctx, ACCESS.ListGroups.group, g.groupId));
    return createListGroupsResponse({
      errorCode: 0,
      groups: visible.map((g) =>
        createListGroupsResponseListedGroup({
          groupId: g.groupId,
          protocolType: g.protocolType,
          groupState: v >= 4 ? g.groupState : "",
          groupType: v >= 5 ? g.groupType : "",
        })
      ),
    });
  },
  errorResponse(_req, errorCode) {
    return createListGroupsResponse({ errorCode, groups: [] });
  },
});
