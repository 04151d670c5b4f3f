// Copyright 2026 the Sluice authors. Apache-2.0 license.
// KIP-392, consumers fetching from the closest replica, in cluster mode: three in-process brokers
// on a real etcd, each in its own rack (`broker.rack` r1, r2, r3), RF=3. With
// `replica.selector.class` = Kafka's RackAwareReplicaSelector, the leader answers a consumer in a
// follower's rack with `preferred_read_replica`, and that follower serves it up to its own high
// watermark. Which broker served is read from each broker's per-topic counters (record bytes sent
// to consumers: `BrokerMetrics` in process, `kafka_server_brokertopicmetrics_bytesout` on the
// /metrics of broker processes). Clients: ours (Consumer, GroupConsumer) and librdkafka 2.15.1
// (confluent-kafka on LD_LIBRARY_PATH, tests/interop/modern_librdkafka.ts). The last two tests
// SIGKILL the follower a consumer reads from (broker processes).
import { deepStrictEqual as assertEquals, ok } from "node:assert/strict";
import { Admin, Client, Connection, Consumer, GroupConsumer, Producer } from "../../client/mod.ts";
import { ErrorCode } from "../../protocol/errors.ts";
import { decodeRecordBatches } from "../../records/mod.ts";
import { FetchRequest, FetchResponse } from "../../protocol/messages/fetch.ts";
import type { Broker } from "../../server/mod.ts";
import { sharedEtcd } from "../etcd.ts";
import { PYTHON, runCommand } from "../harness.ts";
import { modernLibrdkafka, requireOnModern } from "../interop/modern_librdkafka.ts";
import { freePort } from "../chaos/broker.ts";
import { runConsume } from "../../cli/consume.ts";
import {
  clusterTest,
  type InProcessCluster,
  startCluster,
  startProcessCluster,
  until,
} from "./harness.ts";

const etcd = sharedEtcd();
const test = clusterTest("cluster KIP-392 follower fetching");
const modern = await modernLibrdkafka();
const confluent = await requireOnModern("confluent-kafka", modern);

const rackOf = (i: number) => `r${i + 1}`;
const value = (i: number) => `v${i}`;
const decoder = new TextDecoder();

/** Three brokers in racks r1-r3, with the rack-aware selector unless `selector` is false. */
async function start(selector = true): Promise<InProcessCluster> {
  return startCluster(await etcd(), 3, (i) => ({
    rack: rackOf(i),
    replicaSelector: selector ? "rack-aware" : null,
    // a follower whose fetcher stopped leaves the ISR within seconds (test (3))
    replicaLagTimeMaxMs: 6000,
  }));
}

/** Bytes of records of `topic` broker `b` sent to consumers. */
function bytesOut(b: Broker | undefined, topic: string): number {
  return b?.metrics.topics.get(topic)?.bytesOut ?? 0;
}

/** The leader's and the followers' indexes (node id - 1) of partition 0 of `topic`. */
async function roles(c: InProcessCluster, topic: string): Promise<[number, number[]]> {
  let leader = -1;
  await until(`${topic}-0 has a leader and two following replicas in its ISR`, () => {
    leader = c.brokers.findIndex((b) => b?.replicaManager?.role(topic, 0) === "leader");
    if (leader < 0) return false;
    const s = c.brokers[leader]!.replicaManager!.state(topic, 0)!;
    return s.isr.length === 3 &&
      c.brokers.filter((b) => b?.replicaManager?.role(topic, 0) === "follower").length === 2;
  });
  return [leader, [0, 1, 2].filter((i) => i !== leader)];
}

async function produce(client: Client, topic: string, from: number, to: number, acks: 1 | -1) {
  const producer = new Producer(client, { acks });
  try {
    const messages = [];
    for (let i = from; i < to; i++) messages.push({ value: value(i), partition: 0 });
    await producer.send({ topic, messages });
    await producer.flush();
  } finally {
    await producer.close();
  }
}

/** Polls `consumer` until `want` records came (or `ms`), returning their offsets and values. */
async function readN(consumer: Consumer, want: number, ms = 20_000): Promise<[number, string][]> {
  const got: [number, string][] = [];
  const deadline = Date.now() + ms;
  while (got.length < want && Date.now() < deadline) {
    for (const r of await consumer.poll({ maxWaitMs: 200 })) {
      got.push([r.offset, decoder.decode(r.value!)]);
    }
  }
  return got;
}

