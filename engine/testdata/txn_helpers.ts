/**
 * Test support for transactions in the engine: transactional batches, markers, and what a
 * `read_committed` client delivers from `PartitionLog.readCommitted` (Java's `Fetcher`,
 * librdkafka: a listed producer's batches are dropped from the listed first offset up to its
 * ABORT marker; control batches are never delivered).
 *
 * @module
 */

import {
  baseOffsetAt,
  batchSizeAt,
  buildControlBatch,
  ControlRecordType,
  decodeRecordBatches,
  endTxnMarkerAt,
  TRANSACTIONAL_BIT,
} from "../../records/mod.ts";
import { buildBatch } from "../../wasm/testing.ts";
import type { AbortedTxn } from "../transaction_index.ts";
import type { PartitionLog } from "../partition_log.ts";

/** Batches of one test: the next sequence of each producer. */
export class Producers {
  #seqs = new Map<number, number>();

  /**
   * A transactional batch of `values` (keys `k-<value>`, or `keys`).
   *
   * @param pid Producer id.
   * @param values Record values.
   * @param options Epoch, timestamp, keys.
   * @returns The batch.
   */
  txn(
    pid: number,
    values: string[],
    options: { epoch?: number; ts?: number; keys?: string[] } = {},
  ): Uint8Array {
    return this.#batch(pid, values, TRANSACTIONAL_BIT, options);
  }

  /**
   * An idempotent (not transactional) batch.
   *
   * @param pid Producer id.
   * @param values Record values.
   * @param options Epoch, timestamp, keys.
   * @returns The batch.
   */
  idempotent(
    pid: number,
    values: string[],
    options: { epoch?: number; ts?: number; keys?: string[] } = {},
  ): Uint8Array {
    return this.#batch(pid, values, 0, options);
  }

  /**
   * Moves a producer's next sequence.
   *
   * @param pid Producer id.
   * @param seq Its next sequence.
   */
  setSequence(pid: number, seq: number): void {
    this.#seqs.set(pid, seq);
  }

  #batch(
    pid: number,
    values: string[],
    attributes: number,
    options: { epoch?: number; ts?: number; keys?: string[] },
  ): Uint8Array {
    const seq = this.#seqs.get(pid) ?? 0;
    this.#seqs.set(pid, seq + values.length);
    return buildBatch({
      records: values.map((v, i) => ({ key: options.keys?.[i] ?? `k-${v}`, value: v })),
      producerId: pid,
      producerEpoch: options.epoch ?? 0,
      baseSequence: seq,
      attributes,
      baseTimestamp: options.ts ?? Date.now(),
    });
  }
}

/**
 * A plain (non-idempotent) batch.
 *
 * @param values Record values.
 * @param keys Keys (default `k-<value>`).
 * @returns The batch.
 */
export function plain(values: string[], keys?: string[]): Uint8Array {
  return buildBatch({
    records: values.map((v, i) => ({ key: keys?.[i] ?? `k-${v}`, value: v })),
    baseTimestamp: Date.now(),
  });
}

/**
 * A COMMIT or ABORT marker.
 *
 * @param pid Producer id.
 * @param commit COMMIT (`true`) or ABORT.
 * @param epoch Producer epoch.
 * @param coordinatorEpoch Coordinator epoch.
 * @returns The control batch.
 */
export function marker(pid: number, commit: boolean, epoch = 0, coordinatorEpoch = 0): Uint8Array {
  return buildControlBatch({
    producerId: pid,
    producerEpoch: epoch,
    commit,
    coordinatorEpoch,
    timestamp: Date.now(),
  });
}

/** A record a read_committed client delivers. */
export interface Delivered {
  /** Offset. */
  offset: number;
  /** Key. */
  key: string | null;
  /** Value (null for a tombstone). */
  value: string | null;
}

/**
 * The records a read_committed client delivers, reading from `from` to the last stable offset.
 *
 * @param log The log.
 * @param from First offset.
 * @param chunk Bytes per read.
 * @returns The records.
 */
export async function committedRecords(
  log: PartitionLog,
  from = log.logStartOffset,
  chunk = 4096,
): Promise<Delivered[]> {
  const dec = new TextDecoder();
  const out: Delivered[] = [];
  let offset = from;
  const aborted: AbortedTxn[] = [];
  const abortedPids = new Set<number>();
  for (let i = 0; i < 100_000; i++) {
    const r = await log.readCommitted(offset, chunk);
    if (r.records.length === 0) break;
    for (const a of r.abortedTransactions) {
      if (!aborted.some((x) => x.producerId === a.producerId && x.firstOffset === a.firstOffset)) {
        aborted.push(a);
      }
    }
    aborted.sort((a, b) => a.firstOffset - b.firstOffset);
    let pos = 0;
    for (const b of decodeRecordBatches(r.records, { validation: "relaxed" })) {
      const at = pos;
      pos += batchSizeAt(r.records, pos);
      if (baseOffsetAt(r.records, at) !== b.baseOffset) throw new Error("batch positions drift");
      while (aborted.length > 0 && aborted[0].firstOffset <= b.lastOffset) {
        abortedPids.add(aborted.shift()!.producerId);
      }
      if (b.control) {
        const m = endTxnMarkerAt(r.records, at);
        if (m?.type === ControlRecordType.ABORT) abortedPids.delete(b.producerId);
      } else if (!(b.transactional && abortedPids.has(b.producerId))) {
        for (const rec of b.records) {
          if (rec.offset < offset) continue;
          out.push({
            offset: rec.offset,
            key: rec.key === null ? null : dec.decode(rec.key),
            value: rec.value === null ? null : dec.decode(rec.value),
          });
        }
      }
      offset = b.lastOffset + 1;
    }
  }
  return out;
}

/**
 * The values a read_committed client delivers.
 *
 * @param log The log.
 * @param from First offset.
 * @returns The values.
 */
export async function committedValues(
  log: PartitionLog,
  from = log.logStartOffset,
): Promise<string[]> {
  return (await committedRecords(log, from)).map((r) => r.value ?? "");
}

/**
 * Every record value below the high watermark, aborted ones too (read_uncommitted).
 *
 * @param log The log.
 * @returns The values.
 */
export async function allValues(log: PartitionLog): Promise<string[]> {
  const out: string[] = [];
  let offset = log.logStartOffset;
  while (offset < log.highWatermark) {
    const { records } = await log.read(offset, 1 << 20);
    if (records.length === 0) break;
    for (const b of decodeRecordBatches(records, { validation: "relaxed" })) {
      if (!b.control) { for (const r of b.records) out.push(new TextDecoder().decode(r.value!)); }
      offset = b.lastOffset + 1;
    }
  }
  return out;
}
