// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * KIP-392's replica selection (Kafka's `org.apache.kafka.common.replica`): which replica of a
 * partition a consumer should fetch from, as the leader decides it for a Fetch v11+ carrying the
 * consumer's `rack_id`. The leader answers `preferred_read_replica` (and no records) when the
 * chosen replica is another broker; the consumer then fetches from that follower, which serves it
 * up to its own high watermark (`server/apis/fetch.ts`).
 *
 * @module
 */

/** What the selector knows of one replica (Kafka's `ReplicaView`). */
export interface ReplicaView {
  /** The broker's node id. */
  nodeId: number;
  /** Its rack (`broker.rack`), `null` when it has none. */
  rack: string | null;
  /** Its log end offset as the leader knows it (the leader's own for itself). */
  logEndOffset: number;
  /** How long since it was last caught up to the leader's log end (0 for the leader). */
  timeSinceLastCaughtUpMs: number;
}

/**
 * Kafka's `RackAwareReplicaSelector.select`: with no client rack, or the leader in the client's
 * rack, or no candidate in it, the leader; otherwise the most caught-up candidate in the client's
 * rack (largest log end offset, then the most recently caught up, then the largest node id, as
 * `ReplicaView.comparator()` orders them).
 *
 * @example
 * ```ts
 * import { selectRackAware } from "./replica_selector.ts";
 *
 * const leader = { nodeId: 1, rack: "a", logEndOffset: 10, timeSinceLastCaughtUpMs: 0 };
 * const follower = { nodeId: 2, rack: "b", logEndOffset: 10, timeSinceLastCaughtUpMs: 5 };
 * console.assert(selectRackAware("b", leader, [leader, follower]).nodeId === 2);
 * console.assert(selectRackAware("a", leader, [leader, follower]).nodeId === 1);
 * ```
 *
 * @param clientRack The consumer's rack (Fetch `rack_id`; "" for none).
 * @param leader The leader.
 * @param replicas The candidates, the leader included (the caller keeps only in-sync replicas
 *   whose log holds the fetch offset).
 * @returns The replica the consumer should fetch from.
 */
export function selectRackAware(
  clientRack: string,
  leader: ReplicaView,
  replicas: readonly ReplicaView[],
): ReplicaView {
  if (clientRack === "" || leader.rack === clientRack) return leader;
  let best: ReplicaView | undefined;
  for (const r of replicas) {
    if (r.rack !== clientRack) continue;
    if (best === undefined || compareReplicas(r, best) > 0) best = r;
  }
  return best ?? leader;
}

/** Kafka's `ReplicaView.comparator()`: the larger is the more caught up. */
function compareReplicas(a: ReplicaView, b: ReplicaView): number {
  if (a.logEndOffset !== b.logEndOffset) return a.logEndOffset - b.logEndOffset;
  if (a.timeSinceLastCaughtUpMs !== b.timeSinceLastCaughtUpMs) {
    return b.timeSinceLastCaughtUpMs - a.timeSinceLastCaughtUpMs;
  }
  return a.nodeId - b.nodeId;
}
