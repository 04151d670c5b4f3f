// Copyright 2026 the Sluice authors. Apache-2.0 license.
import assert from "node:assert/strict";
import { type BatchScan, BatchStatus, batchStatusText, scanBatches } from "./mod.ts";
import { referenceScanBatches } from "./reference.ts";
import {
  buildBatch,
  type BuildBatchOptions,
  concatBytes,
  fixCrc,
  seededRandom,
  type TestRecord,
} from "./testing.ts";

type Rnd = () => number;

function int(rnd: Rnd, lo: number, hi: number): number {
  return lo + Math.floor(rnd() * (hi - lo + 1));
}

function bytes(rnd: Rnd, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = int(rnd, 0, 255);
  return out;
}

function randomRecord(rnd: Rnd): TestRecord {
  const headers = [];
  for (let h = int(rnd, 0, 2); h > 0; h--) {
    headers.push({
      key: bytes(rnd, int(rnd, 0, 6)),
      value: rnd() < 0.2 ? null : bytes(rnd, int(rnd, 0, 9)),
    });
  }
  return {
    key: rnd() < 0.3 ? null : bytes(rnd, int(rnd, 0, 12)),
    value: rnd() < 0.1 ? null : bytes(rnd, rnd() < 0.1 ? int(rnd, 100, 400) : int(rnd, 0, 40)),
    headers,
    timestampDelta: rnd() < 0.5 ? 0 : int(rnd, 0, 2 ** 40),
  };
}

function randomBatchOptions(rnd: Rnd, baseOffset: number): BuildBatchOptions {
  const control = rnd() < 0.05;
  const codec = rnd() < 0.15 ? int(rnd, 1, 4) : 0;
  const records = [];
  for (let n = control ? 1 : int(rnd, codec === 0 ? 0 : 1, 6); n > 0; n--) {
    records.push(randomRecord(rnd));
  }
  return {
    baseOffset,
    records,
    baseTimestamp: int(rnd, 0, 2 ** 42),
    producerId: rnd() < 0.5 ? -1 : int(rnd, 0, 2 ** 50),
    producerEpoch: int(rnd, -1, 32767),
    baseSequence: int(rnd, -1, 2 ** 31 - 1),
    attributes: codec | (rnd() < 0.3 ? 8 : 0) | (rnd() < 0.2 ? 16 : 0) | (control ? 32 : 0),
    partitionLeaderEpoch: int(rnd, -1, 1000),
  };
}

/** Asserts the shared WASM result equals the reference result exactly. */
function assertSameScan(got: BatchScan, want: BatchScan, what: string): void {
  assert.equal(got.status, want.status, `${what}: status (${got.detail} vs ${want.detail})`);
  assert.equal(got.detail, want.detail, `${what}: detail`);
  assert.equal(got.count, want.count, `${what}: count`);
  assert.equal(got.validBytes, want.validBytes, `${what}: validBytes`);
  assert.equal(got.records, want.records, `${what}: records`);
  const columns = [
    "positions",
    "sizes",
    "baseOffsets",
    "lastOffsetDeltas",
    "recordCounts",
    "firstTimestamps",
    "maxTimestamps",
    "attributes",
    "producerIds",
    "producerEpochs",
    "baseSequences",
  ] as const;
  for (const c of columns) {
    assert.deepEqual(
      Array.from(got[c].subarray(0, got.count)),
      Array.from(want[c]),
      `${what}: ${c}`,
    );
  }
}

function zz(v: number): number[] {
  let z = ((v << 1) ^ (v >> 31)) >>> 0;
  const out = [];
  while (z >= 0x80) {
    out.push((z & 0x7f) | 0x80);
    z >>>= 7;
  }
  out.push(z);
  return out;
}

/** A record from raw body bytes, prefixed with its (zigzag varint) length. */
function rec(body: number[], length = body.length): number[] {
  return [...zz(length), ...body];
}

/** A batch around raw record bytes (with a correct CRC unless told otherwise). */
function rawBatch(
  records: number[],
  count: number,
  opts: { attributes?: number; lastOffsetDelta?: number } = {},
): Uint8Array {
  const out = new Uint8Array(61 + records.length);
  const dv = new DataView(out.buffer);
  dv.setInt32(8, 49 + records.length);
  dv.setInt32(12, -1);
  out[16] = 2;
  dv.setInt16(21, opts.attributes ?? 0);
  dv.setInt32(23, opts.lastOffsetDelta ?? count - 1);
  dv.setBigInt64(43, -1n);
  dv.setInt16(51, -1);
  dv.setInt32(53, -1);
  dv.setInt32(57, count);
  out.set(records, 61);
  fixCrc(out);
  return out;
}

