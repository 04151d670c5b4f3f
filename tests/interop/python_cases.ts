// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * The interop cases shared by the two Python clients (kafka-python and confluent-kafka), which
 * both speak through a JSON CLI under `clients/` with the same commands and record shape; a
 * {@linkcode PythonProfile} supplies each client's config names and abilities.
 *
 * @module
 */

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { partitionForKey } from "../../client/partitioner.ts";
import {
  type ClientRequirement,
  type ClientScript,
  interopTest,
  runClientScript,
  runCommand,
  scriptFile,
  type TestBroker,
  uniqueTopic,
} from "../harness.ts";

/** A record as the client scripts take and print it. */
export interface PyRecord {
  /** Partition (given on produce to pin it; always set when consumed). */
  partition?: number;
  /** Offset (consumed records only). */
  offset?: number;
  /** UTF-8 key or null. */
  key: string | null;
  /** UTF-8 value or null. */
  value: string | null;
  /** Header key/value pairs. */
  headers?: [string, string | null][];
  /** CreateTime in ms given by the producer; the log-append or create time when consumed. */
  timestamp?: number;
  /** 0 CreateTime, 1 LogAppendTime (consumed records only). */
  timestamp_type?: number;
}

/** Where a produced record landed. */
export interface ProduceResult {
  /** Partition. */
  partition: number;
  /** Offset (-1 or null with acks=0). */
  offset: number;
  /** The record's timestamp as the producer reports it (the broker's with LogAppendTime). */
  timestamp: number;
}

/** Per-client knobs for {@linkcode definePythonClientTests}. */
export interface PythonProfile {
  /** Script file name under `clients/` (with extra environment variables, if any). */
  script: string | ClientScript;
  /** Python module name whose codec support is probed. */
  codecs: string[];
  /** Producer config selecting a compression codec. */
  compression(codec: string): Record<string, unknown>;
  /** Producer config that makes keyed placement murmur2 (Java-compatible). */
  murmur2: Record<string, unknown>;
  /** Producer config for 1 MiB records. */
  bigProducer: Record<string, unknown>;
  /** Consumer config for 1 MiB records. */
  bigConsumer: Record<string, unknown>;
  /** Consumer config for a long fetch wait (60 s). */
  longPoll: Record<string, unknown>;
  /** Producer config for acks=0. */
  acks0: Record<string, unknown>;
  /** Producer config for many small batches in flight at once on one connection. */
  pipelined: Record<string, unknown>;
  /** Producer config for an idempotent producer, when the client has one. */
  idempotent?: Record<string, unknown>;
  /** Offset reported by offsets_for_times when no record is late enough. */
  noOffset: null | { offset: number };
}

/**
 * Produce through a client script.
 *
 * @param script Script file name under `clients/` (or with extra environment variables).
 * @param bootstrap Bootstrap server.
 * @param topic Topic.
 * @param records Records to send, in order.
 * @param config Client config.
 * @returns Where each record landed, in send order.
 */
export async function pyProduce(
  script: string | ClientScript,
  bootstrap: string,
  topic: string,
  records: PyRecord[],
  config: Record<string, unknown> = {},
): Promise<ProduceResult[]> {
  const r = await runClientScript<{ results: ProduceResult[] }>(script, "produce", {
    bootstrap,
    topic,
    records,
    config,
  });
  return r.results;
}

/**
 * Consume `count` records from the beginning of every (or the given) partition.
 *
 * @param script Script file name under `clients/` (or with extra environment variables).
 * @param bootstrap Bootstrap server.
 * @param topic Topic.
 * @param count Records to wait for.
 * @param config Client config.
 * @param timeoutS How long the script polls before giving up with what it has.
 * @returns The records, grouped by partition in ascending order, in offset order.
 */
export async function pyConsume(
  script: string | ClientScript,
  bootstrap: string,
  topic: string,
  count: number,
  config: Record<string, unknown> = {},
  timeoutS = 20,
): Promise<PyRecord[]> {
  const r = await runClientScript<{ records: PyRecord[] }>(script, "consume", {
    bootstrap,
    topic,
    count,
    config,
    timeout_s: timeoutS,
  }, (timeoutS + 15) * 1000);
  return sortRecords(r.records);
}

/**
 * Sort consumed records by partition, then offset (consumers interleave partitions).
 *
 * @param records Consumed records.
 * @returns A sorted copy.
 */
export function sortRecords(records: PyRecord[]): PyRecord[] {
  return [...records].sort((a, b) => (a.partition! - b.partition!) || (a.offset! - b.offset!));
}

