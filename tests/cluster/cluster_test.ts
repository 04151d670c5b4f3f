// Copyright 2026 the Sluice authors. Apache-2.0 license.
// Cluster mode with three in-process brokers on one real etcd: registration, Metadata and
// DescribeCluster from every broker, topics spread over the brokers, clients following leaders
// (our client, kcat, kafka-python), consumer groups whose coordinator is another broker,
// NOT_LEADER_OR_FOLLOWER from non-leaders, admin writes through etcd, and the refusals.
import { deepStrictEqual as assertEquals, ok, rejects, strictEqual } from "node:assert/strict";
import { Admin, Client, Connection, Consumer, KafkaError, Producer } from "../../client/mod.ts";
import {
  createListOffsetsRequest,
  createListOffsetsRequestPartition,
  createListOffsetsRequestTopic,
  ListOffsetsRequest,
  ListOffsetsResponse,
} from "../../protocol/messages/list_offsets.ts";
import { ErrorCode } from "../../protocol/errors.ts";
import {
  FindCoordinatorRequest,
  FindCoordinatorResponse,
} from "../../protocol/messages/find_coordinator.ts";
import { OffsetFetchRequest, OffsetFetchResponse } from "../../protocol/messages/offset_fetch.ts";
import { Broker } from "../../server/mod.ts";
import { MetadataRequest, MetadataResponse } from "../../protocol/messages/metadata.ts";
import { NO_TOPIC_ID, RawClient } from "../../server/testing.ts";
import { sharedEtcd, type TestEtcd } from "../etcd.ts";
import { requireClient, runClientScript, runCommand, uniqueTopic } from "../harness.ts";
import { clusterTest, type InProcessCluster, startCluster, until } from "./harness.ts";

const etcd = sharedEtcd();
let shared: Promise<InProcessCluster> | undefined;
Deno.test.afterAll(async () => {
  if (shared) await (await shared.catch(() => undefined))?.close();
});
/** Three brokers shared by the tests of this file (distinct topic names). */
function cluster(): Promise<InProcessCluster> {
  return shared ??= etcd().then((e) => startCluster(e, 3));
}

const test = clusterTest("cluster");

async function withClient<T>(bootstrap: string, fn: (c: Client) => Promise<T>): Promise<T> {
  const client = new Client({ bootstrapServers: bootstrap, retries: 20 });
  try {
    return await fn(client);
  } finally {
    await client.close();
  }
}

/** ListOffsets (latest, v5) of `partitions` sent to one broker. */
async function listOffsets(port: number, topic: string, partitions: number[]) {
  const conn = await Connection.connect({ host: "127.0.0.1", port });
  try {
    const res = await conn.send(
      { request: ListOffsetsRequest, response: ListOffsetsResponse },
      createListOffsetsRequest({
        replicaId: -1,
        topics: [
          createListOffsetsRequestTopic({
            name: topic,
            partitions: partitions.map((p) =>
              createListOffsetsRequestPartition({ partitionIndex: p, timestamp: -1 })
            ),
          }),
        ],
      }),
      { version: 5 },
    );
    return res.topics[0].partitions;
  } finally {
    conn.close();
  }
}

/** Wait until every broker's view has the topic with a leader for each partition. */
async function settled(c: InProcessCluster, topic: string, partitions: number): Promise<void> {
  await until(`${topic} settled on every broker`, () =>
    c.brokers.every((b) =>
      b === undefined ||
      Array.from({ length: partitions }, (_, p) => b.cluster!.view.partition(topic, p))
        .every((s) => s !== undefined && s.value.leader !== -1)
    ));
}

