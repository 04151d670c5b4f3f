// Copyright 2026 the Sluice authors. Apache-2.0 license.
// Metadata (key 3): served v0-v12.
// - v0: an empty topic list means all topics; v1+: null means all, empty means none.
// - v1+ controller_id (= us), v2+ cluster_id, v4+ allow_auto_topic_creation (before v4 auto
//   creation is always allowed), v5+ offline_replicas, v7+ leader_epoch (always 0: we are the
//   only and permanent leader), v8-v10 authorized operations (INT32_MIN unless asked for),
//   v9+ flexible, v10+ topic ids in the response, v12 lookup by topic id (null name; v10-v11
//   requests may already send a null name: an unknown id is then answered with name "").
// - Unknown topic: auto-created with `num.partitions` when `auto.create.topics.enable` and the
//   request allows it, else UNKNOWN_TOPIC_OR_PARTITION; unknown id: UNKNOWN_TOPIC_ID; invalid
//   name: INVALID_TOPIC_EXCEPTION. A broker shutdown stops auto-creation: the creation in progress
//   is undone and the names left are answered UNKNOWN_TOPIC_OR_PARTITION.
// - A topic named (or looked up by id) more than once is answered once, as Kafka does.
// - One broker (us) is leader of every partition; replicas = isr = [node id]. `__consumer_offsets`
//   and `__transaction_state` are reported with is_internal = true.
// - Cluster mode (docs/CLUSTER.md): every answer comes from the cluster view: the registered
//   and unfenced brokers, the controller, each partition's leader, leader epoch, replicas, ISR
//   and offline replicas (replicas not registered, or fenced); a partition without a leader gets LEADER_NOT_AVAILABLE
//   (leader -1). Auto-creation writes the topic to etcd with `default.replication.factor`.
// - A fenced broker (registered again, its view not caught up yet; or cut off from etcd) waits
//   up to 1 s for its view to catch up, then answers every partition LEADER_NOT_AVAILABLE
//   (leader -1), unknown topics LEADER_NOT_AVAILABLE, itself as the only broker, no controller
//   and no auto-creation: it vouches for nothing its stale view holds (docs/CLUSTER.md).
//   Others do not list a fenced broker (nor count its replicas online).
// - ACLs (`../security/access.ts`, as Kafka's `handleTopicMetadataRequest`): listing all topics
//   lists only those the principal may DESCRIBE; a named topic it may not DESCRIBE gets
//   TOPIC_AUTHORIZATION_FAILED (by id: with a null name), before any other check; auto-creation
//   needs CREATE on the cluster or on the topic, else TOPIC_AUTHORIZATION_FAILED and nothing is
//   created. v8+ include_topic_authorized_operations and v8-v10
//   include_cluster_authorized_operations are answered with the operations' bit fields
//   (every supported operation without an authorizer, as Kafka).

import { ErrorCode } from "../../protocol/errors.ts";
import {
  createMetadataResponse,
  createMetadataResponseResponseBroker,
  createMetadataResponseResponsePartition,
  createMetadataResponseResponseTopic,
  MetadataRequest,
  MetadataResponse,
} from "../../protocol/messages/metadata.ts";
import { ZERO_UUID } from "../../protocol/primitives.ts";
import { type TopicInfo, validateTopicName } from "../../engine/mod.ts";
import { CONSUMER_OFFSETS_TOPIC, TRANSACTION_STATE_TOPIC } from "../internal_topic_names.ts";
import {
  advertisedEndpoint,
  type ApiHandler,
  type BrokerContext,
  defineApi,
  errorCodeOf,
  registeredEndpoint,
  type RequestContext,
} from "../api.ts";
import {
  ACCESS,
  authorize,
  AUTHORIZED_OPERATIONS_OMITTED,
  authorizedOperations,
} from "../security/access.ts";
import { ResourceType } from "../security/acl.ts";

export { AUTHORIZED_OPERATIONS_OMITTED };

type ResponseTopic = MetadataResponse["topics"][number];

/** Whether auto-creating `name` is allowed: CREATE on the cluster or on the topic. */
function mayAutoCreate(ctx: RequestContext, name: string): boolean {
  return authorize(ctx, ACCESS.Metadata.clusterCreate) ||
    authorize(ctx, ACCESS.Metadata.topicCreate, name);
}

/**
 * The ACL part of the answer: when all topics were asked for, only those the principal may
 * DESCRIBE; the authorized operations of each described topic and of the cluster when asked for.
 */
