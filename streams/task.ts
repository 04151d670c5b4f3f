// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * A task: one input partition of a sub-topology, with its processors and stores. Internal to
 * `streams/` (the runtime and the test driver make them).
 *
 * @module
 */

import type { ConsumerRecord } from "../client/consumer.ts";
import type { ProducerMessage } from "../client/producer.ts";
import type { RecordHeader } from "../client/records.ts";
import type { Forward, GraphBuilder, NodeDef, Rec, Subtopology, TaskContext } from "./graph.ts";
import type { Serde } from "./serdes.ts";
import { PartitionGroup } from "./partition_group.ts";
import { BytesStore } from "./stores.ts";
import {
  failOnInvalidTimestamp,
  type TimestampExtractor,
  TimestampExtractors,
} from "./timestamp_extractor.ts";

/** The serdes a task falls back on. */
export interface DefaultSerdes {
  /** Key serde where none was given. */
  defaultKeySerde?: Serde<unknown>;
  /** Value serde where none was given. */
  defaultValueSerde?: Serde<unknown>;
}

const noop: Forward = () => {};

/** A scheduled punctuator (Kafka's `PunctuationSchedule`). */
interface Schedule {
  type: "STREAM_TIME" | "WALL_CLOCK_TIME";
  intervalMs: number;
  /** When it fires next. */
  next: number;
  callback: (timestamp: number) => void;
  cancelled: boolean;
  /** Order of scheduling: ties fire in it. */
  seq: number;
}

/** A source: its deserializer and its processing function. */
interface Source {
  node: string;
  deserialize: (rec: Rec) => Rec;
  process: (rec: Rec) => void;
  /**
   * Its timestamp extractor, given the fetched record, its deserialized form and the partition
   * time; `undefined` for the default (`FailOnInvalidTimestamp`, checked inline).
   */
  extract: ((r: ConsumerRecord, rec: Rec, partitionTime: number) => number) | undefined;
}

/**
 * A record buffered by a task of several topics whose source has a timestamp extractor: its
 * time is extracted as it is buffered (as Kafka's `RecordQueue` does when a record becomes the
 * head of its queue), so the partition group orders by it. `timestamp` is the extracted time,
 * `-Infinity` for a record to skip or fail at once.
 */
interface Extracted extends ConsumerRecord {
  /** The fetched record. */
  original: ConsumerRecord;
  /** Deserialized, with the extracted time. */
  rec?: Rec;
  /** Did not deserialize: the error, for the deserialization exception handler. */
  deserializationError?: unknown;
  /** The extractor threw: the error, thrown when the record's turn comes. */
  extractError?: unknown;
  /** A negative extracted time: skipped. */
  skipped?: number;
}

const identity = (rec: Rec) => rec;

/** One task: a sub-topology's processors and stores for one input partition. */
export class Task implements TaskContext {
  readonly taskId: string;
  readonly partition: number;
  readonly sub: Subtopology;
  streamTime = -1;
  readonly stores = new Map<string, BytesStore>();
  /** Sources by full topic name. */
  readonly sources = new Map<string, Source>();
  /**
   * Next offset per input topic, to commit, with the leader epoch of the last record processed
   * (its batch's, -1 unknown: committed as `committed_leader_epoch`, KIP-320).
   */
  readonly offsets = new Map<string, { offset: number; leaderEpoch: number }>();
  /** A processor asked for a commit ({@linkcode Task.requestCommit}). */
  commitRequested = false;
  /**
   * The queues of a task that reads more than one topic, processed in timestamp order
   * ({@linkcode Task.processReady}); `undefined` for a task of one topic, whose records are
   * processed as fetched ({@linkcode Task.processRun}).
   */
  readonly group: PartitionGroup | undefined;
  /** The input record being processed; `undefined` between records and in punctuators. */
  currentRecord: ConsumerRecord | undefined;
  #runtime: Runtime;
  #schedules: Schedule[] = [];
  #seq = 0;
  /** The earliest `next` of the stream-time schedules (`Infinity` when none). */
  #nextStreamPunctuation = Infinity;
  #closers: Array<() => void> = [];
  #closed = false;
  /** Partition time per topic of a task of several topics with an extractor (the largest
   * time extracted from its records); made at the first record buffered. */
  #partitionTimes: Map<string, number> | undefined;

