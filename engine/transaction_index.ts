/**
 * A segment's transaction index (Kafka's `TransactionIndex`, file `<20-digit base>.txnindex`):
 * the aborted transactions whose ABORT marker is in the segment, in marker order. Each entry is
 * Kafka's `AbortedTxn`, 34 bytes big-endian: version i16 (0), producer id i64, first offset i64
 * (the transaction's first batch in this partition), last offset i64 (the marker) and the last
 * stable offset i64 once the marker was written. A `read_committed` fetch returns the entries
 * overlapping the fetched range so that clients drop the aborted batches
 * ({@linkcode TransactionIndex.collect}); the log cleaner uses them to remove aborted data.
 *
 * The entries are kept in memory, packed (32 bytes each), and the file is written whole (through
 * a temporary file) at roll, flush and close, like the offset and time indexes. Unlike Kafka, every segment has the
 * file, empty when nothing aborted in it: a missing file means "unknown" and the loader rebuilds
 * it from the log (as it does a corrupt one).
 *
 * @module
 */

import { writeFileAtomic } from "./checkpoint.ts";
import { readFileBounded } from "./transient_files.ts";
import { offsetFileStem, TXN_INDEX_FILE_SUFFIX } from "./names.ts";

/** An aborted transaction of one partition (an entry of Kafka's `.txnindex`). */
export interface AbortedTxn {
  /** Producer id. */
  producerId: number;
  /** Offset of the transaction's first batch in the partition. */
  firstOffset: number;
  /** Offset of its ABORT marker. */
  lastOffset: number;
  /** The partition's last stable offset once the marker was written. */
  lastStableOffset: number;
}

/** Bytes of one entry (Kafka's `AbortedTxn.TOTAL_SIZE`). */
export const ABORTED_TXN_SIZE = 34;
/** The entry version written (Kafka's `AbortedTxn.CURRENT_VERSION`). */
export const ABORTED_TXN_VERSION = 0;

/**
 * Encodes entries in Kafka's `.txnindex` layout.
 *
 * @param entries The aborted transactions, in marker order.
 * @returns `34 × entries.length` bytes.
 *
 * @example
 * ```ts
 * import { encodeAbortedTxns } from "./transaction_index.ts";
 * const b = encodeAbortedTxns([{ producerId: 7, firstOffset: 1, lastOffset: 3, lastStableOffset: 4 }]);
 * console.assert(b.length === 34 && b[9] === 7 && b[33] === 4);
 * ```
 */
export function encodeAbortedTxns(entries: readonly AbortedTxn[]): Uint8Array {
  const b = new Uint8Array(ABORTED_TXN_SIZE * entries.length);
  const dv = new DataView(b.buffer);
  let p = 0;
  for (const e of entries) {
    dv.setInt16(p, ABORTED_TXN_VERSION);
    dv.setBigInt64(p + 2, BigInt(e.producerId));
    dv.setBigInt64(p + 10, BigInt(e.firstOffset));
    dv.setBigInt64(p + 18, BigInt(e.lastOffset));
    dv.setBigInt64(p + 26, BigInt(e.lastStableOffset));
    p += ABORTED_TXN_SIZE;
  }
  return b;
}

/**
 * Decodes a `.txnindex` file and checks it against its segment (Kafka's `sanityCheck`, and
 * more): whole entries, a known version, offsets within ±2^53, first <= last, last offsets
 * strictly increasing and not below the segment's base offset.
 *
 * @param bytes The file's bytes.
 * @param baseOffset The segment's base offset.
 * @returns The entries, or a string saying why the file cannot be trusted.
 *
 * @example
 * ```ts
 * import { decodeAbortedTxns, encodeAbortedTxns } from "./transaction_index.ts";
 * const e = { producerId: 7, firstOffset: 1, lastOffset: 3, lastStableOffset: 4 };
 * const back = decodeAbortedTxns(encodeAbortedTxns([e]), 0);
 * console.assert(Array.isArray(back) && back[0].lastOffset === 3);
 * console.assert(typeof decodeAbortedTxns(new Uint8Array(5), 0) === "string");
 * ```
 */
