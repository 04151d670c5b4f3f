// Transactions in the partition log: the producer state follows transactional batches and
// COMMIT/ABORT markers, the last stable offset and the aborted transactions (`.txnindex`) come
// from the log, and they survive restarts (clean and not), truncation, retention, topic deletion
// and lost or damaged index files.
import { deepStrictEqual, ok, rejects, strictEqual } from "node:assert/strict";
import {
  attributesAt,
  batchSizeAt,
  CONTROL_BIT,
  ControlRecordType,
  decodeRecordBatches,
  endTxnMarkerAt,
  setAttributesAt,
  TRANSACTIONAL_BIT,
} from "../records/mod.ts";
import { buildBatch } from "../wasm/testing.ts";
import {
  EngineError,
  INVALID_PRODUCER_EPOCH,
  INVALID_TXN_STATE,
  LogManager,
  type LogManagerOptions,
  OUT_OF_ORDER_SEQUENCE_NUMBER,
  type PartitionLog,
  TRANSACTION_COORDINATOR_FENCED,
} from "./mod.ts";
import { ProducerStateManager } from "./producer_state.ts";
import { offsetFileStem } from "./names.ts";
import { allValues, committedValues, marker, plain, Producers } from "./testdata/txn_helpers.ts";

const OPTS: LogManagerOptions = { retentionCheckIntervalMs: 0, cleanerBackoffMs: 0 };
const A = 1001;
const B = 1002;

let producers = new Producers();
const txn = (pid: number, values: string[], epoch = 0, ts = Date.now()) =>
  producers.txn(pid, values, { epoch, ts });

async function withManager(
  fn: (ctx: {
    dir: string;
    mgr: () => LogManager;
    reopen: (between?: (dir: string) => Promise<void>, logger?: (m: string) => void) => Promise<
      PartitionLog
    >;
  }) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "sluice-txn-" });
  let mgr = await LogManager.open(dir, OPTS);
  producers = new Producers();
  try {
    await fn({
      dir,
      mgr: () => mgr,
      reopen: async (between, logger) => {
        await mgr.close();
        await between?.(dir);
        mgr = await LogManager.open(dir, { ...OPTS, logger });
        return mgr.partition("t", 0)!;
      },
    });
  } finally {
    await mgr.close();
    await Deno.remove(dir, { recursive: true });
  }
}

/** `.txnindex` file names and sizes of a partition directory. */
async function txnIndexFiles(dir: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for await (const e of Deno.readDir(dir)) {
    if (e.name.endsWith(".txnindex")) out[e.name] = (await Deno.stat(`${dir}/${e.name}`)).size;
  }
  return out;
}

async function copyDir(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const e of Deno.readDir(from)) {
    if (e.isDirectory) await copyDir(`${from}/${e.name}`, `${to}/${e.name}`);
    else if (e.isFile) await Deno.copyFile(`${from}/${e.name}`, `${to}/${e.name}`);
  }
}

