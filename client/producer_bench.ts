// Copyright 2026 the Sluice authors. Apache-2.0 license.
// Producer throughput against an in-process broker over real TCP: 20,000 records of 100 B per
// iteration, in sends of 1,000 with up to 8 outstanding (as bench/e2e's client worker), one
// partition. acks=1 (not idempotent) is the baseline; acks=-1 without and with idempotence (the
// default) show what the producer id, sequences and in-flight bound cost. Records/s = 20,000 /
// (time per iteration). Run: deno bench -A client/producer_bench.ts
import { Broker } from "../server/mod.ts";
import { Admin } from "./admin.ts";
import { Client } from "./client.ts";
import { Producer, type ProducerOptions } from "./producer.ts";

const RECORDS = 20_000;
const PER_SEND = 1_000;
const OUTSTANDING = 8;

const dir = await Deno.makeTempDir({ prefix: "sluice_producer_bench_" });
const broker = await Broker.start({
  listeners: "PLAINTEXT://127.0.0.1:0",
  logDirs: [dir],
  logLevel: "silent",
});
const client = new Client({ bootstrapServers: `127.0.0.1:${broker.port}` });
const value = new Uint8Array(100).fill(0x61);

async function producerFor(topic: string, options: ProducerOptions): Promise<Producer> {
  await new Admin(client).createTopics([{ name: topic, numPartitions: 1 }]);
  const producer = new Producer(client, { lingerMs: 5, batchSize: 1_000_000, ...options });
  await producer.send({ topic, messages: [{ value }] });
  return producer;
}

async function run(producer: Producer, topic: string): Promise<void> {
  const messages = Array.from({ length: PER_SEND }, () => ({ value, partition: 0 }));
  const outstanding = new Set<Promise<unknown>>();
  for (let i = 0; i < RECORDS; i += PER_SEND) {
    const p = producer.send({ topic, messages });
    outstanding.add(p);
    p.finally(() => outstanding.delete(p));
    if (outstanding.size >= OUTSTANDING) await Promise.race(outstanding);
  }
  await Promise.all(outstanding);
}

const cases: Array<[string, string, ProducerOptions, boolean]> = [
  ["acks=1", "bench-acks1", { acks: 1 }, true],
  ["acks=-1, idempotent: false", "bench-acksall", { acks: -1, idempotent: false }, false],
  ["acks=-1 (idempotent by default)", "bench-idem", { acks: -1 }, false],
];
for (const [name, topic, options, baseline] of cases) {
  const producer = await producerFor(topic, options);
  Deno.bench({
    name,
    group: `produce ${RECORDS} x 100 B`,
    baseline,
    warmup: 20,
    n: 60,
    async fn() {
      await run(producer, topic);
    },
  });
}
