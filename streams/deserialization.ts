// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * The deserialization exception handler (Kafka's `default.deserialization.exception.handler`):
 * what happens to a fetched record whose key or value the source's serde cannot read.
 * `logAndFail` (the default, Kafka's `LogAndFailExceptionHandler`) stops the instance;
 * `logAndContinue` (`LogAndContinueExceptionHandler`) logs a warning, counts the record and
 * skips it: it is not processed, moves no stream time, and its offset is committed with the
 * others. A function decides per record.
 *
 * @module
 */

import type { ConsumerRecord } from "../client/consumer.ts";

/** What a handler decides: skip the record (`CONTINUE`) or stop (`FAIL`). */
export type DeserializationHandlerResponse = "CONTINUE" | "FAIL";

/** Where the record that did not deserialize was read. */
export interface DeserializationErrorContext {
  /** The task: `<subtopology>_<partition>`. */
  readonly taskId: string;
  /** The source node that read it, e.g. `KSTREAM-SOURCE-0000000000`. */
  readonly sourceNodeName: string;
  /** Topic (an internal topic by its full name). */
  readonly topic: string;
  /** Partition. */
  readonly partition: number;
  /** Offset. */
  readonly offset: number;
  /** The record's timestamp. */
  readonly timestamp: number;
}

/**
 * A handler of records that do not deserialize: given where the record was read, the record
 * as fetched (bytes) and the serde's error, it says whether to skip it. A handler that throws
 * stops the instance with that error.
 */
export type DeserializationExceptionHandler = (
  context: DeserializationErrorContext,
  record: ConsumerRecord,
  error: unknown,
) => DeserializationHandlerResponse;

/** `deserializationExceptionHandler`: a built-in by name, or a function. */
export type DeserializationExceptionHandlerConfig =
  | "logAndFail"
  | "logAndContinue"
  | DeserializationExceptionHandler;

/** The error a record that does not deserialize stops the instance with. */
export class DeserializationFailedError extends Error {
  /**
   * Creates the error.
   *
   * @param message What failed.
   * @param cause The serde's error.
   */
  constructor(message: string, cause: unknown) {
    super(message, { cause });
    this.name = "DeserializationFailedError";
  }
}

/**
 * @internal Checks the configured handler and returns the function the tasks call: it
 * returns to skip the record (after counting it) or throws.
 */
export function deserializationHandler(
  config: DeserializationExceptionHandlerConfig | undefined,
  warn: (message: string) => void,
  skipped: () => void,
): (task: { taskId: string }, node: string, record: ConsumerRecord, error: unknown) => void {
  const handler = config ?? "logAndFail";
  if (handler !== "logAndFail" && handler !== "logAndContinue" && typeof handler !== "function") {
    throw new RangeError(
      `streams: invalid deserializationExceptionHandler ${String(handler)} ` +
        "(logAndFail, logAndContinue or a function)",
    );
  }
  return (task, node, record, error) => {
    const context: DeserializationErrorContext = {
      taskId: task.taskId,
      sourceNodeName: node,
      topic: record.topic,
      partition: record.partition,
      offset: record.offset,
      timestamp: record.timestamp,
    };
    const where = `task ${context.taskId}: record ${context.topic}-${context.partition}` +
      ` offset ${context.offset}`;
    const detail = error instanceof Error ? error.message : String(error);
    const response = handler === "logAndFail"
      ? "FAIL"
      : handler === "logAndContinue"
      ? "CONTINUE"
      : handler(context, record, error);
    if (response === "CONTINUE") {
      warn(`streams: ${where} does not deserialize, skipped: ${detail}`);
      skipped();
      return;
    }
    if (response !== "FAIL") {
      throw new DeserializationFailedError(
        `streams: ${where} does not deserialize and the handler answered ` +
          `${JSON.stringify(response)} (CONTINUE or FAIL): ${detail}`,
        error,
      );
    }
    throw new DeserializationFailedError(
      `streams: ${where} does not deserialize (deserializationExceptionHandler: ${
        typeof handler === "function" ? "FAIL" : handler
      }): ${detail}`,
      error,
    );
  };
}
