/**
 * A partition log: ordered segments, offset assignment, appends with group commit, reads,
 * time lookups, retention, start-offset moves and truncation.
 *
 * @module
 */

import { BatchStatus, scanBatches } from "../wasm/mod.ts";
import {
  attributesAt,
  baseOffsetAt,
  COMPRESSION_CODEC_MASK,
  type CompressionName,
  compressionName,
  CONTROL_BIT,
  maxTimestampAt,
  nextOffsetAfter,
  partitionLeaderEpochAt,
  RECORD_BATCH_OVERHEAD as BATCH_HEADER_SIZE,
  setBaseOffsetAt,
  setPartitionLeaderEpochAt,
  stampLogAppendTimeAt,
} from "../records/layout.ts";
import { type BatchHeaderColumns, peekBatchHeaders, readRecords } from "../records/batch_reader.ts";
import { readCompactableBatch, rebuildBatch } from "../records/compaction.ts";
import { RecordsError } from "../records/errors.ts";
import { syncDir } from "./checkpoint.ts";
import type { LogConfig } from "./config.ts";
import { EngineError, ErrorCode, isOutOfResources, storageError } from "./errors.ts";
import { LOG_FILE_SUFFIX, offsetFileStem } from "./names.ts";
import { LogSegment, Mutex, removeIfExists, type SegmentMark } from "./segment.ts";
import type { KeepBytes } from "./hot_tail.ts";
import type { FileHandleCache } from "./handle_cache.ts";
import { checkCompactedKeys, checkRecordTimestamps } from "./log_validator.ts";
import {
  type OngoingTxn,
  type ProducerLastRecord,
  type ProducerStateInfo,
  ProducerStateManager,
} from "./producer_state.ts";
import type { AbortedTxn } from "./transaction_index.ts";
import { ThrottledLog } from "./throttled_log.ts";
import { type EpochEntry, LeaderEpochCache } from "./leader_epoch_cache.ts";

/** Result of {@linkcode PartitionLog.append}. */
export interface AppendResult {
  /** Offset assigned to the first record. */
  baseOffset: number;
  /** Offset of the last record. */
  lastOffset: number;
  /** The broker time written into the batches for LogAppendTime topics, else -1. */
  logAppendTime: number;
  /** The log start offset after the append. */
  logStartOffset: number;
  /** Number of records appended. */
  recordCount: number;
}

/** Result of {@linkcode PartitionLog.read}. */
export interface ReadResult {
  /** Whole record batches, exactly as stored (empty when nothing is available). */
  records: Uint8Array;
  /** High watermark at the time of the read. */
  highWatermark: number;
  /** Log start offset at the time of the read. */
  logStartOffset: number;
}

/** Result of {@linkcode PartitionLog.readInto}. */
export interface ReadIntoResult {
  /** Bytes of whole batches written to the destination. */
  bytes: number;
  /** Size of the first batch found (0 if none); larger than the destination when `bytes` is 0. */
  firstBatchSize: number;
  /** High watermark at the time of the read. */
  highWatermark: number;
  /** Log start offset at the time of the read. */
  logStartOffset: number;
}

/** Result of {@linkcode PartitionLog.readCommitted}. */
export interface CommittedReadResult extends ReadResult {
  /** Last stable offset at the time of the read: no batch at or after it is returned. */
  lastStableOffset: number;
  /** Aborted transactions overlapping the batches returned, by marker offset. */
  abortedTransactions: AbortedTxn[];
}

/** Options of {@linkcode PartitionLog.read}. */
export interface ReadOptions {
  /** Exclusive bound: batches whose base offset is >= this are not returned (default: HW). */
  maxOffset?: number;
  /**
   * Where bytes copied out of the hot tail go: a buffer of exactly the size asked for (default a
   * new one). A fetch lends pooled buffers here and takes them back once its response is written
   * (issue #17); bytes read from the segment file are views of a buffer of the read's own.
   */
  allocate?: (size: number) => Uint8Array;
}

/** Result of {@linkcode PartitionLog.offsetForTime}. */
export interface OffsetAndTimestamp {
  /** The offset found. */
  offset: number;
  /** The timestamp of the record at that offset (-1 for the earliest/latest specials). */
  timestamp: number;
}

/** Hooks and settings a {@linkcode PartitionLog} gets from its manager. */
export interface PartitionLogHooks {
  /** Called after appended data became visible, with the new log end offset. */
  onAppend?: (logEndOffset: number) => void;
  /** Called when the log start offset moved. */
  onLogStartOffset?: (logStartOffset: number) => void;
  /** Diagnostic messages (recovery, deletions). */
  logger?: (msg: string) => void;
  /**
   * Where repeated failures go (a full disk fails every append the same way): shared by the
   * manager's logs so that one line per kind and interval covers them all. Default: one per log
   * over `logger`.
   */
  throttledLog?: ThrottledLog;
  /** Bytes of the active segment's tail kept in memory. */
  hotTailBytes?: number;
  /** `producer.id.expiration.ms` (default one day). */
  producerIdExpirationMs?: number;
  /** The manager's bound on open `.log` handles, used by the segments this log creates. */
  handles?: FileHandleCache;
}

/** Initial state handed over by the loader. */
export interface PartitionLogState {
  /** Segments in base-offset order; the last is active. */
  segments: LogSegment[];
  /** Log start offset. */
  logStartOffset: number;
  /** Offset up to which everything is fsynced. */
  recoveryPoint: number;
  /** Idempotent-producer state loaded from snapshots and the log (default: empty). */
  producerState?: ProducerStateManager;
  /** Leader epochs loaded from `leader-epoch-checkpoint` (default: none). */
  leaderEpochs?: LeaderEpochCache;
  /**
   * The high watermark from `replication-offset-checkpoint` (cluster mode), used once the
   * replication layer takes the high watermark over ({@linkcode PartitionLog.enableReplication}).
   */
  highWatermark?: number;
}

/** Result of {@linkcode PartitionLog.appendAsFollower}. */
export interface FollowerAppendResult {
  /** Base offset of the first batch (the leader's). */
  firstOffset: number;
  /** Last offset of the last batch. */
  lastOffset: number;
  /** Number of records appended. */
  recordCount: number;
  /** The log end offset after the append. */
  logEndOffset: number;
}

interface PendingAppend {
  records: Uint8Array;
  /** CRCs and records not checked yet: `#checkDeferred` runs while the bytes are written. */
  deferred: boolean;
  positions: number[];
  sizes: number[];
  lastOffsetDeltas: number[];
  recordCounts: number[];
  maxTimestamps: number[];
  /** Lets the hot tail keep the records instead of a copy. */
  keep?: KeepBytes;
  resolve: (r: AppendResult) => void;
  reject: (e: unknown) => void;
}

/**
 * Appends at least this large are checked while they are written: `append` reads the batch
 * headers (framing, offsets, sizes, timestamps: cheap), the write starts in Deno's thread pool,
 * and the full WASM check (CRC-32C, records) runs meanwhile on this thread. On a failure the file
 * is truncated back before the promise rejects, and nothing (LEO, indexes, hot tail) moved, so
 * the log is unchanged when `append` settles. Below this, a synchronous write is cheaper than the
 * thread-pool round trip, so the check simply runs first.
 */
const DEFERRED_CHECK_MIN = 256 * 1024;

/**
 * Most bytes of consecutive requests written to a segment with one write (issue #17: 500
 * producer connections to one partition made one `write` each). Below the segment's synchronous
 * write limit, so the shared write stays a page-cache copy on this thread.
 */
const SHARED_WRITE_BYTES = 256 * 1024;

/** A pending append's resolve/reject until `append` sets them (one function, not two per append). */
function settleLater(): void {}

/** A buffer the requests of a shared write are copied into, lent to one write at a time. */
let sharedScratch: Uint8Array | undefined;

/** The requests of one group whose batches are written together (`#appendGroup`). */
class SharedWrite {
  /** Indexes of the requests in the group. */
  members: number[] = [];
  requests: PendingAppend[] = [];
  /** Each member's result once written. */
  results: AppendResult[] = [];
  /** Per batch of every member, in order. */
  sizes: number[] = [];
  bases: number[] = [];
  lasts: number[] = [];
  maxTimestamps: number[] = [];
  bytes = 0;
  /** The log before the first member: what a failed write is undone to. */
  mark: AppendMark | undefined;
  /** The group's next offset and message count before the first member. */
  next = 0;
  messages = 0;

  clear(): void {
    this.members = [];
    this.requests = [];
    this.results = [];
    this.sizes = [];
    this.bases = [];
    this.lasts = [];
    this.maxTimestamps = [];
    this.bytes = 0;
    this.mark = undefined;
  }
}

/** Thrown through `LogSegment.append` when a deferred check fails (the log is unchanged). */
class DeferredCheckFailed extends Error {
  constructor(readonly error: EngineError) {
    super(error.message);
  }
}

/**
 * An fsync of a `.log` file failed. After that the kernel may have dropped the dirty pages or
 * marked them clean ("fsyncgate"): what is on disk is unknown, and a second fsync that succeeds
 * proves nothing. The log goes offline until a restart re-validates it from the recovery point.
 */
class SyncFailed extends Error {
  constructor(readonly error: unknown) {
    super(error instanceof Error ? error.message : String(error), { cause: error });
  }
}

/** The log's state before one append, to undo it when a write fails. */
interface AppendMark {
  /** Number of segments (those after were rolled by the append). */
  segmentCount: number;
  /** The active segment and its state. */
  active: LogSegment;
  segment: SegmentMark;
  recoveryPoint: number;
}

const RECORD_LEVEL: ReadonlySet<number> = new Set<number>([
  BatchStatus.BAD_RECORD_COUNT,
  BatchStatus.BAD_VARINT,
  BatchStatus.BAD_RECORD_LENGTH,
  BatchStatus.BAD_OFFSET_DELTA,
  BatchStatus.BAD_RECORDS_SIZE,
  BatchStatus.BAD_CONTROL,
  BatchStatus.BAD_HEADER,
]);

/**
 * The Kafka error code for a failed batch scan: framing, magic, CRC and attributes are
 * CORRUPT_MESSAGE; record-level failures are INVALID_RECORD.
 *
 * @param status A `BatchStatus` code.
 * @returns The Kafka error code.
 *
 * @example
 * ```ts
 * import { BatchStatus } from "../wasm/mod.ts";
 * import { errorCodeForBatchStatus } from "./partition_log.ts";
 * console.assert(errorCodeForBatchStatus(BatchStatus.BAD_CRC) === 2);
 * ```
 */
export function errorCodeForBatchStatus(status: number): number {
  return RECORD_LEVEL.has(status) ? ErrorCode.INVALID_RECORD : ErrorCode.CORRUPT_MESSAGE;
}

