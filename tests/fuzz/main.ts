// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * `deno task fuzz`: the protocol fuzzer from the command line. Prints progress per batch, then a
 * summary (throughput, outcomes, control-client latency, memory, open files, log classes) and,
 * for each failure, the seed and a command that replays the failing case alone; a failing case
 * that reproduces alone is minimised. Exits 1 when anything failed.
 *
 * ```sh
 * deno task fuzz --requests 1000000 --seed 1
 * deno task fuzz --seed 1 --batch-size 5000 --only 123456   # replay one case
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import { runExtreme } from "./extreme.ts";
import { minimizeCase } from "./minimize.ts";
import { type FuzzOptions, type FuzzReport, runFuzz } from "./runner.ts";

const HELP = `Usage: deno task fuzz [OPTIONS]

  --requests N            fuzzed requests to send (default 100000)
  --seed N                seed (default: random, printed)
  --batch-size N          requests per batch; checks run after each (default 5000)
  --workers N             connections sending whole frames (default 12)
  --slow-lanes N          connections doing slow/partial deliveries (default 32)
  --hang-ms N             unanswered this long = hang; control-client bound (default 10000)
  --probe-limit-ms N      control round trips slower than this are counted (default 1000)
  --strict-probe          fail when a control round trip exceeds --probe-limit-ms
  --max-rss-mb N          resident memory bound (default 1024)
  --max-open-files N      open-files bound (default 2048)
  --partition-budget N    partitions requests may create per batch (default 400)
  --max-partitions N      most partitions one CreateTopics/CreatePartitions may ask (default 64)
  --max-bytes N           largest request payload built (default 1048576)
  --heavy-share X         share of admin requests with extreme counts (default 0.002)
  --duration-s N          start no batch after this many seconds
  --only I,J,...          replay only these cases (with the run's --seed and --batch-size)
  --from-batch N          start at this batch
  --override KEY=VALUE    broker setting (repeatable)
  --keep-going            do not stop at the first failing batch
  --no-minimize           do not minimise failing cases
  --report FILE           write the report as JSON
  --broker-log FILE       append the broker's log to FILE
  --broker-cpu-prof DIR   write a V8 CPU profile of the broker into DIR
  --extreme N             instead of fuzzing: send one request of each kind with N elements
                          (topics, partitions, groups...) and report time, control latency,
                          memory and open files
  --extreme-creates       with --extreme: also CreateTopics/CreatePartitions for N partitions
                          (each on a fresh broker; large N exhausts file descriptors)
  --extreme-only TEXT     with --extreme: only the requests whose description contains TEXT
  --break MODE            fuzz a broker broken on purpose (crash, hang, throw, leak-files,
                          leak-memory; see broken_broker.ts), to see the fuzzer notice
`;

function num(v: string | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`invalid --${name}: ${v}`);
  return n;
}

/**
 * Formats a report for people.
 *
 * @param r The report.
 * @returns The summary lines.
 */
export function summary(r: FuzzReport): string[] {
  const rate = r.requests / (r.elapsedMs / 1000);
  const lines = [
    `seed ${r.seed}: ${r.requests} requests in ${r.batches} batches, ` +
    `${(r.elapsedMs / 1000).toFixed(0)} s (${rate.toFixed(0)}/s overall)`,
    `outcomes: ${Object.entries(r.outcomes).map(([k, v]) => `${k} ${v}`).join(", ")}`,
    `sources: ${Object.entries(r.sources).map(([k, v]) => `${k} ${v}`).join(", ")}`,
    `control after batches: ${r.probeIdle.count} round trips, p50 ${r.probeIdle.p50Ms} ms, ` +
    `p99 ${r.probeIdle.p99Ms} ms, max ${r.probeIdle.maxMs} ms, ${r.probeIdle.slow} over the limit, ` +
    `${r.probeIdle.failed} failed`,
    `control during batches: ${r.probeLoaded.count} round trips, p50 ${r.probeLoaded.p50Ms} ms, ` +
    `p99 ${r.probeLoaded.p99Ms} ms, max ${r.probeLoaded.maxMs} ms, ${r.probeLoaded.slow} over ` +
    `the limit, ${r.probeLoaded.failed} failed`,
    `RSS: ${mib(r.rss.start)} MiB at start, max ${mib(r.rss.max)} MiB, ${
      mib(r.rss.end)
    } MiB at end`,
    `open files: ${r.openFiles.start} at start, max ${r.openFiles.max}, ${r.openFiles.end} at end`,
    `exit code after SIGTERM: ${r.exitCode}`,
    "per API (sent / answered / closed / slowest ms):",
  ];
  for (const [name, s] of Object.entries(r.perApi).sort((a, b) => b[1].sent - a[1].sent)) {
    lines.push(
      `  ${name.padEnd(28)} ${String(s.sent).padStart(8)} ${String(s.answered).padStart(8)} ${
        String(s.closed).padStart(8)
      } ${String(s.maxMs).padStart(6)}`,
    );
  }
  lines.push("broker log (ERROR and WARN classes):");
  for (const [cls, n] of Object.entries(r.logClasses).sort((a, b) => b[1] - a[1])) {
    if (cls.startsWith("INFO") || cls === "tooling") continue;
    lines.push(`  ${String(n).padStart(8)}  ${cls}`);
  }
  return lines;
}

function mib(b: number): string {
  return (b / 2 ** 20).toFixed(0);
}

async function main(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      "requests": { type: "string" },
      "seed": { type: "string" },
      "batch-size": { type: "string" },
      "workers": { type: "string" },
      "slow-lanes": { type: "string" },
      "hang-ms": { type: "string" },
      "probe-limit-ms": { type: "string" },
      "strict-probe": { type: "boolean" },
      "max-rss-mb": { type: "string" },
      "max-open-files": { type: "string" },
      "partition-budget": { type: "string" },
      "max-partitions": { type: "string" },
      "max-bytes": { type: "string" },
      "heavy-share": { type: "string" },
      "duration-s": { type: "string" },
      "only": { type: "string" },
      "from-batch": { type: "string" },
      "override": { type: "string", multiple: true },
      "keep-going": { type: "boolean" },
      "no-minimize": { type: "boolean" },
      "report": { type: "string" },
      "broker-log": { type: "string" },
      "broker-cpu-prof": { type: "string" },
      "break": { type: "string" },
      "extreme": { type: "string" },
      "extreme-creates": { type: "boolean" },
      "extreme-only": { type: "string" },
      "help": { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (values.extreme !== undefined) {
    const results = await runExtreme({
      n: num(values.extreme, "extreme")!,
      creates: values["extreme-creates"],
      only: values["extreme-only"],
    });
    if (values.report) await Deno.writeTextFile(values.report, JSON.stringify(results, null, 2));
    return results.every((r) => r.alive) ? 0 : 1;
  }
  const seed = num(values.seed, "seed") ?? (crypto.getRandomValues(new Uint32Array(1))[0]);
  const options: FuzzOptions = {
    seed: seed >>> 0,
    requests: num(values.requests, "requests") ?? 100_000,
    batchSize: num(values["batch-size"], "batch-size"),
    workers: num(values.workers, "workers"),
    slowLanes: num(values["slow-lanes"], "slow-lanes"),
    hangMs: num(values["hang-ms"], "hang-ms"),
    probeLimitMs: num(values["probe-limit-ms"], "probe-limit-ms"),
    strictProbe: values["strict-probe"],
    maxRssMb: num(values["max-rss-mb"], "max-rss-mb"),
    maxOpenFiles: num(values["max-open-files"], "max-open-files"),
    partitionBudget: num(values["partition-budget"], "partition-budget"),
    maxPartitionsPerRequest: num(values["max-partitions"], "max-partitions"),
    maxBytes: num(values["max-bytes"], "max-bytes"),
    heavyShare: num(values["heavy-share"], "heavy-share"),
    durationMs: values["duration-s"] === undefined
      ? undefined
      : num(values["duration-s"], "duration-s")! * 1000,
    only: values.only?.split(",").map((s) => num(s, "only")!),
    fromBatch: num(values["from-batch"], "from-batch"),
    overrides: values.override,
    keepGoing: values["keep-going"],
    brokerLog: values["broker-log"],
    brokerCpuProf: values["broker-cpu-prof"],
    entry: values.break && new URL("./broken_broker.ts", import.meta.url).pathname,
    env: values.break ? { SLUICE_FUZZ_BREAK: values.break } : undefined,
  };
  for (const k of Object.keys(options) as Array<keyof FuzzOptions>) {
    if (options[k] === undefined) delete options[k];
  }
  console.log(`fuzz seed ${options.seed}`);
  const report = await runFuzz(options);
  for (const line of summary(report)) console.log(line);
  if (values.report) await Deno.writeTextFile(values.report, JSON.stringify(report, null, 2));
  if (report.failures.length === 0) {
    console.log("no failures");
    return 0;
  }
  const base = `deno task fuzz --seed ${options.seed} --batch-size ${options.batchSize ?? 5000}` +
    (options.overrides ?? []).map((o) => ` --override ${o}`).join("") +
    (values.break ? ` --break ${values.break}` : "");
  console.log(`${report.failures.length} failure(s):`);
  const seen = new Set<number>();
  for (const f of report.failures) {
    console.log(`- ${f.kind}: ${f.message}`);
    if (f.caseIndex !== undefined) {
      console.log(`  case ${f.caseIndex}: ${f.desc}`);
      console.log(`  reproduce: ${base} --only ${f.caseIndex}`);
    } else if (f.suspects?.length) {
      console.log(`  suspects (newest first): ${f.suspects.join(", ")}`);
      console.log(`  reproduce: ${base} --only ${f.suspects.join(",")}`);
    } else {
      console.log(`  reproduce: ${base} --requests ${report.requests} (the whole run)`);
    }
    if (f.payloadHex) {
      console.log(
        `  payload: ${f.payloadHex.slice(0, 400)}${f.payloadHex.length > 400 ? "…" : ""}`,
      );
    }
    const key = f.caseIndex ?? f.suspects?.[0];
    if (!values["no-minimize"] && key !== undefined && !seen.has(key) && seen.size < 3) {
      seen.add(key);
      console.log(`  ${await minimizeCase(options, f)}`);
    }
  }
  return 1;
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
