// Copyright 2026 the Sluice authors. Apache-2.0 license.
// Regex subscriptions of the consumer group protocol (KIP-848, ConsumerGroupHeartbeat v1
// SubscribedTopicRegex) in the coordinator, with a manual clock: resolution against the
// cluster's topics, the refresh interval, deleted topics, internal topics, invalid regexes, the
// stored ConsumerGroupRegularExpression records across reopening the engine.
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { ErrorCode } from "../../protocol/errors.ts";
import {
  type ConsumerGroupHeartbeatParams,
  type ConsumerGroupHeartbeatResult,
  GroupCoordinator,
} from "./coordinator.ts";
import type { SubscribedTopic } from "./consumer_group.ts";
import { ManualScheduler } from "./scheduler.ts";
import { LogManager } from "../../engine/mod.ts";
import { openGroupCoordinator } from "./open_group_coordinator.ts";
import { decodeCoordinatorRecord, encodeCoordinatorRecord } from "./schemas.ts";

/** A cluster's topics, changed by the test. */
function cluster() {
  const topics = new Map<string, SubscribedTopic>();
  let next = 1;
  const create = (name: string, partitions: number) => {
    const id = btoa(String.fromCharCode(...new Uint8Array(15), next++)).replace(/=+$/, "");
    topics.set(name, { id, name, partitions });
  };
  return { topics, create };
}

function heartbeat(
  coordinator: GroupCoordinator,
  topics: Map<string, SubscribedTopic>,
  memberId: string,
  memberEpoch: number,
  more: Partial<ConsumerGroupHeartbeatParams> = {},
): ConsumerGroupHeartbeatResult {
  return coordinator.consumerGroupHeartbeat(
    {
      groupId: "g",
      memberId,
      memberEpoch,
      instanceId: null,
      rackId: null,
      rebalanceTimeoutMs: memberEpoch === 0 ? 30_000 : -1,
      subscribedTopicNames: memberEpoch === 0 ? [] : null,
      subscribedTopicRegex: null,
      serverAssignor: null,
      topicPartitions: memberEpoch === 0 ? [] : null,
      clientId: "c",
      clientHost: "/127.0.0.1",
      ...more,
    },
    (name) => topics.get(name),
    () => topics.keys(),
  );
}

/** An answer as [error, epoch, assigned "topic:partition"s (null: none sent)]. */
function named(topics: Map<string, SubscribedTopic>, r: ConsumerGroupHeartbeatResult) {
  const byId = new Map([...topics.values()].map((t) => [t.id, t.name]));
  return [
    r.errorCode,
    r.memberEpoch,
    r.assignment === null
      ? null
      : r.assignment.flatMap((t) => t.partitions.map((p) => `${byId.get(t.topicId)}:${p}`)).sort(),
  ];
}