export function decodeAbortedTxns(bytes: Uint8Array, baseOffset: number): AbortedTxn[] | string {
  if (bytes.length % ABORTED_TXN_SIZE !== 0) {
    return `size ${bytes.length} is not a multiple of ${ABORTED_TXN_SIZE}`;
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: AbortedTxn[] = [];
  let prev = -1;
  for (let p = 0; p < bytes.length; p += ABORTED_TXN_SIZE) {
    const i = p / ABORTED_TXN_SIZE;
    const version = dv.getInt16(p);
    if (version !== ABORTED_TXN_VERSION) return `entry ${i} has unknown version ${version}`;
    const e: AbortedTxn = {
      producerId: Number(dv.getBigInt64(p + 2)),
      firstOffset: Number(dv.getBigInt64(p + 10)),
      lastOffset: Number(dv.getBigInt64(p + 18)),
      lastStableOffset: Number(dv.getBigInt64(p + 26)),
    };
    if (
      !Number.isSafeInteger(e.producerId) || e.producerId < 0 ||
      !Number.isSafeInteger(e.firstOffset) || !Number.isSafeInteger(e.lastOffset) ||
      !Number.isSafeInteger(e.lastStableOffset) || e.firstOffset < 0 ||
      e.firstOffset > e.lastOffset || e.lastOffset < baseOffset || e.lastOffset <= prev
    ) {
      return `entry ${i} (producer ${e.producerId}, offsets ${e.firstOffset}..${e.lastOffset}) ` +
        `is out of order or outside the segment`;
    }
    prev = e.lastOffset;
    out.push(e);
  }
  return out;
}

/**
 * Path of the `.txnindex` file of the segment at `baseOffset` in `dir`.
 *
 * @param dir Partition directory.
 * @param baseOffset Segment base offset.
 * @returns `<dir>/<20-digit base offset>.txnindex`.
 *
 * @example
 * ```ts
 * import { txnIndexPath } from "./transaction_index.ts";
 * console.assert(txnIndexPath("/d", 3) === "/d/00000000000000000003.txnindex");
 * ```
 */
export function txnIndexPath(dir: string, baseOffset: number): string {
  return `${dir}/${offsetFileStem(baseOffset)}${TXN_INDEX_FILE_SUFFIX}`;
}

/**
 * The aborted transactions of one segment.
 *
 * @example
 * ```ts
 * import { type AbortedTxn, TransactionIndex } from "./transaction_index.ts";
 * const idx = new TransactionIndex("/tmp/unused", 0);
 * idx.append({ producerId: 1, firstOffset: 2, lastOffset: 5, lastStableOffset: 6 });
 * const out: AbortedTxn[] = [];
 * console.assert(idx.collect(0, 10, out) === false && out.length === 1);
 * ```
 */
export class TransactionIndex {
  /** The segment's base offset. */
  readonly baseOffset: number;
  /** Path of the file. */
  readonly path: string;
  /** Whether the entries changed since the file was last written. */
  dirty = false;
  /** Entries packed 4 numbers each: producer id, first, last and last stable offsets. */
  #data = new Float64Array(0);
  #count = 0;

  /**
   * An empty index (call {@linkcode TransactionIndex.load} to read the file).
   *
   * @param dir Partition directory.
   * @param baseOffset Segment base offset.
   */
  constructor(dir: string, baseOffset: number) {
    this.baseOffset = baseOffset;
    this.path = txnIndexPath(dir, baseOffset);
  }

  /** Copies of the entries, in marker order. */
  get entries(): AbortedTxn[] {
    const out: AbortedTxn[] = [];
    for (let i = 0; i < this.#count; i++) out.push(this.#at(i));
    return out;
  }

  /** Number of entries. */
  get size(): number {
    return this.#count;
  }

  #at(i: number): AbortedTxn {
    const d = this.#data;
    const p = i * 4;
    return {
      producerId: d[p],
      firstOffset: d[p + 1],
      lastOffset: d[p + 2],
      lastStableOffset: d[p + 3],
    };
  }

  #push(txn: AbortedTxn): void {
    if ((this.#count + 1) * 4 > this.#data.length) {
      const grown = new Float64Array(Math.max(16, this.#data.length * 2));
      grown.set(this.#data);
      this.#data = grown;
    }
    const p = this.#count++ * 4;
    this.#data[p] = txn.producerId;
    this.#data[p + 1] = txn.firstOffset;
    this.#data[p + 2] = txn.lastOffset;
    this.#data[p + 3] = txn.lastStableOffset;
  }

  /**
   * Adds an aborted transaction (its marker follows every entry's marker).
   *
   * @param txn The aborted transaction.
   * @throws {RangeError} If its last offset does not follow the last entry's (Kafka's check).
   */
  append(txn: AbortedTxn): void {
    const last = this.#count > 0 ? this.#data[this.#count * 4 - 2] : -1;
    if (this.#count > 0 && last >= txn.lastOffset) {
      throw new RangeError(
        `append to ${this.path} failed: last offset ${txn.lastOffset} does not follow ${last}`,
      );
    }
    this.#push(txn);
    this.dirty = true;
  }

  /**
   * Adds the entries overlapping `[fetchOffset, upperBoundOffset)` to `out` (Kafka's
   * `collectAbortedTxns`): last offset >= `fetchOffset` and first offset < `upperBoundOffset`.
   *
   * @param fetchOffset First offset of the range.
   * @param upperBoundOffset End of the range (exclusive).
   * @param out Where the entries go.
   * @returns Whether the search is complete: an entry's last stable offset reached the upper
   * bound, so no later segment can hold a transaction that started inside the range.
   */
  collect(fetchOffset: number, upperBoundOffset: number, out: AbortedTxn[]): boolean {
    const d = this.#data;
    for (let p = 0; p < this.#count * 4; p += 4) {
      if (d[p + 2] >= fetchOffset && d[p + 1] < upperBoundOffset) out.push(this.#at(p / 4));
      if (d[p + 3] >= upperBoundOffset) return true;
    }
    return false;
  }

  /**
   * Drops the entries whose marker is at or after `offset` (the log was truncated there).
   *
   * @param offset First offset removed from the log.
   */
  truncateTo(offset: number): void {
    let keep = this.#count;
    while (keep > 0 && this.#data[(keep - 1) * 4 + 2] >= offset) keep--;
    if (keep === this.#count) return;
    this.#count = keep;
    this.dirty = true;
  }

  /** Drops every entry (before the loader rebuilds them from the log). */
  reset(): void {
    this.#count = 0;
    this.dirty = true;
  }

  /**
   * Reads and checks the file. Requires `--allow-read`.
   *
   * @returns `""` if loaded, else why the file cannot be trusted (missing, cut, out of order):
   * the entries are then empty and the caller rebuilds them from the log.
   */
  async load(): Promise<string> {
    this.#count = 0;
    let bytes: Uint8Array;
    try {
      bytes = await readFileBounded(this.path);
    } catch (e) {
      return e instanceof Deno.errors.NotFound
        ? "transaction index missing"
        : `cannot read transaction index: ${e instanceof Error ? e.message : e}`;
    }
    const entries = decodeAbortedTxns(bytes, this.baseOffset);
    if (typeof entries === "string") return `transaction index: ${entries}`;
    this.#data = new Float64Array(entries.length * 4);
    for (const e of entries) this.#push(e);
    this.dirty = false;
    return "";
  }

  /**
   * Writes the file if the entries changed, through a fsynced temporary file renamed into place
   * (a cut file would hide aborted transactions). Requires `--allow-write`.
   *
   * @throws {Error} The I/O error; the old file is removed then (the loader rebuilds a missing
   * one) and the index stays dirty.
   */
  async write(): Promise<void> {
    if (!this.dirty) return;
    this.dirty = false;
    try {
      await writeFileAtomic(this.path, encodeAbortedTxns(this.entries));
    } catch (e) {
      this.dirty = true;
      await Deno.remove(this.path).catch(() => {});
      throw e;
    }
  }
}
