// Copyright 2026 the Sluice authors. Apache-2.0 license.

// Cross-checks the generated codecs against an independent implementation: kafkajs 2.2.4's own
// protocol encoders and decoders (no network). kafkajs-encoded request frames must decode with
// our codecs, and our encoded response bodies must decode with kafkajs.

import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { decodeBody, decodeRequestHeader, FrameSplitter } from "./framing.ts";
import { ApiVersionsResponse } from "./messages/api_versions.ts";
import { createFetchResponsePartitionData, FetchResponse } from "./messages/fetch.ts";
import { FindCoordinatorRequest, FindCoordinatorResponse } from "./messages/find_coordinator.ts";
import { JoinGroupResponse } from "./messages/join_group.ts";
import { SyncGroupResponse } from "./messages/sync_group.ts";
import { MetadataRequest, MetadataResponse } from "./messages/metadata.ts";
import { ProduceRequest, ProduceResponse } from "./messages/produce.ts";
import { encodeMessage } from "./primitives.ts";

const require = createRequire(import.meta.url);
// deno-lint-ignore no-explicit-any
type Any = any;
const kjs = (path: string): Any => require(`kafkajs/src/protocol/${path}`);
const kafkajsFrame: Any = kjs("request.js");

async function frameFromKafkajs(request: Any, correlationId = 5): Promise<Uint8Array> {
  const encoder = await kafkajsFrame({ correlationId, clientId: "kafkajs", request });
  const buf: Uint8Array = encoder.buffer;
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength).slice();
}

function decodeFrame(frame: Uint8Array) {
  const [payload] = new FrameSplitter().push(frame);
  assert.equal(payload.length, frame.length - 4);
  return { payload, ...decodeRequestHeader(payload) };
}

Deno.test("kafkajs Metadata v0-v6 request frames decode with our codecs", async () => {
  for (let v = 0; v <= 6; v++) {
    const frame = await frameFromKafkajs(
      kjs(`requests/metadata/v${v}/request.js`)({
        topics: ["orders", "payments"],
        allowAutoTopicCreation: false,
      }),
      40 + v,
    );
    const { payload, header, bodyOffset } = decodeFrame(frame);
    assert.deepStrictEqual(header, {
      requestApiKey: 3,
      requestApiVersion: v,
      correlationId: 40 + v,
      clientId: "kafkajs",
    });
    const m = decodeBody(MetadataRequest, payload, bodyOffset, v);
    assert.deepStrictEqual(m.topics?.map((t) => t.name), ["orders", "payments"]);
    assert.equal(m.allowAutoTopicCreation, v >= 4 ? false : true, `v${v}`);
  }
});

Deno.test("kafkajs Produce v3-v7 request frames decode with our codecs (records raw)", async () => {
  for (let v = 3; v <= 7; v++) {
    const frame = await frameFromKafkajs(
      kjs(`requests/produce/v${v}/request.js`)({
        acks: -1,
        timeout: 1234,
        topicData: [{
          topic: "orders",
          partitions: [
            { partition: 0, messages: [{ key: "k", value: "v1" }, { value: "v2" }] },
            { partition: 3, messages: [{ value: "x".repeat(100) }] },
          ],
        }],
      }),
    );
    const { payload, header, bodyOffset } = decodeFrame(frame);
    assert.equal(header.requestApiKey, 0);
    assert.equal(header.requestApiVersion, v);
    const m = decodeBody(ProduceRequest, payload, bodyOffset, v);
    assert.equal(m.transactionalId, null);
    assert.equal(m.acks, -1);
    assert.equal(m.timeoutMs, 1234);
    assert.equal(m.topicData.length, 1);
    assert.equal(m.topicData[0].name, "orders");
    assert.deepStrictEqual(m.topicData[0].partitionData.map((p) => p.index), [0, 3]);
    for (const p of m.topicData[0].partitionData) {
      const rec = p.records!;
      const view = new DataView(rec.buffer, rec.byteOffset, rec.byteLength);
      // A v2 record batch: baseOffset (8) + batchLength (4) covering the rest, magic 2 at 16.
      assert.equal(view.getInt32(8), rec.length - 12);
      assert.equal(rec[16], 2);
      assert.equal(rec.buffer, frame.buffer, "records are a view into the frame");
    }
    // Re-encoding what we decoded reproduces kafkajs's body byte for byte.
    assert.deepStrictEqual(encodeMessage(ProduceRequest, m, v), payload.subarray(bodyOffset));
  }
});

