// Disk full, deterministically: a small tmpfs filled to the last page (or inode) makes writes,
// rolls and index writes fail with a real ENOSPC at a chosen point. Needs root (mount); outside
// CI a machine without it ignores these tests with a printed reason.
import assert from "node:assert/strict";
import { EngineError, ErrorCode, LogManager, type LogManagerOptions } from "./mod.ts";
import { makeBatch, splitBatches } from "./testdata/helpers.ts";
import { buildBatch } from "../wasm/testing.ts";
import { mountTmpfs, PAGE, tmpfsTest } from "./testdata/tmpfs.ts";
import { logDeleteDirName, TOPIC_METADATA_FILE } from "./names.ts";

interface Acked {
  base: number;
  last: number;
  bytes: Uint8Array;
}

function options(lines: string[]): LogManagerOptions {
  return {
    retentionCheckIntervalMs: 0,
    flushCheckpointIntervalMs: 0,
    cleanerBackoffMs: 0,
    logger: (m) => lines.push(m),
  };
}

/** Every acknowledged batch is read back exactly, at its offsets, and nothing else is there. */
async function assertAcked(mgr: LogManager, topic: string, acked: Acked[]): Promise<void> {
  const log = mgr.partition(topic, 0)!;
  const want = acked.length > 0 ? acked[acked.length - 1].last + 1 : 0;
  assert.equal(log.logEndOffset, want, `${topic}: log end offset`);
  let offset = 0;
  let i = 0;
  while (offset < log.logEndOffset) {
    const { records } = await log.read(offset, 1 << 20);
    assert.ok(records.length > 0, `${topic}: nothing read at ${offset}`);
    for (const b of splitBatches(records)) {
      const a = acked[i++];
      assert.ok(a, `${topic}: batch ${b.baseOffset} was never acknowledged`);
      assert.equal(b.baseOffset, a.base);
      assert.equal(b.lastOffset, a.last);
      assert.deepEqual(b.bytes, a.bytes, `${topic}: bytes of batch ${a.base}`);
      offset = b.lastOffset + 1;
    }
  }
  assert.equal(i, acked.length, `${topic}: acknowledged batches missing`);
}

async function append(mgr: LogManager, topic: string, batch: Uint8Array, acked: Acked[]) {
  const r = await mgr.partition(topic, 0)!.append(batch);
  acked.push({ base: r.baseOffset, last: r.lastOffset, bytes: batch.slice() });
  return r;
}

function isStorageError(re: RegExp) {
  return (e: unknown) => {
    assert.ok(e instanceof EngineError, `not an EngineError: ${e}`);
    assert.equal(e.code, ErrorCode.KAFKA_STORAGE_ERROR, e.message);
    assert.match(e.message, re);
    return true;
  };
}

async function sizeOf(path: string): Promise<number> {
  return (await Deno.stat(path)).size;
}

const SEG0 = "00000000000000000000";

for (const flush of ["default", "fsync before ack"]) {
  tmpfsTest(
    `disk full (flush ${flush}): a partial write is cut back; reads go on; appends resume`,
    () => partialWrite(flush === "default" ? {} : { "flush.messages": "1" }),
  );
}

