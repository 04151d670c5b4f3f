// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * A consumer-protocol group (KIP-848, `group.protocol=consumer`): Kafka's `ConsumerGroup`,
 * `ConsumerGroupMember`, `CurrentAssignmentBuilder` and the server-side assignors (`uniform`,
 * `range`). No timers and no I/O: the coordinator (`coordinator.ts`) drives it from
 * ConsumerGroupHeartbeat and its session and rebalance timers.
 *
 * The group epoch is bumped when a member joins, leaves or changes its subscription or assignor,
 * or when the subscribed topics' partition counts change. Then the target assignment is
 * recomputed (assignment epoch = group epoch) and each member reconciles towards its target at
 * its own heartbeats: it first revokes what it must give up (state `unrevoked_partitions`, its
 * epoch unchanged), then gets the target epoch and every target partition no other member still
 * holds (`stable`), or those free so far (`unreleased_partitions`) until the others release
 * theirs. A partition is so never held by two members at once.
 *
 * @module
 */

/** Partitions by topic id. */
export type TopicPartitions = Map<string, Set<number>>;

/** A subscribed topic as the group last saw it. */
export interface SubscribedTopic {
  /** Topic id (base64 uuid). */
  readonly id: string;
  /** Topic name. */
  readonly name: string;
  /** Partition count. */
  readonly partitions: number;
}

/** Looks a topic up by name: its id and partition count, or `undefined` when it does not exist. */
export type TopicLookup = (name: string) => SubscribedTopic | undefined;

/** What a subscribed regex resolved to (Kafka's `ResolvedRegularExpression`). */
export interface ResolvedRegex {
  /** The matching topic names, sorted. */
  readonly topics: readonly string[];
  /** The group epoch when it was resolved (Kafka: the metadata image offset). */
  readonly version: number;
  /** When it was resolved (ms). */
  readonly timestamp: number;
}

/** A member's reconciliation state (Kafka's `MemberState`). */
export type MemberState = "stable" | "unrevoked_partitions" | "unreleased_partitions";

/** A consumer group's state as ListGroups and ConsumerGroupDescribe report it. */
export type ConsumerGroupState = "Empty" | "Assigning" | "Reconciling" | "Stable";

/** The server-side assignors, the default first (`group.consumer.assignors`). */
export const CONSUMER_GROUP_ASSIGNORS: readonly string[] = Object.freeze(["uniform", "range"]);

/** Member epoch of a leaving member (ConsumerGroupHeartbeat). */
export const LEAVE_GROUP_MEMBER_EPOCH = -1;
/** Member epoch of a static member leaving for a while (ConsumerGroupHeartbeat). */
export const LEAVE_GROUP_STATIC_MEMBER_EPOCH = -2;

/** One member of a consumer group. */
export class ConsumerGroupMember {
  /** Member id. */
  memberId: string;
  /** Static instance id, or `null`. */
  instanceId: string | null = null;
  /** Rack id, or `null`. */
  rackId: string | null = null;
  /** Client id. */
  clientId = "";
  /** Client host (`/127.0.0.1`). */
  clientHost = "";
  /** Subscribed topic names, sorted. */
  subscribedTopicNames: string[] = [];
  /** Subscribed topic regex (RE2J syntax, `topic_regex.ts`), or `null`. */
  subscribedTopicRegex: string | null = null;
  /** The server assignor the member asked for, or `null`. */
  serverAssignor: string | null = null;
  /** How long the member may take to revoke partitions (ms). */
  rebalanceTimeoutMs = 0;
  /** The member's epoch. */
  memberEpoch = 0;
  /** Its epoch before the last bump. */
  previousMemberEpoch = -1;
  /** Reconciliation state. */
  state: MemberState = "stable";
  /** Partitions it owns (sent to it). */
  assigned: TopicPartitions = new Map();
  /** Partitions it must revoke (still its own until it says they are gone). */
  pendingRevocation: TopicPartitions = new Map();
  /** Cancels the session timer. */
  sessionTimer: (() => void) | null = null;
  /** Cancels the rebalance (revocation) timer. */
  rebalanceTimer: (() => void) | null = null;
  /** The metadata last written to `__consumer_offsets` (its JSON), or `null`. */
  storedMetadata: string | null = null;
  /** The current assignment last written to `__consumer_offsets` (its JSON), or `null`. */
  storedAssignment: string | null = null;

