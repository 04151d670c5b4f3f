// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * What log compaction needs of a stored batch, for every codec: its records opened with the
 * relaxed validation compacted batches need ({@linkcode readCompactableBatch}), and the batch
 * rebuilt with the records that survive ({@linkcode rebuildBatch}): same base offset,
 * `lastOffsetDelta`, producer fields, codec and timestamp type, so the batch keeps its offset
 * range; each record's key, value and headers are copied as they are.
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
  TIMESTAMP_TYPE_BIT,
  TRANSACTIONAL_BIT,
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
 * cleaned batches need (offset deltas strictly increasing and ≤ lastOffsetDelta, record framing
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
 * Whether the cleaner may rewrite a batch with these attributes: data batches outside
 * transactions (control and transactional batches are kept whole, as their markers and producer
 * state need them).
 *
 * @example
 * ```ts
 * import { isCompactable } from "./compaction.ts";
 * console.assert(isCompactable(0x03) && !isCompactable(0x10) && !isCompactable(0x20));
 * ```
 *
 * @param attributes Batch attributes.
 * @returns `true` for a plain data batch of any codec.
 */
export function isCompactable(attributes: number): boolean {
  return (attributes & (CONTROL_BIT | TRANSACTIONAL_BIT)) === 0;
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
