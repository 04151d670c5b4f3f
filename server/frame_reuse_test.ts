// Copyright 2026 the Sluice authors. Apache-2.0 license.
// Large Produce frames are read into pooled buffers that the next request reuses (issue #17,
// `frame_buffer_pool.ts`): what was stored from a frame must never change when its buffer takes
// the next frame, and hostile frames over a reused buffer are refused as before.
import { deepStrictEqual as assertEquals, ok } from "node:assert/strict";
import { ErrorCode } from "../protocol/errors.ts";
import { FetchRequest, FetchResponse } from "../protocol/messages/fetch.ts";
import { ProduceRequest, ProduceResponse } from "../protocol/messages/produce.ts";
import { decodeBody, encodeRequestFrame } from "../protocol/framing.ts";
import { batchSizeAt, LENGTH_OFFSET, LOG_OVERHEAD, MAGIC_OFFSET } from "../records/mod.ts";
import { buildBatch, fixCrc, seededRandom } from "../wasm/testing.ts";
import { createTopic, fetchBody, produceBody, RawClient, startTestBroker } from "./testing.ts";
import { ApiVersionsRequest, ApiVersionsResponse } from "../protocol/messages/api_versions.ts";
import { waitFor } from "../tests/harness.ts";
import {
  FRAME_GROWTH,
  MAX_QUEUED_FRAMES,
  MAX_READ_AHEAD_BYTES,
  MIN_FRAME_CHUNK,
  RESPONSE_SCRATCH_BYTES,
  SMALL_FRAME_BYTES,
  SPARE_FRAME_BYTES,
} from "./connection.ts";

/** A batch of `count` records of `size` random bytes each (well above SMALL_FRAME_BYTES). */
function bigBatch(seed: number, count = 48, size = 4096): Uint8Array {
  const rnd = seededRandom(seed);
  const records = Array.from({ length: count }, () => {
    const value = new Uint8Array(size);
    for (let i = 0; i < size; i++) value[i] = Math.floor(rnd() * 256);
    return { key: null, value };
  });
  return buildBatch({ records, baseTimestamp: Date.now() });
}

/** Every batch of partition 0 of `topic` from offset 0, in order. */
async function fetchAll(c: RawClient, topic: string): Promise<Uint8Array[]> {
  const f = await c.request(
    FetchRequest,
    FetchResponse,
    12,
    fetchBody([{ topic, partition: 0, offset: 0, maxBytes: 16 << 20 }]),
  );
  const p = f.responses[0].partitions[0];
  assertEquals(p.errorCode, ErrorCode.NONE);
  const records = p.records ?? new Uint8Array(0);
  const out: Uint8Array[] = [];
  for (let at = 0; at < records.length;) {
    const size = batchSizeAt(records, at);
    if (size <= LOG_OVERHEAD || at + size > records.length) {
      throw new Error(`fetched records are not whole batches: ${size} bytes at ${at}`);
    }
    out.push(records.slice(at, at + size));
    at += size;
  }
  return out;
}

/** The batch as stored equals the batch as sent from the magic byte on (CRC and all it covers). */
function assertStored(stored: Uint8Array, sent: Uint8Array, what: string): void {
  assertEquals(stored.length, sent.length, what);
  ok(
    stored.subarray(MAGIC_OFFSET).every((b, i) => b === sent[MAGIC_OFFSET + i]),
    `${what}: stored bytes differ from the bytes produced`,
  );
}

async function produce(c: RawClient, topic: string, batch: Uint8Array) {
  const p = await c.request(ProduceRequest, ProduceResponse, 9, produceBody(topic, 0, batch));
  return p.responses[0].partitionResponses[0];
}

