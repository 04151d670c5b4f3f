// Copyright 2026 the Sluice authors. Apache-2.0 license.
import assert from "node:assert/strict";
import { crc32, gunzipSync, gzipSync } from "node:zlib";
import { BatchStatus, scanBatches } from "../wasm/mod.ts";
import { seededRandom } from "../wasm/testing.ts";
import { decodeRecordBatches } from "./batch_reader.ts";
import { encodeRecordBatch } from "./batch_builder.ts";
import { buildControlBatch } from "./control.ts";
import { RecordsError } from "./errors.ts";
import {
  decodeMessageSet,
  downConvert,
  downConvertForFetch,
  encodeMessageSet,
  KEY_SIZE_OFFSET_V1,
  LEGACY_ATTRIBUTES_OFFSET,
  LEGACY_MAGIC_OFFSET,
  LEGACY_TIMESTAMP_OFFSET,
  type LegacyRecordInput,
  overflowMessage,
  RECORD_OVERHEAD_V0,
  RECORD_OVERHEAD_V1,
  upConvert,
} from "./legacy.ts";
import {
  baseOffsetAt,
  batchSizeAt,
  type CompressionName,
  LOG_OVERHEAD,
  magicAt,
  readInt64,
  writeInt32,
} from "./layout.ts";
import { lz4Decompress, xxhash32 } from "./lz4.ts";

const hex = (s: string) => new Uint8Array(s.match(/../g)!.map((h) => parseInt(h, 16)));
const te = new TextEncoder();
const td = new TextDecoder();
const str = (b: Uint8Array | null) => b === null ? null : td.decode(b);

// Message sets written by kafka-python 2.0.2's LegacyRecordBatchBuilder (the reference
// implementation of these formats in Python), CRC-32 values included.
const KP_V0 = "00000000000000000000001571ef57700000000000026b310000000568656c6c6f00000000000000" +
  "01000000138bc0cd770000ffffffff00000005776f726c64000000000000000200000010b643ca6a00000000" +
  "00026b33ffffffff";
const KP_V1 = "00000000000000050000001d9e34959601000000018bcfe56800000000026b310000000568656c6c6f" +
  "0000000000000006000000161a3b433101000000018bcfe56807ffffffff00000000";
// gzip wrappers as a producer writes them: wrapper offset and timestamp 0, inner offsets 0..n-1.
const KP_V1_GZIP =
  "00000000000000000000006ad244e95e01010000000000000000ffffffff000000541f8b08007ed9" +
  "136b02ff636080034fc5fae8e98c400663f7f9a7192011c6442061544132801a0832cb33e3bfa91edc505610" +
  "2309646825c9006a2813108b2b3fbbfb166e28f37f200071aa00f4e0b238cd000000";
const KP_V0_GZIP =
  "0000000000000000000000486a097fa20001ffffffff0000003a1f8b08007ed9136b02ff63600003" +
  "2e20760cb78ff305f3181381845105c9006216033710f3fb6468853130fc0702908185001406748668000000";

Deno.test("CRC-32 is IEEE's (zlib), not CRC-32C", () => {
  assert.equal(crc32(te.encode("123456789")) >>> 0, 0xcbf43926);
});

Deno.test("decodeMessageSet() reads kafka-python's v0 and v1 message sets", () => {
  assert.deepEqual(
    decodeMessageSet(hex(KP_V0)).map((
      r,
    ) => [r.offset, r.magic, r.timestamp, str(r.key), str(r.value)]),
    [[0, 0, -1, "k1", "hello"], [1, 0, -1, null, "world"], [2, 0, -1, "k3", null]],
  );
  assert.deepEqual(
    decodeMessageSet(hex(KP_V1)).map((
      r,
    ) => [r.offset, r.magic, r.timestamp, str(r.key), str(r.value)]),
    [[5, 1, 1700000000000, "k1", "hello"], [6, 1, 1700000000007, null, ""]],
  );
});

Deno.test("decodeMessageSet() expands kafka-python's gzip wrappers", () => {
  const v1 = decodeMessageSet(hex(KP_V1_GZIP));
  assert.deepEqual(v1.map((r) => [r.timestamp, str(r.key), r.value?.length, r.compression]), [
    [1700000000000, "a", 50, "gzip"],
    [1700000000005, "b", 50, "gzip"],
    [1700000000003, null, 1, "gzip"],
  ]);
  // v1 inner offsets are relative to the wrapper's (0 here, as producers write it).
  assert.deepEqual(v1.map((r) => r.offset), [-2, -1, 0]);
  const v0 = decodeMessageSet(hex(KP_V0_GZIP));
  assert.deepEqual(v0.map((r) => [r.offset, r.timestamp, str(r.key), r.value?.length]), [
    [10, -1, "a", 50],
    [11, -1, null, 1],
  ]);
});