  /**
   * Creates a member with epoch 0 and nothing assigned.
   *
   * @param memberId The member id.
   */
  constructor(memberId: string) {
    this.memberId = memberId;
  }
}

/** Copies partitions by topic. */
export function copyPartitions(p: TopicPartitions): TopicPartitions {
  const out: TopicPartitions = new Map();
  for (const [t, s] of p) out.set(t, new Set(s));
  return out;
}

/** Whether two partition maps hold the same partitions. */
export function samePartitions(a: TopicPartitions, b: TopicPartitions): boolean {
  const size = (m: TopicPartitions) => [...m.values()].reduce((n, s) => n + s.size, 0);
  if (size(a) !== size(b)) return false;
  for (const [t, s] of a) {
    const o = b.get(t);
    if (o === undefined) return s.size === 0;
    for (const p of s) if (!o.has(p)) return false;
  }
  return true;
}

/** Partitions as a plain sorted list, for responses and tests. */
export function partitionList(p: TopicPartitions): { topicId: string; partitions: number[] }[] {
  return [...p.entries()]
    .filter(([, s]) => s.size > 0)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([topicId, s]) => ({ topicId, partitions: [...s].sort((x, y) => x - y) }));
}

/** A partition list (owned partitions of a heartbeat) as a map. */
export function partitionsOf(list: { topicId: string; partitions: number[] }[]): TopicPartitions {
  const out: TopicPartitions = new Map();
  for (const t of list) {
    let s = out.get(t.topicId);
    if (s === undefined) out.set(t.topicId, s = new Set());
    for (const p of t.partitions) s.add(p);
  }
  return out;
}

/** A member's subscription, as the assignors see it. */
export interface AssignmentSpecMember {
  /** Member id. */
  memberId: string;
  /** Subscribed topic ids (existing topics only). */
  topics: Set<string>;
  /** Its current target assignment (stickiness). */
  current: TopicPartitions;
}

/**
 * Computes a target assignment.
 *
 * @param assignor `uniform` or `range`.
 * @param members The members (any order).
 * @param topics The subscribed topics by id.
 * @returns Each member's partitions.
 */
export function assign(
  assignor: string,
  members: AssignmentSpecMember[],
  topics: Map<string, SubscribedTopic>,
): Map<string, TopicPartitions> {
  const sorted = [...members].sort((a, b) => (a.memberId < b.memberId ? -1 : 1));
  return assignor === "range" ? rangeAssign(sorted, topics) : uniformAssign(sorted, topics);
}

/**
 * Kafka's server-side `range` assignor: for each topic, its subscribers sorted by member id
 * get consecutive ranges; the first `partitions % subscribers` get one more.
 */
function rangeAssign(
  members: AssignmentSpecMember[],
  topics: Map<string, SubscribedTopic>,
): Map<string, TopicPartitions> {
  const out = new Map<string, TopicPartitions>(members.map((m) => [m.memberId, new Map()]));
  for (const [id, t] of topics) {
    const subs = members.filter((m) => m.topics.has(id));
    if (subs.length === 0) continue;
    const per = Math.floor(t.partitions / subs.length);
    const extra = t.partitions % subs.length;
    let next = 0;
    subs.forEach((m, i) => {
      const n = per + (i < extra ? 1 : 0);
      if (n === 0) return;
      const s = new Set<number>();
      for (let p = next; p < next + n; p++) s.add(p);
      next += n;
      out.get(m.memberId)!.set(id, s);
    });
  }
  return out;
}

/**
 * Kafka's `uniform` assignor: a balanced and sticky assignment. When every member subscribes
 * to the same topics (Kafka's `OptimizedUniformAssignmentBuilder`), each gets
 * `floor(P / M)` or one more partitions, keeping as many of its current ones as that allows.
 * Otherwise (`GeneralUniformAssignmentBuilder`) each partition keeps its owner when still
 * subscribed, the rest go to the least loaded subscriber, then partitions move from the most to
 * the least loaded subscriber while that narrows the gap.
 */
