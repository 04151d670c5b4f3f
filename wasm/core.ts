// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * The WASM core boundary: the ONLY file that touches WebAssembly memory.
 *
 * How the boundary works (as-sha256 style):
 * - The module (`assembly/index.ts`, built by `build.ts`) is embedded base64 in
 *   `sluice_core_wasm.ts` and instantiated once, synchronously, at the first call into it (not at
 *   import: V8's WebAssembly engine takes ~6 MB the first time, which an idle broker need not
 *   hold): no permissions needed.
 * - Calls pass pointer + length; only i32 and f64 cross. WASM reports status codes (never
 *   throws); failure figures and per-batch columns are written to static areas the module
 *   exports, read here through views built once and rebuilt only if memory grew.
 * - Inputs are copied (one `Uint8Array.set`) into a scratch block that grows only when an input
 *   is larger than ever seen before; CRC-32C of inputs over 64 KiB streams through a fixed 64 KiB
 *   window instead (L2-friendly, never grows memory). Allocation on the JS heap per call: none,
 *   except one subarray view per 64 KiB CRC window, one view when `scanBatches` gets a
 *   `start`/`end` narrower than the buffer, and the `detail` string when a scan fails.
 * - CRC-32C: 16 KiB blocks run 8 interleaved 2 KiB streams, 4 bytes per step through three
 *   tables indexed by bits 0-10, 11-21 and 22-31 of the word (20 KiB, L1-resident: measured 23%
 *   faster than two 16-bit tables, 512 KiB in L2), joined with a "shift over 2 KiB of zeros"
 *   table; then 1 KiB blocks the same way with 128-byte streams; the last < 1 KiB uses
 *   slicing-by-16.
 * - Memory management: AssemblyScript's TLSF allocator (`--runtime minimal`; exported
 *   `alloc`/`free`; no garbage collector runs because nothing managed is allocated). The index
 *   buffers own blocks of linear memory; `free()` gives them back (a FinalizationRegistry does it
 *   too if an index is dropped without `free()`).
 *
 * @module
 */

import { BatchStatus, batchStatusText, formatBatchDetail } from "./batch_status.ts";
import type { BatchStatusCodes } from "./batch_status.ts";
import type { BatchScan, ScanOptions } from "./batch_scan.ts";
import { wasmBytesBase64 } from "./sluice_core_wasm.ts";

export { BatchStatus, batchStatusText };
export type { BatchScan, BatchStatusCodes, ScanOptions };

// --- instantiation and views -----------------------------------------------------------------

interface CoreExports {
  memory: WebAssembly.Memory;
  crc32c(ptr: number, len: number, crc: number): number;
  ensureScratch(n: number): number;
  scratchCapacity(): number;
  alloc(n: number): number;
  free(ptr: number): void;
  copy(dst: number, src: number, len: number): void;
  columnsPtr(): number;
  columnCapacity(): number;
  resultPtr(): number;
  scan(ptr: number, len: number, flags: number, maxBatchSize: number, base: number): number;
  offsetIndexLookup(ptr: number, n: number, target: number): number;
  timeIndexLookup(ptr: number, n: number, target: number): number;
}

