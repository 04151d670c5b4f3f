// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * The legacy message formats v0 and v1 (magic 0 and 1, Kafka's `LegacyRecord`), and conversion
 * between them and record batches v2, as Kafka 3.x does it.
 *
 * A message set is a sequence of entries `offset int64, size int32, message`; a message is
 * `crc uint32` (CRC-32 IEEE over the rest of the message), `magic int8`, `attributes int8` (codec
 * in bits 0-2; in v1, bit 3: LogAppendTime), in v1 `timestamp int64`, then key and value as
 * int32-length-prefixed bytes (-1: null). A compressed message set is one wrapper message whose
 * value is the compressed inner message set: in v0 the inner offsets are absolute; in v1 they are
 * relative (0..n-1) and the wrapper carries the absolute offset of the last inner message and the
 * max timestamp (or the LogAppendTime). The magic byte sits at the same position (16) as in a v2
 * batch, so `magicAt` tells every format apart.
 *
 * - {@linkcode decodeMessageSet} / {@linkcode encodeMessageSet}: parse and build.
 * - {@linkcode upConvert}: a v0/v1 message set as one v2 batch (Produce v0-2, Kafka's
 *   `LogValidator`).
 * - {@linkcode downConvert}: v2 batches as a v0/v1 message set (Fetch v0-3, Kafka's
 *   `RecordsUtil.downConvert`): headers dropped, control batches skipped, transactional records
 *   delivered as plain messages (old fetchers read uncommitted), zstd refused;
 *   {@linkcode downConvertForFetch} sizes the result as Kafka's lazy down-conversion does, and
 *   {@linkcode overflowMessage} is what a fetch gets when its first batch is over its limit.
 *
 * @module
 */

import { RecordBatchBuilder } from "./batch_builder.ts";
import { checkBatchAt, recordsAt } from "./batch_reader.ts";
import { compress, decompress } from "./compression.ts";
import { crc32 } from "./crc32.ts";
import { DecompressionError, RecordsError, RecordsErrorCode } from "./errors.ts";
import {
  attributesAt,
  baseOffsetAt,
  batchSizeAt,
  COMPRESSION_CODEC_MASK,
  type CompressionName,
  compressionName,
  CONTROL_BIT,
  LENGTH_OFFSET,
  LOG_OVERHEAD,
  MAGIC_OFFSET,
  magicAt,
  NO_TIMESTAMP,
  readInt32,
  readInt64,
  readUint32,
  RECORD_BATCH_OVERHEAD,
  TIMESTAMP_TYPE_BIT,
  writeInt32,
  writeInt64,
} from "./layout.ts";

/** Offset of `crc` in a legacy message (after the entry's offset and size). */
export const LEGACY_CRC_OFFSET: number = 0;
/** Length of `crc`. */
export const LEGACY_CRC_LENGTH: number = 4;
/** Offset of `magic` in a legacy message. */
export const LEGACY_MAGIC_OFFSET: number = LEGACY_CRC_OFFSET + LEGACY_CRC_LENGTH;
/** Length of `magic`. */
export const LEGACY_MAGIC_LENGTH: number = 1;
/** Offset of `attributes` in a legacy message. */
export const LEGACY_ATTRIBUTES_OFFSET: number = LEGACY_MAGIC_OFFSET + LEGACY_MAGIC_LENGTH;
/** Length of `attributes`. */
export const LEGACY_ATTRIBUTES_LENGTH: number = 1;
/** Offset of `timestamp` in a v1 message. */
export const LEGACY_TIMESTAMP_OFFSET: number = LEGACY_ATTRIBUTES_OFFSET + LEGACY_ATTRIBUTES_LENGTH;
/** Length of `timestamp`. */
export const LEGACY_TIMESTAMP_LENGTH: number = 8;
/** Offset of the key length in a v0 message. */
export const KEY_SIZE_OFFSET_V0: number = LEGACY_ATTRIBUTES_OFFSET + LEGACY_ATTRIBUTES_LENGTH;
/** Offset of the key length in a v1 message. */
export const KEY_SIZE_OFFSET_V1: number = LEGACY_TIMESTAMP_OFFSET + LEGACY_TIMESTAMP_LENGTH;
/** Length of the key and value length fields. */
export const LEGACY_SIZE_LENGTH: number = 4;
/** Smallest v0 message (null key and value): 14 bytes. */
export const RECORD_OVERHEAD_V0: number = KEY_SIZE_OFFSET_V0 + 2 * LEGACY_SIZE_LENGTH;
/** Smallest v1 message (null key and value): 22 bytes. */
export const RECORD_OVERHEAD_V1: number = KEY_SIZE_OFFSET_V1 + 2 * LEGACY_SIZE_LENGTH;

