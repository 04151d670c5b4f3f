// Copyright 2026 the Sluice authors. Apache-2.0 license.
// Requests from many connections served in bounded slices (issue #17). Fairness is asserted as an
// order property (which request was handled before which, in which slice), never by timing:
// in-memory byte streams decide exactly when each connection's bytes arrive.
import { deepStrictEqual as assertEquals, ok } from "node:assert/strict";
import { Connection, type ConnectionInfo } from "./connection.ts";
import { silentLogger } from "./logger.ts";
import {
  IMMEDIATE_REQUESTS,
  loopbackTurn,
  type LoopTurn,
  RequestScheduler,
  SLICE_REQUESTS,
} from "./request_scheduler.ts";
import type { ByteStream } from "./security/tls.ts";

/** An in-memory stream: `push` makes bytes readable; writes are collected; `end` is EOF. */
class MemoryStream implements ByteStream {
  readonly remoteAddr: Deno.NetAddr;
  readonly written: Uint8Array[] = [];
  #chunks: Uint8Array[] = [];
  #ended = false;
  #wake: (() => void) | null = null;

  constructor(port: number) {
    this.remoteAddr = { transport: "tcp", hostname: "127.0.0.1", port };
  }

  push(bytes: Uint8Array): void {
    this.#chunks.push(bytes);
    this.#wake?.();
  }

  end(): void {
    this.#ended = true;
    this.#wake?.();
  }

