/**
 * A consumer-group member of the classic group protocol, like the Java client: finds the group
 * coordinator, joins, lets the leader assign partitions (`range`, `roundrobin` or
 * `cooperative-sticky`), resumes from committed offsets, heartbeats in the background and
 * commits offsets automatically or on demand. Rebalances are eager (give up everything, rejoin)
 * unless every configured assignor is cooperative; then the member keeps its partitions and
 * positions and gives up only those the leader moves. Offsets are committed with the leader epoch
 * of the last batch read (`committed_leader_epoch`), and a member resuming from one validates it
 * against the leader's log first (KIP-320, as {@linkcode Consumer} does after a leader change): a
 * log truncated below it resumes at the divergence point (`onTruncation`), not by
 * `autoOffsetReset`.
 *
 * @module
 */

import { ErrorCode, isRetriable, KafkaError } from "../protocol/errors.ts";
import { JoinGroupRequest } from "../protocol/messages/join_group.ts";
import { OffsetCommitRequest, OffsetCommitResponse } from "../protocol/messages/offset_commit.ts";
import { OffsetFetchRequest, OffsetFetchResponse } from "../protocol/messages/offset_fetch.ts";
import { SyncGroupRequest } from "../protocol/messages/sync_group.ts";
import {
  type Assignor,
  type AssignorMember,
  ASSIGNORS,
  decodeAssignment,
  decodeAssignmentUserData,
  decodeSubscription,
  encodeAssignment,
  encodeSubscription,
  type MemberAssignment,
} from "./assignors.ts";
import type { Client } from "./client.ts";
import {
  GroupMembership,
  type HeartbeatLoop,
  type JoinedMember,
  REJOIN_ERRORS as REJOIN,
} from "./group_membership.ts";
import {
  Consumer,
  type ConsumerPosition,
  type ConsumerRecord,
  type LogTruncation,
  type PollOptions,
} from "./consumer.ts";
import type { ConsumerGroupMetadata } from "./transaction_manager.ts";
import type { TopicPartition } from "./admin.ts";
import { ConsumerProtocolMember, type TopicIdPartitions } from "./consumer_protocol.ts";

/**
 * Rebalance callbacks (Java's `ConsumerRebalanceListener`), given to
 * {@linkcode GroupConsumer.subscribe}. They run inside {@linkcode GroupConsumer.poll} (and
 * {@linkcode GroupConsumer.close}), which awaits them; an error one throws is thrown by that
 * poll once the rebalance is done. The member heartbeats while `onPartitionsAssigned` and
 * `onPartitionsRevoked` run (like Java's heartbeat thread), so a callback may take longer than
 * the session timeout without the member losing its place; a rebalance announced meanwhile is
 * joined after the callback.
 */
export interface RebalanceListener {
  /**
   * The partitions newly assigned, after SyncGroup, once their positions are set from the
   * committed offsets (or `autoOffsetReset`); {@linkcode GroupConsumer.seek} may move them.
   * Called after every join (eager: with the whole assignment, possibly empty).
   */
  onPartitionsAssigned?(partitions: TopicPartition[]): void | Promise<void>;
  /**
   * The partitions taken away while the member is still in its generation, so that their
   * work can be committed (with auto-commit it has been already): eager members give up all
   * before they rejoin (before JoinGroup), cooperative ones those the leader moved (after
   * SyncGroup); also every partition on {@linkcode GroupConsumer.close}. A transactional
   * commit with {@linkcode GroupConsumer.groupMetadata} is still accepted here.
   */
  onPartitionsRevoked?(partitions: TopicPartition[]): void | Promise<void>;
  /**
   * Instead of `onPartitionsRevoked` when the member had already lost its partitions: it was
   * removed from the group (`UNKNOWN_MEMBER_ID`, `ILLEGAL_GENERATION`, `FENCED_INSTANCE_ID`,
   * session timeout), so other members may own them; their offsets can no longer be
   * committed. Default: `onPartitionsRevoked`.
   */
  onPartitionsLost?(partitions: TopicPartition[]): void | Promise<void>;
}

/** Options for {@linkcode GroupConsumer}. */
export interface GroupConsumerOptions {
  /** `group.id`. */
  groupId: string;
  /** `group.instance.id` for a static member (it does not leave the group on close). */
  groupInstanceId?: string | null;
  /** Session timeout. Default 45000. */
  sessionTimeoutMs?: number;
  /** How long the coordinator waits for members to rejoin. Default 60000. */
  rebalanceTimeoutMs?: number;
  /** Heartbeat interval. Default 3000. */
  heartbeatIntervalMs?: number;
  /** Commit positions automatically (every interval, before a rebalance, on close). Default
   * true. */
  autoCommit?: boolean;
  /** Auto-commit interval. Default 5000. */
  autoCommitIntervalMs?: number;
  /** Where to start a partition with no committed offset. Default `latest`. */
  autoOffsetReset?: "earliest" | "latest";
  /** Assignors by preference: `range`, `roundrobin`, `cooperative-sticky`. Default
   * `["range", "roundrobin"]`. With only `cooperative-sticky` the member rebalances
   * cooperatively (keeps its partitions through a rebalance, gives up only those moved). An
   * {@linkcode Assignor} object is used as it is (its protocol name must be the same in every
   * member), e.g. Kafka Streams' own, with subscription and assignment user data. */
  assignors?: Array<string | Assignor>;
  /** Fetch long-poll time. Default 500. */
  maxWaitMs?: number;
  /**
   * `max.partition.fetch.bytes`: how many bytes of one partition a fetch asks for (at least one
   * whole batch is returned however large). Default 1048576.
   */
  maxPartitionBytes?: number;
  /**
   * `read_committed`: only records of committed transactions (and non-transactional ones),
   * nothing at or past a partition's last stable offset; aborted records and transaction
   * markers are skipped. Default `read_uncommitted` (every record below the high watermark).
   */
  isolationLevel?: "read_committed" | "read_uncommitted";
  /**
   * `metadata.max.age.ms`: how often the partition counts of the subscribed topics are looked
   * up again while polling (every {@linkcode MISSING_TOPIC_REFRESH_MS} at most while one of
   * them does not exist). When a count differs from the one the last assignment was made
   * with (a topic created, grown with CreatePartitions or deleted), the member rejoins, so
   * the leader assigns the partitions as they are now. Default 300000.
   */
  metadataMaxAgeMs?: number;
  /**
   * `default.api.timeout.ms`: how long a fetch of committed offsets (the join's, and
   * {@linkcode GroupConsumer.committed}) waits out partitions the coordinator answers
   * UNSTABLE_OFFSET_COMMIT for (an open transaction holds offsets of them: KIP-447), asking
   * again after a backoff as Java's consumer does; the join keeps heartbeating meanwhile. Past
   * it, the fetch throws that error. Default 60000.
   */
  defaultApiTimeoutMs?: number;
  /**
   * Called when a log truncation is detected on an assigned partition (KIP-320: after a leader
   * change, the new leader's log ends below the position for the leader epoch of the records
   * read, or of the committed offset): the position has moved to `resetOffset`, the divergence
   * point, rather than by `autoOffsetReset`. Default: one line on `console.warn`.
   */
  onTruncation?: (truncation: LogTruncation) => void;
  /**
   * `group.protocol`: `classic` (JoinGroup, SyncGroup, client-side assignors; the default) or
   * `consumer` (KIP-848: ConsumerGroupHeartbeat, the assignment computed by the broker's
   * assignor, `groupRemoteAssignor`). With `consumer` the member heartbeats in the background
   * every interval the coordinator asks for; a new assignment is reconciled at the next poll,
   * revoking first (`onPartitionsRevoked`, its offsets committed with auto-commit) and then
   * acknowledging what it owns; commits carry the member epoch (OffsetCommit v9); close leaves
   * the group (epoch -1). `assignors`, `sessionTimeoutMs` and `heartbeatIntervalMs` are the
   * broker's then, and `groupInstanceId` is not supported.
   */
  groupProtocol?: "classic" | "consumer";
  /** `group.remote.assignor` (`uniform`, `range`) with `groupProtocol: "consumer"`; default the broker's. */
  groupRemoteAssignor?: string | null;
  /**
   * The consumer's rack (`client.rack`, KIP-392), sent in its fetches: a leader with a replica
   * selector may send it to an in-sync follower in this rack (see `ConsumerOptions.clientRack`).
   * Default "" (none).
   */
  clientRack?: string;
}