test("three brokers register; DescribeCluster and Metadata agree on every broker", async () => {
  const c = await cluster();
  const topic = uniqueTopic("agree");
  await withClient(
    c.bootstrap(0),
    (cl) => new Admin(cl).createTopics([{ name: topic, numPartitions: 6 }]),
  );
  await settled(c, topic, 6);
  const seen = [];
  for (let i = 0; i < 3; i++) {
    seen.push(
      await withClient(c.bootstrap(i), async (cl) => {
        const admin = new Admin(cl);
        const d = await admin.describeCluster();
        const [t] = await admin.describeTopics([topic]);
        return { d, t };
      }),
    );
  }
  const expectedBrokers = [0, 1, 2].map((i) => ({
    nodeId: i + 1,
    host: "127.0.0.1",
    port: c.brokers[i]!.port,
    rack: null,
  }));
  for (const { d, t } of seen) {
    assertEquals(d.brokers, expectedBrokers);
    strictEqual(d.clusterId, seen[0].d.clusterId);
    ok([1, 2, 3].includes(d.controllerId), `controller ${d.controllerId}`);
    strictEqual(d.controllerId, seen[0].d.controllerId);
    assertEquals(t, seen[0].t);
  }
  // RF 1 (default.replication.factor), spread: each broker leads two of the six
  const leaders = seen[0].t.partitions.map((p) => p.leader);
  for (const b of [1, 2, 3]) strictEqual(leaders.filter((l) => l === b).length, 2);
  for (const p of seen[0].t.partitions) {
    assertEquals(p.replicas, [p.leader]);
    assertEquals(p.isr, [p.leader]);
    assertEquals(p.offlineReplicas, []);
  }
  // meta.properties of every data dir holds the cluster's id
  for (const dir of c.dirs) {
    ok(
      (await Deno.readTextFile(`${dir}/meta.properties`)).includes(
        `cluster.id=${seen[0].d.clusterId}`,
      ),
    );
  }
  // only the replicas hold logs: each broker two partition directories of the topic
  for (let i = 0; i < 3; i++) {
    const held = c.brokers[i]!.cluster!.view.topic(topic)!.value.replicas
      .flatMap((r, p) => r.includes(i + 1) ? [p] : []);
    const dirs: string[] = [];
    for await (const e of Deno.readDir(c.dirs[i])) {
      if (e.name.startsWith(`${topic}-`)) dirs.push(e.name);
    }
    assertEquals(dirs.sort(), held.map((p) => `${topic}-${p}`).sort());
  }
});

test("our client produces to and consumes every partition through any bootstrap broker", async () => {
  const c = await cluster();
  const topic = uniqueTopic("every");
  await withClient(
    c.bootstrap(1),
    (cl) => new Admin(cl).createTopics([{ name: topic, numPartitions: 6 }]),
  );
  await settled(c, topic, 6);
  for (let via = 0; via < 3; via++) {
    await withClient(c.bootstrap(via), async (cl) => {
      const producer = new Producer(cl);
      for (let p = 0; p < 6; p++) {
        producer.send({
          topic,
          messages: [{ partition: p, key: `k${p}`, value: `via${via}-p${p}` }],
        });
      }
      await producer.flush();
      await producer.close();
    });
  }
  for (let via = 0; via < 3; via++) {
    const records = await withClient(c.bootstrap(via), async (cl) => {
      const consumer = new Consumer(cl, { fromBeginning: true });
      await consumer.assign(Array.from({ length: 6 }, (_, p) => ({ topic, partition: p })));
      const out: { partition: number; offset: number; value: string }[] = [];
      const deadline = Date.now() + 20_000;
      while (out.length < 18 && Date.now() < deadline) {
        for (const r of await consumer.poll({ maxWaitMs: 200 })) {
          out.push({
            partition: r.partition,
            offset: r.offset,
            value: new TextDecoder().decode(r.value!),
          });
        }
      }
      await consumer.close();
      return out;
    });
    const byPartition = (p: number) =>
      records.filter((r) => r.partition === p).sort((a, b) => a.offset - b.offset);
    for (let p = 0; p < 6; p++) {
      assertEquals(byPartition(p).map((r) => [r.offset, r.value]), [
        [0, `via0-p${p}`],
        [1, `via1-p${p}`],
        [2, `via2-p${p}`],
      ]);
    }
  }
});

