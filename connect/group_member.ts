// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * A member of a Connect workers' group (protocol type `connect`, Kafka's
 * `WorkerGroupMember`): JoinGroup with this worker's metadata, the leader's assignment through
 * SyncGroup, heartbeats in the background, LeaveGroup on stop. What the metadata and
 * assignments hold is the herder's business (opaque bytes here).
 *
 * @module
 */

import { ErrorCode, KafkaError } from "../protocol/errors.ts";
import {
  FindCoordinatorRequest,
  FindCoordinatorResponse,
} from "../protocol/messages/find_coordinator.ts";
import { HeartbeatRequest, HeartbeatResponse } from "../protocol/messages/heartbeat.ts";
import { JoinGroupRequest, JoinGroupResponse } from "../protocol/messages/join_group.ts";
import { LeaveGroupRequest, LeaveGroupResponse } from "../protocol/messages/leave_group.ts";
import { SyncGroupRequest, SyncGroupResponse } from "../protocol/messages/sync_group.ts";
import type { MessageCodec } from "../protocol/primitives.ts";
import type { Client } from "../client/client.ts";
import type { Api } from "../client/connection.ts";

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

const REJOIN = new Set<number>([
  ErrorCode.REBALANCE_IN_PROGRESS,
  ErrorCode.UNKNOWN_MEMBER_ID,
  ErrorCode.ILLEGAL_GENERATION,
]);

const MOVED = new Set<number>([
  ErrorCode.NOT_COORDINATOR,
  ErrorCode.COORDINATOR_NOT_AVAILABLE,
  ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
]);

let members = 0;

