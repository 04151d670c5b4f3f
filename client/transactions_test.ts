// Copyright 2026 the Sluice authors. Apache-2.0 license.
// The transactional producer and the read_committed consumer against a real in-process broker:
// committed records visible to read_committed, aborted ones only to read_uncommitted, offsets
// sent to a transaction committed with it (and not when it aborts), fencing by a second producer
// with the same transactional id, KIP-447 generation checks, the abort's epoch bump after the
// coordinator timed a transaction out, and the transaction state machine's refusals.

import assert from "node:assert/strict";
import { ErrorCode, KafkaError } from "../protocol/errors.ts";
import { sharedBroker, uniqueTopic } from "../tests/harness.ts";
import { Admin } from "./admin.ts";
import { Client } from "./client.ts";
import { Consumer } from "./consumer.ts";
import { GroupConsumer } from "./group_consumer.ts";
import { Producer } from "./producer.ts";
import { ProducerFencedError } from "./transaction_manager.ts";

const td = new TextDecoder();
const broker = sharedBroker({
  offsetsTopicNumPartitions: 3,
  transactionStateLogNumPartitions: 3,
  transactionAbortTimedOutIntervalMs: 200,
});

async function withClient(fn: (client: Client) => Promise<void>): Promise<void> {
  const { bootstrap } = await broker();
  const client = new Client({ bootstrapServers: bootstrap, retryBackoffMs: 20 });
  try {
    await fn(client);
  } finally {
    await client.close();
  }
}

/** Every record value of a partition up to its end offset, with an isolation level. */
async function readAll(
  client: Client,
  topic: string,
  isolationLevel: 0 | 1,
  partitions = 1,
): Promise<string[]> {
  const admin = new Admin(client);
  const specs = Array.from({ length: partitions }, (_, partition) => ({
    topic,
    partition,
    spec: "latest" as const,
  }));
  const ends = await admin.listOffsets(specs);
  const consumer = new Consumer(client, { fromBeginning: true, maxWaitMs: 50, isolationLevel });
  const out: string[] = [];
  try {
    await consumer.assign(specs.map(({ topic, partition }) => ({ topic, partition })));
    // Read until each position reaches the end offset (markers and aborted records included).
    for (let i = 0; i < 400; i++) {
      const positions = consumer.assignment();
      if (positions.every((p, k) => p.offset >= ends[k].offset)) break;
      for (const r of await consumer.poll()) out.push(td.decode(r.value!));
    }
  } finally {
    await consumer.close();
  }
  return out;
}

Deno.test("transactions: committed visible, aborted only to read_uncommitted", async () => {
  await withClient(async (client) => {
    const topic = uniqueTopic("txn-basic");
    await new Admin(client).createTopics([{ name: topic, numPartitions: 2 }]);
    const producer = new Producer(client, { transactionalId: `${topic}-tx` });
    assert.equal(producer.transactionState, "UNINITIALIZED");
    await producer.initTransactions();
    assert.equal(producer.transactionState, "READY");
    producer.beginTransaction();
    await producer.send({
      topic,
      messages: [{ value: "c1", partition: 0 }, { value: "c2", partition: 1 }],
    });
    await producer.commitTransaction();
    producer.beginTransaction();
    await producer.send({
      topic,
      messages: [{ value: "a1", partition: 0 }, { value: "a2", partition: 1 }],
    });
    await producer.abortTransaction();
    producer.beginTransaction();
    await producer.send({ topic, messages: [{ value: "c3", partition: 0 }] });
    await producer.commitTransaction();
    assert.equal(producer.transactionState, "READY");
    await producer.close();
    assert.deepEqual((await readAll(client, topic, 1, 2)).sort(), ["c1", "c2", "c3"]);
    assert.deepEqual((await readAll(client, topic, 0, 2)).sort(), ["a1", "a2", "c1", "c2", "c3"]);
  });
});

