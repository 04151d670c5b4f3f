// Copyright 2026 the Sluice authors. Apache-2.0 license.
import assert from "node:assert/strict";
import { BatchStatus, crc32c, OffsetIndexBuffer, scanBatches, TimeIndexBuffer } from "./mod.ts";
import { referenceOffsetIndexLookup, referenceTimeIndexLookup } from "./reference.ts";
import { buildBatch, concatBytes, seededRandom } from "./testing.ts";

Deno.test("OffsetIndexBuffer.lookup() equals the reference on random indexes", () => {
  const rnd = seededRandom(31);
  for (let round = 0; round < 1000; round++) {
    const index = new OffsetIndexBuffer(1 + Math.floor(rnd() * 4)); // forces growth
    const n = Math.floor(rnd() * 300);
    let rel = Math.floor(rnd() * 5);
    for (let i = 0; i < n; i++) {
      index.append(rel, i * 4096);
      rel += 1 + Math.floor(rnd() * (rnd() < 0.1 ? 100_000 : 20));
    }
    assert.equal(index.entries, n);
    const bytes = index.toBytes();
    assert.equal(bytes.length, n * 8);
    for (let k = 0; k < 60; k++) {
      const target = Math.floor(rnd() * (rel + 10)) - 5;
      const slot = index.lookup(target);
      assert.equal(slot, referenceOffsetIndexLookup(bytes, target), `target ${target}`);
      if (slot >= 0) {
        assert.ok(index.relativeOffsetAt(slot) <= target);
        assert.equal(index.positionAt(slot), slot * 4096);
      }
      if (slot + 1 < n) assert.ok(index.relativeOffsetAt(slot + 1) > target);
    }
    index.free();
  }
});

Deno.test("OffsetIndexBuffer keeps Kafka's on-disk layout and round-trips through load()", () => {
  const index = new OffsetIndexBuffer(2);
  index.append(0, 0);
  index.append(0x01020304, 0xa0b0c0d0);
  index.append(0xfffffffe, 7);
  assert.deepEqual(
    Array.from(index.toBytes()),
    [
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      1,
      2,
      3,
      4,
      0xa0,
      0xb0,
      0xc0,
      0xd0,
      0xff,
      0xff,
      0xff,
      0xfe,
      0,
      0,
      0,
      7,
    ],
  );
  assert.equal(index.lookup(0x01020303), 0);
  assert.equal(index.lookup(0xfffffffe), 2);
  assert.equal(index.lookup(2 ** 40), 2);
  assert.equal(index.lookup(-1), -1);
  const copy = new OffsetIndexBuffer(1);
  copy.load(index.toBytes());
  assert.equal(copy.entries, 3);
  assert.equal(copy.positionAt(1), 0xa0b0c0d0);
  copy.truncateEntries(1);
  assert.equal(copy.entries, 1);
  assert.equal(copy.lookup(0xffffffff), 0);
  copy.truncateEntries(5); // more than present: keeps all
  assert.equal(copy.entries, 1);
  copy.append(5, 9);
  assert.deepEqual(Array.from(copy.toBytes()), [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 9]);
  const empty = new OffsetIndexBuffer();
  assert.equal(empty.lookup(10), -1);
  index.free();
  copy.free();
  empty.free();
});

Deno.test("OffsetIndexBuffer rejects misuse with clear errors", () => {
  const index = new OffsetIndexBuffer();
  index.append(10, 0);
  assert.throws(() => index.append(10, 1), {
    name: "RangeError",
    message: "OffsetIndexBuffer: append of relative offset 10 after 10: offsets must increase",
  });
  assert.throws(() => index.append(2 ** 32, 1), { name: "RangeError" });
  assert.throws(() => index.append(11, -1), { name: "RangeError" });
  assert.throws(() => index.positionAt(1), {
    message: "OffsetIndexBuffer: slot 1 out of range [0, 1)",
  });
  assert.throws(() => index.lookup(NaN), { name: "RangeError" });
  assert.throws(() => index.load(new Uint8Array(12)), {
    message: "OffsetIndexBuffer: load needs a multiple of 8 bytes, got 12",
  });
  assert.throws(() => index.truncateEntries(-1), { name: "RangeError" });
  assert.throws(() => new OffsetIndexBuffer(0), { name: "RangeError" });
  index.free();
  index.free(); // harmless
  assert.throws(() => index.lookup(1), { message: "OffsetIndexBuffer: used after free()" });
  assert.throws(() => index.append(20, 0), { message: "OffsetIndexBuffer: used after free()" });
});

