// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * The transaction coordinator ({@linkcode TransactionCoordinator}), its durable log
 * `__transaction_state` ({@linkcode TransactionStateStore}), start-up
 * ({@linkcode openTransactionCoordinator}) and the broker's coordinator
 * ({@linkcode transactionCoordinatorOf}), used by the transactional API handlers.
 *
 * @example
 * ```ts
 * import { LogManager } from "../../engine/mod.ts";
 * import { openTransactionCoordinator } from "./mod.ts";
 *
 * const dir = await Deno.makeTempDir();
 * const logs = await LogManager.open(dir);
 * const txns = await openTransactionCoordinator(logs, {
 *   numPartitions: 1,
 *   nextProducerId: () => Promise.resolve(1),
 * });
 * console.log(txns.list()); // []
 * txns.close();
 * await logs.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @module
 */

import type { LogManager } from "../../engine/mod.ts";
import type { BrokerContext } from "../api.ts";
import type { InternalAppend } from "../internal_topic.ts";
import type { Logger } from "../logger.ts";
import {
  TransactionCoordinator,
  type TransactionCoordinatorConfig,
  type TransactionCoordinatorOptions,
} from "./coordinator.ts";
import { TransactionStateStore } from "./store.ts";

export {
  DEFAULT_TRANSACTION_COORDINATOR_CONFIG,
  type InitProducerIdResult,
  type PendingOffset,
  TransactionCoordinator,
  type TransactionCoordinatorConfig,
  type TransactionCoordinatorOptions,
  type TransactionDescription,
  type TxnOffsetCommitParams,
  type TxnProducer,
  type TxnTopicResult,
} from "./coordinator.ts";
export {
  isRetriableMarkerError,
  type LocalMarkerParts,
  type MarkerClusterView,
  type MarkerRequest,
  type MarkerTopicResult,
  TxnMarkerSender,
  type TxnMarkerSenderOptions,
  WRITE_TXN_MARKERS_VERSION,
  writeLocalMarkers,
} from "./markers.ts";
export {
  produceErrorOfVerification,
  TxnVerifier,
  type TxnVerifierOptions,
  type VerifierClusterView,
  VERIFY_ADD_PARTITIONS_VERSION,
} from "./verification.ts";
export {
  TRANSACTION_STATE_TOPIC,
  type TransactionLogRecord,
  TransactionStateStore,
  type TransactionStateStoreOptions,
} from "./store.ts";
export {
  partitionForTransactionalId,
  type TransactionLogValue,
  TXN_STATES,
  type TxnPartitions,
  type TxnState,
} from "./schemas.ts";

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
  /** Cluster mode: whether a data partition exists (see `TransactionCoordinatorOptions`). */
  partitionExists?: (topic: string, partition: number) => boolean;
  /**
   * The partition count of `__consumer_offsets` (see `TransactionCoordinatorOptions`); on one
   * broker, its configured count while the topic does not exist yet.
   */
  offsetsPartitions?: () => number | undefined;
  /** Cluster mode: how markers reach the partitions' leaders (see `TransactionCoordinatorOptions`). */
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
      (completed > 0 ? `; completed ${completed} prepared transactions` : ""),
  );
  if (options.startTimer !== false) txns.start();
  return txns;
}

// For contexts without `txns` (handler tests build their own): one coordinator per engine,
// opened on first use and keyed by the LogManager; its timer stops when the broker closes.
const byLogs = new WeakMap<LogManager, Promise<TransactionCoordinator>>();

/**
 * The broker's transaction coordinator: `BrokerContext.txns` when the broker provides one,
 * else one opened on first use (replaying `__transaction_state`) for this broker's engine.
 *
 * @param broker The broker context.
 * @returns The coordinator.
 * @throws {EngineError} If `__transaction_state` cannot be read.
 */
export function transactionCoordinatorOf(broker: BrokerContext): Promise<TransactionCoordinator> {
  const own = broker.txns;
  if (own !== undefined) return Promise.resolve(own);
  let p = byLogs.get(broker.logs);
  if (p === undefined) {
    const cfg = broker.config as unknown as Record<string, unknown>;
    const num = typeof cfg.transactionStateLogNumPartitions === "number"
      ? cfg.transactionStateLogNumPartitions
      : undefined;
    const offsets = typeof cfg.offsetsTopicNumPartitions === "number"
      ? cfg.offsetsTopicNumPartitions
      : undefined;
    p = openTransactionCoordinator(broker.logs, {
      nextProducerId: () => broker.producerIds.next(),
      numPartitions: num,
      offsetsPartitions: () => broker.logs.topic("__consumer_offsets")?.partitions ?? offsets,
      groups: broker.groups,
      logger: broker.logger,
      startTimer: !broker.closing.aborted,
    }).then((txns) => {
      broker.closing.addEventListener("abort", () => txns.close(), { once: true });
      if (broker.closing.aborted) txns.close();
      return txns;
    });
    p.catch(() => byLogs.delete(broker.logs));
    byLogs.set(broker.logs, p);
  }
  return p;
}

/**
 * PRODUCER_FENCED (KIP-588) as clients of older request versions expect it:
 * INVALID_PRODUCER_EPOCH when the version predates it (InitProducerId < v4, AddPartitionsToTxn,
 * AddOffsetsToTxn and EndTxn < v2, TxnOffsetCommit < v3), as Kafka's handlers do.
 *
 * @example
 * ```ts
 * import { fencedFor } from "./mod.ts";
 * console.assert(fencedFor(90, false) === 47 && fencedFor(90, true) === 90);
 * ```
 *
 * @param errorCode The coordinator's error code.
 * @param supportsProducerFenced Whether the request version knows PRODUCER_FENCED.
 * @returns The code to send.
 */
export function fencedFor(errorCode: number, supportsProducerFenced: boolean): number {
  return errorCode === 90 && !supportsProducerFenced ? 47 : errorCode;
}
