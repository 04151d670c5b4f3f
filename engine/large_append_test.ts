// Large appends (≥ 256 KiB) are checked (CRC-32C, records) while they are written; a failure
// truncates the file back before `append` rejects. These tests pin "bad input leaves the log
// unchanged" at the moment `append` settles, for that path.
import { RECORD_BATCH_OVERHEAD } from "../records/mod.ts";
import assert from "node:assert/strict";
import { EngineError, ErrorCode, LogManager, type PartitionLog } from "./mod.ts";
import { BatchStatus, scanBatches } from "../wasm/mod.ts";
import { bytesEqual, concatBytes, fixCrc, makeBatch, splitBatches } from "./testdata/helpers.ts";

const MIB_BATCH_RECORDS = 1000; // 1000 records of 1 KiB: a ~1 MiB batch

function bigBatch(tag: string, records = MIB_BATCH_RECORDS): Uint8Array {
  return makeBatch(records, 1024, Date.now(), tag);
}

/** All `.log` bytes of a partition directory, in file-name order. */
async function logBytes(dir: string): Promise<Uint8Array> {
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) if (e.name.endsWith(".log")) names.push(e.name);
  names.sort();
  return concatBytes(await Promise.all(names.map((n) => Deno.readFile(`${dir}/${n}`))));
}

async function withLog(
  config: Record<string, string>,
  fn: (log: PartitionLog, dir: string) => Promise<void>,
): Promise<void> {
  const root = await Deno.makeTempDir();
  const mgr = await LogManager.open(root, { retentionCheckIntervalMs: 0 });
  try {
    await mgr.createTopic("big", 1, config);
    await fn(mgr.partition("big", 0)!, `${root}/big-0`);
  } finally {
    await mgr.close();
    await Deno.remove(root, { recursive: true });
  }
}

async function assertRefusedUnchanged(
  log: PartitionLog,
  dir: string,
  input: Uint8Array,
  code: number,
  message: RegExp,
): Promise<void> {
  const leo = log.logEndOffset;
  const size = log.sizeInBytes;
  const bytes = await logBytes(dir);
  await assert.rejects(() => log.append(input), (e: unknown) => {
    assert.ok(e instanceof EngineError, `expected an EngineError, got ${e}`);
    assert.equal(e.code, code);
    assert.match(e.message, message);
    return true;
  });
  // checked the moment append settled: nothing moved, nothing is left in the file
  assert.equal(log.logEndOffset, leo);
  assert.equal(log.sizeInBytes, size);
  assert.ok(bytesEqual(await logBytes(dir), bytes), "log file bytes changed");
}

Deno.test("a 1 MiB batch with a bad CRC leaves LEO, file size and bytes unchanged", async () => {
  await withLog({}, async (log, dir) => {
    const first = bigBatch("first");
    assert.ok(first.length > 1_000_000);
    assert.equal((await log.append(first)).baseOffset, 0);
    const bad = bigBatch("bad");
    bad[bad.length >> 1] ^= 0x40;
    await assertRefusedUnchanged(
      log,
      dir,
      bad,
      ErrorCode.CORRUPT_MESSAGE,
      /^append to big-0 failed: batch 0 at byte 0: bad CRC/,
    );
    // the log goes on: the next append gets the next offset and reads return exactly the good data
    const second = bigBatch("second");
    const r = await log.append(second);
    assert.equal(r.baseOffset, MIB_BATCH_RECORDS);
    assert.equal(r.lastOffset, 2 * MIB_BATCH_RECORDS - 1);
    const stored = splitBatches(await logBytes(dir));
    assert.deepEqual(stored.map((b) => [b.baseOffset, b.lastOffset]), [
      [0, 999],
      [1000, 1999],
    ]);
    assert.ok(bytesEqual(stored[1].bytes, second));
    const read = await log.read(1000, 2 << 20);
    assert.ok(bytesEqual(read.records, second));
  });
});

