// Copyright 2026 the Sluice authors. Apache-2.0 license.
// Replication with real clients: three in-process brokers whose replica managers a test
// controller drives (server/testdata/test_cluster.ts), replication factor 3,
// min.insync.replicas=2. kcat and confluent-kafka (librdkafka 2.0.2, acks=all, idempotent)
// produce to the leader; every follower's log ends byte-identical to the leader's and every
// acknowledged record is below the high watermark. confluent-kafka's transactions on the leader
// reach the followers with their producer state and aborted transactions, and a follower elected
// leader serves read_committed consumers the same committed records and last stable offset.

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import {
  DescribeProducersRequest,
  DescribeProducersResponse,
} from "../../protocol/messages/describe_producers.ts";
import { ListOffsetsRequest, ListOffsetsResponse } from "../../protocol/messages/list_offsets.ts";
import { LogManager } from "../../engine/mod.ts";
import { RawClient } from "../../server/testing.ts";
import { TestController, waitUntil } from "../../server/testdata/test_cluster.ts";
import { interopTest, requireClient, runClientScript, runCommand } from "../harness.ts";
import { pyProduce } from "./python_cases.ts";

const kcat = requireClient("kcat");
const confluent = requireClient("confluent-kafka");

/** Waits until every replica's log end offset is the leader's, then compares their bytes. */
async function assertReplicasIdentical(ctl: TestController, topic: string): Promise<number> {
  const s = ctl.state(topic, 0);
  const leo = (id: number) => ctl.broker(id).replicaManager!.offsets(topic, 0)!.logEndOffset;
  await waitUntil(
    () => s.replicas.every((id) => leo(id) === leo(s.leader)),
    () => `replicas at ${s.replicas.map(leo)}`,
  );
  const want = await ctl.logBytes(s.leader, topic, 0);
  for (const id of s.replicas) {
    assertEquals(await ctl.logBytes(id, topic, 0), want, `log of broker ${id}`);
  }
  return leo(s.leader);
}

async function listOffset(ctl: TestController, id: number, topic: string, isolation: number) {
  const c = await RawClient.connect(ctl.broker(id).port);
  try {
    const r = await c.request(ListOffsetsRequest, ListOffsetsResponse, 5, {
      replicaId: -1,
      isolationLevel: isolation,
      topics: [{
        name: topic,
        partitions: [{
          partitionIndex: 0,
          timestamp: -1,
          currentLeaderEpoch: -1,
          maxNumOffsets: 1,
        }],
      }],
    });
    assertEquals(r.topics[0].partitions[0].errorCode, 0);
    return Number(r.topics[0].partitions[0].offset);
  } finally {
    c.close();
  }
}

/** The leader's producer state of a partition (DescribeProducers, served by the leader only). */
async function producerStates(ctl: TestController, id: number, topic: string) {
  const c = await RawClient.connect(ctl.broker(id).port);
  try {
    const r = await c.request(DescribeProducersRequest, DescribeProducersResponse, 0, {
      topics: [{ name: topic, partitionIndexes: [0] }],
    });
    assertEquals(r.topics[0].partitions[0].errorCode, 0);
    return r.topics[0].partitions[0].activeProducers.map((p) => ({ ...p }));
  } finally {
    c.close();
  }
}

/**
 * A follower's producer state of a partition, as its log holds it (a follower answers
 * DescribeProducers with NOT_LEADER_OR_FOLLOWER, as Kafka's): the broker is stopped, its data
 * directory read with the engine, and the broker started again.
 */
async function followerProducerStates(ctl: TestController, id: number, topic: string) {
  await ctl.stopNode(id);
  const logs = await LogManager.open(ctl.nodes.get(id)!.dir, { logger: () => {} });
  try {
    return logs.partition(topic, 0)!.producerStates().map((s) => ({
      producerId: s.producerId,
      producerEpoch: s.epoch,
      lastSequence: s.lastSequence,
      lastTimestamp: s.lastTimestamp,
      coordinatorEpoch: s.coordinatorEpoch,
      currentTxnStartOffset: s.currentTxnStartOffset,
    }));
  } finally {
    await logs.close();
    await ctl.startNode(id);
  }
}

