// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * The record batch v2 header (magic 2), declared once as Kafka's `DefaultRecordBatch` does: each
 * field's offset is the previous field's offset plus its length. Readers and writers take the
 * batch's position in a buffer, so stored batches are walked without copies. 64-bit fields are
 * JS numbers (exact up to 2^53).
 *
 * ```
 * baseOffset: int64, batchLength: int32, partitionLeaderEpoch: int32, magic: int8,
 * crc: uint32 (CRC-32C of attributes..end), attributes: int16, lastOffsetDelta: int32,
 * baseTimestamp: int64, maxTimestamp: int64, producerId: int64, producerEpoch: int16,
 * baseSequence: int32, recordCount: int32, records
 * ```
 *
 * @example Read a field of a stored batch
 * ```ts
 * import { lastOffsetAt, RECORD_BATCH_OVERHEAD } from "./layout.ts";
 * import { encodeRecordBatch } from "./batch_builder.ts";
 *
 * const batch = encodeRecordBatch([{ value: null }, { value: null }], { baseOffset: 7 });
 * console.assert(lastOffsetAt(batch, 0) === 8 && batch.length > RECORD_BATCH_OVERHEAD);
 * ```
 *
 * @module
 */

import { crc32c } from "../wasm/mod.ts";

/** Offset of `baseOffset`. */
export const BASE_OFFSET_OFFSET: number = 0;
/** Length of `baseOffset`. */
export const BASE_OFFSET_LENGTH: number = 8;
/** Offset of `batchLength` (bytes after this field). */
export const LENGTH_OFFSET: number = BASE_OFFSET_OFFSET + BASE_OFFSET_LENGTH;
/** Length of `batchLength`. */
export const LENGTH_LENGTH: number = 4;
/** Bytes before the part `batchLength` counts (baseOffset + batchLength), in every format. */
export const LOG_OVERHEAD: number = LENGTH_OFFSET + LENGTH_LENGTH;
/** Offset of `partitionLeaderEpoch`. */
export const PARTITION_LEADER_EPOCH_OFFSET: number = LOG_OVERHEAD;
/** Length of `partitionLeaderEpoch`. */
export const PARTITION_LEADER_EPOCH_LENGTH: number = 4;
/** Offset of `magic` (the same in message formats v0 and v1, so any format can be told apart). */
export const MAGIC_OFFSET: number = PARTITION_LEADER_EPOCH_OFFSET + PARTITION_LEADER_EPOCH_LENGTH;
/** Length of `magic`. */
export const MAGIC_LENGTH: number = 1;
/** Offset of `crc`. */
export const CRC_OFFSET: number = MAGIC_OFFSET + MAGIC_LENGTH;
/** Length of `crc`. */
export const CRC_LENGTH: number = 4;
/** Offset of `attributes`; the CRC covers from here to the end of the batch. */
export const ATTRIBUTES_OFFSET: number = CRC_OFFSET + CRC_LENGTH;
/** Length of `attributes`. */
export const ATTRIBUTE_LENGTH: number = 2;
/** Offset of `lastOffsetDelta`. */
export const LAST_OFFSET_DELTA_OFFSET: number = ATTRIBUTES_OFFSET + ATTRIBUTE_LENGTH;
/** Length of `lastOffsetDelta`. */
export const LAST_OFFSET_DELTA_LENGTH: number = 4;
/** Offset of `baseTimestamp` (Kafka's `firstTimestamp`; the delete horizon when flagged). */
export const BASE_TIMESTAMP_OFFSET: number = LAST_OFFSET_DELTA_OFFSET + LAST_OFFSET_DELTA_LENGTH;
/** Length of `baseTimestamp`. */
export const BASE_TIMESTAMP_LENGTH: number = 8;
/** Offset of `maxTimestamp`. */
export const MAX_TIMESTAMP_OFFSET: number = BASE_TIMESTAMP_OFFSET + BASE_TIMESTAMP_LENGTH;
/** Length of `maxTimestamp`. */
export const MAX_TIMESTAMP_LENGTH: number = 8;
/** Offset of `producerId`. */
export const PRODUCER_ID_OFFSET: number = MAX_TIMESTAMP_OFFSET + MAX_TIMESTAMP_LENGTH;
/** Length of `producerId`. */
export const PRODUCER_ID_LENGTH: number = 8;
/** Offset of `producerEpoch`. */
export const PRODUCER_EPOCH_OFFSET: number = PRODUCER_ID_OFFSET + PRODUCER_ID_LENGTH;
/** Length of `producerEpoch`. */
export const PRODUCER_EPOCH_LENGTH: number = 2;
/** Offset of `baseSequence`. */
export const BASE_SEQUENCE_OFFSET: number = PRODUCER_EPOCH_OFFSET + PRODUCER_EPOCH_LENGTH;
/** Length of `baseSequence`. */
export const BASE_SEQUENCE_LENGTH: number = 4;
/** Offset of `recordCount`. */
export const RECORDS_COUNT_OFFSET: number = BASE_SEQUENCE_OFFSET + BASE_SEQUENCE_LENGTH;
/** Length of `recordCount`. */
export const RECORDS_COUNT_LENGTH: number = 4;
/** Offset of the records (compressed as a whole when the batch has a codec). */
export const RECORDS_OFFSET: number = RECORDS_COUNT_OFFSET + RECORDS_COUNT_LENGTH;
/** Size of a v2 batch header: everything before the records (61 bytes). */
export const RECORD_BATCH_OVERHEAD: number = RECORDS_OFFSET;
/** Bytes of a header that give a batch's size and offsets (up to `lastOffsetDelta`). */
export const HEADER_PEEK: number = LAST_OFFSET_DELTA_OFFSET + LAST_OFFSET_DELTA_LENGTH;
/** Smallest valid `batchLength` (a header without records). */
export const MIN_BATCH_LENGTH: number = RECORD_BATCH_OVERHEAD - LOG_OVERHEAD;

