// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * The fault harness's checker, after Jepsen's Kafka workload. Besides the crash harness's
 * per-partition verdict (tests/chaos/checker.ts: every acknowledged record present exactly once
 * at its acknowledged offset, read from the current leader after the run), it keeps:
 *
 * - {@linkcode OffsetHistory}: every value seen at every offset during the run — acknowledged
 *   to a producer, read by a consumer, read at the end, found in a replica's log files — and
 *   every offset seen with two different values (a divergent history: what one client saw was
 *   later replaced);
 * - {@linkcode CommitBook}: the commits the group coordinator acknowledged and the committed
 *   offsets read back while the faults ran: a read that returns less than a commit acknowledged
 *   before it was sent, or less than an earlier read, is a commit lost or gone backwards;
 * - {@linkcode readReplicaLog} and {@linkcode compareReplicas}: each replica's log files, read
 *   after the brokers stopped, batch by batch identical to the leader's up to the high
 *   watermark.
 *
 * Needs `--allow-read` (replica logs).
 *
 * @module
 */

import { decodeRecordBatches } from "../../records/batch_reader.ts";
import { baseOffsetAt, crcAt, lastOffsetAt, partitionLeaderEpochAt } from "../../records/layout.ts";
import { LOG_FILE_SUFFIX, partitionDirName } from "../../engine/names.ts";
import { readValue, splitId } from "../chaos/protocol.ts";
import type { PartitionContents } from "../chaos/checker.ts";

/** Where a value at an offset was seen. */
export interface Observation {
  /** The record id (`undefined`: a value without one). */
  id: string | undefined;
  /** Who saw it: `ack c0.0`, `read g-s0`, `final read`, `broker 2 log`. */
  source: string;
  /** When (ms since the epoch). */
  at: number;
}

/** An offset seen with two different values. */
export interface Divergence {
  /** Topic. */
  topic: string;
  /** Partition. */
  partition: number;
  /** Offset. */
  offset: number;
  /** The first value seen there. */
  first: Observation;
  /** A later, different one. */
  second: Observation;
}

const NONE = -1; // a value without a record id
const EMPTY = Number.NaN;

interface Slots {
  ids: Float64Array;
  sources: Uint8Array;
  at: Float64Array;
}

/**
 * Every value seen at every offset, compactly (a record id is stored as a number: producer index
 * × 2^32 + sequence), and the offsets seen with two different values.
 *
 * @example
 * ```ts
 * import { OffsetHistory } from "./checker.ts";
 * const h = new OffsetHistory();
 * h.observe("t", 0, 5, "p:1", "ack p", 1);
 * h.observe("t", 0, 5, "q:9", "read c", 2);
 * console.log(h.divergentOffsets); // 1
 * ```
 */
export class OffsetHistory {
  #producers = new Map<string, number>();
  #producerNames: string[] = [];
  #sources = new Map<string, number>();
  #sourceNames: string[] = [];
  #parts = new Map<string, Slots>();
  #divergent = new Set<string>();
  /** Up to `maxExamples` divergences, first seen first. */
  readonly divergences: Divergence[] = [];
  /** Every divergent observation, by kind of the two sources (`ack/read`, `read/read`, …). */
  readonly kinds: Record<string, number> = {};
  /** How many observations were recorded. */
  observations = 0;
  /** How many divergences to keep as examples. */
  maxExamples = 50;

  /** Offsets seen with two different values. */
  get divergentOffsets(): number {
    return this.#divergent.size;
  }

