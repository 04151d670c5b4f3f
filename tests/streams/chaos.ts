// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * Issue #16's bar: an exactly-once word count over about 1M words, its Streams instance (a
 * subprocess) SIGKILLed at random moments at least 20 times and restarted; at the end every
 * word's counts in the output topic (read committed) are exactly 1, 2, …, n of the model.
 * One broker in this process. Exit status 1 on any wrong count.
 *
 * @example
 * ```sh
 * deno task streams:chaos                      # ~1M words, 24 kills, in-memory store
 * deno task streams:chaos --words 200000 --kills 20 --persistent
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import { startBroker } from "../harness.ts";
import { killRun } from "./kill_run.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    words: { type: "string", default: "1000000" },
    kills: { type: "string", default: "24" },
    partitions: { type: "string", default: "4" },
    seed: { type: "string", default: "2026" },
    persistent: { type: "boolean", default: false },
    "timeout-min": { type: "string", default: "60" },
  },
});

const broker = await startBroker();
let failed = false;
try {
  const r = await killRun({
    bootstrap: broker.bootstrap,
    // The generator's lines hold 4.5 words on average.
    lines: Math.ceil(Number(values.words) / 4.5),
    kills: Number(values.kills),
    partitions: Number(values.partitions),
    guarantee: "exactly_once_v2",
    persistent: values.persistent,
    seed: Number(values.seed),
    killWithinMs: 3000,
    timeoutMs: Number(values["timeout-min"]) * 60_000,
    log: (line) => console.log(`${new Date().toISOString()} ${line}`),
  });
  console.log(
    `words ${r.words} (distinct ${r.distinct}), kills ${r.kills}, output records ` +
      `${r.outputRecords}, wrong counts ${r.wrong.length}, ${(r.elapsedMs / 1000).toFixed(0)} s`,
  );
  for (const w of r.wrong.slice(0, 20)) console.log(`  ${w}`);
  failed = r.wrong.length > 0 || r.outputRecords !== r.words;
} catch (e) {
  console.error(`streams chaos: ${e instanceof Error ? e.message : e}`);
  failed = true;
} finally {
  await broker.close();
}
Deno.exit(failed ? 1 : 0);
