// Copyright 2026 the Sluice authors. Apache-2.0 license.
// Go clients against a real in-process Sluice broker (issue #12): Sarama (Debian's 1.22) at
// Version 2.1 (record batches v2) and at Version 0.10 (Produce v2 / Fetch v2 with message format
// v1, converted by the broker), and Debian's kafka-go (Produce v2, Fetch v2, message format v1),
// including consumer groups with committed offsets, and records crossing between the old formats
// and a modern client (kcat).

import assert, { deepStrictEqual as assertEquals, ok } from "node:assert/strict";
import {
  interopTest,
  requireClient,
  requireClients,
  runCommand,
  sharedBroker,
  uniqueTopic,
} from "../harness.ts";
import { runGoClient } from "./go.ts";

const sarama = requireClient("sarama");
const kafkaGo = requireClient("kafka-go");
const saramaKcat = requireClients(["sarama", "kcat"]);
const broker = sharedBroker({ numPartitions: 1 });

interface GoRecord {
  partition: number;
  offset: number;
  key: string | null;
  value: string | null;
  /** Number of record headers (Sarama's consume only). */
  headers?: number;
}

const messages = (prefix: string, n: number) =>
  Array.from(
    { length: n },
    (_, i) => ({ key: i % 3 === 0 ? null : `k${i}`, value: `${prefix}-${i}` }),
  );

const plain = (records: GoRecord[]) => records.map((r) => [r.offset, r.key, r.value]);

for (const version of ["2.1.0", "0.10.0.0"]) {
  for (const compression of ["none", "gzip", "snappy", "lz4"]) {
    interopTest(sarama, `Version ${version}: produce and consume with ${compression}`, async () => {
      const { bootstrap } = await broker();
      const topic = uniqueTopic(`sarama-${compression}`);
      const sent = messages(compression, 7);
      const produced = await runGoClient<{ records: GoRecord[] }>("sluice_sarama", "produce", {
        brokers: [bootstrap],
        version,
        topic,
        partition: 0,
        compression,
        messages: sent,
      });
      assertEquals(produced.records.map((r) => r.offset), [0, 1, 2, 3, 4, 5, 6]);
      const got = await runGoClient<{ records: GoRecord[] }>("sluice_sarama", "consume", {
        brokers: [bootstrap],
        version,
        topic,
        partition: 0,
        count: 7,
      });
      assertEquals(plain(got.records), sent.map((m, i) => [i, m.key, m.value]));
    });
  }
  // Sarama itself refuses zstd below Version 2.1.
  if (version === "2.1.0") {
    interopTest(
      sarama,
      `Version ${version}: a zstd batch is refused as Kafka refuses it`,
      async () => {
        // Sarama 1.22 sends zstd in Produce v3 (1.23 moved to v7, Sarama issue #1252); Kafka takes zstd
        // only from Produce v7 and answers UNSUPPORTED_COMPRESSION_TYPE, and so does Sluice. Nothing of
        // the refused batch is written: the next batch gets offset 0.
        const { bootstrap } = await broker();
        const topic = uniqueTopic("sarama-zstd");
        const produce = (compression: string, prefix: string) =>
          runGoClient<{ records: GoRecord[] }>("sluice_sarama", "produce", {
            brokers: [bootstrap],
            version,
            topic,
            partition: 0,
            compression,
            messages: messages(prefix, 3),
          });
        await assert.rejects(
          produce("zstd", "z"),
          /kafka server: The requesting client does not support the compression type of given partition/,
        );
        const produced = await produce("gzip", "g");
        assertEquals(produced.records.map((r) => r.offset), [0, 1, 2]);
      },
    );
  }
  interopTest(sarama, `Version ${version}: a consumer group reads and commits`, async () => {
    const { bootstrap } = await broker();
    const topic = uniqueTopic("sarama-group");
    const group = `${topic}-g`;
    const sent = messages("g", 5);
    await runGoClient("sluice_sarama", "produce", {
      brokers: [bootstrap],
      version,
      topic,
      partition: 0,
      messages: sent,
    });
    const got = await runGoClient<{ records: GoRecord[] }>("sluice_sarama", "group", {
      brokers: [bootstrap],
      version,
      topic,
      group,
      count: 5,
    });
    assertEquals(plain(got.records), sent.map((m, i) => [i, m.key, m.value]));
    const committed = await runGoClient<{ offsets: Record<string, number> }>(
      "sluice_sarama",
      "committed",
      { brokers: [bootstrap], version, topic, group, count: 1 },
    );
    assertEquals(committed.offsets, { "0": 5 });
  });
}

