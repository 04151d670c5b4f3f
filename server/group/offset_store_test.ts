// Copyright 2026 the Sluice authors. Apache-2.0 license.
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { LogManager } from "../../engine/mod.ts";
import { buildControlBatch, decodeRecords } from "../../records/mod.ts";
import type { GroupCoordinator } from "./coordinator.ts";
import { CONSUMER_OFFSETS_TOPIC, OffsetStore } from "./offset_store.ts";
import { openGroupCoordinator } from "./open_group_coordinator.ts";
import { ManualScheduler } from "./scheduler.ts";
import {
  type CoordinatorRecord,
  decodeCoordinatorRecord,
  encodeCoordinatorRecord,
  partitionForGroup,
} from "./schemas.ts";

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "sluice_offsets_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("OffsetStore creates a compacted __consumer_offsets on first use, in the group's partition", async () => {
  await withDir(async (dir) => {
    const logs = await LogManager.open(dir);
    const store = await OffsetStore.open(logs, { numPartitions: 5, now: () => 4242 });
    // Created on first use, as in Kafka.
    assertEquals([store.created, logs.topic(CONSUMER_OFFSETS_TOPIC)], [false, undefined]);
    assertEquals(await store.load(), []);
    const p = partitionForGroup("orders-app", 5);
    assertEquals(store.partitionFor("orders-app"), p);
    await store.append("orders-app", [{
      kind: "offset",
      groupId: "orders-app",
      topic: "orders",
      partition: 1,
      value: {
        offset: 10,
        leaderEpoch: -1,
        metadata: "",
        commitTimestamp: 4242,
        expireTimestamp: -1,
      },
    }]);
    const info = logs.topic(CONSUMER_OFFSETS_TOPIC)!;
    assertEquals([info.partitions, info.effective["cleanup.policy"]], [5, "compact"]);
    const log = logs.partition(CONSUMER_OFFSETS_TOPIC, p)!;
    assertEquals(log.logEndOffset, 1);
    const { records } = await log.read(0, 1 << 20);
    const [r] = decodeRecords(records);
    assertEquals(r.timestamp, 4242);
    assertEquals(decodeCoordinatorRecord(r.key!, r.value)?.kind, "offset");
    for (let q = 0; q < 5; q++) {
      if (q !== p) assertEquals(logs.partition(CONSUMER_OFFSETS_TOPIC, q)!.logEndOffset, 0);
    }
    await logs.close();
  });
});

