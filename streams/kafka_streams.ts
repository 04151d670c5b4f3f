// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * The Streams runtime: runs a {@linkcode Topology} as one member of a consumer group named by
 * the application id. The group's partitions of the topology's source topics are split between
 * the application's instances; each input partition of a sub-topology is a task with its own
 * stores, restored from their changelog topics when the task is assigned. Records are processed
 * one at a time in offset order per partition; results, changelog writes and input offsets are
 * committed together every `commitIntervalMs`: after the producer flushed (`at_least_once`), or
 * in one transaction (`exactly_once_v2`).
 *
 * @module
 */

import { Admin } from "../client/admin.ts";
import { Client } from "../client/client.ts";
import { Consumer, type ConsumerRecord } from "../client/consumer.ts";
import { GroupConsumer, type OffsetToCommit } from "../client/group_consumer.ts";
import { Producer, type ProducerMessage, type RecordMetadata } from "../client/producer.ts";
import { ProducerFencedError } from "../client/transaction_manager.ts";
import { ErrorCode, KafkaError } from "../protocol/errors.ts";
import type { GraphBuilder, StoreDef, Subtopology } from "./graph.ts";
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
import { decodeAssignmentInfo, type StreamsAssignmentInfo, StreamsAssignor } from "./assignor.ts";
import { StandbyTasks } from "./standby.ts";
import { partitionForKey } from "../client/partitioner.ts";
import { type Topology, topologyGraph } from "./topology.ts";

/** `processing.guarantee`. */
export type ProcessingGuarantee = "at_least_once" | "exactly_once_v2";

/** The state of a {@linkcode KafkaStreams} instance, as Kafka's `KafkaStreams.State`. */
export type StreamsState =
  | "CREATED"
  | "REBALANCING"
  | "RUNNING"
  | "PENDING_SHUTDOWN"
  | "NOT_RUNNING"
  | "PENDING_ERROR"
  | "ERROR";

/** Configuration of a {@linkcode KafkaStreams} instance. */
export interface StreamsConfig {
  /** `application.id`: the consumer group, the transactional id's prefix and the prefix of
   * internal topics (`<applicationId>-<store>-changelog`, `<applicationId>-<name>-repartition`). */
  applicationId: string;
  /** Bootstrap servers (a client is made and closed with the instance). */
  bootstrapServers?: string | string[];
  /** Or a client to use (left open on close). */
  client?: Client;
  /** `processing.guarantee`. Default `at_least_once`. */
  processingGuarantee?: ProcessingGuarantee;
  /** How often results and offsets are committed. Default 100 ms with exactly-once, 1000 ms
   * with at-least-once. */
  commitIntervalMs?: number;
  /** Where persistent stores live (`<stateDir>/<applicationId>/<task>/<store>`); one per
   * instance. Default `<tmp>/sluice-streams`. */
  stateDir?: string;
  /** Key serde where none was given. */
  defaultKeySerde?: Serde<unknown>;
  /** Value serde where none was given. */
  defaultValueSerde?: Serde<unknown>;
  /** `group.instance.id`: a static member (a restart takes its partitions back without a
   * rebalance) whose transactional id stays the same across restarts (fencing its previous
   * incarnation at once). Default: a dynamic member. */
  groupInstanceId?: string;
  /** Session timeout of the group member. Default 45000. */
  sessionTimeoutMs?: number;
  /** Heartbeat interval. Default 3000. */
  heartbeatIntervalMs?: number;
  /** Rebalance timeout. Default 60000. */
  rebalanceTimeoutMs?: number;
  /** Longest wait of one poll. Default 100. */
  pollMs?: number;
  /** Where a task starts without a committed offset. Default `earliest` (as Kafka Streams). */
  autoOffsetReset?: "earliest" | "latest";
  /** Replication factor of the internal topics. Default: the broker's default. */
  replicationFactor?: number;
  /** Transaction timeout with exactly-once. Default 10000. */
  transactionTimeoutMs?: number;
  /** `windowstore.changelog.additional.retention.ms`: how much longer than its store's
   * retention a windowed store's changelog keeps records. Default 86400000 (1 day). */
  windowStoreChangelogAdditionalRetentionMs?: number;
  /**
   * `default.deserialization.exception.handler`: what a record whose key or value does not
   * deserialize does. `logAndFail` (default) stops the instance (`ERROR`, `onError`);
   * `logAndContinue` skips it with a warning (counted in `metrics().deserializationErrors`
   * and `dropped`; its offset is committed with the others); a function decides per record.
   */
  deserializationExceptionHandler?: DeserializationExceptionHandlerConfig;
  /**
   * `default.timestamp.extractor`: the time of each consumed record, for every source without
   * its own (`Consumed`'s `timestampExtractor`; repartition topics are read with
   * `FailOnInvalidTimestamp`, as in Kafka): one of {@linkcode TimestampExtractors} or a
   * function `(record, partitionTime) => ms`. Default
   * `TimestampExtractors.FailOnInvalidTimestamp` (a record with a negative timestamp stops the
   * instance: `ERROR`, `onError`). A negative extracted time skips the record (a warning,
   * counted in `dropped`, committed past).
   */
  defaultTimestampExtractor?: TimestampExtractor;
  /**
   * `num.standby.replicas`: copies of each stateful task kept on other instances (never two on
   * one instance), read from the changelogs continuously, so a task that fails over restores
   * only what its standby had not read yet. Default 0.
   */
  numStandbyReplicas?: number;
  /**
   * `application.server`: this instance's `host:port`, advertised to the others in its
   * subscription, for {@linkcode KafkaStreams.queryMetadataForKey} and
   * {@linkcode KafkaStreams.allMetadataForStore} (the calls between instances are the
   * application's own). Default: none.
   */
  applicationServer?: string;
  /**
   * `max.task.idle.ms`, for a task that reads more than one topic (a join, a merge): such a
   * task processes its buffered records lowest timestamp first, and waits while one of its
   * partitions has nothing buffered but records on the broker (known from the last fetch's
   * high watermark); with `0` (default) it then goes on at once for a partition known to be
   * caught up, with more it waits that long for new records there; `-1` never waits (whatever
   * is buffered is processed, maybe out of timestamp order).
   */
  maxTaskIdleMs?: number;
  /**
   * `buffered.records.per.partition` (default 1000), for a task that reads more than one
   * topic: when more records of one of its partitions are buffered (waiting for another
   * partition's), that partition is paused in the consumer (not fetched) until they drain
   * back to this many. The buffer holds at most this many plus one fetch's worth per
   * partition.
   */
  bufferedRecordsPerPartition?: number;
  /** Called once with the error that stopped processing (the instance is then in `ERROR`). */
  onError?: (error: unknown) => void;
  /** Where warnings go (a skipped record, a processor's failed `close`). Default
   * `console.warn`. */
  onWarning?: (message: string) => void;
}

