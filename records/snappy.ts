// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * Snappy in pure TypeScript, as Kafka uses it: compression writes the xerial framing the Java
 * client writes (`\x82SNAPPY\0`, version 1, compatible version 1, then blocks of at most 32 KiB of
 * input, each an int32 length and a raw Snappy block); decompression reads that framing and raw
 * Snappy blocks (what librdkafka writes). Every Kafka client reads both.
 *
 * @module
 */

import { DecompressionError } from "./errors.ts";
import { ByteSink } from "./byte_sink.ts";

const XERIAL_MAGIC = [0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00];
/** Header of the xerial framing: magic, version 1, compatible version 1. */
const XERIAL_HEADER_SIZE = 16;
/** Input per xerial block (snappy-java's default block size). */
const XERIAL_BLOCK_SIZE = 32 * 1024;
/** Input per Snappy fragment: copies never reach further back. */
const FRAGMENT_SIZE = 1 << 16;
/** Inputs shorter than this are written as one literal. */
const INPUT_MARGIN = 15;
const HASH_BITS = 14;

function hash(v: number): number {
  return Math.imul(v, 0x1e35a7bd) >>> (32 - HASH_BITS);
}

function load32(b: Uint8Array, p: number): number {
  return b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | (b[p + 3] << 24);
}

function emitLiteral(src: Uint8Array, from: number, to: number, out: ByteSink): void {
  const n = to - from - 1;
  out.ensure(5 + n + 1);
  const buf = out.buf;
  let p = out.pos;
  if (n < 60) {
    buf[p++] = n << 2;
  } else if (n < 0x100) {
    buf[p++] = 60 << 2;
    buf[p++] = n;
  } else if (n < 0x10000) {
    buf[p++] = 61 << 2;
    buf[p++] = n;
    buf[p++] = n >>> 8;
  } else if (n < 0x1000000) {
    buf[p++] = 62 << 2;
    buf[p++] = n;
    buf[p++] = n >>> 8;
    buf[p++] = n >>> 16;
  } else {
    buf[p++] = 63 << 2;
    buf[p++] = n;
    buf[p++] = n >>> 8;
    buf[p++] = n >>> 16;
    buf[p++] = n >>> 24;
  }
  buf.set(src.subarray(from, to), p);
  out.pos = p + n + 1;
}

function emitCopy(offset: number, len: number, out: ByteSink): void {
  out.ensure(3 * (2 + (len >>> 6)));
  const buf = out.buf;
  let p = out.pos;
  while (len >= 68) {
    buf[p++] = 2 | (63 << 2);
    buf[p++] = offset;
    buf[p++] = offset >>> 8;
    len -= 64;
  }
  if (len > 64) {
    buf[p++] = 2 | (59 << 2);
    buf[p++] = offset;
    buf[p++] = offset >>> 8;
    len -= 60;
  }
  if (len < 12 && offset < 2048) {
    buf[p++] = 1 | ((len - 4) << 2) | ((offset >>> 8) << 5);
    buf[p++] = offset;
  } else {
    buf[p++] = 2 | ((len - 1) << 2);
    buf[p++] = offset;
    buf[p++] = offset >>> 8;
  }
  out.pos = p;
}

/** Compresses `src[start, end)` (at most 64 KiB) into Snappy elements (no length preamble). */
function compressFragment(
  src: Uint8Array,
  start: number,
  end: number,
  table: Uint16Array,
  out: ByteSink,
): void {
  let nextEmit = start;
  if (end - start >= INPUT_MARGIN) {
    table.fill(0);
    const limit = end - INPUT_MARGIN;
    let ip = start + 1;
    let nextHash = hash(load32(src, ip));
    outer: for (;;) {
      let skip = 32;
      let nextIp = ip;
      let candidate: number;
      do {
        ip = nextIp;
        const h = nextHash;
        nextIp = ip + (skip++ >>> 5);
        if (nextIp > limit) break outer;
        nextHash = hash(load32(src, nextIp));
        candidate = start + table[h];
        table[h] = ip - start;
      } while (load32(src, ip) !== load32(src, candidate));
      emitLiteral(src, nextEmit, ip, out);
      for (;;) {
        const base = ip;
        let matched = 4;
        while (ip + matched < end && src[ip + matched] === src[candidate + matched]) matched++;
        emitCopy(base - candidate, matched, out);
        ip += matched;
        nextEmit = ip;
        if (ip >= limit) break outer;
        table[hash(load32(src, ip - 1))] = ip - 1 - start;
        const h = hash(load32(src, ip));
        candidate = start + table[h];
        table[h] = ip - start;
        if (load32(src, ip) !== load32(src, candidate)) {
          nextHash = hash(load32(src, ++ip));
          break;
        }
      }
    }
  }
  if (nextEmit < end) emitLiteral(src, nextEmit, end, out);
}