Deno.test("regex subscription: resolved against the topics, refreshed after the interval, deleted topics dropped", async () => {
  const clock = new ManualScheduler(1_000_000);
  const coordinator = new GroupCoordinator({ scheduler: clock, config: {} });
  const { topics, create } = cluster();
  create("orders-eu", 2);
  create("payments", 1);
  create("__consumer_offsets", 3); // internal: never matched
  create("__orders-internal-looking", 1);
  const hb = (id: string, epoch: number, more: Partial<ConsumerGroupHeartbeatParams> = {}) =>
    named(topics, heartbeat(coordinator, topics, id, epoch, more));
  try {
    // librdkafka sends subscribe(["^orders.*", "^__.*"]) as one regex, names empty
    assertEquals(hb("a", 0, { subscribedTopicRegex: "(^orders.*)|(^__.*)" }), [0, 1, [
      "__orders-internal-looking:0",
      "orders-eu:0",
      "orders-eu:1",
    ]]);
    const d = coordinator.consumerGroupDescribe("g");
    assertEquals(
      d.members.map((m) => [m.memberId, m.subscribedTopicNames, m.subscribedTopicRegex]),
      [["a", [], "(^orders.*)|(^__.*)"]],
    );
    assertEquals(d.members[0].targetAssignment.map((t) => t.topicName).sort(), [
      "__orders-internal-looking",
      "orders-eu",
    ]);

    // a matching topic created: not seen before the refresh interval (10 s) has passed
    create("orders-us", 1);
    clock.advance(5_000);
    assertEquals(hb("a", 1), [0, 1, null]);
    clock.advance(5_000);
    assertEquals(hb("a", 1), [0, 2, [
      "__orders-internal-looking:0",
      "orders-eu:0",
      "orders-eu:1",
      "orders-us:0",
    ]]);
    // a topic that does not match changes nothing
    create("payments-2", 4);
    clock.advance(10_000);
    assertEquals(hb("a", 2), [0, 2, null]);

    // a deleted topic goes at the next heartbeat (the subscribed topics are looked up each time):
    // a new group epoch, the member revokes its partitions first (its epoch unchanged), then
    // moves to the new epoch
    const owned = (...tps: string[]) => ({
      topicPartitions: tps.map((tp) => {
        const [t, p] = tp.split(":");
        return { topicId: topics.get(t)?.id ?? "AAAAAAAAAAAAAAAAAAAAAA", partitions: [Number(p)] };
      }),
    });
    const eu = topics.get("orders-eu")!.id;
    topics.delete("orders-eu");
    assertEquals(hb("a", 2), [0, 2, ["__orders-internal-looking:0", "orders-us:0"]]);
    assertEquals(
      hb("a", 2, {
        topicPartitions: [
          ...owned("__orders-internal-looking:0", "orders-us:0").topicPartitions,
          { topicId: eu, partitions: [0, 1] },
        ],
      }),
      [0, 2, null],
    );
    assertEquals(hb("a", 2, owned("__orders-internal-looking:0", "orders-us:0")), [0, 3, null]);

    // a second member with the same regex and a topic name: both count for it
    assertEquals(
      hb("b", 0, { subscribedTopicNames: ["payments"], subscribedTopicRegex: "(^orders.*)" }),
      [0, 4, ["payments:0"]],
    );
    // a keeps the internal-looking topic (only it subscribes to it); orders-us stays with a too
    // (uniform: a has 2, b 1)
    assertEquals(hb("a", 3, owned("__orders-internal-looking:0", "orders-us:0")), [0, 4, null]);
    const e = coordinator.consumerGroupDescribe("g");
    assertEquals(
      e.members.map((m) => [
        m.memberId,
        m.subscribedTopicNames,
        m.subscribedTopicRegex,
        m.targetAssignment.map((t) => `${t.topicName}:${t.partitions}`).sort(),
      ]),
      [
        ["a", [], "(^orders.*)|(^__.*)", ["__orders-internal-looking:0", "orders-us:0"]],
        ["b", ["payments"], "(^orders.*)", ["payments:0"]],
      ],
    );

    // OffsetDelete: a topic a member subscribes to, by name or through a regex, is refused
    assertEquals(
      (await coordinator.deleteOffsets("g", [
        { topic: "orders-us", partition: 0 },
        { topic: "payments", partition: 0 },
        { topic: "payments-2", partition: 0 },
      ])).partitions.map((p) => [p.topic, p.errorCode]),
      [
        ["orders-us", ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC],
        ["payments", ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC],
        ["payments-2", ErrorCode.NONE],
      ],
    );

    // b drops its regex (an empty one is none): its subscription is its names alone
    assertEquals(hb("b", 4, { subscribedTopicRegex: "" }), [0, 5, null]);
    assertEquals(
      coordinator.consumerGroupDescribe("g").members.map((m) => m.subscribedTopicRegex),
      ["(^orders.*)|(^__.*)", null],
    );

    // an invalid regex: INVALID_REGULAR_EXPRESSION with Kafka's message; nothing changes
    const bad = heartbeat(coordinator, topics, "b", 5, { subscribedTopicRegex: "orders(" });
    assertEquals([bad.errorCode, bad.errorMessage], [
      ErrorCode.INVALID_REGULAR_EXPRESSION,
      "SubscribedTopicRegex `orders(` is not a valid regular expression: missing closing ).",
    ]);
    const joinBad = heartbeat(coordinator, topics, "c", 0, { subscribedTopicRegex: "a\\1" });
    assertEquals([joinBad.errorCode, joinBad.errorMessage], [
      ErrorCode.INVALID_REGULAR_EXPRESSION,
      "SubscribedTopicRegex `a\\1` is not a valid regular expression: invalid escape sequence.",
    ]);
    assertEquals(coordinator.consumerGroupDescribe("g").groupEpoch, 5);
  } finally {
    coordinator.close();
  }
});

