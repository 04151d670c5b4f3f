// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * The TypeScript side of the load tool: one producer or consumer of Sluice's own client or
 * kafkajs, run as its own process by `main.ts` so that it gets a core of its own, with the same
 * arguments and JSON output as `rdkafka_perf.c`:
 *
 * ```sh
 * deno run -A bench/e2e/client_worker.ts sluice|kafkajs produce BOOTSTRAP TOPIC PARTITIONS RECORDS SIZE ACKS RATE
 * deno run -A bench/e2e/client_worker.ts sluice|kafkajs consume BOOTSTRAP TOPIC PARTITIONS RECORDS IDLE_MS
 * ```
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { Client, Consumer, Producer } from "../../client/mod.ts";
import { cpuSeconds, makeValue, nowMicros, type ProduceStats, SeqTracker } from "./payload.ts";

/** One send: its records, each with value and partition. */
interface Chunk {
  values: Uint8Array[];
  partitions: number[];
}

/** A client's produce call for one chunk; resolves when acknowledged. */
type SendChunk = (chunk: Chunk) => Promise<void>;

/** How long the kafkajs consumer may take to join its group. */
const JOIN_MS = 30_000;

function print(o: unknown): void {
  console.log(JSON.stringify(o));
}

async function produceWith(
  send: SendChunk,
  partitions: number,
  records: number,
  size: number,
  rate: number,
): Promise<ProduceStats> {
  // Sends of ~256 KiB; paced runs send what is due every millisecond. Up to 64 sends (16 MiB) in
  // flight, so that several 1 MB batches are pipelined (librdkafka's worker may queue up to 1 GiB
  // without waiting for acks; measured: 32-64 in flight beat both 8 and 256 here).
  const chunkRecords = Math.max(1, Math.min(2000, Math.floor(262_144 / size)));
  const maxInFlight = rate > 0 ? 256 : 64;
  // One filled template copied per record, like rdkafka_perf.c's RD_KAFKA_MSG_F_COPY of one buffer.
  const template = makeValue(size);
  const inFlight = new Set<Promise<void>>();
  let acked = 0, errors = 0, firstError = "";
  const start = performance.now();
  const cpu0 = cpuSeconds();
  let seq = 0;
  while (seq < records) {
    let n = Math.min(chunkRecords, records - seq);
    if (rate > 0) {
      const due = Math.min(records, Math.floor(((performance.now() - start) / 1000) * rate));
      if (due <= seq) {
        await new Promise((r) => setTimeout(r, 1));
        continue;
      }
      n = Math.min(n, due - seq);
    }
    const chunk: Chunk = { values: [], partitions: [] };
    const t = nowMicros();
    const block = new Uint8Array(n * size);
    // stampValue's layout, written through one view of the block (as rdkafka_perf.c's put64).
    const view = new DataView(block.buffer);
    const tLo = t % 0x1_0000_0000, tHi = Math.floor(t / 0x1_0000_0000);
    for (let i = 0; i < n; i++, seq++) {
      const at = i * size;
      const v = block.subarray(at, at + size);
      v.set(template);
      view.setUint32(at, tLo, true);
      view.setUint32(at + 4, tHi, true);
      view.setUint32(at + 8, seq % 0x1_0000_0000, true);
      view.setUint32(at + 12, Math.floor(seq / 0x1_0000_0000), true);
      chunk.values.push(v);
      chunk.partitions.push(seq % partitions);
    }
    const p = send(chunk).then(
      () => {
        acked += n;
      },
      (e) => {
        errors += n;
        if (!firstError) firstError = e instanceof Error ? e.message : String(e);
      },
    );
    inFlight.add(p);
    p.finally(() => inFlight.delete(p));
    if (inFlight.size >= maxInFlight) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  return {
    mode: "produce",
    records,
    acked,
    errors,
    firstError,
    bytes: records * size,
    seconds: (performance.now() - start) / 1000,
    cpuSeconds: cpuSeconds() - cpu0,
  };
}

async function consumeWith(
  poll: (tracker: SeqTracker) => Promise<void>,
  tracker: SeqTracker,
  idleMs: number,
): Promise<void> {
  let last = performance.now();
  while (!tracker.done && performance.now() - last < idleMs) {
    const before = tracker.unique;
    try {
      await poll(tracker);
    } catch (e) {
      if (tracker.errors++ === 0) tracker.firstError = e instanceof Error ? e.message : String(e);
      await new Promise((r) => setTimeout(r, 50));
    }
    if (tracker.unique !== before) last = performance.now();
  }
}

async function runSluice(args: string[]): Promise<number> {
  const [mode, bootstrap, topic, partitionsArg, recordsArg] = args;
  const partitions = Number(partitionsArg), records = Number(recordsArg);
  const client = new Client({ bootstrapServers: bootstrap, clientId: "sluice-e2e" });
  try {
    if (mode === "produce") {
      const [size, acks, rate] = args.slice(5).map(Number);
      const producer = new Producer(client, {
        acks: acks as 1 | -1 | 0,
        // The same batching limits as rdkafka_perf.c.
        lingerMs: rate > 0 ? 0 : 5,
        batchSize: 1_000_000,
      });
      const stats = await produceWith(
        async ({ values, partitions: ps }) => {
          await producer.send({
            topic,
            messages: values.map((value, i) => ({ value, partition: ps[i] })),
          });
        },
        partitions,
        records,
        size,
        rate,
      );
      await producer.close();
      print(stats);
      return stats.errors === 0 ? 0 : 1;
    }
    const idleMs = Number(args[5]);
    // The same fetch limits as rdkafka_perf.c, which also sets check.crcs=false.
    const consumer = new Consumer(client, {
      maxWaitMs: 100,
      maxPartitionBytes: 4_194_304,
      checkCrcs: false,
    });
    await consumer.assign(
      Array.from({ length: partitions }, (_, partition) => ({ topic, partition, offset: 0 })),
    );
    print({ ready: true });
    const tracker = new SeqTracker(records);
    tracker.start();
    await consumeWith(
      async (t) => {
        const got = await consumer.poll();
        const now = nowMicros();
        for (const r of got) t.add(r.value, now);
      },
      tracker,
      idleMs,
    );
    await consumer.close();
    print(tracker.stats());
    const s = tracker.stats();
    return s.unique === records && s.duplicates === 0 ? 0 : 1;
  } finally {
    await client.close();
  }
}

async function runKafkajs(args: string[]): Promise<number> {
  const [mode, bootstrap, topic, partitionsArg, recordsArg] = args;
  const partitions = Number(partitionsArg), records = Number(recordsArg);
  const { Kafka, logLevel } = await import("kafkajs");
  const kafka = new Kafka({
    clientId: "sluice-e2e-kafkajs",
    brokers: [bootstrap],
    logLevel: logLevel.NOTHING,
  });
  if (mode === "produce") {
    const [size, acks, rate] = args.slice(5).map(Number);
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    const stats = await produceWith(
      async ({ values, partitions: ps }) => {
        await producer.send({
          topic,
          acks,
          messages: values.map((v, i) => ({
            value: Buffer.from(v.buffer, v.byteOffset, v.length),
            partition: ps[i],
          })),
        });
      },
      partitions,
      records,
      size,
      rate,
    );
    await producer.disconnect();
    print(stats);
    return stats.errors === 0 ? 0 : 1;
  }
  const idleMs = Number(args[5]);
  const tracker = new SeqTracker(records);
  const consumer = kafka.consumer({
    groupId: `sluice-e2e-${topic}-${Date.now()}`,
    maxWaitTimeInMs: 100,
    maxBytesPerPartition: 4_194_304,
    sessionTimeout: 30_000,
  });
  let last = performance.now();
  let failed = false;
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    const joined = new Promise<void>((resolve) =>
      consumer.on(consumer.events.GROUP_JOIN, () => resolve())
    );
    consumer.on(consumer.events.CRASH, (e) => {
      failed = true;
      if (tracker.errors++ === 0) {
        tracker.firstError = `kafkajs consumer crashed: ${e.payload.error}`;
      }
    });
    await consumer.run({
      eachBatch: ({ batch }) => {
        const now = nowMicros();
        for (const m of batch.messages) tracker.add(m.value, now);
        last = performance.now();
        return Promise.resolve();
      },
    });
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new Error(
              `kafkajs consumer: did not join group within ${JOIN_MS} ms (does the broker ` +
                `implement FindCoordinator/JoinGroup/SyncGroup?)`,
            ),
          ),
        JOIN_MS,
      );
    });
    await Promise.race([joined, timeout]).finally(() => clearTimeout(timer));
    print({ ready: true });
    tracker.start();
    last = performance.now();
    while (!tracker.done && !failed && performance.now() - last < idleMs) {
      await new Promise((r) => setTimeout(r, 5));
    }
  } catch (e) {
    if (tracker.errors++ === 0) tracker.firstError = e instanceof Error ? e.message : String(e);
  }
  print(tracker.stats());
  await Promise.race([consumer.disconnect(), new Promise((r) => setTimeout(r, 3000))]);
  const s = tracker.stats();
  return s.unique === records && s.duplicates === 0 ? 0 : 1;
}

if (import.meta.main) {
  const [client, ...rest] = Deno.args;
  const usage = "usage: client_worker.ts sluice|kafkajs produce|consume BOOTSTRAP TOPIC " +
    "PARTITIONS RECORDS (SIZE ACKS RATE | IDLE_MS)";
  const mode = rest[0];
  const expected = mode === "produce" ? 8 : mode === "consume" ? 6 : -1;
  if ((client !== "sluice" && client !== "kafkajs") || rest.length !== expected) {
    console.error(usage);
    Deno.exit(2);
  }
  let code = 1;
  try {
    code = client === "sluice" ? await runSluice(rest) : await runKafkajs(rest);
  } catch (e) {
    print({ error: `${client} ${mode}: ${e instanceof Error ? e.message : String(e)}` });
  }
  Deno.exit(code);
}
