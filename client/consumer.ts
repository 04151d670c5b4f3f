/**
 * A consumer of assigned partitions: assign partitions, then poll with Fetch long-polls.
 *
 * Positions are checked against leader changes as Kafka's consumer does (KIP-320): each position
 * keeps the leader epoch of the last record batch read (or of the committed offset it started
 * from) and the leader epoch the metadata gave; Fetch (v9+) and ListOffsets (v4+) carry that
 * `current_leader_epoch`, so a leader in another epoch answers FENCED_LEADER_EPOCH or
 * UNKNOWN_LEADER_EPOCH and the metadata is looked up again. After a leader change the position is
 * validated with OffsetForLeaderEpoch before the next fetch: when the new leader's log ends below
 * it for that epoch (an unclean election truncated it), the consumer resumes at the divergence
 * point and reports a {@linkcode LogTruncation}, instead of resetting by `autoOffsetReset`.
 *
 * @module
 */

import { ErrorCode, KafkaError } from "../protocol/errors.ts";
import { FetchRequest, FetchResponse } from "../protocol/messages/fetch.ts";
import {
  OffsetForLeaderEpochRequest,
  OffsetForLeaderEpochResponse,
} from "../protocol/messages/offset_for_leader_epoch.ts";
import { Admin } from "./admin.ts";
import { type Client, isStaleMetadataError } from "./client.ts";
import type { Connection } from "./connection.ts";
import { decodeRecordsInto, type RecordHeader } from "./records.ts";
import { AbortedTransactionFilter } from "../records/mod.ts";

/** A partition to read and where to start. */
export interface PartitionAssignment {
  /** Topic. */
  topic: string;
  /** Partition. */
  partition: number;
  /** Start offset, `earliest` or `latest`; default per `fromBeginning`. */
  offset?: number | "earliest" | "latest";
  /**
   * The leader epoch of the record before `offset` (a committed offset's
   * `committed_leader_epoch`), -1 or absent when unknown. With it, the position is validated
   * against the leader's log with OffsetForLeaderEpoch before the first fetch (KIP-320).
   * Ignored with `earliest`/`latest`.
   */
  leaderEpoch?: number;
}

/** A position of an assigned partition: the next offset to read. */
export interface ConsumerPosition {
  /** Topic. */
  topic: string;
  /** Partition. */
  partition: number;
  /** The next offset to read. */
  offset: number;
  /**
   * The leader epoch of the record batch before `offset` (the last one read), or the one given
   * with the offset; -1 when unknown. Commit it with the offset (`committed_leader_epoch`).
   */
  leaderEpoch: number;
}

/**
 * A log truncation the consumer detected (KIP-320): after a leader change, the new leader's log
 * ends below the consumer's position for the leader epoch of the records it read, so records it
 * read are not in the log any more (an unclean leader election). The consumer resumes at
 * `resetOffset`.
 */
export interface LogTruncation {
  /** Topic. */
  topic: string;
  /** Partition. */
  partition: number;
  /** The position found past the leader's log: the next offset the consumer would have read. */
  fetchOffset: number;
  /** The leader epoch of that position (of the last batch read, or the committed one). */
  fetchEpoch: number;
  /**
   * Where the leader's log and what was read diverge: the end offset of the leader's largest
   * epoch at or below `fetchEpoch`; -1 when the leader knows no such epoch.
   */
  divergentOffset: number;
  /** The leader epoch of `divergentOffset` (-1 with it). */
  divergentEpoch: number;
  /** The consumer's new position: `divergentOffset`, or by `autoOffsetReset` when it is -1. */
  resetOffset: number;
}

/**
 * Thrown by {@linkcode Consumer.poll} with `autoOffsetReset: "none"` when a log truncation is
 * detected (Java's `LogTruncationException`); the position is left as it was, so the caller
 * decides where to go on ({@linkcode Consumer.seek}). Code `OFFSET_OUT_OF_RANGE`.
 */
export class LogTruncationError extends KafkaError {
  /** What was detected. */
  readonly truncation: LogTruncation;

  /**
   * Creates the error.
   *
   * @param truncation What was detected.
   */
  constructor(truncation: LogTruncation) {
    super(ErrorCode.OFFSET_OUT_OF_RANGE, describeTruncation(truncation));
    this.name = "LogTruncationError";
    this.truncation = truncation;
  }
}

function describeTruncation(t: LogTruncation): string {
  const where = t.divergentOffset >= 0
    ? `the leader's log ends at ${t.divergentOffset} for leader epoch ${t.fetchEpoch}`
    : `the leader knows no leader epoch at or below ${t.fetchEpoch}`;
  return `log truncation detected on ${t.topic}-${t.partition}: ${where}, below the position ` +
    `${t.fetchOffset}`;
}

/** A consumed record. */
export interface ConsumerRecord {
  /** Topic. */
  topic: string;
  /** Partition. */
  partition: number;
  /** Offset. */
  offset: number;
  /** Timestamp in milliseconds. */
  timestamp: number;
  /** Key, or `null`. */
  key: Uint8Array | null;
  /** Value, or `null`. */
  value: Uint8Array | null;
  /** Headers. */
  headers: RecordHeader[];
  /**
   * The leader epoch of the record's batch (its `partitionLeaderEpoch`, Java's
   * `ConsumerRecord.leaderEpoch()`); -1 when unknown (a batch written without one). Commit it
   * with the next offset (`offset + 1`) as `leaderEpoch` (`GroupConsumer.commit`,
   * `Producer.sendOffsetsToTransaction`) so that a consumer resuming from the commit
   * can detect a log truncation (KIP-320).
   */
  leaderEpoch: number;
}

