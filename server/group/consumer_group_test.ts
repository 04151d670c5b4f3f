// Copyright 2026 the Sluice authors. Apache-2.0 license.
// The consumer group protocol (KIP-848) in the coordinator: exact epochs, assignments and errors
// of ConsumerGroupHeartbeat sequences, with a manual clock.
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { ErrorCode } from "../../protocol/errors.ts";
import {
  type ConsumerGroupHeartbeatParams,
  type ConsumerGroupHeartbeatResult,
  GroupCoordinator,
} from "./coordinator.ts";
import { assign, type SubscribedTopic } from "./consumer_group.ts";
import { ManualScheduler } from "./scheduler.ts";
import { ReplicationError } from "../replication_error.ts";
import { LogManager } from "../../engine/mod.ts";
import { openGroupCoordinator } from "./open_group_coordinator.ts";

const T = "AAAAAAAAAAAAAAAAAAAAAQ"; // topic "t"'s id
const U = "AAAAAAAAAAAAAAAAAAAAAg"; // topic "u"'s id

/**
 * A ConsumerGroupHeartbeat of `memberId` in group g: at epoch 0 a join subscribing to t, else a
 * heartbeat with nothing changed; `more` overrides fields.
 */
function heartbeat(
  groups: GroupCoordinator,
  lookup: (name: string) => SubscribedTopic | undefined,
  memberId: string,
  memberEpoch: number,
  more: Partial<ConsumerGroupHeartbeatParams> = {},
): ConsumerGroupHeartbeatResult {
  return groups.consumerGroupHeartbeat({
    groupId: "g",
    memberId,
    memberEpoch,
    instanceId: null,
    rackId: null,
    rebalanceTimeoutMs: memberEpoch === 0 ? 30_000 : -1,
    subscribedTopicNames: memberEpoch === 0 ? ["t"] : null,
    serverAssignor: null,
    topicPartitions: memberEpoch === 0 ? [] : null,
    clientId: "c",
    clientHost: "/127.0.0.1",
    ...more,
  }, lookup);
}

function setup() {
  const clock = new ManualScheduler(1_000_000);
  const coordinator = new GroupCoordinator({ scheduler: clock, config: {} });
  const topics = new Map<string, SubscribedTopic>([
    ["t", { id: T, name: "t", partitions: 6 }],
    ["u", { id: U, name: "u", partitions: 2 }],
  ]);
  const hb = (
    memberId: string,
    memberEpoch: number,
    more: Partial<ConsumerGroupHeartbeatParams> = {},
  ) => heartbeat(coordinator, (name) => topics.get(name), memberId, memberEpoch, more);
  return { clock, coordinator, topics, hb };
}

/** The result's epoch and partitions of topic t (or null when no assignment was sent). */
function view(r: ConsumerGroupHeartbeatResult): [number, number, number[] | null] {
  return [
    r.errorCode,
    r.memberEpoch,
    r.assignment === null ? null : r.assignment.find((a) => a.topicId === T)?.partitions ?? [],
  ];
}

const owns = (...partitions: number[]) => ({ topicPartitions: [{ topicId: T, partitions }] });

Deno.test("consumer group: a first member gets every partition at epoch 1", () => {
  const { coordinator, hb } = setup();
  const r = hb("a", 0);
  assertEquals(view(r), [0, 1, [0, 1, 2, 3, 4, 5]]);
  assertEquals([r.memberId, r.heartbeatIntervalMs], ["a", 5000]);
  const d = coordinator.consumerGroupDescribe("g");
  assertEquals([d.groupState, d.groupEpoch, d.assignmentEpoch, d.assignorName], [
    "Stable",
    1,
    1,
    "uniform",
  ]);
  // a plain heartbeat with nothing changed carries no assignment
  assertEquals(view(hb("a", 1)), [0, 1, null]);
  coordinator.close();
});

