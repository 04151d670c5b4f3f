// Copyright 2026 the Sluice authors. Apache-2.0 license.
// Client quotas and connection limits of a sharded broker (sluice.workers=2) as its own process,
// over real sockets: the kernel spreads the connections over both shards, a partition belongs to
// one of them, yet a client is held to its quota and an address to its connection limit in total.
//
// - producer_byte_rate: two Produce requests of one client, served on different shards, each
//   under the quota and together over it, get Kafka's throttle time for their sum; every
//   connection is muted for the throttle time its request got, whichever shard served it (each
//   connection sends to a partition of each shard, so one of them is forwarded).
// - max.connections.per.ip=3: in ten rounds the 4th connection is closed and a freed slot is
//   usable again (the three open ones land on either shard); /metrics counts the ten refusals.
// - max.connections set by IncrementalAlterConfigs: a new connection waits, unanswered, until one
//   closes.
import assert from "node:assert/strict";
import { shardOf } from "../server/shards.ts";
import { createTopic, produceBody, RawClient } from "../server/testing.ts";
import { type ShardedBroker, startShardedBroker, stopShardedBroker } from "./harness.ts";
import { encodeRequestFrame } from "../protocol/framing.ts";
import { ApiVersionsRequest, ApiVersionsResponse } from "../protocol/messages/api_versions.ts";
import {
  AlterClientQuotasRequest,
  AlterClientQuotasResponse,
} from "../protocol/messages/alter_client_quotas.ts";
import {
  IncrementalAlterConfigsRequest,
  IncrementalAlterConfigsResponse,
} from "../protocol/messages/incremental_alter_configs.ts";
import { MetadataRequest, MetadataResponse } from "../protocol/messages/metadata.ts";
import { ProduceRequest, ProduceResponse } from "../protocol/messages/produce.ts";
import { buildBatch } from "../wasm/testing.ts";

const startSharded = (dir: string, overrides: string[]) =>
  startShardedBroker(dir, ["sluice.http.listener=http://127.0.0.1:0", ...overrides]);
const stop = stopShardedBroker;

/** One sample of the broker's /metrics (every shard's, as shard 0 reports them). */
async function metric(b: ShardedBroker, sample: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${b.http}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(sample + " "));
  assert.ok(line !== undefined, `${sample} not in /metrics:\n${text}`);
  return Number(line.slice(sample.length + 1));
}

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

async function served(port: number): Promise<RawClient> {
  const c = await RawClient.connect(port);
  const res = await c.request(ApiVersionsRequest, ApiVersionsResponse, 3, {
    clientSoftwareName: "t",
    clientSoftwareVersion: "1",
  });
  assert.strictEqual(res.errorCode, 0);
  return c;
}

/** Send a request as `clientId`; returns the frame's size (what Produce quotas count). */
async function sendAs<Req>(
  c: RawClient,
  codec: typeof ProduceRequest | typeof MetadataRequest,
  version: number,
  clientId: string,
  body: Partial<Req>,
): Promise<number> {
  const frame = encodeRequestFrame(
    codec as typeof ProduceRequest,
    version,
    1,
    clientId,
    (codec as typeof ProduceRequest).create(body as Partial<ProduceRequest>),
  );
  await c.sendRaw(frame);
  return frame.length - 4;
}

const batch = () =>
  buildBatch({ records: [{ key: null, value: "x".repeat(1500) }], baseTimestamp: 1 });

async function setQuota(admin: RawClient, clientId: string, bytesPerSecond: number) {
  const res = await admin.request(AlterClientQuotasRequest, AlterClientQuotasResponse, 1, {
    entries: [{
      entity: [{ entityType: "client-id", entityName: clientId }],
      ops: [{ key: "producer_byte_rate", value: bytesPerSecond, remove: false }],
    }],
  });
  assert.strictEqual(res.entries[0].errorCode, 0);
}

/** Produce as `clientId` to a partition; the response's throttle time and when it came. */
async function produce(c: RawClient, clientId: string, partition: number) {
  const sent = performance.now();
  const size = await sendAs(c, ProduceRequest, 9, clientId, produceBody("q", partition, batch()));
  const res = (await c.receive(ProduceResponse, 9)).body;
  assert.strictEqual(res.responses[0].partitionResponses[0].errorCode, 0);
  return { size, throttleMs: res.throttleTimeMs, sent, answered: performance.now() };
}

/**
 * The next request on `c` is not answered before the throttle time is over. The mute starts on
 * the broker before the throttled answer reaches the client, so it is timed from the throttled
 * request's sending.
 */
async function assertMuted(c: RawClient, clientId: string, throttleMs: number, since: number) {
  await sendAs(c, MetadataRequest, 12, clientId, { topics: [] });
  await c.receive(MetadataResponse, 12);
  const waited = performance.now() - since;
  assert.ok(waited >= throttleMs - 2, `answered after ${waited} ms, throttled for ${throttleMs}`);
}

