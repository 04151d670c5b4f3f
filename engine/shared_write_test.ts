// Appends waiting for the same partition share one segment write (issue #17): offsets in call
// order, every batch stored byte for byte, each request answered once its bytes are written (and
// fsynced where configured), a failed shared write failing exactly its own requests, and the
// index and recovery right afterwards.
import assert from "node:assert/strict";
import { EngineError, ErrorCode, LogManager, type PartitionLog } from "./mod.ts";
import { OUT_OF_ORDER_SEQUENCE_NUMBER } from "./producer_state.ts";
import { buildBatch, concatBytes, makeBatch, prng, splitBatches } from "./testdata/helpers.ts";

/** One append's request: its batches (modified in place by the append) and its tag. */
interface Sent {
  bytes: Uint8Array;
  batches: number;
  records: number;
}

/** A request of 1-3 batches of 1-6 records, 20-700 B values, seeded. */
function request(rand: () => number, tag: string): Sent {
  const parts: Uint8Array[] = [];
  let records = 0;
  const batches = 1 + Math.floor(rand() * 3);
  for (let b = 0; b < batches; b++) {
    const n = 1 + Math.floor(rand() * 6);
    records += n;
    parts.push(makeBatch(n, 20 + Math.floor(rand() * 680), Date.now(), `${tag}.${b}`));
  }
  return { bytes: concatBytes(parts), batches, records };
}

/** Counts the file writes (segment writes are `writeSync` below 256 KiB) until restored. */
function countWrites(): { count: () => number; restore: () => void } {
  const original = Deno.FsFile.prototype.writeSync;
  let n = 0;
  Deno.FsFile.prototype.writeSync = function (this: Deno.FsFile, p: Uint8Array) {
    n++;
    return original.call(this, p);
  };
  return { count: () => n, restore: () => (Deno.FsFile.prototype.writeSync = original) };
}

/** Every request's batches are stored exactly, from its base offset on, and nothing else. */
async function assertStored(
  log: PartitionLog,
  sent: Sent[],
  bases: number[],
): Promise<void> {
  const want = sent.flatMap((s) => splitBatches(s.bytes));
  const got: ReturnType<typeof splitBatches> = [];
  for (let off = 0; off < log.logEndOffset;) {
    const b = splitBatches((await log.read(off, 1 << 20)).records);
    assert.ok(b.length > 0, `nothing read at ${off}`);
    got.push(...b);
    off = b[b.length - 1].lastOffset + 1;
  }
  assert.equal(got.length, want.length, "batches stored");
  for (let i = 0; i < want.length; i++) {
    assert.deepEqual(got[i].bytes, want[i].bytes, `batch ${i} at offset ${got[i].baseOffset}`);
  }
  // the offset index finds every request's first batch
  for (let i = 0; i < sent.length; i++) {
    const first = splitBatches((await log.read(bases[i], 1)).records)[0];
    assert.equal(first.baseOffset, bases[i], `read at request ${i}'s base offset`);
    assert.deepEqual(first.bytes, splitBatches(sent[i].bytes)[0].bytes);
  }
}

