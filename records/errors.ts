// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * Errors raised by the record formats. Each carries the numeric Kafka error code the broker would
 * answer with (as `engine/errors.ts`'s `EngineError` does), so engine, server and client can map it
 * without parsing messages.
 *
 * @module
 */

/**
 * Kafka error codes the record formats can raise (a subset of Kafka's `Errors` table).
 *
 * @example
 * ```ts
 * import { RecordsErrorCode } from "./errors.ts";
 * console.assert(RecordsErrorCode.CORRUPT_MESSAGE === 2);
 * ```
 */
export const RecordsErrorCode = {
  /** Bad CRC, bad framing, undecompressable payload. */
  CORRUPT_MESSAGE: 2,
  /** A message format feature the target format cannot carry (e.g. transactions in v0/v1). */
  UNSUPPORTED_FOR_MESSAGE_FORMAT: 43,
  /** A codec the format cannot use (zstd in magic 0/1, an unknown codec id). */
  UNSUPPORTED_COMPRESSION_TYPE: 76,
  /** Well-framed records that break a rule (inner compressed message, mismatched magic...). */
  INVALID_RECORD: 87,
} as const;

/**
 * An error in record bytes, with the Kafka error code to report. The message says what failed,
 * then a colon and the detail, e.g. `record batch: CRC mismatch at offset 5: ...`.
 *
 * @example
 * ```ts
 * import { RecordsError, RecordsErrorCode } from "./errors.ts";
 *
 * const e = new RecordsError(RecordsErrorCode.CORRUPT_MESSAGE, "record batch: truncated");
 * console.assert(e.code === 2 && e.name === "RecordsError");
 * ```
 */
export class RecordsError extends Error {
  /** Kafka error code (see {@linkcode RecordsErrorCode}). */
  readonly code: number;

  /**
   * Creates an error carrying a Kafka error code.
   *
   * @param code Kafka error code.
   * @param message What failed, a colon, and the detail.
   * @param options Standard error options (`cause`).
   */
  constructor(code: number, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "RecordsError";
    this.code = code;
  }
}

/**
 * Thrown on malformed compressed input (a {@linkcode RecordsError} with `CORRUPT_MESSAGE`).
 *
 * @example
 * ```ts
 * import { DecompressionError, RecordsError } from "./errors.ts";
 *
 * const e = new DecompressionError("lz4: truncated block size");
 * console.assert(e instanceof RecordsError && e.code === 2 && e.name === "DecompressionError");
 * ```
 */
export class DecompressionError extends RecordsError {
  /**
   * Creates a decompression error.
   *
   * @param message What is malformed.
   */
  constructor(message: string) {
    super(RecordsErrorCode.CORRUPT_MESSAGE, message);
    this.name = "DecompressionError";
  }
}
