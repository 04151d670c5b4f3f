// Copyright 2026 the Sluice authors. Apache-2.0 license.
import assert from "node:assert/strict";
import { gzipSync } from "node:zlib";
import { seededRandom } from "../wasm/testing.ts";
import { compress, decompress } from "./compression.ts";
import { DecompressionError, RecordsError } from "./errors.ts";
import { lz4Compress, lz4Decompress, xxhash32 } from "./lz4.ts";
import { snappyCompress, snappyDecompress } from "./snappy.ts";
import { decodeRecordBatches } from "./batch_reader.ts";
import { encodeRecordBatch } from "./batch_builder.ts";
import {
  type CompressionName,
  LENGTH_OFFSET,
  LOG_OVERHEAD,
  RECORD_BATCH_OVERHEAD,
  setAttributesAt,
  updateCrcAt,
  writeInt32,
} from "./layout.ts";

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

/** The xerial framing header: `\x82SNAPPY\0`, version 1, compatible version 1. */
const XERIAL_HEADER = [0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00, 0, 0, 0, 1, 0, 0, 0, 1];

function plainBody(): Uint8Array {
  return encodeRecordBatch(RECORDS).subarray(RECORD_BATCH_OVERHEAD);
}

/** Rebuilds an encoded batch with another payload and codec, fixing length and CRC. */
function withPayload(payload: Uint8Array, codec: number): Uint8Array {
  const header = encodeRecordBatch(RECORDS).subarray(0, RECORD_BATCH_OVERHEAD);
  const out = new Uint8Array(RECORD_BATCH_OVERHEAD + payload.length);
  out.set(header);
  out.set(payload, RECORD_BATCH_OVERHEAD);
  writeInt32(out, LENGTH_OFFSET, out.length - LOG_OVERHEAD);
  setAttributesAt(out, 0, codec);
  updateCrcAt(out, 0);
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
    ...XERIAL_HEADER,
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
  // Inside a batch the failure is a CORRUPT_MESSAGE RecordsError.
  assert.throws(() => decodeRecordBatches(withPayload(frame.subarray(0, 20), 3)), (e: unknown) => {
    assert.ok(e instanceof RecordsError);
    assert.equal(e.code, 2);
    assert.match(e.message, /^record batch: cannot decompress lz4 records: lz4: /);
    return true;
  });
});

/** Test inputs: empty, tiny, around the codecs' block sizes, text-like and random. */
function samples(): [string, Uint8Array][] {
  const rnd = seededRandom(11);
  const random = (n: number) => Uint8Array.from({ length: n }, () => (rnd() * 256) | 0);
  const words = ["kafka", "sluice", "record", "batch", "offset", " ", "\n", "0123"];
  const text = (n: number) => {
    let s = "";
    while (s.length < n) s += words[(rnd() * words.length) | 0];
    return te.encode(s.slice(0, n));
  };
  const out: [string, Uint8Array][] = [["empty", new Uint8Array(0)]];
  for (const n of [1, 4, 11, 12, 13, 14, 15, 16, 17, 100, 1000]) {
    out.push([`text ${n}`, text(n)], [`random ${n}`, random(n)]);
  }
  for (const n of [32767, 32768, 32769, 65535, 65536, 65537, 200_000]) {
    out.push([`text ${n}`, text(n)], [`random ${n}`, random(n)]);
  }
  out.push(["zeros 300000", new Uint8Array(300_000)]);
  out.push(["one long run then noise", new Uint8Array([...new Uint8Array(70_000), ...random(50)])]);
  return out;
}

Deno.test("every codec round-trips empty, tiny, block-boundary, text and random inputs", () => {
  const codecs: CompressionName[] = ["none", "gzip", "snappy", "lz4", "zstd"];
  for (const [name, data] of samples()) {
    for (const codec of codecs) {
      const packed = compress(data, codec);
      assert.deepEqual(decompress(packed, codec), data, `${codec} ${name}`);
    }
    assert.deepEqual(snappyDecompress(snappyCompress(data, { raw: true })), data, `raw ${name}`);
    assert.deepEqual(
      lz4Decompress(lz4Compress(data, { brokenHeaderChecksum: true })),
      data,
      `legacy lz4 ${name}`,
    );
  }
});

Deno.test("snappy and lz4 compress repetitive data and stay near size on random data", () => {
  const text = te.encode("the quick brown fox jumps over the lazy dog ".repeat(2000));
  assert.ok(snappyCompress(text).length < text.length / 5);
  assert.ok(lz4Compress(text).length < text.length / 5);
  const rnd = seededRandom(3);
  const noise = Uint8Array.from({ length: 100_000 }, () => (rnd() * 256) | 0);
  // Incompressible: LZ4 stores blocks as they are (high bit of the block size), Snappy as
  // literals; both add a few bytes per block only.
  assert.ok(lz4Compress(noise).length <= noise.length + 7 + 4 * 2 + 4);
  assert.ok(snappyCompress(noise).length <= noise.length + 16 + 4 * 4 + 20 * 4);
});

Deno.test("snappyCompress() writes the xerial framing in 32 KiB blocks", () => {
  const data = te.encode("0123456789abcdef".repeat(5000)); // 80000 bytes: 3 blocks
  const out = snappyCompress(data);
  assert.deepEqual([...out.subarray(0, 16)], XERIAL_HEADER);
  const view = new DataView(out.buffer, out.byteOffset);
  const blocks: number[] = [];
  for (let p = 16; p < out.length;) {
    const size = view.getInt32(p);
    blocks.push(snappyDecompress(out.subarray(p + 4, p + 4 + size)).length);
    p += 4 + size;
  }
  assert.deepEqual(blocks, [32768, 32768, 80000 - 65536]);
});

