// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * Reading record batches v2: the framing checks of one batch in a buffer, the records of a batch
 * one at a time ({@linkcode RecordReader}, no object per record), and the decoders built on them:
 * {@linkcode decodeRecordBatches} (batches with their records), {@linkcode decodeRecords} (data
 * records only) and {@linkcode decodeRecordsInto} (the consumer's fast path).
 *
 * A fetched `records` field is a concatenation of batches; the last may be cut short by the
 * broker's size limit, so the decoders stop quietly at a partial trailing batch.
 *
 * Record validation comes in three strengths: `strict` (what a producer must send: offset deltas
 * 0..n-1, `lastOffsetDelta` = n-1), `relaxed` (what compaction leaves: offset deltas strictly
 * increasing and <= `lastOffsetDelta`) and `none` (framing only, as Kafka's consumer reads).
 *
 * @module
 */

import { decompress } from "./compression.ts";
import { DecompressionError, RecordsError, RecordsErrorCode } from "./errors.ts";
import {
  attributesAt,
  baseOffsetAt,
  baseSequenceAt,
  baseTimestampAt,
  batchLengthAt,
  batchSizeAt,
  COMPRESSION_CODEC_MASK,
  type CompressionName,
  compressionName,
  computeCrcAt,
  CONTROL_BIT,
  crcAt,
  lastOffsetDeltaAt,
  LOG_OVERHEAD,
  MAGIC_OFFSET,
  MAGIC_V2,
  magicAt,
  maxTimestampAt,
  partitionLeaderEpochAt,
  producerEpochAt,
  producerIdAt,
  RECORD_BATCH_OVERHEAD,
  recordCountAt,
  TIMESTAMP_TYPE_BIT,
  TRANSACTIONAL_BIT,
} from "./layout.ts";
import { VarintReader } from "./varint.ts";
import { decodeUtf8 } from "./utf8.ts";

/** A record header. */
export interface RecordHeader {
  /** Header key. */
  key: string;
  /** Header value, or `null`. */
  value: Uint8Array | null;
}

/** How much {@linkcode RecordReader} checks beyond the framing of each record. */
export type RecordValidation = "strict" | "relaxed" | "none";

function corrupt(detail: string): RecordsError {
  return new RecordsError(RecordsErrorCode.CORRUPT_MESSAGE, `record batch: ${detail}`);
}

/**
 * Reads the records of one batch's (decompressed) records section, one at a time, into its own
 * fields: nothing is allocated per record unless asked for ({@linkcode RecordReader.headers}).
 * `key` and `value` are views of the records section.
 *
 * @example
 * ```ts
 * import { readRecords } from "./batch_reader.ts";
 * import { encodeRecordBatch } from "./batch_builder.ts";
 *
 * const te = new TextEncoder();
 * const batch = encodeRecordBatch([{ key: te.encode("a"), value: null }, { value: te.encode("v") }]);
 * const r = readRecords(batch);
 * const keys: (string | null)[] = [];
 * while (r.next()) keys.push(r.key && new TextDecoder().decode(r.key));
 * console.assert(keys.join() === "a," && r.offsetDelta === 1);
 * ```
 */
export class RecordReader extends VarintReader {
  /** Number of records the batch declares. */
  readonly count: number;
  /** Base offset of the batch (for messages). */
  readonly baseOffset: number;
  /** `lastOffsetDelta` of the batch. */
  readonly lastOffsetDelta: number;
  /** The checks made on each record. */
  readonly validation: RecordValidation;
  /** The batch's base timestamp (record timestamps are deltas from it). */
  baseTimestamp = 0;
  /** The batch's max timestamp (every record's timestamp when `logAppendTime`). */
  maxTimestamp = 0;
  /** Whether the batch's timestamps are LogAppendTime. */
  logAppendTime = false;
  /** Index of the current record (-1 before the first). */
  index: number = -1;
  /** Position of the current record's length varint. */
  recordStart = 0;
  /** End of the current record. */
  recordEnd = 0;
  /** The current record's attributes (unused by Kafka, 0). */
  attributes = 0;
  /** The current record's timestamp delta from the batch's base timestamp. */
  timestampDelta = 0;
  /** The current record's offset delta from the batch's base offset. */
  offsetDelta: number = -1;
  /** Position of the current record's key length (the record from here on is its tail). */
  keyStart = 0;
  /** The current record's key, or `null`. */
  key: Uint8Array | null = null;
  /** The current record's value, or `null` (a tombstone). */
  value: Uint8Array | null = null;
  /** The current record's header count. */
  headerCount = 0;
  #headersStart = 0;

  /**
   * Reads `count` records from `payload`.
   *
   * @param payload The records section (decompressed).
   * @param count Records declared by the batch.
   * @param baseOffset The batch's base offset (error messages).
   * @param lastOffsetDelta The batch's `lastOffsetDelta` (checked unless `validation` is `none`).
   * @param validation Checks beyond framing. Default `none`.
   */
  constructor(
    payload: Uint8Array,
    count: number,
    baseOffset = 0,
    lastOffsetDelta = count - 1,
    validation: RecordValidation = "none",
  ) {
    super(payload);
    this.count = count;
    this.baseOffset = baseOffset;
    this.lastOffsetDelta = lastOffsetDelta;
    this.validation = validation;
  }

  #fail(detail: string): RecordsError {
    return corrupt(`record ${this.index} of batch at offset ${this.baseOffset} ${detail}`);
  }

  /** The current record's absolute offset. */
  get offset(): number {
    return this.baseOffset + this.offsetDelta;
  }

  /** The current record's timestamp (the batch's max timestamp for LogAppendTime batches). */
  get timestamp(): number {
    return this.logAppendTime ? this.maxTimestamp : this.baseTimestamp + this.timestampDelta;
  }

  /**
   * Reads the next record.
   *
   * @returns `false` after the last record.
   * @throws {RecordsError} `CORRUPT_MESSAGE` on malformed framing, bytes after the last record
   *   (unless `validation` is `none`), or offset deltas the validation refuses.
   */
  next(): boolean {
    if (this.index + 1 >= this.count) {
      if (this.validation !== "none" && this.pos !== this.end) {
        throw corrupt(
          `batch at offset ${this.baseOffset} has ${this.end - this.pos} bytes after its ` +
            `${this.count} records`,
        );
      }
      this.index = this.count;
      return false;
    }
    this.index++;
    this.recordStart = this.pos;
    const len = this.varint();
    const end = this.pos + len;
    if (len < 1 || end > this.end) throw this.#fail(`has a bad length ${len}`);
    this.recordEnd = end;
    const outer = this.end;
    this.end = end;
    this.attributes = this.buf[this.pos++];
    this.timestampDelta = this.varlong();
    const previous = this.offsetDelta;
    const offsetDelta = this.varint();
    this.offsetDelta = offsetDelta;
    if (this.validation !== "none") {
      const ok = this.validation === "strict"
        ? offsetDelta === this.index
        : offsetDelta > previous && offsetDelta <= this.lastOffsetDelta;
      if (!ok) {
        throw this.#fail(
          `has offset delta ${offsetDelta} (previous ${previous}, lastOffsetDelta ` +
            `${this.lastOffsetDelta})`,
        );
      }
    }
    this.keyStart = this.pos;
    this.key = this.bytes("key");
    this.value = this.bytes("value");
    const headerCount = this.varint();
    if (headerCount < 0) throw corrupt(`negative header count ${headerCount}`);
    this.headerCount = headerCount;
    this.#headersStart = this.pos;
    for (let h = 0; h < headerCount; h++) {
      if (this.skipBytes("header key") < 0) throw corrupt("null header key");
      this.skipBytes("header value");
    }
    if (this.pos !== end) {
      throw corrupt(`record ${this.index} length ${len} does not match its fields`);
    }
    this.end = outer;
    if (this.validation === "strict" && this.index === this.count - 1) {
      if (this.lastOffsetDelta !== this.index) {
        throw corrupt(
          `batch at offset ${this.baseOffset} has ${this.count} records but lastOffsetDelta ` +
            `${this.lastOffsetDelta}`,
        );
      }
    }
    return true;
  }

  /**
   * The current record's headers, decoded (keys as UTF-8 text, values as views).
   *
   * @returns A new array (empty when the record has none).
   * @throws {RecordsError} `CORRUPT_MESSAGE` if a header key is not valid UTF-8.
   */
  headers(): RecordHeader[] {
    const out: RecordHeader[] = [];
    if (this.headerCount === 0) return out;
    // Read them again with this reader (no allocation), then put its position back.
    const pos = this.pos;
    const end = this.end;
    this.pos = this.#headersStart;
    this.end = this.recordEnd;
    try {
      for (let h = 0; h < this.headerCount; h++) {
        const key = this.bytes("header key")!;
        let text: string;
        try {
          text = decodeUtf8(key);
        } catch {
          throw corrupt("header key is not valid UTF-8");
        }
        out.push({ key: text, value: this.bytes("header value") });
      }
    } finally {
      this.pos = pos;
      this.end = end;
    }
    return out;
  }

  /**
   * The current record's bytes from its key length on (key, value, headers): what a rebuilt batch
   * copies as is.
   *
   * @returns A view of the records section.
   */
  tail(): Uint8Array {
    return this.buf.subarray(this.keyStart, this.recordEnd);
  }
}

