// Copyright 2026 the Sluice authors. Apache-2.0 license.
import assert from "node:assert/strict";
import {
  decodeRecordBatches,
  encodeRecordBatch,
  RecordBatchBuilder,
  type RecordInput,
} from "./mod.ts";
import { decodeUtf8, utf8Length, writeUtf8 } from "./utf8.ts";

const te = new TextEncoder();
const td = new TextDecoder("utf-8", { fatal: true });

/** Fails with where two byte strings first differ (a diff of large arrays would be huge). */
function assertSameBytes(actual: Uint8Array, expected: Uint8Array, what: string): void {
  let i = 0;
  while (i < actual.length && i < expected.length && actual[i] === expected[i]) i++;
  if (i === actual.length && i === expected.length) return;
  assert.fail(
    `${what}: ${actual.length} bytes, expected ${expected.length}; first difference at ${i}: ` +
      `${actual[i]} instead of ${expected[i]}`,
  );
}

/** Strings on every branch: ASCII at the loop limits, 2-, 3- and 4-byte characters, lone and
 * swapped surrogates (TextEncoder writes U+FFFD), a BOM, control characters. */
function samples(): string[] {
  const out = [
    "",
    "a",
    "k17",
    "record-0000000001-".padEnd(100, "x"),
    "x".repeat(255),
    "x".repeat(256),
    "x".repeat(257),
    "x".repeat(5000),
    "\u0000\u0001\u007f",
    "é",
    "ÿ",
    "\u0080",
    "\u07ff\u0800",
    "€uro",
    "clé-ünïcødé",
    "😀",
    "a😀b",
    "\ud800",
    "\udc00",
    "a\ud800b",
    "\udc00\ud800",
    "\ud83d",
    "x\ud83d",
    "\ufeffbom",
    "\uffff",
    "漢字かな",
    "x".repeat(255) + "é",
    "é" + "x".repeat(300),
  ];
  // ASCII of every length around the decoder's and encoder's limits (12, 64, 256).
  for (let n = 0; n <= 70; n++) out.push("abcdefghij".repeat(8).slice(0, n));
  // Pseudo-random strings over the interesting code units (a fixed seed: reproducible).
  let seed = 7;
  const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x80000000;
  const units = [0x41, 0x7f, 0x80, 0x7ff, 0x800, 0xd7ff, 0xd800, 0xdbff, 0xdc00, 0xdfff, 0xe000];
  for (let i = 0; i < 300; i++) {
    const n = Math.floor(rnd() * 40);
    let s = "";
    for (let j = 0; j < n; j++) {
      s += String.fromCharCode(
        rnd() < 0.5 ? 0x20 + Math.floor(rnd() * 95) : units[Math.floor(rnd() * units.length)],
      );
    }
    out.push(s);
  }
  return out;
}

Deno.test("utf8Length and writeUtf8 give TextEncoder's bytes, surrogates and long strings included", () => {
  for (const s of samples()) {
    const want = te.encode(s);
    assert.equal(utf8Length(s), want.length, JSON.stringify(s).slice(0, 40));
    const buf = new Uint8Array(want.length + 8).fill(0xaa);
    assert.equal(writeUtf8(buf, 3, s, want.length), 3 + want.length);
    assertSameBytes(buf.subarray(3, 3 + want.length), want, JSON.stringify(s).slice(0, 40));
    // Nothing written around it.
    assert.deepEqual([...buf.subarray(0, 3)], [0xaa, 0xaa, 0xaa]);
    assert.deepEqual([...buf.subarray(3 + want.length)], new Array(5).fill(0xaa));
  }
});

Deno.test("decodeUtf8 reads as a fatal TextDecoder: ASCII fast path, unicode, BOM, invalid bytes", () => {
  for (const s of samples()) {
    const bytes = te.encode(s);
    assert(decodeUtf8(bytes) === td.decode(bytes), JSON.stringify(s).slice(0, 40));
    // A view in the middle of a larger buffer.
    const big = new Uint8Array(bytes.length + 10);
    big.set(bytes, 5);
    assert(decodeUtf8(big.subarray(5, 5 + bytes.length)) === td.decode(bytes));
  }
  // A leading BOM is dropped, as TextDecoder does.
  assert.equal(decodeUtf8(new Uint8Array([0xef, 0xbb, 0xbf, 0x61])), "a");
  const long = new Array(100).fill(0x61);
  for (
    const bad of [
      [0x80],
      [0x61, 0xff],
      [0xc3],
      [0xed, 0xa0, 0x80],
      [0x61, 0x62, 0xc0, 0xaf],
      [...long, 0xff],
      [0xff, ...long],
      [...long, 0xef, 0xbf], // a U+FFFD cut short
      [...long, 0xef, 0xbf, 0xbd, 0x80],
    ]
  ) {
    assert.throws(() => decodeUtf8(new Uint8Array(bad)), TypeError, JSON.stringify(bad));
  }
  // A real U+FFFD (and a BOM) in long input are read as they are.
  const replacement = te.encode("x".repeat(50) + "\ufffd" + "é".repeat(30) + "\ufffd");
  assert.equal(decodeUtf8(replacement), "x".repeat(50) + "\ufffd" + "é".repeat(30) + "\ufffd");
  assert.equal(decodeUtf8(te.encode("\ufeff" + "y".repeat(60))), "y".repeat(60));
});

Deno.test("RecordBatchBuilder writes text keys, values and header values as their UTF-8 bytes", () => {
  const strings = samples();
  const text = new RecordBatchBuilder(64);
  const bytes: RecordInput[] = [];
  for (let i = 0; i < strings.length; i++) {
    const s = strings[i];
    const keyText = strings[(i * 13) % strings.length];
    const key = i % 7 === 0 ? null : i % 5 === 0 ? te.encode(keyText) : keyText;
    const value = i % 11 === 0 ? null : s;
    const ts = 1_700_000_000_000 + i;
    // No headers at all (the one-pass ASCII path), an empty list, or two.
    const headers = i % 3 === 0 ? undefined : i % 3 === 1 ? [] : [
      { key: s, value: i % 2 === 0 ? s : te.encode(s) },
      { key: "n", value: null },
    ];
    text.append(key, value, ts, headers);
    bytes.push({
      key: key === null ? null : typeof key === "string" ? te.encode(key) : key,
      value: value === null ? null : te.encode(value),
      timestamp: ts,
      headers: (headers ?? []).map((h) => ({
        key: h.key,
        value: typeof h.value === "string" ? te.encode(h.value) : h.value,
      })),
    });
  }
  // Byte for byte the batch the bytes make.
  assertSameBytes(text.finish(), encodeRecordBatch(bytes), "the batch");
  const [batch] = decodeRecordBatches(encodeRecordBatch(bytes));
  assert.equal(batch.records.length, strings.length);
  assert.equal(td.decode(batch.records[1].value!), strings[1]);
});
