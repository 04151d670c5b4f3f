/**
 * Readers for the fixed fields of a v2 record batch header, for walking stored batches without
 * copying them. Offsets and timestamps are returned as JS numbers (exact up to 2^53).
 *
 * Layout: baseOffset i64 @0, batchLength i32 @8, partitionLeaderEpoch i32 @12, magic i8 @16,
 * crc u32 @17, attributes i16 @21, lastOffsetDelta i32 @23, baseTimestamp i64 @27,
 * maxTimestamp i64 @35, producerId i64 @43, producerEpoch i16 @51, baseSequence i32 @53,
 * recordCount i32 @57, records @61.
 *
 * @module
 */

/** Bytes before the batchLength-counted part (baseOffset + batchLength). */
export const LOG_OVERHEAD = 12;
/** Bytes of the header needed to know a batch's offsets and size. */
export const HEADER_PEEK = 27;
/** Size of a v2 batch header (everything before the records). */
export const BATCH_HEADER_SIZE = 61;
/** Offset of the attributes field; the CRC covers from here to the end of the batch. */
export const ATTRIBUTES_OFFSET = 21;
/** Offset of the CRC field. */
export const CRC_OFFSET = 17;
/** Offset of the maxTimestamp field. */
export const MAX_TIMESTAMP_OFFSET = 35;
/** Offset of the baseTimestamp field. */
export const BASE_TIMESTAMP_OFFSET = 27;
/** Attributes bit: timestamps are LogAppendTime. */
export const TIMESTAMP_TYPE_BIT = 0x08;
/** Attributes bit: the batch belongs to a transaction. */
export const TRANSACTIONAL_BIT = 0x10;
/** Attributes bit: the batch holds one control record (a transaction marker). */
export const CONTROL_BIT = 0x20;

/**
 * The attributes field of the batch at `p`.
 *
 * @param b Bytes holding the batch header.
 * @param p Position of the batch.
 * @returns The 16-bit attributes.
 */
export function attributesAt(b: Uint8Array, p: number): number {
  return (b[p + ATTRIBUTES_OFFSET] << 8) | b[p + ATTRIBUTES_OFFSET + 1];
}

/**
 * Reads a signed big-endian 64-bit integer as a JS number.
 *
 * @param b Buffer.
 * @param p Byte position.
 * @returns The value (exact when |value| ≤ 2^53).
 *
 * @example
 * ```ts
 * import { readInt64 } from "./batch_header.ts";
 * console.assert(readInt64(new Uint8Array([0, 0, 0, 1, 0, 0, 0, 2]), 0) === 2 ** 32 + 2);
 * ```
 */
export function readInt64(b: Uint8Array, p: number): number {
  const hi = (b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3];
  const lo = ((b[p + 4] << 24) | (b[p + 5] << 16) | (b[p + 6] << 8) | b[p + 7]) >>> 0;
  return hi * 4294967296 + lo;
}

/**
 * Writes a JS number as a signed big-endian 64-bit integer.
 *
 * @param b Buffer.
 * @param p Byte position.
 * @param v Value (an integer with |v| ≤ 2^53).
 *
 * @example
 * ```ts
 * import { readInt64, writeInt64 } from "./batch_header.ts";
 * const b = new Uint8Array(8);
 * writeInt64(b, 0, -5);
 * console.assert(readInt64(b, 0) === -5);
 * ```
 */
export function writeInt64(b: Uint8Array, p: number, v: number): void {
  const hi = Math.floor(v / 4294967296);
  const lo = v - hi * 4294967296;
  writeInt32(b, p, hi | 0);
  writeInt32(b, p + 4, lo >>> 0);
}

/**
 * Reads a signed big-endian 32-bit integer.
 *
 * @param b Buffer.
 * @param p Byte position.
 * @returns The value.
 *
 * @example
 * ```ts
 * import { readInt32 } from "./batch_header.ts";
 * console.assert(readInt32(new Uint8Array([0xff, 0xff, 0xff, 0xfe]), 0) === -2);
 * ```
 */
export function readInt32(b: Uint8Array, p: number): number {
  return (b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3];
}

/**
 * Writes a 32-bit integer big-endian (signed or unsigned input).
 *
 * @param b Buffer.
 * @param p Byte position.
 * @param v Value.
 *
 * @example
 * ```ts
 * import { readInt32, writeInt32 } from "./batch_header.ts";
 * const b = new Uint8Array(4);
 * writeInt32(b, 0, 7);
 * console.assert(readInt32(b, 0) === 7);
 * ```
 */
export function writeInt32(b: Uint8Array, p: number, v: number): void {
  b[p] = v >>> 24;
  b[p + 1] = v >>> 16;
  b[p + 2] = v >>> 8;
  b[p + 3] = v;
}

/**
 * Total size in bytes (12 + batchLength) of the batch at `p`.
 *
 * @param b Buffer holding at least 12 bytes at `p`.
 * @param p Batch position.
 * @returns The batch size.
 *
 * @example
 * ```ts
 * import { batchSizeAt } from "./batch_header.ts";
 * console.assert(batchSizeAt(new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 49]), 0) === 61);
 * ```
 */
export function batchSizeAt(b: Uint8Array, p: number): number {
  return LOG_OVERHEAD + readInt32(b, p + 8);
}

/**
 * Last offset (baseOffset + lastOffsetDelta) of the batch at `p`.
 *
 * @param b Buffer holding at least 27 bytes at `p`.
 * @param p Batch position.
 * @returns The batch's last offset.
 *
 * @example
 * ```ts
 * import { lastOffsetAt } from "./batch_header.ts";
 * const b = new Uint8Array(27);
 * b[7] = 10; // baseOffset 10
 * b[26] = 4; // lastOffsetDelta 4
 * console.assert(lastOffsetAt(b, 0) === 14);
 * ```
 */
export function lastOffsetAt(b: Uint8Array, p: number): number {
  return readInt64(b, p) + readInt32(b, p + 23);
}
