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

import type { LogManager, PartitionLog } from "../../engine/mod.ts";
import type { CoordinatorLog } from "./coordinator.ts";
import { decodeRecordBatches, encodeRecordBatch, nextOffsetAfter } from "./records.ts";
import {
  type CoordinatorRecord,
  decodeCoordinatorRecord,
  encodeCoordinatorRecord,
  partitionForGroup,
} from "./schemas.ts";

/** The internal topic's name. */
export const CONSUMER_OFFSETS_TOPIC = "__consumer_offsets";

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
}

/** Reads per replay step. */
const READ_BYTES = 1 << 20;

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
  readonly #logs: LogManager;
  readonly #partitions: number;
  readonly #segmentBytes: number;
  readonly #warn: (message: string) => void;
  readonly #now: () => number;
  #creating: Promise<void> | null = null;

  private constructor(
    logs: LogManager,
    partitions: number,
    segmentBytes: number,
    warn: (m: string) => void,
    now: () => number,
  ) {
    this.#logs = logs;
    this.#partitions = partitions;
    this.#segmentBytes = segmentBytes;
    this.#warn = warn;
    this.#now = now;
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
    const wanted = options.numPartitions ?? 50;
    const warn = options.warn ?? ((m: string) => console.warn(m));
    const info = logs.topic(CONSUMER_OFFSETS_TOPIC);
    if (info !== undefined && info.partitions !== wanted) {
      warn(
        `${CONSUMER_OFFSETS_TOPIC} has ${info.partitions} partitions, not ` +
          `offsets.topic.num.partitions=${wanted}; using ${info.partitions}`,
      );
    }
    return Promise.resolve(
      new OffsetStore(
        logs,
        info?.partitions ?? wanted,
        options.segmentBytes ?? 104857600,
        warn,
        options.now ?? Date.now,
      ),
    );
  }

  /** Whether `__consumer_offsets` exists yet. */
  get created(): boolean {
    return this.#logs.topic(CONSUMER_OFFSETS_TOPIC) !== undefined;
  }

  #ensureTopic(): Promise<void> {
    if (this.created) return Promise.resolve();
    this.#creating ??= (async () => {
      try {
        await this.#logs.createTopic(CONSUMER_OFFSETS_TOPIC, this.#partitions, {
          "cleanup.policy": "compact",
          "segment.bytes": String(this.#segmentBytes),
          "compression.type": "producer",
        });
      } catch (e) {
        if (!this.created) throw e; // created meanwhile (e.g. TOPIC_ALREADY_EXISTS) is fine
      } finally {
        this.#creating = null;
      }
    })();
    return this.#creating;
  }

  /** Number of partitions of `__consumer_offsets`. */
  get partitions(): number {
    return this.#partitions;
  }

  /**
   * The partition holding a group's records.
   *
   * @param groupId The group id.
   * @returns The partition index.
   */
  partitionFor(groupId: string): number {
    return partitionForGroup(groupId, this.#partitions);
  }

  #log(partition: number): PartitionLog {
    const log = this.#logs.partition(CONSUMER_OFFSETS_TOPIC, partition);
    if (log === undefined) {
      throw new Error(
        `Cannot use ${CONSUMER_OFFSETS_TOPIC}-${partition}: the partition does not exist`,
      );
    }
    return log;
  }

  /**
   * Append a group's records as one batch, creating `__consumer_offsets` first if needed.
   * Resolves once the engine made them visible.
   *
   * @param groupId The group id (selects the partition).
   * @param records The records (none: no-op).
   * @throws {EngineError} If the append fails.
   */
  async append(groupId: string, records: CoordinatorRecord[]): Promise<void> {
    if (records.length === 0) return;
    await this.#ensureTopic();
    const batch = encodeRecordBatch(records.map(encodeCoordinatorRecord), this.#now());
    await this.#log(this.partitionFor(groupId)).append(batch);
  }

  /**
   * Read every partition from its log start offset to its high watermark and decode the
   * records, oldest first within each partition (all of a group's records are in one
   * partition, so each group's history is in order). Records this broker cannot decode are
   * reported through `warn` and skipped.
   *
   * @returns The records.
   * @throws {EngineError} On an I/O failure.
   */
  async load(): Promise<CoordinatorRecord[]> {
    const out: CoordinatorRecord[] = [];
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
          budget *= 2; // a batch larger than the budget
          continue;
        }
        budget = READ_BYTES;
        let decoded;
        try {
          decoded = decodeRecordBatches(records, offset);
        } catch (e) {
          this.#warn(
            `Skipping unreadable batches in ${CONSUMER_OFFSETS_TOPIC}-${p} from offset ${offset}: ${
              e instanceof Error ? e.message : e
            }`,
          );
          offset = next;
          continue;
        }
        for (const r of decoded) {
          if (r.key === null) continue;
          try {
            const rec = decodeCoordinatorRecord(r.key, r.value);
            if (rec !== null) out.push(rec);
          } catch (e) {
            this.#warn(
              `Skipping record ${CONSUMER_OFFSETS_TOPIC}-${p}@${r.offset}: ${
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
