// Copyright 2026 the Sluice authors. Apache-2.0 license.
// Fetch (key 1): advertised v0-v16, served v4-v16.
// - v0-v3 responses cannot carry v2 record batches without down-conversion, which we do not do:
//   every partition gets UNSUPPORTED_VERSION and a warning is logged.
// - Long poll: answer at once if max_wait_ms <= 0, the bytes read reach min_bytes, or a partition
//   has an error; otherwise park until an append to one of the fetched partitions (woken through
//   `LogManager.onAppend`), max_wait_ms passes (then read once more), the client disconnects or
//   the broker shuts down.
// - max_bytes (v3+) and partition_max_bytes: partitions are read in order; only the first
//   partition that returns data may exceed the limits (one whole batch at least, as Kafka/KIP-74).
//   max_bytes is capped at FETCH_MAX_BYTES (Kafka's `fetch.max.bytes` default, 55 MiB), so a
//   client asking for 2^31-1 bytes of one partition listed thousands of times gets 55 MiB, not a
//   frame over 2 GiB.
// - isolation_level=1 (read_committed): data only below the last stable offset and the aborted
//   transactions overlapping the fetched range, both from the transaction coordinator
//   (`../txn/`); read_uncommitted: everything below the high watermark, last_stable_offset =
//   high watermark, aborted_transactions null.
// - OFFSET_OUT_OF_RANGE per partition with the current high watermark and log start offset.
// - v7+ fetch sessions (KIP-227, see `../fetch_session.ts`): session errors are top-level
//   (FETCH_SESSION_ID_NOT_FOUND, INVALID_FETCH_SESSION_EPOCH, FETCH_SESSION_TOPIC_ID_ERROR).
// - v12+ flexible; v13+ topics by id (unknown id: UNKNOWN_TOPIC_ID); v15 replica_state and v16
//   node_endpoints are follower/leader-change details we never need (single broker).

import { ErrorCode } from "../../protocol/errors.ts";
import {
  createFetchResponse,
  createFetchResponseFetchableTopicResponse,
  createFetchResponsePartitionData,
  FetchRequest,
  FetchResponse,
} from "../../protocol/messages/fetch.ts";
import { ZERO_UUID } from "../../protocol/primitives.ts";
import type { PartitionLog } from "../../engine/mod.ts";
import { type ApiHandler, type BrokerContext, defineApi, errorCodeOf } from "../api.ts";
import type { FetchContext, FetchPartition } from "../fetch_session.ts";
import { type TransactionCoordinator, transactionCoordinatorOf } from "../txn/mod.ts";

type PartitionData = FetchResponse["responses"][number]["partitions"][number];

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
  /** HOOK (transactions): last stable offset (= high watermark without transactions). */
  lastStableOffset?: number;
  /** HOOK (transactions): aborted transactions in the fetched range (read_committed). */
  aborted?: { producerId: number; firstOffset: number }[];
}

function resolve(broker: BrokerContext, p: FetchPartition, byId: boolean): Read {
  const name = byId ? (broker.logs.topicById(p.topicId)?.name ?? "") : p.topic;
  const log = name === "" ? undefined : broker.logs.partition(name, p.partition);
  const errorCode = log !== undefined
    ? 0
    : byId && name === ""
    ? ErrorCode.UNKNOWN_TOPIC_ID
    : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
  return { p, name, log, errorCode, highWatermark: -1, logStartOffset: -1, records: EMPTY };
}

/** The most record bytes one Fetch response carries: Kafka's `fetch.max.bytes` default. */
export const FETCH_MAX_BYTES = 57671680;

