// Copyright 2026 the Sluice authors. Apache-2.0 license.
// Produce (key 0): advertised v0-v11, served v3-v11.
// - v0-v2 carry message format v0/v1 (magic 0/1), which we do not store: every partition gets
//   UNSUPPORTED_VERSION and a warning is logged. They are still advertised because librdkafka
//   <= 2.8 disables compression/idempotence if Produce does not start at 0.
// - v3+: each partition must carry exactly one magic-v2 record batch (else INVALID_RECORD, as
//   Kafka); the engine validates it (CRC, framing: CORRUPT_MESSAGE; records: INVALID_RECORD;
//   size: MESSAGE_TOO_LARGE / RECORD_LIST_TOO_LARGE), assigns offsets in place and appends it.
//   Compressed batches (gzip/snappy/lz4/zstd) are stored as received, checked by CRC only.
// - Clients may not write to the internal `__consumer_offsets` (INVALID_TOPIC_EXCEPTION).
// - acks must be -1, 0 or 1 (else INVALID_REQUIRED_ACKS). acks=-1 with min.insync.replicas > 1
//   gets NOT_ENOUGH_REPLICAS (we are the only replica). acks=0 gets no response; if a partition
//   failed the connection is closed, as Kafka does, so the producer refreshes metadata.
// - v5+ log_start_offset, v8+ record_errors/error_message, v10+ current_leader (tagged; only on
//   leader errors, so left at default).
// - Idempotent producers (engine/producer_state.ts, Kafka 2.7+ rules): a batch equal to one of
//   the producer's last 5 (same epoch and sequence range) is not stored again and answered NONE
//   with its original base offset (as Kafka: clients treat it as success); a sequence gap or a
//   new epoch not starting at 0 gets OUT_OF_ORDER_SEQUENCE_NUMBER, an older epoch
//   INVALID_PRODUCER_EPOCH; a producer id without state (new or expired) may start at any
//   sequence (KIP-360: UNKNOWN_PRODUCER_ID is not sent).
// - Transactional batches (`../txn/`): a producer fenced by its transactional id's newer epoch
//   gets INVALID_PRODUCER_EPOCH. Clients may not write to `__transaction_state` either.
// - No per-record work: one header peek per partition; records stay raw bytes.

import { ErrorCode } from "../../protocol/errors.ts";
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
} from "../api.ts";
import { TRANSACTION_STATE_TOPIC, transactionCoordinatorOf } from "../txn/mod.ts";
import { CloseConnection } from "../connection.ts";
import { CONSUMER_OFFSETS_TOPIC } from "../group/mod.ts";

type PartitionResponse = ProduceResponse["responses"][number]["partitionResponses"][number];

function failed(index: number, errorCode: number, message: string | null): PartitionResponse {
  return createProduceResponsePartitionProduceResponse({
    index,
    errorCode,
    baseOffset: -1,
    logAppendTimeMs: -1,
    logStartOffset: -1,
    errorMessage: message === null ? null : clipMessage(message),
  });
}

/** Check the one-batch framing Kafka demands of Produce v3+; returns an error text or null. */
function checkSingleBatch(records: Uint8Array | null): string | null {
  if (records === null || records.length === 0) return "no record batch";
  if (records.length < 17) return null; // Too short: the engine reports CORRUPT_MESSAGE.
  const view = new DataView(records.buffer, records.byteOffset, records.byteLength);
  const magic = records[16];
  if (magic !== 2) {
    return `record batch magic v${magic} is not supported (Produce v3+ must use magic v2)`;
  }
  const total = 12 + view.getInt32(8);
  if (total > 12 && total < records.length) {
    return "Produce v3+ must contain exactly one record batch per partition";
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
): Promise<PartitionResponse> {
  const log = broker.logs.partition(topic, index);
  if (log === undefined) {
    return failed(
      index,
      ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
      `${topic}-${index} does not exist on this broker`,
    );
  }
  if (topic === CONSUMER_OFFSETS_TOPIC || topic === TRANSACTION_STATE_TOPIC) {
    return failed(
      index,
      ErrorCode.INVALID_TOPIC_EXCEPTION,
      `Cannot append to internal topic ${topic}`,
    );
  }
  if (acks === -1 && minIsr > 1) {
    return failed(
      index,
      ErrorCode.NOT_ENOUGH_REPLICAS,
      `${topic} has min.insync.replicas=${minIsr} but this broker is its only replica`,
    );
  }
  const bad = checkSingleBatch(records);
  if (bad !== null) return failed(index, ErrorCode.INVALID_RECORD, bad);
  // HOOK (transactions): a fenced transactional producer may not append (attributes bit 4).
  if (records!.length >= 61 && (records![22] & 0x10) !== 0 && (records![43] & 0x80) === 0) {
    const v = new DataView(records!.buffer, records!.byteOffset, 61);
    const producerId = Number(v.getBigInt64(43));
    const epoch = v.getInt16(51);
    const code = (await transactionCoordinatorOf(broker)).checkProduce(producerId, epoch);
    if (code !== ErrorCode.NONE) {
      return failed(
        index,
        code,
        `Producer ${producerId} epoch ${epoch} is fenced by a newer epoch of its transactional id`,
      );
    }
  }
  try {
    const r = await log.append(records!);
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
    broker.logger.warn(`Produce to ${topic}-${index} refused: ${message}`);
    return failed(index, code, message);
  }
}

/** Produce handler. */
export const produce: ApiHandler = defineApi<ProduceRequest, ProduceResponse>({
  key: 0,
  name: "Produce",
  minVersion: 0,
  maxVersion: 11,
  request: ProduceRequest,
  response: ProduceResponse,
  async handle(ctx, req) {
    const broker = ctx.broker;
    let refusal: [number, string] | null = null;
    if (ctx.version < 3) {
      refusal = [
        ErrorCode.UNSUPPORTED_VERSION,
        `Produce v${ctx.version} carries message format v0/v1, which this broker does not store`,
      ];
    } else if (req.acks !== -1 && req.acks !== 0 && req.acks !== 1) {
      refusal = [ErrorCode.INVALID_REQUIRED_ACKS, `acks=${req.acks} is not one of -1, 0, 1`];
    }
    if (refusal !== null) {
      broker.logger.warn(
        `Produce v${ctx.version} from ${ctx.clientId ?? "?"} (connection ${ctx.connection.id}) ` +
          `refused: ${refusal[1]}`,
      );
    }
    const responses = await Promise.all(req.topicData.map(async (td) => {
      let minIsr = 1;
      if (req.acks === -1) {
        const info = broker.logs.topic(td.name);
        minIsr = Number(info?.effective["min.insync.replicas"] ?? "1");
      }
      const partitionResponses = await Promise.all(
        td.partitionData.map((pd) =>
          refusal !== null
            ? failed(pd.index, refusal[0], refusal[1])
            : appendOne(broker, td.name, pd.index, pd.records, req.acks, minIsr)
        ),
      );
      return createProduceResponseTopicProduceResponse({ name: td.name, partitionResponses });
    }));
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
