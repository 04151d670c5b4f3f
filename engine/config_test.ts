import assert from "node:assert/strict";
import {
  BROKER_TO_TOPIC_CONFIG,
  brokerConfigsToTopicDefaults,
  describeTopicConfigs,
  effectiveConfigs,
  type EngineError,
  ErrorCode,
  toLogConfig,
  TOPIC_CONFIGS,
  validateConfigValue,
} from "./mod.ts";

Deno.test("every topic config's default passes its own validator", () => {
  for (const d of TOPIC_CONFIGS.values()) {
    assert.equal(validateConfigValue(d.name, d.defaultValue), d.defaultValue, d.name);
    assert.ok(d.doc.length > 10, d.name);
  }
  for (
    const name of [
      "cleanup.policy",
      "compression.type",
      "delete.retention.ms",
      "file.delete.delay.ms",
      "flush.messages",
      "flush.ms",
      "index.interval.bytes",
      "max.compaction.lag.ms",
      "max.message.bytes",
      "message.timestamp.type",
      "min.cleanable.dirty.ratio",
      "min.compaction.lag.ms",
      "min.insync.replicas",
      "retention.bytes",
      "retention.ms",
      "segment.bytes",
      "segment.index.bytes",
      "segment.jitter.ms",
      "segment.ms",
      "unclean.leader.election.enable",
      "message.timestamp.difference.max.ms",
    ]
  ) assert.ok(TOPIC_CONFIGS.has(name), name);
});

Deno.test("broker config names map to topic configs with units and precedence", () => {
  assert.equal(BROKER_TO_TOPIC_CONFIG.get("log.segment.bytes"), "segment.bytes");
  assert.equal(BROKER_TO_TOPIC_CONFIG.get("message.max.bytes"), "max.message.bytes");
  assert.equal(BROKER_TO_TOPIC_CONFIG.get("log.flush.interval.messages"), "flush.messages");
  assert.equal(BROKER_TO_TOPIC_CONFIG.get("log.roll.hours"), "segment.ms");
  assert.deepEqual(brokerConfigsToTopicDefaults({ "log.retention.hours": "2" }), {
    "retention.ms": "7200000",
  });
  assert.deepEqual(
    brokerConfigsToTopicDefaults({ "log.retention.hours": "2", "log.retention.minutes": "3" }),
    { "retention.ms": "180000" },
  );
  assert.deepEqual(
    brokerConfigsToTopicDefaults({
      "log.retention.hours": "2",
      "log.retention.ms": "5",
      "log.roll.hours": "1",
      "log.cleanup.policy": "compact",
      "num.network.threads": "3",
    }),
    { "retention.ms": "5", "segment.ms": "3600000", "cleanup.policy": "compact" },
  );
  assert.deepEqual(brokerConfigsToTopicDefaults({ "log.retention.hours": "-1" }), {
    "retention.ms": "-1",
  });
  assert.throws(
    () => brokerConfigsToTopicDefaults({ "log.retention.hours": "two" }),
    (e: EngineError) =>
      e.code === ErrorCode.INVALID_CONFIG &&
      e.message === `invalid broker config log.retention.hours: "two" is not an integer`,
  );
});

Deno.test("validateConfigValue normalises and refuses bad values", () => {
  assert.equal(validateConfigValue("preallocate", "TRUE"), "true");
  assert.equal(validateConfigValue("retention.ms", "-1"), "-1");
  assert.equal(validateConfigValue("min.cleanable.dirty.ratio", "0.25"), "0.25");
  assert.equal(validateConfigValue("follower.replication.throttled.replicas", ""), "");
  const bad: [string, string, string][] = [
    ["retention.ms", "-2", "must be at least -1"],
    ["flush.messages", "0", "must be at least 1"],
    ["min.cleanable.dirty.ratio", "1.5", "must be at most 1"],
    ["min.cleanable.dirty.ratio", "x", "expected a number"],
    ["preallocate", "yes", "expected true or false"],
    ["cleanup.policy", "", "must be one or more of compact, delete"],
    ["retention.bytes", "9223372036854775808", "out of range for type long"],
    ["max.message.bytes", "1e3", "expected an integer"],
  ];
  for (const [name, value, why] of bad) {
    assert.throws(
      () => validateConfigValue(name, value),
      (e: EngineError) =>
        e.code === ErrorCode.INVALID_CONFIG &&
        e.message === `invalid value "${value}" for config ${name}: ${why}`,
    );
  }
});

Deno.test("describeTopicConfigs reports sources; toLogConfig types the values", () => {
  const rows = describeTopicConfigs({ "retention.ms": "5" }, {
    "retention.ms": "9",
    "segment.bytes": "4096",
  });
  assert.equal(rows.length, TOPIC_CONFIGS.size);
  assert.deepEqual(rows.map((r) => r.name), [...rows.map((r) => r.name)].sort());
  const by = new Map(rows.map((r) => [r.name, r]));
  assert.deepEqual([by.get("retention.ms")!.value, by.get("retention.ms")!.source], ["5", "topic"]);
  assert.deepEqual([by.get("segment.bytes")!.value, by.get("segment.bytes")!.source], [
    "4096",
    "broker",
  ]);
  assert.deepEqual([by.get("flush.ms")!.value, by.get("flush.ms")!.source], [
    "9223372036854775807",
    "default",
  ]);
  const cfg = toLogConfig(effectiveConfigs({ "message.timestamp.type": "LogAppendTime" }, {}));
  assert.equal(cfg.segmentBytes, 1073741824);
  assert.equal(cfg.indexIntervalBytes, 4096);
  assert.equal(cfg.retentionMs, 604800000);
  assert.equal(cfg.retentionBytes, -1);
  assert.equal(cfg.maxMessageBytes, 1048588);
  assert.equal(cfg.timestampType, "LogAppendTime");
  assert.deepEqual(cfg.cleanupPolicy, ["delete"]);
  assert.ok(cfg.flushMessages > 2 ** 62);
});