/** Options for {@linkcode Consumer}. */
export interface ConsumerOptions {
  /** Where to start when an assignment gives no offset. Default false (latest). */
  fromBeginning?: boolean;
  /** What to do on `OFFSET_OUT_OF_RANGE`: `earliest`, `latest` or `none` (throw). Default
   * `earliest` when `fromBeginning`, else `latest`. */
  autoOffsetReset?: "earliest" | "latest" | "none";
  /** Fetch long-poll time. Default 500. */
  maxWaitMs?: number;
  /** Bytes the broker waits for. Default 1. */
  minBytes?: number;
  /** Response size limit. Default 52428800. */
  maxBytes?: number;
  /** Per-partition size limit. Default 1048576. */
  maxPartitionBytes?: number;
  /** 0 = read uncommitted, 1 = read committed. Default 0. */
  isolationLevel?: 0 | 1;
  /** Verify each fetched batch's CRC-32C (`check.crcs`). Default true, as the Java client. */
  checkCrcs?: boolean;
  /**
   * After a poll that returned records, send the next Fetch at once so that it is in flight while
   * the caller processes them (positions still move only as records are returned). Default true.
   */
  prefetch?: boolean;
  /**
   * Called when a log truncation is detected and the position moved to `resetOffset` (from
   * within {@linkcode Consumer.poll}, before it returns). Default: one line on `console.warn`.
   * With `autoOffsetReset: "none"` poll throws a {@linkcode LogTruncationError} instead.
   */
  onTruncation?: (truncation: LogTruncation) => void;
  /**
   * The consumer's rack (`client.rack`, KIP-392), sent as Fetch v11+ `rack_id`. A leader with a
   * replica selector may answer with a `preferred_read_replica` (an in-sync follower in this
   * rack): the partition is then fetched from that broker, up to its high watermark, for at most
   * {@linkcode PREFERRED_READ_REPLICA_LEASE_MS}, and from the leader again after any error there
   * (as librdkafka). A leader that sends the partition to a replica again within
   * {@linkcode PREFERRED_READ_REPLICA_MIN_LEASE_INTERVAL_MS} of the last time holds back its next
   * fetch by `retryBackoffMs`, doubled at each such lease in a row, at most ten times
   * `retryBackoffMs` (librdkafka: `fetch.error.backoff.ms`). Default "" (none: always the leader).
   */
  clientRack?: string;
}

/**
 * How long a `preferred_read_replica` is followed before the leader is asked again (librdkafka's
 * lease, and the Java consumer's `metadata.max.age.ms` default): 5 minutes.
 */
export const PREFERRED_READ_REPLICA_LEASE_MS = 300_000;

/**
 * A `preferred_read_replica` lease given sooner than this after the last one (the leader sending
 * the partition back to a replica that just failed, or stale cluster state) holds back the
 * partition's next fetch (librdkafka's "lease changing too quickly": one minute).
 */
export const PREFERRED_READ_REPLICA_MIN_LEASE_INTERVAL_MS = 60_000;

/** Options for one {@linkcode Consumer.poll}. */
export interface PollOptions {
  /** Long-poll time for this poll. */
  maxWaitMs?: number;
  /** Aborting returns early with no records. */
  signal?: AbortSignal;
}

interface FetchResult {
  records: ConsumerRecord[];
  /** New positions, applied when the records are handed out. */
  updates: Update[];
  /** Partitions answered with a retriable error (metadata looked up again). */
  retries: number;
  /** Each answered partition's end (high watermark, or last stable offset when reading
   * committed), applied with the positions. */
  ends: Array<[Position, number]>;
}

interface Update {
  position: Position;
  offset: number;
  /** The leader epoch of the new position. */
  epoch: number;
  /** A truncation found by validation: reported when the update is applied. */
  truncation?: LogTruncation;
}

interface Position {
  topic: string;
  partition: number;
  offset: number;
  /** The leader epoch of the batch before `offset` (the last read, or given); -1 unknown. */
  offsetEpoch: number;
  /** The leader and leader epoch the metadata gave at the last fetch (-1: none yet). */
  leader: number;
  leaderEpoch: number;
  /** Validate with OffsetForLeaderEpoch before the next fetch (a new leader or epoch). */
  validate: boolean;
  /** KIP-392: the replica the leader sent this partition to (-1: the leader), and until when. */
  preferred: number;
  preferredUntil: number;
  /** When the leader last sent this partition to a replica (0: never), and how many times in a
   * row it did so within {@linkcode PREFERRED_READ_REPLICA_MIN_LEASE_INTERVAL_MS} of the last. */
  leasedAt: number;
  quickLeases: number;
  /** Not fetched before this time (Date.now()): a lease that came too quickly (KIP-392). */
  backoffUntil: number;
  /** When records of it were last handed out (a counter): fetches ask for the partitions
   * served longest ago first, so that one partition's data cannot starve the others. */
  turn: number;
  /** Records fetched before the partition was paused, with the position they move it to:
   * handed out once it is resumed (Java keeps them in its fetch buffer). */
  parked?: { records: ConsumerRecord[]; offset: number; epoch: number };
}

/** What OffsetForLeaderEpoch said of a position. */
type Validation =
  | { kind: "valid" }
  | { kind: "retry" }
  /** `offset` -1: the leader knows no epoch at or below the position's. */
  | { kind: "truncated"; offset: number; epoch: number };