function finish(
  ctx: RequestContext,
  req: MetadataRequest,
  all: boolean,
  res: MetadataResponse,
): MetadataResponse {
  if (all && ctx.broker.authorizer !== undefined) {
    res.topics = res.topics.filter((t) =>
      t.name !== null && authorize(ctx, ACCESS.Metadata.topic, t.name)
    );
  }
  if (ctx.version >= 8 && req.includeTopicAuthorizedOperations) {
    for (const t of res.topics) {
      if (
        t.name === null || t.errorCode === ErrorCode.TOPIC_AUTHORIZATION_FAILED ||
        t.errorCode === ErrorCode.UNKNOWN_TOPIC_ID
      ) continue;
      t.topicAuthorizedOperations = authorizedOperations(ctx, ResourceType.TOPIC, t.name);
    }
  }
  if (ctx.version >= 8 && ctx.version <= 10 && req.includeClusterAuthorizedOperations) {
    res.clusterAuthorizedOperations = authorizedOperations(ctx, ResourceType.CLUSTER);
  }
  return res;
}

function isValidTopicName(name: string): boolean {
  try {
    validateTopicName(name);
    return true;
  } catch {
    return false;
  }
}

/** Whether `name` is one of Kafka's internal topics (`Topic.isInternal`). */
export function isInternalTopic(name: string): boolean {
  return name === CONSUMER_OFFSETS_TOPIC || name === TRANSACTION_STATE_TOPIC;
}

/**
 * A topic as Metadata and DescribeTopicPartitions describe it, one partition at a time (a
 * DescribeTopicPartitions page builds only the partitions it answers).
 */
export interface DescribedTopic {
  /** Topic name. */
  readonly name: string;
  /** Topic id. */
  readonly id: string;
  /** Partition count. */
  readonly partitionCount: number;
  /**
   * Partition `i` (0 <= i < partitionCount): its leader (-1 and LEADER_NOT_AVAILABLE when it has
   * none), leader epoch, replicas, ISR and offline replicas.
   *
   * @param i The partition index.
   * @returns Its Metadata entry.
   */
  partition(i: number): ResponsePartition;
}

type ResponsePartition = ResponseTopic["partitions"][number];

/** A local topic: this broker leads every partition, replicas = isr = [node id]. */
function localTopic(broker: BrokerContext, t: TopicInfo): DescribedTopic {
  const nodeId = broker.nodeId;
  return {
    name: t.name,
    id: t.id,
    partitionCount: t.partitions,
    partition: (i) =>
      createMetadataResponseResponsePartition({
        errorCode: 0,
        partitionIndex: i,
        leaderId: nodeId,
        leaderEpoch: broker.logs.leaderEpochOf(t.name, i) ?? 0,
        replicaNodes: [nodeId],
        isrNodes: [nodeId],
        offlineReplicas: [],
      }),
  };
}

/** A topic of the cluster view (cluster mode), undefined when the view does not hold it. */
function viewTopic(broker: BrokerContext, name: string): DescribedTopic | undefined {
  const cluster = broker.cluster!;
  const t = cluster.view.topic(name);
  if (t === undefined) return undefined;
  const replicasOf = t.value.replicas;
  return {
    name,
    id: t.value.id,
    partitionCount: replicasOf.length,
    partition(i) {
      const replicas = replicasOf[i];
      const s = cluster.view.partition(name, i)?.value;
      const leader = s?.leader ?? -1;
      return createMetadataResponseResponsePartition({
        errorCode: leader === -1 ? ErrorCode.LEADER_NOT_AVAILABLE : 0,
        partitionIndex: i,
        leaderId: leader,
        leaderEpoch: s?.leaderEpoch ?? -1,
        replicaNodes: replicas,
        isrNodes: s?.isr ?? [],
        offlineReplicas: replicas.filter((b) => !cluster.view.isUnfenced(b)),
      });
    },
  };
}

/**
 * A topic as Metadata describes it: from the cluster view in cluster mode, else from this
 * broker's logs.
 *
 * @param broker Broker state.
 * @param name Topic name.
 * @returns The topic, or undefined when unknown.
 */
export function describedTopic(broker: BrokerContext, name: string): DescribedTopic | undefined {
  if (broker.cluster !== undefined) return viewTopic(broker, name);
  const t = broker.logs.topic(name);
  return t === undefined ? undefined : localTopic(broker, t);
}

/**
 * Every topic's name, sorted: the cluster view's in cluster mode, else this broker's.
 *
 * @param broker Broker state.
 * @returns The names.
 */
