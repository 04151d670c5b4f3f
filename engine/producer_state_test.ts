import { deepStrictEqual, rejects, strictEqual } from "node:assert/strict";
import { decodeRecordBatches } from "../records/mod.ts";
import { EngineError, ErrorCode, LogManager, type PartitionLog } from "./mod.ts";
import {
  incrementSequence,
  INVALID_PRODUCER_EPOCH,
  OUT_OF_ORDER_SEQUENCE_NUMBER,
  ProducerStateManager,
  snapshotPath,
} from "./producer_state.ts";
import { buildBatch, concatBytes } from "../wasm/testing.ts";

const PID = 4242;

/** A batch of `count` records of producer `PID` (or `pid`) starting at sequence `seq`. */
function idem(seq: number, count: number, epoch = 0, pid = PID, ts = Date.now()): Uint8Array {
  const records = Array.from({ length: count }, (_, i) => ({ key: null, value: `s${seq + i}` }));
  return buildBatch({
    records,
    baseTimestamp: ts,
    producerId: pid,
    producerEpoch: epoch,
    baseSequence: seq,
  });
}

async function withLog(
  configs: Record<string, string>,
  fn: (
    log: PartitionLog,
    dir: string,
    reopen: (between?: () => Promise<void>) => Promise<PartitionLog>,
  ) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir();
  let mgr = await LogManager.open(dir, { retentionCheckIntervalMs: 0 });
  try {
    await mgr.createTopic("idem", 1, configs);
    const reopen = async (between?: () => Promise<void>): Promise<PartitionLog> => {
      await mgr.close();
      await between?.();
      mgr = await LogManager.open(dir, { retentionCheckIntervalMs: 0 });
      return mgr.partition("idem", 0)!;
    };
    await fn(mgr.partition("idem", 0)!, `${dir}/idem-0`, reopen);
  } finally {
    await mgr.close();
    await Deno.remove(dir, { recursive: true });
  }
}

async function expectCode(p: Promise<unknown>, code: number, text: string): Promise<void> {
  await rejects(p, (e) => {
    strictEqual(e instanceof EngineError, true);
    strictEqual((e as EngineError).code, code);
    strictEqual((e as EngineError).message.includes(text), true, (e as EngineError).message);
    return true;
  });
}

Deno.test("producer state: duplicates of each of the last 5 batches get their original offsets", async () => {
  await withLog({}, async (log) => {
    const bases: number[] = [];
    for (let b = 0; b < 6; b++) {
      // batch b holds 2 records: sequences 2b, 2b+1; offsets 2b, 2b+1
      bases.push((await log.append(idem(2 * b, 2))).baseOffset);
    }
    deepStrictEqual(bases, [0, 2, 4, 6, 8, 10]);
    for (let b = 1; b < 6; b++) {
      const r = await log.append(idem(2 * b, 2));
      strictEqual(r.baseOffset, 2 * b);
      strictEqual(r.lastOffset, 2 * b + 1);
      strictEqual(r.recordCount, 2);
    }
    strictEqual(log.logEndOffset, 12);
    // the 6th-oldest batch is no longer cached: a plain sequence error, as Kafka
    await expectCode(log.append(idem(0, 2)), OUT_OF_ORDER_SEQUENCE_NUMBER, "expected 12");
    strictEqual(log.logEndOffset, 12);
    strictEqual((await log.append(idem(12, 1))).baseOffset, 12);
    deepStrictEqual(log.producerStates().map((s) => [s.producerId, s.epoch, s.lastSequence]), [
      [PID, 0, 12],
    ]);
    const { records } = await log.read(0, 1 << 20);
    // 7 batches: no duplicate was stored
    strictEqual(decodeRecordBatches(records).length, 7);
  });
});

