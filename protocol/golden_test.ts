// Copyright 2026 the Sluice authors. Apache-2.0 license.

// Golden byte vectors written by hand from the Kafka protocol guide (not produced by our encoder),
// checked in both directions: our encoder must produce exactly these bytes, and our decoder must
// read them back to the expected values.

import assert from "node:assert/strict";
import {
  concat,
  decodeBody,
  decodeRequestHeader,
  decodeResponseHeader,
  encodeRequestFrame,
  encodeResponseFrame,
} from "./framing.ts";
import { ApiVersionsRequest, ApiVersionsResponse } from "./messages/api_versions.ts";
import { DescribeTopicPartitionsRequest } from "./messages/describe_topic_partitions.ts";
import { FetchResponse } from "./messages/fetch.ts";
import { MetadataRequest } from "./messages/metadata.ts";
import { ProduceRequest } from "./messages/produce.ts";
import { decodeMessage, encodeMessage, ZERO_UUID } from "./primitives.ts";

const ascii = (s: string): number[] => [...s].map((c) => c.charCodeAt(0));

Deno.test("golden: ApiVersions v3 request frame as librdkafka sends it (header v2)", () => {
  const expected = new Uint8Array([
    ...[0, 0, 0, 36], // size
    ...[0, 18, 0, 3, 0, 0, 0, 1], // api key 18, version 3, correlation id 1
    ...[0, 7, ...ascii("rdkafka")], // client id: a classic int16 string even in header v2
    0, // header tagged fields
    11,
    ...ascii("librdkafka"), // compact string: length + 1
    6,
    ...ascii("2.3.0"),
    0, // body tagged fields
  ]);
  const body = ApiVersionsRequest.create({
    clientSoftwareName: "librdkafka",
    clientSoftwareVersion: "2.3.0",
  });
  assert.deepStrictEqual(encodeRequestFrame(ApiVersionsRequest, 3, 1, "rdkafka", body), expected);
  const { header, headerVersion, bodyOffset } = decodeRequestHeader(expected, 4);
  assert.deepStrictEqual(header, {
    requestApiKey: 18,
    requestApiVersion: 3,
    correlationId: 1,
    clientId: "rdkafka",
  });
  assert.equal(headerVersion, 2);
  assert.equal(bodyOffset, 4 + 18);
  assert.deepStrictEqual(decodeBody(ApiVersionsRequest, expected, bodyOffset, 3), body);
});

Deno.test("golden: Metadata v1 request with one topic and with null (all topics)", () => {
  const oneTopic = new Uint8Array([
    ...[0, 0, 0, 20],
    ...[0, 3, 0, 1, 0, 0, 0, 7, 0, 1, ...ascii("c")], // header v1
    ...[0, 0, 0, 1], // topics: int32 count
    ...[0, 3, ...ascii("foo")],
  ]);
  const m = MetadataRequest.create({
    topics: [{ topicId: ZERO_UUID, name: "foo" }],
  });
  assert.deepStrictEqual(encodeRequestFrame(MetadataRequest, 1, 7, "c", m), oneTopic);
  const h = decodeRequestHeader(oneTopic, 4);
  assert.deepStrictEqual(decodeBody(MetadataRequest, oneTopic, h.bodyOffset, 1), m);

  const all = MetadataRequest.create({ topics: null });
  assert.deepStrictEqual(
    encodeMessage(MetadataRequest, all, 1),
    new Uint8Array([255, 255, 255, 255]),
  );
  // v0 cannot express "all topics": topics is not nullable there.
  assert.throws(() => encodeMessage(MetadataRequest, all, 0), /non-nullable/);
});

Deno.test("golden: Produce v7 request frame with a 3-byte record set", () => {
  const expected = new Uint8Array([
    ...[0, 0, 0, 41],
    ...[0, 0, 0, 7, 0, 0, 0, 2, 0, 1, ...ascii("p")], // header v1
    ...[255, 255], // transactional id: null
    ...[255, 255], // acks -1
    ...[0, 0, 0x75, 0x30], // timeout 30000
    ...[0, 0, 0, 1, 0, 1, ...ascii("t")], // 1 topic "t"
    ...[0, 0, 0, 1, 0, 0, 0, 0], // 1 partition, index 0
    ...[0, 0, 0, 3, 1, 2, 3], // records: int32 length + raw bytes
  ]);
  const m = ProduceRequest.create({
    acks: -1,
    timeoutMs: 30000,
    topicData: [{ name: "t", partitionData: [{ index: 0, records: new Uint8Array([1, 2, 3]) }] }],
  });
  assert.deepStrictEqual(encodeRequestFrame(ProduceRequest, 7, 2, "p", m), expected);
  const h = decodeRequestHeader(expected, 4);
  const back = decodeBody(ProduceRequest, expected, h.bodyOffset, 7);
  assert.deepStrictEqual(back, m);
  // records are a zero-copy view of the frame
  const rec = back.topicData[0].partitionData[0].records!;
  assert.equal(rec.buffer, expected.buffer);
  assert.equal(rec.byteOffset, expected.length - 3);
});

