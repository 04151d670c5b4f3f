// Copyright 2026 the Sluice authors. Apache-2.0 license.
import { deepStrictEqual as assertEquals, rejects, throws } from "node:assert/strict";
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
  const small = new MemoryPool(10);
  small.tryReserve(4);
  throws(() => small.release(5), /Cannot release 5 bytes from the memory pool: only 4 are/);
});
