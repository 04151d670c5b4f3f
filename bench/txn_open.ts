// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * Start-up time of a data directory whose partitions hold transactions: writes `P` partitions
 * of about `M` MiB each through the transaction coordinator (transactions of 10 batches of
 * 16 KiB, every 5th aborted, the last one left open), closes cleanly, then times what a broker
 * does at start-up — `LogManager.open` and `openTransactionCoordinator` — and the first
 * `read_committed` answer (the LSO of every partition) a few times. Figures in
 * `docs/PERFORMANCE.md` (Findings).
 *
 * @example
 * ```sh
 * deno run -A bench/txn_open.ts 4 64      # 4 partitions of 64 MiB
 * ```
 *
 * @module
 */

import { LogManager } from "../engine/mod.ts";
import { openTransactionCoordinator } from "../server/txn/mod.ts";
import { buildBatch } from "../wasm/testing.ts";

const partitions = Number(Deno.args[0] ?? 4);
const mib = Number(Deno.args[1] ?? 64);
const runs = Number(Deno.args[2] ?? 3);
const dir = await Deno.makeTempDir({ prefix: "sluice-txn-open-" });
const opts = { retentionCheckIntervalMs: 0, flushCheckpointIntervalMs: 0, cleanerBackoffMs: 0 };
const value = "v".repeat(1000);
const secs = (t: number) => `${((performance.now() - t) / 1000).toFixed(2)} s`;

try {
  let mgr = await LogManager.open(dir, opts);
  let nextPid = 1000;
  let txns = await openTransactionCoordinator(mgr, {
    numPartitions: 1,
    nextProducerId: () => Promise.resolve(nextPid++),
    startTimer: false,
  });
  await mgr.createTopic("t", partitions);
  let t = performance.now();
  const batchesPerPartition = Math.ceil((mib * 2 ** 20) / (16 * 1024));
  for (let p = 0; p < partitions; p++) {
    const tid = `tid-${p}`;
    const init = await txns.initProducerId({ transactionalId: tid, timeoutMs: 900_000 });
    const producer = { transactionalId: tid, producerId: init.producerId, producerEpoch: 0 };
    const log = mgr.partition("t", p)!;
    let seq = 0;
    for (let b = 0, n = 0; b < batchesPerPartition; n++) {
      await txns.addPartitions(producer, [{ topic: "t", partitions: [p] }]);
      for (let i = 0; i < 10 && b < batchesPerPartition; i++, b++) {
        await log.append(buildBatch({
          records: Array.from({ length: 16 }, (_, r) => ({ key: `k${r}`, value })),
          producerId: init.producerId,
          producerEpoch: 0,
          baseSequence: seq,
          attributes: 0x10,
          baseTimestamp: Date.now(),
        }));
        seq += 16;
      }
      if (b < batchesPerPartition) await txns.endTxn(producer, n % 5 !== 4);
    }
  }
  txns.close();
  await mgr.close();
  console.log(
    `wrote ${partitions} partitions of ${mib} MiB (${batchesPerPartition} batches each) in ` +
      secs(t),
  );
  for (let r = 0; r < runs; r++) {
    t = performance.now();
    mgr = await LogManager.open(dir, opts);
    const opened = secs(t);
    txns = await openTransactionCoordinator(mgr, {
      numPartitions: 1,
      nextProducerId: () => Promise.resolve(nextPid++),
      startTimer: false,
    });
    const coordinator = secs(t);
    // the LSO as read_committed fetches get it (from the log; before, from the coordinator)
    const before = txns as unknown as {
      lastStableOffset?: (t: string, p: number, hw: number) => number;
    };
    let lso = 0;
    for (let p = 0; p < partitions; p++) {
      const log = mgr.partition("t", p)!;
      lso += before.lastStableOffset?.("t", p, log.highWatermark) ??
        (log as unknown as { lastStableOffset: number }).lastStableOffset;
    }
    console.log(
      `open ${r + 1}: LogManager.open ${opened}, with the transaction coordinator ` +
        `${coordinator} (LSO sum ${lso})`,
    );
    txns.close();
    await mgr.close();
  }
} finally {
  await Deno.remove(dir, { recursive: true });
}
