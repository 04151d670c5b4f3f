/**
 * Test support for the engine tests (not exported from `mod.ts`): a seeded PRNG, batch
 * builders, and byte helpers.
 *
 * @module
 */

import { buildBatch, type TestRecord } from "../../wasm/testing.ts";
import {
  baseOffsetAt,
  batchSizeAt,
  lastOffsetAt,
  readRecords,
  RECORD_BATCH_OVERHEAD,
} from "../../records/mod.ts";

export { buildBatch, concatBytes, fixCrc } from "../../wasm/testing.ts";

/**
 * A small seeded PRNG (mulberry32) so failures reproduce.
 *
 * @param seed Seed.
 * @returns A function returning floats in [0, 1).
 */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A batch of `count` records with values of `valueBytes` bytes each.
 *
 * @param count Number of records.
 * @param valueBytes Bytes per value.
 * @param baseTimestamp Base timestamp.
 * @param tag Stored in every key, to recognise the batch later.
 * @param tsDeltas Per-record timestamp deltas (default 0).
 * @returns The batch bytes.
 */
export function makeBatch(
  count: number,
  valueBytes: number,
  baseTimestamp: number,
  tag: string,
  tsDeltas?: number[],
): Uint8Array {
  const records: TestRecord[] = [];
  for (let i = 0; i < count; i++) {
    const value = new Uint8Array(valueBytes);
    for (let j = 0; j < valueBytes; j++) value[j] = (i * 31 + j * 7 + tag.length) & 0xff;
    records.push({ key: `${tag}/${i}`, value, timestampDelta: tsDeltas?.[i] ?? 0 });
  }
  return buildBatch({ records, baseTimestamp });
}

/** One stored batch as parsed back from bytes. */
export interface ParsedBatch {
  /** Base offset. */
  baseOffset: number;
  /** Last offset. */
  lastOffset: number;
  /** The batch bytes. */
  bytes: Uint8Array;
}

/**
 * Splits concatenated batches.
 *
 * @param buf Whole batches.
 * @returns The batches.
 * @throws {Error} If `buf` does not end on a batch boundary.
 */
export function splitBatches(buf: Uint8Array): ParsedBatch[] {
  const out: ParsedBatch[] = [];
  let p = 0;
  while (p < buf.length) {
    if (buf.length - p < RECORD_BATCH_OVERHEAD) throw new Error(`partial batch header at ${p}`);
    const size = batchSizeAt(buf, p);
    if (p + size > buf.length) throw new Error(`partial batch at ${p}`);
    out.push({
      baseOffset: baseOffsetAt(buf, p),
      lastOffset: lastOffsetAt(buf, p),
      bytes: buf.slice(p, p + size),
    });
    p += size;
  }
  return out;
}

/**
 * The key of the first record of a batch (as written by {@linkcode makeBatch}).
 *
 * @param batch Batch bytes.
 * @returns The key string.
 */
export function firstKey(batch: Uint8Array): string {
  const r = readRecords(batch, 0, { verifyCrc: false });
  r.next();
  return new TextDecoder().decode(r.key!);
}

/**
 * Compares two byte arrays.
 *
 * @param a First.
 * @param b Second.
 * @returns Whether they are equal.
 */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
