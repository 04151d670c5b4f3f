// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * Incremental fetch sessions (KIP-227, Fetch v7+).
 *
 * A consumer opens a session with `session_id = 0, epoch = 0` and a full partition list; the
 * broker answers with a fresh session id. Later requests send `epoch = 1, 2, ...` and only the
 * partitions whose fetch position changed (plus `forgotten_topics` to drop some); the broker
 * answers with only the partitions that have news (records, a moved high watermark / log start
 * offset, or an error). `epoch = -1` closes the session and makes a sessionless full fetch.
 *
 * @module
 */

import { ErrorCode } from "../protocol/errors.ts";

/** Epoch that opens a new session (`FetchMetadata.INITIAL_EPOCH`). */
export const INITIAL_EPOCH = 0;
/** Epoch that closes a session / asks for a sessionless fetch (`FetchMetadata.FINAL_EPOCH`). */
export const FINAL_EPOCH = -1;

/** One partition a fetch wants, as the request (or the session) states it. */
export interface FetchPartition {
  /** Topic name (empty when only the id is known). */
  topic: string;
  /** Topic id (Kafka base64url form; the zero uuid before Fetch v13). */
  topicId: string;
  /** Partition index. */
  partition: number;
  /** Offset to read from. */
  fetchOffset: number;
  /** The consumer's idea of the log start offset (followers only; kept for completeness). */
  logStartOffset: number;
  /** Most bytes to return for this partition. */
  maxBytes: number;
  /** The client's current leader epoch (-1 or absent: not checked). */
  currentLeaderEpoch?: number;
}

/** What the broker last told the session's client about a partition. */
interface Reported {
  highWatermark: number;
  lastStableOffset: number;
  logStartOffset: number;
}

interface SessionEntry extends FetchPartition {
  reported: Reported;
}

/** The result of reading one partition, as far as the session needs to know it. */
export interface FetchPartitionResult {
  /** Error code for the partition (0 = none). */
  errorCode: number;
  /** High watermark sent back. */
  highWatermark: number;
  /** Last stable offset sent back. */
  lastStableOffset: number;
  /** Log start offset sent back. */
  logStartOffset: number;
  /** Bytes of records returned. */
  recordBytes: number;
  /** KIP-392: the replica the consumer is sent to (none: -1 or absent); always reported. */
  preferredReadReplica?: number;
}

/** A cached fetch session. */
export class FetchSession {
  /** The session id given to the client. */
  readonly id: number;
  /** The epoch the next incremental request must carry. */
  epoch = 1;
  /** Whether the session addresses topics by id (Fetch v13+). */
  readonly usesTopicIds: boolean;
  /** When the session was last used (ms since epoch), for eviction. */
  lastUsedMs: number;
  readonly #parts = new Map<string, SessionEntry>();

  /**
   * @param id The session id.
   * @param usesTopicIds Whether topics are keyed by id.
   * @param nowMs Creation time.
   */
  constructor(id: number, usesTopicIds: boolean, nowMs: number) {
    this.id = id;
    this.usesTopicIds = usesTopicIds;
    this.lastUsedMs = nowMs;
  }

  /** Number of partitions in the session. */
  get size(): number {
    return this.#parts.size;
  }

  #key(p: { topic: string; topicId: string; partition: number }): string {
    return `${this.usesTopicIds ? p.topicId : p.topic}\u0000${p.partition}`;
  }

  /**
   * Add a partition or update its fetch position.
   *
   * @param p The partition as requested.
   */
  upsert(p: FetchPartition): void {
    const key = this.#key(p);
    const old = this.#parts.get(key);
    if (old === undefined) {
      const reported = { highWatermark: -1, lastStableOffset: -1, logStartOffset: -1 };
      this.#parts.set(key, { ...p, reported });
    } else {
      old.fetchOffset = p.fetchOffset;
      old.maxBytes = p.maxBytes;
      old.currentLeaderEpoch = p.currentLeaderEpoch;
      if (p.topic !== "") old.topic = p.topic;
    }
  }

  /**
   * Drop a partition (a `forgotten_topics_data` entry).
   *
   * @param p The partition.
   * @returns Whether it was in the session.
   */
  forget(p: { topic: string; topicId: string; partition: number }): boolean {
    return this.#parts.delete(this.#key(p));
  }

  /** @returns The session's partitions in insertion order, as fetch requests. */
  partitions(): FetchPartition[] {
    return [...this.#parts.values()].map((e) => ({
      topic: e.topic,
      topicId: e.topicId,
      partition: e.partition,
      fetchOffset: e.fetchOffset,
      logStartOffset: e.logStartOffset,
      maxBytes: e.maxBytes,
      ...(e.currentLeaderEpoch === undefined ? {} : { currentLeaderEpoch: e.currentLeaderEpoch }),
    }));
  }

  /**
   * Record what is being sent for a partition and decide whether an incremental response must
   * carry it: yes when it has records or an error, or its high watermark, last stable offset or
   * log start offset changed since the last response.
   *
   * @param p The partition.
   * @param r What the broker read for it.
   * @returns Whether to include it in the response.
   */
  report(p: FetchPartition, r: FetchPartitionResult): boolean {
    const e = this.#parts.get(this.#key(p));
    if (e === undefined) return true;
    const was = e.reported;
    const changed = r.recordBytes > 0 || r.errorCode !== 0 || (r.preferredReadReplica ?? -1) >= 0 ||
      was.highWatermark !== r.highWatermark || was.lastStableOffset !== r.lastStableOffset ||
      was.logStartOffset !== r.logStartOffset;
    was.highWatermark = r.highWatermark;
    was.lastStableOffset = r.lastStableOffset;
    was.logStartOffset = r.logStartOffset;
    return changed;
  }
}

