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
export { fencedFor, transactionCoordinatorOf } from "./coordinator_of.ts";
