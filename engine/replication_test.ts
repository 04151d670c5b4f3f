// A follower's log (cluster mode): appends of the leader's batches as they are, the high
// watermark the replication layer sets and checkpoints, truncation of a divergent tail, and the
// producer, transaction and leader-epoch state that must come out as the leader's.
import { deepStrictEqual, ok, rejects, strictEqual } from "node:assert/strict";
import { crcAt, partitionLeaderEpochAt, setPartitionLeaderEpochAt } from "../records/mod.ts";
import {
  EngineError,
  ErrorCode,
  LogManager,
  type LogManagerOptions,
  type PartitionLog,
} from "./mod.ts";
import {
  CLEAN_SHUTDOWN_FILE,
  LEADER_EPOCH_CHECKPOINT_FILE,
  REPLICATION_OFFSET_CHECKPOINT_FILE,
} from "./names.ts";
import { parseCheckpoint } from "./checkpoint.ts";
import { committedValues, marker, plain, Producers } from "./testdata/txn_helpers.ts";
import { splitBatches } from "./testdata/helpers.ts";

const OPTS: LogManagerOptions = { retentionCheckIntervalMs: 0, cleanerBackoffMs: 0 };
const A = 2001;
const B = 2002;

interface Pair {
  leader: () => PartitionLog;
  follower: () => PartitionLog;
  leaderMgr: () => LogManager;
  followerMgr: () => LogManager;
  followerDir: string;
  reopenFollower: () => Promise<PartitionLog>;
}

/** A leader and a follower data dir, each with topic `t` (one partition). */
async function withPair(
  configs: Record<string, string>,
  fn: (p: Pair) => Promise<void> | void,
): Promise<void> {
  const leaderDir = await Deno.makeTempDir({ prefix: "sluice-repl-leader-" });
  const followerDir = await Deno.makeTempDir({ prefix: "sluice-repl-follower-" });
  const lm = await LogManager.open(leaderDir, OPTS);
  let fm = await LogManager.open(followerDir, OPTS);
  try {
    await lm.createTopic("t", 1, configs);
    await fm.createTopic("t", 1, configs);
    await fn({
      leader: () => lm.partition("t", 0)!,
      follower: () => fm.partition("t", 0)!,
      leaderMgr: () => lm,
      followerMgr: () => fm,
      followerDir,
      reopenFollower: async () => {
        await fm.close();
        fm = await LogManager.open(followerDir, OPTS);
        return fm.partition("t", 0)!;
      },
    });
  } finally {
    await lm.close().catch(() => {});
    await fm.close().catch(() => {});
    await Deno.remove(leaderDir, { recursive: true });
    await Deno.remove(followerDir, { recursive: true });
  }
}

/** Copies what the follower lacks from the leader, in fetches of at most `maxBytes`. */
async function replicate(leader: PartitionLog, follower: PartitionLog, maxBytes = 1 << 20) {
  while (follower.logEndOffset < leader.logEndOffset) {
    const r = await leader.read(follower.logEndOffset, maxBytes, {
      maxOffset: leader.logEndOffset,
    });
    ok(r.records.length > 0, `nothing to fetch at ${follower.logEndOffset}`);
    await follower.appendAsFollower(r.records);
  }
}

/** Every stored byte of a log from its start, as a fetch returns it. */
async function logBytes(log: PartitionLog): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  let off = log.logStartOffset;
  while (off < log.logEndOffset) {
    const r = await log.read(off, 1 << 20, { maxOffset: log.logEndOffset });
    const batches = splitBatches(r.records);
    out.push(...batches.map((b) => b.bytes));
    off = batches[batches.length - 1].lastOffset + 1;
  }
  return out;
}

