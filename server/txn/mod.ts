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
import type { TransactionCoordinator } from "./coordinator.ts";
import { openTransactionCoordinator } from "./open_transaction_coordinator.ts";

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
  openTransactionCoordinator,
  type OpenTransactionCoordinatorOptions,
} from "./open_transaction_coordinator.ts";
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
export async function transactionCoordinatorOf(
  broker: BrokerContext,
): Promise<TransactionCoordinator> {
  // a broker that opens its coordinators at their first use (issue #17): this is one
  if (broker.txns === undefined) await broker.loadPart?.("coordinators");
  const own = broker.txns;
  if (own !== undefined) return own;
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
