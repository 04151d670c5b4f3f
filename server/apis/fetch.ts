// Copyright 2026 the Sluice authors. Apache-2.0 license.
// Fetch (key 1): v0-v16.
// - Cluster mode (docs/CLUSTER.md): only the partition's leader answers; other brokers (and a
//   fenced leader) answer NOT_LEADER_OR_FOLLOWER, an unknown partition UNKNOWN_TOPIC_OR_PARTITION.
// - v0-v3 (`handleLegacy`) return message sets down-converted from the log, as Kafka 3.x does:
//   magic 0 for v0-v1, magic 1 for v2-v3 (`records/legacy.ts` `downConvertForFetch`). Record
//   headers are dropped; control batches (transaction markers) are skipped; old fetchers read
//   uncommitted (no isolation level before v4), so aborted records are delivered too. A
//   partition's converted set is cut after the last whole message within the larger of the
//   bytes read and its first converted batch (KIP-283). v0-v2 limits are hard (no KIP-74): a
//   partition whose first batch is larger than partition_max_bytes gets Kafka's 12-byte overflow
//   message, which the consumer takes as a partial message and fetches again with a larger size;
//   v3 gives the first partition one whole batch as v4+. A zstd batch cannot be carried
//   (UNSUPPORTED_COMPRESSION_TYPE, also for any partition of a topic with compression.type=zstd);
//   a topic with message.downconversion.enable=false answers UNSUPPORTED_VERSION; a stored batch
//   that decompresses to more than socket.request.max.bytes is not converted (CORRUPT_MESSAGE);
//   KAFKA_STORAGE_ERROR is sent as NOT_LEADER_OR_FOLLOWER, which old clients retry. Unlike Kafka,
//   a partition with nothing to send gets no records (Kafka sends the 12-byte overflow message
//   there too), and min_bytes counts converted bytes, so a fetch at a trailing transaction marker
//   waits for data instead of returning at once.
// - Long poll: answer at once if max_wait_ms <= 0, the bytes read reach min_bytes, or a partition
//   has an error; otherwise park until an append to one of the fetched partitions (woken through
//   `LogManager.onAppend`), max_wait_ms passes (then read once more), the client disconnects or
//   the broker shuts down.
// - max_bytes (v3+) and partition_max_bytes: partitions are read in order; only the first
//   partition that returns data may exceed the limits (one whole batch at least, as Kafka/KIP-74).
//   max_bytes is capped at FETCH_MAX_BYTES (Kafka's `fetch.max.bytes` default, 55 MiB) for every
//   version, as Kafka does, so a client asking for 2^31-1 bytes of one partition listed
//   thousands of times gets 55 MiB, not a frame over 2 GiB.
// - isolation_level=1 (read_committed, v4+): data only below the last stable offset and the aborted
//   transactions overlapping the batches returned, both from the partition log
//   (`PartitionLog.readCommitted`: producer state and `.txnindex`); read_uncommitted: everything
//   below the high watermark, aborted_transactions null. last_stable_offset is the partition's
//   LSO for both, as Kafka reports it.
// - OFFSET_OUT_OF_RANGE per partition with the current high watermark and log start offset.
// - A topic with compression.type=zstd cannot be read before v10 (KIP-110):
//   UNSUPPORTED_COMPRESSION_TYPE. KAFKA_STORAGE_ERROR is new in v6: v4-v5 get
//   NOT_LEADER_OR_FOLLOWER, which their clients retry, as Kafka answers them.
// - v7+ fetch sessions (KIP-227, see `../fetch_session.ts`): session errors are top-level
//   (FETCH_SESSION_ID_NOT_FOUND, INVALID_FETCH_SESSION_EPOCH, FETCH_SESSION_TOPIC_ID_ERROR).
// - v12+ flexible; v13+ topics by id (unknown id: UNKNOWN_TOPIC_ID); v16 node_endpoints are
//   leader-change details we do not send.
// - Replicated partitions (cluster mode, `../replica_manager.ts`): only the leader answers
//   (NOT_LEADER_OR_FOLLOWER elsewhere; consumers' v11+ fetches: below), and a current_leader_epoch other than -1 must be the
//   leader's (older: FENCED_LEADER_EPOCH, newer: UNKNOWN_LEADER_EPOCH), as Kafka checks
//   consumers and followers alike. A follower's fetch (replica_id >= 0, in replica_state from
//   v15) reads up to the log end offset instead of the high watermark, records the follower's
//   progress (its fetch offset is its log end: the ISR and the high watermark follow from it)
//   and is answered with the leader's high watermark; its long poll waits for appends. The
//   followers' fetches are sessionless (session epoch -1), taking no fetch session slot.
// - KIP-392 (docs/CLUSTER.md, "Fetching from the closest replica"): a consumer's v11+ fetch is
//   also served by a follower in the ISR, up to its own high watermark, in the leader epoch it
//   follows (the same FENCED/UNKNOWN_LEADER_EPOCH checks; OFFSET_OUT_OF_RANGE past its log end).
//   With `replica.selector.class` and a rack_id, the leader answers a partition that an in-sync
//   follower in the consumer's rack should serve with preferred_read_replica, its offsets and no
//   records, at once.
// - ACLs (`../security/access.ts`, as Kafka's `handleFetchRequest`): a consumer needs READ on
//   each topic, a follower (replica_id >= 0) CLUSTER_ACTION on the cluster; refused partitions
//   get TOPIC_AUTHORIZATION_FAILED and nothing is read from them (a refused follower records no
//   progress).

