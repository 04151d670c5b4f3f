import assert from "node:assert/strict";
import { crc32c } from "../wasm/mod.ts";
import { KafkaError } from "../protocol/errors.ts";
import { DecompressionError, lz4Decompress, snappyDecompress } from "./compression.ts";
import { decodeRecordBatches, encodeRecordBatch, RECORD_BATCH_OVERHEAD } from "./record_batch.ts";

const hex = (s: string) => new Uint8Array(s.match(/../g)!.map((h) => parseInt(h, 16)));
const te = new TextEncoder();
const td = new TextDecoder();

// The records of RECORDS below, uncompressed (648 bytes), compressed with the `lz4` command-line
// tool in three frame flavours: default (content checksum), block checksums without content
// checksum (-BX --no-frame-crc), and with the content size (--content-size).
const RECORDS = [
  { key: te.encode("k1"), value: te.encode("lz4 " + "abcdefgh".repeat(40)), timestamp: 1.7e12 },
  {
    key: null,
    value: te.encode("x".repeat(300)),
    headers: [{ key: "h", value: te.encode("v") }],
    timestamp: 1.7e12 + 1,
  },
];
const LZ4_BODY =
  "ff079a05000000046b3188056c7a342061626364656667680800ff26af00ee0400020201d8047801" +
  "00ff19500202680276";
const LZ4_FRAMES = [
  "04224d186440a731000000" + LZ4_BODY + "000000005b8553c0",
  "04224d187040ad31000000" + LZ4_BODY + "caceefa800000000",
  "04224d186c4088020000000000002231000000" + LZ4_BODY + "000000005b8553c0",
];

// A batch written by librdkafka (kcat -z snappy): raw Snappy, two records.
const KCAT_SNAPPY_BATCH = "0000000000000000000000630000000002ea0797ce000200000001000001a20f191219" +
  "000001a20f191219ffffffffffffffffffffffffffff000000023e2c48000000013c68656c6c6f204606007c736e61" +
  "707079003000000201247365636f6e64206c696e6520736e6170707900";

function plainBody(): Uint8Array {
  return encodeRecordBatch(RECORDS).subarray(RECORD_BATCH_OVERHEAD);
}

/** Rebuilds an encoded batch with another payload and codec, fixing length and CRC. */
function withPayload(payload: Uint8Array, codec: number): Uint8Array {
  const header = encodeRecordBatch(RECORDS).subarray(0, RECORD_BATCH_OVERHEAD);
  const out = new Uint8Array(RECORD_BATCH_OVERHEAD + payload.length);
  out.set(header);
  out.set(payload, RECORD_BATCH_OVERHEAD);
  const v = new DataView(out.buffer);
  v.setInt32(8, out.length - 12);
  v.setInt16(21, codec);
  v.setUint32(17, crc32c(out.subarray(21)));
  return out;
}

Deno.test("lz4Decompress() decodes frames made by the lz4 tool", () => {
  const expected = plainBody();
  assert.equal(expected.length, 648);
  for (const frame of LZ4_FRAMES) assert.deepEqual(lz4Decompress(hex(frame)), expected);
  // Uncompressed block, short input.
  assert.equal(
    td.decode(lz4Decompress(hex("04224d186440a70300008061626300000000ff53d132"))),
    "abc",
  );
});

Deno.test("decodeRecordBatches() reads lz4-compressed batches", () => {
  for (const frame of LZ4_FRAMES) {
    const [batch] = decodeRecordBatches(withPayload(hex(frame), 3));
    assert.equal(batch.compression, "lz4");
    assert.deepEqual(
      batch.records.map((r) => [r.offset, r.key && td.decode(r.key), td.decode(r.value!)]),
      [
        [0, "k1", "lz4 " + "abcdefgh".repeat(40)],
        [1, null, "x".repeat(300)],
      ],
    );
    assert.deepEqual(batch.records[1].headers, [{ key: "h", value: te.encode("v") }]);
  }
});