const expected = (from: number, to: number) =>
  Array.from({ length: to - from }, (_, k): [number, string] => [from + k, value(from + k)]);

/** A raw Fetch v12 of partition 0 at `b`, as a consumer in `rack`. */
async function rawFetch(
  b: Broker,
  topic: string,
  offset: number,
  rack: string,
  epoch = -1,
  isolationLevel = 0,
) {
  const conn = await Connection.connect({ host: "127.0.0.1", port: b.port });
  try {
    const res = await conn.send(
      { request: FetchRequest, response: FetchResponse },
      FetchRequest.create({
        clusterId: null,
        replicaId: -1,
        maxWaitMs: 0,
        minBytes: 1,
        maxBytes: 1 << 20,
        isolationLevel,
        sessionId: 0,
        sessionEpoch: -1,
        topics: [{
          topic,
          topicId: "AAAAAAAAAAAAAAAAAAAAAA",
          partitions: [{
            partition: 0,
            currentLeaderEpoch: epoch,
            fetchOffset: offset,
            lastFetchedEpoch: -1,
            logStartOffset: -1,
            partitionMaxBytes: 1 << 20,
            replicaDirectoryId: "AAAAAAAAAAAAAAAAAAAAAA",
          }],
        }],
        forgottenTopicsData: [],
        rackId: rack,
      }),
      { version: 12 },
    );
    return res.responses[0].partitions[0];
  } finally {
    conn.close();
  }
}

async function createTopic(client: Client, topic: string): Promise<void> {
  await new Admin(client).createTopics([{
    name: topic,
    numPartitions: 1,
    replicationFactor: 3,
    configs: { "min.insync.replicas": "1" },
  }]);
}

/** Where a test stands: the cluster, a client, and the roles of partition 0 of its topic. */
interface Roles {
  c: InProcessCluster;
  client: Client;
  topic: string;
  leader: number;
  near: number;
  far: number;
}

/**
 * Starts three brokers (see {@linkcode start}), creates `topic` on them and waits for its roles;
 * closes the client and the brokers after `fn`.
 */
async function withRoles(
  topic: string,
  fn: (r: Roles) => Promise<void>,
  selector = true,
): Promise<void> {
  const c = await start(selector);
  const client = new Client({ bootstrapServers: c.bootstrapAll(), retries: 20 });
  try {
    await createTopic(client, topic);
    const [leader, [near, far]] = await roles(c, topic);
    await fn({ c, client, topic, leader, near, far });
  } finally {
    await client.close();
    await c.close();
  }
}