Deno.test("replication: follower appends keep the leader's offsets, epochs and bytes", async () => {
  await withPair({}, async ({ leader, follower }) => {
    const l = leader();
    await l.setLeaderEpoch(3);
    for (let i = 0; i < 5; i++) await l.append(plain([`a${i}`, `b${i}`]));
    await l.setLeaderEpoch(5);
    for (let i = 0; i < 4; i++) await l.append(plain([`c${i}`]));
    const f = follower();
    f.enableReplication();
    f.becomeFollower(5);
    await replicate(l, f, 100); // one batch per fetch
    strictEqual(f.logEndOffset, l.logEndOffset);
    deepStrictEqual(await logBytes(f), await logBytes(l));
    deepStrictEqual(f.leaderEpochEntries(), l.leaderEpochEntries());
    deepStrictEqual(f.leaderEpochEntries(), [
      { epoch: 3, startOffset: 0 },
      { epoch: 5, startOffset: 10 },
    ]);
    strictEqual(f.endOffsetForEpoch(3).endOffset, 10);
    // the follower stamps nothing: its epoch is the leader's, and the cache has no entry for it
    // until a batch of that epoch arrives
    strictEqual(f.leaderEpoch, 5);
  });
});

Deno.test("replication: a replicated log's high watermark moves only when set", async () => {
  await withPair({}, async ({ leader, follower }) => {
    const l = leader();
    for (let i = 0; i < 3; i++) await l.append(plain([`v${i}`]));
    const f = follower();
    // standalone (not replicated): the HW follows the log end, as today
    await f.appendAsFollower((await l.read(0, 1 << 20)).records);
    strictEqual(f.highWatermark, 3);
    await f.truncateTo(0);
    f.enableReplication();
    strictEqual(f.highWatermark, 0);
    await replicate(l, f);
    strictEqual(f.logEndOffset, 3);
    strictEqual(f.highWatermark, 0);
    // consumers read below the HW only
    strictEqual((await f.read(0, 1 << 20)).records.length, 0);
    strictEqual(f.setHighWatermark(2), true);
    strictEqual(splitBatches((await f.read(0, 1 << 20)).records).length, 2);
    strictEqual(f.setHighWatermark(1), false, "never backwards");
    strictEqual(f.highWatermark, 2);
    strictEqual(f.setHighWatermark(99), true);
    strictEqual(f.highWatermark, 3, "never past the log end");
    strictEqual(f.lastStableOffset, 3);
    // leader appends on a replicated log leave the HW too
    await f.append(plain(["own"]));
    strictEqual(f.logEndOffset, 4);
    strictEqual(f.highWatermark, 3);
    // truncation lowers it only below the new end
    await f.truncateTo(2);
    strictEqual(f.highWatermark, 2);
  });
});

Deno.test("replication: setHighWatermark on a standalone log is refused", async () => {
  await withPair({}, ({ leader }) => {
    try {
      leader().setHighWatermark(0);
      ok(false, "no error");
    } catch (e) {
      ok(e instanceof EngineError && e.code === ErrorCode.INVALID_REQUEST, String(e));
      ok((e as Error).message.includes("not replicated"), (e as Error).message);
    }
  });
});

