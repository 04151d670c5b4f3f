// Copyright 2026 the Sluice authors. Apache-2.0 license.
// DescribeClientQuotas (key 48, KIP-546): served v0-v1 from the client quota store
// (`server/quotas.ts`). Needs DESCRIBE_CONFIGS on the cluster with an authorizer
// (`../security/access.ts`), as Kafka.
// Filter components, each of an entity type (`user`, `client-id`, `ip`; `ip` with either of the
// others is INVALID_REQUEST, Kafka's ClientQuotasImage message; an exact `ip` is compared as an
// address, `0:0:0:0:0:0:0:1` finding `::1`):
// match type 0 (exact: the name; a null name is the default), 1 (the `<default>` entity),
// 2 (any entity of that type, default or named). An entity matches when every component
// matches; with `strict` it must also have no other entity type. An entity type named twice,
// or an unknown match type, is INVALID_REQUEST.

import {
  createDescribeClientQuotasResponse,
  createDescribeClientQuotasResponseEntityData,
  createDescribeClientQuotasResponseEntryData,
  createDescribeClientQuotasResponseValueData,
  DescribeClientQuotasRequest,
  DescribeClientQuotasResponse,
} from "../../protocol/messages/describe_client_quotas.ts";
import { ErrorCode, KafkaError } from "../../protocol/errors.ts";
import { type ApiHandler, defineApi } from "../api.ts";
import { ACCESS, authorize } from "../security/access.ts";
import { CLIENT_ID, IP, normalizeIp, type QuotaEntity, USER } from "../quotas.ts";

const MATCH_EXACT = 0;
const MATCH_DEFAULT = 1;
const MATCH_ANY = 2;

/** DescribeClientQuotas handler. */
export const describeClientQuotas: ApiHandler = defineApi<
  DescribeClientQuotasRequest,
  DescribeClientQuotasResponse
>({
  minVersion: 0,
  maxVersion: 1,
  request: DescribeClientQuotasRequest,
  response: DescribeClientQuotasResponse,
  handle(ctx, req) {
    if (!authorize(ctx, ACCESS.DescribeClientQuotas.cluster)) {
      throw new KafkaError(ErrorCode.CLUSTER_AUTHORIZATION_FAILED, "Cluster authorization failed.");
    }
    const store = ctx.broker.quotas?.store;
    if (store === undefined) {
      throw new KafkaError(ErrorCode.UNKNOWN_SERVER_ERROR, "Client quotas are not available");
    }
    const filters = new Map<string, { match: number; name: string | null }>();
    for (const c of req.components) {
      if (filters.has(c.entityType)) {
        throw new KafkaError(
          ErrorCode.INVALID_REQUEST,
          `Duplicate ${c.entityType} filter component entity type`,
        );
      }
      if (
        c.matchType !== MATCH_EXACT && c.matchType !== MATCH_DEFAULT && c.matchType !== MATCH_ANY
      ) {
        throw new KafkaError(ErrorCode.INVALID_REQUEST, `Unexpected match type: ${c.matchType}`);
      }
      if (c.entityType === "") {
        throw new KafkaError(ErrorCode.INVALID_REQUEST, "Invalid empty entity type");
      }
      const name = c.entityType === IP && c.match !== null
        ? normalizeIp(c.match) ?? c.match
        : c.match;
      filters.set(c.entityType, { match: c.matchType, name });
    }
    if (filters.has(IP) && (filters.has(USER) || filters.has(CLIENT_ID))) {
      throw new KafkaError(
        ErrorCode.INVALID_REQUEST,
        "Invalid entity filter component combination. IP filter component should not be used " +
          "with user or clientId filter component.",
      );
    }
    const nameOf = (e: QuotaEntity, type: string): string | null | undefined =>
      type === USER ? e.user : type === CLIENT_ID ? e.clientId : type === IP ? e.ip : undefined;
    const matches = (e: QuotaEntity): boolean => {
      for (const [type, f] of filters) {
        const name = nameOf(e, type);
        if (name === undefined) return false;
        if (f.match === MATCH_DEFAULT && name !== null) return false;
        if (f.match === MATCH_EXACT && name !== f.name) return false;
      }
      if (req.strict) {
        if (e.user !== undefined && !filters.has(USER)) return false;
        if (e.clientId !== undefined && !filters.has(CLIENT_ID)) return false;
        if (e.ip !== undefined && !filters.has(IP)) return false;
      }
      return true;
    };
    const entries = store.entries().filter((e) => matches(e.entity)).map((e) => {
      const entity = [];
      if (e.entity.user !== undefined) {
        entity.push(
          createDescribeClientQuotasResponseEntityData({
            entityType: USER,
            entityName: e.entity.user,
          }),
        );
      }
      if (e.entity.clientId !== undefined) {
        entity.push(
          createDescribeClientQuotasResponseEntityData({
            entityType: CLIENT_ID,
            entityName: e.entity.clientId,
          }),
        );
      }
      if (e.entity.ip !== undefined) {
        entity.push(
          createDescribeClientQuotasResponseEntityData({ entityType: IP, entityName: e.entity.ip }),
        );
      }
      return createDescribeClientQuotasResponseEntryData({
        entity,
        values: [...e.values].sort(([a], [b]) => (a < b ? -1 : 1)).map(([key, value]) =>
          createDescribeClientQuotasResponseValueData({ key, value })
        ),
      });
    });
    return createDescribeClientQuotasResponse({ entries });
  },
  errorResponse(_req, errorCode, errorMessage) {
    return createDescribeClientQuotasResponse({ errorCode, errorMessage, entries: null });
  },
});
