// Copyright 2026 the Sluice authors. Apache-2.0 license.
import { deepStrictEqual as assertEquals, strictEqual } from "node:assert/strict";
import { LogManager } from "../../engine/mod.ts";
import { ErrorCode } from "../../protocol/errors.ts";
import { buildBatch } from "../../wasm/testing.ts";
import { decodeControlRecordKey, decodeRecordBatches } from "../../records/mod.ts";
import { openTransactionCoordinator, TRANSACTION_STATE_TOPIC } from "./mod.ts";
import type { TransactionCoordinator } from "./coordinator.ts";

async function setup(dir: string, clock: { t: number }): Promise<{
  logs: LogManager;
  txns: TransactionCoordinator;
}> {
  const logs = await LogManager.open(dir);
  let next = 100;
  const txns = await openTransactionCoordinator(logs, {
    numPartitions: 3,
    nextProducerId: () => Promise.resolve(next++),
    now: () => clock.t,
    startTimer: false,
  });
  return { logs, txns };
}

/** Control batches in a partition: [offset, producer id, epoch, type]. */
async function markers(logs: LogManager, topic: string): Promise<number[][]> {
  const log = logs.partition(topic, 0)!;
  const { records } = await log.read(0, 1 << 20);
  const out: number[][] = [];
  for (const b of decodeRecordBatches(records)) {
    if (!b.control) continue;
    out.push([
      b.baseOffset,
      b.producerId,
      b.producerEpoch,
      decodeControlRecordKey(b.records[0].key),
    ]);
  }
  return out;
}

