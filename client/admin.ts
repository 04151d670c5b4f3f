/**
 * The admin client: topics, partitions, configs, offsets, record deletion, cluster
 * description and consumer groups (list, describe, committed offsets, delete).
 *
 * @module
 */

import { ErrorCode, KafkaError } from "../protocol/errors.ts";
import {
  AlterUserScramCredentialsRequest,
  AlterUserScramCredentialsResponse,
} from "../protocol/messages/alter_user_scram_credentials.ts";
import {
  DescribeUserScramCredentialsRequest,
  DescribeUserScramCredentialsResponse,
} from "../protocol/messages/describe_user_scram_credentials.ts";
import { type ScramMechanism, scramMechanismByType } from "../protocol/scram.ts";
import type { ScramCredentialUpsertion } from "./sasl.ts";
import {
  AlterClientQuotasRequest,
  AlterClientQuotasResponse,
} from "../protocol/messages/alter_client_quotas.ts";
import {
  DescribeClientQuotasRequest,
  DescribeClientQuotasResponse,
} from "../protocol/messages/describe_client_quotas.ts";
import { CreateTopicsRequest, CreateTopicsResponse } from "../protocol/messages/create_topics.ts";
import { DeleteTopicsRequest, DeleteTopicsResponse } from "../protocol/messages/delete_topics.ts";
import {
  CreatePartitionsRequest,
  CreatePartitionsResponse,
} from "../protocol/messages/create_partitions.ts";
import {
  DescribeConfigsRequest,
  DescribeConfigsResponse,
} from "../protocol/messages/describe_configs.ts";
import {
  IncrementalAlterConfigsRequest,
  IncrementalAlterConfigsResponse,
} from "../protocol/messages/incremental_alter_configs.ts";
import {
  DeleteRecordsRequest,
  DeleteRecordsResponse,
} from "../protocol/messages/delete_records.ts";
import {
  DescribeClusterRequest,
  DescribeClusterResponse,
} from "../protocol/messages/describe_cluster.ts";
import { ListOffsetsRequest, ListOffsetsResponse } from "../protocol/messages/list_offsets.ts";
import {
  ListClientMetricsResourcesRequest,
  ListClientMetricsResourcesResponse,
} from "../protocol/messages/list_client_metrics_resources.ts";
import {
  DescribeTopicPartitionsRequest,
  DescribeTopicPartitionsResponse,
} from "../protocol/messages/describe_topic_partitions.ts";
import {
  DescribeLogDirsRequest,
  DescribeLogDirsResponse,
} from "../protocol/messages/describe_log_dirs.ts";
import { ListGroupsRequest, ListGroupsResponse } from "../protocol/messages/list_groups.ts";
import {
  DescribeGroupsRequest,
  DescribeGroupsResponse,
} from "../protocol/messages/describe_groups.ts";
import {
  ConsumerGroupDescribeRequest,
  ConsumerGroupDescribeResponse,
  type ConsumerGroupDescribeResponseAssignment,
} from "../protocol/messages/consumer_group_describe.ts";
import { OffsetFetchRequest, OffsetFetchResponse } from "../protocol/messages/offset_fetch.ts";
import { OffsetCommitRequest, OffsetCommitResponse } from "../protocol/messages/offset_commit.ts";
import { DeleteGroupsRequest, DeleteGroupsResponse } from "../protocol/messages/delete_groups.ts";
import { OffsetDeleteRequest, OffsetDeleteResponse } from "../protocol/messages/offset_delete.ts";
import { CreateAclsRequest, CreateAclsResponse } from "../protocol/messages/create_acls.ts";
import { DescribeAclsRequest, DescribeAclsResponse } from "../protocol/messages/describe_acls.ts";
import { DeleteAclsRequest, DeleteAclsResponse } from "../protocol/messages/delete_acls.ts";
import { type AclBinding, aclCode, type AclFilter, bindingFrom, filterFields } from "./acls.ts";
import { ElectLeadersRequest, ElectLeadersResponse } from "../protocol/messages/elect_leaders.ts";
import {
  AlterPartitionReassignmentsRequest,
  AlterPartitionReassignmentsResponse,
} from "../protocol/messages/alter_partition_reassignments.ts";
import {
  ListPartitionReassignmentsRequest,
  ListPartitionReassignmentsResponse,
} from "../protocol/messages/list_partition_reassignments.ts";
import { decodeAssignment, decodeSubscription, type MemberAssignment } from "./assignors.ts";
import { type BrokerInfo, type Client, isStaleMetadataError, type TopicInfo } from "./client.ts";
import { COORDINATOR_KEY_TYPE, findCoordinator } from "./find_coordinator.ts";
import {
  ListTransactionsRequest,
  ListTransactionsResponse,
} from "../protocol/messages/list_transactions.ts";
import {
  DescribeTransactionsRequest,
  DescribeTransactionsResponse,
} from "../protocol/messages/describe_transactions.ts";
import {
  DescribeProducersRequest,
  DescribeProducersResponse,
} from "../protocol/messages/describe_producers.ts";
import {
  WriteTxnMarkersRequest,
  WriteTxnMarkersResponse,
} from "../protocol/messages/write_txn_markers.ts";

/** A topic to create. */
export interface NewTopic {
  /** Topic name. */
  name: string;
  /** Partition count; default: the broker's `num.partitions`. */
  numPartitions?: number;
  /** Replication factor; default: the broker's `default.replication.factor`. */
  replicationFactor?: number;
  /** Topic configs, e.g. `{ "cleanup.policy": "compact" }`. */
  configs?: Record<string, string>;
}

/** Result of creating a topic. */
export interface CreatedTopic {
  /** Topic name. */
  name: string;
  /** Topic id. */
  topicId: string;
  /** Partition count (-1 if the broker did not say). */
  numPartitions: number;
  /** Replication factor (-1 if the broker did not say). */
  replicationFactor: number;
}

/** A partition in a topic description. */
export interface PartitionDescription {
  /** Partition index. */
  partition: number;
  /** Leader node id (-1 when none). */
  leader: number;
  /** Replica node ids. */
  replicas: number[];
  /** In-sync replica node ids. */
  isr: number[];
  /** Offline replica node ids. */
  offlineReplicas: number[];
}

/** A topic description. */
export interface TopicDescription {
  /** Topic name. */
  name: string;
  /** Topic id. */
  topicId: string;
  /** Whether internal. */
  internal: boolean;
  /** Partitions in index order. */
  partitions: PartitionDescription[];
}

/** A partition as DescribeTopicPartitions describes it (KIP-966). */
export interface TopicPartitionDescription extends PartitionDescription {
  /** The leader epoch (-1 when unknown). */
  leaderEpoch: number;
  /** Eligible leader replicas (empty or null when ELR is not enabled). */
  eligibleLeaderReplicas: number[] | null;
  /** The last known ELR (empty or null when ELR is not enabled). */
  lastKnownElr: number[] | null;
}

/** A topic as DescribeTopicPartitions describes it. */
export interface TopicPartitionsDescription extends TopicDescription {
  /** Partitions in index order. */
  partitions: TopicPartitionDescription[];
  /** The principal's operations on the topic, as a bit field (`1 << AclOperation`). */
  authorizedOperations: number;
}

/** Options of {@linkcode Admin.describeTopicPartitions}. */
export interface DescribeTopicPartitionsOptions {
  /**
   * The most partitions one answer may hold (`response_partition_limit`; default 2000, what
   * Kafka's admin client asks; the broker caps it at its `max.request.partition.size.limit`).
   */
  partitionLimit?: number;
  /**
   * Called after each answer (page) with the number of partitions it held.
   *
   * @param partitions The page's partition count.
   */
  onPage?: (partitions: number) => void;
}

/** Config resource types (`client-metrics`: a KIP-714 client metrics subscription). */
export type ConfigResourceType = "topic" | "broker" | "client-metrics";

/** A config resource. */
export interface ConfigResource {
  /** Resource type. */
  type: ConfigResourceType;
  /** Topic name or broker id. */
  name: string;
  /** Only these keys (default all). */
  keys?: string[];
}

/** Where a config value comes from (Kafka's `ConfigSource`). */
export type ConfigSource =
  | "UNKNOWN"
  | "DYNAMIC_TOPIC_CONFIG"
  | "DYNAMIC_BROKER_CONFIG"
  | "DYNAMIC_DEFAULT_BROKER_CONFIG"
  | "STATIC_BROKER_CONFIG"
  | "DEFAULT_CONFIG"
  | "DYNAMIC_BROKER_LOGGER_CONFIG"
  | "CLIENT_METRICS_CONFIG"
  | "GROUP_CONFIG";

const CONFIG_SOURCES: readonly ConfigSource[] = [
  "UNKNOWN",
  "DYNAMIC_TOPIC_CONFIG",
  "DYNAMIC_BROKER_CONFIG",
  "DYNAMIC_DEFAULT_BROKER_CONFIG",
  "STATIC_BROKER_CONFIG",
  "DEFAULT_CONFIG",
  "DYNAMIC_BROKER_LOGGER_CONFIG",
  "CLIENT_METRICS_CONFIG",
  "GROUP_CONFIG",
];

/** One config entry. */
export interface ConfigEntry {
  /** Key. */
  name: string;
  /** Value (`null` for sensitive or unset values). */
  value: string | null;
  /** Whether read-only. */
  readOnly: boolean;
  /** Whether the value is the default. */
  isDefault: boolean;
  /** Where the value comes from. */
  source: ConfigSource;
  /** Whether sensitive. */
  sensitive: boolean;
}

/** Configs of one resource. */
export interface ConfigDescription {
  /** Resource type. */
  type: ConfigResourceType;
  /** Resource name. */
  name: string;
  /** Entries. */
  entries: ConfigEntry[];
}

/** One incremental config change. */
export interface ConfigChange {
  /** Key. */
  name: string;
  /** `set` (default), `delete`, `append` or `subtract`. */
  op?: "set" | "delete" | "append" | "subtract";
  /** Value (ignored for `delete`). */
  value?: string | null;
}

/** A config alteration for one resource. */
export interface AlterConfigsResource {
  /** Resource type. */
  type: ConfigResourceType;
  /** Resource name. */
  name: string;
  /** Changes. */
  changes: ConfigChange[];
}

/** Which offset {@linkcode Admin.listOffsets} looks up. */
export type OffsetSpec = "earliest" | "latest" | "max-timestamp" | { timestamp: number };

/** A partition offset query. */
export interface OffsetQuery {
  /** Topic. */
  topic: string;
  /** Partition. */
  partition: number;
  /** What to look up. */
  spec: OffsetSpec;
}