Deno.test("kafkajs FindCoordinator v0-v2 request frames decode with our codecs", async () => {
  for (let v = 0; v <= 2; v++) {
    const frame = await frameFromKafkajs(
      kjs(`requests/findCoordinator/v${v}/request.js`)({
        groupId: "g1",
        coordinatorKey: "g1",
        coordinatorType: 0,
      }),
    );
    const { payload, bodyOffset } = decodeFrame(frame);
    const m = decodeBody(FindCoordinatorRequest, payload, bodyOffset, v);
    assert.equal(m.key, "g1");
    assert.equal(m.keyType, 0);
  }
});

Deno.test("our ApiVersions v0-v2 responses decode with kafkajs", async () => {
  const body = ApiVersionsResponse.create({
    apiKeys: [
      { apiKey: 0, minVersion: 0, maxVersion: 11 },
      { apiKey: 3, minVersion: 0, maxVersion: 12 },
    ],
    throttleTimeMs: 7,
  });
  for (let v = 0; v <= 2; v++) {
    const decoded = await kjs(`requests/apiVersions/v${v}/response.js`).decode(
      toBuffer(encodeMessage(ApiVersionsResponse, body, v)),
    );
    assert.equal(decoded.errorCode, 0);
    assert.deepStrictEqual(decoded.apiVersions, [
      { apiKey: 0, minVersion: 0, maxVersion: 11 },
      { apiKey: 3, minVersion: 0, maxVersion: 12 },
    ]);
    if (v === 1) assert.equal(decoded.throttleTime, 7);
    if (v === 2) assert.equal(decoded.clientSideThrottleTime, 7);
  }
});

Deno.test("our Metadata v1-v6 responses decode with kafkajs", async () => {
  const body = MetadataResponse.create({
    brokers: [{ nodeId: 1, host: "localhost", port: 9092, rack: null }],
    clusterId: "sluice-cluster",
    controllerId: 1,
    topics: [{
      errorCode: 0,
      name: "orders",
      topicId: "AAAAAAAAAAAAAAAAAAAAAA",
      isInternal: false,
      partitions: [{
        errorCode: 0,
        partitionIndex: 0,
        leaderId: 1,
        leaderEpoch: 0,
        replicaNodes: [1],
        isrNodes: [1],
        offlineReplicas: [],
      }],
      topicAuthorizedOperations: -2147483648,
    }],
  });
  for (let v = 1; v <= 6; v++) {
    const d = await kjs(`requests/metadata/v${v}/response.js`).decode(
      toBuffer(encodeMessage(MetadataResponse, body, v)),
    );
    assert.equal(d.brokers.length, 1);
    assert.equal(d.brokers[0].host, "localhost");
    assert.equal(d.brokers[0].port, 9092);
    assert.equal(d.controllerId, 1);
    if (v >= 2) assert.equal(d.clusterId, "sluice-cluster");
    assert.equal(d.topicMetadata[0].topic, "orders");
    assert.equal(d.topicMetadata[0].partitionMetadata[0].leader, 1);
    assert.deepStrictEqual(d.topicMetadata[0].partitionMetadata[0].isr, [1]);
  }
});

Deno.test("our Produce v3-v7 responses decode with kafkajs", async () => {
  const body = ProduceResponse.create({
    responses: [{
      name: "orders",
      partitionResponses: [{
        index: 3,
        errorCode: 0,
        baseOffset: 2 ** 40 + 5,
        logAppendTimeMs: -1,
        logStartOffset: 0,
        recordErrors: [],
        errorMessage: null,
        currentLeader: { leaderId: -1, leaderEpoch: -1 },
      }],
    }],
  });
  for (let v = 3; v <= 7; v++) {
    const d = await kjs(`requests/produce/v${v}/response.js`).decode(
      toBuffer(encodeMessage(ProduceResponse, body, v)),
    );
    assert.equal(d.topics[0].topicName, "orders");
    assert.equal(d.topics[0].partitions[0].partition, 3);
    assert.equal(d.topics[0].partitions[0].baseOffset, String(2 ** 40 + 5));
  }
});

Deno.test("our FindCoordinator v0-v2 responses decode with kafkajs", async () => {
  const body = FindCoordinatorResponse.create({
    errorCode: 0,
    nodeId: 1,
    host: "broker-1",
    port: 19092,
  });
  for (let v = 0; v <= 2; v++) {
    const d = await kjs(`requests/findCoordinator/v${v}/response.js`).decode(
      toBuffer(encodeMessage(FindCoordinatorResponse, body, v)),
    );
    assert.deepStrictEqual(d.coordinator, { nodeId: 1, host: "broker-1", port: 19092 });
  }
});

function toBuffer(b: Uint8Array): Any {
  const { Buffer } = require("node:buffer");
  return Buffer.from(b);
}

