// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * The console's record browser (issue #15): records of a topic's partitions read straight from
 * the partition logs (no Kafka client), from an offset, a timestamp or the end, below the high
 * watermark as a read_uncommitted consumer sees them, control records left out. Keys, values
 * and header values are sent as base64 (the page shows them as text, JSON or hex), cut at
 * {@linkcode MAX_SHOWN_BYTES} each.
 *
 * @module
 */

import type { PartitionLog } from "../../engine/mod.ts";
import { decodeRecordBatches } from "../../records/mod.ts";

/** The most records one browse answers. */
export const MAX_BROWSE_RECORDS = 500;

/** Bytes of a key, value or header value sent at most; the rest is cut (`…Truncated: true`). */
export const MAX_SHOWN_BYTES = 64 * 1024;

/** Bytes read from one partition per browse at most (whole batches; a larger batch is read). */
const MAX_READ_BYTES = 8 * 1024 * 1024;

/**
 * Bytes read from all partitions per browse at most: partitions past it are not read, and their
 * `next` stays where they start (a browse of thousands of partitions stays bounded).
 */
const MAX_BROWSE_READ_BYTES = 32 * 1024 * 1024;

/** Where a browse starts in each partition. */
export type BrowseFrom =
  | { kind: "offset"; offset: number }
  | { kind: "timestamp"; timestamp: number }
  | { kind: "beginning" }
  | { kind: "end" }
  | { kind: "positions"; positions: Map<number, number> };

/** One header of a browsed record. */
export interface BrowsedHeader {
  /** Header key. */
  key: string;
  /** Value as base64, or `null`. */
  value: string | null;
}

/** One browsed record. */
export interface BrowsedRecord {
  /** Partition. */
  partition: number;
  /** Offset. */
  offset: number;
  /** Timestamp (ms). */
  timestamp: number;
  /** `CreateTime` or `LogAppendTime`. */
  timestampType: "CreateTime" | "LogAppendTime";
  /** Key as base64, or `null`. */
  key: string | null;
  /** Size of the key in bytes (-1 for null). */
  keySize: number;
  /** Value as base64, or `null`. */
  value: string | null;
  /** Size of the value in bytes (-1 for null). */
  valueSize: number;
  /** Headers in order. */
  headers: BrowsedHeader[];
  /** Whether key, value or a header value was cut at {@linkcode MAX_SHOWN_BYTES}. */
  truncated: boolean;
  /** Whether the record is part of a transaction (it may be aborted). */
  transactional: boolean;
  /** Compression of its batch. */
  compression: string;
}

/** What a browse answers. */
export interface BrowseResult {
  /** Records in (timestamp, partition, offset) order; at most the limit. */
  records: BrowsedRecord[];
  /** Where to continue in each partition (the live tail passes these back). */
  next: Record<string, number>;
  /** Each partition's log start offset and high watermark at the read. */
  partitions: { partition: number; logStartOffset: number; highWatermark: number }[];
}

/** A request the browser cannot serve; the caller answers 400 with the message. */
export class BrowseError extends Error {
  /**
   * @param message What is wrong: "what failed: detail".
   */
  constructor(message: string) {
    super(message);
    this.name = "BrowseError";
  }
}

function base64(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(s);
}

function shown(bytes: Uint8Array | null): { text: string | null; size: number; cut: boolean } {
  if (bytes === null) return { text: null, size: -1, cut: false };
  const cut = bytes.length > MAX_SHOWN_BYTES;
  return {
    text: base64(cut ? bytes.subarray(0, MAX_SHOWN_BYTES) : bytes),
    size: bytes.length,
    cut,
  };
}

