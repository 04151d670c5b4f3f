// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * Locates the fields of a request frame from Kafka's JSON specs, independently of the generated
 * codecs: where each integer, length prefix, array count, string, `records` blob and tagged-field
 * section sits. The mutators use it to aim at the bytes that matter (a count set to -1 or 2^31-1,
 * an array element repeated, a string replaced with its length fixed) instead of only at random
 * bytes.
 *
 * Needs `--allow-read` (the specs are read from `tools/kafka-protocol/messages/`).
 *
 * @module
 */

import { requestHeaderVersion } from "../../protocol/messages/headers.ts";
import {
  type FieldSpec,
  type FieldType,
  inRange,
  loadSpecs,
  type MessageSpec,
} from "../../tools/spec.ts";

/** What a fixed-width field or a length prefix holds. */
export type SpanKind =
  | "bool"
  | "int8"
  | "int16"
  | "uint16"
  | "int32"
  | "uint32"
  | "int64"
  | "float64"
  | "uuid"
  /** A length or count as a big-endian int16 (strings) or int32 (bytes, arrays). */
  | "len16"
  | "len32"
  /** A compact length or count: unsigned varint of n+1 (0 = null). */
  | "ulen"
  /** The tagged-field count or one tagged field's size (unsigned varints). */
  | "tagcount"
  | "tagsize";

/** A field's bytes in the payload: `[start, end)`. */
export interface Span {
  /** What the bytes hold. */
  kind: SpanKind;
  /** First byte. */
  start: number;
  /** One past the last byte. */
  end: number;
  /** Dotted field path, for descriptions (`topics.partitions.index`). */
  path: string;
}

/** A length-prefixed string, bytes or records field. */
export interface Blob {
  /** The length prefix. */
  len: Span;
  /** The contents `[start, end)` (empty for null). */
  start: number;
  /** One past the last byte. */
  end: number;
  /** `string`, `bytes` or `records`. */
  type: "string" | "bytes" | "records";
  /** Field path. */
  path: string;
}

/** An array: its count prefix and each element's bytes. */
export interface ArraySpan {
  /** The count prefix. */
  count: Span;
  /** Each element `[start, end)`. */
  elements: Array<[number, number]>;
  /** Field path. */
  path: string;
}

/** Everything found in one request payload. */
export interface Walk {
  /** API key from the header. */
  apiKey: number;
  /** API version from the header. */
  version: number;
  /** Offset of the body (after the header). */
  bodyStart: number;
  /** Fixed-width fields and length prefixes, in payload order. */
  spans: Span[];
  /** Strings, bytes and records. */
  blobs: Blob[];
  /** Arrays. */
  arrays: ArraySpan[];
  /** Whether the walk consumed the whole payload exactly (a well-formed frame). */
  complete: boolean;
}

const SPEC_DIR = new URL("../../tools/kafka-protocol/messages/", import.meta.url);
let requestSpecs: Map<number, MessageSpec> | undefined;

/**
 * Loads (once) the request specs, by API key.
 *
 * @returns The request specs.
 */
export async function loadRequestSpecs(): Promise<Map<number, MessageSpec>> {
  if (requestSpecs) return requestSpecs;
  const all = await loadSpecs(SPEC_DIR);
  requestSpecs = new Map(
    all.filter(({ spec }) => spec.type === "request").map(({ spec }) => [spec.apiKey, spec]),
  );
  return requestSpecs;
}

class Truncated extends Error {}