Deno.test("frame reuse: the hot tail keeps large batches in their frames' buffers, which come back to the pool as the tail drops them; every batch is fetched back byte-identical", async () => {
  await using t = await startTestBroker();
  const pool = t.broker.frameBufferPool;
  const c = await RawClient.connect(t.broker.port);
  try {
    await createTopic(c, "reuse");
    // 24 batches of ~197 KB, each read into a 256 KiB pooled buffer that its batch fills enough
    // to be kept by the hot tail (4 MiB: sixteen such buffers) instead of copied
    const sent = Array.from({ length: 24 }, (_, i) => bigBatch(1 + i));
    ok(sent.every((b) => b.length > SMALL_FRAME_BYTES && b.length * 2 >= 256 * 1024));
    const before = pool.stats;
    for (const [i, b] of sent.entries()) {
      const r = await produce(c, "reuse", b);
      assertEquals([r.errorCode, r.baseOffset], [ErrorCode.NONE, i * 48]);
      // the tail holds every buffer so far (up to 16): none is idle until it drops one
      assertEquals(pool.idleBytes, i < 16 ? 0 : 256 * 1024, `after batch ${i}`);
    }
    const after = pool.stats;
    // sixteen buffers held by the tail, a seventeenth for the frame that makes it drop the
    // oldest; from then on each frame is read into the buffer the previous one freed
    assertEquals(after.allocated - before.allocated, 17);
    assertEquals(after.reused - before.reused, 7);
    // the first eight from the segment file, the others out of buffers of the tail, some of them
    // reused: all as produced
    const stored = await fetchAll(c, "reuse");
    assertEquals(stored.length, sent.length);
    for (const [i, b] of sent.entries()) assertStored(stored[i], b, `batch ${i}`);
  } finally {
    c.close();
  }
});

Deno.test("frame reuse: over a reused buffer, a bad CRC, a truncated frame and an oversized frame are refused as before and change nothing stored", async () => {
  await using t = await startTestBroker({ socketRequestMaxBytes: 1 << 20 });
  const pool = t.broker.frameBufferPool;
  const c = await RawClient.connect(t.broker.port);
  try {
    await createTopic(c, "hostile");
    const first = bigBatch(10);
    assertEquals((await produce(c, "hostile", first)).errorCode, ErrorCode.NONE);
    assertEquals(pool.idleBytes, 0, "the hot tail keeps the first frame's buffer");

    // a flipped value byte: the CRC-32C no longer matches; its buffer comes back at once
    const corrupt = bigBatch(11);
    corrupt[corrupt.length - 100] ^= 0xff;
    const bad = await produce(c, "hostile", corrupt);
    assertEquals(bad.errorCode, ErrorCode.CORRUPT_MESSAGE);
    ok(pool.idleBytes > 0, "the corrupt frame's buffer is back in the pool");
    const reusedBefore = pool.stats.reused;

    // a batch whose length (CRC fixed) cuts its last record: refused whatever the buffer held
    // behind it (the previous frame's bytes)
    const cut = bigBatch(12);
    const shortened = cut.slice(0, cut.length - 10);
    new DataView(shortened.buffer).setInt32(LENGTH_OFFSET, shortened.length - LOG_OVERHEAD);
    fixCrc(shortened);
    const cutRes = await produce(c, "hostile", shortened);
    assertEquals(cutRes.errorCode, ErrorCode.INVALID_RECORD);
    assertEquals(pool.stats.reused, reusedBefore + 1, "the cut batch was read into it");

    // a frame cut off mid-way on another connection: that connection closes, the buffer is back
    const frame = encodeRequestFrame(
      ProduceRequest,
      9,
      77,
      "cut",
      ProduceRequest.create(produceBody("hostile", 0, bigBatch(13))),
    );
    const idle = pool.idleBytes;
    const d = await RawClient.connect(t.broker.port);
    await d.sendRaw(frame.subarray(0, frame.length - 5000));
    const until = (what: string, done: () => boolean) =>
      waitFor(what, done, { timeoutMs: 5000, intervalMs: 10 });
    await until("the pool lends a buffer", () => pool.idleBytes < idle);
    assertEquals(pool.idleBytes, 0, "the cut-off frame is read into the pooled buffer");
    d.close();
    await until("the buffer back in the pool", () => pool.idleBytes === idle);
    assertEquals(pool.idleBytes, idle, "the cut-off frame gave its buffer back");

    // a frame above socket.request.max.bytes: its connection is refused before any byte is read
    const e = await RawClient.connect(t.broker.port);
    const huge = new Uint8Array(8);
    new DataView(huge.buffer).setInt32(0, (1 << 20) + 1);
    huge[5] = 0; // Produce
    await e.sendRaw(huge);
    await e.expectClosed();
    e.close();

    // what was stored is intact, and the reused buffer still takes good frames
    const second = bigBatch(14);
    const ok2 = await produce(c, "hostile", second);
    assertEquals([ok2.errorCode, ok2.baseOffset], [ErrorCode.NONE, 48]);
    const stored = await fetchAll(c, "hostile");
    assertEquals(stored.length, 2);
    assertStored(stored[0], first, "first batch");
    assertStored(stored[1], second, "second batch");
    ok(t.lines.some((l) => l.includes("larger than socket.request.max.bytes")), t.lines.join("\n"));
  } finally {
    c.close();
  }
});