Deno.test("committed offsets and group metadata survive reopening the engine", async () => {
  await withDir(async (dir) => {
    const clock = new ManualScheduler(1_000_000);
    let logs = await LogManager.open(dir);
    let groups = await openGroupCoordinator(logs, {
      offsetsTopicNumPartitions: 4,
      scheduler: clock,
      config: { initialRebalanceDelayMs: 0 },
    });
    const join = groups.joinGroup({
      groupId: "app",
      memberId: "",
      groupInstanceId: null,
      requireKnownMemberId: false,
      clientId: "c",
      clientHost: "/127.0.0.1",
      rebalanceTimeoutMs: 10000,
      sessionTimeoutMs: 10000,
      protocolType: "consumer",
      protocols: [{ name: "range", metadata: new Uint8Array([1]) }],
    });
    clock.advance(0);
    const j = await join;
    await groups.syncGroup({
      groupId: "app",
      generationId: 1,
      memberId: j.memberId,
      groupInstanceId: null,
      assignments: [{ memberId: j.memberId, assignment: new Uint8Array([9]) }],
    });
    for (let i = 0; i < 20; i++) {
      const res = await groups.commitOffsets({
        groupId: "app",
        generationId: 1,
        memberId: j.memberId,
        groupInstanceId: null,
        topics: [{
          topic: "orders",
          partitions: [
            { partition: 0, offset: 100 + i, leaderEpoch: 0, metadata: `m${i}` },
            { partition: 1, offset: 200 + i, leaderEpoch: -1, metadata: null },
          ],
        }],
      });
      assertEquals(res[0].partitions.map((p) => p.errorCode), [0, 0]);
    }
    await groups.commitOffsets({
      groupId: "admin",
      generationId: -1,
      memberId: "",
      groupInstanceId: null,
      topics: [{
        topic: "t",
        partitions: [{ partition: 3, offset: 5, leaderEpoch: -1, metadata: "" }],
      }],
    });
    await groups.commitOffsets({
      groupId: "doomed",
      generationId: -1,
      memberId: "",
      groupInstanceId: null,
      topics: [{
        topic: "t",
        partitions: [{ partition: 0, offset: 1, leaderEpoch: -1, metadata: "" }],
      }],
    });
    assertEquals(await groups.deleteGroups(["doomed"]), [{ groupId: "doomed", errorCode: 0 }]);
    groups.close();
    await logs.close();

    logs = await LogManager.open(dir);
    groups = await openGroupCoordinator(logs, { offsetsTopicNumPartitions: 4, scheduler: clock });
    assertEquals(groups.listGroups(), [
      { groupId: "admin", protocolType: "", groupState: "Empty", groupType: "classic" },
      { groupId: "app", protocolType: "consumer", groupState: "Stable", groupType: "classic" },
    ]);
    assertEquals(groups.fetchOffsets("app", null).topics, [{
      topic: "orders",
      partitions: [
        { partition: 0, offset: 119, leaderEpoch: 0, metadata: "m19", errorCode: 0 },
        { partition: 1, offset: 219, leaderEpoch: -1, metadata: "", errorCode: 0 },
      ],
    }]);
    assertEquals(groups.fetchOffsets("admin", null).topics[0].partitions[0].offset, 5);
    assertEquals(groups.fetchOffsets("doomed", null).topics, []);
    const d = groups.describeGroup("app");
    assertEquals(d.members.map((m) => [m.memberId, m.memberAssignment]), [[
      j.memberId,
      new Uint8Array([9]),
    ]]);
    groups.close();
    await logs.close();
  });
});

Deno.test("a crash without clean shutdown keeps acknowledged commits", async () => {
  await withDir(async (dir) => {
    const logs = await LogManager.open(dir);
    const groups = await openGroupCoordinator(logs, { offsetsTopicNumPartitions: 2 });
    await groups.commitOffsets({
      groupId: "g",
      generationId: -1,
      memberId: "",
      groupInstanceId: null,
      topics: [{
        topic: "t",
        partitions: [{ partition: 0, offset: 77, leaderEpoch: -1, metadata: "" }],
      }],
    });
    groups.close();
    // No logs.close(): a second engine opens the same directory as after a kill.
    const copy = await Deno.makeTempDir({ prefix: "sluice_offsets_copy_" });
    try {
      await copyDir(dir, copy);
      const logs2 = await LogManager.open(copy);
      const groups2 = await openGroupCoordinator(logs2, { offsetsTopicNumPartitions: 2 });
      assertEquals(
        groups2.fetchOffsets("g", [{ topic: "t", partitions: [0] }]).topics[0].partitions[0].offset,
        77,
      );
      groups2.close();
      await logs2.close();
    } finally {
      await logs.close();
      await Deno.remove(copy, { recursive: true });
    }
  });
});

async function copyDir(from: string, to: string): Promise<void> {
  for await (const e of Deno.readDir(from)) {
    if (e.isDirectory) {
      await Deno.mkdir(`${to}/${e.name}`);
      await copyDir(`${from}/${e.name}`, `${to}/${e.name}`);
    } else if (e.isFile) await Deno.copyFile(`${from}/${e.name}`, `${to}/${e.name}`);
  }
}