async function partialWrite(configs: Record<string, string>): Promise<void> {
  await using fs = await mountTmpfs(8 << 20);
  const dir = `${fs.root}/data`;
  const lines: string[] = [];
  let mgr = await LogManager.open(dir, options(lines));
  try {
    await mgr.createTopic("t", 1, configs);
    const acked: Acked[] = [];
    for (let i = 0; i < 20; i++) {
      await append(
        mgr,
        "t",
        makeBatch(5, 2000, Date.now(), `a${i}`),
        acked,
      );
    }
    const logFile = `${dir}/t-0/${SEG0}.log`;
    const bytesAcked = acked.reduce((n, a) => n + a.bytes.length, 0);
    await fs.fill(PAGE); // one page (plus the active segment's slack) left
    const log = mgr.partition("t", 0)!;
    // a small write (synchronous path) and a large one (thread pool, CRC checked meanwhile)
    for (const valueBytes of [4000, 1000]) {
      const count = valueBytes === 4000 ? 5 : 400;
      const batch = makeBatch(count, valueBytes, Date.now(), `full-${count}`);
      await assert.rejects(
        () => log.append(batch),
        isStorageError(/^append to t-0 failed: No space left on device/),
      );
      assert.equal(await sizeOf(logFile), bytesAcked, "the partial write was not cut back");
      await assertAcked(mgr, "t", acked);
      assert.equal((await log.offsetForTime(-1))?.offset, acked[acked.length - 1].last + 1);
      assert.equal((await log.offsetForTime(0))?.offset, 0);
    }
    // producers retry for as long as the disk is full: each retry fails the same way, one line
    for (let i = 0; i < 20; i++) {
      await assert.rejects(() => log.append(makeBatch(5, 4000, Date.now(), "r")));
    }
    assert.equal(
      lines.filter((l) => l.startsWith("append to t-0 failed")).length,
      1,
      lines.join("\n"),
    );
    await fs.release();
    const r = await append(mgr, "t", makeBatch(400, 1000, Date.now(), "back"), acked);
    assert.equal(r.baseOffset, acked[acked.length - 2].last + 1);
    assert.ok(
      lines.some((l) => /appends to t-0 work again after 22 failed/.test(l)),
      lines.join("\n"),
    );
    await assertAcked(mgr, "t", acked);
    await mgr.close();
    mgr = await LogManager.open(dir, options(lines));
    await assertAcked(mgr, "t", acked);
  } finally {
    await mgr.close();
  }
}

tmpfsTest(
  "disk full: a roll that cannot create its segment undoes the request's earlier batches",
  async () => {
    await using fs = await mountTmpfs(4 << 20, 64);
    const dir = `${fs.root}/data`;
    const lines: string[] = [];
    let mgr = await LogManager.open(dir, options(lines));
    try {
      await mgr.createTopic("r", 1, { "segment.bytes": String(100 * 1024) });
      const acked: Acked[] = [];
      const idem = (seq: number, tag: string) =>
        buildBatch({
          records: Array.from({ length: 3 }, (_, i) => ({
            key: `${tag}/${i}`,
            value: new Uint8Array(10_000).fill(i),
          })),
          baseTimestamp: Date.now(),
          producerId: 7,
          producerEpoch: 0,
          baseSequence: seq,
        });
      // 60 KB in the first segment, by an idempotent producer (sequences 0..5)
      await append(mgr, "r", idem(0, "s0"), acked);
      await append(mgr, "r", idem(3, "s1"), acked);
      const log = mgr.partition("r", 0)!;
      await log.flush(); // index files exist
      const logFile = `${dir}/r-0/${SEG0}.log`;
      const before = await sizeOf(logFile);
      const leo = log.logEndOffset;
      // one request of two batches: the first fits, the second needs a new segment
      const request = () => {
        const a = idem(6, "s2");
        const b = idem(9, "s3");
        const both = new Uint8Array(a.length + b.length);
        both.set(a);
        both.set(b, a.length);
        return both;
      };
      await fs.exhaustInodes();
      await assert.rejects(
        () => log.append(request()),
        isStorageError(/^append to r-0 failed: No space left on device/),
      );
      assert.equal(await sizeOf(logFile), before, "the first batch of the request was not undone");
      assert.equal(log.logEndOffset, leo);
      assert.equal(log.segmentCount, 1);
      assert.deepEqual(
        [...Deno.readDirSync(`${dir}/r-0`)].map((e) => e.name).filter((n) => !n.startsWith(SEG0))
          .sort(),
        ["leader-epoch-checkpoint", "partition.metadata"],
      );
      await assertAcked(mgr, "r", acked);
      // with one inode the segment is created, but the producer snapshot cannot be written:
      // that is logged, and the append succeeds (the loader rebuilds the state from the log)
      await fs.releaseInodes();
      await fs.exhaustInodes(1);
      const req = request();
      const r = await log.append(req);
      assert.equal(r.baseOffset, leo);
      assert.equal(log.segmentCount, 2);
      for (const b of splitBatches(req)) {
        acked.push({
          base: b.baseOffset,
          last: b.lastOffset,
          bytes: b.bytes,
        });
      }
      assert.ok(
        lines.some((l) => /producer state snapshot at \d+ not written/.test(l)),
        lines.join("\n"),
      );
      await assertAcked(mgr, "r", acked);
      await fs.releaseInodes();
      await mgr.close();
      mgr = await LogManager.open(dir, options(lines));
      await assertAcked(mgr, "r", acked);
      // the retried request is a duplicate: the producer state was rebuilt from the log
      const again = await mgr.partition("r", 0)!.append(request());
      assert.equal(again.baseOffset, acked[acked.length - 2].base);
      await assertAcked(mgr, "r", acked);
    } finally {
      await mgr.close();
    }
  },
);

