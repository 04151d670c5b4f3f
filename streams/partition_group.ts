// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * Timestamp synchronisation of a task's input partitions (Kafka's `PartitionGroup`, KIP-353
 * and KIP-695). Internal to `streams/`: a task that reads more than one partition buffers each
 * one's fetched records in a queue, and processes next the head with the lowest timestamp; it
 * waits while a partition has nothing buffered but records on the broker, and up to
 * `maxTaskIdleMs` for one that is caught up.
 *
 * @module
 */

import type { ConsumerRecord } from "../client/consumer.ts";

/** One partition's buffered records (Kafka's `RecordQueue`). */
interface RecordQueue {
  readonly topic: string;
  /** The run being taken from (`records[head]` is the queue's head). */
  records: ConsumerRecord[];
  head: number;
  /** Runs buffered behind it, each an array of its own size, in offset order, from
   * `more[moreHead]` on. */
  more: ConsumerRecord[][];
  moreHead: number;
  /** Records buffered (all runs, less those taken). */
  size: number;
  /** Records on the broker past what was fetched (`undefined`: not known yet). */
  lag: number | undefined;
  /** When an empty, caught-up partition stops being waited for (`undefined`: not idling). */
  idleDeadline: number | undefined;
  /** More than `maxBuffered` records were buffered: the partition is paused in the consumer
   * until they drop back to `maxBuffered`. */
  paused: boolean;
}

/** What a queue's slot of a run already taken holds. */
const NO_RECORDS: ConsumerRecord[] = [];

/** `max.task.idle.ms = -1`: never wait, process whatever is buffered. */
export const MAX_TASK_IDLE_MS_DISABLED = -1;

/** The per-partition queues of a task and the choice of the next record to process. */
export class PartitionGroup {
  readonly #queues: RecordQueue[];
  readonly #byTopic = new Map<string, RecordQueue>();
  readonly #maxTaskIdleMs: number;
  readonly #maxBuffered: number;
  /** Topics whose partitions drained back to `maxBuffered` since the last
   * {@linkcode PartitionGroup.takeResumed}. */
  #resumed: string[] = [];
  #buffered = 0;
  /** Queues with records (all of them: ready at once, Kafka's `allBuffered`). */
  #nonEmpty = 0;
  /** Times `readyToProcess` went ahead with some partition empty (Kafka's enforced
   * processing). */
  enforced = 0;

