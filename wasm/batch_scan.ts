// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * The shape of a record batch scan result and its options (types only).
 *
 * @module
 */

/**
 * Result of {@link scanBatches}. {@link scanBatches} returns ONE object reused by every call
 * (valid until the next call); the per-batch column arrays have length ≥ `count` (only
 * `[0, count)` is meaningful).
 */
export interface BatchScan {
  /** `BatchStatus.OK` if the whole scanned range is valid batches, else the first failure. */
  status: number;
  /** Valid batches found before stopping. */
  count: number;
  /** Length of the valid prefix from `start` (where a torn or corrupt tail begins). */
  validBytes: number;
  /** `""` when OK, else e.g. `"batch 3 at byte 4096: bad CRC (stored 0x1a2b3c4d, computed 0x...)"`. */
  detail: string;
  /** Total recordCount of the valid batches. */
  records: number;
  /** Position of each batch, relative to the start of the caller's buffer (not to `start`). */
  positions: Int32Array;
  /** Total size of each batch (12 + batchLength). */
  sizes: Int32Array;
  /** baseOffset of each batch. */
  baseOffsets: Float64Array;
  /** lastOffsetDelta of each batch. */
  lastOffsetDeltas: Int32Array;
  /** recordCount of each batch. */
  recordCounts: Int32Array;
  /** baseTimestamp of each batch. */
  firstTimestamps: Float64Array;
  /** maxTimestamp of each batch. */
  maxTimestamps: Float64Array;
  /** attributes (i16, sign-extended) of each batch. */
  attributes: Int32Array;
  /** producerId of each batch. */
  producerIds: Float64Array;
  /** producerEpoch (i16, sign-extended) of each batch. */
  producerEpochs: Int32Array;
  /** baseSequence of each batch. */
  baseSequences: Int32Array;
}

/** Options of {@link scanBatches}. */
export interface ScanOptions {
  /** First byte to scan (default 0). */
  start?: number;
  /** End of the range to scan, exclusive (default `buf.length`). */
  end?: number;
  /** Walk the records of uncompressed batches (default true). */
  walkRecords?: boolean;
  /** Verify each batch's CRC-32C (default true). */
  verifyCrc?: boolean;
  /** Batches whose total size (12 + batchLength) exceeds this are BAD_LENGTH (default 2^31-1). */
  maxBatchSize?: number;
  /**
   * Accept batches rewritten by the log cleaner (default false): an uncompressed batch may hold
   * fewer records than its offset range (recordCount ≤ lastOffsetDelta + 1), its offset deltas
   * strictly increasing up to lastOffsetDelta instead of 0..n-1. Never on the produce path.
   */
  relaxedOffsets?: boolean;
}