Deno.test("encodeMessageSet() writes kafka-python's bytes exactly (uncompressed v0 and v1)", () => {
  const v0 = encodeMessageSet([
    { key: te.encode("k1"), value: te.encode("hello") },
    { key: null, value: te.encode("world") },
    { key: te.encode("k3"), value: null },
  ], { magic: 0 });
  assert.deepEqual(v0, hex(KP_V0));
  const v1 = encodeMessageSet([
    { key: te.encode("k1"), value: te.encode("hello"), timestamp: 1700000000000 },
    { key: null, value: new Uint8Array(0), timestamp: 1700000000007 },
  ], { magic: 1, baseOffset: 5 });
  assert.deepEqual(v1, hex(KP_V1));
});

function sampleRecords(rnd: () => number, n: number): LegacyRecordInput[] {
  return Array.from({ length: n }, (_, i) => ({
    key: rnd() < 0.2 ? null : te.encode(`key-${i}`),
    value: rnd() < 0.1 ? null : te.encode(`value-${i}-`.repeat((rnd() * 40) | 0)),
    timestamp: 1_700_000_000_000 + ((rnd() * 10_000) | 0),
  }));
}

Deno.test("property: v0 and v1 message sets round-trip with every legacy codec", () => {
  const rnd = seededRandom(31);
  for (const magic of [0, 1] as const) {
    for (const compression of ["none", "gzip", "snappy", "lz4"] as CompressionName[]) {
      for (let i = 0; i < 8; i++) {
        const records = sampleRecords(rnd, 1 + ((rnd() * 20) | 0));
        const set = encodeMessageSet(records, { magic, compression, baseOffset: 100 * i });
        assert.equal(magicAt(set, 0), magic);
        const back = decodeMessageSet(set);
        assert.deepEqual(
          back.map((r) => [r.offset, r.timestamp, r.key, r.value, r.compression]),
          records.map((r, j) => [
            100 * i + j,
            magic === 1 ? r.timestamp : -1,
            r.key,
            r.value,
            compression,
          ]),
        );
      }
    }
  }
});

Deno.test("compressed v1 sets: relative inner offsets, wrapper at the last offset with the max timestamp", () => {
  const records = [
    { value: te.encode("a"), timestamp: 30 },
    { value: te.encode("b"), timestamp: 50 },
    { value: te.encode("c"), timestamp: 40 },
  ];
  const set = encodeMessageSet(records, { magic: 1, compression: "gzip", baseOffset: 7 });
  assert.equal(batchSizeAt(set, 0), set.length); // one wrapper
  assert.equal(baseOffsetAt(set, 0), 9);
  assert.equal(readInt64(set, LOG_OVERHEAD + LEGACY_TIMESTAMP_OFFSET), 50);
  assert.equal(set[LOG_OVERHEAD + LEGACY_ATTRIBUTES_OFFSET], 1);
  assert.equal(set[LOG_OVERHEAD + KEY_SIZE_OFFSET_V1 + 3], 0xff); // null key
  // The inner messages carry offsets 0, 1, 2 (KIP-31), not 7, 8, 9.
  const inner = gunzipSync(set.subarray(LOG_OVERHEAD + RECORD_OVERHEAD_V1));
  const innerOffsets = [];
  for (let p = 0; p < inner.length; p += batchSizeAt(inner, p)) {
    innerOffsets.push(baseOffsetAt(inner, p));
  }
  assert.deepEqual(innerOffsets, [0, 1, 2]);
  // LogAppendTime: the wrapper carries the time and bit 3; every record reads it.
  const lat = encodeMessageSet(records, {
    magic: 1,
    compression: "snappy",
    logAppendTime: 99,
  });
  assert.equal(lat[LOG_OVERHEAD + LEGACY_ATTRIBUTES_OFFSET], 2 | 8);
  assert.deepEqual(decodeMessageSet(lat).map((r) => [r.timestamp, r.timestampType]), [
    [99, 1],
    [99, 1],
    [99, 1],
  ]);
  // v0 LZ4 wrappers carry the header checksum old readers expect (over the magic too).
  const v0 = encodeMessageSet(records, { magic: 0, compression: "lz4" });
  const frame = v0.subarray(LOG_OVERHEAD + RECORD_OVERHEAD_V0);
  assert.equal(frame[6], (xxhash32(frame.subarray(0, 6)) >>> 8) & 0xff);
  assert.equal(td.decode(lz4Decompress(frame)).length > 0, true);
});