/** One record of a legacy message set (compressed wrappers expanded). */
export interface LegacyRecord {
  /** Absolute offset. */
  offset: number;
  /** Magic of the message: 0 or 1. */
  magic: 0 | 1;
  /** Timestamp (ms), -1 in v0. */
  timestamp: number;
  /** 0 = CreateTime, 1 = LogAppendTime (always 0 in v0). */
  timestampType: 0 | 1;
  /** The codec of the wrapper it came in (`none` when it was not compressed). */
  compression: CompressionName;
  /** Key bytes, or `null` (a view of the input or of the decompressed wrapper). */
  key: Uint8Array | null;
  /** Value bytes, or `null`. */
  value: Uint8Array | null;
}

/** A record to write in a legacy message set. */
export interface LegacyRecordInput {
  /** Absolute offset. Default: the previous record's + 1 (the first: `baseOffset`). */
  offset?: number;
  /** Timestamp (ms); ignored in v0. Default -1. */
  timestamp?: number;
  /** Key bytes, or `null`. */
  key?: Uint8Array | null;
  /** Value bytes, or `null`. */
  value: Uint8Array | null;
}

function corrupt(detail: string): RecordsError {
  return new RecordsError(RecordsErrorCode.CORRUPT_MESSAGE, `message set: ${detail}`);
}

function invalid(detail: string): RecordsError {
  return new RecordsError(RecordsErrorCode.INVALID_RECORD, `message set: ${detail}`);
}

/** A legacy codec id (0-3); zstd and unknown ids are refused. */
function legacyCodec(attributes: number, offset: number): CompressionName {
  const id = attributes & COMPRESSION_CODEC_MASK;
  const name = compressionName(id);
  if (name === undefined || name === "zstd") {
    throw new RecordsError(
      RecordsErrorCode.UNSUPPORTED_COMPRESSION_TYPE,
      `message set: message at offset ${offset} uses codec ${id}, which magic 0 and 1 cannot carry`,
    );
  }
  return name;
}

/** One entry of a message set, as stored (a wrapper is not expanded). */
interface Entry {
  offset: number;
  magic: 0 | 1;
  attributes: number;
  timestamp: number;
  key: Uint8Array | null;
  value: Uint8Array | null;
  size: number;
}

function sizedBytes(
  m: Uint8Array,
  p: number,
  end: number,
  what: string,
): [Uint8Array | null, number] {
  if (p + LEGACY_SIZE_LENGTH > end) throw corrupt(`${what} length is cut off`);
  const n = readInt32(m, p);
  p += LEGACY_SIZE_LENGTH;
  if (n < 0) {
    if (n === -1) return [null, p];
    throw corrupt(`negative ${what} length ${n}`);
  }
  if (n > end - p) throw corrupt(`${what} runs past the end of the message`);
  return [m.subarray(p, p + n), p + n];
}

/**
 * Reads the entry at `pos`, or `null` if `data` ends inside it.
 *
 * @throws {RecordsError} `CORRUPT_MESSAGE` on a bad size, magic or CRC.
 */
function readEntry(data: Uint8Array, pos: number, verifyCrc: boolean): Entry | null {
  if (data.length - pos < LOG_OVERHEAD) return null;
  const offset = baseOffsetAt(data, pos);
  const length = readInt32(data, pos + LENGTH_OFFSET);
  const size = LOG_OVERHEAD + length;
  if (length < RECORD_OVERHEAD_V0) {
    throw corrupt(`message at offset ${offset} has a bad size ${length}`);
  }
  if (size > data.length - pos) return null;
  const m = pos + LOG_OVERHEAD;
  const end = pos + size;
  const magic = data[m + LEGACY_MAGIC_OFFSET];
  if (magic !== 0 && magic !== 1) {
    throw corrupt(`message at offset ${offset} has magic ${magic}, not 0 or 1`);
  }
  if (magic === 1 && length < RECORD_OVERHEAD_V1) {
    throw corrupt(`message at offset ${offset} has a bad size ${length}`);
  }
  if (verifyCrc) {
    const stored = readUint32(data, m + LEGACY_CRC_OFFSET);
    const actual = crc32(data.subarray(m + LEGACY_MAGIC_OFFSET, end)) >>> 0;
    if (stored !== actual) {
      throw corrupt(
        `CRC mismatch at offset ${offset}: stored ${stored.toString(16)}, computed ` +
          actual.toString(16),
      );
    }
  }
  const attributes = data[m + LEGACY_ATTRIBUTES_OFFSET];
  const timestamp = magic === 1 ? readInt64(data, m + LEGACY_TIMESTAMP_OFFSET) : NO_TIMESTAMP;
  const [key, p] = sizedBytes(
    data,
    m + (magic === 1 ? KEY_SIZE_OFFSET_V1 : KEY_SIZE_OFFSET_V0),
    end,
    "key",
  );
  const [value, q] = sizedBytes(data, p, end, "value");
  if (q !== end) throw corrupt(`message at offset ${offset} has ${end - q} bytes after its value`);
  return { offset, magic, attributes, timestamp, key, value, size };
}

