// Copyright 2026 the Sluice authors. Apache-2.0 license.
// DeleteGroups (key 42): served v0-v2 by the group coordinator (`server/group/`).
// - Only Empty groups are deleted (with their committed offsets, as tombstones in
//   __consumer_offsets); groups with members get NON_EMPTY_GROUP, unknown ones
//   GROUP_ID_NOT_FOUND, "" INVALID_GROUP_ID.
// - ACLs: DELETE on each group, else GROUP_AUTHORIZATION_FAILED for it and it is kept
//   (`../security/access.ts`).

import {
  createDeleteGroupsResponse,
  createDeleteGroupsResponseDeletableGroupResult,
  DeleteGroupsRequest,
  DeleteGroupsResponse,
} from "../../protocol/messages/delete_groups.ts";
import { type ApiHandler, defineApi } from "../api.ts";
import { groupCoordinatorOf } from "../group/broker_context.ts";
import { ErrorCode } from "../../protocol/errors.ts";
import { ACCESS, authorizedNames } from "../security/access.ts";

/** DeleteGroups handler. */
export const deleteGroups: ApiHandler = defineApi<DeleteGroupsRequest, DeleteGroupsResponse>({
  minVersion: 0,
  maxVersion: 2,
  request: DeleteGroupsRequest,
  response: DeleteGroupsResponse,
  async handle(ctx, req) {
    const allowed = authorizedNames(ctx, ACCESS.DeleteGroups.group, req.groupsNames);
    const results = await groupCoordinatorOf(ctx.broker).deleteGroups(
      req.groupsNames.filter((g) => allowed.has(g)),
    );
    const denied = req.groupsNames.filter((g) => !allowed.has(g));
    return createDeleteGroupsResponse({
      results: [
        ...results.map((r) =>
          createDeleteGroupsResponseDeletableGroupResult({
            groupId: r.groupId,
            errorCode: r.errorCode,
          })
        ),
        ...[...new Set(denied)].map((groupId) =>
          createDeleteGroupsResponseDeletableGroupResult({
            groupId,
            errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED,
          })
        ),
      ],
    });
  },
  errorResponse(req, errorCode) {
    return createDeleteGroupsResponse({
      results: req.groupsNames.map((groupId) =>
        createDeleteGroupsResponseDeletableGroupResult({ groupId, errorCode })
      ),
    });
  },
});
