/**
 * The log cleaner: compaction of logs whose `cleanup.policy` includes `compact` (Kafka's
 * `LogCleaner`, simplified). One pass over a log:
 *
 * 1. The cleanable range is every non-active segment up to the first one holding a record newer
 *    than `min.compaction.lag.ms` or an offset at or after the last stable offset (a transaction
 *    in progress may still abort). Its part from the first dirty offset (the end of the previous
 *    pass, kept in `cleaner-offset-checkpoint`) is dirty; the log is due when dirty bytes / all
 *    cleanable bytes >= `min.cleanable.dirty.ratio`, when the first dirty segment is older than
 *    `max.compaction.lag.ms`, or when a retained tombstone's or marker's delete horizon has passed.
 * 2. An offset map (key -> last offset) is built over the dirty segments; records of aborted
 *    transactions (the `.txnindex` entries) are left out of it.
 * 3. Segments from the log start to the end of the map are cleaned in groups (at most
 *    `segment.bytes` together): a record survives unless the map holds a later offset for its key.
 *    Offsets never change: a batch keeps its base offset and lastOffsetDelta with fewer records
 *    (non-contiguous offset deltas); a batch with no survivor is dropped (the log then has offset
 *    gaps, as in Kafka). Compressed batches (every codec) are decompressed and recompressed with
 *    their codec. Committed transactional batches are compacted like the others.
 * 4. Transactions, as Kafka's `LogCleaner`: batches of aborted transactions are removed; an ABORT
 *    marker stays while its transaction had batches in the pass (its `.txnindex` entry goes to
 *    the cleaned segment), a COMMIT marker while batches of its transaction remain; after that a
 *    marker gets a delete horizon (now + `delete.retention.ms`) and a later pass after it removes
 *    the marker.
 * 5. Each producer's last batch is kept (Kafka's `lastRecordsOfActiveProducers`), as its header
 *    alone if none of its records survive, so that the producer state (epoch, last sequence)
 *    rebuilt from the log after compaction is the same; a producer whose last batch is a marker
 *    keeps that marker whole.
 * 6. Tombstones (null values) survive the first clean that sees them: the batch records a delete
 *    horizon of now + `delete.retention.ms` (KIP-534: the base timestamp holds the horizon,
 *    attribute bit 6 is set, record timestamps are unchanged). A later pass after the horizon
 *    drops them.
 * 7. Each group's cleaned file is swapped in crash-safely (`cleaner_swap.ts`); readers holding
 *    the old segments keep reading them until `file.delete.delay.ms`.
 *
 * Work is bounded per step: segments are read in windows of at most 4 MiB with an `await`
 * between windows, and appends are only blocked during the renames of a swap.
 *
 * @module
 */

import {
  attributesAt,
  baseOffsetAt,
  baseTimestampAt,
  batchSizeAt,
  CONTROL_BIT,
  DELETE_HORIZON_BIT,
  hasProducerIdAt,
  lastOffsetAt,
  LOG_OVERHEAD,
  maxTimestampAt,
  producerEpochAt,
  producerIdAt,
  RECORD_BATCH_OVERHEAD,
  recordCountAt,
  TRANSACTIONAL_BIT,
} from "../records/layout.ts";
import {
  type CompactableBatch,
  emptyBatchOf,
  readCompactableBatch,
  rebuildBatch,
} from "../records/compaction.ts";
import { ControlRecordType, endTxnMarkerAt, type EndTxnMarkerRecord } from "../records/control.ts";
import { RecordsError } from "../records/errors.ts";
import type { CheckpointEntry } from "./checkpoint.ts";
import { cleanedLogPath, swapInCleaned, type SwapStep } from "./cleaner_swap.ts";
import { TOPIC_CONFIGS } from "./config.ts";
import type { PartitionLog } from "./partition_log.ts";
import type { ProducerLastRecord } from "./producer_state.ts";
import { LogSegment, removeIfExists } from "./segment.ts";
import type { AbortedTxn, TransactionIndex } from "./transaction_index.ts";

/** The compaction settings of one topic. */
export interface CleanerConfig {
  /** `min.cleanable.dirty.ratio`. */
  minCleanableDirtyRatio: number;
  /** `min.compaction.lag.ms`. */
  minCompactionLagMs: number;
  /** `max.compaction.lag.ms`. */
  maxCompactionLagMs: number;
  /** `delete.retention.ms`. */
  deleteRetentionMs: number;
}