/** Body of a simple record: attributes 0, timestampDelta 0, offsetDelta, null key, value "v". */
function body(offsetDelta: number): number[] {
  return [0, 0, ...zz(offsetDelta), ...zz(-1), ...zz(1), 0x76, 0];
}

Deno.test("scanBatches() accepts thousands of random valid batches, same as the reference", () => {
  const rnd = seededRandom(11);
  let batches = 0;
  for (let round = 0; round < 600; round++) {
    const opts: BuildBatchOptions[] = [];
    let offset = int(rnd, 0, 2 ** 40);
    for (let n = int(rnd, 1, 8); n > 0; n--) {
      const o = randomBatchOptions(rnd, offset);
      opts.push(o);
      offset += Math.max(1, o.records.length);
    }
    const parts = opts.map(buildBatch);
    const buf = concatBytes(parts);
    const got = scanBatches(buf);
    assertSameScan(got, referenceScanBatches(buf), `round ${round}`);
    assert.equal(got.status, BatchStatus.OK, got.detail);
    assert.equal(got.count, opts.length);
    assert.equal(got.validBytes, buf.length);
    let pos = 0;
    for (let i = 0; i < opts.length; i++) {
      const o = opts[i];
      assert.equal(got.positions[i], pos);
      assert.equal(got.sizes[i], parts[i].length);
      assert.equal(got.baseOffsets[i], o.baseOffset);
      assert.equal(got.recordCounts[i], o.records.length);
      assert.equal(got.lastOffsetDeltas[i], o.records.length - 1);
      assert.equal(got.firstTimestamps[i], o.baseTimestamp);
      assert.equal(got.producerIds[i], o.producerId);
      assert.equal(got.producerEpochs[i], o.producerEpoch);
      assert.equal(got.baseSequences[i], o.baseSequence);
      assert.equal(got.attributes[i], o.attributes);
      pos += parts[i].length;
    }
    batches += opts.length;
  }
  assert.ok(batches > 2000);
});

Deno.test("scanBatches() rejects every single flipped byte except baseOffset and leader epoch", () => {
  const rnd = seededRandom(12);
  let checked = 0;
  for (let b = 0; b < 150; b++) {
    const batch = buildBatch(randomBatchOptions(rnd, int(rnd, 0, 1000)));
    for (let i = 0; i < batch.length; i++) {
      const copy = batch.slice();
      copy[i] ^= int(rnd, 1, 255);
      const got = scanBatches(copy);
      assertSameScan(got, referenceScanBatches(copy), `batch ${b} byte ${i}`);
      if (i < 8 || (i >= 12 && i < 16)) {
        // baseOffset and partitionLeaderEpoch are outside the CRC: legitimately accepted.
        assert.equal(got.status, BatchStatus.OK, `byte ${i}: ${got.detail}`);
        assert.equal(got.count, 1);
      } else {
        assert.notEqual(got.status, BatchStatus.OK, `byte ${i} flip was accepted`);
        assert.equal(got.count, 0);
        assert.equal(got.validBytes, 0);
        if (i === 16) assert.equal(got.status, BatchStatus.BAD_MAGIC);
        if (i >= 17) assert.equal(got.status, BatchStatus.BAD_CRC, got.detail);
        if (i >= 8 && i < 12) {
          assert.ok(
            [BatchStatus.BAD_LENGTH, BatchStatus.TRUNCATED, BatchStatus.BAD_CRC].includes(
              got.status as 1,
            ),
            got.detail,
          );
        }
      }
      checked++;
    }
  }
  assert.ok(checked > 10_000);
});

Deno.test("scanBatches() agrees with the reference on corruption behind a valid CRC", () => {
  const rnd = seededRandom(13);
  const seen = new Set<number>();
  for (let round = 0; round < 4000; round++) {
    const batch = buildBatch(randomBatchOptions(rnd, 0));
    for (let k = int(rnd, 1, 3); k > 0; k--) {
      const i = int(rnd, 21, batch.length - 1);
      batch[i] = rnd() < 0.5 ? int(rnd, 0, 255) : batch[i] ^ (1 << int(rnd, 0, 7));
    }
    fixCrc(batch);
    const got = scanBatches(batch);
    assertSameScan(got, referenceScanBatches(batch), `round ${round}`);
    seen.add(got.status);
  }
  // The random corruption reaches the record walker's checks, not just the header's.
  for (const s of [BatchStatus.BAD_RECORD_LENGTH, BatchStatus.BAD_OFFSET_DELTA]) {
    assert.ok(seen.has(s), `no ${batchStatusText(s)} seen`);
  }
});

