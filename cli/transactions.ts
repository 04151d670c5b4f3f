// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * `sluice transactions`: what Kafka's `kafka-transactions.sh` (`TransactionsCommand`) does, with
 * its sub-commands, flags and tables: `list` (ListTransactions on every broker), `describe`
 * (DescribeTransactions at the coordinator), `describe-producers` (DescribeProducers at the
 * leader), `find-hanging` (open transactions on partitions whose coordinator does not count them
 * in a transaction any more) and `abort` (an ABORT marker written with WriteTxnMarkers, which
 * needs CLUSTER_ACTION on the cluster).
 *
 * Tables are printed as Kafka's tool prints them: each column padded to its widest cell and
 * followed by a tab.
 *
 * @module
 */

import {
  Admin,
  type PartitionProducers,
  type ProducerState,
  type TopicPartition,
} from "../client/admin.ts";
import { Client } from "../client/client.ts";
import { ErrorCode, KafkaError } from "../protocol/errors.ts";
import { parseFlags, parseIntFlag, UsageError } from "./args.ts";
import { COMMAND_CONFIG_HELP, COMMAND_CONFIG_OPTION, commandConfig } from "./command_config.ts";
import type { CommandIo } from "./io.ts";

/** Help text of `sluice transactions`. */
export const TRANSACTIONS_HELP: string =
  `Usage: sluice transactions [--bootstrap-server HOST:PORT] [--command-config FILE] COMMAND [OPTIONS]

Analyse the transactional state of producers and recover from hanging transactions
(kafka-transactions.sh's commands and flags).

Commands:
  list                     List transactions (every broker's coordinator)
  describe --transactional-id ID
                           Describe the state of an active transactional id
  describe-producers --topic T --partition P [--broker-id N]
                           The producers a partition's leader (or broker N) has state for
  find-hanging (--broker-id N | --topic T [--partition P]) [--max-transaction-timeout MIN]
                           Open transactions older than MIN minutes (default 15) that their
                           coordinator does not hold open on that partition
  abort --topic T --partition P (--start-offset O |
        --producer-id ID --producer-epoch E --coordinator-epoch C)
                           Abort a hanging transaction (writes an ABORT marker; needs
                           CLUSTER_ACTION on the cluster)

Options:
  --bootstrap-server LIST  Brokers to connect to (default localhost:9092)
${COMMAND_CONFIG_HELP}  -h, --help               Show this help
`;

const COMMANDS = ["list", "describe", "describe-producers", "find-hanging", "abort"];

/**
 * Prints rows as Kafka's `TransactionsCommand.prettyPrintTable`: every cell padded to its
 * column's widest cell (header included) and followed by a tab.
 *
 * @example
 * ```ts
 * import { kafkaToolTable } from "./transactions.ts";
 * kafkaToolTable(["A", "BB"], [["xyz", "1"]]); // "A  \tBB\t\nxyz\t1 \t\n"
 * ```
 *
 * @param headers The header row.
 * @param rows The rows, each as long as `headers`.
 * @returns The table's lines, each ending with a newline.
 */
export function kafkaToolTable(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  return [headers, ...rows]
    .map((r) => r.map((c, i) => c.padEnd(widths[i]) + "\t").join("") + "\n")
    .join("");
}

/**
 * Runs `sluice transactions`.
 *
 * @param args Arguments after `transactions`.
 * @param io Where to write.
 * @param now The clock (ms), for durations; tests may fix it.
 * @returns The exit code: 0.
 * @throws {UsageError} On bad flags.
 * @throws {Error} When the broker cannot be reached or refuses a request, with Kafka's wording
 *   (`Failed to describe transaction state of transactional-id ...`).
 */
