// Copyright 2026 the Sluice authors. Apache-2.0 license.
import { deepStrictEqual as assertEquals, ok, rejects, throws } from "node:assert/strict";
import { AdminServer } from "./admin_server.ts";
import { BrokerState, type BrokerStateValue } from "./collect.ts";
import { negotiateFormat, writeExposition } from "./exposition.ts";
import { brokerConfigFrom, parseHttpListener } from "../config.ts";
import { silentLogger } from "../logger.ts";
import { Broker } from "../broker.ts";

async function get(port: number, path: string, init: RequestInit = {}) {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, init);
  return { status: res.status, body: await res.text(), headers: res.headers };
}

Deno.test("parseHttpListener takes http://HOST:PORT and https://HOST:PORT only", () => {
  assertEquals(parseHttpListener("http://localhost:9644"), { host: "localhost", port: 9644 });
  assertEquals(parseHttpListener("https://localhost:1"), { host: "localhost", port: 1, tls: true });
  assertEquals(parseHttpListener("http://127.0.0.1:0/"), { host: "127.0.0.1", port: 0 });
  assertEquals(parseHttpListener("http://[::1]:9644"), { host: "::1", port: 9644 });
  for (const bad of ["localhost:9644", "http://localhost", "ftp://localhost:1", "http://:1"]) {
    throws(() => parseHttpListener(bad), /sluice\.http\.listener.*http:\/\/HOST:PORT/, bad);
  }
  throws(() => parseHttpListener("http://localhost:65536"), RangeError);
});

Deno.test("sluice.http.listener and sluice.log.format are broker properties, off by default", () => {
  const none = brokerConfigFrom({});
  assertEquals(none.httpListener, "");
  assertEquals(none.logFormat, undefined);
  const c = brokerConfigFrom({
    properties: { "sluice.http.listener": "http://localhost:9644", "sluice.log.format": "json" },
  });
  assertEquals(c.httpListener, "http://localhost:9644");
  assertEquals(c.logFormat, "json");
  throws(
    () => brokerConfigFrom({ properties: { "sluice.http.listener": "9644" } }),
    /Invalid value "9644" for configuration "sluice.http.listener"/,
  );
  throws(
    () => brokerConfigFrom({ properties: { "sluice.log.format": "xml" } }),
    /"sluice.log.format": use text or json/,
  );
});

Deno.test("/healthz is 200 while up; /readyz follows the broker's state", async () => {
  let state: BrokerStateValue = BrokerState.STARTING;
  const server = AdminServer.start({ host: "127.0.0.1", port: 0 }, {
    logger: silentLogger,
    state: () => state,
  });
  try {
    const port = server.port;
    assertEquals((await get(port, "/healthz")).status, 200);
    assertEquals(await get(port, "/readyz").then((r) => [r.status, r.body]), [
      503,
      "not ready: starting\n",
    ]);
    state = BrokerState.RECOVERY;
    assertEquals(await get(port, "/readyz").then((r) => [r.status, r.body]), [
      503,
      "not ready: recovering the logs\n",
    ]);
    // before the broker's parts exist /metrics still answers, with the state
    const m = await get(port, "/metrics");
    assertEquals(m.status, 200);
    ok(m.body.includes("\nkafka_server_kafkaserver_brokerstate 2\n"), m.body);
    state = BrokerState.RUNNING;
    assertEquals((await get(port, "/readyz")).status, 200);
    state = BrokerState.SHUTTING_DOWN;
    assertEquals((await get(port, "/readyz")).status, 503);
    assertEquals((await get(port, "/healthz")).status, 200);
    assertEquals((await get(port, "/nope")).status, 404);
    const post = await get(port, "/metrics", { method: "POST" });
    assertEquals([post.status, post.headers.get("allow")], [405, "GET, HEAD"]);
    // a route added later (the console's way in)
    server.route("/console", () => new Response("hi"));
    assertEquals((await get(port, "/console")).body, "hi");
  } finally {
    await server.close();
  }
});

Deno.test("a broker serves the admin listener only when configured, and stops it on close", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const plain = await Broker.start({
      listeners: "PLAINTEXT://127.0.0.1:0",
      logDirs: [dir],
      logLevel: "silent",
    });
    assertEquals(plain.httpAddress, undefined);
    await plain.close();
    const broker = await Broker.start({
      listeners: "PLAINTEXT://127.0.0.1:0",
      logDirs: [dir],
      logLevel: "silent",
      httpListener: "http://127.0.0.1:0",
    });
    const port = broker.httpAddress!.port;
    assertEquals(await get(port, "/readyz").then((r) => [r.status, r.body]), [200, "ready\n"]);
    await broker.close();
    await rejects(fetch(`http://127.0.0.1:${port}/healthz`));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a broker that cannot bind its admin listener does not start", async () => {
  const dir = await Deno.makeTempDir();
  const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    await rejects(
      Broker.start({
        listeners: "PLAINTEXT://127.0.0.1:0",
        logDirs: [dir],
        logLevel: "silent",
        httpListener: `http://127.0.0.1:${taken.addr.port}`,
      }),
      /Cannot listen for admin HTTP on 127\.0\.0\.1:\d+/,
    );
    // nothing was left locked: the directory opens
    const broker = await Broker.start({
      listeners: "PLAINTEXT://127.0.0.1:0",
      logDirs: [dir],
      logLevel: "silent",
    });
    await broker.close();
  } finally {
    taken.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("negotiateFormat picks OpenMetrics only when asked for", () => {
  assertEquals(negotiateFormat(null), "text");
  assertEquals(negotiateFormat("text/plain;version=0.0.4"), "text");
  assertEquals(negotiateFormat("*/*"), "text");
  assertEquals(negotiateFormat("application/openmetrics-text; version=1.0.0"), "openmetrics");
  assertEquals(negotiateFormat("application/openmetrics-text;q=0,text/plain"), "text");
});

Deno.test("writeExposition escapes label values and help, names counters per format", () => {
  const families = [{
    name: "x_events",
    help: "a \\ b\nc",
    type: "counter" as const,
    samples: [{ labels: [["g", 'q"\\\n']] as [string, string][], value: 1 }],
  }];
  assertEquals(
    writeExposition(families, "text"),
    '# HELP x_events_total a \\\\ b\\nc\n# TYPE x_events_total counter\nx_events_total{g="q\\"\\\\\\n"} 1\n',
  );
  assertEquals(
    writeExposition(families, "openmetrics"),
    '# HELP x_events a \\\\ b\\nc\n# TYPE x_events counter\nx_events_total{g="q\\"\\\\\\n"} 1\n# EOF\n',
  );
});
