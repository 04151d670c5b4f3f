// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * {@linkcode TopologyTestDriver}: runs a topology in the calling thread without a broker, as
 * Kafka's `kafka-streams-test-utils` does: pipe records into input topics, read what the
 * topology wrote to output topics, look into its stores. Every topic has one partition;
 * repartition topics are passed through at once; stores are in memory, or on disk under
 * `stateDir` for a driver made by {@linkcode TopologyTestDriver.create}. {@linkcode
 * TopologyTestDriver.commit} writes the stores' changes to in-memory changelogs that a new
 * driver can restore from (a restart without a broker).
 *
 * @module
 */

import type { ConsumerRecord } from "../client/consumer.ts";
import type { RecordHeader } from "../client/records.ts";
import type { ProducerMessage } from "../client/producer.ts";
import type { Subtopology } from "./graph.ts";
import {
  type DeserializationExceptionHandlerConfig,
  deserializationHandler,
} from "./deserialization.ts";
import type { Serde } from "./serdes.ts";
import { type ReadOnlyVersionedKeyValueStore, versionedView } from "./versioned.ts";
import {
  type BytesStore,
  keyValueView,
  type ReadOnlyKeyValueStore,
  type ReadOnlyWindowStore,
  windowView,
} from "./stores.ts";
import { type Runtime, Task } from "./task.ts";
import { checkExtractor, type TimestampExtractor } from "./timestamp_extractor.ts";
import { type Topology, topologyGraph } from "./topology.ts";

const encoder = new TextEncoder();

/** Set while {@linkcode TopologyTestDriver.create} makes a driver: the tasks start after the
 * restore. */
let deferInit = false;

/** A record an output topic received. */
export interface TestRecord<K, V> {
  /** Key. */
  key: K | null;
  /** Value. */
  value: V | null;
  /** Timestamp in ms. */
  timestamp: number;
}

/** Configuration of a {@linkcode TopologyTestDriver}. */
export interface TestDriverConfig {
  /** Key serde where none was given. */
  defaultKeySerde?: Serde<unknown>;
  /** Value serde where none was given. */
  defaultValueSerde?: Serde<unknown>;
  /** Application id (prefixes internal topic names). Default `test-driver`. */
  applicationId?: string;
  /** Where persistent stores live (`<stateDir>/<applicationId>/<task>/<store>`); they are
   * opened by {@linkcode TopologyTestDriver.create}. Default: every store in memory. */
  stateDir?: string;
  /** Changelog records to restore the stores from, by changelog topic
   * (`<applicationId>-<store>-changelog`), as {@linkcode TopologyTestDriver.changelogs}
   * returns them; replayed by {@linkcode TopologyTestDriver.create}. */
  changelogs?: Map<string, ChangelogRecord[]>;
  /** The mock wall clock's start, in ms (Kafka's `initialWallClockTime`); it moves only with
   * {@linkcode TopologyTestDriver.advanceWallClockTime}. Default `Date.now()`. */
  initialWallClockTimeMs?: number;
  /** As `StreamsConfig.deserializationExceptionHandler`; with `logAndFail` (the
   * default) `pipeInput` throws the error. */
  deserializationExceptionHandler?: DeserializationExceptionHandlerConfig;
  /** Where warnings go. Default `console.warn`. */
  onWarning?: (message: string) => void;
  /**
   * As `StreamsConfig.maxTaskIdleMs`: how long a task that reads several topics waits for an
   * input topic with nothing buffered and nothing left to fetch (records written with
   * {@linkcode TestInputTopic.produce} and not yet {@linkcode TopologyTestDriver.poll}ed are
   * on the broker: the task waits for them). Default 0; -1 never waits.
   */
  maxTaskIdleMs?: number;
  /** As `StreamsConfig.defaultTimestampExtractor`. Default
   * `TimestampExtractors.FailOnInvalidTimestamp`. */
  defaultTimestampExtractor?: TimestampExtractor;
}

/** A record of a store's changelog (serialized key and value; a `null` value deletes). */
export interface ChangelogRecord {
  /** Key bytes. */
  key: Uint8Array;
  /** Value bytes, or `null` (a tombstone). */
  value: Uint8Array | null;
  /** The stream time it was written at. */
  timestamp: number;
}

