// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * `deno task powerloss`: the power-loss harness (see `harness.ts`) from the command line.
 *
 * ```sh
 * deno task powerloss                      # 50 cuts, seed 1
 * deno task powerloss --cuts 100 --seed 7 --segment-bytes 1048576 --keep
 * ```
 *
 * Prints a progress line per cut, then the report as JSON; exits 1 if anything acknowledged was
 * lost. Needs root (FUSE), gcc, libfuse3-dev, fuse3 and `/usr/bin/python3` with confluent-kafka.
 *
 * @module
 */

import { killPowerLossChildren, runPowerLoss } from "./harness.ts";
import { lazyFsUnavailable } from "./lazyfs.ts";

function flag(name: string, fallback: number): number {
  const i = Deno.args.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = Number(Deno.args[i + 1]);
  if (!Number.isFinite(v)) {
    console.error(`powerloss: --${name} needs a number`);
    Deno.exit(2);
  }
  return v;
}

if (import.meta.main) {
  const unavailable = await lazyFsUnavailable();
  if (unavailable) {
    console.error(`powerloss: ${unavailable}`);
    Deno.exit(2);
  }
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    Deno.addSignalListener(signal, () => {
      killPowerLossChildren();
      Deno.exit(130);
    });
  }
  const report = await runPowerLoss({
    cuts: flag("cuts", 50),
    seed: flag("seed", 1),
    segmentBytes: flag("segment-bytes", 1024 * 1024),
    valueBytes: flag("value-bytes", 512),
    cycleMs: [flag("min-cycle-ms", 1000), flag("max-cycle-ms", 6000)],
    fullCheckEvery: flag("full-check-every", 10),
    maxBytesPerPartition: flag("max-partition-bytes", 32 * 1024 * 1024),
    confluent: !Deno.args.includes("--no-confluent"),
    fsyncBeforeAck: !Deno.args.includes("--no-fsync"),
    keep: Deno.args.includes("--keep"),
    log: (line) => console.log(line),
  });
  console.log(JSON.stringify(report, null, 2));
  console.log(
    `${report.cuts} cuts (${report.startupCuts} during start-up), ${report.ackedRecords} ` +
      `acknowledged records (${report.ackedBySluice} Sluice client, ${report.ackedByConfluent} ` +
      `confluent-kafka), ${report.topicsCreated} topics, ${report.commitsAcked} commits, ` +
      `${report.problems.length} problems, ${(report.durationMs / 1000).toFixed(0)} s`,
  );
  Deno.exit(report.problems.length === 0 ? 0 : 1);
}