/** Options of {@linkcode decodeMessageSet}. */
export interface DecodeMessageSetOptions {
  /** Verify each message's CRC-32 (inner messages of wrappers included). Default true. */
  verifyCrc?: boolean;
  /**
   * The most bytes one compressed wrapper may decompress to (a client's "compression bomb" is
   * refused with `CORRUPT_MESSAGE` before it takes the memory). Default: no limit.
   */
  maxDecompressedBytes?: number;
}

/**
 * Decodes a v0/v1 message set into its records, expanding compressed wrappers (inner offsets
 * made absolute, LogAppendTime taken from the wrapper). A partial trailing entry (cut by a
 * fetch size limit) is ignored.
 *
 * @example
 * ```ts
 * import { decodeMessageSet, encodeMessageSet } from "./legacy.ts";
 * const te = new TextEncoder();
 * const set = encodeMessageSet([{ value: te.encode("a"), timestamp: 5 }, { value: te.encode("b") }], {
 *   magic: 1, baseOffset: 10, compression: "gzip",
 * });
 * console.assert(decodeMessageSet(set).map((r) => r.offset).join() === "10,11");
 * ```
 *
 * @param data The message set.
 * @param options Whether to verify CRCs.
 * @returns The records in order.
 * @throws {RecordsError} `CORRUPT_MESSAGE` on bad framing, a CRC mismatch or a wrapper that
 *   cannot be decompressed; `INVALID_RECORD` for an inner message that is itself compressed or
 *   has another magic than its wrapper; `UNSUPPORTED_COMPRESSION_TYPE` for zstd or an unknown
 *   codec.
 */
export function decodeMessageSet(
  data: Uint8Array,
  options: DecodeMessageSetOptions = {},
): LegacyRecord[] {
  const verifyCrc = options.verifyCrc ?? true;
  const out: LegacyRecord[] = [];
  let pos = 0;
  for (;;) {
    const e = readEntry(data, pos, verifyCrc);
    if (e === null) break;
    pos += e.size;
    const codec = legacyCodec(e.attributes, e.offset);
    const logAppendTime = e.magic === 1 && (e.attributes & TIMESTAMP_TYPE_BIT) !== 0;
    if (codec === "none") {
      out.push({
        offset: e.offset,
        magic: e.magic,
        timestamp: e.timestamp,
        timestampType: logAppendTime ? 1 : 0,
        compression: "none",
        key: e.key,
        value: e.value,
      });
      continue;
    }
    if (e.value === null) throw corrupt(`compressed message at offset ${e.offset} has no value`);
    let inner: Uint8Array;
    try {
      inner = decompress(e.value, codec, { maxBytes: options.maxDecompressedBytes });
    } catch (err) {
      if (!(err instanceof DecompressionError)) throw err;
      throw corrupt(`cannot decompress ${codec} message at offset ${e.offset}: ${err.message}`);
    }
    const entries: Entry[] = [];
    let p = 0;
    while (p < inner.length) {
      const ie = readEntry(inner, p, verifyCrc);
      if (ie === null) throw corrupt(`inner message of offset ${e.offset} is cut off`);
      if ((ie.attributes & COMPRESSION_CODEC_MASK) !== 0) {
        throw invalid(
          `Compressed outer record should not have an inner record with a compression ` +
            `attribute set (offset ${e.offset})`,
        );
      }
      if (ie.magic !== e.magic) {
        throw invalid(`inner message magic ${ie.magic} does not match outer magic ${e.magic}`);
      }
      entries.push(ie);
      p += ie.size;
    }
    if (entries.length === 0) throw corrupt(`compressed message at offset ${e.offset} is empty`);
    // v1: inner offsets are relative, the wrapper holds the last one's absolute offset.
    const base = e.magic === 1 ? e.offset - entries[entries.length - 1].offset : 0;
    for (const ie of entries) {
      out.push({
        offset: base + ie.offset,
        magic: e.magic,
        timestamp: logAppendTime ? e.timestamp : ie.timestamp,
        timestampType: logAppendTime ? 1 : 0,
        compression: codec,
        key: ie.key,
        value: ie.value,
      });
    }
  }
  return out;
}

