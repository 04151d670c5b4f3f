// Copyright 2026 the Sluice authors. Apache-2.0 license.
// Produce (key 0): v0-v11.
// - v0-v2 (message format v0/v1, magic 0/1: Sarama with an old `Version`, Debian's kafka-go) are
//   up-converted to one v2 batch per partition before the append, as Kafka 3.x's LogValidator
//   does (`records/legacy.ts` `upConvert`): offsets assigned by the log, v1 timestamps kept (v0
//   messages have none: -1), LogAppendTime topics stamped as any batch, the topic's
//   `compression.type` applied (`producer`: the wrapper's codec). CRC-32 mismatches and bad
//   framing get CORRUPT_MESSAGE, and so does a wrapper that decompresses to more than
//   socket.request.max.bytes (a bomb; Kafka sets no bound); a compressed wrapper beside other
//   messages, mixed magics, nested compression: INVALID_RECORD; zstd:
//   UNSUPPORTED_COMPRESSION_TYPE. An empty message set is answered NONE with base offset -1 and
//   nothing appended (Kafka's empty append). A magic-v2 batch in v0-v2 is taken as in v3+ (Kafka
//   does not check the magic of old versions).
// - v3+: each partition must carry exactly one magic-v2 record batch (else INVALID_RECORD, as
//   Kafka); the engine validates it (CRC, framing: CORRUPT_MESSAGE; records: INVALID_RECORD;
//   size: MESSAGE_TOO_LARGE / RECORD_LIST_TOO_LARGE), assigns offsets in place and appends it.
//   Compressed batches (gzip/snappy/lz4/zstd) are stored as received, checked by CRC only, unless
//   the topic's compression.type names another codec: the engine then recompresses them, as
//   Kafka's LogValidator (offsets, producer fields, timestamps, keys, values, headers kept).
// - zstd batches need v7+ (KIP-110): before v7 they get UNSUPPORTED_COMPRESSION_TYPE (a topic
//   with compression.type=zstd still takes uncompressed or other batches and compresses them).
//   KAFKA_STORAGE_ERROR is new in v4: older versions get NOT_LEADER_OR_FOLLOWER, which their
//   clients retry, as Kafka answers them.
// - Clients may not write to the internal `__consumer_offsets` (INVALID_TOPIC_EXCEPTION), nor
//   write control batches (attributes bit 5: INVALID_RECORD, as Kafka's LogValidator).
// - acks must be -1, 0 or 1 (else INVALID_REQUIRED_ACKS). acks=-1 with min.insync.replicas > 1
//   gets NOT_ENOUGH_REPLICAS (we are the only replica). acks=0 gets no response; if a partition
//   failed the connection is closed, as Kafka does, so the producer refreshes metadata.
// - Replicated partitions (cluster mode, `../replica_manager.ts`): only the leader appends
//   (NOT_LEADER_OR_FOLLOWER elsewhere). acks=-1 is refused with NOT_ENOUGH_REPLICAS before the
//   append when the ISR is smaller than min.insync.replicas, and answered once the high
//   watermark passes the appended batch (the whole ISR has it): NOT_ENOUGH_REPLICAS_AFTER_APPEND
//   if the ISR shrank below min.insync.replicas meanwhile, REQUEST_TIMED_OUT after the request's
//   timeout_ms, NOT_LEADER_OR_FOLLOWER if leadership moved. A retried duplicate waits for its
//   original offsets the same way. acks=1 is answered after the leader's append.
// - v2+ log_append_time_ms, v5+ log_start_offset, v8+ record_errors/error_message, v10+
//   current_leader (tagged; only on leader errors, so left at default).
// - Idempotent producers (engine/producer_state.ts, Kafka 2.7+ rules): a batch equal to one of
//   the producer's last 5 (same epoch and sequence range) is not stored again and answered NONE
//   with its original base offset (as Kafka: clients treat it as success); a sequence gap or a
//   new epoch not starting at 0 gets OUT_OF_ORDER_SEQUENCE_NUMBER, an older epoch
//   INVALID_PRODUCER_EPOCH; a producer id without state (new or expired) may start at any
//   sequence (KIP-360: UNKNOWN_PRODUCER_ID is not sent).
// - Transactional batches (`../txn/`, KIP-890's verification): a producer fenced by its
//   transactional id's newer epoch gets INVALID_PRODUCER_EPOCH; one of no transactional id
//   INVALID_PRODUCER_ID_MAPPING; a partition not in the producer's transaction in progress
//   (AddPartitionsToTxn first) INVALID_TXN_STATE, so no transaction the coordinator cannot end
//   holds the partition's last stable offset back. Clients may not write to
//   `__transaction_state` either. Cluster mode, with the transactional id coordinated by another
//   broker (or not loaded here yet): the transaction's first batch on the partition (no
//   transaction of that producer and epoch in progress there) is verified with the coordinator
//   (AddPartitionsToTxn v4 verify_only, Kafka 3.6's) before it is appended, and refused with
//   INVALID_TXN_STATE if a marker of the producer reached the partition meanwhile; the
//   coordinator's answers become INVALID_PRODUCER_EPOCH (fenced), NOT_ENOUGH_REPLICAS
//   (NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE, COORDINATOR_LOAD_IN_PROGRESS,
//   CONCURRENT_TRANSACTIONS: retried by the producer) or stay (`../txn/verification.ts`).
// - No per-record work for v3+: one header peek per partition; records stay raw bytes.
// - Cluster mode (docs/CLUSTER.md, `../leadership.ts`): a partition this broker does not lead
//   (or any partition while it is fenced) gets NOT_LEADER_OR_FOLLOWER, a partition the cluster
//   does not have UNKNOWN_TOPIC_OR_PARTITION.
// - ACLs (`../security/access.ts`, as Kafka's `handleProduceRequest`): a request carrying a
//   transactional batch needs WRITE on its transactional_id (else every partition
//   TRANSACTIONAL_ID_AUTHORIZATION_FAILED); each topic needs WRITE (else its partitions
//   TOPIC_AUTHORIZATION_FAILED, before any existence check). Nothing of a refused partition is
//   appended; acks=0 closes the connection as for any other error. Idempotent batches need no
//   IDEMPOTENT_WRITE here (KIP-679, Kafka 3.0+: InitProducerId checks it).