/** Read every partition in order within the byte budgets; returns total record bytes. */
async function readAll(
  reads: Read[],
  maxBytes: number,
  txns?: TransactionCoordinator,
): Promise<number> {
  let remaining = maxBytes;
  let total = 0;
  let first = true;
  for (const r of reads) {
    r.records = EMPTY;
    if (r.log === undefined) continue;
    r.errorCode = 0;
    r.highWatermark = r.log.highWatermark;
    r.logStartOffset = r.log.logStartOffset;
    const budget = Math.min(r.p.maxBytes, remaining);
    if (budget <= 0) continue;
    try {
      // HOOK (transactions): read_committed reads stop at the last stable offset.
      const lso = txns?.lastStableOffset(r.name, r.p.partition, r.highWatermark);
      const res = await r.log.read(
        r.p.fetchOffset,
        budget,
        lso === undefined ? {} : { maxOffset: lso },
      );
      if (txns !== undefined) {
        r.lastStableOffset = txns.lastStableOffset(r.name, r.p.partition, res.highWatermark);
        r.aborted = txns.abortedTransactions(
          r.name,
          r.p.partition,
          r.p.fetchOffset,
          r.lastStableOffset,
        ).map((a) => ({ producerId: a.producerId, firstOffset: a.firstOffset }));
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

/** Fetch handler. */
export const fetch: ApiHandler = defineApi<FetchRequest, FetchResponse>({
  key: 1,
  name: "Fetch",
  minVersion: 0,
  maxVersion: 16,
  request: FetchRequest,
  response: FetchResponse,
  async handle(ctx, req) {
    const broker = ctx.broker;
    const version = ctx.version;
    const byId = version >= 13;
    const readCommitted = req.isolationLevel === 1;
    if (version < 4) {
      broker.logger.warn(
        `Fetch v${version} from ${ctx.clientId ?? "?"} (connection ${ctx.connection.id}) ` +
          `refused: UNSUPPORTED_VERSION, v0-v3 cannot carry v2 record batches`,
      );
      const reads = toRequestPartitions(req, false).map((p) => resolve(broker, p, false));
      return createFetchResponse({
        responses: buildResponses(
          reads,
          () => true,
          false,
          false,
          ErrorCode.UNSUPPORTED_VERSION,
        ),
      });
    }
    const fc = sessionContext(broker, req, version);
    if (fc.kind === "error") {
      broker.logger.debug(`Fetch session error for connection ${ctx.connection.id}: ${fc.message}`);
      return createFetchResponse({ errorCode: fc.errorCode, sessionId: 0, responses: [] });
    }
    const reads = fc.partitions.map((p) => resolve(broker, p, byId));
    const txns = readCommitted ? await transactionCoordinatorOf(broker) : undefined;
    const watch: [string, number][] = [];
    for (const r of reads) if (r.log !== undefined) watch.push([r.name, r.p.partition]);
    const deadline = Date.now() + Math.max(0, req.maxWaitMs);
    const closed = ctx.connection.closed;
    for (;;) {
      // Each watched log's end offset before reading: an append while the read awaits I/O moves
      // it, and then we read again instead of parking (registering the wait is synchronous, so
      // nothing can slip in between the check and the wait). Most fetches under load are
      // answered by the first read and never build a wait.
      const ends = reads.map((r) => r.log?.logEndOffset ?? -1);
      const bytes = await readAll(reads, Math.min(req.maxBytes, FETCH_MAX_BYTES), txns);
      const left = deadline - Date.now();
      if (
        left <= 0 || bytes >= req.minBytes || reads.some((r) => r.errorCode !== 0) ||
        broker.closing.aborted || closed?.aborted === true
      ) break;
      if (reads.some((r, i) => (r.log?.logEndOffset ?? -1) !== ends[i])) continue;
      const why = await broker.appendWaiters.wait(watch, left, broker.closing, closed);
      if (why === "aborted") break;
      if (why === "timeout") {
        // Like Kafka's expired delayed fetch: answer with whatever is there now.
        await readAll(reads, Math.min(req.maxBytes, FETCH_MAX_BYTES), txns);
        break;
      }
    }
    const session = fc.session;
    const include = fc.kind === "incremental"
      ? (r: Read) =>
        fc.session.report(r.p, {
          errorCode: r.errorCode,
          highWatermark: r.highWatermark,
          lastStableOffset: r.lastStableOffset ?? r.highWatermark,
          logStartOffset: r.logStartOffset,
          recordBytes: r.records.length,
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
