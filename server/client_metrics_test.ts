// Copyright 2026 the Sluice authors. Apache-2.0 license.
// KIP-714 client metrics (Kafka 3.9's ClientMetricsManager semantics): subscription validation,
// matching, push interval enforcement and the push errors, with exact outcomes on a fake clock.
import { deepStrictEqual as assertEquals, ok, rejects, throws } from "node:assert/strict";
import { ErrorCode } from "../protocol/errors.ts";
import { ZERO_UUID } from "../protocol/primitives.ts";
import { compress } from "../records/compression.ts";
import {
  CLIENT_METRICS_FILE,
  type ClientInfo,
  ClientMetricsManager,
  ClientMetricsSubscriptions,
  FileClientMetricsStorage,
  INTERVAL_MS_DEFAULT,
  subscriptionId,
  validateSubscription,
} from "./client_metrics.ts";
import { encodeMetricsData } from "./testdata/otlp_encode.ts";

const CLIENT: ClientInfo = {
  clientId: "app-1",
  softwareName: "confluent-kafka-python",
  softwareVersion: "2.15.1-rdkafka-2.15.1",
  sourceAddress: "127.0.0.1",
  sourcePort: "40000",
};
const ID = "wClEpxfrKafEycjRaCXpXw";

async function setup(subs: Record<string, Record<string, string>>, options = {}) {
  const s = await ClientMetricsSubscriptions.openWith(null);
  for (const [name, configs] of Object.entries(subs)) await s.alter(name, configs, []);
  let now = 1_000_000;
  const m = new ClientMetricsManager(s, { now: () => now, ...options });
  return { s, m, tick: (ms: number) => (now += ms) };
}

function push(
  m: ClientMetricsManager,
  subId: number,
  metrics: Uint8Array,
  extra: { terminating?: boolean; compressionType?: number; id?: string } = {},
) {
  return m.push({
    clientInstanceId: extra.id ?? ID,
    subscriptionId: subId,
    terminating: extra.terminating ?? false,
    compressionType: extra.compressionType ?? 0,
    metrics,
  }, CLIENT);
}

const PAYLOAD = encodeMetricsData([
  { name: "org.apache.kafka.producer.record.queue.time.avg", kind: "gauge", value: 1.5 },
  {
    name: "org.apache.kafka.producer.connection.creation.total",
    kind: "sum",
    value: 2,
    int: true,
    monotonic: true,
  },
  { name: "org.apache.kafka.consumer.fetch.latency.avg", kind: "gauge", value: 9 },
]);

Deno.test("validateSubscription refuses what Kafka's ClientMetricsConfigs.validate refuses", () => {
  const refused: [string, Record<string, string>, number, string][] = [
    ["", { metrics: "*" }, ErrorCode.INVALID_REQUEST, "Subscription name can't be empty"],
    [
      "s",
      { metric: "*" },
      ErrorCode.INVALID_REQUEST,
      "Unknown client metrics configuration: metric",
    ],
    [
      "s",
      { "interval.ms": "99" },
      ErrorCode.INVALID_REQUEST,
      "interval must be between 100 and 3600000",
    ],
    ["s", { "interval.ms": "3600001" }, ErrorCode.INVALID_REQUEST, "interval must be between"],
    ["s", { "interval.ms": "1s" }, ErrorCode.INVALID_CONFIG, "Not a number of type INT"],
    [
      "s",
      { match: "client_id" },
      ErrorCode.INVALID_CONFIG,
      "Illegal client matching pattern: client_id",
    ],
    ["s", { match: "client_id=a=b" }, ErrorCode.INVALID_CONFIG, "Illegal client matching pattern"],
    ["s", { match: "client_name=a" }, ErrorCode.INVALID_CONFIG, "Illegal client matching pattern"],
    ["s", { match: "client_id=(" }, ErrorCode.INVALID_CONFIG, "Illegal client matching pattern"],
  ];
  for (const [name, configs, code, message] of refused) {
    throws(
      () => validateSubscription(name, configs),
      (e: Error & { code?: number }) => e.code === code && e.message.includes(message),
      JSON.stringify(configs),
    );
  }
  validateSubscription("s", {
    metrics: "*",
    "interval.ms": "100",
    match: "client_id=a.*,client_source_port=4.*",
  });
  validateSubscription("s", { "interval.ms": "3600000" });
});

