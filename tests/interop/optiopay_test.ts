// Copyright 2026 the Sluice authors. Apache-2.0 license.
// optiopay/kafka (Debian's golang-github-optiopay-kafka-dev 2.1.1), a Go client with its own
// protocol code that knows only old versions: Produce v0-v2 (message sets), Fetch v0-v5,
// ListOffsets v0-v2, Metadata v0-v5, OffsetCommit/OffsetFetch v0-v3, GroupCoordinator v0-v1,
// ApiVersions v0-v1, CreateTopics v0. Its API negotiates the highest common version; the
// `versions` command of clients/go/src/sluice_optiopay sends every version it knows on a raw
// connection, encoded and decoded by the client's own `proto` package. What the client itself
// cannot do (and Kafka 3.9 refuses or answers the same way) is asserted as such, see
// tests/interop/README.md.

import assert, { deepStrictEqual as assertEquals, ok } from "node:assert/strict";
import { createReplicatedTopic, startCluster } from "../cluster/harness.ts";
import { requireEtcd, sharedEtcd } from "../etcd.ts";
import { interopTest, requireClient, sharedBroker, startBroker, uniqueTopic } from "../harness.ts";
import { runGoClient } from "./go.ts";

const optiopay = requireClient("optiopay");
const broker = sharedBroker({ numPartitions: 1 });

interface Rec {
  partition: number;
  offset: number;
  key: string | null;
  value: string | null;
}

const plain = (records: Rec[]) => records.map((r) => [r.offset, r.key, r.value]);

/** Three messages: a keyed one, one without key, one without value. */
const three = (prefix: string) => [
  { key: `${prefix}-k`, value: `${prefix}-v` },
  { key: null, value: `${prefix}-no-key` },
  { key: `${prefix}-tombstone`, value: null },
];

const run = <T = Record<string, unknown>>(command: string, request: unknown, timeoutMs?: number) =>
  runGoClient<T>("sluice_optiopay", command, request, timeoutMs);

interopTest(optiopay, "every request at every version the client knows", async () => {
  const { bootstrap } = await broker();
  const topic = uniqueTopic("optiopay-versions");
  const group = `${topic}-g`;
  const got = await run<Record<string, unknown>>("versions", {
    brokers: [bootstrap],
    topic,
    group,
  });
  const records = ["0:k0:produce-v0", "1:k1:produce-v1", "2:k2:produce-v2"];
  const fetched = (messageVersion: number) => ({
    error: "",
    highWatermark: 3,
    messageVersion,
    records,
  });
  assertEquals(got, {
    "ApiVersions v0": true,
    "ApiVersions v1": true,
    // Metadata v0 creates the topic (auto.create.topics.enable); v4+ ask for it explicitly
    "Metadata v0": [`${topic}:1:`],
    "Metadata v1": [`${topic}:1:`],
    "Metadata v2": [`${topic}:1:`],
    "Metadata v3": [`${topic}:1:`],
    "Metadata v4": [`${topic}:1:`],
    "Metadata v5": [`${topic}:1:`],
    "Produce v0": "offset 0 ",
    "Produce v1": "offset 1 ",
    "Produce v2": "offset 2 ",
    // v0 (max_num_offsets 10): the log end offset, then the segment's base offset
    "ListOffsets v0": "[3 0] ",
    "ListOffsets v1": "[3] ",
    "ListOffsets v2": "[3] ",
    // message format v0 for Fetch v0-v1, v1 for v2-v3 (converted), record batches from v4
    "Fetch v0": fetched(0),
    "Fetch v1": fetched(0),
    "Fetch v2": fetched(1),
    "Fetch v3": fetched(1),
    "Fetch v4": fetched(2),
    "Fetch v5": fetched(2),
    "GroupCoordinator v0": "1 ",
    "OffsetCommit v0": "",
    "OffsetCommit v1": "",
    "OffsetCommit v2": "",
    "OffsetCommit v3": "",
    "OffsetFetch v0": "100 m0 ",
    "OffsetFetch v1": "101 m1 ",
    "OffsetFetch v2": "102 m2 ",
    "OffsetFetch v3": "103 m3 ",
    // generation 0 for a group that does not exist: Kafka's ILLEGAL_GENERATION below v9
    "OffsetCommit v3 generation 0": "consumer generation id is not valid (22)",
  });
});

