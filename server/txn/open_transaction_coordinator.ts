// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * Start-up of the transaction coordinator ({@linkcode openTransactionCoordinator}), apart from
 * `mod.ts` so a broker opens it without loading the cluster-mode marker sender and verifier
 * (issue #17), as `../group/open_group_coordinator.ts` does for groups.
 *
 * @module
 */

import type { LogManager } from "../../engine/mod.ts";
import type { InternalAppend } from "../internal_topic.ts";
import type { Logger } from "../logger.ts";
import {
  TransactionCoordinator,
  type TransactionCoordinatorConfig,
  type TransactionCoordinatorOptions,
} from "./coordinator.ts";
import { TransactionStateStore } from "./store.ts";

/** Options of {@linkcode openTransactionCoordinator}. */
export interface OpenTransactionCoordinatorOptions {
  /** Allocates producer ids. */
  nextProducerId: () => Promise<number>;
  /** `transaction.state.log.num.partitions` for a new topic. Default 50. */
  numPartitions?: number;
  /** The group coordinator (transactional offset commits). */
  groups?: TransactionCoordinatorOptions["groups"];
  /** Settings. */
  config?: Partial<TransactionCoordinatorConfig>;
  /** Where to report events. */
  logger?: Logger;
  /** Clock. */
  now?: () => number;
  /** Start the timed-out transaction timer (default `true`). */
  startTimer?: boolean;
  /**
   * Cluster mode: the partition count of `__transaction_state` in the cluster (`undefined`
   * while it does not exist). Nothing is replayed here: the coordinator serves the partitions
   * this broker leads, each loaded by `onElection`.
   */
  clusterPartitions?: () => number | undefined;
  /** Cluster mode and shards: whether a data partition exists (see `TransactionCoordinatorOptions`). */
  partitionExists?: (topic: string, partition: number) => boolean;
  /**
   * The partition count of `__consumer_offsets` (see `TransactionCoordinatorOptions`); on one
   * broker, its configured count while the topic does not exist yet.
   */
  offsetsPartitions?: () => number | undefined;
  /**
   * Cluster mode and shards: how markers reach the partitions' leaders or owner shards (see
   * `TransactionCoordinatorOptions`).
   */
  markers?: TransactionCoordinatorOptions["markers"];
  /**
   * Cluster mode: how a batch is appended to `__transaction_state` (as its leader, answered
   * once the in-sync replicas have it; see `InternalTopicOptions.append`).
   */
  append?: InternalAppend;
}

/**
 * Open `__transaction_state`, replay it, finish transactions left half-complete, and start the
 * timeout timer. Call `close()` before closing `logs`.
 *
 * @param logs The storage engine.
 * @param options Producer id allocator and settings.
 * @returns The coordinator.
 * @throws {EngineError} If the topic cannot be read or markers cannot be written.
 */
export async function openTransactionCoordinator(
  logs: LogManager,
  options: OpenTransactionCoordinatorOptions,
): Promise<TransactionCoordinator> {
  const logger = options.logger;
  const store = TransactionStateStore.open(logs, {
    numPartitions: options.numPartitions,
    warn: (m) => logger ? logger.warn(m) : console.warn(m),
    now: options.now,
    clusterPartitions: options.clusterPartitions,
    append: options.append,
  });
  const cluster = options.clusterPartitions !== undefined;
  const records = cluster ? [] : await store.load();
  const txns = new TransactionCoordinator({
    store,
    logs,
    nextProducerId: options.nextProducerId,
    groups: options.groups,
    config: options.config,
    logger,
    now: options.now,
    ownedPartitionsOnly: cluster,
    partitionExists: options.partitionExists,
    offsetsPartitions: options.offsetsPartitions,
    markers: options.markers,
  });
  if (cluster) {
    // Each __transaction_state partition is loaded when this broker becomes its leader; the
    // data partitions' transaction state (LSO, aborted ranges) is their logs' own.
    if (options.startTimer !== false) txns.start();
    return txns;
  }
  txns.load(records);
  const completed = await txns.completePending();
  logger?.info(
    `Transaction coordinator loaded ${records.length} records of __transaction_state` +
      (completed > 0
        ? `; ${options.markers ? "completing" : "completed"} ${completed} prepared transactions`
        : ""),
  );
  if (options.startTimer !== false) txns.start();
  return txns;
}