Deno.test("consumer group: a partition moves only once its owner has revoked it", () => {
  const { coordinator, hb } = setup();
  hb("a", 0);
  // b joins at epoch 2 with nothing: a still holds everything
  assertEquals(view(hb("b", 0)), [0, 2, []]);
  assertEquals(coordinator.consumerGroupDescribe("g").groupState, "Reconciling");
  // a keeps 0-2 at epoch 1 and must revoke 3-5
  assertEquals(view(hb("a", 1, owns(0, 1, 2, 3, 4, 5))), [0, 1, [0, 1, 2]]);
  // b asks again: 3-5 are still a's
  assertEquals(view(hb("b", 2, owns())), [0, 2, null]);
  // a still reports 3-5: nothing moves
  assertEquals(view(hb("a", 1, owns(0, 1, 2, 3, 4, 5))), [0, 1, null]);
  assertEquals(view(hb("b", 2, owns())), [0, 2, null]);
  // a has revoked them: it moves to epoch 2, then b gets them
  // (its partitions did not change: the epoch alone tells it, as Kafka sends no assignment)
  assertEquals(view(hb("a", 1, owns(0, 1, 2))), [0, 2, null]);
  assertEquals(view(hb("b", 2, owns())), [0, 2, [3, 4, 5]]);
  const d = coordinator.consumerGroupDescribe("g");
  assertEquals(d.groupState, "Stable");
  assertEquals(
    d.members.map((m) => [m.memberId, m.memberEpoch, m.assignment[0].partitions]),
    [["a", 2, [0, 1, 2]], ["b", 2, [3, 4, 5]]],
  );
  coordinator.close();
});

Deno.test("consumer group: member epoch checks (FENCED_MEMBER_EPOCH, lost answer)", () => {
  const { coordinator, hb } = setup();
  hb("a", 0);
  hb("b", 0);
  hb("a", 1, owns(0, 1, 2));
  assertEquals(view(hb("a", 3)), [ErrorCode.FENCED_MEMBER_EPOCH, 0, null]);
  // the previous epoch with a subset of the assignment: the epoch-2 answer was lost
  assertEquals(view(hb("a", 1, owns(0, 1))), [0, 2, null]);
  // the previous epoch owning something not assigned is fenced
  assertEquals(view(hb("a", 1, owns(0, 5))), [ErrorCode.FENCED_MEMBER_EPOCH, 0, null]);
  assertEquals(view(hb("zz", 1)), [ErrorCode.UNKNOWN_MEMBER_ID, 0, null]);
  coordinator.close();
});

Deno.test("consumer group: the session timeout removes a member and frees its partitions", () => {
  const { clock, coordinator, hb } = setup();
  hb("a", 0);
  hb("b", 0);
  hb("a", 1, owns(0, 1, 2));
  hb("b", 2, owns());
  clock.advance(30_000);
  hb("a", 2); // a heartbeats, b does not
  clock.advance(15_000); // b's 45 s are up
  assertEquals(coordinator.consumerGroupDescribe("g").members.map((m) => m.memberId), ["a"]);
  assertEquals(view(hb("a", 2)), [0, 3, [0, 1, 2, 3, 4, 5]]);
  assertEquals(view(hb("b", 2)), [ErrorCode.UNKNOWN_MEMBER_ID, 0, null]);
  coordinator.close();
});

Deno.test("consumer group: a member that does not revoke within its rebalance timeout is removed", () => {
  const { clock, coordinator, hb } = setup();
  hb("a", 0, { rebalanceTimeoutMs: 10_000 });
  hb("b", 0);
  assertEquals(view(hb("a", 1, owns(0, 1, 2, 3, 4, 5))), [0, 1, [0, 1, 2]]);
  clock.advance(5_000);
  hb("a", 1, owns(0, 1, 2, 3, 4, 5));
  clock.advance(5_000);
  assertEquals(view(hb("a", 1, owns(0, 1, 2, 3, 4, 5))), [ErrorCode.UNKNOWN_MEMBER_ID, 0, null]);
  // b gets the group's next epoch and everything
  assertEquals(view(hb("b", 2, owns())), [0, 3, [0, 1, 2, 3, 4, 5]]);
  coordinator.close();
});

