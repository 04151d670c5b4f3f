// Copyright 2026 the Sluice authors. Apache-2.0 license.
// OffsetFetch's require_stable (KIP-447) against a real broker: while a transactional producer
// (our client) holds offsets of an open transaction for a group, OffsetFetch v7-v9 with
// require_stable answers UNSTABLE_OFFSET_COMMIT (88, offset -1) for those partitions and the
// committed offset for the others; without it, the last committed offset. After the commit the
// new offset, after an abort the old one. Our GroupConsumer and confluent-kafka (librdkafka) wait
// for the transaction and resume from its offset.

import assert from "node:assert/strict";
import { Admin } from "../../client/admin.ts";
import { Client } from "../../client/client.ts";
import { GroupConsumer } from "../../client/group_consumer.ts";
import { Producer } from "../../client/producer.ts";
import { ErrorCode, KafkaError } from "../../protocol/errors.ts";
import { OffsetFetchRequest, OffsetFetchResponse } from "../../protocol/messages/offset_fetch.ts";
import {
  interopTest,
  requireClient,
  runClientScript,
  sharedBroker,
  uniqueTopic,
  withTimeout,
} from "../../tests/harness.ts";

const broker = sharedBroker({ offsetsTopicNumPartitions: 3, transactionStateLogNumPartitions: 3 });
const NO_GROUP = { generationId: -1, memberId: "", groupInstanceId: null };

/** [partition, offset, error code] of each partition of topic `topic`, in request order. */
async function fetchOffsets(
  client: Client,
  version: number,
  groupId: string,
  topic: string,
  partitions: number[] | null,
  requireStable: boolean,
): Promise<number[][]> {
  const conn = await client.anyConnection();
  const topics = partitions === null ? null : [{ name: topic, partitionIndexes: partitions }];
  const res = await conn.send(
    { request: OffsetFetchRequest, response: OffsetFetchResponse },
    OffsetFetchRequest.create(
      version >= 8
        ? { groups: [{ groupId, memberId: null, memberEpoch: -1, topics }], requireStable }
        : { groupId, topics, requireStable: version >= 7 && requireStable },
    ),
    { version },
  );
  const code = version >= 8 ? res.groups[0].errorCode : res.errorCode;
  assert.equal(code, 0, `OffsetFetch v${version} group error`);
  const resTopics = version >= 8 ? res.groups[0].topics : res.topics;
  return resTopics.filter((t) => t.name === topic).flatMap((t) =>
    t.partitions.map((p) => [p.partitionIndex, p.committedOffset, p.errorCode])
  );
}

async function setup(client: Client, topic: string, group: string): Promise<Producer> {
  await new Admin(client).createTopics([{ name: topic, numPartitions: 3 }]);
  const producer = new Producer(client, { transactionalId: `${topic}-tx` });
  await producer.initTransactions();
  // Committed (stable) offsets 3 and 5 for partitions 0 and 1.
  producer.beginTransaction();
  await producer.sendOffsetsToTransaction([
    { topic, partition: 0, offset: 3 },
    { topic, partition: 1, offset: 5 },
  ], { groupId: group, ...NO_GROUP });
  await producer.commitTransaction();
  return producer;
}

Deno.test({
  name: "OffsetFetch require_stable: an open transaction's partitions are unstable (v7-v9)",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const { bootstrap } = await broker();
    const client = new Client({ bootstrapServers: bootstrap, retryBackoffMs: 20 });
    try {
      const topic = uniqueTopic("stable");
      const group = `${topic}-g`;
      const producer = await setup(client, topic, group);
      for (const v of [6, 7, 8, 9]) {
        assert.deepEqual(await fetchOffsets(client, v, group, topic, [0, 1, 2], true), [
          [0, 3, 0],
          [1, 5, 0],
          [2, -1, 0],
        ]);
      }
      // An open transaction with offset 9 for partition 0 (and 4 for partition 2, which has no
      // committed offset yet).
      producer.beginTransaction();
      await producer.sendOffsetsToTransaction([
        { topic, partition: 0, offset: 9 },
        { topic, partition: 2, offset: 4 },
      ], { groupId: group, ...NO_GROUP });
      for (const v of [7, 8, 9]) {
        assert.deepEqual(
          await fetchOffsets(client, v, group, topic, [0, 1, 2], true),
          [[0, -1, ErrorCode.UNSTABLE_OFFSET_COMMIT], [1, 5, 0], [
            2,
            -1,
            ErrorCode.UNSTABLE_OFFSET_COMMIT,
          ]],
          `v${v} require_stable`,
        );
        assert.deepEqual(
          await fetchOffsets(client, v, group, topic, [0, 1, 2], false),
          [[0, 3, 0], [1, 5, 0], [2, -1, 0]],
          `v${v} without require_stable`,
        );
        // Every committed offset (null topics): partition 2 has none, so it is not listed.
        assert.deepEqual(
          await fetchOffsets(client, v, group, topic, null, true),
          [[0, -1, ErrorCode.UNSTABLE_OFFSET_COMMIT], [1, 5, 0]],
          `v${v} all partitions`,
        );
      }
      // Before v7 there is no require_stable (our client's v6 OffsetFetch): the committed offset.
      assert.deepEqual(await fetchOffsets(client, 6, group, topic, [0], true), [[0, 3, 0]]);
      // Another group is not affected.
      assert.deepEqual(await fetchOffsets(client, 8, `${group}-other`, topic, [0], true), [
        [0, -1, 0],
      ]);

      // Abort: the old offsets, stable again.
      await producer.abortTransaction();
      assert.deepEqual(await fetchOffsets(client, 8, group, topic, [0, 1, 2], true), [
        [0, 3, 0],
        [1, 5, 0],
        [2, -1, 0],
      ]);

      // Commit: the transaction's offsets.
      producer.beginTransaction();
      await producer.sendOffsetsToTransaction([{ topic, partition: 0, offset: 11 }], {
        groupId: group,
        ...NO_GROUP,
      });
      assert.deepEqual(await fetchOffsets(client, 7, group, topic, [0, 1], true), [
        [0, -1, ErrorCode.UNSTABLE_OFFSET_COMMIT],
        [1, 5, 0],
      ]);
      await producer.commitTransaction();
      assert.deepEqual(await fetchOffsets(client, 7, group, topic, [0, 1], true), [
        [0, 11, 0],
        [1, 5, 0],
      ]);
      await producer.close();
    } finally {
      await client.close();
    }
  },
});