  /**
   * @param topics The task's input topics (one partition each).
   * @param maxTaskIdleMs `max.task.idle.ms`: -1, or how long to wait for a caught-up empty
   *   partition.
   * @param maxBuffered `buffered.records.per.partition`: a queue holding more asks for its
   *   partition to be paused ({@linkcode PartitionGroup.add}).
   */
  constructor(topics: string[], maxTaskIdleMs: number, maxBuffered = Infinity) {
    this.#maxTaskIdleMs = maxTaskIdleMs;
    this.#maxBuffered = maxBuffered;
    this.#queues = topics.map((topic) => ({
      topic,
      records: [],
      head: 0,
      more: [],
      moreHead: 0,
      size: 0,
      lag: undefined,
      idleDeadline: undefined,
      paused: false,
    }));
    for (const q of this.#queues) this.#byTopic.set(q.topic, q);
  }

  /** Records buffered in all queues. */
  get buffered(): number {
    return this.#buffered;
  }

  /**
   * Buffers `records[from, to)`, all of one topic (the task's partition), in offset order.
   *
   * @param records Fetched records.
   * @param from First index.
   * @param to One past the last index.
   * @returns Whether the partition is to be paused now: its queue went over `maxBuffered`
   *   (Kafka's `buffered.records.per.partition`; resumed once it drains back, see
   *   {@linkcode PartitionGroup.takeResumed}).
   */
  add(records: ConsumerRecord[], from: number, to: number): boolean {
    const q = this.#byTopic.get(records[from].topic);
    if (q === undefined || to <= from) return false;
    // Each fetched run is kept as one array of its size (a copy), queued behind the others:
    // pushing records one at a time into one growing array made `bench:streams --merge`
    // promote about twice as many young objects (docs/STREAMS.md, "Not done").
    const run = records.slice(from, to);
    if (q.size === 0) {
      this.#nonEmpty++;
      // Kafka forgets the deadline when `readyToProcess` next sees the partition with records,
      // which it does before any of them is processed: the same, done here.
      q.idleDeadline = undefined;
      q.records = run;
      q.head = 0;
    } else q.more.push(run);
    q.size += to - from;
    this.#buffered += to - from;
    if (q.paused || q.size <= this.#maxBuffered) return false;
    q.paused = true;
    return true;
  }

  /**
   * The topics whose partitions were paused and have drained back to `maxBuffered` records
   * since the last call: to be resumed.
   *
   * @returns Topic names (none: an empty array).
   */
  takeResumed(): string[] {
    if (this.#resumed.length === 0) return this.#resumed;
    const out = this.#resumed;
    this.#resumed = [];
    return out;
  }

  /** The topics whose partitions are paused (over `maxBuffered`). */
  get paused(): string[] {
    return this.#queues.filter((q) => q.paused).map((q) => q.topic);
  }

  /**
   * Sets what the last fetch said about a partition: how many records the broker has past
   * what was fetched.
   *
   * @param topic The topic.
   * @param lag The lag, `undefined` when unknown.
   */
  setLag(topic: string, lag: number | undefined): void {
    const q = this.#byTopic.get(topic);
    if (q !== undefined) q.lag = lag;
  }

  /**
   * Whether the next record may be processed at `now` (Kafka's `PartitionGroup.readyToProcess`):
   * always with `maxTaskIdleMs` -1; otherwise not while a partition with nothing buffered has
   * an unknown or positive lag, nor while one that is caught up has idled less than
   * `maxTaskIdleMs`; once every empty partition has idled that long, yes if anything is
   * buffered (enforced processing: records may be processed out of timestamp order).
   *
   * @param now Wall-clock time.
   */
  readyToProcess(now: number): boolean {
    if (this.#maxTaskIdleMs === MAX_TASK_IDLE_MS_DISABLED) return true;
    // Every partition has records (Kafka's `allBuffered`): ready, no deadline left to clear.
    if (this.#nonEmpty === this.#queues.length) return true;
    let queued = false;
    let enforced = false;
    for (const q of this.#queues) {
      if (q.size > 0) {
        q.idleDeadline = undefined;
        queued = true;
      } else if (q.lag === undefined || q.lag > 0) {
        // Unknown: wait for a fetch to say; positive: wait for the records the broker has.
        q.idleDeadline = undefined;
        return false;
      } else {
        q.idleDeadline ??= now + this.#maxTaskIdleMs;
        if (now < q.idleDeadline) return false;
        enforced = true;
      }
    }
    if (!enforced) return true;
    if (!queued) return false;
    this.enforced++;
    return true;
  }

  /** When an idling partition's wait ends (`Infinity` when none idles). */
  get nextIdleDeadline(): number {
    let next = Infinity;
    for (const q of this.#queues) {
      if (q.idleDeadline !== undefined && q.idleDeadline < next) next = q.idleDeadline;
    }
    return next;
  }

  /**
   * Takes the buffered record with the lowest timestamp (ties: the first topic, as given to
   * the constructor).
   *
   * @returns The record, or `undefined` when nothing is buffered.
   */
  next(): ConsumerRecord | undefined {
    let best: RecordQueue | undefined;
    let bestTime = Infinity;
    for (const q of this.#queues) {
      if (q.size > 0) {
        const t = q.records[q.head].timestamp;
        if (best === undefined || t < bestTime) {
          best = q;
          bestTime = t;
        }
      }
    }
    if (best === undefined) return undefined;
    const r = best.records[best.head++];
    best.size--;
    if (best.paused && best.size <= this.#maxBuffered) {
      best.paused = false;
      this.#resumed.push(best.topic);
    }
    if (best.head === best.records.length) {
      best.head = 0;
      if (best.size === 0) {
        best.records = [];
        best.more = [];
        best.moreHead = 0;
        this.#nonEmpty--;
      } else {
        // The slot is let go (a queue that never drains would otherwise keep every run), and
        // the list compacted once it is mostly such slots.
        best.records = best.more[best.moreHead];
        best.more[best.moreHead++] = NO_RECORDS;
        if (best.moreHead >= 1024 && best.moreHead * 2 >= best.more.length) {
          best.more = best.more.slice(best.moreHead);
          best.moreHead = 0;
        }
      }
    }
    this.#buffered--;
    return r;
  }

  /** Drops every buffered record and what is known of the lags (the consumer's positions
   * move back to the committed offsets). */
  clear(): void {
    for (const q of this.#queues) {
      q.records = [];
      q.head = 0;
      q.more = [];
      q.moreHead = 0;
      q.size = 0;
      q.lag = undefined;
      q.idleDeadline = undefined;
      q.paused = false;
    }
    this.#resumed = [];
    this.#buffered = 0;
    this.#nonEmpty = 0;
  }
}
