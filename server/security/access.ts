// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * Which API needs what: the one table of the operations each Kafka API checks, on which resource
 * (Kafka's `KafkaApis` and the documentation's "Operations and resources on protocols"), and the
 * helpers handlers call with the names from their request. A handler says
 * `authorize(ctx, ACCESS.Produce.topic, name)`; the operation, resource type and error code come
 * from here. Without an authorizer (`authorizer.class.name` unset) every check passes.
 *
 * @module
 */

import { ErrorCode } from "../../protocol/errors.ts";
import type { RequestContext } from "../api.ts";
import { AclOperation, CLUSTER_NAME, ResourceType, SUPPORTED_OPERATIONS } from "./acl.ts";
import { type AuthorizationSubject, hostOf } from "./authorizer.ts";
import { ANONYMOUS } from "./principal.ts";

/** One check: an operation on a resource type. */
export interface Access {
  /** The operation ({@linkcode AclOperation}). */
  readonly operation: AclOperation;
  /** The resource type ({@linkcode ResourceType}). */
  readonly resourceType: ResourceType;
}

function need(operation: AclOperation, resourceType: ResourceType): Access {
  return Object.freeze({ operation, resourceType });
}

const T = ResourceType.TOPIC;
const G = ResourceType.GROUP;
const C = ResourceType.CLUSTER;
const X = ResourceType.TRANSACTIONAL_ID;
const Op = AclOperation;

/**
 * Every served API's checks, by API name. An API with no entry checks nothing (ApiVersions).
 * Where one of several checks suffices, the table lists each (e.g. CreateTopics: `clusterCreate`
 * or `topicCreate`); the handler says how they combine.
 */
