// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * The data plane of cluster mode (docs/CLUSTER.md; Kafka's `ReplicaManager` and `Partition`):
 * what this broker does for each partition it replicates, given the partition states the
 * control plane hands it ({@linkcode ReplicaManager.applyStates}).
 *
 * - **Roles.** Leader when the state names this broker, follower of the named leader otherwise,
 *   none while the partition is offline (leader -1). A state older than the one applied (lower
 *   leader epoch, or the same with a lower partition epoch) is ignored. Every replicated log's
 *   high watermark is the replication layer's from then on (`PartitionLog.enableReplication`).
 * - **Leader.** Starts its leader epoch at its log end (`PartitionLog.setLeaderEpoch`) and
 *   tracks each follower from its Fetch requests (`replica_id` ≥ 0): the fetch offset is the
 *   follower's log end, and the follower was caught up at the time of a fetch at the leader's log
 *   end, or at the time of its previous fetch when this one reaches the leader's log end of then
 *   (Kafka's `updateFetchState`). The high watermark is the minimum log end over the ISR, itself
 *   included, counting a member being added or removed until the change is confirmed ("maximal
 *   ISR"); it only moves forward. A follower that reaches the high watermark (and the start of
 *   the current leader epoch) is added to the ISR; one not caught up for
 *   `replica.lag.time.max.ms` is removed (checked every half of it). Both go through the
 *   control plane's `alterPartition` (compare-and-swap on the leader and partition epochs), one
 *   change at a time per partition and none for 500 ms after a refusal (etcd may be out of
 *   reach); what it answers is applied at once (a refused change's state too: this broker may
 *   have been replaced as leader).
 * - **acks=all.** {@linkcode ReplicaManager.checkProduce} refuses a partition this broker does
 *   not lead (NOT_LEADER_OR_FOLLOWER) and, for acks=all, an ISR smaller than
 *   `min.insync.replicas` (NOT_ENOUGH_REPLICAS) before the append;
 *   {@linkcode ReplicaManager.waitForAcks} then waits until the high watermark passes the
 *   append: NONE, or NOT_ENOUGH_REPLICAS_AFTER_APPEND if the ISR shrank below
 *   `min.insync.replicas` meanwhile, REQUEST_TIMED_OUT after the request's timeout,
 *   NOT_LEADER_OR_FOLLOWER if leadership was lost (Kafka's `DelayedProduce`).
 * - **Follower.** Hands the partition to the {@linkcode ReplicaFetcher} of its leader (one per
 *   leader broker), which truncates it with OffsetForLeaderEpoch and then copies it.
 * - The high watermarks of replicated logs are written to `replication-offset-checkpoint` every
 *   `replica.high.watermark.checkpoint.interval.ms` (and at flush and close).
 *
 * The control plane calls {@linkcode ReplicaManager.applyStates} with every change of the
 * partitions this broker replicates (the shapes are those of `server/cluster/cluster_view.ts`);
 * standalone brokers have no replica manager and keep HW = LEO.
 *
 * @module
 */

import { forEachConcurrently } from "../engine/concurrency.ts";
import type { AppendResult, LogManager, PartitionLog } from "../engine/mod.ts";
import { ErrorCode, errorName } from "../protocol/errors.ts";
import type {
  AlterPartitionRequest,
  AlterPartitionResult,
  ReplicaState,
} from "./cluster/cluster_view.ts";
import type { Logger } from "./logger.ts";
import { type BrokerEndpoint, ReplicaFetcher } from "./replica_fetcher.ts";
import { ReplicationError } from "./replication_error.ts";
import { type ReplicaView, selectRackAware } from "./replica_selector.ts";

export { ReplicationError } from "./replication_error.ts";

export type { BrokerEndpoint } from "./replica_fetcher.ts";
export type { AlterPartitionRequest, AlterPartitionResult, ReplicaState };

/** The control plane's AlterPartition (`ClusterView.alterPartition`). */
export type AlterPartitionFn = (
  topic: string,
  partition: number,
  request: AlterPartitionRequest,
) => Promise<AlterPartitionResult>;

/** Settings and collaborators of a {@linkcode ReplicaManager}. */
export interface ReplicaManagerOptions {
  /** This broker's node id. */
  nodeId: number;
  /** The broker's logs. */
  logs: LogManager;
  /** Where to report. */
  logger: Logger;
  /** A broker's address (for fetching from it as leader), `undefined` if unknown. */
  brokerEndpoint: (nodeId: number) => BrokerEndpoint | undefined;
  /** The control plane's AlterPartition (ISR changes). */
  alterPartition: AlterPartitionFn;
  /** `replica.lag.time.max.ms` (default 30000). */
  replicaLagTimeMaxMs?: number;
  /** `replica.fetch.wait.max.ms` (default 500). */
  replicaFetchWaitMaxMs?: number;
  /** `replica.fetch.max.bytes` (default 1048576). */
  replicaFetchMaxBytes?: number;
  /** `replica.fetch.response.max.bytes` (default 10485760). */
  replicaFetchResponseMaxBytes?: number;
  /** `replica.fetch.backoff.ms` (default 1000). */
  replicaFetchBackoffMs?: number;
  /** `replica.socket.timeout.ms` (default 30000). */
  replicaSocketTimeoutMs?: number;
  /** `replica.high.watermark.checkpoint.interval.ms` (default 5000; 0: only at flush and close). */
  replicaHighWatermarkCheckpointIntervalMs?: number;
  /**
   * Cluster mode: every partition of this broker is replicated, so one without a state yet (its
   * log made before its state arrived) is led by no one here and answers NOT_LEADER_OR_FOLLOWER
   * instead of keeping the standalone rules. Default false.
   */
  replicatesAll?: boolean;
  /**
   * Cluster mode: whether this broker is fenced (its registration in etcd lapsed); it then leads
   * nothing (every leader check answers NOT_LEADER_OR_FOLLOWER) until it is registered again.
   */
  fenced?: () => boolean;
  /**
   * Cluster mode: this broker's broker epoch (its registration's create revision; -1: none),
   * sent in its follower fetches (Fetch v15 `ReplicaState.ReplicaEpoch`).
   */
  brokerEpoch?: () => number;
  /**
   * Cluster mode: whether a follower may be added to an ISR as this broker's view has it
   * (Kafka's `Partition.isReplicaIsrEligible`): registered, not fenced, and registered with the
   * broker epoch its fetches carry (-1: not carried). The AlterPartition enforces the same
   * against etcd; this check saves it the etcd reads while a follower is fenced. Default: every
   * follower is eligible.
   */
  isrEligible?: (nodeId: number, brokerEpoch: number) => boolean;
  /**
   * KIP-392 (`replica.selector.class`): the selector a leader uses to send a consumer to another
   * replica ({@linkcode ReplicaManager.preferredReadReplica}); absent (Kafka's default): none,
   * the leader serves every consumer.
   */
  replicaSelector?: "rack-aware";
  /**
   * The rack of a registered broker (`null`: none), `undefined` when the broker is not
   * registered (it is then never chosen). Needed with `replicaSelector`.
   */
  rackOf?: (nodeId: number) => string | null | undefined;
}

/** A partition's role on this broker. */
export type ReplicaRole = "leader" | "follower" | "none";

/** What the leader knows of one follower (Kafka's `ReplicaState`), for tests and metrics. */
export interface FollowerProgress {
  /** The follower's node id. */
  nodeId: number;
  /** Its log end offset as of its last fetch (-1: unknown since this broker became leader). */
  logEndOffset: number;
  /** When it was last caught up to the leader's log end (ms since the epoch; 0: never). */
  lastCaughtUpMs: number;
  /** When it last fetched (ms since the epoch; 0: never). */
  lastFetchMs: number;
  /** The broker epoch its last fetch carried (-1: none, or a fetch before v15). */
  brokerEpoch: number;
}

/** What {@linkcode ReplicaManager.stats} counts. */
export interface ReplicaManagerStats {
  /** Partitions replicated on this broker (`PartitionCount`). */
  partitions: number;
  /** Of them, those this broker leads (`LeaderCount`). */
  leaders: number;
  /** Led partitions whose ISR is smaller than their replica set (`UnderReplicatedPartitions`). */
  underReplicated: number;
  /** Partitions without a leader in the state applied here. */
  offline: number;
  /** acks=all Produce waits in progress (the produce purgatory's size). */
  ackWaiters: number;
}

/** An error code with its detail (NONE: no message). */
export interface ReplicaError {
  /** Kafka error code. */
  code: number;
  /** What happened. */
  message: string;
}

interface Follower {
  leo: number;
  /** Its log start offset as of its last fetch (-1: unknown). */
  logStartOffset: number;
  lastCaughtUpMs: number;
  lastFetchMs: number;
  lastFetchLeaderLeo: number;
  /** The broker epoch its last fetch carried (-1: not carried). */
  brokerEpoch: number;
}

interface AckWaiter {
  required: number;
  minIsr: number;
  resolve: (r: ReplicaError) => void;
  timer: ReturnType<typeof setTimeout>;
  onAbort?: () => void;
  signal?: AbortSignal;
}

interface LowWatermarkWaiter {
  required: number;
  resolve: (r: ReplicaError) => void;
}

interface Replica {
  state: ReplicaState;
  role: ReplicaRole;
  log: PartitionLog;
  // leader
  followers: Map<number, Follower>;
  /** The log end offset when this broker became leader in the current epoch. */
  epochStartOffset: number;
  /** An AlterPartition in flight: the ISR proposed. */
  proposedIsr: number[] | undefined;
  /** No ISR change is tried before this time (ms) after one was refused. */
  alterRetryAt: number;
  waiters: Set<AckWaiter>;
  /** DeleteRecords waiting for the in-sync replicas' log start offsets. */
  lowWatermarkWaiters: Set<LowWatermarkWaiter>;
  // follower
  fetcher: ReplicaFetcher | undefined;
}

const NONE: ReplicaError = { code: ErrorCode.NONE, message: "" };
/** Pause after a refused ISR change before the next one is tried. */
const ALTER_RETRY_MS = 500;
/** Partitions whose states {@linkcode ReplicaManager.applyStates} applies at the same time. */
const APPLY_CONCURRENCY = 32;
const key = (topic: string, partition: number) => `${topic}\u0000${partition}`;

/**
 * Leader and follower duties for the partitions this broker replicates.
 *
 * @example
 * ```ts ignore
 * const replicas = new ReplicaManager({
 *   nodeId: 1, logs, logger,
 *   brokerEndpoint: (id) => view.broker(id)?.value,
 *   alterPartition: (t, p, r) => view.alterPartition(t, p, r),
 * });
 * view.onPartitionStates((states) => replicas.applyStates(states));
 * ```
 */
export class ReplicaManager {
  /** This broker's node id. */
  readonly nodeId: number;
  readonly #o: ReplicaManagerOptions;
  readonly #logs: LogManager;
  readonly #logger: Logger;
  readonly #lagMs: number;
  readonly #replicas = new Map<string, Replica>();
  readonly #fetchers = new Map<number, ReplicaFetcher>();
  /** States of partitions whose log did not exist yet, applied again until it does. */
  readonly #pending = new Map<string, ReplicaState>();
  #pendingTimer: ReturnType<typeof setTimeout> | undefined;
  #chain: Promise<void> = Promise.resolve();
  readonly #timers: ReturnType<typeof setInterval>[] = [];
  readonly #unsubscribe: () => void;
  readonly #roleListeners = new Set<(topic: string, partition: number) => void>();
  #closed = false;

  /**
   * Creates the manager (it manages nothing until states are applied).
   *
   * @param options Node id, logs, the control plane's hooks, settings.
   */
  constructor(options: ReplicaManagerOptions) {
    this.nodeId = options.nodeId;
    this.#o = options;
    this.#logs = options.logs;
    this.#logger = options.logger;
    this.#lagMs = options.replicaLagTimeMaxMs ?? 30000;
    // a leader's own appends may move its HW (an ISR of one)
    this.#unsubscribe = this.#logs.onAppend((topic, partition) => {
      const r = this.#replicas.get(key(topic, partition));
      if (r?.role === "leader") this.#maybeIncrementHighWatermark(r);
    });
    const shrink = setInterval(() => this.#maybeShrinkIsrs(), Math.max(1, this.#lagMs / 2));
    Deno.unrefTimer(shrink);
    this.#timers.push(shrink);
    const cpMs = options.replicaHighWatermarkCheckpointIntervalMs ?? 5000;
    if (cpMs > 0) {
      const cp = setInterval(() => {
        this.#logs.checkpointHighWatermarks().catch((e) =>
          this.#logger.warn(`High watermark checkpoint failed (retried): ${e}`)
        );
      }, cpMs);
      Deno.unrefTimer(cp);
      this.#timers.push(cp);
    }
  }

  /**
   * Applies partition states from the control plane, in order (each call waits for the ones
   * before it, and each partition's states are applied in the order given; different
   * partitions' at the same time): becomes leader, follower, or nothing for each, as described
   * in the module doc.
   * A state for a partition whose log does not exist here yet is kept and applied again every
   * 200 ms until the log exists (the control plane creates logs as it hands states over).
   *
   * @param states The changed partitions (`removed` ones stop being replicated here).
   * @returns Resolves once every state is in effect.
   */
  applyStates(states: readonly ReplicaState[]): Promise<void> {
    const copy = states.map((s) => ({ ...s, replicas: [...s.replicas], isr: [...s.isr] }));
    const run = this.#chain.then(async () => {
      // each partition's states in order; partitions APPLY_CONCURRENCY at a time (a new leader
      // epoch is written to disk: one partition after the other, a broker given 10,000 new
      // states was minutes behind its view)
      const byPartition = new Map<string, ReplicaState[]>();
      for (const s of copy) {
        const k = key(s.topic, s.partition);
        const q = byPartition.get(k);
        if (q === undefined) byPartition.set(k, [s]);
        else q.push(s);
      }
      const queues = [...byPartition.values()];
      await forEachConcurrently(queues.length, APPLY_CONCURRENCY, async (i) => {
        for (const s of queues[i]) {
          if (this.#closed) return;
          try {
            await this.#apply(s);
          } catch (e) {
            this.#logger.error(
              `Cannot apply the state of ${s.topic}-${s.partition} (leader ${s.leader}, epoch ` +
                `${s.leaderEpoch}): ${e instanceof Error ? e.message : e}`,
            );
          }
        }
      });
    });
    this.#chain = run.catch(() => {});
    return run;
  }

  /**
   * The role of this broker for a partition.
   *
   * @param topic Topic.
   * @param partition Partition.
   * @returns Its role, or `undefined` when the partition is not replicated (standalone).
   */
  role(topic: string, partition: number): ReplicaRole | undefined {
    return this.#replicas.get(key(topic, partition))?.role;
  }

  /**
   * The state last applied for a partition.
   *
   * @param topic Topic.
   * @param partition Partition.
   * @returns A copy, or `undefined` if not replicated here.
   */
  state(topic: string, partition: number): ReplicaState | undefined {
    const s = this.#replicas.get(key(topic, partition))?.state;
    return s === undefined ? undefined : { ...s, replicas: [...s.replicas], isr: [...s.isr] };
  }

  /**
   * A replicated partition's offsets on this broker (for tests and metrics).
   *
   * @param topic Topic.
   * @param partition Partition.
   * @returns Log start and end offsets and high watermark, or `undefined` if not replicated.
   */
  offsets(
    topic: string,
    partition: number,
  ): { logStartOffset: number; logEndOffset: number; highWatermark: number } | undefined {
    const log = this.#replicas.get(key(topic, partition))?.log;
    if (log === undefined) return undefined;
    return {
      logStartOffset: log.logStartOffset,
      logEndOffset: log.logEndOffset,
      highWatermark: log.highWatermark,
    };
  }

  /**
   * What this broker, as leader, knows of each follower of a partition.
   *
   * @param topic Topic.
   * @param partition Partition.
   * @returns One entry per follower, by node id (empty when not leader).
   */
  followerProgress(topic: string, partition: number): FollowerProgress[] {
    const r = this.#replicas.get(key(topic, partition));
    if (r?.role !== "leader") return [];
    return [...r.followers].sort((a, b) => a[0] - b[0]).map(([nodeId, f]) => ({
      nodeId,
      logEndOffset: f.leo,
      lastCaughtUpMs: f.lastCaughtUpMs,
      lastFetchMs: f.lastFetchMs,
      brokerEpoch: f.brokerEpoch,
    }));
  }

  /**
   * The fetcher copying a partition from its leader's state (for tests and metrics).
   *
   * @param topic Topic.
   * @param partition Partition.
   * @returns `truncating`, `fetching`, or `undefined` when not following.
   */
  fetchState(topic: string, partition: number): "truncating" | "fetching" | undefined {
    return this.#replicas.get(key(topic, partition))?.fetcher?.partitionState(topic, partition);
  }

  /**
   * Whether this broker leads a partition now: NONE, or NOT_LEADER_OR_FOLLOWER (it follows, the
   * partition is offline or changing leader, or this broker is fenced). Every leader-only API
   * (Produce, Fetch, ListOffsets, OffsetForLeaderEpoch, DeleteRecords, DescribeProducers,
   * WriteTxnMarkers) and the coordinators go through it.
   *
   * @param topic Topic.
   * @param partition Partition.
   * @returns NONE or NOT_LEADER_OR_FOLLOWER, or `undefined` when the partition is not replicated
   * (standalone rules apply; never with `replicatesAll`).
   */
  checkLeader(topic: string, partition: number): ReplicaError | undefined {
    const r = this.#replicas.get(key(topic, partition));
    if (this.#closed && (r !== undefined || this.#o.replicatesAll)) {
      return {
        code: ErrorCode.NOT_LEADER_OR_FOLLOWER,
        message: `Broker ${this.nodeId} is shutting down: it leads nothing`,
      };
    }
    if (r === undefined) {
      if (!this.#o.replicatesAll) return undefined;
      return {
        code: ErrorCode.NOT_LEADER_OR_FOLLOWER,
        message: `Broker ${this.nodeId} has no leader state for ${topic}-${partition} yet`,
      };
    }
    if (r.role !== "leader") return this.#notLeader(r);
    if (this.#o.fenced?.() === true) {
      return {
        code: ErrorCode.NOT_LEADER_OR_FOLLOWER,
        message: `Broker ${this.nodeId} is fenced (not registered in etcd): it leads nothing`,
      };
    }
    return NONE;
  }

  /**
   * The check before a Produce appends to a partition: NOT_LEADER_OR_FOLLOWER unless this
   * broker leads it; for acks=all, NOT_ENOUGH_REPLICAS when the ISR is smaller than
   * `min.insync.replicas`.
   *
   * @param topic Topic.
   * @param partition Partition.
   * @param acks The request's acks.
   * @param minIsr The topic's `min.insync.replicas`.
   * @returns The refusal, NONE to go ahead, or `undefined` when the partition is not replicated
   * (standalone rules apply).
   */
  checkProduce(
    topic: string,
    partition: number,
    acks: number,
    minIsr: number,
  ): ReplicaError | undefined {
    const led = this.checkLeader(topic, partition);
    if (led === undefined || led.code !== ErrorCode.NONE) return led;
    const r = this.#replicas.get(key(topic, partition))!;
    if (acks === -1 && r.state.isr.length < minIsr) {
      return {
        code: ErrorCode.NOT_ENOUGH_REPLICAS,
        message: `${topic}-${partition} has ${r.state.isr.length} in-sync replicas ` +
          `[${r.state.isr}], fewer than min.insync.replicas=${minIsr}`,
      };
    }
    return NONE;
  }

  /**
   * Waits until the high watermark of a partition this broker leads reaches `requiredOffset`
   * (acks=all; Kafka's `DelayedProduce`).
   *
   * @param topic Topic.
   * @param partition Partition.
   * @param requiredOffset The last offset of the append + 1.
   * @param minIsr The topic's `min.insync.replicas`.
   * @param timeoutMs The request's timeout.
   * @param signal Ends the wait early (the client left, the broker shuts down).
   * @returns NONE; NOT_ENOUGH_REPLICAS_AFTER_APPEND when the ISR shrank below `minIsr`;
   * REQUEST_TIMED_OUT; NOT_LEADER_OR_FOLLOWER when leadership moved.
   */
  waitForAcks(
    topic: string,
    partition: number,
    requiredOffset: number,
    minIsr: number,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<ReplicaError> {
    const r = this.#replicas.get(key(topic, partition));
    if (r === undefined) return Promise.resolve(NONE);
    if (r.role !== "leader" || this.#closed) return Promise.resolve(this.#notLeader(r));
    if (r.log.highWatermark >= requiredOffset) return Promise.resolve(this.#ackResult(r, minIsr));
    return new Promise((resolve) => {
      const w: AckWaiter = {
        required: requiredOffset,
        minIsr,
        resolve: (e) => {
          clearTimeout(w.timer);
          if (w.onAbort) w.signal?.removeEventListener("abort", w.onAbort);
          r.waiters.delete(w);
          resolve(e);
        },
        timer: setTimeout(() => {
          w.resolve({
            code: ErrorCode.REQUEST_TIMED_OUT,
            message:
              `acks=all on ${topic}-${partition}: the in-sync replicas [${
                this.#maximalIsr(r)
              }] did not reach offset ${requiredOffset - 1} within ${timeoutMs} ms (high ` +
              `watermark ${r.log.highWatermark})`,
          });
        }, Math.max(0, timeoutMs)),
        signal,
      };
      if (signal !== undefined) {
        if (signal.aborted) {
          clearTimeout(w.timer);
          resolve({ code: ErrorCode.REQUEST_TIMED_OUT, message: "aborted" });
          return;
        }
        w.onAbort = () => w.resolve({ code: ErrorCode.REQUEST_TIMED_OUT, message: "aborted" });
        signal.addEventListener("abort", w.onAbort, { once: true });
      }
      r.waiters.add(w);
    });
  }

  /**
   * Appends records to a partition this broker leads and waits for its in-sync replicas, as an
   * acks=all Produce does (the topic's `min.insync.replicas`): the coordinators' writes to
   * `__consumer_offsets` and `__transaction_state`, and transaction markers, are acknowledged
   * only once committed. A partition that is not replicated (standalone) gets a plain append.
   *
   * @param log The partition's log.
   * @param records The record batch(es).
   * @param timeoutMs How long to wait for the in-sync replicas.
   * @param signal Ends the wait early.
   * @returns The append's result.
   * @throws {ReplicationError} NOT_LEADER_OR_FOLLOWER, NOT_ENOUGH_REPLICAS (nothing appended),
   * NOT_ENOUGH_REPLICAS_AFTER_APPEND, REQUEST_TIMED_OUT (appended, not acknowledged).
   * @throws {EngineError} If the append itself fails.
   */
  async appendAsLeader(
    log: PartitionLog,
    records: Uint8Array,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<AppendResult> {
    const { topic, partition } = log;
    const minIsr = Number(this.#logs.topic(topic)?.effective["min.insync.replicas"] ?? "1");
    const check = this.checkProduce(topic, partition, -1, minIsr);
    if (check !== undefined && check.code !== ErrorCode.NONE) {
      throw new ReplicationError(check.code, check.message);
    }
    const r = await log.append(records);
    if (check === undefined) return r;
    const w = await this.waitForAcks(topic, partition, r.lastOffset + 1, minIsr, timeoutMs, signal);
    if (w.code !== ErrorCode.NONE) throw new ReplicationError(w.code, w.message);
    return r;
  }

  /**
   * Waits until this broker leads a partition in `leaderEpoch` with a high watermark at the log
   * end offset it had when it became leader: every record of its log is then committed, and the
   * high watermark is the leader's own, not one left from following. A coordinator loads its
   * partition only then (what it reads is what every new leader will have).
   *
   * @param topic Topic.
   * @param partition Partition.
   * @param leaderEpoch The epoch of the leadership.
   * @param signal Gives up early.
   * @returns `true` once caught up; `false` as soon as this broker no longer leads in that epoch
   * (or on close or abort). A partition that is not replicated (standalone) is caught up.
   */
  async waitForLeaderHighWatermark(
    topic: string,
    partition: number,
    leaderEpoch: number,
    signal?: AbortSignal,
  ): Promise<boolean> {
    const k = key(topic, partition);
    for (;;) {
      const r = this.#replicas.get(k);
      if (r === undefined) return !this.#o.replicatesAll;
      if (this.#closed || signal?.aborted) return false;
      if (r.role !== "leader" || r.state.leaderEpoch !== leaderEpoch) return false;
      const w = await this.waitForAcks(topic, partition, r.epochStartOffset, 0, 5000, signal);
      if (w.code === ErrorCode.NONE) {
        return this.#replicas.get(k) === r && r.role === "leader" &&
          r.state.leaderEpoch === leaderEpoch;
      }
      if (w.code !== ErrorCode.REQUEST_TIMED_OUT) return false;
    }
  }

  /**
   * Be told when a partition's role or leader epoch here changed (after the change is in
   * effect), or it stopped being replicated here: the coordinators follow the leadership of
   * their partitions this way.
   *
   * @param listener Called with the partition.
   * @returns A function that unsubscribes.
   */
  onRoleChange(listener: (topic: string, partition: number) => void): () => void {
    this.#roleListeners.add(listener);
    return () => this.#roleListeners.delete(listener);
  }

  #roleChanged(topic: string, partition: number): void {
    for (const l of this.#roleListeners) {
      try {
        l(topic, partition);
      } catch (e) {
        this.#logger.error(`Role change listener failed: ${e instanceof Error ? e.stack : e}`);
      }
    }
  }

  /**
   * The check of a Fetch for a partition: consumers and followers alike must ask the leader,
   * in its epoch (`current_leader_epoch` -1 is not checked).
   *
   * @param topic Topic.
   * @param partition Partition.
   * @param currentLeaderEpoch The request's current_leader_epoch.
   * @returns NONE, NOT_LEADER_OR_FOLLOWER, FENCED_LEADER_EPOCH (the request's epoch is older)
   * or UNKNOWN_LEADER_EPOCH (newer), or `undefined` when the partition is not replicated.
   */
  checkFetch(topic: string, partition: number, currentLeaderEpoch: number): number | undefined {
    const led = this.checkLeader(topic, partition);
    if (led === undefined || led.code !== ErrorCode.NONE) return led?.code;
    const r = this.#replicas.get(key(topic, partition))!;
    if (currentLeaderEpoch >= 0) {
      if (currentLeaderEpoch < r.state.leaderEpoch) return ErrorCode.FENCED_LEADER_EPOCH;
      if (currentLeaderEpoch > r.state.leaderEpoch) return ErrorCode.UNKNOWN_LEADER_EPOCH;
    }
    return ErrorCode.NONE;
  }

  /**
   * The check of a consumer's Fetch (v11+, KIP-392) for a partition this broker does not lead:
   * a follower serves it (up to its own high watermark) in the leader epoch it follows, as
   * Kafka's `Partition.fetchRecords` with `fetchOnlyFromLeader` false. Called only once the
   * leader check refused, so a leader's fetches never come here.
   *
   * @param topic Topic.
   * @param partition Partition.
   * @param currentLeaderEpoch The request's current_leader_epoch (-1: not checked).
   * @returns NONE when this broker follows the partition in its ISR; NOT_LEADER_OR_FOLLOWER (no
   *   replica here, out of the ISR, offline, changing role, shutting down), FENCED_LEADER_EPOCH (the request's epoch is
   *   older than the one followed) or UNKNOWN_LEADER_EPOCH (newer).
   */
  checkFollowerFetch(topic: string, partition: number, currentLeaderEpoch: number): number {
    const r = this.#replicas.get(key(topic, partition));
    // Sluice's rule (Kafka's followers do not check): a follower out of the ISR, as the state
    // applied here says, may lag without bound, so its consumers are sent back to the leader
    if (
      r === undefined || r.role !== "follower" || this.#closed ||
      !r.state.isr.includes(this.nodeId)
    ) return ErrorCode.NOT_LEADER_OR_FOLLOWER;
    if (currentLeaderEpoch >= 0) {
      if (currentLeaderEpoch < r.state.leaderEpoch) return ErrorCode.FENCED_LEADER_EPOCH;
      if (currentLeaderEpoch > r.state.leaderEpoch) return ErrorCode.UNKNOWN_LEADER_EPOCH;
    }
    return ErrorCode.NONE;
  }

  /** Whether a replica selector is configured (`replica.selector.class`, KIP-392). */
  get selectsReadReplicas(): boolean {
    return this.#o.replicaSelector !== undefined;
  }

  /**
   * KIP-392, Kafka's `ReplicaManager.findPreferredReadReplica`: the replica a consumer in
   * `clientRack` should fetch `fetchOffset` of a partition this broker leads from, by the
   * configured selector. Candidates are the leader and the followers in the ISR whose log, as
   * their last fetch told, holds the offset (log start <= offset <= log end) and that are
   * registered; a follower out of the ISR may lag, so it is never chosen (KAFKA-14365).
   *
   * @param topic Topic.
   * @param partition Partition.
   * @param clientRack The consumer's `rack_id` ("" for none).
   * @param fetchOffset The fetch offset.
   * @param now The time (ms).
   * @returns The node id of another replica, or -1 (this broker serves: no selector, not the
   *   leader, the leader's rack, or no candidate).
   */
  preferredReadReplica(
    topic: string,
    partition: number,
    clientRack: string,
    fetchOffset: number,
    now: number = Date.now(),
  ): number {
    if (this.#o.replicaSelector === undefined) return -1;
    const r = this.#replicas.get(key(topic, partition));
    if (r === undefined || r.role !== "leader" || this.#closed) return -1;
    const rackOf = this.#o.rackOf ?? (() => null);
    const ownRack = rackOf(this.nodeId) ?? null;
    // the selector's first rule, before any candidate is built: consumers in the leader's rack
    if (clientRack === "" || ownRack === clientRack) return -1;
    const leader: ReplicaView = {
      nodeId: this.nodeId,
      rack: ownRack,
      logEndOffset: r.log.logEndOffset,
      timeSinceLastCaughtUpMs: 0,
    };
    const candidates = [leader];
    for (const id of r.state.isr) {
      if (id === this.nodeId) continue;
      const f = r.followers.get(id);
      if (f === undefined || f.leo < fetchOffset || f.logStartOffset > fetchOffset) continue;
      const rack = rackOf(id);
      if (rack === undefined) continue;
      candidates.push({
        nodeId: id,
        rack,
        logEndOffset: f.leo,
        timeSinceLastCaughtUpMs: now - f.lastCaughtUpMs,
      });
    }
    const chosen = selectRackAware(clientRack, leader, candidates);
    return chosen === leader ? -1 : chosen.nodeId;
  }

  /**
   * Records a follower's Fetch at `fetchOffset` (its log end offset), then adds it to the ISR
   * when it caught up and moves the high watermark. A node that is not a replica of the
   * partition is ignored.
   *
   * @param topic Topic.
   * @param partition Partition.
   * @param replicaId The follower's node id.
   * @param fetchOffset The fetch offset.
   * @param now The time of the fetch (ms).
   * @param logStartOffset The follower's log start offset (the fetch's `log_start_offset`; -1:
   *   not given).
   * @param brokerEpoch The follower's broker epoch (Fetch v15+ `ReplicaState.ReplicaEpoch`; -1:
   *   not given), sent with an ISR expansion so that a stale one is refused.
   */
  recordFollowerFetch(
    topic: string,
    partition: number,
    replicaId: number,
    fetchOffset: number,
    now: number = Date.now(),
    logStartOffset = -1,
    brokerEpoch = -1,
  ): void {
    const r = this.#replicas.get(key(topic, partition));
    if (r?.role !== "leader") return;
    const f = r.followers.get(replicaId);
    if (f === undefined) return;
    const leaderLeo = r.log.logEndOffset;
    if (fetchOffset >= leaderLeo) f.lastCaughtUpMs = Math.max(f.lastCaughtUpMs, now);
    else if (fetchOffset >= f.lastFetchLeaderLeo) {
      f.lastCaughtUpMs = Math.max(f.lastCaughtUpMs, f.lastFetchMs);
    }
    f.lastFetchLeaderLeo = leaderLeo;
    f.lastFetchMs = now;
    f.leo = fetchOffset;
    f.brokerEpoch = brokerEpoch;
    if (logStartOffset >= 0) f.logStartOffset = logStartOffset;
    this.#maybeExpandIsr(r, replicaId, f);
    this.#maybeIncrementHighWatermark(r);
    this.#completeLowWatermarkWaiters(r);
  }

  /**
   * The low watermark of a partition this broker leads (Kafka's `lowWatermarkIfLeader`): the
   * smallest log start offset over its in-sync replicas, as their last fetches told it (-1 for
   * one not known yet).
   *
   * @param topic Topic.
   * @param partition Partition.
   * @returns The low watermark, or `undefined` when this broker does not lead the partition
   * (or it is not replicated).
   */
  lowWatermark(topic: string, partition: number): number | undefined {
    const r = this.#replicas.get(key(topic, partition));
    if (r?.role !== "leader") return undefined;
    return this.#lowWatermark(r);
  }

  /**
   * Waits until every in-sync replica of a partition this broker leads has moved its log
   * start offset to `offset` or beyond (DeleteRecords; Kafka's `DelayedDeleteRecords`):
   * followers move theirs when a fetch answer brings the leader's, and tell it in their next
   * fetch. A follower that leaves the ISR meanwhile no longer counts.
   *
   * @param topic Topic.
   * @param partition Partition.
   * @param offset The log start offset asked for.
   * @param timeoutMs The request's timeout.
   * @param signal Ends the wait early (the client left, the broker shuts down).
   * @returns NONE with the low watermark reached; REQUEST_TIMED_OUT (after `timeoutMs` or on
   * abort); NOT_LEADER_OR_FOLLOWER when leadership moved. A partition that is not replicated
   * here (standalone) is answered at once.
   */
  waitForLowWatermark(
    topic: string,
    partition: number,
    offset: number,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<ReplicaError & { lowWatermark: number }> {
    const r = this.#replicas.get(key(topic, partition));
    if (r === undefined) return Promise.resolve({ ...NONE, lowWatermark: offset });
    if (r.role !== "leader" || this.#closed) {
      return Promise.resolve({ ...this.#notLeader(r), lowWatermark: -1 });
    }
    const now = this.#lowWatermark(r);
    if (now >= offset) return Promise.resolve({ ...NONE, lowWatermark: now });
    return new Promise((resolve) => {
      if (signal?.aborted) {
        resolve({ code: ErrorCode.REQUEST_TIMED_OUT, message: "aborted", lowWatermark: -1 });
        return;
      }
      const onAbort = () => w.resolve({ code: ErrorCode.REQUEST_TIMED_OUT, message: "aborted" });
      const timer = setTimeout(() => {
        w.resolve({
          code: ErrorCode.REQUEST_TIMED_OUT,
          message:
            `DeleteRecords on ${topic}-${partition}: the in-sync replicas [${
              this.#maximalIsr(r)
            }] did not move their log start to ${offset} within ${timeoutMs} ms (low watermark ` +
            `${this.#lowWatermark(r)})`,
        });
      }, Math.max(0, timeoutMs));
      const w: LowWatermarkWaiter = {
        required: offset,
        resolve: (e) => {
          clearTimeout(timer);
          signal?.removeEventListener("abort", onAbort);
          r.lowWatermarkWaiters.delete(w);
          resolve({ ...e, lowWatermark: e.code === ErrorCode.NONE ? this.#lowWatermark(r) : -1 });
        },
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      r.lowWatermarkWaiters.add(w);
    });
  }

  /**
   * Counts over the replicated partitions, computed on each call (for metrics: Kafka's
   * `ReplicaManager` gauges and the produce purgatory's size).
   *
   * @returns The counts.
   */
  stats(): ReplicaManagerStats {
    const out: ReplicaManagerStats = {
      partitions: 0,
      leaders: 0,
      underReplicated: 0,
      offline: 0,
      ackWaiters: 0,
    };
    for (const r of this.#replicas.values()) {
      out.partitions++;
      if (r.state.leader === -1) out.offline++;
      if (r.role !== "leader") continue;
      out.leaders++;
      if (r.state.isr.length < r.state.replicas.length) out.underReplicated++;
      out.ackWaiters += r.waiters.size;
    }
    return out;
  }

  /**
   * Stops every fetcher and timer; pending acks=all waits end with NOT_LEADER_OR_FOLLOWER, and
   * from then on it leads nothing (NOT_LEADER_OR_FOLLOWER, acks=all waits end at once).
   * The logs stay open (they are the broker's).
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const t of this.#timers) clearInterval(t);
    clearTimeout(this.#pendingTimer);
    this.#unsubscribe();
    await this.#chain;
    for (const r of this.#replicas.values()) this.#failWaiters(r, "the broker is shutting down");
    await Promise.all([...this.#fetchers.values()].map((f) => f.close()));
    this.#fetchers.clear();
  }

  // ---- applying states ------------------------------------------------------------------------

  async #apply(s: ReplicaState): Promise<void> {
    const k = key(s.topic, s.partition);
    const r = this.#replicas.get(k);
    if (s.removed || !s.replicas.includes(this.nodeId)) {
      this.#pending.delete(k);
      if (r === undefined) return;
      this.#replicas.delete(k);
      await this.#stopFollowing(r);
      this.#failWaiters(r, `this broker is no longer a replica of ${s.topic}-${s.partition}`);
      this.#logger.info(`${s.topic}-${s.partition}: no longer replicated here`);
      this.#roleChanged(s.topic, s.partition);
      return;
    }
    if (
      r !== undefined && (s.leaderEpoch < r.state.leaderEpoch ||
        (s.leaderEpoch === r.state.leaderEpoch && s.partitionEpoch < r.state.partitionEpoch))
    ) return; // older than what is in effect
    const log = this.#logs.partition(s.topic, s.partition);
    if (log === undefined) {
      if (!this.#pending.has(k)) {
        this.#logger.info(
          `${s.topic}-${s.partition}: no log here yet for the state of leader ${s.leader} ` +
            `epoch ${s.leaderEpoch}; applied once the log exists`,
        );
      }
      const prev = this.#pending.get(k);
      const older = prev !== undefined && (s.leaderEpoch < prev.leaderEpoch ||
        (s.leaderEpoch === prev.leaderEpoch && s.partitionEpoch < prev.partitionEpoch));
      if (!older) this.#pending.set(k, s);
      this.#retryPendingLater();
      return;
    }
    this.#pending.delete(k);
    log.enableReplication();
    const role: ReplicaRole = s.leader === this.nodeId
      ? "leader"
      : s.leader >= 0
      ? "follower"
      : "none";
    if (r !== undefined && r.log !== log) {
      // the log was replaced (topic deleted and created again): start over
      this.#replicas.delete(k);
      await this.#stopFollowing(r);
      this.#failWaiters(r, `the log of ${s.topic}-${s.partition} was replaced`);
      return this.#apply(s);
    }
    if (r !== undefined && r.role === role && r.state.leaderEpoch === s.leaderEpoch) {
      // same leader, same epoch: an ISR or replica change
      r.state = s;
      if (role === "leader") {
        for (const id of s.replicas) {
          if (id !== this.nodeId && !r.followers.has(id)) {
            r.followers.set(id, newFollower(0));
          }
        }
        for (const id of [...r.followers.keys()]) {
          if (!s.replicas.includes(id)) r.followers.delete(id);
        }
        this.#maybeIncrementHighWatermark(r);
        this.#completeLowWatermarkWaiters(r);
      }
      return;
    }
    const replica: Replica = r ?? {
      state: s,
      role: "none",
      log,
      followers: new Map(),
      epochStartOffset: 0,
      proposedIsr: undefined,
      alterRetryAt: 0,
      waiters: new Set(),
      lowWatermarkWaiters: new Set(),
      fetcher: undefined,
    };
    this.#replicas.set(k, replica);
    const was = replica.role;
    replica.state = s;
    replica.proposedIsr = undefined;
    replica.role = "none"; // no append, fetch or ack while the role changes
    await this.#stopFollowing(replica);
    if (role === "leader") {
      await log.setLeaderEpoch(s.leaderEpoch);
      const now = Date.now();
      replica.followers = new Map();
      for (const id of s.replicas) {
        if (id !== this.nodeId) {
          replica.followers.set(id, newFollower(s.isr.includes(id) ? now : 0));
        }
      }
      replica.epochStartOffset = log.logEndOffset;
      replica.role = "leader";
      this.#logger.info(
        `${s.topic}-${s.partition}: leader in epoch ${s.leaderEpoch} from offset ` +
          `${log.logEndOffset} (high watermark ${log.highWatermark}, ISR [${s.isr}])`,
      );
      this.#maybeIncrementHighWatermark(replica);
      this.#roleChanged(s.topic, s.partition);
      return;
    }
    this.#failWaiters(
      replica,
      `${s.topic}-${s.partition} is led by ${s.leader < 0 ? "no broker" : `broker ${s.leader}`} ` +
        `now (epoch ${s.leaderEpoch})`,
    );
    replica.followers = new Map();
    replica.role = role;
    if (role === "follower") {
      log.becomeFollower(s.leaderEpoch);
      const fetcher = this.#fetcherFor(s.leader);
      replica.fetcher = fetcher;
      fetcher.addPartition(log, s.leaderEpoch, s.topicId);
      this.#logger.info(
        `${s.topic}-${s.partition}: following leader ${s.leader} in epoch ${s.leaderEpoch} ` +
          `(${was === "leader" ? "was leader, " : ""}log end ${log.logEndOffset}, high ` +
          `watermark ${log.highWatermark})`,
      );
    } else {
      this.#logger.warn(`${s.topic}-${s.partition}: offline (no leader) in epoch ${s.leaderEpoch}`);
    }
    this.#roleChanged(s.topic, s.partition);
  }

  #retryPendingLater(): void {
    if (this.#pendingTimer !== undefined || this.#closed) return;
    this.#pendingTimer = setTimeout(() => {
      this.#pendingTimer = undefined;
      const states = [...this.#pending.values()];
      this.#pending.clear();
      if (states.length > 0) this.applyStates(states);
    }, 200);
    Deno.unrefTimer(this.#pendingTimer);
  }

  async #stopFollowing(r: Replica): Promise<void> {
    const f = r.fetcher;
    if (f === undefined) return;
    r.fetcher = undefined;
    await f.removePartition(r.state.topic, r.state.partition);
    if (f.size === 0 && this.#fetchers.get(f.leaderId) === f) {
      this.#fetchers.delete(f.leaderId);
      await f.close();
    }
  }

  #fetcherFor(leaderId: number): ReplicaFetcher {
    let f = this.#fetchers.get(leaderId);
    if (f === undefined) {
      const o = this.#o;
      f = new ReplicaFetcher({
        nodeId: this.nodeId,
        leaderId,
        endpoint: () => o.brokerEndpoint(leaderId),
        logger: this.#logger,
        fetchWaitMaxMs: o.replicaFetchWaitMaxMs,
        fetchMaxBytes: o.replicaFetchMaxBytes,
        fetchResponseMaxBytes: o.replicaFetchResponseMaxBytes,
        fetchBackoffMs: o.replicaFetchBackoffMs,
        socketTimeoutMs: o.replicaSocketTimeoutMs,
        brokerEpoch: o.brokerEpoch,
      });
      this.#fetchers.set(leaderId, f);
    }
    return f;
  }

  // ---- leader: high watermark, ISR, acks=all -------------------------------------------------

  /** The ISR counting a change in flight (Kafka's maximal ISR: the union of both). */
  #maximalIsr(r: Replica): number[] {
    const isr = r.state.isr;
    if (r.proposedIsr === undefined) return isr;
    return [...new Set([...isr, ...r.proposedIsr])];
  }

  #maybeIncrementHighWatermark(r: Replica): void {
    if (r.role !== "leader") return;
    let hw = r.log.logEndOffset;
    for (const id of this.#maximalIsr(r)) {
      if (id === this.nodeId) continue;
      const leo = r.followers.get(id)?.leo ?? -1;
      if (leo < hw) hw = leo;
    }
    if (hw >= 0 && r.log.setHighWatermark(hw)) this.#completeWaiters(r);
  }

  #ackResult(r: Replica, minIsr: number): ReplicaError {
    const isr = this.#maximalIsr(r);
    if (isr.length >= minIsr) return NONE;
    return {
      code: ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND,
      message: `${r.state.topic}-${r.state.partition}: the records were appended but the ` +
        `in-sync replicas [${isr}] are fewer than min.insync.replicas=${minIsr}`,
    };
  }

  #lowWatermark(r: Replica): number {
    let low = r.log.logStartOffset;
    for (const id of this.#maximalIsr(r)) {
      if (id === this.nodeId) continue;
      const start = r.followers.get(id)?.logStartOffset ?? -1;
      if (start < low) low = start;
    }
    return low;
  }

  #completeLowWatermarkWaiters(r: Replica): void {
    if (r.lowWatermarkWaiters.size === 0 || r.role !== "leader") return;
    const low = this.#lowWatermark(r);
    for (const w of [...r.lowWatermarkWaiters]) if (low >= w.required) w.resolve(NONE);
  }

  #completeWaiters(r: Replica): void {
    const hw = r.log.highWatermark;
    for (const w of [...r.waiters]) if (hw >= w.required) w.resolve(this.#ackResult(r, w.minIsr));
  }

  #notLeader(r: Replica): ReplicaError {
    const s = r.state;
    return {
      code: ErrorCode.NOT_LEADER_OR_FOLLOWER,
      message: `Broker ${this.nodeId} is not the leader of ${s.topic}-${s.partition} (leader ` +
        `${s.leader}, epoch ${s.leaderEpoch})`,
    };
  }

  #failWaiters(r: Replica, why: string): void {
    for (const w of [...r.waiters]) {
      w.resolve({ code: ErrorCode.NOT_LEADER_OR_FOLLOWER, message: `acks=all: ${why}` });
    }
    for (const w of [...r.lowWatermarkWaiters]) {
      w.resolve({ code: ErrorCode.NOT_LEADER_OR_FOLLOWER, message: `DeleteRecords: ${why}` });
    }
  }

  #maybeExpandIsr(r: Replica, id: number, f: Follower): void {
    if (r.proposedIsr !== undefined || r.state.isr.includes(id)) return;
    if (Date.now() < r.alterRetryAt) return;
    if (f.leo < r.log.highWatermark || f.leo < r.epochStartOffset) return;
    if (this.#o.isrEligible !== undefined && !this.#o.isrEligible(id, f.brokerEpoch)) return;
    this.#alterIsr(r, [...r.state.isr, id], `broker ${id} caught up to offset ${f.leo}`);
  }

  #maybeShrinkIsrs(): void {
    if (this.#closed) return;
    const now = Date.now();
    for (const r of this.#replicas.values()) {
      if (r.role !== "leader" || r.proposedIsr !== undefined || now < r.alterRetryAt) continue;
      const leo = r.log.logEndOffset;
      const out = r.state.isr.filter((id) => {
        if (id === this.nodeId) return false;
        const f = r.followers.get(id);
        if (f === undefined) return true;
        // Kafka's isCaughtUp: at the leader's log end, or caught up recently enough
        return !(f.leo === leo || now - f.lastCaughtUpMs <= this.#lagMs);
      });
      if (out.length === 0) continue;
      this.#alterIsr(
        r,
        r.state.isr.filter((id) => !out.includes(id)),
        `broker${out.length > 1 ? "s" : ""} ${out.join(", ")} not caught up for ` +
          `${this.#lagMs} ms (replica.lag.time.max.ms)`,
      );
    }
  }

  /** One AlterPartition; its answer is applied as a new state. */
  #alterIsr(r: Replica, isr: number[], why: string): void {
    const s = r.state;
    r.proposedIsr = isr;
    const what = `${s.topic}-${s.partition}: ISR [${s.isr}] -> [${isr}] (${why})`;
    const brokerEpochs = isr.filter((id) => id !== this.nodeId).map((id) => ({
      brokerId: id,
      brokerEpoch: r.followers.get(id)?.brokerEpoch ?? -1,
    }));
    const request = {
      isr,
      leaderEpoch: s.leaderEpoch,
      partitionEpoch: s.partitionEpoch,
      brokerEpochs,
    };
    (async () => {
      let res: AlterPartitionResult;
      try {
        res = await this.#o.alterPartition(s.topic, s.partition, request);
      } catch (e) {
        res = { errorCode: ErrorCode.REQUEST_TIMED_OUT };
        this.#logger.warn(`${what}: AlterPartition failed: ${e instanceof Error ? e.message : e}`);
      }
      if (this.#replicas.get(key(s.topic, s.partition)) !== r || r.proposedIsr !== isr) return;
      r.proposedIsr = undefined;
      if (res.errorCode === ErrorCode.NONE) this.#logger.info(what);
      else {
        // not again at once (every follower fetch would try): etcd may be out of reach
        r.alterRetryAt = Date.now() + ALTER_RETRY_MS;
        this.#logger.warn(
          `${what}: refused with ${errorName(res.errorCode)}` +
            (res.message === undefined ? "" : ` (${res.message})`),
        );
      }
      if (res.state !== undefined) {
        await this.applyStates([{ ...r.state, ...res.state }]);
      } else {
        this.#maybeIncrementHighWatermark(r);
      }
    })().catch((e) => this.#logger.error(`${what}: ${e instanceof Error ? e.stack : e}`));
  }
}

function newFollower(lastCaughtUpMs: number): Follower {
  return {
    leo: -1,
    logStartOffset: -1,
    lastCaughtUpMs,
    lastFetchMs: 0,
    lastFetchLeaderLeo: -1,
    brokerEpoch: -1,
  };
}
