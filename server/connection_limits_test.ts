// Copyright 2026 the Sluice authors. Apache-2.0 license.
// Connection limits on a real broker and real sockets (Kafka's ConnectionQuotas): with
// max.connections.per.ip=3 the 4th connection from 127.0.0.1 is closed before anything is read
// and a freed slot is usable again; max.connections stops a listener from serving new
// connections until enough close, the inter-broker listener exempt; both are dynamic
// (IncrementalAlterConfigs, kept across a restart) and bad values are INVALID_CONFIG.
// tests/limits_test.ts runs the same with sluice.workers=2.

import { deepStrictEqual as assertEquals, ok } from "node:assert/strict";
import { ApiVersionsRequest, ApiVersionsResponse } from "../protocol/messages/api_versions.ts";
import {
  IncrementalAlterConfigsRequest,
  IncrementalAlterConfigsResponse,
} from "../protocol/messages/incremental_alter_configs.ts";
import { ErrorCode } from "../protocol/errors.ts";
import { BrokerState, collectMetrics } from "./http/collect.ts";
import { writeExposition } from "./http/exposition.ts";
import { Broker } from "./broker.ts";
import { RawClient, startTestBroker } from "./testing.ts";

/** The broker closes `c` (refused) within 10 s, without answering anything. */
async function refused(c: RawClient): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const closed = await Promise.race([
    c.expectClosed().then(() => true),
    new Promise<boolean>((r) => timer = setTimeout(() => r(false), 10_000)),
  ]);
  clearTimeout(timer);
  if (!closed) throw new Error("the connection was not closed: it was served");
}

/** A connection that the broker serves: its ApiVersions is answered. */
async function served(port: number): Promise<RawClient> {
  const c = await RawClient.connect(port);
  const res = await c.request(ApiVersionsRequest, ApiVersionsResponse, 3, {
    clientSoftwareName: "t",
    clientSoftwareVersion: "1",
  });
  assertEquals(res.errorCode, 0);
  return c;
}

/** Wait until the broker counts `n` connections (a close reaches it after the client's). */
async function settle(broker: Broker, n: number): Promise<void> {
  for (let i = 0; i < 500 && broker.connectionQuotas.total !== n; i++) {
    await new Promise((r) => setTimeout(r, 10));
  }
  assertEquals(broker.connectionQuotas.total, n);
}

/** Whether `c`'s pending request is answered within `ms`. */
function answeredWithin(answer: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    answer.then(() => true),
    new Promise<boolean>((r) => timer = setTimeout(() => r(false), ms)),
  ]).finally(() => clearTimeout(timer));
}

function metricsText(broker: Broker): string {
  return writeExposition(
    collectMetrics({
      metrics: broker.metrics,
      state: () => BrokerState.RUNNING,
      connectionLimits: () => broker.connectionQuotas.refused,
    }),
    "text",
  );
}

Deno.test("connection limits: max.connections.per.ip=3 closes the 4th; a freed slot is usable", async () => {
  await using t = await startTestBroker({ maxConnectionsPerIp: 3 });
  const port = t.broker.port;
  const open = [await served(port), await served(port), await served(port)];
  const fourth = await RawClient.connect(port);
  try {
    await refused(fourth);
    assertEquals(t.broker.connectionQuotas.count("127.0.0.1"), 3);
    ok(t.lines.some((l) => l.includes("max.connections.per.ip 3 reached for 127.0.0.1")));
    open.shift()!.close();
    await settle(t.broker, 2);
    open.push(await served(port));
    assertEquals(t.broker.connectionQuotas.total, 3);
    ok(metricsText(t.broker).includes("sluice_connections_refused_total 1\n"));
  } finally {
    fourth.close();
    for (const c of open) c.close();
  }
  await settle(t.broker, 0);
});

Deno.test("connection limits: max.connections blocks new connections, not the inter-broker listener", async () => {
  await using t = await startTestBroker({
    listeners: "PLAINTEXT://127.0.0.1:0,INTERNAL://127.0.0.1:0",
    listenerSecurityProtocolMap: "PLAINTEXT:PLAINTEXT,INTERNAL:PLAINTEXT",
    interBrokerListenerName: "INTERNAL",
    maxConnections: 2,
  });
  const port = t.broker.listener("PLAINTEXT").port;
  const internalPort = t.broker.listener("INTERNAL").port;
  const a = await served(port);
  const b = await served(port);
  // the broker is full, but brokers still reach each other
  const internal = await RawClient.connect(internalPort);
  const internalAnswer = internal.request(ApiVersionsRequest, ApiVersionsResponse, 3, {
    clientSoftwareName: "t",
    clientSoftwareVersion: "1",
  });
  assertEquals(await answeredWithin(internalAnswer, 10_000), true, "inter-broker listener blocked");
  const waiting = await RawClient.connect(port);
  try {
    const answer = waiting.request(ApiVersionsRequest, ApiVersionsResponse, 3, {
      clientSoftwareName: "t",
      clientSoftwareVersion: "1",
    });
    assertEquals(await answeredWithin(answer, 300), false);
    // 2 of 2 still open (the inter-broker connection counts): still waiting
    a.close();
    await settle(t.broker, 2);
    assertEquals(await answeredWithin(answer, 300), false);
    internal.close();
    assertEquals((await answer).errorCode, 0);
    assertEquals(t.broker.connectionQuotas.total, 2);
    ok(metricsText(t.broker).includes("sluice_connections_blocked_total 1\n"));
  } finally {
    for (const c of [a, b, internal, waiting]) c.close();
  }
});

