// Copyright 2026 the Sluice authors. Apache-2.0 license.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { Producer } from "../../client/mod.ts";
import { uniqueTopic } from "../../tests/harness.ts";
import { startStandalone } from "../runtime.ts";
import { failedTask, openConnectTestEnv, until } from "../testing.ts";

/** A receiver that answers 503 or 500 when `failing` says so, and keeps what it accepted. */
function receiver(failing: () => "ok" | "503" | "500") {
  const received: unknown[] = [];
  let requests = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    requests++;
    const body = await req.json();
    const mode = failing();
    if (mode === "503") return new Response("try later", { status: 503 });
    if (mode === "500") return new Response("oops", { status: 500 });
    received.push(...body);
    return new Response(null, { status: 204 });
  });
  return {
    url: `http://127.0.0.1:${(server.addr as Deno.NetAddr).port}/ingest`,
    received,
    requests: () => requests,
    close: () => server.shutdown(),
  };
}

Deno.test("HTTP sink: batches POSTed as JSON; failed requests retried; every record delivered once, in order", async () => {
  await using env = await openConnectTestEnv();
  const client = env.client;
  let n = 0;
  // Two of every five requests fail (503, 500): a batch may fail twice in a row.
  const rx = receiver(() => (++n % 5 === 1 ? "503" : n % 5 === 2 ? "500" : "ok"));
  const topic = uniqueTopic("http");
  const rt = await startStandalone({ worker: env.worker({ "offset.flush.interval.ms": "500" }) });
  try {
    const producer = new Producer(client);
    const count = 2000;
    for (let i = 0; i < count; i += 500) {
      await producer.send({
        topic,
        messages: Array.from({ length: 500 }, (_, j) => ({
          value: JSON.stringify({ n: i + j, text: `record ${i + j} ✓` }),
          partition: 0,
        })),
      });
    }
    await producer.close();
    await rt.herder.putConnectorConfig("http-sink", {
      "connector.class": "sluice.connect.HttpSinkConnector",
      topics: topic,
      "http.url": rx.url,
      "batch.max.size": "100",
      "max.retries": "4",
      "retry.backoff.ms": "5",
      "value.converter": "org.apache.kafka.connect.json.JsonConverter",
      "value.converter.schemas.enable": "false",
    }, false);
    await until(
      "all records",
      () => Promise.resolve(rx.received.length >= count ? true : undefined),
    );
    await new Promise((r) => setTimeout(r, 1000));
    assertEquals(
      rx.received,
      Array.from({ length: count }, (_, i) => ({ n: i, text: `record ${i} ✓` })),
    );
    assert(rx.requests() > count / 100, "some requests were retried");
    const status = await rt.herder.connectorStatus("http-sink");
    assertEquals(status.tasks[0].state, "RUNNING");
  } finally {
    await rt.stop();
    await rx.close();
  }
});

Deno.test("HTTP sink: after N failed attempts the task is FAILED with the error in its status; a restart delivers", async () => {
  await using env = await openConnectTestEnv();
  const client = env.client;
  let down = true;
  const rx = receiver(() => (down ? "503" : "ok"));
  const topic = uniqueTopic("http-fail");
  const rt = await startStandalone({
    worker: env.worker({
      "value.converter": "org.apache.kafka.connect.storage.StringConverter",
    }),
  });
  try {
    const producer = new Producer(client);
    await producer.send({ topic, messages: [{ value: "a" }, { value: "b" }] });
    await producer.close();
    await rt.herder.putConnectorConfig("http-down", {
      "connector.class": "http",
      topics: topic,
      "http.url": rx.url,
      "max.retries": "2",
      "retry.backoff.ms": "10",
    }, false);
    const failed = await failedTask(rt.herder, "http-down");
    assert(
      /HTTP sink: POST http:\/\/127\.0\.0\.1:\d+\/ingest failed after 3 attempt\(s\): HTTP 503: try later/
        .test(failed.trace!),
      failed.trace,
    );
    assertEquals(rx.requests(), 3);
    assertEquals(rx.received, []);
    down = false;
    await rt.herder.restartTask("http-down", 0);
    await until(
      "delivered after restart",
      () => Promise.resolve(rx.received.length >= 2 ? true : undefined),
    );
    assertEquals(rx.received, ["a", "b"]);
    assertEquals((await rt.herder.connectorStatus("http-down")).tasks[0].state, "RUNNING");
  } finally {
    await rt.stop();
    await rx.close();
  }
});
