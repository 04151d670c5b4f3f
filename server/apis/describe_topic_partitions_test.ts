// Copyright 2026 the Sluice authors. Apache-2.0 license.
// DescribeTopicPartitions (key 75) on a real broker: exact answers for all topics, listed
// topics, unknown topics, limits cutting a topic, cursors (also on a removed topic), pages
// concatenating to one unlimited answer, bad cursors, and ACLs.
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { ErrorCode } from "../../protocol/errors.ts";
import {
  DescribeTopicPartitionsRequest,
  DescribeTopicPartitionsResponse,
} from "../../protocol/messages/describe_topic_partitions.ts";
import {
  DeleteTopicsRequest,
  DeleteTopicsResponse,
} from "../../protocol/messages/delete_topics.ts";
import {
  allowAnonymous as allow,
  createTopic,
  NO_TOPIC_ID,
  RawClient,
  startAclBroker,
  startTestBroker,
} from "../testing.ts";
import { AclOperation as Op, PatternType, ResourceType as RT } from "../security/acl.ts";

type Answer = DescribeTopicPartitionsResponse;
type Cursor = { topicName: string; partitionIndex: number } | null;

function ask(
  c: RawClient,
  topics: string[],
  limit = 2000,
  cursor: Cursor = null,
): Promise<Answer> {
  return c.request(DescribeTopicPartitionsRequest, DescribeTopicPartitionsResponse, 0, {
    topics: topics.map((name) => ({ name })),
    responsePartitionLimit: limit,
    cursor,
  });
}

/**
 * Every operation a topic supports (no authorizer): READ, WRITE, CREATE, DELETE, ALTER,
 * DESCRIBE, DESCRIBE_CONFIGS, ALTER_CONFIGS (bits 3-8, 10, 11), what Kafka answers.
 */
const ALL_TOPIC_OPS = 3576;

/** One topic's entry as Sluice answers it standalone: node 1 leads every partition. */
function topic(name: string, id: string, partitions: number[], ops = ALL_TOPIC_OPS) {
  return {
    errorCode: 0,
    name,
    topicId: id,
    isInternal: false,
    partitions: partitions.map((i) => ({
      errorCode: 0,
      partitionIndex: i,
      leaderId: 1,
      leaderEpoch: 0,
      replicaNodes: [1],
      isrNodes: [1],
      eligibleLeaderReplicas: [],
      lastKnownElr: [],
      offlineReplicas: [],
    })),
    topicAuthorizedOperations: ops,
  };
}

function errorTopic(name: string, errorCode: number, ops = ALL_TOPIC_OPS) {
  return {
    errorCode,
    name,
    topicId: NO_TOPIC_ID,
    isInternal: false,
    partitions: [],
    topicAuthorizedOperations: ops,
  };
}

Deno.test("DescribeTopicPartitions: all topics sorted, listed topics, unknown and invalid names", async () => {
  await using t = await startTestBroker({ nodeId: 1 });
  const c = await RawClient.connect(t.broker.port);
  try {
    const b = await createTopic(c, "b", 2);
    const a = await createTopic(c, "a", 3);
    const all = await ask(c, []);
    assertEquals(all, {
      throttleTimeMs: 0,
      topics: [topic("a", a, [0, 1, 2]), topic("b", b, [0, 1])],
      nextCursor: null,
    });
    // listed: each once, sorted; unknown -> UNKNOWN_TOPIC_OR_PARTITION, bad name -> INVALID_TOPIC
    const listed = await ask(c, ["nope", "b", "b", "a b", "a"]);
    assertEquals(listed.topics, [
      topic("a", a, [0, 1, 2]),
      errorTopic("a b", ErrorCode.INVALID_TOPIC_EXCEPTION),
      topic("b", b, [0, 1]),
      errorTopic("nope", ErrorCode.UNKNOWN_TOPIC_OR_PARTITION),
    ]);
    assertEquals(listed.nextCursor, null);
  } finally {
    c.close();
  }
});