Deno.test("connection limits: dynamic through IncrementalAlterConfigs, kept across a restart", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sluice-limits-test-" });
  const start = () =>
    Broker.start({ listeners: "PLAINTEXT://127.0.0.1:0", logDirs: [dir], logLevel: "silent" });
  try {
    const first = await start();
    try {
      const admin = await served(first.port);
      const alter = (name: string, value: string) =>
        admin.request(IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse, 1, {
          resources: [{
            resourceType: 4,
            resourceName: "",
            configs: [{ name, configOperation: 0, value }],
          }],
        }).then((r) => [r.responses[0].errorCode, r.responses[0].errorMessage]);
      assertEquals(await alter("max.connections.per.ip", "0"), [
        ErrorCode.INVALID_CONFIG,
        "max.connections.per.ip can be set to zero only if max.connections.per.ip.overrides is " +
        "set: INVALID_CONFIG (40): Configuration is invalid.",
      ]);
      assertEquals(await alter("max.connections", "-1"), [
        ErrorCode.INVALID_CONFIG,
        'Invalid value "-1" for max.connections: must be an integer from 0 to 2147483647: ' +
        "INVALID_CONFIG (40): Configuration is invalid.",
      ]);
      assertEquals(await alter("max.connections.per.ip", "2"), [0, null]);
      // applies to the next connection: the admin's is one of 2
      const second = await served(first.port);
      const third = await RawClient.connect(first.port);
      await refused(third);
      for (const c of [admin, second, third]) c.close();
    } finally {
      await first.close();
    }
    const restarted = await start();
    try {
      const kept = [await served(restarted.port), await served(restarted.port)];
      const over = await RawClient.connect(restarted.port);
      await refused(over);
      assertEquals(restarted.connectionQuotas.refused.perIp, 1);
      for (const c of [...kept, over]) c.close();
    } finally {
      await restarted.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("connection limits: max.connections.per.ip=0 without overrides is refused at start", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sluice-limits-test-" });
  try {
    const config = {
      listeners: "PLAINTEXT://127.0.0.1:0",
      logDirs: [dir],
      logLevel: "silent" as const,
    };
    let message = "";
    try {
      await (await Broker.start({ ...config, maxConnectionsPerIp: 0 })).close();
    } catch (e) {
      message = (e as Error).message;
    }
    assertEquals(
      message,
      "Cannot start broker: max.connections.per.ip can be set to zero only if " +
        "max.connections.per.ip.overrides is set",
    );
    // nothing held: the directory serves the next start, 127.0.0.1 allowed 1 by its override
    const b = await Broker.start({
      ...config,
      maxConnectionsPerIp: 0,
      maxConnectionsPerIpOverrides: "127.0.0.1:1",
    });
    try {
      const one = await served(b.port);
      const two = await RawClient.connect(b.port);
      await refused(two);
      for (const c of [one, two]) c.close();
    } finally {
      await b.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("connection limits: max.connection.creation.rate=2 delays the 3rd connection by Kafka's throttle", async () => {
  // 2 samples of 1 s: the rate of n connections is n / (1 s + the time since the first)
  await using t = await startTestBroker({
    quotaWindowNum: 2,
    quotaWindowSizeSeconds: 1,
    maxConnectionCreationRate: 2,
  });
  const port = t.broker.port;
  const start = performance.now();
  const open = [await served(port), await served(port)];
  try {
    const third = performance.now();
    open.push(await served(port));
    const waited = performance.now() - third;
    // 3 / w over a bound of 2: throttled (3000 / w - 2) / 2 * w = 1500 - w ms, w = 1000 + dt
    const least = 500 - Math.ceil(third - start) - 2;
    ok(waited >= least, `served after ${waited} ms, throttled for at least ${least}`);
    ok(metricsText(t.broker).includes("sluice_connections_blocked_total 1\n"));
  } finally {
    for (const c of open) c.close();
  }
});
