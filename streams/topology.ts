// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * The Streams DSL, shaped after Kafka Streams': a {@linkcode StreamsBuilder} makes
 * {@linkcode KStream}s (record streams) and {@linkcode KTable}s (changelog streams, latest value
 * per key) from topics; stateless operations (`filter`, `map`, `flatMap`, `branch`, `merge`…),
 * grouping and aggregation (`groupByKey().count()`, `windowedBy(...).aggregate(...)`) and joins
 * build a {@linkcode Topology} that {@linkcode KafkaStreams} runs.
 *
 * Differences from Kafka's Java API: key-value pairs are `[key, value]` tuples; value mappers
 * take `(value, key)`; options are plain objects (`{ keySerde, valueSerde }` for `Consumed`,
 * `Produced`, `Grouped`; `{ storeName, persistent }` for `Materialized`).
 *
 * @module
 */

import {
  type Forward,
  GraphBuilder,
  type NodeDef,
  type Rec,
  type StoreDef,
  type TaskContext,
} from "./graph.ts";
import {
  addStoreBuilder,
  type FixedKeyProcessor,
  type FixedKeyProcessorContext,
  type FixedKeyProcessorSupplier,
  type Processor,
  processorNode,
  type ProcessorSupplier,
  type StoreBuilder,
  type ValueTransformerWithKey,
} from "./processor.ts";
import { isStringSerde, type Serde, Serdes } from "./serdes.ts";
import type { Suppressed } from "./suppressed.ts";
import { checkExtractor, type TimestampExtractor } from "./timestamp_extractor.ts";
import { foreignKeyJoin, type ForeignKeyJoinOptions } from "./fk_join.ts";
import { type VersionedOptions, versionedPut } from "./versioned.ts";
import {
  groupTable,
  joinTables,
  type KGroupedTable,
  type MakeTable,
  type TableParts,
} from "./table_ops.ts";
import {
  type BytesStore,
  sessionKey,
  sessionWindowOf,
  type StoreEntry,
  windowKey,
} from "./stores.ts";
import {
  JoinWindows,
  SessionWindows,
  type TimeWindows,
  type Window,
  type Windowed,
} from "./windows.ts";

/** How a topic's records are read: `Consumed`. */
export interface Consumed<K, V> {
  /** Key serde; default: the application's `defaultKeySerde`. */
  keySerde?: Serde<K>;
  /** Value serde; default: the application's `defaultValueSerde`. */
  valueSerde?: Serde<V>;
  /**
   * `Consumed.withTimestampExtractor`: this source's record times (default: the application's
   * `defaultTimestampExtractor`).
   */
  timestampExtractor?: TimestampExtractor;
}

/** How records are written to a topic: `Produced`. */
export interface Produced<K, V> {
  /** Key serde; default: the stream's, else the application's default. */
  keySerde?: Serde<K>;
  /** Value serde; default: the stream's, else the application's default. */
  valueSerde?: Serde<V>;
}

/** How a stream is grouped (and repartitioned): `Grouped`. */
export interface Grouped<K, V> {
  /** Name of the repartition topic (`<applicationId>-<name>-repartition`). */
  name?: string;
  /** Key serde of the repartition topic. */
  keySerde?: Serde<K>;
  /** Value serde of the repartition topic. */
  valueSerde?: Serde<V>;
}

/** How a table is kept: `Materialized`. */
export interface Materialized<K, V> {
  /** Store name: queryable with {@linkcode KafkaStreams.store}; names the changelog topic. */
  storeName?: string;
  /** Key serde of the store and changelog. */
  keySerde?: Serde<K>;
  /** Value serde of the store and changelog. */
  valueSerde?: Serde<V>;
  /** Keep the store on disk under the application's `stateDir` (default: in memory). */
  persistent?: boolean;
  /**
   * `Materialized.withRetention`: how long a windowed store keeps a window after stream time
   * passed its start (a session: its end). At least the window size (session: the inactivity
   * gap) plus the grace period; default the larger of that and one day. Ignored by key-value
   * stores.
   */
  retentionMs?: number;
}

/** One day: the default retention of windowed stores. */
const DAY_MS = 86_400_000;

function windowRetention(what: string, given: number | undefined, least: number): number {
  if (given === undefined) return Math.max(least, DAY_MS);
  if (!Number.isSafeInteger(given) || given < least) {
    throw new RangeError(
      `${what}: retention ${given} ms is less than the window plus its grace period (${least} ms)`,
    );
  }
  return given;
}

/** Serdes of a join's inputs: `Joined` / `StreamJoined`. */
export interface Joined<K, V, VO> {
  /** Key serde. */
  keySerde?: Serde<K>;
  /** This stream's value serde. */
  valueSerde?: Serde<V>;
  /** The other side's value serde. */
  otherValueSerde?: Serde<VO>;
  /**
   * Names the join's processors and stores: `<name>-this-join-store` and
   * `<name>-other-join-store` (inner join); `<name>-this-join-store`,
   * `<name>-outer-other-join-store` and `<name>-left-shared-join-store` (`leftJoin`);
   * `<name>-outer-this-join-store`, `<name>-outer-other-join-store` and
   * `<name>-outer-shared-join-store` (`outerJoin`).
   */
  name?: string;
}

/** A branch of {@linkcode KStream.split}: `Branched`. */
export interface Branched {
  /** Branch name (after the split's prefix); default: its position, from 1. */
  name?: string;
}

type Getter = (ctx: TaskContext) => (key: unknown) => unknown;

let makeStream: <K, V>(
  b: GraphBuilder,
  node: NodeDef,
  keySerde: Serde<K> | undefined,
  valueSerde: Serde<V> | undefined,
  repartition: boolean,
) => KStream<K, V>;

let makeTable: <K, V>(
  b: GraphBuilder,
  node: NodeDef,
  keySerde: Serde<K> | undefined,
  valueSerde: Serde<V> | undefined,
  stores: string[],
  getter: Getter,
  windowed?: WindowedTable,
) => KTable<K, V>;

/** What {@linkcode KTable.suppress} needs of a windowed table: its windows' grace period and
 * the inner key's serde. */
interface WindowedTable {
  graceMs: number;
  keySerde: Serde<unknown> | undefined;
}

let graphOf: (t: Topology) => GraphBuilder;

const pass = (_ctx: TaskContext, forward: Forward) => forward;

/** A source of the low-level {@linkcode Topology} API, with its options. */
export interface SourceOptions<K = unknown, V = unknown> extends Consumed<K, V> {
  /** The source's name (unique among the topology's nodes). */
  name: string;
}

/** A sink of the low-level {@linkcode Topology} API, with its serdes. */
export interface SinkOptions<K = unknown, V = unknown> extends Produced<K, V> {
  /** The sink's name (unique among the topology's nodes). */
  name: string;
}

/**
 * The processing logic of an application: made by {@linkcode StreamsBuilder.build}, or built
 * node by node with Kafka's low-level API (`addSource`, `addProcessor`, `addSink`,
 * `addStateStore`), and run by {@linkcode KafkaStreams} or {@linkcode TopologyTestDriver} the
 * same way (stores changelogged and restored, commits, exactly-once).
 *
 * @example Kafka's WordCountProcessorDemo, node by node
 * ```ts
 * import {
 *   type ProcessorContext, Serdes, Stores, Topology, TopologyTestDriver,
 * } from "./mod.ts";
 * const topology = new Topology()
 *   .addSource("Source", "lines")
 *   .addProcessor("Process", () => {
 *     let ctx: ProcessorContext<string, string>;
 *     return {
 *       init(c) {
 *         ctx = c;
 *       },
 *       process(record: { value: string; timestamp: number }) {
 *         const counts = ctx.getStateStore<string, number>("Counts");
 *         for (const word of record.value.toLowerCase().split(" ")) {
 *           const n = (counts.get(word) ?? 0) + 1;
 *           counts.put(word, n);
 *           ctx.forward({ key: word, value: String(n), timestamp: record.timestamp });
 *         }
 *       },
 *     };
 *   }, "Source")
 *   .addStateStore(
 *     Stores.keyValueStoreBuilder(Stores.inMemoryKeyValueStore("Counts"), Serdes.String(), Serdes.Int64()),
 *     "Process",
 *   )
 *   .addSink("Sink", "counts", "Process");
 * const driver = new TopologyTestDriver(topology, {
 *   defaultKeySerde: Serdes.String(),
 *   defaultValueSerde: Serdes.String(),
 * });
 * driver.createInputTopic("lines", Serdes.String(), Serdes.String()).pipeInput(null, "a b a");
 * const out = driver.createOutputTopic("counts", Serdes.String(), Serdes.String());
 * console.assert(JSON.stringify(out.readKeyValuesToList()) === '[["a","1"],["b","1"],["a","2"]]');
 * ```
 */
export class Topology {
  #graph: GraphBuilder = new GraphBuilder();

  static {
    graphOf = (t) => t.#graph;
  }

  /** @internal */
  static fromGraph(graph: GraphBuilder): Topology {
    const t = new Topology();
    t.#graph = graph;
    return t;
  }

  #node(name: string, what: string): NodeDef {
    const node = this.#graph.nodes.find((n) => n.name === name);
    if (node === undefined) {
      throw new Error(`Topology.${what}: no node named ${name} (add it first)`);
    }
    return node;
  }

  #parents(what: string, name: string, parentNames: string[]): NodeDef[] {
    if (parentNames.length === 0) {
      throw new Error(`Topology.${what}: ${name} must have at least one parent`);
    }
    return parentNames.map((p) => {
      if (p === name) throw new Error(`Topology.${what}: ${name} cannot be its own parent`);
      const node = this.#node(p, what);
      if (node.sinkTopic !== undefined) {
        throw new Error(`Topology.${what}: sink ${p} cannot be a parent`);
      }
      return node;
    });
  }

  /**
   * Adds a source (Kafka's `addSource`): it reads the topics' records, deserialized with the
   * given serdes (default: the application's), and hands them to the processors and sinks
   * that name it as a parent.
   *
   * @param source The name, or `{ name, keySerde, valueSerde, timestampExtractor }`.
   * @param topics Topics it reads (each read by one source only).
   * @returns This topology.
   * @throws {Error} If the name is taken, no topic is given, or a topic is already read.
   */
  addSource(source: string | SourceOptions, ...topics: string[]): Topology {
    const opts: SourceOptions = typeof source === "string" ? { name: source } : source;
    const name = checkNodeName(opts?.name, "addSource");
    if (topics.length === 0 || topics.some((t) => typeof t !== "string" || t === "")) {
      throw new RangeError(`Topology.addSource: ${name}: give one or more topic names`);
    }
    this.#graph.add("SOURCE", [], pass, {
      name,
      topics,
      deserialize: sourceDeserializer(opts, `source ${name}`),
      timestampExtractor: checkExtractor(opts.timestampExtractor, `source ${name}`),
    });
    return this;
  }

  /**
   * Adds a processor (Kafka's `addProcessor`) under its parents: it gets every record they
   * forward; a supplier's `stores()` are added and connected to it.
   *
   * @param name The processor's name.
   * @param supplier Makes a processor per task.
   * @param parentNames Sources or processors added before.
   * @returns This topology.
   * @throws {Error} If the name is taken, a parent is missing or is a sink.
   */
  addProcessor<KIn, VIn, KOut, VOut>(
    name: string,
    supplier: ProcessorSupplier<KIn, VIn, KOut, VOut>,
    ...parentNames: string[]
  ): Topology {
    checkNodeName(name, "addProcessor");
    const parents = this.#parents("addProcessor", name, parentNames);
    const { get, stores } = resolveSupplier(
      this.#graph,
      `Topology.addProcessor: ${name}`,
      supplier,
      [],
    );
    this.#graph.add("PROCESSOR", parents, processorNode(this.#graph, name, get, stores), {
      name,
      stores,
    });
    return this;
  }

  /**
   * Adds a sink (Kafka's `addSink`): it writes what its parents forward to a topic, serialized
   * with the given serdes (default: the application's), partitioned by key.
   *
   * @param sink The name, or `{ name, keySerde, valueSerde }`.
   * @param topic The topic it writes.
   * @param parentNames Sources or processors added before.
   * @returns This topology.
   * @throws {Error} If the name is taken, a parent is missing or is a sink.
   */
  addSink(sink: string | SinkOptions, topic: string, ...parentNames: string[]): Topology {
    const opts: SinkOptions = typeof sink === "string" ? { name: sink } : sink;
    const name = checkNodeName(opts?.name, "addSink");
    if (typeof topic !== "string" || topic === "") {
      throw new RangeError(`Topology.addSink: ${name}: give a topic name`);
    }
    const parents = this.#parents("addSink", name, parentNames);
    this.#graph.add("SINK", parents, sinkNode(topic, opts.keySerde, opts.valueSerde), {
      name,
      sinkTopic: topic,
    });
    return this;
  }

  /**
   * Adds a key-value store (Kafka's `addStateStore`) and connects it to processors.
   *
   * @param builder From {@linkcode Stores.keyValueStoreBuilder}.
   * @param processorNames Processors to connect it to (more with
   *   {@linkcode Topology.connectProcessorAndStateStores}).
   * @returns This topology.
   * @throws {Error} If a store of that name exists or a processor is missing.
   */
  addStateStore<K, V>(builder: StoreBuilder<K, V>, ...processorNames: string[]): Topology {
    for (const p of processorNames) this.#processor(p, "addStateStore");
    addStoreBuilder(this.#graph, builder as StoreBuilder<unknown, unknown>);
    for (const p of processorNames) this.connectProcessorAndStateStores(p, builder.name);
    return this;
  }

  /**
   * Connects a processor to stores added before (Kafka's `connectProcessorAndStateStores`):
   * its context's `getStateStore` gives them, and it shares a sub-topology (tasks) with every
   * other node using them.
   *
   * @param processorName The processor.
   * @param storeNames The stores.
   * @returns This topology.
   * @throws {Error} If the processor or a store is missing, or a store is not a key-value store.
   */
  connectProcessorAndStateStores(processorName: string, ...storeNames: string[]): Topology {
    const node = this.#processor(processorName, "connectProcessorAndStateStores");
    if (storeNames.length === 0) {
      throw new Error("Topology.connectProcessorAndStateStores: give one or more store names");
    }
    for (const s of storeNames) {
      checkKvStore(this.#graph, "Topology.connectProcessorAndStateStores", s);
      if (!node.stores.includes(s)) node.stores.push(s);
    }
    return this;
  }

  #processor(name: string, what: string): NodeDef {
    const node = this.#node(name, what);
    if (node.topics.length > 0 || node.sinkTopic !== undefined) {
      throw new Error(`Topology.${what}: ${name} is not a processor`);
    }
    return node;
  }

  /**
   * A description in the spirit of Kafka's `Topology.describe()`: sub-topologies, their nodes
   * and stores.
   *
   * @returns Text, one node a line.
   */
  describe(): string {
    const lines = ["Topologies:"];
    for (const s of this.#graph.subtopologies()) {
      lines.push(`   Sub-topology: ${s.id}`);
      for (const n of s.nodes) {
        const what = n.topics.length > 0
          ? ` (topics: [${n.topics.join(", ")}])`
          : n.sinkTopic !== undefined
          ? ` (topic: ${n.sinkTopic})`
          : n.stores.length > 0
          ? ` (stores: [${n.stores.join(", ")}])`
          : "";
        const next = n.children.map((c) => c.name).join(", ");
        lines.push(`    ${n.name}${what}${next ? ` --> ${next}` : ""}`);
      }
    }
    return lines.join("\n");
  }
}

