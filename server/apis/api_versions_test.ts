// Copyright 2026 the Sluice authors. Apache-2.0 license.
import { deepStrictEqual as assertEquals, ok } from "node:assert/strict";
import { ApiVersionsRequest, ApiVersionsResponse } from "../../protocol/messages/api_versions.ts";
import { encodeRequestFrame } from "../../protocol/framing.ts";
import { ErrorCode } from "../../protocol/errors.ts";
import { RawClient, startTestBroker } from "../testing.ts";
import { APIS } from "./mod.ts";

// The ranges this file's APIs advertise (more APIs, e.g. the group ones, may be registered).
const CORE_RANGES = [
  [0, 11], // Produce
  [1, 16], // Fetch
  [2, 8], // ListOffsets
  [3, 12], // Metadata
  [18, 4], // ApiVersions
  [19, 7], // CreateTopics
  [20, 6], // DeleteTopics
  [21, 2], // DeleteRecords
  [22, 5], // InitProducerId
  [32, 4], // DescribeConfigs
  [33, 2], // AlterConfigs
  [37, 3], // CreatePartitions
  [44, 1], // IncrementalAlterConfigs
  [60, 1], // DescribeCluster
];

Deno.test("ApiVersions: every version v0-v4 lists every API in key order from version 0", async () => {
  await using t = await startTestBroker();
  const client = await RawClient.connect(t.broker.port);
  try {
    for (let v = 0; v <= 4; v++) {
      const res = await client.request(ApiVersionsRequest, ApiVersionsResponse, v, {
        clientSoftwareName: "sluice-test",
        clientSoftwareVersion: "1.0.0",
      });
      assertEquals(res.errorCode, 0, `v${v}`);
      const got = res.apiKeys.map((k) => [k.apiKey, k.minVersion, k.maxVersion]);
      assertEquals(got, APIS.map((a) => [a.key, 0, a.maxVersion]), `v${v}`);
      for (const [key, max] of CORE_RANGES) {
        ok(got.some(([k, min, m]) => k === key && min === 0 && m === max), `key ${key} v${v}`);
      }
    }
  } finally {
    client.close();
  }
});

Deno.test("ApiVersions: an unsupported version gets a v0 answer with UNSUPPORTED_VERSION", async () => {
  await using t = await startTestBroker();
  const client = await RawClient.connect(t.broker.port);
  try {
    // Version 99 cannot be encoded by our codec; build the frame by hand (v3 layout, key 18).
    const frame = encodeRequestFrame(ApiVersionsRequest, 3, 77, "future-client", {
      clientSoftwareName: "future",
      clientSoftwareVersion: "9",
    });
    new DataView(frame.buffer, frame.byteOffset).setInt16(6, 99);
    await client.sendRaw(frame);
    const got = await client.receive(ApiVersionsResponse, 0);
    assertEquals(got.correlationId, 77);
    assertEquals(got.body.errorCode, ErrorCode.UNSUPPORTED_VERSION);
    assertEquals(got.body.apiKeys.length, APIS.length);
    ok(got.body.apiKeys.every((k) => k.minVersion === 0));
    // The connection stays usable: the client retries with a version we serve.
    const retry = await client.request(ApiVersionsRequest, ApiVersionsResponse, 3, {
      clientSoftwareName: "future",
      clientSoftwareVersion: "9",
    });
    assertEquals(retry.errorCode, 0);
    ok(t.lines.some((l) => l.startsWith("WARN ApiVersions v99")));
  } finally {
    client.close();
  }
});

Deno.test("ApiVersions v3: malformed client software name gets INVALID_REQUEST", async () => {
  await using t = await startTestBroker();
  const client = await RawClient.connect(t.broker.port);
  try {
    const res = await client.request(ApiVersionsRequest, ApiVersionsResponse, 3, {
      clientSoftwareName: "bad name!",
      clientSoftwareVersion: "1",
    });
    assertEquals(res.errorCode, ErrorCode.INVALID_REQUEST);
  } finally {
    client.close();
  }
});

Deno.test("API registry is in key order and every range starts at 0", () => {
  const keys = APIS.map((a) => a.key);
  assertEquals(keys, [...keys].sort((a, b) => a - b));
  assertEquals(new Set(keys).size, keys.length);
  ok(APIS.every((a) => a.minVersion === 0));
  ok(APIS.every((a) => a.maxVersion <= a.request.maxVersion));
});
