// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * What cluster tests check on the brokers' disks once they are stopped: every replica of a
 * partition read from its data directory with the engine, byte for byte, and compared with the
 * others up to the high watermark (the largest one any replica checkpointed in
 * `replication-offset-checkpoint`).
 *
 * Needs `--allow-read --allow-write` (the engine opens the data directory).
 *
 * @module
 */

import { LogManager } from "../../engine/mod.ts";
import { baseOffsetAt, batchSizeAt, decodeRecords, nextOffsetAfter } from "../../records/mod.ts";
import type { PartitionContents } from "../chaos/checker.ts";
import { readValue } from "../chaos/protocol.ts";

/** One replica of a partition, as its data directory holds it. */
export interface ReplicaLog {
  /** The broker's data directory. */
  dataDir: string;
  /** Log end offset. */
  logEndOffset: number;
  /** High watermark in `replication-offset-checkpoint` (-1: none). */
  highWatermark: number;
  /** The raw batches from the log start, concatenated. */
  bytes: Uint8Array;
  /** Byte position of the first batch at or after each batch's base offset, by offset. */
  batchStarts: Map<number, number>;
}

/**
 * Reads one partition from a stopped broker's data directory.
 *
 * @param dataDir The data directory (no broker may run on it).
 * @param topic Topic.
 * @param partition Partition.
 * @returns The replica, or `undefined` when the directory has no such partition.
 * @throws {Error} If the directory cannot be opened.
 */
export async function readReplica(
  dataDir: string,
  topic: string,
  partition: number,
): Promise<ReplicaLog | undefined> {
  const logs = await LogManager.open(dataDir, { logger: () => {} });
  try {
    const log = logs.partition(topic, partition);
    if (log === undefined) return undefined;
    const chunks: Uint8Array[] = [];
    const batchStarts = new Map<number, number>();
    let size = 0;
    let offset = log.logStartOffset;
    while (offset < log.logEndOffset) {
      const r = await log.read(offset, 8 << 20, { maxOffset: log.logEndOffset });
      const next = nextOffsetAfter(r.records);
      if (next === null) throw new Error(`${topic}-${partition}: no whole batch at ${offset}`);
      let p = 0;
      while (p < r.records.length) {
        const n = batchSizeAt(r.records, p);
        if (p + n > r.records.length) break;
        batchStarts.set(baseOffsetAt(r.records, p), size + p);
        p += n;
      }
      chunks.push(r.records.slice(0, p));
      size += p;
      offset = next;
    }
    const bytes = new Uint8Array(size);
    let at = 0;
    for (const c of chunks) {
      bytes.set(c, at);
      at += c.length;
    }
    return {
      dataDir,
      logEndOffset: log.logEndOffset,
      highWatermark: log.highWatermarkCheckpoint ?? -1,
      bytes,
      batchStarts,
    };
  } finally {
    await logs.close();
  }
}

/**
 * The records of a replica below `upTo`, as the chaos checker reads them.
 *
 * @param replica The replica.
 * @param upTo End offset (exclusive).
 * @param recordBytes The size every value was written with.
 * @returns The records, with `highWatermark` = `upTo`.
 */
export function replicaContents(
  replica: ReplicaLog,
  upTo: number,
  recordBytes: number,
): PartitionContents {
  const out: PartitionContents = { offsets: [], ids: [], intact: [], highWatermark: upTo };
  for (const r of decodeRecords(replica.bytes)) {
    if (r.offset >= upTo) break;
    const v = readValue(r.value, recordBytes);
    out.offsets.push(r.offset);
    out.ids.push(v.id);
    out.intact.push(v.intact);
  }
  return out;
}

/**
 * Where two replicas first differ below `upTo` (whole batches from the first offset both have),
 * or `undefined` when they are byte-identical there.
 *
 * @param a One replica.
 * @param b Another.
 * @param upTo End offset (exclusive).
 * @returns A description of the first difference.
 */
export function compareReplicas(a: ReplicaLog, b: ReplicaLog, upTo: number): string | undefined {
  const end = (r: ReplicaLog) => {
    let pos = r.bytes.length;
    for (const [base, p] of r.batchStarts) if (base >= upTo && p < pos) pos = p;
    return pos;
  };
  const ea = end(a), eb = end(b);
  if (ea !== eb) {
    return `${a.dataDir} has ${ea} bytes below offset ${upTo}, ${b.dataDir} has ${eb}`;
  }
  for (let i = 0; i < ea; i++) {
    if (a.bytes[i] !== b.bytes[i]) {
      let base = -1;
      for (const [o, p] of a.batchStarts) if (p <= i && o > base) base = o;
      return `${a.dataDir} and ${b.dataDir} differ at byte ${i} (batch at offset ${base})`;
    }
  }
  return undefined;
}
