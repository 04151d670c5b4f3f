// Copyright 2026 the Sluice authors. Apache-2.0 license.
// kcat (librdkafka) against a real in-process Sluice broker: metadata, produce/consume round trips
// with every codec librdkafka has, consistent_random placement, timestamp lookups, long-poll
// fetch, 1 MiB messages, the idempotent producer and acks=0.

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { interopTest, requireClient, runCommand, sharedBroker, uniqueTopic } from "../harness.ts";
import { crc32 } from "./crc32.ts";

const kcat = requireClient("kcat");
const PARTITIONS = 3;
const broker = sharedBroker({
  numPartitions: PARTITIONS,
  topicDefaults: { "max.message.bytes": "4194304" },
});

/** One message as printed by `kcat -C -J`. */
interface KcatMessage {
  topic: string;
  partition: number;
  offset: number;
  tstype: string;
  ts: number;
  headers?: (string | null)[];
  key: string | null;
  payload: string | null;
}

async function kcatRun(args: string[], stdin?: string, timeoutMs = 30_000) {
  const r = await runCommand("kcat", args, { stdin, timeoutMs });
  if (r.timedOut) throw new Error(`kcat ${args.join(" ")}: timed out\n${r.stderr}`);
  if (r.code !== 0) throw new Error(`kcat ${args.join(" ")}: exit ${r.code}\n${r.stderr}`);
  return r;
}

/** Produce `key:value` lines (`-K:`, `-Z`: empty key/value is NULL). */
async function produce(
  bootstrap: string,
  topic: string,
  lines: string[],
  extra: string[] = [],
): Promise<void> {
  await kcatRun(
    ["-b", bootstrap, "-P", "-t", topic, "-K", ":", "-Z", ...extra],
    lines.join("\n") + "\n",
  );
}

async function consume(
  bootstrap: string,
  topic: string,
  extra: string[] = ["-o", "beginning", "-e"],
  timeoutMs = 30_000,
): Promise<KcatMessage[]> {
  // check.crcs: librdkafka verifies every batch's CRC-32C (the broker rewrites batch headers)
  const args = ["-b", bootstrap, "-C", "-t", topic, "-J", "-X", "check.crcs=true", ...extra];
  const r = await kcatRun(args, undefined, timeoutMs);
  return r.stdout.split("\n").filter((l) => l.trim() !== "").map((l) => JSON.parse(l));
}

/** librdkafka's consistent_random: CRC-32 of the key modulo the partition count. */
function consistentPartition(key: string, partitions: number): number {
  return crc32(new TextEncoder().encode(key)) % partitions;
}

/** Group by partition, keeping consume order within each partition. */
function byPartition(msgs: KcatMessage[]): Map<number, KcatMessage[]> {
  const out = new Map<number, KcatMessage[]>();
  for (const m of msgs) {
    const list = out.get(m.partition) ?? [];
    list.push(m);
    out.set(m.partition, list);
  }
  return out;
}

interopTest(kcat, "metadata advertises 127.0.0.1:PORT and auto-created topics", async () => {
  const { bootstrap, port } = await broker();
  const topic = uniqueTopic("kcat-meta");
  await produce(bootstrap, topic, ["k:v"]);
  const r = await kcatRun(["-b", bootstrap, "-L", "-J", "-t", topic]);
  const md = JSON.parse(r.stdout);
  assertEquals(md.brokers.length, 1);
  assertEquals([md.brokers[0].id, md.brokers[0].name], [1, `127.0.0.1:${port}`]);
  assertEquals(md.topics.length, 1);
  assertEquals(md.topics[0].topic, topic);
  assertEquals(md.topics[0].partitions.length, PARTITIONS);
  assertEquals(
    md.topics[0].partitions.map((p: { partition: number }) => p.partition).sort(),
    [0, 1, 2],
  );
});

for (const codec of ["none", "gzip", "snappy", "lz4", "zstd"]) {
  interopTest(kcat, `round trip, compression ${codec}`, async () => {
    const { bootstrap } = await broker();
    const topic = uniqueTopic(`kcat-rt-${codec}`);
    // 30 keyed records over 6 keys, one null value; order within each key must survive.
    const sent: { key: string; value: string | null }[] = [];
    for (let i = 0; i < 30; i++) {
      sent.push({ key: `key-${i % 6}`, value: i === 7 ? null : `value-${i}-${codec}` });
    }
    const before = Date.now();
    await produce(
      bootstrap,
      topic,
      sent.map((r) => `${r.key}:${r.value ?? ""}`),
      ["-H", "trace=abc-123", "-H", "empty=", "-X", `compression.codec=${codec}`],
    );
    const after = Date.now();
    const got = await consume(bootstrap, topic);
    assertEquals(got.length, sent.length);
    const parts = byPartition(got);
    for (const [partition, msgs] of parts) {
      // offsets 0..n-1 in order
      assertEquals(msgs.map((m) => m.offset), msgs.map((_, i) => i), `partition ${partition}`);
      // same order as produced, for the records placed on this partition
      const expected = sent.filter((r) => consistentPartition(r.key, PARTITIONS) === partition);
      assertEquals(
        msgs.map((m) => ({ key: m.key, value: m.payload })),
        expected,
        `partition ${partition}`,
      );
    }
    for (const m of got) {
      assertEquals(m.topic, topic);
      assertEquals(m.headers, ["trace", "abc-123", "empty", ""]);
      assertEquals(m.tstype, "create");
      assert(m.ts >= before - 1000 && m.ts <= after + 1000, `timestamp ${m.ts} not near produce`);
    }
  });
}

