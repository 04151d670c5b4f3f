// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * Durable transaction state: `TransactionLogKey`/`TransactionLogValue` records in the internal,
 * compacted topic `__transaction_state` (created on first use, 50 partitions by default:
 * `transaction.state.log.num.partitions`), replayed at start-up. Modelled on the group
 * coordinator's `OffsetStore`.
 *
 * @module
 */

import type { LogManager, PartitionLog } from "../../engine/mod.ts";
import { decodeRecordBatches, encodeRecordBatch, nextOffsetAfter } from "../group/records.ts";
import {
  decodeTransactionLogKey,
  decodeTransactionLogValue,
  encodeTransactionLogKey,
  encodeTransactionLogValue,
  partitionForTransactionalId,
  type TransactionLogValue,
} from "./schemas.ts";

/** The internal topic's name. */
export const TRANSACTION_STATE_TOPIC = "__transaction_state";

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
}

/** One replayed record: the transactional id and its value, or `null` for a tombstone. */
export interface TransactionLogRecord {
  /** Transactional id. */
  transactionalId: string;
  /** The state, or `null` (tombstone: the id expired). */
  value: TransactionLogValue | null;
}

const READ_BYTES = 1 << 20;

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
  readonly #logs: LogManager;
  readonly #partitions: number;
  readonly #segmentBytes: number;
  readonly #warn: (message: string) => void;
  readonly #now: () => number;
  #creating: Promise<void> | null = null;

  private constructor(logs: LogManager, options: TransactionStateStoreOptions) {
    this.#logs = logs;
    this.#warn = options.warn ?? ((m: string) => console.warn(m));
    const wanted = options.numPartitions ?? 50;
    const info = logs.topic(TRANSACTION_STATE_TOPIC);
    if (info !== undefined && info.partitions !== wanted) {
      this.#warn(
        `${TRANSACTION_STATE_TOPIC} has ${info.partitions} partitions, not ` +
          `transaction.state.log.num.partitions=${wanted}; using ${info.partitions}`,
      );
    }
    this.#partitions = info?.partitions ?? wanted;
    this.#segmentBytes = options.segmentBytes ?? 104857600;
    this.#now = options.now ?? Date.now;
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
    return this.#partitions;
  }

  /** Whether `__transaction_state` exists yet. */
  get created(): boolean {
    return this.#logs.topic(TRANSACTION_STATE_TOPIC) !== undefined;
  }

  /**
   * The partition holding a transactional id's records.
   *
   * @param transactionalId The transactional id.
   * @returns The partition index.
   */
  partitionFor(transactionalId: string): number {
    return partitionForTransactionalId(transactionalId, this.#partitions);
  }

  #ensureTopic(): Promise<void> {
    if (this.created) return Promise.resolve();
    this.#creating ??= (async () => {
      try {
        await this.#logs.createTopic(TRANSACTION_STATE_TOPIC, this.#partitions, {
          "cleanup.policy": "compact",
          "segment.bytes": String(this.#segmentBytes),
          "compression.type": "uncompressed",
          "min.insync.replicas": "1",
        });
      } catch (e) {
        if (!this.created) throw e;
      } finally {
        this.#creating = null;
      }
    })();
    return this.#creating;
  }

  #log(partition: number): PartitionLog {
    const log = this.#logs.partition(TRANSACTION_STATE_TOPIC, partition);
    if (log === undefined) {
      throw new Error(
        `Cannot use ${TRANSACTION_STATE_TOPIC}-${partition}: the partition does not exist`,
      );
    }
    return log;
  }

  /**
   * Append one transactional id's new state (or a tombstone), creating the topic if needed.
   *
   * @param transactionalId The transactional id.
   * @param value The state, or `null` for a tombstone.
   * @throws {EngineError} If the append fails.
   */
  async append(transactionalId: string, value: TransactionLogValue | null): Promise<void> {
    await this.#ensureTopic();
    const batch = encodeRecordBatch([{
      key: encodeTransactionLogKey(transactionalId),
      value: value === null ? null : encodeTransactionLogValue(value),
    }], this.#now());
    await this.#log(this.partitionFor(transactionalId)).append(batch);
  }

  /**
   * Read every partition from its start to its high watermark, oldest first per partition.
   * Records that cannot be decoded are reported through `warn` and skipped.
   *
   * @returns The records.
   * @throws {EngineError} On an I/O failure.
   */
  async load(): Promise<TransactionLogRecord[]> {
    const out: TransactionLogRecord[] = [];
    if (!this.created) return out;
    for (let p = 0; p < this.#partitions; p++) {
      const log = this.#log(p);
      let offset = log.logStartOffset;
      let budget = READ_BYTES;
      while (offset < log.highWatermark) {
        const { records } = await log.read(offset, budget);
        const next = nextOffsetAfter(records);
        if (next === null) {
          if (records.length === 0 && budget >= 1 << 30) break;
          budget *= 2;
          continue;
        }
        budget = READ_BYTES;
        let decoded;
        try {
          decoded = decodeRecordBatches(records, offset);
        } catch (e) {
          this.#warn(
            `Skipping unreadable batches in ${TRANSACTION_STATE_TOPIC}-${p} from offset ${offset}: ${
              e instanceof Error ? e.message : e
            }`,
          );
          offset = next;
          continue;
        }
        for (const r of decoded) {
          if (r.key === null) continue;
          try {
            out.push({
              transactionalId: decodeTransactionLogKey(r.key),
              value: r.value === null ? null : decodeTransactionLogValue(r.value),
            });
          } catch (e) {
            this.#warn(
              `Skipping record ${TRANSACTION_STATE_TOPIC}-${p}@${r.offset}: ${
                e instanceof Error ? e.message : e
              }`,
            );
          }
        }
        offset = Math.max(next, offset + 1);
      }
    }
    return out;
  }
}
