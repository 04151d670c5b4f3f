/**
 * `sluice consume`: print records like `kafka-console-consumer.sh`.
 *
 * @module
 */

import {
  Admin,
  Client,
  Consumer,
  type ConsumerRecord,
  GroupConsumer,
  type OffsetToCommit,
  type PartitionAssignment,
} from "../client/mod.ts";
import {
  isTrue,
  parseFlags,
  parseIntFlag,
  parseKeyValues,
  unescapeSeparator,
  UsageError,
} from "./args.ts";
import type { CommandIo } from "./io.ts";
import { COMMAND_CONFIG_OPTION, commandConfig } from "./command_config.ts";

/** Help text of `sluice consume`. */
export const CONSUME_HELP: string =
  `Usage: sluice consume [--bootstrap-server HOST:PORT] --topic T [OPTIONS]

Prints one record value per line. Without --from-beginning (or --offset) only records produced
after start-up are printed. Ends after --max-messages records or --timeout-ms without records,
then prints "Processed a total of N messages" on stderr.

Options:
  --bootstrap-server LIST          Brokers to connect to (default localhost:9092)
  --command-config FILE            Client properties: security.protocol, ssl.*, sasl.*
                                   (alias --consumer.config)
  --topic T                        Topic to read (required)
  --group G                        Join consumer group G: its members share the partitions, and
                                   the offsets of printed records are committed; starts at the
                                   committed offsets (--from-beginning: earliest when none)
  --group-protocol P               With --group: classic (JoinGroup/SyncGroup, the default) or
                                   consumer (KIP-848: the broker assigns the partitions)
  --from-beginning                 Start at the earliest offset
  --partition P                    Read only partition P
  --offset O                       With --partition: an offset, earliest or latest (default latest)
  --client-rack RACK               The consumer's rack (client.rack, KIP-392): a leader with
                                   replica.selector.class set may send it to a follower in RACK
  --max-messages N                 Exit after N records
  --timeout-ms MS                  Exit when no record arrives for MS milliseconds
  --property print.key=true        Also print keys (print.offset, print.partition,
                                   print.timestamp, print.headers likewise)
  --property key.separator=S       Separator between printed fields (default a tab)
  --property line.separator=S      Line terminator (default \\n)
  -h, --help                       Show this help
`;

/** What {@linkcode formatRecord} prints. */
export interface FormatOptions {
  /** Print `CreateTime:<ms>`. */
  printTimestamp?: boolean;
  /** Print `Partition:<p>`. */
  printPartition?: boolean;
  /** Print `Offset:<o>`. */
  printOffset?: boolean;
  /** Print headers as `k:v,k2:v2` (or `NO_HEADERS`). */
  printHeaders?: boolean;
  /** Print the key. */
  printKey?: boolean;
  /** Print the value (default true). */
  printValue?: boolean;
  /** Field separator (default tab). */
  keySeparator?: string;
  /** Line terminator (default `\n`). */
  lineSeparator?: string;
}

const decoder = new TextDecoder();
const text = (b: Uint8Array | null): string => b === null ? "null" : decoder.decode(b);

/**
 * Formats a record the way Kafka's `DefaultMessageFormatter` does.
 *
 * @example
 * ```ts
 * import { formatRecord } from "./consume.ts";
 * const te = new TextEncoder();
 * formatRecord({
 *   topic: "t", partition: 0, offset: 3, timestamp: 5, key: te.encode("k"),
 *   value: te.encode("v"), headers: [], leaderEpoch: 0,
 * }, { printKey: true, printOffset: true }); // "Offset:3\tk\tv\n"
 * ```
 *
 * @param r The record.
 * @param o What to print.
 * @returns The line, with its terminator.
 */
export function formatRecord(r: ConsumerRecord, o: FormatOptions): string {
  const sep = o.keySeparator ?? "\t";
  const fields: string[] = [];
  if (o.printTimestamp) fields.push(`CreateTime:${r.timestamp}`);
  if (o.printPartition) fields.push(`Partition:${r.partition}`);
  if (o.printOffset) fields.push(`Offset:${r.offset}`);
  if (o.printHeaders) {
    fields.push(
      r.headers.length === 0
        ? "NO_HEADERS"
        : r.headers.map((h) => `${h.key}:${text(h.value)}`).join(","),
    );
  }
  if (o.printKey) fields.push(text(r.key));
  if (o.printValue ?? true) fields.push(text(r.value));
  return fields.join(sep) + (o.lineSeparator ?? "\n");
}