import { ErrorCode } from "../../protocol/errors.ts";
import {
  createFetchResponse,
  createFetchResponseFetchableTopicResponse,
  createFetchResponsePartitionData,
  FetchRequest,
  FetchResponse,
} from "../../protocol/messages/fetch.ts";
import { ZERO_UUID } from "../../protocol/primitives.ts";
import type { PartitionLog, ReadResult } from "../../engine/mod.ts";
import type * as Legacy from "../../records/legacy.ts";
import {
  type ApiHandler,
  type BrokerContext,
  defineApi,
  errorCodeOf,
  type RequestContext,
} from "../api.ts";
import { leaderError } from "../leadership.ts";
import type { FetchContext, FetchPartition } from "../fetch_session.ts";
import type { FrameBufferPool } from "../frame_buffer_pool.ts";
import { ACCESS, authorize, authorizedNames } from "../security/access.ts";

type PartitionData = FetchResponse["responses"][number]["partitions"][number];

/**
 * `records/legacy.ts` (message formats v0/v1), imported at the first request that carries one
 * (issue #17); a failed import is tried again at the next.
 */
let legacyModule: Promise<typeof Legacy> | undefined;
function legacyFormats(): Promise<typeof Legacy> {
  return legacyModule ??= import("../../records/legacy.ts").catch((e) => {
    legacyModule = undefined;
    throw e;
  });
}

const EMPTY = new Uint8Array(0);

interface Read {
  p: FetchPartition;
  /** Topic name resolved (for v13+ requests by id); "" if unknown. */
  name: string;
  log: PartitionLog | undefined;
  errorCode: number;
  highWatermark: number;
  logStartOffset: number;
  records: Uint8Array;
  /** Last stable offset (= high watermark without transactions in progress). */
  lastStableOffset?: number;
  /** Aborted transactions overlapping the batches read (read_committed). */
  aborted?: { producerId: number; firstOffset: number }[];
  /** KIP-392: the replica the consumer should fetch from instead (nothing is read then). */
  preferredReadReplica?: number;
}