tmpfsTest(
  "disk full: a write into a just-rolled segment fails: the segment goes, the roll is undone",
  async () => {
    await using fs = await mountTmpfs(4 << 20);
    const dir = `${fs.root}/data`;
    const lines: string[] = [];
    let mgr = await LogManager.open(dir, options(lines));
    try {
      await mgr.createTopic("s", 1, { "segment.bytes": String(100 * 1024) });
      const acked: Acked[] = [];
      for (let i = 0; i < 2; i++) {
        await append(mgr, "s", makeBatch(3, 10_000, Date.now(), `a${i}`), acked);
      }
      const log = mgr.partition("s", 0)!;
      await log.flush();
      const logFile = `${dir}/s-0/${SEG0}.log`;
      const before = await sizeOf(logFile);
      const leo = log.logEndOffset;
      const rp = log.recoveryPoint;
      // two 30 KB batches: the first fits in the old segment and in the space left, the second
      // rolls a new segment and finds no space for its bytes
      const a = makeBatch(3, 10_000, Date.now(), "a");
      const b = makeBatch(3, 10_000, Date.now(), "b");
      const request = new Uint8Array(a.length + b.length);
      request.set(a);
      request.set(b, a.length);
      await fs.fill(9 * PAGE);
      await assert.rejects(() => log.append(request.slice()), isStorageError(/No space left/));
      assert.equal(await sizeOf(logFile), before);
      assert.equal(log.logEndOffset, leo);
      assert.equal(log.segmentCount, 1, "the rolled segment was kept");
      assert.equal(log.recoveryPoint, rp);
      const names = [...Deno.readDirSync(`${dir}/s-0`)].map((e) => e.name);
      assert.deepEqual(
        names.filter((n) =>
          !n.startsWith(SEG0) && n !== "partition.metadata" && n !== "leader-epoch-checkpoint"
        ),
        [],
      );
      await assertAcked(mgr, "s", acked);
      await fs.release();
      const req = request.slice();
      const r = await log.append(req);
      assert.equal(r.baseOffset, leo);
      assert.equal(log.segmentCount, 2);
      for (const x of splitBatches(req)) {
        acked.push({ base: x.baseOffset, last: x.lastOffset, bytes: x.bytes });
      }
      await assertAcked(mgr, "s", acked);
      await mgr.close();
      mgr = await LogManager.open(dir, options(lines));
      await assertAcked(mgr, "s", acked);
    } finally {
      await mgr.close();
    }
  },
);

