// Copyright 2026 the Sluice authors. Apache-2.0 license.
// DescribeTopicPartitions (key 75) in cluster mode: three in-process brokers on one real etcd
// answer every partition's leader, leader epoch, replicas, ISR and offline replicas from the
// cluster view, page by page, the same from every broker; a stopped broker shows as an offline
// replica, out of the ISR and no longer leader.
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { Admin, Client } from "../../client/mod.ts";
import type { Broker } from "../../server/mod.ts";
import {
  DescribeTopicPartitionsRequest as Request,
  DescribeTopicPartitionsResponse,
} from "../../protocol/messages/describe_topic_partitions.ts";
import { sharedEtcd } from "../etcd.ts";
import { uniqueTopic } from "../harness.ts";
import { clusterTest, onBroker, startCluster, until } from "./harness.ts";

const etcd = sharedEtcd();
const test = clusterTest("cluster DescribeTopicPartitions");

/** Every page of the topic from broker `b`, `limit` partitions at a time, concatenated. */
async function describeAll(b: Broker, topic: string, limit: number) {
  return await onBroker(b, async (conn) => {
    const partitions = [];
    const pages = [];
    let cursor: Request["cursor"] = null;
    do {
      const res: DescribeTopicPartitionsResponse = await conn.send(
        { request: Request, response: DescribeTopicPartitionsResponse },
        Request.create({ topics: [{ name: topic }], responsePartitionLimit: limit, cursor }),
      );
      assertEquals(res.topics.map((t) => [t.name, t.errorCode]), [[topic, 0]]);
      partitions.push(...res.topics[0].partitions);
      pages.push(res.nextCursor);
      cursor = res.nextCursor;
    } while (cursor !== null);
    return { partitions, pages };
  });
}

/** What the view of broker `b` says of each partition, as DescribeTopicPartitions answers it. */
function fromView(b: Broker, topic: string, offline: number[] = []) {
  const view = b.cluster!.view;
  return view.topic(topic)!.value.replicas.map((replicas, i) => {
    const s = view.partition(topic, i)!.value;
    return {
      errorCode: 0,
      partitionIndex: i,
      leaderId: s.leader,
      leaderEpoch: s.leaderEpoch,
      replicaNodes: replicas,
      isrNodes: s.isr,
      eligibleLeaderReplicas: [],
      lastKnownElr: [],
      offlineReplicas: replicas.filter((r) => offline.includes(r)),
    };
  });
}

test("leaders, ISR and offline replicas from the cluster view, in pages, on every broker", async () => {
  const c = await startCluster(await etcd(), 3);
  try {
    const topic = uniqueTopic("dtp");
    const client = new Client({ bootstrapServers: c.bootstrap(0), retries: 20 });
    try {
      await new Admin(client).createTopics([{
        name: topic,
        numPartitions: 5,
        replicationFactor: 2,
      }]);
    } finally {
      await client.close();
    }
    await until(
      "every partition has a leader and a full ISR on every broker",
      () =>
        c.brokers.every((b) =>
          [0, 1, 2, 3, 4].every((p) => b!.cluster!.view.partition(topic, p)?.value.isr.length === 2)
        ),
    );
    const expected = fromView(c.brokers[0]!, topic);
    for (const b of c.brokers) {
      const { partitions, pages } = await describeAll(b!, topic, 2);
      assertEquals(partitions, expected);
      assertEquals(pages, [
        { topicName: topic, partitionIndex: 2 },
        { topicName: topic, partitionIndex: 4 },
        null,
      ]);
    }
    // every broker leads some partition (RF 2 over three brokers, five partitions)
    assertEquals(new Set(expected.map((p) => p.leaderId)).size, 3);
    // stop broker 3: it is an offline replica, out of the ISR, and leads nothing
    await c.stop(2);
    await until(
      "broker 3's partitions led by others, ISR shrunk",
      () =>
        [0, 1].every((i) =>
          [0, 1, 2, 3, 4].every((p) => {
            const s = c.brokers[i]!.cluster!.view.partition(topic, p)!.value;
            return s.leader !== 3 && !s.isr.includes(3) && s.leader !== -1;
          })
        ),
    );
    for (const i of [0, 1]) {
      const { partitions } = await describeAll(c.brokers[i]!, topic, 2000);
      assertEquals(partitions, fromView(c.brokers[i]!, topic, [3]));
      for (const p of partitions) {
        assertEquals(p.offlineReplicas, p.replicaNodes.includes(3) ? [3] : []);
      }
    }
  } finally {
    await c.close();
  }
});