/** The magic byte of record batches v2. */
export const MAGIC_V2: number = 2;
/** Attributes: the compression codec id (bits 0-2). */
export const COMPRESSION_CODEC_MASK: number = 0x07;
/** Attributes: timestamps are LogAppendTime (bit 3). */
export const TIMESTAMP_TYPE_BIT: number = 0x08;
/** Attributes: the batch belongs to a transaction (bit 4). */
export const TRANSACTIONAL_BIT: number = 0x10;
/** Attributes: the batch holds one control record, a transaction marker (bit 5). */
export const CONTROL_BIT: number = 0x20;
/** Attributes: `baseTimestamp` holds the delete horizon of a compacted batch (bit 6, KIP-534). */
export const DELETE_HORIZON_BIT: number = 0x40;
/** `producerId`, `producerEpoch` and `baseSequence` of a batch without a producer. */
export const NO_PRODUCER_ID: number = -1;
/** The timestamp of a record without one (message format v0). */
export const NO_TIMESTAMP: number = -1;

/**
 * Reads a big-endian int16.
 *
 * @example
 * ```ts
 * import { readInt16 } from "./layout.ts";
 * console.assert(readInt16(new Uint8Array([0xff, 0xfe]), 0) === -2);
 * ```
 *
 * @param b Buffer.
 * @param p Byte position.
 * @returns The value.
 */
export function readInt16(b: Uint8Array, p: number): number {
  return ((b[p] << 24) >> 16) | b[p + 1];
}

/**
 * Writes a big-endian int16.
 *
 * @example
 * ```ts
 * import { readInt16, writeInt16 } from "./layout.ts";
 * const b = new Uint8Array(2);
 * writeInt16(b, 0, -3);
 * console.assert(readInt16(b, 0) === -3);
 * ```
 *
 * @param b Buffer.
 * @param p Byte position.
 * @param v Value.
 */
export function writeInt16(b: Uint8Array, p: number, v: number): void {
  b[p] = v >>> 8;
  b[p + 1] = v;
}

/**
 * Reads a big-endian int32.
 *
 * @example
 * ```ts
 * import { readInt32 } from "./layout.ts";
 * console.assert(readInt32(new Uint8Array([0xff, 0xff, 0xff, 0xfe]), 0) === -2);
 * ```
 *
 * @param b Buffer.
 * @param p Byte position.
 * @returns The value.
 */
export function readInt32(b: Uint8Array, p: number): number {
  return (b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3];
}

/**
 * Reads a big-endian uint32 (a CRC).
 *
 * @example
 * ```ts
 * import { readUint32 } from "./layout.ts";
 * console.assert(readUint32(new Uint8Array([0xff, 0xff, 0xff, 0xfe]), 0) === 0xfffffffe);
 * ```
 *
 * @param b Buffer.
 * @param p Byte position.
 * @returns The value.
 */
export function readUint32(b: Uint8Array, p: number): number {
  return readInt32(b, p) >>> 0;
}

/**
 * Writes a 32-bit integer big-endian (signed or unsigned input).
 *
 * @example
 * ```ts
 * import { readInt32, writeInt32 } from "./layout.ts";
 * const b = new Uint8Array(4);
 * writeInt32(b, 0, 7);
 * console.assert(readInt32(b, 0) === 7);
 * ```
 *
 * @param b Buffer.
 * @param p Byte position.
 * @param v Value.
 */
export function writeInt32(b: Uint8Array, p: number, v: number): void {
  b[p] = v >>> 24;
  b[p + 1] = v >>> 16;
  b[p + 2] = v >>> 8;
  b[p + 3] = v;
}

/**
 * Reads a big-endian int64 as a JS number.
 *
 * @example
 * ```ts
 * import { readInt64 } from "./layout.ts";
 * console.assert(readInt64(new Uint8Array([0, 0, 0, 1, 0, 0, 0, 2]), 0) === 2 ** 32 + 2);
 * ```
 *
 * @param b Buffer.
 * @param p Byte position.
 * @returns The value (exact when |value| <= 2^53).
 */