/** A partition offset answer. */
export interface PartitionOffset {
  /** Topic. */
  topic: string;
  /** Partition. */
  partition: number;
  /** The offset (-1 if no record matches a timestamp query). */
  offset: number;
  /** Timestamp of that record (-1 for earliest/latest). */
  timestamp: number;
  /** The leader epoch of that offset's leader (ListOffsets v4+; -1 when not known). */
  leaderEpoch: number;
}

/** A record deletion request: remove records below `offset`. */
export interface DeleteRecordsSpec {
  /** Topic. */
  topic: string;
  /** Partition. */
  partition: number;
  /** New log start offset (-1 for the high watermark). */
  offset: number;
}

/** Result of a record deletion. */
export interface DeletedRecords {
  /** Topic. */
  topic: string;
  /** Partition. */
  partition: number;
  /** New low watermark. */
  lowWatermark: number;
}

/** The cluster. */
export interface ClusterDescription {
  /** Cluster id. */
  clusterId: string;
  /** Controller node id. */
  controllerId: number;
  /** Brokers. */
  brokers: BrokerInfo[];
}

/** What a leader election asks for: the preferred replica, or any live one (unclean). */
export type ElectionType = "preferred" | "unclean";

/** One partition's outcome of {@linkcode Admin.electLeaders} or a reassignment request. */
export interface PartitionOutcome {
  /** Topic. */
  topic: string;
  /** Partition index. */
  partition: number;
  /** `null` when done; else the broker's error (e.g. `ELECTION_NOT_NEEDED`). */
  error: KafkaError | null;
}

/** A partition's replicas to move to (`null`: cancel its reassignment). */
export interface PartitionReassignmentSpec {
  /** Topic. */
  topic: string;
  /** Partition index. */
  partition: number;
  /** Target replicas, preferred leader first; `null` cancels the reassignment in progress. */
  replicas: number[] | null;
}

/** A reassignment in progress ({@linkcode Admin.listPartitionReassignments}). */
export interface PartitionReassignment {
  /** Topic. */
  topic: string;
  /** Partition index. */
  partition: number;
  /** The partition's replicas now (the target first, then those being removed). */
  replicas: number[];
  /** Replicas being added. */
  addingReplicas: number[];
  /** Replicas being removed. */
  removingReplicas: number[];
}

/**
 * A group's type: `classic` (JoinGroup/SyncGroup, client-side assignors) or `consumer` (KIP-848,
 * ConsumerGroupHeartbeat, broker-side assignors), as Kafka's `GroupType`.
 */
export type GroupType = "classic" | "consumer";

/** A group in {@linkcode Admin.listGroups}. */
export interface ConsumerGroupListing {
  /** Group id. */
  groupId: string;
  /** Protocol type (`consumer` for consumer groups of either type). */
  protocolType: string;
  /** State (`Empty`, `Stable`, `PreparingRebalance`, ...; `Assigning`, `Reconciling` for the
   * consumer type); "" from brokers before ListGroups v4. */
  state: string;
  /** `classic` or `consumer` (ListGroups v5+); "" from older brokers, which know only classic
   * groups. */
  type: GroupType | "";
}

/** A member in a {@linkcode ConsumerGroupDescription}. */
export interface ConsumerGroupMember {
  /** Member id. */
  memberId: string;
  /** `group.instance.id`, or `null`. */
  groupInstanceId: string | null;
  /** `client.id` of the member's client. */
  clientId: string;
  /** The member's host as the broker saw it, e.g. `/127.0.0.1`. */
  clientHost: string;
  /** Subscribed topics (decoded from the member metadata; empty for non-consumer groups). */
  subscription: string[];
  /**
   * `consumer`-type groups: the member's topic regex (KIP-848 `SubscribedTopicRegex`, RE2
   * syntax), or `null` (none, or a classic group).
   */
  subscribedTopicRegex: string | null;
  /** Assigned partitions (decoded; empty while rebalancing or for non-consumer groups). For a
   * `consumer`-type group: the partitions the member holds now. */
  assignment: MemberAssignment;
  /** `consumer`-type groups: the partitions the broker's assignor gives the member (they differ
   * from `assignment` while it reconciles); `null` for classic groups. */
  targetAssignment: MemberAssignment | null;
  /** `consumer`-type groups: the member's epoch; `null` for classic groups. */
  memberEpoch: number | null;
}

/** A group described by {@linkcode Admin.describeGroups}. */
export interface ConsumerGroupDescription {
  /** Group id. */
  groupId: string;
  /** `classic` or `consumer` (KIP-848); an unknown group is `classic` (state `Dead`). */
  type: GroupType;
  /** State, e.g. `Stable`, `Empty`, `Dead` (unknown group); `Assigning` and `Reconciling` for
   * `consumer`-type groups too. */
  state: string;
  /** Protocol type, e.g. `consumer` (always `consumer` for the `consumer` type). */
  protocolType: string;
  /** The chosen protocol: the assignor name for consumer groups (a client-side one for classic
   * groups, e.g. `range`; the broker's for the `consumer` type, e.g. `uniform`). */
  protocol: string;
  /** Coordinator node id. */
  coordinator: number;
  /** `consumer`-type groups: the group epoch; `null` for classic groups. */
  groupEpoch: number | null;
  /** `consumer`-type groups: the epoch of the target assignment; `null` for classic groups. */
  targetAssignmentEpoch: number | null;
  /** Members. */
  members: ConsumerGroupMember[];
}

/** A committed offset of a group. */
export interface CommittedOffset {
  /** Topic. */
  topic: string;
  /** Partition. */
  partition: number;
  /** Committed offset (the next record to read). */
  offset: number;
  /** Metadata committed with it, or `null`. */
  metadata: string | null;
  /**
   * The leader epoch committed with it (`committed_leader_epoch`, OffsetFetch v5+, KIP-320): the
   * epoch of the last record consumed, which a consumer resuming from this offset validates
   * (OffsetForLeaderEpoch). `null` when none was committed (-1: a commit without an epoch, or a
   * broker older than OffsetFetch v5), as Kafka's Java admin gives `Optional.empty()`.
   */
  leaderEpoch: number | null;
}

/** A partition of a topic. */
/** One partition replica in a broker's log directory ({@linkcode Admin.describeLogDirs}). */
export interface ReplicaLogDirInfo {
  /** Topic. */
  topic: string;
  /** Partition. */
  partition: number;
  /** The log directory holding it. */
  logDir: string;
  /** Bytes of its segments. */
  size: number;
  /** How far this replica is behind the log end (0 on the leader). */
  offsetLag: number;
  /** Whether it is a future replica (being moved between log directories). */
  isFuture: boolean;
}

/** One log directory of a broker ({@linkcode Admin.describeLogDirDescriptions}). */
export interface LogDirDescription {
  /** The directory's path on the broker. */
  logDir: string;
  /** Its error (0: none; e.g. `KAFKA_STORAGE_ERROR` for an offline directory). */
  errorCode: number;
  /** Its partition replicas. */
  replicas: ReplicaLogDirInfo[];
}

/** A transaction a coordinator knows ({@linkcode Admin.listTransactions}). */
export interface TransactionListing {
  /** Transactional id. */
  transactionalId: string;
  /** Its current producer id. */
  producerId: number;
  /** Kafka's state name: `Empty`, `Ongoing`, `PrepareCommit`, `CompleteAbort`, ... */
  state: string;
}

/** A transactional id's state at its coordinator ({@linkcode Admin.describeTransactions}). */
export interface TransactionDescription {
  /** The coordinator's node id. */
  coordinatorId: number;
  /** Transactional id. */
  transactionalId: string;
  /** Producer id. */
  producerId: number;
  /** Producer epoch. */
  producerEpoch: number;
  /** Kafka's state name. */
  state: string;
  /** `transaction.timeout.ms` of the producer. */
  transactionTimeoutMs: number;
  /** When the transaction in progress started (ms since the epoch), -1 when none is. */
  transactionStartTimeMs: number;
  /** The partitions of the transaction in progress (or still without their marker). */
  topicPartitions: TopicPartition[];
}

/** A producer a partition's log has state for ({@linkcode Admin.describeProducers}). */
export interface ProducerState {
  /** Producer id. */
  producerId: number;
  /** Producer epoch. */
  producerEpoch: number;
  /** Sequence number of its last record. */
  lastSequence: number;
  /** Timestamp of its last batch. */
  lastTimestamp: number;
  /** Coordinator epoch of its last marker, -1 when it has none. */
  coordinatorEpoch: number;
  /** First offset of its open transaction, -1 when none is open. */
  currentTransactionStartOffset: number;
}

/** The producers of one partition. */
export interface PartitionProducers extends TopicPartition {
  /** Its producers, in the broker's order. */
  activeProducers: ProducerState[];
}

/** A transaction to abort with an ABORT marker ({@linkcode Admin.abortTransaction}). */
export interface AbortTransactionSpec extends TopicPartition {
  /** Producer id of the open transaction. */
  producerId: number;
  /** Its producer epoch. */
  producerEpoch: number;
  /** Coordinator epoch to write in the marker (0 when the producer has none yet). */
  coordinatorEpoch: number;
}

/** A topic's partition, as the reassignment and election methods name it. */
export interface TopicPartition {
  /** Topic. */
  topic: string;
  /** Partition. */
  partition: number;
}

const RESOURCE_TYPE: Record<ConfigResourceType, number> = {
  topic: 2,
  broker: 4,
  "client-metrics": 16,
};
const OPS = { set: 0, delete: 1, append: 2, subtract: 3 } as const;

/** ListGroups v5's type name as a {@linkcode GroupType} (Kafka's names are lower case). */
function groupType(name: string): GroupType | "" {
  const t = name.toLowerCase();
  return t === "classic" || t === "consumer" ? t : "";
}

/** A ConsumerGroupDescribe assignment by topic name, topics and partitions sorted. */
function topicPartitions(a: ConsumerGroupDescribeResponseAssignment): MemberAssignment {
  return a.topicPartitions
    .map((t) => ({ topic: t.topicName, partitions: [...t.partitions].sort((x, y) => x - y) }))
    .sort((x, y) => x.topic < y.topic ? -1 : x.topic > y.topic ? 1 : 0);
}

function fail(code: number, what: string, message: string | null | undefined): KafkaError {
  return new KafkaError(code, message ? `${what} (${message})` : what);
}

/**
 * The admin client.
 *
 * @example
 * ```ts ignore
 * import { Admin, Client } from "../client/mod.ts";
 * const client = new Client({ bootstrapServers: "localhost:9092" });
 * const admin = new Admin(client);
 * await admin.createTopics([{ name: "teste", numPartitions: 3 }]);
 * console.log(await admin.listTopics());
 * await client.close();
 * ```
 */
