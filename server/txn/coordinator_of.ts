// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * What the transactional handlers need to reach the transaction coordinator, apart from it: a
 * Produce handler imports this, not the coordinator, so a broker whose clients never use
 * transactions never loads it (issue #17).
 *
 * @module
 */

import type { LogManager } from "../../engine/mod.ts";
import type { BrokerContext } from "../api.ts";
import type { TransactionCoordinator } from "./coordinator.ts";

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
    p = import("./open_transaction_coordinator.ts").then(({ openTransactionCoordinator }) =>
      openTransactionCoordinator(broker.logs, {
        nextProducerId: () => broker.producerIds.next(),
        numPartitions: num,
        offsetsPartitions: () => broker.logs.topic("__consumer_offsets")?.partitions ?? offsets,
        groups: broker.groups,
        logger: broker.logger,
        startTimer: !broker.closing.aborted,
      })
    ).then((txns) => {
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
 * import { fencedFor } from "./coordinator_of.ts";
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
