/**
 * A segment's transaction index (Kafka's `TransactionIndex`, file `<20-digit base>.txnindex`):
 * the aborted transactions whose ABORT marker is in the segment, in marker order. Each entry is
 * Kafka's `AbortedTxn`, 34 bytes big-endian: version i16 (0), producer id i64, first offset i64
 * (the transaction's first batch in this partition), last offset i64 (the marker) and the last
 * stable offset i64 once the marker was written. A `read_committed` fetch returns the entries
 * overlapping the fetched range so that clients drop the aborted batches
 * ({@linkcode TransactionIndex.collect}); the log cleaner uses them to remove aborted data.
 *
 * The entries are kept in memory and the file is written whole (through a temporary file) at
 * roll, flush and close, like the offset and time indexes. Unlike Kafka, every segment has the
 * file, empty when nothing aborted in it: a missing file means "unknown" and the loader rebuilds
 * it from the log (as it does a corrupt one).
 *
 * @module
 */

import { writeFileAtomic } from "./checkpoint.ts";
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
 * more): whole entries, a known version, offsets within ±2^53, first ≤ last, last offsets
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
  #entries: AbortedTxn[] = [];

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

  /** The entries, in marker order (do not modify). */
  get entries(): readonly AbortedTxn[] {
    return this.#entries;
  }

  /**
   * Adds an aborted transaction (its marker follows every entry's marker).
   *
   * @param txn The aborted transaction.
   * @throws {RangeError} If its last offset does not follow the last entry's (Kafka's check).
   */
  append(txn: AbortedTxn): void {
    const last = this.#entries[this.#entries.length - 1];
    if (last !== undefined && last.lastOffset >= txn.lastOffset) {
      throw new RangeError(
        `append to ${this.path} failed: last offset ${txn.lastOffset} does not follow ` +
          `${last.lastOffset}`,
      );
    }
    this.#entries.push({ ...txn });
    this.dirty = true;
  }

  /**
   * Adds the entries overlapping `[fetchOffset, upperBoundOffset)` to `out` (Kafka's
   * `collectAbortedTxns`): last offset ≥ `fetchOffset` and first offset < `upperBoundOffset`.
   *
   * @param fetchOffset First offset of the range.
   * @param upperBoundOffset End of the range (exclusive).
   * @param out Where the entries go.
   * @returns Whether the search is complete: an entry's last stable offset reached the upper
   * bound, so no later segment can hold a transaction that started inside the range.
   */
  collect(fetchOffset: number, upperBoundOffset: number, out: AbortedTxn[]): boolean {
    for (const e of this.#entries) {
      if (e.lastOffset >= fetchOffset && e.firstOffset < upperBoundOffset) out.push({ ...e });
      if (e.lastStableOffset >= upperBoundOffset) return true;
    }
    return false;
  }

  /**
   * Drops the entries whose marker is at or after `offset` (the log was truncated there).
   *
   * @param offset First offset removed from the log.
   */
  truncateTo(offset: number): void {
    const keep = this.#entries.findIndex((e) => e.lastOffset >= offset);
    if (keep < 0) return;
    this.#entries = this.#entries.slice(0, keep);
    this.dirty = true;
  }

  /** Drops every entry (before the loader rebuilds them from the log). */
  reset(): void {
    this.#entries = [];
    this.dirty = true;
  }

  /**
   * Reads and checks the file. Requires `--allow-read`.
   *
   * @returns `""` if loaded, else why the file cannot be trusted (missing, cut, out of order):
   * the entries are then empty and the caller rebuilds them from the log.
   */
  async load(): Promise<string> {
    this.#entries = [];
    let bytes: Uint8Array;
    try {
      bytes = await Deno.readFile(this.path);
    } catch (e) {
      return e instanceof Deno.errors.NotFound
        ? "transaction index missing"
        : `cannot read transaction index: ${e instanceof Error ? e.message : e}`;
    }
    const entries = decodeAbortedTxns(bytes, this.baseOffset);
    if (typeof entries === "string") return `transaction index: ${entries}`;
    this.#entries = entries;
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
      await writeFileAtomic(this.path, encodeAbortedTxns(this.#entries));
    } catch (e) {
      this.dirty = true;
      await Deno.remove(this.path).catch(() => {});
      throw e;
    }
  }
}