/**
 * Reads the compaction settings from a topic's effective configs.
 *
 * @param effective Effective topic configs (missing entries take Kafka's defaults).
 * @returns The settings.
 *
 * @example
 * ```ts
 * import { cleanerConfigOf } from "./cleaner.ts";
 * console.assert(cleanerConfigOf({ "delete.retention.ms": "5" }).deleteRetentionMs === 5);
 * console.assert(cleanerConfigOf({}).minCleanableDirtyRatio === 0.5);
 * ```
 */
export function cleanerConfigOf(effective: Record<string, string>): CleanerConfig {
  const n = (k: string) => Number(effective[k] ?? TOPIC_CONFIGS.get(k)!.defaultValue);
  return {
    minCleanableDirtyRatio: n("min.cleanable.dirty.ratio"),
    minCompactionLagMs: n("min.compaction.lag.ms"),
    maxCompactionLagMs: n("max.compaction.lag.ms"),
    deleteRetentionMs: n("delete.retention.ms"),
  };
}

/** Options of {@linkcode LogCleaner}. */
export interface LogCleanerOptions {
  /** First dirty offset of each log by `topic-partition` (e.g. from the checkpoint file). */
  firstDirtyOffsets?: Map<string, number>;
  /** Most distinct keys mapped per pass (default 1,000,000); the rest waits for the next pass. */
  maxMapEntries?: number;
  /** Diagnostic messages. */
  logger?: (msg: string) => void;
  /** Called after each step of every swap (tests simulate a kill there). */
  onSwapStep?: (step: SwapStep, log: PartitionLog) => Promise<void> | void;
}

/** Options of {@linkcode LogCleaner.clean}. */
export interface CleanOptions {
  /** Current time in ms (default `Date.now()`). */
  now?: number;
  /** Clean even if the dirty ratio is below `min.cleanable.dirty.ratio`. */
  force?: boolean;
  /** Stops the pass between segment groups (what was swapped in stays; the log is consistent). */
  signal?: AbortSignal;
}

/** What one pass over one log did. */
export interface CleanStats {
  /** Topic. */
  topic: string;
  /** Partition. */
  partition: number;
  /** Whether the log was cleaned. */
  cleaned: boolean;
  /** Why (not) cleaned. */
  reason: string;
  /** First dirty offset before the pass. */
  firstDirtyOffset: number;
  /** End of the cleaned range (the next pass's first dirty offset). */
  endOffset: number;
  /** Segments replaced. */
  segmentsCleaned: number;
  /** Bytes read (map build and cleaning). */
  bytesRead: number;
  /** Bytes written to cleaned segments. */
  bytesWritten: number;
  /** Records examined while cleaning. */
  recordsRead: number;
  /** Records removed (superseded or expired tombstones). */
  recordsRemoved: number;
  /** Tombstones removed after their delete horizon. */
  tombstonesRemoved: number;
  /** Records of aborted transactions removed. */
  abortedRecordsRemoved: number;
  /** COMMIT/ABORT markers removed after their delete horizon. */
  markersRemoved: number;
  /** Wall-clock duration of the pass in ms. */
  durationMs: number;
}

const WINDOW = 4 * 1024 * 1024;
const MAX_GROUP_OFFSETS = 2147483647;

/**
 * Compacts logs. One instance per data directory ({@linkcode LogManager} owns it and runs it on
 * a timer); it remembers each log's first dirty offset and earliest pending tombstone horizon.
 *
 * @example
 * ```ts ignore
 * import { cleanerConfigOf, LogCleaner } from "./cleaner.ts";
 * const cleaner = new LogCleaner();
 * const stats = await cleaner.clean(log, cleanerConfigOf(topicInfo.effective), { force: true });
 * ```
 */
export class LogCleaner {
  #firstDirty: Map<string, number>;
  #horizons = new Map<string, number>();
  #maxMapEntries: number;
  #logger: (msg: string) => void;
  #onSwapStep: LogCleanerOptions["onSwapStep"];