Deno.test("transactions: an open transaction holds read_committed back at its first offset", async () => {
  await withClient(async (client) => {
    const topic = uniqueTopic("txn-lso");
    await new Admin(client).createTopics([{ name: topic, numPartitions: 1 }]);
    const plain = new Producer(client);
    await plain.send({ topic, messages: [{ value: "before" }] });
    const producer = new Producer(client, { transactionalId: `${topic}-tx` });
    await producer.initTransactions();
    producer.beginTransaction();
    await producer.send({ topic, messages: [{ value: "open" }] });
    await plain.send({ topic, messages: [{ value: "after" }] });
    const consumer = new Consumer(client, {
      fromBeginning: true,
      maxWaitMs: 50,
      isolationLevel: 1,
    });
    await consumer.assign([{ topic, partition: 0 }]);
    const seen: string[] = [];
    for (let i = 0; i < 5; i++) {
      for (const r of await consumer.poll()) seen.push(td.decode(r.value!));
    }
    // Only below the last stable offset: "after" waits behind the open transaction.
    assert.deepEqual(seen, ["before"]);
    await producer.commitTransaction();
    for (let i = 0; i < 100 && seen.length < 3; i++) {
      for (const r of await consumer.poll()) seen.push(td.decode(r.value!));
    }
    assert.deepEqual(seen, ["before", "open", "after"]);
    await consumer.close();
    await producer.close();
    await plain.close();
  });
});

Deno.test("transactions: offsets sent to a transaction commit with it, not on abort", async () => {
  await withClient(async (client) => {
    const topic = uniqueTopic("txn-offsets");
    const group = `${topic}-g`;
    await new Admin(client).createTopics([{ name: topic, numPartitions: 1 }]);
    await new Producer(client).send({ topic, messages: [{ value: "x" }, { value: "y" }] });
    const consumer = new GroupConsumer(client, {
      groupId: group,
      autoCommit: false,
      autoOffsetReset: "earliest",
      isolationLevel: "read_committed",
    });
    consumer.subscribe([topic]);
    const got = [];
    for (let i = 0; i < 50 && got.length < 2; i++) {
      got.push(...await consumer.poll({ maxWaitMs: 100 }));
    }
    assert.equal(got.length, 2);
    const meta = consumer.groupMetadata();
    assert.equal(meta.groupId, group);
    assert.ok(meta.generationId >= 1 && meta.memberId !== "", JSON.stringify(meta));
    const producer = new Producer(client, { transactionalId: `${topic}-tx` });
    await producer.initTransactions();
    producer.beginTransaction();
    await producer.sendOffsetsToTransaction([{ topic, partition: 0, offset: 1 }], meta);
    await producer.abortTransaction();
    assert.deepEqual(await consumer.committed([{ topic, partition: 0 }]), [
      { topic, partition: 0, offset: -1, leaderEpoch: -1 },
    ]);
    // The record's leader epoch (its batch's: a standalone broker's is 0) is committed with the
    // offset (TxnOffsetCommit v2+ committed_leader_epoch, KIP-320).
    assert.deepEqual(got.map((r) => r.leaderEpoch), [0, 0]);
    producer.beginTransaction();
    await producer.sendOffsetsToTransaction(
      [{ topic, partition: 0, offset: got[1].offset + 1, leaderEpoch: got[1].leaderEpoch }],
      meta,
    );
    await producer.commitTransaction();
    assert.deepEqual(await consumer.committed([{ topic, partition: 0 }]), [
      { topic, partition: 0, offset: 2, leaderEpoch: 0 },
    ]);
    // KIP-447: a stale generation is refused, and the transaction must be aborted.
    producer.beginTransaction();
    await assert.rejects(
      producer.sendOffsetsToTransaction([{ topic, partition: 0, offset: 1 }], {
        ...meta,
        generationId: meta.generationId + 5,
      }),
      (e) => e instanceof KafkaError && e.code === ErrorCode.ILLEGAL_GENERATION,
    );
    assert.equal(producer.transactionState, "ABORTABLE_ERROR");
    await assert.rejects(producer.commitTransaction(), /must be aborted/);
    await producer.abortTransaction();
    assert.equal(producer.transactionState, "READY");
    assert.deepEqual(await consumer.committed([{ topic, partition: 0 }]), [
      { topic, partition: 0, offset: 2, leaderEpoch: 0 },
    ]);
    await producer.close();
    await consumer.close();
  });
});

