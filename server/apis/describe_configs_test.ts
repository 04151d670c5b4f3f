// Copyright 2026 the Sluice authors. Apache-2.0 license.
import { deepStrictEqual as assertEquals, ok } from "node:assert/strict";
import { ErrorCode } from "../../protocol/errors.ts";
import {
  DescribeConfigsRequest,
  DescribeConfigsResponse,
} from "../../protocol/messages/describe_configs.ts";
import {
  IncrementalAlterConfigsRequest,
  IncrementalAlterConfigsResponse,
} from "../../protocol/messages/incremental_alter_configs.ts";
import { createTopic, RawClient, startTestBroker } from "../testing.ts";

Deno.test("DescribeConfigs: topic configs with sources, synonyms, types and documentation", async () => {
  await using t = await startTestBroker({ topicDefaults: { "segment.bytes": "1048576" } });
  const c = await RawClient.connect(t.broker.port);
  try {
    await createTopic(c, "described", 1, { "retention.ms": "60000" });
    const res = await c.request(DescribeConfigsRequest, DescribeConfigsResponse, 4, {
      resources: [{ resourceType: 2, resourceName: "described", configurationKeys: null }],
      includeSynonyms: true,
      includeDocumentation: true,
    });
    const r = res.results[0];
    assertEquals([r.errorCode, r.resourceType, r.resourceName], [0, 2, "described"]);
    const byName = new Map(r.configs.map((e) => [e.name, e]));
    ok(byName.size >= 20, `only ${byName.size} configs`);
    const retention = byName.get("retention.ms")!;
    assertEquals(
      [retention.value, retention.configSource, retention.readOnly, retention.configType],
      ["60000", 1, false, 5],
    );
    assertEquals(retention.synonyms.map((s) => [s.name, s.value, s.source]), [
      ["retention.ms", "60000", 1],
      ["log.retention.ms", "604800000", 5],
    ]);
    const segment = byName.get("segment.bytes")!;
    assertEquals([segment.value, segment.configSource], ["1048576", 4]);
    assertEquals(segment.synonyms.map((s) => [s.name, s.value, s.source]), [
      ["log.segment.bytes", "1048576", 4],
      ["log.segment.bytes", "1073741824", 5],
    ]);
    const cleanup = byName.get("cleanup.policy")!;
    assertEquals([cleanup.value, cleanup.configSource, cleanup.configType], ["delete", 5, 7]);
    ok(cleanup.documentation!.length > 10);

    // Key filter, no synonyms/docs, and v0's is_default.
    const v0 = await c.request(DescribeConfigsRequest, DescribeConfigsResponse, 0, {
      resources: [{
        resourceType: 2,
        resourceName: "described",
        configurationKeys: ["retention.ms", "flush.ms"],
      }],
    });
    assertEquals(
      v0.results[0].configs.map((e) => [e.name, e.value, e.isDefault]),
      [["flush.ms", "9223372036854775807", true], ["retention.ms", "60000", false]],
    );
    const plain = await c.request(DescribeConfigsRequest, DescribeConfigsResponse, 3, {
      resources: [{ resourceType: 2, resourceName: "described", configurationKeys: ["flush.ms"] }],
    });
    assertEquals(plain.results[0].configs[0].synonyms, []);
    assertEquals(plain.results[0].configs[0].documentation, null);
  } finally {
    c.close();
  }
});

Deno.test("DescribeConfigs: broker resource and errors", async () => {
  await using t = await startTestBroker({ nodeId: 3, numPartitions: 6 });
  const c = await RawClient.connect(t.broker.port);
  try {
    const res = await c.request(DescribeConfigsRequest, DescribeConfigsResponse, 4, {
      resources: [
        { resourceType: 4, resourceName: "3", configurationKeys: null },
        { resourceType: 4, resourceName: "9", configurationKeys: null },
        { resourceType: 2, resourceName: "nope", configurationKeys: null },
        { resourceType: 8, resourceName: "3", configurationKeys: null },
      ],
    });
    const broker = new Map(res.results[0].configs.map((e) => [e.name, e]));
    assertEquals(broker.get("node.id")!.value, "3");
    assertEquals(broker.get("num.partitions")!.value, "6");
    assertEquals(broker.get("num.partitions")!.configSource, 4);
    assertEquals(broker.get("log.retention.ms")!.value, "604800000");
    assertEquals(broker.get("log.retention.ms")!.configSource, 5);
    // the dynamic log configs can be altered; the rest needs a restart
    assertEquals(broker.get("log.retention.ms")!.readOnly, false);
    assertEquals(broker.get("node.id")!.readOnly, true);
    assertEquals(broker.get("listeners")!.readOnly, true);
    assertEquals(res.results.slice(1).map((r) => r.errorCode), [
      ErrorCode.INVALID_REQUEST,
      ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
      ErrorCode.INVALID_REQUEST,
    ]);
    ok(res.results.slice(1).every((r) => (r.errorMessage ?? "").length > 0));
  } finally {
    c.close();
  }
});

Deno.test("DescribeConfigs: the broker's connection limits with their sources, dynamic ones first", async () => {
  await using t = await startTestBroker({ maxConnectionsPerIp: 50 });
  const c = await RawClient.connect(t.broker.port);
  try {
    const alter = async (resourceName: string, name: string, value: string) => {
      const res = await c.request(
        IncrementalAlterConfigsRequest,
        IncrementalAlterConfigsResponse,
        1,
        {
          resources: [{
            resourceType: 4,
            resourceName,
            configs: [{ name, configOperation: 0, value }],
          }],
        },
      );
      assertEquals(res.responses[0].errorCode, 0);
    };
    const node = String(t.broker.config.nodeId);
    await alter(node, "max.connections", "100");
    await alter("", "max.connections", "200");
    await alter("", "max.connection.creation.rate", "30");
    const res = await c.request(DescribeConfigsRequest, DescribeConfigsResponse, 4, {
      resources: [
        { resourceType: 4, resourceName: node, configurationKeys: null },
        { resourceType: 4, resourceName: "", configurationKeys: null },
      ],
      includeSynonyms: true,
      includeDocumentation: false,
    });
    const entries = (i: number) =>
      res.results[i].configs.filter((e) => e.name.startsWith("max.connection")).map((e) => [
        e.name,
        e.value,
        e.configSource,
        e.readOnly,
        e.configType,
        e.synonyms.map((s) => [s.value, s.source]),
      ]);
    // sources: 2 dynamic broker, 3 dynamic default, 4 static, 5 Kafka's default; types 3 int,
    // 2 string
    assertEquals(entries(0), [
      ["max.connection.creation.rate", "30", 3, false, 3, [["30", 3], ["2147483647", 5]]],
      ["max.connections", "100", 2, false, 3, [["100", 2], ["200", 3], ["2147483647", 5]]],
      ["max.connections.per.ip", "50", 4, false, 3, [["50", 4], ["2147483647", 5]]],
      ["max.connections.per.ip.overrides", "", 5, false, 2, [["", 5]]],
    ]);
    assertEquals(entries(1), [
      ["max.connection.creation.rate", "30", 3, false, 3, [["30", 3]]],
      ["max.connections", "200", 3, false, 3, [["200", 3]]],
    ]);
  } finally {
    c.close();
  }
});
