// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * Plain-TypeScript reference implementations of the WASM core: an optimised slicing-by-8
 * CRC-32C, the record batch v2 scan, the header-only batch search and the sparse index
 * searches. Used ONLY by tests (to prove WASM == reference) and benches (as the baseline);
 * engine code uses `wasm/mod.ts`.
 *
 * @module
 */

import { BatchStatus, formatBatchDetail } from "./batch_status.ts";
import type { BatchScan, ScanOptions } from "./batch_scan.ts";

/** The reflected Castagnoli polynomial. */
const POLY = 0x82f63b78;

/** Slicing-by-8 tables: table k at [k*256, k*256+256). */
const T: Int32Array = (() => {
  const t = new Int32Array(8 * 256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
    t[n] = c;
  }
  for (let n = 0; n < 256; n++) {
    let c = t[n];
    for (let k = 1; k < 8; k++) {
      c = t[c & 0xff] ^ (c >>> 8);
      t[k * 256 + n] = c;
    }
  }
  return t;
})();

/**
 * CRC-32C (Castagnoli) of `data`, continuing from `crc`: slicing-by-8 in plain TypeScript.
 *
 * @example
 * ```ts
 * import { referenceCrc32c } from "./reference.ts";
 *
 * console.assert(referenceCrc32c(new TextEncoder().encode("123456789")) === 0xe3069283);
 * ```
 *
 * @param data Bytes to checksum.
 * @param crc CRC of the preceding bytes (default 0).
 * @returns The CRC as an unsigned 32-bit number.
 */