/**
 * Check `got` is exactly `sent`: the same records at the offsets the producer reported, offsets
 * 0..n-1 per partition, order preserved per partition.
 *
 * @param sent What was produced, in order.
 * @param results The producer's delivery reports, in the same order.
 * @param got What was consumed.
 * @param timestamps Whether CreateTime timestamps must match exactly.
 * @throws {AssertionError} On any difference.
 */
export function assertSameRecords(
  sent: PyRecord[],
  results: ProduceResult[],
  got: PyRecord[],
  timestamps = true,
): void {
  assertEquals(got.length, sent.length, "record count");
  const expected = sortRecords(sent.map((r, i) => ({
    partition: results[i].partition,
    offset: results[i].offset,
    key: r.key,
    value: r.value,
    headers: r.headers ?? [],
    ...(timestamps ? { timestamp: r.timestamp, timestamp_type: 0 } : {}),
  })));
  const actual = got.map((r) => ({
    partition: r.partition,
    offset: r.offset,
    key: r.key,
    value: r.value,
    headers: r.headers ?? [],
    ...(timestamps ? { timestamp: r.timestamp, timestamp_type: r.timestamp_type } : {}),
  }));
  assertEquals(actual, expected);
  const perPartition = new Map<number, number[]>();
  for (const r of got) {
    const list = perPartition.get(r.partition!) ?? [];
    list.push(r.offset!);
    perPartition.set(r.partition!, list);
  }
  for (const [p, offsets] of perPartition) {
    assertEquals(offsets, offsets.map((_, i) => i), `offsets of partition ${p}`);
  }
}

/**
 * Records with keys (some repeated), headers, explicit CreateTime timestamps, one null value and
 * one null key.
 *
 * @param n How many.
 * @param tag Text put in every value.
 * @returns The records.
 */
export function sampleRecords(n: number, tag: string): PyRecord[] {
  const base = Date.now() - 60_000;
  const value = (i: number): string | null => {
    if (i === 5) return null;
    if (i === 6) return ""; // empty, not null
    if (i === 8) return `ünïcødé ✓ 🚀 ${tag}`;
    return `${tag}-value-${i}`;
  };
  return Array.from({ length: n }, (_, i) => ({
    key: i === 3 ? null : i === 9 ? "ключ-🔑" : `key-${i % 5}`,
    value: value(i),
    headers: [["trace", `t-${i}`], ["empty", ""], ["ünï", "✓"]] as [string, string][],
    timestamp: base + i * 7,
  }));
}

async function supportedCodecs(profile: PythonProfile): Promise<string[]> {
  if (!scriptFile(profile.script).startsWith("kafka_python")) return profile.codecs;
  // kafka-python needs optional modules for snappy, lz4 and zstd
  const r = await runCommand("/usr/bin/python3", [
    "-c",
    "from kafka.codec import *; import json; print(json.dumps({'gzip': has_gzip(), " +
    "'snappy': has_snappy(), 'lz4': has_lz4(), 'zstd': has_zstd()}))",
  ], { timeoutMs: 20_000 });
  if (r.code !== 0) return ["gzip"];
  const has: Record<string, boolean> = JSON.parse(r.stdout);
  return profile.codecs.filter((c) => c === "none" || has[c]);
}

/**
 * Register the shared cases for one Python client.
 *
 * @param client The client's requirement (from `requireClient`).
 * @param profile Its knobs.
 * @param broker The file's shared broker (3 partitions per auto-created topic, topics allowing
 * 4 MiB messages).
 */