export function readInt64(b: Uint8Array, p: number): number {
  const hi = (b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3];
  const lo = ((b[p + 4] << 24) | (b[p + 5] << 16) | (b[p + 6] << 8) | b[p + 7]) >>> 0;
  return hi * 4294967296 + lo;
}

/**
 * Writes a JS number as a big-endian int64.
 *
 * @example
 * ```ts
 * import { readInt64, writeInt64 } from "./layout.ts";
 * const b = new Uint8Array(8);
 * writeInt64(b, 0, -5);
 * console.assert(readInt64(b, 0) === -5);
 * ```
 *
 * @param b Buffer.
 * @param p Byte position.
 * @param v Value (an integer with |v| <= 2^53).
 */
export function writeInt64(b: Uint8Array, p: number, v: number): void {
  const hi = Math.floor(v / 4294967296);
  writeInt32(b, p, hi | 0);
  writeInt32(b, p + 4, (v - hi * 4294967296) >>> 0);
}

/**
 * `baseOffset` of the batch at `p`.
 *
 * @example
 * ```ts
 * import { baseOffsetAt } from "./layout.ts";
 * console.assert(baseOffsetAt(new Uint8Array([0, 0, 0, 0, 0, 0, 0, 9]), 0) === 9);
 * ```
 *
 * @param b Buffer holding the header.
 * @param p Batch position.
 * @returns The base offset.
 */
export function baseOffsetAt(b: Uint8Array, p: number): number {
  return readInt64(b, p + BASE_OFFSET_OFFSET);
}

/**
 * Sets `baseOffset` of the batch at `p` (the CRC is not updated: see {@linkcode updateCrcAt}).
 *
 * @example
 * ```ts
 * import { baseOffsetAt, setBaseOffsetAt } from "./layout.ts";
 * const b = new Uint8Array(61);
 * setBaseOffsetAt(b, 0, 42);
 * console.assert(baseOffsetAt(b, 0) === 42);
 * ```
 *
 * @param b Buffer holding the header.
 * @param p Batch position.
 * @param v The new value.
 */
export function setBaseOffsetAt(b: Uint8Array, p: number, v: number): void {
  writeInt64(b, p + BASE_OFFSET_OFFSET, v);
}

/**
 * `batchLength` of the batch at `p` (the bytes after the field).
 *
 * @example
 * ```ts
 * import { batchLengthAt } from "./layout.ts";
 * console.assert(batchLengthAt(new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 49]), 0) === 49);
 * ```
 *
 * @param b Buffer holding at least 12 bytes at `p`.
 * @param p Batch position.
 * @returns The batch length.
 */
export function batchLengthAt(b: Uint8Array, p: number): number {
  return readInt32(b, p + LENGTH_OFFSET);
}

/**
 * Sets `batchLength` of the batch at `p` (the CRC is not updated: see {@linkcode updateCrcAt}).
 *
 * @example
 * ```ts
 * import { batchLengthAt, setBatchLengthAt } from "./layout.ts";
 * const b = new Uint8Array(61);
 * setBatchLengthAt(b, 0, 49);
 * console.assert(batchLengthAt(b, 0) === 49);
 * ```
 *
 * @param b Buffer holding the header.
 * @param p Batch position.
 * @param v The new value.
 */
export function setBatchLengthAt(b: Uint8Array, p: number, v: number): void {
  writeInt32(b, p + LENGTH_OFFSET, v);
}

/**
 * Total size in bytes (12 + batchLength) of the batch (or legacy message) at `p`.
 *
 * @example
 * ```ts
 * import { batchSizeAt } from "./layout.ts";
 * console.assert(batchSizeAt(new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 49]), 0) === 61);
 * ```
 *
 * @param b Buffer holding at least 12 bytes at `p`.
 * @param p Batch position.
 * @returns The batch size.
 */
export function batchSizeAt(b: Uint8Array, p: number): number {
  return LOG_OVERHEAD + readInt32(b, p + LENGTH_OFFSET);
}

/**
 * `partitionLeaderEpoch` of the batch at `p`.
 *
 * @example
 * ```ts
 * import { partitionLeaderEpochAt } from "./layout.ts";
 * import { encodeRecordBatch } from "./batch_builder.ts";
 * const b = encodeRecordBatch([{ value: null }], { partitionLeaderEpoch: 3 });
 * console.assert(partitionLeaderEpochAt(b, 0) === 3);
 * ```
 *
 * @param b Buffer holding the header.
 * @param p Batch position.
 * @returns The leader epoch (-1 if unknown).
 */
export function partitionLeaderEpochAt(b: Uint8Array, p: number): number {
  return readInt32(b, p + PARTITION_LEADER_EPOCH_OFFSET);
}

