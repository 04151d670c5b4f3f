/**
 * Child process for the cleaner crash test: opens the data dir given as the first argument,
 * creates the compacted topic `cc` (flush.messages=1, small segments) if missing, then appends
 * keyed batches forever while log cleaner passes run back to back. Prints
 * `ACK <key>=<seq> ...` for every acknowledged (fsynced) batch. The parent SIGKILLs it.
 *
 * Usage: deno run --allow-read --allow-write cleaner_child.ts <dir> <run>
 *
 * @module
 */

import { LogManager } from "../mod.ts";
import { buildBatch } from "../../wasm/testing.ts";

const [dir, run] = Deno.args;
const mgr = await LogManager.open(dir, { retentionCheckIntervalMs: 0, cleanerBackoffMs: 0 });
if (!mgr.topic("cc")) {
  await mgr.createTopic("cc", 1, {
    "cleanup.policy": "compact",
    "flush.messages": "1",
    "segment.bytes": "2048",
    "index.interval.bytes": "256",
    "file.delete.delay.ms": "0",
  });
}
const log = mgr.partition("cc", 0)!;
const enc = new TextEncoder();
Deno.stdout.writeSync(enc.encode(`READY ${log.logEndOffset}\n`));
let seq = Number(run) * 1_000_000;
async function producer(): Promise<void> {
  while (true) {
    const records = [];
    for (let j = 0; j < 4; j++) {
      const s = seq++;
      const key = `k${(s * 7919) % 40}`;
      records.push({ key, value: `${key}:${s}` });
    }
    await log.append(buildBatch({ records, baseTimestamp: Date.now() }));
    const line = records.map((r) => `${r.key}=${r.value.split(":")[1]}`).join(" ");
    Deno.stdout.writeSync(enc.encode(`ACK ${line}\n`));
  }
}
async function cleaner(): Promise<void> {
  while (true) {
    await mgr.runCleaner({ force: true });
    await new Promise((r) => setTimeout(r, 1));
  }
}
await Promise.all([producer(), producer(), cleaner()]);