Deno.test("transactions: a second producer with the same id fences the first", async () => {
  await withClient(async (client) => {
    const topic = uniqueTopic("txn-fence");
    await new Admin(client).createTopics([{ name: topic, numPartitions: 1 }]);
    const id = `${topic}-tx`;
    const first = new Producer(client, { transactionalId: id });
    await first.initTransactions();
    first.beginTransaction();
    await first.send({ topic, messages: [{ value: "zombie" }] });
    const second = new Producer(client, { transactionalId: id });
    await second.initTransactions(); // aborts the first's open transaction
    second.beginTransaction();
    await second.send({ topic, messages: [{ value: "live" }] });
    await second.commitTransaction();
    const err = await first.commitTransaction().then(() => undefined, (e) => e);
    assert.ok(err instanceof ProducerFencedError, String(err));
    assert.match(err.message, /fenced by a newer producer/);
    assert.equal(first.transactionState, "FATAL_ERROR");
    // Every later call says so.
    assert.throws(() => first.beginTransaction(), ProducerFencedError);
    await assert.rejects(first.send({ topic, messages: [{ value: "no" }] }), ProducerFencedError);
    await assert.rejects(first.abortTransaction(), ProducerFencedError);
    await first.close();
    await second.close();
    assert.deepEqual(await readAll(client, topic, 1), ["live"]);
    assert.deepEqual(await readAll(client, topic, 0), ["zombie", "live"]);
  });
});

Deno.test("transactions: a fenced producer's next send in a transaction fails clearly", async () => {
  await withClient(async (client) => {
    const topic = uniqueTopic("txn-fence-send");
    await new Admin(client).createTopics([{ name: topic, numPartitions: 1 }]);
    const id = `${topic}-tx`;
    const first = new Producer(client, { transactionalId: id });
    await first.initTransactions();
    first.beginTransaction();
    await first.send({ topic, messages: [{ value: "a" }] });
    const second = new Producer(client, { transactionalId: id });
    await second.initTransactions();
    // The first's epoch is stale on the partition: the send fails, the abort says fenced.
    const sendErr = await first.send({ topic, messages: [{ value: "b" }] }).then(
      () => undefined,
      (e) => e,
    );
    assert.ok(sendErr instanceof KafkaError, String(sendErr));
    assert.ok(
      first.transactionState === "ABORTABLE_ERROR" || first.transactionState === "FATAL_ERROR",
      first.transactionState,
    );
    await assert.rejects(first.abortTransaction(), ProducerFencedError);
    await first.close();
    await second.close();
  });
});

Deno.test("transactions: the coordinator's timeout abort is recovered by abort + epoch bump", async () => {
  await withClient(async (client) => {
    const topic = uniqueTopic("txn-timeout");
    await new Admin(client).createTopics([{ name: topic, numPartitions: 1 }]);
    const producer = new Producer(client, {
      transactionalId: `${topic}-tx`,
      transactionTimeoutMs: 300,
    });
    await producer.initTransactions();
    producer.beginTransaction();
    await producer.send({ topic, messages: [{ value: "late" }] });
    // Wait for the coordinator to abort it (cleanup every 200 ms, timeout 300 ms).
    const consumer = new Consumer(client, {
      fromBeginning: true,
      maxWaitMs: 50,
      isolationLevel: 1,
    });
    await consumer.assign([{ topic, partition: 0 }]);
    const [end0] = await new Admin(client).listOffsets([{ topic, partition: 0, spec: "latest" }]);
    for (let i = 0; i < 200; i++) {
      const [end] = await new Admin(client).listOffsets([{ topic, partition: 0, spec: "latest" }]);
      if (end.offset > end0.offset) break; // the ABORT marker
      await new Promise((r) => setTimeout(r, 50));
    }
    // The next send meets the bumped epoch: INVALID_PRODUCER_EPOCH, abortable (KIP-588).
    const err = await producer.send({ topic, messages: [{ value: "later" }] }).then(
      () => undefined,
      (e) => e,
    );
    assert.ok(err instanceof KafkaError, String(err));
    assert.equal(producer.transactionState, "ABORTABLE_ERROR");
    await producer.abortTransaction();
    assert.equal(producer.transactionState, "READY");
    producer.beginTransaction();
    await producer.send({ topic, messages: [{ value: "ok" }] });
    await producer.commitTransaction();
    await consumer.close();
    await producer.close();
    assert.deepEqual(await readAll(client, topic, 1), ["ok"]);
  });
});