/** The parts of a Fetch request that decide its session handling. */
export interface FetchSessionRequest {
  /** `session_id` (0 = none). */
  sessionId: number;
  /** `session_epoch`. */
  sessionEpoch: number;
  /** Partitions listed in the request. */
  partitions: FetchPartition[];
  /** Partitions listed in `forgotten_topics_data`. */
  forgotten: { topic: string; topicId: string; partition: number }[];
  /** Whether the request addresses topics by id (v13+). */
  usesTopicIds: boolean;
}

/** How to serve one Fetch request, as decided by {@linkcode FetchSessionCache.begin}. */
export type FetchContext =
  | {
    /** The request cannot be served; answer with this top-level error. */
    kind: "error";
    errorCode: number;
    message: string;
  }
  | {
    /** A full fetch: answer every partition; `session` is null for a sessionless fetch. */
    kind: "full";
    session: FetchSession | null;
    partitions: FetchPartition[];
  }
  | {
    /** An incremental fetch: read every session partition, answer only those with news. */
    kind: "incremental";
    session: FetchSession;
    partitions: FetchPartition[];
  };

/**
 * A bounded cache of fetch sessions (`max.incremental.fetch.session.cache.slots`). When full, a
 * new session evicts the least recently used one; with 0 slots every fetch is sessionless.
 *
 * @example
 * ```ts
 * import { FetchSessionCache } from "./fetch_session.ts";
 * import { strictEqual } from "node:assert/strict";
 *
 * const cache = new FetchSessionCache(10);
 * const ctx = cache.begin(
 *   { sessionId: 0, sessionEpoch: 0, partitions: [], forgotten: [], usesTopicIds: false },
 *   0,
 * );
 * strictEqual(ctx.kind, "full");
 * strictEqual(cache.size, 1);
 * ```
 */
export class FetchSessionCache {
  /** Most sessions kept. */
  readonly maxSlots: number;
  // A Map iterates in insertion order; re-inserting on use keeps it in LRU order.
  readonly #sessions = new Map<number, FetchSession>();

  /** @param maxSlots Most sessions kept; 0 disables sessions. */
  constructor(maxSlots: number) {
    this.maxSlots = maxSlots;
  }

  /** Number of cached sessions. */
  get size(): number {
    return this.#sessions.size;
  }

  /**
   * Look up a session without touching it.
   *
   * @param id Session id.
   * @returns The session, if cached.
   */
  get(id: number): FetchSession | undefined {
    return this.#sessions.get(id);
  }

  /**
   * Decide how to serve a Fetch request, creating, updating or closing its session.
   *
   * @param req The session-related parts of the request.
   * @param nowMs The current time.
   * @returns What to read and how to answer.
   */
  begin(req: FetchSessionRequest, nowMs: number): FetchContext {
    const { sessionId, sessionEpoch } = req;
    if (sessionEpoch === INITIAL_EPOCH || sessionEpoch === FINAL_EPOCH) {
      if (sessionId !== 0) this.#sessions.delete(sessionId);
      if (sessionEpoch === FINAL_EPOCH || this.maxSlots === 0) {
        return { kind: "full", session: null, partitions: req.partitions };
      }
      const session = new FetchSession(this.#newId(), req.usesTopicIds, nowMs);
      for (const p of req.partitions) session.upsert(p);
      if (this.#sessions.size >= this.maxSlots) {
        const lru = this.#sessions.keys().next().value as number;
        this.#sessions.delete(lru);
      }
      this.#sessions.set(session.id, session);
      return { kind: "full", session, partitions: req.partitions };
    }
    const session = this.#sessions.get(sessionId);
    if (session === undefined) {
      return {
        kind: "error",
        errorCode: ErrorCode.FETCH_SESSION_ID_NOT_FOUND,
        message: `fetch session ${sessionId} not found`,
      };
    }
    if (session.epoch !== sessionEpoch) {
      return {
        kind: "error",
        errorCode: ErrorCode.INVALID_FETCH_SESSION_EPOCH,
        message: `fetch session ${sessionId} expected epoch ${session.epoch}, got ${sessionEpoch}`,
      };
    }
    if (session.usesTopicIds !== req.usesTopicIds) {
      return {
        kind: "error",
        errorCode: ErrorCode.FETCH_SESSION_TOPIC_ID_ERROR,
        message: `fetch session ${sessionId} was opened ${
          session.usesTopicIds ? "with" : "without"
        } topic ids`,
      };
    }
    for (const f of req.forgotten) session.forget(f);
    for (const p of req.partitions) session.upsert(p);
    session.epoch = session.epoch === 0x7fffffff ? 1 : session.epoch + 1;
    session.lastUsedMs = nowMs;
    this.#sessions.delete(session.id);
    this.#sessions.set(session.id, session);
    return { kind: "incremental", session, partitions: session.partitions() };
  }

  /** Drop every session (broker shutdown). */
  clear(): void {
    this.#sessions.clear();
  }

  #newId(): number {
    const buf = new Uint32Array(1);
    for (;;) {
      crypto.getRandomValues(buf);
      const id = buf[0] & 0x7fffffff;
      if (id !== 0 && !this.#sessions.has(id)) return id;
    }
  }
}
