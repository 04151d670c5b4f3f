// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * `sluice dump-log`: Kafka's `kafka-dump-log.sh` (`DumpLogSegments`) on a data directory's files,
 * offline, with its flags and output (`server/dump_log.ts` does the work).
 *
 * @module
 */

import { parseFlags, parseIntFlag, UsageError } from "./args.ts";
import type { CommandIo } from "./io.ts";

/** Help text of `sluice dump-log`. */
export const DUMP_LOG_HELP: string = `Usage: sluice dump-log --files FILE[,FILE...] [OPTIONS]

Print the contents of a partition's files, offline, as kafka-dump-log.sh does: .log (record
batches; records with --deep-iteration), .index and .timeindex (entries checked against the
.log beside them), .txnindex (aborted transactions), .snapshot (producer state) and
leader-epoch-checkpoint. Exit code 1 when something does not check out (a CRC mismatch shown as
"isvalid: false", invalid bytes at a log's end, index entries not matching the log, a corrupt
file).

Options:
  --files LIST              REQUIRED: comma-separated files to dump
  --print-data-log          Print record keys and values (implies --deep-iteration)
  --deep-iteration          Print every record, not only batches
  --skip-record-metadata    Leave out each record's offset, timestamp, sizes and sequence
  --verify-index-only       Check index entries against the log without printing them
  --index-sanity-check      Only check the index files are sane (what a broker checks at start)
  --max-bytes N             Read at most N bytes of each .log file
  --max-message-size N      Accepted for compatibility (the whole batch is always read)
  --offsets-decoder         Decode records as __consumer_offsets records (JSON)
  --transaction-log-decoder Decode records as __transaction_state records
  -h, --help                Show this help
`;

/**
 * Runs `sluice dump-log`. Needs `--allow-read` for the files.
 *
 * @param args Arguments after `dump-log`.
 * @param io Where to write.
 * @returns 0 when every file checked out, 1 otherwise.
 * @throws {UsageError} On bad flags, or a file that cannot be read.
 */
export async function runDumpLog(args: string[], io: CommandIo): Promise<number> {
  const { values } = parseFlags(args, {
    files: { type: "string" },
    "print-data-log": { type: "boolean" },
    "deep-iteration": { type: "boolean" },
    "skip-record-metadata": { type: "boolean" },
    "verify-index-only": { type: "boolean" },
    "index-sanity-check": { type: "boolean" },
    "max-bytes": { type: "string" },
    "max-message-size": { type: "string" },
    "offsets-decoder": { type: "boolean" },
    "transaction-log-decoder": { type: "boolean" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    io.stdout(DUMP_LOG_HELP);
    return 0;
  }
  const files = String(values.files ?? "").split(",").map((f) => f.trim()).filter((f) => f);
  if (files.length === 0) throw new UsageError("Missing required argument --files");
  if (values["offsets-decoder"] && values["transaction-log-decoder"]) {
    throw new UsageError(
      "--offsets-decoder and --transaction-log-decoder cannot be given together",
    );
  }
  const maxBytes = parseIntFlag(values["max-bytes"], "--max-bytes", 1);
  parseIntFlag(values["max-message-size"], "--max-message-size", 1);
  for (const f of files) {
    let info;
    try {
      info = await Deno.stat(f);
    } catch (e) {
      throw new UsageError(`cannot read ${f}: ${e instanceof Error ? e.message : e}`);
    }
    if (!info.isFile) throw new UsageError(`cannot read ${f}: not a file`);
  }
  const { dumpLogFiles } = await import("../server/dump_log.ts");
  const ok = await dumpLogFiles(files, {
    printDataLog: values["print-data-log"] === true,
    deepIteration: values["deep-iteration"] === true,
    skipRecordMetadata: values["skip-record-metadata"] === true,
    verifyIndexOnly: values["verify-index-only"] === true,
    indexSanityCheck: values["index-sanity-check"] === true,
    ...(maxBytes === undefined ? {} : { maxBytes }),
    ...(values["offsets-decoder"]
      ? { decoder: "offsets" as const }
      : values["transaction-log-decoder"]
      ? { decoder: "transaction-log" as const }
      : {}),
  }, io);
  return ok ? 0 : 1;
}
