// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * A small record batch v2 encoder and decoder for the broker's own internal topics
 * (`__consumer_offsets`): uncompressed batches, no producer id, CRC-32C from the WASM core.
 * (The client has a full-featured codec in `client/record_batch.ts`; they are to be unified.)
 *
 * @module
 */

import { Reader, Writer } from "../../protocol/primitives.ts";
import { crc32c } from "../../wasm/mod.ts";

/** One record to encode. */
export interface InternalRecord {
  /** Key bytes, or `null`. */
  key: Uint8Array | null;
  /** Value bytes, or `null` (a tombstone). */
  value: Uint8Array | null;
}

/** One decoded record. */
export interface DecodedInternalRecord extends InternalRecord {
  /** Absolute offset. */
  offset: number;
  /** Timestamp (ms). */
  timestamp: number;
}

/** Size of the v2 batch header, up to and including the record count. */
const HEADER = 61;
const CRC_START = 21; // attributes onward are covered by the CRC

/**
 * Encode records as one uncompressed v2 record batch (base offset 0, CreateTime `timestamp` for
 * every record, producer id -1).
 *
 * @example
 * ```ts
 * import { decodeRecordBatches, encodeRecordBatch } from "./records.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 *
 * const k = new Uint8Array([1]);
 * const batch = encodeRecordBatch([{ key: k, value: null }], 1700000000000);
 * const [r] = decodeRecordBatches(batch);
 * assertEquals([r.offset, r.timestamp, r.key, r.value], [0, 1700000000000, k, null]);
 * ```
 *
 * @param records At least one record.
 * @param timestamp Timestamp of every record (ms).
 * @returns The batch bytes.
 * @throws {RangeError} If `records` is empty.
 */
export function encodeRecordBatch(records: InternalRecord[], timestamp: number): Uint8Array {
  if (records.length === 0) {
    throw new RangeError("Cannot encode a record batch: no records");
  }
  const body = new Writer(256);
  for (let i = 0; i < records.length; i++) {
    const r = records[i];
    const rec = new Writer(128);
    rec.writeInt8(0); // attributes
    rec.writeVarlong(0); // timestamp delta
    rec.writeVarint(i); // offset delta
    writeVarBytes(rec, r.key);
    writeVarBytes(rec, r.value);
    rec.writeVarint(0); // headers
    const bytes = rec.finish();
    body.writeVarint(bytes.length);
    body.writeRaw(bytes);
  }
  const recordBytes = body.finish();
  const out = new Uint8Array(HEADER + recordBytes.length);
  const v = new DataView(out.buffer);
  v.setBigInt64(0, 0n); // base offset (assigned by the log)
  v.setInt32(8, out.length - 12); // batch length
  v.setInt32(12, -1); // partition leader epoch
  v.setInt8(16, 2); // magic
  v.setInt16(21, 0); // attributes: no compression, CreateTime
  v.setInt32(23, records.length - 1); // last offset delta
  v.setBigInt64(27, BigInt(timestamp)); // base timestamp
  v.setBigInt64(35, BigInt(timestamp)); // max timestamp
  v.setBigInt64(43, -1n); // producer id
  v.setInt16(51, -1); // producer epoch
  v.setInt32(53, -1); // base sequence
  v.setInt32(57, records.length);
  out.set(recordBytes, HEADER);
  v.setUint32(17, crc32c(out.subarray(CRC_START)));
  return out;
}

function writeVarBytes(w: Writer, b: Uint8Array | null): void {
  if (b === null) {
    w.writeVarint(-1);
    return;
  }
  w.writeVarint(b.length);
  w.writeRaw(b);
}

/**
 * Decode every record of consecutive v2 batches (as returned by `PartitionLog.read`), skipping
 * control batches and records before `fromOffset`. A trailing partial batch is ignored.
 *
 * @param buf The batches.
 * @param fromOffset Records below this offset are skipped.
 * @returns The records, in offset order.
 * @throws {RangeError} On a bad magic, a CRC mismatch, a compressed batch or malformed records,
 *   naming the batch's base offset.
 */
export function decodeRecordBatches(buf: Uint8Array, fromOffset = 0): DecodedInternalRecord[] {
  const out: DecodedInternalRecord[] = [];
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let pos = 0;
  while (pos + 12 <= buf.length) {
    const baseOffset = Number(view.getBigInt64(pos));
    const size = 12 + view.getInt32(pos + 8);
    if (size < HEADER || pos + size > buf.length) break;
    const fail = (detail: string): never => {
      throw new RangeError(`Cannot decode record batch at offset ${baseOffset}: ${detail}`);
    };
    const magic = view.getInt8(pos + 16);
    if (magic !== 2) fail(`unsupported magic ${magic}`);
    const crc = view.getUint32(pos + 17);
    const actual = crc32c(buf.subarray(pos + CRC_START, pos + size));
    if (crc !== actual) fail(`CRC mismatch (stored ${crc}, computed ${actual})`);
    const attributes = view.getInt16(pos + 21);
    if ((attributes & 0x07) !== 0) {
      fail(`compressed batches (codec ${attributes & 7}) are not supported here`);
    }
    const baseTimestamp = Number(view.getBigInt64(pos + 27));
    const count = view.getInt32(pos + 57);
    if ((attributes & 0x20) === 0) {
      const r = new Reader(buf, pos + HEADER, pos + size);
      try {
        for (let i = 0; i < count; i++) {
          const len = r.readVarint();
          const end = r.pos + len;
          r.readInt8();
          const tsDelta = r.readVarlong();
          const offsetDelta = r.readVarint();
          const key = readVarBytes(r);
          const value = readVarBytes(r);
          r.pos = end; // headers are not used by internal topics
          const offset = baseOffset + offsetDelta;
          if (offset < fromOffset) continue;
          out.push({ offset, timestamp: baseTimestamp + tsDelta, key, value });
        }
      } catch (e) {
        if (e instanceof RangeError) throw e;
        fail(e instanceof Error ? e.message : String(e));
      }
    }
    pos += size;
  }
  return out;
}

function readVarBytes(r: Reader): Uint8Array | null {
  const n = r.readVarint();
  if (n < 0) return null;
  const start = r.pos;
  r.skip(n);
  return r.buf.slice(start, start + n);
}

/**
 * The offset after the last complete batch in `buf` (where the next read should start), or
 * `null` if `buf` holds no complete batch.
 *
 * @param buf Consecutive batches.
 * @returns The next offset, or `null`.
 */
export function nextOffsetAfter(buf: Uint8Array): number | null {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let pos = 0;
  let next: number | null = null;
  while (pos + 12 <= buf.length) {
    const size = 12 + view.getInt32(pos + 8);
    if (size < HEADER || pos + size > buf.length) break;
    next = Number(view.getBigInt64(pos)) + view.getInt32(pos + 23) + 1;
    pos += size;
  }
  return next;
}
