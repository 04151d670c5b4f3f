// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * CRC-32 (IEEE 802.3, the polynomial of zlib's `crc32`), the checksum of the legacy message
 * formats v0 and v1. In TypeScript so that the broker does not load `node:zlib` (and Deno's Node
 * compatibility layer with it) to read an old producer's messages.
 *
 * @module
 */

/** The byte table, made at the first checksum: only old producers' messages need it (issue #17). */
let table: Int32Array | undefined;

function makeTable(): Int32Array {
  const t = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  return t;
}

/**
 * The CRC-32 of `data`, as zlib's `crc32` computes it.
 *
 * @example
 * ```ts
 * import { crc32 } from "./crc32.ts";
 * console.assert(crc32(new TextEncoder().encode("123456789")) === 0xcbf43926);
 * ```
 *
 * @param data The bytes.
 * @returns The checksum, an unsigned 32-bit integer.
 */
export function crc32(data: Uint8Array): number {
  const t = table ??= makeTable();
  let c = -1;
  for (let i = 0; i < data.length; i++) c = t[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}
