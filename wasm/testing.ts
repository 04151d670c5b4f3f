// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * Test support (NOT part of `mod.ts`): builds valid Kafka record batches v2 from records,
 * computing lengths and the CRC-32C with the plain-TS reference, so tests of every layer can
 * make real data without trusting the code under test.
 *
 * @example
 * ```ts
 * import { buildBatch } from "./testing.ts";
 * import { scanBatches } from "./mod.ts";
 *
 * const batch = buildBatch({ baseOffset: 5, records: [{ key: "k", value: "v" }] });
 * console.assert(scanBatches(batch).count === 1);
 * ```
 *
 * @module
 */

import { referenceCrc32c } from "./reference.ts";

/** Bytes, a string (encoded as UTF-8) or null. */
export type BytesLike = Uint8Array | string | null;

/** A record header. The key may not be null. */
export interface TestHeader {
  /** Header key. */
  key: Uint8Array | string;
  /** Header value (null allowed). */
  value: BytesLike;
}

/** A record to put in a batch. */
export interface TestRecord {
  /** Key (null allowed). */
  key: BytesLike;
  /** Value (null allowed). */
  value: BytesLike;
  /** Headers (default none). */
  headers?: TestHeader[];
  /** Timestamp delta from the batch's baseTimestamp (default 0). */
  timestampDelta?: number;
}

/** Describes a batch for {@link buildBatch}. */
export interface BuildBatchOptions {
  /** baseOffset (default 0). */
  baseOffset?: number;
  /** The records; offsetDelta of record i is i. */
  records: TestRecord[];
  /** baseTimestamp (default 0); maxTimestamp is baseTimestamp + the largest delta. */
  baseTimestamp?: number;
  /** producerId (default -1). */
  producerId?: number;
  /** producerEpoch (default -1). */
  producerEpoch?: number;
  /** baseSequence (default -1). */
  baseSequence?: number;
  /** attributes (default 0: uncompressed, CreateTime, not transactional, not control). */
  attributes?: number;
  /** partitionLeaderEpoch (default -1). */
  partitionLeaderEpoch?: number;
}

const encoder = new TextEncoder();

function toBytes(b: Uint8Array | string): Uint8Array {
  return typeof b === "string" ? encoder.encode(b) : b;
}

/** Collects small varint bytes and large raw parts without copying the parts twice. */
class Writer {
  parts: Uint8Array[] = [];
  small: number[] = [];
  length = 0;
  byte(b: number): void {
    this.small.push(b);
    this.length++;
  }
  varint(v: number): void {
    let z = ((v << 1) ^ (v >> 31)) >>> 0;
    while (z >= 0x80) {
      this.byte((z & 0x7f) | 0x80);
      z >>>= 7;
    }
    this.byte(z);
  }
  varlong(v: number): void {
    let z = BigInt.asUintN(64, (BigInt(v) << 1n) ^ (BigInt(v) >> 63n));
    while (z >= 0x80n) {
      this.byte(Number(z & 0x7fn) | 0x80);
      z >>= 7n;
    }
    this.byte(Number(z));
  }
  raw(b: Uint8Array): void {
    this.flush();
    this.parts.push(b);
    this.length += b.length;
  }
  nullable(b: BytesLike): void {
    if (b === null) {
      this.varint(-1);
    } else {
      const u = toBytes(b);
      this.varint(u.length);
      this.raw(u);
    }
  }
  flush(): void {
    if (this.small.length > 0) {
      this.parts.push(Uint8Array.from(this.small));
      this.small = [];
    }
  }
  finish(): Uint8Array {
    this.flush();
    return concatBytes(this.parts);
  }
}

/**
 * Encodes one record (length prefix included) as it appears inside a batch.
 *
 * @example
 * ```ts
 * import { encodeRecord } from "./testing.ts";
 *
 * // length 7, attributes, tsDelta 0, offsetDelta 0, key null, value "v", 0 headers
 * const r = encodeRecord({ key: null, value: "v" }, 0);
 * console.assert(r.length === 8 && r[0] === 14);
 * ```
 *
 * @param record The record.
 * @param offsetDelta Its offsetDelta (its index in the batch).
 * @returns The encoded bytes.
 */