/**
 * Sets `partitionLeaderEpoch` of the batch at `p` (the CRC is not updated: see {@linkcode updateCrcAt}).
 *
 * @example
 * ```ts
 * import { partitionLeaderEpochAt, setPartitionLeaderEpochAt } from "./layout.ts";
 * const b = new Uint8Array(61);
 * setPartitionLeaderEpochAt(b, 0, 3);
 * console.assert(partitionLeaderEpochAt(b, 0) === 3);
 * ```
 *
 * @param b Buffer holding the header.
 * @param p Batch position.
 * @param v The new value.
 */
export function setPartitionLeaderEpochAt(b: Uint8Array, p: number, v: number): void {
  writeInt32(b, p + PARTITION_LEADER_EPOCH_OFFSET, v);
}

/**
 * The magic byte (message format version) of the batch or legacy message at `p`.
 *
 * @example
 * ```ts
 * import { magicAt } from "./layout.ts";
 * import { encodeRecordBatch } from "./batch_builder.ts";
 * console.assert(magicAt(encodeRecordBatch([{ value: null }]), 0) === 2);
 * ```
 *
 * @param b Buffer holding at least 17 bytes at `p`.
 * @param p Batch position.
 * @returns 0, 1 or 2.
 */
export function magicAt(b: Uint8Array, p: number): number {
  return (b[p + MAGIC_OFFSET] << 24) >> 24;
}

/**
 * The stored CRC-32C of the batch at `p`.
 *
 * @example
 * ```ts
 * import { computeCrcAt, crcAt } from "./layout.ts";
 * import { encodeRecordBatch } from "./batch_builder.ts";
 * const b = encodeRecordBatch([{ value: null }]);
 * console.assert(crcAt(b, 0) === computeCrcAt(b, 0));
 * ```
 *
 * @param b Buffer holding the header.
 * @param p Batch position.
 * @returns The unsigned CRC.
 */
export function crcAt(b: Uint8Array, p: number): number {
  return readUint32(b, p + CRC_OFFSET);
}

/**
 * Computes the CRC-32C the batch at `p` should carry (over attributes..end).
 *
 * @example
 * ```ts
 * import { computeCrcAt, crcAt } from "./layout.ts";
 * import { encodeRecordBatch } from "./batch_builder.ts";
 * const b = encodeRecordBatch([{ value: null }]);
 * b[b.length - 1] ^= 1;
 * console.assert(crcAt(b, 0) !== computeCrcAt(b, 0));
 * ```
 *
 * @param b Buffer holding the whole batch.
 * @param p Batch position.
 * @returns The unsigned CRC.
 */
export function computeCrcAt(b: Uint8Array, p: number): number {
  return crc32c(b.subarray(p + ATTRIBUTES_OFFSET, p + batchSizeAt(b, p)));
}

/**
 * Recomputes and stores the CRC of the batch at `p` (after its header or records changed).
 *
 * @example
 * ```ts
 * import { computeCrcAt, crcAt, setAttributesAt, updateCrcAt } from "./layout.ts";
 * import { encodeRecordBatch } from "./batch_builder.ts";
 * const b = encodeRecordBatch([{ value: null }]);
 * setAttributesAt(b, 0, 0x08);
 * updateCrcAt(b, 0);
 * console.assert(crcAt(b, 0) === computeCrcAt(b, 0));
 * ```
 *
 * @param b Buffer holding the whole batch (its `batchLength` must be right).
 * @param p Batch position.
 */
export function updateCrcAt(b: Uint8Array, p: number): void {
  writeInt32(b, p + CRC_OFFSET, computeCrcAt(b, p));
}

/**
 * `attributes` of the batch at `p`.
 *
 * @example
 * ```ts
 * import { attributesAt, CONTROL_BIT } from "./layout.ts";
 * import { encodeRecordBatch } from "./batch_builder.ts";
 * const b = encodeRecordBatch([{ value: null }], { control: true });
 * console.assert((attributesAt(b, 0) & CONTROL_BIT) !== 0);
 * ```
 *
 * @param b Buffer holding the header.
 * @param p Batch position.
 * @returns The 16-bit attributes.
 */
export function attributesAt(b: Uint8Array, p: number): number {
  return (b[p + ATTRIBUTES_OFFSET] << 8) | b[p + ATTRIBUTES_OFFSET + 1];
}

/**
 * Sets `attributes` of the batch at `p` (the CRC is not updated: see {@linkcode updateCrcAt}).
 *
 * @example
 * ```ts
 * import { attributesAt, setAttributesAt } from "./layout.ts";
 * const b = new Uint8Array(61);
 * setAttributesAt(b, 0, 0x30);
 * console.assert(attributesAt(b, 0) === 0x30);
 * ```
 *
 * @param b Buffer holding the header.
 * @param p Batch position.
 * @param attributes The new attributes.
 */
export function setAttributesAt(b: Uint8Array, p: number, attributes: number): void {
  writeInt16(b, p + ATTRIBUTES_OFFSET, attributes);
}

