/**
 * Topic configuration: every topic config Kafka defines (type, Kafka's default, validator, doc),
 * the mapping from broker config names (`log.retention.hours`, `message.max.bytes`, ...) to topic
 * configs, validation, and resolution into the typed {@linkcode LogConfig} the engine runs on.
 *
 * Values are kept as strings, exactly like Kafka's wire format for configs.
 *
 * @module
 */

import { EngineError, ErrorCode } from "./errors.ts";

/** The type of a config value, as Kafka's `ConfigDef.Type` names it. */
export type ConfigType = "boolean" | "int" | "long" | "double" | "string" | "list";

/** The definition of one topic config. */
export interface TopicConfigDef {
  /** Topic config name, e.g. `retention.ms`. */
  readonly name: string;
  /** Value type. */
  readonly type: ConfigType;
  /** Kafka's default value, as a string. */
  readonly defaultValue: string;
  /** Inclusive numeric lower bound, if any. */
  readonly min?: number;
  /** Inclusive numeric upper bound, if any. */
  readonly max?: number;
  /** Allowed values (for `string`, or each element of a `list`), if restricted. */
  readonly validValues?: readonly string[];
  /** Broker config names that set the broker-level default, most specific first. */
  readonly brokerNames: readonly string[];
  /** Short documentation, after Kafka's. */
  readonly doc: string;
}

const LONG_MAX = "9223372036854775807";
const INT_MAX = 2147483647;

function def(
  name: string,
  type: ConfigType,
  defaultValue: string,
  brokerNames: string[],
  doc: string,
  extra: { min?: number; max?: number; validValues?: string[] } = {},
): TopicConfigDef {
  return { name, type, defaultValue, brokerNames, doc, ...extra };
}

/**
 * Every topic config Kafka defines, by name, with Kafka's defaults.
 *
 * @example List the default of `retention.ms`
 * ```ts
 * import { TOPIC_CONFIGS } from "./config.ts";
 * console.assert(TOPIC_CONFIGS.get("retention.ms")?.defaultValue === "604800000");
 * ```
 */