/** @internal The graph of a topology, for the runtime. */
export function topologyGraph(t: Topology): GraphBuilder {
  return graphOf(t);
}

/**
 * Builds a topology with the DSL.
 *
 * @example Word count (Kafka's WordCountDemo)
 * ```ts
 * import { Serdes, StreamsBuilder } from "./mod.ts";
 * const builder = new StreamsBuilder();
 * builder.stream<string, string>("streams-plaintext-input")
 *   .flatMapValues((line) => line.toLowerCase().split(/\W+/).filter((w) => w !== ""))
 *   .groupBy((_key, word) => word)
 *   .count({ storeName: "counts-store" })
 *   .toStream()
 *   .to("streams-wordcount-output", { valueSerde: Serdes.Int64() });
 * const topology = builder.build();
 * console.assert(topology.describe().includes("counts-store"));
 * ```
 */
export class StreamsBuilder {
  #b = new GraphBuilder();

  /**
   * A stream of a topic's (or several topics') records.
   *
   * @param topic Topic name(s).
   * @param consumed Serdes.
   * @returns The stream.
   * @throws {Error} If a topic is already read by this topology.
   */
  stream<K, V>(topic: string | string[], consumed: Consumed<K, V> = {}): KStream<K, V> {
    const topics = Array.isArray(topic) ? topic : [topic];
    if (topics.length === 0 || topics.some((t) => typeof t !== "string" || t === "")) {
      throw new RangeError("stream: topic names must be non-empty strings");
    }
    const node = this.#b.add("KSTREAM-SOURCE", [], pass, {
      topics,
      deserialize: sourceDeserializer(consumed, `source ${topics}`),
      timestampExtractor: checkExtractor(consumed.timestampExtractor, `stream ${topics}`),
    });
    return makeStream(this.#b, node, consumed.keySerde, consumed.valueSerde, false);
  }

  /**
   * A table of a topic: its latest value per key (a `null` value deletes), kept in a store
   * backed by a changelog. With `versioned` (or
   * `...Stores.persistentVersionedKeyValueStore(name, historyRetentionMs)`), the store also keeps
   * each key's earlier values for the history retention ({@linkcode KafkaStreams.versionedStore})
   * and an update older than the key's latest is kept there but not forwarded (KIP-914).
   *
   * @param topic Topic name.
   * @param options Serdes and the store (`versioned`: a versioned store).
   * @returns The table.
   */
  table<K, V>(
    topic: string,
    options: Consumed<K, V> & Materialized<K, V> & { versioned?: VersionedOptions } = {},
  ): KTable<K, V> {
    const b = this.#b;
    const storeName = options.storeName ?? b.newName("KTABLE-SOURCE-STATE-STORE");
    const keySerde = options.keySerde;
    const valueSerde = options.valueSerde;
    const versioned = options.versioned;
    if (
      versioned !== undefined &&
      !(Number.isSafeInteger(versioned.historyRetentionMs) && versioned.historyRetentionMs >= 0)
    ) {
      throw new RangeError(
        `table ${topic}: historyRetentionMs must be a non-negative integer, got ${versioned.historyRetentionMs}`,
      );
    }
    const historyStore = `${storeName}-versions`;
    b.addStore({
      name: storeName,
      kind: "kv",
      persistent: options.persistent ?? false,
      keySerde: keySerde as Serde<unknown> | undefined,
      valueSerde: valueSerde as Serde<unknown> | undefined,
      versioned: versioned === undefined ? undefined : { ...versioned, historyStore },
    });
    if (versioned !== undefined) {
      b.addStore({ name: historyStore, kind: "kv", persistent: options.persistent ?? false });
    }
    const node = b.add("KTABLE-SOURCE", [], (ctx, forward) => {
      const store = ctx.store(storeName);
      const history = versioned === undefined ? undefined : ctx.store(historyStore);
      const ks = ctx.keySerde(keySerde, `table ${topic}`);
      const vs = ctx.valueSerde(valueSerde, `table ${topic}`);
      return (rec) => {
        const kb = rec.key as Uint8Array | null;
        if (kb === null) return ctx.dropRecord("table record without a key");
        const vb = rec.value as Uint8Array | null;
        let old: Uint8Array | null;
        if (history !== undefined) {
          // KIP-914: an update older than the key's latest goes into the history only; the
          // table's output and everything downstream see the latest values alone.
          const r = versionedPut(
            store,
            history,
            versioned!.historyRetentionMs,
            kb,
            vb,
            rec.timestamp,
          );
          if (!r.latest) return;
          old = r.old;
        } else {
          old = store.get(kb)?.value ?? null;
          // The value's timestamp, as Kafka's timestamped store (table-table joins read it).
          store.put(kb, vb, rec.timestamp);
        }
        forward({
          key: ks.deserialize(kb),
          value: vs.deserialize(vb),
          oldValue: old === null ? null : vs.deserialize(old),
          timestamp: rec.timestamp,
          headers: rec.headers,
        });
      };
    }, {
      topics: [topic],
      stores: versioned === undefined ? [storeName] : [storeName, historyStore],
      // Checked before the record moves stream time (the store keeps the bytes).
      deserialize: (ctx) => {
        const ks = ctx.keySerde(keySerde, `table ${topic}`);
        const vs = ctx.valueSerde(valueSerde, `table ${topic}`);
        return (rec) => {
          ks.deserialize(rec.key as Uint8Array | null);
          vs.deserialize(rec.value as Uint8Array | null);
          return rec;
        };
      },
      timestampExtractor: checkExtractor(options.timestampExtractor, `table ${topic}`),
      typed: (ctx) => {
        const ks = ctx.keySerde(keySerde, `table ${topic}`);
        const vs = ctx.valueSerde(valueSerde, `table ${topic}`);
        return (rec) => ({
          key: ks.deserialize(rec.key as Uint8Array | null),
          value: vs.deserialize(rec.value as Uint8Array | null),
        });
      },
    });
    return makeTable(
      b,
      node,
      keySerde,
      valueSerde,
      [storeName],
      storeGetter(storeName, {
        keySerde,
        valueSerde,
      }),
    );
  }

  /**
   * Adds a key-value store for the Processor API (Kafka's `addStateStore`): a processor
   * connected to it by name ({@linkcode KStream.process}) reads and writes it; it is kept per
   * task, changelogged to `<applicationId>-<name>-changelog` and restored like the DSL's
   * stores, and queryable with {@linkcode KafkaStreams.store}.
   *
   * @param builder From {@linkcode Stores.keyValueStoreBuilder}.
   * @returns This builder.
   * @throws {Error} If a store of that name exists.
   */
  addStateStore<K, V>(builder: StoreBuilder<K, V>): StreamsBuilder {
    addStoreBuilder(this.#b, builder as StoreBuilder<unknown, unknown>);
    return this;
  }

  /**
   * The topology built so far.
   *
   * @returns The topology, to run with {@linkcode KafkaStreams}.
   */
  build(): Topology {
    return Topology.fromGraph(this.#b);
  }
}

/** A sink's node function: key and value serialized, sent to the topic. */
function sinkNode<K, V>(
  topic: string,
  keySerde: Serde<K> | undefined,
  valueSerde: Serde<V> | undefined,
): NodeDef["create"] {
  return (ctx) => {
    const ks = ctx.keySerde(keySerde, `sink ${topic}`);
    const vs = ctx.valueSerde(valueSerde, `sink ${topic}`);
    const name = ctx.topicName(topic);
    // Strings of the built-in string serde go to the producer as they are: it writes their
    // UTF-8 (the same bytes) straight into the batch, with no copy per record.
    const keyText = isStringSerde(ks as Serde<unknown>);
    const valueText = isStringSerde(vs as Serde<unknown>);
    return (rec) => {
      const k = rec.key, v = rec.value;
      ctx.send(
        name,
        keyText && typeof k === "string" ? k : ks.serialize(k as K),
        valueText && typeof v === "string" ? v : vs.serialize(v as V),
        rec.timestamp,
        rec.headers,
      );
    };
  };
}

function checkNodeName(name: unknown, what: string): string {
  if (typeof name !== "string" || name === "") {
    throw new TypeError(`Topology.${what}: a node name is a non-empty string`);
  }
  return name;
}

/** A processor supplier's factory and stores (added to the graph, checked). */
function resolveSupplier<K, V, KOut, VOut>(
  b: GraphBuilder,
  what: string,
  supplier: ProcessorSupplier<K, V, KOut, VOut>,
  stateStoreNames: string[],
): { get: () => Processor<K, V, KOut, VOut>; stores: string[] } {
  let get: () => Processor<K, V, KOut, VOut>;
  let provided: StoreBuilder<unknown, unknown>[] = [];
  if (typeof supplier === "function") {
    get = supplier;
  } else if (supplier !== null && typeof supplier === "object" && "get" in supplier) {
    get = () => supplier.get();
    provided = supplier.stores?.() ?? [];
  } else {
    throw new TypeError(`${what}: give a processor supplier (a function or { get })`);
  }
  for (const builder of provided) addStoreBuilder(b, builder);
  const stores = [...new Set([...stateStoreNames, ...provided.map((p) => p.name)])];
  for (const store of stores) checkKvStore(b, what, store);
  return { get, stores };
}

function checkKvStore(b: GraphBuilder, what: string, store: string): void {
  const def = b.stores.get(store);
  if (def === undefined) {
    throw new Error(`${what}: no store named ${store} (add it with addStateStore first)`);
  }
  if (def.kind !== "kv") throw new Error(`${what}: store ${store} is not a key-value store`);
}

/** A source's deserializer: key and value through the serdes. */
function sourceDeserializer<K, V>(
  serdes: Consumed<K, V>,
  what: string,
): (ctx: TaskContext) => (rec: Rec) => Rec {
  return (ctx) => {
    const ks = ctx.keySerde(serdes.keySerde, what);
    const vs = ctx.valueSerde(serdes.valueSerde, what);
    return (rec) => ({
      key: ks.deserialize(rec.key as Uint8Array | null),
      value: vs.deserialize(rec.value as Uint8Array | null),
      timestamp: rec.timestamp,
      headers: rec.headers,
    });
  };
}

function storeGetter<K, V>(
  storeName: string,
  serdes: { keySerde?: Serde<K>; valueSerde?: Serde<V> },
): Getter {
  return (ctx) => {
    const store = ctx.store(storeName);
    const ks = ctx.keySerde(serdes.keySerde, storeName);
    const vs = ctx.valueSerde(serdes.valueSerde, storeName);
    return (key) => {
      const kb = ks.serialize(key as K);
      if (kb === null) return null;
      const e = store.get(kb);
      return e === undefined ? null : vs.deserialize(e.value);
    };
  };
}

/**
 * A stream of records: every record is an event.
 *
 * @typeParam K Key type.
 * @typeParam V Value type.
 */
export class KStream<K, V> {
  #b!: GraphBuilder;
  #node!: NodeDef;
  #keySerde: Serde<K> | undefined;
  #valueSerde: Serde<V> | undefined;
  #repartition = false;

  private constructor() {}

  static {
    makeStream = <K, V>(
      b: GraphBuilder,
      node: NodeDef,
      keySerde: Serde<K> | undefined,
      valueSerde: Serde<V> | undefined,
      repartition: boolean,
    ) => {
      const s = new KStream<K, V>();
      s.#b = b;
      s.#node = node;
      s.#keySerde = keySerde;
      s.#valueSerde = valueSerde;
      s.#repartition = repartition;
      return s;
    };
  }

  #next<K2, V2>(
    prefix: string,
    create: NodeDef["create"],
    keySerde: Serde<K2> | undefined,
    valueSerde: Serde<V2> | undefined,
    repartition: boolean,
  ): KStream<K2, V2> {
    const node = this.#b.add(prefix, [this.#node], create);
    return makeStream(this.#b, node, keySerde, valueSerde, repartition);
  }

  /**
   * Keeps the records for which `predicate` holds.
   *
   * @param predicate Test of key and value.
   * @returns The filtered stream.
   */
  filter(predicate: (key: K, value: V) => boolean): KStream<K, V> {
    return this.#next(
      "KSTREAM-FILTER",
      (_ctx, forward) => (rec) => {
        if (predicate(rec.key as K, rec.value as V)) forward(rec);
      },
      this.#keySerde,
      this.#valueSerde,
      this.#repartition,
    );
  }

  /**
   * Drops the records for which `predicate` holds.
   *
   * @param predicate Test of key and value.
   * @returns The filtered stream.
   */
  filterNot(predicate: (key: K, value: V) => boolean): KStream<K, V> {
    return this.filter((k, v) => !predicate(k, v));
  }

  /**
   * Replaces key and value (the key changes: a later grouping or join repartitions).
   *
   * @param mapper New `[key, value]`.
   * @returns The mapped stream.
   */
  map<K2, V2>(mapper: (key: K, value: V) => [K2, V2]): KStream<K2, V2> {
    return this.#next(
      "KSTREAM-MAP",
      (_ctx, forward) => (rec) => {
        const [key, value] = mapper(rec.key as K, rec.value as V);
        forward({ key, value, timestamp: rec.timestamp, headers: rec.headers });
      },
      undefined,
      undefined,
      true,
    );
  }

  /**
   * Replaces the value (the key stays, so no repartition is needed).
   *
   * @param mapper New value from value and key.
   * @returns The mapped stream.
   */
  mapValues<V2>(mapper: (value: V, key: K) => V2): KStream<K, V2> {
    return this.#next(
      "KSTREAM-MAPVALUES",
      (_ctx, forward) => (rec) => {
        forward({
          key: rec.key,
          value: mapper(rec.value as V, rec.key as K),
          timestamp: rec.timestamp,
          headers: rec.headers,
        });
      },
      this.#keySerde,
      undefined,
      this.#repartition,
    );
  }

  /**
   * Replaces each record with zero or more records.
   *
   * @param mapper `[key, value]` pairs from key and value.
   * @returns The new stream.
   */
  flatMap<K2, V2>(mapper: (key: K, value: V) => Iterable<[K2, V2]>): KStream<K2, V2> {
    return this.#next(
      "KSTREAM-FLATMAP",
      (_ctx, forward) => (rec) => {
        for (const [key, value] of mapper(rec.key as K, rec.value as V)) {
          forward({ key, value, timestamp: rec.timestamp, headers: rec.headers });
        }
      },
      undefined,
      undefined,
      true,
    );
  }

  /**
   * Replaces each value with zero or more values under the same key.
   *
   * @param mapper Values from value and key.
   * @returns The new stream.
   */
  flatMapValues<V2>(mapper: (value: V, key: K) => Iterable<V2>): KStream<K, V2> {
    return this.#next(
      "KSTREAM-FLATMAPVALUES",
      (_ctx, forward) => (rec) => {
        for (const value of mapper(rec.value as V, rec.key as K)) {
          forward({ key: rec.key, value, timestamp: rec.timestamp, headers: rec.headers });
        }
      },
      this.#keySerde,
      undefined,
      this.#repartition,
    );
  }

  /**
   * Sets a new key (a later grouping or join repartitions by it).
   *
   * @param mapper The new key from key and value.
   * @returns The re-keyed stream.
   */
  selectKey<K2>(mapper: (key: K, value: V) => K2): KStream<K2, V> {
    return this.#next(
      "KSTREAM-KEY-SELECT",
      (_ctx, forward) => (rec) => {
        forward({
          key: mapper(rec.key as K, rec.value as V),
          value: rec.value,
          timestamp: rec.timestamp,
          headers: rec.headers,
        });
      },
      undefined,
      this.#valueSerde,
      true,
    );
  }

  /**
   * Calls `action` for each record and passes it on unchanged.
   *
   * @param action Side effect.
   * @returns The same records.
   */
  peek(action: (key: K, value: V) => void): KStream<K, V> {
    return this.#next(
      "KSTREAM-PEEK",
      (_ctx, forward) => (rec) => {
        action(rec.key as K, rec.value as V);
        forward(rec);
      },
      this.#keySerde,
      this.#valueSerde,
      this.#repartition,
    );
  }

  /**
   * Calls `action` for each record (a terminal operation).
   *
   * @param action Side effect.
   */
  foreach(action: (key: K, value: V) => void): void {
    this.#b.add("KSTREAM-FOREACH", [this.#node], () => (rec) => {
      action(rec.key as K, rec.value as V);
    });
  }

  /**
   * Runs a {@linkcode Processor} on each record (Kafka 3.3+'s `process`, the Processor API):
   * one processor per task, with the stores named here or returned by the supplier's
   * `stores()` (which are added to the topology), forwarding what it wants downstream. The
   * result may carry any key, so a later grouping or join repartitions it.
   *
   * @example Count per key and emit the counts on stream-time punctuation
   * ```ts
   * import {
   *   type ProcessorContext, PunctuationType, Serdes, Stores, StreamsBuilder, TopologyTestDriver,
   * } from "./mod.ts";
   * const builder = new StreamsBuilder();
   * builder.addStateStore(
   *   Stores.keyValueStoreBuilder(Stores.inMemoryKeyValueStore("counts"), Serdes.String(), Serdes.Int64()),
   * );
   * builder.stream<string, string>("in")
   *   .process<string, number>(() => {
   *     let context: ProcessorContext<string, number>;
   *     return {
   *       init(ctx) {
   *         context = ctx;
   *         ctx.schedule(1000, PunctuationType.STREAM_TIME, (time) => {
   *           for (const [key, value] of ctx.getStateStore<string, number>("counts").all()) {
   *             ctx.forward({ key, value, timestamp: time });
   *           }
   *         });
   *       },
   *       process(record) {
   *         const store = context.getStateStore<string, number>("counts");
   *         store.put(record.key, (store.get(record.key) ?? 0) + 1);
   *       },
   *     };
   *   }, "counts")
   *   .to("out", { valueSerde: Serdes.Int64() });
   * const driver = new TopologyTestDriver(builder.build(), {
   *   defaultKeySerde: Serdes.String(),
   *   defaultValueSerde: Serdes.String(),
   * });
   * const input = driver.createInputTopic("in", Serdes.String(), Serdes.String());
   * input.pipeInput("a", "x", 0);
   * input.pipeInput("a", "y", 500);
   * input.pipeInput("a", "z", 1000);
   * const out = driver.createOutputTopic("out", Serdes.String(), Serdes.Int64());
   * console.assert(JSON.stringify(out.readKeyValuesToList()) === '[["a",1],["a",3]]');
   * ```
   *
   * @typeParam KOut Key type of the records the processor forwards.
   * @typeParam VOut Value type of the records the processor forwards.
   * @param supplier Makes a processor per task.
   * @param stateStoreNames Stores to connect (added with {@linkcode StreamsBuilder.addStateStore}).
   * @returns The stream of the records the processor forwards.
   * @throws {Error} If a named store was not added to the builder, or is not a key-value store.
   */
  process<KOut, VOut>(
    supplier: ProcessorSupplier<K, V, KOut, VOut>,
    ...stateStoreNames: string[]
  ): KStream<KOut, VOut> {
    const { get, stores } = resolveSupplier(this.#b, "process", supplier, stateStoreNames);
    const name = this.#b.newName("KSTREAM-PROCESSOR");
    const node = this.#b.add(
      "KSTREAM-PROCESSOR",
      [this.#node],
      processorNode(this.#b, name, get, stores),
      { name, stores },
    );
    return makeStream(this.#b, node, undefined, undefined, true);
  }

  /**
   * Runs a {@linkcode FixedKeyProcessor} on each record (Kafka 3.3+'s `processValues`,
   * KIP-820): as {@linkcode KStream.process}, but the processor forwards only the records it
   * is given (or made from them with `withValue`, `withTimestamp`, `withHeaders`), so the key
   * stays and a later grouping or join does not repartition (unless the stream needed it
   * already).
   *
   * @example Number each key's records, keeping the key
   * ```ts
   * import {
   *   type FixedKeyProcessorContext, Serdes, Stores, StreamsBuilder, TopologyTestDriver,
   * } from "./mod.ts";
   * const builder = new StreamsBuilder();
   * builder.addStateStore(
   *   Stores.keyValueStoreBuilder(Stores.inMemoryKeyValueStore("seq"), Serdes.String(), Serdes.Int64()),
   * );
   * builder.stream<string, string>("in")
   *   .processValues<string>(() => {
   *     let context: FixedKeyProcessorContext<string, string>;
   *     return {
   *       init(ctx) {
   *         context = ctx;
   *       },
   *       process(record) {
   *         const seq = context.getStateStore<string, number>("seq");
   *         const n = (seq.get(record.key) ?? 0) + 1;
   *         seq.put(record.key, n);
   *         context.forward(record.withValue(`${n}:${record.value}`));
   *       },
   *     };
   *   }, "seq")
   *   .to("out");
   * const driver = new TopologyTestDriver(builder.build(), {
   *   defaultKeySerde: Serdes.String(),
   *   defaultValueSerde: Serdes.String(),
   * });
   * const input = driver.createInputTopic("in", Serdes.String(), Serdes.String());
   * input.pipeInput("a", "x");
   * input.pipeInput("a", "y");
   * const out = driver.createOutputTopic("out", Serdes.String(), Serdes.String());
   * console.assert(JSON.stringify(out.readKeyValuesToList()) === '[["a","1:x"],["a","2:y"]]');
   * ```
   *
   * @typeParam VOut Value type of the records the processor forwards.
   * @param supplier Makes a processor per task.
   * @param stateStoreNames Stores to connect (added with {@linkcode StreamsBuilder.addStateStore}).
   * @returns The stream of the records the processor forwards, with this stream's key serde.
   * @throws {Error} If a named store was not added to the builder, or is not a key-value store.
   */
  processValues<VOut>(
    supplier: FixedKeyProcessorSupplier<K, V, VOut>,
    ...stateStoreNames: string[]
  ): KStream<K, VOut> {
    const { get, stores } = resolveSupplier(
      this.#b,
      "processValues",
      supplier as unknown as ProcessorSupplier<K, V, K, VOut>,
      stateStoreNames,
    );
    const name = this.#b.newName("KSTREAM-PROCESSVALUES");
    const node = this.#b.add(
      "KSTREAM-PROCESSVALUES",
      [this.#node],
      processorNode(this.#b, name, get, stores, true),
      { name, stores },
    );
    return makeStream(this.#b, node, this.#keySerde, undefined, this.#repartition);
  }

  /**
   * Kafka's deprecated `transformValues`: each record's value becomes what the transformer
   * returns, key and timestamp kept (no repartitioning after it, as
   * {@linkcode KStream.processValues}, on which it runs).
   *
   * @typeParam VR Result value type.
   * @param supplier Makes a transformer per task: a function, or `{ get, stores? }`.
   * @param stateStoreNames Stores to connect.
   * @returns The stream of transformed values.
   * @throws {Error} If a named store was not added to the builder.
   */
  transformValues<VR>(
    supplier:
      | (() => ValueTransformerWithKey<K, V, VR>)
      | {
        get(): ValueTransformerWithKey<K, V, VR>;
        stores?(): StoreBuilder<unknown, unknown>[];
      },
    ...stateStoreNames: string[]
  ): KStream<K, VR> {
    let get: () => ValueTransformerWithKey<K, V, VR>;
    let stores: (() => StoreBuilder<unknown, unknown>[]) | undefined;
    if (typeof supplier === "function") {
      get = supplier;
    } else if (supplier !== null && typeof supplier === "object" && "get" in supplier) {
      get = () => supplier.get();
      stores = supplier.stores?.bind(supplier);
    } else {
      throw new TypeError("transformValues: give a transformer supplier (a function or { get })");
    }
    return this.processValues<VR>({
      get: (): FixedKeyProcessor<K, V, VR> => {
        const t = get();
        if (t === null || typeof t !== "object" || typeof t.transform !== "function") {
          throw new TypeError("transformValues: the supplier did not return a transformer");
        }
        let context: FixedKeyProcessorContext<K, VR>;
        return {
          init(ctx) {
            context = ctx;
            t.init?.({
              ...ctx,
              forward() {
                throw new Error("transformValues: a transformer must not forward (return it)");
              },
            });
          },
          process(record) {
            context.forward(record.withValue(t.transform(record.value, record.key)));
          },
          close: () => t.close?.(),
        };
      },
      stores,
    }, ...stateStoreNames);
  }

  /**
   * Splits the stream: each record goes to the first branch whose predicate holds, or is
   * dropped (Kafka's deprecated `branch`; see {@linkcode KStream.split}).
   *
   * @param predicates One per branch.
   * @returns One stream per predicate.
   */
  branch(...predicates: Array<(key: K, value: V) => boolean>): KStream<K, V>[] {
    const split = this.split();
    predicates.forEach((p) => split.branch(p));
    return Object.values(split.noDefaultBranch());
  }

  /**
   * Splits the stream into named branches: each record goes to the first branch whose
   * predicate holds.
   *
   * @param options `name`: a prefix of the branch names.
   * @returns The branch builder.
   */
  split(options: { name?: string } = {}): BranchedKStream<K, V> {
    const predicates: Array<(key: K, value: V) => boolean> = [];
    const node = this.#b.add("KSTREAM-BRANCH", [this.#node], (_ctx, _forward, outs) => {
      return (rec) => {
        for (let i = 0; i < predicates.length; i++) {
          if (predicates[i](rec.key as K, rec.value as V)) return outs![i](rec);
        }
        if (outs!.length > predicates.length) outs![predicates.length](rec);
      };
    });
    return makeBranched(
      options.name ?? "",
      predicates,
      () => {
        const child = this.#b.add("KSTREAM-BRANCHCHILD", [node], pass);
        return makeStream(this.#b, child, this.#keySerde, this.#valueSerde, this.#repartition);
      },
    );
  }

  /**
   * Interleaves this stream with another of the same types.
   *
   * @param other The other stream.
   * @returns Both streams' records.
   */
  merge(other: KStream<K, V>): KStream<K, V> {
    const node = this.#b.add("KSTREAM-MERGE", [this.#node, other.#node], pass);
    return makeStream(
      this.#b,
      node,
      this.#keySerde ?? other.#keySerde,
      this.#valueSerde ?? other.#valueSerde,
      this.#repartition || other.#repartition,
    );
  }

  /**
   * Writes the records to a topic (partitioned by key bytes, as the Java client's default
   * partitioner does).
   *
   * @param topic Topic name.
   * @param produced Serdes.
   */
  to(topic: string, produced: Produced<K, V> = {}): void {
    const keySerde = produced.keySerde ?? this.#keySerde;
    const valueSerde = produced.valueSerde ?? this.#valueSerde;
    this.#b.add("KSTREAM-SINK", [this.#node], sinkNode(topic, keySerde, valueSerde), {
      sinkTopic: topic,
    });
  }

  /**
   * Writes the records to a repartition topic (`<applicationId>-<name>-repartition`, created
   * by the runtime) and reads them back partitioned by their current key.
   *
   * @param options Topic name and serdes.
   * @returns The repartitioned stream.
   */
  repartition(options: Grouped<K, V> = {}): KStream<K, V> {
    return this.#repartitionAs(options.name ?? this.#b.newName("KSTREAM-REPARTITION"), options);
  }

  #repartitionAs(name: string, options: Grouped<K, V>): KStream<K, V> {
    const topic = `${name}-repartition`;
    if (this.#b.internalTopics.has(topic)) {
      throw new Error(`topology: repartition topic ${topic} already exists`);
    }
    this.#b.internalTopics.add(topic);
    const keySerde = options.keySerde ?? this.#keySerde;
    const valueSerde = options.valueSerde ?? this.#valueSerde;
    const s = makeStream<K, V>(
      this.#b,
      this.#node,
      keySerde,
      valueSerde,
      false,
    );
    s.to(topic, { keySerde, valueSerde });
    const source = this.#b.add("KSTREAM-SOURCE", [], pass, {
      topics: [topic],
      deserialize: sourceDeserializer({ keySerde, valueSerde }, `source ${topic}`),
    });
    return makeStream(this.#b, source, keySerde, valueSerde, false);
  }

  /** The stream itself, or a repartitioned copy when its key changed. */
  #partitioned(name: string, options: Grouped<K, V> = {}): KStream<K, V> {
    return this.#repartition ? this.#repartitionAs(name, options) : this;
  }

  /**
   * Groups by the current key (repartitioning first if the key was changed).
   *
   * @param grouped Serdes and the repartition topic's name.
   * @returns The grouped stream.
   */
  groupByKey(grouped: Grouped<K, V> = {}): KGroupedStream<K, V> {
    return makeGrouped(
      this.#b,
      (store) => this.#partitioned(grouped.name ?? store, grouped).#node,
      grouped.keySerde ?? this.#keySerde,
      grouped.valueSerde ?? this.#valueSerde,
    );
  }

  /**
   * Groups by a new key (always repartitions).
   *
   * @param selector The grouping key from key and value.
   * @param grouped Serdes and the repartition topic's name.
   * @returns The grouped stream.
   */
  groupBy<K2>(
    selector: (key: K, value: V) => K2,
    grouped: Grouped<K2, V> = {},
  ): KGroupedStream<K2, V> {
    return this.selectKey(selector).groupByKey(grouped);
  }

  /**
   * Joins with a table (inner join; `leftJoin` keeps unmatched records) or, given a
   * {@linkcode JoinWindows}, with another stream: records of both whose keys match and whose
   * timestamps are within the window. Both sides must be co-partitioned (same partition count);
   * a side whose key changed is repartitioned.
   *
   * @param other A table or stream with the same key type.
   * @param joiner The result value.
   * @param windowsOrJoined The join window (stream–stream) or serdes (stream–table).
   * @param joined Serdes (stream–stream).
   * @returns The joined stream.
   */
  /**
   * Joins with a table: each record with a key the table holds gets the table's value
   * (records without a match are dropped; see {@linkcode KStream.leftJoin}).
   *
   * @param other The table (co-partitioned with this stream).
   * @param joiner The result value.
   * @param joined Serdes.
   * @returns The joined stream.
   */
  join<VO, VR>(
    other: KTable<K, VO>,
    joiner: (value: V, other: VO) => VR,
    joined?: Joined<K, V, VO>,
  ): KStream<K, VR>;
  /**
   * Joins with another stream: records of both sides with equal keys whose timestamps are
   * within `windows` (inner join).
   *
   * @param other The other stream (co-partitioned with this one).
   * @param joiner The result value.
   * @param windows How far apart the timestamps may be.
   * @param joined Serdes and the name of the join's stores.
   * @returns The joined stream.
   */
  join<VO, VR>(
    other: KStream<K, VO>,
    joiner: (value: V, other: VO) => VR,
    windows: JoinWindows,
    joined?: Joined<K, V, VO>,
  ): KStream<K, VR>;
  join<VO, VR>(
    other: KTable<K, VO> | KStream<K, VO>,
    joiner: (value: V, other: VO) => VR,
    windowsOrJoined?: JoinWindows | Joined<K, V, VO>,
    joined: Joined<K, V, VO> = {},
  ): KStream<K, VR> {
    if (other instanceof KStream) {
      if (!(windowsOrJoined instanceof JoinWindows)) {
        throw new TypeError("join: a stream–stream join needs a JoinWindows");
      }
      return this.#streamJoin(
        other,
        joiner as (v: V | null, o: VO | null) => VR,
        windowsOrJoined,
        joined,
        "inner",
      );
    }
    return this.#tableJoin(other, joiner, (windowsOrJoined ?? {}) as Joined<K, V, VO>, false);
  }

  /**
   * Joins with a table, keeping records without a match (the table side is then `null`).
   *
   * @param table The table.
   * @param joiner The result value.
   * @param joined Serdes.
   * @returns The joined stream.
   */
  leftJoin<VO, VR>(
    table: KTable<K, VO>,
    joiner: (value: V, other: VO | null) => VR,
    joined?: Joined<K, V, VO>,
  ): KStream<K, VR>;
  /**
   * Joins with another stream, keeping this stream's records that find no match (Kafka 3.1+
   * semantics): a record of this stream that joins nothing is held in the join's
   * `<name>-left-shared-join-store` and forwarded as `joiner(value, null)`, with its own
   * timestamp, only once the join's stream time (the largest timestamp either side has
   * processed) has passed its time + `afterMs` + `graceMs` without a match; a match in time
   * gives only the joined results. A record already that late when it arrives (its time +
   * `afterMs` is below the join's stream time) and without a match is forwarded with `null` at
   * once.
   *
   * @example
   * ```ts
   * import { JoinWindows, Serdes, StreamsBuilder, TopologyTestDriver } from "./mod.ts";
   * const S = Serdes.String();
   * const b = new StreamsBuilder();
   * b.stream<string, string>("views")
   *   .leftJoin(b.stream<string, string>("clicks"), (v, c) => `${v}/${c}`,
   *     JoinWindows.ofTimeDifferenceWithNoGrace(100))
   *   .to("out");
   * const d = new TopologyTestDriver(b.build(), { defaultKeySerde: S, defaultValueSerde: S });
   * d.createInputTopic("views", S, S).pipeInput("k", "v1", 1000);
   * d.createInputTopic("clicks", S, S).pipeInput("x", "c", 1101); // closes v1's window
   * const out = d.createOutputTopic("out", S, S).readRecordsToList();
   * console.assert(out[0].value === "v1/null" && out[0].timestamp === 1000);
   * ```
   *
   * @param other The other stream (co-partitioned with this one).
   * @param joiner The result value; `other` is `null` for a record without a match.
   * @param windows How far apart the timestamps may be, and the grace period.
   * @param joined Serdes and the name of the join's stores.
   * @returns The joined stream.
   */
  leftJoin<VO, VR>(
    other: KStream<K, VO>,
    joiner: (value: V, other: VO | null) => VR,
    windows: JoinWindows,
    joined?: Joined<K, V, VO>,
  ): KStream<K, VR>;
  leftJoin<VO, VR>(
    other: KTable<K, VO> | KStream<K, VO>,
    joiner: (value: V, other: VO | null) => VR,
    windowsOrJoined?: JoinWindows | Joined<K, V, VO>,
    joined: Joined<K, V, VO> = {},
  ): KStream<K, VR> {
    if (other instanceof KStream) {
      if (!(windowsOrJoined instanceof JoinWindows)) {
        throw new TypeError("leftJoin: a stream–stream join needs a JoinWindows");
      }
      return this.#streamJoin(
        other,
        joiner as (v: V | null, o: VO | null) => VR,
        windowsOrJoined,
        joined,
        "left",
      );
    }
    return this.#tableJoin(
      other,
      joiner as (v: V, o: VO) => VR,
      (windowsOrJoined ?? {}) as Joined<K, V, VO>,
      true,
    );
  }

  /**
   * Joins with another stream, keeping the records of either side that find no match (Kafka
   * 3.1+ semantics): as {@linkcode KStream.leftJoin} for both sides. A record of this stream
   * without a match is forwarded as `joiner(value, null)` once the join's stream time has
   * passed its time + `afterMs` + `graceMs`; one of the other stream as `joiner(null, other)`
   * once it has passed its time + `beforeMs` + `graceMs`. They wait in
   * `<name>-outer-shared-join-store`, a changelogged store.
   *
   * @param other The other stream (co-partitioned with this one).
   * @param joiner The result value; one side is `null` for a record without a match.
   * @param windows How far apart the timestamps may be, and the grace period.
   * @param joined Serdes and the name of the join's stores.
   * @returns The joined stream.
   */
  outerJoin<VO, VR>(
    other: KStream<K, VO>,
    joiner: (value: V | null, other: VO | null) => VR,
    windows: JoinWindows,
    joined: Joined<K, V, VO> = {},
  ): KStream<K, VR> {
    if (!(other instanceof KStream) || !(windows instanceof JoinWindows)) {
      throw new TypeError("outerJoin: joins two streams and needs a JoinWindows");
    }
    return this.#streamJoin(other, joiner, windows, joined, "outer");
  }

  #tableJoin<VO, VR>(
    table: KTable<K, VO>,
    joiner: (value: V, other: VO) => VR,
    joined: Joined<K, V, VO>,
    left: boolean,
  ): KStream<K, VR> {
    const name = this.#b.newName(left ? "KSTREAM-LEFTJOIN" : "KSTREAM-JOIN");
    const input = this.#partitioned(name, {
      keySerde: joined.keySerde,
      valueSerde: joined.valueSerde,
    });
    const t = tableParts(table);
    const node = this.#b.add("KSTREAM-JOIN", [input.#node], (ctx, forward) => {
      const get = t.getter(ctx);
      return (rec) => {
        // KIP-962 (Kafka 3.7): a left join forwards a record without a key, unjoined.
        if (left && rec.key === null && rec.value !== null) {
          forward({
            key: null,
            value: joiner(rec.value as V, null as VO),
            timestamp: rec.timestamp,
            headers: rec.headers,
          });
          return;
        }
        if (rec.key === null || rec.value === null) return ctx.dropRecord("join without key");
        const found = get(rec.key) as VO | null;
        if (found === null && !left) return;
        forward({
          key: rec.key,
          value: joiner(rec.value as V, found as VO),
          timestamp: rec.timestamp,
          headers: rec.headers,
        });
      };
    }, { name, stores: t.stores });
    return makeStream(this.#b, node, input.#keySerde ?? t.keySerde, undefined, false);
  }

  #streamJoin<VO, VR>(
    other: KStream<K, VO>,
    joiner: (value: V | null, other: VO | null) => VR,
    windows: JoinWindows,
    joined: Joined<K, V, VO>,
    mode: "inner" | "left" | "outer",
  ): KStream<K, VR> {
    const b = this.#b;
    const name = joined.name ??
      b.newName(mode === "outer" ? "KSTREAM-OUTERTHIS" : "KSTREAM-JOINTHIS");
    const left = this.#partitioned(`${name}-left`, {
      keySerde: joined.keySerde,
      valueSerde: joined.valueSerde,
    });
    const right = other.#partitioned(`${name}-right`, {
      keySerde: joined.keySerde,
      valueSerde: joined.otherValueSerde,
    });
    const keySerde = joined.keySerde ?? left.#keySerde ?? right.#keySerde;
    // Kafka's store names: an outer side's store is `-outer-this-join` / `-outer-other-join`.
    const thisStore = `${name}${mode === "outer" ? "-outer-this-join" : "-this-join"}-store`;
    const otherStore = `${name}${mode === "inner" ? "-other-join" : "-outer-other-join"}-store`;
    // Kafka's join stores keep a record for before + after + grace: no later record of the
    // other side can join it once the store's time has passed that.
    const retentionMs = Math.max(1, windows.beforeMs + windows.afterMs + windows.graceMs);
    for (const s of [thisStore, otherStore]) {
      b.addStore({ name: s, kind: "join", persistent: false, retentionMs });
    }
    // Records of an outer side that found no match yet (Kafka's outer-join store, keyed by
    // time, side and key): a key-value store with a compacted changelog, entries deleted when
    // matched or emitted.
    const sharedStore = mode === "inner"
      ? undefined
      : `${name}-${mode === "left" ? "left" : "outer"}-shared-join-store`;
    if (sharedStore !== undefined) {
      b.addStore({ name: sharedStore, kind: "join", persistent: false });
    }
    const stores = sharedStore === undefined
      ? [thisStore, otherStore]
      : [thisStore, otherStore, sharedStore];
    const thisSerde = joined.valueSerde ?? left.#valueSerde;
    const otherSerde = joined.otherValueSerde ?? right.#valueSerde;
    const side =
      (mine: string, theirs: string, isLeft: boolean) => (ctx: TaskContext, forward: Forward) => {
        const ks = ctx.keySerde(keySerde, name);
        const myVs = ctx.valueSerde<unknown>(isLeft ? thisSerde : otherSerde, name);
        const theirVs = ctx.valueSerde<unknown>(isLeft ? otherSerde : thisSerde, name);
        const leftVs = isLeft ? myVs : theirVs;
        const rightVs = isLeft ? theirVs : myVs;
        const my = ctx.store(mine);
        const their = ctx.store(theirs);
        const waiting = sharedStore === undefined ? undefined : ctx.store(sharedStore);
        // Whether this side's records without a match are kept (emitted with `null`).
        const keeps = mode === "outer" || (mode === "left" && isLeft);
        let seq = -1;
        // Shared by the task's two join processors (as Kafka's shared time tracker).
        let w: WaitingState | undefined;
        if (waiting !== undefined) {
          w = waitingStates.get(waiting);
          if (w === undefined) {
            waitingStates.set(waiting, w = { seq: -1, restores: -1, queues: undefined });
          }
        }
        // The other side's timestamps that join with a record at t: [t - before, t + after] seen
        // from the left, mirrored from the right.
        const lo = isLeft ? windows.beforeMs : windows.afterMs;
        const hi = isLeft ? windows.afterMs : windows.beforeMs;
        const joinOf = (l: unknown, r: unknown) => joiner(l as V | null, r as VO | null);
        /** Forwards, oldest first, the waiting records whose window + grace closed by `time`. */
        const emitClosed = (time: number, headers: Rec["headers"]) => {
          const store = waiting!;
          const queues = waitingQueues(w!, store);
          const closed: WaitingEntry[] = [];
          let sides = 0;
          for (const side of [RIGHT, LEFT]) {
            const q = queues[side];
            const lookback = side === LEFT ? windows.afterMs : windows.beforeMs;
            const before = closed.length;
            let h = q.head;
            // A side's records close in the order of their time: pop the closed head.
            while (h < q.items.length && q.items[h].ts + lookback + windows.graceMs < time) {
              const it = q.items[h++];
              // Not in the store: matched since (or emitted already).
              if (store.get(it.key) !== undefined) closed.push(it);
            }
            q.head = h;
            if (h > 1024 && h * 2 > q.items.length) {
              q.items.splice(0, h);
              q.head = 0;
            }
            if (closed.length > before) sides++;
          }
          if (sides === 2) closed.sort(compareWaiting);
          for (const it of closed) {
            const e = store.get(it.key)!;
            forward({
              key: ks.deserialize(it.kb),
              value: it.side === LEFT
                ? joinOf(leftVs.deserialize(e.value), null)
                : joinOf(null, rightVs.deserialize(e.value)),
              timestamp: it.ts,
              headers,
            });
            store.put(it.key, null, time);
          }
        };
        // As Kafka's KStreamKStreamJoin, no stream time drops a record here: each join store
        // expires by its own time (the latest record time put into it), so a late record is
        // not kept (the store skips the write) but still joins with what the other side's
        // store holds.
        return (rec: Rec) => {
          // KIP-962 (Kafka 3.7): a kept side forwards a record without a key at once, unjoined
          // (it can never match).
          if (keeps && rec.key === null && rec.value !== null) {
            forward({
              key: null,
              value: isLeft ? joinOf(rec.value, null) : joinOf(null, rec.value),
              timestamp: rec.timestamp,
              headers: rec.headers,
            });
            return;
          }
          if (rec.key === null || rec.value === null) return ctx.dropRecord("join without key");
          const ts = rec.timestamp;
          const kb = ks.serialize(rec.key as K)!;
          if (seq < 0) seq = nextSeq(my.range());
          my.put(joinKey(kb, ts, seq++), myVs.serialize(rec.value), ctx.streamTime);
          // The join's stream time: the largest timestamp either side has processed (Kafka's
          // shared time tracker), kept by the two stores (restored with them).
          const time = Math.max(my.observedStreamTime, their.observedStreamTime);
          if (waiting !== undefined) {
            if (waiting.restores !== w!.restores) {
              w!.restores = waiting.restores;
              w!.queues = undefined;
              w!.seq = -1;
            }
            if (ts === time) emitClosed(time, rec.headers);
          }
          const matches: StoreEntry[] = their.byInnerKey(kb);
          matches.sort((a, c) => compareBytes(a.key, c.key));
          let matched = false;
          for (const e of matches) {
            const ots = joinTimeOf(e.key);
            if (ots < ts - lo || ots > ts + hi) continue;
            matched = true;
            // The other side's record is matched: it no longer waits for a `null` partner.
            if (waiting !== undefined) {
              for (const w of waiting.byInnerKey(sidedKey(kb, isLeft ? RIGHT : LEFT))) {
                if (joinTimeOf(w.key) === ots) waiting.put(w.key, null, time);
              }
            }
            const o = theirVs.deserialize(e.value);
            forward({
              key: rec.key,
              value: isLeft ? joinOf(rec.value, o) : joinOf(o, rec.value),
              timestamp: Math.max(ts, ots),
              headers: rec.headers,
            });
          }
          if (matched || !keeps) return;
          if (ts + hi < time) {
            // Its window has closed already: no later record can match it.
            forward({
              key: rec.key,
              value: isLeft ? joinOf(rec.value, null) : joinOf(null, rec.value),
              timestamp: ts,
              headers: rec.headers,
            });
            return;
          }
          const store = waiting!;
          const inner = sidedKey(kb, isLeft ? LEFT : RIGHT);
          const queues = waitingQueues(w!, store);
          if (w!.seq < 0) w!.seq = nextSeq(store.range());
          const seqNo = w!.seq++;
          const key = joinKey(inner, ts, seqNo);
          store.put(key, myVs.serialize(rec.value), ts);
          enqueue(queues[isLeft ? LEFT : RIGHT], {
            key,
            kb,
            side: isLeft ? LEFT : RIGHT,
            ts,
            seq: seqNo,
          });
        };
      };
    const outer = mode === "outer" ? "KSTREAM-OUTERTHIS" : "KSTREAM-JOINTHIS";
    const l = b.add(outer, [left.#node], side(thisStore, otherStore, true), { stores });
    const r = b.add(
      mode === "inner" ? "KSTREAM-JOINOTHER" : "KSTREAM-OUTEROTHER",
      [right.#node],
      side(otherStore, thisStore, false),
      { stores },
    );
    const merged = b.add("KSTREAM-MERGE", [l, r], pass);
    return makeStream(b, merged, keySerde, undefined, false);
  }
}

/** A waiting record of a stream–stream left/outer join, by its key in the outer-join store. */
interface WaitingEntry {
  key: Uint8Array;
  kb: Uint8Array;
  side: number;
  ts: number;
  seq: number;
}

/** One side's waiting records in the order they close: time, key bytes, arrival (from `head`;
 * an entry no longer in the store was matched and is skipped). */
interface WaitingQueue {
  items: WaitingEntry[];
  head: number;
}

/**
 * What a task's two outer-join processors share about their waiting records: the next
 * sequence number, a queue per side (index {@linkcode RIGHT}, {@linkcode LEFT}) built from the
 * store when first needed, and the store's restore count when these were made (a restore under
 * the processors makes them be built again).
 */
interface WaitingState {
  seq: number;
  restores: number;
  queues: [WaitingQueue, WaitingQueue] | undefined;
}

/** Kafka's order of waiting records: time, right before left, key bytes, then arrival. */
function compareWaiting(x: WaitingEntry, y: WaitingEntry): number {
  return x.ts - y.ts || x.side - y.side || compareBytes(x.kb, y.kb) || x.seq - y.seq;
}

/** The state's queues, built from the store's entries when missing. */
function waitingQueues(w: WaitingState, store: BytesStore): [WaitingQueue, WaitingQueue] {
  if (w.queues !== undefined) return w.queues;
  const queues: [WaitingQueue, WaitingQueue] = [{ items: [], head: 0 }, { items: [], head: 0 }];
  for (const e of store.range()) {
    const k = waitingKeyOf(e.key);
    queues[k.side].items.push({ key: e.key, ...k });
  }
  for (const q of queues) q.items.sort(compareWaiting);
  return w.queues = queues;
}

/** Adds a waiting record to its side's queue (appended when it is the latest, as usual). */
function enqueue(q: WaitingQueue, it: WaitingEntry): void {
  const items = q.items;
  if (items.length === q.head || compareWaiting(items[items.length - 1], it) <= 0) {
    items.push(it);
    return;
  }
  let lo = q.head;
  let hi = items.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareWaiting(items[mid], it) <= 0) lo = mid + 1;
    else hi = mid;
  }
  items.splice(lo, 0, it);
}