  #encode(id: string | undefined): number {
    if (id === undefined) return NONE;
    const parts = splitId(id);
    if (parts === undefined || parts.seq >= 2 ** 32) return NONE;
    let p = this.#producers.get(parts.producer);
    if (p === undefined) {
      p = this.#producerNames.length;
      this.#producers.set(parts.producer, p);
      this.#producerNames.push(parts.producer);
    }
    return p * 2 ** 32 + parts.seq;
  }

  #decode(n: number): string | undefined {
    if (n === NONE || Number.isNaN(n)) return undefined;
    const p = Math.floor(n / 2 ** 32);
    return `${this.#producerNames[p]}:${n - p * 2 ** 32}`;
  }

  #source(name: string): number {
    let s = this.#sources.get(name);
    if (s === undefined) {
      if (this.#sourceNames.length >= 255) name = "other";
      s = this.#sources.get(name) ?? this.#sourceNames.length;
      this.#sources.set(name, s);
      this.#sourceNames[s] = name;
    }
    return s;
  }

  #slots(topic: string, partition: number, offset: number): Slots {
    const key = `${topic}\u0000${partition}`;
    let s = this.#parts.get(key);
    if (s === undefined || offset >= s.ids.length) {
      const size = Math.max(1024, 2 ** Math.ceil(Math.log2(offset + 1)));
      const grown: Slots = {
        ids: new Float64Array(size).fill(EMPTY),
        sources: new Uint8Array(size),
        at: new Float64Array(size),
      };
      if (s !== undefined) {
        grown.ids.set(s.ids);
        grown.sources.set(s.sources);
        grown.at.set(s.at);
      }
      s = grown;
      this.#parts.set(key, s);
    }
    return s;
  }

  /**
   * Records that `id` was seen at `offset`; a different value seen there before is a
   * divergence.
   *
   * @param topic Topic.
   * @param partition Partition.
   * @param offset Offset.
   * @param id Record id, or `undefined` for a value without one.
   * @param source Who saw it.
   * @param at When.
   * @returns Whether it agrees with what was seen there before.
   */
  observe(
    topic: string,
    partition: number,
    offset: number,
    id: string | undefined,
    source: string,
    at: number,
  ): boolean {
    this.observations++;
    const s = this.#slots(topic, partition, offset);
    const value = this.#encode(id);
    const had = s.ids[offset];
    if (Number.isNaN(had)) {
      s.ids[offset] = value;
      s.sources[offset] = this.#source(source);
      s.at[offset] = at;
      return true;
    }
    if (had === value) return true;
    const firstSource = this.#sourceNames[s.sources[offset]];
    const kind = `${firstSource.split(" ")[0]}/${source.split(" ")[0]}`;
    this.kinds[kind] = (this.kinds[kind] ?? 0) + 1;
    const key = `${topic}\u0000${partition}\u0000${offset}`;
    if (!this.#divergent.has(key)) {
      this.#divergent.add(key);
      if (this.divergences.length < this.maxExamples) {
        this.divergences.push({
          topic,
          partition,
          offset,
          first: { id: this.#decode(had), source: firstSource, at: s.at[offset] },
          second: { id, source, at },
        });
      }
    }
    return false;
  }

  /**
   * The value first seen at an offset.
   *
   * @param topic Topic.
   * @param partition Partition.
   * @param offset Offset.
   * @returns The observation, or `undefined` when nothing was seen there.
   */
  at(topic: string, partition: number, offset: number): Observation | undefined {
    const s = this.#parts.get(`${topic}\u0000${partition}`);
    if (s === undefined || offset >= s.ids.length || Number.isNaN(s.ids[offset])) return undefined;
    return {
      id: this.#decode(s.ids[offset]),
      source: this.#sourceNames[s.sources[offset]],
      at: s.at[offset],
    };
  }
}

/**
 * Formats a divergence for a report.
 *
 * @param d The divergence.
 * @returns One line.
 */
export function describeDivergence(d: Divergence): string {
  const when = (at: number) => new Date(at).toISOString().slice(11, 23);
  return `${d.topic}-${d.partition} offset ${d.offset}: ${
    d.first.id ?? "(no id)"
  } (${d.first.source}, ${when(d.first.at)}) then ${
    d.second.id ?? "(no id)"
  } (${d.second.source}, ${when(d.second.at)})`;
}

interface CommitEvents {
  /** Acknowledged commits: offset, time, by whom. */
  acked: Array<{ offset: number; ts: number; by: string }>;
  /** Committed offsets read back: offset (-1 none), when the read was sent, and answered. */
  observed: Array<{ offset: number; sentAt: number; answeredAt: number }>;
}

/** What {@linkcode CommitBook.check} found. */
export interface CommitCheck {
  /** Commits acknowledged. */
  acked: number;
  /** Committed offsets read back. */
  observed: number;
  /** Reads that returned less than a commit acknowledged before the read was sent. */
  lost: number;
  /** Reads that returned less than the read before them. */
  backwards: number;
  /** Up to 10 examples. */
  examples: string[];
}