/** One worker's membership in the group. */
export class WorkerGroupMember {
  #client: Client;
  #o: Required<WorkerGroupMemberOptions>;
  #pool = `connect-group-${++members}`;
  #coordinator = -1;
  #memberId = "";
  #generationId = -1;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #heartbeating: Promise<void> = Promise.resolve();
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
    this.#o = {
      groupId: options.groupId,
      sessionTimeoutMs: options.sessionTimeoutMs ?? 10_000,
      rebalanceTimeoutMs: options.rebalanceTimeoutMs ?? 60_000,
      heartbeatIntervalMs: options.heartbeatIntervalMs ?? 3_000,
    };
  }

  /** The member id ("" before the first join). */
  get memberId(): string {
    return this.#memberId;
  }

  async #findCoordinator(): Promise<number> {
    for (let attempt = 0;; attempt++) {
      const conn = await this.#client.anyConnection();
      const version = conn.versionFor(FindCoordinatorRequest);
      const res = await conn.send(
        { request: FindCoordinatorRequest, response: FindCoordinatorResponse },
        FindCoordinatorRequest.create(
          version >= 4
            ? { keyType: 0, coordinatorKeys: [this.#o.groupId] }
            : { key: this.#o.groupId, keyType: 0 },
        ),
        { version },
      );
      const c = version >= 4
        ? res.coordinators[0]
        : { errorCode: res.errorCode, nodeId: res.nodeId };
      const code = c?.errorCode ?? ErrorCode.COORDINATOR_NOT_AVAILABLE;
      if (code === 0) return (this.#coordinator = c.nodeId);
      if (!new KafkaError(code).retriable || attempt >= 20) {
        throw new KafkaError(code, `find coordinator of group ${this.#o.groupId}`);
      }
      await this.#client.backoff(attempt);
    }
  }

  async #call<Req, Res>(
    api: Api<Req, Res>,
    body: (version: number) => Req,
    errorOf: (res: Res) => number,
    timeoutMs?: number,
  ): Promise<Res> {
    for (let attempt = 0;; attempt++) {
      let res: Res;
      try {
        const node = this.#coordinator >= 0 ? this.#coordinator : await this.#findCoordinator();
        const conn = await this.#client.connectionTo(node, this.#pool);
        const version = conn.versionFor(api.request as MessageCodec<unknown>);
        res = await conn.send(api, body(version), { version, timeoutMs });
      } catch (e) {
        if (
          e instanceof KafkaError && e.code === ErrorCode.NETWORK_EXCEPTION && attempt < 10 &&
          !this.#stopped
        ) {
          this.#coordinator = -1;
          await this.#client.backoff(attempt);
          continue;
        }
        throw e;
      }
      if (MOVED.has(errorOf(res)) && attempt < 10) {
        this.#coordinator = -1;
        await this.#client.backoff(attempt);
        continue;
      }
      return res;
    }
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
    this.#stopHeartbeat();
    await this.#heartbeating;
    this.#onRejoin = onRejoin;
    for (let attempt = 0;; attempt++) {
      if (this.#stopped) throw new Error("connect group: stopped");
      const join = await this.#call(
        { request: JoinGroupRequest, response: JoinGroupResponse },
        () =>
          JoinGroupRequest.create({
            groupId: this.#o.groupId,
            sessionTimeoutMs: this.#o.sessionTimeoutMs,
            rebalanceTimeoutMs: this.#o.rebalanceTimeoutMs,
            memberId: this.#memberId,
            groupInstanceId: null,
            protocolType: CONNECT_PROTOCOL.type,
            protocols: [{ name: CONNECT_PROTOCOL.name, metadata }],
            reason: null,
          }),
        (r) => r.errorCode,
        this.#o.rebalanceTimeoutMs + this.#client.options.requestTimeoutMs,
      );
      if (join.errorCode === ErrorCode.MEMBER_ID_REQUIRED) {
        this.#memberId = join.memberId;
        continue;
      }
      if (join.errorCode !== 0) {
        if (!REJOIN.has(join.errorCode) || attempt >= 50) {
          throw new KafkaError(join.errorCode, `join group ${this.#o.groupId}`);
        }
        if (join.errorCode === ErrorCode.UNKNOWN_MEMBER_ID) this.#memberId = "";
        await this.#client.backoff(Math.min(attempt, 5));
        continue;
      }
      this.#memberId = join.memberId;
      this.#generationId = join.generationId;
      let assignments: Array<{ memberId: string; assignment: Uint8Array }> = [];
      if (join.leader === join.memberId) {
        const map = await assign(join.members.map((m) => ({
          memberId: m.memberId,
          metadata: m.metadata,
        })));
        assignments = [...map].map(([memberId, assignment]) => ({ memberId, assignment }));
      }
      const sync = await this.#call(
        { request: SyncGroupRequest, response: SyncGroupResponse },
        (version) =>
          SyncGroupRequest.create({
            groupId: this.#o.groupId,
            generationId: this.#generationId,
            memberId: this.#memberId,
            groupInstanceId: null,
            protocolType: version >= 5 ? CONNECT_PROTOCOL.type : null,
            protocolName: version >= 5 ? CONNECT_PROTOCOL.name : null,
            assignments,
          }),
        (r) => r.errorCode,
        this.#o.rebalanceTimeoutMs + this.#client.options.requestTimeoutMs,
      );
      if (sync.errorCode !== 0) {
        if (!REJOIN.has(sync.errorCode) || attempt >= 50) {
          throw new KafkaError(sync.errorCode, `sync group ${this.#o.groupId}`);
        }
        if (sync.errorCode === ErrorCode.UNKNOWN_MEMBER_ID) this.#memberId = "";
        continue;
      }
      this.#startHeartbeat();
      return {
        memberId: this.#memberId,
        generationId: this.#generationId,
        leaderId: join.leader,
        assignment: sync.assignment,
      };
    }
  }

  #startHeartbeat(): void {
    this.#stopHeartbeat();
    const tick = () => {
      this.#timer = undefined;
      this.#heartbeating = this.#heartbeat().then((again) => {
        if (again && !this.#stopped && this.#timer === undefined) {
          this.#timer = setTimeout(tick, this.#o.heartbeatIntervalMs);
        }
      });
    };
    this.#timer = setTimeout(tick, this.#o.heartbeatIntervalMs);
  }

  #stopHeartbeat(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** One heartbeat; false when the group rebalances (the herder rejoins). */
  async #heartbeat(): Promise<boolean> {
    try {
      const res = await this.#call(
        { request: HeartbeatRequest, response: HeartbeatResponse },
        () =>
          HeartbeatRequest.create({
            groupId: this.#o.groupId,
            generationId: this.#generationId,
            memberId: this.#memberId,
            groupInstanceId: null,
          }),
        (r) => r.errorCode,
      );
      if (REJOIN.has(res.errorCode)) {
        if (res.errorCode === ErrorCode.UNKNOWN_MEMBER_ID) this.#memberId = "";
        this.#onRejoin();
        return false;
      }
      return true;
    } catch {
      this.#coordinator = -1;
      return true;
    }
  }

  /** Stops heartbeats and leaves the group. */
  async leave(): Promise<void> {
    this.#stopped = true;
    this.#stopHeartbeat();
    await this.#heartbeating;
    if (this.#memberId !== "") {
      await this.#call(
        { request: LeaveGroupRequest, response: LeaveGroupResponse },
        (version) =>
          LeaveGroupRequest.create(
            version >= 3
              ? {
                groupId: this.#o.groupId,
                members: [{
                  memberId: this.#memberId,
                  groupInstanceId: null,
                  reason: version >= 5 ? "the worker is stopping" : null,
                }],
              }
              : { groupId: this.#o.groupId, memberId: this.#memberId },
          ),
        (r) => r.errorCode,
      ).catch(() => {});
    }
    await this.#client.closePool(this.#pool);
  }
}
