/**
 * Record-level work for the log cleaner: decoding the records of a stored v2 batch (gzip and
 * zstd batches are decompressed with `node:zlib`), the relaxed validation cleaned batches need
 * (offset deltas strictly increasing and ≤ lastOffsetDelta, not necessarily 0..n-1), rebuilding a
 * batch with the surviving records (same base offset and lastOffsetDelta, so the batch keeps its
 * offset range), and the produce-time check that a compacted topic only takes keyed records.
 *
 * Snappy and LZ4 batches cannot be opened here: the cleaner keeps them whole and the key check
 * lets them through (see {@linkcode canDecode}).
 *
 * @module
 */

import { gunzipSync, gzipSync, zstdCompressSync, zstdDecompressSync } from "node:zlib";
import { crc32c } from "../wasm/mod.ts";
import {
  ATTRIBUTES_OFFSET,
  BASE_TIMESTAMP_OFFSET,
  BATCH_HEADER_SIZE,
  CRC_OFFSET,
  MAX_TIMESTAMP_OFFSET,
  readInt32,
  readInt64,
  TIMESTAMP_TYPE_BIT,
  writeInt32,
  writeInt64,
} from "./batch_header.ts";
import { EngineError, ErrorCode } from "./errors.ts";

/** Attribute bit of transactional batches. */
export const TRANSACTIONAL_BIT = 0x10;
/** Attribute bit of control batches (transaction markers). */
export const CONTROL_BIT = 0x20;
/** Attribute bit saying the base timestamp holds the delete horizon (KIP-534). */
export const DELETE_HORIZON_BIT = 0x40;
/** Compression codec ids (attribute bits 0-2). */
export const Codec = { NONE: 0, GZIP: 1, SNAPPY: 2, LZ4: 3, ZSTD: 4 } as const;

/** One record of a decoded batch. */
export interface DecodedRecord {
  /** Offset delta from the batch base offset. */
  offsetDelta: number;
  /** Timestamp delta from the batch base timestamp. */
  timestampDelta: number;
  /** Key bytes, or `null` for a null key. */
  key: Uint8Array | null;
  /** Whether the value is null (a tombstone). */
  tombstone: boolean;
  /** The record's bytes from the key length on (key, value, headers), copied as is on rebuild. */
  tail: Uint8Array;
}

/** A stored v2 batch, opened. */
export interface DecodedBatch {
  /** Base offset. */
  baseOffset: number;
  /** Attributes. */
  attributes: number;
  /** lastOffsetDelta. */
  lastOffsetDelta: number;
  /** Base timestamp (the delete horizon when {@linkcode DELETE_HORIZON_BIT} is set). */
  baseTimestamp: number;
  /** Max timestamp. */
  maxTimestamp: number;
  /** The records. */
  records: DecodedRecord[];
}

/**
 * Whether this build can open batches with the given attributes' codec (none, gzip, zstd).
 *
 * @param attributes Batch attributes.
 * @returns `true` if {@linkcode decodeBatch} can read the records.
 *
 * @example
 * ```ts
 * import { canDecode } from "./cleaner_records.ts";
 * console.assert(canDecode(0) && canDecode(1) && !canDecode(2));
 * ```
 */
export function canDecode(attributes: number): boolean {
  const c = attributes & 0x07;
  return c === Codec.NONE || c === Codec.GZIP || c === Codec.ZSTD;
}

function readVarint(b: Uint8Array, p: number): [number, number] {
  let v = 0;
  let mul = 1;
  for (let i = 0; i < 10; i++) {
    if (p + i >= b.length) throw new Error(`varint at byte ${p} is cut off`);
    const byte = b[p + i];
    v += (byte & 0x7f) * mul;
    if ((byte & 0x80) === 0) return [v % 2 === 0 ? v / 2 : -(v + 1) / 2, p + i + 1];
    mul *= 128;
  }
  throw new Error(`varint at byte ${p} is too long`);
}

function varintSize(n: number): number {
  let z = n >= 0 ? n * 2 : -n * 2 - 1;
  let s = 1;
  while (z >= 128) {
    z = Math.floor(z / 128);
    s++;
  }
  return s;
}

function writeVarint(b: Uint8Array, p: number, n: number): number {
  let z = n >= 0 ? n * 2 : -n * 2 - 1;
  while (z >= 128) {
    b[p++] = (z % 128) | 0x80;
    z = Math.floor(z / 128);
  }
  b[p++] = z;
  return p;
}

/**
 * Opens a stored v2 batch: decompresses its records if needed and walks them with the relaxed
 * validation that cleaned batches need (offset deltas strictly increasing and ≤ lastOffsetDelta,
 * record framing exact).
 *
 * @param batch One whole batch (header and records).
 * @returns The batch header fields and its records.
 * @throws {Error} If the codec is not supported here or the records are malformed (the message
 * says where).
 *
 * @example
 * ```ts
 * import { decodeBatch } from "./cleaner_records.ts";
 * import { buildBatch } from "../wasm/testing.ts";
 * const b = decodeBatch(buildBatch({ records: [{ key: "k", value: null }] }));
 * console.assert(b.records.length === 1 && b.records[0].tombstone);
 * ```
 */