Deno.test("lz4Compress() writes Kafka's frame header (FLG 0x60, BD 0x40) with its checksum", () => {
  const frame = lz4Compress(te.encode("abc"));
  assert.deepEqual([...frame.subarray(0, 7)], [0x04, 0x22, 0x4d, 0x18, 0x60, 0x40, 0x82]);
  // Message format v0 readers expect the checksum over the magic too (Kafka's broken HC).
  const legacy = lz4Compress(te.encode("abc"), { brokenHeaderChecksum: true });
  assert.equal(legacy[6], (xxhash32(legacy.subarray(0, 6)) >>> 8) & 0xff);
  assert.notEqual(legacy[6], 0x82);
  // A 3-byte input is stored as it is (incompressible), then the end mark.
  assert.deepEqual([...frame.subarray(7)], [3, 0, 0, 0x80, 0x61, 0x62, 0x63, 0, 0, 0, 0]);
});

Deno.test("xxhash32() matches the reference and the lz4 tool's header checksums", () => {
  assert.equal(xxhash32(new Uint8Array(0)), 0x02cc5d05);
  assert.equal(xxhash32(te.encode("a")), 0x550d7456);
  assert.equal(xxhash32(te.encode("abc")), 0x32d153ff);
  // Header checksums of the frames above, written by the lz4 command-line tool.
  for (const frame of LZ4_FRAMES) {
    const f = hex(frame);
    const end = (f[4] & 0x08) !== 0 ? 14 : 6;
    assert.equal((xxhash32(f.subarray(4, end)) >>> 8) & 0xff, f[end]);
  }
});

Deno.test("records compressed with every codec decode inside batches", () => {
  for (const codec of ["gzip", "snappy", "lz4", "zstd"] as const) {
    const batch = encodeRecordBatch(RECORDS, { compression: codec, baseOffset: 9 });
    assert.equal(batch.length - RECORD_BATCH_OVERHEAD, compress(plainBody(), codec).length);
    const [b] = decodeRecordBatches(batch);
    assert.equal(b.compression, codec);
    assert.deepEqual(b.records.map((r) => r.value && td.decode(r.value)), [
      "lz4 " + "abcdefgh".repeat(40),
      "x".repeat(300),
    ]);
  }
});

Deno.test("decompress() names the codec on broken gzip and zstd input", () => {
  const gz = gzipSync(new Uint8Array([1, 2, 3]));
  assert.throws(() => decompress(gz.subarray(0, gz.length - 4), "gzip"), {
    name: "DecompressionError",
    message: /^gzip: /,
  });
  assert.throws(() => decompress(new Uint8Array([1, 2, 3]), "zstd"), {
    name: "DecompressionError",
    message: /^zstd: /,
  });
});

/** Runs a command on a file holding `input`; returns its stdout. */
async function run(cmd: string, args: string[], input: Uint8Array): Promise<Uint8Array> {
  const file = await Deno.makeTempFile();
  try {
    await Deno.writeFile(file, input);
    const out = await new Deno.Command(cmd, { args: [...args, file], stdout: "piped" }).output();
    if (!out.success) throw new Error(`${cmd} ${args.join(" ")} failed`);
    return out.stdout;
  } finally {
    await Deno.remove(file);
  }
}

function hasCommand(cmd: string, args: string[]): boolean {
  try {
    return new Deno.Command(cmd, { args, stdout: "null", stderr: "null" }).outputSync().success;
  } catch {
    return false;
  }
}

Deno.test({
  name:
    "lz4 frames made here are read by the lz4 tool (which checks the header checksum), and back",
  // The tool comes with Debian's lz4 package (.ci/run installs it); librdkafka checks our frames
  // in the interop tests either way.
  ignore: !hasCommand("lz4", ["-V"]) && Deno.env.get("CI") !== "true",
  async fn() {
    for (const [name, data] of samples()) {
      assert.deepEqual(await run("lz4", ["-d", "-c"], lz4Compress(data)), data, name);
      // lz4 1.9.4 itself fails to compress files of 65533-65535 bytes (dstMaxSize_tooSmall).
      if (data.length >= 65533 && data.length <= 65535) continue;
      const linked = await run("lz4", ["-c", "-B4", "-BD"], data);
      assert.deepEqual(lz4Decompress(linked), data, `linked blocks ${name}`);
      const checked = await run("lz4", ["-c", "-B5", "-BX", "--content-size"], data);
      assert.deepEqual(lz4Decompress(checked), data, `checksums ${name}`);
    }
  },
});

Deno.test("decompress() refuses output over maxBytes for every codec, before allocating it", () => {
  const raw = new Uint8Array(4 << 20); // 4 MiB of zeros: a few KiB compressed (a small bomb)
  for (const codec of ["gzip", "snappy", "lz4", "zstd"] as const) {
    const packed = compress(raw, codec);
    assert.ok(packed.length < 256 * 1024, `${codec}: ${packed.length}`);
    assert.throws(
      () => decompress(packed, codec, { maxBytes: (4 << 20) - 1 }),
      (e: unknown) =>
        e instanceof DecompressionError && e.code === 2 &&
        e.message ===
          `${codec}: the decompressed data is larger than the limit of ${(4 << 20) - 1} bytes`,
    );
    assert.equal(decompress(packed, codec, { maxBytes: 4 << 20 }).length, 4 << 20, codec);
    assert.equal(decompress(packed, codec).length, 4 << 20, codec);
  }
});
