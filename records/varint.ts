// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * Zigzag varints (int32) and varlongs (int64) as records v2 use them (protobuf's encoding): sizes,
 * writers into a buffer at a position, and a reader over a byte range. Varlongs are JS numbers,
 * exact within ±2^52 (timestamp and offset deltas are far smaller).
 *
 * @module
 */

import { RecordsError, RecordsErrorCode } from "./errors.ts";

function corrupt(detail: string): RecordsError {
  return new RecordsError(RecordsErrorCode.CORRUPT_MESSAGE, `record batch: ${detail}`);
}

/**
 * Bytes the zigzag varint of `v` (a 32-bit signed integer) takes.
 *
 * @example
 * ```ts
 * import { varintSize } from "./varint.ts";
 * console.assert(varintSize(0) === 1 && varintSize(-65) === 2 && varintSize(-1) === 1);
 * ```
 *
 * @param v The value.
 * @returns 1 to 5.
 */
export function varintSize(v: number): number {
  const z = ((v << 1) ^ (v >> 31)) >>> 0;
  return z < 0x80 ? 1 : z < 0x4000 ? 2 : z < 0x200000 ? 3 : z < 0x10000000 ? 4 : 5;
}

/**
 * Bytes the zigzag varlong of the safe integer `v` takes.
 *
 * @example
 * ```ts
 * import { varlongSize } from "./varint.ts";
 * console.assert(varlongSize(1_700_000_000_000) === 6 && varlongSize(-1) === 1);
 * ```
 *
 * @param v The value.
 * @returns 1 to 10.
 */
export function varlongSize(v: number): number {
  if (v >= -0x40000000 && v < 0x40000000) return varintSize(v);
  let z = v >= 0 ? v * 2 : -v * 2 - 1;
  let n = 1;
  while (z >= 128) {
    z = Math.floor(z / 128);
    n++;
  }
  return n;
}

/**
 * Writes the zigzag varint of `v` (a 32-bit signed integer) at `pos`.
 *
 * @example
 * ```ts
 * import { writeVarint } from "./varint.ts";
 * const b = new Uint8Array(5);
 * console.assert(writeVarint(b, 0, -65) === 2 && b[0] === 0x81 && b[1] === 0x01);
 * ```
 *
 * @param buf Buffer with room for {@linkcode varintSize}(v) bytes at `pos`.
 * @param pos Where to write.
 * @param v The value.
 * @returns The position after the varint.
 */
export function writeVarint(buf: Uint8Array, pos: number, v: number): number {
  let z = ((v << 1) ^ (v >> 31)) >>> 0;
  while (z >= 0x80) {
    buf[pos++] = (z & 0x7f) | 0x80;
    z >>>= 7;
  }
  buf[pos++] = z;
  return pos;
}

/**
 * Writes the zigzag varlong of `v` (an integer within ±2^52) at `pos`.
 *
 * @example
 * ```ts
 * import { VarintReader, writeVarlong } from "./varint.ts";
 * const b = new Uint8Array(10);
 * const end = writeVarlong(b, 0, -1_700_000_000_000);
 * console.assert(new VarintReader(b, 0, end).varlong() === -1_700_000_000_000);
 * ```
 *
 * @param buf Buffer with room for {@linkcode varlongSize}(v) bytes at `pos`.
 * @param pos Where to write.
 * @param v The value.
 * @returns The position after the varlong.
 */
export function writeVarlong(buf: Uint8Array, pos: number, v: number): number {
  if (v >= -0x40000000 && v < 0x40000000) return writeVarint(buf, pos, v);
  let z = v >= 0 ? v * 2 : -v * 2 - 1;
  while (z >= 128) {
    buf[pos++] = (z % 128) | 0x80;
    z = Math.floor(z / 128);
  }
  buf[pos++] = z;
  return pos;
}

/**
 * Reads zigzag varints, varlongs and varint-length-prefixed bytes from `buf[pos, end)`. Every
 * read checks the end, so truncated or overlong input is a {@linkcode RecordsError}
 * (`CORRUPT_MESSAGE`), never a read past the range.
 *
 * @example
 * ```ts
 * import { VarintReader } from "./varint.ts";
 * const r = new VarintReader(new Uint8Array([0x01, 0x04, 0x61, 0x62]));
 * console.assert(r.varint() === -1);
 * console.assert(new TextDecoder().decode(r.bytes("key")!) === "ab");
 * ```
 */
export class VarintReader {
  /** The bytes. */
  readonly buf: Uint8Array;
  /** Position of the next read. */
  pos: number;
  /** End of the readable range (exclusive). */
  end: number;

  /**
   * Reads `buf[pos, end)`.
   *
   * @param buf The bytes.
   * @param pos First byte. Default 0.
   * @param end End of the range. Default `buf.length`.
   */
  constructor(buf: Uint8Array, pos = 0, end: number = buf.length) {
    this.buf = buf;
    this.pos = pos;
    this.end = end;
  }

  /**
   * Reads a zigzag varint (int32).
   *
   * @returns The value.
   * @throws {RecordsError} If it is truncated, longer than 5 bytes or overflows 32 bits.
   */
  varint(): number {
    const buf = this.buf;
    let result = 0;
    let shift = 0;
    for (;;) {
      if (this.pos >= this.end) throw corrupt("record truncated inside a varint");
      const b = buf[this.pos++];
      if (shift === 28 && (b & 0x70) !== 0) throw corrupt("varint overflows 32 bits");
      result |= (b & 0x7f) << shift;
      if ((b & 0x80) === 0) break;
      shift += 7;
      if (shift > 28) throw corrupt("varint longer than 5 bytes");
    }
    return (result >>> 1) ^ -(result & 1);
  }

  /**
   * Reads a zigzag varlong (int64) as a number.
   *
   * @returns The value (exact within ±2^52).
   * @throws {RecordsError} If it is truncated or longer than 10 bytes.
   */
  varlong(): number {
    const buf = this.buf;
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw corrupt("record truncated inside a varint");
      const b = buf[this.pos++];
      result += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) return result % 2 === 0 ? result / 2 : -(result + 1) / 2;
      mul *= 128;
    }
    throw corrupt("varint longer than 10 bytes");
  }

  /**
   * Reads varint-length-prefixed bytes (length -1: null) as a view of the buffer.
   *
   * @param what What is read, for the error message (`key`, `value`, `header key`...).
   * @returns The bytes, or `null`.
   * @throws {RecordsError} On a length below -1 or one running past the range.
   */
  bytes(what: string): Uint8Array | null {
    const len = this.varint();
    if (len < 0) {
      if (len === -1) return null;
      throw corrupt(`negative ${what} length ${len}`);
    }
    const start = this.pos;
    if (len > this.end - start) throw corrupt(`${what} runs past the end of the record`);
    this.pos = start + len;
    return this.buf.subarray(start, start + len);
  }

  /**
   * Skips varint-length-prefixed bytes (length -1: null).
   *
   * @param what What is skipped, for the error message.
   * @returns The length read (-1 for null).
   * @throws {RecordsError} As {@linkcode VarintReader.bytes}.
   */
  skipBytes(what: string): number {
    const len = this.varint();
    if (len < 0) {
      if (len === -1) return -1;
      throw corrupt(`negative ${what} length ${len}`);
    }
    if (len > this.end - this.pos) throw corrupt(`${what} runs past the end of the record`);
    this.pos += len;
    return len;
  }
}
