// Copyright 2026 the Sluice authors. Apache-2.0 license.
// Restart: what kcat and confluent-kafka wrote before a broker restart (records, topic configs,
// a consumer group's committed offsets) is exactly what they read after it, and new records
// continue the offsets. The file has its own broker because it restarts it.

import { deepStrictEqual as assertEquals } from "node:assert/strict";
import {
  interopTest,
  requireClients,
  runClientScript,
  runCommand,
  sharedBroker,
  type TestBroker,
  uniqueTopic,
} from "../harness.ts";

const clients = requireClients(["kcat", "confluent-kafka"]);
const broker = sharedBroker({ numPartitions: 3 });
const CONFLUENT = "confluent_client.py";

async function kcatProduce(b: TestBroker, topic: string, lines: string[]): Promise<void> {
  const r = await runCommand(
    "kcat",
    ["-b", b.bootstrap, "-P", "-t", topic, "-K", ":", "-X", "compression.codec=zstd"],
    { stdin: lines.join("\n") + "\n" },
  );
  if (r.code !== 0) throw new Error(`kcat produce: exit ${r.code}\n${r.stderr}`);
}

/** Everything kcat reports per record except the broker id, sorted by partition and offset. */
async function kcatAll(b: TestBroker, topic: string): Promise<Record<string, unknown>[]> {
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
    "-X",
    "check.crcs=true",
  ]);
  if (r.code !== 0) throw new Error(`kcat consume: exit ${r.code}\n${r.stderr}`);
  return r.stdout.split("\n").filter((l) => l.trim() !== "").map((l) => {
    const { broker: _, ...m } = JSON.parse(l);
    return m;
  }).sort((a, b) => (a.partition - b.partition) || (a.offset - b.offset));
}

interopTest(clients, "records, topic configs and committed offsets survive a restart", async () => {
  const b = await broker();
  const topic = uniqueTopic("restart");
  const group = uniqueTopic("restart-group");
  await runClientScript(CONFLUENT, "admin", {
    bootstrap: b.bootstrap,
    op: "create_topics",
    topics: [{ name: topic, partitions: 3, configs: { "retention.ms": "86400000" } }],
  });
  const lines = Array.from({ length: 300 }, (_, i) => `key-${i % 10}:value-${i}`);
  await kcatProduce(b, topic, lines);
  const groupConsume = async (count: number) =>
    (await runClientScript<{ records: { partition: number; offset: number; value: string }[] }>(
      CONFLUENT,
      "group_consume",
      { bootstrap: b.bootstrap, topic, group, count, timeout_s: 25 },
      45_000,
    )).records;
  const committed = async () =>
    (await runClientScript<{ offsets: Record<string, number | null> }>(CONFLUENT, "committed", {
      bootstrap: b.bootstrap,
      topic,
      group,
      partitions: [0, 1, 2],
    })).offsets;
  const configs = async () =>
    (await runClientScript<{ resources: Record<string, { configs: Record<string, string> }> }>(
      CONFLUENT,
      "admin",
      { bootstrap: b.bootstrap, op: "describe_configs", topics: [topic] },
    )).resources[topic].configs["retention.ms"];

  assertEquals((await groupConsume(300)).length, 300);
  const before = await kcatAll(b, topic);
  assertEquals(before.length, 300);
  const committedBefore = await committed();
  const perPartition = [0, 1, 2].map((p) => before.filter((m) => m.partition === p).length);
  assertEquals(committedBefore, {
    "0": perPartition[0],
    "1": perPartition[1],
    "2": perPartition[2],
  });

  await b.restart();

  assertEquals(await kcatAll(b, topic), before);
  assertEquals(await committed(), committedBefore);
  assertEquals(await configs(), "86400000");

  // new records continue each partition's offsets, and the group resumes after its commit
  const more = Array.from({ length: 30 }, (_, i) => `key-${i % 10}:after-${i}`);
  await kcatProduce(b, topic, more);
  const after = await kcatAll(b, topic);
  assertEquals(after.length, 330);
  for (const p of [0, 1, 2]) {
    const offsets = after.filter((m) => m.partition === p).map((m) => m.offset);
    assertEquals(offsets, offsets.map((_, i) => i), `partition ${p}`);
  }
  const resumed = await groupConsume(30);
  assertEquals(
    resumed.map((r) => r.value).sort(),
    more.map((l) => l.split(":")[1]).sort(),
  );
});