interopTest(kcat, "consistent_random places a key on the same partition every time", async () => {
  const { bootstrap } = await broker();
  const topic = uniqueTopic("kcat-crc");
  const keys = Array.from({ length: 12 }, (_, i) => `user-${i}`);
  await produce(bootstrap, topic, keys.map((k) => `${k}:first`));
  await produce(bootstrap, topic, keys.map((k) => `${k}:second`));
  const got = await consume(bootstrap, topic);
  assertEquals(got.length, 24);
  for (const key of keys) {
    const mine = got.filter((m) => m.key === key);
    assertEquals(mine.map((m) => m.payload), ["first", "second"]);
    assertEquals(mine[0].partition, mine[1].partition);
    assertEquals(mine[0].partition, consistentPartition(key, PARTITIONS), key);
  }
});

interopTest(kcat, "null key and null value survive (-Z)", async () => {
  const { bootstrap } = await broker();
  const topic = uniqueTopic("kcat-null");
  await produce(bootstrap, topic, [":only-value", "only-key:", "both:set"], ["-p", "0"]);
  const got = await consume(bootstrap, topic);
  assertEquals(
    got.map((m) => [m.partition, m.offset, m.key, m.payload]),
    [[0, 0, null, "only-value"], [0, 1, "only-key", null], [0, 2, "both", "set"]],
  );
});

interopTest(kcat, "start at a timestamp (-o s@ts) and query offsets by time (-Q)", async () => {
  const { bootstrap } = await broker();
  const topic = uniqueTopic("kcat-time");
  await produce(bootstrap, topic, ["a:1", "a:2", "a:3"], ["-p", "0"]);
  const first = await consume(bootstrap, topic);
  assertEquals(first.map((m) => m.offset), [0, 1, 2]);
  const cut = Math.max(...first.map((m) => m.ts)) + 1;
  while (Date.now() <= cut + 5) await new Promise((r) => setTimeout(r, 10));
  await produce(bootstrap, topic, ["a:4", "a:5"], ["-p", "0"]);
  const later = await consume(bootstrap, topic, ["-p", "0", "-o", `s@${cut}`, "-e"]);
  assertEquals(later.map((m) => [m.offset, m.payload]), [[3, "4"], [4, "5"]]);
  const q = await kcatRun(["-b", bootstrap, "-Q", "-t", `${topic}:0:${cut}`, "-J"]);
  const answer = JSON.parse(q.stdout.trim());
  assertEquals(answer[topic]["0"].offset, 3);
  // a time after the last record: no offset (-1, "end")
  const q2 = await kcatRun(["-b", bootstrap, "-Q", "-t", `${topic}:0:${Date.now() + 3600_000}`]);
  assert(/offset -1|end/i.test(q2.stdout), `expected end offset, got: ${q2.stdout}`);
});

interopTest(kcat, "long-poll fetch wakes when a record arrives", async () => {
  const { bootstrap } = await broker();
  const topic = uniqueTopic("kcat-longpoll");
  await produce(bootstrap, topic, ["k:before"], ["-p", "0"]);
  // Waits for offset 1 with a 60 s fetch wait; it is killed after 45 s, so it only passes if the
  // broker answers the parked fetch when the record arrives.
  const waiting = runCommand("kcat", [
    "-b",
    bootstrap,
    "-C",
    "-t",
    topic,
    "-p",
    "0",
    "-o",
    "1",
    "-c",
    "1",
    "-J",
    "-X",
    "fetch.wait.max.ms=60000",
    "-X",
    "socket.timeout.ms=90000",
  ], { timeoutMs: 45_000 });
  await new Promise((r) => setTimeout(r, 2000));
  await produce(bootstrap, topic, ["k:after"], ["-p", "0"]);
  const r = await waiting;
  assert(!r.timedOut, `consumer never woke up\n${r.stderr}`);
  assertEquals(r.code, 0, r.stderr);
  const msg: KcatMessage = JSON.parse(r.stdout.trim());
  assertEquals([msg.offset, msg.key, msg.payload], [1, "k", "after"]);
});

