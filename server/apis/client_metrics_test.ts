// Copyright 2026 the Sluice authors. Apache-2.0 license.
// KIP-714 over the wire, against a real broker on a real port: client metrics subscriptions set
// by IncrementalAlterConfigs and AlterConfigs, read by DescribeConfigs and
// ListClientMetricsResources, kept across a restart; GetTelemetrySubscriptions and PushTelemetry
// with their errors; and the pushed values on /metrics.

import { deepStrictEqual as assertEquals, ok } from "node:assert/strict";
import { ErrorCode } from "../../protocol/errors.ts";
import { ZERO_UUID } from "../../protocol/primitives.ts";
import {
  AlterConfigsRequest,
  AlterConfigsResponse,
} from "../../protocol/messages/alter_configs.ts";
import { ApiVersionsRequest, ApiVersionsResponse } from "../../protocol/messages/api_versions.ts";
import {
  DescribeConfigsRequest,
  DescribeConfigsResponse,
} from "../../protocol/messages/describe_configs.ts";
import {
  GetTelemetrySubscriptionsRequest,
  GetTelemetrySubscriptionsResponse,
} from "../../protocol/messages/get_telemetry_subscriptions.ts";
import {
  IncrementalAlterConfigsRequest,
  IncrementalAlterConfigsResponse,
} from "../../protocol/messages/incremental_alter_configs.ts";
import {
  ListClientMetricsResourcesRequest,
  ListClientMetricsResourcesResponse,
} from "../../protocol/messages/list_client_metrics_resources.ts";
import {
  PushTelemetryRequest,
  PushTelemetryResponse,
} from "../../protocol/messages/push_telemetry.ts";
import { compress } from "../../records/compression.ts";
import { startBroker } from "../../tests/harness.ts";
import { RawClient, startTestBroker } from "../testing.ts";
import { AclOperation, AclPermissionType, PatternType, ResourceType } from "../security/acl.ts";
import { encodeMetricsData } from "../testdata/otlp_encode.ts";

const CM = 16;

function alter(
  c: RawClient,
  name: string,
  configs: [string, number, string | null][],
  validateOnly = false,
) {
  return c.request(IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse, 1, {
    resources: [{
      resourceType: CM,
      resourceName: name,
      configs: configs.map(([n, op, value]) => ({ name: n, configOperation: op, value })),
    }],
    validateOnly,
  }).then((r) => r.responses.map((x) => [x.errorCode, x.errorMessage]));
}

async function describe(c: RawClient, name: string) {
  const r = await c.request(DescribeConfigsRequest, DescribeConfigsResponse, 4, {
    resources: [{ resourceType: CM, resourceName: name, configurationKeys: null }],
    includeSynonyms: false,
    includeDocumentation: false,
  });
  const [res] = r.results;
  return [res.errorCode, res.configs.map((e) => [e.name, e.value, e.configSource, e.configType])];
}

async function list(c: RawClient): Promise<string[]> {
  const r = await c.request(
    ListClientMetricsResourcesRequest,
    ListClientMetricsResourcesResponse,
    0,
    {},
  );
  assertEquals(r.errorCode, 0);
  return r.clientMetricsResources.map((x) => x.name);
}