interopTest(
  kcat,
  "acks=all to the leader, over 20 MB: every replica gets the same bytes",
  async () => {
    await using ctl = await TestController.start([1, 2, 3]);
    await ctl.createTopic("kc", [[1, 2, 3]], { "min.insync.replicas": "2" });
    const N = 200_000;
    const pad = "p".repeat(100);
    const lines = Array.from({ length: N }, (_, i) => `k${i % 7}:value-${i}-${pad}`);
    const r = await runCommand("kcat", [
      "-b",
      ctl.bootstrap(1),
      "-P",
      "-t",
      "kc",
      "-p",
      "0",
      "-K",
      ":",
      "-X",
      "acks=all",
      "-X",
      "enable.idempotence=true",
      "-X",
      "linger.ms=5",
    ], { stdin: lines.join("\n") + "\n", timeoutMs: 60_000 });
    assertEquals(r.code, 0, r.stderr);
    assert(!r.stderr.includes("Delivery failed"), r.stderr);
    const hw = await listOffset(ctl, 1, "kc", 0);
    assertEquals(hw, N);
    assertEquals(await assertReplicasIdentical(ctl, "kc"), N);
    const size = (await ctl.logBytes(2, "kc", 0)).length;
    assert(size > 20_000_000, `${size} bytes`);
    // read back through the leader: every record, in order, once
    const c = await runCommand("kcat", [
      "-b",
      ctl.bootstrap(1),
      "-C",
      "-t",
      "kc",
      "-o",
      "beginning",
      "-e",
      "-f",
      "%o %s\\n",
      "-X",
      "check.crcs=true",
    ], { timeoutMs: 60_000 });
    assertEquals(c.code, 0, c.stderr);
    const got = c.stdout.trim().split("\n");
    assertEquals(got.length, N);
    for (let i = 0; i < N; i++) {
      if (got[i] !== `${i} value-${i}-${pad}`) assertEquals(got[i], `${i} value-${i}-${pad}`);
    }
  },
);

interopTest(
  confluent,
  "acks=all, idempotent: acknowledged records are below the HW everywhere",
  async () => {
    await using ctl = await TestController.start([1, 2, 3]);
    await ctl.createTopic("cf", [[1, 2, 3]], { "min.insync.replicas": "2" });
    const records = Array.from(
      { length: 2000 },
      (_, i) => ({ partition: 0, key: `k${i}`, value: `v${i}` }),
    );
    const results = await pyProduce("confluent_client.py", ctl.bootstrap(1), "cf", records, {
      "acks": "all",
      "enable.idempotence": true,
      "linger.ms": 2,
    });
    assertEquals(results.map((r) => r.offset), records.map((_, i) => i));
    const leo = await assertReplicasIdentical(ctl, "cf");
    assertEquals(leo, 2000);
    for (const id of [1, 2, 3]) {
      const o = ctl.broker(id).replicaManager!.offsets("cf", 0)!;
      // followers learn the HW with their next fetch
      await waitUntil(
        () => ctl.broker(id).replicaManager!.offsets("cf", 0)!.highWatermark === 2000,
        `HW of ${id}`,
      );
      assert(o.logEndOffset === 2000);
    }
    // the idempotent producer's state is the same on every replica
    const states = await producerStates(ctl, 1, "cf");
    assertEquals(states.length, 1);
    for (const id of [2, 3]) assertEquals(await followerProducerStates(ctl, id, "cf"), states);
  },
);

interopTest(
  confluent,
  "transactions reach the followers; the new leader serves read_committed",
  async () => {
    await using ctl = await TestController.start([1, 2, 3]);
    await ctl.createTopic("tx", [[1, 2, 3]], { "min.insync.replicas": "2" });
    await runClientScript("confluent_txn_client.py", "transactions", {
      bootstrap: ctl.bootstrap(1),
      topic: "tx",
      transactional_id: "tid-repl",
      transactions: [
        { values: ["c1", "c2"], commit: true },
        { values: ["a1", "a2"], commit: false },
        { values: ["c3"], commit: true },
      ],
    }, 60_000);
    // c1 0, c2 1, COMMIT 2, a1 3, a2 4, ABORT 5, c3 6, COMMIT 7
    assertEquals(await assertReplicasIdentical(ctl, "tx"), 8);
    await waitUntil(async () => (await listOffset(ctl, 1, "tx", 1)) === 8, "LSO 8 on the leader");
    const states = await producerStates(ctl, 1, "tx");
    assertEquals(states.length, 1);
    for (const id of [2, 3]) assertEquals(await followerProducerStates(ctl, id, "tx"), states);
    // the leader goes; broker 2 takes over in epoch 1
    await ctl.stopNode(1);
    await ctl.elect("tx", 0, 2, [2, 3]);
    assertEquals(await listOffset(ctl, 2, "tx", 1), 8, "last stable offset on the new leader");
    const read = async (isolation: string, count: number) =>
      (await runClientScript<{ records: { offset: number; value: string }[] }>(
        "confluent_txn_client.py",
        "consume",
        { bootstrap: ctl.bootstrap(2), topic: "tx", isolation, count, idle_ms: 1000 },
        60_000,
      )).records.map((r) => `${r.offset}:${r.value}`);
    assertEquals(await read("read_committed", 3), ["0:c1", "1:c2", "6:c3"]);
    assertEquals(await read("read_uncommitted", 5), ["0:c1", "1:c2", "3:a1", "4:a2", "6:c3"]);
  },
);
