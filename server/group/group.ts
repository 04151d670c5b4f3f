// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * A classic consumer group's metadata: its members, state, generation and committed offsets,
 * as Kafka's `GroupMetadata`/`MemberMetadata`. Transitions and timers live in
 * {@linkcode GroupCoordinator}; this file holds the data and the pure rules (protocol selection,
 * protocol compatibility, leader choice).
 *
 * @module
 */

import type { ConsumerGroup } from "./consumer_group.ts";
import type { Cancel } from "./scheduler.ts";

/** The five states of a classic group, with Kafka's names (as DescribeGroups reports them). */
export type GroupState =
  | "Empty"
  | "PreparingRebalance"
  | "CompletingRebalance"
  | "Stable"
  | "Dead";

/** Every group state, in Kafka's order. */
export const GROUP_STATES: readonly GroupState[] = Object.freeze([
  "Empty",
  "PreparingRebalance",
  "CompletingRebalance",
  "Stable",
  "Dead",
]);

/** One (name, metadata) pair a member supports, in the member's order of preference. */
export interface GroupProtocol {
  /** Protocol (assignor) name, e.g. `"range"` or `"cooperative-sticky"`. */
  name: string;
  /** Opaque protocol metadata (for consumers: the serialized subscription). */
  metadata: Uint8Array;
}

/** A member as the leader sees it in a JoinGroup response. */
export interface JoinGroupMember {
  /** The member id. */
  memberId: string;
  /** The static instance id, or `null`. */
  groupInstanceId: string | null;
  /** The member's metadata for the selected protocol. */
  metadata: Uint8Array;
}

/** What a JoinGroup call gets back. */
export interface JoinGroupResult {
  /** Kafka error code; 0 on success. */
  errorCode: number;
  /** The generation joined, or -1 on error. */
  generationId: number;
  /** The group's protocol type, or `null`. */
  protocolType: string | null;
  /** The selected protocol, or `null`. */
  protocolName: string | null;
  /** The leader's member id (`""` on error). */
  leader: string;
  /** Whether the leader should skip computing an assignment (a static leader rejoining a Stable group, KIP-814). */
  skipAssignment: boolean;
  /** The caller's member id (new or existing; `""` on most errors). */
  memberId: string;
  /** Every member with its metadata if the caller is the leader; otherwise empty. */
  members: JoinGroupMember[];
}

/** What a SyncGroup call gets back. */
export interface SyncGroupResult {
  /** Kafka error code; 0 on success. */
  errorCode: number;
  /** The group's protocol type, or `null`. */
  protocolType: string | null;
  /** The selected protocol, or `null`. */
  protocolName: string | null;
  /** This member's assignment (empty on error). */
  assignment: Uint8Array;
}

/** One member of a classic group. */
export class MemberMetadata {
  /** The member id (changes when a static member is replaced). */
  memberId: string;
  /** The static instance id (`group.instance.id`), or `null` for a dynamic member. */
  readonly groupInstanceId: string | null;
  /** The client id the member connected with. */
  clientId: string;
  /** The client host, e.g. `/127.0.0.1`. */
  clientHost: string;
  /** The member's rebalance timeout. */
  rebalanceTimeoutMs: number;
  /** The member's session timeout. */
  sessionTimeoutMs: number;
  /** The member's protocol type, e.g. `"consumer"`. */
  protocolType: string;
  /** Supported protocols, in preference order. */
  protocols: GroupProtocol[];
  /** The assignment from the last completed SyncGroup. */
  assignment: Uint8Array = new Uint8Array(0);
  /** Resolves the member's pending JoinGroup call, if one waits. */
  awaitingJoin: ((result: JoinGroupResult) => void) | null = null;
  /** Resolves the member's pending SyncGroup call, if one waits. */
  awaitingSync: ((result: SyncGroupResult) => void) | null = null;
  /** Whether the member joined during the current rebalance and has not got a response yet. */
  isNew = false;
  /** When the member last showed liveness (join, sync, heartbeat, commit). */
  lastHeartbeatMs = 0;
  /** Cancels the member's session timer. */
  heartbeatTimer: Cancel | null = null;