export class Admin {
  #client: Client;
  #timeoutMs: number;

  /**
   * Creates an admin client.
   *
   * @param client The cluster client.
   * @param options `timeoutMs`: how long the broker may take for topic operations (default
   *   30000).
   */
  constructor(client: Client, options: { timeoutMs?: number } = {}) {
    this.#client = client;
    this.#timeoutMs = options.timeoutMs ?? 30_000;
  }

  async #controller(): Promise<number | "any"> {
    if (this.#client.controllerId < 0) {
      try {
        await this.#client.refreshMetadata([]);
      } catch { /* fall back to any broker */ }
    }
    return this.#client.controllerId >= 0 ? this.#client.controllerId : "any";
  }

  /**
   * Creates topics.
   *
   * @param topics The topics.
   * @param options `validateOnly`: check without creating.
   * @returns What was created, in order.
   * @throws {KafkaError} The first topic's error, e.g. `TOPIC_ALREADY_EXISTS`,
   *   `INVALID_PARTITIONS`, `INVALID_REPLICATION_FACTOR`, `INVALID_CONFIG`.
   */
  async createTopics(
    topics: NewTopic[],
    options: { validateOnly?: boolean } = {},
  ): Promise<CreatedTopic[]> {
    const request = CreateTopicsRequest.create({
      topics: topics.map((t) => ({
        name: t.name,
        numPartitions: t.numPartitions ?? -1,
        replicationFactor: t.replicationFactor ?? -1,
        assignments: [],
        configs: Object.entries(t.configs ?? {}).map(([name, value]) => ({ name, value })),
      })),
      timeoutMs: this.#timeoutMs,
      validateOnly: options.validateOnly ?? false,
    });
    const res = await this.#client.send(
      await this.#controller(),
      { request: CreateTopicsRequest, response: CreateTopicsResponse },
      request,
      { timeoutMs: this.#timeoutMs + 5_000 },
    );
    const out: CreatedTopic[] = [];
    for (const t of topics) {
      const r = res.topics.find((x) => x.name === t.name);
      if (!r) {
        throw new KafkaError(
          ErrorCode.UNKNOWN_SERVER_ERROR,
          `create topic ${t.name}: no result in the response`,
        );
      }
      if (r.errorCode !== 0) throw fail(r.errorCode, `create topic ${t.name}`, r.errorMessage);
      out.push({
        name: r.name,
        topicId: r.topicId,
        numPartitions: r.numPartitions,
        replicationFactor: r.replicationFactor,
      });
    }
    for (const t of topics) this.#client.invalidate(t.name);
    return out;
  }

  /**
   * Deletes topics.
   *
   * @param names Topic names.
   * @throws {KafkaError} The first error, e.g. `UNKNOWN_TOPIC_OR_PARTITION`.
   */
  async deleteTopics(names: string[]): Promise<void> {
    const res = await this.#client.send(
      await this.#controller(),
      { request: DeleteTopicsRequest, response: DeleteTopicsResponse },
      DeleteTopicsRequest.create({
        topicNames: names,
        topics: names.map((name) => ({ name, topicId: "AAAAAAAAAAAAAAAAAAAAAA" })),
        timeoutMs: this.#timeoutMs,
      }),
      { timeoutMs: this.#timeoutMs + 5_000 },
    );
    for (const name of names) this.#client.invalidate(name);
    for (const name of names) {
      const r = res.responses.find((x) => x.name === name);
      if (r && r.errorCode !== 0) throw fail(r.errorCode, `delete topic ${name}`, r.errorMessage);
    }
  }

  /**
   * Lists topic names (internal topics excluded unless asked).
   *
   * @param options `includeInternal`: also list internal topics.
   * @returns The names, sorted.
   * @throws {KafkaError} If no broker answers.
   */
  async listTopics(options: { includeInternal?: boolean } = {}): Promise<string[]> {
    const topics = await this.#client.refreshMetadata();
    return topics.filter((t) => options.includeInternal || !t.internal).map((t) => t.name).sort();
  }

  /**
   * Describes topics: id, partitions, leaders, replicas.
   *
   * @param names Topic names (all topics when omitted).
   * @returns Descriptions in the order asked.
   * @throws {KafkaError} `UNKNOWN_TOPIC_OR_PARTITION` for a missing topic.
   */
  async describeTopics(names?: string[]): Promise<TopicDescription[]> {
    const topics = await this.#client.refreshMetadata(names);
    const wanted = names ?? topics.map((t) => t.name).sort();
    return wanted.map((name) => {
      const t = topics.find((x) => x.name === name) as
        | (TopicInfo & { errorCode?: number })
        | undefined;
      const code = t?.errorCode ?? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
      if (!t || code !== 0) throw new KafkaError(code, `describe topic ${name}`);
      return {
        name: t.name,
        topicId: t.topicId,
        internal: t.internal,
        partitions: t.partitions.map((p) => ({
          partition: p.partition,
          leader: p.leader,
          replicas: p.replicas,
          isr: p.isr,
          offlineReplicas: p.offlineReplicas,
        })),
      };
    });
  }

  /**
   * Describes topics with DescribeTopicPartitions (key 75, KIP-966), paging through the broker's
   * cursor (`next_cursor`) until every partition is described: id, partitions with leader,
   * leader epoch, replicas, ISR, ELR and offline replicas, and the authorized operations. All
   * pages come from one broker.
   *
   * @example
   * ```ts ignore
   * import { Admin, Client } from "../client/mod.ts";
   * const client = new Client({ bootstrapServers: "localhost:9092" });
   * const [t] = await new Admin(client).describeTopicPartitions(["orders"], { partitionLimit: 500 });
   * console.log(t.partitions.length);
   * await client.close();
   * ```
   *
   * @param names Topic names (all topics the principal may describe, sorted, when omitted or
   *   empty).
   * @param options The page size and a per-page callback.
   * @returns Descriptions in the order asked.
   * @throws {KafkaError} `UNSUPPORTED_VERSION` when the broker does not serve the API (fall back
   *   to {@linkcode Admin.describeTopics}); a topic's error, e.g. `UNKNOWN_TOPIC_OR_PARTITION`
   *   or `TOPIC_AUTHORIZATION_FAILED`.
   */
  async describeTopicPartitions(
    names: string[] = [],
    options: DescribeTopicPartitionsOptions = {},
  ): Promise<TopicPartitionsDescription[]> {
    const conn = await this.#client.anyConnection();
    const api = {
      request: DescribeTopicPartitionsRequest,
      response: DescribeTopicPartitionsResponse,
    };
    const found = new Map<string, TopicPartitionsDescription>();
    let cursor: { topicName: string; partitionIndex: number } | null = null;
    for (;;) {
      const res: DescribeTopicPartitionsResponse = await conn.send(
        api,
        DescribeTopicPartitionsRequest.create({
          topics: names.map((name) => ({ name })),
          responsePartitionLimit: options.partitionLimit ?? 2000,
          cursor,
        }),
      );
      let count = 0;
      for (const t of res.topics) {
        const name = t.name ?? "";
        if (t.errorCode !== 0) throw new KafkaError(t.errorCode, `describe topic ${name}`);
        let d = found.get(name);
        if (d === undefined) {
          found.set(
            name,
            d = {
              name,
              topicId: t.topicId,
              internal: t.isInternal,
              partitions: [],
              authorizedOperations: t.topicAuthorizedOperations,
            },
          );
        }
        for (const p of t.partitions) {
          d.partitions.push({
            partition: p.partitionIndex,
            leader: p.leaderId,
            leaderEpoch: p.leaderEpoch,
            replicas: p.replicaNodes,
            isr: p.isrNodes,
            eligibleLeaderReplicas: p.eligibleLeaderReplicas,
            lastKnownElr: p.lastKnownElr,
            offlineReplicas: p.offlineReplicas,
          });
        }
        count += t.partitions.length;
      }
      options.onPage?.(count);
      const next = res.nextCursor;
      if (next === null) break;
      // a cursor that does not move on would ask the same page forever
      if (
        cursor !== null && next.topicName === cursor.topicName &&
        next.partitionIndex <= cursor.partitionIndex
      ) {
        throw new KafkaError(
          ErrorCode.UNKNOWN_SERVER_ERROR,
          `describe topic partitions: the broker's cursor does not advance (${next.topicName} ` +
            `partition ${next.partitionIndex})`,
        );
      }
      cursor = next;
    }
    if (names.length === 0) return [...found.values()];
    return names.map((name) => {
      const d = found.get(name);
      if (d === undefined) {
        throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `describe topic ${name}`);
      }
      return d;
    });
  }

  /**
   * Grows topics to `count` partitions.
   *
   * @param topics Topics and their new partition counts.
   * @param options `validateOnly`: check without changing.
   * @throws {KafkaError} The first error, e.g. `INVALID_PARTITIONS` when shrinking.
   */
  async createPartitions(
    topics: Array<{ topic: string; count: number }>,
    options: { validateOnly?: boolean } = {},
  ): Promise<void> {
    const res = await this.#client.send(
      await this.#controller(),
      { request: CreatePartitionsRequest, response: CreatePartitionsResponse },
      CreatePartitionsRequest.create({
        topics: topics.map((t) => ({ name: t.topic, count: t.count, assignments: null })),
        timeoutMs: this.#timeoutMs,
        validateOnly: options.validateOnly ?? false,
      }),
      { timeoutMs: this.#timeoutMs + 5_000 },
    );
    for (const t of topics) this.#client.invalidate(t.topic);
    for (const t of topics) {
      const r = res.results.find((x) => x.name === t.topic);
      if (r && r.errorCode !== 0) {
        throw fail(r.errorCode, `create partitions for ${t.topic}`, r.errorMessage);
      }
    }
  }

  /**
   * Describes configs of topics or brokers.
   *
   * @param resources The resources.
   * @returns One description per resource, in order.
   * @throws {KafkaError} The first resource error, e.g. `UNKNOWN_TOPIC_OR_PARTITION`.
   */
  async describeConfigs(resources: ConfigResource[]): Promise<ConfigDescription[]> {
    const res = await this.#client.send(
      "any",
      { request: DescribeConfigsRequest, response: DescribeConfigsResponse },
      DescribeConfigsRequest.create({
        resources: resources.map((r) => ({
          resourceType: RESOURCE_TYPE[r.type],
          resourceName: r.name,
          configurationKeys: r.keys ?? null,
        })),
        includeSynonyms: false,
        includeDocumentation: false,
      }),
    );
    return resources.map((r) => {
      const result = res.results.find((x) =>
        x.resourceName === r.name && x.resourceType === RESOURCE_TYPE[r.type]
      );
      if (!result) {
        throw new KafkaError(
          ErrorCode.UNKNOWN_SERVER_ERROR,
          `describe configs of ${r.type} ${r.name}: no result in the response`,
        );
      }
      if (result.errorCode !== 0) {
        throw fail(
          result.errorCode,
          `describe configs of ${r.type} ${r.name}`,
          result.errorMessage,
        );
      }
      return {
        type: r.type,
        name: r.name,
        entries: result.configs.map((c) => ({
          name: c.name,
          value: c.value,
          readOnly: c.readOnly,
          isDefault: c.configSource === 5 || c.isDefault,
          source: CONFIG_SOURCES[c.configSource] ?? "UNKNOWN",
          sensitive: c.isSensitive,
        })),
      };
    });
  }

  /**
   * Changes configs incrementally (IncrementalAlterConfigs).
   *
   * @param resources The changes per resource.
   * @param options `validateOnly`: check without changing.
   * @throws {KafkaError} The first resource error, e.g. `INVALID_CONFIG`.
   */
  async alterConfigs(
    resources: AlterConfigsResource[],
    options: { validateOnly?: boolean } = {},
  ): Promise<void> {
    const res = await this.#client.send(
      "any",
      { request: IncrementalAlterConfigsRequest, response: IncrementalAlterConfigsResponse },
      IncrementalAlterConfigsRequest.create({
        resources: resources.map((r) => ({
          resourceType: RESOURCE_TYPE[r.type],
          resourceName: r.name,
          configs: r.changes.map((c) => ({
            name: c.name,
            configOperation: OPS[c.op ?? "set"],
            value: c.op === "delete" ? null : c.value ?? null,
          })),
        })),
        validateOnly: options.validateOnly ?? false,
      }),
    );
    for (const r of resources) {
      const result = res.responses.find((x) =>
        x.resourceName === r.name && x.resourceType === RESOURCE_TYPE[r.type]
      );
      if (result && result.errorCode !== 0) {
        throw fail(result.errorCode, `alter configs of ${r.type} ${r.name}`, result.errorMessage);
      }
    }
  }

  /**
   * Looks up offsets (earliest, latest, by timestamp) with ListOffsets, at each leader. Each
   * partition is sent with the leader epoch the metadata gives (`current_leader_epoch`, v4+,
   * KIP-320): a leader in another epoch answers FENCED_LEADER_EPOCH or UNKNOWN_LEADER_EPOCH, and
   * the partition is asked again after a metadata refresh.
   *
   * @param queries The partitions and what to look up.
   * @param options `isolationLevel`: `read_committed` makes "latest" the last stable offset
   *   (ListOffsets v2+), as Kafka's `ListOffsetsOptions(IsolationLevel.READ_COMMITTED)`.
   * @returns One answer per query, in order.
   * @throws {KafkaError} The first partition error, e.g. `UNKNOWN_TOPIC_OR_PARTITION`.
   */
  async listOffsets(
    queries: OffsetQuery[],
    options: { isolationLevel?: "read_uncommitted" | "read_committed" } = {},
  ): Promise<PartitionOffset[]> {
    const isolationLevel = options.isolationLevel === "read_committed" ? 1 : 0;
    const out: PartitionOffset[] = new Array(queries.length);
    let pending = queries.map((q, i) => ({ q, i, epoch: -1 }));
    for (let attempt = 0; pending.length > 0; attempt++) {
      const byLeader = new Map<number, typeof pending>();
      for (const item of pending) {
        const { leader, leaderEpoch } = await this.#client.leaderAndEpoch(
          item.q.topic,
          item.q.partition,
        );
        item.epoch = leaderEpoch;
        const list = byLeader.get(leader) ?? [];
        list.push(item);
        byLeader.set(leader, list);
      }
      const retry: typeof pending = [];
      let retryError: KafkaError | undefined;
      await Promise.all([...byLeader].map(async ([leader, items]) => {
        const topics = new Map<string, typeof items>();
        for (const it of items) topics.set(it.q.topic, [...(topics.get(it.q.topic) ?? []), it]);
        const conn = await this.#client.connectionTo(leader);
        const version = conn.versionFor(ListOffsetsRequest);
        const res = await conn.send(
          { request: ListOffsetsRequest, response: ListOffsetsResponse },
          ListOffsetsRequest.create({
            replicaId: -1,
            isolationLevel,
            topics: [...topics].map(([name, its]) => ({
              name,
              partitions: its.map((it) => ({
                partitionIndex: it.q.partition,
                currentLeaderEpoch: version >= 4 ? it.epoch : -1,
                timestamp: specTimestamp(it.q.spec),
                maxNumOffsets: 1,
              })),
            })),
          }),
          { version },
        );
        for (const it of items) {
          const p = res.topics.find((t) => t.name === it.q.topic)?.partitions
            .find((x) => x.partitionIndex === it.q.partition);
          const code = p ? p.errorCode : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
          if (code !== 0) {
            const e = new KafkaError(code, `list offsets of ${it.q.topic}-${it.q.partition}`);
            if (isStaleMetadataError(code) && attempt < this.#client.options.retries) {
              retry.push(it);
              retryError = e;
              continue;
            }
            throw e;
          }
          out[it.i] = {
            topic: it.q.topic,
            partition: it.q.partition,
            offset: p!.offset >= 0 || p!.oldStyleOffsets.length === 0
              ? p!.offset
              : p!.oldStyleOffsets[0],
            timestamp: p!.timestamp,
            leaderEpoch: version >= 4 ? p!.leaderEpoch : -1,
          };
        }
      }));
      if (retry.length > 0) {
        for (const it of retry) this.#client.invalidate(it.q.topic);
        await this.#client.backoff(attempt);
        if (!retryError) break;
      }
      pending = retry;
    }
    return out;
  }

  /**
   * Deletes records below the given offsets (DeleteRecords), at each leader.
   *
   * @param specs Partitions and new start offsets.
   * @returns The new low watermarks, in order.
   * @throws {KafkaError} The first partition error, e.g. `OFFSET_OUT_OF_RANGE`.
   */
  async deleteRecords(specs: DeleteRecordsSpec[]): Promise<DeletedRecords[]> {
    const byLeader = new Map<number, Array<{ s: DeleteRecordsSpec; i: number }>>();
    for (const [i, s] of specs.entries()) {
      const leader = await this.#client.leaderFor(s.topic, s.partition);
      byLeader.set(leader, [...(byLeader.get(leader) ?? []), { s, i }]);
    }
    const out: DeletedRecords[] = new Array(specs.length);
    await Promise.all([...byLeader].map(async ([leader, items]) => {
      const topics = new Map<string, typeof items>();
      for (const it of items) topics.set(it.s.topic, [...(topics.get(it.s.topic) ?? []), it]);
      const res = await this.#client.send(
        leader,
        { request: DeleteRecordsRequest, response: DeleteRecordsResponse },
        DeleteRecordsRequest.create({
          topics: [...topics].map(([name, its]) => ({
            name,
            partitions: its.map((it) => ({ partitionIndex: it.s.partition, offset: it.s.offset })),
          })),
          timeoutMs: this.#timeoutMs,
        }),
        { timeoutMs: this.#timeoutMs + 5_000 },
      );
      for (const it of items) {
        const p = res.topics.find((t) => t.name === it.s.topic)?.partitions
          .find((x) => x.partitionIndex === it.s.partition);
        const code = p ? p.errorCode : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
        if (code !== 0) {
          throw new KafkaError(code, `delete records of ${it.s.topic}-${it.s.partition}`);
        }
        out[it.i] = { topic: it.s.topic, partition: it.s.partition, lowWatermark: p!.lowWatermark };
      }
    }));
    return out;
  }

  /**
   * The partition replicas a broker holds, with their sizes (DescribeLogDirs), like Kafka's
   * `Admin.describeLogDirs`.
   *
   * @param nodeId The broker.
   * @param topics Only these topics' partitions (default: every partition).
   * @returns One entry per replica, in the broker's order.
   * @throws {KafkaError} The broker's error, or a log directory's (e.g. `KAFKA_STORAGE_ERROR`).
   */
  async describeLogDirs(nodeId: number, topics?: TopicPartition[]): Promise<ReplicaLogDirInfo[]> {
    const out: ReplicaLogDirInfo[] = [];
    for (const d of await this.describeLogDirDescriptions(nodeId, topics)) {
      if (d.errorCode !== 0) {
        throw new KafkaError(d.errorCode, `describe log dir ${d.logDir} of broker ${nodeId}`);
      }
      out.push(...d.replicas);
    }
    return out;
  }

  /**
   * A broker's log directories, each with its error and its partition replicas
   * (DescribeLogDirs), as Kafka's `Admin.describeLogDirs(...).allDescriptions()`: a directory
   * that failed is listed with its error instead of failing the call.
   *
   * @param nodeId The broker.
   * @param topics Only these topics' partitions (default: every partition).
   * @returns One entry per log directory, in the broker's order.
   * @throws {KafkaError} The broker's error (e.g. `CLUSTER_AUTHORIZATION_FAILED`).
   */
  async describeLogDirDescriptions(
    nodeId: number,
    topics?: TopicPartition[],
  ): Promise<LogDirDescription[]> {
    let filter: { topic: string; partitions: number[] }[] | null = null;
    if (topics !== undefined) {
      const byTopic = new Map<string, number[]>();
      for (const t of topics) byTopic.set(t.topic, [...(byTopic.get(t.topic) ?? []), t.partition]);
      filter = [...byTopic].map(([topic, partitions]) => ({ topic, partitions }));
    }
    const res = await this.#client.send(
      nodeId,
      { request: DescribeLogDirsRequest, response: DescribeLogDirsResponse },
      DescribeLogDirsRequest.create({ topics: filter }),
    );
    if (res.errorCode !== 0) {
      throw new KafkaError(res.errorCode, `describe log dirs of broker ${nodeId}`);
    }
    return res.results.map((d) => ({
      logDir: d.logDir,
      errorCode: d.errorCode,
      replicas: d.topics.flatMap((t) =>
        t.partitions.map((p) => ({
          topic: t.name,
          partition: p.partitionIndex,
          logDir: d.logDir,
          size: p.partitionSize,
          offsetLag: p.offsetLag,
          isFuture: p.isFutureKey,
        }))
      ),
    }));
  }

  /**
   * Lists the transactions of every broker's transaction coordinator (ListTransactions), as
   * Kafka's `Admin.listTransactions(...).allByBrokerId()`.
   *
   * @param options `states`, `producerIds`: only these (empty: all); `durationMs`: only
   *   transactions running longer than this (ListTransactions v1).
   * @returns The transactions by coordinator node id, brokers in id order.
   * @throws {KafkaError} A broker's error, e.g. `COORDINATOR_LOAD_IN_PROGRESS`.
   */
  async listTransactions(
    options: { states?: string[]; producerIds?: number[]; durationMs?: number } = {},
  ): Promise<Map<number, TransactionListing[]>> {
    await this.#client.refreshMetadata([]);
    const brokers = this.#client.brokers.map((b) => b.nodeId).sort((a, b) => a - b);
    const answers = await Promise.all(brokers.map((id) =>
      this.#client.send(
        id,
        { request: ListTransactionsRequest, response: ListTransactionsResponse },
        ListTransactionsRequest.create({
          stateFilters: options.states ?? [],
          producerIdFilters: options.producerIds ?? [],
          durationFilter: options.durationMs ?? -1,
        }),
      )
    ));
    const out = new Map<number, TransactionListing[]>();
    for (const [i, res] of answers.entries()) {
      if (res.errorCode !== 0) {
        throw new KafkaError(res.errorCode, `list transactions of broker ${brokers[i]}`);
      }
      out.set(
        brokers[i],
        res.transactionStates.map((t) => ({
          transactionalId: t.transactionalId,
          producerId: t.producerId,
          state: t.transactionState,
        })),
      );
    }
    return out;
  }

  /**
   * Describes transactional ids at their coordinators (FindCoordinator, DescribeTransactions).
   *
   * @param transactionalIds The ids.
   * @returns One description per id, in order.
   * @throws {KafkaError} The first id's error, e.g. `TRANSACTIONAL_ID_NOT_FOUND`.
   */
  async describeTransactions(transactionalIds: string[]): Promise<TransactionDescription[]> {
    return await Promise.all(transactionalIds.map(async (id) => {
      const coordinatorId = await findCoordinator(
        this.#client,
        COORDINATOR_KEY_TYPE.transaction,
        id,
        this.#client.options.retries,
        `find coordinator of transactional id ${id}`,
      );
      const res = await this.#client.send(
        coordinatorId,
        { request: DescribeTransactionsRequest, response: DescribeTransactionsResponse },
        DescribeTransactionsRequest.create({ transactionalIds: [id] }),
      );
      const t = res.transactionStates.find((x) => x.transactionalId === id);
      const code = t ? t.errorCode : ErrorCode.UNKNOWN_SERVER_ERROR;
      if (code !== 0) throw new KafkaError(code, `describe transactional id ${id}`);
      return {
        coordinatorId,
        transactionalId: id,
        producerId: t!.producerId,
        producerEpoch: t!.producerEpoch,
        state: t!.transactionState,
        transactionTimeoutMs: t!.transactionTimeoutMs,
        transactionStartTimeMs: t!.transactionStartTimeMs,
        topicPartitions: t!.topics.flatMap((d) =>
          d.partitions.map((partition) => ({ topic: d.topic, partition }))
        ),
      };
    }));
  }

  /**
   * The producers each partition's log has state for (DescribeProducers), asked of each
   * partition's leader, or of `brokerId` (a follower's state), as Kafka's
   * `Admin.describeProducers`.
   *
   * @param partitions The partitions.
   * @param options `brokerId`: ask this broker instead of the leaders.
   * @returns One entry per partition, in order.
   * @throws {KafkaError} The first partition error, e.g. `NOT_LEADER_OR_FOLLOWER`.
   */
  async describeProducers(
    partitions: TopicPartition[],
    options: { brokerId?: number } = {},
  ): Promise<PartitionProducers[]> {
    const byNode = new Map<number, Array<{ tp: TopicPartition; i: number }>>();
    for (const [i, tp] of partitions.entries()) {
      const node = options.brokerId ?? await this.#client.leaderFor(tp.topic, tp.partition);
      byNode.set(node, [...(byNode.get(node) ?? []), { tp, i }]);
    }
    const out: PartitionProducers[] = new Array(partitions.length);
    await Promise.all([...byNode].map(async ([node, items]) => {
      const topics = new Map<string, number[]>();
      for (const { tp } of items) {
        topics.set(tp.topic, [...(topics.get(tp.topic) ?? []), tp.partition]);
      }
      const res = await this.#client.send(
        node,
        { request: DescribeProducersRequest, response: DescribeProducersResponse },
        DescribeProducersRequest.create({
          topics: [...topics].map(([name, partitionIndexes]) => ({ name, partitionIndexes })),
        }),
      );
      for (const { tp, i } of items) {
        const p = res.topics.find((t) => t.name === tp.topic)?.partitions
          .find((x) => x.partitionIndex === tp.partition);
        const code = p ? p.errorCode : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
        if (code !== 0) {
          throw fail(code, `describe producers of ${tp.topic}-${tp.partition}`, p?.errorMessage);
        }
        out[i] = {
          topic: tp.topic,
          partition: tp.partition,
          activeProducers: p!.activeProducers.map((s) => ({
            producerId: s.producerId,
            producerEpoch: s.producerEpoch,
            lastSequence: s.lastSequence,
            lastTimestamp: s.lastTimestamp,
            coordinatorEpoch: s.coordinatorEpoch,
            currentTransactionStartOffset: s.currentTxnStartOffset,
          })),
        };
      }
    }));
    return out;
  }

  /**
   * Aborts a hanging transaction on one partition by writing an ABORT marker at its leader
   * (WriteTxnMarkers, which needs CLUSTER_ACTION on the cluster), as Kafka's
   * `Admin.abortTransaction`.
   *
   * @param spec The partition and the producer of the open transaction.
   * @throws {KafkaError} The leader's error, e.g. `CLUSTER_AUTHORIZATION_FAILED`,
   *   `INVALID_PRODUCER_EPOCH`, `TRANSACTION_COORDINATOR_FENCED`.
   */
  async abortTransaction(spec: AbortTransactionSpec): Promise<void> {
    const leader = await this.#client.leaderFor(spec.topic, spec.partition);
    const res = await this.#client.send(
      leader,
      { request: WriteTxnMarkersRequest, response: WriteTxnMarkersResponse },
      WriteTxnMarkersRequest.create({
        markers: [{
          producerId: spec.producerId,
          producerEpoch: spec.producerEpoch,
          transactionResult: false,
          topics: [{ name: spec.topic, partitionIndexes: [spec.partition] }],
          coordinatorEpoch: spec.coordinatorEpoch,
        }],
      }),
    );
    const p = res.markers.find((m) => m.producerId === spec.producerId)?.topics
      .find((t) => t.name === spec.topic)?.partitions
      .find((x) => x.partitionIndex === spec.partition);
    const code = p ? p.errorCode : ErrorCode.UNKNOWN_SERVER_ERROR;
    if (code !== 0) {
      throw new KafkaError(code, `abort transaction on ${spec.topic}-${spec.partition}`);
    }
  }

  /**
   * Describes the cluster: id, controller and brokers (DescribeCluster).  /**
   * Describes the cluster: id, controller and brokers (DescribeCluster).
   *
   * @returns The cluster.
   * @throws {KafkaError} The broker's error.
   */
  async describeCluster(): Promise<ClusterDescription> {
    const res = await this.#client.send(
      "any",
      { request: DescribeClusterRequest, response: DescribeClusterResponse },
      DescribeClusterRequest.create({ includeClusterAuthorizedOperations: false, endpointType: 1 }),
    );
    if (res.errorCode !== 0) throw fail(res.errorCode, "describe cluster", res.errorMessage);
    return {
      clusterId: res.clusterId,
      controllerId: res.controllerId,
      brokers: res.brokers.map((b) => ({
        nodeId: b.brokerId,
        host: b.host,
        port: b.port,
        rack: b.rack,
      })),
    };
  }
  /**
   * Elects leaders (ElectLeaders): the preferred replica (the first of each partition's
   * replicas, when it is alive and in the ISR) or, `unclean`, any live replica of a partition
   * that has no live leader. Partitions a fenced broker answers NOT_CONTROLLER for are asked
   * again, after a backoff, up to the client's `retries`.
   *
   * @example
   * ```ts ignore
   * const results = await admin.electLeaders("preferred", [{ topic: "orders", partition: 0 }]);
   * for (const r of results) console.log(r.topic, r.partition, r.error?.message ?? "elected");
   * ```
   *
   * @param type `preferred` or `unclean`.
   * @param partitions The partitions, or `null` for every partition (then only those elected
   *   or refused for another reason than `ELECTION_NOT_NEEDED` are answered).
   * @returns One outcome per partition answered: `error` null when elected, else e.g.
   *   `ELECTION_NOT_NEEDED`, `PREFERRED_LEADER_NOT_AVAILABLE`, `ELIGIBLE_LEADERS_NOT_AVAILABLE`,
   *   `UNKNOWN_TOPIC_OR_PARTITION`.
   * @throws {KafkaError} The request's own error (e.g. the broker does not serve ElectLeaders).
   */
  async electLeaders(
    type: ElectionType,
    partitions: TopicPartition[] | null,
  ): Promise<PartitionOutcome[]> {
    return await this.#retryNotController(
      partitions,
      (ps) => this.#electLeadersOnce(type, ps),
    );
  }

  /**
   * Runs a per-partition operation, and again (after a backoff and a metadata refresh, up to the
   * client's `retries`) for the partitions a broker answered NOT_CONTROLLER for (it was fenced:
   * another broker will do).
   */
  async #retryNotController<T extends TopicPartition>(
    items: T[] | null,
    once: (items: T[] | null) => Promise<PartitionOutcome[]>,
  ): Promise<PartitionOutcome[]> {
    let results = await once(items);
    for (let attempt = 0; attempt < this.#client.options.retries; attempt++) {
      const again = results.filter((r) => r.error?.code === ErrorCode.NOT_CONTROLLER);
      if (again.length === 0) break;
      await this.#client.backoff(attempt);
      await this.#client.refreshMetadata([]).catch(() => {});
      const key = (p: TopicPartition) => `${p.topic}\u0000${p.partition}`;
      const wanted = new Set(again.map(key));
      const subset = items === null
        ? again.map((r) => ({ topic: r.topic, partition: r.partition }) as T)
        : items.filter((i) => wanted.has(key(i)));
      const retried = new Map((await once(subset)).map((r) => [key(r), r]));
      results = results.map((r) => retried.get(key(r)) ?? r);
    }
    return results;
  }

  async #electLeadersOnce(
    type: ElectionType,
    partitions: TopicPartition[] | null,
  ): Promise<PartitionOutcome[]> {
    const byTopic = new Map<string, number[]>();
    for (const p of partitions ?? []) {
      let list = byTopic.get(p.topic);
      if (list === undefined) byTopic.set(p.topic, list = []);
      list.push(p.partition);
    }
    const res = await this.#client.send(
      await this.#controller(),
      { request: ElectLeadersRequest, response: ElectLeadersResponse },
      ElectLeadersRequest.create({
        electionType: type === "unclean" ? 1 : 0,
        topicPartitions: partitions === null
          ? null
          : [...byTopic].map(([topic, ps]) => ({ topic, partitions: ps })),
        timeoutMs: this.#timeoutMs,
      }),
      { timeoutMs: this.#timeoutMs + 5_000 },
    );
    if (res.errorCode !== 0) throw fail(res.errorCode, "elect leaders", null);
    for (const p of partitions ?? []) this.#client.invalidate(p.topic);
    return res.replicaElectionResults.flatMap((t) =>
      t.partitionResult.map((p) => ({
        topic: t.topic,
        partition: p.partitionId,
        error: p.errorCode === 0
          ? null
          : fail(p.errorCode, `elect leader of ${t.topic}-${p.partitionId}`, p.errorMessage),
      }))
    );
  }

  /**
   * Starts, replaces or cancels partition reassignments (AlterPartitionReassignments): each
   * partition's replicas move to the target while clients keep running; the call answers once
   * the reassignments are started (see {@linkcode Admin.listPartitionReassignments}).
   * Partitions a fenced broker answers NOT_CONTROLLER for are asked again, after a backoff, up
   * to the client's `retries`.
   *
   * @example
   * ```ts ignore
   * await admin.alterPartitionReassignments([{ topic: "orders", partition: 0, replicas: [4, 2, 3] }]);
   * ```
   *
   * @param changes The partitions and their target replicas (`null`: cancel).
   * @returns One outcome per partition, in order: `error` null when started, else e.g.
   *   `INVALID_REPLICA_ASSIGNMENT`, `NO_REASSIGNMENT_IN_PROGRESS`,
   *   `UNKNOWN_TOPIC_OR_PARTITION`.
   * @throws {KafkaError} The request's own error.
   */
  async alterPartitionReassignments(
    changes: PartitionReassignmentSpec[],
  ): Promise<PartitionOutcome[]> {
    return await this.#retryNotController(
      changes,
      (cs) => this.#alterPartitionReassignmentsOnce(cs ?? []),
    );
  }

  async #alterPartitionReassignmentsOnce(
    changes: PartitionReassignmentSpec[],
  ): Promise<PartitionOutcome[]> {
    const byTopic = new Map<string, { partitionIndex: number; replicas: number[] | null }[]>();
    for (const c of changes) {
      let list = byTopic.get(c.topic);
      if (list === undefined) byTopic.set(c.topic, list = []);
      list.push({ partitionIndex: c.partition, replicas: c.replicas });
    }
    const res = await this.#client.send(
      await this.#controller(),
      {
        request: AlterPartitionReassignmentsRequest,
        response: AlterPartitionReassignmentsResponse,
      },
      AlterPartitionReassignmentsRequest.create({
        timeoutMs: this.#timeoutMs,
        topics: [...byTopic].map(([name, partitions]) => ({ name, partitions })),
      }),
      { timeoutMs: this.#timeoutMs + 5_000 },
    );
    if (res.errorCode !== 0) {
      throw fail(res.errorCode, "alter partition reassignments", res.errorMessage);
    }
    for (const c of changes) this.#client.invalidate(c.topic);
    return changes.map((c) => {
      const p = res.responses.find((t) => t.name === c.topic)?.partitions.find((x) =>
        x.partitionIndex === c.partition
      );
      const code = p?.errorCode ?? ErrorCode.UNKNOWN_SERVER_ERROR;
      return {
        topic: c.topic,
        partition: c.partition,
        error: code === 0
          ? null
          : fail(code, `reassign ${c.topic}-${c.partition}`, p?.errorMessage ?? "no answer"),
      };
    });
  }

  /**
   * Lists the reassignments in progress (ListPartitionReassignments).
   *
   * @param partitions Only these (default: all).
   * @returns The reassignments in progress, by topic and partition.
   * @throws {KafkaError} The request's own error.
   */
  async listPartitionReassignments(
    partitions?: TopicPartition[],
  ): Promise<PartitionReassignment[]> {
    const byTopic = new Map<string, number[]>();
    for (const p of partitions ?? []) {
      let list = byTopic.get(p.topic);
      if (list === undefined) byTopic.set(p.topic, list = []);
      list.push(p.partition);
    }
    const res = await this.#client.send(
      await this.#controller(),
      {
        request: ListPartitionReassignmentsRequest,
        response: ListPartitionReassignmentsResponse,
      },
      ListPartitionReassignmentsRequest.create({
        timeoutMs: this.#timeoutMs,
        topics: partitions === undefined
          ? null
          : [...byTopic].map(([name, partitionIndexes]) => ({ name, partitionIndexes })),
      }),
    );
    if (res.errorCode !== 0) {
      throw fail(res.errorCode, "list partition reassignments", res.errorMessage);
    }
    return res.topics.flatMap((t) =>
      t.partitions.map((p) => ({
        topic: t.name,
        partition: p.partitionIndex,
        replicas: p.replicas,
        addingReplicas: p.addingReplicas,
        removingReplicas: p.removingReplicas,
      }))
    ).sort((a, b) => a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition);
  }

  #coordinator(groupId: string): Promise<number> {
    return findCoordinator(
      this.#client,
      COORDINATOR_KEY_TYPE.group,
      groupId,
      this.#client.options.retries,
      `find coordinator of group ${groupId}`,
    );
  }

  /**
   * Lists the groups of every broker (ListGroups).
   *
   * @param options `states`: only groups in these states (e.g. `["Stable", "Empty"]`); `types`:
   *   only groups of these types (`classic`, `consumer`; ListGroups v5, as Kafka's
   *   `ListConsumerGroupsOptions.withTypes`).
   * @returns The groups, sorted by id, each with its type.
   * @throws {KafkaError} A broker's error, e.g. `COORDINATOR_LOAD_IN_PROGRESS`.
   */
  async listGroups(
    options: { states?: string[]; types?: GroupType[] } = {},
  ): Promise<ConsumerGroupListing[]> {
    await this.#client.refreshMetadata([]);
    const nodes = this.#client.brokers.map((b) => b.nodeId);
    const states = options.states ?? [];
    const types = options.types ?? [];
    const lists = await Promise.all(nodes.map(async (node) => {
      const conn = await this.#client.connectionTo(node);
      const version = conn.versionFor(ListGroupsRequest);
      const res = await conn.send(
        { request: ListGroupsRequest, response: ListGroupsResponse },
        ListGroupsRequest.create({
          ...(version >= 4 ? { statesFilter: states } : {}),
          ...(version >= 5 ? { typesFilter: types } : {}),
        }),
        { version },
      );
      if (res.errorCode !== 0) throw fail(res.errorCode, `list groups on broker ${node}`, null);
      return res.groups.map((g): ConsumerGroupListing => ({
        groupId: g.groupId,
        protocolType: g.protocolType,
        state: g.groupState,
        type: version >= 5 ? groupType(g.groupType) : "",
      }));
    }));
    const wanted = states.map((s) => s.toLowerCase());
    return lists.flat()
      .filter((g) =>
        wanted.length === 0 || g.state === "" || wanted.includes(g.state.toLowerCase())
      )
      // a broker before v5 knows only classic groups
      .filter((g) => types.length === 0 || types.includes(g.type === "" ? "classic" : g.type))
      .sort((a, b) => a.groupId < b.groupId ? -1 : a.groupId > b.groupId ? 1 : 0);
  }

  /**
   * Describes groups as Kafka's `Admin.describeConsumerGroups` does: ConsumerGroupDescribe
   * first, for `consumer`-type (KIP-848) groups: state, group and target assignment epochs, the
   * broker's assignor, each member's epoch, subscription, current and target assignment; for a
   * group the broker answers GROUP_ID_NOT_FOUND (a classic or unknown group) or UNSUPPORTED_VERSION
   * (or a broker without ConsumerGroupDescribe), DescribeGroups: state, protocol, members with
   * their client ids, hosts, subscriptions and decoded assignments. An unknown group is
   * described with state `Dead` and no members, as Kafka's DescribeGroups before v6 does.
   *
   * @example
   * ```ts ignore
   * import { Admin, Client } from "./mod.ts";
   * const client = new Client({ bootstrapServers: "localhost:9092" });
   * const [g] = await new Admin(client).describeGroups(["orders-app"]);
   * console.log(g.type, g.state, g.groupEpoch, g.members.map((m) => m.targetAssignment));
   * await client.close();
   * ```
   *
   * @param groupIds Group ids.
   * @returns Descriptions in the order asked.
   * @throws {KafkaError} A group's error, e.g. `COORDINATOR_NOT_AVAILABLE`,
   *   `GROUP_AUTHORIZATION_FAILED`.
   */
  async describeGroups(groupIds: string[]): Promise<ConsumerGroupDescription[]> {
    return await Promise.all(groupIds.map(async (groupId) => {
      const coordinator = await this.#coordinator(groupId);
      return await this.#describeConsumerGroup(groupId, coordinator) ??
        await this.#describeClassicGroup(groupId, coordinator);
    }));
  }

  /** ConsumerGroupDescribe; `null` when the group is to be asked with DescribeGroups. */
  async #describeConsumerGroup(
    groupId: string,
    coordinator: number,
  ): Promise<ConsumerGroupDescription | null> {
    let res: ConsumerGroupDescribeResponse;
    try {
      res = await this.#client.send(
        coordinator,
        { request: ConsumerGroupDescribeRequest, response: ConsumerGroupDescribeResponse },
        ConsumerGroupDescribeRequest.create({ groupIds: [groupId] }),
      );
    } catch (e) {
      // a broker without ConsumerGroupDescribe (no common version)
      if (e instanceof KafkaError && e.code === ErrorCode.UNSUPPORTED_VERSION) return null;
      throw e;
    }
    const g = res.groups.find((x) => x.groupId === groupId);
    if (!g) {
      throw new KafkaError(
        ErrorCode.UNKNOWN_SERVER_ERROR,
        `describe group ${groupId}: no result in the response`,
      );
    }
    if (
      g.errorCode === ErrorCode.GROUP_ID_NOT_FOUND || g.errorCode === ErrorCode.UNSUPPORTED_VERSION
    ) return null;
    if (g.errorCode !== 0) throw fail(g.errorCode, `describe group ${groupId}`, g.errorMessage);
    return {
      groupId,
      type: "consumer",
      state: g.groupState,
      protocolType: "consumer",
      protocol: g.assignorName,
      coordinator,
      groupEpoch: g.groupEpoch,
      targetAssignmentEpoch: g.assignmentEpoch,
      members: g.members.map((m) => ({
        memberId: m.memberId,
        groupInstanceId: m.instanceId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        subscription: [...m.subscribedTopicNames].sort(),
        subscribedTopicRegex: m.subscribedTopicRegex,
        assignment: topicPartitions(m.assignment),
        targetAssignment: topicPartitions(m.targetAssignment),
        memberEpoch: m.memberEpoch,
      })),
    };
  }

  async #describeClassicGroup(
    groupId: string,
    coordinator: number,
  ): Promise<ConsumerGroupDescription> {
    const res = await this.#client.send(
      coordinator,
      { request: DescribeGroupsRequest, response: DescribeGroupsResponse },
      DescribeGroupsRequest.create({ groups: [groupId] }),
    );
    const g = res.groups.find((x) => x.groupId === groupId);
    if (!g) {
      throw new KafkaError(
        ErrorCode.UNKNOWN_SERVER_ERROR,
        `describe group ${groupId}: no result in the response`,
      );
    }
    if (g.errorCode !== 0) throw new KafkaError(g.errorCode, `describe group ${groupId}`);
    const consumer = g.protocolType === "consumer";
    return {
      groupId,
      type: "classic",
      state: g.groupState,
      protocolType: g.protocolType,
      protocol: g.protocolData,
      coordinator,
      groupEpoch: null,
      targetAssignmentEpoch: null,
      members: g.members.map((m) => ({
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        subscription: consumer && m.memberMetadata.length > 0
          ? orEmpty(() => decodeSubscription(m.memberMetadata).topics)
          : [],
        subscribedTopicRegex: null,
        assignment: consumer ? orEmpty(() => decodeAssignment(m.memberAssignment)) : [],
        targetAssignment: null,
        memberEpoch: null,
      })),
    };
  }

  /**
   * Committed offsets of a group (OffsetFetch at its coordinator).
   *
   * @param groupId Group id.
   * @param partitions Only these partitions (default: every partition with a committed offset).
   * @returns The committed offsets, sorted by topic and partition (partitions asked for with no
   *   committed offset are left out), each with its committed leader epoch (`null` when none).
   * @throws {KafkaError} The group's error, e.g. `GROUP_AUTHORIZATION_FAILED`.
   */
  async listConsumerGroupOffsets(
    groupId: string,
    partitions?: TopicPartition[],
  ): Promise<CommittedOffset[]> {
    const coordinator = await this.#coordinator(groupId);
    const conn = await this.#client.connectionTo(coordinator);
    const version = conn.versionFor(OffsetFetchRequest);
    let topics: Array<{ name: string; partitionIndexes: number[] }> | null = null;
    if (partitions) {
      const byTopic = new Map<string, number[]>();
      for (const p of partitions) {
        byTopic.set(p.topic, [...(byTopic.get(p.topic) ?? []), p.partition]);
      }
      topics = [...byTopic].map(([name, partitionIndexes]) => ({ name, partitionIndexes }));
    }
    if (topics === null && version < 2) {
      throw new KafkaError(
        ErrorCode.UNSUPPORTED_VERSION,
        `list offsets of group ${groupId}: the broker cannot list all partitions (OffsetFetch v${version})`,
      );
    }
    const res = await conn.send(
      { request: OffsetFetchRequest, response: OffsetFetchResponse },
      OffsetFetchRequest.create(
        version >= 8
          ? { groups: [{ groupId, memberId: null, memberEpoch: -1, topics }] }
          : { groupId, topics },
      ),
      { version },
    );
    const code = version >= 8 ? res.groups[0]?.errorCode ?? 0 : res.errorCode;
    if (code !== 0) throw new KafkaError(code, `list offsets of group ${groupId}`);
    const resTopics = version >= 8 ? res.groups[0]?.topics ?? [] : res.topics;
    const out: CommittedOffset[] = [];
    for (const t of resTopics) {
      for (const p of t.partitions) {
        if (p.errorCode !== 0) {
          throw new KafkaError(
            p.errorCode,
            `list offsets of group ${groupId} (${t.name}-${p.partitionIndex})`,
          );
        }
        if (p.committedOffset < 0) continue;
        out.push({
          topic: t.name,
          partition: p.partitionIndex,
          offset: p.committedOffset,
          metadata: p.metadata,
          leaderEpoch: version >= 5 && p.committedLeaderEpoch >= 0 ? p.committedLeaderEpoch : null,
        });
      }
    }
    return out.sort((a, b) =>
      a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition
    );
  }

  /**
   * Sets committed offsets of a group that has no active members (OffsetCommit with generation
   * -1 and no member id, like Kafka's `alterConsumerGroupOffsets`).
   *
   * @param groupId Group id.
   * @param offsets The offsets to commit.
   * @throws {RangeError} On a negative or non-integer offset.
   * @throws {KafkaError} `NON_EMPTY_GROUP` when the group has active members; a partition's
   *   error, e.g. `UNKNOWN_TOPIC_OR_PARTITION`.
   */
  async alterConsumerGroupOffsets(
    groupId: string,
    offsets: Array<TopicPartition & { offset: number; metadata?: string | null }>,
  ): Promise<void> {
    for (const o of offsets) {
      if (!Number.isSafeInteger(o.offset) || o.offset < 0) {
        throw new RangeError(
          `alter offsets of group ${groupId}: invalid offset ${o.offset} for ${o.topic}-${o.partition}`,
        );
      }
    }
    if (offsets.length === 0) return;
    const coordinator = await this.#coordinator(groupId);
    const byTopic = new Map<string, typeof offsets>();
    for (const o of offsets) byTopic.set(o.topic, [...(byTopic.get(o.topic) ?? []), o]);
    const res = await this.#client.send(
      coordinator,
      { request: OffsetCommitRequest, response: OffsetCommitResponse },
      OffsetCommitRequest.create({
        groupId,
        generationIdOrMemberEpoch: -1,
        memberId: "",
        topics: [...byTopic].map(([name, os]) => ({
          name,
          partitions: os.map((o) => ({
            partitionIndex: o.partition,
            committedOffset: o.offset,
            committedLeaderEpoch: -1,
            commitTimestamp: -1,
            committedMetadata: o.metadata ?? "",
          })),
        })),
      }),
    );
    for (const t of res.topics) {
      for (const p of t.partitions) {
        if (p.errorCode === 0) continue;
        if (
          p.errorCode === ErrorCode.UNKNOWN_MEMBER_ID ||
          p.errorCode === ErrorCode.ILLEGAL_GENERATION ||
          p.errorCode === ErrorCode.REBALANCE_IN_PROGRESS
        ) {
          const [d] = await this.describeGroups([groupId]).catch(() => [undefined]);
          throw new KafkaError(
            ErrorCode.NON_EMPTY_GROUP,
            `alter offsets of group ${groupId}: the group has active members (state ${
              d?.state ?? "unknown"
            }, ${d?.members.length ?? "?"} members); stop them first`,
          );
        }
        throw new KafkaError(
          p.errorCode,
          `alter offsets of group ${groupId} (${t.name}-${p.partitionIndex})`,
        );
      }
    }
  }

  /**
   * Deletes groups with no active members, with their committed offsets (DeleteGroups).
   *
   * @param groupIds Group ids.
   * @throws {KafkaError} The first group's error: `NON_EMPTY_GROUP` for a group with members,
   *   `GROUP_ID_NOT_FOUND` for an unknown group.
   */
  async deleteConsumerGroups(groupIds: string[]): Promise<void> {
    for (const groupId of groupIds) {
      const coordinator = await this.#coordinator(groupId);
      const res = await this.#client.send(
        coordinator,
        { request: DeleteGroupsRequest, response: DeleteGroupsResponse },
        DeleteGroupsRequest.create({ groupsNames: [groupId] }),
      );
      const r = res.results.find((x) => x.groupId === groupId);
      const code = r ? r.errorCode : ErrorCode.UNKNOWN_SERVER_ERROR;
      if (code !== 0) throw new KafkaError(code, `delete group ${groupId}`);
    }
  }

  /**
   * Deletes committed offsets of some partitions of a group (OffsetDelete); refused for topics
   * the group's active members subscribe to.
   *
   * @param groupId Group id.
   * @param partitions The partitions.
   * @throws {KafkaError} `GROUP_ID_NOT_FOUND`, `GROUP_SUBSCRIBED_TO_TOPIC`, or a partition's
   *   error.
   */
  async deleteConsumerGroupOffsets(groupId: string, partitions: TopicPartition[]): Promise<void> {
    const coordinator = await this.#coordinator(groupId);
    const byTopic = new Map<string, number[]>();
    for (const p of partitions) {
      byTopic.set(p.topic, [...(byTopic.get(p.topic) ?? []), p.partition]);
    }
    const res = await this.#client.send(
      coordinator,
      { request: OffsetDeleteRequest, response: OffsetDeleteResponse },
      OffsetDeleteRequest.create({
        groupId,
        topics: [...byTopic].map(([name, ps]) => ({
          name,
          partitions: ps.map((partitionIndex) => ({ partitionIndex })),
        })),
      }),
    );
    if (res.errorCode !== 0) {
      throw new KafkaError(res.errorCode, `delete offsets of group ${groupId}`);
    }
    for (const t of res.topics) {
      for (const p of t.partitions) {
        if (p.errorCode !== 0) {
          throw new KafkaError(
            p.errorCode,
            `delete offsets of group ${groupId} (${t.name}-${p.partitionIndex})`,
          );
        }
      }
    }
  }

  /**
   * Describes users' SCRAM credentials (mechanisms and iterations; never salts or keys).
   *
   * @param users The users; omitted or empty: every user with a credential.
   * @returns One entry per user, each with its error code (0, `RESOURCE_NOT_FOUND`,
   *   `DUPLICATE_RESOURCE`).
   * @throws {KafkaError} A request-level error (e.g. `CLUSTER_AUTHORIZATION_FAILED`).
   */
  async describeUserScramCredentials(users?: string[]): Promise<UserScramCredentials[]> {
    const res = await this.#client.send(
      "any",
      {
        request: DescribeUserScramCredentialsRequest,
        response: DescribeUserScramCredentialsResponse,
      },
      DescribeUserScramCredentialsRequest.create({
        users: users === undefined ? null : users.map((name) => ({ name })),
      }),
    );
    if (res.errorCode !== 0) {
      throw fail(res.errorCode, "describe SCRAM credentials", res.errorMessage);
    }
    return res.results.map((r) => ({
      user: r.user,
      errorCode: r.errorCode,
      errorMessage: r.errorMessage,
      credentials: r.credentialInfos.map((c) => ({
        mechanism: scramMechanismByType(c.mechanism)?.name ?? `UNKNOWN(${c.mechanism})`,
        iterations: c.iterations,
      })),
    }));
  }

  /**
   * Sets and deletes users' SCRAM credentials (the salted passwords come from
   * `scramUpsertion` in `sasl.ts`; the password never leaves this process).
   *
   * @param upsertions Credentials to set.
   * @param deletions Credentials to delete.
   * @returns One result per user, each with its error code (0, `UNACCEPTABLE_CREDENTIAL`,
   *   `RESOURCE_NOT_FOUND`, `DUPLICATE_RESOURCE`, `UNSUPPORTED_SASL_MECHANISM`).
   */
  async alterUserScramCredentials(
    upsertions: ScramCredentialUpsertion[],
    deletions: { user: string; mechanism: ScramMechanism | number }[] = [],
  ): Promise<{ user: string; errorCode: number; errorMessage: string | null }[]> {
    const res = await this.#client.send(
      await this.#controller(),
      { request: AlterUserScramCredentialsRequest, response: AlterUserScramCredentialsResponse },
      AlterUserScramCredentialsRequest.create({
        upsertions: upsertions.map((u) => ({
          name: u.user,
          mechanism: u.mechanismType,
          iterations: u.iterations,
          salt: u.salt,
          saltedPassword: u.saltedPassword,
        })),
        deletions: deletions.map((d) => ({
          name: d.user,
          mechanism: typeof d.mechanism === "number"
            ? d.mechanism
            : d.mechanism === "SCRAM-SHA-256"
            ? 1
            : 2,
        })),
      }),
    );
    return res.results.map((r) => ({
      user: r.user,
      errorCode: r.errorCode,
      errorMessage: r.errorMessage,
    }));
  }

  /**
   * Creates ACLs (CreateAcls): all or none of them are checked by the broker, the valid ones are
   * kept. Needs ALTER on the cluster.
   *
   * @example
   * ```ts ignore
   * await admin.createAcls([{
   *   resourceType: "topic", resourceName: "orders", principal: "User:alice",
   *   operation: "read", permission: "allow",
   * }]);
   * ```
   *
   * @param acls The ACLs.
   * @throws {KafkaError} The first refused ACL's error: `SECURITY_DISABLED` without an
   *   authorizer, `CLUSTER_AUTHORIZATION_FAILED`, `INVALID_REQUEST` (with Kafka's reason).
   * @throws {RangeError} For a name that is no resource type, operation, ... (nothing is sent).
   */
  async createAcls(acls: AclBinding[]): Promise<void> {
    const creations = acls.map((a) => ({
      resourceType: aclCode("resourceType", a.resourceType),
      resourceName: a.resourceName,
      resourcePatternType: aclCode("patternType", a.patternType ?? "literal"),
      principal: a.principal,
      host: a.host ?? "*",
      operation: aclCode("operation", a.operation),
      permissionType: aclCode("permission", a.permission),
    }));
    const res = await this.#client.send(
      "any",
      { request: CreateAclsRequest, response: CreateAclsResponse },
      CreateAclsRequest.create({ creations }),
    );
    res.results.forEach((r, i) => {
      if (r.errorCode !== 0) {
        const a = acls[i];
        throw fail(
          r.errorCode,
          `create ACL ${a.permission} ${a.principal} ${a.operation} on ${a.resourceType} ${a.resourceName}`,
          r.errorMessage,
        );
      }
    });
  }

  /**
   * Lists the ACLs a filter matches (DescribeAcls). Needs DESCRIBE on the cluster.
   *
   * @param filter Which ACLs (default: all).
   * @returns The ACLs.
   * @throws {KafkaError} `SECURITY_DISABLED`, `CLUSTER_AUTHORIZATION_FAILED`, `INVALID_REQUEST`.
   */
  async describeAcls(filter: AclFilter = {}): Promise<Required<AclBinding>[]> {
    const res = await this.#client.send(
      "any",
      { request: DescribeAclsRequest, response: DescribeAclsResponse },
      DescribeAclsRequest.create(filterFields(filter)),
    );
    if (res.errorCode !== 0) throw fail(res.errorCode, "describe ACLs", res.errorMessage);
    return res.resources.flatMap((r) => r.acls.map((a) => bindingFrom({ ...r, ...a })));
  }

  /**
   * Deletes the ACLs each filter matches (DeleteAcls). Needs ALTER on the cluster.
   *
   * @param filters Which ACLs.
   * @returns The ACLs deleted, per filter.
   * @throws {KafkaError} The first filter's error: `SECURITY_DISABLED`,
   *   `CLUSTER_AUTHORIZATION_FAILED`, `INVALID_REQUEST`.
   */
  async deleteAcls(filters: AclFilter[]): Promise<Required<AclBinding>[][]> {
    const res = await this.#client.send(
      "any",
      { request: DeleteAclsRequest, response: DeleteAclsResponse },
      DeleteAclsRequest.create({ filters: filters.map(filterFields) }),
    );
    return res.filterResults.map((r) => {
      if (r.errorCode !== 0) throw fail(r.errorCode, "delete ACLs", r.errorMessage);
      return r.matchingAcls.map(bindingFrom);
    });
  }

  /**
   * The names of the client metrics subscriptions (ListClientMetricsResources, KIP-714). Needs
   * DESCRIBE_CONFIGS on the cluster. Their configs are the `client-metrics` resources of
   * {@linkcode Admin.describeConfigs} and {@linkcode Admin.alterConfigs}.
   *
   * @returns The names, as the broker lists them.
   * @throws {KafkaError} `CLUSTER_AUTHORIZATION_FAILED`.
   */
  async listClientMetricsResources(): Promise<string[]> {
    const res = await this.#client.send(
      "any",
      {
        request: ListClientMetricsResourcesRequest,
        response: ListClientMetricsResourcesResponse,
      },
      ListClientMetricsResourcesRequest.create({}),
    );
    if (res.errorCode !== 0) throw fail(res.errorCode, "list client metrics resources", null);
    return res.clientMetricsResources.map((r) => r.name);
  }

  /**
   * The client quotas a filter matches (DescribeClientQuotas, KIP-546). Needs DESCRIBE_CONFIGS
   * on the cluster.
   *
   * @param components Each entity type to match: a name (`exact`), the `<default>` entity
   * (`default`), or any entity of the type (`any`).
   * @param strict Only entities with no other entity type.
   * @returns Each matching entity (type -> name, `null` for `<default>`) and its quotas.
   * @throws {KafkaError} `CLUSTER_AUTHORIZATION_FAILED`, `INVALID_REQUEST`.
   */
  async describeClientQuotas(
    components: QuotaFilterComponent[],
    strict = false,
  ): Promise<ClientQuotaEntry[]> {
    const res = await this.#client.send(
      "any",
      { request: DescribeClientQuotasRequest, response: DescribeClientQuotasResponse },
      DescribeClientQuotasRequest.create({
        strict,
        components: components.map((c) => ({
          entityType: c.entityType,
          matchType: c.match === "exact" ? 0 : c.match === "default" ? 1 : 2,
          match: c.match === "exact" ? c.name ?? null : null,
        })),
      }),
    );
    if (res.errorCode !== 0) throw fail(res.errorCode, "describe client quotas", res.errorMessage);
    return (res.entries ?? []).map((e) => ({
      entity: Object.fromEntries(e.entity.map((c) => [c.entityType, c.entityName])),
      values: Object.fromEntries(e.values.map((v) => [v.key, v.value])),
    }));
  }

  /**
   * Sets or removes client quotas (AlterClientQuotas, KIP-546). Needs ALTER_CONFIGS on the
   * cluster.
   *
   * @param entries Each entity (type -> name, `null` for `<default>`) and its changes: a value
   * to set, or `null` to remove the key.
   * @param validateOnly Check without changing anything.
   * @returns Each entry's outcome, in order (`errorCode` 0: done).
   */
  async alterClientQuotas(
    entries: { entity: Record<string, string | null>; ops: Record<string, number | null> }[],
    validateOnly = false,
  ): Promise<{ errorCode: number; errorMessage: string | null }[]> {
    const res = await this.#client.send(
      "any",
      { request: AlterClientQuotasRequest, response: AlterClientQuotasResponse },
      AlterClientQuotasRequest.create({
        validateOnly,
        entries: entries.map((e) => ({
          entity: Object.entries(e.entity).map(([entityType, entityName]) => ({
            entityType,
            entityName,
          })),
          ops: Object.entries(e.ops).map(([key, value]) => ({
            key,
            value: value ?? 0,
            remove: value === null,
          })),
        })),
      }),
    );
    return res.entries.map((e) => ({ errorCode: e.errorCode, errorMessage: e.errorMessage }));
  }
}

