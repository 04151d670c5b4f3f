/**
 * A simple consumer (no groups yet): assign partitions, then poll with Fetch long-polls.
 *
 * @module
 */

import { ErrorCode, KafkaError } from "../protocol/errors.ts";
import { FetchRequest, FetchResponse } from "../protocol/messages/fetch.ts";
import { Admin } from "./admin.ts";
import { type Client, isStaleMetadataError } from "./client.ts";
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
}

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
  updates: Array<[Position, number]>;
}

interface Position {
  topic: string;
  partition: number;
  offset: number;
}

let consumerCount = 0;

const skipper = (f: AbortedTransactionFilter) => (data: Uint8Array, pos: number) =>
  f.skip(data, pos);

const key = (topic: string, partition: number) => `${topic}\u0000${partition}`;

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
  #options: Required<ConsumerOptions>;
  #positions = new Map<string, Position>();
  #pool = `consumer-${++consumerCount}`;
  #closed = false;
  /** Bumped by assign, seek and close: a fetch from an older epoch is dropped. */
  #epoch = 0;
  #prefetch: { epoch: number; result: Promise<FetchResult> } | undefined;

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
    };
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
    this.#positions.clear();
    for (const p of resolved) this.#positions.set(key(p.topic, p.partition), p);
    // Start fetching at once, as librdkafka does on assignment; the first poll picks it up.
    this.#startPrefetch();
  }

  /**
   * Moves a partition's position (it must be assigned).
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
   * The next offset to be read from each assigned partition.
   *
   * @returns Topic, partition, offset per assigned partition.
   */
  assignment(): Array<{ topic: string; partition: number; offset: number }> {
    return [...this.#positions.values()].map((p) => ({ ...p }));
  }

  async #resolve(partitions: PartitionAssignment[]): Promise<Position[]> {
    const fallback = this.#options.fromBeginning ? "earliest" : "latest";
    const queries = partitions.map((p) => ({ ...p, offset: p.offset ?? fallback }));
    for (const q of queries) {
      if (typeof q.offset === "number" && (!Number.isSafeInteger(q.offset) || q.offset < 0)) {
        throw new RangeError(`assign: invalid offset ${q.offset} for ${q.topic}-${q.partition}`);
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
    return queries.map((q) => ({
      topic: q.topic,
      partition: q.partition,
      offset: typeof q.offset === "number" ? q.offset : found[i++].offset,
    }));
  }

  /**
   * Fetches the next records of every assigned partition (one Fetch per leader, long-polling up
   * to `maxWaitMs` when there is nothing new).
   *
   * @param options Long-poll time, abort signal.
   * @returns Records in offset order per partition (possibly none).
   * @throws {KafkaError} On a non-retriable fetch error, or `OFFSET_OUT_OF_RANGE` with
   *   `autoOffsetReset: "none"`.
   */
  async poll(options: PollOptions = {}): Promise<ConsumerRecord[]> {
    if (this.#closed) throw new Error("consumer: poll after close");
    if (this.#positions.size === 0) return [];
    const epoch = this.#epoch;
    let result: FetchResult;
    const prefetched = this.#prefetch;
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
    // Positions move only when records are handed out, so assignment() never runs ahead.
    for (const [position, offset] of result.updates) {
      if (this.#positions.get(key(position.topic, position.partition)) === position) {
        position.offset = offset;
      }
    }
    // Fetch the next records while the caller processes these (as librdkafka and the Java
    // client do).
    if (result.records.length > 0) this.#startPrefetch();
    return result.records;
  }

  #startPrefetch(): void {
    if (!this.#options.prefetch || this.#closed || this.#positions.size === 0) return;
    const next = this.#fetchAll(this.#options.maxWaitMs);
    next.catch(() => {});
    this.#prefetch = { epoch: this.#epoch, result: next };
  }

  async #fetchAll(maxWaitMs: number, signal?: AbortSignal): Promise<FetchResult> {
    const byLeader = new Map<number, Position[]>();
    for (const p of this.#positions.values()) {
      const leader = await this.#client.leaderFor(p.topic, p.partition);
      const list = byLeader.get(leader);
      if (list === undefined) byLeader.set(leader, [p]);
      else list.push(p);
    }
    const results = await Promise.all(
      [...byLeader].map(([leader, ps]) =>
        this.#fetch(leader, ps, maxWaitMs, signal).catch((e) => {
          // The leader cannot be reached (its process gone, or a failover): the next poll
          // looks the leaders up again rather than trying the same broker forever.
          for (const p of ps) this.#client.invalidate(p.topic);
          throw e;
        })
      ),
    );
    if (results.length === 1) return results[0];
    return {
      records: results.flatMap((r) => r.records),
      updates: results.flatMap((r) => r.updates),
    };
  }

  async #fetch(
    leader: number,
    positions: Position[],
    maxWaitMs: number,
    signal?: AbortSignal,
  ): Promise<FetchResult> {
    const conn = await this.#client.connectionTo(leader, this.#pool);
    const version = conn.versionFor(FetchRequest);
    const topics = new Map<string, Position[]>();
    for (const p of positions) topics.set(p.topic, [...(topics.get(p.topic) ?? []), p]);
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
          currentLeaderEpoch: -1,
          fetchOffset: p.offset,
          lastFetchedEpoch: -1,
          logStartOffset: -1,
          partitionMaxBytes: this.#options.maxPartitionBytes,
          replicaDirectoryId: "AAAAAAAAAAAAAAAAAAAAAA",
        })),
      }))),
      forgottenTopicsData: [],
      rackId: "",
    });
    // Aborted while the leader or topic ids were looked up: send nothing (a fetch sent and
    // left without a handler rejects unhandled when its connection closes).
    if (signal?.aborted) return { records: [], updates: [] };
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
        return { records: [], updates: [] };
      }
    } else {
      response = await sent;
    }
    if (response.errorCode !== 0) throw new KafkaError(response.errorCode, "fetch");
    const out: ConsumerRecord[] = [];
    const updates: Array<[Position, number]> = [];
    for (const t of response.responses) {
      const topic = version >= 13 ? this.#client.topicName(t.topicId) ?? t.topic : t.topic;
      for (const p of t.partitions) {
        const position = this.#positions.get(key(topic, p.partitionIndex));
        if (!position) continue;
        if (p.errorCode === ErrorCode.OFFSET_OUT_OF_RANGE) {
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
          updates.push([position, r.offset]);
          continue;
        }
        if (p.errorCode !== 0) {
          if (isStaleMetadataError(p.errorCode) || new KafkaError(p.errorCode).retriable) {
            this.#client.invalidate(topic);
            continue;
          }
          throw new KafkaError(p.errorCode, `fetch ${topic}-${p.partitionIndex}`);
        }
        if (!p.records || p.records.length === 0) continue;
        const partition = p.partitionIndex;
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
          }),
          out,
          {
            verifyCrc: this.#options.checkCrcs,
            // read_committed: the broker sends data below the last stable offset and the aborted
            // transactions among it; their records are dropped here (Kafka's CompletedFetch).
            skipBatch: this.#options.isolationLevel === 1 && p.abortedTransactions?.length
              ? skipper(new AbortedTransactionFilter(p.abortedTransactions))
              : undefined,
          },
        );
        if (next !== position.offset) updates.push([position, next]);
      }
    }
    return { records: out, updates };
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
    await this.#client.closePool(this.#pool);
  }
}