Deno.test("transactions: LSO and aborted ranges follow appends and markers", async () => {
  await withManager(async ({ mgr }) => {
    await mgr().createTopic("t", 1);
    const log = mgr().partition("t", 0)!;
    await log.append(plain(["p0"])); // 0
    strictEqual(log.lastStableOffset, 1);
    await log.append(txn(A, ["a1", "a2"])); // 1-2
    strictEqual(log.lastStableOffset, 1);
    // nothing at or after the LSO is returned to read_committed readers
    const early = await log.readCommitted(0, 1 << 20);
    deepStrictEqual(decodeRecordBatches(early.records).map((b) => b.baseOffset), [0]);
    deepStrictEqual([early.lastStableOffset, early.highWatermark], [1, 3]);
    await log.append(txn(B, ["b1"])); // 3
    deepStrictEqual(log.ongoingTransactions(), [
      { producerId: A, firstOffset: 1 },
      { producerId: B, firstOffset: 3 },
    ]);
    deepStrictEqual(
      log.producerStates().map((s) => [s.producerId, s.currentTxnStartOffset]),
      [[A, 1], [B, 3]],
    );
    // a partition leader's check before a transactional batch: this producer, this epoch
    deepStrictEqual(
      [log.inTransaction(A, 0), log.inTransaction(A, 1), log.inTransaction(B + 1000, 0)],
      [true, false, false],
    );
    await log.append(marker(A, false)); // 4: ABORT; B is still open from 3
    deepStrictEqual([log.inTransaction(A, 0), log.inTransaction(B, 0)], [false, true]);
    strictEqual(log.lastStableOffset, 3);
    const abortA = { producerId: A, firstOffset: 1, lastOffset: 4, lastStableOffset: 3 };
    deepStrictEqual(log.abortedTransactions(0, 100), [abortA]);
    await log.append(txn(B, ["b2"])); // 5
    await log.append(marker(B, true)); // 6: COMMIT
    strictEqual(log.lastStableOffset, 7);
    await log.append(txn(A, ["a3"])); // 7
    strictEqual(log.lastStableOffset, 7);
    await log.append(marker(A, true)); // 8
    deepStrictEqual([log.lastStableOffset, log.highWatermark], [9, 9]);
    deepStrictEqual(log.ongoingTransactions(), []);
    deepStrictEqual(log.abortedTransactions(0, 9), [abortA]);
    // the overlap rule: a fetch after the marker does not get the entry, one inside it does
    deepStrictEqual((await log.readCommitted(5, 1 << 20)).abortedTransactions, []);
    deepStrictEqual((await log.readCommitted(2, 1 << 20)).abortedTransactions, [abortA]);
    deepStrictEqual((await log.readCommitted(0, 1 << 20)).abortedTransactions, [abortA]);
    deepStrictEqual(await committedValues(log), ["p0", "b1", "b2", "a3"]);
    deepStrictEqual(await allValues(log), ["p0", "a1", "a2", "b1", "b2", "a3"]);
    // a read_committed read that stops before the aborted range does not list it
    const head = await log.readCommitted(0, 1);
    deepStrictEqual(decodeRecordBatches(head.records).map((b) => b.baseOffset), [0]);
    deepStrictEqual(head.abortedTransactions, []);
  });
});

Deno.test("transactions: the producer state's transaction rules", async () => {
  await withManager(async ({ mgr }) => {
    await mgr().createTopic("t", 1);
    const log = mgr().partition("t", 0)!;
    await log.append(txn(A, ["a1"]));
    // a non-transactional batch inside the producer's transaction (Kafka's InvalidTxnState)
    const idem = buildBatch({
      records: [{ key: "k", value: "x" }],
      producerId: A,
      producerEpoch: 0,
      baseSequence: 1,
    });
    await rejects(
      log.append(idem),
      (e) => e instanceof EngineError && e.code === INVALID_TXN_STATE,
    );
    // a marker from an older coordinator epoch is fenced
    await log.append(marker(A, true, 0, 3));
    await log.append(txn(A, ["a2"]));
    await rejects(
      log.append(marker(A, false, 0, 2)),
      (e) => e instanceof EngineError && e.code === TRANSACTION_COORDINATOR_FENCED,
    );
    // the coordinator fences a producer with an ABORT at a bumped epoch: its old epoch is refused
    await log.append(marker(A, false, 1, 3));
    producers.setSequence(A, 3);
    await rejects(
      log.append(txn(A, ["late"], 0)),
      (e) => e instanceof EngineError && e.code === INVALID_PRODUCER_EPOCH,
    );
    // the marker emptied the producer's batches: its epoch starts at sequence 0 (Kafka's rule),
    // so a batch whose predecessor was lost is refused instead of landing first
    producers.setSequence(A, 1);
    await rejects(
      log.append(txn(A, ["second"], 1)),
      (e) => e instanceof EngineError && e.code === OUT_OF_ORDER_SEQUENCE_NUMBER,
    );
    producers.setSequence(A, 0);
    await log.append(txn(A, ["first", "second"], 1));
    await log.append(marker(A, false, 1, 3));
    // a marker of a transaction that wrote nothing here changes neither LSO nor index
    const before = log.abortedTransactions(0, 100);
    await log.append(marker(B, false));
    deepStrictEqual(log.abortedTransactions(0, 100), before);
    strictEqual(log.lastStableOffset, log.highWatermark);
    deepStrictEqual(before.map((a) => [a.firstOffset, a.lastOffset]), [[2, 3], [4, 6]]);
    // B is known from that marker alone: its first batch starts at 0 too
    producers.setSequence(B, 4);
    await rejects(
      log.append(txn(B, ["b"])),
      (e) => e instanceof EngineError && e.code === OUT_OF_ORDER_SEQUENCE_NUMBER,
    );
    producers.setSequence(B, 0);
    await log.append(txn(B, ["b"]));
  });
  // a producer with a transaction in progress never expires
  const state = new ProducerStateManager("/tmp/unused", { expirationMs: 1000 });
  state.checkAppend(txn(A, ["x"], 0, 1), [0], 0, "append");
  state.commitAppend();
  state.checkAppend(plain(["y"]), [0], 1, "append");
  strictEqual(state.removeExpired(Date.now() + 1e9), 0);
  strictEqual(state.firstUnstableOffset, 0);
});