let consumerCount = 0;

const skipper = (f: AbortedTransactionFilter) => (data: Uint8Array, pos: number) =>
  f.skip(data, pos);

const key = (topic: string, partition: number) => `${topic}\u0000${partition}`;

/** Adds `p` to its topic's list in `topics`, in place (a poll groups every fetched partition:
 * copying the list at each one was quadratic, ~9% of the CPU of a 1,000-partition poll). */
function byTopic(topics: Map<string, Position[]>, p: Position): void {
  const list = topics.get(p.topic);
  if (list === undefined) topics.set(p.topic, [p]);
  else list.push(p);
}

/** Waits `ms`, or until `signal` aborts. */
function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}

/**
 * A consumer of assigned partitions.
 *
 * @example
 * ```ts ignore
 * import { Client, Consumer } from "../client/mod.ts";
 * const client = new Client({ bootstrapServers: "localhost:9092" });
 * const consumer = new Consumer(client);
 * await consumer.assign([{ topic: "teste", partition: 0, offset: "earliest" }]);
 * for (const r of await consumer.poll()) console.log(r.offset, new TextDecoder().decode(r.value!));
 * await client.close();
 * ```
 */
export class Consumer {
  #client: Client;
  #admin: Admin;
  #options: Required<Omit<ConsumerOptions, "onTruncation">>;
  #onTruncation: (truncation: LogTruncation) => void;
  #positions = new Map<string, Position>();
  #pool = `consumer-${++consumerCount}`;
  #closed = false;
  /** Bumped by assign, seek and close: a fetch from an older epoch is dropped. */
  #epoch = 0;
  #prefetch: { epoch: number; result: Promise<FetchResult> } | undefined;
  /** The end each partition had in the last fetch answer handed out (by position object, so
   * an assign or a seek forgets it). */
  #ends = new WeakMap<Position, number>();
  /** Paused partitions (by key): not fetched, their fetched records held back. */
  #paused = new Set<string>();
  /** Counts hand-outs, for {@linkcode Position.turn}. */
  #turns = 0;
  /**
   * The fetch rotation's units: partition N of every assigned topic (a Streams task's inputs).
   * `turn`: when the unit's last visit ended (the order of units in a fetch); `served`:
   * hand-outs of its partitions in the visit under way.
   */
  #units = new Map<number, { turn: number; served: number }>();

