// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * LZ4 in pure TypeScript, in the LZ4 frame format Kafka uses (`KafkaLZ4BlockOutputStream`):
 * compression writes what the Java client writes (FLG: version 1, independent blocks, no
 * checksums; BD: 64 KiB blocks; the header checksum is the second byte of XXH32 over FLG and BD, or
 * over magic, FLG and BD for message format v0, whose readers expect that broken value);
 * decompression reads any LZ4 frame (linked or independent blocks, with or without checksums and
 * content size; checksums are not verified, the batch CRC covers the bytes).
 *
 * @module
 */

import { ByteSink } from "./byte_sink.ts";
import { DecompressionError } from "./errors.ts";

/** LZ4 frame magic number (little-endian on the wire). */
const FRAME_MAGIC = 0x184d2204;
/** FLG: version 01, independent blocks, no block checksum, no content size or checksum. */
const FLG = 0x60;
/** BD: blocks of at most 64 KiB. */
const BD = 0x40;
const BLOCK_SIZE = 64 * 1024;
const INCOMPRESSIBLE = 0x80000000;
const MIN_MATCH = 4;
/** The last 5 bytes of a block are always literals. */
const LAST_LITERALS = 5;
/** A match never starts within the last 12 bytes of a block. */
const MF_LIMIT = 12;
const MAX_DISTANCE = 65535;
const HASH_LOG = 12;

const P1 = 0x9e3779b1;
const P2 = 0x85ebca77;
const P3 = 0xc2b2ae3d;
const P4 = 0x27d4eb2f;
const P5 = 0x165667b1;

function rotl(x: number, r: number): number {
  return (x << r) | (x >>> (32 - r));
}

function load32(b: Uint8Array, p: number): number {
  return b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | (b[p + 3] << 24);
}

/**
 * XXH32, the checksum of the LZ4 frame format.
 *
 * @example
 * ```ts
 * import { xxhash32 } from "./lz4.ts";
 * console.assert(xxhash32(new Uint8Array(0)) === 0x02cc5d05);
 * ```
 *
 * @param data Bytes to hash.
 * @param seed Seed. Default 0.
 * @returns The unsigned 32-bit hash.
 */
export function xxhash32(data: Uint8Array, seed = 0): number {
  const len = data.length;
  let p = 0;
  let h: number;
  if (len >= 16) {
    let v1 = (seed + P1 + P2) | 0;
    let v2 = (seed + P2) | 0;
    let v3 = seed | 0;
    let v4 = (seed - P1) | 0;
    while (p <= len - 16) {
      v1 = Math.imul(rotl((v1 + Math.imul(load32(data, p), P2)) | 0, 13), P1);
      v2 = Math.imul(rotl((v2 + Math.imul(load32(data, p + 4), P2)) | 0, 13), P1);
      v3 = Math.imul(rotl((v3 + Math.imul(load32(data, p + 8), P2)) | 0, 13), P1);
      v4 = Math.imul(rotl((v4 + Math.imul(load32(data, p + 12), P2)) | 0, 13), P1);
      p += 16;
    }
    h = (rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18)) | 0;
  } else {
    h = (seed + P5) | 0;
  }
  h = (h + len) | 0;
  while (p <= len - 4) {
    h = Math.imul(rotl((h + Math.imul(load32(data, p), P3)) | 0, 17), P4);
    p += 4;
  }
  while (p < len) {
    h = Math.imul(rotl((h + Math.imul(data[p], P5)) | 0, 11), P1);
    p++;
  }
  h ^= h >>> 15;
  h = Math.imul(h, P2);
  h ^= h >>> 13;
  h = Math.imul(h, P3);
  h ^= h >>> 16;
  return h >>> 0;
}

function hash(v: number): number {
  return Math.imul(v, 2654435761) >>> (32 - HASH_LOG);
}

function writeLength(buf: Uint8Array, p: number, n: number): number {
  while (n >= 255) {
    buf[p++] = 255;
    n -= 255;
  }
  buf[p++] = n;
  return p;
}

/**
 * Writes a sequence's token (literal length in the high nibble; the match length is OR-ed in
 * later), the extra literal length bytes and the literals `src[from, to)` at `op`.
 */
function writeLiterals(buf: Uint8Array, op: number, src: Uint8Array, from: number, to: number) {
  const litLen = to - from;
  const token = op++;
  if (litLen >= 15) {
    buf[token] = 15 << 4;
    op = writeLength(buf, op, litLen - 15);
  } else {
    buf[token] = litLen << 4;
  }
  buf.set(src.subarray(from, to), op);
  return op + litLen;
}

