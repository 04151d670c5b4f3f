// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * A small OTLP `MetricsData` protobuf writer for tests of `../otlp.ts` and
 * `../client_metrics.ts`: what librdkafka's and the Java client's telemetry push.
 *
 * @module
 */

function varint(n: number | bigint): number[] {
  let v = BigInt.asUintN(64, BigInt(n));
  const out: number[] = [];
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return out;
}

function tag(field: number, type: number): number[] {
  return varint(field * 8 + type);
}

/** A length-delimited field. */
export function len(field: number, body: number[] | Uint8Array): number[] {
  return [...tag(field, 2), ...varint(body.length), ...body];
}

/** A string field. */
export function str(field: number, s: string): number[] {
  return len(field, new TextEncoder().encode(s));
}

/** A varint field. */
export function vint(field: number, n: number | bigint): number[] {
  return [...tag(field, 0), ...varint(n)];
}

/** A 64-bit field: a double, or an integer (`fixed64`/`sfixed64`). */
export function i64(field: number, v: number, asDouble: boolean): number[] {
  const b = new DataView(new ArrayBuffer(8));
  if (asDouble) b.setFloat64(0, v, true);
  else b.setBigInt64(0, BigInt(v), true);
  return [...tag(field, 1), ...new Uint8Array(b.buffer)];
}

/** A `KeyValue` with a string value. */
export function kv(key: string, value: string): number[] {
  return [...str(1, key), ...len(2, str(1, value))];
}

/** One test metric. */
export interface TestMetric {
  name: string;
  kind: "gauge" | "sum";
  value: number;
  /** Integer value (`as_int`) rather than `as_double`. */
  int?: boolean;
  monotonic?: boolean;
  /** 1 delta, 2 cumulative. */
  temporality?: number;
  attributes?: [string, string][];
}

/**
 * `MetricsData` with one resource, one scope and the metrics given.
 *
 * @param metrics The metrics.
 * @param resource The resource's attributes.
 * @returns The protobuf bytes.
 */
export function encodeMetricsData(
  metrics: TestMetric[],
  resource: [string, string][] = [],
): Uint8Array {
  const ms = metrics.flatMap((m) => {
    const point = [
      ...(m.attributes ?? []).flatMap(([k, v]) => len(7, kv(k, v))),
      ...i64(3, 1_700_000_000_000 * 1e6, false),
      ...(m.int ? i64(6, m.value, false) : i64(4, m.value, true)),
    ];
    const body = m.kind === "gauge" ? len(1, point) : [
      ...len(1, point),
      ...vint(2, m.temporality ?? 2),
      ...vint(3, m.monotonic ? 1 : 0),
    ];
    return len(2, [...str(1, m.name), ...str(2, "doc"), ...len(m.kind === "gauge" ? 5 : 7, body)]);
  });
  const scope = len(2, [...len(1, str(1, "librdkafka")), ...ms]);
  const res = len(1, resource.flatMap(([k, v]) => len(1, kv(k, v))));
  return new Uint8Array(len(1, [...res, ...scope]));
}