/** Options of {@linkcode encodeMessageSet}. */
export interface EncodeMessageSetOptions {
  /** Message format: 0 or 1. */
  magic: 0 | 1;
  /** Codec of the wrapper (`none`: one entry per record). Default `none`. zstd is refused. */
  compression?: CompressionName;
  /** Offset of the first record without one. Default 0. */
  baseOffset?: number;
  /** v1: LogAppendTime, the time to write (every timestamp becomes it). */
  logAppendTime?: number;
}

function messageSize(magic: 0 | 1, key: Uint8Array | null, value: Uint8Array | null): number {
  return (magic === 1 ? RECORD_OVERHEAD_V1 : RECORD_OVERHEAD_V0) + (key?.length ?? 0) +
    (value?.length ?? 0);
}

/** Writes one entry at `pos`; returns the position after it. */
function writeEntry(
  out: Uint8Array,
  pos: number,
  offset: number,
  magic: 0 | 1,
  attributes: number,
  timestamp: number,
  key: Uint8Array | null,
  value: Uint8Array | null,
): number {
  const size = messageSize(magic, key, value);
  writeInt64(out, pos, offset);
  writeInt32(out, pos + LENGTH_OFFSET, size);
  const m = pos + LOG_OVERHEAD;
  out[m + LEGACY_MAGIC_OFFSET] = magic;
  out[m + LEGACY_ATTRIBUTES_OFFSET] = attributes;
  let p = m + KEY_SIZE_OFFSET_V0;
  if (magic === 1) {
    writeInt64(out, m + LEGACY_TIMESTAMP_OFFSET, timestamp);
    p = m + KEY_SIZE_OFFSET_V1;
  }
  for (const b of [key, value]) {
    writeInt32(out, p, b === null ? -1 : b.length);
    p += LEGACY_SIZE_LENGTH;
    if (b !== null) {
      out.set(b, p);
      p += b.length;
    }
  }
  writeInt32(out, m + LEGACY_CRC_OFFSET, crc32(out.subarray(m + LEGACY_MAGIC_OFFSET, p)));
  return p;
}

/**
 * Encodes records as a v0 or v1 message set, as Kafka's `MemoryRecordsBuilder` does: one entry per
 * record, or with a codec one wrapper message holding them (v1: relative inner offsets, the
 * wrapper at the last absolute offset with the max timestamp or the LogAppendTime; v0: absolute
 * inner offsets; LZ4 in v0 with the header checksum old readers expect).
 *
 * @example
 * ```ts
 * import { encodeMessageSet } from "./legacy.ts";
 * const set = encodeMessageSet([{ key: null, value: null }], { magic: 0 });
 * console.assert(set.length === 12 + 14 && set[16] === 0);
 * ```
 *
 * @param records The records, at least one.
 * @param options Magic, codec, base offset, LogAppendTime.
 * @returns The message set.
 * @throws {RangeError} If `records` is empty.
 * @throws {RecordsError} `UNSUPPORTED_COMPRESSION_TYPE` for zstd.
 */