function resolve(
  broker: BrokerContext,
  p: FetchPartition,
  byId: boolean,
  followerRead = false,
): Read {
  const name = !byId
    ? p.topic
    : broker.cluster !== undefined
    ? (broker.cluster.topicName(p.topicId) ?? "")
    : (broker.logs.topicById(p.topicId)?.name ?? "");
  const base = { p, name, highWatermark: -1, logStartOffset: -1, records: EMPTY };
  if (byId && name === "") {
    return { ...base, log: undefined, errorCode: ErrorCode.UNKNOWN_TOPIC_ID };
  }
  // only the partition's leader answers (cluster mode, or a replicated partition), in its epoch
  const notLeader = leaderError(broker, name, p.partition);
  if (notLeader !== undefined) {
    // KIP-392: a consumer's Fetch v11+ is served by a follower too, in the epoch it follows
    if (followerRead && notLeader.code === ErrorCode.NOT_LEADER_OR_FOLLOWER) {
      const code = broker.replicas!.checkFollowerFetch(
        name,
        p.partition,
        p.currentLeaderEpoch ?? -1,
      );
      const log = code === ErrorCode.NONE ? broker.logs.partition(name, p.partition) : undefined;
      return { ...base, log, errorCode: log === undefined ? code : ErrorCode.NONE };
    }
    return { ...base, log: undefined, errorCode: notLeader.code };
  }
  const epoch = broker.replicas?.checkFetch(name, p.partition, p.currentLeaderEpoch ?? -1);
  if (epoch !== undefined && epoch !== ErrorCode.NONE) {
    return { ...base, log: undefined, errorCode: epoch };
  }
  return { ...base, log: broker.logs.partition(name, p.partition), errorCode: 0 };
}

/**
 * Refuse the partitions the request's principal may not fetch: READ on each topic, or
 * CLUSTER_ACTION for a follower (`replicaId >= 0`). They get TOPIC_AUTHORIZATION_FAILED and no
 * log, so nothing is read from them.
 */
function authorizeReads(ctx: RequestContext, reads: Read[], replicaId: number): void {
  if (ctx.broker.authorizer === undefined) return;
  let allowed: (name: string) => boolean;
  if (replicaId >= 0) {
    const ok = authorize(ctx, ACCESS.Fetch.follower);
    allowed = () => ok;
  } else {
    const names = authorizedNames(
      ctx,
      ACCESS.Fetch.topic,
      reads.filter((r) => r.name !== "").map((r) => r.name),
    );
    allowed = (name) => names.has(name);
  }
  for (const r of reads) {
    if (r.name === "" || allowed(r.name)) continue;
    r.log = undefined;
    r.errorCode = ErrorCode.TOPIC_AUTHORIZATION_FAILED;
  }
}

/**
 * KIP-392 (Kafka's `findPreferredReadReplica` in `readFromLog`): for each partition this broker
 * leads, the replica the consumer in `clientRack` should fetch from. A partition sent elsewhere
 * gets `preferred_read_replica`, the leader's offsets and no records: its log is dropped from the
 * read, so nothing is read from it.
 *
 * @returns Whether any partition was sent elsewhere (the fetch is then answered at once).
 */
function selectReadReplicas(broker: BrokerContext, reads: Read[], clientRack: string): boolean {
  const replicas = broker.replicas!;
  const now = Date.now();
  let any = false;
  for (const r of reads) {
    const log = r.log;
    if (log === undefined) continue;
    const id = replicas.preferredReadReplica(
      r.name,
      r.p.partition,
      clientRack,
      r.p.fetchOffset,
      now,
    );
    if (id < 0) continue;
    r.preferredReadReplica = id;
    r.highWatermark = log.highWatermark;
    r.logStartOffset = log.logStartOffset;
    r.lastStableOffset = log.lastStableOffset;
    r.log = undefined;
    any = true;
  }
  return any;
}

/**
 * Reads out of the hot tail at least this large go into pooled buffers: smaller ones would hold a
 * pooled buffer of 128 KiB or more each.
 */
const LENT_READ_BYTES = 64 * 1024;

/** The most record bytes one Fetch response carries: Kafka's `fetch.max.bytes` default. */
export const FETCH_MAX_BYTES = 57671680;

/**
 * Read every partition in order within the byte budgets; returns total record bytes. Reads out
 * of the hot tail of {@linkcode LENT_READ_BYTES} or more are copied into buffers of `pool`, which
 * the connection takes back once the response is written (issue #17).
 */
