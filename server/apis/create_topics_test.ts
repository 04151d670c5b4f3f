// Copyright 2026 the Sluice authors. Apache-2.0 license.
import { deepStrictEqual as assertEquals, ok } from "node:assert/strict";
import { ErrorCode } from "../../protocol/errors.ts";
import {
  CreateTopicsRequest,
  CreateTopicsResponse,
} from "../../protocol/messages/create_topics.ts";
import { MetadataRequest, MetadataResponse } from "../../protocol/messages/metadata.ts";
import { RawClient, startTestBroker } from "../testing.ts";

type Topic = CreateTopicsRequest["topics"][number];

function topic(name: string, init: Partial<Topic> = {}): Topic {
  return { name, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [], ...init };
}

Deno.test("CreateTopics: partitions, defaults, configs, validate_only and the v5+ description", async () => {
  await using t = await startTestBroker({ numPartitions: 3 });
  const c = await RawClient.connect(t.broker.port);
  try {
    const res = await c.request(CreateTopicsRequest, CreateTopicsResponse, 7, {
      topics: [
        topic("explicit", { numPartitions: 2, configs: [{ name: "retention.ms", value: "1000" }] }),
        topic("defaulted", { numPartitions: -1, replicationFactor: -1 }),
        topic("assigned", {
          numPartitions: -1,
          replicationFactor: -1,
          assignments: [{ partitionIndex: 1, brokerIds: [1] }, {
            partitionIndex: 0,
            brokerIds: [1],
          }],
        }),
      ],
      timeoutMs: 1000,
    });
    assertEquals(
      res.topics.map((r) => [r.name, r.errorCode, r.numPartitions, r.replicationFactor]),
      [["explicit", 0, 2, 1], ["defaulted", 0, 3, 1], ["assigned", 0, 2, 1]],
    );
    ok(res.topics.every((r) => r.topicId.length === 22 && r.topicId !== "AAAAAAAAAAAAAAAAAAAAAA"));
    const retention = res.topics[0].configs!.find((x) => x.name === "retention.ms")!;
    assertEquals([retention.value, retention.configSource, retention.readOnly], ["1000", 1, false]);
    const segment = res.topics[0].configs!.find((x) => x.name === "segment.bytes")!;
    assertEquals([segment.value, segment.configSource], ["1073741824", 5]);

    // validate_only: success reported, nothing created.
    const dry = await c.request(CreateTopicsRequest, CreateTopicsResponse, 7, {
      topics: [topic("dry-run", { numPartitions: 5 })],
      validateOnly: true,
    });
    assertEquals([dry.topics[0].errorCode, dry.topics[0].numPartitions], [0, 5]);
    const md = await c.request(MetadataRequest, MetadataResponse, 12, { topics: null });
    assertEquals(md.topics.filter((x) => !x.isInternal).map((x) => x.name), [
      "assigned",
      "defaulted",
      "explicit",
    ]);
    // Old versions work too.
    for (const v of [0, 1, 4]) {
      const r = await c.request(CreateTopicsRequest, CreateTopicsResponse, v, {
        topics: [topic(`old-v${v}`)],
      });
      assertEquals(r.topics[0].errorCode, 0, `v${v}`);
    }
  } finally {
    c.close();
  }
});

Deno.test("CreateTopics: errors per topic with messages", async () => {
  await using t = await startTestBroker();
  const c = await RawClient.connect(t.broker.port);
  try {
    const res = await c.request(CreateTopicsRequest, CreateTopicsResponse, 7, {
      topics: [
        topic("ok"),
        topic("ok-again"),
        topic("ok-again"),
        topic("bad name"),
        topic("rf3", { replicationFactor: 3 }),
        topic("zero", { numPartitions: 0 }),
        topic("cfg", { configs: [{ name: "retention.ms", value: "soon" }] }),
        topic("unknown-cfg", { configs: [{ name: "no.such.config", value: "1" }] }),
        topic("other-broker", {
          numPartitions: -1,
          replicationFactor: -1,
          assignments: [{ partitionIndex: 0, brokerIds: [2] }],
        }),
        topic("mixed", { assignments: [{ partitionIndex: 0, brokerIds: [1] }] }),
      ],
    });
    assertEquals(res.topics.map((r) => [r.name, r.errorCode]), [
      ["ok", 0],
      ["ok-again", ErrorCode.INVALID_REQUEST],
      ["ok-again", ErrorCode.INVALID_REQUEST],
      ["bad name", ErrorCode.INVALID_TOPIC_EXCEPTION],
      ["rf3", ErrorCode.INVALID_REPLICATION_FACTOR],
      ["zero", ErrorCode.INVALID_PARTITIONS],
      ["cfg", ErrorCode.INVALID_CONFIG],
      ["unknown-cfg", ErrorCode.INVALID_CONFIG],
      ["other-broker", ErrorCode.INVALID_REPLICA_ASSIGNMENT],
      ["mixed", ErrorCode.INVALID_REQUEST],
    ]);
    ok(res.topics.slice(1).every((r) => r.errorMessage !== null && r.errorMessage.length > 0));
    assertEquals(
      res.topics[4].errorMessage,
      "Replication factor 3 is larger than the 1 available broker",
    );
    const again = await c.request(CreateTopicsRequest, CreateTopicsResponse, 7, {
      topics: [topic("ok")],
    });
    assertEquals(again.topics[0].errorCode, ErrorCode.TOPIC_ALREADY_EXISTS);
  } finally {
    c.close();
  }
});