import {
  attributesAt,
  batchSizeAt,
  Compression,
  COMPRESSION_CODEC_MASK,
  type CompressionName,
  CONTROL_BIT,
  hasProducerIdAt,
  LOG_OVERHEAD,
  MAGIC_OFFSET,
  MAGIC_V2,
  magicAt,
  producerEpochAt,
  producerIdAt,
  RECORD_BATCH_OVERHEAD as BATCH_HEADER_SIZE,
  TRANSACTIONAL_BIT,
} from "../../records/layout.ts";
import type * as Legacy from "../../records/legacy.ts";
import { ErrorCode, errorName } from "../../protocol/errors.ts";
import {
  createProduceResponse,
  createProduceResponsePartitionProduceResponse,
  createProduceResponseTopicProduceResponse,
  ProduceRequest,
  ProduceResponse,
} from "../../protocol/messages/produce.ts";
import {
  type ApiHandler,
  type BrokerContext,
  clipMessage,
  defineApi,
  errorCodeOf,
  messageOf,
  type RequestContext,
} from "../api.ts";
import type { KeepBytes } from "../../engine/mod.ts";
import { EngineError, type RecordError } from "../../engine/errors.ts";
import { leaderError } from "../leadership.ts";
import { transactionCoordinatorOf } from "../txn/coordinator_of.ts";
import { CloseConnection } from "../connection.ts";
import { isInternalTopic } from "../internal_topic_names.ts";
import { ACCESS, authorize, authorizedNames } from "../security/access.ts";

type PartitionResponse = ProduceResponse["responses"][number]["partitionResponses"][number];

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

function failed(
  index: number,
  errorCode: number,
  message: string | null,
  recordErrors: readonly RecordError[] = [],
): PartitionResponse {
  return createProduceResponsePartitionProduceResponse({
    index,
    errorCode,
    baseOffset: -1,
    logAppendTimeMs: -1,
    logStartOffset: -1,
    errorMessage: message === null ? null : clipMessage(message),
    recordErrors: recordErrors.map((e) => ({
      batchIndex: e.batchIndex,
      batchIndexErrorMessage: e.message === null ? null : clipMessage(e.message),
    })),
  });
}

