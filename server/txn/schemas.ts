// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * The records of `__transaction_state` in Kafka's layouts (`TransactionLogKey` v0,
 * `TransactionLogValue` v0) and the partitioning of transactional ids. The COMMIT/ABORT
 * markers written to data partitions are control records of `records/control.ts`.
 *
 * @module
 */

import { Reader, Writer } from "../../protocol/primitives.ts";
import { javaStringHashCode, partitionForGroup } from "../group/schemas.ts";

export { javaStringHashCode };

/** Kafka's transaction states, in the order of their on-disk byte (`TransactionState.id`). */
export const TXN_STATES = [
  "Empty",
  "Ongoing",
  "PrepareCommit",
  "PrepareAbort",
  "CompleteCommit",
  "CompleteAbort",
  "Dead",
  "PrepareEpochFence",
] as const;

/** One transaction state. */
export type TxnState = typeof TXN_STATES[number];

/** A transaction's partitions, by topic. */
export type TxnPartitions = Map<string, Set<number>>;

/** The value of one `__transaction_state` record (Kafka's `TransactionLogValue`). */
export interface TransactionLogValue {
  /** Producer id. */
  producerId: number;
  /** Producer epoch. */
  producerEpoch: number;
  /** `transaction.timeout.ms` asked for by the producer. */
  timeoutMs: number;
  /** State. */
  state: TxnState;
  /** Partitions in the transaction. */
  partitions: TxnPartitions;
  /** Last update (ms). */
  lastUpdateTimestamp: number;
  /** Start of the current transaction (ms), or -1. */
  startTimestamp: number;
}

/**
 * The `__transaction_state` partition of a transactional id:
 * `toPositive(hashCode(id)) % partitions`, as Kafka.
 *
 * @example
 * ```ts
 * import { partitionForTransactionalId } from "./schemas.ts";
 * console.assert(partitionForTransactionalId("abc", 50) === 96354 % 50);
 * ```
 *
 * @param transactionalId The transactional id.
 * @param partitions Partition count of `__transaction_state`.
 * @returns The partition.
 */
export function partitionForTransactionalId(transactionalId: string, partitions: number): number {
  return partitionForGroup(transactionalId, partitions);
}

/**
 * Encode a `TransactionLogKey` (version 0: int16 version, string transactional id).
 *
 * @param transactionalId The transactional id.
 * @returns The key bytes.
 */
export function encodeTransactionLogKey(transactionalId: string): Uint8Array {
  const w = new Writer(32);
  w.writeInt16(0);
  w.writeString(transactionalId);
  return w.finish();
}

/**
 * Decode a `TransactionLogKey`.
 *
 * @param key The key bytes.
 * @returns The transactional id.
 * @throws {RangeError} If the version is unknown.
 * @throws {ProtocolError} If the bytes are malformed.
 */
export function decodeTransactionLogKey(key: Uint8Array): string {
  const r = new Reader(key);
  const version = r.readInt16();
  if (version !== 0) {
    throw new RangeError(`Cannot decode TransactionLogKey: unknown version ${version}`);
  }
  return r.readString();
}

/**
 * Encode a `TransactionLogValue` (version 0).
 *
 * @param v The value.
 * @returns The value bytes.
 */
export function encodeTransactionLogValue(v: TransactionLogValue): Uint8Array {
  const w = new Writer(128);
  w.writeInt16(0);
  w.writeInt64(v.producerId);
  w.writeInt16(v.producerEpoch);
  w.writeInt32(v.timeoutMs);
  w.writeInt8(TXN_STATES.indexOf(v.state));
  w.writeInt32(v.partitions.size);
  for (const [topic, parts] of v.partitions) {
    w.writeString(topic);
    w.writeInt32(parts.size);
    for (const p of parts) w.writeInt32(p);
  }
  w.writeInt64(v.lastUpdateTimestamp);
  w.writeInt64(v.startTimestamp);
  return w.finish();
}

/**
 * Decode a `TransactionLogValue` (version 0; version 1's flexible layout is refused).
 *
 * @param value The value bytes.
 * @returns The value.
 * @throws {RangeError} If the version or the state is unknown, or the bytes are malformed.
 */
export function decodeTransactionLogValue(value: Uint8Array): TransactionLogValue {
  const r = new Reader(value);
  const version = r.readInt16();
  if (version !== 0) {
    throw new RangeError(`Cannot decode TransactionLogValue: unsupported version ${version}`);
  }
  const producerId = r.readInt64();
  const producerEpoch = r.readInt16();
  const timeoutMs = r.readInt32();
  const stateId = r.readInt8();
  const state = TXN_STATES[stateId];
  if (state === undefined) {
    throw new RangeError(`Cannot decode TransactionLogValue: unknown state ${stateId}`);
  }
  const partitions: TxnPartitions = new Map();
  const topics = r.readInt32();
  for (let i = 0; i < topics; i++) {
    const topic = r.readString();
    const n = r.readInt32();
    const set = new Set<number>();
    for (let j = 0; j < n; j++) set.add(r.readInt32());
    partitions.set(topic, set);
  }
  const lastUpdateTimestamp = r.readInt64();
  const startTimestamp = r.readInt64();
  return {
    producerId,
    producerEpoch,
    timeoutMs,
    state,
    partitions,
    lastUpdateTimestamp,
    startTimestamp,
  };
}