/**
 * `lastOffsetDelta` of the batch at `p`.
 *
 * @example
 * ```ts
 * import { lastOffsetDeltaAt } from "./layout.ts";
 * import { encodeRecordBatch } from "./batch_builder.ts";
 * console.assert(lastOffsetDeltaAt(encodeRecordBatch([{ value: null }, { value: null }]), 0) === 1);
 * ```
 *
 * @param b Buffer holding at least 27 bytes at `p`.
 * @param p Batch position.
 * @returns The delta of the last offset from the base offset.
 */
export function lastOffsetDeltaAt(b: Uint8Array, p: number): number {
  return readInt32(b, p + LAST_OFFSET_DELTA_OFFSET);
}

/**
 * Sets `lastOffsetDelta` of the batch at `p` (the CRC is not updated: see {@linkcode updateCrcAt}).
 *
 * @example
 * ```ts
 * import { lastOffsetDeltaAt, setLastOffsetDeltaAt } from "./layout.ts";
 * const b = new Uint8Array(61);
 * setLastOffsetDeltaAt(b, 0, 9);
 * console.assert(lastOffsetDeltaAt(b, 0) === 9);
 * ```
 *
 * @param b Buffer holding the header.
 * @param p Batch position.
 * @param v The new value.
 */
export function setLastOffsetDeltaAt(b: Uint8Array, p: number, v: number): void {
  writeInt32(b, p + LAST_OFFSET_DELTA_OFFSET, v);
}

/**
 * Last offset (baseOffset + lastOffsetDelta) of the batch at `p`.
 *
 * @example
 * ```ts
 * import { lastOffsetAt } from "./layout.ts";
 * const b = new Uint8Array(27);
 * b[7] = 10; // baseOffset 10
 * b[26] = 4; // lastOffsetDelta 4
 * console.assert(lastOffsetAt(b, 0) === 14);
 * ```
 *
 * @param b Buffer holding at least 27 bytes at `p`.
 * @param p Batch position.
 * @returns The batch's last offset.
 */
export function lastOffsetAt(b: Uint8Array, p: number): number {
  return readInt64(b, p + BASE_OFFSET_OFFSET) + readInt32(b, p + LAST_OFFSET_DELTA_OFFSET);
}

/**
 * `baseTimestamp` of the batch at `p` (the delete horizon when {@linkcode DELETE_HORIZON_BIT} is
 * set).
 *
 * @example
 * ```ts
 * import { baseTimestampAt } from "./layout.ts";
 * import { encodeRecordBatch } from "./batch_builder.ts";
 * console.assert(baseTimestampAt(encodeRecordBatch([{ value: null, timestamp: 5 }]), 0) === 5);
 * ```
 *
 * @param b Buffer holding the header.
 * @param p Batch position.
 * @returns The timestamp (ms).
 */
export function baseTimestampAt(b: Uint8Array, p: number): number {
  return readInt64(b, p + BASE_TIMESTAMP_OFFSET);
}

/**
 * Sets `baseTimestamp` of the batch at `p` (the CRC is not updated).
 *
 * @example
 * ```ts
 * import { baseTimestampAt, setBaseTimestampAt } from "./layout.ts";
 * const b = new Uint8Array(61);
 * setBaseTimestampAt(b, 0, 1_700_000_000_000);
 * console.assert(baseTimestampAt(b, 0) === 1_700_000_000_000);
 * ```
 *
 * @param b Buffer holding the header.
 * @param p Batch position.
 * @param timestamp The timestamp (ms).
 */
export function setBaseTimestampAt(b: Uint8Array, p: number, timestamp: number): void {
  writeInt64(b, p + BASE_TIMESTAMP_OFFSET, timestamp);
}

/**
 * `maxTimestamp` of the batch at `p`.
 *
 * @example
 * ```ts
 * import { maxTimestampAt } from "./layout.ts";
 * import { encodeRecordBatch } from "./batch_builder.ts";
 * const b = encodeRecordBatch([{ value: null, timestamp: 9 }, { value: null, timestamp: 4 }]);
 * console.assert(maxTimestampAt(b, 0) === 9);
 * ```
 *
 * @param b Buffer holding the header.
 * @param p Batch position.
 * @returns The timestamp (ms).
 */
export function maxTimestampAt(b: Uint8Array, p: number): number {
  return readInt64(b, p + MAX_TIMESTAMP_OFFSET);
}

/**
 * Sets `maxTimestamp` of the batch at `p` (the CRC is not updated).
 *
 * @example
 * ```ts
 * import { maxTimestampAt, setMaxTimestampAt } from "./layout.ts";
 * const b = new Uint8Array(61);
 * setMaxTimestampAt(b, 0, 42);
 * console.assert(maxTimestampAt(b, 0) === 42);
 * ```
 *
 * @param b Buffer holding the header.
 * @param p Batch position.
 * @param timestamp The timestamp (ms).
 */
export function setMaxTimestampAt(b: Uint8Array, p: number, timestamp: number): void {
  writeInt64(b, p + MAX_TIMESTAMP_OFFSET, timestamp);
}