/** Whether Produce v0-v2 `records` hold a legacy message set (magic 0/1) rather than a v2 batch. */
function isMessageSet(records: Uint8Array): boolean {
  return records.length <= MAGIC_OFFSET || magicAt(records, 0) !== MAGIC_V2;
}

/** The codec an up-converted batch gets: the topic's `compression.type` (`producer`: the set's). */
function targetCodec(broker: BrokerContext, topic: string): CompressionName | undefined {
  const type = broker.logs.topic(topic)?.effective["compression.type"] ?? "producer";
  if (type === "producer") return undefined;
  if (type === "uncompressed") return "none";
  return type as CompressionName;
}

/** Check the one-batch framing Kafka demands of Produce v3+; returns an error text or null. */
function checkSingleBatch(records: Uint8Array | null): string | null {
  if (records === null || records.length === 0) return "no record batch";
  if (records.length <= MAGIC_OFFSET) return null; // Too short: the engine reports CORRUPT_MESSAGE.
  const magic = magicAt(records, 0);
  if (magic !== MAGIC_V2) {
    return `record batch magic v${magic} is not supported (Produce v3+ must use magic v2)`;
  }
  const total = batchSizeAt(records, 0);
  if (total > LOG_OVERHEAD && total < records.length) {
    return "Produce v3+ must contain exactly one record batch per partition";
  }
  if (records.length >= BATCH_HEADER_SIZE && (attributesAt(records, 0) & CONTROL_BIT) !== 0) {
    // Transaction markers are written by the transaction coordinator only (Kafka's LogValidator).
    return "Clients are not allowed to write control records";
  }
  return null;
}