Deno.test("producer state: gaps, fencing, epoch bump and sequence wrap-around", async () => {
  await withLog({}, async (log) => {
    strictEqual((await log.append(idem(0, 3))).baseOffset, 0);
    await expectCode(log.append(idem(4, 1)), OUT_OF_ORDER_SEQUENCE_NUMBER, "sent sequence 4");
    await expectCode(log.append(idem(2, 2)), OUT_OF_ORDER_SEQUENCE_NUMBER, "expected 3");
    strictEqual(log.logEndOffset, 3);
    // a new epoch must restart at 0
    await expectCode(log.append(idem(3, 1, 1)), OUT_OF_ORDER_SEQUENCE_NUMBER, "expected 0");
    strictEqual((await log.append(idem(0, 1, 1))).baseOffset, 3);
    // the old epoch is fenced, even for a duplicate of its batch
    await expectCode(log.append(idem(0, 3, 0)), INVALID_PRODUCER_EPOCH, "epoch 0 is older");
    await expectCode(log.append(idem(3, 1, 0)), INVALID_PRODUCER_EPOCH, "current epoch 1");
    strictEqual(log.logEndOffset, 4);
    // an unknown producer may start at any sequence (KIP-360: its state may have expired)
    const other = PID + 1;
    strictEqual((await log.append(idem(2147483646, 2, 0, other))).baseOffset, 4);
    // ... and wraps from 2^31-1 to 0
    await expectCode(log.append(idem(1, 1, 0, other)), OUT_OF_ORDER_SEQUENCE_NUMBER, "expected 0");
    strictEqual((await log.append(idem(0, 2, 0, other))).baseOffset, 6);
    strictEqual((await log.append(idem(2147483646, 2, 0, other))).baseOffset, 4); // duplicate
    // a batch spanning the wrap: sequences 2147483647, 0
    const third = PID + 2;
    strictEqual((await log.append(idem(2147483647, 2, 0, third))).baseOffset, 8);
    strictEqual((await log.append(idem(1, 1, 0, third))).baseOffset, 10);
    strictEqual(log.logEndOffset, 11);
    deepStrictEqual(
      log.producerStates().map((s) => [s.producerId, s.epoch, s.lastSequence, s.lastOffset]),
      [[PID, 1, 0, 3], [other, 0, 1, 7], [third, 0, 1, 10]],
    );
    strictEqual(incrementSequence(2147483647, 1), 0);
  });
});

Deno.test("producer state: batches of one append are checked in order, all or nothing", async () => {
  await withLog({}, async (log) => {
    strictEqual((await log.append(concatBytes([idem(0, 1), idem(1, 2)]))).baseOffset, 0);
    strictEqual(log.logEndOffset, 3);
    // second batch out of order: nothing of the append is written or recorded
    await expectCode(
      log.append(concatBytes([idem(3, 1), idem(5, 1)])),
      OUT_OF_ORDER_SEQUENCE_NUMBER,
      "expected 4",
    );
    strictEqual(log.logEndOffset, 3);
    strictEqual(log.producerStates()[0].lastSequence, 2);
    // batches of one producer followed by another producer's and a plain batch
    const plain = buildBatch({ records: [{ key: null, value: "p" }], baseTimestamp: Date.now() });
    const r = await log.append(concatBytes([idem(3, 1), idem(0, 2, 0, 7), plain, idem(4, 1)]));
    deepStrictEqual([r.baseOffset, r.lastOffset], [3, 7]);
    // concurrent appends queue up in one group: each sees the previous one's state
    const rs = await Promise.all([
      log.append(idem(5, 1)),
      log.append(idem(5, 1)),
      log.append(idem(6, 1)),
    ]);
    deepStrictEqual(rs.map((x) => x.baseOffset), [8, 8, 9]);
    strictEqual(log.logEndOffset, 10);
  });
});

Deno.test("producer state: survives close/reopen through a snapshot", async () => {
  await withLog({ "segment.bytes": "512" }, async (log, dir, reopen) => {
    for (let b = 0; b < 20; b++) {
      strictEqual((await log.append(idem(3 * b, 3))).baseOffset, 3 * b);
    }
    strictEqual(log.segmentCount > 2, true);
    log = await reopen();
    strictEqual(log.logEndOffset, 60);
    const snaps = (await Array.fromAsync(Deno.readDir(dir)))
      .map((e) => e.name).filter((n) => n.endsWith(".snapshot")).sort();
    strictEqual(snaps.at(-1), "00000000000000000060.snapshot");
    // one snapshot per rolled segment plus the clean-shutdown one
    strictEqual(snaps.length, log.segmentCount);
    for (let b = 15; b < 20; b++) {
      strictEqual((await log.append(idem(3 * b, 3))).baseOffset, 3 * b);
    }
    await expectCode(log.append(idem(42, 3)), OUT_OF_ORDER_SEQUENCE_NUMBER, "expected 60");
    strictEqual((await log.append(idem(60, 1))).baseOffset, 60);
    strictEqual(log.logEndOffset, 61);
  });
});