  async read(p: Uint8Array): Promise<number | null> {
    while (this.#chunks.length === 0) {
      if (this.#ended) return null;
      await new Promise<void>((r) => this.#wake = r);
      this.#wake = null;
    }
    const c = this.#chunks[0];
    const n = Math.min(p.length, c.length);
    p.set(c.subarray(0, n));
    if (n === c.length) this.#chunks.shift();
    else this.#chunks[0] = c.subarray(n);
    return n;
  }

  write(p: Uint8Array): Promise<number> {
    this.written.push(p.slice());
    return Promise.resolve(p.length);
  }

  close(): void {
    this.end();
  }
}

/** A frame: size prefix, then an 8-byte "header" whose bytes 4-7 are `seq` (big-endian). */
function frame(seq: number): Uint8Array {
  const f = new Uint8Array(12);
  const v = new DataView(f.buffer);
  v.setInt32(0, 8);
  v.setInt32(8, seq);
  return f;
}

function frames(from: number, count: number): Uint8Array {
  const out = new Uint8Array(12 * count);
  for (let i = 0; i < count; i++) out.set(frame(from + i), 12 * i);
  return out;
}

/** The response to a frame: its size prefix and its seq. */
function answer(f: Uint8Array): Uint8Array[] {
  const out = new Uint8Array(8);
  const v = new DataView(out.buffer);
  v.setInt32(0, 4);
  v.setInt32(4, new DataView(f.buffer, f.byteOffset).getInt32(4));
  return [out];
}

function seqOf(f: Uint8Array): number {
  return new DataView(f.buffer, f.byteOffset).getInt32(4);
}

/** Seqs in the responses written to a stream, in write order. */
function answered(s: MemoryStream): number[] {
  const all = s.written.flatMap((c) => [...c]);
  const bytes = new Uint8Array(all);
  const out: number[] = [];
  for (let at = 0; at + 8 <= bytes.length; at += 8) {
    out.push(new DataView(bytes.buffer).getInt32(at + 4));
  }
  return out;
}

const tick = () => new Promise<void>((r) => setTimeout(r, 0));

async function until(what: string, cond: () => boolean): Promise<void> {
  for (let i = 0; i < 20_000; i++) {
    if (cond()) return;
    await tick();
  }
  throw new Error(`never happened: ${what}`);
}

Deno.test("scheduler: a slice admits its first requests at once, later ones wait in order for the next slices", async () => {
  const s = new RequestScheduler({ immediateRequests: 2, sliceRequests: 3 });
  try {
    assertEquals(s.admit(), undefined);
    assertEquals(s.admit(), undefined);
    const order: number[] = [];
    const waits = [0, 1, 2, 3, 4, 5, 6].map((i) => s.admit()!.then(() => order.push(i)));
    assertEquals(s.waiting, 7);
    await Promise.all(waits);
    assertEquals(order, [0, 1, 2, 3, 4, 5, 6]);
    // 7 waiting, at most 3 per slice
    assertEquals(s.stats.slices, 3);
    assertEquals(s.stats, { slices: 3, immediate: 2, deferred: 7 });
  } finally {
    s.close();
  }
});

Deno.test("scheduler: by default a timer turn starts at most 32 waiting requests of many connections", async () => {
  // Deno reads a bounded number of ready sockets per event loop turn; a turn that starts more
  // requests than that starved some of 500 connections (docs/PERFORMANCE.md, issue #17).
  assertEquals(SLICE_REQUESTS, 32);
  const s = new RequestScheduler();
  try {
    for (let c = 1; c <= IMMEDIATE_REQUESTS; c++) assertEquals(s.admit(c), undefined);
    const started: number[] = [];
    const waits = Array.from({ length: 100 }, (_, i) => {
      const c = IMMEDIATE_REQUESTS + 1 + i;
      return s.admit(c)!.then(() => started.push(c));
    });
    // each turn of the event loop's timers starts the next slice's requests
    const perTurn: number[] = [];
    while (started.length < waits.length) {
      const before = started.length;
      await tick();
      perTurn.push(started.length - before);
    }
    assertEquals(perTurn.filter((n) => n > 0), [32, 32, 32, 4]);
    assertEquals(started, Array.from({ length: 100 }, (_, i) => IMMEDIATE_REQUESTS + 1 + i));
  } finally {
    s.close();
  }
});

Deno.test("scheduler: a slice that leaves requests waiting ends with a loop turn, not a timer; one that leaves none with a timer", async () => {
  // a turn the test ends by hand: no timer may start a slice while one is outstanding
  const ends: Array<() => void> = [];
  let opened = 0;
  let closed = 0;
  const turn: LoopTurn = { next: (then) => void ends.push(then), close: () => void closed++ };
  const s = new RequestScheduler({
    immediateRequests: 1,
    sliceRequests: 2,
    openTurn: () => (opened++, Promise.resolve(turn)),
  });
  try {
    assertEquals(s.admit(1), undefined);
    const started: number[] = [];
    const waits = [2, 3, 4, 5, 6, 7, 8].map((c) => s.admit(c)!.then(() => started.push(c)));
    // the first slice ends by timer (the turn opens when a slice first leaves requests waiting)
    while (started.length < 2) await tick();
    assertEquals([started, opened, ends.length], [[2, 3], 1, 0]);
    for (let i = 0; i < 5; i++) await tick(); // the turn opened; timers start nothing more
    while (started.length < 4) await tick();
    assertEquals([started, ends.length], [[2, 3, 4, 5], 1]);
    // a request that asks meanwhile waits for the turn too, not for a timer
    waits.push(s.admit(9)!.then(() => started.push(9)));
    for (let i = 0; i < 5; i++) await tick();
    assertEquals([started, ends.length], [[2, 3, 4, 5], 1]);
    // each turn's end starts the next slice at once
    ends.shift()!();
    await Promise.resolve();
    assertEquals([started, ends.length], [[2, 3, 4, 5, 6, 7], 1]);
    ends.shift()!();
    await Promise.all(waits);
    assertEquals(started, [2, 3, 4, 5, 6, 7, 8, 9]);
    // nothing waits after the last slice: it ended with a timer, and the scheduler went idle
    assertEquals(ends.length, 0);
    await tick();
    assertEquals(s.admit(10), undefined);
  } finally {
    s.close();
  }
  assertEquals(closed, 1);
});

Deno.test("scheduler: the loopback turn starts 32 waiting requests per slice, in order, several slices per timer turn; it closes with the scheduler", async () => {
  const s = new RequestScheduler({ openTurn: loopbackTurn });
  try {
    for (let c = 1; c <= IMMEDIATE_REQUESTS; c++) assertEquals(s.admit(c), undefined);
    const started: number[] = [];
    const slices = new Map<number, number>(); // slice number -> requests it started
    const waits = Array.from({ length: 200 }, (_, i) => {
      const c = IMMEDIATE_REQUESTS + 1 + i;
      return s.admit(c)!.then(() => {
        started.push(c);
        slices.set(s.stats.slices, (slices.get(s.stats.slices) ?? 0) + 1);
      });
    });
    let timerTurns = 0;
    while (started.length < waits.length) {
      await tick();
      timerTurns++;
    }
    await Promise.all(waits);
    assertEquals(started, Array.from({ length: 200 }, (_, i) => IMMEDIATE_REQUESTS + 1 + i));
    assertEquals([...slices.values()], [32, 32, 32, 32, 32, 32, 8]);
    // the first slice ends by timer while the turn opens; later ones by turns, faster than timers
    ok(timerTurns < 7, `${timerTurns} timer turns for 7 slices`);
  } finally {
    s.close(); // the loopback connections too (the test's resource sanitizer checks)
  }
});

Deno.test("scheduler: a lone connection gets up to loneRequests at once; a second connection ends that", async () => {
  const s = new RequestScheduler({ immediateRequests: 2, loneRequests: 5 });
  try {
    for (let i = 0; i < 5; i++) assertEquals(s.admit(7), undefined, `request ${i}`);
    const sixth = s.admit(7); // beyond loneRequests
    ok(sixth !== undefined);
    await sixth;
    // the slice that admitted it from the queue is no lone one: immediateRequests (2) apply
    assertEquals(s.admit(8), undefined);
    ok(s.admit(8) !== undefined, "a third request of a mixed slice must wait");
    await tick();
    await tick();
    await tick();
    // idle again: connection 8 opens a slice, connection 9 joins it: the lone allowance is gone
    assertEquals(s.admit(8), undefined);
    assertEquals(s.admit(9), undefined); // within immediateRequests (2)
    ok(s.admit(8) !== undefined, "a third request of a mixed slice must wait");
  } finally {
    s.close();
  }
});

Deno.test("scheduler: a lone connection that waited keeps loneRequests in the slice that admitted it", async () => {
  const s = new RequestScheduler({ immediateRequests: 2, loneRequests: 5 });
  try {
    for (let i = 0; i < 5; i++) assertEquals(s.admit(7), undefined, `request ${i}`);
    await s.admit(7); // the 6th waits for the next slice, which admits it
    // that slice admitted connection 7's requests only: it is still 7's, up to loneRequests (5)
    for (let i = 0; i < 4; i++) assertEquals(s.admit(7), undefined, `request ${7 + i}`);
    ok(s.admit(7) !== undefined, "the 6th request of the slice must wait");
  } finally {
    s.close();
  }
});

Deno.test("scheduler: once idle (a slice with nothing waiting), requests start at once again", async () => {
  const s = new RequestScheduler({ immediateRequests: 1 });
  try {
    assertEquals(s.admit(), undefined);
    await s.admit(); // the next slice
    await tick(); // a slice that finds nobody waiting
    await tick();
    assertEquals(s.admit(), undefined);
  } finally {
    s.close();
  }
});

Deno.test("scheduler: close admits everything still waiting", async () => {
  const s = new RequestScheduler({ immediateRequests: 1 });
  s.admit();
  const w = [s.admit(), s.admit()];
  s.close();
  await Promise.all(w);
  assertEquals(s.waiting, 0);
});

Deno.test("scheduler: bad sizes are refused", () => {
  for (const bad of [0, -1, 1.5, NaN]) {
    let thrown: unknown;
    try {
      new RequestScheduler({ sliceRequests: bad });
    } catch (e) {
      thrown = e;
    }
    ok(thrown instanceof RangeError, String(bad));
  }
});

/**
 * Two connections on one scheduler: `busy` has 30 requests queued at once, `quiet` sends one
 * request once `busy`'s first has been handled. Returns the handling order as `[conn, seq]`.
 */
async function busyAndQuiet(
  scheduler: RequestScheduler | undefined,
): Promise<{ order: Array<[string, number]>; quietSlice: number; askedSlice: number }> {
  const order: Array<[string, number]> = [];
  const busy = new MemoryStream(1);
  const quiet = new MemoryStream(2);
  let askedSlice = -1;
  let quietSlice = -1;
  const dispatch = (name: string) => (f: Uint8Array, _c: ConnectionInfo) => {
    order.push([name, seqOf(f)]);
    if (name === "busy" && order.length === 1) {
      // the quiet client's request arrives now, in a later task (as a socket read would)
      setTimeout(() => {
        askedSlice = scheduler?.stats.slices ?? -1;
        quiet.push(frame(1000));
      }, 0);
    }
    if (name === "quiet") quietSlice = scheduler?.stats.slices ?? -1;
    return Promise.resolve(answer(f));
  };
  const limits = scheduler ? { scheduler } : {};
  const a = new Connection(busy, 1, 1 << 20, dispatch("busy"), silentLogger, limits);
  const b = new Connection(quiet, 2, 1 << 20, dispatch("quiet"), silentLogger, limits);
  const served = [a.serve(), b.serve()];
  busy.push(frames(0, 30));
  await until("every request handled", () => order.length === 31);
  busy.end();
  quiet.end();
  await Promise.all(served);
  // Kafka's order: each connection's responses in its request order
  assertEquals(answered(busy), Array.from({ length: 30 }, (_, i) => i));
  assertEquals(answered(quiet), [1000]);
  return { order, quietSlice, askedSlice };
}

Deno.test("fairness: a connection with 30 requests queued does not hold another connection's request beyond the next slice", async () => {
  // loneRequests: 1, so that the busy connection, alone until the quiet one's bytes arrive, is
  // held to one request per slice as it would be among many connections
  const scheduler = new RequestScheduler({
    immediateRequests: 1,
    sliceRequests: 2,
    loneRequests: 1,
  });
  try {
    const { order, quietSlice, askedSlice } = await busyAndQuiet(scheduler);
    const quietAt = order.findIndex(([c]) => c === "quiet");
    const busyBefore = order.slice(0, quietAt).length;
    // Handled in the slice after the one it arrived in at the latest...
    ok(
      quietSlice <= askedSlice + 1,
      `quiet handled in slice ${quietSlice}, asked in ${askedSlice}`,
    );
    // ...so at most the busy connection's first request, one per slice until it arrived, and one
    // in the slice it is admitted with, before it.
    ok(busyBefore <= askedSlice + 2, `${busyBefore} busy requests before the quiet one`);
    ok(busyBefore < 30, "the busy connection held the quiet one until it was done");
  } finally {
    scheduler.close();
  }
});

Deno.test("fairness: without a scheduler the busy connection is served to its end first (the problem)", async () => {
  const { order } = await busyAndQuiet(undefined);
  assertEquals(order.findIndex(([c]) => c === "quiet"), 30);
});

Deno.test("ordering: with many connections interleaved and handlers finishing out of order, each connection's responses follow its requests", async () => {
  const scheduler = new RequestScheduler({ immediateRequests: 2, sliceRequests: 5 });
  const streams = Array.from({ length: 20 }, (_, i) => new MemoryStream(i + 1));
  let handled = 0;
  let seed = 7;
  const random = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  const dispatch = async (f: Uint8Array) => {
    // some requests finish after several tasks, some at once
    const waits = Math.floor(random() * 4);
    for (let i = 0; i < waits; i++) await tick();
    handled++;
    return answer(f);
  };
  try {
    const conns = streams.map((s, i) =>
      new Connection(s, i + 1, 1 << 20, dispatch, silentLogger, { scheduler })
    );
    const served = conns.map((c) => c.serve());
    for (let round = 0; round < 5; round++) {
      for (const [i, s] of streams.entries()) s.push(frames(i * 100 + round * 10, 1 + (i % 3)));
      await tick();
    }
    const expected = streams.map((_, i) =>
      Array.from(
        { length: 5 },
        (_, round) => Array.from({ length: 1 + (i % 3) }, (_, k) => i * 100 + round * 10 + k),
      ).flat()
    );
    const total = expected.reduce((n, e) => n + e.length, 0);
    await until("every request handled", () => handled === total);
    for (const s of streams) s.end();
    await Promise.all(served);
    for (const [i, s] of streams.entries()) assertEquals(answered(s), expected[i]);
    ok(scheduler.stats.deferred > 0, "no request ever waited for a slice");
  } finally {
    scheduler.close();
  }
});
