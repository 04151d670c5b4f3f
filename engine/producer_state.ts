/**
 * Producer state of one partition, after Kafka's `ProducerStateManager`: for every producer id
 * the current epoch and the metadata of its last {@linkcode MAX_CACHED_BATCHES} batches, used to
 * drop duplicates (answered with their original offsets) and to refuse out-of-order sequences
 * and fenced epochs; and for transactional producers the transaction in progress (the offset of
 * its first batch, from the batches' transactional bit until a COMMIT/ABORT control batch), the
 * coordinator epoch of the last marker, and so the partition's first unstable offset (the last
 * stable offset is its minimum with the high watermark). An ABORT marker completes an aborted
 * transaction, which the log writes to the segment's `.txnindex` (`transaction_index.ts`).
 *
 * The state is snapshotted to `<20-digit offset>.snapshot` files at segment roll and on clean
 * shutdown (transactions in progress included), and rebuilt on open from the latest valid
 * snapshot plus the batches after it; replaying batches also rebuilds the transaction indexes
 * the loader found missing or corrupt.
 *
 * Rules (Kafka 2.7+, `ProducerAppendInfo`):
 * - same epoch and a sequence range equal to one of the cached batches -> duplicate;
 * - epoch lower than the current one -> INVALID_PRODUCER_EPOCH (47);
 * - epoch higher than the current one -> the sequence must restart at 0, else
 *   OUT_OF_ORDER_SEQUENCE_NUMBER (45);
 * - same epoch -> firstSeq must be lastSeq + 1 (wrapping from 2^31-1 to 0), else
 *   OUT_OF_ORDER_SEQUENCE_NUMBER;
 * - no state for the producer id (new, or expired after `producer.id.expiration.ms`) -> any
 *   sequence is accepted (KIP-360: brokers >= 2.5 no longer answer UNKNOWN_PRODUCER_ID);
 * - state from markers only (the epoch known, no batch) -> the sequence must start at 0;
 * - a non-transactional batch while the producer's transaction is in progress ->
 *   INVALID_TXN_STATE (48);
 * - a marker with an epoch older than the producer's -> INVALID_PRODUCER_EPOCH; with a coordinator
 *   epoch older than the last marker's -> TRANSACTION_COORDINATOR_FENCED (52). A marker's epoch
 *   becomes the producer's (the coordinator fences a producer with an ABORT at a bumped epoch).
 *
 * Producers with a transaction in progress never expire.
 *
 * @module
 */

import {
  attributesAt,
  baseOffsetAt,
  baseSequenceAt,
  batchSizeAt,
  CONTROL_BIT,
  hasProducerIdAt,
  incrementSequence,
  lastOffsetAt,
  lastOffsetDeltaAt,
  maxTimestampAt,
  nextOffsetAfter,
  producerEpochAt,
  producerIdAt,
  RECORD_BATCH_OVERHEAD,
  TRANSACTIONAL_BIT,
} from "../records/layout.ts";
import { ControlRecordType, endTxnMarkerAt, type EndTxnMarkerRecord } from "../records/control.ts";
import { RecordsError } from "../records/errors.ts";
import { crc32c } from "../wasm/mod.ts";
import { EngineError, ErrorCode } from "./errors.ts";
import { offsetFileStem } from "./names.ts";
import { readFileBounded, writeWhole } from "./transient_files.ts";
import type { LogSegment } from "./segment.ts";
import type { AbortedTxn } from "./transaction_index.ts";

/** Suffix of a producer state snapshot file (Kafka's name). */
export const PRODUCER_SNAPSHOT_FILE_SUFFIX = ".snapshot";
/** Batches remembered per producer for duplicate detection (Kafka's `NUM_BATCHES_TO_RETAIN`). */
export const MAX_CACHED_BATCHES = 5;
/** Default of `producer.id.expiration.ms`: one day. */
export const DEFAULT_PRODUCER_ID_EXPIRATION_MS = 86_400_000;
/** Kafka error code for a sequence gap or reordering. */
export const OUT_OF_ORDER_SEQUENCE_NUMBER = 45;
/** Kafka error code for a producer epoch older than the current one. */
export const INVALID_PRODUCER_EPOCH = 47;
/** Kafka error code for a non-transactional batch inside a producer's transaction. */
export const INVALID_TXN_STATE = 48;
/** Kafka error code for a marker from an older transaction coordinator epoch. */
export const TRANSACTION_COORDINATOR_FENCED = 52;
/** Kafka's `DefaultRecordBatch.incrementSequence` (owned by `records/`). */
export { incrementSequence };

/** Snapshot format: 2 added each producer's coordinator epoch and transaction in progress. */
const SNAPSHOT_VERSION = 2;
const INT32_MAX = 2147483647;
const NO_ABORTED: readonly AbortedTxn[] = Object.freeze([]);

/** Metadata of one appended batch of an idempotent producer. */
export interface BatchMetadata {
  /** Sequence of the first record. */
  firstSeq: number;
  /** Sequence of the last record. */
  lastSeq: number;
  /** Offset of the first record. */
  firstOffset: number;
  /** Offset of the last record. */
  lastOffset: number;
  /** The batch's max timestamp. */
  timestamp: number;
}

