// Copyright 2026 the Sluice authors. Apache-2.0 license.
// /metrics, /healthz and /readyz of a real broker (sluice.http.listener on 127.0.0.1:0, issue
// #15), after real clients produced and consumed: kcat and our client produce, a confluent-kafka
// group consumes and commits. The exposition is parsed by the official Prometheus Python client's
// parsers (Debian python3-prometheus-client; both 0.0.4 text and OpenMetrics), and its values are
// checked against what the clients did.

import { deepStrictEqual as assertEquals, ok } from "node:assert/strict";
import { Client, Producer } from "../../client/mod.ts";
import {
  interopTest,
  PYTHON,
  requireClients,
  runClientScript,
  runCommand,
  startBroker,
  type TestBroker,
  uniqueTopic,
} from "../harness.ts";
import { fetchBody, RawClient } from "../../server/testing.ts";
import { PROMETHEUS_PARSER, scrape } from "../prometheus.ts";
import { FetchRequest, FetchResponse } from "../../protocol/messages/fetch.ts";
import { writeExposition } from "../../server/http/exposition.ts";
import { ProduceRequest, ProduceResponse } from "../../protocol/messages/produce.ts";
import { ErrorCode } from "../../protocol/errors.ts";
import { produceBody } from "../../server/testing.ts";
import { TestController, waitUntil } from "../../server/testdata/test_cluster.ts";
import { buildBatch } from "../../wasm/testing.ts";

const clients = requireClients(["kcat", "confluent-kafka"]);
const PARSER = PROMETHEUS_PARSER;
async function withBroker(fn: (b: TestBroker, http: number) => Promise<void>): Promise<void> {
  const b = await startBroker({ httpListener: "http://127.0.0.1:0" });
  try {
    await fn(b, b.broker.httpAddress!.port);
  } finally {
    await b.close();
  }
}

async function kcatProduce(bootstrap: string, topic: string, lines: string[]): Promise<void> {
  const r = await runCommand("kcat", ["-P", "-b", bootstrap, "-t", topic, "-p", "0"], {
    stdin: lines.join("\n") + "\n",
  });
  assertEquals(r.code, 0, r.stderr);
}

async function ourProduce(bootstrap: string, topic: string, values: string[]): Promise<void> {
  const client = new Client({ bootstrapServers: bootstrap });
  try {
    const producer = new Producer(client);
    await producer.send({ topic, messages: values.map((value) => ({ value, partition: 0 })) });
    await producer.close();
  } finally {
    await client.close();
  }
}

async function groupConsume(bootstrap: string, topic: string, group: string, count: number) {
  const r = await runClientScript<{ records: unknown[] }>("confluent_client.py", "group_consume", {
    bootstrap,
    topic,
    group,
    count,
  });
  assertEquals(r.records.length, count);
}

