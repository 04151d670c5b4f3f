// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * The Processor API, shaped after Kafka 3.x's `org.apache.kafka.streams.processor.api`: a
 * {@linkcode Processor} gets each record of a stream with {@linkcode KStream.process}, reads and
 * writes key-value stores added with {@linkcode StreamsBuilder.addStateStore} (changelogged and
 * restored like the DSL's), forwards records downstream through its
 * {@linkcode ProcessorContext}, and schedules punctuators by stream time or wall-clock time.
 *
 * Differences from Kafka's Java API: a record is a plain object (`{ ...record, value }` for
 * `withValue`); a supplier is a function returning a processor, or an object with `get()` and
 * optionally `stores()`; `taskId` is a string (`<subtopology>_<partition>`); `recordMetadata()`
 * returns `undefined` where Kafka returns an empty `Optional`; store reads return `undefined`
 * for a missing key.
 *
 * @module
 */

import type { RecordHeader } from "../client/records.ts";
import type { Forward, GraphBuilder, NodeDef, Rec, TaskContext } from "./graph.ts";
import type { Serde } from "./serdes.ts";
import type { ReadOnlyKeyValueStore, StoreEntry } from "./stores.ts";

/**
 * When a punctuator fires: `STREAM_TIME` by the task's stream time (the largest record
 * timestamp it has processed), `WALL_CLOCK_TIME` by the system clock.
 */
export const PunctuationType = {
  /** Fires when the task's stream time reaches the next scheduled time. */
  STREAM_TIME: "STREAM_TIME",
  /** Fires when the wall clock reaches the next scheduled time. */
  WALL_CLOCK_TIME: "WALL_CLOCK_TIME",
} as const;

/** `PunctuationType.STREAM_TIME` or `PunctuationType.WALL_CLOCK_TIME`. */
export type PunctuationType = typeof PunctuationType[keyof typeof PunctuationType];

/**
 * A scheduled callback: called with the time it fires at (the stream time, or the wall-clock
 * time).
 */
export type Punctuator = (timestamp: number) => void;

/** What {@linkcode ProcessorContext.schedule} returns: `cancel()` stops the punctuator. */
export interface Cancellable {
  /** Stops the punctuator; it does not fire again (also when called from its own callback). */
  cancel(): void;
}

/**
 * A record of the Processor API (Kafka's `api.Record`): key, value, timestamp and headers.
 *
 * @typeParam K Key type.
 * @typeParam V Value type.
 */
export interface ProcessorRecord<K, V> {
  /** Key. */
  readonly key: K;
  /** Value. */
  readonly value: V;
  /** Timestamp in ms (at least 0). */
  readonly timestamp: number;
  /** Headers. */
  readonly headers: RecordHeader[];
}

/** Where the record being processed was read from (Kafka's `api.RecordMetadata`). */
export interface RecordMetadata {
  /** Topic (an internal topic by its full name). */
  readonly topic: string;
  /** Partition. */
  readonly partition: number;
  /** Offset. */
  readonly offset: number;
}

/**
 * A key-value store a processor reads and writes. Every write goes to the store's changelog
 * at the next commit (in the task's transaction under exactly-once), and a task that moves or
 * restarts restores the store from there.
 *
 * @typeParam K Key type.
 * @typeParam V Value type.
 */
export interface KeyValueStore<K, V> extends ReadOnlyKeyValueStore<K, V> {
  /** The store name. */
  readonly name: string;
  /**
   * Writes a key's value; `null` deletes it (as Kafka's `put`).
   *
   * @param key The key (not `null`).
   * @param value The value, or `null`.
   * @throws {TypeError} If the key serializes to `null`.
   */
  put(key: K, value: V | null): void;
  /**
   * Writes a key's value unless the key has one.
   *
   * @param key The key.
   * @param value The value.
   * @returns The value already there, or `undefined` when it was written.
   */
  putIfAbsent(key: K, value: V): V | undefined;
  /**
   * Deletes a key.
   *
   * @param key The key.
   * @returns The value it had, or `undefined`.
   */
  delete(key: K): V | undefined;
}

