// Copyright 2026 the Sluice authors. Apache-2.0 license.
// deno-fmt-ignore-file
// deno-lint-ignore-file
// @ts-nocheck: AssemblyScript, not TypeScript for Deno (u32, load<T>, @inline...).
// Sluice WASM core (AssemblyScript). Compiled by wasm/build.ts; loaded only by wasm/core.ts.
//
// Boundary rules: only i32/f64 cross; results are status codes plus figures written to a static
// result area; per-batch columns go to a static column area (CAP batches per call, the caller
// resumes); input bytes live in a scratch block that the caller grows only when needed. The
// allocator is AssemblyScript's TLSF (`--runtime minimal`: heap.alloc/heap.free, no GC runs
// because nothing managed is allocated).

// --- CRC-32C ------------------------------------------------------------------------------

const POLY: u32 = 0x82f63b78;
/** Slicing-by-16 tables: table k at TAB + k*1024. Table 0 is the byte-at-a-time table. */
const TAB: usize = memory.data(16 * 1024, 64);
/**
 * Large inputs: 8 interleaved streams of STREAM bytes, each updated 4 bytes at a time with three
 * tables indexed by bits 0-10, 11-21 and 22-31 of the word (20 KiB: they stay in L1, where the
 * older 16-bit tables, 512 KiB, lived in L2; measured 3.5 vs 2.9 GB/s without the copy in),
 * combined with SHIFT ("feed STREAM zero bytes").
 */
const WAYS: i32 = 8;
const STREAM: i32 = 2048;
/** Word tables: W0[x] for bits 0-10, W1[x] for bits 11-21 (2048 entries), W2[x] bits 22-31. */
const W0: usize = memory.data(2 * 2048 * 4 + 1024 * 4, 64);
const W1: usize = W0 + 2048 * 4;
const W2: usize = W0 + 2 * 2048 * 4;
const SHIFT: usize = memory.data(4 * 1024, 64);
/** Small streams for inputs of 1-16 KiB, and their shift table. */
const STREAM_S: i32 = 128;
const SHIFT_S: usize = memory.data(4 * 1024, 64);

function initTables(): void {
  for (let n: u32 = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
    store<u32>(TAB + (n << 2), c);
  }
  for (let n: u32 = 0; n < 256; n++) {
    let c = load<u32>(TAB + (n << 2));
    for (let k: u32 = 1; k < 16; k++) {
      c = load<u32>(TAB + ((c & 0xff) << 2)) ^ (c >>> 8);
      store<u32>(TAB + (k << 10) + (n << 2), c);
    }
  }
  // The update of a 4-byte word w is linear in w, so it splits into per-bit-range tables.
  for (let x: u32 = 0; x < 2048; x++) {
    store<u32>(W0 + (<usize>x << 2), wordUpdate(x));
    store<u32>(W1 + (<usize>x << 2), wordUpdate(x << 11));
  }
  for (let x: u32 = 0; x < 1024; x++) store<u32>(W2 + (<usize>x << 2), wordUpdate(x << 22));
  buildShift(SHIFT, STREAM);
  buildShift(SHIFT_S, STREAM_S);
}

/** Register update for a 4-byte word w = b0 | b1 << 8 | b2 << 16 | b3 << 24 (slicing-by-4). */
function wordUpdate(w: u32): u32 {
  return load<u32>(TAB + 3072 + ((w & 255) << 2)) ^ load<u32>(TAB + 2048 + (((w >>> 8) & 255) << 2)) ^
    load<u32>(TAB + 1024 + (((w >>> 16) & 255) << 2)) ^ load<u32>(TAB + ((w >>> 24) << 2));
}

/** Fills `table` with the linear map "feed len zero bytes" on the raw CRC register. */
function buildShift(table: usize, len: i32): void {
  const bits = memory.data(32 * 4, 16);
  for (let i = 0; i < 32; i++) {
    let c: u32 = (<u32>1) << i;
    for (let k = 0; k < len; k++) c = load<u32>(TAB + ((c & 0xff) << 2)) ^ (c >>> 8);
    store<u32>(bits + (<usize>i << 2), c);
  }
  for (let t = 0; t < 4; t++) {
    for (let b = 0; b < 256; b++) {
      let v: u32 = 0;
      for (let j = 0; j < 8; j++) {
        if (b & (1 << j)) v ^= load<u32>(bits + (<usize>(t * 8 + j) << 2));
      }
      store<u32>(table + (<usize>t << 10) + (<usize>b << 2), v);
    }
  }
}
initTables();

