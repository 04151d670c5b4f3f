// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * Record checks on append beyond the framing the WASM scan validates (Kafka's `LogValidator`):
 * a compacted topic only takes keyed records; on a CreateTime topic every record's timestamp is
 * within `message.timestamp.before.max.ms` / `after.max.ms` of now.
 *
 * @module
 */

import { attributesAt, CONTROL_BIT } from "../records/layout.ts";
import { decompressionBound } from "../records/compression.ts";
import { readRecords } from "../records/batch_reader.ts";
import { EngineError, ErrorCode, type RecordError } from "./errors.ts";

/** A reader's record as the checks see it (the reader moves on at its next `next()`). */
type RecordView = ReturnType<typeof readRecords>;

/**
 * The records of the first data batch for which `bad` gives something, with that batch's index,
 * or undefined; control batches are skipped and batches of every codec are opened. Like Kafka's
 * `LogValidator`, every record of the batch is looked at, not only the first bad one.
 *
 * @throws {EngineError} INVALID_RECORD for a batch whose records cannot be read.
 */
function findRecords<T>(
  records: Uint8Array,
  count: number,
  positions: ArrayLike<number>,
  sizes: ArrayLike<number>,
  what: string,
  bad: (r: RecordView) => T | undefined,
): { batch: number; found: T[] } | undefined {
  for (let i = 0; i < count; i++) {
    const batch = records.subarray(positions[i], positions[i] + sizes[i]);
    if ((attributesAt(batch, 0) & CONTROL_BIT) !== 0) continue;
    const found: T[] = [];
    try {
      const r = readRecords(batch, 0, {
        verifyCrc: false,
        validation: "relaxed",
        maxDecompressedBytes: decompressionBound(batch.length),
      });
      while (r.next()) {
        const f = bad(r);
        if (f !== undefined) found.push(f);
      }
    } catch (e) {
      throw new EngineError(
        ErrorCode.INVALID_RECORD,
        `${what} failed: batch ${i} cannot be read: ${(e as Error).message}`,
      );
    }
    if (found.length > 0) return { batch: i, found };
  }
  return undefined;
}

/**
 * The produce-time check of compacted topics: every record of every data batch must have a key
 * (Kafka: "Compacted topic cannot accept message without key"). Control batches are skipped;
 * batches of every codec are opened.
 *
 * @param records Whole validated batches.
 * @param count Number of batches.
 * @param positions Byte position of each batch.
 * @param sizes Size of each batch.
 * @param what What was being done, for the error message.
 * @param partition The topic partition (`t-0`), for Kafka's per-record message.
 * @throws {EngineError} INVALID_RECORD naming the batch and record without a key, or a batch whose
 * records cannot be read.
 *
 * @example
 * ```ts
 * import { checkCompactedKeys } from "./log_validator.ts";
 * import { buildBatch } from "../wasm/testing.ts";
 * const b = buildBatch({ records: [{ key: null, value: "v" }] });
 * try {
 *   checkCompactedKeys(b, 1, [0], [b.length], "append to t-0", "t-0");
 * } catch (e) {
 *   console.assert((e as Error).message.includes("without key"));
 * }
 * ```
 */
export function checkCompactedKeys(
  records: Uint8Array,
  count: number,
  positions: ArrayLike<number>,
  sizes: ArrayLike<number>,
  what: string,
  partition: string,
): void {
  const missing = findRecords(
    records,
    count,
    positions,
    sizes,
    what,
    (r) => r.key === null ? r.index : undefined,
  );
  if (missing !== undefined) {
    const recordErrors: RecordError[] = missing.found.map((batchIndex) => ({
      batchIndex,
      message: `Compacted topic cannot accept message without key in topic partition ${partition}.`,
    }));
    throw new EngineError(
      ErrorCode.INVALID_RECORD,
      `${what} failed: Compacted topic cannot accept message without key: ` +
        `record ${missing.found[0]} of batch ${missing.batch} has a null key`,
      { recordErrors },
    );
  }
}

/**
 * Kafka's per-record timestamp check (`LogValidator.validateTimestamp`) for CreateTime topics:
 * every record of every data batch whose timestamp is not -1 (none) must lie within
 * `[now - beforeMaxMs, now + afterMaxMs]`. The batch header's base and max timestamps cannot show
 * it: a log shipper's batch may hold a current line and then one replayed from days ago. Control
 * batches are skipped; batches of every codec are opened.
 *
 * @param records Whole validated batches.
 * @param count Number of batches.
 * @param positions Byte position of each batch.
 * @param sizes Size of each batch.
 * @param now The broker's time (ms).
 * @param beforeMaxMs `message.timestamp.before.max.ms`.
 * @param afterMaxMs `message.timestamp.after.max.ms`.
 * @param what What was being done, for the error message.
 * @throws {EngineError} INVALID_TIMESTAMP naming the batch, record and range; INVALID_RECORD for a
 * batch whose records cannot be read.
 *
 * @example
 * ```ts
 * import { checkRecordTimestamps } from "./log_validator.ts";
 * import { encodeRecordBatch } from "../records/mod.ts";
 * const now = Date.now();
 * const b = encodeRecordBatch([{ value: null, timestamp: now }, { value: null, timestamp: 0 }]);
 * try {
 *   checkRecordTimestamps(b, 1, [0], [b.length], now, 86_400_000, 86_400_000, "append to t-0");
 * } catch (e) {
 *   console.assert((e as Error).message.includes("out of range"));
 * }
 * ```
 */
export function checkRecordTimestamps(
  records: Uint8Array,
  count: number,
  positions: ArrayLike<number>,
  sizes: ArrayLike<number>,
  now: number,
  beforeMaxMs: number,
  afterMaxMs: number,
  what: string,
): void {
  const bad = findRecords(records, count, positions, sizes, what, (r) => {
    const ts = r.timestamp;
    return ts !== -1 && (now - ts > beforeMaxMs || ts - now > afterMaxMs)
      ? { index: r.index, offset: r.offset, timestamp: ts }
      : undefined;
  });
  if (bad !== undefined) {
    const first = bad.found[0];
    const range = `[${now - beforeMaxMs}, ${now + afterMaxMs}]`;
    const recordErrors: RecordError[] = bad.found.map((f) => ({
      batchIndex: f.index,
      message: `Timestamp ${f.timestamp} of message with offset ${f.offset} is out of range. ` +
        `The timestamp should be within ${range}`,
    }));
    throw new EngineError(
      ErrorCode.INVALID_TIMESTAMP,
      `${what} failed: timestamp ${first.timestamp} of record ${first.index} of batch ` +
        `${bad.batch} is out of range: it should be within ${range} ` +
        `(message.timestamp.before.max.ms ${beforeMaxMs}, after.max.ms ${afterMaxMs})`,
      { recordErrors },
    );
  }
}