Deno.test("after log compaction, replay still yields the latest offsets and no deleted group", async () => {
  await withDir(async (dir) => {
    let logs = await LogManager.open(dir, { cleanerBackoffMs: 0 });
    const opts = { offsetsTopicNumPartitions: 1, offsetsTopicSegmentBytes: 1024 };
    let groups = await openGroupCoordinator(logs, opts);
    const commit = (groupId: string, partition: number, offset: number) =>
      groups.commitOffsets({
        groupId,
        generationId: -1,
        memberId: "",
        groupInstanceId: null,
        topics: [{
          topic: "t",
          partitions: [{ partition, offset, leaderEpoch: -1, metadata: "" }],
        }],
      });
    for (let i = 0; i < 100; i++) {
      await commit("g", i % 2, i);
      await commit("gone", 0, i);
    }
    await groups.deleteGroups(["gone"]);
    for (let i = 100; i < 110; i++) await commit("g", i % 2, i);
    const log = logs.partition(CONSUMER_OFFSETS_TOPIC, 0)!;
    const before = log.sizeInBytes;
    // Far in the future, so the deleted group's tombstones are past their horizon too.
    const stats = await logs.runCleaner({ force: true, now: Date.now() + 2 * 86_400_000 });
    const mine = stats.find((s) => s.topic === CONSUMER_OFFSETS_TOPIC)!;
    assertEquals(mine.cleaned, true);
    assertEquals(log.sizeInBytes < before / 4, true);
    groups.close();
    await logs.close();

    logs = await LogManager.open(dir, { cleanerBackoffMs: 0 });
    groups = await openGroupCoordinator(logs, opts);
    assertEquals(
      groups.fetchOffsets("g", null).topics[0].partitions.map((p) => [p.partition, p.offset]),
      [
        [0, 108],
        [1, 109],
      ],
    );
    assertEquals(groups.listGroups().map((g) => g.groupId), ["g"]);
    groups.close();
    await logs.close();
  });
});

/** An offset record of group `g`, topic `t`. */
function offsetRecord(partition: number, offset: number): CoordinatorRecord {
  return {
    kind: "offset",
    groupId: "g",
    topic: "t",
    partition,
    value: { offset, leaderEpoch: -1, metadata: "", commitTimestamp: 1, expireTimestamp: -1 },
  };
}

Deno.test("OffsetStore appends report their records' offsets; a replay carries them, the stored records do not", async () => {
  await withDir(async (dir) => {
    const logs = await LogManager.open(dir);
    const store = await OffsetStore.open(logs, { numPartitions: 1 });
    const plain = [offsetRecord(0, 5), offsetRecord(1, 6)];
    assertEquals(await store.append("g", plain), 0);
    const txn = [offsetRecord(0, 7)];
    const producer = { producerId: 42, producerEpoch: 0 };
    assertEquals(await store.appendTransactional("g", txn, producer), 2);
    const log = logs.partition(CONSUMER_OFFSETS_TOPIC, 0)!;
    await log.append(buildControlBatch({ ...producer, commit: true, timestamp: 1 }));
    assertEquals(await store.append("g", [offsetRecord(1, 8)]), 4);
    assertEquals(await store.append("g", []), -1);
    assertEquals(await store.loadPartition(0), [
      { ...plain[0], recordOffset: 0 },
      { ...plain[1], recordOffset: 1 },
      { kind: "txn-offset", producerId: 42, record: txn[0], recordOffset: 2 },
      { kind: "txn-marker", producerId: 42, commit: true, recordOffset: 3 },
      { ...offsetRecord(1, 8), recordOffset: 4 },
    ]);
    // the __consumer_offsets format is Kafka's: keys and values as encoded, no position in them
    const { records } = await log.read(0, 1 << 20);
    const stored = decodeRecords(records).filter((r) => r.offset !== 3);
    assertEquals(
      stored.map((r) => [r.offset, r.key, r.value]),
      [...plain, ...txn, offsetRecord(1, 8)].map((r, i) => {
        const { key, value } = encodeCoordinatorRecord(r);
        return [i < 3 ? i : 4, key, value];
      }),
    );
    await logs.close();
  });
});

