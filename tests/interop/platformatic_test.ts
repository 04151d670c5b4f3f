// Copyright 2026 the Sluice authors. Apache-2.0 license.
// @platformatic/kafka 2.12.1 (npm, a pure-JavaScript client for Kafka 3.5-4.2, run in-process
// under Deno's Node compatibility) against a real in-process Sluice broker. It negotiates newer
// versions than our other clients (Produce v11, Fetch v17, Metadata v12, ListOffsets v9,
// OffsetCommit/OffsetFetch v9, CreateTopics v7), so it is a second opinion on the flexible
// versions: round trips with every codec, transactions under both isolation levels, a consumer
// group of two, and its Admin API. Every client call is bounded by withTimeout.

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { interopTest, requireClient, sharedBroker, uniqueTopic, withTimeout } from "../harness.ts";

const client = requireClient("platformatic-kafka");
const kafka = client.available ? await import("@platformatic/kafka") : undefined;
const broker = sharedBroker({ numPartitions: 2 });

/** Limit for one client call, in milliseconds. */
const CALL_MS = 30_000;

/** A consumed record, normalized. */
interface Got {
  partition: number;
  offset: number;
  key: string;
  value: string;
  headers: Record<string, string>;
}

type Platformatic = typeof import("@platformatic/kafka");
/** The part of the client's Consumer these tests use, with string deserializers. */
interface StringConsumer {
  consume(options: Record<string, unknown>): Promise<StringStream>;
  close(force?: boolean): Promise<void>;
  /** The partitions the group gave this member (the client's public getter). */
  assignments: { topic: string; partitions: number[] }[] | null;
}
interface StringMessage {
  partition: number;
  offset: bigint;
  key: string;
  value: string;
  headers: Map<string, string>;
  commit(): Promise<void> | void;
}
/** The part of the client's MessagesStream these tests use, with string serdes. */
interface StringStream {
  on(event: "data", f: (m: StringMessage) => void): unknown;
  on(event: "error", f: (e: Error) => void): unknown;
  close(): Promise<void>;
}

function consumerFor(bootstrap: string, options: Record<string, unknown>): StringConsumer {
  return new kafka!.Consumer(
    {
      clientId: "sluice-interop",
      bootstrapBrokers: [bootstrap],
      deserializers: kafka!.stringDeserializers,
      ...options,
    } as ConstructorParameters<Platformatic["Consumer"]>[0],
  ) as unknown as StringConsumer;
}

function producerFor(bootstrap: string, options: Record<string, unknown> = {}) {
  return new kafka!.Producer<string, string, string, string>({
    clientId: "sluice-interop",
    bootstrapBrokers: [bootstrap],
    serializers: kafka!.stringSerializers,
    ...options,
  });
}

function adminFor(bootstrap: string) {
  return new kafka!.Admin({ clientId: "sluice-interop", bootstrapBrokers: [bootstrap] });
}

/**
 * Read from `stream` until `n` records arrived (then `quietMs` more, to catch extras), commit
 * each when asked, and return them sorted by partition and offset.
 */
async function take(
  stream: StringStream,
  n: number,
  { commit = false, quietMs = 300 }: { commit?: boolean; quietMs?: number } = {},
): Promise<Got[]> {
  const got: Got[] = [];
  const commits: Promise<void>[] = [];
  await withTimeout(
    new Promise<void>((resolve, reject) => {
      stream.on("error", reject);
      stream.on("data", (m) => {
        got.push({
          partition: m.partition,
          offset: Number(m.offset),
          key: m.key,
          value: m.value,
          headers: Object.fromEntries(m.headers),
        });
        if (commit) commits.push(Promise.resolve(m.commit()));
        if (got.length === n) setTimeout(resolve, quietMs);
      });
    }),
    CALL_MS,
    `platformatic: consume ${n} records`,
  );
  await Promise.all(commits);
  await stream.close();
  return got.sort((a, b) => (a.partition - b.partition) || (a.offset - b.offset));
}

