/**
 * The `sluice` command line: `broker`, `topics`, `produce`, `consume`, `groups`, `cluster`,
 * `users`, `acls`, `configs`, `connect`, and Kafka's operator tools `transactions`, `log-dirs`,
 * `delete-records`, `get-offsets` and `dump-log`.
 *
 * Bad input is reported as one line on stderr with exit code 2 (usage) or 1 (runtime failure),
 * never a stack trace.
 *
 * @example
 * ```sh
 * deno run -A cli/main.ts topics --create --topic teste --partitions 1
 * echo Teste123 | deno run -A cli/main.ts produce --topic teste
 * deno run -A cli/main.ts consume --topic teste --from-beginning --max-messages 1
 * ```
 *
 * @module
 */

import { UsageError } from "./args.ts";
import { type CommandIo, processIo } from "./io.ts";

export type { CommandIo } from "./io.ts";

/** Top-level help. */
export const MAIN_HELP: string = `Usage: sluice COMMAND [OPTIONS]

Commands:
  broker    Run a Sluice broker
  topics    Create, list, describe, delete and alter topics
  produce   Send standard-input lines as records
  consume   Print records
  groups    List, describe, reset offsets of and delete consumer groups
  cluster   List brokers, the controller, under-replicated and offline partitions;
            elect leaders, reassign partitions, decommission a broker
  users     Add, describe and delete users' SCRAM credentials
  acls      Add, list and remove ACLs (kafka-acls.sh's flags)
  configs   Set, remove and describe client quotas and client metrics subscriptions
            (kafka-configs.sh's flags)
  connect   Run a Kafka Connect worker (standalone or distributed) with its REST API
  transactions
            List and describe transactions and producers; find and abort hanging
            transactions (kafka-transactions.sh)
  log-dirs  Describe brokers' log directories and partition sizes (kafka-log-dirs.sh)
  delete-records
            Delete records below offsets from a JSON file (kafka-delete-records.sh)
  get-offsets
            Print topic:partition:offset at a time (kafka-get-offsets.sh)
  dump-log  Print a partition's segment, index and snapshot files, offline
            (kafka-dump-log.sh)

Run "sluice COMMAND --help" for a command's options.
`;

/**
 * Runs the CLI with `args` and returns the exit code; errors are printed as one line.
 *
 * @param args Command-line arguments.
 * @param io Where to read and write (defaults to the process's streams).
 * @returns The exit code: 0 on success, 1 on failure, 2 on bad usage.
 */
export async function main(args: string[], io: CommandIo = processIo()): Promise<number> {
  const [command, ...rest] = args;
  try {
    switch (command) {
      case undefined:
      case "-h":
      case "--help":
      case "help":
        io.stdout(MAIN_HELP);
        return command === undefined ? 2 : 0;
      case "broker": {
        const { runBroker } = await import("./broker.ts");
        return await runBroker(rest, io);
      }
      case "topics": {
        const { runTopics } = await import("./topics.ts");
        return await runTopics(rest, io);
      }
      case "produce": {
        const { runProduce } = await import("./produce.ts");
        return await runProduce(rest, io);
      }
      case "groups": {
        const { runGroups } = await import("./groups.ts");
        return await runGroups(rest, io);
      }
      case "cluster": {
        const { runCluster } = await import("./cluster.ts");
        return await runCluster(rest, io);
      }
      case "users": {
        const { runUsers } = await import("./users.ts");
        return await runUsers(rest, io);
      }
      case "acls": {
        const { runAcls } = await import("./acls.ts");
        return await runAcls(rest, io);
      }
      case "configs": {
        const { runConfigs } = await import("./configs.ts");
        return await runConfigs(rest, io);
      }
      case "connect": {
        const { runConnect } = await import("./connect.ts");
        return await runConnect(rest, io);
      }
      case "log-dirs": {
        const { runLogDirs } = await import("./log_dirs.ts");
        return await runLogDirs(rest, io);
      }
      case "delete-records": {
        const { runDeleteRecords } = await import("./delete_records.ts");
        return await runDeleteRecords(rest, io);
      }
      case "get-offsets": {
        const { runGetOffsets } = await import("./get_offsets.ts");
        return await runGetOffsets(rest, io);
      }
      case "dump-log": {
        const { runDumpLog } = await import("./dump_log.ts");
        return await runDumpLog(rest, io);
      }
      case "transactions": {
        const { runTransactions } = await import("./transactions.ts");
        return await runTransactions(rest, io);
      }
      case "consume": {
        const { runConsume } = await import("./consume.ts");
        const controller = new AbortController();
        const onSignal = () => controller.abort();
        Deno.addSignalListener("SIGINT", onSignal);
        try {
          return await runConsume(rest, io, controller.signal);
        } finally {
          Deno.removeSignalListener("SIGINT", onSignal);
        }
      }
      default:
        throw new UsageError(
          `unknown command "${command}" (expected broker, topics, produce, consume, groups, cluster, users, acls, configs, connect, transactions, log-dirs, delete-records, get-offsets or dump-log)`,
        );
    }
  } catch (e) {
    let message: string | undefined;
    if (command !== "broker" && command !== "dump-log" && !(e instanceof UsageError)) {
      const { bootstrapOf, unreachableMessage } = await import("./unreachable.ts");
      message = await unreachableMessage(e, bootstrapOf(rest));
    }
    message ??= e instanceof Error ? e.message : String(e);
    io.stderr(`sluice${command ? " " + command : ""}: ${message.split("\n")[0]}\n`);
    return e instanceof UsageError ? 2 : 1;
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