async function appendOne(
  broker: BrokerContext,
  topic: string,
  index: number,
  records: Uint8Array | null,
  acks: number,
  minIsr: number,
  version: number,
  timeoutMs: number,
  signal: AbortSignal,
  transactionalId: string | null,
  keep: KeepBytes | undefined,
): Promise<PartitionResponse> {
  // only the partition's leader appends (cluster mode, or a replicated partition)
  const notLeader = isInternalTopic(topic) ? undefined : leaderError(broker, topic, index);
  if (notLeader !== undefined) return failed(index, notLeader.code, notLeader.message);
  const log = broker.logs.partition(topic, index);
  if (log === undefined) {
    return failed(
      index,
      ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
      `${topic}-${index} does not exist on this broker`,
    );
  }
  if (isInternalTopic(topic)) {
    return failed(
      index,
      ErrorCode.INVALID_TOPIC_EXCEPTION,
      `Cannot append to internal topic ${topic}`,
    );
  }
  // replicated partitions: the leader's ISR rules; else we are the only replica
  const replicated = broker.replicas?.checkProduce(topic, index, acks, minIsr);
  if (replicated !== undefined && replicated.code !== ErrorCode.NONE) {
    return failed(index, replicated.code, replicated.message);
  }
  if (replicated === undefined && acks === -1 && minIsr > 1) {
    return failed(
      index,
      ErrorCode.NOT_ENOUGH_REPLICAS,
      `${topic} has min.insync.replicas=${minIsr} but this broker is its only replica`,
    );
  }
  if (version < 3 && records !== null && isMessageSet(records)) {
    // Produce v0-v2: a v0/v1 message set, stored as one v2 batch (Kafka's LogValidator).
    if (records.length === 0) {
      return createProduceResponsePartitionProduceResponse({ index, baseOffset: -1 });
    }
    try {
      const { upConvert } = await legacyFormats();
      records = upConvert(records, {
        compression: targetCodec(broker, topic),
        // a compressed wrapper may not hold more than a request may (a bomb fails, not the broker)
        maxDecompressedBytes: broker.config.socketRequestMaxBytes,
      });
    } catch (e) {
      const message = `Produce v${version} to ${topic}-${index} refused: ${messageOf(e)}`;
      broker.logger.warn(message);
      return failed(index, errorCodeOf(e), message);
    }
  }
  const bad = checkSingleBatch(records);
  if (bad !== null) return failed(index, ErrorCode.INVALID_RECORD, bad);
  if (
    version >= 3 && version < 7 &&
    (attributesAt(records!, 0) & COMPRESSION_CODEC_MASK) === Compression.zstd
  ) {
    // zstd came with Produce v7 (KIP-110): Kafka's ProduceRequest refuses a zstd batch in older
    // versions (a zstd topic still takes their batches: the broker compresses them)
    return failed(
      index,
      ErrorCode.UNSUPPORTED_COMPRESSION_TYPE,
      `Produce v${version} requests may not use zstd compression (needs v7+)`,
    );
  }
  // Transactions: verified against the coordinator. The check and the append's enqueueing run
  // in one synchronous step (no await between them), and the coordinator enqueues markers only
  // once the transaction left Ongoing, so a batch that passed never lands after its marker.
  const txns = records!.length >= BATCH_HEADER_SIZE && hasProducerIdAt(records!, 0) &&
      (attributesAt(records!, 0) & TRANSACTIONAL_BIT) !== 0
    ? await transactionCoordinatorOf(broker)
    : undefined;
  // cluster mode, verified with another broker: still valid in the step that enqueues the append
  let stillValid: (() => boolean) | undefined;
  if (txns !== undefined) {
    const producerId = producerIdAt(records!, 0);
    const epoch = producerEpochAt(records!, 0);
    const verifier = broker.txnVerifier;
    let code: number;
    if (
      verifier !== undefined && transactionalId !== null &&
      !txns.coordinates(transactionalId)
    ) {
      if (
        !log.inTransaction(producerId, epoch) ||
        verifier.markerInFlight(topic, index, producerId)
      ) {
        const v = await verifier.verify(
          transactionalId,
          {
            producerId,
            producerEpoch: epoch,
          },
          topic,
          index,
        );
        code = v.errorCode;
        stillValid = v.stillValid;
      } else code = ErrorCode.NONE; // verified with its first batch here
    } else code = txns.checkProduce(producerId, epoch, topic, index);
    if (code !== ErrorCode.NONE) {
      const who = `Producer ${producerId} epoch ${epoch}`;
      return failed(
        index,
        code,
        code === ErrorCode.INVALID_PRODUCER_EPOCH
          ? `${who} is fenced by a newer epoch of its transactional id`
          : code === ErrorCode.INVALID_TXN_STATE
          ? `${who} has no transaction in progress with ${topic}-${index} (AddPartitionsToTxn first)`
          : code === ErrorCode.INVALID_PRODUCER_ID_MAPPING
          ? `${who} sent a transactional batch but is the producer of no transactional id`
          : `${who}: its transaction could not be verified with its coordinator (${
            errorName(code)
          })`,
      );
    }
  }
  if (stillValid !== undefined) {
    // the verification's answer came after an await: the leadership and the guard again, in
    // the step that enqueues the append
    const valid = stillValid();
    const moved = leaderError(broker, topic, index);
    if (moved !== undefined) return failed(index, moved.code, moved.message);
    if (!valid) {
      return failed(
        index,
        ErrorCode.INVALID_TXN_STATE,
        `Producer ${producerIdAt(records!, 0)}: its transaction on ${topic}-${index} ended ` +
          `while its batch was being verified`,
      );
    }
  }
  try {
    const r = await log.append(records!, keep);
    const counters = broker.metrics?.topic(topic);
    if (counters !== undefined) {
      counters.messagesIn += r.recordCount;
      counters.bytesIn += records!.length;
    }
    if (replicated !== undefined && acks === -1) {
      // acks=all: answered once every in-sync replica has the batch
      const w = await broker.replicas!.waitForAcks(
        topic,
        index,
        r.lastOffset + 1,
        minIsr,
        timeoutMs,
        signal,
      );
      if (w.code !== ErrorCode.NONE) return failed(index, w.code, w.message);
    }
    return createProduceResponsePartitionProduceResponse({
      index,
      errorCode: 0,
      baseOffset: r.baseOffset,
      logAppendTimeMs: r.logAppendTime,
      logStartOffset: r.logStartOffset,
    });
  } catch (e) {
    const code = errorCodeOf(e);
    const message = e instanceof Error ? e.message : String(e);
    // storage errors (a full disk fails every produce) are logged by the engine, once a minute
    if (code !== ErrorCode.KAFKA_STORAGE_ERROR) {
      broker.logger.warn(`Produce to ${topic}-${index} refused: ${message}`);
    }
    // KAFKA_STORAGE_ERROR is new in Produce v4; older clients get what they retry (as Kafka)
    if (code === ErrorCode.KAFKA_STORAGE_ERROR && version < 4) {
      return failed(index, ErrorCode.NOT_LEADER_OR_FOLLOWER, message);
    }
    // the records Kafka's LogValidator names (Produce v8+ record_errors)
    const recordErrors = version >= 8 && e instanceof EngineError ? e.recordErrors : undefined;
    return failed(index, code, message, recordErrors);
  }
}

