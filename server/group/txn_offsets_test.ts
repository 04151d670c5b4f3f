// Copyright 2026 the Sluice authors. Apache-2.0 license.
// The group coordinator's transactional offset commits (cluster mode, Kafka's): TxnOffsetCommit
// holds offsets as pending until the transaction's marker on the group's partition commits or
// drops them, a load replays the same from the log, and a marker written while the partition
// loads is applied once it is loaded. Offsets are ordered by the offsets of their records in the
// log: a committed transaction's offset replaces a plain commit only from a newer record, and a
// tombstone takes only offsets of older records.
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { ErrorCode } from "../../protocol/errors.ts";
import {
  type CoordinatorLog,
  GroupCoordinator,
  type LoadedCoordinatorRecord,
} from "./coordinator.ts";
import { ManualScheduler } from "./scheduler.ts";
import type { CoordinatorRecord } from "./schemas.ts";
import { committed, offsetRecord, plainCommit, plainOffset, txnCommit } from "./testing.ts";

/** A log's numbering: the offset of the first of `count` records appended, as a partition gives. */
function numbering() {
  let next = 0;
  return (count: number) => {
    next += count;
    return Promise.resolve(next - count);
  };
}

function coordinator(load: () => Promise<LoadedCoordinatorRecord[]> = () => Promise.resolve([])) {
  const written: { records: CoordinatorRecord[]; producerId: number }[] = [];
  const at = numbering();
  const log: CoordinatorLog = {
    append: (_g, records) => at(records.length),
    appendTransactional: (_g, records, p) => {
      written.push({ records, producerId: p.producerId });
      return at(records.length);
    },
    partitionFor: () => 0,
    loadPartition: load,
  };
  const gc = new GroupCoordinator({
    log,
    ownedPartitionsOnly: true,
    scheduler: new ManualScheduler(),
    config: { initialRebalanceDelayMs: 0 },
  });
  return { gc, written };
}

/** in-0 at `offset` in the producer's transaction, its record at `recordOffset`. */
function txnOffset(
  producerId: number,
  offset: number,
  recordOffset: number,
): LoadedCoordinatorRecord {
  return { kind: "txn-offset", producerId, record: offsetRecord(offset), recordOffset };
}

/** The producer's transaction marker at `recordOffset`. */
function marker(
  producerId: number,
  commit: boolean,
  recordOffset: number,
): LoadedCoordinatorRecord {
  return { kind: "txn-marker", producerId, commit, recordOffset };
}

Deno.test("group coordinator: transactional offsets count only with their transaction's COMMIT marker", async () => {
  const { gc, written } = coordinator();
  await gc.onElection(0);
  assertEquals(await txnCommit(gc, 7, 10), [{
    topic: "in",
    partitions: [{ partition: 0, errorCode: 0 }],
  }]);
  assertEquals(written.map((w) => w.producerId), [7]);
  assertEquals([committed(gc), gc.pendingTxnProducers], [-1, [7]]);
  gc.completeTxnOffsets(0, 7, false);
  assertEquals([committed(gc), gc.pendingTxnProducers], [-1, []]);
  await txnCommit(gc, 7, 20);
  gc.completeTxnOffsets(0, 7, true);
  assertEquals([committed(gc), gc.pendingTxnProducers], [20, []]);
  gc.close();
});

Deno.test("group coordinator: a load replays transactional offsets with their markers; open ones stay pending", async () => {
  const { gc } = coordinator(() =>
    Promise.resolve([
      txnOffset(7, 10, 0),
      marker(7, true, 1),
      txnOffset(8, 30, 2),
      txnOffset(7, 15, 3),
      marker(7, false, 4),
    ])
  );
  await gc.onElection(0);
  assertEquals([committed(gc), gc.pendingTxnProducers], [10, [8]]);
  gc.completeTxnOffsets(0, 8, true);
  assertEquals([committed(gc), gc.pendingTxnProducers], [30, []]);
  gc.close();
});