/**
 * Runs `sluice consume`.
 *
 * @param args Arguments after `consume`.
 * @param io Where to print.
 * @param signal Aborting it stops consuming (SIGINT in the CLI).
 * @returns The exit code.
 * @throws {UsageError} On bad flags.
 * @throws {KafkaError} When the topic does not exist or a fetch fails.
 */
export async function runConsume(
  args: string[],
  io: CommandIo,
  signal?: AbortSignal,
): Promise<number> {
  const { values } = parseFlags(args, {
    ...COMMAND_CONFIG_OPTION,
    "bootstrap-server": { type: "string", default: "localhost:9092" },
    "consumer.config": { type: "string" },
    topic: { type: "string" },
    group: { type: "string" },
    "group-protocol": { type: "string" },
    "from-beginning": { type: "boolean" },
    partition: { type: "string" },
    offset: { type: "string" },
    "max-messages": { type: "string" },
    "timeout-ms": { type: "string" },
    "client-rack": { type: "string" },
    property: { type: "string", multiple: true },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    io.stdout(CONSUME_HELP);
    return 0;
  }
  const topic = values.topic as string | undefined;
  if (!topic) throw new UsageError("--topic is required");
  const partition = parseIntFlag(values.partition, "--partition", 0);
  const maxMessages = parseIntFlag(values["max-messages"], "--max-messages", 1);
  const timeoutMs = parseIntFlag(values["timeout-ms"], "--timeout-ms", 0);
  const offsetText = values.offset as string | undefined;
  if (offsetText !== undefined && partition === undefined) {
    throw new UsageError("--offset needs --partition");
  }
  if (offsetText !== undefined && values["from-beginning"]) {
    throw new UsageError("--offset and --from-beginning cannot be used together");
  }
  const group = values.group as string | undefined;
  if (group !== undefined && group === "") throw new UsageError("--group needs a non-empty id");
  if (group !== undefined && partition !== undefined) {
    throw new UsageError("--group and --partition cannot be used together");
  }
  const groupProtocol = values["group-protocol"] as string | undefined;
  if (groupProtocol !== undefined) {
    if (groupProtocol !== "classic" && groupProtocol !== "consumer") {
      throw new UsageError(
        `invalid --group-protocol "${groupProtocol}": expected classic or consumer`,
      );
    }
    if (group === undefined) throw new UsageError("--group-protocol needs --group");
  }
  let start: number | "earliest" | "latest" = values["from-beginning"] ? "earliest" : "latest";
  if (offsetText !== undefined) {
    if (offsetText === "earliest" || offsetText === "latest") start = offsetText;
    else if (/^\d+$/.test(offsetText) && Number.isSafeInteger(Number(offsetText))) {
      start = Number(offsetText);
    } else {
      throw new UsageError(
        `invalid --offset "${offsetText}": expected a non-negative integer, earliest or latest`,
      );
    }
  }
  const clientRack = values["client-rack"] as string | undefined;
  if (clientRack !== undefined && clientRack === "") {
    throw new UsageError("--client-rack needs a non-empty rack");
  }
  const props = parseKeyValues(values.property as string[] | undefined, "--property");
  const format: FormatOptions = {
    printTimestamp: isTrue(props["print.timestamp"]),
    printPartition: isTrue(props["print.partition"]),
    printOffset: isTrue(props["print.offset"]),
    printHeaders: isTrue(props["print.headers"]),
    printKey: isTrue(props["print.key"]),
    printValue: props["print.value"] === undefined ? true : isTrue(props["print.value"]),
    keySeparator: unescapeSeparator(props["key.separator"] ?? "\t"),
    lineSeparator: unescapeSeparator(props["line.separator"] ?? "\n"),
  };

  const client = new Client({
    ...(await commandConfig(
      values["command-config"] ?? values["consumer.config"],
      values["command-config"] === undefined ? "--consumer.config" : "--command-config",
    )),
    bootstrapServers: values["bootstrap-server"] as string,
    clientId: "sluice-consumer",
  });
  if (group !== undefined) {
    return await consumeGroup(client, topic, group, start === "earliest", {
      io,
      format,
      maxMessages,
      timeoutMs,
      signal,
      clientRack,
      groupProtocol: groupProtocol as "classic" | "consumer" | undefined,
    });
  }
  const consumer = new Consumer(client, { maxWaitMs: 500, clientRack });
  let count = 0;
  try {
    let partitions: number[];
    if (partition !== undefined) partitions = [partition];
    else {
      const [description] = await new Admin(client).describeTopics([topic]);
      partitions = description.partitions.map((p) => p.partition);
    }
    const assignment: PartitionAssignment[] = partitions.map((p) => ({
      topic,
      partition: p,
      offset: start,
    }));
    await consumer.assign(assignment);
    let idleSince = Date.now();
    while (!signal?.aborted) {
      if (maxMessages !== undefined && count >= maxMessages) break;
      if (timeoutMs !== undefined && Date.now() - idleSince >= timeoutMs) break;
      const waitMs = timeoutMs === undefined
        ? 500
        : Math.max(0, Math.min(500, timeoutMs - (Date.now() - idleSince)));
      const records = await consumer.poll({ maxWaitMs: waitMs, signal });
      if (records.length > 0) idleSince = Date.now();
      let out = "";
      for (const r of records) {
        if (maxMessages !== undefined && count >= maxMessages) break;
        out += formatRecord(r, format);
        count++;
      }
      if (out) io.stdout(out);
    }
  } finally {
    await consumer.close().catch(() => {});
    await client.close();
  }
  io.stderr(`Processed a total of ${count} messages\n`);
  return 0;
}

interface LoopOptions {
  io: CommandIo;
  format: FormatOptions;
  maxMessages?: number;
  timeoutMs?: number;
  signal?: AbortSignal;
  clientRack?: string;
  groupProtocol?: "classic" | "consumer";
}

/** `--group`: consume as a group member, committing the offsets of printed records. */
async function consumeGroup(
  client: Client,
  topic: string,
  group: string,
  fromBeginning: boolean,
  o: LoopOptions,
): Promise<number> {
  const consumer = new GroupConsumer(client, {
    groupId: group,
    autoCommit: false,
    autoOffsetReset: fromBeginning ? "earliest" : "latest",
    heartbeatIntervalMs: 1000,
    clientRack: o.clientRack,
    groupProtocol: o.groupProtocol,
  });
  const printed = new Map<string, OffsetToCommit>();
  const commit = async () => {
    if (printed.size === 0) return;
    const offsets = [...printed.values()];
    printed.clear();
    await consumer.commit(offsets).catch(() => {/* the group rebalanced: re-delivered later */});
  };
  let count = 0;
  try {
    await new Admin(client).describeTopics([topic]); // a missing topic fails in one line
    consumer.subscribe([topic]);
    let idleSince = Date.now();
    let lastCommit = Date.now();
    while (!o.signal?.aborted) {
      if (o.maxMessages !== undefined && count >= o.maxMessages) break;
      if (o.timeoutMs !== undefined && Date.now() - idleSince >= o.timeoutMs) break;
      const waitMs = o.timeoutMs === undefined
        ? 500
        : Math.max(0, Math.min(500, o.timeoutMs - (Date.now() - idleSince)));
      const records = await consumer.poll({ maxWaitMs: waitMs, signal: o.signal });
      if (records.length > 0) idleSince = Date.now();
      let out = "";
      for (const r of records) {
        if (o.maxMessages !== undefined && count >= o.maxMessages) break;
        out += formatRecord(r, o.format);
        printed.set(`${r.topic}\u0000${r.partition}`, {
          topic: r.topic,
          partition: r.partition,
          offset: r.offset + 1,
          leaderEpoch: r.leaderEpoch, // committed_leader_epoch (KIP-320)
        });
        count++;
      }
      if (out) o.io.stdout(out);
      if (Date.now() - lastCommit >= 5_000) {
        await commit();
        lastCommit = Date.now();
      }
    }
    await commit();
  } finally {
    await consumer.close().catch(() => {});
    await client.close();
  }
  o.io.stderr(`Processed a total of ${count} messages\n`);
  return 0;
}
