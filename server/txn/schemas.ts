// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * The records of `__transaction_state` in Kafka's layouts (`TransactionLogKey` v0,
 * `TransactionLogValue` v0), the control records (COMMIT/ABORT markers) written to data
 * partitions, and the partitioning of transactional ids.
 *
 * @module
 */

import { Reader, Writer } from "../../protocol/primitives.ts";
import { crc32c } from "../../wasm/mod.ts";
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

/** Control record type of an ABORT marker. */
export const CONTROL_ABORT = 0;
/** Control record type of a COMMIT marker. */
export const CONTROL_COMMIT = 1;

/**
 * Encode one control batch holding a COMMIT or ABORT marker (attributes transactional|control,
 * the producer's id and epoch, base sequence -1; key: version 0 + type; value: version 0 +
 * coordinator epoch), ready for `PartitionLog.append`.
 *
 * @example
 * ```ts
 * import { encodeControlBatch } from "./schemas.ts";
 * const batch = encodeControlBatch({ producerId: 7, producerEpoch: 0, commit: true, timestamp: 1 });
 * console.assert(new DataView(batch.buffer).getInt16(21) === 0x30);
 * ```
 *
 * @param m Producer id and epoch, commit or abort, coordinator epoch (default 0), timestamp.
 * @returns The batch bytes.
 */
export function encodeControlBatch(m: {
  producerId: number;
  producerEpoch: number;
  commit: boolean;
  coordinatorEpoch?: number;
  timestamp: number;
}): Uint8Array {
  const key = new Uint8Array([0, 0, 0, m.commit ? CONTROL_COMMIT : CONTROL_ABORT]);
  const value = new Uint8Array(6);
  new DataView(value.buffer).setInt32(2, m.coordinatorEpoch ?? 0);
  const rec = new Writer(32);
  rec.writeInt8(0); // attributes
  rec.writeVarlong(0); // timestamp delta
  rec.writeVarint(0); // offset delta
  rec.writeVarint(key.length);
  rec.writeRaw(key);
  rec.writeVarint(value.length);
  rec.writeRaw(value);
  rec.writeVarint(0); // headers
  const recBytes = rec.finish();
  const body = new Writer(32);
  body.writeVarint(recBytes.length);
  body.writeRaw(recBytes);
  const records = body.finish();
  const out = new Uint8Array(61 + records.length);
  const v = new DataView(out.buffer);
  v.setBigInt64(0, 0n);
  v.setInt32(8, out.length - 12);
  v.setInt32(12, -1);
  v.setInt8(16, 2);
  v.setInt16(21, 0x30); // transactional | control
  v.setInt32(23, 0);
  v.setBigInt64(27, BigInt(m.timestamp));
  v.setBigInt64(35, BigInt(m.timestamp));
  v.setBigInt64(43, BigInt(m.producerId));
  v.setInt16(51, m.producerEpoch);
  v.setInt32(53, -1);
  v.setInt32(57, 1);
  out.set(records, 61);
  v.setUint32(17, crc32c(out.subarray(21)));
  return out;
}