Deno.test("transactions: a clean restart takes them from the snapshot and .txnindex, no rescan", async () => {
  await withManager(async ({ mgr, dir, reopen }) => {
    await mgr().createTopic("t", 1, { "segment.bytes": "1024" });
    let log = mgr().partition("t", 0)!;
    await log.append(plain(["p0"])); // 0
    await log.append(txn(A, ["a-open"])); // 1: stays open
    for (let i = 0; i < 30; i++) {
      await log.append(txn(B, [`b${i}`]));
      await log.append(marker(B, i % 3 !== 0)); // every third aborted
    }
    ok(log.segmentCount > 3, `${log.segmentCount} segments`);
    const aborted = log.abortedTransactions(0, log.logEndOffset);
    strictEqual(aborted.length, 10);
    deepStrictEqual(await committedValues(log, 0), ["p0"]); // held back by A's transaction
    strictEqual(log.lastStableOffset, 1);
    const segmentCount = log.segmentCount;
    let files: Record<string, number> = {};
    // Clear A's transactional bit in the stored batch: a rescan of the log would no longer see
    // the open transaction (the CRC does not matter after a clean shutdown: nothing is
    // re-validated). The snapshot still says it is open.
    const flip = async (d: string) => {
      files = await txnIndexFiles(`${d}/t-0`); // as close wrote them
      strictEqual(Object.keys(files).length, segmentCount);
      const path = `${d}/t-0/${offsetFileStem(0)}.log`;
      const bytes = await Deno.readFile(path);
      const second = batchSizeAt(bytes, 0); // A's batch follows the plain one
      setAttributesAt(bytes, second, attributesAt(bytes, second) & ~TRANSACTIONAL_BIT);
      await Deno.writeFile(path, bytes);
    };
    log = await reopen(flip);
    strictEqual(log.lastStableOffset, 1, "the open transaction comes from the snapshot");
    deepStrictEqual(log.abortedTransactions(0, log.logEndOffset), aborted);
    deepStrictEqual(await txnIndexFiles(`${dir}/t-0`), files);
    // The check above can fail: without snapshots the state is rebuilt by reading the log, and
    // the cleared bit shows.
    log = await reopen(async (d) => {
      for await (const e of Deno.readDir(`${d}/t-0`)) {
        if (e.name.endsWith(".snapshot")) await Deno.remove(`${d}/t-0/${e.name}`);
      }
    });
    strictEqual(log.lastStableOffset, log.highWatermark);
    deepStrictEqual(log.abortedTransactions(0, log.logEndOffset), aborted);
    const committedB = Array.from({ length: 30 }, (_, i) => i).filter((i) => i % 3 !== 0);
    deepStrictEqual(await committedValues(log, 2), committedB.map((i) => `b${i}`));
  });
});