/** Header fields of concatenated batches, one column per field (see {@linkcode peekBatchHeaders}). */
export interface BatchHeaderColumns {
  /** Number of batches. */
  count: number;
  /** Byte position of each batch. */
  positions: ArrayLike<number>;
  /** Size of each batch (12 + `batchLength`). */
  sizes: ArrayLike<number>;
  /** `lastOffsetDelta` of each batch. */
  lastOffsetDeltas: ArrayLike<number>;
  /** `recordCount` of each batch. */
  recordCounts: ArrayLike<number>;
  /** `baseTimestamp` of each batch. */
  firstTimestamps: ArrayLike<number>;
  /** `maxTimestamp` of each batch. */
  maxTimestamps: ArrayLike<number>;
}

/**
 * Reads the headers of concatenated v2 batches without checking CRCs or records: positions,
 * sizes and the fields offsets, limits and indexes need (the engine's quick look at a large
 * append, checked in full while it is written). Returns `null` unless `data` is plainly whole v2
 * batches (room for each header, a size within `data`, magic 2, and for an uncompressed batch
 * `lastOffsetDelta` = `recordCount` - 1); a full check then says precisely what is wrong.
 *
 * @example
 * ```ts
 * import { peekBatchHeaders } from "./batch_reader.ts";
 * import { encodeRecordBatch } from "./batch_builder.ts";
 * const b = encodeRecordBatch([{ value: null, timestamp: 3 }, { value: null, timestamp: 9 }]);
 * const cols = peekBatchHeaders(new Uint8Array([...b, ...b]))!;
 * console.assert(cols.count === 2 && cols.positions[1] === b.length && cols.maxTimestamps[0] === 9);
 * console.assert(peekBatchHeaders(b.subarray(0, b.length - 1)) === null);
 * ```
 *
 * @param data Consecutive batches.
 * @returns The columns, or `null` when the framing is not plain.
 */
