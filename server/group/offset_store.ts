// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * Durable group state: committed offsets and group metadata written to the internal compacted
 * topic `__consumer_offsets` through the storage engine, as Kafka does, and replayed at start-up.
 *
 * A group's records all go to partition `toPositive(groupId.hashCode()) % partitions`; keys and
 * values use Kafka's `OffsetCommitKey`/`OffsetCommitValue` and
 * `GroupMetadataKey`/`GroupMetadataValue` layouts (see `schemas.ts`), so the topic reads the same
 * as Kafka's.
 *
 * @module
 */

import type { LogManager } from "../../engine/mod.ts";
import { CONSUMER_OFFSETS_TOPIC, type InternalAppend, InternalTopic } from "../internal_topic.ts";
import type { CoordinatorLog, LoadedCoordinatorRecord } from "./coordinator.ts";
import {
  type CoordinatorRecord,
  decodeCoordinatorRecord,
  encodeCoordinatorRecord,
} from "./schemas.ts";

export { CONSUMER_OFFSETS_TOPIC };

/** Options of {@linkcode OffsetStore.open}. */
export interface OffsetStoreOptions {
  /** `offsets.topic.num.partitions` for a new topic. Default 50. */
  numPartitions?: number;
  /** `offsets.topic.segment.bytes`. Default 104857600. */
  segmentBytes?: number;
  /** Where to report skipped records and mismatches. */
  warn?: (message: string) => void;
  /** Clock for record timestamps. Default `Date.now`. */
  now?: () => number;
  /**
   * Cluster mode: the topic's partition count in the cluster (`undefined` while it does not
   * exist); the topic is then never created locally (see `InternalTopicOptions`).
   */
  clusterPartitions?: () => number | undefined;
  /** Cluster mode: how a batch is appended (see `InternalTopicOptions.append`). */
  append?: InternalAppend;
}

