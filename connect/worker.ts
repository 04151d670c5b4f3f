// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * The worker: runs connector instances and their tasks (Kafka's `Worker`, `WorkerSourceTask`,
 * `WorkerSinkTask`). A source task's records go through the transforms and converters to a
 * producer; their source offsets are stored only after Kafka acknowledged them
 * (`offset.flush.interval.ms`, and on stop). A sink task consumes in the consumer group
 * `connect-NAME`; its offsets are committed only after the task's `flush`.
 *
 * @module
 */

import type { Client } from "../client/client.ts";
import type { ConsumerRecord } from "../client/consumer.ts";
import { GroupConsumer } from "../client/group_consumer.ts";
import { Producer, type ProducerMessage } from "../client/producer.ts";
import {
  type Connector,
  SinkConnector,
  type SinkTask,
  SourceConnector,
  type SourceTask,
  type TopicPartition,
} from "./api.ts";
import { type ConfigDef, ConfigError, parseConfig, withPrefix } from "./config.ts";
import { type Converter, CONVERTER_CLASSES, createConverter } from "./converters.ts";
import type { ConnectRecord, SinkRecord, SourceRecord } from "./data.ts";
import {
  DeadLetterQueueReporter,
  type ErrorContext,
  type ErrorHandlingMetrics,
  ERRORS_CONFIG,
  LogReporter,
  operatorFromConfig,
  type RetryWithToleranceOperator,
  SINK_CONNECTOR_CONFIG,
  SKIPPED,
  type Stage,
  TaskStoppingError,
} from "./errors.ts";
import type { OffsetEntry, OffsetStore } from "./offset_store.ts";
import { findPlugin, type Plugin } from "./plugins.ts";
import { applyStage, type TransformStage, transformStages } from "./transforms.ts";

/** A connector's or task's state, as Kafka Connect reports it. */
export type State = "UNASSIGNED" | "RUNNING" | "PAUSED" | "FAILED" | "RESTARTING";

/** What a connector should be doing. */
export type TargetState = "STARTED" | "PAUSED";

/** A connector's or task's status. */
export interface Status {
  /** State. */
  state: State;
  /** Worker running it (`host:port`). */
  worker_id: string;
  /** Why it failed (stack trace), when FAILED. */
  trace?: string;
}

/** A task id: connector name and task number. */
export interface TaskId {
  /** Connector name. */
  connector: string;
  /** Task number. */
  task: number;
}

/** Receives status changes (the herder's status store). */
export type StatusListener = (
  what: { connector: string; task?: number },
  status: Status,
) => void;

/** Logging: level and message. */
export type Log = (level: "debug" | "info" | "warn" | "error", message: string) => void;

/** Options of {@linkcode Worker}. */
export interface WorkerOptions {
  /** The cluster client. */
  client: Client;
  /** The worker's properties (`key.converter`, `value.converter`, `offset.flush.interval.ms`…). */
  props: Record<string, string>;
  /** Where source offsets are kept. */
  offsets: OffsetStore;
  /** This worker's id (`host:port` of its REST listener). */
  workerId: string;
  /** Status changes. */
  onStatus: StatusListener;
  /** Logging; default none. */
  log?: Log;
}

/**
 * The settings every connector has (Kafka's `ConnectorConfig`), error handling included
 * (`errors.tolerance`, `errors.retry.timeout`, `errors.retry.delay.max.ms`, `errors.log.*`).
 */
export const CONNECTOR_CONFIG: ConfigDef = {
  "name": { type: "string", importance: "high", documentation: "Connector name" },
  "connector.class": { type: "string", importance: "high", documentation: "Connector class" },
  "tasks.max": { type: "int", default: "1", min: 1, documentation: "Maximum number of tasks" },
  ...ERRORS_CONFIG,
};

