// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * The machinery shared by the broker's internal compacted topics (`__consumer_offsets`,
 * `__transaction_state`): create the topic on first use, pick a key's partition with Java's
 * string hash, append records as one batch, and replay every partition from its log start offset
 * to its high watermark.
 *
 * @module
 */

import type { LogManager, PartitionLog } from "../engine/mod.ts";
import { ControlRecordType, decodeControlRecordKey } from "../records/control.ts";
import { type DecodedRecord, decodeRecordBatches } from "../records/batch_reader.ts";
import { encodeRecordBatch } from "../records/batch_builder.ts";
import { nextOffsetAfter } from "../records/layout.ts";
import { partitionForGroup } from "./group/schemas.ts";

export {
  CONSUMER_OFFSETS_TOPIC,
  isInternalTopic,
  TRANSACTION_STATE_TOPIC,
} from "./internal_topic_names.ts";

/** One record of an internal topic: key and value (`null`: a tombstone). */
export interface InternalRecord {
  /** Key bytes, or `null`. */
  key: Uint8Array | null;
  /** Value bytes, or `null` (a tombstone). */
  value: Uint8Array | null;
}

/** Options of {@linkcode InternalTopic}. */
export interface InternalTopicOptions {
  /** The topic's name, e.g. `__consumer_offsets`. */
  name: string;
  /** Partition count for a new topic (an existing topic keeps its own). */
  partitions: number;
  /**
   * Name of the broker setting behind `partitions` (e.g. `offsets.topic.num.partitions`), used
   * in the warning when an existing topic has another partition count.
   */
  partitionsConfig: string;
  /** Topic configs for creation (`cleanup.policy`, `segment.bytes`, ...). */
  configs: Record<string, string>;
  /** Where to report skipped records and mismatches. Default `console.warn`. */
  warn?: (message: string) => void;
  /** Clock for record timestamps. Default `Date.now`. */
  now?: () => number;
  /**
   * Cluster mode: the topic's partition count in the cluster (`undefined` while it does not
   * exist), which wins over the local one; and the topic is never created locally (the cluster
   * creates it and this broker makes the logs it replicates). Default: standalone.
   */
  clusterPartitions?: () => number | undefined;
  /**
   * How a batch is appended to one of the topic's partitions. Cluster mode: as its leader,
   * answered once the in-sync replicas have it (`ReplicaManager.appendAsLeader`; its
   * `ReplicationError` reaches the caller). Default: `PartitionLog.append`.
   */
  append?: InternalAppend;
}

/**
 * The producer of a transactional batch of an internal topic (the group coordinator's
 * transactional offset commits, as Kafka writes them).
 */
export interface InternalTxnProducer {
  /** Producer id. */
  producerId: number;
  /** Producer epoch. */
  producerEpoch: number;
}

/** A transaction marker met while replaying a partition. */
export interface InternalTxnMarker {
  /** The producer whose transaction ended. */
  producerId: number;
  /** COMMIT (`true`) or ABORT. */
  commit: boolean;
  /** The marker's offset in the partition. */
  offset: number;
}

/**
 * Appends a batch to a partition of an internal topic (see {@linkcode InternalTopicOptions}),
 * resolving with the offset the log gave its first record.
 */
export type InternalAppend = (
  log: PartitionLog,
  records: Uint8Array,
) => Promise<{ baseOffset: number }>;

/** Reads per replay step. */
const READ_BYTES = 1 << 20;
/** Largest read budget tried for one batch before giving up on a partition. */
const MAX_READ_BYTES = 1 << 30;