/**
 * One partition's log. Obtain instances from `LogManager.partition()`; appends to one partition
 * are serialised, and appends waiting in the queue are written together: consecutive requests
 * that need no roll share one segment write (up to 256 KiB), with one fsync per group when the
 * policy demands it; each is answered once its bytes are written (and fsynced).
 */
export class PartitionLog {
  /** Topic name. */
  readonly topic: string;
  /** Partition index. */
  readonly partition: number;
  /** The partition directory. */
  readonly dir: string;
  #segments: LogSegment[];
  #config: LogConfig;
  #lso: number;
  #leo: number;
  #hw: number;
  #recoveryPoint: number;
  #hooks: PartitionLogHooks;
  #queue: PendingAppend[] = [];
  #draining = false;
  #mutex = new Mutex();
  #unflushedMessages = 0;
  #lastFlushMs = Date.now();
  /** Why the log is offline (fsync or undo failed): appends and reads refused until restart. */
  #failed: EngineError | undefined;
  /** Appends that failed for lack of space since the last one that worked. */
  #spaceFailures = 0;
  #closed = false;
  #jitterMs = 0;
  #pendingDeletes = new Map<number, { segment: LogSegment; paths: string[] }>();
  #deleteSeq = 0;

  /**
   * Used by the loader; applications get logs from `LogManager`.
   *
   * @param topic Topic name.
   * @param partition Partition index.
   * @param dir Partition directory.
   * @param config Log settings.
   * @param state Loaded segments and offsets.
   * @param hooks Manager hooks.
   */
  constructor(
    topic: string,
    partition: number,
    dir: string,
    config: LogConfig,
    state: PartitionLogState,
    hooks: PartitionLogHooks = {},
  ) {
    this.topic = topic;
    this.partition = partition;
    this.dir = dir;
    this.#config = config;
    this.#segments = state.segments;
    this.#leo = this.#active.nextOffset;
    this.#hw = this.#leo;
    this.#lso = Math.min(Math.max(state.logStartOffset, this.#segments[0].baseOffset), this.#leo);
    this.#recoveryPoint = Math.min(state.recoveryPoint, this.#leo);
    this.#checkpointedHw = state.highWatermark;
    this.#hooks = hooks;
    this.#throttled = hooks.throttledLog ?? new ThrottledLog(hooks.logger ?? (() => {}));
    this.#newJitter();
    this.#producers = state.producerState ?? new ProducerStateManager(dir, {
      expirationMs: hooks.producerIdExpirationMs,
      logger: hooks.logger,
    });
    this.#epochs = state.leaderEpochs ?? new LeaderEpochCache(dir);
    // A standalone broker leads every partition in epoch 0 (as Metadata says); an older epoch
    // in the checkpoint (cluster mode) is kept until a newer one is set.
    this.#leaderEpoch = Math.max(0, this.#epochs.latestEpoch);
    this.#epochs.assign(this.#leaderEpoch, this.#leo); // written with the first append or flush
  }

  // leader epochs: stamped into appended batches, their start offsets in leader-epoch-checkpoint
  #epochs: LeaderEpochCache;
  #leaderEpoch: number;

  /**
   * The partition's current leader epoch as this replica knows it: the epoch this broker leads
   * the partition in (stamped into every appended batch), or, on a follower, the epoch of the
   * leader it follows ({@linkcode PartitionLog.becomeFollower}).
   */
  get leaderEpoch(): number {
    return this.#leaderEpoch;
  }

  /**
   * Records the leader epoch of the leader this replica now follows (cluster mode): requests
   * are checked against it, but no epoch starts in the leader-epoch cache, which a follower
   * fills from the epochs of the batches it copies ({@linkcode PartitionLog.appendAsFollower}).
   * An epoch older than the known one is ignored.
   *
   * @param leaderEpoch The leader's epoch.
   */
  becomeFollower(leaderEpoch: number): void {
    if (Number.isSafeInteger(leaderEpoch) && leaderEpoch > this.#leaderEpoch) {
      this.#leaderEpoch = leaderEpoch;
    }
  }

  // ---- replication: the high watermark as the replication layer sets it -----------------------

  /** Whether the replication layer sets the high watermark (else it follows the log end). */
  #replicated = false;
  /** The high watermark read from `replication-offset-checkpoint`, if any. */
  #checkpointedHw: number | undefined;

  /**
   * Whether the high watermark is set by replication ({@linkcode PartitionLog.enableReplication})
   * rather than kept equal to the log end offset (standalone).
   */
  get replicated(): boolean {
    return this.#replicated;
  }

  /**
   * The high watermark to write to `replication-offset-checkpoint`: the current one once
   * replicated, else the one read from the checkpoint at open (`undefined`: none).
   */
  get highWatermarkCheckpoint(): number | undefined {
    return this.#replicated ? this.#hw : this.#checkpointedHw;
  }

  /**
   * Hands the high watermark over to the replication layer (cluster mode; Kafka's HW): from now
   * on it moves only through {@linkcode PartitionLog.setHighWatermark} and truncation, and no
   * longer follows appends. It starts at the checkpointed value (`replication-offset-checkpoint`)
   * bounded by the log end offset, or at the log start offset when none was checkpointed (Kafka
   * starts at 0), never above what the replicas are known to hold. Idempotent.
   */
  enableReplication(): void {
    if (this.#replicated) return;
    this.#replicated = true;
    const hw = this.#checkpointedHw ?? this.#lso;
    this.#hw = Math.max(this.#lso, Math.min(hw, this.#leo));
  }

  /**
   * Moves the high watermark forward (cluster mode): to `offset`, but never past the log end
   * offset and never backwards (a lower value is ignored; only truncation lowers it). Waiting
   * fetches are woken through the append hook.
   *
   * @param offset The new high watermark.
   * @returns Whether it moved.
   * @throws {EngineError} INVALID_REQUEST if the log is not replicated or `offset` is not an
   * integer.
   */
  setHighWatermark(offset: number): boolean {
    const what = `set the high watermark of ${this.#name}`;
    if (!this.#replicated) {
      throw new EngineError(
        ErrorCode.INVALID_REQUEST,
        `${what} failed: the log is not replicated (enableReplication first)`,
      );
    }
    if (!Number.isSafeInteger(offset)) {
      throw new EngineError(ErrorCode.INVALID_REQUEST, `${what} failed: bad offset ${offset}`);
    }
    const hw = Math.min(offset, this.#leo);
    if (hw <= this.#hw) return false;
    this.#hw = hw;
    this.#hooks.onAppend?.(this.#leo); // records below the new HW are visible: wake fetches
    return true;
  }

  /**
   * Starts a new leader epoch at the current log end offset (a leader change; Kafka's
   * `maybeAssignEpochStartOffset`) and writes `leader-epoch-checkpoint` if it changed. An epoch
   * older than the current one is ignored; the current one only gets its checkpoint written.
   *
   * @param epoch The new epoch.
   * @throws {EngineError} KAFKA_STORAGE_ERROR if the checkpoint cannot be written.
   */
  setLeaderEpoch(epoch: number): Promise<void> {
    return this.#mutex.run(async () => {
      if (!Number.isSafeInteger(epoch) || epoch < this.#leaderEpoch) return;
      this.#leaderEpoch = epoch;
      this.#epochs.assign(epoch, this.#leo); // (no change if the epoch has started already)
      if (!this.#epochs.dirty) return;
      try {
        await this.#epochs.flush();
      } catch (e) {
        throw storageError(`new leader epoch ${epoch} of ${this.#name} failed`, e);
      }
    });
  }

  /**
   * The end offset of a leader epoch (OffsetForLeaderEpoch; Kafka's `endOffsetForEpoch`): the
   * start of the next epoch, or the log end offset for the current one.
   *
   * @param epoch The epoch asked about.
   * @returns The largest known epoch <= `epoch` and its end offset (-1, -1 when unknown).
   */
  endOffsetForEpoch(epoch: number): { epoch: number; endOffset: number } {
    return this.#epochs.endOffsetFor(epoch, this.#leo);
  }

  /**
   * The leader-epoch entries (epoch, start offset), oldest first.
   *
   * @returns Copies of the entries.
   */
  leaderEpochEntries(): EpochEntry[] {
    return this.#epochs.entries();
  }

  /**
   * Writes `leader-epoch-checkpoint` if its entries differ from the file; a failure is logged
   * and the write retried at the next flush.
   */
  flushLeaderEpochs(): Promise<void> {
    return this.#mutex.run(() => this.#flushEpochs());
  }

  /** Writes the epoch checkpoint if it changed; a failure is logged and retried later. */
  async #flushEpochs(): Promise<void> {
    // an empty log's entries all start at or past its end, so the loader drops them all: a
    // partition that never held a record writes no checkpoint (the loader assigns it again)
    if (this.#leo === 0 || !this.#epochs.dirty) return;
    try {
      await this.#epochs.flush();
    } catch (e) {
      this.#throttled.log(
        "epoch-checkpoint",
        `${this.#name}: cannot write leader-epoch-checkpoint (retried later): ${e}`,
      );
    }
  }

  // idempotent producers: dedup and sequence checks on append, snapshots (producer_state.ts)
  #producers: ProducerStateManager;
  #throttled: ThrottledLog;

  /**
   * The producer state of this partition (for DescribeProducers): epochs, last sequences and
   * transactions in progress.
   *
   * @returns One entry per producer id, by id.
   */
  producerStates(): ProducerStateInfo[] {
    return this.#producers.producerStates();
  }

  // ---- transactions: last stable offset, aborted transactions (.txnindex) -------------------

  /**
   * The last stable offset (Kafka's LSO): the first offset of the oldest transaction in
   * progress, else the high watermark. `read_committed` consumers read below it.
   */
  get lastStableOffset(): number {
    const first = this.#producers.firstUnstableOffset;
    return first < 0 ? this.#hw : Math.min(this.#hw, Math.max(first, this.#lso));
  }

  /**
   * Whether `producerId` has a transaction in progress in this partition in epoch `epoch`.
   *
   * @param producerId The producer id.
   * @param epoch The producer epoch.
   * @returns Whether its current transaction is ongoing here in that epoch.
   */
  inTransaction(producerId: number, epoch: number): boolean {
    return this.#producers.inTransaction(producerId, epoch);
  }

  /**
   * The transactions in progress in this partition, oldest first.
   *
   * @returns Producer ids and the offsets of their first batches.
   */
  ongoingTransactions(): OngoingTxn[] {
    return this.#producers.ongoingTransactions();
  }

  /**
   * The aborted transactions overlapping `[from, upTo)` (Kafka's `collectAbortedTransactions`):
   * the transaction indexes of the segment holding `from` and the following ones, until an
   * entry shows that every transaction started before `upTo` has ended.
   *
   * @param from First offset of the range.
   * @param upTo End of the range (exclusive).
   * @returns The aborted transactions, by marker offset.
   */
  abortedTransactions(from: number, upTo: number): AbortedTxn[] {
    const out: AbortedTxn[] = [];
    const segs = this.#segments;
    for (let i = floorSegment(segs, from); i < segs.length; i++) {
      if (segs[i].txnIndex.collect(from, upTo, out)) break;
    }
    return out;
  }

  /**
   * A `read_committed` read (Kafka's isolation level 1): whole batches below the last stable
   * offset, as {@linkcode PartitionLog.read} returns them, and the aborted transactions that
   * overlap them, whose batches the client drops.
   *
   * @param offset First offset wanted.
   * @param maxBytes Byte budget.
   * @param options `allocate`: as for {@linkcode PartitionLog.read}.
   * @returns The bytes, the high watermark, log start and last stable offsets, the aborted
   * transactions.
   * @throws {EngineError} As {@linkcode PartitionLog.read}.
   */
  async readCommitted(
    offset: number,
    maxBytes: number,
    options: Pick<ReadOptions, "allocate"> = {},
  ): Promise<CommittedReadResult> {
    const lastStableOffset = this.lastStableOffset;
    const r = await this.read(offset, maxBytes, { ...options, maxOffset: lastStableOffset });
    const end = r.records.length > 0 ? nextOffsetAfter(r.records) : null;
    return {
      ...r,
      lastStableOffset,
      abortedTransactions: end === null ? [] : this.abortedTransactions(offset, end),
    };
  }

  /** Writes the transactions an append's ABORT markers ended to their segments' indexes. */
  #indexAborted(aborted: readonly AbortedTxn[]): void {
    const segs = this.#segments;
    for (const a of aborted) segs[floorSegment(segs, a.lastOffset)].txnIndex.append(a);
  }

  // ---- end of transactions -------------------------------------------------------------------

  get #active(): LogSegment {
    return this.#segments[this.#segments.length - 1];
  }

  /** `append to <topic>-<partition>`, made at the first append (not one string per append). */
  #appendWhat: string | undefined;

  get #name(): string {
    return `${this.topic}-${this.partition}`;
  }

  /** First offset still in the log. */
  get logStartOffset(): number {
    return this.#lso;
  }
  /** Offset the next appended record gets. */
  get logEndOffset(): number {
    return this.#leo;
  }
  /**
   * Offset below which records are visible to consumers: the log end offset on a standalone
   * broker, the replication layer's high watermark once {@linkcode PartitionLog.replicated}.
   */
  get highWatermark(): number {
    return this.#hw;
  }
  /** Offset up to which the log is known to be fsynced. */
  get recoveryPoint(): number {
    return this.#recoveryPoint;
  }
  /**
   * Whether the log is one empty segment at offset 0 whose files were never made, with no
   * producer state: a partition not used since it was created (or last opened). The manager lists
   * these in the clean shutdown marker, so the next open makes them without reading their
   * directories.
   */
  get unmade(): boolean {
    return this.#segments.length === 1 && !this.#segments[0].fileMade &&
      this.#segments[0].baseOffset === 0 && this.#lso === 0 && this.#leo === 0 &&
      this.#producers.size === 0;
  }
  /** Number of segments. */
  get segmentCount(): number {
    return this.#segments.length;
  }
  /** Total bytes in all segments. */
  get sizeInBytes(): number {
    let n = 0;
    for (const s of this.#segments) n += s.size;
    return n;
  }
  /** Base offsets of the segments, oldest first. */
  get segmentBaseOffsets(): number[] {
    return this.#segments.map((s) => s.baseOffset);
  }
  /** The log settings in force. */
  get config(): LogConfig {
    return this.#config;
  }

  /**
   * Replaces the log settings (after a topic config change).
   *
   * @param config New settings.
   */
  updateConfig(config: LogConfig): void {
    this.#config = config;
    this.#newJitter();
  }

  #newJitter(): void {
    const j = this.#config.segmentJitterMs;
    this.#jitterMs = j > 0 ? Math.floor(Math.random() * Math.min(j, this.#config.segmentMs)) : 0;
  }

  #check(what: string): void {
    if (this.#failed) {
      throw new EngineError(
        ErrorCode.KAFKA_STORAGE_ERROR,
        `${what} failed: log is offline after an earlier I/O error: ${this.#failed.message}`,
      );
    }
    if (this.#closed) {
      throw new EngineError(ErrorCode.KAFKA_STORAGE_ERROR, `${what} failed: log is closed`);
    }
  }

  /**
   * Validates every batch in `records` (WASM: framing, magic, CRC, records), enforces
   * `max.message.bytes`, assigns offsets by rewriting base offsets in place, appends, and updates
   * the indexes. Resolves once the data is visible (and fsynced if `flush.messages`/`flush.ms`
   * demand it). On a validation error the log is unchanged.
   *
   * @param records One or more whole v2 record batches (modified in place).
   * @param keep Lets the hot tail keep `records` past the append instead of copying them (the
   * server passes its frame buffer pool's `retain` for a Produce frame); without it, nothing
   * keeps a view of `records` once the append has settled.
   * @returns Offsets assigned, the log append time and the log start offset.
   * @throws {EngineError} CORRUPT_MESSAGE (framing, magic, CRC), INVALID_RECORD (record-level
   * framing, empty input), MESSAGE_TOO_LARGE (batch > `max.message.bytes`), RECORD_LIST_TOO_LARGE
   * (batch > `segment.bytes`), INVALID_TIMESTAMP, KAFKA_STORAGE_ERROR (I/O).
   *
   * @example
   * ```ts ignore
   * const { baseOffset } = await log.append(batchBytes);
   * ```
   */
  append(records: Uint8Array, keep?: KeepBytes): Promise<AppendResult> {
    try {
      const what = this.#appendWhat ??= `append to ${this.#name}`;
      this.#check(what);
      const pending = this.#validate(records, what);
      pending.keep = keep;
      return new Promise<AppendResult>((resolve, reject) => {
        pending.resolve = resolve;
        pending.reject = reject;
        this.#queue.push(pending);
        if (!this.#draining) this.#drain();
      });
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /**
   * Appends record batches fetched from the partition's leader (a follower's append, Kafka's
   * `appendAsFollower`). The batches are stored exactly as the leader has them: their offsets,
   * partition leader epochs, timestamps and codecs are kept, nothing is assigned or rewritten.
   * They are checked by the same WASM scan as any append (framing, magic, CRC-32C, records;
   * cleaned batches of compacted logs accepted), must start at the log end offset (beyond it only
   * in a compacted log, whose cleaner leaves gaps) with offsets increasing, and may hold no
   * records (the cleaner's empty batches). The leader-epoch cache takes each new epoch at the
   * first batch carrying it, and the producer state and transaction index are rebuilt from the
   * batches as recovery does (Kafka's replication: no sequence checks). On a standalone log the
   * high watermark follows the log end as for {@linkcode PartitionLog.append}; on a replicated
   * one it stays where the replication layer put it. Rolls, fsync policy, undo on a full disk and
   * offline-on-fsync-failure are those of {@linkcode PartitionLog.append}.
   *
   * @param records Whole v2 record batches as the leader stored them.
   * @returns The offsets appended and the new log end offset.
   * @throws {EngineError} OFFSET_OUT_OF_RANGE if the first batch does not start at the log end
   * offset; INVALID_RECORD for no batches or offsets that do not increase; CORRUPT_MESSAGE or
   * INVALID_RECORD from the scan; RECORD_LIST_TOO_LARGE for a batch larger than
   * `segment.bytes`; INVALID_TIMESTAMP for one beyond ±2^53 ms; KAFKA_STORAGE_ERROR on I/O
   * failure. The log is unchanged after an error.
   *
   * @example
   * ```ts ignore
   * const { logEndOffset } = await follower.appendAsFollower(fetchedRecords);
   * ```
   */
  appendAsFollower(records: Uint8Array): Promise<FollowerAppendResult> {
    return this.#mutex.run(() => this.#appendAsFollower(records));
  }

  async #appendAsFollower(records: Uint8Array): Promise<FollowerAppendResult> {
    const what = `append as follower to ${this.#name}`;
    this.#check(what);
    if (!(records instanceof Uint8Array) || records.length === 0) {
      throw new EngineError(ErrorCode.INVALID_RECORD, `${what} failed: no record batches`);
    }
    const scan = scanBatches(records, { walkRecords: true, verifyCrc: true, relaxedOffsets: true });
    if (scan.status !== BatchStatus.OK) {
      throw new EngineError(errorCodeForBatchStatus(scan.status), `${what} failed: ${scan.detail}`);
    }
    const n = scan.count;
    const req: PendingAppend = {
      records,
      deferred: false,
      positions: new Array(n),
      sizes: new Array(n),
      lastOffsetDeltas: new Array(n),
      recordCounts: new Array(n),
      maxTimestamps: new Array(n),
      resolve: settleLater,
      reject: settleLater,
    };
    const bases: number[] = new Array(n);
    const lasts: number[] = new Array(n);
    const gaps = this.#config.cleanupPolicy.includes("compact"); // the cleaner's offset gaps
    let next = this.#leo;
    let recordCount = 0;
    for (let i = 0; i < n; i++) {
      const base = scan.baseOffsets[i];
      const size = scan.sizes[i];
      if (i === 0 && base !== next && !(gaps && base > next)) {
        throw new EngineError(
          ErrorCode.OFFSET_OUT_OF_RANGE,
          `${what} failed: the first batch starts at offset ${base}, not at the log end offset ` +
            `${next}`,
        );
      }
      if (i > 0 && (base < next || (base > next && !gaps))) {
        throw new EngineError(
          ErrorCode.INVALID_RECORD,
          `${what} failed: batch ${i} starts at offset ${base}, but the batch before it ends ` +
            `at ${next - 1}`,
        );
      }
      if (size > this.#config.segmentBytes) {
        throw new EngineError(
          ErrorCode.RECORD_LIST_TOO_LARGE,
          `${what} failed: batch ${i} at byte ${scan.positions[i]} is ${size} bytes, larger ` +
            `than segment.bytes ${this.#config.segmentBytes}`,
        );
      }
      if (!Number.isSafeInteger(scan.maxTimestamps[i])) {
        // (recovery would cut it: the leader never stores one)
        throw new EngineError(
          ErrorCode.INVALID_TIMESTAMP,
          `${what} failed: batch ${i} at byte ${scan.positions[i]} has a timestamp beyond ` +
            `±2^53 ms`,
        );
      }
      req.positions[i] = scan.positions[i];
      req.sizes[i] = size;
      req.lastOffsetDeltas[i] = scan.lastOffsetDeltas[i];
      req.recordCounts[i] = scan.recordCounts[i];
      req.maxTimestamps[i] = scan.maxTimestamps[i];
      bases[i] = base;
      lasts[i] = base + scan.lastOffsetDeltas[i];
      next = lasts[i] + 1;
      recordCount += scan.recordCounts[i];
    }
    const mark = this.#markAppend();
    try {
      let spanStart = 0;
      let spanBytes = 0;
      for (let i = 0; i < n; i++) {
        if (
          this.#shouldRoll(this.#active, spanBytes, req.sizes[i], lasts[i], req.maxTimestamps[i])
        ) {
          if (i > spanStart) await this.#writeFollowerSpan(req, spanStart, i, bases, lasts);
          spanStart = i;
          spanBytes = 0;
          await this.#roll(bases[i]);
        }
        spanBytes += req.sizes[i];
      }
      await this.#writeFollowerSpan(req, spanStart, n, bases, lasts);
    } catch (e) {
      const err = await this.#undoAppend(mark, e);
      // the spans written before the failure were replayed and indexed: forget them
      mark.active.txnIndex.truncateTo(mark.segment.nextOffset);
      this.#epochs.truncateFromEnd(this.#leo);
      if (!this.#failed) {
        try {
          await this.#producers.load(this.#segments, this.#lso, this.#leo, false);
        } catch (e2) {
          throw this.#goOffline(
            storageError(`${err.message}; reloading producer state failed`, e2),
          );
        }
      }
      throw err;
    }
    this.#leo = next;
    if (!this.#replicated) this.#hw = next;
    this.#unflushedMessages += recordCount;
    const cfg = this.#config;
    try {
      if (
        this.#unflushedMessages >= cfg.flushMessages ||
        Date.now() - this.#lastFlushMs >= cfg.flushMs
      ) {
        await this.#flushLocked(next, false);
      } else {
        await this.#flushEpochs();
      }
    } catch (e) {
      throw this.#goOffline(
        storageError(`${what} failed: fsync failed`, e instanceof SyncFailed ? e.error : e),
      );
    }
    this.#hooks.onAppend?.(next);
    return { firstOffset: bases[0], lastOffset: next - 1, recordCount, logEndOffset: next };
  }

  /**
   * Writes batches `[from, to)` of a follower's append, then replays them into the producer
   * state, indexes the transactions their ABORT markers end and records their leader epochs:
   * before any roll that follows, so that the roll's producer snapshot covers them.
   */
  async #writeFollowerSpan(
    req: PendingAppend,
    from: number,
    to: number,
    bases: number[],
    lasts: number[],
  ): Promise<void> {
    if (to <= from) return;
    await this.#writeSpan(req, from, to, bases.slice(from, to), lasts.slice(from, to));
    const start = req.positions[from];
    const end = req.positions[to - 1] + req.sizes[to - 1];
    this.#indexAborted(this.#producers.replay(req.records.subarray(start, end)));
    for (let i = from; i < to; i++) {
      this.#epochs.assign(partitionLeaderEpochAt(req.records, req.positions[i]), bases[i]);
    }
  }

  /**
   * Batches whose codec is not the topic's `compression.type` rebuilt with it (Kafka's
   * LogValidator recompresses the same way): offsets, producer fields, timestamps, keys, values
   * and headers are kept. Control batches stay as they are.
   */
  #recompress(
    records: Uint8Array,
    count: number,
    positions: ArrayLike<number>,
    sizes: ArrayLike<number>,
    what: string,
  ): Uint8Array {
    const target = this.#config.compressionType === "uncompressed"
      ? "none"
      : this.#config.compressionType as CompressionName;
    const parts: Uint8Array[] = [];
    let changed = false;
    for (let i = 0; i < count; i++) {
      const batch = records.subarray(positions[i], positions[i] + sizes[i]);
      const attrs = attributesAt(batch, 0);
      if (
        (attrs & CONTROL_BIT) !== 0 || compressionName(attrs & COMPRESSION_CODEC_MASK) === target
      ) {
        parts.push(batch);
        continue;
      }
      try {
        const decoded = readCompactableBatch(batch);
        parts.push(
          rebuildBatch(batch, decoded, {
            records: decoded.records,
            deleteHorizonMs: -1,
            compression: target,
          }),
        );
        changed = true;
      } catch (e) {
        throw new EngineError(
          ErrorCode.INVALID_RECORD,
          `${what} failed: batch ${i} cannot be recompressed to ${target}: ${(e as Error).message}`,
        );
      }
    }
    if (!changed) return records;
    let size = 0;
    for (const p of parts) size += p.length;
    const out = new Uint8Array(size);
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }

  #validate(records: Uint8Array, what: string): PendingAppend {
    if (!(records instanceof Uint8Array) || records.length === 0) {
      throw new EngineError(ErrorCode.INVALID_RECORD, `${what} failed: no record batches`);
    }
    let scan: BatchHeaderColumns | null = null;
    const recompress = this.#config.compressionType !== "producer";
    if (
      records.length >= DEFERRED_CHECK_MIN && this.#config.timestampType === "CreateTime" &&
      !recompress
    ) {
      scan = peekBatchHeaders(records);
    }
    const deferred = scan !== null;
    if (scan === null) {
      // small, LogAppendTime (stamping rewrites the CRC: check first) or odd framing: full check
      const full = scanBatches(records, { walkRecords: true, verifyCrc: true });
      if (full.status !== BatchStatus.OK) {
        throw new EngineError(
          errorCodeForBatchStatus(full.status),
          `${what} failed: ${full.detail}`,
        );
      }
      scan = full;
      if (recompress) {
        // the topic's compression.type (checked first: the producer's CRCs are verified above)
        const again = this.#recompress(records, full.count, full.positions, full.sizes, what);
        if (again !== records) {
          records = again;
          const rescan = scanBatches(records, { walkRecords: true, verifyCrc: true });
          if (rescan.status !== BatchStatus.OK) {
            throw new EngineError(
              ErrorCode.CORRUPT_MESSAGE,
              `${what} failed: recompressed batches do not validate: ${rescan.detail}`,
            );
          }
          scan = rescan;
        }
      }
    }
    const n = scan.count;
    const p: PendingAppend = {
      records,
      deferred,
      positions: new Array(n),
      sizes: new Array(n),
      lastOffsetDeltas: new Array(n),
      recordCounts: new Array(n),
      maxTimestamps: new Array(n),
      resolve: settleLater,
      reject: settleLater,
    };
    const cfg = this.#config;
    const now = Date.now();
    for (let i = 0; i < n; i++) {
      const size = scan.sizes[i];
      p.positions[i] = scan.positions[i];
      p.sizes[i] = size;
      p.lastOffsetDeltas[i] = scan.lastOffsetDeltas[i];
      p.recordCounts[i] = scan.recordCounts[i];
      p.maxTimestamps[i] = scan.maxTimestamps[i];
      if (scan.recordCounts[i] === 0) {
        throw new EngineError(
          ErrorCode.INVALID_RECORD,
          `${what} failed: batch ${i} at byte ${scan.positions[i]} has no records`,
        );
      }
      if (size > cfg.maxMessageBytes) {
        throw new EngineError(
          ErrorCode.MESSAGE_TOO_LARGE,
          `${what} failed: batch ${i} at byte ${scan.positions[i]} is ${size} bytes, ` +
            `larger than max.message.bytes ${cfg.maxMessageBytes}`,
        );
      }
      if (size > cfg.segmentBytes) {
        throw new EngineError(
          ErrorCode.RECORD_LIST_TOO_LARGE,
          `${what} failed: batch ${i} at byte ${scan.positions[i]} is ${size} bytes, ` +
            `larger than segment.bytes ${cfg.segmentBytes}`,
        );
      }
      const first = scan.firstTimestamps[i];
      const max = scan.maxTimestamps[i];
      if (!Number.isSafeInteger(first) || !Number.isSafeInteger(max)) {
        throw new EngineError(
          ErrorCode.INVALID_TIMESTAMP,
          `${what} failed: batch ${i} at byte ${scan.positions[i]} has a timestamp beyond ` +
            `±2^53 ms (base ${first}, max ${max})`,
        );
      }
      if (cfg.timestampType === "CreateTime") {
        if (first >= 0 && now - first > cfg.timestampBeforeMaxMs) {
          throw new EngineError(
            ErrorCode.INVALID_TIMESTAMP,
            `${what} failed: batch ${i} timestamp ${first} is more than ` +
              `message.timestamp.before.max.ms ${cfg.timestampBeforeMaxMs} before ${now}`,
          );
        }
        if (max - now > cfg.timestampAfterMaxMs) {
          throw new EngineError(
            ErrorCode.INVALID_TIMESTAMP,
            `${what} failed: batch ${i} timestamp ${max} is more than ` +
              `message.timestamp.after.max.ms ${cfg.timestampAfterMaxMs} after ${now}`,
          );
        }
      }
    }
    // after the size checks: opening the records decompresses them (bounded by their size)
    if (cfg.cleanupPolicy.includes("compact")) {
      checkCompactedKeys(records, scan.count, scan.positions, scan.sizes, what, this.#name); // log cleaner
    }
    // Kafka checks every record's timestamp; the headers above cannot show a record older than
    // the batch's first. Only opened when a limit could refuse a timestamp that fits in 2^53 ms
    // (the defaults, Long.MAX_VALUE, cannot).
    if (
      cfg.timestampType === "CreateTime" &&
      (cfg.timestampBeforeMaxMs < now + Number.MAX_SAFE_INTEGER ||
        cfg.timestampAfterMaxMs < Number.MAX_SAFE_INTEGER - now)
    ) {
      checkRecordTimestamps(
        records,
        scan.count,
        scan.positions,
        scan.sizes,
        now,
        cfg.timestampBeforeMaxMs,
        cfg.timestampAfterMaxMs,
        what,
      );
    }
    return p;
  }

  async #drain(): Promise<void> {
    this.#draining = true;
    try {
      while (this.#queue.length > 0) {
        const group = this.#queue.splice(0);
        await this.#mutex.run(() => this.#appendGroup(group));
      }
    } finally {
      this.#draining = false;
    }
  }

  #shouldRoll(
    seg: LogSegment,
    pending: number,
    size: number,
    lastOffset: number,
    maxTs: number,
  ): boolean {
    const cfg = this.#config;
    const segSize = seg.size + pending;
    if (segSize === 0) return lastOffset - seg.baseOffset > 2147483647;
    if (segSize + size > cfg.segmentBytes) return true;
    const waited = seg.firstBatchTimestamp >= 0
      ? maxTs - seg.firstBatchTimestamp
      : Date.now() - seg.createdMs;
    if (waited > cfg.segmentMs - this.#jitterMs) return true;
    if (seg.indexFull(cfg.segmentIndexBytes)) return true;
    return lastOffset - seg.baseOffset > 2147483647;
  }

  /**
   * Rolls to a new active segment at `newBase`. A failure to create it (a full disk) throws
   * with the old segment's state intact for the caller's undo; index and producer-snapshot files
   * that cannot be written are logged and written later (they are rebuilt from the log).
   */
  async #roll(newBase: number): Promise<void> {
    const old = this.#active;
    old.sealTimeIndex();
    old.deactivate();
    try {
      await this.#syncLog(old);
    } catch (e) {
      this.#goOffline(storageError(`roll of ${this.#name} failed: fsync failed`, e));
      throw e;
    }
    const indexesWritten = await this.#writeIndexes(old);
    let seg: LogSegment;
    try {
      seg = await LogSegment.create(this.dir, newBase, this.#hooks.handles);
    } catch (e) {
      // an empty file left by a create that failed half-way would become the active segment
      // at the next open, below the records still appended to the old one
      await removeIfExists(`${this.dir}/${offsetFileStem(newBase)}${LOG_FILE_SUFFIX}`)
        .catch(() => {});
      old.activate(this.#hooks.hotTailBytes ?? 0); // the old segment stays the active one
      throw e;
    }
    // the new .log file's directory entry must be durable before anything in it is acknowledged
    await syncDir(this.dir);
    seg.activate(this.#hooks.hotTailBytes ?? 0);
    this.#segments = [...this.#segments, seg];
    try {
      await this.#producers.takeSnapshot(newBase); // producer state as of the new segment
    } catch (e) {
      // only an optimisation: the loader rebuilds the state from an older snapshot and the log
      this.#throttled.log(
        "producer-snapshot",
        `${this.#name}: producer state snapshot at ${newBase} not written: ${errorText(e)}`,
      );
    }
    await this.#flushEpochs(); // a new partition's first epoch, if not written yet
    // Everything before the new segment is now fsynced (Kafka flushes on roll).
    if (indexesWritten && this.#segments.slice(0, -1).every((s) => !s.unsynced)) {
      this.#recoveryPoint = Math.max(this.#recoveryPoint, newBase);
    }
    this.#newJitter();
  }

  /** fsyncs a segment's `.log`; a failure is a {@linkcode SyncFailed}. */
  async #syncLog(seg: LogSegment): Promise<void> {
    try {
      await seg.syncLog();
    } catch (e) {
      throw new SyncFailed(e);
    }
  }

  /**
   * Writes a segment's index files; a failure (a full disk) is logged, not thrown: the files
   * are removed and written again at the next flush, roll or close, and a missing index is
   * rebuilt from the log at open.
   *
   * @returns Whether the files are written.
   */
  async #writeIndexes(seg: LogSegment): Promise<boolean> {
    try {
      await seg.writeIndexes(true);
      return true;
    } catch (e) {
      this.#throttled.log(
        "index",
        `${this.#name}: index files of segment ${seg.baseOffset} not written (written again ` +
          `at the next flush): ${errorText(e)}`,
      );
      return false;
    }
  }

  /** Takes the log offline (appends and reads refused until restart) and says why, once. */
  #goOffline(err: EngineError): EngineError {
    if (!this.#failed) {
      this.#failed = err;
      this.#hooks.logger?.(
        `${this.#name} is offline until restart (a restart re-validates it): ${err.message}`,
      );
    }
    return this.#failed;
  }

  #markAppend(): AppendMark {
    const active = this.#active;
    return {
      segmentCount: this.#segments.length,
      active,
      segment: active.mark(),
      recoveryPoint: this.#recoveryPoint,
    };
  }

  /**
   * Undoes an append whose write failed: deletes the segments it rolled, truncates the segment
   * that was active back to the last acknowledged byte (freeing the space the partial write
   * took; truncation needs no new space) and restores its offsets, indexes and hot tail. The
   * producer state never recorded the append. On a full disk (or no file descriptors) the log
   * stays online and the next append tries again; a failed fsync or any other I/O error takes
   * it offline.
   *
   * @returns The error for the append's request (KAFKA_STORAGE_ERROR).
   */
  async #undoAppend(mark: AppendMark, cause: unknown): Promise<EngineError> {
    const what = `append to ${this.#name} failed`;
    this.#producers.abortAppend();
    if (cause instanceof SyncFailed) {
      const err = storageError(`${what}: fsync failed`, cause.error);
      this.#goOffline(err);
      return err;
    }
    const err = storageError(what, cause);
    try {
      const rolled = this.#segments.slice(mark.segmentCount);
      this.#segments = this.#segments.slice(0, mark.segmentCount);
      for (const s of rolled) {
        await s.close();
        for (const p of [s.logPath, s.indexPath, s.timeIndexPath, s.txnIndexPath]) {
          await removeIfExists(p);
        }
        await this.#producers.removeSnapshot(s.baseOffset);
      }
      await mark.active.rollbackTo(mark.segment, this.#hooks.hotTailBytes ?? 0);
      this.#recoveryPoint = Math.min(this.#recoveryPoint, mark.recoveryPoint);
    } catch (e) {
      return this.#goOffline(
        storageError(`${err.message}; undoing the partial write failed too`, e),
      );
    }
    if (!isOutOfResources(cause)) return this.#goOffline(err);
    this.#spaceFailures++;
    this.#throttled.log(
      "append",
      `${err.message} (the partial write was undone; appends are retried as they come)`,
    );
    return err;
  }

  async #appendGroup(group: PendingAppend[]): Promise<void> {
    if (this.#failed || this.#closed) {
      const e = new EngineError(
        ErrorCode.KAFKA_STORAGE_ERROR,
        `append to ${this.#name} failed: log is ${this.#closed ? "closed" : "offline"}`,
      );
      for (const g of group) g.reject(e);
      return;
    }
    const results: (AppendResult | EngineError)[] = new Array(group.length);
    let next = this.#leo;
    let messages = 0;
    // Requests written together (issue #17): consecutive requests whose batches need no roll
    // share one segment write, and are kept or failed together.
    const shared = new SharedWrite();
    const writeShared = async (): Promise<void> => {
      if (shared.members.length === 0) return;
      try {
        await this.#writeShared(shared);
        // only the last member may have producer state staged (see below)
        this.#indexAborted(this.#producers.commitAppend());
        for (let k = 0; k < shared.members.length; k++) {
          results[shared.members[k]] = shared.results[k];
        }
      } catch (e) {
        next = shared.next;
        messages = shared.messages;
        const err = await this.#undoAppend(shared.mark!, e);
        for (const m of shared.members) results[m] = err;
      }
      shared.clear();
    };
    try {
      const cfg = this.#config;
      for (let g = 0; g < group.length; g++) {
        const req = group[g];
        if (this.#failed) {
          results[g] = this.#failed;
          continue;
        }
        const n = req.sizes.length;
        // idempotent producers: a duplicate gets its original offsets; bad sequence/epoch fails
        const dup = this.#checkProducers(req, next);
        if (dup) {
          results[g] = dup;
          continue;
        }
        let check = req.deferred ? () => this.#checkDeferred(req) : undefined;
        if (check && cfg.timestampType === "LogAppendTime") {
          // the topic switched to LogAppendTime since validation: check before stamping
          try {
            check();
          } catch (e) {
            if (!(e instanceof DeferredCheckFailed)) throw e;
            results[g] = e.error;
            continue;
          }
          check = undefined;
        }
        let logAppendTime = -1;
        if (cfg.timestampType === "LogAppendTime") {
          logAppendTime = Date.now();
          for (let i = 0; i < n; i++) {
            stampLogAppendTimeAt(req.records, req.positions[i], logAppendTime);
            req.maxTimestamps[i] = logAppendTime;
          }
        }
        if (check === undefined) {
          const bytes = req.positions[n - 1] + req.sizes[n - 1] - req.positions[0];
          if (shared.bytes + bytes > SHARED_WRITE_BYTES) await writeShared();
          if (!this.#failed && !this.#rollsWithin(req, shared.bytes, next)) {
            if (shared.members.length === 0) {
              shared.mark = this.#markAppend();
              shared.next = next;
              shared.messages = messages;
            }
            const first = next;
            let recordCount = 0;
            for (let i = 0; i < n; i++) {
              const last = next + req.lastOffsetDeltas[i];
              setBaseOffsetAt(req.records, req.positions[i], next);
              setPartitionLeaderEpochAt(req.records, req.positions[i], this.#leaderEpoch);
              shared.sizes.push(req.sizes[i]);
              shared.bases.push(next);
              shared.lasts.push(last);
              shared.maxTimestamps.push(req.maxTimestamps[i]);
              next = last + 1;
              recordCount += req.recordCounts[i];
            }
            messages += recordCount;
            shared.members.push(g);
            shared.requests.push(req);
            shared.bytes += bytes;
            shared.results.push({
              baseOffset: first,
              lastOffset: next - 1,
              logAppendTime,
              logStartOffset: 0,
              recordCount,
            });
            // producer state staged by this request is committed once it is written, before the
            // next request is checked against it
            if (this.#producers.staged) await writeShared();
            continue;
          }
          if (this.#failed) {
            results[g] = this.#failed;
            continue;
          }
        }
        // a request that rolls or is checked while written: alone, after the shared write
        await writeShared();
        const first = next;
        const messagesBefore = messages;
        const mark = this.#markAppend();
        let spanStart = 0;
        let spanBytes = 0;
        let bases: number[] = [];
        let lasts: number[] = [];
        try {
          for (let i = 0; i < n; i++) {
            const last = next + req.lastOffsetDeltas[i];
            if (
              this.#shouldRoll(this.#active, spanBytes, req.sizes[i], last, req.maxTimestamps[i])
            ) {
              if (i > spanStart) {
                await this.#writeSpan(req, spanStart, i, bases, lasts, check);
                check = undefined;
                bases = [];
                lasts = [];
              }
              spanStart = i;
              spanBytes = 0;
              await this.#roll(next);
            }
            spanBytes += req.sizes[i];
            setBaseOffsetAt(req.records, req.positions[i], next);
            setPartitionLeaderEpochAt(req.records, req.positions[i], this.#leaderEpoch);
            bases.push(next);
            lasts.push(last);
            next = last + 1;
            messages += req.recordCounts[i];
          }
          await this.#writeSpan(req, spanStart, n, bases, lasts, check);
        } catch (e) {
          next = first;
          messages = messagesBefore;
          // a deferred check failed during the first write: nothing of this request was kept
          if (e instanceof DeferredCheckFailed) results[g] = e.error;
          else results[g] = await this.#undoAppend(mark, e);
          continue;
        }
        // producers: record the written batches; index the transactions ABORT markers ended
        this.#indexAborted(this.#producers.commitAppend());
        results[g] = {
          baseOffset: first,
          lastOffset: next - 1,
          logAppendTime,
          logStartOffset: 0,
          recordCount: req.recordCounts.reduce((a, b) => a + b, 0),
        };
      }
      await writeShared();
      this.#unflushedMessages += messages;
      if (
        !this.#failed && (this.#unflushedMessages >= cfg.flushMessages ||
          Date.now() - this.#lastFlushMs >= cfg.flushMs)
      ) {
        await this.#flushLocked(next, false);
      }
    } catch (e) {
      // a failed fsync (or a bug): nothing of the group is acknowledged
      const err = this.#goOffline(
        e instanceof SyncFailed
          ? storageError(`append to ${this.#name} failed: fsync failed`, e.error)
          : storageError(`append to ${this.#name} failed`, e),
      );
      this.#producers.abortAppend();
      for (const g of group) g.reject(err);
      return;
    }
    if (this.#failed) {
      // offline half-way through the group: what the earlier requests wrote may not be on disk
      for (let i = 0; i < group.length; i++) {
        const r = results[i];
        group[i].reject(r instanceof EngineError ? r : this.#failed);
      }
      return;
    }
    if (next !== this.#leo && this.#spaceFailures > 0) {
      this.#throttled.log(
        "append-resumed",
        `appends to ${this.#name} work again after ${this.#spaceFailures} failed for lack of ` +
          `space`,
      );
      this.#spaceFailures = 0;
    }
    const moved = next !== this.#leo;
    this.#leo = next;
    if (!this.#replicated) this.#hw = next; // replicated: the replication layer moves it
    for (let i = 0; i < group.length; i++) {
      const r = results[i];
      if (r instanceof EngineError) {
        group[i].reject(r);
      } else {
        r.logStartOffset = this.#lso;
        group[i].resolve(r);
      }
    }
    if (moved) this.#hooks.onAppend?.(next);
  }

  /** Producer-state check of one append: a duplicate's result, an error, or undefined. */
  #checkProducers(req: PendingAppend, next: number): AppendResult | EngineError | undefined {
    try {
      const what = this.#appendWhat ??= `append to ${this.#name}`;
      const d = this.#producers.checkAppend(req.records, req.positions, next, what);
      if (!d) return undefined;
      return {
        baseOffset: d.firstOffset,
        lastOffset: d.lastOffset,
        logAppendTime: this.#config.timestampType === "LogAppendTime" ? d.timestamp : -1,
        logStartOffset: 0,
        recordCount: d.lastOffset - d.firstOffset + 1,
      };
    } catch (e) {
      if (e instanceof EngineError) return e;
      throw e;
    }
  }

  /** The full WASM check of a deferred append (CRC-32C, records). */
  #checkDeferred(req: PendingAppend): void {
    const scan = scanBatches(req.records, { walkRecords: true, verifyCrc: true });
    const what = `append to ${this.#name} failed`;
    if (scan.status !== BatchStatus.OK) {
      const code = errorCodeForBatchStatus(scan.status);
      throw new DeferredCheckFailed(new EngineError(code, `${what}: ${scan.detail}`));
    }
    if (scan.count !== req.sizes.length) {
      throw new DeferredCheckFailed(
        new EngineError(
          ErrorCode.CORRUPT_MESSAGE,
          `${what}: ${scan.count} batches found, ${req.sizes.length} in the headers read first`,
        ),
      );
    }
  }

  /**
   * Whether appending `req` after `pending` bytes not yet written, its first batch at offset
   * `next`, would roll the active segment before one of its batches.
   */
  #rollsWithin(req: PendingAppend, pending: number, next: number): boolean {
    for (let i = 0; i < req.sizes.length; i++) {
      const last = next + req.lastOffsetDeltas[i];
      if (this.#shouldRoll(this.#active, pending, req.sizes[i], last, req.maxTimestamps[i])) {
        return true;
      }
      pending += req.sizes[i];
      next = last + 1;
    }
    return false;
  }

  /**
   * Writes the batches of a shared write with one segment write: a lone request's own bytes
   * (which the hot tail may keep), several requests' copied into one buffer.
   */
  async #writeShared(w: SharedWrite): Promise<void> {
    const cfg = this.#config;
    if (w.requests.length === 1) {
      const req = w.requests[0];
      const n = req.sizes.length;
      const bytes = req.records.subarray(req.positions[0], req.positions[n - 1] + req.sizes[n - 1]);
      await this.#active.append(
        bytes,
        w.sizes,
        w.bases,
        w.lasts,
        w.maxTimestamps,
        cfg.indexIntervalBytes,
        undefined,
        req.keep,
      );
      return;
    }
    let buf = sharedScratch;
    sharedScratch = undefined;
    if (buf === undefined || buf.length < w.bytes) {
      buf = new Uint8Array(Math.max(64 * 1024, 2 ** Math.ceil(Math.log2(w.bytes))));
    }
    try {
      let at = 0;
      for (const req of w.requests) {
        const n = req.sizes.length;
        const from = req.positions[0];
        const to = req.positions[n - 1] + req.sizes[n - 1];
        buf.set(req.records.subarray(from, to), at);
        at += to - from;
      }
      // the hot tail copies what it keeps before the buffer is lent again
      await this.#active.append(
        buf.subarray(0, at),
        w.sizes,
        w.bases,
        w.lasts,
        w.maxTimestamps,
        cfg.indexIntervalBytes,
      );
    } finally {
      if (buf.length <= SHARED_WRITE_BYTES) sharedScratch = buf;
    }
  }

  async #writeSpan(
    req: PendingAppend,
    from: number,
    to: number,
    bases: number[],
    lasts: number[],
    duringWrite?: () => void,
  ): Promise<void> {
    if (to <= from) return;
    const start = req.positions[from];
    const end = req.positions[to - 1] + req.sizes[to - 1];
    await this.#active.append(
      req.records.subarray(start, end),
      req.sizes.slice(from, to),
      bases,
      lasts,
      req.maxTimestamps.slice(from, to),
      this.#config.indexIntervalBytes,
      duringWrite,
      req.keep,
    );
  }

  /**
   * fsyncs every segment (a failure throws {@linkcode SyncFailed}), then writes the index files
   * that changed (failures logged, retried at the next flush). The recovery point moves to
   * `upTo` only when both worked.
   *
   * @returns Whether every index file is written.
   */
  async #flushLocked(upTo: number, writeActiveIndexes: boolean): Promise<boolean> {
    const segs = this.#segments;
    for (const s of segs) await this.#syncLog(s);
    this.#unflushedMessages = 0;
    this.#lastFlushMs = Date.now();
    let indexesWritten = true;
    for (const s of segs) {
      if (s !== this.#active || writeActiveIndexes) {
        indexesWritten = (await this.#writeIndexes(s)) && indexesWritten;
      }
    }
    if (indexesWritten) this.#recoveryPoint = Math.max(this.#recoveryPoint, upTo);
    await this.#flushEpochs();
    return indexesWritten;
  }

  /**
   * fsyncs every segment and writes the index files; the recovery point becomes the LEO. Index
   * files that cannot be written (a full disk) are logged and written at the next flush.
   *
   * @throws {EngineError} KAFKA_STORAGE_ERROR if an fsync failed: the log is then offline until
   * restart, as what reached the disk is unknown.
   */
  flush(): Promise<void> {
    return this.#mutex.run(async () => {
      if (this.#closed || this.#failed) return;
      try {
        await this.#flushLocked(this.#leo, true);
      } catch (e) {
        throw this.#goOffline(
          storageError(`flush of ${this.#name} failed`, e instanceof SyncFailed ? e.error : e),
        );
      }
    });
  }

  /**
   * Flushes if `flush.ms` has elapsed since the last flush (called by the manager's timer).
   *
   * @param now Current time.
   */
  async maybeFlushByTime(now: number): Promise<void> {
    if (this.#unflushedMessages > 0 && now - this.#lastFlushMs >= this.#config.flushMs) {
      await this.flush();
    }
  }

  /**
   * Reads whole batches starting with the one containing `offset`, up to `maxBytes` (always at
   * least one whole batch when one exists at or after `offset`). Reads never cross a segment
   * boundary: the next read continues in the next segment.
   *
   * @param offset First offset wanted.
   * @param maxBytes Byte budget.
   * @param options `maxOffset`: exclusive bound on base offsets (default: the high watermark);
   * `allocate`: where bytes copied out of the hot tail go.
   * @returns The bytes as stored, the high watermark and the log start offset.
   * @throws {EngineError} OFFSET_OUT_OF_RANGE if `offset` is outside
   * [logStartOffset, logEndOffset]; INVALID_REQUEST for a bad `maxBytes`;
   * KAFKA_STORAGE_ERROR on I/O failure.
   *
   * @example
   * ```ts ignore
   * const { records, highWatermark } = await log.read(0, 1 << 20);
   * ```
   */
  async read(offset: number, maxBytes: number, options: ReadOptions = {}): Promise<ReadResult> {
    const what = `read from ${this.#name}`;
    this.#checkReadOffset(what, offset);
    const lso = this.#lso;
    const leo = this.#leo;
    const hw = this.#hw;
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) {
      throw new EngineError(ErrorCode.INVALID_REQUEST, `${what} failed: bad maxBytes ${maxBytes}`);
    }
    const limit = Math.min(options.maxOffset ?? hw, leo);
    const empty = { records: new Uint8Array(0), highWatermark: hw, logStartOffset: lso };
    if (offset >= limit) return empty;
    const segs = this.#segments;
    let i = floorSegment(segs, offset);
    try {
      for (; i < segs.length; i++) {
        const r = await segs[i].read(
          Math.max(offset, segs[i].baseOffset),
          maxBytes,
          limit,
          options.allocate,
        );
        if (r) return { records: r, highWatermark: hw, logStartOffset: lso };
      }
    } catch (e) {
      throw storageError(`${what} failed`, e);
    }
    return empty;
  }

  /** Open log and `offset` within [logStartOffset, logEndOffset], else the read's error. */
  #checkReadOffset(what: string, offset: number): void {
    this.#check(what);
    if (!Number.isSafeInteger(offset) || offset < this.#lso || offset > this.#leo) {
      throw new EngineError(
        ErrorCode.OFFSET_OUT_OF_RANGE,
        `${what} failed: offset ${offset} is outside [${this.#lso}, ${this.#leo}]`,
      );
    }
  }

  /**
   * Like {@linkcode PartitionLog.read} but copies into a caller-owned buffer (no allocation, for
   * fetch paths that reuse buffers). Whole batches only: when the first batch does not fit,
   * `bytes` is 0 and `firstBatchSize` says how large `dest` must be.
   *
   * @param offset First offset wanted.
   * @param dest Destination; its length is the byte budget.
   * @param options `maxOffset`: exclusive bound on base offsets (default: the high watermark).
   * @returns Bytes written to `dest`, the first batch's size (0 if none), HW and log start.
   * @throws {EngineError} OFFSET_OUT_OF_RANGE, KAFKA_STORAGE_ERROR.
   *
   * @example
   * ```ts ignore
   * const buf = new Uint8Array(1 << 20);
   * const { bytes } = await log.readInto(0, buf);
   * const records = buf.subarray(0, bytes);
   * ```
   */
  async readInto(
    offset: number,
    dest: Uint8Array,
    options: ReadOptions = {},
  ): Promise<ReadIntoResult> {
    const what = `read from ${this.#name}`;
    this.#checkReadOffset(what, offset);
    const lso = this.#lso;
    const leo = this.#leo;
    const hw = this.#hw;
    if (!(dest instanceof Uint8Array) || dest.length < BATCH_HEADER_SIZE) {
      throw new EngineError(
        ErrorCode.INVALID_REQUEST,
        `${what} failed: destination buffer must hold at least ${BATCH_HEADER_SIZE} bytes`,
      );
    }
    const limit = Math.min(options.maxOffset ?? hw, leo);
    const result = { bytes: 0, firstBatchSize: 0, highWatermark: hw, logStartOffset: lso };
    if (offset >= limit) return result;
    const segs = this.#segments;
    try {
      for (let i = floorSegment(segs, offset); i < segs.length; i++) {
        const r = await segs[i].readInto(Math.max(offset, segs[i].baseOffset), dest, limit);
        if (r) return { ...result, ...r };
      }
    } catch (e) {
      throw storageError(`${what} failed`, e);
    }
    return result;
  }

  /**
   * ListOffsets v0's answer (Kafka's `UnifiedLog.legacyFetchOffsetsBefore`): offsets by segment,
   * not by record timestamp. Each segment contributes its base offset (at least the log start
   * offset) with its last write time, and a non-empty active segment adds the log end offset
   * with `now`. -1 (latest) starts from the last entry, -2 (earliest) from the first, any other
   * timestamp from the last entry written at or before it; up to `maxNumOffsets` offsets from
   * there back to the oldest, largest first. A time before every segment's last write finds
   * none.
   *
   * @param timestamp Target time in ms, or -1/-2.
   * @param maxNumOffsets How many offsets at most (v0's `max_num_offsets`).
   * @param now The current time (the log end offset's entry).
   * @returns The offsets, in descending order.
   *
   * @example
   * ```ts ignore
   * const [latest, ...segmentBases] = log.legacyOffsetsBefore(-1, 10);
   * ```
   */
  legacyOffsetsBefore(
    timestamp: number,
    maxNumOffsets: number,
    now: number = Date.now(),
  ): number[] {
    const entries: Array<[offset: number, time: number]> = this.#segments.map((seg) => [
      Math.max(seg.baseOffset, this.#lso),
      seg.lastModifiedMs,
    ]);
    if (this.#segments[this.#segments.length - 1].size > 0) entries.push([this.#leo, now]);
    let start: number;
    if (timestamp === -1) start = entries.length - 1;
    else if (timestamp === -2) start = 0;
    else {
      start = entries.length - 1;
      while (start >= 0 && entries[start][1] > timestamp) start--;
    }
    const out: number[] = [];
    for (let i = start; i >= 0 && out.length < maxNumOffsets; i--) out.push(entries[i][0]);
    return out.sort((a, b) => b - a);
  }

  /**
   * Finds the first offset whose record timestamp is >= `timestamp`. Kafka's special values are
   * handled here: -2 (earliest) -> log start offset, -1 (latest) -> log end offset, -3 (max
   * timestamp) -> the first record with the largest timestamp, as Kafka 3.8+ answers (timestamps
   * are -1 for the specials -1/-2).
   *
   * @param timestamp Target timestamp in ms, or -1/-2/-3.
   * @returns The offset and the record's timestamp, or `null` if no record is that recent.
   * @throws {EngineError} INVALID_REQUEST for a timestamp that is not an integer >= -3;
   * KAFKA_STORAGE_ERROR on I/O failure.
   *
   * @example
   * ```ts ignore
   * const hit = await log.offsetForTime(Date.now() - 60_000);
   * ```
   */
  async offsetForTime(timestamp: number): Promise<OffsetAndTimestamp | null> {
    this.#check(`offsetForTime on ${this.#name}`);
    if (!Number.isSafeInteger(timestamp) || timestamp < -3) {
      throw new EngineError(
        ErrorCode.INVALID_REQUEST,
        `offsetForTime on ${this.#name} failed: bad timestamp ${timestamp}`,
      );
    }
    if (timestamp === -2) return { offset: this.#lso, timestamp: -1 };
    if (timestamp === -1) return { offset: this.#leo, timestamp: -1 };
    const segs = this.#segments;
    try {
      if (timestamp === -3) {
        // Kafka 3.8+ (KAFKA-16310): the first record carrying the largest timestamp, found in
        // the first batch of the first segment that holds it; not the batch's last offset.
        let best: LogSegment | null = null;
        for (const s of segs) {
          if (s.maxTimestamp >= 0 && (!best || s.maxTimestamp > best.maxTimestamp)) best = s;
        }
        if (!best) return null;
        const batch = await best.findByTimestamp(best.maxTimestamp);
        const hit = batch
          ? recordAtOrAfter(batch, best.maxTimestamp)
          : { offset: best.offsetOfMaxTimestamp, timestamp: best.maxTimestamp };
        return hit.offset >= this.#lso ? hit : null;
      }
      for (const s of segs) {
        if (s.size === 0 || s.maxTimestamp < timestamp) continue;
        const batch = await s.findByTimestamp(timestamp);
        if (!batch) continue;
        const hit = recordAtOrAfter(batch, timestamp);
        if (hit.offset < this.#lso) {
          return { offset: this.#lso, timestamp: hit.timestamp };
        }
        return hit;
      }
    } catch (e) {
      throw storageError(`offsetForTime on ${this.#name} failed`, e);
    }
    return null;
  }

  /**
   * Moves the log start offset forward (DeleteRecords) and deletes whole segments below it.
   * `-1` means the high watermark.
   *
   * @param offset New log start offset.
   * @returns The log start offset afterwards.
   * @throws {EngineError} OFFSET_OUT_OF_RANGE if `offset` is above the high watermark.
   */
  deleteRecordsBefore(offset: number): Promise<number> {
    return this.#mutex.run(async () => {
      const what = `delete records of ${this.#name}`;
      this.#check(what);
      const target = offset === -1 ? this.#hw : offset;
      if (!Number.isSafeInteger(target) || target < 0 || target > this.#hw) {
        throw new EngineError(
          ErrorCode.OFFSET_OUT_OF_RANGE,
          `${what} failed: offset ${offset} is outside [0, ${this.#hw}]`,
        );
      }
      if (target <= this.#lso) return this.#lso;
      this.#lso = target;
      const doomed: LogSegment[] = [];
      while (this.#segments.length - doomed.length > 1) {
        const nextSeg = this.#segments[doomed.length + 1];
        if (nextSeg.baseOffset > target) break;
        doomed.push(this.#segments[doomed.length]);
      }
      await this.#deleteSegments(doomed, `log start offset moved to ${target}`);
      this.#epochs.truncateFromStart(this.#lso);
      await this.#flushEpochs();
      this.#hooks.onLogStartOffset?.(this.#lso);
      return this.#lso;
    });
  }

  /**
   * Applies `retention.ms` (by each segment's largest timestamp) and `retention.bytes`, deleting
   * whole segments from the oldest. The active segment goes too when it is past retention and
   * every record in it is below the high watermark (Kafka rolls it first, so an expired log ends
   * empty with its start offset at its end offset). The log start offset advances.
   *
   * @param now Current time in ms.
   * @returns Number of segments deleted.
   */
  runRetention(now: number = Date.now()): Promise<number> {
    return this.#mutex.run(async () => {
      if (this.#closed || this.#failed) return 0;
      this.#producers.removeExpired(now); // producer.id.expiration.ms
      const cfg = this.#config;
      if (!cfg.cleanupPolicy.includes("delete")) return 0;
      const segs = this.#segments;
      const doomed: LogSegment[] = [];
      let total = 0;
      for (const s of segs) total += s.size;
      for (let i = 0; i < segs.length; i++) {
        const s = segs[i];
        const active = i === segs.length - 1;
        // the active segment only when it holds records and all of them are below the HW
        if (active && (s.size === 0 || s.nextOffset > this.#hw)) break;
        const byTime = cfg.retentionMs >= 0 && now - s.largestTimestamp > cfg.retentionMs;
        const bySize = cfg.retentionBytes >= 0 && total - s.size >= cfg.retentionBytes;
        const byStart = active ? false : segs[i + 1].baseOffset <= this.#lso;
        if (!byTime && !bySize && !byStart) break;
        doomed.push(s);
        total -= s.size;
      }
      if (doomed.length === 0) return 0;
      // Deleting the active segment: roll first, so the log keeps an (empty) active segment.
      if (doomed.length === segs.length) await this.#roll(this.#leo);
      await this.#deleteSegments(doomed, "retention");
      const newStart = Math.max(this.#lso, this.#segments[0].baseOffset);
      if (newStart !== this.#lso) {
        this.#lso = newStart;
        this.#epochs.truncateFromStart(newStart);
        await this.#flushEpochs();
        this.#hooks.onLogStartOffset?.(newStart);
      }
      return doomed.length;
    });
  }

  /**
   * Removes every batch whose last offset is >= `offset` (so the new LEO is the base offset of the
   * first removed batch; the log start offset is lowered to it if needed). Below the log start
   * offset the log is emptied and restarts at `offset`.
   *
   * @param offset First offset to remove.
   * @throws {EngineError} KAFKA_STORAGE_ERROR on I/O failure.
   */
  truncateTo(offset: number): Promise<void> {
    return this.#mutex.run(async () => {
      const what = `truncate ${this.#name}`;
      this.#check(what);
      if (!Number.isSafeInteger(offset) || offset < 0) {
        throw new EngineError(ErrorCode.INVALID_REQUEST, `${what} failed: bad offset ${offset}`);
      }
      if (offset >= this.#leo) return;
      try {
        if (offset < this.#lso || offset <= this.#segments[0].baseOffset) {
          await this.#restartAt(offset, `truncated to ${offset}`);
        } else {
          const keep = this.#segments.filter((s) => s.baseOffset < offset);
          const drop = this.#segments.slice(keep.length);
          this.#segments = keep;
          await this.#deleteSegments(drop, `truncated to ${offset}`, false);
          const seg = this.#active;
          seg.deactivate();
          this.#leo = await seg.truncateTo(offset, this.#config.indexIntervalBytes);
          seg.activate(this.#hooks.hotTailBytes ?? 0);
          await seg.syncLog();
          if (this.#lso > this.#leo) {
            this.#lso = this.#leo;
            this.#hooks.onLogStartOffset?.(this.#lso);
          }
        }
        // replicated: the HW stays where it was unless the log is now shorter
        this.#hw = this.#replicated
          ? Math.max(this.#lso, Math.min(this.#hw, this.#leo))
          : this.#leo;
        this.#recoveryPoint = Math.min(this.#recoveryPoint, this.#leo);
        // leader epochs: none may start past the new end (a follower's divergent tail)
        this.#epochs.truncateFromEnd(this.#leo);
        this.#epochs.truncateFromStart(this.#lso);
        // standalone: the broker leads in its epoch; a replica's epochs come from its batches
        if (!this.#replicated && this.#epochs.latestEpoch < this.#leaderEpoch) {
          this.#epochs.assign(this.#leaderEpoch, this.#leo);
        }
        await this.#epochs.flush();
        // idempotent producers: rebuild the state of the shorter log
        await this.#producers.truncateAndReload(this.#segments, this.#lso, this.#leo);
      } catch (e) {
        this.#failed = storageError(`${what} failed`, e);
        throw this.#failed;
      }
    });
  }

  /**
   * Empties the log and restarts it at `offset` with one empty segment (log start and end
   * offsets both `offset`). The caller holds the lock and fixes up HW, epochs and producers.
   */
  async #restartAt(offset: number, reason: string): Promise<void> {
    const all = this.#segments;
    this.#segments = [];
    // rename the old files first: the new segment may reuse a base offset
    await this.#deleteSegments(all, reason, false);
    const seg = await LogSegment.create(this.dir, offset, this.#hooks.handles);
    this.#segments = [seg];
    seg.activate(this.#hooks.hotTailBytes ?? 0);
    this.#lso = offset;
    this.#leo = offset;
    this.#hooks.onLogStartOffset?.(offset);
  }

  /**
   * Empties the log and restarts it at `offset` (Kafka's `truncateFullyAndStartAt`): a
   * follower whose log ends before the leader's log start offset, which it can no longer fetch
   * from. Every segment, producer snapshot and leader epoch goes; the log start, log end and
   * high watermark become `offset`.
   *
   * @param offset The new start (and end) offset.
   * @throws {EngineError} INVALID_REQUEST for a bad offset; KAFKA_STORAGE_ERROR on I/O failure
   * (the log is then offline).
   */
  truncateFullyAndStartAt(offset: number): Promise<void> {
    return this.#mutex.run(async () => {
      const what = `truncate ${this.#name} fully to start at ${offset}`;
      this.#check(what);
      if (!Number.isSafeInteger(offset) || offset < 0) {
        throw new EngineError(ErrorCode.INVALID_REQUEST, `${what} failed: bad offset ${offset}`);
      }
      try {
        await this.#restartAt(offset, `truncated fully to start at ${offset}`);
        this.#hw = offset;
        this.#recoveryPoint = offset;
        this.#epochs.clear();
        if (!this.#replicated) this.#epochs.assign(this.#leaderEpoch, offset);
        await this.#epochs.flush();
        await this.#producers.truncateAndReload(this.#segments, this.#lso, this.#leo);
      } catch (e) {
        this.#failed = storageError(`${what} failed`, e);
        throw this.#failed;
      }
    });
  }

  async #deleteSegments(segs: LogSegment[], reason: string, splice = true): Promise<void> {
    if (segs.length === 0) return;
    // replace, never mutate, the array: reads in flight iterate over their own snapshot
    if (splice) this.#segments = this.#segments.slice(segs.length);
    for (const s of segs) {
      this.#hooks.logger?.(
        `${this.#name}: deleting segment ${s.baseOffset} (${s.size} bytes): ${reason}`,
      );
      const paths = await s.renameToDeleted();
      const id = this.#deleteSeq++;
      this.#pendingDeletes.set(id, { segment: s, paths });
      const delay = this.#config.fileDeleteDelayMs;
      if (delay <= 0) {
        await this.#finishDelete(id);
      } else {
        const t = setTimeout(() => this.#finishDelete(id).catch(() => {}), delay);
        Deno.unrefTimer(t);
        this.#timers.set(id, t);
      }
    }
    // producer snapshots of deleted segments go too
    if (splice) await this.#producers.deleteSnapshotsBefore(this.#segments[0].baseOffset);
  }

  // ---- log cleaner (cleaner.ts) ------------------------------------------------------------

  /**
   * For the log cleaner: the current segments, oldest first (a copy; the last is active).
   *
   * @returns The segments.
   * @ignore
   */
  segmentsSnapshot(): LogSegment[] {
    return this.#segments.slice();
  }

  /**
   * For the log cleaner: each producer's last batch, which compaction keeps so that the producer
   * state survives it (Kafka's `lastRecordsOfActiveProducers`).
   *
   * @returns Producer id -> last data offset and epoch.
   * @ignore
   */
  producerLastRecords(): Map<number, ProducerLastRecord> {
    return this.#producers.lastRecords();
  }

  /**
   * For the log cleaner: replaces the consecutive non-active segments `old` by `replacement`,
   * under the log's lock. `commit` moves the files (crash-safe swap) and returns the `.deleted`
   * paths of each old segment, deleted after `file.delete.delay.ms`. Reads in flight keep their
   * snapshot of the old segments (their files stay open until then).
   *
   * @param old Segments to replace (must still be in the log, consecutive, not the active one).
   * @param replacement The cleaned segment.
   * @param commit Performs the on-disk swap.
   * @returns `false` (nothing done) if the log closed or the segments changed meanwhile.
   * @throws {EngineError} KAFKA_STORAGE_ERROR if `commit` failed (the log goes offline if the
   * swap was committed on disk).
   * @ignore
   */
  replaceSegments(
    old: LogSegment[],
    replacement: LogSegment,
    commit: () => Promise<string[][]>,
  ): Promise<boolean> {
    return this.#mutex.run(async () => {
      if (this.#closed || this.#failed || old.length === 0) return false;
      const at = this.#segments.indexOf(old[0]);
      if (at < 0 || at + old.length >= this.#segments.length) return false;
      for (let i = 0; i < old.length; i++) if (this.#segments[at + i] !== old[i]) return false;
      let paths: string[][];
      try {
        paths = await commit();
      } catch (e) {
        const err = storageError(`compaction of ${this.#name} failed`, e);
        if ((e as { committed?: boolean }).committed) this.#failed = err;
        throw err;
      }
      replacement.useHandleCache(this.#hooks.handles);
      const i = this.#segments.indexOf(old[0]);
      this.#segments = [
        ...this.#segments.slice(0, i),
        replacement,
        ...this.#segments.slice(i + old.length),
      ];
      for (let k = 0; k < old.length; k++) {
        const id = this.#deleteSeq++;
        this.#pendingDeletes.set(id, { segment: old[k], paths: paths[k] });
        const delay = this.#config.fileDeleteDelayMs;
        if (delay <= 0) await this.#finishDelete(id);
        else {
          const t = setTimeout(() => this.#finishDelete(id).catch(() => {}), delay);
          Deno.unrefTimer(t);
          this.#timers.set(id, t);
        }
      }
      return true;
    });
  }

  // ---- end of log cleaner --------------------------------------------------------------------

  #timers = new Map<number, ReturnType<typeof setTimeout>>();

  async #finishDelete(id: number): Promise<void> {
    const d = this.#pendingDeletes.get(id);
    if (!d) return;
    this.#pendingDeletes.delete(id);
    const t = this.#timers.get(id);
    if (t !== undefined) clearTimeout(t);
    this.#timers.delete(id);
    await d.segment.close();
    for (const p of d.paths) await removeIfExists(p);
  }

  /**
   * Flushes, seals the active segment's time index, writes all indexes and closes every file.
   * Idempotent. With `flush: false` (the topic is being deleted) it only closes the files.
   *
   * @param options `flush` (default true): fsync and write indexes and the producer snapshot.
   * @throws {EngineError} KAFKA_STORAGE_ERROR if the flush failed (the files are closed anyway;
   * the data dir must then not be marked as cleanly shut down).
   */
  close(options: { flush?: boolean } = {}): Promise<void> {
    return this.#mutex.run(async () => {
      if (this.#closed) return;
      let err: unknown;
      try {
        if (!this.#failed && options.flush !== false) {
          this.#active.sealTimeIndex();
          if (!(await this.#flushLocked(this.#leo, true))) {
            throw new Error("index files could not be written");
          }
          // producer state at clean shutdown (none to keep if the log never held a record)
          if (this.#leo > 0 || this.#producers.size > 0) {
            await this.#producers.takeSnapshot(this.#leo);
          }
        }
      } catch (e) {
        err = e instanceof SyncFailed ? e.error : e;
      }
      this.#closed = true;
      for (const id of [...this.#pendingDeletes.keys()]) await this.#finishDelete(id);
      for (const s of this.#segments) await s.close();
      for (const g of this.#queue.splice(0)) {
        g.reject(
          new EngineError(
            ErrorCode.KAFKA_STORAGE_ERROR,
            `append to ${this.#name} failed: log is closed`,
          ),
        );
      }
      if (err) throw storageError(`close of ${this.#name} failed`, err);
      if (this.#failed && options.flush !== false) {
        // not a clean shutdown: the next open must re-validate the log from its recovery point
        throw new EngineError(
          ErrorCode.KAFKA_STORAGE_ERROR,
          `close of ${this.#name} failed: log is offline: ${this.#failed.message}`,
        );
      }
    });
  }
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Index of the last segment whose base offset is <= `offset` (0 if none). */
function floorSegment(segs: LogSegment[], offset: number): number {
  let lo = 0;
  let hi = segs.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    if (segs[mid].baseOffset <= offset) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/**
 * The first record of a stored batch whose timestamp is >= `timestamp` (the batch's maxTimestamp
 * must be >= `timestamp`), with its timestamp; compressed batches are opened (Kafka's
 * `LogSegment.findOffsetByTimestamp`). LogAppendTime batches give every record their maxTimestamp,
 * so their first record. A batch that cannot be opened within 64 times its size (a compression
 * bomb a client stored) answers with its base offset and maxTimestamp instead.
 */
function recordAtOrAfter(batch: Uint8Array, timestamp: number): OffsetAndTimestamp {
  try {
    const r = readRecords(batch, 0, {
      verifyCrc: false,
      maxDecompressedBytes: Math.max(1 << 20, 64 * batch.length),
    });
    while (r.next()) {
      if (r.timestamp >= timestamp) return { offset: r.offset, timestamp: r.timestamp };
    }
  } catch (e) {
    if (!(e instanceof RecordsError)) throw e;
  }
  return { offset: baseOffsetAt(batch, 0), timestamp: maxTimestampAt(batch, 0) };
}