/** An offset to commit. */
export interface OffsetToCommit {
  /** Topic. */
  topic: string;
  /** Partition. */
  partition: number;
  /** The next offset to read (one past the last processed record). */
  offset: number;
  /** Optional metadata string. */
  metadata?: string | null;
  /**
   * The leader epoch of the record before `offset` (`committed_leader_epoch`, OffsetCommit v6+),
   * -1 or absent when unknown: a member resuming from the offset validates it against the
   * leader's log (KIP-320). {@linkcode GroupConsumer.assignment} gives it for each position; when
   * committing by hand, pass the `leaderEpoch` of the last record processed (`ConsumerRecord`).
   */
  leaderEpoch?: number;
}

/** Requests of the join phase, abandoned when the consumer closes. */
const JOIN_APIS = new Set<unknown>([JoinGroupRequest, SyncGroupRequest, OffsetFetchRequest]);

/**
 * How often, at most, the subscribed topics' metadata is looked up while one of them does not
 * exist (Java's consumer also looks a missing topic up again sooner than `metadata.max.age.ms`).
 */
export const MISSING_TOPIC_REFRESH_MS = 1_000;

/** Errors of a fetch after which the topic may be gone: look at the metadata, do not throw. */
const TOPIC_GONE = new Set<number>([
  ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
  ErrorCode.UNKNOWN_TOPIC_ID,
]);

let groupConsumerCount = 0;

function idle(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}

/**
 * A member of a consumer group.
 *
 * @example
 * ```ts ignore
 * import { Client, GroupConsumer } from "../client/mod.ts";
 * const client = new Client({ bootstrapServers: "localhost:9092" });
 * const consumer = new GroupConsumer(client, { groupId: "g", autoOffsetReset: "earliest" });
 * consumer.subscribe(["teste"]);
 * for (const r of await consumer.poll({ maxWaitMs: 1000 })) console.log(r.partition, r.offset);
 * await consumer.close(); // commits and leaves the group
 * await client.close();
 * ```
 */
export class GroupConsumer {
  #client: Client;
  #consumer: Consumer;
  #options: Required<
    Omit<
      GroupConsumerOptions,
      "onTruncation" | "clientRack" | "groupProtocol" | "groupRemoteAssignor"
    >
  >;
  /** The consumer protocol's member (KIP-848), or `null` for the classic protocol. */
  #kip848: ConsumerProtocolMember | null = null;
  /** KIP-848: the subscription to send at the next heartbeat (`null`: unchanged). */
  #kip848Subscription: string[] | null = null;
  /** KIP-848: the member was fenced by a background heartbeat: its partitions are lost. */
  #kip848Fenced = false;
  /** KIP-848: an error of a background heartbeat, thrown by the next poll. */
  #kip848Error: unknown = null;
  /** KIP-848: cancels the next background heartbeat. */
  #kip848Timer: ReturnType<typeof setTimeout> | null = null;
  #assignors: Assignor[];
  #assignmentUserData: Uint8Array | null = null;
  #cooperative: boolean;
  #pool = `group-consumer-${++groupConsumerCount}`;
  #topics: string[] = [];
  #membership: GroupMembership;
  #assigned: MemberAssignment = [];
  #joined = false;
  #rejoin = false;
  #closed = false;
  #polling = false;
  #closing: Promise<void> | null = null;
  #joining: Promise<void> | null = null;
  #heartbeats: HeartbeatLoop | null = null;
  #pollAbort: AbortController | null = null;
  #lastCommit = Date.now();
  #listener: RebalanceListener = {};
  /**
   * Partition counts of the topics the last assignment was made with (-1: the topic did not
   * exist): the leader's are those it assigned from (every member's topics), another member's
   * those of its own topics, looked up after SyncGroup. `null` until known.
   */
  #snapshot: Map<string, number> | null = null;
  /** When (Date.now()) the metadata is looked up next. */
  #metadataCheckAt = 0;

