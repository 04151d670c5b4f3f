import assert from "node:assert/strict";
import { Broker } from "../server/mod.ts";
import { KafkaError } from "../protocol/errors.ts";
import { Admin } from "./admin.ts";
import { Client } from "./client.ts";
import { Producer } from "./producer.ts";

async function withCluster(fn: (admin: Admin, client: Client, port: number) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "sluice_admin_test_" });
  const broker = await Broker.start({
    listeners: "PLAINTEXT://127.0.0.1:0",
    logDirs: [dir],
    logLevel: "silent",
  });
  const client = new Client({ bootstrapServers: `127.0.0.1:${broker.port}`, retryBackoffMs: 20 });
  try {
    await fn(new Admin(client), client, broker.port);
  } finally {
    await client.close();
    await broker.close();
    await Deno.remove(dir, { recursive: true });
  }
}

function assertKafkaError(errorName: string, message: RegExp) {
  return (e: unknown) => {
    assert.ok(e instanceof KafkaError, `expected KafkaError, got ${e}`);
    assert.equal(e.errorName, errorName);
    assert.match(e.message, message);
    return true;
  };
}

Deno.test("Admin creates, lists, describes and deletes topics", async () => {
  await withCluster(async (admin) => {
    const created = await admin.createTopics([
      { name: "orders", numPartitions: 3, replicationFactor: 1 },
      { name: "audit", numPartitions: 1 },
    ]);
    assert.deepEqual(created.map((c) => [c.name, c.numPartitions, c.replicationFactor]), [
      ["orders", 3, 1],
      ["audit", 1, 1],
    ]);
    assert.match(created[0].topicId, /^[A-Za-z0-9_-]{22}$/);
    assert.deepEqual(await admin.listTopics(), ["audit", "orders"]);
    const [orders] = await admin.describeTopics(["orders"]);
    assert.equal(orders.name, "orders");
    assert.equal(orders.topicId, created[0].topicId);
    assert.equal(orders.internal, false);
    assert.deepEqual(
      orders.partitions,
      [0, 1, 2].map((partition) => ({
        partition,
        leader: 1,
        replicas: [1],
        isr: [1],
        offlineReplicas: [],
      })),
    );
    await admin.deleteTopics(["audit"]);
    assert.deepEqual(await admin.listTopics(), ["orders"]);
  });
});

Deno.test("Admin describeTopicPartitions pages through the cursor and equals describeTopics", async () => {
  await withCluster(async (admin) => {
    await admin.createTopics([{ name: "seven", numPartitions: 7 }, {
      name: "two",
      numPartitions: 2,
    }]);
    const pages: number[] = [];
    const paged = await admin.describeTopicPartitions([], {
      partitionLimit: 3,
      onPage: (n) => pages.push(n),
    });
    assert.deepEqual(pages, [3, 3, 3]);
    const viaMetadata = await admin.describeTopics(["seven", "two"]);
    assert.deepEqual(
      paged.map(({ name, topicId, internal, partitions }) => ({
        name,
        topicId,
        internal,
        partitions: partitions.map(({ partition, leader, replicas, isr, offlineReplicas }) => ({
          partition,
          leader,
          replicas,
          isr,
          offlineReplicas,
        })),
      })),
      viaMetadata,
    );
    assert.deepEqual(
      paged[0].partitions[6],
      {
        partition: 6,
        leader: 1,
        leaderEpoch: 0,
        replicas: [1],
        isr: [1],
        eligibleLeaderReplicas: [],
        lastKnownElr: [],
        offlineReplicas: [],
      },
    );
    // listed: in the order asked; an unknown topic is an error
    const listed = await admin.describeTopicPartitions(["two", "seven"], { partitionLimit: 4 });
    assert.deepEqual(listed.map((t) => [t.name, t.partitions.length]), [["two", 2], ["seven", 7]]);
    await assert.rejects(
      admin.describeTopicPartitions(["two", "nope"]),
      assertKafkaError("UNKNOWN_TOPIC_OR_PARTITION", /describe topic nope/),
    );
  });
});

