// Copyright 2026 the Sluice authors. Apache-2.0 license.
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { startBroker } from "../tests/harness.ts";
import { killRun } from "../tests/streams/kill_run.ts";

// The bar, bounded for CI: `deno task streams:chaos` runs 1M words and 20+ kills.
Deno.test({
  name: "exactly-once word count: an instance SIGKILLed and restarted mid-stream, every count once",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const broker = await startBroker();
    try {
      const r = await killRun({
        bootstrap: broker.bootstrap,
        lines: 4000,
        kills: 3,
        partitions: 2,
        guarantee: "exactly_once_v2",
        persistent: false,
        seed: 16,
        killWithinMs: 1000,
        timeoutMs: Number(Deno.env.get("KILL_TIMEOUT") ?? 180_000),
        log: Deno.env.get("KILL_DEBUG") ? console.log : undefined,
      });
      assertEquals(r.wrong, []);
      assertEquals(r.kills, 3);
      assertEquals(r.outputRecords, r.words);
    } finally {
      await broker.close();
    }
  },
});
