// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * The transaction coordinator: Kafka's transaction state machine (Empty -> Ongoing ->
 * PrepareCommit/PrepareAbort -> CompleteCommit/CompleteAbort), producer id/epoch allocation and
 * fencing for transactional ids, COMMIT/ABORT markers written straight to the data partitions
 * through the engine (single broker: WriteTxnMarkers is an internal call), and the abort of
 * timed-out transactions. Transactional offsets are the group coordinator's: on one broker
 * TxnOffsetCommit writes them here to `__consumer_offsets` as the producer's transactional batch,
 * pending in the group coordinator until this coordinator's marker there commits or drops them
 * (in cluster mode TxnOffsetCommit goes to the group coordinator itself).
 *
 * Every state change is written to `__transaction_state` before it takes effect. Requests for
 * one transactional id are serialised. What a partition knows of its transactions (the last
 * stable offset, the aborted transactions) is the partition log's: the engine tracks them from
 * the batches and markers it appends (`engine/producer_state.ts`, `.txnindex`). Unlike Kafka, EndTxn answers after the markers and the
 * Complete state are written (Kafka answers after PrepareCommit), so a client never sees
 * CONCURRENT_TRANSACTIONS from its own previous EndTxn.
 *
 * Methods return Kafka error codes rather than throw (I/O failures do throw).
 *
 * @module
 */

import type { LogManager } from "../../engine/mod.ts";
import { ErrorCode, errorName } from "../../protocol/errors.ts";
import { buildControlBatch } from "../../records/control.ts";
import type { OffsetCommitParams, OffsetCommitResultTopic } from "../group/mod.ts";
import { partitionForGroup } from "../group/schemas.ts";
import { CoordinatorPartitions } from "../coordinator_partitions.ts";
import type { Logger } from "../logger.ts";
import { ReplicationError } from "../replication_error.ts";
import { isRetriableMarkerError, type MarkerRequest } from "./marker_request.ts";
import type { TransactionLogValue, TxnState } from "./schemas.ts";
import type { TransactionLogRecord, TransactionStateStore } from "./store.ts";

/** Coordinator settings (Kafka broker configs). */
export interface TransactionCoordinatorConfig {
  /** `transaction.max.timeout.ms`. Default 900000. */
  maxTimeoutMs: number;
  /** `transaction.abort.timed.out.transaction.cleanup.interval.ms`. Default 10000. */
  abortTimedOutIntervalMs: number;
}

/** Kafka's defaults. */
export const DEFAULT_TRANSACTION_COORDINATOR_CONFIG: Readonly<TransactionCoordinatorConfig> = {
  maxTimeoutMs: 900000,
  abortTimedOutIntervalMs: 10000,
};

/** What the coordinator needs from the rest of the broker. */
export interface TransactionCoordinatorOptions {
  /** The durable log (`__transaction_state`). */
  store: TransactionStateStore;
  /** The storage engine, for markers. */
  logs: LogManager;
  /** Allocates a new producer id. */
  nextProducerId: () => Promise<number>;
  /**
   * The group coordinator, which holds transactional offsets. Without it (tests of the state
   * machine alone) TxnOffsetCommit is refused.
   */
  groups?: {
    /**
     * One broker: write a TxnOffsetCommit's offsets durably to `__consumer_offsets` as a
     * transactional batch of the producer, pending until the transaction's marker there
     * (Kafka's).
     */
    txnCommitOffsets(
      req: OffsetCommitParams & TxnProducer,
    ): Promise<OffsetCommitResultTopic[]>;
    /**
     * One broker: a marker written to a `__consumer_offsets` partition commits or drops the
     * producer's pending offsets of that partition's groups.
     */
    completeTxnOffsets(partition: number, producerId: number, commit: boolean): number;
  };
  /** Settings; missing ones take Kafka's defaults. */
  config?: Partial<TransactionCoordinatorConfig>;
  /** Where to report events. */
  logger?: Logger;
  /** Clock. Default `Date.now`. */
  now?: () => number;
  /**
   * Cluster mode: serve only the transactional ids of the `__transaction_state` partitions this
   * broker leads, each loaded by {@linkcode TransactionCoordinator.onElection} and dropped by
   * {@linkcode TransactionCoordinator.onResignation}; others get NOT_COORDINATOR (and
   * COORDINATOR_LOAD_IN_PROGRESS while their partition loads). Default false.
   */
  ownedPartitionsOnly?: boolean;
  /**
   * Cluster mode: whether a data partition exists in the cluster; shards: in the topic table
   * (only those can be added to a transaction; default: every partition in the engine).
   */
  partitionExists?: (topic: string, partition: number) => boolean;
  /**
   * Cluster mode: the partition count of `__consumer_offsets` in the cluster (`undefined` while
   * it does not exist), which picks a group's partition for AddOffsetsToTxn. Default: the local
   * topic's.
   */
  offsetsPartitions?: () => number | undefined;
  /**
   * Cluster mode: sends a transaction's markers to its partitions' leaders (`./markers.ts`
   * `TxnMarkerSender`), for as long as `active` says this coordinator still owns the
   * transaction; shards (`sluice.workers`): to each partition's owner shard. EndTxn is then
   * answered after the first attempt, and a prepared transaction completes in the background,
   * tried again until every marker is written. Default: written here, as on one broker.
   */
  markers?: {
    send(req: MarkerRequest, active: () => boolean): Promise<TxnTopicResult[]>;
    close(): void;
  };
}

/** A `__transaction_state` write that could not be committed, with the coordinator's error. */
class TransactionLogWriteError extends Error {
  readonly code: number;

  constructor(code: number, message: string) {
    super(message);
    this.name = "TransactionLogWriteError";
    this.code = code;
  }
}