function decodeBase64(text: string): Uint8Array {
  const bin = atob(text);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

// Set by instantiate(): every entry point (crc32c, scanBatches, the index buffers' constructor)
// calls it first; what they call then finds the instance there.
let wasm = undefined as unknown as CoreExports;
let memBuffer: ArrayBuffer | undefined;
let u8 = new Uint8Array(0);
let i32 = new Int32Array(0);
let f64 = new Float64Array(0);
let dv = new DataView(new ArrayBuffer(0));

/** Instantiates the module if it is not yet (at the first call into it). */
function instantiate(): void {
  if (memBuffer !== undefined) return;
  wasm = new WebAssembly.Instance(
    new WebAssembly.Module(decodeBase64(wasmBytesBase64) as Uint8Array<ArrayBuffer>),
    {},
  ).exports as unknown as CoreExports;
  refreshViews();
  ensureScratch(CRC_WINDOW);
  initColumns();
}

/** Rebuilds the views if memory grew (call after anything that may allocate in WASM). */
function refreshViews(): void {
  if (wasm.memory.buffer !== memBuffer) {
    memBuffer = wasm.memory.buffer as ArrayBuffer;
    u8 = new Uint8Array(memBuffer);
    i32 = new Int32Array(memBuffer);
    f64 = new Float64Array(memBuffer);
    dv = new DataView(memBuffer);
  }
}

/** WASM-side allocation; returns the pointer with views up to date. */
function walloc(bytes: number): number {
  let ptr = 0;
  try {
    ptr = wasm.alloc(bytes);
  } catch (e) {
    throw new RangeError(`WASM core: cannot allocate ${bytes} bytes: ${e}`);
  } finally {
    refreshViews();
  }
  if (ptr === 0) throw new RangeError(`WASM core: cannot allocate ${bytes} bytes`);
  return ptr;
}

let scratch = 0;
let scratchCap = 0;

/** Pointer to a scratch block of at least n bytes. */
function ensureScratch(n: number): number {
  if (n > scratchCap) {
    try {
      scratch = wasm.ensureScratch(n);
    } catch (e) {
      throw new RangeError(`WASM core: cannot allocate a ${n}-byte scratch block: ${e}`);
    } finally {
      scratchCap = wasm.scratchCapacity();
      refreshViews();
    }
  }
  return scratch;
}

/** Inputs of crc32c larger than this go through the scratch block in windows of this size. */
const CRC_WINDOW = 64 * 1024;

// --- CRC-32C --------------------------------------------------------------------------------

/**
 * CRC-32C (Castagnoli, reflected polynomial 0x82F63B78) of `data`, continuing from `crc`.
 * Runs in WASM: 8 interleaved word-table streams per 1 KiB+ block, slicing-by-16 for the rest.
 *
 * @example
 * ```ts
 * import { crc32c } from "./mod.ts";
 *
 * const bytes = new TextEncoder().encode("123456789");
 * console.assert(crc32c(bytes) === 0xe3069283);
 * // Incremental: the CRC of a concatenation continues from the CRC of the first part.
 * console.assert(crc32c(bytes.subarray(4), crc32c(bytes.subarray(0, 4))) === 0xe3069283);
 * ```
 *
 * @param data Bytes to checksum.
 * @param crc CRC of the bytes before `data` (default 0).
 * @returns The CRC as an unsigned 32-bit number.
 * @throws {TypeError} If `data` is not a Uint8Array.
 * @throws {RangeError} If `crc` is not a 32-bit integer.
 */
export function crc32c(data: Uint8Array, crc = 0): number {
  if (!(data instanceof Uint8Array)) {
    throw new TypeError(`crc32c: data must be a Uint8Array, got ${typeof data}`);
  }
  if (!Number.isInteger(crc) || crc < -0x80000000 || crc > 0xffffffff) {
    throw new RangeError(`crc32c: crc must be a 32-bit integer, got ${crc}`);
  }
  instantiate();
  const n = data.length;
  if (n <= CRC_WINDOW) {
    u8.set(data, scratch);
    return wasm.crc32c(scratch, n, crc) >>> 0;
  }
  let c = crc;
  for (let i = 0; i < n; i += CRC_WINDOW) {
    const m = Math.min(CRC_WINDOW, n - i);
    u8.set(data.subarray(i, i + m), scratch);
    c = wasm.crc32c(scratch, m, c);
  }
  return c >>> 0;
}

// --- record batch scan -----------------------------------------------------------------------

const MORE = -1;
// where the module's static column and result areas are (views' indexes), set at instantiation
let RES = 0;
let C_POS = 0;
let C_SIZE = 0;
let C_LOD = 0;
let C_COUNT = 0;
let C_ATTR = 0;
let C_EPOCH = 0;
let C_SEQ = 0;
let C_BASE = 0;
let C_FTS = 0;
let C_MTS = 0;
let C_PID = 0;

function initColumns(): void {
  const cols = wasm.columnsPtr();
  const cap = wasm.columnCapacity();
  RES = wasm.resultPtr() >>> 3;
  C_POS = cols >>> 2;
  C_SIZE = (cols + cap * 4) >>> 2;
  C_LOD = (cols + cap * 8) >>> 2;
  C_COUNT = (cols + cap * 12) >>> 2;
  C_ATTR = (cols + cap * 16) >>> 2;
  C_EPOCH = (cols + cap * 20) >>> 2;
  C_SEQ = (cols + cap * 24) >>> 2;
  C_BASE = (cols + cap * 32) >>> 3;
  C_FTS = (cols + cap * 40) >>> 3;
  C_MTS = (cols + cap * 48) >>> 3;
  C_PID = (cols + cap * 56) >>> 3;
}

function newScan(cap: number): BatchScan {
  return {
    status: BatchStatus.OK,
    count: 0,
    validBytes: 0,
    detail: "",
    records: 0,
    positions: new Int32Array(cap),
    sizes: new Int32Array(cap),
    baseOffsets: new Float64Array(cap),
    lastOffsetDeltas: new Int32Array(cap),
    recordCounts: new Int32Array(cap),
    firstTimestamps: new Float64Array(cap),
    maxTimestamps: new Float64Array(cap),
    attributes: new Int32Array(cap),
    producerIds: new Float64Array(cap),
    producerEpochs: new Int32Array(cap),
    baseSequences: new Int32Array(cap),
  };
}

const result: BatchScan = newScan(64);

/** Grows the result columns (rare: only when a scan finds more batches than ever before). */
function growColumns(need: number, keep: number): void {
  let cap = result.positions.length;
  while (cap < need) cap *= 2;
  const grown = newScan(cap);
  grown.positions.set(result.positions.subarray(0, keep));
  grown.sizes.set(result.sizes.subarray(0, keep));
  grown.baseOffsets.set(result.baseOffsets.subarray(0, keep));
  grown.lastOffsetDeltas.set(result.lastOffsetDeltas.subarray(0, keep));
  grown.recordCounts.set(result.recordCounts.subarray(0, keep));
  grown.firstTimestamps.set(result.firstTimestamps.subarray(0, keep));
  grown.maxTimestamps.set(result.maxTimestamps.subarray(0, keep));
  grown.attributes.set(result.attributes.subarray(0, keep));
  grown.producerIds.set(result.producerIds.subarray(0, keep));
  grown.producerEpochs.set(result.producerEpochs.subarray(0, keep));
  grown.baseSequences.set(result.baseSequences.subarray(0, keep));
  result.positions = grown.positions;
  result.sizes = grown.sizes;
  result.baseOffsets = grown.baseOffsets;
  result.lastOffsetDeltas = grown.lastOffsetDeltas;
  result.recordCounts = grown.recordCounts;
  result.firstTimestamps = grown.firstTimestamps;
  result.maxTimestamps = grown.maxTimestamps;
  result.attributes = grown.attributes;
  result.producerIds = grown.producerIds;
  result.producerEpochs = grown.producerEpochs;
  result.baseSequences = grown.baseSequences;
}

function checkRange(what: string, buf: Uint8Array, start: number, end: number): void {
  if (!(buf instanceof Uint8Array)) {
    throw new TypeError(`${what}: buffer must be a Uint8Array, got ${typeof buf}`);
  }
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
 * Validates consecutive Kafka record batches v2 in `buf[start, end)` and reports their header
 * fields as columns. Stops cleanly at the first truncated or invalid batch: `validBytes` is where
 * the valid prefix ends, `status`/`detail` say why. Checks, in order: length (>= 49 and within
 * `maxBatchSize`), magic 2, completeness, CRC-32C, compression codec <= 4, recordCount /
 * lastOffsetDelta, control batches hold one record, and (uncompressed, `walkRecords`) every
 * record: varints, lengths, offsetDelta = index, header keys, records exactly filling the batch.
 *
 * The returned object is reused by every call (valid until the next call); its column arrays
 * have length >= `count`.
 *
 * @example
 * ```ts
 * import { BatchStatus, scanBatches } from "./mod.ts";
 * import { buildBatch, concatBytes } from "./testing.ts";
 *
 * const log = concatBytes([
 *   buildBatch({ baseOffset: 0, records: [{ key: null, value: "a" }, { key: null, value: "b" }] }),
 *   buildBatch({ baseOffset: 2, records: [{ key: "k", value: "c" }] }),
 * ]);
 * const scan = scanBatches(log.subarray(0, log.length - 1)); // torn tail
 * console.assert(scan.status === BatchStatus.TRUNCATED && scan.count === 1 && scan.records === 2);
 * console.assert(scan.validBytes === scan.sizes[0]);
 * ```
 *
 * @param buf Bytes holding the batches.
 * @param options Range and checks (see {@link ScanOptions}).
 * @returns The shared scan result.
 * @throws {TypeError} If `buf` is not a Uint8Array.
 * @throws {RangeError} If the range or `maxBatchSize` is invalid.
 */
export function scanBatches(buf: Uint8Array, options?: ScanOptions): BatchScan {
  const start = options?.start ?? 0;
  const end = options?.end ?? buf?.length;
  checkRange("scanBatches", buf, start, end);
  const max = options?.maxBatchSize ?? 0x7fffffff;
  if (typeof max !== "number" || !(max >= 0)) {
    throw new RangeError(`scanBatches: invalid maxBatchSize: ${max}`);
  }
  const flags = (options?.walkRecords === false ? 0 : 1) | (options?.verifyCrc === false ? 0 : 2) |
    (options?.relaxedOffsets === true ? 4 : 0);
  const len = end - start;
  instantiate();
  const p = ensureScratch(len);
  u8.set(start === 0 && end === buf.length ? buf : buf.subarray(start, end), p);
  const r = result;
  let count = 0;
  let records = 0;
  let off = 0;
  let status: number;
  for (;;) {
    const n = wasm.scan(p + off, len - off, flags, max, start + off);
    if (count + n > r.positions.length) growColumns(count + n, count);
    for (let i = 0; i < n; i++) {
      const k = count + i;
      r.positions[k] = i32[C_POS + i];
      r.sizes[k] = i32[C_SIZE + i];
      r.lastOffsetDeltas[k] = i32[C_LOD + i];
      r.recordCounts[k] = i32[C_COUNT + i];
      r.attributes[k] = i32[C_ATTR + i];
      r.producerEpochs[k] = i32[C_EPOCH + i];
      r.baseSequences[k] = i32[C_SEQ + i];
      r.baseOffsets[k] = f64[C_BASE + i];
      r.firstTimestamps[k] = f64[C_FTS + i];
      r.maxTimestamps[k] = f64[C_MTS + i];
      r.producerIds[k] = f64[C_PID + i];
    }
    count += n;
    status = f64[RES];
    off += f64[RES + 1];
    records += f64[RES + 2];
    if (status !== MORE) break;
  }
  r.status = status;
  r.count = count;
  r.validBytes = off;
  r.records = records;
  r.detail = status === BatchStatus.OK
    ? ""
    : formatBatchDetail(count, start + off, status, f64[RES + 3], f64[RES + 4], f64[RES + 5]);
  return r;
}

// --- sparse indexes --------------------------------------------------------------------------

interface Block {
  ptr: number;
}

const reclaim = new FinalizationRegistry<Block>((block) => {
  if (block.ptr !== 0) wasm.free(block.ptr);
});

function checkCapacity(what: string, n: number): number {
  if (!Number.isInteger(n) || n < 1 || n > 0x4000000) {
    throw new RangeError(`${what}: initialCapacity must be an integer in [1, 2^26], got ${n}`);
  }
  return n;
}

/** Shared machinery of the two index buffers (entries of `width` bytes in WASM memory). */
class IndexStore {
  readonly what: string;
  readonly width: number;
  readonly block: Block;
  n = 0;
  cap: number;

  constructor(owner: object, what: string, width: number, initialCapacity: number) {
    this.what = what;
    this.width = width;
    this.cap = checkCapacity(what, initialCapacity);
    instantiate();
    this.block = { ptr: walloc(this.cap * width) };
    reclaim.register(owner, this.block, this.block);
  }

  live(): number {
    const ptr = this.block.ptr;
    if (ptr === 0) throw new Error(`${this.what}: used after free()`);
    return ptr;
  }

  slotAddress(slot: number): number {
    const ptr = this.live();
    if (!Number.isInteger(slot) || slot < 0 || slot >= this.n) {
      throw new RangeError(`${this.what}: slot ${slot} out of range [0, ${this.n})`);
    }
    return ptr + slot * this.width;
  }

  /** Ensures room for `entries`, doubling; returns the (possibly moved) pointer. */
  reserve(entries: number): number {
    const ptr = this.live();
    if (entries <= this.cap) return ptr;
    let cap = this.cap;
    while (cap < entries) cap *= 2;
    const grown = walloc(cap * this.width);
    wasm.copy(grown, ptr, this.n * this.width);
    wasm.free(ptr);
    this.block.ptr = grown;
    this.cap = cap;
    return grown;
  }

  truncate(n: number): void {
    this.live();
    if (!Number.isInteger(n) || n < 0) {
      throw new RangeError(`${this.what}: truncateEntries needs a non-negative integer, got ${n}`);
    }
    if (n < this.n) this.n = n;
  }

  toBytes(): Uint8Array {
    const ptr = this.live();
    return u8.slice(ptr, ptr + this.n * this.width);
  }

  load(bytes: Uint8Array): void {
    this.live();
    if (!(bytes instanceof Uint8Array) || bytes.length % this.width !== 0) {
      throw new RangeError(
        `${this.what}: load needs a multiple of ${this.width} bytes, got ${bytes?.length}`,
      );
    }
    const n = bytes.length / this.width;
    const ptr = this.reserve(n);
    u8.set(bytes, ptr);
    this.n = n;
  }

  free(): void {
    if (this.block.ptr !== 0) {
      wasm.free(this.block.ptr);
      this.block.ptr = 0;
      this.n = 0;
      reclaim.unregister(this.block);
    }
  }
}

/**
 * A sparse offset index whose entries live in WASM linear memory in Kafka's on-disk layout
 * (8 bytes, big-endian: relativeOffset u32, position u32), so lookups run in WASM without
 * copying. Grows by doubling (rare; not on the hot path). Call `free()` when done.
 *
 * @example
 * ```ts
 * import { OffsetIndexBuffer } from "./mod.ts";
 *
 * const index = new OffsetIndexBuffer();
 * index.append(0, 0);
 * index.append(10, 4096);
 * const slot = index.lookup(15);
 * console.assert(slot === 1 && index.positionAt(slot) === 4096);
 * console.assert(index.lookup(-1) === -1);
 * index.free();
 * ```
 */
export class OffsetIndexBuffer {
  readonly #s: IndexStore;

  /**
   * Creates an empty index.
   *
   * @param initialCapacity Entries to make room for (default 1024).
   * @throws {RangeError} If the capacity is not an integer in [1, 2^26].
   */
  constructor(initialCapacity = 1024) {
    this.#s = new IndexStore(this, "OffsetIndexBuffer", 8, initialCapacity);
  }

  /**
   * Appends an entry. Relative offsets must strictly increase (as in Kafka).
   *
   * @param relativeOffset Offset relative to the segment's base offset (u32).
   * @param position Byte position of the batch in the segment's log (u32).
   * @throws {RangeError} If a value is not a u32, or the offset does not increase.
   */
  append(relativeOffset: number, position: number): void {
    this.#s.live();
    if (!isU32(relativeOffset) || !isU32(position)) {
      throw new RangeError(
        `OffsetIndexBuffer: append needs u32 values, got ${relativeOffset}, ${position}`,
      );
    }
    const n = this.#s.n;
    if (n > 0) {
      const last = dv.getUint32(this.#s.block.ptr + (n - 1) * 8);
      if (relativeOffset <= last) {
        throw new RangeError(
          `OffsetIndexBuffer: append of relative offset ${relativeOffset} after ${last}: offsets must increase`,
        );
      }
    }
    const at = this.#s.reserve(n + 1) + n * 8;
    dv.setUint32(at, relativeOffset);
    dv.setUint32(at + 4, position);
    this.#s.n = n + 1;
  }

  /**
   * Slot of the greatest entry with relativeOffset <= target (binary search in WASM), or -1.
   *
   * @throws {RangeError} If the target is NaN.
   */
  lookup(targetRelativeOffset: number): number {
    const ptr = this.#s.live();
    const t = targetRelativeOffset;
    if (typeof t !== "number" || Number.isNaN(t)) {
      throw new RangeError(`OffsetIndexBuffer: lookup target must be a number, got ${t}`);
    }
    if (t < 0) return -1;
    if (t >= 4294967295) return this.#s.n - 1;
    return wasm.offsetIndexLookup(ptr, this.#s.n, Math.floor(t));
  }

  /**
   * relativeOffset of the entry at `slot`.
   *
   * @throws {RangeError} If the slot is out of range.
   */
  relativeOffsetAt(slot: number): number {
    return dv.getUint32(this.#s.slotAddress(slot));
  }

  /**
   * position of the entry at `slot`.
   *
   * @throws {RangeError} If the slot is out of range.
   */
  positionAt(slot: number): number {
    return dv.getUint32(this.#s.slotAddress(slot) + 4);
  }

  /** Number of entries. */
  get entries(): number {
    return this.#s.n;
  }

  /**
   * Keeps the first `n` entries (a larger `n` keeps them all).
   *
   * @throws {RangeError} If `n` is not a non-negative integer.
   */
  truncateEntries(n: number): void {
    this.#s.truncate(n);
  }

  /** A copy of the entries exactly as on disk (big-endian). */
  toBytes(): Uint8Array {
    return this.#s.toBytes();
  }

  /**
   * Replaces the contents with on-disk bytes (order is not checked).
   *
   * @throws {RangeError} If the length is not a multiple of the entry size.
   */
  load(bytes: Uint8Array): void {
    this.#s.load(bytes);
  }

  /** Gives the WASM memory back; further use throws. Calling it twice is harmless. */
  free(): void {
    this.#s.free();
  }
}

/**
 * A sparse time index whose entries live in WASM linear memory in Kafka's on-disk layout
 * (12 bytes, big-endian: timestamp i64, relativeOffset u32). Call `free()` when done.
 *
 * @example
 * ```ts
 * import { TimeIndexBuffer } from "./mod.ts";
 *
 * const index = new TimeIndexBuffer();
 * index.append(1_700_000_000_000, 0);
 * index.append(1_700_000_005_000, 42);
 * console.assert(index.relativeOffsetAt(index.lookup(1_700_000_006_000)) === 42);
 * index.free();
 * ```
 */
export class TimeIndexBuffer {
  readonly #s: IndexStore;

  /**
   * Creates an empty index.
   *
   * @param initialCapacity Entries to make room for (default 1024).
   * @throws {RangeError} If the capacity is not an integer in [1, 2^26].
   */
  constructor(initialCapacity = 1024) {
    this.#s = new IndexStore(this, "TimeIndexBuffer", 12, initialCapacity);
  }

  /**
   * Appends an entry. Timestamps and relative offsets must not decrease.
   *
   * @param timestamp A safe-integer timestamp (ms).
   * @param relativeOffset Offset relative to the segment's base offset (u32).
   * @throws {RangeError} If a value is out of range, or a value decreases.
   */
  append(timestamp: number, relativeOffset: number): void {
    this.#s.live();
    if (!Number.isSafeInteger(timestamp) || !isU32(relativeOffset)) {
      throw new RangeError(
        `TimeIndexBuffer: append needs a safe-integer timestamp and a u32 offset, got ${timestamp}, ${relativeOffset}`,
      );
    }
    const n = this.#s.n;
    if (n > 0) {
      const p = this.#s.block.ptr + (n - 1) * 12;
      const lastTs = dv.getInt32(p) * 4294967296 + dv.getUint32(p + 4);
      const lastOff = dv.getUint32(p + 8);
      if (timestamp < lastTs || relativeOffset < lastOff) {
        throw new RangeError(
          `TimeIndexBuffer: append of (${timestamp}, ${relativeOffset}) after (${lastTs}, ${lastOff}): values must not decrease`,
        );
      }
    }
    const at = this.#s.reserve(n + 1) + n * 12;
    const hi = Math.floor(timestamp / 4294967296);
    dv.setInt32(at, hi);
    dv.setUint32(at + 4, timestamp - hi * 4294967296);
    dv.setUint32(at + 8, relativeOffset);
    this.#s.n = n + 1;
  }

  /**
   * Slot of the greatest entry with timestamp <= target (binary search in WASM), or -1.
   *
   * @throws {RangeError} If the target is NaN.
   */
  lookup(targetTimestamp: number): number {
    const ptr = this.#s.live();
    const t = targetTimestamp;
    if (typeof t !== "number" || Number.isNaN(t)) {
      throw new RangeError(`TimeIndexBuffer: lookup target must be a number, got ${t}`);
    }
    if (t >= 9223372036854775807) return this.#s.n - 1;
    if (t < -9223372036854775808) return -1;
    return wasm.timeIndexLookup(ptr, this.#s.n, Math.floor(t));
  }

  /**
   * timestamp of the entry at `slot`.
   *
   * @throws {RangeError} If the slot is out of range.
   */
  timestampAt(slot: number): number {
    const p = this.#s.slotAddress(slot);
    return dv.getInt32(p) * 4294967296 + dv.getUint32(p + 4);
  }

  /**
   * relativeOffset of the entry at `slot`.
   *
   * @throws {RangeError} If the slot is out of range.
   */
  relativeOffsetAt(slot: number): number {
    return dv.getUint32(this.#s.slotAddress(slot) + 8);
  }

  /** Number of entries. */
  get entries(): number {
    return this.#s.n;
  }

  /**
   * Keeps the first `n` entries (a larger `n` keeps them all).
   *
   * @throws {RangeError} If `n` is not a non-negative integer.
   */
  truncateEntries(n: number): void {
    this.#s.truncate(n);
  }

  /** A copy of the entries exactly as on disk (big-endian). */
  toBytes(): Uint8Array {
    return this.#s.toBytes();
  }

  /**
   * Replaces the contents with on-disk bytes (order is not checked).
   *
   * @throws {RangeError} If the length is not a multiple of the entry size.
   */
  load(bytes: Uint8Array): void {
    this.#s.load(bytes);
  }

  /** Gives the WASM memory back; further use throws. Calling it twice is harmless. */
  free(): void {
    this.#s.free();
  }
}

function isU32(v: number): boolean {
  return Number.isInteger(v) && v >= 0 && v <= 0xffffffff;
}