Deno.test("consumer group: leaving (-1) hands the partitions to the others; Empty at the end", () => {
  const { coordinator, hb } = setup();
  hb("a", 0);
  hb("b", 0);
  hb("a", 1, owns(0, 1, 2));
  hb("b", 2, owns());
  const r = hb("b", -1);
  assertEquals([r.errorCode, r.memberId, r.memberEpoch, r.assignment], [0, "b", -1, null]);
  assertEquals(view(hb("a", 2, owns(0, 1, 2))), [0, 3, [0, 1, 2, 3, 4, 5]]);
  hb("a", -1);
  const d = coordinator.consumerGroupDescribe("g");
  assertEquals([d.groupState, d.groupEpoch, d.members.length], ["Empty", 4, 0]);
  coordinator.close();
});

Deno.test("consumer group: new partitions and subscribed topics bump the epoch", () => {
  const { coordinator, topics, hb } = setup();
  hb("a", 0);
  topics.set("t", { id: T, name: "t", partitions: 8 });
  assertEquals(view(hb("a", 1)), [0, 2, [0, 1, 2, 3, 4, 5, 6, 7]]);
  // a topic that does not exist yet is assigned once created
  const r = hb("a", 2, { subscribedTopicNames: ["t", "v"] });
  assertEquals([r.memberEpoch, r.assignment], [3, null]);
  topics.set("v", { id: "AAAAAAAAAAAAAAAAAAAAAw", name: "v", partitions: 1 });
  assertEquals(hb("a", 3).assignment, [
    { topicId: T, partitions: [0, 1, 2, 3, 4, 5, 6, 7] },
    { topicId: "AAAAAAAAAAAAAAAAAAAAAw", partitions: [0] },
  ]);
  coordinator.close();
});

Deno.test("consumer group: range assignor on request; UNSUPPORTED_ASSIGNOR otherwise", () => {
  const { coordinator, topics, hb } = setup();
  topics.set("t", { id: T, name: "t", partitions: 5 });
  hb("a", 0, { serverAssignor: "range" });
  hb("b", 0, { serverAssignor: "range" });
  hb("a", 1, owns(0, 1, 2, 3, 4));
  const d = coordinator.consumerGroupDescribe("g");
  assertEquals(d.assignorName, "range");
  assertEquals(d.members.map((m) => m.targetAssignment[0].partitions), [[0, 1, 2], [3, 4]]);
  const r = hb("c", 0, { serverAssignor: "sticky" });
  assertEquals([r.errorCode, r.errorMessage], [
    ErrorCode.UNSUPPORTED_ASSIGNOR,
    "ServerAssignor sticky is not supported. Supported assignors: uniform, range.",
  ]);
  coordinator.close();
});

Deno.test("consumer group: invalid requests get Kafka's INVALID_REQUEST messages", () => {
  const { coordinator, hb } = setup();
  const msg = (r: ConsumerGroupHeartbeatResult) => [r.errorCode, r.errorMessage];
  const bad = (m: string) => [ErrorCode.INVALID_REQUEST, m];
  assertEquals(msg(hb("a", 0, { groupId: "" })), bad("GroupId can't be empty."));
  assertEquals(
    msg(hb("a", 0, { rebalanceTimeoutMs: -1 })),
    bad(
      "RebalanceTimeoutMs must be provided in first request.",
    ),
  );
  assertEquals(msg(hb("a", 0, owns(1))), bad("TopicPartitions must be empty when (re-)joining."));
  assertEquals(
    msg(hb("a", 0, { topicPartitions: null })),
    bad(
      "TopicPartitions must be empty when (re-)joining.",
    ),
  );
  assertEquals(
    msg(hb("a", 0, { subscribedTopicNames: null })),
    bad("Either SubscribedTopicNames or SubscribedTopicRegex must be non-null when (re-)joining."),
  );
  assertEquals(
    msg(hb("", 0, { subscribedTopicNames: null, apiVersion: 0 })),
    bad("SubscribedTopicNames must be set in first request."),
  );
  assertEquals(msg(hb("a", -3)), bad("MemberEpoch is invalid."));
  assertEquals(msg(hb("", 0)), bad("MemberId can't be empty."));
  assertEquals(msg(hb("a", -2)), bad("InstanceId can't be null."));
  assertEquals(msg(hb("a", 0, { instanceId: "" })), bad("InstanceId can't be empty."));
  assertEquals(msg(hb("a", 0, { subscribedTopicRegex: "(t.*" })), [
    ErrorCode.INVALID_REGULAR_EXPRESSION,
    "SubscribedTopicRegex `(t.*` is not a valid regular expression: missing closing ).",
  ]);
  // v0: the coordinator makes the member id (a 22-character uuid)
  const r = hb("", 0, { apiVersion: 0 });
  assertEquals([r.errorCode, r.memberId?.length], [0, 22]);
  assertEquals(msg(hb("x", 1, { groupId: "nope" })), [
    ErrorCode.GROUP_ID_NOT_FOUND,
    "Consumer group nope not found.",
  ]);
  coordinator.close();
});

