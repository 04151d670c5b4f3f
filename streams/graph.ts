// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * The processor graph a {@linkcode StreamsBuilder} records and the runtime instantiates per
 * task: nodes (sources, processors, sinks), the stores they use, and the split into
 * sub-topologies at repartition topics. Internal to `streams/`.
 *
 * @module
 */

import type { RecordHeader } from "../client/records.ts";
import type { Serde } from "./serdes.ts";
import type { BytesStore, StoreKind } from "./stores.ts";
import type { TimestampExtractor } from "./timestamp_extractor.ts";

/** A record flowing between processors; tables forward the previous value too. */
export interface Rec {
  /** Key (deserialized past a source). */
  key: unknown;
  /** Value. */
  value: unknown;
  /** A table's previous value for the key (`null` when none). */
  oldValue?: unknown;
  /** Timestamp in ms. */
  timestamp: number;
  /** Headers. */
  headers: RecordHeader[];
}

/** Hands a record to a node's children. */
export type Forward = (rec: Rec) => void;

/** What a processor sees of the task running it. */
export interface TaskContext {
  /** `<subtopology>_<partition>`. */
  readonly taskId: string;
  /** The input partition. */
  readonly partition: number;
  /** The largest record timestamp the task has processed (any of its topics). Windows do not
   * close by it: each windowed processor keeps the time it has seen. */
  readonly streamTime: number;
  /** A store of this task. */
  store(name: string): BytesStore;
  /**
   * Queues a record for a topic (partitioned by key, or to `partition` when given). Key and
   * value are serialized bytes, or a string standing for its UTF-8 bytes (what the built-in
   * string serde makes of it).
   */
  send(
    topic: string,
    key: Uint8Array | string | null,
    value: Uint8Array | string | null,
    timestamp: number,
    headers: RecordHeader[],
    partition?: number,
  ): void;
  /** The serde given, or the application's default key serde. */
  keySerde<T>(serde: Serde<T> | undefined, what: string): Serde<T>;
  /** The serde given, or the application's default value serde. */
  valueSerde<T>(serde: Serde<T> | undefined, what: string): Serde<T>;
  /** A topic's name: internal topics get the application id in front. */
  topicName(topic: string): string;
  /** Counts a record dropped (late, or without a key where one is needed). */
  dropRecord(reason: string): void;
  /** The application id. */
  readonly applicationId: string;
  /** The input record being processed (topic, partition, offset); `undefined` in a
   * punctuator. */
  readonly currentRecord: { topic: string; partition: number; offset: number } | undefined;
  /**
   * Schedules a punctuator on this task (the Processor API's `schedule`).
   *
   * @param intervalMs Interval, at least 1 ms.
   * @param type `STREAM_TIME` or `WALL_CLOCK_TIME`.
   * @param callback Called with the stream time or the wall-clock time it fires at.
   * @returns A handle whose `cancel()` stops it.
   */
  schedule(
    intervalMs: number,
    type: "STREAM_TIME" | "WALL_CLOCK_TIME",
    callback: (timestamp: number) => void,
  ): { cancel(): void };
  /** Asks the runtime to commit the task soon (the Processor API's `commit`). */
  requestCommit(): void;
  /** The wall-clock time in ms (the test driver's mock clock under test). */
  wallClockTime(): number;
  /** Registers a call made when the task closes (a processor's `close`). */
  onClose(fn: () => void): void;
}

/** A node of the graph. */
export interface NodeDef {
  /** Order of creation. */
  id: number;
  /** Kafka-style name, e.g. `KSTREAM-FILTER-0000000002`. */
  name: string;
  /** Upstream nodes. */
  parents: NodeDef[];
  /** Downstream nodes. */
  children: NodeDef[];
  /** Topics a source reads (empty for other nodes). */
  topics: string[];
  /** The topic a sink writes. */
  sinkTopic?: string;
  /** Stores the node reads or writes. */
  stores: string[];
  /**
   * Builds the node's processing function for one task: `forward` hands a record to every
   * child, `outs[i]` to child `i` only.
   */
  create(ctx: TaskContext, forward: Forward, outs?: Forward[]): (rec: Rec) => void;
  /**
   * A source's deserializer for one task: turns a fetched record (bytes) into the record its
   * processing function gets. Run before the record moves stream time, so a record that does
   * not deserialize and is skipped (the deserialization exception handler) changes nothing.
   */
  deserialize?: (ctx: TaskContext) => (rec: Rec) => Rec;
  /** A source's own timestamp extractor (`Consumed`'s); default: the application's. */
  timestampExtractor?: TimestampExtractor;
  /**
   * A source whose deserializer keeps the bytes (a table's): the key and value its timestamp
   * extractor is to see.
   */
  typed?: (ctx: TaskContext) => (rec: Rec) => { key: unknown; value: unknown };
}

