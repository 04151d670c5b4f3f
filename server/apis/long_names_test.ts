// Copyright 2026 the Sluice authors. Apache-2.0 license.
// Names of up to 32767 bytes (the protocol's string limit) in requests whose error messages quote
// them: the answer carries the right error code and a shortened message, never an encoding
// failure (found by the protocol fuzzer, tests/fuzz/).
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
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
import {
  DescribeConfigsRequest,
  DescribeConfigsResponse,
} from "../../protocol/messages/describe_configs.ts";
import {
  DescribeProducersRequest,
  DescribeProducersResponse,
} from "../../protocol/messages/describe_producers.ts";
import {
  AlterConfigsRequest,
  AlterConfigsResponse,
} from "../../protocol/messages/alter_configs.ts";
import {
  IncrementalAlterConfigsRequest,
  IncrementalAlterConfigsResponse,
} from "../../protocol/messages/incremental_alter_configs.ts";
import { JoinGroupRequest, JoinGroupResponse } from "../../protocol/messages/join_group.ts";
import { ProduceRequest, ProduceResponse } from "../../protocol/messages/produce.ts";
import { encodeRequestFrame } from "../../protocol/framing.ts";
import { MAX_ERROR_MESSAGE_LENGTH } from "../api.ts";
import { buildBatch } from "../../wasm/testing.ts";
import { NO_TOPIC_ID, produceBody, RawClient, startTestBroker } from "../testing.ts";

const LONG = "a".repeat(32767);

function assertClipped(message: string | null): void {
  assert(message !== null, "expected an error message");
  assert(
    message.length <= MAX_ERROR_MESSAGE_LENGTH,
    `message of ${message.length} characters is longer than ${MAX_ERROR_MESSAGE_LENGTH}`,
  );
}

Deno.test("a 32767-byte topic name gets its error code and a short message", async () => {
  await using t = await startTestBroker();
  const c = await RawClient.connect(t.broker.port);
  try {
    const cp = await c.request(CreatePartitionsRequest, CreatePartitionsResponse, 0, {
      topics: [
        { name: LONG, count: 2, assignments: null },
        { name: "dup" + LONG.slice(3), count: 2, assignments: null },
        { name: "dup" + LONG.slice(3), count: 2, assignments: null },
      ],
      timeoutMs: 1000,
    });
    assertEquals(cp.results.map((r) => r.errorCode), [
      ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
      ErrorCode.INVALID_REQUEST,
      ErrorCode.INVALID_REQUEST,
    ]);
    for (const r of cp.results) assertClipped(r.errorMessage);
    const ct = await c.request(CreateTopicsRequest, CreateTopicsResponse, 7, {
      topics: [
        { name: LONG, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] },
        {
          name: "b" + LONG.slice(1),
          numPartitions: 1,
          replicationFactor: 1,
          assignments: [],
          configs: [],
        },
        {
          name: "b" + LONG.slice(1),
          numPartitions: 1,
          replicationFactor: 1,
          assignments: [],
          configs: [],
        },
      ],
      timeoutMs: 1000,
    });
    assertEquals(ct.topics.map((r) => r.errorCode), [
      ErrorCode.INVALID_TOPIC_EXCEPTION,
      ErrorCode.INVALID_REQUEST,
      ErrorCode.INVALID_REQUEST,
    ]);
    for (const r of ct.topics) assertClipped(r.errorMessage);
    const dp = await c.request(DescribeProducersRequest, DescribeProducersResponse, 0, {
      topics: [{ name: LONG, partitionIndexes: [0] }],
    });
    assertEquals(dp.topics[0].partitions[0].errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    assertClipped(dp.topics[0].partitions[0].errorMessage);
    const dc = await c.request(DescribeConfigsRequest, DescribeConfigsResponse, 1, {
      resources: [
        { resourceType: 2, resourceName: LONG, configurationKeys: null },
        { resourceType: 4, resourceName: LONG, configurationKeys: null },
      ],
    });
    assertEquals(dc.results.map((r) => r.errorCode), [
      ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
      ErrorCode.INVALID_REQUEST,
    ]);
    for (const r of dc.results) assertClipped(r.errorMessage);
    const dt = await c.request(DeleteTopicsRequest, DeleteTopicsResponse, 6, {
      topics: [{ name: LONG, topicId: NO_TOPIC_ID }],
      timeoutMs: 1000,
    });
    assertEquals(dt.responses[0].errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    assertClipped(dt.responses[0].errorMessage);
    // A topic, then a broker (resource type 4) that is not this one.
    const ac = await c.request(AlterConfigsRequest, AlterConfigsResponse, 0, {
      resources: [
        { resourceType: 2, resourceName: LONG, configs: [] },
        { resourceType: 4, resourceName: LONG, configs: [] },
      ],
    });
    assertEquals(ac.responses.map((r) => r.errorCode), [
      ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
      ErrorCode.INVALID_REQUEST,
    ]);
    for (const r of ac.responses) assertClipped(r.errorMessage);
    const iac = await c.request(
      IncrementalAlterConfigsRequest,
      IncrementalAlterConfigsResponse,
      0,
      {
        resources: [
          { resourceType: 2, resourceName: LONG, configs: [] },
          { resourceType: 4, resourceName: LONG, configs: [] },
        ],
      },
    );
    assertEquals(iac.responses.map((r) => r.errorCode), [
      ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
      ErrorCode.INVALID_REQUEST,
    ]);
    for (const r of iac.responses) assertClipped(r.errorMessage);
    const batch = buildBatch({ records: [{ key: null, value: new Uint8Array(1) }] });
    const pr = await c.request(ProduceRequest, ProduceResponse, 9, produceBody(LONG, 0, batch));
    const pp = pr.responses[0].partitionResponses[0];
    assertEquals(pp.errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    assertClipped(pp.errorMessage);
    assertEquals(t.lines.filter((l) => l.startsWith("ERROR")), []);
  } finally {
    c.close();
  }
});

Deno.test("a 32767-byte client id still joins a group (the member id stays encodable)", async () => {
  await using t = await startTestBroker();
  const c = await RawClient.connect(t.broker.port);
  try {
    const join = (memberId: string, correlationId: number) =>
      encodeRequestFrame(
        JoinGroupRequest,
        5,
        correlationId,
        LONG,
        JoinGroupRequest.create({
          groupId: "long-client",
          sessionTimeoutMs: 10_000,
          rebalanceTimeoutMs: 10_000,
          memberId,
          protocolType: "consumer",
          protocols: [{ name: "range", metadata: new Uint8Array(0) }],
        }),
      );
    await c.sendRaw(join("", 1));
    const first = await c.receive(JoinGroupResponse, 5);
    assertEquals(first.body.errorCode, ErrorCode.MEMBER_ID_REQUIRED);
    assert(first.body.memberId.startsWith("aaa"), first.body.memberId.slice(0, 20));
    assert(first.body.memberId.length < 1000, `member id of ${first.body.memberId.length} chars`);
    await c.sendRaw(join(first.body.memberId, 2));
    const second = await c.receive(JoinGroupResponse, 5);
    assertEquals(
      [second.body.errorCode, second.body.leader, second.body.memberId],
      [0, first.body.memberId, first.body.memberId],
    );
    assertEquals(t.lines.filter((l) => l.startsWith("ERROR")), []);
  } finally {
    c.close();
  }
});