interopTest(
  saramaKcat,
  "records cross between message format v1 (Sarama 0.10) and v2 (kcat)",
  async () => {
    const { bootstrap } = await broker();
    const topic = uniqueTopic("sarama-cross");
    await runGoClient("sluice_sarama", "produce", {
      brokers: [bootstrap],
      version: "0.10.0.0",
      topic,
      partition: 0,
      messages: [{ key: "old", value: "from-v1" }],
    });
    const kcatProduce = await runCommand(
      "kcat",
      ["-b", bootstrap, "-P", "-t", topic, "-p", "0", "-K", ":", "-H", "h=dropped"],
      { stdin: "new:from-v2\n" },
    );
    assertEquals(kcatProduce.code, 0, kcatProduce.stderr);
    const old = await runGoClient<{ records: GoRecord[] }>("sluice_sarama", "consume", {
      brokers: [bootstrap],
      version: "0.10.0.0",
      topic,
      partition: 0,
      count: 2,
    });
    assertEquals(plain(old.records), [[0, "old", "from-v1"], [1, "new", "from-v2"]]);
    // Message format v1 has no headers: kcat's is dropped in the conversion.
    assertEquals(old.records.map((r) => r.headers), [0, 0]);
    const current = await runGoClient<{ records: GoRecord[] }>("sluice_sarama", "consume", {
      brokers: [bootstrap],
      version: "2.1.0",
      topic,
      partition: 0,
      count: 2,
    });
    assertEquals(current.records.map((r) => r.headers), [0, 1]);
    const modern = await runCommand("kcat", [
      "-b",
      bootstrap,
      "-C",
      "-t",
      topic,
      "-o",
      "beginning",
      "-e",
      "-f",
      "%o %k %s\\n",
      "-X",
      "check.crcs=true",
    ]);
    assertEquals(modern.code, 0, modern.stderr);
    assertEquals(modern.stdout, "0 old from-v1\n1 new from-v2\n");
  },
);

interopTest(kafkaGo, "produce v2, consume v2 and a consumer group with commits", async () => {
  const { bootstrap } = await broker();
  const topic = uniqueTopic("kafkago");
  const sent = messages("kg", 6);
  const produced = await runGoClient<{ firstOffset: number }>("sluice_kafkago", "produce", {
    brokers: [bootstrap],
    topic,
    partition: 0,
    messages: sent,
  });
  assertEquals(produced.firstOffset, 0);
  const got = await runGoClient<{ records: GoRecord[] }>("sluice_kafkago", "consume", {
    brokers: [bootstrap],
    topic,
    partition: 0,
    count: 6,
  });
  assertEquals(plain(got.records), sent.map((m, i) => [i, m.key, m.value]));
  for (const compression of ["gzip", "snappy"]) {
    await runGoClient("sluice_kafkago", "write", {
      brokers: [bootstrap],
      topic,
      compression,
      messages: messages(compression, 2),
    });
  }
  const group = await runGoClient<{ records: GoRecord[] }>("sluice_kafkago", "group", {
    brokers: [bootstrap],
    topic,
    group: `${topic}-g`,
    count: 10,
  });
  assertEquals(group.records.map((r) => r.offset), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assertEquals(
    group.records.slice(6).map((r) => r.value),
    ["gzip-0", "gzip-1", "snappy-0", "snappy-1"],
  );
  ok(group.records.every((r) => r.partition === 0));
});
