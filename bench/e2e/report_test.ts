// Copyright 2026 the Sluice authors. Apache-2.0 license.
import assert from "node:assert/strict";
import { renderPanels, renderReportSvg } from "./chart.ts";
import {
  barChecks,
  coresBusy,
  formatReport,
  keepFindings,
  markdownPage,
  rowCells,
  TABLE_COLUMNS,
} from "./report.ts";
import type { E2eReport, WorkloadResult } from "./run.ts";
import { selectWorkloads } from "./workloads.ts";

const consume = (p50Us: number, p99Us: number, p999Us: number) => ({
  mode: "consume" as const,
  records: 1000,
  consumed: 1000,
  unique: 1000,
  duplicates: 0,
  foreign: 0,
  errors: 0,
  firstError: "",
  seconds: 0.001,
  cpuSeconds: 0.25,
  p50Us,
  p99Us,
  p999Us,
  maxUs: p999Us,
});

function result(workload: string, client: "rdkafka" | "sluice", recPerSec: number): WorkloadResult {
  const w = selectWorkloads([workload], 0.001)[0];
  return {
    workload: w,
    client,
    produce: {
      mode: "produce",
      records: w.records,
      acked: w.records,
      errors: 0,
      firstError: "",
      bytes: w.records * w.size,
      seconds: w.records / recPerSec,
      cpuSeconds: 0.75,
    },
    e2e: consume(1500, 4000, 19_000),
    catchup: consume(1, 2, 3),
    produceRecPerSec: recPerSec,
    produceMbPerSec: recPerSec * w.size / 1e6,
    consumeRecPerSec: 2 * recPerSec,
    consumeMbPerSec: 2 * recPerSec * w.size / 1e6,
    brokerCpuSeconds: 0.5,
    peakRssBytes: 100 * 1048576,
    tcpRatio: 0.25,
    diskRatio: 0.5,
    exactlyOnce: true,
  };
}

const report: E2eReport = {
  startedAt: "2026-11-24T20:00:00.000Z",
  command: "deno run -A bench/e2e/main.ts --scale 0.001",
  scale: 0.001,
  machine: {
    cpus: 2,
    cpuModel: "Test CPU",
    memoryBytes: 2 ** 34,
    kernel: "6.1.0",
    deno: "2.9.6",
    librdkafka: "2.0.2",
    loadBefore: "1.00 1.00 1.00",
    loadAfter: "2.00 1.00 1.00",
  },
  baselines: [{
    bytes: 1000 * 100,
    batchBytes: 200_000,
    tcp: { bytes: 1e5, batchBytes: 2e5, seconds: 0.001, mbPerSec: 100 },
    write: { bytes: 1e5, batchBytes: 2e5, seconds: 0.001, mbPerSec: 100 },
    writeFsync: { bytes: 1e5, batchBytes: 2e5, seconds: 0.01, mbPerSec: 10 },
  }],
  results: [
    result("100b", "rdkafka", 1_200_000),
    result("100b", "sluice", 500_000),
    result("latency-50k", "rdkafka", 50_000),
    { ...result("1kib", "sluice", 1), error: "sluice producer: exited with code 1" },
  ],
  skipped: [],
};

Deno.test("report: table cells", () => {
  assert.deepEqual(rowCells(report.results[0]), [
    "100b",
    "rdkafka",
    "1,000",
    "1,200,000",
    "120.0",
    "2,400,000",
    "1.50",
    "4.00",
    "19.00",
    "0.50/0.75/0.25",
    "100",
    "0.250",
    "0.500",
    "yes",
  ]);
  assert.equal(rowCells(report.results[3]).at(-1), "FAIL");
  assert.equal(rowCells(report.results[0]).length, TABLE_COLUMNS.length);
});

Deno.test("report: bar checks use the run's figures", () => {
  assert.deepEqual(barChecks(report).map((b) => [b.bar.slice(0, 40), b.pass]), [
    ["librdkafka producer, 100 B, acks=1 ≥ 1,0", true],
    ["librdkafka consumer reading the 100 B to", true],
    ["latency run at 50k rec/s, acks=1: p99 ≤ ", true],
    ["Sluice TS client ≥ 50% of librdkafka (10", false],
    ["Sluice TS client ≥ 50% of librdkafka (10", false],
  ]);
  assert.equal(barChecks(report)[3].measured, "500,000 vs 1,200,000 rec/s = 41.7%");
  assert.deepEqual(barChecks(report)[1].measured, "2,400,000 rec/s (1,000 records)");
});

