// Copyright 2026 the Sluice authors. Apache-2.0 license.
import { deepStrictEqual as assertEquals, ok } from "node:assert/strict";
import { ErrorCode } from "../../protocol/errors.ts";
import {
  CreatePartitionsRequest,
  CreatePartitionsResponse,
} from "../../protocol/messages/create_partitions.ts";
import {
  CreateTopicsRequest,
  CreateTopicsResponse,
} from "../../protocol/messages/create_topics.ts";
import {
  DeleteTopicsRequest,
  DeleteTopicsResponse,
} from "../../protocol/messages/delete_topics.ts";
import { MetadataRequest, MetadataResponse } from "../../protocol/messages/metadata.ts";
import {
  OffsetCommitRequest,
  OffsetCommitResponse,
} from "../../protocol/messages/offset_commit.ts";
import { createTopic, NO_TOPIC_ID, RawClient, startTestBroker } from "../testing.ts";

Deno.test("CreatePartitions: grow, validate_only, and errors", async () => {
  await using t = await startTestBroker();
  const c = await RawClient.connect(t.broker.port);
  try {
    await createTopic(c, "grow", 1);
    await createTopic(c, "dry", 1);
    const res = await c.request(CreatePartitionsRequest, CreatePartitionsResponse, 3, {
      topics: [
        { name: "grow", count: 3, assignments: [{ brokerIds: [1] }, { brokerIds: [1] }] },
        { name: "missing", count: 2, assignments: null },
        { name: "dry", count: 1, assignments: null },
        { name: "dup", count: 2, assignments: null },
        { name: "dup", count: 2, assignments: null },
      ],
      timeoutMs: 1000,
    });
    assertEquals(res.results.map((r) => [r.name, r.errorCode]), [
      ["grow", 0],
      ["missing", ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
      ["dry", ErrorCode.INVALID_PARTITIONS],
      ["dup", ErrorCode.INVALID_REQUEST],
      ["dup", ErrorCode.INVALID_REQUEST],
    ]);
    const bad = await c.request(CreatePartitionsRequest, CreatePartitionsResponse, 0, {
      topics: [{ name: "dry", count: 2, assignments: [{ brokerIds: [5] }] }],
    });
    assertEquals(bad.results[0].errorCode, ErrorCode.INVALID_REPLICA_ASSIGNMENT);
    const dry = await c.request(CreatePartitionsRequest, CreatePartitionsResponse, 3, {
      topics: [{ name: "dry", count: 4, assignments: null }],
      validateOnly: true,
    });
    assertEquals(dry.results[0].errorCode, 0);
    const md = await c.request(MetadataRequest, MetadataResponse, 12, {
      topics: [{ name: "grow", topicId: NO_TOPIC_ID }, { name: "dry", topicId: NO_TOPIC_ID }],
    });
    assertEquals(md.topics.map((x) => [x.name, x.partitions.length]), [["grow", 3], ["dry", 1]]);
  } finally {
    c.close();
  }
});

async function listing(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) names.push(e.name);
  return names.sort();
}

Deno.test("CreatePartitions to 100,000 and CreateTopics of 20,000: POLICY_VIOLATION naming max.broker.partitions, nothing made", async () => {
  await using t = await startTestBroker();
  const c = await RawClient.connect(t.broker.port);
  try {
    await createTopic(c, "grow", 1);
    const before = await listing(t.dir);
    const file = await Deno.readTextFile(`${t.dir}/sluice-topics.json`);
    const res = await c.request(CreatePartitionsRequest, CreatePartitionsResponse, 3, {
      topics: [{ name: "grow", count: 100_000, assignments: null }],
      timeoutMs: 1000,
    });
    assertEquals(res.results.map((r) => [r.name, r.errorCode, r.errorMessage]), [[
      "grow",
      ErrorCode.POLICY_VIOLATION,
      "create partitions of grow failed: 99999 new partitions would make 100000 on this " +
      "broker, more than max.broker.partitions=10000 (1 exist)",
    ]]);
    const ct = await c.request(CreateTopicsRequest, CreateTopicsResponse, 7, {
      topics: [{
        name: "fuzzed",
        numPartitions: 20_000,
        replicationFactor: 1,
        assignments: [],
        configs: [],
      }],
      timeoutMs: 1000,
    });
    assertEquals(ct.topics.map((r) => [r.name, r.errorCode]), [[
      "fuzzed",
      ErrorCode.POLICY_VIOLATION,
    ]]);
    ok(ct.topics[0].errorMessage!.includes("max.broker.partitions=10000"));
    assertEquals(await listing(t.dir), before);
    assertEquals(await Deno.readTextFile(`${t.dir}/sluice-topics.json`), file);
    const md = await c.request(MetadataRequest, MetadataResponse, 12, {
      topics: [{ name: "grow", topicId: NO_TOPIC_ID }],
    });
    assertEquals(md.topics[0].partitions.length, 1);
  } finally {
    c.close();
  }
  // a lower max.partitions (cluster-wide) is the limit named
  await using small = await startTestBroker({ maxPartitions: 5 });
  const d = await RawClient.connect(small.broker.port);
  try {
    await createTopic(d, "four", 4);
    const res = await d.request(CreatePartitionsRequest, CreatePartitionsResponse, 3, {
      topics: [{ name: "four", count: 6, assignments: null }],
    });
    assertEquals(res.results[0].errorCode, ErrorCode.POLICY_VIOLATION);
    assertEquals(
      res.results[0].errorMessage,
      "create partitions of four failed: 2 new partitions would make 6 on this broker, more " +
        "than max.partitions=5 (4 exist)",
    );
  } finally {
    d.close();
  }
});