  /**
   * Creates a consumer with no assignment.
   *
   * @param client The cluster client.
   * @param options Start position, fetch sizes, long-poll time.
   */
  constructor(client: Client, options: ConsumerOptions = {}) {
    this.#client = client;
    this.#admin = new Admin(client);
    const fromBeginning = options.fromBeginning ?? false;
    this.#options = {
      fromBeginning,
      autoOffsetReset: options.autoOffsetReset ?? (fromBeginning ? "earliest" : "latest"),
      maxWaitMs: options.maxWaitMs ?? 500,
      minBytes: options.minBytes ?? 1,
      maxBytes: options.maxBytes ?? 52_428_800,
      maxPartitionBytes: options.maxPartitionBytes ?? 1_048_576,
      isolationLevel: options.isolationLevel ?? 0,
      checkCrcs: options.checkCrcs ?? true,
      prefetch: options.prefetch ?? true,
      clientRack: options.clientRack ?? "",
    };
    this.#onTruncation = options.onTruncation ??
      ((t) => console.warn(`consumer: ${describeTruncation(t)}; resuming at ${t.resetOffset}`));
  }

  /**
   * Replaces the assignment; `earliest`/`latest` offsets are resolved with ListOffsets.
   *
   * @param partitions The partitions and start offsets.
   * @throws {KafkaError} `UNKNOWN_TOPIC_OR_PARTITION` for a missing topic or partition.
   */
  async assign(partitions: PartitionAssignment[]): Promise<void> {
    const resolved = await this.#resolve(partitions);
    this.#epoch++;
    this.#prefetch = undefined;
    const before = new Map(this.#positions);
    this.#positions.clear();
    this.#units.clear();
    for (const p of resolved) {
      const k = key(p.topic, p.partition);
      // A partition kept at its position (a cooperative rebalance) keeps what was checked of it.
      const old = before.get(k);
      if (old !== undefined && old.offset === p.offset && old.offsetEpoch === p.offsetEpoch) {
        p.leader = old.leader;
        p.leaderEpoch = old.leaderEpoch;
        p.validate = old.validate;
      }
      this.#positions.set(k, p);
    }
    // A partition no longer assigned is no longer paused (as Java's consumer).
    for (const k of this.#paused) if (!this.#positions.has(k)) this.#paused.delete(k);
    // Start fetching at once, as librdkafka does on assignment; the first poll picks it up.
    this.#startPrefetch();
  }

  /**
   * Moves a partition's position (it must be assigned). With a `leaderEpoch` the new position is
   * validated against the leader's log before the next fetch (KIP-320).
   *
   * @param target Topic, partition and new offset (`earliest`/`latest` allowed).
   * @throws {RangeError} If the partition is not assigned.
   * @throws {KafkaError} If resolving `earliest`/`latest` fails.
   */
  async seek(target: PartitionAssignment): Promise<void> {
    const k = key(target.topic, target.partition);
    if (!this.#positions.has(k)) {
      throw new RangeError(`seek: ${target.topic}-${target.partition} is not assigned`);
    }
    const [p] = await this.#resolve([target]);
    this.#epoch++;
    this.#prefetch = undefined;
    this.#positions.set(k, p);
  }

  /**
   * The next offset to be read from each assigned partition, with its leader epoch (that of the
   * last record batch read, or the one given with the offset; -1 unknown).
   *
   * @returns Topic, partition, offset and leader epoch per assigned partition.
   */
  assignment(): ConsumerPosition[] {
    return [...this.#positions.values()].map((p) => ({
      topic: p.topic,
      partition: p.partition,
      offset: p.offset,
      leaderEpoch: p.offsetEpoch,
    }));
  }

  async #resolve(partitions: PartitionAssignment[]): Promise<Position[]> {
    const fallback = this.#options.fromBeginning ? "earliest" : "latest";
    const queries = partitions.map((p) => ({ ...p, offset: p.offset ?? fallback }));
    for (const q of queries) {
      if (typeof q.offset === "number" && (!Number.isSafeInteger(q.offset) || q.offset < 0)) {
        throw new RangeError(`assign: invalid offset ${q.offset} for ${q.topic}-${q.partition}`);
      }
      const e = q.leaderEpoch;
      if (e !== undefined && (!Number.isSafeInteger(e) || e < -1 || e > 2 ** 31 - 1)) {
        throw new RangeError(`assign: invalid leader epoch ${e} for ${q.topic}-${q.partition}`);
      }
    }
    const lookups = queries.filter((q) => typeof q.offset === "string");
    const found = lookups.length === 0 ? [] : await this.#admin.listOffsets(
      lookups.map((q) => ({
        topic: q.topic,
        partition: q.partition,
        spec: q.offset as "earliest" | "latest",
      })),
    );
    // Validate explicit offsets' partitions too.
    for (const q of queries) {
      if (typeof q.offset === "number") await this.#client.leaderFor(q.topic, q.partition);
    }
    let i = 0;
    return queries.map((q) => {
      // A looked-up offset is not validated (as Java's reset positions are not).
      const offsetEpoch = typeof q.offset === "number" ? q.leaderEpoch ?? -1 : -1;
      return {
        topic: q.topic,
        partition: q.partition,
        offset: typeof q.offset === "number" ? q.offset : found[i++].offset,
        offsetEpoch,
        leader: -1,
        leaderEpoch: -1,
        preferred: -1,
        preferredUntil: 0,
        leasedAt: 0,
        quickLeases: 0,
        backoffUntil: 0,
        validate: offsetEpoch >= 0,
        turn: 0,
      };
    });
  }

  /**
   * Fetches the next records of every assigned partition (one Fetch per leader, long-polling up
   * to `maxWaitMs` when there is nothing new).
   *
   * @param options Long-poll time, abort signal.
   * @returns Records in offset order per partition (possibly none).
   * @throws {KafkaError} On a non-retriable fetch error, or `OFFSET_OUT_OF_RANGE` with
   *   `autoOffsetReset: "none"`.
   * @throws {LogTruncationError} With `autoOffsetReset: "none"`, when a leader's log was
   *   truncated below a position (otherwise the position moves and `onTruncation` is called).
   */
  async poll(options: PollOptions = {}): Promise<ConsumerRecord[]> {
    if (this.#closed) throw new Error("consumer: poll after close");
    if (this.#positions.size === 0) return [];
    const epoch = this.#epoch;
    let result: FetchResult;
    const prefetched = this.#prefetch;
    if (prefetched === undefined || prefetched.epoch !== epoch) {
      // Records held back while their partition was paused, now resumed: handed out at once
      // (not after a long poll), before a fetch could ask for them again.
      const unparked = this.#unpark();
      if (unparked.length > 0) {
        this.#endVisits();
        this.#startPrefetch();
        return unparked;
      }
    }
    this.#prefetch = undefined;
    if (prefetched !== undefined && prefetched.epoch === epoch) {
      const signal = options.signal;
      if (signal === undefined) {
        result = await prefetched.result;
      } else {
        if (signal.aborted) {
          this.#prefetch = prefetched;
          return [];
        }
        let onAbort = () => {};
        const aborted = new Promise<undefined>((resolve) => {
          onAbort = () => resolve(undefined);
          signal.addEventListener("abort", onAbort, { once: true });
        });
        const got = await Promise.race([prefetched.result, aborted]).finally(() =>
          signal.removeEventListener("abort", onAbort)
        );
        if (got === undefined) {
          // Keep the fetch in flight for the next poll.
          if (this.#epoch === epoch && this.#prefetch === undefined) this.#prefetch = prefetched;
          return [];
        }
        result = got;
      }
      if (this.#epoch !== epoch) return [];
    } else {
      const maxWaitMs = options.maxWaitMs ?? this.#options.maxWaitMs;
      result = await this.#fetchAll(maxWaitMs, options.signal);
    }
    // Held back records of partitions resumed since (the fetch in flight did not ask for
    // them: a paused or parked partition is not fetched).
    const unparked = this.#unpark();
    let records = result.records;
    // Positions move only when records are handed out, so assignment() never runs ahead.
    let held: Set<Position> | undefined;
    let fresh: Set<Position> | undefined;
    for (const u of result.updates) {
      const position = u.position;
      const k = key(position.topic, position.partition);
      if (this.#positions.get(k) !== position) continue;
      if (u.truncation === undefined && this.#paused.has(k)) {
        // Fetched before the pause: held back until resumed (a second answer from the same
        // offset cannot come, paused partitions are not fetched; were it to, it is dropped
        // and fetched again).
        (held ??= new Set()).add(position);
        if (position.parked === undefined) {
          position.parked = { records: [], offset: u.offset, epoch: u.epoch };
          (fresh ??= new Set()).add(position);
        }
        continue;
      }
      position.offset = u.offset;
      position.offsetEpoch = u.epoch;
      this.#handedOut(position);
      if (u.truncation !== undefined) {
        position.validate = false;
        this.#onTruncation(u.truncation);
      }
    }
    if (held !== undefined) records = this.#holdBack(records, held, fresh);
    for (const [position, end] of result.ends) this.#ends.set(position, end);
    this.#endVisits();
    if (unparked.length > 0) records = unparked.concat(records);
    // Fetch the next records while the caller processes these (as librdkafka and the Java
    // client do).
    if (records.length > 0 || held !== undefined) this.#startPrefetch();
    return records;
  }

  /**
   * Stops fetching partitions (Java's `Consumer.pause`): polls return none of their records
   * (those fetched before are held back) until {@linkcode Consumer.resume}. Positions and lags
   * stay. A partition not assigned is ignored; a new assignment that drops a partition
   * forgets its pause.
   *
   * @param partitions Topic and partition of each.
   */
  pause(partitions: Array<{ topic: string; partition: number }>): void {
    for (const { topic, partition } of partitions) {
      const k = key(topic, partition);
      if (this.#positions.has(k)) this.#paused.add(k);
    }
  }

  /**
   * Fetches paused partitions again (Java's `Consumer.resume`); the records held back for
   * them come with the next poll.
   *
   * @param partitions Topic and partition of each.
   */
  resume(partitions: Array<{ topic: string; partition: number }>): void {
    for (const { topic, partition } of partitions) this.#paused.delete(key(topic, partition));
  }

  /**
   * The paused partitions.
   *
   * @returns Topic and partition of each, in the order paused.
   */
  paused(): Array<{ topic: string; partition: number }> {
    const out = [];
    for (const k of this.#paused) {
      const p = this.#positions.get(k)!;
      out.push({ topic: p.topic, partition: p.partition });
    }
    return out;
  }

  /** Splits the records of `held` positions off `records` (runs of one partition), parking
   * those of `fresh` ones (parked by this answer) on their positions; returns the rest. */
  #holdBack(
    records: ConsumerRecord[],
    held: Set<Position>,
    fresh: Set<Position> | undefined,
  ): ConsumerRecord[] {
    const out: ConsumerRecord[] = [];
    for (let from = 0; from < records.length;) {
      const { topic, partition } = records[from];
      let to = from + 1;
      while (
        to < records.length && records[to].partition === partition &&
        records[to].topic === topic
      ) to++;
      const position = this.#positions.get(key(topic, partition));
      if (position !== undefined && held.has(position)) {
        if (fresh?.has(position)) position.parked!.records = records.slice(from, to);
      } else {
        for (let i = from; i < to; i++) out.push(records[i]);
      }
      from = to;
    }
    return out;
  }

  /** Hands out the records held back for partitions no longer paused, moving their
   * positions. */
  #unpark(): ConsumerRecord[] {
    let out: ConsumerRecord[] = [];
    for (const [k, position] of this.#positions) {
      const parked = position.parked;
      if (parked === undefined || this.#paused.has(k)) continue;
      position.parked = undefined;
      position.offset = parked.offset;
      position.offsetEpoch = parked.epoch;
      this.#handedOut(position);
      out = out.length === 0 ? parked.records : out.concat(parked.records);
    }
    return out;
  }

  /** A position's records are handed out: it goes to the end of its unit's rotation. */
  #handedOut(position: Position): void {
    position.turn = ++this.#turns;
    const unit = this.#units.get(position.partition);
    if (unit === undefined) this.#units.set(position.partition, { turn: 0, served: 1 });
    else unit.served++;
  }

  /**
   * Ends the visit of each unit whose fetchable partitions with records left on the broker
   * (or not known yet) have all been handed out since it began, or that had as many hand-outs
   * as it has fetchable partitions (so a partition that never answers holds no unit first):
   * the unit goes after the others.
   */
  #endVisits(): void {
    let open: Map<number, { members: number; pending: number }> | undefined;
    for (const [partition, unit] of this.#units) {
      if (unit.served > 0) (open ??= new Map()).set(partition, { members: 0, pending: 0 });
    }
    if (open === undefined) return;
    for (const [k, p] of this.#positions) {
      const visit = open.get(p.partition);
      if (visit === undefined || p.parked !== undefined || this.#paused.has(k)) continue;
      visit.members++;
      const end = this.#ends.get(p);
      if (p.turn <= this.#units.get(p.partition)!.turn && (end === undefined || end > p.offset)) {
        visit.pending++;
      }
    }
    for (const [partition, visit] of open) {
      const unit = this.#units.get(partition)!;
      if (visit.pending === 0 || unit.served >= visit.members) {
        unit.turn = ++this.#turns;
        unit.served = 0;
      }
    }
  }

  #startPrefetch(): void {
    if (!this.#options.prefetch || this.#closed || this.#positions.size === 0) return;
    const next = this.#fetchAll(this.#options.maxWaitMs);
    next.catch(() => {});
    this.#prefetch = { epoch: this.#epoch, result: next };
  }

  async #fetchAll(maxWaitMs: number, signal?: AbortSignal): Promise<FetchResult> {
    const byLeader = new Map<number, Position[]>();
    // The partitions served longest ago first: a leader fills its answer in request order
    // and skips a partition whose first batch no longer fits (KIP-74), so a fixed order would
    // starve the last ones while the first have data (as Java's consumer, which moves a
    // partition to the end once its records are returned).
    const fetchable: Position[] = [];
    const now = Date.now();
    let wakeAt = Infinity;
    for (const [k, p] of this.#positions) {
      if (p.parked !== undefined || this.#paused.has(k)) continue;
      if (p.backoffUntil > now) {
        // held back after a preferred-replica lease that came too quickly (KIP-392)
        wakeAt = Math.min(wakeAt, p.backoffUntil);
        continue;
      }
      fetchable.push(p);
    }
    if (fetchable.length === 0) {
      // Everything paused or held back: wait as a fetch with nothing new would, or until the
      // first held back partition may be fetched again.
      await abortableSleep(Math.min(maxWaitMs, wakeAt - now), signal);
      return { records: [], updates: [], retries: 0, ends: [] };
    }
    // The rotation goes by unit (partition N of every topic, see #endVisits), then partition:
    // a Streams task reads partition N of each of its topics, and with batches over the
    // partition budget an answer holds about one partition, so rotating partition by partition
    // had a task get its second topic's records several answers after its first's (buffered
    // meanwhile: up to 35,000 records in `bench:streams --merge`, docs/STREAMS.md).
    const units = this.#units;
    fetchable.sort((a, b) =>
      (units.get(a.partition)?.turn ?? 0) - (units.get(b.partition)?.turn ?? 0) ||
      a.partition - b.partition || a.turn - b.turn
    );
    for (const p of fetchable) {
      const { leader, leaderEpoch } = await this.#client.leaderAndEpoch(p.topic, p.partition);
      if (leader !== p.leader || leaderEpoch !== p.leaderEpoch) {
        // A new leader or leader epoch (KIP-320): its log may end below the position (an unclean
        // election); check before fetching from it, when the position's epoch is known.
        if (p.leader !== -1 && p.offsetEpoch >= 0 && leaderEpoch >= 0) p.validate = true;
        p.leader = leader;
        p.leaderEpoch = leaderEpoch;
        p.preferred = -1; // a new leader decides again (KIP-392)
      }
      // KIP-392: the follower the leader sent the partition to, while its lease lasts; a
      // position to validate goes to the leader (OffsetForLeaderEpoch is the leader's)
      if (p.preferred >= 0 && (p.validate || now >= p.preferredUntil)) p.preferred = -1;
      const target = p.preferred >= 0 ? p.preferred : leader;
      const list = byLeader.get(target);
      if (list === undefined) byLeader.set(target, [p]);
      else list.push(p);
    }
    const results = await Promise.all(
      [...byLeader].map(([target, ps]) =>
        this.#fetch(target, ps, maxWaitMs, signal).catch((e) => {
          if (ps.some((p) => p.preferred === target)) {
            // A preferred replica that cannot be reached (gone, or not answering): back to the
            // leader at the next round, as librdkafka when a broker goes down.
            for (const p of ps) p.preferred = -1;
            return { records: [], updates: [], retries: ps.length, ends: [] };
          }
          // The leader cannot be reached (its process gone, or a failover): the next poll
          // looks the leaders up again rather than trying the same broker forever.
          for (const p of ps) this.#client.invalidate(p.topic);
          throw e;
        })
      ),
    );
    const result = results.length === 1 ? results[0] : {
      records: results.flatMap((r) => r.records),
      updates: results.flatMap((r) => r.updates),
      retries: results.reduce((n, r) => n + r.retries, 0),
      ends: results.flatMap((r) => r.ends),
    };
    // Only retriable errors (a leader in another epoch, a validation to repeat): wait a little
    // before the next round looks the metadata up again, rather than spin.
    if (result.records.length === 0 && result.updates.length === 0 && result.retries > 0) {
      await this.#client.backoff(0);
    }
    return result;
  }

  /**
   * OffsetForLeaderEpoch (v3+) at `conn` for `positions`: the end offset, on the leader, of each
   * position's leader epoch, with the position's current leader epoch. A leader too old for v3
   * is not asked (as Java's consumer): every position is taken as valid.
   */
  async #validate(conn: Connection, positions: Position[]): Promise<Validation[]> {
    let version: number;
    try {
      version = conn.versionFor(OffsetForLeaderEpochRequest);
    } catch {
      version = -1;
    }
    if (version < 3) return positions.map(() => ({ kind: "valid" }));
    const topics = new Map<string, Position[]>();
    for (const p of positions) byTopic(topics, p);
    const res = await conn.send(
      { request: OffsetForLeaderEpochRequest, response: OffsetForLeaderEpochResponse },
      OffsetForLeaderEpochRequest.create({
        replicaId: -1,
        topics: [...topics].map(([topic, ps]) => ({
          topic,
          partitions: ps.map((p) => ({
            partition: p.partition,
            currentLeaderEpoch: p.leaderEpoch,
            leaderEpoch: p.offsetEpoch,
          })),
        })),
      }),
      { version },
    );
    return positions.map((p): Validation => {
      const r = res.topics.find((t) => t.topic === p.topic)?.partitions
        .find((x) => x.partition === p.partition);
      if (r === undefined) return { kind: "retry" };
      if (r.errorCode === ErrorCode.TOPIC_AUTHORIZATION_FAILED) {
        throw new KafkaError(r.errorCode, `validate the position of ${p.topic}-${p.partition}`);
      }
      if (r.errorCode !== ErrorCode.NONE) {
        // FENCED_LEADER_EPOCH, UNKNOWN_LEADER_EPOCH, NOT_LEADER_OR_FOLLOWER...: the metadata is
        // looked up again and the position validated at the next round (Java retries them all).
        this.#client.invalidate(p.topic);
        return { kind: "retry" };
      }
      if (r.endOffset < 0 || r.leaderEpoch < 0) return { kind: "truncated", offset: -1, epoch: -1 };
      if (r.endOffset < p.offset) {
        return { kind: "truncated", offset: r.endOffset, epoch: r.leaderEpoch };
      }
      return { kind: "valid" };
    });
  }

  /**
   * The update a detected truncation makes: to the divergence point, or by `autoOffsetReset`
   * when the leader knows no epoch at or below the position's; with `none`, the error to throw.
   */
  async #truncated(
    position: Position,
    v: { offset: number; epoch: number },
  ): Promise<Update> {
    const truncation: LogTruncation = {
      topic: position.topic,
      partition: position.partition,
      fetchOffset: position.offset,
      fetchEpoch: position.offsetEpoch,
      divergentOffset: v.offset,
      divergentEpoch: v.epoch,
      resetOffset: v.offset,
    };
    const reset = this.#options.autoOffsetReset;
    if (reset === "none") throw new LogTruncationError(truncation);
    if (v.offset >= 0) return { position, offset: v.offset, epoch: v.epoch, truncation };
    const [r] = await this.#admin.listOffsets([
      { topic: position.topic, partition: position.partition, spec: reset },
    ]);
    truncation.resetOffset = r.offset;
    return { position, offset: r.offset, epoch: -1, truncation };
  }

  async #fetch(
    broker: number,
    positions: Position[],
    maxWaitMs: number,
    signal?: AbortSignal,
  ): Promise<FetchResult> {
    const conn = await this.#client.connectionTo(broker, this.#pool);
    const updates: Update[] = [];
    const ends: Array<[Position, number]> = [];
    let retries = 0;
    const pending = positions.filter((p) => p.validate);
    if (pending.length > 0) {
      // Positions after a leader change: checked before anything is fetched for them.
      const checked = await this.#validate(conn, pending);
      for (const [i, v] of checked.entries()) {
        const p = pending[i];
        if (v.kind === "valid") p.validate = false;
        else if (v.kind === "retry") retries++;
        else updates.push(await this.#truncated(p, v));
      }
      positions = positions.filter((p) => !p.validate);
      if (positions.length === 0) return { records: [], updates, retries, ends };
    }
    const version = conn.versionFor(FetchRequest);
    const topics = new Map<string, Position[]>();
    for (const p of positions) byTopic(topics, p);
    const request = FetchRequest.create({
      clusterId: null,
      replicaId: -1,
      maxWaitMs,
      minBytes: this.#options.minBytes,
      maxBytes: this.#options.maxBytes,
      isolationLevel: this.#options.isolationLevel,
      sessionId: 0,
      sessionEpoch: -1,
      topics: await Promise.all([...topics].map(async ([topic, ps]) => ({
        topic,
        topicId: version >= 13
          ? (await this.#client.topic(topic)).topicId
          : "AAAAAAAAAAAAAAAAAAAAAA",
        partitions: ps.map((p) => ({
          partition: p.partition,
          // KIP-320 (v9+): a leader in another epoch answers FENCED/UNKNOWN_LEADER_EPOCH.
          currentLeaderEpoch: version >= 9 ? p.leaderEpoch : -1,
          fetchOffset: p.offset,
          lastFetchedEpoch: -1,
          logStartOffset: -1,
          partitionMaxBytes: this.#options.maxPartitionBytes,
          replicaDirectoryId: "AAAAAAAAAAAAAAAAAAAAAA",
        })),
      }))),
      forgottenTopicsData: [],
      rackId: this.#options.clientRack,
    });
    // Aborted while the leader or topic ids were looked up: send nothing (a fetch sent and
    // left without a handler rejects unhandled when its connection closes).
    if (signal?.aborted) return { records: [], updates, retries, ends };
    const sent = conn.send({ request: FetchRequest, response: FetchResponse }, request, {
      version,
      timeoutMs: this.#client.options.requestTimeoutMs + maxWaitMs,
    });
    let response;
    if (signal) {
      let onAbort = () => {};
      const aborted = new Promise<undefined>((resolve) => {
        onAbort = () => resolve(undefined);
        signal.addEventListener("abort", onAbort, { once: true });
      });
      response = await Promise.race([sent, aborted]);
      signal.removeEventListener("abort", onAbort);
      if (response === undefined) {
        sent.catch(() => {});
        return { records: [], updates, retries, ends };
      }
    } else {
      response = await sent;
    }
    if (response.errorCode !== 0) throw new KafkaError(response.errorCode, "fetch");
    const out: ConsumerRecord[] = [];
    const readCommitted = this.#options.isolationLevel === 1;
    for (const t of response.responses) {
      const topic = version >= 13 ? this.#client.topicName(t.topicId) ?? t.topic : t.topic;
      for (const p of t.partitions) {
        const position = this.#positions.get(key(topic, p.partitionIndex));
        if (!position) continue;
        if (position.preferred === broker && p.errorCode !== ErrorCode.NONE) {
          // KIP-392: any error from a follower (its log shorter than the position, a leader
          // epoch it does not follow, no longer a replica...) sends the partition back to the
          // leader, which decides (librdkafka: OFFSET_OUT_OF_RANGE above the follower's high
          // watermark, and the leader errors; Java: every one). The metadata is looked up again.
          position.preferred = -1;
          if (p.errorCode !== ErrorCode.OFFSET_OUT_OF_RANGE) this.#client.invalidate(topic);
          retries++;
          continue;
        }
        if ((p.preferredReadReplica ?? -1) >= 0 && p.preferredReadReplica !== broker) {
          // KIP-392: the leader sends this partition to a replica in our rack (no records).
          const now = Date.now();
          if (now - position.leasedAt < PREFERRED_READ_REPLICA_MIN_LEASE_INTERVAL_MS) {
            // Sent to a replica again soon after the last time, as when the leader keeps sending
            // it back to a follower that refuses it: hold the next fetch back, longer at each
            // such lease in a row, up to ten times retryBackoffMs (librdkafka backs off by
            // fetch.error.backoff.ms here, and the Java consumer by retry.backoff.ms up to
            // retry.backoff.max.ms, 1 s, on the follower's error).
            position.backoffUntil = now + this.#client.backoffMs(position.quickLeases++);
          } else {
            position.quickLeases = 0;
          }
          position.leasedAt = now;
          position.preferred = p.preferredReadReplica;
          position.preferredUntil = now + PREFERRED_READ_REPLICA_LEASE_MS;
          continue;
        }
        if (p.errorCode === ErrorCode.OFFSET_OUT_OF_RANGE) {
          // With the position's epoch known, a truncated log is told apart from a position
          // below the log start (as librdkafka does): the first resumes where the logs diverge.
          if (position.offsetEpoch >= 0 && position.leaderEpoch >= 0) {
            const [v] = await this.#validate(conn, [position]);
            if (v.kind === "retry") {
              retries++;
              continue;
            }
            // A divergence point below the position; without one (the leader knows no epoch at or
            // below the position's: retention deleted it) this is an ordinary out-of-range.
            if (v.kind === "truncated" && v.offset >= 0) {
              updates.push(await this.#truncated(position, v));
              continue;
            }
          }
          const reset = this.#options.autoOffsetReset;
          if (reset === "none") {
            throw new KafkaError(
              p.errorCode,
              `fetch ${topic}-${p.partitionIndex} at offset ${position.offset}`,
            );
          }
          const [r] = await this.#admin.listOffsets([
            { topic, partition: p.partitionIndex, spec: reset },
          ]);
          updates.push({ position, offset: r.offset, epoch: -1 });
          continue;
        }
        if (p.errorCode !== 0) {
          // FENCED_LEADER_EPOCH, UNKNOWN_LEADER_EPOCH, NOT_LEADER_OR_FOLLOWER...: look the
          // leader and its epoch up again; the next round validates the position if it changed.
          if (isStaleMetadataError(p.errorCode) || new KafkaError(p.errorCode).retriable) {
            this.#client.invalidate(topic);
            retries++;
            continue;
          }
          throw new KafkaError(p.errorCode, `fetch ${topic}-${p.partitionIndex}`);
        }
        const end = readCommitted ? p.lastStableOffset : p.highWatermark;
        if (end >= 0) ends.push([position, end]);
        if (!p.records || p.records.length === 0) continue;
        const partition = p.partitionIndex;
        let epoch = position.offsetEpoch;
        const next = decodeRecordsInto(
          p.records,
          position.offset,
          (offset, timestamp, key, value, headers) => ({
            topic,
            partition,
            offset,
            timestamp,
            key,
            value,
            headers,
            // onBatch ran for this record's batch just before.
            leaderEpoch: epoch,
          }),
          out,
          {
            verifyCrc: this.#options.checkCrcs,
            // read_committed: the broker sends data below the last stable offset and the aborted
            // transactions among it; their records are dropped here (Kafka's CompletedFetch).
            skipBatch: this.#options.isolationLevel === 1 && p.abortedTransactions?.length
              ? skipper(new AbortedTransactionFilter(p.abortedTransactions))
              : undefined,
            // The position's epoch is that of the last batch passed (Java's CompletedFetch).
            onBatch: (batchEpoch) => {
              epoch = batchEpoch;
            },
          },
        );
        if (next !== position.offset) updates.push({ position, offset: next, epoch });
      }
    }
    return { records: out, updates, retries, ends };
  }

  /**
   * How many records of a partition the broker had past this consumer's position, by the last
   * fetch answer handed out (its high watermark, or last stable offset when reading committed,
   * minus the position): Java's `Consumer.currentLag`. `0` means the records handed out reached
   * the partition's end.
   *
   * @param topic Topic.
   * @param partition Partition.
   * @returns The lag, or `undefined` when no fetch answered for the partition since it was
   *   assigned or sought.
   */
  lag(topic: string, partition: number): number | undefined {
    const position = this.#positions.get(key(topic, partition));
    if (position === undefined) return undefined;
    const end = this.#ends.get(position);
    return end === undefined ? undefined : Math.max(0, end - position.offset);
  }

  /**
   * Polls forever, yielding records one by one (stop with `break` or {@linkcode Consumer.close}).
   *
   * @returns An async iterator of records.
   */
  async *[Symbol.asyncIterator](): AsyncGenerator<ConsumerRecord> {
    while (!this.#closed) {
      for (const r of await this.poll()) yield r;
    }
  }

  /** Stops the consumer and closes its fetch connections (the {@linkcode Client} stays open). */
  async close(): Promise<void> {
    this.#closed = true;
    this.#epoch++;
    this.#prefetch = undefined;
    this.#positions.clear();
    this.#units.clear();
    await this.#client.closePool(this.#pool);
  }
}