const kcat = requireClient("kcat");
test("kcat produces to and consumes every partition through any bootstrap broker", async () => {
  const c = await cluster();
  const topic = uniqueTopic("kcat");
  await withClient(
    c.bootstrap(2),
    (cl) => new Admin(cl).createTopics([{ name: topic, numPartitions: 6 }]),
  );
  await settled(c, topic, 6);
  for (let p = 0; p < 6; p++) {
    const via = c.bootstrap(p % 3);
    const r = await runCommand("kcat", ["-b", via, "-P", "-t", topic, "-p", String(p)], {
      stdin: `a${p}\nb${p}\n`,
    });
    strictEqual(r.code, 0, r.stderr);
  }
  for (let p = 0; p < 6; p++) {
    const via = c.bootstrap((p + 1) % 3);
    const r = await runCommand("kcat", [
      "-b",
      via,
      "-C",
      "-t",
      topic,
      "-p",
      String(p),
      "-o",
      "beginning",
      "-e",
      "-f",
      "%p %o %s\n",
    ]);
    strictEqual(r.code, 0, r.stderr);
    assertEquals(r.stdout.trim().split("\n"), [`${p} 0 a${p}`, `${p} 1 b${p}`]);
  }
}, kcat);

const kafkaPython = requireClient("kafka-python");
test(
  "a kafka-python consumer group commits offsets; they are read back through another broker",
  async () => {
    const c = await cluster();
    const topic = uniqueTopic("group");
    const group = `g-${topic}`;
    await withClient(c.bootstrap(0), async (cl) => {
      await new Admin(cl).createTopics([{ name: topic, numPartitions: 6 }]);
      await settled(c, topic, 6);
      const producer = new Producer(cl);
      for (let i = 0; i < 12; i++) {
        producer.send({ topic, messages: [{ partition: i % 6, value: `v${i}` }] });
      }
      await producer.flush();
      await producer.close();
    });
    const consumed = await runClientScript<{ records: { partition: number; offset: number }[] }>(
      "kafka_python_client.py",
      "group_consume",
      { bootstrap: c.bootstrap(1), topic, group, count: 12, timeout_s: 40 },
      60_000,
    );
    strictEqual(consumed.records.length, 12);
    // the group's coordinator is the leader of its __consumer_offsets partition, the same seen
    // from every broker; and the committed offsets are there whoever is asked
    const coordinators: number[] = [];
    for (let i = 0; i < 3; i++) {
      const conn = await Connection.connect({ host: "127.0.0.1", port: c.brokers[i]!.port });
      try {
        const res = await conn.send(
          { request: FindCoordinatorRequest, response: FindCoordinatorResponse },
          FindCoordinatorRequest.create({ key: group }),
          { version: 3 },
        );
        strictEqual(res.errorCode, 0);
        coordinators.push(res.nodeId);
      } finally {
        conn.close();
      }
    }
    strictEqual(new Set(coordinators).size, 1);
    // only the coordinator serves the group: the others answer NOT_COORDINATOR
    for (let i = 0; i < 3; i++) {
      const conn = await Connection.connect({ host: "127.0.0.1", port: c.brokers[i]!.port });
      try {
        const res = await conn.send(
          { request: OffsetFetchRequest, response: OffsetFetchResponse },
          OffsetFetchRequest.create({ groupId: group, topics: null }),
          { version: 5 },
        );
        if (i + 1 === coordinators[0]) {
          strictEqual(res.errorCode, ErrorCode.NONE);
          strictEqual(res.topics[0]?.partitions.length, 6);
        } else {
          strictEqual(res.errorCode, ErrorCode.NOT_COORDINATOR);
        }
      } finally {
        conn.close();
      }
    }
    const view = c.brokers[0]!.cluster!.view;
    const internal = view.topic("__consumer_offsets")!;
    strictEqual(internal.value.replicas[0].length, 3); // offsets.topic.replication.factor
    for (let via = 0; via < 3; via++) {
      const committed = await runClientScript<{ offsets: Record<string, number | null> }>(
        "kafka_python_client.py",
        "committed",
        { bootstrap: c.bootstrap(via), topic, group, partitions: [0, 1, 2, 3, 4, 5] },
      );
      assertEquals(committed.offsets, { "0": 2, "1": 2, "2": 2, "3": 2, "4": 2, "5": 2 });
    }
    // our Admin lists the group and its offsets, through any broker
    await withClient(c.bootstrap(2), async (cl) => {
      const admin = new Admin(cl);
      ok((await admin.listGroups()).some((g) => g.groupId === group));
      const offsets = await admin.listConsumerGroupOffsets(group);
      strictEqual(offsets.length, 6);
    });
  },
  kafkaPython,
);

