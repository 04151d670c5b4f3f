// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * What log compaction needs of a stored batch, for every codec: its records opened with the
 * relaxed validation compacted batches need ({@linkcode readCompactableBatch}), and the batch
 * rebuilt with the records that survive ({@linkcode rebuildBatch}): same base offset,
 * `lastOffsetDelta`, producer fields, codec and timestamp type, so the batch keeps its offset
 * range; each record's key, value and headers are copied as they are. A batch whose records all
 * go but which must stay (a producer's last batch) keeps its header alone
 * ({@linkcode emptyBatchOf}).
 *
 * @module
 */

import { RecordBatchBuilder } from "./batch_builder.ts";
import { readRecords } from "./batch_reader.ts";
import { decompressionBound } from "./compression.ts";
import {
  attributesAt,
  baseOffsetAt,
  baseSequenceAt,
  baseTimestampAt,
  COMPRESSION_CODEC_MASK,
  type CompressionName,
  compressionName,
  CONTROL_BIT,
  DELETE_HORIZON_BIT,
  lastOffsetDeltaAt,
  maxTimestampAt,
  partitionLeaderEpochAt,
  producerEpochAt,
  producerIdAt,
  RECORD_BATCH_OVERHEAD,
  recordCountAt,
  setAttributesAt,
  setBaseTimestampAt,
  setBatchLengthAt,
  setRecordCountAt,
  TIMESTAMP_TYPE_BIT,
  TRANSACTIONAL_BIT,
  updateCrcAt,
} from "./layout.ts";

/** One record of a {@linkcode CompactableBatch}. */
export interface CompactableRecord {
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

/** A stored v2 batch, opened for compaction. */
export interface CompactableBatch {
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
  records: CompactableRecord[];
}

/**
 * Opens a stored v2 batch of any codec and walks its records with the relaxed validation that
 * cleaned batches need (offset deltas strictly increasing and <= lastOffsetDelta, record framing
 * exact, nothing after the last record). The CRC is not checked (the log checked it on append
 * and recovery).
 *
 * @example
 * ```ts
 * import { readCompactableBatch } from "./compaction.ts";
 * import { encodeRecordBatch } from "./batch_builder.ts";
 * const b = readCompactableBatch(encodeRecordBatch([{ key: new Uint8Array([1]), value: null }], {
 *   compression: "lz4",
 * }));
 * console.assert(b.records.length === 1 && b.records[0].tombstone);
 * ```
 *
 * @param batch One whole batch (header and records).
 * @returns The batch header fields and its records.
 * @throws {RecordsError} `CORRUPT_MESSAGE` if the records are malformed (the message says where).
 */
export function readCompactableBatch(batch: Uint8Array): CompactableBatch {
  const r = readRecords(batch, 0, {
    verifyCrc: false,
    validation: "relaxed",
    maxDecompressedBytes: decompressionBound(batch.length),
  });
  const records: CompactableRecord[] = [];
  while (r.next()) {
    records.push({
      offsetDelta: r.offsetDelta,
      timestampDelta: r.timestampDelta,
      key: r.key,
      tombstone: r.value === null,
      tail: r.tail(),
    });
  }
  return {
    baseOffset: baseOffsetAt(batch, 0),
    attributes: attributesAt(batch, 0),
    lastOffsetDelta: lastOffsetDeltaAt(batch, 0),
    baseTimestamp: baseTimestampAt(batch, 0),
    maxTimestamp: maxTimestampAt(batch, 0),
    records,
  };
}

/**
 * The header of a stored batch without its records (Kafka's `writeEmptyHeader`, which the log
 * cleaner writes for a producer's last batch when none of its records survive): the same base
 * offset, `lastOffsetDelta`, leader epoch, producer id, epoch and base sequence (so the
 * producer's last sequence is still known when the state is rebuilt from the log),
 * transactional and control bits and timestamp type; no codec, no delete horizon, no records,
 * and the max timestamp as both timestamps.
 *
 * @example
 * ```ts
 * import { emptyBatchOf } from "./compaction.ts";
 * import { encodeRecordBatch } from "./batch_builder.ts";
 * import { baseSequenceAt, lastOffsetDeltaAt, recordCountAt } from "./layout.ts";
 * const b = encodeRecordBatch([{ value: null }, { value: null }], {
 *   baseOffset: 4, producerId: 9, producerEpoch: 0, baseSequence: 7, compression: "gzip",
 * });
 * const e = emptyBatchOf(b);
 * console.assert(e.length === 61 && recordCountAt(e, 0) === 0);
 * console.assert(lastOffsetDeltaAt(e, 0) === 1 && baseSequenceAt(e, 0) === 7);
 * ```
 *
 * @param batch One whole stored batch.
 * @returns A new batch of {@linkcode RECORD_BATCH_OVERHEAD} bytes, its CRC computed.
 */
export function emptyBatchOf(batch: Uint8Array): Uint8Array {
  const out = batch.slice(0, RECORD_BATCH_OVERHEAD);
  const attrs = attributesAt(batch, 0);
  setBatchLengthAt(out, 0, RECORD_BATCH_OVERHEAD - 12);
  setAttributesAt(out, 0, attrs & ~(COMPRESSION_CODEC_MASK | DELETE_HORIZON_BIT));
  setBaseTimestampAt(out, 0, maxTimestampAt(batch, 0));
  setRecordCountAt(out, 0, 0);
  updateCrcAt(out, 0);
  return out;
}

/**
 * Whether a stored batch holds no records (the header a cleaner kept for its producer).
 *
 * @example
 * ```ts
 * import { emptyBatchOf, isEmptyBatch } from "./compaction.ts";
 * import { encodeRecordBatch } from "./batch_builder.ts";
 * const b = encodeRecordBatch([{ value: null }]);
 * console.assert(!isEmptyBatch(b) && isEmptyBatch(emptyBatchOf(b)));
 * ```
 *
 * @param batch A stored batch (its header at least).
 * @returns `true` when its record count is 0.
 */
export function isEmptyBatch(batch: Uint8Array): boolean {
  return recordCountAt(batch, 0) === 0;
}

/** What to change when rebuilding a batch. */
export interface RebuildOptions {
  /** Surviving records, in order (a subset of the original's). */
  records: CompactableRecord[];
  /** Delete horizon to record in the base timestamp, or -1 to clear the flag. */
  deleteHorizonMs: number;
  /** Codec of the rebuilt batch. Default: the original's. */
  compression?: CompressionName;
}

/**
 * Rebuilds a stored batch with fewer records. The base offset, lastOffsetDelta, leader epoch,
 * producer fields, codec and timestamp type are kept; the base timestamp becomes the delete
 * horizon when one is given (record timestamp deltas are re-encoded so every record keeps its
 * timestamp), the max timestamp is recomputed (CreateTime) and the CRC is recomputed. The records
 * are compressed again with the batch's codec.
 *
 * @example
 * ```ts
 * import { readCompactableBatch, rebuildBatch } from "./compaction.ts";
 * import { encodeRecordBatch } from "./batch_builder.ts";
 * const te = new TextEncoder();
 * const orig = encodeRecordBatch([
 *   { key: te.encode("a"), value: te.encode("1") },
 *   { key: te.encode("b"), value: te.encode("2") },
 * ], { baseOffset: 7, compression: "snappy" });
 * const d = readCompactableBatch(orig);
 * const out = readCompactableBatch(rebuildBatch(orig, d, { records: [d.records[1]], deleteHorizonMs: -1 }));
 * console.assert(out.baseOffset === 7 && out.records[0].offsetDelta === 1 && out.lastOffsetDelta === 1);
 * ```
 *
 * @param original The stored batch.
 * @param decoded Its opened form ({@linkcode readCompactableBatch}).
 * @param options Survivors (at least one) and delete horizon.
 * @returns The new batch bytes.
 * @throws {RangeError} If no record survives.
 */
export function rebuildBatch(
  original: Uint8Array,
  decoded: CompactableBatch,
  options: RebuildOptions,
): Uint8Array {
  const attrs = decoded.attributes;
  const horizon = options.deleteHorizonMs;
  const oldBase = decoded.baseTimestamp;
  let newBase = oldBase;
  if (horizon >= 0) newBase = horizon;
  else if ((attrs & DELETE_HORIZON_BIT) !== 0 && options.records.length > 0) {
    newBase = oldBase + options.records[0].timestampDelta;
  }
  let size = 0;
  for (const r of options.records) size += r.tail.length + 16;
  const builder = new RecordBatchBuilder(size + 128, { baseTimestamp: newBase });
  for (const r of options.records) {
    builder.appendTail(r.offsetDelta, oldBase + r.timestampDelta, r.tail);
  }
  const logAppendTime = (attrs & TIMESTAMP_TYPE_BIT) !== 0;
  return builder.finish({
    baseOffset: decoded.baseOffset,
    compression: options.compression ?? compressionName(attrs & COMPRESSION_CODEC_MASK),
    partitionLeaderEpoch: partitionLeaderEpochAt(original, 0),
    producerId: producerIdAt(original, 0),
    producerEpoch: producerEpochAt(original, 0),
    baseSequence: baseSequenceAt(original, 0),
    transactional: (attrs & TRANSACTIONAL_BIT) !== 0,
    control: (attrs & CONTROL_BIT) !== 0,
    timestampType: logAppendTime ? 1 : 0,
    lastOffsetDelta: decoded.lastOffsetDelta,
    maxTimestamp: logAppendTime ? decoded.maxTimestamp : undefined,
    deleteHorizon: horizon >= 0,
  });
}
