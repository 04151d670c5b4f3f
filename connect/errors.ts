// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * Error handling of the worker's record stages (Kafka's KIP-298,
 * `org.apache.kafka.connect.runtime.errors`): each conversion and transformation of a record runs
 * through a {@linkcode RetryWithToleranceOperator}, which retries a
 * {@linkcode RetriableException} with backoff for `errors.retry.timeout` ms, then reports the
 * failure (a log line with `errors.log.enable`; for sinks, the original record to the dead-letter
 * queue `errors.deadletterqueue.topic.name`) and either fails the task (`errors.tolerance=none`,
 * the default) or skips the record (`errors.tolerance=all`).
 *
 * @module
 */

import { Admin } from "../client/admin.ts";
import type { Client } from "../client/client.ts";
import type { ConsumerRecord } from "../client/consumer.ts";
import type { Producer } from "../client/producer.ts";
import { ErrorCode, KafkaError } from "../protocol/errors.ts";
import { ConnectException, DataException, RetriableException } from "./api.ts";
import type { ConfigDef, ConfigValue } from "./config.ts";
import type { SourceRecord } from "./data.ts";

/** Logging: level and message (the worker's). */
type Log = (level: "debug" | "info" | "warn" | "error", message: string) => void;

/** The error-handling settings every connector has (Kafka's `ConnectorConfig` error group). */
export const ERRORS_CONFIG: ConfigDef = {
  "errors.retry.timeout": {
    type: "long",
    default: "0",
    importance: "medium",
    validator: (v: ConfigValue) => (v as number) < -1 ? "Value must be at least -1" : undefined,
    documentation: "The maximum duration in milliseconds that a failed operation will be " +
      "reattempted. The default is 0, which means no retries will be attempted. Use -1 for " +
      "infinite retries.",
  },
  "errors.retry.delay.max.ms": {
    type: "long",
    default: "60000",
    min: 0,
    importance: "medium",
    documentation: "The maximum duration in milliseconds between consecutive retry attempts.",
  },
  "errors.tolerance": {
    type: "string",
    default: "none",
    validValues: ["none", "all"],
    importance: "medium",
    documentation: "Behavior for tolerating errors during connector operation. 'none' is the " +
      "default value and signals that any error will result in an immediate connector task " +
      "failure; 'all' changes the behavior to skip over problematic records.",
  },
  "errors.log.enable": {
    type: "boolean",
    default: "false",
    importance: "medium",
    documentation: "If true, write each error and the details of the failed operation and " +
      "problematic record to the Connect application log.",
  },
  "errors.log.include.messages": {
    type: "boolean",
    default: "false",
    importance: "medium",
    documentation: "Whether to include in the log the Connect record that resulted in a failure.",
  },
};

function regexProblem(v: ConfigValue): string | undefined {
  if (typeof v !== "string" || v.trim() === "") return undefined;
  try {
    new RegExp(v);
    return undefined;
  } catch (e) {
    return `Invalid regex: ${e instanceof Error ? e.message : e}`;
  }
}

/** The settings of sink connectors (Kafka's `SinkConnectorConfig`). */
export const SINK_CONNECTOR_CONFIG: ConfigDef = {
  "topics": {
    type: "list",
    default: "",
    importance: "high",
    documentation: "List of topics to consume, separated by commas",
  },
  "topics.regex": {
    type: "string",
    default: "",
    importance: "high",
    validator: regexProblem,
    documentation: "Regular expression giving topics to consume (matched against the whole " +
      "name; topics created later are picked up within the consumer's metadata.max.age.ms). " +
      "Only one of topics or topics.regex should be specified.",
  },
  "errors.deadletterqueue.topic.name": {
    type: "string",
    default: "",
    importance: "medium",
    documentation: "The name of the topic to be used as the dead letter queue (DLQ) for " +
      "messages that result in an error when processed by this sink connector, transformations, " +
      "or converter. The topic name is blank by default, which means that no messages are to be " +
      "recorded in the DLQ.",
  },
  "errors.deadletterqueue.topic.replication.factor": {
    type: "int",
    default: "3",
    importance: "medium",
    validator: (v: ConfigValue) =>
      (v as number) === -1 || (v as number) >= 1 && (v as number) <= 32767
        ? undefined
        : "Value must be -1 (the broker's default) or between 1 and 32767",
    documentation: "Replication factor used to create the dead letter queue topic when it " +
      "doesn't already exist.",
  },
  "errors.deadletterqueue.context.headers.enable": {
    type: "boolean",
    default: "false",
    importance: "medium",
    documentation: "If true, add headers containing error context to the messages written to " +
      "the dead letter queue. To avoid clashing with headers from the original record, all " +
      "error context header keys will start with __connect.errors.",
  },
};