tmpfsTest(
  "disk full: index files that cannot be written are logged, retried, never fail appends",
  async () => {
    await using fs = await mountTmpfs(2 << 20);
    const dir = `${fs.root}/data`;
    const lines: string[] = [];
    let mgr = await LogManager.open(dir, options(lines));
    try {
      await mgr.createTopic("x", 1, { "index.interval.bytes": "100" });
      const acked: Acked[] = [];
      const log = mgr.partition("x", 0)!;
      await append(mgr, "x", makeBatch(1, 10, Date.now(), "first"), acked);
      await fs.fill(0);
      // small appends fit in the slack of the active segment's last page
      for (let i = 0; i < 10; i++) {
        await append(
          mgr,
          "x",
          makeBatch(1, 100, Date.now(), `s${i}`),
          acked,
        );
      }
      const rp = log.recoveryPoint;
      for (let i = 0; i < 5; i++) await log.flush(); // fsync works; the index files cannot be written
      assert.equal(log.recoveryPoint, rp, "recovery point moved past unwritten index files");
      assert.equal(lines.filter((l) => /index files of segment 0 not written/.test(l)).length, 1);
      await assert.rejects(() => Deno.stat(`${dir}/x-0/${SEG0}.index`), Deno.errors.NotFound);
      await assertAcked(mgr, "x", acked);
      // a shutdown on a full disk cannot write them either: not a clean shutdown
      await assert.rejects(() => mgr.close(), isStorageError(/index files could not be written/));
      // restart while full: the log is re-validated; index writes fail again and are logged
      mgr = await LogManager.open(dir, options(lines));
      assert.equal(mgr.hadCleanShutdown, false);
      await assertAcked(mgr, "x", acked);
      await append(mgr, "x", makeBatch(1, 50, Date.now(), "still"), acked);
      await fs.release();
      await mgr.partition("x", 0)!.flush();
      assert.ok((await sizeOf(`${dir}/x-0/${SEG0}.index`)) > 0);
      assert.equal(mgr.partition("x", 0)!.recoveryPoint, mgr.partition("x", 0)!.logEndOffset);
      await mgr.close();
      mgr = await LogManager.open(dir, options(lines));
      assert.equal(mgr.hadCleanShutdown, true);
      await assertAcked(mgr, "x", acked);
    } finally {
      await mgr.close().catch(() => {});
    }
  },
);

