// Copyright 2026 the Sluice authors. Apache-2.0 license.
// Durability of a transaction's offsets on one broker: offsets sent with
// sendOffsetsToTransaction (TxnOffsetCommit, acknowledged) survive a restart of the broker while
// the transaction is open — a clean restart and a SIGKILL of the broker process. After the
// restart OffsetFetch with require_stable answers UNSTABLE_OFFSET_COMMIT (88) for them, the
// commit makes them the group's offsets, an abort leaves the old ones; both stay so after
// another restart.

import assert from "node:assert/strict";
import { Admin, Client, Producer } from "../../client/mod.ts";
import { ChaosBroker, freePort } from "../chaos/broker.ts";
import { uniqueTopic } from "../harness.ts";
import { fetchOffsets, NO_GROUP, startOffsetsBroker, UNSTABLE } from "./offsets.ts";

/** `[offset, error code]` of partition 0 of `topic` for `groupId`. */
async function fetchOffset(
  client: Client,
  groupId: string,
  topic: string,
  requireStable: boolean,
): Promise<number[]> {
  return (await fetchOffsets(client, groupId, topic, [0], requireStable))[0];
}

/**
 * Commit offset 1 in a transaction, then open transactions whose offsets `restart` must keep:
 * offset 3 committed after the restart, offset 5 aborted after another.
 */
async function scenario(bootstrap: string, restart: () => Promise<void>): Promise<void> {
  const client = new Client({ bootstrapServers: bootstrap, retryBackoffMs: 50 });
  try {
    const topic = uniqueTopic("txn-offsets-restart");
    const group = `${topic}-g`;
    await new Admin(client).createTopics([{ name: topic, numPartitions: 1 }]);
    const producer = new Producer(client, { transactionalId: `${topic}-tx` });
    await producer.initTransactions();
    const meta = { groupId: group, ...NO_GROUP };
    producer.beginTransaction();
    await producer.send({ topic, messages: [{ value: "a" }] });
    await producer.sendOffsetsToTransaction([{ topic, partition: 0, offset: 1 }], meta);
    await producer.commitTransaction();
    assert.deepEqual(await fetchOffset(client, group, topic, true), [1, 0]);

    // Commit across a restart.
    producer.beginTransaction();
    await producer.send({ topic, messages: [{ value: "b" }] });
    await producer.sendOffsetsToTransaction([{ topic, partition: 0, offset: 3 }], meta);
    await restart();
    assert.deepEqual(await fetchOffset(client, group, topic, true), [-1, UNSTABLE]);
    assert.deepEqual(await fetchOffset(client, group, topic, false), [1, 0]);
    await producer.commitTransaction();
    assert.deepEqual(await fetchOffset(client, group, topic, true), [3, 0]);
    await restart();
    assert.deepEqual(await fetchOffset(client, group, topic, true), [3, 0]);

    // Abort across a restart.
    producer.beginTransaction();
    await producer.send({ topic, messages: [{ value: "c" }] });
    await producer.sendOffsetsToTransaction([{ topic, partition: 0, offset: 5 }], meta);
    await restart();
    assert.deepEqual(await fetchOffset(client, group, topic, true), [-1, UNSTABLE]);
    await producer.abortTransaction();
    assert.deepEqual(await fetchOffset(client, group, topic, true), [3, 0]);
    await restart();
    assert.deepEqual(await fetchOffset(client, group, topic, true), [3, 0]);
    await producer.close();
  } finally {
    await client.close();
  }
}

Deno.test("transactional offsets survive a clean broker restart: commit and abort", async () => {
  const broker = await startOffsetsBroker();
  try {
    await scenario(broker.bootstrap, () => broker.restart());
  } finally {
    await broker.close();
  }
});

Deno.test({
  name: "transactional offsets survive a SIGKILL of the broker process: commit and abort",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "sluice_txn_offsets_kill_" });
    const broker = new ChaosBroker({
      dataDir: `${dir}/data`,
      port: freePort(),
      overrides: [
        "offsets.topic.num.partitions=1",
        "transaction.state.log.num.partitions=1",
        "group.initial.rebalance.delay.ms=0",
      ],
      logFile: `${dir}/broker.log`,
    });
    try {
      await broker.start();
      await scenario(broker.bootstrap, async () => {
        await broker.kill();
        await broker.start();
      });
    } finally {
      await broker.stop().catch(() => {});
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
