// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * Requests generated from Kafka's specs and encoded by the codecs in `protocol/messages/`, with
 * values chosen to hurt: integer boundaries, negative counts and offsets, empty, long and
 * unusual strings, nulls where allowed, record batches with odd attributes (control,
 * transactional, compressed), and every API key and version, including ones the broker does not
 * serve. Values follow the field's meaning often enough to get past the first checks (topic names
 * from a small pool, partition indexes near 0, config names that exist).
 *
 * @module
 */

import { type ApiInfo, APIS as PROTOCOL_APIS } from "../../protocol/apis.ts";
import { RequestHeader, requestHeaderVersion } from "../../protocol/messages/headers.ts";
import { type MessageCodec, uuidFromBytes, Writer } from "../../protocol/primitives.ts";
import { type FieldSpec, type FieldType, inRange, type MessageSpec } from "../../tools/spec.ts";
import { buildBatch, concatBytes, type TestRecord } from "../../wasm/testing.ts";
import { encodeRecordBatch } from "../../records/mod.ts";
import type { Rng } from "./rng.ts";

/** Names the generator draws from, so requests meet each other's state. */
export interface Pools {
  /** Topic names (none of them the control topic). */
  topics: readonly string[];
  /** Group ids. */
  groups: readonly string[];
  /** Transactional ids. */
  transactionalIds: readonly string[];
}

/** A generated request payload. */
export interface Generated {
  /** Header and body, without the size prefix. */
  payload: Uint8Array;
  /** API key. */
  apiKey: number;
  /** API version in the header (may lie outside the codec's range). */
  version: number;
  /** What was generated. */
  desc: string;
}

const CONFIG_NAMES = [
  "cleanup.policy",
  "retention.ms",
  "retention.bytes",
  "segment.bytes",
  "segment.ms",
  "max.message.bytes",
  "min.insync.replicas",
  "message.timestamp.type",
  "compression.type",
  "flush.messages",
  "index.interval.bytes",
  "segment.index.bytes",
  "min.cleanable.dirty.ratio",
  "delete.retention.ms",
  "unknown.config",
  "",
];
const CONFIG_VALUES = [
  "-2",
  "-1",
  "0",
  "1",
  "2147483648",
  "9223372036854775807",
  "99999999999999999999",
  "1e3",
  "compact",
  "delete",
  "compact,delete",
  "",
  "abc",
  "NaN",
  "0.5",
  "LogAppendTime",
  "zstd",
];
const TEXT = ["", "x", "a".repeat(300), "a".repeat(32767), "日本語", "nul\u0000", "\ud800"];
/** A fixed "now" (2026-01-01T00:00:00Z), so that a seed always builds the same bytes. */
export const NOW = 1_767_225_600_000;
const INT64 = [0, 1, -1, -2, -3, 2 ** 31, 2 ** 53 - 1, -(2 ** 53 - 1), 2 ** 63, -(2 ** 63)];

function intIn(rng: Rng, bits: number): number {
  const lo = -(2 ** (bits - 1));
  const hi = 2 ** (bits - 1) - 1;
  return rng.pick([lo, hi, -1, 0, 1, rng.int(lo, hi)]);
}

function uuid(rng: Rng): string {
  const kind = rng.pick(["zero", "ones", "random"]);
  const b = kind === "random" ? rng.bytes(16) : new Uint8Array(16).fill(kind === "ones" ? 255 : 0);
  return uuidFromBytes(b);
}

function intDefault(d: unknown): number {
  if (d === undefined) return 0;
  if (typeof d === "number") return d;
  const s = String(d);
  return s.startsWith("0x") ? parseInt(s.slice(2), 16) : Number(s);
}

function defaultValue(f: FieldSpec): unknown {
  const t = f.type;
  const d = f.defaultValue;
  if (t.kind === "array") return d === "null" ? null : [];
  if (t.kind === "struct") {
    if (d === "null") return null;
    const o: Record<string, unknown> = {};
    for (const g of t.struct.fields) o[g.camel] = defaultValue(g);
    return o;
  }
  switch (t.name) {
    case "bool":
      return d === true || d === "true";
    case "string":
      return d === "null" ? null : d === undefined ? "" : String(d);
    case "bytes":
      return d === "null" ? null : new Uint8Array(0);
    case "records":
      return null;
    case "uuid":
      return "AAAAAAAAAAAAAAAAAAAAAA";
    case "float64":
      return d === undefined ? 0 : Number(d);
    default:
      return intDefault(d);
  }
}

/** Builds one message value for a version, field by field. */
class ValueGen {
  constructor(
    readonly rng: Rng,
    readonly spec: MessageSpec,
    readonly v: number,
    readonly pools: Pools,
  ) {}