export function encodeMessageSet(
  records: readonly LegacyRecordInput[],
  options: EncodeMessageSetOptions,
): Uint8Array {
  if (records.length === 0) throw new RangeError("message set: cannot encode no records");
  const magic = options.magic;
  const codec = options.compression ?? "none";
  if (codec === "zstd") legacyCodec(4, options.baseOffset ?? 0);
  const lat = magic === 1 && options.logAppendTime !== undefined;
  const tsBit = lat ? TIMESTAMP_TYPE_BIT : 0;
  const offsets: number[] = [];
  let next = options.baseOffset ?? 0;
  let size = 0;
  let maxTimestamp = NO_TIMESTAMP;
  for (const r of records) {
    const offset = r.offset ?? next;
    offsets.push(offset);
    next = offset + 1;
    size += LOG_OVERHEAD + messageSize(magic, r.key ?? null, r.value);
    const ts = r.timestamp ?? NO_TIMESTAMP;
    if (ts > maxTimestamp) maxTimestamp = ts;
  }
  const timestampOf = (r: LegacyRecordInput) =>
    lat ? options.logAppendTime! : r.timestamp ?? NO_TIMESTAMP;
  const plain = new Uint8Array(size);
  const relative = codec !== "none" && magic === 1;
  let p = 0;
  for (let i = 0; i < records.length; i++) {
    const r = records[i];
    const offset = relative ? offsets[i] - offsets[0] : offsets[i];
    p = writeEntry(plain, p, offset, magic, tsBit, timestampOf(r), r.key ?? null, r.value);
  }
  if (codec === "none") return plain;
  const value = compress(plain, codec, { legacyLz4: magic === 0 });
  const out = new Uint8Array(LOG_OVERHEAD + messageSize(magic, null, value));
  writeEntry(
    out,
    0,
    offsets[offsets.length - 1],
    magic,
    legacyAttributes(codec) | tsBit,
    lat ? options.logAppendTime! : maxTimestamp,
    null,
    value,
  );
  return out;
}

function legacyAttributes(codec: CompressionName): number {
  return { none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 }[codec];
}

/** Options of {@linkcode upConvert}. */
export interface UpConvertOptions {
  /** Codec of the v2 batch. Default: the message set's (the topic's `compression.type=producer`). */
  compression?: CompressionName;
  /** Verify the messages' CRC-32. Default true. */
  verifyCrc?: boolean;
  /** The most bytes a compressed wrapper may decompress to. Default: no limit. */
  maxDecompressedBytes?: number;
}

/**
 * Converts a v0/v1 message set (a Produce v0-2 partition's records) into one v2 batch, as Kafka's
 * `LogValidator` does before appending: the records in order with their keys and values, v1
 * timestamps (v0: -1), no producer, base offset 0 (the log assigns offsets). An uncompressed set
 * may hold many messages; a compressed one exactly one wrapper.
 *
 * @example
 * ```ts
 * import { encodeMessageSet, upConvert } from "./legacy.ts";
 * import { decodeRecordBatches } from "./batch_reader.ts";
 * const te = new TextEncoder();
 * const set = encodeMessageSet([{ key: te.encode("k"), value: te.encode("v"), timestamp: 7 }], { magic: 1 });
 * const [batch] = decodeRecordBatches(upConvert(set));
 * console.assert(batch.records[0].timestamp === 7 && batch.compression === "none");
 * ```
 *
 * @param messageSet The message set (magic 0 or 1).
 * @param options Target codec, CRC check, bound on a wrapper's decompressed size.
 * @returns One v2 batch.
 * @throws {RecordsError} `INVALID_RECORD` for an empty set, mixed magics, magic 2, or more than
 *   one message beside a compressed one; otherwise as {@linkcode decodeMessageSet}.
 */
export function upConvert(messageSet: Uint8Array, options: UpConvertOptions = {}): Uint8Array {
  if (messageSet.length > MAGIC_OFFSET) {
    const magic = magicAt(messageSet, 0);
    if (magic !== 0 && magic !== 1) {
      throw invalid(`magic ${magic} is not a legacy message format`);
    }
  }
  const verifyCrc = options.verifyCrc ?? true;
  let entries = 0;
  let sourceCodec: CompressionName = "none";
  let firstMagic = -1;
  for (let p = 0;;) {
    const e = readEntry(messageSet, p, verifyCrc);
    if (e === null) {
      if (p !== messageSet.length) throw corrupt(`message at byte ${p} is cut off`);
      break;
    }
    if (firstMagic < 0) firstMagic = e.magic;
    else if (e.magic !== firstMagic) {
      throw invalid(
        `message magic ${e.magic} is not the same as the first message's ${firstMagic}`,
      );
    }
    const codec = legacyCodec(e.attributes, e.offset);
    if (codec !== "none") sourceCodec = codec;
    entries++;
    p += e.size;
  }
  if (entries === 0) throw invalid("no messages at all");
  if (sourceCodec !== "none" && entries > 1) {
    throw invalid("Compressed outer record has more than one batch");
  }
  const records = decodeMessageSet(messageSet, {
    verifyCrc: false,
    maxDecompressedBytes: options.maxDecompressedBytes,
  });
  let size = 0;
  for (const r of records) size += (r.key?.length ?? 0) + (r.value?.length ?? 0) + 24;
  const builder = new RecordBatchBuilder(size + 128);
  for (const r of records) builder.append(r.key, r.value, r.timestamp);
  return builder.finish({ compression: options.compression ?? sourceCodec });
}