for (const compression of ["none", "gzip", "snappy", "lz4", "zstd"]) {
  interopTest(client, `round trip, compression ${compression}`, async () => {
    const b = await broker();
    const topic = uniqueTopic(`plat-rt-${compression}`);
    // Metadata with allow_auto_topic_creation makes the topic (two partitions, the broker's default)
    const producer = producerFor(b.bootstrap, { compression, autocreateTopics: true });
    const sent = Array.from({ length: 30 }, (_, i) => ({
      partition: i % 2,
      key: `key-${i}`,
      value: i === 3 ? "" : `${compression}-value-${i} ünïcødé ✓`,
      headers: { trace: `t-${i}`, "ünï": "✓" },
    }));
    try {
      const result = await withTimeout(
        producer.send({ messages: sent.map((r) => ({ topic, ...r })) }),
        CALL_MS,
        "platformatic send",
      );
      assertEquals(
        result.offsets?.map((o) => [o.partition, Number(o.offset)]).sort(),
        [[0, 0], [1, 0]],
      );
    } finally {
      await producer.close();
    }
    const consumer = consumerFor(b.bootstrap, { groupId: uniqueTopic("plat-rt-group") });
    try {
      const got = await take(await consumer.consume({ topics: [topic], mode: "earliest" }), 30);
      const expected = [0, 1].flatMap((p) =>
        sent.filter((r) => r.partition === p).map((r, offset) => ({ ...r, offset }))
      );
      assertEquals(
        got,
        expected.map(({ partition, offset, key, value, headers }) => ({
          partition,
          offset,
          key,
          value,
          headers,
        })),
      );
    } finally {
      await consumer.close(true);
    }
  });
}

interopTest(client, "transactions: read_committed skips the aborted one", async () => {
  const b = await broker();
  const topic = uniqueTopic("plat-txn");
  const producer = producerFor(b.bootstrap, {
    transactionalId: uniqueTopic("plat-txn-id"),
    idempotent: true,
    autocreateTopics: true,
  });
  try {
    for (const [value, commit] of [["c1", true], ["a1", false], ["c2", true]] as const) {
      const txn = await withTimeout(producer.beginTransaction(), CALL_MS, "beginTransaction");
      await withTimeout(
        txn.send({ messages: [{ topic, partition: 0, key: "k", value }] }),
        CALL_MS,
        "transactional send",
      );
      await withTimeout(commit ? txn.commit() : txn.abort(), CALL_MS, "end transaction");
    }
  } finally {
    await producer.close();
  }
  // Each transaction is a data batch and a marker: c1 at 0, a1 at 2, c2 at 4.
  for (const [isolationLevel, values] of [[1, ["c1", "c2"]], [0, ["c1", "a1", "c2"]]] as const) {
    const consumer = consumerFor(b.bootstrap, {
      groupId: uniqueTopic("plat-txn-group"),
      isolationLevel,
    });
    try {
      const got = await take(
        await consumer.consume({ topics: [topic], mode: "earliest" }),
        values.length,
        { quietMs: 1000 },
      );
      assertEquals(
        got.map((g) => [g.offset, g.value]),
        values.map((v) => [{ c1: 0, a1: 2, c2: 4 }[v], v]),
      );
    } finally {
      await consumer.close(true);
    }
  }
});

