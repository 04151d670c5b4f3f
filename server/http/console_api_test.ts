// Copyright 2026 the Sluice authors. Apache-2.0 license.
// The web console's JSON API (issue #15) on a real broker (127.0.0.1:0, admin listener on
// 127.0.0.1:0): records produced by our client, a group of our client's consumers, exact values
// back; bad input answered with a JSON error and a 4xx status.

import { deepStrictEqual as assertEquals, ok } from "node:assert/strict";
import { Admin, Client, GroupConsumer, Producer } from "../../client/mod.ts";
import { Broker } from "../broker.ts";
import { decodeConsumerAssignment } from "./console_api.ts";
import {
  ConsumerGroupHeartbeatRequest,
  ConsumerGroupHeartbeatResponse,
} from "../../protocol/messages/consumer_group_heartbeat.ts";

interface Answer {
  status: number;
  // deno-lint-ignore no-explicit-any
  body: any;
  headers: Headers;
}

async function call(base: string, method: string, path: string, body?: unknown): Promise<Answer> {
  const res = await fetch(`${base}${path}`, {
    method,
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: unknown = text;
  if (res.headers.get("content-type")?.startsWith("application/json")) parsed = JSON.parse(text);
  return { status: res.status, body: parsed, headers: res.headers };
}

async function withBroker(
  fn: (
    api: (m: string, p: string, b?: unknown) => Promise<Answer>,
    bootstrap: string,
    base: string,
  ) => Promise<void>,
  config: Record<string, unknown> = {},
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "sluice_console_" });
  const broker = await Broker.start({
    listeners: "PLAINTEXT://127.0.0.1:0",
    logDirs: [dir],
    logLevel: "silent",
    httpListener: "http://127.0.0.1:0",
    groupInitialRebalanceDelayMs: 0,
    ...config,
  });
  const base = `http://127.0.0.1:${broker.httpAddress!.port}`;
  try {
    await fn((m, p, b) => call(base, m, p, b), `127.0.0.1:${broker.port}`, base);
  } finally {
    await broker.close();
    await Deno.remove(dir, { recursive: true });
  }
}

function expectError(a: Answer, status: number, code: string, message: RegExp): void {
  assertEquals([a.status, a.body?.error?.code], [status, code], JSON.stringify(a.body));
  ok(message.test(a.body.error.message), a.body.error.message);
}

const b64 = (s: string) => btoa(s);