const waitingStates = new WeakMap<BytesStore, WaitingState>();

/** Side bytes of a waiting record's key: right before left at one time, as Kafka orders them. */
const RIGHT = 0;
const LEFT = 1;

/** The inner key of a waiting record: the key's bytes then its side. */
function sidedKey(kb: Uint8Array, side: number): Uint8Array {
  const out = new Uint8Array(kb.length + 1);
  out.set(kb, 0);
  out[kb.length] = side;
  return out;
}

function waitingKeyOf(key: Uint8Array): { kb: Uint8Array; side: number; ts: number; seq: number } {
  const n = key.length - 13;
  const view = new DataView(key.buffer, key.byteOffset + n + 1, 12);
  return {
    kb: key.subarray(0, n),
    side: key[n],
    ts: Number(view.getBigInt64(0)),
    seq: view.getUint32(8),
  };
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

function joinKey(inner: Uint8Array, ts: number, seq: number): Uint8Array {
  const out = new Uint8Array(inner.length + 12);
  out.set(inner, 0);
  const view = new DataView(out.buffer);
  view.setBigInt64(inner.length, BigInt(ts));
  view.setUint32(inner.length + 8, seq >>> 0);
  return out;
}

function joinTimeOf(key: Uint8Array): number {
  return Number(new DataView(key.buffer, key.byteOffset + key.length - 12, 8).getBigInt64(0));
}

function nextSeq(entries: StoreEntry[]): number {
  let max = -1;
  for (const e of entries) {
    const s = new DataView(e.key.buffer, e.key.byteOffset + e.key.length - 4, 4).getUint32(0);
    if (s > max) max = s;
  }
  return max + 1;
}

let makeBranched: <K, V>(
  prefix: string,
  predicates: Array<(key: K, value: V) => boolean>,
  child: (name: string) => KStream<K, V>,
) => BranchedKStream<K, V>;

/**
 * The branches of {@linkcode KStream.split}, added in order; finish with
 * {@linkcode BranchedKStream.defaultBranch} or {@linkcode BranchedKStream.noDefaultBranch}.
 */
export class BranchedKStream<K, V> {
  #prefix = "";
  #predicates: Array<(key: K, value: V) => boolean> = [];
  #child!: (name: string) => KStream<K, V>;
  #out: Record<string, KStream<K, V>> = {};

  private constructor() {}

  static {
    makeBranched = <K, V>(
      prefix: string,
      predicates: Array<(key: K, value: V) => boolean>,
      child: (name: string) => KStream<K, V>,
    ) => {
      const s = new BranchedKStream<K, V>();
      s.#prefix = prefix;
      s.#predicates = predicates;
      s.#child = child;
      return s;
    };
  }

  /**
   * Adds a branch.
   *
   * @param predicate Which records it takes (those no earlier branch took).
   * @param branched Its name.
   * @returns This builder.
   */
  branch(predicate: (key: K, value: V) => boolean, branched: Branched = {}): BranchedKStream<K, V> {
    this.#predicates.push(predicate);
    const name = this.#prefix + (branched.name ?? String(this.#predicates.length));
    this.#out[name] = this.#child(name);
    return this;
  }

  /**
   * Ends the split with a branch for records no predicate took.
   *
   * @param branched Its name (default: position `0`).
   * @returns The branches by name.
   */
  defaultBranch(branched: Branched = {}): Record<string, KStream<K, V>> {
    const name = this.#prefix + (branched.name ?? "0");
    this.#out[name] = this.#child(name);
    return this.#out;
  }

  /**
   * Ends the split; records no predicate took are dropped.
   *
   * @returns The branches by name.
   */
  noDefaultBranch(): Record<string, KStream<K, V>> {
    return this.#out;
  }
}

let tableParts: <K, V>(t: KTable<K, V>) => {
  node: NodeDef;
  stores: string[];
  getter: Getter;
  keySerde: Serde<K> | undefined;
};

/**
 * A table: the latest value per key of a changelog stream.
 *
 * @typeParam K Key type.
 * @typeParam V Value type.
 */
export class KTable<K, V> {
  #b!: GraphBuilder;
  #node!: NodeDef;
  #keySerde: Serde<K> | undefined;
  #valueSerde: Serde<V> | undefined;
  #stores: string[] = [];
  #getter!: Getter;
  #windowed: WindowedTable | undefined;

  private constructor() {}

  static {
    makeTable = <K, V>(
      b: GraphBuilder,
      node: NodeDef,
      keySerde: Serde<K> | undefined,
      valueSerde: Serde<V> | undefined,
      stores: string[],
      getter: Getter,
      windowed?: WindowedTable,
    ) => {
      const t = new KTable<K, V>();
      t.#windowed = windowed;
      t.#b = b;
      t.#node = node;
      t.#keySerde = keySerde;
      t.#valueSerde = valueSerde;
      t.#stores = stores;
      t.#getter = getter;
      return t;
    };
    tableParts = (t) => ({
      node: t.#node,
      stores: t.#stores,
      getter: t.#getter,
      keySerde: t.#keySerde,
    });
  }

  /** The name of the store behind this table, queryable with {@linkcode KafkaStreams.store}. */
  get queryableStoreName(): string | undefined {
    return this.#stores.length === 1 && this.#node.stores.includes(this.#stores[0])
      ? this.#stores[0]
      : undefined;
  }

  /**
   * Keeps the entries for which `predicate` holds (others read as deleted).
   *
   * @param predicate Test of key and value.
   * @returns The filtered table.
   */
  filter(predicate: (key: K, value: V) => boolean): KTable<K, V> {
    const keep = (k: unknown, v: unknown) =>
      v === null || v === undefined ? null : predicate(k as K, v as V) ? v : null;
    const node = this.#b.add("KTABLE-FILTER", [this.#node], (_ctx, forward) => (rec) => {
      const value = keep(rec.key, rec.value);
      const oldValue = keep(rec.key, rec.oldValue);
      if (value === null && oldValue === null) return;
      forward({ key: rec.key, value, oldValue, timestamp: rec.timestamp, headers: rec.headers });
    });
    const parent = this.#getter;
    return makeTable(this.#b, node, this.#keySerde, this.#valueSerde, this.#stores, (ctx) => {
      const get = parent(ctx);
      return (key) => keep(key, get(key));
    }, this.#windowed);
  }

  /**
   * Drops the entries for which `predicate` holds.
   *
   * @param predicate Test of key and value.
   * @returns The filtered table.
   */
  filterNot(predicate: (key: K, value: V) => boolean): KTable<K, V> {
    return this.filter((k, v) => !predicate(k, v));
  }

  /**
   * Maps each value.
   *
   * @param mapper New value from value and key.
   * @returns The mapped table.
   */
  mapValues<V2>(mapper: (value: V, key: K) => V2): KTable<K, V2> {
    const map = (k: unknown, v: unknown) =>
      v === null || v === undefined ? null : mapper(v as V, k as K);
    const node = this.#b.add("KTABLE-MAPVALUES", [this.#node], (_ctx, forward) => (rec) => {
      forward({
        key: rec.key,
        value: map(rec.key, rec.value),
        oldValue: map(rec.key, rec.oldValue),
        timestamp: rec.timestamp,
        headers: rec.headers,
      });
    });
    const parent = this.#getter;
    return makeTable<K, V2>(this.#b, node, this.#keySerde, undefined, this.#stores, (ctx) => {
      const get = parent(ctx);
      return (key) => map(key, get(key));
    }, this.#windowed);
  }

  /**
   * Holds a windowed table's updates back and forwards only each window's final result
   * (Kafka's `suppress(Suppressed.untilWindowCloses(...))`): every update replaces the window's
   * entry in a buffer; once the suppression's stream time (the largest timestamp of the updates
   * that reached it) minus the windows' grace period is at or past a window's end, its last
   * value is forwarded, with the timestamp of its last update, and leaves the buffer. Windows
   * close in order of their end, then of their serialized key. A window whose last update is a
   * deletion (a merged-away session) is forwarded as nothing. The buffer is the store
   * `<name>-store` with a compacted changelog: a restart or a moved task resumes with the
   * windows not yet forwarded and the suppression's time, so under exactly-once each final
   * result is written once.
   *
   * @example
   * ```ts
   * import {
   *   BufferConfig, Serdes, StreamsBuilder, Suppressed, TimeWindows, TopologyTestDriver,
   * } from "./mod.ts";
   * const S = Serdes.String();
   * const b = new StreamsBuilder();
   * b.stream<string, string>("in").groupByKey()
   *   .windowedBy(TimeWindows.ofSizeAndGrace(1000, 100)).count()
   *   .suppress(Suppressed.untilWindowCloses(BufferConfig.unbounded()))
   *   .toStream().map((w, n) => [`${w.key}@${w.window.start}`, n])
   *   .to("out", { valueSerde: Serdes.Int64() });
   * const d = new TopologyTestDriver(b.build(), { defaultKeySerde: S, defaultValueSerde: S });
   * const input = d.createInputTopic("in", S, S);
   * input.pipeInput("a", "x", 10);
   * input.pipeInput("a", "x", 20);
   * input.pipeInput("b", "x", 1100); // 1100 - 100 >= 1000: [0, 1000) closes
   * const out = d.createOutputTopic("out", S, Serdes.Int64()).readKeyValuesToList();
   * console.assert(out.length === 1 && out[0][0] === "a@0" && out[0][1] === 2);
   * ```
   *
   * @param suppressed `Suppressed.untilWindowCloses(buffer)`, optionally named.
   * @returns The table of final results.
   * @throws {TypeError} If the table is not windowed (from a windowed or session aggregation,
   * maybe through `filter` or `mapValues`).
   * @throws {Error} While processing, when a bounded buffer is full (the instance stops, as
   * Kafka's `shutDownWhenFull`).
   */
  suppress(suppressed: Suppressed): KTable<K, V> {
    const w = this.#windowed;
    if (w === undefined) {
      throw new TypeError(
        "suppress: untilWindowCloses needs a windowed table (a windowed or session aggregation)",
      );
    }
    const b = this.#b;
    const name = suppressed.name ?? b.newName("KTABLE-SUPPRESS");
    const storeName = `${name}-store`;
    b.addStore({ name: storeName, kind: "kv", persistent: false });
    const valueSerde = this.#valueSerde;
    const max = suppressed.buffer.maxRecords;
    const node = b.add("KTABLE-SUPPRESS", [this.#node], (ctx, forward) => {
      const ks = ctx.keySerde(w.keySerde, name);
      const vs = ctx.valueSerde<unknown>(valueSerde, name);
      const buffer = ctx.store(storeName);
      // The suppression's time (Kafka's `observedStreamTime`: the largest timestamp of the
      // updates that reached it), and a lower bound of the buffered windows' ends (-Infinity:
      // unknown). The time is not stored: every window it has closed was forwarded and left the
      // buffer in the step that moved it, so after a restart it starts from none and closes
      // nothing differently (a record older than it closes nothing either way, and the first
      // newer one puts it past where it was).
      let observed = -1;
      let minEnd = -Infinity;
      let restores = -1;
      return (rec) => {
        if (buffer.restores !== restores) {
          restores = buffer.restores;
          minEnd = -Infinity;
        }
        if (rec.timestamp > observed) observed = rec.timestamp;
        const wk = rec.key as Windowed<unknown>;
        const key = suppressKey(ks.serialize(wk.key)!, wk.window);
        if (rec.value === null || rec.value === undefined) {
          buffer.put(key, null, observed);
        } else {
          const v = vs.serialize(rec.value)!;
          const value = new Uint8Array(8 + v.length);
          value.set(int64Bytes(rec.timestamp), 0);
          value.set(v, 8);
          buffer.put(key, value, observed);
          if (wk.window.end < minEnd) minEnd = wk.window.end;
          if (buffer.size > max) {
            throw new Error(
              `suppress ${name}: the buffer is full (${max} windows, BufferConfig.maxRecords)`,
            );
          }
        }
        const expiry = observed - w.graceMs;
        if (minEnd > expiry) return;
        let next = Infinity;
        for (const e of buffer.range()) {
          const end = readInt64(e.key, 0);
          if (end > expiry) {
            next = end;
            break;
          }
          const start = readInt64(e.key, e.key.length - 8);
          forward({
            key: {
              key: ks.deserialize(e.key.subarray(8, e.key.length - 8)),
              window: { start, end },
            },
            value: vs.deserialize(e.value.subarray(8)),
            oldValue: null,
            timestamp: readInt64(e.value, 0),
            headers: [],
          });
          buffer.put(e.key, null, observed);
        }
        minEnd = next;
      };
    }, { name, stores: [storeName] });
    return makeTable(
      b,
      node,
      this.#keySerde,
      this.#valueSerde,
      this.#stores,
      this.#getter,
      this.#windowed,
    );
  }

  #parts(): TableParts {
    return {
      b: this.#b,
      node: this.#node,
      stores: this.#stores,
      getter: this.#getter,
      keySerde: this.#keySerde as Serde<unknown> | undefined,
      valueSerde: this.#valueSerde as Serde<unknown> | undefined,
    };
  }

  /**
   * Re-groups the table by a new key (Kafka's `KTable.groupBy`), to aggregate with an adder and
   * a subtractor ({@linkcode KGroupedTable}). Every update goes through the repartition topic
   * `<applicationId>-<name>-repartition` (`name`: `grouped.name`, else the aggregation's store
   * name) as Kafka 3.4+ writes it: one record with the old and the new value when both map to
   * the same group, else a subtraction (old value) to the old group followed by an addition
   * (new value) to the new group; a deletion only subtracts. Entries the selector maps to a
   * `null` key or value are left out.
   *
   * @example Users per region
   * ```ts
   * import { Serdes, StreamsBuilder, TopologyTestDriver } from "./mod.ts";
   * const S = Serdes.String();
   * const b = new StreamsBuilder();
   * b.table<string, string>("user-regions")
   *   .groupBy((user, region) => [region, user])
   *   .count({ storeName: "per-region" });
   * const d = new TopologyTestDriver(b.build(), { defaultKeySerde: S, defaultValueSerde: S });
   * const users = d.createInputTopic("user-regions", S, S);
   * users.pipeInput("alice", "europe");
   * users.pipeInput("bob", "europe");
   * users.pipeInput("alice", null); // deleted: subtracted from europe
   * console.assert(d.getKeyValueStore<string, number>("per-region").get("europe") === 1);
   * ```
   *
   * @param selector The new `[key, value]` of an entry.
   * @param grouped The repartition topic's name and serdes (default: the application's).
   * @returns The grouped table.
   */
  groupBy<K2, V2>(
    selector: (key: K, value: V) => [K2, V2],
    grouped: Grouped<K2, V2> = {},
  ): KGroupedTable<K2, V2> {
    return groupTable(this.#parts(), selector, grouped, makeTable as MakeTable);
  }

  /**
   * Joins with another table on equal keys (inner join; Kafka's KTable-KTable join): an update
   * of either side looks the key up in the other and forwards `joiner(left, right)`, or a
   * tombstone (`null`) when the key no longer joins; an update whose key is missing on the
   * other side forwards nothing. The result's timestamp is the larger of the update's and the
   * other side's value's. Both tables must be co-partitioned (their topics' partition counts
   * equal, checked at start).
   *
   * @example
   * ```ts
   * import { Serdes, StreamsBuilder, TopologyTestDriver } from "./mod.ts";
   * const S = Serdes.String();
   * const b = new StreamsBuilder();
   * const names = b.table<string, string>("names");
   * const emails = b.table<string, string>("emails");
   * names.join(emails, (n, e) => `${n} <${e}>`, { storeName: "contacts" }).toStream().to("out");
   * const d = new TopologyTestDriver(b.build(), { defaultKeySerde: S, defaultValueSerde: S });
   * d.createInputTopic("names", S, S).pipeInput("u1", "Ann");
   * d.createInputTopic("emails", S, S).pipeInput("u1", "ann@example.com");
   * d.createInputTopic("names", S, S).pipeInput("u1", null);
   * const out = d.createOutputTopic("out", S, S).readKeyValuesToList();
   * console.assert(out[0][1] === "Ann <ann@example.com>" && out[1][1] === null);
   * ```
   *
   * @param other The other table (same key type).
   * @param joiner The result from both values.
   * @param materialized A store for the result (`storeName`: queryable); default none.
   * @returns The joined table.
   */
  join<VO, VR>(
    other: KTable<K, VO>,
    joiner: (value: V, other: VO) => VR,
    materialized?: Materialized<K, VR>,
  ): KTable<K, VR>;
  /**
   * Joins with another table on a foreign key (Kafka's `KTable.join(other,
   * foreignKeyExtractor, joiner)`, KIP-213): each entry of this table joins the entry of
   * `other` whose key `foreignKeyExtractor(value, key)` returns; the result is keyed by this
   * table's key, and deleted (a tombstone) when the entry, its foreign key's entry, or the
   * match goes away. An entry whose foreign key is `null` joins nothing. The tables need not be
   * co-partitioned: updates go through the internal topics
   * `<applicationId>-<name>-subscription-registration-topic` and
   * `<applicationId>-<name>-subscription-response-topic` as in Kafka (see `docs/STREAMS.md`).
   *
   * @example Orders joined with their customer
   * ```ts
   * import { Serdes, StreamsBuilder, TopologyTestDriver } from "./mod.ts";
   * const S = Serdes.String();
   * const b = new StreamsBuilder();
   * const orders = b.table<string, string>("orders"); // value: "<customer>:<item>"
   * const customers = b.table<string, string>("customers");
   * orders.join(customers, (o) => o.split(":")[0], (o, c) => `${o.split(":")[1]} for ${c}`, {
   *   storeName: "orders-with-customer",
   * });
   * const d = new TopologyTestDriver(b.build(), { defaultKeySerde: S, defaultValueSerde: S });
   * d.createInputTopic("customers", S, S).pipeInput("c1", "Ann");
   * d.createInputTopic("orders", S, S).pipeInput("o1", "c1:book");
   * const store = d.getKeyValueStore<string, string>("orders-with-customer");
   * console.assert(store.get("o1") === "book for Ann");
   * ```
   *
   * @param other The table keyed by the foreign key.
   * @param foreignKeyExtractor The foreign key of this table's entry (`null`: none).
   * @param joiner The result from this table's value and the other's.
   * @param options `name` (Kafka's `TableJoined.as`), the result store (`storeName`, default
   *   `KTABLE-FK-JOIN-OUTPUT-STATE-STORE-<n>`) and its serdes.
   * @returns The joined table.
   */
  join<KO, VO, VR>(
    other: KTable<KO, VO>,
    foreignKeyExtractor: (value: V, key: K) => KO | null,
    joiner: (value: V, other: VO) => VR,
    options?: ForeignKeyJoinOptions<K, VR>,
  ): KTable<K, VR>;
  join<VR>(
    other: unknown,
    a: unknown,
    b?: unknown,
    c?: ForeignKeyJoinOptions<K, VR>,
  ): KTable<K, VR> {
    if (typeof b === "function") return this.#fkJoin(other, a, b, false, c ?? {});
    return this.#tableJoin(
      other as KTable<K, unknown>,
      a as (l: unknown, r: unknown) => unknown,
      "inner",
      (b ?? {}) as Materialized<K, VR>,
    );
  }

  /**
   * Joins with another table, keeping this table's keys without a match (`joiner(value,
   * null)`); the result of a key is deleted (a tombstone) only when this table deletes it.
   *
   * @param other The other table.
   * @param joiner The result; `other` is `null` for a key the other table lacks.
   * @param materialized A store for the result; default none.
   * @returns The joined table.
   */
  leftJoin<VO, VR>(
    other: KTable<K, VO>,
    joiner: (value: V, other: VO | null) => VR,
    materialized?: Materialized<K, VR>,
  ): KTable<K, VR>;
  /**
   * Left join on a foreign key (Kafka's `KTable.leftJoin(other, foreignKeyExtractor,
   * joiner)`): as the foreign-key `join`, but every entry of this table has a result,
   * `joiner(value, null)` while its foreign key (maybe `null`) has no entry in `other`; the
   * result is deleted only when this table deletes the entry.
   *
   * @param other The table keyed by the foreign key.
   * @param foreignKeyExtractor The foreign key of this table's entry (`null`: none).
   * @param joiner The result; `other` is `null` for an entry without a match.
   * @param options `name`, the result store and its serdes (as the foreign-key `join`).
   * @returns The joined table.
   */
  leftJoin<KO, VO, VR>(
    other: KTable<KO, VO>,
    foreignKeyExtractor: (value: V, key: K) => KO | null,
    joiner: (value: V, other: VO | null) => VR,
    options?: ForeignKeyJoinOptions<K, VR>,
  ): KTable<K, VR>;
  leftJoin<VR>(
    other: unknown,
    a: unknown,
    b?: unknown,
    c?: ForeignKeyJoinOptions<K, VR>,
  ): KTable<K, VR> {
    if (typeof b === "function") return this.#fkJoin(other, a, b, true, c ?? {});
    return this.#tableJoin(
      other as KTable<K, unknown>,
      a as (l: unknown, r: unknown) => unknown,
      "left",
      (b ?? {}) as Materialized<K, VR>,
    );
  }

  #fkJoin<VR>(
    other: unknown,
    extract: unknown,
    joiner: unknown,
    leftJoin: boolean,
    options: ForeignKeyJoinOptions<K, VR>,
  ): KTable<K, VR> {
    const what = leftJoin ? "leftJoin" : "join";
    if (!(other instanceof KTable)) {
      throw new TypeError(`foreign-key ${what}: the other side must be a KTable`);
    }
    if (this.#windowed !== undefined || other.#windowed !== undefined) {
      throw new TypeError(`foreign-key ${what}: windowed tables cannot be joined on a foreign key`);
    }
    return foreignKeyJoin(
      this.#parts(),
      other.#parts(),
      extract as (v: unknown, k: unknown) => unknown,
      joiner as (l: unknown, r: unknown) => unknown,
      leftJoin,
      options as ForeignKeyJoinOptions<unknown, unknown>,
      makeTable as MakeTable,
    ) as KTable<K, VR>;
  }

  /**
   * Joins with another table, keeping the keys of either side (`joiner(value, null)`,
   * `joiner(null, other)`); a key's result is deleted once both sides deleted it.
   *
   * @param other The other table.
   * @param joiner The result; one side is `null` for a key only the other has.
   * @param materialized A store for the result; default none.
   * @returns The joined table.
   */
  outerJoin<VO, VR>(
    other: KTable<K, VO>,
    joiner: (value: V | null, other: VO | null) => VR,
    materialized: Materialized<K, VR> = {},
  ): KTable<K, VR> {
    return this.#tableJoin(
      other,
      joiner as (l: unknown, r: unknown) => unknown,
      "outer",
      materialized,
    );
  }

  #tableJoin<VO, VR>(
    other: KTable<K, VO>,
    joiner: (l: unknown, r: unknown) => unknown,
    mode: "inner" | "left" | "outer",
    materialized: Materialized<K, VR>,
  ): KTable<K, VR> {
    if (!(other instanceof KTable)) {
      throw new TypeError(`${mode} join: the other side must be a KTable`);
    }
    return joinTables(
      this.#parts(),
      other.#parts(),
      joiner,
      mode,
      materialized as Materialized<unknown, unknown>,
      makeTable as MakeTable,
    ) as KTable<K, VR>;
  }

  /**
   * The table's updates as a stream (a deletion is a record with a `null` value).
   *
   * @returns The changelog stream.
   */
  toStream(): KStream<K, V> {
    const node = this.#b.add("KTABLE-TOSTREAM", [this.#node], (_ctx, forward) => (rec) => {
      forward({ key: rec.key, value: rec.value, timestamp: rec.timestamp, headers: rec.headers });
    });
    return makeStream(this.#b, node, this.#keySerde, this.#valueSerde, false);
  }
}

