// Copyright 2026 the Sluice authors. Apache-2.0 license.

/**
 * Kafka wire primitives: a bounds-checked {@linkcode Reader} over a `Uint8Array`, a growable
 * {@linkcode Writer} that references large payloads instead of copying them, and the
 * {@linkcode MessageCodec} shape every generated codec implements.
 *
 * Integers: `int64` values are JavaScript numbers (`hi * 2^32 + lo`), exact within ±2^53; larger
 * magnitudes are rounded on read and clamped to the int64 range on write. `uuid` values are
 * Kafka's 22-character base64url strings (as Java's `Uuid.toString()`).
 *
 * @module
 */

import { ProtocolError } from "./errors.ts";

export { ProtocolError };

/** Payloads (`bytes`, `records`, raw) of at least this many bytes are referenced, not copied. */
export const ZERO_COPY_THRESHOLD = 4096;

/** Kafka's all-zero UUID (`Uuid.ZERO_UUID`) in its string form. */
export const ZERO_UUID = "AAAAAAAAAAAAAAAAAAAAAA";

const TWO_32 = 4294967296;
const INT64_MAX = 9223372036854775807; // rounds to 2^63
const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const encoder = new TextEncoder();

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const B64_INDEX = new Int8Array(128).fill(-1);
for (let i = 0; i < 64; i++) B64_INDEX[B64.charCodeAt(i)] = i;

/**
 * Number of bytes `s` takes in UTF-8 (lone surrogates count as U+FFFD, 3 bytes, as
 * `TextEncoder` writes them).
 *
 * @param s The string to measure.
 * @returns Its UTF-8 length in bytes.
 *
 * @example
 * ```ts
 * import { utf8Length } from "./primitives.ts";
 *
 * console.log(utf8Length("héllo")); // 6
 * ```
 */
export function utf8Length(s: string): number {
  const n = s.length;
  let len = n;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) {
      len += 1;
    } else if (c >= 0xd800 && c <= 0xdbff && i + 1 < n) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        len += 2; // 4 bytes for 2 UTF-16 units
        i++;
      } else {
        len += 2;
      }
    } else {
      len += 2;
    }
  }
  return len;
}

/**
 * Converts 16 UUID bytes to Kafka's base64url string form (22 characters, no padding).
 *
 * @param b The buffer holding the UUID.
 * @param off Offset of the first of the 16 bytes.
 * @returns The 22-character string.
 *
 * @example
 * ```ts
 * import { uuidFromBytes } from "./primitives.ts";
 *
 * console.log(uuidFromBytes(new Uint8Array(16))); // "AAAAAAAAAAAAAAAAAAAAAA"
 * ```
 */
export function uuidFromBytes(b: Uint8Array, off = 0): string {
  let s = "";
  let i = off;
  for (let k = 0; k < 5; k++, i += 3) {
    const v = (b[i] << 16) | (b[i + 1] << 8) | b[i + 2];
    s += B64[v >> 18] + B64[(v >> 12) & 63] + B64[(v >> 6) & 63] + B64[v & 63];
  }
  const last = b[i];
  return s + B64[last >> 2] + B64[(last & 3) << 4];
}

/**
 * Parses Kafka's 22-character base64url UUID string into 16 bytes.
 *
 * @param s The UUID string.
 * @param out Where to write the bytes (default: a new array).
 * @param off Offset in `out`.
 * @returns `out`.
 * @throws {ProtocolError} If `s` is not a canonical 22-character base64url UUID.
 *
 * @example
 * ```ts
 * import { uuidToBytes } from "./primitives.ts";
 *
 * console.log(uuidToBytes("AAAAAAAAAAAAAAAAAAAAAQ")[15]); // 1
 * ```
 */
export function uuidToBytes(s: string, out: Uint8Array = new Uint8Array(16), off = 0): Uint8Array {
  if (typeof s !== "string" || s.length !== 22) {
    throw new ProtocolError(`invalid uuid: expected 22 base64url characters, got ${show(s)}`);
  }
  const d = new Array<number>(22);
  for (let i = 0; i < 22; i++) {
    const c = s.charCodeAt(i);
    const v = c < 128 ? B64_INDEX[c] : -1;
    if (v < 0) throw new ProtocolError(`invalid uuid: bad character in ${show(s)}`);
    d[i] = v;
  }
  if ((d[21] & 15) !== 0) throw new ProtocolError(`invalid uuid: non-canonical ${show(s)}`);
  let o = off;
  for (let k = 0; k < 20; k += 4) {
    const v = (d[k] << 18) | (d[k + 1] << 12) | (d[k + 2] << 6) | d[k + 3];
    out[o++] = v >> 16;
    out[o++] = (v >> 8) & 255;
    out[o++] = v & 255;
  }
  out[o] = (d[20] << 2) | (d[21] >> 4);
  return out;
}