/** Writes one raw Snappy block (length preamble, then fragments) of `src[start, end)`. */
function compressBlock(
  src: Uint8Array,
  start: number,
  end: number,
  table: Uint16Array,
  out: ByteSink,
): void {
  let n = end - start;
  out.ensure(5);
  while (n >= 0x80) {
    out.buf[out.pos++] = (n & 0x7f) | 0x80;
    n >>>= 7;
  }
  out.buf[out.pos++] = n;
  for (let p = start; p < end; p += FRAGMENT_SIZE) {
    compressFragment(src, p, Math.min(end, p + FRAGMENT_SIZE), table, out);
  }
}

/**
 * Compresses with Snappy. By default the output uses the xerial framing, as Kafka's Java client
 * writes it; `raw: true` gives one raw Snappy block, as librdkafka writes it.
 *
 * @example
 * ```ts
 * import { snappyCompress, snappyDecompress } from "./snappy.ts";
 * const data = new TextEncoder().encode("abc".repeat(100));
 * const packed = snappyCompress(data);
 * console.assert(packed[0] === 0x82 && packed.length < data.length);
 * console.assert(snappyDecompress(packed).length === 300);
 * ```
 *
 * @param src Bytes to compress.
 * @param options `raw`: one raw Snappy block instead of the xerial framing.
 * @returns The compressed bytes.
 */
export function snappyCompress(src: Uint8Array, options: { raw?: boolean } = {}): Uint8Array {
  const table = new Uint16Array(1 << HASH_BITS);
  const out = new ByteSink(32 + src.length + Math.ceil(src.length / 6));
  if (options.raw) {
    compressBlock(src, 0, src.length, table, out);
    return out.result();
  }
  out.buf.set(XERIAL_MAGIC);
  const view = new DataView(out.buf.buffer);
  view.setInt32(8, 1);
  view.setInt32(12, 1);
  out.pos = XERIAL_HEADER_SIZE;
  for (let p = 0; p < src.length; p += XERIAL_BLOCK_SIZE) {
    out.ensure(4);
    const at = out.pos;
    out.pos += 4;
    compressBlock(src, p, Math.min(src.length, p + XERIAL_BLOCK_SIZE), table, out);
    new DataView(out.buf.buffer).setInt32(at, out.pos - at - 4);
  }
  return out.result();
}

function decompressRaw(src: Uint8Array, start: number, end: number, out: ByteSink): void {
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
 * import { snappyDecompress } from "./snappy.ts";
 * // Raw block: length 3, literal "abc".
 * new TextDecoder().decode(snappyDecompress(new Uint8Array([3, 8, 97, 98, 99]))); // "abc"
 * ```
 *
 * @param src Compressed bytes.
 * @param maxBytes The most decompressed bytes accepted. Default: no limit.
 * @returns The decompressed bytes.
 * @throws {DecompressionError} On malformed input, or output over `maxBytes`.
 */
export function snappyDecompress(src: Uint8Array, maxBytes = Infinity): Uint8Array {
  const out = new ByteSink(src.length * 4, maxBytes, "snappy");
  const xerial = src.length >= XERIAL_HEADER_SIZE && XERIAL_MAGIC.every((b, i) => src[i] === b);
  if (!xerial) {
    decompressRaw(src, 0, src.length, out);
    return out.result();
  }
  const view = new DataView(src.buffer, src.byteOffset, src.byteLength);
  let pos = XERIAL_HEADER_SIZE;
  while (pos < src.length) {
    if (pos + 4 > src.length) throw new DecompressionError("snappy: truncated xerial block size");
    const size = view.getInt32(pos);
    pos += 4;
    if (size < 0 || pos + size > src.length) {
      throw new DecompressionError(`snappy: xerial block of ${size} bytes runs past the input`);
    }
    decompressRaw(src, pos, pos + size, out);
    pos += size;
  }
  return out.result();
}
