// Copyright 2026 the Sluice authors. Apache-2.0 license.
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { ErrorCode } from "../../protocol/errors.ts";
import {
  AlterConfigsRequest,
  AlterConfigsResponse,
} from "../../protocol/messages/alter_configs.ts";
import {
  DescribeConfigsRequest,
  DescribeConfigsResponse,
} from "../../protocol/messages/describe_configs.ts";
import { createTopic, RawClient, startTestBroker } from "../testing.ts";

async function overrides(c: RawClient, topic: string): Promise<Record<string, string>> {
  const res = await c.request(DescribeConfigsRequest, DescribeConfigsResponse, 4, {
    resources: [{ resourceType: 2, resourceName: topic, configurationKeys: null }],
  });
  const out: Record<string, string> = {};
  for (const e of res.results[0].configs) if (e.configSource === 1) out[e.name] = e.value!;
  return out;
}

Deno.test("AlterConfigs: replaces a topic's overrides; validate_only and errors", async () => {
  await using t = await startTestBroker();
  const c = await RawClient.connect(t.broker.port);
  try {
    await createTopic(c, "alt", 1, { "retention.ms": "1000", "segment.bytes": "1048576" });
    const res = await c.request(AlterConfigsRequest, AlterConfigsResponse, 2, {
      resources: [
        { resourceType: 2, resourceName: "alt", configs: [{ name: "retention.ms", value: "5" }] },
        { resourceType: 2, resourceName: "missing", configs: [] },
        { resourceType: 4, resourceName: "1", configs: [{ name: "num.partitions", value: "2" }] },
      ],
    });
    assertEquals(res.responses.map((r) => [r.resourceName, r.errorCode]), [
      ["alt", 0],
      ["missing", ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
      ["1", ErrorCode.INVALID_REQUEST],
    ]);
    assertEquals(await overrides(c, "alt"), { "retention.ms": "5" });
    const bad = await c.request(AlterConfigsRequest, AlterConfigsResponse, 0, {
      resources: [{
        resourceType: 2,
        resourceName: "alt",
        configs: [{ name: "retention.ms", value: "later" }],
      }],
    });
    assertEquals(bad.responses[0].errorCode, ErrorCode.INVALID_CONFIG);
    const dry = await c.request(AlterConfigsRequest, AlterConfigsResponse, 1, {
      resources: [{ resourceType: 2, resourceName: "alt", configs: [] }],
      validateOnly: true,
    });
    assertEquals(dry.responses[0].errorCode, 0);
    assertEquals(await overrides(c, "alt"), { "retention.ms": "5" });
  } finally {
    c.close();
  }
});

Deno.test("AlterConfigs: a resource listed twice is refused (INVALID_REQUEST) and left unchanged", async () => {
  await using t = await startTestBroker();
  const c = await RawClient.connect(t.broker.port);
  try {
    await createTopic(c, "dup", 1, { "retention.ms": "1000" });
    await createTopic(c, "once", 1);
    // The fuzzer sent 1001 copies: each was applied with its own fsync, for seconds.
    const copies = Array.from({ length: 1000 }, () => ({
      resourceType: 2,
      resourceName: "dup",
      configs: [{ name: "retention.ms", value: "5" }],
    }));
    const res = await c.request(AlterConfigsRequest, AlterConfigsResponse, 2, {
      resources: [
        ...copies,
        { resourceType: 2, resourceName: "once", configs: [{ name: "retention.ms", value: "7" }] },
      ],
    });
    assertEquals(res.responses.length, 1001);
    assertEquals(
      new Set(res.responses.slice(0, 1000).map((r) => `${r.resourceName} ${r.errorCode}`)),
      new Set([`dup ${ErrorCode.INVALID_REQUEST}`]),
    );
    assertEquals(res.responses[0].errorMessage, "Duplicate resource");
    assertEquals([res.responses[1000].resourceName, res.responses[1000].errorCode], ["once", 0]);
    assertEquals(await overrides(c, "dup"), { "retention.ms": "1000" });
    assertEquals(await overrides(c, "once"), { "retention.ms": "7" });
  } finally {
    c.close();
  }
});
