// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * What a client quota does to one request once it is handled, as Kafka's `KafkaApis` does:
 * Produce records the request's size against `producer_byte_rate` (the data is appended all the
 * same), Fetch the records it answers with against `consumer_byte_rate` and, when throttled,
 * answers with no partitions instead (the bytes are taken back from the rate, Kafka's
 * `unrecordQuotaSensor`), and every API but the exempt ones records the time it took against
 * `request_percentage`. The larger throttle time goes into the response's `throttle_time_ms`
 * and onto the connection (`ConnectionInfo.throttleMs`), which is then not read for that long
 * (KIP-219); for a request version older than KIP-219's the response itself is delayed.
 *
 * @module
 */

import { ApiKey } from "../protocol/api_keys.ts";
import type { RequestContext } from "./api.ts";
import type { ClientQuotaManager } from "./quotas.ts";

/**
 * The first version of each API whose client throttles itself (Kafka's
 * `AbstractResponse.shouldClientThrottle`, KIP-219). APIs not listed came after KIP-219 and
 * always do.
 */
const CLIENT_THROTTLES_FROM: ReadonlyMap<number, number> = new Map([
  [ApiKey.Produce, 6],
  [ApiKey.Fetch, 8],
  [ApiKey.ListOffsets, 3],
  [ApiKey.Metadata, 6],
  [ApiKey.OffsetCommit, 4],
  [ApiKey.OffsetFetch, 4],
  [ApiKey.FindCoordinator, 2],
  [ApiKey.JoinGroup, 3],
  [ApiKey.Heartbeat, 2],
  [ApiKey.LeaveGroup, 2],
  [ApiKey.SyncGroup, 2],
  [ApiKey.DescribeGroups, 2],
  [ApiKey.ListGroups, 2],
  [ApiKey.ApiVersions, 2],
  [ApiKey.CreateTopics, 3],
  [ApiKey.DeleteTopics, 2],
  [ApiKey.DeleteRecords, 1],
  [ApiKey.InitProducerId, 1],
  [ApiKey.OffsetForLeaderEpoch, 3],
  [ApiKey.AddPartitionsToTxn, 1],
  [ApiKey.AddOffsetsToTxn, 1],
  [ApiKey.EndTxn, 1],
  [ApiKey.TxnOffsetCommit, 1],
  [ApiKey.DescribeAcls, 1],
  [ApiKey.CreateAcls, 1],
  [ApiKey.DeleteAcls, 1],
  [ApiKey.DescribeConfigs, 2],
  [ApiKey.AlterConfigs, 1],
  [ApiKey.DescribeLogDirs, 1],
  [ApiKey.SaslAuthenticate, 1],
  [ApiKey.CreatePartitions, 1],
  [ApiKey.DeleteGroups, 1],
]);

/**
 * APIs `request_percentage` does not throttle: the connection's set-up (ApiVersions, the SASL
 * exchange) and the brokers' own requests (Kafka exempts cluster actions).
 */
const REQUEST_QUOTA_EXEMPT: ReadonlySet<number> = new Set([
  ApiKey.ApiVersions,
  ApiKey.SaslHandshake,
  ApiKey.SaslAuthenticate,
  ApiKey.WriteTxnMarkers,
  ApiKey.LeaderAndIsr,
  ApiKey.StopReplica,
  ApiKey.UpdateMetadata,
  ApiKey.ControlledShutdown,
]);

/**
 * Whether a client sending `version` of API `key` throttles itself (KIP-219), so the broker
 * answers at once and mutes the connection instead of delaying the answer.
 *
 * @example
 * ```ts
 * import { clientThrottles } from "./quota_throttle.ts";
 * console.assert(clientThrottles(0, 6) && !clientThrottles(0, 5));
 * ```
 *
 * @param key The API key.
 * @param version The request version.
 * @returns Whether the client throttles itself.
 */
export function clientThrottles(key: number, version: number): boolean {
  return version >= (CLIENT_THROTTLES_FROM.get(key) ?? 0);
}

interface FetchLike {
  replicaId?: number;
  replicaState?: { replicaId: number };
}

interface FetchResponseLike {
  throttleTimeMs: number;
  errorCode: number;
  responses: { partitions: { records: Uint8Array | null }[] }[];
}

/**
 * Record a handled request against its client's quotas and throttle it (see the module doc).
 * Call only when some quota is configured (`quotas.store.empty` is false).
 *
 * @param quotas The quota manager.
 * @param ctx The request's context (principal, client id, connection).
 * @param key The API key.
 * @param request The decoded request.
 * @param requestBytes The request's size.
 * @param response The handler's response (`null`: none is sent).
 * @param elapsedMs How long the request took to handle.
 * @returns The response to send: the handler's with `throttleTimeMs` set, or a throttled Fetch's
 * empty one.
 */
export function applyQuotas(
  quotas: ClientQuotaManager,
  ctx: RequestContext,
  key: number,
  request: unknown,
  requestBytes: number,
  response: unknown,
  elapsedMs: number,
): unknown {
  const user = ctx.connection.principal?.name ?? "ANONYMOUS";
  const clientId = ctx.clientId ?? "";
  const now = Date.now();
  let bandwidth = 0;
  let fetchBytes = 0;
  if (key === ApiKey.Fetch) {
    const f = request as FetchLike;
    // a follower's fetch is a cluster action, exempt from client quotas
    if ((f.replicaId ?? -1) >= 0 || (f.replicaState?.replicaId ?? -1) >= 0) return response;
    const r = response as FetchResponseLike | null;
    if (r !== null) {
      for (const t of r.responses) {
        for (const p of t.partitions) fetchBytes += p.records?.length ?? 0;
      }
      bandwidth = quotas.record("consumer_byte_rate", user, clientId, fetchBytes, now);
    }
  } else if (key === ApiKey.Produce) {
    bandwidth = quotas.record("producer_byte_rate", user, clientId, requestBytes, now);
  }
  const requestTime = REQUEST_QUOTA_EXEMPT.has(key)
    ? 0
    // percent of one second: Kafka's nanos * 100 / 1e9
    : quotas.record("request_percentage", user, clientId, elapsedMs / 10, now);
  const throttleMs = Math.max(bandwidth, requestTime);
  if (throttleMs <= 0) return response;
  ctx.connection.throttleMs = throttleMs;
  ctx.connection.throttleDelay = !clientThrottles(key, ctx.version);
  if (response === null || typeof response !== "object") return response;
  if (key === ApiKey.Fetch) {
    // throttled: an empty answer, the bytes read taken back from the rate (Kafka's)
    quotas.unrecord("consumer_byte_rate", user, clientId, fetchBytes, now);
    const r = response as FetchResponseLike;
    return { ...r, throttleTimeMs: throttleMs, errorCode: 0, responses: [] };
  }
  if ("throttleTimeMs" in response) {
    const r = response as { throttleTimeMs: number };
    r.throttleTimeMs = Math.max(r.throttleTimeMs, throttleMs);
  }
  return response;
}
