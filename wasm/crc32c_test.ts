// Copyright 2026 the Sluice authors. Apache-2.0 license.
import assert from "node:assert/strict";
import { crc32c } from "./mod.ts";
import { referenceCrc32c } from "./reference.ts";

const enc = new TextEncoder();

function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomBytes(rnd: () => number, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (rnd() * 256) | 0;
  return out;
}

// RFC 3720 appendix B.4 test vectors, plus the classic check value.
const vectors: [string, Uint8Array, number][] = [
  ["123456789", enc.encode("123456789"), 0xe3069283],
  ["32 zero bytes", new Uint8Array(32), 0x8a9136aa],
  ["32 0xff bytes", new Uint8Array(32).fill(0xff), 0x62a8ab43],
  ["32 ascending bytes", Uint8Array.from({ length: 32 }, (_, i) => i), 0x46dd794e],
  ["32 descending bytes", Uint8Array.from({ length: 32 }, (_, i) => 31 - i), 0x113fdb5c],
  ["empty", new Uint8Array(0), 0],
];

Deno.test("crc32c() matches the RFC 3720 and check vectors (WASM and reference)", () => {
  for (const [name, data, want] of vectors) {
    assert.equal(crc32c(data), want, `WASM: ${name}`);
    assert.equal(referenceCrc32c(data), want, `reference: ${name}`);
  }
});

Deno.test("crc32c() iSCSI read command PDU vector from RFC 3720", () => {
  // Exact PDU bytes from RFC 3720 B.4 (48 bytes).
  const pdu = Uint8Array.from([
    0x01,
    0xc0,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x14,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x04,
    0x00,
    0x00,
    0x00,
    0x00,
    0x14,
    0x00,
    0x00,
    0x00,
    0x18,
    0x28,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x02,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
  ]);
  assert.equal(crc32c(pdu), 0xd9963a56);
  assert.equal(referenceCrc32c(pdu), 0xd9963a56);
});

Deno.test("crc32c() equals the reference for every length 0..2200 and odd offsets", () => {
  const rnd = random(1);
  const data = randomBytes(rnd, 2300);
  for (let n = 0; n <= 2200; n++) {
    const off = n % 13;
    const part = data.subarray(off, off + n);
    assert.equal(crc32c(part), referenceCrc32c(part), `length ${n} at offset ${off}`);
  }
});

Deno.test("crc32c() equals the reference around the block, interleaving and window boundaries", () => {
  const rnd = random(2);
  const data = randomBytes(rnd, 1_100_000);
  const lengths = [
    1023,
    1024,
    1025,
    3071,
    3072,
    3073,
    16383,
    16384,
    16385,
    17407,
    17408,
    17409,
    65536 + 1024 + 5,
    24575,
    24576,
    24577,
    49151,
    49152,
    49153,
    65536,
    262143,
    262144,
    262145,
    524288 + 7,
    1_100_000,
  ];
  for (const n of lengths) {
    const part = data.subarray(0, n);
    assert.equal(crc32c(part), referenceCrc32c(part), `length ${n}`);
  }
});

Deno.test("crc32c() continues from a previous CRC (any split point)", () => {
  const rnd = random(3);
  const data = randomBytes(rnd, 70_000);
  const whole = referenceCrc32c(data);
  for (let i = 0; i < 50; i++) {
    const cut = (rnd() * data.length) | 0;
    const first = crc32c(data.subarray(0, cut));
    assert.equal(crc32c(data.subarray(cut), first), whole, `split at ${cut}`);
  }
  // A negative (signed) seed is the same 32-bit value.
  const c = crc32c(data.subarray(0, 10));
  assert.equal(crc32c(data.subarray(10), c | 0), whole);
});

Deno.test("crc32c() rejects bad arguments with clear errors", () => {
  assert.throws(() => crc32c("abc" as unknown as Uint8Array), {
    name: "TypeError",
    message: "crc32c: data must be a Uint8Array, got string",
  });
  assert.throws(() => crc32c(new Uint8Array(1), 1.5), {
    name: "RangeError",
    message: "crc32c: crc must be a 32-bit integer, got 1.5",
  });
  assert.throws(() => crc32c(new Uint8Array(1), 2 ** 32), { name: "RangeError" });
});