interopTest(client, "a group of two splits the partitions and commits", async () => {
  const b = await broker();
  const admin = adminFor(b.bootstrap);
  const topic = uniqueTopic("plat-group");
  const groupId = uniqueTopic("plat-group-id");
  const producer = producerFor(b.bootstrap);
  const consumers = [0, 1].map(() => consumerFor(b.bootstrap, { groupId }));
  try {
    await withTimeout(admin.createTopics({ topics: [topic], partitions: 4 }), CALL_MS, "create");
    await withTimeout(
      producer.send({
        messages: Array.from({ length: 40 }, (_, i) => ({
          topic,
          partition: i % 4,
          key: `k${i}`,
          value: `v${i}`,
        })),
      }),
      CALL_MS,
      "send",
    );
    // The first member takes every partition, the second one's join rebalances the group.
    const streams: StringStream[] = [];
    for (const c of consumers) {
      streams.push(
        await withTimeout(
          c.consume({ topics: [topic], mode: "committed", fallbackMode: "earliest" }),
          CALL_MS,
          "consume",
        ),
      );
    }
    // The first member learns of its smaller share at its next heartbeat and SyncGroup.
    const assignedNow = () =>
      consumers.map((c) => (c.assignments ?? []).flatMap((a) => a.partitions).sort());
    for (let i = 0; i < 100 && assignedNow().flat().length !== 4; i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    const assigned = assignedNow();
    assertEquals(assigned.flat().sort(), [0, 1, 2, 3]);
    assert(assigned.every((a) => a.length === 2), `assignment ${JSON.stringify(assigned)}`);
    const got = await Promise.all(
      streams.map((s, i) => take(s, assigned[i].length * 10, { commit: true })),
    );
    for (const [i, g] of got.entries()) {
      assertEquals([...new Set(g.map((r) => r.partition))].sort(), assigned[i]);
    }
    assertEquals(
      got.flat().map((r) => r.value).sort(),
      Array.from({ length: 40 }, (_, i) => `v${i}`).sort(),
    );
    const [offsets] = await withTimeout(
      admin.listConsumerGroupOffsets({ groups: [groupId] }),
      CALL_MS,
      "listConsumerGroupOffsets",
    );
    assertEquals(
      offsets.topics.flatMap((t) =>
        t.partitions.map((p) => [t.name, p.partitionIndex, Number(p.committedOffset)])
      ).sort(),
      [0, 1, 2, 3].map((p) => [topic, p, 10]),
    );
  } finally {
    await Promise.all(consumers.map((c) => c.close(true)));
    await producer.close();
    await admin.close();
  }
});

interopTest(client, "KIP-848: a consumer-protocol group of two splits and commits", async () => {
  const b = await broker();
  const admin = adminFor(b.bootstrap);
  const topic = uniqueTopic("plat-848");
  const groupId = uniqueTopic("plat-848-id");
  const producer = producerFor(b.bootstrap);
  // ConsumerGroupHeartbeat: the broker assigns (uniform), no JoinGroup/SyncGroup
  const consumers = [0, 1].map(() =>
    consumerFor(b.bootstrap, { groupId, groupProtocol: "consumer" })
  );
  const send = (from: number) =>
    withTimeout(
      producer.send({
        messages: Array.from({ length: 40 }, (_, i) => ({
          topic,
          partition: i % 4,
          key: `k${from + i}`,
          value: `v${from + i}`,
        })),
      }),
      CALL_MS,
      "send",
    );
  try {
    await withTimeout(admin.createTopics({ topics: [topic], partitions: 4 }), CALL_MS, "create");
    const got: Got[][] = [[], []];
    const streams: StringStream[] = [];
    for (const [i, c] of consumers.entries()) {
      const s = await withTimeout(
        c.consume({ topics: [topic], mode: "committed", fallbackMode: "earliest" }),
        CALL_MS,
        "consume",
      );
      s.on("data", (m) => {
        got[i].push({
          partition: m.partition,
          offset: Number(m.offset),
          key: m.key,
          value: m.value,
          headers: {},
        });
        void m.commit();
      });
      streams.push(s);
    }
    const assignedNow = () =>
      consumers.map((c) => (c.assignments ?? []).flatMap((a) => a.partitions).sort());
    for (let i = 0; i < 150 && assignedNow().some((a) => a.length !== 2); i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    const assigned = assignedNow();
    assertEquals(assigned.flat().sort(), [0, 1, 2, 3]);
    assertEquals(assigned.map((a) => a.length), [2, 2]);
    await send(0);
    for (let i = 0; i < 150 && got.flat().length < 40; i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    await new Promise((r) => setTimeout(r, 300));
    // each member read exactly its partitions, every record once
    for (const [i, g] of got.entries()) {
      assertEquals([...new Set(g.map((r) => r.partition))].sort(), assigned[i]);
    }
    assertEquals(
      got.flat().map((r) => r.value).sort(),
      Array.from({ length: 40 }, (_, i) => `v${i}`).sort(),
    );
    for (const s of streams) await s.close();
    // the commits were sent without waiting: read until the last one has landed (at most 10 s)
    const committed = async () => {
      const [offsets] = await withTimeout(
        admin.listConsumerGroupOffsets({ groups: [groupId] }),
        CALL_MS,
        "listConsumerGroupOffsets",
      );
      return offsets.topics.flatMap((t) =>
        t.partitions.map((p) => [t.name, p.partitionIndex, Number(p.committedOffset)])
      ).sort();
    };
    const expected = [0, 1, 2, 3].map((p) => [topic, p, 10]);
    let last = await committed();
    for (let i = 0; i < 100 && JSON.stringify(last) !== JSON.stringify(expected); i++) {
      await new Promise((r) => setTimeout(r, 100));
      last = await committed();
    }
    assertEquals(last, expected);
    const groups = await withTimeout(admin.listGroups({ types: ["consumer"] }), CALL_MS, "list");
    assertEquals(groups.get(groupId)?.groupType, "consumer");
  } finally {
    await Promise.all(consumers.map((c) => c.close(true)));
    await producer.close();
    await admin.close();
  }
});

interopTest(client, "Admin: topics, configs, offsets, records, groups, quotas", async () => {
  const b = await broker();
  const admin = adminFor(b.bootstrap);
  const topic = uniqueTopic("plat-admin");
  const producer = producerFor(b.bootstrap);
  const call = <T>(p: Promise<T>, what: string) => withTimeout(p, CALL_MS, what);
  try {
    const [created] = await call(
      admin.createTopics({
        topics: [topic],
        partitions: 2,
        replicas: 1,
        configs: [{ name: "retention.ms", value: "3600000" }],
      }),
      "createTopics",
    );
    assertEquals([created.name, created.partitions, created.replicas], [topic, 2, 1]);
    assertEquals(created.configuration["retention.ms"], "3600000");
    await call(
      admin.createPartitions({ topics: [{ name: topic, count: 3, assignments: [] }] }),
      "createPartitions",
    );
    await call(
      admin.incrementalAlterConfigs({
        resources: [{
          resourceType: 2,
          resourceName: topic,
          configs: [{ name: "retention.ms", configOperation: 0, value: "7200000" }],
        }],
      }),
      "incrementalAlterConfigs",
    );
    const [described] = await call(
      admin.describeConfigs({
        resources: [{ resourceType: 2, resourceName: topic, configurationKeys: ["retention.ms"] }],
      }),
      "describeConfigs",
    );
    assertEquals(described.configs.map((c) => [c.name, c.value]), [["retention.ms", "7200000"]]);

    const base = BigInt(Date.now() - 60_000);
    await call(
      producer.send({
        messages: Array.from({ length: 6 }, (_, i) => ({
          topic,
          partition: 2,
          key: "k",
          value: `v${i}`,
          timestamp: base + BigInt(i === 4 ? 100 : i),
        })),
      }),
      "send",
    );
    const listed = async (timestamp: bigint) => {
      const [t] = await call(
        admin.listOffsets({
          topics: [{ name: topic, partitions: [{ partitionIndex: 2, timestamp }] }],
        }),
        "listOffsets",
      );
      return Number(t.partitions[0].offset);
    };
    assertEquals(
      [await listed(-2n), await listed(-1n), await listed(-3n), await listed(base + 5n)],
      [0, 6, 4, 4],
    );
    const [deleted] = await call(
      admin.deleteRecords({
        topics: [{ name: topic, partitions: [{ partition: 2, offset: 3n }] }],
      }),
      "deleteRecords",
    );
    assertEquals(Number(deleted.partitions[0].lowWatermark), 3);
    assertEquals(await listed(-2n), 3);

    const groupId = uniqueTopic("plat-admin-group");
    await call(
      admin.alterConsumerGroupOffsets({
        groupId,
        topics: [{
          name: topic,
          partitionOffsets: [{ partition: 0, offset: 0n }, { partition: 2, offset: 5n }],
        }],
      }),
      "alterConsumerGroupOffsets",
    );
    const committed = async () => {
      const [g] = await call(admin.listConsumerGroupOffsets({ groups: [groupId] }), "list offsets");
      return g.topics.flatMap((t) =>
        t.partitions.map((p) => [p.partitionIndex, Number(p.committedOffset)])
      )
        .sort();
    };
    assertEquals(await committed(), [[0, 0], [2, 5]]);
    await call(
      admin.deleteConsumerGroupOffsets({
        groupId,
        topics: [{ name: topic, partitionIndexes: [0] }],
      }),
      "deleteConsumerGroupOffsets",
    );
    assertEquals(await committed(), [[2, 5]]);
    const groups = await call(admin.listGroups(), "listGroups");
    assertEquals(groups.get(groupId)?.state, "Empty");
    await call(admin.deleteGroups({ groups: [groupId] }), "deleteGroups");
    assert(!(await call(admin.listGroups(), "listGroups")).has(groupId));

    const clientId = uniqueTopic("plat-quota");
    await call(
      admin.alterClientQuotas({
        entries: [{
          entities: [{ entityType: "client-id", entityName: clientId }],
          ops: [{ key: "producer_byte_rate", value: 1048576, remove: false }],
        }],
      }),
      "alterClientQuotas",
    );
    const quotas = await call(
      admin.describeClientQuotas({
        components: [{ entityType: "client-id", matchType: 0, match: clientId }],
      }),
      "describeClientQuotas",
    );
    assertEquals(quotas.map((q) => q.values), [[{ key: "producer_byte_rate", value: 1048576 }]]);

    await call(admin.deleteTopics({ topics: [topic] }), "deleteTopics");
    assert(!(await call(admin.listTopics(), "listTopics")).includes(topic));
  } finally {
    await producer.close();
    await admin.close();
  }
});
