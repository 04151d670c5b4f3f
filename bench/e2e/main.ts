// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * Sluice's end-to-end load tool (issue #7): starts a broker in its own process with a fresh data
 * directory, runs each workload with each client (librdkafka through `rdkafka_perf.c`, Sluice's
 * TypeScript client, kafkajs) one at a time, measures this machine's loopback TCP and sequential
 * write limits for the same bytes, and prints a table. Optionally writes JSON, the
 * `docs/PERFORMANCE.md` page and its SVG chart.
 *
 * @example
 * ```sh
 * deno run -A bench/e2e/main.ts --scale 0.1 --clients rdkafka,sluice
 * deno run -A bench/e2e/main.ts --json out.json --markdown docs/PERFORMANCE.md --svg docs/performance.svg
 * ```
 *
 * Needs `-A` (it runs `cc`, the broker, the clients, and reads `/proc`).
 *
 * @module
 */

import { parseFlags } from "../flags.ts";
import { renderReportSvg } from "./chart.ts";
import { formatReport, keepFindings, markdownPage } from "./report.ts";
import { type E2eReport, runE2e } from "./run.ts";
import { type ClientName, CLIENTS } from "./workers.ts";
import { selectWorkloads, WORKLOADS } from "./workloads.ts";
import {
  formatCpuRounds,
  formatRatioTable,
  PEER_WORKLOADS,
  runPeers,
  selectPeerWorkloads,
} from "./peers.ts";

/** Help text. */
export const HELP: string = `Usage: deno run -A bench/e2e/main.ts [OPTIONS]

Starts a Sluice broker process and runs load workloads against it, one at a time.

Options:
  --workloads LIST   Comma-separated workloads (default all): ${
  WORKLOADS.map((w) => w.name).join(", ")
}
  --clients LIST     Comma-separated clients (default all): ${CLIENTS.join(", ")}
  --scale F          Multiply record counts by F (e.g. 0.1 for a quick run; default 1)
  --json FILE        Write every figure as JSON
  --markdown FILE    Write the results page (docs/PERFORMANCE.md)
  --svg FILE         Write the chart (docs/performance.svg)
  --note TEXT        A note on the run's conditions for the results page
  --idle-ms N        A consumer gives up after N ms without records (default 15000)
  --timeout-s N      Kill a producer or consumer after N seconds (default 600)
  --no-baselines     Skip the loopback TCP and file write measurements
  --no-warmup        Skip the unreported warm-up run (100k records of 100 B at most)
  --cpu-prof DIR     Write a V8 CPU profile of the broker into DIR
  --peer PEER        Run the peer workloads against Sluice AND a peer, order rotated, and print
                     the ratios: PEER is "mock" (librdkafka's mock cluster, built with cc) or
                     HOST:PORT[@PID] (an external broker; its CPU is read from /proc/PID).
                     --workloads then names peer workloads: ${
  PEER_WORKLOADS.map((w) => w.name).join(", ")
}
  --rounds N         With --peer: run every workload on both brokers N times (default 3)
  -h, --help         Show this help

Exit code: 0 when every workload ran and consumed every record exactly once, 1 otherwise,
2 on bad usage.
`;

/** Parsed command line of the load tool. */
export interface E2eArgs {
  /** Workload names. */
  workloads: string[];
  /** Clients. */
  clients: ClientName[];
  /** Record-count factor. */
  scale: number;
  /** JSON output file. */
  json?: string;
  /** Markdown page. */
  markdown?: string;
  /** SVG chart. */
  svg?: string;
  /** Note for the page. */
  note?: string;
  /** Consumer idle limit. */
  idleMs: number;
  /** Worker time limit in milliseconds. */
  timeoutMs: number;
  /** Measure machine limits. */
  baselines: boolean;
  /** Warm the broker up first. */
  warmup: boolean;
  /** CPU profile directory. */
  cpuProf?: string;
  /** `mock` or `host:port[@pid]`: run the peer comparison. */
  peer?: string;
  /** Peer rounds. */
  rounds: number;
  /** Help asked for. */
  help: boolean;
}

function positive(flag: string, v: string | undefined, fallback: number): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) {
    throw new RangeError(`${flag} ${v} is invalid: expected a number > 0`);
  }
  return n;
}

/**
 * Parses the load tool's flags.
 *
 * @example
 * ```ts
 * import { parseE2eArgs } from "./main.ts";
 * console.log(parseE2eArgs(["--scale", "0.1", "--clients", "rdkafka"]).clients); // ["rdkafka"]
 * ```
 *
 * @param args Command-line arguments.
 * @returns The options.
 * @throws {RangeError} On an unknown flag, client, workload or a bad number.
 */
