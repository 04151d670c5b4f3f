// Copyright 2026 the Sluice authors. Apache-2.0 license.
// Offsets of an open transaction against OffsetDelete and offset expiry, on a real broker, as
// Kafka's group coordinator (OffsetMetadataManager) handles them:
// - OffsetDelete of a partition writes a tombstone when the group has a committed offset OR an
//   open transaction holds one for it; the tombstone takes both, so the transaction, once
//   committed, leaves no offset there (a restart in between replays the same);
// - expiry does not expire a committed offset while an open transaction holds an offset of its
//   partition (the other partitions' offsets, committed at the same time, do expire).

import assert from "node:assert/strict";
import { Admin, Client, Producer } from "../../client/mod.ts";
import { uniqueTopic } from "../harness.ts";
import { fetchOffsets, NO_GROUP, startOffsetsBroker, UNSTABLE } from "./offsets.ts";

Deno.test("OffsetDelete takes the offsets an open transaction holds: committed, the transaction leaves none there (and after a restart)", async () => {
  const broker = await startOffsetsBroker();
  const client = new Client({ bootstrapServers: broker.bootstrap, retryBackoffMs: 50 });
  try {
    const admin = new Admin(client);
    const topic = uniqueTopic("txn-offsets-delete");
    const group = `${topic}-g`;
    await admin.createTopics([{ name: topic, numPartitions: 3 }]);
    // p0: committed 5, then 10 in the transaction; p1: only 20 in it; p2: only 30 in it
    await admin.alterConsumerGroupOffsets(group, [{ topic, partition: 0, offset: 5 }]);
    const producer = new Producer(client, { transactionalId: `${topic}-tx` });
    await producer.initTransactions();
    producer.beginTransaction();
    await producer.send({ topic, messages: [{ value: "a" }] });
    await producer.sendOffsetsToTransaction([
      { topic, partition: 0, offset: 10 },
      { topic, partition: 1, offset: 20 },
      { topic, partition: 2, offset: 30 },
    ], { groupId: group, ...NO_GROUP });
    const all = [0, 1, 2];
    assert.deepEqual(await fetchOffsets(client, group, topic, all, true), [
      [-1, UNSTABLE],
      [-1, UNSTABLE],
      [-1, UNSTABLE],
    ]);
    // p0 and p1 deleted while the transaction is open (the group is Empty: every partition
    // may go)
    await admin.deleteConsumerGroupOffsets(group, [
      { topic, partition: 0 },
      { topic, partition: 1 },
    ]);
    const afterDelete = [[-1, 0], [-1, 0], [-1, UNSTABLE]];
    assert.deepEqual(await fetchOffsets(client, group, topic, all, true), afterDelete);
    assert.deepEqual(await fetchOffsets(client, group, topic, all, false), [
      [-1, 0],
      [-1, 0],
      [-1, 0],
    ]);
    // the tombstones are replayed after the transaction's offsets
    await broker.restart();
    assert.deepEqual(await fetchOffsets(client, group, topic, all, true), afterDelete);
    await producer.commitTransaction();
    const committed = [[-1, 0], [-1, 0], [30, 0]];
    assert.deepEqual(await fetchOffsets(client, group, topic, all, true), committed);
    await broker.restart();
    assert.deepEqual(await fetchOffsets(client, group, topic, all, true), committed);
    await producer.close();
  } finally {
    await client.close();
    await broker.close();
  }
});

Deno.test("offset expiry keeps a committed offset while an open transaction holds one of its partition", async () => {
  // 0.005 minutes: 300 ms of retention, checked every 100 ms (offsets.retention.minutes is
  // whole minutes from a config file; the in-process config takes a fraction)
  const broker = await startOffsetsBroker({
    offsetsRetentionMinutes: 0.005,
    offsetsRetentionCheckIntervalMs: 100,
  });
  const client = new Client({ bootstrapServers: broker.bootstrap, retryBackoffMs: 50 });
  try {
    const admin = new Admin(client);
    const topic = uniqueTopic("txn-offsets-expiry");
    const group = `${topic}-g`;
    await admin.createTopics([{ name: topic, numPartitions: 2 }]);
    const producer = new Producer(client, { transactionalId: `${topic}-tx` });
    await producer.initTransactions();
    producer.beginTransaction();
    await producer.send({ topic, messages: [{ value: "a" }] });
    // both committed in one OffsetCommit (one timestamp): they expire in the same pass
    await admin.alterConsumerGroupOffsets(group, [
      { topic, partition: 0, offset: 5 },
      { topic, partition: 1, offset: 7 },
    ]);
    await producer.sendOffsetsToTransaction([{ topic, partition: 0, offset: 10 }], {
      groupId: group,
      ...NO_GROUP,
    });
    // p1's offset expires (bounded: 600 looks, 50 ms apart, 30 s at most)
    const deadline = Date.now() + 30_000;
    let p1 = (await fetchOffsets(client, group, topic, [1], false))[0];
    for (let i = 0; i < 600 && p1[0] !== -1 && Date.now() < deadline; i++) {
      await new Promise((r) => setTimeout(r, 50));
      p1 = (await fetchOffsets(client, group, topic, [1], false))[0];
    }
    assert.deepEqual(p1, [-1, 0], "p1's offset did not expire");
    // p0's did not: the transaction holds an offset of p0
    assert.deepEqual(await fetchOffsets(client, group, topic, [0, 1], false), [[5, 0], [-1, 0]]);
    assert.deepEqual(await fetchOffsets(client, group, topic, [0], true), [[-1, UNSTABLE]]);
    // (committed, the transaction's offset has its TxnOffsetCommit's timestamp, long past the
    // retention: the next pass may expire it, so it is not looked at here)
    await producer.commitTransaction();
    await producer.close();
  } finally {
    await client.close();
    await broker.close();
  }
});