Deno.test("console API: create, describe, alter, grow and delete a topic; bad input is a 4xx", async () => {
  await withBroker(async (api) => {
    const created = await api("POST", "/api/v1/topics", {
      name: "orders",
      partitions: 2,
      configs: { "retention.ms": "60000" },
    });
    assertEquals(created.status, 201);
    assertEquals(
      { ...created.body, id: typeof created.body.id },
      { name: "orders", id: "string", partitions: 2, replicationFactor: 1 },
    );
    expectError(
      await api("POST", "/api/v1/topics", { name: "orders", partitions: 1 }),
      409,
      "TOPIC_ALREADY_EXISTS",
      /^Cannot create topic orders: .*already exists/,
    );
    expectError(
      await api("POST", "/api/v1/topics", { name: "x", configs: { "retention.ms": "soon" } }),
      400,
      "INVALID_CONFIG",
      /^Cannot create topic x: .*"soon" for config retention\.ms/,
    );
    expectError(
      await api("POST", "/api/v1/topics", { name: "x", configs: { "no.such.config": "1" } }),
      400,
      "INVALID_CONFIG",
      /no\.such\.config/,
    );
    expectError(
      await api("POST", "/api/v1/topics", { name: "x", partitions: 1, replicationFactor: 3 }),
      400,
      "INVALID_REPLICATION_FACTOR",
      /Replication factor 3/,
    );
    expectError(
      await api("POST", "/api/v1/topics", { name: "__consumer_offsets", partitions: 1 }),
      400,
      "INVALID_REQUEST",
      /internal topic/,
    );
    expectError(
      await api("POST", "/api/v1/topics", { name: "bad/name" }),
      400,
      "INVALID_TOPIC_EXCEPTION",
      /bad\/name/,
    );
    expectError(
      await api("POST", "/api/v1/topics", "{not json"),
      400,
      "INVALID_REQUEST",
      /^Request body is not JSON/,
    );
    expectError(
      await api("POST", "/api/v1/topics", { name: "x", partitions: "two" }),
      400,
      "INVALID_REQUEST",
      /Field "partitions" must be an integer, got "two"/,
    );
    // nothing was created by the refused requests
    const list = await api("GET", "/api/v1/topics");
    assertEquals(list.status, 200);
    assertEquals(list.body.topics.map((t: { name: string }) => t.name), ["orders"]);
    assertEquals({ ...list.body.topics[0], id: "" }, {
      name: "orders",
      id: "",
      internal: false,
      partitions: 2,
      replicationFactor: 1,
      sizeBytes: 0,
      records: 0,
      underReplicated: 0,
      offline: 0,
    });

    const t = await api("GET", "/api/v1/topics/orders");
    assertEquals(t.status, 200);
    assertEquals(t.body.partitions[1], {
      partition: 1,
      leader: 1,
      replicas: [1],
      isr: [1],
      local: true,
      logStartOffset: 0,
      logEndOffset: 0,
      highWatermark: 0,
      sizeBytes: 0,
      segments: 1,
    });
    const config = (a: Answer, name: string) =>
      a.body.configs.find((c: { name: string }) => c.name === name);
    assertEquals(config(t, "retention.ms"), {
      name: "retention.ms",
      value: "60000",
      source: "topic",
      readOnly: false,
    });
    assertEquals(config(t, "cleanup.policy").source, "default");

    const altered = await api("PATCH", "/api/v1/topics/orders/configs", {
      set: { "cleanup.policy": "compact" },
      delete: ["retention.ms"],
    });
    assertEquals(altered.status, 200);
    assertEquals(config(altered, "cleanup.policy").value, "compact");
    assertEquals(config(altered, "cleanup.policy").source, "topic");
    assertEquals(config(altered, "retention.ms").source, "default");
    expectError(
      await api("PATCH", "/api/v1/topics/orders/configs", { set: { "retention.ms": "-5x" } }),
      400,
      "INVALID_CONFIG",
      /^Cannot alter configs of topic orders: .*"-5x"/,
    );
    expectError(
      await api("PATCH", "/api/v1/topics/nope/configs", { set: { "retention.ms": "1" } }),
      404,
      "UNKNOWN_TOPIC_OR_PARTITION",
      /nope/,
    );
    expectError(
      await api("PATCH", "/api/v1/topics/orders/configs", {}),
      400,
      "INVALID_REQUEST",
      /Nothing to change/,
    );

    const grown = await api("POST", "/api/v1/topics/orders/partitions", { count: 3 });
    assertEquals([grown.status, grown.body.partitions.length], [200, 3]);
    expectError(
      await api("POST", "/api/v1/topics/orders/partitions", { count: 2 }),
      400,
      "INVALID_PARTITIONS",
      /orders/,
    );
    expectError(
      await api("POST", "/api/v1/topics/nope/partitions", { count: 2 }),
      404,
      "UNKNOWN_TOPIC_OR_PARTITION",
      /nope/,
    );

    assertEquals(await api("DELETE", "/api/v1/topics/orders").then((a) => [a.status, a.body]), [
      200,
      { name: "orders", deleted: true },
    ]);
    expectError(
      await api("GET", "/api/v1/topics/orders"),
      404,
      "UNKNOWN_TOPIC_OR_PARTITION",
      /^Topic orders does not exist$/,
    );
    expectError(
      await api("DELETE", "/api/v1/topics/orders"),
      404,
      "UNKNOWN_TOPIC_OR_PARTITION",
      /^Cannot delete topic orders/,
    );
    expectError(await api("GET", "/api/v1/nothing"), 404, "NOT_FOUND", /\/api\/v1\/nothing/);
    expectError(await api("PUT", "/api/v1/topics"), 405, "METHOD_NOT_ALLOWED", /PUT/);
    expectError(await api("GET", "/api/v1/topics/t/configs"), 405, "METHOD_NOT_ALLOWED", /GET/);
    expectError(await api("GET", "/api/v1/topics/t/nothing"), 404, "NOT_FOUND", /nothing/);
    expectError(await api("GET", "/api/v1/topics/"), 404, "NOT_FOUND", /topics\/$/);
    expectError(await api("GET", "/api/v1/topics/%E0%A4%A"), 400, "INVALID_REQUEST", /Malformed/);
  });
});