export async function runTransactions(
  args: string[],
  io: CommandIo,
  now: () => number = Date.now,
): Promise<number> {
  const { values, positionals } = parseFlags(args, {
    ...COMMAND_CONFIG_OPTION,
    "bootstrap-server": { type: "string", default: "localhost:9092" },
    "transactional-id": { type: "string" },
    topic: { type: "string" },
    partition: { type: "string" },
    "broker-id": { type: "string" },
    "max-transaction-timeout": { type: "string" },
    "start-offset": { type: "string" },
    "producer-id": { type: "string" },
    "producer-epoch": { type: "string" },
    "coordinator-epoch": { type: "string" },
    help: { type: "boolean", short: "h" },
  }, true);
  if (values.help) {
    io.stdout(TRANSACTIONS_HELP);
    return 0;
  }
  if (positionals.length !== 1 || !COMMANDS.includes(positionals[0])) {
    throw new UsageError(
      positionals.length === 0
        ? `a command is required (${COMMANDS.join(", ")})`
        : `unknown command "${positionals.join(" ")}" (expected ${COMMANDS.join(", ")})`,
    );
  }
  const command = positionals[0];
  const allowed: Record<string, string[]> = {
    list: [],
    describe: ["transactional-id"],
    "describe-producers": ["topic", "partition", "broker-id"],
    "find-hanging": ["topic", "partition", "broker-id", "max-transaction-timeout"],
    abort: [
      "topic",
      "partition",
      "start-offset",
      "producer-id",
      "producer-epoch",
      "coordinator-epoch",
    ],
  };
  for (const name of Object.keys(values)) {
    if (["bootstrap-server", "command-config", "help"].includes(name)) continue;
    if (values[name] !== undefined && !allowed[command].includes(name)) {
      throw new UsageError(`${command} does not take --${name}`);
    }
  }
  const partition = parseIntFlag(values.partition, "--partition", 0);
  const brokerId = parseIntFlag(values["broker-id"], "--broker-id", 0);
  const topic = values.topic as string | undefined;
  const need = (name: string) => {
    if (values[name] === undefined) {
      throw new UsageError(`${command} needs --${name}`);
    }
  };
  if (command === "describe") need("transactional-id");
  if (command === "describe-producers" || command === "abort") {
    need("topic");
    need("partition");
  }
  if (command === "find-hanging") {
    if (topic === undefined && brokerId === undefined) {
      throw new UsageError(
        "The `find-hanging` command requires either --topic or --broker-id to limit the scope of the search",
      );
    }
    if (partition !== undefined && topic === undefined) {
      throw new UsageError("The --partition argument requires --topic to be provided");
    }
  }
  const maxTimeoutMin = parseIntFlag(
    values["max-transaction-timeout"],
    "--max-transaction-timeout",
    0,
  ) ?? 15;
  const startOffset = parseIntFlag(values["start-offset"], "--start-offset", 0);
  const producerId = parseIntFlag(values["producer-id"], "--producer-id", 0);
  const producerEpoch = parseIntFlag(values["producer-epoch"], "--producer-epoch", 0);
  const coordinatorEpoch = parseIntFlag(values["coordinator-epoch"], "--coordinator-epoch", -1);
  if (command === "abort") {
    if (startOffset === undefined && producerId === undefined) {
      throw new UsageError(
        "The transaction to abort must be identified either with --start-offset or with " +
          "--producer-id, --producer-epoch, and --coordinator-epoch",
      );
    }
    if (startOffset !== undefined && producerId !== undefined) {
      throw new UsageError("--start-offset and --producer-id cannot be given together");
    }
    if (startOffset === undefined) {
      if (producerEpoch === undefined) {
        throw new UsageError("Missing required argument --producer-epoch");
      }
      if (producerEpoch > 32767) {
        throw new UsageError(`invalid --producer-epoch "${producerEpoch}": expected at most 32767`);
      }
      if (coordinatorEpoch === undefined) {
        throw new UsageError("Missing required argument --coordinator-epoch");
      }
    }
  }
  const client = new Client({
    ...(await commandConfig(values["command-config"])),
    bootstrapServers: values["bootstrap-server"] as string,
    clientId: "sluice-transactions",
  });
  try {
    const admin = new Admin(client);
    switch (command) {
      case "list":
        io.stdout(await list(admin));
        break;
      case "describe":
        io.stdout(await describe(admin, values["transactional-id"] as string, now));
        break;
      case "describe-producers":
        io.stdout(
          await describeProducers(admin, { topic: topic!, partition: partition! }, brokerId),
        );
        break;
      case "find-hanging":
        io.stdout(
          await findHanging(admin, topic, partition, brokerId, maxTimeoutMin * 60_000, now),
        );
        break;
      case "abort": {
        const tp = { topic: topic!, partition: partition! };
        let spec;
        if (startOffset !== undefined) {
          const producer = (await producersOf(admin, [tp], undefined, `partition ${tpName(tp)}`))[0]
            .activeProducers.find((p) => p.currentTransactionStartOffset === startOffset);
          if (producer === undefined) {
            throw new Error(
              `Could not find any open transactions starting at offset ${startOffset} on partition ${
                tpName(tp)
              }`,
            );
          }
          spec = {
            ...tp,
            producerId: producer.producerId,
            producerEpoch: producer.producerEpoch,
            coordinatorEpoch: Math.max(producer.coordinatorEpoch, 0),
          };
        } else {
          // a producer hanging before its first marker has coordinator epoch -1: 0 is at most
          // any epoch a coordinator can have (Kafka's tool does the same)
          spec = {
            ...tp,
            producerId: producerId!,
            producerEpoch: producerEpoch!,
            coordinatorEpoch: Math.max(coordinatorEpoch!, 0),
          };
        }
        try {
          await admin.abortTransaction(spec);
        } catch (e) {
          throw failed(
            `Failed to abort transaction {topicPartition=${
              tpName(tp)
            }, producerId=${spec.producerId}, ` +
              `producerEpoch=${spec.producerEpoch}, coordinatorEpoch=${spec.coordinatorEpoch}}`,
            e,
          );
        }
        break;
      }
    }
    return 0;
  } finally {
    client.close();
  }
}

