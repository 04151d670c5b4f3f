// Copyright 2026 the Sluice authors. Apache-2.0 license.
// The load tool end to end, at a tiny scale: a real broker process, the librdkafka program, our
// TypeScript client and kafkajs each run the 100 B workload (2,000 records); the table must have
// its rows and every record must be consumed exactly once (counts, never timings). Without `cc` or
// librdkafka-dev the test skips with a message, except under CI=true, where it fails.

import assert from "node:assert/strict";
import type { E2eReport } from "./run.ts";
import { TABLE_COLUMNS } from "./report.ts";
import { buildRdkafkaPerf, CLIENTS } from "./workers.ts";

const inCi = Deno.env.get("CI") === "true";
let missing = "";
{
  const dir = await Deno.makeTempDir({ prefix: "sluice-e2e-build-" });
  try {
    await buildRdkafkaPerf(dir);
  } catch (e) {
    missing = e instanceof Error ? e.message : String(e);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
if (missing && !inCi) {
  console.warn(`bench/e2e/e2e_test.ts skipped: librdkafka client unavailable: ${missing}`);
}

const MAIN = new URL("./main.ts", import.meta.url).pathname;

Deno.test({
  name: "bench:e2e: 2k records per client, every record consumed exactly once",
  ignore: missing !== "" && !inCi,
  sanitizeResources: false,
  async fn() {
    if (missing) throw new Error(`CI=true but the librdkafka client cannot be built: ${missing}`);
    const dir = await Deno.makeTempDir({ prefix: "sluice-e2e-test-" });
    try {
      const out = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          MAIN,
          "--scale",
          "0.002",
          "--workloads",
          "100b",
          "--idle-ms",
          "20000",
          "--json",
          `${dir}/out.json`,
          "--markdown",
          `${dir}/PERFORMANCE.md`,
          "--svg",
          `${dir}/performance.svg`,
        ],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const stdout = new TextDecoder().decode(out.stdout);
      const stderr = new TextDecoder().decode(out.stderr);
      assert.equal(out.code, 0, `exit code ${out.code}\n${stdout}\n${stderr}`);

      // The printed table: machine limits, the header, one row per client, all exactly once.
      const lines = stdout.split("\n");
      assert.ok(lines.includes("Machine limits (same bytes, same batch sizes):"), stdout);
      const header = lines.find((l) => l.startsWith("workload"));
      assert.deepEqual(header?.split(/\s{2,}/), [...TABLE_COLUMNS]);
      const rows = lines.filter((l) => l.startsWith("100b "));
      assert.deepEqual(rows.map((l) => l.split(/\s+/)[1]), [...CLIENTS]);
      for (const row of rows) {
        const cells = row.split(/\s{2,}/);
        assert.equal(cells.length, TABLE_COLUMNS.length, row);
        assert.equal(cells[2], "2,000", row);
        assert.equal(cells.at(-1), "yes", row);
      }

      // The JSON: exact counts for the producer and both consumers of every client.
      const report: E2eReport = JSON.parse(await Deno.readTextFile(`${dir}/out.json`));
      assert.deepEqual(report.skipped, []);
      assert.deepEqual(report.results.map((r) => [r.workload.name, r.client]), [
        ["100b", "rdkafka"],
        ["100b", "sluice"],
        ["100b", "kafkajs"],
      ]);
      for (const r of report.results) {
        assert.equal(r.error, undefined, `${r.client}: ${r.error}`);
        assert.deepEqual(
          [r.produce?.records, r.produce?.acked, r.produce?.errors, r.produce?.bytes],
          [2000, 2000, 0, 200_000],
          r.client,
        );
        for (const s of [r.e2e!, r.catchup!]) {
          assert.deepEqual(
            [s.records, s.consumed, s.unique, s.duplicates, s.foreign, s.errors],
            [2000, 2000, 2000, 0, 0, 0],
            r.client,
          );
          assert.ok(s.p50Us <= s.p99Us && s.p99Us <= s.p999Us && s.p999Us <= s.maxUs, r.client);
        }
        assert.equal(r.exactlyOnce, true);
      }
      assert.equal(report.baselines.length, 1);
      assert.deepEqual([report.baselines[0].bytes, report.baselines[0].batchBytes], [
        200_000,
        200_000,
      ]);
      assert.match(report.machine.librdkafka, /^\d+\.\d+\.\d+/);

      // The page and the chart.
      const page = await Deno.readTextFile(`${dir}/PERFORMANCE.md`);
      // (deno fmt pads the table's cells.)
      for (const c of CLIENTS) {
        assert.match(page, new RegExp(`^\\| 100b +\\| ${c} +\\| +2,000 \\|`, "m"));
      }
      assert.ok(page.includes("![Throughput and latency per workload](performance.svg)"));
      const svg = await Deno.readTextFile(`${dir}/performance.svg`);
      assert.ok(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"'));
      // Two throughput panels (3 bars each) and one latency panel (3 percentiles × 3 clients).
      assert.equal(svg.match(/<rect [^>]*>\s*<title>/g)?.length, 3 + 3 + 9);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("bench:e2e: bad flags exit 2 with one line", async () => {
  for (
    const [args, message] of [
      [["--scale", "0"], "bench:e2e: --scale 0 is invalid: expected a number > 0\n"],
      [
        ["--clients", "java"],
        'bench:e2e: unknown client "java": expected one of rdkafka, sluice, kafkajs\n',
      ],
      [
        ["--workloads", "2mib"],
        'bench:e2e: unknown workload "2mib": expected one of 100b, 100b-acks-all, 100b-8p, 1kib, 1kib-fsync, 16kib, latency-50k\n',
      ],
    ] as const
  ) {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", MAIN, ...args],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(out.code, 2, args.join(" "));
    assert.equal(new TextDecoder().decode(out.stderr), message);
    assert.equal(out.stdout.length, 0);
  }
});
