// The log cleaner and transactions, as Kafka's LogCleaner: aborted data goes, markers stay until
// their transaction's batches are gone and then for delete.retention.ms, each producer's last
// batch stays (its header alone if its records go), and nothing at or after the last stable
// offset is cleaned.
import assert from "node:assert/strict";
import { decodeRecordBatches } from "../records/mod.ts";
import { scanBatches } from "../wasm/mod.ts";
import { LogManager, OUT_OF_ORDER_SEQUENCE_NUMBER } from "./mod.ts";
import type { PartitionLog } from "./partition_log.ts";
import { allValues, committedRecords, marker, plain, Producers } from "./testdata/txn_helpers.ts";

const A = 501;
const B = 502;
const P = 503;

interface Fixture {
  dir: string;
  mgr: LogManager;
  log: PartitionLog;
}

async function compacted(): Promise<Fixture> {
  const dir = await Deno.makeTempDir({ prefix: "sluice-cleaner-txn-" });
  const mgr = await LogManager.open(dir, { cleanerBackoffMs: 0, retentionCheckIntervalMs: 0 });
  await mgr.createTopic("c", 1, {
    "cleanup.policy": "compact",
    "segment.bytes": "1024",
    "delete.retention.ms": "1000",
    "file.delete.delay.ms": "0",
  });
  return { dir, mgr, log: mgr.partition("c", 0)! };
}

/** Plain records with keys of their own until `segments` more segments were rolled. */
async function fill(log: PartitionLog, segments: number): Promise<void> {
  const target = log.segmentCount + segments;
  for (let i = 0; log.segmentCount < target && i < 10_000; i++) {
    await log.append(plain([`fill-${log.logEndOffset}`]));
  }
}

/** Latest value per key of what read_committed clients see. */
async function committedLatest(log: PartitionLog): Promise<Map<string, string | null>> {
  const m = new Map<string, string | null>();
  for (const r of await committedRecords(log)) m.set(r.key!, r.value);
  return m;
}

/** [offset, producer id, record count, control] of every stored batch. */
async function batches(log: PartitionLog): Promise<[number, number, number, boolean][]> {
  const { records } = await log.read(log.logStartOffset, 64 << 20);
  assert.equal(scanBatches(records, { relaxedOffsets: true, verifyCrc: true }).status, 0);
  return decodeRecordBatches(records, { validation: "relaxed" }).map((
    b,
  ) => [b.baseOffset, b.producerId, b.records.length, b.control]);
}

Deno.test("cleaner: aborted data goes, markers stay until their batches are gone, then past delete.retention.ms", async () => {
  const f = await compacted();
  const p = new Producers();
  try {
    const log = f.log;
    await log.append(p.txn(A, ["x1", "x2", "x3"])); // 0-2, aborted
    await log.append(marker(A, false)); // 3
    await log.append(p.txn(B, ["y1", "y2"])); // 4-5
    await log.append(marker(B, true)); // 6
    await log.append(plain(["plain-y1", "plain-y2"], ["k-y1", "k-y2"])); // 7-8: B's txn superseded
    await log.append(p.txn(A, ["z"])); // 9: A's last batch
    await log.append(marker(A, true)); // 10
    await log.append(p.txn(B, ["w"])); // 11: B's last batch
    await log.append(marker(B, true)); // 12
    await fill(log, 2);
    const model = await committedLatest(log);
    const markers = async () => (await batches(log)).filter((b) => b[3]).map((b) => b[0]);
    assert.deepEqual(await markers(), [3, 6, 10, 12]);
    assert.deepEqual(log.abortedTransactions(0, 100).map((a) => a.firstOffset), [0]);

    // pass 1: the aborted batch goes; its marker stays (the pass saw its batch), and so does its
    // .txnindex entry; B's first transaction is fully superseded, its COMMIT stays for now
    const t0 = Date.now();
    const [s1] = await f.mgr.runCleaner({ force: true, now: t0 });
    assert.ok(s1.cleaned, s1.reason);
    assert.equal(s1.abortedRecordsRemoved, 3);
    assert.ok(!(await allValues(log)).some((v) => v.startsWith("x")));
    assert.deepEqual(await committedLatest(log), model);
    assert.deepEqual(await markers(), [3, 6, 10, 12]);
    assert.deepEqual(log.abortedTransactions(0, 100).map((a) => a.firstOffset), [0]);

    // pass 2: both transactions' batches are gone: their markers get a delete horizon
    const [s2] = await f.mgr.runCleaner({ force: true, now: t0 + 10 });
    assert.ok(s2.cleaned, s2.reason);
    assert.deepEqual(await markers(), [3, 6, 10, 12]);
    assert.deepEqual(log.abortedTransactions(0, 100), []);
    assert.deepEqual(await committedLatest(log), model);

    // not before the horizon
    const [s3] = await f.mgr.runCleaner({ force: true, now: t0 + 10 + 999 });
    assert.equal(s3.markersRemoved, 0);
    assert.deepEqual(await markers(), [3, 6, 10, 12]);

    // after it: gone; the markers of A's and B's last transactions stay (their batches do)
    const [s4] = await f.mgr.runCleaner({ now: t0 + 10 + 1000 });
    assert.ok(s4.cleaned, s4.reason);
    assert.equal(s4.reason, "tombstone delete horizon");
    assert.equal(s4.markersRemoved, 2);
    assert.deepEqual(await markers(), [10, 12]);
    assert.deepEqual(await committedLatest(log), model);

    // and the result survives a restart
    await f.mgr.close();
    f.mgr = await LogManager.open(f.dir, { cleanerBackoffMs: 0, retentionCheckIntervalMs: 0 });
    f.log = f.mgr.partition("c", 0)!;
    assert.deepEqual(await committedLatest(f.log), model);
    assert.equal(f.log.lastStableOffset, f.log.highWatermark);
  } finally {
    await f.mgr.close();
    await Deno.remove(f.dir, { recursive: true });
  }
});