Deno.test("ENOSPC from fsync during a roll is a failed fsync, not a full disk: offline", async () => {
  // (thin-provisioned and network file systems report lost writes so)
  const dir = await Deno.makeTempDir({ prefix: "sluice-fsync-roll-" });
  const lines: string[] = [];
  const original = Deno.FsFile.prototype.syncData;
  let mgr = await LogManager.open(dir, options(lines));
  try {
    await mgr.createTopic("g", 1, { "segment.bytes": "2000" });
    const acked: Acked[] = [];
    await append(mgr, "g", makeBatch(3, 500, Date.now(), "g0"), acked);
    const log = mgr.partition("g", 0)!;
    Deno.FsFile.prototype.syncData = () =>
      Promise.reject(
        Object.assign(new Error("No space left on device (os error 28)"), { code: "ENOSPC" }),
      );
    await assert.rejects(
      () => log.append(makeBatch(3, 500, Date.now(), "g1")), // rolls: fsyncs the old segment
      isStorageError(/^append to g-0 failed: fsync failed: No space left/),
    );
    Deno.FsFile.prototype.syncData = original;
    await assert.rejects(() => log.read(0, 1000), isStorageError(/offline/));
    await assert.rejects(() => mgr.close(), isStorageError(/log is offline/));
    mgr = await LogManager.open(dir, options(lines));
    await assertAcked(mgr, "g", acked);
  } finally {
    Deno.FsFile.prototype.syncData = original;
    await mgr.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a roll whose segment creation fails half-way leaves no empty segment file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sluice-half-roll-" });
  const lines: string[] = [];
  const original = Deno.remove;
  let mgr = await LogManager.open(dir, options(lines));
  try {
    await mgr.createTopic("h", 1, { "segment.bytes": "2000" });
    const acked: Acked[] = [];
    await append(mgr, "h", makeBatch(3, 500, Date.now(), "h0"), acked);
    const log = mgr.partition("h", 0)!;
    const next = `${dir}/h-0/${String(log.logEndOffset).padStart(20, "0")}`;
    // LogSegment.create opens the new .log, then clears stale index files: that step fails
    (Deno as { remove: typeof Deno.remove }).remove = (path, opts) => {
      if (String(path) === `${next}.index`) {
        return Promise.reject(Object.assign(new Error("Input/output error"), { code: "EIO" }));
      }
      return original(path, opts);
    };
    await assert.rejects(
      () => log.append(makeBatch(3, 500, Date.now(), "h1")),
      isStorageError(/Input/),
    );
    (Deno as { remove: typeof Deno.remove }).remove = original;
    await assert.rejects(() => Deno.stat(`${next}.log`), Deno.errors.NotFound);
    await mgr.close().catch(() => {});
    mgr = await LogManager.open(dir, options(lines));
    await assertAcked(mgr, "h", acked);
    await append(mgr, "h", makeBatch(3, 500, Date.now(), "h2"), acked);
    await mgr.close();
    mgr = await LogManager.open(dir, options(lines));
    await assertAcked(mgr, "h", acked);
  } finally {
    (Deno as { remove: typeof Deno.remove }).remove = original;
    await mgr.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a failed fsync takes the log offline (reads too) until reopen; nothing is acked", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sluice-fsync-" });
  const lines: string[] = [];
  const original = Deno.FsFile.prototype.syncData;
  let mgr = await LogManager.open(dir, options(lines));
  try {
    await mgr.createTopic("f", 1, { "flush.messages": "1" });
    const acked: Acked[] = [];
    for (let i = 0; i < 5; i++) {
      await append(mgr, "f", makeBatch(3, 100, Date.now(), `f${i}`), acked);
    }
    const log = mgr.partition("f", 0)!;
    let failures = 1;
    Deno.FsFile.prototype.syncData = function (this: Deno.FsFile) {
      if (failures-- > 0) {
        return Promise.reject(
          Object.assign(new Error("Input/output error (os error 5)"), { code: "EIO" }),
        );
      }
      return original.call(this);
    };
    await assert.rejects(
      () => log.append(makeBatch(3, 100, Date.now(), "lost")),
      isStorageError(/^append to f-0 failed: fsync failed: Input\/output error/),
    );
    // a second fsync would succeed, but proves nothing: the log stays offline
    await assert.rejects(
      () => log.append(makeBatch(1, 10, Date.now(), "x")),
      isStorageError(/offline/),
    );
    await assert.rejects(() => log.read(0, 1000), isStorageError(/offline/));
    await assert.rejects(() => log.offsetForTime(-2), isStorageError(/offline/));
    assert.ok(lines.some((l) => /^f-0 is offline until restart/.test(l)), lines.join("\n"));
    Deno.FsFile.prototype.syncData = original;
    // the data dir is not marked as cleanly shut down
    await assert.rejects(() => mgr.close(), isStorageError(/log is offline/));
    mgr = await LogManager.open(dir, options(lines));
    assert.equal(mgr.hadCleanShutdown, false);
    const l2 = mgr.partition("f", 0)!;
    // every acked batch is there; the unacknowledged one may be too (its write reached the cache)
    const { records } = await l2.read(0, 1 << 20);
    const got = splitBatches(records);
    for (let i = 0; i < acked.length; i++) assert.deepEqual(got[i].bytes, acked[i].bytes);
    assert.ok(got.length === acked.length || got.length === acked.length + 1);
    await l2.append(makeBatch(1, 10, Date.now(), "online again"));
  } finally {
    Deno.FsFile.prototype.syncData = original;
    await mgr.close();
    await Deno.remove(dir, { recursive: true });
  }
});

tmpfsTest("disk full: deleting a topic frees its space first; the next append works", async () => {
  await using fs = await mountTmpfs(4 << 20);
  const dir = `${fs.root}/data`;
  const lines: string[] = [];
  let mgr = await LogManager.open(dir, options(lines));
  try {
    await mgr.createTopic("keep", 1);
    const big = await mgr.createTopic("big", 2);
    const acked: Acked[] = [];
    await append(mgr, "keep", makeBatch(2, 100, Date.now(), "k"), acked);
    for (let i = 0; i < 20; i++) {
      await mgr.partition("big", i % 2)!.append(makeBatch(10, 5000, Date.now(), `b${i}`));
    }
    await fs.fill(0);
    await assert.rejects(
      () => mgr.partition("keep", 0)!.append(makeBatch(10, 5000, Date.now(), "no")),
      isStorageError(/No space left/),
    );
    await mgr.deleteTopic("big");
    assert.equal(mgr.topic("big"), undefined);
    await append(mgr, "keep", makeBatch(10, 5000, Date.now(), "yes"), acked);
    const left = [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n.startsWith("big"));
    assert.deepEqual(left, []);
    const file = JSON.parse(await Deno.readTextFile(`${dir}/${TOPIC_METADATA_FILE}`));
    assert.deepEqual(file.topics.map((t: { name: string }) => t.name), ["keep"]);
    assert.ok(!lines.some((l) => /failed/.test(l) && /delete/.test(l)), lines.join("\n"));
    await mgr.close();
    mgr = await LogManager.open(dir, options(lines));
    assert.equal(mgr.topic("big"), undefined);
    assert.equal(mgr.topicById(big.id), undefined);
    await assertAcked(mgr, "keep", acked);
  } finally {
    await mgr.close();
  }
});

