// Copyright 2026 the Sluice authors. Apache-2.0 license.
// KIP-612's per-address connection creation rate (the `ip` quota entity, key
// connection_creation_rate) on a real broker and real sockets: AlterClientQuotas /
// DescribeClientQuotas answer with Kafka's messages; with connection_creation_rate=2 for
// 127.0.0.1 (2 samples of 1 s) the 3rd connection in the window is held unread and closed,
// later ones are served; `<default>` holds other addresses (127.0.0.2 as a second source
// address, when it can be bound); the quotas and their enforcement survive a restart.

import { deepStrictEqual as assertEquals, ok, rejects } from "node:assert/strict";
import net from "node:net";
import { Admin, Client, KafkaError } from "../client/mod.ts";
import { ErrorCode } from "../protocol/errors.ts";
import { ApiVersionsRequest, ApiVersionsResponse } from "../protocol/messages/api_versions.ts";
import {
  AlterClientQuotasRequest,
  AlterClientQuotasResponse,
} from "../protocol/messages/alter_client_quotas.ts";
import {
  DescribeClientQuotasRequest,
  DescribeClientQuotasResponse,
} from "../protocol/messages/describe_client_quotas.ts";
import { startBroker } from "../tests/harness.ts";
import { RawClient } from "./testing.ts";

const RATE = "connection_creation_rate";

/** A connection the broker serves: its ApiVersions is answered. */
async function served(port: number): Promise<RawClient> {
  const c = await RawClient.connect(port);
  const res = await c.request(ApiVersionsRequest, ApiVersionsResponse, 3, {
    clientSoftwareName: "t",
    clientSoftwareVersion: "1",
  });
  assertEquals(res.errorCode, 0);
  return c;
}

/**
 * A connection the broker closes without answering its ApiVersions (within 10 s).
 *
 * @param notBefore When given, the close must come no sooner (ms, `performance.now()`).
 */
async function throttled(port: number, notBefore?: () => number): Promise<void> {
  const c = await RawClient.connect(port);
  try {
    await c.send(ApiVersionsRequest, 3, { clientSoftwareName: "t", clientSoftwareVersion: "1" });
    let timer: ReturnType<typeof setTimeout> | undefined;
    const frame = await Promise.race([
      c.readFrame(),
      new Promise<"open">((r) => timer = setTimeout(() => r("open"), 10_000)),
    ]);
    clearTimeout(timer);
    const closed = performance.now();
    assertEquals(frame, null, "the connection was served or left open");
    if (notBefore !== undefined) {
      const earliest = notBefore();
      ok(closed >= earliest - 2, `closed ${earliest - closed} ms before its throttle time ended`);
    }
  } finally {
    c.close();
  }
}

// ApiVersions v0, correlation id 1, client id "t", sent raw from another source address
const API_VERSIONS_V0 = new Uint8Array([0, 0, 0, 11, 0, 18, 0, 0, 0, 0, 0, 1, 0, 1, 0x74]);

/**
 * Connect from `localAddress` and send an ApiVersions: "served" when answered (the socket then
 * closed by us), "closed" when the broker closes it first, "unbindable" when the address cannot
 * be bound here.
 */
function from(localAddress: string, port: number): Promise<"served" | "closed" | "unbindable"> {
  return new Promise((resolve) => {
    const s = net.connect({ host: "127.0.0.1", port, localAddress });
    const timer = setTimeout(() => {
      s.destroy();
      resolve("closed");
    }, 10_000);
    const done = (r: "served" | "closed" | "unbindable") => {
      clearTimeout(timer);
      s.destroy();
      resolve(r);
    };
    s.on("connect", () => s.write(API_VERSIONS_V0));
    s.on("data", () => done("served"));
    s.on("close", () => done("closed"));
    s.on(
      "error",
      (e: NodeJS.ErrnoException) =>
        done(e.code === "EADDRNOTAVAIL" || e.code === "EINVAL" ? "unbindable" : "closed"),
    );
  });
}

/** AlterClientQuotas over an open connection: one entry, one op. */
async function alter(
  admin: RawClient,
  ip: string | null,
  value: number | null,
): Promise<[number, string | null]> {
  const res = await admin.request(AlterClientQuotasRequest, AlterClientQuotasResponse, 1, {
    entries: [{
      entity: [{ entityType: "ip", entityName: ip }],
      ops: [{ key: RATE, value: value ?? 0, remove: value === null }],
    }],
  });
  return [res.entries[0].errorCode, res.entries[0].errorMessage];
}

