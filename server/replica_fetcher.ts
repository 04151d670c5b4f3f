// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * A follower's fetcher (cluster mode, docs/CLUSTER.md; Kafka's `ReplicaFetcherThread`): one per
 * leader broker, copying the partitions this broker follows on that leader over one plain TCP
 * connection with the protocol codecs (`protocol/messages`).
 *
 * Each partition starts by **truncating**: an OffsetForLeaderEpoch (v4, `replica_id` = this
 * broker) asks the leader where the follower's latest leader epoch ends, and the log is cut
 * there (Kafka's `getOffsetTruncationState`, several rounds when the follower has an epoch the
 * leader never had), never below its high watermark; a log without epochs is cut to its high
 * watermark. Then it **fetches**: Fetch v12 with `replica_id`, the current leader epoch, the log
 * end offset, `replica.fetch.max.bytes` per partition and `replica.fetch.wait.max.ms`; whole
 * batches received go to `PartitionLog.appendAsFollower`, and the high watermark becomes
 * min(leader's high watermark, own log end offset). The leader's log start offset, when ahead,
 * moves the follower's (within its high watermark). OFFSET_OUT_OF_RANGE with the leader's log
 * start ahead of the fetch offset empties the log and restarts it there
 * (`truncateFullyAndStartAt`); otherwise the partition truncates again. Errors back the
 * partition off for `replica.fetch.backoff.ms`, except those of a leader change that one side
 * has not applied yet (NOT_LEADER_OR_FOLLOWER, FENCED_LEADER_EPOCH, UNKNOWN_LEADER_EPOCH): 50 ms
 * at first, doubling up to it, so a failover waits for no full back-off; a lost connection backs
 * off every partition and reconnects (the leader's address is looked up again each time).
 *
 * Fetches are sessionless (session epoch -1): they take no slot of the leader's fetch session
 * cache. Versions are fixed (Fetch v15, or v12 for partitions without a topic id;
 * OffsetForLeaderEpoch v4): every broker of a cluster runs Sluice, which serves them (no
 * ApiVersions round trip, as Kafka's inter-broker protocol version pins them). Fetch v15 carries
 * the follower's broker epoch (`ReplicaState.ReplicaEpoch`, KIP-903), which the leader checks
 * before adding it to the ISR.
 *
 * @module
 */

import type { PartitionLog } from "../engine/mod.ts";
import { ErrorCode, errorName } from "../protocol/errors.ts";
import {
  BrokerAuthenticationError,
  BrokerConnection,
  type BrokerEndpoint,
} from "./broker_connection.ts";
import { FetchRequest, FetchResponse } from "../protocol/messages/fetch.ts";
import { ZERO_UUID } from "../protocol/primitives.ts";
import {
  OffsetForLeaderEpochRequest,
  OffsetForLeaderEpochResponse,
} from "../protocol/messages/offset_for_leader_epoch.ts";
import { batchSizeAt, LOG_OVERHEAD } from "../records/mod.ts";
import type { Logger } from "./logger.ts";

/** Fetch version the fetcher sends (topic ids, the follower's broker epoch; Kafka 3.5's). */
export const REPLICA_FETCH_VERSION = 15;
/** Fetch version for partitions whose topic id is not known (topic names; Kafka 2.7's). */
export const REPLICA_FETCH_VERSION_BY_NAME = 12;
/** OffsetForLeaderEpoch version the fetcher sends (replica_id, flexible). */
export const REPLICA_OFFSET_FOR_LEADER_EPOCH_VERSION = 4;

export type { BrokerEndpoint };

/** Settings of a {@linkcode ReplicaFetcher}. */
export interface ReplicaFetcherOptions {
  /** This broker's node id (sent as `replica_id`). */
  nodeId: number;
  /** The leader broker fetched from. */
  leaderId: number;
  /** The leader's current address (looked up at each connection), or `undefined` if unknown. */
  endpoint: () => BrokerEndpoint | undefined;
  /** Where to report. */
  logger: Logger;
  /** `replica.fetch.wait.max.ms` (default 500). */
  fetchWaitMaxMs?: number;
  /** `replica.fetch.max.bytes`: bytes asked per partition (default 1048576). */
  fetchMaxBytes?: number;
  /** `replica.fetch.response.max.bytes`: bytes asked per fetch (default 10485760). */
  fetchResponseMaxBytes?: number;
  /** `replica.fetch.backoff.ms`: pause after an error (default 1000). */
  fetchBackoffMs?: number;
  /** `replica.socket.timeout.ms`: longest wait for an answer beyond the fetch wait (default 30000). */
  socketTimeoutMs?: number;
  /** Called after a partition's high watermark moved (to wake consumers or waiters). */
  onHighWatermark?: (topic: string, partition: number) => void;
  /** This broker's broker epoch, sent with Fetch v15 (-1: none; default -1). */
  brokerEpoch?: () => number;
}

/** What the fetcher knows of one partition it copies. */
interface FetchedPartition {
  topic: string;
  /** Topic id (the zero uuid: not known, fetched by name). */
  topicId: string;
  partition: number;
  log: PartitionLog;
  /** The leader epoch this broker follows in (sent as current_leader_epoch). */
  leaderEpoch: number;
  /** Truncating (OffsetForLeaderEpoch next) or fetching. */
  state: "truncating" | "fetching";
  /** No request for it before this time (ms since the epoch). */
  backoffUntil: number;
  /** Work on its log in progress (an append or truncation), awaited by a removal. */
  busy: Promise<void>;
  /** Last error logged, to log a repeated one once. */
  lastError: string;
  /** Errors in a row (leader changes back off briefly at first). */
  errors: number;
}

const key = (topic: string, partition: number) => `${topic}\u0000${partition}`;

/**
 * Fetches from one leader broker the partitions this broker follows there.
 *
 * @example
 * ```ts ignore
 * const fetcher = new ReplicaFetcher({
 *   nodeId: 2, leaderId: 1, endpoint: () => ({ host: "127.0.0.1", port: 9092 }), logger,
 * });
 * fetcher.addPartition(log, 3); // follows t-0 in leader epoch 3
 * await fetcher.removePartition("t", 0);
 * await fetcher.close();
 * ```
 */
export class ReplicaFetcher {
  /** The leader broker. */
  readonly leaderId: number;
  readonly #o:
    & Required<Omit<ReplicaFetcherOptions, "onHighWatermark" | "brokerEpoch">>
    & ReplicaFetcherOptions;
  readonly #partitions = new Map<string, FetchedPartition>();
  #conn: BrokerConnection | undefined;
  #closed = false;
  #wake: (() => void) | undefined;
  readonly #loop: Promise<void>;
  #connectFailures = 0;

  /**
   * Starts the fetcher (idle until a partition is added).
   *
   * @param options Node ids, the leader's address, settings.
   */
  constructor(options: ReplicaFetcherOptions) {
    this.leaderId = options.leaderId;
    this.#o = {
      ...options,
      fetchWaitMaxMs: options.fetchWaitMaxMs ?? 500,
      fetchMaxBytes: options.fetchMaxBytes ?? 1048576,
      fetchResponseMaxBytes: options.fetchResponseMaxBytes ?? 10485760,
      fetchBackoffMs: options.fetchBackoffMs ?? 1000,
      socketTimeoutMs: options.socketTimeoutMs ?? 30000,
    };
    this.#loop = this.#run();
  }

  /** Number of partitions fetched. */
  get size(): number {
    return this.#partitions.size;
  }

  /**
   * Starts copying a partition (after truncating it against the leader).
   *
   * @param log The partition's log (replicated).
   * @param leaderEpoch The leader epoch it is followed in.
   * @param topicId The topic's id (fetched by id, Fetch v15); omitted or the zero uuid: fetched
   *   by name (Fetch v12, no broker epoch).
   */
  addPartition(log: PartitionLog, leaderEpoch: number, topicId: string = ZERO_UUID): void {
    this.#partitions.set(key(log.topic, log.partition), {
      topic: log.topic,
      topicId,
      partition: log.partition,
      log,
      leaderEpoch,
      state: "truncating",
      backoffUntil: 0,
      busy: Promise.resolve(),
      lastError: "",
      errors: 0,
    });
    this.#wakeUp();
  }

  /**
   * Stops copying a partition; resolves once no append or truncation of it is in progress.
   *
   * @param topic Topic.
   * @param partition Partition.
   */
  async removePartition(topic: string, partition: number): Promise<void> {
    const p = this.#partitions.get(key(topic, partition));
    if (p === undefined) return;
    this.#partitions.delete(key(topic, partition));
    await p.busy;
  }

  /**
   * The state of a partition (for tests and metrics).
   *
   * @param topic Topic.
   * @param partition Partition.
   * @returns `truncating`, `fetching`, or `undefined` if not fetched here.
   */
  partitionState(topic: string, partition: number): "truncating" | "fetching" | undefined {
    return this.#partitions.get(key(topic, partition))?.state;
  }

  /** Stops fetching and closes the connection; resolves when the loop has ended. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#conn?.close();
    this.#wakeUp();
    await this.#loop;
    await Promise.all([...this.#partitions.values()].map((p) => p.busy));
  }

  #wakeUp(): void {
    const w = this.#wake;
    this.#wake = undefined;
    w?.();
  }

  /** Waits until woken (a partition added, close) or `ms` passed. */
  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, Math.max(0, ms));
      function done() {
        clearTimeout(t);
        resolve();
      }
      this.#wake = done;
    });
  }

  async #run(): Promise<void> {
    while (!this.#closed) {
      try {
        await this.#round();
      } catch (e) {
        // a lost connection or a broken answer: drop the connection, back off, reconnect
        this.#conn?.close();
        this.#conn = undefined;
        if (this.#closed) return;
        const n = ++this.#connectFailures;
        const msg = e instanceof Error ? e.message : String(e);
        if (e instanceof BrokerAuthenticationError) {
          // a configuration error (this broker's inter-broker credentials): it stays out of the
          // ISR of what it follows until an operator fixes it; said once, then every 30 tries
          if (n === 1 || n % 30 === 0) {
            this.#o.logger.error(
              `Replica fetcher for leader ${this.leaderId} cannot authenticate: ${msg}; check ` +
                `sasl.mechanism.inter.broker.protocol and the inter-broker listener's ` +
                `sasl.jaas.config username/password (retrying every ${this.#o.fetchBackoffMs} ms, ` +
                `${n} failures in a row)`,
            );
          }
        } else if (n === 1 || n % 30 === 0) {
          this.#o.logger.warn(
            `Replica fetcher for leader ${this.leaderId}: ${msg}; retrying every ` +
              `${this.#o.fetchBackoffMs} ms (${n} failures in a row)`,
          );
        }
        await this.#sleep(this.#o.fetchBackoffMs);
      }
    }
    this.#conn?.close();
  }

  /** One round: truncations due, then one fetch (or a pause when nothing can be asked). */
  async #round(): Promise<void> {
    const now = Date.now();
    const ready = [...this.#partitions.values()].filter((p) => p.backoffUntil <= now);
    if (ready.length === 0) {
      let wait = 60_000;
      for (const p of this.#partitions.values()) wait = Math.min(wait, p.backoffUntil - now);
      await this.#sleep(wait);
      return;
    }
    const conn = await this.#connection();
    const truncating = ready.filter((p) => p.state === "truncating");
    if (truncating.length > 0) await this.#truncate(conn, truncating);
    const fetching = ready.filter((p) => p.state === "fetching" && this.#current(p));
    if (fetching.length > 0) await this.#fetch(conn, fetching);
    if (this.#connectFailures > 0) {
      this.#o.logger.info(`Replica fetcher for leader ${this.leaderId} is connected again`);
      this.#connectFailures = 0;
    }
  }

  async #connection(): Promise<BrokerConnection> {
    if (this.#conn !== undefined && !this.#conn.closed) return this.#conn;
    const ep = this.#o.endpoint();
    if (ep === undefined) throw new Error(`the address of broker ${this.leaderId} is unknown`);
    this.#conn = await BrokerConnection.connect(
      ep,
      `sluice-replica-fetcher-${this.#o.nodeId}`,
      this.#o.socketTimeoutMs,
    );
    return this.#conn;
  }

  /** Whether `p` is still the partition entry (not removed or replaced meanwhile). */
  #current(p: FetchedPartition): boolean {
    return this.#partitions.get(key(p.topic, p.partition)) === p;
  }

  /**
   * No request for `p` for `replica.fetch.backoff.ms`; after an error of a leader change in
   * progress (`code`: the leader has not applied the new state yet, or we have not), 50 ms at
   * first, doubling with each error in a row up to it, so a failover costs no full back-off.
   */
  #backOff(p: FetchedPartition, why: string, code?: number): void {
    // (UNKNOWN_TOPIC_ID: the leader's view has not applied the topic yet)
    const transient = code === ErrorCode.NOT_LEADER_OR_FOLLOWER ||
      code === ErrorCode.UNKNOWN_LEADER_EPOCH || code === ErrorCode.FENCED_LEADER_EPOCH ||
      code === ErrorCode.UNKNOWN_TOPIC_ID;
    const delay = transient
      ? Math.min(this.#o.fetchBackoffMs, 50 * 2 ** Math.min(p.errors, 10))
      : this.#o.fetchBackoffMs;
    p.errors++;
    p.backoffUntil = Date.now() + delay;
    if (why !== p.lastError) {
      p.lastError = why;
      this.#o.logger.warn(
        `Replica fetcher for leader ${this.leaderId}: ${p.topic}-${p.partition}: ${why}; ` +
          `retrying in ${delay} ms${transient ? ` (then up to ${this.#o.fetchBackoffMs} ms)` : ""}`,
      );
    }
  }

  /** Runs work on a partition's log, so that a removal can wait for it. */
  #work(p: FetchedPartition, fn: () => Promise<void>): Promise<void> {
    const run = p.busy.then(fn);
    p.busy = run.catch(() => {});
    return run;
  }

  /** OffsetForLeaderEpoch for the partitions that must truncate, then the truncation. */
  async #truncate(conn: BrokerConnection, parts: FetchedPartition[]): Promise<void> {
    const ask: FetchedPartition[] = [];
    for (const p of parts) {
      const latest = p.log.leaderEpochEntries().at(-1)?.epoch ?? -1;
      if (latest >= 0) {
        ask.push(p);
        continue;
      }
      // no epoch known (a log written before epochs): cut to the high watermark (Kafka)
      await this.#work(p, () => this.#truncateTo(p, p.log.highWatermark, "no leader epoch"));
      if (this.#current(p)) p.state = "fetching";
    }
    if (ask.length === 0) return;
    const topics = new Map<string, FetchedPartition[]>();
    for (const p of ask) topics.set(p.topic, [...(topics.get(p.topic) ?? []), p]);
    const sent = new Map(ask.map((p) => [p, p.leaderEpoch]));
    const res = await conn.request(
      OffsetForLeaderEpochRequest,
      OffsetForLeaderEpochResponse,
      REPLICA_OFFSET_FOR_LEADER_EPOCH_VERSION,
      OffsetForLeaderEpochRequest.create({
        replicaId: this.#o.nodeId,
        topics: [...topics].map(([topic, ps]) => ({
          topic,
          partitions: ps.map((p) => ({
            partition: p.partition,
            currentLeaderEpoch: p.leaderEpoch,
            leaderEpoch: p.log.leaderEpochEntries().at(-1)!.epoch,
          })),
        })),
      }),
      this.#o.socketTimeoutMs,
    );
    for (const t of res.topics) {
      for (const r of t.partitions) {
        const p = this.#partitions.get(key(t.topic, r.partition));
        if (p === undefined || !sent.has(p) || sent.get(p) !== p.leaderEpoch) continue;
        if (r.errorCode !== ErrorCode.NONE) {
          this.#backOff(p, `OffsetForLeaderEpoch answered ${errorName(r.errorCode)}`, r.errorCode);
          continue;
        }
        await this.#work(p, async () => {
          if (!this.#current(p)) return;
          const done = await this.#applyEpochEnd(p, r.leaderEpoch, r.endOffset);
          if (!this.#current(p)) return;
          p.state = done ? "fetching" : "truncating";
          p.errors = 0;
        });
      }
    }
  }

  /** Truncates after the leader's answer; returns whether truncation is complete. */
  async #applyEpochEnd(
    p: FetchedPartition,
    leaderEpoch: number,
    endOffset: number,
  ): Promise<boolean> {
    const t = truncationPoint(p.log, leaderEpoch, endOffset);
    await this.#truncateTo(p, t.offset, t.why);
    return t.done || p.log.logEndOffset <= p.log.highWatermark;
  }

  async #truncateTo(p: FetchedPartition, target: number, why: string): Promise<void> {
    const log = p.log;
    const hw = log.highWatermark;
    if (target < hw) {
      this.#o.logger.warn(
        `${p.topic}-${p.partition}: not truncating below the high watermark ${hw} (to ${target}: ` +
          `${why})`,
      );
      target = hw;
    }
    const leo = log.logEndOffset;
    if (target >= leo) return;
    await log.truncateTo(target);
    this.#o.logger.info(
      `${p.topic}-${p.partition}: truncated the log from ${leo} to ${target} (${why}), following ` +
        `leader ${this.leaderId} in epoch ${p.leaderEpoch}`,
    );
  }

  /** One Fetch for `parts`, and what it brings. */
  async #fetch(conn: BrokerConnection, parts: FetchedPartition[]): Promise<void> {
    // by topic id with the broker epoch (v15) when every id is known, else by name (v12)
    const byId = parts.every((p) => p.topicId !== ZERO_UUID);
    const topics = new Map<string, FetchedPartition[]>();
    for (const p of parts) {
      const k = byId ? p.topicId : p.topic;
      topics.set(k, [...(topics.get(k) ?? []), p]);
    }
    const sent = new Map(
      parts.map((p) => [p, { epoch: p.leaderEpoch, offset: p.log.logEndOffset }]),
    );
    const version = byId ? REPLICA_FETCH_VERSION : REPLICA_FETCH_VERSION_BY_NAME;
    const res = await conn.request(
      FetchRequest,
      FetchResponse,
      version,
      FetchRequest.create({
        replicaId: byId ? -1 : this.#o.nodeId,
        replicaState: {
          replicaId: byId ? this.#o.nodeId : -1,
          replicaEpoch: byId ? this.#o.brokerEpoch?.() ?? -1 : -1,
        },
        maxWaitMs: this.#o.fetchWaitMaxMs,
        minBytes: 1,
        maxBytes: this.#o.fetchResponseMaxBytes,
        isolationLevel: 0,
        sessionId: 0,
        sessionEpoch: -1,
        topics: [...topics].map(([k, ps]) => ({
          topic: byId ? "" : k,
          topicId: byId ? k : ZERO_UUID,
          partitions: ps.map((p) => ({
            partition: p.partition,
            currentLeaderEpoch: p.leaderEpoch,
            fetchOffset: sent.get(p)!.offset,
            lastFetchedEpoch: -1,
            logStartOffset: p.log.logStartOffset,
            partitionMaxBytes: this.#o.fetchMaxBytes,
            replicaDirectoryId: "AAAAAAAAAAAAAAAAAAAAAA",
          })),
        })),
        forgottenTopicsData: [],
      }),
      this.#o.socketTimeoutMs + this.#o.fetchWaitMaxMs,
    );
    if (res.errorCode !== ErrorCode.NONE) {
      for (const p of parts) this.#backOff(p, `Fetch answered ${errorName(res.errorCode)}`);
      return;
    }
    for (const t of res.responses) {
      const name = byId ? topics.get(t.topicId)?.[0].topic : t.topic;
      if (name === undefined) continue;
      for (const r of t.partitions) {
        const p = this.#partitions.get(key(name, r.partitionIndex));
        const s = p === undefined ? undefined : sent.get(p);
        if (p === undefined || s === undefined || s.epoch !== p.leaderEpoch) continue;
        await this.#work(p, async () => {
          if (!this.#current(p) || p.state !== "fetching" || p.log.logEndOffset !== s.offset) {
            return; // removed, re-added or moved meanwhile: the answer is stale
          }
          await this.#received(p, s.offset, r);
        });
      }
    }
  }

  async #received(
    p: FetchedPartition,
    fetchOffset: number,
    r: FetchResponse["responses"][number]["partitions"][number],
  ): Promise<void> {
    const log = p.log;
    if (r.errorCode === ErrorCode.OFFSET_OUT_OF_RANGE) {
      if (r.logStartOffset > fetchOffset) {
        // the leader no longer has what we need (retention): start over at its log start
        this.#o.logger.warn(
          `${p.topic}-${p.partition}: the leader's log starts at ${r.logStartOffset}, after our ` +
            `log end ${fetchOffset}: emptying the log to start there`,
        );
        await log.truncateFullyAndStartAt(r.logStartOffset);
      } else {
        p.state = "truncating"; // our log end is past the leader's: find where they diverge
      }
      return;
    }
    if (r.errorCode !== ErrorCode.NONE) {
      this.#backOff(p, `Fetch answered ${errorName(r.errorCode)}`, r.errorCode);
      return;
    }
    const records = r.records === null ? new Uint8Array(0) : wholeBatches(r.records);
    try {
      if (records.length > 0) await log.appendAsFollower(records);
      const hw = Math.min(r.highWatermark, log.logEndOffset);
      if (hw >= 0 && log.setHighWatermark(hw)) this.#o.onHighWatermark?.(p.topic, p.partition);
      if (r.logStartOffset > log.logStartOffset && r.logStartOffset <= log.highWatermark) {
        await log.deleteRecordsBefore(r.logStartOffset); // the leader's start moved (retention)
      }
      p.lastError = "";
      p.errors = 0;
    } catch (e) {
      const code = (e as { code?: number }).code;
      if (code === ErrorCode.OFFSET_OUT_OF_RANGE) {
        p.state = "truncating";
        return;
      }
      this.#backOff(p, `append failed: ${e instanceof Error ? e.message : e}`);
    }
  }
}