export const TOPIC_CONFIGS: ReadonlyMap<string, TopicConfigDef> = new Map(
  [
    def(
      "cleanup.policy",
      "list",
      "delete",
      ["log.cleanup.policy"],
      "Retention policy for old log segments: delete and/or compact.",
      {
        validValues: ["compact", "delete"],
      },
    ),
    def(
      "compression.type",
      "string",
      "producer",
      ["compression.type"],
      "Final compression type for the topic; producer keeps the producer's codec.",
      {
        validValues: ["uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"],
      },
    ),
    def(
      "delete.retention.ms",
      "long",
      "86400000",
      ["log.cleaner.delete.retention.ms"],
      "How long delete tombstones are retained on compacted topics.",
      { min: 0 },
    ),
    def(
      "file.delete.delay.ms",
      "long",
      "60000",
      ["log.segment.delete.delay.ms"],
      "Time to wait before deleting a file from the filesystem.",
      { min: 0 },
    ),
    def(
      "flush.messages",
      "long",
      LONG_MAX,
      ["log.flush.interval.messages"],
      "Force an fsync after this many messages; 1 fsyncs before every acknowledgement.",
      { min: 1 },
    ),
    def(
      "flush.ms",
      "long",
      LONG_MAX,
      ["log.flush.interval.ms"],
      "Force an fsync when this much time has passed since the last one.",
      { min: 0 },
    ),
    def("follower.replication.throttled.replicas", "list", "", [
      "follower.replication.throttled.replicas",
    ], "Replicas for which follower replication is throttled."),
    def(
      "index.interval.bytes",
      "int",
      "4096",
      ["log.index.interval.bytes"],
      "How many bytes of batches between two offset index entries.",
      { min: 0 },
    ),
    def("leader.replication.throttled.replicas", "list", "", [
      "leader.replication.throttled.replicas",
    ], "Replicas for which leader replication is throttled."),
    def(
      "local.retention.bytes",
      "long",
      "-2",
      ["log.local.retention.bytes"],
      "Maximum local size before tiered segments are deleted (-2: use retention.bytes).",
      { min: -2 },
    ),
    def(
      "local.retention.ms",
      "long",
      "-2",
      ["log.local.retention.ms"],
      "Maximum local age before tiered segments are deleted (-2: use retention.ms).",
      { min: -2 },
    ),
    def(
      "max.compaction.lag.ms",
      "long",
      LONG_MAX,
      ["log.cleaner.max.compaction.lag.ms"],
      "Maximum time a message stays ineligible for compaction.",
      { min: 1 },
    ),
    def(
      "max.message.bytes",
      "int",
      "1048588",
      ["message.max.bytes"],
      "Largest record batch size allowed.",
      { min: 0 },
    ),
    def(
      "message.downconversion.enable",
      "boolean",
      "true",
      ["log.message.downconversion.enable"],
      "Whether down-conversion of message formats is enabled for consumers.",
    ),
    def(
      "message.format.version",
      "string",
      "3.0-IV1",
      ["log.message.format.version"],
      "Deprecated: the message format version.",
    ),
    def(
      "message.timestamp.after.max.ms",
      "long",
      LONG_MAX,
      ["log.message.timestamp.after.max.ms"],
      "Largest allowed amount a message timestamp may be ahead of the broker's time.",
      { min: 0 },
    ),
    def(
      "message.timestamp.before.max.ms",
      "long",
      LONG_MAX,
      ["log.message.timestamp.before.max.ms"],
      "Largest allowed amount a message timestamp may be behind the broker's time.",
      { min: 0 },
    ),
    def(
      "message.timestamp.difference.max.ms",
      "long",
      LONG_MAX,
      ["log.message.timestamp.difference.max.ms"],
      "Deprecated: largest allowed difference between message timestamp and broker time.",
      { min: 0 },
    ),
    def(
      "message.timestamp.type",
      "string",
      "CreateTime",
      ["log.message.timestamp.type"],
      "Whether record timestamps are the producer's (CreateTime) or the broker's (LogAppendTime).",
      {
        validValues: ["CreateTime", "LogAppendTime"],
      },
    ),
    def(
      "min.cleanable.dirty.ratio",
      "double",
      "0.5",
      ["log.cleaner.min.cleanable.ratio"],
      "Dirty ratio above which the log is compacted.",
      { min: 0, max: 1 },
    ),
    def(
      "min.compaction.lag.ms",
      "long",
      "0",
      ["log.cleaner.min.compaction.lag.ms"],
      "Minimum time a message stays uncompacted.",
      { min: 0 },
    ),
    def(
      "min.insync.replicas",
      "int",
      "1",
      ["min.insync.replicas"],
      "Minimum in-sync replicas for acks=all writes.",
      { min: 1 },
    ),
    def(
      "preallocate",
      "boolean",
      "false",
      ["log.preallocate"],
      "Preallocate the file on disk when creating a segment.",
    ),
    def("remote.log.copy.disable", "boolean", "false", [], "Disable copying to tiered storage."),
    def(
      "remote.log.delete.on.disable",
      "boolean",
      "false",
      [],
      "Delete tiered data when tiered storage is disabled.",
    ),
    def("remote.storage.enable", "boolean", "false", [], "Enable tiered storage for the topic."),
    def(
      "retention.bytes",
      "long",
      "-1",
      ["log.retention.bytes"],
      "Maximum size a partition can grow to before old segments are deleted (-1: no limit).",
    ),
    def(
      "retention.ms",
      "long",
      "604800000",
      ["log.retention.ms", "log.retention.minutes", "log.retention.hours"],
      "Maximum time a segment is kept, by its largest timestamp (-1: no limit).",
      { min: -1 },
    ),
    def(
      "segment.bytes",
      "int",
      "1073741824",
      ["log.segment.bytes"],
      "Segment file size at which a new segment is rolled.",
      { min: 14 },
    ),
    def(
      "segment.index.bytes",
      "int",
      "10485760",
      ["log.index.size.max.bytes"],
      "Maximum size of a segment's offset index.",
      { min: 4 },
    ),
    def(
      "segment.jitter.ms",
      "long",
      "0",
      ["log.roll.jitter.ms", "log.roll.jitter.hours"],
      "Maximum random jitter subtracted from segment.ms.",
      { min: 0 },
    ),
    def(
      "segment.ms",
      "long",
      "604800000",
      ["log.roll.ms", "log.roll.hours"],
      "Time after which a segment is rolled even if not full.",
      { min: 1 },
    ),
    def(
      "unclean.leader.election.enable",
      "boolean",
      "false",
      ["unclean.leader.election.enable"],
      "Allow out-of-sync replicas to become leader.",
    ),
  ].map((d) => [d.name, d]),
);

