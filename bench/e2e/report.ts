// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * The load tool's output: the text table printed after a run, the issue #7 bar checks, and the
 * generated `docs/PERFORMANCE.md` page.
 *
 * @module
 */

import type { E2eReport, WorkloadResult } from "./run.ts";

/** Column headers of the results table, in order. */
export const TABLE_COLUMNS: readonly string[] = [
  "workload",
  "client",
  "records",
  "rec/s",
  "MB/s",
  "cons rec/s",
  "p50 ms",
  "p99 ms",
  "p99.9 ms",
  "CPU s b/p/c",
  "RSS MiB",
  "×TCP",
  "×disk",
  "once",
];

const int = (n: number) => Math.round(n).toLocaleString("en-US");
const ms = (us: number | undefined) => us === undefined || us < 0 ? "-" : (us / 1000).toFixed(2);
const fixed = (n: number, d: number) => Number.isFinite(n) && n > 0 ? n.toFixed(d) : "-";

/**
 * One table row's cells, in {@linkcode TABLE_COLUMNS} order.
 *
 * @param r A result.
 * @returns The cells.
 */
export function rowCells(r: WorkloadResult): string[] {
  return [
    r.workload.name,
    r.client,
    int(r.workload.records),
    r.produceRecPerSec > 0 ? int(r.produceRecPerSec) : "-",
    fixed(r.produceMbPerSec, 1),
    r.consumeRecPerSec > 0 ? int(r.consumeRecPerSec) : "-",
    ms(r.e2e?.p50Us),
    ms(r.e2e?.p99Us),
    ms(r.e2e?.p999Us),
    r.produce ? cpuCell(r) : "-",
    r.peakRssBytes > 0 ? (r.peakRssBytes / 1048576).toFixed(0) : "-",
    fixed(r.tcpRatio, 3),
    fixed(r.diskRatio, 3),
    r.error ? "FAIL" : r.exactlyOnce ? "yes" : "no",
  ];
}

/** Broker / producer / concurrent consumer CPU seconds ("-" where a worker did not say). */
function cpuCell(r: WorkloadResult): string {
  const c = (s: number | undefined) => s === undefined || !(s >= 0) ? "-" : s.toFixed(2);
  return `${c(r.brokerCpuSeconds)}/${c(r.produce?.cpuSeconds)}/${c(r.e2e?.cpuSeconds)}`;
}

/**
 * Cores busy during a workload's produce phase: broker, producer and concurrent consumer CPU
 * seconds over the producer's seconds.
 *
 * @param r A result.
 * @returns Cores, or NaN if a figure is missing.
 */
export function coresBusy(r: WorkloadResult): number {
  const p = r.produce, c = r.e2e;
  if (!p || !c || !(p.seconds > 0) || p.cpuSeconds === undefined || c.cpuSeconds === undefined) {
    return NaN;
  }
  return (r.brokerCpuSeconds + p.cpuSeconds + c.cpuSeconds) / p.seconds;
}

function align(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) =>
    r.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ").trimEnd()
  ).join("\n");
}

/** One of issue #7's bars, checked against a run. */
export interface BarCheck {
  /** The bar. */
  bar: string;
  /** What was measured. */
  measured: string;
  /** Whether it is met. */
  pass: boolean;
  /** Not a bar but context printed with them (never "met"). */
  info?: boolean;
}

/**
 * Checks the issue #7 bars that the run has figures for.
 *
 * @param report A run.
 * @returns One check per bar with data.
 */