Deno.test("consumer group: static member leaves (-2) and comes back with its partitions", () => {
  const { coordinator, hb } = setup();
  hb("a", 0, { instanceId: "i1" });
  hb("b", 0, { instanceId: "i2" });
  hb("a", 1, owns(0, 1, 2));
  hb("b", 2, owns());
  assertEquals(view(hb("a2", 0, { instanceId: "i1" })), [
    ErrorCode.UNRELEASED_INSTANCE_ID,
    0,
    null,
  ]);
  assertEquals(view(hb("a", -2, { instanceId: "i1" })), [0, -2, null]);
  // the group epoch does not move; the new member id takes over a's partitions and epoch
  assertEquals(view(hb("a2", 0, { instanceId: "i1" })), [0, 2, [0, 1, 2]]);
  const d = coordinator.consumerGroupDescribe("g");
  assertEquals([d.groupEpoch, d.members.map((m) => m.memberId).sort()], [2, ["a2", "b"]]);
  coordinator.close();
});

Deno.test("consumer group: offsets need the member's current epoch (v9)", async () => {
  const { coordinator, hb } = setup();
  hb("a", 0);
  const commit = async (memberId: string, generationId: number, apiVersion = 9) =>
    (await coordinator.commitOffsets({
      groupId: "g",
      memberId,
      generationId,
      groupInstanceId: null,
      apiVersion,
      topics: [{
        topic: "t",
        partitions: [{ partition: 0, offset: 5, leaderEpoch: -1, metadata: "" }],
      }],
    }))[0].partitions[0].errorCode;
  assertEquals(await commit("a", 1), 0);
  assertEquals(await commit("a", 0), ErrorCode.STALE_MEMBER_EPOCH);
  assertEquals(await commit("x", 1), ErrorCode.UNKNOWN_MEMBER_ID);
  assertEquals(await commit("", -1), ErrorCode.UNKNOWN_MEMBER_ID);
  assertEquals(await commit("a", 1, 8), ErrorCode.UNSUPPORTED_VERSION);
  const fetch = (memberId: string | null, memberEpoch: number) => {
    const r = coordinator.fetchOffsets("g", [{ topic: "t", partitions: [0] }], {
      memberId,
      memberEpoch,
    });
    return [r.errorCode, r.topics[0]?.partitions[0].offset];
  };
  assertEquals(fetch(null, -1), [0, 5]);
  assertEquals(fetch("a", 1), [0, 5]);
  assertEquals(fetch("a", 2), [ErrorCode.STALE_MEMBER_EPOCH, undefined]);
  assertEquals(fetch("x", 1), [ErrorCode.UNKNOWN_MEMBER_ID, undefined]);
  // TxnOffsetCommit (sendOffsetsToTransaction) from the member: its epoch, as a generation
  const txn = (memberId: string, generationId: number) =>
    coordinator.validateTxnOffsetCommit({
      groupId: "g",
      memberId,
      generationId,
      groupInstanceId: null,
      transactionalId: "tx",
      producerId: 1,
      producerEpoch: 0,
      topics: [],
    });
  assertEquals([txn("a", 1), txn("a", 2), txn("x", 1)], [
    0,
    ErrorCode.ILLEGAL_GENERATION,
    ErrorCode.UNKNOWN_MEMBER_ID,
  ]);
  // with no members, an admin commit (epoch -1) is accepted
  hb("a", -1);
  assertEquals(await commit("", -1, 8), 0);
  coordinator.close();
});