Deno.test("TimeIndexBuffer.lookup() equals the reference on random indexes", () => {
  const rnd = seededRandom(32);
  for (let round = 0; round < 1000; round++) {
    const index = new TimeIndexBuffer(1);
    const n = Math.floor(rnd() * 300);
    let ts = Math.floor(rnd() * 2 ** 41) - 2 ** 20; // some negative timestamps too
    let rel = 0;
    for (let i = 0; i < n; i++) {
      index.append(ts, rel);
      ts += Math.floor(rnd() * 1000); // duplicates allowed
      rel += Math.floor(rnd() * 10);
    }
    const bytes = index.toBytes();
    assert.equal(bytes.length, n * 12);
    for (let k = 0; k < 60; k++) {
      const target = ts - Math.floor(rnd() * (n * 600 + 10)) + 5;
      const slot = index.lookup(target);
      assert.equal(slot, referenceTimeIndexLookup(bytes, target), `target ${target}`);
      if (slot >= 0) assert.ok(index.timestampAt(slot) <= target);
      if (slot + 1 < n) assert.ok(index.timestampAt(slot + 1) > target);
    }
    assert.equal(index.lookup(Infinity), n - 1);
    assert.equal(index.lookup(-Infinity), -1);
    index.free();
  }
});

Deno.test("TimeIndexBuffer keeps Kafka's on-disk layout and round-trips through load()", () => {
  const index = new TimeIndexBuffer();
  index.append(0x0102030405, 7);
  index.append(0x0102030406, 9);
  assert.deepEqual(
    Array.from(index.toBytes()),
    [0, 0, 0, 1, 2, 3, 4, 5, 0, 0, 0, 7, 0, 0, 0, 1, 2, 3, 4, 6, 0, 0, 0, 9],
  );
  const copy = new TimeIndexBuffer(1);
  copy.load(index.toBytes());
  assert.equal(copy.entries, 2);
  assert.equal(copy.timestampAt(1), 0x0102030406);
  assert.equal(copy.relativeOffsetAt(1), 9);
  assert.equal(copy.lookup(0x0102030405), 0);
  assert.throws(() => copy.load(new Uint8Array(8)), {
    message: "TimeIndexBuffer: load needs a multiple of 12 bytes, got 8",
  });
  assert.throws(() => copy.append(0x0102030400, 10), { name: "RangeError" });
  assert.throws(() => copy.append(0x0102030407, 8), { name: "RangeError" });
  index.free();
  copy.free();
  assert.throws(() => copy.timestampAt(0), { message: "TimeIndexBuffer: used after free()" });
});

Deno.test("index buffers survive WASM memory growth and many allocations", () => {
  const indexes = [];
  for (let i = 0; i < 20; i++) {
    const index = new OffsetIndexBuffer(8);
    for (let k = 0; k < 5000; k++) index.append(k * 2 + i, k);
    indexes.push(index);
  }
  for (let i = 0; i < 20; i++) {
    assert.equal(indexes[i].entries, 5000);
    assert.equal(indexes[i].lookup(4001 + i), 2000);
    assert.equal(indexes[i].positionAt(4999), 4999);
  }
  for (const index of indexes) index.free();
});

Deno.test("index buffers and scans stay correct when a large scan grows WASM memory", () => {
  const index = new TimeIndexBuffer(4);
  for (let i = 0; i < 100; i++) index.append(1000 + i, i);
  const before = index.toBytes();
  // 24 MiB of batches: larger than any scratch block so far, so linear memory grows.
  const value = new Uint8Array(1 << 20).fill(7);
  const big = concatBytes(
    Array.from(
      { length: 24 },
      (_, i) => buildBatch({ baseOffset: i, records: [{ key: null, value }] }),
    ),
  );
  const scan = scanBatches(big);
  assert.equal(scan.status, BatchStatus.OK, scan.detail);
  assert.equal(scan.count, 24);
  assert.deepEqual(index.toBytes(), before);
  assert.equal(index.lookup(1050), 50);
  index.append(2000, 100);
  assert.equal(index.lookup(5000), 100);
  assert.equal(crc32c(new TextEncoder().encode("123456789")), 0xe3069283);
  index.free();
});
