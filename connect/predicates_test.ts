// Copyright 2026 the Sluice authors. Apache-2.0 license.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { Producer } from "../client/mod.ts";
import { uniqueTopic } from "../tests/harness.ts";
import { ConfigError } from "./config.ts";
import type { ConnectRecord } from "./data.ts";
import { createPredicate, predicatesOf } from "./predicates.ts";
import { startStandalone } from "./runtime.ts";
import { openConnectTestEnv, until } from "./testing.ts";
import { applyStage, transformStages } from "./transforms.ts";

const rec = (topic: string, value: unknown, headers: string[] = []): ConnectRecord => ({
  topic,
  key: null,
  value,
  headers: headers.map((key) => ({ key, value: "1" })),
});

function configErrors(f: () => unknown): string[] {
  try {
    f();
  } catch (e) {
    if (e instanceof ConfigError) return e.errors;
    throw e;
  }
  throw new Error("no ConfigError");
}

Deno.test("predicates: TopicNameMatches matches the whole name, HasHeaderKey any header of the name, RecordIsTombstone a null value", () => {
  const topic = createPredicate(
    "org.apache.kafka.connect.transforms.predicates.TopicNameMatches",
    { pattern: "orders-(eu|us)" },
  );
  assertEquals(
    ["orders-eu", "orders-us", "orders-eu-2", "my-orders-eu"].map((t) => topic.test(rec(t, 1))),
    [true, true, false, false],
  );
  const header = createPredicate("HasHeaderKey", { name: "pii" });
  assertEquals(
    [[], ["other"], ["other", "pii"]].map((h) => header.test(rec("t", 1, h))),
    [false, false, true],
  );
  const tomb = createPredicate(
    "org.apache.kafka.connect.transforms.predicates.RecordIsTombstone",
    {},
  );
  assertEquals([null, 0, "", {}].map((v) => tomb.test(rec("t", v))), [true, false, false, false]);
});

Deno.test("predicates: a transform applies where its predicate holds, or where it does not with negate=true", () => {
  const stages = transformStages({
    predicates: "tomb,eu",
    "predicates.tomb.type": "RecordIsTombstone",
    "predicates.eu.type": "TopicNameMatches",
    "predicates.eu.pattern": ".*-eu",
    transforms: "route,tag",
    "transforms.route.type": "RegexRouter",
    "transforms.route.regex": "(.*)",
    "transforms.route.replacement": "$1-deleted",
    "transforms.route.predicate": "tomb",
    "transforms.tag.type": "InsertField$Value",
    "transforms.tag.static.field": "region",
    "transforms.tag.static.value": "other",
    "transforms.tag.predicate": "eu",
    "transforms.tag.negate": "true",
  });
  const run = (r: ConnectRecord) => stages.reduce<ConnectRecord>((x, s) => applyStage(s, x)!, r);
  assertEquals(run(rec("orders-eu", null)).topic, "orders-eu-deleted");
  assertEquals(run(rec("orders-eu", { a: 1 })), rec("orders-eu", { a: 1 }));
  assertEquals(run(rec("orders-us", { a: 1 })).value, { a: 1, region: "other" });
  assertEquals(stages.map((s) => [s.className, s.negate]), [
    ["org.apache.kafka.connect.transforms.RegexRouter", false],
    ["org.apache.kafka.connect.transforms.InsertField$Value", true],
  ]);
});

Deno.test("predicates: invalid configurations are refused with Kafka's messages and full keys", () => {
  assertEquals(
    configErrors(() =>
      predicatesOf({
        predicates: "a,b,c,d",
        "predicates.a.type": "TopicNameMatches",
        "predicates.a.pattern": "orders-(",
        "predicates.b.type": "TopicNameMatches",
        "predicates.c.type": "com.example.Nope",
      })
    ).map((m) => m.replace(/Invalid regex: .*/, "Invalid regex: ...")),
    [
      "Invalid value orders-( for configuration predicates.a.pattern: Invalid regex: ...",
      `Missing required configuration "predicates.b.pattern" which has no default value.`,
      "Invalid value com.example.Nope for configuration predicates.c.type: Class " +
      "com.example.Nope could not be found (available: " +
      "org.apache.kafka.connect.transforms.predicates.TopicNameMatches, " +
      "org.apache.kafka.connect.transforms.predicates.HasHeaderKey, " +
      "org.apache.kafka.connect.transforms.predicates.RecordIsTombstone)",
      `Missing required configuration "predicates.d.type" which has no default value.`,
    ],
  );
  const route = {
    transforms: "r",
    "transforms.r.type": "RegexRouter",
    "transforms.r.regex": "a",
    "transforms.r.replacement": "b",
  };
  assertEquals(configErrors(() => transformStages({ ...route, "transforms.r.negate": "true" })), [
    "Config 'transforms.r.negate' was provided but there is no config 'transforms.r.predicate' " +
    "defining a predicate to be negated.",
  ]);
  assertEquals(
    configErrors(() =>
      transformStages({
        ...route,
        predicates: "tomb",
        "predicates.tomb.type": "RecordIsTombstone",
        "transforms.r.predicate": "missing",
        "transforms.r.negate": "maybe",
      })
    ),
    [
      "Invalid value maybe for configuration transforms.r.negate: Expected value to be either " +
      "true or false",
      `Invalid value missing for configuration transforms.r.predicate: no predicate "missing" ` +
      `is declared in "predicates" (declared: tomb)`,
    ],
  );
  assertEquals(
    configErrors(() =>
      predicatesOf({ predicates: "x,x", "predicates.x.type": "RecordIsTombstone" })
    ),
    ["Invalid value x,x for configuration predicates: Duplicate alias provided."],
  );
});