Deno.test("console API: the record browser answers the records produced, exactly", async () => {
  await withBroker(async (api, bootstrap) => {
    assertEquals(
      (await api("POST", "/api/v1/topics", { name: "events", partitions: 2 })).status,
      201,
    );
    const client = new Client({ bootstrapServers: bootstrap });
    const base = 1_700_000_000_000;
    try {
      const producer = new Producer(client);
      await producer.send({
        topic: "events",
        messages: Array.from({ length: 5 }, (_, i) => ({
          partition: 0,
          key: `k${i}`,
          value: JSON.stringify({ n: i }),
          headers: [{ key: "h", value: `v${i}` }],
          timestamp: base + i * 1000,
        })),
      });
      await producer.send({
        topic: "events",
        messages: [{ partition: 1, key: null, value: "\u0000\u00ff", timestamp: base + 2500 }],
      });
      await producer.close();
    } finally {
      await client.close();
    }
    const rates = await api("GET", "/api/v1/rates");
    assertEquals(rates.body.total.messagesIn, 6);
    assertEquals(rates.body.topics.events.messagesIn, 6);
    assertEquals(rates.body.total.bytesIn, rates.body.topics.events.bytesIn);
    assertEquals(rates.body.history.length, 1);
    assertEquals(rates.body.history[0].total, rates.body.total);
    const get = (q: string) => api("GET", `/api/v1/topics/events/records?${q}`);
    const all = await get("partition=0");
    assertEquals(all.status, 200);
    assertEquals(all.body.records[3], {
      partition: 0,
      offset: 3,
      timestamp: base + 3000,
      timestampType: "CreateTime",
      key: b64("k3"),
      keySize: 2,
      value: b64('{"n":3}'),
      valueSize: 7,
      headers: [{ key: "h", value: b64("v3") }],
      truncated: false,
      transactional: false,
      compression: "none",
    });
    assertEquals(all.body.next, { "0": 5 });
    assertEquals(all.body.partitions, [{ partition: 0, logStartOffset: 0, highWatermark: 5 }]);
    const offsets = (a: Answer) =>
      a.body.records.map((r: { partition: number; offset: number }) =>
        `${r.partition}:${r.offset}`
      );
    assertEquals(offsets(await get("partition=0&offset=3")), ["0:3", "0:4"]);
    assertEquals(offsets(await get("partition=0&offset=5")), []);
    // every partition, in time order
    assertEquals(offsets(await get("")), ["0:0", "0:1", "0:2", "1:0", "0:3", "0:4"]);
    assertEquals(offsets(await get(`timestamp=${base + 2001}`)), ["1:0", "0:3", "0:4"]);
    const end = await get("from=end&limit=2");
    assertEquals(offsets(end), ["0:3", "0:4"]);
    assertEquals(end.body.next, { "0": 5, "1": 1 });
    assertEquals(end.body.records[0].value, b64('{"n":3}'));
    const one = await get("partition=1");
    assertEquals([one.body.records[0].key, one.body.records[0].value], [null, "AMO/"]);
    // the live tail: from where the last answer ended
    assertEquals(offsets(await get("positions=0:4,1:1")), ["0:4"]);
    assertEquals((await get("positions=0:5,1:1")).body.records, []);

    expectError(
      await get("partition=0&offset=99"),
      400,
      "OFFSET_OUT_OF_RANGE",
      /^Cannot read partition 0 from offset 99: it is outside \[0, 5\]/,
    );
    expectError(await get("partition=0&offset=-1"), 400, "INVALID_REQUEST", /must be >= 0/);
    expectError(await get("partition=0&offset=abc"), 400, "INVALID_REQUEST", /"abc"/);
    expectError(await get("offset=1"), 400, "INVALID_REQUEST", /needs "partition"/);
    expectError(await get("partition=7"), 404, "UNKNOWN_TOPIC_OR_PARTITION", /no partition 7/);
    expectError(await get("limit=0"), 400, "INVALID_REQUEST", /"limit" must be within/);
    expectError(await get("from=middle"), 400, "INVALID_REQUEST", /beginning or end/);
    expectError(await get("from=end&offset=1"), 400, "INVALID_REQUEST", /one of/);
    expectError(await get("positions=0-1"), 400, "INVALID_REQUEST", /PARTITION:OFFSET/);
    expectError(
      await api("GET", "/api/v1/topics/nope/records"),
      404,
      "UNKNOWN_TOPIC_OR_PARTITION",
      /nope/,
    );
  });
});

