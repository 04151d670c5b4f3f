/**
 * Pure-TypeScript decompressors for the codecs `node:zlib` lacks: Snappy (raw, and the xerial
 * framing the Java client writes) and LZ4 (the frame format Kafka uses for v2 batches).
 * Decompression only: this client produces with none, gzip or zstd.
 *
 * @module
 */

/** Thrown on malformed compressed input. */
export class DecompressionError extends Error {
  /**
   * Creates a decompression error.
   *
   * @param message What is malformed.
   */
  constructor(message: string) {
    super(message);
    this.name = "DecompressionError";
  }
}

const XERIAL_MAGIC = [0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00];

class Output {
  buf: Uint8Array;
  pos = 0;
  constructor(size: number) {
    this.buf = new Uint8Array(Math.max(16, size));
  }
  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
  }
  literal(src: Uint8Array, from: number, len: number): void {
    this.ensure(len);
    this.buf.set(src.subarray(from, from + len), this.pos);
    this.pos += len;
  }
  copy(offset: number, len: number, what: string): void {
    if (offset <= 0 || offset > this.pos) {
      throw new DecompressionError(`${what}: copy offset ${offset} outside ${this.pos} bytes`);
    }
    this.ensure(len);
    const b = this.buf;
    let from = this.pos - offset;
    // Byte by byte: overlapping copies repeat the pattern.
    for (let i = 0; i < len; i++) b[this.pos++] = b[from++];
  }
  result(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }
}

function snappyRaw(src: Uint8Array, start: number, end: number, out: Output): void {
  let pos = start;
  let expected = 0;
  let shift = 0;
  for (;;) {
    if (pos >= end) throw new DecompressionError("snappy: truncated length header");
    const b = src[pos++];
    expected += (b & 0x7f) * 2 ** shift;
    if ((b & 0x80) === 0) break;
    shift += 7;
    if (shift > 28) throw new DecompressionError("snappy: length header too long");
  }
  const target = out.pos + expected;
  out.ensure(expected);
  while (pos < end) {
    const tag = src[pos++];
    const kind = tag & 3;
    if (kind === 0) {
      let len = tag >>> 2;
      if (len >= 60) {
        const bytes = len - 59;
        if (pos + bytes > end) throw new DecompressionError("snappy: truncated literal length");
        len = 0;
        for (let i = 0; i < bytes; i++) len += src[pos++] * 2 ** (8 * i);
      }
      len += 1;
      if (pos + len > end) throw new DecompressionError("snappy: literal runs past the input");
      out.literal(src, pos, len);
      pos += len;
    } else if (kind === 1) {
      if (pos >= end) throw new DecompressionError("snappy: truncated copy");
      const len = ((tag >>> 2) & 7) + 4;
      const offset = ((tag >>> 5) << 8) | src[pos++];
      out.copy(offset, len, "snappy");
    } else if (kind === 2) {
      if (pos + 2 > end) throw new DecompressionError("snappy: truncated copy");
      const len = (tag >>> 2) + 1;
      const offset = src[pos] | (src[pos + 1] << 8);
      pos += 2;
      out.copy(offset, len, "snappy");
    } else {
      if (pos + 4 > end) throw new DecompressionError("snappy: truncated copy");
      const len = (tag >>> 2) + 1;
      const offset =
        (src[pos] | (src[pos + 1] << 8) | (src[pos + 2] << 16) | (src[pos + 3] << 24)) >>> 0;
      pos += 4;
      out.copy(offset, len, "snappy");
    }
  }
  if (out.pos !== target) {
    throw new DecompressionError(`snappy: decoded ${out.pos} bytes, header says ${target}`);
  }
}

/**
 * Decompresses Snappy data: a raw Snappy block, or the xerial framing (`\x82SNAPPY\0` header
 * then length-prefixed blocks) written by Kafka's Java client.
 *
 * @example
 * ```ts
 * import { snappyDecompress } from "./compression.ts";
 * // Raw block: length 3, literal "abc".
 * new TextDecoder().decode(snappyDecompress(new Uint8Array([3, 8, 97, 98, 99]))); // "abc"
 * ```
 *
 * @param src Compressed bytes.
 * @returns The decompressed bytes.
 * @throws {DecompressionError} On malformed input.
 */
