// Copyright 2026 the Sluice authors. Apache-2.0 license.
// Timed-out transactions over TCP against a real broker: the coordinator the broker opens at
// start aborts them on its own timer (also after a restart), fencing the silent producer.
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { ErrorCode } from "../../protocol/errors.ts";
import {
  AddPartitionsToTxnRequest,
  AddPartitionsToTxnResponse,
} from "../../protocol/messages/add_partitions_to_txn.ts";
import { FetchRequest, FetchResponse } from "../../protocol/messages/fetch.ts";
import { MetadataRequest, MetadataResponse } from "../../protocol/messages/metadata.ts";
import {
  batchSummaries,
  createTopic,
  fencedAnswers,
  fetchBody,
  initTransactionalProducer,
  NO_TOPIC_ID,
  produceTransactional,
  RawClient,
  startTestBroker,
} from "../testing.ts";

/** Begin a transaction of `tid` on `topic`-0 and write two records: offsets 0 and 1. */
async function openTransaction(c: RawClient, topic: string, tid: string, timeoutMs: number) {
  const producer = await initTransactionalProducer(c, tid, timeoutMs);
  assertEquals(producer.producerEpoch, 0);
  const pid = producer.producerId;
  const add = await c.request(AddPartitionsToTxnRequest, AddPartitionsToTxnResponse, 3, {
    v3AndBelowTransactionalId: tid,
    v3AndBelowProducerId: pid,
    v3AndBelowProducerEpoch: 0,
    v3AndBelowTopics: [{ name: topic, partitions: [0] }],
  });
  assertEquals(add.resultsByTopicV3AndBelow[0].resultsByPartition[0].partitionErrorCode, 0);
  const xy = [{ key: "k", value: "x" }, { key: "k", value: "y" }];
  assertEquals(await produceTransactional(c, producer, topic, 0, xy, 0), 0);
  return pid;
}

async function readCommitted(c: RawClient, topic: string) {
  return (await c.request(
    FetchRequest,
    FetchResponse,
    11,
    fetchBody([{ topic, partition: 0, offset: 0 }], { isolationLevel: 1 }),
  )).responses[0].partitions[0];
}

/** Poll read_committed fetches until the LSO reaches `lso` (bounded: 10 s). */
async function waitForLso(c: RawClient, topic: string, lso: number) {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const p = await readCommitted(c, topic);
    if (p.lastStableOffset === lso) return p;
    if (Date.now() > deadline) {
      throw new Error(
        `waiting for the LSO of ${topic}-0 to reach ${lso}: still ${p.lastStableOffset} after 10 s`,
      );
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

Deno.test("a silent transactional producer is aborted by its timeout and fenced", async () => {
  await using t = await startTestBroker({ transactionAbortTimedOutIntervalMs: 50 });
  const c = await RawClient.connect(t.broker.port);
  try {
    await createTopic(c, "tmo", 1);
    const pid = await openTransaction(c, "tmo", "tmo-1", 300);
    const open = await readCommitted(c, "tmo");
    assertEquals([open.highWatermark, open.lastStableOffset], [2, 0]);
    // Nothing more from the producer: the coordinator aborts on its own (ABORT marker at 2).
    const done = await waitForLso(c, "tmo", 3);
    assertEquals(done.highWatermark, 3);
    assertEquals(done.abortedTransactions, [{ producerId: pid, firstOffset: 0 }]);
    assertEquals(batchSummaries(done.records!), [[0, 0x10, pid], [2, 0x30, pid]]);
    const producer = { transactionalId: "tmo-1", producerId: pid, producerEpoch: 0 };
    // The abort bumped the epoch: the late commit is fenced (INVALID_PRODUCER_EPOCH before v2).
    // Its late data are refused too, and nothing more is appended.
    assertEquals(await fencedAnswers(c, producer, "tmo", 2), [
      ErrorCode.PRODUCER_FENCED,
      ErrorCode.INVALID_PRODUCER_EPOCH,
      ErrorCode.INVALID_PRODUCER_EPOCH,
    ]);
    const after = await readCommitted(c, "tmo");
    assertEquals([after.highWatermark, after.lastStableOffset], [3, 3]);
    assertEquals(
      t.lines.filter((l) => l.includes("timed out after 300 ms")).length,
      1,
      t.lines.join("\n"),
    );
  } finally {
    c.close();
  }
});

Deno.test("a transaction left open across a restart is aborted by its timeout after it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sluice-txn-restart-" });
  try {
    let pid: number;
    // A long cleanup interval: the first broker never aborts it.
    const t = await startTestBroker({
      logDirs: [dir],
      transactionAbortTimedOutIntervalMs: 600_000,
    });
    try {
      const c = await RawClient.connect(t.broker.port);
      try {
        await createTopic(c, "left", 1);
        pid = await openTransaction(c, "left", "left-1", 1000);
        const p = await readCommitted(c, "left");
        assertEquals([p.highWatermark, p.lastStableOffset], [2, 0]);
      } finally {
        c.close();
      }
    } finally {
      await t.broker.close(); // keeps `dir` (disposing would remove it)
    }
    await using t2 = await startTestBroker({
      logDirs: [dir],
      transactionAbortTimedOutIntervalMs: 50,
    });
    const c = await RawClient.connect(t2.broker.port);
    try {
      // No client request about the transaction: the restarted coordinator's timer aborts it.
      const done = await waitForLso(c, "left", 3);
      assertEquals(done.highWatermark, 3);
      assertEquals(done.abortedTransactions, [{ producerId: pid, firstOffset: 0 }]);
      assertEquals(batchSummaries(done.records!), [[0, 0x10, pid], [2, 0x30, pid]]);
      // __transaction_state is internal, like __consumer_offsets.
      const md = await c.request(MetadataRequest, MetadataResponse, 12, {
        topics: [{ name: "__transaction_state", topicId: NO_TOPIC_ID }],
        allowAutoTopicCreation: false,
      });
      assertEquals(
        [md.topics[0].errorCode, md.topics[0].isInternal, md.topics[0].partitions.length],
        [0, true, 50],
      );
    } finally {
      c.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