/** Every quota entity and value, as `type=name:key=value` sorted. */
async function describeAll(admin: RawClient): Promise<string[]> {
  const res = await admin.request(DescribeClientQuotasRequest, DescribeClientQuotasResponse, 1, {
    components: [],
    strict: false,
  });
  assertEquals(res.errorCode, 0);
  return (res.entries ?? []).flatMap((e) =>
    e.values.map((v) =>
      `${e.entity.map((c) => `${c.entityType}=${c.entityName ?? "<default>"}`).join(",")}:` +
      `${v.key}=${v.value}`
    )
  ).sort();
}

/** Sleep past the quota window (2 samples of 1 s): every sample expired. */
const pastWindow = () => new Promise((r) => setTimeout(r, 2_200));

Deno.test({
  name: "ip quotas: AlterClientQuotas / DescribeClientQuotas answer as Kafka",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const b = await startBroker();
    const client = new Client({ bootstrapServers: b.bootstrap });
    try {
      const admin = new Admin(client);
      const r = await admin.alterClientQuotas([
        { entity: { ip: "127.0.0.1" }, ops: { [RATE]: 2 } },
        { entity: { ip: null }, ops: { [RATE]: 5 } },
        { entity: { ip: "0:0:0:0:0:0:0:1" }, ops: { [RATE]: 7 } },
        { entity: { ip: "127.0.0.3", user: "a" }, ops: { [RATE]: 1 } },
        { entity: { "client-id": "c", ip: null }, ops: { [RATE]: 1 } },
        { entity: { ip: "not-an-ip" }, ops: { [RATE]: 1 } },
        { entity: { ip: "10.0.0.300" }, ops: { [RATE]: 1 } },
        { entity: { ip: "" }, ops: { [RATE]: 1 } },
        { entity: { ip: "10.0.0.1" }, ops: { producer_byte_rate: 1 } },
        { entity: { user: "a" }, ops: { [RATE]: 1 } },
        { entity: { ip: "10.0.0.2" }, ops: { [RATE]: 1.5 } },
        { entity: { ip: "10.0.0.3" }, ops: { [RATE]: 0 } },
        { entity: { ip: "10.0.0.4" }, ops: { [RATE]: 3e9 } },
      ]);
      const invalid = (errorMessage: string) => ({
        errorCode: ErrorCode.INVALID_REQUEST,
        errorMessage,
      });
      const combination = invalid(
        "Invalid quota entity combination, IP entity shouldnot be combined with User or ClientId",
      );
      assertEquals(r, [
        { errorCode: 0, errorMessage: null },
        { errorCode: 0, errorMessage: null },
        { errorCode: 0, errorMessage: null },
        combination,
        combination,
        invalid("not-an-ip is not a valid IP or resolvable host."),
        invalid("10.0.0.300 is not a valid IP or resolvable host."),
        invalid("Empty ip not supported"),
        invalid("Invalid configuration key producer_byte_rate"),
        invalid("Invalid configuration key connection_creation_rate"),
        invalid("connection_creation_rate cannot be a fractional value."),
        invalid("Quota connection_creation_rate must be greater than 0"),
        invalid("Proposed value for connection_creation_rate is too large for an INT."),
      ]);
      const ips = (
        qs: { entity: Record<string, string | null>; values: Record<string, number> }[],
      ) => qs.map((q) => `${JSON.stringify(q.entity)} ${JSON.stringify(q.values)}`).sort();
      // the IPv6 address is kept in its compressed form, as connections are counted by
      assertEquals(ips(await admin.describeClientQuotas([])), [
        `{"ip":"127.0.0.1"} {"${RATE}":2}`,
        `{"ip":"::1"} {"${RATE}":7}`,
        `{"ip":null} {"${RATE}":5}`,
      ]);
      assertEquals(
        ips(await admin.describeClientQuotas([{ entityType: "ip", match: "exact", name: "::1" }])),
        [`{"ip":"::1"} {"${RATE}":7}`],
      );
      assertEquals(
        ips(await admin.describeClientQuotas([{ entityType: "ip", match: "default" }])),
        [
          `{"ip":null} {"${RATE}":5}`,
        ],
      );
      assertEquals(
        (await admin.describeClientQuotas([{ entityType: "ip", match: "any" }], true)).length,
        3,
      );
      // ip quotas only: the request path still sees no quota (they apply to new connections)
      const store = b.broker.quotas.store;
      assertEquals([store.empty, store.hasIpQuotas], [true, true]);
      // a user filter, strict, finds no ip entity
      await admin.alterClientQuotas([{ entity: { user: "u" }, ops: { producer_byte_rate: 9 } }]);
      assertEquals([store.empty, store.hasIpQuotas], [false, true]);
      assertEquals(
        ips(await admin.describeClientQuotas([{ entityType: "user", match: "any" }], true)),
        [`{"user":"u"} {"producer_byte_rate":9}`],
      );
      await rejects(
        admin.describeClientQuotas([
          { entityType: "ip", match: "any" },
          { entityType: "user", match: "any" },
        ]),
        (e) =>
          e instanceof KafkaError && e.code === ErrorCode.INVALID_REQUEST &&
          e.message.includes(
            "(Invalid entity filter component combination. IP filter component should not be " +
              "used with user or clientId filter component.: INVALID_REQUEST (42)",
          ),
      );
      // removal
      assertEquals(
        (await admin.alterClientQuotas([{ entity: { ip: "::1" }, ops: { [RATE]: null } }]))[0]
          .errorCode,
        0,
      );
      assertEquals(
        (await admin.describeClientQuotas([{ entityType: "ip", match: "any" }])).length,
        2,
      );
    } finally {
      client.close();
      await b.close();
    }
  },
});

