// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * The crash harness's checker: the book of acknowledgements, two independent readers of a
 * partition (Sluice's own `Consumer` and kcat), and the verdict on one partition: every
 * acknowledged record present exactly once at its acknowledged offset, offsets contiguous from 0,
 * each producer's records in the order it sent them, no duplicates, no damaged values.
 *
 * Needs `--allow-net` (readers) and `--allow-run` (kcat).
 *
 * @module
 */

import { Admin } from "../../client/admin.ts";
import { Client } from "../../client/client.ts";
import { Consumer } from "../../client/consumer.ts";
import { type Ack, readValue, splitId } from "./protocol.ts";

/** The acknowledgements of one partition, in the order they arrived. */
export interface PartitionAcks {
  /** Acknowledged offsets. */
  offsets: number[];
  /** The record id acknowledged at each of those offsets. */
  ids: string[];
}

/** Every acknowledgement of a run, by partition. */
export class AckBook {
  #parts = new Map<string, PartitionAcks & { byOffset: Map<number, string>; max: number }>();
  /** Offsets acknowledged for two different records (each one is a failure). */
  readonly conflicts: string[] = [];
  /** How many acknowledgements were recorded. */
  count = 0;

  /**
   * Records an acknowledgement. Every one is kept: an offset acknowledged twice for different
   * records (a broker that lost the first and gave its offset again) leaves both to be checked.
   *
   * @param ack The acknowledgement.
   */
  add(ack: Ack): void {
    this.count++;
    const k = `${ack.topic}\u0000${ack.partition}`;
    let part = this.#parts.get(k);
    if (part === undefined) {
      part = { offsets: [], ids: [], byOffset: new Map(), max: -1 };
      this.#parts.set(k, part);
    }
    const had = part.byOffset.get(ack.offset);
    if (had === ack.id) return;
    if (had !== undefined) {
      this.conflicts.push(
        `${ack.topic}-${ack.partition} offset ${ack.offset} acknowledged for ${had}, then for ${ack.id}`,
      );
    } else part.byOffset.set(ack.offset, ack.id);
    part.offsets.push(ack.offset);
    part.ids.push(ack.id);
    if (ack.offset > part.max) part.max = ack.offset;
  }

  /**
   * The acknowledgements of one partition.
   *
   * @param topic Topic.
   * @param partition Partition.
   * @returns Offsets and ids (empty when none).
   */
  partition(topic: string, partition: number): PartitionAcks {
    return this.#parts.get(`${topic}\u0000${partition}`) ?? { offsets: [], ids: [] };
  }

  /**
   * The highest acknowledged offset of a partition.
   *
   * @param topic Topic.
   * @param partition Partition.
   * @returns The offset, or -1 when nothing was acknowledged.
   */
  maxOffset(topic: string, partition: number): number {
    return this.#parts.get(`${topic}\u0000${partition}`)?.max ?? -1;
  }
}

/** What a reader found in one partition, in offset order. */
export interface PartitionContents {
  /** Offset of each record. */
  offsets: number[];
  /** Record id of each record (`undefined` when the value has none). */
  ids: Array<string | undefined>;
  /** Whether each value is as written (length and padding). */
  intact: boolean[];
  /** The high watermark the broker reported before the read. */
  highWatermark: number;
}

function emptyContents(highWatermark: number): PartitionContents {
  return { offsets: [], ids: [], intact: [], highWatermark };
}

/**
 * Reads a whole partition, from offset 0 to its high watermark, with Sluice's own consumer.
 *
 * @param bootstrap `host:port`.
 * @param topic Topic.
 * @param partition Partition.
 * @param recordBytes The size every value was written with.
 * @param timeoutMs Bound on the whole read.
 * @returns The records.
 * @throws {Error} When the read does not reach the high watermark in time.
 */
export async function readWithSluice(
  bootstrap: string,
  topic: string,
  partition: number,
  recordBytes: number,
  timeoutMs = 300_000,
): Promise<PartitionContents> {
  const client = new Client({ bootstrapServers: bootstrap, clientId: "chaos-checker" });
  try {
    const [{ offset: hw }] = await new Admin(client).listOffsets([
      { topic, partition, spec: "latest" },
    ]);
    const out = emptyContents(hw);
    const consumer = new Consumer(client, {
      maxWaitMs: 200,
      maxPartitionBytes: 8 * 1024 * 1024,
      autoOffsetReset: "none",
    });
    await consumer.assign([{ topic, partition, offset: 0 }]);
    const deadline = Date.now() + timeoutMs;
    let position = 0;
    while (position < hw) {
      if (Date.now() > deadline) {
        throw new Error(
          `read ${topic}-${partition}: reached offset ${position} of ${hw} in ${timeoutMs} ms`,
        );
      }
      for (const r of await consumer.poll()) {
        if (r.offset >= hw) continue;
        const v = readValue(r.value, recordBytes);
        out.offsets.push(r.offset);
        out.ids.push(v.id);
        out.intact.push(v.intact);
      }
      position = consumer.assignment()[0].offset;
    }
    await consumer.close();
    return out;
  } finally {
    await client.close();
  }
}

/**
 * Reads a whole partition from offset 0 with kcat (librdkafka, CRCs checked), as an independent
 * second reader. Records at or after `highWatermark` are ignored.
 *
 * @param bootstrap `host:port`.
 * @param topic Topic.
 * @param partition Partition.
 * @param recordBytes The size every value was written with.
 * @param highWatermark Where to stop (the other reader's high watermark).
 * @param timeoutMs Bound on kcat's run.
 * @returns The records.
 * @throws {Error} When kcat fails, times out or prints a line it should not.
 */
export async function readWithKcat(
  bootstrap: string,
  topic: string,
  partition: number,
  recordBytes: number,
  highWatermark: number,
  timeoutMs = 300_000,
): Promise<PartitionContents> {
  const child = new Deno.Command("kcat", {
    args: [
      "-b",
      bootstrap,
      "-C",
      "-t",
      topic,
      "-p",
      String(partition),
      "-o",
      "beginning",
      "-e",
      "-q",
      "-f",
      "%o %s\n",
      "-X",
      "check.crcs=true",
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch { /* exited */ }
  }, timeoutMs);
  const res = await child.output().finally(() => clearTimeout(timer));
  if (!res.success) {
    const err = new TextDecoder().decode(res.stderr).trim().split("\n").slice(-3).join(" | ");
    throw new Error(`kcat read ${topic}-${partition}: exit ${res.code}: ${err}`);
  }
  const out = emptyContents(highWatermark);
  const buf = res.stdout;
  let pos = 0;
  while (pos < buf.length) {
    let nl = buf.indexOf(0x0a, pos);
    if (nl < 0) nl = buf.length;
    const sp = buf.indexOf(0x20, pos);
    if (sp < 0 || sp > nl) {
      throw new Error(`kcat read ${topic}-${partition}: unexpected line at byte ${pos}`);
    }
    let offset = 0;
    for (let i = pos; i < sp; i++) offset = offset * 10 + buf[i] - 0x30;
    if (offset < highWatermark) {
      const v = readValue(buf.subarray(sp + 1, nl), recordBytes);
      out.offsets.push(offset);
      out.ids.push(v.id);
      out.intact.push(v.intact);
    }
    pos = nl + 1;
  }
  return out;
}

/**
 * The first difference between two readings of a partition.
 *
 * @param a One reading.
 * @param b The other.
 * @returns A description of the first difference, or `undefined` when they agree.
 */
export function compareContents(a: PartitionContents, b: PartitionContents): string | undefined {
  const n = Math.min(a.offsets.length, b.offsets.length);
  for (let i = 0; i < n; i++) {
    if (a.offsets[i] !== b.offsets[i] || a.ids[i] !== b.ids[i] || a.intact[i] !== b.intact[i]) {
      return `record ${i}: offset ${a.offsets[i]} ${a.ids[i]} vs offset ${b.offsets[i]} ${
        b.ids[i]
      }`;
    }
  }
  if (a.offsets.length !== b.offsets.length) {
    return `${a.offsets.length} records vs ${b.offsets.length}`;
  }
  return undefined;
}

/** The verdict on one partition. */
export interface PartitionCheck {
  /** Topic. */
  topic: string;
  /** Partition. */
  partition: number;
  /** Acknowledged records. */
  acked: number;
  /** Records in the log (offset 0 to the high watermark). */
  present: number;
  /** Acknowledged records not in the log at all. */
  lost: number;
  /** Acknowledged records in the log, but not at their acknowledged offset. */
  misplaced: number;
  /** Extra copies of records (any record present more than once). */
  duplicates: number;
  /** Extra copies of acknowledged records. */
  duplicatesOfAcked: number;
  /** Records of a producer that come before a record it sent earlier. */
  reordered: number;
  /** Offsets missing between 0 and the high watermark. */
  gaps: number;
  /** Values without an id, or not as written. */
  corrupt: number;
  /** Records present that no producer saw acknowledged (in flight at a kill: allowed). */
  unackedPresent: number;
  /** Up to 5 examples per kind of failure. */
  examples: string[];
}

/** Whether a partition passed every check. */
export function partitionOk(c: PartitionCheck): boolean {
  return c.lost === 0 && c.misplaced === 0 && c.duplicates === 0 && c.reordered === 0 &&
    c.gaps === 0 && c.corrupt === 0;
}

/**
 * Checks one partition against its acknowledgements.
 *
 * @example A lost record
 * ```ts
 * import { checkPartition } from "./checker.ts";
 * const acks = { offsets: [0, 1], ids: ["p:0", "p:1"] };
 * const c = checkPartition("t", 0, acks, {
 *   offsets: [0],
 *   ids: ["p:0"],
 *   intact: [true],
 *   highWatermark: 1,
 * });
 * console.log(c.lost); // 1
 * ```
 *
 * @param topic Topic.
 * @param partition Partition.
 * @param acks Every acknowledgement of the partition.
 * @param log What a reader found.
 * @returns The verdict.
 */
export function checkPartition(
  topic: string,
  partition: number,
  acks: PartitionAcks,
  log: PartitionContents,
): PartitionCheck {
  const c: PartitionCheck = {
    topic,
    partition,
    acked: acks.offsets.length,
    present: log.offsets.length,
    lost: 0,
    misplaced: 0,
    duplicates: 0,
    duplicatesOfAcked: 0,
    reordered: 0,
    gaps: 0,
    corrupt: 0,
    unackedPresent: 0,
    examples: [],
  };
  const shown = new Map<string, number>();
  const example = (kind: string, text: string) => {
    const n = shown.get(kind) ?? 0;
    if (n < 5) c.examples.push(`${topic}-${partition}: ${kind}: ${text}`);
    shown.set(kind, n + 1);
  };
  const idAt = new Map<number, string | undefined>();
  const where = new Map<string, number>();
  const lastSeq = new Map<string, { seq: number; offset: number }>();
  const ackedIds = new Set(acks.ids);
  let expected = 0;
  for (let i = 0; i < log.offsets.length; i++) {
    const offset = log.offsets[i];
    const id = log.ids[i];
    if (offset !== expected) {
      if (offset > expected) {
        c.gaps += offset - expected;
        example("gap", `offsets ${expected}..${offset - 1} missing`);
      } else {
        c.gaps++;
        example("gap", `offset ${offset} read again after ${expected - 1}`);
      }
    }
    expected = offset + 1;
    idAt.set(offset, id);
    if (id === undefined || !log.intact[i]) {
      c.corrupt++;
      example("corrupt", `offset ${offset} (${id ?? "no id"})`);
      if (id === undefined) continue;
    }
    const first = where.get(id);
    if (first !== undefined) {
      c.duplicates++;
      if (ackedIds.has(id)) c.duplicatesOfAcked++;
      example("duplicate", `${id} at offsets ${first} and ${offset}`);
    } else where.set(id, offset);
    if (!ackedIds.has(id)) c.unackedPresent++;
    const parts = splitId(id);
    if (parts !== undefined) {
      const prev = lastSeq.get(parts.producer);
      if (prev !== undefined && parts.seq <= prev.seq) {
        c.reordered++;
        example(
          "reordered",
          `${id} at offset ${offset} after ${parts.producer}:${prev.seq} at ${prev.offset}`,
        );
      }
      if (prev === undefined || parts.seq > prev.seq) {
        lastSeq.set(parts.producer, { seq: parts.seq, offset });
      }
    }
  }
  if (expected < log.highWatermark) {
    c.gaps += log.highWatermark - expected;
    example(
      "gap",
      `offsets ${expected}..${log.highWatermark - 1} below the high watermark missing`,
    );
  }
  const lostOffsets: number[] = [];
  for (let i = 0; i < acks.offsets.length; i++) {
    const offset = acks.offsets[i], id = acks.ids[i];
    if (idAt.get(offset) === id) continue;
    const at = where.get(id);
    if (at !== undefined) {
      c.misplaced++;
      example("misplaced", `${id} acknowledged at ${offset}, found at ${at}`);
    } else {
      c.lost++;
      lostOffsets.push(offset);
    }
  }
  if (lostOffsets.length > 0) {
    // An offset given out twice (lost, then reused) loses a record each time: one range.
    const unique = [...new Set(lostOffsets)].sort((a, b) => a - b);
    const ranges: string[] = [];
    let from = unique[0], to = from;
    for (const o of unique.slice(1)) {
      if (o === to + 1) to = o;
      else {
        ranges.push(from === to ? `${from}` : `${from}..${to}`);
        from = to = o;
      }
    }
    ranges.push(from === to ? `${from}` : `${from}..${to}`);
    example(
      "lost",
      `${lostOffsets.length} acknowledged records at offsets ${ranges.slice(0, 5).join(", ")}${
        ranges.length > 5 ? ` and ${ranges.length - 5} more ranges` : ""
      } (high watermark ${log.highWatermark})`,
    );
  }
  return c;
}
