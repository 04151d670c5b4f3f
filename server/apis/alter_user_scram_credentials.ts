// Copyright 2026 the Sluice authors. Apache-2.0 license.
// AlterUserScramCredentials (key 51): served v0 into the SCRAM credential store
// Needs ALTER on the cluster with an authorizer (`../security/access.ts`), as Kafka.
// (`server/security/scram_credentials.ts`), with Kafka's `ScramControlManager` checks, one
// result per user (in request order); a user with any refused alteration gets none applied:
// - empty user name: UNACCEPTABLE_CREDENTIAL; unknown mechanism: UNSUPPORTED_SASL_MECHANISM;
// - the same user and mechanism twice in the request: DUPLICATE_RESOURCE;
// - iterations below the mechanism's minimum (4096) or above 16384: UNACCEPTABLE_CREDENTIAL;
//   an empty salt or a salted password of the wrong length: UNACCEPTABLE_CREDENTIAL;
// - deleting a credential that does not exist: RESOURCE_NOT_FOUND.
// The client sends the salted password (PBKDF2 runs on the client); the broker keeps only
// StoredKey and ServerKey, written durably before the answer.

import {
  AlterUserScramCredentialsRequest,
  AlterUserScramCredentialsResponse,
  createAlterUserScramCredentialsResponse,
  createAlterUserScramCredentialsResponseResult,
} from "../../protocol/messages/alter_user_scram_credentials.ts";
import { ErrorCode, KafkaError } from "../../protocol/errors.ts";
import { SCRAM_MAX_ITERATIONS, scramMechanismByType } from "../../protocol/scram.ts";
import { type ApiHandler, defineApi } from "../api.ts";
import { ACCESS, authorize } from "../security/access.ts";
import type { ScramChange } from "../security/scram_credentials.ts";

/** AlterUserScramCredentials handler. */
export const alterUserScramCredentials: ApiHandler = defineApi<
  AlterUserScramCredentialsRequest,
  AlterUserScramCredentialsResponse
>({
  minVersion: 0,
  maxVersion: 0,
  request: AlterUserScramCredentialsRequest,
  response: AlterUserScramCredentialsResponse,
  async handle(ctx, req) {
    if (!authorize(ctx, ACCESS.AlterUserScramCredentials.cluster)) {
      throw new KafkaError(
        ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
        "Cluster authorization failed.",
      );
    }
    const store = ctx.broker.scramCredentials;
    if (store === undefined) {
      throw new KafkaError(ErrorCode.UNKNOWN_SERVER_ERROR, "SCRAM credentials are not available");
    }
    const users: string[] = [];
    const errors = new Map<string, [number, string]>();
    const changes = new Map<string, ScramChange[]>();
    const seen = new Set<string>();
    const refuse = (user: string, code: number, message: string) => {
      if (!errors.has(user)) errors.set(user, [code, message]);
    };
    const all = [
      ...req.deletions.map((d) => ({ ...d, op: "delete" as const })),
      ...req.upsertions.map((u) => ({ ...u, op: "upsert" as const })),
    ];
    for (const a of all) {
      if (!users.includes(a.name)) users.push(a.name);
      const key = `${a.mechanism}\u0000${a.name}`;
      if (seen.has(key)) {
        refuse(
          a.name,
          ErrorCode.DUPLICATE_RESOURCE,
          "A user credential cannot be altered twice in the same request",
        );
      }
      seen.add(key);
    }
    for (const a of all) {
      if (a.name === "") {
        refuse(a.name, ErrorCode.UNACCEPTABLE_CREDENTIAL, "Username must not be empty");
        continue;
      }
      const mech = scramMechanismByType(a.mechanism);
      if (mech === undefined) {
        refuse(a.name, ErrorCode.UNSUPPORTED_SASL_MECHANISM, "Unknown SCRAM mechanism");
        continue;
      }
      let change: ScramChange;
      if (a.op === "delete") {
        if (store.get(a.name, mech.name) === undefined) {
          refuse(
            a.name,
            ErrorCode.RESOURCE_NOT_FOUND,
            "Attempt to delete a user credential that does not exist",
          );
          continue;
        }
        change = { op: "delete", user: a.name, mechanism: mech.name };
      } else {
        if (a.iterations < mech.minIterations) {
          refuse(a.name, ErrorCode.UNACCEPTABLE_CREDENTIAL, "Too few iterations");
          continue;
        }
        if (a.iterations > SCRAM_MAX_ITERATIONS) {
          refuse(a.name, ErrorCode.UNACCEPTABLE_CREDENTIAL, "Too many iterations");
          continue;
        }
        if (a.salt.length === 0) {
          refuse(a.name, ErrorCode.UNACCEPTABLE_CREDENTIAL, "Salt must not be empty");
          continue;
        }
        if (a.saltedPassword.length !== mech.hashBytes) {
          refuse(
            a.name,
            ErrorCode.UNACCEPTABLE_CREDENTIAL,
            `Salted password must be ${mech.hashBytes} bytes for ${mech.name}, not ` +
              `${a.saltedPassword.length}`,
          );
          continue;
        }
        change = {
          op: "upsert",
          user: a.name,
          mechanism: mech.name,
          salt: a.salt,
          saltedPassword: a.saltedPassword,
          iterations: a.iterations,
        };
      }
      changes.set(a.name, [...(changes.get(a.name) ?? []), change]);
    }
    const accepted = users.filter((u) => !errors.has(u)).flatMap((u) => changes.get(u) ?? []);
    if (accepted.length > 0) await store.apply(accepted);
    for (const u of users) {
      if (!errors.has(u)) {
        ctx.broker.logger.info(
          `SCRAM credentials of user ${u} altered: ` +
            (changes.get(u) ?? []).map((c) => `${c.op} ${c.mechanism}`).join(", "),
        );
      }
    }
    return createAlterUserScramCredentialsResponse({
      results: users.map((user) => {
        const e = errors.get(user);
        return createAlterUserScramCredentialsResponseResult({
          user,
          errorCode: e?.[0] ?? 0,
          errorMessage: e?.[1] ?? null,
        });
      }),
    });
  },
  errorResponse(req, errorCode, errorMessage) {
    const users = [...new Set([...req.deletions, ...req.upsertions].map((a) => a.name))];
    return createAlterUserScramCredentialsResponse({
      results: users.map((user) =>
        createAlterUserScramCredentialsResponseResult({ user, errorCode, errorMessage })
      ),
    });
  },
});