/** Options of {@linkcode downConvert}. */
export interface DownConvertOptions {
  /** Target message format: 0 or 1. */
  magic: 0 | 1;
  /**
   * The fetch offset: records of uncompressed batches below it are dropped (each becomes its own
   * message; some librdkafka versions rely on it). Default 0.
   */
  fromOffset?: number;
  /** The most bytes a compressed batch may decompress to (else `CORRUPT_MESSAGE`). Default: none. */
  maxDecompressedBytes?: number;
}

/**
 * The message set one stored batch becomes, or `null` when it becomes nothing (a control batch,
 * or an uncompressed batch whose records are all below `fromOffset`).
 *
 * @throws {RecordsError} `UNSUPPORTED_COMPRESSION_TYPE` for zstd.
 */
function convertBatchAt(
  batches: Uint8Array,
  at: number,
  size: number,
  magic: 0 | 1,
  fromOffset: number,
  maxDecompressedBytes: number | undefined,
): Uint8Array | null {
  const attributes = attributesAt(batches, at);
  if ((attributes & CONTROL_BIT) !== 0) return null;
  const codec = compressionName(attributes & COMPRESSION_CODEC_MASK)!;
  if (codec === "zstd") {
    throw new RecordsError(
      RecordsErrorCode.UNSUPPORTED_COMPRESSION_TYPE,
      `message set: the batch at offset ${baseOffsetAt(batches, at)} is zstd-compressed, which ` +
        `magic ${magic} cannot carry`,
    );
  }
  const r = recordsAt(batches, at, size, "none", maxDecompressedBytes);
  const records: LegacyRecordInput[] = [];
  while (r.next()) {
    if (codec === "none" && r.offset < fromOffset) continue;
    records.push({ offset: r.offset, timestamp: r.timestamp, key: r.key, value: r.value });
  }
  if (records.length === 0) return null;
  return encodeMessageSet(records, {
    magic,
    compression: codec,
    logAppendTime: r.logAppendTime ? r.maxTimestamp : undefined,
  });
}

function concat(parts: readonly Uint8Array[], total: number): Uint8Array {
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(total);
  let p = 0;
  for (const part of parts) {
    out.set(part, p);
    p += part.length;
  }
  return out;
}

/**
 * Converts v2 batches (as read from the log for a Fetch v0-3) into a v0/v1 message set, as Kafka's
 * `RecordsUtil.downConvert`: control batches are skipped; each data batch becomes one wrapper
 * with its codec (all its records) or, uncompressed, one message per record from `fromOffset`;
 * headers are dropped; transactional records are delivered like any other (old fetchers read
 * uncommitted); LogAppendTime batches keep their time. A partial trailing batch is ignored.
 *
 * @example
 * ```ts
 * import { decodeMessageSet, downConvert } from "./legacy.ts";
 * import { encodeRecordBatch } from "./batch_builder.ts";
 * const te = new TextEncoder();
 * const batch = encodeRecordBatch([{ value: te.encode("a") }, { value: te.encode("b") }], {
 *   baseOffset: 4, timestamp: 9,
 * });
 * const set = downConvert(batch, { magic: 1, fromOffset: 5 });
 * console.assert(decodeMessageSet(set).map((r) => `${r.offset}@${r.timestamp}`).join() === "5@9");
 * ```
 *
 * @param batches Concatenated v2 batches.
 * @param options Target magic and fetch offset.
 * @returns The message set (empty when nothing converts).
 * @throws {RecordsError} `UNSUPPORTED_COMPRESSION_TYPE` for a zstd batch (magic 0 and 1 cannot
 *   carry it; Kafka answers Fetch < v10 the same); `CORRUPT_MESSAGE` for malformed batches.
 */