export function decodeBatch(batch: Uint8Array): DecodedBatch {
  if (batch.length < BATCH_HEADER_SIZE) {
    throw new Error(`batch of ${batch.length} bytes is cut off`);
  }
  const attributes = (batch[ATTRIBUTES_OFFSET] << 8) | batch[ATTRIBUTES_OFFSET + 1];
  const baseOffset = readInt64(batch, 0);
  const lastOffsetDelta = readInt32(batch, 23);
  const count = readInt32(batch, 57);
  let body = batch.subarray(BATCH_HEADER_SIZE);
  const codec = attributes & 0x07;
  if (codec === Codec.GZIP) body = new Uint8Array(gunzipSync(body));
  else if (codec === Codec.ZSTD) body = new Uint8Array(zstdDecompressSync(body));
  else if (codec !== Codec.NONE) {
    throw new Error(`batch at offset ${baseOffset} uses compression codec ${codec}`);
  }
  const records: DecodedRecord[] = [];
  let p = 0;
  let prevDelta = -1;
  for (let i = 0; i < count; i++) {
    const [len, start] = readVarint(body, p);
    const end = start + len;
    if (len < 1 || end > body.length) {
      throw new Error(`record ${i} of batch at offset ${baseOffset} has a bad length ${len}`);
    }
    const rec = body.subarray(start, end);
    const [timestampDelta, a] = readVarint(rec, 1);
    const [offsetDelta, b] = readVarint(rec, a);
    if (offsetDelta <= prevDelta || offsetDelta > lastOffsetDelta) {
      throw new Error(
        `record ${i} of batch at offset ${baseOffset} has offset delta ${offsetDelta} ` +
          `(previous ${prevDelta}, lastOffsetDelta ${lastOffsetDelta})`,
      );
    }
    prevDelta = offsetDelta;
    const [keyLen, c] = readVarint(rec, b);
    if (keyLen < -1 || c + Math.max(keyLen, 0) > rec.length) {
      throw new Error(`record ${i} of batch at offset ${baseOffset} has a bad key length`);
    }
    const key = keyLen < 0 ? null : rec.subarray(c, c + keyLen);
    const [valueLen] = readVarint(rec, c + Math.max(keyLen, 0));
    records.push({
      offsetDelta,
      timestampDelta,
      key,
      tombstone: valueLen < 0,
      tail: rec.subarray(b),
    });
    p = end;
  }
  if (p !== body.length) {
    throw new Error(
      `batch at offset ${baseOffset} has ${body.length - p} bytes after its ${count} records`,
    );
  }
  return {
    baseOffset,
    attributes,
    lastOffsetDelta,
    baseTimestamp: readInt64(batch, BASE_TIMESTAMP_OFFSET),
    maxTimestamp: readInt64(batch, MAX_TIMESTAMP_OFFSET),
    records,
  };
}

/** What to change when rebuilding a batch. */
export interface RebuildOptions {
  /** Surviving records, in order (a subset of the original's). */
  records: DecodedRecord[];
  /** Delete horizon to record in the base timestamp, or -1 to clear the flag. */
  deleteHorizonMs: number;
}

/**
 * Rebuilds a stored batch with fewer records. The base offset, lastOffsetDelta, leader epoch,
 * producer fields, codec and timestamp type are kept; the base timestamp becomes the delete
 * horizon when one is given (record timestamp deltas are re-encoded so every record keeps its
 * timestamp), the max timestamp is recomputed (CreateTime) and the CRC is recomputed.
 *
 * @param original The stored batch.
 * @param decoded Its decoded form ({@linkcode decodeBatch}).
 * @param options Survivors and delete horizon.
 * @returns The new batch bytes.
 *
 * @example
 * ```ts
 * import { decodeBatch, rebuildBatch } from "./cleaner_records.ts";
 * import { buildBatch } from "../wasm/testing.ts";
 * const orig = buildBatch({ baseOffset: 7, records: [{ key: "a", value: "1" }, { key: "b", value: "2" }] });
 * const d = decodeBatch(orig);
 * const out = decodeBatch(rebuildBatch(orig, d, { records: [d.records[1]], deleteHorizonMs: -1 }));
 * console.assert(out.baseOffset === 7 && out.records[0].offsetDelta === 1 && out.lastOffsetDelta === 1);
 * ```
 */
