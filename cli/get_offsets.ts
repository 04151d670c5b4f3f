// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * `sluice get-offsets`: Kafka's `kafka-get-offsets.sh` (`GetOffsetShell`): the offset of each
 * matching partition at a time (latest, earliest, max-timestamp or a timestamp), printed as
 * `topic:partition:offset` lines sorted by `topic-partition`, with its topic regex, partition
 * list and `--topic-partitions` patterns.
 *
 * @module
 */

import {
  Admin,
  type OffsetSpec,
  type PartitionOffset,
  type TopicPartition,
} from "../client/admin.ts";
import { Client } from "../client/client.ts";
import { KafkaError } from "../protocol/errors.ts";
import { parseFlags, UsageError } from "./args.ts";
import { COMMAND_CONFIG_HELP, COMMAND_CONFIG_OPTION, commandConfig } from "./command_config.ts";
import type { CommandIo } from "./io.ts";

/** Help text of `sluice get-offsets`. */
export const GET_OFFSETS_HELP: string =
  `Usage: sluice get-offsets [--bootstrap-server HOST:PORT] [--topic REGEX] [--partitions IDS]
                          [--topic-partitions PATTERNS] [--time TIME] [--exclude-internal-topics]

Print topic:partition:offset for each matching partition (kafka-get-offsets.sh's flags and
output). A partition with no offset for the time (a timestamp after its last record) is left out.

Options:
  --bootstrap-server LIST  Brokers to connect to (default localhost:9092)
  --topic REGEX            Topics whose whole name matches (default: all)
  --partitions IDS         Comma-separated partition ids (default: all)
  --topic-partitions LIST  Comma-separated TOPIC_REGEX[:PARTITION] patterns, PARTITION being N,
                           N-M (M excluded), N- or -M; not with --topic or --partitions
  --time TIME              -1 or latest (default), -2 or earliest, -3 or max-timestamp,
                           -4 or earliest-local, or a timestamp in ms: the first offset whose
                           timestamp is at or after it
  --exclude-internal-topics
                           Leave out internal topics (__consumer_offsets, ...)
${COMMAND_CONFIG_HELP}  -h, --help               Show this help
`;

const TIME_NAMES: Record<string, number> = {
  latest: -1,
  earliest: -2,
  "max-timestamp": -3,
  "earliest-local": -4,
  "latest-tiered": -5,
  "earliest-pending-upload": -6,
};

/**
 * Parses `--time` as Kafka's `GetOffsetShell.parseOffsetSpec`.
 *
 * @example
 * ```ts
 * import { parseTime } from "./get_offsets.ts";
 * parseTime("earliest"); // "earliest"
 * parseTime("1700000000000"); // { timestamp: 1700000000000 }
 * ```
 *
 * @param value The flag's value.
 * @returns The offset spec.
 * @throws {UsageError} If it is neither a name nor an integer, or a tiered-storage time.
 */
export function parseTime(value: string): OffsetSpec {
  const t = TIME_NAMES[value] ?? (/^-?\d+$/.test(value) ? Number(value) : NaN);
  if (!Number.isSafeInteger(t)) {
    throw new UsageError(
      `Malformed time argument ${value}. Please use -1 or latest / -2 or earliest / ` +
        `-3 or max-timestamp / -4 or earliest-local, or a specified long format timestamp`,
    );
  }
  if (t === -5 || t === -6) {
    throw new UsageError(`--time ${value}: Sluice has no tiered storage`);
  }
  if (t === -1) return "latest";
  if (t === -2) return "earliest";
  if (t === -3) return "max-timestamp";
  return { timestamp: t };
}

/** A partition filter: all partitions, a set, or a half-open range. */
type PartitionFilter = (p: number) => boolean;