/** Where in a record's processing an error happened (Kafka's `Stage`). */
export type Stage =
  | "KEY_CONVERTER"
  | "VALUE_CONVERTER"
  | "HEADER_CONVERTER"
  | "TRANSFORMATION"
  | "TASK_PUT"
  | "TASK_POLL"
  | "KAFKA_PRODUCE"
  | "KAFKA_CONSUME";

/** The record a stage failed on: the consumed one (sink tasks) or the polled one (source). */
export interface ErrorContext {
  /** The record as consumed, raw bytes (sink tasks). */
  consumed?: ConsumerRecord;
  /** The record the source task polled (source tasks). */
  source?: SourceRecord;
}

/** One failure, as reporters see it. */
export interface Failure {
  /** The record. */
  context: ErrorContext;
  /** The stage. */
  stage: Stage;
  /** Kafka's class name of what ran the stage (converter or transform). */
  className: string;
  /** The error (the last one, after retries). */
  error: unknown;
}

/** Counters of a task's error handling (Kafka's `ErrorHandlingMetrics`, task-error-metrics). */
export interface ErrorHandlingMetrics {
  /** `total-record-failures`: failed attempts, retries included. */
  recordFailures: number;
  /** `total-record-errors`: records that failed (after any retries). */
  recordErrors: number;
  /** `total-records-skipped`: records skipped with `errors.tolerance=all`. */
  recordsSkipped: number;
  /** `total-retries`: retries of retriable failures. */
  retries: number;
  /** `total-errors-logged`: failures written to the log (`errors.log.enable`). */
  errorsLogged: number;
  /** `deadletterqueue-produce-requests`: records sent to the dead-letter queue. */
  deadLetterQueueProduceRequests: number;
  /** `deadletterqueue-produce-failures`: dead-letter queue writes that failed. */
  deadLetterQueueProduceFailures: number;
  /** `last-error-timestamp`: when the last failure happened (ms), 0 if none. */
  lastErrorTimestamp: number;
}

/** Something told of every failure (Kafka's `ErrorReporter`). */
export interface ErrorReporter {
  /**
   * Reports one failure.
   *
   * @param failure The failure.
   * @returns A promise settled once the report is durable (a dead-letter queue write).
   */
  report(failure: Failure): Promise<void> | void;
}

/** The prefix of the dead-letter queue's context headers. */
export const HEADER_PREFIX = "__connect.errors.";

/** Kafka's names of the dead-letter queue's context headers. */
export const ERROR_HEADERS = {
  topic: `${HEADER_PREFIX}topic`,
  partition: `${HEADER_PREFIX}partition`,
  offset: `${HEADER_PREFIX}offset`,
  connectorName: `${HEADER_PREFIX}connector.name`,
  taskId: `${HEADER_PREFIX}task.id`,
  stage: `${HEADER_PREFIX}stage`,
  className: `${HEADER_PREFIX}class.name`,
  exceptionClassName: `${HEADER_PREFIX}exception.class.name`,
  exceptionMessage: `${HEADER_PREFIX}exception.message`,
  exceptionStacktrace: `${HEADER_PREFIX}exception.stacktrace`,
} as const;

/**
 * The class name an error is reported under: Kafka's for Connect's exceptions
 * (`org.apache.kafka.connect.errors.DataException`), else the JavaScript error's name.
 *
 * @param error The error.
 * @returns The name.
 */