Deno.test("malformed message sets: CRC, inner compression, magic, codec, partial tail", () => {
  const set = hex(KP_V1);
  const bad = set.slice();
  bad[LOG_OVERHEAD + KEY_SIZE_OFFSET_V1 + 4] ^= 1; // "k1" becomes "j1"
  assert.throws(() => decodeMessageSet(bad), (e: unknown) => {
    assert.ok(e instanceof RecordsError && e.code === 2);
    assert.match(e.message, /^message set: CRC mismatch at offset 5: stored 9e349596/);
    return true;
  });
  assert.equal(decodeMessageSet(bad, { verifyCrc: false }).length, 2);
  // A partial trailing entry is ignored; a cut-off size field too.
  for (const cut of [1, 11, 12, 30]) {
    assert.equal(decodeMessageSet(set.subarray(0, set.length - cut)).length, 1, `cut ${cut}`);
  }
  // Magic 2 or 3 where a message is expected.
  const magic = set.slice();
  magic[LOG_OVERHEAD + LEGACY_MAGIC_OFFSET] = 3;
  assert.throws(() => decodeMessageSet(magic), /has magic 3, not 0 or 1/);
  // zstd cannot be carried by magic 0/1.
  const zstd = set.slice();
  zstd[LOG_OVERHEAD + LEGACY_ATTRIBUTES_OFFSET] = 4;
  assert.throws(() => decodeMessageSet(zstd, { verifyCrc: false }), (e: unknown) => {
    assert.ok(e instanceof RecordsError && e.code === 76);
    return true;
  });
  assert.throws(() => encodeMessageSet([{ value: null }], { magic: 1, compression: "zstd" }), {
    name: "RecordsError",
  });
  // Bad sizes.
  const small = set.slice();
  writeInt32(small, 8, 5);
  assert.throws(() => decodeMessageSet(small), /has a bad size 5/);
});

Deno.test("inner messages may not be compressed nor change magic (INVALID_RECORD)", () => {
  const innerGzip = encodeMessageSet([{ value: te.encode("x") }], {
    magic: 1,
    compression: "gzip",
  });
  assert.throws(() => decodeMessageSet(gzipWrapperAround(innerGzip, 1)), (e: unknown) => {
    assert.ok(e instanceof RecordsError && e.code === 87);
    assert.match(e.message, /should not have an inner record with a compression attribute/);
    return true;
  });
  const v0Inner = encodeMessageSet([{ value: te.encode("y") }], { magic: 0 });
  assert.throws(() => decodeMessageSet(gzipWrapperAround(v0Inner, 1)), {
    name: "RecordsError",
    message: /inner message magic 0 does not match outer magic 1/,
  });
});

/** A gzip wrapper message around the given inner message set (as a broken producer might send). */
function gzipWrapperAround(innerSet: Uint8Array, magic: 0 | 1): Uint8Array {
  const out = encodeMessageSet([{ key: null, value: new Uint8Array(gzipSync(innerSet)) }], {
    magic,
  });
  out[LOG_OVERHEAD + LEGACY_ATTRIBUTES_OFFSET] = 1;
  writeInt32(out, LOG_OVERHEAD, crc32(out.subarray(LOG_OVERHEAD + LEGACY_MAGIC_OFFSET)));
  return out;
}

Deno.test("upConvert() turns v0/v1 sets into one v2 batch the WASM validator accepts", () => {
  const v0 = upConvert(hex(KP_V0));
  assert.equal(scanBatches(v0).status, BatchStatus.OK);
  const [b0] = decodeRecordBatches(v0);
  assert.deepEqual(b0.records.map((r) => [r.offset, r.timestamp, str(r.key), str(r.value)]), [
    [0, -1, "k1", "hello"],
    [1, -1, null, "world"],
    [2, -1, "k3", null],
  ]);
  assert.deepEqual([b0.maxTimestamp, b0.producerId, b0.compression], [-1, -1, "none"]);
  const [b1] = decodeRecordBatches(upConvert(hex(KP_V1_GZIP)));
  assert.equal(b1.compression, "gzip"); // compression.type=producer keeps the codec
  assert.deepEqual(b1.records.map((r) => [r.offset, r.timestamp]), [
    [0, 1700000000000],
    [1, 1700000000005],
    [2, 1700000000003],
  ]);
  assert.equal(b1.maxTimestamp, 1700000000005);
  const [lz] = decodeRecordBatches(upConvert(hex(KP_V1_GZIP), { compression: "lz4" }));
  assert.equal(lz.compression, "lz4");
  assert.equal(lz.records.length, 3);
});