test("our consumer in a follower's rack reads exact records from that follower", async () => {
  await withRoles("ff-ours", async ({ c, client, topic, leader, near, far }) => {
    await produce(client, topic, 0, 300, -1);
    const consumer = new Consumer(client, { clientRack: rackOf(near), maxWaitMs: 200 });
    await consumer.assign([{ topic, partition: 0, offset: "earliest" }]);
    assertEquals(await readN(consumer, 300), expected(0, 300));
    await consumer.close();
    ok(bytesOut(c.brokers[near], topic) > 0, "the follower in the consumer's rack served it");
    assertEquals(
      [bytesOut(c.brokers[leader], topic), bytesOut(c.brokers[far], topic)],
      [0, 0],
      "neither the leader nor the other follower sent records",
    );
    // the leader's answer: preferred_read_replica, no records, its offsets
    const answer = await rawFetch(c.brokers[leader]!, topic, 0, rackOf(near));
    assertEquals(
      [answer.errorCode, answer.preferredReadReplica, answer.records?.length ?? 0],
      [0, near + 1, 0],
    );
    assertEquals(answer.highWatermark, 300);
    // a consumer in the leader's rack, in no broker's rack, or with no rack: the leader
    for (const rack of [rackOf(leader), "elsewhere", ""]) {
      const a = await rawFetch(c.brokers[leader]!, topic, 0, rack);
      assertEquals([a.errorCode, a.preferredReadReplica, a.records!.length > 0], [0, -1, true]);
    }
    // a consumer without a rack reads from the leader
    const before = bytesOut(c.brokers[near], topic);
    const plain = new Consumer(client, { maxWaitMs: 200 });
    await plain.assign([{ topic, partition: 0, offset: "earliest" }]);
    assertEquals(await readN(plain, 300), expected(0, 300));
    await plain.close();
    ok(bytesOut(c.brokers[leader], topic) > 0, "the leader served the consumer without a rack");
    assertEquals(bytesOut(c.brokers[near], topic), before);
    // a group member in the other follower's rack reads from that follower
    const member = new GroupConsumer(client, {
      groupId: "ff-group",
      clientRack: rackOf(far),
      autoOffsetReset: "earliest",
      autoCommit: false,
      maxWaitMs: 200,
    });
    member.subscribe([topic]);
    const got: [number, string][] = [];
    const deadline = Date.now() + 20_000;
    while (got.length < 300 && Date.now() < deadline) {
      for (const r of await member.poll()) got.push([r.offset, decoder.decode(r.value!)]);
    }
    await member.close();
    assertEquals(got, expected(0, 300));
    ok(bytesOut(c.brokers[far], topic) > 0, "the follower in the member's rack served it");
    assertEquals(bytesOut(c.brokers[near], topic), before);

    // read_committed on a follower: below its last stable offset, which an open transaction holds
    const tx = new Producer(client, { transactionalId: "ff-tx" });
    try {
      await tx.initTransactions();
      tx.beginTransaction();
      await tx.send({ topic, messages: [{ value: "t0", partition: 0 }, { value: "t1" }] });
      await tx.flush();
      const nearRm = c.brokers[near]!.replicaManager!;
      await until(
        "the near follower's HW covers the open transaction",
        () => nearRm.offsets(topic, 0)!.highWatermark === 302,
      );
      const open = await rawFetch(c.brokers[near]!, topic, 290, rackOf(near), -1, 1);
      assertEquals([open.errorCode, open.highWatermark, open.lastStableOffset], [0, 302, 300]);
      assertEquals(decodeRecordBatches(open.records!).map((b) => b.lastOffset).at(-1), 299);
      const dirty = await rawFetch(c.brokers[near]!, topic, 290, rackOf(near), -1, 0);
      assertEquals(decodeRecordBatches(dirty.records!).map((b) => b.lastOffset).at(-1), 301);
      await tx.commitTransaction();
      // the COMMIT marker at 302: the last stable offset is the HW once the follower has it
      await until(
        "the near follower's HW covers the marker",
        () => nearRm.offsets(topic, 0)!.highWatermark === 303,
      );
      const done = await rawFetch(c.brokers[near]!, topic, 300, rackOf(near), -1, 1);
      assertEquals([done.errorCode, done.highWatermark, done.lastStableOffset], [0, 303, 303]);
      assertEquals(
        decodeRecordBatches(done.records!).flatMap((b) =>
          b.control ? [] : b.records.map((r) => decoder.decode(r.value!))
        ),
        ["t0", "t1"],
      );
    } finally {
      await tx.close();
    }
  });
});

test("sluice consume --client-rack reads from the follower in that rack (alone and with --group)", async () => {
  /** Runs `sluice consume` in process; returns its exit code, stdout and stderr. */
  const consume = async (args: string[]) => {
    let out = "";
    let err = "";
    const code = await runConsume(args, {
      stdout: (t) => void (out += t),
      stderr: (t) => void (err += t),
      stdin: new ReadableStream(),
      stdinIsTerminal: false,
    });
    return [code, out, err] as const;
  };
  await withRoles("ff-cli", async ({ c, client, topic, leader, near, far }) => {
    await produce(client, topic, 0, 100, -1);
    const lines = Array.from({ length: 100 }, (_, i) => value(i) + "\n").join("");
    const common = ["--bootstrap-server", c.bootstrapAll(), "--topic", topic, "--from-beginning"];
    assertEquals(
      await consume([...common, "--max-messages", "100", "--client-rack", rackOf(near)]),
      [0, lines, "Processed a total of 100 messages\n"],
    );
    ok(bytesOut(c.brokers[near], topic) > 0, "the follower in --client-rack served it");
    assertEquals([bytesOut(c.brokers[leader], topic), bytesOut(c.brokers[far], topic)], [0, 0]);
    // a group member in the other follower's rack
    assertEquals(
      await consume([
        ...common,
        "--group",
        "ff-cli-group",
        "--max-messages",
        "100",
        "--client-rack",
        rackOf(far),
      ]),
      [0, lines, "Processed a total of 100 messages\n"],
    );
    ok(bytesOut(c.brokers[far], topic) > 0, "the follower in the member's --client-rack served it");
    assertEquals(bytesOut(c.brokers[leader], topic), 0);
    // without --client-rack: the leader
    const nearBefore = bytesOut(c.brokers[near], topic);
    assertEquals(
      await consume([...common, "--max-messages", "100"]),
      [0, lines, "Processed a total of 100 messages\n"],
    );
    ok(bytesOut(c.brokers[leader], topic) > 0, "the leader served the consumer without a rack");
    assertEquals(bytesOut(c.brokers[near], topic), nearBefore);
  });
});

