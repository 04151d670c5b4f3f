import assert from "node:assert/strict";
import { LogManager } from "./mod.ts";
import {
  formatEpochCheckpoint,
  LeaderEpochCache,
  parseEpochCheckpoint,
} from "./leader_epoch_cache.ts";
import { LEADER_EPOCH_CHECKPOINT_FILE } from "./names.ts";
import { partitionLeaderEpochAt } from "../records/mod.ts";
import { makeBatch, splitBatches } from "./testdata/helpers.ts";

Deno.test("leader epoch cache: assign and endOffsetFor follow Kafka's LeaderEpochFileCache", () => {
  const c = new LeaderEpochCache("/unused");
  assert.deepEqual(c.endOffsetFor(0, 10), { epoch: -1, endOffset: -1 }); // empty
  assert.equal(c.assign(2, 6), true);
  assert.equal(c.assign(2, 9), false); // same epoch: the first start stays
  assert.equal(c.assign(1, 20), false); // older epoch: ignored
  assert.equal(c.assign(4, 11), true);
  assert.equal(c.assign(5, 15), true);
  assert.deepEqual(c.entries(), [
    { epoch: 2, startOffset: 6 },
    { epoch: 4, startOffset: 11 },
    { epoch: 5, startOffset: 15 },
  ]);
  const leo = 20;
  assert.deepEqual(c.endOffsetFor(5, leo), { epoch: 5, endOffset: 20 }); // latest: the LEO
  assert.deepEqual(c.endOffsetFor(4, leo), { epoch: 4, endOffset: 15 });
  assert.deepEqual(c.endOffsetFor(3, leo), { epoch: 2, endOffset: 11 }); // unknown: floor epoch
  assert.deepEqual(c.endOffsetFor(1, leo), { epoch: 1, endOffset: 6 }); // older than all
  assert.deepEqual(c.endOffsetFor(6, leo), { epoch: -1, endOffset: -1 }); // newer than all
  assert.deepEqual(c.endOffsetFor(-1, leo), { epoch: -1, endOffset: -1 });
  // a new epoch starting at or before existing entries replaces them
  assert.equal(c.assign(7, 11), true);
  assert.deepEqual(c.entries(), [{ epoch: 2, startOffset: 6 }, { epoch: 7, startOffset: 11 }]);
});

Deno.test("leader epoch cache: truncation from the end and the start", () => {
  const fresh = () =>
    new LeaderEpochCache("/unused", [
      { epoch: 0, startOffset: 0 },
      { epoch: 2, startOffset: 10 },
      { epoch: 3, startOffset: 20 },
    ]);
  let c = fresh();
  c.truncateFromEnd(20);
  assert.deepEqual(c.entries().map((e) => e.epoch), [0, 2]);
  c.truncateFromEnd(5);
  assert.deepEqual(c.entries(), [{ epoch: 0, startOffset: 0 }]);
  c = fresh();
  c.truncateFromStart(15); // epoch 2 now starts at the new log start
  assert.deepEqual(c.entries(), [{ epoch: 2, startOffset: 15 }, { epoch: 3, startOffset: 20 }]);
  c.truncateFromStart(20);
  assert.deepEqual(c.entries(), [{ epoch: 3, startOffset: 20 }]);
  c = fresh();
  assert.equal(c.dirty, false);
  c.truncateFromStart(0); // nothing below it
  assert.equal(c.dirty, false);
});

