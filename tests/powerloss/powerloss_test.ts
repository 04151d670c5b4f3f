// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * The power-loss harness, bounded for CI: a real broker process on lazyfs with
 * `log.flush.interval.messages=1`, the Sluice-client and confluent-kafka idempotent producers,
 * offset commits and topic creations, 1 MiB segments, and a few seeded power cuts. The long run
 * is `deno task powerloss` (see docs/RELIABILITY.md).
 */

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { requireClient } from "../harness.ts";
import { runPowerLoss } from "./harness.ts";
import { lazyFsUnavailable } from "./lazyfs.ts";

const unavailable = await lazyFsUnavailable();
const ci = Deno.env.get("CI") === "true";
if (unavailable) console.warn(`${unavailable}: ${ci ? "failing (CI=true)" : "skipping"}`);
const confluent = requireClient("confluent-kafka");

Deno.test({
  name: "power loss: no acknowledged record, topic or commit is lost across 3 cuts",
  ignore: (unavailable !== null || confluent.ignore) && !ci,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    if (unavailable) throw new Error(unavailable);
    confluent.assertAvailable();
    const seed = Number(Deno.env.get("SLUICE_POWERLOSS_SEED") ?? 11);
    const report = await runPowerLoss({ cuts: 3, seed, cycleMs: [1500, 4000] });
    const summary = `seed ${seed}, work dir ${report.workDir}`;
    assertEquals(report.problems, [], summary);
    assertEquals(report.cuts, 3);
    assert(report.ackedBySluice > 1000, `Sluice client acked ${report.ackedBySluice} (${summary})`);
    assert(report.ackedByConfluent > 1000, `confluent acked ${report.ackedByConfluent}`);
    assert(report.commitsAcked > 0 && report.topicsCreated >= 2, summary);
    assert(report.largestPartition.segments >= 3, `segments: ${report.largestPartition.segments}`);
    assertEquals(report.recordsChecked >= report.ackedRecords, true, summary);
  },
});

Deno.test({
  name: "power loss: the checker catches a broker that acknowledges before fsync",
  ignore: unavailable !== null && !ci,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    if (unavailable) throw new Error(unavailable);
    // without log.flush.interval.messages=1 the active segments' acknowledged tails are only in
    // the page cache: the cut must take them, and the checker must say so
    const report = await runPowerLoss({
      cuts: 1,
      seed: 5,
      cycleMs: [2500, 3000],
      startupCutChance: 0,
      confluent: false,
      fsyncBeforeAck: false,
    });
    assert(report.ackedBySluice > 0);
    assert(
      report.problems.some((p) => /acknowledged records lost or moved/.test(p)),
      `no loss found: ${report.problems.join("; ")}`,
    );
    await Deno.remove(report.workDir, { recursive: true });
  },
});