interopTest(
  optiopay,
  "produce with acks -1, 1, 0 and none, gzip, snappy; each record read back once",
  async () => {
    const { bootstrap } = await broker();
    const topic = uniqueTopic("optiopay-produce");
    assertEquals(
      await run("create", { brokers: [bootstrap], topic, partitions: 1 }),
      { errors: { [topic]: "" } },
    );
    const want: [number, string | null, string | null][] = [];
    for (const compression of ["none", "gzip", "snappy"]) {
      for (const acks of [-1, 1, 0]) {
        const sent = three(`${compression}${acks}`);
        const { offsets } = await run<{ offsets: number[] }>("produce", {
          brokers: [bootstrap],
          topic,
          acks,
          compression,
          messages: sent,
        });
        // with acks=0 there is no answer: the client reports offsets from 0
        const base = want.length;
        assertEquals(offsets, acks === 0 ? [0, 1, 2] : [base, base + 1, base + 2]);
        sent.forEach((m, i) => want.push([base + i, m.key, m.value]));
      }
    }
    // Fetch v0/v1 (message format v0: absolute offsets inside compressed wrappers) read all 27.
    for (const version of [0, 1]) {
      const got = await run<{ records: Rec[]; formats: Record<string, boolean> }>("fetch", {
        brokers: [bootstrap],
        topic,
        version,
        count: 27,
      });
      assertEquals(plain(got.records), want, `Fetch v${version}`);
      assertEquals(got.formats, { "0": true });
    }
    assertEquals(await run("offsets", { brokers: [bootstrap], topic }), {
      earliest: 0,
      latest: 27,
    });
  },
);

interopTest(
  optiopay,
  "the Consumer (Fetch v5) reads from the start and from an offset",
  async () => {
    const { bootstrap } = await broker();
    const topic = uniqueTopic("optiopay-consume");
    await run("create", { brokers: [bootstrap], topic, partitions: 1 });
    const sent = Array.from({ length: 12 }, (_, i) => ({ key: `k${i}`, value: `v${i}` }));
    // four Produce requests of three messages: four record batches in the log
    const { offsets } = await run<{ offsets: number[] }>("produce", {
      brokers: [bootstrap],
      topic,
      batch: 3,
      messages: sent,
    });
    assertEquals(offsets, sent.map((_, i) => i));
    const all = await run<{ records: Rec[]; extra: number }>("consume", {
      brokers: [bootstrap],
      topic,
      count: 12,
    });
    assertEquals(plain(all.records), sent.map((m, i) => [i, m.key, m.value]));
    assertEquals(all.extra, 0);
    const tail = await run<{ records: Rec[]; extra: number }>("consume", {
      brokers: [bootstrap],
      topic,
      startOffset: 7,
      count: 5,
    });
    assertEquals(plain(tail.records), sent.slice(7).map((m, i) => [i + 7, m.key, m.value]));
    assertEquals(tail.extra, 0);
  },
);

interopTest(
  optiopay,
  "CreateTopics v0, metadata, unknown topics and partitions, round-robin producer",
  async () => {
    const { bootstrap, port } = await broker();
    const topic = uniqueTopic("optiopay-meta");
    assertEquals(
      await run("create", { brokers: [bootstrap], topic, partitions: 3 }),
      { errors: { [topic]: "" } },
    );
    assertEquals(
      await run("create", { brokers: [bootstrap], topic, partitions: 3 }),
      { errors: { [topic]: "Topic with this name already exists. (36)" } },
    );
    const meta = await run<{
      brokers: unknown[];
      topics: Record<string, unknown>;
      partitionCount: number;
      controllerId: number;
    }>("metadata", { brokers: [bootstrap], topic });
    assertEquals(meta.brokers, [{ nodeId: 1, host: "127.0.0.1", port }]);
    assertEquals(meta.controllerId, 1);
    assertEquals(meta.partitionCount, 3);
    assertEquals(meta.topics[topic], {
      error: "",
      partitions: [0, 1, 2].map((id) => ({ id, leader: 1, error: "" })),
    });
    await assert.rejects(
      run("produce", {
        brokers: [bootstrap],
        topic,
        partition: 7,
        messages: three("x"),
      }),
      /produce messages 0\.\.2: unknown topic or partition \(3\)/,
    );
    // The client's topic creation asks Metadata v5 with allow_auto_topic_creation false (its
    // request never sets it): Kafka does not create the topic, nor does Sluice.
    const missing = uniqueTopic("optiopay-missing");
    await assert.rejects(
      run("produce", {
        brokers: [bootstrap],
        topic: missing,
        allowTopicCreation: true,
        retries: 1,
        messages: three("x"),
      }),
      /unknown topic or partition \(3\)/,
    );
    await assert.rejects(
      run("consume", { brokers: [bootstrap], topic: missing, count: 1 }),
      /unknown topic or partition \(3\)/,
    );
    // round robin: two messages per partition, at offsets 0 and 1 of each
    const sent = Array.from({ length: 6 }, (_, i) => ({ key: `k${i}`, value: `rr${i}` }));
    await run("distribute", {
      brokers: [bootstrap],
      topic,
      partitions: 3,
      distribute: "roundrobin",
      messages: sent,
    });
    const values: string[] = [];
    for (const partition of [0, 1, 2]) {
      const got = await run<{ records: Rec[] }>("fetch", {
        brokers: [bootstrap],
        topic,
        partition,
        version: 5,
        count: 2,
      });
      assertEquals(got.records.map((r) => r.offset), [0, 1]);
      values.push(...got.records.map((r) => r.value!));
    }
    assertEquals(values.sort(), sent.map((m) => m.value).sort());
  },
);