async function readPartition(
  partition: number,
  log: PartitionLog,
  start: number,
  limit: number,
  total: { bytes: number },
): Promise<BrowsedRecord[]> {
  const out: BrowsedRecord[] = [];
  let offset = start;
  let budget = MAX_READ_BYTES;
  while (out.length < limit && offset < log.highWatermark && budget > 0 && total.bytes > 0) {
    const { records } = await log.read(offset, Math.min(budget, total.bytes, 1024 * 1024));
    if (records.length === 0) break;
    budget -= records.length;
    total.bytes -= records.length;
    const batches = decodeRecordBatches(records);
    if (batches.length === 0) break;
    for (const b of batches) {
      offset = Math.max(offset, b.lastOffset + 1);
      if (b.control) continue;
      for (const r of b.records) {
        if (r.offset < start || out.length >= limit) continue;
        const key = shown(r.key);
        const value = shown(r.value);
        let truncated = key.cut || value.cut;
        const headers = r.headers.map((h) => {
          const v = shown(h.value);
          truncated ||= v.cut;
          return { key: h.key, value: v.text };
        });
        out.push({
          partition,
          offset: r.offset,
          timestamp: r.timestamp,
          timestampType: b.timestampType === 1 ? "LogAppendTime" : "CreateTime",
          key: key.text,
          keySize: key.size,
          value: value.text,
          valueSize: value.size,
          headers,
          truncated,
          transactional: b.transactional,
          compression: b.compression,
        });
      }
    }
  }
  return out;
}

function byTime(a: BrowsedRecord, b: BrowsedRecord): number {
  return a.timestamp - b.timestamp || a.partition - b.partition || a.offset - b.offset;
}

/**
 * Read up to `limit` records of the given partitions.
 *
 * @example
 * ```ts ignore
 * const r = await browse(new Map([[0, log]]), { kind: "beginning" }, 50);
 * ```
 *
 * @param logs The partitions' logs, by partition.
 * @param from Where to start in each.
 * @param limit The most records to answer (1..{@linkcode MAX_BROWSE_RECORDS}).
 * @returns The records, where to continue, and the partitions' bounds.
 * @throws {BrowseError} If an offset is outside a partition's [log start, high watermark].
 */
export async function browse(
  logs: ReadonlyMap<number, PartitionLog>,
  from: BrowseFrom,
  limit: number,
): Promise<BrowseResult> {
  const starts = new Map<number, number>();
  for (const [p, log] of logs) {
    const lso = log.logStartOffset;
    const hw = log.highWatermark;
    let start: number;
    switch (from.kind) {
      case "beginning":
        start = lso;
        break;
      case "end":
        start = Math.max(lso, hw - limit);
        break;
      case "offset":
        start = from.offset;
        break;
      case "timestamp": {
        const hit = await log.offsetForTime(from.timestamp);
        start = hit === null ? hw : Math.min(Math.max(hit.offset, lso), hw);
        break;
      }
      case "positions":
        start = from.positions.get(p) ?? hw;
        // a tail behind retention or a truncation starts again at what is there
        start = Math.min(Math.max(start, lso), hw);
        break;
    }
    if (start < lso || start > hw) {
      throw new BrowseError(
        `Cannot read partition ${p} from offset ${start}: it is outside [${lso}, ${hw}] ` +
          `(log start offset, high watermark)`,
      );
    }
    starts.set(p, start);
  }
  const all: BrowsedRecord[] = [];
  const total = { bytes: MAX_BROWSE_READ_BYTES };
  for (const [p, log] of logs) {
    all.push(...await readPartition(p, log, starts.get(p)!, limit, total));
  }
  all.sort(byTime);
  const records = from.kind === "end" ? all.slice(Math.max(0, all.length - limit)) : all.slice(
    0,
    limit,
  );
  const next: Record<string, number> = {};
  for (const [p, log] of logs) {
    next[p] = from.kind === "end" ? log.highWatermark : starts.get(p)!;
  }
  if (from.kind !== "end") {
    for (const r of records) next[r.partition] = Math.max(next[r.partition], r.offset + 1);
  }
  return {
    records,
    next,
    partitions: [...logs].map(([partition, log]) => ({
      partition,
      logStartOffset: log.logStartOffset,
      highWatermark: log.highWatermark,
    })),
  };
}
