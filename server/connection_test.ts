// Copyright 2026 the Sluice authors. Apache-2.0 license.
// Bounded request memory and time (issues #7, #11) over real TCP against a real broker: the
// broker-wide pool (queued.max.request.bytes) and its share for incomplete frames, the
// per-connection bound (sluice.connection.max.queued.bytes), oversized frames,
// connections.max.idle.ms and sluice.request.read.timeout.ms, and slowloris clients next to a
// control client. Waits poll the broker's state; nothing asserts on timings (latencies under
// attack are printed, not checked).
import { setPartitionLeaderEpochAt } from "../records/mod.ts";
import { deepStrictEqual as assertEquals, ok } from "node:assert/strict";
import { Admin, Client, Consumer, type ConsumerRecord, Producer } from "../client/mod.ts";
import { ApiVersionsRequest, ApiVersionsResponse } from "../protocol/messages/api_versions.ts";
import { FetchRequest, FetchResponse } from "../protocol/messages/fetch.ts";
import { ProduceRequest, ProduceResponse } from "../protocol/messages/produce.ts";
import { encodeRequestFrame } from "../protocol/framing.ts";
import { buildBatch } from "../wasm/testing.ts";
import { FRAME_GROWTH, MIN_FRAME_CHUNK } from "./connection.ts";
import {
  createTopic,
  fetchBody,
  produceBody,
  RawClient,
  startTestBroker,
  type TestBroker,
} from "./testing.ts";
import { waitFor } from "../tests/harness.ts";

const AV = { clientSoftwareName: "sluice-test", clientSoftwareVersion: "1" };
const MiB = 1024 * 1024;

/** Polls `cond` every 10 ms; the 60 s bound only protects against a hang (never a timing check). */
const until = (what: string, cond: () => boolean) =>
  waitFor(what, cond, { timeoutMs: 60_000, intervalMs: 10 });

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

/** Resolves with `p`, or fails naming `what` after `ms` (a hang bound, never a timing check). */
async function within<T>(what: string, p: Promise<T>, ms = 60_000): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, hang]);
  } finally {
    clearTimeout(timer);
  }
}

/** Bytes each open connection holds, by connection id. */
function held(t: TestBroker): number[] {
  return [...t.broker.connectionQueuedBytes().values()];
}

/**
 * Produce `count` one-record batches of ~700 bytes, one request each (so that each fits a small
 * per-connection bound); returns the bytes they take in the log.
 */
async function produceSmall(client: RawClient, topic: string, count: number): Promise<number> {
  let bytes = 0;
  for (let i = 0; i < count; i++) {
    const batch = buildBatch({ records: [{ key: `k${i}`, value: "s".repeat(700) }] });
    const pr = await client.request(
      ProduceRequest,
      ProduceResponse,
      9,
      produceBody(topic, 0, batch),
    );
    assertEquals(pr.responses[0].partitionResponses[0].errorCode, 0);
    bytes += batch.length;
  }
  return bytes;
}

Deno.test("memory: half-sent large frames hold about what arrived, within half the pool; the pool drains to 0", async () => {
  const capacity = 1 << 20;
  const frame = 300 * 1024;
  const sent = 100 * 1024;
  await using t = await startTestBroker({ queuedMaxRequestBytes: capacity });
  const pool = t.broker.memoryPool;
  const conns: Deno.TcpConn[] = [];
  for (let i = 0; i < 10; i++) {
    const c = await Deno.connect({ hostname: "127.0.0.1", port: t.broker.port });
    conns.push(c);
    await writeAll(c, partialFrame(frame, sent));
  }
  // Each connection has read all it was sent, or waits for memory to read more.
  await until(
    "every half-sent frame is read or waits for memory",
    () => pool.waiting + held(t).filter((h) => h >= sent).length === 10,
  );
  // Memory follows the bytes that arrived (at most FRAME_GROWTH times as much: the buffer
  // grows that much at a time), never the 300 KiB announced; incomplete frames stay within
  // their half of the pool.
  const most = Math.min(frame, FRAME_GROWTH * sent);
  for (const h of held(t)) ok(h <= most, `a connection holds ${h} > ${most}`);
  ok(pool.partial <= pool.partialCapacity, `${pool.partial} > ${pool.partialCapacity}`);
  ok(pool.waiting > 0, "10 × 300 KiB frames cannot all grow in 512 KiB");

  // A normal client is still served from the other half.
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

  // Once those connections are gone every reserved byte comes back.
  for (const c of conns) c.close();
  await until("all connections are closed", () => t.broker.connectionQueuedBytes().size === 0);
  assertEquals([pool.reserved, pool.partial, pool.waiting, pool.openFrames], [0, 0, 0, 0]);
  ok(pool.peak <= capacity, `peak ${pool.peak} > ${capacity}`);
});