Deno.test("leader-epoch-checkpoint: Kafka's format, refused when malformed, trimmed to the log", async () => {
  const entries = [{ epoch: 0, startOffset: 0 }, { epoch: 3, startOffset: 17 }];
  assert.equal(formatEpochCheckpoint(entries), "0\n2\n0 0\n3 17\n");
  assert.deepEqual(parseEpochCheckpoint("0\n2\n0 0\n3 17\n"), entries);
  for (
    const bad of ["1\n0\n", "0\n2\n0 0\n", "0\n1\nx 1\n", "0\n2\n3 0\n2 5\n", "0\n2\n1 5\n2 5\n"]
  ) {
    assert.throws(() => parseEpochCheckpoint(bad), Error, bad);
  }
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/${LEADER_EPOCH_CHECKPOINT_FILE}`;
    await Deno.writeTextFile(path, "0\n3\n0 0\n1 50\n2 90\n");
    // the log ends at 60 (a crash lost its tail) and starts at 10 (retention)
    const { cache, found } = await LeaderEpochCache.load(dir, 10, 60);
    assert.equal(found, true);
    assert.deepEqual(cache.entries(), [{ epoch: 0, startOffset: 10 }, {
      epoch: 1,
      startOffset: 50,
    }]);
    await cache.flush();
    assert.equal(await Deno.readTextFile(path), "0\n2\n0 10\n1 50\n");
    const errors: string[] = [];
    await Deno.writeTextFile(path, "garbage");
    const bad = await LeaderEpochCache.load(dir, 0, 60, (m) => errors.push(m));
    assert.deepEqual([bad.found, bad.cache.entries()], [false, []]);
    assert.match(
      errors[0],
      /ignoring .*leader-epoch-checkpoint: unsupported version line "garbage"/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("partition log: batches carry the leader epoch; epochs persist, follow truncation and retention", async () => {
  const dir = await Deno.makeTempDir();
  try {
    let mgr = await LogManager.open(dir, { retentionCheckIntervalMs: 0 });
    await mgr.createTopic("ep", 1, { "segment.bytes": "1000", "file.delete.delay.ms": "0" });
    let log = mgr.partition("ep", 0)!;
    assert.equal(log.leaderEpoch, 0);
    for (let i = 0; i < 4; i++) await log.append(makeBatch(2, 100, Date.now(), `a${i}`));
    await log.setLeaderEpoch(3); // a leader change at offset 8
    await log.setLeaderEpoch(2); // older: ignored
    for (let i = 0; i < 4; i++) await log.append(makeBatch(2, 100, Date.now(), `b${i}`));
    assert.deepEqual(log.leaderEpochEntries(), [
      { epoch: 0, startOffset: 0 },
      { epoch: 3, startOffset: 8 },
    ]);
    let all: number[] = [];
    for (let off = 0; off < 16;) {
      const got = splitBatches((await log.read(off, 1 << 20)).records);
      all = all.concat(got.map((b) => partitionLeaderEpochAt(b.bytes, 0)));
      off = got.at(-1)!.lastOffset + 1;
    }
    assert.deepEqual(all, [0, 0, 0, 0, 3, 3, 3, 3]);
    assert.deepEqual(log.endOffsetForEpoch(0), { epoch: 0, endOffset: 8 });
    assert.deepEqual(log.endOffsetForEpoch(3), { epoch: 3, endOffset: 16 });
    assert.deepEqual(log.endOffsetForEpoch(1), { epoch: 0, endOffset: 8 });
    await mgr.close();
    assert.equal(
      await Deno.readTextFile(`${dir}/ep-0/${LEADER_EPOCH_CHECKPOINT_FILE}`),
      "0\n2\n0 0\n3 8\n",
    );
    mgr = await LogManager.open(dir, { retentionCheckIntervalMs: 0 });
    log = mgr.partition("ep", 0)!;
    assert.equal(log.leaderEpoch, 3);
    assert.deepEqual(log.endOffsetForEpoch(0), { epoch: 0, endOffset: 8 });
    // truncation into epoch 0 drops epoch 3 from the cache; the current epoch restarts there
    await log.truncateTo(6);
    assert.deepEqual(log.leaderEpochEntries(), [
      { epoch: 0, startOffset: 0 },
      { epoch: 3, startOffset: 6 },
    ]);
    // the log start moving past epoch 0's start folds it in
    await log.deleteRecordsBefore(4);
    assert.deepEqual(log.leaderEpochEntries()[0], { epoch: 0, startOffset: 4 });
    await mgr.close();
    assert.equal(
      await Deno.readTextFile(`${dir}/ep-0/${LEADER_EPOCH_CHECKPOINT_FILE}`),
      "0\n2\n0 4\n3 6\n",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a change undone before the flush writes nothing; one that stays is written", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/leader-epoch-checkpoint`;
    await Deno.writeTextFile(path, "0\n1\n0 0\n");
    const { cache } = await LeaderEpochCache.load(dir, 0, 0); // an empty log drops the entry
    assert.equal(cache.dirty, true);
    cache.assign(0, 0); // ... and its log assigns it again
    assert.equal(cache.dirty, false);
    const ino = (await Deno.stat(path)).ino;
    await cache.flush();
    assert.equal((await Deno.stat(path)).ino, ino);
    cache.assign(3, 0);
    assert.equal(cache.dirty, true);
    await cache.flush();
    assert.equal(await Deno.readTextFile(path), "0\n1\n3 0\n");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