/**
 * What a {@linkcode Processor} sees of its task.
 *
 * @typeParam KForward Key type of the records it forwards.
 * @typeParam VForward Value type of the records it forwards.
 */
export interface ProcessorContext<KForward, VForward> {
  /** The application id. */
  readonly applicationId: string;
  /** The task: `<subtopology>_<partition>`. */
  readonly taskId: string;
  /**
   * Hands a record to the processor's downstream nodes (from `process` or a punctuator).
   *
   * @param record The record; `headers` default to none.
   * @param childName Only to this child (a processor or sink name, as Kafka's
   *   `forward(record, childName)`); default: every child.
   * @throws {RangeError} If the timestamp is not an integer of at least 0.
   * @throws {Error} If `childName` is not a child of the processor.
   */
  forward(
    record:
      & Omit<ProcessorRecord<KForward, VForward>, "headers">
      & { readonly headers?: RecordHeader[] },
    childName?: string,
  ): void;
  /**
   * A key-value store connected to this processor (named in {@linkcode KStream.process} or
   * given by its supplier's `stores()`).
   *
   * @param name The store name.
   * @returns The store of this task.
   * @throws {Error} If no such store is connected to the processor.
   */
  getStateStore<K, V>(name: string): KeyValueStore<K, V>;
  /**
   * Schedules a punctuator, as Kafka's: `STREAM_TIME` ones are aligned to 0 (the first fires
   * after the first record processed, then each time stream time reaches the next multiple
   * of the interval: once however many intervals it jumped); `WALL_CLOCK_TIME` ones fire one
   * interval from now, then on the same grid, checked between records and polls (also with
   * no input).
   *
   * @param intervalMs Interval in ms (at least 1).
   * @param type {@linkcode PunctuationType}.
   * @param callback Called with the stream time or the wall-clock time it fires at.
   * @returns A handle to cancel it.
   * @throws {RangeError} On an interval below 1 ms or an unknown type.
   */
  schedule(intervalMs: number, type: PunctuationType, callback: Punctuator): Cancellable;
  /** Asks for a commit of the task as soon as the current records are processed. */
  commit(): void;
  /**
   * Where the record being processed comes from.
   *
   * @returns Topic, partition and offset; `undefined` in a punctuator or `init`.
   */
  recordMetadata(): RecordMetadata | undefined;
  /**
   * The task's stream time: the largest record timestamp it has processed (-1 before any).
   *
   * @returns Stream time in ms.
   */
  currentStreamTimeMs(): number;
  /**
   * The wall-clock time (the test driver's mock clock under {@linkcode TopologyTestDriver}).
   *
   * @returns Time in ms.
   */
  currentSystemTimeMs(): number;
}

/**
 * A processor of the Processor API: one instance per task, made by its supplier.
 *
 * @typeParam KIn Input key type.
 * @typeParam VIn Input value type.
 * @typeParam KOut Key type of the records it forwards.
 * @typeParam VOut Value type of the records it forwards.
 */
export interface Processor<KIn, VIn, KOut = never, VOut = never> {
  /**
   * Called once when the task starts, after its stores are restored: keep the context, get
   * stores, schedule punctuators.
   *
   * @param context The processor's context.
   */
  init?(context: ProcessorContext<KOut, VOut>): void;
  /**
   * Called for each record.
   *
   * @param record The record.
   */
  process(record: ProcessorRecord<KIn, VIn>): void;
  /** Called when the task closes (moved away, the instance closed or failed). */
  close?(): void;
}

/**
 * A record of a {@linkcode FixedKeyProcessor} (Kafka's `api.FixedKeyRecord`): made by the
 * runtime for each input record; its key cannot be changed, only its value, timestamp and
 * headers (each `with...` returns a new record), so a processor can forward only records with
 * the key it was given.
 *
 * @typeParam K Key type.
 * @typeParam V Value type.
 */