test("a follower serves up to its high watermark, with Kafka's errors; a follower that goes sends the consumer back to the leader", async () => {
  await withRoles("ff-hw", async ({ c, client, topic, leader, near, far }) => {
    await produce(client, topic, 0, 50, -1);
    const consumer = new Consumer(client, { clientRack: rackOf(near), maxWaitMs: 200 });
    await consumer.assign([{ topic, partition: 0, offset: "earliest" }]);
    assertEquals(await readN(consumer, 50), expected(0, 50));
    ok(bytesOut(c.brokers[near], topic) > 0);
    assertEquals(bytesOut(c.brokers[leader], topic), 0);

    // The other follower's fetcher stops (as cut off from its leader) while it stays in the
    // ISR: the leader's high watermark stays at 50 while the leader and `near` have 80.
    const farRm = c.brokers[far]!.replicaManager!;
    const s = farRm.state(topic, 0)!;
    await farRm.applyStates([{ ...s, leader: -1, partitionEpoch: s.partitionEpoch + 1 }]);
    await produce(client, topic, 50, 80, 1);
    const nearRm = c.brokers[near]!.replicaManager!;
    await until(
      "the near follower has 80 records",
      () => nearRm.offsets(topic, 0)!.logEndOffset === 80,
    );
    assertEquals(nearRm.offsets(topic, 0)!.highWatermark, 50);
    const epoch = nearRm.state(topic, 0)!.leaderEpoch;
    // at its high watermark: nothing (not an error); past its log end: OFFSET_OUT_OF_RANGE
    const atHw = await rawFetch(c.brokers[near]!, topic, 50, rackOf(near), epoch);
    assertEquals([atHw.errorCode, atHw.records?.length ?? 0, atHw.highWatermark], [0, 0, 50]);
    const below = await rawFetch(c.brokers[near]!, topic, 40, rackOf(near), epoch);
    assertEquals([below.errorCode, below.highWatermark], [0, 50]);
    ok(below.records!.length > 0);
    const past = await rawFetch(c.brokers[near]!, topic, 81, rackOf(near), epoch);
    assertEquals(past.errorCode, ErrorCode.OFFSET_OUT_OF_RANGE);
    // current_leader_epoch: older FENCED_LEADER_EPOCH, newer UNKNOWN_LEADER_EPOCH
    assertEquals(
      (await rawFetch(c.brokers[near]!, topic, 0, "", epoch + 1)).errorCode,
      ErrorCode.UNKNOWN_LEADER_EPOCH,
    );
    if (epoch > 0) {
      assertEquals(
        (await rawFetch(c.brokers[near]!, topic, 0, "", epoch - 1)).errorCode,
        ErrorCode.FENCED_LEADER_EPOCH,
      );
    }
    // the stopped replica (no role now) is no follower to read from
    assertEquals(
      (await rawFetch(c.brokers[far]!, topic, 0, "", -1)).errorCode,
      ErrorCode.NOT_LEADER_OR_FOLLOWER,
    );
    // our consumer sees nothing beyond the near follower's high watermark
    assertEquals(await readN(consumer, 1, 1000), []);
    assertEquals(consumer.lag(topic, 0), 0);
    assertEquals(bytesOut(c.brokers[leader], topic), 0);

    // The leader drops the stopped follower from the ISR (replica.lag.time.max.ms): the high
    // watermark moves to 80 and the near follower serves the rest.
    assertEquals(await readN(consumer, 30), expected(50, 80));
    assertEquals(bytesOut(c.brokers[leader], topic), 0);

    // The near follower stops: the consumer goes back to the leader, losing and repeating
    // nothing.
    await c.stop(near);
    await produce(client, topic, 80, 120, 1);
    assertEquals(await readN(consumer, 40), expected(80, 120));
    ok(bytesOut(c.brokers[leader], topic) > 0, "the leader served the consumer");
    assertEquals(await readN(consumer, 1, 1000), []);
    await consumer.close();
  });
});