Deno.test("deleteTopic: the topics file written after the data; a failure to write it is retried", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sluice-delete-" });
  const lines: string[] = [];
  const original = Deno.open;
  let mgr = await LogManager.open(dir, options(lines));
  try {
    const d = await mgr.createTopic("doomed", 2);
    await mgr.createTopic("other", 1);
    await mgr.partition("doomed", 1)!.append(makeBatch(2, 100, Date.now(), "d"));
    // every write of the topics file fails as on a full disk
    (Deno as { open: typeof Deno.open }).open = (path, opts) => {
      if (String(path).endsWith(`${TOPIC_METADATA_FILE}.tmp`)) {
        return Promise.reject(
          Object.assign(new Error("No space left on device (os error 28)"), { code: "ENOSPC" }),
        );
      }
      return original(path, opts);
    };
    await mgr.deleteTopic("doomed"); // the deletion stands (its commit point is the rename)
    assert.equal(mgr.topic("doomed"), undefined);
    assert.ok(lines.some((l) => /writing sluice-topics.json failed/.test(l)), lines.join("\n"));
    // the renamed directories stay, emptied, as the record of the deletion
    const markers = [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) =>
      n.endsWith("-delete")
    );
    assert.deepEqual(markers.sort(), [0, 1].map((p) => logDeleteDirName("doomed", p, d.id)).sort());
    for (const m of markers) assert.deepEqual([...Deno.readDirSync(`${dir}/${m}`)], []);
    await assert.rejects(() => Deno.stat(`${dir}/doomed-0`), Deno.errors.NotFound);
    // a shutdown cannot write it either: the loader finishes the deletion at the next open
    await mgr.close();
    (Deno as { open: typeof Deno.open }).open = original;
    const stale = JSON.parse(await Deno.readTextFile(`${dir}/${TOPIC_METADATA_FILE}`));
    assert.ok(stale.topics.some((t: { name: string }) => t.name === "doomed"));
    mgr = await LogManager.open(dir, options(lines));
    assert.equal(mgr.topic("doomed"), undefined);
    assert.ok(mgr.topic("other"));
    assert.deepEqual([...Deno.readDirSync(dir)].filter((e) => e.isDirectory).map((e) => e.name), [
      "other-0",
    ]);
    const fresh = JSON.parse(await Deno.readTextFile(`${dir}/${TOPIC_METADATA_FILE}`));
    assert.deepEqual(fresh.topics.map((t: { name: string }) => t.name), ["other"]);
  } finally {
    (Deno as { open: typeof Deno.open }).open = original;
    await mgr.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deleteTopic crash points: the loader finishes a deletion from its first rename on", async () => {
  const long = "L".repeat(249);
  // what a crash can leave, in deleteTopic's order of steps
  const states: [string, (dir: string, name: string, id: string) => Promise<void>, boolean][] = [
    ["before the first rename", async () => {}, false],
    ["after the first rename", async (dir, name, id) => {
      await Deno.rename(`${dir}/${name}-0`, `${dir}/${logDeleteDirName(name, 0, id)}`);
    }, true],
    ["after every rename, one directory emptied", async (dir, name, id) => {
      for (let p = 0; p < 3; p++) {
        await Deno.rename(`${dir}/${name}-${p}`, `${dir}/${logDeleteDirName(name, p, id)}`);
      }
      const m = `${dir}/${logDeleteDirName(name, 1, id)}`;
      for (const e of [...Deno.readDirSync(m)]) await Deno.remove(`${m}/${e.name}`);
    }, true],
    ["after the topics file was written", async (dir, name, id) => {
      for (let p = 0; p < 3; p++) {
        await Deno.rename(`${dir}/${name}-${p}`, `${dir}/${logDeleteDirName(name, p, id)}`);
      }
      const f = JSON.parse(await Deno.readTextFile(`${dir}/${TOPIC_METADATA_FILE}`));
      f.topics = f.topics.filter((t: { name: string }) => t.name !== name);
      await Deno.writeTextFile(`${dir}/${TOPIC_METADATA_FILE}`, JSON.stringify(f));
    }, true],
  ];
  for (const name of ["c", long]) {
    for (const [what, crash, gone] of states) {
      const dir = await Deno.makeTempDir({ prefix: "sluice-crash-delete-" });
      try {
        const lines: string[] = [];
        let mgr = await LogManager.open(dir, options(lines));
        const t = await mgr.createTopic(name, 3);
        await mgr.createTopic("bystander", 1);
        const acked: Acked[] = [];
        await append(mgr, "bystander", makeBatch(2, 10, Date.now(), "b"), acked);
        for (let p = 0; p < 3; p++) {
          await mgr.partition(name, p)!.append(makeBatch(2, 10, Date.now(), `p${p}`));
        }
        await mgr.close();
        await crash(dir, name, t.id);
        mgr = await LogManager.open(dir, options(lines));
        try {
          const label = `${name.length}-character topic, crash ${what}`;
          assert.equal(mgr.topic(name) === undefined, gone, label);
          const dirs = [...Deno.readDirSync(dir)].filter((e) => e.isDirectory).map((e) => e.name);
          const want = gone
            ? ["bystander-0"]
            : [...[0, 1, 2].map((p) => `${name}-${p}`), "bystander-0"];
          assert.deepEqual(dirs.sort(), want.sort(), label);
          if (!gone) assert.equal(mgr.partition(name, 2)!.logEndOffset, 2, label);
          await assertAcked(mgr, "bystander", acked);
          // a topic of the same name starts empty, at offset 0
          if (gone) {
            await mgr.createTopic(name, 1);
            assert.equal(mgr.partition(name, 0)!.logEndOffset, 0);
          }
        } finally {
          await mgr.close();
        }
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    }
  }
});

