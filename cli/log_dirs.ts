// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * `sluice log-dirs --describe`: Kafka's `kafka-log-dirs.sh` (`LogDirsCommand`), each broker's log
 * directories with their partitions' sizes, as the same one-line JSON (DescribeLogDirs).
 *
 * @module
 */

import { Admin } from "../client/admin.ts";
import { Client } from "../client/client.ts";
import { ErrorCode, errorName } from "../protocol/errors.ts";
import { parseFlags, UsageError } from "./args.ts";
import { COMMAND_CONFIG_HELP, COMMAND_CONFIG_OPTION, commandConfig } from "./command_config.ts";
import type { CommandIo } from "./io.ts";

/** Help text of `sluice log-dirs`. */
export const LOG_DIRS_HELP: string =
  `Usage: sluice log-dirs [--bootstrap-server HOST:PORT] --describe [--topic-list T1,T2] [--broker-list 1,2]

Query the log directories of brokers and the size of each partition in them
(kafka-log-dirs.sh's flags and JSON output).

Options:
  --bootstrap-server LIST  Brokers to connect to (default localhost:9092)
  --describe               REQUIRED: describe the log directories
  --topic-list LIST        Only these topics (default: all)
  --broker-list LIST       Only these brokers (default: every broker of the cluster)
${COMMAND_CONFIG_HELP}  -h, --help               Show this help
`;

/** Kafka's exception class name for a log directory's error, as its tool prints it. */
function errorClass(code: number): string | null {
  if (code === 0) return null;
  if (code === ErrorCode.KAFKA_STORAGE_ERROR) {
    return "org.apache.kafka.common.errors.KafkaStorageException";
  }
  return errorName(code);
}

const splitList = (v: unknown) =>
  String(v ?? "").split(",").map((x) => x.trim()).filter((x) => x !== "");

/**
 * Runs `sluice log-dirs`.
 *
 * @param args Arguments after `log-dirs`.
 * @param io Where to write.
 * @returns The exit code: 0.
 * @throws {UsageError} On bad flags, or brokers not in the cluster.
 * @throws {KafkaError} When a broker cannot be reached or refuses the request.
 */
export async function runLogDirs(args: string[], io: CommandIo): Promise<number> {
  const { values } = parseFlags(args, {
    ...COMMAND_CONFIG_OPTION,
    "bootstrap-server": { type: "string", default: "localhost:9092" },
    describe: { type: "boolean" },
    "topic-list": { type: "string" },
    "broker-list": { type: "string" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    io.stdout(LOG_DIRS_HELP);
    return 0;
  }
  if (!values.describe) throw new UsageError("Missing required argument --describe");
  const topics = new Set(splitList(values["topic-list"]));
  const asked = splitList(values["broker-list"]).map((b) => {
    if (!/^\d+$/.test(b)) {
      throw new UsageError(
        `invalid --broker-list "${values["broker-list"]}": expected ids like 1,2`,
      );
    }
    return Number(b);
  });
  const client = new Client({
    ...(await commandConfig(values["command-config"])),
    bootstrapServers: values["bootstrap-server"] as string,
    clientId: "log-dirs-tool",
  });
  try {
    const admin = new Admin(client);
    const cluster = (await admin.describeCluster()).brokers.map((b) => b.nodeId)
      .sort((a, b) => a - b);
    const missing = [...new Set(asked)].filter((b) => !cluster.includes(b)).sort((a, b) => a - b);
    if (missing.length > 0) {
      throw new UsageError(
        `ERROR: The given brokers do not exist from --broker-list: ${missing.join(",")}. ` +
          `Current existent brokers: ${cluster.join(",")}`,
      );
    }
    const brokers = asked.length === 0 ? cluster : [...new Set(asked)].sort((a, b) => a - b);
    io.stdout("Querying brokers for log directories information\n");
    const described = await Promise.all(brokers.map((b) => admin.describeLogDirDescriptions(b)));
    io.stdout(`Received log directory information from brokers ${brokers.join(",")}\n`);
    // Kafka's key order (its tool writes Java HashMaps, whose order these are)
    const json = {
      brokers: brokers.map((broker, i) => ({
        broker,
        logDirs: described[i].map((d) => ({
          partitions: d.replicas
            .filter((r) => topics.size === 0 || topics.has(r.topic))
            .sort((a, b) =>
              a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition
            )
            .map((r) => ({
              partition: `${r.topic}-${r.partition}`,
              size: r.size,
              offsetLag: r.offsetLag,
              isFuture: r.isFuture,
            })),
          error: errorClass(d.errorCode),
          logDir: d.logDir,
        })),
      })),
      version: 1,
    };
    io.stdout(JSON.stringify(json) + "\n");
    return 0;
  } finally {
    client.close();
  }
}
