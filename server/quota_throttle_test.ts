// Copyright 2026 the Sluice authors. Apache-2.0 license.
// Client quota enforcement on a real broker and port, with raw requests so every byte counted is
// known: Produce over producer_byte_rate gets Kafka's throttle time, its data appended all the
// same; from Produce v6 (KIP-219) the answer comes at once and the connection is then not read
// for the throttle time, before v6 the answer itself waits; a Fetch over consumer_byte_rate gets
// an empty answer with the throttle time; a client under its quota is never throttled.
// Only lower bounds on time are asserted (a timer never fires early), never upper ones.

import { deepStrictEqual as assertEquals, ok } from "node:assert/strict";
import { encodeRequestFrame } from "../protocol/framing.ts";
import { ApiVersionsRequest, ApiVersionsResponse } from "../protocol/messages/api_versions.ts";
import { FetchRequest, FetchResponse } from "../protocol/messages/fetch.ts";
import { MetadataRequest, MetadataResponse } from "../protocol/messages/metadata.ts";
import { ProduceRequest, ProduceResponse } from "../protocol/messages/produce.ts";
import type { MessageCodec } from "../protocol/primitives.ts";
import { BrokerState, collectMetrics } from "./http/collect.ts";
import { writeExposition } from "./http/exposition.ts";
import { ApiKey } from "../protocol/api_keys.ts";
import type { BrokerContext, RequestContext } from "./api.ts";
import { applyQuotas } from "./quota_throttle.ts";
import { ClientQuotaManager, ClientQuotaStore } from "./quotas.ts";
import type { KafkaPrincipal } from "./security/principal.ts";
import { buildBatch } from "../wasm/testing.ts";
import { createTopic, fetchBody, produceBody, RawClient, startTestBroker } from "./testing.ts";

// 2 samples of 1 s: the rate's window is 1 s at least, so throttle = (bytes - bound) / bound s
const WINDOW = { quotaWindowNum: 2, quotaWindowSizeSeconds: 1 };

/** Send one request as `clientId`; returns its frame's size (what Produce quotas count). */
async function sendAs<Req>(
  c: RawClient,
  codec: MessageCodec<Req>,
  version: number,
  clientId: string,
  body: Partial<Req>,
  correlationId: number,
): Promise<number> {
  const frame = encodeRequestFrame(codec, version, correlationId, clientId, codec.create(body));
  await c.sendRaw(frame);
  return frame.length - 4;
}

async function receive<Res>(c: RawClient, codec: MessageCodec<Res>, version: number): Promise<Res> {
  return (await c.receive(codec, version)).body;
}

const batch = () =>
  buildBatch({ records: [{ key: null, value: "x".repeat(1500) }], baseTimestamp: 1 });

Deno.test("quota: Produce v9 over producer_byte_rate answers at once, then mutes the connection", async () => {
  await using t = await startTestBroker(WINDOW);
  const admin = await RawClient.connect(t.broker.port);
  const c = await RawClient.connect(t.broker.port);
  try {
    await createTopic(admin, "q");
    await t.broker.quotas.store.apply([
      { entity: { clientId: "slow" }, key: "producer_byte_rate", value: 1000 },
    ]);
    const size = await sendAs(c, ProduceRequest, 9, "slow", produceBody("q", 0, batch()), 1);
    const expected = Math.round((size - 1000) / 1000 * 1000);
    ok(expected > 0);
    const res = await receive(c, ProduceResponse, 9);
    const answered = performance.now();
    assertEquals(res.throttleTimeMs, expected);
    // appended all the same (Kafka appends, then throttles)
    assertEquals(res.responses[0].partitionResponses[0].errorCode, 0);
    assertEquals(res.responses[0].partitionResponses[0].baseOffset, 0);
    // the next request is not read before the throttle time is over
    await sendAs(c, MetadataRequest, 12, "slow", { topics: [] }, 2);
    await receive(c, MetadataResponse, 12);
    const waited = performance.now() - answered;
    ok(waited >= expected - 2, `answered after ${waited} ms, throttled for ${expected} ms`);
    assertEquals(t.broker.quotas.throttledTotal.producer_byte_rate, 1);
    // and /metrics counts it
    const text = writeExposition(
      collectMetrics({
        metrics: t.broker.metrics,
        state: () => BrokerState.RUNNING,
        quotas: t.broker.quotas,
      }),
      "text",
    );
    ok(text.includes('kafka_server_quota_throttled_requests_total{type="Produce"} 1\n'), text);
    ok(text.includes(`kafka_server_quota_throttle_time_ms_total{type="Produce"} ${expected}\n`));
  } finally {
    c.close();
    admin.close();
  }
});