/**
 * The group's acknowledged commits and the committed offsets read back, per partition.
 *
 * @example
 * ```ts
 * import { CommitBook } from "./checker.ts";
 * const b = new CommitBook();
 * b.acked("t", 0, 40, 1000, "g-s0");
 * b.observed("t", 0, 12, 2000, 2001); // read after the commit of 40 was acknowledged
 * console.log(b.check().lost); // 1
 * ```
 */
export class CommitBook {
  #parts = new Map<string, CommitEvents & { topic: string; partition: number }>();

  #of(topic: string, partition: number) {
    const k = `${topic}\u0000${partition}`;
    let e = this.#parts.get(k);
    if (e === undefined) {
      e = { topic, partition, acked: [], observed: [] };
      this.#parts.set(k, e);
    }
    return e;
  }

  /**
   * Records a commit the coordinator acknowledged.
   *
   * @param topic Topic.
   * @param partition Partition.
   * @param offset The committed offset.
   * @param ts When the acknowledgement arrived.
   * @param by The consumer.
   */
  acked(topic: string, partition: number, offset: number, ts: number, by: string): void {
    this.#of(topic, partition).acked.push({ offset, ts, by });
  }

  /**
   * Records a committed offset read back (OffsetFetch). Reads must be made one after another.
   *
   * @param topic Topic.
   * @param partition Partition.
   * @param offset The committed offset, -1 when there is none.
   * @param sentAt When the read was sent.
   * @param answeredAt When it was answered.
   */
  observed(
    topic: string,
    partition: number,
    offset: number,
    sentAt: number,
    answeredAt: number,
  ): void {
    this.#of(topic, partition).observed.push({ offset, sentAt, answeredAt });
  }

  /**
   * The highest acknowledged commit of a partition.
   *
   * @param topic Topic.
   * @param partition Partition.
   * @returns The offset and when it was acknowledged, or `undefined`.
   */
  maxAcked(topic: string, partition: number): { offset: number; ts: number } | undefined {
    const e = this.#parts.get(`${topic}\u0000${partition}`);
    let best: { offset: number; ts: number } | undefined;
    for (const a of e?.acked ?? []) {
      if (best === undefined || a.offset > best.offset) best = { offset: a.offset, ts: a.ts };
    }
    return best;
  }

  /**
   * Every acknowledged commit of any partition after `since`.
   *
   * @param since Time (ms since the epoch).
   * @returns The partitions (`topic-partition`) with a commit acknowledged after it.
   */
  committedSince(since: number): Set<string> {
    const out = new Set<string>();
    for (const e of this.#parts.values()) {
      if (e.acked.some((a) => a.ts > since)) out.add(`${e.topic}-${e.partition}`);
    }
    return out;
  }

  /**
   * Checks every read against the commits acknowledged before it was sent and against the read
   * before it.
   *
   * @returns Counts and examples.
   */
  check(): CommitCheck {
    const out: CommitCheck = { acked: 0, observed: 0, lost: 0, backwards: 0, examples: [] };
    const when = (at: number) => new Date(at).toISOString().slice(11, 23);
    for (const e of this.#parts.values()) {
      out.acked += e.acked.length;
      out.observed += e.observed.length;
      const acked = [...e.acked].sort((a, b) => a.ts - b.ts);
      // prefix maximum of acknowledged offsets, by acknowledgement time
      const best: Array<{ offset: number; ts: number; by: string }> = [];
      for (const a of acked) {
        best.push(best.length > 0 && best.at(-1)!.offset >= a.offset ? best.at(-1)! : a);
      }
      let prev: { offset: number; sentAt: number } | undefined;
      for (const o of [...e.observed].sort((a, b) => a.sentAt - b.sentAt)) {
        // the last acknowledgement strictly before the read was sent
        let lo = 0, hi = acked.length;
        while (lo < hi) {
          const mid = (lo + hi) >> 1;
          if (acked[mid].ts < o.sentAt) lo = mid + 1;
          else hi = mid;
        }
        const must = lo > 0 ? best[lo - 1] : undefined;
        if (must !== undefined && o.offset < must.offset) {
          out.lost++;
          if (out.examples.length < 10) {
            out.examples.push(
              `${e.topic}-${e.partition}: committed offset read at ${
                when(o.sentAt)
              } is ${o.offset}, ` +
                `but ${must.by}'s commit of ${must.offset} was acknowledged at ${when(must.ts)}`,
            );
          }
        }
        if (prev !== undefined && o.offset < prev.offset) {
          out.backwards++;
          if (out.examples.length < 10) {
            out.examples.push(
              `${e.topic}-${e.partition}: committed offset went from ${prev.offset} (read at ${
                when(prev.sentAt)
              }) back to ${o.offset} (read at ${when(o.sentAt)})`,
            );
          }
        }
        prev = o;
      }
    }
    return out;
  }
}