Deno.test("group coordinator: a marker written while the partition loads is applied once loaded", async () => {
  let release: (r: LoadedCoordinatorRecord[]) => void = () => {};
  const { gc } = coordinator(() => new Promise((r) => release = r));
  const loading = gc.onElection(0);
  await Promise.resolve();
  assertEquals(await txnCommit(gc, 9, 1), [{
    topic: "in",
    partitions: [{ partition: 0, errorCode: ErrorCode.COORDINATOR_LOAD_IN_PROGRESS }],
  }]);
  gc.completeTxnOffsets(0, 9, true); // the load read the log before this marker
  release([txnOffset(9, 40, 0)]);
  await loading;
  assertEquals([committed(gc), gc.pendingTxnProducers], [40, []]);
  gc.close();
});

/** [offset, error code] of in-0 and in-1 with require_stable. */
function stable(gc: GroupCoordinator): number[][] {
  return gc.fetchOffsets("g", [{ topic: "in", partitions: [0, 1] }], { requireStable: true })
    .topics[0].partitions.map((p) => [p.offset, p.errorCode]);
}

Deno.test("group coordinator: require_stable answers UNSTABLE_OFFSET_COMMIT while a transaction holds a partition's offset", async () => {
  const { gc } = coordinator();
  await gc.onElection(0);
  await txnCommit(gc, 7, 10);
  gc.completeTxnOffsets(0, 7, true);
  await txnCommit(gc, 8, 20);
  const U = ErrorCode.UNSTABLE_OFFSET_COMMIT;
  assertEquals(stable(gc), [[-1, U], [-1, 0]]);
  assertEquals(committed(gc), 10); // without require_stable: the committed offset
  // every committed offset (null topics): in-0 is listed, unstable
  assertEquals(
    gc.fetchOffsets("g", null, { requireStable: true }).topics[0].partitions
      .map((p) => [p.partition, p.offset, p.errorCode]),
    [[0, -1, U]],
  );
  // another group
  assertEquals(
    gc.fetchOffsets("h", [{ topic: "in", partitions: [0] }], { requireStable: true })
      .topics[0].partitions[0].errorCode,
    0,
  );
  gc.completeTxnOffsets(0, 8, false);
  assertEquals(stable(gc), [[10, 0], [-1, 0]]);
  await txnCommit(gc, 8, 30);
  gc.completeTxnOffsets(0, 8, true);
  assertEquals(stable(gc), [[30, 0], [-1, 0]]);
  gc.close();
});

Deno.test("group coordinator: an open transaction replayed by a load is unstable", async () => {
  const { gc } = coordinator(() => Promise.resolve([txnOffset(8, 30, 0)]));
  await gc.onElection(0);
  assertEquals(stable(gc), [[-1, ErrorCode.UNSTABLE_OFFSET_COMMIT], [-1, 0]]);
  gc.completeTxnOffsets(0, 8, true);
  assertEquals(stable(gc), [[30, 0], [-1, 0]]);
  gc.close();
});

Deno.test("group coordinator: DeleteGroups takes the offsets open transactions hold (a tombstone each); expiry keeps a group with an open transaction", async () => {
  const scheduler = new ManualScheduler();
  const appended: CoordinatorRecord[] = [];
  const at = numbering();
  const gc = new GroupCoordinator({
    log: {
      append: (_g, records) => {
        appended.push(...records);
        return at(records.length);
      },
      appendTransactional: (_g, records) => at(records.length),
      partitionFor: () => 0,
      loadPartition: () => Promise.resolve([]),
    },
    ownedPartitionsOnly: true,
    scheduler,
    config: { initialRebalanceDelayMs: 0, offsetsRetentionMs: 1_000 },
  });
  await gc.onElection(0);
  await txnCommit(gc, 7, 10);
  // only a pending offset: past the retention, the (Empty) group is not deleted
  scheduler.advance(5_000);
  assertEquals(await gc.expireOffsets(), 0);
  assertEquals(gc.listGroups().map((g) => g.groupId), ["g"]);
  assertEquals(appended.length, 0);
  assertEquals(await gc.deleteGroups(["g"]), [{ groupId: "g", errorCode: 0 }]);
  assertEquals(appended.map((r) => r.kind === "offset" ? [r.topic, r.partition, r.value] : r), [
    ["in", 0, null],
    { kind: "group", groupId: "g", value: null },
  ]);
  // committed, the transaction leaves no offset and no group
  assertEquals(gc.completeTxnOffsets(0, 7, true), 0);
  assertEquals(committed(gc), -1);
  assertEquals(gc.listGroups(), []);
  gc.close();
});