async function readAll(
  reads: Read[],
  maxBytes: number,
  readCommitted: boolean,
  fromFollower: boolean,
  pool: FrameBufferPool | undefined,
): Promise<number> {
  const allocate = pool === undefined
    ? undefined
    : (size: number) => size < LENT_READ_BYTES ? new Uint8Array(size) : pool.borrow(size);
  let remaining = maxBytes;
  let total = 0;
  let first = true;
  for (const r of reads) {
    r.records = EMPTY;
    if (r.log === undefined) continue;
    r.errorCode = 0;
    r.highWatermark = r.log.highWatermark;
    r.logStartOffset = r.log.logStartOffset;
    r.lastStableOffset = r.log.lastStableOffset;
    const budget = Math.min(r.p.maxBytes, remaining);
    if (budget <= 0) continue;
    try {
      let res: ReadResult;
      if (readCommitted) {
        // below the last stable offset, with the aborted transactions the batches overlap
        r.aborted = undefined;
        const c = await r.log.readCommitted(r.p.fetchOffset, budget, { allocate });
        r.lastStableOffset = c.lastStableOffset;
        r.aborted = c.abortedTransactions.map((a) => ({
          producerId: a.producerId,
          firstOffset: a.firstOffset,
        }));
        res = c;
      } else if (fromFollower) {
        // a follower copies everything the leader has, not only what is committed
        res = await r.log.read(r.p.fetchOffset, budget, {
          maxOffset: r.log.logEndOffset,
          allocate,
        });
      } else {
        res = await r.log.read(r.p.fetchOffset, budget, { allocate });
      }
      r.highWatermark = res.highWatermark;
      r.logStartOffset = res.logStartOffset;
      // Only the first partition with data may go over budget (one whole batch, KIP-74).
      if (res.records.length > 0 && (first || res.records.length <= budget)) {
        r.records = res.records;
        first = false;
        remaining -= res.records.length;
        total += res.records.length;
      }
    } catch (e) {
      r.errorCode = errorCodeOf(e);
    }
  }
  return total;
}

function toRequestPartitions(req: FetchRequest, byId: boolean): FetchPartition[] {
  const out: FetchPartition[] = [];
  for (const t of req.topics) {
    for (const p of t.partitions) {
      out.push({
        topic: byId ? "" : t.topic,
        topicId: byId ? t.topicId : ZERO_UUID,
        partition: p.partition,
        fetchOffset: p.fetchOffset,
        logStartOffset: p.logStartOffset,
        maxBytes: p.partitionMaxBytes,
        currentLeaderEpoch: p.currentLeaderEpoch,
      });
    }
  }
  return out;
}

function sessionContext(
  broker: BrokerContext,
  req: FetchRequest,
  version: number,
): FetchContext {
  const byId = version >= 13;
  const partitions = toRequestPartitions(req, byId);
  if (version < 7) return { kind: "full", session: null, partitions };
  const forgotten = [];
  for (const f of req.forgottenTopicsData) {
    for (const partition of f.partitions) {
      forgotten.push({
        topic: byId ? "" : f.topic,
        topicId: byId ? f.topicId : ZERO_UUID,
        partition,
      });
    }
  }
  return broker.fetchSessions.begin({
    sessionId: req.sessionId,
    sessionEpoch: req.sessionEpoch,
    partitions,
    forgotten,
    usesTopicIds: byId,
  }, Date.now());
}

function partitionData(r: Read, errorCode: number, readCommitted: boolean): PartitionData {
  return createFetchResponsePartitionData({
    partitionIndex: r.p.partition,
    errorCode,
    highWatermark: r.highWatermark,
    lastStableOffset: r.lastStableOffset ?? r.highWatermark,
    logStartOffset: r.logStartOffset,
    abortedTransactions: readCommitted ? (r.aborted ?? []) : null,
    preferredReadReplica: r.preferredReadReplica ?? -1,
    records: r.records,
  });
}

function buildResponses(
  reads: Read[],
  include: (r: Read) => boolean,
  byId: boolean,
  readCommitted: boolean,
  forceError?: number,
): FetchResponse["responses"] {
  const byTopic = new Map<string, FetchResponse["responses"][number]>();
  for (const r of reads) {
    if (!include(r)) continue;
    const key = byId ? r.p.topicId : r.p.topic;
    let t = byTopic.get(key);
    if (t === undefined) {
      t = createFetchResponseFetchableTopicResponse({
        topic: byId ? r.name : r.p.topic,
        topicId: byId ? r.p.topicId : ZERO_UUID,
        partitions: [],
      });
      byTopic.set(key, t);
    }
    t.partitions.push(partitionData(r, forceError ?? r.errorCode, readCommitted));
  }
  return [...byTopic.values()];
}

