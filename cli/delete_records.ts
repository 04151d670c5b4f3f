// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * `sluice delete-records --offset-json-file FILE`: Kafka's `kafka-delete-records.sh`
 * (`DeleteRecordsCommand`): moves each listed partition's log start offset up to the given
 * offset (DeleteRecords; -1: the high watermark), with Kafka's JSON file and output.
 *
 * @module
 */

import { Admin } from "../client/admin.ts";
import { Client } from "../client/client.ts";
import { KafkaError } from "../protocol/errors.ts";
import { parseFlags, UsageError } from "./args.ts";
import { COMMAND_CONFIG_HELP, COMMAND_CONFIG_OPTION, commandConfig } from "./command_config.ts";
import type { CommandIo } from "./io.ts";

/** Help text of `sluice delete-records`. */
export const DELETE_RECORDS_HELP: string =
  `Usage: sluice delete-records [--bootstrap-server HOST:PORT] --offset-json-file FILE

Delete the records of partitions below the given offsets (kafka-delete-records.sh's flags and
output). The file:
  {"partitions": [{"topic": "foo", "partition": 1, "offset": 1}], "version": 1}
An offset of -1 deletes up to the high watermark.

Options:
  --bootstrap-server LIST  Brokers to connect to (default localhost:9092)
  --offset-json-file FILE  REQUIRED: the partitions and offsets
${COMMAND_CONFIG_HELP}  -h, --help               Show this help
`;

/** One partition of the offset JSON file. */
export interface RecordsToDelete {
  /** Topic. */
  topic: string;
  /** Partition. */
  partition: number;
  /** Delete the records below this offset (-1: the high watermark). */
  offset: number;
}

/**
 * Parses Kafka's offset JSON file (`version` 1, the default).
 *
 * @example
 * ```ts
 * import { parseOffsetJson } from "./delete_records.ts";
 * parseOffsetJson('{"partitions":[{"topic":"t","partition":0,"offset":3}]}');
 * // [{ topic: "t", partition: 0, offset: 3 }]
 * ```
 *
 * @param text The file's text.
 * @returns The partitions, in file order.
 * @throws {UsageError} On invalid JSON, another version, a missing or ill-typed field, or a
 *   partition listed twice.
 */
export function parseOffsetJson(text: string): RecordsToDelete[] {
  let js: unknown;
  try {
    js = JSON.parse(text);
  } catch {
    throw new UsageError("The input string is not a valid JSON");
  }
  if (js === null || typeof js !== "object" || Array.isArray(js)) {
    throw new UsageError("The input string is not a valid JSON object");
  }
  const o = js as Record<string, unknown>;
  const version = o.version ?? 1;
  if (version !== 1) throw new UsageError(`Not supported version field value ${version}`);
  if (o.partitions === undefined) throw new UsageError("Missing partitions field");
  if (!Array.isArray(o.partitions)) throw new UsageError("partitions is not an array");
  const out: RecordsToDelete[] = [];
  const seen = new Set<string>();
  const dups = new Set<string>();
  for (const [i, p] of o.partitions.entries()) {
    const e = (p ?? {}) as Record<string, unknown>;
    if (typeof e.topic !== "string" || e.topic === "") {
      throw new UsageError(`partitions[${i}]: topic must be a non-empty string`);
    }
    if (!Number.isSafeInteger(e.partition) || (e.partition as number) < 0) {
      throw new UsageError(`partitions[${i}]: partition must be an integer >= 0`);
    }
    if (!Number.isSafeInteger(e.offset) || (e.offset as number) < -1) {
      throw new UsageError(`partitions[${i}]: offset must be an integer >= -1`);
    }
    const name = `${e.topic}-${e.partition}`;
    if (seen.has(name)) dups.add(name);
    seen.add(name);
    out.push({ topic: e.topic, partition: e.partition as number, offset: e.offset as number });
  }
  if (dups.size > 0) {
    throw new UsageError(
      `Offset json file contains duplicate topic partitions: ${[...dups].join(",")}`,
    );
  }
  return out;
}

/**
 * Runs `sluice delete-records`.
 *
 * @param args Arguments after `delete-records`.
 * @param io Where to write.
 * @returns The exit code: 0, or 1 when a partition's deletion failed (printed on its line).
 * @throws {UsageError} On bad flags or a bad file.
 * @throws {KafkaError} When the broker cannot be reached.
 */
export async function runDeleteRecords(args: string[], io: CommandIo): Promise<number> {
  const { values } = parseFlags(args, {
    ...COMMAND_CONFIG_OPTION,
    "bootstrap-server": { type: "string", default: "localhost:9092" },
    "offset-json-file": { type: "string" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    io.stdout(DELETE_RECORDS_HELP);
    return 0;
  }
  const file = values["offset-json-file"];
  if (file === undefined) throw new UsageError("Missing required argument --offset-json-file");
  let text: string;
  try {
    text = await Deno.readTextFile(String(file));
  } catch (e) {
    throw new UsageError(`cannot read ${file}: ${e instanceof Error ? e.message : e}`);
  }
  const specs = parseOffsetJson(text);
  const client = new Client({
    ...(await commandConfig(values["command-config"])),
    bootstrapServers: values["bootstrap-server"] as string,
    clientId: "sluice-delete-records",
  });
  try {
    const admin = new Admin(client);
    io.stdout("Executing records delete operation\n");
    // one request per partition, so one partition's error does not hide the others' results
    const results = await Promise.allSettled(specs.map((s) => admin.deleteRecords([s])));
    io.stdout("Records delete operation completed:\n");
    let failed = false;
    for (const [i, r] of results.entries()) {
      const tp = `${specs[i].topic}-${specs[i].partition}`;
      if (r.status === "fulfilled") {
        io.stdout(`partition: ${tp}\tlow_watermark: ${r.value[0].lowWatermark}\n`);
        continue;
      }
      // a broker that cannot be reached fails the command, as any other command
      if (!(r.reason instanceof KafkaError) || r.reason.errorName === "NETWORK_EXCEPTION") {
        throw r.reason;
      }
      failed = true;
      const e = r.reason;
      io.stdout(
        `partition: ${tp}\terror: ${e.reason ? e.message.slice(e.reason.length + 2) : e.message}\n`,
      );
    }
    return failed ? 1 : 0;
  } finally {
    client.close();
  }
}
