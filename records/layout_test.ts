// Copyright 2026 the Sluice authors. Apache-2.0 license.
import assert from "node:assert/strict";
import { seededRandom } from "../wasm/testing.ts";
import { encodeRecordBatch } from "./batch_builder.ts";
import * as layout from "./layout.ts";

Deno.test("the v2 header offsets are Kafka's DefaultRecordBatch offsets", () => {
  // Kafka 3.x DefaultRecordBatch: every field offset, and the 61-byte overhead.
  assert.deepEqual(
    [
      layout.BASE_OFFSET_OFFSET,
      layout.LENGTH_OFFSET,
      layout.PARTITION_LEADER_EPOCH_OFFSET,
      layout.MAGIC_OFFSET,
      layout.CRC_OFFSET,
      layout.ATTRIBUTES_OFFSET,
      layout.LAST_OFFSET_DELTA_OFFSET,
      layout.BASE_TIMESTAMP_OFFSET,
      layout.MAX_TIMESTAMP_OFFSET,
      layout.PRODUCER_ID_OFFSET,
      layout.PRODUCER_EPOCH_OFFSET,
      layout.BASE_SEQUENCE_OFFSET,
      layout.RECORDS_COUNT_OFFSET,
      layout.RECORDS_OFFSET,
    ],
    [0, 8, 12, 16, 17, 21, 23, 27, 35, 43, 51, 53, 57, 61],
  );
  assert.equal(layout.RECORD_BATCH_OVERHEAD, 61);
  assert.equal(layout.LOG_OVERHEAD, 12);
  assert.equal(layout.HEADER_PEEK, 27);
  assert.equal(layout.MIN_BATCH_LENGTH, 49);
});

Deno.test("header readers and writers agree with DataView on random headers", () => {
  const rnd = seededRandom(5);
  const int = (bits: number) => Math.floor((rnd() - 0.5) * 2 ** bits);
  for (let i = 0; i < 500; i++) {
    const h = {
      baseOffset: int(53),
      batchLength: int(32),
      partitionLeaderEpoch: int(32),
      magic: 2,
      attributes: (rnd() * 0x80) | 0,
      lastOffsetDelta: int(32),
      baseTimestamp: int(53),
      maxTimestamp: int(53),
      producerId: int(53),
      producerEpoch: int(16),
      baseSequence: int(32),
      recordCount: int(32),
    };
    const p = (rnd() * 10) | 0;
    const b = new Uint8Array(p + layout.RECORD_BATCH_OVERHEAD);
    layout.writeBatchHeader(b, p, h);
    const v = new DataView(b.buffer, p);
    assert.equal(Number(v.getBigInt64(0)), h.baseOffset);
    assert.equal(v.getInt32(8), h.batchLength);
    assert.equal(v.getInt32(12), h.partitionLeaderEpoch);
    assert.equal(v.getInt8(16), 2);
    assert.equal(v.getInt16(21) & 0xffff, h.attributes);
    assert.equal(v.getInt32(23), h.lastOffsetDelta);
    assert.equal(Number(v.getBigInt64(27)), h.baseTimestamp);
    assert.equal(Number(v.getBigInt64(35)), h.maxTimestamp);
    assert.equal(Number(v.getBigInt64(43)), h.producerId);
    assert.equal(v.getInt16(51), h.producerEpoch);
    assert.equal(v.getInt32(53), h.baseSequence);
    assert.equal(v.getInt32(57), h.recordCount);
    const { crc: _, ...back } = layout.readBatchHeader(b, p);
    assert.deepEqual(back, h);
    assert.equal(layout.hasProducerIdAt(b, p), h.producerId >= 0);
    assert.equal(layout.lastOffsetAt(b, p), h.baseOffset + h.lastOffsetDelta);
    assert.equal(layout.batchSizeAt(b, p), h.batchLength + 12);
  }
});

Deno.test("setters and the CRC helpers", () => {
  const b = encodeRecordBatch([{ value: null }, { value: null }], { baseOffset: 3 });
  assert.equal(layout.crcAt(b, 0), layout.computeCrcAt(b, 0));
  layout.setAttributesAt(b, 0, layout.TIMESTAMP_TYPE_BIT);
  layout.setMaxTimestampAt(b, 0, 77);
  layout.setBaseTimestampAt(b, 0, 70);
  assert.notEqual(layout.crcAt(b, 0), layout.computeCrcAt(b, 0));
  layout.updateCrcAt(b, 0);
  assert.equal(layout.crcAt(b, 0), layout.computeCrcAt(b, 0));
  assert.deepEqual(
    [layout.attributesAt(b, 0), layout.maxTimestampAt(b, 0), layout.baseTimestampAt(b, 0)],
    [8, 77, 70],
  );
  assert.equal(layout.readInt16(new Uint8Array([0x80, 0]), 0), -32768);
  assert.equal(layout.readUint32(new Uint8Array([0x80, 0, 0, 1]), 0), 0x80000001);
});

Deno.test("nextOffsetAfter() walks headers and stops at a partial or bad batch", () => {
  const a = encodeRecordBatch([{ value: null }, { value: null }], { baseOffset: 0 });
  const b = encodeRecordBatch([{ value: null }], { baseOffset: 2 });
  const both = new Uint8Array(a.length + b.length);
  both.set(a);
  both.set(b, a.length);
  assert.equal(layout.nextOffsetAfter(both), 3);
  assert.equal(layout.nextOffsetAfter(both.subarray(0, both.length - 1)), 2);
  assert.equal(layout.nextOffsetAfter(both.subarray(0, 26)), null);
  const bad = both.slice();
  layout.writeInt32(bad, a.length + layout.LENGTH_OFFSET, 3);
  assert.equal(layout.nextOffsetAfter(bad), 2);
});

Deno.test("compressionName() and the Compression table agree", () => {
  for (const [name, id] of Object.entries(layout.Compression)) {
    assert.equal(layout.compressionName(id), name);
  }
  assert.equal(layout.compressionName(7), undefined);
});

Deno.test("every field has a setter that its reader reads back", () => {
  const pairs: [
    (b: Uint8Array, p: number, v: number) => void,
    (b: Uint8Array, p: number) => number,
    number,
  ][] = [
    [layout.setBaseOffsetAt, layout.baseOffsetAt, 2 ** 50 + 1],
    [layout.setBatchLengthAt, layout.batchLengthAt, 1234567],
    [layout.setPartitionLeaderEpochAt, layout.partitionLeaderEpochAt, -1],
    [layout.setAttributesAt, layout.attributesAt, 0x35],
    [layout.setLastOffsetDeltaAt, layout.lastOffsetDeltaAt, 99],
    [layout.setBaseTimestampAt, layout.baseTimestampAt, -1],
    [layout.setMaxTimestampAt, layout.maxTimestampAt, 1_700_000_000_000],
    [layout.setProducerIdAt, layout.producerIdAt, 2 ** 40],
    [layout.setProducerEpochAt, layout.producerEpochAt, -2],
    [layout.setBaseSequenceAt, layout.baseSequenceAt, 2 ** 31 - 1],
    [layout.setRecordCountAt, layout.recordCountAt, 7],
  ];
  const b = new Uint8Array(layout.RECORD_BATCH_OVERHEAD + 3);
  for (const [set, get, v] of pairs) {
    set(b, 3, v);
    assert.equal(get(b, 3), v, set.name);
  }
  // Each setter wrote only its own field: all read back together.
  assert.deepEqual(pairs.map(([, get]) => get(b, 3)), pairs.map(([, , v]) => v));
});
