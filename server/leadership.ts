// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * The one leader check of the leader-only APIs (Produce, Fetch, ListOffsets,
 * OffsetForLeaderEpoch, DeleteRecords, DescribeProducers, WriteTxnMarkers) and of the
 * coordinators' markers: whether this broker may serve a partition as its leader.
 *
 * - **Cluster mode** (`ClusterNode.leaderError`): UNKNOWN_TOPIC_OR_PARTITION for a partition
 *   the cluster does not have; else the replica manager's role, which follows the cluster
 *   view's partition states: NOT_LEADER_OR_FOLLOWER unless this broker leads it, in the
 *   state's epoch, registered (not fenced).
 * - **Standalone**: UNKNOWN_TOPIC_OR_PARTITION for a partition with no log here; a partition a
 *   caller-given control plane replicates (`BrokerStartOptions.replication`) follows its role;
 *   any other is led by this broker.
 *
 * @module
 */

import type { LogManager } from "../engine/mod.ts";
import { ErrorCode } from "../protocol/errors.ts";
import type { ClusterNode } from "./cluster/cluster.ts";
import type { ReplicaError, ReplicaManager } from "./replica_manager.ts";

/** What the leader check looks at (a `BrokerContext` has it all). */
export interface LeadershipParts {
  /** The storage engine. */
  readonly logs: LogManager;
  /** The replication layer, if any. */
  readonly replicas?: ReplicaManager;
  /** Cluster mode's node, if any. */
  readonly cluster?: ClusterNode;
}

/**
 * Why this broker cannot serve `topic`-`partition` as its leader, or `undefined` when it can.
 *
 * @example
 * ```ts
 * import { LogManager } from "../engine/mod.ts";
 * import { leaderError } from "./leadership.ts";
 *
 * const dir = await Deno.makeTempDir();
 * const logs = await LogManager.open(dir);
 * console.assert(leaderError({ logs }, "missing", 0)?.code === 3); // UNKNOWN_TOPIC_OR_PARTITION
 * await logs.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @param parts The broker's engine, replica manager and cluster node.
 * @param topic Topic name.
 * @param partition Partition index.
 * @returns UNKNOWN_TOPIC_OR_PARTITION or NOT_LEADER_OR_FOLLOWER with a message, or `undefined`.
 */
export function leaderError(
  parts: LeadershipParts,
  topic: string,
  partition: number,
): ReplicaError | undefined {
  if (parts.cluster !== undefined) return parts.cluster.leaderError(topic, partition);
  if (!parts.logs.hasPartition(topic, partition)) {
    return {
      code: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
      message: `${topic}-${partition} does not exist`,
    };
  }
  const led = parts.replicas?.checkLeader(topic, partition);
  return led === undefined || led.code === ErrorCode.NONE ? undefined : led;
}

/**
 * Whether a partition exists, wherever it is held: in cluster mode in the cluster's metadata (it
 * need not be on this broker); otherwise in the topic's partition count, which also covers a
 * partition never used since the last clean shutdown and, with shards (`sluice.workers`), one
 * that another shard holds.
 *
 * @param parts The broker's engine and cluster node.
 * @param topic Topic name.
 * @param partition Partition index.
 * @returns Whether OffsetCommit, OffsetDelete and the like may name it.
 */
export function partitionExists(
  parts: Pick<LeadershipParts, "logs" | "cluster">,
  topic: string,
  partition: number,
): boolean {
  if (parts.cluster !== undefined) return parts.cluster.partitionExists(topic, partition);
  return partition >= 0 && partition < (parts.logs.topic(topic)?.partitions ?? 0);
}