Deno.test("transactions: a failed record makes the transaction abortable; the abort bumps the epoch and the producer goes on", async () => {
  await withClient(async (client) => {
    const topic = uniqueTopic("txn-failed-record");
    await new Admin(client).createTopics([
      { name: topic, numPartitions: 1, configs: { "max.message.bytes": "2000" } },
    ]);
    const producer = new Producer(client, { transactionalId: `${topic}-tx` });
    await producer.initTransactions();
    producer.beginTransaction();
    const ok = producer.send({ topic, messages: [{ value: "in-aborted" }] });
    await ok;
    const err = await producer.send({ topic, messages: [{ value: "x".repeat(5000) }] }).then(
      () => undefined,
      (e) => e,
    );
    assert.ok(err instanceof KafkaError && err.code === ErrorCode.MESSAGE_TOO_LARGE, String(err));
    assert.equal(producer.transactionState, "ABORTABLE_ERROR");
    await assert.rejects(
      producer.send({ topic, messages: [{ value: "more" }] }),
      /must be aborted.*MESSAGE_TOO_LARGE/,
    );
    await assert.rejects(producer.commitTransaction(), /must be aborted/);
    await producer.abortTransaction();
    producer.beginTransaction();
    await producer.send({ topic, messages: [{ value: "after" }] });
    await producer.commitTransaction();
    await producer.close();
    assert.deepEqual(await readAll(client, topic, 1), ["after"]);
    assert.deepEqual(await readAll(client, topic, 0), ["in-aborted", "after"]);
  });
});

Deno.test("transactions: state machine refusals and option checks", async () => {
  await withClient(async (client) => {
    const topic = uniqueTopic("txn-states");
    assert.throws(
      () => new Producer(client, { transactionalId: "" }),
      /transactionalId must be a non-empty string/,
    );
    assert.throws(
      () => new Producer(client, { transactionalId: "x", idempotent: false }),
      /needs idempotence/,
    );
    assert.throws(
      () => new Producer(client, { transactionalId: "x", acks: 1 }),
      /a transactionalId cannot be used with acks 1/,
    );
    const plain = new Producer(client);
    await assert.rejects(plain.initTransactions(), /needs a transactionalId/);
    const producer = new Producer(client, { transactionalId: `${topic}-tx` });
    assert.throws(() => producer.beginTransaction(), /not allowed in state UNINITIALIZED/);
    await assert.rejects(
      producer.send({ topic, messages: [{ value: "v" }] }),
      /not allowed in state UNINITIALIZED/,
    );
    await producer.initTransactions();
    await assert.rejects(producer.initTransactions(), /not allowed in state READY/);
    await assert.rejects(producer.commitTransaction(), /not allowed in state READY/);
    await assert.rejects(
      producer.send({ topic, messages: [{ value: "v" }] }),
      (e) => e instanceof KafkaError && e.code === ErrorCode.INVALID_TXN_STATE,
    );
    producer.beginTransaction();
    assert.throws(() => producer.beginTransaction(), /not allowed in state IN_TRANSACTION/);
    // An empty transaction commits without EndTxn.
    await producer.commitTransaction();
    await producer.close();
    await plain.close();
  });
});
