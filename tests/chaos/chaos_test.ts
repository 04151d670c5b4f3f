// Copyright 2026 the Sluice authors. Apache-2.0 license.
// The crash harness, bounded for CI: a broker process SIGKILLed 3 times per fsync mode (on, off)
// while confluent-kafka and Sluice's own client produce (idempotent, acks=all) to one partition
// with 1 MiB segments and one with the 1 GiB default, each reaching 64 MiB: past the 8 MiB
// recovery chunk whose boundary once deleted acknowledged records. Every acknowledged record must
// be there exactly once, at its offset, in order, as read by Sluice's consumer and by kcat.
// `deno task chaos` runs the long version (docs/RELIABILITY.md). CHAOS_SEED picks the seed.

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { interopTest, requireClients } from "../harness.ts";
import { DEFAULT_SEGMENT_BYTES, runChaos } from "./harness.ts";
import { resultTable, scenarioFigures } from "./main.ts";

const clients = requireClients(["kcat", "confluent-kafka"]);

interopTest(clients, "acknowledged records survive SIGKILLs at 64 MiB per partition", async () => {
  const seed = Number(Deno.env.get("CHAOS_SEED") ?? Math.floor(Math.random() * 2 ** 31));
  const kills = 3;
  const result = await runChaos({
    seed,
    kills,
    fsync: [true, false],
    segmentBytes: [1024 * 1024, DEFAULT_SEGMENT_BYTES],
    partitions: 1,
    bytesPerPartition: 64 * 1024 * 1024,
    recordBytes: 1000,
    batchRecords: 32,
    producers: ["confluent", "sluice"],
    recoveryKillRatio: 0.2,
    maxSeconds: 240,
    kcat: true,
    keep: false,
    log: (line) => console.log(line),
  });
  console.log(`seed ${seed} (CHAOS_SEED=${seed} repeats this run)\n${resultTable(result)}`);
  const failures = result.scenarios.flatMap((s) => s.failures.map((f) => `${s.label}: ${f}`));
  assertEquals(failures, []);
  for (const s of result.scenarios) {
    const f = scenarioFigures(s);
    assertEquals(
      [f.lost, f.misplaced, f.dup, f.reordered, f.gaps, f.corrupt, f["kcat agrees"]],
      ["0", "0", "0", "0", "0", "0", "yes"],
      s.label,
    );
    assertEquals(s.cycles.length, kills, s.label);
    assertEquals(s.producerRestarts, [], s.label);
    assertEquals(s.checks.length, 2, s.label);
    for (const c of s.checks) {
      assert(c.acked * 1000 >= 64 * 1024 * 1024, `${s.label} ${c.topic}: ${c.acked} acked`);
    }
    // Each producer went on after the last restart.
    assertEquals(Object.keys(s.cycles.at(-1)!.firstAckMs).length, 2, s.label);
    assertEquals(s.shutdownCode, 0, s.label);
  }
});