/** Broker config names expressed in a unit other than milliseconds, with their multiplier. */
const BROKER_UNIT: Record<string, number> = {
  "log.retention.minutes": 60_000,
  "log.retention.hours": 3_600_000,
  "log.roll.hours": 3_600_000,
  "log.roll.jitter.hours": 3_600_000,
};

/**
 * Maps broker config names (as in `server.properties`) to topic config names.
 *
 * @example
 * ```ts
 * import { BROKER_TO_TOPIC_CONFIG } from "./config.ts";
 * console.assert(BROKER_TO_TOPIC_CONFIG.get("log.retention.hours") === "retention.ms");
 * ```
 */
export const BROKER_TO_TOPIC_CONFIG: ReadonlyMap<string, string> = new Map(
  [...TOPIC_CONFIGS.values()].flatMap((d) => d.brokerNames.map((b) => [b, d.name] as const)),
);

/**
 * Converts broker configs (`log.retention.hours=24`, `message.max.bytes=...`) into broker-level
 * topic config defaults keyed by topic config name. When several broker names set the same topic
 * config, the most specific wins (`log.retention.ms` over `.minutes` over `.hours`). Names that are
 * not log configs are ignored.
 *
 * @param broker Broker configs by broker config name.
 * @returns Topic config defaults by topic config name.
 * @throws {EngineError} INVALID_CONFIG if a value does not parse.
 *
 * @example
 * ```ts
 * import { brokerConfigsToTopicDefaults } from "./config.ts";
 * const d = brokerConfigsToTopicDefaults({ "log.retention.hours": "2", "log.segment.bytes": "1024" });
 * console.assert(d["retention.ms"] === "7200000" && d["segment.bytes"] === "1024");
 * ```
 */
export function brokerConfigsToTopicDefaults(
  broker: Record<string, string>,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const d of TOPIC_CONFIGS.values()) {
    for (const b of d.brokerNames) {
      const raw = broker[b];
      if (raw === undefined) continue;
      const unit = BROKER_UNIT[b];
      let value = raw.trim();
      if (unit !== undefined) {
        if (!/^-?\d+$/.test(value)) {
          throw new EngineError(
            ErrorCode.INVALID_CONFIG,
            `invalid broker config ${b}: "${raw}" is not an integer`,
          );
        }
        const n = Number(value);
        value = String(n < 0 ? n : n * unit);
      }
      out[d.name] = validateConfigValue(d.name, value);
      break;
    }
  }
  return out;
}

/**
 * Validates one topic config value and returns it normalised (trimmed; lists without spaces).
 *
 * @param name Topic config name.
 * @param value Value as a string.
 * @returns The normalised value.
 * @throws {EngineError} INVALID_CONFIG for an unknown name or a bad value.
 *
 * @example
 * ```ts
 * import { validateConfigValue } from "./config.ts";
 * console.assert(validateConfigValue("cleanup.policy", "compact, delete") === "compact,delete");
 * ```
 */
