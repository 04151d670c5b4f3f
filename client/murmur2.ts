/**
 * Kafka's murmur2 hash (`org.apache.kafka.common.utils.Utils.murmur2`), used by the Java
 * producer's default partitioner.
 *
 * @module
 */

/** Seed used by Kafka's `Utils.murmur2`. */
export const MURMUR2_SEED = 0x9747b28c;

/**
 * Computes Kafka's 32-bit murmur2 hash of `data`, exactly as the Java client does, returned as a
 * signed 32-bit integer (like Java's `int`).
 *
 * @example Hash a key
 * ```ts
 * import { murmur2 } from "./murmur2.ts";
 * murmur2(new TextEncoder().encode("21")); // -973932308
 * ```
 *
 * @param data The bytes to hash.
 * @param length How many bytes of `data` to hash, from its start. Default all.
 * @returns The signed 32-bit hash.
 */
export function murmur2(data: Uint8Array, length: number = data.length): number {
  const m = 0x5bd1e995;
  const r = 24;
  let h = (MURMUR2_SEED ^ length) | 0;
  const length4 = length >>> 2;
  for (let i = 0; i < length4; i++) {
    const i4 = i * 4;
    let k = data[i4] | (data[i4 + 1] << 8) | (data[i4 + 2] << 16) | (data[i4 + 3] << 24);
    k = Math.imul(k, m);
    k ^= k >>> r;
    k = Math.imul(k, m);
    h = Math.imul(h, m);
    h ^= k;
  }
  const tail = length & ~3;
  switch (length & 3) {
    case 3:
      h ^= data[tail + 2] << 16;
    // falls through
    case 2:
      h ^= data[tail + 1] << 8;
    // falls through
    case 1:
      h ^= data[tail];
      h = Math.imul(h, m);
  }
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h | 0;
}

/**
 * Kafka's `Utils.toPositive`: clears the sign bit (not `Math.abs`, which differs for negatives).
 *
 * @example
 * ```ts
 * import { toPositive } from "./murmur2.ts";
 * toPositive(-973932308); // 1173551340
 * ```
 *
 * @param n A signed 32-bit integer.
 * @returns `n & 0x7fffffff`.
 */
export function toPositive(n: number): number {
  return n & 0x7fffffff;
}
