// Copyright 2026 the Sluice authors. Apache-2.0 license.
import assert from "node:assert/strict";
import { seededRandom } from "../wasm/testing.ts";
import { RecordsError } from "./errors.ts";
import { VarintReader, varintSize, varlongSize, writeVarint, writeVarlong } from "./varint.ts";

// Protobuf zigzag vectors (as Kafka's ByteUtilsTest).
const VECTORS: [number, number[]][] = [
  [0, [0x00]],
  [-1, [0x01]],
  [1, [0x02]],
  [-64, [0x7f]],
  [63, [0x7e]],
  [64, [0x80, 0x01]],
  [-65, [0x81, 0x01]],
  [8191, [0xfe, 0x7f]],
  [-8192, [0xff, 0x7f]],
  [2147483647, [0xfe, 0xff, 0xff, 0xff, 0x0f]],
  [-2147483648, [0xff, 0xff, 0xff, 0xff, 0x0f]],
];

Deno.test("varints match the zigzag vectors both ways", () => {
  for (const [v, bytes] of VECTORS) {
    const b = new Uint8Array(10);
    assert.equal(writeVarint(b, 0, v), bytes.length, `${v}`);
    assert.deepEqual([...b.subarray(0, bytes.length)], bytes);
    assert.equal(varintSize(v), bytes.length);
    assert.equal(new VarintReader(Uint8Array.from(bytes)).varint(), v);
    assert.equal(writeVarlong(b, 0, v), bytes.length);
    assert.deepEqual([...b.subarray(0, bytes.length)], bytes);
    assert.equal(new VarintReader(Uint8Array.from(bytes)).varlong(), v);
  }
  // Varlongs beyond 32 bits, up to ±2^52 (the zigzag form of larger values is not exact).
  const b = new Uint8Array(10);
  for (
    const v of [2 ** 40 + 3, -(2 ** 40) - 3, 2 ** 52 - 1, -(2 ** 52)]
  ) {
    const n = writeVarlong(b, 0, v);
    assert.equal(n, varlongSize(v));
    assert.equal(new VarintReader(b, 0, n).varlong(), v);
  }
});

Deno.test("property: random int32 and safe-integer varlongs round-trip with exact sizes", () => {
  const rnd = seededRandom(17);
  const b = new Uint8Array(12);
  for (let i = 0; i < 20_000; i++) {
    const v32 = (rnd() * 2 ** 32) | 0;
    const n = writeVarint(b, 1, v32) - 1;
    assert.equal(n, varintSize(v32));
    assert.equal(new VarintReader(b, 1, 1 + n).varint(), v32);
    const v64 = Math.floor((rnd() - 0.5) * 2 ** (1 + ((rnd() * 53) | 0)));
    const m = writeVarlong(b, 1, v64) - 1;
    assert.equal(m, varlongSize(v64));
    const r = new VarintReader(b, 1, 1 + m);
    assert.equal(r.varlong(), v64);
    assert.equal(r.pos, 1 + m);
  }
});

Deno.test("truncated, overlong and out-of-range input is a RecordsError", () => {
  const read = (bytes: number[], f: (r: VarintReader) => unknown) => () =>
    f(new VarintReader(Uint8Array.from(bytes)));
  assert.throws(read([0x80], (r) => r.varint()), {
    name: "RecordsError",
    message: "record batch: record truncated inside a varint",
  });
  assert.throws(read([0x80, 0x80, 0x80, 0x80, 0x80, 0x01], (r) => r.varint()), RecordsError);
  assert.throws(read([0xff, 0xff, 0xff, 0xff, 0x1f], (r) => r.varint()), /overflows 32 bits/);
  assert.throws(read(Array(10).fill(0x80).concat([1]), (r) => r.varlong()), /longer than 10/);
  assert.throws(read([0x03], (r) => r.bytes("key")), /negative key length -2/);
  assert.throws(read([0x06, 1, 2], (r) => r.bytes("value")), /value runs past the end/);
  // The range end is respected even when the buffer goes on.
  const r = new VarintReader(Uint8Array.from([0x04, 1, 2, 3]), 0, 2);
  assert.throws(() => r.bytes("key"), /key runs past the end/);
  assert.equal(new VarintReader(Uint8Array.from([0x01])).bytes("key"), null);
  assert.equal(new VarintReader(Uint8Array.from([0x01])).skipBytes("key"), -1);
});
