// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * The member side of the consumer group protocol (KIP-848, `group.protocol=consumer`): the
 * ConsumerGroupHeartbeat requests of one member and the state they carry (member id, epoch, the
 * assignment the coordinator last sent). {@linkcode GroupConsumer} (`groupProtocol: "consumer"`)
 * drives it: it reconciles its partitions towards {@linkcode ConsumerProtocolMember.target}
 * (revoking first) and acknowledges with the partitions it owns.
 *
 * @module
 */

import { ErrorCode, KafkaError } from "../protocol/errors.ts";
import {
  ConsumerGroupHeartbeatRequest,
  ConsumerGroupHeartbeatResponse,
} from "../protocol/messages/consumer_group_heartbeat.ts";
import type { GroupMembership } from "./group_membership.ts";

/** Partitions by topic id. */
export type TopicIdPartitions = Map<string, number[]>;

/** Errors after which the member has lost its partitions and must join again (epoch 0). */
export const FENCED_ERRORS: ReadonlySet<number> = new Set<number>([
  ErrorCode.UNKNOWN_MEMBER_ID,
  ErrorCode.FENCED_MEMBER_EPOCH,
]);

/** What one heartbeat sends besides the member id and epoch. */
export interface HeartbeatFields {
  /** Subscribed topic names, or `null` when unchanged. */
  subscribedTopicNames: string[] | null;
  /** Owned partitions (the acknowledgment of an assignment), or `null` when unchanged. */
  owned: TopicIdPartitions | null;
}

/**
 * One member of a consumer-protocol group, as the Java client's `ConsumerMembershipManager`
 * keeps it: a member id made by the client (ConsumerGroupHeartbeat v1), the member epoch (0 to
 * join, -1 to leave), and the last assignment received.
 */
export class ConsumerProtocolMember {
  readonly #membership: GroupMembership;
  readonly #rebalanceTimeoutMs: number;
  readonly #serverAssignor: string | null;
  /** Member id (made once, kept across rejoins as Kafka's clients do). */
  readonly memberId: string = crypto.randomUUID();
  /** Member epoch: 0 before joining (and after being fenced), then the coordinator's. */
  memberEpoch = 0;
  /** The heartbeat interval the coordinator asks for (ms). */
  heartbeatIntervalMs = 5000;
  /** The assignment last received (topic ids), or `null` when none is pending. */
  target: TopicIdPartitions | null = null;
  /** In flight: heartbeats never overlap. */
  #inFlight: Promise<unknown> = Promise.resolve();

  /**
   * @param membership Finds and calls the group coordinator.
   * @param rebalanceTimeoutMs How long the member may take to revoke partitions.
   * @param serverAssignor The server assignor asked for (`uniform`, `range`), or `null`.
   */
  constructor(
    membership: GroupMembership,
    rebalanceTimeoutMs: number,
    serverAssignor: string | null,
  ) {
    this.#membership = membership;
    this.#rebalanceTimeoutMs = rebalanceTimeoutMs;
    this.#serverAssignor = serverAssignor;
  }

  /** Whether the member has joined (an epoch above 0). */
  get joined(): boolean {
    return this.memberEpoch > 0;
  }

  /**
   * Sends one heartbeat (after the one in flight): a full one when joining. A new assignment in
   * the answer becomes {@linkcode ConsumerProtocolMember.target}.
   *
   * @param fields Subscription and owned partitions to send.
   * @returns The answer's error code (0, or a {@linkcode FENCED_ERRORS} one: the epoch is then
   *   back to 0).
   * @throws {KafkaError} For other errors (INVALID_REGULAR_EXPRESSION, UNSUPPORTED_ASSIGNOR,
   *   GROUP_AUTHORIZATION_FAILED, ...), which a rejoin does not cure.
   */
  heartbeat(fields: HeartbeatFields): Promise<number> {
    const next = this.#inFlight.then(() => this.#send(fields), () => this.#send(fields));
    this.#inFlight = next.catch(() => {});
    return next;
  }

  async #send(fields: HeartbeatFields): Promise<number> {
    const joining = this.memberEpoch === 0;
    const owned = joining ? new Map() : fields.owned;
    const { res } = await this.#membership.call(
      { request: ConsumerGroupHeartbeatRequest, response: ConsumerGroupHeartbeatResponse },
      () =>
        ConsumerGroupHeartbeatRequest.create({
          groupId: this.#membership.groupId,
          memberId: this.memberId,
          memberEpoch: this.memberEpoch,
          rebalanceTimeoutMs: joining ? this.#rebalanceTimeoutMs : -1,
          subscribedTopicNames: fields.subscribedTopicNames,
          serverAssignor: joining ? this.#serverAssignor : null,
          topicPartitions: owned === null
            ? null
            : [...owned].map(([topicId, partitions]) => ({ topicId, partitions })),
        }),
      (r) => r.errorCode,
    );
    if (res.errorCode !== 0) {
      if (FENCED_ERRORS.has(res.errorCode)) {
        this.memberEpoch = 0;
        this.target = null;
        return res.errorCode;
      }
      throw new KafkaError(
        res.errorCode,
        `heartbeat of group ${this.#membership.groupId}${
          res.errorMessage ? `: ${res.errorMessage}` : ""
        }`,
      );
    }
    this.memberEpoch = res.memberEpoch;
    if (res.heartbeatIntervalMs > 0) this.heartbeatIntervalMs = res.heartbeatIntervalMs;
    if (res.assignment !== null) {
      this.target = new Map(
        res.assignment.topicPartitions.map((
          t,
        ) => [t.topicId, [...t.partitions].sort((a, b) => a - b)]),
      );
    }
    return 0;
  }

  /**
   * Leaves the group (epoch -1); the member may join again later with epoch 0.
   *
   * @returns Once the coordinator answered (errors are ignored: the session ends anyway).
   */
  async leave(): Promise<void> {
    if (this.memberEpoch <= 0) return;
    await this.#inFlight;
    this.memberEpoch = 0;
    this.target = null;
    await this.#membership.call(
      { request: ConsumerGroupHeartbeatRequest, response: ConsumerGroupHeartbeatResponse },
      () =>
        ConsumerGroupHeartbeatRequest.create({
          groupId: this.#membership.groupId,
          memberId: this.memberId,
          memberEpoch: -1,
        }),
      (r) => r.errorCode,
    ).catch(() => {});
  }
}