/** A batch of a replica's log, as stored. */
export interface LogBatch {
  /** First offset. */
  baseOffset: number;
  /** Last offset. */
  lastOffset: number;
  /** Partition leader epoch. */
  epoch: number;
  /** The stored CRC-32C (of attributes to the end: producer, sequence, records). */
  crc: number;
  /** Producer id (-1 without). */
  producerId: number;
  /** Producer epoch. */
  producerEpoch: number;
  /** First sequence number. */
  baseSequence: number;
  /** The record ids of a data batch (with `ids: true`), by offset. */
  records?: Array<{ offset: number; id: string | undefined; intact: boolean }>;
}

/**
 * Reads a replica's log of one partition from a stopped broker's data directory: every batch of
 * every `.log` segment in offset order (CRCs verified).
 *
 * @param dataDir The broker's `log.dirs`.
 * @param topic Topic.
 * @param partition Partition.
 * @param recordBytes With a size, the records are decoded and their ids kept.
 * @returns The batches (empty when the replica has no directory).
 * @throws {Error} When a segment cannot be read or holds a damaged batch.
 */
export async function readReplicaLog(
  dataDir: string,
  topic: string,
  partition: number,
  recordBytes?: number,
): Promise<LogBatch[]> {
  const dir = `${dataDir}/${partitionDirName(topic, partition)}`;
  const segments: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) {
      if (e.isFile && e.name.endsWith(LOG_FILE_SUFFIX) && /^\d{20}\.log$/.test(e.name)) {
        segments.push(e.name);
      }
    }
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return [];
    throw e;
  }
  segments.sort();
  const out: LogBatch[] = [];
  for (const name of segments) {
    const data = await Deno.readFile(`${dir}/${name}`);
    let batches;
    try {
      batches = decodeRecordBatches(data, { verifyCrc: true });
    } catch (e) {
      throw new Error(`read ${dir}/${name}: ${e instanceof Error ? e.message : e}`);
    }
    let pos = 0;
    for (const b of batches) {
      const batch: LogBatch = {
        baseOffset: baseOffsetAt(data, pos),
        lastOffset: lastOffsetAt(data, pos),
        epoch: partitionLeaderEpochAt(data, pos),
        crc: crcAt(data, pos),
        producerId: b.producerId,
        producerEpoch: b.producerEpoch,
        baseSequence: b.baseSequence,
      };
      if (recordBytes !== undefined && !b.control) {
        batch.records = b.records.map((r) => {
          const v = readValue(r.value, recordBytes);
          return { offset: r.offset, id: v.id, intact: v.intact };
        });
      }
      out.push(batch);
      pos += b.sizeInBytes;
    }
  }
  return out;
}

/**
 * The first difference between a follower's log and the leader's below the high watermark:
 * every leader batch that starts below it must be in the follower with the same offsets, leader
 * epoch and CRC, and nothing else may be there.
 *
 * @example
 * ```ts
 * import { compareReplicas } from "./checker.ts";
 * const leader = [
 *   { baseOffset: 0, lastOffset: 4, epoch: 0, crc: 1, producerId: 7, producerEpoch: 0, baseSequence: 0 },
 * ];
 * console.log(compareReplicas(leader, [], 5)); // "offsets 0..4 (epoch 0) missing"
 * ```
 *
 * @param leader The leader's batches.
 * @param follower The follower's batches.
 * @param highWatermark The leader's high watermark.
 * @returns A description of the first difference, or `undefined` when they agree.
 */