/** What a follower knows of its log, for {@linkcode truncationPoint}. */
export interface FollowerLogView {
  /** Its log end offset. */
  readonly logEndOffset: number;
  /** Its high watermark. */
  readonly highWatermark: number;
  /** Its largest epoch ≤ `epoch` and that epoch's end offset (-1, -1 when none). */
  endOffsetForEpoch(epoch: number): { epoch: number; endOffset: number };
}

/**
 * Where a follower cuts its log after the leader answered OffsetForLeaderEpoch with
 * `leaderEpoch` ending at `endOffset` (Kafka's `getOffsetTruncationState`):
 *
 * - no end offset (-1: the leader has no epoch up to ours): the follower's high watermark;
 * - no epoch in the answer (an old leader): the leader's end offset;
 * - the follower has no epoch up to the leader's: the leader's end offset;
 * - the follower's largest epoch up to the leader's is another one (it never had the leader's
 *   epoch): the end of that epoch, and truncation goes on with another request (`done` false);
 * - else the smaller of both ends of that epoch;
 *
 * never past the follower's log end. The caller keeps it at or above the high watermark.
 *
 * @example
 * ```ts
 * import { truncationPoint } from "./replica_fetcher.ts";
 * const follower = {
 *   logEndOffset: 11,
 *   highWatermark: 5,
 *   endOffsetForEpoch: (e: number) => e === 0 ? { epoch: 0, endOffset: 11 } : { epoch: -1, endOffset: -1 },
 * };
 * console.assert(truncationPoint(follower, 0, 5).offset === 5);
 * ```
 *
 * @param log The follower's log.
 * @param leaderEpoch The epoch the leader answered with.
 * @param endOffset Its end offset on the leader.
 * @returns The offset to truncate to, whether truncation is complete, and why.
 */