Deno.test({
  name: "client metrics subscriptions: alter, describe and list, then after a restart",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const b = await startBroker();
    let c = await RawClient.connect(b.port);
    try {
      assertEquals(await list(c), []);
      // an unknown subscription describes as Kafka's defaults
      assertEquals(await describe(c, "none"), [0, [
        ["interval.ms", "300000", 5, 3],
        ["match", "", 5, 7],
        ["metrics", "", 5, 7],
      ]]);
      assertEquals(
        await alter(c, "prod", [
          ["metrics", 0, "org.apache.kafka.producer."],
          ["interval.ms", 0, "1000"],
          ["match", 0, "client_id=app-.*"],
        ]),
        [[0, null]],
      );
      // APPEND to a list; SUBTRACT
      assertEquals(
        await alter(c, "prod", [["metrics", 2, "org.apache.kafka.consumer.,x."]]),
        [[0, null]],
      );
      assertEquals(await alter(c, "prod", [["metrics", 3, "x."]]), [[0, null]]);
      // refusals: nothing changes
      assertEquals(await alter(c, "prod", [["interval.ms", 0, "50"]]), [[
        ErrorCode.INVALID_REQUEST,
        "Invalid value 50 for interval.ms, interval must be between 100 and 3600000 (1 hour)",
      ]]);
      assertEquals(await alter(c, "prod", [["match", 0, "host=a"]]), [[
        ErrorCode.INVALID_CONFIG,
        "Illegal client matching pattern: host=a",
      ]]);
      assertEquals(await alter(c, "prod", [["color", 0, "red"]]), [[
        ErrorCode.INVALID_REQUEST,
        "Unknown client metrics configuration: color",
      ]]);
      assertEquals(await alter(c, "prod", [["interval.ms", 2, "5"]]), [[
        ErrorCode.INVALID_CONFIG,
        "Config interval.ms: APPEND and SUBTRACT only apply to list configs",
      ]]);
      assertEquals(await alter(c, "", [["metrics", 0, "*"]]), [[
        ErrorCode.INVALID_REQUEST,
        "Subscription name can't be empty",
      ]]);
      assertEquals(await alter(c, "prod", [["interval.ms", 0, "2000"]], true), [[0, null]]);
      assertEquals(await alter(c, "other", [["metrics", 0, "*"]], true), [[0, null]]);
      assertEquals(await list(c), ["prod"]);
      const expected = [0, [
        ["interval.ms", "1000", 7, 3],
        ["match", "client_id=app-.*", 7, 7],
        ["metrics", "org.apache.kafka.producer.,org.apache.kafka.consumer.", 7, 7],
      ]];
      assertEquals(await describe(c, "prod"), expected);
      c.close();
      await b.restart();
      c = await RawClient.connect(b.port);
      assertEquals(await list(c), ["prod"]);
      assertEquals(await describe(c, "prod"), expected);
      // legacy AlterConfigs replaces every config
      const legacy = await c.request(AlterConfigsRequest, AlterConfigsResponse, 2, {
        resources: [{
          resourceType: CM,
          resourceName: "all",
          configs: [{ name: "metrics", value: "*" }],
        }],
      });
      assertEquals(legacy.responses.map((r) => r.errorCode), [0]);
      assertEquals(await list(c), ["all", "prod"]);
      // deleting every config deletes the subscription
      assertEquals(
        await alter(c, "prod", [["metrics", 1, null], ["interval.ms", 1, null], [
          "match",
          1,
          null,
        ]]),
        [[0, null]],
      );
      assertEquals(await list(c), ["all"]);
    } finally {
      c.close();
      await b.close();
    }
  },
});