Deno.test("scanBatches() reports a torn tail at every cut with the exact valid prefix", () => {
  const rnd = seededRandom(14);
  const a = buildBatch(randomBatchOptions(rnd, 0));
  const b = buildBatch({ baseOffset: 10, records: [{ key: "k", value: "value" }] });
  const buf = concatBytes([a, b]);
  for (let cut = 0; cut <= buf.length; cut++) {
    const got = scanBatches(buf.subarray(0, cut));
    assertSameScan(got, referenceScanBatches(buf.subarray(0, cut)), `cut ${cut}`);
    if (cut === 0 || cut === a.length || cut === buf.length) {
      assert.equal(got.status, BatchStatus.OK);
      assert.equal(got.validBytes, cut);
    } else {
      assert.equal(got.status, BatchStatus.TRUNCATED, `cut ${cut}: ${got.detail}`);
      assert.equal(got.validBytes, cut < a.length ? 0 : a.length);
      assert.equal(got.count, cut < a.length ? 0 : 1);
    }
  }
  const got = scanBatches(buf.subarray(0, a.length + 30));
  assert.equal(
    got.detail,
    `batch 1 at byte ${a.length}: truncated batch (need ${b.length} bytes, have 30)`,
  );
  assert.equal(
    scanBatches(buf.subarray(0, a.length + 5)).detail,
    `batch 1 at byte ${a.length}: truncated batch (need 12 bytes, have 5)`,
  );
});