export const ACCESS = Object.freeze({
  /** WRITE each topic; a transactional batch needs WRITE on its transactional id first. */
  Produce: { topic: need(Op.WRITE, T), transactionalId: need(Op.WRITE, X) },
  /** READ each topic; a follower (replica_id >= 0) needs CLUSTER_ACTION instead. */
  Fetch: { topic: need(Op.READ, T), follower: need(Op.CLUSTER_ACTION, C) },
  /** DESCRIBE each topic. */
  ListOffsets: { topic: need(Op.DESCRIBE, T) },
  /**
   * DESCRIBE each topic (unlisted when all topics are asked for); auto-creation needs CREATE on
   * the cluster or on the topic.
   */
  Metadata: {
    topic: need(Op.DESCRIBE, T),
    clusterCreate: need(Op.CREATE, C),
    topicCreate: need(Op.CREATE, T),
  },
  /** READ the group, READ each topic. */
  OffsetCommit: { group: need(Op.READ, G), topic: need(Op.READ, T) },
  /** DESCRIBE the group, DESCRIBE each topic (unlisted when all are asked for). */
  OffsetFetch: { group: need(Op.DESCRIBE, G), topic: need(Op.DESCRIBE, T) },
  /** DESCRIBE the group or the transactional id. */
  FindCoordinator: { group: need(Op.DESCRIBE, G), transactionalId: need(Op.DESCRIBE, X) },
  /** READ the group. */
  JoinGroup: { group: need(Op.READ, G) },
  /** READ the group. */
  Heartbeat: { group: need(Op.READ, G) },
  /** READ the group. */
  LeaveGroup: { group: need(Op.READ, G) },
  /** READ the group. */
  SyncGroup: { group: need(Op.READ, G) },
  /** DESCRIBE each group. */
  DescribeGroups: { group: need(Op.DESCRIBE, G) },
  /** DESCRIBE on the cluster lists every group; otherwise the groups one may DESCRIBE. */
  ListGroups: { cluster: need(Op.DESCRIBE, C), group: need(Op.DESCRIBE, G) },
  /** CREATE on the cluster, or CREATE on each topic; DESCRIBE_CONFIGS to see its configs. */
  CreateTopics: {
    clusterCreate: need(Op.CREATE, C),
    topicCreate: need(Op.CREATE, T),
    topicConfigs: need(Op.DESCRIBE_CONFIGS, T),
  },
  /** DELETE each topic. */
  DeleteTopics: { topic: need(Op.DELETE, T) },
  /** DELETE each topic. */
  DeleteRecords: { topic: need(Op.DELETE, T) },
  /**
   * WRITE the transactional id; without one (idempotent producer) IDEMPOTENT_WRITE on the cluster,
   * or WRITE on some topic (KIP-679).
   */
  InitProducerId: {
    transactionalId: need(Op.WRITE, X),
    idempotent: need(Op.IDEMPOTENT_WRITE, C),
    anyTopicWrite: need(Op.WRITE, T),
  },
  /** CLUSTER_ACTION (a follower), else DESCRIBE each topic. */
  OffsetForLeaderEpoch: { cluster: need(Op.CLUSTER_ACTION, C), topic: need(Op.DESCRIBE, T) },
  /** WRITE the transactional id, WRITE each topic (v0-v3); CLUSTER_ACTION (v4+, brokers). */
  AddPartitionsToTxn: {
    transactionalId: need(Op.WRITE, X),
    topic: need(Op.WRITE, T),
    cluster: need(Op.CLUSTER_ACTION, C),
  },
  /** WRITE the transactional id, READ the group. */
  AddOffsetsToTxn: { transactionalId: need(Op.WRITE, X), group: need(Op.READ, G) },
  /** WRITE the transactional id. */
  EndTxn: { transactionalId: need(Op.WRITE, X) },
  /** CLUSTER_ACTION (brokers only). */
  WriteTxnMarkers: { cluster: need(Op.CLUSTER_ACTION, C) },
  /** WRITE the transactional id, READ the group, READ each topic. */
  TxnOffsetCommit: {
    transactionalId: need(Op.WRITE, X),
    group: need(Op.READ, G),
    topic: need(Op.READ, T),
  },
  /** DESCRIBE on the cluster. */
  DescribeAcls: { cluster: need(Op.DESCRIBE, C) },
  /** ALTER on the cluster. */
  CreateAcls: { cluster: need(Op.ALTER, C) },
  /** ALTER on the cluster. */
  DeleteAcls: { cluster: need(Op.ALTER, C) },
  /** DESCRIBE_CONFIGS on each topic, or on the cluster for BROKER / BROKER_LOGGER. */
  DescribeConfigs: { topic: need(Op.DESCRIBE_CONFIGS, T), cluster: need(Op.DESCRIBE_CONFIGS, C) },
  /** ALTER_CONFIGS on each topic, or on the cluster for BROKER / BROKER_LOGGER. */
  AlterConfigs: { topic: need(Op.ALTER_CONFIGS, T), cluster: need(Op.ALTER_CONFIGS, C) },
  /** ALTER_CONFIGS on each topic, or on the cluster for BROKER / BROKER_LOGGER. */
  IncrementalAlterConfigs: {
    topic: need(Op.ALTER_CONFIGS, T),
    cluster: need(Op.ALTER_CONFIGS, C),
  },
  /** DESCRIBE on the cluster. */
  DescribeLogDirs: { cluster: need(Op.DESCRIBE, C) },
  /** ALTER each topic. */
  CreatePartitions: { topic: need(Op.ALTER, T) },
  /** DELETE each group. */
  DeleteGroups: { group: need(Op.DELETE, G) },
  /** DELETE the group, READ each topic. */
  OffsetDelete: { group: need(Op.DELETE, G), topic: need(Op.READ, T) },
  /** Nothing but the authorized operations (DescribeCluster answers everyone, as Kafka). */
  DescribeCluster: {},
  /** READ each topic. */
  DescribeProducers: { topic: need(Op.READ, T) },
  /** DESCRIBE each transactional id; a transaction's topics only as far as DESCRIBE allows. */
  DescribeTransactions: { transactionalId: need(Op.DESCRIBE, X), topic: need(Op.DESCRIBE, T) },
  /** Lists the transactional ids one may DESCRIBE. */
  ListTransactions: { transactionalId: need(Op.DESCRIBE, X) },
  /** ALTER on the cluster. */
  ElectLeaders: { cluster: need(Op.ALTER, C) },
  /** ALTER on the cluster. */
  AlterPartitionReassignments: { cluster: need(Op.ALTER, C) },
  /** DESCRIBE on the cluster. */
  ListPartitionReassignments: { cluster: need(Op.DESCRIBE, C) },
  /** Nothing: every client may ask. */
  ApiVersions: {},
  /** Nothing: the SASL exchange comes before any principal (Kafka checks nothing either). */
  SaslHandshake: {},
  /** Nothing: the SASL exchange comes before any principal (Kafka checks nothing either). */
  SaslAuthenticate: {},
  /** DESCRIBE_CONFIGS on the cluster. */
  DescribeClientQuotas: { cluster: need(Op.DESCRIBE_CONFIGS, C) },
  /** ALTER_CONFIGS on the cluster. */
  AlterClientQuotas: { cluster: need(Op.ALTER_CONFIGS, C) },
  /** DESCRIBE on the cluster. */
  DescribeUserScramCredentials: { cluster: need(Op.DESCRIBE, C) },
  /** ALTER on the cluster. */
  AlterUserScramCredentials: { cluster: need(Op.ALTER, C) },
  /** Nothing: every client may ask for its subscription (KIP-714). */
  GetTelemetrySubscriptions: {},
  /** Nothing: every client may push its metrics (KIP-714). */
  PushTelemetry: {},
  /** DESCRIBE_CONFIGS on the cluster. */
  ListClientMetricsResources: { cluster: need(Op.DESCRIBE_CONFIGS, C) },
  /** DESCRIBE each topic (unlisted when all topics are asked for), as Metadata. */
  DescribeTopicPartitions: { topic: need(Op.DESCRIBE, T) },
  /** READ the group (Kafka 3.9); a regex matches only topics the member may DESCRIBE (Kafka 4.0). */
  ConsumerGroupHeartbeat: { group: need(Op.READ, G), regexTopic: need(Op.DESCRIBE, T) },
  /** DESCRIBE each group. */
  ConsumerGroupDescribe: { group: need(Op.DESCRIBE, G) },
});