export function exceptionClassName(error: unknown): string {
  if (error instanceof DataException) return "org.apache.kafka.connect.errors.DataException";
  if (error instanceof RetriableException) {
    return "org.apache.kafka.connect.errors.RetriableException";
  }
  if (error instanceof ConnectException) return "org.apache.kafka.connect.errors.ConnectException";
  return error instanceof Error ? error.name : typeof error;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function stackOf(error: unknown): string {
  return error instanceof Error
    ? (error.stack ?? `${error.name}: ${error.message}`)
    : String(error);
}

const decoder = new TextDecoder();

function text(b: Uint8Array | null): string {
  return b === null ? "null" : decoder.decode(b);
}

/**
 * Kafka's `LogReporter`: one ERROR line per failure, naming the task, stage, class and record
 * (with `errors.log.include.messages`, its key, value and headers too).
 */
export class LogReporter implements ErrorReporter {
  #task: string;
  #includeMessages: boolean;
  #log: Log;
  #metrics: ErrorHandlingMetrics;
  /**
   * Creates the reporter.
   *
   * @param task The task (`CONNECTOR-N`).
   * @param includeMessages `errors.log.include.messages`.
   * @param log Where lines go.
   * @param metrics Counted in `errorsLogged`.
   */
  constructor(task: string, includeMessages: boolean, log: Log, metrics: ErrorHandlingMetrics) {
    this.#task = task;
    this.#includeMessages = includeMessages;
    this.#log = log;
    this.#metrics = metrics;
  }

  /**
   * The line for a failure.
   *
   * @param f The failure.
   * @returns The message.
   */
  message(f: Failure): string {
    let where = "";
    const c = f.context.consumed;
    const s = f.context.source;
    if (c) {
      where = `, where consumed record is {topic='${c.topic}', partition=${c.partition}, ` +
        `offset=${c.offset}, timestamp=${c.timestamp}, timestampType=CreateTime`;
      if (this.#includeMessages) {
        where += `, key=${text(c.key)}, value=${text(c.value)}, headers=[${
          c.headers.map((h) => `${h.key}=${text(h.value)}`).join(", ")
        }]`;
      }
      where += "}";
    } else if (s) {
      where = `, where source record is {topic='${s.topic}', sourcePartition=${
        JSON.stringify(s.sourcePartition)
      }, sourceOffset=${JSON.stringify(s.sourceOffset)}`;
      if (this.#includeMessages) {
        where += `, key=${safeJson(s.key)}, value=${safeJson(s.value)}`;
      }
      where += "}";
    }
    return `Error encountered in task ${this.#task}. Executing stage '${f.stage}' with class ` +
      `'${f.className}'${where}. ${exceptionClassName(f.error)}: ${errorMessage(f.error)}`;
  }

  /** Logs the failure. */
  report(f: Failure): void {
    this.#metrics.errorsLogged++;
    this.#log("error", this.message(f));
  }
}

function safeJson(v: unknown): string {
  try {
    return v instanceof Uint8Array ? `bytes[${v.length}]` : JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

/** Options of {@linkcode DeadLetterQueueReporter}. */
export interface DeadLetterQueueOptions {
  /** The producer writing to the queue. */
  producer: Producer;
  /** `errors.deadletterqueue.topic.name`. */
  topic: string;
  /** `errors.deadletterqueue.context.headers.enable`. */
  contextHeaders: boolean;
  /** The task. */
  taskId: { connector: string; task: number };
  /** Counted in `deadLetterQueueProduce*`. */
  metrics: ErrorHandlingMetrics;
}

/**
 * Kafka's `DeadLetterQueueReporter`: writes the original consumed record (raw key, value,
 * headers and timestamp) to the dead-letter queue topic, with the `__connect.errors.*` context
 * headers when asked. Sink tasks only.
 */
export class DeadLetterQueueReporter implements ErrorReporter {
  #o: DeadLetterQueueOptions;
  /**
   * Creates the reporter (the topic must exist: see {@linkcode DeadLetterQueueReporter.create}).
   *
   * @param options Producer, topic, headers, task, metrics.
   */
  constructor(options: DeadLetterQueueOptions) {
    this.#o = options;
  }

  /**
   * Creates the topic when missing (one partition, the given replication factor), then the
   * reporter.
   *
   * @param client The cluster client.
   * @param replicationFactor `errors.deadletterqueue.topic.replication.factor`.
   * @param options Producer, topic, headers, task, metrics.
   * @returns The reporter.
   * @throws {ConnectException} When the topic cannot be created.
   */
  static async create(
    client: Client,
    replicationFactor: number,
    options: DeadLetterQueueOptions,
  ): Promise<DeadLetterQueueReporter> {
    const topic = options.topic;
    try {
      const admin = new Admin(client);
      if (!(await admin.listTopics({ includeInternal: true })).includes(topic)) {
        await admin.createTopics([{ name: topic, numPartitions: 1, replicationFactor }]);
      }
    } catch (e) {
      if (!(e instanceof KafkaError) || e.code !== ErrorCode.TOPIC_ALREADY_EXISTS) {
        throw new ConnectException(
          `Could not initialize dead letter queue with topic=${topic}: ${errorMessage(e)}`,
          { cause: e },
        );
      }
    }
    return new DeadLetterQueueReporter(options);
  }

  /**
   * The headers of the record sent for a failure: the original ones, then the context headers
   * when enabled.
   *
   * @param f The failure.
   * @returns The headers.
   */
  headers(f: Failure): Array<{ key: string; value: Uint8Array | string | null }> {
    const c = f.context.consumed!;
    const out: Array<{ key: string; value: Uint8Array | string | null }> = c.headers.map((h) => ({
      key: h.key,
      value: h.value,
    }));
    if (!this.#o.contextHeaders) return out;
    const H = ERROR_HEADERS;
    out.push(
      { key: H.topic, value: c.topic },
      { key: H.partition, value: String(c.partition) },
      { key: H.offset, value: String(c.offset) },
      { key: H.connectorName, value: this.#o.taskId.connector },
      { key: H.taskId, value: String(this.#o.taskId.task) },
      { key: H.stage, value: f.stage },
      { key: H.className, value: f.className },
      { key: H.exceptionClassName, value: exceptionClassName(f.error) },
      { key: H.exceptionMessage, value: errorMessage(f.error) },
      { key: H.exceptionStacktrace, value: stackOf(f.error) },
    );
    return out;
  }

  /** Sends the original record; the promise settles with the broker's acknowledgement. */
  async report(f: Failure): Promise<void> {
    const c = f.context.consumed;
    if (!c) return;
    const m = this.#o.metrics;
    m.deadLetterQueueProduceRequests++;
    try {
      await this.#o.producer.send({
        topic: this.#o.topic,
        messages: [{
          key: c.key,
          value: c.value,
          headers: this.headers(f),
          ...(c.timestamp >= 0 ? { timestamp: c.timestamp } : {}),
        }],
      });
    } catch (e) {
      m.deadLetterQueueProduceFailures++;
      throw new ConnectException(
        `Could not produce message to dead letter queue. topic=${this.#o.topic}: ` +
          errorMessage(e),
        { cause: e },
      );
    }
  }
}

/** What {@linkcode RetryWithToleranceOperator.execute} returns for a skipped record. */
export const SKIPPED: unique symbol = Symbol("skipped");

/** The first wait before a retry (Kafka's `RETRIES_DELAY_MIN_MS`). */
export const RETRIES_DELAY_MIN_MS = 300;

/** Thrown when a retry wait is cut short by the task stopping: not a record failure. */
export class TaskStoppingError extends Error {
  /** Creates the error. */
  constructor() {
    super("task stopping while retrying");
    this.name = "TaskStoppingError";
  }
}

/** Options of {@linkcode RetryWithToleranceOperator}. */
export interface RetryWithToleranceOptions {
  /** `errors.retry.timeout` (ms; -1: forever; 0: no retries). Default 0. */
  retryTimeoutMs?: number;
  /** `errors.retry.delay.max.ms`. Default 60000. */
  retryDelayMaxMs?: number;
  /** `errors.tolerance`. Default `none`. */
  tolerance?: "none" | "all";
  /** Told of every failure, in order (log, dead-letter queue). */
  reporters?: ErrorReporter[];
  /** Aborted when the task stops: a retry wait ends with {@linkcode TaskStoppingError}. */
  signal?: AbortSignal;
  /** The counters (shared with the reporters). */
  metrics?: ErrorHandlingMetrics;
}

/**
 * The counters, all zero.
 *
 * @returns New metrics.
 */
export function newErrorHandlingMetrics(): ErrorHandlingMetrics {
  return {
    recordFailures: 0,
    recordErrors: 0,
    recordsSkipped: 0,
    retries: 0,
    errorsLogged: 0,
    deadLetterQueueProduceRequests: 0,
    deadLetterQueueProduceFailures: 0,
    lastErrorTimestamp: 0,
  };
}

function wait(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new TaskStoppingError());
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", abort);
    };
    const abort = () => {
      done();
      reject(new TaskStoppingError());
    };
    const timer = setTimeout(() => {
      done();
      resolve();
    }, ms);
    signal?.addEventListener("abort", abort, { once: true });
  });
}

/**
 * Runs the stages of a record's processing with Kafka's error handling
 * (`RetryWithToleranceOperator`): a stage throwing {@linkcode RetriableException} is retried
 * (waits of 300 ms doubling up to `errors.retry.delay.max.ms`, for `errors.retry.timeout` ms in
 * all); a failure that remains is reported, then fails the task (`errors.tolerance=none`: a
 * {@linkcode ConnectException} "Tolerance exceeded in error handler" caused by it) or skips the
 * record (`all`).
 *
 * @example
 * ```ts
 * import { RetryWithToleranceOperator, SKIPPED } from "./errors.ts";
 * const op = new RetryWithToleranceOperator({ tolerance: "all" });
 * const r = op.execute({}, "VALUE_CONVERTER", "JsonConverter", () => JSON.parse("{"));
 * console.assert((r instanceof Promise ? await r : r) === SKIPPED);
 * console.assert(op.metrics.recordsSkipped === 1);
 * ```
 */
export class RetryWithToleranceOperator {
  /** The counters. */
  readonly metrics: ErrorHandlingMetrics;
  #timeout: number;
  #maxDelay: number;
  #tolerateAll: boolean;
  #reporters: ErrorReporter[];
  #signal: AbortSignal | undefined;
  /** Dead-letter queue writes not yet awaited. */
  #pending: Promise<void>[] = [];

  /**
   * Creates the operator.
   *
   * @param options Retry timeout and delay, tolerance, reporters, stop signal, metrics.
   */
  constructor(options: RetryWithToleranceOptions = {}) {
    this.#timeout = options.retryTimeoutMs ?? 0;
    this.#maxDelay = options.retryDelayMaxMs ?? 60_000;
    this.#tolerateAll = options.tolerance === "all";
    this.#reporters = options.reporters ?? [];
    this.#signal = options.signal;
    this.metrics = options.metrics ?? newErrorHandlingMetrics();
  }

  /**
   * Adds a reporter (after the ones given at construction).
   *
   * @param reporter The reporter.
   */
  addReporter(reporter: ErrorReporter): void {
    this.#reporters.push(reporter);
  }

  /**
   * Runs one stage of one record. Synchronous while `op` succeeds; a failure continues
   * asynchronously (retries, reports).
   *
   * @param context The record.
   * @param stage The stage.
   * @param className Kafka's class name of what runs it.
   * @param op The operation.
   * @returns Its result, or {@linkcode SKIPPED} (tolerated failure), maybe as a promise.
   * @throws {ConnectException} "Tolerance exceeded in error handler" (with `cause`) when the
   * failure is not tolerated; {@linkcode TaskStoppingError} when stopped while retrying.
   */
  execute<T>(
    context: ErrorContext,
    stage: Stage,
    className: string,
    op: () => T,
  ): T | typeof SKIPPED | Promise<T | typeof SKIPPED> {
    try {
      return op();
    } catch (e) {
      return this.#failed({ context, stage, className, error: e }, op);
    }
  }

  async #failed<T>(f: Failure, op: () => T): Promise<T | typeof SKIPPED> {
    const start = Date.now();
    const m = this.metrics;
    for (let attempt = 1;; attempt++) {
      m.recordFailures++;
      m.lastErrorTimestamp = Date.now();
      const now = Date.now();
      const deadline = this.#timeout === -1 ? Infinity : start + this.#timeout;
      if (!(f.error instanceof RetriableException) || now >= deadline) break;
      let delay = Math.min(RETRIES_DELAY_MIN_MS * 2 ** (attempt - 1), this.#maxDelay);
      delay = Math.max(0, Math.min(delay, deadline - now));
      await wait(delay, this.#signal);
      m.retries++;
      try {
        return op();
      } catch (e) {
        f = { ...f, error: e };
      }
    }
    m.recordErrors++;
    for (const r of this.#reporters) {
      const p = r.report(f);
      if (p) this.#pending.push(p);
    }
    if (!this.#tolerateAll) {
      // The record goes to the dead-letter queue before the task fails (as Kafka's).
      await this.flush().catch(() => {});
      throw new ConnectException("Tolerance exceeded in error handler", { cause: f.error });
    }
    m.recordsSkipped++;
    return SKIPPED;
  }

  /**
   * Waits for the reports sent so far (dead-letter queue writes) to be acknowledged; offsets of
   * skipped records may be committed only after.
   *
   * @throws {ConnectException} The first report that failed.
   */
  async flush(): Promise<void> {
    if (this.#pending.length === 0) return;
    const pending = this.#pending;
    this.#pending = [];
    const results = await Promise.allSettled(pending);
    const failed = results.find((r) => r.status === "rejected");
    if (failed) throw (failed as PromiseRejectedResult).reason;
  }
}

/**
 * A task's operator from its connector configuration (`errors.*`).
 *
 * @param config The connector configuration.
 * @param signal Aborted when the task stops.
 * @returns The operator (reporters are added by the worker).
 */
export function operatorFromConfig(
  config: Record<string, string>,
  signal?: AbortSignal,
): RetryWithToleranceOperator {
  const num = (k: string, d: number) => {
    const v = config[k];
    return v === undefined || v.trim() === "" ? d : Number(v.trim());
  };
  return new RetryWithToleranceOperator({
    retryTimeoutMs: num("errors.retry.timeout", 0),
    retryDelayMaxMs: num("errors.retry.delay.max.ms", 60_000),
    tolerance: (config["errors.tolerance"] ?? "none").trim().toLowerCase() === "all"
      ? "all"
      : "none",
    signal,
  });
}