for (
  const c of [
    {
      name: "2 KiB segments",
      configs: { "segment.bytes": "2048" } as Record<string, string>,
      rounds: 40,
      size: 1,
    },
    // a user's size: about 30 MiB in one default-size segment, all of it recovered
    { name: "30 MiB, default segments", configs: {}, rounds: 300, size: 16 },
  ]
) {
  Deno.test(`transactions: after a kill (${c.name}), recovered .txnindex files are rebuilt`, async () => {
    await withManager(async ({ mgr, dir }) => {
      await mgr().createTopic("t", 1, c.configs);
      const log = mgr().partition("t", 0)!;
      const pad = "x".repeat(c.size > 1 ? 5000 : 0);
      const values = (p: string) => Array.from({ length: c.size }, (_, r) => `${p}-${r}${pad}`);
      for (let i = 0; i < c.rounds; i++) {
        await log.append(txn(A, values(`a${i}`)));
        if (i % 4 === 1) await log.append(txn(B, values(`b${i}`)));
        await log.append(marker(A, i % 5 !== 0));
        if (i % 4 === 1 && i % 8 !== 1) await log.append(marker(B, false));
      }
      await log.append(txn(A, ["open"]));
      if (c.size > 1) ok(log.sizeInBytes > 30 << 20, `${log.sizeInBytes} bytes`);
      const aborted = log.abortedTransactions(0, log.logEndOffset);
      ok(aborted.length >= c.rounds / 4, `${aborted.length} aborted`);
      const lso = log.lastStableOffset;
      const committed = await committedValues(log, 0);
      // a copy of the data dir as a kill leaves it (what the page cache holds): no clean
      // shutdown, snapshots only at rolls, the active segment's .txnindex never written
      const killed = `${dir}-killed`;
      await copyDir(dir, killed);
      await Deno.remove(`${killed}/.lock`).catch(() => {});
      const msgs: string[] = [];
      const mgr2 = await LogManager.open(killed, { ...OPTS, logger: (m) => msgs.push(m) });
      try {
        const back = mgr2.partition("t", 0)!;
        deepStrictEqual(back.abortedTransactions(0, back.logEndOffset), aborted);
        strictEqual(back.lastStableOffset, lso);
        deepStrictEqual(await committedValues(back, 0), committed);
        await mgr2.close();
        await mgr().close();
        deepStrictEqual(await txnIndexFiles(`${killed}/t-0`), await txnIndexFiles(`${dir}/t-0`));
      } finally {
        await mgr2.close();
        await Deno.remove(killed, { recursive: true });
      }
    });
  });
}

Deno.test("transactions: a missing or corrupt .txnindex is rebuilt from the log", async () => {
  await withManager(async ({ mgr, dir, reopen }) => {
    await mgr().createTopic("t", 1, { "segment.bytes": "1024" });
    let log = mgr().partition("t", 0)!;
    for (let i = 0; i < 40; i++) {
      await log.append(txn(i % 2 ? A : B, [`v${i}`]));
      await log.append(marker(i % 2 ? A : B, i % 3 === 0));
    }
    const aborted = log.abortedTransactions(0, log.logEndOffset);
    strictEqual(aborted.length, 26);
    await mgr().close();
    const pdir = `${dir}/t-0`;
    const names = Object.keys(await txnIndexFiles(pdir)).sort();
    const bytes = await Promise.all(names.map((n) => Deno.readFile(`${pdir}/${n}`)));
    const withEntries = names.filter((_, i) => bytes[i].length > 0);
    ok(withEntries.length >= 3, `${withEntries.length} non-empty indexes`);
    const [gone, cut, unordered] = withEntries;
    const msgs: string[] = [];
    log = await reopen(async () => {
      await Deno.remove(`${pdir}/${gone}`);
      await Deno.writeFile(`${pdir}/${cut}`, new Uint8Array(7), { append: true });
      const b = await Deno.readFile(`${pdir}/${unordered}`);
      // last offset of the first entry raised past the segment's others
      new DataView(b.buffer).setBigInt64(18, 1n << 40n);
      await Deno.writeFile(`${pdir}/${unordered}`, b);
    }, (m) => msgs.push(m));
    deepStrictEqual(log.abortedTransactions(0, log.logEndOffset), aborted);
    for (let i = 0; i < names.length; i++) {
      deepStrictEqual(await Deno.readFile(`${pdir}/${names[i]}`), bytes[i], names[i]);
    }
    const line = msgs.find((m) => m.includes("rebuilding the transaction index of segments"));
    ok(line !== undefined, msgs.join("\n"));
    const listed = [gone, cut, unordered].map((n) => Number(n.slice(0, 20))).sort((a, b) => a - b);
    ok(line.includes(`segments ${listed.join(", ")} from the log: `), line);
    ok(line.includes("transaction index missing"), line);
    ok(line.includes("not a multiple of 34"), line);
    ok(line.includes("out of order or outside the segment"), line);
  });
});