/** A store of the graph. */
export interface StoreDef {
  /** Store name (and changelog `<applicationId>-<name>-changelog`). */
  name: string;
  /** Key layout. */
  kind: StoreKind;
  /** On disk rather than in memory. */
  persistent: boolean;
  /** Key serde for interactive queries (the inner key's, for windowed stores). */
  keySerde?: Serde<unknown>;
  /** Value serde for interactive queries. */
  valueSerde?: Serde<unknown>;
  /** Window size of a window store. */
  windowSizeMs?: number;
  /** Retention of a window, session or join store: its entries expire once stream time has
   * passed their time (window start, session end, record time) by this much. */
  retentionMs?: number;
  /** A versioned table's store (KIP-889): its history retention and history store. */
  versioned?: { historyRetentionMs: number; historyStore: string };
}

/** A connected part of the graph: its tasks are its input partitions. */
export interface Subtopology {
  /** Index. */
  id: number;
  /** Its nodes in creation order (parents before children). */
  nodes: NodeDef[];
  /** Topics its sources read (internal ones by their short name). */
  sourceTopics: string[];
  /** Stores its nodes use. */
  stores: string[];
}

/** Records the graph while the DSL is used. */
export class GraphBuilder {
  /** Every node. */
  readonly nodes: NodeDef[] = [];
  /** Every store by name. */
  readonly stores: Map<string, StoreDef> = new Map();
  /** Source topics and the node reading each. */
  readonly sources: Map<string, NodeDef> = new Map();
  /** Repartition topics (short names; the runtime prefixes the application id). */
  readonly internalTopics: Set<string> = new Set();
  /** Internal topics whose partition count is their reader's other source topics' (a
   * foreign-key join's subscription and response topics, as Kafka's co-partition groups),
   * not the most of their writer's and reader's. */
  readonly coPartitioned: Set<string> = new Set();
  #counter = 0;

  /** A new Kafka-style name: `PREFIX-000000000N`. */
  newName(prefix: string): string {
    return `${prefix}-${String(this.#counter++).padStart(10, "0")}`;
  }

  /** Adds a node under its parents. */
  add(
    prefix: string,
    parents: NodeDef[],
    create: NodeDef["create"],
    extra: {
      name?: string;
      topics?: string[];
      sinkTopic?: string;
      stores?: string[];
      deserialize?: NodeDef["deserialize"];
      timestampExtractor?: TimestampExtractor;
      typed?: NodeDef["typed"];
    } = {},
  ): NodeDef {
    const name = extra.name ?? this.newName(prefix);
    if (this.nodes.some((n) => n.name === name)) {
      throw new Error(`topology: a processor named ${name} already exists`);
    }
    const node: NodeDef = {
      id: this.nodes.length,
      name,
      parents,
      children: [],
      topics: extra.topics ?? [],
      sinkTopic: extra.sinkTopic,
      stores: extra.stores ?? [],
      create,
      deserialize: extra.deserialize,
      timestampExtractor: extra.timestampExtractor,
      typed: extra.typed,
    };
    for (const t of node.topics) {
      if (this.sources.has(t)) {
        throw new Error(`topology: topic ${t} is already read by ${this.sources.get(t)!.name}`);
      }
    }
    for (const p of parents) p.children.push(node);
    for (const t of node.topics) this.sources.set(t, node);
    this.nodes.push(node);
    return node;
  }

  /** Declares a store. */
  addStore(def: StoreDef): void {
    if (this.stores.has(def.name)) {
      throw new Error(`topology: a store named ${def.name} already exists`);
    }
    this.stores.set(def.name, def);
  }

  /** Splits the graph into sub-topologies: nodes linked by edges or a shared store. */
  subtopologies(): Subtopology[] {
    const parent = this.nodes.map((n) => n.id);
    const find = (i: number): number => parent[i] === i ? i : (parent[i] = find(parent[i]));
    const union = (a: number, b: number) => {
      parent[find(a)] = find(b);
    };
    const storeOwner = new Map<string, number>();
    for (const n of this.nodes) {
      for (const p of n.parents) union(n.id, p.id);
      for (const s of n.stores) {
        const o = storeOwner.get(s);
        if (o === undefined) storeOwner.set(s, n.id);
        else union(n.id, o);
      }
    }
    const groups = new Map<number, NodeDef[]>();
    for (const n of this.nodes) {
      const r = find(n.id);
      if (!groups.has(r)) groups.set(r, []);
      groups.get(r)!.push(n);
    }
    return [...groups.values()].map((nodes, id) => ({
      id,
      nodes,
      sourceTopics: nodes.flatMap((n) => n.topics),
      stores: [...new Set(nodes.flatMap((n) => n.stores))],
    }));
  }
}
