// Copyright 2026 the Sluice authors. Apache-2.0 license.
import { deepStrictEqual as assertEquals, ok } from "node:assert/strict";
import { HotTail, UNREAD_LIMIT } from "./hot_tail.ts";
import { seededRandom } from "../wasm/testing.ts";

interface Batch {
  position: number;
  bytes: Uint8Array;
  base: number;
  last: number;
}

/** One append's batch layout, in the arguments `HotTail.append` takes. */
interface Span {
  positions: number[];
  bases: number[];
  lasts: number[];
}

/**
 * Cuts `bytes` (written at log `position`) into batches of `sizes`, each of 1-5 records from
 * `offset` on, and records them in `all`.
 *
 * @returns The span's layout and the offset after it.
 */
function lay(
  rnd: () => number,
  bytes: Uint8Array,
  sizes: number[],
  position: number,
  offset: number,
  all: Batch[],
): Span & { next: number } {
  const span: Span = { positions: [], bases: [], lasts: [] };
  let at = 0;
  for (const size of sizes) {
    const count = 1 + Math.floor(rnd() * 5);
    span.positions.push(position + at);
    span.bases.push(offset);
    span.lasts.push(offset + count - 1);
    all.push({
      position: position + at,
      bytes: bytes.slice(at, at + size),
      base: offset,
      last: offset + count - 1,
    });
    offset += count;
    at += size;
  }
  return { ...span, next: offset };
}

/** The tail's bytes are exactly `kept`'s, read whole and (one picked by `rnd`) one by one. */
function assertBytes(tail: HotTail, kept: Batch[], rnd: () => number, label: string): void {
  const whole = tail.copyFrom(0, Infinity, Infinity);
  let p = 0;
  for (const k of kept) {
    ok(
      whole.subarray(p, p + k.bytes.length).every((x, j) => x === k.bytes[j]),
      `${label}: batch at ${k.position} differs`,
    );
    p += k.bytes.length;
  }
  assertEquals(p, whole.length);
  if (kept.length === 0) return;
  const i = Math.floor(rnd() * kept.length);
  const dest = new Uint8Array(kept[i].bytes.length);
  assertEquals(tail.copyInto(i, dest), dest.length);
  assertEquals(dest, kept[i].bytes);
  assertEquals(tail.find(kept[i].last), i);
}

/**
 * Appends spans of random batches (as the log does, one span per append) and checks after each
 * that the tail holds exactly the newest batches that fit, byte for byte: through every growth
 * of its ring (small, then large spans) and every wrap-around.
 */
function check(seed: number, capacity: number, spanSizes: () => number[]): void {
  const rnd = seededRandom(seed);
  const start = Math.floor(rnd() * 1_000_000);
  const tail = new HotTail(capacity, start);
  const all: Batch[] = [];
  let position = start;
  let offset = 0;
  for (let append = 0; append < 90; append++) {
    const sizes = spanSizes();
    const bytes = new Uint8Array(sizes.reduce((a, b) => a + b, 0));
    for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(rnd() * 256);
    const { positions, bases, lasts, next } = lay(rnd, bytes, sizes, position, offset, all);
    offset = next;
    tail.touch(); // read all along (a tail nobody reads empties itself: tested below)
    tail.append(bytes, positions, sizes, bases, lasts);
    position += bytes.length;
    assertEquals(tail.end, position);
    // the tail holds a suffix of the batches: the newest ones within its capacity
    const held = tail.count;
    if (bytes.length > capacity) {
      assertEquals(held, 0);
      continue;
    }
    const kept = all.slice(all.length - held);
    ok(kept[0].position >= position - capacity, `append ${append}: holds more than capacity`);
    const before = all[all.length - held - 1];
    if (before !== undefined) {
      ok(before.position < position - capacity, `append ${append}: dropped a batch that fits`);
    }
    assertEquals(tail.start, kept[0].position);
    assertEquals(tail.firstOffset, kept[0].base);
    for (let i = 0; i < held; i++) {
      const b = tail.batchAt(i);
      assertEquals([b.position, b.size, b.baseOffset, b.lastOffset], [
        kept[i].position,
        kept[i].bytes.length,
        kept[i].base,
        kept[i].last,
      ]);
    }
    assertBytes(tail, kept, rnd, `append ${append}`);
  }
}

Deno.test("hot tail: holds the newest batches byte for byte through growth and wrap-around", () => {
  for (let seed = 1; seed <= 24; seed++) {
    const rnd = seededRandom(seed * 31);
    // small batches first (the ring starts at 4 KiB), then larger ones, now and then a span far
    // larger than the ring (it grows past four times at once); a capacity no power of two
    let n = 0;
    check(seed, 60_000 + seed * 997, () => {
      n++;
      if (rnd() < 0.08) return [5000 + Math.floor(rnd() * 20_000)];
      const count = 1 + Math.floor(rnd() * 4);
      const max = n < 30 ? 300 : n < 60 ? 3000 : 12_000;
      return Array.from({ length: count }, () => 70 + Math.floor(rnd() * max));
    });
  }
});

Deno.test("hot tail: one span larger than the capacity empties it; the next ones fill it again", () => {
  const rnd = seededRandom(7);
  let n = 0;
  check(7, 16 * 1024, () => {
    n++;
    if (n % 17 === 0) return [20_000];
    return [100 + Math.floor(rnd() * 5000)];
  });
});

