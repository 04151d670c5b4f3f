// Copyright 2026 the Sluice authors. Apache-2.0 license.
// DescribeUserScramCredentials (key 50): served v0 from the SCRAM credential store
// Needs DESCRIBE on the cluster with an authorizer (`../security/access.ts`), as Kafka.
// (`server/security/scram_credentials.ts`), with Kafka's `ScramControlManager` semantics.
// - users null or empty: every user with a credential, sorted by name.
// - A named user without credentials: RESOURCE_NOT_FOUND; a user named twice: DUPLICATE_RESOURCE
//   (each once per name).
// - Only the mechanism and iteration count are told, never salts or keys.

import {
  createDescribeUserScramCredentialsResponse,
  createDescribeUserScramCredentialsResponseCredentialInfo,
  createDescribeUserScramCredentialsResponseResult,
  DescribeUserScramCredentialsRequest,
  DescribeUserScramCredentialsResponse,
  type DescribeUserScramCredentialsResponseResult,
} from "../../protocol/messages/describe_user_scram_credentials.ts";
import { ErrorCode, KafkaError } from "../../protocol/errors.ts";
import { SCRAM_MECHANISMS } from "../../protocol/scram.ts";
import { type ApiHandler, defineApi } from "../api.ts";
import { ACCESS, authorize } from "../security/access.ts";

/** DescribeUserScramCredentials handler. */
export const describeUserScramCredentials: ApiHandler = defineApi<
  DescribeUserScramCredentialsRequest,
  DescribeUserScramCredentialsResponse
>({
  minVersion: 0,
  maxVersion: 0,
  request: DescribeUserScramCredentialsRequest,
  response: DescribeUserScramCredentialsResponse,
  handle(ctx, req) {
    if (!authorize(ctx, ACCESS.DescribeUserScramCredentials.cluster)) {
      throw new KafkaError(
        ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
        "Cluster authorization failed.",
      );
    }
    const store = ctx.broker.scramCredentials;
    if (store === undefined) {
      throw new KafkaError(ErrorCode.UNKNOWN_SERVER_ERROR, "SCRAM credentials are not available");
    }
    const result = (user: string): DescribeUserScramCredentialsResponseResult =>
      createDescribeUserScramCredentialsResponseResult({
        user,
        credentialInfos: store.describe(user).map((c) =>
          createDescribeUserScramCredentialsResponseCredentialInfo({
            mechanism: SCRAM_MECHANISMS.get(c.mechanism)!.type,
            iterations: c.iterations,
          })
        ),
      });
    const named = req.users ?? [];
    if (named.length === 0) {
      return createDescribeUserScramCredentialsResponse({ results: store.users().map(result) });
    }
    const counts = new Map<string, number>();
    for (const u of named) counts.set(u.name, (counts.get(u.name) ?? 0) + 1);
    const results = [...counts].map(([user, n]) => {
      if (n > 1) {
        return createDescribeUserScramCredentialsResponseResult({
          user,
          errorCode: ErrorCode.DUPLICATE_RESOURCE,
          errorMessage: "Cannot describe SCRAM credentials for the same user twice in a single " +
            "request",
        });
      }
      const r = result(user);
      if (r.credentialInfos.length > 0) return r;
      return createDescribeUserScramCredentialsResponseResult({
        user,
        errorCode: ErrorCode.RESOURCE_NOT_FOUND,
        errorMessage: "Attempt to describe a user credential that does not exist",
      });
    });
    return createDescribeUserScramCredentialsResponse({ results });
  },
  errorResponse(_req, errorCode, errorMessage) {
    return createDescribeUserScramCredentialsResponse({ errorCode, errorMessage, results: [] });
  },
});