Deno.test("upConvert() refuses what Kafka's LogValidator refuses", () => {
  const gz = hex(KP_V1_GZIP);
  const two = new Uint8Array(gz.length * 2);
  two.set(gz);
  two.set(gz, gz.length);
  assert.throws(() => upConvert(two), {
    name: "RecordsError",
    message: /Compressed outer record has more than one batch/,
  });
  const mixed = new Uint8Array([...hex(KP_V0), ...hex(KP_V1)]);
  assert.throws(() => upConvert(mixed), /message magic 1 is not the same as the first message's 0/);
  assert.throws(() => upConvert(new Uint8Array(0)), /no messages at all/);
  assert.throws(() => upConvert(encodeRecordBatch([{ value: null }])), (e: unknown) => {
    assert.ok(e instanceof RecordsError && e.code === 87);
    assert.match(e.message, /magic 2 is not a legacy message format/);
    return true;
  });
  const cut = hex(KP_V0).subarray(0, 30);
  assert.throws(() => upConvert(cut), /cut off/);
  // A wrapper over the decompression bound (a bomb): CORRUPT_MESSAGE, nothing allocated.
  const bomb = encodeMessageSet([{ value: new Uint8Array(2 << 20), timestamp: 1 }], {
    magic: 1,
    compression: "gzip",
  });
  assert.ok(bomb.length < 8192);
  assert.throws(() => upConvert(bomb, { maxDecompressedBytes: 1 << 20 }), (e: unknown) => {
    assert.ok(e instanceof RecordsError && e.code === 2);
    assert.match(
      e.message,
      /gzip: the decompressed data is larger than the limit of 1048576 bytes/,
    );
    return true;
  });
  assert.equal(decodeRecordBatches(upConvert(bomb, { maxDecompressedBytes: 3 << 20 })).length, 1);
});

Deno.test("downConvert() as Kafka's RecordsUtil: control skipped, headers dropped, fetch offset", () => {
  const h = [{ key: "trace", value: te.encode("t") }];
  const plain = encodeRecordBatch(
    [0, 1, 2].map((i) => ({ key: te.encode(`k${i}`), value: te.encode(`v${i}`), headers: h })),
    { baseOffset: 10, timestamp: 1000 },
  );
  const marker = buildControlBatch({ producerId: 3, producerEpoch: 0, commit: true, timestamp: 1 });
  writeInt32(marker, 4, 13); // baseOffset 13 (low word)
  const txn = encodeRecordBatch([{ value: te.encode("txn") }], {
    baseOffset: 14,
    transactional: true,
    producerId: 3,
    producerEpoch: 0,
    baseSequence: 0,
    timestamp: 2000,
  });
  const zipped = encodeRecordBatch([{ value: te.encode("z1") }, { value: te.encode("z2") }], {
    baseOffset: 15,
    compression: "snappy",
    timestamp: 3000,
  });
  const lat = encodeRecordBatch([{ value: te.encode("l"), timestamp: 5 }], {
    baseOffset: 17,
    timestampType: 1,
    maxTimestamp: 4000,
  });
  const all = new Uint8Array([...plain, ...marker, ...txn, ...zipped, ...lat]);
  for (const magic of [0, 1] as const) {
    const set = downConvert(all, { magic, fromOffset: 11 });
    const out = decodeMessageSet(set);
    assert.deepEqual(out.map((r) => [r.offset, str(r.value), r.compression]), [
      [11, "v1", "none"],
      [12, "v2", "none"],
      [14, "txn", "none"],
      [15, "z1", "snappy"],
      [16, "z2", "snappy"],
      [17, "l", "none"],
    ]);
    assert.deepEqual(
      out.map((r) => r.timestamp),
      magic === 1 ? [1000, 1000, 2000, 3000, 3000, 4000] : [-1, -1, -1, -1, -1, -1],
    );
    if (magic === 1) assert.equal(out[5].timestampType, 1);
  }
  // A compressed batch is converted whole even when the fetch starts inside it (Kafka).
  assert.deepEqual(
    decodeMessageSet(downConvert(zipped, { magic: 1, fromOffset: 16 })).map((r) => r.offset),
    [15, 16],
  );
  // Only a control batch, or records all below the fetch offset: nothing.
  assert.equal(downConvert(marker, { magic: 1 }).length, 0);
  assert.equal(downConvert(plain, { magic: 1, fromOffset: 13 }).length, 0);
  // A partial trailing batch is left out.
  assert.equal(
    decodeMessageSet(downConvert(all.subarray(0, all.length - 5), { magic: 1 })).length,
    6,
  );
  const zstd = encodeRecordBatch([{ value: null }], { compression: "zstd" });
  assert.throws(() => downConvert(zstd, { magic: 1 }), (e: unknown) => {
    assert.ok(e instanceof RecordsError && e.code === 76);
    return true;
  });
});

Deno.test("downConvertForFetch() sizes the set as Kafka's LazyDownConversionRecords", () => {
  const batch = (base: number, n: number, compression: CompressionName = "none") =>
    encodeRecordBatch(
      Array.from({ length: n }, (_, i) => ({ value: te.encode(`v${base + i}`.padEnd(4)) })),
      { baseOffset: base, timestamp: 7, compression },
    );
  const message = LOG_OVERHEAD + RECORD_OVERHEAD_V1 + 4; // one converted record
  const a = batch(0, 10);
  const b = batch(10, 10);
  const z = batch(20, 2, "gzip");
  const marker = buildControlBatch({
    producerId: 3,
    producerEpoch: 0,
    commit: false,
    timestamp: 1,
  });
  const all = new Uint8Array([...marker, ...a, ...b, ...z]);
  const offsets = (set: Uint8Array) => decodeMessageSet(set).map((r) => r.offset);
  const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);
  // The first converted batch is whole whatever the limit (a control batch first does not count).
  assert.deepEqual(offsets(downConvertForFetch(all, { magic: 1, maxBytes: 1 })), range(0, 10));
  // Then whole messages while the set stays within the limit.
  const limit = 10 * message + 3 * message + 5;
  const cut = downConvertForFetch(all, { magic: 1, maxBytes: limit });
  assert.equal(cut.length, 13 * message);
  assert.deepEqual(offsets(cut), range(0, 13));
  // A compressed batch is one message: whole or not at all.
  const zSize = downConvert(z, { magic: 1 }).length;
  const upToZ = 20 * message;
  assert.deepEqual(
    offsets(downConvertForFetch(all, { magic: 1, maxBytes: upToZ + zSize - 1 })),
    range(0, 20),
  );
  assert.deepEqual(
    offsets(downConvertForFetch(all, { magic: 1, maxBytes: upToZ + zSize })),
    range(0, 22),
  );
  // From a fetch offset inside the first batch; v0.
  const v0 = downConvertForFetch(all, { magic: 0, fromOffset: 4, maxBytes: all.length * 2 });
  assert.deepEqual(offsets(v0), range(4, 22));
  assert.ok(decodeMessageSet(v0).every((r) => r.magic === 0 && r.timestamp === -1));
  // Only markers: nothing.
  assert.equal(downConvertForFetch(marker, { magic: 1, maxBytes: 1000 }).length, 0);
  // zstd: refused when first, the end of the set after converted data.
  const zstd = batch(22, 1, "zstd");
  assert.throws(
    () => downConvertForFetch(new Uint8Array([...marker, ...zstd]), { magic: 1, maxBytes: 1e6 }),
    (e: unknown) => e instanceof RecordsError && e.code === 76,
  );
  assert.deepEqual(
    offsets(
      downConvertForFetch(new Uint8Array([...z, ...zstd, ...a]), { magic: 1, maxBytes: 1e6 }),
    ),
    [20, 21],
  );
});

Deno.test("overflowMessage() is Kafka's 12-byte partial message at offset -1", () => {
  const m = overflowMessage();
  assert.deepEqual(m, hex("ffffffffffffffff0000003d"));
  assert.deepEqual(decodeMessageSet(m), []);
});

Deno.test("property: v2 -> v1 -> v2 keeps keys, values and timestamps for every legacy codec", () => {
  const rnd = seededRandom(12);
  for (const compression of ["none", "gzip", "snappy", "lz4"] as CompressionName[]) {
    for (let i = 0; i < 10; i++) {
      const records = sampleRecords(rnd, 1 + ((rnd() * 15) | 0)).map((r) => ({
        ...r,
        value: r.value ?? null,
      }));
      const v2 = encodeRecordBatch(records, { compression, baseOffset: 40 });
      const v1 = downConvert(v2, { magic: 1 });
      const back = decodeRecordBatches(upConvert(v1))[0];
      assert.equal(back.compression, compression);
      assert.deepEqual(
        back.records.map((r) => [r.timestamp, r.key, r.value]),
        records.map((r) => [r.timestamp, r.key, r.value]),
      );
    }
  }
});