/** The API names in {@linkcode ACCESS}. */
export type ApiName = keyof typeof ACCESS;

/**
 * The error code Kafka answers when an operation on a resource type is denied.
 *
 * @param resourceType The resource type.
 * @returns TOPIC_, GROUP_, CLUSTER_, TRANSACTIONAL_ID_ or DELEGATION_TOKEN_AUTHORIZATION_FAILED.
 */
export function deniedError(resourceType: ResourceType): number {
  switch (resourceType) {
    case ResourceType.TOPIC:
      return ErrorCode.TOPIC_AUTHORIZATION_FAILED;
    case ResourceType.GROUP:
      return ErrorCode.GROUP_AUTHORIZATION_FAILED;
    case ResourceType.TRANSACTIONAL_ID:
      return ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
    case ResourceType.DELEGATION_TOKEN:
      return ErrorCode.DELEGATION_TOKEN_AUTHORIZATION_FAILED;
    default:
      return ErrorCode.CLUSTER_AUTHORIZATION_FAILED;
  }
}

/**
 * Who sent a request: its connection's principal (`User:ANONYMOUS` when unauthenticated) and
 * the client's address.
 *
 * @param ctx The request.
 * @returns The subject.
 */
export function subjectOf(ctx: RequestContext): AuthorizationSubject {
  return { principal: ctx.connection.principal ?? ANONYMOUS, host: hostOf(ctx.connection.remote) };
}

/**
 * Whether the request's principal may do `access` to the resource `name` (always, when the
 * broker has no authorizer). Denials are logged at debug level, as Kafka's authorizer logger
 * logs them at INFO.
 *
 * @param ctx The request.
 * @param access The check, from {@linkcode ACCESS}.
 * @param name The resource name (omitted for the cluster).
 * @returns Whether it is allowed.
 */
export function authorize(
  ctx: RequestContext,
  access: Access,
  name: string = CLUSTER_NAME,
): boolean {
  const authorizer = ctx.broker.authorizer;
  if (authorizer === undefined) return true;
  const subject = subjectOf(ctx);
  const ok = authorizer.authorize(subject, access.operation, access.resourceType, name);
  if (!ok) {
    ctx.broker.logger.debug(
      `Principal = ${subject.principal.type}:${subject.principal.name} is Denied operation = ` +
        `${opName(access.operation)} from host = ${subject.host} on resource = ` +
        `${typeName(access.resourceType)}:${name} (connection ${ctx.connection.id})`,
    );
  }
  return ok;
}

/**
 * Whether the request's principal may do `access` to some resource of its type (KIP-679's
 * `authorizeByResourceType`; always, without an authorizer).
 *
 * @param ctx The request.
 * @param access The operation and resource type.
 * @returns Whether some resource of the type is allowed.
 */
export function authorizeAny(ctx: RequestContext, access: Access): boolean {
  const authorizer = ctx.broker.authorizer;
  if (authorizer === undefined) return true;
  return authorizer.authorizeByResourceType(
    subjectOf(ctx),
    access.operation,
    access.resourceType,
  );
}

/**
 * The names the request's principal may do `access` to, each name checked once (Kafka's
 * `filterByAuthorized`).
 *
 * @param ctx The request.
 * @param access The check.
 * @param names The resource names (duplicates allowed).
 * @returns The allowed names.
 */
export function authorizedNames(
  ctx: RequestContext,
  access: Access,
  names: Iterable<string>,
): Set<string> {
  const out = new Set<string>();
  const seen = new Set<string>();
  for (const n of names) {
    if (seen.has(n)) continue;
    seen.add(n);
    if (authorize(ctx, access, n)) out.add(n);
  }
  return out;
}

/** Authorized-operations value meaning "not computed" (Kafka's `Integer.MIN_VALUE`). */
export const AUTHORIZED_OPERATIONS_OMITTED = -2147483648;

/**
 * The operations the request's principal may do on a resource, as the bit field Metadata,
 * DescribeGroups and DescribeCluster return (bit `1 << code` per allowed operation among the
 * type's supported ones; Kafka's `authorizedOperations`). Without an authorizer every supported
 * operation is allowed.
 *
 * @param ctx The request.
 * @param resourceType The resource type.
 * @param name The resource name.
 * @returns The bit field.
 */
export function authorizedOperations(
  ctx: RequestContext,
  resourceType: ResourceType,
  name: string = CLUSTER_NAME,
): number {
  const authorizer = ctx.broker.authorizer;
  const subject = authorizer === undefined ? undefined : subjectOf(ctx);
  let bits = 0;
  for (const op of SUPPORTED_OPERATIONS.get(resourceType) ?? []) {
    if (authorizer === undefined || authorizer.authorize(subject!, op, resourceType, name)) {
      bits |= 1 << op;
    }
  }
  return bits;
}

function opName(op: number): string {
  return Object.entries(AclOperation).find(([, v]) => v === op)?.[0] ?? String(op);
}

function typeName(t: number): string {
  return Object.entries(ResourceType).find(([, v]) => v === t)?.[0] ?? String(t);
}
