// Copyright 2026 the Sluice authors. Apache-2.0 license.
// Cross-client: each of kcat, kafka-python, confluent-kafka and kafkajs produces keyed records
// to a 4-partition topic (kcat uncompressed, the others gzip: the only codec every consumer here
// can decode, kafka-python having no snappy/lz4/zstd modules); all four consumers must then read exactly the same
// records at the same partitions and offsets. Keyed placement must be Java's murmur2 for every
// producer (librdkafka with partitioner=murmur2_random), which proves they agree on partitions.

import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { partitionForKey } from "../../client/partitioner.ts";
import {
  interopTest,
  requireClients,
  runCommand,
  sharedBroker,
  type TestBroker,
  uniqueTopic,
  withTimeout,
} from "../harness.ts";
import { CALL_MS, consumeAll, type Got, kafkaFor, loadKafkajs } from "./kafkajs_client.ts";
import { pyConsume, pyProduce, type PyRecord } from "./python_cases.ts";

const clients = requireClients(["kcat", "kafka-python", "confluent-kafka", "kafkajs"]);
const kafkajs = await loadKafkajs(clients.available);
const PARTITIONS = 4;
const broker = sharedBroker({ numPartitions: PARTITIONS });

type Producer = "kcat" | "kafka-python" | "confluent-kafka" | "kafkajs";

interface Rec {
  key: string;
  value: string;
  headers: Record<string, string>;
  timestamp: number;
}

function records(producer: Producer): Rec[] {
  const base = Date.now() - 120_000;
  return Array.from({ length: 16 }, (_, i) => ({
    key: `user-${i % 6}`,
    value: `${producer}-${i}`,
    // kcat can only give every record the same headers
    headers: (producer === "kcat" ? { src: "kcat" } : { trace: `t-${i}`, src: producer }) as Record<
      string,
      string
    >,
    timestamp: base + i * 11,
  }));
}

async function produceWith(b: TestBroker, producer: Producer, topic: string, recs: Rec[]) {
  const py = (r: Rec): PyRecord => ({
    key: r.key,
    value: r.value,
    headers: Object.entries(r.headers),
    timestamp: r.timestamp,
  });
  switch (producer) {
    case "kafka-python":
      await pyProduce("kafka_python_client.py", b.bootstrap, topic, recs.map(py), {
        compression_type: "gzip",
      });
      return;
    case "confluent-kafka":
      await pyProduce("confluent_client.py", b.bootstrap, topic, recs.map(py), {
        "compression.type": "gzip",
        "partitioner": "murmur2_random",
      });
      return;
    case "kafkajs": {
      const p = kafkaFor(kafkajs!, b).producer({
        createPartitioner: kafkajs!.Partitioners.DefaultPartitioner,
      });
      await withTimeout(p.connect(), CALL_MS, "kafkajs connect");
      try {
        await withTimeout(
          p.send({
            topic,
            compression: kafkajs!.CompressionTypes.GZIP,
            messages: recs.map((r) => ({ ...r, timestamp: String(r.timestamp) })),
          }),
          CALL_MS,
          "kafkajs send",
        );
      } finally {
        await p.disconnect();
      }
      return;
    }
    case "kcat": {
      const r = await runCommand("kcat", [
        "-b",
        b.bootstrap,
        "-P",
        "-t",
        topic,
        "-K",
        ":",
        "-H",
        "src=kcat",
        "-X",
        "compression.codec=none",
        "-X",
        "topic.partitioner=murmur2_random",
      ], { stdin: recs.map((r) => `${r.key}:${r.value}`).join("\n") + "\n" });
      if (r.code !== 0) throw new Error(`kcat produce: exit ${r.code}\n${r.stderr}`);
      return;
    }
  }
}

async function consumeWith(b: TestBroker, consumer: Producer, topic: string, n: number) {
  const fromPy = (r: PyRecord): Got => ({
    partition: r.partition!,
    offset: r.offset!,
    key: r.key,
    value: r.value,
    headers: Object.fromEntries((r.headers ?? []).map(([k, v]) => [k, v ?? ""])),
    timestamp: r.timestamp!,
  });
  let got: Got[];
  switch (consumer) {
    case "kafka-python":
      got = (await pyConsume("kafka_python_client.py", b.bootstrap, topic, n)).map(fromPy);
      break;
    case "confluent-kafka":
      got = (await pyConsume("confluent_client.py", b.bootstrap, topic, n)).map(fromPy);
      break;
    case "kafkajs":
      got = await consumeAll(kafkaFor(kafkajs!, b), topic, n);
      break;
    case "kcat": {
      const r = await runCommand("kcat", [
        "-b",
        b.bootstrap,
        "-C",
        "-t",
        topic,
        "-o",
        "beginning",
        "-e",
        "-J",
      ]);
      if (r.code !== 0) throw new Error(`kcat consume: exit ${r.code}\n${r.stderr}`);
      got = r.stdout.split("\n").filter((l) => l.trim()).map((l) => {
        const m = JSON.parse(l);
        const headers: Record<string, string> = {};
        const h: string[] = m.headers ?? [];
        for (let i = 0; i < h.length; i += 2) headers[h[i]] = h[i + 1];
        return {
          partition: m.partition,
          offset: m.offset,
          key: m.key,
          value: m.payload,
          headers,
          timestamp: m.ts,
        };
      });
      break;
    }
  }
  return got.sort((a, b) => (a.partition - b.partition) || (a.offset - b.offset));
}

const ALL: Producer[] = ["kcat", "kafka-python", "confluent-kafka", "kafkajs"];

for (const producer of ALL) {
  interopTest(clients, `produced by ${producer}, consumed identically by all four`, async (t) => {
    const b = await broker();
    const topic = uniqueTopic(`cross-${producer}`);
    const recs = records(producer);
    await produceWith(b, producer, topic, recs);
    // expected: murmur2 placement, offsets in send order per partition
    const next = new Map<number, number>();
    const expected = recs.map((r) => {
      const partition = partitionForKey(new TextEncoder().encode(r.key), PARTITIONS);
      const offset = next.get(partition) ?? 0;
      next.set(partition, offset + 1);
      return { partition, offset, ...r };
    }).sort((a, b) => (a.partition - b.partition) || (a.offset - b.offset));
    let reference: Got[] | undefined;
    for (const consumer of ALL) {
      await t.step(`consumed by ${consumer}`, async () => {
        const got = await consumeWith(b, consumer, topic, recs.length);
        if (producer === "kcat") {
          // kcat stamps records itself: compare everything else, and timestamps across consumers
          assertEquals(
            got.map(({ timestamp: _, ...r }) => r),
            expected.map(({ timestamp: _, ...r }) => r),
          );
          reference ??= got;
          assertEquals(got, reference);
        } else {
          assertEquals(got, expected);
        }
      });
    }
  });
}