Deno.test("CreatePartitions of thousands does not hold up CreateTopics, DeleteTopics, Metadata or the first offset commit", async () => {
  await using t = await startTestBroker({ offsetsTopicNumPartitions: 50 });
  const a = await RawClient.connect(t.broker.port);
  const b = await RawClient.connect(t.broker.port);
  try {
    await createTopic(a, "big", 1);
    await createTopic(b, "doomed", 3);
    await createTopic(b, "committed", 1);
    const order: string[] = [];
    const grow = a.request(CreatePartitionsRequest, CreatePartitionsResponse, 3, {
      topics: [{ name: "big", count: 4000, assignments: null }],
      timeoutMs: 600_000,
    }).then((r) => (order.push("big"), r));
    while (!(await listing(t.dir)).includes("big-50")) {
      await new Promise((r) => setTimeout(r, 5));
    }
    const created = await b.request(CreateTopicsRequest, CreateTopicsResponse, 7, {
      topics: [{ name: "b", numPartitions: 2, replicationFactor: 1, assignments: [], configs: [] }],
      timeoutMs: 5000,
    });
    assertEquals(created.topics[0].errorCode, 0);
    order.push("create b");
    const deleted = await b.request(DeleteTopicsRequest, DeleteTopicsResponse, 6, {
      topics: [{ name: "doomed", topicId: NO_TOPIC_ID }],
      timeoutMs: 5000,
    });
    assertEquals(deleted.responses[0].errorCode, 0);
    order.push("delete doomed");
    const md = await b.request(MetadataRequest, MetadataResponse, 12, { topics: null });
    assertEquals(md.topics.map((x) => x.name).sort(), ["b", "big", "committed"]);
    order.push("metadata");
    const commit = await b.request(OffsetCommitRequest, OffsetCommitResponse, 8, {
      groupId: "g",
      generationIdOrMemberEpoch: -1,
      memberId: "",
      topics: [{
        name: "committed",
        partitions: [{
          partitionIndex: 0,
          committedOffset: 0,
          committedLeaderEpoch: -1,
          commitTimestamp: -1,
          committedMetadata: "",
        }],
      }],
    });
    assertEquals(commit.topics[0].partitions[0].errorCode, 0); // created __consumer_offsets (50)
    order.push("first offset commit");
    const res = await grow;
    assertEquals(res.results[0].errorCode, 0);
    assertEquals(order, ["create b", "delete doomed", "metadata", "first offset commit", "big"]);
    const after = await b.request(MetadataRequest, MetadataResponse, 12, {
      topics: [{ name: "big", topicId: NO_TOPIC_ID }],
    });
    assertEquals(after.topics[0].partitions.length, 4000);
  } finally {
    a.close();
    b.close();
  }
});

Deno.test("broker close during a CreatePartitions of thousands stops it and removes what it made", async () => {
  const t = await startTestBroker();
  const c = await RawClient.connect(t.broker.port);
  try {
    await createTopic(c, "big", 2);
    const grow = c.request(CreatePartitionsRequest, CreatePartitionsResponse, 3, {
      topics: [{ name: "big", count: 5000, assignments: null }],
      timeoutMs: 600_000,
    }).catch((e) => e);
    while (!(await listing(t.dir)).includes("big-20")) {
      await new Promise((r) => setTimeout(r, 5));
    }
    await t.broker.close();
    const res = await grow;
    // the response (storage error: aborted) may or may not make it out before the socket closes
    if (!(res instanceof Error)) {
      assertEquals(res.results[0].errorCode, ErrorCode.KAFKA_STORAGE_ERROR);
      ok(res.results[0].errorMessage!.includes("aborted"), res.results[0].errorMessage!);
    }
    assertEquals((await listing(t.dir)).filter((n) => n.startsWith("big-")), ["big-0", "big-1"]);
    ok(
      t.lines.some((l) => /^INFO create partitions of big failed after making \d+ of 4998/.test(l)),
    );
    ok(t.lines.some((l) => l.includes("stopped; logs flushed")));
  } finally {
    c.close();
    await t[Symbol.asyncDispose]();
  }
});