Deno.test("DescribeTopicPartitions: a limit cuts a topic; the cursor resumes; pages concatenate to one answer", async () => {
  await using t = await startTestBroker({ nodeId: 1 });
  const c = await RawClient.connect(t.broker.port);
  try {
    const a = await createTopic(c, "a", 3);
    const b = await createTopic(c, "b", 5);
    const d = await createTopic(c, "d", 2);
    // 3 of a, 1 of b: b cut after partition 0
    const p1 = await ask(c, [], 4);
    assertEquals(p1.topics, [topic("a", a, [0, 1, 2]), topic("b", b, [0])]);
    assertEquals(p1.nextCursor, { topicName: "b", partitionIndex: 1 });
    const p2 = await ask(c, [], 4, p1.nextCursor);
    assertEquals(p2.topics, [topic("b", b, [1, 2, 3, 4])]);
    // the limit used up exactly at b's end: the next topic from its partition 0
    assertEquals(p2.nextCursor, { topicName: "d", partitionIndex: 0 });
    const p3 = await ask(c, [], 4, p2.nextCursor);
    assertEquals([p3.topics, p3.nextCursor], [[topic("d", d, [0, 1])], null]);
    // every page size: the pages concatenate to the unlimited answer
    const whole = (await ask(c, [])).topics;
    for (const limit of [1, 2, 3, 4, 5, 6, 7, 9, 10]) {
      const seen = new Map<string, Answer["topics"][number]>();
      let cursor: Cursor = null;
      let pages = 0;
      do {
        const page = await ask(c, [], limit, cursor);
        pages++;
        for (const e of page.topics) {
          const had = seen.get(e.name!);
          if (had) had.partitions.push(...e.partitions);
          else seen.set(e.name!, e);
        }
        cursor = page.nextCursor;
      } while (cursor !== null && pages < 20);
      assertEquals([...seen.values()], whole, `limit ${limit}`);
      assertEquals(pages, Math.ceil(10 / limit), `pages at limit ${limit}`);
    }
    // listed topics page the same way; limit 0 and negative answer one partition
    const l1 = await ask(c, ["d", "b"], 0);
    assertEquals([l1.topics, l1.nextCursor], [[topic("b", b, [0])], {
      topicName: "b",
      partitionIndex: 1,
    }]);
    const l2 = await ask(c, ["d", "b"], -5, { topicName: "b", partitionIndex: 4 });
    assertEquals([l2.topics, l2.nextCursor], [[topic("b", b, [4])], {
      topicName: "d",
      partitionIndex: 0,
    }]);
    // a cursor past a topic's end: the topic with no partitions, then the next
    const past = await ask(c, [], 2000, { topicName: "a", partitionIndex: 7 });
    assertEquals(past.topics.map((e) => [e.name, e.partitions.length]), [["a", 0], ["b", 5], [
      "d",
      2,
    ]]);
    // the limit above Kafka's max.request.partition.size.limit default (2000) is capped to it
    const big = await createTopic(c, "e", 2001);
    const capped = await ask(c, ["e"], 5000);
    assertEquals(capped.topics[0].partitions.length, 2000);
    assertEquals(capped.topics[0].topicId, big);
    assertEquals(capped.nextCursor, { topicName: "e", partitionIndex: 2000 });
  } finally {
    c.close();
  }
});