  constructor(runtime: Runtime, sub: Subtopology, partition: number) {
    this.#runtime = runtime;
    this.sub = sub;
    this.partition = partition;
    this.taskId = `${sub.id}_${partition}`;
    this.group = sub.sourceTopics.length > 1
      ? new PartitionGroup(
        sub.sourceTopics.map((t) => runtime.topicName(t)),
        runtime.maxTaskIdleMs,
        runtime.bufferedRecordsPerPartition,
      )
      : undefined;
    for (const name of sub.stores) {
      const def = runtime.graph.stores.get(name)!;
      const dir = def.persistent && runtime.stateDir !== undefined
        ? `${runtime.stateDir}/${runtime.applicationId}/${this.taskId}/${name}`
        : undefined;
      this.stores.set(name, new BytesStore(name, def.kind, dir, def.retentionMs));
    }
  }

  get applicationId(): string {
    return this.#runtime.applicationId;
  }

  /**
   * Moves the task's stream time forward (committed with the offsets). Windowed and session
   * aggregations close windows by the time they have seen themselves, and join stores expire
   * by their own time, as Kafka's processors and segmented stores do.
   */
  advanceStreamTime(time: number): void {
    if (time > this.streamTime) this.streamTime = time;
  }

  /** Builds the processors (children before parents, so each gets its children's functions);
   * a processor's `init` runs here, after the stores are restored. */
  init(): void {
    const procs = new Map<NodeDef, (rec: Rec) => void>();
    const nodes = [...this.sub.nodes].sort((a, b) => b.id - a.id);
    for (const node of nodes) {
      const outs = node.children.map((c) => procs.get(c)!);
      const forward: Forward = outs.length === 0 ? noop : outs.length === 1 ? outs[0] : (rec) => {
        for (const o of outs) o(rec);
      };
      const proc = node.create(this, forward, outs);
      procs.set(node, proc);
      const deserialize = node.deserialize?.(this) ?? identity;
      const extract = this.#extractor(node);
      for (const t of node.topics) {
        this.sources.set(this.topicName(t), {
          node: node.name,
          deserialize,
          process: proc,
          extract,
        });
      }
    }
  }

  /** A source's timestamp extraction: `undefined` for the default (checked inline). */
  #extractor(node: NodeDef): Source["extract"] {
    if (node.topics.length === 0) return undefined;
    // Repartition topics are read with FailOnInvalidTimestamp whatever the default, as Kafka's
    // repartition nodes do: their records carry the time extracted upstream.
    const graph = this.#runtime.graph;
    const internal = node.topics.every((t) => graph.internalTopics.has(t));
    const fn: TimestampExtractor | undefined = node.timestampExtractor ??
      (internal ? undefined : this.#runtime.defaultTimestampExtractor);
    if (fn === undefined || fn === TimestampExtractors.FailOnInvalidTimestamp) return undefined;
    const typed = node.typed?.(this);
    return (r, rec, partitionTime) => {
      const kv = typed === undefined ? rec : typed(rec);
      const ts = fn({
        topic: r.topic,
        partition: r.partition,
        offset: r.offset,
        timestamp: r.timestamp,
        key: kv.key,
        value: kv.value,
        headers: r.headers,
      }, partitionTime);
      if (!Number.isSafeInteger(ts)) {
        throw new TypeError(
          `source ${node.name}: the timestamp extractor returned ${ts} for ` +
            `${r.topic}-${r.partition}@${r.offset} (an integer number of ms)`,
        );
      }
      return ts;
    };
  }