export function validateConfigValue(name: string, value: string): string {
  const d = TOPIC_CONFIGS.get(name);
  if (!d) {
    throw new EngineError(ErrorCode.INVALID_CONFIG, `invalid config ${name}: unknown topic config`);
  }
  if (typeof value !== "string") {
    throw new EngineError(
      ErrorCode.INVALID_CONFIG,
      `invalid config ${name}: value is not a string`,
    );
  }
  const v = value.trim();
  const bad = (why: string) =>
    new EngineError(
      ErrorCode.INVALID_CONFIG,
      `invalid value "${value}" for config ${name}: ${why}`,
    );
  switch (d.type) {
    case "boolean":
      if (v.toLowerCase() !== "true" && v.toLowerCase() !== "false") {
        throw bad("expected true or false");
      }
      return v.toLowerCase();
    case "int":
    case "long": {
      if (!/^-?\d+$/.test(v)) throw bad(`expected an integer`);
      const big = BigInt(v);
      const [lo, hi] = d.type === "int"
        ? [-2147483648n, BigInt(INT_MAX)]
        : [-9223372036854775808n, 9223372036854775807n];
      if (big < lo || big > hi) throw bad(`out of range for type ${d.type}`);
      if (d.min !== undefined && big < BigInt(d.min)) throw bad(`must be at least ${d.min}`);
      if (d.max !== undefined && big > BigInt(d.max)) throw bad(`must be at most ${d.max}`);
      return big.toString();
    }
    case "double": {
      const n = Number(v);
      if (v === "" || !Number.isFinite(n)) throw bad("expected a number");
      if (d.min !== undefined && n < d.min) throw bad(`must be at least ${d.min}`);
      if (d.max !== undefined && n > d.max) throw bad(`must be at most ${d.max}`);
      return v;
    }
    case "string":
      if (d.validValues && !d.validValues.includes(v)) {
        throw bad(`must be one of ${d.validValues.join(", ")}`);
      }
      return v;
    case "list": {
      const items = v === "" ? [] : v.split(",").map((s) => s.trim());
      if (d.validValues) {
        if (items.length === 0) throw bad(`must be one or more of ${d.validValues.join(", ")}`);
        for (const item of items) {
          if (!d.validValues.includes(item)) {
            throw bad(`"${item}" is not one of ${d.validValues.join(", ")}`);
          }
        }
      }
      return items.join(",");
    }
  }
}

/**
 * Validates a set of topic config overrides.
 *
 * @param configs Overrides by topic config name.
 * @returns The normalised overrides.
 * @throws {EngineError} INVALID_CONFIG on the first unknown name or bad value.
 *
 * @example
 * ```ts
 * import { validateTopicConfigs } from "./config.ts";
 * console.assert(validateTopicConfigs({ "retention.ms": " 1000" })["retention.ms"] === "1000");
 * ```
 */
export function validateTopicConfigs(configs: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(configs)) out[k] = validateConfigValue(k, v);
  return out;
}

/** Where a config value came from, in DescribeConfigs terms. */
export type ConfigSource = "topic" | "broker" | "default";

/** One row of a topic's described configuration. */
export interface TopicConfigEntry {
  /** Topic config name. */
  name: string;
  /** Effective value. */
  value: string;
  /** Where the value came from. */
  source: ConfigSource;
  /** The definition (type, default, doc). */
  def: TopicConfigDef;
}

/**
 * Lists every topic config with its effective value and source, for DescribeConfigs.
 *
 * @param overrides The topic's explicit overrides.
 * @param brokerDefaults Broker-level defaults by topic config name.
 * @returns One entry per known topic config, in name order.
 *
 * @example
 * ```ts
 * import { describeTopicConfigs } from "./config.ts";
 * const rows = describeTopicConfigs({ "retention.ms": "5" }, { "segment.bytes": "4096" });
 * const byName = new Map(rows.map((r) => [r.name, r]));
 * console.assert(byName.get("retention.ms")?.source === "topic");
 * console.assert(byName.get("segment.bytes")?.source === "broker");
 * console.assert(byName.get("flush.ms")?.source === "default");
 * ```
 */
export function describeTopicConfigs(
  overrides: Record<string, string>,
  brokerDefaults: Record<string, string>,
): TopicConfigEntry[] {
  return [...TOPIC_CONFIGS.values()].sort((a, b) => a.name < b.name ? -1 : 1).map((d) => {
    if (overrides[d.name] !== undefined) {
      return { name: d.name, value: overrides[d.name], source: "topic" as const, def: d };
    }
    if (brokerDefaults[d.name] !== undefined) {
      return { name: d.name, value: brokerDefaults[d.name], source: "broker" as const, def: d };
    }
    return { name: d.name, value: d.defaultValue, source: "default" as const, def: d };
  });
}

