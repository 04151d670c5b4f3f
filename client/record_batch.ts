/**
 * Kafka record batch (magic v2) encoding and decoding.
 *
 * A fetched `records` field is a concatenation of batches; the last may be cut short by the
 * broker's size limit, so {@linkcode decodeRecordBatches} stops quietly at a partial trailing batch.
 * Compression: none, gzip and zstd (via `node:zlib`) both ways; snappy and lz4 are decoded (see
 * `compression.ts`) but not produced: encoding with them raises `UNSUPPORTED_COMPRESSION_TYPE`.
 *
 * @module
 */

import { gunzipSync, gzipSync, zstdCompressSync, zstdDecompressSync } from "node:zlib";
import { crc32c } from "../wasm/mod.ts";
import { lz4Decompress, snappyDecompress } from "./compression.ts";
import { ErrorCode, KafkaError } from "../protocol/errors.ts";

/** Size of the batch header, from `baseOffset` to `recordsCount` inclusive. */
export const RECORD_BATCH_OVERHEAD = 61;
/** Offset of the CRC field within a batch. */
const CRC_OFFSET = 17;
/** Offset of the attributes field (start of the CRC-covered region). */
const ATTRIBUTES_OFFSET = 21;

/** Compression codecs, by their attribute value. */
export const Compression = { none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 } as const;
/** Name of a compression codec. */
export type CompressionName = keyof typeof Compression;
const COMPRESSION_NAMES: readonly CompressionName[] = ["none", "gzip", "snappy", "lz4", "zstd"];

/** A record header. */
export interface RecordHeader {
  /** Header key. */
  key: string;
  /** Header value, or `null`. */
  value: Uint8Array | null;
}

/** A record to put in a batch. */
export interface RecordInput {
  /** Key bytes, or `null`. */
  key?: Uint8Array | null;
  /** Value bytes, or `null` (a tombstone). */
  value: Uint8Array | null;
  /** Headers, in order. */
  headers?: RecordHeader[];
  /** Timestamp in milliseconds since the epoch; defaults to the batch's base timestamp. */
  timestamp?: number;
}

/** Options for {@linkcode encodeRecordBatch}. */
export interface EncodeRecordBatchOptions {
  /** Offset of the first record (the broker reassigns it on produce). Default 0. */
  baseOffset?: number;
  /** Compression codec. Default `none`. */
  compression?: CompressionName;
  /** Default timestamp for records without one. Default `Date.now()`. */
  timestamp?: number;
  /** Producer id, -1 when not idempotent. */
  producerId?: number;
  /** Producer epoch, -1 when not idempotent. */
  producerEpoch?: number;
  /** Sequence of the first record, -1 when not idempotent. */
  baseSequence?: number;
  /** Partition leader epoch. Default -1. */
  partitionLeaderEpoch?: number;
  /** Whether the batch is transactional. */
  transactional?: boolean;
  /** Whether this is a control batch. */
  control?: boolean;
  /** Timestamp type: 0 = CreateTime, 1 = LogAppendTime. Default 0. */
  timestampType?: 0 | 1;
}

/**
 * A decoded record. `key`, `value` and header values are views into the decoded bytes (no
 * copies): copy them (`.slice()`) to keep a few records without pinning a whole fetch response.
 */
export interface DecodedRecord {
  /** Absolute offset. */
  offset: number;
  /** Timestamp in milliseconds since the epoch. */
  timestamp: number;
  /** Key bytes, or `null`. */
  key: Uint8Array | null;
  /** Value bytes, or `null`. */
  value: Uint8Array | null;
  /** Headers, in order. */
  headers: RecordHeader[];
}

