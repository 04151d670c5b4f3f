// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * Mutations of a request payload (header and body, no size prefix). Blind ones (bit flips,
 * boundary bytes, truncation, insertion, splicing with another frame, API key and version swaps)
 * and structure-aware ones guided by {@linkcode walkRequestWith}: integers set to their
 * boundaries, lengths and counts set to -1, 0 or huge, array elements repeated up to millions of
 * times (count fixed), strings replaced (length fixed), fields nulled, tagged fields injected,
 * and record batches altered with their CRC recomputed so the record validator is reached.
 *
 * @module
 */

import {
  ATTRIBUTE_LENGTH,
  ATTRIBUTES_OFFSET,
  BASE_OFFSET_LENGTH,
  BASE_OFFSET_OFFSET,
  BASE_SEQUENCE_LENGTH,
  BASE_SEQUENCE_OFFSET,
  BASE_TIMESTAMP_LENGTH,
  BASE_TIMESTAMP_OFFSET,
  LAST_OFFSET_DELTA_LENGTH,
  LAST_OFFSET_DELTA_OFFSET,
  LENGTH_LENGTH,
  LENGTH_OFFSET,
  LOG_OVERHEAD,
  MAGIC_LENGTH,
  MAGIC_OFFSET,
  MAX_TIMESTAMP_LENGTH,
  MAX_TIMESTAMP_OFFSET,
  PARTITION_LEADER_EPOCH_LENGTH,
  PARTITION_LEADER_EPOCH_OFFSET,
  PRODUCER_EPOCH_LENGTH,
  PRODUCER_EPOCH_OFFSET,
  PRODUCER_ID_LENGTH,
  PRODUCER_ID_OFFSET,
  RECORD_BATCH_OVERHEAD,
  RECORDS_COUNT_LENGTH,
  RECORDS_COUNT_OFFSET,
} from "../../records/mod.ts";
import { concat } from "../../protocol/framing.ts";
import { fixCrc } from "../../wasm/testing.ts";
import type { MessageSpec } from "../../tools/spec.ts";
import { NOW } from "./generate.ts";
import type { Rng } from "./rng.ts";
import { type Span, type Walk, walkRequestWith } from "./walk.ts";

/** A mutated payload and what was done to it. */
export interface Mutated {
  /** The new payload. */
  payload: Uint8Array;
  /** One short description per mutation, in order. */
  ops: string[];
}

/** Limits for {@linkcode mutate}. */
export interface MutateOptions {
  /** Largest payload a mutation may build (array repetition stops below it). */
  maxBytes: number;
  /** Other payloads to splice from. */
  donors: readonly Uint8Array[];
  /** API keys to swap in (every key with a spec, plus a few without). */
  apiKeys: readonly number[];
}

const INT8 = [0, 1, -1, 0x7f, -0x80];
const INT16 = [0, 1, -1, 2, 0x7fff, -0x8000, 0x7ffe, 0x100, 0xff];
const INT32 = [0, 1, -1, 2, 0x7fffffff, -0x80000000, 0x7ffffffe, 0x10000, 0xffff, 1_000_000, 1e9];
const INT64 = [0, 1, -1, -2, 2 ** 53 - 1, -(2 ** 53), 2 ** 62, -(2 ** 63), 2 ** 31, NOW];
const LENGTHS = [-1, -2, 0, 1, 0x7fff, 0x8000, 0xffff, 0x7fffffff, -0x80000000, 1_000_000, 1e8];
const BYTES = [0, 1, 0x7f, 0x80, 0xff, 0xfe];
const REPEATS = [1, 2, 10, 100, 1000];
const STRINGS = [
  "",
  ".",
  "..",
  "a",
  "a".repeat(249),
  "a".repeat(250),
  "a".repeat(256),
  "a".repeat(32767),
  "__consumer_offsets",
  "__transaction_state",
  "a/b",
  "../../etc",
  "nul\u0000byte",
  "tab\tname",
  "日本語",
  "emoji🚀",
  "-1",
  "9223372036854775808",
  "retention.ms",
  "cleanup.policy",
  "compact,delete",
];

const encoder = new TextEncoder();

function uvarint(v: number): Uint8Array {
  const out: number[] = [];
  let n = v >>> 0;
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return Uint8Array.from(out);
}