interopTest(
  optiopay,
  "its OffsetCoordinator sends a truncated FindCoordinator v1: refused as Kafka refuses it",
  async () => {
    // The client negotiates GroupCoordinator (FindCoordinator) v1 but encodes only the group
    // id, not v1's key_type: Kafka fails to parse the request and closes the connection, and so
    // does Sluice. The client then gives up with its ErrNoCoordinator. The broker goes on.
    const { bootstrap } = await broker();
    const topic = uniqueTopic("optiopay-coordinator");
    await run("create", { brokers: [bootstrap], topic, partitions: 1 });
    await assert.rejects(
      run("commit", { brokers: [bootstrap], topic, group: `${topic}-g`, offset: 5 }),
      /coordinator: consumer coordinator not available \(15\)/,
    );
    assertEquals(await run("offsets", { brokers: [bootstrap], topic }), {
      earliest: 0,
      latest: 0,
    });
  },
);

interopTest(
  optiopay,
  "a broker restart in the middle of a produce and consume stream",
  async () => {
    // its own broker on a fixed port: the client reconnects to the address it knows
    const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (probe.addr as Deno.NetAddr).port;
    probe.close();
    const b = await startBroker({ listeners: `PLAINTEXT://127.0.0.1:${port}`, numPartitions: 1 });
    try {
      const topic = uniqueTopic("optiopay-restart");
      await run("create", { brokers: [b.bootstrap], topic, partitions: 1 });
      const sent = Array.from({ length: 40 }, (_, i) => ({ key: `k${i}`, value: `r${i}` }));
      // a consumer reading all along, and 20 Produce requests 100 ms apart; both clients retry
      // up to 40 times, 200 ms apart
      const consuming = run<{ records: Rec[]; extra: number }>("consume", {
        brokers: [b.bootstrap],
        topic,
        count: 40,
        retries: 40,
      });
      const producing = run<{ offsets: number[] }>("produce", {
        brokers: [b.bootstrap],
        topic,
        batch: 2,
        intervalMs: 100,
        retries: 40,
        messages: sent,
      });
      await new Promise((r) => setTimeout(r, 700));
      await b.restart();
      assertEquals(b.port, port);
      const { offsets } = await producing;
      assertEquals(offsets, sent.map((_, i) => i));
      const along = await consuming;
      assertEquals(plain(along.records), sent.map((m, i) => [i, m.key, m.value]));
      assertEquals(along.extra, 0);
      const got = await run<{ records: Rec[]; extra: number }>("consume", {
        brokers: [b.bootstrap],
        topic,
        count: 40,
      });
      assertEquals(plain(got.records), sent.map((m, i) => [i, m.key, m.value]));
      assertEquals(got.extra, 0);
    } finally {
      await b.close();
    }
  },
);

const etcdReq = requireEtcd();
const etcd = sharedEtcd();

Deno.test({
  name: "optiopay: the leader stops in the middle of a produce stream (cluster mode)",
  ignore: optiopay.ignore || etcdReq.ignore,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    optiopay.assertAvailable();
    etcdReq.assertAvailable();
    const c = await startCluster(await etcd(), 3);
    try {
      const topic = uniqueTopic("optiopay-failover");
      const leader = await createReplicatedTopic(c, topic);
      const others = [0, 1, 2].filter((i) => i !== leader - 1).map((i) => c.bootstrap(i));
      const sent = Array.from({ length: 40 }, (_, i) => ({ key: `k${i}`, value: `f${i}` }));
      // acks=-1; 20 Produce requests 100 ms apart, a failed one retried 40 times 200 ms apart
      const producing = run<{ offsets: number[] }>("produce", {
        brokers: others,
        topic,
        acks: -1,
        batch: 2,
        intervalMs: 100,
        retries: 40,
        messages: sent,
      });
      await new Promise((r) => setTimeout(r, 700));
      await c.stop(leader - 1);
      const { offsets } = await producing;
      // what the client reports is what is in the log: each value at the offset it was told
      const got = await run<{ records: Rec[]; extra: number }>("consume", {
        brokers: others,
        topic,
        count: offsets[offsets.length - 1] + 1,
        retries: 20,
      });
      assertEquals(got.extra, 0);
      const byOffset = new Map(got.records.map((r) => [r.offset, r.value]));
      sent.forEach((m, i) =>
        assertEquals(byOffset.get(offsets[i]), m.value, `offset ${offsets[i]}`)
      );
      // a retry after an answer lost with the old leader could repeat a request (no idempotence)
      assertEquals(new Set(got.records.map((r) => r.value)).size, 40);
      ok(got.records.length <= 44, `${got.records.length} records`);
    } finally {
      await c.close();
    }
  },
});