export function encodeRecord(record: TestRecord, offsetDelta: number): Uint8Array {
  const body = new Writer();
  body.byte(0); // attributes
  body.varlong(record.timestampDelta ?? 0);
  body.varint(offsetDelta);
  body.nullable(record.key);
  body.nullable(record.value);
  const headers = record.headers ?? [];
  body.varint(headers.length);
  for (const h of headers) {
    const k = toBytes(h.key);
    body.varint(k.length);
    body.raw(k);
    body.nullable(h.value);
  }
  const out = new Writer();
  out.varint(body.length);
  out.raw(body.finish());
  return out.finish();
}

/**
 * Builds a valid record batch v2 (magic 2) holding `records`, computing batchLength,
 * lastOffsetDelta, recordCount, maxTimestamp and the CRC-32C.
 *
 * @example
 * ```ts
 * import { buildBatch } from "./testing.ts";
 *
 * const b = buildBatch({ baseOffset: 0, records: [{ key: null, value: "hello" }] });
 * console.assert(b[16] === 2); // magic
 * ```
 *
 * @param options The batch fields and records.
 * @returns The batch bytes (12 + batchLength).
 */
export function buildBatch(options: BuildBatchOptions): Uint8Array {
  const recs = options.records.map((r, i) => encodeRecord(r, i));
  let recBytes = 0;
  for (const r of recs) recBytes += r.length;
  const size = 61 + recBytes;
  const out = new Uint8Array(size);
  const dv = new DataView(out.buffer);
  const baseTimestamp = options.baseTimestamp ?? 0;
  let maxDelta = 0;
  for (const r of options.records) maxDelta = Math.max(maxDelta, r.timestampDelta ?? 0);
  dv.setBigInt64(0, BigInt(options.baseOffset ?? 0));
  dv.setInt32(8, size - 12);
  dv.setInt32(12, options.partitionLeaderEpoch ?? -1);
  dv.setInt8(16, 2);
  dv.setInt16(21, options.attributes ?? 0);
  dv.setInt32(23, options.records.length - 1);
  dv.setBigInt64(27, BigInt(baseTimestamp));
  dv.setBigInt64(35, BigInt(baseTimestamp + maxDelta));
  dv.setBigInt64(43, BigInt(options.producerId ?? -1));
  dv.setInt16(51, options.producerEpoch ?? -1);
  dv.setInt32(53, options.baseSequence ?? -1);
  dv.setInt32(57, options.records.length);
  let p = 61;
  for (const r of recs) {
    out.set(r, p);
    p += r.length;
  }
  fixCrc(out);
  return out;
}

/**
 * Recomputes and stores the CRC-32C of the batch at `position` (after a test edits it).
 *
 * @example
 * ```ts
 * import { buildBatch, fixCrc } from "./testing.ts";
 *
 * const b = buildBatch({ records: [{ key: null, value: "x" }] });
 * b[24] = 7; // corrupt lastOffsetDelta on purpose...
 * fixCrc(b); // ...but keep the CRC right so the test reaches the record-count check
 * ```
 *
 * @param batch Bytes holding the batch.
 * @param position Where the batch starts (default 0); its batchLength field must be right.
 */
export function fixCrc(batch: Uint8Array, position = 0): void {
  const dv = new DataView(batch.buffer, batch.byteOffset, batch.byteLength);
  const end = position + 12 + dv.getInt32(position + 8);
  dv.setUint32(position + 17, referenceCrc32c(batch.subarray(position + 21, end)));
}

/**
 * Concatenates byte arrays (e.g. several batches into one log buffer).
 *
 * @example
 * ```ts
 * import { concatBytes } from "./testing.ts";
 *
 * console.assert(concatBytes([new Uint8Array(2), new Uint8Array(3)]).length === 5);
 * ```
 *
 * @param parts The arrays.
 * @returns A new array holding them in order.
 */
export function concatBytes(parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  n = 0;
  for (const p of parts) {
    out.set(p, n);
    n += p.length;
  }
  return out;
}

/**
 * A small seeded PRNG (mulberry32) for reproducible property tests.
 *
 * @example
 * ```ts
 * import { seededRandom } from "./testing.ts";
 *
 * const a = seededRandom(7);
 * const b = seededRandom(7);
 * console.assert(a() === b());
 * ```
 *
 * @param seed Any 32-bit integer.
 * @returns A function returning numbers in [0, 1).
 */
export function seededRandom(seed: number): () => number {
  let s = seed | 0;
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