Deno.test("memory: a frame larger than the whole pool (within its connection's bound) is served when alone", async () => {
  await using t = await startTestBroker({ queuedMaxRequestBytes: 64 * 1024 });
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
  const stored = batch.slice();
  setPartitionLeaderEpochAt(stored, 0, 0); // the leader's epoch, as Kafka stamps it
  assertEquals(f.responses[0].partitions[0].records, stored);
  c.close();
  await until("the connection is closed", () => t.broker.connectionQueuedBytes().size === 0);
  assertEquals(t.broker.memoryPool.reserved, 0);
});

Deno.test("memory: a request larger than sluice.connection.max.queued.bytes is refused, logged, and reserves nothing", async () => {
  const bound = 100 * 1024;
  await using t = await startTestBroker({ connectionMaxQueuedBytes: bound });
  const c = await RawClient.connect(t.broker.port);
  await createTopic(c, "refused");
  const batch = buildBatch({ records: [{ key: "k", value: "x".repeat(200 * 1024) }] });
  t.broker.memoryPool.resetPeak();
  await c.send(ProduceRequest, 9, produceBody("refused", 0, batch));
  await c.expectClosed();
  c.close();
  await until("the connection is closed", () => t.broker.connectionQueuedBytes().size === 0);
  const refused = t.lines.filter((l) =>
    l.includes(`is larger than sluice.connection.max.queued.bytes (${bound})`)
  );
  assertEquals(refused.length, 1, t.lines.join("\n"));
  assertEquals([t.broker.memoryPool.peak, t.broker.memoryPool.reserved], [0, 0]);
});

Deno.test("memory: a frame being received waits for its connection's bound: queued requests plus the frame never exceed it", async () => {
  const bound = 1 << 20;
  await using t = await startTestBroker({
    connectionMaxQueuedBytes: bound,
    requestReadTimeoutMs: 600_000,
  });
  const setup = await RawClient.connect(t.broker.port);
  await createTopic(setup, "parked");
  await createTopic(setup, "bulk");
  // A fetch that parks (nothing to read yet) keeps the connection busy, so what follows queues.
  const parked = encodeRequestFrame(
    FetchRequest,
    12,
    1,
    "sluice-test",
    FetchRequest.create(
      fetchBody([{ topic: "parked", partition: 0, offset: 0 }], { maxWaitMs: 60_000 }),
    ),
  );
  const batch = buildBatch({ records: [{ key: "k", value: "b".repeat(400 * 1024) }] });
  const produce = (id: number) =>
    encodeRequestFrame(
      ProduceRequest,
      9,
      id,
      "sluice-test",
      ProduceRequest.create(produceBody("bulk", 0, batch)),
    );
  const frames = [parked, produce(2), produce(3), produce(4)];
  const frameSize = frames[1].length - 4;
  const all = new Uint8Array(frames.reduce((n, f) => n + f.length, 0));
  let off = 0;
  for (const f of frames) {
    all.set(f, off);
    off += f.length;
  }
  t.broker.memoryPool.resetPeak();
  const c = await RawClient.connect(t.broker.port);
  const sending = c.sendRaw(all);
  // Two produce requests queued whole, the third one partly received.
  await until("the third produce is being received", () => Math.max(...held(t)) > 2 * frameSize);
  for (let i = 0; i < 20; i++) {
    for (const h of held(t)) ok(h <= bound, `a connection holds ${h} > ${bound}`);
    await new Promise((r) => setTimeout(r, 5));
  }
  ok(t.broker.memoryPool.peak <= bound, `pool peak ${t.broker.memoryPool.peak} > ${bound}`);

  // Wake the parked fetch: every request is then answered, in order.
  const one = buildBatch({ records: [{ key: "w", value: "wake" }] });
  const pr = await setup.request(ProduceRequest, ProduceResponse, 9, produceBody("parked", 0, one));
  assertEquals(pr.responses[0].partitionResponses[0].errorCode, 0);
  const f = await within("the parked fetch", c.receive(FetchResponse, 12));
  assertEquals(f.correlationId, 1);
  for (const id of [2, 3, 4]) {
    const r = await within(`produce ${id}`, c.receive(ProduceResponse, 9));
    assertEquals(r.correlationId, id);
    assertEquals(r.body.responses[0].partitionResponses[0].errorCode, 0);
  }
  await sending;
  setup.close();
  c.close();
  await until("the connections are closed", () => t.broker.connectionQueuedBytes().size === 0);
  assertEquals(t.broker.memoryPool.reserved, 0);
});