Deno.test("a 249-character topic is created, written, deleted, and no directory remains", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sluice-long-" });
  const lines: string[] = [];
  let mgr = await LogManager.open(dir, options(lines));
  try {
    const name = "x".repeat(249);
    await mgr.createTopic(name, 2);
    await mgr.partition(name, 1)!.append(makeBatch(3, 100, Date.now(), "long"));
    await mgr.deleteTopic(name);
    assert.deepEqual([...Deno.readDirSync(dir)].filter((e) => e.isDirectory), []);
    await mgr.close();
    mgr = await LogManager.open(dir, options(lines));
    assert.equal(mgr.topic(name), undefined);
  } finally {
    await mgr.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a re-created topic starts at offset 0, whatever the deleted one's log start offset", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sluice-recreate-" });
  let mgr = await LogManager.open(dir, options([]));
  try {
    await mgr.createTopic("again", 1);
    const log = mgr.partition("again", 0)!;
    for (let i = 0; i < 5; i++) await log.append(makeBatch(2, 10, Date.now(), `a${i}`));
    await log.deleteRecordsBefore(6);
    await mgr.close();
    mgr = await LogManager.open(dir, options([]));
    await mgr.deleteTopic("again");
    await mgr.createTopic("again", 1);
    assert.equal(mgr.partition("again", 0)!.logStartOffset, 0);
    assert.equal(mgr.partition("again", 0)!.logEndOffset, 0);
  } finally {
    await mgr.close();
    await Deno.remove(dir, { recursive: true });
  }
});
