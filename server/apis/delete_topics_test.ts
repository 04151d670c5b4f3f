// Copyright 2026 the Sluice authors. Apache-2.0 license.
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { ErrorCode } from "../../protocol/errors.ts";
import {
  DeleteTopicsRequest,
  DeleteTopicsResponse,
} from "../../protocol/messages/delete_topics.ts";
import { MetadataRequest, MetadataResponse } from "../../protocol/messages/metadata.ts";
import { ProduceRequest, ProduceResponse } from "../../protocol/messages/produce.ts";
import { buildBatch } from "../../wasm/testing.ts";
import { createTopic, NO_TOPIC_ID, produceBody, RawClient, startTestBroker } from "../testing.ts";

Deno.test("DeleteTopics: by name (v0-v5) and by id (v6), with per-topic errors", async () => {
  await using t = await startTestBroker({ autoCreateTopicsEnable: false });
  const c = await RawClient.connect(t.broker.port);
  try {
    await createTopic(c, "by-name");
    const id = await createTopic(c, "by-id");
    const both = await createTopic(c, "both");
    const v5 = await c.request(DeleteTopicsRequest, DeleteTopicsResponse, 5, {
      topicNames: ["by-name", "never-was"],
    });
    assertEquals(v5.responses.map((r) => [r.name, r.errorCode]), [
      ["by-name", 0],
      ["never-was", ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
    ]);
    const v6 = await c.request(DeleteTopicsRequest, DeleteTopicsResponse, 6, {
      topics: [
        { name: null, topicId: id },
        { name: null, topicId: "AAAAAAAAAAAAAAAAAAAAAQ" },
        { name: "both", topicId: both },
      ],
    });
    assertEquals(v6.responses.map((r) => [r.name, r.topicId, r.errorCode]), [
      ["by-id", id, 0],
      [null, "AAAAAAAAAAAAAAAAAAAAAQ", ErrorCode.UNKNOWN_TOPIC_ID],
      ["both", both, ErrorCode.INVALID_REQUEST],
    ]);
    const md = await c.request(MetadataRequest, MetadataResponse, 12, { topics: null });
    assertEquals(md.topics.filter((x) => !x.isInternal).map((x) => x.name), ["both"]);
    const v0 = await c.request(DeleteTopicsRequest, DeleteTopicsResponse, 0, {
      topicNames: ["both"],
    });
    assertEquals(v0.responses.map((r) => [r.name, r.errorCode]), [["both", 0]]);
    const gone = await c.request(MetadataRequest, MetadataResponse, 12, {
      topics: [{ name: "both", topicId: NO_TOPIC_ID }],
    });
    assertEquals(gone.topics[0].errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  } finally {
    c.close();
  }
});

Deno.test("DeleteTopics: a 249-character topic is deleted and leaves no directory", async () => {
  await using t = await startTestBroker({ autoCreateTopicsEnable: false });
  const c = await RawClient.connect(t.broker.port);
  try {
    const name = "y".repeat(249);
    await createTopic(c, name, 3);
    for (let p = 0; p < 3; p++) {
      const batch = buildBatch({ records: [{ key: null, value: `v${p}` }], baseTimestamp: 1 });
      const res = await c.request(ProduceRequest, ProduceResponse, 9, produceBody(name, p, batch));
      assertEquals(res.responses[0].partitionResponses[0].errorCode, 0);
    }
    const del = await c.request(DeleteTopicsRequest, DeleteTopicsResponse, 5, {
      topicNames: [name],
    });
    assertEquals(del.responses.map((r) => [r.name, r.errorCode, r.errorMessage]), [
      [name, 0, null],
    ]);
    const left = [...Deno.readDirSync(t.dir)].filter((e) => e.name.startsWith("yyy"));
    assertEquals(left, []);
  } finally {
    c.close();
  }
});