test("a broker that does not lead a partition answers NOT_LEADER_OR_FOLLOWER; unknown ones UNKNOWN_TOPIC_OR_PARTITION", async () => {
  const c = await cluster();
  const topic = uniqueTopic("notleader");
  // RF 3: every broker holds every partition's log, and only the leader may answer
  await withClient(
    c.bootstrap(0),
    (cl) => new Admin(cl).createTopics([{ name: topic, numPartitions: 3, replicationFactor: 3 }]),
  );
  await settled(c, topic, 3);
  const view = c.brokers[0]!.cluster!.view;
  // (each leader's log must be there first)
  await until("leaders ready", () =>
    [0, 1, 2].every((p) => {
      const leader = view.partition(topic, p)!.value.leader;
      return c.brokers[leader - 1]!.cluster!.leaderError(topic, p) === undefined;
    }));
  for (let i = 0; i < 3; i++) {
    const partitions = await listOffsets(c.brokers[i]!.port, topic, [0, 1, 2, 3]);
    const expected = [0, 1, 2].map((p) =>
      view.partition(topic, p)!.value.leader === i + 1
        ? ErrorCode.NONE
        : ErrorCode.NOT_LEADER_OR_FOLLOWER
    );
    assertEquals(partitions.map((p) => p.errorCode), [
      ...expected,
      ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
    ]);
  }
});

test("CreateTopics: RF above the live brokers is INVALID_REPLICATION_FACTOR; of two concurrent creations one wins", async () => {
  const c = await cluster();
  const topic = uniqueTopic("create");
  await withClient(c.bootstrap(0), async (cl) => {
    await rejects(
      new Admin(cl).createTopics([{ name: topic, numPartitions: 1, replicationFactor: 4 }]),
      (e: Error) =>
        e instanceof KafkaError && e.code === ErrorCode.INVALID_REPLICATION_FACTOR &&
        e.message.includes("Replication factor: 4 larger than available brokers: 3."),
    );
  });
  // two brokers create the same topic at once: exactly one succeeds
  for (let round = 0; round < 3; round++) {
    const name = `${topic}-${round}`;
    const results = await Promise.allSettled(
      [0, 1, 2].map((i) =>
        withClient(
          c.bootstrap(i),
          (cl) => new Admin(cl).createTopics([{ name, numPartitions: 2, replicationFactor: 3 }]),
        )
      ),
    );
    strictEqual(results.filter((r) => r.status === "fulfilled").length, 1, JSON.stringify(results));
    for (const r of results) {
      if (r.status === "rejected") {
        ok(
          r.reason instanceof KafkaError && r.reason.code === ErrorCode.TOPIC_ALREADY_EXISTS,
          String(r.reason),
        );
      }
    }
    await settled(c, name, 2);
    // RF 3: every broker holds both partitions, the ISR is all replicas
    for (const b of c.brokers) {
      strictEqual(b!.cluster!.view.topic(name)!.value.replicas[0].length, 3);
      assertEquals(b!.cluster!.view.partition(name, 0)!.value.isr.length, 3);
    }
  }
});