Deno.test("a zero instance id gets a new one; the subscription is the matching ones' union", async () => {
  const { m } = await setup({
    producers: {
      metrics: "org.apache.kafka.producer.",
      "interval.ms": "1000",
      match: "client_id=app-.*",
    },
    // the shortest interval of the matching ones wins, whatever their order
    latency: { metrics: "org.apache.kafka.consumer.fetch.", "interval.ms": "2000" },
    others: { metrics: "*", "interval.ms": "100", match: "client_software_name=java" },
  });
  const a = m.getSubscriptions(ZERO_UUID, CLIENT);
  assertEquals(a.errorCode, 0);
  ok(a.clientInstanceId !== ZERO_UUID && a.clientInstanceId.length === 22);
  assertEquals(a.requestedMetrics, [
    "org.apache.kafka.consumer.fetch.",
    "org.apache.kafka.producer.",
  ]);
  assertEquals(a.pushIntervalMs, 1000);
  assertEquals(a.acceptedCompressionTypes, [4, 3, 1, 2]);
  assertEquals(a.telemetryMaxBytes, 1048576);
  assertEquals(a.deltaTemporality, false);
  assertEquals(
    a.subscriptionId,
    subscriptionId(
      ["org.apache.kafka.consumer.fetch.", "org.apache.kafka.producer."],
      1000,
      a.clientInstanceId,
    ),
  );
  // a second new client gets another id
  ok(m.getSubscriptions(ZERO_UUID, CLIENT).clientInstanceId !== a.clientInstanceId);
});

Deno.test("match patterns match whole values of each client attribute", async () => {
  const cases: [string, boolean][] = [
    ["client_id=app-1", true],
    ["client_id=app", false], // whole value, not a prefix
    ["client_id=.*pp-1", true],
    [`client_instance_id=${ID}`, true],
    ["client_software_name=confluent-kafka-python", true],
    ["client_software_version=2\\.15\\..*", true],
    ["client_source_address=127\\.0\\.0\\.1", true],
    ["client_source_address=10\\..*", false],
    ["client_source_port=40000", true],
    ["client_source_port=4000", false],
  ];
  for (const [match, expected] of cases) {
    const { m } = await setup({ s: { metrics: "*", match } });
    const a = m.getSubscriptions(ID, CLIENT);
    assertEquals(a.requestedMetrics, expected ? ["*"] : [], match);
    assertEquals(a.pushIntervalMs, INTERVAL_MS_DEFAULT, match);
  }
  // every pattern of a subscription must match
  const { m } = await setup({ s: { metrics: "*", match: "client_id=app-1,client_source_port=1" } });
  assertEquals(m.getSubscriptions(ID, CLIENT).requestedMetrics, []);
});

Deno.test("no matching subscription: an empty subscription with the default interval", async () => {
  const { m } = await setup({
    s: { metrics: "*", "interval.ms": "500", match: "client_id=other" },
  });
  const a = m.getSubscriptions(ID, CLIENT);
  assertEquals([a.errorCode, a.requestedMetrics, a.pushIntervalMs], [0, [], 300000]);
  assertEquals(a.subscriptionId, subscriptionId([], 300000, ID));
});

Deno.test("`*` in any matching subscription asks for every metric", async () => {
  const { m } = await setup({ a: { metrics: "org.apache." }, b: { metrics: "x.,*" } });
  assertEquals(m.getSubscriptions(ID, CLIENT).requestedMetrics, ["*"]);
});

Deno.test("GetTelemetrySubscriptions before the push interval is THROTTLING_QUOTA_EXCEEDED", async () => {
  const { m, tick } = await setup({ s: { metrics: "*", "interval.ms": "1000" } });
  assertEquals(m.getSubscriptions(ID, CLIENT).errorCode, 0);
  tick(999);
  assertEquals(m.getSubscriptions(ID, CLIENT).errorCode, ErrorCode.THROTTLING_QUOTA_EXCEEDED);
  tick(1);
  assertEquals(m.getSubscriptions(ID, CLIENT).errorCode, 0);
  assertEquals(m.stats.throttled, 1);
});

Deno.test("a changed subscription is given at once, with a new subscription id", async () => {
  const { s, m, tick } = await setup({ s: { metrics: "a.", "interval.ms": "1000" } });
  const first = m.getSubscriptions(ID, CLIENT);
  tick(10);
  await s.alter("s", { metrics: "b." }, []);
  const second = m.getSubscriptions(ID, CLIENT);
  assertEquals([second.errorCode, second.requestedMetrics], [0, ["b."]]);
  ok(second.subscriptionId !== first.subscriptionId);
  // the old id is now unknown
  tick(2000);
  assertEquals(push(m, first.subscriptionId, PAYLOAD).errorCode, ErrorCode.UNKNOWN_SUBSCRIPTION_ID);
  // after which GetTelemetrySubscriptions is answered at once
  assertEquals(m.getSubscriptions(ID, CLIENT).errorCode, 0);
});

