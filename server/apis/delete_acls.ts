// Copyright 2026 the Sluice authors. Apache-2.0 license.
// DeleteAcls (key 31): v0-v3 (v0 LITERAL patterns only; v2+ flexible), as Kafka's
// `AclApis.handleDeleteAcls`.
// - The caller needs ALTER on the cluster (else every filter result
//   CLUSTER_AUTHORIZATION_FAILED); without an authorizer every result is SECURITY_DISABLED.
// - Each filter (`security/acl.ts` `filterMatches`, as DescribeAcls) removes every ACL it matches
//   and lists them in its result; a filter with an UNKNOWN element gets INVALID_REQUEST and
//   removes nothing. The valid filters apply together, saved to `sluice-acls.json` before the
//   answer.

import {
  createDeleteAclsResponse,
  createDeleteAclsResponseFilterResult,
  createDeleteAclsResponseMatchingAcl,
  DeleteAclsRequest,
  DeleteAclsResponse,
} from "../../protocol/messages/delete_acls.ts";
import { ErrorCode } from "../../protocol/errors.ts";
import { type ApiHandler, clipMessage, defineApi } from "../api.ts";
import { type AclBindingFilter, bindingToString, validateFilter } from "../security/acl.ts";
import { ACCESS, authorize } from "../security/access.ts";
import { NO_AUTHORIZER } from "./create_acls.ts";

/** DeleteAcls handler. */
export const deleteAcls: ApiHandler = defineApi<DeleteAclsRequest, DeleteAclsResponse>({
  minVersion: 0,
  maxVersion: 3,
  request: DeleteAclsRequest,
  response: DeleteAclsResponse,
  async handle(ctx, req) {
    const fail = (errorCode: number, message: string) =>
      createDeleteAclsResponse({
        filterResults: req.filters.map(() =>
          createDeleteAclsResponseFilterResult({ errorCode, errorMessage: message })
        ),
      });
    if (!authorize(ctx, ACCESS.DeleteAcls.cluster)) {
      return fail(ErrorCode.CLUSTER_AUTHORIZATION_FAILED, "Cluster authorization failed.");
    }
    const authorizer = ctx.broker.authorizer;
    if (authorizer === undefined) return fail(ErrorCode.SECURITY_DISABLED, NO_AUTHORIZER);
    const filters: AclBindingFilter[] = req.filters.map((f) => ({
      resourceType: f.resourceTypeFilter,
      resourceName: f.resourceNameFilter,
      patternType: f.patternTypeFilter,
      principal: f.principalFilter,
      host: f.hostFilter,
      operation: f.operation,
      permissionType: f.permissionType,
    }));
    const errors = filters.map(validateFilter);
    const valid = filters.filter((_, i) => errors[i] === null);
    const removed = valid.length === 0 ? [] : await authorizer.deleteAcls(valid);
    let next = 0;
    return createDeleteAclsResponse({
      filterResults: errors.map((e) => {
        if (e !== null) {
          return createDeleteAclsResponseFilterResult({
            errorCode: ErrorCode.INVALID_REQUEST,
            errorMessage: clipMessage(e),
          });
        }
        const acls = removed[next++];
        for (const b of acls) ctx.broker.logger.info(`ACL deleted: ${bindingToString(b)}`);
        return createDeleteAclsResponseFilterResult({
          errorMessage: null,
          matchingAcls: acls.map((b) =>
            createDeleteAclsResponseMatchingAcl({
              errorMessage: null,
              resourceType: b.resourceType,
              resourceName: b.resourceName,
              patternType: b.patternType,
              principal: b.principal,
              host: b.host,
              operation: b.operation,
              permissionType: b.permissionType,
            })
          ),
        });
      }),
    });
  },
  errorResponse(req, errorCode, message) {
    return createDeleteAclsResponse({
      filterResults: req.filters.map(() =>
        createDeleteAclsResponseFilterResult({ errorCode, errorMessage: clipMessage(message) })
      ),
    });
  },
});
