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
import { BytesStore } from "./stores.ts";

/** The serdes a task falls back on. */
export interface DefaultSerdes {
  /** Key serde where none was given. */
  defaultKeySerde?: Serde<unknown>;
  /** Value serde where none was given. */
  defaultValueSerde?: Serde<unknown>;
}

const noop: Forward = () => {};

/** One task: a sub-topology's processors and stores for one input partition. */
export class Task implements TaskContext {
  readonly taskId: string;
  readonly partition: number;
  readonly sub: Subtopology;
  streamTime = -1;
  readonly stores = new Map<string, BytesStore>();
  /** Source processors by full topic name. */
  readonly sources = new Map<string, (rec: Rec) => void>();
  /** Next offset per input topic, to commit. */
  readonly offsets = new Map<string, number>();
  #runtime: Runtime;

  constructor(runtime: Runtime, sub: Subtopology, partition: number) {
    this.#runtime = runtime;
    this.sub = sub;
    this.partition = partition;
    this.taskId = `${sub.id}_${partition}`;
    for (const name of sub.stores) {
      const def = runtime.graph.stores.get(name)!;
      const dir = def.persistent && runtime.stateDir !== undefined
        ? `${runtime.stateDir}/${runtime.applicationId}/${this.taskId}/${name}`
        : undefined;
      this.stores.set(name, new BytesStore(name, def.kind, dir, def.retentionMs));
    }
  }

  /**
   * Moves the task's stream time forward (committed with the offsets). Windowed and session
   * aggregations close windows by the time they have seen themselves, and join stores expire
   * by their own time, as Kafka's processors and segmented stores do.
   */
  advanceStreamTime(time: number): void {
    if (time > this.streamTime) this.streamTime = time;
  }

  /** Builds the processors (children before parents, so each gets its children's functions). */
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
      for (const t of node.topics) this.sources.set(this.topicName(t), proc);
    }
  }

  process(r: ConsumerRecord): void {
    if (r.timestamp > this.streamTime) this.advanceStreamTime(r.timestamp);
    this.sources.get(r.topic)!(r);
    this.offsets.set(r.topic, r.offset + 1);
  }

  /**
   * Processes `records[from, to)`, all of one topic and this task's partition, in order.
   *
   * @param records Fetched records.
   * @param from First index.
   * @param to One past the last index.
   */
  processRun(records: ConsumerRecord[], from: number, to: number): void {
    const topic = records[from].topic;
    const source = this.sources.get(topic)!;
    let time = this.streamTime;
    for (let i = from; i < to; i++) {
      const r = records[i];
      if (r.timestamp > time) this.advanceStreamTime(time = r.timestamp);
      source(r);
    }
    this.offsets.set(topic, records[to - 1].offset + 1);
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
  ): void {
    this.#runtime.send(topic, { key, value, timestamp, headers });
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
  dropped: number;
  send(topic: string, message: ProducerMessage): void;
  topicName(topic: string): string;
}