Deno.test("frame reuse: sixty-four large Produce requests pipelined on one connection (more than MAX_READ_AHEAD_BYTES and the hot tail keep) are all stored byte-identical", async () => {
  await using t = await startTestBroker();
  const pool = t.broker.frameBufferPool;
  const c = await RawClient.connect(t.broker.port);
  try {
    await createTopic(c, "pipelined");
    // the first ~40 frames are read ahead while the tail keeps the buffers of those handled, so
    // only later ones find buffers the tail has dropped
    const sent = Array.from({ length: 64 }, (_, i) => bigBatch(100 + i, 40 + (i % 9)));
    ok(sent.reduce((n, b) => n + b.length, 0) > MAX_READ_AHEAD_BYTES);
    const before = pool.stats;
    // all frames on the wire before the first answer: frames are read ahead while one is handled
    const ids = [];
    for (const b of sent) ids.push(await c.send(ProduceRequest, 9, produceBody("pipelined", 0, b)));
    for (const id of ids) {
      const got = await c.receive(ProduceResponse, 9);
      assertEquals(got.correlationId, id);
      assertEquals(got.body.responses[0].partitionResponses[0].errorCode, ErrorCode.NONE);
    }
    const after = pool.stats;
    ok(after.reused - before.reused > 0, JSON.stringify({ before, after }));
    const stored = await fetchAll(c, "pipelined");
    assertEquals(stored.length, sent.length);
    for (const [i, b] of sent.entries()) assertStored(stored[i], b, `batch ${i}`);
  } finally {
    c.close();
  }
});

Deno.test("frame reuse: pipelined fetches of large batches out of the hot tail, over reused buffers, each answer the bytes stored", async () => {
  await using t = await startTestBroker();
  const pool = t.broker.frameBufferPool;
  const c = await RawClient.connect(t.broker.port);
  try {
    await createTopic(c, "reads");
    const sent = Array.from({ length: 12 }, (_, i) => bigBatch(200 + i, 30 + i));
    for (const b of sent) assertEquals((await produce(c, "reads", b)).errorCode, ErrorCode.NONE);
    const offsets: number[] = [];
    for (let i = 0, o = 0; i < sent.length; o += 30 + i, i++) offsets.push(o);
    const before = pool.stats;
    // three rounds of one fetch per batch, all on the wire before the first answer is read: the
    // answers' writes overlap the next fetches' reads out of the tail
    const ids: number[] = [];
    const want: Uint8Array[] = [];
    for (let round = 0; round < 3; round++) {
      for (const [i, offset] of offsets.entries()) {
        const body = fetchBody([{ topic: "reads", partition: 0, offset, maxBytes: 1 }]);
        ids.push(await c.send(FetchRequest, 12, body));
        want.push(sent[i]);
      }
    }
    for (const [k, id] of ids.entries()) {
      const got = await c.receive(FetchResponse, 12);
      assertEquals(got.correlationId, id);
      const p = got.body.responses[0].partitions[0];
      assertEquals(p.errorCode, ErrorCode.NONE);
      assertStored(p.records!, want[k], `answer ${k}`);
    }
    const after = pool.stats;
    ok(after.reused - before.reused > 0, JSON.stringify({ before, after }));
  } finally {
    c.close();
  }
});

