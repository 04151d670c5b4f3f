// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * The classic group coordinator (Kafka's `GroupCoordinator`): the group state machine behind
 * JoinGroup, SyncGroup, Heartbeat, LeaveGroup, OffsetCommit, OffsetFetch, DescribeGroups,
 * ListGroups, DeleteGroups and OffsetDelete. It has no sockets: handlers call it with decoded
 * requests. Time comes from an injectable {@linkcode Scheduler}; durability from an optional
 * {@linkcode CoordinatorLog} (see `offset_store.ts`).
 *
 * States: Empty -> PreparingRebalance -> CompletingRebalance -> Stable, and Dead for a deleted
 * group. A JoinGroup that changes membership moves the group to PreparingRebalance; the join
 * completes when every member has rejoined or the rebalance timeout fires (members that did not
 * rejoin are dropped), or after `group.initial.rebalance.delay.ms` for a group that was Empty.
 * Then the generation increments, a protocol is selected by vote, the leader gets every member's
 * metadata and the group waits in CompletingRebalance for the leader's SyncGroup.
 *
 * @module
 */

import { ErrorCode } from "../../protocol/errors.ts";
import { CoordinatorPartitions } from "../coordinator_partitions.ts";
import type { Logger } from "../logger.ts";
import { ReplicationError } from "../replication_error.ts";
import {
  type CommittedOffset,
  GroupMetadata,
  type GroupProtocol,
  type GroupState,
  type JoinGroupResult,
  MemberMetadata,
  offsetKey,
  parseOffsetKey,
  type SyncGroupResult,
} from "./group.ts";
import { utf8Length } from "../../records/utf8.ts";
import { type Scheduler, systemScheduler } from "./scheduler.ts";
import { compileTopicRegex, type TopicRegex, TopicRegexError } from "./topic_regex.ts";
import { isInternalTopic } from "../internal_topic_names.ts";
import {
  CONSUMER_GROUP_ASSIGNORS,
  ConsumerGroup,
  ConsumerGroupMember,
  type ConsumerGroupState,
  copyPartitions,
  LEAVE_GROUP_MEMBER_EPOCH,
  LEAVE_GROUP_STATIC_MEMBER_EPOCH,
  type MemberState,
  partitionList,
  partitionsOf,
  type TopicLookup,
} from "./consumer_group.ts";
import {
  type ConsumerAssignmentSnapshot,
  type ConsumerMemberSnapshot,
  type CoordinatorRecord,
  type GroupSnapshot,
  type ResolvedRegexSnapshot,
  subscribedTopics,
} from "./schemas.ts";

/** Coordinator settings (Kafka broker configs). */
export interface GroupCoordinatorConfig {
  /** `group.initial.rebalance.delay.ms`: how long a group that was Empty waits for more joins. Default 3000. */
  initialRebalanceDelayMs: number;
  /** `group.min.session.timeout.ms`. Default 6000. */
  minSessionTimeoutMs: number;
  /** `group.max.session.timeout.ms`. Default 1800000. */
  maxSessionTimeoutMs: number;
  /** `group.max.size`: most members (incl. pending) of a group. Default 2147483647. */
  maxGroupSize: number;
  /** `offsets.retention.minutes` in milliseconds. Default 10080 minutes. */
  offsetsRetentionMs: number;
  /** `offsets.retention.check.interval.ms`. Default 600000. */
  offsetsRetentionCheckIntervalMs: number;
  /** `offset.metadata.max.bytes`. Default 4096. */
  offsetMetadataMaxBytes: number;
  /** `group.consumer.session.timeout.ms` (consumer-protocol groups). Default 45000. */
  consumerSessionTimeoutMs: number;
  /** `group.consumer.heartbeat.interval.ms` (consumer-protocol groups). Default 5000. */
  consumerHeartbeatIntervalMs: number;
  /** `group.consumer.max.size`: most members of a consumer-protocol group. Default 2147483647. */
  consumerMaxSize: number;
  /** `group.consumer.assignors`: the server assignors, the default first. Default uniform, range. */
  consumerAssignors: readonly string[];
  /**
   * Least time between two resolutions of a group's topic regexes against the cluster's topics
   * (`sluice.group.consumer.regex.refresh.interval.ms`; Kafka 4.0's fixed
   * `REGEX_BATCH_REFRESH_INTERVAL_MS`). Default 10000.
   */
  consumerRegexRefreshIntervalMs: number;
}

/**
 * Characters of the client id kept at the start of a new member id (`<client id>-<uuid>`), so
 * that a 32767-byte client id does not make every group response unencodable.
 */
export const MEMBER_ID_CLIENT_ID_LENGTH = 255;

/** Kafka's defaults for {@linkcode GroupCoordinatorConfig}. */
export const DEFAULT_GROUP_COORDINATOR_CONFIG: Readonly<GroupCoordinatorConfig> = Object.freeze({
  initialRebalanceDelayMs: 3000,
  minSessionTimeoutMs: 6000,
  maxSessionTimeoutMs: 1800000,
  maxGroupSize: 2147483647,
  offsetsRetentionMs: 10080 * 60_000,
  offsetsRetentionCheckIntervalMs: 600000,
  offsetMetadataMaxBytes: 4096,
  consumerSessionTimeoutMs: 45000,
  consumerHeartbeatIntervalMs: 5000,
  consumerMaxSize: 2147483647,
  consumerAssignors: CONSUMER_GROUP_ASSIGNORS,
  consumerRegexRefreshIntervalMs: 10000,
});

/**
 * A record replayed from `__consumer_offsets`: a plain record, an offset commit of a
 * transaction (a transactional batch of `producerId`, which counts once its COMMIT marker
 * follows), or that marker; each with its offset in the partition.
 */
export type LoadedCoordinatorRecord =
  & (
    | CoordinatorRecord
    | {
      /** An offset commit written by TxnOffsetCommit. */
      kind: "txn-offset";
      /** The transaction's producer id. */
      producerId: number;
      /** The offset record. */
      record: CoordinatorRecord;
    }
    | {
      /** The end of a transaction. */
      kind: "txn-marker";
      /** The transaction's producer id. */
      producerId: number;
      /** COMMIT (`true`) or ABORT. */
      commit: boolean;
    }
  )
  & {
    /**
     * The record's offset in its `__consumer_offsets` partition (its position in the log, not
     * part of what is stored): a committed transaction's offsets replace a partition's
     * committed offset only from a newer record.
     */
    recordOffset: number;
  };

/**
 * Where the coordinator makes its changes durable (the `__consumer_offsets` topic). An append
 * reports where its records went: the offset of the first in the group's partition, the others
 * following it one by one (a transaction's offsets, committed, win over a plain commit only if
 * their record is the newer, as in Kafka).
 */
export interface CoordinatorLog {
  /**
   * Append records for one group, all at once, in order. Resolves once durable.
   *
   * @returns The offset of the first record in the group's partition (record `i` is at that
   *   offset plus `i`).
   * @throws {Error} If the records could not be written.
   */
  append(groupId: string, records: CoordinatorRecord[]): Promise<number>;
  /**
   * Append records for one group as a transactional batch of the producer (TxnOffsetCommit):
   * they count once the transaction's COMMIT marker follows. Resolves once durable.
   *
   * @returns The offset of the first record in the group's partition (record `i` is at that
   *   offset plus `i`).
   * @throws {Error} If the records could not be written (an older producer epoch than the
   *   partition's: INVALID_PRODUCER_EPOCH).
   */
  appendTransactional(
    groupId: string,
    records: CoordinatorRecord[],
    producer: { producerId: number; producerEpoch: number },
  ): Promise<number>;
  /**
   * The `__consumer_offsets` partition of a group (needed when the coordinator serves only
   * some partitions, see {@linkcode GroupCoordinatorOptions.ownedPartitionsOnly}).
   */
  partitionFor?(groupId: string): number;
  /** Replay one partition (needed with {@linkcode GroupCoordinatorOptions.ownedPartitionsOnly}). */
  loadPartition?(partition: number): Promise<LoadedCoordinatorRecord[]>;
}

/** Options for {@linkcode GroupCoordinator}. */
export interface GroupCoordinatorOptions {
  /** Settings; missing ones take {@linkcode DEFAULT_GROUP_COORDINATOR_CONFIG}. */
  config?: Partial<GroupCoordinatorConfig>;
  /** Clock and timers; default the real ones. */
  scheduler?: Scheduler;
  /**
   * Durable log; default none (state is memory-only, and the coordinator numbers the offset
   * records it would have written, in the order it would have written them, so that a
   * transaction's offsets and plain commits are ordered as with a log).
   */
  log?: CoordinatorLog;
  /** Where to report background failures. */
  logger?: Logger;
  /**
   * Makes a new member id from a client id; default `clientId + "-" + randomUUID()`, with the
   * client id cut to {@linkcode MEMBER_ID_CLIENT_ID_LENGTH} characters.
   */
  newMemberId?: (clientId: string) => string;
  /**
   * Cluster mode: serve only the groups of the `__consumer_offsets` partitions this broker
   * leads, each loaded by {@linkcode GroupCoordinator.onElection} and dropped by
   * {@linkcode GroupCoordinator.onResignation} (Kafka's). Other groups get NOT_COORDINATOR, and
   * COORDINATOR_LOAD_IN_PROGRESS while their partition loads. The log must have `partitionFor`
   * and `loadPartition`. Default false: every group is served.
   */
  ownedPartitionsOnly?: boolean;
}

/** A JoinGroup request, versionless. */
export interface JoinGroupParams {
  /** Group id. */
  groupId: string;
  /** Member id; `""` for a new member. */
  memberId: string;
  /** Static instance id, or `null`. */
  groupInstanceId: string | null;
  /** v4+: answer a new dynamic member with MEMBER_ID_REQUIRED first. */
  requireKnownMemberId: boolean;
  /** Client id of the connection. */
  clientId: string;
  /** Client host, e.g. `/127.0.0.1`. */
  clientHost: string;
  /** Rebalance timeout (v0: the session timeout). */
  rebalanceTimeoutMs: number;
  /** Session timeout. */
  sessionTimeoutMs: number;
  /** Protocol type, e.g. `"consumer"`. */
  protocolType: string;
  /** Supported protocols in preference order. */
  protocols: GroupProtocol[];
  /** Client's reason (v8+), only logged. */
  reason?: string | null;
}

/** A SyncGroup request, versionless. */
export interface SyncGroupParams {
  /** Group id. */
  groupId: string;
  /** Generation. */
  generationId: number;
  /** Member id. */
  memberId: string;
  /** Static instance id, or `null`. */
  groupInstanceId: string | null;
  /** v5+: protocol type to check, or `null`. */
  protocolType?: string | null;
  /** v5+: protocol name to check, or `null`. */
  protocolName?: string | null;
  /** The leader's assignments (empty for followers). */
  assignments: { memberId: string; assignment: Uint8Array }[];
}

/** A Heartbeat request, versionless. */
export interface HeartbeatParams {
  /** Group id. */
  groupId: string;
  /** Generation. */
  generationId: number;
  /** Member id. */
  memberId: string;
  /** Static instance id, or `null`. */
  groupInstanceId: string | null;
}

/** One member leaving. */
export interface LeavingMember {
  /** Member id; `""` to name a static member by instance id only. */
  memberId: string;
  /** Static instance id, or `null`. */
  groupInstanceId: string | null;
}

/** Result of a LeaveGroup. */
export interface LeaveGroupResult {
  /** Top-level error. */
  errorCode: number;
  /** Per member (same order as the request). */
  members: { memberId: string; groupInstanceId: string | null; errorCode: number }[];
}

/** An OffsetCommit request, versionless. */
export interface OffsetCommitParams {
  /** Group id. */
  groupId: string;
  /** Generation, or -1 for a simple (non-member) commit. */
  generationId: number;
  /** Member id, or `""`. */
  memberId: string;
  /** Static instance id, or `null`. */
  groupInstanceId: string | null;
  /** v2-v4 retention time, or -1 for the broker default. */
  retentionTimeMs?: number;
  /**
   * The OffsetCommit version (default the newest): a member of a consumer-protocol group must
   * commit with v9+ (UNSUPPORTED_VERSION otherwise, as Kafka).
   */
  apiVersion?: number;
  /** Offsets to commit. */
  topics: {
    topic: string;
    partitions: {
      partition: number;
      offset: number;
      leaderEpoch: number;
      metadata: string | null;
    }[];
  }[];
}

/** A TxnOffsetCommit request, versionless. */
export interface TxnOffsetCommitParams extends OffsetCommitParams {
  /** Transactional id. */
  transactionalId: string;
  /** Producer id. */
  producerId: number;
  /** Producer epoch. */
  producerEpoch: number;
}

/** Per-partition result of OffsetCommit. */
export interface OffsetCommitResultTopic {
  /** Topic. */
  topic: string;
  /** Partitions with their error codes. */
  partitions: { partition: number; errorCode: number }[];
}

/** One partition in an OffsetFetch result. */
export interface FetchedOffset {
  /** Partition. */
  partition: number;
  /** Committed offset or -1. */
  offset: number;
  /** Committed leader epoch or -1. */
  leaderEpoch: number;
  /** Committed metadata or `""`. */
  metadata: string;
  /** Error code. */
  errorCode: number;
}

/** Options of {@linkcode GroupCoordinator.fetchOffsets}. */
export interface OffsetFetchOptions {
  /**
   * OffsetFetch v7+ `require_stable`: partitions with an offset of a transaction still open
   * get UNSTABLE_OFFSET_COMMIT (and offset -1). Default `false`.
   */
  requireStable?: boolean;
  /**
   * OffsetFetch v9 member id (`null`: not given). Checked, with `memberEpoch`, against the
   * members of a consumer-protocol group (UNKNOWN_MEMBER_ID, STALE_MEMBER_EPOCH).
   */
  memberId?: string | null;
  /** OffsetFetch v9 member epoch (-1: not given). */
  memberEpoch?: number;
}

/** Result of OffsetFetch for one group. */
export interface OffsetFetchResult {
  /** Group-level error. */
  errorCode: number;
  /** Topics, in request order (or name order for "all"). */
  topics: { topic: string; partitions: FetchedOffset[] }[];
}

/** A member in DescribeGroups. */
export interface DescribedMember {
  /** Member id. */
  memberId: string;
  /** Static instance id, or `null`. */
  groupInstanceId: string | null;
  /** Client id. */
  clientId: string;
  /** Client host. */
  clientHost: string;
  /** Metadata for the selected protocol (empty unless Stable). */
  memberMetadata: Uint8Array;
  /** Current assignment (empty unless Stable). */
  memberAssignment: Uint8Array;
}

/** Result of DescribeGroups for one group. */
export interface GroupDescription {
  /** Error code. */
  errorCode: number;
  /** Group id. */
  groupId: string;
  /** State name; `"Dead"` for an unknown group. */
  groupState: GroupState;
  /** Protocol type or `""`. */
  protocolType: string;
  /** Selected protocol if Stable, else `""`. */
  protocolData: string;
  /** Members. */
  members: DescribedMember[];
}

/** A group in ListGroups. */
export interface ListedGroup {
  /** Group id. */
  groupId: string;
  /** Protocol type or `""`. */
  protocolType: string;
  /** State name (a consumer-protocol group's: Empty, Assigning, Reconciling, Stable). */
  groupState: GroupState | ConsumerGroupState;
  /** `classic` or `consumer` (ListGroups v5 group type). */
  groupType: "classic" | "consumer";
}

