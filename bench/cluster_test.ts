// Copyright 2026 the Sluice authors. Apache-2.0 license.
import { deepStrictEqual as assertEquals, throws } from "node:assert/strict";
import { formatClusterReport, median, parseClusterBenchArgs, roundOrder } from "./cluster.ts";

Deno.test("bench:cluster flags: defaults, overrides, bounds", () => {
  const d = parseClusterBenchArgs([]);
  assertEquals([d.records, d.size, d.partitions, d.rounds, d.overrides], [
    1_000_000,
    100,
    1,
    3,
    [],
  ]);
  const o = parseClusterBenchArgs([
    "--rounds",
    "5",
    "--override",
    "a=1",
    "--override",
    "b=2",
    "--no-verify",
  ]);
  assertEquals([o.rounds, o.overrides, o.verify], [5, ["a=1", "b=2"], false]);
  throws(() => parseClusterBenchArgs(["--rounds", "0"]), RangeError);
  throws(() => parseClusterBenchArgs(["--rounds", "21"]), RangeError);
  throws(() => parseClusterBenchArgs(["--size", "15"]), RangeError);
  throws(() => parseClusterBenchArgs(["--bogus"]), RangeError);
});

Deno.test("bench:cluster: the order alternates; medians; the report", () => {
  assertEquals([1, 2, 3, 4].map(roundOrder), [
    ["standalone", "cluster"],
    ["cluster", "standalone"],
    ["standalone", "cluster"],
    ["cluster", "standalone"],
  ]);
  assertEquals([median([3, 1, 2]), median([4, 1, 2, 3]), median([])].map(String), [
    "2",
    "2.5",
    "NaN",
  ]);
  const text = formatClusterReport({
    startedAt: "t",
    command: "c",
    records: 10,
    size: 100,
    partitions: 1,
    librdkafka: "2.0.2",
    loadBefore: "1 1 1",
    loadAfter: "2 2 2",
    runs: [{
      round: 1,
      position: 1,
      side: "cluster",
      acks: -1,
      recPerSec: 500,
      mbPerSec: 0.05,
      seconds: 0.02,
      brokerCpuSeconds: [0.1, 0.2, 0.3],
      producerCpuSeconds: 0.1,
      brokerWarnings: [],
      brokerWarningCount: 3,
      brokerFences: 1,
      complete: true,
      duplicates: 7,
    }],
    medianRecPerSec: { standalone: 1000, cluster: 500 },
    ratio: 0.5,
    roundRatios: [0.5],
    undisturbedRatio: NaN,
  });
  for (
    const want of [
      "| 1 | 1 | cluster | all | 500 |",
      "0.10 / 0.20 / 0.30",
      "| 3 | 1 | all, 7 twice |",
      "**50.0%**",
    ]
  ) {
    if (!text.includes(want)) throw new Error(`report lacks ${want}:\n${text}`);
  }
});