/** What the log knows of one producer id, as DescribeProducers reports it. */
export interface ProducerStateInfo {
  /** The producer id. */
  producerId: number;
  /** Its current epoch. */
  epoch: number;
  /** Sequence of the last record appended (-1 if none). */
  lastSequence: number;
  /** Max timestamp of its last batch (used for expiry). */
  lastTimestamp: number;
  /** First offset of its last batch. */
  firstOffset: number;
  /** Last offset of its last batch. */
  lastOffset: number;
  /** Coordinator epoch of its last transaction marker (-1: none yet). */
  coordinatorEpoch: number;
  /** First offset of its transaction in progress (-1: none). */
  currentTxnStartOffset: number;
}

/** A transaction in progress: its producer and the offset of its first batch. */
export interface OngoingTxn {
  /** Producer id. */
  producerId: number;
  /** Offset of the transaction's first batch in the partition. */
  firstOffset: number;
}

/** The last batch of a producer, which the log cleaner keeps (Kafka's `LastRecord`). */
export interface ProducerLastRecord {
  /** Last offset of its last data batch (-1: none since its epoch changed). */
  lastDataOffset: number;
  /** Its current epoch (a marker with this epoch is kept when there is no data batch). */
  epoch: number;
}

interface Entry {
  epoch: number;
  batches: BatchMetadata[];
  lastTimestamp: number;
  coordinatorEpoch: number;
  /** First offset of the transaction in progress, -1 if none. */
  txnFirstOffset: number;
}

/** A transaction ended by a marker in the batches being appended or replayed. */
interface CompletedTxn {
  producerId: number;
  firstOffset: number;
  lastOffset: number;
  aborted: boolean;
}

/** Header fields of one batch, as read from the log. */
interface BatchHeader {
  producerId: number;
  epoch: number;
  firstSeq: number;
  lastSeq: number;
  firstOffset: number;
  lastOffset: number;
  timestamp: number;
}

function inSequence(lastSeq: number, nextSeq: number): boolean {
  return nextSeq === lastSeq + 1 || (nextSeq === 0 && lastSeq === INT32_MAX);
}

/** The producer fields of the data batch at `p` (which has a producer id). */
function readHeader(b: Uint8Array, p: number, baseOffset: number): BatchHeader {
  const firstSeq = baseSequenceAt(b, p);
  const delta = lastOffsetDeltaAt(b, p);
  return {
    producerId: producerIdAt(b, p),
    epoch: producerEpochAt(b, p),
    firstSeq,
    lastSeq: firstSeq < 0 ? firstSeq : incrementSequence(firstSeq, delta),
    firstOffset: baseOffset,
    lastOffset: baseOffset + delta,
    timestamp: maxTimestampAt(b, p),
  };
}

/** The marker of the control batch at `p`; `null` for one the cleaner emptied or unreadable. */
function readMarker(b: Uint8Array, p: number): EndTxnMarkerRecord | null {
  try {
    return endTxnMarkerAt(b, p);
  } catch (e) {
    if (e instanceof RecordsError) return null;
    throw e;
  }
}

/** A duplicate found by {@linkcode ProducerStateManager.checkAppend}. */
export interface DuplicateBatch {
  /** Original offset of the duplicate's first record. */
  firstOffset: number;
  /** Original offset of the duplicate's last record. */
  lastOffset: number;
  /** Max timestamp of the original batch. */
  timestamp: number;
}

/** Options of {@linkcode ProducerStateManager}. */
export interface ProducerStateOptions {
  /** `producer.id.expiration.ms` (default one day). */
  expirationMs?: number;
  /** Diagnostic messages. */
  logger?: (msg: string) => void;
}

/**
 * Producer id -> epoch, last batches and transaction in progress, for one partition directory.
 *
 * @example Duplicates are answered with their first offsets
 * ```ts
 * import { ProducerStateManager } from "./producer_state.ts";
 * import { buildBatch } from "../wasm/testing.ts";
 *
 * const dir = await Deno.makeTempDir();
 * const state = new ProducerStateManager(dir);
 * const batch = buildBatch({
 *   records: [{ key: null, value: "a" }], producerId: 7, producerEpoch: 0, baseSequence: 0,
 * });
 * console.assert(state.checkAppend(batch, [0], 0, "append") === undefined);
 * state.commitAppend();
 * console.assert(state.checkAppend(batch, [0], 1, "append")?.firstOffset === 0);
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @example A transactional batch holds the first unstable offset until its marker
 * ```ts
 * import { ProducerStateManager } from "./producer_state.ts";
 * import { buildControlBatch } from "../records/mod.ts";
 * import { buildBatch } from "../wasm/testing.ts";
 *
 * const state = new ProducerStateManager("/tmp/unused");
 * const data = buildBatch({
 *   records: [{ key: null, value: "a" }], producerId: 7, producerEpoch: 0, baseSequence: 0,
 *   attributes: 0x10,
 * });
 * state.checkAppend(data, [0], 5, "append");
 * state.commitAppend();
 * console.assert(state.firstUnstableOffset === 5);
 * const abort = buildControlBatch({ producerId: 7, producerEpoch: 0, commit: false, timestamp: 1 });
 * state.checkAppend(abort, [0], 6, "append");
 * const [aborted] = state.commitAppend();
 * console.assert(aborted.firstOffset === 5 && aborted.lastOffset === 6);
 * console.assert(aborted.lastStableOffset === 7 && state.firstUnstableOffset === -1);
 * ```
 */