Deno.test("producer state: a corrupt snapshot is ignored and the state rebuilt from the log", async () => {
  await withLog({ "segment.bytes": "512" }, async (log, dir, reopen) => {
    for (let b = 0; b < 20; b++) await log.append(idem(3 * b, 3));
    const latest = snapshotPath(dir, 60);
    log = await reopen(async () => {
      const bytes = await Deno.readFile(latest);
      bytes[bytes.length - 3] ^= 0xff;
      await Deno.writeFile(latest, bytes);
    });
    strictEqual(log.logEndOffset, 60);
    for (let b = 15; b < 20; b++) {
      strictEqual((await log.append(idem(3 * b, 3))).baseOffset, 3 * b);
    }
    strictEqual(log.logEndOffset, 60);
    strictEqual((await log.append(idem(60, 2))).baseOffset, 60);
    // every snapshot gone and no clean shutdown: the whole log is scanned
    log = await reopen(async () => {
      for await (const e of Deno.readDir(dir)) {
        if (e.name.endsWith(".snapshot")) await Deno.remove(`${dir}/${e.name}`);
      }
      await Deno.remove(`${dir}/../.kafka_cleanshutdown`);
    });
    for (let b = 16; b < 20; b++) {
      strictEqual((await log.append(idem(3 * b, 3))).baseOffset, 3 * b);
    }
    strictEqual((await log.append(idem(60, 2))).baseOffset, 60);
    strictEqual((await log.append(idem(62, 1))).baseOffset, 62);
  });
});

