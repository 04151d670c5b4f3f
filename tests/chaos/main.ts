// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * `deno task chaos`: the crash harness from the command line. Prints one line per kill and a
 * final table; exits 1 when any acknowledged record was lost, duplicated, moved or reordered, or
 * anything else failed. See docs/RELIABILITY.md.
 *
 * ```sh
 * deno task chaos                       # the full run (see --help for the defaults)
 * deno task chaos --kills 3 --bytes-per-partition 16MiB --fsync off --seed 7
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import {
  type ChaosOptions,
  type ChaosResult,
  DEFAULT_SEGMENT_BYTES,
  formatSize,
  parseSize,
  runChaos,
  type ScenarioResult,
} from "./harness.ts";
import { PRODUCER_KINDS, type ProducerKind } from "./producers.ts";

const HELP = `Usage: deno task chaos [OPTIONS]

SIGKILLs a Sluice broker process at seeded random moments while confluent-kafka and Sluice's own
client produce (idempotent, acks=all), restarts it on the same data directory and port, and checks
that every acknowledged record is present exactly once, at its offset, in order.

Options (defaults: the full run of docs/RELIABILITY.md):
  --seed N                   Seed of every random choice (default: random, printed)
  --kills N                  SIGKILLs per fsync mode (default 50)
  --fsync LIST               on, off or on,off: one scenario each (default on,off)
  --segment-bytes LIST       One topic per size (default 1MiB,16MiB,1GiB; 1GiB is the default)
  --partitions N             Partitions per topic (default 2)
  --bytes-per-partition SIZE Acknowledged bytes each partition reaches (default 64MiB)
  --record-bytes N           Value size (default 1000)
  --batch-records N          Records per batch of Sluice's producer (default 32)
  --producers LIST           confluent and/or sluice, repeatable (default confluent,sluice)
  --recovery-kill-ratio R    Share of kills made while the broker recovers (default 0.1)
  --max-seconds N            Bound on each fsync mode (default 3600)
  --no-kcat                  Do not read the partitions a second time with kcat
  --dir DIR                  Keep the run under DIR (default: a temporary directory)
  --keep                     Keep data and logs even when everything passed
  --json FILE                Also write the results as JSON
  -h, --help                 Show this help