Deno.test("a large append with a bad record is refused as INVALID_RECORD, log unchanged", async () => {
  await withLog({}, async (log, dir) => {
    await log.append(bigBatch("first", 300));
    const bad = bigBatch("bad", 300);
    bad[RECORD_BATCH_OVERHEAD] = 0x7e; // the first record's length varint
    fixCrc(bad);
    await assertRefusedUnchanged(
      log,
      dir,
      bad,
      ErrorCode.INVALID_RECORD,
      /^append to big-0 failed: batch 0 at byte 0: /,
    );
    // a bad CRC in the last of several batches refuses the whole request
    const several = concatBytes([bigBatch("a", 200), bigBatch("b", 200)]);
    several[several.length - 5] ^= 1;
    await assertRefusedUnchanged(
      log,
      dir,
      several,
      ErrorCode.CORRUPT_MESSAGE,
      /^append to big-0 failed: batch 1 at byte \d+: bad CRC/,
    );
    assert.equal((await log.append(bigBatch("after", 300))).baseOffset, 300);
  });
});

Deno.test("queued large appends: a bad one is refused, its neighbours get consecutive offsets", async () => {
  await withLog({}, async (log, dir) => {
    const a = bigBatch("a", 400);
    const bad = bigBatch("bad", 400);
    bad[bad.length - 1] ^= 0xff;
    const c = bigBatch("c", 400);
    // started together: the second and third wait in the queue and are written as one group
    const results = await Promise.allSettled([log.append(a), log.append(bad), log.append(c)]);
    assert.equal(results[0].status, "fulfilled");
    assert.equal(results[1].status, "rejected");
    assert.equal(results[2].status, "fulfilled");
    const ra = (results[0] as PromiseFulfilledResult<{ baseOffset: number }>).value;
    const rc = (results[2] as PromiseFulfilledResult<{ baseOffset: number }>).value;
    assert.equal(ra.baseOffset, 0);
    assert.equal(rc.baseOffset, 400);
    const reason = (results[1] as PromiseRejectedResult).reason;
    assert.ok(reason instanceof EngineError && reason.code === ErrorCode.CORRUPT_MESSAGE);
    assert.equal(log.logEndOffset, 800);
    const stored = splitBatches(await logBytes(dir));
    assert.deepEqual(stored.map((b) => b.baseOffset), [0, 400]);
    assert.ok(bytesEqual(stored[0].bytes, a) && bytesEqual(stored[1].bytes, c));
  });
});

Deno.test("a large append that would roll segments mid-request and has a bad CRC keeps nothing", async () => {
  await withLog({ "segment.bytes": "700000" }, async (log, dir) => {
    await log.append(bigBatch("first", 200)); // ~210 KB in the first segment
    const parts = [bigBatch("p0", 250), bigBatch("p1", 250), bigBatch("p2", 250)];
    parts[2][parts[2].length - 100] ^= 2;
    await assertRefusedUnchanged(
      log,
      dir,
      concatBytes(parts),
      ErrorCode.CORRUPT_MESSAGE,
      /^append to big-0 failed: batch 2 at byte \d+: bad CRC/,
    );
    // the same request, valid, rolls and lands in order
    parts[2][parts[2].length - 100] ^= 2;
    const r = await log.append(concatBytes(parts));
    assert.equal(r.baseOffset, 200);
    assert.equal(r.lastOffset, 949);
    const stored = splitBatches(await logBytes(dir));
    assert.deepEqual(stored.map((b) => b.baseOffset), [0, 200, 450, 700]);
    let names = 0;
    for await (const e of Deno.readDir(dir)) if (e.name.endsWith(".log")) names++;
    assert.ok(names >= 2, `expected a roll, found ${names} segment(s)`);
  });
});

Deno.test("LogAppendTime: a large batch is checked before stamping; a good one is stamped validly", async () => {
  await withLog({ "message.timestamp.type": "LogAppendTime" }, async (log, dir) => {
    const bad = bigBatch("bad", 300);
    bad[bad.length - 7] ^= 8;
    await assertRefusedUnchanged(
      log,
      dir,
      bad,
      ErrorCode.CORRUPT_MESSAGE,
      /^append to big-0 failed: batch 0 at byte 0: bad CRC/,
    );
    const r = await log.append(bigBatch("good", 300));
    assert.ok(r.logAppendTime > 0);
    const stored = await logBytes(dir);
    const scan = scanBatches(stored);
    assert.equal(scan.status, BatchStatus.OK);
    assert.equal(scan.count, 1);
    assert.equal(scan.maxTimestamps[0], r.logAppendTime);
  });
});
