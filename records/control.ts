// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * Control records (Kafka's `ControlRecordType`, `EndTransactionMarker`): the COMMIT and ABORT
 * markers the transaction coordinator writes to data partitions, each alone in a control batch
 * (attributes transactional | control). Key: int16 version 0, int16 type. Value: int16 version
 * 0, int32 coordinator epoch.
 *
 * @module
 */

import { encodeRecordBatch } from "./batch_builder.ts";
import { readRecords } from "./batch_reader.ts";
import { RecordsError, RecordsErrorCode } from "./errors.ts";
import { readInt16, readInt32, writeInt16, writeInt32 } from "./layout.ts";

/** Control record types. */
export const ControlRecordType = {
  /** Transaction aborted. */
  ABORT: 0,
  /** Transaction committed. */
  COMMIT: 1,
} as const;

const CONTROL_KEY_SIZE = 4;
const MARKER_VALUE_SIZE = 6;

/**
 * The key of a control record: version 0 and the type.
 *
 * @example
 * ```ts
 * import { ControlRecordType, encodeControlRecordKey } from "./control.ts";
 * console.assert(encodeControlRecordKey(ControlRecordType.COMMIT).join() === "0,0,0,1");
 * ```
 *
 * @param type A {@linkcode ControlRecordType}.
 * @returns The 4 key bytes.
 */
export function encodeControlRecordKey(type: number): Uint8Array {
  const key = new Uint8Array(CONTROL_KEY_SIZE);
  writeInt16(key, 2, type);
  return key;
}

/**
 * The type of a control record from its key (versions above 0 are read the same, as Kafka).
 *
 * @example
 * ```ts
 * import { decodeControlRecordKey } from "./control.ts";
 * console.assert(decodeControlRecordKey(new Uint8Array([0, 0, 0, 0])) === 0);
 * ```
 *
 * @param key The key bytes.
 * @returns The type (0 ABORT, 1 COMMIT; others are unknown types).
 * @throws {RecordsError} `CORRUPT_MESSAGE` if the key is shorter than 4 bytes or has a negative
 *   version.
 */
export function decodeControlRecordKey(key: Uint8Array | null): number {
  if (key === null || key.length < CONTROL_KEY_SIZE || readInt16(key, 0) < 0) {
    throw new RecordsError(
      RecordsErrorCode.CORRUPT_MESSAGE,
      `control record: invalid key (${key === null ? "null" : `${key.length} bytes`})`,
    );
  }
  return readInt16(key, 2);
}

/**
 * The value of a transaction marker: version 0 and the coordinator epoch.
 *
 * @example
 * ```ts
 * import { encodeEndTxnMarkerValue } from "./control.ts";
 * console.assert(encodeEndTxnMarkerValue(3).join() === "0,0,0,0,0,3");
 * ```
 *
 * @param coordinatorEpoch The transaction coordinator's epoch.
 * @returns The 6 value bytes.
 */
export function encodeEndTxnMarkerValue(coordinatorEpoch: number): Uint8Array {
  const value = new Uint8Array(MARKER_VALUE_SIZE);
  writeInt32(value, 2, coordinatorEpoch);
  return value;
}

/**
 * The coordinator epoch of a transaction marker's value.
 *
 * @example
 * ```ts
 * import { decodeEndTxnMarkerValue, encodeEndTxnMarkerValue } from "./control.ts";
 * console.assert(decodeEndTxnMarkerValue(encodeEndTxnMarkerValue(9)) === 9);
 * ```
 *
 * @param value The value bytes.
 * @returns The coordinator epoch.
 * @throws {RecordsError} `CORRUPT_MESSAGE` if the value is shorter than 6 bytes.
 */
export function decodeEndTxnMarkerValue(value: Uint8Array | null): number {
  if (value === null || value.length < MARKER_VALUE_SIZE) {
    throw new RecordsError(
      RecordsErrorCode.CORRUPT_MESSAGE,
      `control record: invalid transaction marker value`,
    );
  }
  return readInt32(value, 2);
}

/** A transaction marker to write. */
export interface EndTxnMarker {
  /** Producer id of the transaction. */
  producerId: number;
  /** Producer epoch of the transaction. */
  producerEpoch: number;
  /** COMMIT (`true`) or ABORT (`false`). */
  commit: boolean;
  /** The coordinator's epoch. Default 0. */
  coordinatorEpoch?: number;
  /** Timestamp of the marker (ms). */
  timestamp: number;
  /** Partition leader epoch. Default -1. */
  partitionLeaderEpoch?: number;
}