Deno.test("pushes: the first after GetTelemetrySubscriptions at once, then one per interval", async () => {
  const { m, tick } = await setup({
    s: { metrics: "org.apache.kafka.producer.", "interval.ms": "1000" },
  });
  const { subscriptionId: sub } = m.getSubscriptions(ID, CLIENT);
  tick(10);
  assertEquals(push(m, sub, PAYLOAD), { errorCode: 0, message: null });
  tick(500);
  assertEquals(push(m, sub, PAYLOAD).errorCode, ErrorCode.THROTTLING_QUOTA_EXCEEDED);
  tick(500);
  assertEquals(push(m, sub, PAYLOAD).errorCode, 0);
  // a terminating push is accepted early; nothing is accepted after it
  tick(1);
  assertEquals(push(m, sub, PAYLOAD, { terminating: true }).errorCode, 0);
  tick(5000);
  const after = push(m, sub, PAYLOAD);
  assertEquals(after.errorCode, ErrorCode.INVALID_REQUEST);
  ok(after.message!.includes("terminating"));
  assertEquals(m.stats.pushes, 3);
});

Deno.test("pushes keep the latest subscribed values per instance", async () => {
  const { m, tick } = await setup({
    s: { metrics: "org.apache.kafka.producer.", "interval.ms": "100" },
  });
  const { subscriptionId: sub } = m.getSubscriptions(ID, CLIENT);
  assertEquals(push(m, sub, PAYLOAD).errorCode, 0);
  const [inst] = m.instances();
  assertEquals(inst.client.clientId, "app-1");
  // the consumer metric was not asked for
  assertEquals([...inst.values.values()].map((p) => [p.name, p.value]), [
    ["org.apache.kafka.producer.record.queue.time.avg", 1.5],
    ["org.apache.kafka.producer.connection.creation.total", 2],
  ]);
  tick(100);
  const next = encodeMetricsData([
    { name: "org.apache.kafka.producer.record.queue.time.avg", kind: "gauge", value: 4 },
    // a delta sum is added to the total kept
    {
      name: "org.apache.kafka.producer.connection.creation.total",
      kind: "sum",
      value: 5,
      monotonic: true,
      temporality: 1,
    },
  ]);
  assertEquals(push(m, sub, compress(next, "zstd"), { compressionType: 4 }).errorCode, 0);
  assertEquals([...inst.values.values()].map((p) => p.value), [4, 7]);
});

Deno.test("every compression type Kafka accepts is decoded", async () => {
  for (
    const [type, codec] of [[0, "none"], [1, "gzip"], [2, "snappy"], [3, "lz4"], [
      4,
      "zstd",
    ]] as const
  ) {
    const { m } = await setup({ s: { metrics: "*" } });
    const { subscriptionId: sub } = m.getSubscriptions(ID, CLIENT);
    assertEquals(
      push(m, sub, compress(PAYLOAD, codec), { compressionType: type }).errorCode,
      0,
      codec,
    );
    assertEquals(m.instances()[0].values.size, 3, codec);
  }
});

Deno.test("push errors: INVALID_REQUEST, UNSUPPORTED_COMPRESSION_TYPE, TELEMETRY_TOO_LARGE, INVALID_RECORD", async () => {
  const { m, tick } = await setup({ s: { metrics: "*", "interval.ms": "100" } }, {
    telemetryMaxBytes: 64,
  });
  const { subscriptionId: sub } = m.getSubscriptions(ID, CLIENT);
  // the zero and reserved ids
  assertEquals(push(m, sub, PAYLOAD, { id: ZERO_UUID }).errorCode, ErrorCode.INVALID_REQUEST);
  assertEquals(
    push(m, sub, PAYLOAD, { id: "AAAAAAAAAAAAAAAAAAAAAQ" }).errorCode,
    ErrorCode.INVALID_REQUEST,
  );
  assertEquals(
    push(m, sub, PAYLOAD, { compressionType: 5 }).errorCode,
    ErrorCode.UNSUPPORTED_COMPRESSION_TYPE,
  );
  tick(100);
  const big = push(m, sub, new Uint8Array(65));
  assertEquals(big.errorCode, ErrorCode.TELEMETRY_TOO_LARGE);
  assertEquals(
    big.message,
    `Telemetry request from [${ID}] is larger than the maximum allowed size [64]`,
  );
  tick(100);
  // a small payload that decompresses past 10 x telemetry.max.bytes
  const bomb = compress(new Uint8Array(10_000), "gzip");
  ok(bomb.length <= 64);
  assertEquals(push(m, sub, bomb, { compressionType: 1 }).errorCode, ErrorCode.TELEMETRY_TOO_LARGE);
  tick(100);
  // bytes that are not what they claim: INVALID_RECORD (what Kafka answers when its plugin fails)
  assertEquals(
    push(m, sub, new Uint8Array([1, 2, 3]), { compressionType: 1 }).errorCode,
    ErrorCode.INVALID_RECORD,
  );
  tick(100);
  const notOtlp = push(m, sub, new Uint8Array([0x0a, 0x7f, 1]));
  assertEquals(notOtlp.errorCode, ErrorCode.INVALID_RECORD);
  ok(notOtlp.message!.includes("is not OTLP metrics"));
  tick(100);
  // an empty payload is accepted and changes nothing
  assertEquals(push(m, sub, new Uint8Array(0)).errorCode, 0);
  assertEquals(m.instances()[0].values.size, 0);
  // the two pushes with a reserved id name no instance: not counted
  assertEquals(m.stats.pushErrors, 5);
});

