/**
 * `sluice topics`: create, list, describe, delete and alter topics, printing like Kafka's
 * `kafka-topics.sh`.
 *
 * @module
 */

import { Admin, Client, type TopicDescription } from "../client/mod.ts";
import { parseFlags, parseIntFlag, parseKeyValues, UsageError } from "./args.ts";
import type { CommandIo } from "./io.ts";
import { COMMAND_CONFIG_HELP, COMMAND_CONFIG_OPTION, commandConfig } from "./command_config.ts";

/** Help text of `sluice topics`. */
export const TOPICS_HELP: string =
  `Usage: sluice topics [--bootstrap-server HOST:PORT] ACTION [OPTIONS]

Actions (exactly one):
  --create --topic T [--partitions N] [--replication-factor R] [--config k=v]...
  --list
  --describe [--topic T] [--output text|json]
  --delete --topic T
  --alter --topic T --partitions N

Options:
  --bootstrap-server LIST  Brokers to connect to (default localhost:9092)
  --if-not-exists          With --create: do nothing if the topic exists
  --if-exists              With --delete/--alter/--describe: do nothing if the topic is missing
  --output FORMAT          With --describe: text (default, kafka-topics.sh's lines plus each
                           partition's log start and end offsets and size on its leader) or
                           json (one object per topic)
${COMMAND_CONFIG_HELP}  -h, --help               Show this help
`;

/** A partition's offsets and size on its leader, as `topics --describe` shows them. */
export interface PartitionStats {
  /** The log start offset (ListOffsets earliest). */
  logStartOffset: number;
  /** The log end offset (ListOffsets latest: the high watermark). */
  logEndOffset: number;
  /** Bytes of the leader's segments (DescribeLogDirs); -1 when unknown. */
  size: number;
}

/**
 * Formats a topic description the way `kafka-topics.sh --describe` does: a summary line, then
 * one tab-indented line per partition, with `LogStartOffset`, `LogEndOffset` and `Size` (bytes)
 * appended when `stats` has the partition.
 *
 * @example
 * ```ts
 * import { formatTopicDescription } from "./topics.ts";
 * formatTopicDescription(
 *   { name: "t", topicId: "AAAAAAAAAAAAAAAAAAAAAA", internal: false, partitions: [
 *     { partition: 0, leader: 1, replicas: [1], isr: [1], offlineReplicas: [] },
 *   ] },
 *   {},
 * );
 * ```
 *
 * @param topic The description.
 * @param configs Non-default configs of the topic.
 * @param stats Offsets and sizes by partition.
 * @returns The lines, joined with `\n` and without a trailing newline.
 */
export function formatTopicDescription(
  topic: TopicDescription,
  configs: Record<string, string>,
  stats: ReadonlyMap<number, PartitionStats> = new Map(),
): string {
  const replicationFactor = topic.partitions[0]?.replicas.length ?? 0;
  const configText = Object.entries(configs).map(([k, v]) => `${k}=${v}`).join(",");
  const lines = [
    `Topic: ${topic.name}\tTopicId: ${topic.topicId}\tPartitionCount: ${topic.partitions.length}\t` +
    `ReplicationFactor: ${replicationFactor}\tConfigs: ${configText}`,
  ];
  for (const p of topic.partitions) {
    lines.push(
      `\tTopic: ${topic.name}\tPartition: ${p.partition}\tLeader: ${
        p.leader < 0 ? "none" : p.leader
      }\tReplicas: ${p.replicas.join(",")}\tIsr: ${p.isr.join(",")}` +
        statsText(stats.get(p.partition)),
    );
  }
  return lines.join("\n");
}

function statsText(s: PartitionStats | undefined): string {
  if (s === undefined) return "";
  return `\tLogStartOffset: ${s.logStartOffset}\tLogEndOffset: ${s.logEndOffset}\tSize: ${
    s.size < 0 ? "unknown" : s.size
  }`;
}

/**
 * Each partition's offsets and its leader's size; partitions without a leader are left out,
 * and so is every partition when the offsets cannot be listed.
 */
async function partitionStats(
  admin: Admin,
  topics: TopicDescription[],
): Promise<Map<string, Map<number, PartitionStats>>> {
  const out = new Map<string, Map<number, PartitionStats>>();
  const led = topics.flatMap((t) =>
    t.partitions.filter((p) => p.leader >= 0).map((p) => ({ topic: t.name, p }))
  );
  const sizes = new Map<string, number>();
  const leaders = new Map<number, { topic: string; partition: number }[]>();
  for (const { topic, p } of led) {
    leaders.set(p.leader, [...(leaders.get(p.leader) ?? []), { topic, partition: p.partition }]);
  }
  await Promise.all([...leaders].map(async ([leader, parts]) => {
    try {
      for (const r of await admin.describeLogDirs(leader, parts)) {
        sizes.set(`${r.topic}\u0000${r.partition}`, r.size);
      }
    } catch {
      // sizes stay unknown
    }
  }));
  // one request per spec: a ListOffsets answer names each partition once
  const query = (spec: "earliest" | "latest") =>
    admin.listOffsets(led.map(({ topic, p }) => ({ topic, partition: p.partition, spec })));
  let starts, ends;
  try {
    [starts, ends] = [await query("earliest"), await query("latest")];
  } catch {
    return out;
  }
  led.forEach(({ topic, p }, i) => {
    let m = out.get(topic);
    if (m === undefined) out.set(topic, m = new Map());
    m.set(p.partition, {
      logStartOffset: starts[i].offset,
      logEndOffset: ends[i].offset,
      size: sizes.get(`${topic}\u0000${p.partition}`) ?? -1,
    });
  });
  return out;
}