Deno.test("console API: a group's members, lag and reset offsets, checked over the Kafka protocol", async () => {
  await withBroker(async (api, bootstrap) => {
    assertEquals(
      (await api("POST", "/api/v1/topics", { name: "jobs", partitions: 1 })).status,
      201,
    );
    const client = new Client({ bootstrapServers: bootstrap, clientId: "worker" });
    try {
      const producer = new Producer(client);
      await producer.send({
        topic: "jobs",
        messages: Array.from({ length: 10 }, (_, i) => ({
          partition: 0,
          value: `job-${i}`,
          timestamp: 1_700_000_000_000 + i,
        })),
      });
      await producer.close();
      const consumer = new GroupConsumer(client, {
        groupId: "workers",
        autoCommit: false,
        autoOffsetReset: "earliest",
        maxWaitMs: 100,
      });
      consumer.subscribe(["jobs"]);
      let read = 0;
      for (let i = 0; i < 100 && read < 4; i++) read += (await consumer.poll()).length;
      await consumer.commit([{ topic: "jobs", partition: 0, offset: 4 }]);
      const g = await api("GET", "/api/v1/groups/workers");
      assertEquals(g.status, 200);
      assertEquals([g.body.state, g.body.protocolType, g.body.protocol], [
        "Stable",
        "consumer",
        "range",
      ]);
      assertEquals(g.body.members.length, 1);
      assertEquals(g.body.members[0].clientId, "worker");
      assertEquals(g.body.members[0].assignment, [{ topic: "jobs", partitions: [0] }]);
      const memberId = g.body.members[0].memberId;
      assertEquals({ ...g.body.offsets[0], commitTimestamp: 0 }, {
        topic: "jobs",
        partition: 0,
        committedOffset: 4,
        metadata: "",
        commitTimestamp: 0,
        logStartOffset: 0,
        highWatermark: 10,
        lag: 6,
        memberId,
      });
      assertEquals(g.body.lag, 6);
      const groups = await api("GET", "/api/v1/groups");
      assertEquals(groups.body.groups, [{
        groupId: "workers",
        type: "classic",
        state: "Stable",
        protocolType: "consumer",
        members: 1,
        partitions: 1,
        lag: 6,
      }]);
      // Kafka's tool refuses while the group has members
      expectError(
        await api("POST", "/api/v1/groups/workers/reset-offsets", {
          topic: "jobs",
          to: "earliest",
        }),
        409,
        "NON_EMPTY_GROUP",
        /^Cannot reset offsets of group workers: it has 1 active member\(s\) \(state Stable\)/,
      );
      await consumer.close();

      const admin = new Admin(client);
      // dynamic broker configs, as set over the Kafka protocol
      await admin.alterConfigs([
        { type: "broker", name: "1", changes: [{ name: "log.retention.ms", value: "123456" }] },
        { type: "broker", name: "", changes: [{ name: "log.segment.bytes", value: "2097152" }] },
      ]);
      assertEquals((await api("GET", "/api/v1/overview")).body.broker.dynamicConfigs, {
        broker: { "log.retention.ms": "123456" },
        default: { "log.segment.bytes": "2097152" },
      });
      const committed = async () =>
        (await admin.listConsumerGroupOffsets("workers")).map((o) => [o.partition, o.offset]);
      const reset = (body: unknown) => api("POST", "/api/v1/groups/workers/reset-offsets", body);
      const r1 = await reset({ topic: "jobs", to: "offset", offset: 7 });
      assertEquals([r1.status, r1.body], [200, {
        groupId: "workers",
        topic: "jobs",
        dryRun: false,
        offsets: [{ partition: 0, offset: 7 }],
      }]);
      assertEquals(await committed(), [[0, 7]]);
      const after = await api("GET", "/api/v1/groups/workers");
      assertEquals([after.body.state, after.body.lag, after.body.offsets[0].memberId], [
        "Empty",
        3,
        null,
      ]);
      assertEquals((await reset({ topic: "jobs", to: "earliest" })).body.offsets, [{
        partition: 0,
        offset: 0,
      }]);
      assertEquals(await committed(), [[0, 0]]);
      await reset({ topic: "jobs", to: "latest" });
      assertEquals(await committed(), [[0, 10]]);
      await reset({ topic: "jobs", to: "timestamp", timestamp: 1_700_000_000_005 });
      assertEquals(await committed(), [[0, 5]]);
      // beyond the log: its nearest end, as Kafka's tool
      await reset({ topic: "jobs", to: "offset", offset: 1000 });
      assertEquals(await committed(), [[0, 10]]);
      const dry = await reset({ topic: "jobs", to: "earliest", dryRun: true });
      assertEquals([dry.body.dryRun, dry.body.offsets], [true, [{ partition: 0, offset: 0 }]]);
      assertEquals(await committed(), [[0, 10]]);

      expectError(await reset({ topic: "jobs", to: "middle" }), 400, "INVALID_REQUEST", /"to"/);
      expectError(
        await reset({ topic: "jobs", to: "offset", offset: -3 }),
        400,
        "INVALID_REQUEST",
        />= 0/,
      );
      expectError(
        await reset({ topic: "jobs", to: "offset" }),
        400,
        "INVALID_REQUEST",
        /"offset" must be an integer/,
      );
      expectError(
        await reset({ topic: "jobs", to: "earliest", partitions: [3] }),
        400,
        "INVALID_REQUEST",
        /"partitions"/,
      );
      expectError(
        await reset({ topic: "nope", to: "earliest" }),
        404,
        "UNKNOWN_TOPIC_OR_PARTITION",
        /nope/,
      );
      expectError(
        await api("GET", "/api/v1/groups/nobody"),
        404,
        "GROUP_ID_NOT_FOUND",
        /^Group nobody does not exist/,
      );
      assertEquals(await committed(), [[0, 10]]);
    } finally {
      await client.close();
    }
  });
});