Deno.test("memory: a client that does not read its fetch responses stops read-ahead at the connection budget", async () => {
  const budget = 1000;
  await using t = await startTestBroker({ connectionMaxQueuedBytes: budget });
  const setup = await RawClient.connect(t.broker.port);
  await createTopic(setup, "slow");
  const stored = await produceSmall(setup, "slow", 256);
  setup.close();
  await until("the setup connection is closed", () => t.broker.connectionQueuedBytes().size === 0);
  t.broker.memoryPool.resetPeak();

  // 120 fetches of ~200 KiB: ~23 MiB of responses, far more than socket buffers.
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
  const holding = () => held(t).reduce((a, b) => a + b, 0);
  await until("the connection's budget is full", () => holding() + frameSize > budget);
  for (let i = 0; i < 20; i++) {
    ok(holding() <= budget, `connection holds ${holding()} > ${budget}`);
    await new Promise((r) => setTimeout(r, 5));
  }
  ok(t.broker.memoryPool.peak <= budget, `pool peak ${t.broker.memoryPool.peak} > ${budget}`);

  // Every request is still answered, in order, once the client reads.
  for (let i = 0; i < requests; i++) {
    const r = await c.receive(FetchResponse, 12);
    assertEquals(r.correlationId, 1000 + i);
    assertEquals(r.body.responses[0].partitions[0].records?.length, stored);
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
  // A prefix announcing 100 MiB and 10 bytes of it cost one small chunk, not 100 MiB.
  await until("the half-sent frame is reserved", () => t.broker.memoryPool.reserved > 0);
  assertEquals(t.broker.memoryPool.reserved, MIN_FRAME_CHUNK);
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
  await produceSmall(setup, "stuck", 256);
  setup.close();
  await until("the setup connection is closed", () => t.broker.connectionQueuedBytes().size === 0);

  const c = await Deno.connect({ hostname: "127.0.0.1", port: t.broker.port });
  await until(
    "the broker accepts the connection",
    () => t.broker.connectionQueuedBytes().size === 1,
  );
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

/** Latency of each step of a control client's session, in ms (printed, never asserted). */
interface ControlLatency {
  createTopic: number;
  produce: number;
  consume: number;
}

/**
 * Our client creates `topic`, produces 10 records and consumes them back, with a 20 s request
 * timeout and a 60 s hang bound per step; returns each step's latency.
 */
async function controlSession(port: number, topic: string): Promise<ControlLatency> {
  const client = new Client({
    bootstrapServers: `127.0.0.1:${port}`,
    requestTimeoutMs: 20_000,
    retryBackoffMs: 20,
  });
  try {
    let t0 = performance.now();
    await within("createTopics", new Admin(client).createTopics([{ name: topic }]));
    const createTopic = performance.now() - t0;
    t0 = performance.now();
    const values = Array.from({ length: 10 }, (_, i) => `control-${i}`);
    const sent = await within(
      "produce",
      new Producer(client).send({ topic, messages: values.map((value) => ({ value })) }),
    );
    const produce = performance.now() - t0;
    assertEquals(sent.map((m) => m.offset), values.map((_, i) => i));
    t0 = performance.now();
    const consumer = new Consumer(client, { fromBeginning: true });
    await consumer.assign([{ topic, partition: 0 }]);
    const got: ConsumerRecord[] = [];
    for (let i = 0; i < 100 && got.length < values.length; i++) {
      got.push(...await within("poll", consumer.poll({ maxWaitMs: 100 })));
    }
    const consume = performance.now() - t0;
    const td = new TextDecoder();
    assertEquals(got.map((r) => td.decode(r.value!)), values);
    return { createTopic, produce, consume };
  } finally {
    await client.close();
  }
}

function formatLatency(l: ControlLatency): string {
  return `createTopics ${l.createTopic.toFixed(0)} ms, produce ${l.produce.toFixed(0)} ms, ` +
    `consume ${l.consume.toFixed(0)} ms`;
}

// The prefixes of issue #11: three sockets announcing 256 MiB together, the whole default pool.
const ATTACK_PREFIXES = [100 * MiB, 100 * MiB, 56 * MiB];

Deno.test("slowloris: three size prefixes announcing the whole pool cost nothing; a control client is served meanwhile", async () => {
  // Default pool (256 MiB) and bound; the read timeout is pushed out of the way so that only
  // the memory accounting keeps the broker serving while the attack sockets stay open.
  await using t = await startTestBroker({ requestReadTimeoutMs: 600_000 });
  const pool = t.broker.memoryPool;
  const attack: Deno.TcpConn[] = [];
  for (const size of ATTACK_PREFIXES) {
    const c = await Deno.connect({ hostname: "127.0.0.1", port: t.broker.port });
    await writeAll(c, partialFrame(size, 0));
    attack.push(c);
  }
  await until("the broker has the attack connections", () => held(t).length === 3);
  const baseline = await controlSession(t.broker.port, "baseline");
  const latency = await controlSession(t.broker.port, "control");
  console.log(`  quiet:  ${formatLatency(baseline)}`);
  console.log(`  attack: ${formatLatency(latency)} (3 prefixes, 256 MiB announced)`);
  // Only the control client's own small requests were ever reserved.
  ok(pool.peak < MiB, `pool peak ${pool.peak}`);
  await until("only the attack connections are left", () => held(t).length === 3);
  assertEquals(held(t), [0, 0, 0]);
  for (const c of attack) c.close();
  await until("all connections are closed", () => held(t).length === 0);
  assertEquals([pool.reserved, pool.partial, pool.openFrames], [0, 0, 0]);
});

Deno.test("slowloris: three frames sent tens of MiB deep then stalled hold at most half the pool; a control client is served meanwhile", async () => {
  await using t = await startTestBroker({ requestReadTimeoutMs: 600_000 });
  const pool = t.broker.memoryPool;
  const sent = 40 * MiB;
  const body = new Uint8Array(sent);
  const attack: Deno.TcpConn[] = [];
  const sending: Promise<void>[] = [];
  for (const size of ATTACK_PREFIXES) {
    const c = await Deno.connect({ hostname: "127.0.0.1", port: t.broker.port });
    await writeAll(c, partialFrame(size, 0));
    attack.push(c);
    // Back-pressure may stop this write half-way: that is the point.
    sending.push(writeAll(c, body).catch(() => {}));
  }
  // Each attack frame has all its 40 MiB in, or waits for memory with the rest unread.
  await until(
    "every attack frame is read or waits for memory",
    () => pool.waiting + held(t).filter((h) => h >= sent).length === 3,
  );
  const attackHeld = held(t);
  const latency = await controlSession(t.broker.port, "control");
  console.log(
    `  attack: ${formatLatency(latency)} (3 frames, 40 MiB each sent; broker holds ` +
      `${attackHeld.map((h) => (h / MiB).toFixed(1)).join(" + ")} MiB)`,
  );
  // Incomplete frames hold at most half the pool; the other half serves whole requests.
  ok(pool.partial <= pool.capacity / 2, `${pool.partial} > ${pool.capacity / 2}`);
  ok(pool.peak <= pool.capacity, `pool peak ${pool.peak} > ${pool.capacity}`);
  await until("only the attack connections are left", () => held(t).length === 3);
  for (const c of attack) c.close();
  await Promise.all(sending);
  await until("all connections are closed", () => held(t).length === 0);
  assertEquals([pool.reserved, pool.partial, pool.waiting, pool.openFrames], [0, 0, 0, 0]);
});

Deno.test("read timeout: a request trickling 1 byte every 4 s is closed by sluice.request.read.timeout.ms, not kept open", async () => {
  // Every 4 s a byte arrives, so connections.max.idle.ms=8000 never fires.
  await using t = await startTestBroker({ connectionsMaxIdleMs: 8000, requestReadTimeoutMs: 6000 });
  const pool = t.broker.memoryPool;
  const big = partialFrame(100 * MiB, 0);
  const small = partialFrame(100, 0);
  const trickles: { what: string; first: Uint8Array }[] = [
    { what: "size prefix", first: new Uint8Array(0) },
    { what: "100 MiB frame", first: big },
    { what: "100-byte frame", first: small },
  ];
  const sentBytes = await Promise.all(trickles.map(async ({ first }, i) => {
    const c = await Deno.connect({ hostname: "127.0.0.1", port: t.broker.port });
    await writeAll(c, first);
    const closed = readsToEnd(c);
    let done = false;
    closed.then(() => (done = true));
    let sent = 0;
    // Bounded: at most 10 bytes (40 s) even if the broker never closes it.
    for (; sent < 10 && !done; sent++) {
      // The prefix trickle sends the 4 bytes of a 100 MiB prefix one by one, the others body.
      const byte = i === 0 ? big.subarray(sent % 4, sent % 4 + 1) : new Uint8Array([sent]);
      try {
        await writeAll(c, byte);
      } catch {
        break;
      }
      await Promise.race([closed, new Promise((r) => setTimeout(r, 4000))]);
    }
    await closed;
    c.close();
    return sent;
  }));
  console.log(`  trickled bytes before the broker closed each: ${sentBytes.join(", ")}`);
  await until("all connections are closed", () => held(t).length === 0);
  const timeouts = t.lines.filter((l) => l.includes("(sluice.request.read.timeout.ms=6000)"));
  assertEquals(timeouts.length, 3, t.lines.join("\n"));
  ok(timeouts.some((l) => l.includes("of 4 size-prefix bytes received")), timeouts.join("\n"));
  ok(timeouts.some((l) => l.includes(`of ${100 * MiB} bytes received`)), timeouts.join("\n"));
  ok(timeouts.some((l) => l.includes("of 100 bytes received")), timeouts.join("\n"));
  assertEquals(t.lines.filter((l) => l.includes("connections.max.idle.ms=8000")), []);
  assertEquals([pool.reserved, pool.partial, pool.waiting, pool.openFrames], [0, 0, 0, 0]);
});

Deno.test("memory: large producers sending at once all finish (incomplete frames never wait on each other forever)", async () => {
  // Four 3 MiB requests and a 4 MiB share: grown in step they would each hold ~1 MiB and wait
  // for the others forever. No read timeout comes to the rescue here.
  await using t = await startTestBroker({
    queuedMaxRequestBytes: 8 * MiB,
    requestReadTimeoutMs: 600_000,
  });
  const setup = await RawClient.connect(t.broker.port);
  await createTopic(setup, "large", 1, { "max.message.bytes": String(8 * MiB) });
  setup.close();
  const batch = buildBatch({ records: [{ key: "k", value: "L".repeat(3 * MiB) }] });
  const clients = await Promise.all(
    Array.from({ length: 4 }, () => RawClient.connect(t.broker.port)),
  );
  const results = await within(
    "four concurrent 3 MiB produce requests",
    Promise.all(clients.map(async (c, i) => {
      await c.send(ProduceRequest, 9, produceBody("large", 0, batch), 100 + i);
      return await c.receive(ProduceResponse, 9);
    })),
  );
  for (const [i, r] of results.entries()) {
    assertEquals(r.correlationId, 100 + i);
    assertEquals(r.body.responses[0].partitionResponses[0].errorCode, 0);
  }
  assertEquals(
    results.map((r) => r.body.responses[0].partitionResponses[0].baseOffset).sort(),
    [0, 1, 2, 3],
  );
  ok(t.broker.memoryPool.peak <= 8 * MiB, `pool peak ${t.broker.memoryPool.peak}`);
  for (const c of clients) c.close();
  await until("all connections are closed", () => held(t).length === 0);
  assertEquals(t.broker.memoryPool.reserved, 0);
});

Deno.test("a client that goes away mid-request is logged at INFO, not ERROR (as Kafka)", async () => {
  await using t = await startTestBroker();
  for (const bytes of [[0, 0], [0, 0, 0, 40, 0, 18, 0, 0]]) {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: t.broker.port });
    await conn.write(new Uint8Array(bytes));
    conn.close();
  }
  const deadline = Date.now() + 30_000;
  while (t.lines.filter((l) => l.includes("ended mid-request")).length < 2) {
    if (Date.now() > deadline) throw new Error(`no log lines: ${t.lines.join("\n")}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  const lines = t.lines.filter((l) => l.includes("ended mid-request"));
  assertEquals(lines.map((l) => l.split(" ")[0]), ["INFO", "INFO"]);
  assertEquals(t.lines.filter((l) => l.startsWith("ERROR")), []);
});

Deno.test("wrong protocol: every TLS record type on a plaintext port is closed with one WARN line, never a request size", async () => {
  await using t = await startTestBroker();
  // a ClientHello's header, and an alert (librdkafka may open a connection with one)
  for (const [type, name] of [[0x16, "handshake"], [0x15, "alert"], [0x17, "application_data"]]) {
    const from = t.lines.length;
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: t.broker.port });
    await conn.write(new Uint8Array([type as number, 0x03, 0x01, 0x00, 0x02, 0x02, 0x28]));
    const closed = await conn.read(new Uint8Array(16)).catch(() => null);
    conn.close();
    assertEquals(closed, null);
    const warned = () => t.lines.slice(from).filter((l) => !l.startsWith("DEBUG "));
    await until(`the ${name} is logged`, () => warned().length > 0);
    await new Promise((r) => setTimeout(r, 100)); // and nothing more comes
    const lines = warned();
    assertEquals(lines.length, 1, lines.join("\n"));
    ok(lines[0].startsWith("WARN ") && lines[0].includes(`a TLS ${name}`), lines[0]);
    ok(!lines.some((l) => l.includes("request size")), lines.join("\n"));
  }
});

Deno.test("memory: a large frame whose buffer is full reserves its next growth before reading on, so the next bytes go straight into it (FRAME_GROWTH times what arrived, never more)", async () => {
  await using t = await startTestBroker();
  const c = await Deno.connect({ hostname: "127.0.0.1", port: t.broker.port });
  try {
    // A Produce frame of 300 KiB whose first MIN_FRAME_CHUNK bytes, then the next growth
    // step's, arrive and stop: once they are read the buffer is full, and it grows (and
    // reserves) FRAME_GROWTH times what arrived to read the rest into it.
    const size = 300 * 1024;
    const frame = partialFrame(size, size);
    frame[5] = 0; // Produce (API key 0)
    let from = 0;
    let arrived = MIN_FRAME_CHUNK;
    for (let step = 0; step < 3; step++) {
      await writeAll(c, frame.subarray(from, 4 + arrived));
      from = 4 + arrived;
      const want = Math.min(size, arrived * FRAME_GROWTH);
      await until(`the frame holds ${want} bytes after ${arrived} arrived`, () => {
        const h = held(t);
        return h.length === 1 && h[0] === want;
      });
      arrived = want;
    }
  } finally {
    c.close();
  }
  await until("the connection is closed", () => t.broker.connectionQueuedBytes().size === 0);
});