/**
 * As `check`, with some spans kept as views of buffers of their own (`KeepBytes`), as the broker
 * keeps large Produce batches in their pooled frames: after each append the tail holds the newest
 * batches byte for byte, a kept buffer is released exactly when the tail drops its last batch
 * (and scribbled over then, as the pool reusing it would), kept buffers pin at most the capacity,
 * and `dispose` releases the rest.
 */
function checkKept(seed: number, capacity: number): void {
  const rnd = seededRandom(seed);
  const start = Math.floor(rnd() * 1_000_000);
  const tail = new HotTail(capacity, start);
  const all: Batch[] = [];
  const spans: { end: number; buffer: Uint8Array; kept: boolean; released: number }[] = [];
  let position = start;
  let offset = 0;
  for (let append = 0; append < 120; append++) {
    const big = rnd() < 0.6;
    const count = big ? 1 + Math.floor(rnd() * 3) : 1 + Math.floor(rnd() * 4);
    // now and then one span larger than the capacity: it empties the tail
    const sizes = append % 29 === 28 ? [capacity + 1000] : Array.from(
      { length: count },
      () => big ? 2000 + Math.floor(rnd() * 9000) : 70 + Math.floor(rnd() * 900),
    );
    const length = sizes.reduce((a, b) => a + b, 0);
    // a buffer the span fills by 40-100%: below half it must be copied, not kept
    const buffer = new Uint8Array(Math.ceil(length / (0.4 + rnd() * 0.6)));
    const at0 = Math.floor(rnd() * (buffer.length - length + 1));
    const bytes = buffer.subarray(at0, at0 + length);
    for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(rnd() * 256);
    const { positions, bases, lasts, next } = lay(rnd, bytes, sizes, position, offset, all);
    offset = next;
    const span = { end: position + length, buffer, kept: false, released: 0 };
    spans.push(span);
    const offered = big && rnd() < 0.8;
    tail.touch();
    tail.append(
      bytes,
      positions,
      sizes,
      bases,
      lasts,
      offered
        ? () => {
          span.kept = true;
          return () => {
            span.released++;
            span.buffer.fill(0xee); // the pool lends it to the next frame
          };
        }
        : undefined,
    );
    position += length;
    if (span.kept) ok(length * 2 >= buffer.length, `append ${append}: kept a sparse buffer`);
    ok(tail.keptBytes <= capacity, `append ${append}: kept ${tail.keptBytes} > ${capacity}`);
    const held = tail.count;
    const kept = all.slice(all.length - held);
    if (held > 0) ok(kept[0].position >= position - capacity);
    for (const s of spans) {
      const dropped = held === 0 || s.end <= kept[0].position;
      assertEquals(s.released, s.kept && dropped ? 1 : 0, `append ${append}: span ending ${s.end}`);
    }
    assertBytes(tail, kept, rnd, `append ${append}`);
  }
  ok(spans.some((s) => s.kept) && spans.some((s) => s.released > 0));
  tail.dispose();
  assertEquals(tail.count, 0);
  assertEquals(tail.keptBytes, 0);
  for (const s of spans) assertEquals(s.released, s.kept ? 1 : 0);
}

Deno.test("hot tail: spans kept as views of their buffers are read byte for byte among copied ones, and released exactly when dropped", () => {
  for (let seed = 1; seed <= 24; seed++) checkKept(seed, 40_000 + seed * 1_231);
});

Deno.test("hot tail: nobody reading it, it empties itself after UNREAD_LIMIT times its capacity, releasing what it kept; a read fills it again", () => {
  const cap = 10_000;
  const tail = new HotTail(cap, 0);
  const released: number[] = [];
  let offset = 0;
  const append = (size: number, keep = false) => {
    const buffer = new Uint8Array(size);
    buffer.fill(offset & 0xff);
    const at = tail.end;
    tail.append(
      buffer,
      [at],
      [size],
      [offset],
      [offset],
      keep ? () => () => released.push(at) : undefined,
    );
    offset++;
    return at;
  };
  const first = append(3000, true);
  while (tail.end < UNREAD_LIMIT * cap) append(1000); // UNREAD_LIMIT × cap in all
  assertEquals(tail.end, UNREAD_LIMIT * cap);
  ok(tail.count > 0, "still held at exactly the limit");
  assertEquals(released, [first]); // dropped for space, as any batch
  const kept = append(3000, true);
  assertEquals(tail.count, 0, "emptied past the limit");
  assertEquals(released, [first]); // not kept at all: copied nowhere, nothing to release
  assertEquals(tail.keptBytes, 0);
  append(500);
  assertEquals(tail.count, 0);
  assertEquals(tail.start, tail.end);
  // a reader comes: the next appends are held again, from the log end
  tail.touch();
  const again = append(2000, true);
  append(700);
  assertEquals([tail.count, tail.start, tail.firstOffset], [2, again, offset - 2]);
  const bytes = tail.copyFrom(0, Infinity, Infinity);
  assertEquals(bytes.length, 2700);
  ok(bytes.subarray(0, 2000).every((b) => b === ((offset - 2) & 0xff)));
  ok(kept < again);
  tail.dispose();
  assertEquals(released, [first, again]);
});
