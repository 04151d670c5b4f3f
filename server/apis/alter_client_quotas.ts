// Copyright 2026 the Sluice authors. Apache-2.0 license.
// AlterClientQuotas (key 49, KIP-546): served v0-v1 into the client quota store
// (`server/quotas.ts`), durable before the answer and applied to the next request.
// Needs ALTER_CONFIGS on the cluster with an authorizer (`../security/access.ts`), as Kafka.
// One result per entry, in request order, with Kafka's `ClientQuotaControlManager` checks
// (INVALID_REQUEST with a message):
// - entity: not empty, types `user`, `client-id` and `ip`, each once; `ip` alone (KIP-612), its
//   name an IP address or null (`<default>`);
// - keys: producer_byte_rate, consumer_byte_rate (whole numbers), request_percentage for users
//   and client ids; connection_creation_rate (a whole number up to 2^31-1) for an ip; values
//   greater than 0; removing a key that is not set does nothing.
// validate_only checks and answers without storing anything.

import {
  AlterClientQuotasRequest,
  type AlterClientQuotasRequestEntryData,
  AlterClientQuotasResponse,
  createAlterClientQuotasResponse,
  createAlterClientQuotasResponseEntityData,
  createAlterClientQuotasResponseEntryData,
} from "../../protocol/messages/alter_client_quotas.ts";
import { ErrorCode, KafkaError } from "../../protocol/errors.ts";
import { type ApiHandler, clipMessage, defineApi } from "../api.ts";
import { ACCESS, authorize } from "../security/access.ts";
import {
  CLIENT_ID,
  entityKey,
  IP,
  normalizeIp,
  type QuotaChange,
  type QuotaEntity,
  USER,
  validateQuota,
} from "../quotas.ts";

/**
 * The entity of a request's components, or the reason it is refused.
 *
 * @param components The entity's components.
 * @returns The entity, or an error message.
 */
export function entityOf(
  components: readonly { entityType: string; entityName: string | null }[],
): QuotaEntity | string {
  if (components.length === 0) return "Invalid empty client quota entity";
  const entity: QuotaEntity = {};
  for (const c of components) {
    if (c.entityType === USER) {
      if (entity.user !== undefined) return "Duplicate user field in client quota entity";
      entity.user = c.entityName;
    } else if (c.entityType === CLIENT_ID) {
      if (entity.clientId !== undefined) return "Duplicate client-id field in client quota entity";
      entity.clientId = c.entityName;
    } else if (c.entityType === IP) {
      if (entity.ip !== undefined) return "Duplicate ip field in client quota entity";
      entity.ip = c.entityName;
    } else return `Unhandled client quota entity type: ${c.entityType}`;
    if (c.entityName === "") return `Empty ${c.entityType} not supported`;
  }
  // Kafka's ClientQuotaControlManager.configKeysForEntityType (its message, without the space)
  if (entity.ip !== undefined) {
    if (entity.user !== undefined || entity.clientId !== undefined) {
      return "Invalid quota entity combination, IP entity should" +
        "not be combined with User or ClientId";
    }
    if (entity.ip !== null) {
      const ip = normalizeIp(entity.ip);
      if (ip === null) return `${entity.ip} is not a valid IP or resolvable host.`;
      entity.ip = ip;
    }
  }
  return entity;
}

/** AlterClientQuotas handler. */
export const alterClientQuotas: ApiHandler = defineApi<
  AlterClientQuotasRequest,
  AlterClientQuotasResponse
>({
  minVersion: 0,
  maxVersion: 1,
  request: AlterClientQuotasRequest,
  response: AlterClientQuotasResponse,
  async handle(ctx, req) {
    if (!authorize(ctx, ACCESS.AlterClientQuotas.cluster)) {
      throw new KafkaError(ErrorCode.CLUSTER_AUTHORIZATION_FAILED, "Cluster authorization failed.");
    }
    const store = ctx.broker.quotas?.store;
    if (store === undefined) {
      throw new KafkaError(ErrorCode.UNKNOWN_SERVER_ERROR, "Client quotas are not available");
    }
    const errors: ([number, string] | null)[] = [];
    const changes: QuotaChange[] = [];
    for (const e of req.entries) {
      const entity = entityOf(e.entity);
      if (typeof entity === "string") {
        errors.push([ErrorCode.INVALID_REQUEST, entity]);
        continue;
      }
      let error: string | null = null;
      const mine: QuotaChange[] = [];
      for (const op of e.ops) {
        if (op.remove) mine.push({ entity, key: op.key, value: null });
        else {
          error = validateQuota(op.key, op.value, entity.ip !== undefined);
          if (error !== null) break;
          mine.push({ entity, key: op.key, value: op.value });
        }
      }
      if (error !== null) {
        errors.push([ErrorCode.INVALID_REQUEST, error]);
        continue;
      }
      errors.push(null);
      changes.push(...mine);
    }
    if (!req.validateOnly && changes.length > 0) {
      await store.apply(changes);
      const byEntity = new Map<string, string[]>();
      for (const c of changes) {
        const k = entityKey(c.entity);
        byEntity.set(k, [
          ...(byEntity.get(k) ?? []),
          c.value === null ? `-${c.key}` : `${c.key}=${c.value}`,
        ]);
      }
      for (const [k, ops] of byEntity) {
        ctx.broker.logger.info(`Client quotas of ${k} altered: ${ops.join(", ")}`);
      }
    }
    return createAlterClientQuotasResponse({
      entries: req.entries.map((e, i) =>
        createAlterClientQuotasResponseEntryData({
          errorCode: errors[i]?.[0] ?? 0,
          errorMessage: errors[i] ? clipMessage(errors[i][1]) : null,
          entity: e.entity.map((c) => createAlterClientQuotasResponseEntityData(c)),
        })
      ),
    });
  },
  errorResponse(req, errorCode, errorMessage) {
    return refuseAll(req.entries, errorCode, errorMessage);
  },
});

function refuseAll(
  entries: readonly AlterClientQuotasRequestEntryData[],
  errorCode: number,
  errorMessage: string,
): AlterClientQuotasResponse {
  return createAlterClientQuotasResponse({
    entries: entries.map((e) =>
      createAlterClientQuotasResponseEntryData({
        errorCode,
        errorMessage,
        entity: e.entity.map((c) => createAlterClientQuotasResponseEntityData(c)),
      })
    ),
  });
}