`;

function list<T>(text: string, parse: (s: string) => T): T[] {
  const items = text.split(",").map((s) => s.trim()).filter((s) => s !== "");
  if (items.length === 0) throw new RangeError(`invalid list "${text}"`);
  return items.map(parse);
}

function int(name: string, text: string, min: number): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < min) {
    throw new RangeError(`invalid --${name} "${text}": expected an integer ≥ ${min}`);
  }
  return n;
}

/**
 * Parses the command line into harness options.
 *
 * @param args Command-line arguments.
 * @param log Where progress lines go.
 * @returns The options, or `undefined` after printing help.
 * @throws {RangeError} On an unknown flag or a bad value.
 */
export function parseChaosArgs(
  args: string[],
  log: (line: string) => void,
): (ChaosOptions & { json?: string }) | undefined {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        seed: { type: "string" },
        kills: { type: "string", default: "50" },
        fsync: { type: "string", default: "on,off" },
        "segment-bytes": { type: "string", default: "1MiB,16MiB,1GiB" },
        partitions: { type: "string", default: "2" },
        "bytes-per-partition": { type: "string", default: "64MiB" },
        "record-bytes": { type: "string", default: "1000" },
        "batch-records": { type: "string", default: "32" },
        producers: { type: "string", default: "confluent,sluice" },
        "recovery-kill-ratio": { type: "string", default: "0.1" },
        "max-seconds": { type: "string", default: "3600" },
        "no-kcat": { type: "boolean", default: false },
        dir: { type: "string" },
        keep: { type: "boolean", default: false },
        json: { type: "string" },
        help: { type: "boolean", short: "h", default: false },
      },
    }));
  } catch (e) {
    throw new RangeError(e instanceof Error ? e.message : String(e));
  }
  if (values.help) return undefined;
  const ratio = Number(values["recovery-kill-ratio"]);
  if (!(ratio >= 0 && ratio <= 1)) {
    throw new RangeError(`invalid --recovery-kill-ratio "${values["recovery-kill-ratio"]}"`);
  }
  return {
    seed: values.seed === undefined
      ? Math.floor(Math.random() * 2 ** 31)
      : int("seed", values.seed, 0),
    kills: int("kills", values.kills, 0),
    fsync: list(values.fsync, (s) => {
      if (s !== "on" && s !== "off") throw new RangeError(`invalid --fsync "${s}": on or off`);
      return s === "on";
    }),
    segmentBytes: list(values["segment-bytes"], parseSize),
    partitions: int("partitions", values.partitions, 1),
    bytesPerPartition: parseSize(values["bytes-per-partition"]),
    recordBytes: int("record-bytes", values["record-bytes"], 64),
    batchRecords: int("batch-records", values["batch-records"], 1),
    producers: list(values.producers, (s) => {
      if (!PRODUCER_KINDS.includes(s as ProducerKind)) {
        throw new RangeError(`invalid --producers "${s}": ${PRODUCER_KINDS.join(" or ")}`);
      }
      return s as ProducerKind;
    }),
    recoveryKillRatio: ratio,
    maxSeconds: int("max-seconds", values["max-seconds"], 1),
    kcat: !values["no-kcat"],
    dir: values.dir,
    keep: values.keep,
    json: values.json,
    log,
  };
}

function percentile(values: number[], p: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

function secs(ms: number | undefined): string {
  return ms === undefined ? "-" : (ms / 1000).toFixed(2);
}

/** The figures of one scenario that the table and docs show. */
export function scenarioFigures(s: ScenarioResult): Record<string, string> {
  const sum = (f: (c: ScenarioResult["checks"][number]) => number) =>
    s.checks.reduce((n, c) => n + f(c), 0);
  const listen = s.cycles.flatMap((c) => c.listenMs === undefined ? [] : [c.listenMs]);
  const firstAck = s.cycles.flatMap((c) => {
    const v = Object.values(c.firstAckMs);
    return v.length === 0 ? [] : [Math.max(...v)];
  });
  const disk = Object.values(s.diskBytes);
  const recovery = s.cycles.filter((c) => c.kind === "recovery").length;
  const cut = s.cycles.filter((c) => c.recoveryLines.some((l) => /truncated/.test(l))).length;
  return {
    "scenario": s.label,
    "kills (in recovery)": `${s.cycles.length} (${recovery})`,
    "acked records": String(s.ackedRecords),
    "acked bytes": formatSize(s.ackedBytes),
    "partition on disk": disk.length === 0
      ? "-"
      : `${formatSize(Math.min(...disk))}–${formatSize(Math.max(...disk))}`,
    "lost": String(sum((c) => c.lost)),
    "misplaced": String(sum((c) => c.misplaced)),
    "dup": String(sum((c) => c.duplicates)),
    "reordered": String(sum((c) => c.reordered)),
    "gaps": String(sum((c) => c.gaps)),
    "corrupt": String(sum((c) => c.corrupt)),
    "in-flight kept": String(sum((c) => c.unackedPresent)),
    "torn tails cut": String(cut),
    "producer restarts": String(s.producerRestarts.length),
    "listen s p50/max": `${secs(percentile(listen, 0.5))}/${secs(percentile(listen, 1))}`,
    "first ack s p50/max": `${secs(percentile(firstAck, 0.5))}/${secs(percentile(firstAck, 1))}`,
    "clean restart s": secs(s.cleanRestartListenMs),
    "kcat agrees": s.kcatAgrees === undefined ? "-" : s.kcatAgrees ? "yes" : "NO",
    "result": s.failures.length === 0 ? "pass" : "FAIL",
  };
}

/**
 * Formats the final table (Markdown), one row per scenario.
 *
 * @param result The harness's result.
 * @returns The table.
 */
export function resultTable(result: ChaosResult): string {
  const rows = result.scenarios.map(scenarioFigures);
  if (rows.length === 0) return "";
  const heads = Object.keys(rows[0]);
  const widths = heads.map((h) => Math.max(h.length, ...rows.map((r) => r[h].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(" | ")} |`;
  return [
    line(heads),
    `| ${widths.map((w) => "-".repeat(w)).join(" | ")} |`,
    ...rows.map((r) => line(heads.map((h) => r[h]))),
  ].join("\n");
}

async function main(): Promise<number> {
  let options;
  try {
    options = parseChaosArgs(Deno.args, (line) => console.log(line));
  } catch (e) {
    console.error(`chaos: ${e instanceof Error ? e.message : e}`);
    return 2;
  }
  if (options === undefined) {
    console.log(HELP);
    return 0;
  }
  const segs = options.segmentBytes.map((b) =>
    b === DEFAULT_SEGMENT_BYTES ? `${formatSize(b)} (default)` : formatSize(b)
  );
  console.log(
    `chaos: seed ${options.seed}; ${options.kills} kills per fsync mode (${
      options.fsync.map((f) => f ? "on" : "off").join(", ")
    }); segment.bytes ${segs.join(", ")}; ${options.partitions} partition(s) per topic of ${
      formatSize(options.bytesPerPartition)
    }; records of ${options.recordBytes} B; producers ${options.producers.join(", ")}`,
  );
  const started = performance.now();
  const result = await runChaos(options);
  console.log("");
  console.log(resultTable(result));
  const failures = result.scenarios.flatMap((s) => s.failures.map((f) => `[${s.label}] ${f}`));
  console.log(
    `\nchaos: seed ${result.seed}, ${
      result.scenarios.reduce((n, s) => n + s.cycles.length, 0)
    } kills, ${((performance.now() - started) / 1000).toFixed(0)} s: ${
      result.ok ? "every acknowledged record survived" : `${failures.length} failure(s)`
    }`,
  );
  for (const f of failures.slice(0, 30)) console.log(`  ${f}`);
  for (const s of result.scenarios) {
    if (s.failures.length > 0) console.log(`  [${s.label}] data and logs kept in ${s.dir}`);
  }
  if (options.json) {
    await Deno.writeTextFile(options.json, JSON.stringify(result, null, 2) + "\n");
  }
  return result.ok ? 0 : 1;
}

if (import.meta.main) Deno.exit(await main());