/** A suppression buffer's key: window end, the inner key's bytes, window start (Kafka's buffer
 * order: time, then the serialized windowed key). */
function suppressKey(inner: Uint8Array, window: Window): Uint8Array {
  const out = new Uint8Array(inner.length + 16);
  out.set(int64Bytes(window.end), 0);
  out.set(inner, 8);
  out.set(int64Bytes(window.start), 8 + inner.length);
  return out;
}

function int64Bytes(n: number): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigInt64(0, BigInt(n));
  return out;
}

function readInt64(b: Uint8Array, at: number): number {
  return Number(new DataView(b.buffer, b.byteOffset + at, 8).getBigInt64(0));
}

type Update = (key: unknown, value: unknown, old: unknown) => unknown;

/** `count`: one more than the current aggregate (none: 0). */
const countUpdate: Update = (_k, _v, old) => ((old as number | null) ?? 0) + 1;

/** `reduce`: the first value, then the reducer over the current aggregate and a value. */
function reduceUpdate<V>(reducer: (aggregate: V, value: V) => V): Update {
  return (_k, v, old) => old === null ? v : reducer(old as V, v as V);
}

/** `aggregate`: the aggregator over the current aggregate (none: the initializer's). */
function aggregateUpdate<K, V, VA>(
  initializer: () => VA,
  aggregator: (key: K, value: V, aggregate: VA) => VA,
): Update {
  return (k, v, old) => aggregator(k as K, v as V, old === null ? initializer() : old as VA);
}