class Walker {
  readonly view: DataView;
  pos: number;
  readonly w: Walk;
  constructor(readonly buf: Uint8Array, w: Walk, pos: number) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.w = w;
    this.pos = pos;
  }

  need(n: number): number {
    if (n < 0 || this.pos + n > this.buf.length) throw new Truncated();
    const p = this.pos;
    this.pos += n;
    return p;
  }

  span(kind: SpanKind, n: number, path: string): Span {
    const start = this.need(n);
    const s = { kind, start, end: this.pos, path };
    this.w.spans.push(s);
    return s;
  }

  uvarint(kind: SpanKind, path: string): { span: Span; value: number } {
    const start = this.pos;
    let value = 0;
    for (let i = 0; i < 5; i++) {
      const b = this.buf[this.need(1)];
      value += (b & 0x7f) * 2 ** (7 * i);
      if ((b & 0x80) === 0) {
        const span = { kind, start, end: this.pos, path };
        this.w.spans.push(span);
        return { span, value };
      }
    }
    throw new Truncated();
  }

  /** A length or count prefix: returns the element count / byte length, -1 for null. */
  lengthPrefix(flex: boolean, wide: boolean, path: string): { span: Span; n: number } {
    if (flex) {
      const { span, value } = this.uvarint("ulen", path);
      return { span, n: value - 1 };
    }
    const span = this.span(wide ? "len32" : "len16", wide ? 4 : 2, path);
    const n = wide ? this.view.getInt32(span.start) : this.view.getInt16(span.start);
    return { span, n };
  }

  fields(fields: FieldSpec[], flex: boolean, v: number, path: string): void {
    for (const f of fields) {
      if (!inRange(f.versions, v)) continue;
      if (f.tagged && inRange(f.tagged, v) && flex) continue;
      const fieldFlex = f.flexibleOverride !== undefined ? inRange(f.flexibleOverride, v) : flex;
      this.typed(f.type, fieldFlex, v, path ? `${path}.${f.camel}` : f.camel);
    }
    if (flex) this.tagged(path);
  }

  tagged(path: string): void {
    const { value: count } = this.uvarint("tagcount", `${path}.<tags>`);
    for (let i = 0; i < count; i++) {
      this.uvarint("tagcount", `${path}.<tag>`);
      const { value: size } = this.uvarint("tagsize", `${path}.<tagsize>`);
      this.need(size);
    }
  }

  typed(t: FieldType, flex: boolean, v: number, path: string): void {
    if (t.kind === "array") {
      const { span, n } = this.lengthPrefix(flex, true, path);
      const arr: ArraySpan = { count: span, elements: [], path };
      this.w.arrays.push(arr);
      for (let i = 0; i < n; i++) {
        const start = this.pos;
        this.typed(t.element, flex, v, path);
        arr.elements.push([start, this.pos]);
      }
      return;
    }
    if (t.kind === "struct") {
      this.fields(t.struct.fields, flex, v, path);
      return;
    }
    switch (t.name) {
      case "bool":
        this.span("bool", 1, path);
        return;
      case "int8":
        this.span("int8", 1, path);
        return;
      case "int16":
        this.span("int16", 2, path);
        return;
      case "uint16":
        this.span("uint16", 2, path);
        return;
      case "int32":
        this.span("int32", 4, path);
        return;
      case "uint32":
        this.span("uint32", 4, path);
        return;
      case "int64":
        this.span("int64", 8, path);
        return;
      case "float64":
        this.span("float64", 8, path);
        return;
      case "uuid":
        this.span("uuid", 16, path);
        return;
      case "string":
      case "bytes":
      case "records": {
        const { span, n } = this.lengthPrefix(flex, t.name !== "string", path);
        const start = this.pos;
        if (n > 0) this.need(n);
        this.w.blobs.push({ len: span, start, end: this.pos, type: t.name, path });
        return;
      }
    }
  }
}

/**
 * Walks a request payload (header and body, no size prefix) with the spec of its API key and
 * version. Unknown API keys and versions outside the spec walk the header only; a truncated or
 * malformed payload walks as far as it can.
 *
 * @example
 * ```ts ignore
 * import { walkRequest } from "./walk.ts";
 * const w = await walkRequest(payload);
 * console.log(w.complete, w.arrays.map((a) => a.path));
 * ```
 *
 * @param payload The frame payload.
 * @returns The fields found.
 */
export async function walkRequest(payload: Uint8Array): Promise<Walk> {
  return walkRequestWith(await loadRequestSpecs(), payload);
}

/**
 * {@linkcode walkRequest} with the specs already loaded (synchronous).
 *
 * @param specs From {@linkcode loadRequestSpecs}.
 * @param payload The frame payload.
 * @returns The fields found.
 */
export function walkRequestWith(specs: Map<number, MessageSpec>, payload: Uint8Array): Walk {
  const w: Walk = {
    apiKey: -1,
    version: -1,
    bodyStart: -1,
    spans: [],
    blobs: [],
    arrays: [],
    complete: false,
  };
  const k = new Walker(payload, w, 0);
  try {
    const key = k.span("int16", 2, "header.requestApiKey");
    const ver = k.span("int16", 2, "header.requestApiVersion");
    w.apiKey = k.view.getInt16(key.start);
    w.version = k.view.getInt16(ver.start);
    k.span("int32", 4, "header.correlationId");
    const hv = requestHeaderVersion(w.apiKey, w.version);
    if (hv >= 1) k.typed({ kind: "primitive", name: "string" }, false, 0, "header.clientId");
    if (hv >= 2) k.tagged("header");
    w.bodyStart = k.pos;
    const spec = specs.get(w.apiKey);
    if (!spec || !inRange(spec.valid, w.version)) return w;
    k.fields(spec.fields, inRange(spec.flexible, w.version), w.version, "");
    w.complete = k.pos === payload.length;
  } catch (e) {
    if (!(e instanceof Truncated)) throw e;
  }
  return w;
}