Deno.test("console API and /metrics: a consumer-protocol (KIP-848) group's members, epochs and assignments", async () => {
  await withBroker(async (api, bootstrap, base) => {
    assertEquals(
      (await api("POST", "/api/v1/topics", { name: "jobs", partitions: 2 })).status,
      201,
    );
    const client = new Client({ bootstrapServers: bootstrap, clientId: "worker" });
    try {
      const producer = new Producer(client);
      await producer.send({
        topic: "jobs",
        messages: [0, 0, 0, 1].map((partition, i) => ({ partition, value: `job-${i}` })),
      });
      await producer.close();
      const admin = new Admin(client);
      await admin.alterConsumerGroupOffsets("kip", [{ topic: "jobs", partition: 0, offset: 1 }]);
      // one member, driven by ConsumerGroupHeartbeat: both partitions at epoch 1
      const hb = (memberEpoch: number) =>
        client.send(
          1,
          { request: ConsumerGroupHeartbeatRequest, response: ConsumerGroupHeartbeatResponse },
          ConsumerGroupHeartbeatRequest.create({
            groupId: "kip",
            memberId: "m-1",
            memberEpoch,
            rebalanceTimeoutMs: 30_000,
            subscribedTopicNames: memberEpoch === 0 ? ["jobs"] : null,
            topicPartitions: memberEpoch === 0 ? [] : null,
          }),
        );
      assertEquals((await hb(0)).memberEpoch, 1);
      const g = await api("GET", "/api/v1/groups/kip");
      assertEquals(g.status, 200);
      const { timeMs: _t, offsets, ...rest } = g.body;
      assertEquals(rest, {
        groupId: "kip",
        type: "consumer",
        state: "Stable",
        protocolType: "consumer",
        protocol: "uniform",
        generationId: 1,
        groupEpoch: 1,
        targetAssignmentEpoch: 1,
        members: [{
          memberId: "m-1",
          groupInstanceId: null,
          clientId: "worker",
          clientHost: "/127.0.0.1",
          memberEpoch: 1,
          assignment: [{ topic: "jobs", partitions: [0, 1] }],
          targetAssignment: [{ topic: "jobs", partitions: [0, 1] }],
        }],
        lag: 2,
      });
      assertEquals(
        offsets.map((o: Record<string, unknown>) => [
          o.partition,
          o.committedOffset,
          o.highWatermark,
          o.lag,
          o.memberId,
        ]),
        [[0, 1, 3, 2, "m-1"], [1, null, 1, null, "m-1"]],
      );
      assertEquals((await api("GET", "/api/v1/groups")).body.groups, [{
        groupId: "kip",
        type: "consumer",
        state: "Stable",
        protocolType: "consumer",
        members: 1,
        partitions: 1, // with a committed offset
        lag: 2,
      }]);
      const metrics = await (await fetch(`${base}/metrics`)).text();
      ok(metrics.includes('\nkafka_consumergroup_members{consumergroup="kip"} 1\n'), metrics);
      expectError(
        await api("POST", "/api/v1/groups/kip/reset-offsets", { topic: "jobs", to: "earliest" }),
        409,
        "NON_EMPTY_GROUP",
        /^Cannot reset offsets of group kip: it has 1 active member\(s\) \(state Stable\)/,
      );
      // the member leaves: Empty, and the offsets can be reset
      assertEquals((await hb(-1)).errorCode, 0);
      const r = await api("POST", "/api/v1/groups/kip/reset-offsets", {
        topic: "jobs",
        to: "earliest",
      });
      assertEquals([r.status, r.body.offsets], [200, [{ partition: 0, offset: 0 }, {
        partition: 1,
        offset: 0,
      }]]);
      const after = (await api("GET", "/api/v1/groups/kip")).body;
      assertEquals([after.type, after.state, after.members, after.lag], [
        "consumer",
        "Empty",
        [],
        4,
      ]);
      const m2 = await (await fetch(`${base}/metrics`)).text();
      ok(m2.includes('\nkafka_consumergroup_members{consumergroup="kip"} 0\n'), m2);
    } finally {
      await client.close();
    }
  });
});