export function snappyDecompress(src: Uint8Array): Uint8Array {
  const out = new Output(src.length * 4);
  const xerial = src.length >= 16 && XERIAL_MAGIC.every((b, i) => src[i] === b);
  if (!xerial) {
    snappyRaw(src, 0, src.length, out);
    return out.result();
  }
  const view = new DataView(src.buffer, src.byteOffset, src.byteLength);
  let pos = 16;
  while (pos < src.length) {
    if (pos + 4 > src.length) throw new DecompressionError("snappy: truncated xerial block size");
    const size = view.getInt32(pos);
    pos += 4;
    if (size < 0 || pos + size > src.length) {
      throw new DecompressionError(`snappy: xerial block of ${size} bytes runs past the input`);
    }
    snappyRaw(src, pos, pos + size, out);
    pos += size;
  }
  return out.result();
}

function lz4Block(src: Uint8Array, start: number, end: number, out: Output): void {
  let pos = start;
  while (pos < end) {
    const token = src[pos++];
    let litLen = token >>> 4;
    if (litLen === 15) {
      let b: number;
      do {
        if (pos >= end) throw new DecompressionError("lz4: truncated literal length");
        b = src[pos++];
        litLen += b;
      } while (b === 255);
    }
    if (pos + litLen > end) throw new DecompressionError("lz4: literals run past the block");
    out.literal(src, pos, litLen);
    pos += litLen;
    if (pos === end) break; // last sequence has literals only
    if (pos + 2 > end) throw new DecompressionError("lz4: truncated match offset");
    const offset = src[pos] | (src[pos + 1] << 8);
    pos += 2;
    let matchLen = token & 15;
    if (matchLen === 15) {
      let b: number;
      do {
        if (pos >= end) throw new DecompressionError("lz4: truncated match length");
        b = src[pos++];
        matchLen += b;
      } while (b === 255);
    }
    out.copy(offset, matchLen + 4, "lz4");
  }
}

/**
 * Decompresses an LZ4 frame (magic `0x184D2204`), as Kafka writes for v2 record batches.
 * Checksums are not verified (the batch CRC already covers the compressed bytes).
 *
 * @example
 * ```ts
 * import { lz4Decompress } from "./compression.ts";
 * const frame = new Uint8Array([
 *   0x04, 0x22, 0x4d, 0x18, 0x60, 0x40, 0x82, // magic, FLG, BD, header checksum
 *   0x03, 0x00, 0x00, 0x80, 0x61, 0x62, 0x63, // one uncompressed block: "abc"
 *   0x00, 0x00, 0x00, 0x00, // end mark
 * ]);
 * new TextDecoder().decode(lz4Decompress(frame)); // "abc"
 * ```
 *
 * @param src Compressed bytes.
 * @returns The decompressed bytes.
 * @throws {DecompressionError} On malformed input or a legacy (non-frame) format.
 */
export function lz4Decompress(src: Uint8Array): Uint8Array {
  const view = new DataView(src.buffer, src.byteOffset, src.byteLength);
  if (src.length < 7 || view.getUint32(0, true) !== 0x184d2204) {
    throw new DecompressionError("lz4: not an LZ4 frame (bad magic)");
  }
  const flg = src[4];
  if ((flg >>> 6) !== 1) {
    throw new DecompressionError(`lz4: unsupported frame version ${flg >>> 6}`);
  }
  const blockChecksum = (flg & 0x10) !== 0;
  const contentSize = (flg & 0x08) !== 0;
  const contentChecksum = (flg & 0x04) !== 0;
  const dictId = (flg & 0x01) !== 0;
  let pos = 6 + (contentSize ? 8 : 0) + (dictId ? 4 : 0) + 1;
  const out = new Output(src.length * 4);
  for (;;) {
    if (pos + 4 > src.length) throw new DecompressionError("lz4: truncated block size");
    const raw = view.getUint32(pos, true);
    pos += 4;
    if (raw === 0) break;
    const size = raw & 0x7fffffff;
    if (pos + size > src.length) throw new DecompressionError("lz4: block runs past the input");
    if (raw & 0x80000000) out.literal(src, pos, size);
    else lz4Block(src, pos, pos + size, out);
    pos += size + (blockChecksum ? 4 : 0);
  }
  if (contentChecksum && pos + 4 > src.length) {
    throw new DecompressionError("lz4: truncated content checksum");
  }
  return out.result();
}