export function definePythonClientTests(
  client: ClientRequirement,
  profile: PythonProfile,
  broker: () => Promise<TestBroker>,
): void {
  const s = profile.script;

  interopTest(client, "round trips with every available codec", async (t) => {
    const { bootstrap } = await broker();
    const codecs = await supportedCodecs(profile);
    const missing = profile.codecs.filter((c) => !codecs.includes(c));
    if (missing.length > 0) {
      console.warn(`${client.name}: codecs not available in this build: ${missing.join(", ")}`);
    }
    for (const codec of codecs) {
      await t.step(codec, async () => {
        const topic = uniqueTopic(`${client.name}-rt-${codec}`);
        const sent = sampleRecords(25, codec);
        const config = { ...profile.compression(codec), ...profile.murmur2 };
        const results = await pyProduce(s, bootstrap, topic, sent, config);
        const got = await pyConsume(s, bootstrap, topic, sent.length);
        assertSameRecords(sent, results, got);
        for (let i = 0; i < sent.length; i++) {
          if (sent[i].key === null) continue;
          const key = new TextEncoder().encode(sent[i].key!);
          assertEquals(results[i].partition, partitionForKey(key, 3), `key ${sent[i].key}`);
        }
      });
    }
  });

  interopTest(client, "admin: create, describe, alter, add partitions, delete", async () => {
    const { bootstrap } = await broker();
    const topic = uniqueTopic(`${client.name}-admin`);
    const admin = (req: Record<string, unknown>) =>
      runClientScript<Record<string, unknown>>(s, "admin", { bootstrap, ...req });
    const listed = async (): Promise<string[]> => {
      const r = await admin({ op: "list_topics" });
      const topics = r.topics as string[] | Record<string, unknown>;
      return Array.isArray(topics) ? topics : Object.keys(topics);
    };
    const spec = {
      name: topic,
      partitions: 2,
      replication_factor: 1,
      configs: { "retention.ms": "3600000", "segment.bytes": "1048576" },
    };
    await admin({ op: "create_topics", topics: [spec], validate_only: true });
    assert(!(await listed()).includes(topic), "validate_only created the topic");
    await admin({ op: "create_topics", topics: [spec] });
    assert((await listed()).includes(topic), "created topic not listed");

    // creating it again is refused with TOPIC_ALREADY_EXISTS
    const again = await admin({ op: "create_topics", topics: [spec] }).then(
      (r) => JSON.stringify(r),
      (e: Error) => e.message,
    );
    assert(/already.?exists|36/i.test(again), `second create: ${again}`);

    const described = await admin({ op: "describe_configs", topics: [topic] });
    const configs = (described.resources as Record<string, { configs: Record<string, string> }>)[
      topic
    ].configs;
    assertEquals(configs["retention.ms"], "3600000");
    assertEquals(configs["segment.bytes"], "1048576");

    await admin({ op: "alter_configs", configs: { [topic]: { "retention.ms": "7200000" } } });
    const after = await admin({ op: "describe_configs", topics: [topic] });
    const altered = (after.resources as Record<string, { configs: Record<string, string> }>)[
      topic
    ].configs;
    assertEquals(altered["retention.ms"], "7200000");
    // AlterConfigs (not incremental) replaces the whole set: segment.bytes is back to its default
    assert(altered["segment.bytes"] !== "1048576", "AlterConfigs kept an unlisted override");

    await admin({ op: "create_partitions", counts: { [topic]: 5 } });
    const produced = await pyProduce(
      s,
      bootstrap,
      topic,
      [0, 1, 2, 3, 4].map((p) => ({ partition: p, key: null, value: `p${p}` })),
    );
    assertEquals(produced.map((r) => [r.partition, r.offset]), [[0, 0], [1, 0], [2, 0], [3, 0], [
      4,
      0,
    ]]);

    await admin({ op: "delete_topics", topics: [topic] });
    assert(!(await listed()).includes(topic), "deleted topic still listed");

    // the name can be used again: auto-created afresh (3 partitions), old records gone
    const reborn = await pyProduce(s, bootstrap, topic, [{
      partition: 0,
      key: null,
      value: "new",
    }]);
    assertEquals(reborn.map((r) => [r.partition, r.offset]), [[0, 0]]);
    const again2 = await pyConsume(s, bootstrap, topic, 2, {}, 3);
    assertEquals(again2.map((r) => [r.partition, r.offset, r.value]), [[0, 0, "new"]]);
  });

  interopTest(client, "offsets for times", async () => {
    const { bootstrap } = await broker();
    const topic = uniqueTopic(`${client.name}-oft`);
    const base = Date.now() - 3_600_000;
    const sent = [0, 10, 20, 30, 40].map((d, i) => ({
      partition: 0,
      key: `k${i}`,
      value: `v${i}`,
      timestamp: base + d,
    }));
    await pyProduce(s, bootstrap, topic, sent);
    const q = async (ts: number) => {
      const r = await runClientScript<{ offsets: Record<string, { offset: number } | null> }>(
        s,
        "offsets_for_times",
        { bootstrap, topic, times: { "0": ts } },
      );
      const o = r.offsets["0"];
      return o === null ? null : { offset: o.offset };
    };
    assertEquals(await q(base - 1000), { offset: 0 });
    assertEquals(await q(base + 15), { offset: 2 });
    assertEquals(await q(base + 40), { offset: 4 });
    assertEquals(await q(base + 10_000), profile.noOffset);
  });

  interopTest(client, "LogAppendTime topic: the broker stamps records", async () => {
    const { bootstrap } = await broker();
    const topic = uniqueTopic(`${client.name}-lat`);
    await runClientScript(s, "admin", {
      bootstrap,
      op: "create_topics",
      topics: [{
        name: topic,
        partitions: 1,
        configs: { "message.timestamp.type": "LogAppendTime" },
      }],
    });
    const before = Date.now();
    const results = await pyProduce(
      s,
      bootstrap,
      topic,
      [1, 2, 3].map((i) => ({
        key: `k${i}`,
        value: `v${i}`,
        timestamp: 1000 + i, // replaced by the broker
      })),
    );
    const after = Date.now();
    const got = await pyConsume(s, bootstrap, topic, 3);
    assertEquals(got.map((r) => [r.offset, r.value, r.timestamp_type]), [[0, "v1", 1], [
      1,
      "v2",
      1,
    ], [2, "v3", 1]]);
    for (const [i, r] of got.entries()) {
      assert(
        r.timestamp! >= before - 1000 && r.timestamp! <= after + 1000,
        `LogAppendTime ${r.timestamp} outside [${before}, ${after}]`,
      );
      // the produce response carries the same log append time
      assertEquals(results[i].timestamp, r.timestamp);
    }
  });

  interopTest(client, "consumer group: subscribe, commit, resume, list and describe", async () => {
    const { bootstrap } = await broker();
    const topic = uniqueTopic(`${client.name}-grp`);
    const group = uniqueTopic(`${client.name}-group`);
    const pinned = (round: string, perPartition: number) =>
      [0, 1, 2].flatMap((partition) =>
        Array.from({ length: perPartition }, (_, i) => ({
          partition,
          key: `p${partition}`,
          value: `${round}-${partition}-${i}`,
        }))
      );
    const groupConsume = async (count: number) =>
      (await runClientScript<{ records: PyRecord[] }>(s, "group_consume", {
        bootstrap,
        topic,
        group,
        count,
        timeout_s: 25,
      }, 45_000)).records;
    const committed = async () =>
      (await runClientScript<{ offsets: Record<string, number | null> }>(s, "committed", {
        bootstrap,
        topic,
        group,
        partitions: [0, 1, 2],
      })).offsets;

    const first = pinned("first", 3);
    await pyProduce(s, bootstrap, topic, first);
    const got1 = await groupConsume(first.length);
    assertEquals(got1.map((r) => r.value).sort(), first.map((r) => r.value).sort());
    assertEquals(await committed(), { "0": 3, "1": 3, "2": 3 });

    const second = pinned("second", 1);
    await pyProduce(s, bootstrap, topic, second);
    const got2 = sortRecords(await groupConsume(second.length));
    assertEquals(got2.map((r) => [r.partition, r.offset, r.value]), [
      [0, 3, "second-0-0"],
      [1, 3, "second-1-0"],
      [2, 3, "second-2-0"],
    ]);
    assertEquals(await committed(), { "0": 4, "1": 4, "2": 4 });

    const groups = await runClientScript<{ groups: string[] }>(s, "admin", {
      bootstrap,
      op: "list_groups",
    });
    assert(groups.groups.includes(group), `group ${group} not listed: ${groups.groups}`);
    const described = await runClientScript<
      { groups: Record<string, { state: string; protocol_type: string; members: number }> }
    >(s, "admin", { bootstrap, op: "describe_groups", groups: [group] });
    assertEquals(described.groups[group], {
      state: "Empty",
      protocol_type: "consumer",
      members: 0,
    });
  });

  interopTest(client, "long-poll fetch wakes when a record arrives", async () => {
    const { bootstrap } = await broker();
    const topic = uniqueTopic(`${client.name}-longpoll`);
    await pyProduce(s, bootstrap, topic, [{ partition: 0, key: "k", value: "before" }]);
    // The consumer waits (60 s fetch wait) for a second record and gives up after 40 s: it only
    // gets it if the broker answers the parked fetch when the record arrives.
    const waiting = runClientScript<{ records: PyRecord[] }>(s, "consume", {
      bootstrap,
      topic,
      // only partition 0: a fetch parked on an empty partition would (rightly) hold back the
      // others for the whole wait, since these clients keep one fetch in flight per broker
      partitions: [0],
      count: 2,
      config: profile.longPoll,
      timeout_s: 40,
    }, 55_000);
    await new Promise((r) => setTimeout(r, 4000));
    await pyProduce(s, bootstrap, topic, [{ partition: 0, key: "k", value: "after" }]);
    const got = sortRecords((await waiting).records);
    assertEquals(got.map((r) => [r.partition, r.offset, r.value]), [[0, 0, "before"], [
      0,
      1,
      "after",
    ]]);
  });

  interopTest(client, "1 MiB messages", async () => {
    const { bootstrap } = await broker();
    const topic = uniqueTopic(`${client.name}-big`);
    const count = 1024 * 1024;
    await pyProduce(s, bootstrap, topic, [
      { partition: 0, key: "big", value: { repeat: "m", count } as unknown as string },
      { partition: 0, key: "small", value: "after" },
    ], profile.bigProducer);
    const got = await pyConsume(s, bootstrap, topic, 2, profile.bigConsumer);
    assertEquals(got.length, 2);
    assertEquals([got[0].offset, got[0].key, got[0].value?.length], [0, "big", count]);
    assert(got[0].value === "m".repeat(count), "1 MiB value differs");
    assertEquals([got[1].offset, got[1].key, got[1].value], [1, "small", "after"]);
  });

  interopTest(client, "pipelined produce: many small batches in flight", async () => {
    const { bootstrap } = await broker();
    const topic = uniqueTopic(`${client.name}-pipe`);
    const sent: PyRecord[] = Array.from({ length: 3000 }, (_, i) => ({
      key: `k${i % 7}`,
      value: `pipelined-${i}`,
    }));
    const results = await pyProduce(s, bootstrap, topic, sent, {
      ...profile.pipelined,
      ...profile.murmur2,
    });
    const got = await pyConsume(s, bootstrap, topic, sent.length);
    assertSameRecords(sent, results, got, false);
  });

  interopTest(
    client,
    "size limits: max.message.bytes enforced, big records pass fetch limits",
    async () => {
      const { bootstrap } = await broker();
      const topic = uniqueTopic(`${client.name}-limits`);
      await runClientScript(s, "admin", {
        bootstrap,
        op: "create_topics",
        topics: [{ name: topic, partitions: 1, configs: { "max.message.bytes": "100000" } }],
      });
      const big = (count: number) => ({ repeat: "z", count }) as unknown as string;
      const refused = await pyProduce(s, bootstrap, topic, [{
        partition: 0,
        key: "k",
        value: big(200_000),
      }], profile.bigProducer)
        .then((r) => `accepted: ${JSON.stringify(r)}`, (e: Error) => e.message);
      assert(/MSG_SIZE_TOO_LARGE|MessageSizeTooLargeError/.test(refused), refused);
      const fits = await pyProduce(s, bootstrap, topic, [{
        partition: 0,
        key: "k",
        value: "fits",
      }]);
      assertEquals(fits.map((r) => [r.partition, r.offset]), [[0, 0]]);

      // KIP-74: a 2 MB record is returned even though it exceeds the consumer's default
      // per-partition fetch size (1 MiB); the file's topics allow 4 MiB
      const topic2 = uniqueTopic(`${client.name}-kip74`);
      await pyProduce(s, bootstrap, topic2, [
        { partition: 0, key: "huge", value: big(2_000_000) },
        { partition: 0, key: "small", value: "after" },
      ], profile.bigProducer);
      const got = await pyConsume(s, bootstrap, topic2, 2);
      assertEquals(got.map((r) => [r.offset, r.key, r.value?.length]), [[0, "huge", 2_000_000], [
        1,
        "small",
        5,
      ]]);
    },
  );

  interopTest(client, "acks=0 produce", async () => {
    const { bootstrap } = await broker();
    const topic = uniqueTopic(`${client.name}-acks0`);
    await pyProduce(s, bootstrap, topic, [{ partition: 0, key: "k", value: "setup" }]);
    await pyProduce(
      s,
      bootstrap,
      topic,
      ["a", "b", "c"].map((v) => ({
        partition: 0,
        key: "k",
        value: v,
      })),
      profile.acks0,
    );
    const got = await pyConsume(s, bootstrap, topic, 4);
    assertEquals(got.map((r) => [r.offset, r.value]), [[0, "setup"], [1, "a"], [2, "b"], [
      3,
      "c",
    ]]);
  });

  if (profile.idempotent) {
    const idempotent = profile.idempotent;
    interopTest(client, "idempotent producer", async () => {
      const { bootstrap } = await broker();
      const topic = uniqueTopic(`${client.name}-idem`);
      const sent = sampleRecords(30, "idem");
      const results = await pyProduce(s, bootstrap, topic, sent, {
        ...idempotent,
        ...profile.murmur2,
      });
      const got = await pyConsume(s, bootstrap, topic, sent.length);
      assertSameRecords(sent, results, got);
    });
  }
}
