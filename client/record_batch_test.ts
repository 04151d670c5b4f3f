import assert from "node:assert/strict";
import { gzipSync } from "node:zlib";
import { BatchStatus, crc32c, scanBatches } from "../wasm/mod.ts";
import { KafkaError } from "../protocol/errors.ts";
import {
  decodeRecordBatches,
  decodeRecords,
  decodeRecordsInto,
  encodeRecordBatch,
  RECORD_BATCH_OVERHEAD,
  RecordBatchBuilder,
  type RecordInput,
} from "./record_batch.ts";

function concatBytes(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

const te = new TextEncoder();
const td = new TextDecoder();

const RECORDS: RecordInput[] = [
  {
    key: te.encode("k1"),
    value: te.encode("hello"),
    headers: [{ key: "h", value: te.encode("v") }],
    timestamp: 1_700_000_000_000,
  },
  { key: null, value: te.encode("no key"), timestamp: 1_700_000_000_005 },
  {
    key: te.encode("tomb"),
    value: null,
    headers: [{ key: "a", value: null }, { key: "ü", value: new Uint8Array([0, 255]) }],
    timestamp: 1_699_999_999_990,
  },
  { key: new Uint8Array(0), value: new Uint8Array(300).fill(7), timestamp: 1_700_000_000_001 },
];

function assertRoundTrip(bytes: Uint8Array, baseOffset: number): void {
  const batches = decodeRecordBatches(bytes);
  assert.equal(batches.length, 1);
  const b = batches[0];
  assert.equal(b.baseOffset, baseOffset);
  assert.equal(b.lastOffset, baseOffset + 3);
  assert.equal(b.baseTimestamp, 1_700_000_000_000);
  assert.equal(b.maxTimestamp, 1_700_000_000_005);
  assert.equal(b.control, false);
  assert.equal(b.sizeInBytes, bytes.length);
  assert.deepEqual(b.records, [
    {
      offset: baseOffset,
      timestamp: 1_700_000_000_000,
      key: te.encode("k1"),
      value: te.encode("hello"),
      headers: [{ key: "h", value: te.encode("v") }],
    },
    {
      offset: baseOffset + 1,
      timestamp: 1_700_000_000_005,
      key: null,
      value: te.encode("no key"),
      headers: [],
    },
    {
      offset: baseOffset + 2,
      timestamp: 1_699_999_999_990,
      key: te.encode("tomb"),
      value: null,
      headers: [{ key: "a", value: null }, { key: "ü", value: new Uint8Array([0, 255]) }],
    },
    {
      offset: baseOffset + 3,
      timestamp: 1_700_000_000_001,
      key: new Uint8Array(0),
      value: new Uint8Array(300).fill(7),
      headers: [],
    },
  ]);
}

Deno.test("encodeRecordBatch() round-trips keys, values, headers, timestamps and nulls", () => {
  const bytes = encodeRecordBatch(RECORDS, { baseOffset: 42 });
  assertRoundTrip(bytes, 42);
});

Deno.test("encodeRecordBatch() output is accepted by the wasm scanner with a valid CRC", () => {
  const a = encodeRecordBatch(RECORDS, { baseOffset: 0 });
  const b = encodeRecordBatch([{ value: te.encode("x") }], { baseOffset: 4 });
  const both = new Uint8Array(a.length + b.length);
  both.set(a);
  both.set(b, a.length);
  const scan = scanBatches(both);
  assert.equal(scan.status, BatchStatus.OK, scan.detail);
  assert.equal(scan.count, 2);
  assert.equal(scan.records, 5);
  assert.equal(scan.validBytes, both.length);
  assert.equal(scan.baseOffsets[1], 4);
  assert.equal(scan.lastOffsetDeltas[0], 3);
  const view = new DataView(a.buffer, a.byteOffset);
  assert.equal(view.getUint32(17), crc32c(a.subarray(21)));
});

Deno.test("encodeRecordBatch() with gzip and zstd compresses and decodes back", () => {
  for (const compression of ["gzip", "zstd"] as const) {
    const bytes = encodeRecordBatch(RECORDS, { baseOffset: 7, compression });
    const plain = encodeRecordBatch(RECORDS, { baseOffset: 7 });
    assert.ok(bytes.length < plain.length, `${compression} should shrink the 300-byte value`);
    const scan = scanBatches(bytes, { walkRecords: false });
    assert.equal(scan.status, BatchStatus.OK, scan.detail);
    assert.equal(decodeRecordBatches(bytes)[0].compression, compression);
    assertRoundTrip(bytes, 7);
  }
});

Deno.test("decodeRecordBatches() ignores a partial trailing batch", () => {
  const a = encodeRecordBatch([{ value: te.encode("one") }], { baseOffset: 0 });
  const b = encodeRecordBatch([{ value: te.encode("two") }], { baseOffset: 1 });
  for (const cut of [1, 12, 20, b.length - 1]) {
    const buf = new Uint8Array(a.length + cut);
    buf.set(a);
    buf.set(b.subarray(0, cut), a.length);
    const records = decodeRecords(buf);
    assert.deepEqual(records.map((r) => td.decode(r.value!)), ["one"], `cut ${cut}`);
  }
  assert.deepEqual(decodeRecordBatches(new Uint8Array(0)), []);
});

Deno.test("decodeRecords() skips control batches and records below the fetch offset", () => {
  const data = encodeRecordBatch([{ value: te.encode("a") }, { value: te.encode("b") }], {
    baseOffset: 10,
  });
  const control = encodeRecordBatch([{ key: new Uint8Array([0, 0, 0, 0]), value: null }], {
    baseOffset: 12,
    control: true,
    transactional: true,
  });
  const more = encodeRecordBatch([{ value: te.encode("c") }], { baseOffset: 13 });
  const buf = new Uint8Array(data.length + control.length + more.length);
  buf.set(data);
  buf.set(control, data.length);
  buf.set(more, data.length + control.length);
  const batches = decodeRecordBatches(buf);
  assert.deepEqual(batches.map((b) => b.control), [false, true, false]);
  const records = decodeRecords(buf, 11);
  assert.deepEqual(records.map((r) => [r.offset, td.decode(r.value!)]), [[11, "b"], [13, "c"]]);
});

Deno.test("decodeRecordBatches() uses maxTimestamp for LogAppendTime batches", () => {
  const bytes = encodeRecordBatch([{ value: null, timestamp: 5 }, { value: null, timestamp: 9 }], {
    timestampType: 1,
  });
  assert.deepEqual(decodeRecordBatches(bytes)[0].records.map((r) => r.timestamp), [9, 9]);
});

Deno.test("decodeRecordBatches() rejects a corrupted CRC with CORRUPT_MESSAGE", () => {
  const bytes = encodeRecordBatch(RECORDS, { baseOffset: 3 });
  bytes[bytes.length - 10] ^= 0xff; // inside the 300-byte value
  assert.throws(() => decodeRecordBatches(bytes), (e: unknown) => {
    assert.ok(e instanceof KafkaError);
    assert.equal(e.errorName, "CORRUPT_MESSAGE");
    assert.match(e.message, /^record batch: CRC mismatch at offset 3: stored [0-9a-f]+, computed/);
    return true;
  });
  // Without CRC verification the (damaged) value still decodes.
  assert.equal(decodeRecordBatches(bytes, { verifyCrc: false })[0].records.length, 4);
});

Deno.test("decodeRecordBatches() rejects old magic and malformed records clearly", () => {
  const bytes = encodeRecordBatch([{ value: te.encode("v") }]);
  const old = bytes.slice();
  old[16] = 1;
  assert.throws(() => decodeRecordBatches(old), {
    name: "KafkaError",
    message: /^record batch: unsupported magic 1 at offset 0 \(only v2 is supported\)/,
  });
  // Claim 2 records while only 1 is present (CRC recomputed so only the count is wrong).
  const short = bytes.slice();
  const v = new DataView(short.buffer);
  v.setInt32(57, 2);
  v.setUint32(17, crc32c(short.subarray(21)));
  assert.throws(() => decodeRecordBatches(short), {
    name: "KafkaError",
    message: /^record batch: record truncated inside a varint: CORRUPT_MESSAGE \(2\)/,
  });
});

Deno.test("snappy and lz4 decode but are refused for encoding", () => {
  const bytes = encodeRecordBatch([{ value: te.encode("v") }]);
  for (const [codec, name] of [[2, "snappy"], [3, "lz4"]] as const) {
    // Attributes claim a codec but the payload is plain records: a decompression failure.
    const b = bytes.slice();
    const v = new DataView(b.buffer);
    v.setInt16(21, codec);
    v.setUint32(17, crc32c(b.subarray(21)));
    assert.throws(() => decodeRecordBatches(b), (e: unknown) => {
      assert.ok(e instanceof KafkaError);
      assert.equal(e.errorName, "CORRUPT_MESSAGE");
      assert.match(e.message, new RegExp(`^record batch: cannot decompress ${name} records: `));
      return true;
    });
    assert.throws(
      () => encodeRecordBatch([{ value: null }], { compression: name }),
      (e: unknown) => {
        assert.ok(e instanceof KafkaError);
        assert.equal(e.errorName, "UNSUPPORTED_COMPRESSION_TYPE");
        assert.match(e.message, new RegExp(`^record batch: compression ${name} is not supported`));
        return true;
      },
    );
  }
});

Deno.test("decodeRecordBatches() reports a broken gzip payload as CORRUPT_MESSAGE", () => {
  const good = gzipSync(new Uint8Array([1, 2, 3]));
  const b = new Uint8Array(RECORD_BATCH_OVERHEAD + good.length - 4);
  b.set(encodeRecordBatch([{ value: null }]).subarray(0, RECORD_BATCH_OVERHEAD));
  b.set(good.subarray(0, good.length - 4), RECORD_BATCH_OVERHEAD);
  const v = new DataView(b.buffer);
  v.setInt32(8, b.length - 12);
  v.setInt16(21, 1);
  v.setUint32(17, crc32c(b.subarray(21)));
  assert.throws(() => decodeRecordBatches(b), {
    name: "KafkaError",
    message: /^record batch: cannot decompress gzip records: /,
  });
});

Deno.test("encodeRecordBatch() rejects an empty batch", () => {
  assert.throws(() => encodeRecordBatch([]), {
    name: "RangeError",
    message: "record batch: cannot encode an empty batch",
  });
});

Deno.test("decodeRecordsInto() skips control batches and records below fromOffset, returns the next offset", () => {
  const last = encodeRecordBatch(
    [{ key: te.encode("k"), value: te.encode("c"), headers: [{ key: "h", value: null }] }],
    { baseOffset: 3, timestamp: 1_700_000_000_123 },
  );
  const data = concatBytes(
    encodeRecordBatch([{ value: te.encode("a") }, { value: te.encode("b") }], { baseOffset: 0 }),
    encodeRecordBatch([{ key: null, value: new Uint8Array(6) }], { baseOffset: 2, control: true }),
    last,
  );
  const out: Array<[number, string, string[]]> = [];
  const next = decodeRecordsInto(
    data,
    1,
    (offset, _ts, _key, value, headers) =>
      [offset, new TextDecoder().decode(value!), headers.map((h) => h.key)] as [
        number,
        string,
        string[],
      ],
    out,
  );
  assert.equal(next, 4);
  assert.deepEqual(out, [[1, "b", []], [3, "c", ["h"]]]);
  // A cut trailing batch is not decoded and does not move the offset.
  const cut: unknown[] = [];
  assert.equal(decodeRecordsInto(data.subarray(0, data.length - 3), 0, (o) => o, cut), 3);
  assert.equal(cut.length, 2);
  // A corrupted CRC is refused unless checks are off.
  const bad = data.slice();
  bad[data.length - last.length + 17] ^= 0xff; // the stored CRC of the last batch
  assert.throws(() => decodeRecordsInto(bad, 0, (o) => o, []), /CRC mismatch at offset 3/);
  assert.equal(decodeRecordsInto(bad, 0, (o) => o, [], { verifyCrc: false }), 4);
});

Deno.test("RecordBatchBuilder grows its buffer, keeps negative and large timestamp deltas, refuses use after finish", () => {
  const b = new RecordBatchBuilder(16);
  const value = new Uint8Array(300).fill(7);
  const base = 1_700_000_000_000;
  const stamps = [base, base - 5, base + 2 ** 33, base + 1];
  for (const ts of stamps) b.append(null, value, ts);
  assert.equal(b.count, 4);
  const bytes = b.finish();
  assert.equal(bytes.length, b.sizeInBytes);
  const [batch] = decodeRecordBatches(bytes);
  assert.deepEqual(batch.records.map((r) => r.timestamp), stamps);
  assert.equal(batch.maxTimestamp, base + 2 ** 33);
  assert.deepEqual(batch.records[2].value, value);
  assert.throws(() => b.append(null, value, base), /cannot append to a finished batch/);
  assert.throws(() => new RecordBatchBuilder().finish(), /cannot encode an empty batch/);
});