function be(width: number, v: number): Uint8Array {
  const b = new Uint8Array(width);
  const dv = new DataView(b.buffer);
  if (width === 1) dv.setInt8(0, v);
  else if (width === 2) dv.setInt16(0, v);
  else if (width === 4) dv.setInt32(0, v | 0);
  else if (width === 8) dv.setBigInt64(0, BigInt.asIntN(64, BigInt(Math.trunc(v))));
  else for (let i = 0; i < width; i++) b[i] = v & 0xff;
  return b;
}

function replace(p: Uint8Array, start: number, end: number, bytes: Uint8Array): Uint8Array {
  return concat([p.subarray(0, start), bytes, p.subarray(end)]);
}

/**
 * Encodes a length or count in the form of `span` (`ulen` stores n+1; -1 is null).
 *
 * @param span The length or count prefix being replaced.
 * @param n The new value.
 * @returns Its bytes.
 */
export function lengthBytes(span: Span, n: number): Uint8Array {
  if (span.kind === "ulen") return uvarint(n < 0 ? 0 : n + 1);
  return be(span.kind === "len16" ? 2 : 4, n);
}

/** The value of a length/count prefix (n, or -1 for null). */
function currentLength(p: Uint8Array, s: Span): number {
  const dv = new DataView(p.buffer, p.byteOffset, p.byteLength);
  if (s.kind === "len16") return dv.getInt16(s.start);
  if (s.kind === "len32") return dv.getInt32(s.start);
  let v = 0;
  for (let i = s.start; i < s.end; i++) v += (p[i] & 0x7f) * 2 ** (7 * (i - s.start));
  return v - 1;
}

function spanWidth(s: Span): number {
  return s.end - s.start;
}

type Op = (p: Uint8Array, w: Walk, rng: Rng, o: MutateOptions) => [Uint8Array, string] | null;

const bitflip: Op = (p, _w, rng) => {
  if (p.length === 0) return null;
  const out = p.slice();
  const n = rng.pick([1, 1, 2, 4, 8]);
  for (let i = 0; i < n; i++) out[rng.int(0, out.length - 1)] ^= 1 << rng.int(0, 7);
  return [out, `bitflip x${n}`];
};

const byte: Op = (p, _w, rng) => {
  if (p.length === 0) return null;
  const out = p.slice();
  const at = rng.int(0, out.length - 1);
  out[at] = rng.pick(BYTES);
  return [out, `byte @${at}=${out[at]}`];
};

const int: Op = (p, w, rng) => {
  const ints = w.spans.filter((s) => s.kind.startsWith("int") || s.kind.startsWith("uint"));
  const blind = ints.length === 0 || rng.chance(0.2);
  const width = blind ? rng.pick([2, 4, 8]) : spanWidth(ints[0]);
  const span = blind ? undefined : rng.pick(ints);
  const size = span ? spanWidth(span) : width;
  const at = span ? span.start : rng.int(0, Math.max(0, p.length - size));
  if (at + size > p.length) return null;
  const v = size === 1
    ? rng.pick(INT8)
    : size === 2
    ? rng.pick(INT16)
    : size === 4
    ? rng.pick(INT32)
    : rng.pick(INT64);
  return [replace(p, at, at + size, be(size, v)), `int${size * 8} ${span?.path ?? `@${at}`}=${v}`];
};

const length: Op = (p, w, rng) => {
  const lens = w.spans.filter((s) => s.kind === "len16" || s.kind === "len32" || s.kind === "ulen");
  if (lens.length === 0) return null;
  const s = rng.pick(lens);
  const n = rng.chance(0.25) ? currentLength(p, s) + rng.pick([1, -1]) : rng.pick(LENGTHS);
  return [replace(p, s.start, s.end, lengthBytes(s, n)), `length ${s.path}=${n}`];
};

const repeat: Op = (p, w, rng, o) => repeatOne(p, w, rng, o.maxBytes, rng.pick(REPEATS));

