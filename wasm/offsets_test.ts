// Copyright 2026 the Sluice authors. Apache-2.0 license.
import assert from "node:assert/strict";
import {
  assignOffsets,
  BatchStatus,
  findBatchPosition,
  scanBatches,
  setBaseOffset,
} from "./mod.ts";
import { referenceFindBatchPosition } from "./reference.ts";
import { buildBatch, concatBytes, seededRandom } from "./testing.ts";

const r = { key: null, value: "v" };

Deno.test("setBaseOffset() rewrites the big-endian field and keeps the batch valid", () => {
  const batch = buildBatch({ baseOffset: 0, records: [r, r] });
  for (const offset of [1, 255, 256, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1, -1]) {
    setBaseOffset(batch, 0, offset);
    const view = new DataView(batch.buffer);
    assert.equal(view.getBigInt64(0), BigInt(offset));
    const scan = scanBatches(batch);
    assert.equal(scan.status, BatchStatus.OK);
    assert.equal(scan.baseOffsets[0], offset);
  }
});

Deno.test("setBaseOffset() rejects bad positions and offsets", () => {
  const batch = buildBatch({ records: [r] });
  const p = batch.length - 60; // leaves no room for a 61-byte header
  assert.throws(() => setBaseOffset(batch, p, 5), {
    name: "RangeError",
    message: `setBaseOffset: invalid position: ${p} (buffer length ${batch.length})`,
  });
  assert.throws(() => setBaseOffset(batch, -1, 5), { name: "RangeError" });
  assert.throws(() => setBaseOffset(batch, 0, 2 ** 53), {
    message: "setBaseOffset: baseOffset must be a safe integer, got 9007199254740992",
  });
  assert.throws(() => setBaseOffset(batch, 0, 1.5), { name: "RangeError" });
});

Deno.test("assignOffsets() numbers batches consecutively and returns the next offset", () => {
  const counts = [3, 1, 5, 2];
  const buf = concatBytes(
    counts.map((n) => buildBatch({ baseOffset: 999, records: new Array(n).fill(r) })),
  );
  const scan = scanBatches(buf);
  assert.equal(scan.status, BatchStatus.OK);
  assert.equal(assignOffsets(buf, scan, 1000), 1011);
  assert.deepEqual(Array.from(scan.baseOffsets.subarray(0, 4)), [1000, 1003, 1004, 1009]);
  const again = scanBatches(buf);
  assert.equal(again.status, BatchStatus.OK);
  assert.deepEqual(Array.from(again.baseOffsets.subarray(0, 4)), [1000, 1003, 1004, 1009]);
  // A compressed batch advances by lastOffsetDelta + 1 (from its header).
  const empty = scanBatches(new Uint8Array(0));
  assert.equal(assignOffsets(new Uint8Array(0), empty, 7), 7);
});

Deno.test("assignOffsets() rejects a bad first offset or a scan of another buffer", () => {
  const buf = buildBatch({ records: [r, r] });
  const scan = scanBatches(buf);
  assert.throws(() => assignOffsets(buf, scan, -1), {
    message: "assignOffsets: firstOffset must be a non-negative safe integer, got -1",
  });
  assert.throws(() => assignOffsets(buf.subarray(0, 20), scan, 0), {
    name: "RangeError",
    message: "assignOffsets: batch 0 at byte 0 lies outside the buffer (length 20)",
  });
});

Deno.test("findBatchPosition() finds the containing or next batch, same as the reference", () => {
  const rnd = seededRandom(21);
  const parts: Uint8Array[] = [];
  const bases: number[] = [];
  let offset = 100;
  for (let i = 0; i < 50; i++) {
    offset += Math.floor(rnd() * 3); // gaps, as after compaction
    const n = 1 + Math.floor(rnd() * 4);
    parts.push(buildBatch({ baseOffset: offset, records: new Array(n).fill(r) }));
    bases.push(offset);
    offset += n;
  }
  const buf = concatBytes(parts);
  const positions: number[] = [];
  let p = 0;
  for (const part of parts) {
    positions.push(p);
    p += part.length;
  }
  for (let target = 90; target <= offset + 2; target++) {
    const got = findBatchPosition(buf, target);
    assert.equal(got, referenceFindBatchPosition(buf, target), `offset ${target}`);
    let want = -1;
    for (let i = 0; i < parts.length; i++) {
      const last = bases[i] + new DataView(parts[i].buffer).getInt32(23);
      if (target <= last) {
        want = positions[i];
        break;
      }
    }
    assert.equal(got, want, `offset ${target}`);
  }
  // Sub-ranges and a torn tail.
  assert.equal(findBatchPosition(buf, 0, positions[3]), positions[3]);
  assert.equal(findBatchPosition(buf, offset - 1, 0, buf.length - 1), -1);
  assert.equal(findBatchPosition(buf.subarray(0, 30), 100), -1);
});

Deno.test("findBatchPosition() rejects bad arguments", () => {
  const buf = new Uint8Array(8);
  assert.throws(() => findBatchPosition(buf, 0, 4, 2), {
    name: "RangeError",
    message: "findBatchPosition: invalid range: start 4, end 2, buffer length 8",
  });
  assert.throws(() => findBatchPosition(buf, NaN), {
    message: "findBatchPosition: offset must be a number, got NaN",
  });
});
