// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * The names of the broker's internal topics, apart from their machinery (`internal_topic.ts`,
 * which re-exports them) so the broker can tell at start whether its coordinators have anything
 * to replay without importing them (issue #17).
 *
 * @module
 */

/** The consumer group coordinator's topic: committed offsets and group metadata. */
export const CONSUMER_OFFSETS_TOPIC = "__consumer_offsets";
/** The transaction coordinator's topic: the state of every transactional id. */
export const TRANSACTION_STATE_TOPIC = "__transaction_state";