test("CreatePartitions, config changes and DeleteTopics go through etcd and reach every replica", async () => {
  const c = await cluster();
  const topic = uniqueTopic("admin");
  await withClient(c.bootstrap(0), async (cl) => {
    const admin = new Admin(cl);
    await admin.createTopics([{ name: topic, numPartitions: 2, replicationFactor: 2 }]);
    await settled(c, topic, 2);
    await admin.createPartitions([{ topic, count: 5 }]);
    await settled(c, topic, 5);
    const replicas = c.brokers[0]!.cluster!.view.topic(topic)!.value.replicas;
    strictEqual(replicas.length, 5);
    for (const r of replicas) strictEqual(r.length, 2);
    const held = async (i: number, p: number) => {
      try {
        await Deno.stat(`${c.dirs[i]}/${topic}-${p}`);
        return true;
      } catch {
        return false;
      }
    };
    await until("every replica made its logs, and only the replicas", async () => {
      for (let i = 0; i < 3; i++) {
        for (let p = 0; p < 5; p++) {
          if ((await held(i, p)) !== replicas[p].includes(i + 1)) return false;
        }
      }
      return true;
    });
    await admin.alterConfigs([{
      type: "topic",
      name: topic,
      changes: [{ name: "retention.ms", value: "12345", op: "set" }],
    }]);
    const [described] = await admin.describeConfigs([{ type: "topic", name: topic }]);
    strictEqual(described.entries.find((e) => e.name === "retention.ms")?.value, "12345");
    await admin.deleteTopics([topic]);
  });
  await until("every broker removed the topic's logs", async () => {
    for (const dir of c.dirs) {
      for await (const e of Deno.readDir(dir)) if (e.name.startsWith(`${topic}-`)) return false;
    }
    return true;
  });
  for (const b of c.brokers) strictEqual(b!.cluster!.view.topic(topic), undefined);
});

test("internal topics need offsets.topic.replication.factor live brokers: COORDINATOR_NOT_AVAILABLE before", async () => {
  const e = await etcd();
  const two = await startCluster(e, 2);
  try {
    const conn = await Connection.connect({ host: "127.0.0.1", port: two.brokers[0]!.port });
    try {
      const res = await conn.send(
        { request: FindCoordinatorRequest, response: FindCoordinatorResponse },
        FindCoordinatorRequest.create({ key: "g" }),
        { version: 3 },
      );
      strictEqual(res.errorCode, ErrorCode.COORDINATOR_NOT_AVAILABLE);
      ok(res.errorMessage?.includes("offsets.topic.replication.factor"), res.errorMessage ?? "");
      strictEqual(two.brokers[0]!.cluster!.view.topic("__consumer_offsets"), undefined);
    } finally {
      conn.close();
    }
  } finally {
    await two.close();
  }
});

test('Metadata from the cluster view: a topic named twice is answered once; v10-v11 name an unknown id ""', async () => {
  // The standalone broker's fixes (found by the protocol fuzzer), in cluster mode's Metadata.
  const c = await cluster();
  const topic = uniqueTopic("once");
  await withClient(
    c.bootstrap(0),
    (cl) => new Admin(cl).createTopics([{ name: topic, numPartitions: 3 }]),
  );
  await settled(c, topic, 3);
  const raw = await RawClient.connect(c.brokers[1]!.port);
  try {
    const res = await raw.request(MetadataRequest, MetadataResponse, 12, {
      topics: [
        ...Array.from({ length: 2000 }, () => ({ name: topic, topicId: NO_TOPIC_ID })),
        { name: "absent-once", topicId: NO_TOPIC_ID },
        { name: "absent-once", topicId: NO_TOPIC_ID },
      ],
      allowAutoTopicCreation: false,
    });
    assertEquals(res.topics.map((x) => [x.name, x.errorCode, x.partitions.length]), [
      [topic, 0, 3],
      ["absent-once", ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 0],
    ]);
    const unknown = "AAAAAAAAAAAAAAAAAAAAAQ";
    for (const version of [10, 11]) {
      const r = await raw.request(MetadataRequest, MetadataResponse, version, {
        topics: [{ name: null, topicId: unknown }, { name: null, topicId: unknown }],
        allowAutoTopicCreation: false,
      });
      assertEquals(r.topics.map((x) => [x.errorCode, x.name, x.topicId]), [
        [ErrorCode.UNKNOWN_TOPIC_ID, "", unknown],
      ]);
    }
  } finally {
    raw.close();
  }
});