Deno.test("frame reuse: small Produce frames, pipelined and of changing sizes, reuse the connection's spare buffers; every batch is stored byte-identical", async () => {
  await using t = await startTestBroker();
  const c = await RawClient.connect(t.broker.port);
  try {
    await createTopic(c, "small");
    // sizes from 100 B to ~12 KiB, so that a spare is sometimes too small and sometimes larger
    const sent = Array.from(
      { length: 300 },
      (_, i) => bigBatch(1000 + i, 1 + (i * 7) % 12, 100 + (i * 131) % 900),
    );
    ok(sent.every((b) => b.length < SPARE_FRAME_BYTES && b.length < SMALL_FRAME_BYTES));
    // in rounds of twice the read-ahead, all on the wire before the first answer: queued frames
    // each hold a buffer while handled ones give theirs back
    let offset = 0;
    for (let from = 0; from < sent.length; from += 2 * MAX_QUEUED_FRAMES) {
      const round = sent.slice(from, from + 2 * MAX_QUEUED_FRAMES);
      const ids = [];
      for (const b of round) ids.push(await c.send(ProduceRequest, 9, produceBody("small", 0, b)));
      for (const [i, id] of ids.entries()) {
        const got = await c.receive(ProduceResponse, 9);
        assertEquals(got.correlationId, id);
        const r = got.body.responses[0].partitionResponses[0];
        assertEquals([r.errorCode, r.baseOffset], [ErrorCode.NONE, offset], `batch ${from + i}`);
        offset += 1 + ((from + i) * 7) % 12;
      }
    }
    const stored = await fetchAll(c, "small");
    assertEquals(stored.length, sent.length);
    for (const [i, b] of sent.entries()) assertStored(stored[i], b, `batch ${i}`);
  } finally {
    c.close();
  }
});

Deno.test("response buffers: thousands of pipelined answers of changing layouts to a client that reads late are each whole and in order (an answer is never encoded over one still being written)", async () => {
  await using t = await startTestBroker();
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: t.broker.port });
  try {
    const n = 40000;
    // ApiVersions v0-v3: four layouts and lengths, so an answer written over a half-written one
    // shows (answers of one layout differ only in their correlation id)
    const versionOf = (i: number) => i % 4;
    const request = ApiVersionsRequest.create({
      clientSoftwareName: "late",
      clientSoftwareVersion: "1",
    });
    const frames = [];
    for (let i = 0; i < n; i++) {
      frames.push(encodeRequestFrame(ApiVersionsRequest, versionOf(i), i, "late", request));
    }
    const all = new Uint8Array(frames.reduce((k, f) => k + f.length, 0));
    frames.reduce((at, f) => (all.set(f, at), at + f.length), 0);
    await conn.write(all);
    // answers fill the socket buffers while nothing reads them: the broker's writes stall
    // part-way, and the answers it encodes meanwhile must not touch the one being written
    await new Promise((r) => setTimeout(r, 300));
    const firsts = new Map<number, Uint8Array>();
    const buf = new Uint8Array(64 * 1024);
    let pending = new Uint8Array(0);
    let answers = 0;
    while (answers < n) {
      const got = await conn.read(buf);
      if (got === null) throw new Error(`the broker closed after ${answers} answers`);
      const bytes = new Uint8Array(pending.length + got);
      bytes.set(pending);
      bytes.set(buf.subarray(0, got), pending.length);
      let at = 0;
      while (bytes.length - at >= 4) {
        const size = new DataView(bytes.buffer, at).getInt32(0);
        if (bytes.length - at - 4 < size) break;
        const frame = bytes.subarray(at + 4, at + 4 + size);
        assertEquals(new DataView(frame.buffer, frame.byteOffset).getInt32(0), answers);
        ok(size + 4 <= RESPONSE_SCRATCH_BYTES, "the answer fits a response buffer");
        const version = versionOf(answers);
        const first = firsts.get(version);
        if (first === undefined) {
          const answer = decodeBody(ApiVersionsResponse, frame, 4, version);
          assertEquals(answer.errorCode, ErrorCode.NONE);
          ok(answer.apiKeys.length > 10);
          firsts.set(version, frame.slice(4));
        } else {
          // every answer of a version but its correlation id is the same bytes
          ok(
            size - 4 === first.length && frame.subarray(4).every((b, j) => b === first[j]),
            `answer ${answers} (v${version}) differs from the first of its version`,
          );
        }
        answers++;
        at += 4 + size;
      }
      pending = bytes.slice(at);
    }
    assertEquals(firsts.size, 4);
  } finally {
    conn.close();
  }
});

