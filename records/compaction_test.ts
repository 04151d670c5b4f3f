// Copyright 2026 the Sluice authors. Apache-2.0 license.
import assert from "node:assert/strict";
import { BatchStatus, scanBatches } from "../wasm/mod.ts";
import { buildBatch, seededRandom } from "../wasm/testing.ts";
import { decodeRecordBatches } from "./batch_reader.ts";
import { encodeRecordBatch } from "./batch_builder.ts";
import { emptyBatchOf, readCompactableBatch, rebuildBatch } from "./compaction.ts";
import {
  type CompressionName,
  DELETE_HORIZON_BIT,
  LAST_OFFSET_DELTA_OFFSET,
  updateCrcAt,
  writeInt32,
} from "./layout.ts";

Deno.test("relaxed validation and rebuilt batches keep offsets, timestamps and the horizon", () => {
  const orig = buildBatch({
    baseOffset: 100,
    baseTimestamp: 5000,
    records: [
      { key: "a", value: "1", timestampDelta: 0 },
      { key: "b", value: null, timestampDelta: 7 },
      { key: "c", value: "3", timestampDelta: 3 },
    ],
  });
  const d = readCompactableBatch(orig);
  const out = rebuildBatch(orig, d, { records: [d.records[1]], deleteHorizonMs: 99_000 });
  const o = readCompactableBatch(out);
  assert.equal(o.baseOffset, 100);
  assert.equal(o.lastOffsetDelta, 2);
  assert.equal(o.attributes & DELETE_HORIZON_BIT, DELETE_HORIZON_BIT);
  assert.equal(o.baseTimestamp, 99_000);
  assert.equal(o.baseTimestamp + o.records[0].timestampDelta, 5007); // timestamp kept
  assert.equal(o.maxTimestamp, 5007);
  assert.equal(o.records[0].offsetDelta, 1);
  assert.ok(o.records[0].tombstone);
  // the produce path's strict check refuses it; the relaxed mode (recovery, reads) accepts it
  assert.equal(scanBatches(out, { walkRecords: false }).status, BatchStatus.BAD_RECORD_COUNT);
  assert.equal(scanBatches(out, { relaxedOffsets: true }).status, BatchStatus.OK);
  // clearing the horizon restores the first record's timestamp as the base
  const back = readCompactableBatch(
    rebuildBatch(out, o, { records: o.records, deleteHorizonMs: -1 }),
  );
  assert.equal(back.attributes & DELETE_HORIZON_BIT, 0);
  assert.equal(back.baseTimestamp, 5007);
  assert.equal(back.records[0].timestampDelta, 0);
  // offset deltas must increase and stay within lastOffsetDelta
  const broken = orig.slice();
  writeInt32(broken, LAST_OFFSET_DELTA_OFFSET, 1);
  updateCrcAt(broken, 0);
  assert.throws(
    () => readCompactableBatch(broken),
    /record 2 of batch at offset 100 has offset delta 2/,
  );
});

Deno.test("property: every codec is opened, filtered and rebuilt with its codec and fields", () => {
  const rnd = seededRandom(8);
  const te = new TextEncoder();
  const codecs: CompressionName[] = ["none", "gzip", "snappy", "lz4", "zstd"];
  for (let i = 0; i < 50; i++) {
    const compression = codecs[i % 5];
    const n = 1 + ((rnd() * 30) | 0);
    const records = Array.from({ length: n }, (_, j) => ({
      key: te.encode(`k${(rnd() * 10) | 0}`),
      value: rnd() < 0.2 ? null : te.encode(`v${j}`.repeat((rnd() * 50) | 0)),
      headers: j % 3 === 0 ? [{ key: "h", value: te.encode(`${j}`) }] : [],
      timestamp: 1_700_000_000_000 + ((rnd() * 1000) | 0),
    }));
    const logAppendTime = i % 7 === 0;
    const orig = encodeRecordBatch(records, {
      baseOffset: 1000 * i,
      compression,
      partitionLeaderEpoch: 4,
      timestampType: logAppendTime ? 1 : 0,
    });
    const d = readCompactableBatch(orig);
    const keep = d.records.filter(() => rnd() < 0.5);
    if (keep.length === 0) keep.push(d.records[n - 1]);
    const out = rebuildBatch(orig, d, { records: keep, deleteHorizonMs: -1 });
    assert.equal(scanBatches(out, { relaxedOffsets: true }).status, BatchStatus.OK);
    const [before] = decodeRecordBatches(orig);
    const [after] = decodeRecordBatches(out, { validation: "relaxed" });
    assert.equal(after.compression, compression);
    assert.deepEqual(
      [after.baseOffset, after.lastOffset, after.partitionLeaderEpoch, after.timestampType],
      [before.baseOffset, before.lastOffset, 4, logAppendTime ? 1 : 0],
    );
    const kept = new Set(keep.map((r) => r.offsetDelta));
    assert.deepEqual(
      after.records,
      before.records.filter((r) => kept.has(r.offset - before.baseOffset)),
    );
    if (logAppendTime) assert.equal(after.maxTimestamp, before.maxTimestamp);
    else assert.equal(after.maxTimestamp, Math.max(...after.records.map((r) => r.timestamp)));
  }
});

Deno.test("emptyBatchOf() keeps the producer fields and offsets, and passes the relaxed scan", () => {
  for (const compression of ["none", "gzip", "snappy", "lz4", "zstd"] as CompressionName[]) {
    const orig = encodeRecordBatch([{ key: new Uint8Array([1]), value: null }, {
      key: new Uint8Array([2]),
      value: new Uint8Array([3]),
    }], {
      baseOffset: 40,
      compression,
      producerId: 77,
      producerEpoch: 3,
      baseSequence: 12,
      transactional: true,
      partitionLeaderEpoch: 5,
    });
    const e = emptyBatchOf(orig);
    const [b] = decodeRecordBatches(e);
    assert.deepEqual(
      [b.baseOffset, b.lastOffset, b.producerId, b.producerEpoch, b.baseSequence],
      [40, 41, 77, 3, 12],
    );
    assert.deepEqual([b.transactional, b.control, b.records.length], [true, false, 0]);
    const scan = scanBatches(e, { walkRecords: true, verifyCrc: true, relaxedOffsets: true });
    assert.equal(scan.status, BatchStatus.OK, scan.detail);
  }
});
