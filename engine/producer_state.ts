/**
 * Idempotent-producer state of one partition, after Kafka's `ProducerStateManager`: for every
 * producer id the current epoch and the metadata of its last {@linkcode MAX_CACHED_BATCHES}
 * batches, used to drop duplicates (answered with their original offsets) and to refuse
 * out-of-order sequences and fenced epochs. The state is snapshotted to
 * `<20-digit offset>.snapshot` files at segment roll and on clean shutdown, and rebuilt on open
 * from the latest valid snapshot plus the batch headers after it.
 *
 * Rules (Kafka 2.7+, `ProducerAppendInfo`):
 * - same epoch and a sequence range equal to one of the cached batches → duplicate;
 * - epoch lower than the current one → INVALID_PRODUCER_EPOCH (47);
 * - epoch higher than the current one → the sequence must restart at 0, else
 *   OUT_OF_ORDER_SEQUENCE_NUMBER (45);
 * - same epoch → firstSeq must be lastSeq + 1 (wrapping from 2^31-1 to 0), else
 *   OUT_OF_ORDER_SEQUENCE_NUMBER;
 * - no state for the producer id (new, or expired after `producer.id.expiration.ms`) → any
 *   sequence is accepted (KIP-360: brokers ≥ 2.5 no longer answer UNKNOWN_PRODUCER_ID).
 *
 * @module
 */

import { incrementSequence } from "../records/mod.ts";
import { crc32c } from "../wasm/mod.ts";
import {
  attributesAt,
  baseOffsetAt,
  baseSequenceAt,
  batchSizeAt,
  CONTROL_BIT,
  hasProducerIdAt,
  lastOffsetDeltaAt,
  maxTimestampAt,
  nextOffsetAfter,
  producerEpochAt,
  producerIdAt,
  RECORD_BATCH_OVERHEAD,
} from "../records/mod.ts";
import { EngineError, ErrorCode } from "./errors.ts";
import { offsetFileStem } from "./names.ts";
import type { LogSegment } from "./segment.ts";

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
/** Kafka's `DefaultRecordBatch.incrementSequence` (owned by `records/`). */
export { incrementSequence };

const SNAPSHOT_VERSION = 1;
const INT32_MAX = 2147483647;

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
  /** Transaction coordinator epoch (-1: no transactions yet). */
  coordinatorEpoch: number;
  /** First offset of the open transaction (-1: none). */
  currentTxnStartOffset: number;
}

interface Entry {
  epoch: number;
  batches: BatchMetadata[];
  lastTimestamp: number;
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

function readHeader(b: Uint8Array, p: number, baseOffset: number): BatchHeader | undefined {
  if ((attributesAt(b, p) & CONTROL_BIT) !== 0 || !hasProducerIdAt(b, p)) return undefined;
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
 * Producer id → epoch and last batches, for one partition directory.
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
 */
export class ProducerStateManager {
  /** The partition directory holding the snapshots. */
  readonly dir: string;
  #entries = new Map<number, Entry>();
  #pending: Map<number, Entry> | undefined;
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
   * Checks the batches of one append (in order) against the state, or finds a duplicate.
   * Batches without a producer id (-1) and control batches are ignored. The batches are
   * recorded only by a following {@linkcode ProducerStateManager.commitAppend}.
   *
   * @param records The append's batches.
   * @param positions Byte position of each batch in `records`.
   * @param nextOffset The offset the first record will get (later batches follow on).
   * @param what What is being done, for error messages (e.g. `append to t-0`).
   * @returns The original batch if the append is a duplicate (write nothing), else `undefined`.
   * @throws {EngineError} OUT_OF_ORDER_SEQUENCE_NUMBER, INVALID_PRODUCER_EPOCH; INVALID_RECORD for
   * a producer id with a negative sequence (as Kafka's `LogValidator`).
   */
  checkAppend(
    records: Uint8Array,
    positions: ArrayLike<number>,
    nextOffset: number,
    what: string,
  ): DuplicateBatch | undefined {
    this.#pending = undefined;
    const n = positions.length;
    let pending: Map<number, Entry> | undefined;
    let offset = nextOffset;
    for (let i = 0; i < n; i++) {
      const p = positions[i];
      const base = offset;
      offset += lastOffsetDeltaAt(records, p) + 1;
      if (!hasProducerIdAt(records, p)) continue; // not idempotent (the common case)
      const h = readHeader(records, p, base);
      if (!h) continue;
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
          const last = current.batches.length > 0
            ? current.batches[current.batches.length - 1].lastSeq
            : -1;
          if (last >= 0 && !inSequence(last, h.firstSeq)) {
            throw new EngineError(
              OUT_OF_ORDER_SEQUENCE_NUMBER,
              `${what} failed: producer ${h.producerId} epoch ${h.epoch} sent sequence ` +
                `${h.firstSeq}, expected ${incrementSequence(last, 1)}`,
            );
          }
        }
      }
      const next = current
        ? copyEntry(current)
        : { epoch: h.epoch, batches: [], lastTimestamp: -1 };
      applyBatch(next, h);
      pending.set(h.producerId, next);
    }
    this.#pending = pending;
    return undefined;
  }

  /**
   * Records the batches of the last {@linkcode ProducerStateManager.checkAppend} that found no
   * duplicate and threw nothing; call once they are written.
   */
  commitAppend(): void {
    if (this.#pending) { for (const [pid, e] of this.#pending) this.#entries.set(pid, e); }
    this.#pending = undefined;
  }

  /**
   * Forgets the batches of the last {@linkcode ProducerStateManager.checkAppend}: their write
   * failed, so the producer's retry must be accepted as new.
   */
  abortAppend(): void {
    this.#pending = undefined;
  }

  /**
   * Records a batch read back from the log (no checks, as Kafka does for replication and
   * recovery). Batches already covered by the state are skipped.
   *
   * @param records Whole batches as stored (base offsets assigned).
   */
  replay(records: Uint8Array): void {
    let p = 0;
    while (p + RECORD_BATCH_OVERHEAD <= records.length) {
      const size = batchSizeAt(records, p);
      if (size < RECORD_BATCH_OVERHEAD || p + size > records.length) break;
      const h = readHeader(records, p, baseOffsetAt(records, p));
      p += size;
      if (!h) continue;
      let e = this.#entries.get(h.producerId);
      if (e) {
        const last = e.batches[e.batches.length - 1];
        if (last && last.lastOffset >= h.firstOffset) continue;
      } else {
        e = { epoch: h.epoch, batches: [], lastTimestamp: -1 };
        this.#entries.set(h.producerId, e);
      }
      applyBatch(e, h);
    }
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
        coordinatorEpoch: -1,
        currentTxnStartOffset: -1,
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
   * `now`.
   *
   * @param now Current time in ms.
   * @returns Number of producer ids removed.
   */
  removeExpired(now: number): number {
    let n = 0;
    for (const [pid, e] of this.#entries) {
      if (now - e.lastTimestamp >= this.#expirationMs) {
        this.#entries.delete(pid);
        n++;
      }
    }
    return n;
  }

  /** Forgets every producer. */
  clear(): void {
    this.#entries.clear();
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
      if (batches.length === 0) continue;
      const lastTimestamp = batches[batches.length - 1].timestamp;
      entries.push([pid, { epoch: e.epoch, batches, lastTimestamp }]);
    }
    const bytes = encodeSnapshot(entries);
    const path = snapshotPath(this.dir, offset);
    const tmp = `${path}.tmp`;
    try {
      const f = await Deno.open(tmp, { write: true, create: true, truncate: true });
      try {
        let w = 0;
        while (w < bytes.length) w += await f.write(bytes.subarray(w));
        await f.sync();
      } finally {
        f.close();
      }
      await Deno.rename(tmp, path);
    } catch (e) {
      await removeIfPresent(tmp).catch(() => {}); // a full disk: hold no space
      throw e;
    }
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
      if (o < offset) await removeIfPresent(snapshotPath(this.dir, o));
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
        await removeIfPresent(snapshotPath(this.dir, o));
      }
      this.clear();
      return;
    }
    await this.load(segments, logStartOffset, logEndOffset, false);
  }

