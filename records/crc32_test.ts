// Copyright 2026 the Sluice authors. Apache-2.0 license.
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { crc32 as zlibCrc32 } from "node:zlib";
import { crc32 } from "./crc32.ts";

Deno.test("crc32 matches zlib's on the check value, empty input and random lengths", () => {
  assertEquals(crc32(new TextEncoder().encode("123456789")), 0xcbf43926);
  assertEquals(crc32(new Uint8Array(0)), 0);
  let seed = 7;
  for (let n = 0; n < 300; n += 7) {
    const data = new Uint8Array(n * 13);
    for (let i = 0; i < data.length; i++) {
      data[i] = (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24;
    }
    assertEquals(crc32(data), zlibCrc32(data) >>> 0);
  }
});