Deno.test("Admin surfaces TOPIC_ALREADY_EXISTS and UNKNOWN_TOPIC_OR_PARTITION clearly", async () => {
  await withCluster(async (admin) => {
    await admin.createTopics([{ name: "teste", numPartitions: 1 }]);
    await assert.rejects(
      admin.createTopics([{ name: "teste", numPartitions: 1 }]),
      assertKafkaError(
        "TOPIC_ALREADY_EXISTS",
        /^create topic teste.*: TOPIC_ALREADY_EXISTS \(36\)/,
      ),
    );
    await assert.rejects(
      admin.deleteTopics(["missing"]),
      assertKafkaError(
        "UNKNOWN_TOPIC_OR_PARTITION",
        /^delete topic missing.*UNKNOWN_TOPIC_OR_PARTITION \(3\)/,
      ),
    );
    await assert.rejects(
      admin.describeTopics(["missing"]),
      assertKafkaError(
        "UNKNOWN_TOPIC_OR_PARTITION",
        /^describe topic missing: UNKNOWN_TOPIC_OR_PARTITION/,
      ),
    );
    await assert.rejects(
      admin.createTopics([{ name: "bad", numPartitions: 0 }]),
      assertKafkaError("INVALID_PARTITIONS", /^create topic bad/),
    );
  });
});

Deno.test("Admin createTopics with validateOnly does not create the topic", async () => {
  await withCluster(async (admin) => {
    const [r] = await admin.createTopics([{ name: "dry", numPartitions: 2 }], {
      validateOnly: true,
    });
    assert.equal(r.name, "dry");
    assert.deepEqual(await admin.listTopics(), []);
  });
});

Deno.test("Admin createPartitions grows a topic and refuses to shrink it", async () => {
  await withCluster(async (admin) => {
    await admin.createTopics([{ name: "grow", numPartitions: 2 }]);
    await admin.createPartitions([{ topic: "grow", count: 5 }]);
    const [t] = await admin.describeTopics(["grow"]);
    assert.deepEqual(t.partitions.map((p) => p.partition), [0, 1, 2, 3, 4]);
    await assert.rejects(
      admin.createPartitions([{ topic: "grow", count: 3 }]),
      assertKafkaError("INVALID_PARTITIONS", /^create partitions for grow/),
    );
  });
});

Deno.test("Admin describes and incrementally alters topic configs", async () => {
  await withCluster(async (admin) => {
    await admin.createTopics([
      { name: "cfg", numPartitions: 1, configs: { "cleanup.policy": "compact" } },
    ]);
    const dynamic = async () => {
      const [d] = await admin.describeConfigs([{ type: "topic", name: "cfg" }]);
      return Object.fromEntries(
        d.entries.filter((e) => e.source === "DYNAMIC_TOPIC_CONFIG").map((e) => [e.name, e.value]),
      );
    };
    assert.deepEqual(await dynamic(), { "cleanup.policy": "compact" });
    await admin.alterConfigs([{
      type: "topic",
      name: "cfg",
      changes: [{ name: "retention.ms", value: "60000" }, { name: "cleanup.policy", op: "delete" }],
    }]);
    assert.deepEqual(await dynamic(), { "retention.ms": "60000" });
    const [d] = await admin.describeConfigs([{ type: "topic", name: "cfg" }]);
    const policy = d.entries.find((e) => e.name === "cleanup.policy");
    assert.equal(policy?.value, "delete");
    assert.equal(policy?.isDefault, true);
  });
});

Deno.test("Admin lists offsets and deletes records", async () => {
  await withCluster(async (admin, client) => {
    await admin.createTopics([{ name: "offs", numPartitions: 1 }]);
    const producer = new Producer(client);
    await producer.send({
      topic: "offs",
      messages: ["a", "b", "c", "d", "e"].map((value, i) => ({ value, timestamp: 1000 + i })),
    });
    const q = (spec: "earliest" | "latest" | { timestamp: number }) =>
      admin.listOffsets([{ topic: "offs", partition: 0, spec }]).then((r) => r[0].offset);
    assert.equal(await q("earliest"), 0);
    assert.equal(await q("latest"), 5);
    assert.equal(await q({ timestamp: 1002 }), 2);
    const [deleted] = await admin.deleteRecords([{ topic: "offs", partition: 0, offset: 3 }]);
    assert.deepEqual(deleted, { topic: "offs", partition: 0, lowWatermark: 3 });
    assert.equal(await q("earliest"), 3);
    await assert.rejects(
      admin.listOffsets([{ topic: "offs", partition: 7, spec: "latest" }]),
      assertKafkaError("UNKNOWN_TOPIC_OR_PARTITION", /offs-7/),
    );
  });
});

Deno.test("Admin describes the cluster", async () => {
  await withCluster(async (admin, _client, port) => {
    const c = await admin.describeCluster();
    assert.equal(c.controllerId, 1);
    assert.ok(c.clusterId.length > 0);
    assert.deepEqual(c.brokers, [{ nodeId: 1, host: "127.0.0.1", port, rack: null }]);
  });
});