const tpName = (tp: TopicPartition) => `${tp.topic}-${tp.partition}`;

/** Kafka's `printErrorAndExit(message, cause)` wording, without the debug-logging hint. */
function failed(what: string, e: unknown): Error {
  if (e instanceof UsageError) return e;
  const detail = e instanceof KafkaError
    ? (e.reason ? `${e.reason}: ${e.errorName}` : e.errorName)
    : e instanceof Error
    ? e.message
    : String(e);
  return new Error(`${what}: ${detail}`);
}

async function list(admin: Admin): Promise<string> {
  let byBroker;
  try {
    byBroker = await admin.listTransactions();
  } catch (e) {
    throw failed("Failed to list transactions", e);
  }
  const rows: string[][] = [];
  for (const [broker, listings] of byBroker) {
    for (const l of listings) {
      rows.push([l.transactionalId, String(broker), String(l.producerId), l.state]);
    }
  }
  return kafkaToolTable(["TransactionalId", "Coordinator", "ProducerId", "TransactionState"], rows);
}

async function describe(admin: Admin, id: string, now: () => number): Promise<string> {
  let d;
  try {
    [d] = await admin.describeTransactions([id]);
  } catch (e) {
    throw failed(`Failed to describe transaction state of transactional-id \`${id}\``, e);
  }
  const started = d.transactionStartTimeMs >= 0;
  return kafkaToolTable([
    "CoordinatorId",
    "TransactionalId",
    "ProducerId",
    "ProducerEpoch",
    "TransactionState",
    "TransactionTimeoutMs",
    "CurrentTransactionStartTimeMs",
    "TransactionDurationMs",
    "TopicPartitions",
  ], [[
    String(d.coordinatorId),
    id,
    String(d.producerId),
    String(d.producerEpoch),
    d.state,
    String(d.transactionTimeoutMs),
    started ? String(d.transactionStartTimeMs) : "None",
    started ? String(now() - d.transactionStartTimeMs) : "None",
    d.topicPartitions.map(tpName).join(","),
  ]]);
}

async function producersOf(
  admin: Admin,
  partitions: TopicPartition[],
  brokerId: number | undefined,
  what: string,
): Promise<PartitionProducers[]> {
  try {
    return await admin.describeProducers(partitions, brokerId === undefined ? {} : { brokerId });
  } catch (e) {
    throw failed(`Failed to describe producers for ${what}`, e);
  }
}

async function describeProducers(
  admin: Admin,
  tp: TopicPartition,
  brokerId: number | undefined,
): Promise<string> {
  const [r] = await producersOf(
    admin,
    [tp],
    brokerId,
    `partition ${tpName(tp)} on ${brokerId === undefined ? "leader" : `broker ${brokerId}`}`,
  );
  return kafkaToolTable(
    [
      "ProducerId",
      "ProducerEpoch",
      "LatestCoordinatorEpoch",
      "LastSequence",
      "LastTimestamp",
      "CurrentTransactionStartOffset",
    ],
    r.activeProducers.map((p) => [
      String(p.producerId),
      String(p.producerEpoch),
      String(p.coordinatorEpoch),
      String(p.lastSequence),
      String(p.lastTimestamp),
      p.currentTransactionStartOffset >= 0 ? String(p.currentTransactionStartOffset) : "None",
    ]),
  );
}

