// Copyright 2026 the Sluice authors. Apache-2.0 license.

import assert from "node:assert/strict";
import { ProtocolError } from "./errors.ts";
import {
  decodeMessage,
  Reader,
  utf8Length,
  uuidFromBytes,
  uuidToBytes,
  Writer,
  ZERO_COPY_THRESHOLD,
  ZERO_UUID,
} from "./primitives.ts";
import { ApiVersionsRequest } from "./messages/api_versions.ts";

const bytes = (...xs: number[]): Uint8Array => new Uint8Array(xs);
const enc = (f: (w: Writer) => void): Uint8Array => {
  const w = new Writer(16);
  f(w);
  return w.finish();
};

Deno.test("fixed-width integers are big-endian", () => {
  const out = enc((w) => {
    w.writeInt8(-2);
    w.writeInt16(-2);
    w.writeUint16(65535);
    w.writeInt32(0x01020304);
    w.writeUint32(0xfffffffe);
    w.writeBool(true);
    w.writeBool(false);
  });
  assert.deepStrictEqual(
    out,
    bytes(0xfe, 0xff, 0xfe, 0xff, 0xff, 1, 2, 3, 4, 0xff, 0xff, 0xff, 0xfe, 1, 0),
  );
  const r = new Reader(out);
  assert.deepStrictEqual(
    [r.readInt8(), r.readInt16(), r.readUint16(), r.readInt32(), r.readUint32()],
    [-2, -2, 65535, 0x01020304, 0xfffffffe],
  );
  assert.equal(r.readBool(), true);
  assert.equal(r.readBool(), false);
  assert.equal(r.remaining, 0);
});

Deno.test("int64 as number: exact within ±2^53, clamped beyond", () => {
  const cases: [number, number[]][] = [
    [0, [0, 0, 0, 0, 0, 0, 0, 0]],
    [-1, [255, 255, 255, 255, 255, 255, 255, 255]],
    [2 ** 32, [0, 0, 0, 1, 0, 0, 0, 0]],
    [2 ** 53 - 1, [0, 0x1f, 255, 255, 255, 255, 255, 255]],
    [-(2 ** 53 - 1), [255, 0xe0, 0, 0, 0, 0, 0, 1]],
    [2 ** 63, [0x7f, 255, 255, 255, 255, 255, 255, 255]], // Long.MAX_VALUE read back as 2^63
    [-(2 ** 63), [0x80, 0, 0, 0, 0, 0, 0, 0]],
  ];
  for (const [v, b] of cases) {
    const out = enc((w) => w.writeInt64(v));
    assert.deepStrictEqual(out, new Uint8Array(b), `write ${v}`);
    assert.equal(new Reader(out).readInt64(), v, `read ${v}`);
  }
  const big = enc((w) => w.writeBigInt64(9223372036854775807n));
  assert.equal(new Reader(big).readBigInt64(), 9223372036854775807n);
  assert.equal(new Reader(big).readInt64(), 2 ** 63);
  assert.equal(new Reader(enc((w) => w.writeFloat64(-0.5))).readFloat64(), -0.5);
});

Deno.test("unsigned varints match Kafka's encoding (zigzag varints are records/varint.ts's)", () => {
  const uv: [number, number[]][] = [
    [0, [0]],
    [1, [1]],
    [127, [0x7f]],
    [128, [0x80, 1]],
    [300, [0xac, 2]],
    [16383, [0xff, 0x7f]],
    [0xffffffff, [0xff, 0xff, 0xff, 0xff, 0x0f]],
  ];
  for (const [v, b] of uv) {
    assert.deepStrictEqual(enc((w) => w.writeUnsignedVarint(v)), new Uint8Array(b));
    assert.equal(new Reader(new Uint8Array(b)).readUnsignedVarint(), v);
  }
  assert.throws(
    () => new Reader(bytes(0x80, 0x80, 0x80, 0x80, 0x80, 0x01)).readUnsignedVarint(),
    /longer than 5 bytes/,
  );
  assert.throws(() => new Reader(bytes(0x80)).readUnsignedVarint(), /truncated/);
});