/** Markers refused because a newer coordinator or producer epoch took over. */
class MarkerFencedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "MarkerFencedError";
  }
}

function isFenced(code: number): boolean {
  return code === ErrorCode.TRANSACTION_COORDINATOR_FENCED ||
    code === ErrorCode.INVALID_PRODUCER_EPOCH || code === ErrorCode.PRODUCER_FENCED;
}

/** Pause between attempts to complete a transaction whose markers could not all be written. */
const COMPLETE_RETRY_MS = 500;

/** Result of {@linkcode TransactionCoordinator.initProducerId}. */
export interface InitProducerIdResult {
  /** Error code (0 on success). */
  errorCode: number;
  /** Producer id, or -1. */
  producerId: number;
  /** Producer epoch, or -1. */
  producerEpoch: number;
}

/** The producer a transactional request comes from. */
export interface TxnProducer {
  /** Transactional id. */
  transactionalId: string;
  /** Producer id. */
  producerId: number;
  /** Producer epoch. */
  producerEpoch: number;
}

/** Per-partition result of AddPartitionsToTxn / TxnOffsetCommit. */
export interface TxnTopicResult {
  /** Topic. */
  topic: string;
  /** Partitions and their error codes. */
  partitions: { partition: number; errorCode: number }[];
}

/** One pending transactional offset. */
export interface PendingOffset {
  /** Partition. */
  partition: number;
  /** Offset. */
  offset: number;
  /** Leader epoch, or -1. */
  leaderEpoch: number;
  /** Metadata. */
  metadata: string | null;
}

/** A TxnOffsetCommit request, versionless. */
export interface TxnOffsetCommitParams extends TxnProducer {
  /** Group id. */
  groupId: string;
  /** Generation (v3+), else -1. */
  generationId: number;
  /** Member id (v3+), else `""`. */
  memberId: string;
  /** Static instance id, or `null`. */
  groupInstanceId: string | null;
  /** Offsets. */
  topics: { topic: string; partitions: PendingOffset[] }[];
}

/** A transaction as DescribeTransactions/ListTransactions report it. */
export interface TransactionDescription {
  /** Transactional id. */
  transactionalId: string;
  /** State. */
  state: TxnState;
  /** Producer id. */
  producerId: number;
  /** Producer epoch. */
  producerEpoch: number;
  /** Timeout (ms). */
  timeoutMs: number;
  /** Start of the ongoing transaction (ms), or -1. */
  startTimestamp: number;
  /** Partitions in the transaction. */
  topics: { topic: string; partitions: number[] }[];
}

interface TxnMetadata {
  transactionalId: string;
  producerId: number;
  lastProducerId: number;
  producerEpoch: number;
  lastProducerEpoch: number;
  timeoutMs: number;
  state: TxnState;
  partitions: Map<string, Set<number>>;
  startTimestamp: number;
  lastUpdateTimestamp: number;
}

const MAX_EPOCH = 32767;
const OFFSETS_TOPIC = "__consumer_offsets";

function pkey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

