// Copyright 2026 the Sluice authors. Apache-2.0 license.
import { deepStrictEqual as assertEquals, ok, rejects, throws } from "node:assert/strict";
import { MemoryPool } from "./memory_pool.ts";

Deno.test("MemoryPool grants what fits, queues the rest, wakes waiters on release", async () => {
  const pool = new MemoryPool(100);
  assertEquals(pool.tryReserve(60), true);
  assertEquals(pool.tryReserve(50), false);
  const order: string[] = [];
  const big = pool.reserve(50).then(() => order.push("big"));
  // A smaller request that fits passes the one that does not.
  const small = pool.reserve(30).then(() => order.push("small"));
  await small;
  assertEquals(pool.reserved, 90);
  assertEquals(pool.waiting, 1);
  pool.release(60);
  await big;
  assertEquals(order, ["small", "big"]);
  assertEquals(pool.reserved, 80);
  assertEquals(pool.peak, 90);
  pool.release(80);
  assertEquals(pool.reserved, 0);
  assertEquals(pool.waiting, 0);
});

Deno.test("MemoryPool: a request larger than the pool is granted once the pool is empty", async () => {
  const pool = new MemoryPool(100);
  await pool.reserve(40);
  let bigGranted = false;
  const big = pool.reserve(250).then(() => (bigGranted = true));
  // While it waits nothing else is granted, so the pool drains for it.
  assertEquals(pool.tryReserve(10), false);
  let afterGranted = false;
  const after = pool.reserve(10).then(() => (afterGranted = true));
  await Promise.resolve();
  assertEquals([bigGranted, afterGranted], [false, false]);
  pool.release(40);
  await big;
  assertEquals(pool.reserved, 250);
  assertEquals(afterGranted, false);
  pool.release(250);
  await after;
  assertEquals(pool.reserved, 10);
  assertEquals(pool.peak, 250);
  pool.release(10);
  pool.resetPeak();
  assertEquals(pool.peak, 0);
});

Deno.test("MemoryPool: an aborted wait reserves nothing and unblocks the others", async () => {
  const pool = new MemoryPool(100);
  await pool.reserve(90);
  const ctl = new AbortController();
  const big = pool.reserve(500, ctl.signal);
  const small = pool.reserve(5);
  assertEquals(pool.waiting, 2);
  ctl.abort(new Error("connection closed"));
  await rejects(big, /connection closed/);
  await small;
  assertEquals(pool.reserved, 95);
  assertEquals(pool.waiting, 0);
  await rejects(pool.reserve(50, AbortSignal.abort(new Error("gone"))), /gone/);
  assertEquals(pool.reserved, 95);
  pool.release(95);
});

Deno.test("MemoryPool: -1 is unbounded; bad capacities and over-release are refused", () => {
  const pool = new MemoryPool(-1);
  assertEquals(pool.capacity, Infinity);
  assertEquals(pool.tryReserve(2 ** 40), true);
  pool.release(2 ** 40);
  throws(() => new MemoryPool(0), /Invalid memory pool capacity 0: must be a positive/);
  throws(() => new MemoryPool(1.5), /Invalid memory pool capacity 1.5/);
  throws(() => new MemoryPool(-2), /Invalid memory pool capacity -2/);
  assertEquals(pool.partialCapacity, Infinity);
  assertEquals(new MemoryPool(101).partialCapacity, 50);
  assertEquals(new MemoryPool(100, { partialCapacity: 0 }).partialCapacity, 0);
  throws(
    () => new MemoryPool(100, { partialCapacity: 101 }),
    /Invalid memory pool partial capacity 101: must be an integer from 0 to 100/,
  );
  const small = new MemoryPool(10);
  small.tryReserve(4);
  throws(() => small.release(5), /Cannot release 5 bytes from the memory pool: only 4 are/);
});

Deno.test("MemoryPool.openFrame: a prefix costs nothing; a frame holds what it grew by, then counts as a whole request", async () => {
  const pool = new MemoryPool(1000);
  assertEquals(pool.partialCapacity, 500);
  const f = pool.openFrame(400);
  assertEquals([pool.reserved, pool.partial, pool.openFrames, f.held], [0, 0, 1, 0]);
  assertEquals(f.tryGrow(100), true);
  await f.grow(300);
  assertEquals([pool.reserved, pool.partial, f.held], [400, 400, 400]);
  throws(() => f.tryGrow(1), /Cannot grow a frame by 1 bytes: it holds 400 of 400/);
  f.complete();
  assertEquals([pool.reserved, pool.partial, pool.openFrames], [400, 0, 0]);
  throws(() => f.complete(), /no longer open/);
  throws(() => f.tryGrow(1), /Cannot grow a frame: it is no longer open/);
  f.abandon(); // no effect once complete
  assertEquals(pool.reserved, 400);
  pool.release(400);
  assertEquals(pool.reserved, 0);
  const g = pool.openFrame(50);
  throws(() => g.complete(), /Cannot complete a frame holding 0 of 50 bytes/);
  g.tryGrow(20);
  // Only a whole request's bytes can be released; the frame gives its own back.
  throws(() => pool.release(20), /Cannot release 20 bytes from the memory pool: only 0 are/);
  g.abandon();
  assertEquals([pool.reserved, pool.partial, pool.openFrames], [0, 0, 0]);
});