  /**
   * Replaces the state with the latest valid snapshot at or below `logEndOffset` plus the batch
   * headers after it: snapshots above the log end offset and corrupt ones are deleted. Without
   * a snapshot the log is scanned from `logStartOffset`, or after a clean shutdown only the last
   * two segments (Kafka's upgrade path).
   *
   * @param segments The log's segments (the active one activated).
   * @param logStartOffset Log start offset.
   * @param logEndOffset Log end offset.
   * @param cleanShutdown Whether the data dir was shut down cleanly.
   * @param now Current time, for expiry.
   */
  async load(
    segments: LogSegment[],
    logStartOffset: number,
    logEndOffset: number,
    cleanShutdown: boolean,
    now: number = Date.now(),
  ): Promise<void> {
    this.#entries.clear();
    const offsets = await this.snapshotOffsets();
    let from = -1;
    for (let i = offsets.length - 1; i >= 0; i--) {
      const o = offsets[i];
      const path = snapshotPath(this.dir, o);
      if (o > logEndOffset) {
        this.#logger(`${this.dir}: deleting producer snapshot ${o} above log end ${logEndOffset}`);
        await removeIfPresent(path);
        continue;
      }
      try {
        const entries = decodeSnapshot(await Deno.readFile(path));
        for (const [pid, e] of entries) this.#entries.set(pid, e);
        from = o;
        break;
      } catch (e) {
        this.#logger(
          `${this.dir}: ignoring producer snapshot ${o}: ${e instanceof Error ? e.message : e}`,
        );
        await removeIfPresent(path);
      }
    }
    if (from < 0) {
      from = cleanShutdown && segments.length > 2
        ? segments[segments.length - 2].baseOffset
        : logStartOffset;
    }
    for (const seg of segments) {
      if (seg.nextOffset <= from && seg !== segments[segments.length - 1]) continue;
      let off = Math.max(from, seg.baseOffset);
      while (off < logEndOffset) {
        const buf = await seg.read(off, 1 << 20, logEndOffset);
        if (!buf || buf.length === 0) break;
        this.replay(buf);
        const next = nextOffsetAfter(buf);
        if (next === null) break;
        off = next;
      }
    }
    this.removeExpired(now);
  }
}

function copyEntry(e: Entry): Entry {
  return { epoch: e.epoch, batches: e.batches.slice(), lastTimestamp: e.lastTimestamp };
}

function applyBatch(e: Entry, h: BatchHeader): void {
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

// Snapshot layout (big-endian): version i16, crc32c u32 of everything after it, count i32, then
// per producer: id i64, epoch i16, lastTimestamp i64, batch count i8, and per batch firstSeq i32,
// lastSeq i32, firstOffset i64, lastOffset i64, timestamp i64.
const HEAD = 10;
const ENTRY = 19;
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
    dv.setInt8(p + 18, e.batches.length);
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

function decodeSnapshot(b: Uint8Array): [number, Entry][] {
  if (b.length < HEAD) throw new Error(`snapshot is ${b.length} bytes, shorter than its header`);
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const version = dv.getInt16(0);
  if (version !== SNAPSHOT_VERSION) throw new Error(`unknown snapshot version ${version}`);
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
      batches: [],
    };
    const nb = dv.getInt8(p + 18);
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
