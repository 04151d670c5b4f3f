/**
 * Partition assignors of the classic consumer group protocol, computing exactly what the Java
 * client's `RangeAssignor` and `RoundRobinAssignor` compute (without rack awareness) for the same
 * members, subscriptions and partition counts, plus the consumer-protocol encoding of
 * subscriptions and assignments (an int16 version, then the struct).
 *
 * @module
 */

import {
  ConsumerProtocolAssignment,
  ConsumerProtocolSubscription,
} from "../protocol/messages/consumer_protocol.ts";
import { Reader, Writer } from "../protocol/primitives.ts";

/** A group member as the leader sees it in the JoinGroup response. */
export interface AssignorMember {
  /** Member id. */
  memberId: string;
  /** `group.instance.id` of a static member, or `null`. */
  groupInstanceId?: string | null;
  /** Subscribed topics. */
  topics: string[];
  /** Partitions the member owns (subscription version 1+; sticky assignors use them). */
  ownedPartitions?: MemberAssignment;
  /** The generation the member owned them in (version 2+; -1 when unknown). */
  generationId?: number;
  /** The subscription's user data (an assignor's own, e.g. Kafka Streams'), or `null`. */
  userData?: Uint8Array | null;
}

/** One member's assignment with the assignor's user data (Kafka's `Assignment.userData`). */
export interface AssignmentWithUserData {
  /** Topic-partitions. */
  partitions: MemberAssignment;
  /** User data sent with them, or `null`. */
  userData: Uint8Array | null;
}

/** Topic-partitions assigned to one member, grouped by topic. */
export type MemberAssignment = Array<{ topic: string; partitions: number[] }>;

/**
 * A partition assignor: a name (the JoinGroup protocol name) and the assignment function.
 */
export interface Assignor {
  /** Protocol name, e.g. `range`. */
  readonly name: string;
  /** Whether it supports the cooperative (incremental) rebalance protocol. */
  readonly cooperative?: boolean;
  /**
   * Computes every member's assignment.
   *
   * @param members The members and their subscriptions.
   * @param partitionCounts Partition count per topic; topics missing here are not assigned.
   * @returns The assignment per member id (every member present, possibly with nothing).
   */
  assign(
    members: AssignorMember[],
    partitionCounts: ReadonlyMap<string, number>,
  ): Map<string, MemberAssignment>;
  /** User data to put in this member's subscription (an assignor's own format). */
  subscriptionUserData?(): Uint8Array | null;
  /**
   * Computes every member's assignment with user data; when present, used instead of
   * {@linkcode Assignor.assign}.
   */
  assignWithUserData?(
    members: AssignorMember[],
    partitionCounts: ReadonlyMap<string, number>,
  ): Map<string, AssignmentWithUserData>;
}

/** Java's `MemberInfo` order: static members by instance id first, then by member id. */
function compareMembers(a: AssignorMember, b: AssignorMember): number {
  const ai = a.groupInstanceId ?? null;
  const bi = b.groupInstanceId ?? null;
  if (ai !== null && bi !== null) return ai < bi ? -1 : ai > bi ? 1 : 0;
  if (ai !== null) return -1;
  if (bi !== null) return 1;
  return a.memberId < b.memberId ? -1 : a.memberId > b.memberId ? 1 : 0;
}

function group(pairs: Array<[string, number]>): MemberAssignment {
  const out: MemberAssignment = [];
  for (const [topic, partition] of pairs) {
    let entry = out.find((e) => e.topic === topic);
    if (!entry) out.push(entry = { topic, partitions: [] });
    entry.partitions.push(partition);
  }
  return out;
}

/**
 * Java's `RangeAssignor`: per topic, the subscribed members in order each take a contiguous
 * range; the first `partitions % members` members take one extra.
 *
 * @example
 * ```ts
 * import { rangeAssignor } from "./assignors.ts";
 * const a = rangeAssignor.assign(
 *   [{ memberId: "c0", topics: ["t"] }, { memberId: "c1", topics: ["t"] }],
 *   new Map([["t", 3]]),
 * );
 * console.log(a.get("c0")); // [{ topic: "t", partitions: [0, 1] }]
 * ```
 */
