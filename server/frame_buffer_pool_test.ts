// Copyright 2026 the Sluice authors. Apache-2.0 license.
import { deepStrictEqual as assertEquals, ok } from "node:assert/strict";
import { FrameBufferPool, MIN_POOLED_BUFFER } from "./frame_buffer_pool.ts";

Deno.test("frame buffer pool: a given-back buffer is lent again for a frame it holds, as a view of that frame's size", () => {
  const pool = new FrameBufferPool(4 << 20, 2 << 20);
  assertEquals(pool.take(100_000), undefined);
  const a = pool.allocate(300_000);
  assertEquals(a.length, 300_000);
  assertEquals(a.buffer.byteLength, 512 * 1024);
  ok(pool.lent(a));
  pool.give(a);
  ok(!pool.lent(a));
  assertEquals(pool.idleBytes, 512 * 1024);
  assertEquals(pool.take(600_000), undefined); // too small for it
  const b = pool.take(400_000)!;
  assertEquals(b.buffer, a.buffer);
  assertEquals([b.byteOffset, b.length], [0, 400_000]);
  assertEquals(pool.idleBytes, 0);
  assertEquals(pool.stats, { allocated: 1, reused: 1, returned: 1, dropped: 0 });
});

Deno.test("frame buffer pool: the smallest idle buffer that fits is lent", () => {
  const pool = new FrameBufferPool(16 << 20, 4 << 20);
  const big = pool.allocate(3_000_000);
  const small = pool.allocate(200_000);
  const mid = pool.allocate(1_000_000);
  pool.give(big);
  pool.give(small);
  pool.give(mid);
  assertEquals(pool.take(150_000)!.buffer, small.buffer);
  assertEquals(pool.take(150_000)!.buffer, mid.buffer);
  assertEquals(pool.take(150_000)!.buffer, big.buffer);
  assertEquals(pool.take(150_000), undefined);
});

Deno.test("frame buffer pool: idle bytes stay bounded; oversized buffers, foreign views and second gives are ignored", () => {
  const pool = new FrameBufferPool(1 << 20, 1 << 20);
  const huge = pool.allocate(3_000_000);
  assertEquals(huge.buffer.byteLength, 3_000_000); // beyond the largest pooled: its own size
  pool.give(huge);
  assertEquals(pool.idleBytes, 0);
  const x = pool.allocate(600_000); // 1 MiB
  const y = pool.allocate(100_000); // 128 KiB
  assertEquals(y.buffer.byteLength, MIN_POOLED_BUFFER);
  pool.give(x);
  pool.give(y); // over the 1 MiB idle bound: dropped
  pool.give(x); // given back already
  pool.give(new Uint8Array(200_000)); // never lent
  pool.give(x.subarray(0, 10)); // not the view lent
  assertEquals(pool.idleBytes, 1 << 20);
  assertEquals(pool.stats, { allocated: 3, reused: 0, returned: 1, dropped: 2 });
});

Deno.test("frame buffer pool: a retained buffer is lent again only once its frame is given back and every hold released", () => {
  const pool = new FrameBufferPool(4 << 20, 2 << 20);
  const frame = pool.allocate(300_000);
  const a = pool.retain(frame.subarray(1000, 200_000))!;
  const b = pool.retain(frame)!;
  pool.give(frame);
  ok(!pool.lent(frame));
  assertEquals(pool.idleBytes, 0); // held by a and b
  a();
  a(); // a second call changes nothing
  assertEquals(pool.idleBytes, 0); // b still holds it
  assertEquals(pool.take(300_000), undefined);
  b();
  assertEquals(pool.idleBytes, 512 * 1024);
  const again = pool.take(300_000)!;
  assertEquals(again.buffer, frame.buffer);
  b(); // released already: the buffer lent again stays lent
  ok(pool.lent(again));
  // released before the frame is given back: the give puts it back at once
  const c = pool.retain(again)!;
  c();
  assertEquals(pool.idleBytes, 0);
  pool.give(again);
  assertEquals(pool.idleBytes, 512 * 1024);
  assertEquals(pool.stats, { allocated: 1, reused: 1, returned: 2, dropped: 0 });
});

Deno.test("frame buffer pool: only views of frames lent and not given back can be retained", () => {
  const pool = new FrameBufferPool();
  assertEquals(pool.retain(new Uint8Array(300_000)), undefined); // never lent
  const frame = pool.allocate(300_000);
  pool.give(frame);
  assertEquals(pool.retain(frame), undefined); // given back: it may be lent again at any time
  const next = pool.take(300_000)!;
  const hold = pool.retain(next.subarray(10))!;
  pool.give(frame); // the old view of the same buffer: ignored, the buffer stays lent
  ok(pool.lent(next));
  pool.give(next);
  assertEquals(pool.idleBytes, 0);
  hold();
  assertEquals(pool.idleBytes, 512 * 1024);
  const held = pool.take(300_000)!;
  const release = pool.retain(held)!;
  pool.give(held);
  assertEquals(pool.retain(held), undefined); // given back, though still held
  release();
  assertEquals(pool.idleBytes, 512 * 1024);
});