/** A ConsumerGroupHeartbeat request (KIP-848), versionless. */
export interface ConsumerGroupHeartbeatParams {
  /** Group id. */
  groupId: string;
  /** The request's version (v1+: the client makes its member id). Default 1. */
  apiVersion?: number;
  /** Member id (`""` for a member joining whose client does not make its own, v0). */
  memberId: string;
  /** v1+ subscribed topic regex (RE2J syntax), `""` for none, `null` (or absent) for unchanged. */
  subscribedTopicRegex?: string | null;
  /** Member epoch: 0 to join, -1 to leave, -2 for a static member leaving for a while. */
  memberEpoch: number;
  /** Static instance id, or `null` (unchanged). */
  instanceId: string | null;
  /** Rack id, or `null` (unchanged). */
  rackId: string | null;
  /** Rebalance timeout (ms), or -1 (unchanged). */
  rebalanceTimeoutMs: number;
  /** Subscribed topic names, or `null` (unchanged). */
  subscribedTopicNames: string[] | null;
  /** Server assignor, or `null` (unchanged or not used). */
  serverAssignor: string | null;
  /** Owned partitions, or `null` (unchanged). */
  topicPartitions: { topicId: string; partitions: number[] }[] | null;
  /** Client id. */
  clientId: string;
  /** Client host (`/127.0.0.1`). */
  clientHost: string;
}

/** A ConsumerGroupHeartbeat answer. */
export interface ConsumerGroupHeartbeatResult {
  /** Error code. */
  errorCode: number;
  /** Error message, or `null`. */
  errorMessage: string | null;
  /** The member id, or `null` on errors. */
  memberId: string | null;
  /** The member epoch. */
  memberEpoch: number;
  /** Heartbeat interval (ms). */
  heartbeatIntervalMs: number;
  /** The member's assigned partitions when sent, else `null`. */
  assignment: { topicId: string; partitions: number[] }[] | null;
  /**
   * Resolves once the group's records of this heartbeat are durable (as Kafka answers only
   * then), to NONE or the error to answer instead (NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE, as
   * Kafka maps a failed write). Absent: nothing was written.
   */
  written?: Promise<number>;
}

/** One group of ConsumerGroupDescribe. */
export interface ConsumerGroupDescription {
  /** Group id. */
  groupId: string;
  /** Error code (GROUP_ID_NOT_FOUND for an unknown or classic group). */
  errorCode: number;
  /** Error message, or `null`. */
  errorMessage: string | null;
  /** State: Empty, Assigning, Reconciling, Stable, or Dead. */
  groupState: string;
  /** Group epoch. */
  groupEpoch: number;
  /** Assignment epoch. */
  assignmentEpoch: number;
  /** The assignor in use. */
  assignorName: string;
  /** Members. */
  members: {
    memberId: string;
    instanceId: string | null;
    rackId: string | null;
    memberEpoch: number;
    clientId: string;
    clientHost: string;
    subscribedTopicNames: string[];
    subscribedTopicRegex: string | null;
    assignment: { topicId: string; topicName: string; partitions: number[] }[];
    targetAssignment: { topicId: string; topicName: string; partitions: number[] }[];
  }[];
}

/** The group coordinator. One per broker; it coordinates every group. */
export class GroupCoordinator {
  readonly #config: GroupCoordinatorConfig;
  readonly #scheduler: Scheduler;
  readonly #log: CoordinatorLog | undefined;
  readonly #logger: Logger | undefined;
  readonly #newMemberId: (clientId: string) => string;
  readonly #groups = new Map<string, GroupMetadata>();
  readonly #ownedOnly: boolean;
  /** Cluster mode: the `__consumer_offsets` partitions served and loading. */
  readonly #partitions: CoordinatorPartitions;
  /**
   * Offsets of transactions in progress (TxnOffsetCommit), by producer id, then group, then
   * partition: committed to the groups by the transaction's COMMIT marker, dropped by ABORT.
   */
  readonly #pendingTxnOffsets = new Map<number, Map<string, Map<string, CommittedOffset>>>();
  /**
   * Cluster mode: transaction markers written to a partition while it loads (the load may have
   * read the log before them), applied once it is loaded.
   */
  readonly #completedWhileLoading = new Map<number, { producerId: number; commit: boolean }[]>();
  /**
   * Cluster mode: per `__consumer_offsets` partition served, the position after the last record
   * its load read. A write begun before a resignation can be acknowledged after the partition
   * was loaded again without it (a broker fenced and unfenced keeps its leader epoch, so its
   * in-flight appends complete): such a record, at or past this position, is applied to the
   * loaded state ({@linkcode GroupCoordinator.commitOffsets}).
   */
  readonly #loadedUpTo = new Map<number, number>();
  /** Without a log: the position the next record would have had. */
  #nextPosition = 0;
  #closed = false;
  /** Compiled topic regexes (or why they are invalid), by source; cleared past 1000. */
  readonly #regexes = new Map<string, TopicRegex | TopicRegexError>();
  #expiryTimer: (() => void) | null = null;

