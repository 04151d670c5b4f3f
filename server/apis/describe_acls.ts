// Copyright 2026 the Sluice authors. Apache-2.0 license.
// DescribeAcls (key 29): v0-v3 (v0 LITERAL patterns only; v2+ flexible), as Kafka's
// `AclApis.handleDescribeAcls`.
// - The caller needs DESCRIBE on the cluster (else CLUSTER_AUTHORIZATION_FAILED); without an
//   authorizer the answer is SECURITY_DISABLED.
// - The filter (`security/acl.ts` `filterMatches`): ANY codes and null strings match anything;
//   pattern type MATCH finds every ACL that applies to the named resource (its literal name, `*`,
//   prefixes of it). A filter with an UNKNOWN element gets INVALID_REQUEST.
// - The ACLs found are grouped by resource pattern, in the order they were created.

import {
  createDescribeAclsResponse,
  createDescribeAclsResponseAclDescription,
  createDescribeAclsResponseResource,
  DescribeAclsRequest,
  DescribeAclsResponse,
} from "../../protocol/messages/describe_acls.ts";
import { ErrorCode } from "../../protocol/errors.ts";
import { type ApiHandler, clipMessage, defineApi } from "../api.ts";
import { type AclBinding, type AclBindingFilter, validateFilter } from "../security/acl.ts";
import { ACCESS, authorize } from "../security/access.ts";
import { NO_AUTHORIZER } from "./create_acls.ts";

type Resource = DescribeAclsResponse["resources"][number];

/**
 * Group bindings by resource pattern, as DescribeAcls answers them.
 *
 * @param acls The bindings.
 * @returns One entry per (type, name, pattern type).
 */
export function aclResources(acls: readonly AclBinding[]): Resource[] {
  const byPattern = new Map<string, Resource>();
  for (const a of acls) {
    const key = JSON.stringify([a.resourceType, a.patternType, a.resourceName]);
    let r = byPattern.get(key);
    if (r === undefined) {
      r = createDescribeAclsResponseResource({
        resourceType: a.resourceType,
        resourceName: a.resourceName,
        patternType: a.patternType,
        acls: [],
      });
      byPattern.set(key, r);
    }
    r.acls.push(createDescribeAclsResponseAclDescription({
      principal: a.principal,
      host: a.host,
      operation: a.operation,
      permissionType: a.permissionType,
    }));
  }
  return [...byPattern.values()];
}

/** DescribeAcls handler. */
export const describeAcls: ApiHandler = defineApi<DescribeAclsRequest, DescribeAclsResponse>({
  minVersion: 0,
  maxVersion: 3,
  request: DescribeAclsRequest,
  response: DescribeAclsResponse,
  handle(ctx, req) {
    if (!authorize(ctx, ACCESS.DescribeAcls.cluster)) {
      return createDescribeAclsResponse({
        errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
        errorMessage: "Cluster authorization failed.",
      });
    }
    const authorizer = ctx.broker.authorizer;
    if (authorizer === undefined) {
      return createDescribeAclsResponse({
        errorCode: ErrorCode.SECURITY_DISABLED,
        errorMessage: NO_AUTHORIZER,
      });
    }
    const filter: AclBindingFilter = {
      resourceType: req.resourceTypeFilter,
      resourceName: req.resourceNameFilter,
      patternType: req.patternTypeFilter,
      principal: req.principalFilter,
      host: req.hostFilter,
      operation: req.operation,
      permissionType: req.permissionType,
    };
    const bad = validateFilter(filter);
    if (bad !== null) {
      return createDescribeAclsResponse({
        errorCode: ErrorCode.INVALID_REQUEST,
        errorMessage: clipMessage(bad),
      });
    }
    return createDescribeAclsResponse({
      errorMessage: null,
      resources: aclResources(authorizer.acls(filter)),
    });
  },
  errorResponse(_req, errorCode, message) {
    return createDescribeAclsResponse({ errorCode, errorMessage: clipMessage(message) });
  },
});
