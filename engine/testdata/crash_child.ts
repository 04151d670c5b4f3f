/**
 * Child process for the crash test: opens the data dir given as the first argument, creates
 * topic `crash` (flush.messages=1) if missing, and appends batches forever with a few appends in
 * flight, printing `<baseOffset> <lastOffset> <tag>` for every acknowledged append. The parent
 * SIGKILLs it at random moments.
 *
 * Usage: deno run --allow-read --allow-write crash_child.ts <dir> <run>
 *
 * @module
 */

import { LogManager } from "../mod.ts";
import { makeBatch } from "./helpers.ts";

const [dir, run] = Deno.args;
const mgr = await LogManager.open(dir, { retentionCheckIntervalMs: 0 });
if (!mgr.topic("crash")) {
  await mgr.createTopic("crash", 1, {
    "flush.messages": "1",
    "segment.bytes": "16384",
    "index.interval.bytes": "512",
  });
}
const log = mgr.partition("crash", 0)!;
const enc = new TextEncoder();
Deno.stdout.writeSync(enc.encode(`READY ${log.logEndOffset}\n`));
let i = 0;
async function worker(): Promise<void> {
  while (true) {
    const tag = `${run}-${i++}`;
    const batch = makeBatch(1 + (i % 5), 50 + ((i * 37) % 300), Date.now(), tag);
    const r = await log.append(batch);
    Deno.stdout.writeSync(enc.encode(`${r.baseOffset} ${r.lastOffset} ${tag}\n`));
  }
}
await Promise.all([worker(), worker(), worker(), worker()]);
