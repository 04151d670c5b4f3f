// Copyright 2026 the Sluice authors. Apache-2.0 license.
import { deepStrictEqual as assertEquals, throws as assertThrows } from "node:assert/strict";
import { ConfigError } from "./config.ts";
import type { SinkRecord, SourceRecord } from "./data.ts";
import { applyChain, transformChain } from "./transforms.ts";

const sink = (value: unknown, valueSchema: SinkRecord["valueSchema"] = null): SinkRecord => ({
  topic: "orders",
  kafkaPartition: 2,
  kafkaOffset: 41,
  timestamp: 1700000000000,
  keySchema: null,
  key: "k1",
  valueSchema,
  value,
});

Deno.test("InsertField$Value (Kafka's class name) adds topic, partition, offset, timestamp and a static field to a map", () => {
  const chain = transformChain({
    transforms: "insert",
    "transforms.insert.type": "org.apache.kafka.connect.transforms.InsertField$Value",
    "transforms.insert.topic.field": "t",
    "transforms.insert.partition.field": "p",
    "transforms.insert.offset.field": "o!",
    "transforms.insert.timestamp.field": "ts?",
    "transforms.insert.static.field": "origin",
    "transforms.insert.static.value": "sluice",
  });
  assertEquals(applyChain(chain, sink({ id: 1 }))!.value, {
    id: 1,
    t: "orders",
    p: 2,
    o: 41,
    ts: 1700000000000,
    origin: "sluice",
  });
});

Deno.test("InsertField$Value on a struct extends the schema with Kafka's field types", () => {
  const chain = transformChain({
    transforms: "i",
    "transforms.i.type": "InsertField$Value",
    "transforms.i.topic.field": "t!",
    "transforms.i.offset.field": "o",
  });
  const out = applyChain(
    chain,
    sink({ id: 1 }, { type: "struct", fields: [{ field: "id", type: "int32" }] }),
  )!;
  assertEquals(out.valueSchema, {
    type: "struct",
    fields: [
      { field: "id", type: "int32" },
      { field: "t", type: "string", optional: false },
      { field: "o", type: "int64", optional: true },
    ],
  });
  assertEquals(out.value, { id: 1, t: "orders", o: 41 });
});

Deno.test("InsertField$Value: a schemaless value that is not a map fails with Kafka's message; a tombstone passes", () => {
  const chain = transformChain({
    transforms: "i",
    "transforms.i.type": "InsertField$Value",
    "transforms.i.topic.field": "t",
  });
  assertThrows(() => applyChain(chain, sink("text")), /Only Map objects supported/);
  assertEquals(applyChain(chain, sink(null))!.value, null);
});

Deno.test("MaskField$Value masks by type, and with a replacement", () => {
  const masked = applyChain(
    transformChain({
      transforms: "m",
      "transforms.m.type": "org.apache.kafka.connect.transforms.MaskField$Value",
      "transforms.m.fields": "ssn,age,vip,tags,name",
    }),
    sink({ ssn: "123-45", age: 42, vip: true, tags: ["a"], name: "Ana", city: "Lisboa" }),
  )!;
  assertEquals(masked.value, { ssn: "", age: 0, vip: false, tags: [], name: "", city: "Lisboa" });
  const replaced = applyChain(
    transformChain({
      transforms: "m",
      "transforms.m.type": "MaskField$Value",
      "transforms.m.fields": "ssn",
      "transforms.m.replacement": "***",
    }),
    sink({ ssn: "123-45", city: "Porto" }),
  )!;
  assertEquals(replaced.value, { ssn: "***", city: "Porto" });
});

Deno.test("ReplaceField$Value excludes, includes and renames (and the schema with it)", () => {
  const chain = transformChain({
    transforms: "r",
    "transforms.r.type": "org.apache.kafka.connect.transforms.ReplaceField$Value",
    "transforms.r.exclude": "secret",
    "transforms.r.renames": "id:order_id,amt:amount",
  });
  assertEquals(applyChain(chain, sink({ id: 7, amt: 9.5, secret: "x" }))!.value, {
    order_id: 7,
    amount: 9.5,
  });
  const withSchema = applyChain(
    chain,
    sink({ id: 7, amt: 9.5, secret: "x" }, {
      type: "struct",
      fields: [
        { field: "id", type: "int64" },
        { field: "amt", type: "float64" },
        { field: "secret", type: "string" },
      ],
    }),
  )!;
  assertEquals(withSchema.valueSchema!.fields, [
    { field: "order_id", type: "int64" },
    { field: "amount", type: "float64" },
  ]);
  const include = transformChain({
    transforms: "r",
    "transforms.r.type": "ReplaceField$Key",
    "transforms.r.include": "a",
  });
  assertEquals(applyChain(include, { ...sink(null), key: { a: 1, b: 2 } })!.key, { a: 1 });
});

Deno.test("RegexRouter routes by whole-name regex with $1 groups; a chain runs in order", () => {
  const chain = transformChain({
    transforms: "route,insert",
    "transforms.route.type": "org.apache.kafka.connect.transforms.RegexRouter",
    "transforms.route.regex": "(.*)-raw",
    "transforms.route.replacement": "$1-clean",
    "transforms.insert.type": "InsertField$Value",
    "transforms.insert.topic.field": "topic",
  });
  const src: SourceRecord = {
    topic: "orders-raw",
    key: null,
    value: { n: 1 },
    sourcePartition: {},
    sourceOffset: {},
  };
  const out = applyChain(chain, src)!;
  assertEquals(out.topic, "orders-clean");
  assertEquals(out.value, { n: 1, topic: "orders-clean" });
  // Not a whole-name match: unchanged.
  assertEquals(applyChain(chain, { ...src, topic: "orders-raw-2" })!.topic, "orders-raw-2");
});

Deno.test("transforms: bad configurations are ConfigErrors naming the transform", () => {
  assertThrows(
    () => transformChain({ transforms: "x" }),
    (e) => e instanceof ConfigError && /transforms\.x\.type/.test(e.message),
  );
  assertThrows(
    () => transformChain({ transforms: "x", "transforms.x.type": "com.example.Nope" }),
    /could not be found/,
  );
  assertThrows(
    () =>
      transformChain({
        transforms: "x",
        "transforms.x.type": "RegexRouter",
        "transforms.x.regex": "(",
      }),
    (e) => e instanceof ConfigError && /replacement/.test(e.message),
  );
  assertThrows(
    () =>
      transformChain({
        transforms: "x",
        "transforms.x.type": "ReplaceField$Value",
        "transforms.x.renames": "a",
      }),
    /Invalid rename mapping/,
  );
});
