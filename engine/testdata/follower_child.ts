/**
 * Child process for the follower crash test: opens the data dir, creates the one-partition
 * topic `f` (if absent) with the given `segment.bytes` and `flush.messages`, makes its log
 * replicated, and copies {@linkcode leaderStream} from the log end offset on with
 * `appendAsFollower`, in fetch-sized groups, until about `totalBytes` are in the log. After
 * each append it prints `ACK <logEndOffset> <bytes>`, sets the high watermark to the end of the
 * append before it, and every fourth append writes `replication-offset-checkpoint` and prints
 * `HWCP <hw>`. Then `DONE <logEndOffset>`, and it waits to be SIGKILLed (no clean shutdown).
 *
 * Usage: deno run --allow-read --allow-write follower_child.ts <dir> <seed> <totalBytes>
 * <fetchBytes> <segmentBytes> <flushMessages> <baseTimestamp>
 *
 * @module
 */

import { LogManager } from "../mod.ts";
import { leaderStream } from "./leader_stream.ts";

const [dir, seed, totalBytes, fetchBytes, segmentBytes, flushMessages, baseTimestamp] = Deno.args;
const mgr = await LogManager.open(dir, { retentionCheckIntervalMs: 0, cleanerBackoffMs: 0 });
if (mgr.partition("f", 0) === undefined) {
  await mgr.createTopic("f", 1, {
    "segment.bytes": segmentBytes,
    "flush.messages": flushMessages,
  });
}
const log = mgr.partition("f", 0)!;
log.enableReplication();
const enc = new TextEncoder();
const say = (line: string) => Deno.stdout.writeSync(enc.encode(`${line}\n`));
const stream = leaderStream(Number(seed), Number(baseTimestamp));
let next = stream.next().value!;
while (next.baseOffset < log.logEndOffset) next = stream.next().value!;
if (next.baseOffset !== log.logEndOffset) {
  say(`ERROR log end offset ${log.logEndOffset} is not a batch boundary (${next.baseOffset})`);
  Deno.exit(2);
}
let appends = 0;
let prevEnd = log.logEndOffset;
while (log.sizeInBytes < Number(totalBytes)) {
  const parts: Uint8Array[] = [];
  let size = 0;
  while (size < Number(fetchBytes)) {
    parts.push(next.bytes);
    size += next.bytes.length;
    next = stream.next().value!;
  }
  const group = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    group.set(p, at);
    at += p.length;
  }
  const r = await log.appendAsFollower(group);
  say(`ACK ${r.logEndOffset} ${log.sizeInBytes}`);
  log.setHighWatermark(prevEnd);
  prevEnd = r.logEndOffset;
  if (++appends % 4 === 0) {
    await mgr.checkpointHighWatermarks();
    say(`HWCP ${log.highWatermark}`);
  }
}
say(`DONE ${log.logEndOffset}`);
setInterval(() => {}, 60_000); // stay alive until the parent's SIGKILL