/** `count`'s store: the value serde defaults to int64. */
function countMaterialized<K>(materialized: Materialized<K, number>): Materialized<K, number> {
  return { ...materialized, valueSerde: materialized.valueSerde ?? Serdes.Int64() };
}

/** What a grouped stream aggregates: the graph, its input (for a store) and its serdes. */
interface Grouping<K, V> {
  b: GraphBuilder;
  input: (storeName: string) => NodeDef;
  keySerde: Serde<K> | undefined;
  valueSerde: Serde<V> | undefined;
}

/** An aggregation's store and the node that feeds it. */
interface AggregationStore<K, VA> {
  storeName: string;
  input: NodeDef;
  keySerde: Serde<K> | undefined;
  valueSerde: Serde<VA> | undefined;
}

/**
 * Names an aggregation's store (`materialized.storeName`, else a new `prefix` name), takes the
 * grouping's input for it and declares the store (key serde default: the grouping's).
 */
function addAggregationStore<K, VA>(
  g: Grouping<K, unknown>,
  materialized: Materialized<K, VA>,
  prefix: string,
  layout: (storeName: string) => Pick<StoreDef, "kind" | "windowSizeMs" | "retentionMs">,
): AggregationStore<K, VA> {
  const storeName = materialized.storeName ?? g.b.newName(prefix);
  const input = g.input(storeName);
  const keySerde = materialized.keySerde ?? g.keySerde;
  const valueSerde = materialized.valueSerde;
  const { kind, ...extent } = layout(storeName);
  g.b.addStore({
    name: storeName,
    kind,
    persistent: materialized.persistent ?? false,
    keySerde: keySerde as Serde<unknown> | undefined,
    valueSerde: valueSerde as Serde<unknown> | undefined,
    ...extent,
  });
  return { storeName, input, keySerde, valueSerde };
}

