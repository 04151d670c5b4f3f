// Copyright 2026 the Sluice authors. Apache-2.0 license.
// KIP-714 client metrics with a real client: confluent-kafka on librdkafka 2.15.1 (which pushes
// its metrics when the broker serves GetTelemetrySubscriptions and a subscription matches it;
// tests/interop/modern_librdkafka.ts) produces to a real broker. A producer that a subscription
// matches pushes, and /metrics, parsed by the official Prometheus client's parsers (0.0.4 text and
// OpenMetrics), shows its org.apache.kafka.producer.* metrics labelled with its client id and
// instance id; a producer no subscription matches gets an empty subscription and pushes nothing.
// In CI (CI=true) a missing librdkafka 2.15.1 or confluent-kafka fails these tests.

import { deepStrictEqual as assertEquals, ok } from "node:assert/strict";
import { Admin, Client } from "../../client/mod.ts";
import { interopTest, runClientScript, startBroker, uniqueTopic } from "../harness.ts";
import { scrape } from "../prometheus.ts";
import { MODERN_VERSION, modernLibrdkafka, requireOnModern } from "./modern_librdkafka.ts";

const modern = await modernLibrdkafka();
const confluent = await requireOnModern("confluent-kafka", modern);

interface Report {
  delivered: number;
  version: string;
  log: string[];
}

function produce(bootstrap: string, topic: string, clientId: string): Promise<Report> {
  return runClientScript<Report>(
    { file: "telemetry_client.py", env: modern.env },
    "produce",
    { bootstrap, topic, client_id: clientId, seconds: 3 },
    60_000,
  );
}

interopTest(
  confluent,
  "a subscribed producer pushes its metrics to /metrics; an unsubscribed one pushes nothing",
  async () => {
    const b = await startBroker({ httpListener: "http://127.0.0.1:0" });
    try {
      const topic = uniqueTopic("telemetry");
      const client = new Client({ bootstrapServers: b.bootstrap });
      try {
        await new Admin(client).alterConfigs([{
          type: "client-metrics",
          name: "producers",
          changes: [
            { name: "metrics", value: "org.apache.kafka.producer." },
            { name: "interval.ms", value: "1000" },
            { name: "match", value: "client_id=telemetry-on" },
          ],
        }]);
      } finally {
        client.close();
      }
      const [on, off] = await Promise.all([
        produce(b.bootstrap, topic, "telemetry-on"),
        produce(b.bootstrap, topic, "telemetry-off"),
      ]);
      assertEquals([on.version, off.version], [MODERN_VERSION, MODERN_VERSION]);
      ok(on.delivered > 0 && off.delivered > 0);
      // librdkafka's telemetry debug log: one subscription with one prefix, then pushes
      ok(
        on.log.some((l) => /Handled GetTelemetrySubscriptions.*err = Success, metrics = 1/.test(l)),
        on.log.join("\n"),
      );
      ok(on.log.some((l) => l.includes("PushTelemetryRequest succeeded")), on.log.join("\n"));
      ok(!on.log.some((l) => /PushTelemetry.*failed|Error/i.test(l)), on.log.join("\n"));
      ok(
        off.log.some((l) =>
          /Handled GetTelemetrySubscriptions.*err = Success, metrics = 0/.test(l)
        ),
        off.log.join("\n"),
      );
      ok(!off.log.some((l) => l.includes("Sending PushTelemetryRequest")), off.log.join("\n"));

      const port = b.broker.httpAddress!.port;
      for (const format of ["text", "openmetrics"] as const) {
        const s = await scrape(port, format);
        const ours = s.samples.filter(([name]) => name.startsWith("org_apache_kafka_"));
        // only the subscribed producer's, all asked for, all labelled with its ids
        ok(ours.length >= 5, `${format}: ${JSON.stringify(ours)}`);
        const ids = new Set(ours.map(([, l]) => l.client_instance_id));
        assertEquals(ids.size, 1, format);
        ok([...ids][0]!.length === 22, format);
        for (const [name, labels] of ours) {
          ok(name.startsWith("org_apache_kafka_producer_"), name);
          assertEquals(labels.client_id, "telemetry-on", name);
        }
        const id = [...ids][0]!;
        // a counter (a monotonic cumulative sum) and a gauge per broker node
        assertEquals(s.families["org_apache_kafka_producer_connection_creation"], "counter");
        ok(
          (s.value("org_apache_kafka_producer_connection_creation_total", {
            client_instance_id: id,
            client_id: "telemetry-on",
          }) ?? 0) >= 1,
          format,
        );
        assertEquals(s.families["org_apache_kafka_producer_node_request_latency_avg"], "gauge");
        ok(
          ours.some(([name, l]) =>
            name === "org_apache_kafka_producer_node_request_latency_avg" && l.node_id === "1"
          ),
          format,
        );
        ok((s.value("sluice_client_metrics_pushes_total") ?? 0) >= 2, format);
        assertEquals(s.value("sluice_client_metrics_push_errors_total"), 0, format);
      }
    } finally {
      await b.close();
    }
  },
);
