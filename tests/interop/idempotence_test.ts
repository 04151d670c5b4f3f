// Copyright 2026 the Sluice authors. Apache-2.0 license.
// Idempotent producers of real clients against a real in-process Sluice broker, with the
// broker-side deduplication of engine/producer_state.ts on: kcat (librdkafka,
// enable.idempotence=true, up to 5 requests in flight) and kafkajs (idempotent: true) still store
// exactly n records at offsets 0..n-1; across a broker restart a second producer continues the log.

import { deepStrictEqual as assertEquals } from "node:assert/strict";
import {
  interopTest,
  requireClient,
  runCommand,
  sharedBroker,
  startBroker,
  type TestBroker,
  uniqueTopic,
  withTimeout,
} from "../harness.ts";
import { ProducerStateManager } from "../../engine/producer_state.ts";
import { FaultProxy } from "../fault_proxy.ts";
import { CALL_MS, consumeAll, kafkaFor, loadKafkajs } from "./kafkajs_client.ts";

const kcat = requireClient("kcat");
const kafkajsClient = requireClient("kafkajs");
const kafkajs = await loadKafkajs(kafkajsClient.available);
const broker = sharedBroker({ numPartitions: 1 });

async function kcatRun(args: string[], stdin?: string): Promise<string> {
  const r = await runCommand("kcat", args, { stdin, timeoutMs: 60_000 });
  if (r.timedOut) throw new Error(`kcat ${args.join(" ")}: timed out\n${r.stderr}`);
  if (r.code !== 0) throw new Error(`kcat ${args.join(" ")}: exit ${r.code}\n${r.stderr}`);
  return r.stdout;
}

async function kcatProduce(b: TestBroker, topic: string, values: string[]): Promise<void> {
  await kcatRun([
    "-b",
    b.bootstrap,
    "-P",
    "-t",
    topic,
    "-p",
    "0",
    "-X",
    "enable.idempotence=true",
    "-X",
    "linger.ms=2",
    "-X",
    "batch.num.messages=37",
    "-X",
    "max.in.flight.requests.per.connection=5",
  ], values.join("\n") + "\n");
}

async function kcatConsume(b: TestBroker, topic: string): Promise<[number, string][]> {
  const out = await kcatRun([
    "-b",
    b.bootstrap,
    "-C",
    "-t",
    topic,
    "-J",
    "-X",
    "check.crcs=true",
    "-o",
    "beginning",
    "-e",
  ]);
  return out.split("\n").filter((l) => l.trim() !== "").map((l) => {
    const m = JSON.parse(l);
    return [m.offset, m.payload];
  });
}

/** [epoch, lastSequence, lastOffset] per producer id in the latest snapshot of partition 0. */
async function snapshotSequences(b: TestBroker, topic: string): Promise<number[][]> {
  const state = new ProducerStateManager(`${b.dataDir}/${topic}-0`);
  await state.load([], 0, Number.MAX_SAFE_INTEGER, true);
  return state.producerStates().map((s) => [s.epoch, s.lastSequence, s.lastOffset]);
}

interopTest(kcat, "enable.idempotence=true, 1000 records pipelined: offsets 0..999", async () => {
  const b = await broker();
  const topic = uniqueTopic("idem-kcat");
  const values = Array.from({ length: 1000 }, (_, i) => `v${i}`);
  await kcatProduce(b, topic, values);
  const got = await kcatConsume(b, topic);
  assertEquals(got, values.map((v, i) => [i, v]));
});

interopTest(kcat, "enable.idempotence=true across a broker restart", async () => {
  const b = await broker();
  const topic = uniqueTopic("idem-kcat-restart");
  const first = Array.from({ length: 100 }, (_, i) => `a${i}`);
  const second = Array.from({ length: 100 }, (_, i) => `b${i}`);
  await kcatProduce(b, topic, first);
  await b.restart();
  // the clean shutdown wrote the producer state: one producer, sequences 0..99 at offsets 0..99
  assertEquals(await snapshotSequences(b, topic), [[0, 99, 99]]);
  await kcatProduce(b, topic, second);
  const got = await kcatConsume(b, topic);
  assertEquals(got, [...first, ...second].map((v, i) => [i, v]));
});