export function parseE2eArgs(args: string[]): E2eArgs {
  const values = parseFlags(args, {
    workloads: { type: "string" },
    clients: { type: "string" },
    scale: { type: "string" },
    json: { type: "string" },
    markdown: { type: "string" },
    svg: { type: "string" },
    note: { type: "string" },
    "idle-ms": { type: "string" },
    "timeout-s": { type: "string" },
    "no-baselines": { type: "boolean" },
    "no-warmup": { type: "boolean" },
    "cpu-prof": { type: "string" },
    peer: { type: "string" },
    rounds: { type: "string" },
    help: { type: "boolean", short: "h" },
  });
  const list = (s: string | undefined) =>
    s ? s.split(",").map((x) => x.trim()).filter(Boolean) : [];
  const clients = list(values.clients);
  for (const c of clients) {
    if (!(CLIENTS as readonly string[]).includes(c)) {
      throw new RangeError(`unknown client "${c}": expected one of ${CLIENTS.join(", ")}`);
    }
  }
  const scale = positive("--scale", values.scale, 1);
  const workloads = list(values.workloads);
  // validates names
  if (values.peer !== undefined) selectPeerWorkloads(workloads, scale);
  else selectWorkloads(workloads, scale);
  if (
    values.peer !== undefined && values.peer !== "mock" && !/^[^:@]+:\d+(@\d+)?$/.test(values.peer)
  ) {
    throw new RangeError(`--peer ${values.peer} is invalid: expected mock or HOST:PORT[@PID]`);
  }
  return {
    workloads,
    clients: clients.length > 0 ? clients as ClientName[] : [...CLIENTS],
    scale,
    json: values.json,
    markdown: values.markdown,
    svg: values.svg,
    note: values.note,
    idleMs: positive("--idle-ms", values["idle-ms"], 15_000),
    timeoutMs: positive("--timeout-s", values["timeout-s"], 600) * 1000,
    baselines: !values["no-baselines"],
    warmup: !values["no-warmup"],
    cpuProf: values["cpu-prof"],
    peer: values.peer,
    rounds: Math.round(positive("--rounds", values.rounds, 3)),
    help: values.help ?? false,
  };
}

function relative(fromFile: string, to: string): string {
  const dir = (p: string) => p.includes("/") ? p.slice(0, p.lastIndexOf("/")) : ".";
  return dir(fromFile) === dir(to) ? to.slice(to.lastIndexOf("/") + 1) : to;
}

/**
 * Runs the load tool and writes its outputs.
 *
 * @param args Command-line arguments.
 * @returns The exit code and the report (absent on usage errors and help).
 */
export async function main(args: string[]): Promise<{ code: number; report?: E2eReport }> {
  let opts: E2eArgs;
  try {
    opts = parseE2eArgs(args);
  } catch (e) {
    console.error(`bench:e2e: ${e instanceof Error ? e.message : e}`);
    return { code: 2 };
  }
  if (opts.help) {
    console.log(HELP);
    return { code: 0 };
  }
  if (opts.peer !== undefined) {
    const peerReport = await runPeers({
      workloads: selectPeerWorkloads(opts.workloads, opts.scale),
      peer: opts.peer,
      rounds: opts.rounds,
      timeoutMs: opts.timeoutMs,
      cpuProfDir: opts.cpuProf,
    });
    console.log(
      `load average ${peerReport.loadBefore} (start) / ${peerReport.loadAfter} (end); ` +
        `medians of ${opts.rounds} rounds`,
    );
    console.log(formatRatioTable(peerReport.rows, peerReport.peer));
    const rounds = formatCpuRounds(peerReport.results, peerReport.peer);
    if (rounds) console.log("\n" + rounds);
    if (opts.json) await Deno.writeTextFile(opts.json, JSON.stringify(peerReport, null, 2) + "\n");
    return { code: peerReport.results.every((r) => !r.error) ? 0 : 1 };
  }
  const report = await runE2e({
    workloads: selectWorkloads(opts.workloads, opts.scale),
    clients: opts.clients,
    scale: opts.scale,
    command: [
      "deno run -A bench/e2e/main.ts",
      ...args.map((a) => /^[\w.,=/:-]+$/.test(a) ? a : `'${a.replaceAll("'", "'\\''")}'`),
    ].join(" "),
    idleMs: opts.idleMs,
    timeoutMs: opts.timeoutMs,
    baselines: opts.baselines,
    warmup: opts.warmup,
    cpuProfDir: opts.cpuProf,
  });
  console.log(formatReport(report));
  if (opts.json) await Deno.writeTextFile(opts.json, JSON.stringify(report, null, 2) + "\n");
  if (opts.svg) await Deno.writeTextFile(opts.svg, renderReportSvg(report));
  if (opts.markdown) {
    const page = markdownPage(report, {
      svgName: opts.svg ? relative(opts.markdown, opts.svg) : undefined,
      note: opts.note,
    });
    const old = await Deno.readTextFile(opts.markdown).catch(() => "");
    await Deno.writeTextFile(opts.markdown, keepFindings(old, page));
  }
  // Keep the outputs as `deno fmt` wants them (the repository's fmt check covers docs/).
  const written = [opts.json, opts.svg, opts.markdown].filter((f): f is string => f !== undefined);
  if (written.length > 0) {
    const fmt = await new Deno.Command(Deno.execPath(), {
      args: ["fmt", "--quiet", ...written],
      stdout: "null",
      stderr: "piped",
    }).output();
    if (!fmt.success) {
      const detail = new TextDecoder().decode(fmt.stderr).trim();
      console.error(`bench:e2e: deno fmt ${written.join(" ")}: ${detail}`);
    }
  }
  const ok = report.skipped.length === 0 && report.results.every((r) => !r.error && r.exactlyOnce);
  return { code: ok ? 0 : 1, report };
}

if (import.meta.main) {
  try {
    Deno.exit((await main(Deno.args)).code);
  } catch (e) {
    console.error(`bench:e2e: ${e instanceof Error ? e.message : e}`);
    Deno.exit(1);
  }
}