/**
 * Stamps the batch at `p` with LogAppendTime, as the log does on append for a topic with
 * `message.timestamp.type=LogAppendTime` (Kafka's `DefaultRecordBatch.setMaxTimestamp`): the
 * timestamp-type attribute set, `maxTimestamp` = `time`, the CRC recomputed.
 *
 * @example
 * ```ts
 * import { attributesAt, computeCrcAt, crcAt, maxTimestampAt, stampLogAppendTimeAt, TIMESTAMP_TYPE_BIT } from "./layout.ts";
 * import { encodeRecordBatch } from "./batch_builder.ts";
 * const b = encodeRecordBatch([{ value: null, timestamp: 5 }]);
 * stampLogAppendTimeAt(b, 0, 1_700_000_000_000);
 * console.assert(maxTimestampAt(b, 0) === 1_700_000_000_000);
 * console.assert((attributesAt(b, 0) & TIMESTAMP_TYPE_BIT) !== 0 && crcAt(b, 0) === computeCrcAt(b, 0));
 * ```
 *
 * @param b Buffer holding the whole batch.
 * @param p Batch position.
 * @param time The log append time (ms).
 */
export function stampLogAppendTimeAt(b: Uint8Array, p: number, time: number): void {
  setAttributesAt(b, p, attributesAt(b, p) | TIMESTAMP_TYPE_BIT);
  setMaxTimestampAt(b, p, time);
  updateCrcAt(b, p);
}

/**
 * `producerId` of the batch at `p`.
 *
 * @example
 * ```ts
 * import { producerIdAt } from "./layout.ts";
 * import { encodeRecordBatch } from "./batch_builder.ts";
 * console.assert(producerIdAt(encodeRecordBatch([{ value: null }], { producerId: 7 }), 0) === 7);
 * ```
 *
 * @param b Buffer holding the header.
 * @param p Batch position.
 * @returns The producer id, -1 without one.
 */
export function producerIdAt(b: Uint8Array, p: number): number {
  return readInt64(b, p + PRODUCER_ID_OFFSET);
}

/**
 * Sets `producerId` of the batch at `p` (the CRC is not updated: see {@linkcode updateCrcAt}).
 *
 * @example
 * ```ts
 * import { producerIdAt, setProducerIdAt } from "./layout.ts";
 * const b = new Uint8Array(61);
 * setProducerIdAt(b, 0, 7);
 * console.assert(producerIdAt(b, 0) === 7);
 * ```
 *
 * @param b Buffer holding the header.
 * @param p Batch position.
 * @param v The new value.
 */
export function setProducerIdAt(b: Uint8Array, p: number, v: number): void {
  writeInt64(b, p + PRODUCER_ID_OFFSET, v);
}

/**
 * Whether the batch at `p` has a producer id (>= 0), read from one byte: the common case of no
 * producer is told without decoding the field.
 *
 * @example
 * ```ts
 * import { hasProducerIdAt } from "./layout.ts";
 * import { encodeRecordBatch } from "./batch_builder.ts";
 * console.assert(!hasProducerIdAt(encodeRecordBatch([{ value: null }]), 0));
 * ```
 *
 * @param b Buffer holding the header.
 * @param p Batch position.
 * @returns `true` when `producerId` is not negative.
 */
export function hasProducerIdAt(b: Uint8Array, p: number): boolean {
  return (b[p + PRODUCER_ID_OFFSET] & 0x80) === 0;
}

/**
 * `producerEpoch` of the batch at `p`.
 *
 * @example
 * ```ts
 * import { producerEpochAt } from "./layout.ts";
 * import { encodeRecordBatch } from "./batch_builder.ts";
 * console.assert(producerEpochAt(encodeRecordBatch([{ value: null }], { producerEpoch: 2 }), 0) === 2);
 * ```
 *
 * @param b Buffer holding the header.
 * @param p Batch position.
 * @returns The producer epoch, -1 without a producer.
 */
export function producerEpochAt(b: Uint8Array, p: number): number {
  return readInt16(b, p + PRODUCER_EPOCH_OFFSET);
}

/**
 * Sets `producerEpoch` of the batch at `p` (the CRC is not updated: see {@linkcode updateCrcAt}).
 *
 * @example
 * ```ts
 * import { producerEpochAt, setProducerEpochAt } from "./layout.ts";
 * const b = new Uint8Array(61);
 * setProducerEpochAt(b, 0, 2);
 * console.assert(producerEpochAt(b, 0) === 2);
 * ```
 *
 * @param b Buffer holding the header.
 * @param p Batch position.
 * @param v The new value.
 */
export function setProducerEpochAt(b: Uint8Array, p: number, v: number): void {
  writeInt16(b, p + PRODUCER_EPOCH_OFFSET, v);
}

/**
 * `baseSequence` of the batch at `p`.
 *
 * @example
 * ```ts
 * import { baseSequenceAt } from "./layout.ts";
 * import { encodeRecordBatch } from "./batch_builder.ts";
 * console.assert(baseSequenceAt(encodeRecordBatch([{ value: null }], { baseSequence: 4 }), 0) === 4);
 * ```
 *
 * @param b Buffer holding the header.
 * @param p Batch position.
 * @returns The sequence of the first record, -1 without a producer.
 */