/** Whether a v3+ request carries a transactional batch (Kafka's `hasTransactionalRecords`). */
function hasTransactionalRecords(req: ProduceRequest, version: number): boolean {
  if (version < 3) return false;
  return req.topicData.some((td) =>
    td.partitionData.some((pd) =>
      pd.records !== null && pd.records.length >= BATCH_HEADER_SIZE &&
      magicAt(pd.records, 0) === MAGIC_V2 &&
      (attributesAt(pd.records, 0) & TRANSACTIONAL_BIT) !== 0
    )
  );
}

/**
 * Count a topic's partition appends and failures (`/metrics`); partitions of unknown topics
 * are not counted, so clients cannot make a label of every name they try.
 */
function countProduce(broker: BrokerContext, topic: string, responses: PartitionResponse[]) {
  if (broker.metrics === undefined) return;
  let counters = broker.metrics.topics.get(topic);
  if (counters === undefined) {
    if (broker.logs.topic(topic) === undefined) return;
    counters = broker.metrics.topic(topic);
  }
  counters.produceRequests += responses.length;
  for (const p of responses) if (p.errorCode !== ErrorCode.NONE) counters.failedProduceRequests++;
}

/**
 * `Promise.all` that settles every promise before it rejects: the request's frame may be reused
 * once the handler returns (`../frame_buffer_pool.ts`), so no append may still be reading its
 * batches then.
 */
async function settleAll<T>(promises: (T | Promise<T>)[]): Promise<T[]> {
  const settled = await Promise.allSettled(promises);
  const failure = settled.find((s) => s.status === "rejected");
  if (failure !== undefined) throw failure.reason;
  return settled.map((s) => (s as PromiseFulfilledResult<T>).value);
}

type TopicResponse = ProduceResponse["responses"][number];

/**
 * The hot tail's keep callback of each frame buffer pool, made once rather than per request (a
 * batch that fills most of its pooled frame is kept by the hot tail instead of copied; the
 * buffer goes back to the pool once the tail drops it).
 */
const KEEPERS = new WeakMap<object, KeepBytes>();

function keepOf(broker: BrokerContext): KeepBytes | undefined {
  const pool = broker.frameBuffers;
  if (pool === undefined) return undefined;
  let keep = KEEPERS.get(pool);
  if (keep === undefined) {
    keep = (bytes: Uint8Array) => pool.retain(bytes);
    KEEPERS.set(pool, keep);
  }
  return keep;
}

/** The topic's `min.insync.replicas` for acks=all (1 otherwise: not looked up). */
function minIsrOf(broker: BrokerContext, acks: number, topic: string): number {
  if (acks !== -1) return 1;
  return Number(broker.logs.topic(topic)?.effective["min.insync.replicas"] ?? "1");
}

/** One topic's partitions of a Produce request, appended (or refused) and counted. */
async function produceTopic(
  ctx: RequestContext,
  req: ProduceRequest,
  td: ProduceRequest["topicData"][number],
  allowed: boolean,
  refusal: [number, string] | null,
  signal: AbortSignal,
  keep: KeepBytes | undefined,
): Promise<TopicResponse> {
  const broker = ctx.broker;
  if (!allowed) {
    return createProduceResponseTopicProduceResponse({
      name: td.name,
      partitionResponses: td.partitionData.map((pd) =>
        failed(pd.index, ErrorCode.TOPIC_AUTHORIZATION_FAILED, null)
      ),
    });
  }
  const minIsr = minIsrOf(broker, req.acks, td.name);
  const appends: (PartitionResponse | Promise<PartitionResponse>)[] = [];
  for (let i = 0; i < td.partitionData.length; i++) {
    const pd = td.partitionData[i];
    appends.push(
      refusal !== null ? failed(pd.index, refusal[0], refusal[1]) : appendOne(
        broker,
        td.name,
        pd.index,
        pd.records,
        req.acks,
        minIsr,
        ctx.version,
        req.timeoutMs,
        signal,
        req.transactionalId,
        keep,
      ),
    );
  }
  // one partition (the usual request): awaited here, without settleAll's own async call
  const partitionResponses = appends.length === 1 ? [await appends[0]] : await settleAll(appends);
  countProduce(broker, td.name, partitionResponses);
  return createProduceResponseTopicProduceResponse({ name: td.name, partitionResponses });
}

