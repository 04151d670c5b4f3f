// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * The contract between the broker and its API handlers (`server/apis/*.ts`).
 *
 * A handler is a plain object `{ key, name, minVersion, maxVersion, request, response, handle,
 * errorResponse }`. The broker decodes the request once with `request`, calls `handle` with a
 * {@linkcode RequestContext}, and encodes what it returns with `response` (or sends nothing when
 * it returns `null`, as for acks=0 Produce). Versions above `maxVersion` (but decodable) are
 * answered with `errorResponse(..., UNSUPPORTED_VERSION)`; a handler that throws gets
 * `errorResponse` with the thrown error's Kafka `code` (engine errors carry one) or
 * UNKNOWN_SERVER_ERROR.
 *
 * To add an API: write `server/apis/<name>.ts` exporting such an object (use
 * {@linkcode defineApi} for type checking) and add a line for it to `server/apis/table.ts`, from
 * which the broker loads it at the first request of its API.
 *
 * @module
 */

import type { LogManager } from "../engine/mod.ts";
import type { MessageCodec } from "../protocol/primitives.ts";
import type { AppendWaiters } from "./append_waiters.ts";
import type { ClusterNode } from "./cluster/cluster.ts";
import type { BrokerConfig } from "./config.ts";
import type { ClientMetricsManager } from "./client_metrics.ts";
import type { ConnectionInfo } from "./connection.ts";
import type { DynamicBrokerConfigs } from "./dynamic_configs.ts";
import type { FetchSessionCache } from "./fetch_session.ts";
import type { FrameBufferPool } from "./frame_buffer_pool.ts";
import type { GroupCoordinator } from "./group/mod.ts";
import type { Logger } from "./logger.ts";
import type { BrokerMetrics } from "./metrics.ts";
import type { ProducerIdManager } from "./producer_ids.ts";
import type { ReplicaManager } from "./replica_manager.ts";
import type { SaslServer } from "./security/sasl.ts";
import type { ScramCredentialStore } from "./security/scram_credentials.ts";
import type { ConnectionQuotas } from "./connection_quotas.ts";
import type { ClientQuotaManager } from "./quotas.ts";
import type { AclAuthorizer } from "./security/authorizer.ts";
import type { TransactionCoordinator } from "./txn/coordinator.ts";
import type { TxnVerifier } from "./txn/verification.ts";