Deno.test({
  name: "ip quotas: connection_creation_rate=2 closes the 3rd connection in the window; " +
    "<default> holds other addresses; kept across a restart",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const b = await startBroker({ quotaWindowNum: 2, quotaWindowSizeSeconds: 1 });
    const open: RawClient[] = [];
    try {
      // the admin connection is made before any quota: never recorded, kept open
      let admin = await served(b.port);
      open.push(admin);
      assertEquals(await alter(admin, "127.0.0.1", 2), [0, null]);
      const first = performance.now();
      open.push(await served(b.port), await served(b.port));
      // held unread for Kafka's throttle time, then closed: 3 over the window w (1 s plus the
      // time e since the first, Kafka's Rate.windowSize) is (3/w - 2) / 2 * w = 1500 - w ms, so
      // it closes 500 ms after the first connection at the earliest
      await throttled(b.port, () => first + 500);
      assertEquals(b.broker.connectionQuotas.refused.ipThrottled, 1);
      // the throttled connection was never counted: admin and the two served
      assertEquals(b.broker.connectionQuotas.count("127.0.0.1"), 3);
      await pastWindow();
      open.push(await served(b.port));
      // another address has no quota of its own and there is no <default> yet
      const second = await from("127.0.0.2", b.port);
      const canBind = second !== "unbindable";
      if (canBind) {
        assertEquals(second, "served");
        assertEquals(await from("127.0.0.2", b.port), "served");
        assertEquals(await from("127.0.0.2", b.port), "served");
        await pastWindow();
        assertEquals(await alter(admin, null, 2), [0, null]);
        assertEquals(await from("127.0.0.2", b.port), "served");
        assertEquals(await from("127.0.0.2", b.port), "served");
        assertEquals(await from("127.0.0.2", b.port), "closed");
        assertEquals(b.broker.connectionQuotas.refused.ipThrottled, 2);
      } else {
        console.log("127.0.0.2 cannot be bound here: <default> checked through the API only");
        assertEquals(await alter(admin, null, 2), [0, null]);
      }
      for (const c of open.splice(0)) c.close();

      await b.restart();
      admin = await served(b.port);
      open.push(admin);
      assertEquals(await describeAll(admin), [
        `ip=127.0.0.1:${RATE}=2`,
        `ip=<default>:${RATE}=2`,
      ]);
      // admin is the 1st of the window now: one more is served, the 3rd closed
      open.push(await served(b.port));
      await throttled(b.port);
      assertEquals(b.broker.connectionQuotas.refused.ipThrottled, 1);
      // removed: no quota left
      assertEquals(await alter(admin, "127.0.0.1", null), [0, null]);
      assertEquals(await alter(admin, null, null), [0, null]);
      assertEquals(await describeAll(admin), []);
      // no quota: any number served at once
      for (let i = 0; i < 4; i++) open.push(await served(b.port));
      ok(b.broker.connectionQuotas.count("127.0.0.1") >= 6);
    } finally {
      for (const c of open) c.close();
      await b.close();
    }
  },
});