export function referenceCrc32c(data: Uint8Array, crc = 0): number {
  let c = ~crc;
  let i = 0;
  const n = data.length;
  const t = T;
  const end8 = n - 7;
  while (i < end8) {
    const a = c ^ (data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24));
    c = t[1792 + (a & 0xff)] ^ t[1536 + ((a >>> 8) & 0xff)] ^ t[1280 + ((a >>> 16) & 0xff)] ^
      t[1024 + (a >>> 24)] ^ t[768 + data[i + 4]] ^ t[512 + data[i + 5]] ^ t[256 + data[i + 6]] ^
      t[data[i + 7]];
    i += 8;
  }
  while (i < n) c = t[(c ^ data[i++]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

// --- record batch scan ---------------------------------------------------------------------

let q = 0; // cursor of the record walk
let fa = 0; // failure figures (see formatBatchDetail)
let fb = 0;
let fc = 0;

/** Reads a zigzag varint at q bounded by limit; returns the value, or sets `bad` (a status). */
let bad = 0;
function varint(buf: Uint8Array, limit: number): number {
  let raw = 0;
  for (let k = 0; k < 5; k++) {
    if (q >= limit) {
      bad = BatchStatus.BAD_RECORD_LENGTH;
      return 0;
    }
    const b = buf[q++];
    raw |= (b & 0x7f) << (7 * k);
    if ((b & 0x80) === 0) return (raw >>> 1) ^ -(raw & 1);
  }
  bad = BatchStatus.BAD_VARINT;
  return 0;
}

function skipVarlong(buf: Uint8Array, limit: number): void {
  for (let k = 0; k < 10; k++) {
    if (q >= limit) {
      bad = BatchStatus.BAD_RECORD_LENGTH;
      return;
    }
    if ((buf[q++] & 0x80) === 0) return;
  }
  bad = BatchStatus.BAD_VARINT;
}

/** Offsets of cleaned batches accepted (`ScanOptions.relaxedOffsets`). */
let relaxed = false;

/** Walks the records of an uncompressed batch at p of the given size; returns a status. */
function walkRecords(buf: Uint8Array, p: number, size: number, count: number, lod: number): number {
  const bend = p + size;
  let prev = -1;
  q = p + 61;
  bad = 0;
  for (let i = 0; i < count; i++) {
    if (q >= bend) {
      fa = count;
      fb = lod;
      fc = i;
      return BatchStatus.BAD_RECORD_COUNT;
    }
    const rs = q;
    fa = i;
    fb = rs;
    const len = varint(buf, bend);
    if (bad) return bad;
    if (len < 0 || q + len > bend) return BatchStatus.BAD_RECORD_LENGTH;
    const rend = q + len;
    if (q >= rend) return BatchStatus.BAD_RECORD_LENGTH;
    q++; // attributes
    skipVarlong(buf, rend); // timestampDelta
    if (bad) return bad;
    const od = varint(buf, rend);
    if (bad) return bad;
    if (relaxed ? od <= prev || od > lod : od !== i) return BatchStatus.BAD_OFFSET_DELTA;
    prev = od;
    const kl = varint(buf, rend);
    if (bad) return bad;
    if (kl < -1 || q + kl > rend) return BatchStatus.BAD_RECORD_LENGTH;
    if (kl > 0) q += kl;
    const vl = varint(buf, rend);
    if (bad) return bad;
    if (vl < -1 || q + vl > rend) return BatchStatus.BAD_RECORD_LENGTH;
    if (vl > 0) q += vl;
    const hc = varint(buf, rend);
    if (bad) return bad;
    if (hc < 0) return BatchStatus.BAD_HEADER;
    for (let h = 0; h < hc; h++) {
      const hk = varint(buf, rend);
      if (bad) return bad;
      if (hk < 0) return BatchStatus.BAD_HEADER;
      if (q + hk > rend) return BatchStatus.BAD_RECORD_LENGTH;
      q += hk;
      const hv = varint(buf, rend);
      if (bad) return bad;
      if (hv < -1) return BatchStatus.BAD_HEADER;
      if (q + hv > rend) return BatchStatus.BAD_RECORD_LENGTH;
      if (hv > 0) q += hv;
    }
    if (q !== rend) return BatchStatus.BAD_RECORD_LENGTH;
  }
  if (q !== bend) {
    fa = bend - q;
    fb = count;
    return BatchStatus.BAD_RECORDS_SIZE;
  }
  return BatchStatus.OK;
}

function i64(dv: DataView, p: number): number {
  return dv.getInt32(p) * 4294967296 + dv.getUint32(p + 4);
}

/** Throws a RangeError unless `[start, end)` is a valid integer range of `buf`. */
function checkRange(what: string, buf: Uint8Array, start: number, end: number): void {
  if (
    !Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end > buf.length ||
    start > end
  ) {
    throw new RangeError(
      `${what}: invalid range: start ${start}, end ${end}, buffer length ${buf.length}`,
    );
  }
}

/**
 * Reference scan of consecutive record batches v2 in `buf[start, end)`; same contract as
 * `scanBatches` in `core.ts`, but returns a fresh object whose columns have length `count`.
 *
 * @example
 * ```ts
 * import { referenceScanBatches } from "./reference.ts";
 *
 * console.assert(referenceScanBatches(new Uint8Array(0)).count === 0);
 * ```
 *
 * @param buf Bytes holding the batches.
 * @param options Range and checks, see {@link ScanOptions}.
 * @returns The scan result.
 * @throws {RangeError} If the range or `maxBatchSize` is invalid.
 */
export function referenceScanBatches(buf: Uint8Array, options: ScanOptions = {}): BatchScan {
  const start = options.start ?? 0;
  const end = options.end ?? buf.length;
  checkRange("referenceScanBatches", buf, start, end);
  const walk = options.walkRecords ?? true;
  const verify = options.verifyCrc ?? true;
  relaxed = options.relaxedOffsets ?? false;
  const max = options.maxBatchSize ?? 0x7fffffff;
  if (!Number.isInteger(max) || max < 0) {
    throw new RangeError(`referenceScanBatches: invalid maxBatchSize: ${max}`);
  }
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const cols = {
    positions: [] as number[],
    sizes: [] as number[],
    baseOffsets: [] as number[],
    lastOffsetDeltas: [] as number[],
    recordCounts: [] as number[],
    firstTimestamps: [] as number[],
    maxTimestamps: [] as number[],
    attributes: [] as number[],
    producerIds: [] as number[],
    producerEpochs: [] as number[],
    baseSequences: [] as number[],
  };
  let p = start;
  let status: number = BatchStatus.OK;
  let records = 0;
  fa = fb = fc = 0;
  while (p < end) {
    const rem = end - p;
    if (rem < 12) {
      status = BatchStatus.TRUNCATED;
      fa = 12;
      fb = rem;
      break;
    }
    const batchLength = dv.getInt32(p + 8);
    if (batchLength < 49 || 12 + batchLength > max) {
      status = BatchStatus.BAD_LENGTH;
      fa = batchLength;
      fb = max;
      break;
    }
    const size = 12 + batchLength;
    if (rem < 17) {
      status = BatchStatus.TRUNCATED;
      fa = size;
      fb = rem;
      break;
    }
    const magic = dv.getInt8(p + 16);
    if (magic !== 2) {
      status = BatchStatus.BAD_MAGIC;
      fa = magic;
      break;
    }
    if (rem < size) {
      status = BatchStatus.TRUNCATED;
      fa = size;
      fb = rem;
      break;
    }
    if (verify) {
      const stored = dv.getUint32(p + 17);
      const computed = referenceCrc32c(buf.subarray(p + 21, p + size));
      if (stored !== computed) {
        status = BatchStatus.BAD_CRC;
        fa = stored;
        fb = computed;
        break;
      }
    }
    const attributes = dv.getInt16(p + 21);
    const codec = attributes & 7;
    if (codec > 4) {
      status = BatchStatus.BAD_ATTRIBUTES;
      fa = codec;
      break;
    }
    const lod = dv.getInt32(p + 23);
    const count = dv.getInt32(p + 57);
    if (count < 0 || (codec === 0 ? (relaxed ? lod < count - 1 : lod !== count - 1) : lod < 0)) {
      status = BatchStatus.BAD_RECORD_COUNT;
      fa = count;
      fb = lod;
      fc = -1;
      break;
    }
    if ((attributes & 0x20) !== 0 && count !== 1) {
      status = BatchStatus.BAD_CONTROL;
      fa = count;
      break;
    }
    if (codec === 0 && walk) {
      status = walkRecords(buf, p, size, count, lod);
      if (status !== BatchStatus.OK) break;
    }
    cols.positions.push(p);
    cols.sizes.push(size);
    cols.baseOffsets.push(i64(dv, p));
    cols.lastOffsetDeltas.push(lod);
    cols.recordCounts.push(count);
    cols.firstTimestamps.push(i64(dv, p + 27));
    cols.maxTimestamps.push(i64(dv, p + 35));
    cols.attributes.push(attributes);
    cols.producerIds.push(i64(dv, p + 43));
    cols.producerEpochs.push(dv.getInt16(p + 51));
    cols.baseSequences.push(dv.getInt32(p + 53));
    records += count;
    p += size;
  }
  const n = cols.positions.length;
  return {
    status,
    count: n,
    validBytes: p - start,
    detail: formatBatchDetail(n, p, status, fa, fb, fc),
    records,
    positions: Int32Array.from(cols.positions),
    sizes: Int32Array.from(cols.sizes),
    baseOffsets: Float64Array.from(cols.baseOffsets),
    lastOffsetDeltas: Int32Array.from(cols.lastOffsetDeltas),
    recordCounts: Int32Array.from(cols.recordCounts),
    firstTimestamps: Float64Array.from(cols.firstTimestamps),
    maxTimestamps: Float64Array.from(cols.maxTimestamps),
    attributes: Int32Array.from(cols.attributes),
    producerIds: Float64Array.from(cols.producerIds),
    producerEpochs: Int32Array.from(cols.producerEpochs),
    baseSequences: Int32Array.from(cols.baseSequences),
  };
}

/**
 * Reference binary search of an offset index in Kafka's on-disk layout (8-byte big-endian
 * entries: relativeOffset u32, position u32).
 *
 * @example
 * ```ts
 * import { referenceOffsetIndexLookup } from "./reference.ts";
 *
 * const idx = new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 16, 0]);
 * console.assert(referenceOffsetIndexLookup(idx, 10) === 1);
 * ```
 *
 * @param bytes The entries.
 * @param target The relative offset to look up.
 * @returns The slot of the last entry whose relativeOffset ≤ target, or -1.
 */
export function referenceOffsetIndexLookup(bytes: Uint8Array, target: number): number {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return referenceOffsetIndexSearch(dv, bytes.length >>> 3, target);
}

/**
 * {@link referenceOffsetIndexLookup} over a prepared DataView (no allocation per call; the
 * fair TS baseline for benchmarks).
 *
 * @example
 * ```ts
 * import { referenceOffsetIndexSearch } from "./reference.ts";
 *
 * console.assert(referenceOffsetIndexSearch(new DataView(new ArrayBuffer(0)), 0, 1) === -1);
 * ```
 *
 * @param dv View of the entries.
 * @param entries Number of entries.
 * @param target The relative offset to look up.
 * @returns The slot of the last entry whose relativeOffset ≤ target, or -1.
 */
export function referenceOffsetIndexSearch(dv: DataView, entries: number, target: number): number {
  let lo = 0;
  let hi = entries; // first slot whose key > target lies in [lo, hi]
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (dv.getUint32(mid * 8) <= target) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}

/**
 * Reference binary search of a time index in Kafka's on-disk layout (12-byte big-endian
 * entries: timestamp i64, relativeOffset u32).
 *
 * @example
 * ```ts
 * import { referenceTimeIndexLookup } from "./reference.ts";
 *
 * console.assert(referenceTimeIndexLookup(new Uint8Array(0), 10) === -1);
 * ```
 *
 * @param bytes The entries.
 * @param target The timestamp to look up.
 * @returns The slot of the last entry whose timestamp ≤ target, or -1.
 */
export function referenceTimeIndexLookup(bytes: Uint8Array, target: number): number {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return referenceTimeIndexSearch(dv, Math.floor(bytes.length / 12), target);
}

/**
 * {@link referenceTimeIndexLookup} over a prepared DataView (no allocation per call).
 *
 * @example
 * ```ts
 * import { referenceTimeIndexSearch } from "./reference.ts";
 *
 * console.assert(referenceTimeIndexSearch(new DataView(new ArrayBuffer(0)), 0, 1) === -1);
 * ```
 *
 * @param dv View of the entries.
 * @param entries Number of entries.
 * @param target The timestamp to look up.
 * @returns The slot of the last entry whose timestamp ≤ target, or -1.
 */
export function referenceTimeIndexSearch(dv: DataView, entries: number, target: number): number {
  let lo = 0;
  let hi = entries;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (i64(dv, mid * 12) <= target) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}