Deno.test("transactions: truncation drops markers and reopens their transactions", async () => {
  await withManager(async ({ mgr, reopen }) => {
    await mgr().createTopic("t", 1, { "segment.bytes": "1024" });
    let log = mgr().partition("t", 0)!;
    for (let i = 0; i < 10; i++) await log.append(plain([`p${i}`])); // 0-9
    await log.append(txn(A, ["a1"])); // 10
    for (let i = 0; i < 10; i++) await log.append(plain([`q${i}`])); // 11-20
    await log.append(marker(A, false)); // 21
    await log.append(plain(["after"])); // 22
    deepStrictEqual(log.abortedTransactions(0, 23).map((a) => a.lastOffset), [21]);
    await log.truncateTo(21);
    deepStrictEqual(log.abortedTransactions(0, 21), []);
    strictEqual(log.lastStableOffset, 10, "the transaction is open again");
    log = await reopen();
    deepStrictEqual([log.lastStableOffset, log.abortedTransactions(0, 21)], [10, []]);
    await log.truncateTo(10);
    deepStrictEqual([log.lastStableOffset, log.highWatermark], [10, 10]);
    deepStrictEqual(log.ongoingTransactions(), []);
    log = await reopen();
    deepStrictEqual([log.lastStableOffset, log.ongoingTransactions()], [10, []]);
  });
});

Deno.test("transactions: retention deletes segments with their .txnindex", async () => {
  await withManager(async ({ mgr, dir }) => {
    await mgr().createTopic("t", 1, {
      "segment.bytes": "1024",
      "retention.bytes": "3000",
      "file.delete.delay.ms": "0",
    });
    const log = mgr().partition("t", 0)!;
    for (let i = 0; i < 60; i++) {
      await log.append(txn(A, [`a${i}`]));
      await log.append(marker(A, i % 2 === 0));
    }
    const before = log.abortedTransactions(0, log.logEndOffset);
    strictEqual(before.length, 30);
    const deleted = await mgr().runRetention();
    ok(deleted > 0);
    const start = log.logStartOffset;
    const bases = log.segmentBaseOffsets;
    deepStrictEqual(
      Object.keys(await txnIndexFiles(`${dir}/t-0`)).sort(),
      bases.map((b) => `${offsetFileStem(b)}.txnindex`),
    );
    const after = log.abortedTransactions(start, log.logEndOffset);
    deepStrictEqual(after, before.filter((a) => a.lastOffset >= bases[0]));
    ok(after.length < before.length);
  });
});

Deno.test("transactions: deleting a topic deletes its transaction state", async () => {
  await withManager(async ({ mgr }) => {
    await mgr().createTopic("t", 1);
    let log = mgr().partition("t", 0)!;
    await log.append(txn(A, ["a"]));
    await log.append(marker(A, false));
    await log.append(txn(B, ["b"]));
    strictEqual(log.lastStableOffset, 2);
    await mgr().deleteTopic("t");
    await mgr().createTopic("t", 1);
    log = mgr().partition("t", 0)!;
    await log.append(plain(["fresh"]));
    deepStrictEqual(
      [log.lastStableOffset, log.abortedTransactions(0, 10), log.ongoingTransactions()],
      [1, [], []],
    );
    deepStrictEqual(log.producerStates(), []);
  });
});

Deno.test("transactions: markers read back from the log carry their type", () => {
  const b = marker(A, false, 2, 7);
  ok((attributesAt(b, 0) & CONTROL_BIT) !== 0);
  deepStrictEqual(endTxnMarkerAt(b), { type: ControlRecordType.ABORT, coordinatorEpoch: 7 });
});
