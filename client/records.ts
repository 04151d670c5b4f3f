// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * Record batches as the client presents them: the record formats of `records/` (every codec
 * both ways: none, gzip, snappy, lz4, zstd), with their errors reported as {@linkcode KafkaError}s
 * carrying the same Kafka error code (`CORRUPT_MESSAGE` for bad CRCs, framing or compressed
 * payloads; `UNSUPPORTED_COMPRESSION_TYPE` for an unknown codec).
 *
 * @module
 */

import { KafkaError } from "../protocol/errors.ts";
import * as records from "../records/mod.ts";

export {
  type AppendHeader,
  Compression,
  type CompressionName,
  type DecodedRecord,
  type DecodedRecordBatch,
  type DecodeRecordBatchesOptions,
  type DecodeRecordsIntoOptions,
  DecompressionError,
  type EncodeRecordBatchOptions,
  lz4Compress,
  lz4Decompress,
  RECORD_BATCH_OVERHEAD,
  type RecordFactory,
  type RecordHeader,
  type RecordInput,
  snappyCompress,
  snappyDecompress,
  utf8Length,
} from "../records/mod.ts";

/**
 * A {@linkcode records.RecordsError} as the {@linkcode KafkaError} with its code; other errors
 * unchanged.
 *
 * @example
 * ```ts
 * import { toKafkaError } from "./records.ts";
 * import { RecordsError } from "../records/mod.ts";
 * const e = toKafkaError(new RecordsError(2, "record batch: truncated"));
 * console.assert(e instanceof Error && e.message.startsWith("record batch: truncated: CORRUPT_MESSAGE"));
 * ```
 *
 * @param e A caught error.
 * @returns The error to throw.
 */
export function toKafkaError(e: unknown): unknown {
  if (!(e instanceof records.RecordsError) || e instanceof records.DecompressionError) return e;
  const k = new KafkaError(e.code, e.message);
  k.stack = e.stack;
  return k;
}

/**
 * Builds one record batch (magic v2) in a single growing buffer; see `records/`'s
 * `RecordBatchBuilder`. Errors are {@linkcode KafkaError}s.
 *
 * @example
 * ```ts
 * import { decodeRecordBatches, RecordBatchBuilder } from "./records.ts";
 * const b = new RecordBatchBuilder();
 * b.append(null, new TextEncoder().encode("v"), 1_700_000_000_000);
 * const bytes = b.finish({ compression: "snappy" });
 * console.assert(decodeRecordBatches(bytes)[0].records.length === 1);
 * ```
 */
export class RecordBatchBuilder extends records.RecordBatchBuilder {
  /**
   * Writes the header and CRC and returns the batch.
   *
   * @param options Offsets, compression, producer fields.
   * @returns The batch bytes.
   * @throws {RangeError} If no record was appended.
   * @throws {KafkaError} `UNSUPPORTED_COMPRESSION_TYPE` for an unknown codec name.
   */
  override finish(options?: records.EncodeRecordBatchOptions): Uint8Array {
    try {
      return super.finish(options);
    } catch (e) {
      throw toKafkaError(e);
    }
  }
}

/**
 * Encodes records into one record batch (magic v2) with a valid CRC-32C.
 *
 * @example
 * ```ts
 * import { decodeRecordBatches, encodeRecordBatch } from "./records.ts";
 * const te = new TextEncoder();
 * const batch = encodeRecordBatch([{ key: te.encode("k"), value: te.encode("v") }], {
 *   compression: "lz4",
 * });
 * console.assert(decodeRecordBatches(batch)[0].records.length === 1);
 * ```
 *
 * @param input The records, at least one.
 * @param options Offsets, compression, producer fields.
 * @returns The batch bytes.
 * @throws {RangeError} If `input` is empty.
 * @throws {KafkaError} `UNSUPPORTED_COMPRESSION_TYPE` for an unknown codec name.
 */
export function encodeRecordBatch(
  input: readonly records.RecordInput[],
  options?: records.EncodeRecordBatchOptions,
): Uint8Array {
  try {
    return records.encodeRecordBatch(input, options);
  } catch (e) {
    throw toKafkaError(e);
  }
}

/**
 * Decodes the concatenated record batches of a fetch response (or a produce request); a partial
 * trailing batch is ignored, control batches are returned with `control: true`.
 *
 * @example
 * ```ts
 * import { decodeRecordBatches, encodeRecordBatch } from "./records.ts";
 * const bytes = encodeRecordBatch([{ value: new Uint8Array([1]) }], { baseOffset: 5 });
 * console.assert(decodeRecordBatches(bytes)[0].baseOffset === 5);
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
  options?: records.DecodeRecordBatchesOptions,
): records.DecodedRecordBatch[] {
  try {
    return records.decodeRecordBatches(data, options);
  } catch (e) {
    throw toKafkaError(e);
  }
}

/**
 * Decodes fetched bytes into data records, skipping control batches, the partial trailing batch
 * and records below `fromOffset`.
 *
 * @example
 * ```ts
 * import { decodeRecords, encodeRecordBatch } from "./records.ts";
 * const bytes = encodeRecordBatch([{ value: null }, { value: null }], { baseOffset: 10 });
 * console.assert(decodeRecords(bytes, 11).map((r) => r.offset).join() === "11");
 * ```
 *
 * @param data The raw bytes.
 * @param fromOffset Lowest offset to return. Default 0.
 * @returns The records, in offset order.
 * @throws {KafkaError} As {@linkcode decodeRecordBatches}.
 */
export function decodeRecords(data: Uint8Array, fromOffset = 0): records.DecodedRecord[] {
  try {
    return records.decodeRecords(data, fromOffset);
  } catch (e) {
    throw toKafkaError(e);
  }
}

/**
 * Decodes fetched bytes straight into caller-made records, skipping control batches, the partial
 * trailing batch and records below `fromOffset`. The fast path of the consumer.
 *
 * @example
 * ```ts
 * import { decodeRecordsInto, encodeRecordBatch } from "./records.ts";
 * const bytes = encodeRecordBatch([{ value: null }, { value: null }], { baseOffset: 10 });
 * const out: number[] = [];
 * console.assert(decodeRecordsInto(bytes, 11, (offset) => offset, out) === 12);
 * ```
 *
 * @param data The raw bytes.
 * @param fromOffset Lowest offset to return.
 * @param make Builds a record from its fields (key, value and header values are views).
 * @param out Receives the records, in offset order.
 * @param options Whether to verify CRCs (default true); which transactional batches to skip.
 * @returns The offset after the last complete batch, or `fromOffset` when there is none.
 * @throws {KafkaError} `CORRUPT_MESSAGE` as {@linkcode decodeRecordBatches}.
 */
export function decodeRecordsInto<T>(
  data: Uint8Array,
  fromOffset: number,
  make: records.RecordFactory<T>,
  out: T[],
  options?: records.DecodeRecordsIntoOptions,
): number {
  try {
    return records.decodeRecordsInto(data, fromOffset, make, out, options);
  } catch (e) {
    throw toKafkaError(e);
  }
}
