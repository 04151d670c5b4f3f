// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * Streams throughput against the plain consume rate in one run (issue #16's bar: a stateless
 * `map`/`filter` topology processes at least 200k records/s of 100 bytes with at-least-once).
 * One broker process; RECORDS records of 100 bytes are produced to a fresh topic; then,
 * alternately, ROUNDS times: our `Consumer` reads them all from the start (the plain consume
 * rate), and a `KafkaStreams` instance runs `stream → mapValues(upper case) → filter(drop ~1 in
 * 16) → to(output)` over them with at_least_once, timed from `start()` until its group has
 * committed the whole input. Prints each run (with the CPU time of this process per record, which
 * the load of a shared machine changes far less than the rates, and the load average) and the
 * medians.
 *
 * @example
 * ```sh
 * deno task bench:streams                       # 1000000 records x 3 rounds
 * deno task bench:streams --records 300000 --rounds 1
 * deno task bench:streams --merge               # two input topics, merged: a task of two
 *                                               # partitions (timestamp-synchronised)
 * ```
 *
 * @module
 */

import { cpuUsage } from "node:process";
import { parseArgs } from "node:util";
import { Admin, Client, Consumer, Producer } from "../client/mod.ts";
import { KafkaStreams, Serdes, StreamsBuilder } from "../streams/mod.ts";
import { startBrokerProcess } from "./e2e/broker_process.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    records: { type: "string", default: "1000000" },
    rounds: { type: "string", default: "3" },
    partitions: { type: "string", default: "4" },
    merge: { type: "boolean", default: false },
  },
});
const RECORDS = Number(values.records);
const ROUNDS = Number(values.rounds);
const PARTITIONS = Number(values.partitions);
/** Half the records go to a second topic and the topology merges the two streams. */
const MERGE = values.merge;
const SIZE = 100;
const TIMEOUT_MS = 600_000;

/** CPU seconds (user and system) of this process since `since`. */
function cpuSeconds(since: NodeJS.CpuUsage): number {
  const u = cpuUsage(since);
  return (u.user + u.system) / 1e6;
}