/** Counters of a running instance. */
export interface StreamsMetrics {
  /** Input records processed. */
  processed: number;
  /** Input records fetched and waiting in the queues of tasks that read several topics (at
   * most `bufferedRecordsPerPartition` plus one fetch's worth per partition). */
  buffered: number;
  /** Records dropped: late for a closed window, without a key where one is needed, or
   * skipped because they do not deserialize. */
  dropped: number;
  /** Records skipped because they do not deserialize (`logAndContinue`). */
  deserializationErrors: number;
  /** Punctuators fired (stream time and wall-clock time). */
  punctuations: number;
  /** Commits done. */
  commits: number;
  /** Changelog records restored. */
  restored: number;
  /** Tasks this instance runs now. */
  tasks: string[];
  /** Standby tasks this instance keeps now. */
  standbyTasks: string[];
  /** Changelog records applied to standby tasks. */
  standbyUpdated: number;
  /** Changelog position of each store of each standby task. */
  standbyPositions: Record<string, Record<string, number>>;
  /** Active tasks whose stores became this instance's standby copy when they moved away. */
  standbyHandedOver: number;
}

/** A changelog partition (Kafka's `TopicPartition`). */
export interface TopicPartition {
  /** Topic. */
  topic: string;
  /** Partition. */
  partition: number;
}

/**
 * Told of restores of active tasks' stores from their changelogs (Kafka's
 * `StateRestoreListener`); standby updates are not restores.
 */
export interface StateRestoreListener {
  /** A store starts restoring `[startingOffset, endingOffset)` of its changelog partition. */
  onRestoreStart?(
    partition: TopicPartition,
    storeName: string,
    startingOffset: number,
    endingOffset: number,
  ): void;
  /** A batch was restored, up to `batchEndOffset` (the next offset to read). */
  onBatchRestored?(
    partition: TopicPartition,
    storeName: string,
    batchEndOffset: number,
    numRestored: number,
  ): void;
  /** The store reached the end of its changelog partition. */
  onRestoreEnd?(partition: TopicPartition, storeName: string, totalRestored: number): void;
}

/** An instance's advertised `application.server` (Kafka's `HostInfo`). */
export interface HostInfo {
  /** Host. */
  host: string;
  /** Port. */
  port: number;
}

/** Where a key of a store lives (Kafka's `KeyQueryMetadata`). */
export interface KeyQueryMetadata {
  /** The instance with the key's active task. */
  activeHost: HostInfo;
  /** The instances with its standby tasks. */
  standbyHosts: HostInfo[];
  /** The key's partition. */
  partition: number;
}

/** What one instance holds of a store (Kafka's `StreamsMetadata`). */
export interface StreamsMetadata {
  /** The instance. */
  hostInfo: HostInfo;
  /** Stores of its active tasks. */
  stateStoreNames: string[];
  /** The source partitions of its active tasks. */
  topicPartitions: TopicPartition[];
  /** Stores of its standby tasks. */
  standbyStateStoreNames: string[];
  /** The source partitions of its standby tasks. */
  standbyTopicPartitions: TopicPartition[];
}

/**
 * Runs a topology: one instance of an application.
 *
 * @example Word count
 * ```ts ignore
 * import { KafkaStreams, Serdes, StreamsBuilder } from "@sluice/sluice/streams";
 *
 * const builder = new StreamsBuilder();
 * builder.stream<string, string>("streams-plaintext-input")
 *   .flatMapValues((line) => line.toLowerCase().split(/\W+/).filter((w) => w !== ""))
 *   .groupBy((_key, word) => word)
 *   .count({ storeName: "counts-store" })
 *   .toStream()
 *   .to("streams-wordcount-output", { valueSerde: Serdes.Int64() });
 * const streams = new KafkaStreams(builder.build(), {
 *   applicationId: "streams-wordcount",
 *   bootstrapServers: "localhost:9092",
 *   defaultKeySerde: Serdes.String(),
 *   defaultValueSerde: Serdes.String(),
 * });
 * await streams.start();
 * // ... later
 * console.log(streams.store<string, number>("counts-store").get("kafka"));
 * await streams.close();
 * ```
 *
 * Permissions: `--allow-net` (the cluster); with persistent stores `--allow-read` and
 * `--allow-write` on `stateDir` (and `--allow-env` for the default, under the temp dir).
 */
export class KafkaStreams {
  /** The application id. */
  readonly applicationId: string;
  #rt: Runtime;
  #graph: GraphBuilder;
  #config: StreamsConfig;
  #subs: Subtopology[];
  #topicSub = new Map<string, Subtopology>();
  #state: StreamsState = "CREATED";
  #listeners: Array<(next: StreamsState, previous: StreamsState) => void> = [];
  #client!: Client;
  #ownClient = false;
  #admin!: Admin;
  #consumer!: GroupConsumer;
  #producer!: Producer;
  #eos: boolean;
  #commitIntervalMs: number;
  #tasks = new Map<string, Task>();
  /** Tasks revoked in a rebalance, clean (committed), kept until the assignment is known. */
  #suspended = new Map<string, Task>();
  #failed = false;
  /** Bumped when processing restarts from the committed offsets (records in hand are stale). */
  #epoch = 0;
  #byTopic = new Map<string, Task[]>();
  /** The tasks that read more than one topic (timestamp-synchronised). */
  #grouped: Task[] = [];
  #pending = new Map<string, ProducerMessage[]>();
  /** Output sends not yet acknowledged, oldest first. */
  #unacked: Array<{ sent: Promise<unknown>; count: number }> = [];
  #unackedRecords = 0;
  #sendError: unknown;
  #loop: Promise<void> | undefined;
  #closing: Promise<void> | undefined;
  #stop = new AbortController();
  #processedSinceCommit = 0;
  #lastCommit = 0;
  #processed = 0;
  #commits = 0;
  #restored = 0;
  #deserializationErrors = 0;
  #punctuations = 0;
  /** A punctuator ran since the last commit (its writes and outputs need one). */
  #commitNeeded = false;
  #running: { resolve: () => void; reject: (e: unknown) => void } | undefined;
  #standby!: StandbyTasks;
  #standbyReplicas: number;
  #assignmentInfo: StreamsAssignmentInfo | undefined;
  #assignmentBytes: Uint8Array | null = null;
  #restoreListener: StateRestoreListener | undefined;