Deno.test("frame reuse: a large Produce frame split across reads at each boundary of its buffer's growth (prefix, API key, MIN_FRAME_CHUNK, ×FRAME_GROWTH steps, the read buffer's size, the last byte) is stored byte-identical", async () => {
  await using t = await startTestBroker();
  const pool = t.broker.frameBufferPool;
  const c = await RawClient.connect(t.broker.port);
  try {
    await createTopic(c, "splits");
    // offsets into the frame (4-byte size prefix included) where the bytes stop until the
    // broker has read what came before: the buffer grows at MIN_FRAME_CHUNK and FRAME_GROWTH
    // times that, and the first bytes arrive through the connection's read buffer (64 KiB)
    const edges = [MIN_FRAME_CHUNK, MIN_FRAME_CHUNK * FRAME_GROWTH, SMALL_FRAME_BYTES];
    edges.push(edges[edges.length - 1] * FRAME_GROWTH);
    const cuts = [1, 3, 4, 5, 6, 7];
    for (const e of edges) cuts.push(e - 1, e, e + 1, e + 3, e + 4, e + 5);
    const sent: Uint8Array[] = [];
    const frames: number[] = [];
    // one frame per cut, then one cut at every edge at once
    const plans: number[][] = cuts.map((cut) => [cut]);
    plans.push([...cuts]);
    for (const [i, plan] of plans.entries()) {
      const batch = bigBatch(300 + i, 80); // ~330 KB: four growth steps past the read buffer
      const frame = encodeRequestFrame(
        ProduceRequest,
        9,
        1000 + i,
        "splits",
        ProduceRequest.create(produceBody("splits", 0, batch)),
      );
      ok(frame.length > plan[plan.length - 1] + 1);
      frames.push(frame.length);
      let at = 0;
      for (const cut of plan) {
        await c.sendRaw(frame.subarray(at, cut));
        at = cut;
        // give the broker time to read what was sent (a pause, not a timing check: any split
        // the kernel makes instead must be handled as well)
        await new Promise((r) => setTimeout(r, 15));
      }
      await c.sendRaw(frame.subarray(at));
      const got = await c.receive(ProduceResponse, 9);
      assertEquals(got.correlationId, 1000 + i);
      const r = got.body.responses[0].partitionResponses[0];
      assertEquals([r.errorCode, r.baseOffset], [ErrorCode.NONE, i * 80], `plan ${plan}`);
      sent.push(batch);
    }
    ok(pool.stats.allocated + pool.stats.reused > 0, JSON.stringify(pool.stats));
    const stored = await fetchAll(c, "splits");
    assertEquals(stored.length, sent.length);
    for (const [i, b] of sent.entries()) assertStored(stored[i], b, `plan ${plans[i]}`);
  } finally {
    c.close();
  }
});