  /**
   * Creates a cleaner with the checkpointed first dirty offsets (if any).
   *
   * @param options Checkpointed state, limits, logger, test hook.
   */
  constructor(options: LogCleanerOptions = {}) {
    this.#firstDirty = new Map(options.firstDirtyOffsets ?? []);
    this.#maxMapEntries = options.maxMapEntries ?? 1_000_000;
    this.#logger = options.logger ?? (() => {});
    this.#onSwapStep = options.onSwapStep;
  }

  /**
   * The first dirty offset of each cleaned log, for `cleaner-offset-checkpoint`.
   *
   * @param live Keep only these `topic-partition` keys (drop deleted logs).
   * @returns Checkpoint entries.
   */
  checkpointEntries(live?: Set<string>): CheckpointEntry[] {
    const out: CheckpointEntry[] = [];
    for (const [key, offset] of this.#firstDirty) {
      if (live && !live.has(key)) continue;
      const i = key.lastIndexOf("-");
      out.push({ topic: key.slice(0, i), partition: Number(key.slice(i + 1)), offset });
    }
    return out;
  }

  /**
   * Whether a pass has cleaned this log (its segments may have offset gaps).
   *
   * @param key `topic-partition`.
   * @returns `true` if the log has a first dirty offset.
   */
  hasCleaned(key: string): boolean {
    return this.#firstDirty.has(key);
  }

  /**
   * Forgets a log (after its topic was deleted or the log truncated below its dirty offset).
   *
   * @param key `topic-partition`.
   */
  forget(key: string): void {
    this.#firstDirty.delete(key);
    this.#horizons.delete(key);
  }