  present(f: FieldSpec): boolean {
    if (!inRange(f.versions, this.v)) return false;
    if (f.tagged) return inRange(f.tagged, this.v) && inRange(this.spec.flexible, this.v);
    return true;
  }

  struct(fields: FieldSpec[], path: string): Record<string, unknown> {
    const o: Record<string, unknown> = {};
    for (const f of fields) {
      o[f.camel] = this.present(f) ? this.value(f, `${path}.${f.camel}`) : defaultValue(f);
    }
    return o;
  }

  value(f: FieldSpec, path: string): unknown {
    if (inRange(f.nullable, this.v) && this.rng.chance(0.1)) return null;
    return this.typed(f.type, f, path);
  }

  typed(t: FieldType, f: FieldSpec, path: string): unknown {
    const rng = this.rng;
    if (t.kind === "array") {
      const n = rng.pick([0, 1, 1, 1, 2, 2, 3, 5]);
      const out: unknown[] = [];
      for (let i = 0; i < n; i++) out.push(this.typed(t.element, f, path));
      return out;
    }
    if (t.kind === "struct") return this.struct(t.struct.fields, path);
    const name = f.camel.toLowerCase();
    const plausible = rng.chance(0.6);
    switch (t.name) {
      case "bool":
        return rng.chance(0.5);
      case "int8":
        return plausible ? rng.int(-1, 2) : intIn(rng, 8);
      case "int16":
        if (plausible && name.includes("epoch")) return rng.int(-1, 2);
        if (plausible && name.includes("replicationfactor")) return rng.pick([-1, 1, 3]);
        return plausible ? rng.int(-1, 4) : intIn(rng, 16);
      case "uint16":
        return plausible ? rng.int(0, 4) : rng.pick([0, 1, 0xffff]);
      case "int32":
        if (plausible && (name.includes("partition") || name === "index")) return rng.int(0, 3);
        if (plausible && (name.includes("timeout") || name.includes("wait"))) {
          return rng.pick([0, 1, 10, 100, 500]);
        }
        if (plausible && (name.includes("count") || name.startsWith("num"))) {
          return rng.pick([-1, 0, 1, 2, 3, 8]);
        }
        if (plausible && name.includes("bytes")) return rng.pick([0, 1, 1024, 1 << 20]);
        return plausible ? rng.int(-1, 10) : intIn(rng, 32);
      case "uint32":
        return plausible ? rng.int(0, 10) : rng.pick([0, 1, 0xffffffff]);
      case "int64":
        if (plausible && name.includes("timestamp")) return rng.pick([-1, 0, NOW]);
        return plausible ? rng.int(-2, 10) : rng.pick(INT64);
      case "float64":
        return rng.pick([0, -0, 1.5, NaN, Infinity, -Infinity]);
      case "uuid":
        return uuid(rng);
      case "string":
        return this.text(name, path);
      case "bytes":
        return rng.pick([0, 0, 1, 16, 300, 70_000]) === 0
          ? new Uint8Array(0)
          : rng.bytes(rng.pick([1, 16, 300, 70_000]));
      case "records":
        return this.records();
    }
  }

  text(name: string, path: string): string {
    const rng = this.rng;
    if (rng.chance(0.15)) return rng.pick(TEXT);
    if (path.includes("config") || path.includes("Config")) {
      if (name.includes("name")) return rng.pick(CONFIG_NAMES);
      if (name.includes("value")) return rng.pick(CONFIG_VALUES);
    }
    if (name.includes("group")) return rng.pick(this.pools.groups);
    if (name.includes("transactional")) return rng.pick(this.pools.transactionalIds);
    if (name.includes("topic") || name === "name") return rng.pick(this.pools.topics);
    if (name.includes("protocoltype")) return rng.pick(["consumer", "connect", ""]);
    if (name.includes("member") || name.includes("instance")) {
      return rng.pick(["", "m-1", "fuzz-member"]);
    }
    if (name === "protocolname" || name.includes("assignor")) {
      return rng.pick(["range", "roundrobin", "cooperative-sticky", ""]);
    }
    return rng.pick(["", "fuzz", "x".repeat(rng.int(1, 40))]);
  }