Deno.test("a committed transaction's offset replaces a plain commit only from a newer record: live, after reopening, after compaction", async () => {
  await withDir(async (dir) => {
    const opts = { offsetsTopicNumPartitions: 1, offsetsTopicSegmentBytes: 1024 };
    let logs = await LogManager.open(dir, { cleanerBackoffMs: 0 });
    let groups = await openGroupCoordinator(logs, opts);
    const topics = (partition: number, offset: number) => [{
      topic: "t",
      partitions: [{ partition, offset, leaderEpoch: -1, metadata: "" }],
    }];
    const noMember = { generationId: -1, memberId: "", groupInstanceId: null };
    const plain = async (groupId: string, partition: number, offset: number) => {
      const r = await groups.commitOffsets({
        groupId,
        ...noMember,
        topics: topics(partition, offset),
      });
      assertEquals(r[0].partitions[0].errorCode, 0);
    };
    const txn = async (producerId: number, partition: number, offset: number) => {
      const r = await groups.txnCommitOffsets({
        groupId: "g",
        ...noMember,
        transactionalId: `tx${producerId}`,
        producerId,
        producerEpoch: 0,
        topics: topics(partition, offset),
      });
      assertEquals(r[0].partitions[0].errorCode, 0);
    };
    // what the transaction coordinator does: the marker, then the group coordinator's completion
    const end = async (producerId: number, commit: boolean) => {
      const log = logs.partition(CONSUMER_OFFSETS_TOPIC, 0)!;
      await log.append(buildControlBatch({ producerId, producerEpoch: 0, commit, timestamp: 1 }));
      groups.completeTxnOffsets(0, producerId, commit);
    };
    const offsets = (gc: GroupCoordinator) =>
      gc.fetchOffsets("g", [{ topic: "t", partitions: [0, 1, 2, 3] }]).topics[0].partitions
        .map((p) => p.offset);
    // t-0: TxnOffsetCommit 10, a plain commit 20, COMMIT: the plain commit is newer
    await txn(1, 0, 10);
    await plain("g", 0, 20);
    await end(1, true);
    // t-1: a plain commit 20, TxnOffsetCommit 10, COMMIT: the transaction's is newer
    await plain("g", 1, 20);
    await txn(2, 1, 10);
    await end(2, true);
    // t-2: TxnOffsetCommit 10, a plain commit 20, ABORT
    await txn(3, 2, 10);
    await plain("g", 2, 20);
    await end(3, false);
    // t-3: TxnOffsetCommit 10, COMMIT, a plain commit 20
    await txn(4, 3, 10);
    await end(4, true);
    await plain("g", 3, 20);
    const expected = [20, 10, 20, 20];
    assertEquals(offsets(groups), expected);
    groups.close();
    await logs.close();

    logs = await LogManager.open(dir, { cleanerBackoffMs: 0 });
    groups = await openGroupCoordinator(logs, opts);
    assertEquals(offsets(groups), expected);
    // compaction keeps the newest record of each key (t-0's TxnOffsetCommit goes, t-1's plain
    // commit too): the replay still gives the same
    for (let i = 0; i < 40; i++) await plain("filler", 0, i);
    const stats = await logs.runCleaner({ force: true, now: Date.now() + 2 * 86_400_000 });
    assertEquals(stats.find((s) => s.topic === CONSUMER_OFFSETS_TOPIC)?.cleaned, true);
    // g's records left: the markers, and the newest record of each of its partitions
    const left = (await (await OffsetStore.open(logs)).loadPartition(0))
      .filter((r) => r.kind !== "offset" || r.groupId === "g")
      .map((r) => [r.kind, r.recordOffset]);
    assertEquals(left, [
      ["offset", 1],
      ["txn-marker", 2],
      ["txn-offset", 4],
      ["txn-marker", 5],
      ["offset", 7],
      ["txn-marker", 8],
      ["txn-marker", 10],
      ["offset", 11],
    ]);
    groups.close();
    await logs.close();

    logs = await LogManager.open(dir, { cleanerBackoffMs: 0 });
    groups = await openGroupCoordinator(logs, opts);
    assertEquals(offsets(groups), expected);
    groups.close();
    await logs.close();
  });
});