// Kafka keeps whichever commit's record is newer in __consumer_offsets when a transaction's
// offsets are committed (OffsetMetadataManager.replayEndTransactionMarker).

Deno.test("group coordinator: a plain commit written after the TxnOffsetCommit stays when the transaction commits", async () => {
  const { gc } = coordinator();
  await gc.onElection(0);
  await txnCommit(gc, 7, 10); // record 0
  assertEquals(await plainCommit(gc, 20), 0); // record 1
  assertEquals(committed(gc), 20);
  assertEquals(gc.completeTxnOffsets(0, 7, true), 0);
  assertEquals([committed(gc), gc.pendingTxnProducers], [20, []]);
  gc.close();
});

Deno.test("group coordinator: a plain commit written before the TxnOffsetCommit gives way when the transaction commits", async () => {
  const { gc } = coordinator();
  await gc.onElection(0);
  assertEquals(await plainCommit(gc, 20), 0); // record 0
  await txnCommit(gc, 7, 10); // record 1
  assertEquals(gc.completeTxnOffsets(0, 7, true), 1);
  assertEquals([committed(gc), gc.pendingTxnProducers], [10, []]);
  // and a later transaction's offset replaces it again
  await txnCommit(gc, 8, 30);
  assertEquals(gc.completeTxnOffsets(0, 8, true), 1);
  assertEquals(committed(gc), 30);
  gc.close();
});

Deno.test("group coordinator: an aborted transaction leaves a plain commit, before or after its TxnOffsetCommit", async () => {
  const { gc } = coordinator();
  await gc.onElection(0);
  await txnCommit(gc, 7, 10);
  assertEquals(await plainCommit(gc, 20), 0);
  gc.completeTxnOffsets(0, 7, false);
  assertEquals([committed(gc), gc.pendingTxnProducers], [20, []]);
  assertEquals(await plainCommit(gc, 25), 0);
  await txnCommit(gc, 7, 11);
  gc.completeTxnOffsets(0, 7, false);
  assertEquals([committed(gc), gc.pendingTxnProducers], [25, []]);
  gc.close();
});

Deno.test("group coordinator: a load orders a committed transaction's offsets against plain commits by record offset", async () => {
  const load = async (records: LoadedCoordinatorRecord[]) => {
    const { gc } = coordinator(() => Promise.resolve(records));
    await gc.onElection(0);
    const out = [committed(gc), gc.pendingTxnProducers];
    gc.close();
    return out;
  };
  // the plain commit's record is newer than the transaction's: it stays
  assertEquals(await load([txnOffset(7, 10, 100), plainOffset(20, 105), marker(7, true, 110)]), [
    20,
    [],
  ]);
  // older: the transaction's offset wins
  assertEquals(await load([plainOffset(20, 95), txnOffset(7, 10, 100), marker(7, true, 110)]), [
    10,
    [],
  ]);
  // aborted: the plain commit stays, before or after
  assertEquals(await load([txnOffset(7, 10, 100), plainOffset(20, 105), marker(7, false, 110)]), [
    20,
    [],
  ]);
  assertEquals(await load([plainOffset(20, 95), txnOffset(7, 10, 100), marker(7, false, 110)]), [
    20,
    [],
  ]);
  // a later plain commit replaces a committed transaction's offset
  assertEquals(await load([txnOffset(7, 10, 100), marker(7, true, 110), plainOffset(5, 111)]), [
    5,
    [],
  ]);
});

