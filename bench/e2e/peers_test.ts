// Copyright 2026 the Sluice authors. Apache-2.0 license.
// The load tool against a peer (issue #17): the order rotation, the medians and ratios, the
// flags, and a tiny run against librdkafka's mock cluster end to end (counts and presence of
// every figure, never timings). Without `cc` or librdkafka-dev the end-to-end test skips with a
// message, except under CI=true, where it fails.

import assert from "node:assert/strict";
import { parseE2eArgs } from "./main.ts";
import {
  median,
  type PeerReport,
  type PeerResult,
  ratioRows,
  rotation,
  selectPeerWorkloads,
  startMockTarget,
  warmConns,
} from "./peers.ts";
import { buildC, MOCK_SOURCE } from "./workers.ts";

Deno.test("peers: the order of brokers rotates from workload to workload and round to round", () => {
  assert.deepEqual(rotation(["sluice", "mock"], 0), ["sluice", "mock"]);
  assert.deepEqual(rotation(["sluice", "mock"], 1), ["mock", "sluice"]);
  assert.deepEqual(rotation(["sluice", "mock"], 2), ["sluice", "mock"]);
  // every workload runs first on each broker equally often over an even number of rounds
  const first = new Map<string, number>();
  for (let round = 0; round < 2; round++) {
    for (let w = 0; w < 6; w++) {
      const t = rotation(["sluice", "mock"], w + round)[0];
      first.set(t, (first.get(t) ?? 0) + 1);
    }
  }
  assert.deepEqual([...first.entries()].sort(), [["mock", 6], ["sluice", 6]]);
});

Deno.test("peers: medians ignore missing figures; ratios are sluice over peer", () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.ok(Number.isNaN(median([NaN])));
  const r = (target: string, round: number, cpu: number, error?: string): PeerResult => ({
    workload: "produce-1kib",
    target,
    round,
    position: 0,
    brokerCpuSeconds: cpu,
    cpuMsPerMb: cpu,
    produceRecPerSec: 100,
    consumeRecPerSec: NaN,
    requestsPerSec: NaN,
    p50Us: NaN,
    p99Us: NaN,
    p999Us: NaN,
    error,
  });
  const rows = ratioRows([
    r("sluice", 0, 4),
    r("sluice", 1, 6),
    r("sluice", 2, 100, "failed"), // a failed run does not count
    r("mock", 0, 1),
    r("mock", 1, 3),
  ], "mock");
  const cpu = rows.find((x) => x.measure === "produce-1kib: broker CPU per MB")!;
  assert.deepEqual([cpu.sluice, cpu.peer, cpu.ratio], [5, 2, 2.5]);
  assert.ok(rows.some((x) => x.measure === "produce-1kib: produce rec/s"));
  assert.ok(!rows.some((x) => x.measure.includes("consume")));
});

Deno.test("peers: the longest stall of conns workloads is a ratio row (median over rounds)", () => {
  const r = (target: string, round: number, maxGapUs?: number): PeerResult => ({
    workload: "conns-500",
    target,
    round,
    position: 0,
    brokerCpuSeconds: 1,
    cpuMsPerMb: 1,
    produceRecPerSec: NaN,
    consumeRecPerSec: NaN,
    requestsPerSec: 100,
    p50Us: 1000,
    p99Us: 2000,
    p999Us: 3000,
    maxGapUs,
  });
  const rows = ratioRows([
    r("sluice", 0, 90_000),
    r("sluice", 1, 30_000),
    r("sluice", 2, 60_000),
    r("mock", 0, 20_000),
    r("mock", 1), // recorded before stalls were measured: not counted
  ], "mock");
  const stall = rows.find((x) => x.measure === "conns-500: longest stall")!;
  assert.deepEqual([stall.sluice, stall.peer, stall.ratio, stall.unit], [60, 20, 3, "ms"]);
});

Deno.test("peers: flags", () => {
  const a = parseE2eArgs(["--peer", "mock", "--rounds", "2", "--workloads", "conns-500"]);
  assert.deepEqual([a.peer, a.rounds, a.workloads], ["mock", 2, ["conns-500"]]);
  assert.equal(parseE2eArgs(["--peer", "10.0.0.1:9092@1234"]).peer, "10.0.0.1:9092@1234");
  assert.throws(() => parseE2eArgs(["--peer", "nowhere"]), /--peer nowhere is invalid/);
  assert.throws(() => parseE2eArgs(["--peer", "mock", "--workloads", "100b"]), /unknown peer/);
  assert.equal(selectPeerWorkloads(["conns-500"], 0.001)[0].records, 500); // one per connection
});