/** Produce handler. */
export const produce: ApiHandler = defineApi<ProduceRequest, ProduceResponse>({
  minVersion: 0,
  maxVersion: 11,
  request: ProduceRequest,
  response: ProduceResponse,
  async handle(ctx, req) {
    const broker = ctx.broker;
    let refusal: [number, string] | null = null;
    if (req.acks !== -1 && req.acks !== 0 && req.acks !== 1) {
      refusal = [ErrorCode.INVALID_REQUIRED_ACKS, `acks=${req.acks} is not one of -1, 0, 1`];
    }
    if (refusal !== null) {
      broker.logger.warn(
        `Produce v${ctx.version} from ${ctx.clientId ?? "?"} (connection ${ctx.connection.id}) ` +
          `refused: ${refusal[1]}`,
      );
    }
    // an acks=all wait (replicated partitions) ends early when the client leaves or the broker
    // shuts down
    const signal = broker.replicas === undefined || req.acks !== -1 ||
        ctx.connection.closed === undefined
      ? broker.closing
      : AbortSignal.any([broker.closing, ctx.connection.closed]);
    if (
      broker.authorizer !== undefined && hasTransactionalRecords(req, ctx.version) &&
      !(req.transactionalId !== null &&
        authorize(ctx, ACCESS.Produce.transactionalId, req.transactionalId))
    ) {
      refusal = [
        ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
        "Transactional Id authorization failed.",
      ];
    }
    // one topic (the usual request): authorized without the sets that deduplicate many
    const single = req.topicData.length === 1 ? req.topicData[0].name : undefined;
    const writable = single === undefined
      ? authorizedNames(ctx, ACCESS.Produce.topic, req.topicData.map((t) => t.name))
      : undefined;
    const keep = keepOf(broker);
    const singleOk = single !== undefined && authorize(ctx, ACCESS.Produce.topic, single);
    let responses: TopicResponse[];
    if (singleOk && refusal === null && req.topicData[0].partitionData.length === 1) {
      // one partition (the usual request): appended here, without a call per topic
      const td = req.topicData[0];
      const pd = td.partitionData[0];
      const partitionResponses = [
        await appendOne(
          broker,
          td.name,
          pd.index,
          pd.records,
          req.acks,
          minIsrOf(broker, req.acks, td.name),
          ctx.version,
          req.timeoutMs,
          signal,
          req.transactionalId,
          keep,
        ),
      ];
      countProduce(broker, td.name, partitionResponses);
      responses = [
        createProduceResponseTopicProduceResponse({ name: td.name, partitionResponses }),
      ];
    } else {
      const topics: Promise<TopicResponse>[] = [];
      for (let i = 0; i < req.topicData.length; i++) {
        const td = req.topicData[i];
        const ok = writable === undefined ? singleOk : writable.has(td.name);
        topics.push(produceTopic(ctx, req, td, refusal !== null || ok, refusal, signal, keep));
      }
      responses = topics.length === 1 ? [await topics[0]] : await settleAll(topics);
    }
    if (req.acks === 0) {
      for (const t of responses) {
        for (const p of t.partitionResponses) {
          if (p.errorCode !== 0) {
            throw new CloseConnection(
              `acks=0 Produce to ${t.name}-${p.index} failed (error ${p.errorCode}: ` +
                `${p.errorMessage}); closing so the producer refreshes metadata`,
            );
          }
        }
      }
      return null;
    }
    return createProduceResponse({ responses });
  },
  errorResponse(req, errorCode, message) {
    return createProduceResponse({
      responses: req.topicData.map((td) =>
        createProduceResponseTopicProduceResponse({
          name: td.name,
          partitionResponses: td.partitionData.map((pd) => failed(pd.index, errorCode, message)),
        })
      ),
    });
  },
});
