/**
 * Child process for the large crash test: opens the data dir, creates a one-partition topic with
 * the given `segment.bytes` and `flush.messages`, appends about `totalBytes` of 64 KiB batches
 * (one append at a time), prints `<baseOffset> <lastOffset> <tag>` for every acknowledged append,
 * then `DONE <logEndOffset>`, and waits to be SIGKILLed (no clean shutdown).
 *
 * Usage: deno run --allow-read --allow-write bulk_child.ts <dir> <topic> <segmentBytes>
 * <totalBytes> <flushMessages>
 *
 * @module
 */

import { LogManager } from "../mod.ts";
import { makeBatch } from "./helpers.ts";

const [dir, topic, segmentBytes, totalBytes, flushMessages] = Deno.args;
const mgr = await LogManager.open(dir, { retentionCheckIntervalMs: 0 });
await mgr.createTopic(topic, 1, {
  "segment.bytes": segmentBytes,
  "flush.messages": flushMessages,
});
const log = mgr.partition(topic, 0)!;
const enc = new TextEncoder();
let written = 0;
for (let i = 0; written < Number(totalBytes); i++) {
  const tag = `b${i}`;
  const batch = makeBatch(63, 1000, Date.now(), tag);
  written += batch.length;
  const r = await log.append(batch);
  Deno.stdout.writeSync(enc.encode(`${r.baseOffset} ${r.lastOffset} ${tag}\n`));
}
Deno.stdout.writeSync(enc.encode(`DONE ${log.logEndOffset}\n`));
setInterval(() => {}, 60_000); // stay alive until the parent's SIGKILL