function uniformAssign(
  members: AssignmentSpecMember[],
  topics: Map<string, SubscribedTopic>,
): Map<string, TopicPartitions> {
  const out = new Map<string, TopicPartitions>(members.map((m) => [m.memberId, new Map()]));
  if (members.length === 0) return out;
  const counts = new Map<string, number>(members.map((m) => [m.memberId, 0]));
  const give = (memberId: string, topicId: string, p: number) => {
    const a = out.get(memberId)!;
    let s = a.get(topicId);
    if (s === undefined) a.set(topicId, s = new Set());
    s.add(p);
    counts.set(memberId, counts.get(memberId)! + 1);
  };
  // every partition of a subscribed topic, in topic name then partition order
  const all: [string, number][] = [];
  const byName = [...topics.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
  for (const t of byName) {
    if (!members.some((m) => m.topics.has(t.id))) continue;
    for (let p = 0; p < t.partitions; p++) all.push([t.id, p]);
  }
  const taken = new Set<string>();
  const key = (t: string, p: number) => `${t}:${p}`;
  const first = members[0].topics;
  const homogeneous = members.every((m) =>
    m.topics.size === first.size && [...m.topics].every((t) => first.has(t))
  );
  if (homogeneous) {
    const min = Math.floor(all.length / members.length);
    let extra = all.length % members.length;
    const valid = (t: string, p: number) => first.has(t) && p < (topics.get(t)?.partitions ?? 0);
    // keep up to `min` current partitions; one more while extra slots remain
    const overflow: [string, string, number][] = [];
    for (const m of members) {
      for (const t of [...m.current.keys()].sort()) {
        for (const p of [...m.current.get(t)!].sort((a, b) => a - b)) {
          if (!valid(t, p) || taken.has(key(t, p))) continue;
          if (counts.get(m.memberId)! < min) {
            give(m.memberId, t, p);
            taken.add(key(t, p));
          } else overflow.push([m.memberId, t, p]);
        }
      }
    }
    for (const [memberId, t, p] of overflow) {
      if (extra === 0) break;
      if (counts.get(memberId)! !== min || taken.has(key(t, p))) continue;
      give(memberId, t, p);
      taken.add(key(t, p));
      extra--;
    }
    // the rest, to members below their quota
    let i = 0;
    for (const [t, p] of all) {
      if (taken.has(key(t, p))) continue;
      for (;; i = (i + 1) % members.length) {
        const m = members[i];
        const c = counts.get(m.memberId)!;
        if (c < min || (c === min && extra > 0)) {
          if (c === min) extra--;
          give(m.memberId, t, p);
          taken.add(key(t, p));
          i = (i + 1) % members.length;
          break;
        }
      }
    }
    return out;
  }
  const owner = new Map<string, string>();
  for (const m of members) {
    for (const [t, s] of m.current) for (const p of s) owner.set(key(t, p), m.memberId);
  }
  const byId = new Map(members.map((m) => [m.memberId, m]));
  const subscribers = (t: string) => members.filter((m) => m.topics.has(t));
  for (const [t, p] of all) {
    const o = owner.get(key(t, p));
    if (o !== undefined && byId.get(o)!.topics.has(t) && p < topics.get(t)!.partitions) {
      give(o, t, p);
      taken.add(key(t, p));
    }
  }
  for (const [t, p] of all) {
    if (taken.has(key(t, p))) continue;
    const subs = subscribers(t);
    const least = subs.reduce((
      a,
      b,
    ) => (counts.get(b.memberId)! < counts.get(a.memberId)! ? b : a));
    give(least.memberId, t, p);
    taken.add(key(t, p));
  }
  // move partitions from loaded members to lighter subscribers while the gap exceeds one
  for (let moves = 0; moves < all.length * members.length; moves++) {
    let moved = false;
    for (const [t, p] of all) {
      const from = [...out.entries()].find(([, a]) => a.get(t)?.has(p))?.[0];
      if (from === undefined) continue;
      const to = subscribers(t).reduce((a, b) =>
        counts.get(b.memberId)! < counts.get(a.memberId)! ? b : a
      );
      if (counts.get(from)! - counts.get(to.memberId)! > 1) {
        out.get(from)!.get(t)!.delete(p);
        counts.set(from, counts.get(from)! - 1);
        give(to.memberId, t, p);
        moved = true;
        break;
      }
    }
    if (!moved) break;
  }
  for (const a of out.values()) for (const [t, s] of a) if (s.size === 0) a.delete(t);
  return out;
}

/** One consumer-protocol group. */
export class ConsumerGroup {
  /** Group id. */
  readonly groupId: string;
  /** Bumped by membership, subscription and metadata changes. */
  groupEpoch = 0;
  /** The group epoch the target assignment was computed for. */
  assignmentEpoch = 0;
  /** Members by id. */
  readonly members = new Map<string, ConsumerGroupMember>();
  /** Target assignment by member id. */
  readonly target = new Map<string, TopicPartitions>();
  /** The subscribed topics as last seen, by name. */
  subscriptionMetadata = new Map<string, SubscribedTopic>();
  /**
   * Loaded from the log without its members (they are not stored): until the session timeout
   * has passed, every partition not held by a member that joined since counts as still held by
   * a member from before, which may not have heard yet that it must rejoin.
   */
  recovering = false;
  /** Cancels the end of {@linkcode ConsumerGroup.recovering}. */
  recoveryTimer: (() => void) | null = null;
  /** The group epoch last written to `__consumer_offsets` (-1: none yet). */
  persistedEpoch = -1;
  /** Members removed since their records were written: their tombstones are due. */
  readonly removedStored = new Set<string>();
  /** The members' regexes and the topics each resolved to, by regex. */
  readonly resolvedRegexes = new Map<string, ResolvedRegex>();
  /** When the regexes were last resolved (ms); -Infinity: never. */
  regexesRefreshedAt = -Infinity;
  /** Resolved regexes as last written to `__consumer_offsets` (their JSON), by regex. */
  readonly storedRegexes = new Map<string, string>();
  /** Which member epoch holds each partition (assigned or pending revocation). */
  readonly #partitionEpochs = new Map<string, Map<number, number>>();

  /**
   * Creates an empty group.
   *
   * @param groupId The group id.
   */
  constructor(groupId: string) {
    this.groupId = groupId;
  }

  /** Kafka's `ConsumerGroup.state`. */
  get state(): ConsumerGroupState {
    if (this.members.size === 0) return "Empty";
    if (this.groupEpoch > this.assignmentEpoch) return "Assigning";
    for (const m of this.members.values()) {
      if (m.memberEpoch !== this.assignmentEpoch || m.state !== "stable") return "Reconciling";
    }
    return "Stable";
  }

  /** The epoch of the member holding a partition, or -1 when it is free. */
  currentPartitionEpoch(topicId: string, partition: number): number {
    return this.#partitionEpochs.get(topicId)?.get(partition) ?? (this.recovering ? 0 : -1);
  }

  /** The member id of a static instance, if a member has it. */
  staticMember(instanceId: string): ConsumerGroupMember | undefined {
    for (const m of this.members.values()) if (m.instanceId === instanceId) return m;
    return undefined;
  }

  #addEpochs(m: ConsumerGroupMember): void {
    for (const p of [m.assigned, m.pendingRevocation]) {
      for (const [t, s] of p) {
        let e = this.#partitionEpochs.get(t);
        if (e === undefined) this.#partitionEpochs.set(t, e = new Map());
        for (const i of s) e.set(i, m.memberEpoch);
      }
    }
  }

  #removeEpochs(m: ConsumerGroupMember): void {
    for (const p of [m.assigned, m.pendingRevocation]) {
      for (const [t, s] of p) {
        const e = this.#partitionEpochs.get(t);
        if (e === undefined) continue;
        for (const i of s) e.delete(i);
        if (e.size === 0) this.#partitionEpochs.delete(t);
      }
    }
  }

  /**
   * Adds a member (or replaces the one of the same id), holding what it holds.
   *
   * @param m The member.
   */
  putMember(m: ConsumerGroupMember): void {
    const old = this.members.get(m.memberId);
    if (old !== undefined) this.#removeEpochs(old);
    this.members.set(m.memberId, m);
    this.#addEpochs(m);
  }

  /**
   * Removes a member: its partitions are free, its target is dropped, and the group epoch is
   * bumped (a new target assignment will be computed).
   *
   * @param memberId The member id.
   * @returns Whether it was a member.
   */
  removeMember(memberId: string): boolean {
    const m = this.members.get(memberId);
    if (m === undefined) return false;
    m.sessionTimer?.();
    m.rebalanceTimer?.();
    m.sessionTimer = m.rebalanceTimer = null;
    this.#removeEpochs(m);
    this.members.delete(memberId);
    this.target.delete(memberId);
    if (m.storedMetadata !== null || m.storedAssignment !== null) this.removedStored.add(memberId);
    this.groupEpoch++;
    return true;
  }

  /**
   * Updates a member's held partitions and epoch, keeping the partition epochs right.
   *
   * @param m The member.
   * @param update The new state.
   */
  updateMember(
    m: ConsumerGroupMember,
    update: Pick<ConsumerGroupMember, "state" | "memberEpoch" | "assigned" | "pendingRevocation">,
  ): void {
    this.#removeEpochs(m);
    if (update.memberEpoch !== m.memberEpoch) {
      m.previousMemberEpoch = m.memberEpoch;
      m.memberEpoch = update.memberEpoch;
    }
    m.state = update.state;
    m.assigned = update.assigned;
    m.pendingRevocation = update.pendingRevocation;
    this.#addEpochs(m);
  }

  /** Every topic name some member subscribes to, by name or through its regex. */
  subscribedTopicNames(): Set<string> {
    const names = new Set<string>();
    for (const m of this.members.values()) for (const n of this.memberTopicNames(m)) names.add(n);
    return names;
  }

  /**
   * A member's topics: its names and what its regex resolved to (Kafka's target assignment
   * counts both).
   *
   * @param m The member.
   * @returns The topic names (names first, then the regex's, without repeats).
   */
  memberTopicNames(m: ConsumerGroupMember): string[] {
    const regex = m.subscribedTopicRegex;
    const resolved = regex === null ? undefined : this.resolvedRegexes.get(regex);
    if (resolved === undefined || resolved.topics.length === 0) return m.subscribedTopicNames;
    return [...new Set([...m.subscribedTopicNames, ...resolved.topics])];
  }

  /** The regexes some member subscribes to. */
  subscribedRegexes(): Set<string> {
    const out = new Set<string>();
    for (const m of this.members.values()) {
      if (m.subscribedTopicRegex !== null) out.add(m.subscribedTopicRegex);
    }
    return out;
  }

  /**
   * Resolves the members' regexes against the cluster's topics, as Kafka's
   * `refreshRegularExpressions`: every regex when `all`, else only those not resolved yet;
   * regexes no member subscribes to any more are dropped.
   *
   * @param match Whether a regex matches a topic name (the regex is known valid).
   * @param topics The topics a regex may match (internal topics already left out).
   * @param now The time (ms), kept as the resolution's timestamp.
   * @param all Whether to resolve every regex (the refresh interval has passed).
   * @returns Whether what some regex resolved to changed.
   */
  refreshRegexes(
    match: (regex: string, topic: string) => boolean,
    topics: () => Iterable<string>,
    now: number,
    all: boolean,
  ): boolean {
    const subscribed = this.subscribedRegexes();
    let changed = false;
    for (const r of [...this.resolvedRegexes.keys()]) {
      if (!subscribed.has(r)) this.resolvedRegexes.delete(r);
    }
    const todo = [...subscribed].filter((r) => all || !this.resolvedRegexes.has(r));
    if (todo.length === 0) return false;
    const found = new Map<string, string[]>(todo.map((r) => [r, []]));
    for (const t of topics()) {
      for (const r of todo) if (match(r, t)) found.get(r)!.push(t);
    }
    for (const [r, list] of found) {
      list.sort();
      const old = this.resolvedRegexes.get(r);
      if (old === undefined || old.topics.join("\u0000") !== list.join("\u0000")) changed = true;
      this.resolvedRegexes.set(r, { topics: list, version: this.groupEpoch, timestamp: now });
    }
    if (all) this.regexesRefreshedAt = now;
    return changed;
  }

  /**
   * Re-reads the subscribed topics (ids, partition counts).
   *
   * @param lookup How to find a topic.
   * @returns Whether anything changed (a topic appeared, went or changed its partitions).
   */
  refreshMetadata(lookup: TopicLookup): boolean {
    const next = new Map<string, SubscribedTopic>();
    for (const name of [...this.subscribedTopicNames()].sort()) {
      const t = lookup(name);
      if (t !== undefined && t.partitions > 0) next.set(name, t);
    }
    let changed = next.size !== this.subscriptionMetadata.size;
    if (!changed) {
      for (const [n, t] of next) {
        const o = this.subscriptionMetadata.get(n);
        if (o === undefined || o.id !== t.id || o.partitions !== t.partitions) changed = true;
      }
    }
    this.subscriptionMetadata = next;
    return changed;
  }

  /**
   * The assignor to use: the one most members ask for (ties: by name), else the default.
   *
   * @param defaultAssignor `group.consumer.assignors`' first.
   * @returns The assignor name.
   */
  preferredAssignor(defaultAssignor: string): string {
    const votes = new Map<string, number>();
    for (const m of this.members.values()) {
      if (m.serverAssignor !== null) {
        votes.set(m.serverAssignor, (votes.get(m.serverAssignor) ?? 0) + 1);
      }
    }
    let best = defaultAssignor;
    let bestVotes = 0;
    for (const [name, n] of [...votes].sort(([a], [b]) => (a < b ? -1 : 1))) {
      if (n > bestVotes) [best, bestVotes] = [name, n];
    }
    return best;
  }

  /**
   * Recomputes the target assignment for the group epoch (assignment epoch = group epoch).
   *
   * @param assignor The assignor name.
   */
  computeTargetAssignment(assignor: string): void {
    const byId = new Map<string, SubscribedTopic>();
    for (const t of this.subscriptionMetadata.values()) byId.set(t.id, t);
    const spec: AssignmentSpecMember[] = [...this.members.values()].map((m) => ({
      memberId: m.memberId,
      topics: new Set(
        this.memberTopicNames(m).map((n) => this.subscriptionMetadata.get(n)?.id).filter((
          id,
        ): id is string => id !== undefined),
      ),
      current: this.target.get(m.memberId) ?? new Map(),
    }));
    const result = assign(assignor, spec, byId);
    this.target.clear();
    for (const [id, a] of result) this.target.set(id, a);
    this.assignmentEpoch = this.groupEpoch;
  }

  /**
   * Kafka's `CurrentAssignmentBuilder`: moves a member towards its target assignment.
   *
   * @param m The member.
   * @param owned The partitions the member says it owns (`null`: not sent).
   * @returns Whether its assigned partitions changed.
   */
  reconcile(m: ConsumerGroupMember, owned: TopicPartitions | null): boolean {
    const ownsRevoked = (revoking: TopicPartitions) => {
      if (owned === null) return true;
      for (const [t, s] of revoking) {
        const o = owned.get(t);
        if (o !== undefined) { for (const p of s) if (o.has(p)) return true; }
      }
      return false;
    };
    const before = copyPartitions(m.assigned);
    const next = () => {
      const target = this.target.get(m.memberId) ?? new Map<string, Set<number>>();
      const assigned: TopicPartitions = new Map();
      const revoking: TopicPartitions = new Map();
      const adding: TopicPartitions = new Map();
      let unreleased = false;
      for (const t of new Set([...target.keys(), ...m.assigned.keys()])) {
        const want = target.get(t) ?? new Set<number>();
        const have = m.assigned.get(t) ?? new Set<number>();
        const keep = new Set([...have].filter((p) => want.has(p)));
        const revoke = new Set([...have].filter((p) => !want.has(p)));
        const add = new Set<number>();
        for (const p of want) {
          if (have.has(p)) continue;
          if (this.currentPartitionEpoch(t, p) === -1) add.add(p);
          else unreleased = true;
        }
        if (keep.size > 0) assigned.set(t, keep);
        if (revoke.size > 0) revoking.set(t, revoke);
        if (add.size > 0) adding.set(t, add);
      }
      if (revoking.size > 0 && ownsRevoked(revoking)) {
        this.updateMember(m, {
          state: "unrevoked_partitions",
          memberEpoch: m.memberEpoch,
          assigned,
          pendingRevocation: revoking,
        });
        return;
      }
      for (const [t, s] of adding) {
        let a = assigned.get(t);
        if (a === undefined) assigned.set(t, a = new Set());
        for (const p of s) a.add(p);
      }
      this.updateMember(m, {
        state: unreleased ? "unreleased_partitions" : "stable",
        memberEpoch: this.assignmentEpoch,
        assigned,
        pendingRevocation: new Map(),
      });
    };
    switch (m.state) {
      case "stable":
        if (m.memberEpoch !== this.assignmentEpoch) next();
        break;
      case "unrevoked_partitions":
        if (!ownsRevoked(m.pendingRevocation)) {
          // revoked: the partitions are free, then on towards the target
          this.updateMember(m, {
            state: "stable",
            memberEpoch: m.memberEpoch,
            assigned: m.assigned,
            pendingRevocation: new Map(),
          });
          next();
        }
        break;
      case "unreleased_partitions":
        next();
        break;
    }
    return !samePartitions(before, m.assigned);
  }
}