interopTest(clients, "/metrics counts what kcat, our client and a group did", async () => {
  await withBroker(async (b, http) => {
    const topic = uniqueTopic("metrics");
    const group = `${topic}-group`;
    // N records: 30 by kcat, 20 by our client
    await kcatProduce(b.bootstrap, topic, Array.from({ length: 30 }, (_, i) => `kcat-${i}`));
    await ourProduce(b.bootstrap, topic, Array.from({ length: 20 }, (_, i) => `ours-${i}`));
    const N = 50;
    await groupConsume(b.bootstrap, topic, group, N);
    let m = await scrape(http);
    const t = { topic };
    const tp = { topic, partition: "0" };
    assertEquals(m.value("kafka_server_brokertopicmetrics_messagesin_total", t), N);
    assertEquals(m.value("kafka_log_log_logendoffset", tp), N);
    assertEquals(m.value("kafka_log_log_logstartoffset", tp), 0);
    assertEquals(m.value("kafka_log_log_numlogsegments", tp), 1);
    // batches are stored as received: the bytes in are the log's size, and the group read it all
    const size = m.value("kafka_log_log_size", tp)!;
    ok(size > N * 10, `log size ${size}`);
    assertEquals(m.value("kafka_server_brokertopicmetrics_bytesin_total", t), size);
    assertEquals(m.value("kafka_server_brokertopicmetrics_bytesout_total", t), size);
    assertEquals(m.value("kafka_server_brokertopicmetrics_failedproducerequests_total", t), 0);
    // committed everything: no lag
    const g = { consumergroup: group, topic, partition: "0" };
    assertEquals(m.value("kafka_consumergroup_current_offset", g), N);
    assertEquals(m.value("kafka_consumergroup_lag", g), 0);
    assertEquals(m.value("kafka_consumergroup_members", { consumergroup: group }), 0);

    // per-API requests, with a latency histogram per API whose count is the requests'
    const produces = m.all("kafka_network_requestmetrics_requests_total", { request: "Produce" });
    ok(produces.length >= 1, "Produce requests counted");
    const producesTotal = produces.reduce((n, [, v]) => n + v, 0);
    ok(producesTotal >= 2, `${producesTotal} Produce requests`);
    assertEquals(
      m.value("kafka_network_requestmetrics_totaltimems_count", { request: "Produce" }),
      producesTotal,
    );
    assertEquals(
      m.value("kafka_network_requestmetrics_totaltimems_bucket", {
        request: "Produce",
        le: "+Inf",
      }),
      producesTotal,
    );
    const buckets = m.all("kafka_network_requestmetrics_totaltimems_bucket", { request: "Fetch" })
      .map(([, v]) => v);
    assertEquals([...buckets].sort((a, b) => a - b), buckets, "buckets are cumulative");
    ok(
      m.value("kafka_network_requestmetrics_requests_total", {
        request: "ApiVersions",
        version: "3",
      })! >= 2,
    );
    assertEquals(m.families["kafka_network_requestmetrics_totaltimems"], "histogram");
    assertEquals(m.families["kafka_server_brokertopicmetrics_messagesin"], "counter");
    ok(
      m.value("kafka_server_socket_server_metrics_connection_creation_total", {
        listener: "PLAINTEXT",
      })! >= 3,
    );
    assertEquals(m.value("kafka_server_kafkaserver_brokerstate"), 3);

    // K more, not consumed: lag K
    const K = 7;
    await ourProduce(b.bootstrap, topic, Array.from({ length: K }, (_, i) => `late-${i}`));
    m = await scrape(http);
    assertEquals(m.value("kafka_server_brokertopicmetrics_messagesin_total", t), N + K);
    assertEquals(m.value("kafka_log_log_logendoffset", tp), N + K);
    assertEquals(m.value("kafka_consumergroup_lag", g), K);
    assertEquals(m.value("kafka_consumergroup_current_offset", g), N);
    ok(m.value("kafka_log_log_size", tp)! > size);

    // the same through OpenMetrics
    const om = await scrape(http, "openmetrics");
    assertEquals(om.value("kafka_server_brokertopicmetrics_messagesin_total", t), N + K);
    assertEquals(om.value("kafka_consumergroup_lag", g), K);
    assertEquals(om.families["kafka_server_brokertopicmetrics_messagesin"], "counter");
  });
});

interopTest(clients, "/metrics shows parked fetches, request memory and connections", async () => {
  await withBroker(async (b, http) => {
    const topic = uniqueTopic("purgatory");
    await kcatProduce(b.bootstrap, topic, ["one"]);
    const raw = await RawClient.connect(b.port);
    try {
      // a long poll at the log end parks in the fetch purgatory until an append
      let m = await scrape(http);
      const before = m.value("kafka_log_log_size", { topic, partition: "0" })!;
      const reply = raw.request(
        FetchRequest,
        FetchResponse,
        11,
        fetchBody([{ topic, partition: 0, offset: 1 }], { maxWaitMs: 30_000, minBytes: 1 }),
      );
      reply.catch(() => {}); // a failed assertion closes the client under it
      for (let i = 0; i < 100 && m.value(PURGATORY, { delayedoperation: "Fetch" }) !== 1; i++) {
        await new Promise((r) => setTimeout(r, 50));
        m = await scrape(http);
      }
      assertEquals(m.value(PURGATORY, { delayedoperation: "Fetch" }), 1);
      assertEquals(m.value(PURGATORY, { delayedoperation: "Produce" }), 0);
      assertEquals(
        m.value("kafka_server_socket_server_metrics_connection_count", { listener: "PLAINTEXT" }),
        1,
      );
      // the parked request holds its bytes of request memory until it is answered
      const held = [...b.broker.connectionQueuedBytes().values()].reduce((a, n) => a + n, 0);
      ok(held > 0);
      assertEquals(m.value("kafka_network_socketserver_memorypoolused"), held);
      assertEquals(
        m.value("kafka_network_socketserver_memorypoolavailable"),
        b.broker.config.queuedMaxRequestBytes - held,
      );
      await kcatProduce(b.bootstrap, topic, ["two"]);
      const res = await reply;
      assertEquals(res.responses[0].partitions[0].errorCode, 0);
      m = await scrape(http);
      assertEquals(m.value(PURGATORY, { delayedoperation: "Fetch" }), 0);
      // the woken fetch sent the second batch, all of the log after the first
      const after = m.value("kafka_log_log_size", { topic, partition: "0" })!;
      assertEquals(
        m.value("kafka_server_brokertopicmetrics_bytesout_total", { topic }),
        after - before,
      );
    } finally {
      raw.close();
    }
  });
});

