// Copyright 2026 the Sluice authors. Apache-2.0 license.
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { ErrorCode } from "../../protocol/errors.ts";
import {
  CreatePartitionsRequest,
  CreatePartitionsResponse,
} from "../../protocol/messages/create_partitions.ts";
import { MetadataRequest, MetadataResponse } from "../../protocol/messages/metadata.ts";
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