function repeatOne(
  p: Uint8Array,
  w: Walk,
  rng: Rng,
  maxBytes: number,
  times: number,
): [Uint8Array, string] | null {
  const arrays = w.arrays.filter((a) => a.elements.length > 0);
  if (arrays.length === 0) return null;
  const a = rng.pick(arrays);
  const [s, e] = rng.pick(a.elements);
  const size = Math.max(1, e - s);
  const k = Math.max(1, Math.min(times, Math.floor((maxBytes - p.length) / size)));
  const el = p.subarray(s, e);
  const rep = new Uint8Array(size * k);
  for (let i = 0; i < k; i++) rep.set(el, i * size);
  const count = a.elements.length + k;
  // The count prefix comes before the elements, so splice the elements first.
  let out = replace(p, e, e, rep);
  out = replace(out, a.count.start, a.count.end, lengthBytes(a.count, count));
  return [out, `repeat ${a.path}[] x${k} (count ${count})`];
}

/**
 * Repeats one element of one array of the payload thousands to a million times (fewer when the
 * payload would outgrow `maxBytes`), fixing the array's count: a request with an extreme count.
 *
 * @param specs Request specs.
 * @param payload The payload (not modified).
 * @param rng The case's random stream.
 * @param maxBytes Largest payload to build.
 * @returns The new payload and a description, or `null` if it has no non-empty array.
 */
export function repeatElements(
  specs: Map<number, MessageSpec>,
  payload: Uint8Array,
  rng: Rng,
  maxBytes: number,
): Mutated | null {
  const times = rng.pick([1000, 10_000, 100_000, 1_000_000]);
  const r = repeatOne(payload, walkRequestWith(specs, payload), rng, maxBytes, times);
  return r && { payload: r[0], ops: [r[1]] };
}

const dropElements: Op = (p, w, rng) => {
  const arrays = w.arrays.filter((a) => a.elements.length > 0);
  if (arrays.length === 0) return null;
  const a = rng.pick(arrays);
  const from = rng.int(0, a.elements.length - 1);
  const to = rng.int(from, a.elements.length - 1);
  const keepCount = rng.chance(0.5);
  let out = replace(p, a.elements[from][0], a.elements[to][1], new Uint8Array(0));
  const count = keepCount ? a.elements.length : a.elements.length - (to - from + 1);
  out = replace(out, a.count.start, a.count.end, lengthBytes(a.count, count));
  return [out, `drop ${a.path}[${from}..${to}]${keepCount ? " (count kept)" : ""}`];
};

const string: Op = (p, w, rng) => {
  const blobs = w.blobs.filter((b) => b.type === "string" || rng.chance(0.3));
  if (blobs.length === 0) return null;
  const b = rng.pick(blobs);
  let content: Uint8Array;
  let what: string;
  if (rng.chance(0.15)) {
    content = rng.bytes(rng.pick([1, 3, 16]));
    content[0] = 0xc0 | (content[0] & 0x1f); // a UTF-8 lead byte, usually left incomplete
    what = `${content.length} raw bytes`;
  } else {
    const s = rng.pick(STRINGS);
    content = encoder.encode(s);
    what = s.length > 20 ? `"${s.slice(0, 8)}…" (${content.length} bytes)` : JSON.stringify(s);
  }
  const bytes = concat([lengthBytes(b.len, content.length), content]);
  return [replace(p, b.len.start, b.end, bytes), `string ${b.path}=${what}`];
};

const nullify: Op = (p, w, rng) => {
  const cands = [
    ...w.blobs.map((b) => ({ len: b.len, end: b.end, path: b.path })),
    ...w.arrays.map((a) => ({
      len: a.count,
      end: a.elements.length ? a.elements[a.elements.length - 1][1] : a.count.end,
      path: a.path,
    })),
  ];
  if (cands.length === 0) return null;
  const c = rng.pick(cands);
  return [replace(p, c.len.start, c.end, lengthBytes(c.len, -1)), `null ${c.path}`];
};

const tagged: Op = (p, w, rng) => {
  const sections = w.spans.filter((s) =>
    s.kind === "tagcount" && s.path.endsWith(".<tags>") && p[s.start] === 0
  );
  if (sections.length === 0) return null;
  const s = rng.pick(sections);
  const n = rng.pick([1, 2, 3]);
  const parts: Uint8Array[] = [uvarint(n)];
  for (let i = 0; i < n; i++) {
    const tag = rng.pick([0, 1, 2, 3, 0x7f, 0xffff, 0x7fffffff]);
    const data = rng.bytes(rng.pick([0, 1, 4, 16]));
    const size = rng.chance(0.2)
      ? rng.pick([0x7fffffff, data.length + 1, 0xffffffff])
      : data.length;
    parts.push(uvarint(tag), uvarint(size), data);
  }
  return [replace(p, s.start, s.end, concat(parts)), `tagged ${s.path} x${n}`];
};