@inline function t(k: usize, x: u32): u32 {
  return load<u32>(TAB + (k << 10) + ((<usize>x & 0xff) << 2));
}

/** One 4-byte step of a stream: three L1-resident lookups. */
@inline function step(a: u32): u32 {
  return load<u32>(<usize>((a << 2) & 0x1ffc), W0) ^ load<u32>(<usize>((a >>> 9) & 0x1ffc), W1) ^
    load<u32>(<usize>((a >>> 20) & 0xffc), W2);
}

@inline function shiftStream(c: u32, table: usize): u32 {
  return load<u32>(table + ((<usize>c & 0xff) << 2)) ^
    load<u32>(table + 1024 + ((<usize>(c >>> 8) & 0xff) << 2)) ^
    load<u32>(table + 2048 + ((<usize>(c >>> 16) & 0xff) << 2)) ^
    load<u32>(table + 3072 + (<usize>(c >>> 24) << 2));
}

/** Raw (no pre/post inversion) slicing-by-16 update of register c over [p, p+len). */
function crcRaw(c: u32, p: usize, len: i32): u32 {
  const end16 = p + (<usize>len & ~15);
  while (p < end16) {
    const a = load<u32>(p) ^ c;
    const b = load<u32>(p, 4);
    const d = load<u32>(p, 8);
    const e = load<u32>(p, 12);
    c = t(15, a) ^ t(14, a >>> 8) ^ t(13, a >>> 16) ^ t(12, a >>> 24) ^
      t(11, b) ^ t(10, b >>> 8) ^ t(9, b >>> 16) ^ t(8, b >>> 24) ^
      t(7, d) ^ t(6, d >>> 8) ^ t(5, d >>> 16) ^ t(4, d >>> 24) ^
      t(3, e) ^ t(2, e >>> 8) ^ t(1, e >>> 16) ^ t(0, e >>> 24);
    p += 16;
  }
  const end = p + (<usize>len & 15);
  while (p < end) {
    c = t(0, c ^ load<u8>(p)) ^ (c >>> 8);
    p++;
  }
  return c;
}

/** WAYS interleaved streams of 2048 bytes each (word tables), combined by SHIFT. */
function crcBlock(c: u32, p: usize): u32 {
  let c1: u32 = 0; let c2: u32 = 0; let c3: u32 = 0; let c4: u32 = 0; let c5: u32 = 0; let c6: u32 = 0; let c7: u32 = 0;
  const end = p + 2048;
  while (p < end) {
    const a0 = load<u32>(p) ^ c;
    const a1 = load<u32>(p, 2048) ^ c1;
    const a2 = load<u32>(p, 4096) ^ c2;
    const a3 = load<u32>(p, 6144) ^ c3;
    const a4 = load<u32>(p, 8192) ^ c4;
    const a5 = load<u32>(p, 10240) ^ c5;
    const a6 = load<u32>(p, 12288) ^ c6;
    const a7 = load<u32>(p, 14336) ^ c7;
    c = step(a0);
    c1 = step(a1);
    c2 = step(a2);
    c3 = step(a3);
    c4 = step(a4);
    c5 = step(a5);
    c6 = step(a6);
    c7 = step(a7);
    p += 4;
  }
  c = shiftStream(c, SHIFT) ^ c1;
  c = shiftStream(c, SHIFT) ^ c2;
  c = shiftStream(c, SHIFT) ^ c3;
  c = shiftStream(c, SHIFT) ^ c4;
  c = shiftStream(c, SHIFT) ^ c5;
  c = shiftStream(c, SHIFT) ^ c6;
  return shiftStream(c, SHIFT) ^ c7;
}

