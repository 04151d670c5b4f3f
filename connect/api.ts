// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * The connector and task interfaces, shaped like Kafka Connect's: a {@linkcode SourceConnector}
 * or {@linkcode SinkConnector} validates its configuration and splits the work into task
 * configurations (`taskConfigs(maxTasks)`); a {@linkcode SourceTask} `poll()`s records carrying
 * their source partition and offset, a {@linkcode SinkTask} is `put()` records and asked to
 * `flush()` before the worker commits their Kafka offsets.
 *
 * @example A source connector counting up
 * ```ts
 * import { SourceConnector, SourceTask } from "./api.ts";
 * import type { SourceRecord } from "./data.ts";
 *
 * class CounterTask extends SourceTask {
 *   #next = 0;
 *   #topic = "";
 *   version() { return "1.0"; }
 *   start(props: Record<string, string>) {
 *     this.#topic = props.topic;
 *     const stored = this.context.offsetStorageReader.offset({ counter: "c" });
 *     this.#next = typeof stored?.next === "number" ? stored.next : 0;
 *   }
 *   async poll(): Promise<SourceRecord[]> {
 *     await new Promise((r) => setTimeout(r, 100));
 *     const n = this.#next++;
 *     return [{
 *       topic: this.#topic, key: null, value: String(n),
 *       sourcePartition: { counter: "c" }, sourceOffset: { next: n + 1 },
 *     }];
 *   }
 *   stop() {}
 * }
 * class CounterConnector extends SourceConnector {
 *   #props: Record<string, string> = {};
 *   version() { return "1.0"; }
 *   config() { return { topic: { type: "string" as const } }; }
 *   start(props: Record<string, string>) { this.#props = props; }
 *   taskClass() { return CounterTask; }
 *   taskConfigs(_maxTasks: number) { return [{ topic: this.#props.topic }]; }
 *   stop() {}
 * }
 * console.assert(new CounterConnector().taskClass() === CounterTask);
 * ```
 *
 * @module
 */

import type { ConfigDef } from "./config.ts";
import type { SinkRecord, SourceRecord } from "./data.ts";

/** What a connector may ask of the worker (Kafka's `ConnectorContext`). */
export interface ConnectorContext {
  /** Asks the worker to call `taskConfigs` again and restart the tasks if they changed. */
  requestTaskReconfiguration(): void;
  /** Fails the connector with `error`. */
  raiseError(error: Error): void;
}

/** Reads the offsets the worker stored for this connector (Kafka's `OffsetStorageReader`). */
export interface OffsetStorageReader {
  /**
   * The last committed offset of a source partition.
   *
   * @param partition The source partition, e.g. `{ filename: "/tmp/in.txt" }`.
   * @returns Its offset, or `null` when none was committed.
   */
  offset(partition: Record<string, unknown>): Record<string, unknown> | null;
}

/** What a source task gets from the worker (Kafka's `SourceTaskContext`). */
export interface SourceTaskContext {
  /** The task's configuration. */
  configs(): Record<string, string>;
  /** The connector's committed offsets. */
  offsetStorageReader: OffsetStorageReader;
}

/** A topic partition. */
export interface TopicPartition {
  /** Topic. */
  topic: string;
  /** Partition. */
  partition: number;
}

/** What a sink task gets from the worker (Kafka's `SinkTaskContext`). */
export interface SinkTaskContext {
  /** The task's configuration. */
  configs(): Record<string, string>;
  /** The partitions this task is consuming now. */
  assignment(): TopicPartition[];
  /** Asks the worker to flush and commit offsets soon. */
  requestCommit(): void;
}

/** What connectors share (Kafka's `Connector`). */
export abstract class Connector {
  /** Set by the worker before {@linkcode Connector.start}. */
  context!: ConnectorContext;
  /**
   * Gives the connector its context (called by the worker).
   *
   * @param context The context.
   */
  initialize(context: ConnectorContext): void {
    this.context = context;
  }
  /** The connector's version. */
  abstract version(): string;
  /** The configuration it accepts; validated by the worker before `start`. */
  abstract config(): ConfigDef;
  /**
   * Checks the configuration beyond {@linkcode Connector.config}'s keys (combinations of
   * settings), before the worker accepts it (a 400 over REST). Default: nothing more.
   *
   * @param _props The connector's configuration.
   * @throws {ConfigError} Listing the problems.
   */
  validate(_props: Record<string, string>): void {}
  /**
   * Starts with a validated configuration.
   *
   * @param props The connector's configuration.
   */
  abstract start(props: Record<string, string>): void | Promise<void>;
  /**
   * Splits the work into at most `maxTasks` task configurations.
   *
   * @param maxTasks `tasks.max`.
   * @returns One configuration per task.
   */
  abstract taskConfigs(maxTasks: number): Record<string, string>[];
  /** Stops. */
  abstract stop(): void | Promise<void>;
}