Deno.test("concurrent appends to one partition share segment writes: offsets in call order, bytes identical, rolls, index and recovery right", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sluice-shared-write-" });
  const copy = await Deno.makeTempDir({ prefix: "sluice-shared-write-crash-" });
  const mgr = await LogManager.open(dir, { retentionCheckIntervalMs: 0 });
  let writes: ReturnType<typeof countWrites> | undefined;
  try {
    // small segments and a dense index: shared writes meet rolls and index entries
    await mgr.createTopic("s", 1, { "segment.bytes": "65536", "index.interval.bytes": "512" });
    const log = mgr.partition("s", 0)!;
    const rand = prng(17);
    const sent = Array.from({ length: 400 }, (_, i) => request(rand, `s${i}`));
    writes = countWrites();
    // 400 producers with one request each, all waiting for the partition at once
    const results = await Promise.all(sent.map((s) => log.append(s.bytes)));
    const n = writes.count();
    writes.restore();
    let next = 0;
    results.forEach((r, i) => {
      assert.equal(r.baseOffset, next, `request ${i}'s base offset`);
      assert.equal(r.recordCount, sent[i].records);
      next += sent[i].records;
      assert.equal(r.lastOffset, next - 1);
    });
    assert.equal(log.logEndOffset, next);
    assert.ok(log.segmentCount >= 5, `segments: ${log.segmentCount}`);
    // one write per request before; now one per group (plus the index files of each roll)
    assert.ok(n < sent.length / 4, `${n} writes for ${sent.length} requests`);
    const bases = results.map((r) => r.baseOffset);
    await assertStored(log, sent, bases);
    // what a crash now leaves (no clean shutdown, indexes of the active segment unwritten):
    // the loader recovers it from the log alone
    await new Deno.Command("cp", { args: ["-a", `${dir}/.`, copy] }).output();
    await Deno.remove(`${copy}/.lock`).catch(() => {});
    const crashed = await LogManager.open(copy, { retentionCheckIntervalMs: 0 });
    try {
      const again = crashed.partition("s", 0)!;
      assert.equal(again.logEndOffset, next);
      await assertStored(again, sent, bases);
      // and takes appends after them
      const r = await again.append(makeBatch(2, 10, Date.now(), "after"));
      assert.equal(r.baseOffset, next);
    } finally {
      await crashed.close();
    }
  } finally {
    writes?.restore();
    await mgr.close();
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(copy, { recursive: true });
  }
});