  /** A record whose extracted time is negative: skipped (Kafka's `RecordQueue`). */
  #skipInvalid(r: ConsumerRecord, ts: number): void {
    this.#runtime.warn(
      `task ${this.taskId}: skipping record due to negative extracted timestamp: ` +
        `${r.topic}-${r.partition}@${r.offset}, extracted timestamp ${ts}`,
    );
    this.#runtime.dropped++;
  }

  /**
   * Buffers `records[from, to)` (one topic, this task's partition) in the partition group of
   * a task of several topics; a source with a timestamp extractor has their times extracted
   * now, with the partition's time, so the group orders them by it.
   *
   * @returns Whether the partition is to be paused ({@linkcode PartitionGroup.add}).
   */
  buffer(records: ConsumerRecord[], from: number, to: number): boolean {
    const group = this.group!;
    const topic = records[from].topic;
    const source = this.sources.get(topic);
    const extract = source?.extract;
    if (extract === undefined) return group.add(records, from, to);
    if (this.#partitionTimes === undefined) {
      this.#partitionTimes = new Map();
      for (const t of this.sub.sourceTopics) {
        this.#partitionTimes.set(this.topicName(t), this.streamTime);
      }
    }
    let partitionTime = this.#partitionTimes.get(topic) ?? -1;
    const out: Extracted[] = [];
    for (let i = from; i < to; i++) {
      const r = records[i];
      const x: Extracted = { ...r, original: r, timestamp: -Infinity };
      out.push(x);
      let rec: Rec;
      try {
        rec = source!.deserialize(r);
      } catch (e) {
        x.deserializationError = e;
        continue;
      }
      let ts: number;
      try {
        ts = extract(r, rec, partitionTime);
      } catch (e) {
        x.extractError = e;
        continue;
      }
      if (ts < 0) {
        x.skipped = ts;
        continue;
      }
      x.timestamp = ts;
      x.rec = ts === rec.timestamp ? rec : { ...rec, timestamp: ts };
      if (ts > partitionTime) partitionTime = ts;
    }
    this.#partitionTimes.set(topic, partitionTime);
    return group.add(out, 0, out.length);
  }

  /** Forgets the partition times of buffered records (the buffers were cleared: they are
   * fetched again from the committed offsets, and start again from the task's stream time). */
  clearBuffered(): void {
    this.group?.clear();
    this.#partitionTimes = undefined;
  }

  /**
   * Processes one record of this task's partition.
   *
   * @param r The record.
   */
  process(r: ConsumerRecord): void {
    this.processRun([r], 0, 1);
  }

  /**
   * Processes `records[from, to)`, all of one topic and this task's partition, in order. A
   * record that does not deserialize goes to the deserialization exception handler (skipped,
   * or the error is thrown); after each record, stream-time punctuators that are due fire.
   *
   * @param records Fetched records.
   * @param from First index.
   * @param to One past the last index.
   */
  processRun(records: ConsumerRecord[], from: number, to: number): void {
    const topic = records[from].topic;
    const source = this.sources.get(topic)!;
    if (source.extract !== undefined) return this.#processRunExtracting(records, from, to, source);
    const { deserialize, process } = source;
    let time = this.streamTime;
    try {
      for (let i = from; i < to; i++) {
        const r = records[i];
        this.currentRecord = r;
        let rec: Rec;
        try {
          rec = deserialize(r);
        } catch (e) {
          // Throws unless the handler says to continue; a skipped record moves no time.
          this.#runtime.deserializationFailed(this, source.node, r, e);
          continue;
        }
        // The default extractor (FailOnInvalidTimestamp) checks second: an in-order record
        // costs the one comparison it did before extractors.
        const ts = r.timestamp;
        if (ts > time) this.advanceStreamTime(time = ts);
        else if (ts < 0) failOnInvalidTimestamp(r);
        process(rec);
        if (this.#nextStreamPunctuation <= time) {
          this.currentRecord = undefined;
          this.#punctuate("STREAM_TIME", time);
        }
      }
    } finally {
      this.currentRecord = undefined;
    }
    // Skipped records are committed past too (Kafka commits the consumer's position).
    const last = records[to - 1];
    this.offsets.set(topic, { offset: last.offset + 1, leaderEpoch: last.leaderEpoch });
  }

  /** {@linkcode Task.processRun} for a source with a timestamp extractor (kept apart so the
   * default's loop stays as it was). */
  #processRunExtracting(
    records: ConsumerRecord[],
    from: number,
    to: number,
    source: Source,
  ): void {
    const { deserialize, process } = source;
    const extract = source.extract!;
    let time = this.streamTime;
    try {
      for (let i = from; i < to; i++) {
        const r = records[i];
        this.currentRecord = r;
        let rec: Rec;
        try {
          rec = deserialize(r);
        } catch (e) {
          this.#runtime.deserializationFailed(this, source.node, r, e);
          continue;
        }
        // One topic, one partition: its partition time is the task's stream time.
        const ts = extract(r, rec, time);
        if (ts < 0) {
          this.#skipInvalid(r, ts);
          continue;
        }
        if (ts !== rec.timestamp) rec = { ...rec, timestamp: ts };
        if (ts > time) this.advanceStreamTime(time = ts);
        process(rec);
        if (this.#nextStreamPunctuation <= time) {
          this.currentRecord = undefined;
          this.#punctuate("STREAM_TIME", time);
        }
      }
    } finally {
      this.currentRecord = undefined;
    }
    const last = records[to - 1];
    this.offsets.set(records[from].topic, {
      offset: last.offset + 1,
      leaderEpoch: last.leaderEpoch,
    });
  }

  /**
   * Processes buffered records, the lowest timestamp first, while the partition group is ready
   * at `now` (Kafka's `StreamTask.process` with `isProcessable`), at most `max` of them.
   *
   * @param now Wall-clock time.
   * @param max Most records to process.
   * @returns How many were processed.
   */
  processReady(now: number, max: number): number {
    const group = this.group!;
    let n = 0;
    // The last record of each topic processed (its offset is committed once the loop is done:
    // a record that throws leaves the offsets where they were, as in processRun).
    let lastTopic: string | undefined;
    let lastOffset = 0;
    let lastEpoch = -1;
    try {
      while (n < max && group.buffered > 0 && group.readyToProcess(now)) {
        const r = group.next()!;
        n++;
        if (r.topic !== lastTopic) {
          if (lastTopic !== undefined) {
            this.offsets.set(lastTopic, { offset: lastOffset, leaderEpoch: lastEpoch });
          }
          lastTopic = r.topic;
        }
        const source = this.sources.get(r.topic)!;
        this.currentRecord = r;
        let rec: Rec;
        if (source.extract === undefined) {
          try {
            rec = source.deserialize(r);
          } catch (e) {
            // Throws unless the handler says to continue; a skipped record is committed past
            // (Kafka commits the consumer's position) and moves no time.
            this.#runtime.deserializationFailed(this, source.node, r, e);
            lastOffset = r.offset + 1;
            lastEpoch = r.leaderEpoch;
            continue;
          }
          if (r.timestamp < 0) failOnInvalidTimestamp(r);
        } else {
          // Deserialized and its time extracted when buffered (Task.buffer).
          const x = r as Extracted;
          this.currentRecord = x.original;
          if (x.rec === undefined) {
            if (x.extractError !== undefined) throw x.extractError;
            if (x.skipped !== undefined) this.#skipInvalid(x.original, x.skipped);
            else {
              this.#runtime.deserializationFailed(
                this,
                source.node,
                x.original,
                x.deserializationError,
              );
            }
            lastOffset = r.offset + 1;
            lastEpoch = r.leaderEpoch;
            continue;
          }
          rec = x.rec;
        }
        const time = r.timestamp > this.streamTime ? r.timestamp : this.streamTime;
        this.streamTime = time;
        source.process(rec);
        lastOffset = r.offset + 1;
        lastEpoch = r.leaderEpoch;
        if (this.#nextStreamPunctuation <= time) {
          this.currentRecord = undefined;
          this.#punctuate("STREAM_TIME", time);
        }
      }
      if (lastTopic !== undefined) {
        this.offsets.set(lastTopic, { offset: lastOffset, leaderEpoch: lastEpoch });
      }
    } finally {
      this.currentRecord = undefined;
    }
    return n;
  }

  schedule(
    intervalMs: number,
    type: "STREAM_TIME" | "WALL_CLOCK_TIME",
    callback: (timestamp: number) => void,
  ): { cancel(): void } {
    if (!Number.isSafeInteger(intervalMs) || intervalMs < 1) {
      throw new RangeError(`task ${this.taskId}: punctuation interval ${intervalMs} ms (>= 1)`);
    }
    if (type !== "STREAM_TIME" && type !== "WALL_CLOCK_TIME") {
      throw new RangeError(`task ${this.taskId}: unknown punctuation type ${type}`);
    }
    if (typeof callback !== "function") {
      throw new TypeError(`task ${this.taskId}: the punctuator is not a function`);
    }
    // As Kafka's StreamTask: stream time aligned to 0 (fires at the first record), wall-clock
    // time one interval from now.
    const s: Schedule = {
      type,
      intervalMs,
      next: type === "STREAM_TIME" ? 0 : this.wallClockTime() + intervalMs,
      callback,
      cancelled: false,
      seq: this.#seq++,
    };
    this.#schedules.push(s);
    if (type === "STREAM_TIME" && s.next < this.#nextStreamPunctuation) {
      this.#nextStreamPunctuation = s.next;
    }
    return {
      cancel: () => {
        if (s.cancelled) return;
        s.cancelled = true;
        this.#schedules = this.#schedules.filter((x) => x !== s);
        this.#recomputeNext();
      },
    };
  }

  #recomputeNext(): void {
    let next = Infinity;
    for (const s of this.#schedules) {
      if (s.type === "STREAM_TIME" && s.next < next) next = s.next;
    }
    this.#nextStreamPunctuation = next;
  }

  /**
   * Fires every punctuator of `type` due at `now`, each once, in order of due time (Kafka's
   * `PunctuationQueue.maybePunctuate`): missed intervals are not made up; the next is the
   * first interval boundary after `now` (`PunctuationSchedule.next`).
   *
   * @returns Whether any fired.
   */
  #punctuate(type: "STREAM_TIME" | "WALL_CLOCK_TIME", now: number): boolean {
    const due = this.#schedules.filter((s) => s.type === type && s.next <= now)
      .sort((a, b) => a.next - b.next || a.seq - b.seq);
    let fired = false;
    for (const s of due) {
      if (s.cancelled) continue;
      fired = true;
      this.#runtime.punctuated();
      s.callback(now);
      if (s.cancelled) continue;
      let next = s.next + s.intervalMs;
      if (now >= next) {
        next = s.next + (Math.floor((now - s.next) / s.intervalMs) + 1) * s.intervalMs;
      }
      s.next = next;
    }
    this.#recomputeNext();
    return fired;
  }

  /**
   * Fires the wall-clock punctuators due at `now`.
   *
   * @param now The wall-clock time.
   * @returns Whether any fired (the task then has work to commit).
   */
  punctuateWallClock(now: number): boolean {
    return this.#punctuate("WALL_CLOCK_TIME", now);
  }

  /** When the next wall-clock punctuator is due (`Infinity` when none). */
  get nextWallClockPunctuation(): number {
    let next = Infinity;
    for (const s of this.#schedules) {
      if (s.type === "WALL_CLOCK_TIME" && s.next < next) next = s.next;
    }
    return next;
  }

  requestCommit(): void {
    this.commitRequested = true;
  }

  wallClockTime(): number {
    return this.#runtime.now();
  }

  onClose(fn: () => void): void {
    this.#closers.push(fn);
  }

  /**
   * Closes the task: its processors' `close` (an error is reported as a warning: the stores
   * still close), then its stores. Idempotent.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#schedules = [];
    this.#nextStreamPunctuation = Infinity;
    for (const fn of this.#closers) {
      try {
        fn();
      } catch (e) {
        this.#runtime.warn(`task ${this.taskId}: a processor's close failed: ${e}`);
      }
    }
    for (const store of this.stores.values()) store.close();
  }

  store(name: string): BytesStore {
    const s = this.stores.get(name);
    if (s === undefined) {
      throw new Error(`task ${this.taskId}: store ${name} is not connected to this sub-topology`);
    }
    return s;
  }

  send(
    topic: string,
    key: Uint8Array | string | null,
    value: Uint8Array | string | null,
    timestamp: number,
    headers: RecordHeader[],
    partition?: number,
  ): void {
    this.#runtime.send(
      topic,
      partition === undefined
        ? { key, value, timestamp, headers }
        : { key, value, timestamp, headers, partition },
    );
  }

  keySerde<T>(serde: Serde<T> | undefined, what: string): Serde<T> {
    const s = serde ?? this.#runtime.config.defaultKeySerde;
    if (s === undefined) {
      throw new Error(`streams: ${what}: no key serde (give one, or set defaultKeySerde)`);
    }
    return s as Serde<T>;
  }

  valueSerde<T>(serde: Serde<T> | undefined, what: string): Serde<T> {
    const s = serde ?? this.#runtime.config.defaultValueSerde;
    if (s === undefined) {
      throw new Error(`streams: ${what}: no value serde (give one, or set defaultValueSerde)`);
    }
    return s as Serde<T>;
  }

  topicName(topic: string): string {
    return this.#runtime.topicName(topic);
  }

  dropRecord(_reason: string): void {
    this.#runtime.dropped++;
  }
}

/** What tasks need of the runtime. */
export interface Runtime {
  readonly graph: GraphBuilder;
  readonly config: DefaultSerdes;
  readonly applicationId: string;
  /** Where persistent stores live; `undefined` keeps every store in memory. */
  readonly stateDir: string | undefined;
  /** `max.task.idle.ms` of tasks that read more than one partition. */
  readonly maxTaskIdleMs: number;
  /** `buffered.records.per.partition` of tasks that read more than one partition (`Infinity`:
   * no bound). */
  readonly bufferedRecordsPerPartition: number;
  dropped: number;
  send(topic: string, message: ProducerMessage): void;
  topicName(topic: string): string;
  /** The wall-clock time (a mock clock in the test driver). */
  now(): number;
  /** Logs a warning. */
  warn(message: string): void;
  /**
   * A record did not deserialize: returns to skip it (the handler said to continue, counted),
   * or throws (the handler said to fail).
   */
  deserializationFailed(task: Task, node: string, record: ConsumerRecord, error: unknown): void;
  /** A punctuator is about to run (counted; its task needs a commit). */
  punctuated(): void;
  /** `default.timestamp.extractor`; `undefined`: `FailOnInvalidTimestamp`. */
  readonly defaultTimestampExtractor: TimestampExtractor | undefined;
}