/**
 * One control batch holding a COMMIT or ABORT marker (attributes transactional | control, the
 * producer's id and epoch, base sequence -1), ready for `PartitionLog.append`.
 *
 * @example
 * ```ts
 * import { buildControlBatch, controlRecordTypeOf, ControlRecordType } from "./control.ts";
 * import { attributesAt } from "./layout.ts";
 * const batch = buildControlBatch({ producerId: 7, producerEpoch: 0, commit: true, timestamp: 1 });
 * console.assert(attributesAt(batch, 0) === 0x30);
 * console.assert(controlRecordTypeOf(batch) === ControlRecordType.COMMIT);
 * ```
 *
 * @param m Producer, COMMIT or ABORT, coordinator epoch, timestamp.
 * @returns The batch bytes.
 */
export function buildControlBatch(m: EndTxnMarker): Uint8Array {
  return encodeRecordBatch([{
    key: encodeControlRecordKey(m.commit ? ControlRecordType.COMMIT : ControlRecordType.ABORT),
    value: encodeEndTxnMarkerValue(m.coordinatorEpoch ?? 0),
    timestamp: m.timestamp,
  }], {
    producerId: m.producerId,
    producerEpoch: m.producerEpoch,
    baseSequence: -1,
    partitionLeaderEpoch: m.partitionLeaderEpoch,
    transactional: true,
    control: true,
  });
}

/**
 * The type of the control record in the control batch at `pos` (its first record).
 *
 * @example
 * ```ts
 * import { buildControlBatch, controlRecordTypeOf, ControlRecordType } from "./control.ts";
 * const abort = buildControlBatch({ producerId: 1, producerEpoch: 0, commit: false, timestamp: 1 });
 * console.assert(controlRecordTypeOf(abort) === ControlRecordType.ABORT);
 * ```
 *
 * @param data Bytes holding the whole batch.
 * @param pos Position of the batch. Default 0.
 * @returns The type (0 ABORT, 1 COMMIT).
 * @throws {RecordsError} `CORRUPT_MESSAGE` if the batch has no record or its key is not a
 *   control key.
 */
export function controlRecordTypeOf(data: Uint8Array, pos = 0): number {
  const r = readRecords(data, pos, { verifyCrc: false });
  if (!r.next()) {
    throw new RecordsError(RecordsErrorCode.CORRUPT_MESSAGE, "control record: empty batch");
  }
  return decodeControlRecordKey(r.key);
}

/** A COMMIT or ABORT marker read back from the log (Kafka's `EndTransactionMarker`). */
export interface EndTxnMarkerRecord {
  /** {@linkcode ControlRecordType.ABORT} or {@linkcode ControlRecordType.COMMIT}. */
  type: number;
  /** The coordinator epoch in the marker's value. */
  coordinatorEpoch: number;
}

/**
 * The transaction marker in the control batch at `pos`: its type and coordinator epoch.
 *
 * @example
 * ```ts
 * import { buildControlBatch, ControlRecordType, endTxnMarkerAt } from "./control.ts";
 * const b = buildControlBatch({
 *   producerId: 1, producerEpoch: 0, commit: false, coordinatorEpoch: 4, timestamp: 1,
 * });
 * const m = endTxnMarkerAt(b);
 * console.assert(m?.type === ControlRecordType.ABORT && m.coordinatorEpoch === 4);
 * ```
 *
 * @param data Bytes holding the whole batch.
 * @param pos Position of the batch. Default 0.
 * @returns The marker, or `null` for a control batch without records (the log cleaner left
 *   only its header).
 * @throws {RecordsError} `CORRUPT_MESSAGE` if the record is not a COMMIT or ABORT marker.
 */
export function endTxnMarkerAt(data: Uint8Array, pos = 0): EndTxnMarkerRecord | null {
  const r = readRecords(data, pos, { verifyCrc: false });
  if (!r.next()) return null;
  const type = decodeControlRecordKey(r.key);
  if (type !== ControlRecordType.ABORT && type !== ControlRecordType.COMMIT) {
    throw new RecordsError(
      RecordsErrorCode.CORRUPT_MESSAGE,
      `control record: type ${type} is not a transaction marker`,
    );
  }
  return { type, coordinatorEpoch: decodeEndTxnMarkerValue(r.value) };
}
