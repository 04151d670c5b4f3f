// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * The error of a replicated append, apart from the replica manager so the coordinators can tell
 * it without loading replication on a standalone broker (issue #17).
 *
 * @module
 */

/**
 * A replicated append that could not be acknowledged, with the Kafka error code an acks=all
 * Produce would get (NOT_LEADER_OR_FOLLOWER, NOT_ENOUGH_REPLICAS,
 * NOT_ENOUGH_REPLICAS_AFTER_APPEND, REQUEST_TIMED_OUT).
 */
export class ReplicationError extends Error {
  /** The Kafka error code. */
  readonly code: number;

  /**
   * Creates the error.
   *
   * @param code The Kafka error code.
   * @param message What failed and why.
   */
  constructor(code: number, message: string) {
    super(message);
    this.name = "ReplicationError";
    this.code = code;
  }
}