/**
 * Runs `sluice topics`.
 *
 * @param args Arguments after `topics`.
 * @param io Where to write output.
 * @returns The exit code.
 * @throws {UsageError} On bad flags.
 * @throws {KafkaError} When the broker refuses the operation.
 */
export async function runTopics(args: string[], io: CommandIo): Promise<number> {
  const { values } = parseFlags(args, {
    ...COMMAND_CONFIG_OPTION,
    "bootstrap-server": { type: "string", default: "localhost:9092" },
    create: { type: "boolean" },
    list: { type: "boolean" },
    describe: { type: "boolean" },
    delete: { type: "boolean" },
    alter: { type: "boolean" },
    topic: { type: "string" },
    partitions: { type: "string" },
    "replication-factor": { type: "string" },
    config: { type: "string", multiple: true },
    "if-not-exists": { type: "boolean" },
    "if-exists": { type: "boolean" },
    output: { type: "string", default: "text" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    io.stdout(TOPICS_HELP);
    return 0;
  }
  const actions = ["create", "list", "describe", "delete", "alter"].filter((a) => values[a]);
  if (actions.length !== 1) {
    throw new UsageError(
      "exactly one of --create, --list, --describe, --delete or --alter is required",
    );
  }
  const action = actions[0];
  const output = String(values.output);
  if (output !== "text" && output !== "json") {
    throw new UsageError(`invalid --output "${output}": expected text or json`);
  }
  const topic = values.topic as string | undefined;
  if (["create", "delete", "alter"].includes(action) && !topic) {
    throw new UsageError(`--${action} needs --topic`);
  }
  const partitions = parseIntFlag(values.partitions, "--partitions", 1);
  const replicationFactor = parseIntFlag(values["replication-factor"], "--replication-factor", 1);
  const configs = parseKeyValues(values.config as string[] | undefined, "--config");
  if (action === "alter" && partitions === undefined) {
    throw new UsageError("--alter needs --partitions");
  }
  const client = new Client({
    ...(await commandConfig(values["command-config"])),
    bootstrapServers: values["bootstrap-server"] as string,
    clientId: "sluice-topics",
  });
  try {
    const admin = new Admin(client);
    switch (action) {
      case "create": {
        try {
          await admin.createTopics([{
            name: topic!,
            numPartitions: partitions,
            replicationFactor,
            configs,
          }]);
        } catch (e) {
          if (values["if-not-exists"] && isError(e, "TOPIC_ALREADY_EXISTS")) return 0;
          throw e;
        }
        io.stdout(`Created topic ${topic}.\n`);
        return 0;
      }
      case "list": {
        const names = (await admin.listTopics()).sort();
        io.stdout(names.map((n) => n + "\n").join(""));
        return 0;
      }
      case "describe": {
        const names = topic ? [topic] : (await admin.listTopics()).sort();
        if (names.length === 0) return 0;
        let described: TopicDescription[];
        try {
          described = await describeTopics(admin, names);
        } catch (e) {
          if (values["if-exists"] && isError(e, "UNKNOWN_TOPIC_OR_PARTITION")) return 0;
          throw e;
        }
        const configs = await admin.describeConfigs(
          described.map((t) => ({ type: "topic" as const, name: t.name })),
        );
        const stats = await partitionStats(admin, described);
        const out: string[] = [];
        for (let i = 0; i < described.length; i++) {
          const dynamic: Record<string, string> = {};
          for (const entry of configs[i]?.entries ?? []) {
            if (entry.source === "DYNAMIC_TOPIC_CONFIG" && entry.value !== null) {
              dynamic[entry.name] = entry.value;
            }
          }
          const t = described[i];
          const st = stats.get(t.name) ?? new Map<number, PartitionStats>();
          if (output === "json") {
            out.push(
              JSON.stringify({
                name: t.name,
                topicId: t.topicId,
                internal: t.internal,
                configs: dynamic,
                partitions: t.partitions.map((p) => ({
                  partition: p.partition,
                  leader: p.leader,
                  replicas: p.replicas,
                  isr: p.isr,
                  offlineReplicas: p.offlineReplicas,
                  logStartOffset: st.get(p.partition)?.logStartOffset ?? null,
                  logEndOffset: st.get(p.partition)?.logEndOffset ?? null,
                  size: (st.get(p.partition)?.size ?? -1) < 0 ? null : st.get(p.partition)!.size,
                })),
              }) + "\n",
            );
          } else out.push(formatTopicDescription(t, dynamic, st) + "\n");
        }
        io.stdout(out.join(""));
        return 0;
      }
      case "delete": {
        try {
          await admin.deleteTopics([topic!]);
        } catch (e) {
          if (values["if-exists"] && isError(e, "UNKNOWN_TOPIC_OR_PARTITION")) return 0;
          throw e;
        }
        return 0;
      }
      default: {
        try {
          await admin.createPartitions([{ topic: topic!, count: partitions! }]);
        } catch (e) {
          if (values["if-exists"] && isError(e, "UNKNOWN_TOPIC_OR_PARTITION")) return 0;
          throw e;
        }
        return 0;
      }
    }
  } finally {
    await client.close();
  }
}

/**
 * Describes topics with DescribeTopicPartitions when the broker serves it, paging through its
 * cursor (as `kafka-topics.sh --describe` of Kafka 3.7+), else with Metadata.
 */
async function describeTopics(admin: Admin, names: string[]): Promise<TopicDescription[]> {
  try {
    return await admin.describeTopicPartitions(names);
  } catch (e) {
    if (!isError(e, "UNSUPPORTED_VERSION")) throw e;
    return await admin.describeTopics(names);
  }
}

function isError(e: unknown, name: string): boolean {
  return (e as { errorName?: string })?.errorName === name;
}