export function peekBatchHeaders(data: Uint8Array): BatchHeaderColumns | null {
  const cols = {
    count: 0,
    positions: [] as number[],
    sizes: [] as number[],
    lastOffsetDeltas: [] as number[],
    recordCounts: [] as number[],
    firstTimestamps: [] as number[],
    maxTimestamps: [] as number[],
  };
  let p = 0;
  while (p < data.length) {
    if (data.length - p < RECORD_BATCH_OVERHEAD) return null;
    const size = batchSizeAt(data, p);
    if (size < RECORD_BATCH_OVERHEAD || size > data.length - p || magicAt(data, p) !== MAGIC_V2) {
      return null;
    }
    const lastOffsetDelta = lastOffsetDeltaAt(data, p);
    const recordCount = recordCountAt(data, p);
    const codec = attributesAt(data, p) & COMPRESSION_CODEC_MASK;
    if (codec === 0 ? lastOffsetDelta !== recordCount - 1 : lastOffsetDelta < 0) return null;
    cols.positions.push(p);
    cols.sizes.push(size);
    cols.lastOffsetDeltas.push(lastOffsetDelta);
    cols.recordCounts.push(recordCount);
    cols.firstTimestamps.push(baseTimestampAt(data, p));
    cols.maxTimestamps.push(maxTimestampAt(data, p));
    cols.count++;
    p += size;
  }
  return cols;
}