/** A decoded batch. */
export interface DecodedRecordBatch {
  /** Offset of the first record. */
  baseOffset: number;
  /** Offset of the last record (`baseOffset + lastOffsetDelta`). */
  lastOffset: number;
  /** Partition leader epoch. */
  partitionLeaderEpoch: number;
  /** Compression codec. */
  compression: CompressionName;
  /** 0 = CreateTime, 1 = LogAppendTime. */
  timestampType: 0 | 1;
  /** Whether transactional. */
  transactional: boolean;
  /** Whether a control batch. */
  control: boolean;
  /** First timestamp. */
  baseTimestamp: number;
  /** Largest timestamp. */
  maxTimestamp: number;
  /** Producer id. */
  producerId: number;
  /** Producer epoch. */
  producerEpoch: number;
  /** Base sequence. */
  baseSequence: number;
  /** Records (for LogAppendTime batches, every timestamp is `maxTimestamp`). */
  records: DecodedRecord[];
  /** Size of the batch in bytes. */
  sizeInBytes: number;
}

function corrupt(detail: string): KafkaError {
  return new KafkaError(ErrorCode.CORRUPT_MESSAGE, `record batch: ${detail}`);
}

class Reader {
  pos: number;
  constructor(readonly buf: Uint8Array, pos = 0) {
    this.pos = pos;
  }
  /** A zigzag varlong as a number (exact up to 2^53; timestamp deltas are far smaller). */
  varlongNumber(): number {
    const start = this.pos;
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 7; i++) {
      if (this.pos >= this.buf.length) throw corrupt("record truncated inside a varint");
      const b = this.buf[this.pos++];
      result += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) {
        // zigzag decode without 32-bit truncation
        return result % 2 === 0 ? result / 2 : -(result + 1) / 2;
      }
      mul *= 128;
    }
    this.pos = start;
    return Number(this.varlong());
  }
  varlong(): bigint {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (this.pos >= this.buf.length) throw corrupt("record truncated inside a varint");
      const b = this.buf[this.pos++];
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) break;
      shift += 7n;
      if (shift > 63n) throw corrupt("varint longer than 10 bytes");
    }
    return (result >> 1n) ^ -(result & 1n);
  }
  varint(): number {
    // Fast path for small values.
    let result = 0;
    let shift = 0;
    for (;;) {
      if (this.pos >= this.buf.length) throw corrupt("record truncated inside a varint");
      const b = this.buf[this.pos++];
      if (shift === 28 && (b & 0x70) !== 0) throw corrupt("varint overflows 32 bits");
      result |= (b & 0x7f) << shift;
      if ((b & 0x80) === 0) break;
      shift += 7;
      if (shift > 28) throw corrupt("varint longer than 5 bytes");
    }
    return (result >>> 1) ^ -(result & 1);
  }
  nullableBytes(what: string): Uint8Array | null {
    const len = this.varint();
    if (len < -1) throw corrupt(`negative ${what} length ${len}`);
    if (len === -1) return null;
    if (this.pos + len > this.buf.length) throw corrupt(`${what} runs past the end of the record`);
    const out = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return out;
  }
}

const textDecoder = new TextDecoder("utf-8", { fatal: true });
const textEncoder = new TextEncoder();

function compress(data: Uint8Array, codec: CompressionName): Uint8Array {
  switch (codec) {
    case "none":
      return data;
    case "gzip":
      return new Uint8Array(gzipSync(data));
    case "zstd":
      return new Uint8Array(zstdCompressSync(data));
    default:
      throw new KafkaError(
        ErrorCode.UNSUPPORTED_COMPRESSION_TYPE,
        `record batch: compression ${codec} is not supported by this client`,
      );
  }
}

function decompress(data: Uint8Array, codec: CompressionName): Uint8Array {
  try {
    switch (codec) {
      case "none":
        return data;
      case "gzip":
        return new Uint8Array(gunzipSync(data));
      case "zstd":
        return new Uint8Array(zstdDecompressSync(data));
      case "snappy":
        return snappyDecompress(data);
      case "lz4":
        return lz4Decompress(data);
    }
  } catch (e) {
    throw corrupt(`cannot decompress ${codec} records: ${(e as Error).message}`);
  }
}

/** Bytes a zigzag-encoded varint of `v` (a 32-bit signed integer) takes. */
function varintSize(v: number): number {
  const z = ((v << 1) ^ (v >> 31)) >>> 0;
  return z < 0x80 ? 1 : z < 0x4000 ? 2 : z < 0x200000 ? 3 : z < 0x10000000 ? 4 : 5;
}

