// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * CRC-32 (IEEE, zlib's), as librdkafka's `consistent_random` partitioner uses it on keys. Only
 * the interop tests need it, to predict kcat's placement.
 *
 * @module
 */

const TABLE: Uint32Array = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/**
 * CRC-32 (IEEE 802.3 polynomial, reflected, as zlib's `crc32`).
 *
 * @example
 * ```ts
 * import { crc32 } from "./crc32.ts";
 * crc32(new TextEncoder().encode("123456789")); // 0xcbf43926
 * ```
 *
 * @param data Bytes to checksum.
 * @returns The unsigned 32-bit checksum.
 */
export function crc32(data: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of data) c = TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