/**
 * The long poll: reads until the bytes reach `minBytes`, `maxWaitMs` passes, a partition has an
 * error, or the client or broker leaves.
 */
async function poll(
  ctx: RequestContext,
  reads: Read[],
  minBytes: number,
  maxWaitMs: number,
  readAll: () => Promise<number>,
  answerNow = false,
): Promise<void> {
  const broker = ctx.broker;
  const watch: [string, number][] = [];
  for (const r of reads) if (r.log !== undefined) watch.push([r.name, r.p.partition]);
  const deadline = Date.now() + Math.max(0, maxWaitMs);
  const closed = ctx.connection.closed;
  for (;;) {
    // Each watched log's end offset before reading: an append while the read awaits I/O moves
    // it, and then we read again instead of parking (registering the wait is synchronous, so
    // nothing can slip in between the check and the wait). Most fetches under load are
    // answered by the first read and never build a wait.
    // (and high watermark: on a replicated partition it moves apart from the log end)
    const ends = reads.map((r) => r.log?.logEndOffset ?? -1);
    const hws = reads.map((r) => r.log?.highWatermark ?? -1);
    const bytes = await readAll();
    const left = deadline - Date.now();
    if (
      left <= 0 || bytes >= minBytes || answerNow || reads.some((r) => r.errorCode !== 0) ||
      broker.closing.aborted || closed?.aborted === true
    ) return;
    if (
      reads.some((r, i) =>
        (r.log?.logEndOffset ?? -1) !== ends[i] || (r.log?.highWatermark ?? -1) !== hws[i]
      )
    ) continue;
    const parked = performance.now();
    const why = await broker.appendWaiters.wait(watch, left, broker.closing, closed);
    // time parked is not time spent on the request (request_percentage, `../quotas.ts`)
    ctx.waitedMs = (ctx.waitedMs ?? 0) + performance.now() - parked;
    if (why === "aborted") return;
    if (why === "timeout") {
      // Like Kafka's expired delayed fetch: answer with whatever is there now.
      await readAll();
      return;
    }
  }
}

/**
 * Fetch v0-v3: why a partition's records cannot be down-converted at all (Kafka's topic-config
 * checks), or 0.
 */
function legacyRefusal(broker: BrokerContext, r: Read): number {
  if (r.log === undefined) return 0;
  const effective = broker.logs.topic(r.name)?.effective;
  if (effective?.["compression.type"] === "zstd") return ErrorCode.UNSUPPORTED_COMPRESSION_TYPE;
  if (effective?.["message.downconversion.enable"] === "false") {
    return ErrorCode.UNSUPPORTED_VERSION;
  }
  return 0;
}

/**
 * Fetch v0-v3: reads every partition in order (uncommitted, below the high watermark) and
 * down-converts what it read; returns the converted bytes. v0-v2 limits are hard; v3 gives the
 * first partition with data one whole batch, as v4+.
 */