export const rangeAssignor: Assignor = {
  name: "range",
  assign(members, partitionCounts) {
    const pairs = new Map<string, Array<[string, number]>>(members.map((m) => [m.memberId, []]));
    const topics = [...new Set(members.flatMap((m) => m.topics))].sort();
    for (const topic of topics) {
      const n = partitionCounts.get(topic);
      if (n === undefined) continue;
      const consumers = members.filter((m) => m.topics.includes(topic)).sort(compareMembers);
      const per = Math.floor(n / consumers.length);
      const extra = n % consumers.length;
      consumers.forEach((m, i) => {
        const start = per * i + Math.min(i, extra);
        const length = per + (i + 1 > extra ? 0 : 1);
        for (let p = start; p < start + length; p++) pairs.get(m.memberId)!.push([topic, p]);
      });
    }
    return new Map([...pairs].map(([id, ps]) => [id, group(ps)]));
  },
};

/**
 * Java's `RoundRobinAssignor`: every partition of every subscribed topic, sorted by topic then
 * partition, dealt in turn to the members (in order) skipping members not subscribed to it.
 *
 * @example
 * ```ts
 * import { roundRobinAssignor } from "./assignors.ts";
 * const a = roundRobinAssignor.assign(
 *   [{ memberId: "c0", topics: ["t"] }, { memberId: "c1", topics: ["t"] }],
 *   new Map([["t", 3]]),
 * );
 * console.log(a.get("c0")); // [{ topic: "t", partitions: [0, 2] }]
 * ```
 */
export const roundRobinAssignor: Assignor = {
  name: "roundrobin",
  assign(members, partitionCounts) {
    const pairs = new Map<string, Array<[string, number]>>(members.map((m) => [m.memberId, []]));
    const sorted = [...members].sort(compareMembers);
    const topics = [...new Set(members.flatMap((m) => m.topics))].sort();
    let next = 0;
    for (const topic of topics) {
      const n = partitionCounts.get(topic) ?? 0;
      for (let p = 0; p < n; p++) {
        while (!sorted[next % sorted.length].topics.includes(topic)) next++;
        pairs.get(sorted[next % sorted.length].memberId)!.push([topic, p]);
        next++;
      }
    }
    return new Map([...pairs].map(([id, ps]) => [id, group(ps)]));
  },
};

/**
 * A sticky, balanced assignor for the cooperative rebalance protocol, under the Java client's
 * protocol name `cooperative-sticky` (our own algorithm: balanced and sticky like Java's, but
 * not guaranteed to pick the same partitions).
 *
 * Valid owned partitions (claimed by a member still subscribed to the topic; the highest
 * generation wins a double claim) stay put; the rest go, in topic/partition order, to the
 * eligible member with the fewest; then single partitions move from a member with at least two
 * more than an eligible member until none can. A partition that changes owner is left out of
 * this round (its owner revokes it and rejoins; the next round hands it over), as the
 * cooperative protocol requires.
 *
 * @example
 * ```ts
 * import { cooperativeStickyAssignor } from "./assignors.ts";
 * const a = cooperativeStickyAssignor.assign(
 *   [
 *     { memberId: "a", topics: ["t"], ownedPartitions: [{ topic: "t", partitions: [0, 1, 2] }] },
 *     { memberId: "b", topics: ["t"] },
 *   ],
 *   new Map([["t", 3]]),
 * );
 * console.log(a.get("a"), a.get("b")); // [t: 0, 1], [] (t-2 moves to b in the next round)
 * ```
 */