/**
 * Runs a topology without a broker.
 *
 * @example
 * ```ts
 * import { Serdes, StreamsBuilder, TopologyTestDriver } from "./mod.ts";
 * const builder = new StreamsBuilder();
 * builder.stream<string, string>("in").mapValues((v) => v.toUpperCase()).to("out");
 * const driver = new TopologyTestDriver(builder.build(), {
 *   defaultKeySerde: Serdes.String(),
 *   defaultValueSerde: Serdes.String(),
 * });
 * driver.createInputTopic("in", Serdes.String(), Serdes.String()).pipeInput("k", "hello");
 * const out = driver.createOutputTopic("out", Serdes.String(), Serdes.String());
 * console.assert(out.readKeyValuesToList()[0][1] === "HELLO");
 * ```
 */
export class TopologyTestDriver {
  #rt: Runtime;
  #tasks: Task[] = [];
  #byTopic = new Map<string, Task>();
  #outputs = new Map<string, ProducerMessage[]>();
  #queue: Array<[string, ProducerMessage]> = [];
  /** Records written to input topics and not fetched yet ({@linkcode TestInputTopic.produce}). */
  #unfetched = new Map<string, ProducerMessage[]>();
  #offsets = new Map<string, number>();
  #draining = false;
  #config: TestDriverConfig;
  #changelogs = new Map<string, ChangelogRecord[]>();
  #clock: number;
  #deserializationErrors = 0;
  #punctuations = 0;

  /**
   * A driver whose on-disk stores (with `stateDir`) are opened and whose stores are restored
   * from `config.changelogs` (from where an on-disk store's checkpoint is), as a restarted
   * instance restores; stream time resumes at the latest restored write.
   *
   * @param topology The topology.
   * @param config Default serdes, application id, state directory, changelogs to restore.
   * @returns The driver.
   * @throws {Error} When a store directory cannot be read or written.
   */
  static async create(
    topology: Topology,
    config: TestDriverConfig = {},
  ): Promise<TopologyTestDriver> {
    // The processors start after the restore (their `init` may read the stores).
    deferInit = true;
    let driver: TopologyTestDriver;
    try {
      driver = new TopologyTestDriver(topology, config);
    } finally {
      deferInit = false;
    }
    for (const task of driver.#tasks) {
      for (const store of task.stores.values()) {
        await store.open();
        const topic = driver.#changelogTopic(store.name);
        const log = config.changelogs?.get(topic) ?? [];
        driver.#changelogs.set(topic, [...log]);
        for (let i = store.position; i < log.length; i++) {
          store.restore(log[i].key, log[i].value, log[i].timestamp);
        }
        store.position = log.length;
        const time = Math.max(store.maxTimestamp, store.observedStreamTime);
        if (time > task.streamTime) task.streamTime = time;
      }
      task.advanceStreamTime(task.streamTime);
      task.init();
    }
    return driver;
  }

  /**
   * Builds the topology's tasks (one per sub-topology).
   *
   * @param topology The topology.
   * @param config Default serdes, application id.
   */
  constructor(topology: Topology, config: TestDriverConfig = {}) {
    const graph = topologyGraph(topology);
    this.#config = config;
    const applicationId = config.applicationId ?? "test-driver";
    const topicName = (t: string) => graph.internalTopics.has(t) ? `${applicationId}-${t}` : t;
    this.#clock = config.initialWallClockTimeMs ?? Date.now();
    const warn = config.onWarning ?? ((message: string) => console.warn(message));
    const handle = deserializationHandler(config.deserializationExceptionHandler, warn, () => {
      this.#deserializationErrors++;
      this.#rt.dropped++;
    });
    const maxTaskIdleMs = config.maxTaskIdleMs ?? 0;
    if (!Number.isSafeInteger(maxTaskIdleMs) || maxTaskIdleMs < -1) {
      throw new RangeError(
        `test driver: invalid maxTaskIdleMs ${config.maxTaskIdleMs} (-1 or >= 0)`,
      );
    }
    this.#rt = {
      graph,
      config,
      applicationId,
      stateDir: config.stateDir,
      maxTaskIdleMs,
      bufferedRecordsPerPartition: Infinity,
      dropped: 0,
      send: (topic, message) => this.#send(topic, message),
      topicName,
      now: () => this.#clock,
      warn,
      deserializationFailed: handle,
      punctuated: () => this.#punctuations++,
      defaultTimestampExtractor: checkExtractor(
        config.defaultTimestampExtractor,
        "test driver: defaultTimestampExtractor",
      ),
    };
    for (const sub of graph.subtopologies() as Subtopology[]) {
      const task = new Task(this.#rt, sub, 0);
      if (!deferInit) task.init();
      this.#tasks.push(task);
      for (const t of sub.sourceTopics) this.#byTopic.set(topicName(t), task);
    }
  }