  /**
   * Runs one pass over `log` if it is compacted and due (see the module doc).
   *
   * @param log The partition log.
   * @param config Its compaction settings ({@linkcode cleanerConfigOf}).
   * @param options Clock and force.
   * @returns What the pass did.
   * @throws {EngineError} KAFKA_STORAGE_ERROR if a swap failed (I/O errors before a swap only
   * abort the pass, leaving the log unchanged).
   */
  async clean(
    log: PartitionLog,
    config: CleanerConfig,
    options: CleanOptions = {},
  ): Promise<CleanStats> {
    const started = performance.now();
    const now = options.now ?? Date.now();
    const key = `${log.topic}-${log.partition}`;
    const stats: CleanStats = {
      topic: log.topic,
      partition: log.partition,
      cleaned: false,
      reason: "",
      firstDirtyOffset: 0,
      endOffset: 0,
      segmentsCleaned: 0,
      bytesRead: 0,
      bytesWritten: 0,
      recordsRead: 0,
      recordsRemoved: 0,
      tombstonesRemoved: 0,
      abortedRecordsRemoved: 0,
      markersRemoved: 0,
      durationMs: 0,
    };
    const done = (reason: string) => {
      stats.reason = reason;
      stats.durationMs = performance.now() - started;
      return stats;
    };
    if (!log.config.cleanupPolicy.includes("compact")) return done("cleanup.policy is not compact");
    const segs = log.segmentsSnapshot();
    if (segs.length < 2) return done("only the active segment");
    const lso = log.logStartOffset;
    // a log truncated (or deleted and created again) below its checkpoint starts dirty again
    if ((this.#firstDirty.get(key) ?? 0) > log.logEndOffset) this.forget(key);
    // the cleanable range ends at the active segment or the first segment newer than the lag
    let endIdx = segs.length - 1;
    // nothing at or after the last stable offset: a transaction in progress may still abort
    const stable = log.lastStableOffset;
    for (let i = 0; i < endIdx; i++) {
      if (segs[i].nextOffset > stable) {
        endIdx = i;
        break;
      }
    }
    if (config.minCompactionLagMs > 0) {
      for (let i = 0; i < endIdx; i++) {
        // (an emptied segment's "largest timestamp" is its write time: it holds no records)
        if (segs[i].size > 0 && segs[i].largestTimestamp > now - config.minCompactionLagMs) {
          endIdx = i;
          break;
        }
      }
    }
    let firstDirty = Math.max(this.#firstDirty.get(key) ?? lso, lso, segs[0].baseOffset);
    let dirtyIdx = 0;
    while (dirtyIdx + 1 < segs.length && segs[dirtyIdx + 1].baseOffset <= firstDirty) dirtyIdx++;
    if (dirtyIdx > endIdx) dirtyIdx = endIdx;
    firstDirty = Math.min(firstDirty, segs[dirtyIdx].baseOffset);
    stats.firstDirtyOffset = firstDirty;
    let cleanBytes = 0;
    let dirtyBytes = 0;
    for (let i = 0; i < endIdx; i++) {
      if (i < dirtyIdx) cleanBytes += segs[i].size;
      else dirtyBytes += segs[i].size;
    }
    const ratio = cleanBytes + dirtyBytes > 0 ? dirtyBytes / (cleanBytes + dirtyBytes) : 0;
    let why = "";
    if (options.force) why = "forced";
    else if (dirtyBytes > 0 && ratio >= config.minCleanableDirtyRatio) {
      why = `dirty ratio ${ratio.toFixed(3)}`;
    } else if (dirtyIdx < endIdx && config.maxCompactionLagMs < Number.MAX_SAFE_INTEGER) {
      const first = await firstTimestamp(segs[dirtyIdx]);
      if (first >= 0 && now - first > config.maxCompactionLagMs) why = "max.compaction.lag.ms";
    }
    if (!why && (this.#horizons.get(key) ?? Infinity) <= now) why = "tombstone delete horizon";
    if (!why) return done(`not due (dirty ratio ${ratio.toFixed(3)})`);
    if (endIdx === 0) {
      return done("nothing cleanable yet (min.compaction.lag.ms or a transaction in progress)");
    }

    // offset map over the dirty segments, without the records of aborted transactions
    const map = new Map<string, number>();
    let mapEnd = dirtyIdx;
    const mapTxns = new CleanedTxns(
      log.abortedTransactions(segs[dirtyIdx].baseOffset, segs[endIdx].baseOffset),
    );
    try {
      for (let i = dirtyIdx; i < endIdx; i++) {
        if (map.size >= this.#maxMapEntries) break;
        for await (const batch of batchesOf(segs[i])) {
          stats.bytesRead += batch.length;
          if ((attributesAt(batch, 0) & CONTROL_BIT) !== 0) {
            mapTxns.onControlBatch(batch);
            continue;
          }
          if (mapTxns.onDataBatch(batch)) continue; // aborted
          let d: CompactableBatch;
          try {
            d = readCompactableBatch(batch);
          } catch {
            continue; // kept whole while cleaning, so its keys must not shadow older records
          }
          for (const r of d.records) {
            if (r.key) map.set(keyString(r.key), d.baseOffset + r.offsetDelta);
          }
        }
        mapEnd = i + 1;
      }
    } catch (e) {
      return done(`aborted while mapping: ${(e as Error).message}`);
    }
    const endOffset = segs[mapEnd].baseOffset;
    stats.endOffset = endOffset;

    // clean [0, mapEnd) in groups of at most segment.bytes
    const lastRecords = log.producerLastRecords();
    let minHorizon = Infinity;
    let i = 0;
    while (i < mapEnd) {
      const group = [segs[i]];
      let bytes = segs[i].size;
      let j = i + 1;
      while (
        j < mapEnd && bytes + segs[j].size <= log.config.segmentBytes &&
        segs[j + 1].baseOffset - segs[i].baseOffset <= MAX_GROUP_OFFSETS
      ) {
        group.push(segs[j]);
        bytes += segs[j].size;
        j++;
      }
      const h = await this.#cleanGroup(
        log,
        group,
        segs[j].baseOffset,
        { map, lastRecords, config, now, stats },
      );
      if (h === null) return done("aborted: the log changed or closed during the pass");
      minHorizon = Math.min(minHorizon, h);
      stats.segmentsCleaned += group.length;
      i = j;
      if (options.signal?.aborted && i < mapEnd) return done("aborted: stopping");
      await new Promise((r) => setTimeout(r, 0)); // let produce and fetch run between groups
    }
    this.#firstDirty.set(key, endOffset);
    if (minHorizon < Infinity) this.#horizons.set(key, minHorizon);
    else this.#horizons.delete(key);
    stats.cleaned = true;
    this.#logger(
      `${key}: cleaned ${stats.segmentsCleaned} segments up to offset ${endOffset} (${why}): ` +
        `${stats.recordsRemoved} of ${stats.recordsRead} records removed, ` +
        `${stats.bytesWritten} bytes written`,
    );
    return done(why);
  }

  /**
   * Cleans one group into `<base>.log.cleaned` and swaps it in.
   *
   * @returns The earliest delete horizon of a retained tombstone (Infinity if none), or `null`
   * if the swap was refused (log changed or closed).
   */
  async #cleanGroup(
    log: PartitionLog,
    group: LogSegment[],
    end: number,
    pass: Omit<Pass, "txns">,
  ): Promise<number | null> {
    const { stats } = pass;
    const base = group[0].baseOffset;
    const path = cleanedLogPath(log.dir, base);
    const seg = new LogSegment(log.dir, base);
    seg.allowOffsetGaps = true;
    // the group's aborted transactions; those whose ABORT marker stays go to the new .txnindex
    const txns = new CleanedTxns(log.abortedTransactions(base, end), seg.txnIndex);
    const interval = log.config.indexIntervalBytes;
    let minHorizon = Infinity;
    let pos = 0;
    let sinceIndex = 0;
    let lastIndexedTs = -1;
    let swapped = false;
    const file = await Deno.open(path, { write: true, create: true, truncate: true });
    try {
      const pending: Uint8Array[] = [];
      let pendingBytes = 0;
      const flush = async () => {
        for (const chunk of pending) {
          let off = 0;
          while (off < chunk.length) off += await file.write(chunk.subarray(off));
        }
        pending.length = 0;
        pendingBytes = 0;
      };
      for (const old of group) {
        for await (const batch of batchesOf(old)) {
          stats.bytesRead += batch.length;
          const r = this.#filter(batch, { ...pass, txns });
          if (r.horizon >= 0) minHorizon = Math.min(minHorizon, r.horizon);
          const out = r.batch;
          if (!out) continue;
          const b = baseOffsetAt(out, 0);
          const last = lastOffsetAt(out, 0);
          const maxTs = maxTimestampAt(out, 0);
          // the same index policy as LogSegment appends
          if (seg.firstBatchTimestamp < 0 && pos === 0) seg.firstBatchTimestamp = maxTs;
          if (maxTs > seg.maxTimestamp) {
            seg.maxTimestamp = maxTs;
            seg.offsetOfMaxTimestamp = last;
          }
          if (sinceIndex > interval) {
            seg.offsetIndex.append(b - base, pos);
            if (seg.maxTimestamp > lastIndexedTs) {
              seg.timeIndex.append(seg.maxTimestamp, seg.offsetOfMaxTimestamp - base);
              lastIndexedTs = seg.maxTimestamp;
            }
            sinceIndex = 0;
          }
          sinceIndex += out.length;
          seg.nextOffset = last + 1;
          pos += out.length;
          pending.push(out);
          pendingBytes += out.length;
          if (pendingBytes >= 1 << 20) await flush();
        }
      }
      await flush();
      if (seg.maxTimestamp > lastIndexedTs) {
        seg.timeIndex.append(seg.maxTimestamp, seg.offsetOfMaxTimestamp - base);
      }
      seg.size = pos;
      await file.syncData();
    } catch (e) {
      file.close();
      await removeIfExists(path);
      await seg.close();
      throw e;
    }
    file.close();
    try {
      swapped = await log.replaceSegments(
        group,
        seg,
        () =>
          swapInCleaned(log.dir, end, group, seg, { onStep: (s) => this.#onSwapStep?.(s, log) }),
      );
    } finally {
      if (!swapped) {
        await removeIfExists(path);
        await seg.close();
      }
    }
    if (!swapped) return null;
    stats.bytesWritten += pos;
    return minHorizon;
  }

  /** Filters one stored batch: the batch to write (or null) and its delete horizon (-1). */
  #filter(batch: Uint8Array, pass: Pass): { batch: Uint8Array | null; horizon: number } {
    const { map, config, now, stats } = pass;
    const attrs = attributesAt(batch, 0);
    const producer = hasProducerIdAt(batch, 0)
      ? pass.lastRecords.get(producerIdAt(batch, 0))
      : undefined;
    if ((attrs & CONTROL_BIT) !== 0) return this.#filterMarker(batch, attrs, producer, pass);
    // the producer's last batch stays (its header alone if nothing survives)
    const isLast = producer !== undefined && producer.lastDataOffset === lastOffsetAt(batch, 0);
    if (pass.txns.onDataBatch(batch)) {
      const n = recordCountAt(batch, 0);
      stats.recordsRead += n;
      stats.recordsRemoved += n;
      stats.abortedRecordsRemoved += n;
      if (!isLast) return { batch: null, horizon: -1 };
      return { batch: n > 0 ? emptyBatchOf(batch) : batch, horizon: -1 };
    }
    let d: CompactableBatch;
    try {
      d = readCompactableBatch(batch);
    } catch (e) {
      this.#logger(`cleaner: keeping an unreadable batch whole: ${(e as Error).message}`);
      return { batch, horizon: -1 };
    }
    const hadHorizon = (attrs & DELETE_HORIZON_BIT) !== 0;
    const oldHorizon = hadHorizon ? d.baseTimestamp : -1;
    const survivors = [];
    let tombstones = 0;
    for (const r of d.records) {
      stats.recordsRead++;
      if (r.key) {
        const latest = map.get(keyString(r.key));
        if (latest !== undefined && latest > d.baseOffset + r.offsetDelta) {
          stats.recordsRemoved++;
          continue;
        }
      }
      if (r.tombstone) {
        if (hadHorizon && now >= oldHorizon) {
          stats.recordsRemoved++;
          stats.tombstonesRemoved++;
          continue;
        }
        tombstones++;
      }
      survivors.push(r);
    }
    const horizon = tombstones > 0
      ? (hadHorizon ? oldHorizon : now + config.deleteRetentionMs)
      : -1;
    if (survivors.length === d.records.length && horizon === oldHorizon) {
      if (survivors.length > 0 || isLast) return { batch, horizon };
    }
    if (survivors.length === 0) return { batch: isLast ? emptyBatchOf(batch) : null, horizon: -1 };
    return {
      batch: rebuildBatch(batch, d, { records: survivors, deleteHorizonMs: horizon }),
      horizon,
    };
  }

  /**
   * A COMMIT/ABORT marker: kept while its transaction still has batches in the log (Kafka's
   * rules), then given a delete horizon, then removed once past it. A producer's marker that is
   * its last batch (it wrote nothing since: the marker holds its epoch) is kept whole.
   */
  #filterMarker(
    batch: Uint8Array,
    attrs: number,
    producer: ProducerLastRecord | undefined,
    pass: Pass,
  ): { batch: Uint8Array | null; horizon: number } {
    const discardable = pass.txns.onControlBatch(batch);
    const isLast = producer !== undefined && producer.lastDataOffset < 0 &&
      producer.epoch === producerEpochAt(batch, 0);
    if (!discardable || isLast) return { batch, horizon: -1 };
    if ((attrs & DELETE_HORIZON_BIT) !== 0) {
      const horizon = baseTimestampAt(batch, 0);
      if (pass.now < horizon) return { batch, horizon };
      pass.stats.markersRemoved++;
      return { batch: null, horizon: -1 };
    }
    let d: CompactableBatch;
    try {
      d = readCompactableBatch(batch);
    } catch (e) {
      this.#logger(`cleaner: keeping an unreadable marker whole: ${(e as Error).message}`);
      return { batch, horizon: -1 };
    }
    const horizon = pass.now + pass.config.deleteRetentionMs;
    return {
      batch: rebuildBatch(batch, d, { records: d.records, deleteHorizonMs: horizon }),
      horizon,
    };
  }
}

/** What filtering a batch needs from the pass over its log. */
interface Pass {
  /** Key -> last offset over the dirty segments. */
  map: Map<string, number>;
  /** Each producer's last batch. */
  lastRecords: Map<number, ProducerLastRecord>;
  /** Transaction state of the group being cleaned. */
  txns: CleanedTxns;
  config: CleanerConfig;
  now: number;
  stats: CleanStats;
}

/**
 * The transactions seen while walking a range of the log in offset order (Kafka's
 * `CleanedTransactionMetadata`): which data batches belong to aborted transactions (removable),
 * and whether each marker may go - an ABORT marker once no batch of its transaction was seen in
 * this walk (a retained one's `.txnindex` entry goes to the cleaned segment's index), a COMMIT
 * marker likewise.
 */
class CleanedTxns {
  /** The aborted transactions of the range, by first offset. */
  readonly #aborted: AbortedTxn[];
  #next = 0;
  readonly #committed = new Set<number>();
  readonly #ongoingAborted = new Map<number, { txn: AbortedTxn; seen: boolean }>();
  readonly #index: TransactionIndex | undefined;

  /**
   * @param aborted The range's aborted transactions (`PartitionLog.abortedTransactions`).
   * @param index Where the entries of retained ABORT markers go (the cleaned segment's).
   */
  constructor(aborted: AbortedTxn[], index?: TransactionIndex) {
    this.#aborted = aborted.slice().sort((a, b) => a.firstOffset - b.firstOffset);
    this.#index = index;
  }

  #startUpTo(offset: number): void {
    const list = this.#aborted;
    while (this.#next < list.length && list[this.#next].firstOffset <= offset) {
      const txn = list[this.#next++];
      this.#ongoingAborted.set(txn.producerId, { txn, seen: false });
    }
  }

  /**
   * A data batch walked over.
   *
   * @returns Whether it belongs to an aborted transaction (its records can go).
   */
  onDataBatch(batch: Uint8Array): boolean {
    this.#startUpTo(lastOffsetAt(batch, 0));
    if ((attributesAt(batch, 0) & TRANSACTIONAL_BIT) === 0) return false;
    const pid = producerIdAt(batch, 0);
    const aborted = this.#ongoingAborted.get(pid);
    if (aborted !== undefined) {
      aborted.seen = true;
      return true;
    }
    this.#committed.add(pid);
    return false;
  }

  /**
   * A control batch walked over.
   *
   * @returns Whether the marker may be removed (after its delete horizon).
   */
  onControlBatch(batch: Uint8Array): boolean {
    this.#startUpTo(lastOffsetAt(batch, 0));
    let marker: EndTxnMarkerRecord | null;
    try {
      marker = endTxnMarkerAt(batch, 0);
    } catch (e) {
      if (e instanceof RecordsError) return false; // not a marker we know: keep it
      throw e;
    }
    if (marker === null) return true; // emptied: its transaction is gone
    const pid = producerIdAt(batch, 0);
    if (marker.type === ControlRecordType.ABORT) {
      const aborted = this.#ongoingAborted.get(pid);
      this.#ongoingAborted.delete(pid);
      if (aborted?.seen) {
        this.#index?.append(aborted.txn); // stays until its batches are gone
        return false;
      }
      return true;
    }
    return !this.#committed.delete(pid);
  }
}

/** Whole batches of a segment, read in windows of at most {@linkcode WINDOW} bytes. */
async function* batchesOf(seg: LogSegment): AsyncGenerator<Uint8Array> {
  const size = seg.size;
  let pos = 0;
  while (pos < size) {
    const win = await seg.readBytes(pos, Math.min(WINDOW, size - pos));
    let p = 0;
    while (p + LOG_OVERHEAD <= win.length) {
      const len = batchSizeAt(win, p);
      if (len < RECORD_BATCH_OVERHEAD || pos + p + len > size) {
        throw new Error(`segment ${seg.baseOffset}: bad batch length at byte ${pos + p}`);
      }
      if (p + len > win.length) {
        if (p === 0) {
          yield await seg.readBytes(pos, len); // a batch larger than the window
          p = len;
        }
        break;
      }
      yield win.subarray(p, p + len);
      p += len;
    }
    if (p === 0) throw new Error(`segment ${seg.baseOffset}: cut-off batch at byte ${pos}`);
    pos += p;
  }
}

/** The first batch's max timestamp of a segment (-1 if unknown). */
async function firstTimestamp(seg: LogSegment): Promise<number> {
  if (seg.firstBatchTimestamp >= 0) return seg.firstBatchTimestamp;
  if (seg.size < RECORD_BATCH_OVERHEAD) return -1;
  const head = await seg.readBytes(0, RECORD_BATCH_OVERHEAD);
  return head.length === RECORD_BATCH_OVERHEAD ? maxTimestampAt(head, 0) : -1;
}

/** A map key for key bytes (one UTF-16 unit per byte: injective). */
function keyString(key: Uint8Array): string {
  if (key.length <= 64) return String.fromCharCode(...key);
  let s = "";
  for (let i = 0; i < key.length; i += 4096) {
    s += String.fromCharCode(...key.subarray(i, i + 4096));
  }
  return s;
}