/** Broker-wide state every handler can use. */
export interface BrokerContext {
  /** The broker's configuration (as started). */
  readonly config: BrokerConfig;
  /** This broker's node id. */
  readonly nodeId: number;
  /** Cluster id (from `meta.properties`). */
  readonly clusterId: string;
  /**
   * Host and port clients are told to connect to (Metadata, FindCoordinator, ...): the first
   * listener's; see {@linkcode BrokerContext.advertisedListeners}.
   */
  readonly advertised: { readonly host: string; readonly port: number };
  /**
   * Each listener's advertised host and port, by listener name: a request is answered with the
   * endpoint of the listener it came in on, as Kafka does ({@linkcode advertisedEndpoint}).
   * Absent in contexts built by hand (tests): {@linkcode BrokerContext.advertised} for all.
   */
  readonly advertisedListeners?: ReadonlyMap<string, { host: string; port: number }>;
  /** The storage engine for the data directory. */
  readonly logs: LogManager;
  /** Where to report events. */
  readonly logger: Logger;
  /** Incremental fetch sessions (KIP-227). */
  readonly fetchSessions: FetchSessionCache;
  /** Producer id allocator (InitProducerId). */
  readonly producerIds: ProducerIdManager;
  /** Wake-ups for long-polling fetches. */
  readonly appendWaiters: AppendWaiters;
  /**
   * Buffers lent to large Produce frames and to Fetch reads out of the hot tail, taken back once
   * the request is answered (issue #17). Absent in contexts built by hand (tests): new buffers.
   */
  readonly frameBuffers?: FrameBufferPool;
  /**
   * The consumer-group coordinator (`__consumer_offsets`), used by the group APIs. A broker
   * with nothing to replay opens it at the first request that needs it (issue #17): absent until
   * `loadPart("coordinators")` resolves, which the broker awaits before the first request of an
   * API whose table line `needs` it.
   */
  readonly groups?: GroupCoordinator;
  /**
   * The transaction coordinator (`__transaction_state`), used by the transactional APIs.
   * Optional so contexts built by hand (tests) may leave it out; the handlers then open one
   * on first use (`transactionCoordinatorOf`).
   */
  readonly txns?: TransactionCoordinator;
  /**
   * Opens a part the broker opens at its first use (issue #17) if it is not open yet (once;
   * concurrent calls share it): after `"coordinators"` resolves `groups` and `txns` are set,
   * after `"sasl"` `sasl` and `scramCredentials`. Absent in contexts built by hand, which give
   * what they have from the start.
   */
  readonly loadPart?: (part: LazyPartName) => Promise<void>;
  /**
   * Dynamic broker configs (AlterConfigs on BROKER resources). Optional so contexts built by hand
   * (tests) may leave it out; the handlers then refuse BROKER changes.
   */
  readonly dynamicConfigs?: DynamicBrokerConfigs;
  /**
   * Cluster mode (docs/CLUSTER.md): the broker's membership, view of the cluster and the
   * admin writes to etcd. Absent in standalone mode, where this broker leads every partition.
   */
  readonly cluster?: ClusterNode;
  /**
   * Replication (cluster mode, docs/CLUSTER.md): leader and follower duties for the partitions
   * this broker replicates. Absent in standalone mode, and partitions it does not manage keep
   * the standalone rules (the broker leads them, high watermark = log end offset).
   */
  readonly replicas?: ReplicaManager;
  /**
   * Cluster mode: a partition leader's verification of transactional batches with their
   * coordinator on another broker (KIP-890 part 1, `./txn/verification.ts`).
   */
  readonly txnVerifier?: TxnVerifier;
  /**
   * The ACL authorizer (`authorizer.class.name`, docs/SECURITY.md); absent: every request is
   * allowed and the ACL APIs answer SECURITY_DISABLED. Handlers check through
   * `security/access.ts`.
   */
  readonly authorizer?: AclAuthorizer;
  /**
   * Every served API's version range, by key (ApiVersions answers from it). The broker's are
   * the handler table's (`apis/table.ts`), whose handlers load at their first request.
   */
  readonly apis: ReadonlyMap<number, ApiRange>;
  /**
   * The request path's counters (`/metrics`, issue #15). Optional so contexts built by hand
   * (tests) may leave it out; nothing is counted then.
   */
  readonly metrics?: BrokerMetrics;
  /** Aborted when the broker shuts down; long waits must end on it. */
  readonly closing: AbortSignal;
  /**
   * SASL authentication (SaslHandshake, SaslAuthenticate and the SASL listeners' gate); a broker
   * without SASL listeners opens it at the first SASL request (`loadPart("sasl")`).
   * Optional so contexts built by hand (tests) may leave it out; the SASL APIs then answer
   * ILLEGAL_SASL_STATE.
   */
  readonly sasl?: SaslServer;
  /**
   * SCRAM credentials (AlterUserScramCredentials, DescribeUserScramCredentials). Optional for
   * contexts built by hand; the credential APIs then fail.
   */
  readonly scramCredentials?: ScramCredentialStore;
  /**
   * Client quotas (AlterClientQuotas, DescribeClientQuotas, throttling: `quotas.ts`). Optional
   * for contexts built by hand; the quota APIs then fail and nothing is throttled.
   */
  readonly quotas?: ClientQuotaManager;
  /**
   * Client metrics (KIP-714): the CLIENT_METRICS subscriptions and the client instances' pushed
   * metrics (`client_metrics.ts`). Optional for contexts built by hand; GetTelemetrySubscriptions
   * then answers an empty subscription and CLIENT_METRICS configs are refused.
   */
  readonly clientMetrics?: ClientMetricsManager;
  /**
   * Connection counts and limits (`max.connections`, `max.connections.per.ip`:
   * `connection_quotas.ts`), reconfigured by AlterConfigs. Optional for contexts built by hand.
   */
  readonly connectionQuotas?: ConnectionQuotas;
}