  /**
   * Creates a coordinator and starts its offset-expiry timer.
   *
   * @example
   * ```ts
   * import { GroupCoordinator } from "./coordinator.ts";
   * import { ManualScheduler } from "./scheduler.ts";
   *
   * const coordinator = new GroupCoordinator({
   *   config: { initialRebalanceDelayMs: 0 },
   *   scheduler: new ManualScheduler(),
   * });
   * console.log(coordinator.listGroups()); // []
   * coordinator.close();
   * ```
   *
   * @param options Config, scheduler, durable log, logger.
   */
  constructor(options: GroupCoordinatorOptions = {}) {
    this.#config = { ...DEFAULT_GROUP_COORDINATOR_CONFIG, ...options.config };
    this.#scheduler = options.scheduler ?? systemScheduler;
    this.#log = options.log;
    this.#logger = options.logger;
    // Kafka's form, with the client id cut: ids must stay encodable (a client id may be 32767
    // bytes) and are sent back in every group response.
    this.#newMemberId = options.newMemberId ??
      ((clientId) => `${clientId.slice(0, MEMBER_ID_CLIENT_ID_LENGTH)}-${crypto.randomUUID()}`);
    this.#ownedOnly = options.ownedPartitionsOnly ?? false;
    if (this.#ownedOnly && (!this.#log?.partitionFor || !this.#log.loadPartition)) {
      throw new Error(
        "Cannot create group coordinator: ownedPartitionsOnly needs a log with partitionFor " +
          "and loadPartition",
      );
    }
    this.#partitions = new CoordinatorPartitions(
      this.#ownedOnly,
      (groupId) => this.#log!.partitionFor!(groupId),
    );
    this.#scheduleExpiry();
  }

  /**
   * Whether this coordinator serves a group: NONE, NOT_COORDINATOR (closed, or another broker
   * leads the group's partition) or COORDINATOR_LOAD_IN_PROGRESS.
   */
  #ownership(groupId: string): number {
    if (this.#closed) return ErrorCode.NOT_COORDINATOR;
    return this.#partitions.ownership(groupId);
  }

  /** The `__consumer_offsets` partitions served (cluster mode), ascending. */
  get ownedPartitions(): number[] {
    return this.#partitions.owned;
  }

  /**
   * Cluster mode: this broker became leader of `__consumer_offsets` partition `partition`:
   * once its log is caught up as leader (`caughtUp`), replay it and serve its groups (Kafka's
   * `onElection`). Meanwhile its groups get COORDINATOR_LOAD_IN_PROGRESS. A resignation during
   * the wait or the load wins.
   *
   * @param partition The partition.
   * @param _leaderEpoch The leader epoch of the election.
   * @param caughtUp Resolves `true` once the leader's high watermark reached its log end
   *   (`false`: the leadership was lost meanwhile). Default: at once.
   * @returns How many groups it holds.
   * @throws {Error} If the partition cannot be read (it is then not served).
   */
  async onElection(
    partition: number,
    _leaderEpoch = 0,
    caughtUp: () => Promise<boolean> = () => Promise.resolve(true),
  ): Promise<number> {
    if (!this.#ownedOnly || this.#closed) return 0;
    if (this.#partitions.serves(partition)) return this.#groupsOf(partition).length;
    const loaded = await this.#partitions.elect(
      partition,
      caughtUp,
      () => this.#log!.loadPartition!(partition),
      () => this.#closed,
    );
    if (loaded === undefined) return 0;
    const records = loaded.records;
    this.load(records);
    loaded.serve();
    this.#loadedUpTo.set(
      partition,
      records.reduce((end, r) => Math.max(end, r.recordOffset + 1), 0),
    );
    const early = this.#completedWhileLoading.get(partition) ?? [];
    this.#completedWhileLoading.delete(partition);
    for (const c of early) this.completeTxnOffsets(partition, c.producerId, c.commit);
    const n = this.#groupsOf(partition).length;
    const line = `Group coordinator: loaded __consumer_offsets-${partition} (${records.length} ` +
      `records, ${n} groups)`;
    if (records.length > 0) this.#logger?.info(line);
    else this.#logger?.debug(line);
    return n;
  }

  /**
   * Cluster mode: this broker no longer leads `__consumer_offsets` partition `partition`: stop
   * serving its groups (Kafka's `onResignation`); members waiting in JoinGroup or SyncGroup get
   * NOT_COORDINATOR and look for the new coordinator.
   *
   * @param partition The partition.
   */
  onResignation(partition: number): void {
    if (!this.#ownedOnly) return;
    const was = this.#partitions.resign(partition);
    this.#completedWhileLoading.delete(partition);
    this.#loadedUpTo.delete(partition);
    for (const group of this.#groupsOf(partition)) {
      this.#drop(group);
      this.#groups.delete(group.groupId);
    }
    for (const [producerId, byGroup] of this.#pendingTxnOffsets) {
      for (const groupId of byGroup.keys()) {
        if (this.#log!.partitionFor!(groupId) === partition) byGroup.delete(groupId);
      }
      if (byGroup.size === 0) this.#pendingTxnOffsets.delete(producerId);
    }
    if (was) this.#logger?.debug(`Group coordinator: unloaded __consumer_offsets-${partition}`);
  }

  #groupsOf(partition: number): GroupMetadata[] {
    return [...this.#groups.values()].filter((g) =>
      this.#log!.partitionFor!(g.groupId) === partition
    );
  }

  /** Cancel a group's timers and answer its waiting members with NOT_COORDINATOR. */
  #drop(group: GroupMetadata): void {
    group.joinTimer?.();
    group.syncTimer?.();
    cancelConsumerTimers(group);
    for (const cancel of group.pendingMembers.values()) cancel();
    for (const m of group.members.values()) {
      m.heartbeatTimer?.();
      const join = m.awaitingJoin;
      const sync = m.awaitingSync;
      m.awaitingJoin = null;
      m.awaitingSync = null;
      join?.(joinError(ErrorCode.NOT_COORDINATOR, m.memberId));
      sync?.(syncError(ErrorCode.NOT_COORDINATOR));
    }
  }

  /** The settings in use. */
  get config(): Readonly<GroupCoordinatorConfig> {
    return this.#config;
  }

  /**
   * A group's current metadata, for inspection (tests, CLI). Do not mutate it.
   *
   * @param groupId The group id.
   * @returns The group, or `undefined`.
   */
  group(groupId: string): GroupMetadata | undefined {
    return this.#groups.get(groupId);
  }

  // ---------------------------------------------------------------- JoinGroup

  /**
   * Handle a JoinGroup. Resolves when the member can be answered: at once for errors and
   * MEMBER_ID_REQUIRED, otherwise when the rebalance completes.
   *
   * @param req The request.
   * @param signal Aborting it (connection closed) resolves the call at once with
   *   NOT_COORDINATOR; the member still counts as joined, as in Kafka.
   * @returns The JoinGroup result.
   */
  joinGroup(req: JoinGroupParams, signal?: AbortSignal): Promise<JoinGroupResult> {
    return new Promise((resolve) => {
      let done = false;
      const onAbort = () => finish(joinError(ErrorCode.NOT_COORDINATOR, req.memberId));
      const finish = (r: JoinGroupResult) => {
        if (done) return;
        done = true;
        signal?.removeEventListener("abort", onAbort);
        resolve(r);
      };
      if (signal?.aborted) return onAbort();
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#join(req, finish);
    });
  }

  #join(req: JoinGroupParams, respond: (r: JoinGroupResult) => void): void {
    const fail = (code: number, memberId = req.memberId) => respond(joinError(code, memberId));
    const own = this.#ownership(req.groupId);
    if (own !== ErrorCode.NONE) return fail(own);
    if (req.groupId === "") return fail(ErrorCode.INVALID_GROUP_ID);
    if (
      req.sessionTimeoutMs < this.#config.minSessionTimeoutMs ||
      req.sessionTimeoutMs > this.#config.maxSessionTimeoutMs
    ) return fail(ErrorCode.INVALID_SESSION_TIMEOUT);
    if (req.protocolType === "" || req.protocols.length === 0) {
      return fail(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    }
    let group = this.#groups.get(req.groupId);
    if (group === undefined) {
      if (req.memberId !== "") return fail(ErrorCode.UNKNOWN_MEMBER_ID);
      group = new GroupMetadata(req.groupId, this.#scheduler.now());
      this.#groups.set(req.groupId, group);
    }
    if (group.state === "Dead") return fail(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    if (group.consumer !== null) {
      // a consumer-protocol group: a classic member may not join it while it has members;
      // an empty one becomes a classic group (Kafka's `maybeDeleteEmptyConsumerGroup`)
      if (group.consumer.members.size > 0) return fail(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
      if (group.consumer.persistedEpoch !== -1) {
        this.#log?.append(group.groupId, [
          { kind: "consumer-group", groupId: group.groupId, value: null },
        ]).catch((e) =>
          this.#logger?.error(
            `Cannot delete consumer group ${group.groupId}: ${e instanceof Error ? e.message : e}`,
          )
        );
      }
      group.consumer = null;
      group.protocolType = null;
    }
    const known = group.members.has(req.memberId) || group.pendingMembers.has(req.memberId);
    const staticKnown = req.groupInstanceId !== null &&
      group.staticMembers.has(req.groupInstanceId);
    if (!known && !staticKnown && group.size >= this.#config.maxGroupSize) {
      return fail(ErrorCode.GROUP_MAX_SIZE_REACHED);
    }
    if (req.memberId === "") this.#joinNewMember(group, req, respond);
    else this.#joinExistingMember(group, req, respond);
    this.#tryCompleteJoin(group);
  }

  #joinNewMember(
    group: GroupMetadata,
    req: JoinGroupParams,
    respond: (r: JoinGroupResult) => void,
  ): void {
    if (!group.supportsProtocols(req.protocolType, req.protocols)) {
      return respond(joinError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL, ""));
    }
    const newId = this.#newMemberId(req.clientId);
    if (req.groupInstanceId !== null) {
      const oldId = group.staticMembers.get(req.groupInstanceId);
      if (oldId !== undefined) return this.#replaceStaticMember(group, oldId, newId, req, respond);
      return this.#addMemberAndRebalance(group, newId, req, respond);
    }
    if (req.requireKnownMemberId) {
      const cancel = this.#scheduler.schedule(req.sessionTimeoutMs, () => {
        if (!group.pendingMembers.delete(newId)) return;
        this.#tryCompleteJoin(group);
      });
      group.pendingMembers.set(newId, cancel);
      return respond(joinError(ErrorCode.MEMBER_ID_REQUIRED, newId));
    }
    this.#addMemberAndRebalance(group, newId, req, respond);
  }

  #joinExistingMember(
    group: GroupMetadata,
    req: JoinGroupParams,
    respond: (r: JoinGroupResult) => void,
  ): void {
    const memberId = req.memberId;
    if (!group.supportsProtocols(req.protocolType, req.protocols)) {
      return respond(joinError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL, memberId));
    }
    const pending = group.pendingMembers.get(memberId);
    if (pending !== undefined) {
      pending();
      group.pendingMembers.delete(memberId);
      return this.#addMemberAndRebalance(group, memberId, req, respond);
    }
    if (group.isStaticMemberFenced(memberId, req.groupInstanceId)) {
      return respond(joinError(ErrorCode.FENCED_INSTANCE_ID, memberId));
    }
    const member = group.members.get(memberId);
    if (member === undefined) return respond(joinError(ErrorCode.UNKNOWN_MEMBER_ID, memberId));
    switch (group.state) {
      case "PreparingRebalance":
        return this.#updateMemberAndRebalance(group, member, req, respond);
      case "CompletingRebalance":
        if (member.matches(req.protocols)) {
          this.#heartbeatOk(group, member);
          return respond(this.#currentGeneration(group, memberId, group.leaderId === memberId));
        }
        return this.#updateMemberAndRebalance(group, member, req, respond);
      case "Stable":
        if (group.leaderId === memberId || !member.matches(req.protocols)) {
          return this.#updateMemberAndRebalance(group, member, req, respond);
        }
        this.#heartbeatOk(group, member);
        return respond(this.#currentGeneration(group, memberId, false));
      default:
        return respond(joinError(ErrorCode.UNKNOWN_MEMBER_ID, memberId));
    }
  }

  #currentGeneration(
    group: GroupMetadata,
    memberId: string,
    withMembers: boolean,
  ): JoinGroupResult {
    return {
      errorCode: ErrorCode.NONE,
      generationId: group.generationId,
      protocolType: group.protocolType,
      protocolName: group.protocolName,
      leader: group.leaderId ?? "",
      skipAssignment: false,
      memberId,
      members: withMembers ? group.currentMemberMetadata() : [],
    };
  }

  #addMemberAndRebalance(
    group: GroupMetadata,
    memberId: string,
    req: JoinGroupParams,
    respond: (r: JoinGroupResult) => void,
  ): void {
    const member = new MemberMetadata({
      memberId,
      groupInstanceId: req.groupInstanceId,
      clientId: req.clientId,
      clientHost: req.clientHost,
      rebalanceTimeoutMs: req.rebalanceTimeoutMs,
      sessionTimeoutMs: req.sessionTimeoutMs,
      protocolType: req.protocolType,
      protocols: req.protocols,
    });
    member.isNew = true;
    if (group.state === "PreparingRebalance" && group.initialJoin) group.newMemberAdded = true;
    group.add(member);
    member.awaitingJoin = respond;
    this.#heartbeatOk(group, member);
    this.#maybePrepareRebalance(group);
  }

  #updateMemberAndRebalance(
    group: GroupMetadata,
    member: MemberMetadata,
    req: JoinGroupParams,
    respond: (r: JoinGroupResult) => void,
  ): void {
    this.#updateMember(member, req);
    this.#setAwaitingJoin(member, respond);
    this.#heartbeatOk(group, member);
    this.#maybePrepareRebalance(group);
  }

  #updateMember(member: MemberMetadata, req: JoinGroupParams): void {
    member.protocols = req.protocols;
    member.rebalanceTimeoutMs = req.rebalanceTimeoutMs;
    member.sessionTimeoutMs = req.sessionTimeoutMs;
    member.clientId = req.clientId;
    member.clientHost = req.clientHost;
  }

  #setAwaitingJoin(member: MemberMetadata, respond: (r: JoinGroupResult) => void): void {
    // A second JoinGroup while one waits: the older call is answered so it never hangs.
    member.awaitingJoin?.(joinError(ErrorCode.REBALANCE_IN_PROGRESS, member.memberId));
    member.awaitingJoin = respond;
  }

  #replaceStaticMember(
    group: GroupMetadata,
    oldId: string,
    newId: string,
    req: JoinGroupParams,
    respond: (r: JoinGroupResult) => void,
  ): void {
    const member = group.members.get(oldId)!;
    // Fence whoever still waits with the old member id.
    member.awaitingJoin?.(joinError(ErrorCode.FENCED_INSTANCE_ID, oldId));
    member.awaitingJoin = null;
    member.awaitingSync?.(syncError(ErrorCode.FENCED_INSTANCE_ID));
    member.awaitingSync = null;
    const oldProtocols = member.protocols;
    group.replaceMemberId(member, newId);
    this.#updateMember(member, req);
    this.#heartbeatOk(group, member);
    switch (group.state) {
      case "Stable": {
        const next = group.selectProtocol();
        if (next === group.protocolName) {
          // Same protocol: no rebalance. A rejoining static leader is told it leads but must
          // skip the assignment (KIP-814), since a Stable group would not propagate a new one;
          // handlers of JoinGroup < v9 hide the leadership instead (leader "").
          this.#persistGroup(group);
          const isLeader = group.leaderId === newId;
          return respond({
            errorCode: ErrorCode.NONE,
            generationId: group.generationId,
            protocolType: group.protocolType,
            protocolName: group.protocolName,
            leader: group.leaderId ?? "",
            skipAssignment: isLeader,
            memberId: newId,
            members: isLeader ? group.currentMemberMetadata() : [],
          });
        }
        member.awaitingJoin = respond;
        return this.#prepareRebalance(group);
      }
      case "CompletingRebalance":
        member.awaitingJoin = respond;
        return this.#prepareRebalance(group);
      case "PreparingRebalance":
        member.awaitingJoin = respond;
        return;
      default:
        member.protocols = oldProtocols;
        return respond(joinError(ErrorCode.UNKNOWN_MEMBER_ID, newId));
    }
  }

  #maybePrepareRebalance(group: GroupMetadata): void {
    if (
      group.state === "Stable" || group.state === "CompletingRebalance" || group.state === "Empty"
    ) {
      this.#prepareRebalance(group);
    }
  }

  #prepareRebalance(group: GroupMetadata): void {
    if (group.state === "CompletingRebalance") {
      for (const m of group.members.values()) {
        m.assignment = new Uint8Array(0);
        const cb = m.awaitingSync;
        m.awaitingSync = null;
        cb?.(syncError(ErrorCode.REBALANCE_IN_PROGRESS));
      }
    }
    group.syncTimer?.();
    group.syncTimer = null;
    group.pendingSyncMembers.clear();
    group.joinTimer?.();
    const wasEmpty = group.state === "Empty";
    group.transitionTo("PreparingRebalance", this.#scheduler.now());
    if (wasEmpty) {
      const delay = this.#config.initialRebalanceDelayMs;
      group.initialJoin = true;
      group.newMemberAdded = false;
      this.#initialDelayedJoin(group, delay, Math.max(group.rebalanceTimeoutMs - delay, 0));
    } else {
      group.initialJoin = false;
      group.joinTimer = this.#scheduler.schedule(
        group.rebalanceTimeoutMs,
        () => this.#completeJoin(group),
      );
      this.#tryCompleteJoin(group);
    }
  }

  #initialDelayedJoin(group: GroupMetadata, delayMs: number, remainingMs: number): void {
    group.joinTimer = this.#scheduler.schedule(delayMs, () => {
      group.joinTimer = null;
      if (group.newMemberAdded && remainingMs !== 0) {
        group.newMemberAdded = false;
        const delay = Math.min(this.#config.initialRebalanceDelayMs, remainingMs);
        this.#initialDelayedJoin(group, delay, Math.max(remainingMs - delay, 0));
      } else {
        this.#completeJoin(group);
      }
    });
  }

  #tryCompleteJoin(group: GroupMetadata): void {
    if (group.state !== "PreparingRebalance" || group.initialJoin) return;
    if (group.hasAllMembersJoined) this.#completeJoin(group);
  }

  #completeJoin(group: GroupMetadata): void {
    group.joinTimer?.();
    group.joinTimer = null;
    group.initialJoin = false;
    if (group.state !== "PreparingRebalance") return;
    // Dynamic members that did not rejoin in time leave; static ones stay until their session
    // times out, as in Kafka.
    for (const m of [...group.members.values()]) {
      if (m.awaitingJoin === null && m.groupInstanceId === null) group.remove(m.memberId);
    }
    if (!this.#electJoinedLeader(group) && group.members.size > 0) {
      // Nobody rejoined (only silent static members left): wait another rebalance timeout.
      group.joinTimer = this.#scheduler.schedule(
        group.rebalanceTimeoutMs,
        () => this.#completeJoin(group),
      );
      return;
    }
    const now = this.#scheduler.now();
    group.generationId++;
    group.newMemberAdded = false;
    if (group.members.size === 0) {
      group.protocolName = null;
      group.transitionTo("Empty", now);
      this.#persistGroup(group);
      return;
    }
    group.protocolName = group.selectProtocol();
    group.transitionTo("CompletingRebalance", now);
    for (const id of group.members.keys()) group.pendingSyncMembers.add(id);
    const generation = group.generationId;
    group.syncTimer = this.#scheduler.schedule(
      group.rebalanceTimeoutMs,
      () => this.#expirePendingSync(group, generation),
    );
    for (const m of group.members.values()) {
      const cb = m.awaitingJoin;
      if (cb === null) continue;
      m.awaitingJoin = null;
      m.isNew = false;
      this.#heartbeatOk(group, m);
      cb(this.#currentGeneration(group, m.memberId, group.leaderId === m.memberId));
    }
  }

  #electJoinedLeader(group: GroupMetadata): boolean {
    const leader = group.leaderId === null ? undefined : group.members.get(group.leaderId);
    if (leader?.awaitingJoin) return true;
    for (const m of group.members.values()) {
      if (m.awaitingJoin !== null) {
        group.leaderId = m.memberId;
        return true;
      }
    }
    return false;
  }

  #expirePendingSync(group: GroupMetadata, generation: number): void {
    group.syncTimer = null;
    if (group.generationId !== generation) return;
    if (group.state !== "CompletingRebalance" && group.state !== "Stable") return;
    for (const id of [...group.pendingSyncMembers]) {
      const m = group.members.get(id);
      if (m !== undefined) this.#removeMemberAndUpdateGroup(group, m);
    }
  }

  // ---------------------------------------------------------------- SyncGroup

  /**
   * Handle a SyncGroup. The leader's call (in CompletingRebalance) stores the assignment and
   * answers every waiting member; a follower's call waits for the leader's.
   *
   * @param req The request.
   * @param signal Aborting it resolves the call at once with NOT_COORDINATOR.
   * @returns The member's assignment or an error.
   */
  syncGroup(req: SyncGroupParams, signal?: AbortSignal): Promise<SyncGroupResult> {
    return new Promise((resolve) => {
      let done = false;
      const onAbort = () => finish(syncError(ErrorCode.NOT_COORDINATOR));
      const finish = (r: SyncGroupResult) => {
        if (done) return;
        done = true;
        signal?.removeEventListener("abort", onAbort);
        resolve(r);
      };
      if (signal?.aborted) return onAbort();
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#sync(req, finish);
    });
  }

  #sync(req: SyncGroupParams, respond: (r: SyncGroupResult) => void): void {
    const fail = (code: number) => respond(syncError(code));
    const own = this.#ownership(req.groupId);
    if (own !== ErrorCode.NONE) return fail(own);
    if (req.groupId === "") return fail(ErrorCode.INVALID_GROUP_ID);
    const group = this.#groups.get(req.groupId);
    if (group === undefined) return fail(ErrorCode.UNKNOWN_MEMBER_ID);
    if (group.state === "Dead") return fail(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    if (group.isStaticMemberFenced(req.memberId, req.groupInstanceId)) {
      return fail(ErrorCode.FENCED_INSTANCE_ID);
    }
    const member = group.members.get(req.memberId);
    if (member === undefined) return fail(ErrorCode.UNKNOWN_MEMBER_ID);
    if (req.generationId !== group.generationId) return fail(ErrorCode.ILLEGAL_GENERATION);
    if (
      (req.protocolType != null && req.protocolType !== group.protocolType) ||
      (req.protocolName != null && req.protocolName !== group.protocolName)
    ) return fail(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    switch (group.state) {
      case "Empty":
        return fail(ErrorCode.UNKNOWN_MEMBER_ID);
      case "PreparingRebalance":
        return fail(ErrorCode.REBALANCE_IN_PROGRESS);
      case "CompletingRebalance": {
        member.awaitingSync?.(syncError(ErrorCode.REBALANCE_IN_PROGRESS));
        member.awaitingSync = respond;
        this.#markSynced(group, member.memberId);
        this.#heartbeatOk(group, member);
        if (group.leaderId !== member.memberId) return;
        const byId = new Map<string, Uint8Array>();
        for (const a of req.assignments) byId.set(a.memberId, a.assignment);
        for (const m of group.members.values()) {
          m.assignment = byId.get(m.memberId) ?? new Uint8Array(0);
        }
        if (this.#ownedOnly) return this.#storeAssignment(group);
        this.#stabilize(group);
        this.#persistGroup(group);
        return;
      }
      default: // Stable
        this.#markSynced(group, member.memberId);
        this.#heartbeatOk(group, member);
        return respond(this.#syncOk(group, member));
    }
  }

  /** The leader's assignment is in: Stable, and every waiting member gets its part. */
  #stabilize(group: GroupMetadata): void {
    group.transitionTo("Stable", this.#scheduler.now());
    for (const m of group.members.values()) {
      const cb = m.awaitingSync;
      if (cb === null) continue;
      m.awaitingSync = null;
      this.#heartbeatOk(group, m);
      cb(this.#syncOk(group, m));
    }
  }

  /**
   * Cluster mode (Kafka's `storeGroup`): the assignment is given out once the group's record is
   * committed (the in-sync replicas of its `__consumer_offsets` partition have it); if it cannot
   * be, the waiting members get COORDINATOR_NOT_AVAILABLE or NOT_COORDINATOR and the group
   * rebalances.
   */
  #storeAssignment(group: GroupMetadata): void {
    const generation = group.generationId;
    const record: CoordinatorRecord = {
      kind: "group",
      groupId: group.groupId,
      value: groupSnapshot(group),
    };
    this.#log!.append(group.groupId, [record]).then(
      () => ErrorCode.NONE,
      (e) => {
        this.#logger?.warn(
          `Cannot store the assignment of group ${group.groupId} generation ${generation}: ${
            e instanceof Error ? e.message : e
          }`,
        );
        return storeGroupError(e);
      },
    ).then((code) => {
      if (
        this.#groups.get(group.groupId) !== group || group.generationId !== generation ||
        group.state !== "CompletingRebalance"
      ) return;
      if (code === ErrorCode.NONE) return this.#stabilize(group);
      for (const m of group.members.values()) {
        m.assignment = new Uint8Array(0);
        const cb = m.awaitingSync;
        m.awaitingSync = null;
        cb?.(syncError(code));
      }
      this.#prepareRebalance(group);
    });
  }

  #markSynced(group: GroupMetadata, memberId: string): void {
    group.pendingSyncMembers.delete(memberId);
    if (group.pendingSyncMembers.size === 0) {
      group.syncTimer?.();
      group.syncTimer = null;
    }
  }

  #syncOk(group: GroupMetadata, member: MemberMetadata): SyncGroupResult {
    return {
      errorCode: ErrorCode.NONE,
      protocolType: group.protocolType,
      protocolName: group.protocolName,
      assignment: member.assignment,
    };
  }

  // ---------------------------------------------------------------- Heartbeat / session

  /**
   * Handle a Heartbeat.
   *
   * @param req The request.
   * @returns The error code: NONE, REBALANCE_IN_PROGRESS (rejoin), UNKNOWN_MEMBER_ID,
   *   ILLEGAL_GENERATION, FENCED_INSTANCE_ID, ...
   */
  heartbeat(req: HeartbeatParams): number {
    const own = this.#ownership(req.groupId);
    if (own !== ErrorCode.NONE) return own;
    if (req.groupId === "") return ErrorCode.INVALID_GROUP_ID;
    const group = this.#groups.get(req.groupId);
    if (group === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
    if (group.state === "Dead") return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    if (group.isStaticMemberFenced(req.memberId, req.groupInstanceId)) {
      return ErrorCode.FENCED_INSTANCE_ID;
    }
    const member = group.members.get(req.memberId);
    if (member === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
    if (req.generationId !== group.generationId) return ErrorCode.ILLEGAL_GENERATION;
    switch (group.state) {
      case "Empty":
        return ErrorCode.UNKNOWN_MEMBER_ID;
      case "PreparingRebalance":
        this.#heartbeatOk(group, member);
        return ErrorCode.REBALANCE_IN_PROGRESS;
      default:
        this.#heartbeatOk(group, member);
        return ErrorCode.NONE;
    }
  }

  #heartbeatOk(group: GroupMetadata, member: MemberMetadata): void {
    member.heartbeatTimer?.();
    member.lastHeartbeatMs = this.#scheduler.now();
    member.heartbeatTimer = this.#scheduler.schedule(
      member.sessionTimeoutMs,
      () => this.#onSessionExpired(group, member),
    );
  }

  #onSessionExpired(group: GroupMetadata, member: MemberMetadata): void {
    member.heartbeatTimer = null;
    if (group.members.get(member.memberId) !== member) return;
    if (member.awaitingJoin !== null || member.awaitingSync !== null) {
      // A waiting JoinGroup/SyncGroup keeps the member alive; the rebalance timeout bounds it.
      this.#heartbeatOk(group, member);
      return;
    }
    this.#logger?.info(
      `Group ${group.groupId}: member ${member.memberId} evicted: no heartbeat within ` +
        `${member.sessionTimeoutMs} ms`,
    );
    this.#removeMemberAndUpdateGroup(group, member);
  }

  #removeMemberAndUpdateGroup(group: GroupMetadata, member: MemberMetadata): void {
    const join = member.awaitingJoin;
    const sync = member.awaitingSync;
    member.awaitingJoin = null;
    member.awaitingSync = null;
    join?.(joinError(ErrorCode.UNKNOWN_MEMBER_ID, member.memberId));
    sync?.(syncError(ErrorCode.UNKNOWN_MEMBER_ID));
    group.remove(member.memberId);
    switch (group.state) {
      case "Stable":
      case "CompletingRebalance":
        return this.#prepareRebalance(group);
      case "PreparingRebalance":
        return this.#tryCompleteJoin(group);
    }
  }

  // ---------------------------------------------------------------- ConsumerGroupHeartbeat

  /**
   * Handle a ConsumerGroupHeartbeat (KIP-848): join, heartbeat, reconcile or leave a
   * consumer-protocol group, as Kafka's `GroupMetadataManager.consumerGroupHeartbeat`.
   *
   * @param req The request.
   * @param lookup Finds a subscribed topic's id and partition count.
   * @param topicNames Lists the topics a regex may match (those the member may describe); none
   *   when absent.
   * @returns The answer.
   */
  consumerGroupHeartbeat(
    req: ConsumerGroupHeartbeatParams,
    lookup: TopicLookup,
    topicNames: () => Iterable<string> = () => [],
  ): ConsumerGroupHeartbeatResult {
    const fail = (errorCode: number, errorMessage: string | null = null) => ({
      errorCode,
      errorMessage,
      memberId: null,
      memberEpoch: 0,
      heartbeatIntervalMs: 0,
      assignment: null,
    });
    const own = this.#ownership(req.groupId);
    if (own !== ErrorCode.NONE) return fail(own);
    const invalid = this.#invalidHeartbeat(req);
    if (invalid !== null) return fail(invalid[0], invalid[1]);
    const epoch = req.memberEpoch;
    let group = this.#groups.get(req.groupId);
    if (group === undefined || group.state === "Dead") {
      if (epoch !== 0) {
        return fail(ErrorCode.GROUP_ID_NOT_FOUND, `Consumer group ${clip(req.groupId)} not found.`);
      }
      group = new GroupMetadata(req.groupId, this.#scheduler.now());
      this.#groups.set(req.groupId, group);
    }
    if (group.consumer === null) {
      const emptyClassic = group.members.size === 0 && group.pendingMembers.size === 0;
      if (!emptyClassic) {
        return fail(
          ErrorCode.GROUP_ID_NOT_FOUND,
          `Cannot upgrade classic group ${clip(req.groupId)} to consumer group because online ` +
            `upgrade is disabled.`,
        );
      }
      if (epoch !== 0) {
        return fail(
          ErrorCode.GROUP_ID_NOT_FOUND,
          `Group ${clip(req.groupId)} is not a consumer group.`,
        );
      }
      // an empty classic group becomes a consumer group (its offsets stay)
      group.joinTimer?.();
      group.syncTimer?.();
      group.protocolType = "consumer";
      group.protocolName = null;
      group.leaderId = null;
      group.generationId = 0;
      group.consumer = new ConsumerGroup(req.groupId);
    }
    const cg = group.consumer;
    const cfg = this.#config;
    const ok = (m: ConsumerGroupMember, sendAssignment: boolean): ConsumerGroupHeartbeatResult => ({
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      memberId: m.memberId,
      memberEpoch: m.memberEpoch,
      heartbeatIntervalMs: cfg.consumerHeartbeatIntervalMs,
      assignment: sendAssignment ? partitionList(m.assigned) : null,
    });
    if (epoch === LEAVE_GROUP_MEMBER_EPOCH || epoch === LEAVE_GROUP_STATIC_MEMBER_EPOCH) {
      let m = cg.members.get(req.memberId);
      if (m === undefined && req.instanceId !== null) {
        m = cg.staticMember(req.instanceId);
        if (m !== undefined && m.memberId !== req.memberId) {
          return fail(
            ErrorCode.FENCED_INSTANCE_ID,
            `Static member ${clip(req.memberId)} with instance id ${
              clip(req.instanceId)
            } was fenced.`,
          );
        }
      }
      if (m === undefined) {
        return fail(
          ErrorCode.UNKNOWN_MEMBER_ID,
          `Member ${clip(req.memberId)} is not a member of the group.`,
        );
      }
      if (epoch === LEAVE_GROUP_STATIC_MEMBER_EPOCH && m.instanceId !== null) {
        // a static member leaving for a while keeps its partitions until it comes back or its
        // session ends
        cg.updateMember(m, {
          state: m.state,
          memberEpoch: LEAVE_GROUP_STATIC_MEMBER_EPOCH,
          assigned: m.assigned,
          pendingRevocation: m.pendingRevocation,
        });
        m.rebalanceTimer?.();
        m.rebalanceTimer = null;
        this.#scheduleConsumerSession(group, cg, m);
      } else {
        this.#logger?.info(`Consumer group ${req.groupId}: member ${m.memberId} left`);
        cg.removeMember(m.memberId);
      }
      const written = this.#persistConsumerGroup(group);
      const left = {
        errorCode: ErrorCode.NONE,
        errorMessage: null,
        memberId: req.memberId,
        memberEpoch: epoch,
        heartbeatIntervalMs: 0,
        assignment: null,
      };
      return written === undefined ? left : { ...left, written };
    }
    let member: ConsumerGroupMember;
    let bump = false;
    if (epoch === 0) {
      const existing = cg.members.get(req.memberId);
      const staticOld = req.instanceId === null ? undefined : cg.staticMember(req.instanceId);
      if (staticOld !== undefined && staticOld !== existing) {
        if (staticOld.memberEpoch !== LEAVE_GROUP_STATIC_MEMBER_EPOCH) {
          return fail(
            ErrorCode.UNRELEASED_INSTANCE_ID,
            `Static member ${clip(staticOld.memberId)} with instance id ${
              clip(req.instanceId)
            } is not ` +
              `released yet.`,
          );
        }
      }
      if (
        existing === undefined && staticOld === undefined && cg.members.size >= cfg.consumerMaxSize
      ) {
        return fail(
          ErrorCode.GROUP_MAX_SIZE_REACHED,
          `The consumer group has reached its maximum capacity of ${cfg.consumerMaxSize} members.`,
        );
      }
      const memberId = req.memberId === "" ? newUuid() : req.memberId;
      member = new ConsumerGroupMember(memberId);
      if (staticOld !== undefined && staticOld !== existing) {
        // the static member comes back under a new member id: it takes over the old one's
        // epoch, partitions and target (Kafka's static member replacement)
        const old = staticOld;
        member.instanceId = old.instanceId;
        member.subscribedTopicNames = old.subscribedTopicNames;
        member.subscribedTopicRegex = old.subscribedTopicRegex;
        member.serverAssignor = old.serverAssignor;
        member.rebalanceTimeoutMs = old.rebalanceTimeoutMs;
        member.state = old.state;
        member.assigned = copyPartitions(old.assigned);
        member.pendingRevocation = copyPartitions(old.pendingRevocation);
        const left = old.memberEpoch === LEAVE_GROUP_STATIC_MEMBER_EPOCH;
        member.memberEpoch = left ? old.previousMemberEpoch : old.memberEpoch;
        member.previousMemberEpoch = old.previousMemberEpoch;
        old.sessionTimer?.();
        old.rebalanceTimer?.();
        cg.updateMember(old, {
          state: "stable",
          memberEpoch: old.memberEpoch,
          assigned: new Map(),
          pendingRevocation: new Map(),
        });
        cg.members.delete(old.memberId);
        cg.removedStored.add(old.memberId);
        const target = cg.target.get(old.memberId);
        cg.target.delete(old.memberId);
        if (target !== undefined) cg.target.set(memberId, target);
      } else {
        if (existing !== undefined) {
          // a member rejoining (after being fenced) starts over with nothing owned
          existing.sessionTimer?.();
          existing.rebalanceTimer?.();
          cg.updateMember(existing, {
            state: "stable",
            memberEpoch: existing.memberEpoch,
            assigned: new Map(),
            pendingRevocation: new Map(),
          });
          cg.members.delete(existing.memberId);
          cg.target.delete(existing.memberId);
        }
        bump = true;
      }
      cg.putMember(member);
    } else {
      const m = cg.members.get(req.memberId);
      if (m === undefined) {
        return fail(
          ErrorCode.UNKNOWN_MEMBER_ID,
          `Member ${clip(req.memberId)} is not a member of the group.`,
        );
      }
      if (epoch > m.memberEpoch) {
        return fail(
          ErrorCode.FENCED_MEMBER_EPOCH,
          `The consumer group member has a greater member epoch (${epoch}) than the one known ` +
            `by the group coordinator (${m.memberEpoch}). The member must abandon all its ` +
            `partitions and rejoin.`,
        );
      }
      if (epoch < m.memberEpoch) {
        // the previous epoch with a subset of the assignment: the answer with the new epoch was lost
        const subset = req.topicPartitions !== null &&
          req.topicPartitions.every((t) =>
            t.partitions.every((p) => m.assigned.get(t.topicId)?.has(p) ?? false)
          );
        if (epoch !== m.previousMemberEpoch || !subset) {
          return fail(
            ErrorCode.FENCED_MEMBER_EPOCH,
            `The consumer group member has a smaller member epoch (${epoch}) than the one ` +
              `known by the group coordinator (${m.memberEpoch}). The member must abandon all ` +
              `its partitions and rejoin.`,
          );
        }
      }
      member = m;
    }
    // the member's fields; a change of subscription or assignor bumps the group epoch
    if (req.instanceId !== null) member.instanceId = req.instanceId;
    if (req.rackId !== null) member.rackId = req.rackId;
    if (req.rebalanceTimeoutMs !== -1) member.rebalanceTimeoutMs = req.rebalanceTimeoutMs;
    member.clientId = req.clientId;
    member.clientHost = req.clientHost;
    if (req.subscribedTopicNames !== null) {
      const names = [...new Set(req.subscribedTopicNames)].sort();
      if (names.join("\u0000") !== member.subscribedTopicNames.join("\u0000")) {
        member.subscribedTopicNames = names;
        bump = true;
      }
    }
    const regex = req.subscribedTopicRegex ?? null;
    if (regex !== null && (regex === "" ? null : regex) !== member.subscribedTopicRegex) {
      member.subscribedTopicRegex = regex === "" ? null : regex;
      bump = true;
    }
    if (req.serverAssignor !== null && req.serverAssignor !== member.serverAssignor) {
      member.serverAssignor = req.serverAssignor;
      bump = true;
    }
    // regexes: a new one is resolved now, all of them again once the refresh interval has
    // passed (Kafka re-resolves them on new topics, at most every 10 s); what they match counts
    // as the member's topic names
    if (cg.resolvedRegexes.size > 0 || member.subscribedTopicRegex !== null) {
      const now = this.#scheduler.now();
      const all = now - cg.regexesRefreshedAt >= cfg.consumerRegexRefreshIntervalMs;
      const candidates = function* () {
        for (const t of topicNames()) if (!isInternalTopic(t)) yield t;
      };
      const match = (r: string, t: string) => {
        const re = this.#compiledRegex(r);
        return !(re instanceof TopicRegexError) && re.matches(t);
      };
      if (cg.refreshRegexes(match, candidates, now, all)) bump = true;
    }
    // topics created, deleted or grown since the group last looked also bump it
    if (cg.refreshMetadata(lookup)) bump = true;
    if (bump) cg.groupEpoch++;
    if (cg.groupEpoch > cg.assignmentEpoch) {
      cg.computeTargetAssignment(cg.preferredAssignor(cfg.consumerAssignors[0]));
    }
    const owned = req.topicPartitions === null ? null : partitionsOf(req.topicPartitions);
    const stateBefore = member.state;
    const epochBefore = member.memberEpoch;
    const changed = cg.reconcile(member, owned);
    this.#scheduleConsumerSession(group, cg, member);
    if (member.state === "unrevoked_partitions") {
      if (stateBefore !== "unrevoked_partitions" || epochBefore !== member.memberEpoch) {
        this.#scheduleConsumerRebalance(group, cg, member);
      }
    } else {
      member.rebalanceTimer?.();
      member.rebalanceTimer = null;
    }
    const written = this.#persistConsumerGroup(group);
    const full = epoch === 0 ||
      (req.rebalanceTimeoutMs !== -1 && req.subscribedTopicNames !== null &&
        req.topicPartitions !== null);
    const result = ok(member, full || changed);
    return written === undefined ? result : { ...result, written };
  }

  /** Kafka's `throwIfConsumerGroupHeartbeatRequestIsInvalid`: [error code, message] or null. */
  #invalidHeartbeat(req: ConsumerGroupHeartbeatParams): [number, string] | null {
    const bad = (message: string): [number, string] => [ErrorCode.INVALID_REQUEST, message];
    if (req.groupId === "") return bad("GroupId can't be empty.");
    if (req.instanceId === "") return bad("InstanceId can't be empty.");
    if (req.rackId === "") return bad("RackId can't be empty.");
    if ((req.apiVersion ?? 1) >= 1 && req.memberId === "") return bad("MemberId can't be empty.");
    const epoch = req.memberEpoch;
    if (epoch > 0 || epoch === LEAVE_GROUP_MEMBER_EPOCH) {
      if (req.memberId === "") return bad("MemberId can't be empty.");
    } else if (epoch === 0) {
      if (req.rebalanceTimeoutMs === -1) {
        return bad("RebalanceTimeoutMs must be provided in first request.");
      }
      if (req.topicPartitions === null || req.topicPartitions.length !== 0) {
        return bad("TopicPartitions must be empty when (re-)joining.");
      }
      if (req.subscribedTopicNames === null && (req.subscribedTopicRegex ?? null) === null) {
        return bad(
          (req.apiVersion ?? 1) >= 1
            ? "Either SubscribedTopicNames or SubscribedTopicRegex must be non-null when " +
              "(re-)joining."
            : "SubscribedTopicNames must be set in first request.",
        );
      }
    } else if (epoch === LEAVE_GROUP_STATIC_MEMBER_EPOCH) {
      if (req.memberId === "") return bad("MemberId can't be empty.");
      if (req.instanceId === null) return bad("InstanceId can't be null.");
    } else {
      return bad("MemberEpoch is invalid.");
    }
    if (
      req.serverAssignor !== null && !this.#config.consumerAssignors.includes(req.serverAssignor)
    ) {
      return [
        ErrorCode.UNSUPPORTED_ASSIGNOR,
        `ServerAssignor ${clip(req.serverAssignor)} is not supported. Supported assignors: ` +
        `${this.#config.consumerAssignors.join(", ")}.`,
      ];
    }
    // an empty regex is none (librdkafka sends "" with a list of names, as Kafka 4.0 reads it)
    const regex = req.subscribedTopicRegex ?? "";
    if (regex !== "") {
      const re = this.#compiledRegex(regex);
      if (re instanceof TopicRegexError) {
        return [
          ErrorCode.INVALID_REGULAR_EXPRESSION,
          `SubscribedTopicRegex \`${clip(regex)}\` is not a valid regular expression: ` +
          `${re.description}.`,
        ];
      }
    }
    return null;
  }

  /** A topic regex compiled (RE2J syntax), or why it is invalid; cached. */
  #compiledRegex(regex: string): TopicRegex | TopicRegexError {
    let re = this.#regexes.get(regex);
    if (re !== undefined) return re;
    try {
      re = compileTopicRegex(regex);
    } catch (e) {
      if (!(e instanceof TopicRegexError)) throw e;
      re = e;
    }
    if (this.#regexes.size >= 1000) this.#regexes.clear();
    this.#regexes.set(regex, re);
    return re;
  }

  /**
   * Writes what changed of a consumer-protocol group: its epoch (Kafka's `ConsumerGroupMetadata`
   * record), each member's metadata and current assignment (`ConsumerGroupMemberMetadata`,
   * `ConsumerGroupCurrentMemberAssignment`), tombstones for members gone; so that after a restart
   * or a coordinator move the members go on at their epochs with their partitions.
   *
   * @returns Resolves to NONE once durable, or to the error of a failed write (logged; written
   *   again with the next change); `undefined` when nothing changed.
   */
  #persistConsumerGroup(group: GroupMetadata): Promise<number> | undefined {
    const cg = group.consumer;
    if (cg === null) return undefined;
    const records: CoordinatorRecord[] = [];
    const groupId = group.groupId;
    if (cg.persistedEpoch !== cg.groupEpoch) {
      cg.persistedEpoch = cg.groupEpoch;
      records.push({ kind: "consumer-group", groupId, value: { epoch: cg.groupEpoch } });
    }
    // resolved regexes no member subscribes to any more go, with a tombstone
    const subscribedRegexes = cg.subscribedRegexes();
    for (const r of [...cg.resolvedRegexes.keys()]) {
      if (!subscribedRegexes.has(r)) cg.resolvedRegexes.delete(r);
    }
    for (const r of [...cg.storedRegexes.keys()]) {
      if (cg.resolvedRegexes.has(r)) continue;
      cg.storedRegexes.delete(r);
      records.push({ kind: "consumer-regex", groupId, regex: r, value: null });
    }
    for (const [r, resolved] of cg.resolvedRegexes) {
      const json = JSON.stringify(resolved.topics);
      if (cg.storedRegexes.get(r) === json) continue;
      cg.storedRegexes.set(r, json);
      records.push({
        kind: "consumer-regex",
        groupId,
        regex: r,
        value: {
          topics: [...resolved.topics],
          version: resolved.version,
          timestamp: resolved.timestamp,
        },
      });
    }
    for (const memberId of cg.removedStored) {
      if (cg.members.has(memberId)) continue;
      records.push({ kind: "consumer-member", groupId, memberId, value: null });
      records.push({ kind: "consumer-assignment", groupId, memberId, value: null });
    }
    cg.removedStored.clear();
    for (const m of cg.members.values()) {
      const meta = consumerMemberSnapshot(m);
      const metaJson = JSON.stringify(meta);
      if (metaJson !== m.storedMetadata) {
        m.storedMetadata = metaJson;
        records.push({ kind: "consumer-member", groupId, memberId: m.memberId, value: meta });
      }
      const assignment = consumerAssignmentSnapshot(m);
      const assignmentJson = JSON.stringify(assignment);
      if (assignmentJson !== m.storedAssignment) {
        m.storedAssignment = assignmentJson;
        records.push({
          kind: "consumer-assignment",
          groupId,
          memberId: m.memberId,
          value: assignment,
        });
      }
    }
    if (records.length === 0 || this.#log === undefined) return undefined;
    return this.#log.append(groupId, records).then(() => ErrorCode.NONE, (e) => {
      // written again at the next change
      if (group.consumer === cg) {
        cg.persistedEpoch = -1;
        for (const m of cg.members.values()) m.storedMetadata = m.storedAssignment = null;
        cg.storedRegexes.clear();
      }
      this.#logger?.error(
        `Cannot store consumer group ${groupId}: ${e instanceof Error ? e.message : e}`,
      );
      return storeGroupError(e);
    });
  }

  /** Marks a member loaded from the log as stored as it is (nothing to write again). */
  #persistedAs(m: ConsumerGroupMember): void {
    m.storedMetadata = JSON.stringify(consumerMemberSnapshot(m));
    m.storedAssignment = JSON.stringify(consumerAssignmentSnapshot(m));
  }

  /** (Re)starts a consumer member's session timer: expiry removes it from the group. */
  #scheduleConsumerSession(group: GroupMetadata, cg: ConsumerGroup, m: ConsumerGroupMember): void {
    m.sessionTimer?.();
    m.sessionTimer = this.#scheduler.schedule(this.#config.consumerSessionTimeoutMs, () => {
      m.sessionTimer = null;
      if (group.consumer !== cg || cg.members.get(m.memberId) !== m) return;
      this.#logger?.info(
        `Consumer group ${group.groupId}: member ${m.memberId} fenced: no heartbeat within ` +
          `${this.#config.consumerSessionTimeoutMs} ms`,
      );
      cg.removeMember(m.memberId);
      void this.#persistConsumerGroup(group);
    });
  }

  /**
   * Starts a member's rebalance timer when it must revoke partitions: if it still has not at the
   * same epoch when it fires, it is removed from the group (Kafka's rebalance timeout).
   */
  #scheduleConsumerRebalance(
    group: GroupMetadata,
    cg: ConsumerGroup,
    m: ConsumerGroupMember,
  ): void {
    m.rebalanceTimer?.();
    const epoch = m.memberEpoch;
    m.rebalanceTimer = this.#scheduler.schedule(m.rebalanceTimeoutMs, () => {
      m.rebalanceTimer = null;
      if (group.consumer !== cg || cg.members.get(m.memberId) !== m) return;
      if (m.state !== "unrevoked_partitions" || m.memberEpoch !== epoch) return;
      this.#logger?.info(
        `Consumer group ${group.groupId}: member ${m.memberId} fenced: partitions not revoked ` +
          `within ${m.rebalanceTimeoutMs} ms`,
      );
      cg.removeMember(m.memberId);
      void this.#persistConsumerGroup(group);
    });
  }

  /**
   * Handle ConsumerGroupDescribe for one group.
   *
   * @param groupId The group id.
   * @returns Its description; GROUP_ID_NOT_FOUND for an unknown or classic group.
   */
  consumerGroupDescribe(groupId: string): ConsumerGroupDescription {
    const base: ConsumerGroupDescription = {
      groupId,
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      groupState: "",
      groupEpoch: 0,
      assignmentEpoch: 0,
      assignorName: "",
      members: [],
    };
    const own = this.#ownership(groupId);
    if (own !== ErrorCode.NONE) return { ...base, errorCode: own };
    const group = this.#groups.get(groupId);
    if (group === undefined || group.state === "Dead") {
      return {
        ...base,
        errorCode: ErrorCode.GROUP_ID_NOT_FOUND,
        errorMessage: `Group ${clip(groupId)} not found.`,
      };
    }
    const cg = group.consumer;
    if (cg === null) {
      return {
        ...base,
        errorCode: ErrorCode.GROUP_ID_NOT_FOUND,
        errorMessage: `Group ${clip(groupId)} is not a consumer group.`,
      };
    }
    const names = new Map<string, string>();
    for (const t of cg.subscriptionMetadata.values()) names.set(t.id, t.name);
    const named = (p: Map<string, Set<number>>) =>
      partitionList(p).map((t) => ({ ...t, topicName: names.get(t.topicId) ?? "" }));
    return {
      ...base,
      groupState: cg.state,
      groupEpoch: cg.groupEpoch,
      assignmentEpoch: cg.assignmentEpoch,
      assignorName: cg.preferredAssignor(this.#config.consumerAssignors[0]),
      members: [...cg.members.values()].map((m) => ({
        memberId: m.memberId,
        instanceId: m.instanceId,
        rackId: m.rackId,
        memberEpoch: m.memberEpoch,
        clientId: m.clientId,
        clientHost: m.clientHost,
        subscribedTopicNames: m.subscribedTopicNames,
        subscribedTopicRegex: m.subscribedTopicRegex,
        assignment: named(m.assigned),
        targetAssignment: named(cg.target.get(m.memberId) ?? new Map()),
      })),
    };
  }

  /**
   * Kafka's `ConsumerGroup.validateOffsetCommit`/`validateOffsetFetch` for a consumer-protocol
   * group: an epoch below 0 with no members (or, for a fetch, no member id) passes; otherwise
   * the member must exist (UNKNOWN_MEMBER_ID) and have that epoch (STALE_MEMBER_EPOCH).
   */
  #validateConsumerMember(
    cg: ConsumerGroup,
    memberId: string | null,
    memberEpoch: number,
    fetch: boolean,
  ): number {
    if (fetch ? memberId === null && memberEpoch < 0 : memberEpoch < 0 && cg.members.size === 0) {
      return ErrorCode.NONE;
    }
    const m = memberId === null ? undefined : cg.members.get(memberId);
    if (m === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
    if (m.memberEpoch !== memberEpoch) return ErrorCode.STALE_MEMBER_EPOCH;
    return ErrorCode.NONE;
  }

  // ---------------------------------------------------------------- LeaveGroup

  /**
   * Handle a LeaveGroup for one or more members (v3+ batches them).
   *
   * @param groupId The group id.
   * @param members The leaving members.
   * @returns Top-level and per-member error codes.
   */
  leaveGroup(groupId: string, members: LeavingMember[]): LeaveGroupResult {
    const top = (code: number): LeaveGroupResult => ({
      errorCode: code,
      members: members.map((m) => ({ ...m, errorCode: code })),
    });
    const own = this.#ownership(groupId);
    if (own !== ErrorCode.NONE) return top(own);
    if (groupId === "") return top(ErrorCode.INVALID_GROUP_ID);
    const group = this.#groups.get(groupId);
    if (group === undefined) {
      return {
        errorCode: ErrorCode.NONE,
        members: members.map((m) => ({ ...m, errorCode: ErrorCode.UNKNOWN_MEMBER_ID })),
      };
    }
    if (group.state === "Dead") return top(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    const out: LeaveGroupResult["members"] = [];
    for (const leaving of members) {
      out.push({ ...leaving, errorCode: this.#leaveOne(group, leaving) });
    }
    return { errorCode: ErrorCode.NONE, members: out };
  }

  #leaveOne(group: GroupMetadata, leaving: LeavingMember): number {
    let memberId = leaving.memberId;
    if (leaving.groupInstanceId !== null) {
      const current = group.staticMembers.get(leaving.groupInstanceId);
      if (current === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
      if (memberId !== "" && memberId !== current) return ErrorCode.FENCED_INSTANCE_ID;
      memberId = current;
    }
    const pending = group.pendingMembers.get(memberId);
    if (pending !== undefined) {
      pending();
      group.pendingMembers.delete(memberId);
      this.#tryCompleteJoin(group);
      return ErrorCode.NONE;
    }
    const member = group.members.get(memberId);
    if (member === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
    this.#removeMemberAndUpdateGroup(group, member);
    return ErrorCode.NONE;
  }

  // ---------------------------------------------------------------- Offsets

  /**
   * Handle an OffsetCommit. A generation of -1 with an empty member id is a simple (admin)
   * commit, allowed when the group is Empty or unknown (it is then created Empty).
   *
   * @param req The request.
   * @returns Per-partition error codes, in request order.
   */
  async commitOffsets(req: OffsetCommitParams): Promise<OffsetCommitResultTopic[]> {
    const all = (code: number) => everyPartition(req.topics, code);
    const own = this.#ownership(req.groupId);
    if (own !== ErrorCode.NONE) return all(own);
    if (req.groupId === "") return all(ErrorCode.INVALID_GROUP_ID);
    let group = this.#groups.get(req.groupId);
    if (group === undefined) {
      if (req.generationId >= 0) return all(ErrorCode.ILLEGAL_GENERATION);
      group = new GroupMetadata(req.groupId, this.#scheduler.now());
      this.#groups.set(req.groupId, group);
    }
    const error = this.#validateCommit(group, req);
    if (error !== ErrorCode.NONE) return all(error);
    const now = this.#scheduler.now();
    const expire = req.retentionTimeMs !== undefined && req.retentionTimeMs >= 0
      ? now + req.retentionTimeMs
      : -1;
    const { records, result } = this.#offsetRecords(req, now, expire);
    if (records.length === 0) return result;
    let base: number;
    try {
      base = await this.#write(req.groupId, records);
    } catch (e) {
      this.#logger?.error(
        `Cannot commit offsets for group ${req.groupId}: ${e instanceof Error ? e.message : e}`,
      );
      const code = commitError(e);
      return failUnset(result, code);
    }
    if (this.#groups.get(req.groupId) === group) {
      // a plain commit replaces what is committed, as its record does in the log
      records.forEach((r, i) => {
        if (r.kind === "offset" && r.value !== null) {
          group.offsets.set(offsetKey(r.topic, r.partition), {
            ...r.value,
            recordOffset: base + i,
          });
        }
      });
    } else {
      const current = this.#reloadedWithout(req.groupId, base);
      // the partition was loaded again while the records were written, from a log without
      // them: they are committed (acknowledged below), so the loaded state takes them where
      // nothing newer is there, as a replay of the log would
      records.forEach((r, i) => {
        if (current === undefined || r.kind !== "offset" || r.value === null) return;
        const key = offsetKey(r.topic, r.partition);
        const have = current.offsets.get(key);
        if (have !== undefined && have.recordOffset > base + i) return;
        current.offsets.set(key, { ...r.value, recordOffset: base + i });
      });
    }
    return result;
  }

  /**
   * The group to apply records written at `base` and after to, when its partition was loaded
   * again during their write from a log that ended before `base` (made if the load found no
   * such group); `undefined` when the partition is not served here or the load read them.
   */
  #reloadedWithout(groupId: string, base: number): GroupMetadata | undefined {
    if (!this.#ownedOnly || this.#ownership(groupId) !== ErrorCode.NONE) return undefined;
    const upTo = this.#loadedUpTo.get(this.#log!.partitionFor!(groupId));
    if (upTo === undefined || base < upTo) return undefined;
    let group = this.#groups.get(groupId);
    if (group === undefined) {
      group = new GroupMetadata(groupId, this.#scheduler.now());
      this.#groups.set(groupId, group);
    }
    return group;
  }

  /**
   * The offset records of a commit, and its answer: OFFSET_METADATA_TOO_LARGE for partitions
   * whose metadata is too long (no record), NONE for the others.
   */
  #offsetRecords(
    req: Pick<OffsetCommitParams, "groupId" | "topics">,
    now: number,
    expireTimestamp: number,
  ): { records: CoordinatorRecord[]; result: OffsetCommitResultTopic[] } {
    const records: CoordinatorRecord[] = [];
    const result: OffsetCommitResultTopic[] = req.topics.map((t) => ({
      topic: t.topic,
      partitions: t.partitions.map((p) => {
        const metadata = p.metadata ?? "";
        if (utf8Length(metadata) > this.#config.offsetMetadataMaxBytes) {
          return { partition: p.partition, errorCode: ErrorCode.OFFSET_METADATA_TOO_LARGE };
        }
        records.push({
          kind: "offset",
          groupId: req.groupId,
          topic: t.topic,
          partition: p.partition,
          value: {
            offset: p.offset,
            leaderEpoch: p.leaderEpoch,
            metadata,
            commitTimestamp: now,
            expireTimestamp,
          },
        });
        return { partition: p.partition, errorCode: ErrorCode.NONE };
      }),
    }));
    return { records, result };
  }

  /**
   * The KIP-447 check of a TxnOffsetCommit held by the transaction coordinator (single-broker
   * mode): with a member id, instance id or generation they must be the group's current ones
   * (as {@linkcode GroupCoordinator.txnCommitOffsets} checks in cluster mode), so that a
   * member that left its generation cannot commit offsets in a transaction.
   *
   * @param req The request.
   * @returns NONE, or the error of every partition (`ILLEGAL_GENERATION`, `UNKNOWN_MEMBER_ID`,
   *   `FENCED_INSTANCE_ID`, a coordinator error).
   */
  validateTxnOffsetCommit(req: TxnOffsetCommitParams): number {
    const own = this.#ownership(req.groupId);
    if (own !== ErrorCode.NONE) return own;
    if (req.groupId === "") return ErrorCode.INVALID_GROUP_ID;
    const group = this.#groups.get(req.groupId);
    if (group === undefined) {
      return req.generationId < 0 && req.memberId === "" && req.groupInstanceId === null
        ? ErrorCode.NONE
        : ErrorCode.ILLEGAL_GENERATION;
    }
    return this.#validateTxnCommit(group, req);
  }

  /**
   * Handle a TxnOffsetCommit (Kafka's `handleTxnCommitOffsets`): the offsets are written to
   * `__consumer_offsets` as a transactional batch of the producer and held as pending; the
   * transaction's marker on the group's partition commits them to the group or drops them
   * ({@linkcode GroupCoordinator.completeTxnOffsets}). A group that does not exist is created
   * (Empty). With a member id, instance id or generation (TxnOffsetCommit v3+) they must be
   * the group's current ones; without, any group takes them.
   *
   * @param req The request.
   * @returns Per-partition error codes, in request order: PRODUCER_FENCED when the partition
   *   has a newer epoch of the producer, the append's errors as for an offset commit.
   */
  async txnCommitOffsets(req: TxnOffsetCommitParams): Promise<OffsetCommitResultTopic[]> {
    const all = (code: number) => everyPartition(req.topics, code);
    const own = this.#ownership(req.groupId);
    if (own !== ErrorCode.NONE) return all(own);
    if (req.groupId === "") return all(ErrorCode.INVALID_GROUP_ID);
    let group = this.#groups.get(req.groupId);
    if (group === undefined) {
      group = new GroupMetadata(req.groupId, this.#scheduler.now());
      this.#groups.set(req.groupId, group);
    }
    const error = this.#validateTxnCommit(group, req);
    if (error !== ErrorCode.NONE) return all(error);
    const now = this.#scheduler.now();
    const { records, result } = this.#offsetRecords(req, now, -1);
    if (records.length === 0) return result;
    let base: number;
    try {
      base = await this.#writeTransactional(req.groupId, records, req);
    } catch (e) {
      this.#logger?.warn(
        `Cannot write the transactional offsets of group ${req.groupId} (transactional id ` +
          `${req.transactionalId}, producer ${req.producerId} epoch ${req.producerEpoch}): ` +
          `${e instanceof Error ? e.message : e}`,
      );
      const code = (e as { code?: unknown }).code === ErrorCode.INVALID_PRODUCER_EPOCH
        ? ErrorCode.PRODUCER_FENCED
        : commitError(e);
      return failUnset(result, code);
    }
    if (
      this.#groups.get(req.groupId) === group ||
      this.#reloadedWithout(req.groupId, base) !== undefined
    ) {
      // (or the partition was loaded again during the write, from a log without the records:
      // they are held as the load would have held them)
      records.forEach((r, i) => {
        if (r.kind === "offset") this.#addPending(req.producerId, r, base + i);
      });
    }
    return result;
  }

  /**
   * Append a group's records to the log; resolves with the offset of the first (record `i` is
   * at that offset plus `i`). Without a log, the position it would have had.
   */
  async #write(groupId: string, records: CoordinatorRecord[]): Promise<number> {
    if (this.#log !== undefined) return await this.#log.append(groupId, records);
    return this.#unloggedPosition(records.length);
  }

  /** {@linkcode GroupCoordinator.#write} for a transactional batch of the producer. */
  async #writeTransactional(
    groupId: string,
    records: CoordinatorRecord[],
    producer: { producerId: number; producerEpoch: number },
  ): Promise<number> {
    if (this.#log !== undefined) {
      return await this.#log.appendTransactional(groupId, records, {
        producerId: producer.producerId,
        producerEpoch: producer.producerEpoch,
      });
    }
    return this.#unloggedPosition(records.length);
  }

  /** Without a log: positions for `count` records, numbered as a log would number them. */
  #unloggedPosition(count: number): number {
    const base = this.#nextPosition;
    this.#nextPosition += count;
    return base;
  }

  /**
   * The transaction of `producerId` ended with a marker on `__consumer_offsets` partition
   * `partition` (written there as its leader): its pending offsets of the partition's groups
   * are committed to them (`commit`) or dropped (Kafka's `handleTxnCompletion`). Committed, an
   * offset replaces the partition's committed one only if its record is newer in the log
   * (Kafka's `replayEndTransactionMarker`): a plain commit written after the TxnOffsetCommit
   * and before the marker stays. While the partition loads, the outcome is kept and applied
   * once it is loaded (the load may have read the log before the marker).
   *
   * @param partition The `__consumer_offsets` partition of the marker.
   * @param producerId The transaction's producer id.
   * @param commit COMMIT (`true`) or ABORT.
   * @returns How many offsets were committed (a pending offset older than the committed one
   *   is not counted).
   */
  completeTxnOffsets(partition: number, producerId: number, commit: boolean): number {
    if (this.#ownedOnly && !this.#partitions.serves(partition)) {
      if (this.#partitions.loading(partition)) {
        let early = this.#completedWhileLoading.get(partition);
        if (early === undefined) this.#completedWhileLoading.set(partition, early = []);
        early.push({ producerId, commit });
      }
      return 0;
    }
    const byGroup = this.#pendingTxnOffsets.get(producerId);
    if (byGroup === undefined) return 0;
    let n = 0;
    for (const [groupId, offsets] of [...byGroup]) {
      if ((this.#log?.partitionFor?.(groupId) ?? partition) !== partition) continue;
      byGroup.delete(groupId);
      if (!commit || offsets.size === 0) continue;
      let group = this.#groups.get(groupId);
      if (group === undefined) {
        group = new GroupMetadata(groupId, this.#scheduler.now());
        this.#groups.set(groupId, group);
      }
      for (const [k, v] of offsets) {
        if (commitTxnOffset(group.offsets, k, v)) n++;
      }
    }
    if (byGroup.size === 0) this.#pendingTxnOffsets.delete(producerId);
    return n;
  }

  /** Producer ids with offsets pending in a transaction (for tests), ascending. */
  get pendingTxnProducers(): number[] {
    return [...this.#pendingTxnOffsets.keys()].sort((a, b) => a - b);
  }

  /** An offset of the producer's open transaction, written at `recordOffset`. */
  #addPending(
    producerId: number,
    r: CoordinatorRecord & { kind: "offset" },
    recordOffset: number,
  ): void {
    if (r.value === null) return;
    this.#openTxnOffsets(producerId, r.groupId).set(offsetKey(r.topic, r.partition), {
      ...r.value,
      recordOffset,
    });
  }

  /** The offsets the producer's open transaction holds for the group (made empty if none). */
  #openTxnOffsets(producerId: number, groupId: string): Map<string, CommittedOffset> {
    let byGroup = this.#pendingTxnOffsets.get(producerId);
    if (byGroup === undefined) this.#pendingTxnOffsets.set(producerId, byGroup = new Map());
    let offsets = byGroup.get(groupId);
    if (offsets === undefined) byGroup.set(groupId, offsets = new Map());
    return offsets;
  }

  /**
   * Whether an open transaction holds an offset of the group's partition `key` (Kafka's
   * `hasPendingTransactionalOffsets`).
   */
  #hasPendingTxnOffset(groupId: string, key: string): boolean {
    for (const byGroup of this.#pendingTxnOffsets.values()) {
      if (byGroup.get(groupId)?.has(key)) return true;
    }
    return false;
  }

  /** Whether a transaction still open sent offsets of the group (TxnOffsetCommit). */
  #hasOpenTxn(groupId: string): boolean {
    for (const byGroup of this.#pendingTxnOffsets.values()) if (byGroup.has(groupId)) return true;
    return false;
  }

  /** The keys of the group's partitions with offsets of open transactions. */
  #pendingTxnKeys(groupId: string): Set<string> {
    const keys = new Set<string>();
    for (const byGroup of this.#pendingTxnOffsets.values()) {
      for (const key of byGroup.get(groupId)?.keys() ?? []) keys.add(key);
    }
    return keys;
  }

  /**
   * An offset tombstone of the group's partition `key`, written at `position`, took effect: the
   * committed offset and the offsets open transactions hold for it are gone (Kafka's replay of an
   * offset tombstone), those of records older than the tombstone only (a commit written while
   * the tombstone was being written, after it in the log, stays); those transactions stay open
   * for the group.
   */
  #deleteOffset(group: GroupMetadata, key: string, position: number): void {
    if ((group.offsets.get(key)?.recordOffset ?? Infinity) < position) group.offsets.delete(key);
    for (const byGroup of this.#pendingTxnOffsets.values()) {
      const offsets = byGroup.get(group.groupId);
      if ((offsets?.get(key)?.recordOffset ?? Infinity) < position) offsets!.delete(key);
    }
  }

  /** Kafka's `validateOffsetCommit` for a transactional commit. */
  #validateTxnCommit(group: GroupMetadata, req: TxnOffsetCommitParams): number {
    if (group.state === "Dead") return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    if (req.generationId < 0 && req.memberId === "" && req.groupInstanceId === null) {
      return ErrorCode.NONE;
    }
    if (group.consumer !== null) {
      // a consumer-protocol member (KIP-848): known, at its current epoch
      const m = group.consumer.members.get(req.memberId);
      if (m === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
      return m.memberEpoch === req.generationId ? ErrorCode.NONE : ErrorCode.ILLEGAL_GENERATION;
    }
    if (group.isStaticMemberFenced(req.memberId, req.groupInstanceId)) {
      return ErrorCode.FENCED_INSTANCE_ID;
    }
    if (!group.members.has(req.memberId)) return ErrorCode.UNKNOWN_MEMBER_ID;
    if (req.generationId !== group.generationId) return ErrorCode.ILLEGAL_GENERATION;
    return ErrorCode.NONE;
  }

  #validateCommit(group: GroupMetadata, req: OffsetCommitParams): number {
    if (group.state === "Dead") return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    if (group.consumer !== null) {
      const cg = group.consumer;
      if (req.generationId < 0 && cg.members.size === 0) return ErrorCode.NONE;
      const m = cg.members.get(req.memberId);
      if (m === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
      if ((req.apiVersion ?? 9) < 9) return ErrorCode.UNSUPPORTED_VERSION;
      return this.#validateConsumerMember(cg, req.memberId, req.generationId, false);
    }
    if (req.generationId < 0 && req.memberId === "" && group.state === "Empty") {
      return ErrorCode.NONE;
    }
    if (group.isStaticMemberFenced(req.memberId, req.groupInstanceId)) {
      return ErrorCode.FENCED_INSTANCE_ID;
    }
    const member = group.members.get(req.memberId);
    if (member === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
    if (req.generationId !== group.generationId) return ErrorCode.ILLEGAL_GENERATION;
    if (group.state === "CompletingRebalance") return ErrorCode.REBALANCE_IN_PROGRESS;
    this.#heartbeatOk(group, member);
    return ErrorCode.NONE;
  }

  /**
   * Handle an OffsetFetch for one group. With `requireStable` (OffsetFetch v7+, KIP-447), a
   * partition with an offset of a transaction still open (TxnOffsetCommit accepted, the
   * transaction's marker not yet applied) gets UNSTABLE_OFFSET_COMMIT and offset -1
   * (Kafka's `GroupMetadata.hasPendingOffsetCommitsForTopicPartition`), so that the client
   * retries until the transaction ends; without it, the committed offset is answered.
   *
   * @example
   * ```ts
   * import { GroupCoordinator } from "./coordinator.ts";
   * import { ManualScheduler } from "./scheduler.ts";
   *
   * const coordinator = new GroupCoordinator({ scheduler: new ManualScheduler() });
   * const r = coordinator.fetchOffsets("g", [{ topic: "t", partitions: [0] }], {
   *   requireStable: true,
   * });
   * // nothing committed, nothing pending
   * console.assert(r.topics[0].partitions[0].offset === -1);
   * console.assert(r.topics[0].partitions[0].errorCode === 0);
   * coordinator.close();
   * ```
   *
   * @param groupId The group id.
   * @param topics Topics and partitions to fetch, or `null` for every committed offset (a
   *   partition with only a pending transactional offset is then left out, as in Kafka).
   * @param options `requireStable`.
   * @returns Committed offsets; -1 (with metadata `""`) where nothing is committed.
   */
  fetchOffsets(
    groupId: string,
    topics: { topic: string; partitions: number[] }[] | null,
    options: OffsetFetchOptions = {},
  ): OffsetFetchResult {
    const own = this.#ownership(groupId);
    if (own !== ErrorCode.NONE) return { errorCode: own, topics: [] };
    const group = this.#groups.get(groupId);
    if (group?.consumer != null) {
      const code = this.#validateConsumerMember(
        group.consumer,
        options.memberId ?? null,
        options.memberEpoch ?? -1,
        true,
      );
      if (code !== ErrorCode.NONE) return { errorCode: code, topics: [] };
    }
    const offsets = group?.offsets ?? new Map<string, CommittedOffset>();
    const unstable = new Set<string>();
    if (options.requireStable) {
      for (const byGroup of this.#pendingTxnOffsets.values()) {
        for (const key of byGroup.get(groupId)?.keys() ?? []) unstable.add(key);
      }
    }
    const one = (topic: string, partition: number): FetchedOffset => {
      const key = offsetKey(topic, partition);
      if (unstable.has(key)) {
        return {
          partition,
          offset: -1,
          leaderEpoch: -1,
          metadata: "",
          errorCode: ErrorCode.UNSTABLE_OFFSET_COMMIT,
        };
      }
      const o = offsets.get(key);
      return {
        partition,
        offset: o?.offset ?? -1,
        leaderEpoch: o?.leaderEpoch ?? -1,
        metadata: o?.metadata ?? "",
        errorCode: ErrorCode.NONE,
      };
    };
    if (topics !== null) {
      return {
        errorCode: ErrorCode.NONE,
        topics: topics.map((t) => ({
          topic: t.topic,
          partitions: t.partitions.map((p) => one(t.topic, p)),
        })),
      };
    }
    const byTopic = new Map<string, number[]>();
    for (const key of offsets.keys()) {
      const [topic, partition] = parseOffsetKey(key);
      let list = byTopic.get(topic);
      if (list === undefined) byTopic.set(topic, list = []);
      list.push(partition);
    }
    return {
      errorCode: ErrorCode.NONE,
      topics: [...byTopic.keys()].sort().map((topic) => ({
        topic,
        partitions: byTopic.get(topic)!.sort((a, b) => a - b).map((p) => one(topic, p)),
      })),
    };
  }

  /**
   * Handle an OffsetDelete: drop the offsets of partitions the group does not consume, the
   * committed one and those of open transactions (Kafka's `deleteOffsets`: a tombstone where
   * either exists; the transaction, once committed, leaves no offset there).
   *
   * @param groupId The group id.
   * @param partitions The partitions.
   * @returns Top-level error (GROUP_ID_NOT_FOUND, NON_EMPTY_GROUP, ...) and per-partition ones
   *   (GROUP_SUBSCRIBED_TO_TOPIC for topics a member subscribes to).
   */
  async deleteOffsets(
    groupId: string,
    partitions: { topic: string; partition: number }[],
  ): Promise<
    { errorCode: number; partitions: { topic: string; partition: number; errorCode: number }[] }
  > {
    const top = (code: number) => ({
      errorCode: code,
      partitions: partitions.map((p) => ({ ...p, errorCode: ErrorCode.NONE })),
    });
    const own = this.#ownership(groupId);
    if (own !== ErrorCode.NONE) return top(own);
    if (groupId === "") return top(ErrorCode.INVALID_GROUP_ID);
    const group = this.#groups.get(groupId);
    if (group === undefined || group.state === "Dead") return top(ErrorCode.GROUP_ID_NOT_FOUND);
    let subscribed = new Set<string>();
    if (group.consumer !== null) {
      // a consumer-protocol group: the topics its members subscribe to, by name or regex
      // (Kafka's ConsumerGroup.isSubscribedToTopic)
      subscribed = group.consumer.subscribedTopicNames();
    } else if (group.state !== "Empty") {
      if (group.protocolType !== "consumer") return top(ErrorCode.NON_EMPTY_GROUP);
      subscribed = this.#subscribedTopics(group);
    }
    const out = partitions.map((p) => ({
      ...p,
      errorCode: subscribed.has(p.topic) ? ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC : ErrorCode.NONE,
    }));
    const records: CoordinatorRecord[] = [];
    for (const p of out) {
      if (p.errorCode !== ErrorCode.NONE) continue;
      const key = offsetKey(p.topic, p.partition);
      if (!group.offsets.has(key) && !this.#hasPendingTxnOffset(groupId, key)) continue;
      records.push({
        kind: "offset",
        groupId,
        topic: p.topic,
        partition: p.partition,
        value: null,
      });
    }
    if (records.length > 0) {
      let base: number;
      try {
        base = await this.#write(groupId, records);
      } catch (e) {
        this.#logger?.error(
          `Cannot delete offsets of group ${groupId}: ${e instanceof Error ? e.message : e}`,
        );
        return top(ErrorCode.COORDINATOR_NOT_AVAILABLE);
      }
      records.forEach((r, i) => {
        if (r.kind === "offset") {
          this.#deleteOffset(group, offsetKey(r.topic, r.partition), base + i);
        }
      });
    }
    return { errorCode: ErrorCode.NONE, partitions: out };
  }

  #subscribedTopics(group: GroupMetadata): Set<string> {
    const topics = new Set<string>();
    for (const m of group.members.values()) {
      const p = group.protocolName === null
        ? m.protocols[0]
        : m.protocols.find((x) => x.name === group.protocolName);
      if (p === undefined) continue;
      for (const t of subscribedTopics(p.metadata) ?? []) topics.add(t);
    }
    return topics;
  }

  // ---------------------------------------------------------------- Admin

  /**
   * Handle DescribeGroups for one group.
   *
   * @param groupId The group id.
   * @returns The description; an unknown group is reported as Dead with no error.
   */
  describeGroup(groupId: string): GroupDescription {
    const base: GroupDescription = {
      errorCode: ErrorCode.NONE,
      groupId,
      groupState: "Dead",
      protocolType: "",
      protocolData: "",
      members: [],
    };
    const own = this.#ownership(groupId);
    if (own !== ErrorCode.NONE) return { ...base, errorCode: own };
    const group = this.#groups.get(groupId);
    // a consumer-protocol group is not a classic group: Kafka 3.9 answers Dead
    if (group === undefined || group.consumer !== null) return base;
    const stable = group.state === "Stable" && group.protocolName !== null;
    return {
      ...base,
      groupState: group.state,
      protocolType: group.protocolType ?? "",
      protocolData: stable ? group.protocolName! : "",
      members: [...group.members.values()].map((m) => ({
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        memberMetadata: stable ? m.metadataOrEmpty(group.protocolName!) : new Uint8Array(0),
        memberAssignment: stable ? m.assignment : new Uint8Array(0),
      })),
    };
  }

  /**
   * Handle ListGroups.
   *
   * @param statesFilter v4+: only groups in these states (case-insensitive); empty = all.
   * @returns Groups in id order.
   */
  listGroups(statesFilter: string[] = [], typesFilter: string[] = []): ListedGroup[] {
    const wanted = new Set(statesFilter.map((s) => s.trim().toLowerCase()));
    const types = new Set(typesFilter.map((t) => t.trim().toLowerCase()));
    return [...this.#groups.values()]
      .filter((g) => g.state !== "Dead")
      .map((g): ListedGroup =>
        g.consumer === null
          ? {
            groupId: g.groupId,
            protocolType: g.protocolType ?? "",
            groupState: g.state,
            groupType: "classic",
          }
          : {
            groupId: g.groupId,
            protocolType: "consumer",
            groupState: g.consumer.state,
            groupType: "consumer",
          }
      )
      .filter((g) => wanted.size === 0 || wanted.has(g.groupState.toLowerCase()))
      .filter((g) => types.size === 0 || types.has(g.groupType))
      .sort((a, b) => (a.groupId < b.groupId ? -1 : a.groupId > b.groupId ? 1 : 0));
  }

  /**
   * Handle DeleteGroups: delete Empty groups with their offsets.
   *
   * @param groupIds The groups.
   * @returns Per-group error codes: NONE, GROUP_ID_NOT_FOUND, NON_EMPTY_GROUP, ...
   */
  async deleteGroups(groupIds: string[]): Promise<{ groupId: string; errorCode: number }[]> {
    const out: { groupId: string; errorCode: number }[] = [];
    for (const groupId of groupIds) {
      out.push({ groupId, errorCode: await this.#deleteGroup(groupId) });
    }
    return out;
  }

  async #deleteGroup(groupId: string): Promise<number> {
    const own = this.#ownership(groupId);
    if (own !== ErrorCode.NONE) return own;
    if (groupId === "") return ErrorCode.INVALID_GROUP_ID;
    const group = this.#groups.get(groupId);
    if (group === undefined || group.state === "Dead") return ErrorCode.GROUP_ID_NOT_FOUND;
    if (group.state !== "Empty") return ErrorCode.NON_EMPTY_GROUP;
    if ((group.consumer?.members.size ?? 0) > 0) return ErrorCode.NON_EMPTY_GROUP;
    // the offsets of open transactions too (Kafka's `deleteAllOffsets`)
    const keys = [...new Set([...group.offsets.keys(), ...this.#pendingTxnKeys(groupId)])];
    const records = this.#tombstones(group, keys);
    let base: number;
    try {
      base = await this.#write(groupId, records);
    } catch (e) {
      this.#logger?.error(`Cannot delete group ${groupId}: ${e instanceof Error ? e.message : e}`);
      return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    }
    keys.forEach((key, i) => this.#deleteOffset(group, key, base + i));
    this.#markDead(group);
    return ErrorCode.NONE;
  }

  #tombstones(group: GroupMetadata, keys: string[]): CoordinatorRecord[] {
    const records: CoordinatorRecord[] = keys.map((key) => {
      const [topic, partition] = parseOffsetKey(key);
      return { kind: "offset", groupId: group.groupId, topic, partition, value: null };
    });
    records.push({ kind: "group", groupId: group.groupId, value: null });
    if (group.consumer !== null) {
      records.push({ kind: "consumer-group", groupId: group.groupId, value: null });
    }
    return records;
  }

  #markDead(group: GroupMetadata): void {
    group.joinTimer?.();
    group.syncTimer?.();
    cancelConsumerTimers(group);
    group.consumer = null;
    for (const m of group.members.values()) {
      m.heartbeatTimer?.();
      m.heartbeatTimer = null;
    }
    for (const cancel of group.pendingMembers.values()) cancel();
    group.pendingMembers.clear();
    group.offsets.clear();
    group.transitionTo("Dead", this.#scheduler.now());
    if (this.#groups.get(group.groupId) === group) this.#groups.delete(group.groupId);
  }

  // ---------------------------------------------------------------- Expiry

  #scheduleExpiry(): void {
    this.#expiryTimer = this.#scheduler.schedule(
      this.#config.offsetsRetentionCheckIntervalMs,
      () => {
        if (this.#closed) return;
        this.expireOffsets().catch((e) =>
          this.#logger?.error(`Offset expiry failed: ${e instanceof Error ? e.message : e}`)
        ).finally(() => {
          if (!this.#closed) this.#scheduleExpiry();
        });
      },
    );
  }

  /**
   * Expire committed offsets per `offsets.retention.minutes`, as Kafka does: for an Empty group,
   * retention counts from when it became Empty (or from the commit, for a group that never had
   * members); for a consumer group with members, offsets of topics no member subscribes to
   * expire counting from their commit. Explicit v1 expiry times win. An offset of a partition an
   * open transaction holds an offset for does not expire yet, and a group with an open
   * transaction is not deleted (Kafka's `cleanupExpiredOffsets`); other Empty groups left with
   * no offsets are. Runs every `offsets.retention.check.interval.ms`.
   *
   * @returns How many offsets expired.
   */
  async expireOffsets(): Promise<number> {
    const now = this.#scheduler.now();
    const retention = this.#config.offsetsRetentionMs;
    let count = 0;
    for (const group of [...this.#groups.values()]) {
      let expired: string[] = [];
      const pending = this.#pendingTxnKeys(group.groupId);
      const cg = group.consumer;
      if (cg !== null && cg.members.size > 0) {
        // a consumer-protocol group with members: offsets of topics none subscribes to
        const subscribed = cg.subscribedTopicNames();
        for (const [key, o] of group.offsets) {
          if (subscribed.has(parseOffsetKey(key)[0])) continue;
          if (isExpired(o, o.commitTimestamp, retention, now) && !pending.has(key)) {
            expired.push(key);
          }
        }
      } else if (group.state === "Empty") {
        for (const [key, o] of group.offsets) {
          const base = group.protocolType === null ? o.commitTimestamp : group.stateTimestamp;
          if (isExpired(o, base, retention, now) && !pending.has(key)) expired.push(key);
        }
      } else if (group.protocolType === "consumer" && group.state === "Stable") {
        const subscribed = this.#subscribedTopics(group);
        for (const [key, o] of group.offsets) {
          if (subscribed.has(parseOffsetKey(key)[0])) continue;
          if (isExpired(o, o.commitTimestamp, retention, now) && !pending.has(key)) {
            expired.push(key);
          }
        }
      }
      const dies = group.state === "Empty" && (cg?.members.size ?? 0) === 0 &&
        expired.length === group.offsets.size &&
        !this.#hasOpenTxn(group.groupId);
      if (expired.length === 0 && !dies) continue;
      const records: CoordinatorRecord[] = dies
        ? this.#tombstones(group, expired)
        : expired.map((key) => {
          const [topic, partition] = parseOffsetKey(key);
          return { kind: "offset", groupId: group.groupId, topic, partition, value: null };
        });
      let base: number;
      try {
        base = await this.#write(group.groupId, records);
      } catch (e) {
        this.#logger?.error(
          `Cannot expire offsets of group ${group.groupId}: ${e instanceof Error ? e.message : e}`,
        );
        continue;
      }
      if (this.#groups.get(group.groupId) !== group) continue;
      // The group may have changed while the tombstones were written; drop only what they are
      // newer than (a commit written meanwhile, after them in the log, stays). Tombstone `i` is
      // the record of `expired[i]`.
      expired = expired.filter((k, i) =>
        (group.offsets.get(k)?.recordOffset ?? Infinity) < base + i
      );
      for (const key of expired) group.offsets.delete(key);
      count += expired.length;
      if (
        group.state === "Empty" && group.offsets.size === 0 && group.members.size === 0 &&
        !this.#hasOpenTxn(group.groupId)
      ) this.#markDead(group);
    }
    return count;
  }

  // ---------------------------------------------------------------- Durability

  #persistGroup(group: GroupMetadata): void {
    if (this.#log === undefined) return;
    const snapshot = groupSnapshot(group);
    this.#log.append(group.groupId, [{ kind: "group", groupId: group.groupId, value: snapshot }])
      .catch((e) =>
        this.#logger?.error(
          `Cannot store metadata of group ${group.groupId}: ${e instanceof Error ? e.message : e}`,
        )
      );
  }

  /**
   * Rebuild state from replayed `__consumer_offsets` records (in log order). Groups stored with
   * members come back Stable with their assignments, and their members must heartbeat within
   * their session timeouts, as after a Kafka coordinator failover.
   *
   * @param records The records, oldest first.
   */
  load(records: Iterable<LoadedCoordinatorRecord>): void {
    const now = this.#scheduler.now();
    const snapshots = new Map<string, GroupSnapshot | null>();
    const consumerEpochs = new Map<string, number | null>();
    // consumer-protocol members by group, then member id: metadata and current assignment
    const consumerMembers = new Map<
      string,
      Map<string, { meta?: ConsumerMemberSnapshot; assignment?: ConsumerAssignmentSnapshot }>
    >();
    const sawMembers = new Set<string>();
    // resolved regexes by group, then regex
    const consumerRegexes = new Map<string, Map<string, ResolvedRegexSnapshot>>();
    const offsets = new Map<string, Map<string, CommittedOffset>>();
    // transactions in progress at this point of the log: producer id -> their offset records
    // (with their positions), and the groups they sent offsets of (still open for them when a
    // tombstone took those)
    const pending = new Map<number, PendingRecord[]>();
    const pendingGroups = new Map<number, Set<string>>();
    for (const loaded of records) {
      // without a log, positions numbered later follow those loaded
      this.#nextPosition = Math.max(this.#nextPosition, loaded.recordOffset + 1);
      if (loaded.kind === "txn-offset") {
        if (loaded.record.kind !== "offset") continue;
        let list = pending.get(loaded.producerId);
        if (list === undefined) pending.set(loaded.producerId, list = []);
        list.push({ record: loaded.record, recordOffset: loaded.recordOffset });
        let groups = pendingGroups.get(loaded.producerId);
        if (groups === undefined) pendingGroups.set(loaded.producerId, groups = new Set());
        groups.add(loaded.record.groupId);
        continue;
      }
      if (loaded.kind === "txn-marker") {
        const list = pending.get(loaded.producerId);
        pending.delete(loaded.producerId);
        pendingGroups.delete(loaded.producerId);
        if (list === undefined || !loaded.commit) continue;
        for (const { record: o, recordOffset } of list) {
          let m = offsets.get(o.groupId);
          if (m === undefined) offsets.set(o.groupId, m = new Map());
          if (o.value === null) continue;
          commitTxnOffset(m, offsetKey(o.topic, o.partition), { ...o.value, recordOffset });
        }
        continue;
      }
      const r = loaded;
      if (r.kind === "group") {
        snapshots.set(r.groupId, r.value);
        continue;
      }
      if (r.kind === "consumer-group") {
        consumerEpochs.set(r.groupId, r.value?.epoch ?? null);
        if (r.value === null) {
          consumerMembers.delete(r.groupId);
          consumerRegexes.delete(r.groupId);
        }
        continue;
      }
      if (r.kind === "consumer-regex") {
        let byRegex = consumerRegexes.get(r.groupId);
        if (byRegex === undefined) consumerRegexes.set(r.groupId, byRegex = new Map());
        if (r.value === null) byRegex.delete(r.regex);
        else byRegex.set(r.regex, r.value);
        continue;
      }
      if (r.kind === "consumer-member" || r.kind === "consumer-assignment") {
        sawMembers.add(r.groupId);
        let byId = consumerMembers.get(r.groupId);
        if (byId === undefined) consumerMembers.set(r.groupId, byId = new Map());
        const entry = byId.get(r.memberId) ?? {};
        if (r.kind === "consumer-member") entry.meta = r.value ?? undefined;
        else entry.assignment = r.value ?? undefined;
        if (entry.meta === undefined && entry.assignment === undefined) byId.delete(r.memberId);
        else byId.set(r.memberId, entry);
        continue;
      }
      if (r.kind !== "offset") continue;
      let m = offsets.get(r.groupId);
      if (m === undefined) offsets.set(r.groupId, m = new Map());
      const key = offsetKey(r.topic, r.partition);
      if (r.value !== null) {
        // a plain commit replaces what is committed
        m.set(key, { ...r.value, recordOffset: r.recordOffset });
        continue;
      }
      // a tombstone takes the offsets open transactions hold for the partition too
      m.delete(key);
      for (const [producerId, list] of pending) {
        pending.set(
          producerId,
          list.filter(({ record: o }) =>
            o.groupId !== r.groupId || o.topic !== r.topic || o.partition !== r.partition
          ),
        );
      }
    }
    const ids = new Set([...snapshots.keys(), ...offsets.keys(), ...consumerEpochs.keys()]);
    for (const groupId of ids) {
      const snap = snapshots.get(groupId) ?? null;
      const consumerEpoch = consumerEpochs.get(groupId) ?? null;
      const offs = offsets.get(groupId) ?? new Map<string, CommittedOffset>();
      if (snap === null && offs.size === 0 && consumerEpoch === null) continue;
      const old = this.#groups.get(groupId);
      if (old !== undefined) this.#markDead(old);
      const group = new GroupMetadata(
        groupId,
        snap && snap.stateTimestamp >= 0 ? snap.stateTimestamp : now,
      );
      for (const [k, v] of offs) group.offsets.set(k, { ...v });
      if (consumerEpoch !== null) {
        // a consumer-protocol group comes back Empty at its epoch: members are not stored
        const cg = new ConsumerGroup(groupId);
        cg.groupEpoch = cg.assignmentEpoch = cg.persistedEpoch = consumerEpoch;
        group.consumer = cg;
        // the resolved regexes: the members' topics until the next refresh, which is due once
        // the interval has passed since the newest was resolved
        for (const [regex, v] of consumerRegexes.get(groupId) ?? []) {
          cg.resolvedRegexes.set(regex, {
            topics: [...v.topics].sort(),
            version: v.version,
            timestamp: v.timestamp,
          });
          cg.storedRegexes.set(regex, JSON.stringify([...v.topics].sort()));
          cg.regexesRefreshedAt = Math.max(
            cg.regexesRefreshedAt === -Infinity ? 0 : cg.regexesRefreshedAt,
            v.timestamp,
          );
        }
        for (const [memberId, { meta, assignment }] of consumerMembers.get(groupId) ?? []) {
          if (meta === undefined) continue;
          const m = new ConsumerGroupMember(memberId);
          m.instanceId = meta.instanceId;
          m.rackId = meta.rackId;
          m.clientId = meta.clientId;
          m.clientHost = meta.clientHost;
          m.subscribedTopicNames = [...meta.subscribedTopicNames].sort();
          m.subscribedTopicRegex = meta.subscribedTopicRegex === ""
            ? null
            : meta.subscribedTopicRegex;
          m.rebalanceTimeoutMs = meta.rebalanceTimeoutMs;
          m.serverAssignor = meta.serverAssignor;
          if (assignment !== undefined) {
            m.memberEpoch = assignment.memberEpoch;
            m.previousMemberEpoch = assignment.previousMemberEpoch;
            m.state = assignment.state === 2
              ? "unrevoked_partitions"
              : assignment.state === 3
              ? "unreleased_partitions"
              : "stable";
            m.assigned = partitionsOf(assignment.assignedPartitions);
            m.pendingRevocation = partitionsOf(assignment.partitionsPendingRevocation);
          }
          // the target is recomputed at the next heartbeat (the subscribed topics are looked
          // up again), sticky to what each member holds
          cg.target.set(memberId, copyPartitions(m.assigned));
          cg.putMember(m);
          this.#persistedAs(m);
          this.#scheduleConsumerSession(group, cg, m);
          if (m.state === "unrevoked_partitions") this.#scheduleConsumerRebalance(group, cg, m);
        }
        if (cg.members.size === 0 && !sawMembers.has(groupId)) {
          // stored without its members (they were not written): members from before may still
          // hold partitions until they heartbeat and learn they must rejoin, so none is handed
          // out before the session timeout has passed
          cg.recovering = true;
          cg.recoveryTimer = this.#scheduler.schedule(this.#config.consumerSessionTimeoutMs, () => {
            cg.recovering = false;
            cg.recoveryTimer = null;
          });
        }
        group.protocolType = "consumer";
      } else if (snap !== null) {
        group.protocolType = snap.protocolType === "" ? null : snap.protocolType;
        group.generationId = snap.generationId;
        group.protocolName = snap.protocolName;
        for (const s of snap.members) {
          if (snap.protocolName === null) break;
          const member = new MemberMetadata({
            memberId: s.memberId,
            groupInstanceId: s.groupInstanceId,
            clientId: s.clientId,
            clientHost: s.clientHost,
            rebalanceTimeoutMs: s.rebalanceTimeoutMs,
            sessionTimeoutMs: s.sessionTimeoutMs,
            protocolType: snap.protocolType,
            protocols: [{ name: snap.protocolName, metadata: s.subscription }],
          });
          member.assignment = s.assignment;
          group.add(member);
        }
        if (group.members.size > 0) {
          if (snap.leaderId !== null && group.members.has(snap.leaderId)) {
            group.leaderId = snap.leaderId;
          }
          group.state = "Stable";
          for (const m of group.members.values()) this.#heartbeatOk(group, m);
        }
      }
      this.#groups.set(groupId, group);
    }
    for (const [producerId, list] of pending) {
      for (const groupId of pendingGroups.get(producerId) ?? []) {
        this.#openTxnOffsets(producerId, groupId);
      }
      for (const o of list) this.#addPending(producerId, o.record, o.recordOffset);
    }
  }

  /**
   * Stop: cancel every timer and answer every waiting JoinGroup/SyncGroup with NOT_COORDINATOR
   * (clients then look for the coordinator again). Later calls fail with NOT_COORDINATOR.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#expiryTimer?.();
    for (const group of this.#groups.values()) this.#drop(group);
  }
}

/** A transaction's offset record met in a load, with its position. */
interface PendingRecord {
  record: CoordinatorRecord & { kind: "offset" };
  recordOffset: number;
}

/**
 * A committed transaction's offset `o` of partition `key`: it replaces the committed one only if
 * its record is the newer (Kafka's `replayEndTransactionMarker`: "We always keep the most recent
 * committed offset when we have a mix of transactional and regular offset commits"), so a plain
 * commit written between the TxnOffsetCommit and the marker stays.
 *
 * @returns Whether it was committed.
 */
function commitTxnOffset(
  offsets: Map<string, CommittedOffset>,
  key: string,
  o: CommittedOffset,
): boolean {
  const existing = offsets.get(key);
  if (existing !== undefined && existing.recordOffset >= o.recordOffset) return false;
  offsets.set(key, { ...o });
  return true;
}

function isExpired(o: CommittedOffset, base: number, retention: number, now: number): boolean {
  if (o.expireTimestamp !== -1) return now >= o.expireTimestamp;
  return now >= base + retention;
}

function groupSnapshot(group: GroupMetadata): GroupSnapshot {
  const protocol = group.protocolName;
  return {
    protocolType: group.protocolType ?? "",
    generationId: group.generationId,
    protocolName: protocol,
    leaderId: group.leaderId,
    stateTimestamp: group.stateTimestamp,
    members: protocol === null ? [] : [...group.members.values()].map((m) => ({
      memberId: m.memberId,
      groupInstanceId: m.groupInstanceId,
      clientId: m.clientId,
      clientHost: m.clientHost,
      rebalanceTimeoutMs: m.rebalanceTimeoutMs,
      sessionTimeoutMs: m.sessionTimeoutMs,
      subscription: m.metadataOrEmpty(protocol),
      assignment: m.assignment,
    })),
  };
}

function joinError(code: number, memberId: string): JoinGroupResult {
  return {
    errorCode: code,
    generationId: -1,
    protocolType: null,
    protocolName: null,
    leader: "",
    skipAssignment: false,
    memberId,
    members: [],
  };
}

/**
 * The error of an offset commit whose `__consumer_offsets` append failed, as Kafka's
 * `GroupMetadataManager.storeOffsets` maps a replicated append's errors: NOT_ENOUGH_REPLICAS(_
 * AFTER_APPEND) and UNKNOWN_TOPIC_OR_PARTITION become COORDINATOR_NOT_AVAILABLE,
 * NOT_LEADER_OR_FOLLOWER becomes NOT_COORDINATOR, REQUEST_TIMED_OUT stays; an append that failed
 * otherwise (the engine) is COORDINATOR_NOT_AVAILABLE.
 */
function commitError(e: unknown): number {
  if (!(e instanceof ReplicationError)) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
  switch (e.code) {
    case ErrorCode.NOT_LEADER_OR_FOLLOWER:
      return ErrorCode.NOT_COORDINATOR;
    case ErrorCode.REQUEST_TIMED_OUT:
      return ErrorCode.REQUEST_TIMED_OUT;
    default:
      return ErrorCode.COORDINATOR_NOT_AVAILABLE;
  }
}

/**
 * The error of a SyncGroup whose group record could not be stored, as Kafka's `storeGroup` maps
 * it: NOT_LEADER_OR_FOLLOWER becomes NOT_COORDINATOR, anything else (REQUEST_TIMED_OUT
 * included) COORDINATOR_NOT_AVAILABLE.
 */
function storeGroupError(e: unknown): number {
  return e instanceof ReplicationError && e.code === ErrorCode.NOT_LEADER_OR_FOLLOWER
    ? ErrorCode.NOT_COORDINATOR
    : ErrorCode.COORDINATOR_NOT_AVAILABLE;
}

function syncError(code: number): SyncGroupResult {
  return { errorCode: code, protocolType: null, protocolName: null, assignment: new Uint8Array(0) };
}

/** Every partition of a commit answered `errorCode`. */
function everyPartition(
  topics: readonly { topic: string; partitions: readonly { partition: number }[] }[],
  errorCode: number,
): OffsetCommitResultTopic[] {
  return topics.map((t) => ({
    topic: t.topic,
    partitions: t.partitions.map((p) => ({ partition: p.partition, errorCode })),
  }));
}

/** A failed append: every partition not already refused gets `code`. */
function failUnset(result: OffsetCommitResultTopic[], code: number): OffsetCommitResultTopic[] {
  for (const t of result) {
    for (const p of t.partitions) if (p.errorCode === ErrorCode.NONE) p.errorCode = code;
  }
  return result;
}

/** Cancels the session and rebalance timers of a consumer-protocol group's members. */
function cancelConsumerTimers(group: GroupMetadata): void {
  group.consumer?.recoveryTimer?.();
  for (const m of group.consumer?.members.values() ?? []) {
    m.sessionTimer?.();
    m.rebalanceTimer?.();
    m.sessionTimer = m.rebalanceTimer = null;
  }
}

/** A new member id as Kafka 3.9 makes them: a random uuid in base64url (22 characters). */
function newUuid(): string {
  const b = crypto.getRandomValues(new Uint8Array(16));
  let s = "";
  for (const x of b) s += String.fromCharCode(x);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** Kafka's `MemberState` values, as its current-assignment records store them. */
const MEMBER_STATE_BYTE: Record<MemberState, number> = {
  stable: 0,
  unrevoked_partitions: 2,
  unreleased_partitions: 3,
};

/** A member's metadata as its `ConsumerGroupMemberMetadataValue` stores it. */
function consumerMemberSnapshot(m: ConsumerGroupMember): ConsumerMemberSnapshot {
  return {
    instanceId: m.instanceId,
    rackId: m.rackId,
    clientId: m.clientId,
    clientHost: m.clientHost,
    subscribedTopicNames: m.subscribedTopicNames,
    subscribedTopicRegex: m.subscribedTopicRegex,
    rebalanceTimeoutMs: m.rebalanceTimeoutMs,
    serverAssignor: m.serverAssignor,
  };
}

/** A member's epochs and partitions as its `ConsumerGroupCurrentMemberAssignmentValue` stores them. */
function consumerAssignmentSnapshot(m: ConsumerGroupMember): ConsumerAssignmentSnapshot {
  return {
    memberEpoch: m.memberEpoch,
    previousMemberEpoch: m.previousMemberEpoch,
    state: MEMBER_STATE_BYTE[m.state],
    assignedPartitions: partitionList(m.assigned),
    partitionsPendingRevocation: partitionList(m.pendingRevocation),
  };
}

/**
 * An id as error messages quote it: at most 200 characters (ids may be 32767 bytes long, and a
 * message quoting one must still fit in a response string).
 */
function clip(id: string | null): string {
  if (id === null) return "null";
  return id.length <= 200 ? id : `${id.slice(0, 200)}...`;
}