async function readAllLegacy(
  reads: readonly Read[],
  refusals: readonly number[],
  version: number,
  maxBytes: number,
  maxDecompressedBytes: number,
): Promise<number> {
  const magic = version <= 1 ? 0 : 1;
  let remaining = maxBytes;
  let total = 0;
  let first = true;
  for (let i = 0; i < reads.length; i++) {
    const r = reads[i];
    r.records = EMPTY;
    if (r.log === undefined) continue;
    r.highWatermark = r.log.highWatermark;
    r.logStartOffset = r.log.logStartOffset;
    r.errorCode = refusals[i];
    if (r.errorCode !== 0) continue;
    const budget = Math.min(r.p.maxBytes, remaining);
    if (budget <= 0) continue;
    try {
      const res = await r.log.read(r.p.fetchOffset, budget);
      r.highWatermark = res.highWatermark;
      r.logStartOffset = res.logStartOffset;
      if (res.records.length === 0) continue;
      // The read is whole batches within the budget, or one first batch larger than it. As in
      // Kafka, the limits count the stored bytes read, not the converted ones.
      const fits = res.records.length <= budget;
      if (!fits && version === 3 && !first) continue; // v3: only the first may go over
      first = false;
      remaining -= fits || version === 3 ? res.records.length : budget;
      const { downConvertForFetch, overflowMessage } = await legacyFormats();
      const converted = fits || version === 3
        ? downConvertForFetch(res.records, {
          magic,
          fromOffset: r.p.fetchOffset,
          maxBytes: res.records.length,
          maxDecompressedBytes,
        })
        : overflowMessage(); // v0-v2, hard limit: the consumer asks again with more room
      r.records = converted;
      total += converted.length;
    } catch (e) {
      const code = errorCodeOf(e);
      r.errorCode = code === ErrorCode.KAFKA_STORAGE_ERROR
        ? ErrorCode.NOT_LEADER_OR_FOLLOWER
        : code;
    }
  }
  return total;
}

/**
 * Count the partitions read, their errors and the record bytes sent, by topic (`/metrics`);
 * unknown topics are not counted, so clients cannot make a label of every name they try.
 */
function countFetch(broker: BrokerContext, reads: Read[], fromFollower: boolean): void {
  const metrics = broker.metrics;
  if (metrics === undefined) return;
  for (const r of reads) {
    let c = metrics.topics.get(r.name);
    if (c === undefined) {
      if (r.name === "" || broker.logs.topic(r.name) === undefined) continue;
      c = metrics.topic(r.name);
    }
    c.fetchRequests++;
    if (r.errorCode !== 0) c.failedFetchRequests++;
    if (fromFollower) c.replicationBytesOut += r.records.length;
    else c.bytesOut += r.records.length;
  }
}

/** The most bytes a consumer's quota lets one fetch answer (no quota: no bound). */
function quotaMaxBytes(ctx: RequestContext, fromFollower: boolean): number {
  const quotas = ctx.broker.quotas;
  if (quotas === undefined || quotas.store.empty || fromFollower) return Infinity;
  return quotas.maxValueInWindow(
    "consumer_byte_rate",
    ctx.connection.principal?.name ?? "ANONYMOUS",
    ctx.clientId ?? "",
  );
}

/** Fetch v0-v3: message sets down-converted from the log (no sessions, no isolation level). */
async function handleLegacy(ctx: RequestContext, req: FetchRequest): Promise<FetchResponse> {
  const broker = ctx.broker;
  const reads = toRequestPartitions(req, false).map((p) => resolve(broker, p, false));
  authorizeReads(ctx, reads, req.replicaId);
  const refusals = reads.map((r) => legacyRefusal(broker, r));
  await poll(
    ctx,
    reads,
    req.minBytes,
    req.maxWaitMs,
    () =>
      readAllLegacy(
        reads,
        refusals,
        ctx.version,
        Math.min(req.maxBytes, FETCH_MAX_BYTES),
        broker.config.socketRequestMaxBytes,
      ),
  );
  countFetch(broker, reads, false);
  return createFetchResponse({ responses: buildResponses(reads, () => true, false, false) });
}