/**
 * The parts of a broker opened at their first use when nothing needs them at start (issue #17):
 * the group and transaction coordinators, SCRAM credentials with SASL.
 */
export type LazyPartName = "coordinators" | "sasl" | "clientMetrics";

/** One request being handled. */
export interface RequestContext {
  /** Broker-wide state. */
  readonly broker: BrokerContext;
  /** The request's API version (already checked against the handler's range). */
  readonly version: number;
  /** The request header's correlation id. */
  readonly correlationId: number;
  /** The request header's client id (may be null). */
  readonly clientId: string | null;
  /** The connection the request came on. */
  readonly connection: ConnectionInfo;
  /**
   * Milliseconds the handler spent parked (a long-poll Fetch waiting for data), which is not
   * time spent handling the request for `request_percentage` quotas (`quotas.ts`).
   */
  waitedMs?: number;
}

/** What ApiVersions advertises of an API: its key, name and version range. */
export interface ApiRange {
  /** The API key. */
  readonly key: number;
  /** The API name, e.g. `"Produce"`. */
  readonly name: string;
  /** Lowest version advertised (0 for every API: see the note in `apis/table.ts`). */
  readonly minVersion: number;
  /** Highest version advertised and served. */
  readonly maxVersion: number;
}

/**
 * One Kafka API served by the broker.
 *
 * @typeParam Req The decoded request type.
 * @typeParam Res The response type.
 */
export interface ApiHandler<Req = unknown, Res = unknown> extends ApiRange {
  /** Codec of the request. */
  readonly request: MessageCodec<Req>;
  /** Codec of the response. */
  readonly response: MessageCodec<Res>;
  /**
   * Serve one request.
   *
   * @param ctx The request context.
   * @param request The decoded request.
   * @returns The response, or `null` to send none.
   */
  handle(ctx: RequestContext, request: Req): Promise<Res | null> | Res | null;
  /**
   * Build the response that reports `errorCode` for everything in `request` (Kafka's
   * `getErrorResponse`).
   *
   * @param request The decoded request.
   * @param errorCode The Kafka error code.
   * @param message A human-readable detail, for APIs that carry one.
   * @returns The response.
   */
  errorResponse(request: Req, errorCode: number, message: string): Res;
}

/** What a handler file defines: its key and name come from its request codec. */
export type ApiDefinition<Req, Res> = Omit<ApiHandler<Req, Res>, "key" | "name">;

/**
 * Type-check a handler against its codecs and erase its types for the registry. The API key and
 * name are the request codec's (so no file names a literal key); the response codec must be of
 * the same API.
 *
 * @example
 * ```ts
 * import { defineApi } from "./api.ts";
 * import {
 *   createListGroupsResponse,
 *   ListGroupsRequest,
 *   ListGroupsResponse,
 * } from "../protocol/messages/list_groups.ts";
 *
 * const api = defineApi({
 *   minVersion: 0,
 *   maxVersion: 4,
 *   request: ListGroupsRequest,
 *   response: ListGroupsResponse,
 *   handle: () => createListGroupsResponse({}),
 *   errorResponse: (_req, errorCode) => createListGroupsResponse({ errorCode }),
 * });
 * console.assert(api.key === 16 && api.name === "ListGroups");
 * ```
 *
 * @typeParam Req The decoded request type.
 * @typeParam Res The response type.
 * @param definition The handler.
 * @returns The handler with its key and name, typed for the registry.
 * @throws {Error} If the request and response codecs are of different APIs.
 */
export function defineApi<Req, Res>(definition: ApiDefinition<Req, Res>): ApiHandler {
  const key = definition.request.apiKey;
  if (definition.response.apiKey !== key) {
    throw new Error(
      `Cannot define API ${definition.request.name}: its response codec ` +
        `${definition.response.name} is of API key ${definition.response.apiKey}, not ${key}`,
    );
  }
  const name = definition.request.name.replace(/Request$/, "");
  return { ...definition, key, name } as unknown as ApiHandler;
}

