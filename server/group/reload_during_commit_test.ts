// Copyright 2026 the Sluice authors. Apache-2.0 license.
// The group coordinator (cluster mode) when its `__consumer_offsets` partition is unloaded and
// loaded again while a commit's record is being written: a broker fenced for a moment (a missed
// etcd keep-alive) and unfenced with its lease alive keeps its leader epoch, so the append begun
// before the resignation completes and the commit is acknowledged, while the load, reading the
// log up to the high watermark, may have ended before that record. The acknowledged offset must
// then be what OffsetFetch answers (found by the cluster fault harness: a read 0.5 s after a
// commit of 95073 was acknowledged answered 94073, the previous commit).
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { GroupCoordinator, type LoadedCoordinatorRecord } from "./coordinator.ts";
import { ManualScheduler } from "./scheduler.ts";
import { committed, offsetRecord, plainCommit, plainOffset, txnCommit } from "./testing.ts";

/** A coordinator whose appends are numbered in order and can be held until released. */
function setup() {
  let next = 0;
  let hold = false;
  const held: (() => void)[] = [];
  let onLoad: () => LoadedCoordinatorRecord[] = () => [];
  const at = (count: number) => {
    const base = next;
    next += count;
    if (!hold) return Promise.resolve(base);
    return new Promise<number>((resolve) => held.push(() => resolve(base)));
  };
  const gc = new GroupCoordinator({
    log: {
      append: (_g, records) => at(records.length),
      appendTransactional: (_g, records) => at(records.length),
      partitionFor: () => 0,
      loadPartition: () => Promise.resolve(onLoad()),
    },
    ownedPartitionsOnly: true,
    scheduler: new ManualScheduler(),
    config: { initialRebalanceDelayMs: 0 },
  });
  return {
    gc,
    holdAppends: (on: boolean) => hold = on,
    release: () => held.splice(0).forEach((r) => r()),
    loads: (f: () => LoadedCoordinatorRecord[]) => onLoad = f,
  };
}

Deno.test("group coordinator: a commit acknowledged after its partition was loaded again without its record is what OffsetFetch answers", async () => {
  const t = setup();
  await t.gc.onElection(0);
  assertEquals(await plainCommit(t.gc, 10), 0); // record 0
  t.holdAppends(true);
  const late = plainCommit(t.gc, 20); // record 1, not acknowledged yet
  // fenced and unfenced: resigned, elected again in the same epoch; the log read up to the high
  // watermark ends before record 1
  t.gc.onResignation(0);
  t.loads(() => [plainOffset(10, 0)]);
  await t.gc.onElection(0);
  assertEquals(committed(t.gc), 10); // not acknowledged yet: the older value may be answered
  t.release();
  assertEquals(await late, 0);
  assertEquals(committed(t.gc), 20);
  t.gc.close();
});

Deno.test("group coordinator: a late acknowledgement does not replace a newer commit, nor one the load read", async () => {
  const t = setup();
  await t.gc.onElection(0);
  assertEquals(await plainCommit(t.gc, 10), 0); // record 0
  t.holdAppends(true);
  const late = plainCommit(t.gc, 20); // record 1
  t.gc.onResignation(0);
  t.loads(() => [plainOffset(10, 0)]);
  await t.gc.onElection(0);
  t.holdAppends(false);
  assertEquals(await plainCommit(t.gc, 30), 0); // record 2, after the load
  t.release();
  assertEquals(await late, 0);
  assertEquals(committed(t.gc), 30);

  // the load read the record (and a newer one after it): the acknowledgement changes nothing
  const u = setup();
  await u.gc.onElection(0);
  u.holdAppends(true);
  const read = plainCommit(u.gc, 20); // record 0
  u.gc.onResignation(0);
  u.loads(() => [plainOffset(20, 0), plainOffset(25, 1)]);
  await u.gc.onElection(0);
  u.release();
  assertEquals(await read, 0);
  assertEquals(committed(u.gc), 25);

  // the load read the record and a tombstone after it (the offset deleted): it stays deleted
  const v = setup();
  await v.gc.onElection(0);
  v.holdAppends(true);
  const deleted = plainCommit(v.gc, 20); // record 0
  v.gc.onResignation(0);
  v.loads(() => [plainOffset(20, 0), { ...offsetRecord(0), value: null, recordOffset: 1 }]);
  await v.gc.onElection(0);
  v.release();
  assertEquals(await deleted, 0);
  assertEquals(committed(v.gc), -1);
  t.gc.close();
  u.gc.close();
  v.gc.close();
});

Deno.test("group coordinator: transactional offsets acknowledged after a reload without their record are committed by the marker", async () => {
  const t = setup();
  await t.gc.onElection(0);
  assertEquals(await plainCommit(t.gc, 10), 0); // record 0
  t.holdAppends(true);
  const late = txnCommit(t.gc, 8, 40); // record 1, in producer 8's transaction
  t.gc.onResignation(0);
  t.loads(() => [plainOffset(10, 0)]);
  await t.gc.onElection(0);
  t.release();
  assertEquals((await late)[0].partitions[0].errorCode, 0);
  t.gc.completeTxnOffsets(0, 8, true);
  assertEquals(committed(t.gc), 40);
  t.gc.close();
});