Deno.test("instances expire after max(60 s, 3 intervals) and are bounded in count", async () => {
  const { m, tick } = await setup({ s: { metrics: "*", "interval.ms": "30000" } }, {
    maxInstances: 2,
  });
  m.getSubscriptions(ID, CLIENT);
  tick(89_999);
  assertEquals(m.instances().length, 1);
  tick(1);
  assertEquals(m.instances().length, 0);
  const a = m.getSubscriptions(ZERO_UUID, CLIENT).clientInstanceId;
  tick(1);
  const b = m.getSubscriptions(ZERO_UUID, CLIENT).clientInstanceId;
  tick(1);
  const c = m.getSubscriptions(ZERO_UUID, CLIENT).clientInstanceId;
  // the least recently heard of went first
  assertEquals(m.instances().map((i) => i.id).sort(), [b, c].sort());
  ok(!m.instances().some((i) => i.id === a));
});

Deno.test("subscriptions are kept in the data directory and survive a reopen", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sluice_client_metrics_" });
  try {
    const s = await ClientMetricsSubscriptions.openWith(new FileClientMetricsStorage(dir));
    await s.alter("prod", { metrics: "a.,b.", "interval.ms": "1000" }, []);
    await s.alter("gone", { metrics: "*" }, []);
    await s.alter("gone", {}, ["metrics"]); // every config deleted: the subscription is deleted
    await rejects(s.alter("prod", { "interval.ms": "5" }, []), /interval must be between/);
    await s.alter("prod", { "interval.ms": "5" }, [], { validateOnly: true }).catch(() => {});
    const again = await ClientMetricsSubscriptions.openWith(new FileClientMetricsStorage(dir));
    assertEquals(again.names(), ["prod"]);
    assertEquals(again.get("prod"), { metrics: "a.,b.", "interval.ms": "1000" });
    assertEquals(
      JSON.parse(await Deno.readTextFile(`${dir}/${CLIENT_METRICS_FILE}`)),
      { version: 1, subscriptions: { prod: { metrics: "a.,b.", "interval.ms": "1000" } } },
    );
    await Deno.writeTextFile(`${dir}/${CLIENT_METRICS_FILE}`, "{");
    await rejects(
      ClientMetricsSubscriptions.openWith(new FileClientMetricsStorage(dir)),
      /cannot read .*sluice-client-metrics.json/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("series are bounded per instance and over all instances, and freed on expiry", async () => {
  const { m, tick } = await setup({ s: { metrics: "*", "interval.ms": "100" } }, {
    maxSeriesPerInstance: 2,
    maxSeries: 3,
  });
  const other = "xClEpxfrKafEycjRaCXpXw";
  const a = m.getSubscriptions(ID, CLIENT).subscriptionId;
  const b = m.getSubscriptions(other, CLIENT).subscriptionId;
  // three metrics: the instance keeps two
  assertEquals(push(m, a, PAYLOAD).errorCode, 0);
  assertEquals(m.seriesCount, 2);
  // the other instance gets the one series left
  assertEquals(push(m, b, PAYLOAD, { id: other }).errorCode, 0);
  assertEquals(m.seriesCount, 3);
  assertEquals(m.instances().map((i) => i.values.size), [2, 1]);
  tick(60_000);
  assertEquals([m.instances().length, m.seriesCount], [0, 0]);
});