  /**
   * Creates an instance; nothing connects until {@linkcode KafkaStreams.start}.
   *
   * @param topology The topology (from {@linkcode StreamsBuilder.build}).
   * @param config Application id, cluster, guarantee, serdes.
   * @throws {RangeError} On an invalid application id, guarantee or interval.
   */
  constructor(topology: Topology, config: StreamsConfig) {
    if (
      typeof config.applicationId !== "string" || !/^[A-Za-z0-9._-]+$/.test(config.applicationId)
    ) {
      throw new RangeError(
        `streams: invalid applicationId ${JSON.stringify(config.applicationId)} ` +
          "(letters, digits, '.', '_' and '-' only: it prefixes topic names)",
      );
    }
    const guarantee = config.processingGuarantee ?? "at_least_once";
    if (guarantee !== "at_least_once" && guarantee !== "exactly_once_v2") {
      throw new RangeError(
        `streams: invalid processingGuarantee ${guarantee} (at_least_once or exactly_once_v2)`,
      );
    }
    if (config.client === undefined && config.bootstrapServers === undefined) {
      throw new RangeError("streams: give bootstrapServers or a client");
    }
    this.#eos = guarantee === "exactly_once_v2";
    this.#commitIntervalMs = config.commitIntervalMs ?? (this.#eos ? 100 : 1000);
    if (!(this.#commitIntervalMs >= 0)) {
      throw new RangeError(`streams: invalid commitIntervalMs ${config.commitIntervalMs}`);
    }
    this.#standbyReplicas = config.numStandbyReplicas ?? 0;
    if (!(Number.isSafeInteger(this.#standbyReplicas) && this.#standbyReplicas >= 0)) {
      throw new RangeError(`streams: invalid numStandbyReplicas ${config.numStandbyReplicas}`);
    }
    if (config.applicationServer !== undefined) parseHost(config.applicationServer);
    const maxTaskIdleMs = config.maxTaskIdleMs ?? 0;
    if (!Number.isSafeInteger(maxTaskIdleMs) || maxTaskIdleMs < -1) {
      throw new RangeError(`streams: invalid maxTaskIdleMs ${config.maxTaskIdleMs} (-1 or >= 0)`);
    }
    const bufferedRecordsPerPartition = config.bufferedRecordsPerPartition ?? 1000;
    if (!Number.isSafeInteger(bufferedRecordsPerPartition) || bufferedRecordsPerPartition < 1) {
      throw new RangeError(
        `streams: invalid bufferedRecordsPerPartition ${config.bufferedRecordsPerPartition} (>= 1)`,
      );
    }
    this.#config = config;
    this.applicationId = config.applicationId;
    this.#graph = topologyGraph(topology);
    const warn = config.onWarning ?? ((message: string) => console.warn(message));
    const handle = deserializationHandler(config.deserializationExceptionHandler, warn, () => {
      this.#deserializationErrors++;
      this.#rt.dropped++;
    });
    this.#rt = {
      graph: this.#graph,
      config,
      applicationId: config.applicationId,
      stateDir: config.stateDir ?? `${tempDir()}/sluice-streams`,
      maxTaskIdleMs,
      bufferedRecordsPerPartition,
      dropped: 0,
      send: (topic, message) => this.#send(topic, message),
      topicName: (topic) => this.#topicName(topic),
      now: () => Date.now(),
      warn,
      deserializationFailed: handle,
      defaultTimestampExtractor: checkExtractor(
        config.defaultTimestampExtractor,
        "streams: defaultTimestampExtractor",
      ),
      punctuated: () => {
        this.#punctuations++;
        this.#commitNeeded = true;
      },
    };
    this.#subs = this.#graph.subtopologies();
    for (const s of this.#subs) {
      for (const t of s.sourceTopics) this.#topicSub.set(this.#topicName(t), s);
    }
    if (this.#topicSub.size === 0) throw new RangeError("streams: the topology reads no topic");
  }

  /** The current state. */
  get state(): StreamsState {
    return this.#state;
  }

  /**
   * Registers a listener of state changes (Kafka's `setStateListener`).
   *
   * @param listener Called with the new and the previous state.
   */
  setStateListener(listener: (next: StreamsState, previous: StreamsState) => void): void {
    this.#listeners.push(listener);
  }

  #setState(next: StreamsState): void {
    const previous = this.#state;
    if (previous === next) return;
    this.#state = next;
    for (const l of this.#listeners) {
      try {
        l(next, previous);
      } catch { /* a listener's failure is its own */ }
    }
  }

  /** A topic's full name: internal topics get the application id in front. */
  #topicName(topic: string): string {
    return this.#graph.internalTopics.has(topic) ? `${this.applicationId}-${topic}` : topic;
  }

  #changelog(store: string): string {
    return `${this.applicationId}-${store}-changelog`;
  }

