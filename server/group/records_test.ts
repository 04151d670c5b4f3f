// Copyright 2026 the Sluice authors. Apache-2.0 license.
import { deepStrictEqual as assertEquals, throws as assertThrows } from "node:assert/strict";
import { scanBatches } from "../../wasm/mod.ts";
import { decodeRecordBatches, encodeRecordBatch, nextOffsetAfter } from "./records.ts";

const bytes = (s: string) => new TextEncoder().encode(s);

Deno.test("encodeRecordBatch writes a batch the WASM validator accepts", () => {
  const batch = encodeRecordBatch([
    { key: bytes("k1"), value: bytes("v1") },
    { key: bytes("k2"), value: null },
    { key: null, value: new Uint8Array(5000) },
  ], 1_700_000_000_000);
  const scan = scanBatches(batch);
  assertEquals([scan.status, scan.count], [0, 1]);
  const recs = decodeRecordBatches(batch);
  assertEquals(recs.map((r) => [r.offset, r.timestamp, r.key, r.value?.length ?? null]), [
    [0, 1_700_000_000_000, bytes("k1"), 2],
    [1, 1_700_000_000_000, bytes("k2"), null],
    [2, 1_700_000_000_000, null, 5000],
  ]);
  assertEquals(nextOffsetAfter(batch), 3);
});

Deno.test("decodeRecordBatches: base offsets, fromOffset, partial tail, CRC errors", () => {
  const a = encodeRecordBatch([{ key: bytes("a"), value: bytes("1") }, {
    key: bytes("b"),
    value: bytes("2"),
  }], 5);
  const b = encodeRecordBatch([{ key: bytes("c"), value: bytes("3") }], 6);
  new DataView(b.buffer).setBigInt64(0, 2n); // as the log assigns it
  const both = new Uint8Array(a.length + b.length + 7);
  both.set(a);
  both.set(b, a.length);
  both.set(b.subarray(0, 7), a.length + b.length); // a partial batch at the end is ignored
  assertEquals(decodeRecordBatches(both).map((r) => r.offset), [0, 1, 2]);
  assertEquals(decodeRecordBatches(both, 1).map((r) => [r.offset, r.timestamp]), [[1, 5], [2, 6]]);
  assertEquals(nextOffsetAfter(both), 3);
  assertEquals(nextOffsetAfter(new Uint8Array(3)), null);
  const bad = a.slice();
  bad[bad.length - 1] ^= 1;
  assertThrows(
    () => decodeRecordBatches(bad),
    /Cannot decode record batch at offset 0: CRC mismatch/,
  );
  assertThrows(() => encodeRecordBatch([], 0), /no records/);
});