export interface FixedKeyRecord<K, V> extends ProcessorRecord<K, V> {
  /**
   * The same record with another value.
   *
   * @param value The new value.
   * @returns A new record.
   */
  withValue<V2>(value: V2): FixedKeyRecord<K, V2>;
  /**
   * The same record with another timestamp.
   *
   * @param timestamp The new timestamp in ms.
   * @returns A new record.
   * @throws {RangeError} If the timestamp is not an integer of at least 0.
   */
  withTimestamp(timestamp: number): FixedKeyRecord<K, V>;
  /**
   * The same record with other headers.
   *
   * @param headers The new headers.
   * @returns A new record.
   */
  withHeaders(headers: RecordHeader[]): FixedKeyRecord<K, V>;
}

class FixedKey<K, V> implements FixedKeyRecord<K, V> {
  readonly key: K;
  readonly value: V;
  readonly timestamp: number;
  readonly headers: RecordHeader[];
  constructor(key: K, value: V, timestamp: number, headers: RecordHeader[]) {
    this.key = key;
    this.value = value;
    this.timestamp = timestamp;
    this.headers = headers;
  }
  withValue<V2>(value: V2): FixedKeyRecord<K, V2> {
    return new FixedKey(this.key, value, this.timestamp, this.headers);
  }
  withTimestamp(timestamp: number): FixedKeyRecord<K, V> {
    if (!Number.isSafeInteger(timestamp) || timestamp < 0) {
      throw new RangeError(`FixedKeyRecord.withTimestamp: invalid timestamp ${timestamp}`);
    }
    return new FixedKey(this.key, this.value, timestamp, this.headers);
  }
  withHeaders(headers: RecordHeader[]): FixedKeyRecord<K, V> {
    return new FixedKey(this.key, this.value, this.timestamp, headers);
  }
}

/**
 * What a {@linkcode FixedKeyProcessor} sees of its task (Kafka's `FixedKeyProcessorContext`):
 * as {@linkcode ProcessorContext}, but it forwards only {@linkcode FixedKeyRecord}s.
 *
 * @typeParam KForward Key type (the input's).
 * @typeParam VForward Value type of the records it forwards.
 */
export interface FixedKeyProcessorContext<KForward, VForward>
  extends Omit<ProcessorContext<KForward, VForward>, "forward"> {
  /**
   * Hands a record to the processor's downstream nodes: one it was given to process, or made
   * from one with `withValue`, `withTimestamp` or `withHeaders` (also from a punctuator).
   *
   * @param record The record.
   * @param childName Only to this child; default: every child.
   * @throws {TypeError} If the record is not a {@linkcode FixedKeyRecord} the runtime made.
   */
  forward(record: FixedKeyRecord<KForward, VForward>, childName?: string): void;
}

/**
 * A processor that keeps each record's key (Kafka's `api.FixedKeyProcessor`, KIP-820), run by
 * {@linkcode KStream.processValues}: the stream needs no repartitioning after it.
 *
 * @typeParam KIn Key type.
 * @typeParam VIn Input value type.
 * @typeParam VOut Value type of the records it forwards.
 */
export interface FixedKeyProcessor<KIn, VIn, VOut = never> {
  /**
   * Called once when the task starts, after its stores are restored.
   *
   * @param context The processor's context.
   */
  init?(context: FixedKeyProcessorContext<KIn, VOut>): void;
  /**
   * Called for each record.
   *
   * @param record The record.
   */
  process(record: FixedKeyRecord<KIn, VIn>): void;
  /** Called when the task closes. */
  close?(): void;
}

/** Makes a {@linkcode FixedKeyProcessor} per task: a function, or an object with `get()` and
 * optionally `stores()`. */
export type FixedKeyProcessorSupplier<KIn, VIn, VOut = never> =
  | (() => FixedKeyProcessor<KIn, VIn, VOut>)
  | {
    /** A new processor. */
    get(): FixedKeyProcessor<KIn, VIn, VOut>;
    /** Stores to add and connect. */
    stores?(): StoreBuilder<unknown, unknown>[];
  };