/** WAYS interleaved streams of 128 bytes each (word tables), combined by SHIFT_S. */
function crcBlockSmall(c: u32, p: usize): u32 {
  let c1: u32 = 0; let c2: u32 = 0; let c3: u32 = 0; let c4: u32 = 0; let c5: u32 = 0; let c6: u32 = 0; let c7: u32 = 0;
  const end = p + 128;
  while (p < end) {
    const a0 = load<u32>(p) ^ c;
    const a1 = load<u32>(p, 128) ^ c1;
    const a2 = load<u32>(p, 256) ^ c2;
    const a3 = load<u32>(p, 384) ^ c3;
    const a4 = load<u32>(p, 512) ^ c4;
    const a5 = load<u32>(p, 640) ^ c5;
    const a6 = load<u32>(p, 768) ^ c6;
    const a7 = load<u32>(p, 896) ^ c7;
    c = step(a0);
    c1 = step(a1);
    c2 = step(a2);
    c3 = step(a3);
    c4 = step(a4);
    c5 = step(a5);
    c6 = step(a6);
    c7 = step(a7);
    p += 4;
  }
  c = shiftStream(c, SHIFT_S) ^ c1;
  c = shiftStream(c, SHIFT_S) ^ c2;
  c = shiftStream(c, SHIFT_S) ^ c3;
  c = shiftStream(c, SHIFT_S) ^ c4;
  c = shiftStream(c, SHIFT_S) ^ c5;
  c = shiftStream(c, SHIFT_S) ^ c6;
  return shiftStream(c, SHIFT_S) ^ c7;
}

function crcAny(crc: u32, p: usize, len: i32): u32 {
  let c = ~crc;
  while (len >= WAYS * STREAM) {
    c = crcBlock(c, p);
    p += WAYS * STREAM;
    len -= WAYS * STREAM;
  }
  while (len >= WAYS * STREAM_S) {
    c = crcBlockSmall(c, p);
    p += WAYS * STREAM_S;
    len -= WAYS * STREAM_S;
  }
  return ~crcRaw(c, p, len);
}

/** CRC-32C of [ptr, ptr+len), continuing from crc. */
export function crc32c(ptr: usize, len: i32, crc: u32): u32 {
  return crcAny(crc, ptr, len);
}

// --- scratch and allocation -----------------------------------------------------------------

let scratchPtr: usize = 0;
let scratchCap: i32 = 0;

/** Returns a scratch block of at least n bytes (grows, never shrinks; contents not kept). */
export function ensureScratch(n: i32): usize {
  if (n > scratchCap) {
    let cap = scratchCap > 0 ? scratchCap : 65536;
    while (cap < n) cap = cap < 0x40000000 ? cap << 1 : n;
    // Allocate before freeing: if allocation traps, the old block stays valid.
    const p = heap.alloc(<usize>cap);
    if (scratchPtr) heap.free(scratchPtr);
    scratchPtr = p;
    scratchCap = cap;
  }
  return scratchPtr;
}

/** Capacity of the scratch block. */
export function scratchCapacity(): i32 {
  return scratchCap;
}

/** Allocates n bytes (16-byte aligned). */
export function alloc(n: i32): usize {
  return heap.alloc(<usize>n);
}

/** Frees a block from alloc. */
export function free(ptr: usize): void {
  heap.free(ptr);
}

/** Copies len bytes from src to dst (regions may overlap). */
export function copy(dst: usize, src: usize, len: i32): void {
  memory.copy(dst, src, <usize>len);
}

// --- record batch scan -----------------------------------------------------------------------

const OK: i32 = 0;
const TRUNCATED: i32 = 1;
const BAD_LENGTH: i32 = 2;
const BAD_MAGIC: i32 = 3;
const BAD_CRC: i32 = 4;
const BAD_RECORD_COUNT: i32 = 5;
const BAD_VARINT: i32 = 6;
const BAD_RECORD_LENGTH: i32 = 7;
const BAD_OFFSET_DELTA: i32 = 8;
const BAD_RECORDS_SIZE: i32 = 9;
const BAD_CONTROL: i32 = 10;
const BAD_HEADER: i32 = 11;
const BAD_ATTRIBUTES: i32 = 12;
/** Internal: the column area is full, call again from the reported end. */
const MORE: i32 = -1;

/** Batches per scan call. */
const CAP: i32 = 1024;
const COLS: usize = memory.data(CAP * 64, 16);
const C_POS: usize = COLS;
const C_SIZE: usize = COLS + CAP * 4;
const C_LOD: usize = COLS + CAP * 8;
const C_COUNT: usize = COLS + CAP * 12;
const C_ATTR: usize = COLS + CAP * 16;
const C_EPOCH: usize = COLS + CAP * 20;
const C_SEQ: usize = COLS + CAP * 24;
const C_BASE: usize = COLS + CAP * 32;
const C_FTS: usize = COLS + CAP * 40;
const C_MTS: usize = COLS + CAP * 48;
const C_PID: usize = COLS + CAP * 56;
/** Result area, f64 slots: 0 status, 1 end (relative), 2 records, 3 a, 4 b, 5 c. */
const RES: usize = memory.data(64, 16);

