// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * Status codes reported by record batch validation, their human text, and the formatting of
 * failure details. Pure TypeScript (no WASM): shared by {@link scanBatches} and the reference
 * implementation so both describe a failure with the same words.
 *
 * @module
 */

/** The numeric status codes of batch validation (stable; new codes are only ever appended). */
export interface BatchStatusCodes {
  /** Every scanned batch is valid. */
  readonly OK: 0;
  /** The buffer ends inside the batch (a torn tail). */
  readonly TRUNCATED: 1;
  /** batchLength < 49, or the batch (12 + batchLength bytes) is larger than `maxBatchSize`. */
  readonly BAD_LENGTH: 2;
  /** The magic byte is not 2. */
  readonly BAD_MAGIC: 3;
  /** The stored CRC-32C differs from the one computed over bytes 21.. of the batch. */
  readonly BAD_CRC: 4;
  /** recordCount negative, != records present, or lastOffsetDelta inconsistent with it. */
  readonly BAD_RECORD_COUNT: 5;
  /** A varint longer than 5 bytes (a varlong longer than 10). */
  readonly BAD_VARINT: 6;
  /** A record's length differs from the bytes it spans, or a field overruns the record. */
  readonly BAD_RECORD_LENGTH: 7;
  /** A record's offsetDelta is not its index in the batch. */
  readonly BAD_OFFSET_DELTA: 8;
  /** The records do not exactly fill the batch. */
  readonly BAD_RECORDS_SIZE: 9;
  /** A control batch does not hold exactly one record. */
  readonly BAD_CONTROL: 10;
  /** A negative header count, a null header key, or a header value length below -1. */
  readonly BAD_HEADER: 11;
  /** The compression codec (attributes bits 0-2) is not 0-4. */
  readonly BAD_ATTRIBUTES: 12;
}

/**
 * Status codes of batch validation (numeric, stable).
 *
 * @example Checking a scan result
 * ```ts
 * import { BatchStatus, scanBatches } from "./mod.ts";
 *
 * const scan = scanBatches(new Uint8Array(0));
 * console.assert(scan.status === BatchStatus.OK);
 * ```
 */
export const BatchStatus: BatchStatusCodes = Object.freeze({
  OK: 0,
  TRUNCATED: 1,
  BAD_LENGTH: 2,
  BAD_MAGIC: 3,
  BAD_CRC: 4,
  BAD_RECORD_COUNT: 5,
  BAD_VARINT: 6,
  BAD_RECORD_LENGTH: 7,
  BAD_OFFSET_DELTA: 8,
  BAD_RECORDS_SIZE: 9,
  BAD_CONTROL: 10,
  BAD_HEADER: 11,
  BAD_ATTRIBUTES: 12,
});

const TEXTS: readonly string[] = [
  "ok",
  "truncated batch",
  "bad batch length",
  "bad magic",
  "bad CRC",
  "bad record count",
  "bad varint",
  "bad record length",
  "bad offset delta",
  "records do not fill the batch",
  "bad control batch",
  "bad record header",
  "bad attributes",
];

/**
 * Human text for a batch status code, e.g. `"bad CRC"`.
 *
 * @example
 * ```ts
 * import { BatchStatus, batchStatusText } from "./mod.ts";
 *
 * console.assert(batchStatusText(BatchStatus.BAD_CRC) === "bad CRC");
 * ```
 *
 * @param status A {@link BatchStatus} code.
 * @returns The text, or `"unknown status N"` for a code that is not defined.
 */
export function batchStatusText(status: number): string {
  return Number.isInteger(status) && status >= 0 && status < TEXTS.length
    ? TEXTS[status]
    : `unknown status ${status}`;
}

function hex32(n: number): string {
  return "0x" + (n >>> 0).toString(16).padStart(8, "0");
}

/**
 * Formats the `detail` of a failed scan. The meaning of `a`, `b`, `c` depends on the status:
 * TRUNCATED (bytes needed, bytes available), BAD_LENGTH (batchLength), BAD_MAGIC (magic),
 * BAD_CRC (stored, computed), BAD_RECORD_COUNT (recordCount, lastOffsetDelta, records present
 * or -1 if not walked), BAD_RECORDS_SIZE (bytes left over, recordCount), BAD_CONTROL
 * (recordCount), BAD_ATTRIBUTES (codec), record-level codes (record index, byte position).
 *
 * @example
 * ```ts
 * import { BatchStatus } from "./batch_status.ts";
 * import { formatBatchDetail } from "./batch_status.ts";
 *
 * const d = formatBatchDetail(3, 4096, BatchStatus.BAD_MAGIC, 1, 0, 0);
 * console.assert(d === "batch 3 at byte 4096: bad magic (magic 1, expected 2)");
 * ```
 *
 * @param index Index of the failing batch in the scan (= number of valid batches before it).
 * @param position Byte position of the failing batch in the caller's buffer.
 * @param status The failure's {@link BatchStatus} code.
 * @param a First status-specific figure.
 * @param b Second status-specific figure.
 * @param c Third status-specific figure.
 * @returns `""` for OK, else `"batch N at byte P: <text> (<figures>)"`.
 */
export function formatBatchDetail(
  index: number,
  position: number,
  status: number,
  a: number,
  b: number,
  c: number,
): string {
  if (status === BatchStatus.OK) return "";
  let why: string;
  switch (status) {
    case BatchStatus.TRUNCATED:
      why = `need ${a} bytes, have ${b}`;
      break;
    case BatchStatus.BAD_LENGTH:
      why = `batchLength ${a}, minimum 49, maximum batch size ${b}`;
      break;
    case BatchStatus.BAD_MAGIC:
      why = `magic ${a}, expected 2`;
      break;
    case BatchStatus.BAD_CRC:
      why = `stored ${hex32(a)}, computed ${hex32(b)}`;
      break;
    case BatchStatus.BAD_RECORD_COUNT:
      why = `recordCount ${a}, lastOffsetDelta ${b}` + (c >= 0 ? `, records present ${c}` : "");
      break;
    case BatchStatus.BAD_RECORDS_SIZE:
      why = `${a} bytes left after ${b} records`;
      break;
    case BatchStatus.BAD_CONTROL:
      why = `control batch with recordCount ${a}`;
      break;
    case BatchStatus.BAD_ATTRIBUTES:
      why = `compression codec ${a}`;
      break;
    default:
      why = `record ${a} at byte ${b}`;
  }
  return `batch ${index} at byte ${position}: ${batchStatusText(status)} (${why})`;
}
