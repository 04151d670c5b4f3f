// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * Membership in a group of the classic group protocol, whatever the members share (Kafka's
 * `AbstractCoordinator`): the group coordinator's discovery and rediscovery on
 * NOT_COORDINATOR, JoinGroup (with MEMBER_ID_REQUIRED) and SyncGroup with the leader's
 * assignment, heartbeats, LeaveGroup, and the member id and generation they leave. The
 * protocol type and what the metadata and assignments hold belong to the caller: `consumer`
 * with its assignors ({@linkcode GroupConsumer}), `connect` for Connect workers.
 *
 * @module
 */

import { ErrorCode, KafkaError } from "../protocol/errors.ts";
import { HeartbeatRequest, HeartbeatResponse } from "../protocol/messages/heartbeat.ts";
import { JoinGroupRequest, JoinGroupResponse } from "../protocol/messages/join_group.ts";
import { LeaveGroupRequest, LeaveGroupResponse } from "../protocol/messages/leave_group.ts";
import { SyncGroupRequest, SyncGroupResponse } from "../protocol/messages/sync_group.ts";
import type { MessageCodec } from "../protocol/primitives.ts";
import type { Client } from "./client.ts";
import type { Api } from "./connection.ts";
import { COORDINATOR_KEY_TYPE, findCoordinator } from "./find_coordinator.ts";

/** Group-protocol errors after which a member rejoins. */
export const REJOIN_ERRORS: ReadonlySet<number> = new Set<number>([
  ErrorCode.REBALANCE_IN_PROGRESS,
  ErrorCode.UNKNOWN_MEMBER_ID,
  ErrorCode.ILLEGAL_GENERATION,
]);

/** Errors after which the coordinator is looked up again. */
const COORDINATOR_MOVED = new Set<number>([
  ErrorCode.NOT_COORDINATOR,
  ErrorCode.COORDINATOR_NOT_AVAILABLE,
  ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
]);

/** Options of {@linkcode GroupMembership}. */
export interface GroupMembershipOptions {
  /** `group.id`. */
  groupId: string;
  /** `group.instance.id` of a static member; `null` for a dynamic one. */
  groupInstanceId: string | null;
  /** The protocol type the members join with (`consumer`, `connect`). */
  protocolType: string;
  /** `session.timeout.ms`. */
  sessionTimeoutMs: number;
  /** `rebalance.timeout.ms`. */
  rebalanceTimeoutMs: number;
  /** `heartbeat.interval.ms`. */
  heartbeatIntervalMs: number;
  /** The client's connection pool the coordinator is reached through. */
  pool: string;
  /** How often a failed coordinator lookup is tried again. Default: the client's `retries`. */
  coordinatorRetries?: number;
  /**
   * How often a request to the coordinator is sent again after a network error or a moved
   * coordinator. Default: the client's `retries`.
   */
  callRetries?: number;
  /**
   * Whether a request that failed on the network is given up rather than sent again (the
   * member is closing). Default: never.
   */
  abandon?: (request: unknown) => boolean;
}

/** A protocol a member joins with: its name and the member's metadata for it. */
export interface JoinProtocol {
  /** The protocol name (an assignor's). */
  name: string;
  /** The member's metadata (its subscription). */
  metadata: Uint8Array;
}

/** A member as the leader sees it in the JoinGroup response. */
export interface JoinedMember {
  /** Its member id. */
  memberId: string;
  /** Its `group.instance.id`, `null` for a dynamic member. */
  groupInstanceId: string | null;
  /** Its metadata for the chosen protocol. */
  metadata: Uint8Array;
}

/** How one JoinGroup + SyncGroup round ended. */
export type JoinOutcome =
  | {
    /** Joined and synced. */
    joined: true;
    /** The protocol the coordinator chose. */
    protocolName: string;
    /** The leader's member id. */
    leaderId: string;
    /** This member's assignment (the leader's bytes). */
    assignment: Uint8Array;
  }
  | {
    /** Not joined: join again. */
    joined: false;
    /** One of {@linkcode REJOIN_ERRORS}. */
    errorCode: number;
    /** The request that answered it. */
    phase: "join" | "sync";
  };

/** Background heartbeats; {@linkcode HeartbeatLoop.stop} ends them. */
export interface HeartbeatLoop {
  /**
   * Sends no more heartbeats.
   *
   * @returns The heartbeat in flight, settled.
   */
  stop(): Promise<void>;
}

/** One member's place in a group. */
export class GroupMembership {
  #client: Client;
  #o: Required<GroupMembershipOptions>;
  #coordinator = -1;
  #memberId = "";
  #generationId = -1;