/** Address of the column area (see C_* layout: 7 i32 columns, then 4 f64 columns). */
export function columnsPtr(): usize {
  return COLS;
}

/** Batches the column area holds. */
export function columnCapacity(): i32 {
  return CAP;
}

/** Address of the result area. */
export function resultPtr(): usize {
  return RES;
}

@inline function be32(p: usize): i32 {
  return bswap<i32>(load<i32>(p));
}

@inline function be16(p: usize): i32 {
  return <i32> bswap<i16>(load<i16>(p));
}

@inline function be64f(p: usize): f64 {
  return <f64> bswap<i64>(load<i64>(p));
}

let q: usize = 0;
let bad: i32 = 0;
let fa: f64 = 0;
let fb: f64 = 0;
let fc: f64 = 0;

function varint(limit: usize): i32 {
  let raw: u32 = 0;
  for (let k: u32 = 0; k < 5; k++) {
    if (q >= limit) {
      bad = BAD_RECORD_LENGTH;
      return 0;
    }
    const b = <u32>load<u8>(q++);
    raw |= (b & 0x7f) << (7 * k);
    if ((b & 0x80) == 0) return <i32> ((raw >>> 1) ^ (0 - (raw & 1)));
  }
  bad = BAD_VARINT;
  return 0;
}

function skipVarlong(limit: usize): void {
  for (let k = 0; k < 10; k++) {
    if (q >= limit) {
      bad = BAD_RECORD_LENGTH;
      return;
    }
    if ((load<u8>(q++) & 0x80) == 0) return;
  }
  bad = BAD_VARINT;
}

/** Set by `scan` from flag bit 2: offsets of cleaned batches (see `scan`). */
let relaxed = false;

/** Walks the records of an uncompressed batch; positions reported as base + (ptr - origin). */
function walkRecords(p: usize, size: i32, count: i32, lod: i32, origin: usize, base: f64): i32 {
  const bend = p + <usize>size;
  let prev: i32 = -1;
  q = p + 61;
  bad = 0;
  for (let i = 0; i < count; i++) {
    if (q >= bend) {
      fa = count;
      fb = lod;
      fc = i;
      return BAD_RECORD_COUNT;
    }
    fa = i;
    fb = base + <f64> (q - origin);
    const len = varint(bend);
    if (bad) return bad;
    if (len < 0 || <i64> len > <i64> (bend - q)) return BAD_RECORD_LENGTH;
    const rend = q + <usize>len;
    if (q >= rend) return BAD_RECORD_LENGTH;
    q++; // attributes
    skipVarlong(rend);
    if (bad) return bad;
    const od = varint(rend);
    if (bad) return bad;
    // relaxed (compacted): deltas strictly increase up to lastOffsetDelta; else 0..n-1
    if (relaxed ? od <= prev || od > lod : od != i) return BAD_OFFSET_DELTA;
    prev = od;
    const kl = varint(rend);
    if (bad) return bad;
    if (kl < -1 || <i64> kl > <i64> (rend - q)) return BAD_RECORD_LENGTH;
    if (kl > 0) q += <usize>kl;
    const vl = varint(rend);
    if (bad) return bad;
    if (vl < -1 || <i64> vl > <i64> (rend - q)) return BAD_RECORD_LENGTH;
    if (vl > 0) q += <usize>vl;
    const hc = varint(rend);
    if (bad) return bad;
    if (hc < 0) return BAD_HEADER;
    for (let h = 0; h < hc; h++) {
      const hk = varint(rend);
      if (bad) return bad;
      if (hk < 0) return BAD_HEADER;
      if (<i64> hk > <i64> (rend - q)) return BAD_RECORD_LENGTH;
      q += <usize>hk;
      const hv = varint(rend);
      if (bad) return bad;
      if (hv < -1) return BAD_HEADER;
      if (<i64> hv > <i64> (rend - q)) return BAD_RECORD_LENGTH;
      if (hv > 0) q += <usize>hv;
    }
    if (q != rend) return BAD_RECORD_LENGTH;
  }
  if (q != bend) {
    fa = <f64> (bend - q);
    fb = count;
    return BAD_RECORDS_SIZE;
  }
  return OK;
}

/**
 * Scans consecutive v2 batches in [ptr, ptr+len). flags: bit 0 walk records, bit 1 verify CRC,
 * bit 2 relaxed offsets (batches rewritten by the log cleaner: fewer records than the offset
 * range, offset deltas strictly increasing up to lastOffsetDelta).
 * Batch positions are reported as base + (offset from ptr). Returns the number of batches
 * written to the columns; RES holds status (MORE if the columns filled up), the relative end of
 * the valid prefix, the record total and the failure figures.
 */