export function compareReplicas(
  leader: LogBatch[],
  follower: LogBatch[],
  highWatermark: number,
): string | undefined {
  const byBase = new Map(follower.map((b) => [b.baseOffset, b]));
  const leaderBases = new Set<number>();
  for (const b of leader) {
    if (b.baseOffset >= highWatermark) break;
    leaderBases.add(b.baseOffset);
    const f = byBase.get(b.baseOffset);
    if (f === undefined) {
      return `offsets ${b.baseOffset}..${b.lastOffset} (epoch ${b.epoch}) missing`;
    }
    if (f.lastOffset !== b.lastOffset || f.epoch !== b.epoch || f.crc !== b.crc) {
      return `batch at ${b.baseOffset}: leader ${b.baseOffset}..${b.lastOffset} epoch ${b.epoch} crc ${b.crc}, ` +
        `follower ${f.baseOffset}..${f.lastOffset} epoch ${f.epoch} crc ${f.crc}`;
    }
  }
  for (const f of follower) {
    if (f.baseOffset >= highWatermark) break;
    if (!leaderBases.has(f.baseOffset)) {
      return `batch ${f.baseOffset}..${f.lastOffset} (epoch ${f.epoch}) not in the leader's log`;
    }
  }
  return undefined;
}

/**
 * A partition's contents with each producer's re-sends set apart: a record present twice whose
 * later copy the leader's log holds under a higher producer epoch of the same producer id, the
 * earlier copy never acknowledged, is a re-send by the producer after it bumped its epoch
 * (librdkafka does so after OUT_OF_ORDER_SEQUENCE_NUMBER on another partition,
 * confluentinc/librdkafka#4953), not a failure of the broker's deduplication: the earlier copy
 * gets the id `<id>#resent`, so that the duplicate and order checks
 * (`tests/chaos/checker.ts`) judge the broker only. Copies under the same producer epoch stay
 * duplicates.
 *
 * @example
 * ```ts
 * import { setResendsApart } from "./checker.ts";
 * const batch = (o: number, producerEpoch: number) => ({
 *   baseOffset: o, lastOffset: o, epoch: 0, crc: 0, producerId: 7, producerEpoch, baseSequence: 0,
 * });
 * const { contents, resends } = setResendsApart(
 *   { offsets: [0, 1], ids: ["p:0", "p:0"], intact: [true, true], highWatermark: 2 },
 *   new Set([1]),
 *   [batch(0, 0), batch(1, 1)],
 * );
 * console.log(contents.ids, resends.length); // ["p:0#resent", "p:0"] 1
 * ```
 *
 * @param contents What the final read found.
 * @param ackedOffsets The offsets acknowledged to producers.
 * @param leaderLog The leader's batches (producer id and epoch of each offset).
 * @returns The contents to check, and a line per re-send.
 */
export function setResendsApart(
  contents: PartitionContents,
  ackedOffsets: ReadonlySet<number>,
  leaderLog: LogBatch[],
): { contents: PartitionContents; resends: string[] } {
  const batchAt = new Map<number, LogBatch>();
  for (const b of leaderLog) {
    for (let o = b.baseOffset; o <= b.lastOffset; o++) batchAt.set(o, b);
  }
  const resends: string[] = [];
  const firstAt = new Map<string, number>();
  const ids = [...contents.ids];
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    if (id === undefined) continue;
    const first = firstAt.get(id);
    if (first === undefined) {
      firstAt.set(id, i);
      continue;
    }
    const a = batchAt.get(contents.offsets[first]), b = batchAt.get(contents.offsets[i]);
    if (
      a !== undefined && b !== undefined && a.producerId === b.producerId &&
      b.producerEpoch > a.producerEpoch && !ackedOffsets.has(contents.offsets[first])
    ) {
      ids[first] = `${id}#resent`;
      firstAt.set(id, i);
      resends.push(
        `${id} at offset ${
          contents.offsets[first]
        } (producer ${a.producerId} epoch ${a.producerEpoch}, ` +
          `not acknowledged) and again at ${contents.offsets[i]} (epoch ${b.producerEpoch})`,
      );
    }
  }
  return { contents: { ...contents, ids }, resends };
}