export function barChecks(report: E2eReport): BarCheck[] {
  const find = (w: string, c: string) =>
    report.results.find((r) => r.workload.name === w && r.client === c && !r.error);
  const out: BarCheck[] = [];
  const rd100 = find("100b", "rdkafka");
  if (rd100) {
    out.push({
      bar: "librdkafka producer, 100 B, acks=1 ≥ 1,000,000 rec/s",
      measured: `${int(rd100.produceRecPerSec)} rec/s`,
      pass: rd100.produceRecPerSec >= 1_000_000,
    });
    out.push({
      bar: "librdkafka consumer reading the 100 B topic ≥ 2,000,000 rec/s",
      measured: `${int(rd100.consumeRecPerSec)} rec/s (${int(rd100.workload.records)} records)`,
      pass: rd100.consumeRecPerSec >= 2_000_000,
    });
  }
  const rd1k = find("1kib", "rdkafka");
  const base1k = rd1k &&
    report.baselines.find((b) => b.bytes === rd1k.workload.records * rd1k.workload.size);
  if (rd1k && base1k) {
    const pct = (b: { mbPerSec: number }) => (100 * rd1k.produceMbPerSec / b.mbPerSec).toFixed(1);
    const reused = base1k.writeReused;
    out.push({
      bar: "librdkafka producer, 1 KiB ≥ 60% of sequential write (no fsync)",
      measured:
        `${rd1k.produceMbPerSec.toFixed(1)} MB/s = ${pct(base1k.write)}% of ${
          base1k.write.mbPerSec.toFixed(0)
        } MB/s (new file, kept)` +
        (reused
          ? `; ${pct(reused)}% of ${reused.mbPerSec.toFixed(0)} MB/s into just-freed pages`
          : ""),
      pass: rd1k.produceMbPerSec >= 0.6 * base1k.write.mbPerSec,
    });
    const cores = coresBusy(rd1k);
    if (Number.isFinite(cores)) {
      const mb = rd1k.produce!.bytes / 1e6;
      const perMb = (s: number) => (1000 * s / mb).toFixed(2);
      out.push({
        bar: "(where the 1 KiB time goes: CPU ms per MB, and cores busy of " +
          `${report.machine.cpus})`,
        measured: `broker ${perMb(rd1k.brokerCpuSeconds)}, producer ${
          perMb(rd1k.produce!.cpuSeconds)
        }, consumer ${perMb(rd1k.e2e!.cpuSeconds)}; ${cores.toFixed(2)} cores`,
        pass: false,
        info: true,
      });
    }
  }
  const lat = find("latency-50k", "rdkafka");
  if (lat?.e2e) {
    out.push({
      bar: "latency run at 50k rec/s, acks=1: p99 ≤ 5 ms, p99.9 ≤ 20 ms",
      measured: `p99 ${ms(lat.e2e.p99Us)} ms, p99.9 ${ms(lat.e2e.p999Us)} ms`,
      pass: lat.e2e.p99Us <= 5000 && lat.e2e.p999Us <= 20_000,
    });
  }
  for (const w of ["100b", "1kib"]) {
    const rd = find(w, "rdkafka"), ts = find(w, "sluice");
    if (!rd || !ts) continue;
    for (
      const [what, a, b] of [
        ["produce", ts.produceRecPerSec, rd.produceRecPerSec],
        ["consume", ts.consumeRecPerSec, rd.consumeRecPerSec],
      ] as const
    ) {
      if (!(b > 0)) continue;
      out.push({
        bar: `Sluice TS client ≥ 50% of librdkafka (${w} ${what})`,
        measured: `${int(a)} vs ${int(b)} rec/s = ${(100 * a / b).toFixed(1)}%`,
        pass: a >= 0.5 * b,
      });
    }
  }
  return out;
}

/**
 * The text printed after a run: machine limits, results, failures and bar checks.
 *
 * @param report A run.
 * @returns Multi-line text.
 */
export function formatReport(report: E2eReport): string {
  const lines: string[] = [];
  if (report.baselines.length > 0) {
    lines.push("Machine limits (same bytes, same batch sizes):");
    lines.push(align([
      ["bytes", "batch", "TCP MB/s", "write MB/s", "write+fsync MB/s", "rewrite MB/s"],
      ...report.baselines.map((b) => [
        int(b.bytes),
        int(b.batchBytes),
        b.tcp.mbPerSec.toFixed(0),
        b.write.mbPerSec.toFixed(0),
        b.writeFsync.mbPerSec.toFixed(0),
        b.writeReused ? b.writeReused.mbPerSec.toFixed(0) : "-",
      ]),
    ]));
    lines.push("");
  }
  lines.push(align([[...TABLE_COLUMNS], ...report.results.map(rowCells)]));
  for (const s of report.skipped) lines.push(`skipped ${s.client}: ${s.reason}`);
  for (const r of report.results) {
    if (r.error) lines.push(`${r.workload.name}/${r.client}: ${r.error}`);
  }
  const bars = barChecks(report);
  if (bars.length > 0) {
    lines.push("", "Issue #7 bars:");
    for (const b of bars) {
      const mark = b.info ? "       " : b.pass ? "met    " : "NOT met";
      lines.push(`  ${mark}  ${b.bar}: ${b.measured}`);
    }
  }
  if (report.brokerProfile) {
    lines.push("", `Broker CPU profile (${report.brokerProfile.file}), top self time:`);
    for (const t of report.brokerProfile.top) {
      lines.push(`  ${(t.share * 100).toFixed(1).padStart(5)}%  ${t.name}`);
    }
  }
  return lines.join("\n") + "\n";
}

