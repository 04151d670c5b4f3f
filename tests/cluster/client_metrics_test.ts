// Copyright 2026 the Sluice authors. Apache-2.0 license.
// Cluster mode keeps one set of client metrics subscriptions (KIP-714) in etcd
// (`<prefix>/client-metrics`): an IncrementalAlterConfigs on one broker is listed, described and
// given to clients by every broker through the watch, and a restarted broker loads them.
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { ZERO_UUID } from "../../protocol/primitives.ts";
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
import { RawClient } from "../../server/testing.ts";
import { sharedEtcd } from "../etcd.ts";
import { clusterTest, startCluster, until } from "./harness.ts";

const etcd = sharedEtcd();

const test = clusterTest("cluster client metrics");

async function onBroker<T>(port: number, fn: (c: RawClient) => Promise<T>): Promise<T> {
  const c = await RawClient.connect(port);
  try {
    return await fn(c);
  } finally {
    c.close();
  }
}

const names = (port: number) =>
  onBroker(
    port,
    (c) =>
      c.request(ListClientMetricsResourcesRequest, ListClientMetricsResourcesResponse, 0, {})
        .then((r) => r.clientMetricsResources.map((x) => x.name)),
  );

const subscription = (port: number) =>
  onBroker(
    port,
    (c) =>
      c.request(GetTelemetrySubscriptionsRequest, GetTelemetrySubscriptionsResponse, 0, {
        clientInstanceId: ZERO_UUID,
      }).then((r) => [r.errorCode, r.requestedMetrics, r.pushIntervalMs]),
  );

test("a subscription set on one broker applies on every broker, and after a restart", async () => {
  const e = await etcd();
  const c = await startCluster(e, 2);
  try {
    const r = await onBroker(
      c.brokers[0]!.port,
      (raw) =>
        raw.request(IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse, 1, {
          resources: [{
            resourceType: 16,
            resourceName: "all",
            configs: [
              { name: "metrics", configOperation: 0, value: "org.apache.kafka." },
              { name: "interval.ms", configOperation: 0, value: "5000" },
            ],
          }],
        }),
    );
    assertEquals(r.responses.map((x) => x.errorCode), [0]);
    assertEquals(await names(c.brokers[0]!.port), ["all"]);
    await until(
      "broker 2 lists the subscription",
      async () => (await names(c.brokers[1]!.port)).length === 1,
      10_000,
    );
    assertEquals(await subscription(c.brokers[1]!.port), [0, ["org.apache.kafka."], 5000]);
    await c.stop(1);
    await c.start(1);
    assertEquals(await names(c.brokers[1]!.port), ["all"]);
    assertEquals(await subscription(c.brokers[1]!.port), [0, ["org.apache.kafka."], 5000]);
  } finally {
    await c.close();
  }
});