/** Options of {@linkcode checkBatchAt}. */
export interface CheckBatchOptions {
  /** Verify the CRC-32C. Default true. */
  verifyCrc?: boolean;
}

/** Options for {@linkcode decodeRecordsInto}. */
export interface DecodeRecordsIntoOptions {
  /** Verify each batch's CRC-32C. Default true. */
  verifyCrc?: boolean;
  /**
   * Called, in log order, with each complete transactional batch (data and control) whose
   * records would otherwise be returned or skipped; `true` skips a data batch's records (a
   * `read_committed` consumer's aborted transactions: `AbortedTransactionFilter`).
   */
  skipBatch?: (data: Uint8Array, pos: number) => boolean;
  /**
   * Called, in log order, with the partition leader epoch and last offset of each complete batch
   * passed (returned, skipped, control or already consumed): the last call's epoch is the one
   * of the returned next offset (a consumer's position epoch, KIP-320).
   */
  onBatch?: (partitionLeaderEpoch: number, lastOffset: number) => void;
}

/**
 * Checks the framing of the batch at `pos`: a non-negative length, magic 2, room for the header,
 * a known codec, a non-negative record count and (unless turned off) the CRC.
 *
 * @example
 * ```ts
 * import { checkBatchAt } from "./batch_reader.ts";
 * import { encodeRecordBatch } from "./batch_builder.ts";
 * const b = encodeRecordBatch([{ value: null }]);
 * console.assert(checkBatchAt(b, 0) === b.length && checkBatchAt(b.subarray(0, 40), 0) === -1);
 * ```
 *
 * @param data Bytes holding batches.
 * @param pos Position of the batch.
 * @param options Whether to verify the CRC.
 * @returns The batch's size, or -1 when `data` ends inside it (a partial trailing batch).
 * @throws {RecordsError} `CORRUPT_MESSAGE` (the message says what is wrong and at which offset).
 */
export function checkBatchAt(
  data: Uint8Array,
  pos: number,
  options: CheckBatchOptions = {},
): number {
  if (data.length - pos <= MAGIC_OFFSET) return -1;
  const length = batchLengthAt(data, pos);
  if (length < 0) throw corrupt(`negative batch length ${length} at byte ${pos}`);
  const size = LOG_OVERHEAD + length;
  if (size > data.length - pos) return -1;
  const magic = magicAt(data, pos);
  if (magic !== MAGIC_V2) {
    throw corrupt(
      `unsupported magic ${magic} at offset ${baseOffsetAt(data, pos)} (only v2 is supported)`,
    );
  }
  if (size < RECORD_BATCH_OVERHEAD) throw corrupt(`batch length ${length} is too small`);
  if (options.verifyCrc ?? true) {
    const expected = crcAt(data, pos);
    const actual = computeCrcAt(data, pos);
    if (expected !== actual) {
      throw corrupt(
        `CRC mismatch at offset ${baseOffsetAt(data, pos)}: stored ${expected.toString(16)}, ` +
          `computed ${actual.toString(16)}`,
      );
    }
  }
  const codec = attributesAt(data, pos) & COMPRESSION_CODEC_MASK;
  if (compressionName(codec) === undefined) throw corrupt(`unknown compression codec ${codec}`);
  const count = recordCountAt(data, pos);
  if (count < 0) throw corrupt(`negative record count ${count}`);
  return size;
}