Deno.test("strings: classic and compact, nullable, unicode, length limits", () => {
  const out = enc((w) => {
    w.writeString("hi");
    w.writeNullableString(null);
    w.writeCompactString("é");
    w.writeCompactNullableString(null);
    w.writeCompactString("");
  });
  assert.deepStrictEqual(out, bytes(0, 2, 104, 105, 255, 255, 3, 0xc3, 0xa9, 0, 1));
  const r = new Reader(out);
  assert.equal(r.readString(), "hi");
  assert.equal(r.readNullableString(), null);
  assert.equal(r.readCompactString(), "é");
  assert.equal(r.readCompactNullableString(), null);
  assert.equal(r.readCompactString(), "");
  for (const s of ["🚀 rocket", "日本", "a\u0000b", "\ufeffbom", "x".repeat(1000)]) {
    assert.equal(new Reader(enc((w) => w.writeCompactString(s))).readCompactString(), s);
    assert.equal(utf8Length(s), new TextEncoder().encode(s).length);
  }
  assert.equal(utf8Length("\ud800"), 3); // lone surrogate → U+FFFD
  assert.throws(() => enc((w) => w.writeString("x".repeat(32768))), /exceeds the 32767 limit/);
  assert.throws(() => enc((w) => w.writeString(null as unknown as string)), ProtocolError);
  assert.throws(() => new Reader(bytes(255, 255)).readString(), /null/);
  assert.throws(() => new Reader(bytes(255, 254)).readNullableString(), /negative length -2/);
  assert.throws(() => new Reader(bytes(0, 3, 0xff, 0xfe, 0x41)).readString(), /not valid UTF-8/);
  assert.throws(() => new Reader(bytes(0)).readCompactString(), /null/);
});

Deno.test("compact strings over 32767 bytes are refused on read, as Kafka does", () => {
  // A request naming a 32768-byte topic decoded, and its answer could not be encoded (fuzzer).
  const compact = (n: number) => {
    const w = new Writer();
    w.writeUnsignedVarint(n + 1);
    const b = w.finish();
    const out = new Uint8Array(b.length + n).fill(0x61);
    out.set(b);
    return out;
  };
  assert.equal(new Reader(compact(32767)).readCompactString().length, 32767);
  assert.equal(new Reader(compact(32767)).readCompactNullableString()?.length, 32767);
  for (const n of [32768, 100_000]) {
    assert.throws(
      () => new Reader(compact(n)).readCompactString(),
      (e) =>
        e instanceof ProtocolError && /length \d+ is over the 32767-byte limit/.test(e.message),
    );
    assert.throws(() => new Reader(compact(n)).readCompactNullableString(), ProtocolError);
  }
});

Deno.test("bytes are zero-copy views on read", () => {
  const buf = bytes(0, 0, 0, 3, 7, 8, 9, 4, 1, 2, 3, 255, 255, 255, 255, 0);
  const r = new Reader(buf);
  const a = r.readBytes();
  assert.deepStrictEqual(a, bytes(7, 8, 9));
  assert.equal(a.buffer, buf.buffer);
  assert.deepStrictEqual(r.readCompactBytes(), bytes(1, 2, 3));
  assert.equal(r.readRecords(), null);
  assert.equal(r.readCompactRecords(), null);
  assert.throws(() => new Reader(bytes(0, 0, 0, 9, 1)).readBytes(), /truncated: need 9 bytes/);
  assert.throws(() => new Reader(bytes(255, 255, 255, 0)).readNullableBytes(), /negative length/);
});

Deno.test("truncated reads throw ProtocolError naming size and offset", () => {
  const r = new Reader(bytes(1, 2, 3));
  r.readInt8();
  assert.throws(
    () => r.readInt32(),
    (e: unknown) =>
      e instanceof ProtocolError &&
      e.message === "truncated: need 4 bytes at offset 1, only 2 remain",
  );
  assert.throws(() => new Reader(bytes()).readInt64(), ProtocolError);
  assert.throws(() => new Reader(bytes(1, 2)).readUuid(), ProtocolError);
  assert.throws(() => new Reader(bytes(1, 2, 3), 2, 1), /invalid reader bounds/);
});

Deno.test("array lengths: -1 is null, others are bounded by the bytes remaining", () => {
  assert.equal(new Reader(bytes(255, 255, 255, 255)).readArrayLength(), -1);
  assert.equal(new Reader(bytes(0)).readCompactArrayLength(), -1);
  assert.equal(new Reader(bytes(0, 0, 0, 2, 1, 1)).readArrayLength(), 2);
  assert.throws(
    () => new Reader(bytes(0x7f, 255, 255, 255)).readArrayLength(),
    /2147483647 elements but only 0 bytes remain/,
  );
  assert.throws(() => new Reader(bytes(255, 255, 255, 254)).readArrayLength(), /negative/);
});