Deno.test({
  name: "GroupConsumer: a new member waits out an open transaction's offsets, then resumes",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const { bootstrap } = await broker();
    const client = new Client({ bootstrapServers: bootstrap, retryBackoffMs: 20 });
    try {
      const topic = uniqueTopic("stable-gc");
      const group = `${topic}-g`;
      const plain = new Producer(client);
      await plain.send({
        topic,
        messages: Array.from({ length: 10 }, (_, i) => ({ partition: 0, value: `v${i}` })),
      });
      await plain.close();
      const producer = new Producer(client, { transactionalId: `${topic}-tx` });
      await producer.initTransactions();
      producer.beginTransaction();
      await producer.sendOffsetsToTransaction([{ topic, partition: 0, offset: 6 }], {
        groupId: group,
        ...NO_GROUP,
      });
      // committed() waits up to defaultApiTimeoutMs, then throws UNSTABLE_OFFSET_COMMIT.
      const impatient = new GroupConsumer(client, { groupId: group, defaultApiTimeoutMs: 300 });
      await assert.rejects(
        impatient.committed([{ topic, partition: 0 }]),
        (e) => e instanceof KafkaError && e.code === ErrorCode.UNSTABLE_OFFSET_COMMIT,
      );
      await impatient.close();
      const consumer = new GroupConsumer(client, {
        groupId: group,
        autoOffsetReset: "earliest",
        autoCommit: false,
        sessionTimeoutMs: 6_000, // group.min.session.timeout.ms
        heartbeatIntervalMs: 500,
      });
      consumer.subscribe([topic]);
      // The join waits (UNSTABLE_OFFSET_COMMIT) until the transaction commits, longer than the
      // session timeout: it heartbeats meanwhile, so it stays in its generation.
      const first = consumer.poll({ maxWaitMs: 200 });
      let settled = false;
      first.finally(() => settled = true).catch(() => {});
      await new Promise((r) => setTimeout(r, 7_000));
      assert.equal(settled, false, "the first poll returned while the offset was unstable");
      await producer.commitTransaction();
      const got = [...await withTimeout(first, 20_000, "first poll")];
      assert.deepEqual(await consumer.committed([{ topic, partition: 0 }]), [
        { topic, partition: 0, offset: 6, leaderEpoch: -1 },
      ]);
      for (let i = 0; i < 40 && got.length < 4; i++) {
        got.push(...await consumer.poll({ maxWaitMs: 200 }));
      }
      assert.deepEqual(got.map((r) => r.offset), [6, 7, 8, 9]);
      const generation = consumer.generationId;
      for (let i = 0; i < 8; i++) await consumer.poll({ maxWaitMs: 200 }); // a few heartbeats
      assert.equal(consumer.generationId, generation, "the member was expired while waiting");
      assert.equal(generation, 1);
      await consumer.close();
      await producer.close();
    } finally {
      await client.close();
    }
  },
});

const confluent = requireClient("confluent-kafka");

interopTest(confluent, "a new group member waits out an open transaction's offsets", async () => {
  const { bootstrap, broker: b } = await broker();
  const client = new Client({ bootstrapServers: bootstrap, retryBackoffMs: 20 });
  try {
    const topic = uniqueTopic("stable-rd");
    const group = `${topic}-g`;
    const plain = new Producer(client);
    await plain.send({
      topic,
      messages: Array.from({ length: 10 }, (_, i) => ({ partition: 0, value: `v${i}` })),
    });
    await plain.close();
    const producer = new Producer(client, { transactionalId: `${topic}-tx` });
    await producer.initTransactions();
    producer.beginTransaction();
    await producer.sendOffsetsToTransaction([{ topic, partition: 0, offset: 7 }], {
      groupId: group,
      ...NO_GROUP,
    });
    const fetches = () => b.metrics.request(OffsetFetchRequest.apiKey)?.count ?? 0;
    const before = fetches();
    // librdkafka (isolation.level read_committed by default) sends require_stable.
    const consumed = runClientScript<{ records: { offset: number }[] }>(
      "confluent_client.py",
      "group_consume",
      { bootstrap, topic, group, count: 3, timeout_s: 40 },
      60_000,
    );
    // Its first OffsetFetch got UNSTABLE_OFFSET_COMMIT when it asks again.
    for (let i = 0; i < 300 && fetches() < before + 2; i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(fetches() >= before + 2, `librdkafka sent ${fetches() - before} OffsetFetch`);
    await producer.commitTransaction();
    const { records } = await consumed;
    assert.deepEqual(records.map((r) => r.offset), [7, 8, 9]);
    await producer.close();
  } finally {
    await client.close();
  }
});