/**
 * The transaction coordinator. Build it with `openTransactionCoordinator` (`./mod.ts`).
 *
 * @example
 * ```ts
 * import { LogManager } from "../../engine/mod.ts";
 * import { openTransactionCoordinator } from "./mod.ts";
 *
 * const dir = await Deno.makeTempDir();
 * const logs = await LogManager.open(dir);
 * let id = 0;
 * const txns = await openTransactionCoordinator(logs, {
 *   numPartitions: 1,
 *   nextProducerId: () => Promise.resolve(id++),
 * });
 * const r = await txns.initProducerId({ transactionalId: "t", timeoutMs: 60000 });
 * console.assert(r.errorCode === 0 && r.producerId === 0 && r.producerEpoch === 0);
 * txns.close();
 * await logs.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class TransactionCoordinator {
  readonly #store: TransactionStateStore;
  readonly #logs: LogManager;
  readonly #nextProducerId: () => Promise<number>;
  readonly #groups: TransactionCoordinatorOptions["groups"];
  readonly #config: TransactionCoordinatorConfig;
  readonly #logger: Logger | undefined;
  readonly #now: () => number;
  readonly #txns = new Map<string, TxnMetadata>();
  readonly #byProducerId = new Map<number, TxnMetadata>();
  readonly #locks = new Map<string, Promise<unknown>>();
  #timer: ReturnType<typeof setInterval> | undefined;
  #sweep: Promise<unknown> = Promise.resolve();
  #closed = false;
  readonly #ownedOnly: boolean;
  readonly #exists: (topic: string, partition: number) => boolean;
  readonly #offsetsPartitions: () => number | undefined;
  readonly #markers: TransactionCoordinatorOptions["markers"];
  /** Cluster mode: the `__transaction_state` partitions served and loading. */
  readonly #partitions: CoordinatorPartitions;
  /** Cluster mode: the leader epoch of each owned partition (the markers' coordinator epoch). */
  readonly #epochs = new Map<number, number>();
  /** Transactions being completed in the background (cluster mode). */
  readonly #completing = new Set<TxnMetadata>();
  readonly #background = new Set<Promise<boolean>>();

  /**
   * Build a coordinator (prefer `openTransactionCoordinator`, which also replays).
   *
   * @param options The store, engine, producer id allocator, group coordinator, settings.
   */
  constructor(options: TransactionCoordinatorOptions) {
    this.#store = options.store;
    this.#logs = options.logs;
    this.#nextProducerId = options.nextProducerId;
    this.#groups = options.groups;
    this.#config = { ...DEFAULT_TRANSACTION_COORDINATOR_CONFIG, ...options.config };
    this.#logger = options.logger;
    this.#now = options.now ?? Date.now;
    this.#ownedOnly = options.ownedPartitionsOnly ?? false;
    this.#exists = options.partitionExists ??
      ((t, p) => this.#logs.partition(t, p) !== undefined);
    this.#markers = options.markers;
    this.#offsetsPartitions = options.offsetsPartitions ??
      (() => this.#logs.topic(OFFSETS_TOPIC)?.partitions);
    this.#partitions = new CoordinatorPartitions(
      this.#ownedOnly,
      (id) => this.#store.partitionFor(id),
    );
  }

  /** NONE, NOT_COORDINATOR or COORDINATOR_LOAD_IN_PROGRESS for a transactional id. */
  #ownership(transactionalId: string): number {
    return this.#partitions.ownership(transactionalId);
  }

  /** The `__transaction_state` partitions served (cluster mode), ascending. */
  get ownedPartitions(): number[] {
    return this.#partitions.owned;
  }

  /**
   * Cluster mode: this broker became leader of `__transaction_state` partition `partition` in
   * `leaderEpoch`: once its log is caught up as leader (`caughtUp`), replay it, serve its
   * transactional ids and finish the transactions it left prepared (Kafka's `onElection`).
   * Meanwhile its ids get COORDINATOR_LOAD_IN_PROGRESS. The leader epoch is the coordinator
   * epoch of its markers (a partition leader refuses an older one's:
   * TRANSACTION_COORDINATOR_FENCED).
   *
   * @param partition The partition.
   * @param leaderEpoch The leader epoch of the election.
   * @param caughtUp Resolves `true` once the leader's high watermark reached its log end
   *   (`false`: the leadership was lost meanwhile). Default: at once.
   * @returns How many transactional ids it holds.
   * @throws {Error} If the partition cannot be read (it is then not served).
   */
  async onElection(
    partition: number,
    leaderEpoch = 0,
    caughtUp: () => Promise<boolean> = () => Promise.resolve(true),
  ): Promise<number> {
    if (!this.#ownedOnly) return 0;
    const loaded = await this.#partitions.elect(
      partition,
      caughtUp,
      () => this.#store.loadPartition(partition),
      () => this.#closed,
    );
    if (loaded === undefined) return 0;
    const records = loaded.records;
    this.#epochs.set(partition, leaderEpoch);
    this.load(records);
    const mine = [...this.#txns.values()].filter((m) =>
      this.#store.partitionFor(m.transactionalId) === partition
    );
    // served from now on: the prepared transactions complete as on EndTxn, and the requests of
    // their ids get CONCURRENT_TRANSACTIONS meanwhile
    loaded.serve();
    for (const m of mine) {
      if (m.state !== "PrepareCommit" && m.state !== "PrepareAbort") continue;
      this.#completeLater(m, m.state === "PrepareCommit", 0);
    }
    const line = `Transaction coordinator: loaded __transaction_state-${partition} ` +
      `(${records.length} records, ${mine.length} transactional ids)`;
    if (records.length > 0) this.#logger?.info(line);
    else this.#logger?.debug(line);
    return mine.length;
  }

  /**
   * Cluster mode: this broker no longer leads `__transaction_state` partition `partition`: stop
   * serving its transactional ids (Kafka's `onResignation`).
   *
   * @param partition The partition.
   */
  onResignation(partition: number): void {
    if (!this.#ownedOnly) return;
    const was = this.#partitions.resign(partition);
    this.#epochs.delete(partition);
    for (const m of [...this.#txns.values()]) {
      if (this.#store.partitionFor(m.transactionalId) !== partition) continue;
      this.#completing.delete(m);
      this.#txns.delete(m.transactionalId);
      if (this.#byProducerId.get(m.producerId) === m) this.#byProducerId.delete(m.producerId);
    }
    if (was) {
      this.#logger?.debug(`Transaction coordinator: unloaded __transaction_state-${partition}`);
    }
  }

  /**
   * Restore state from replayed `__transaction_state` records (last record per id wins; a
   * tombstone removes the id).
   *
   * @param records The records, oldest first per id.
   */
  load(records: TransactionLogRecord[]): void {
    for (const r of records) {
      if (r.value === null) {
        this.#txns.delete(r.transactionalId);
        continue;
      }
      const v = r.value;
      const old = this.#txns.get(r.transactionalId);
      if (old !== undefined) this.#byProducerId.delete(old.producerId);
      this.#txns.set(r.transactionalId, {
        transactionalId: r.transactionalId,
        producerId: v.producerId,
        lastProducerId: -1,
        producerEpoch: v.producerEpoch,
        lastProducerEpoch: -1,
        timeoutMs: v.timeoutMs,
        state: v.state,
        partitions: v.partitions,
        startTimestamp: v.startTimestamp,
        lastUpdateTimestamp: v.lastUpdateTimestamp,
      });
      this.#byProducerId.set(v.producerId, this.#txns.get(r.transactionalId)!);
    }
  }

  /**
   * Check a transactional data batch before it is appended (KIP-890's verification): the
   * producer must be the current one of a transactional id whose transaction in progress
   * includes the partition. A transactional batch opens a transaction in the partition log that
   * only this coordinator's marker closes, so one the coordinator does not know of would hold the
   * partition's last stable offset back for good. A producer whose transactional id moved to a
   * newer epoch (fenced by InitProducerId or a timeout abort) may not write either.
   *
   * @param producerId The batch's producer id.
   * @param producerEpoch The batch's epoch.
   * @param topic The partition's topic.
   * @param partition The partition.
   * In cluster mode only the producers whose transactional id this broker coordinates are
   * checked (the others' coordinators are elsewhere).
   *
   * @returns INVALID_PRODUCER_ID_MAPPING for a producer id of no transactional id,
   * INVALID_PRODUCER_EPOCH if fenced, INVALID_TXN_STATE if the partition is not in a transaction
   * in progress (not added with AddPartitionsToTxn, or already ended), else NONE.
   */
  checkProduce(
    producerId: number,
    producerEpoch: number,
    topic: string,
    partition: number,
  ): number {
    const m = this.#byProducerId.get(producerId);
    // cluster mode: the producer's coordinator may be another broker, which cannot be asked
    // (KIP-890's verification request is not implemented): the partition's own producer state
    // still fences older epochs
    if (m === undefined && this.#ownedOnly) return ErrorCode.NONE;
    if (m === undefined) return ErrorCode.INVALID_PRODUCER_ID_MAPPING;
    if (m.producerId !== producerId || producerEpoch < m.producerEpoch) {
      return ErrorCode.INVALID_PRODUCER_EPOCH; // its id moved on to a new one, or a newer epoch
    }
    if (m.state !== "Ongoing" || m.partitions.get(topic)?.has(partition) !== true) {
      return ErrorCode.INVALID_TXN_STATE;
    }
    return ErrorCode.NONE;
  }

  /**
   * Finish transactions replay left in PrepareCommit/PrepareAbort (write their markers and the
   * Complete state), as Kafka's coordinator does when it loads a partition. With a marker
   * sender (`TransactionCoordinatorOptions.markers`: shards) they complete in the background,
   * tried again until every marker is written.
   *
   * @returns How many were completed (or, with a marker sender, started).
   */
  async completePending(): Promise<number> {
    let n = 0;
    for (const m of [...this.#txns.values()]) {
      if (m.state !== "PrepareCommit" && m.state !== "PrepareAbort") continue;
      if (this.#markers !== undefined) {
        // markers sent elsewhere (shards: the other shards start after this one): completed
        // in the background, tried again until written, CONCURRENT_TRANSACTIONS meanwhile
        this.#completeLater(m, m.state === "PrepareCommit", 0);
      } else {
        await this.#locked(
          m.transactionalId,
          () => this.#complete(m, m.state === "PrepareCommit"),
        );
      }
      n++;
    }
    return n;
  }

  /** Start the timer that aborts timed-out transactions. */
  start(): void {
    if (this.#timer !== undefined || this.#closed) return;
    const timer = setInterval(() => {
      this.#sweep = this.abortTimedOut().catch((e) =>
        this.#logger?.error(`Aborting timed-out transactions failed: ${e?.message ?? e}`)
      );
    }, this.#config.abortTimedOutIntervalMs);
    Deno.unrefTimer(timer);
    this.#timer = timer;
  }

  /** Stop the timer; later requests still work (the store must stay open for them). */
  close(): void {
    this.#closed = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#markers?.close();
  }

  /**
   * Wait until the timed-out transaction sweep and every request in progress have finished
   * writing (call after `close()` and before closing the engine).
   *
   * @returns Resolves when nothing is in progress.
   */
  async drain(): Promise<void> {
    await this.#sweep;
    while (this.#background.size > 0) await Promise.allSettled([...this.#background]);
    while (this.#locks.size > 0) await Promise.allSettled([...this.#locks.values()]);
  }

  #locked<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.#locks.get(id) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.catch(() => {});
    this.#locks.set(id, tail);
    tail.then(() => {
      if (this.#locks.get(id) === tail) this.#locks.delete(id);
    });
    return run;
  }

  async #write(m: TxnMetadata, next: Partial<TxnMetadata>): Promise<void> {
    const now = this.#now();
    const value: TransactionLogValue = {
      producerId: next.producerId ?? m.producerId,
      producerEpoch: next.producerEpoch ?? m.producerEpoch,
      timeoutMs: next.timeoutMs ?? m.timeoutMs,
      state: next.state ?? m.state,
      partitions: next.partitions ?? m.partitions,
      lastUpdateTimestamp: now,
      startTimestamp: next.startTimestamp ?? m.startTimestamp,
    };
    try {
      await this.#store.append(m.transactionalId, value);
    } catch (e) {
      if (!(e instanceof ReplicationError)) throw e;
      // Kafka's TransactionStateManager: the leader moved, or the write is not committed
      throw new TransactionLogWriteError(
        e.code === ErrorCode.NOT_LEADER_OR_FOLLOWER
          ? ErrorCode.NOT_COORDINATOR
          : ErrorCode.COORDINATOR_NOT_AVAILABLE,
        `Cannot write the ${value.state} state of transactional id ${m.transactionalId}: ` +
          e.message,
      );
    }
    Object.assign(m, next, { lastUpdateTimestamp: now });
    this.#txns.set(m.transactionalId, m);
    this.#byProducerId.set(m.producerId, m);
  }

  /**
   * InitProducerId with a transactional id: a new producer id (epoch 0) for a new id, else an
   * epoch bump that fences the previous producer; an ongoing transaction is aborted first
   * (with the fencing epoch). With `producerId`/`producerEpoch` (v3+, KIP-360) the caller must
   * be the current producer (or retrying the last bump).
   *
   * @param req Transactional id, timeout, and the caller's current id/epoch (-1 if none).
   * @returns The error code and the producer id/epoch.
   */
  initProducerId(req: {
    transactionalId: string;
    timeoutMs: number;
    producerId?: number;
    producerEpoch?: number;
  }): Promise<InitProducerIdResult> {
    const fail = (errorCode: number): InitProducerIdResult => ({
      errorCode,
      producerId: -1,
      producerEpoch: -1,
    });
    if (req.transactionalId === "") return Promise.resolve(fail(ErrorCode.INVALID_REQUEST));
    const own = this.#ownership(req.transactionalId);
    if (own !== ErrorCode.NONE) return Promise.resolve(fail(own));
    if (req.timeoutMs <= 0 || req.timeoutMs > this.#config.maxTimeoutMs) {
      return Promise.resolve(fail(ErrorCode.INVALID_TRANSACTION_TIMEOUT));
    }
    return this.#locked(req.transactionalId, async () => {
      const givenPid = req.producerId ?? -1;
      const givenEpoch = req.producerEpoch ?? -1;
      let m = this.#txns.get(req.transactionalId);
      if (m === undefined || m.state === "Dead") {
        const producerId = await this.#nextProducerId();
        m = {
          transactionalId: req.transactionalId,
          producerId,
          lastProducerId: -1,
          producerEpoch: -1,
          lastProducerEpoch: -1,
          timeoutMs: req.timeoutMs,
          state: "Empty",
          partitions: new Map(),
          startTimestamp: -1,
          lastUpdateTimestamp: -1,
        };
        await this.#write(m, { producerEpoch: 0 });
        return { errorCode: 0, producerId, producerEpoch: 0 };
      }
      if (givenPid !== -1) {
        const retry = givenPid === m.lastProducerId && givenEpoch === m.lastProducerEpoch;
        if (retry && m.state !== "Ongoing") {
          return { errorCode: 0, producerId: m.producerId, producerEpoch: m.producerEpoch };
        }
        if (givenPid !== m.producerId || givenEpoch !== m.producerEpoch) {
          return fail(ErrorCode.PRODUCER_FENCED);
        }
      }
      if (m.state === "PrepareCommit" || m.state === "PrepareAbort") {
        return fail(ErrorCode.CONCURRENT_TRANSACTIONS);
      }
      if (m.state === "Ongoing") {
        // Fence: abort the ongoing transaction with a bumped epoch, then bump again below.
        this.#logger?.info(
          `Transactional id ${m.transactionalId}: aborting the ongoing transaction of producer ` +
            `${m.producerId} epoch ${m.producerEpoch} (fenced by InitProducerId)`,
        );
        if (!(await this.#abortWithBump(m))) return fail(ErrorCode.CONCURRENT_TRANSACTIONS);
      }
      const oldPid = m.producerId;
      const oldEpoch = m.producerEpoch;
      let producerId = m.producerId;
      let producerEpoch = m.producerEpoch + 1;
      if (producerEpoch >= MAX_EPOCH - 1) {
        producerId = await this.#nextProducerId();
        producerEpoch = 0;
      }
      await this.#write(m, {
        producerId,
        producerEpoch,
        lastProducerId: oldPid,
        lastProducerEpoch: oldEpoch,
        timeoutMs: req.timeoutMs,
        state: "Empty",
        partitions: new Map(),
        startTimestamp: -1,
      });
      return { errorCode: 0, producerId, producerEpoch };
    });
  }

  #check(m: TxnMetadata | undefined, p: TxnProducer): number {
    if (m === undefined || m.state === "Dead") return ErrorCode.INVALID_PRODUCER_ID_MAPPING;
    if (m.producerId !== p.producerId) return ErrorCode.INVALID_PRODUCER_ID_MAPPING;
    if (m.producerEpoch !== p.producerEpoch) return ErrorCode.PRODUCER_FENCED;
    if (m.state === "PrepareCommit" || m.state === "PrepareAbort") {
      return ErrorCode.CONCURRENT_TRANSACTIONS;
    }
    if (m.state === "PrepareEpochFence") return ErrorCode.CONCURRENT_TRANSACTIONS;
    return ErrorCode.NONE;
  }

  async #addPartitions(m: TxnMetadata, add: { topic: string; partition: number }[]) {
    const partitions = new Map<string, Set<number>>();
    let changed = m.state !== "Ongoing";
    const fresh = m.state !== "Ongoing";
    if (!fresh) { for (const [t, s] of m.partitions) partitions.set(t, new Set(s)); }
    for (const { topic, partition } of add) {
      let set = partitions.get(topic);
      if (set === undefined) partitions.set(topic, set = new Set());
      if (!set.has(partition)) {
        set.add(partition);
        changed = true;
      }
    }
    if (!changed) return;
    await this.#write(m, {
      state: "Ongoing",
      partitions,
      startTimestamp: fresh ? this.#now() : m.startTimestamp,
    });
  }

  /**
   * AddPartitionsToTxn: add partitions to the producer's transaction (starting one if none is
   * ongoing). If any partition is unknown, nothing is added: those get
   * UNKNOWN_TOPIC_OR_PARTITION and the rest OPERATION_NOT_ATTEMPTED.
   *
   * @param p The producer.
   * @param topics The partitions.
   * @returns Per-partition error codes.
   */
  addPartitions(
    p: TxnProducer,
    topics: { topic: string; partitions: number[] }[],
  ): Promise<TxnTopicResult[]> {
    const all = (code: (t: string, n: number) => number): TxnTopicResult[] =>
      topics.map((t) => ({
        topic: t.topic,
        partitions: t.partitions.map((n) => ({ partition: n, errorCode: code(t.topic, n) })),
      }));
    const own = this.#ownership(p.transactionalId);
    if (own !== ErrorCode.NONE) return Promise.resolve(all(() => own));
    return this.#locked(p.transactionalId, async () => {
      const m = this.#txns.get(p.transactionalId);
      const err = this.#check(m, p);
      if (err !== 0) return all(() => err);
      const unknown = (t: string, n: number) => !this.#exists(t, n);
      if (topics.some((t) => t.partitions.some((n) => unknown(t.topic, n)))) {
        return all((t, n) =>
          unknown(t, n) ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION : ErrorCode.OPERATION_NOT_ATTEMPTED
        );
      }
      await this.#addPartitions(
        m!,
        topics.flatMap((t) => t.partitions.map((partition) => ({ topic: t.topic, partition }))),
      );
      return all(() => ErrorCode.NONE);
    });
  }

  /**
   * Whether this coordinator serves `transactionalId` now (standalone: always; cluster mode:
   * its `__transaction_state` partition is led and loaded here).
   *
   * @param transactionalId The id.
   * @returns `true` if it does.
   */
  coordinates(transactionalId: string): boolean {
    return this.#ownership(transactionalId) === ErrorCode.NONE;
  }

  /**
   * AddPartitionsToTxn v4+ with `verify_only` (KIP-890 part 1, Kafka's
   * `handleVerifyPartitionsInTransaction`): whether the partitions are in the producer's
   * transaction in progress, asked by a partition leader before the transaction's first batch
   * there. Nothing changes.
   *
   * @param p The producer.
   * @param topics The partitions.
   * @returns Per partition: NONE if in the transaction; INVALID_TXN_STATE if not;
   * CONCURRENT_TRANSACTIONS while the transaction ends; PRODUCER_FENCED,
   * INVALID_PRODUCER_ID_MAPPING; NOT_COORDINATOR or COORDINATOR_LOAD_IN_PROGRESS.
   */
  verifyPartitions(
    p: TxnProducer,
    topics: { topic: string; partitions: number[] }[],
  ): Promise<TxnTopicResult[]> {
    const all = (code: (t: string, n: number) => number): TxnTopicResult[] =>
      topics.map((t) => ({
        topic: t.topic,
        partitions: t.partitions.map((n) => ({ partition: n, errorCode: code(t.topic, n) })),
      }));
    if (p.transactionalId === "") return Promise.resolve(all(() => ErrorCode.INVALID_REQUEST));
    const own = this.#ownership(p.transactionalId);
    if (own !== ErrorCode.NONE) return Promise.resolve(all(() => own));
    return this.#locked(p.transactionalId, () => {
      const m = this.#txns.get(p.transactionalId);
      const err = this.#check(m, p);
      if (err !== ErrorCode.NONE) return Promise.resolve(all(() => err));
      return Promise.resolve(
        all((t, n) =>
          m!.state === "Ongoing" && m!.partitions.get(t)?.has(n) === true
            ? ErrorCode.NONE
            : ErrorCode.INVALID_TXN_STATE
        ),
      );
    });
  }

  /**
   * AddOffsetsToTxn: add the group's `__consumer_offsets` partition to the transaction.
   *
   * @param p The producer.
   * @param groupId The consumer group whose offsets the transaction will commit.
   * @returns The error code.
   */
  addOffsets(p: TxnProducer, groupId: string): Promise<number> {
    const own = this.#ownership(p.transactionalId);
    if (own !== ErrorCode.NONE) return Promise.resolve(own);
    return this.#locked(p.transactionalId, async () => {
      const m = this.#txns.get(p.transactionalId);
      const err = this.#check(m, p);
      if (err !== 0) return err;
      const n = this.#offsetsPartitions() ?? 50;
      await this.#addPartitions(m!, [{
        topic: OFFSETS_TOPIC,
        partition: partitionForGroup(groupId, n),
      }]);
      return ErrorCode.NONE;
    });
  }

  /**
   * TxnOffsetCommit on one broker: the offsets go to `__consumer_offsets` as a transactional
   * batch of the producer (the group coordinator's `txnCommitOffsets`: durable, pending there
   * until the transaction's marker, which this coordinator writes), under this transaction's
   * lock so that its EndTxn cannot come between the check and the write. The group's offsets
   * partition must be in the transaction (AddOffsetsToTxn), which `__transaction_state` keeps
   * across a restart.
   *
   * @param req The request.
   * @returns Per-partition error codes.
   * @throws {Error} Without the group coordinator, or in cluster mode (where TxnOffsetCommit
   *   goes to the group coordinator).
   */
  txnOffsetCommit(req: TxnOffsetCommitParams): Promise<TxnTopicResult[]> {
    const all = (code: number): TxnTopicResult[] =>
      req.topics.map((t) => ({
        topic: t.topic,
        partitions: t.partitions.map((o) => ({ partition: o.partition, errorCode: code })),
      }));
    const groups = this.#groups;
    if (groups === undefined || this.#ownedOnly) {
      return Promise.reject(
        new Error(
          "transaction coordinator: TxnOffsetCommit: the group coordinator takes the offsets " +
            (groups === undefined ? "and there is none" : "(cluster mode)"),
        ),
      );
    }
    const own = this.#ownership(req.transactionalId);
    if (own !== ErrorCode.NONE) return Promise.resolve(all(own));
    return this.#locked(req.transactionalId, async () => {
      const m = this.#txns.get(req.transactionalId);
      let err = this.#check(m, req);
      const partition = partitionForGroup(req.groupId, this.#offsetsPartitions() ?? 50);
      if (
        err === 0 &&
        (m!.state !== "Ongoing" || m!.partitions.get(OFFSETS_TOPIC)?.has(partition) !== true)
      ) err = ErrorCode.INVALID_TXN_STATE;
      if (err !== 0) return all(err);
      const codes = new Map<string, number>();
      const topics: OffsetCommitParams["topics"] = [];
      for (const t of req.topics) {
        const partitions = [];
        for (const o of t.partitions) {
          if (this.#exists(t.topic, o.partition)) partitions.push(o);
          else codes.set(pkey(t.topic, o.partition), ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
        }
        if (partitions.length > 0) topics.push({ topic: t.topic, partitions });
      }
      const written = topics.length === 0 ? [] : await groups.txnCommitOffsets({
        groupId: req.groupId,
        generationId: req.generationId,
        memberId: req.memberId,
        groupInstanceId: req.groupInstanceId,
        transactionalId: req.transactionalId,
        producerId: req.producerId,
        producerEpoch: req.producerEpoch,
        topics,
      });
      for (const t of written) {
        for (const p of t.partitions) codes.set(pkey(t.topic, p.partition), p.errorCode);
      }
      return req.topics.map((t) => ({
        topic: t.topic,
        partitions: t.partitions.map((o) => ({
          partition: o.partition,
          errorCode: codes.get(pkey(t.topic, o.partition)) ?? ErrorCode.UNKNOWN_SERVER_ERROR,
        })),
      }));
    });
  }

  /**
   * EndTxn: commit or abort the ongoing transaction (PrepareX, markers, CompleteX). A retry of
   * a completed EndTxn succeeds; the other outcome, or no transaction, is INVALID_TXN_STATE.
   *
   * @param p The producer.
   * @param commit `true` to commit, `false` to abort.
   * @returns The error code.
   */
  async endTxn(p: TxnProducer, commit: boolean): Promise<number> {
    const own = this.#ownership(p.transactionalId);
    if (own !== ErrorCode.NONE) return own;
    let completing: Promise<boolean> | undefined;
    const code = await this.#locked(p.transactionalId, async () => {
      const m = this.#txns.get(p.transactionalId);
      if (
        m !== undefined && m.producerId === p.producerId &&
        m.lastProducerEpoch === p.producerEpoch && m.producerEpoch === p.producerEpoch + 1 &&
        m.state === "CompleteAbort" && !commit
      ) {
        return ErrorCode.NONE; // a retried abort after the coordinator bumped the epoch
      }
      const err = this.#check(m, p);
      if (err !== 0) return err;
      switch (m!.state) {
        case "Ongoing":
          await this.#write(m!, { state: commit ? "PrepareCommit" : "PrepareAbort" });
          if (this.#markers === undefined) await this.#complete(m!, commit);
          else completing = this.#completeLater(m!, commit, 0);
          return ErrorCode.NONE;
        case "CompleteCommit":
          return commit ? ErrorCode.NONE : ErrorCode.INVALID_TXN_STATE;
        case "CompleteAbort":
          return commit ? ErrorCode.INVALID_TXN_STATE : ErrorCode.NONE;
        default:
          return ErrorCode.INVALID_TXN_STATE;
      }
    });
    // Cluster mode: the outcome is decided once PrepareX is committed (Kafka answers there); the
    // answer waits for the first attempt at the markers, and a failed one goes on in the
    // background (meanwhile the id's requests get CONCURRENT_TRANSACTIONS)
    if (completing !== undefined) await completing;
    return code;
  }

  /** Whether this coordinator (still) owns `m`'s `__transaction_state` partition. */
  #ownsTxn(m: TxnMetadata): boolean {
    if (!this.#ownedOnly) return true;
    const p = this.#store.partitionFor(m.transactionalId);
    return this.#partitions.serves(p) && this.#txns.get(m.transactionalId) === m;
  }

  /**
   * Cluster mode: complete the prepared transaction `m` (markers, then CompleteX), trying
   * again every `COMPLETE_RETRY_MS` while this coordinator owns it, outside the id's lock: its
   * other requests see PrepareX meanwhile (CONCURRENT_TRANSACTIONS), and nothing else changes a
   * prepared transaction.
   *
   * @returns Resolves after the first attempt: `true` if it completed the transaction.
   */
  #completeLater(m: TxnMetadata, commit: boolean, delayMs: number): Promise<boolean> {
    if (this.#completing.has(m)) return Promise.resolve(false);
    this.#completing.add(m);
    const prepared = commit ? "PrepareCommit" : "PrepareAbort";
    let first: (ok: boolean) => void = () => {};
    const firstAttempt = new Promise<boolean>((resolve) => first = resolve);
    const run = (async () => {
      for (let attempt = 0;; attempt++) {
        const wait = attempt === 0 ? delayMs : COMPLETE_RETRY_MS;
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        if (
          this.#closed || !this.#completing.has(m) || !this.#ownsTxn(m) || m.state !== prepared
        ) return false;
        try {
          await this.#complete(m, commit);
          first(true);
          return true;
        } catch (e) {
          const fenced = e instanceof MarkerFencedError;
          if (attempt === 0 || fenced) {
            this.#logger?.warn(
              `Cannot complete the ${commit ? "commit" : "abort"} of transactional id ` +
                `${m.transactionalId} (producer ${m.producerId} epoch ${m.producerEpoch})` +
                `${fenced ? "" : "; trying again"}: ${e instanceof Error ? e.message : e}`,
            );
          }
          first(false);
          if (fenced) return false;
        }
      }
    })().finally(() => {
      this.#completing.delete(m);
      this.#background.delete(run);
      first(false);
    });
    this.#background.add(run);
    return firstAttempt;
  }

  /**
   * Abort `m` (Ongoing) with a bumped epoch, fencing its producer. Caller holds the lock.
   * Returns `false` when (cluster mode) the first attempt at its markers failed: the abort then
   * goes on in the background.
   */
  async #abortWithBump(m: TxnMetadata): Promise<boolean> {
    const epoch = m.producerEpoch + 1;
    await this.#write(m, {
      state: "PrepareAbort",
      producerEpoch: epoch,
      lastProducerEpoch: m.producerEpoch,
      lastProducerId: m.producerId,
    });
    if (this.#markers !== undefined) return await this.#completeLater(m, false, 0);
    await this.#complete(m, false);
    return true;
  }

  async #complete(m: TxnMetadata, commit: boolean): Promise<void> {
    const results = await this.writeMarkers({
      producerId: m.producerId,
      producerEpoch: m.producerEpoch,
      commit,
      coordinatorEpoch: this.#epochs.get(this.#store.partitionFor(m.transactionalId)) ?? 0,
      // the group coordinators hold the transaction's offsets and commit or drop them at the
      // marker on their partition of __consumer_offsets
      topics: [...m.partitions].map(([topic, s]) => ({ topic, partitions: [...s] })),
    }, () => !this.#closed && this.#ownsTxn(m));
    if (this.#markers !== undefined) {
      // a partition whose topic is gone needs no marker (the sender drops it, as Kafka does)
      const failed = results.flatMap((t) =>
        t.partitions.filter((p) =>
          p.errorCode !== ErrorCode.NONE &&
          !(p.errorCode === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION &&
            !this.#exists(t.topic, p.partition))
        ).map((p) => ({ ...p, t }))
      );
      const list = failed.map((f) => `${f.t.topic}-${f.partition}: ${errorName(f.errorCode)}`);
      if (failed.some((f) => isFenced(f.errorCode))) {
        // a newer coordinator or producer epoch took over: it completes the transaction
        throw new MarkerFencedError(`markers refused (${list.join(", ")})`);
      }
      if (failed.some((f) => isRetriableMarkerError(f.errorCode))) {
        throw new Error(`markers not written yet (${list.join(", ")})`);
      }
    }
    await this.#write(m, {
      state: commit ? "CompleteCommit" : "CompleteAbort",
      partitions: new Map(),
      startTimestamp: -1,
    });
  }

  /**
   * Write COMMIT/ABORT markers to partitions. On one broker they are appended here (unknown
   * partitions get UNKNOWN_TOPIC_OR_PARTITION); in cluster mode they go to each partition's
   * leader (`TransactionCoordinatorOptions.markers`), tried again while `active` holds.
   *
   * @param req Producer id/epoch, outcome, coordinator epoch, partitions.
   * @param active Cluster mode: whether to keep trying. Default: until closed.
   * @returns Per-partition error codes.
   */
  async writeMarkers(
    req: MarkerRequest,
    active: () => boolean = () => !this.#closed,
  ): Promise<TxnTopicResult[]> {
    if (this.#markers !== undefined) return await this.#markers.send(req, active);
    const out: TxnTopicResult[] = [];
    const now = this.#now();
    for (const t of req.topics) {
      const partitions: TxnTopicResult["partitions"] = [];
      for (const partition of t.partitions) {
        const log = this.#logs.partition(t.topic, partition);
        if (log === undefined) {
          // nothing was written there (no __consumer_offsets yet): offsets held without a log
          // are dropped or committed all the same
          if (t.topic === OFFSETS_TOPIC) {
            this.#groups?.completeTxnOffsets(partition, req.producerId, req.commit);
          }
          this.#logger?.warn(
            `Cannot write a ${req.commit ? "COMMIT" : "ABORT"} marker for producer ` +
              `${req.producerId} to ${t.topic}-${partition}: the partition does not exist`,
          );
          partitions.push({ partition, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION });
          continue;
        }
        // the log ends the producer's transaction there and indexes an aborted one
        await log.append(buildControlBatch({
          producerId: req.producerId,
          producerEpoch: req.producerEpoch,
          commit: req.commit,
          coordinatorEpoch: req.coordinatorEpoch,
          timestamp: now,
        }));
        if (t.topic === OFFSETS_TOPIC) {
          this.#groups?.completeTxnOffsets(partition, req.producerId, req.commit);
        }
        partitions.push({ partition, errorCode: ErrorCode.NONE });
      }
      out.push({ topic: t.topic, partitions });
    }
    return out;
  }

  /**
   * Abort every ongoing transaction older than its timeout, bumping the epoch (the producer is
   * fenced), as Kafka's `abortTimedOutTransactions`.
   *
   * @param now The time. Default the clock.
   * @returns How many were aborted.
   */
  async abortTimedOut(now: number = this.#now()): Promise<number> {
    let n = 0;
    for (const m of [...this.#txns.values()]) {
      if (m.state !== "Ongoing" || m.startTimestamp + m.timeoutMs >= now) continue;
      const done = await this.#locked(m.transactionalId, async () => {
        if (m.state !== "Ongoing" || m.startTimestamp + m.timeoutMs >= now) return false;
        this.#logger?.info(
          `Aborting transaction of ${m.transactionalId} (producer ${m.producerId} epoch ` +
            `${m.producerEpoch}): it timed out after ${m.timeoutMs} ms`,
        );
        await this.#abortWithBump(m);
        return true;
      });
      if (done) n++;
    }
    return n;
  }

  /**
   * Describe one transactional id.
   *
   * @param transactionalId The id.
   * @returns The description, or `undefined` if unknown.
   */
  describe(transactionalId: string): TransactionDescription | undefined {
    const m = this.#txns.get(transactionalId);
    if (m === undefined) return undefined;
    return {
      transactionalId,
      state: m.state,
      producerId: m.producerId,
      producerEpoch: m.producerEpoch,
      timeoutMs: m.timeoutMs,
      startTimestamp: m.startTimestamp,
      topics: [...m.partitions].map(([topic, s]) => ({
        topic,
        partitions: [...s].sort((a, b) => a - b),
      })),
    };
  }

  /**
   * Every transactional id, optionally filtered (ListTransactions).
   *
   * @param filter States and producer ids to keep (empty: all), minimum running time (ms, -1: any).
   * @returns The matching transactions, by id.
   */
  list(
    filter: { states?: string[]; producerIds?: number[]; durationMs?: number } = {},
  ): TransactionDescription[] {
    const now = this.#now();
    const out: TransactionDescription[] = [];
    for (const id of [...this.#txns.keys()].sort()) {
      const d = this.describe(id)!;
      if (filter.states?.length && !filter.states.includes(d.state)) continue;
      if (filter.producerIds?.length && !filter.producerIds.includes(d.producerId)) continue;
      if (
        filter.durationMs !== undefined && filter.durationMs >= 0 &&
        (d.startTimestamp < 0 || now - d.startTimestamp < filter.durationMs)
      ) continue;
      out.push(d);
    }
    return out;
  }
}