/**
 * Effective values of every topic config: overrides over broker defaults over Kafka's defaults.
 *
 * @param overrides The topic's explicit overrides.
 * @param brokerDefaults Broker-level defaults by topic config name.
 * @returns Every topic config name mapped to its effective value.
 *
 * @example
 * ```ts
 * import { effectiveConfigs } from "./config.ts";
 * console.assert(effectiveConfigs({}, {})["segment.bytes"] === "1073741824");
 * ```
 */
export function effectiveConfigs(
  overrides: Record<string, string>,
  brokerDefaults: Record<string, string>,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of describeTopicConfigs(overrides, brokerDefaults)) out[e.name] = e.value;
  return out;
}

/** The typed log settings the engine runs on, resolved from effective configs. */
export interface LogConfig {
  /** `segment.bytes`. */
  segmentBytes: number;
  /** `segment.ms`. */
  segmentMs: number;
  /** `segment.jitter.ms`. */
  segmentJitterMs: number;
  /** `segment.index.bytes`. */
  segmentIndexBytes: number;
  /** `index.interval.bytes`. */
  indexIntervalBytes: number;
  /** `retention.ms` (-1: unlimited). */
  retentionMs: number;
  /** `retention.bytes` (-1: unlimited). */
  retentionBytes: number;
  /** `flush.messages`. */
  flushMessages: number;
  /** `flush.ms`. */
  flushMs: number;
  /** `max.message.bytes`. */
  maxMessageBytes: number;
  /** `message.timestamp.type`. */
  timestampType: "CreateTime" | "LogAppendTime";
  /** `message.timestamp.before.max.ms` (combined with the deprecated difference setting). */
  timestampBeforeMaxMs: number;
  /** `message.timestamp.after.max.ms` (combined with the deprecated difference setting). */
  timestampAfterMaxMs: number;
  /** `file.delete.delay.ms`. */
  fileDeleteDelayMs: number;
  /** `cleanup.policy` items. */
  cleanupPolicy: string[];
  /** `compression.type`: `producer` keeps each batch's codec, anything else is the topic's. */
  compressionType: "producer" | "uncompressed" | "gzip" | "snappy" | "lz4" | "zstd";
}

/**
 * Resolves effective config strings into a {@linkcode LogConfig}.
 *
 * @param effective Effective configs (see {@linkcode effectiveConfigs}).
 * @returns The typed settings.
 *
 * @example
 * ```ts
 * import { effectiveConfigs, toLogConfig } from "./config.ts";
 * console.assert(toLogConfig(effectiveConfigs({}, {})).indexIntervalBytes === 4096);
 * ```
 */
export function toLogConfig(effective: Record<string, string>): LogConfig {
  const n = (k: string) => Number(effective[k] ?? TOPIC_CONFIGS.get(k)!.defaultValue);
  const diff = n("message.timestamp.difference.max.ms");
  return {
    segmentBytes: n("segment.bytes"),
    segmentMs: n("segment.ms"),
    segmentJitterMs: n("segment.jitter.ms"),
    segmentIndexBytes: n("segment.index.bytes"),
    indexIntervalBytes: n("index.interval.bytes"),
    retentionMs: n("retention.ms"),
    retentionBytes: n("retention.bytes"),
    flushMessages: n("flush.messages"),
    flushMs: n("flush.ms"),
    maxMessageBytes: n("max.message.bytes"),
    timestampType: effective["message.timestamp.type"] === "LogAppendTime"
      ? "LogAppendTime"
      : "CreateTime",
    timestampBeforeMaxMs: Math.min(n("message.timestamp.before.max.ms"), diff),
    timestampAfterMaxMs: Math.min(n("message.timestamp.after.max.ms"), diff),
    fileDeleteDelayMs: n("file.delete.delay.ms"),
    cleanupPolicy: (effective["cleanup.policy"] ?? "delete").split(",").filter((s) => s),
    compressionType: (effective["compression.type"] ?? "producer") as LogConfig["compressionType"],
  };
}