/** Fetch handler. */
export const fetch: ApiHandler = defineApi<FetchRequest, FetchResponse>({
  minVersion: 0,
  maxVersion: 16,
  request: FetchRequest,
  response: FetchResponse,
  async handle(ctx, req) {
    const broker = ctx.broker;
    const version = ctx.version;
    const byId = version >= 13;
    const readCommitted = req.isolationLevel === 1;
    if (version < 4) return handleLegacy(ctx, req);
    const fc = sessionContext(broker, req, version);
    if (fc.kind === "error") {
      broker.logger.debug(`Fetch session error for connection ${ctx.connection.id}: ${fc.message}`);
      return createFetchResponse({ errorCode: fc.errorCode, sessionId: 0, responses: [] });
    }
    // a follower's fetch (cluster mode): its fetch offsets are its log end offsets
    const replicaId = version >= 15 ? req.replicaState.replicaId : req.replicaId;
    // KIP-392: followers serve consumers' Fetch v11+ (Kafka's `fetchOnlyLeader` false)
    const followerRead = version >= 11 && replicaId < 0 && broker.replicas !== undefined;
    const reads = fc.partitions.map((p) => resolve(broker, p, byId, followerRead));
    // its broker epoch (KIP-903), checked before it is added to an ISR; not carried before v15
    const replicaEpoch = version >= 15 ? req.replicaState.replicaEpoch : -1;
    authorizeReads(ctx, reads, replicaId);
    const fromFollower = replicaId >= 0 && broker.replicas !== undefined;
    if (fromFollower) {
      const now = Date.now();
      for (const r of reads) {
        const log = r.log;
        if (
          log === undefined || r.p.fetchOffset < log.logStartOffset ||
          r.p.fetchOffset > log.logEndOffset
        ) continue;
        broker.replicas!.recordFollowerFetch(
          r.name,
          r.p.partition,
          replicaId,
          r.p.fetchOffset,
          now,
          r.p.logStartOffset,
          replicaEpoch,
        );
      }
    }
    if (version < 10) {
      // zstd came with Fetch v10 (KIP-110): a zstd topic cannot be read by older fetchers
      for (const r of reads) {
        if (r.log?.config.compressionType === "zstd") {
          r.errorCode = ErrorCode.UNSUPPORTED_COMPRESSION_TYPE;
          r.log = undefined;
        }
      }
    }
    // KIP-392: the leader sends a consumer in another rack to an in-sync follower in its own,
    // answering at once without reading (only with `replica.selector.class` and a rack_id)
    const redirected = followerRead && req.rackId !== "" && broker.replicas!.selectsReadReplicas &&
      selectReadReplicas(broker, reads, req.rackId);
    // a consumer quota caps the answer at what its window allows (Kafka's
    // getMaxValueInQuotaWindow), so one fetch never breaks the quota alone
    const maxBytes = Math.min(req.maxBytes, FETCH_MAX_BYTES, quotaMaxBytes(ctx, fromFollower));
    await poll(
      ctx,
      reads,
      Math.min(req.minBytes, maxBytes),
      req.maxWaitMs,
      () =>
        readAll(
          reads,
          maxBytes,
          readCommitted,
          fromFollower,
          ctx.broker.frameBuffers,
        ),
      redirected,
    );
    if (version < 6) {
      // KAFKA_STORAGE_ERROR is new in Fetch v6; older clients get what they retry (as Kafka)
      for (const r of reads) {
        if (r.errorCode === ErrorCode.KAFKA_STORAGE_ERROR) {
          r.errorCode = ErrorCode.NOT_LEADER_OR_FOLLOWER;
        }
      }
    }
    countFetch(broker, reads, fromFollower);
    const session = fc.session;
    const include = fc.kind === "incremental"
      ? (r: Read) =>
        fc.session.report(r.p, {
          errorCode: r.errorCode,
          highWatermark: r.highWatermark,
          lastStableOffset: r.lastStableOffset ?? r.highWatermark,
          logStartOffset: r.logStartOffset,
          recordBytes: r.records.length,
          preferredReadReplica: r.preferredReadReplica,
        })
      : (r: Read) => {
        session?.report(r.p, {
          errorCode: r.errorCode,
          highWatermark: r.highWatermark,
          lastStableOffset: r.lastStableOffset ?? r.highWatermark,
          logStartOffset: r.logStartOffset,
          recordBytes: r.records.length,
        });
        return true;
      };
    return createFetchResponse({
      errorCode: 0,
      sessionId: session?.id ?? 0,
      responses: buildResponses(reads, include, byId, readCommitted),
    });
  },
  errorResponse(req, errorCode) {
    return createFetchResponse({
      errorCode,
      responses: req.topics.map((t) =>
        createFetchResponseFetchableTopicResponse({
          topic: t.topic,
          topicId: t.topicId,
          partitions: t.partitions.map((p) =>
            createFetchResponsePartitionData({
              partitionIndex: p.partition,
              errorCode,
              highWatermark: -1,
              records: EMPTY,
            })
          ),
        })
      ),
    });
  },
});
