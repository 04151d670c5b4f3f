// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * A member of a Connect workers' group (protocol type `connect`, Kafka's
 * `WorkerGroupMember`): JoinGroup with this worker's metadata, the leader's assignment through
 * SyncGroup, heartbeats in the background, LeaveGroup on stop, through the group protocol the
 * consumer uses too (`client/group_membership.ts`). What the metadata and assignments hold is the
 * herder's business (opaque bytes here).
 *
 * @module
 */

import { KafkaError } from "../protocol/errors.ts";
import type { Client } from "../client/client.ts";
import { GroupMembership, type HeartbeatLoop } from "../client/group_membership.ts";

/** The protocol type and name workers join with. */
export const CONNECT_PROTOCOL = { type: "connect", name: "sluice-eager" } as const;

/** Options of {@linkcode WorkerGroupMember}. */
export interface WorkerGroupMemberOptions {
  /** `group.id`. */
  groupId: string;
  /** `session.timeout.ms`. Default 10000 (Kafka Connect's). */
  sessionTimeoutMs?: number;
  /** `rebalance.timeout.ms`. Default 60000. */
  rebalanceTimeoutMs?: number;
  /** `heartbeat.interval.ms`. Default 3000. */
  heartbeatIntervalMs?: number;
}

/** What a join ended with. */
export interface JoinResult {
  /** This member's id. */
  memberId: string;
  /** The generation. */
  generationId: number;
  /** The leader's member id. */
  leaderId: string;
  /** This member's assignment (the leader's bytes). */
  assignment: Uint8Array;
}

let members = 0;

/** One worker's membership in the group. */
export class WorkerGroupMember {
  #client: Client;
  #pool = `connect-group-${++members}`;
  #membership: GroupMembership;
  #heartbeats: HeartbeatLoop | null = null;
  #rejoinAsked = false;
  #onRejoin: () => void = () => {};
  #stopped = false;

  /**
   * Creates the member.
   *
   * @param client The cluster client.
   * @param options Group id and timeouts.
   */
  constructor(client: Client, options: WorkerGroupMemberOptions) {
    this.#client = client;
    this.#membership = new GroupMembership(client, {
      groupId: options.groupId,
      groupInstanceId: null,
      protocolType: CONNECT_PROTOCOL.type,
      sessionTimeoutMs: options.sessionTimeoutMs ?? 10_000,
      rebalanceTimeoutMs: options.rebalanceTimeoutMs ?? 60_000,
      heartbeatIntervalMs: options.heartbeatIntervalMs ?? 3_000,
      pool: this.#pool,
      coordinatorRetries: 20,
      callRetries: 10,
      abandon: () => this.#stopped,
    });
  }

  /** The member id ("" before the first join). */
  get memberId(): string {
    return this.#membership.memberId;
  }

  /**
   * Joins (or rejoins) and waits for this member's assignment. Heartbeats stop during the join
   * and start again after it.
   *
   * @param metadata This worker's metadata.
   * @param assign Called on the leader with every member's metadata; returns each member's
   *   assignment.
   * @param onRejoin Called when a heartbeat learns that the group rebalances.
   * @returns The join's outcome.
   * @throws {KafkaError} On a non-retriable group error.
   */
  async join(
    metadata: Uint8Array,
    assign: (
      members: Array<{ memberId: string; metadata: Uint8Array }>,
    ) => Promise<Map<string, Uint8Array>>,
    onRejoin: () => void,
  ): Promise<JoinResult> {
    await this.#heartbeats?.stop();
    this.#onRejoin = onRejoin;
    const m = this.#membership;
    for (let attempt = 0;; attempt++) {
      if (this.#stopped) throw new Error("connect group: stopped");
      const joined = await m.joinAndSync(
        [{ name: CONNECT_PROTOCOL.name, metadata }],
        async (_protocol, members) => {
          const map = await assign(members.map((x) => ({
            memberId: x.memberId,
            metadata: x.metadata,
          })));
          return [...map].map(([memberId, assignment]) => ({ memberId, assignment }));
        },
      );
      if (!joined.joined) {
        if (attempt >= 50) {
          throw new KafkaError(joined.errorCode, `${joined.phase} group ${m.groupId}`);
        }
        if (joined.phase === "join") await this.#client.backoff(Math.min(attempt, 5));
        continue;
      }
      this.#rejoinAsked = false;
      this.#heartbeats = m.heartbeats(() => !this.#stopped && !this.#rejoinAsked, () => {
        this.#rejoinAsked = true;
        this.#onRejoin();
      });
      return {
        memberId: m.memberId,
        generationId: m.generationId,
        leaderId: joined.leaderId,
        assignment: joined.assignment,
      };
    }
  }

  /** Stops heartbeats and leaves the group. */
  async leave(): Promise<void> {
    this.#stopped = true;
    await this.#heartbeats?.stop();
    if (this.#membership.memberId !== "") {
      await this.#membership.leave("the worker is stopping").catch(() => {});
    }
    await this.#client.closePool(this.#pool);
  }
}