/**
 * Kafka's deprecated `ValueTransformerWithKey`, run by {@linkcode KStream.transformValues}:
 * each record's value becomes what `transform` returns (with the same key and timestamp).
 *
 * @typeParam K Key type.
 * @typeParam V Input value type.
 * @typeParam VR Result value type.
 */
export interface ValueTransformerWithKey<K, V, VR> {
  /**
   * Called once when the task starts: keep the context for stores and punctuators (its
   * `forward` throws, as Kafka's does in `transformValues`).
   *
   * @param context The context.
   */
  init?(context: FixedKeyProcessorContext<K, VR>): void;
  /**
   * The new value of a record.
   *
   * @param value The value.
   * @param key The key (read-only).
   * @returns The new value.
   */
  transform(value: V, key: K): VR;
  /** Called when the task closes. */
  close?(): void;
}

/**
 * Makes a processor per task: a function, or an object with `get()` and optionally
 * `stores()` (store builders added to the topology and connected to the processor, as
 * Kafka's `ConnectedStoreProvider`).
 */
export type ProcessorSupplier<KIn, VIn, KOut = never, VOut = never> =
  | (() => Processor<KIn, VIn, KOut, VOut>)
  | {
    /** A new processor. */
    get(): Processor<KIn, VIn, KOut, VOut>;
    /** Stores to add and connect. */
    stores?(): StoreBuilder<unknown, unknown>[];
  };

/**
 * Which key-value store to build: in memory or on disk (Kafka's
 * `KeyValueBytesStoreSupplier`).
 */
export interface KeyValueBytesStoreSupplier {
  /** The store name (and changelog `<applicationId>-<name>-changelog`). */
  readonly name: string;
  /** On disk under the application's `stateDir`. */
  readonly persistent: boolean;
}

/**
 * A key-value store to add to a topology ({@linkcode StreamsBuilder.addStateStore}), made by
 * {@linkcode Stores.keyValueStoreBuilder}.
 *
 * @typeParam K Key type.
 * @typeParam V Value type.
 */
export interface StoreBuilder<K, V> {
  /** The store name. */
  readonly name: string;
  /** On disk rather than in memory. */
  readonly persistent: boolean;
  /** Key serde; default: the application's. */
  readonly keySerde?: Serde<K>;
  /** Value serde; default: the application's. */
  readonly valueSerde?: Serde<V>;
}

const STORE_NAME = /^[A-Za-z0-9._-]+$/;

function supplier(name: string, persistent: boolean): KeyValueBytesStoreSupplier {
  if (typeof name !== "string" || !STORE_NAME.test(name)) {
    throw new RangeError(
      `Stores: invalid store name ${JSON.stringify(name)} (letters, digits, '.', '_' and '-')`,
    );
  }
  return { name, persistent };
}

/**
 * Factories of stores for the Processor API (Kafka's `Stores`).
 *
 * @example A store of counts per key
 * ```ts
 * import { Serdes, Stores, StreamsBuilder } from "./mod.ts";
 * const builder = new StreamsBuilder();
 * builder.addStateStore(
 *   Stores.keyValueStoreBuilder(Stores.inMemoryKeyValueStore("counts"), Serdes.String(), Serdes.Int64()),
 * );
 * console.assert(builder.build().describe().includes("Topologies"));
 * ```
 */
export class Stores {
  private constructor() {}

  /**
   * A key-value store kept on disk under `stateDir` (as the DSL's `persistent: true`).
   *
   * @param name The store name.
   * @returns The supplier.
   * @throws {RangeError} On an invalid name.
   */
  static persistentKeyValueStore(name: string): KeyValueBytesStoreSupplier {
    return supplier(name, true);
  }

  /**
   * A key-value store kept in memory (restored from its changelog when a task starts).
   *
   * @param name The store name.
   * @returns The supplier.
   * @throws {RangeError} On an invalid name.
   */
  static inMemoryKeyValueStore(name: string): KeyValueBytesStoreSupplier {
    return supplier(name, false);
  }