Deno.test("connect predicates through a worker: a negated TopicNameMatches and a HasHeaderKey select exactly their records; bad predicates are a 400 over REST", async () => {
  await using env = await openConnectTestEnv("sluice_connect_predicates_");
  const { client, admin, dir } = env;
  const a = uniqueTopic("pred-a");
  const b = uniqueTopic("pred-b");
  await admin.createTopics([{ name: a, numPartitions: 1 }, { name: b, numPartitions: 1 }]);
  const config: Record<string, string> = {
    "connector.class": "FileStreamSink",
    file: `${dir}/out.txt`,
    topics: `${a},${b}`,
    "value.converter": "org.apache.kafka.connect.json.JsonConverter",
    "value.converter.schemas.enable": "false",
    predicates: "isA,hasPii",
    "predicates.isA.type": "org.apache.kafka.connect.transforms.predicates.TopicNameMatches",
    "predicates.isA.pattern": a.replaceAll(".", "\\."),
    "predicates.hasPii.type": "org.apache.kafka.connect.transforms.predicates.HasHeaderKey",
    "predicates.hasPii.name": "pii",
    transforms: "tag,mask",
    "transforms.tag.type": "org.apache.kafka.connect.transforms.InsertField$Value",
    "transforms.tag.static.field": "from",
    "transforms.tag.static.value": "not-a",
    "transforms.tag.predicate": "isA",
    "transforms.tag.negate": "true",
    "transforms.mask.type": "org.apache.kafka.connect.transforms.MaskField$Value",
    "transforms.mask.fields": "secret",
    "transforms.mask.predicate": "hasPii",
  };
  const rt = await startStandalone({ worker: env.worker({ "offset.flush.interval.ms": "100" }) });
  const put = (name: string, body: unknown) =>
    fetch(`${rt.url}/connectors/${name}/config`, {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    }).then(async (r) => ({ status: r.status, body: await r.json() }));
  try {
    const bad = await put("bad", {
      ...config,
      "predicates.isA.pattern": "(",
      "transforms.mask.predicate": "nope",
    });
    assertEquals(bad.status, 400);
    assertEquals(bad.body.error_code, 400);
    const lines = (bad.body.message as string).split("\n");
    assertEquals(
      lines[0],
      "Connector configuration is invalid and contains the following 2 error(s):",
    );
    assert(
      lines[1].startsWith(
        "Invalid value ( for configuration predicates.isA.pattern: Invalid regex: ",
      ),
      lines[1],
    );
    assertEquals(
      lines[2],
      `Invalid value nope for configuration transforms.mask.predicate: no predicate "nope" is ` +
        `declared in "predicates" (declared: isA, hasPii)`,
    );
    assertEquals(await fetch(`${rt.url}/connectors`).then((r) => r.json()), []);

    const created = await put("sink", config);
    assertEquals(created.status, 201);
    const producer = new Producer(client);
    await producer.send({
      topic: a,
      messages: [
        { value: `{"id":"a1","secret":"x"}` },
        { value: `{"id":"a2","secret":"x"}`, headers: [{ key: "pii", value: "" }] },
      ],
    });
    await producer.send({
      topic: b,
      messages: [
        { value: `{"id":"b1","secret":"y"}` },
        { value: `{"id":"b2","secret":"y"}`, headers: [{ key: "pii", value: "1" }] },
      ],
    });
    await producer.close();
    const read = async () =>
      (await Deno.readTextFile(`${dir}/out.txt`).catch(() => "")).split("\n").filter((l) => l)
        .sort();
    await until("4 lines", async () => (await read()).length >= 4 || undefined);
    assertEquals(await read(), [
      `{"id":"a1","secret":"x"}`,
      `{"id":"a2","secret":""}`,
      `{"id":"b1","secret":"y","from":"not-a"}`,
      `{"id":"b2","secret":"","from":"not-a"}`,
    ]);
  } finally {
    await rt.stop();
  }
});
