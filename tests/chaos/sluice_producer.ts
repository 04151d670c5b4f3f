// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * The crash harness's producer on Sluice's own client: an idempotent producer (InitProducerId,
 * then per-partition sequence numbers, acks=all) built on `Client` and `RecordBatchBuilder`,
 * because `client/producer.ts` does not do idempotence. Each partition has one batch in flight;
 * a batch that fails with a retriable or connection error is sent again, byte for byte (same
 * sequence), until the broker acknowledges it, so a broker that is killed and restarted either
 * deduplicates it or appends it once.
 *
 * Run by the harness as its own process:
 *
 * ```sh
 * deno run -A tests/chaos/sluice_producer.ts '<WorkerSpec as JSON>'
 * ```
 *
 * and speaks the line protocol of {@linkcode ./protocol.ts}: an `A` line per acknowledged record,
 * `F` and exit code 3 when the producer cannot continue (a sequence or epoch error). SIGTERM
 * stops it after the batches in flight are acknowledged.
 *
 * @module
 */

import { Client } from "../../client/client.ts";
import { RecordBatchBuilder } from "../../records/mod.ts";
import { ErrorCode, errorName, isRetriable, KafkaError } from "../../protocol/errors.ts";
import {
  InitProducerIdRequest,
  InitProducerIdResponse,
} from "../../protocol/messages/init_producer_id.ts";
import { ProduceRequest, ProduceResponse } from "../../protocol/messages/produce.ts";
import { ackLine, makeValue, type WorkerSpec } from "./protocol.ts";

/** Errors after which this producer id cannot go on: the harness starts a new producer. */
const FATAL = new Set<number>([
  ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
  ErrorCode.DUPLICATE_SEQUENCE_NUMBER,
  ErrorCode.INVALID_PRODUCER_EPOCH,
  ErrorCode.UNKNOWN_PRODUCER_ID,
  ErrorCode.CORRUPT_MESSAGE,
  ErrorCode.INVALID_RECORD,
  ErrorCode.MESSAGE_TOO_LARGE,
  ErrorCode.RECORD_LIST_TOO_LARGE,
]);

const encoder = new TextEncoder();
const out = Deno.stdout.writable.getWriter();
let pending = "";
let flushing: Promise<void> | undefined;

function emit(line: string): void {
  pending += line + "\n";
  flushing ??= (async () => {
    while (pending !== "") {
      const text = pending;
      pending = "";
      await out.write(encoder.encode(text));
    }
    flushing = undefined;
  })();
}

async function drainOutput(): Promise<void> {
  while (flushing) await flushing;
}

function fatal(detail: string): never {
  console.error(`sluice producer: ${detail}`);
  Deno.stdout.writeSync(encoder.encode(pending + `F ${detail.replaceAll("\n", " ")}\n`));
  Deno.exit(3);
}

const delay = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function initProducerId(client: Client, stop: () => boolean): Promise<[number, number]> {
  for (let attempt = 0;; attempt++) {
    try {
      const res = await client.send(
        "any",
        { request: InitProducerIdRequest, response: InitProducerIdResponse },
        InitProducerIdRequest.create({
          transactionalId: null,
          transactionTimeoutMs: 60_000,
          producerId: -1,
          producerEpoch: -1,
        }),
      );
      if (res.errorCode === 0) return [res.producerId, res.producerEpoch];
      if (!isRetriable(res.errorCode)) {
        fatal(`init producer id: ${errorName(res.errorCode)}`);
      }
    } catch (e) {
      if (stop()) throw e;
    }
    await delay(Math.min(1000, 50 * 2 ** attempt));
  }
}

async function main(): Promise<void> {
  const spec = JSON.parse(Deno.args[0] ?? "") as WorkerSpec;
  let stopping = false;
  Deno.addSignalListener("SIGTERM", () => stopping = true);
  emit("R");
  const client = new Client({
    bootstrapServers: spec.bootstrap,
    clientId: spec.name,
    requestTimeoutMs: 15_000,
    connectTimeoutMs: 2_000,
    retries: 2,
    retryBackoffMs: 100,
  });
  const [producerId, producerEpoch] = await initProducerId(client, () => stopping);
  console.error(`sluice producer ${spec.name}: producer id ${producerId} epoch ${producerEpoch}`);
  let seq = 0;
  const lanes = spec.targets.map(async ([topic, partition]) => {
    let sequence = 0;
    while (!stopping) {
      const builder = new RecordBatchBuilder(spec.batchRecords * (spec.recordBytes + 32) + 128);
      const ids: string[] = [];
      for (let i = 0; i < spec.batchRecords; i++) {
        const id = `${spec.name}:${seq++}`;
        ids.push(id);
        builder.append(null, makeValue(id, spec.recordBytes), Date.now());
      }
      const records = builder.finish({ producerId, producerEpoch, baseSequence: sequence });
      const request = ProduceRequest.create({
        transactionalId: null,
        acks: -1,
        timeoutMs: 30_000,
        topicData: [{ name: topic, partitionData: [{ index: partition, records }] }],
      });
      for (let attempt = 0;; attempt++) {
        let code: number;
        let baseOffset = -1;
        let detail = "";
        try {
          const leader = await client.leaderFor(topic, partition);
          const res = await client.send(
            leader,
            { request: ProduceRequest, response: ProduceResponse },
            request,
          );
          const p = res.responses[0]?.partitionResponses[0];
          code = p?.errorCode ?? ErrorCode.UNKNOWN_SERVER_ERROR;
          baseOffset = p?.baseOffset ?? -1;
          detail = p?.errorMessage ?? "";
        } catch (e) {
          code = e instanceof KafkaError ? e.code : ErrorCode.NETWORK_EXCEPTION;
          detail = e instanceof Error ? e.message : String(e);
        }
        if (code === 0) {
          const now = Date.now();
          for (let i = 0; i < ids.length; i++) {
            emit(ackLine({ topic, partition, offset: baseOffset + i, id: ids[i], ts: now }));
          }
          break;
        }
        if (FATAL.has(code)) {
          fatal(
            `produce ${ids[0]}..${ids.at(-1)} to ${topic}-${partition} (sequence ${sequence}): ` +
              `${errorName(code)}${detail ? ` (${detail})` : ""}`,
          );
        }
        client.invalidate(topic);
        await delay(Math.min(1000, 50 * 2 ** Math.min(attempt, 5)));
      }
      sequence += ids.length;
    }
  });
  await Promise.all(lanes);
  await drainOutput();
  await client.close();
}

if (import.meta.main) {
  main().then(
    () => Deno.exit(0),
    (e) => fatal(e instanceof Error ? e.message : String(e)),
  );
}