/**
 * The registry of served APIs: sorted by key, refusing two handlers for one key (as franz-go's
 * kfake `regKey` does).
 *
 * @example
 * ```ts
 * import { registry } from "./api.ts";
 * console.assert(registry([]).length === 0);
 * ```
 *
 * @param apis The handlers.
 * @returns The handlers in key order.
 * @throws {Error} If two handlers serve the same key.
 */
export function registry(apis: readonly ApiHandler[]): readonly ApiHandler[] {
  const byKey = new Map<number, ApiHandler>();
  for (const a of apis) {
    const other = byKey.get(a.key);
    if (other !== undefined) {
      throw new Error(`API key ${a.key} is registered twice: ${other.name} and ${a.name}`);
    }
    byKey.set(a.key, a);
  }
  return [...byKey.values()].sort((a, b) => a.key - b.key);
}

/**
 * The Kafka error code carried by a thrown error (engine errors and `KafkaError` carry a numeric
 * `code`), else UNKNOWN_SERVER_ERROR (-1).
 *
 * @param e The thrown value.
 * @returns The error code.
 */
export function errorCodeOf(e: unknown): number {
  if (e !== null && typeof e === "object" && "code" in e && typeof e.code === "number") {
    return e.code;
  }
  return -1;
}

/** The error message of what a request could not do because the broker is shutting down. */
export const SHUTTING_DOWN = "The broker is shutting down";

/**
 * The longest error message put in a response, in characters. Messages that quote a client's
 * input (a topic name may be 32767 bytes) are cut to it, because a protocol string holds at most
 * 32767 bytes and a response that cannot be encoded helps no one.
 */
export const MAX_ERROR_MESSAGE_LENGTH = 1000;

/**
 * An error message fit for a response: at most {@linkcode MAX_ERROR_MESSAGE_LENGTH} characters,
 * cut with `...`.
 *
 * @example
 * ```ts
 * import { clipMessage, MAX_ERROR_MESSAGE_LENGTH } from "./api.ts";
 * console.log(clipMessage("x".repeat(5000)).length === MAX_ERROR_MESSAGE_LENGTH); // true
 * ```
 *
 * @param message The message.
 * @returns The message, shortened if needed.
 */
export function clipMessage(message: string): string {
  return message.length <= MAX_ERROR_MESSAGE_LENGTH
    ? message
    : `${message.slice(0, MAX_ERROR_MESSAGE_LENGTH - 1)}\u2026`;
}

/**
 * The message of a thrown value, for a response (cut by {@linkcode clipMessage}).
 *
 * @param e The thrown value.
 * @returns Its message.
 */
export function messageOf(e: unknown): string {
  return clipMessage(e instanceof Error ? e.message : String(e));
}

/**
 * The host and port to give a client for this broker: those of the listener its request came in
 * on (Metadata, FindCoordinator, DescribeCluster), as Kafka does.
 *
 * @example
 * ```ts ignore
 * const { host, port } = advertisedEndpoint(ctx.broker, ctx.connection);
 * ```
 *
 * @param broker The broker's context.
 * @param connection The requesting connection.
 * @returns The advertised endpoint of the connection's listener (the first listener's if unknown).
 */
export function advertisedEndpoint(
  broker: BrokerContext,
  connection: ConnectionInfo,
): { host: string; port: number } {
  const name = connection.listenerName;
  const found = name === undefined ? undefined : broker.advertisedListeners?.get(name);
  return found ?? broker.advertised;
}

/**
 * Another broker's endpoint for a client on `listenerName` (cluster mode): the registration's
 * listener of that name, else the registration's own host and port (its inter-broker listener).
 *
 * @param registration The broker's registration in etcd.
 * @param listenerName The requesting connection's listener name.
 * @returns Host and port.
 */
export function registeredEndpoint(
  registration: {
    host: string;
    port: number;
    listeners?: readonly { name: string; host: string; port: number }[];
  },
  listenerName: string | undefined,
): { host: string; port: number } {
  const l = registration.listeners?.find((x) => x.name === listenerName);
  return l === undefined
    ? { host: registration.host, port: registration.port }
    : { host: l.host, port: l.port };
}