test("a data directory of another cluster is refused with a clear message", async () => {
  const c = await cluster();
  const e: TestEtcd = await etcd();
  const other = await startCluster(e, 1);
  const dir = other.dirs[0];
  await other.stop(0);
  try {
    await rejects(
      Broker.start({
        nodeId: 1,
        listeners: "PLAINTEXT://127.0.0.1:0",
        logDirs: [dir],
        logLevel: "silent",
        etcdEndpoints: e.endpoints,
        clusterName: c.clusterName,
      }),
      /Cannot start broker 1 in cluster mode: data directory .* belongs to cluster \S+, but etcd \(http:\/\/127\.0\.0\.1:\d+\) under \/sluice\/test-\d+-\d+ holds cluster \S+; use an empty data directory/,
    );
    // and a standalone broker's directory with no cluster in etcd yet
    const standalone = await Deno.makeTempDir();
    try {
      await (await Broker.start({
        listeners: "PLAINTEXT://127.0.0.1:0",
        logDirs: [standalone],
        logLevel: "silent",
      })).close();
      await rejects(
        Broker.start({
          listeners: "PLAINTEXT://127.0.0.1:0",
          logDirs: [standalone],
          logLevel: "silent",
          etcdEndpoints: e.endpoints,
          clusterName: `fresh-${Deno.pid}`,
        }),
        /holds no cluster, but data directory .* belongs to cluster \S+ \(a standalone broker's, or a cluster whose etcd data is gone\)/,
      );
    } finally {
      await Deno.remove(standalone, { recursive: true });
    }
    // and an etcd nobody answers at
    const empty = await Deno.makeTempDir();
    await rejects(
      Broker.start({
        nodeId: 9,
        listeners: "PLAINTEXT://127.0.0.1:0",
        logDirs: [empty],
        logLevel: "silent",
        etcdEndpoints: ["http://127.0.0.1:1"],
      }).finally(() => Deno.remove(empty, { recursive: true })),
      /Cannot start broker 9 in cluster mode: cannot read the cluster from etcd \(http:\/\/127\.0\.0\.1:1\): etcd range \/sluice\/sluice\/ failed: /,
    );
  } finally {
    await other.close();
  }
});

test("a clean shutdown moves leadership at once: the new leader's log has the new leader epoch", async () => {
  const e = await etcd();
  const c = await startCluster(e, 3);
  try {
    const topic = uniqueTopic("epoch");
    await withClient(c.bootstrap(0), async (cl) => {
      await new Admin(cl).createTopics([{ name: topic, numPartitions: 1, replicationFactor: 3 }]);
      await settled(c, topic, 1);
      const producer = new Producer(cl);
      await producer.send({ topic, messages: [{ value: "before" }] });
      await producer.close();
    });
    const view = c.brokers[0]!.cluster!.view;
    const old = view.partition(topic, 0)!.value;
    const idx = old.leader - 1;
    const survivor = c.brokers[(idx + 1) % 3]!;
    await c.stop(idx);
    await until(
      "a new leader",
      () => survivor.cluster!.view.partition(topic, 0)!.value.leader !== old.leader,
    );
    const now = survivor.cluster!.view.partition(topic, 0)!.value;
    strictEqual(now.leaderEpoch, old.leaderEpoch + 1);
    ok(!now.isr.includes(old.leader));
    const leader = c.brokers[now.leader - 1]!;
    await until("the new leader serves", () => leader.cluster!.leaderError(topic, 0) === undefined);
    // its log answers with the new leader epoch (ListOffsets v4+ leader_epoch)
    await until("the leader's log has the new epoch", async () => {
      const [p] = await listOffsets(leader.port, topic, [0]);
      return p.errorCode === 0 && p.leaderEpoch === now.leaderEpoch;
    }, 5000);
    await c.start(idx);
    await until("the old leader is back", () => survivor.cluster!.view.isLive(old.leader));
    // it is not put back in the ISR by the controller (its leader will, with replication)
    strictEqual(survivor.cluster!.view.partition(topic, 0)!.value.leader, now.leader);
  } finally {
    await c.close();
  }
});