interopTest(kcat, "1 MiB message round trip", async () => {
  const { bootstrap } = await broker();
  const topic = uniqueTopic("kcat-big");
  const big = "x".repeat(1024 * 1024);
  await produce(bootstrap, topic, [`big:${big}`, "small:after"], [
    "-p",
    "0",
    "-X",
    "message.max.bytes=4194304",
  ]);
  const got = await consume(bootstrap, topic, [
    "-o",
    "beginning",
    "-e",
    "-X",
    "fetch.message.max.bytes=4194304",
    "-X",
    "fetch.max.bytes=4194304",
    "-X",
    "receive.message.max.bytes=8388608",
  ]);
  assertEquals(got.length, 2);
  assertEquals([got[0].offset, got[0].key, got[0].payload?.length], [0, "big", big.length]);
  assert(got[0].payload === big, "1 MiB payload differs");
  assertEquals([got[1].offset, got[1].key, got[1].payload], [1, "small", "after"]);
});

interopTest(kcat, "idempotent producer (enable.idempotence=true)", async () => {
  const { bootstrap } = await broker();
  const topic = uniqueTopic("kcat-idem");
  const lines = Array.from({ length: 20 }, (_, i) => `k${i % 4}:idem-${i}`);
  await produce(bootstrap, topic, lines, ["-X", "enable.idempotence=true"]);
  const got = await consume(bootstrap, topic);
  assertEquals(got.length, 20);
  assertEquals(got.map((m) => m.payload).sort(), lines.map((l) => l.split(":")[1]).sort());
  for (const msgs of byPartition(got).values()) {
    assertEquals(msgs.map((m) => m.offset), msgs.map((_, i) => i));
  }
});

interopTest(kcat, "acks=0 produce", async () => {
  const { bootstrap } = await broker();
  const topic = uniqueTopic("kcat-acks0");
  // the topic must exist first: with acks=0 the producer never hears about auto-creation errors
  await produce(bootstrap, topic, ["k:setup"], ["-p", "0"]);
  await produce(bootstrap, topic, ["k:a", "k:b", "k:c"], ["-p", "0", "-X", "acks=0"]);
  // acks=0 gives no confirmation: wait (bounded) until all four are readable
  const got = await consume(bootstrap, topic, ["-p", "0", "-o", "beginning", "-c", "4"], 20_000);
  assertEquals(got.map((m) => [m.offset, m.payload]), [[0, "setup"], [1, "a"], [2, "b"], [
    3,
    "c",
  ]]);
});

interopTest(
  kcat,
  "consumer group (-G): all records, then resumes from committed offsets",
  async () => {
    const { bootstrap } = await broker();
    const topic = uniqueTopic("kcat-group");
    const group = uniqueTopic("kcat-group-id");
    const groupConsume = async (n: number) => {
      // -c n: exit after n records (committing on close); auto.offset.reset for a new group
      const r = await kcatRun(
        [
          "-b",
          bootstrap,
          "-G",
          group,
          "-J",
          "-c",
          String(n),
          "-X",
          "auto.offset.reset=earliest",
          topic,
        ],
        undefined,
        40_000,
      );
      return r.stdout.split("\n").filter((l) => l.trim() !== "").map((l) =>
        JSON.parse(l) as KcatMessage
      );
    };
    const first = Array.from({ length: 9 }, (_, i) => `g${i % 3}:first-${i}`);
    await produce(bootstrap, topic, first);
    const got1 = await groupConsume(9);
    assertEquals(got1.map((m) => m.payload).sort(), first.map((l) => l.split(":")[1]).sort());
    const second = ["g0:second-0", "g1:second-1", "g2:second-2"];
    await produce(bootstrap, topic, second);
    const got2 = await groupConsume(3);
    assertEquals(got2.map((m) => m.payload).sort(), ["second-0", "second-1", "second-2"]);
  },
);

interopTest(
  kcat,
  "4 concurrent producers: nothing lost, offsets contiguous, order kept",
  async () => {
    const { bootstrap } = await broker();
    const topic = uniqueTopic("kcat-concurrent");
    const perProducer = 3000;
    await Promise.all([1, 2, 3, 4].map((w) =>
      produce(
        bootstrap,
        topic,
        Array.from({ length: perProducer }, (_, i) => `w${w}:${i}`),
        ["-X", "linger.ms=1", "-X", "batch.num.messages=50", "-X", "compression.codec=lz4"],
      )
    ));
    const got = await consume(bootstrap, topic);
    assertEquals(got.length, 4 * perProducer);
    for (const [partition, msgs] of byPartition(got)) {
      assertEquals(msgs.map((m) => m.offset), msgs.map((_, i) => i), `partition ${partition}`);
    }
    for (const w of [1, 2, 3, 4]) {
      const mine = got.filter((m) => m.key === `w${w}`);
      assertEquals(mine.length, perProducer);
      // one key, one partition, in the order sent
      assertEquals(new Set(mine.map((m) => m.partition)).size, 1);
      assertEquals(mine.map((m) => Number(m.payload)), mine.map((_, i) => i));
    }
  },
);