export function topicNames(broker: BrokerContext): string[] {
  const names = broker.cluster !== undefined
    ? [...broker.cluster.view.topics().keys()]
    : broker.logs.listTopics().map((t) => t.name);
  return names.sort();
}

function entryOf(t: DescribedTopic): ResponseTopic {
  const partitions = [];
  for (let i = 0; i < t.partitionCount; i++) partitions.push(t.partition(i));
  return createMetadataResponseResponseTopic({
    errorCode: 0,
    name: t.name,
    topicId: t.id,
    isInternal: isInternalTopic(t.name),
    partitions,
    topicAuthorizedOperations: AUTHORIZED_OPERATIONS_OMITTED,
  });
}

function topicEntry(broker: BrokerContext, t: TopicInfo): ResponseTopic {
  return entryOf(localTopic(broker, t));
}

function errorTopic(name: string | null, topicId: string, errorCode: number): ResponseTopic {
  return createMetadataResponseResponseTopic({
    errorCode,
    name,
    topicId,
    partitions: [],
    topicAuthorizedOperations: AUTHORIZED_OPERATIONS_OMITTED,
  });
}

/**
 * Create a topic on first use (auto.create.topics.enable). Tolerates a concurrent creation.
 *
 * @param broker Broker state.
 * @param name Topic name (already validated).
 * @returns The topic.
 */
export async function autoCreateTopic(broker: BrokerContext, name: string): Promise<TopicInfo> {
  if (broker.cluster !== undefined) {
    try {
      await broker.cluster.createTopic({
        name,
        numPartitions: broker.config.numPartitions,
        replicationFactor: -1,
        configs: {},
      });
    } catch (e) {
      if (broker.cluster.view.topic(name) === undefined) throw e;
    }
    const t = broker.cluster.view.topic(name)!;
    return {
      name,
      id: t.value.id,
      partitions: t.value.replicas.length,
      configs: t.value.configs,
      effective: t.value.configs,
    };
  }
  try {
    // a shutdown stops the creation and removes what it made
    const t = await broker.logs.createTopic(name, broker.config.numPartitions, {}, {
      signal: broker.closing,
    });
    broker.logger.info(
      `Auto-created topic ${name} with ${broker.config.numPartitions} partition(s)`,
    );
    return t;
  } catch (e) {
    const existing = broker.logs.topic(name);
    if (existing !== undefined) return existing;
    throw e;
  }
}

/** The Metadata entry of a topic in cluster mode, from the view. */
function clusterTopicEntry(broker: BrokerContext, name: string): ResponseTopic | undefined {
  const t = viewTopic(broker, name);
  return t === undefined ? undefined : entryOf(t);
}

/** How long a Metadata request waits for a fenced broker to catch up before answering. */
const FENCED_METADATA_WAIT_MS = 1000;

/**
 * Whether this broker's cluster view is current (cluster mode): it is registered and unfenced,
 * or becomes so within a second. A broker whose view is not current answers with
 * {@linkcode vouchForNothing} applied to every partition.
 *
 * @param ctx The request (of a broker in cluster mode).
 * @returns Whether the view is current.
 */
export async function viewIsCurrent(ctx: RequestContext): Promise<boolean> {
  const cluster = ctx.broker.cluster!;
  return cluster.registered || await cluster.untilRegistered(FENCED_METADATA_WAIT_MS);
}

/**
 * What a fenced broker says of a partition: LEADER_NOT_AVAILABLE, no leader (-1), leader epoch
 * -1, no ISR and no offline replicas (its view may be stale).
 *
 * @param p The partition entry, changed in place.
 */
export function vouchForNothing(p: {
  errorCode: number;
  leaderId: number;
  leaderEpoch: number;
  isrNodes: number[];
  offlineReplicas: number[];
}): void {
  p.errorCode = ErrorCode.LEADER_NOT_AVAILABLE;
  p.leaderId = -1;
  p.leaderEpoch = -1;
  p.isrNodes = [];
  p.offlineReplicas = [];
}

/**
 * The answer of a fenced broker (not registered, or registered again and its view not caught up
 * yet): its view may be stale, so it vouches for no leader, ISR, controller or other broker.
 * Every partition gets LEADER_NOT_AVAILABLE (leader -1, no ISR), a topic its view does not hold
 * LEADER_NOT_AVAILABLE too (not UNKNOWN_TOPIC_OR_PARTITION: it may exist), and the broker list
 * is this broker alone; clients retry, and get the cluster's view once it caught up.
 */