  records(): Uint8Array | null {
    const rng = this.rng;
    const kind = rng.weighted({ valid: 6, compressed: 2, several: 1, garbage: 1, empty: 1 });
    if (kind === "empty") return rng.chance(0.5) ? null : new Uint8Array(0);
    if (kind === "garbage") return rng.bytes(rng.pick([1, 11, 12, 60, 61, 100]));
    const count = rng.pick([1, 1, 2, 10, 100]);
    const recs: TestRecord[] = [];
    for (let i = 0; i < count; i++) {
      recs.push({
        key: rng.chance(0.3) ? null : "k".repeat(rng.pick([0, 1, 10])),
        value: rng.chance(0.1) ? null : rng.bytes(rng.pick([0, 1, 100, 1000])),
        headers: rng.chance(0.2) ? [{ key: "h", value: rng.chance(0.5) ? null : "v" }] : [],
        timestampDelta: rng.chance(0.2) ? rng.pick([-1, 2 ** 31, -(2 ** 40)]) : 0,
      });
    }
    const producerId = rng.pick([-1, -1, 0, 1, 1000, 2 ** 53 - 1]);
    const producerEpoch = producerId === -1 ? -1 : rng.pick([0, 1, -1, 0x7fff]);
    const baseSequence = producerId === -1 ? -1 : rng.pick([0, 1, 5, -1, 0x7fffffff]);
    if (kind === "compressed") {
      try {
        return encodeRecordBatch(
          recs.map((r) => ({
            key: typeof r.key === "string" ? new TextEncoder().encode(r.key) : r.key,
            value: typeof r.value === "string" ? new TextEncoder().encode(r.value) : r.value,
          })),
          {
            compression: rng.pick(["gzip", "zstd"]),
            producerId,
            producerEpoch,
            baseSequence,
            transactional: rng.chance(0.2),
            control: rng.chance(0.1),
            timestamp: rng.pick([0, -1, NOW]),
          },
        );
      } catch {
        return null;
      }
    }
    // attributes: compression bits 0-2 (none here), timestamp type 3, transactional 4, control 5
    const attributes = rng.chance(0.7) ? 0 : rng.pick([0x08, 0x10, 0x20, 0x30, 0x01, 0x40]);
    const one = () =>
      buildBatch({
        records: recs,
        baseOffset: rng.pick([0, 0, 5, -1]),
        baseTimestamp: rng.pick([0, NOW, -1, 2 ** 50]),
        producerId,
        producerEpoch,
        baseSequence,
        attributes,
        partitionLeaderEpoch: rng.pick([-1, 0, 5]),
      });
    return kind === "several" ? concatBytes([one(), one()]) : one();
  }
}

/** Every API with a codec, by key. */
const BY_KEY = new Map<number, ApiInfo>(PROTOCOL_APIS.map((a) => [a.key, a]));

/**
 * Generates one request. `served` are the keys the broker serves (drawn three times in four);
 * the rest come from every API with a codec. Versions are in the codec's range nine times in
 * ten, else just outside it (or far outside) with the body encoded at the nearest valid version.
 *
 * @param specs Request specs by API key.
 * @param rng The case's random stream.
 * @param pools Names to draw from.
 * @param served API keys the broker serves.
 * @param apiKey Generate this API instead of drawing one.
 * @returns The payload, or `null` when the drawn value cannot be encoded (draw again).
 */
export function generateRequest(
  specs: Map<number, MessageSpec>,
  rng: Rng,
  pools: Pools,
  served: readonly number[],
  apiKey?: number,
): Generated | null {
  const key = apiKey ?? (rng.chance(0.75) ? rng.pick(served) : rng.pick(PROTOCOL_APIS).key);
  const api = BY_KEY.get(key);
  const spec = specs.get(key);
  if (!api || !spec) return null;
  const codec = api.request as MessageCodec<unknown>;
  let bodyVersion = rng.int(codec.minVersion, codec.maxVersion);
  let headerVersion = bodyVersion;
  if (rng.chance(0.1)) {
    headerVersion = rng.pick([codec.maxVersion + 1, codec.maxVersion + 2, -1, 0x7fff]);
    bodyVersion = headerVersion < 0 ? codec.minVersion : codec.maxVersion;
  }
  const value = new ValueGen(rng, spec, bodyVersion, pools).struct(spec.fields, "");
  const w = new Writer(256);
  try {
    RequestHeader.write(w, {
      requestApiKey: key,
      requestApiVersion: headerVersion,
      correlationId: 0,
      clientId: rng.pick([null, "", "fuzz", "f".repeat(1000)]),
    }, requestHeaderVersion(key, bodyVersion));
    codec.write(w, value, bodyVersion);
  } catch {
    return null;
  }
  return {
    payload: w.finish(),
    apiKey: key,
    version: headerVersion,
    desc: `generated ${api.name} v${headerVersion}` +
      (headerVersion !== bodyVersion ? ` (body v${bodyVersion})` : ""),
  };
}