/** Options for {@linkcode markdownPage}. */
export interface PageOptions {
  /** File name of the chart, relative to the page. */
  svgName?: string;
  /** A note on the conditions of the run (load on the machine, ...). */
  note?: string;
}

const mdRow = (cells: string[]) => `| ${cells.map((c) => c.replaceAll("|", "\\|")).join(" | ")} |`;

/**
 * The `docs/PERFORMANCE.md` page for a run.
 *
 * @param report A run.
 * @param options Chart name and note.
 * @returns Markdown.
 */
export function markdownPage(report: E2eReport, options: PageOptions = {}): string {
  const m = report.machine;
  const out: string[] = [
    "# Sluice performance",
    "",
    "<!-- Generated by bench/e2e/main.ts (deno task bench:e2e); edit the tool, not this page, except",
    "     the Findings section at the end, which regenerating the page keeps. -->",
    "",
    "End-to-end figures from the load tool (`bench/e2e/`, `deno task bench:e2e`): a Sluice broker",
    "in its own process with a fresh data directory, and for each workload and client a consumer",
    "and a producer process at once, then a second consumer reading the topic from the start.",
    "",
    "- **rec/s, MB/s**: producer, first send to last acknowledgement (MB = 10^6 bytes of values).",
    "- **cons rec/s**: the second consumer, reading from offset 0: from the moment it is ready",
    "  (partitions assigned, or group joined for kafkajs) to the last record received.",
    "- **p50/p99/p99.9**: end-to-end latency, the send time stamped in each value to its receipt",
    "  by the concurrent consumer (same host clock). In unpaced workloads the producer outruns",
    "  the consumer, so these are queueing times; `latency-50k` is the latency run.",
    "- **CPU s b/p/c**: CPU seconds (user + system, every thread) of the broker (nanoseconds",
    "  on CPU of its threads, `/proc/<pid>/task/<tid>/schedstat`; the clock ticks of",
    "  `/proc/<pid>/stat` when a thread exited in between, during produce and end-to-end",
    "  consume), the producer (`getrusage` or",
    "  `process.cpuUsage()`, first send to last acknowledgement) and the concurrent consumer (from",
    "  ready to its last record). On this 2-core machine their sum over the produce seconds says how",
    "  close the run came to using every core.",
    "- **RSS MiB**: broker peak RSS (`VmHWM`, reset before each workload through `clear_refs`).",
    "- **×TCP, ×disk**: producer MB/s divided by this machine's loopback TCP (Deno sender and",
    "  receiver processes) and sequential write of a new, kept file (fdatasync per batch for fsync",
    "  workloads) for the same bytes in the same batch sizes (see the machine limits below).",
    "- **once**: every record consumed exactly once by both consumers (counts, by sequence number).",
    "- Clients: `rdkafka` = librdkafka " + (m.librdkafka || "(not run)") +
    " through `bench/e2e/rdkafka_perf.c`;",
    "  `sluice` = our TypeScript client (`client/`); `kafkajs` = kafkajs 2.2.4. One process each.",
    "",
    "## Command",
    "",
    "```sh",
    report.command,
    "```",
    "",
    `Run ${report.startedAt}, scale ${report.scale} (record counts × ${report.scale}).`,
    "",
    "## Machine",
    "",
    `- CPUs: ${m.cpus} × ${m.cpuModel}`,
    `- Memory: ${(m.memoryBytes / 2 ** 30).toFixed(1)} GiB`,
    `- Kernel: Linux ${m.kernel}; Deno ${m.deno}; librdkafka ${m.librdkafka || "-"}`,
    `- Load average (1/5/15 min): ${m.loadBefore} before, ${m.loadAfter} after`,
  ];
  if (options.note) out.push("", `> **Note:** ${options.note}`);
  out.push("", "## Results", "");
  out.push(mdRow([...TABLE_COLUMNS]), mdRow(TABLE_COLUMNS.map((_, i) => i < 2 ? "---" : "--:")));
  for (const r of report.results) out.push(mdRow(rowCells(r)));
  const failures = report.results.filter((r) => r.error);
  if (failures.length > 0 || report.skipped.length > 0) {
    out.push("", "Failures:", "");
    for (const s of report.skipped) out.push(`- ${s.client} skipped: ${s.reason}`);
    for (const r of failures) out.push(`- ${r.workload.name}/${r.client}: ${r.error}`);
  }
  if (report.baselines.length > 0) {
    out.push("", "## Machine limits for the same bytes", "");
    out.push(
      mdRow([
        "bytes",
        "batch",
        "loopback TCP MB/s",
        "write MB/s",
        "write+fsync MB/s",
        "rewrite MB/s",
      ]),
    );
    out.push(mdRow(["--:", "--:", "--:", "--:", "--:", "--:"]));
    for (const b of report.baselines) {
      out.push(mdRow([
        int(b.bytes),
        int(b.batchBytes),
        b.tcp.mbPerSec.toFixed(0),
        b.write.mbPerSec.toFixed(0),
        b.writeFsync.mbPerSec.toFixed(0),
        b.writeReused ? b.writeReused.mbPerSec.toFixed(0) : "-",
      ]));
    }
    out.push(
      "",
      "`write` and `write+fsync` write a new file and keep it (synced, untimed) until the run",
      "ends, as a log keeps its segments. `rewrite` writes the same bytes into page-cache pages",
      "freed just before (a scratch file of the same size written and removed first). This VM",
      "(virtio-balloon free page reporting) may have handed memory freed some seconds earlier back",
      "to its host, and filling pages the guest must fault in again measured 0.4-0.6 GB/s against",
      "3.8-5.2 GB/s for pages freed moments before (512 MiB-1 GiB files, separate test). A log",
      "keeps what it writes, so the ×disk ratios use `write`.",
    );
  }
  if (options.svgName) {
    out.push("", "## Chart", "", `![Throughput and latency per workload](${options.svgName})`);
  }
  const bars = barChecks(report);
  if (bars.length > 0) {
    out.push("", "## Issue #7 bars", "", mdRow(["bar", "measured", "met"]));
    out.push(mdRow(["---", "---", "---"]));
    for (const b of bars) {
      out.push(mdRow([b.bar, b.measured, b.info ? "—" : b.pass ? "yes" : "**no**"]));
    }
  }
  if (report.brokerProfile) {
    out.push(
      "",
      "## Broker CPU profile",
      "",
      "Top self time over the whole run (`--cpu-prof`, V8 sampling profile of the broker process;",
      "`(idle)` is time spent waiting):",
      "",
      mdRow(["share", "ms", "function"]),
      mdRow(["--:", "--:", "---"]),
    );
    for (const t of report.brokerProfile.top) {
      out.push(mdRow([`${(t.share * 100).toFixed(1)}%`, t.ms.toFixed(0), `\`${t.name}\``]));
    }
  }
  return out.join("\n") + "\n";
}

/** The heading of the page's hand-written section, which regenerating the page keeps. */
export const FINDINGS_HEADING = "## Findings";

/**
 * Carries the hand-written section (from {@linkcode FINDINGS_HEADING} to the end) of the old page
 * over to a newly generated one.
 *
 * @example
 * ```ts
 * import { keepFindings } from "./report.ts";
 * console.log(keepFindings("# Old\n\n## Findings\n\n- a\n", "# New\n")); // "# New\n\n## Findings\n\n- a\n"
 * ```
 *
 * @param oldPage The page on disk, or `""`.
 * @param newPage The generated page.
 * @returns The new page, with the old page's findings appended.
 */
export function keepFindings(oldPage: string, newPage: string): string {
  const at = oldPage.search(new RegExp(`^${FINDINGS_HEADING}\\b`, "m"));
  if (at < 0) return newPage;
  return `${newPage.trimEnd()}\n\n${oldPage.slice(at).trimEnd()}\n`;
}
