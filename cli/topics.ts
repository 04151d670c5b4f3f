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
  --describe [--topic T]
  --delete --topic T
  --alter --topic T --partitions N

Options:
  --bootstrap-server LIST  Brokers to connect to (default localhost:9092)
  --if-not-exists          With --create: do nothing if the topic exists
  --if-exists              With --delete/--alter/--describe: do nothing if the topic is missing
${COMMAND_CONFIG_HELP}  -h, --help               Show this help
`;

/**
 * Formats a topic description the way `kafka-topics.sh --describe` does: a summary line, then
 * one tab-indented line per partition.
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
 * @returns The lines, joined with `\n` and without a trailing newline.
 */
export function formatTopicDescription(
  topic: TopicDescription,
  configs: Record<string, string>,
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
      }\tReplicas: ${p.replicas.join(",")}\tIsr: ${p.isr.join(",")}`,
    );
  }
  return lines.join("\n");
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
          described = await admin.describeTopics(names);
        } catch (e) {
          if (values["if-exists"] && isError(e, "UNKNOWN_TOPIC_OR_PARTITION")) return 0;
          throw e;
        }
        const configs = await admin.describeConfigs(
          described.map((t) => ({ type: "topic" as const, name: t.name })),
        );
        const out: string[] = [];
        for (let i = 0; i < described.length; i++) {
          const dynamic: Record<string, string> = {};
          for (const entry of configs[i]?.entries ?? []) {
            if (entry.source === "DYNAMIC_TOPIC_CONFIG" && entry.value !== null) {
              dynamic[entry.name] = entry.value;
            }
          }
          out.push(formatTopicDescription(described[i], dynamic) + "\n");
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

function isError(e: unknown, name: string): boolean {
  return (e as { errorName?: string })?.errorName === name;
}