  /**
   * A versioned key-value store on disk for a table (Kafka's
   * `Stores.persistentVersionedKeyValueStore`, KIP-889): `builder.table(topic, {
   * ...Stores.persistentVersionedKeyValueStore("prices", 60_000) })`. The table keeps each
   * key's earlier values for `historyRetentionMs` (queryable with
   * {@linkcode KafkaStreams.versionedStore}) and forwards no out-of-order update (KIP-914).
   *
   * @param name The store name.
   * @param historyRetentionMs How long older versions stay, past the store's stream time.
   * @returns Table options naming the store.
   */
  static persistentVersionedKeyValueStore(
    name: string,
    historyRetentionMs: number,
  ): { storeName: string; persistent: boolean; versioned: { historyRetentionMs: number } } {
    return {
      storeName: supplier(name, true).name,
      persistent: true,
      versioned: { historyRetentionMs },
    };
  }

  /**
   * A key-value store builder with its serdes.
   *
   * @param store From {@linkcode Stores.persistentKeyValueStore} or
   *   {@linkcode Stores.inMemoryKeyValueStore}.
   * @param keySerde Key serde (default: the application's).
   * @param valueSerde Value serde (default: the application's).
   * @returns The builder, for {@linkcode StreamsBuilder.addStateStore}.
   */
  static keyValueStoreBuilder<K, V>(
    store: KeyValueBytesStoreSupplier,
    keySerde?: Serde<K>,
    valueSerde?: Serde<V>,
  ): StoreBuilder<K, V> {
    return { name: store.name, persistent: store.persistent, keySerde, valueSerde };
  }
}

/** @internal Adds a store builder's store to the graph (once; the same builder again is a no-op). */
export function addStoreBuilder(b: GraphBuilder, builder: StoreBuilder<unknown, unknown>): void {
  if (builder === null || typeof builder !== "object" || typeof builder.name !== "string") {
    throw new TypeError("addStateStore: give a store builder (Stores.keyValueStoreBuilder)");
  }
  const existing = b.stores.get(builder.name);
  if (existing !== undefined) {
    if (builders.get(b)?.get(builder.name) === builder) return;
    throw new Error(`topology: a store named ${builder.name} already exists`);
  }
  supplier(builder.name, builder.persistent);
  b.addStore({
    name: builder.name,
    kind: "kv",
    persistent: builder.persistent === true,
    keySerde: builder.keySerde,
    valueSerde: builder.valueSerde,
  });
  let map = builders.get(b);
  if (map === undefined) builders.set(b, map = new Map());
  map.set(builder.name, builder);
}

const builders = new WeakMap<GraphBuilder, Map<string, StoreBuilder<unknown, unknown>>>();

/**
 * @internal The node function of a processor: made per task, `init` called at once. With
 * `fixedKey` (`processValues`), records are {@linkcode FixedKeyRecord}s and only those are
 * forwarded. `storeNames` is read when a task starts (the low-level `Topology` connects
 * stores after the processor is added).
 */
