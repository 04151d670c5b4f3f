// Copyright 2026 the Sluice authors. Apache-2.0 license.
// A transaction's offsets against plain offset commits of the same partitions, on a real broker,
// as Kafka's group coordinator orders them (OffsetMetadataManager.replayEndTransactionMarker):
// when the transaction commits, each of its offsets replaces the committed one only if its
// TxnOffsetCommit record is newer in __consumer_offsets than the plain commit's record. So a
// plain commit written after the TxnOffsetCommit stays, one written before gives way, and an
// aborted transaction leaves both alone; a restart (the replay of __consumer_offsets) reaches
// the same, the transaction open or ended.

import assert from "node:assert/strict";
import { Admin, Client, Producer } from "../../client/mod.ts";
import { uniqueTopic } from "../harness.ts";
import { fetchOffsets, NO_GROUP, type OffsetsBroker, startOffsetsBroker } from "./offsets.ts";

/** Committed offsets of `partitions` of `topic` for `groupId` (not stable; each error 0). */
async function committed(
  client: Client,
  groupId: string,
  topic: string,
  partitions: number[],
): Promise<number[]> {
  const offsets = await fetchOffsets(client, groupId, topic, partitions, false);
  offsets.forEach(([, error], i) =>
    assert.equal(error, 0, `OffsetFetch error of ${topic}-${partitions[i]}`)
  );
  return offsets.map(([offset]) => offset);
}

/**
 * p0: TxnOffsetCommit 10, then a plain commit 20; p1: a plain commit 20, then TxnOffsetCommit
 * 10 (one TxnOffsetCommit for both, between the two plain commits); then `end` ends the
 * transaction, and the committed offsets are `expected`, before and after a restart.
 */
async function scenario(
  name: string,
  end: (producer: Producer, broker: OffsetsBroker) => Promise<void>,
  expected: number[],
): Promise<void> {
  const broker = await startOffsetsBroker();
  const client = new Client({ bootstrapServers: broker.bootstrap, retryBackoffMs: 50 });
  try {
    const admin = new Admin(client);
    const topic = uniqueTopic(name);
    const group = `${topic}-g`;
    await admin.createTopics([{ name: topic, numPartitions: 2 }]);
    await admin.alterConsumerGroupOffsets(group, [{ topic, partition: 1, offset: 20 }]);
    const producer = new Producer(client, { transactionalId: `${topic}-tx` });
    await producer.initTransactions();
    producer.beginTransaction();
    await producer.send({ topic, messages: [{ value: "a" }] });
    await producer.sendOffsetsToTransaction([
      { topic, partition: 0, offset: 10 },
      { topic, partition: 1, offset: 10 },
    ], { groupId: group, ...NO_GROUP });
    await admin.alterConsumerGroupOffsets(group, [{ topic, partition: 0, offset: 20 }]);
    assert.deepEqual(await committed(client, group, topic, [0, 1]), [20, 20], "open");
    await end(producer, broker);
    assert.deepEqual(await committed(client, group, topic, [0, 1]), expected, "ended");
    // the replay of __consumer_offsets reaches the same
    await broker.restart();
    assert.deepEqual(await committed(client, group, topic, [0, 1]), expected, "restarted");
    await producer.close();
  } finally {
    await client.close();
    await broker.close();
  }
}

Deno.test("a committed transaction's offset replaces a plain commit only if its TxnOffsetCommit is newer (and after a restart)", async () => {
  await scenario("txn-offsets-order", (p) => p.commitTransaction(), [20, 10]);
});

Deno.test("a transaction open across a restart is ordered against plain commits the same way when it commits", async () => {
  await scenario("txn-offsets-order-open", async (p, broker) => {
    // the broker restarts while the transaction is open: its offsets come back pending, with
    // their records' offsets
    await broker.restart();
    await p.commitTransaction();
  }, [20, 10]);
});

Deno.test("an aborted transaction leaves plain commits written before and after its TxnOffsetCommit", async () => {
  await scenario("txn-offsets-order-abort", (p) => p.abortTransaction(), [20, 20]);
});