const PURGATORY = "kafka_server_delayedoperationpurgatory_purgatorysize";

interopTest(clients, "label values a client chose survive both formats' parsers", async () => {
  const nasty = 'grp "x" \\ y\nz ✓';
  const text = (format: "text" | "openmetrics") =>
    writeExposition([{
      name: "kafka_consumergroup_lag",
      help: "lag",
      type: "gauge",
      samples: [{ labels: [["consumergroup", nasty], ["topic", "t"]], value: 4 }],
    }], format);
  for (const format of ["text", "openmetrics"] as const) {
    const r = await runCommand(PYTHON, [PARSER, format], { stdin: text(format) });
    assertEquals(r.code, 0, r.stdout);
    assertEquals(JSON.parse(r.stdout).samples, [[
      "kafka_consumergroup_lag",
      { consumergroup: nasty, topic: "t" },
      4,
    ]]);
  }
});

interopTest(
  clients,
  "/metrics of a replicating leader: produce purgatory, under-replicated",
  async () => {
    await using ctl = await TestController.start([1, 2], { httpListener: "http://127.0.0.1:0" });
    await ctl.createTopic("r", [[1, 2]]);
    const http = ctl.broker(1).httpAddress!.port;
    const replicas = async () => {
      const m = await scrape(http);
      return {
        partitions: m.value("kafka_server_replicamanager_partitioncount")!,
        leaders: m.value("kafka_server_replicamanager_leadercount")!,
        under: m.value("kafka_server_replicamanager_underreplicatedpartitions")!,
        produceWaits: m.value(PURGATORY, { delayedoperation: "Produce" })!,
        offline: m.value("kafka_controller_kafkacontroller_offlinepartitionscount")!,
      };
    };
    await waitUntil(async () => (await replicas()).leaders === 1, "broker 1 to lead r-0");
    const led = ctl.broker(1).replicaManager!.stats();
    assertEquals(await replicas(), {
      partitions: led.partitions,
      leaders: 1,
      under: 0,
      produceWaits: 0,
      offline: 0,
    });
    // broker 2 stops while the ISR cannot change: an acks=all produce waits in the purgatory
    ctl.acceptIsrChanges = false;
    await ctl.stopNode(2);
    const raw = await RawClient.connect(ctl.broker(1).port);
    try {
      const waiting = raw.request(ProduceRequest, ProduceResponse, 9, {
        ...produceBody("r", 0, buildBatch({ records: [{ key: "k", value: "v" }] }), -1),
        timeoutMs: 20_000,
      });
      waiting.catch(() => {});
      await waitUntil(async () => (await replicas()).produceWaits === 1, "a Produce to wait");
      // the ISR shrinks to [1]: the wait ends, the partition is under-replicated
      ctl.acceptIsrChanges = true;
      const res = await waiting;
      assertEquals(res.responses[0].partitionResponses[0].errorCode, ErrorCode.NONE);
      await waitUntil(async () => (await replicas()).under === 1, "r-0 to be under-replicated");
      assertEquals((await replicas()).produceWaits, 0);
    } finally {
      raw.close();
    }
  },
);
