// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * The WASM core boundary. TEMPORARY: backed by the TypeScript reference until the
 * AssemblyScript build lands; the API below is final.
 *
 * @module
 */

import { BatchStatus, batchStatusText } from "./batch_status.ts";
import type { BatchScan, ScanOptions } from "./batch_scan.ts";
import {
  referenceCrc32c,
  referenceFindBatchPosition,
  referenceOffsetIndexLookup,
  referenceScanBatches,
  referenceTimeIndexLookup,
} from "./reference.ts";

export { BatchStatus, batchStatusText };
export type { BatchScan, ScanOptions };

/** CRC-32C of `data`, continuing from `crc` (default 0). */
export function crc32c(data: Uint8Array, crc = 0): number {
  return referenceCrc32c(data, crc);
}

/** Validate consecutive v2 batches in buf[start, end). */
export function scanBatches(buf: Uint8Array, options?: ScanOptions): BatchScan {
  return referenceScanBatches(buf, options);
}

function writeI64(buf: Uint8Array, p: number, v: number): void {
  const hi = Math.floor(v / 4294967296);
  const lo = v - hi * 4294967296;
  buf[p] = hi >>> 24;
  buf[p + 1] = hi >>> 16;
  buf[p + 2] = hi >>> 8;
  buf[p + 3] = hi;
  buf[p + 4] = lo >>> 24;
  buf[p + 5] = lo >>> 16;
  buf[p + 6] = lo >>> 8;
  buf[p + 7] = lo;
}

/** Rewrite the baseOffset field of the batch at `position` (CRC is unaffected). */
export function setBaseOffset(buf: Uint8Array, position: number, baseOffset: number): void {
  if (!Number.isInteger(position) || position < 0 || position + 12 > buf.length) {
    throw new RangeError(`setBaseOffset: invalid position: ${position}`);
  }
  if (!Number.isSafeInteger(baseOffset)) {
    throw new RangeError(`setBaseOffset: invalid baseOffset: ${baseOffset}`);
  }
  writeI64(buf, position, baseOffset);
}

/** Rewrite all batches of the last scan with consecutive offsets; returns the next offset. */
export function assignOffsets(buf: Uint8Array, scan: BatchScan, firstOffset: number): number {
  let next = firstOffset;
  for (let i = 0; i < scan.count; i++) {
    setBaseOffset(buf, scan.positions[i], next);
    scan.baseOffsets[i] = next;
    next += scan.lastOffsetDeltas[i] + 1;
  }
  return next;
}

/** Position of the batch containing `offset`, or of the first batch after it; -1 if none. */
export function findBatchPosition(
  buf: Uint8Array,
  offset: number,
  start = 0,
  end: number = buf.length,
): number {
  return referenceFindBatchPosition(buf, offset, start, end);
}

/** A sparse offset index (8-byte big-endian entries: relativeOffset u32, position u32). */
export class OffsetIndexBuffer {
  #bytes: Uint8Array;
  #dv: DataView;
  #n = 0;
  /** Creates an empty index with room for `initialCapacity` entries. */
  constructor(initialCapacity = 64) {
    this.#bytes = new Uint8Array(Math.max(1, initialCapacity) * 8);
    this.#dv = new DataView(this.#bytes.buffer);
  }
  /** Number of entries. */
  get entries(): number {
    return this.#n;
  }
  /** Appends an entry. */
  append(relativeOffset: number, position: number): void {
    if ((this.#n + 1) * 8 > this.#bytes.length) {
      const b = new Uint8Array(this.#bytes.length * 2);
      b.set(this.#bytes);
      this.#bytes = b;
      this.#dv = new DataView(b.buffer);
    }
    this.#dv.setUint32(this.#n * 8, relativeOffset);
    this.#dv.setUint32(this.#n * 8 + 4, position);
    this.#n++;
  }
  /** Slot of the greatest entry with relativeOffset ≤ target, or -1. */
  lookup(targetRelativeOffset: number): number {
    return referenceOffsetIndexLookup(this.#bytes.subarray(0, this.#n * 8), targetRelativeOffset);
  }
  /** relativeOffset of the entry at `slot`. */
  relativeOffsetAt(slot: number): number {
    return this.#dv.getUint32(slot * 8);
  }
  /** position of the entry at `slot`. */
  positionAt(slot: number): number {
    return this.#dv.getUint32(slot * 8 + 4);
  }
  /** Keeps the first n entries. */
  truncateEntries(n: number): void {
    this.#n = Math.min(n, this.#n);
  }
  /** Copy of the entries as on disk. */
  toBytes(): Uint8Array {
    return this.#bytes.slice(0, this.#n * 8);
  }
  /** Replaces contents from on-disk bytes. */
  load(bytes: Uint8Array): void {
    this.#bytes = new Uint8Array(Math.max(8, bytes.length));
    this.#bytes.set(bytes);
    this.#dv = new DataView(this.#bytes.buffer);
    this.#n = bytes.length >>> 3;
  }
  /** Gives the memory back. */
  free(): void {}
}

/** A sparse time index (12-byte big-endian entries: timestamp i64, relativeOffset u32). */
export class TimeIndexBuffer {
  #bytes: Uint8Array;
  #dv: DataView;
  #n = 0;
  /** Creates an empty index with room for `initialCapacity` entries. */
  constructor(initialCapacity = 64) {
    this.#bytes = new Uint8Array(Math.max(1, initialCapacity) * 12);
    this.#dv = new DataView(this.#bytes.buffer);
  }
  /** Number of entries. */
  get entries(): number {
    return this.#n;
  }
  /** Appends an entry. */
  append(timestamp: number, relativeOffset: number): void {
    if ((this.#n + 1) * 12 > this.#bytes.length) {
      const b = new Uint8Array(this.#bytes.length * 2);
      b.set(this.#bytes);
      this.#bytes = b;
      this.#dv = new DataView(b.buffer);
    }
    writeI64(this.#bytes, this.#n * 12, timestamp);
    this.#dv.setUint32(this.#n * 12 + 8, relativeOffset);
    this.#n++;
  }
  /** Slot of the greatest entry with timestamp ≤ target, or -1. */
  lookup(targetTimestamp: number): number {
    return referenceTimeIndexLookup(this.#bytes.subarray(0, this.#n * 12), targetTimestamp);
  }
  /** timestamp of the entry at `slot`. */
  timestampAt(slot: number): number {
    return this.#dv.getInt32(slot * 12) * 4294967296 + this.#dv.getUint32(slot * 12 + 4);
  }
  /** relativeOffset of the entry at `slot`. */
  relativeOffsetAt(slot: number): number {
    return this.#dv.getUint32(slot * 12 + 8);
  }
  /** Keeps the first n entries. */
  truncateEntries(n: number): void {
    this.#n = Math.min(n, this.#n);
  }
  /** Copy of the entries as on disk. */
  toBytes(): Uint8Array {
    return this.#bytes.slice(0, this.#n * 12);
  }
  /** Replaces contents from on-disk bytes. */
  load(bytes: Uint8Array): void {
    this.#bytes = new Uint8Array(Math.max(12, bytes.length));
    this.#bytes.set(bytes);
    this.#dv = new DataView(this.#bytes.buffer);
    this.#n = Math.floor(bytes.length / 12);
  }
  /** Gives the memory back. */
  free(): void {}
}
