// Copyright 2026 the Sluice authors. Apache-2.0 license.
// The hot tail keeping large Produce batches in their pooled request frames, and holding nothing
// while nobody reads it (issue #17), against copying them into its ring, in one run (the copy is
// each group's baseline):
// - `HotTail.append` of ~1 MiB batches read into `FrameBufferPool` buffers, 4 MiB tail, read all
//   along (`touch`);
// - `PartitionLog.append` of a 1 MiB batch of 1 KiB records (the WASM check, the segment write
//   and the tail), the batch put into a pooled frame first as the socket read would: with a
//   reader of the log end (a 64-byte `readInto` after each append, which keeps the tail filled),
//   the tail copying or keeping; and with no reader, the tail empty.
// Run: deno bench --allow-all bench/hot_tail_bench.ts
import { HotTail } from "../engine/hot_tail.ts";
import { LogManager } from "../engine/mod.ts";
import { FrameBufferPool } from "../server/frame_buffer_pool.ts";
import { buildBatch, type TestRecord } from "../wasm/testing.ts";

const TAIL = 4 * 1024 * 1024;
const SPAN = 1_000_000;

function tailBench(keep: boolean): () => void {
  const pool = new FrameBufferPool();
  const tail = new HotTail(TAIL, 0);
  let offset = 0;
  const retain = (b: Uint8Array) => pool.retain(b);
  return () => {
    const frame = pool.borrow(SPAN + 100);
    const bytes = frame.subarray(100);
    tail.touch(); // read all along: a tail nobody reads holds nothing
    tail.append(bytes, [tail.end], [SPAN], [offset], [offset + 999], keep ? retain : undefined);
    offset += 1000;
    pool.give(frame);
  };
}

Deno.bench("hot tail: ~1 MiB batches kept in their frames", { group: "tail" }, tailBench(true));
Deno.bench(
  "hot tail: ~1 MiB batches copied into the ring",
  { group: "tail", baseline: true },
  tailBench(false),
);

const records: TestRecord[] = [];
for (let i = 0; i < 1000; i++) {
  const value = new Uint8Array(1024);
  for (let j = 0; j < value.length; j += 64) value[j] = (i + j) & 0xff;
  records.push({ key: null, value, timestampDelta: i });
}
const batch = buildBatch({ records, baseTimestamp: Date.now() });
const root = await Deno.makeTempDir({ prefix: "sluice-hot-tail-bench-" });
globalThis.addEventListener("unload", () => {
  try {
    Deno.removeSync(root, { recursive: true });
  } catch {
    // already gone
  }
});
const manager = await LogManager.open(root, {
  retentionCheckIntervalMs: 0,
  flushCheckpointIntervalMs: 0,
});
await manager.createTopic("kept", 1);
await manager.createTopic("copied", 1);
await manager.createTopic("unread", 1);

function appendBench(topic: string, keep: boolean, read: boolean): () => Promise<void> {
  const pool = new FrameBufferPool();
  const log = manager.partition(topic, 0)!;
  const retain = (b: Uint8Array) => pool.retain(b);
  const dest = new Uint8Array(64);
  return async () => {
    const frame = pool.borrow(batch.length);
    frame.set(batch);
    const r = await log.append(frame, keep ? retain : undefined);
    pool.give(frame);
    if (read) await log.readInto(r.baseOffset, dest);
  };
}

Deno.bench(
  "PartitionLog.append of 1 MiB, read: the tail keeps the frame",
  { group: "append", n: 150, warmup: 20 },
  appendBench("kept", true, true),
);
Deno.bench(
  "PartitionLog.append of 1 MiB, read: the tail copies the batch",
  { group: "append", baseline: true, n: 150, warmup: 20 },
  appendBench("copied", false, true),
);
Deno.bench(
  "PartitionLog.append of 1 MiB: nobody reads, the tail holds nothing",
  { group: "append", n: 150, warmup: 20 },
  appendBench("unread", true, false),
);
