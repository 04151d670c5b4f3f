// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * Building record batches v2: {@linkcode RecordBatchBuilder} encodes records in place into one
 * growing buffer and writes the header and CRC-32C at the end; {@linkcode encodeRecordBatch} is
 * the one-call form. Every codec can be written (none, gzip, snappy, lz4, zstd).
 *
 * @module
 */

import { compress } from "./compression.ts";
import { RecordsError, RecordsErrorCode } from "./errors.ts";
import {
  Compression,
  type CompressionName,
  CONTROL_BIT,
  DELETE_HORIZON_BIT,
  LOG_OVERHEAD,
  MAGIC_V2,
  NO_PRODUCER_ID,
  RECORD_BATCH_OVERHEAD,
  TIMESTAMP_TYPE_BIT,
  TRANSACTIONAL_BIT,
  updateCrcAt,
  writeBatchHeader,
} from "./layout.ts";
import type { RecordHeader } from "./batch_reader.ts";
import { utf8Length, writeUtf8 } from "./utf8.ts";
import { varintSize, varlongSize, writeVarint, writeVarlong } from "./varint.ts";

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

/** A header to append: its value as bytes or as text (written as UTF-8). */
export interface AppendHeader {
  /** Header key. */
  key: string;
  /** Value bytes or text, or `null`. */
  value: Uint8Array | string | null;
}

/** Options for {@linkcode encodeRecordBatch} and {@linkcode RecordBatchBuilder.finish}. */
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
  /**
   * `lastOffsetDelta`, when it is not the last record's offset delta (a compacted batch keeps
   * its original range). Default: the last record's.
   */
  lastOffsetDelta?: number;
  /** `maxTimestamp`, when it is not the records' largest (LogAppendTime). */
  maxTimestamp?: number;
  /** The base timestamp is a delete horizon (KIP-534: sets the attribute bit). Default false. */
  deleteHorizon?: boolean;
}

/** Options of the {@linkcode RecordBatchBuilder} constructor. */
export interface RecordBatchBuilderOptions {
  /** The base timestamp; record timestamps are stored as deltas from it. Default: the first's. */
  baseTimestamp?: number;
}

/**
 * Writes key or value data with its varint length at `p`, text as ASCII: the position after it,
 * or -1 at a character that is not ASCII.
 */
function writeAsciiData(
  buf: Uint8Array,
  p: number,
  data: Uint8Array | string | null | undefined,
): number {
  if (data == null) return writeVarint(buf, p, -1);
  const n = data.length;
  p = writeVarint(buf, p, n);
  if (typeof data !== "string") {
    if (n < 32) { for (let i = 0; i < n; i++) buf[p + i] = data[i]; }
    else buf.set(data, p);
    return p + n;
  }
  for (let i = 0; i < n; i++) {
    const c = data.charCodeAt(i);
    if (c >= 0x80) return -1;
    buf[p + i] = c;
  }
  return p + n;
}

/**
 * Builds one record batch (magic v2) in a single growing buffer: records are encoded in place as
 * they are appended (no per-record objects), and {@linkcode RecordBatchBuilder.finish} writes
 * the header and the CRC-32C over the batch. Uncompressed batches are returned without a copy.
 *
 * @example
 * ```ts
 * import { RecordBatchBuilder } from "./batch_builder.ts";
 * import { decodeRecordBatches } from "./batch_reader.ts";
 * const b = new RecordBatchBuilder();
 * b.append(null, new TextEncoder().encode("v"), 1_700_000_000_000);
 * const bytes = b.finish({ compression: "lz4" });
 * console.assert(decodeRecordBatches(bytes)[0].records.length === 1);
 * ```
 */
export class RecordBatchBuilder {
  #buf: Uint8Array;
  #pos = RECORD_BATCH_OVERHEAD;
  #count = 0;
  #lastOffsetDelta = -1;
  #fixedBase: boolean;
  #baseTimestamp: number;
  #maxTimestamp = -1;
  #finished = false;

