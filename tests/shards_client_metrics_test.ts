// Copyright 2026 the Sluice authors. Apache-2.0 license.
// KIP-714 client metrics on a sharded broker (sluice.workers=2) as its own process: the telemetry
// requests of a connection on shard 1 are forwarded to shard 0, where the client instances live,
// with the connection's client software from ApiVersions (which only the connection's own shard
// saw). A subscription matches on `client_software_name` and `client_software_version`; sixteen
// connections, which the kernel spreads over both shards, each name that software, ask, push and
// show up on /metrics with their own client id; a connection with another software gets nothing.
// Which shard a connection lands on is not visible from outside: with sixteen the chance that
// none lands on shard 1 is 2^-16 (without the software forwarded, 11 and 6 of 16 went unmatched
// in two runs: docs/OBSERVABILITY.md).
import { deepStrictEqual as assertEquals, ok } from "node:assert/strict";
import { encodeRequestFrame } from "../protocol/framing.ts";
import { ZERO_UUID } from "../protocol/primitives.ts";
import { ApiVersionsRequest, ApiVersionsResponse } from "../protocol/messages/api_versions.ts";
import {
  GetTelemetrySubscriptionsRequest,
  GetTelemetrySubscriptionsResponse,
} from "../protocol/messages/get_telemetry_subscriptions.ts";
import {
  IncrementalAlterConfigsRequest,
  IncrementalAlterConfigsResponse,
} from "../protocol/messages/incremental_alter_configs.ts";
import {
  PushTelemetryRequest,
  PushTelemetryResponse,
} from "../protocol/messages/push_telemetry.ts";
import type { MessageCodec } from "../protocol/primitives.ts";
import { compress } from "../records/compression.ts";
import { RawClient } from "../server/testing.ts";
import { encodeMetricsData } from "../server/testdata/otlp_encode.ts";
import { startShardedBroker, stopShardedBroker } from "./harness.ts";

const CONNECTIONS = 16;

/** One request on `c` with `clientId` in its header; its response. */
async function requestAs<Req, Res>(
  c: RawClient,
  clientId: string,
  req: MessageCodec<Req>,
  res: MessageCodec<Res>,
  version: number,
  body: Partial<Req>,
): Promise<Res> {
  await c.sendRaw(encodeRequestFrame(req, version, 1, clientId, req.create(body)));
  return (await c.receive(res, version)).body;
}

Deno.test({
  name:
    "sluice.workers=2: telemetry of connections on either shard reaches shard 0 with their client software",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "sluice-shards-telemetry-test-" });
    const b = await startShardedBroker(dir, ["sluice.http.listener=http://127.0.0.1:0"]);
    const conns: RawClient[] = [];
    try {
      const admin = await RawClient.connect(b.port);
      conns.push(admin);
      const set = await admin.request(
        IncrementalAlterConfigsRequest,
        IncrementalAlterConfigsResponse,
        1,
        {
          resources: [{
            resourceType: 16, // CLIENT_METRICS
            resourceName: "sw",
            configs: [
              ["metrics", "org.apache.kafka.producer."],
              ["interval.ms", "60000"],
              ["match", "client_software_name=sluice-sw,client_software_version=1\\.0"],
            ].map(([name, value]) => ({ name, configOperation: 0, value })),
          }],
          validateOnly: false,
        },
      );
      assertEquals(set.responses.map((r) => r.errorCode), [0]);

      /** Connects as `software` and asks for a subscription as `clientId`. */
      const ask = async (clientId: string, software: [string, string]) => {
        const c = await RawClient.connect(b.port);
        conns.push(c);
        const av = await requestAs(c, clientId, ApiVersionsRequest, ApiVersionsResponse, 3, {
          clientSoftwareName: software[0],
          clientSoftwareVersion: software[1],
        });
        assertEquals(av.errorCode, 0);
        const sub = await requestAs(
          c,
          clientId,
          GetTelemetrySubscriptionsRequest,
          GetTelemetrySubscriptionsResponse,
          0,
          { clientInstanceId: ZERO_UUID },
        );
        return { c, sub };
      };

      const ids: string[] = [];
      for (let i = 0; i < CONNECTIONS; i++) {
        const clientId = `c-${i}`;
        const { c, sub } = await ask(clientId, ["sluice-sw", "1.0"]);
        assertEquals(
          [sub.errorCode, sub.requestedMetrics, sub.pushIntervalMs],
          [0, ["org.apache.kafka.producer."], 60000],
          `${clientId}: the subscription matched the software its ApiVersions named`,
        );
        const push = await requestAs(c, clientId, PushTelemetryRequest, PushTelemetryResponse, 0, {
          clientInstanceId: sub.clientInstanceId,
          subscriptionId: sub.subscriptionId,
          compressionType: 4,
          metrics: compress(
            encodeMetricsData([{
              name: "org.apache.kafka.producer.record.send.total",
              kind: "sum",
              value: 100 + i,
              int: true,
              monotonic: true,
            }]),
            "zstd",
          ),
        });
        assertEquals(push.errorCode, 0, `${clientId}: push`);
        ids.push(sub.clientInstanceId);
      }
      // another software (and a version the pattern's whole-value match refuses) gets nothing
      for (const software of [["other", "1.0"], ["sluice-sw", "1.01"]] as [string, string][]) {
        const { sub } = await ask("c-other", software);
        assertEquals(
          [sub.errorCode, sub.requestedMetrics, sub.pushIntervalMs],
          [0, [], 300000],
          software.join("/"),
        );
      }
      ok(new Set(ids).size === CONNECTIONS && !ids.includes(ZERO_UUID));

      const text = await (await fetch(`http://127.0.0.1:${b.http}/metrics`)).text();
      const series = text.split("\n").filter((l) => l.startsWith("org_apache_kafka_")).sort();
      assertEquals(
        series,
        ids.map((id, i) =>
          `org_apache_kafka_producer_record_send_total{client_instance_id="${id}",client_id="c-${i}"} ${
            100 + i
          }`
        ).sort(),
      );
      assertEquals(
        text.split("\n").filter((l) => l.startsWith("kafka_server_client_metrics_instance_count")),
        [`kafka_server_client_metrics_instance_count ${CONNECTIONS + 2}`],
      );
    } finally {
      for (const c of conns) c.close();
      await stopShardedBroker(b);
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
