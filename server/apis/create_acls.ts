// Copyright 2026 the Sluice authors. Apache-2.0 license.
// CreateAcls (key 30): v0-v3 (v0 LITERAL patterns only: its codec has no pattern type; v2+
// flexible), as Kafka's `AclApis.handleCreateAcls`.
// - The caller needs ALTER on the cluster (else every result CLUSTER_AUTHORIZATION_FAILED);
//   without an authorizer every result is SECURITY_DISABLED.
// - Each binding is validated alone (`security/acl.ts` `validateBinding`): a pattern type other
//   than LITERAL/PREFIXED, resource type ANY/UNKNOWN, operation ANY/UNKNOWN, permission other than
//   ALLOW/DENY, an empty name, a CLUSTER name other than `kafka-cluster` or a principal without
//   `:` gets INVALID_REQUEST with Kafka's message; the valid ones are created together, saved
//   to `sluice-acls.json` before the answer. An ACL that exists already is a success.

import {
  CreateAclsRequest,
  CreateAclsResponse,
  createCreateAclsResponse,
  createCreateAclsResponseAclCreationResult,
} from "../../protocol/messages/create_acls.ts";
import { ErrorCode } from "../../protocol/errors.ts";
import { type ApiHandler, clipMessage, defineApi } from "../api.ts";
import { type AclBinding, bindingToString, validateBinding } from "../security/acl.ts";
import { ACCESS, authorize } from "../security/access.ts";

/** The message of SECURITY_DISABLED answers (Kafka's). */
export const NO_AUTHORIZER = "No Authorizer is configured.";

/** CreateAcls handler. */
export const createAcls: ApiHandler = defineApi<CreateAclsRequest, CreateAclsResponse>({
  minVersion: 0,
  maxVersion: 3,
  request: CreateAclsRequest,
  response: CreateAclsResponse,
  async handle(ctx, req) {
    const fail = (errorCode: number, message: string) =>
      createCreateAclsResponse({
        results: req.creations.map(() =>
          createCreateAclsResponseAclCreationResult({ errorCode, errorMessage: message })
        ),
      });
    if (!authorize(ctx, ACCESS.CreateAcls.cluster)) {
      return fail(ErrorCode.CLUSTER_AUTHORIZATION_FAILED, "Cluster authorization failed.");
    }
    const authorizer = ctx.broker.authorizer;
    if (authorizer === undefined) return fail(ErrorCode.SECURITY_DISABLED, NO_AUTHORIZER);
    const errors: (string | null)[] = [];
    const valid: AclBinding[] = [];
    for (const c of req.creations) {
      const b: AclBinding = {
        resourceType: c.resourceType,
        resourceName: c.resourceName,
        patternType: c.resourcePatternType,
        principal: c.principal,
        host: c.host,
        operation: c.operation,
        permissionType: c.permissionType,
      };
      const bad = validateBinding(b);
      errors.push(bad);
      if (bad === null) valid.push(b);
    }
    if (valid.length > 0) {
      await authorizer.createAcls(valid);
      for (const b of valid) ctx.broker.logger.info(`ACL created: ${bindingToString(b)}`);
    }
    return createCreateAclsResponse({
      results: errors.map((e) =>
        createCreateAclsResponseAclCreationResult(
          e === null
            ? { errorCode: 0, errorMessage: null }
            : { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: clipMessage(e) },
        )
      ),
    });
  },
  errorResponse(req, errorCode, message) {
    return createCreateAclsResponse({
      results: req.creations.map(() =>
        createCreateAclsResponseAclCreationResult({ errorCode, errorMessage: clipMessage(message) })
      ),
    });
  },
});