/** A connector whose tasks read from another system into Kafka (Kafka's `SourceConnector`). */
export abstract class SourceConnector extends Connector {
  /** The task class. */
  abstract taskClass(): new () => SourceTask;
}

/** A connector whose tasks write Kafka records to another system (Kafka's `SinkConnector`). */
export abstract class SinkConnector extends Connector {
  /** The task class. */
  abstract taskClass(): new () => SinkTask;
}

/** A source task (Kafka's `SourceTask`). */
export abstract class SourceTask {
  /** Set by the worker before {@linkcode SourceTask.start}. */
  context!: SourceTaskContext;
  /**
   * Gives the task its context (called by the worker).
   *
   * @param context The context.
   */
  initialize(context: SourceTaskContext): void {
    this.context = context;
  }
  /** The task's version. */
  abstract version(): string;
  /**
   * Starts with the configuration its connector gave.
   *
   * @param props Task configuration.
   */
  abstract start(props: Record<string, string>): void | Promise<void>;
  /**
   * The next records, or `null`/`[]` when there are none yet (wait a little before returning).
   *
   * @returns Records with their source partition and offset.
   */
  abstract poll(): Promise<SourceRecord[] | null>;
  /**
   * Called once the records of a poll were acknowledged by Kafka and their offsets stored.
   */
  commit(): void | Promise<void> {}
  /** Stops; a `poll` running may be left to finish. */
  abstract stop(): void | Promise<void>;
}

/** A sink task (Kafka's `SinkTask`). */
export abstract class SinkTask {
  /** Set by the worker before {@linkcode SinkTask.start}. */
  context!: SinkTaskContext;
  /**
   * Gives the task its context (called by the worker).
   *
   * @param context The context.
   */
  initialize(context: SinkTaskContext): void {
    this.context = context;
  }
  /** The task's version. */
  abstract version(): string;
  /**
   * Starts with the configuration its connector gave.
   *
   * @param props Task configuration.
   */
  abstract start(props: Record<string, string>): void | Promise<void>;
  /**
   * Writes records (or buffers them until {@linkcode SinkTask.flush}). Throwing fails the task;
   * the records' offsets are not committed.
   *
   * @param records The records, in offset order per partition.
   */
  abstract put(records: SinkRecord[]): Promise<void>;
  /**
   * Makes everything `put` so far durable; the worker then commits `offsets`.
   *
   * @param offsets The next offset to read per partition, keyed `topic-partition`.
   */
  flush(_offsets: Map<string, number>): void | Promise<void> {}
  /** Stops. */
  abstract stop(): void | Promise<void>;
}

/** A connector class. */
export type ConnectorClass = new () => SourceConnector | SinkConnector;

/**
 * A Connect error (Kafka's `org.apache.kafka.connect.errors.ConnectException`).
 *
 * @example
 * ```ts
 * import { ConnectException } from "./api.ts";
 * const e = new ConnectException("Tolerance exceeded in error handler", { cause: new Error("x") });
 * console.assert(e.name === "ConnectException");
 * ```
 */
export class ConnectException extends Error {
  /**
   * Creates the error.
   *
   * @param message What failed.
   * @param options The cause.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ConnectException";
  }
}

/**
 * Data that does not fit: bytes a converter cannot read, a value a transform cannot handle
 * (Kafka's `org.apache.kafka.connect.errors.DataException`). Not retried; with
 * `errors.tolerance=all` the record is skipped (and sent to a sink's dead-letter queue).
 *
 * @example
 * ```ts
 * import { DataException } from "./api.ts";
 * console.assert(new DataException("bad JSON").name === "DataException");
 * ```
 */
export class DataException extends ConnectException {
  /**
   * Creates the error.
   *
   * @param message What does not fit.
   * @param options The cause.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "DataException";
  }
}

/**
 * A failure that may go away if the operation is tried again (Kafka's
 * `org.apache.kafka.connect.errors.RetriableException`): a converter or transform throwing it is
 * retried with backoff for `errors.retry.timeout` ms (`-1`: forever), each wait doubling from
 * 300 ms up to `errors.retry.delay.max.ms`.
 *
 * @example
 * ```ts
 * import { RetriableException } from "./api.ts";
 * console.assert(new RetriableException("registry unreachable").name === "RetriableException");
 * ```
 */
export class RetriableException extends ConnectException {
  /**
   * Creates the error.
   *
   * @param message What failed.
   * @param options The cause.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "RetriableException";
  }
}