export const cooperativeStickyAssignor: Assignor = {
  name: "cooperative-sticky",
  cooperative: true,
  assign(members, partitionCounts) {
    const sorted = [...members].sort(compareMembers);
    const key = (t: string, p: number) => `${t}\u0000${p}`;
    const all: Array<[string, number]> = [];
    for (const topic of [...new Set(members.flatMap((m) => m.topics))].sort()) {
      for (let p = 0; p < (partitionCounts.get(topic) ?? 0); p++) all.push([topic, p]);
    }
    const exists = new Set(all.map(([t, p]) => key(t, p)));
    // Previous owners: highest generation wins; equal claims void each other.
    const owner = new Map<string, { memberId: string; generation: number } | null>();
    for (const m of sorted) {
      const generation = m.generationId ?? -1;
      for (const o of m.ownedPartitions ?? []) {
        if (!m.topics.includes(o.topic)) continue;
        for (const p of o.partitions) {
          const k = key(o.topic, p);
          if (!exists.has(k)) continue;
          const prev = owner.get(k);
          if (prev === undefined || (prev !== null && generation > prev.generation)) {
            owner.set(k, { memberId: m.memberId, generation });
          } else if (prev !== null && generation === prev.generation) owner.set(k, null);
        }
      }
    }
    const held = new Map<string, Array<[string, number]>>(sorted.map((m) => [m.memberId, []]));
    const byId = new Map(sorted.map((m) => [m.memberId, m]));
    const count = (id: string) => held.get(id)!.length;
    const free: Array<[string, number]> = [];
    for (const [t, p] of all) {
      const o = owner.get(key(t, p));
      if (o) held.get(o.memberId)!.push([t, p]);
      else free.push([t, p]);
    }
    for (const [t, p] of free) {
      let best: AssignorMember | undefined;
      for (const m of sorted) {
        if (m.topics.includes(t) && (!best || count(m.memberId) < count(best.memberId))) best = m;
      }
      held.get(best!.memberId)!.push([t, p]);
    }
    // Balance: move one partition at a time from the fullest possible giver.
    for (let moved = true; moved;) {
      moved = false;
      for (const giver of [...sorted].sort((a, b) => count(b.memberId) - count(a.memberId))) {
        const mine = held.get(giver.memberId)!;
        for (let i = mine.length - 1; i >= 0 && !moved; i--) {
          const [t, p] = mine[i];
          const taker = sorted.find((m) =>
            m.topics.includes(t) && count(m.memberId) + 1 < mine.length
          );
          if (taker) {
            mine.splice(i, 1);
            held.get(taker.memberId)!.push([t, p]);
            moved = true;
          }
        }
        if (moved) break;
      }
    }
    const out = new Map<string, MemberAssignment>();
    for (const [id, pairs] of held) {
      const kept = pairs.filter(([t, p]) => {
        const o = owner.get(key(t, p));
        return !o || o.memberId === id || !byId.has(o.memberId);
      }).sort((a, b) => a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] - b[1]);
      out.set(id, group(kept));
    }
    return out;
  },
};

/** The assignors by protocol name. */
export const ASSIGNORS: Readonly<Record<string, Assignor>> = {
  range: rangeAssignor,
  roundrobin: roundRobinAssignor,
  "cooperative-sticky": cooperativeStickyAssignor,
};

/** A decoded consumer-protocol subscription. */
export interface DecodedSubscription {
  /** The version written before the struct. */
  version: number;
  /** Subscribed topics. */
  topics: string[];
  /** User data, or `null`. */
  userData: Uint8Array | null;
  /** Partitions the member owned (version 1+). */
  ownedPartitions: MemberAssignment;
  /** The member's last generation (version 2+, else -1). */
  generationId: number;
}

/**
 * Encodes a subscription as Kafka's consumer does (int16 version, then the struct).
 *
 * @param topics Subscribed topics.
 * @param options Version (0-3, default 3), owned partitions and generation (versions 1+/2+).
 * @returns The JoinGroup protocol metadata.
 * @throws {RangeError} On a version outside 0-3.
 */