Deno.test("DescribeTopicPartitions: cursors on unknown or removed topics, and bad cursors", async () => {
  await using t = await startTestBroker({ nodeId: 1 });
  const c = await RawClient.connect(t.broker.port);
  try {
    const a = await createTopic(c, "a", 2);
    await createTopic(c, "b", 2);
    const d = await createTopic(c, "d", 2);
    const p1 = await ask(c, [], 3);
    assertEquals(p1.nextCursor, { topicName: "b", partitionIndex: 1 });
    const del = await c.request(DeleteTopicsRequest, DeleteTopicsResponse, 6, {
      topics: [{ name: "b", topicId: NO_TOPIC_ID }],
      timeoutMs: 5000,
    });
    assertEquals(del.responses[0].errorCode, 0);
    // all topics: the removed cursor topic is skipped; the next starts at partition 0
    const p2 = await ask(c, [], 3, p1.nextCursor);
    assertEquals([p2.topics, p2.nextCursor], [[topic("d", d, [0, 1])], null]);
    // a cursor between names starts at the next name
    const between = await ask(c, [], 3, { topicName: "c", partitionIndex: 1 });
    assertEquals(between.topics, [topic("d", d, [0, 1])]);
    // listed: the removed cursor topic is answered unknown, then the rest
    const listed = await ask(c, ["a", "b", "d"], 3, p1.nextCursor);
    assertEquals(listed.topics, [
      errorTopic("b", ErrorCode.UNKNOWN_TOPIC_OR_PARTITION),
      topic("d", d, [0, 1]),
    ]);
    // listed without the cursor's topic, or a negative cursor partition: INVALID_REQUEST
    const notListed = await ask(c, ["a", "d"], 3, { topicName: "b", partitionIndex: 0 });
    const invalid = (name: string) => ({
      errorCode: ErrorCode.INVALID_REQUEST,
      name,
      topicId: NO_TOPIC_ID,
      isInternal: false,
      partitions: [],
      topicAuthorizedOperations: -2147483648,
    });
    assertEquals([notListed.topics, notListed.nextCursor], [[invalid("a"), invalid("d")], null]);
    const negative = await ask(c, [], 3, { topicName: "a", partitionIndex: -1 });
    assertEquals(negative.topics, []);
    const negListed = await ask(c, ["a"], 3, { topicName: "a", partitionIndex: -1 });
    assertEquals(negListed.topics, [invalid("a")]);
    // the connection still serves
    assertEquals((await ask(c, ["a"])).topics, [topic("a", a, [0, 1])]);
  } finally {
    c.close();
  }
});

Deno.test("DescribeTopicPartitions: ACLs as Metadata - hidden when all, TOPIC_AUTHORIZATION_FAILED when listed", async () => {
  // Topics made before any ACL applies; then nothing is allowed.
  await using t = await startAclBroker({ hidden: 2, vis1: 2, vis2: 1 }, { nodeId: 1 });
  const { vis1: v1, vis2: v2 } = t.topicIds;
  const authorizer = t.broker.authorizer!;
  const c = t.client;
  // nothing allowed: all -> nothing; listed -> each refused
  assertEquals((await ask(c, [])).topics, []);
  const ops = (1 << Op.DESCRIBE) | (1 << Op.READ);
  await authorizer.createAcls([allow(RT.TOPIC, "vis", Op.READ, PatternType.PREFIXED)]);
  const all = await ask(c, []);
  assertEquals(all.topics, [topic("vis1", v1, [0, 1], ops), topic("vis2", v2, [0], ops)]);
  // listed: refused ones after the others, with a zero id and no partitions; an unknown
  // allowed one is UNKNOWN_TOPIC_OR_PARTITION with its operations
  const refused = {
    ...errorTopic("hidden", ErrorCode.TOPIC_AUTHORIZATION_FAILED),
    topicAuthorizedOperations: -2147483648,
  };
  const listed = await ask(c, ["vis2", "hidden", "vis-none", "vis1"], 2);
  assertEquals(listed.topics, [
    errorTopic("vis-none", ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, ops),
    topic("vis1", v1, [0, 1], ops),
    refused,
  ]);
  assertEquals(listed.nextCursor, { topicName: "vis2", partitionIndex: 0 });
  // the refused topic sorts before the cursor: no longer answered
  const next = await ask(c, ["vis2", "hidden", "vis-none", "vis1"], 2, listed.nextCursor);
  assertEquals([next.topics, next.nextCursor], [[topic("vis2", v2, [0], ops)], null]);
  // a cursor on a denied topic (all topics): skipped as unknown
  const onDenied = await ask(c, [], 2, { topicName: "hidden", partitionIndex: 1 });
  assertEquals(onDenied.topics.map((e) => [e.name, e.partitions.map((p) => p.partitionIndex)]), [
    ["vis1", [0, 1]],
  ]);
  assertEquals(onDenied.nextCursor, { topicName: "vis2", partitionIndex: 0 });
});