test("without replica.selector.class the leader serves a consumer with a rack", async () => {
  await withRoles("ff-none", async ({ c, client, topic, leader, near, far }) => {
    await produce(client, topic, 0, 100, -1);
    const consumer = new Consumer(client, { clientRack: rackOf(near), maxWaitMs: 200 });
    await consumer.assign([{ topic, partition: 0, offset: "earliest" }]);
    assertEquals(await readN(consumer, 100), expected(0, 100));
    await consumer.close();
    ok(bytesOut(c.brokers[leader], topic) > 0);
    assertEquals([bytesOut(c.brokers[near], topic), bytesOut(c.brokers[far], topic)], [0, 0]);
    const a = await rawFetch(c.brokers[leader]!, topic, 0, rackOf(near));
    assertEquals([a.errorCode, a.preferredReadReplica], [0, -1]);
  }, false);
});

test(
  "librdkafka 2.15.1 with client.rack reads exact records from the follower in its rack",
  async () => {
    await withRoles("ff-rdkafka", async ({ c, client, topic, leader, near, far }) => {
      await produce(client, topic, 0, 200, -1);
      const script = `
import sys
from confluent_kafka import Consumer, TopicPartition
c = Consumer({"bootstrap.servers": sys.argv[1], "group.id": "ff", "client.rack": sys.argv[2],
              "enable.auto.commit": False, "fetch.wait.max.ms": 100})
c.assign([TopicPartition(sys.argv[3], 0, 0)])
got = []
while len(got) < int(sys.argv[4]):
    m = c.poll(20)
    if m is None:
        break
    if m.error():
        continue
    got.append("%d:%s" % (m.offset(), m.value().decode()))
c.close()
print(",".join(got))
`;
      const r = await runCommand(
        PYTHON,
        ["-c", script, c.bootstrapAll(), rackOf(near), topic, "200"],
        { env: modern.env, timeoutMs: 60_000 },
      );
      assertEquals(r.code, 0, r.stderr);
      assertEquals(
        r.stdout.trim(),
        expected(0, 200).map(([o, v]) => `${o}:${v}`).join(","),
      );
      ok(bytesOut(c.brokers[near], topic) > 0, "the follower in librdkafka's rack served it");
      assertEquals([bytesOut(c.brokers[leader], topic), bytesOut(c.brokers[far], topic)], [0, 0]);
    });
  },
  confluent,
);

/** A broker process's count of record bytes of `topic` sent to consumers, from its /metrics. */
async function scrapeBytesOut(port: number, topic: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const m = text.match(
    new RegExp(
      `^kafka_server_brokertopicmetrics_bytesout(?:_total)?\\{topic="${topic}"\\} (\\d+)`,
      "m",
    ),
  );
  return m === null ? 0 : Number(m[1]);
}

test("the follower serving our consumer is SIGKILLed: the consumer goes on from the leader, nothing lost or repeated", async () => {
  const http = [freePort(), freePort(), freePort()];
  const c = await startProcessCluster(await etcd(), 3, (i) => [
    `broker.rack=${rackOf(i)}`,
    "replica.selector.class=org.apache.kafka.common.replica.RackAwareReplicaSelector",
    `sluice.http.listener=http://127.0.0.1:${http[i]}`,
  ]);
  const client = new Client({ bootstrapServers: c.bootstrap, retries: 30 });
  try {
    const topic = "ff-kill";
    await createTopic(client, topic);
    const admin = new Admin(client);
    let leader = -1;
    let replicas: number[] = [];
    await until("ff-kill-0 has a leader and an ISR of 3", async () => {
      const [d] = await admin.describeTopics([topic]);
      const p = d?.partitions[0];
      if (p === undefined || p.leader < 0 || p.isr.length !== 3) return false;
      leader = p.leader - 1;
      replicas = p.replicas.map((id) => id - 1);
      return true;
    });
    const [near, far] = replicas.filter((i) => i !== leader);
    await produce(client, topic, 0, 100, -1);
    const consumer = new Consumer(client, { clientRack: rackOf(near), maxWaitMs: 200 });
    await consumer.assign([{ topic, partition: 0, offset: "earliest" }]);
    assertEquals(await readN(consumer, 100), expected(0, 100));
    ok(
      await scrapeBytesOut(http[near], topic) > 0,
      "the follower in the consumer's rack served it",
    );
    assertEquals(
      [await scrapeBytesOut(http[leader], topic), await scrapeBytesOut(http[far], topic)],
      [0, 0],
    );
    await c.brokers[near].kill();
    await produce(client, topic, 100, 200, -1);
    assertEquals(await readN(consumer, 100, 30_000), expected(100, 200));
    assertEquals(await readN(consumer, 1, 1000), []);
    ok(await scrapeBytesOut(http[leader], topic) > 0, "the leader served the rest");
    assertEquals(await scrapeBytesOut(http[far], topic), 0);
    await consumer.close();
  } finally {
    await client.close();
    await c.close();
  }
});

