// Copyright 2026 the Sluice authors. Apache-2.0 license.
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { crc32 } from "./crc32.ts";

Deno.test("crc32() matches the IEEE check value and zlib", () => {
  const enc = new TextEncoder();
  assertEquals(crc32(enc.encode("123456789")), 0xcbf43926);
  assertEquals(crc32(new Uint8Array(0)), 0);
  // values from Python's zlib.crc32
  assertEquals(crc32(enc.encode("user-0")), 153187970);
  assertEquals(crc32(enc.encode("The quick brown fox jumps over the lazy dog")), 1095738169);
});
