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

/**
 * Whether `name` is one of the broker's internal topics, which only the broker itself creates,
 * writes and deletes (clients may read them and change their configs).
 *
 * @example
 * ```ts
 * import { isInternalTopic } from "./internal_topic_names.ts";
 * console.assert(isInternalTopic("__consumer_offsets") && !isInternalTopic("orders"));
 * ```
 *
 * @param name Topic name.
 * @returns `true` for `__consumer_offsets` and `__transaction_state`.
 */
export function isInternalTopic(name: string): boolean {
  return name === CONSUMER_OFFSETS_TOPIC || name === TRANSACTION_STATE_TOPIC;
}
