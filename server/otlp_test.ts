// Copyright 2026 the Sluice authors. Apache-2.0 license.
import { deepStrictEqual as assertEquals, ok, throws } from "node:assert/strict";
import { decodeMetricsData, OtlpError } from "./otlp.ts";
import { encodeMetricsData, i64, kv, len, str, vint } from "./testdata/otlp_encode.ts";

Deno.test("decodeMetricsData reads gauges and sums, their values, attributes and the resource", () => {
  const data = encodeMetricsData([
    {
      name: "org.apache.kafka.producer.node.request.latency.avg",
      kind: "gauge",
      value: 2.5,
      attributes: [["node_id", "1"]],
    },
    {
      name: "org.apache.kafka.producer.connection.creation.total",
      kind: "sum",
      value: 3,
      int: true,
      monotonic: true,
      temporality: 2,
    },
    { name: "neg", kind: "gauge", value: -7, int: true },
  ], [["client_rack", "r1"]]);
  const got = decodeMetricsData(data);
  assertEquals(got.resource, [["client_rack", "r1"]]);
  assertEquals(got.points, [
    {
      name: "org.apache.kafka.producer.node.request.latency.avg",
      kind: "gauge",
      monotonic: false,
      temporality: 0,
      value: 2.5,
      attributes: [["node_id", "1"]],
      timeMs: 1_700_000_000_000,
    },
    {
      name: "org.apache.kafka.producer.connection.creation.total",
      kind: "sum",
      monotonic: true,
      temporality: 2,
      value: 3,
      attributes: [],
      timeMs: 1_700_000_000_000,
    },
    {
      name: "neg",
      kind: "gauge",
      monotonic: false,
      temporality: 0,
      value: -7,
      attributes: [],
      timeMs: 1_700_000_000_000,
    },
  ]);
});

Deno.test("decodeMetricsData skips unknown fields and reads non-string attribute values", () => {
  const anyInt = [...str(1, "k"), ...len(2, vint(3, -5))];
  const anyBool = [...str(1, "b"), ...len(2, vint(2, 1))];
  const anyDouble = [...str(1, "d"), ...len(2, i64(4, 0.5, true))];
  const point = [...len(7, anyInt), ...len(7, anyBool), ...len(7, anyDouble), ...vint(99, 1)];
  const metric = [
    ...str(1, "m"),
    ...vint(50, 7),
    ...len(5, len(1, [...point, ...i64(4, 1, true)])),
  ];
  const data = new Uint8Array([...vint(40, 1), ...len(1, len(2, len(2, metric)))]);
  const [p] = decodeMetricsData(data).points;
  assertEquals(p.attributes, [["k", "-5"], ["b", "true"], ["d", "0.5"]]);
  assertEquals(p.value, 1);
});

Deno.test("decodeMetricsData refuses malformed bytes with an OtlpError", () => {
  const good = encodeMetricsData([{ name: "m", kind: "gauge", value: 1 }]);
  const cases: [string, Uint8Array, RegExp][] = [
    ["a truncated payload", good.subarray(0, good.length - 3), /runs past the end|truncated/],
    ["a length past the end", new Uint8Array([0x0a, 0x7f, 1, 2]), /runs past the end/],
    ["an 11-byte varint", new Uint8Array([0x10, ...new Array(11).fill(0xff)]), /longer than 10/],
    ["field number 0", new Uint8Array([0x02, 0x00]), /field number 0/],
    ["wire type 3 (group)", new Uint8Array([0x13]), /unsupported wire type 3/],
    ["a metric without a name", new Uint8Array(len(1, len(2, len(2, len(5, []))))), /no name/],
    ["MetricsData field 1 as a varint", new Uint8Array(vint(1, 5)), /wire type 0, not 2/],
  ];
  for (const [what, bytes, message] of cases) {
    throws(
      () => decodeMetricsData(bytes),
      (e) => e instanceof OtlpError && message.test(e.message),
      what,
    );
  }
});

Deno.test("decodeMetricsData bounds the points, attributes and strings it keeps", () => {
  const many = encodeMetricsData(
    Array.from({ length: 5 }, (_, i) => ({ name: `m${i}`, kind: "gauge" as const, value: i })),
  );
  throws(() => decodeMetricsData(many, { maxPoints: 4 }), /more than 4 data points/);
  const attrs = Array.from({ length: 20 }, (_, i): [string, string] => [`a${i}`, "x".repeat(300)]);
  const [p] = decodeMetricsData(
    encodeMetricsData([{ name: "m", kind: "gauge", value: 1, attributes: attrs }]),
  )
    .points;
  assertEquals(p.attributes.length, 16);
  assertEquals(p.attributes[0][1].length, 256);
});

Deno.test("decodeMetricsData never throws anything but OtlpError on mutated payloads", () => {
  const base = encodeMetricsData([
    { name: "a.b", kind: "gauge", value: 1, attributes: [["x", "y"]] },
    { name: "c.d", kind: "sum", value: 2, monotonic: true },
  ], [["r", "s"]]);
  // a fixed linear congruential sequence: the same mutations every run
  let seed = 12345;
  const rand = (n: number) => (seed = (seed * 1103515245 + 12345) % 2147483648) % n;
  let refused = 0;
  for (let i = 0; i < 5000; i++) {
    const b = base.slice(0, 1 + rand(base.length));
    for (let k = 0; k < 1 + rand(4); k++) b[rand(b.length)] = rand(256);
    try {
      decodeMetricsData(b);
    } catch (e) {
      ok(e instanceof OtlpError, `mutation ${i}: ${e}`);
      refused++;
    }
  }
  ok(refused > 0);
  // and a key-value nested past the depth bound
  let nested = kv("k", "v");
  for (let d = 0; d < 12; d++) nested = [...str(1, "k"), ...len(2, len(6, len(1, nested)))];
  const point = len(7, nested);
  const data = new Uint8Array(len(1, len(2, len(2, [...str(1, "m"), ...len(5, len(1, point))]))));
  throws(() => decodeMetricsData(data), /nested more than 8 deep/);
});