function show(v: unknown): string {
  return typeof v === "string"
    ? JSON.stringify(v.length > 40 ? v.slice(0, 40) + "\u2026" : v)
    : String(v);
}

/** Slots of {@linkcode internAscii}'s cache (a power of two). */
const INTERNED_SLOTS = 256;
const interned: (string | undefined)[] = new Array(INTERNED_SLOTS).fill(undefined);

/**
 * The string of `len` (at most 32) ASCII bytes at `p`, from a small cache when the same text was
 * read lately: a broker reads the same client ids and topic names in every request, and a hit
 * allocates nothing (issue #17). A slot holds the last string read with its hash; strings are
 * immutable, so sharing one is safe.
 */
function internAscii(buf: Uint8Array, p: number, len: number): string {
  let h = len;
  for (let i = p; i < p + len; i++) h = (Math.imul(h, 31) + buf[i]) | 0;
  const slot = (h ^ (h >>> 8) ^ (h >>> 16)) & (INTERNED_SLOTS - 1);
  const s = interned[slot];
  if (s !== undefined && s.length === len) {
    let same = true;
    for (let i = 0; i < len; i++) {
      if (s.charCodeAt(i) !== buf[p + i]) {
        same = false;
        break;
      }
    }
    if (same) return s;
  }
  const fresh: string = String.fromCharCode.apply(null, buf.subarray(p, p + len) as never);
  interned[slot] = fresh;
  return fresh;
}

/**
 * A bounds-checked cursor over encoded bytes. Every read past `end` throws a
 * {@linkcode ProtocolError} ("truncated: need N bytes at offset M"); negative or oversized lengths
 * are refused. `bytes` and `records` values are returned as zero-copy `subarray`s of the input.
 *
 * @example
 * ```ts
 * import { Reader } from "./primitives.ts";
 *
 * const r = new Reader(new Uint8Array([0, 0, 0, 42, 0, 2, 104, 105]));
 * console.log(r.readInt32(), r.readString()); // 42 "hi"
 * ```
 */
export class Reader {
  /** The underlying bytes. */
  readonly buf: Uint8Array;
  /** A view over `buf` for multi-byte reads. */
  readonly view: DataView;
  /** Current read offset into `buf`. */
  pos: number;
  /** Offset one past the last readable byte. */
  readonly end: number;

  /**
   * Creates a reader.
   *
   * @param buf The bytes to read.
   * @param offset First byte to read (default 0).
   * @param end One past the last byte to read (default `buf.length`).
   * @throws {ProtocolError} If `offset`/`end` are outside `buf`.
   */
  constructor(buf: Uint8Array, offset = 0, end: number = buf.length) {
    if (offset < 0 || end > buf.length || offset > end) {
      throw new ProtocolError(
        `invalid reader bounds: offset ${offset}, end ${end}, buffer length ${buf.length}`,
      );
    }
    this.buf = buf;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.pos = offset;
    this.end = end;
  }

  /** Bytes left to read. */
  get remaining(): number {
    return this.end - this.pos;
  }