Deno.test("fsync before ack: requests sharing a write are answered only after its fsync", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sluice-shared-fsync-" });
  const mgr = await LogManager.open(dir, { retentionCheckIntervalMs: 0 });
  const writeSync = Deno.FsFile.prototype.writeSync;
  const syncData = Deno.FsFile.prototype.syncData;
  try {
    await mgr.createTopic("f", 1, { "flush.messages": "1" });
    const log = mgr.partition("f", 0)!;
    const events: string[] = [];
    Deno.FsFile.prototype.writeSync = function (this: Deno.FsFile, p: Uint8Array) {
      events.push("write");
      return writeSync.call(this, p);
    };
    Deno.FsFile.prototype.syncData = function (this: Deno.FsFile) {
      events.push("sync-start");
      return syncData.call(this).then(() => void events.push("sync"));
    };
    const rand = prng(5);
    const results = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        log.append(request(rand, `f${i}`).bytes).then((r) => {
          events.push(`ack ${i}`);
          return r;
        })),
    );
    Deno.FsFile.prototype.writeSync = writeSync;
    Deno.FsFile.prototype.syncData = syncData;
    assert.ok(events.filter((e) => e === "write").length < 30, events.join(" "));
    // every acknowledgement follows a completed fsync that started after the last write before it
    for (let i = 0; i < events.length; i++) {
      if (!events[i].startsWith("ack")) continue;
      const lastWrite = events.lastIndexOf("write", i);
      const synced = events.indexOf("sync", lastWrite);
      const started = events.indexOf("sync-start", lastWrite);
      assert.ok(
        lastWrite >= 0 && started > lastWrite && synced > started && synced < i,
        `${events[i]} without an fsync after its write: ${events.slice(0, i + 1).join(" ")}`,
      );
    }
    assert.equal(log.recoveryPoint, results.at(-1)!.lastOffset + 1);
  } finally {
    Deno.FsFile.prototype.writeSync = writeSync;
    Deno.FsFile.prototype.syncData = syncData;
    await mgr.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a failed shared write fails exactly its own requests; idempotent producers and duplicates among shared writes", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sluice-shared-fail-" });
  const lines: string[] = [];
  const mgr = await LogManager.open(dir, {
    retentionCheckIntervalMs: 0,
    logger: (m) => lines.push(m),
  });
  const writeSync = Deno.FsFile.prototype.writeSync;
  try {
    await mgr.createTopic("e", 1);
    const log = mgr.partition("e", 0)!;
    const rand = prng(9);
    // a producer with sequences, its requests between others' in the same queue
    const idem = (seq: number, tag: string) =>
      buildBatch({
        records: [{ key: tag, value: new Uint8Array(50).fill(seq) }],
        baseTimestamp: Date.now(),
        producerId: 7,
        producerEpoch: 0,
        baseSequence: seq,
      });
    await log.append(idem(0, "p0")); // the producer's first batch, alone
    // the second write from here fails as on a full disk: its requests fail, the log stays online
    let calls = 0;
    Deno.FsFile.prototype.writeSync = function (this: Deno.FsFile, p: Uint8Array) {
      if (++calls === 2) {
        throw Object.assign(new Error("No space left on device (os error 28)"), {
          code: "ENOSPC",
        });
      }
      return writeSync.call(this, p);
    };
    const sent: (Sent | undefined)[] = [];
    const pending: Promise<unknown>[] = [];
    for (let i = 0; i < 40; i++) {
      if (i === 12 || i === 25) {
        // sequences 1 and 2 of the producer: each ends the shared write it is in
        const b = idem(i === 12 ? 1 : 2, `p${i}`);
        sent.push({ bytes: b, batches: 1, records: 1 });
        pending.push(log.append(b));
      } else if (i === 30) {
        // a duplicate of sequence 0: its original offsets, nothing written
        sent.push(undefined);
        pending.push(log.append(idem(0, "p0")));
      } else if (i === 33) {
        // out of order (the producer's next is 2): refused, the others unaffected
        sent.push(undefined);
        pending.push(log.append(idem(9, "p9")));
      } else {
        const s = request(rand, `e${i}`);
        sent.push(s);
        pending.push(log.append(s.bytes));
      }
    }
    const settled = await Promise.allSettled(pending);
    Deno.FsFile.prototype.writeSync = writeSync;
    const failed = settled.flatMap((r, i) => r.status === "rejected" && i !== 33 ? [i] : []);
    // one queue: requests 0-12 share the first write (the producer's request 12 ends it: its
    // state is committed before anyone is checked against it), 13-25 the second, which fails:
    // all of them fail (the producer's sequence 2 too), nothing else does
    assert.deepEqual(failed, Array.from({ length: 13 }, (_, i) => i + 13));
    for (const i of failed) {
      const e = (settled[i] as PromiseRejectedResult).reason;
      assert.ok(e instanceof EngineError && e.code === ErrorCode.KAFKA_STORAGE_ERROR, String(e));
      assert.match(e.message, /^append to e-0 failed: .*No space left/);
    }
    const bad = settled[33] as PromiseRejectedResult;
    assert.equal(bad.status, "rejected");
    assert.equal((bad.reason as EngineError).code, OUT_OF_ORDER_SEQUENCE_NUMBER);
    const dup = settled[30] as PromiseFulfilledResult<{ baseOffset: number }>;
    assert.equal(dup.value.baseOffset, 0);
    // what was acknowledged is stored, in call order, contiguously after the first batch
    const kept: Sent[] = [];
    let next = 1;
    settled.forEach((r, i) => {
      if (r.status !== "fulfilled" || i === 30) return;
      const v = r.value as { baseOffset: number; lastOffset: number };
      assert.equal(v.baseOffset, next, `request ${i}`);
      next = v.lastOffset + 1;
      kept.push(sent[i]!);
    });
    assert.equal(log.logEndOffset, next);
    const stored = splitBatches((await log.read(1, 1 << 20)).records);
    const want = kept.flatMap((s) => splitBatches(s.bytes));
    assert.deepEqual(stored.map((b) => b.bytes), want.map((b) => b.bytes));
    assert.ok(lines.some((l) => /partial write was undone/.test(l)), lines.join("\n"));
    // sequence 2 failed with its write (so 9 was out of order): the producer retries it
    const r = await log.append(idem(2, "p2-again"));
    assert.equal(r.baseOffset, next);
  } finally {
    Deno.FsFile.prototype.writeSync = writeSync;
    await mgr.close();
    await Deno.remove(dir, { recursive: true });
  }
});