/**
 * The `__consumer_offsets` topic as the coordinator's durable log.
 *
 * @example Commit, reopen, read back
 * ```ts
 * import { LogManager } from "../../engine/mod.ts";
 * import { OffsetStore } from "./offset_store.ts";
 *
 * const dir = await Deno.makeTempDir();
 * let logs = await LogManager.open(dir);
 * let store = await OffsetStore.open(logs, { numPartitions: 3 });
 * await store.append("g", [{
 *   kind: "offset", groupId: "g", topic: "t", partition: 0,
 *   value: { offset: 7, leaderEpoch: -1, metadata: "", commitTimestamp: 1, expireTimestamp: -1 },
 * }]);
 * await logs.close();
 * logs = await LogManager.open(dir);
 * store = await OffsetStore.open(logs, { numPartitions: 3 });
 * const records = await store.load();
 * console.assert(records.length === 1);
 * await logs.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class OffsetStore implements CoordinatorLog {
  readonly #topic: InternalTopic;

  private constructor(topic: InternalTopic) {
    this.#topic = topic;
  }

  /**
   * Open the store. As in Kafka, `__consumer_offsets` (compacted) is created on first use, not
   * here. An existing topic keeps its partition count (a different `numPartitions` is reported
   * through `warn`).
   *
   * @param logs The storage engine.
   * @param options Partition count, segment size, warning sink, clock.
   * @returns The store.
   */
  static open(logs: LogManager, options: OffsetStoreOptions = {}): Promise<OffsetStore> {
    const topic = new InternalTopic(logs, {
      name: CONSUMER_OFFSETS_TOPIC,
      partitions: options.numPartitions ?? 50,
      partitionsConfig: "offsets.topic.num.partitions",
      configs: {
        "cleanup.policy": "compact",
        "segment.bytes": String(options.segmentBytes ?? 104857600),
        "compression.type": "producer",
      },
      warn: options.warn,
      now: options.now,
      clusterPartitions: options.clusterPartitions,
      append: options.append,
    });
    return Promise.resolve(new OffsetStore(topic));
  }

  /** Whether `__consumer_offsets` exists yet. */
  get created(): boolean {
    return this.#topic.created;
  }

  /** Number of partitions of `__consumer_offsets`. */
  get partitions(): number {
    return this.#topic.partitions;
  }

  /**
   * The partition holding a group's records.
   *
   * @param groupId The group id.
   * @returns The partition index.
   */
  partitionFor(groupId: string): number {
    return this.#topic.partitionFor(groupId);
  }

  /**
   * Append a group's records as one batch, creating `__consumer_offsets` first if needed.
   * Resolves once the engine made them visible.
   *
   * @param groupId The group id (selects the partition).
   * @param records The records (none: no-op).
   * @returns The offset of the first record in the partition (record `i` is at that offset
   *   plus `i`); -1 when there were no records.
   * @throws {EngineError} If the append fails.
   */
  async append(groupId: string, records: CoordinatorRecord[]): Promise<number> {
    return await this.#topic.append(groupId, records.map(encodeCoordinatorRecord));
  }

  /**
   * Append a group's records as one transactional batch of `producer` (TxnOffsetCommit, as
   * Kafka's group coordinator writes them): they count once the transaction's COMMIT marker
   * follows in the partition.
   *
   * @param groupId The group id (selects the partition).
   * @param records The records (none: no-op).
   * @param producer The transaction's producer id and epoch.
   * @returns The offset of the first record in the partition (record `i` is at that offset
   *   plus `i`); -1 when there were no records.
   * @throws {EngineError} If the append fails (INVALID_PRODUCER_EPOCH: a newer epoch wrote).
   */
  async appendTransactional(
    groupId: string,
    records: CoordinatorRecord[],
    producer: { producerId: number; producerEpoch: number },
  ): Promise<number> {
    return await this.#topic.appendTransactional(groupId, records.map(encodeCoordinatorRecord), {
      producerId: producer.producerId,
      producerEpoch: producer.producerEpoch,
    });
  }

  /**
   * Read every partition from its log start offset to its high watermark and decode the
   * records, oldest first within each partition (all of a group's records are in one
   * partition, so each group's history is in order). Records this broker cannot decode are
   * reported through `warn` and skipped. Transactional offset commits come with their
   * producer id, and transaction markers as such (see {@linkcode OffsetStore.loadPartition}),
   * so that an aborted transaction's offsets do not count and an open one's stay pending.
   *
   * @returns The records.
   * @throws {EngineError} On an I/O failure.
   */
  async load(): Promise<LoadedCoordinatorRecord[]> {
    const out: LoadedCoordinatorRecord[] = [];
    if (!this.created) return out;
    for (let p = 0; p < this.partitions; p++) {
      for (const r of await this.loadPartition(p)) out.push(r);
    }
    return out;
  }

  /**
   * Read one partition, as {@linkcode OffsetStore.load} reads them all (cluster mode: a
   * partition this broker became leader of).
   *
   * Transactional offset commits come with their producer id, and transaction markers as
   * such, so that only committed transactions' offsets count. Every record comes with its
   * offset in the partition (`recordOffset`, which orders a transaction's offsets against plain
   * commits; it is the record's position, not part of what is stored).
   *
   * @param partition The partition.
   * @returns Its records, oldest first.
   * @throws {Error} If the partition is not in this data dir, or on an I/O failure.
   */
  loadPartition(partition: number): Promise<LoadedCoordinatorRecord[]> {
    return this.#topic.loadPartition<LoadedCoordinatorRecord>(
      partition,
      (r, txn) => {
        const record = decodeCoordinatorRecord(r.key!, r.value);
        if (record === null) return null;
        if (txn === undefined) return { ...record, recordOffset: r.offset };
        return { kind: "txn-offset", producerId: txn.producerId, record, recordOffset: r.offset };
      },
      (m) => ({
        kind: "txn-marker",
        producerId: m.producerId,
        commit: m.commit,
        recordOffset: m.offset,
      }),
    );
  }
}