  #need(n: number): number {
    const p = this.pos;
    if (p + n > this.end) {
      throw new ProtocolError(
        `truncated: need ${n} bytes at offset ${p}, only ${this.end - p} remain`,
      );
    }
    this.pos = p + n;
    return p;
  }

  /**
   * Skips `n` bytes.
   *
   * @param n Number of bytes.
   * @throws {ProtocolError} If fewer than `n` bytes remain or `n` is negative.
   */
  skip(n: number): void {
    if (n < 0) throw new ProtocolError(`invalid skip: negative length ${n}`);
    this.#need(n);
  }

  /** Reads a boolean (any non-zero byte is `true`). @returns The value. */
  readBool(): boolean {
    return this.buf[this.#need(1)] !== 0;
  }

  /** Reads an int8. @returns The value. */
  readInt8(): number {
    return this.view.getInt8(this.#need(1));
  }

  /** Reads a big-endian int16. @returns The value. */
  readInt16(): number {
    return this.view.getInt16(this.#need(2));
  }

  /** Reads a big-endian uint16. @returns The value. */
  readUint16(): number {
    return this.view.getUint16(this.#need(2));
  }

  /** Reads a big-endian int32. @returns The value. */
  readInt32(): number {
    return this.view.getInt32(this.#need(4));
  }

  /** Reads a big-endian uint32. @returns The value. */
  readUint32(): number {
    return this.view.getUint32(this.#need(4));
  }

  /**
   * Reads a big-endian int64 as a number (`hi * 2^32 + lo`; exact within ±2^53).
   *
   * @returns The value.
   */
  readInt64(): number {
    const p = this.#need(8);
    return this.view.getInt32(p) * TWO_32 + this.view.getUint32(p + 4);
  }

  /** Reads a big-endian int64 exactly, as a bigint. @returns The value. */
  readBigInt64(): bigint {
    return this.view.getBigInt64(this.#need(8));
  }

  /** Reads a big-endian IEEE 754 float64. @returns The value. */
  readFloat64(): number {
    return this.view.getFloat64(this.#need(8));
  }

  /** Reads a 16-byte UUID as Kafka's base64url string. @returns The 22-character string. */
  readUuid(): string {
    return uuidFromBytes(this.buf, this.#need(16));
  }

  /**
   * Reads an unsigned varint (at most 5 bytes, 32 bits).
   *
   * @returns The value (0 to 2^32-1).
   * @throws {ProtocolError} If the varint is longer than 5 bytes or truncated.
   */
  readUnsignedVarint(): number {
    const buf = this.buf;
    let p = this.pos;
    const end = this.end;
    let value = 0;
    let shift = 0;
    for (let i = 0; i < 5; i++) {
      if (p >= end) {
        throw new ProtocolError(`truncated: need 1 bytes at offset ${p}, only 0 remain`);
      }
      const b = buf[p++];
      value |= (b & 0x7f) << shift;
      if ((b & 0x80) === 0) {
        this.pos = p;
        return value >>> 0;
      }
      shift += 7;
    }
    throw new ProtocolError(`invalid varint at offset ${this.pos}: longer than 5 bytes`);
  }

  #text(len: number): string {
    const p = this.#need(len);
    const buf = this.buf;
    if (len <= 32) {
      let ascii = true;
      for (let i = p; i < p + len; i++) {
        if (buf[i] >= 0x80) {
          ascii = false;
          break;
        }
      }
      if (ascii) return internAscii(buf, p, len);
    }
    try {
      return decoder.decode(buf.subarray(p, p + len));
    } catch {
      throw new ProtocolError(`invalid string at offset ${p}: not valid UTF-8`);
    }
  }

  #len(n: number, what: string): number {
    if (n < 0) {
      throw new ProtocolError(`invalid ${what} at offset ${this.pos}: negative length ${n}`);
    }
    if (n > this.end - this.pos) {
      throw new ProtocolError(
        `truncated: need ${n} bytes at offset ${this.pos}, only ${this.end - this.pos} remain`,
      );
    }
    return n;
  }

  /** Reads a non-null STRING (int16 length). @returns The string. @throws {ProtocolError} On null or bad input. */
  readString(): string {
    const n = this.readInt16();
    if (n === -1) throw new ProtocolError(`invalid string at offset ${this.pos - 2}: null`);
    return this.#text(this.#len(n, "string"));
  }

  /** Reads a NULLABLE_STRING (int16 length, -1 = null). @returns The string or null. */
  readNullableString(): string | null {
    const n = this.readInt16();
    if (n === -1) return null;
    return this.#text(this.#len(n, "string"));
  }

  /**
   * Reads a COMPACT_STRING (uvarint length+1), at most 32767 bytes as every Kafka string.
   * @returns The string. @throws {ProtocolError} On null, over 32767 bytes, or bad input.
   */
  readCompactString(): string {
    const n = this.readUnsignedVarint();
    if (n === 0) throw new ProtocolError(`invalid compact string at offset ${this.pos - 1}: null`);
    return this.#text(this.#compactLen(n - 1));
  }

  /**
   * Reads a COMPACT_NULLABLE_STRING (uvarint length+1, 0 = null), at most 32767 bytes.
   * @returns The string or null. @throws {ProtocolError} Over 32767 bytes, or on bad input.
   */
  readCompactNullableString(): string | null {
    const n = this.readUnsignedVarint();
    if (n === 0) return null;
    return this.#text(this.#compactLen(n - 1));
  }

  /** A compact string's length, refused above 32767 as Kafka's readers do. */
  #compactLen(n: number): number {
    if (n > 0x7fff) {
      throw new ProtocolError(
        `invalid compact string at offset ${this.pos}: length ${n} is over the 32767-byte limit`,
      );
    }
    return this.#len(n, "compact string");
  }

  #sub(n: number): Uint8Array {
    const p = this.#need(n);
    return this.buf.subarray(p, p + n);
  }

  /** Reads non-null BYTES (int32 length) as a zero-copy view. @returns The bytes. */
  readBytes(): Uint8Array {
    const n = this.readInt32();
    if (n === -1) throw new ProtocolError(`invalid bytes at offset ${this.pos - 4}: null`);
    return this.#sub(this.#len(n, "bytes"));
  }

  /** Reads NULLABLE_BYTES (int32 length, -1 = null) as a zero-copy view. @returns The bytes or null. */
  readNullableBytes(): Uint8Array | null {
    const n = this.readInt32();
    if (n === -1) return null;
    return this.#sub(this.#len(n, "bytes"));
  }

  /** Reads COMPACT_BYTES (uvarint length+1) as a zero-copy view. @returns The bytes. */
  readCompactBytes(): Uint8Array {
    const n = this.readUnsignedVarint();
    if (n === 0) throw new ProtocolError(`invalid compact bytes at offset ${this.pos - 1}: null`);
    return this.#sub(this.#len(n - 1, "compact bytes"));
  }

  /** Reads COMPACT_NULLABLE_BYTES (uvarint length+1, 0 = null) as a zero-copy view. @returns The bytes or null. */
  readCompactNullableBytes(): Uint8Array | null {
    const n = this.readUnsignedVarint();
    if (n === 0) return null;
    return this.#sub(this.#len(n - 1, "compact bytes"));
  }

  /** Reads RECORDS (nullable, int32 length) as raw zero-copy bytes. @returns The record bytes or null. */
  readRecords(): Uint8Array | null {
    return this.readNullableBytes();
  }

  /** Reads COMPACT_RECORDS (nullable, uvarint length+1) as raw zero-copy bytes. @returns The record bytes or null. */
  readCompactRecords(): Uint8Array | null {
    return this.readCompactNullableBytes();
  }

  /**
   * Reads an ARRAY length (int32; -1 = null).
   *
   * @returns The element count, or -1 for a null array.
   * @throws {ProtocolError} If the length is below -1 or larger than the bytes remaining.
   */
  readArrayLength(): number {
    const n = this.readInt32();
    if (n === -1) return -1;
    return this.#count(n);
  }

  /**
   * Reads a COMPACT_ARRAY length (uvarint length+1; 0 = null).
   *
   * @returns The element count, or -1 for a null array.
   * @throws {ProtocolError} If the length is larger than the bytes remaining.
   */
  readCompactArrayLength(): number {
    return this.#count(this.readUnsignedVarint() - 1);
  }

  #count(n: number): number {
    if (n < -1) {
      throw new ProtocolError(`invalid array at offset ${this.pos}: negative length ${n}`);
    }
    if (n > this.end - this.pos) {
      throw new ProtocolError(
        `invalid array at offset ${this.pos}: ${n} elements but only ${
          this.end - this.pos
        } bytes remain`,
      );
    }
    return n;
  }

  /** Skips a tagged-field section (count, then tag/size/data per field). */
  skipTaggedFields(): void {
    const n = this.readUnsignedVarint();
    for (let i = 0; i < n; i++) {
      this.readUnsignedVarint();
      this.skip(this.readUnsignedVarint());
    }
  }

  /**
   * Reads the size of one tagged field and returns the offset where it must end.
   *
   * @returns The end offset of the field's data.
   * @throws {ProtocolError} If the size exceeds the bytes remaining.
   */
  readTaggedFieldEnd(): number {
    const size = this.readUnsignedVarint();
    if (size > this.end - this.pos) {
      throw new ProtocolError(
        `truncated: need ${size} bytes at offset ${this.pos}, only ${this.end - this.pos} remain`,
      );
    }
    return this.pos + size;
  }

  /**
   * Checks that a known tagged field consumed exactly its declared size.
   *
   * @param end The offset returned by {@linkcode Reader.readTaggedFieldEnd}.
   * @param what The field, for the error message.
   * @throws {ProtocolError} If the field's data did not end at `end`.
   */
  checkTaggedFieldEnd(end: number, what: string): void {
    if (this.pos !== end) {
      throw new ProtocolError(
        `invalid tagged field ${what}: declared to end at offset ${end}, data ended at ${this.pos}`,
      );
    }
  }
}

/**
 * A growable big-endian encoder. Small values are copied into an internal buffer; `bytes`,
 * `records` and raw payloads of at least {@linkcode ZERO_COPY_THRESHOLD} bytes are referenced
 * (not copied), so {@linkcode Writer.chunks} can hand them to a socket as-is. Do not mutate a
 * referenced payload until the chunks have been written.
 *
 * @example
 * ```ts
 * import { Writer } from "./primitives.ts";
 *
 * const w = new Writer();
 * w.writeInt32(42);
 * w.writeCompactString("hi");
 * console.log(w.finish()); // Uint8Array(7) [0, 0, 0, 42, 3, 104, 105]
 * ```
 */
export class Writer {
  #buf: Uint8Array;
  #view: DataView;
  #pos = 0;
  #start = 0; // start of the not-yet-chunked segment in #buf
  #chunks: Uint8Array[] = [];
  #flushed = 0; // total bytes in #chunks

  /**
   * Creates a writer.
   *
   * @param capacity Initial buffer size in bytes (grows as needed), or a buffer to write into
   * from its start while it has room (then into a new, larger one): the caller's memory, reused
   * across messages, whose {@linkcode Writer.chunks} are views of it.
   */
  constructor(capacity: number | Uint8Array<ArrayBuffer> = 1024) {
    if (typeof capacity === "number") {
      this.#buf = new Uint8Array(Math.max(16, capacity));
      this.#view = new DataView(this.#buf.buffer);
    } else {
      this.#buf = capacity;
      this.#view = new DataView(capacity.buffer, capacity.byteOffset, capacity.byteLength);
    }
  }

  /** Total bytes written so far. */
  get length(): number {
    return this.#flushed + this.#pos - this.#start;
  }

  #grow(n: number): void {
    const used = this.#pos - this.#start;
    const cap = Math.max(this.#buf.length * 2, used + n + 64);
    const nb = new Uint8Array(cap);
    nb.set(this.#buf.subarray(this.#start, this.#pos));
    this.#buf = nb;
    this.#view = new DataView(nb.buffer);
    this.#start = 0;
    this.#pos = used;
  }

  #reserve(n: number): number {
    const p = this.#pos;
    if (p + n > this.#buf.length) {
      this.#grow(n);
      const q = this.#pos;
      this.#pos = q + n;
      return q;
    }
    this.#pos = p + n;
    return p;
  }

  /** Writes a boolean as one byte (1 or 0). @param v The value. */
  writeBool(v: boolean): void {
    const p = this.#reserve(1);
    this.#buf[p] = v ? 1 : 0;
  }

  /** Writes an int8. @param v The value. */
  writeInt8(v: number): void {
    const p = this.#reserve(1);
    this.#view.setInt8(p, v);
  }

  /** Writes a big-endian int16. @param v The value. */
  writeInt16(v: number): void {
    const p = this.#reserve(2);
    this.#view.setInt16(p, v);
  }

  /** Writes a big-endian uint16. @param v The value. */
  writeUint16(v: number): void {
    const p = this.#reserve(2);
    this.#view.setUint16(p, v);
  }

  /** Writes a big-endian int32. @param v The value. */
  writeInt32(v: number): void {
    const p = this.#reserve(4);
    this.#view.setInt32(p, v);
  }

  /** Writes a big-endian uint32. @param v The value. */
  writeUint32(v: number): void {
    const p = this.#reserve(4);
    this.#view.setUint32(p, v);
  }

  /**
   * Writes a number as a big-endian int64 (exact within ±2^53; values beyond the int64 range are
   * clamped, so `2^63` read from `Long.MAX_VALUE` writes back as `Long.MAX_VALUE`).
   *
   * @param v The value.
   */
  writeInt64(v: number): void {
    const p = this.#reserve(8);
    if (v >= INT64_MAX) {
      this.#view.setInt32(p, 0x7fffffff);
      this.#view.setUint32(p + 4, 0xffffffff);
    } else if (v <= -INT64_MAX) {
      this.#view.setInt32(p, -0x80000000);
      this.#view.setUint32(p + 4, 0);
    } else {
      const hi = Math.floor(v / TWO_32);
      this.#view.setInt32(p, hi);
      this.#view.setUint32(p + 4, v - hi * TWO_32);
    }
  }

  /** Writes a bigint as a big-endian int64 (exact). @param v The value. */
  writeBigInt64(v: bigint): void {
    const p = this.#reserve(8);
    this.#view.setBigInt64(p, v);
  }

  /** Writes a big-endian IEEE 754 float64. @param v The value. */
  writeFloat64(v: number): void {
    const p = this.#reserve(8);
    this.#view.setFloat64(p, v);
  }

  /**
   * Writes a UUID given as Kafka's 22-character base64url string.
   *
   * @param v The UUID string.
   * @throws {ProtocolError} If `v` is not a valid UUID string.
   */
  writeUuid(v: string): void {
    const p = this.#reserve(16);
    uuidToBytes(v, this.#buf, p);
  }

  /**
   * Writes an unsigned varint (32 bits).
   *
   * @param v A value from 0 to 2^32-1.
   */
  writeUnsignedVarint(v: number): void {
    if (v < 0x80) {
      const p = this.#reserve(1);
      this.#buf[p] = v;
      return;
    }
    let p = this.#reserve(5);
    const buf = this.#buf;
    let n = v >>> 0;
    while (n >= 0x80) {
      buf[p++] = (n & 0x7f) | 0x80;
      n >>>= 7;
    }
    buf[p++] = n;
    this.#pos = p;
  }

  #utf8(s: string, len: number): void {
    const p = this.#reserve(len);
    const buf = this.#buf;
    if (len === s.length) {
      for (let i = 0; i < len; i++) buf[p + i] = s.charCodeAt(i);
    } else {
      encoder.encodeInto(s, buf.subarray(p, p + len));
    }
  }

  #strLen(s: unknown, what: string): number {
    if (typeof s !== "string") {
      throw new ProtocolError(`cannot write ${what}: expected a string, got ${show(s)}`);
    }
    return utf8Length(s);
  }

  /**
   * Writes a non-null STRING (int16 length).
   *
   * @param s The string.
   * @throws {ProtocolError} If `s` is not a string or longer than 32767 UTF-8 bytes.
   */
  writeString(s: string): void {
    const len = this.#strLen(s, "string");
    if (len > 0x7fff) {
      throw new ProtocolError(`cannot write string: ${len} bytes exceeds the 32767 limit`);
    }
    this.writeInt16(len);
    this.#utf8(s, len);
  }

  /** Writes a NULLABLE_STRING (int16 length, -1 = null). @param s The string or null. */
  writeNullableString(s: string | null): void {
    if (s === null) this.writeInt16(-1);
    else this.writeString(s);
  }

  /**
   * Writes a non-null COMPACT_STRING (uvarint length+1).
   *
   * @param s The string.
   * @throws {ProtocolError} If `s` is not a string or longer than 32767 UTF-8 bytes.
   */
  writeCompactString(s: string): void {
    const len = this.#strLen(s, "compact string");
    if (len > 0x7fff) {
      throw new ProtocolError(`cannot write compact string: ${len} bytes exceeds the 32767 limit`);
    }
    this.writeUnsignedVarint(len + 1);
    this.#utf8(s, len);
  }

  /** Writes a COMPACT_NULLABLE_STRING (uvarint length+1, 0 = null). @param s The string or null. */
  writeCompactNullableString(s: string | null): void {
    if (s === null) this.writeUnsignedVarint(0);
    else this.writeCompactString(s);
  }

  #bytesCheck(b: unknown, what: string): asserts b is Uint8Array {
    if (!(b instanceof Uint8Array)) {
      throw new ProtocolError(`cannot write ${what}: expected a Uint8Array, got ${show(b)}`);
    }
  }

  /**
   * Appends raw bytes with no length prefix. Payloads of at least
   * {@linkcode ZERO_COPY_THRESHOLD} bytes are referenced, not copied.
   *
   * @param b The bytes.
   */
  writeRaw(b: Uint8Array): void {
    const n = b.length;
    if (n >= ZERO_COPY_THRESHOLD) {
      if (this.#pos > this.#start) {
        this.#chunks.push(this.#buf.subarray(this.#start, this.#pos));
        this.#flushed += this.#pos - this.#start;
        this.#start = this.#pos;
      }
      this.#chunks.push(b);
      this.#flushed += n;
      return;
    }
    const p = this.#reserve(n);
    this.#buf.set(b, p);
  }

  /** Writes non-null BYTES (int32 length). @param b The bytes. @throws {ProtocolError} If `b` is not a Uint8Array. */
  writeBytes(b: Uint8Array): void {
    this.#bytesCheck(b, "bytes");
    this.writeInt32(b.length);
    this.writeRaw(b);
  }

  /** Writes NULLABLE_BYTES (int32 length, -1 = null). @param b The bytes or null. */
  writeNullableBytes(b: Uint8Array | null): void {
    if (b === null) this.writeInt32(-1);
    else this.writeBytes(b);
  }

  /** Writes non-null COMPACT_BYTES (uvarint length+1). @param b The bytes. @throws {ProtocolError} If `b` is not a Uint8Array. */
  writeCompactBytes(b: Uint8Array): void {
    this.#bytesCheck(b, "compact bytes");
    this.writeUnsignedVarint(b.length + 1);
    this.writeRaw(b);
  }

  /** Writes COMPACT_NULLABLE_BYTES (uvarint length+1, 0 = null). @param b The bytes or null. */
  writeCompactNullableBytes(b: Uint8Array | null): void {
    if (b === null) this.writeUnsignedVarint(0);
    else this.writeCompactBytes(b);
  }

  /** Writes RECORDS (nullable, int32 length) from raw record-batch bytes. @param b The bytes or null. */
  writeRecords(b: Uint8Array | null): void {
    this.writeNullableBytes(b);
  }

  /** Writes COMPACT_RECORDS (nullable, uvarint length+1) from raw record-batch bytes. @param b The bytes or null. */
  writeCompactRecords(b: Uint8Array | null): void {
    this.writeCompactNullableBytes(b);
  }

  /** Writes an ARRAY length (int32; -1 = null). @param n The element count or -1. */
  writeArrayLength(n: number): void {
    this.writeInt32(n);
  }

  /** Writes a COMPACT_ARRAY length (uvarint length+1; -1 writes 0 = null). @param n The element count or -1. */
  writeCompactArrayLength(n: number): void {
    this.writeUnsignedVarint(n + 1);
  }

  /**
   * Writes one tagged field: its tag, the size of `body`, then `body`'s bytes.
   *
   * @param tag The field's tag.
   * @param body A writer holding the field's encoded value.
   */
  writeTaggedField(tag: number, body: Writer): void {
    this.writeUnsignedVarint(tag);
    this.writeUnsignedVarint(body.length);
    for (const c of body.chunks()) this.writeRaw(c);
  }

  /**
   * Overwrites 4 bytes at an absolute offset already written (e.g. a size prefix reserved with
   * `writeInt32(0)`).
   *
   * @param offset Absolute offset from the start of the output.
   * @param v The int32 value.
   * @throws {ProtocolError} If the offset is outside the written bytes.
   */
  setInt32At(offset: number, v: number): void {
    if (offset < 0 || offset + 4 > this.length) {
      throw new ProtocolError(`invalid patch offset: ${offset} outside 0-${this.length - 4}`);
    }
    const bytes = [(v >>> 24) & 255, (v >>> 16) & 255, (v >>> 8) & 255, v & 255];
    for (let k = 0; k < 4; k++) {
      let o = offset + k;
      if (o >= this.#flushed) {
        this.#buf[this.#start + o - this.#flushed] = bytes[k];
        continue;
      }
      for (const c of this.#chunks) {
        if (o < c.length) {
          c[o] = bytes[k];
          break;
        }
        o -= c.length;
      }
    }
  }

  /**
   * The encoded output as one contiguous array. Without referenced payloads this is a view of the
   * internal buffer (no copy); otherwise the chunks are concatenated.
   *
   * @returns The encoded bytes.
   */
  finish(): Uint8Array {
    if (this.#chunks.length === 0) return this.#buf.subarray(0, this.#pos);
    const out = new Uint8Array(this.length);
    let o = 0;
    for (const c of this.chunks()) {
      out.set(c, o);
      o += c.length;
    }
    return out;
  }

  /**
   * The encoded output as a list of chunks: views of the internal buffer interleaved with the
   * large payloads that were referenced rather than copied. Write them in order.
   *
   * @returns The chunks (never empty arrays except for an empty writer, which returns `[]`).
   */
  chunks(): Uint8Array[] {
    const out = this.#chunks.slice();
    if (this.#pos > this.#start) out.push(this.#buf.subarray(this.#start, this.#pos));
    return out;
  }
}

/**
 * The shape of every generated message codec (one per request, response and header).
 *
 * `read` fills fields absent in `version` with their defaults; `write` ignores them, but throws
 * if a non-ignorable absent field holds a non-default value (as Kafka's generated code does).
 *
 * @typeParam T The versionless message type.
 */
export interface MessageCodec<T> {
  /** Message name, e.g. `"ProduceRequest"`. */
  readonly name: string;
  /** The API key, or -1 for headers. */
  readonly apiKey: number;
  /** Lowest supported version. */
  readonly minVersion: number;
  /** Highest supported version. */
  readonly maxVersion: number;
  /** First flexible (compact, tagged) version; `Infinity` if the message is never flexible. */
  readonly flexibleMinVersion: number;
  /**
   * Decodes one message at the reader's position.
   *
   * @throws {ProtocolError} On truncated or malformed input or an unsupported version.
   */
  read(r: Reader, version: number): T;
  /**
   * Encodes one message.
   *
   * @throws {ProtocolError} On an unsupported version or a value that cannot be encoded.
   */
  write(w: Writer, m: T, version: number): void;
  /** A message with every field at its default, with `init` applied on top. */
  create(init?: Partial<T>): T;
}

/**
 * Encodes a message to bytes.
 *
 * @param codec The message codec.
 * @param m The message.
 * @param version The version to encode.
 * @returns The encoded bytes.
 * @throws {ProtocolError} If the message cannot be encoded in `version`.
 *
 * @example
 * ```ts
 * import { encodeMessage } from "./primitives.ts";
 * import { ApiVersionsRequest } from "./messages/api_versions.ts";
 *
 * const bytes = encodeMessage(ApiVersionsRequest, ApiVersionsRequest.create(), 0);
 * console.log(bytes.length); // 0
 * ```
 */
export function encodeMessage<T>(codec: MessageCodec<T>, m: T, version: number): Uint8Array {
  const w = new Writer();
  codec.write(w, m, version);
  return w.finish();
}

/**
 * Decodes a message that must span all of `bytes`.
 *
 * @param codec The message codec.
 * @param bytes The encoded message.
 * @param version The version to decode.
 * @returns The message.
 * @throws {ProtocolError} On malformed input or trailing bytes.
 *
 * @example
 * ```ts
 * import { decodeMessage } from "./primitives.ts";
 * import { ApiVersionsRequest } from "./messages/api_versions.ts";
 *
 * console.log(decodeMessage(ApiVersionsRequest, new Uint8Array(0), 0)); // {...defaults}
 * ```
 */
export function decodeMessage<T>(codec: MessageCodec<T>, bytes: Uint8Array, version: number): T {
  const r = new Reader(bytes);
  const m = codec.read(r, version);
  if (r.remaining !== 0) {
    throw new ProtocolError(
      `invalid ${codec.name} v${version}: ${r.remaining} trailing bytes after offset ${r.pos}`,
    );
  }
  return m;
}

/**
 * Builds the error for a version outside a codec's range (used by generated code).
 *
 * @param name Message name.
 * @param version Requested version.
 * @param min Lowest supported version.
 * @param max Highest supported version.
 * @returns The error to throw.
 */
export function unsupportedVersion(
  name: string,
  version: number,
  min: number,
  max: number,
): ProtocolError {
  return new ProtocolError(`unsupported version: ${name} v${version} (supported ${min}-${max})`);
}

/**
 * Builds the error for a non-ignorable field holding a non-default value in a version that
 * cannot carry it (used by generated code).
 *
 * @param field `Message.field` path.
 * @param version Version being written.
 * @returns The error to throw.
 */
export function unsupportedField(field: string, version: number): ProtocolError {
  return new ProtocolError(
    `cannot write ${field} in v${version}: the field is not in this version and is not default`,
  );
}

/** Most elements {@linkcode presized} reserves before an array is read. */
const PRESIZED_MAX = 64;

/**
 * An array for `n` elements about to be read (used by generated code), to be filled by index:
 * sized at once up to 64 elements, where a push into `[]` reserves 17 slots (issue #17). `n` comes
 * from the wire and is bounded only by the bytes left, so a longer array grows as it is filled.
 *
 * @param n Elements the array will hold.
 * @returns An array of length `min(n, 64)`, to be filled from index 0.
 */
export function presized<T>(n: number): T[] {
  return new Array(n < PRESIZED_MAX ? n : PRESIZED_MAX);
}

/**
 * Builds the error for a null value in a non-nullable field (used by generated code).
 *
 * @param field `Message.field` path.
 * @param version Version being read or written.
 * @returns The error to throw.
 */
export function nonNullable(field: string, version: number): ProtocolError {
  return new ProtocolError(`invalid ${field} in v${version}: null in a non-nullable field`);
}