Deno.test("console API: actions are an administrator's when an ACL authorizer denies everyone", async () => {
  await withBroker(async (api) => {
    const created = await api("POST", "/api/v1/topics", { name: "locked", partitions: 1 });
    assertEquals(created.status, 201);
    assertEquals((await api("DELETE", "/api/v1/topics/locked")).status, 200);
  }, { authorizerClassName: "sluice.acl", allowEveryoneIfNoAclFound: false });
});

Deno.test("console: the page and its files are served from the admin listener", async () => {
  await withBroker(async (api, _bootstrap, base) => {
    const page = await api("GET", "/");
    assertEquals([page.status, page.headers.get("content-type")], [
      200,
      "text/html; charset=utf-8",
    ]);
    // one request: the stylesheet and the script are inlined
    ok(page.body.includes("<style>\n/* Sluice web console"), page.body.slice(0, 400));
    ok(page.body.includes("<script>\n// Copyright 2026 the Sluice authors."));
    ok(!page.body.includes("console/console.js"));
    // the landing view's data comes with the page
    const boot = /<script id="sluice-boot" type="application\/json">(.*?)<\/script>/.exec(
      page.body,
    );
    ok(boot !== null, "boot data in the page");
    const data = JSON.parse(boot[1]);
    assertEquals([data.overview.broker.nodeId, data.overview.controller], [1, 1]);
    assertEquals(data.rates.total, { messagesIn: 0, bytesIn: 0, bytesOut: 0 });
    assertEquals(page.headers.get("cache-control"), "no-store");
    ok(!/https?:\/\//.test(page.body), "the page loads nothing from elsewhere");
    const js = await api("GET", "/console/console.js");
    assertEquals(js.headers.get("content-type"), "text/javascript; charset=utf-8");
    const etag = js.headers.get("etag")!;
    assertEquals((await api("GET", "/console/console.css")).status, 200);
    assertEquals((await api("GET", "/console/nope.js")).status, 404);
    assertEquals((await api("POST", "/")).status, 405);
    ok(etag.length > 2);
    const cached = await fetch(`${base}/console/console.js`, {
      headers: { "if-none-match": etag },
    });
    await cached.body?.cancel();
    assertEquals(cached.status, 304);
    // /metrics and the health checks are still there
    assertEquals((await api("GET", "/healthz")).status, 200);
    assertEquals((await api("GET", "/nothing")).status, 404);
  });
});

Deno.test("decodeConsumerAssignment reads Kafka's ConsumerProtocolAssignment, [] when malformed", () => {
  // version 1, topics [("a", [2, 0])], user data null
  const bytes = new Uint8Array([
    0,
    1,
    0,
    0,
    0,
    1,
    0,
    1,
    97,
    0,
    0,
    0,
    2,
    0,
    0,
    0,
    2,
    0,
    0,
    0,
    0,
    255,
    255,
    255,
    255,
  ]);
  assertEquals(decodeConsumerAssignment(bytes), [{ topic: "a", partitions: [0, 2] }]);
  assertEquals(decodeConsumerAssignment(bytes.subarray(0, 10)), []);
  assertEquals(decodeConsumerAssignment(new Uint8Array(0)), []);
});

Deno.test("console API: large records are cut at 64 KiB and paged through by the read budget", async () => {
  await withBroker(async (api, bootstrap) => {
    assertEquals((await api("POST", "/api/v1/topics", { name: "big", partitions: 1 })).status, 201);
    const client = new Client({ bootstrapServers: bootstrap });
    const size = 900 * 1024;
    const count = 24; // about 21 MiB in one partition
    try {
      const producer = new Producer(client);
      for (let i = 0; i < count; i++) {
        const value = new Uint8Array(size).fill(65 + (i % 26));
        await producer.send({ topic: "big", messages: [{ partition: 0, value }] });
      }
      await producer.close();
    } finally {
      await client.close();
    }
    const seen: number[] = [];
    let positions = "0:0";
    for (let page = 0; page < count && seen.length < count; page++) {
      const r = await api("GET", `/api/v1/topics/big/records?positions=${positions}&limit=500`);
      assertEquals(r.status, 200);
      ok(r.body.records.length >= 1 && r.body.records.length < count, `${r.body.records.length}`);
      for (const rec of r.body.records) {
        seen.push(rec.offset);
        assertEquals([rec.valueSize, rec.truncated, atob(rec.value).length], [size, true, 65536]);
        assertEquals(atob(rec.value)[0], String.fromCharCode(65 + (rec.offset % 26)));
      }
      positions = `0:${r.body.next["0"]}`;
    }
    assertEquals(seen, Array.from({ length: count }, (_, i) => i));
    assertEquals(positions, `0:${count}`);
  });
});

Deno.test("console API: 400 hostile requests get a JSON 4xx, never a 5xx or a crash", async () => {
  await withBroker(async (api) => {
    assertEquals((await api("POST", "/api/v1/topics", { name: "t", partitions: 2 })).status, 201);
    let seed = 42;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const pick = <T>(xs: T[]) => xs[rand(xs.length)];
    const junk = () =>
      pick([
        "",
        "t",
        "%00",
        "..",
        "%2F",
        "x".repeat(300),
        "-1",
        "99999999999999999999",
        "1e3",
        "__consumer_offsets",
        "%E2%80%A8",
        "a b",
      ]);
    const bodies: unknown[] = [
      undefined,
      "",
      "null",
      "[]",
      "{",
      '"s"',
      { name: junk() },
      { name: "t", partitions: -5 },
      { name: "t2", partitions: 1e9 },
      { count: "x" },
      { count: 1 },
      { set: { "retention.ms": junk() } },
      { set: [] },
      { delete: [1] },
      { topic: "t", to: "offset", offset: 1.5 },
      { topic: "t", to: "timestamp", timestamp: -1 },
      { topic: "t", to: "earliest", partitions: "all" },
      { name: "t", configs: { "x": 1 } },
    ];
    // the routes with their methods most of the time, anything else otherwise
    const routes: [string, () => string][] = [
      ["POST", () => "/api/v1/topics"],
      ["GET", () => `/api/v1/topics/${junk()}`],
      ["DELETE", () => `/api/v1/topics/${junk()}`],
      ["PATCH", () => `/api/v1/topics/${pick(["t", junk()])}/configs`],
      ["POST", () => `/api/v1/topics/${pick(["t", junk()])}/partitions`],
      [
        "GET",
        () =>
          `/api/v1/topics/t/records?${
            pick(["partition", "offset", "timestamp", "from", "limit", "positions"])
          }=${junk()}&${pick(["partition", "limit", "offset"])}=${junk()}`,
      ],
      ["GET", () => `/api/v1/groups/${junk()}`],
      ["POST", () => `/api/v1/groups/${pick(["g", junk()])}/reset-offsets`],
      [pick(["GET", "POST", "PATCH", "DELETE", "PUT"]), () => `/api/v1/${junk()}/${junk()}`],
    ];
    const started = Date.now();
    for (let i = 0; i < 400 && Date.now() - started < 60_000; i++) {
      const [method, make] = pick(routes);
      const path = make();
      const body = method === "GET" ? undefined : pick(bodies);
      const a = await api(method, path, body);
      ok(
        a.status >= 200 && a.status < 500,
        `${method} ${path} ${JSON.stringify(body)}: ${a.status}`,
      );
      if (a.status >= 400) {
        ok(
          typeof a.body?.error?.message === "string",
          `${method} ${path}: ${JSON.stringify(a.body)}`,
        );
      }
    }
    // the broker still serves
    assertEquals((await api("GET", "/api/v1/overview")).status, 200);
  });
});