/** A `--topic` regex as Kafka's `IncludeList`: commas are alternatives, the whole name matches. */
function topicRegex(value: string, flag: string): RegExp {
  const src = value.trim().replaceAll(",", "|").replaceAll(" ", "")
    .replace(/^["']+/, "").replace(/["']+$/, "");
  try {
    return new RegExp(`^(?:${src})$`);
  } catch (e) {
    throw new UsageError(`invalid ${flag} "${value}": ${(e as Error).message}`);
  }
}

/**
 * Parses `--topic-partitions` patterns (Kafka's `TOPIC_REGEX[:N | :N-M | :N- | :-M]`).
 *
 * @param value The flag's value.
 * @returns One matcher per pattern.
 * @throws {UsageError} On a malformed pattern.
 */
function topicPartitionRules(value: string): [RegExp, PartitionFilter][] {
  return value.split(",").map((spec) => {
    const m = /^([^:,]*)(?::(?:([0-9]*)|(?:([0-9]*)-([0-9]*))))?$/.exec(spec);
    if (m === null || (m[2] === "" && m[3] === undefined)) {
      throw new UsageError(`Invalid rule specification: ${spec}`);
    }
    const topic = topicRegex(m[1] === "" ? ".*" : m[1], "--topic-partitions");
    let filter: PartitionFilter = () => true;
    if (m[2] !== undefined) {
      const n = Number(m[2]);
      filter = (p) => p === n;
    } else if (m[3] !== undefined) {
      if (m[3] === "" && m[4] === "") throw new UsageError(`Invalid rule specification: ${spec}`);
      const lo = m[3] === "" ? 0 : Number(m[3]);
      const hi = m[4] === "" ? Infinity : Number(m[4]);
      filter = (p) => p >= lo && p < hi;
    }
    return [topic, filter] as [RegExp, PartitionFilter];
  });
}

/**
 * Runs `sluice get-offsets`.
 *
 * @param args Arguments after `get-offsets`.
 * @param io Where to write.
 * @returns The exit code: 0.
 * @throws {UsageError} On bad flags.
 * @throws {Error} When no partition matches.
 * @throws {KafkaError} When the broker cannot be reached.
 */
export async function runGetOffsets(args: string[], io: CommandIo): Promise<number> {
  const { values } = parseFlags(args, {
    ...COMMAND_CONFIG_OPTION,
    "bootstrap-server": { type: "string", default: "localhost:9092" },
    topic: { type: "string" },
    partitions: { type: "string" },
    "topic-partitions": { type: "string" },
    time: { type: "string", default: "latest" },
    "exclude-internal-topics": { type: "boolean" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    io.stdout(GET_OFFSETS_HELP);
    return 0;
  }
  if (
    values["topic-partitions"] !== undefined &&
    (values.topic !== undefined || values.partitions !== undefined)
  ) {
    throw new UsageError("--topic-partitions cannot be used with --topic or --partitions");
  }
  const spec = parseTime(values.time as string);
  let rules: [RegExp, PartitionFilter][];
  if (values["topic-partitions"] !== undefined) {
    rules = topicPartitionRules(values["topic-partitions"] as string);
  } else {
    const ids = values.partitions === undefined
      ? []
      : String(values.partitions).split(",").map((x) => {
        if (!/^\s*\d+\s*$/.test(x)) {
          throw new UsageError(
            `Invalid partition ${x.trim()} in --partitions ${values.partitions}`,
          );
        }
        return Number(x);
      });
    rules = [[
      topicRegex((values.topic as string | undefined) ?? ".*", "--topic"),
      ids.length === 0 ? () => true : (p) => ids.includes(p),
    ]];
  }
  const client = new Client({
    ...(await commandConfig(values["command-config"])),
    bootstrapServers: values["bootstrap-server"] as string,
    clientId: "GetOffsetShell",
  });
  try {
    const admin = new Admin(client);
    const names = (await admin.listTopics({ includeInternal: !values["exclude-internal-topics"] }))
      .filter((t) => rules.some(([re]) => re.test(t)));
    const partitions: TopicPartition[] = [];
    if (names.length > 0) {
      for (const t of await admin.describeTopics(names)) {
        for (const p of t.partitions) {
          if (rules.some(([re, f]) => re.test(t.name) && f(p.partition))) {
            partitions.push({ topic: t.name, partition: p.partition });
          }
        }
      }
    }
    if (partitions.length === 0) {
      throw new Error("Could not match any topic-partitions with the specified filters");
    }
    const name = (tp: TopicPartition) => `${tp.topic}-${tp.partition}`;
    partitions.sort((a, b) => name(a) < name(b) ? -1 : name(a) > name(b) ? 1 : 0);
    // one request per leader; when a partition fails, each is asked alone so that the others
    // are still printed (Kafka's tool skips the failed ones with a line on stderr)
    let results: PromiseSettledResult<PartitionOffset[]>[];
    try {
      const all = await admin.listOffsets(partitions.map((tp) => ({ ...tp, spec })));
      results = all.map((r) => ({ status: "fulfilled", value: [r] }));
    } catch (e) {
      if (!(e instanceof KafkaError) || e.errorName === "NETWORK_EXCEPTION") throw e;
      results = await Promise.allSettled(
        partitions.map((tp) => admin.listOffsets([{ ...tp, spec }])),
      );
    }
    let out = "";
    for (const [i, r] of results.entries()) {
      const tp = partitions[i];
      if (r.status === "rejected") {
        if (!(r.reason instanceof KafkaError) || r.reason.errorName === "NETWORK_EXCEPTION") {
          throw r.reason;
        }
        io.stderr(
          `Skip getting offsets for topic-partition ${
            name(tp)
          } due to error: ${r.reason.message}\n`,
        );
        continue;
      }
      const offset = r.value[0].offset;
      if (offset !== -1) out += `${tp.topic}:${tp.partition}:${offset}\n`;
    }
    io.stdout(out);
    return 0;
  } finally {
    client.close();
  }
}