Deno.test("report: the 1 KiB bar comes with its CPU budget (an info row, never met)", () => {
  const rd1k = result("1kib", "rdkafka", 200_000); // 200 records of 1 KiB in 1 ms
  rd1k.brokerCpuSeconds = 0.001024;
  rd1k.produce!.cpuSeconds = 0.002048;
  rd1k.e2e!.cpuSeconds = 0.000512;
  const seqWrite = { bytes: 204_800, batchBytes: 262_144, seconds: 0.0001, mbPerSec: 2048 };
  const rewrite = { ...seqWrite, mbPerSec: 4096 };
  const bars = barChecks({
    ...report,
    baselines: [{
      bytes: 204_800,
      batchBytes: 262_144,
      tcp: seqWrite,
      write: seqWrite,
      writeFsync: seqWrite,
      writeReused: rewrite,
    }],
    results: [rd1k],
  });
  assert.deepEqual(bars.map((b) => [b.measured, b.pass, b.info ?? false]), [
    [
      "204.8 MB/s = 10.0% of 2048 MB/s (new file, kept); 5.0% of 4096 MB/s into just-freed pages",
      false,
      false,
    ],
    ["broker 5.00, producer 10.00, consumer 2.50; 3.58 cores", false, true],
  ]);
  assert.equal(coresBusy({ ...rd1k, e2e: undefined }), NaN);
  const text = formatReport({ ...report, results: [rd1k], baselines: [] });
  assert.ok(text.includes("0.00/0.00/0.00"), text);
});

Deno.test("report: text and page name every row, failure and the machine", () => {
  const text = formatReport(report);
  assert.ok(text.includes("1kib/sluice: sluice producer: exited with code 1"), text);
  assert.ok(text.includes("  met      librdkafka producer, 100 B, acks=1"), text);
  const page = markdownPage(report, { svgName: "performance.svg", note: "busy machine" });
  assert.ok(page.includes("| 100b | sluice | 1,000 | 500,000 |"), page);
  assert.ok(page.includes("- CPUs: 2 × Test CPU\n- Memory: 16.0 GiB\n"), page);
  assert.ok(page.includes("> **Note:** busy machine"), page);
  assert.ok(page.includes("```sh\ndeno run -A bench/e2e/main.ts --scale 0.001\n```"), page);
  assert.ok(page.includes("- 1kib/sluice: sluice producer: exited with code 1"), page);
});

Deno.test("chart: one bar per value, escaped labels, failed rows left out", () => {
  const svg = renderPanels([{
    title: "a<b",
    groups: ["g&1", "g2"],
    series: [{ label: "x", color: "#111" }, { label: "y", color: "#222" }],
    values: [[1, 2], [undefined, 0]],
  }, {
    title: "log",
    groups: ["g"],
    series: [{ label: "p", color: "#333" }],
    values: [[0.5]],
    log: true,
  }]);
  assert.equal(svg.match(/<rect [^>]*>\s*<title>/g)?.length, 3);
  assert.ok(svg.includes("a&lt;b") && svg.includes("g&amp;1"));
  assert.ok(!svg.includes("NaN") && !svg.includes("Infinity"));
  const full = renderReportSvg(report);
  // 3 good rows × (producer, consumer, 3 latency percentiles).
  assert.equal(full.match(/<rect [^>]*>\s*<title>/g)?.length, 3 * 5);
  assert.ok(!full.includes("NaN"));
});

Deno.test("report: regenerating the page keeps its hand-written findings", () => {
  const old = "# Sluice performance\n\nold table\n\n## Findings (by hand)\n\n- slow fetch\n";
  assert.equal(
    keepFindings(old, "# Sluice performance\n\nnew table\n"),
    "# Sluice performance\n\nnew table\n\n## Findings (by hand)\n\n- slow fetch\n",
  );
  assert.equal(keepFindings("", "# New\n"), "# New\n");
  assert.equal(keepFindings("# Old\n## Findingsless\n", "# New\n"), "# New\n");
});