export function processorNode<KIn, VIn, KOut, VOut>(
  b: GraphBuilder,
  name: string,
  get: () => Processor<KIn, VIn, KOut, VOut>,
  storeNames: string[],
  fixedKey = false,
): NodeDef["create"] {
  return (ctx: TaskContext, forward: Forward, outs?: Forward[]) => {
    const processor = get();
    if (processor === null || typeof processor !== "object" || !("process" in processor)) {
      throw new TypeError(`processor ${name}: the supplier did not return a processor`);
    }
    const children = b.nodes.find((n) => n.name === name)?.children ?? [];
    const views = new Map<string, KeyValueStore<unknown, unknown>>();
    const context: ProcessorContext<KOut, VOut> = {
      applicationId: ctx.applicationId,
      taskId: ctx.taskId,
      forward(record, childName) {
        if (fixedKey && !(record instanceof FixedKey)) {
          throw new TypeError(
            `processor ${name}: forward: processValues forwards only the records it is given ` +
              "(or made from them with withValue, withTimestamp, withHeaders): the key is fixed",
          );
        }
        const t = record.timestamp;
        if (!Number.isSafeInteger(t) || t < 0) {
          throw new RangeError(`processor ${name}: forward: invalid timestamp ${t}`);
        }
        let to = forward;
        if (childName !== undefined) {
          const i = children.findIndex((c) => c.name === childName);
          if (i < 0 || outs === undefined) {
            throw new Error(`processor ${name}: forward: ${childName} is not a child of it`);
          }
          to = outs[i];
        }
        to({
          key: record.key,
          value: record.value,
          timestamp: t,
          headers: record.headers ?? [],
        });
      },
      getStateStore<K, V>(store: string): KeyValueStore<K, V> {
        let view = views.get(store);
        if (view === undefined) {
          if (!storeNames.includes(store)) {
            throw new Error(
              `processor ${name}: store ${store} is not connected to it ` +
                "(name it in process(supplier, ...storeNames) or return it from stores())",
            );
          }
          const def = b.stores.get(store)!;
          view = keyValueStore(
            ctx,
            store,
            ctx.keySerde(def.keySerde, `store ${store}`),
            ctx.valueSerde(def.valueSerde, `store ${store}`),
          );
          views.set(store, view);
        }
        return view as KeyValueStore<K, V>;
      },
      schedule: (intervalMs, type, callback) => ctx.schedule(intervalMs, type, callback),
      commit: () => ctx.requestCommit(),
      recordMetadata() {
        const r = ctx.currentRecord;
        return r === undefined
          ? undefined
          : { topic: r.topic, partition: r.partition, offset: r.offset };
      },
      currentStreamTimeMs: () => ctx.streamTime,
      currentSystemTimeMs: () => ctx.wallClockTime(),
    };
    processor.init?.(context);
    ctx.onClose(() => processor.close?.());
    if (fixedKey) {
      return (rec: Rec) => {
        processor.process(
          new FixedKey(rec.key as KIn, rec.value as VIn, rec.timestamp, rec.headers),
        );
      };
    }
    return (rec: Rec) => {
      processor.process({
        key: rec.key as KIn,
        value: rec.value as VIn,
        timestamp: rec.timestamp,
        headers: rec.headers,
      });
    };
  };
}

/** A typed read-write view of a task's key-value store. */
function keyValueStore<K, V>(
  ctx: TaskContext,
  name: string,
  keySerde: Serde<K>,
  valueSerde: Serde<V>,
): KeyValueStore<K, V> {
  const store = ctx.store(name);
  const keyBytes = (key: K): Uint8Array => {
    const kb = keySerde.serialize(key);
    if (kb === null) throw new TypeError(`store ${name}: a key must not be null`);
    return kb;
  };
  const read = (e: StoreEntry | undefined) =>
    e === undefined ? undefined : valueSerde.deserialize(e.value) as V;
  const decode = (e: StoreEntry): [K, V] => [
    keySerde.deserialize(e.key) as K,
    valueSerde.deserialize(e.value) as V,
  ];
  // Changelog records carry the task's stream time (0 before any record).
  const time = () => Math.max(ctx.streamTime, 0);
  return {
    name,
    get: (key) => {
      const kb = keySerde.serialize(key);
      return kb === null ? undefined : read(store.get(kb));
    },
    put(key, value) {
      store.put(keyBytes(key), value === null ? null : valueSerde.serialize(value), time());
    },
    putIfAbsent(key, value) {
      const kb = keyBytes(key);
      const old = read(store.get(kb));
      if (old === undefined) store.put(kb, valueSerde.serialize(value), time());
      return old;
    },
    delete(key) {
      const kb = keyBytes(key);
      const old = read(store.get(kb));
      if (old !== undefined) store.put(kb, null, time());
      return old;
    },
    range(from, to) {
      const lo = keySerde.serialize(from) ?? undefined;
      const hi = keySerde.serialize(to) ?? undefined;
      return store.range(lo, hi).map(decode);
    },
    all: () => store.range().map(decode),
    approximateNumEntries: () => store.size,
  };
}