function fencedAnswer(ctx: RequestContext, res: MetadataResponse): MetadataResponse {
  const cluster = ctx.broker.cluster!;
  const self = cluster.membership?.registration;
  for (const t of res.topics) {
    if (
      t.errorCode === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION ||
      t.errorCode === ErrorCode.UNKNOWN_TOPIC_ID
    ) {
      t.errorCode = ErrorCode.LEADER_NOT_AVAILABLE;
    }
    for (const p of t.partitions) vouchForNothing(p);
  }
  res.brokers = self === undefined ? [] : [
    createMetadataResponseResponseBroker({
      nodeId: self.id,
      ...registeredEndpoint(self, ctx.connection.listenerName),
      rack: self.rack,
    }),
  ];
  res.controllerId = -1;
  return res;
}

/**
 * Metadata in cluster mode: everything from the cluster view, once this broker is unfenced
 * (see {@linkcode fencedAnswer}).
 */
async function clusterMetadata(
  ctx: RequestContext,
  req: MetadataRequest,
): Promise<MetadataResponse> {
  if (await viewIsCurrent(ctx)) {
    return await viewMetadata(ctx, req, true);
  }
  return fencedAnswer(ctx, await viewMetadata(ctx, req, false));
}

/** Metadata from the cluster view (`mayCreate`: auto-creation allowed). */
async function viewMetadata(
  ctx: RequestContext,
  req: MetadataRequest,
  mayCreate: boolean,
): Promise<MetadataResponse> {
  const broker = ctx.broker;
  const version = ctx.version;
  const cluster = broker.cluster!;
  const all = req.topics === null || (version === 0 && req.topics.length === 0);
  const topics: ResponseTopic[] = [];
  if (all) {
    for (const name of [...cluster.view.topics().keys()].sort()) {
      const entry = clusterTopicEntry(broker, name);
      if (entry !== undefined) topics.push(entry);
    }
  } else {
    const autoCreate = mayCreate && broker.config.autoCreateTopicsEnable &&
      (version < 4 || req.allowAutoTopicCreation);
    // Each topic is answered once, as Kafka does (it reads the list into a set).
    const answered = new Set<string>();
    for (const rt of req.topics!) {
      let name = rt.name;
      if (name === null) {
        name = rt.topicId === ZERO_UUID ? null : cluster.topicName(rt.topicId) ?? null;
        if (name === null) {
          if (answered.has(`id ${rt.topicId}`)) continue;
          answered.add(`id ${rt.topicId}`);
          // Response names are nullable from v12 only.
          topics.push(
            errorTopic(version >= 12 ? null : "", rt.topicId, ErrorCode.UNKNOWN_TOPIC_ID),
          );
          continue;
        }
      }
      if (answered.has(`name ${name}`)) continue;
      answered.add(`name ${name}`);
      if (!authorize(ctx, ACCESS.Metadata.topic, name)) {
        topics.push(
          rt.name === null
            ? errorTopic(
              version >= 12 ? null : "",
              rt.topicId,
              ErrorCode.TOPIC_AUTHORIZATION_FAILED,
            )
            : errorTopic(name, ZERO_UUID, ErrorCode.TOPIC_AUTHORIZATION_FAILED),
        );
        continue;
      }
      if (!isValidTopicName(name)) {
        topics.push(errorTopic(name, ZERO_UUID, ErrorCode.INVALID_TOPIC_EXCEPTION));
        continue;
      }
      let entry = clusterTopicEntry(broker, name);
      if (
        entry === undefined && autoCreate && name !== CONSUMER_OFFSETS_TOPIC &&
        name !== TRANSACTION_STATE_TOPIC && !broker.closing.aborted
      ) {
        if (!mayAutoCreate(ctx, name)) {
          topics.push(errorTopic(name, ZERO_UUID, ErrorCode.TOPIC_AUTHORIZATION_FAILED));
          continue;
        }
        try {
          await autoCreateTopic(broker, name);
          entry = clusterTopicEntry(broker, name);
        } catch (e) {
          broker.logger.warn(`Auto-creating topic ${name} failed: ${(e as Error).message}`);
          topics.push(errorTopic(name, ZERO_UUID, errorCodeOf(e)));
          continue;
        }
      }
      topics.push(entry ?? errorTopic(name, ZERO_UUID, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION));
    }
  }
  return finish(
    ctx,
    req,
    all,
    createMetadataResponse({
      throttleTimeMs: 0,
      brokers: cluster.liveBrokers().map((b) =>
        createMetadataResponseResponseBroker({
          nodeId: b.id,
          ...registeredEndpoint(b, ctx.connection.listenerName),
          rack: b.rack,
        })
      ),
      clusterId: broker.clusterId,
      controllerId: cluster.view.controllerId,
      topics,
      clusterAuthorizedOperations: AUTHORIZED_OPERATIONS_OMITTED,
    }),
  );
}