/**
 * Adds an aggregation node over its store: records without key or value are dropped; `step`
 * gets every other record with its serialized key.
 */
function addAggregationNode<K, VA>(
  b: GraphBuilder,
  name: string,
  s: AggregationStore<K, VA>,
  step: (
    ctx: TaskContext,
    forward: Forward,
    store: BytesStore,
    vs: Serde<VA>,
  ) => (rec: Rec, kb: Uint8Array) => void,
): NodeDef {
  return b.add(name, [s.input], (ctx, forward) => {
    const ks = ctx.keySerde(s.keySerde, s.storeName);
    const apply = step(
      ctx,
      forward,
      ctx.store(s.storeName),
      ctx.valueSerde(s.valueSerde, s.storeName),
    );
    return (rec) => {
      if (rec.key === null || rec.value === null) {
        return ctx.dropRecord("aggregation of a record without key or value");
      }
      apply(rec, ks.serialize(rec.key as K)!);
    };
  }, { stores: [s.storeName] });
}

/** Reads a windowed aggregation's store by {@linkcode Windowed} key. */
function windowedGetter<K>(
  s: AggregationStore<K, unknown>,
  storeKey: (inner: Uint8Array, window: Window) => Uint8Array,
): Getter {
  return (ctx) => {
    const store = ctx.store(s.storeName);
    const ks = ctx.keySerde(s.keySerde, s.storeName);
    const vs = ctx.valueSerde(s.valueSerde, s.storeName);
    return (key) => {
      const w = key as Windowed<K>;
      const e = store.get(storeKey(ks.serialize(w.key)!, w.window));
      return e === undefined ? null : vs.deserialize(e.value);
    };
  };
}