Deno.test("group coordinator: a transaction left open by a load is ordered by its record offset when its marker comes", async () => {
  // open at the end of the log, a plain commit after its TxnOffsetCommit
  const { gc } = coordinator(() => Promise.resolve([txnOffset(7, 10, 100), plainOffset(20, 105)]));
  await gc.onElection(0);
  assertEquals([committed(gc), gc.pendingTxnProducers], [20, [7]]);
  assertEquals(gc.completeTxnOffsets(0, 7, true), 0);
  assertEquals([committed(gc), gc.pendingTxnProducers], [20, []]);
  gc.close();
  // the marker written while the partition loads: the same once loaded
  let release: (r: LoadedCoordinatorRecord[]) => void = () => {};
  const second = coordinator(() => new Promise((r) => release = r));
  const loading = second.gc.onElection(0);
  await Promise.resolve();
  second.gc.completeTxnOffsets(0, 9, true);
  release([txnOffset(9, 40, 0), plainOffset(50, 1)]);
  await loading;
  assertEquals([committed(second.gc), second.gc.pendingTxnProducers], [50, []]);
  second.gc.close();
});

Deno.test("group coordinator without a log: records are numbered as a log would number them", async () => {
  const gc = new GroupCoordinator({
    scheduler: new ManualScheduler(),
    config: { initialRebalanceDelayMs: 0 },
  });
  await txnCommit(gc, 7, 10);
  assertEquals(await plainCommit(gc, 20), 0);
  assertEquals(gc.completeTxnOffsets(0, 7, true), 0);
  assertEquals(committed(gc), 20);
  await txnCommit(gc, 8, 30);
  assertEquals(gc.completeTxnOffsets(0, 8, true), 1);
  assertEquals(committed(gc), 30);
  // loaded records come first: what is committed after them is newer
  gc.load([plainOffset(40, 1000)]);
  await txnCommit(gc, 9, 50);
  assertEquals(gc.completeTxnOffsets(0, 9, true), 1);
  assertEquals(committed(gc), 50);
  gc.close();
});

/**
 * A coordinator whose log holds back appends of tombstones until `release` (appends are numbered
 * when they are made, as a partition numbers them).
 */
function holdingTombstones(offsetsRetentionMs = 604_800_000) {
  const at = numbering();
  const held: (() => void)[] = [];
  const hold = (records: CoordinatorRecord[]) => {
    const position = at(records.length);
    if (!records.some((r) => r.value === null)) return position;
    return new Promise<number>((resolve) => held.push(() => resolve(position)));
  };
  const scheduler = new ManualScheduler();
  const gc = new GroupCoordinator({
    log: {
      append: (_g, records) => hold(records),
      appendTransactional: (_g, records) => hold(records),
    },
    scheduler,
    config: { initialRebalanceDelayMs: 0, offsetsRetentionMs },
  });
  const release = () => {
    for (const r of held.splice(0)) r();
  };
  return { gc, scheduler, release };
}

Deno.test("group coordinator: commits written while OffsetDelete's tombstone is written stay (the tombstone is older)", async () => {
  const { gc, release } = holdingTombstones();
  assertEquals(await plainCommit(gc, 20), 0); // record 0
  let deleting = gc.deleteOffsets("g", [{ topic: "in", partition: 0 }]); // record 1
  assertEquals(await plainCommit(gc, 30), 0); // record 2
  release();
  assertEquals((await deleting).partitions[0].errorCode, 0);
  assertEquals(committed(gc), 30);
  // a tombstone takes what is older: the plain commit, not a TxnOffsetCommit written meanwhile
  deleting = gc.deleteOffsets("g", [{ topic: "in", partition: 0 }]); // record 3
  await txnCommit(gc, 7, 40); // record 4
  release();
  await deleting;
  assertEquals([committed(gc), gc.pendingTxnProducers], [-1, [7]]);
  assertEquals(gc.completeTxnOffsets(0, 7, true), 1);
  assertEquals(committed(gc), 40);
  gc.close();
});

Deno.test("group coordinator: a commit written while expired offsets' tombstones are written stays", async () => {
  const { gc, scheduler, release } = holdingTombstones(1_000);
  assertEquals(await plainCommit(gc, 20), 0); // record 0
  scheduler.advance(5_000);
  const expiring = gc.expireOffsets(); // records 1 (the offset) and 2 (the Empty group)
  assertEquals(await plainCommit(gc, 30), 0); // record 3
  release();
  assertEquals(await expiring, 0);
  assertEquals([committed(gc), gc.listGroups().map((g) => g.groupId)], [30, ["g"]]);
  gc.close();
});