  /**
   * Creates a group member; nothing is sent until the first {@linkcode GroupConsumer.poll}.
   *
   * @param client The cluster client.
   * @param options Group id, timeouts, commit policy, assignors.
   * @throws {RangeError} If the group id is empty or an assignor is unknown.
   */
  constructor(client: Client, options: GroupConsumerOptions) {
    if (typeof options.groupId !== "string" || options.groupId === "") {
      throw new RangeError("group consumer: groupId must be a non-empty string");
    }
    this.#client = client;
    this.#options = {
      groupId: options.groupId,
      groupInstanceId: options.groupInstanceId ?? null,
      sessionTimeoutMs: options.sessionTimeoutMs ?? 45_000,
      rebalanceTimeoutMs: options.rebalanceTimeoutMs ?? 60_000,
      heartbeatIntervalMs: options.heartbeatIntervalMs ?? 3_000,
      autoCommit: options.autoCommit ?? true,
      autoCommitIntervalMs: options.autoCommitIntervalMs ?? 5_000,
      autoOffsetReset: options.autoOffsetReset ?? "latest",
      assignors: options.assignors ?? ["range", "roundrobin"],
      maxWaitMs: options.maxWaitMs ?? 500,
      maxPartitionBytes: options.maxPartitionBytes ?? 1_048_576,
      isolationLevel: options.isolationLevel ?? "read_uncommitted",
      metadataMaxAgeMs: options.metadataMaxAgeMs ?? 300_000,
      defaultApiTimeoutMs: options.defaultApiTimeoutMs ?? 60_000,
    };
    for (const name of ["metadataMaxAgeMs", "defaultApiTimeoutMs"] as const) {
      const v = this.#options[name];
      if (!Number.isSafeInteger(v) || v < 0) {
        throw new RangeError(
          `group consumer: invalid ${name} ${v}: expected a non-negative integer`,
        );
      }
    }
    const partitionBytes = this.#options.maxPartitionBytes;
    if (
      !Number.isSafeInteger(partitionBytes) || partitionBytes < 1 || partitionBytes > 2 ** 31 - 1
    ) {
      throw new RangeError(
        `group consumer: invalid maxPartitionBytes ${partitionBytes}: expected a positive 32-bit ` +
          "integer",
      );
    }
    if (
      this.#options.isolationLevel !== "read_committed" &&
      this.#options.isolationLevel !== "read_uncommitted"
    ) {
      throw new RangeError(
        `group consumer: invalid isolationLevel "${this.#options.isolationLevel}": expected ` +
          `"read_committed" or "read_uncommitted"`,
      );
    }
    if (this.#options.assignors.length === 0) {
      throw new RangeError("group consumer: assignors must not be empty");
    }
    this.#assignors = this.#options.assignors.map((name) => {
      if (typeof name !== "string") return name;
      const a = ASSIGNORS[name];
      if (!a) {
        throw new RangeError(
          `group consumer: unknown assignor "${name}" (supported: ${
            Object.keys(ASSIGNORS).join(", ")
          })`,
        );
      }
      return a;
    });
    // Like Java: the cooperative protocol only when every configured assignor supports it.
    this.#cooperative = this.#assignors.every((a) => a.cooperative === true);
    this.#membership = new GroupMembership(client, {
      groupId: this.#options.groupId,
      groupInstanceId: this.#options.groupInstanceId,
      protocolType: "consumer",
      sessionTimeoutMs: this.#options.sessionTimeoutMs,
      rebalanceTimeoutMs: this.#options.rebalanceTimeoutMs,
      heartbeatIntervalMs: this.#options.heartbeatIntervalMs,
      pool: this.#pool,
      abandon: (request) => this.#closing !== null && JOIN_APIS.has(request),
    });
    const protocol = options.groupProtocol ?? "classic";
    if (protocol !== "classic" && protocol !== "consumer") {
      throw new RangeError(
        `group consumer: invalid groupProtocol "${protocol}": expected "classic" or "consumer"`,
      );
    }
    if (protocol === "consumer") {
      if (this.#options.groupInstanceId !== null) {
        throw new RangeError(
          'group consumer: groupInstanceId is not supported with groupProtocol "consumer"',
        );
      }
      this.#kip848 = new ConsumerProtocolMember(
        this.#membership,
        this.#options.rebalanceTimeoutMs,
        options.groupRemoteAssignor ?? null,
      );
    }
    this.#consumer = new Consumer(client, {
      autoOffsetReset: this.#options.autoOffsetReset,
      maxWaitMs: this.#options.maxWaitMs,
      maxPartitionBytes: this.#options.maxPartitionBytes,
      isolationLevel: this.#options.isolationLevel === "read_committed" ? 1 : 0,
      onTruncation: options.onTruncation,
      clientRack: options.clientRack,
    });
  }

  /** The user data of the member's last assignment (the assignor's own), or `null`. */
  assignmentUserData(): Uint8Array | null {
    return this.#assignmentUserData;
  }

  /** The group id. */
  get groupId(): string {
    return this.#options.groupId;
  }

  /** The member id the coordinator gave ("" before joining); with KIP-848 the member's own. */
  get memberId(): string {
    return this.#kip848?.memberId ?? this.#membership.memberId;
  }

  /** The current generation (-1 before joining); with KIP-848 the member epoch (0 before). */
  get generationId(): number {
    return this.#kip848?.memberEpoch ?? this.#membership.generationId;
  }

  /**
   * The member's group metadata for {@linkcode Producer.sendOffsetsToTransaction}: group id,
   * generation, member id and group instance id as of now (KIP-447: the coordinator refuses
   * transactional offsets of an older generation, so a zombie cannot commit).
   *
   * @returns A copy; generation -1 and member id "" before the first join.
   */
  groupMetadata(): ConsumerGroupMetadata {
    return {
      groupId: this.#options.groupId,
      generationId: this.generationId,
      memberId: this.memberId,
      groupInstanceId: this.#options.groupInstanceId,
    };
  }

  /**
   * The group's committed offsets of partitions (OffsetFetch with `require_stable`: waits out
   * offsets of a transaction still open on the coordinator, up to `defaultApiTimeoutMs`).
   *
   * @param partitions The partitions (need not be assigned).
   * @returns Each partition's committed offset, -1 when none, and its leader epoch
   *   (`committed_leader_epoch`, -1 when none).
   * @throws {KafkaError} On a group or partition error; UNSTABLE_OFFSET_COMMIT when a
   *   transaction still holds offsets of a partition after `defaultApiTimeoutMs`.
   */
  async committed(partitions: TopicPartition[]): Promise<ConsumerPosition[]> {
    if (this.#closed) throw new Error("group consumer: committed after close");
    const offsets = (await this.#fetchCommitted(partitions))!;
    return partitions.map((p, i) => ({
      topic: p.topic,
      partition: p.partition,
      offset: offsets[i].offset,
      leaderEpoch: offsets[i].leaderEpoch,
    }));
  }

  /**
   * Sets the subscription; the group is (re)joined at the next poll.
   *
   * @param topics Topic names.
   * @param listener Rebalance callbacks (replace those of an earlier subscribe).
   * @throws {RangeError} If the list is empty or holds an empty name.
   */
  subscribe(topics: string[], listener?: RebalanceListener): void {
    if (this.#closed) throw new Error("group consumer: subscribe after close");
    if (topics.length === 0 || topics.some((t) => typeof t !== "string" || t === "")) {
      throw new RangeError("group consumer: subscribe needs at least one non-empty topic name");
    }
    this.#topics = [...new Set(topics)];
    if (listener !== undefined) this.#listener = listener;
    this.#rejoin = true;
    this.#kip848Subscription = [...this.#topics];
  }

  /**
   * The partitions assigned to this member and the next offset to read from each, with its
   * leader epoch (of the last record batch read, or of the committed offset; -1 unknown).
   *
   * @returns Topic, partition, position, leader epoch.
   */
  assignment(): ConsumerPosition[] {
    return this.#consumer.assignment();
  }

  /**
   * How many records of an assigned partition lie on the broker past this member's position,
   * by the last fetch answer (Java's `Consumer.currentLag`).
   *
   * @param topic Topic.
   * @param partition Partition.
   * @returns The lag, or `undefined` when unknown (no fetch answered for it yet).
   */
  lag(topic: string, partition: number): number | undefined {
    return this.#consumer.lag(topic, partition);
  }

  /**
   * Stops fetching assigned partitions (Java's `Consumer.pause`): polls return none of their
   * records until {@linkcode GroupConsumer.resume}. A rebalance that takes a partition away
   * forgets its pause.
   *
   * @param partitions Topic and partition of each.
   */
  pause(partitions: Array<{ topic: string; partition: number }>): void {
    this.#consumer.pause(partitions);
  }

  /**
   * Fetches paused partitions again (Java's `Consumer.resume`).
   *
   * @param partitions Topic and partition of each.
   */
  resume(partitions: Array<{ topic: string; partition: number }>): void {
    this.#consumer.resume(partitions);
  }

  /**
   * The paused partitions.
   *
   * @returns Topic and partition of each.
   */
  paused(): Array<{ topic: string; partition: number }> {
    return this.#consumer.paused();
  }

  /**
   * Moves the position of an assigned partition; the next poll reads from `offset`. With a
   * `leaderEpoch` (the epoch of the record before `offset`, as a committed offset carries it:
   * Java's `seek(TopicPartition, OffsetAndMetadata)`), the position is validated against the
   * leader's log (OffsetForLeaderEpoch, KIP-320) before the next fetch, as when resuming from a
   * committed offset.
   *
   * @param topic Topic.
   * @param partition Partition.
   * @param offset The next offset to read, or `earliest`/`latest`.
   * @param leaderEpoch The leader epoch of the record before `offset`; -1 or absent when unknown
   *   (not validated). Ignored with `earliest`/`latest`.
   * @throws {RangeError} If the partition is not assigned to this member, or on an invalid
   *   leader epoch.
   */
  async seek(
    topic: string,
    partition: number,
    offset: number | "earliest" | "latest",
    leaderEpoch?: number,
  ): Promise<void> {
    await this.#consumer.seek({ topic, partition, offset, leaderEpoch });
  }

  /**
   * Joins the group if needed, then fetches the next records of the assigned partitions.
   * Rebalances announced by heartbeats are handled here: commit (with auto-commit), rejoin,
   * resume from the committed offsets.
   *
   * @param options Long-poll time, abort signal.
   * @returns The records (possibly none).
   * @throws {KafkaError} On a non-retriable group or fetch error.
   * @throws {Error} If called after close, before subscribe, or while another poll runs.
   */
  async poll(options: PollOptions = {}): Promise<ConsumerRecord[]> {
    if (this.#closed) throw new Error("group consumer: poll after close");
    if (this.#polling) {
      throw new Error("group consumer: poll while another poll is running (one at a time)");
    }
    this.#polling = true;
    try {
      return await this.#poll(options);
    } finally {
      this.#polling = false;
    }
  }

  async #poll(options: PollOptions): Promise<ConsumerRecord[]> {
    if (this.#closing) {
      await this.#closing;
      return [];
    }
    if (this.#topics.length === 0) {
      throw new Error("group consumer: poll before subscribe");
    }
    if (this.#kip848 !== null) {
      await this.#reconcileKip848();
    } else if (this.#joined && !this.#rejoin && Date.now() >= this.#metadataCheckAt) {
      await this.#checkMetadata();
    }
    if (this.#kip848 === null && (this.#rejoin || !this.#joined)) {
      this.#joining = this.#rejoinGroup();
      try {
        await this.#joining;
      } catch (e) {
        if (!this.#closing) throw e;
        await this.#closing; // close() ended the join
        return [];
      } finally {
        this.#joining = null;
      }
    }
    if (
      this.#options.autoCommit &&
      Date.now() - this.#lastCommit >= this.#options.autoCommitIntervalMs
    ) {
      await this.#autoCommit();
    }
    const abort = new AbortController();
    this.#pollAbort = abort;
    const signal = options.signal ? AbortSignal.any([options.signal, abort.signal]) : abort.signal;
    try {
      if (this.#consumer.assignment().length === 0) {
        // Nothing assigned (more members than partitions): wait like an empty long poll.
        await idle(options.maxWaitMs ?? this.#options.maxWaitMs, signal);
        return [];
      }
      try {
        return await this.#consumer.poll({ maxWaitMs: options.maxWaitMs, signal });
      } catch (e) {
        // A partition of a deleted (or shrunk) topic: like Java, look the metadata up rather
        // than throw at every poll; the rejoin that follows gives the partition up.
        if (!(e instanceof KafkaError) || !TOPIC_GONE.has(e.code)) throw e;
        await this.#checkMetadata();
        if (!this.#rejoin) await idle(options.maxWaitMs ?? this.#options.maxWaitMs, signal);
        return [];
      }
    } finally {
      this.#pollAbort = null;
    }
  }

  /**
   * Polls forever, yielding records one by one (stop with `break` or
   * {@linkcode GroupConsumer.close}).
   *
   * @returns An async iterator of records.
   */
  async *[Symbol.asyncIterator](): AsyncGenerator<ConsumerRecord> {
    while (!this.#closed && !this.#closing) {
      for (const r of await this.poll()) yield r;
    }
  }

  /**
   * Commits offsets synchronously: the given ones, or the current position of every assigned
   * partition (with its leader epoch, `committed_leader_epoch`, so that a member resuming from
   * it can tell a truncated log: KIP-320).
   *
   * @param offsets Offsets to commit (default: current positions).
   * @throws {KafkaError} The first partition error, e.g. `ILLEGAL_GENERATION` after the group
   *   rebalanced, or `UNKNOWN_TOPIC_OR_PARTITION`.
   */
  async commit(offsets?: OffsetToCommit[]): Promise<void> {
    if (this.#closed) throw new Error("group consumer: commit after close");
    const list = offsets ?? this.#consumer.assignment();
    for (const o of list) {
      if (!Number.isSafeInteger(o.offset) || o.offset < 0) {
        throw new RangeError(`commit: invalid offset ${o.offset} for ${o.topic}-${o.partition}`);
      }
    }
    if (list.length === 0) return;
    await this.#commit(list);
  }

  async #commit(list: OffsetToCommit[]): Promise<void> {
    const byTopic = new Map<string, OffsetToCommit[]>();
    for (const o of list) byTopic.set(o.topic, [...(byTopic.get(o.topic) ?? []), o]);
    const request = (version: number) =>
      OffsetCommitRequest.create({
        groupId: this.#options.groupId,
        // KIP-848: the member epoch (OffsetCommit v9)
        generationIdOrMemberEpoch: this.#kip848?.memberEpoch ?? this.#membership.generationId,
        memberId: this.#kip848?.memberId ?? this.#membership.memberId,
        groupInstanceId: this.#options.groupInstanceId,
        retentionTimeMs: -1,
        topics: [...byTopic].map(([name, os]) => ({
          name,
          partitions: os.map((o) => ({
            partitionIndex: o.partition,
            committedOffset: o.offset,
            committedLeaderEpoch: version >= 6 ? o.leaderEpoch ?? -1 : -1,
            commitTimestamp: -1,
            committedMetadata: o.metadata ?? "",
          })),
        })),
      });
    const { res } = await this.#membership.call(
      { request: OffsetCommitRequest, response: OffsetCommitResponse },
      request,
      (r) => r.topics.flatMap((t) => t.partitions.map((p) => p.errorCode)).find((c) => c !== 0),
    );
    for (const t of res.topics) {
      for (const p of t.partitions) {
        if (p.errorCode === 0) continue;
        if (REJOIN.has(p.errorCode)) this.#requestRejoin(p.errorCode);
        throw new KafkaError(
          p.errorCode,
          `commit offsets of group ${this.#options.groupId} (${t.name}-${p.partitionIndex})`,
        );
      }
    }
    this.#lastCommit = Date.now();
  }

  async #autoCommit(): Promise<void> {
    const positions = this.#consumer.assignment();
    this.#lastCommit = Date.now();
    if (positions.length === 0 || !this.#joined) return;
    try {
      await this.#commit(positions);
    } catch { /* Java logs failed auto-commits and carries on; the next one retries. */ }
  }

  /**
   * Commits (with auto-commit), leaves the group (dynamic members only) and closes the
   * member's connections; the {@linkcode Client} stays open. A poll waiting in a rebalance
   * returns no records.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    if (this.#kip848 !== null) return await this.#closeKip848(this.#kip848);
    const heartbeating = this.#stopHeartbeat();
    this.#pollAbort?.abort();
    const joining = this.#joining;
    if (joining) {
      // A JoinGroup/SyncGroup may wait for other members; end it rather than queue behind it.
      await this.#client.closePool(this.#pool);
      await joining.catch(() => {});
    }
    let failure: unknown;
    try {
      if (this.#joined && this.#options.autoCommit) await this.#autoCommit();
      if (this.#joined) failure = await this.#giveUpPartitions(this.#membership.generationId < 0);
      if (this.#membership.memberId !== "" && this.#options.groupInstanceId === null) {
        await this.#membership.leave("the consumer is closing").catch(() => {});
      }
    } finally {
      this.#closed = true;
      this.#joined = false;
      await heartbeating;
      await this.#consumer.close();
      await this.#client.closePool(this.#pool);
    }
    if (failure !== undefined) throw failure;
  }

  /**
   * Calls `onPartitionsRevoked` (or `onPartitionsLost`) with every partition owned, then owns
   * none; returns what the callback threw.
   */
  async #giveUpPartitions(lost: boolean): Promise<unknown> {
    const owned = this.#consumer.assignment().map(({ topic, partition }) => ({ topic, partition }));
    // Still owned during the callback (positions readable, commit() commits them).
    const failure = owned.length === 0
      ? undefined
      : await this.#callListener(lost ? "lost" : "revoked", owned);
    this.#assigned = [];
    await this.#consumer.assign([]);
    return failure;
  }

  /**
   * Runs a rebalance callback; returns what it threw (poll throws it after the rebalance).
   * `assigned` and `revoked` run while the member is in a generation (the new one after
   * SyncGroup; the old one before JoinGroup), so it heartbeats meanwhile, like Java's
   * heartbeat thread: a callback longer than the session timeout (restoring state, committing
   * a transaction) does not cost the member its place. `lost` runs outside the group.
   */
  async #callListener(
    which: "assigned" | "revoked" | "lost",
    partitions: TopicPartition[],
  ): Promise<unknown> {
    const l = this.#listener;
    const fn = which === "assigned"
      ? l.onPartitionsAssigned
      : which === "revoked"
      ? l.onPartitionsRevoked
      : l.onPartitionsLost ?? l.onPartitionsRevoked;
    if (fn === undefined) return undefined;
    const heartbeats = which === "lost" ? null : this.#heartbeatWhile();
    try {
      await fn.call(l, partitions);
      return undefined;
    } catch (e) {
      return e ?? new Error(`group consumer: onPartitions${which} threw`);
    } finally {
      await heartbeats?.stop();
    }
  }

  // --- the consumer protocol (KIP-848) -----------------------------------------------------

  /**
   * Joins (epoch 0) or reconciles: partitions lost after a fence are given up (`lost`), a new
   * assignment is applied (revoked ones committed and given up first, new ones resumed from
   * their committed offsets) and acknowledged at once with the partitions now owned.
   */
  async #reconcileKip848(): Promise<void> {
    const m = this.#kip848!;
    if (this.#kip848Error !== null) {
      const e = this.#kip848Error;
      this.#kip848Error = null;
      throw e;
    }
    const failures: unknown[] = [];
    if (this.#kip848Fenced || (!m.joined && this.#consumer.assignment().length > 0)) {
      this.#kip848Fenced = false;
      failures.push(await this.#giveUpPartitions(true));
    }
    if (!m.joined) {
      this.#joined = false;
      this.#kip848Subscription = null;
      const code = await m.heartbeat({ subscribedTopicNames: [...this.#topics], owned: null });
      if (code !== 0) return;
      this.#joined = true;
      this.#lastCommit = Date.now();
      this.#scheduleKip848Heartbeat();
    }
    for (let rounds = 0; m.target !== null && rounds < 10; rounds++) {
      const target = m.target;
      m.target = null;
      const owned = await this.#applyKip848Target(target, failures);
      const code = await m.heartbeat({ subscribedTopicNames: this.#takeSubscription(), owned });
      if (code !== 0) this.#kip848Fenced = true;
    }
    const failure = failures.find((f) => f !== undefined);
    if (failure !== undefined) throw failure;
  }

  #takeSubscription(): string[] | null {
    const s = this.#kip848Subscription;
    this.#kip848Subscription = null;
    return s;
  }

  /** Moves the consumer's partitions to `target`; returns what it owns now (by topic id). */
  async #applyKip848Target(
    target: TopicIdPartitions,
    failures: unknown[],
  ): Promise<TopicIdPartitions> {
    const client = this.#client;
    if ([...target.keys()].some((id) => client.topicName(id) === undefined)) {
      await client.refreshMetadata(this.#topics).catch(() => {});
    }
    const k = (p: { topic: string; partition: number }) => `${p.topic}\u0000${p.partition}`;
    const wanted: TopicPartition[] = [];
    const owned: TopicIdPartitions = new Map();
    for (const [id, partitions] of target) {
      const topic = client.topicName(id);
      if (topic === undefined) continue; // not known yet: acknowledged at a later assignment
      owned.set(id, partitions);
      for (const partition of partitions) wanted.push({ topic, partition });
    }
    const wantedKeys = new Set(wanted.map(k));
    const current = this.#consumer.assignment();
    const revoked = current.filter((p) => !wantedKeys.has(k(p)));
    if (revoked.length > 0) {
      if (this.#options.autoCommit) await this.#commit(revoked).catch(() => {});
      failures.push(
        await this.#callListener(
          "revoked",
          revoked.map(({ topic, partition }) => ({ topic, partition })),
        ),
      );
    }
    const kept = new Map(current.filter((p) => wantedKeys.has(k(p))).map((p) => [k(p), p]));
    const added = wanted.filter((p) => !kept.has(k(p)));
    const committed = (await this.#fetchCommitted(added))!;
    await this.#consumer.assign(wanted.map((p) => {
      const was = kept.get(k(p));
      if (was !== undefined) return { ...p, offset: was.offset, leaderEpoch: was.leaderEpoch };
      const c = committed[added.indexOf(p)];
      return c.offset >= 0
        ? { ...p, offset: c.offset, leaderEpoch: c.leaderEpoch }
        : { ...p, offset: this.#options.autoOffsetReset };
    }));
    if (added.length > 0) failures.push(await this.#callListener("assigned", added));
    return owned;
  }

  /** The next background heartbeat, after the interval the coordinator asked for. */
  #scheduleKip848Heartbeat(): void {
    const m = this.#kip848!;
    if (this.#kip848Timer !== null) clearTimeout(this.#kip848Timer);
    this.#kip848Timer = setTimeout(async () => {
      this.#kip848Timer = null;
      if (this.#closing !== null || !m.joined) return;
      try {
        const code = await m.heartbeat({
          subscribedTopicNames: this.#takeSubscription(),
          owned: null,
        });
        if (code !== 0) this.#kip848Fenced = true;
      } catch (e) {
        // the coordinator unreachable for now: the next heartbeat tries again (past the
        // session timeout the member is fenced and joins again); others end the next poll
        const transient = e instanceof KafkaError &&
          (e.code === ErrorCode.NETWORK_EXCEPTION || isRetriable(e.code));
        if (!transient) this.#kip848Error = e;
      }
      // a new assignment or a fence: the poll reconciles now rather than after its wait
      if (m.target !== null || this.#kip848Fenced || this.#kip848Error !== null) {
        this.#pollAbort?.abort();
      }
      if (this.#closing === null && m.joined) this.#scheduleKip848Heartbeat();
    }, m.heartbeatIntervalMs);
  }

  async #closeKip848(m: ConsumerProtocolMember): Promise<void> {
    if (this.#kip848Timer !== null) clearTimeout(this.#kip848Timer);
    this.#kip848Timer = null;
    this.#pollAbort?.abort();
    let failure: unknown;
    try {
      if (m.joined && this.#options.autoCommit) await this.#autoCommit();
      if (m.joined) failure = await this.#giveUpPartitions(false);
      await m.leave();
    } finally {
      this.#closed = true;
      this.#joined = false;
      await this.#consumer.close();
      await this.#client.closePool(this.#pool);
    }
    if (failure !== undefined) throw failure;
  }

  // --- membership ---------------------------------------------------------------------------

  /** Asks for a rejoin after `code` ({@linkcode GroupMembership.forget}-ed already or here). */
  #requestRejoin(code: number): void {
    this.#membership.forget(code);
    this.#rejoin = true;
    this.#pollAbort?.abort();
  }

  async #rejoinGroup(): Promise<void> {
    await this.#stopHeartbeat();
    // Out of the group (its generation reset by an error): the partitions are lost, not revoked.
    const lost = this.#membership.generationId < 0;
    if (this.#joined && this.#options.autoCommit && !lost) await this.#autoCommit();
    const failures: unknown[] = [];
    // Eager members give up everything before JoinGroup; cooperative ones only when lost.
    if (this.#joined && (lost || !this.#cooperative)) {
      failures.push(await this.#giveUpPartitions(lost));
    }
    this.#joined = false;
    for (let attempt = 0;; attempt++) {
      this.#rejoin = false;
      const code = await this.#joinOnce(failures);
      if (this.#closing) throw new Error("group consumer: closed while joining");
      if (code === 0) break;
      if (!REJOIN.has(code) || attempt >= 20) {
        throw new KafkaError(code, `join group ${this.#options.groupId}`);
      }
      if (code !== ErrorCode.REBALANCE_IN_PROGRESS) await this.#client.backoff(attempt);
    }
    this.#joined = true;
    this.#lastCommit = Date.now();
    this.#scheduleMetadataCheck();
    this.#startHeartbeat();
    const failure = failures.find((f) => f !== undefined);
    if (failure !== undefined) throw failure;
  }

  /** One JoinGroup + SyncGroup + OffsetFetch round; returns 0 or the error to rejoin on. */
  async #joinOnce(failures: unknown[]): Promise<number> {
    const o = this.#options;
    // Eager members revoke everything before joining (they own nothing); cooperative ones keep
    // their partitions and say so.
    const cooperative = this.#cooperative;
    const owned = cooperative ? this.#assigned : [];
    let leader = false;
    const joined = await this.#membership.joinAndSync(
      this.#assignors.map((a) => ({
        name: a.name,
        metadata: encodeSubscription(this.#topics, {
          ownedPartitions: owned,
          generationId: this.#membership.generationId,
          userData: a.subscriptionUserData?.() ?? null,
        }),
      })),
      (protocol, members) => {
        leader = true;
        return this.#assign(protocol, members);
      },
    );
    if (!joined.joined) return joined.errorCode;
    if (!leader) {
      // The counts this member's topics have now (the leader's may be a moment older: then
      // the leader sees the change and rejoins). Unknown if no broker answers: the first
      // metadata check takes them as they are.
      const counts = await this.#partitionCounts(this.#topics).catch(() => null);
      for (const topic of this.#topics) if (counts && !counts.has(topic)) counts.set(topic, -1);
      this.#snapshot = counts;
    }
    const assigned = decodeAssignment(joined.assignment);
    this.#assignmentUserData = decodeAssignmentUserData(joined.assignment);
    const partitions = assigned.flatMap((a) =>
      a.partitions.map((partition) => ({ topic: a.topic, partition }))
    );
    const k = (p: { topic: string; partition: number }) => `${p.topic}\u0000${p.partition}`;
    // Cooperative: partitions kept keep their positions; revoked ones are committed, dropped,
    // and followed by an immediate rejoin so the leader can hand them over.
    const current = cooperative
      ? new Map(this.#consumer.assignment().map((p) => [k(p), p]))
      : new Map<string, ConsumerPosition>();
    const wanted = new Set(partitions.map(k));
    const revoked = this.#consumer.assignment().filter((p) => cooperative && !wanted.has(k(p)));
    if (revoked.length > 0 && o.autoCommit) await this.#commit(revoked).catch(() => {});
    if (revoked.length > 0) {
      failures.push(
        await this.#callListener(
          "revoked",
          revoked.map(({ topic, partition }) => ({ topic, partition })),
        ),
      );
    }
    const added = partitions.filter((p) => !current.has(k(p)));
    // Offsets of an open transaction: heartbeat while waiting; a rebalance meanwhile rejoins.
    let beat = Date.now();
    const committed = await this.#fetchCommitted(added, async () => {
      if (this.#closing) return false;
      if (Date.now() - beat >= o.heartbeatIntervalMs) {
        beat = Date.now();
        await this.#heartbeat();
      }
      return !this.#rejoin;
    });
    if (committed === undefined) return ErrorCode.REBALANCE_IN_PROGRESS;
    this.#assigned = assigned;
    await this.#consumer.assign(partitions.map((p) => {
      const kept = current.get(k(p));
      if (kept !== undefined) return { ...p, offset: kept.offset, leaderEpoch: kept.leaderEpoch };
      // A committed offset with its leader epoch is validated before the first fetch (KIP-320).
      const c = committed[added.indexOf(p)];
      return c.offset >= 0
        ? { ...p, offset: c.offset, leaderEpoch: c.leaderEpoch }
        : { ...p, offset: o.autoOffsetReset };
    }));
    failures.push(
      await this.#callListener(
        "assigned",
        added.map(({ topic, partition }) => ({ topic, partition })),
      ),
    );
    if (revoked.length > 0) this.#rejoin = true;
    return 0;
  }

  async #assign(
    protocol: string,
    members: JoinedMember[],
  ): Promise<Array<{ memberId: string; assignment: Uint8Array }>> {
    const assignor = this.#assignors.find((a) => a.name === protocol);
    if (!assignor) {
      throw new KafkaError(
        ErrorCode.INCONSISTENT_GROUP_PROTOCOL,
        `assign partitions of group ${this.#options.groupId}: the coordinator chose "${protocol}"`,
      );
    }
    const subs: AssignorMember[] = [];
    let version = 3;
    for (const m of members) {
      const s = decodeSubscription(m.metadata);
      version = Math.min(version, Math.max(s.version, 0));
      subs.push({
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId,
        topics: s.topics,
        ownedPartitions: s.ownedPartitions,
        generationId: s.generationId,
        userData: s.userData,
      });
    }
    const counts = new Map<string, number>();
    const snapshot = new Map<string, number>();
    for (const topic of new Set(subs.flatMap((s) => s.topics))) {
      try {
        const t = await this.#client.topic(topic, { refresh: true });
        counts.set(topic, t.partitions.length);
        snapshot.set(topic, t.partitions.length);
      } catch (e) {
        if (!(e instanceof KafkaError)) throw e; // Unknown topic: nothing to assign.
        snapshot.set(topic, -1);
      }
    }
    this.#snapshot = snapshot;
    if (assignor.assignWithUserData !== undefined) {
      const withData = assignor.assignWithUserData(subs, counts);
      return subs.map((s) => {
        const a = withData.get(s.memberId);
        return {
          memberId: s.memberId,
          assignment: encodeAssignment(a?.partitions ?? [], version, a?.userData ?? null),
        };
      });
    }
    const result = assignor.assign(subs, counts);
    return subs.map((s) => ({
      memberId: s.memberId,
      assignment: encodeAssignment(result.get(s.memberId) ?? [], version),
    }));
  }

  // --- metadata -------------------------------------------------------------------------------

  /**
   * Partition counts of `topics` now: -1 for a topic that does not exist; a topic with
   * another error (no leader yet) is left out.
   */
  async #partitionCounts(topics: string[]): Promise<Map<string, number>> {
    const infos = await this.#client.refreshMetadata(topics);
    const counts = new Map<string, number>();
    for (const topic of topics) {
      const info = infos.find((t) => t.name === topic);
      const code = (info as { errorCode?: number } | undefined)?.errorCode ??
        ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
      if (code === 0) counts.set(topic, info!.partitions.length);
      else if (code === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION) counts.set(topic, -1);
    }
    return counts;
  }

  /**
   * Looks up the partition counts of the snapshot's topics; asks for a rejoin when one differs
   * from the count the last assignment was made with (Java's `ConsumerCoordinator`: the
   * metadata snapshot no longer matches the assignment snapshot).
   */
  async #checkMetadata(): Promise<void> {
    const snapshot = this.#snapshot;
    let now: Map<string, number> | null = null;
    try {
      now = await this.#partitionCounts(snapshot ? [...snapshot.keys()] : this.#topics);
    } catch {
      // No broker answered: the next poll tries again (after the short interval).
    }
    if (now !== null && snapshot === null) this.#snapshot = now;
    else if (now !== null && snapshot !== null) {
      for (const [topic, count] of snapshot) {
        const current = now.get(topic);
        if (current !== undefined && current !== count) this.#rejoin = true;
      }
    }
    this.#scheduleMetadataCheck(now === null);
  }

  /** Sets when the metadata is looked up next: sooner while a topic is missing or unknown. */
  #scheduleMetadataCheck(failed = false): void {
    const s = this.#snapshot;
    const missing = failed || s === null || [...s.values()].some((n) => n < 0);
    const maxAge = this.#options.metadataMaxAgeMs;
    this.#metadataCheckAt = Date.now() +
      (missing ? Math.min(maxAge, MISSING_TOPIC_REFRESH_MS) : maxAge);
  }

  /**
   * The committed offsets of `partitions` (-1: none) and their leader epochs. Partitions answered
   * UNSTABLE_OFFSET_COMMIT (offsets of a transaction not completed yet) are asked again after
   * a backoff, for at most `defaultApiTimeoutMs` (Java's `fetchCommittedOffsets`); between
   * attempts `keepWaiting` runs, and the wait stops (`undefined`) when it answers `false`.
   */
  async #fetchCommitted(
    partitions: Array<{ topic: string; partition: number }>,
    keepWaiting: () => Promise<boolean> = () => Promise.resolve(true),
  ): Promise<Array<{ offset: number; leaderEpoch: number }> | undefined> {
    const deadline = Date.now() + this.#options.defaultApiTimeoutMs;
    const out = partitions.map(() => ({ offset: -1, leaderEpoch: -1 }));
    let todo = partitions.map((_, i) => i);
    for (let attempt = 0;; attempt++) {
      const answers = await this.#fetchCommittedOnce(todo.map((i) => partitions[i]));
      const unstable: number[] = [];
      answers.forEach((a, j) => {
        if (a.errorCode === ErrorCode.UNSTABLE_OFFSET_COMMIT) unstable.push(todo[j]);
        else out[todo[j]] = { offset: a.offset, leaderEpoch: a.leaderEpoch };
      });
      if (unstable.length === 0) return out;
      if (Date.now() >= deadline) {
        const p = partitions[unstable[0]];
        throw new KafkaError(
          ErrorCode.UNSTABLE_OFFSET_COMMIT,
          `fetch committed offsets of group ${this.#options.groupId}: ${p.topic}-${p.partition}` +
            `${unstable.length > 1 ? ` and ${unstable.length - 1} more` : ""} still held by an ` +
            `open transaction after ${this.#options.defaultApiTimeoutMs} ms`,
        );
      }
      await this.#client.backoff(attempt);
      if (!await keepWaiting()) return undefined;
      todo = unstable;
    }
  }

  /** One OffsetFetch (require_stable): each partition's offset, epoch and error, in order. */
  async #fetchCommittedOnce(
    partitions: Array<{ topic: string; partition: number }>,
  ): Promise<Array<{ offset: number; leaderEpoch: number; errorCode: number }>> {
    if (partitions.length === 0) return [];
    const byTopic = new Map<string, number[]>();
    for (const p of partitions) {
      byTopic.set(p.topic, [...(byTopic.get(p.topic) ?? []), p.partition]);
    }
    const topics = [...byTopic].map(([name, partitionIndexes]) => ({ name, partitionIndexes }));
    const { res, version } = await this.#membership.call(
      { request: OffsetFetchRequest, response: OffsetFetchResponse },
      (version) =>
        OffsetFetchRequest.create(
          version >= 8
            ? {
              groups: [{ groupId: this.#options.groupId, memberId: null, memberEpoch: -1, topics }],
              requireStable: true,
            }
            : { groupId: this.#options.groupId, topics, requireStable: version >= 7 },
        ),
      (r, version) => version >= 8 ? r.groups[0]?.errorCode : r.errorCode,
    );
    const code = version >= 8 ? res.groups[0]?.errorCode ?? 0 : res.errorCode;
    if (code !== 0) {
      throw new KafkaError(code, `fetch committed offsets of group ${this.#options.groupId}`);
    }
    const resTopics = version >= 8 ? res.groups[0]?.topics ?? [] : res.topics;
    return partitions.map((p) => {
      const r = resTopics.find((t) => t.name === p.topic)?.partitions
        .find((x) => x.partitionIndex === p.partition);
      if (r && r.errorCode !== 0 && r.errorCode !== ErrorCode.UNSTABLE_OFFSET_COMMIT) {
        throw new KafkaError(
          r.errorCode,
          `fetch committed offset of group ${this.#options.groupId} (${p.topic}-${p.partition})`,
        );
      }
      return {
        offset: r ? r.committedOffset : -1,
        leaderEpoch: r && version >= 5 ? r.committedLeaderEpoch : -1,
        errorCode: r?.errorCode ?? 0,
      };
    });
  }

  // --- heartbeats ---------------------------------------------------------------------------

  #startHeartbeat(): void {
    void this.#stopHeartbeat();
    this.#heartbeats = this.#membership.heartbeats(
      () => !this.#closing && this.#joined && !this.#rejoin,
      (code) => this.#requestRejoin(code),
    );
  }

  /**
   * Heartbeats every interval until stopped (the regular heartbeats are stopped during a
   * rebalance), as long as the member is in a generation. `REBALANCE_IN_PROGRESS` keeps the
   * generation: the member goes on heartbeating (that keeps its session alive while the
   * coordinator waits for its JoinGroup) and rejoins after the callback. An answer that puts
   * the member out of the group (`UNKNOWN_MEMBER_ID`, `ILLEGAL_GENERATION`) ends the loop.
   */
  #heartbeatWhile(): HeartbeatLoop {
    return this.#membership.heartbeats(
      () => this.#membership.inGroup,
      (code) => this.#requestRejoin(code),
    );
  }

  /** Stops the regular heartbeats; the promise settles with the one in flight. */
  #stopHeartbeat(): Promise<void> {
    return this.#heartbeats?.stop() ?? Promise.resolve();
  }

  #heartbeat(): Promise<void> {
    return this.#membership.heartbeat((code) => this.#requestRejoin(code));
  }
}