let makeGrouped: <K, V>(
  b: GraphBuilder,
  input: (storeName: string) => NodeDef,
  keySerde: Serde<K> | undefined,
  valueSerde: Serde<V> | undefined,
) => KGroupedStream<K, V>;

/**
 * A grouped stream, to aggregate per key.
 *
 * @typeParam K Key type.
 * @typeParam V Value type.
 */
export class KGroupedStream<K, V> {
  #g!: Grouping<K, V>;

  private constructor() {}

  static {
    makeGrouped = <K, V>(
      b: GraphBuilder,
      input: (storeName: string) => NodeDef,
      keySerde: Serde<K> | undefined,
      valueSerde: Serde<V> | undefined,
    ) => {
      const g = new KGroupedStream<K, V>();
      g.#g = { b, input, keySerde, valueSerde };
      return g;
    };
  }

  #aggregate<VA>(
    update: Update,
    materialized: Materialized<K, VA>,
  ): KTable<K, VA> {
    const b = this.#g.b;
    const s = addAggregationStore(
      this.#g,
      materialized,
      "KSTREAM-AGGREGATE-STATE-STORE",
      () => ({ kind: "kv" }),
    );
    const node = addAggregationNode(b, "KSTREAM-AGGREGATE", s, (_ctx, forward, store, vs) => {
      return (rec, kb) => {
        const e = store.get(kb);
        const old = e === undefined ? null : vs.deserialize(e.value);
        const value = update(rec.key, rec.value, old) as VA;
        // The aggregate's timestamp, as Kafka's KStreamAggregate stores it (table-table joins
        // read it).
        const time = e === undefined ? rec.timestamp : Math.max(rec.timestamp, e.timestamp);
        store.put(kb, vs.serialize(value), time);
        forward({
          key: rec.key,
          value,
          oldValue: old,
          timestamp: rec.timestamp,
          headers: rec.headers,
        });
      };
    });
    return makeTable(
      b,
      node,
      s.keySerde,
      s.valueSerde,
      [s.storeName],
      storeGetter(s.storeName, {
        keySerde: s.keySerde,
        valueSerde: s.valueSerde,
      }),
    );
  }

  /**
   * Counts records per key (records with a `null` key or value are skipped).
   *
   * @param materialized The store (value serde default: int64).
   * @returns The counts.
   */
  count(materialized: Materialized<K, number> = {}): KTable<K, number> {
    return this.#aggregate<number>(countUpdate, countMaterialized(materialized));
  }

  /**
   * Combines the values of each key.
   *
   * @param reducer New aggregate from the current one and a value.
   * @param materialized The store (value serde default: the stream's).
   * @returns The reduced table.
   */
  reduce(
    reducer: (aggregate: V, value: V) => V,
    materialized: Materialized<K, V> = {},
  ): KTable<K, V> {
    return this.#aggregate<V>(
      reduceUpdate(reducer),
      { ...materialized, valueSerde: materialized.valueSerde ?? this.#g.valueSerde },
    );
  }

  /**
   * Aggregates the values of each key.
   *
   * @param initializer The aggregate of a key not seen yet.
   * @param aggregator New aggregate from key, value and the current aggregate.
   * @param materialized The store (give a value serde for the aggregate).
   * @returns The aggregated table.
   */
  aggregate<VA>(
    initializer: () => VA,
    aggregator: (key: K, value: V, aggregate: VA) => VA,
    materialized: Materialized<K, VA> = {},
  ): KTable<K, VA> {
    return this.#aggregate<VA>(aggregateUpdate(initializer, aggregator), materialized);
  }

  /**
   * Aggregates per key and time window, or per session.
   *
   * @param windows Tumbling/hopping windows or session windows.
   * @returns The windowed grouped stream.
   */
  windowedBy(windows: TimeWindows): TimeWindowedKStream<K, V>;
  /**
   * Aggregates per key and session.
   *
   * @param windows Session windows.
   * @returns The session-windowed grouped stream.
   */
  windowedBy(windows: SessionWindows): SessionWindowedKStream<K, V>;
  windowedBy(
    windows: TimeWindows | SessionWindows,
  ): TimeWindowedKStream<K, V> | SessionWindowedKStream<K, V> {
    if (windows instanceof SessionWindows) return makeSessionWindowed(this.#g, windows);
    return makeTimeWindowed(this.#g, windows);
  }
}

let makeTimeWindowed: <K, V>(
  g: Grouping<K, V>,
  windows: TimeWindows,
) => TimeWindowedKStream<K, V>;

/**
 * A grouped stream over time windows: aggregations keyed by {@linkcode Windowed} keys. A record
 * whose window closed is dropped for that window: the aggregation's stream time (the largest
 * timestamp it has seen, as Kafka's `observedStreamTime`; not the task's) has reached its end
 * plus the grace period.
 *
 * @typeParam K Key type.
 * @typeParam V Value type.
 */
export class TimeWindowedKStream<K, V> {
  #g!: Grouping<K, V>;
  #windows!: TimeWindows;

  private constructor() {}

  static {
    makeTimeWindowed = <K, V>(g: Grouping<K, V>, windows: TimeWindows) => {
      const w = new TimeWindowedKStream<K, V>();
      w.#g = g;
      w.#windows = windows;
      return w;
    };
  }

  #aggregate<VA>(update: Update, materialized: Materialized<K, VA>): KTable<Windowed<K>, VA> {
    const b = this.#g.b;
    const windows = this.#windows;
    const s = addAggregationStore(
      this.#g,
      materialized,
      "KSTREAM-AGGREGATE-STATE-STORE",
      (storeName) => ({
        kind: "window",
        windowSizeMs: windows.sizeMs,
        retentionMs: windowRetention(
          `windowed store ${storeName}`,
          materialized.retentionMs,
          windows.sizeMs + windows.graceMs,
        ),
      }),
    );
    const node = addAggregationNode(
      b,
      "KSTREAM-WINDOWED-AGGREGATE",
      s,
      (ctx, forward, store, vs) => {
        // Kafka's KStreamWindowAggregate closes windows by the time this processor has seen
        // (`observedStreamTime`), not the task's: records of other topics of the task, or
        // filtered out upstream, close nothing. Each record that moves it forward writes its
        // window with that time as the changelog timestamp, so a restored store resumes it.
        let observed: number | undefined;
        return (rec, kb) => {
          observed = Math.max(observed ?? store.maxTimestamp, rec.timestamp);
          const closeTime = observed - windows.graceMs;
          for (const window of windows.windowsFor(rec.timestamp)) {
            if (window.end <= closeTime) {
              ctx.dropRecord("record for a closed window");
              continue;
            }
            const wk = windowKey(kb, window.start);
            const e = store.get(wk);
            const old = e === undefined ? null : vs.deserialize(e.value);
            const value = update(rec.key, rec.value, old) as VA;
            store.put(wk, vs.serialize(value), observed);
            forward({
              key: { key: rec.key, window },
              value,
              oldValue: old,
              timestamp: rec.timestamp,
              headers: rec.headers,
            });
          }
        };
      },
    );
    const getter = windowedGetter(s, (kb, window) => windowKey(kb, window.start));
    return makeTable<Windowed<K>, VA>(b, node, undefined, s.valueSerde, [s.storeName], getter, {
      graceMs: windows.graceMs,
      keySerde: s.keySerde as Serde<unknown> | undefined,
    });
  }

  /**
   * Counts records per key and window.
   *
   * @param materialized The store (value serde default: int64).
   * @returns The windowed counts.
   */
  count(materialized: Materialized<K, number> = {}): KTable<Windowed<K>, number> {
    return this.#aggregate<number>(countUpdate, countMaterialized(materialized));
  }

  /**
   * Combines the values of each key and window.
   *
   * @param reducer New aggregate from the current one and a value.
   * @param materialized The store.
   * @returns The windowed table.
   */
  reduce(
    reducer: (aggregate: V, value: V) => V,
    materialized: Materialized<K, V> = {},
  ): KTable<Windowed<K>, V> {
    return this.#aggregate<V>(
      reduceUpdate(reducer),
      { ...materialized, valueSerde: materialized.valueSerde ?? this.#g.valueSerde },
    );
  }

  /**
   * Aggregates the values of each key and window.
   *
   * @param initializer The aggregate of a new window.
   * @param aggregator New aggregate from key, value and the current aggregate.
   * @param materialized The store.
   * @returns The windowed table.
   */
  aggregate<VA>(
    initializer: () => VA,
    aggregator: (key: K, value: V, aggregate: VA) => VA,
    materialized: Materialized<K, VA> = {},
  ): KTable<Windowed<K>, VA> {
    return this.#aggregate<VA>(aggregateUpdate(initializer, aggregator), materialized);
  }
}