Deno.test("replication: a follower append must start at the log end and be intact", async () => {
  await withPair({}, async ({ leader, follower }) => {
    const l = leader();
    for (let i = 0; i < 4; i++) await l.append(plain([`v${i}`]));
    const all = (await l.read(0, 1 << 20)).records;
    const batches = splitBatches(all);
    const f = follower();
    f.enableReplication();
    // a gap: batch 1 without batch 0
    await rejects(() => f.appendAsFollower(batches[1].bytes), (e: Error) => {
      ok(e instanceof EngineError && e.code === ErrorCode.OFFSET_OUT_OF_RANGE, String(e));
      strictEqual(
        e.message,
        "append as follower to t-0 failed: the first batch starts at offset 1, not at the log " +
          "end offset 0",
      );
      return true;
    });
    // batches out of order inside one append
    const swapped = new Uint8Array([...batches[0].bytes, ...batches[2].bytes]);
    await rejects(() => f.appendAsFollower(swapped), (e: Error) => {
      ok(e instanceof EngineError && e.code === ErrorCode.INVALID_RECORD, String(e));
      ok(e.message.includes("batch 1 starts at offset 2"), e.message);
      return true;
    });
    // a flipped byte: the CRC check (WASM) refuses it
    const bad = batches[0].bytes.slice();
    bad[bad.length - 1] ^= 0xff;
    await rejects(() => f.appendAsFollower(bad), (e: Error) => {
      ok(e instanceof EngineError && e.code === ErrorCode.CORRUPT_MESSAGE, String(e));
      return true;
    });
    await rejects(() => f.appendAsFollower(new Uint8Array(0)), EngineError);
    strictEqual(f.logEndOffset, 0);
    strictEqual(f.sizeInBytes, 0);
    // the valid prefix goes in; appending it again is refused (it no longer starts at the end)
    await f.appendAsFollower(all.subarray(0, batches[0].bytes.length + batches[1].bytes.length));
    strictEqual(f.logEndOffset, 2);
    await rejects(() => f.appendAsFollower(batches[1].bytes), EngineError);
    await f.appendAsFollower(all.subarray(batches[0].bytes.length * 2));
    deepStrictEqual(await logBytes(f), await logBytes(l));
    // CRCs untouched: the stored bytes are the leader's
    strictEqual(crcAt((await logBytes(f))[3], 0), crcAt(batches[3].bytes, 0));
  });
});

Deno.test("replication: producer and transaction state come out as the leader's", async () => {
  await withPair({ "segment.bytes": "2000" }, async ({ leader, follower, reopenFollower }) => {
    const l = leader();
    const ps = new Producers();
    await l.append(plain(["p0"]));
    await l.append(ps.txn(A, ["a1", "a2"]));
    await l.append(ps.idempotent(B, ["b1"]));
    await l.append(ps.idempotent(B, ["b2", "b3"]));
    await l.append(marker(A, false)); // abort
    await l.append(ps.txn(A, ["a3"], { epoch: 0 }));
    await l.append(marker(A, true)); // commit
    for (let i = 0; i < 30; i++) await l.append(ps.idempotent(B, [`bb${i}`, "x".repeat(200)]));
    const open = ps.txn(A, ["a-open"]);
    await l.append(open.slice());
    ok(l.segmentCount > 3, `${l.segmentCount} segments`);
    let f = follower();
    f.enableReplication();
    await replicate(l, f, 700); // several fetches, rolls inside follower appends
    deepStrictEqual(f.segmentBaseOffsets, l.segmentBaseOffsets);
    deepStrictEqual(f.producerStates(), l.producerStates());
    deepStrictEqual(f.ongoingTransactions(), l.ongoingTransactions());
    deepStrictEqual(
      f.abortedTransactions(0, f.logEndOffset),
      l.abortedTransactions(0, l.logEndOffset),
    );
    strictEqual(f.abortedTransactions(0, f.logEndOffset).length, 1);
    f.setHighWatermark(f.logEndOffset);
    strictEqual(f.lastStableOffset, l.lastStableOffset);
    ok(f.lastStableOffset < f.logEndOffset);
    deepStrictEqual(await committedValues(f, 0), await committedValues(l, 0));
    // the state survives a restart (snapshots taken at the follower's own rolls)
    f = await reopenFollower();
    deepStrictEqual(f.producerStates(), l.producerStates());
    deepStrictEqual(
      f.abortedTransactions(0, f.logEndOffset),
      l.abortedTransactions(0, l.logEndOffset),
    );
    // the follower becomes leader: a producer's retry of its last batch is a duplicate
    await f.setLeaderEpoch(1);
    const dup = await f.append(open.slice());
    strictEqual(dup.baseOffset, l.logEndOffset - 1);
    strictEqual(f.logEndOffset, l.logEndOffset);
  });
});