/**
 * The records section of the batch at `pos`, decompressed.
 *
 * @example
 * ```ts
 * import { recordsSectionAt } from "./batch_reader.ts";
 * import { encodeRecordBatch } from "./batch_builder.ts";
 * const b = encodeRecordBatch([{ value: new Uint8Array(500) }], { compression: "lz4" });
 * console.assert(recordsSectionAt(b, 0, b.length).length > 500);
 * ```
 *
 * @param data Bytes holding the batch.
 * @param pos Position of the batch.
 * @param size Size of the batch.
 * @param maxDecompressedBytes The most bytes compressed records may decompress to. Default: no
 *   limit.
 * @returns The records bytes (a view of `data` when uncompressed).
 * @throws {RecordsError} `CORRUPT_MESSAGE` if it cannot be decompressed within the limit.
 */
export function recordsSectionAt(
  data: Uint8Array,
  pos: number,
  size: number,
  maxDecompressedBytes?: number,
): Uint8Array {
  const body = data.subarray(pos + RECORD_BATCH_OVERHEAD, pos + size);
  const codec = compressionName(attributesAt(data, pos) & COMPRESSION_CODEC_MASK)!;
  if (codec === "none") return body;
  try {
    return decompress(body, codec, { maxBytes: maxDecompressedBytes });
  } catch (e) {
    if (!(e instanceof DecompressionError)) throw e;
    throw corrupt(`cannot decompress ${codec} records: ${e.message}`);
  }
}

/**
 * A reader over the records of the batch at `pos`, its framing already checked
 * ({@linkcode checkBatchAt}): the records decompressed, the batch's offsets and timestamps set.
 *
 * @example
 * ```ts
 * import { checkBatchAt, recordsAt } from "./batch_reader.ts";
 * import { encodeRecordBatch } from "./batch_builder.ts";
 * const b = encodeRecordBatch([{ value: null, timestamp: 7 }], { baseOffset: 4 });
 * const r = recordsAt(b, 0, checkBatchAt(b, 0));
 * console.assert(r.next() && r.offset === 4 && r.timestamp === 7);
 * ```
 *
 * @param data Bytes holding the batch.
 * @param pos Position of the batch.
 * @param size Size of the batch (from {@linkcode checkBatchAt}).
 * @param validation Checks on the records. Default `none`.
 * @param maxDecompressedBytes The most bytes compressed records may decompress to. Default: no
 *   limit.
 * @returns A reader positioned before the first record.
 * @throws {RecordsError} `CORRUPT_MESSAGE` if the records cannot be decompressed within the limit.
 */
export function recordsAt(
  data: Uint8Array,
  pos: number,
  size: number,
  validation: RecordValidation = "none",
  maxDecompressedBytes?: number,
): RecordReader {
  const r = new RecordReader(
    recordsSectionAt(data, pos, size, maxDecompressedBytes),
    recordCountAt(data, pos),
    baseOffsetAt(data, pos),
    lastOffsetDeltaAt(data, pos),
    validation,
  );
  r.baseTimestamp = baseTimestampAt(data, pos);
  r.maxTimestamp = maxTimestampAt(data, pos);
  r.logAppendTime = (attributesAt(data, pos) & TIMESTAMP_TYPE_BIT) !== 0;
  return r;
}

/** Options of {@linkcode readRecords}. */
export interface ReadRecordsOptions extends CheckBatchOptions {
  /** Checks on the records. Default `none`. */
  validation?: RecordValidation;
  /**
   * The most bytes compressed records may decompress to: a batch over it (a "compression bomb")
   * fails with `CORRUPT_MESSAGE` before it takes the memory. Default: no limit.
   */
  maxDecompressedBytes?: number;
}