let makeSessionWindowed: <K, V>(
  g: Grouping<K, V>,
  windows: SessionWindows,
) => SessionWindowedKStream<K, V>;

/**
 * A grouped stream over session windows: a key's records closer than the inactivity gap form a
 * session; a record bridging two sessions merges them (the merged-away sessions are deleted,
 * `null` downstream).
 *
 * @typeParam K Key type.
 * @typeParam V Value type.
 */
export class SessionWindowedKStream<K, V> {
  #g!: Grouping<K, V>;
  #windows!: SessionWindows;

  private constructor() {}

  static {
    makeSessionWindowed = <K, V>(g: Grouping<K, V>, windows: SessionWindows) => {
      const w = new SessionWindowedKStream<K, V>();
      w.#g = g;
      w.#windows = windows;
      return w;
    };
  }

  /**
   * Counts records per key and session.
   *
   * @param materialized The store (value serde default: int64).
   * @returns The session counts.
   */
  count(materialized: Materialized<K, number> = {}): KTable<Windowed<K>, number> {
    return this.aggregate<number>(
      () => 0,
      (_k, _v, n) => n + 1,
      (_k, a, b) => a + b,
      countMaterialized(materialized),
    );
  }

  /**
   * Aggregates the values of each key and session.
   *
   * @param initializer The aggregate of a new session.
   * @param aggregator New aggregate from key, value and the current aggregate.
   * @param merger Combines two sessions' aggregates when a record bridges them.
   * @param materialized The store.
   * @returns The session table.
   */
  aggregate<VA>(
    initializer: () => VA,
    aggregator: (key: K, value: V, aggregate: VA) => VA,
    merger: (key: K, a: VA, b: VA) => VA,
    materialized: Materialized<K, VA> = {},
  ): KTable<Windowed<K>, VA> {
    const b = this.#g.b;
    const { gapMs, graceMs } = this.#windows;
    const s = addAggregationStore(
      this.#g,
      materialized,
      "KSTREAM-SESSION-STATE-STORE",
      (storeName) => ({
        kind: "session",
        retentionMs: windowRetention(
          `session store ${storeName}`,
          materialized.retentionMs,
          gapMs + graceMs,
        ),
      }),
    );
    const node = addAggregationNode(
      b,
      "KSTREAM-SESSION-AGGREGATE",
      s,
      (ctx, forward, store, vs) => {
        // The time this processor has seen closes sessions (Kafka's
        // KStreamSessionWindowAggregate `observedStreamTime`), resumed from the store's last
        // write as for time windows.
        let observed: number | undefined;
        return (rec, kb) => {
          const key = rec.key as K;
          const ts = rec.timestamp;
          observed = Math.max(observed ?? store.maxTimestamp, ts);
          const overlapping = store.byInnerKey(kb)
            .map((e) => ({ e, w: sessionWindowOf(e.key) }))
            .filter(({ w }) => w.end >= ts - gapMs && w.start <= ts + gapMs)
            .sort((x, y) => x.w.start - y.w.start);
          let start = ts;
          let end = ts;
          let agg = initializer();
          for (const { e, w } of overlapping) {
            start = Math.min(start, w.start);
            end = Math.max(end, w.end);
            agg = merger(key, agg, vs.deserialize(e.value) as VA);
          }
          if (end < observed - graceMs) return ctx.dropRecord("record for a closed session");
          agg = aggregator(key, rec.value as V, agg);
          const window = { start, end };
          for (const { e, w } of overlapping) {
            if (w.start === start && w.end === end) continue;
            store.put(e.key, null, observed);
            forward({
              key: { key, window: w },
              value: null,
              oldValue: vs.deserialize(e.value),
              timestamp: ts,
              headers: rec.headers,
            });
          }
          const sk = sessionKey(kb, window);
          const old = store.get(sk);
          store.put(sk, vs.serialize(agg), observed);
          forward({
            key: { key, window },
            value: agg,
            oldValue: old === undefined ? null : vs.deserialize(old.value),
            timestamp: ts,
            headers: rec.headers,
          });
        };
      },
    );
    return makeTable<Windowed<K>, VA>(
      b,
      node,
      undefined,
      s.valueSerde,
      [s.storeName],
      windowedGetter(s, sessionKey),
      { graceMs, keySerde: s.keySerde as Serde<unknown> | undefined },
    );
  }
}