Deno.test("golden: ApiVersions v3 response uses header v0 and tagged fields", () => {
  const expected = new Uint8Array([
    ...[0, 0, 0, 29],
    ...[0, 0, 0, 1], // response header v0: correlation id only, no tag buffer
    ...[0, 0], // error code
    2, // compact array of 1
    ...[0, 0, 0, 0, 0, 11, 0], // Produce 0-11, tag buffer
    ...[0, 0, 0, 0], // throttle
    1, // one tagged field
    ...[1, 8, 0, 0, 0, 0, 0, 0, 0, 5], // tag 1 (FinalizedFeaturesEpoch), size 8, int64 5
  ]);
  const m = ApiVersionsResponse.create({
    apiKeys: [{ apiKey: 0, minVersion: 0, maxVersion: 11 }],
    finalizedFeaturesEpoch: 5,
  });
  assert.deepStrictEqual(concat(encodeResponseFrame(ApiVersionsResponse, 3, 1, m)), expected);
  const { header, bodyOffset } = decodeResponseHeader(expected, 18, 3, 4);
  assert.equal(header.correlationId, 1);
  assert.equal(bodyOffset, 8);
  assert.deepStrictEqual(decodeBody(ApiVersionsResponse, expected, bodyOffset, 3), m);
  // With every tagged field at its default, nothing but the empty tag buffer is written.
  const plain = encodeMessage(ApiVersionsResponse, ApiVersionsResponse.create(), 3);
  assert.deepStrictEqual(plain, new Uint8Array([0, 0, 1, 0, 0, 0, 0, 0]));
});

Deno.test("golden: nullable struct (DescribeTopicPartitions cursor) uses a -1/1 marker byte", () => {
  const none = DescribeTopicPartitionsRequest.create();
  assert.deepStrictEqual(
    encodeMessage(DescribeTopicPartitionsRequest, none, 0),
    new Uint8Array([1, 0, 0, 0x07, 0xd0, 0xff, 0]), // [] , limit 2000, null cursor, tags
  );
  const withCursor = DescribeTopicPartitionsRequest.create({
    topics: [{ name: "a" }],
    cursor: { topicName: "a", partitionIndex: 3 },
  });
  const bytes = new Uint8Array([
    ...[2, 2, ...ascii("a"), 0], // 1 topic "a" + its tag buffer
    ...[0, 0, 0x07, 0xd0],
    ...[1, 2, ...ascii("a"), 0, 0, 0, 3, 0], // present cursor
    0,
  ]);
  assert.deepStrictEqual(encodeMessage(DescribeTopicPartitionsRequest, withCursor, 0), bytes);
  assert.deepStrictEqual(decodeMessage(DescribeTopicPartitionsRequest, bytes, 0), withCursor);
});

Deno.test("golden: Fetch v12 partition with a tagged CurrentLeader", () => {
  const m = FetchResponse.create({
    responses: [{
      topic: "t",
      topicId: ZERO_UUID,
      partitions: [{
        partitionIndex: 1,
        errorCode: 0,
        highWatermark: 10,
        lastStableOffset: -1,
        logStartOffset: 0,
        divergingEpoch: { epoch: -1, endOffset: -1 },
        currentLeader: { leaderId: 2, leaderEpoch: 7 },
        snapshotId: { endOffset: -1, epoch: -1 },
        abortedTransactions: null,
        preferredReadReplica: -1,
        records: new Uint8Array([9]),
      }],
    }],
  });
  const expected = new Uint8Array([
    ...[0, 0, 0, 0, 0, 0, 0, 0, 0, 0], // throttle, error code, session id
    2,
    2,
    ...ascii("t"), // 1 topic "t"
    2, // 1 partition
    ...[0, 0, 0, 1, 0, 0], // index 1, error 0
    ...[0, 0, 0, 0, 0, 0, 0, 10], // high watermark
    ...[255, 255, 255, 255, 255, 255, 255, 255], // last stable offset -1
    ...[0, 0, 0, 0, 0, 0, 0, 0], // log start offset
    0, // aborted transactions: null
    ...[255, 255, 255, 255], // preferred read replica -1
    2,
    9, // compact records: 1 byte
    1,
    1,
    9,
    0,
    0,
    0,
    2,
    0,
    0,
    0,
    7,
    0, // one tag: 1 (CurrentLeader), size 9, struct + tags
    0, // topic tag buffer
    0, // response tag buffer
  ]);
  assert.deepStrictEqual(encodeMessage(FetchResponse, m, 12), expected);
  assert.deepStrictEqual(decodeMessage(FetchResponse, expected, 12), m);
});