// Every request kafkajs 2.2.4 can send, at every version it implements: its body must decode with
// our codec and re-encode to exactly the same bytes.
const meta = toBuffer(new Uint8Array([0, 1, 0, 0, 0, 1, 0, 1, 116, 0, 0, 0, 0]));
const KAFKAJS_REQUESTS: [string, number[], Record<string, unknown>][] = [
  ["apiVersions", [0, 1, 2], {}],
  ["metadata", [0, 1, 2, 3, 4, 5, 6], { topics: ["a"], allowAutoTopicCreation: true }],
  ["listOffsets", [0, 1, 2, 3], {
    replicaId: -1,
    isolationLevel: 1,
    topics: [{ topic: "a", partitions: [{ partition: 0, timestamp: -1 }] }],
  }],
  ["fetch", [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], {
    replicaId: -1,
    maxWaitTime: 500,
    minBytes: 1,
    maxBytes: 1048576,
    isolationLevel: 1,
    topics: [{ topic: "a", partitions: [{ partition: 0, fetchOffset: "42", maxBytes: 1024 }] }],
  }],
  ["findCoordinator", [0, 1, 2], { groupId: "g", coordinatorKey: "g", coordinatorType: 0 }],
  ["joinGroup", [0, 1, 2, 3, 4, 5], {
    groupId: "g",
    sessionTimeout: 30000,
    rebalanceTimeout: 60000,
    memberId: "",
    protocolType: "consumer",
    groupProtocols: [{ name: "RoundRobinAssigner", metadata: meta }],
  }],
  ["syncGroup", [0, 1, 2, 3], {
    groupId: "g",
    generationId: 1,
    memberId: "m-1",
    groupAssignment: [{ memberId: "m-1", memberAssignment: meta }],
  }],
  ["heartbeat", [0, 1, 2, 3], { groupId: "g", groupGenerationId: 1, memberId: "m-1" }],
  ["leaveGroup", [0, 1, 2], { groupId: "g", memberId: "m-1" }],
  ["leaveGroup", [3], { groupId: "g", members: [{ memberId: "m-1", groupInstanceId: null }] }],
  ["offsetCommit", [0, 1, 2, 3, 4, 5], {
    groupId: "g",
    groupGenerationId: 1,
    memberId: "m-1",
    retentionTime: -1,
    topics: [{ topic: "a", partitions: [{ partition: 0, offset: "10" }] }],
  }],
  ["offsetFetch", [1, 2, 3, 4], {
    groupId: "g",
    topics: [{ topic: "a", partitions: [{ partition: 0 }] }],
  }],
  ["describeGroups", [0, 1, 2], { groupIds: ["g"] }],
  ["listGroups", [0, 1, 2], {}],
  ["saslHandshake", [0, 1], { mechanism: "PLAIN" }],
  ["createTopics", [0, 1, 2, 3], {
    topics: [{ topic: "a", numPartitions: 3, replicationFactor: 1 }],
    timeout: 5000,
    validateOnly: false,
  }],
  ["deleteTopics", [0, 1], { topics: ["a"], timeout: 5000 }],
  ["initProducerId", [0, 1], { transactionalId: null, transactionTimeout: 60000 }],
  ["deleteGroups", [0, 1], ["g"] as unknown as Record<string, unknown>],
  ["endTxn", [0, 1], {
    transactionalId: "tx",
    producerId: "4000",
    producerEpoch: 2,
    transactionResult: true,
  }],
  ["addOffsetsToTxn", [0, 1], {
    transactionalId: "tx",
    producerId: "4000",
    producerEpoch: 2,
    groupId: "g",
  }],
  ["addPartitionsToTxn", [0, 1], {
    transactionalId: "tx",
    producerId: "4000",
    producerEpoch: 2,
    topics: [{ topic: "a", partitions: [0, 1] }],
  }],
  ["txnOffsetCommit", [0, 1], {
    transactionalId: "tx",
    groupId: "g",
    producerId: "4000",
    producerEpoch: 2,
    topics: [{ topic: "a", partitions: [{ partition: 0, offset: "7", metadata: null }] }],
  }],
  ["createPartitions", [0, 1], {
    topicPartitions: [{ topic: "a", count: 4, assignments: [] }],
    validateOnly: false,
    timeout: 5000,
  }],
  ["deleteRecords", [0, 1], {
    topics: [{ topic: "a", partitions: [{ partition: 0, offset: "5" }] }],
    timeout: 5000,
  }],
  ["describeConfigs", [0, 1, 2], {
    resources: [{ type: 2, name: "a", configNames: ["retention.ms"] }],
    includeSynonyms: false,
  }],
  ["alterConfigs", [0, 1], {
    resources: [{ type: 2, name: "a", configEntries: [{ name: "retention.ms", value: "1000" }] }],
    validateOnly: false,
  }],
  // kafkajs's SASL mechanisms pass authBytes already length-prefixed (BYTES).
  ["saslAuthenticate", [0, 1], {
    authBytes: toBuffer(new Uint8Array([0, 0, 0, 4, 0, 117, 0, 112])),
  }],
];