/**
 * Opens the whole batch at `pos` (framing checked, records decompressed) for reading its records.
 *
 * @example
 * ```ts
 * import { readRecords } from "./batch_reader.ts";
 * import { encodeRecordBatch } from "./batch_builder.ts";
 * const r = readRecords(encodeRecordBatch([{ value: null }], { compression: "snappy" }));
 * console.assert(r.next() && r.value === null && !r.next());
 * ```
 *
 * @param data Bytes holding the batch.
 * @param pos Position of the batch. Default 0.
 * @param options CRC check and record validation.
 * @returns A reader positioned before the first record.
 * @throws {RecordsError} `CORRUPT_MESSAGE` on bad framing (a partial batch included).
 */
export function readRecords(
  data: Uint8Array,
  pos = 0,
  options: ReadRecordsOptions = {},
): RecordReader {
  const size = checkBatchAt(data, pos, options);
  if (size < 0) throw corrupt(`batch at byte ${pos} is cut off`);
  return recordsAt(data, pos, size, options.validation, options.maxDecompressedBytes);
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

/** Options of {@linkcode decodeRecordBatches}. */
export interface DecodeRecordBatchesOptions {
  /** Verify each batch's CRC-32C. Default true. */
  verifyCrc?: boolean;
  /** Checks on the records. Default `none` (as Kafka's consumer). */
  validation?: RecordValidation;
}

/**
 * Decodes the concatenated record batches of a fetch response (or a produce request). A partial
 * trailing batch (cut by the broker's size limit) is ignored. Control batches are returned with
 * `control: true` and their records; use {@linkcode decodeRecords} to skip them.
 *
 * @example
 * ```ts
 * import { decodeRecordBatches } from "./batch_reader.ts";
 * import { encodeRecordBatch } from "./batch_builder.ts";
 * const bytes = encodeRecordBatch([{ value: new Uint8Array([1]) }], { baseOffset: 5 });
 * console.assert(decodeRecordBatches(bytes)[0].baseOffset === 5);
 * ```
 *
 * @param data The raw bytes.
 * @param options Whether to verify CRCs; record validation.
 * @returns The complete batches, in order.
 * @throws {RecordsError} `CORRUPT_MESSAGE` on a bad CRC, an old magic, malformed records or a
 *   compressed payload that cannot be decompressed.
 */
export function decodeRecordBatches(
  data: Uint8Array,
  options: DecodeRecordBatchesOptions = {},
): DecodedRecordBatch[] {
  const out: DecodedRecordBatch[] = [];
  let pos = 0;
  for (;;) {
    const size = checkBatchAt(data, pos, options);
    if (size < 0) break;
    const attributes = attributesAt(data, pos);
    const r = recordsAt(data, pos, size, options.validation);
    const records: DecodedRecord[] = [];
    while (r.next()) {
      records.push({
        offset: r.offset,
        timestamp: r.timestamp,
        key: r.key,
        value: r.value,
        headers: r.headers(),
      });
    }
    out.push({
      baseOffset: r.baseOffset,
      lastOffset: r.baseOffset + r.lastOffsetDelta,
      partitionLeaderEpoch: partitionLeaderEpochAt(data, pos),
      compression: compressionName(attributes & COMPRESSION_CODEC_MASK)!,
      timestampType: r.logAppendTime ? 1 : 0,
      transactional: (attributes & TRANSACTIONAL_BIT) !== 0,
      control: (attributes & CONTROL_BIT) !== 0,
      baseTimestamp: r.baseTimestamp,
      maxTimestamp: r.maxTimestamp,
      producerId: producerIdAt(data, pos),
      producerEpoch: producerEpochAt(data, pos),
      baseSequence: baseSequenceAt(data, pos),
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
 * import { decodeRecords } from "./batch_reader.ts";
 * import { encodeRecordBatch } from "./batch_builder.ts";
 * const bytes = encodeRecordBatch([{ value: null }, { value: null }], { baseOffset: 10 });
 * console.assert(decodeRecords(bytes, 11).map((r) => r.offset).join() === "11");
 * ```
 *
 * @param data The raw bytes.
 * @param fromOffset Lowest offset to return. Default 0.
 * @returns The records, in offset order.
 * @throws {RecordsError} As {@linkcode decodeRecordBatches}.
 */
export function decodeRecords(data: Uint8Array, fromOffset = 0): DecodedRecord[] {
  const out: DecodedRecord[] = [];
  decodeRecordsInto(data, fromOffset, (offset, timestamp, key, value, headers) => ({
    offset,
    timestamp,
    key,
    value,
    headers,
  }), out);
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
 * import { decodeRecordsInto } from "./batch_reader.ts";
 * import { encodeRecordBatch } from "./batch_builder.ts";
 * const bytes = encodeRecordBatch([{ value: null }, { value: null }], { baseOffset: 10 });
 * const out: number[] = [];
 * console.assert(decodeRecordsInto(bytes, 11, (offset) => offset, out) === 12);
 * console.assert(out.join() === "11");
 * const epochs: number[] = [];
 * const stamped = encodeRecordBatch([{ value: null }], { partitionLeaderEpoch: 7 });
 * decodeRecordsInto(stamped, 0, (o) => o, [], { onBatch: (epoch) => epochs.push(epoch) });
 * console.assert(epochs.join() === "7");
 * ```
 *
 * @param data The raw bytes.
 * @param fromOffset Lowest offset to return.
 * @param make Builds a record from its fields (key, value and header values are views).
 * @param out Receives the records, in offset order.
 * @param options Whether to verify CRCs (default true); which transactional batches to skip;
 *   each batch's leader epoch.
 * @returns The offset after the last complete batch, or `fromOffset` when there is none.
 * @throws {RecordsError} `CORRUPT_MESSAGE` as {@linkcode decodeRecordBatches}.
 */
export function decodeRecordsInto<T>(
  data: Uint8Array,
  fromOffset: number,
  make: RecordFactory<T>,
  out: T[],
  options: DecodeRecordsIntoOptions = {},
): number {
  let next = fromOffset;
  let pos = 0;
  while (data.length - pos > MAGIC_OFFSET) {
    const length = batchLengthAt(data, pos);
    const size = LOG_OVERHEAD + length;
    if (length < 0 || size < RECORD_BATCH_OVERHEAD || magicAt(data, pos) !== MAGIC_V2) {
      if (checkBatchAt(data, pos, options) < 0) break; // throws unless partial
    }
    if (size > data.length - pos) break; // partial trailing batch
    const lastOffset = baseOffsetAt(data, pos) + lastOffsetDeltaAt(data, pos);
    const attributes = attributesAt(data, pos);
    options.onBatch?.(partitionLeaderEpochAt(data, pos), lastOffset);
    // The filter sees every transactional batch, markers included, to follow the producers.
    const skip = options.skipBatch !== undefined && (attributes & TRANSACTIONAL_BIT) !== 0 &&
      options.skipBatch(data, pos);
    if (lastOffset < fromOffset || (attributes & CONTROL_BIT) !== 0 || skip) {
      // Already consumed, or a control batch: nothing to decode.
      if (lastOffset + 1 > next) next = lastOffset + 1;
      pos += size;
      continue;
    }
    const r = recordsAt(data, pos, checkBatchAt(data, pos, options));
    while (r.next()) {
      const offset = r.offset;
      if (offset < fromOffset) continue;
      out.push(make(offset, r.timestamp, r.key, r.value, r.headers()));
    }
    if (lastOffset + 1 > next) next = lastOffset + 1;
    pos += size;
  }
  return next;
}