Deno.test("consumer group: classic and consumer groups keep apart as in Kafka", async () => {
  const { coordinator, hb } = setup();
  hb("a", 0);
  const join = await coordinator.joinGroup({
    groupId: "g",
    memberId: "",
    groupInstanceId: null,
    requireKnownMemberId: false,
    clientId: "c",
    clientHost: "/127.0.0.1",
    rebalanceTimeoutMs: 10_000,
    sessionTimeoutMs: 10_000,
    protocolType: "consumer",
    protocols: [{ name: "range", metadata: new Uint8Array(0) }],
    reason: null,
  });
  assertEquals(join.errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
  assertEquals(
    coordinator.heartbeat({ groupId: "g", generationId: 1, memberId: "a", groupInstanceId: null }),
    ErrorCode.UNKNOWN_MEMBER_ID,
  );
  // DescribeGroups (classic) sees no classic group; ListGroups lists its type and state
  assertEquals(coordinator.describeGroup("g").groupState, "Dead");
  assertEquals(coordinator.listGroups([], ["consumer"]), [
    { groupId: "g", protocolType: "consumer", groupState: "Stable", groupType: "consumer" },
  ]);
  assertEquals(coordinator.listGroups([], ["classic"]), []);
  assertEquals(coordinator.listGroups(["stable"], []).length, 1);
  assertEquals(coordinator.listGroups(["empty"], []).length, 0);
  assertEquals(await coordinator.deleteGroups(["g"]), [
    { groupId: "g", errorCode: ErrorCode.NON_EMPTY_GROUP },
  ]);
  assertEquals(coordinator.consumerGroupDescribe("h").errorCode, ErrorCode.GROUP_ID_NOT_FOUND);
  coordinator.close();
});

Deno.test("consumer group: a classic group with members is not taken over; an empty one is", async () => {
  const { coordinator, hb } = setup();
  // an empty group known by its offsets only (as after a restart) becomes a consumer group
  await coordinator.commitOffsets({
    groupId: "g",
    memberId: "",
    generationId: -1,
    groupInstanceId: null,
    topics: [{
      topic: "t",
      partitions: [{ partition: 0, offset: 7, leaderEpoch: -1, metadata: "" }],
    }],
  });
  const r1 = hb("a", 1);
  assertEquals([r1.errorCode, r1.errorMessage], [
    ErrorCode.GROUP_ID_NOT_FOUND,
    "Group g is not a consumer group.",
  ]);
  assertEquals(view(hb("a", 0)), [0, 1, [0, 1, 2, 3, 4, 5]]);
  assertEquals(
    coordinator.fetchOffsets("g", [{ topic: "t", partitions: [0] }]).topics[0]
      .partitions[0].offset,
    7,
  );
  const joined = coordinator.joinGroup({
    groupId: "k",
    memberId: "",
    groupInstanceId: null,
    requireKnownMemberId: false,
    clientId: "c",
    clientHost: "/127.0.0.1",
    rebalanceTimeoutMs: 10_000,
    sessionTimeoutMs: 10_000,
    protocolType: "consumer",
    protocols: [{ name: "range", metadata: new Uint8Array(0) }],
    reason: null,
  });
  const r = hb("b", 0, { groupId: "k" });
  assertEquals([r.errorCode, r.errorMessage], [
    ErrorCode.GROUP_ID_NOT_FOUND,
    "Cannot upgrade classic group k to consumer group because online upgrade is disabled.",
  ]);
  coordinator.close();
  await joined;
});

Deno.test("uniform assignor: balanced and sticky, also for different subscriptions", () => {
  const topics = new Map<string, SubscribedTopic>([
    [T, { id: T, name: "t", partitions: 7 }],
    [U, { id: U, name: "u", partitions: 2 }],
  ]);
  const list = (m: Map<string, Map<string, Set<number>>>) =>
    [...m].map(([id, a]) => [id, [...a].map(([t, s]) => [t, [...s].sort()])]);
  // same subscriptions: 9 partitions over 2 -> 5 + 4; a keeps what it had, the rest go round
  const same = assign("uniform", [
    { memberId: "b", topics: new Set([T, U]), current: new Map() },
    { memberId: "a", topics: new Set([T, U]), current: new Map([[T, new Set([5, 6])]]) },
  ], topics);
  assertEquals(list(same), [
    ["a", [[T, [0, 2, 4, 5, 6]]]],
    ["b", [[T, [1, 3]], [U, [0, 1]]]],
  ]);
  // different subscriptions: u only to b, t to both
  const diff = assign("uniform", [
    { memberId: "a", topics: new Set([T]), current: new Map() },
    { memberId: "b", topics: new Set([T, U]), current: new Map() },
  ], topics);
  const counts = [...diff.values()].map((a) => [...a.values()].reduce((n, s) => n + s.size, 0));
  assertEquals(counts.sort(), [4, 5]);
  assertEquals(diff.get("a")!.has(U), false);
});

Deno.test("consumer group: epoch, members and what they hold survive reopening the engine", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sluice_cg_" });
  try {
    const clock = new ManualScheduler(1_000_000);
    const topic = { id: T, name: "t", partitions: 6 };
    const lookup = (name: string) => (name === "t" ? topic : undefined);
    const join = (
      groups: GroupCoordinator,
      memberId: string,
      memberEpoch: number,
      more: Partial<ConsumerGroupHeartbeatParams> = {},
    ) => heartbeat(groups, lookup, memberId, memberEpoch, more);
    let logs = await LogManager.open(dir);
    let groups = await openGroupCoordinator(logs, {
      offsetsTopicNumPartitions: 3,
      scheduler: clock,
    });
    join(groups, "a", 0);
    join(groups, "b", 0);
    // a keeps 0-2 and has 3-5 to revoke when the broker stops
    assertEquals(view(join(groups, "a", 1, owns(0, 1, 2, 3, 4, 5))), [0, 1, [0, 1, 2]]);
    await groups.commitOffsets({
      groupId: "g",
      memberId: "a",
      generationId: 1,
      groupInstanceId: null,
      topics: [{
        topic: "t",
        partitions: [{ partition: 1, offset: 9, leaderEpoch: -1, metadata: "" }],
      }],
    });
    await new Promise((r) => setTimeout(r, 50)); // the group's records are written in the background
    groups.close();
    await logs.close();

    logs = await LogManager.open(dir);
    groups = await openGroupCoordinator(logs, { offsetsTopicNumPartitions: 3, scheduler: clock });
    const d = groups.consumerGroupDescribe("g");
    assertEquals([d.groupState, d.groupEpoch, d.assignmentEpoch], ["Reconciling", 2, 2]);
    assertEquals(d.members.map((m) => [m.memberId, m.memberEpoch, m.assignment]), [
      ["a", 1, [{ topicId: T, topicName: "", partitions: [0, 1, 2] }]],
      ["b", 2, []],
    ]);
    assertEquals(groups.listGroups()[0].groupType, "consumer");
    // the members go on at their epochs: 3-5 still wait for a's revocation
    assertEquals(view(join(groups, "b", 2, owns())), [0, 3, null]);
    assertEquals(view(join(groups, "a", 1, owns(0, 1, 2, 3, 4, 5))), [0, 1, null]);
    assertEquals(view(join(groups, "b", 3, owns())), [0, 3, null]);
    assertEquals(view(join(groups, "a", 1, owns(0, 1, 2))), [0, 3, null]);
    assertEquals(view(join(groups, "b", 3, owns())), [0, 3, [3, 4, 5]]);
    assertEquals(join(groups, "x", 1).errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
    assertEquals(
      groups.fetchOffsets("g", [{ topic: "t", partitions: [1] }]).topics[0].partitions[0]
        .offset,
      9,
    );
    // loaded members' sessions run: b alone heartbeats, a is removed after 45 s
    clock.advance(30_000);
    join(groups, "b", 3);
    clock.advance(15_000);
    assertEquals(view(join(groups, "b", 3)), [0, 4, [0, 1, 2, 3, 4, 5]]);
    join(groups, "b", -1);
    await new Promise((r) => setTimeout(r, 50));
    groups.close();
    await logs.close();
    logs = await LogManager.open(dir);
    groups = await openGroupCoordinator(logs, { offsetsTopicNumPartitions: 3, scheduler: clock });
    // removed members' tombstones: an Empty group at its last epoch
    const e = groups.consumerGroupDescribe("g");
    assertEquals([e.groupState, e.groupEpoch, e.members], ["Empty", 5, []]);
    // deleting the empty group writes its tombstones: gone after reopening
    assertEquals(await groups.deleteGroups(["g"]), [{ groupId: "g", errorCode: 0 }]);
    await new Promise((r) => setTimeout(r, 50));
    groups.close();
    await logs.close();
    logs = await LogManager.open(dir);
    groups = await openGroupCoordinator(logs, { offsetsTopicNumPartitions: 3, scheduler: clock });
    assertEquals(groups.consumerGroupDescribe("g").errorCode, ErrorCode.GROUP_ID_NOT_FOUND);
    groups.close();
    await logs.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("consumer group: a heartbeat is answered once its records are durable, or with the write's error", async () => {
  const clock = new ManualScheduler(1_000_000);
  const written: string[] = [];
  let fail = false;
  const coordinator = new GroupCoordinator({
    scheduler: clock,
    log: {
      append(_groupId, records) {
        if (fail) {
          return Promise.reject(new ReplicationError(ErrorCode.NOT_LEADER_OR_FOLLOWER, "moved"));
        }
        written.push(...records.map((r) => r.kind));
        return Promise.resolve(0);
      },
      appendTransactional: () => Promise.resolve(0),
    },
  });
  const req = {
    groupId: "g",
    memberId: "a",
    memberEpoch: 0,
    instanceId: null,
    rackId: null,
    rebalanceTimeoutMs: 30_000,
    subscribedTopicNames: ["t"],
    serverAssignor: null,
    topicPartitions: [],
    clientId: "c",
    clientHost: "/127.0.0.1",
  };
  const lookup = (name: string) => name === "t" ? { id: T, name: "t", partitions: 2 } : undefined;
  const r = coordinator.consumerGroupHeartbeat(req, lookup);
  assertEquals(await r.written, 0);
  assertEquals(written, ["consumer-group", "consumer-member", "consumer-assignment"]);
  // nothing changed: nothing to write
  assertEquals(
    coordinator.consumerGroupHeartbeat({ ...req, memberEpoch: 1, topicPartitions: null }, lookup)
      .written,
    undefined,
  );
  fail = true;
  const r2 = coordinator.consumerGroupHeartbeat({ ...req, memberId: "b" }, lookup);
  assertEquals(await r2.written, ErrorCode.NOT_COORDINATOR);
  coordinator.close();
});

Deno.test("consumer group: error messages quote long ids cut, so that answers stay encodable", () => {
  const { coordinator, hb } = setup();
  const long = "x".repeat(32_000);
  const r = hb("a", 1, { groupId: long });
  assertEquals([r.errorCode, r.errorMessage], [
    ErrorCode.GROUP_ID_NOT_FOUND,
    `Consumer group ${"x".repeat(200)}... not found.`,
  ]);
  assertEquals(hb("a", 0, { serverAssignor: long }).errorMessage!.length < 400, true);
  assertEquals(
    coordinator.consumerGroupDescribe(long).errorMessage,
    `Group ${"x".repeat(200)}... not found.`,
  );
  coordinator.close();
});