Deno.test("replication: truncating a follower trims producer, transaction and epoch state", async () => {
  await withPair({ "segment.bytes": "1500" }, async ({ leader, follower, reopenFollower }) => {
    const l = leader();
    const ps = new Producers();
    await l.setLeaderEpoch(1);
    for (let i = 0; i < 10; i++) await l.append(ps.idempotent(B, [`b${i}`, "y".repeat(100)]));
    const cut = l.logEndOffset;
    const stateAtCut = l.producerStates();
    const abortedAtCut = l.abortedTransactions(0, cut);
    const epochsAtCut = l.leaderEpochEntries();
    await l.setLeaderEpoch(2);
    await l.append(ps.txn(A, ["a1"]));
    await l.append(marker(A, false));
    await l.append(ps.txn(A, ["a2"]));
    for (let i = 0; i < 10; i++) await l.append(ps.idempotent(B, [`c${i}`, "z".repeat(100)]));
    let f = follower();
    f.enableReplication();
    f.becomeFollower(2); // as the replica manager does: epoch 2 has not started at the cut
    await replicate(l, f);
    f.setHighWatermark(cut);
    strictEqual(f.abortedTransactions(0, f.logEndOffset).length, 1);
    strictEqual(f.ongoingTransactions().length, 1);
    await f.truncateTo(cut);
    strictEqual(f.logEndOffset, cut);
    deepStrictEqual(f.producerStates(), stateAtCut);
    deepStrictEqual(f.abortedTransactions(0, f.logEndOffset), abortedAtCut);
    deepStrictEqual(f.ongoingTransactions(), []);
    deepStrictEqual(f.leaderEpochEntries(), epochsAtCut);
    strictEqual(f.highWatermark, cut);
    // and again after a restart (nothing of the cut tail comes back from a snapshot)
    f = await reopenFollower();
    f.enableReplication();
    deepStrictEqual(f.producerStates(), stateAtCut);
    deepStrictEqual(f.leaderEpochEntries(), epochsAtCut);
    strictEqual(f.highWatermark, cut);
    // fetching again gives the leader's state back
    await replicate(l, f);
    deepStrictEqual(f.producerStates(), l.producerStates());
    deepStrictEqual(f.leaderEpochEntries(), l.leaderEpochEntries());
    deepStrictEqual(await logBytes(f), await logBytes(l));
  });
});

Deno.test("replication: truncateFullyAndStartAt empties the log at the leader's start", async () => {
  await withPair({}, async ({ leader, follower }) => {
    const l = leader();
    const ps = new Producers();
    for (let i = 0; i < 5; i++) await l.append(ps.idempotent(A, [`v${i}`]));
    const f = follower();
    f.enableReplication();
    await replicate(l, f);
    f.setHighWatermark(5);
    await f.truncateFullyAndStartAt(40);
    strictEqual(f.logStartOffset, 40);
    strictEqual(f.logEndOffset, 40);
    strictEqual(f.highWatermark, 40);
    deepStrictEqual(f.producerStates(), []);
    deepStrictEqual(f.leaderEpochEntries(), []);
    deepStrictEqual(f.segmentBaseOffsets, [40]);
    // a batch starting there is taken
    const b = plain(["x"]);
    new DataView(b.buffer).setBigInt64(0, 40n);
    await f.appendAsFollower(b);
    strictEqual(f.logEndOffset, 41);
  });
});