  /**
   * Creates a member.
   *
   * @param init The member's fields.
   */
  constructor(init: {
    memberId: string;
    groupInstanceId: string | null;
    clientId: string;
    clientHost: string;
    rebalanceTimeoutMs: number;
    sessionTimeoutMs: number;
    protocolType: string;
    protocols: GroupProtocol[];
  }) {
    this.memberId = init.memberId;
    this.groupInstanceId = init.groupInstanceId;
    this.clientId = init.clientId;
    this.clientHost = init.clientHost;
    this.rebalanceTimeoutMs = init.rebalanceTimeoutMs;
    this.sessionTimeoutMs = init.sessionTimeoutMs;
    this.protocolType = init.protocolType;
    this.protocols = init.protocols;
  }

  /**
   * The member's metadata for a protocol.
   *
   * @param protocol The protocol name.
   * @returns The metadata.
   * @throws {Error} If the member does not support the protocol.
   */
  metadata(protocol: string): Uint8Array {
    const p = this.protocols.find((x) => x.name === protocol);
    if (p === undefined) {
      throw new Error(`Cannot get member metadata: ${this.memberId} does not support ${protocol}`);
    }
    return p.metadata;
  }

  /**
   * The member's metadata for a protocol, or empty bytes if it does not support it.
   *
   * @param protocol The protocol name.
   * @returns The metadata or an empty array.
   */
  metadataOrEmpty(protocol: string): Uint8Array {
    return this.protocols.find((x) => x.name === protocol)?.metadata ?? new Uint8Array(0);
  }

  /**
   * Whether `protocols` equals this member's protocols (names, order and metadata bytes).
   *
   * @param protocols The protocols of a rejoin.
   * @returns `true` if nothing changed.
   */
  matches(protocols: GroupProtocol[]): boolean {
    if (protocols.length !== this.protocols.length) return false;
    for (let i = 0; i < protocols.length; i++) {
      if (protocols[i].name !== this.protocols[i].name) return false;
      if (!bytesEqual(protocols[i].metadata, this.protocols[i].metadata)) return false;
    }
    return true;
  }

  /**
   * The member's first-preference protocol among `candidates`.
   *
   * @param candidates Protocols every member supports.
   * @returns The protocol name it votes for.
   * @throws {Error} If it supports none of them.
   */
  vote(candidates: Set<string>): string {
    const p = this.protocols.find((x) => candidates.has(x.name));
    if (p === undefined) {
      throw new Error(`Cannot vote: member ${this.memberId} supports none of the candidates`);
    }
    return p.name;
  }
}

/** A committed offset as the coordinator keeps it. */
export interface CommittedOffset {
  /** The committed offset. */
  offset: number;
  /** The leader epoch given with the commit, or -1. */
  leaderEpoch: number;
  /** Client metadata, or `""`. */
  metadata: string;
  /** When it was committed (ms). */
  commitTimestamp: number;
  /** Explicit expiry (OffsetCommit v1 retention), or -1. */
  expireTimestamp: number;
  /**
   * The offset in `__consumer_offsets` of the record that carried it (Kafka's
   * `OffsetAndMetadata.recordOffset`; a coordinator without a log numbers its records itself):
   * a transaction's offset, once committed, replaces a committed offset only if its record is
   * the newer one.
   */
  recordOffset: number;
}

/** Key of a committed offset: `topic` + NUL + `partition`. */
export function offsetKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

/**
 * Split an {@linkcode offsetKey} back into topic and partition.
 *
 * @param key The key.
 * @returns `[topic, partition]`.
 */
export function parseOffsetKey(key: string): [string, number] {
  const i = key.lastIndexOf("\u0000");
  return [key.slice(0, i), Number(key.slice(i + 1))];
}