export function downConvert(batches: Uint8Array, options: DownConvertOptions): Uint8Array {
  const fromOffset = options.fromOffset ?? 0;
  const parts: Uint8Array[] = [];
  let total = 0;
  for (let pos = 0;;) {
    const size = checkBatchAt(batches, pos, { verifyCrc: false });
    if (size < 0) break;
    const part = convertBatchAt(
      batches,
      pos,
      size,
      options.magic,
      fromOffset,
      options.maxDecompressedBytes,
    );
    pos += size;
    if (part === null) continue;
    parts.push(part);
    total += part.length;
  }
  return concat(parts, total);
}

/** Options of {@linkcode downConvertForFetch}. */
export interface DownConvertForFetchOptions extends DownConvertOptions {
  /**
   * The size of the stored bytes read for this partition (Kafka's `records.sizeInBytes()`):
   * the converted set is kept within the larger of this and its first converted batch.
   */
  maxBytes: number;
}

/**
 * Down-converts the batches a Fetch v0-3 read from one partition, sized as Kafka's
 * `LazyDownConversionRecords` sizes them (KIP-283): the response carries at most the larger of
 * `maxBytes` and the first converted batch (so a consumer always gets one whole batch), cut after
 * the last whole message that fits (Kafka sends the first bytes of the next one, which old
 * clients skip as a partial trailing message). A zstd batch first is refused; one after converted
 * data ends the set there, and the consumer's next fetch, from that batch, gets the error.
 *
 * @example
 * ```ts
 * import { decodeMessageSet, downConvertForFetch } from "./legacy.ts";
 * import { encodeRecordBatch } from "./batch_builder.ts";
 * const te = new TextEncoder();
 * const batch = encodeRecordBatch([{ value: te.encode("a") }, { value: te.encode("b") }]);
 * const set = downConvertForFetch(batch, { magic: 1, maxBytes: 1 });
 * console.assert(decodeMessageSet(set).length === 2); // the first batch whole
 * ```
 *
 * @param batches Concatenated v2 batches, as read from the log.
 * @param options Target magic, fetch offset and the size read.
 * @returns The message set (empty when nothing converts: only control batches).
 * @throws {RecordsError} `UNSUPPORTED_COMPRESSION_TYPE` when the first batch to convert is
 *   zstd-compressed; `CORRUPT_MESSAGE` for malformed batches.
 */
export function downConvertForFetch(
  batches: Uint8Array,
  options: DownConvertForFetchOptions,
): Uint8Array {
  const fromOffset = options.fromOffset ?? 0;
  const parts: Uint8Array[] = [];
  let total = 0;
  let limit = options.maxBytes;
  for (let pos = 0;;) {
    const size = checkBatchAt(batches, pos, { verifyCrc: false });
    if (size < 0) break;
    let part: Uint8Array | null;
    try {
      part = convertBatchAt(
        batches,
        pos,
        size,
        options.magic,
        fromOffset,
        options.maxDecompressedBytes,
      );
    } catch (e) {
      if (parts.length > 0 && e instanceof RecordsError) break;
      throw e;
    }
    pos += size;
    if (part === null) continue;
    if (parts.length === 0) limit = Math.max(limit, part.length);
    if (total + part.length > limit) {
      // Whole messages that still fit (one per record when uncompressed, else none).
      let fit = 0;
      while (fit < part.length) {
        const next = fit + batchSizeAt(part, fit);
        if (total + next > limit) break;
        fit = next;
      }
      if (fit > 0) {
        parts.push(part.subarray(0, fit));
        total += fit;
      }
      break;
    }
    parts.push(part);
    total += part.length;
  }
  return concat(parts, total);
}

/**
 * The 12 bytes Kafka sends a Fetch v0-3 whose first batch is larger than its limit (or that
 * converts to nothing): the start of a message at offset -1 claiming 61 bytes, which the
 * consumer sees as a partial message and answers by fetching with a larger size
 * (`LazyDownConversionRecordsSend.buildOverflowBatch`).
 *
 * @example
 * ```ts
 * import { overflowMessage } from "./legacy.ts";
 * import { batchSizeAt } from "./layout.ts";
 * const m = overflowMessage();
 * console.assert(m.length === 12 && batchSizeAt(m, 0) > m.length);
 * ```
 *
 * @returns A new 12-byte partial message.
 */
export function overflowMessage(): Uint8Array {
  const out = new Uint8Array(LOG_OVERHEAD);
  writeInt64(out, 0, -1);
  writeInt32(out, LENGTH_OFFSET, RECORD_BATCH_OVERHEAD);
  return out;
}