/** Bytes a zigzag-encoded varlong of the safe integer `v` takes. */
function varlongSize(v: number): number {
  if (v >= -0x40000000 && v < 0x40000000) return varintSize(v);
  let z = v >= 0 ? v * 2 : -v * 2 - 1;
  let n = 1;
  while (z >= 128) {
    z = Math.floor(z / 128);
    n++;
  }
  return n;
}

/**
 * Builds one record batch (magic v2) in a single growing buffer: records are encoded in place as
 * they are appended (no per-record objects), and {@linkcode RecordBatchBuilder.finish} writes
 * the header and the CRC-32C over the batch. Uncompressed batches are returned without a copy.
 *
 * @example
 * ```ts
 * import { decodeRecordBatches, RecordBatchBuilder } from "./record_batch.ts";
 * const b = new RecordBatchBuilder();
 * b.append(null, new TextEncoder().encode("v"), 1_700_000_000_000);
 * const bytes = b.finish();
 * decodeRecordBatches(bytes)[0].records.length; // 1
 * ```
 */
export class RecordBatchBuilder {
  #buf: Uint8Array;
  #pos = RECORD_BATCH_OVERHEAD;
  #count = 0;
  #baseTimestamp = 0;
  #maxTimestamp = 0;
  #finished = false;

  /**
   * Creates an empty builder.
   *
   * @param capacity Initial buffer size in bytes (it grows as needed). Default 1024.
   */
  constructor(capacity = 1024) {
    this.#buf = new Uint8Array(Math.max(RECORD_BATCH_OVERHEAD + 16, capacity));
  }

  /** Number of records appended. */
  get count(): number {
    return this.#count;
  }

  /** Size of the batch so far in bytes (uncompressed, header included). */
  get sizeInBytes(): number {
    return this.#pos;
  }

  #ensure(n: number): void {
    if (this.#pos + n <= this.#buf.length) return;
    let size = this.#buf.length * 2;
    while (size < this.#pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.#buf.subarray(0, this.#pos));
    this.#buf = next;
  }

  #varint(v: number): void {
    const buf = this.#buf;
    let z = ((v << 1) ^ (v >> 31)) >>> 0;
    let p = this.#pos;
    while (z >= 0x80) {
      buf[p++] = (z & 0x7f) | 0x80;
      z >>>= 7;
    }
    buf[p++] = z;
    this.#pos = p;
  }

