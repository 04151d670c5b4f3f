// Copyright 2026 the Sluice authors. Apache-2.0 license.

// Schema-driven round trip of every version of every generated codec: random values built from
// Kafka's JSON specs (independently of the generator's emitter) → write → read → deep equal, and
// write again → identical bytes. Also: every truncation and random garbage throws ProtocolError.

import assert from "node:assert/strict";
import { APIS } from "./apis.ts";
import { ProtocolError } from "./errors.ts";
import { RequestHeader, ResponseHeader } from "./messages/headers.ts";
import {
  ConsumerProtocolAssignment,
  ConsumerProtocolSubscription,
} from "./messages/consumer_protocol.ts";
import { decodeMessage, encodeMessage, type MessageCodec, Reader, Writer } from "./primitives.ts";
import {
  type FieldSpec,
  type FieldType,
  inRange,
  loadSpecs,
  type MessageSpec,
  type StructSpec,
} from "../tools/spec.ts";

const SPEC_DIR = new URL("../tools/kafka-protocol/messages/", import.meta.url);
const specs = new Map((await loadSpecs(SPEC_DIR)).map(({ spec }) => [spec.name, spec]));

/** mulberry32: a small seeded PRNG so failures are reproducible. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Independent base64url UUID encoding (via btoa), to cross-check the Reader/Writer.
function uuidString(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(
    /=+$/,
    "",
  );
}

const STRINGS = [
  "",
  "a",
  "topic-1",
  "héllo wörld",
  "日本語テキスト",
  "emoji 🚀🔥",
  "x".repeat(300),
];
const INT64_EDGES = [
  0,
  -1,
  1,
  2 ** 31,
  -(2 ** 31) - 1,
  2 ** 32,
  -(2 ** 32),
  2 ** 53 - 1,
  -(2 ** 53 - 1),
];

class Gen {
  constructor(readonly rnd: () => number, readonly msg: MessageSpec, readonly v: number) {}

  int(lo: number, hi: number): number {
    return lo + Math.floor(this.rnd() * (hi - lo + 1));
  }
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.rnd() * xs.length)];
  }

  isFlex(f: FieldSpec | null): boolean {
    if (f && f.flexibleOverride !== undefined) return inRange(f.flexibleOverride, this.v);
    return inRange(this.msg.flexible, this.v);
  }

  present(f: FieldSpec): boolean {
    if (!inRange(f.versions, this.v)) return false;
    if (f.tagged) return inRange(f.tagged, this.v) && this.isFlex(null);
    return true;
  }

  struct(s: StructSpec): Record<string, unknown> {
    const o: Record<string, unknown> = {};
    for (const f of s.fields) o[f.camel] = this.present(f) ? this.value(f) : defaultValue(f);
    return o;
  }

  value(f: FieldSpec): unknown {
    const nullable = inRange(f.nullable, this.v);
    const t = f.type;
    if (nullable && this.rnd() < 0.2) {
      return null;
    }
    return this.typed(t, f);
  }

  typed(t: FieldType, f: FieldSpec): unknown {
    if (t.kind === "array") {
      const n = this.pick([0, 1, 2, 3]);
      const out: unknown[] = [];
      for (let i = 0; i < n; i++) out.push(this.typed(t.element, f));
      return out;
    }
    if (t.kind === "struct") return this.struct(t.struct);
    switch (t.name) {
      case "bool":
        return this.rnd() < 0.5;
      case "int8":
        return this.int(-128, 127);
      case "int16":
        return this.int(-32768, 32767);
      case "uint16":
        return this.int(0, 65535);
      case "int32":
        return this.int(-2147483648, 2147483647);
      case "uint32":
        return this.int(0, 4294967295);
      case "int64":
        return this.rnd() < 0.5 ? this.pick(INT64_EDGES) : this.int(-(2 ** 53 - 1), 2 ** 53 - 1);
      case "float64":
        return this.pick([0, -0, 1.5, -3.25e300, Number.MIN_VALUE, Math.PI, NaN, Infinity]);
      case "string":
        return this.pick(STRINGS);
      case "uuid": {
        const b = new Uint8Array(16);
        for (let i = 0; i < 16; i++) b[i] = this.int(0, 255);
        return uuidString(b);
      }
      case "bytes":
      case "records": {
        const n = this.pick([0, 1, 7, 300]);
        const b = new Uint8Array(n);
        for (let i = 0; i < n; i++) b[i] = this.int(0, 255);
        return b;
      }
    }
  }
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

interface Case {
  codec: MessageCodec<unknown>;
  spec: MessageSpec;
}

function cases(): Case[] {
  const out: Case[] = [];
  for (const api of APIS) {
    out.push({ codec: api.request, spec: specs.get(api.request.name)! });
    out.push({ codec: api.response, spec: specs.get(api.response.name)! });
  }
  out.push({ codec: RequestHeader as MessageCodec<unknown>, spec: specs.get("RequestHeader")! });
  out.push({ codec: ResponseHeader as MessageCodec<unknown>, spec: specs.get("ResponseHeader")! });
  for (const codec of [ConsumerProtocolSubscription, ConsumerProtocolAssignment]) {
    out.push({ codec: codec as MessageCodec<unknown>, spec: specs.get(codec.name)! });
  }
  return out;
}

function roundTrip(c: Case, v: number, value: unknown): Uint8Array {
  const bytes = encodeMessage(c.codec, value, v);
  const copy = bytes.slice();
  let back: unknown;
  try {
    back = decodeMessage(c.codec, copy, v);
  } catch (e) {
    throw new Error(`${c.spec.name} v${v}: decode failed: ${(e as Error).message}`);
  }
  assert.deepStrictEqual(back, value, `${c.spec.name} v${v}: value changed in round trip`);
  const again = encodeMessage(c.codec, back, v);
  assert.deepStrictEqual(again, copy, `${c.spec.name} v${v}: re-encoding changed the bytes`);
  return copy;
}

Deno.test("every API is generated from the specs, with matching version ranges", () => {
  const requests = [...specs.values()].filter((s) => s.type === "request");
  assert.equal(APIS.length, requests.length);
  assert.equal(APIS.length, 88);
  for (const api of APIS) {
    const spec = specs.get(api.request.name)!;
    assert.equal(api.key, spec.apiKey);
    assert.equal(api.minVersion, spec.valid.lo);
    assert.equal(api.maxVersion, spec.valid.hi);
    assert.equal(api.request.apiKey, api.key);
    assert.equal(api.response.apiKey, api.key);
    assert.equal(api.flexibleMinVersion, spec.flexible ? spec.flexible.lo : Infinity);
  }
});

Deno.test("round trip: every version of every request, response and header", () => {
  const rnd = prng(0x5eed);
  let trips = 0;
  for (const c of cases()) {
    for (let v = c.spec.valid.lo; v <= c.spec.valid.hi; v++) {
      // All defaults (as `create()` builds them) must round-trip too.
      roundTrip(c, v, c.codec.create());
      const root: StructSpec = { name: c.spec.name, fields: c.spec.fields };
      for (let i = 0; i < 8; i++) {
        const gen = new Gen(rnd, c.spec, v);
        roundTrip(c, v, gen.struct(root));
        trips++;
      }
    }
  }
  assert.ok(trips > 4000, `only ${trips} round trips`);
});

Deno.test("create() fills every field with the spec default", () => {
  for (const c of cases()) {
    const expected: Record<string, unknown> = {};
    for (const f of c.spec.fields) expected[f.camel] = defaultValue(f);
    assert.deepStrictEqual(c.codec.create(), expected, c.spec.name);
  }
});

Deno.test("every truncation of an encoded message throws ProtocolError", () => {
  const rnd = prng(42);
  let checked = 0;
  for (const c of cases()) {
    for (const v of new Set([c.spec.valid.lo, c.spec.valid.hi])) {
      const root: StructSpec = { name: c.spec.name, fields: c.spec.fields };
      const bytes = encodeMessage(c.codec, new Gen(rnd, c.spec, v).struct(root), v).slice();
      for (let cut = 0; cut < bytes.length; cut++) {
        assert.throws(
          () => c.codec.read(new Reader(bytes.subarray(0, cut)), v),
          ProtocolError,
          `${c.spec.name} v${v} cut at ${cut}`,
        );
        checked++;
      }
    }
  }
  assert.ok(checked > 1000);
});

Deno.test("random garbage either decodes or throws ProtocolError", () => {
  const rnd = prng(7);
  for (const c of cases()) {
    for (const v of new Set([c.spec.valid.lo, c.spec.valid.hi])) {
      for (let i = 0; i < 30; i++) {
        const n = Math.floor(rnd() * 64);
        const b = new Uint8Array(n);
        for (let k = 0; k < n; k++) b[k] = rnd() < 0.3 ? 0xff : Math.floor(rnd() * 256);
        try {
          c.codec.read(new Reader(b), v);
        } catch (e) {
          if (!(e instanceof ProtocolError)) {
            throw new Error(`${c.spec.name} v${v}: ${e} on ${Array.from(b)}`);
          }
        }
      }
    }
  }
});

Deno.test("unsupported versions are refused on read and write", () => {
  for (const api of APIS) {
    assert.throws(
      () => api.request.read(new Reader(new Uint8Array(64)), api.maxVersion + 1),
      (e: unknown) => e instanceof ProtocolError && /unsupported version/.test(e.message),
    );
    assert.throws(
      () => api.response.write(new Writer(), api.response.create(), api.maxVersion + 1),
      ProtocolError,
    );
    assert.throws(() => api.request.write(new Writer(), api.request.create(), -1), ProtocolError);
  }
});

Deno.test("write refuses values the requested version cannot carry", () => {
  const { ProduceRequest: P, FetchRequest: F } = Object.fromEntries(
    APIS.map((a) => [a.request.name, a.request]),
  );
  // transactionalId is not ignorable and appears in v3: a non-null value cannot go to v2.
  assert.throws(
    () => encodeMessage(P, P.create({ transactionalId: "tx" }), 2),
    (e: unknown) =>
      e instanceof ProtocolError &&
      e.message ===
        "cannot write ProduceRequest.transactionalId in v2: the field is not in this version " +
          "and is not default",
  );
  assert.equal(encodeMessage(P, P.create({ transactionalId: null }), 2).length, 10);
  // A non-nullable array given as null, and a non-nullable string given as null.
  assert.throws(() => encodeMessage(P, P.create({ topicData: null }), 9), /non-nullable/);
  assert.throws(
    () => encodeMessage(P, P.create({ topicData: [{ name: null, partitionData: [] }] }), 9),
    /expected a string, got null/,
  );
  // Ignorable fields are dropped silently (FetchRequest.rackId is ignorable, 11+).
  assert.equal(encodeMessage(F, F.create({ rackId: "r1" }), 10).length > 0, true);
});

Deno.test("unknown tagged fields are skipped; a known tag with a wrong size is refused", () => {
  const api = APIS.find((a) => a.name === "ApiVersions")!;
  const base = encodeMessage(
    api.request,
    api.request.create({ clientSoftwareName: "a", clientSoftwareVersion: "1" }),
    3,
  );
  assert.deepStrictEqual(base, new Uint8Array([2, 97, 2, 49, 0]));
  const withUnknown = new Uint8Array([2, 97, 2, 49, 2, 9, 2, 0xab, 0xcd, 10, 0]);
  assert.deepStrictEqual(
    decodeMessage(api.request, withUnknown, 3),
    decodeMessage(api.request, base, 3),
  );
  // ApiVersionsResponse tag 1 (FinalizedFeaturesEpoch, int64) declared with size 4.
  const res = APIS.find((a) => a.name === "ApiVersions")!.response;
  const bad = new Uint8Array([0, 0, 1, 0, 0, 0, 0, 1, 1, 4, 0, 0, 0, 5]);
  assert.throws(() => decodeMessage(res, bad, 3), ProtocolError);
});

Deno.test("mutated encodings (byte flips) decode or throw ProtocolError, never crash", () => {
  const rnd = prng(99);
  let mutations = 0;
  for (const c of cases()) {
    for (const v of new Set([c.spec.valid.lo, c.spec.valid.hi])) {
      const root: StructSpec = { name: c.spec.name, fields: c.spec.fields };
      const good = encodeMessage(c.codec, new Gen(rnd, c.spec, v).struct(root), v).slice();
      if (good.length === 0) continue;
      for (let i = 0; i < 40; i++) {
        const b = good.slice();
        const flips = 1 + Math.floor(rnd() * 3);
        for (let k = 0; k < flips; k++) {
          b[Math.floor(rnd() * b.length)] = rnd() < 0.5 ? 0xff : Math.floor(rnd() * 256);
        }
        try {
          c.codec.read(new Reader(b), v);
        } catch (e) {
          if (!(e instanceof ProtocolError)) {
            throw new Error(`${c.spec.name} v${v}: ${e} on ${Array.from(b)}`);
          }
        }
        mutations++;
      }
    }
  }
  assert.ok(mutations > 5000, `${mutations}`);
});

Deno.test("decoded arrays of every length around the presized bound hold exactly their elements, in order", async () => {
  const { ProduceRequest } = await import("./messages/produce.ts");
  const { DescribeGroupsRequest } = await import("./messages/describe_groups.ts");
  for (const n of [0, 1, 2, 63, 64, 65, 200]) {
    const req = ProduceRequest.create({
      acks: 1,
      timeoutMs: 1000,
      topicData: Array.from({ length: n }, (_, t) => ({
        name: `t${t}`,
        partitionData: Array.from({ length: n }, (_, p) => ({
          index: p,
          records: new Uint8Array([t & 0xff, p & 0xff]),
        })),
      })),
    });
    for (const v of [3, 9]) {
      const back = decodeMessage(ProduceRequest, encodeMessage(ProduceRequest, req, v), v);
      assert.equal(back.topicData.length, n);
      assert.deepEqual(back, req);
      for (const td of back.topicData) {
        assert.equal(td.partitionData.length, n);
        assert.equal(Object.keys(td.partitionData).length, n, "no holes");
      }
    }
    // an array of primitives (strings)
    const groups = Array.from({ length: n }, (_, g) => `g${g}`);
    const dg = DescribeGroupsRequest.create({ groups });
    const dgBack = decodeMessage(
      DescribeGroupsRequest,
      encodeMessage(DescribeGroupsRequest, dg, 0),
      0,
    );
    assert.deepEqual(dgBack.groups, groups);
  }
});