Deno.test("TransactionCoordinator: init, add, commit, abort, fencing, replay", async () => {
  const dir = await Deno.makeTempDir();
  const clock = { t: 1_000_000 };
  try {
    let { logs, txns } = await setup(dir, clock);
    await logs.createTopic("t", 1);
    const init = await txns.initProducerId({ transactionalId: "tx", timeoutMs: 60000 });
    assertEquals(init, { errorCode: 0, producerId: 100, producerEpoch: 0 });
    const p = { transactionalId: "tx", producerId: 100, producerEpoch: 0 };
    // EndTxn with no transaction: INVALID_TXN_STATE.
    strictEqual(await txns.endTxn(p, true), ErrorCode.INVALID_TXN_STATE);
    assertEquals(await txns.addPartitions(p, [{ topic: "t", partitions: [0] }]), [
      { topic: "t", partitions: [{ partition: 0, errorCode: 0 }] },
    ]);
    // Unknown partition: nothing added.
    assertEquals(await txns.addPartitions(p, [{ topic: "t", partitions: [0, 5] }]), [
      {
        topic: "t",
        partitions: [
          { partition: 0, errorCode: ErrorCode.OPERATION_NOT_ATTEMPTED },
          { partition: 5, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION },
        ],
      },
    ]);
    strictEqual(txns.describe("tx")!.state, "Ongoing");
    const log = logs.partition("t", 0)!;
    await log.append(
      buildBatch({
        records: [{ key: "k", value: "a" }],
        producerId: 100,
        producerEpoch: 0,
        baseSequence: 0,
        attributes: 0x10, // transactional
      }),
    );
    strictEqual(log.lastStableOffset, 0);
    strictEqual(await txns.endTxn(p, true), 0);
    strictEqual(txns.describe("tx")!.state, "CompleteCommit");
    strictEqual(log.lastStableOffset, 2);
    strictEqual(await txns.endTxn(p, true), 0); // retry
    strictEqual(await txns.endTxn(p, false), ErrorCode.INVALID_TXN_STATE);
    // Second transaction, aborted.
    await txns.addPartitions(p, [{ topic: "t", partitions: [0] }]);
    await log.append(
      buildBatch({
        records: [{ key: "k", value: "b" }],
        producerId: 100,
        producerEpoch: 0,
        baseSequence: 1,
        attributes: 0x10,
      }),
    );
    strictEqual(await txns.endTxn(p, false), 0);
    // the log indexes the aborted transaction (its LSO once the marker is in: nothing open)
    assertEquals(log.abortedTransactions(0, 10), [
      { producerId: 100, firstOffset: 2, lastOffset: 3, lastStableOffset: 4 },
    ]);
    assertEquals(await markers(logs, "t"), [[1, 100, 0, 1], [3, 100, 0, 0]]);
    // Third transaction left ongoing, then a new producer fences it.
    await txns.addPartitions(p, [{ topic: "t", partitions: [0] }]);
    const again = await txns.initProducerId({ transactionalId: "tx", timeoutMs: 60000 });
    assertEquals(again, { errorCode: 0, producerId: 100, producerEpoch: 2 });
    assertEquals((await markers(logs, "t"))[2], [4, 100, 1, 0]);
    strictEqual(await txns.endTxn(p, true), ErrorCode.PRODUCER_FENCED);
    assertEquals(
      await txns.addPartitions({ ...p, producerId: 7 }, [{ topic: "t", partitions: [0] }]),
      [
        {
          topic: "t",
          partitions: [{ partition: 0, errorCode: ErrorCode.INVALID_PRODUCER_ID_MAPPING }],
        },
      ],
    );
    // KIP-360: a stale epoch is fenced; the current one bumps.
    strictEqual(
      (await txns.initProducerId({
        transactionalId: "tx",
        timeoutMs: 60000,
        producerId: 100,
        producerEpoch: 0,
      }))
        .errorCode,
      ErrorCode.PRODUCER_FENCED,
    );
    assertEquals(
      await txns.initProducerId({
        transactionalId: "tx",
        timeoutMs: 60000,
        producerId: 100,
        producerEpoch: 2,
      }),
      { errorCode: 0, producerId: 100, producerEpoch: 3 },
    );
    strictEqual(
      (await txns.initProducerId({ transactionalId: "tx", timeoutMs: 900001 })).errorCode,
      ErrorCode.INVALID_TRANSACTION_TIMEOUT,
    );
    // Timeout: an ongoing transaction older than its timeout is aborted with an epoch bump.
    const p3 = { ...p, producerEpoch: 3 };
    await txns.addPartitions(p3, [{ topic: "t", partitions: [0] }]);
    strictEqual(await txns.abortTimedOut(clock.t + 60000), 0);
    strictEqual(await txns.abortTimedOut(clock.t + 60001), 1);
    assertEquals(txns.describe("tx")!.state, "CompleteAbort");
    strictEqual(txns.describe("tx")!.producerEpoch, 4);
    strictEqual(await txns.endTxn(p3, false), 0); // the fenced producer's abort retry
    strictEqual(await txns.endTxn(p3, true), ErrorCode.PRODUCER_FENCED);
    strictEqual(logs.topic(TRANSACTION_STATE_TOPIC)!.partitions, 3);
    txns.close();
    await logs.close();
    // Replay.
    ({ logs, txns } = await setup(dir, clock));
    const d = txns.describe("tx")!;
    assertEquals([d.state, d.producerId, d.producerEpoch, d.timeoutMs], [
      "CompleteAbort",
      100,
      4,
      60000,
    ]);
    assertEquals(
      await txns.initProducerId({ transactionalId: "tx", timeoutMs: 1000 }),
      { errorCode: 0, producerId: 100, producerEpoch: 5 },
    );
    assertEquals(txns.list({ states: ["Empty"] }).map((t) => t.transactionalId), ["tx"]);
    assertEquals(txns.list({ states: ["Ongoing"] }), []);
    txns.close();
    await logs.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("TransactionCoordinator: a PrepareCommit left by a crash is completed at start-up", async () => {
  const dir = await Deno.makeTempDir();
  const clock = { t: 5 };
  try {
    let { logs, txns } = await setup(dir, clock);
    await logs.createTopic("t", 1);
    await txns.initProducerId({ transactionalId: "x", timeoutMs: 1000 });
    await txns.addPartitions({ transactionalId: "x", producerId: 100, producerEpoch: 0 }, [
      { topic: "t", partitions: [0] },
    ]);
    txns.close();
    // Simulate a crash between PrepareCommit and the markers.
    const { TransactionStateStore } = await import("./store.ts");
    const store = TransactionStateStore.open(logs, { numPartitions: 3 });
    await store.append("x", {
      producerId: 100,
      producerEpoch: 0,
      timeoutMs: 1000,
      state: "PrepareCommit",
      partitions: new Map([["t", new Set([0])]]),
      lastUpdateTimestamp: 5,
      startTimestamp: 5,
    });
    await logs.close();
    ({ logs, txns } = await setup(dir, clock));
    strictEqual(txns.describe("x")!.state, "CompleteCommit");
    assertEquals(await markers(logs, "t"), [[0, 100, 0, 1]]);
    txns.close();
    await logs.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("TransactionCoordinator: LSO and aborted transactions are the log's, across a restart", async () => {
  const dir = await Deno.makeTempDir();
  const clock = { t: Date.now() };
  try {
    let { logs, txns } = await setup(dir, clock);
    await logs.createTopic("t", 1);
    const log = logs.partition("t", 0)!;
    await log.append(
      buildBatch({ records: [{ key: "k", value: "plain" }], baseTimestamp: clock.t }),
    );
    await txns.initProducerId({ transactionalId: "a", timeoutMs: 60000 }); // producer 100
    await txns.initProducerId({ transactionalId: "b", timeoutMs: 60000 }); // producer 101
    const pa = { transactionalId: "a", producerId: 100, producerEpoch: 0 };
    const pb = { transactionalId: "b", producerId: 101, producerEpoch: 0 };
    const send = (pid: number, seq: number) =>
      logs.partition("t", 0)!.append(buildBatch({
        records: [{ key: "k", value: "x" }],
        producerId: pid,
        producerEpoch: 0,
        baseSequence: seq,
        attributes: 0x10,
        baseTimestamp: clock.t,
      }));
    await txns.addPartitions(pa, [{ topic: "t", partitions: [0] }]);
    await send(100, 0); // 1
    await txns.addPartitions(pb, [{ topic: "t", partitions: [0] }]);
    await send(101, 0); // 2
    strictEqual(await txns.endTxn(pa, false), 0); // ABORT at 3
    // b stays ongoing from offset 2.
    txns.close();
    await logs.close();
    ({ logs, txns } = await setup(dir, clock));
    const reopened = logs.partition("t", 0)!;
    assertEquals([reopened.highWatermark, reopened.lastStableOffset], [4, 2]);
    assertEquals(reopened.abortedTransactions(0, 4), [
      { producerId: 100, firstOffset: 1, lastOffset: 3, lastStableOffset: 2 },
    ]);
    strictEqual(txns.describe("b")!.state, "Ongoing");
    strictEqual(await txns.endTxn(pb, true), 0); // COMMIT at 4
    strictEqual(reopened.lastStableOffset, 5);
    txns.close();
    await logs.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("TransactionCoordinator (cluster mode): markers not written yet complete in the background; a fenced coordinator stops", async () => {
  const dir = await Deno.makeTempDir();
  const logs = await LogManager.open(dir);
  try {
    await logs.createTopic(TRANSACTION_STATE_TOPIC, 3);
    const calls: { coordinatorEpoch: number; commit: boolean }[] = [];
    let answer: number = ErrorCode.REQUEST_TIMED_OUT;
    let next = 7;
    const txns = await openTransactionCoordinator(logs, {
      numPartitions: 3,
      nextProducerId: () => Promise.resolve(next++),
      startTimer: false,
      clusterPartitions: () => 3,
      partitionExists: (t, p) => t === "remote" && p < 2,
      markers: {
        send(req) {
          calls.push({ coordinatorEpoch: req.coordinatorEpoch, commit: req.commit });
          const errorCode = answer;
          answer = ErrorCode.NONE; // the next attempt goes through
          return Promise.resolve(req.topics.map((t) => ({
            topic: t.topic,
            partitions: t.partitions.map((partition) => ({ partition, errorCode })),
          })));
        },
        close() {},
      },
    });
    try {
      for (let p = 0; p < 3; p++) await txns.onElection(p, 5);
      const init = await txns.initProducerId({ transactionalId: "tx", timeoutMs: 60000 });
      strictEqual(init.errorCode, 0);
      const p = { transactionalId: "tx", producerId: init.producerId, producerEpoch: 0 };
      // a partition the cluster has, though not in this broker's engine
      assertEquals(await txns.addPartitions(p, [{ topic: "remote", partitions: [1] }]), [
        { topic: "remote", partitions: [{ partition: 1, errorCode: 0 }] },
      ]);
      // the first attempt at the markers fails: the outcome is decided (PrepareCommit), EndTxn
      // answers, and the id's requests get CONCURRENT_TRANSACTIONS until the markers are in
      strictEqual(await txns.endTxn(p, true), ErrorCode.NONE);
      strictEqual(txns.describe("tx")!.state, "PrepareCommit");
      strictEqual(await txns.endTxn(p, true), ErrorCode.CONCURRENT_TRANSACTIONS);
      strictEqual(
        (await txns.initProducerId({ transactionalId: "tx", timeoutMs: 60000 })).errorCode,
        ErrorCode.CONCURRENT_TRANSACTIONS,
      );
      const deadline = Date.now() + 10_000;
      while (txns.describe("tx")!.state !== "CompleteCommit" && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
      }
      strictEqual(txns.describe("tx")!.state, "CompleteCommit");
      // the markers carry the leader epoch of the coordinator's partition
      assertEquals(calls, [
        { coordinatorEpoch: 5, commit: true },
        { coordinatorEpoch: 5, commit: true },
      ]);
      // a newer coordinator took over (TRANSACTION_COORDINATOR_FENCED): no Complete, no retry
      await txns.addPartitions(p, [{ topic: "remote", partitions: [0] }]);
      answer = ErrorCode.TRANSACTION_COORDINATOR_FENCED;
      strictEqual(await txns.endTxn(p, false), ErrorCode.NONE);
      await new Promise((r) => setTimeout(r, 800));
      strictEqual(calls.length, 3);
      strictEqual(txns.describe("tx")!.state, "PrepareAbort");
    } finally {
      txns.close();
      await txns.drain();
    }
  } finally {
    await logs.close();
    await Deno.remove(dir, { recursive: true });
  }
});
