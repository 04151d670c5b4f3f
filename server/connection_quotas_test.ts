// Copyright 2026 the Sluice authors. Apache-2.0 license.
// Connection counts and limits (Kafka's ConnectionQuotas) over one shared buffer: per-address
// limits and overrides, the broker-wide slot and its inter-broker exemption, counts back after
// closes, many addresses coming and going, and the settings' parsing as Kafka's.
import { deepStrictEqual as assertEquals, throws } from "node:assert/strict";
import {
  connectionLimits,
  ConnectionQuotas,
  connectionQuotasBytes,
  NO_CONNECTION_LIMIT,
  parseConnectionOverrides,
  remoteHost,
  validateConnectionConfig,
} from "./connection_quotas.ts";

const limits = (maxConnections: number, maxConnectionsPerIp: number, overrides = "") => ({
  maxConnections,
  maxConnectionsPerIp,
  perIpOverrides: parseConnectionOverrides(overrides),
});

Deno.test("connection quotas: max.connections.per.ip and its overrides, over two views", () => {
  const buffer = new SharedArrayBuffer(connectionQuotasBytes());
  const a = new ConnectionQuotas(buffer, ["PLAINTEXT"], "PLAINTEXT");
  const b = new ConnectionQuotas(buffer, ["PLAINTEXT"], "PLAINTEXT");
  // not configured yet: no limit
  assertEquals(b.inc("PLAINTEXT", "10.0.0.9"), null);
  b.dec("PLAINTEXT", "10.0.0.9");
  a.configure(limits(NO_CONNECTION_LIMIT, 3, "10.0.0.2:1, 10.0.0.3:0"));
  // the 4th from one address is refused, whichever view counts it
  assertEquals([a, b, a, b].map((q) => q.inc("PLAINTEXT", "10.0.0.1")), [null, null, null, 3]);
  assertEquals(a.count("10.0.0.1"), 3);
  assertEquals(b.total, 3);
  // a freed slot is usable again
  b.dec("PLAINTEXT", "10.0.0.1");
  assertEquals(a.inc("PLAINTEXT", "10.0.0.1"), null);
  assertEquals(a.inc("PLAINTEXT", "10.0.0.1"), 3);
  // overrides
  assertEquals([a.inc("PLAINTEXT", "10.0.0.2"), a.inc("PLAINTEXT", "10.0.0.2")], [null, 1]);
  assertEquals(a.inc("PLAINTEXT", "10.0.0.3"), 0);
  assertEquals(a.refused, { perIp: 4, blocked: 0, ipThrottled: 0 });
  // a connection closed for its address's connection_creation_rate, counted in either view
  b.countIpThrottled();
  assertEquals(a.refused, { perIp: 4, blocked: 0, ipThrottled: 1 });
  // reconfigured: the override gone, the default applies to the next connection
  a.configure(limits(NO_CONNECTION_LIMIT, 3));
  assertEquals(a.inc("PLAINTEXT", "10.0.0.3"), null);
  assertEquals(a.count("10.0.0.2"), 1);
  assertEquals(a.total, 5);
});

Deno.test("connection quotas: max.connections blocks all listeners but the inter-broker one", () => {
  const buffer = new SharedArrayBuffer(connectionQuotasBytes());
  const q = new ConnectionQuotas(buffer, ["PLAINTEXT", "INTERNAL"], "INTERNAL");
  q.configure(limits(2, NO_CONNECTION_LIMIT));
  assertEquals(q.slotAvailable("PLAINTEXT"), true);
  q.inc("PLAINTEXT", "10.0.0.1");
  q.inc("PLAINTEXT", "10.0.0.2");
  assertEquals([q.slotAvailable("PLAINTEXT"), q.slotAvailable("INTERNAL")], [false, true]);
  q.dec("PLAINTEXT", "10.0.0.2");
  assertEquals(q.slotAvailable("PLAINTEXT"), true);
  // one listener only: it is not exempt (Kafka's protectedListener needs another)
  const single = new ConnectionQuotas(
    new SharedArrayBuffer(connectionQuotasBytes()),
    ["PLAINTEXT"],
    "PLAINTEXT",
  );
  single.configure(limits(0, NO_CONNECTION_LIMIT));
  assertEquals(single.slotAvailable("PLAINTEXT"), false);
});

Deno.test("connection quotas: 200000 addresses come and go; the counts stay exact", () => {
  const q = new ConnectionQuotas(
    new SharedArrayBuffer(connectionQuotasBytes()),
    ["PLAINTEXT"],
    "PLAINTEXT",
  );
  q.configure(limits(NO_CONNECTION_LIMIT, 2, "192.168.0.1:5"));
  const open: string[] = [];
  for (let k = 0; k < 200_000; k++) {
    const host = `10.${(k >> 16) & 255}.${(k >> 8) & 255}.${k & 255}`;
    assertEquals(q.inc("PLAINTEXT", host), null);
    open.push(host);
    // at most 1000 open at once: the deleted slots are reused
    if (open.length > 1000) q.dec("PLAINTEXT", open.shift()!);
  }
  assertEquals(q.total, 1000);
  assertEquals(q.count(open[0]), 1);
  assertEquals(q.count("10.0.0.1"), 0);
  // the override outlived them all
  for (let k = 0; k < 5; k++) assertEquals(q.inc("PLAINTEXT", "192.168.0.1"), null);
  assertEquals(q.inc("PLAINTEXT", "192.168.0.1"), 5);
});

Deno.test("connection quotas: settings parsed and checked as Kafka's", () => {
  assertEquals(
    [...parseConnectionOverrides(" 127.0.0.1:5 ,[::1]:2,fe80::1:0,")],
    [["127.0.0.1", 5], ["::1", 2], ["fe80::1", 0]],
  );
  throws(() => parseConnectionOverrides("127.0.0.1"), /expected host:count/);
  throws(() => parseConnectionOverrides("127.0.0.1:-1"), /expected host:count/);
  throws(() => parseConnectionOverrides(":3"), /expected host:count/);
  assertEquals(remoteHost("127.0.0.1:5555"), "127.0.0.1");
  assertEquals(remoteHost("::1:5555"), "::1");
  assertEquals(validateConnectionConfig("max.connections", " 10 "), "10");
  throws(() => validateConnectionConfig("max.connections.per.ip", "-1"), /from 0 to 2147483647/);
  throws(() => validateConnectionConfig("max.connections", "2147483648"), /from 0 to/);
  const base = {
    maxConnections: NO_CONNECTION_LIMIT,
    maxConnectionsPerIp: NO_CONNECTION_LIMIT,
    maxConnectionsPerIpOverrides: "",
  };
  throws(
    () => connectionLimits(base, { "max.connections.per.ip": "0" }),
    /can be set to zero only if max.connections.per.ip.overrides is set/,
  );
  assertEquals(
    connectionLimits(base, {
      "max.connections.per.ip": "0",
      "max.connections.per.ip.overrides": "10.0.0.1:4",
      "max.connections": "7",
      "max.connection.creation.rate": "5",
    }),
    {
      maxConnectionCreationRate: 5,
      maxConnections: 7,
      maxConnectionsPerIp: 0,
      perIpOverrides: new Map([["10.0.0.1", 4]]),
    },
  );
});
