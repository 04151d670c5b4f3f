// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * Durable transaction state: `TransactionLogKey`/`TransactionLogValue` records in the internal,
 * compacted topic `__transaction_state` (created on first use, 50 partitions by default:
 * `transaction.state.log.num.partitions`), replayed at start-up. Modelled on the group
 * coordinator's `OffsetStore`.
 *
 * @module
 */

import type { LogManager } from "../../engine/mod.ts";
import { type InternalAppend, InternalTopic, TRANSACTION_STATE_TOPIC } from "../internal_topic.ts";
import {
  decodeTransactionLogKey,
  decodeTransactionLogValue,
  encodeTransactionLogKey,
  encodeTransactionLogValue,
  type TransactionLogValue,
} from "./schemas.ts";

export { TRANSACTION_STATE_TOPIC };

/** Options of {@linkcode TransactionStateStore.open}. */
export interface TransactionStateStoreOptions {
  /** `transaction.state.log.num.partitions` for a new topic. Default 50. */
  numPartitions?: number;
  /** `transaction.state.log.segment.bytes`. Default 104857600. */
  segmentBytes?: number;
  /** Where to report skipped records. */
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

/** One replayed record: the transactional id and its value, or `null` for a tombstone. */
export interface TransactionLogRecord {
  /** Transactional id. */
  transactionalId: string;
  /** The state, or `null` (tombstone: the id expired). */
  value: TransactionLogValue | null;
}

/**
 * The `__transaction_state` topic as the transaction coordinator's durable log.
 *
 * @example Write, reopen, replay
 * ```ts
 * import { LogManager } from "../../engine/mod.ts";
 * import { TransactionStateStore } from "./store.ts";
 *
 * const dir = await Deno.makeTempDir();
 * let logs = await LogManager.open(dir);
 * let store = TransactionStateStore.open(logs, { numPartitions: 3 });
 * await store.append("t1", {
 *   producerId: 1, producerEpoch: 0, timeoutMs: 60000, state: "Empty",
 *   partitions: new Map(), lastUpdateTimestamp: 1, startTimestamp: -1,
 * });
 * await logs.close();
 * logs = await LogManager.open(dir);
 * store = TransactionStateStore.open(logs, { numPartitions: 3 });
 * console.assert((await store.load()).length === 1);
 * await logs.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class TransactionStateStore {
  readonly #topic: InternalTopic;

  private constructor(logs: LogManager, options: TransactionStateStoreOptions) {
    this.#topic = new InternalTopic(logs, {
      name: TRANSACTION_STATE_TOPIC,
      partitions: options.numPartitions ?? 50,
      partitionsConfig: "transaction.state.log.num.partitions",
      configs: {
        "cleanup.policy": "compact",
        "segment.bytes": String(options.segmentBytes ?? 104857600),
        "compression.type": "uncompressed",
        "min.insync.replicas": "1",
      },
      warn: options.warn,
      now: options.now,
      clusterPartitions: options.clusterPartitions,
      append: options.append,
    });
  }

  /**
   * Open the store (the topic is created on the first append, as Kafka does).
   *
   * @param logs The storage engine.
   * @param options Partition count, segment size, warning sink, clock.
   * @returns The store.
   */
  static open(logs: LogManager, options: TransactionStateStoreOptions = {}): TransactionStateStore {
    return new TransactionStateStore(logs, options);
  }

  /** Number of partitions of `__transaction_state`. */
  get partitions(): number {
    return this.#topic.partitions;
  }

  /** Whether `__transaction_state` exists yet. */
  get created(): boolean {
    return this.#topic.created;
  }

  /**
   * The partition holding a transactional id's records.
   *
   * @param transactionalId The transactional id.
   * @returns The partition index.
   */
  partitionFor(transactionalId: string): number {
    return this.#topic.partitionFor(transactionalId);
  }

  /**
   * Append one transactional id's new state (or a tombstone), creating the topic if needed.
   *
   * @param transactionalId The transactional id.
   * @param value The state, or `null` for a tombstone.
   * @throws {EngineError} If the append fails.
   */
  async append(transactionalId: string, value: TransactionLogValue | null): Promise<void> {
    await this.#topic.append(transactionalId, [{
      key: encodeTransactionLogKey(transactionalId),
      value: value === null ? null : encodeTransactionLogValue(value),
    }]);
  }

  /**
   * Read every partition from its start to its high watermark, oldest first per partition.
   * Records that cannot be decoded are reported through `warn` and skipped.
   *
   * @returns The records.
   * @throws {EngineError} On an I/O failure.
   */
  load(): Promise<TransactionLogRecord[]> {
    return this.#topic.load(decodeRecord);
  }

  /**
   * Read one partition, as {@linkcode TransactionStateStore.load} reads them all (cluster mode:
   * a partition this broker became leader of).
   *
   * @param partition The partition.
   * @returns Its records, oldest first.
   * @throws {Error} If the partition is not in this data dir, or on an I/O failure.
   */
  loadPartition(partition: number): Promise<TransactionLogRecord[]> {
    return this.#topic.loadPartition(partition, decodeRecord);
  }
}

function decodeRecord(
  r: { key: Uint8Array | null; value: Uint8Array | null },
): TransactionLogRecord {
  return {
    transactionalId: decodeTransactionLogKey(r.key!),
    value: r.value === null ? null : decodeTransactionLogValue(r.value),
  };
}