export function encodeSubscription(
  topics: string[],
  options: {
    version?: number;
    ownedPartitions?: MemberAssignment;
    generationId?: number;
    userData?: Uint8Array | null;
  } = {},
): Uint8Array {
  const version = options.version ?? 3;
  if (!(version >= 0 && version <= 3)) {
    throw new RangeError(`encode subscription: unsupported version ${version} (0-3)`);
  }
  const w = new Writer();
  w.writeInt16(version);
  ConsumerProtocolSubscription.write(
    w,
    ConsumerProtocolSubscription.create({
      topics,
      userData: options.userData ?? null,
      ownedPartitions: version >= 1 ? (options.ownedPartitions ?? []) : [],
      generationId: version >= 2 ? (options.generationId ?? -1) : -1,
    }),
    version,
  );
  return w.finish();
}

/**
 * Decodes JoinGroup protocol metadata; versions above 3 are read as version 3 (Kafka's rule:
 * newer versions only append fields), and metadata that claims a version but holds only the
 * version-0 fields is read as version 0.
 *
 * @param bytes The metadata.
 * @returns The subscription.
 * @throws {ProtocolError} If the bytes are malformed.
 */
export function decodeSubscription(bytes: Uint8Array): DecodedSubscription {
  const r = new Reader(bytes);
  const version = r.readInt16();
  let s;
  try {
    s = ConsumerProtocolSubscription.read(r, Math.min(Math.max(version, 0), 3));
  } catch (e) {
    // Some clients write a version but only the version-0 fields: read those.
    if (version <= 0) throw e;
    const r0 = new Reader(bytes, 2);
    s = ConsumerProtocolSubscription.read(r0, 0);
  }
  return {
    version,
    topics: s.topics,
    userData: s.userData,
    ownedPartitions: s.ownedPartitions.map((t) => ({ topic: t.topic, partitions: t.partitions })),
    generationId: s.generationId,
  };
}

/**
 * Encodes an assignment (int16 version, then the struct).
 *
 * @param assignment Topic-partitions.
 * @param version Version 0-3 (default 0; the layout is the same in every version).
 * @param userData The assignor's user data, or `null`.
 * @returns The SyncGroup assignment bytes.
 * @throws {RangeError} On a version outside 0-3.
 */
export function encodeAssignment(
  assignment: MemberAssignment,
  version = 0,
  userData: Uint8Array | null = null,
): Uint8Array {
  if (!(version >= 0 && version <= 3)) {
    throw new RangeError(`encode assignment: unsupported version ${version} (0-3)`);
  }
  const w = new Writer();
  w.writeInt16(version);
  ConsumerProtocolAssignment.write(
    w,
    ConsumerProtocolAssignment.create({
      assignedPartitions: assignment.map((a) => ({ topic: a.topic, partitions: a.partitions })),
      userData,
    }),
    version,
  );
  return w.finish();
}

/**
 * Decodes a SyncGroup assignment; empty bytes are an empty assignment.
 *
 * @param bytes The assignment bytes.
 * @returns Topic-partitions.
 * @throws {ProtocolError} If the bytes are malformed.
 */
export function decodeAssignment(bytes: Uint8Array): MemberAssignment {
  if (bytes.length === 0) return [];
  const r = new Reader(bytes);
  const version = r.readInt16();
  const a = ConsumerProtocolAssignment.read(r, Math.min(Math.max(version, 0), 3));
  return a.assignedPartitions.map((t) => ({ topic: t.topic, partitions: t.partitions }));
}

/**
 * The user data of a SyncGroup assignment (`null` when empty or absent).
 *
 * @param bytes The assignment bytes.
 * @returns The assignor's user data.
 * @throws {ProtocolError} If the bytes are malformed.
 */
export function decodeAssignmentUserData(bytes: Uint8Array): Uint8Array | null {
  if (bytes.length === 0) return null;
  const r = new Reader(bytes);
  const version = r.readInt16();
  return ConsumerProtocolAssignment.read(r, Math.min(Math.max(version, 0), 3)).userData;
}