interopTest(kafkajsClient, "idempotent: true, 10 sends of 50: offsets 0..499", async () => {
  const b = await broker();
  const kafka = kafkaFor(kafkajs!, b);
  const topic = uniqueTopic("idem-kafkajs");
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  const values = Array.from({ length: 500 }, (_, i) => `j${i}`);
  await withTimeout(producer.connect(), CALL_MS, "kafkajs idempotent connect");
  try {
    for (let s = 0; s < 10; s++) {
      await withTimeout(
        producer.send({
          topic,
          acks: -1,
          messages: values.slice(s * 50, s * 50 + 50).map((value) => ({ partition: 0, value })),
        }),
        CALL_MS,
        "kafkajs idempotent send",
      );
    }
  } finally {
    await producer.disconnect();
  }
  const got = await consumeAll(kafka, topic, values.length);
  assertEquals(got.map((g) => [g.offset, g.value]), values.map((v, i) => [i, v]));
});

/**
 * A broker behind a proxy that loses the first `drops` Produce responses: the broker has appended
 * the batch, the client sees its connection close and must retry the same sequence.
 */
async function withLossyBroker(
  drops: number,
  fn: (bootstrap: string, proxy: FaultProxy) => Promise<void>,
): Promise<void> {
  let port = 0;
  const proxy = new FaultProxy(() => port, {
    produce: (n) => n < drops ? "drop-response" : "forward",
  });
  const b = await startBroker({
    numPartitions: 1,
    advertisedListeners: `PLAINTEXT://127.0.0.1:${proxy.port}`,
  });
  port = b.port;
  try {
    await fn(`127.0.0.1:${proxy.port}`, proxy);
  } finally {
    await proxy.close();
    await b.close();
  }
}

interopTest(
  kcat,
  "enable.idempotence=true: lost Produce responses are retried, no duplicates",
  async () => {
    await withLossyBroker(3, async (bootstrap, proxy) => {
      const topic = uniqueTopic("idem-kcat-lossy");
      const values = Array.from({ length: 300 }, (_, i) => `l${i}`);
      await kcatRun([
        "-b",
        bootstrap,
        "-P",
        "-E", // kcat would give up when its only broker connection drops
        "-t",
        topic,
        "-p",
        "0",
        "-X",
        "enable.idempotence=true",
        "-X",
        "linger.ms=5",
        "-X",
        "batch.num.messages=20",
        "-X",
        "retry.backoff.ms=20",
      ], values.join("\n") + "\n");
      assertEquals(proxy.dropped, 3);
      const got = await kcatRun([
        "-b",
        bootstrap,
        "-C",
        "-t",
        topic,
        "-J",
        "-o",
        "beginning",
        "-e",
      ]);
      const rows = got.split("\n").filter((l) => l.trim() !== "").map((l) => {
        const m = JSON.parse(l);
        return [m.offset, m.payload];
      });
      assertEquals(rows, values.map((v, i) => [i, v]));
    });
  },
);

interopTest(
  kafkajsClient,
  "idempotent: true: lost Produce responses are retried, no duplicates",
  async () => {
    await withLossyBroker(2, async (bootstrap, proxy) => {
      const kafka = new kafkajs!.Kafka({
        clientId: "sluice-idem-lossy",
        brokers: [bootstrap],
        logLevel: kafkajs!.logLevel.NOTHING,
        retry: { retries: 8, initialRetryTime: 50 },
      });
      const topic = uniqueTopic("idem-kafkajs-lossy");
      const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
      const values = Array.from({ length: 100 }, (_, i) => `m${i}`);
      await withTimeout(producer.connect(), CALL_MS, "kafkajs idempotent connect");
      try {
        for (let s = 0; s < 10; s++) {
          await withTimeout(
            producer.send({
              topic,
              acks: -1,
              messages: values.slice(s * 10, s * 10 + 10).map((value) => ({ partition: 0, value })),
            }),
            CALL_MS,
            "kafkajs idempotent send",
          );
        }
      } finally {
        await producer.disconnect();
      }
      assertEquals(proxy.dropped, 2);
      const got = await consumeAll(kafka, topic, values.length);
      assertEquals(got.map((g) => [g.offset, g.value]), values.map((v, i) => [i, v]));
    });
  },
);