export function baseSequenceAt(b: Uint8Array, p: number): number {
  return readInt32(b, p + BASE_SEQUENCE_OFFSET);
}

/**
 * Sets `baseSequence` of the batch at `p` (the CRC is not updated: see {@linkcode updateCrcAt}).
 *
 * @example
 * ```ts
 * import { baseSequenceAt, setBaseSequenceAt } from "./layout.ts";
 * const b = new Uint8Array(61);
 * setBaseSequenceAt(b, 0, 5);
 * console.assert(baseSequenceAt(b, 0) === 5);
 * ```
 *
 * @param b Buffer holding the header.
 * @param p Batch position.
 * @param v The new value.
 */
export function setBaseSequenceAt(b: Uint8Array, p: number, v: number): void {
  writeInt32(b, p + BASE_SEQUENCE_OFFSET, v);
}

/** The largest sequence number: the next one is 0 (sequences are int32 and wrap). */
export const MAX_SEQUENCE: number = 0x7fffffff;

/**
 * The sequence `increment` records after `seq`, wrapping from {@linkcode MAX_SEQUENCE} to 0
 * (Kafka's `DefaultRecordBatch.incrementSequence`). A batch's last sequence is
 * `incrementSequence(baseSequence, recordCount - 1)`.
 *
 * @example
 * ```ts
 * import { incrementSequence } from "./layout.ts";
 * console.assert(incrementSequence(5, 3) === 8);
 * console.assert(incrementSequence(2147483646, 2) === 0);
 * ```
 *
 * @param seq A sequence number (0 to {@linkcode MAX_SEQUENCE}).
 * @param increment How many records further (0 to {@linkcode MAX_SEQUENCE}).
 * @returns The resulting sequence.
 */
export function incrementSequence(seq: number, increment: number): number {
  if (seq > MAX_SEQUENCE - increment) return seq - (MAX_SEQUENCE - increment) - 1;
  return seq + increment;
}

/**
 * `recordCount` of the batch at `p`.
 *
 * @example
 * ```ts
 * import { recordCountAt } from "./layout.ts";
 * import { encodeRecordBatch } from "./batch_builder.ts";
 * console.assert(recordCountAt(encodeRecordBatch([{ value: null }, { value: null }]), 0) === 2);
 * ```
 *
 * @param b Buffer holding the header.
 * @param p Batch position.
 * @returns The number of records.
 */
export function recordCountAt(b: Uint8Array, p: number): number {
  return readInt32(b, p + RECORDS_COUNT_OFFSET);
}

/**
 * Sets `recordCount` of the batch at `p` (the CRC is not updated: see {@linkcode updateCrcAt}).
 *
 * @example
 * ```ts
 * import { recordCountAt, setRecordCountAt } from "./layout.ts";
 * const b = new Uint8Array(61);
 * setRecordCountAt(b, 0, 2);
 * console.assert(recordCountAt(b, 0) === 2);
 * ```
 *
 * @param b Buffer holding the header.
 * @param p Batch position.
 * @param v The new value.
 */
export function setRecordCountAt(b: Uint8Array, p: number, v: number): void {
  writeInt32(b, p + RECORDS_COUNT_OFFSET, v);
}

/** Compression codec ids, as stored in the attributes' low bits. */
export const Compression = { none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 } as const;
/** Name of a compression codec. */
export type CompressionName = keyof typeof Compression;
const COMPRESSION_NAMES: readonly CompressionName[] = ["none", "gzip", "snappy", "lz4", "zstd"];

/**
 * The codec named by a codec id, or `undefined` for an unknown id.
 *
 * @example
 * ```ts
 * import { compressionName } from "./layout.ts";
 * console.assert(compressionName(3) === "lz4" && compressionName(5) === undefined);
 * ```
 *
 * @param id Codec id (attributes & {@linkcode COMPRESSION_CODEC_MASK}).
 * @returns The codec's name.
 */
export function compressionName(id: number): CompressionName | undefined {
  return COMPRESSION_NAMES[id];
}

/** The fixed fields of a v2 batch header (franz-go's `kmsg.RecordBatch` without the records). */
export interface RecordBatchHeader {
  /** Offset of the first record. */
  baseOffset: number;
  /** Bytes after the `batchLength` field. */
  batchLength: number;
  /** Partition leader epoch, -1 if unknown. */
  partitionLeaderEpoch: number;
  /** Magic (2). */
  magic: number;
  /** Stored CRC-32C. */
  crc: number;
  /** Attributes. */
  attributes: number;
  /** Delta of the last offset from the base offset. */
  lastOffsetDelta: number;
  /** First timestamp (or the delete horizon). */
  baseTimestamp: number;
  /** Largest timestamp. */
  maxTimestamp: number;
  /** Producer id, -1 without one. */
  producerId: number;
  /** Producer epoch, -1 without a producer. */
  producerEpoch: number;
  /** Sequence of the first record, -1 without a producer. */
  baseSequence: number;
  /** Number of records. */
  recordCount: number;
}