export function scan(ptr: usize, len: i32, flags: i32, maxBatchSize: f64, base: f64): i32 {
  const end = ptr + <usize>len;
  const walk = (flags & 1) != 0;
  const verify = (flags & 2) != 0;
  relaxed = (flags & 4) != 0;
  let p = ptr;
  let n: i32 = 0;
  let status: i32 = OK;
  let records: f64 = 0;
  fa = 0;
  fb = 0;
  fc = 0;
  while (p < end) {
    if (n == CAP) {
      status = MORE;
      break;
    }
    const rem = <i32> (end - p);
    if (rem < 12) {
      status = TRUNCATED;
      fa = 12;
      fb = rem;
      break;
    }
    const batchLength = be32(p + 8);
    if (batchLength < 49 || 12 + <f64> batchLength > maxBatchSize) {
      status = BAD_LENGTH;
      fa = batchLength;
      fb = maxBatchSize;
      break;
    }
    const size = 12 + batchLength;
    if (rem < 17) {
      status = TRUNCATED;
      fa = size;
      fb = rem;
      break;
    }
    const magic = load<i8>(p + 16);
    if (magic != 2) {
      status = BAD_MAGIC;
      fa = magic;
      break;
    }
    if (rem < size) {
      status = TRUNCATED;
      fa = size;
      fb = rem;
      break;
    }
    if (verify) {
      const stored = <u32>be32(p + 17);
      const computed = crcAny(0, p + 21, size - 21);
      if (stored != computed) {
        status = BAD_CRC;
        fa = stored;
        fb = computed;
        break;
      }
    }
    const attributes = be16(p + 21);
    const codec = attributes & 7;
    if (codec > 4) {
      status = BAD_ATTRIBUTES;
      fa = codec;
      break;
    }
    const lod = be32(p + 23);
    const count = be32(p + 57);
    if (count < 0 || (codec == 0 ? (relaxed ? lod < count - 1 : lod != count - 1) : lod < 0)) {
      status = BAD_RECORD_COUNT;
      fa = count;
      fb = lod;
      fc = -1;
      break;
    }
    if ((attributes & 0x20) != 0 && count != 1) {
      status = BAD_CONTROL;
      fa = count;
      break;
    }
    if (codec == 0 && walk) {
      status = walkRecords(p, size, count, lod, ptr, base);
      if (status != OK) break;
    }
    const o = <usize>n << 2;
    const o8 = <usize>n << 3;
    store<i32>(C_POS + o, <i32> (base + <f64> (p - ptr)));
    store<i32>(C_SIZE + o, size);
    store<i32>(C_LOD + o, lod);
    store<i32>(C_COUNT + o, count);
    store<i32>(C_ATTR + o, attributes);
    store<i32>(C_EPOCH + o, be16(p + 51));
    store<i32>(C_SEQ + o, be32(p + 53));
    store<f64>(C_BASE + o8, be64f(p));
    store<f64>(C_FTS + o8, be64f(p + 27));
    store<f64>(C_MTS + o8, be64f(p + 35));
    store<f64>(C_PID + o8, be64f(p + 43));
    records += <f64> count;
    n++;
    p += <usize>size;
  }
  store<f64>(RES, <f64> status);
  store<f64>(RES, <f64> (p - ptr), 8);
  store<f64>(RES, records, 16);
  store<f64>(RES, fa, 24);
  store<f64>(RES, fb, 32);
  store<f64>(RES, fc, 40);
  return n;
}

// --- sparse index search ---------------------------------------------------------------------

/** Last slot of an offset index (8-byte BE entries) with relativeOffset ≤ target, or -1. */
export function offsetIndexLookup(ptr: usize, n: i32, target: u32): i32 {
  let lo: i32 = 0;
  let hi: i32 = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (bswap<u32>(load<u32>(ptr + (<usize>mid << 3))) <= target) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}

/** Last slot of a time index (12-byte BE entries) with timestamp ≤ target, or -1. */
export function timeIndexLookup(ptr: usize, n: i32, target: f64): i32 {
  const t = <i64> target;
  let lo: i32 = 0;
  let hi: i32 = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (bswap<i64>(load<i64>(ptr + <usize>mid * 12)) <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}