export class ProducerStateManager {
  /** The partition directory holding the snapshots. */
  readonly dir: string;
  #entries = new Map<number, Entry>();
  #pending: Map<number, Entry> | undefined;
  /** The snapshot file last written or loaded (its offset and bytes), to skip an identical one. */
  #onDisk: { offset: number; bytes: Uint8Array } | undefined;
  #pendingCompleted: CompletedTxn[] | undefined;
  /** Transactions in progress: producer id -> offset of the first batch. */
  #ongoing = new Map<number, number>();
  /** Cached minimum of `#ongoing` (-1: none; NaN: to recompute). */
  #firstUnstable = -1;
  #expirationMs: number;
  #logger: (msg: string) => void;

  /**
   * An empty state for a partition directory.
   *
   * @param dir Partition directory.
   * @param options Expiration and logger.
   */
  constructor(dir: string, options: ProducerStateOptions = {}) {
    this.dir = dir;
    this.#expirationMs = options.expirationMs ?? DEFAULT_PRODUCER_ID_EXPIRATION_MS;
    this.#logger = options.logger ?? (() => {});
  }

  /** Number of producer ids with state. */
  get size(): number {
    return this.#entries.size;
  }

  /**
   * The offset of the first batch of the oldest transaction in progress (Kafka's
   * `firstUnstableOffset`), or -1 if none: nothing at or after it is stable.
   */
  get firstUnstableOffset(): number {
    if (Number.isNaN(this.#firstUnstable)) {
      let min = -1;
      for (const f of this.#ongoing.values()) if (min < 0 || f < min) min = f;
      this.#firstUnstable = min;
    }
    return this.#firstUnstable;
  }

  /**
   * Whether `producerId` has a transaction in progress here in epoch `epoch` (a partition
   * leader's check before a transactional batch; no array of every producer).
   *
   * @param producerId The producer id.
   * @param epoch The producer epoch.
   * @returns Whether its current transaction is ongoing in that epoch.
   */
  inTransaction(producerId: number, epoch: number): boolean {
    return this.#ongoing.has(producerId) && this.#entries.get(producerId)?.epoch === epoch;
  }

  /**
   * The transactions in progress, oldest first.
   *
   * @returns Producer ids and first offsets.
   */
  ongoingTransactions(): OngoingTxn[] {
    return [...this.#ongoing].map(([producerId, firstOffset]) => ({ producerId, firstOffset }))
      .sort((a, b) => a.firstOffset - b.firstOffset);
  }

  /**
   * Each producer's last batch, which compaction must keep (Kafka's
   * `lastRecordsOfActiveProducers`).
   *
   * @returns Producer id -> last data offset and epoch.
   */
  lastRecords(): Map<number, ProducerLastRecord> {
    const out = new Map<number, ProducerLastRecord>();
    for (const [pid, e] of this.#entries) {
      const last = e.batches[e.batches.length - 1];
      out.set(pid, { lastDataOffset: last?.lastOffset ?? -1, epoch: e.epoch });
    }
    return out;
  }

  #setOngoing(producerId: number, firstOffset: number): void {
    const was = this.#ongoing.get(producerId);
    if (was === firstOffset || (was === undefined && firstOffset < 0)) return;
    if (firstOffset < 0) this.#ongoing.delete(producerId);
    else this.#ongoing.set(producerId, firstOffset);
    this.#firstUnstable = NaN;
  }

  /** The aborted ones of `completed`, with the last stable offset once their marker is in. */
  #abortedOf(completed: CompletedTxn[]): AbortedTxn[] {
    const out: AbortedTxn[] = [];
    for (const c of completed) {
      if (!c.aborted) continue;
      // Kafka's `lastStableOffset(completedTxn)`: the oldest other transaction, else after it
      let lso = -1;
      for (const [pid, f] of this.#ongoing) {
        if (pid !== c.producerId && (lso < 0 || f < lso)) lso = f;
      }
      out.push({
        producerId: c.producerId,
        firstOffset: c.firstOffset,
        lastOffset: c.lastOffset,
        lastStableOffset: lso < 0 ? c.lastOffset + 1 : lso,
      });
    }
    return out;
  }

  /**
   * Checks the batches of one append (in order) against the state, or finds a duplicate.
   * Batches without a producer id (-1) are ignored; control batches (COMMIT/ABORT markers, which
   * only the transaction coordinator writes) end the producer's transaction. The batches are
   * recorded only by a following {@linkcode ProducerStateManager.commitAppend}.
   *
   * @param records The append's batches.
   * @param positions Byte position of each batch in `records`.
   * @param nextOffset The offset the first record will get (later batches follow on).
   * @param what What is being done, for error messages (e.g. `append to t-0`).
   * @returns The original batch if the append is a duplicate (write nothing), else `undefined`.
   * @throws {EngineError} OUT_OF_ORDER_SEQUENCE_NUMBER, INVALID_PRODUCER_EPOCH, INVALID_TXN_STATE,
   * TRANSACTION_COORDINATOR_FENCED; INVALID_RECORD for a producer id with a negative sequence (as
   * Kafka's `LogValidator`) or a control batch that holds no transaction marker.
   */
  checkAppend(
    records: Uint8Array,
    positions: ArrayLike<number>,
    nextOffset: number,
    what: string,
  ): DuplicateBatch | undefined {
    this.#pending = undefined;
    this.#pendingCompleted = undefined;
    const n = positions.length;
    let pending: Map<number, Entry> | undefined;
    let completed: CompletedTxn[] | undefined;
    let offset = nextOffset;
    for (let i = 0; i < n; i++) {
      const p = positions[i];
      const base = offset;
      offset += lastOffsetDeltaAt(records, p) + 1;
      if (!hasProducerIdAt(records, p)) continue; // not idempotent (the common case)
      const attrs = attributesAt(records, p);
      if ((attrs & CONTROL_BIT) !== 0) {
        const pid = producerIdAt(records, p);
        pending ??= new Map();
        const current = pending.get(pid) ?? this.#entries.get(pid);
        const epoch = producerEpochAt(records, p);
        if (current && epoch < current.epoch) {
          throw new EngineError(
            INVALID_PRODUCER_EPOCH,
            `${what} failed: marker of producer ${pid} has epoch ${epoch}, older than the ` +
              `current epoch ${current.epoch}`,
          );
        }
        const marker = readMarker(records, p);
        if (marker === null) {
          throw new EngineError(
            ErrorCode.INVALID_RECORD,
            `${what} failed: control batch ${i} holds no COMMIT or ABORT marker`,
          );
        }
        if (current && marker.coordinatorEpoch < current.coordinatorEpoch) {
          throw new EngineError(
            TRANSACTION_COORDINATOR_FENCED,
            `${what} failed: marker of producer ${pid} has coordinator epoch ` +
              `${marker.coordinatorEpoch}, older than ${current.coordinatorEpoch}`,
          );
        }
        const next = current ? copyEntry(current) : newEntry(epoch);
        const done = applyMarker(next, pid, epoch, marker, base, maxTimestampAt(records, p));
        if (done) (completed ??= []).push(done);
        pending.set(pid, next);
        continue;
      }
      const h = readHeader(records, p, base);
      if (h.firstSeq < 0) {
        throw new EngineError(
          ErrorCode.INVALID_RECORD,
          `${what} failed: batch ${i} of producer ${h.producerId} has an invalid sequence ` +
            `number ${h.firstSeq}`,
        );
      }
      pending ??= new Map();
      const current = pending.get(h.producerId) ?? this.#entries.get(h.producerId);
      if (current) {
        if (h.epoch === current.epoch && pending.get(h.producerId) === undefined) {
          const dup = current.batches.find((b) =>
            b.firstSeq === h.firstSeq && b.lastSeq === h.lastSeq
          );
          if (dup) {
            return {
              firstOffset: dup.firstOffset,
              lastOffset: dup.lastOffset,
              timestamp: dup.timestamp,
            };
          }
        }
        if (h.epoch < current.epoch) {
          throw new EngineError(
            INVALID_PRODUCER_EPOCH,
            `${what} failed: producer ${h.producerId} epoch ${h.epoch} is older than the ` +
              `current epoch ${current.epoch}`,
          );
        }
        if (h.epoch > current.epoch) {
          if (h.firstSeq !== 0) {
            throw new EngineError(
              OUT_OF_ORDER_SEQUENCE_NUMBER,
              `${what} failed: producer ${h.producerId} starts epoch ${h.epoch} at sequence ` +
                `${h.firstSeq}, expected 0`,
            );
          }
        } else {
          // An entry without batches knows its epoch from a marker (which made it, or emptied
          // it moving the producer to a new epoch): the epoch's first batch starts at 0, as
          // Kafka's checkSequence demands, so a lost first batch is not skipped over.
          const last = current.batches.length > 0
            ? current.batches[current.batches.length - 1].lastSeq
            : -1;
          if (!inSequence(last, h.firstSeq)) {
            throw new EngineError(
              OUT_OF_ORDER_SEQUENCE_NUMBER,
              `${what} failed: producer ${h.producerId} epoch ${h.epoch} sent sequence ` +
                `${h.firstSeq}, expected ${incrementSequence(last, 1)}`,
            );
          }
        }
      }
      const transactional = (attrs & TRANSACTIONAL_BIT) !== 0;
      if (!transactional && current !== undefined && current.txnFirstOffset >= 0) {
        throw new EngineError(
          INVALID_TXN_STATE,
          `${what} failed: producer ${h.producerId} sent a non-transactional batch inside its ` +
            `transaction (started at offset ${current.txnFirstOffset})`,
        );
      }
      const next = current ? copyEntry(current) : newEntry(h.epoch);
      applyBatch(next, h, transactional);
      pending.set(h.producerId, next);
    }
    this.#pending = pending;
    this.#pendingCompleted = completed;
    return undefined;
  }

  /**
   * Whether the last {@linkcode ProducerStateManager.checkAppend} staged anything for
   * {@linkcode ProducerStateManager.commitAppend} (batches with a producer id); appends without
   * a producer id stage nothing.
   */
  get staged(): boolean {
    return this.#pending !== undefined || this.#pendingCompleted !== undefined;
  }

  /**
   * Records the batches of the last {@linkcode ProducerStateManager.checkAppend} that found no
   * duplicate and threw nothing; call once they are written.
   *
   * @returns The transactions its ABORT markers ended, for the segment's transaction index
   * (usually none).
   */
  commitAppend(): readonly AbortedTxn[] {
    const pending = this.#pending;
    const completed = this.#pendingCompleted;
    this.#pending = undefined;
    this.#pendingCompleted = undefined;
    if (pending === undefined) return NO_ABORTED;
    for (const [pid, e] of pending) {
      this.#entries.set(pid, e);
      this.#setOngoing(pid, e.txnFirstOffset);
    }
    return completed === undefined ? NO_ABORTED : this.#abortedOf(completed);
  }

  /**
   * Forgets the batches of the last {@linkcode ProducerStateManager.checkAppend}: their write
   * failed, so the producer's retry must be accepted as new.
   */
  abortAppend(): void {
    this.#pending = undefined;
    this.#pendingCompleted = undefined;
  }

  /**
   * Records batches read back from the log (no checks, as Kafka does for replication and
   * recovery). Data batches already covered by the state, and batches ending below
   * `minOffset`, are skipped.
   *
   * @param records Whole batches as stored (base offsets assigned).
   * @param minOffset Batches whose last offset is below this are skipped.
   * @returns The transactions the replayed ABORT markers ended, in order, each with the last
   * stable offset once its marker was in (for a transaction index being rebuilt).
   */
  replay(records: Uint8Array, minOffset = 0): AbortedTxn[] {
    let p = 0;
    let aborted: AbortedTxn[] | undefined;
    while (p + RECORD_BATCH_OVERHEAD <= records.length) {
      const size = batchSizeAt(records, p);
      if (size < RECORD_BATCH_OVERHEAD || p + size > records.length) break;
      const at = p;
      p += size;
      if (!hasProducerIdAt(records, at) || lastOffsetAt(records, at) < minOffset) continue;
      const base = baseOffsetAt(records, at);
      const attrs = attributesAt(records, at);
      const pid = producerIdAt(records, at);
      let e = this.#entries.get(pid);
      if ((attrs & CONTROL_BIT) !== 0) {
        const marker = readMarker(records, at);
        if (marker === null) continue; // emptied by the cleaner: its transaction is gone too
        const epoch = producerEpochAt(records, at);
        if (e === undefined) this.#entries.set(pid, e = newEntry(epoch));
        const done = applyMarker(e, pid, epoch, marker, base, maxTimestampAt(records, at));
        if (done) (aborted ??= []).push(...this.#abortedOf([done]));
        this.#setOngoing(pid, -1);
        continue;
      }
      const h = readHeader(records, at, base);
      if (e) {
        const last = e.batches[e.batches.length - 1];
        if (last && last.lastOffset >= h.firstOffset) continue;
      } else {
        e = newEntry(h.epoch);
        this.#entries.set(h.producerId, e);
      }
      applyBatch(e, h, (attrs & TRANSACTIONAL_BIT) !== 0);
      this.#setOngoing(pid, e.txnFirstOffset);
    }
    return aborted ?? [];
  }

  /**
   * The state of every producer id, by id (for DescribeProducers).
   *
   * @returns One entry per producer id with state.
   */
  producerStates(): ProducerStateInfo[] {
    const out: ProducerStateInfo[] = [];
    for (const [producerId, e] of [...this.#entries].sort((a, b) => a[0] - b[0])) {
      const last = e.batches[e.batches.length - 1];
      out.push({
        producerId,
        epoch: e.epoch,
        lastSequence: last?.lastSeq ?? -1,
        lastTimestamp: e.lastTimestamp,
        firstOffset: last?.firstOffset ?? -1,
        lastOffset: last?.lastOffset ?? -1,
        coordinatorEpoch: e.coordinatorEpoch,
        currentTxnStartOffset: e.txnFirstOffset,
      });
    }
    return out;
  }

  /**
   * The cached batches of one producer id, oldest first.
   *
   * @param producerId A producer id.
   * @returns Copies of its batch metadata (empty if unknown).
   */
  batches(producerId: number): BatchMetadata[] {
    return (this.#entries.get(producerId)?.batches ?? []).map((b) => ({ ...b }));
  }

  /**
   * Forgets producers whose last batch timestamp is `producer.id.expiration.ms` or more before
   * `now`, unless their transaction is in progress.
   *
   * @param now Current time in ms.
   * @returns Number of producer ids removed.
   */
  removeExpired(now: number): number {
    let n = 0;
    for (const [pid, e] of this.#entries) {
      if (e.txnFirstOffset < 0 && now - e.lastTimestamp >= this.#expirationMs) {
        this.#entries.delete(pid);
        n++;
      }
    }
    return n;
  }

  /** Forgets every producer. */
  clear(): void {
    this.#entries.clear();
    this.#ongoing.clear();
    this.#firstUnstable = -1;
  }

  /**
   * Writes `<offset>.snapshot` (via a temporary file, fsynced) with the state of the batches
   * below `offset`. Requires `--allow-write`.
   *
   * @param offset The snapshot's offset: batches at or after it are left out.
   * @throws {Error} On I/O failure.
   */
  async takeSnapshot(offset: number): Promise<void> {
    const entries: [number, Entry][] = [];
    // a roll inside a multi-batch append: its batches before the roll are already written
    const all = new Map(this.#entries);
    if (this.#pending) { for (const [pid, e] of this.#pending) all.set(pid, e); }
    for (const [pid, e] of all) {
      const batches = e.batches.filter((b) => b.lastOffset < offset);
      const known = this.#entries.has(pid); // had state before the append in progress
      if (batches.length === 0 && !known) continue;
      const lastTimestamp = batches.length === e.batches.length
        ? e.lastTimestamp // a marker may be newer than the last batch
        : batches.length > 0
        ? batches[batches.length - 1].timestamp
        : this.#entries.get(pid)!.lastTimestamp;
      entries.push([pid, {
        epoch: e.epoch,
        batches,
        lastTimestamp,
        coordinatorEpoch: e.coordinatorEpoch,
        txnFirstOffset: e.txnFirstOffset < offset ? e.txnFirstOffset : -1,
      }]);
    }
    const bytes = encodeSnapshot(entries);
    // a clean close with nothing appended since the last snapshot (or the one loaded) has the
    // same bytes at the same offset: written once, not at every restart
    const prev = this.#onDisk;
    if (prev?.offset === offset && equalBytes(prev.bytes, bytes)) return;
    const path = snapshotPath(this.dir, offset);
    const tmp = `${path}.tmp`;
    try {
      await writeWhole(tmp, bytes, true);
      await Deno.rename(tmp, path);
      this.#onDisk = { offset, bytes };
    } catch (e) {
      await removeIfPresent(tmp).catch(() => {}); // a full disk: hold no space
      throw e;
    }
  }

  /**
   * Removes the snapshot file at `offset`, if any (a later snapshot at that offset is then
   * written even if its bytes are those of the removed one).
   *
   * @param offset The snapshot's offset.
   * @throws {Error} On I/O failure other than a missing file.
   */
  async removeSnapshot(offset: number): Promise<void> {
    if (this.#onDisk?.offset === offset) this.#onDisk = undefined;
    await removeIfPresent(snapshotPath(this.dir, offset));
  }

  /**
   * Offsets of the snapshot files in the directory, ascending. Requires `--allow-read`.
   *
   * @returns Snapshot offsets.
   */
  async snapshotOffsets(): Promise<number[]> {
    const out: number[] = [];
    for await (const e of Deno.readDir(this.dir)) {
      const m = /^(\d{20})\.snapshot$/.exec(e.name);
      if (e.isFile && m) out.push(Number(m[1]));
    }
    return out.sort((a, b) => a - b);
  }

  /**
   * Deletes snapshots below `offset` (of deleted segments), keeping the latest one.
   *
   * @param offset Base offset of the oldest remaining segment.
   */
  async deleteSnapshotsBefore(offset: number): Promise<void> {
    const all = await this.snapshotOffsets();
    for (const o of all.slice(0, -1)) {
      if (o < offset) await this.removeSnapshot(o);
    }
  }

  /**
   * After a truncation: drops snapshots above the new log end offset and reloads the state from
   * the latest remaining snapshot and the log (an emptied log drops every snapshot).
   *
   * @param segments The log's segments after the truncation.
   * @param logStartOffset Log start offset.
   * @param logEndOffset The new log end offset.
   */
  async truncateAndReload(
    segments: LogSegment[],
    logStartOffset: number,
    logEndOffset: number,
  ): Promise<void> {
    if (segments.length === 1 && segments[0].size === 0) {
      for (const o of await this.snapshotOffsets()) {
        await this.removeSnapshot(o);
      }
      this.clear();
      return;
    }
    await this.load(segments, logStartOffset, logEndOffset, false);
  }

  /**
   * Replaces the state with the latest valid snapshot at or below `logEndOffset` plus the
   * batches after it: snapshots above the log end offset and corrupt ones are deleted. Without
   * a snapshot the log is read from `logStartOffset`, or after a clean shutdown only the last
   * two segments (Kafka's upgrade path).
   *
   * Segments in `rebuildTxnIndexes` (their `.txnindex` was missing, corrupt, or their tail was
   * cut by recovery) get their transaction index rebuilt from the markers replayed: the replay
   * then starts at a snapshot no later than the first of them (or at the first segment), so
   * that the transactions in progress there are known.
   *
   * @param segments The log's segments (the active one activated).
   * @param logStartOffset Log start offset.
   * @param logEndOffset Log end offset.
   * @param cleanShutdown Whether the data dir was shut down cleanly.
   * @param now Current time, for expiry.
   * @param rebuildTxnIndexes Segments whose transaction index is rebuilt (reset by this call).
   */
  async load(
    segments: LogSegment[],
    logStartOffset: number,
    logEndOffset: number,
    cleanShutdown: boolean,
    now: number = Date.now(),
    rebuildTxnIndexes: ReadonlySet<LogSegment> = new Set(),
  ): Promise<void> {
    this.clear();
    let target = logEndOffset;
    for (const seg of rebuildTxnIndexes) {
      seg.txnIndex.reset();
      target = Math.min(target, seg.baseOffset);
    }
    const offsets = await this.snapshotOffsets();
    let from = -1;
    for (let i = offsets.length - 1; i >= 0; i--) {
      const o = offsets[i];
      const path = snapshotPath(this.dir, o);
      if (o > logEndOffset) {
        this.#logger(`${this.dir}: deleting producer snapshot ${o} above log end ${logEndOffset}`);
        await this.removeSnapshot(o);
        continue;
      }
      if (o > target) continue; // kept: a rebuild needs an earlier starting point
      try {
        const bytes = await readFileBounded(path);
        const entries = decodeSnapshot(bytes);
        this.#onDisk = { offset: o, bytes };
        for (const [pid, e] of entries) {
          this.#entries.set(pid, e);
          this.#setOngoing(pid, e.txnFirstOffset);
        }
        from = o;
        break;
      } catch (e) {
        this.#logger(
          `${this.dir}: ignoring producer snapshot ${o}: ${e instanceof Error ? e.message : e}`,
        );
        await this.removeSnapshot(o);
      }
    }
    if (from < 0) {
      if (rebuildTxnIndexes.size > 0) from = segments[0].baseOffset;
      else {
        from = cleanShutdown && segments.length > 2
          ? segments[segments.length - 2].baseOffset
          : logStartOffset;
      }
    }
    for (const seg of segments) {
      if (seg.nextOffset <= from && seg !== segments[segments.length - 1]) continue;
      const rebuild = rebuildTxnIndexes.has(seg);
      let off = Math.max(from, seg.baseOffset);
      while (off < logEndOffset) {
        const buf = await seg.read(off, 1 << 20, logEndOffset);
        if (!buf || buf.length === 0) break;
        const aborted = this.replay(buf, from);
        if (rebuild) { for (const a of aborted) seg.txnIndex.append(a); }
        const next = nextOffsetAfter(buf);
        if (next === null) break;
        off = next;
      }
    }
    this.removeExpired(now);
  }
}

function newEntry(epoch: number): Entry {
  return { epoch, batches: [], lastTimestamp: -1, coordinatorEpoch: -1, txnFirstOffset: -1 };
}

function copyEntry(e: Entry): Entry {
  return { ...e, batches: e.batches.slice() };
}

function applyBatch(e: Entry, h: BatchHeader, transactional: boolean): void {
  if (h.epoch !== e.epoch) {
    e.epoch = h.epoch;
    e.batches = [];
  }
  e.batches.push({
    firstSeq: h.firstSeq,
    lastSeq: h.lastSeq,
    firstOffset: h.firstOffset,
    lastOffset: h.lastOffset,
    timestamp: h.timestamp,
  });
  if (e.batches.length > MAX_CACHED_BATCHES) e.batches.shift();
  e.lastTimestamp = h.timestamp; // Kafka: the last batch's timestamp
  if (transactional && e.txnFirstOffset < 0) e.txnFirstOffset = h.firstOffset;
}

/**
 * Ends the producer's transaction with a marker at `offset` (Kafka's `appendEndTxnMarker`): the
 * marker's epoch becomes the producer's (a new epoch forgets the cached batches), and a
 * transaction that wrote something in this partition is returned as completed.
 */
function applyMarker(
  e: Entry,
  producerId: number,
  epoch: number,
  marker: EndTxnMarkerRecord,
  offset: number,
  timestamp: number,
): CompletedTxn | undefined {
  const first = e.txnFirstOffset;
  if (epoch !== e.epoch) {
    e.epoch = epoch;
    e.batches = [];
  }
  e.txnFirstOffset = -1;
  e.coordinatorEpoch = marker.coordinatorEpoch;
  e.lastTimestamp = timestamp;
  if (first < 0) return undefined; // nothing written: no effect on the LSO, nothing to index
  return {
    producerId,
    firstOffset: first,
    lastOffset: offset,
    aborted: marker.type === ControlRecordType.ABORT,
  };
}

/**
 * Path of the snapshot file for `offset` in `dir`.
 *
 * @param dir Partition directory.
 * @param offset Snapshot offset.
 * @returns `<dir>/<20-digit offset>.snapshot`.
 *
 * @example
 * ```ts
 * import { snapshotPath } from "./producer_state.ts";
 * console.assert(snapshotPath("/d", 3) === "/d/00000000000000000003.snapshot");
 * ```
 */
export function snapshotPath(dir: string, offset: number): string {
  return `${dir}/${offsetFileStem(offset)}${PRODUCER_SNAPSHOT_FILE_SUFFIX}`;
}

async function removeIfPresent(path: string): Promise<void> {
  try {
    await Deno.remove(path);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
}

// Snapshot layout (big-endian): version i16 (2), crc32c u32 of everything after it, count i32,
// then per producer: id i64, epoch i16, lastTimestamp i64, coordinator epoch i32, first offset of
// the transaction in progress i64 (-1: none), batch count i8, and per batch firstSeq i32,
// lastSeq i32, firstOffset i64, lastOffset i64, timestamp i64. Version 1 snapshots (without the
// transaction fields) are refused, so the state and transaction indexes are rebuilt from the log.
const HEAD = 10;
const ENTRY = 31;
const BATCH = 32;

function encodeSnapshot(entries: [number, Entry][]): Uint8Array {
  let size = HEAD;
  for (const [, e] of entries) size += ENTRY + BATCH * e.batches.length;
  const b = new Uint8Array(size);
  const dv = new DataView(b.buffer);
  dv.setInt16(0, SNAPSHOT_VERSION);
  dv.setInt32(6, entries.length);
  let p = HEAD;
  for (const [pid, e] of entries) {
    dv.setBigInt64(p, BigInt(pid));
    dv.setInt16(p + 8, e.epoch);
    dv.setBigInt64(p + 10, BigInt(e.lastTimestamp));
    dv.setInt32(p + 18, e.coordinatorEpoch);
    dv.setBigInt64(p + 22, BigInt(e.txnFirstOffset));
    dv.setInt8(p + 30, e.batches.length);
    p += ENTRY;
    for (const m of e.batches) {
      dv.setInt32(p, m.firstSeq);
      dv.setInt32(p + 4, m.lastSeq);
      dv.setBigInt64(p + 8, BigInt(m.firstOffset));
      dv.setBigInt64(p + 16, BigInt(m.lastOffset));
      dv.setBigInt64(p + 24, BigInt(m.timestamp));
      p += BATCH;
    }
  }
  dv.setUint32(2, crc32c(b.subarray(6)) >>> 0);
  return b;
}

/** One producer of a snapshot file ({@linkcode readProducerSnapshot}). */
export interface ProducerSnapshotEntry {
  /** Producer id. */
  producerId: number;
  /** Producer epoch. */
  producerEpoch: number;
  /** Coordinator epoch of its last marker, -1 when none. */
  coordinatorEpoch: number;
  /** First offset of its transaction in progress, -1 when none. */
  currentTxnFirstOffset: number;
  /** Timestamp of its last batch. */
  lastTimestamp: number;
  /** Its last batches (at most {@linkcode MAX_CACHED_BATCHES}), oldest first. */
  batches: BatchMetadata[];
}

/**
 * Decodes a `<offset>.snapshot` file's bytes (what `kafka-dump-log.sh` prints of one), checking
 * its version and CRC-32C.
 *
 * @example
 * ```ts
 * import { readProducerSnapshot } from "./producer_state.ts";
 * let threw = false;
 * try {
 *   readProducerSnapshot(new Uint8Array(3));
 * } catch {
 *   threw = true;
 * }
 * console.assert(threw);
 * ```
 *
 * @param bytes The file's bytes.
 * @returns The producers, in file order.
 * @throws {Error} On another version, a CRC mismatch or a truncated file.
 */
export function readProducerSnapshot(bytes: Uint8Array): ProducerSnapshotEntry[] {
  return decodeSnapshot(bytes).map(([producerId, e]) => ({
    producerId,
    producerEpoch: e.epoch,
    coordinatorEpoch: e.coordinatorEpoch,
    currentTxnFirstOffset: e.txnFirstOffset,
    lastTimestamp: e.lastTimestamp,
    batches: e.batches,
  }));
}

function decodeSnapshot(b: Uint8Array): [number, Entry][] {
  if (b.length < HEAD) throw new Error(`snapshot is ${b.length} bytes, shorter than its header`);
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const version = dv.getInt16(0);
  if (version !== SNAPSHOT_VERSION) {
    throw new Error(`snapshot version ${version} is not ${SNAPSHOT_VERSION}`);
  }
  const crc = crc32c(b.subarray(6)) >>> 0;
  if (crc !== dv.getUint32(2)) {
    throw new Error(`bad CRC ${dv.getUint32(2)}, computed ${crc}`);
  }
  const count = dv.getInt32(6);
  const out: [number, Entry][] = [];
  let p = HEAD;
  for (let i = 0; i < count; i++) {
    if (p + ENTRY > b.length) throw new Error(`snapshot truncated in producer ${i}`);
    const pid = Number(dv.getBigInt64(p));
    const e: Entry = {
      epoch: dv.getInt16(p + 8),
      lastTimestamp: Number(dv.getBigInt64(p + 10)),
      coordinatorEpoch: dv.getInt32(p + 18),
      txnFirstOffset: Number(dv.getBigInt64(p + 22)),
      batches: [],
    };
    const nb = dv.getInt8(p + 30);
    p += ENTRY;
    if (nb < 0 || nb > MAX_CACHED_BATCHES || p + nb * BATCH > b.length) {
      throw new Error(`snapshot producer ${pid} has a bad batch count ${nb}`);
    }
    for (let j = 0; j < nb; j++) {
      e.batches.push({
        firstSeq: dv.getInt32(p),
        lastSeq: dv.getInt32(p + 4),
        firstOffset: Number(dv.getBigInt64(p + 8)),
        lastOffset: Number(dv.getBigInt64(p + 16)),
        timestamp: Number(dv.getBigInt64(p + 24)),
      });
      p += BATCH;
    }
    out.push([pid, e]);
  }
  if (p !== b.length) throw new Error(`snapshot has ${b.length - p} trailing bytes`);
  return out;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
