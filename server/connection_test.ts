// Copyright 2026 the Sluice authors. Apache-2.0 license.
// Bounded request memory (issue #7) over real TCP against a real broker: the broker-wide pool
// (queued.max.request.bytes), the per-connection budget (sluice.connection.max.queued.bytes),
// oversized frames, and connections.max.idle.ms. Waits poll the broker's state; nothing asserts
// on timings.
import { deepStrictEqual as assertEquals, ok } from "node:assert/strict";
import { ApiVersionsRequest, ApiVersionsResponse } from "../protocol/messages/api_versions.ts";
import { FetchRequest, FetchResponse } from "../protocol/messages/fetch.ts";
import { ProduceRequest, ProduceResponse } from "../protocol/messages/produce.ts";
import { encodeRequestFrame } from "../protocol/framing.ts";
import { buildBatch } from "../wasm/testing.ts";
import { createTopic, fetchBody, produceBody, RawClient, startTestBroker } from "./testing.ts";

const AV = { clientSoftwareName: "sluice-test", clientSoftwareVersion: "1" };

/** Poll `cond` until it holds; fails (naming `what`) after ~20 s so a bug cannot hang. */
/** Polls `cond` every 10 ms; the 60 s bound only protects against a hang (never a timing check). */
async function until(what: string, cond: () => boolean): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting until ${what}`);
}

/** A size prefix announcing `size` bytes followed by `body` bytes of it. */
function partialFrame(size: number, body: number): Uint8Array {
  const out = new Uint8Array(4 + body);
  new DataView(out.buffer).setInt32(0, size);
  return out;
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let off = 0;
  while (off < bytes.length) off += await conn.write(bytes.subarray(off));
}

/** Reads until the peer closes; true if it closed (EOF or reset). */
async function readsToEnd(conn: Deno.Conn): Promise<boolean> {
  const buf = new Uint8Array(1024);
  try {
    while ((await conn.read(buf)) !== null) { /* discard */ }
  } catch (e) {
    if (!(e instanceof Deno.errors.ConnectionReset)) throw e;
  }
  return true;
}

Deno.test("memory: half-sent large frames cannot push the pool past queued.max.request.bytes; the pool drains to 0", async () => {
  const capacity = 1 << 20;
  const frame = 300 * 1024;
  await using t = await startTestBroker({ queuedMaxRequestBytes: capacity });
  const pool = t.broker.memoryPool;
  const conns: Deno.TcpConn[] = [];
  for (let i = 0; i < 10; i++) {
    const c = await Deno.connect({ hostname: "127.0.0.1", port: t.broker.port });
    conns.push(c);
    await writeAll(c, partialFrame(frame, 100 * 1024));
  }
  // Three 300 KiB frames fit in 1 MiB; the other seven connections wait, reading nothing.
  await until("3 frames are reserved and 7 wait", () => pool.waiting === 7);
  assertEquals(pool.reserved, 3 * frame);
  assertEquals(pool.peak, 3 * frame);

  // A normal client is still served from what is left (its requests fit).
  const normal = await RawClient.connect(t.broker.port);
  const av = await normal.request(ApiVersionsRequest, ApiVersionsResponse, 3, AV);
  assertEquals(av.errorCode, 0);
  await createTopic(normal, "mem");
  const batch = buildBatch({ records: [{ key: "k", value: "v" }] });
  const pr = await normal.request(ProduceRequest, ProduceResponse, 9, produceBody("mem", 0, batch));
  assertEquals(pr.responses[0].partitionResponses[0].errorCode, 0);
  assertEquals(pr.responses[0].partitionResponses[0].baseOffset, 0);
  ok(pool.peak <= capacity, `peak ${pool.peak} > ${capacity}`);
  normal.close();

  // (2) Once those connections are gone every reserved byte comes back.
  for (const c of conns) c.close();
  await until("all connections are closed", () => t.broker.connectionQueuedBytes().size === 0);
  assertEquals(pool.reserved, 0);
  assertEquals(pool.waiting, 0);
  ok(pool.peak <= capacity, `peak ${pool.peak} > ${capacity}`);
});

Deno.test("memory: a frame larger than the whole pool and the connection budget is served when alone", async () => {
  await using t = await startTestBroker({
    queuedMaxRequestBytes: 64 * 1024,
    connectionMaxQueuedBytes: 1024,
  });
  const c = await RawClient.connect(t.broker.port);
  await createTopic(c, "big");
  const value = "x".repeat(1024);
  const batch = buildBatch({
    records: Array.from({ length: 200 }, (_, i) => ({ key: `k${i}`, value })),
  });
  const body = produceBody("big", 0, batch);
  const bytes = encodeRequestFrame(
    ProduceRequest,
    9,
    77,
    "sluice-test",
    ProduceRequest.create(body),
  );
  ok(bytes.length - 4 > 64 * 1024 * 3);
  await c.sendRaw(bytes);
  const res = await c.receive(ProduceResponse, 9);
  assertEquals(res.correlationId, 77);
  assertEquals(res.body.responses[0].partitionResponses[0].errorCode, 0);
  assertEquals(t.broker.memoryPool.peak, bytes.length - 4);
  const f = await c.request(
    FetchRequest,
    FetchResponse,
    12,
    fetchBody([{ topic: "big", partition: 0, offset: 0 }], { maxBytes: 1 << 20 }),
  );
  assertEquals(f.responses[0].partitions[0].records, batch.subarray(0));
  c.close();
  await until("the connection is closed", () => t.broker.connectionQueuedBytes().size === 0);
  assertEquals(t.broker.memoryPool.reserved, 0);
});

Deno.test("memory: a client that does not read its fetch responses stops read-ahead at the connection budget", async () => {
  const budget = 1000;
  await using t = await startTestBroker({ connectionMaxQueuedBytes: budget });
  const setup = await RawClient.connect(t.broker.port);
  await createTopic(setup, "slow");
  const value = "s".repeat(1024);
  const batch = buildBatch({
    records: Array.from({ length: 256 }, (_, i) => ({ key: `k${i}`, value })),
  });
  const pr = await setup.request(ProduceRequest, ProduceResponse, 9, produceBody("slow", 0, batch));
  assertEquals(pr.responses[0].partitionResponses[0].errorCode, 0);
  setup.close();
  await until("the setup connection is closed", () => t.broker.connectionQueuedBytes().size === 0);
  t.broker.memoryPool.resetPeak();

  // 120 fetches of the ~265 KiB batch: ~31 MiB of responses, far more than socket buffers.
  const requests = 120;
  const c = await RawClient.connect(t.broker.port);
  const fetch = fetchBody([{ topic: "slow", partition: 0, offset: 0 }], { maxBytes: 1 << 20 });
  const frames: Uint8Array[] = [];
  for (let i = 0; i < requests; i++) {
    frames.push(
      encodeRequestFrame(FetchRequest, 12, 1000 + i, "sluice-test", FetchRequest.create(fetch)),
    );
  }
  const frameSize = frames[0].length - 4;
  const all = new Uint8Array(frames.reduce((n, f) => n + f.length, 0));
  let off = 0;
  for (const f of frames) {
    all.set(f, off);
    off += f.length;
  }
  // Send everything without reading (the write itself may stall once the broker stops reading).
  const sending = c.sendRaw(all);
  const held = () => [...t.broker.connectionQueuedBytes().values()].reduce((a, b) => a + b, 0);
  await until("the connection's budget is full", () => held() + frameSize > budget);
  for (let i = 0; i < 20; i++) {
    ok(held() <= budget, `connection holds ${held()} > ${budget}`);
    await new Promise((r) => setTimeout(r, 5));
  }
  ok(t.broker.memoryPool.peak <= budget, `pool peak ${t.broker.memoryPool.peak} > ${budget}`);

  // Every request is still answered, in order, once the client reads.
  for (let i = 0; i < requests; i++) {
    const r = await c.receive(FetchResponse, 12);
    assertEquals(r.correlationId, 1000 + i);
    assertEquals(r.body.responses[0].partitions[0].records?.length, batch.length);
  }
  await sending;
  ok(t.broker.memoryPool.peak <= budget, `pool peak ${t.broker.memoryPool.peak} > ${budget}`);
  c.close();
  await until("the connection is closed", () => t.broker.connectionQueuedBytes().size === 0);
  assertEquals(t.broker.memoryPool.reserved, 0);
});

Deno.test("memory: connections.max.idle.ms closes silent and half-sent connections, not long polls", async () => {
  await using t = await startTestBroker({ connectionsMaxIdleMs: 150 });
  const silent = await Deno.connect({ hostname: "127.0.0.1", port: t.broker.port });
  const half = await Deno.connect({ hostname: "127.0.0.1", port: t.broker.port });
  await writeAll(half, partialFrame(100 * 1024 * 1024, 10));
  await until("the half-sent frame is reserved", () => t.broker.memoryPool.reserved > 0);
  assertEquals(t.broker.memoryPool.reserved, 100 * 1024 * 1024);
  assertEquals(await readsToEnd(silent), true);
  assertEquals(await readsToEnd(half), true);
  silent.close();
  half.close();
  await until("both are closed", () => t.broker.connectionQueuedBytes().size === 0);
  assertEquals(t.broker.memoryPool.reserved, 0);
  const idleLines = t.lines.filter((l) => l.includes("connections.max.idle.ms=150"));
  assertEquals(idleLines.length, 2);
  ok(idleLines.some((l) => l.includes("10 bytes into a request")), idleLines.join("\n"));

  // A fetch parked longer than the idle timeout is a request in progress, not idleness.
  const c = await RawClient.connect(t.broker.port);
  await createTopic(c, "idle");
  const f = await c.request(
    FetchRequest,
    FetchResponse,
    12,
    fetchBody([{ topic: "idle", partition: 0, offset: 0 }], { maxWaitMs: 600, minBytes: 1 }),
  );
  assertEquals(f.errorCode, 0);
  assertEquals(f.responses[0].partitions[0].errorCode, 0);
  c.close();
});

Deno.test("memory: a client that stops reading its responses is closed after connections.max.idle.ms", async () => {
  await using t = await startTestBroker({
    connectionMaxQueuedBytes: 1000,
    connectionsMaxIdleMs: 300,
  });
  const setup = await RawClient.connect(t.broker.port);
  await createTopic(setup, "stuck");
  const value = "s".repeat(1024);
  const batch = buildBatch({
    records: Array.from({ length: 256 }, (_, i) => ({ key: `k${i}`, value })),
  });
  const pr = await setup.request(
    ProduceRequest,
    ProduceResponse,
    9,
    produceBody("stuck", 0, batch),
  );
  assertEquals(pr.responses[0].partitionResponses[0].errorCode, 0);
  setup.close();
  await until("the setup connection is closed", () => t.broker.connectionQueuedBytes().size === 0);

  const c = await Deno.connect({ hostname: "127.0.0.1", port: t.broker.port });
  const fetch = FetchRequest.create(
    fetchBody([{ topic: "stuck", partition: 0, offset: 0 }], { maxBytes: 1 << 20 }),
  );
  const frames: Uint8Array[] = [];
  for (let i = 0; i < 120; i++) {
    frames.push(encodeRequestFrame(FetchRequest, 12, i, "sluice-test", fetch));
  }
  const all = new Uint8Array(frames.reduce((n, f) => n + f.length, 0));
  let off = 0;
  for (const f of frames) {
    all.set(f, off);
    off += f.length;
  }
  // Never read: the broker's writes stall, its budget fills, then the connection goes idle.
  const sending = writeAll(c, all).catch(() => {});
  await until(
    "the broker closes the connection",
    () => t.broker.connectionQueuedBytes().size === 0,
  );
  await sending;
  c.close();
  assertEquals(t.broker.memoryPool.reserved, 0);
  assertEquals(
    t.lines.filter((l) => l.includes("(connections.max.idle.ms=300)")).length,
    1,
  );
});