/** Record-batch header fields worth hitting, as [offset in the batch, width]. */
const BATCH_FIELDS: Array<[number, number, string]> = [
  [BASE_OFFSET_OFFSET, BASE_OFFSET_LENGTH, "baseOffset"],
  [LENGTH_OFFSET, LENGTH_LENGTH, "batchLength"],
  [PARTITION_LEADER_EPOCH_OFFSET, PARTITION_LEADER_EPOCH_LENGTH, "partitionLeaderEpoch"],
  [MAGIC_OFFSET, MAGIC_LENGTH, "magic"],
  [ATTRIBUTES_OFFSET, ATTRIBUTE_LENGTH, "attributes"],
  [LAST_OFFSET_DELTA_OFFSET, LAST_OFFSET_DELTA_LENGTH, "lastOffsetDelta"],
  [BASE_TIMESTAMP_OFFSET, BASE_TIMESTAMP_LENGTH, "baseTimestamp"],
  [MAX_TIMESTAMP_OFFSET, MAX_TIMESTAMP_LENGTH, "maxTimestamp"],
  [PRODUCER_ID_OFFSET, PRODUCER_ID_LENGTH, "producerId"],
  [PRODUCER_EPOCH_OFFSET, PRODUCER_EPOCH_LENGTH, "producerEpoch"],
  [BASE_SEQUENCE_OFFSET, BASE_SEQUENCE_LENGTH, "baseSequence"],
  [RECORDS_COUNT_OFFSET, RECORDS_COUNT_LENGTH, "recordCount"],
];

const records: Op = (p, w, rng) => {
  const blobs = w.blobs.filter((b) =>
    b.type === "records" && b.end - b.start >= RECORD_BATCH_OVERHEAD
  );
  if (blobs.length === 0) return null;
  const b = rng.pick(blobs);
  const out = p.slice();
  const batch = out.subarray(b.start, b.end);
  let what: string;
  if (rng.chance(0.6)) {
    const [at, width, name] = rng.pick(BATCH_FIELDS);
    let v: number;
    if (name === "attributes") v = rng.pick([0x20, 0x10, 0x30, 0x07, 0x05, 0x08, 0x40, -1]);
    else if (name === "magic") v = rng.pick([0, 1, 3, -1]);
    else {v = width === 1
        ? rng.pick(INT8)
        : width === 2
        ? rng.pick(INT16)
        : width === 4
        ? rng.pick(INT32)
        : rng.pick(INT64);}
    batch.set(be(width, v), at);
    what = `${name}=${v}`;
  } else {
    const at = rng.int(RECORD_BATCH_OVERHEAD, batch.length - 1);
    batch[at] ^= 1 << rng.int(0, 7);
    what = `record bit @${at}`;
  }
  let fixed = "";
  if (rng.chance(0.7)) {
    const dv = new DataView(batch.buffer, batch.byteOffset, batch.byteLength);
    const len = dv.getInt32(LENGTH_OFFSET);
    if (len >= ATTRIBUTES_OFFSET - LOG_OVERHEAD && LOG_OVERHEAD + len <= batch.length) {
      fixCrc(batch);
      fixed = ", crc fixed";
    }
  }
  return [out, `records ${b.path}: ${what}${fixed}`];
};

const truncate: Op = (p, _w, rng) => {
  if (p.length === 0) return null;
  const at = rng.chance(0.3) ? rng.int(0, Math.min(p.length, 12)) : rng.int(0, p.length - 1);
  return [p.slice(0, at), `truncate to ${at}`];
};

const insert: Op = (p, _w, rng) => {
  const at = rng.int(0, p.length);
  const bytes = rng.chance(0.5) ? rng.bytes(rng.pick([1, 2, 4, 16, 256])) : new Uint8Array(
    rng.pick([1, 4, 64]),
  ).fill(rng.pick(BYTES));
  return [replace(p, at, at, bytes), `insert ${bytes.length} @${at}`];
};