Deno.test({
  name: "GetTelemetrySubscriptions and PushTelemetry over the wire; /metrics shows the values",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const b = await startBroker({ httpListener: "http://127.0.0.1:0" });
    const c = await RawClient.connect(b.port);
    const other = await RawClient.connect(b.port);
    try {
      assertEquals(
        await alter(c, "sw", [
          ["metrics", 0, "org.apache.kafka.producer."],
          ["interval.ms", 0, "60000"],
          ["match", 0, "client_software_name=sluice-sw,client_id=sluice-test"],
        ]),
        [[0, null]],
      );
      // the software name comes from ApiVersions v3
      const av = await c.request(ApiVersionsRequest, ApiVersionsResponse, 3, {
        clientSoftwareName: "sluice-sw",
        clientSoftwareVersion: "1.0",
      });
      assertEquals(av.errorCode, 0);
      ok(av.apiKeys.some((k) => k.apiKey === 71 && k.maxVersion === 0));
      ok(av.apiKeys.some((k) => k.apiKey === 72 && k.maxVersion === 0));
      ok(av.apiKeys.some((k) => k.apiKey === 74 && k.maxVersion === 0));
      const sub = await c.request(
        GetTelemetrySubscriptionsRequest,
        GetTelemetrySubscriptionsResponse,
        0,
        { clientInstanceId: ZERO_UUID },
      );
      assertEquals(
        [sub.errorCode, sub.requestedMetrics, sub.pushIntervalMs, sub.acceptedCompressionTypes],
        [0, ["org.apache.kafka.producer."], 60000, [4, 3, 1, 2]],
      );
      assertEquals([sub.telemetryMaxBytes, sub.deltaTemporality], [1048576, false]);
      const id = sub.clientInstanceId;
      ok(id !== ZERO_UUID);
      // a connection that did not name its software matches nothing
      const none = await other.request(
        GetTelemetrySubscriptionsRequest,
        GetTelemetrySubscriptionsResponse,
        0,
        { clientInstanceId: ZERO_UUID },
      );
      assertEquals([none.errorCode, none.requestedMetrics, none.pushIntervalMs], [0, [], 300000]);
      const pushReq = (metrics: Uint8Array, extra: Record<string, unknown> = {}) =>
        c.request(PushTelemetryRequest, PushTelemetryResponse, 0, {
          clientInstanceId: id,
          subscriptionId: sub.subscriptionId,
          compressionType: 4,
          metrics,
          ...extra,
        }).then((r) => r.errorCode);
      const payload = compress(
        encodeMetricsData([
          {
            name: "org.apache.kafka.producer.node.request.latency.avg",
            kind: "gauge",
            value: 2.5,
            attributes: [["node_id", "1"]],
          },
          {
            name: "org.apache.kafka.producer.connection.creation.total",
            kind: "sum",
            value: 3,
            int: true,
            monotonic: true,
          },
          { name: "org.apache.kafka.consumer.not.asked", kind: "gauge", value: 1 },
        ]),
        "zstd",
      );
      assertEquals(
        await pushReq(payload, { subscriptionId: sub.subscriptionId + 1 }),
        ErrorCode.UNKNOWN_SUBSCRIPTION_ID,
      );
      // after UNKNOWN_SUBSCRIPTION_ID the client may ask again at once
      const again = await c.request(
        GetTelemetrySubscriptionsRequest,
        GetTelemetrySubscriptionsResponse,
        0,
        { clientInstanceId: id },
      );
      assertEquals([again.errorCode, again.subscriptionId], [0, sub.subscriptionId]);
      assertEquals(await pushReq(payload), 0);
      assertEquals(await pushReq(payload), ErrorCode.THROTTLING_QUOTA_EXCEEDED);
      // a hostile payload is refused, and the broker carries on
      assertEquals(
        await pushReq(new Uint8Array([0x28, 0xb5, 0x2f, 0xfd, 1, 2, 3]), { terminating: true }),
        ErrorCode.INVALID_RECORD,
      );
      assertEquals(await pushReq(payload), ErrorCode.INVALID_REQUEST); // after terminating
      const text = await (await fetch(`http://127.0.0.1:${b.broker.httpAddress!.port}/metrics`))
        .text();
      const lines = text.split("\n").filter((l) =>
        /^(org_apache_kafka|kafka_server_client_metrics|sluice_client_metrics)/.test(l)
      );
      assertEquals(lines, [
        "kafka_server_client_metrics_instance_count 2",
        "sluice_client_metrics_pushes_total 1",
        "sluice_client_metrics_push_errors_total 4",
        "sluice_client_metrics_throttled_total 1",
        "sluice_client_metrics_unknown_subscription_total 1",
        `org_apache_kafka_producer_connection_creation_total{client_instance_id="${id}",client_id="sluice-test"} 3`,
        `org_apache_kafka_producer_node_request_latency_avg{client_instance_id="${id}",client_id="sluice-test",node_id="1"} 2.5`,
      ]);
    } finally {
      c.close();
      other.close();
      await b.close();
    }
  },
});

Deno.test({
  name: "client metrics ACLs: DESCRIBE_CONFIGS to list and describe, ALTER_CONFIGS to change",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using tb = await startTestBroker({ authorizerClassName: "sluice.acl" });
    const c = await RawClient.connect(tb.broker.port);
    const grant = (operation: number) =>
      tb.broker.authorizer!.createAcls([{
        resourceType: ResourceType.CLUSTER,
        resourceName: "kafka-cluster",
        patternType: PatternType.LITERAL,
        principal: "User:ANONYMOUS",
        host: "*",
        operation,
        permissionType: AclPermissionType.ALLOW,
      }]);
    try {
      const listed = () =>
        c.request(ListClientMetricsResourcesRequest, ListClientMetricsResourcesResponse, 0, {})
          .then((r) => [r.errorCode, r.clientMetricsResources.map((x) => x.name)]);
      const refused = ErrorCode.CLUSTER_AUTHORIZATION_FAILED;
      assertEquals(await listed(), [refused, []]);
      assertEquals((await describe(c, "s"))[0], refused);
      assertEquals((await alter(c, "s", [["metrics", 0, "*"]]))[0][0], refused);
      // asking for a subscription needs nothing
      const sub = await c.request(
        GetTelemetrySubscriptionsRequest,
        GetTelemetrySubscriptionsResponse,
        0,
        { clientInstanceId: ZERO_UUID },
      );
      assertEquals([sub.errorCode, sub.requestedMetrics], [0, []]);
      await grant(AclOperation.DESCRIBE_CONFIGS);
      assertEquals(await listed(), [0, []]);
      assertEquals((await describe(c, "s"))[0], 0);
      assertEquals((await alter(c, "s", [["metrics", 0, "*"]]))[0][0], refused);
      await grant(AclOperation.ALTER_CONFIGS);
      assertEquals(await alter(c, "s", [["metrics", 0, "*"]]), [[0, null]]);
      assertEquals(await listed(), [0, ["s"]]);
    } finally {
      c.close();
    }
  },
});