Deno.test("producer state: snapshot file round trip, CRC checked", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const a = new ProducerStateManager(dir);
    const t = Date.now();
    const b1 = idem(0, 2, 3, 11, t);
    strictEqual(a.checkAppend(b1, [0], 100, "append"), undefined);
    a.commitAppend();
    // not committed: not recorded
    strictEqual(a.checkAppend(idem(2, 1, 3, 11, t + 1), [0], 102, "append"), undefined);
    await a.takeSnapshot(102);
    const b = new ProducerStateManager(dir);
    await b.load([], 0, 102, true);
    deepStrictEqual(b.batches(11), [
      { firstSeq: 0, lastSeq: 1, firstOffset: 100, lastOffset: 101, timestamp: t },
    ]);
    deepStrictEqual(b.checkAppend(b1, [0], 102, "append"), {
      firstOffset: 100,
      lastOffset: 101,
      timestamp: t,
    });
    // expiry: by the last batch timestamp
    strictEqual(b.removeExpired(t + 86_400_000 - 1), 0);
    strictEqual(b.removeExpired(t + 86_400_000), 1);
    strictEqual(b.size, 0);
    // damaged file: refused, deleted, state empty
    const path = snapshotPath(dir, 102);
    const bytes = await Deno.readFile(path);
    bytes[12] ^= 1;
    await Deno.writeFile(path, bytes);
    const msgs: string[] = [];
    const c = new ProducerStateManager(dir, { logger: (m) => msgs.push(m) });
    await c.load([], 0, 102, true);
    strictEqual(c.size, 0);
    strictEqual(msgs.length, 1);
    strictEqual(msgs[0].includes("ignoring producer snapshot 102: bad CRC"), true, msgs[0]);
    deepStrictEqual(await c.snapshotOffsets(), []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("producer state: rebuilt from the log after a SIGKILL", async () => {
  const dir = await Deno.makeTempDir();
  const child = `${dir}/child.ts`;
  const mod = new URL("./mod.ts", import.meta.url).href;
  const testing = new URL("../wasm/testing.ts", import.meta.url).href;
  await Deno.writeTextFile(
    child,
    `import { LogManager } from "${mod}";
import { buildBatch } from "${testing}";
const mgr = await LogManager.open(Deno.args[0], { retentionCheckIntervalMs: 0 });
await mgr.createTopic("idem", 1, { "flush.messages": "1", "segment.bytes": "512" });
const log = mgr.partition("idem", 0)!;
for (let b = 0; b < 20; b++) {
  const records = [0, 1, 2].map((i) => ({ key: null, value: "s" + (3 * b + i) }));
  await log.append(buildBatch({
    records, baseTimestamp: Date.now(), producerId: ${PID}, producerEpoch: 0, baseSequence: 3 * b,
  }));
}
console.log("DONE " + log.logEndOffset);
await new Promise(() => setInterval(() => {}, 1000));
`,
  );
  const data = `${dir}/data`;
  await Deno.mkdir(data);
  const proc = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", child, data],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = proc.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let out = "";
  while (!out.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    out += value;
  }
  strictEqual(out.trim(), "DONE 60");
  proc.kill("SIGKILL");
  await proc.status;
  await reader.cancel();
  const mgr = await LogManager.open(data, { retentionCheckIntervalMs: 0 });
  try {
    const log = mgr.partition("idem", 0)!;
    strictEqual(log.logEndOffset, 60);
    for (let b = 15; b < 20; b++) {
      strictEqual((await log.append(idem(3 * b, 3))).baseOffset, 3 * b);
    }
    await expectCode(log.append(idem(30, 3)), OUT_OF_ORDER_SEQUENCE_NUMBER, "expected 60");
    strictEqual((await log.append(idem(60, 3))).baseOffset, 60);
    strictEqual(log.logEndOffset, 63);
  } finally {
    await mgr.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("producer state: a producer id with a negative sequence is an invalid record", async () => {
  await withLog({}, async (log) => {
    await expectCode(
      log.append(idem(-1, 1)),
      ErrorCode.INVALID_RECORD,
      "invalid sequence number -1",
    );
    strictEqual(log.logEndOffset, 0);
    deepStrictEqual(log.producerStates(), []);
  });
});

Deno.test("producer state: kept when records are deleted (KIP-360), old snapshots removed", async () => {
  await withLog({ "segment.bytes": "512" }, async (log, dir, reopen) => {
    for (let b = 0; b < 20; b++) await log.append(idem(3 * b, 3));
    const snapshots = async () =>
      (await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name)
        .filter((n) => n.endsWith(".snapshot")).sort();
    const before = await snapshots();
    strictEqual(before.length, log.segmentCount - 1);
    await log.deleteRecordsBefore(60);
    strictEqual(log.logStartOffset, 60);
    strictEqual(log.segmentCount, 1);
    // only the snapshot of the remaining segment is left
    deepStrictEqual(await snapshots(), [before.at(-1)]);
    // the producer's state outlives its records: a duplicate still gets its old offsets
    strictEqual((await log.append(idem(57, 3))).baseOffset, 57);
    strictEqual((await log.append(idem(60, 1))).baseOffset, 60);
    log = await reopen();
    strictEqual((await log.append(idem(60, 1))).baseOffset, 60);
    strictEqual((await log.append(idem(61, 1))).baseOffset, 61);
  });
});

Deno.test("producer state: rebuilt after truncateTo", async () => {
  await withLog({ "segment.bytes": "512" }, async (log, _dir, reopen) => {
    for (let b = 0; b < 20; b++) await log.append(idem(3 * b, 3));
    await log.truncateTo(30);
    strictEqual(log.logEndOffset, 30);
    deepStrictEqual(
      log.producerStates().map((s) => [s.producerId, s.lastSequence, s.lastOffset]),
      [[PID, 29, 29]],
    );
    await expectCode(log.append(idem(60, 1)), OUT_OF_ORDER_SEQUENCE_NUMBER, "expected 30");
    strictEqual((await log.append(idem(30, 3))).baseOffset, 30);
    log = await reopen();
    strictEqual((await log.append(idem(30, 3))).baseOffset, 30);
    // truncated below the log start: everything goes, any sequence is accepted again
    await log.truncateTo(0);
    deepStrictEqual(log.producerStates(), []);
    strictEqual((await log.append(idem(500, 1))).baseOffset, 0);
  });
});

Deno.test("producer state: a roll inside a multi-batch append keeps its earlier batches in the snapshot", async () => {
  await withLog({ "segment.bytes": "300" }, async (log, dir, reopen) => {
    strictEqual((await log.append(idem(0, 3))).baseOffset, 0);
    const r = await log.append(concatBytes([idem(3, 3), idem(6, 3), idem(9, 3), idem(12, 3)]));
    deepStrictEqual([r.baseOffset, r.lastOffset], [3, 14]);
    const inside = log.segmentBaseOffsets.filter((b) => b > 3 && b < 15);
    strictEqual(inside.length > 0, true, `bases ${log.segmentBaseOffsets}`);
    // crash-like restart: no clean-shutdown snapshot, state from the roll snapshot + the log
    log = await reopen(async () => {
      await Deno.remove(snapshotPath(dir, 15));
      await Deno.remove(`${dir}/../.kafka_cleanshutdown`);
    });
    for (const [seq, base] of [[0, 0], [3, 3], [6, 6], [9, 9], [12, 12]]) {
      strictEqual((await log.append(idem(seq, 3))).baseOffset, base, `seq ${seq}`);
    }
    strictEqual((await log.append(idem(15, 1))).baseOffset, 15);
  });
});

Deno.test("a snapshot identical to the one on disk at the same offset is not written again", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const mgr = new ProducerStateManager(dir);
    await mgr.takeSnapshot(5);
    const path = `${dir}/00000000000000000005.snapshot`;
    const first = (await Deno.stat(path)).ino;
    await mgr.takeSnapshot(5); // unchanged: the file stays (a rewrite renames a new inode in)
    strictEqual((await Deno.stat(path)).ino, first);
    const loaded = new ProducerStateManager(dir);
    await loaded.load([], 5, 5, true);
    await loaded.takeSnapshot(5);
    strictEqual((await Deno.stat(path)).ino, first);
    await loaded.removeSnapshot(5);
    await loaded.takeSnapshot(5); // removed: written again
    strictEqual((await Deno.stat(path)).isFile, true);
    await mgr.takeSnapshot(6); // another offset: written
    strictEqual((await Deno.stat(`${dir}/00000000000000000006.snapshot`)).isFile, true);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
