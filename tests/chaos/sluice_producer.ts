// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * The crash harness's producer on Sluice's own client: `client/producer.ts` as users get it
 * (idempotent by default with acks=all: InitProducerId, per-partition sequences, up to 5 batches
 * in flight per partition, each retried byte for byte until the broker acknowledges it), with a
 * delivery timeout longer than any run, so that a broker that is killed and restarted either
 * deduplicates a retried batch or appends it once.
 *
 * Run by the harness as its own process:
 *
 * ```sh
 * deno run -A tests/chaos/sluice_producer.ts '<WorkerSpec as JSON>'
 * ```
 *
 * and speaks the line protocol of {@linkcode ./protocol.ts}: an `A` line per acknowledged record,
 * `F` and exit code 3 when a send fails (after the client's retries: a non-retriable error, or a
 * fatal one such as INVALID_PRODUCER_EPOCH) or when the producer had to bump its epoch (the
 * broker answered OUT_OF_ORDER_SEQUENCE_NUMBER or UNKNOWN_PRODUCER_ID: it lost an acknowledged
 * batch or the producer's state). Each partition has up to 8 sends
 * of `batchRecords` records outstanding; with `recordsPerSecond` the batches are paced to that
 * rate over all partitions. SIGTERM stops it after every record sent is acknowledged.
 *
 * @module
 */

import { Client, Producer } from "../../client/mod.ts";
import { ackLine, makeValue, type WorkerSpec } from "./protocol.ts";

/** Sends outstanding per partition (the client keeps at most 5 batches of one in flight). */
const SENDS_PER_PARTITION = 8;
/** Longer than any run: a record is retried until the broker is back. */
const DELIVERY_TIMEOUT_MS = 3_600_000;

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
    retryBackoffMs: 50,
  });
  const producer = new Producer(client, {
    acks: -1,
    idempotent: true,
    lingerMs: 2,
    deliveryTimeoutMs: DELIVERY_TIMEOUT_MS,
    allowAutoTopicCreation: false,
    onEpochBump: (b) =>
      fatal(
        `producer id ${b.previousProducerId} epoch ${b.previousProducerEpoch} bumped to ` +
          `${b.producerId}/${b.producerEpoch} after ${b.error.message} on ` +
          `${b.topic}-${b.partition}: the broker lost an acknowledged batch or the producer state`,
      ),
  });
  let seq = 0;
  const started = performance.now();
  const rate = spec.recordsPerSecond ?? 0;
  const lanes = spec.targets.map(async ([topic, partition]) => {
    const sends = new Set<Promise<void>>();
    while (!stopping) {
      if (rate > 0) {
        // paced over all partitions: wait until the next batch's records are due
        const due = (seq + spec.batchRecords) / rate * 1000 - (performance.now() - started);
        if (due > 0) {
          await new Promise((r) => setTimeout(r, Math.min(due, 100)));
          continue;
        }
      }
      const ids: string[] = [];
      for (let i = 0; i < spec.batchRecords; i++) ids.push(`${spec.name}:${seq++}`);
      const sent = producer.send({
        topic,
        messages: ids.map((id) => ({ value: makeValue(id, spec.recordBytes), partition })),
      }).then((metas) => {
        const now = Date.now();
        metas.forEach((m, i) => {
          emit(ackLine({ topic, partition, offset: m.offset, id: ids[i], ts: now }));
        });
      }, (e) => {
        fatal(
          `produce ${ids[0]}..${ids.at(-1)} to ${topic}-${partition}: ${
            e instanceof Error ? e.message : e
          }`,
        );
      });
      sends.add(sent);
      sent.finally(() => sends.delete(sent));
      if (sends.size >= SENDS_PER_PARTITION) await Promise.race(sends);
    }
    await Promise.all(sends);
  });
  await Promise.all(lanes);
  await producer.close();
  await drainOutput();
  await client.close();
}

if (import.meta.main) {
  main().then(
    () => Deno.exit(0),
    (e) => fatal(e instanceof Error ? e.message : String(e)),
  );
}
