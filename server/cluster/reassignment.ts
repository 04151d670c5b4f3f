// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * The rules of the cluster's operations on replicas and leaders (docs/CLUSTER.md,
 * "Operations"), as pure functions of a partition's replicas and state: the writes that carry
 * them out are compare-and-swap transactions in `cluster.ts` (requests) and `controller.ts`
 * (completion).
 *
 * - **Reassignment** (Kafka's `PartitionReassignmentReplicas`, KIP-455): moving a partition
 *   from replicas R to a target T first makes its replicas T ++ (R − T), with
 *   `addingReplicas` = T − R and `removingReplicas` = R − T in its state, so the new replicas
 *   start fetching while the old ones keep serving. Once every adding replica is in the ISR the
 *   controller completes it: replicas = T, ISR = ISR ∩ T, and a leader outside T hands over to
 *   the first replica of T in the ISR (leader epoch + 1); the removed replicas then stop and
 *   delete their logs. A new target replaces one in progress (from the original replicas);
 *   cancelling goes back to the original replicas (R, without the adding ones).
 * - **Preferred election**: the first replica leads when it is registered and in the ISR.
 * - **Unclean election**: for a partition without a live leader only: a live ISR member if
 *   there is one (clean), else the first live replica with an ISR of itself (records it lacks
 *   are lost, as in Kafka).
 *
 * @module
 */

import { ErrorCode } from "../../protocol/errors.ts";
import type { PartitionState } from "./metadata_store.ts";

/** A partition's new replicas and state. */
export interface ReplicaChange {
  /** Replicas, preferred leader first. */
  replicas: number[];
  /** The new state (partition epoch + 1). */
  state: PartitionState;
}

/** An operation refused for one partition. */
export interface PartitionRefusal {
  /** Kafka error code. */
  errorCode: number;
  /** Why. */
  message: string;
}

/**
 * The reassignment in progress of a partition, if any.
 *
 * @example
 * ```ts
 * import { reassignmentOf } from "./reassignment.ts";
 *
 * const s = { leader: 1, leaderEpoch: 0, isr: [1, 2], partitionEpoch: 3, addingReplicas: [4], removingReplicas: [2] };
 * console.assert(reassignmentOf(s)?.adding[0] === 4);
 * ```
 *
 * @param s The partition's state.
 * @returns The adding and removing replicas, or `undefined` when none is in progress.
 */
export function reassignmentOf(
  s: PartitionState,
): { adding: number[]; removing: number[] } | undefined {
  const adding = s.addingReplicas ?? [];
  const removing = s.removingReplicas ?? [];
  if (adding.length === 0 && removing.length === 0) return undefined;
  return { adding: [...adding], removing: [...removing] };
}

/**
 * The replicas a partition had before its reassignment in progress (its replicas without the
 * adding ones), or its replicas when none is in progress.
 *
 * @param replicas The partition's replicas.
 * @param s Its state.
 * @returns The original replicas.
 */
export function originalReplicas(replicas: readonly number[], s: PartitionState): number[] {
  const adding = s.addingReplicas ?? [];
  return replicas.filter((b) => !adding.includes(b));
}

/**
 * Checks a target replica list (Kafka's INVALID_REPLICA_ASSIGNMENT cases).
 *
 * @param target The replicas asked for.
 * @param known The registered brokers.
 * @returns Why it is refused, or `undefined`.
 */
export function checkTarget(
  target: readonly number[],
  known: ReadonlySet<number>,
): PartitionRefusal | undefined {
  const bad = (message: string) => ({ errorCode: ErrorCode.INVALID_REPLICA_ASSIGNMENT, message });
  if (target.length === 0) return bad("The replica list is empty");
  if (new Set(target).size !== target.length) {
    return bad(`The replica list [${target}] names a broker twice`);
  }
  const unknown = target.filter((b) => !known.has(b));
  if (unknown.length > 0) {
    return bad(`The replica list [${target}] names broker(s) [${unknown}] that are not registered`);
  }
  return undefined;
}

/**
 * The partition with new replicas: ISR = ISR ∩ replicas; a leader that is not among them
 * hands over to the first of them that is live and in the ISR (leader epoch + 1); partition
 * epoch + 1.
 *
 * @returns The change, or a refusal when no replica could lead.
 */
function withReplicas(
  s: PartitionState,
  replicas: number[],
  adding: number[],
  removing: number[],
  live: ReadonlySet<number>,
): ReplicaChange | PartitionRefusal {
  const isr = s.isr.filter((b) => replicas.includes(b));
  let { leader, leaderEpoch } = s;
  if (leader !== -1 && !replicas.includes(leader)) {
    const next = replicas.find((b) => isr.includes(b) && live.has(b));
    if (next === undefined) {
      return {
        errorCode: ErrorCode.ELIGIBLE_LEADERS_NOT_AVAILABLE,
        message: `None of the replicas [${replicas}] is live and in the ISR [${s.isr}] to take ` +
          `over from leader ${leader}`,
      };
    }
    leader = next;
    leaderEpoch++;
  }
  const state: PartitionState = {
    leader,
    leaderEpoch,
    isr: isr.length > 0 ? isr : [...s.isr],
    partitionEpoch: s.partitionEpoch + 1,
  };
  if (adding.length > 0 || removing.length > 0) {
    state.addingReplicas = adding;
    state.removingReplicas = removing;
  }
  return { replicas, state };
}

/**
 * Start (or replace) a reassignment of a partition to `target` (checked already with
 * {@linkcode checkTarget}). When nothing is to be added it completes at once.
 *
 * @example
 * ```ts
 * import { startReassignment } from "./reassignment.ts";
 *
 * const s = { leader: 1, leaderEpoch: 0, isr: [1, 2, 3], partitionEpoch: 0 };
 * const c = startReassignment([1, 2, 3], s, [4, 2, 3], new Set([1, 2, 3, 4]));
 * console.assert(c !== undefined && "replicas" in c && c.replicas.join() === "4,2,3,1");
 * ```
 *
 * @param replicas The partition's replicas.
 * @param s Its state.
 * @param target The replicas asked for, preferred leader first.
 * @param live The registered brokers.
 * @returns The change, `undefined` when the partition already has exactly these replicas and
 *   no reassignment, or a refusal.
 */
export function startReassignment(
  replicas: readonly number[],
  s: PartitionState,
  target: readonly number[],
  live: ReadonlySet<number>,
): ReplicaChange | PartitionRefusal | undefined {
  const inProgress = reassignmentOf(s) !== undefined;
  if (!inProgress && sameList(replicas, target)) return undefined;
  const original = originalReplicas(replicas, s);
  const adding = target.filter((b) => !original.includes(b));
  const removing = original.filter((b) => !target.includes(b));
  const all = [...target, ...removing];
  if (adding.every((b) => s.isr.includes(b))) {
    // nothing to copy: the target at once
    return withReplicas(s, [...target], [], [], live);
  }
  return withReplicas(s, all, adding, removing, live);
}

/**
 * Cancel a partition's reassignment: back to its original replicas.
 *
 * @param replicas The partition's replicas.
 * @param s Its state.
 * @param live The registered brokers.
 * @returns The change, or NO_REASSIGNMENT_IN_PROGRESS (or a refusal when no original replica
 *   could lead).
 */
export function cancelReassignment(
  replicas: readonly number[],
  s: PartitionState,
  live: ReadonlySet<number>,
): ReplicaChange | PartitionRefusal {
  if (reassignmentOf(s) === undefined) {
    return {
      errorCode: ErrorCode.NO_REASSIGNMENT_IN_PROGRESS,
      message: "No reassignment of this partition is in progress",
    };
  }
  return withReplicas(s, originalReplicas(replicas, s), [], [], live);
}

/**
 * The controller's completion of a reassignment: once every adding replica is in the ISR, the
 * partition gets its target replicas.
 *
 * @example
 * ```ts
 * import { completeReassignment } from "./reassignment.ts";
 *
 * const s = { leader: 1, leaderEpoch: 0, isr: [1, 2, 3, 4], partitionEpoch: 2, addingReplicas: [4], removingReplicas: [1] };
 * const c = completeReassignment([4, 2, 3, 1], s, new Set([1, 2, 3, 4]));
 * console.assert(c?.replicas.join() === "4,2,3" && c.state.leader === 4 && c.state.leaderEpoch === 1);
 * ```
 *
 * @param replicas The partition's replicas (target first, then the removing ones).
 * @param s Its state.
 * @param live The registered brokers.
 * @returns The change, or `undefined` when there is nothing to complete yet.
 */
export function completeReassignment(
  replicas: readonly number[],
  s: PartitionState,
  live: ReadonlySet<number>,
): ReplicaChange | undefined {
  const r = reassignmentOf(s);
  if (r === undefined || !r.adding.every((b) => s.isr.includes(b))) return undefined;
  const target = replicas.filter((b) => !r.removing.includes(b));
  const c = withReplicas(s, target, [], [], live);
  return "replicas" in c ? c : undefined;
}

/**
 * A preferred leader election: the first replica leads when it is registered and in the ISR.
 *
 * @example
 * ```ts
 * import { electPreferred } from "./reassignment.ts";
 *
 * const s = { leader: 2, leaderEpoch: 4, isr: [2, 3, 1], partitionEpoch: 9 };
 * const r = electPreferred([1, 2, 3], s, new Set([1, 2, 3]));
 * console.assert("leader" in r && r.leader === 1 && r.leaderEpoch === 5);
 * ```
 *
 * @param replicas The partition's replicas.
 * @param s Its state.
 * @param live The registered brokers.
 * @returns The new state, or ELECTION_NOT_NEEDED / PREFERRED_LEADER_NOT_AVAILABLE.
 */
export function electPreferred(
  replicas: readonly number[],
  s: PartitionState,
  live: ReadonlySet<number>,
): PartitionState | PartitionRefusal {
  const preferred = replicas[0];
  if (s.leader === preferred) {
    return {
      errorCode: ErrorCode.ELECTION_NOT_NEEDED,
      message: `The preferred leader ${preferred} leads already`,
    };
  }
  if (!live.has(preferred) || !s.isr.includes(preferred)) {
    return {
      errorCode: ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE,
      message: `The preferred leader ${preferred} is ${
        live.has(preferred) ? `not in the ISR [${s.isr}]` : "not registered"
      }`,
    };
  }
  return {
    ...s,
    leader: preferred,
    leaderEpoch: s.leaderEpoch + 1,
    partitionEpoch: s.partitionEpoch + 1,
  };
}

/**
 * An unclean leader election, for a partition without a live leader: a live ISR member if
 * there is one, else the first live replica with an ISR of itself.
 *
 * @param replicas The partition's replicas.
 * @param s Its state.
 * @param live The registered brokers.
 * @returns The new state, or ELECTION_NOT_NEEDED / ELIGIBLE_LEADERS_NOT_AVAILABLE.
 */
export function electUnclean(
  replicas: readonly number[],
  s: PartitionState,
  live: ReadonlySet<number>,
): PartitionState | PartitionRefusal {
  if (s.leader !== -1 && live.has(s.leader)) {
    return {
      errorCode: ErrorCode.ELECTION_NOT_NEEDED,
      message: `Broker ${s.leader} leads already`,
    };
  }
  const clean = replicas.find((b) => s.isr.includes(b) && live.has(b));
  const leader = clean ?? replicas.find((b) => live.has(b));
  if (leader === undefined) {
    return {
      errorCode: ErrorCode.ELIGIBLE_LEADERS_NOT_AVAILABLE,
      message: `None of the replicas [${replicas}] is registered`,
    };
  }
  return {
    ...s,
    leader,
    leaderEpoch: s.leaderEpoch + 1,
    isr: clean !== undefined ? s.isr.filter((b) => live.has(b)) : [leader],
    partitionEpoch: s.partitionEpoch + 1,
  };
}

function sameList(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