Deno.test("scanBatches() names each failure precisely", async (t) => {
  const good = buildBatch({ records: [{ key: null, value: "v" }] });
  const cases: [string, Uint8Array, number, string][] = [];
  const add = (name: string, buf: Uint8Array, status: number, detail: string) =>
    cases.push([name, buf, status, detail]);

  let b = good.slice();
  new DataView(b.buffer).setInt32(8, 48);
  add("batchLength below 49", b, BatchStatus.BAD_LENGTH, "bad batch length (batchLength 48");
  b = good.slice();
  b[16] = 1;
  add("magic 1", b, BatchStatus.BAD_MAGIC, "bad magic (magic 1, expected 2)");
  b = good.slice();
  const stored = new DataView(b.buffer).getUint32(17);
  b[b.length - 1] ^= 1;
  add("flipped value byte", b, BatchStatus.BAD_CRC, `bad CRC (stored 0x${stored.toString(16)}`);
  add(
    "codec 5",
    rawBatch(rec(body(0)), 1, { attributes: 5 }),
    BatchStatus.BAD_ATTRIBUTES,
    "bad attributes (compression codec 5)",
  );
  add(
    "negative recordCount",
    rawBatch([], -1, { lastOffsetDelta: 0 }),
    BatchStatus.BAD_RECORD_COUNT,
    "bad record count (recordCount -1, lastOffsetDelta 0)",
  );
  add(
    "lastOffsetDelta mismatch",
    rawBatch(rec(body(0)), 1, { lastOffsetDelta: 3 }),
    BatchStatus.BAD_RECORD_COUNT,
    "bad record count (recordCount 1, lastOffsetDelta 3)",
  );
  add(
    "negative lastOffsetDelta in a compressed batch",
    rawBatch([1, 2, 3], 1, { attributes: 1, lastOffsetDelta: -1 }),
    BatchStatus.BAD_RECORD_COUNT,
    "bad record count (recordCount 1, lastOffsetDelta -1)",
  );
  add(
    "overlong count",
    rawBatch([...rec(body(0)), ...rec(body(1))], 3),
    BatchStatus.BAD_RECORD_COUNT,
    "bad record count (recordCount 3, lastOffsetDelta 2, records present 2)",
  );
  add(
    "6-byte varint",
    rawBatch(rec([0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0, 0]), 1),
    BatchStatus.BAD_VARINT,
    "bad varint (record 0 at byte 61)",
  );
  add(
    "11-byte varlong",
    rawBatch(rec([0, ...new Array(10).fill(0x80), 0, 0, 1, 1, 0]), 1),
    BatchStatus.BAD_VARINT,
    "bad varint (record 0 at byte 61)",
  );
  const r0 = rec(body(0));
  add(
    "record length one too long",
    rawBatch([...rec([...body(0), 0], body(0).length + 1), ...rec(body(1))], 2),
    BatchStatus.BAD_RECORD_LENGTH,
    "bad record length (record 0 at byte 61)",
  );
  add(
    "record length overruns the batch",
    rawBatch([...r0, ...rec(body(1), 40)], 2),
    BatchStatus.BAD_RECORD_LENGTH,
    `bad record length (record 1 at byte ${61 + r0.length})`,
  );
  add(
    "value overruns the record",
    rawBatch(rec([0, 0, 0, 1, 20, 0x76, 0]), 1),
    BatchStatus.BAD_RECORD_LENGTH,
    "bad record length (record 0 at byte 61)",
  );
  add(
    "offsetDelta 5 for record 1",
    rawBatch([...r0, ...rec(body(5))], 2),
    BatchStatus.BAD_OFFSET_DELTA,
    `bad offset delta (record 1 at byte ${61 + r0.length})`,
  );
  add(
    "3 bytes after the records",
    rawBatch([...r0, 0, 0, 0], 1),
    BatchStatus.BAD_RECORDS_SIZE,
    "records do not fill the batch (3 bytes left after 1 records)",
  );
  add(
    "control batch with two records",
    rawBatch([...r0, ...rec(body(1))], 2, { attributes: 0x20 }),
    BatchStatus.BAD_CONTROL,
    "bad control batch (control batch with recordCount 2)",
  );
  add(
    "null header key",
    rawBatch(rec([0, 0, 0, 1, 2, 0x76, ...zz(1), ...zz(-1), ...zz(-1)]), 1),
    BatchStatus.BAD_HEADER,
    "bad record header (record 0 at byte 61)",
  );
  add(
    "negative header count",
    rawBatch(rec([0, 0, 0, 1, 2, 0x76, ...zz(-2)]), 1),
    BatchStatus.BAD_HEADER,
    "bad record header (record 0 at byte 61)",
  );

  for (const [name, buf, status, detail] of cases) {
    await t.step(name, () => {
      // After a valid first batch, so positions and indexes are exercised too.
      const all = concatBytes([good, buf]);
      const got = scanBatches(all);
      assertSameScan(got, referenceScanBatches(all), name);
      assert.equal(got.status, status, got.detail);
      assert.equal(got.count, 1);
      assert.equal(got.validBytes, good.length);
      // Record positions in the expected details are for the batch alone: shift them.
      const shifted = detail.replace(/at byte (\d+)\)/, (_, n) => `at byte ${+n + good.length})`);
      const prefix = `batch 1 at byte ${good.length}: `;
      assert.ok(got.detail.startsWith(prefix + shifted), `${got.detail} !~ ${shifted}`);
      const alone = scanBatches(buf);
      assert.equal(alone.status, status);
      assert.ok(alone.detail.startsWith("batch 0 at byte 0: " + detail), alone.detail);
    });
  }
});

Deno.test("scanBatches() options: walkRecords, verifyCrc, maxBatchSize", () => {
  const r0 = rec(body(0));
  const badRecords = rawBatch([...r0, ...rec(body(5))], 2);
  assert.equal(scanBatches(badRecords).status, BatchStatus.BAD_OFFSET_DELTA);
  const noWalk = scanBatches(badRecords, { walkRecords: false });
  assert.equal(noWalk.status, BatchStatus.OK);
  assert.equal(noWalk.records, 2);

  const badCrc = buildBatch({ records: [{ key: null, value: "abc" }] });
  badCrc[18] ^= 0xff;
  assert.equal(scanBatches(badCrc).status, BatchStatus.BAD_CRC);
  assert.equal(scanBatches(badCrc, { verifyCrc: false }).status, BatchStatus.OK);

  // Compressed batches: records are opaque bytes, never walked.
  const compressed = rawBatch([9, 9, 9, 9], 7, { attributes: 4, lastOffsetDelta: 6 });
  const c = scanBatches(compressed);
  assert.equal(c.status, BatchStatus.OK, c.detail);
  assert.equal(c.records, 7);

  const big = buildBatch({ records: [{ key: null, value: new Uint8Array(1000) }] });
  assert.equal(scanBatches(big, { maxBatchSize: big.length }).status, BatchStatus.OK);
  const tooBig = scanBatches(big, { maxBatchSize: big.length - 1 });
  assert.equal(tooBig.status, BatchStatus.BAD_LENGTH);
  assert.equal(
    tooBig.detail,
    `batch 0 at byte 0: bad batch length (batchLength ${big.length - 12}, minimum 49, ` +
      `maximum batch size ${big.length - 1})`,
  );
});