const erase: Op = (p, _w, rng) => {
  if (p.length < 2) return null;
  const at = rng.int(0, p.length - 1);
  const n = rng.int(1, Math.min(16, p.length - at));
  return [replace(p, at, at + n, new Uint8Array(0)), `erase ${n} @${at}`];
};

const splice: Op = (p, _w, rng, o) => {
  if (o.donors.length === 0) return null;
  const d = rng.pick(o.donors);
  if (rng.chance(0.5)) {
    const a = rng.int(0, p.length);
    const b = rng.int(0, d.length);
    return [concat([p.subarray(0, a), d.subarray(b)]), `splice head ${a} + donor tail @${b}`];
  }
  const from = rng.int(0, d.length);
  const to = rng.int(from, Math.min(d.length, from + 64));
  const at = rng.int(0, p.length);
  return [replace(p, at, at, d.subarray(from, to)), `splice ${to - from} donor bytes @${at}`];
};

const apiKey: Op = (p, _w, rng, o) => {
  if (p.length < 4) return null;
  const out = p.slice();
  const dv = new DataView(out.buffer);
  const key = rng.chance(0.8) ? rng.pick(o.apiKeys) : rng.pick([-1, 75, 99, 1000, 0x7fff, -0x8000]);
  dv.setInt16(0, key);
  let what = `apiKey=${key}`;
  if (rng.chance(0.5)) {
    const v = rng.pick([0, 1, 2, 3, 4, 5, 7, 9, 12, 16, -1, 0x7fff]);
    dv.setInt16(2, v);
    what += ` version=${v}`;
  }
  return [out, what];
};

const version: Op = (p, _w, rng) => {
  if (p.length < 4) return null;
  const out = p.slice();
  const dv = new DataView(out.buffer);
  const old = dv.getInt16(2);
  const v = rng.chance(0.7) ? Math.max(-1, old + rng.pick([-2, -1, 1, 2, 3])) : rng.pick([
    -1,
    -0x8000,
    0x7fff,
    100,
  ]);
  dv.setInt16(2, v);
  return [out, `version ${old}->${v}`];
};

const OPS: Record<string, [number, Op]> = {
  bitflip: [10, bitflip],
  byte: [5, byte],
  int: [14, int],
  length: [12, length],
  repeat: [4, repeat],
  dropElements: [3, dropElements],
  string: [8, string],
  nullify: [4, nullify],
  tagged: [3, tagged],
  records: [8, records],
  truncate: [5, truncate],
  insert: [3, insert],
  erase: [3, erase],
  splice: [4, splice],
  apiKey: [3, apiKey],
  version: [6, version],
};
const WEIGHTS = Object.fromEntries(Object.entries(OPS).map(([k, [w]]) => [k, w]));

/** Payloads above this are mutated blind (no re-walk between mutations). */
const WALK_LIMIT = 256 * 1024;

/**
 * Applies 1–4 random mutations to a payload.
 *
 * @param specs Request specs (from `loadRequestSpecs`).
 * @param payload The payload to mutate (not modified).
 * @param rng The case's random stream.
 * @param options Size limit, splice donors, API keys.
 * @returns The mutated payload and what was done.
 */
export function mutate(
  specs: Map<number, MessageSpec>,
  payload: Uint8Array,
  rng: Rng,
  options: MutateOptions,
): Mutated {
  let p = payload;
  const ops: string[] = [];
  const n = rng.pick([1, 1, 1, 2, 2, 3, 4]);
  let walk: Walk | undefined;
  for (let i = 0, tries = 0; i < n && tries < 20; tries++) {
    if (walk === undefined) {
      walk = p.length <= WALK_LIMIT ? walkRequestWith(specs, p) : {
        apiKey: -1,
        version: -1,
        bodyStart: -1,
        spans: [],
        blobs: [],
        arrays: [],
        complete: false,
      };
    }
    const name = rng.weighted(WEIGHTS);
    const r = OPS[name][1](p, walk, rng, options);
    if (r === null) continue;
    [p, ops[ops.length]] = r;
    walk = undefined;
    i++;
  }
  if (ops.length === 0) {
    const [q, what] = bitflip(p, undefined as unknown as Walk, rng, options) ??
      [p, "unchanged"];
    p = q;
    ops.push(what);
  }
  return { payload: p, ops };
}