/** Compresses `src[start, end)` as one LZ4 block; returns its size in `out`. */
function compressBlock(
  src: Uint8Array,
  start: number,
  end: number,
  table: Int32Array,
  out: ByteSink,
): number {
  const len = end - start;
  out.ensure(len + ((len / 255) | 0) + 16);
  const buf = out.buf;
  const begin = out.pos;
  let op = begin;
  let anchor = start;
  if (len >= MF_LIMIT + 1) {
    table.fill(-1);
    const mfLimit = end - MF_LIMIT;
    const matchLimit = end - LAST_LITERALS;
    let ip = start;
    table[hash(load32(src, ip))] = ip;
    ip++;
    let forwardIp = ip;
    let forwardH = hash(load32(src, ip));
    outer: for (;;) {
      let match: number;
      let step = 1;
      let searches = 1 << 6;
      do {
        const h = forwardH;
        ip = forwardIp;
        forwardIp += step;
        step = searches++ >>> 6;
        if (forwardIp > mfLimit) break outer;
        match = table[h];
        forwardH = hash(load32(src, forwardIp));
        table[h] = ip;
      } while (match < 0 || ip - match > MAX_DISTANCE || load32(src, match) !== load32(src, ip));
      while (ip > anchor && match > start && src[ip - 1] === src[match - 1]) {
        ip--;
        match--;
      }
      let token = op;
      op = writeLiterals(buf, op, src, anchor, ip);
      for (;;) {
        const offset = ip - match;
        buf[op++] = offset;
        buf[op++] = offset >>> 8;
        let mp = ip + MIN_MATCH;
        let mm = match + MIN_MATCH;
        while (mp < matchLimit && src[mp] === src[mm]) {
          mp++;
          mm++;
        }
        const matchLen = mp - ip - MIN_MATCH;
        ip = mp;
        if (matchLen >= 15) {
          buf[token] |= 15;
          op = writeLength(buf, op, matchLen - 15);
        } else {
          buf[token] |= matchLen;
        }
        anchor = ip;
        if (ip > mfLimit) break outer;
        table[hash(load32(src, ip - 2))] = ip - 2;
        const h = hash(load32(src, ip));
        match = table[h];
        table[h] = ip;
        if (match >= 0 && ip - match <= MAX_DISTANCE && load32(src, match) === load32(src, ip)) {
          token = op++;
          buf[token] = 0;
          continue;
        }
        break;
      }
      forwardIp = ++ip;
      forwardH = hash(load32(src, forwardIp));
    }
  }
  op = writeLiterals(buf, op, src, anchor, end);
  out.pos = op;
  return op - begin;
}

/**
 * Compresses into an LZ4 frame as Kafka's Java client writes it for record batches.
 *
 * @example
 * ```ts
 * import { lz4Compress, lz4Decompress } from "./lz4.ts";
 * const data = new TextEncoder().encode("abcd".repeat(100));
 * const frame = lz4Compress(data);
 * console.assert(frame.length < data.length && lz4Decompress(frame).length === 400);
 * ```
 *
 * @param src Bytes to compress.
 * @param options `brokenHeaderChecksum`: compute the header checksum over the magic too, as
 *   Kafka does for message format v0 (whose readers expect it).
 * @returns The frame.
 */
export function lz4Compress(
  src: Uint8Array,
  options: { brokenHeaderChecksum?: boolean } = {},
): Uint8Array {
  const out = new ByteSink(19 + src.length + ((src.length / 255) | 0) + 16);
  const view = () => new DataView(out.buf.buffer, out.buf.byteOffset, out.buf.byteLength);
  view().setUint32(0, FRAME_MAGIC, true);
  out.buf[4] = FLG;
  out.buf[5] = BD;
  const hc = options.brokenHeaderChecksum ? out.buf.subarray(0, 6) : out.buf.subarray(4, 6);
  out.buf[6] = (xxhash32(hc) >>> 8) & 0xff;
  out.pos = 7;
  const table = new Int32Array(1 << HASH_LOG);
  for (let p = 0; p < src.length; p += BLOCK_SIZE) {
    const end = Math.min(src.length, p + BLOCK_SIZE);
    out.ensure(4);
    const at = out.pos;
    out.pos += 4;
    const size = compressBlock(src, p, end, table, out);
    if (size >= end - p) {
      out.pos = at + 4;
      out.literal(src, p, end - p);
      view().setUint32(at, (end - p) | INCOMPRESSIBLE, true);
    } else {
      view().setUint32(at, size, true);
    }
  }
  out.ensure(4);
  view().setUint32(out.pos, 0, true);
  out.pos += 4;
  return out.result();
}

function decompressBlock(src: Uint8Array, start: number, end: number, out: ByteSink): void {
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
    if (pos === end) break; // the last sequence has literals only
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
    out.copy(offset, matchLen + MIN_MATCH, "lz4");
  }
}

/**
 * Decompresses an LZ4 frame (magic `0x184D2204`), as Kafka writes for record batches.
 * Checksums are not verified (the batch CRC already covers the compressed bytes).
 *
 * @example
 * ```ts
 * import { lz4Decompress } from "./lz4.ts";
 * const frame = new Uint8Array([
 *   0x04, 0x22, 0x4d, 0x18, 0x60, 0x40, 0x82, // magic, FLG, BD, header checksum
 *   0x03, 0x00, 0x00, 0x80, 0x61, 0x62, 0x63, // one uncompressed block: "abc"
 *   0x00, 0x00, 0x00, 0x00, // end mark
 * ]);
 * new TextDecoder().decode(lz4Decompress(frame)); // "abc"
 * ```
 *
 * @param src Compressed bytes.
 * @param maxBytes The most decompressed bytes accepted. Default: no limit.
 * @returns The decompressed bytes.
 * @throws {DecompressionError} On malformed input, a legacy (non-frame) format, or output over
 *   `maxBytes`.
 */
export function lz4Decompress(src: Uint8Array, maxBytes = Infinity): Uint8Array {
  const view = new DataView(src.buffer, src.byteOffset, src.byteLength);
  if (src.length < 7 || view.getUint32(0, true) !== FRAME_MAGIC) {
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
  const out = new ByteSink(src.length * 4, maxBytes, "lz4");
  for (;;) {
    if (pos + 4 > src.length) throw new DecompressionError("lz4: truncated block size");
    const raw = view.getUint32(pos, true);
    pos += 4;
    if (raw === 0) break;
    const size = raw & 0x7fffffff;
    if (pos + size > src.length) throw new DecompressionError("lz4: block runs past the input");
    if (raw & INCOMPRESSIBLE) out.literal(src, pos, size);
    else decompressBlock(src, pos, pos + size, out);
    pos += size + (blockChecksum ? 4 : 0);
  }
  if (contentChecksum && pos + 4 > src.length) {
    throw new DecompressionError("lz4: truncated content checksum");
  }
  return out.result();
}
