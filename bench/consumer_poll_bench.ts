// Copyright 2026 the Sluice authors. Apache-2.0 license.
// Consumer.poll (client/consumer.ts) with 1, 64 and 1,000 assigned partitions of which one has
// records: what a poll costs as the assignment grows while the traffic does not. Each poll hands
// out one batch of 10 records of partition 0 (maxPartitionBytes 1: a leader answers with the
// first batch only, KIP-74) while every other partition is fetched and answers empty, against a
// real in-process broker on localhost. Per poll the consumer walks its positions to end the
// rotation's visits, sorts the fetchable partitions by unit, checks each one's backoff and
// leader, and builds and decodes a Fetch of every partition (no fetch sessions). The broker runs
// in the same process, so its Fetch handling is in the figures too.
// Run: deno bench --allow-all bench/consumer_poll_bench.ts
// A/B: SLUICE_BENCH_BEFORE=/tmp/before (a `git archive` of another checkout) adds that checkout's
// consumer, reading the same topics from the same broker, as each group's baseline; run it again
// with SLUICE_BENCH_FLIP=1 for the other order.
import { Admin, Client, Consumer } from "../client/mod.ts";
import { ProduceRequest, ProduceResponse } from "../protocol/messages/produce.ts";
import { buildBatch } from "../wasm/testing.ts";
import { produceBody, RawClient, startTestBroker } from "../server/testing.ts";

/** Measured polls of each bench, and unmeasured ones before. */
const POLLS = 1000;
const WARMUP = 50;
const SIZES = [1, 64, 1000];

const t = await startTestBroker();
const raw = await RawClient.connect(t.broker.port);
const client = new Client({ bootstrapServers: `127.0.0.1:${t.broker.port}` });
const batch = buildBatch({
  records: Array.from({ length: 10 }, (_, i) => ({ key: `k${i}`, value: "v".repeat(100) })),
});
const before = Deno.env.get("SLUICE_BENCH_BEFORE");
const sides: { name: string; Client: typeof Client; Consumer: typeof Consumer }[] = [
  { name: "", Client, Consumer },
];
if (before !== undefined) {
  const mod = await import(`${before}/client/mod.ts`);
  sides.unshift({ name: "before: ", Client: mod.Client, Consumer: mod.Consumer });
}
for (const n of SIZES) {
  const topic = `poll-${n}`;
  await new Admin(client).createTopics([{ name: topic, numPartitions: n }]);
  // one batch per measured or warm-up poll, and some to spare
  for (let i = 0; i < POLLS + WARMUP + 100; i++) {
    const r = await raw.request(ProduceRequest, ProduceResponse, 9, produceBody(topic, 0, batch));
    if (r.responses[0].partitionResponses[0].errorCode !== 0) throw new Error("produce failed");
  }
}

const clients = new Map(
  sides.map((side) => [side, new side.Client({ bootstrapServers: `127.0.0.1:${t.broker.port}` })]),
);
// each size's two sides run one after the other, the first of them alternating by size (the
// first of a pair ran up to 1.7x slower on a loaded machine): SLUICE_BENCH_FLIP=1 swaps them
const flip = Deno.env.get("SLUICE_BENCH_FLIP") === "1" ? 1 : 0;
for (const [i, n] of SIZES.entries()) {
  for (const side of (i + flip) % 2 === 0 ? sides : [...sides].reverse()) {
    const topic = `poll-${n}`;
    const consumer = new side.Consumer(clients.get(side)!, {
      fromBeginning: true,
      maxPartitionBytes: 1,
      maxWaitMs: 5000,
    });
    await consumer.assign(Array.from({ length: n }, (_, partition) => ({ topic, partition })));
    const what = `${n.toLocaleString("en")} assigned partition${n === 1 ? "" : "s"}`;
    Deno.bench(`${side.name}poll, ${what}, one with records`, {
      group: before === undefined ? "consumer poll" : what,
      baseline: before === undefined ? n === 1 : side.name !== "",
      n: POLLS,
      warmup: WARMUP,
    }, async () => {
      const records = await consumer.poll();
      // an empty poll would time the long-poll wait, not the consumer
      if (records.length !== 10) throw new Error(`poll of ${n}: ${records.length} records`);
    });
  }
}

globalThis.addEventListener("unload", () => {
  raw.close();
});