Deno.test("MemoryPool: incomplete frames share half the pool; whole requests always find the other half", async () => {
  const pool = new MemoryPool(1000);
  const [a, b, c] = [pool.openFrame(400), pool.openFrame(400), pool.openFrame(400)];
  // Stalled clients: each holds part of a frame.
  assertEquals(a.tryGrow(250), true);
  assertEquals(b.tryGrow(100), true);
  // The share has room, but then neither a (150 to go) nor b could be sure to finish.
  assertEquals(c.tryGrow(1), false);
  const waiting = c.grow(50);
  // Whole requests are served from the rest of the pool, at least half of it.
  assertEquals(pool.tryReserve(300), true);
  await pool.reserve(200);
  assertEquals(pool.tryReserve(150), true);
  assertEquals([pool.reserved, pool.partial, pool.waiting], [1000, 350, 1]);
  pool.release(650);
  // A stalled frame is closed (the read timeout): the waiting one grows.
  a.abandon();
  await waiting;
  assertEquals([pool.reserved, pool.partial, c.held], [150, 150, 50]);
  b.abandon();
  c.abandon();
  assertEquals([pool.reserved, pool.partial, pool.waiting], [0, 0, 0]);
});

Deno.test("MemoryPool: a frame grows only if every frame can still complete (no deadlock)", async () => {
  // Share 128: two frames of 100 could each hold 64 and wait for each other forever.
  const pool = new MemoryPool(256);
  assertEquals(pool.partialCapacity, 128);
  const a = pool.openFrame(100);
  const b = pool.openFrame(100);
  assertEquals(a.tryGrow(64), true);
  assertEquals(b.tryGrow(16), true); // a can still finish (36 ≤ 48 free), then b
  // 32 more would fit the share (112 ≤ 128), but then neither could finish: 36 > 16, 68 > 16.
  assertEquals(b.tryGrow(16), false);
  let bGrew = false;
  const bWaits = b.grow(16).then(() => (bGrew = true));
  // A frame that holds nothing yet waits behind it (it cannot overtake forever).
  const c = pool.openFrame(10);
  assertEquals(c.tryGrow(1), false);
  await a.grow(36);
  await Promise.resolve();
  assertEquals(bGrew, false);
  a.complete(); // its bytes now count as a whole request; the share is free for b
  await bWaits;
  assertEquals([pool.partial, b.held], [32, 32]);
  await b.grow(68);
  b.complete();
  await c.grow(10);
  c.complete();
  pool.release(100);
  pool.release(100);
  pool.release(10);
  assertEquals([pool.reserved, pool.partial, pool.waiting, pool.openFrames], [0, 0, 0, 0]);
});

Deno.test("MemoryPool: a frame larger than the share or the pool is read when alone", async () => {
  const pool = new MemoryPool(100);
  await pool.reserve(30); // a whole request being handled
  const big = pool.openFrame(250);
  assertEquals(big.tryGrow(40), true);
  // Past the share (50) only while it is the only frame holding memory.
  assertEquals(big.tryGrow(20), true);
  const other = pool.openFrame(10);
  assertEquals(other.tryGrow(1), false); // it could never complete while `big` overshoots
  let grown = false;
  const growing = big.grow(190).then(() => (grown = true)); // past the pool: waits to be alone
  // While it waits, no new request or frame is admitted, so the pool drains.
  assertEquals(pool.tryReserve(1), false);
  await Promise.resolve();
  assertEquals(grown, false);
  pool.release(30);
  await growing;
  assertEquals([pool.reserved, pool.partial, big.held], [250, 250, 250]);
  big.complete();
  const otherGrows = other.grow(10);
  pool.release(250);
  await otherGrows;
  other.complete();
  pool.release(10);
  assertEquals([pool.reserved, pool.peak], [0, 250]);
});

Deno.test("MemoryPool: abandoning a frame or aborting its wait gives everything back", async () => {
  const pool = new MemoryPool(200);
  const a = pool.openFrame(60);
  const b = pool.openFrame(100);
  assertEquals(a.tryGrow(60), true);
  assertEquals(b.tryGrow(20), true);
  const ctl = new AbortController();
  const aborted = b.grow(40, ctl.signal);
  const orphan = b.grow(30); // no signal: rejected when the frame is abandoned
  ctl.abort(new Error("connection closed"));
  await rejects(aborted, /connection closed/);
  assertEquals(b.held, 20);
  b.abandon();
  await rejects(orphan, /Cannot grow a frame: it was abandoned/);
  a.abandon();
  assertEquals([pool.reserved, pool.partial, pool.waiting, pool.openFrames], [0, 0, 0, 0]);
});

Deno.test("MemoryPool: random frames and requests never deadlock and stay within their bounds", () => {
  // Seeded and bounded: 200 rounds of up to 12 frames competing for a small pool.
  let seed = 0x5eed;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return (seed >>> 8) % n;
  };
  for (let round = 0; round < 200; round++) {
    const capacity = 64 + rand(512);
    const pool = new MemoryPool(capacity);
    const open = new Set<ReturnType<MemoryPool["openFrame"]>>();
    let started = 0;
    const total = 1 + rand(12);
    for (let step = 0; step < 10_000 && (started < total || open.size > 0); step++) {
      if (started < total && rand(3) === 0) {
        open.add(pool.openFrame(1 + rand(capacity)));
        started++;
      }
      // Every frame tries to receive a few more bytes; at least one must be able to.
      let progressed = open.size === 0;
      for (const f of [...open]) {
        const want = Math.min(f.size - f.held, 1 + rand(64));
        if (want > 0 && !f.tryGrow(want)) continue;
        progressed = true;
        if (f.held === f.size) {
          f.complete();
          open.delete(f);
          pool.release(f.size); // handled and answered
        }
      }
      if (!progressed) throw new Error(`round ${round}: deadlock with ${open.size} frames`);
      const holding = [...open].filter((f) => f.held > 0).length;
      ok(pool.partial <= pool.partialCapacity || holding === 1, `round ${round}: share exceeded`);
      ok(pool.reserved <= pool.capacity || pool.reserved === pool.partial);
    }
    assertEquals([open.size, pool.reserved, pool.partial], [0, 0, 0], `round ${round}`);
  }
});