/**
 * Reads every fixed field of the batch at `p`.
 *
 * @example
 * ```ts
 * import { readBatchHeader } from "./layout.ts";
 * import { encodeRecordBatch } from "./batch_builder.ts";
 * const h = readBatchHeader(encodeRecordBatch([{ value: null }], { baseOffset: 3 }), 0);
 * console.assert(h.baseOffset === 3 && h.magic === 2 && h.recordCount === 1);
 * ```
 *
 * @param b Buffer holding at least {@linkcode RECORD_BATCH_OVERHEAD} bytes at `p`.
 * @param p Batch position.
 * @returns The header fields.
 */
export function readBatchHeader(b: Uint8Array, p: number): RecordBatchHeader {
  return {
    baseOffset: baseOffsetAt(b, p),
    batchLength: batchLengthAt(b, p),
    partitionLeaderEpoch: partitionLeaderEpochAt(b, p),
    magic: magicAt(b, p),
    crc: crcAt(b, p),
    attributes: attributesAt(b, p),
    lastOffsetDelta: lastOffsetDeltaAt(b, p),
    baseTimestamp: baseTimestampAt(b, p),
    maxTimestamp: maxTimestampAt(b, p),
    producerId: producerIdAt(b, p),
    producerEpoch: producerEpochAt(b, p),
    baseSequence: baseSequenceAt(b, p),
    recordCount: recordCountAt(b, p),
  };
}

/**
 * Writes every fixed field but the CRC at `p` (write the records, then {@linkcode updateCrcAt}).
 *
 * @example
 * ```ts
 * import { readBatchHeader, RECORD_BATCH_OVERHEAD, updateCrcAt, writeBatchHeader } from "./layout.ts";
 * const b = new Uint8Array(RECORD_BATCH_OVERHEAD);
 * writeBatchHeader(b, 0, {
 *   baseOffset: 0, batchLength: RECORD_BATCH_OVERHEAD - 12, partitionLeaderEpoch: -1, magic: 2,
 *   attributes: 0, lastOffsetDelta: -1, baseTimestamp: -1, maxTimestamp: -1, producerId: -1,
 *   producerEpoch: -1, baseSequence: -1, recordCount: 0,
 * });
 * updateCrcAt(b, 0);
 * console.assert(readBatchHeader(b, 0).batchLength === 49);
 * ```
 *
 * @param b Buffer with room for the header at `p`.
 * @param p Batch position.
 * @param h The fields (`crc` is ignored).
 */
export function writeBatchHeader(
  b: Uint8Array,
  p: number,
  h: Omit<RecordBatchHeader, "crc">,
): void {
  writeInt64(b, p + BASE_OFFSET_OFFSET, h.baseOffset);
  writeInt32(b, p + LENGTH_OFFSET, h.batchLength);
  writeInt32(b, p + PARTITION_LEADER_EPOCH_OFFSET, h.partitionLeaderEpoch);
  b[p + MAGIC_OFFSET] = h.magic;
  writeInt16(b, p + ATTRIBUTES_OFFSET, h.attributes);
  writeInt32(b, p + LAST_OFFSET_DELTA_OFFSET, h.lastOffsetDelta);
  writeInt64(b, p + BASE_TIMESTAMP_OFFSET, h.baseTimestamp);
  writeInt64(b, p + MAX_TIMESTAMP_OFFSET, h.maxTimestamp);
  writeInt64(b, p + PRODUCER_ID_OFFSET, h.producerId);
  writeInt16(b, p + PRODUCER_EPOCH_OFFSET, h.producerEpoch);
  writeInt32(b, p + BASE_SEQUENCE_OFFSET, h.baseSequence);
  writeInt32(b, p + RECORDS_COUNT_OFFSET, h.recordCount);
}

/**
 * The offset after the last complete batch of concatenated batches (where the next read starts),
 * or `null` if `data` holds no complete batch. Only headers are read.
 *
 * @example
 * ```ts
 * import { nextOffsetAfter } from "./layout.ts";
 * import { encodeRecordBatch } from "./batch_builder.ts";
 * const b = encodeRecordBatch([{ value: null }, { value: null }], { baseOffset: 5 });
 * console.assert(nextOffsetAfter(b) === 7 && nextOffsetAfter(b.subarray(0, 30)) === null);
 * ```
 *
 * @param data Consecutive batches (a partial one may end them).
 * @returns The next offset, or `null`.
 */
export function nextOffsetAfter(data: Uint8Array): number | null {
  let pos = 0;
  let next: number | null = null;
  while (data.length - pos >= HEADER_PEEK) {
    const size = batchSizeAt(data, pos);
    if (size < RECORD_BATCH_OVERHEAD || size > data.length - pos) break;
    next = lastOffsetAt(data, pos) + 1;
    pos += size;
  }
  return next;
}