  /**
   * Creates the membership; nothing is sent until the first call.
   *
   * @param client The cluster client.
   * @param options Group id, protocol type, timeouts, pool.
   */
  constructor(client: Client, options: GroupMembershipOptions) {
    this.#client = client;
    this.#o = {
      ...options,
      coordinatorRetries: options.coordinatorRetries ?? client.options.retries,
      callRetries: options.callRetries ?? client.options.retries,
      abandon: options.abandon ?? (() => false),
    };
  }

  /** The group id. */
  get groupId(): string {
    return this.#o.groupId;
  }

  /** The member id the coordinator gave ("" before joining and after leaving). */
  get memberId(): string {
    return this.#memberId;
  }

  /** The current generation (-1 before joining and once out of the group). */
  get generationId(): number {
    return this.#generationId;
  }

  /** Whether the member has a member id and a generation. */
  get inGroup(): boolean {
    return this.#memberId !== "" && this.#generationId >= 0;
  }

  /**
   * Forgets what a group error says is no longer valid: the member id after
   * UNKNOWN_MEMBER_ID, the generation after any error but REBALANCE_IN_PROGRESS (the member
   * keeps its generation while the group rebalances).
   *
   * @param code The error code.
   */
  forget(code: number): void {
    if (code === ErrorCode.UNKNOWN_MEMBER_ID) this.#memberId = "";
    if (code !== ErrorCode.REBALANCE_IN_PROGRESS) this.#generationId = -1;
  }

  async #findCoordinator(): Promise<number> {
    const groupId = this.#o.groupId;
    this.#coordinator = await findCoordinator(
      this.#client,
      COORDINATOR_KEY_TYPE.group,
      groupId,
      this.#o.coordinatorRetries,
      `find coordinator of group ${groupId}`,
    );
    return this.#coordinator;
  }

  /**
   * Sends a request to the group coordinator: looks it up first when unknown, and again
   * (after a backoff) when the request fails on the network or answers NOT_COORDINATOR,
   * COORDINATOR_NOT_AVAILABLE or COORDINATOR_LOAD_IN_PROGRESS, up to `callRetries` times.
   *
   * @param api The request and response codecs.
   * @param body The request, for the version the connection speaks.
   * @param errorOf The response's error code that tells whether the coordinator moved.
   * @param timeoutMs How long to wait for the response (default: the client's).
   * @returns The response and the version it was sent with.
   * @throws {KafkaError} When the coordinator cannot be found or reached.
   */
  async call<Req, Res>(
    api: Api<Req, Res>,
    body: (version: number) => Req,
    errorOf: (res: Res, version: number) => number | undefined,
    timeoutMs?: number,
  ): Promise<{ res: Res; version: number }> {
    for (let attempt = 0;; attempt++) {
      let res: Res;
      let version: number;
      try {
        const node = this.#coordinator >= 0 ? this.#coordinator : await this.#findCoordinator();
        const conn = await this.#client.connectionTo(node, this.#o.pool);
        version = conn.versionFor(api.request as MessageCodec<unknown>);
        res = await conn.send(api, body(version), { version, timeoutMs });
      } catch (e) {
        if (
          e instanceof KafkaError && e.code === ErrorCode.NETWORK_EXCEPTION &&
          attempt < this.#o.callRetries && !this.#o.abandon(api.request)
        ) {
          this.#coordinator = -1;
          await this.#client.backoff(attempt);
          continue;
        }
        throw e;
      }
      const code = errorOf(res, version) ?? 0;
      if (COORDINATOR_MOVED.has(code) && attempt < this.#o.callRetries) {
        this.#coordinator = -1;
        await this.#client.backoff(attempt);
        continue;
      }
      return { res, version };
    }
  }

  /**
   * One JoinGroup (again with the member id a MEMBER_ID_REQUIRED answer gives) and SyncGroup;
   * on the leader, `assign` makes every member's assignment in between. The member id and
   * generation are those of the join; UNKNOWN_MEMBER_ID forgets the member id.
   *
   * @param protocols The protocols this member supports, by preference, with its metadata.
   * @param assign Called on the leader with the chosen protocol and every member.
   * @returns The assignment, or the rejoin error and the request that answered it.
   * @throws {KafkaError} On an error other than {@linkcode REJOIN_ERRORS}.
   */
  async joinAndSync(
    protocols: JoinProtocol[],
    assign: (
      protocolName: string,
      members: JoinedMember[],
    ) => Promise<Array<{ memberId: string; assignment: Uint8Array }>>,
  ): Promise<JoinOutcome> {
    const o = this.#o;
    const timeoutMs = o.rebalanceTimeoutMs + this.#client.options.requestTimeoutMs;
    let join: JoinGroupResponse;
    for (;;) {
      ({ res: join } = await this.call(
        { request: JoinGroupRequest, response: JoinGroupResponse },
        () =>
          JoinGroupRequest.create({
            groupId: o.groupId,
            sessionTimeoutMs: o.sessionTimeoutMs,
            rebalanceTimeoutMs: o.rebalanceTimeoutMs,
            memberId: this.#memberId,
            groupInstanceId: o.groupInstanceId,
            protocolType: o.protocolType,
            protocols,
            reason: null,
          }),
        (r) => r.errorCode,
        timeoutMs,
      ));
      if (join.errorCode !== ErrorCode.MEMBER_ID_REQUIRED) break;
      this.#memberId = join.memberId;
    }
    if (join.errorCode !== 0) return this.#rejoinOn(join.errorCode, "join");
    this.#memberId = join.memberId;
    this.#generationId = join.generationId;
    const assignments = join.leader === join.memberId
      ? await assign(join.protocolName ?? "", join.members)
      : [];
    const { res: sync } = await this.call(
      { request: SyncGroupRequest, response: SyncGroupResponse },
      (version) =>
        SyncGroupRequest.create({
          groupId: o.groupId,
          generationId: this.#generationId,
          memberId: this.#memberId,
          groupInstanceId: o.groupInstanceId,
          protocolType: version >= 5 ? o.protocolType : null,
          protocolName: version >= 5 ? join.protocolName : null,
          assignments,
        }),
      (r) => r.errorCode,
      timeoutMs,
    );
    if (sync.errorCode !== 0) return this.#rejoinOn(sync.errorCode, "sync");
    return {
      joined: true,
      protocolName: join.protocolName ?? "",
      leaderId: join.leader,
      assignment: sync.assignment,
    };
  }

  #rejoinOn(code: number, phase: "join" | "sync"): JoinOutcome {
    if (!REJOIN_ERRORS.has(code)) {
      throw new KafkaError(code, `${phase} group ${this.#o.groupId}`);
    }
    if (code === ErrorCode.UNKNOWN_MEMBER_ID) this.#memberId = "";
    return { joined: false, errorCode: code, phase };
  }

  /**
   * One heartbeat. An answer that asks the member to rejoin ({@linkcode REJOIN_ERRORS},
   * FENCED_INSTANCE_ID) is {@linkcode GroupMembership.forget}-ed, then given to `onRejoin`;
   * a heartbeat that gets no answer forgets the coordinator (the next one looks it up).
   *
   * @param onRejoin Called with the error that asks for a rejoin.
   */
  async heartbeat(onRejoin: (code: number) => void): Promise<void> {
    let code: number;
    try {
      ({ res: { errorCode: code } } = await this.call(
        { request: HeartbeatRequest, response: HeartbeatResponse },
        () =>
          HeartbeatRequest.create({
            groupId: this.#o.groupId,
            generationId: this.#generationId,
            memberId: this.#memberId,
            groupInstanceId: this.#o.groupInstanceId,
          }),
        (r) => r.errorCode,
      ));
    } catch {
      this.#coordinator = -1;
      return;
    }
    if (REJOIN_ERRORS.has(code) || code === ErrorCode.FENCED_INSTANCE_ID) {
      this.forget(code);
      onRejoin(code);
    }
  }

  /**
   * Heartbeats every `heartbeatIntervalMs` (the first one interval from now) as long as
   * `keepGoing` answers true, before each heartbeat and after it.
   *
   * @param keepGoing Whether to go on.
   * @param onRejoin Given to {@linkcode GroupMembership.heartbeat}.
   * @returns The loop, to stop.
   */
  heartbeats(keepGoing: () => boolean, onRejoin: (code: number) => void): HeartbeatLoop {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let inFlight: Promise<void> = Promise.resolve();
    const interval = this.#o.heartbeatIntervalMs;
    const tick = () => {
      timer = undefined;
      if (stopped || !keepGoing()) return;
      inFlight = this.heartbeat(onRejoin).finally(() => {
        if (!stopped && keepGoing() && timer === undefined) timer = setTimeout(tick, interval);
      });
    };
    if (keepGoing()) timer = setTimeout(tick, interval);
    return {
      stop() {
        stopped = true;
        if (timer !== undefined) clearTimeout(timer);
        timer = undefined;
        return inFlight;
      },
    };
  }

  /**
   * Leaves the group (LeaveGroup for this member), then forgets the member id and generation.
   *
   * @param reason The reason the coordinator logs (LeaveGroup v5+).
   * @throws {KafkaError} When the coordinator cannot be reached.
   */
  async leave(reason: string): Promise<void> {
    const groupId = this.#o.groupId;
    await this.call(
      { request: LeaveGroupRequest, response: LeaveGroupResponse },
      (version) =>
        LeaveGroupRequest.create(
          version >= 3
            ? {
              groupId,
              members: [{
                memberId: this.#memberId,
                groupInstanceId: null,
                reason: version >= 5 ? reason : null,
              }],
            }
            : { groupId, memberId: this.#memberId },
        ),
      (r) => r.errorCode,
    );
    this.#memberId = "";
    this.#generationId = -1;
  }
}