/** Metadata handler. */
export const metadata: ApiHandler = defineApi<MetadataRequest, MetadataResponse>({
  minVersion: 0,
  maxVersion: 12,
  request: MetadataRequest,
  response: MetadataResponse,
  async handle(ctx, req) {
    const broker = ctx.broker;
    if (broker.cluster !== undefined) return await clusterMetadata(ctx, req);
    const all = req.topics === null || (ctx.version === 0 && req.topics.length === 0);
    const topics: ResponseTopic[] = [];
    if (all) {
      const list = broker.logs.listTopics().sort((a, b) => a.name < b.name ? -1 : 1);
      for (const t of list) topics.push(topicEntry(broker, t));
    } else {
      const autoCreate = broker.config.autoCreateTopicsEnable &&
        (ctx.version < 4 || req.allowAutoTopicCreation);
      // Each topic is answered once, as Kafka does (it reads the list into a set).
      const answered = new Set<string>();
      for (const rt of req.topics!) {
        if (rt.name === null) {
          const byId = rt.topicId === ZERO_UUID ? undefined : broker.logs.topicById(rt.topicId);
          const key = byId === undefined ? `id ${rt.topicId}` : `name ${byId.name}`;
          if (answered.has(key)) continue;
          answered.add(key);
          if (byId !== undefined && !authorize(ctx, ACCESS.Metadata.topic, byId.name)) {
            topics.push(
              errorTopic(
                ctx.version >= 12 ? null : "",
                rt.topicId,
                ErrorCode.TOPIC_AUTHORIZATION_FAILED,
              ),
            );
            continue;
          }
          topics.push(
            byId === undefined
              // Response names are nullable from v12 only.
              ? errorTopic(ctx.version >= 12 ? null : "", rt.topicId, ErrorCode.UNKNOWN_TOPIC_ID)
              : topicEntry(broker, byId),
          );
          continue;
        }
        const name = rt.name;
        if (answered.has(`name ${name}`)) continue;
        answered.add(`name ${name}`);
        if (!authorize(ctx, ACCESS.Metadata.topic, name)) {
          topics.push(errorTopic(name, ZERO_UUID, ErrorCode.TOPIC_AUTHORIZATION_FAILED));
          continue;
        }
        if (!isValidTopicName(name)) {
          topics.push(errorTopic(name, ZERO_UUID, ErrorCode.INVALID_TOPIC_EXCEPTION));
          continue;
        }
        let t = broker.logs.topic(name);
        // The internal topics are created by their coordinators, with their own settings.
        // A shutdown ends auto-creation: the names left are answered as unknown (a Metadata
        // naming 20,000 new topics kept a stopping broker creating them for minutes).
        if (
          t === undefined && autoCreate && name !== CONSUMER_OFFSETS_TOPIC &&
          name !== TRANSACTION_STATE_TOPIC && !broker.closing.aborted
        ) {
          if (!mayAutoCreate(ctx, name)) {
            topics.push(errorTopic(name, ZERO_UUID, ErrorCode.TOPIC_AUTHORIZATION_FAILED));
            continue;
          }
          try {
            t = await autoCreateTopic(broker, name);
          } catch (e) {
            const code = errorCodeOf(e);
            broker.logger.warn(`Auto-creating topic ${name} failed: ${(e as Error).message}`);
            topics.push(errorTopic(name, ZERO_UUID, code));
            continue;
          }
        }
        topics.push(
          t === undefined
            ? errorTopic(name, ZERO_UUID, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
            : topicEntry(broker, t),
        );
      }
    }
    return finish(
      ctx,
      req,
      all,
      createMetadataResponse({
        throttleTimeMs: 0,
        brokers: [createMetadataResponseResponseBroker({
          nodeId: broker.nodeId,
          ...advertisedEndpoint(broker, ctx.connection),
          rack: null,
        })],
        clusterId: broker.clusterId,
        controllerId: broker.nodeId,
        topics,
        clusterAuthorizedOperations: AUTHORIZED_OPERATIONS_OMITTED,
      }),
    );
  },
  errorResponse(req, errorCode) {
    return createMetadataResponse({
      topics: (req.topics ?? []).map((t) => errorTopic(t.name, t.topicId, errorCode)),
    });
  },
});
