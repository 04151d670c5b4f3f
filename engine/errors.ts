/**
 * Errors raised by the storage engine. Every error carries the numeric Kafka error code the broker
 * should send back, so the server never has to guess from a message.
 *
 * @module
 */

/**
 * Kafka error codes the engine can raise (a subset of Kafka's `Errors` table).
 *
 * @example Check the code of an engine error
 * ```ts
 * import { EngineError, ErrorCode } from "./errors.ts";
 *
 * const err = new EngineError(ErrorCode.OFFSET_OUT_OF_RANGE, "read failed: offset 9 is past 3");
 * console.assert(err.code === 1);
 * ```
 */
export const ErrorCode = {
  OFFSET_OUT_OF_RANGE: 1,
  CORRUPT_MESSAGE: 2,
  UNKNOWN_TOPIC_OR_PARTITION: 3,
  MESSAGE_TOO_LARGE: 10,
  INVALID_TOPIC_EXCEPTION: 17,
  RECORD_LIST_TOO_LARGE: 18,
  INVALID_TIMESTAMP: 32,
  TOPIC_ALREADY_EXISTS: 36,
  INVALID_PARTITIONS: 37,
  INVALID_REPLICATION_FACTOR: 38,
  INVALID_CONFIG: 40,
  INVALID_REQUEST: 42,
  POLICY_VIOLATION: 44,
  KAFKA_STORAGE_ERROR: 56,
  INVALID_RECORD: 87,
} as const;

/** One of the numeric codes in {@linkcode ErrorCode}. */
export type ErrorCodeValue = typeof ErrorCode[keyof typeof ErrorCode];

/**
 * An error from the storage engine, with the Kafka error code to report to clients.
 *
 * The message says what failed, then a colon and the detail, e.g.
 * `append to orders-0 failed: batch 0 at byte 0 has a bad CRC`.
 *
 * @example Raise and inspect
 * ```ts
 * import { EngineError, ErrorCode } from "./errors.ts";
 *
 * try {
 *   throw new EngineError(ErrorCode.INVALID_CONFIG, "create topic t failed: unknown config x");
 * } catch (e) {
 *   if (e instanceof EngineError) console.assert(e.code === ErrorCode.INVALID_CONFIG);
 * }
 * ```
 */
export class EngineError extends Error {
  /** Kafka error code (see {@linkcode ErrorCode}). */
  readonly code: number;
  /** The records a batch was refused for (Produce v8+ `record_errors`), when known. */
  readonly recordErrors?: readonly RecordError[];

  /**
   * Create an error carrying a Kafka error code.
   *
   * @param code Kafka error code.
   * @param message What failed, a colon, and the detail.
   * @param options Standard error options (`cause`) and the records the batch was refused for.
   */
  constructor(
    code: number,
    message: string,
    options?: ErrorOptions & { recordErrors?: readonly RecordError[] },
  ) {
    super(message, options);
    this.name = "EngineError";
    this.code = code;
    if (options?.recordErrors !== undefined) this.recordErrors = options.recordErrors;
  }
}

/** A record a batch was refused for (Kafka's `RecordError`: Produce v8+ `record_errors`). */
export interface RecordError {
  /** The record's index in its batch. */
  batchIndex: number;
  /** Why, in Kafka's words. */
  message: string | null;
}

/**
 * Wraps an unexpected I/O error as {@linkcode ErrorCode.KAFKA_STORAGE_ERROR}; engine errors pass
 * through unchanged.
 *
 * @param what What failed (e.g. `append to t-0 failed`).
 * @param err The caught error.
 * @returns An {@linkcode EngineError}.
 *
 * @example
 * ```ts
 * import { storageError } from "./errors.ts";
 *
 * const e = storageError("flush failed", new Error("disk gone"));
 * console.assert(e.code === 56 && e.message === "flush failed: disk gone");
 * ```
 */
export function storageError(what: string, err: unknown): EngineError {
  if (err instanceof EngineError) return err;
  const detail = err instanceof Error ? err.message : String(err);
  return new EngineError(ErrorCode.KAFKA_STORAGE_ERROR, `${what}: ${detail}`, { cause: err });
}

/** errno codes of a resource that may come back: disk space, quota, file descriptors. */
const OUT_OF_RESOURCES: ReadonlySet<string> = new Set(["ENOSPC", "EDQUOT", "EMFILE", "ENFILE"]);

/**
 * Whether an error (or an error it wraps through `cause`) is the file system running out of a
 * resource that can come back without a restart: space (`ENOSPC`), quota (`EDQUOT`) or file
 * descriptors (`EMFILE`, `ENFILE`). The engine undoes a write that failed so and stays online;
 * any other I/O error takes the log offline.
 *
 * @param err The caught error.
 * @returns `true` for ENOSPC, EDQUOT, EMFILE and ENFILE.
 *
 * @example
 * ```ts
 * import { isOutOfResources } from "./errors.ts";
 *
 * const e = Object.assign(new Error("No space left on device (os error 28)"), { code: "ENOSPC" });
 * console.assert(isOutOfResources(e) && !isOutOfResources(new Error("EIO")));
 * ```
 */
export function isOutOfResources(err: unknown): boolean {
  for (let e = err, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && OUT_OF_RESOURCES.has(code)) return true;
  }
  return false;
}
