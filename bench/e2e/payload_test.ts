// Copyright 2026 the Sluice authors. Apache-2.0 license.
import assert from "node:assert/strict";
import {
  cpuSeconds,
  makeValue,
  percentiles,
  readStamp,
  SeqTracker,
  stampValue,
} from "./payload.ts";

Deno.test("payload: stamp round-trips times beyond 32 bits and large sequence numbers", () => {
  const v = makeValue(100);
  assert.equal(v.length, 100);
  assert.equal(String.fromCharCode(v[16], v[17]), "qr");
  stampValue(v, 1_795_550_000_123_456, 2 ** 40 + 7);
  assert.deepEqual(readStamp(v), { micros: 1_795_550_000_123_456, seq: 2 ** 40 + 7 });
  // The header is little-endian 64-bit, like rdkafka_perf.c.
  assert.equal(new DataView(v.buffer).getBigUint64(0, true), 1_795_550_000_123_456n);
  assert.equal(readStamp(new Uint8Array(15)), null);
  assert.equal(readStamp(null), null);
  assert.throws(() => makeValue(15), /record value: size 15 is invalid: at least 16 bytes/);
});

Deno.test("payload: percentiles take the nearest rank below", () => {
  const lat = Float64Array.from({ length: 1000 }, (_, i) => 1000 - i);
  assert.deepEqual(percentiles(lat), { p50Us: 500, p99Us: 990, p999Us: 999, maxUs: 1000 });
  assert.deepEqual(percentiles(new Float64Array(0)), {
    p50Us: -1,
    p99Us: -1,
    p999Us: -1,
    maxUs: -1,
  });
});

Deno.test("payload: SeqTracker counts distinct, duplicate and foreign records", () => {
  const t = new SeqTracker(3);
  t.start();
  const v = makeValue(16);
  for (const seq of [0, 2, 2, 5]) {
    stampValue(v, 100, seq);
    t.add(v, 150);
  }
  t.add(new Uint8Array(4), 150);
  assert.equal(t.done, false);
  stampValue(v, 100, 1);
  t.add(v, 400);
  assert.equal(t.done, true);
  const s = t.stats();
  assert.deepEqual(
    [s.records, s.consumed, s.unique, s.duplicates, s.foreign, s.p50Us, s.maxUs],
    [3, 5, 3, 1, 2, 50, 300],
  );
});

Deno.test("payload: SeqTracker counts this process's CPU from start() on", () => {
  const t = new SeqTracker(1);
  assert.equal(t.stats().cpuSeconds, 0); // not started
  t.start();
  const before = cpuSeconds();
  let x = 0;
  while (cpuSeconds() - before < 0.02) x++; // burn at least 20 ms of CPU
  const s = t.stats();
  assert.ok(x > 0 && s.cpuSeconds >= 0.02 && s.cpuSeconds < 10, String(s.cpuSeconds));
});