Deno.test("peers: a fifth of each many-connection workload warms both brokers up", () => {
  const warm = warmConns(selectPeerWorkloads(["produce-100b", "conns-500", "conns-1"], 1));
  assert.deepEqual(warm.map((w) => [w.name, w.records, w.connections]), [
    ["warmup-conns-500", 20_000, 500],
  ]);
  // never fewer requests than connections
  assert.equal(warmConns(selectPeerWorkloads(["conns-500"], 0.001))[0].records, 500);
});

const inCi = Deno.env.get("CI") === "true";
let missing = "";
{
  const dir = await Deno.makeTempDir({ prefix: "sluice-peer-build-" });
  try {
    await buildC(MOCK_SOURCE, ["-lrdkafka"], dir);
  } catch (e) {
    missing = e instanceof Error ? e.message : String(e);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
if (missing && !inCi) {
  console.warn(`bench/e2e/peers_test.ts end-to-end test skipped: ${missing}`);
}

Deno.test({
  name: "peers: the mock cluster takes topics through stdin and refuses bad commands",
  ignore: missing !== "" && !inCi,
  async fn() {
    if (missing) throw new Error(`CI=true but the mock cluster cannot be built: ${missing}`);
    const mock = await startMockTarget();
    try {
      assert.match(mock.bootstrap, /^127\.0\.0\.1:\d+$/);
      await mock.createTopic("t1", 3);
      await assert.rejects(() => mock.createTopic("t2", 0), /unknown command/);
      await mock.createTopic("t3", 1); // still answers after an error
    } finally {
      await mock.stop();
    }
  },
});

Deno.test({
  name: "bench:e2e --peer mock: every workload runs on both brokers and every figure is there",
  ignore: missing !== "" && !inCi,
  sanitizeResources: false,
  async fn() {
    if (missing) throw new Error(`CI=true but the mock cluster cannot be built: ${missing}`);
    const dir = await Deno.makeTempDir({ prefix: "sluice-peer-test-" });
    try {
      const out = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          new URL("./main.ts", import.meta.url).pathname,
          "--peer",
          "mock",
          "--rounds",
          "1",
          "--scale",
          "0.005",
          "--json",
          `${dir}/peer.json`,
        ],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const stdout = new TextDecoder().decode(out.stdout);
      const stderr = new TextDecoder().decode(out.stderr);
      assert.equal(out.code, 0, `exit ${out.code}\n${stdout}\n${stderr}`);
      const report: PeerReport = JSON.parse(await Deno.readTextFile(`${dir}/peer.json`));
      assert.equal(report.peer, "mock");
      assert.equal(report.results.length, 2 * 6);
      for (const r of report.results) {
        assert.equal(r.error, undefined, `${r.workload} on ${r.target}: ${r.error}`);
        assert.ok(r.brokerCpuSeconds >= 0, `${r.workload} on ${r.target}: no broker CPU`);
        // nanoseconds, with the clock ticks agreeing within a tick per thread
        assert.ok(r.brokerThreads! > 0 && r.brokerCpuTickSeconds! >= 0, JSON.stringify(r));
        assert.ok(
          Math.abs(r.brokerCpuSeconds - r.brokerCpuTickSeconds!) <= (r.brokerThreads! + 1) * 0.01,
          JSON.stringify(r),
        );
      }
      for (const w of ["produce-100b", "produce-1kib", "consume-100b-64p", "consume-1kib-64p"]) {
        for (const t of ["sluice", "mock"]) {
          const r = report.results.find((x) => x.workload === w && x.target === t)!;
          assert.ok(r.produceRecPerSec > 0, `${w} on ${t}: no produce rate`);
          if (w.startsWith("consume")) assert.ok(r.consumeRecPerSec > 0, `${w} on ${t}`);
        }
      }
      for (const r of report.results.filter((x) => x.workload.startsWith("conns"))) {
        assert.ok(r.p50Us > 0 && r.p99Us >= r.p50Us && r.p999Us >= r.p99Us, JSON.stringify(r));
        assert.ok(r.maxGapUs! >= 0, `no longest stall: ${JSON.stringify(r)}`);
      }
      // one table row per figure, sluice ÷ mock
      assert.match(stdout, /\| conns-500: p99 \| [\d.,]+ ms \| [\d.,]+ ms \| [\d.]+× \|/);
      assert.match(stdout, /\| produce-1kib: broker CPU per MB \|/);
      // each round's CPU per MB, from nanoseconds and from ticks, and the whole run's cross-check
      assert.match(
        stdout,
        /^\| 1 \| [\d.]+ \| [\d.]+ \| [\d.]+ \| [\d.]+ \| [\d.]+ \| [\d.]+ \| [01] \|$/m,
      );
      assert.match(
        stdout,
        /^mock: [\d.]+ ms on CPU over 1 rounds, \d+ ms in ticks \(within a tick/m,
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