Deno.test("quota: Produce v5 (before KIP-219) over its quota gets its answer delayed", async () => {
  await using t = await startTestBroker(WINDOW);
  const admin = await RawClient.connect(t.broker.port);
  const c = await RawClient.connect(t.broker.port);
  try {
    await createTopic(admin, "q");
    await t.broker.quotas.store.apply([
      { entity: { user: "ANONYMOUS", clientId: null }, key: "producer_byte_rate", value: 1000 },
    ]);
    const sent = performance.now();
    const size = await sendAs(c, ProduceRequest, 5, "old", produceBody("q", 0, batch()), 1);
    const expected = Math.round((size - 1000) / 1000 * 1000);
    const res = await receive(c, ProduceResponse, 5);
    const waited = performance.now() - sent;
    assertEquals(res.throttleTimeMs, expected);
    ok(waited >= expected - 2, `answered after ${waited} ms, throttled for ${expected} ms`);
    assertEquals(res.responses[0].partitionResponses[0].errorCode, 0);
  } finally {
    c.close();
    admin.close();
  }
});

Deno.test("quota: Fetch over consumer_byte_rate answers empty with the throttle time", async () => {
  await using t = await startTestBroker(WINDOW);
  const admin = await RawClient.connect(t.broker.port);
  const c = await RawClient.connect(t.broker.port);
  try {
    await createTopic(admin, "q");
    for (let i = 0; i < 3; i++) {
      await admin.request(ProduceRequest, ProduceResponse, 9, produceBody("q", 0, batch()));
    }
    await t.broker.quotas.store.apply([
      { entity: { clientId: "reader" }, key: "consumer_byte_rate", value: 2000 },
    ]);
    const body = fetchBody([{ topic: "q", partition: 0, offset: 0 }], { maxBytes: 1 << 20 });
    // the quota caps one fetch at bound * (samples - 1) windows = 2000 bytes: one batch
    await sendAs(c, FetchRequest, 11, "reader", body, 1);
    const first = await receive(c, FetchResponse, 11);
    const got = first.responses[0].partitions[0].records!.length;
    assertEquals(first.throttleTimeMs, 0);
    ok(got > 1500 && got <= 2000, `first fetch read ${got} bytes`);
    // the next batch breaks the quota: no records, the throttle time, the bytes taken back
    await sendAs(
      c,
      FetchRequest,
      11,
      "reader",
      fetchBody([{ topic: "q", partition: 0, offset: 1 }], { maxBytes: 1 << 20 }),
      2,
    );
    const second = await receive(c, FetchResponse, 11);
    assertEquals(second.responses, []);
    // (rate - bound) / bound * window, the window 1 s plus the time between the two fetches
    const most = Math.round((2 * got - 2000) / 2000 * 1000);
    ok(second.throttleTimeMs > 0 && second.throttleTimeMs <= most, `${second.throttleTimeMs}`);
    // another client id has no quota: never throttled
    await sendAs(c, FetchRequest, 11, "free", body, 3);
    const free = await receive(c, FetchResponse, 11);
    assertEquals(free.throttleTimeMs, 0);
    ok(free.responses[0].partitions[0].records!.length > 3 * 1500);
  } finally {
    c.close();
    admin.close();
  }
});