/** The 1-minute load average (Linux), for the figures' context. */
async function load(): Promise<string> {
  try {
    return (await Deno.readTextFile("/proc/loadavg")).split(" ")[0];
  } catch {
    return "?";
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// As Kafka's shipped server.properties and our tests: a new group does not wait 3 s for more
// members (that wait is fixed start-up time, not processing).
const broker = await startBrokerProcess({ overrides: ["group.initial.rebalance.delay.ms=0"] });
const client = new Client({ bootstrapServers: broker.bootstrap });
const admin = new Admin(client);
try {
  const input = "streams-bench-in";
  const inputs = MERGE ? [input, "streams-bench-in2"] : [input];
  await admin.createTopics([
    ...inputs.map((name) => ({ name, numPartitions: PARTITIONS })),
    { name: "streams-bench-out", numPartitions: PARTITIONS },
  ]);
  const producer = new Producer(client, { lingerMs: 20 });
  const payload = (i: number) => `record-${String(i).padStart(10, "0")}-`.padEnd(SIZE, "x");
  const t0 = performance.now();
  const sends: Promise<unknown>[] = [];
  for (let i = 0; i < RECORDS; i += 5000) {
    const messages: Array<Array<{ key: string; value: string }>> = inputs.map(() => []);
    for (let j = i; j < Math.min(RECORDS, i + 5000); j++) {
      messages[j % inputs.length].push({ key: `k${j % 1000}`, value: payload(j) });
    }
    for (let t = 0; t < inputs.length; t++) {
      sends.push(producer.send({ topic: inputs[t], messages: messages[t] }));
    }
    if (sends.length >= 20) await sends.shift();
  }
  await Promise.all(sends);
  await producer.close();
  const produceSeconds = (performance.now() - t0) / 1000;
  console.log(
    `produced ${RECORDS} records of ${SIZE} B to ${PARTITIONS} partitions in ` +
      `${produceSeconds.toFixed(1)} s: ${(RECORDS / produceSeconds / 1000).toFixed(0)}k ` +
      `records/s (our Producer, acks -1, idempotent: the ceiling of a topology's output) ` +
      `[load ${await load()}]`,
  );

  const consumeRates: number[] = [];
  const streamsRates: number[] = [];
  const streamsCpus: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    // Plain consume: every record once, from the start.
    const consumer = new Consumer(client, { fromBeginning: true });
    await consumer.assign(
      inputs.flatMap((topic) =>
        Array.from({ length: PARTITIONS }, (_, partition) => ({ topic, partition }))
      ),
    );
    let got = 0;
    const cu0 = cpuUsage();
    const c0 = performance.now();
    const deadline = Date.now() + TIMEOUT_MS;
    while (got < RECORDS) {
      if (Date.now() > deadline) throw new Error(`consume: ${got}/${RECORDS}`);
      got += (await consumer.poll()).length;
    }
    const consumeSeconds = (performance.now() - c0) / 1000;
    const consumeCpu = cpuSeconds(cu0);
    await consumer.close();
    consumeRates.push(RECORDS / consumeSeconds);

    // The same records through a stateless topology.
    const output = `streams-bench-out-${round}`;
    await admin.createTopics([{ name: output, numPartitions: PARTITIONS }]);
    const builder = new StreamsBuilder();
    const source = builder.stream<string, string>(input);
    (MERGE ? source.merge(builder.stream<string, string>(inputs[1])) : source)
      .mapValues((v) => v.toUpperCase())
      .filter((k) => !k.endsWith("7"))
      .to(output);
    const applicationId = `streams-bench-${round}`;
    const streams = new KafkaStreams(builder.build(), {
      applicationId,
      bootstrapServers: broker.bootstrap,
      processingGuarantee: "at_least_once",
      defaultKeySerde: Serdes.String(),
      defaultValueSerde: Serdes.String(),
    });
    const su0 = cpuUsage();
    const s0 = performance.now();
    await streams.start();
    const startSeconds = (performance.now() - s0) / 1000;
    let processedSeconds = 0;
    for (;;) {
      if (Date.now() > deadline) throw new Error(`streams: ${streams.metrics().processed}`);
      if (streams.metrics().processed >= RECORDS) {
        processedSeconds ||= (performance.now() - s0) / 1000;
        const committed = await admin.listConsumerGroupOffsets(applicationId);
        if (committed.reduce((n, c) => n + c.offset, 0) >= RECORDS) break;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    const streamsSeconds = (performance.now() - s0) / 1000;
    const streamsCpu = cpuSeconds(su0);
    await streams.close();
    streamsRates.push(RECORDS / streamsSeconds);
    streamsCpus.push(1e6 * streamsCpu / RECORDS);
    console.log(
      `round ${round + 1}: consume ${(RECORDS / consumeSeconds / 1000).toFixed(0)}k records/s ` +
        `(CPU ${(1e6 * consumeCpu / RECORDS).toFixed(2)} µs/record), ` +
        `streams map/filter (at_least_once, start to committed) ` +
        `${(RECORDS / streamsSeconds / 1000).toFixed(0)}k records/s (start() ` +
        `${startSeconds.toFixed(1)} s of ${streamsSeconds.toFixed(1)} s; all processed at ` +
        `${processedSeconds.toFixed(1)} s: ${(RECORDS / processedSeconds / 1000).toFixed(0)}k ` +
        `records/s before the last commit interval; this process's CPU ` +
        `${(1e6 * streamsCpu / RECORDS).toFixed(2)} µs/record) [load ${await load()}]`,
    );
  }
  const c = median(consumeRates);
  const s = median(streamsRates);
  console.log(
    `medians of ${ROUNDS}: consume ${(c / 1000).toFixed(0)}k records/s, streams ` +
      `${(s / 1000).toFixed(0)}k records/s (${(100 * s / c).toFixed(0)}% of consume), CPU ` +
      `${median(streamsCpus).toFixed(2)} µs/record; ` +
      `${RECORDS} records of ${SIZE} B, ${PARTITIONS} partitions` +
      (MERGE ? " of each of two merged topics" : ""),
  );
} finally {
  await client.close();
  await broker.stop();
}