export function rebuildBatch(
  original: Uint8Array,
  decoded: DecodedBatch,
  options: RebuildOptions,
): Uint8Array {
  const oldAttrs = decoded.attributes;
  const horizon = options.deleteHorizonMs;
  const hadHorizon = (oldAttrs & DELETE_HORIZON_BIT) !== 0;
  const attrs = horizon >= 0 ? oldAttrs | DELETE_HORIZON_BIT : oldAttrs & ~DELETE_HORIZON_BIT;
  // the real timestamp of each record
  const oldBase = decoded.baseTimestamp;
  let newBase = oldBase;
  if (horizon >= 0) newBase = horizon;
  else if (hadHorizon) {
    newBase = options.records.length > 0
      ? oldBase + options.records[0].timestampDelta
      : decoded.maxTimestamp;
  }
  let maxTs = -1;
  let size = 0;
  const heads: Uint8Array[] = [];
  for (const r of options.records) {
    const ts = oldBase + r.timestampDelta;
    if (ts > maxTs) maxTs = ts;
    const delta = ts - newBase;
    const inner = 1 + varintSize(delta) + varintSize(r.offsetDelta) + r.tail.length;
    const head = new Uint8Array(
      varintSize(inner) + 1 + varintSize(delta) + varintSize(r.offsetDelta),
    );
    let p = writeVarint(head, 0, inner);
    head[p++] = 0;
    p = writeVarint(head, p, delta);
    writeVarint(head, p, r.offsetDelta);
    heads.push(head);
    size += head.length + r.tail.length;
  }
  let body = new Uint8Array(size);
  let q = 0;
  for (let i = 0; i < heads.length; i++) {
    body.set(heads[i], q);
    q += heads[i].length;
    body.set(options.records[i].tail, q);
    q += options.records[i].tail.length;
  }
  const codec = oldAttrs & 0x07;
  if (codec === Codec.GZIP) body = new Uint8Array(gzipSync(body));
  else if (codec === Codec.ZSTD) body = new Uint8Array(zstdCompressSync(body));
  const out = new Uint8Array(BATCH_HEADER_SIZE + body.length);
  out.set(original.subarray(0, BATCH_HEADER_SIZE));
  out.set(body, BATCH_HEADER_SIZE);
  writeInt32(out, 8, out.length - 12);
  out[ATTRIBUTES_OFFSET] = (attrs >>> 8) & 0xff;
  out[ATTRIBUTES_OFFSET + 1] = attrs & 0xff;
  writeInt64(out, BASE_TIMESTAMP_OFFSET, newBase);
  if ((oldAttrs & TIMESTAMP_TYPE_BIT) === 0 && maxTs >= 0) {
    writeInt64(out, MAX_TIMESTAMP_OFFSET, maxTs);
  }
  writeInt32(out, 57, options.records.length);
  writeInt32(out, CRC_OFFSET, crc32c(out.subarray(ATTRIBUTES_OFFSET)));
  return out;
}

/**
 * The produce-time check of compacted topics: every record of every data batch must have a key
 * (Kafka: "Compacted topic cannot accept message without key"). Control batches are skipped;
 * Snappy/LZ4 batches cannot be opened here and are let through.
 *
 * @param records Whole validated batches.
 * @param count Number of batches.
 * @param positions Byte position of each batch.
 * @param sizes Size of each batch.
 * @param what What was being done, for the error message.
 * @throws {EngineError} INVALID_RECORD naming the batch and record without a key.
 *
 * @example
 * ```ts
 * import { checkCompactedKeys } from "./cleaner_records.ts";
 * import { buildBatch } from "../wasm/testing.ts";
 * const b = buildBatch({ records: [{ key: null, value: "v" }] });
 * try {
 *   checkCompactedKeys(b, 1, [0], [b.length], "append to t-0");
 * } catch (e) {
 *   console.assert((e as Error).message.includes("without key"));
 * }
 * ```
 */
export function checkCompactedKeys(
  records: Uint8Array,
  count: number,
  positions: ArrayLike<number>,
  sizes: ArrayLike<number>,
  what: string,
): void {
  for (let i = 0; i < count; i++) {
    const batch = records.subarray(positions[i], positions[i] + sizes[i]);
    const attrs = (batch[ATTRIBUTES_OFFSET] << 8) | batch[ATTRIBUTES_OFFSET + 1];
    if ((attrs & CONTROL_BIT) !== 0 || !canDecode(attrs)) continue;
    let decoded: DecodedBatch;
    try {
      decoded = decodeBatch(batch);
    } catch (e) {
      throw new EngineError(
        ErrorCode.INVALID_RECORD,
        `${what} failed: batch ${i} cannot be read: ${(e as Error).message}`,
      );
    }
    const j = decoded.records.findIndex((r) => r.key === null);
    if (j >= 0) {
      throw new EngineError(
        ErrorCode.INVALID_RECORD,
        `${what} failed: Compacted topic cannot accept message without key: ` +
          `record ${j} of batch ${i} has a null key`,
      );
    }
  }
}