Deno.test("decodeRecordBatches() reads a Snappy batch written by librdkafka", () => {
  const [batch] = decodeRecordBatches(hex(KCAT_SNAPPY_BATCH));
  assert.equal(batch.compression, "snappy");
  assert.deepEqual(batch.records.map((r) => [r.offset, r.key, td.decode(r.value!)]), [
    [0, null, "hello hello hello hello snappy"],
    [1, null, "second line snappy"],
  ]);
});

Deno.test("snappyDecompress() reads the xerial framing of the Java client", () => {
  const raw = hex(KCAT_SNAPPY_BATCH).subarray(RECORD_BATCH_OVERHEAD);
  const plain = snappyDecompress(raw);
  // Split the raw block's content into two xerial chunks of raw Snappy (literal-only blocks).
  const literalBlock = (data: Uint8Array) => {
    assert.ok(data.length <= 60 && data.length > 0);
    return new Uint8Array([data.length, (data.length - 1) << 2, ...data]);
  };
  const a = literalBlock(plain.subarray(0, 40));
  const b = literalBlock(plain.subarray(40));
  const framed = new Uint8Array([
    0x82,
    0x53,
    0x4e,
    0x41,
    0x50,
    0x50,
    0x59,
    0x00,
    0,
    0,
    0,
    1,
    0,
    0,
    0,
    1,
    0,
    0,
    0,
    a.length,
    ...a,
    0,
    0,
    0,
    b.length,
    ...b,
  ]);
  assert.deepEqual(snappyDecompress(framed), plain);
  const [batch] = decodeRecordBatches(withPayload(framed, 2));
  assert.deepEqual(batch.records.map((r) => td.decode(r.value!)), [
    "hello hello hello hello snappy",
    "second line snappy",
  ]);
});

Deno.test("snappyDecompress() handles long literals and all copy forms", () => {
  // Literal with a 1-byte extended length (tag 60 << 2), then copies with 1-, 2- and 4-byte
  // offsets, including an overlapping copy that repeats a pattern.
  const lit = te.encode("0123456789".repeat(7)); // 70 bytes
  const block = new Uint8Array([
    70 + 8 + 10 + 5, // uncompressed length varint (93)
    60 << 2,
    69,
    ...lit, // literal of 70
    0x01 | (4 << 2) | (0 << 5),
    10, // copy-1: len 8, offset 10
    0x02 | (9 << 2),
    70,
    0, // copy-2: len 10, offset 70
    0x03 | (4 << 2),
    1,
    0,
    0,
    0, // copy-4: len 5, offset 1 (repeat last byte)
  ]);
  const out = td.decode(snappyDecompress(block));
  assert.equal(out, "0123456789".repeat(7) + "01234567" + "8901234567" + "77777");
});

Deno.test("decompressors reject malformed input with clear errors", () => {
  assert.throws(() => lz4Decompress(new Uint8Array([1, 2, 3, 4, 5, 6, 7])), {
    name: "DecompressionError",
    message: "lz4: not an LZ4 frame (bad magic)",
  });
  const frame = hex(LZ4_FRAMES[0]);
  assert.throws(() => lz4Decompress(frame.subarray(0, 20)), DecompressionError);
  assert.throws(() => snappyDecompress(new Uint8Array([5, 0x01])), {
    name: "DecompressionError",
    message: "snappy: truncated copy",
  });
  assert.throws(() => snappyDecompress(new Uint8Array([4, 0x01 | (0 << 2), 9])), {
    name: "DecompressionError",
    message: "snappy: copy offset 9 outside 0 bytes",
  });
  assert.throws(() => snappyDecompress(new Uint8Array([9, 0, 65])), {
    name: "DecompressionError",
    message: "snappy: decoded 1 bytes, header says 9",
  });
  // Inside a batch the failure is a CORRUPT_MESSAGE KafkaError.
  assert.throws(() => decodeRecordBatches(withPayload(frame.subarray(0, 20), 3)), (e: unknown) => {
    assert.ok(e instanceof KafkaError);
    assert.equal(e.errorName, "CORRUPT_MESSAGE");
    assert.match(e.message, /^record batch: cannot decompress lz4 records: lz4: /);
    return true;
  });
});