/** A stack trace with its causes (`Caused by: ...`), as Java prints one. */
function errorTrace(e: unknown): string {
  let out = "";
  for (let c: unknown = e, depth = 0; c !== undefined && depth < 8; depth++) {
    if (depth > 0) out += "\nCaused by: ";
    out += c instanceof Error ? (c.stack ?? `${c.name}: ${c.message}`) : String(c);
    c = c instanceof Error ? c.cause : undefined;
  }
  return out;
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * Validates a connector configuration: the common keys, the connector's own definition,
 * converters and transforms.
 *
 * @param config The configuration.
 * @returns The plugin.
 * @throws {ConfigError} Listing every problem.
 */
export function validateConnectorConfig(config: Record<string, string>): Plugin {
  const errors: string[] = [];
  try {
    parseConfig(CONNECTOR_CONFIG, config);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    errors.push(...e.errors);
  }
  const cls = config["connector.class"];
  const plugin = cls ? findPlugin(cls) : undefined;
  if (cls && !plugin) {
    errors.push(
      `Invalid value ${cls} for configuration connector.class: Class ${cls} could not be found.`,
    );
  }
  if (plugin) {
    const connector = new plugin.cls();
    try {
      parseConfig(connector.config(), config);
      connector.validate(config);
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      errors.push(...e.errors);
    }
    if (plugin.type === "sink") errors.push(...sinkConfigProblems(config));
  }
  for (const side of ["key", "value"]) {
    const c = config[`${side}.converter`];
    if (c === undefined) continue;
    try {
      createConverter(c, withPrefix(config, `${side}.converter.`));
    } catch (e) {
      errors.push(message(e));
    }
  }
  try {
    transformStages(config);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    errors.push(...e.errors);
  }
  if (errors.length > 0) throw new ConfigError(errors);
  return plugin!;
}

/** The whole-name pattern of `topics.regex` (as Java's `Matcher.matches()`). */
function topicsPattern(regex: string): RegExp {
  return new RegExp(`^(?:${regex})$`);
}

/**
 * What is wrong with a sink's own settings (Kafka's `SinkConnectorConfig.validate`): `topics`
 * and `topics.regex` (exactly one), the dead-letter queue settings, and a dead-letter queue
 * topic that the connector would consume itself.
 */
function sinkConfigProblems(config: Record<string, string>): string[] {
  const errors: string[] = [];
  try {
    parseConfig(SINK_CONNECTOR_CONFIG, config);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    errors.push(...e.errors);
  }
  const topics = (config.topics ?? "").split(",").map((t) => t.trim()).filter((t) => t);
  const regex = config["topics.regex"]?.trim() ?? "";
  if (topics.length > 0 && regex !== "") {
    errors.push("topics and topics.regex are mutually exclusive options, but both are set.");
  } else if (topics.length === 0 && regex === "") {
    errors.push("Must configure one of topics or topics.regex");
  }
  const dlq = config["errors.deadletterqueue.topic.name"]?.trim() ?? "";
  if (dlq !== "" && topics.includes(dlq)) {
    errors.push(
      `The DLQ topic '${dlq}' may not be included in the list of topics ('topics=${
        topics.join(",")
      }') consumed by the connector`,
    );
  }
  if (dlq !== "" && regex !== "" && errors.every((m) => !m.includes("topics.regex"))) {
    if (topicsPattern(regex).test(dlq)) {
      errors.push(
        `The DLQ topic '${dlq}' may not be included in the regex matching the topics ` +
          `('topics.regex=${regex}') consumed by the connector`,
      );
    }
  }
  return errors;
}

/** Kafka's class name of a converter named by class or short name. */
function converterClassName(name: string): string {
  const n = name.trim();
  return CONVERTER_CLASSES[n.split(".").pop()!] ?? n;
}

/** One stage of a record's processing: what runs it (for error reports) and the step. */
interface RecordStage<S> {
  stage: Stage;
  className: string;
  /** The step: the state on, or `null` when a transform dropped the record. */
  run(state: S): S | null;
}

/**
 * Runs `stages` from `from` on through the operator: synchronous while every stage succeeds at
 * once, asynchronous from the first failure (retries, reports).
 *
 * @returns The final state, `null` (dropped by a transform) or SKIPPED (a tolerated failure).
 */
function runStages<S>(
  op: RetryWithToleranceOperator,
  context: ErrorContext,
  stages: RecordStage<S>[],
  state: S,
  from = 0,
): S | null | typeof SKIPPED | Promise<S | null | typeof SKIPPED> {
  let s = state;
  for (let i = from; i < stages.length; i++) {
    const stage = stages[i];
    const current = s;
    const r = op.execute(context, stage.stage, stage.className, () => stage.run(current));
    if (r instanceof Promise) {
      return r.then((v) =>
        v === SKIPPED || v === null ? v : runStages(op, context, stages, v, i + 1)
      );
    }
    if (r === SKIPPED || r === null) return r;
    s = r;
  }
  return s;
}

/** The transforms as record stages: each replaces the work's record, or drops it (`null`). */
function transformRecordStages<W extends { record: ConnectRecord }>(
  transforms: TransformStage[],
): RecordStage<W>[] {
  return transforms.map((t) => ({
    stage: "TRANSFORMATION",
    className: t.className,
    run: (w) => {
      const r = applyStage<W["record"]>(t, w.record);
      if (r === null) return null;
      w.record = r;
      return w;
    },
  }));
}

/** A running connector instance. */
class WorkerConnector {
  readonly connector: Connector;
  readonly type: "source" | "sink";
  reconfigure: () => void = () => {};
  constructor(connector: Connector) {
    this.connector = connector;
    this.type = connector instanceof SinkConnector ? "sink" : "source";
  }
}

/** Common machinery of source and sink tasks. */
abstract class WorkerTask<T extends SourceTask | SinkTask> {
  readonly id: TaskId;
  protected worker: Worker;
  protected config: Record<string, string>;
  protected taskConfig: Record<string, string>;
  protected keyConverter: Converter;
  protected valueConverter: Converter;
  /** Kafka's class names of the converters (for error reports). */
  protected keyConverterClass: string;
  protected valueConverterClass: string;
  protected transforms: TransformStage[];
  /** Error handling (`errors.*`): retries, tolerance, reporters. */
  readonly errors: RetryWithToleranceOperator;
  protected readonly task: T;
  /** `offset.flush.interval.ms`: how often offsets are stored (source) or committed (sink). */
  protected readonly flushInterval: number;
  protected stopping = false;
  protected paused: boolean;
  protected abort = new AbortController();
  protected pollAbort = new AbortController();
  #wake: (() => void) | null = null;
  done: Promise<void> = Promise.resolve();

  constructor(
    worker: Worker,
    id: TaskId,
    config: Record<string, string>,
    taskConfig: Record<string, string>,
    target: TargetState,
    task: T,
  ) {
    this.worker = worker;
    this.id = id;
    this.config = config;
    this.taskConfig = taskConfig;
    const convClass = (side: string) =>
      config[`${side}.converter`] ?? worker.props[`${side}.converter`] ??
        "org.apache.kafka.connect.json.JsonConverter";
    const conv = (side: string) =>
      createConverter(
        convClass(side),
        config[`${side}.converter`] !== undefined
          ? withPrefix(config, `${side}.converter.`)
          : withPrefix(worker.props, `${side}.converter.`),
      );
    this.keyConverter = conv("key");
    this.valueConverter = conv("value");
    this.keyConverterClass = converterClassName(convClass("key"));
    this.valueConverterClass = converterClassName(convClass("value"));
    this.transforms = transformStages(config);
    this.errors = operatorFromConfig(config, this.abort.signal);
    if ((config["errors.log.enable"] ?? "").trim().toLowerCase() === "true") {
      this.errors.addReporter(
        new LogReporter(
          `${id.connector}-${id.task}`,
          (config["errors.log.include.messages"] ?? "").trim().toLowerCase() === "true",
          (level, text) => worker.log(level, text),
          this.errors.metrics,
        ),
      );
    }
    this.paused = target === "PAUSED";
    this.task = task;
    this.flushInterval = Number(worker.props["offset.flush.interval.ms"] ?? 60_000);
  }

  protected status(state: State, trace?: string): void {
    this.worker.reportStatus({ connector: this.id.connector, task: this.id.task }, state, trace);
  }

  /** Waits while paused; returns when resumed or stopping. */
  protected async waitWhilePaused(): Promise<void> {
    while (this.paused && !this.stopping) {
      await new Promise<void>((resolve) => (this.#wake = resolve));
    }
  }

  setTarget(target: TargetState): void {
    const paused = target === "PAUSED";
    if (paused === this.paused) return;
    this.paused = paused;
    if (paused) this.pollAbort.abort();
    this.status(paused ? "PAUSED" : "RUNNING");
    this.#wake?.();
  }

  start(): void {
    this.done = this.run().catch((e) => {
      // A retry wait cut short by the stop: nothing failed (the record's offset is not committed).
      if (e instanceof TaskStoppingError && this.stopping) return;
      this.worker.log("error", `task ${this.id.connector}-${this.id.task} failed: ${message(e)}`);
      this.status("FAILED", errorTrace(e));
    });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.abort.abort();
    this.#wake?.();
    await this.stopTask();
    await this.done;
  }

  /**
   * Starts the task, then runs `step` until stopping (waiting while paused); `finish` runs last,
   * told whether a step threw.
   */
  protected async loop(
    step: () => Promise<void>,
    finish: (failed: boolean) => Promise<void>,
  ): Promise<void> {
    await this.task.start(this.taskConfig);
    this.status(this.paused ? "PAUSED" : "RUNNING");
    let failed = false;
    try {
      while (!this.stopping) {
        await this.waitWhilePaused();
        if (this.stopping) break;
        await step();
      }
    } catch (e) {
      failed = true;
      throw e;
    } finally {
      await finish(failed);
    }
  }

  protected abstract run(): Promise<void>;
  protected abstract stopTask(): Promise<void>;
}

/** A source record on its way: transformed, then its key and value converted. */
interface SourceWork {
  record: SourceRecord;
  key: Uint8Array | null;
  value: Uint8Array | null;
}

/** Runs a source task: poll, transform, convert, produce, store offsets once acknowledged. */
class WorkerSourceTask extends WorkerTask<SourceTask> {
  #producer: Producer = this.worker.producer;
  /** Offsets of acknowledged records, not yet stored. */
  #acked = new Map<string, OffsetEntry>();
  #lastFlush = Date.now();
  /** Transforms, then key and value conversion (Kafka's order for sources). */
  #stages: RecordStage<SourceWork>[] = [
    ...transformRecordStages<SourceWork>(this.transforms),
    {
      stage: "KEY_CONVERTER",
      className: this.keyConverterClass,
      run: (w) => {
        w.key = this.keyConverter.fromConnectData(w.record.topic, w.record.keySchema, w.record.key);
        return w;
      },
    },
    {
      stage: "VALUE_CONVERTER",
      className: this.valueConverterClass,
      run: (w) => {
        w.value = this.valueConverter.fromConnectData(
          w.record.topic,
          w.record.valueSchema,
          w.record.value,
        );
        return w;
      },
    },
  ];

  protected async run(): Promise<void> {
    const offsets = this.worker.offsets;
    const connector = this.id.connector;
    this.task.initialize({
      configs: () => this.taskConfig,
      offsetStorageReader: { offset: (partition) => offsets.get(connector, partition) },
    });
    await this.loop(async () => {
      const records = await this.task.poll();
      // Paused while polling: the records wait for the resume.
      await this.waitWhilePaused();
      // Records polled once a stop was asked are not sent: their offsets are not stored, so
      // they are read again after a restart.
      if (this.stopping) return;
      if (records && records.length > 0) await this.#send(records);
      if (Date.now() - this.#lastFlush >= this.flushInterval) await this.#commitOffsets();
    }, async (failed) => {
      if (!failed || this.#acked.size > 0) await this.#commitOffsets().catch(() => {});
    });
  }

  async #send(records: SourceRecord[]): Promise<void> {
    const byTopic = new Map<string, ProducerMessage[]>();
    const offsets: OffsetEntry[] = [];
    for (const record of records) {
      // An empty source partition (standard input) has nothing to resume from.
      if (record.sourcePartition && Object.keys(record.sourcePartition).length > 0) {
        offsets.push({
          connector: this.id.connector,
          partition: record.sourcePartition,
          offset: record.sourceOffset,
        });
      }
      // A record dropped by a transform or skipped after a tolerated failure is not sent; its
      // offset is stored all the same (as Kafka's), so it is not polled again.
      let done = runStages(this.errors, { source: record }, this.#stages, {
        record,
        key: null,
        value: null,
      });
      if (done instanceof Promise) done = await done;
      if (done === null || done === SKIPPED) continue;
      const { record: r, key, value } = done;
      const list = byTopic.get(r.topic) ?? [];
      list.push({
        key,
        value,
        ...(r.kafkaPartition !== undefined && r.kafkaPartition !== null
          ? { partition: r.kafkaPartition }
          : {}),
        ...(r.timestamp !== undefined && r.timestamp !== null ? { timestamp: r.timestamp } : {}),
        ...(r.headers ? { headers: r.headers.map((h) => ({ key: h.key, value: h.value })) } : {}),
      });
      byTopic.set(r.topic, list);
    }
    await Promise.all(
      [...byTopic].map(([topic, messages]) => this.#producer.send({ topic, messages })),
    );
    // Acknowledged: only now may the offsets be stored.
    for (const o of offsets) this.#acked.set(JSON.stringify(o.partition), o);
    await this.task.commit();
  }

  async #commitOffsets(): Promise<void> {
    this.#lastFlush = Date.now();
    if (this.#acked.size === 0) return;
    const entries = [...this.#acked.values()];
    this.#acked.clear();
    await this.worker.offsets.set(entries);
  }

  protected async stopTask(): Promise<void> {
    await this.task.stop();
  }
}

/**
 * The sink consumer's `metadata.max.age.ms` (`consumer.` in the worker config,
 * `consumer.override.` in the connector config), or undefined for the default.
 */
function metadataMaxAge(id: TaskId, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = Number(value);
  if (value.trim() === "" || !Number.isSafeInteger(ms) || ms < 0) {
    throw new RangeError(
      `sink ${id.connector}: invalid consumer metadata.max.age.ms "${value}": expected a ` +
        `non-negative integer`,
    );
  }
  return ms;
}

/** The consumer of a sink task: group `connect-NAME`, `consumer.` and `consumer.override.` props. */
function sinkConsumer(
  worker: Worker,
  id: TaskId,
  config: Record<string, string>,
): GroupConsumer {
  const consumerProps = {
    ...withPrefix(worker.props, "consumer."),
    ...withPrefix(config, "consumer.override."),
  };
  return new GroupConsumer(worker.client, {
    groupId: `connect-${id.connector}`,
    autoCommit: false,
    autoOffsetReset: consumerProps["auto.offset.reset"] === "latest" ? "latest" : "earliest",
    maxWaitMs: 500,
    sessionTimeoutMs: Number(consumerProps["session.timeout.ms"] ?? 45_000),
    heartbeatIntervalMs: Number(consumerProps["heartbeat.interval.ms"] ?? 3_000),
    metadataMaxAgeMs: metadataMaxAge(id, consumerProps["metadata.max.age.ms"]),
  });
}

/** A consumed record on its way: its key and value converted, then transformed. */
interface SinkWork {
  consumed: ConsumerRecord;
  record: SinkRecord;
}

/** The default of the consumer's `metadata.max.age.ms`. */
const METADATA_MAX_AGE_DEFAULT = 300_000;

/** Runs a sink task: consume in group `connect-NAME`, convert, transform, put, flush, commit. */
class WorkerSinkTask extends WorkerTask<SinkTask> {
  #consumer: GroupConsumer = sinkConsumer(this.worker, this.id, this.config);
  /** Next offset per partition, with the leader epoch of the last record consumed (KIP-320). */
  #current = new Map<
    string,
    { topic: string; partition: number; offset: number; leaderEpoch: number }
  >();
  #lastCommit = Date.now();
  #commitRequested = false;
  /** `topics.regex`, or null with `topics`. */
  #pattern: RegExp | null = null;
  /** The topics subscribed to (those matching `topics.regex`, or `topics`). */
  #subscribed: string[] = [];
  /** When (Date.now()) the topics matching `topics.regex` are looked up next. */
  #nextTopicCheck = 0;
  /** Key and value conversion, then the transforms (Kafka's order for sinks). */
  #stages: RecordStage<SinkWork>[] = [
    {
      stage: "KEY_CONVERTER",
      className: this.keyConverterClass,
      run: (w) => {
        const k = this.keyConverter.toConnectData(w.consumed.topic, w.consumed.key);
        w.record.keySchema = k.schema;
        w.record.key = k.value;
        return w;
      },
    },
    {
      stage: "VALUE_CONVERTER",
      className: this.valueConverterClass,
      run: (w) => {
        const v = this.valueConverter.toConnectData(w.consumed.topic, w.consumed.value);
        w.record.valueSchema = v.schema;
        w.record.value = v.value;
        return w;
      },
    },
    ...transformRecordStages<SinkWork>(this.transforms),
  ];

  /** The topics matching `topics.regex` now (internal topics left out, as Java's consumer). */
  async #matchingTopics(): Promise<string[]> {
    const all = await this.worker.client.refreshMetadata();
    return all.filter((t) =>
      !t.internal && (t as { errorCode?: number }).errorCode === 0 && this.#pattern!.test(t.name)
    ).map((t) => t.name).sort();
  }

  /**
   * With `topics.regex`: every `metadata.max.age.ms` (the consumer's), looks up the matching
   * topics and, when they changed, commits what was put and subscribes to the new list (the
   * member rejoins, so the topics created since are assigned).
   */
  async #refreshTopics(): Promise<void> {
    if (!this.#pattern || Date.now() < this.#nextTopicCheck) return;
    const consumerProps = {
      ...withPrefix(this.worker.props, "consumer."),
      ...withPrefix(this.config, "consumer.override."),
    };
    this.#nextTopicCheck = Date.now() +
      (metadataMaxAge(this.id, consumerProps["metadata.max.age.ms"]) ?? METADATA_MAX_AGE_DEFAULT);
    let topics: string[];
    try {
      topics = await this.#matchingTopics();
    } catch (e) {
      this.worker.log("warn", `sink ${this.id.connector}: topics.regex lookup: ${message(e)}`);
      return;
    }
    if (topics.length === 0 || topics.join("\u0000") === this.#subscribed.join("\u0000")) return;
    if (this.#subscribed.length > 0) await this.#commit();
    this.worker.log(
      "info",
      `sink ${this.id.connector}: topics matching topics.regex: ${topics.join(", ")}`,
    );
    this.#subscribed = topics;
    this.#consumer.subscribe(topics);
  }

  protected async run(): Promise<void> {
    const regex = this.config["topics.regex"]?.trim() ?? "";
    const dlqTopic = this.config["errors.deadletterqueue.topic.name"]?.trim() ?? "";
    if (dlqTopic !== "") {
      this.errors.addReporter(
        await DeadLetterQueueReporter.create(
          this.worker.client,
          Number(this.config["errors.deadletterqueue.topic.replication.factor"] ?? 3),
          {
            producer: this.worker.producer,
            topic: dlqTopic,
            contextHeaders:
              (this.config["errors.deadletterqueue.context.headers.enable"] ?? "").trim()
                .toLowerCase() === "true",
            taskId: this.id,
            metrics: this.errors.metrics,
          },
        ),
      );
    }
    if (regex !== "") {
      this.#pattern = topicsPattern(regex);
      await this.#refreshTopics();
    } else {
      const topics = (this.config.topics ?? "").split(",").map((t) => t.trim()).filter((t) => t);
      // Like the Java consumer's allow.auto.create.topics: a sink may start before its topics
      // exist. Partitions that appear later (a topic created or grown) are assigned too: the
      // consumer looks its topics up every metadata.max.age.ms and rejoins when a count changes.
      for (const t of topics) {
        await this.worker.client.topic(t, { allowAutoTopicCreation: true }).catch((e) =>
          this.worker.log("warn", `sink ${this.id.connector}: topic ${t}: ${message(e)}`)
        );
      }
      this.#subscribed = topics;
      this.#consumer.subscribe(topics);
    }
    this.task.initialize({
      configs: () => this.taskConfig,
      assignment: (): TopicPartition[] =>
        this.#consumer.assignment().map(({ topic, partition }) => ({ topic, partition })),
      requestCommit: () => (this.#commitRequested = true),
    });
    await this.loop(async () => {
      this.pollAbort = new AbortController();
      await this.#refreshTopics();
      if (this.#subscribed.length === 0) {
        // topics.regex matches nothing yet: wait for the next look-up (or the stop).
        await new Promise<void>((resolve) => {
          const signal = AbortSignal.any([this.abort.signal, this.pollAbort.signal]);
          const t = setTimeout(done, Math.max(0, Math.min(500, this.#nextTopicCheck - Date.now())));
          function done() {
            clearTimeout(t);
            signal.removeEventListener("abort", done);
            resolve();
          }
          signal.addEventListener("abort", done, { once: true });
        });
        return;
      }
      const consumed = await this.#consumer.poll({
        maxWaitMs: 500,
        signal: AbortSignal.any([this.abort.signal, this.pollAbort.signal]),
      });
      if (this.paused || this.stopping) {
        // Paused (or stopping) while the poll ran: hand nothing over, read it again later.
        const first = new Map<string, { topic: string; partition: number; offset: number }>();
        for (const c of consumed) {
          const k = `${c.topic}-${c.partition}`;
          if (!first.has(k)) {
            first.set(k, { topic: c.topic, partition: c.partition, offset: c.offset });
          }
        }
        for (const f of first.values()) await this.#consumer.seek(f.topic, f.partition, f.offset);
        return;
      }
      const records: SinkRecord[] = [];
      for (const c of consumed) {
        const work: SinkWork = {
          consumed: c,
          record: {
            topic: c.topic,
            kafkaPartition: c.partition,
            kafkaOffset: c.offset,
            timestamp: c.timestamp,
            keySchema: null,
            key: null,
            valueSchema: null,
            value: null,
            headers: c.headers.map((h) => ({ key: h.key, value: h.value })),
          },
        };
        // A record a transform dropped, or skipped after a tolerated failure, is not put; its
        // offset is committed with the others (it is not delivered again).
        let done = runStages(this.errors, { consumed: c }, this.#stages, work);
        if (done instanceof Promise) done = await done;
        if (done !== null && done !== SKIPPED) records.push(done.record);
      }
      // The failed records are in the dead-letter queue before their offsets can be committed.
      await this.errors.flush();
      if (records.length > 0) await this.task.put(records);
      for (const c of consumed) {
        this.#current.set(`${c.topic}-${c.partition}`, {
          topic: c.topic,
          partition: c.partition,
          offset: c.offset + 1,
          leaderEpoch: c.leaderEpoch,
        });
      }
      if (this.#commitRequested || Date.now() - this.#lastCommit >= this.flushInterval) {
        await this.#commit();
      }
    }, async (failed) => {
      if (!failed) await this.#commit().catch((e) => this.worker.log("warn", message(e)));
      await this.#consumer.close().catch(() => {});
    });
  }

  async #commit(): Promise<void> {
    this.#commitRequested = false;
    this.#lastCommit = Date.now();
    if (this.#current.size === 0) return;
    const offsets = new Map([...this.#current].map(([k, v]) => [k, v.offset]));
    await this.task.flush(offsets);
    const list = [...this.#current.values()];
    this.#current.clear();
    try {
      await this.#consumer.commit(list);
    } catch (e) {
      // A rebalance took partitions away: their records are delivered again (at least once).
      this.worker.log("warn", `sink ${this.id.connector}: offset commit failed: ${message(e)}`);
    }
  }

  protected async stopTask(): Promise<void> {
    await this.done;
    await this.task.stop();
  }
}

/**
 * Runs connectors and tasks; the herder decides which.
 *
 * @example
 * ```ts ignore
 * import { Client } from "../client/mod.ts";
 * import { FileOffsetStore, Worker } from "./mod.ts";
 * const client = new Client({ bootstrapServers: "localhost:9092" });
 * const worker = new Worker({
 *   client, props: {}, offsets: new FileOffsetStore("/tmp/offsets"), workerId: "w1",
 *   onStatus: (what, s) => console.log(what, s.state),
 * });
 * ```
 */
export class Worker {
  /** The cluster client. */
  readonly client: Client;
  /** Worker properties. */
  readonly props: Record<string, string>;
  /** The offset store. */
  readonly offsets: OffsetStore;
  /** This worker's id. */
  readonly workerId: string;
  /** The producer shared by source tasks. */
  readonly producer: Producer;
  #onStatus: StatusListener;
  #log: Log;
  #connectors = new Map<string, WorkerConnector>();
  #tasks = new Map<string, WorkerTask<SourceTask | SinkTask>>();

  /**
   * Creates a worker.
   *
   * @param options Client, properties, offset store, id, status listener.
   */
  constructor(options: WorkerOptions) {
    this.client = options.client;
    this.props = options.props;
    this.offsets = options.offsets;
    this.workerId = options.workerId;
    this.#onStatus = options.onStatus;
    this.#log = options.log ?? (() => {});
    const producerProps = withPrefix(options.props, "producer.");
    this.producer = new Producer(options.client, {
      lingerMs: Number(producerProps["linger.ms"] ?? 5),
    });
  }

  /**
   * Logs a line.
   *
   * @param level Level.
   * @param text Message.
   */
  log(level: "debug" | "info" | "warn" | "error", text: string): void {
    this.#log(level, text);
  }

  /**
   * Reports a status change.
   *
   * @param what Connector, and task number for a task.
   * @param state New state.
   * @param trace Why it failed.
   */
  reportStatus(what: { connector: string; task?: number }, state: State, trace?: string): void {
    this.#onStatus(what, {
      state,
      worker_id: this.workerId,
      ...(trace !== undefined ? { trace } : {}),
    });
  }

  /** Names of the connectors running here. */
  connectorNames(): string[] {
    return [...this.#connectors.keys()];
  }

  /** Ids of the tasks running here. */
  taskIds(): TaskId[] {
    return [...this.#tasks.values()].map((t) => t.id);
  }

  /**
   * Starts a connector instance.
   *
   * @param name Connector name.
   * @param config Its configuration.
   * @param target Started or paused.
   * @param onReconfigure Called when the connector asks for new task configurations.
   * @returns Whether it started (a failure is reported as FAILED status).
   */
  async startConnector(
    name: string,
    config: Record<string, string>,
    target: TargetState,
    onReconfigure: () => void,
  ): Promise<boolean> {
    if (this.#connectors.has(name)) return true;
    try {
      const plugin = validateConnectorConfig(config);
      const connector = new plugin.cls();
      const wc = new WorkerConnector(connector);
      wc.reconfigure = onReconfigure;
      connector.initialize({
        requestTaskReconfiguration: () => wc.reconfigure(),
        raiseError: (e) => this.reportStatus({ connector: name }, "FAILED", errorTrace(e)),
      });
      await connector.start(config);
      this.#connectors.set(name, wc);
      this.reportStatus({ connector: name }, target === "PAUSED" ? "PAUSED" : "RUNNING");
      this.#log("info", `connector ${name} started`);
      return true;
    } catch (e) {
      this.#log("error", `connector ${name} failed to start: ${message(e)}`);
      this.reportStatus({ connector: name }, "FAILED", errorTrace(e));
      return false;
    }
  }

  /**
   * The task configurations of a running connector, with `task.class` as Kafka adds it.
   *
   * @param name Connector name.
   * @param config Its configuration (for `tasks.max`).
   * @returns One configuration per task.
   * @throws {Error} When the connector is not running here.
   */
  connectorTaskConfigs(name: string, config: Record<string, string>): Record<string, string>[] {
    const wc = this.#connectors.get(name);
    if (!wc) throw new Error(`connector ${name}: not running on this worker`);
    const max = Number(config["tasks.max"] ?? 1);
    const c = wc.connector as SourceConnector | SinkConnector;
    const taskClass = c.taskClass().name;
    return c.taskConfigs(max).slice(0, max).map((t) => ({ ...t, "task.class": taskClass }));
  }

  /**
   * Pauses or resumes a connector running here (its tasks are told separately).
   *
   * @param name Connector name.
   * @param target The new target state.
   */
  setConnectorTarget(name: string, target: TargetState): void {
    if (this.#connectors.has(name)) {
      this.reportStatus({ connector: name }, target === "PAUSED" ? "PAUSED" : "RUNNING");
    }
  }

  /**
   * Stops a connector instance.
   *
   * @param name Connector name.
   */
  async stopConnector(name: string): Promise<void> {
    const wc = this.#connectors.get(name);
    if (!wc) return;
    this.#connectors.delete(name);
    try {
      await wc.connector.stop();
    } catch (e) {
      this.#log("warn", `connector ${name}: stop failed: ${message(e)}`);
    }
  }

  /**
   * Starts a task.
   *
   * @param id Task id.
   * @param config Its connector's configuration.
   * @param taskConfig The task's configuration.
   * @param target Started or paused.
   */
  async startTask(
    id: TaskId,
    config: Record<string, string>,
    taskConfig: Record<string, string>,
    target: TargetState,
  ): Promise<void> {
    const key = `${id.connector}-${id.task}`;
    if (this.#tasks.has(key)) return;
    try {
      const plugin = validateConnectorConfig(config);
      const connector = new plugin.cls() as SourceConnector | SinkConnector;
      const task = new (connector.taskClass())();
      await this.offsets.refresh();
      const wt = connector instanceof SourceConnector
        ? new WorkerSourceTask(this, id, config, taskConfig, target, task as SourceTask)
        : new WorkerSinkTask(this, id, config, taskConfig, target, task as SinkTask);
      this.#tasks.set(key, wt);
      wt.start();
    } catch (e) {
      this.#log("error", `task ${key} failed to start: ${message(e)}`);
      this.reportStatus({ connector: id.connector, task: id.task }, "FAILED", errorTrace(e));
    }
  }

  /**
   * The error-handling counters of a task running here (Kafka's task-error-metrics: failures,
   * records skipped, retries, dead-letter queue writes).
   *
   * @param id Task id.
   * @returns A snapshot of the counters, or `undefined` when the task is not running here.
   */
  taskErrorMetrics(id: TaskId): ErrorHandlingMetrics | undefined {
    const t = this.#tasks.get(`${id.connector}-${id.task}`);
    return t ? { ...t.errors.metrics } : undefined;
  }

  /**
   * Pauses or resumes a task running here.
   *
   * @param id Task id.
   * @param target The new target state.
   */
  setTaskTarget(id: TaskId, target: TargetState): void {
    this.#tasks.get(`${id.connector}-${id.task}`)?.setTarget(target);
  }

  /**
   * Stops a task (storing its offsets or committing its consumed offsets).
   *
   * @param id Task id.
   */
  async stopTask(id: TaskId): Promise<void> {
    const key = `${id.connector}-${id.task}`;
    const t = this.#tasks.get(key);
    if (!t) return;
    this.#tasks.delete(key);
    try {
      await t.stop();
    } catch (e) {
      this.#log("warn", `task ${key}: stop failed: ${message(e)}`);
    }
  }

  /** Stops everything and closes the producer. */
  async stop(): Promise<void> {
    await Promise.all([...this.#tasks.values()].map((t) => this.stopTask(t.id)));
    await Promise.all([...this.#connectors.keys()].map((n) => this.stopConnector(n)));
    await this.producer.close().catch(() => {});
  }
}