Deno.test("scanBatches() scans a sub-range; positions stay relative to the buffer", () => {
  const r = { key: null, value: "v" };
  const a = buildBatch({ baseOffset: 0, records: [r] });
  const b = buildBatch({ baseOffset: 1, records: [r, r] });
  const c = buildBatch({ baseOffset: 3, records: [r] });
  const buf = concatBytes([new Uint8Array(7), a, b, c, new Uint8Array(5)]);
  const start = 7 + a.length;
  const end = start + b.length + c.length;
  const got = scanBatches(buf, { start, end });
  assertSameScan(got, referenceScanBatches(buf, { start, end }), "sub-range");
  assert.equal(got.status, BatchStatus.OK);
  assert.equal(got.count, 2);
  assert.deepEqual(Array.from(got.positions.subarray(0, 2)), [start, start + b.length]);
  assert.deepEqual(Array.from(got.baseOffsets.subarray(0, 2)), [1, 3]);
  assert.equal(got.validBytes, b.length + c.length);
  assert.equal(got.records, 3);
  // A view with a byteOffset into a larger buffer scans the same.
  const view = buf.subarray(start, end);
  const viewScan = scanBatches(view);
  assert.equal(viewScan.status, BatchStatus.OK);
  assert.deepEqual(Array.from(viewScan.positions.subarray(0, 2)), [0, b.length]);
  // The zero padding after c is not a batch: length 0 < 49.
  const tail = scanBatches(buf, { start });
  assert.equal(tail.status, BatchStatus.TRUNCATED);
  assert.equal(tail.detail, `batch 2 at byte ${end}: truncated batch (need 12 bytes, have 5)`);
});

Deno.test("scanBatches() handles more batches than one WASM call's columns hold", () => {
  const parts = [];
  for (let i = 0; i < 2500; i++) {
    parts.push(buildBatch({
      baseOffset: i * 2,
      records: [{ key: null, value: `${i}` }, {
        key: null,
        value: "x",
      }],
    }));
  }
  const buf = concatBytes(parts);
  buf[buf.length - 1] ^= 1; // corrupt the last batch
  const got = scanBatches(buf);
  assertSameScan(got, referenceScanBatches(buf), "2500 batches");
  assert.equal(got.count, 2499);
  assert.equal(got.status, BatchStatus.BAD_CRC);
  assert.equal(got.records, 4998);
  assert.equal(got.baseOffsets[2498], 4996);
  assert.ok(
    got.detail.startsWith(`batch 2499 at byte ${buf.length - parts[2499].length}: bad CRC`),
  );
});

Deno.test("scanBatches() returns one reused object; empty input is OK", () => {
  const first = scanBatches(new Uint8Array(0));
  assert.equal(first.status, BatchStatus.OK);
  assert.equal(first.count, 0);
  assert.equal(first.detail, "");
  const second = scanBatches(buildBatch({ records: [] }));
  assert.equal(second, first);
  assert.equal(second.count, 1);
  assert.equal(second.records, 0);
});

Deno.test("scanBatches() rejects bad arguments with clear errors", () => {
  const buf = new Uint8Array(10);
  assert.throws(() => scanBatches(buf, { start: 5, end: 4 }), {
    name: "RangeError",
    message: "scanBatches: invalid range: start 5, end 4, buffer length 10",
  });
  assert.throws(() => scanBatches(buf, { end: 11 }), { name: "RangeError" });
  assert.throws(() => scanBatches(buf, { start: 0.5 }), { name: "RangeError" });
  assert.throws(() => scanBatches(buf, { maxBatchSize: -1 }), {
    message: "scanBatches: invalid maxBatchSize: -1",
  });
  assert.throws(() => scanBatches([1, 2] as unknown as Uint8Array), { name: "TypeError" });
});

Deno.test("batchStatusText() names every status", () => {
  assert.equal(batchStatusText(BatchStatus.OK), "ok");
  assert.equal(batchStatusText(BatchStatus.BAD_CRC), "bad CRC");
  assert.equal(batchStatusText(BatchStatus.BAD_ATTRIBUTES), "bad attributes");
  assert.equal(batchStatusText(99), "unknown status 99");
  const codes = Object.values(BatchStatus);
  assert.deepEqual(codes, codes.map((_, i) => i));
});