interface OpenTransaction {
  tp: TopicPartition;
  producer: ProducerState;
}

async function findHanging(
  admin: Admin,
  topic: string | undefined,
  partition: number | undefined,
  brokerId: number | undefined,
  maxTimeoutMs: number,
  now: () => number,
): Promise<string> {
  // the partitions to search: one, a topic's, or every partition with a replica on the broker
  let partitions: TopicPartition[];
  if (topic !== undefined && partition !== undefined) {
    partitions = [{ topic, partition }];
  } else {
    let topics: string[];
    try {
      topics = topic !== undefined ? [topic] : await admin.listTopics({ includeInternal: true });
    } catch (e) {
      throw failed("Failed to list topics", e);
    }
    let described;
    try {
      described = topics.length === 0 ? [] : await admin.describeTopics(topics);
    } catch (e) {
      throw failed(`Failed to describe ${topics.length} topics`, e);
    }
    partitions = described.flatMap((t) =>
      t.partitions
        .filter((p) => brokerId === undefined || p.replicas.includes(brokerId))
        .map((p) => ({ topic: t.name, partition: p.partition }))
    );
  }
  // open transactions older than the largest transaction timeout, in batches of 500 as Kafka's;
  const candidates: OpenTransaction[] = [];
  for (let i = 0; i < partitions.length; i += 500) {
    const batch = partitions.slice(i, i + 500);
    // asked of each partition's leader: Sluice serves DescribeProducers on leaders only (Kafka
    // asks --broker-id, which may be a follower)
    const states = await producersOf(
      admin,
      batch,
      undefined,
      `${batch.length} partitions on their leaders`,
    );
    const at = now();
    for (const s of states) {
      for (const producer of s.activeProducers) {
        if (
          producer.currentTransactionStartOffset >= 0 &&
          at - producer.lastTimestamp > maxTimeoutMs
        ) {
          candidates.push({ tp: { topic: s.topic, partition: s.partition }, producer });
        }
      }
    }
  }
  const hanging: OpenTransaction[] = [];
  if (candidates.length > 0) {
    const producerIds = [...new Set(candidates.map((c) => c.producer.producerId))];
    const ids = new Map<number, string>();
    try {
      for (const listings of (await admin.listTransactions({ producerIds })).values()) {
        for (const l of listings) {
          if (producerIds.includes(l.producerId)) ids.set(l.producerId, l.transactionalId);
        }
      }
    } catch (e) {
      throw failed(`Failed to list transactions for ${producerIds.length} producers`, e);
    }
    const descriptions = new Map<string, TopicPartition[] | null>();
    for (const id of new Set(ids.values())) {
      try {
        descriptions.set(id, (await admin.describeTransactions([id]))[0].topicPartitions);
      } catch (e) {
        if (e instanceof KafkaError && e.code === ErrorCode.TRANSACTIONAL_ID_NOT_FOUND) {
          descriptions.set(id, null);
        } else throw failed(`Failed to describe ${ids.size} transactions`, e);
      }
    }
    for (const c of candidates) {
      const id = ids.get(c.producer.producerId);
      const held = id === undefined ? null : descriptions.get(id) ?? null;
      // a partition the coordinator still lists will get its marker; any other is hanging
      if (
        held === null ||
        !held.some((tp) => tp.topic === c.tp.topic && tp.partition === c.tp.partition)
      ) {
        hanging.push(c);
      }
    }
  }
  const at = now();
  return kafkaToolTable(
    [
      "Topic",
      "Partition",
      "ProducerId",
      "ProducerEpoch",
      "CoordinatorEpoch",
      "StartOffset",
      "LastTimestamp",
      "Duration(min)",
    ],
    hanging.map(({ tp, producer: p }) => [
      tp.topic,
      String(tp.partition),
      String(p.producerId),
      String(p.producerEpoch),
      String(p.coordinatorEpoch),
      String(p.currentTransactionStartOffset),
      String(p.lastTimestamp),
      String(Math.floor((at - p.lastTimestamp) / 60_000)),
    ]),
  );
}