/** A classic group (Kafka's `GroupMetadata`). */
export class GroupMetadata {
  /** The group id. */
  readonly groupId: string;
  /** The current state. */
  state: GroupState = "Empty";
  /** When the group entered its current state (ms). */
  stateTimestamp: number;
  /** The current generation; 0 before the first rebalance. */
  generationId = 0;
  /** The protocol type all members share, or `null` when never set. */
  protocolType: string | null = null;
  /** The selected protocol of the current generation, or `null`. */
  protocolName: string | null = null;
  /** The leader's member id, or `null`. */
  leaderId: string | null = null;
  /** Members by member id, in join order. */
  readonly members: Map<string, MemberMetadata> = new Map();
  /** Member ids handed out with MEMBER_ID_REQUIRED, waiting for the second join, with timers. */
  readonly pendingMembers: Map<string, Cancel> = new Map();
  /** Static instance id -> member id. */
  readonly staticMembers: Map<string, string> = new Map();
  /** Members of the current generation that have not synced yet. */
  readonly pendingSyncMembers: Set<string> = new Set();
  /** Whether a member was added during the initial delayed join. */
  newMemberAdded = false;
  /** Committed offsets by {@linkcode offsetKey}. */
  readonly offsets: Map<string, CommittedOffset> = new Map();
  /** Cancels the join timer (rebalance timeout / initial delay) while PreparingRebalance. */
  joinTimer: Cancel | null = null;
  /** Whether the running join timer is the initial delay of a group that was Empty. */
  initialJoin = false;
  /** Cancels the pending-sync timer while CompletingRebalance/Stable. */
  syncTimer: Cancel | null = null;
  /**
   * The consumer-protocol (KIP-848) state when the group is a consumer group, else `null`: such a
   * group has no classic members, and keeps its offsets here like any group.
   */
  consumer: ConsumerGroup | null = null;

  /**
   * Creates an empty group.
   *
   * @param groupId The group id.
   * @param now Creation time (ms).
   */
  constructor(groupId: string, now: number) {
    this.groupId = groupId;
    this.stateTimestamp = now;
  }

  /**
   * Move to `state`, recording the time.
   *
   * @param state The new state.
   * @param now The time (ms).
   */
  transitionTo(state: GroupState, now: number): void {
    this.state = state;
    this.stateTimestamp = now;
  }

  /** Members plus pending members: what `group.max.size` limits. */
  get size(): number {
    return this.members.size + this.pendingMembers.size;
  }

  /** The largest rebalance timeout of any member (0 with no members). */
  get rebalanceTimeoutMs(): number {
    let max = 0;
    for (const m of this.members.values()) max = Math.max(max, m.rebalanceTimeoutMs);
    return max;
  }

  /** Whether every member has a pending JoinGroup and no member id is pending. */
  get hasAllMembersJoined(): boolean {
    if (this.pendingMembers.size !== 0) return false;
    for (const m of this.members.values()) if (m.awaitingJoin === null) return false;
    return true;
  }

  /**
   * Add a member; the first member becomes leader.
   *
   * @param member The member.
   */
  add(member: MemberMetadata): void {
    if (this.members.size === 0) this.protocolType = member.protocolType;
    this.members.set(member.memberId, member);
    if (member.groupInstanceId !== null) {
      this.staticMembers.set(member.groupInstanceId, member.memberId);
    }
    if (this.leaderId === null) this.leaderId = member.memberId;
  }

  /**
   * Remove a member; if it led, the next member in join order leads.
   *
   * @param memberId The member id.
   */
  remove(memberId: string): void {
    const m = this.members.get(memberId);
    if (m === undefined) return;
    m.heartbeatTimer?.();
    m.heartbeatTimer = null;
    this.members.delete(memberId);
    this.pendingSyncMembers.delete(memberId);
    if (m.groupInstanceId !== null && this.staticMembers.get(m.groupInstanceId) === memberId) {
      this.staticMembers.delete(m.groupInstanceId);
    }
    if (this.leaderId === memberId) {
      this.leaderId = this.members.size === 0 ? null : this.members.keys().next().value!;
    }
  }