Deno.test("kafkajs request bodies decode and re-encode byte-identically", async () => {
  const { APIS } = await import("./apis.ts");
  let checked = 0;
  for (const [path, versions, args] of KAFKAJS_REQUESTS) {
    for (const v of versions) {
      const request = kjs(`requests/${path}/v${v}/request.js`)(args);
      const frame = await frameFromKafkajs(request);
      const { payload, header, bodyOffset } = decodeFrame(frame);
      const api = APIS.find((a) => a.key === header.requestApiKey)!;
      const what = `${api.name} v${v} (kafkajs ${path})`;
      assert.equal(header.requestApiVersion, v, what);
      const body = payload.subarray(bodyOffset);
      let m: unknown;
      try {
        m = decodeBody(api.request, payload, bodyOffset, v);
      } catch (e) {
        throw new Error(`${what}: ${(e as Error).message}: ${Array.from(body)}`);
      }
      assert.deepStrictEqual(encodeMessage(api.request, m, v), body, what);
      checked++;
    }
  }
  assert.ok(checked >= 80, `${checked}`);
});

Deno.test("our Fetch v4-v11 responses carry kafkajs record batches that kafkajs decodes", async () => {
  // Take a real record batch from a kafkajs Produce request, decoded (raw) by our codec.
  const produce = await frameFromKafkajs(
    kjs("requests/produce/v7/request.js")({
      acks: 1,
      timeout: 1000,
      topicData: [{
        topic: "orders",
        partitions: [{ partition: 0, messages: [{ key: "k1", value: "v1" }, { value: "v2" }] }],
      }],
    }),
  );
  const { payload, bodyOffset } = decodeFrame(produce);
  const records = decodeBody(ProduceRequest, payload, bodyOffset, 7).topicData[0].partitionData[0]
    .records;
  for (let v = 4; v <= 11; v++) {
    const body = FetchResponse.create({
      sessionId: 0,
      responses: [{
        topic: "orders",
        topicId: "AAAAAAAAAAAAAAAAAAAAAA",
        partitions: [createFetchResponsePartitionData({
          partitionIndex: 0,
          highWatermark: 2,
          lastStableOffset: 2,
          logStartOffset: 0,
          abortedTransactions: [],
          preferredReadReplica: -1,
          records,
        })],
      }],
    });
    const d = await kjs(`requests/fetch/v${v}/response.js`).decode(
      toBuffer(encodeMessage(FetchResponse, body, v)),
    );
    const p = d.responses[0].partitions[0];
    assert.equal(d.responses[0].topicName, "orders");
    assert.equal(p.highWatermark, "2");
    assert.deepStrictEqual(
      p.messages.map((m: Any) => [m.key?.toString() ?? null, m.value.toString(), m.offset]),
      [["k1", "v1", "0"], [null, "v2", "1"]],
      `v${v}`,
    );
  }
});

Deno.test("our JoinGroup v0-v5 and SyncGroup v0-v3 responses decode with kafkajs", async () => {
  const meta = new Uint8Array([0, 1, 2, 3]);
  const join = JoinGroupResponse.create({
    generationId: 4,
    protocolName: "RoundRobinAssigner",
    leader: "m-1",
    memberId: "m-1",
    members: [{ memberId: "m-1", groupInstanceId: null, metadata: meta }],
  });
  for (let v = 0; v <= 5; v++) {
    const d = await kjs(`requests/joinGroup/v${v}/response.js`).decode(
      toBuffer(encodeMessage(JoinGroupResponse, join, v)),
    );
    assert.equal(d.generationId, 4);
    assert.equal(d.groupProtocol, "RoundRobinAssigner");
    assert.equal(d.leaderId, "m-1");
    assert.deepStrictEqual([...d.members[0].memberMetadata], [0, 1, 2, 3]);
  }
  const sync = SyncGroupResponse.create({ assignment: meta });
  for (let v = 0; v <= 3; v++) {
    const d = await kjs(`requests/syncGroup/v${v}/response.js`).decode(
      toBuffer(encodeMessage(SyncGroupResponse, sync, v)),
    );
    assert.deepStrictEqual([...d.memberAssignment], [0, 1, 2, 3]);
  }
});