Deno.test("replication: the high watermark is checkpointed and read back bounded by the log end", async () => {
  await withPair({}, async ({ leader, follower, followerMgr, followerDir, reopenFollower }) => {
    const l = leader();
    for (let i = 0; i < 6; i++) await l.append(plain([`v${i}`]));
    let f = follower();
    const path = `${followerDir}/${REPLICATION_OFFSET_CHECKPOINT_FILE}`;
    // standalone: no file, ever
    await f.appendAsFollower((await l.read(0, 1 << 20)).records);
    await followerMgr().flush();
    await rejects(() => Deno.stat(path), Deno.errors.NotFound);
    await f.truncateTo(0);
    f.enableReplication();
    await replicate(l, f);
    f.setHighWatermark(4);
    await followerMgr().checkpointHighWatermarks();
    deepStrictEqual(parseCheckpoint(await Deno.readTextFile(path)), [
      { topic: "t", partition: 0, offset: 4 },
    ]);
    f = await reopenFollower(); // close writes it too
    strictEqual(f.replicated, false);
    strictEqual(f.highWatermark, 6, "not replicated yet: the HW is the log end, as standalone");
    f.enableReplication();
    strictEqual(f.highWatermark, 4);
    // a checkpoint ahead of the log (its tail was lost) is bounded by the log end
    await f.truncateTo(3);
    strictEqual(f.highWatermark, 3);
    await followerMgr().close();
    await Deno.writeTextFile(path, "0\n1\nt 0 5\n");
    f = await reopenFollower();
    f.enableReplication();
    strictEqual(f.highWatermark, 3);
    // no entry: the HW starts at the log start offset
    await followerMgr().close();
    await Deno.writeTextFile(path, "0\n0\n");
    f = await reopenFollower();
    f.enableReplication();
    strictEqual(f.highWatermark, 0);
  });
});

Deno.test("replication: a compacted leader's gaps and emptied batches are taken", async () => {
  await withPair({ "cleanup.policy": "compact" }, async ({ leader, follower }) => {
    const l = leader();
    for (let i = 0; i < 6; i++) await l.append(plain([`v${i}`], ["same"]));
    const batches = splitBatches((await l.read(0, 1 << 20)).records);
    const f = follower();
    f.enableReplication();
    // as if the cleaner removed batches 0-2: the leader's next fetch starts at batch 3
    await f.appendAsFollower(batches[3].bytes);
    strictEqual(f.logEndOffset, 4);
    await f.appendAsFollower(new Uint8Array([...batches[4].bytes]));
    strictEqual(f.logEndOffset, 5);
    // the epoch of a batch is taken as stored, whatever the follower's own epoch
    const e7 = batches[5].bytes.slice();
    setPartitionLeaderEpochAt(e7, 0, 7);
    // (the CRC does not cover the partition leader epoch)
    await f.appendAsFollower(e7);
    strictEqual(partitionLeaderEpochAt((await f.read(5, 1 << 20, { maxOffset: 6 })).records, 0), 7);
    deepStrictEqual(f.leaderEpochEntries().at(-1), { epoch: 7, startOffset: 5 });
  });
});

Deno.test("replication: recovery takes epochs the checkpoint missed from the batches", async () => {
  await withPair({}, async ({ leader, follower, followerMgr, followerDir, reopenFollower }) => {
    const l = leader();
    await l.setLeaderEpoch(3);
    for (let i = 0; i < 3; i++) await l.append(plain([`a${i}`]));
    await l.setLeaderEpoch(5);
    for (let i = 0; i < 3; i++) await l.append(plain([`b${i}`]));
    const f = follower();
    f.enableReplication();
    await replicate(l, f);
    deepStrictEqual(f.leaderEpochEntries(), l.leaderEpochEntries());
    // a kill after the batches were written, before the epoch checkpoint was: no clean shutdown,
    // the checkpoint one epoch behind
    await followerMgr().close();
    await Deno.remove(`${followerDir}/${CLEAN_SHUTDOWN_FILE}`);
    await Deno.writeTextFile(`${followerDir}/t-0/${LEADER_EPOCH_CHECKPOINT_FILE}`, "0\n1\n3 0\n");
    const back = await reopenFollower();
    deepStrictEqual(back.leaderEpochEntries(), l.leaderEpochEntries());
    strictEqual(back.endOffsetForEpoch(3).endOffset, 3);
  });
});