Deno.test("quota: a client under its quota, and every request when none is set, is never throttled", async () => {
  await using t = await startTestBroker(WINDOW);
  const admin = await RawClient.connect(t.broker.port);
  try {
    await createTopic(admin, "q");
    // no quota at all: the store is empty and nothing is measured
    for (let i = 0; i < 5; i++) {
      const r = await admin.request(
        ProduceRequest,
        ProduceResponse,
        9,
        produceBody("q", 0, batch()),
      );
      assertEquals(r.throttleTimeMs, 0);
    }
    await t.broker.quotas.store.apply([
      { entity: { clientId: null }, key: "producer_byte_rate", value: 10_000_000 },
      { entity: { clientId: null }, key: "request_percentage", value: 1000 },
    ]);
    for (let i = 0; i < 20; i++) {
      const r = await admin.request(
        ProduceRequest,
        ProduceResponse,
        9,
        produceBody("q", 0, batch()),
      );
      assertEquals(r.throttleTimeMs, 0);
    }
    assertEquals(t.broker.quotas.throttledTotal, {
      producer_byte_rate: 0,
      consumer_byte_rate: 0,
      request_percentage: 0,
    });
  } finally {
    admin.close();
  }
});

Deno.test("quota: request_percentage throttles other APIs, never ApiVersions", async () => {
  await using t = await startTestBroker(WINDOW);
  const c = await RawClient.connect(t.broker.port);
  try {
    // a bound no request can stay under: any time spent breaks it
    await t.broker.quotas.store.apply([
      { entity: { clientId: "busy" }, key: "request_percentage", value: 1e-9 },
    ]);
    await sendAs(c, MetadataRequest, 12, "busy", { topics: [] }, 1);
    const m = await receive(c, MetadataResponse, 12);
    // bounded by one window (Kafka's ClientRequestQuotaManager)
    assertEquals(m.throttleTimeMs, 1000);
    assertEquals(t.broker.quotas.throttledTotal.request_percentage, 1);
    // exempt: ApiVersions (as the SASL exchange and the brokers' own requests)
    await sendAs(c, ApiVersionsRequest, 3, "busy", {}, 2);
    const v = await receive(c, ApiVersionsResponse, 3);
    assertEquals(v.throttleTimeMs, 0);
    assertEquals(t.broker.quotas.throttledTotal.request_percentage, 1);
  } finally {
    c.close();
  }
});

Deno.test("quota: a user quota applies to the connection's principal, ANONYMOUS when none", async () => {
  const store = ClientQuotaStore.openMemory();
  await store.apply([
    { entity: { user: "alice" }, key: "producer_byte_rate", value: 100 },
    { entity: { user: "ANONYMOUS" }, key: "producer_byte_rate", value: 200 },
  ]);
  const quotas = new ClientQuotaManager(store, { samples: 2, windowMs: 1000 });
  const ctx = (principal?: KafkaPrincipal): RequestContext => ({
    broker: {} as BrokerContext,
    version: 9,
    correlationId: 1,
    clientId: "any",
    connection: { id: 1, remote: "127.0.0.1:1", principal },
  });
  const produce = ApiKey.Produce;
  const alice = ctx({ type: "User", name: "alice" });
  const response = { throttleTimeMs: 0 };
  applyQuotas(quotas, alice, produce, {}, 300, response, 0);
  // 300 bytes over a 1 s window against 100 B/s: (300 - 100) / 100 * 1000 ms
  assertEquals([response.throttleTimeMs, alice.connection.throttleMs], [2000, 2000]);
  assertEquals(alice.connection.throttleDelay, false);
  const anonymous = ctx();
  const old = { throttleTimeMs: 0 };
  applyQuotas(quotas, { ...anonymous, version: 5 }, produce, {}, 300, old, 0);
  assertEquals([old.throttleTimeMs, anonymous.connection.throttleDelay], [500, true]);
});
