// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * A reader of OpenTelemetry's `MetricsData` protobuf (OTLP, `opentelemetry/proto/metrics/v1/
 * metrics.proto`), the payload of a KIP-714 PushTelemetry request: the data points of its gauges,
 * sums, histograms and summaries, with their attributes and the resource's. A small protobuf wire
 * reader, not a generated one: fields it does not know are skipped, as protobuf readers do.
 *
 * Every length, tag and varint is checked against the bytes there are, so a hostile payload gets
 * an {@linkcode OtlpError}, never an exception of another kind, a read past the end or a loop; the
 * points read and the attributes per point are bounded ({@linkcode OtlpLimits}).
 *
 * @module
 */

/** A malformed payload: the message says what and where. */
export class OtlpError extends Error {
  /**
   * @param message What was wrong.
   */
  constructor(message: string) {
    super(message);
    this.name = "OtlpError";
  }
}

/** What a data point holds, by OTLP metric kind. */
export type OtlpKind = "gauge" | "sum" | "histogram" | "summary";

/** One data point of a metric. */
export interface OtlpPoint {
  /** The metric's name, e.g. `org.apache.kafka.producer.node.request.latency.avg`. */
  name: string;
  /** The metric's kind. */
  kind: OtlpKind;
  /** Sums: whether the sum only grows (a counter). */
  monotonic: boolean;
  /** Sums and histograms: 1 delta, 2 cumulative (0 unspecified). */
  temporality: number;
  /** The value (gauge, sum), or the sum of observations (histogram, summary). */
  value: number;
  /** Histograms and summaries: the number of observations. */
  count?: number;
  /** The point's attributes, as strings. */
  attributes: [string, string][];
  /** When it was measured, milliseconds since the epoch (0 when not given). */
  timeMs: number;
}

/** The decoded payload. */
export interface OtlpMetrics {
  /** The resources' attributes (the client's, e.g. `client_rack`), as strings. */
  resource: [string, string][];
  /** Every data point read. */
  points: OtlpPoint[];
}

/** Bounds on what is read from one payload. */
export interface OtlpLimits {
  /** Most data points read (more: an {@linkcode OtlpError}). Default 10000. */
  maxPoints?: number;
  /** Most attributes kept per point and for the resource (the rest are dropped). Default 16. */
  maxAttributes?: number;
  /** Longest string kept, in characters (longer ones are cut). Default 256. */
  maxStringLength?: number;
}

const VARINT = 0;
const I64 = 1;
const LEN = 2;
const I32 = 5;

const DECODER = new TextDecoder("utf-8", { fatal: false });

/** A cursor over one protobuf message's bytes. */
class Wire {
  readonly #buf: Uint8Array;
  readonly #view: DataView;
  pos: number;
  readonly end: number;

  constructor(buf: Uint8Array, start = 0, end = buf.length) {
    this.#buf = buf;
    this.#view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.pos = start;
    this.end = end;
  }

  get more(): boolean {
    return this.pos < this.end;
  }

  /** A varint as a number (exact below 2^53; the high bits of larger ones are kept approximately). */
  varint(): number {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new OtlpError(`truncated varint at byte ${this.pos}`);
      const b = this.#buf[this.pos++];
      result += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) return result;
      scale *= 128;
    }
    throw new OtlpError(`varint longer than 10 bytes at byte ${this.pos}`);
  }

  /** A varint as a signed 64-bit integer (`int64`), as a number. */
  int64(): number {
    const start = this.pos;
    let v = 0n;
    let shift = 0n;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new OtlpError(`truncated varint at byte ${start}`);
      const b = this.#buf[this.pos++];
      v |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return Number(BigInt.asIntN(64, v));
      shift += 7n;
    }
    throw new OtlpError(`varint longer than 10 bytes at byte ${start}`);
  }

  #need(n: number): void {
    if (this.end - this.pos < n) {
      throw new OtlpError(`field of ${n} bytes at byte ${this.pos} runs past the end`);
    }
  }

  fixed64(): number {
    this.#need(8);
    const v = this.#view.getBigUint64(this.pos, true);
    this.pos += 8;
    return Number(v);
  }

  sfixed64(): number {
    this.#need(8);
    const v = this.#view.getBigInt64(this.pos, true);
    this.pos += 8;
    return Number(v);
  }

  double(): number {
    this.#need(8);
    const v = this.#view.getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }

  /** A length-delimited field: its sub-cursor (this one moves past it). */
  sub(): Wire {
    const n = this.varint();
    this.#need(n);
    const w = new Wire(this.#buf, this.pos, this.pos + n);
    this.pos += n;
    return w;
  }

  string(max: number): string {
    const w = this.sub();
    const s = DECODER.decode(this.#buf.subarray(w.pos, w.end));
    return s.length > max ? s.slice(0, max) : s;
  }

  /** The next tag: field number and wire type. */
  tag(): [number, number] {
    const t = this.varint();
    const field = Math.floor(t / 8);
    if (field === 0) throw new OtlpError(`field number 0 at byte ${this.pos}`);
    return [field, t & 7];
  }

  skip(type: number): void {
    switch (type) {
      case VARINT:
        this.varint();
        return;
      case I64:
        this.#need(8);
        this.pos += 8;
        return;
      case LEN:
        this.sub();
        return;
      case I32:
        this.#need(4);
        this.pos += 4;
        return;
      default:
        // groups (3, 4) are not used by OTLP; 6 and 7 do not exist
        throw new OtlpError(`unsupported wire type ${type} at byte ${this.pos}`);
    }
  }
}

interface Bounds {
  maxPoints: number;
  maxAttributes: number;
  maxStringLength: number;
}

/** Expects `type` for a known field; anything else is malformed. */
function expect(field: number, type: number, want: number, what: string): void {
  if (type !== want) {
    throw new OtlpError(`${what} field ${field} has wire type ${type}, not ${want}`);
  }
}

/** `AnyValue` as a string: scalars as they read, arrays and key-value lists as JSON-ish text. */
function anyValue(w: Wire, b: Bounds, depth: number): string {
  if (depth > 8) throw new OtlpError("attribute values nested more than 8 deep");
  let out = "";
  while (w.more) {
    const [f, t] = w.tag();
    if (f === 1 && t === LEN) out = w.string(b.maxStringLength);
    else if (f === 2 && t === VARINT) out = w.varint() !== 0 ? "true" : "false";
    else if (f === 3 && t === VARINT) out = String(w.int64());
    else if (f === 4 && t === I64) out = String(w.double());
    else if (f === 5 && t === LEN) {
      const arr = w.sub();
      const items: string[] = [];
      while (arr.more) {
        const [af, at] = arr.tag();
        if (af === 1 && at === LEN) items.push(anyValue(arr.sub(), b, depth + 1));
        else arr.skip(at);
      }
      out = `[${items.join(",")}]`;
    } else if (f === 6 && t === LEN) {
      const kvs = keyValues(w.sub(), b, depth + 1, 1);
      out = `{${kvs.map(([k, v]) => `${k}=${v}`).join(",")}}`;
    } else if (f === 7 && t === LEN) {
      const bytes = w.sub();
      out = `<${bytes.end - bytes.pos} bytes>`;
    } else w.skip(t);
  }
  return out.length > b.maxStringLength ? out.slice(0, b.maxStringLength) : out;
}

/** The `KeyValue`s of a message's repeated field `field`. */
function keyValues(w: Wire, b: Bounds, depth: number, field: number): [string, string][] {
  const out: [string, string][] = [];
  while (w.more) {
    const [f, t] = w.tag();
    if (f !== field) {
      w.skip(t);
      continue;
    }
    expect(f, t, LEN, "key-value list");
    const kv = keyValue(w.sub(), b, depth);
    if (out.length < b.maxAttributes) out.push(kv);
  }
  return out;
}

function keyValue(w: Wire, b: Bounds, depth: number): [string, string] {
  let key = "";
  let value = "";
  while (w.more) {
    const [f, t] = w.tag();
    if (f === 1) {
      expect(f, t, LEN, "KeyValue");
      key = w.string(b.maxStringLength);
    } else if (f === 2) {
      expect(f, t, LEN, "KeyValue");
      value = anyValue(w.sub(), b, depth + 1);
    } else w.skip(t);
  }
  return [key, value];
}

/**
 * Decode an OTLP `MetricsData` message.
 *
 * @example
 * ```ts
 * import { decodeMetricsData } from "./otlp.ts";
 * // MetricsData { resource_metrics { scope_metrics { metrics { name: "m" gauge { data_points {
 * //   as_int: 5 } } } } } }
 * const point = [0x31, 5, 0, 0, 0, 0, 0, 0, 0]; // as_int (field 6, sfixed64) = 5
 * const gauge = [0x0a, point.length, ...point];
 * const metric = [0x0a, 1, 0x6d, 0x2a, gauge.length, ...gauge];
 * const scope = [0x12, metric.length, ...metric];
 * const rm = [0x12, scope.length, ...scope];
 * const data = new Uint8Array([0x0a, rm.length, ...rm]);
 * const { points } = decodeMetricsData(data);
 * console.assert(points[0].name === "m" && points[0].value === 5);
 * ```
 *
 * @param data The protobuf bytes (decompressed).
 * @param limits Bounds on what is read.
 * @returns The resource attributes and the data points.
 * @throws {OtlpError} If the bytes are not a well-formed `MetricsData` or hold more than
 *   `maxPoints` points.
 */
export function decodeMetricsData(data: Uint8Array, limits: OtlpLimits = {}): OtlpMetrics {
  const b: Bounds = {
    maxPoints: limits.maxPoints ?? 10_000,
    maxAttributes: limits.maxAttributes ?? 16,
    maxStringLength: limits.maxStringLength ?? 256,
  };
  const out: OtlpMetrics = { resource: [], points: [] };
  const top = new Wire(data);
  while (top.more) {
    const [f, t] = top.tag();
    if (f !== 1) {
      top.skip(t);
      continue;
    }
    expect(f, t, LEN, "MetricsData");
    resourceMetrics(top.sub(), b, out);
  }
  return out;
}

function resourceMetrics(w: Wire, b: Bounds, out: OtlpMetrics): void {
  while (w.more) {
    const [f, t] = w.tag();
    if (f === 1) {
      expect(f, t, LEN, "ResourceMetrics");
      for (const kv of keyValues(w.sub(), b, 0, 1)) {
        if (out.resource.length < b.maxAttributes) out.resource.push(kv);
      }
    } else if (f === 2) {
      expect(f, t, LEN, "ResourceMetrics");
      const scope = w.sub();
      while (scope.more) {
        const [sf, st] = scope.tag();
        if (sf === 2) {
          expect(sf, st, LEN, "ScopeMetrics");
          metric(scope.sub(), b, out);
        } else scope.skip(st);
      }
    } else w.skip(t);
  }
}

function metric(w: Wire, b: Bounds, out: OtlpMetrics): void {
  let name = "";
  const bodies: [OtlpKind, Wire][] = [];
  while (w.more) {
    const [f, t] = w.tag();
    if (f === 1) {
      expect(f, t, LEN, "Metric");
      name = w.string(b.maxStringLength);
    } else if (f === 5 || f === 7 || f === 9 || f === 11) {
      expect(f, t, LEN, "Metric");
      const kind: OtlpKind = f === 5
        ? "gauge"
        : f === 7
        ? "sum"
        : f === 9
        ? "histogram"
        : "summary";
      bodies.push([kind, w.sub()]);
    } else w.skip(t); // description, unit, exponential histograms, metadata
  }
  if (name === "") throw new OtlpError("a metric has no name");
  for (const [kind, body] of bodies) {
    let temporality = 0;
    let monotonic = false;
    const points: Wire[] = [];
    while (body.more) {
      const [f, t] = body.tag();
      if (f === 1) {
        expect(f, t, LEN, kind);
        points.push(body.sub());
      } else if (f === 2 && kind !== "gauge" && kind !== "summary") {
        expect(f, t, VARINT, kind);
        temporality = body.varint();
      } else if (f === 3 && kind === "sum") {
        expect(f, t, VARINT, kind);
        monotonic = body.varint() !== 0;
      } else body.skip(t);
    }
    for (const p of points) {
      if (out.points.length >= b.maxPoints) {
        throw new OtlpError(`more than ${b.maxPoints} data points`);
      }
      out.points.push(dataPoint(p, name, kind, temporality, monotonic, b));
    }
  }
}

function dataPoint(
  w: Wire,
  name: string,
  kind: OtlpKind,
  temporality: number,
  monotonic: boolean,
  b: Bounds,
): OtlpPoint {
  const p: OtlpPoint = { name, kind, monotonic, temporality, value: 0, attributes: [], timeMs: 0 };
  // NumberDataPoint: attributes 7, time 3, as_double 4, as_int 6; HistogramDataPoint: attributes
  // 9, count 4, sum 5; SummaryDataPoint: attributes 7, count 4, sum 5
  const number = kind === "gauge" || kind === "sum";
  const attrField = kind === "histogram" ? 9 : 7;
  while (w.more) {
    const [f, t] = w.tag();
    if (f === attrField) {
      expect(f, t, LEN, "data point");
      const kv = keyValue(w.sub(), b, 0);
      if (p.attributes.length < b.maxAttributes) p.attributes.push(kv);
    } else if (f === 3) {
      expect(f, t, I64, "data point");
      p.timeMs = Math.floor(w.fixed64() / 1e6);
    } else if (number && f === 4) {
      expect(f, t, I64, "data point");
      p.value = w.double();
    } else if (number && f === 6) {
      expect(f, t, I64, "data point");
      p.value = w.sfixed64();
    } else if (!number && f === 4) {
      expect(f, t, I64, "data point");
      p.count = w.fixed64();
    } else if (!number && f === 5) {
      expect(f, t, I64, "data point");
      p.value = w.double();
    } else w.skip(t);
  }
  if (!number) p.count ??= 0;
  return p;
}