test(
  "the follower serving librdkafka 2.15.1 is SIGKILLed: it goes on from the leader, nothing lost or repeated",
  async () => {
    const http = [freePort(), freePort(), freePort()];
    const c = await startProcessCluster(await etcd(), 3, (i) => [
      `broker.rack=${rackOf(i)}`,
      "replica.selector.class=org.apache.kafka.common.replica.RackAwareReplicaSelector",
      `sluice.http.listener=http://127.0.0.1:${http[i]}`,
    ]);
    const client = new Client({ bootstrapServers: c.bootstrap, retries: 30 });
    const dir = await Deno.makeTempDir({ prefix: "sluice_ff_" });
    try {
      const topic = "ff-kill-rdkafka";
      await createTopic(client, topic);
      const admin = new Admin(client);
      let leader = -1;
      let replicas: number[] = [];
      await until(`${topic}-0 has a leader and an ISR of 3`, async () => {
        const [d] = await admin.describeTopics([topic]);
        const p = d?.partitions[0];
        if (p === undefined || p.leader < 0 || p.isr.length !== 3) return false;
        leader = p.leader - 1;
        replicas = p.replicas.map((id) => id - 1);
        return true;
      });
      const [near, far] = replicas.filter((i) => i !== leader);
      await produce(client, topic, 0, 100, -1);
      // reads 100 records, tells the test (a file), then reads until 200 or 45 s
      const script = `
import os, sys, time
from confluent_kafka import Consumer, TopicPartition
c = Consumer({"bootstrap.servers": sys.argv[1], "group.id": "ff", "client.rack": sys.argv[2],
              "enable.auto.commit": False, "fetch.wait.max.ms": 100})
c.assign([TopicPartition(sys.argv[3], 0, 0)])
got = []
deadline = time.time() + 45
while len(got) < 200 and time.time() < deadline:
    m = c.poll(0.2)
    if m is None or m.error():
        continue
    got.append("%d:%s" % (m.offset(), m.value().decode()))
    if len(got) == 100:
        open(sys.argv[4], "w").close()
c.close()
print(",".join(got))
`;
      const marker = `${dir}/half`;
      const child = new Deno.Command(PYTHON, {
        args: ["-c", script, c.bootstrap, rackOf(near), topic, marker],
        env: modern.env,
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const output = child.output();
      await until("librdkafka read the first 100 records", async () => {
        try {
          await Deno.stat(marker);
          return true;
        } catch {
          return false;
        }
      }, 30_000);
      ok(
        await scrapeBytesOut(http[near], topic) > 0,
        "the follower in librdkafka's rack served it",
      );
      assertEquals(
        [await scrapeBytesOut(http[leader], topic), await scrapeBytesOut(http[far], topic)],
        [0, 0],
      );
      await c.brokers[near].kill();
      await produce(client, topic, 100, 200, -1);
      const r = await output;
      const stderr = new TextDecoder().decode(r.stderr);
      assertEquals(r.code, 0, stderr);
      assertEquals(
        new TextDecoder().decode(r.stdout).trim(),
        expected(0, 200).map(([o, v]) => `${o}:${v}`).join(","),
        stderr,
      );
      ok(await scrapeBytesOut(http[leader], topic) > 0, "the leader served the rest");
      assertEquals(await scrapeBytesOut(http[far], topic), 0);
    } finally {
      await client.close();
      await c.close();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
  confluent,
);