/**
 * An internal compacted topic, created on first append.
 *
 * @example Append, reopen, replay
 * ```ts
 * import { LogManager } from "../engine/mod.ts";
 * import { InternalTopic } from "./internal_topic.ts";
 *
 * const dir = await Deno.makeTempDir();
 * const options = {
 *   name: "__example", partitions: 3, partitionsConfig: "example.num.partitions",
 *   configs: { "cleanup.policy": "compact" },
 * };
 * let logs = await LogManager.open(dir);
 * let topic = new InternalTopic(logs, options);
 * await topic.append("k", [{ key: new Uint8Array([1]), value: new Uint8Array([2]) }]);
 * await logs.close();
 * logs = await LogManager.open(dir);
 * topic = new InternalTopic(logs, options);
 * const loaded = await topic.load((r) => r.value);
 * console.assert(loaded.length === 1 && loaded[0]![0] === 2);
 * await logs.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class InternalTopic {
  readonly #logs: LogManager;
  readonly #name: string;
  readonly #partitions: number;
  readonly #configs: Record<string, string>;
  readonly #warn: (message: string) => void;
  readonly #now: () => number;
  readonly #clusterPartitions: (() => number | undefined) | undefined;
  readonly #append: InternalAppend;
  /** Per partition: the transactional append in progress (sequence numbers are taken in turn). */
  readonly #txnAppends = new Map<number, Promise<void>>();
  #creating: Promise<void> | null = null;

  /**
   * Wrap the topic (not created here). An existing topic keeps its partition count; a different
   * `partitions` is reported through `warn`.
   *
   * @param logs The storage engine.
   * @param options Name, partition count, configs, warning sink, clock.
   */
  constructor(logs: LogManager, options: InternalTopicOptions) {
    this.#logs = logs;
    this.#name = options.name;
    this.#configs = options.configs;
    this.#warn = options.warn ?? ((m: string) => console.warn(m));
    this.#now = options.now ?? Date.now;
    this.#clusterPartitions = options.clusterPartitions;
    this.#append = options.append ?? ((log, records) => log.append(records));
    const info = logs.topic(options.name);
    if (info !== undefined && info.partitions !== options.partitions) {
      this.#warn(
        `${options.name} has ${info.partitions} partitions, not ` +
          `${options.partitionsConfig}=${options.partitions}; using ${info.partitions}`,
      );
    }
    this.#partitions = info?.partitions ?? options.partitions;
  }

  /** The topic's name. */
  get name(): string {
    return this.#name;
  }

  /** Number of partitions (the existing topic's, else the configured count). */
  get partitions(): number {
    return this.#clusterPartitions?.() ?? this.#partitions;
  }

  /** Whether the topic exists yet. */
  get created(): boolean {
    return this.#logs.topic(this.#name) !== undefined;
  }

  /**
   * The partition of a key, as Kafka computes it: `toPositive(key.hashCode()) % partitions`.
   *
   * @param key The key (group id, transactional id).
   * @returns The partition index.
   */
  partitionFor(key: string): number {
    return partitionForGroup(key, this.partitions);
  }

  /**
   * Create the topic if it does not exist yet (concurrent calls share one creation).
   *
   * @throws {EngineError} If the creation fails and the topic still does not exist.
   */
  ensure(): Promise<void> {
    if (this.created) return Promise.resolve();
    if (this.#clusterPartitions !== undefined) {
      return Promise.reject(
        new Error(`Cannot use ${this.#name}: it has no partition on this broker yet`),
      );
    }
    this.#creating ??= (async () => {
      try {
        await this.#logs.createTopic(this.#name, this.#partitions, this.#configs);
      } catch (e) {
        if (!this.created) throw e; // created meanwhile (e.g. TOPIC_ALREADY_EXISTS) is fine
      } finally {
        this.#creating = null;
      }
    })();
    return this.#creating;
  }

  #log(partition: number): PartitionLog {
    const log = this.#logs.partition(this.#name, partition);
    if (log === undefined) {
      throw new Error(`Cannot use ${this.#name}-${partition}: the partition does not exist`);
    }
    return log;
  }

  /**
   * Append records as one batch to the key's partition, creating the topic first if needed.
   * Resolves once the engine made them visible (cluster mode: once the in-sync replicas have
   * them, see {@linkcode InternalTopicOptions.append}).
   *
   * @param key The key selecting the partition.
   * @param records The records (none: no-op).
   * @returns The offset of the first record in the partition (record `i` is at that offset
   *   plus `i`); -1 when there were no records.
   * @throws {EngineError} If the creation or the append fails.
   */
  async append(key: string, records: InternalRecord[]): Promise<number> {
    if (records.length === 0) return -1;
    await this.ensure();
    const batch = encodeRecordBatch(records, { timestamp: this.#now() });
    return (await this.#append(this.#log(this.partitionFor(key)), batch)).baseOffset;
  }

  /**
   * Append records as one transactional batch of `producer` to the key's partition (as Kafka's
   * group coordinator writes a TxnOffsetCommit): the partition's producer state fences an older
   * epoch (INVALID_PRODUCER_EPOCH), and the records count only once a COMMIT marker follows.
   * Only the broker writes such batches here, so it numbers them: the producer's next sequence
   * in this partition (0 in a new epoch), one append per partition at a time.
   *
   * @param key The key selecting the partition.
   * @param records The records (none: no-op).
   * @param producer The transaction's producer id and epoch.
   * @returns The offset of the first record in the partition (record `i` is at that offset
   *   plus `i`); -1 when there were no records.
   * @throws {EngineError} If the append fails (INVALID_PRODUCER_EPOCH when fenced).
   */
  async appendTransactional(
    key: string,
    records: InternalRecord[],
    producer: InternalTxnProducer,
  ): Promise<number> {
    if (records.length === 0) return -1;
    await this.ensure();
    const partition = this.partitionFor(key);
    const log = this.#log(partition);
    const prev = this.#txnAppends.get(partition) ?? Promise.resolve();
    const run = prev.then(async () => {
      const state = log.producerStates().find((s) => s.producerId === producer.producerId);
      const last = state?.epoch === producer.producerEpoch ? state.lastSequence : -1;
      const batch = encodeRecordBatch(records, {
        timestamp: this.#now(),
        producerId: producer.producerId,
        producerEpoch: producer.producerEpoch,
        baseSequence: last === 2147483647 ? 0 : last + 1,
        transactional: true,
      });
      return (await this.#append(log, batch)).baseOffset;
    });
    const tail = run.then(() => {}, () => {});
    this.#txnAppends.set(partition, tail);
    tail.then(() => {
      if (this.#txnAppends.get(partition) === tail) this.#txnAppends.delete(partition);
    });
    return await run;
  }

  /**
   * Read every partition from its log start offset to its high watermark, oldest first within
   * each partition, and map each keyed record through `decode` (`null`: skip it). Batches that
   * cannot be read and records `decode` throws on are reported through `warn` and skipped.
   *
   * @param decode Turns a record into a value, or `null` to skip it.
   * @returns The decoded values, partition by partition.
   * @throws {EngineError} On an I/O failure.
   */
  async load<T>(decode: (record: DecodedRecord) => T | null): Promise<T[]> {
    const out: T[] = [];
    if (!this.created) return out;
    for (let p = 0; p < this.#partitions; p++) await this.#loadInto(p, decode, out);
    return out;
  }

  /**
   * Read one partition from its log start offset to its high watermark (cluster mode: a
   * partition this broker became leader of), as {@linkcode InternalTopic.load} does.
   *
   * @param partition The partition.
   * @param decode Turns a record (with its `offset` in the partition) into a value, or `null`
   *   to skip it; it also gets the producer of a transactional batch's records (`undefined` for
   *   the others).
   * @param marker Turns a transaction marker into a value (default: markers are skipped).
   * @returns The decoded values, oldest first.
   * @throws {Error} If the partition is not in this data dir, or on an I/O failure.
   */
  async loadPartition<T>(
    partition: number,
    decode: (record: DecodedRecord, txn: InternalTxnProducer | undefined) => T | null,
    marker?: (marker: InternalTxnMarker) => T | null,
  ): Promise<T[]> {
    const out: T[] = [];
    await this.#loadInto(partition, decode, out, marker);
    return out;
  }

  async #loadInto<T>(
    p: number,
    decode: (record: DecodedRecord, txn: InternalTxnProducer | undefined) => T | null,
    out: T[],
    marker?: (marker: InternalTxnMarker) => T | null,
  ): Promise<void> {
    const log = this.#log(p);
    let offset = log.logStartOffset;
    let budget = READ_BYTES;
    while (offset < log.highWatermark) {
      const { records } = await log.read(offset, budget);
      const next = nextOffsetAfter(records);
      if (next === null) {
        if (records.length === 0 && budget >= MAX_READ_BYTES) break;
        budget *= 2; // a batch larger than the budget
        continue;
      }
      budget = READ_BYTES;
      let decoded;
      try {
        decoded = decodeRecordBatches(records);
      } catch (e) {
        this.#warn(
          `Skipping unreadable batches in ${this.#name}-${p} from offset ${offset}: ${
            e instanceof Error ? e.message : e
          }`,
        );
        offset = next;
        continue;
      }
      for (const b of decoded) {
        if (b.control) {
          // a transaction marker: one control record, COMMIT or ABORT
          const r = b.records[0];
          if (marker === undefined || r === undefined || r.offset < offset) continue;
          try {
            const type = decodeControlRecordKey(r.key);
            if (type !== ControlRecordType.COMMIT && type !== ControlRecordType.ABORT) continue;
            const value = marker({
              producerId: b.producerId,
              commit: type === ControlRecordType.COMMIT,
              offset: r.offset,
            });
            if (value !== null) out.push(value);
          } catch (e) {
            this.#warn(
              `Skipping marker ${this.#name}-${p}@${r.offset}: ${
                e instanceof Error ? e.message : e
              }`,
            );
          }
          continue;
        }
        const txn = b.transactional
          ? { producerId: b.producerId, producerEpoch: b.producerEpoch }
          : undefined;
        for (const r of b.records) {
          if (r.key === null || r.offset < offset) continue;
          try {
            // Copies: what `decode` keeps must not pin the whole read buffer.
            const value = decode(
              { ...r, key: r.key.slice(), value: r.value && r.value.slice() },
              txn,
            );
            if (value !== null) out.push(value);
          } catch (e) {
            this.#warn(
              `Skipping record ${this.#name}-${p}@${r.offset}: ${
                e instanceof Error ? e.message : e
              }`,
            );
          }
        }
      }
      offset = Math.max(next, offset + 1);
    }
  }
}