Deno.test("cleaner: each producer's last batch stays, so its state is rebuilt from the log", async () => {
  const f = await compacted();
  const p = new Producers();
  try {
    await f.log.append(p.idempotent(P, ["p1"], { keys: ["k1"] })); // 0, seq 0
    await f.log.append(p.idempotent(P, ["p2"], { keys: ["k2"] })); // 1, seq 1: P's last batch
    await f.log.append(plain(["n1", "n2"], ["k1", "k2"])); // 2-3: both superseded
    await fill(f.log, 2);
    const [s] = await f.mgr.runCleaner({ force: true });
    assert.ok(s.cleaned, s.reason);
    assert.ok(!(await allValues(f.log)).some((v) => v === "p1" || v === "p2"));
    // P's last batch is kept as its header alone: offsets 1..1, sequence 1, no record
    const kept = (await batches(f.log)).filter((b) => b[1] === P);
    assert.deepEqual(kept, [[1, P, 0, false]]);

    // a restart that must rebuild the producer state from the log (no snapshot, everything
    // re-validated: the empty batch passes recovery)
    await f.mgr.close();
    for await (const e of Deno.readDir(`${f.dir}/c-0`)) {
      if (e.name.endsWith(".snapshot")) await Deno.remove(`${f.dir}/c-0/${e.name}`);
    }
    await Deno.remove(`${f.dir}/.kafka_cleanshutdown`);
    await Deno.remove(`${f.dir}/recovery-point-offset-checkpoint`);
    const msgs: string[] = [];
    f.mgr = await LogManager.open(f.dir, {
      cleanerBackoffMs: 0,
      retentionCheckIntervalMs: 0,
      logger: (m) => msgs.push(m),
    });
    f.log = f.mgr.partition("c", 0)!;
    assert.ok(!msgs.some((m) => m.includes("removed the invalid tail")), msgs.join("\n"));
    const state = f.log.producerStates().find((x) => x.producerId === P);
    assert.equal(state?.lastSequence, 1);
    // a retry of P's last batch is still a duplicate, and a gap is still refused
    const leo = f.log.logEndOffset;
    p.setSequence(P, 1);
    const dup = await f.log.append(p.idempotent(P, ["p2"], { keys: ["k2"] }));
    assert.deepEqual([dup.baseOffset, f.log.logEndOffset], [1, leo]);
    p.setSequence(P, 5);
    await assert.rejects(
      f.log.append(p.idempotent(P, ["gap"])),
      (e: { code?: number }) => e.code === OUT_OF_ORDER_SEQUENCE_NUMBER,
    );
    p.setSequence(P, 2);
    assert.equal((await f.log.append(p.idempotent(P, ["p3"]))).baseOffset, leo);
  } finally {
    await f.mgr.close();
    await Deno.remove(f.dir, { recursive: true });
  }
});

Deno.test("cleaner: nothing at or after the last stable offset is cleaned", async () => {
  const f = await compacted();
  const p = new Producers();
  try {
    await fill(f.log, 1);
    const open = f.log.logEndOffset;
    await f.log.append(p.txn(A, ["a-open"], { keys: ["k"] })); // stays open
    await f.log.append(plain(["newer"], ["k"]));
    await fill(f.log, 3);
    assert.equal(f.log.lastStableOffset, open);
    const [s1] = await f.mgr.runCleaner({ force: true });
    assert.ok(s1.endOffset <= open, `cleaned up to ${s1.endOffset}, LSO ${open}`);
    assert.ok((await allValues(f.log)).includes("a-open"));
    // aborted: the transaction's record goes at the next pass, "newer" stays
    await f.log.append(marker(A, false));
    await fill(f.log, 1);
    const [s2] = await f.mgr.runCleaner({ force: true });
    assert.ok(s2.endOffset > open, s2.reason);
    const values = await allValues(f.log);
    assert.ok(!values.includes("a-open") && values.includes("newer"));
  } finally {
    await f.mgr.close();
    await Deno.remove(f.dir, { recursive: true });
  }
});