export function truncationPoint(
  log: FollowerLogView,
  leaderEpoch: number,
  endOffset: number,
): { offset: number; done: boolean; why: string } {
  const leo = log.logEndOffset;
  if (endOffset < 0) {
    return {
      offset: Math.min(log.highWatermark, leo),
      done: true,
      why: "the leader has no end offset for our latest epoch",
    };
  }
  if (leaderEpoch < 0) {
    return {
      offset: Math.min(endOffset, leo),
      done: true,
      why: `the leader's log ends at ${endOffset}`,
    };
  }
  const mine = log.endOffsetForEpoch(leaderEpoch);
  if (mine.epoch < 0) {
    return {
      offset: Math.min(endOffset, leo),
      done: true,
      why: `leader epoch ${leaderEpoch} ends at ${endOffset} on the leader`,
    };
  }
  if (mine.epoch !== leaderEpoch) {
    return {
      offset: Math.min(mine.endOffset, leo),
      done: false,
      why: `the leader's latest epoch up to ours is ${leaderEpoch}, which we never had; our ` +
        `epoch ${mine.epoch} ends at ${mine.endOffset}`,
    };
  }
  return {
    offset: Math.min(mine.endOffset, endOffset, leo),
    done: true,
    why: `leader epoch ${leaderEpoch} ends at ${endOffset} on the leader`,
  };
}

/** The whole batches at the start of `records` (a leader may send a partial last one). */
function wholeBatches(records: Uint8Array): Uint8Array {
  let p = 0;
  while (p + LOG_OVERHEAD <= records.length) {
    const size = batchSizeAt(records, p);
    if (size <= LOG_OVERHEAD || p + size > records.length) break;
    p += size;
  }
  return p === records.length ? records : records.subarray(0, p);
}