/** One component of a {@linkcode Admin.describeClientQuotas} filter. */
export interface QuotaFilterComponent {
  /** `user` or `client-id`. */
  entityType: string;
  /** How the entity's name must match. */
  match: "exact" | "default" | "any";
  /** The name, for `exact`. */
  name?: string;
}

/** A quota entity and its values, from {@linkcode Admin.describeClientQuotas}. */
export interface ClientQuotaEntry {
  /** Entity type -> name (`null`: `<default>`). */
  entity: Record<string, string | null>;
  /** Quota key -> value. */
  values: Record<string, number>;
}

/** A user's SCRAM credentials, from {@linkcode Admin.describeUserScramCredentials}. */
export interface UserScramCredentials {
  /** The user. */
  user: string;
  /** 0, or why the user could not be described. */
  errorCode: number;
  /** The broker's detail, if any. */
  errorMessage: string | null;
  /** Mechanism and iterations of each credential. */
  credentials: { mechanism: string; iterations: number }[];
}

/** A member's undecodable metadata or assignment is shown as empty, not a failed describe. */
function orEmpty<T>(decode: () => T[]): T[] {
  try {
    return decode();
  } catch {
    return [];
  }
}

function specTimestamp(spec: OffsetSpec): number {
  if (spec === "earliest") return -2;
  if (spec === "latest") return -1;
  if (spec === "max-timestamp") return -3;
  return spec.timestamp;
}
