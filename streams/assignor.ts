// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * The Streams partition assignor (group protocol name `stream`, as Kafka's
 * `StreamsPartitionAssignor`): it assigns tasks, not partitions. A task (`<subtopology>_<p>`)
 * gets partition `p` of every source topic of its sub-topology, so co-partitioned topics land
 * together; each stateful task also gets `num.standby.replicas` standby copies on other
 * members than its active one (never two copies of a task on one member).
 *
 * Placement, a simplification of Kafka's `HighAvailabilityTaskAssignor` (KIP-441):
 *
 * - a stateful task's active goes to its previous active member if it is still there, else to
 *   the member whose copy is furthest along (the largest sum of its stores' changelog
 *   positions, Kafka's task offset sums), else to the least loaded member; no member takes
 *   more than `ceil(tasks / members)` actives while another has room. Kafka instead measures
 *   each copy's lag against the changelogs' end offsets, treats copies within
 *   `acceptable.recovery.lag` as caught up, and warms up extra replicas with probing
 *   rebalances before it moves an active; none of that is done here. Then, while a member
 *   has two actives more than another, one moves (a stateless one first, else the one the
 *   receiver holds the furthest copy of);
 * - a stateless task goes to its previous member if it has room, else to the least loaded;
 * - standbys go to the least loaded members (actives and standbys, as Kafka's
 *   `DefaultStandbyTaskAssignor`), the one with the furthest copy among equals; then standbys
 *   move from the most to the least loaded member while two differ by more than one.
 *
 * The subscription and the assignment carry the assignor's user data, in Sluice's own format
 * (not Kafka's `SubscriptionInfo`/`AssignmentInfo`): UTF-8 JSON with a version `v` (1).
 *
 * - Subscription: `{ v, host, active, sums }`: the member's `application.server` (or `null`),
 *   the tasks it ran as active before the rebalance, and the offset sums of the tasks whose
 *   state it holds (active and standby).
 * - Assignment: `{ v, active, standby, hosts, tasks }`: the member's active and standby task
 *   ids, every advertised host's active and standby task ids (Kafka's `partitionsByHost` and
 *   `standbyPartitionByHost`, by task), and the task count per sub-topology.
 *
 * @module
 */

import type { Assignor, AssignorMember, MemberAssignment } from "../client/assignors.ts";

/** A sub-topology as the assignor sees it. */
export interface AssignorSubtopology {
  /** Its id (the task id's prefix). */
  id: number;
  /** Its source topics, full names. */
  topics: string[];
  /** Whether it has stores (its tasks get standbys). */
  stateful: boolean;
}

/** What a member says in its subscription. */
export interface StreamsSubscriptionInfo {
  /** Format version (1). */
  v: number;
  /** `application.server` (`host:port`), or `null`. */
  host: string | null;
  /** Tasks it ran as active. */
  active: string[];
  /** Sum of the changelog positions of each task whose state it holds. */
  sums: Record<string, number>;
}

/** What a member gets in its assignment. */
export interface StreamsAssignmentInfo {
  /** Format version (1). */
  v: number;
  /** Its active tasks. */
  active: string[];
  /** Its standby tasks. */
  standby: string[];
  /** Every advertised host's tasks. */
  hosts: Record<string, { active: string[]; standby: string[] }>;
  /** Tasks (= partitions) per sub-topology id. */
  tasks: Record<string, number>;
}

/** A member for {@linkcode assignTasks}. */
export interface TaskMember {
  /** Member id. */
  id: string;
  /** Tasks it ran as active. */
  active: string[];
  /** Offset sums of the task copies it holds. */
  sums: Record<string, number>;
}

/** The result of {@linkcode assignTasks}. */
export interface TaskAssignment {
  /** Active task ids per member id. */
  active: Map<string, string[]>;
  /** Standby task ids per member id. */
  standby: Map<string, string[]>;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Encodes a subscription's user data.
 *
 * @param info The member's host, previous active tasks and offset sums.
 * @returns The bytes.
 */
export function encodeSubscriptionInfo(info: StreamsSubscriptionInfo): Uint8Array {
  return encoder.encode(JSON.stringify(info));
}

/**
 * Decodes a subscription's user data; missing or unreadable data is a member with nothing.
 *
 * @param bytes The bytes, or `null`.
 * @returns The info.
 */
export function decodeSubscriptionInfo(
  bytes: Uint8Array | null | undefined,
): StreamsSubscriptionInfo {
  const empty: StreamsSubscriptionInfo = { v: 1, host: null, active: [], sums: {} };
  if (!bytes || bytes.length === 0) return empty;
  try {
    const o = JSON.parse(decoder.decode(bytes));
    return {
      v: Number(o.v) || 1,
      host: typeof o.host === "string" ? o.host : null,
      active: Array.isArray(o.active) ? o.active.filter((t: unknown) => typeof t === "string") : [],
      sums: o.sums !== null && typeof o.sums === "object" ? o.sums : {},
    };
  } catch {
    return empty;
  }
}

/**
 * Decodes an assignment's user data.
 *
 * @param bytes The bytes, or `null`.
 * @returns The info, or `undefined` when absent.
 * @throws {Error} If the bytes are not this assignor's format.
 */
export function decodeAssignmentInfo(
  bytes: Uint8Array | null | undefined,
): StreamsAssignmentInfo | undefined {
  if (!bytes || bytes.length === 0) return undefined;
  let o;
  try {
    o = JSON.parse(decoder.decode(bytes));
  } catch (e) {
    throw new Error(`streams: unreadable assignment user data: ${e}`);
  }
  if (o?.v !== 1) throw new Error(`streams: unsupported assignment user data version ${o?.v}`);
  return o as StreamsAssignmentInfo;
}

function byId(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Task ids in order of sub-topology, then partition. */
function compareTasks(a: string, b: string): number {
  const [as, ap] = a.split("_").map(Number);
  const [bs, bp] = b.split("_").map(Number);
  return as - bs || ap - bp;
}

/**
 * Places tasks on members (see the module doc): actives balanced and sticky, a stateful task
 * preferring the member with its furthest copy; then `standbys` copies of each stateful task
 * on other members than its active, at most one copy of a task per member.
 *
 * @example
 * ```ts
 * import { assignTasks } from "./assignor.ts";
 * const a = assignTasks(
 *   [{ id: "m1", active: [], sums: {} }, { id: "m2", active: [], sums: { "0_0": 5 } }],
 *   [{ id: "0_0", stateful: true }, { id: "0_1", stateful: true }],
 *   1,
 * );
 * console.log(a.active.get("m2"), a.standby.get("m2")); // ["0_0"] ["0_1"]
 * ```
 *
 * @param members The members (in any order; placement is ordered by member id).
 * @param tasks The tasks.
 * @param standbys `num.standby.replicas`.
 * @returns Active and standby task ids per member.
 */
export function assignTasks(
  members: TaskMember[],
  tasks: Array<{ id: string; stateful: boolean }>,
  standbys: number,
): TaskAssignment {
  const sorted = [...members].sort((a, b) => byId(a.id, b.id));
  const active = new Map<string, string[]>(sorted.map((m) => [m.id, []]));
  const standby = new Map<string, string[]>(sorted.map((m) => [m.id, []]));
  if (sorted.length === 0) return { active, standby };
  const capacity = Math.ceil(tasks.length / sorted.length);
  const previous = new Map<string, string>();
  for (const m of sorted) for (const t of m.active) if (!previous.has(t)) previous.set(t, m.id);
  const sum = (m: TaskMember, t: string) => {
    const s = m.sums[t];
    return typeof s === "number" && s >= 0 ? s : -1;
  };
  const load = (m: TaskMember) => active.get(m.id)!.length;
  const ordered = [...tasks].sort((a, b) =>
    (a.stateful === b.stateful ? 0 : a.stateful ? -1 : 1) || compareTasks(a.id, b.id)
  );
  const owner = new Map<string, string>();
  for (const task of ordered) {
    const candidates = [...sorted].sort((a, b) =>
      (previous.get(task.id) === a.id ? -1 : 0) - (previous.get(task.id) === b.id ? -1 : 0) ||
      (task.stateful ? sum(b, task.id) - sum(a, task.id) : 0) ||
      load(a) - load(b)
    );
    const chosen = candidates.find((m) => load(m) < capacity) ?? candidates[0];
    active.get(chosen.id)!.push(task.id);
    owner.set(task.id, chosen.id);
  }
  // Sticky choices can leave a member two behind another: move tasks from the most to the
  // least loaded, stateless ones first, then the one the receiver holds the furthest copy of.
  const statefulIds = new Set(tasks.filter((t) => t.stateful).map((t) => t.id));
  for (;;) {
    const byLoad = [...sorted].sort((a, b) => load(a) - load(b));
    const low = byLoad[0];
    const high = byLoad[byLoad.length - 1];
    if (load(high) - load(low) <= 1) break;
    const from = active.get(high.id)!;
    const pick = [...from].sort((a, b) =>
      (statefulIds.has(a) ? 1 : 0) - (statefulIds.has(b) ? 1 : 0) || sum(low, b) - sum(low, a)
    )[0];
    from.splice(from.indexOf(pick), 1);
    active.get(low.id)!.push(pick);
    owner.set(pick, low.id);
  }
  for (const task of ordered) {
    if (!task.stateful) continue;
    const holders = new Set([owner.get(task.id)!]);
    for (let r = 0; r < standbys; r++) {
      const candidates = sorted.filter((m) => !holders.has(m.id)).sort((a, b) =>
        load(a) + standby.get(a.id)!.length - load(b) - standby.get(b.id)!.length ||
        sum(b, task.id) - sum(a, task.id)
      );
      // Fewer members than copies: the rest of the standbys are not placed (as Kafka).
      if (candidates.length === 0) break;
      standby.get(candidates[0].id)!.push(task.id);
      holders.add(candidates[0].id);
    }
  }
  // Greedy choices can leave a member two tasks behind another: move standbys from the most to
  // the least loaded member while one can go there (not a task it already holds).
  const total = (m: TaskMember) => load(m) + standby.get(m.id)!.length;
  const holds = (m: TaskMember, t: string) =>
    active.get(m.id)!.includes(t) || standby.get(m.id)!.includes(t);
  for (let moves = 0; moves < tasks.length * (standbys + 1); moves++) {
    const byTotal = [...sorted].sort((a, b) => total(a) - total(b));
    let moved = false;
    for (const low of byTotal) {
      for (const high of [...byTotal].reverse()) {
        if (total(high) - total(low) <= 1) break;
        const t = standby.get(high.id)!.find((x) => !holds(low, x));
        if (t === undefined) continue;
        standby.get(high.id)!.splice(standby.get(high.id)!.indexOf(t), 1);
        standby.get(low.id)!.push(t);
        moved = true;
        break;
      }
      if (moved) break;
    }
    if (!moved) break;
  }
  for (const list of [...active.values(), ...standby.values()]) list.sort(compareTasks);
  return { active, standby };
}

/**
 * Kafka Streams' assignor for the group consumer: the protocol `stream`, user data in both
 * directions (see the module doc).
 */
export class StreamsAssignor implements Assignor {
  /** The protocol name (Kafka's `StreamsPartitionAssignor` uses `stream`). */
  readonly name = "stream";
  #subs: AssignorSubtopology[];
  #standbys: number;
  #info: () => StreamsSubscriptionInfo;

  /**
   * @param subs The sub-topologies (source topics by full name).
   * @param standbys `num.standby.replicas`.
   * @param info This member's subscription info, asked at each join.
   */
  constructor(subs: AssignorSubtopology[], standbys: number, info: () => StreamsSubscriptionInfo) {
    this.#subs = subs;
    this.#standbys = standbys;
    this.#info = info;
  }

  /** This member's subscription user data. */
  subscriptionUserData(): Uint8Array {
    return encodeSubscriptionInfo(this.#info());
  }

  /** The partitions only (the group consumer uses {@linkcode assignWithUserData}). */
  assign(
    members: AssignorMember[],
    counts: ReadonlyMap<string, number>,
  ): Map<string, MemberAssignment> {
    return new Map(
      [...this.assignWithUserData(members, counts)].map(([m, a]) => [m, a.partitions]),
    );
  }

  /** Every member's tasks as partitions, with the assignment info. */
  assignWithUserData(
    members: AssignorMember[],
    counts: ReadonlyMap<string, number>,
  ): Map<string, { partitions: MemberAssignment; userData: Uint8Array }> {
    const infos = new Map(members.map((m) => [m.memberId, decodeSubscriptionInfo(m.userData)]));
    const tasks: Array<{ id: string; stateful: boolean }> = [];
    const taskCounts: Record<string, number> = {};
    const topicsOf = new Map<string, string[][]>();
    for (const s of this.#subs) {
      const n = Math.max(0, ...s.topics.map((t) => counts.get(t) ?? 0));
      taskCounts[s.id] = n;
      for (let p = 0; p < n; p++) {
        const id = `${s.id}_${p}`;
        tasks.push({ id, stateful: s.stateful });
        topicsOf.set(id, [s.topics.filter((t) => (counts.get(t) ?? 0) > p)]);
      }
    }
    const result = assignTasks(
      members.map((m) => ({
        id: m.memberId,
        active: infos.get(m.memberId)!.active,
        sums: infos.get(m.memberId)!.sums,
      })),
      tasks,
      this.#standbys,
    );
    const hosts: StreamsAssignmentInfo["hosts"] = {};
    for (const m of members) {
      const host = infos.get(m.memberId)!.host;
      if (host === null) continue;
      hosts[host] = {
        active: result.active.get(m.memberId) ?? [],
        standby: result.standby.get(m.memberId) ?? [],
      };
    }
    const out = new Map<string, { partitions: MemberAssignment; userData: Uint8Array }>();
    for (const m of members) {
      const activeTasks = result.active.get(m.memberId) ?? [];
      const byTopic = new Map<string, number[]>();
      for (const t of activeTasks) {
        const p = Number(t.split("_")[1]);
        for (const topic of topicsOf.get(t)![0]) {
          let list = byTopic.get(topic);
          if (list === undefined) byTopic.set(topic, list = []);
          list.push(p);
        }
      }
      const info: StreamsAssignmentInfo = {
        v: 1,
        active: activeTasks,
        standby: result.standby.get(m.memberId) ?? [],
        hosts,
        tasks: taskCounts,
      };
      out.set(m.memberId, {
        partitions: [...byTopic].map(([topic, partitions]) => ({ topic, partitions })),
        userData: encoder.encode(JSON.stringify(info)),
      });
    }
    return out;
  }
}
