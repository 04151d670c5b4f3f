// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * What the transaction coordinator hands to a marker sender (`./markers.ts`) and which of its
 * errors are tried again, apart from the sender so that a standalone broker's coordinator does
 * not load it and its inter-broker connections (issue #17).
 *
 * @module
 */

import { ErrorCode } from "../../protocol/errors.ts";

/** The markers of one transaction. */
export interface MarkerRequest {
  /** Producer id. */
  producerId: number;
  /** Producer epoch. */
  producerEpoch: number;
  /** COMMIT (`true`) or ABORT. */
  commit: boolean;
  /** The coordinator's epoch (the leader epoch of its `__transaction_state` partition). */
  coordinatorEpoch: number;
  /** The partitions. */
  topics: { topic: string; partitions: number[] }[];
}

/** Per-partition results of markers. */
export interface MarkerTopicResult {
  /** Topic. */
  topic: string;
  /** Partitions and their error codes. */
  partitions: { partition: number; errorCode: number }[];
}

/** Errors after which a marker is sent again (the leader moves, or cannot commit it yet). */
const RETRIABLE = new Set<number>([
  ErrorCode.NOT_LEADER_OR_FOLLOWER,
  ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
  ErrorCode.NOT_ENOUGH_REPLICAS,
  ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND,
  ErrorCode.REQUEST_TIMED_OUT,
  ErrorCode.KAFKA_STORAGE_ERROR,
  ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
  ErrorCode.NETWORK_EXCEPTION,
]);

/**
 * Whether a marker that failed with `errorCode` is to be sent again.
 *
 * @example
 * ```ts
 * import { isRetriableMarkerError } from "./marker_request.ts";
 * console.assert(isRetriableMarkerError(6) && !isRetriableMarkerError(52));
 * ```
 *
 * @param errorCode The error code.
 * @returns `true` for the errors of a moving or not yet committing leader.
 */
export function isRetriableMarkerError(errorCode: number): boolean {
  return RETRIABLE.has(errorCode);
}