Deno.test("regex subscription: ConsumerGroupRegularExpression records (key version 16) round-trip", () => {
  const record = {
    kind: "consumer-regex" as const,
    groupId: "g",
    regex: "(^orders.*)",
    value: { topics: ["orders-eu", "orders-us"], version: 7, timestamp: 1_700_000_000_123 },
  };
  const { key, value } = encodeCoordinatorRecord(record);
  // key: version 16, group id, regex (int16-length strings, as Kafka's non-flexible key)
  assertEquals([...key.subarray(0, 5)], [0, 16, 0, 1, 103]);
  assertEquals(decodeCoordinatorRecord(key, value), record);
  const tomb = encodeCoordinatorRecord({ ...record, value: null });
  assertEquals(decodeCoordinatorRecord(tomb.key, tomb.value), { ...record, value: null });
});

Deno.test("regex subscription: the resolved regex and the members' regexes survive reopening the engine", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sluice_cg_regex_" });
  try {
    const clock = new ManualScheduler(1_000_000);
    const { topics, create } = cluster();
    create("orders-eu", 2);
    create("orders-us", 2);
    let logs = await LogManager.open(dir);
    let groups = await openGroupCoordinator(logs, {
      offsetsTopicNumPartitions: 3,
      scheduler: clock,
    });
    // every heartbeat's records are awaited before the engine closes
    const writes: Promise<number>[] = [];
    const hb = (id: string, epoch: number, more: Partial<ConsumerGroupHeartbeatParams> = {}) => {
      const r = heartbeat(groups, topics, id, epoch, more);
      if (r.written !== undefined) writes.push(r.written);
      return named(topics, r);
    };
    const written = async () =>
      assertEquals((await Promise.all(writes.splice(0))).every((c) => c === 0), true);
    assertEquals(hb("a", 0, { subscribedTopicRegex: "(^orders.*)" }), [0, 1, [
      "orders-eu:0",
      "orders-eu:1",
      "orders-us:0",
      "orders-us:1",
    ]]);
    assertEquals(hb("b", 0, { subscribedTopicRegex: "(^orders.*)" }), [0, 2, []]);
    // a gives up orders-us (revoked first, its epoch unchanged), then b gets it
    const eu = { topicId: topics.get("orders-eu")!.id, partitions: [0, 1] };
    const us = { topicId: topics.get("orders-us")!.id, partitions: [0, 1] };
    assertEquals(hb("a", 1, { topicPartitions: [eu, us] }), [0, 1, ["orders-eu:0", "orders-eu:1"]]);
    assertEquals(hb("a", 1, { topicPartitions: [eu] }), [0, 2, null]);
    assertEquals(hb("b", 2, { topicPartitions: [] }), [0, 2, ["orders-us:0", "orders-us:1"]]);
    await written();
    groups.close();
    await logs.close();

    logs = await LogManager.open(dir);
    groups = await openGroupCoordinator(logs, { offsetsTopicNumPartitions: 3, scheduler: clock });
    const d = groups.consumerGroupDescribe("g");
    assertEquals(d.members.map((m) => [m.memberId, m.subscribedTopicRegex, m.memberEpoch]), [
      ["a", "(^orders.*)", 2],
      ["b", "(^orders.*)", 2],
    ]);
    const stored = groups.group("g")!.consumer!.resolvedRegexes.get("(^orders.*)");
    assertEquals([stored?.topics, stored?.timestamp], [["orders-eu", "orders-us"], 1_000_000]);
    // within the refresh interval the stored resolution is used: the target is recomputed
    // from it (one epoch bump), sticky, and nobody loses a partition
    assertEquals(hb("a", 2, { topicPartitions: [eu] }), [0, 3, null]);
    assertEquals(hb("b", 2, { topicPartitions: [us] }), [0, 3, null]);
    assertEquals(
      groups.consumerGroupDescribe("g").members.map((m) =>
        m.assignment.map((t) => `${t.topicName}:${t.partitions}`)
      ),
      [["orders-eu:0,1"], ["orders-us:0,1"]],
    );
    // both leave: the regex's record gets its tombstone; after reopening none is left
    hb("a", -1);
    hb("b", -1);
    await written();
    groups.close();
    await logs.close();
    logs = await LogManager.open(dir);
    groups = await openGroupCoordinator(logs, { offsetsTopicNumPartitions: 3, scheduler: clock });
    const e = groups.consumerGroupDescribe("g");
    assertEquals([e.groupState, e.members], ["Empty", []]);
    assertEquals([...groups.group("g")!.consumer!.resolvedRegexes.keys()], []);
    // a new member with another regex starts from nothing stored for the old one
    assertEquals(hb("c", 0, { subscribedTopicRegex: "orders-us" }), [0, 6, [
      "orders-us:0",
      "orders-us:1",
    ]]);
    await written();
    groups.close();
    await logs.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