  /**
   * Give a static member a new member id, keeping its place, leadership and assignment.
   *
   * @param member The member (its `memberId` is changed).
   * @param newMemberId The new id.
   */
  replaceMemberId(member: MemberMetadata, newMemberId: string): void {
    const oldId = member.memberId;
    const entries = [...this.members.entries()];
    this.members.clear();
    for (const [id, m] of entries) this.members.set(id === oldId ? newMemberId : id, m);
    member.memberId = newMemberId;
    if (member.groupInstanceId !== null) {
      this.staticMembers.set(member.groupInstanceId, newMemberId);
    }
    if (this.leaderId === oldId) this.leaderId = newMemberId;
    if (this.pendingSyncMembers.delete(oldId)) this.pendingSyncMembers.add(newMemberId);
  }

  /**
   * Whether a static member's id is stale: the instance id maps to a different member id.
   *
   * @param memberId The member id in the request.
   * @param groupInstanceId The instance id in the request, or `null`.
   * @returns `true` if the request must fail with FENCED_INSTANCE_ID.
   */
  isStaticMemberFenced(memberId: string, groupInstanceId: string | null): boolean {
    if (groupInstanceId === null) return false;
    const current = this.staticMembers.get(groupInstanceId);
    return current !== undefined && current !== memberId;
  }

  /** Protocols supported by every member (empty set without members). */
  candidateProtocols(): Set<string> {
    const counts = new Map<string, number>();
    for (const m of this.members.values()) {
      for (const name of new Set(m.protocols.map((p) => p.name))) {
        counts.set(name, (counts.get(name) ?? 0) + 1);
      }
    }
    const all = new Set<string>();
    for (const [name, n] of counts) if (n === this.members.size) all.add(name);
    return all;
  }

  /**
   * Whether a member with this protocol type and these protocols can be in the group: with no
   * members any non-empty type and list is fine; otherwise the type must match and one of the
   * protocols must be supported by every current member.
   *
   * @param protocolType The joining member's protocol type.
   * @param protocols The joining member's protocols.
   * @returns `true` if compatible.
   */
  supportsProtocols(protocolType: string, protocols: GroupProtocol[]): boolean {
    if (this.members.size === 0) return protocolType !== "" && protocols.length > 0;
    if (protocolType !== this.protocolType) return false;
    const candidates = this.candidateProtocols();
    return protocols.some((p) => candidates.has(p.name));
  }

  /**
   * Choose the protocol for the next generation: among the protocols all members support, each
   * member votes for its first preference and the most votes win; ties go to the protocol the
   * earliest-joined member prefers most (Kafka leaves ties unspecified).
   *
   * @returns The protocol name.
   * @throws {Error} If the group has no members or no common protocol.
   */
  selectProtocol(): string {
    if (this.members.size === 0) {
      throw new Error(`Cannot select a protocol: group ${this.groupId} has no members`);
    }
    const candidates = this.candidateProtocols();
    if (candidates.size === 0) {
      throw new Error(`Cannot select a protocol: group ${this.groupId} has no common protocol`);
    }
    const votes = new Map<string, number>();
    for (const m of this.members.values()) {
      const v = m.vote(candidates);
      votes.set(v, (votes.get(v) ?? 0) + 1);
    }
    let best = -1;
    for (const n of votes.values()) best = Math.max(best, n);
    const first = this.members.values().next().value!;
    for (const p of first.protocols) if (votes.get(p.name) === best) return p.name;
    return [...votes.entries()].find(([, n]) => n === best)![0];
  }

  /** Every member with its metadata for the current protocol, for the leader's JoinGroup. */
  currentMemberMetadata(): JoinGroupMember[] {
    const protocol = this.protocolName;
    if (protocol === null) return [];
    return [...this.members.values()].map((m) => ({
      memberId: m.memberId,
      groupInstanceId: m.groupInstanceId,
      metadata: m.metadataOrEmpty(protocol),
    }));
  }
}

/**
 * Whether two byte arrays hold the same bytes.
 *
 * @param a First array.
 * @param b Second array.
 * @returns `true` if equal.
 */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