Deno.test({
  name: "sluice.workers=2: a client is held to its producer_byte_rate over both shards",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "sluice-limits-test-" });
    const b = await startSharded(dir, ["quota.window.num=2", "quota.window.size.seconds=1"]);
    const conns: RawClient[] = [];
    try {
      const admin = await RawClient.connect(b.port);
      conns.push(admin);
      await createTopic(admin, "q", 4);
      const owners = [0, 1, 2, 3].map((p) => shardOf("q", p, 2));
      const onShard = [owners.indexOf(0), owners.indexOf(1)];
      assert.ok(onShard[0] >= 0 && onShard[1] >= 0, `owners ${owners}`);
      // each request is under 2000 bytes, the two together over it
      const bound = 2000;
      await setQuota(admin, "pair", bound);
      const [a, c] = [await RawClient.connect(b.port), await RawClient.connect(b.port)];
      conns.push(a, c);
      const sent = performance.now();
      const first = await produce(a, "pair", onShard[0]);
      assert.ok(first.size < bound && 2 * first.size > bound, `size ${first.size}`);
      assert.strictEqual(first.throttleMs, 0);
      const second = await produce(c, "pair", onShard[1]);
      // Kafka's (rate - bound) / bound * window with rate = sum / window, window = 1 s plus the
      // time between the two records: sum * 1000 / bound - window
      const most = Math.round((first.size + second.size) * 1000 / bound - 1000);
      const least = most - Math.ceil(second.answered - sent) - 1;
      assert.ok(
        second.throttleMs >= least && second.throttleMs <= most && second.throttleMs > 0,
        `throttled ${second.throttleMs} ms, expected ${least}..${most}`,
      );
      await assertMuted(c, "pair", second.throttleMs, second.sent);
      let throttled = 1;
      // muting on the connection's shard: each connection sends to both shards' partitions
      await setQuota(admin, "tiny", 1000);
      for (const conn of [a, c]) {
        for (const partition of onShard) {
          for (let i = 0;; i++) {
            assert.ok(i < 10, "never throttled");
            const r = await produce(conn, "tiny", partition);
            if (r.throttleMs === 0) continue;
            throttled++;
            await assertMuted(conn, "tiny", r.throttleMs, r.sent);
            break;
          }
        }
      }
      // every shard's throttles in shard 0's /metrics
      assert.strictEqual(
        await metric(b, 'kafka_server_quota_throttled_requests_total{type="Produce"}'),
        throttled,
      );
    } finally {
      for (const c of conns) c.close();
      await stop(b);
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "sluice.workers=2: max.connections.per.ip and max.connections count both shards",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "sluice-limits-test-" });
    const b = await startSharded(dir, ["max.connections.per.ip=3"]);
    const open: RawClient[] = [];
    const count = 'kafka_server_socket_server_metrics_connection_count{listener="PLAINTEXT"}';
    const settle = async (n: number) => {
      for (let i = 0; i < 500 && await metric(b, count) !== n; i++) {
        await new Promise((r) => setTimeout(r, 10));
      }
      assert.strictEqual(await metric(b, count), n);
    };
    try {
      for (let i = 0; i < 3; i++) open.push(await served(b.port));
      for (let round = 0; round < 10; round++) {
        const fourth = await RawClient.connect(b.port);
        await refused(fourth);
        fourth.close();
        open.shift()!.close();
        await settle(2);
        open.push(await served(b.port));
      }
      assert.strictEqual(await metric(b, "sluice_connections_refused_total"), 10);
      // max.connections, dynamic: 3 open, a 4th waits until one closes
      const res = await open[0].request(
        IncrementalAlterConfigsRequest,
        IncrementalAlterConfigsResponse,
        1,
        {
          resources: [{
            resourceType: 4,
            resourceName: "",
            configs: [
              { name: "max.connections.per.ip", configOperation: 0, value: "100" },
              { name: "max.connections", configOperation: 0, value: "3" },
            ],
          }],
        },
      );
      assert.strictEqual(res.responses[0].errorCode, 0);
      const waiting = await RawClient.connect(b.port);
      open.push(waiting);
      const answer = waiting.request(ApiVersionsRequest, ApiVersionsResponse, 3, {
        clientSoftwareName: "t",
        clientSoftwareVersion: "1",
      });
      let timer: ReturnType<typeof setTimeout> | undefined;
      const early = await Promise.race([
        answer.then(() => true),
        new Promise<boolean>((r) => timer = setTimeout(() => r(false), 500)),
      ]);
      clearTimeout(timer);
      assert.strictEqual(early, false, "answered while the broker held max.connections");
      open.shift()!.close();
      assert.strictEqual((await answer).errorCode, 0);
      assert.strictEqual(await metric(b, "sluice_connections_blocked_total"), 1);
    } finally {
      for (const c of open) c.close();
      await stop(b);
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "sluice.workers=2: an address's connection_creation_rate counts both shards",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "sluice-limits-test-" });
    const b = await startSharded(dir, ["quota.window.num=2", "quota.window.size.seconds=1"]);
    const open: RawClient[] = [];
    try {
      // made before the quota: never recorded
      const admin = await served(b.port);
      open.push(admin);
      const res = await admin.request(AlterClientQuotasRequest, AlterClientQuotasResponse, 1, {
        entries: [{
          entity: [{ entityType: "ip", entityName: "127.0.0.1" }],
          ops: [{ key: "connection_creation_rate", value: 2, remove: false }],
        }],
      });
      assert.strictEqual(res.entries[0].errorCode, 0);
      // in each window 2 are served and the 3rd is closed unanswered, whichever shard the
      // kernel hands each to (counted apart, a shard would mostly see fewer than 3)
      for (let round = 0; round < 4; round++) {
        open.push(await served(b.port), await served(b.port));
        const third = await RawClient.connect(b.port);
        await third.send(ApiVersionsRequest, 3, {
          clientSoftwareName: "t",
          clientSoftwareVersion: "1",
        });
        await refused(third);
        third.close();
        for (const c of open.splice(1)) c.close();
        await new Promise((r) => setTimeout(r, 2_200)); // past the window: every sample expired
      }
      assert.strictEqual(await metric(b, "sluice_connections_ip_throttled_total"), 4);
    } finally {
      for (const c of open) c.close();
      await stop(b);
      await Deno.remove(dir, { recursive: true });
    }
  },
});