  /**
   * Creates an empty builder.
   *
   * @param capacity Initial buffer size in bytes (it grows as needed). Default 1024.
   * @param options The base timestamp, when it is not the first record's.
   */
  constructor(capacity = 1024, options: RecordBatchBuilderOptions = {}) {
    this.#buf = new Uint8Array(Math.max(RECORD_BATCH_OVERHEAD + 16, capacity));
    this.#fixedBase = options.baseTimestamp !== undefined;
    this.#baseTimestamp = options.baseTimestamp ?? 0;
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

  #bytes(b: Uint8Array | null | undefined): void {
    if (b === null || b === undefined) {
      this.#pos = writeVarint(this.#buf, this.#pos, -1);
      return;
    }
    let p = writeVarint(this.#buf, this.#pos, b.length);
    if (b.length < 32) {
      const buf = this.#buf;
      for (let i = 0; i < b.length; i++) buf[p++] = b[i];
      this.#pos = p;
    } else {
      this.#buf.set(b, p);
      this.#pos = p + b.length;
    }
  }

  /** Starts a record: checks state, tracks timestamps, returns the delta to store. */
  #begin(timestamp: number): number {
    if (this.#finished) throw new Error("record batch: cannot append to a finished batch");
    if (this.#count === 0) {
      if (!this.#fixedBase) this.#baseTimestamp = timestamp;
      this.#maxTimestamp = timestamp;
    } else if (timestamp > this.#maxTimestamp) this.#maxTimestamp = timestamp;
    return timestamp - this.#baseTimestamp;
  }

  /**
   * Makes room for a record of `size` bytes (after its length) and writes its length, attributes
   * (none), timestamp delta and offset delta at the end of the batch.
   *
   * @returns Where the record's key length goes.
   */
  #head(size: number, delta: number, offsetDelta: number): number {
    this.#ensure(5 + size);
    const buf = this.#buf;
    let p = writeVarint(buf, this.#pos, size);
    buf[p++] = 0; // attributes
    p = writeVarlong(buf, p, delta);
    return writeVarint(buf, p, offsetDelta);
  }

  /**
   * Writes a record without headers whose text is all ASCII in one pass (a string's length is
   * then its byte length). Returns `false`, having moved nothing, at the first other character:
   * the record is then measured and written as UTF-8.
   */
  #appendAscii(
    key: Uint8Array | string | null | undefined,
    value: Uint8Array | string | null | undefined,
    delta: number,
    offsetDelta: number,
  ): boolean {
    const keyLen = key == null ? -1 : key.length;
    const valueLen = value == null ? -1 : value.length;
    const size = 1 + varlongSize(delta) + varintSize(offsetDelta) + varintSize(keyLen) +
      (keyLen > 0 ? keyLen : 0) + varintSize(valueLen) + (valueLen > 0 ? valueLen : 0) + 1;
    let p = this.#head(size, delta, offsetDelta); // may grow the buffer: take it after
    const buf = this.#buf;
    p = writeAsciiData(buf, p, key);
    if (p < 0) return false;
    p = writeAsciiData(buf, p, value);
    if (p < 0) return false;
    buf[p++] = 0; // no headers
    this.#pos = p;
    return true;
  }

  /** Writes a string's UTF-8 bytes (length `len`) with their varint length. */
  #string(s: string, len: number): void {
    this.#pos = writeUtf8(this.#buf, writeVarint(this.#buf, this.#pos, len), s, len);
  }

  /**
   * Appends one record, with the next offset delta. A string key, value or header value is
   * written as its UTF-8 bytes (as `TextEncoder` encodes it) straight into the batch.
   *
   * @param key Key bytes or text, or `null`.
   * @param value Value bytes or text, or `null` (a tombstone).
   * @param timestamp Timestamp in milliseconds since the epoch.
   * @param headers Headers, in order.
   * @throws {Error} If the batch is already finished.
   */
  append(
    key: Uint8Array | string | null | undefined,
    value: Uint8Array | string | null | undefined,
    timestamp: number,
    headers?: readonly RecordHeader[] | readonly AppendHeader[],
  ): void {
    const delta = this.#begin(timestamp);
    const offsetDelta = this.#lastOffsetDelta + 1;
    if (
      headers === undefined && (typeof key === "string" || typeof value === "string") &&
      this.#appendAscii(key, value, delta, offsetDelta)
    ) {
      this.#lastOffsetDelta = offsetDelta;
      this.#count++;
      return;
    }
    const keyLen = key == null ? -1 : typeof key === "string" ? utf8Length(key) : key.length;
    const valueLen = value == null
      ? -1
      : typeof value === "string"
      ? utf8Length(value)
      : value.length;
    const headerCount = headers === undefined ? 0 : headers.length;
    let lengths: number[] | undefined;
    let size = 1 + varlongSize(delta) + varintSize(offsetDelta) + varintSize(keyLen) +
      (keyLen > 0 ? keyLen : 0) + varintSize(valueLen) + (valueLen > 0 ? valueLen : 0) +
      varintSize(headerCount);
    if (headerCount > 0) {
      // Each header's key and value lengths, in order.
      lengths = [];
      for (const h of headers!) {
        const kl = utf8Length(h.key);
        const v = h.value;
        const vl = v == null ? -1 : typeof v === "string" ? utf8Length(v) : v.length;
        lengths.push(kl, vl);
        size += varintSize(kl) + kl + varintSize(vl) + (vl > 0 ? vl : 0);
      }
    }
    this.#pos = this.#head(size, delta, offsetDelta);
    if (typeof key === "string") this.#string(key, keyLen);
    else this.#bytes(key);
    if (typeof value === "string") this.#string(value, valueLen);
    else this.#bytes(value);
    this.#pos = writeVarint(this.#buf, this.#pos, headerCount);
    for (let i = 0; i < headerCount; i++) {
      const h = headers![i];
      this.#string(h.key, lengths![2 * i]);
      const v = h.value;
      if (typeof v === "string") this.#string(v, lengths![2 * i + 1]);
      else this.#bytes(v);
    }
    this.#lastOffsetDelta = offsetDelta;
    this.#count++;
  }

  /**
   * Appends a record read from another batch, its key, value and headers copied as they are
   * (`RecordReader.tail()`), with an explicit offset delta: how a compacted batch is rebuilt.
   *
   * @param offsetDelta The record's offset delta (greater than the previous record's).
   * @param timestamp The record's timestamp.
   * @param tail The record's bytes from its key length on.
   * @throws {Error} If the batch is already finished.
   * @throws {RangeError} If `offsetDelta` does not increase.
   */
  appendTail(offsetDelta: number, timestamp: number, tail: Uint8Array): void {
    if (offsetDelta <= this.#lastOffsetDelta) {
      throw new RangeError(
        `record batch: offset delta ${offsetDelta} after ${this.#lastOffsetDelta}`,
      );
    }
    const delta = this.#begin(timestamp);
    const size = 1 + varlongSize(delta) + varintSize(offsetDelta) + tail.length;
    const p = this.#head(size, delta, offsetDelta);
    this.#buf.set(tail, p);
    this.#pos = p + tail.length;
    this.#lastOffsetDelta = offsetDelta;
    this.#count++;
  }

  /**
   * Writes the header and CRC and returns the batch. The builder takes no more records after.
   *
   * @param options Offsets, compression, producer fields (`timestamp` is ignored: each record
   *   has its own).
   * @returns The batch bytes (a view of the builder's buffer when uncompressed).
   * @throws {RangeError} If no record was appended.
   * @throws {RecordsError} `UNSUPPORTED_COMPRESSION_TYPE` for an unknown codec name.
   */
  finish(options: EncodeRecordBatchOptions = {}): Uint8Array {
    if (this.#count === 0) throw new RangeError("record batch: cannot encode an empty batch");
    const codec = options.compression ?? "none";
    const codecId = Compression[codec];
    if (codecId === undefined) {
      throw new RecordsError(
        RecordsErrorCode.UNSUPPORTED_COMPRESSION_TYPE,
        `record batch: unknown compression ${codec}`,
      );
    }
    this.#finished = true;
    let out: Uint8Array;
    if (codec === "none") {
      out = this.#buf.subarray(0, this.#pos);
    } else {
      const payload = compress(this.#buf.subarray(RECORD_BATCH_OVERHEAD, this.#pos), codec);
      out = new Uint8Array(RECORD_BATCH_OVERHEAD + payload.length);
      out.set(payload, RECORD_BATCH_OVERHEAD);
    }
    let attributes: number = codecId;
    if (options.timestampType === 1) attributes |= TIMESTAMP_TYPE_BIT;
    if (options.transactional) attributes |= TRANSACTIONAL_BIT;
    if (options.control) attributes |= CONTROL_BIT;
    if (options.deleteHorizon) attributes |= DELETE_HORIZON_BIT;
    writeBatchHeader(out, 0, {
      baseOffset: options.baseOffset ?? 0,
      batchLength: out.length - LOG_OVERHEAD,
      partitionLeaderEpoch: options.partitionLeaderEpoch ?? -1,
      magic: MAGIC_V2,
      attributes,
      lastOffsetDelta: options.lastOffsetDelta ?? this.#lastOffsetDelta,
      baseTimestamp: this.#baseTimestamp,
      maxTimestamp: options.maxTimestamp ?? this.#maxTimestamp,
      producerId: options.producerId ?? NO_PRODUCER_ID,
      producerEpoch: options.producerEpoch ?? NO_PRODUCER_ID,
      baseSequence: options.baseSequence ?? NO_PRODUCER_ID,
      recordCount: this.#count,
    });
    updateCrcAt(out, 0);
    return out;
  }
}

/**
 * Encodes records into one record batch (magic v2) with a valid CRC-32C.
 *
 * @example
 * ```ts
 * import { encodeRecordBatch } from "./batch_builder.ts";
 * import { decodeRecordBatches } from "./batch_reader.ts";
 * const te = new TextEncoder();
 * const batch = encodeRecordBatch([{ key: te.encode("k"), value: te.encode("v") }], {
 *   compression: "snappy",
 * });
 * console.assert(decodeRecordBatches(batch)[0].records.length === 1);
 * ```
 *
 * @param records The records, at least one.
 * @param options Offsets, compression, producer fields.
 * @returns The batch bytes.
 * @throws {RangeError} If `records` is empty.
 * @throws {RecordsError} `UNSUPPORTED_COMPRESSION_TYPE` for an unknown codec name.
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
