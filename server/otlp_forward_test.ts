// Copyright 2026 the Sluice authors. Apache-2.0 license.
// Forwarding of accepted client metrics payloads to an OTLP/HTTP collector (a real HTTP server on
// a real port): the decompressed bytes as they came, the instance id header; a collector that
// refuses is logged, not retried, and the broker's answer does not wait for it.
import { deepStrictEqual as assertEquals, ok } from "node:assert/strict";
import { compress } from "../records/compression.ts";
import { ClientMetricsManager, ClientMetricsSubscriptions } from "./client_metrics.ts";
import type { Logger } from "./logger.ts";
import { otlpForwarder } from "./otlp_forward.ts";
import { encodeMetricsData } from "./testdata/otlp_encode.ts";

Deno.test("accepted payloads are posted to the OTLP endpoint as they came, decompressed", async () => {
  const received: { type: string | null; id: string | null; body: Uint8Array }[] = [];
  let status = 200;
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, async (req) => {
    received.push({
      type: req.headers.get("content-type"),
      id: req.headers.get("x-kafka-client-instance-id"),
      body: new Uint8Array(await req.arrayBuffer()),
    });
    return new Response(null, { status });
  });
  const warnings: string[] = [];
  const log: Logger = {
    debug() {},
    info() {},
    warn: (m) => void warnings.push(m),
    error() {},
  };
  const abort = new AbortController();
  try {
    const url = `http://127.0.0.1:${server.addr.port}/v1/metrics`;
    const subs = await ClientMetricsSubscriptions.openWith(null);
    await subs.alter("all", { metrics: "*", "interval.ms": "100" }, []);
    const m = new ClientMetricsManager(subs, { onPayload: otlpForwarder(url, log, abort.signal) });
    const client = {
      clientId: "app",
      softwareName: "",
      softwareVersion: "",
      sourceAddress: "127.0.0.1",
      sourcePort: "1",
    };
    const a = m.getSubscriptions("AAAAAAAAAAAAAAAAAAAAAA", client);
    const otlp = encodeMetricsData([{ name: "x.y", kind: "gauge", value: 1 }]);
    const r = m.push({
      clientInstanceId: a.clientInstanceId,
      subscriptionId: a.subscriptionId,
      terminating: false,
      compressionType: 3,
      metrics: compress(otlp, "lz4"),
    }, client);
    assertEquals(r.errorCode, 0);
    for (let i = 0; i < 100 && received.length === 0; i++) {
      await new Promise((f) => setTimeout(f, 20));
    }
    assertEquals(received, [{
      type: "application/x-protobuf",
      id: a.clientInstanceId,
      body: otlp,
    }]);
    // a refusing collector is logged
    status = 500;
    const r2 = m.push({
      clientInstanceId: a.clientInstanceId,
      subscriptionId: a.subscriptionId,
      terminating: true,
      compressionType: 0,
      metrics: otlp,
    }, client);
    assertEquals(r2.errorCode, 0);
    for (let i = 0; i < 100 && warnings.length === 0; i++) {
      await new Promise((f) => setTimeout(f, 20));
    }
    assertEquals(received.length, 2);
    ok(warnings[0].includes(`Client metrics forwarding to ${url}: HTTP 500`), warnings[0]);
  } finally {
    abort.abort();
    await server.shutdown();
  }
});