  /** Counters. */
  metrics(): StreamsMetrics {
    return {
      processed: this.#processed,
      buffered: this.#grouped.reduce((n, task) => n + task.group!.buffered, 0),
      dropped: this.#rt.dropped,
      commits: this.#commits,
      restored: this.#restored,
      standbyTasks: this.#standby?.ids() ?? [],
      standbyUpdated: this.#standby?.updated ?? 0,
      standbyPositions: this.#standby?.positions() ?? {},
      standbyHandedOver: this.#standby?.handedOver ?? 0,
      deserializationErrors: this.#deserializationErrors,
      punctuations: this.#punctuations,
      tasks: [...this.#tasks.keys()].sort(),
    };
  }

  /**
   * Creates the internal topics, joins the group and starts processing in the background;
   * resolves once the first assignment is restored and processing runs (state `RUNNING`).
   *
   * @throws {Error} If started twice, a source topic is missing, co-partitioned topics differ in
   *   partition count, or the cluster cannot be reached.
   */
  async start(): Promise<void> {
    if (this.#state !== "CREATED") throw new Error(`streams: start in state ${this.#state}`);
    this.#setState("REBALANCING");
    try {
      this.#client = this.#config.client ?? new Client({
        bootstrapServers: this.#config.bootstrapServers!,
        clientId: this.applicationId,
      });
      this.#ownClient = this.#config.client === undefined;
      this.#admin = new Admin(this.#client);
      await this.#createInternalTopics();
      this.#producer = new Producer(
        this.#client,
        this.#eos
          ? {
            lingerMs: 5,
            transactionalId: `${this.applicationId}-${
              this.#config.groupInstanceId ?? crypto.randomUUID()
            }`,
            transactionTimeoutMs: this.#config.transactionTimeoutMs ?? 10_000,
          }
          : { lingerMs: 5 },
      );
      // Fences an earlier incarnation with the same transactional id and ends its transaction,
      // so what it left open neither blocks the changelogs nor counts.
      if (this.#eos) await this.#producer.initTransactions();
      this.#standby = new StandbyTasks(this.#client, {
        graph: this.#graph,
        applicationId: this.applicationId,
        stateDir: this.#rt.stateDir,
        readCommitted: this.#eos,
        changelog: (store) => this.#changelog(store),
        checkpointIntervalMs: this.#commitIntervalMs,
      });
      const assignor = new StreamsAssignor(
        this.#subs.map((s) => ({
          id: s.id,
          topics: s.sourceTopics.map((t) => this.#topicName(t)),
          stateful: s.stores.length > 0,
        })),
        this.#standbyReplicas,
        () => this.#subscriptionInfo(),
      );
      this.#consumer = new GroupConsumer(this.#client, {
        groupId: this.applicationId,
        groupInstanceId: this.#config.groupInstanceId ?? null,
        autoCommit: false,
        autoOffsetReset: this.#config.autoOffsetReset ?? "earliest",
        assignors: [assignor],
        sessionTimeoutMs: this.#config.sessionTimeoutMs,
        heartbeatIntervalMs: this.#config.heartbeatIntervalMs,
        rebalanceTimeoutMs: this.#config.rebalanceTimeoutMs,
        maxWaitMs: this.#config.pollMs ?? 100,
        maxPartitionBytes: FETCH_PARTITION_BYTES,
        isolationLevel: this.#eos ? "read_committed" : "read_uncommitted",
      });
      this.#consumer.subscribe([...this.#topicSub.keys()], {
        // Before the member rejoins, while its generation is valid: commit, keep the tasks'
        // state (they come back if reassigned, at the offsets just committed).
        onPartitionsRevoked: async () => {
          if (this.#failed) return;
          if (this.#state === "RUNNING") this.#setState("REBALANCING");
          await this.#commit();
          // Buffered records lie past the committed offsets: they are fetched again.
          for (const task of this.#tasks.values()) {
            const group = task.group;
            if (group === undefined) continue;
            const paused = group.paused;
            if (paused.length > 0) {
              this.#consumer.resume(paused.map((topic) => ({ topic, partition: task.partition })));
            }
            task.clearBuffered();
          }
          for (const [id, task] of this.#tasks) this.#suspended.set(id, task);
          this.#tasks.clear();
        },
        // Out of the group: another member may own the partitions already; what was not
        // committed is dropped (aborted with exactly-once) and every task restarts from its
        // changelog.
        onPartitionsLost: async () => {
          if (this.#state === "RUNNING") this.#setState("REBALANCING");
          await this.#abandon();
        },
        // New tasks are made and restored after poll returns (#reconcile), not in the
        // callback: heartbeats run then, and a long restore does not cost the membership.
      });
    } catch (e) {
      await this.#shutdown();
      this.#setState("ERROR");
      throw e;
    }
    const running = new Promise<void>((resolve, reject) => this.#running = { resolve, reject });
    this.#loop = this.#run();
    await running;
  }

  /** Partition counts: source topics must exist; internal ones follow their inputs. */
  async #createInternalTopics(): Promise<void> {
    const counts = new Map<string, number>();
    for (const t of this.#graph.sources.keys()) {
      if (this.#graph.internalTopics.has(t)) continue;
      try {
        const info = await this.#client.topic(t, { allowAutoTopicCreation: false });
        counts.set(t, info.partitions.length);
      } catch (e) {
        throw new Error(`streams: source topic ${t} is missing: ${(e as Error).message}`);
      }
    }
    // A repartition topic gets the most partitions of its writer's and reader's source topics.
    const writerOf = new Map<string, Subtopology>();
    for (const s of this.#subs) {
      for (const n of s.nodes) if (n.sinkTopic !== undefined) writerOf.set(n.sinkTopic, s);
    }
    const readerOf = (t: string) => this.#subs.find((s) => s.sourceTopics.includes(t))!;
    for (let round = 0; round < this.#subs.length + 1; round++) {
      for (const t of this.#graph.internalTopics) {
        const related = this.#graph.coPartitioned.has(t)
          ? readerOf(t).sourceTopics.filter((x) => x !== t)
          : [...writerOf.get(t)!.sourceTopics, ...readerOf(t).sourceTopics];
        const n = Math.max(...related.map((x) => counts.get(x) ?? 0));
        if (n > 0) counts.set(t, n);
      }
    }
    const wanted: Array<{ name: string; partitions: number; configs: Record<string, string> }> = [];
    for (const t of this.#graph.internalTopics) {
      wanted.push({ name: this.#topicName(t), partitions: counts.get(t) ?? 1, configs: {} });
    }
    for (const s of this.#subs) {
      const tasks = Math.max(...s.sourceTopics.map((t) => counts.get(t) ?? 1));
      if (s.stores.length > 0) {
        const differ = s.sourceTopics.filter((t) => counts.get(t) !== tasks);
        if (differ.length > 0) {
          throw new Error(
            `streams: topics ${s.sourceTopics.join(", ")} are joined or share a store so they ` +
              `must have the same partition count (${
                s.sourceTopics.map((t) => counts.get(t)).join(", ")
              })`,
          );
        }
      }
      for (const store of s.stores) {
        // A windowed store's changelog also forgets by time (Kafka's `compact,delete`, with
        // `windowstore.changelog.additional.retention.ms` on top of the store's retention).
        const retention = this.#graph.stores.get(store)!.retentionMs;
        const configs: Record<string, string> = retention === undefined
          ? { "cleanup.policy": "compact" }
          : {
            "cleanup.policy": "compact,delete",
            "retention.ms": String(
              retention + (this.#config.windowStoreChangelogAdditionalRetentionMs ?? 86_400_000),
            ),
          };
        wanted.push({ name: this.#changelog(store), partitions: tasks, configs });
      }
    }
    for (const w of wanted) {
      try {
        await this.#admin.createTopics([{
          name: w.name,
          numPartitions: w.partitions,
          replicationFactor: this.#config.replicationFactor,
          configs: w.configs,
        }]);
      } catch (e) {
        if (!(e instanceof KafkaError && e.code === ErrorCode.TOPIC_ALREADY_EXISTS)) throw e;
        const info = await this.#client.topic(w.name, { refresh: true });
        if (info.partitions.length < w.partitions) {
          throw new Error(
            `streams: internal topic ${w.name} has ${info.partitions.length} partitions, ` +
              `the topology needs ${w.partitions}`,
          );
        }
      }
    }
  }

  /** Queues an output record. */
  #send(topic: string, message: ProducerMessage): void {
    let list = this.#pending.get(topic);
    if (list === undefined) this.#pending.set(topic, list = []);
    list.push(message);
  }

  async #run(): Promise<void> {
    const signal = this.#stop.signal;
    try {
      this.#lastCommit = Date.now();
      while (!signal.aborted) {
        // Wall-clock punctuators fire between polls (and slices): a poll waits no longer than
        // until the next one is due, so they fire on time with no input too.
        await this.#punctuateWallClock();
        const records = await this.#consumer.poll({ signal, maxWaitMs: this.#pollWait() });
        if (signal.aborted) break;
        await this.#reconcile();
        if (this.#state === "REBALANCING") {
          this.#setState("RUNNING");
          this.#running?.resolve();
          this.#running = undefined;
        }
        // In slices, giving the event loop a turn between them: a fetch can hold a hundred
        // thousand records, and heartbeats must go on while they are processed.
        let turn = Date.now();
        const epoch = this.#epoch;
        for (
          let from = 0;
          from < records.length && !signal.aborted && this.#epoch === epoch;
          from += SLICE
        ) {
          if (Date.now() - turn >= 50) {
            await new Promise((resolve) => setTimeout(resolve, 0));
            turn = Date.now();
          }
          this.#process(records, from, Math.min(records.length, from + SLICE));
          this.#flushOutputs();
          await this.#throttle();
          if (this.#epoch !== epoch) break;
          await this.#punctuateWallClock();
          await this.#commitIfDue();
        }
        // Tasks of several topics: their buffered records, lowest timestamp first.
        if (this.#grouped.length > 0 && !signal.aborted && this.#epoch === epoch) {
          await this.#processGroups(epoch, signal);
        }
        await this.#punctuateWallClock();
        // Also after an empty poll: with exactly-once, what a sub-topology wrote to a
        // repartition topic is invisible to the next one (read committed) until committed.
        await this.#commitIfDue();
        // Standby tasks read what their changelogs got since (one fetch, no wait).
        await this.#standby.update();
      }
      await this.#commit();
      // Closed before the first assignment: start() returns (the state says why).
      this.#running?.resolve();
      this.#running = undefined;
    } catch (e) {
      this.#failed = true;
      this.#setState("PENDING_ERROR");
      if (this.#eos && this.#producer.transactionState === "IN_TRANSACTION") {
        await this.#producer.abortTransaction().catch(() => {});
      }
      await this.#shutdown().catch(() => {});
      this.#setState("ERROR");
      if (this.#running) {
        this.#running.reject(e);
        this.#running = undefined;
      } else {
        this.#config.onError?.(e);
      }
      return;
    }
  }

  /** Fires the tasks' wall-clock punctuators that are due and hands their outputs over. */
  async #punctuateWallClock(): Promise<void> {
    if (this.#tasks.size === 0) return;
    const now = Date.now();
    let fired = false;
    for (const task of this.#tasks.values()) {
      if (task.nextWallClockPunctuation <= now && task.punctuateWallClock(now)) fired = true;
    }
    if (!fired) return;
    this.#flushOutputs();
    await this.#throttle();
  }

  /**
   * Processes the buffered records of the tasks that read several topics, after telling each
   * task's partition group what the last fetch said of its partitions' lags; in slices, as
   * fetched records are.
   */
  async #processGroups(epoch: number, signal: AbortSignal): Promise<void> {
    for (const task of this.#grouped) {
      for (const t of task.sub.sourceTopics) {
        const topic = this.#topicName(t);
        task.group!.setLag(topic, this.#consumer.lag(topic, task.partition));
      }
    }
    let turn = Date.now();
    while (!signal.aborted && this.#epoch === epoch) {
      const now = Date.now();
      let n = 0;
      for (const task of this.#grouped) {
        const group = task.group!;
        if (group.buffered === 0) continue;
        n += task.processReady(now, SLICE);
        const resumed = group.takeResumed();
        if (resumed.length > 0) {
          this.#consumer.resume(resumed.map((topic) => ({ topic, partition: task.partition })));
        }
      }
      if (n === 0) return;
      this.#processed += n;
      this.#processedSinceCommit += n;
      this.#flushOutputs();
      await this.#throttle();
      if (this.#epoch !== epoch) return;
      await this.#punctuateWallClock();
      await this.#commitIfDue();
      if (Date.now() - turn >= 50) {
        await new Promise((resolve) => setTimeout(resolve, 0));
        turn = Date.now();
      }
    }
  }

  /** How long a poll may wait: `pollMs`, less when a wall-clock punctuator is due sooner or a
   * task stops waiting for an idle partition sooner (`maxTaskIdleMs`). */
  #pollWait(): number {
    const pollMs = this.#config.pollMs ?? 100;
    const now = Date.now();
    let next = Infinity;
    for (const task of this.#tasks.values()) {
      const t = task.nextWallClockPunctuation;
      if (t < next) next = t;
      // Only a task with records waiting for an idle partition: a deadline already passed
      // means it waits for a fetch (a lag), which the poll brings.
      const group = task.group;
      if (group !== undefined && group.buffered > 0) {
        const idle = group.nextIdleDeadline;
        if (idle > now && idle < next) next = idle;
      }
    }
    return Math.max(0, Math.min(pollMs, next - now));
  }

  /** Processes `records[start, end)`: a task of one topic at once, in fetch order; a task of
   * several buffers them ({@linkcode KafkaStreams.#processGroups} processes them). */
  #process(records: ConsumerRecord[], start: number, end: number): void {
    let buffered = 0;
    // A fetch returns each partition's records together: one task lookup per run of them.
    for (let from = start; from < end;) {
      const { topic, partition } = records[from];
      let to = from + 1;
      while (to < end && records[to].partition === partition && records[to].topic === topic) to++;
      const task = this.#byTopic.get(topic)?.[partition];
      if (task?.group === undefined) {
        task?.processRun(records, from, to);
      } else {
        // Over `bufferedRecordsPerPartition`: not fetched until it drains back.
        if (task.buffer(records, from, to)) this.#consumer.pause([{ topic, partition }]);
        buffered += to - from;
      }
      from = to;
    }
    this.#processed += end - start - buffered;
    this.#processedSinceCommit += end - start - buffered;
  }

  /** Starts a transaction if none is open (exactly-once). */
  #begin(): void {
    if (this.#eos && this.#producer.transactionState === "READY") {
      this.#producer.beginTransaction();
    }
  }

  /** Hands queued records to the producer (not waiting for them). */
  #flushOutputs(): void {
    if (this.#pending.size === 0) return;
    this.#begin();
    for (const [topic, messages] of this.#pending) {
      // Only the acknowledgement matters here: no metadata per record.
      const sent = this.#producer.send({ topic, messages, metadata: false }).catch((e) => {
        this.#sendError ??= e;
      });
      this.#unacked.push({ sent, count: messages.length });
      this.#unackedRecords += messages.length;
    }
    this.#pending.clear();
  }

  /** Waits while more than `MAX_UNACKED` output records are not acknowledged (backpressure). */
  async #throttle(): Promise<void> {
    while (this.#unackedRecords > MAX_UNACKED) {
      const { sent, count } = this.#unacked.shift()!;
      await sent;
      this.#unackedRecords -= count;
    }
  }

  #flushChangelogs(): Promise<unknown>[] {
    const writes: Promise<unknown>[] = [];
    for (const task of this.#tasks.values()) {
      for (const store of task.stores.values()) {
        const dirty = store.takeDirty();
        if (dirty.length === 0) continue;
        const messages: ProducerMessage[] = dirty.map((d) =>
          d instanceof Uint8Array
            ? { key: d, value: null, partition: task.partition, timestamp: task.streamTime }
            : { key: d.key, value: d.value, partition: task.partition, timestamp: d.timestamp }
        );
        const sent = this.#producer.send({ topic: this.#changelog(store.name), messages });
        writes.push(
          sent.then((meta: RecordMetadata[]) => {
            const next = meta[meta.length - 1].offset + 1;
            if (next > store.position) store.position = next;
          }, (e) => this.#sendError ??= e),
        );
      }
    }
    return writes;
  }

  #offsets(): OffsetToCommit[] {
    const out: OffsetToCommit[] = [];
    for (const task of this.#tasks.values()) {
      for (const [topic, { offset, leaderEpoch }] of task.offsets) {
        out.push({
          topic,
          partition: task.partition,
          offset,
          leaderEpoch,
          metadata: String(task.streamTime),
        });
      }
    }
    return out;
  }

  /** Commits when the interval has passed since the last commit and there is work to commit,
   * or at once when a processor asked for it (`ProcessorContext.commit`). */
  async #commitIfDue(): Promise<void> {
    let requested = false;
    for (const task of this.#tasks.values()) {
      if (task.commitRequested) requested = true;
    }
    if (
      (this.#processedSinceCommit > 0 || this.#commitNeeded) &&
      (requested || Date.now() - this.#lastCommit >= this.#commitIntervalMs)
    ) {
      await this.#commit();
    }
  }

  /**
   * Commits what was processed: flushes outputs and changelogs, then commits the input offsets
   * (at-least-once), or sends the offsets to the transaction and commits it (exactly-once);
   * then checkpoints persistent stores.
   */
  async #commit(): Promise<void> {
    if (this.#tasks.size === 0 || (this.#processedSinceCommit === 0 && !this.#commitNeeded)) {
      return;
    }
    for (const task of this.#tasks.values()) task.commitRequested = false;
    this.#flushOutputs();
    this.#begin();
    const writes = this.#flushChangelogs();
    const offsets = this.#offsets();
    if (this.#eos) {
      try {
        await this.#producer.sendOffsetsToTransaction(offsets, this.#consumer.groupMetadata());
        await this.#producer.commitTransaction();
        this.#unacked = [];
        this.#unackedRecords = 0;
      } catch (e) {
        await this.#abortAndRewind(e);
        return;
      }
      await Promise.all(writes);
    } else {
      await this.#producer.flush();
      this.#unacked = [];
      this.#unackedRecords = 0;
      await Promise.all(writes);
      if (this.#sendError !== undefined) throw this.#sendError;
      if (offsets.length > 0) {
        try {
          await this.#consumer.commit(offsets);
        } catch (e) {
          // Out of the generation: the partitions are someone else's now; what was processed
          // since the last commit will be processed again (at-least-once).
          if (!(e instanceof KafkaError && REBALANCE_ERRORS.has(e.code))) throw e;
        }
      }
    }
    for (const task of this.#tasks.values()) {
      for (const store of task.stores.values()) await store.persist();
    }
    this.#commits++;
    this.#processedSinceCommit = 0;
    this.#commitNeeded = false;
    this.#lastCommit = Date.now();
  }

  /**
   * A transaction failed: abort it, drop every task's state (it holds the aborted updates) and
   * start again from the committed offsets and the changelogs. A fenced producer is fatal.
   */
  async #abortAndRewind(cause: unknown): Promise<void> {
    if (
      cause instanceof ProducerFencedError || this.#producer.transactionState === "FATAL_ERROR"
    ) {
      throw cause;
    }
    await this.#producer.abortTransaction();
    // The rest of the records in hand lie past the committed offsets: drop them, poll again.
    this.#epoch++;
    this.#sendError = undefined;
    const partitions = this.#consumer.assignment().map(({ topic, partition }) => ({
      topic,
      partition,
    }));
    await this.#abandon();
    const committed = await this.#consumer.committed(partitions);
    for (const c of committed) {
      // With the committed leader epoch, so that the position is validated (KIP-320) as a member
      // resuming from the committed offset does: a log truncated below it is noticed.
      await this.#consumer.seek(
        c.topic,
        c.partition,
        c.offset >= 0 ? c.offset : this.#config.autoOffsetReset ?? "earliest",
        c.leaderEpoch,
      );
    }
    await this.#reconcile();
  }

  /** Drops every task without committing (their state is restored when they come back). */
  async #abandon(): Promise<void> {
    if (this.#eos && this.#producer.transactionState === "IN_TRANSACTION") {
      await this.#producer.abortTransaction().catch(() => {});
    }
    for (const task of [...this.#tasks.values(), ...this.#suspended.values()]) task.close();
    // The new tasks buffer nothing yet: every partition is fetched again.
    const paused = this.#consumer?.paused() ?? [];
    if (paused.length > 0) this.#consumer.resume(paused);
    this.#tasks.clear();
    this.#suspended.clear();
    this.#byTopic.clear();
    this.#grouped = [];
    this.#pending.clear();
    this.#unacked = [];
    this.#unackedRecords = 0;
    this.#processedSinceCommit = 0;
    this.#commitNeeded = false;
  }

  /**
   * Makes the tasks match the consumer's assignment: resumes suspended tasks still assigned
   * (catching up on their changelogs if another member wrote to them), creates and restores
   * new ones, closes the rest.
   */
  async #reconcile(): Promise<void> {
    const wanted = new Map<string, { sub: Subtopology; partition: number }>();
    for (const p of this.#consumer.assignment()) {
      const sub = this.#topicSub.get(p.topic);
      if (sub === undefined) continue;
      wanted.set(`${sub.id}_${p.partition}`, { sub, partition: p.partition });
    }
    let changed = this.#suspended.size > 0;
    for (const [id, task] of this.#tasks) {
      if (wanted.has(id)) continue;
      // Not through the listener: its state may hold what was not committed; drop it.
      changed = true;
      this.#tasks.delete(id);
      task.close();
    }
    const created: Task[] = [];
    const resumed: Task[] = [];
    const promoted = new Set<Task>();
    for (const [id, { sub, partition }] of wanted) {
      if (this.#tasks.has(id)) continue;
      changed = true;
      const suspended = this.#suspended.get(id);
      if (suspended !== undefined) {
        this.#suspended.delete(id);
        resumed.push(suspended);
        this.#tasks.set(id, suspended);
        continue;
      }
      const task = new Task(this.#rt, sub, partition);
      // A standby copy here becomes the task's state: restored only from its position.
      const copy = await this.#standby.take(id);
      if (copy !== undefined) {
        for (const [name, store] of copy) task.stores.set(name, store);
        promoted.add(task);
      }
      created.push(task);
      this.#tasks.set(id, task);
    }
    // A task moved away whose standby stays here: its stores become the copy (Kafka converts the
    // suspended active into the standby), reading on from the changelog offset its last commit
    // wrote up to, not from offset 0. Suspended tasks were committed by the revocation (under
    // exactly-once their positions stop at committed writes); one that failed to commit was
    // dropped with its state (#abandon), never handed over.
    const standbys = new Set(
      decodeAssignmentInfo(this.#consumer.assignmentUserData())?.standby ?? [],
    );
    for (const [id, task] of this.#suspended) {
      if (standbys.has(id) && task.stores.size > 0) {
        const stores = new Map(task.stores);
        task.stores.clear();
        this.#standby.adopt(id, task.partition, stores);
      }
      task.close();
    }
    this.#suspended.clear();
    await this.#assignStandbys();
    if (!changed) return;
    this.#byTopic.clear();
    this.#grouped = [...this.#tasks.values()].filter((t) => t.group !== undefined);
    for (const task of this.#tasks.values()) {
      for (const t of task.sub.sourceTopics) {
        const name = this.#topicName(t);
        let list = this.#byTopic.get(name);
        if (list === undefined) this.#byTopic.set(name, list = []);
        list[task.partition] = task;
      }
    }
    if (created.length > 0 || resumed.length > 0) await this.#restore(created, resumed, promoted);
  }

  /** Makes the standby tasks match the last assignment's (after the actives took theirs). */
  async #assignStandbys(): Promise<void> {
    const bytes = this.#consumer.assignmentUserData();
    if (bytes === this.#assignmentBytes) return;
    this.#assignmentBytes = bytes;
    const info = decodeAssignmentInfo(bytes);
    if (info === undefined) return;
    this.#assignmentInfo = info;
    const wanted = new Map<string, { sub: Subtopology; partition: number }>();
    for (const id of info.standby) {
      const [subId, partition] = id.split("_").map(Number);
      const sub = this.#subs.find((s) => s.id === subId);
      // Never a standby of a task active here (the assignor does not place one).
      if (sub === undefined || this.#tasks.has(id)) continue;
      wanted.set(id, { sub, partition });
    }
    await this.#standby.assign(wanted);
  }

  /** This member's subscription info: its host, its tasks and how far their state is. */
  #subscriptionInfo() {
    const sums = this.#standby.offsetSums();
    const active: string[] = [];
    for (const [id, task] of [...this.#tasks, ...this.#suspended]) {
      active.push(id);
      let sum = 0;
      for (const s of task.stores.values()) sum += s.position;
      sums[id] = sum;
    }
    return { v: 1, host: this.#config.applicationServer ?? null, active, sums };
  }

  /** Opens the tasks' stores, replays their changelogs from where each store is, and sets the
   * tasks' stream time from the committed offsets' metadata. */
  async #restore(tasks: Task[], resumed: Task[], promoted = new Set<Task>()): Promise<void> {
    const parts: Array<{ store: BytesStore; topic: string; partition: number }> = [];
    for (const task of [...tasks, ...resumed]) {
      for (const store of task.stores.values()) {
        if (!resumed.includes(task) && !promoted.has(task)) await store.open();
        parts.push({ store, topic: this.#changelog(store.name), partition: task.partition });
      }
    }
    if (parts.length > 0) {
      const ends = await this.#admin.listOffsets(
        parts.map((p) => ({ topic: p.topic, partition: p.partition, spec: "latest" as const })),
      );
      const todo = parts.map((p, i) => ({ ...p, end: ends[i].offset })).filter((p) => {
        if (p.store.position > p.end) p.store.wipe();
        return p.store.position < p.end;
      });
      if (todo.length > 0) await this.#replay(todo);
    }
    if (tasks.length === 0) return;
    const committed = await this.#admin.listConsumerGroupOffsets(
      this.applicationId,
      tasks.flatMap((t) =>
        t.sub.sourceTopics.map((topic) => ({
          topic: this.#topicName(topic),
          partition: t.partition,
        }))
      ),
    );
    for (const task of tasks) {
      for (const c of committed) {
        if (c.partition !== task.partition || !this.#topicSubIs(c.topic, task.sub)) continue;
        const time = Number(c.metadata);
        if (c.metadata && Number.isSafeInteger(time) && time > task.streamTime) {
          task.streamTime = time;
        }
      }
      for (const store of task.stores.values()) {
        const time = Math.max(store.maxTimestamp, store.observedStreamTime);
        if (time > task.streamTime) task.streamTime = time;
      }
      task.advanceStreamTime(task.streamTime);
      task.init();
    }
  }

  #topicSubIs(topic: string, sub: Subtopology): boolean {
    return this.#topicSub.get(topic) === sub;
  }

  async #replay(
    parts: Array<{ store: BytesStore; topic: string; partition: number; end: number }>,
  ): Promise<void> {
    const consumer = new Consumer(this.#client, {
      isolationLevel: this.#eos ? 1 : 0,
      autoOffsetReset: "earliest",
      maxWaitMs: 200,
    });
    const byKey = new Map(parts.map((p) => [`${p.topic}\u0000${p.partition}`, p]));
    const listener = this.#restoreListener;
    const restored = new Map<string, number>();
    for (const p of parts) {
      listener?.onRestoreStart?.(
        { topic: p.topic, partition: p.partition },
        p.store.name,
        p.store.position,
        p.end,
      );
    }
    try {
      await consumer.assign(
        parts.map((p) => ({ topic: p.topic, partition: p.partition, offset: p.store.position })),
      );
      const deadline = Date.now() + (this.#config.rebalanceTimeoutMs ?? 60_000);
      for (;;) {
        const positions = consumer.assignment();
        const behind = positions.filter((p) =>
          p.offset < byKey.get(`${p.topic}\u0000${p.partition}`)!.end
        );
        for (const p of positions) {
          byKey.get(`${p.topic}\u0000${p.partition}`)!.store.position = p.offset;
        }
        if (behind.length === 0) {
          for (const p of parts) {
            listener?.onRestoreEnd?.(
              { topic: p.topic, partition: p.partition },
              p.store.name,
              restored.get(`${p.topic}\u0000${p.partition}`) ?? 0,
            );
          }
          break;
        }
        if (Date.now() > deadline || this.#stop.signal.aborted) {
          throw new Error(
            `streams: restore of ${behind.map((p) => `${p.topic}-${p.partition}`).join(", ")} ` +
              "did not reach the changelog's end",
          );
        }
        const batch = new Map<string, number>();
        for (const r of await consumer.poll()) {
          const k = `${r.topic}\u0000${r.partition}`;
          byKey.get(k)!.store.restore(r.key!, r.value, r.timestamp);
          this.#restored++;
          batch.set(k, (batch.get(k) ?? 0) + 1);
        }
        for (const [k, n] of batch) {
          restored.set(k, (restored.get(k) ?? 0) + n);
          const p = byKey.get(k)!;
          listener?.onBatchRestored?.(
            { topic: p.topic, partition: p.partition },
            p.store.name,
            consumer.assignment().find((a) => a.topic === p.topic && a.partition === p.partition)!
              .offset,
            n,
          );
        }
      }
    } finally {
      await consumer.close();
    }
  }

  /**
   * A key-value store of this instance's tasks, for reads (interactive queries).
   *
   * @param name The store name (`Materialized.storeName`).
   * @returns A read-only view over the local tasks' copies.
   * @throws {Error} If the topology has no such key-value store.
   */
  store<K, V>(name: string): ReadOnlyKeyValueStore<K, V> {
    const def = this.#storeDef(name, "kv");
    return keyValueView(
      () => this.#localStores(name),
      (def.keySerde ?? this.#config.defaultKeySerde) as Serde<K>,
      (def.valueSerde ?? this.#config.defaultValueSerde) as Serde<V>,
    );
  }

  /**
   * A window store of this instance's tasks, for reads (interactive queries).
   *
   * @param name The store name.
   * @returns A read-only view.
   * @throws {Error} If the topology has no such window store.
   */
  windowStore<K, V>(name: string): ReadOnlyWindowStore<K, V> {
    const def = this.#storeDef(name, "window");
    return windowView(
      () => this.#localStores(name),
      (def.keySerde ?? this.#config.defaultKeySerde) as Serde<K>,
      (def.valueSerde ?? this.#config.defaultValueSerde) as Serde<V>,
      def.windowSizeMs!,
    );
  }

  /**
   * A versioned table's store of this instance's tasks (KIP-889 reads): `get(key)` the latest
   * version, `get(key, asOfTimestamp)` the one valid then.
   *
   * @param name The store name.
   * @returns A read-only view.
   * @throws {Error} If the topology has no such versioned store.
   */
  versionedStore<K, V>(name: string): ReadOnlyVersionedKeyValueStore<K, V> {
    const def = this.#graph.stores.get(name);
    const v = def?.versioned;
    if (def === undefined || v === undefined) {
      throw new Error(`streams: no versioned store named ${name}`);
    }
    return versionedView(
      () =>
        [...this.#tasks.values()].flatMap((t) => {
          const latest = t.stores.get(name);
          const history = t.stores.get(v.historyStore);
          return latest !== undefined && history !== undefined ? [[latest, history]] : [];
        }) as Array<[BytesStore, BytesStore]>,
      v.historyRetentionMs,
      (def.keySerde ?? this.#config.defaultKeySerde) as Serde<K>,
      (def.valueSerde ?? this.#config.defaultValueSerde) as Serde<V>,
    );
  }

  #storeDef(name: string, kind: "kv" | "window"): StoreDef {
    const def = this.#graph.stores.get(name);
    if (def === undefined || def.kind !== kind) {
      throw new Error(`streams: no ${kind === "kv" ? "key-value" : "window"} store named ${name}`);
    }
    return def;
  }

  #localStores(name: string): BytesStore[] {
    const out: BytesStore[] = [];
    for (const t of this.#tasks.values()) {
      const s = t.stores.get(name);
      if (s !== undefined) out.push(s);
    }
    return out;
  }

  /**
   * Sets the listener told of active tasks' restores (Kafka's
   * `setGlobalStateRestoreListener`); before {@linkcode KafkaStreams.start}.
   *
   * @param listener The listener.
   */
  setGlobalStateRestoreListener(listener: StateRestoreListener): void {
    this.#restoreListener = listener;
  }

  /**
   * Where a key of a store lives (Kafka's `queryMetadataForKey`): the instance whose active
   * task holds the key's partition (the default partitioner's: murmur2 of the serialized key)
   * and those with its standbys, as the last assignment says, by their `applicationServer`.
   *
   * @param storeName The store.
   * @param key The key.
   * @param keySerializer Serializes the key as the store's input topic has it.
   * @returns The hosts and the partition; `undefined` before the first assignment or when
   *   the key's task is on an instance with no `applicationServer` (Kafka's `NOT_AVAILABLE`).
   * @throws {Error} If the topology has no such store.
   */
  queryMetadataForKey<K>(
    storeName: string,
    key: K,
    keySerializer: Serde<K> | ((key: K) => Uint8Array),
  ): KeyQueryMetadata | undefined {
    const sub = this.#storeSub(storeName);
    const info = this.#assignmentInfo;
    const n = info?.tasks[sub.id];
    if (info === undefined || n === undefined || n === 0) return undefined;
    const bytes = typeof keySerializer === "function"
      ? keySerializer(key)
      : keySerializer.serialize(key);
    if (bytes === null) {
      throw new TypeError(`streams: key of store ${storeName} serialized to null`);
    }
    const partition = partitionForKey(bytes, n);
    const task = `${sub.id}_${partition}`;
    let activeHost: HostInfo | undefined;
    const standbyHosts: HostInfo[] = [];
    for (const [host, tasks] of Object.entries(info.hosts)) {
      if (tasks.active.includes(task)) activeHost = parseHost(host);
      if (tasks.standby.includes(task)) standbyHosts.push(parseHost(host));
    }
    if (activeHost === undefined) return undefined;
    return { activeHost, standbyHosts, partition };
  }

  /**
   * Every instance (with an `applicationServer`) holding tasks of a store, active or standby
   * (Kafka's `streamsMetadataForStore`, `allMetadataForStore`).
   *
   * @param storeName The store.
   * @returns One entry per instance; empty before the first assignment.
   * @throws {Error} If the topology has no such store.
   */
  allMetadataForStore(storeName: string): StreamsMetadata[] {
    const sub = this.#storeSub(storeName);
    const out: StreamsMetadata[] = [];
    const partitionsOf = (tasks: string[]) =>
      tasks.filter((t) => t.startsWith(`${sub.id}_`)).flatMap((t) => {
        const p = Number(t.split("_")[1]);
        return sub.sourceTopics.map((topic) => ({ topic: this.#topicName(topic), partition: p }));
      });
    for (const [host, tasks] of Object.entries(this.#assignmentInfo?.hosts ?? {})) {
      const active = partitionsOf(tasks.active);
      const standby = partitionsOf(tasks.standby);
      if (active.length === 0 && standby.length === 0) continue;
      out.push({
        hostInfo: parseHost(host),
        stateStoreNames: active.length > 0 ? [...sub.stores] : [],
        topicPartitions: active,
        standbyStateStoreNames: standby.length > 0 ? [...sub.stores] : [],
        standbyTopicPartitions: standby,
      });
    }
    return out;
  }

  #storeSub(name: string): Subtopology {
    const sub = this.#subs.find((s) => s.stores.includes(name));
    if (sub === undefined) throw new Error(`streams: no store named ${name}`);
    return sub;
  }

  /**
   * Stops processing: commits what was processed, leaves the group, closes the stores (a
   * persistent store keeps its checkpoint) and the client it made.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    if (this.#state === "CREATED") {
      this.#setState("NOT_RUNNING");
      return;
    }
    const failed = this.#state === "ERROR";
    if (!failed) this.#setState("PENDING_SHUTDOWN");
    this.#stop.abort();
    await this.#loop;
    if (this.#state === "ERROR") return;
    await this.#shutdown();
    this.#setState("NOT_RUNNING");
  }

  async #shutdown(): Promise<void> {
    try {
      // Its revocation callback commits what is left (unless processing failed).
      await this.#consumer?.close().catch((e) => {
        if (!this.#failed) throw e;
      });
      await this.#producer?.close();
    } finally {
      for (const task of [...this.#tasks.values(), ...this.#suspended.values()]) task.close();
      this.#tasks.clear();
      this.#suspended.clear();
      this.#byTopic.clear();
      if (this.#failed) this.#standby?.drop();
      else await this.#standby?.close();
      this.#grouped = [];
      if (this.#ownClient) await this.#client?.close();
    }
  }
}

/** Records processed at a time (the event loop gets a turn every 50 ms between slices). */
const SLICE = 2_000;

/**
 * Bytes of one partition a fetch asks for. A fetch's records stay alive until they are all
 * processed: a quarter of the consumer's default (1 MiB) lets most of them die young, in the
 * cheap collections (at 100 bytes a record this cut the streams process's CPU time per record
 * by about 15% in `bench/streams.ts`, see docs/PERFORMANCE.md).
 */
const FETCH_PARTITION_BYTES = 262_144;

/** Output records the producer may hold unacknowledged before processing waits. */
const MAX_UNACKED = 20_000;

const REBALANCE_ERRORS = new Set<number>([
  ErrorCode.REBALANCE_IN_PROGRESS,
  ErrorCode.ILLEGAL_GENERATION,
  ErrorCode.UNKNOWN_MEMBER_ID,
  ErrorCode.FENCED_INSTANCE_ID,
]);

/** `host:port` -> {@linkcode HostInfo}. */
function parseHost(server: string): HostInfo {
  const at = server.lastIndexOf(":");
  const digits = server.slice(at + 1);
  const port = Number(digits);
  if (at <= 0 || !/^[0-9]{1,5}$/.test(digits) || port > 65535) {
    throw new RangeError(
      `streams: invalid applicationServer ${JSON.stringify(server)} (host:port)`,
    );
  }
  return { host: server.slice(0, at), port };
}

function tempDir(): string {
  try {
    return Deno.env.get("TMPDIR") ?? "/tmp";
  } catch {
    return "/tmp";
  }
}