  #varlong(v: number): void {
    if (v >= -0x40000000 && v < 0x40000000) return this.#varint(v);
    const buf = this.#buf;
    let z = v >= 0 ? v * 2 : -v * 2 - 1;
    let p = this.#pos;
    while (z >= 128) {
      buf[p++] = (z % 128) | 0x80;
      z = Math.floor(z / 128);
    }
    buf[p++] = z;
    this.#pos = p;
  }

  #bytes(b: Uint8Array | null | undefined): void {
    if (b === null || b === undefined) return this.#varint(-1);
    this.#varint(b.length);
    if (b.length < 32) {
      const buf = this.#buf;
      let p = this.#pos;
      for (let i = 0; i < b.length; i++) buf[p++] = b[i];
      this.#pos = p;
    } else {
      this.#buf.set(b, this.#pos);
      this.#pos += b.length;
    }
  }

  /**
   * Appends one record.
   *
   * @param key Key bytes, or `null`.
   * @param value Value bytes, or `null` (a tombstone).
   * @param timestamp Timestamp in milliseconds since the epoch.
   * @param headers Headers, in order.
   * @throws {Error} If the batch is already finished.
   */
  append(
    key: Uint8Array | null | undefined,
    value: Uint8Array | null | undefined,
    timestamp: number,
    headers?: readonly RecordHeader[],
  ): void {
    if (this.#finished) throw new Error("record batch: cannot append to a finished batch");
    if (this.#count === 0) {
      this.#baseTimestamp = timestamp;
      this.#maxTimestamp = timestamp;
    } else if (timestamp > this.#maxTimestamp) this.#maxTimestamp = timestamp;
    const delta = timestamp - this.#baseTimestamp;
    const keyLen = key == null ? -1 : key.length;
    const valueLen = value == null ? -1 : value.length;
    const headerCount = headers === undefined ? 0 : headers.length;
    let headerKeys: Uint8Array[] | undefined;
    let size = 1 + varlongSize(delta) + varintSize(this.#count) + varintSize(keyLen) +
      (keyLen > 0 ? keyLen : 0) + varintSize(valueLen) + (valueLen > 0 ? valueLen : 0) +
      varintSize(headerCount);
    if (headerCount > 0) {
      headerKeys = [];
      for (const h of headers!) {
        const k = textEncoder.encode(h.key);
        headerKeys.push(k);
        const vl = h.value === null ? -1 : h.value.length;
        size += varintSize(k.length) + k.length + varintSize(vl) + (vl > 0 ? vl : 0);
      }
    }
    this.#ensure(5 + size);
    this.#varint(size);
    this.#buf[this.#pos++] = 0; // attributes
    this.#varlong(delta);
    this.#varint(this.#count);
    this.#bytes(key);
    this.#bytes(value);
    this.#varint(headerCount);
    for (let i = 0; i < headerCount; i++) {
      this.#bytes(headerKeys![i]);
      this.#bytes(headers![i].value);
    }
    this.#count++;
  }

  /**
   * Writes the header and CRC and returns the batch. The builder takes no more records after.
   *
   * @param options Offsets, compression, producer fields (`timestamp` is ignored: each record
   *   has its own).
   * @returns The batch bytes (a view of the builder's buffer when uncompressed).
   * @throws {RangeError} If no record was appended.
   * @throws {KafkaError} `UNSUPPORTED_COMPRESSION_TYPE` for snappy or lz4.
   */
  finish(options: EncodeRecordBatchOptions = {}): Uint8Array {
    if (this.#count === 0) throw new RangeError("record batch: cannot encode an empty batch");
    this.#finished = true;
    const codec = options.compression ?? "none";
    let out: Uint8Array;
    if (codec === "none") {
      out = this.#buf.subarray(0, this.#pos);
    } else {
      const payload = compress(this.#buf.subarray(RECORD_BATCH_OVERHEAD, this.#pos), codec);
      out = new Uint8Array(RECORD_BATCH_OVERHEAD + payload.length);
      out.set(payload, RECORD_BATCH_OVERHEAD);
    }
    const v = new DataView(out.buffer, out.byteOffset, RECORD_BATCH_OVERHEAD);
    v.setBigInt64(0, BigInt(options.baseOffset ?? 0));
    v.setInt32(8, out.length - 12);
    v.setInt32(12, options.partitionLeaderEpoch ?? -1);
    v.setInt8(16, 2);
    let attributes = Compression[codec];
    if (options.timestampType === 1) attributes |= 0x08;
    if (options.transactional) attributes |= 0x10;
    if (options.control) attributes |= 0x20;
    v.setInt16(21, attributes);
    v.setInt32(23, this.#count - 1);
    v.setBigInt64(27, BigInt(this.#baseTimestamp));
    v.setBigInt64(35, BigInt(this.#maxTimestamp));
    v.setBigInt64(43, BigInt(options.producerId ?? -1));
    v.setInt16(51, options.producerEpoch ?? -1);
    v.setInt32(53, options.baseSequence ?? -1);
    v.setInt32(57, this.#count);
    v.setUint32(CRC_OFFSET, crc32c(out.subarray(ATTRIBUTES_OFFSET)));
    return out;
  }
}

/**
 * Encodes records into one record batch (magic v2) with a valid CRC-32C.
 *
 * @example
 * ```ts
 * import { encodeRecordBatch, decodeRecordBatches } from "./record_batch.ts";
 * const te = new TextEncoder();
 * const batch = encodeRecordBatch([{ key: te.encode("k"), value: te.encode("v") }]);
 * decodeRecordBatches(batch)[0].records.length; // 1
 * ```
 *
 * @param records The records, at least one.
 * @param options Offsets, compression, producer fields.
 * @returns The batch bytes.
 * @throws {RangeError} If `records` is empty.
 * @throws {KafkaError} `UNSUPPORTED_COMPRESSION_TYPE` for snappy or lz4.
 */
export function encodeRecordBatch(
  records: readonly RecordInput[],
  options: EncodeRecordBatchOptions = {},
): Uint8Array {
  if (records.length === 0) throw new RangeError("record batch: cannot encode an empty batch");
  const baseTimestamp = records[0].timestamp ?? options.timestamp ?? Date.now();
  let size = 0;
  for (const r of records) size += (r.key?.length ?? 0) + (r.value?.length ?? 0) + 16;
  const builder = new RecordBatchBuilder(RECORD_BATCH_OVERHEAD + size);
  for (const r of records) {
    builder.append(r.key, r.value, r.timestamp ?? options.timestamp ?? baseTimestamp, r.headers);
  }
  return builder.finish(options);
}

/** Options for {@linkcode decodeRecordBatches}. */
export interface DecodeRecordBatchesOptions {
  /** Verify each batch's CRC-32C. Default true. */
  verifyCrc?: boolean;
}

/**
 * Decodes the concatenated record batches of a fetch response (or a produce request). A partial
 * trailing batch (cut by the broker's size limit) is ignored. Control batches are returned with
 * `control: true` and their records; use {@linkcode decodeRecords} to skip them.
 *
 * @example
 * ```ts
 * import { decodeRecordBatches, encodeRecordBatch } from "./record_batch.ts";
 * const bytes = encodeRecordBatch([{ value: new Uint8Array([1]) }], { baseOffset: 5 });
 * decodeRecordBatches(bytes)[0].baseOffset; // 5
 * ```
 *
 * @param data The raw bytes.
 * @param options Whether to verify CRCs.
 * @returns The complete batches, in order.
 * @throws {KafkaError} `CORRUPT_MESSAGE` on a bad CRC, an old magic, malformed records or a
 *   compressed payload that cannot be decompressed.
 */
export function decodeRecordBatches(
  data: Uint8Array,
  options: DecodeRecordBatchesOptions = {},
): DecodedRecordBatch[] {
  const verify = options.verifyCrc ?? true;
  const out: DecodedRecordBatch[] = [];
  const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let pos = 0;
  while (data.length - pos >= 17) {
    const baseOffset = Number(v.getBigInt64(pos));
    const batchLength = v.getInt32(pos + 8);
    if (batchLength < 0) throw corrupt(`negative batch length ${batchLength} at byte ${pos}`);
    const size = 12 + batchLength;
    if (pos + size > data.length) break; // partial trailing batch
    const magic = v.getInt8(pos + 16);
    if (magic !== 2) {
      throw corrupt(`unsupported magic ${magic} at offset ${baseOffset} (only v2 is supported)`);
    }
    if (size < RECORD_BATCH_OVERHEAD) throw corrupt(`batch length ${batchLength} is too small`);
    const batch = data.subarray(pos, pos + size);
    const bv = new DataView(batch.buffer, batch.byteOffset, batch.byteLength);
    if (verify) {
      const expected = bv.getUint32(CRC_OFFSET);
      const actual = crc32c(batch.subarray(ATTRIBUTES_OFFSET));
      if (expected !== actual) {
        throw corrupt(
          `CRC mismatch at offset ${baseOffset}: stored ${expected.toString(16)}, ` +
            `computed ${actual.toString(16)}`,
        );
      }
    }
    const attributes = bv.getInt16(21);
    const codecId = attributes & 0x07;
    const compression = COMPRESSION_NAMES[codecId];
    if (compression === undefined) throw corrupt(`unknown compression codec ${codecId}`);
    const timestampType = (attributes & 0x08) !== 0 ? 1 : 0;
    const lastOffsetDelta = bv.getInt32(23);
    const baseTimestamp = Number(bv.getBigInt64(27));
    const maxTimestamp = Number(bv.getBigInt64(35));
    const count = bv.getInt32(57);
    if (count < 0) throw corrupt(`negative record count ${count}`);
    const payload = decompress(batch.subarray(RECORD_BATCH_OVERHEAD), compression);
    const r = new Reader(payload);
    const records: DecodedRecord[] = [];
    for (let i = 0; i < count; i++) {
      const len = r.varint();
      const end = r.pos + len;
      if (len < 0 || end > payload.length) throw corrupt(`record ${i} length ${len} is invalid`);
      r.pos++; // attributes
      const tsDelta = r.varlongNumber();
      const offsetDelta = r.varint();
      const key = r.nullableBytes("key");
      const value = r.nullableBytes("value");
      const headerCount = r.varint();
      if (headerCount < 0) throw corrupt(`negative header count ${headerCount}`);
      const headers: RecordHeader[] = [];
      for (let h = 0; h < headerCount; h++) {
        const hk = r.nullableBytes("header key");
        if (hk === null) throw corrupt("null header key");
        let keyText: string;
        try {
          keyText = textDecoder.decode(hk);
        } catch {
          throw corrupt("header key is not valid UTF-8");
        }
        headers.push({ key: keyText, value: r.nullableBytes("header value") });
      }
      if (r.pos !== end) throw corrupt(`record ${i} length ${len} does not match its fields`);
      records.push({
        offset: baseOffset + offsetDelta,
        timestamp: timestampType === 1 ? maxTimestamp : baseTimestamp + tsDelta,
        key,
        value,
        headers,
      });
    }
    out.push({
      baseOffset,
      lastOffset: baseOffset + lastOffsetDelta,
      partitionLeaderEpoch: bv.getInt32(12),
      compression,
      timestampType,
      transactional: (attributes & 0x10) !== 0,
      control: (attributes & 0x20) !== 0,
      baseTimestamp,
      maxTimestamp,
      producerId: Number(bv.getBigInt64(43)),
      producerEpoch: bv.getInt16(51),
      baseSequence: bv.getInt32(53),
      records,
      sizeInBytes: size,
    });
    pos += size;
  }
  return out;
}

/**
 * Decodes fetched bytes into data records, skipping control batches and the partial trailing
 * batch, and dropping records below `fromOffset` (a fetch may start mid-batch).
 *
 * @example
 * ```ts
 * import { decodeRecords, encodeRecordBatch } from "./record_batch.ts";
 * const bytes = encodeRecordBatch([{ value: null }, { value: null }], { baseOffset: 10 });
 * decodeRecords(bytes, 11).map((r) => r.offset); // [11]
 * ```
 *
 * @param data The raw bytes.
 * @param fromOffset Lowest offset to return. Default 0.
 * @returns The records, in offset order.
 * @throws {KafkaError} As {@linkcode decodeRecordBatches}.
 */
export function decodeRecords(data: Uint8Array, fromOffset = 0): DecodedRecord[] {
  const out: DecodedRecord[] = [];
  for (const batch of decodeRecordBatches(data)) {
    if (batch.control) continue;
    for (const r of batch.records) if (r.offset >= fromOffset) out.push(r);
  }
  return out;
}

/**
 * Builds one output record in {@linkcode decodeRecordsInto}.
 *
 * @typeParam T The record type.
 */
export type RecordFactory<T> = (
  offset: number,
  timestamp: number,
  key: Uint8Array | null,
  value: Uint8Array | null,
  headers: RecordHeader[],
) => T;

/**
 * Decodes fetched bytes straight into caller-made records (one object per record, no
 * intermediate batch objects), skipping control batches, the partial trailing batch and records
 * below `fromOffset`. The fast path of the consumer.
 *
 * @example
 * ```ts
 * import { decodeRecordsInto, encodeRecordBatch } from "./record_batch.ts";
 * const bytes = encodeRecordBatch([{ value: null }, { value: null }], { baseOffset: 10 });
 * const out: number[] = [];
 * decodeRecordsInto(bytes, 11, (offset) => offset, out); // 12
 * out; // [11]
 * ```
 *
 * @param data The raw bytes.
 * @param fromOffset Lowest offset to return.
 * @param make Builds a record from its fields (key, value and header values are views).
 * @param out Receives the records, in offset order.
 * @param options Whether to verify CRCs (default true).
 * @returns The offset after the last complete batch, or `fromOffset` when there is none.
 * @throws {KafkaError} `CORRUPT_MESSAGE` as {@linkcode decodeRecordBatches}.
 */
export function decodeRecordsInto<T>(
  data: Uint8Array,
  fromOffset: number,
  make: RecordFactory<T>,
  out: T[],
  options: DecodeRecordBatchesOptions = {},
): number {
  const verify = options.verifyCrc ?? true;
  const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let next = fromOffset;
  let pos = 0;
  while (data.length - pos >= 17) {
    const baseOffset = Number(v.getBigInt64(pos));
    const batchLength = v.getInt32(pos + 8);
    if (batchLength < 0) throw corrupt(`negative batch length ${batchLength} at byte ${pos}`);
    const size = 12 + batchLength;
    if (pos + size > data.length) break; // partial trailing batch
    const magic = v.getInt8(pos + 16);
    if (magic !== 2) {
      throw corrupt(`unsupported magic ${magic} at offset ${baseOffset} (only v2 is supported)`);
    }
    if (size < RECORD_BATCH_OVERHEAD) throw corrupt(`batch length ${batchLength} is too small`);
    const lastOffset = baseOffset + v.getInt32(pos + 23);
    const attributes = v.getInt16(pos + 21);
    if (lastOffset < fromOffset || (attributes & 0x20) !== 0) {
      // Already consumed, or a control batch: nothing to decode.
      if (lastOffset + 1 > next) next = lastOffset + 1;
      pos += size;
      continue;
    }
    const batch = data.subarray(pos, pos + size);
    if (verify) {
      const expected = v.getUint32(pos + CRC_OFFSET);
      const actual = crc32c(batch.subarray(ATTRIBUTES_OFFSET));
      if (expected !== actual) {
        throw corrupt(
          `CRC mismatch at offset ${baseOffset}: stored ${expected.toString(16)}, ` +
            `computed ${actual.toString(16)}`,
        );
      }
    }
    const codecId = attributes & 0x07;
    const compression = COMPRESSION_NAMES[codecId];
    if (compression === undefined) throw corrupt(`unknown compression codec ${codecId}`);
    const logAppendTime = (attributes & 0x08) !== 0;
    const baseTimestamp = Number(v.getBigInt64(pos + 27));
    const maxTimestamp = Number(v.getBigInt64(pos + 35));
    const count = v.getInt32(pos + 57);
    if (count < 0) throw corrupt(`negative record count ${count}`);
    const payload = decompress(batch.subarray(RECORD_BATCH_OVERHEAD), compression);
    const r = new Reader(payload);
    for (let i = 0; i < count; i++) {
      const len = r.varint();
      const end = r.pos + len;
      if (len < 0 || end > payload.length) throw corrupt(`record ${i} length ${len} is invalid`);
      r.pos++; // attributes
      const tsDelta = r.varlongNumber();
      const offsetDelta = r.varint();
      const key = r.nullableBytes("key");
      const value = r.nullableBytes("value");
      const headerCount = r.varint();
      if (headerCount < 0) throw corrupt(`negative header count ${headerCount}`);
      const headers: RecordHeader[] = [];
      for (let h = 0; h < headerCount; h++) {
        const hk = r.nullableBytes("header key");
        if (hk === null) throw corrupt("null header key");
        let keyText: string;
        try {
          keyText = textDecoder.decode(hk);
        } catch {
          throw corrupt("header key is not valid UTF-8");
        }
        headers.push({ key: keyText, value: r.nullableBytes("header value") });
      }
      if (r.pos !== end) throw corrupt(`record ${i} length ${len} does not match its fields`);
      const offset = baseOffset + offsetDelta;
      if (offset < fromOffset) continue;
      out.push(
        make(offset, logAppendTime ? maxTimestamp : baseTimestamp + tsDelta, key, value, headers),
      );
    }
    if (lastOffset + 1 > next) next = lastOffset + 1;
    pos += size;
  }
  return next;
}