  #changelogTopic(store: string): string {
    return `${this.#config.applicationId ?? "test-driver"}-${store}-changelog`;
  }

  /**
   * Commits as the runtime does: each store's changes since the last commit (latest per key)
   * are appended to its changelog, then the on-disk stores write their log and checkpoint.
   */
  async commit(): Promise<void> {
    for (const task of this.#tasks) {
      for (const store of task.stores.values()) {
        const topic = this.#changelogTopic(store.name);
        let log = this.#changelogs.get(topic);
        if (log === undefined) this.#changelogs.set(topic, log = []);
        for (const d of store.takeDirty()) {
          log.push(
            d instanceof Uint8Array
              ? { key: d, value: null, timestamp: task.streamTime }
              : { key: d.key, value: d.value, timestamp: d.timestamp },
          );
        }
        store.position = log.length;
        await store.persist();
      }
    }
  }

  /**
   * The changelogs written by {@linkcode TopologyTestDriver.commit} (and restored), by topic.
   *
   * @returns Copies of the changelog records.
   */
  changelogs(): Map<string, ChangelogRecord[]> {
    return new Map([...this.#changelogs].map(([t, log]) => [t, [...log]]));
  }

  /**
   * How many entries a store holds (with a retention, expired entries of a segment not yet
   * dropped count too).
   *
   * @param name The store name.
   * @returns The entry count over every task.
   */
  storeSize(name: string): number {
    if (!this.#rt.graph.stores.has(name)) throw new Error(`test driver: no store named ${name}`);
    return this.#stores(name).reduce((n, s) => n + s.size, 0);
  }

  /** Records dropped so far (late for a closed window, without a needed key, or skipped
   * because they do not deserialize). */
  get droppedRecords(): number {
    return this.#rt.dropped;
  }

  /** Records skipped so far because they do not deserialize (`logAndContinue`). */
  get deserializationErrors(): number {
    return this.#deserializationErrors;
  }

  /** Punctuators fired so far. */
  get punctuations(): number {
    return this.#punctuations;
  }

  /** The mock wall clock, in ms. */
  get wallClockTimeMs(): number {
    return this.#clock;
  }

  /**
   * Moves the mock wall clock forward and fires the wall-clock punctuators now due, each once
   * (Kafka's `advanceWallClockTime`); what they forward is processed at once.
   *
   * @param ms How far, in ms (at least 0).
   * @throws {RangeError} On a negative or non-integer amount.
   */
  advanceWallClockTime(ms: number): void {
    if (!Number.isSafeInteger(ms) || ms < 0) {
      throw new RangeError(`test driver: advanceWallClockTime(${ms}): a whole number >= 0`);
    }
    this.#clock += ms;
    this.#draining = true;
    try {
      for (const task of this.#tasks) task.punctuateWallClock(this.#clock);
      this.#drain();
      // Then what became processable (an idle partition waited `maxTaskIdleMs`).
      this.#processReady();
    } finally {
      this.#queue.length = 0;
      this.#draining = false;
    }
  }

  #send(topic: string, sent: ProducerMessage): void {
    // A sink hands over a string-serde key or value as the string: its bytes are its UTF-8.
    const { key, value } = sent;
    const message = typeof key === "string" || typeof value === "string"
      ? {
        ...sent,
        key: typeof key === "string" ? encoder.encode(key) : key,
        value: typeof value === "string" ? encoder.encode(value) : value,
      }
      : sent;
    if (this.#byTopic.has(topic)) {
      this.#queue.push([topic, message]);
      return;
    }
    let list = this.#outputs.get(topic);
    if (list === undefined) this.#outputs.set(topic, list = []);
    list.push(message);
  }

  #pipe(topic: string, message: ProducerMessage): void {
    this.#queue.push([topic, message]);
    if (this.#draining) return;
    this.#draining = true;
    try {
      this.#drain();
    } finally {
      this.#queue.length = 0;
      this.#draining = false;
    }
  }

  /** Processes the queued records (piped, or written to a topic a source reads). */
  #drain(): void {
    for (let next = this.#queue.shift(); next !== undefined; next = this.#queue.shift()) {
      const [t, m] = next;
      const task = this.#fetched(t, m);
      if (task.group !== undefined) this.#processReady(task);
    }
  }

  /** Hands a fetched record to its task: processed at once by a task of one topic, buffered
   * by a task of several. */
  #fetched(t: string, m: ProducerMessage): Task {
    const task = this.#byTopic.get(t);
    if (task === undefined) throw new Error(`test driver: no source reads topic ${t}`);
    const offset = this.#offsets.get(t) ?? 0;
    this.#offsets.set(t, offset + 1);
    const record: ConsumerRecord = {
      topic: t,
      partition: 0,
      offset,
      timestamp: m.timestamp ?? 0,
      key: m.key as Uint8Array | null,
      value: m.value as Uint8Array | null,
      headers: (m.headers ?? []) as RecordHeader[],
      leaderEpoch: -1,
    };
    if (task.group === undefined) task.process(record);
    else task.buffer([record], 0, 1);
    return task;
  }

  /** Processes the buffered records of tasks of several topics (one task, or all) that are
   * ready at the mock wall-clock time; an input topic's lag is its records not fetched. */
  #processReady(only?: Task): void {
    for (const task of only === undefined ? this.#tasks : [only]) {
      const group = task.group;
      if (group === undefined) continue;
      for (const t of task.sub.sourceTopics) {
        const topic = this.#rt.topicName(t);
        group.setLag(topic, this.#unfetched.get(topic)?.length ?? 0);
      }
      task.processReady(this.#clock, Infinity);
    }
  }

  /**
   * Fetches records written with {@linkcode TestInputTopic.produce}, as one poll of the
   * consumer: up to `limits[topic]` records of each topic (default: all) are handed to their
   * tasks, then what is processable runs (a task reading several topics takes the lowest
   * timestamp first, and waits for a topic with nothing buffered and records left to fetch, or
   * for `maxTaskIdleMs`).
   *
   * @param limits Most records to fetch per topic; a topic not named fetches all its records
   *   unless `limits` is given, then none.
   * @throws {Error} If a record's processing throws, or a topic has no source.
   */
  poll(limits?: Record<string, number>): void {
    if (this.#draining) throw new Error("test driver: poll from inside processing");
    this.#draining = true;
    try {
      for (const [topic, list] of this.#unfetched) {
        const n = limits === undefined ? list.length : Math.min(list.length, limits[topic] ?? 0);
        if (!Number.isSafeInteger(n) || n < 0) {
          throw new RangeError(`test driver: poll limit ${limits?.[topic]} for ${topic}`);
        }
        for (const m of list.splice(0, n)) this.#fetched(topic, m);
        if (list.length === 0) this.#unfetched.delete(topic);
      }
      this.#drain();
      this.#processReady();
      this.#drain();
    } finally {
      this.#queue.length = 0;
      this.#draining = false;
    }
  }

  /**
   * An input topic to pipe records into.
   *
   * @param topic Topic name.
   * @param keySerde Key serde.
   * @param valueSerde Value serde.
   * @returns The input topic.
   */
  createInputTopic<K, V>(
    topic: string,
    keySerde: Serde<K>,
    valueSerde: Serde<V>,
  ): TestInputTopic<K, V> {
    let time = 0;
    const pipe = (key: K | null, value: V | null, timestamp?: number) => {
      if (timestamp !== undefined) time = timestamp;
      this.#pipe(topic, {
        key: keySerde.serialize(key),
        value: valueSerde.serialize(value),
        timestamp: time,
      });
    };
    return {
      pipeInput: pipe,
      produce: (key, value, timestamp) => {
        if (!this.#byTopic.has(topic)) {
          throw new Error(`test driver: no source reads topic ${topic}`);
        }
        if (timestamp !== undefined) time = timestamp;
        let list = this.#unfetched.get(topic);
        if (list === undefined) this.#unfetched.set(topic, list = []);
        list.push({
          key: keySerde.serialize(key),
          value: valueSerde.serialize(value),
          timestamp: time,
        });
      },
      pipeValueList: (values, timestamp) => {
        for (const v of values) pipe(null, v, timestamp);
      },
    };
  }

  /**
   * An output topic to read what the topology wrote.
   *
   * @param topic Topic name.
   * @param keySerde Key serde.
   * @param valueSerde Value serde.
   * @returns The output topic.
   */
  createOutputTopic<K, V>(
    topic: string,
    keySerde: Serde<K>,
    valueSerde: Serde<V>,
  ): TestOutputTopic<K, V> {
    const take = (): TestRecord<K, V>[] => {
      const list = this.#outputs.get(topic) ?? [];
      this.#outputs.delete(topic);
      return list.map((m) => ({
        key: keySerde.deserialize(m.key as Uint8Array | null),
        value: valueSerde.deserialize(m.value as Uint8Array | null),
        timestamp: m.timestamp ?? 0,
      }));
    };
    return {
      readRecordsToList: take,
      readKeyValuesToList: () => take().map((r) => [r.key as K, r.value as V]),
      readKeyValuesToMap: () => {
        const m = new Map<K, V | null>();
        for (const r of take()) m.set(r.key as K, r.value);
        return m;
      },
      isEmpty: () => (this.#outputs.get(topic)?.length ?? 0) === 0,
    };
  }

  /**
   * A versioned table's store (KIP-889 reads: the latest version, or the one valid at a time).
   *
   * @param name Store name.
   * @returns A read-only view.
   * @throws {Error} If there is no such versioned store.
   */
  getVersionedKeyValueStore<K, V>(name: string): ReadOnlyVersionedKeyValueStore<K, V> {
    const def = this.#rt.graph.stores.get(name);
    const v = def?.versioned;
    if (def === undefined || v === undefined) {
      throw new Error(`test driver: no versioned store named ${name}`);
    }
    return versionedView(
      () =>
        this.#tasks.flatMap((t) => {
          const latest = t.stores.get(name);
          const history = t.stores.get(v.historyStore);
          return latest !== undefined && history !== undefined ? [[latest, history]] : [];
        }) as Array<[BytesStore, BytesStore]>,
      v.historyRetentionMs,
      (def.keySerde ?? this.#rt.config.defaultKeySerde) as Serde<K>,
      (def.valueSerde ?? this.#rt.config.defaultValueSerde) as Serde<V>,
    );
  }

  #stores(name: string): BytesStore[] {
    return this.#tasks.flatMap((t) => t.stores.has(name) ? [t.stores.get(name)!] : []);
  }

  /**
   * A key-value store of the topology.
   *
   * @param name Store name.
   * @returns A read-only view.
   * @throws {Error} If there is no such key-value store.
   */
  getKeyValueStore<K, V>(name: string): ReadOnlyKeyValueStore<K, V> {
    const def = this.#rt.graph.stores.get(name);
    if (def?.kind !== "kv") throw new Error(`test driver: no key-value store named ${name}`);
    return keyValueView(
      () => this.#stores(name),
      (def.keySerde ?? this.#rt.config.defaultKeySerde) as Serde<K>,
      (def.valueSerde ?? this.#rt.config.defaultValueSerde) as Serde<V>,
    );
  }

  /**
   * A window store of the topology.
   *
   * @param name Store name.
   * @returns A read-only view.
   * @throws {Error} If there is no such window store.
   */
  getWindowStore<K, V>(name: string): ReadOnlyWindowStore<K, V> {
    const def = this.#rt.graph.stores.get(name);
    if (def?.kind !== "window") throw new Error(`test driver: no window store named ${name}`);
    return windowView(
      () => this.#stores(name),
      (def.keySerde ?? this.#rt.config.defaultKeySerde) as Serde<K>,
      (def.valueSerde ?? this.#rt.config.defaultValueSerde) as Serde<V>,
      def.windowSizeMs!,
    );
  }

  /** Ends the driver (its stores are dropped). */
  close(): void {
    for (const t of this.#tasks) t.close();
    this.#tasks = [];
    this.#byTopic.clear();
  }
}

/** An input topic of a {@linkcode TopologyTestDriver}. */
export interface TestInputTopic<K, V> {
  /**
   * Pipes one record in (processed at once, with every repartition step).
   *
   * @param key Key.
   * @param value Value.
   * @param timestamp Timestamp (default: the previous record's, starting at 0).
   */
  pipeInput(key: K | null, value: V | null, timestamp?: number): void;
  /**
   * Writes one record to the topic without fetching it: it waits on the simulated broker (the
   * topic has lag) until {@linkcode TopologyTestDriver.poll} fetches it. With it, records of
   * several topics of one task can arrive in another order than their timestamps'.
   *
   * @param key The key.
   * @param value The value.
   * @param timestamp The record time (default: the last given, else 0).
   * @throws {Error} If no source reads the topic.
   */
  produce(key: K | null, value: V | null, timestamp?: number): void;
  /**
   * Pipes values with `null` keys.
   *
   * @param values Values.
   * @param timestamp Their timestamp.
   */
  pipeValueList(values: V[], timestamp?: number): void;
}

/** An output topic of a {@linkcode TopologyTestDriver}; reading consumes what was read. */
export interface TestOutputTopic<K, V> {
  /** The records written since the last read. */
  readRecordsToList(): TestRecord<K, V>[];
  /** Their keys and values. */
  readKeyValuesToList(): Array<[K, V]>;
  /** The latest value per key. */
  readKeyValuesToMap(): Map<K, V | null>;
  /** Whether nothing is waiting. */
  isEmpty(): boolean;
}