Deno.test("uuid: Kafka's base64url form, 22 characters", () => {
  const b = new Uint8Array(16).map((_, i) => i * 17);
  const s = uuidFromBytes(b);
  const viaBtoa = btoa(String.fromCharCode(...b)).replace(/\+/g, "-").replace(/\//g, "_")
    .replace(/=+$/, "");
  assert.equal(s, viaBtoa);
  assert.equal(s.length, 22);
  assert.deepStrictEqual(uuidToBytes(s), b);
  assert.equal(uuidFromBytes(new Uint8Array(16)), ZERO_UUID);
  assert.equal(new Reader(enc((w) => w.writeUuid(s))).readUuid(), s);
  assert.throws(() => uuidToBytes("short"), /expected 22 base64url characters/);
  assert.throws(() => uuidToBytes("AAAAAAAAAAAAAAAAAAAAA+"), /bad character/);
  assert.throws(() => uuidToBytes("AAAAAAAAAAAAAAAAAAAAAB"), /non-canonical/);
});

Deno.test("Writer references large payloads instead of copying them", () => {
  const big = new Uint8Array(ZERO_COPY_THRESHOLD).fill(7);
  const small = new Uint8Array(100).fill(3);
  const w = new Writer(8);
  w.writeInt32(0); // size placeholder
  w.writeBytes(small);
  w.writeCompactRecords(big);
  w.writeInt16(9);
  w.setInt32At(0, w.length - 4);
  const chunks = w.chunks();
  assert.equal(chunks.length, 3);
  assert.equal(chunks[1], big, "the payload itself is a chunk, not a copy");
  assert.equal(w.length, 4 + 4 + 100 + 2 + ZERO_COPY_THRESHOLD + 2);
  const all = w.finish();
  assert.equal(all.length, w.length);
  const r = new Reader(all);
  assert.equal(r.readInt32(), w.length - 4);
  assert.deepStrictEqual(r.readBytes(), small);
  assert.deepStrictEqual(r.readCompactRecords(), big);
  assert.equal(r.readInt16(), 9);
  assert.equal(r.remaining, 0);
  assert.throws(() => w.setInt32At(w.length - 2, 1), /invalid patch offset/);
});

Deno.test("Writer grows from a tiny buffer without corrupting earlier bytes", () => {
  const w = new Writer(1);
  for (let i = 0; i < 1000; i++) {
    w.writeInt32(i);
    w.writeCompactString(`s${i}`);
    w.writeUuid(ZERO_UUID);
  }
  const r = new Reader(w.finish());
  for (let i = 0; i < 1000; i++) {
    assert.equal(r.readInt32(), i);
    assert.equal(r.readCompactString(), `s${i}`);
    assert.equal(r.readUuid(), ZERO_UUID);
  }
  assert.equal(r.remaining, 0);
});

Deno.test("decodeMessage refuses trailing bytes", () => {
  assert.deepStrictEqual(
    decodeMessage(ApiVersionsRequest, bytes(), 0),
    ApiVersionsRequest.create(),
  );
  assert.throws(() => decodeMessage(ApiVersionsRequest, bytes(1), 0), /1 trailing bytes/);
});

Deno.test("short ASCII strings read from a reused buffer are each their own text, whatever the reader read before (the interned strings)", () => {
  // every length up to 32, texts that differ in one byte, in the first or last position, and
  // many more texts than the cache has slots, read from ONE buffer overwritten in place (as a
  // connection's read buffer is), interleaved and read again
  const texts: string[] = [];
  for (let len = 0; len <= 32; len++) {
    for (let k = 0; k < 40; k++) {
      const chars = Array.from({ length: len }, (_, i) => 97 + ((i * 7 + k) % 26));
      if (len > 0) chars[k % 2 === 0 ? 0 : len - 1] = 48 + (k % 10);
      texts.push(String.fromCharCode(...chars));
    }
  }
  const buf = new Uint8Array(2 + 32);
  const read = (t: string) => {
    buf[0] = 0;
    buf[1] = t.length;
    for (let i = 0; i < t.length; i++) buf[2 + i] = t.charCodeAt(i);
    buf.fill(0x7a, 2 + t.length);
    return new Reader(buf, 0, 2 + t.length).readString();
  };
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < texts.length; i++) {
      const t = texts[(i * 97 + round * 13) % texts.length];
      assert.equal(read(t), t);
      assert.equal(read(t), t); // the second read of the same text: a cache hit
    }
  }
  // the same text after the buffer changed under it: the reader never returns stale bytes
  const a = read("orders");
  buf[2] = 0x62;
  assert.equal(new Reader(buf, 0, 8).readString(), "brders");
  assert.equal(a, "orders");
});
