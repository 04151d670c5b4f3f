// Copyright 2026 the Sluice authors. Apache-2.0 license.
// The transactional APIs over TCP against a real broker.
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { ErrorCode } from "../../protocol/errors.ts";
import {
  AddOffsetsToTxnRequest,
  AddOffsetsToTxnResponse,
} from "../../protocol/messages/add_offsets_to_txn.ts";
import {
  AddPartitionsToTxnRequest,
  AddPartitionsToTxnResponse,
} from "../../protocol/messages/add_partitions_to_txn.ts";
import {
  DescribeTransactionsRequest,
  DescribeTransactionsResponse,
} from "../../protocol/messages/describe_transactions.ts";
import { EndTxnRequest, EndTxnResponse } from "../../protocol/messages/end_txn.ts";
import { FetchRequest, FetchResponse } from "../../protocol/messages/fetch.ts";
import { ListOffsetsRequest, ListOffsetsResponse } from "../../protocol/messages/list_offsets.ts";
import {
  DescribeProducersRequest,
  DescribeProducersResponse,
} from "../../protocol/messages/describe_producers.ts";
import {
  ListTransactionsRequest,
  ListTransactionsResponse,
} from "../../protocol/messages/list_transactions.ts";
import { OffsetFetchRequest, OffsetFetchResponse } from "../../protocol/messages/offset_fetch.ts";
import { ProduceRequest, ProduceResponse } from "../../protocol/messages/produce.ts";
import {
  TxnOffsetCommitRequest,
  TxnOffsetCommitResponse,
} from "../../protocol/messages/txn_offset_commit.ts";
import {
  WriteTxnMarkersRequest,
  WriteTxnMarkersResponse,
} from "../../protocol/messages/write_txn_markers.ts";
import { buildBatch } from "../../wasm/testing.ts";
import { Broker } from "../broker.ts";
import {
  batchSummaries,
  createTopic,
  fencedAnswers,
  fetchBody,
  initTransactionalProducer,
  produceBody,
  produceTransactional,
  RawClient,
  startTestBroker,
} from "../testing.ts";

Deno.test("transactions over TCP: commit, abort, offsets, describe, list, restart", async () => {
  const dir = await Deno.makeTempDir();
  const t = await startTestBroker({ logDirs: [dir] });
  let c = await RawClient.connect(t.broker.port);
  try {
    await createTopic(c, "tx-topic", 1);
    const producer = await initTransactionalProducer(c, "app-1");
    assertEquals(producer.producerEpoch, 0);
    const pid = producer.producerId;
    const add = (v: number) =>
      c.request(AddPartitionsToTxnRequest, AddPartitionsToTxnResponse, v, {
        v3AndBelowTransactionalId: "app-1",
        v3AndBelowProducerId: pid,
        v3AndBelowProducerEpoch: 0,
        v3AndBelowTopics: [{ name: "tx-topic", partitions: [0] }, {
          name: "nope",
          partitions: [0],
        }],
      });
    const bad = await add(3);
    assertEquals(
      bad.resultsByTopicV3AndBelow.map((r) => [r.name, r.resultsByPartition[0].partitionErrorCode]),
      [["tx-topic", ErrorCode.OPERATION_NOT_ATTEMPTED], [
        "nope",
        ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
      ]],
    );
    const ok = await c.request(AddPartitionsToTxnRequest, AddPartitionsToTxnResponse, 1, {
      v3AndBelowTransactionalId: "app-1",
      v3AndBelowProducerId: pid,
      v3AndBelowProducerEpoch: 0,
      v3AndBelowTopics: [{ name: "tx-topic", partitions: [0] }],
    });
    assertEquals(ok.resultsByTopicV3AndBelow[0].resultsByPartition[0].partitionErrorCode, 0);
    assertEquals(
      await produceTransactional(c, producer, "tx-topic", 0, [{ key: "k", value: "committed" }], 0),
      0,
    );
    const addOffsets = await c.request(AddOffsetsToTxnRequest, AddOffsetsToTxnResponse, 3, {
      ...producer,
      groupId: "grp",
    });
    assertEquals(addOffsets.errorCode, 0);
    const toc = await c.request(TxnOffsetCommitRequest, TxnOffsetCommitResponse, 3, {
      ...producer,
      groupId: "grp",
      generationId: -1,
      memberId: "",
      groupInstanceId: null,
      topics: [{
        name: "tx-topic",
        partitions: [{
          partitionIndex: 0,
          committedOffset: 1,
          committedLeaderEpoch: -1,
          committedMetadata: "m",
        }],
      }],
    });
    assertEquals(toc.topics[0].partitions[0].errorCode, 0);
    const offsetOf = async () =>
      (await c.request(OffsetFetchRequest, OffsetFetchResponse, 5, {
        groupId: "grp",
        topics: [{ name: "tx-topic", partitionIndexes: [0] }],
      })).topics[0].partitions[0].committedOffset;
    assertEquals(await offsetOf(), -1); // pending until the commit
    const desc = await c.request(DescribeTransactionsRequest, DescribeTransactionsResponse, 0, {
      transactionalIds: ["app-1", "unknown"],
    });
    assertEquals(
      desc.transactionStates.map((s) => [s.errorCode, s.transactionState, s.producerId]),
      [[0, "Ongoing", pid], [ErrorCode.TRANSACTIONAL_ID_NOT_FOUND, "", -1]],
    );
    assertEquals(
      desc.transactionStates[0].topics.map((x) => x.topic).sort(),
      ["__consumer_offsets", "tx-topic"],
    );
    const end = await c.request(EndTxnRequest, EndTxnResponse, 3, { ...producer, committed: true });
    assertEquals(end.errorCode, 0);
    assertEquals(await offsetOf(), 1);
    // Second transaction: aborted; its TxnOffsetCommit is dropped.
    await c.request(AddPartitionsToTxnRequest, AddPartitionsToTxnResponse, 3, {
      v3AndBelowTransactionalId: "app-1",
      v3AndBelowProducerId: pid,
      v3AndBelowProducerEpoch: 0,
      v3AndBelowTopics: [{ name: "tx-topic", partitions: [0] }],
    });
    await produceTransactional(c, producer, "tx-topic", 0, [{ key: "k", value: "aborted" }], 1);
    const aborted = await c.request(EndTxnRequest, EndTxnResponse, 1, {
      ...producer,
      committed: false,
    });
    assertEquals(aborted.errorCode, 0);
    const list = await c.request(ListTransactionsRequest, ListTransactionsResponse, 1, {
      stateFilters: ["CompleteAbort", "Bogus"],
      producerIdFilters: [],
      durationFilter: -1,
    });
    assertEquals(list.unknownStateFilters, ["Bogus"]);
    assertEquals(
      list.transactionStates.map((s) => [s.transactionalId, s.producerId, s.transactionState]),
      [["app-1", pid, "CompleteAbort"]],
    );
    // WriteTxnMarkers (broker-to-broker in Kafka) writes a marker the same way.
    const wm = await c.request(WriteTxnMarkersRequest, WriteTxnMarkersResponse, 1, {
      markers: [{
        producerId: 999,
        producerEpoch: 0,
        transactionResult: true,
        coordinatorEpoch: 0,
        topics: [{ name: "tx-topic", partitionIndexes: [0, 9] }],
      }],
    });
    assertEquals(
      wm.markers[0].topics[0].partitions.map((p) => [p.partitionIndex, p.errorCode]),
      [[0, 0], [9, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]],
    );
    const fetched = await c.request(
      FetchRequest,
      FetchResponse,
      11,
      fetchBody([{ topic: "tx-topic", partition: 0, offset: 0 }]),
    );
    const p0 = fetched.responses[0].partitions[0];
    assertEquals(batchSummaries(p0.records!), [
      [0, 0x10, pid],
      [1, 0x30, pid], // COMMIT
      [2, 0x10, pid],
      [3, 0x30, pid], // ABORT
      [4, 0x30, 999],
    ]);
    // A fenced producer (old epoch) after a new InitProducerId.
    assertEquals(await initTransactionalProducer(c, "app-1"), { ...producer, producerEpoch: 1 });
    // EndTxn (INVALID_PRODUCER_EPOCH before v2) and transactional data are refused.
    assertEquals(await fencedAnswers(c, producer, "tx-topic", 2), [
      ErrorCode.PRODUCER_FENCED,
      ErrorCode.INVALID_PRODUCER_EPOCH,
      ErrorCode.INVALID_PRODUCER_EPOCH,
    ]);
    c.close();
    await t.broker.close();
    // Restart: the state is replayed from __transaction_state.
    const b2 = await Broker.start({
      listeners: "PLAINTEXT://127.0.0.1:0",
      logDirs: [dir],
      logLevel: "silent",
      offsetsTopicNumPartitions: 1,
    });
    c = await RawClient.connect(b2.port);
    try {
      const d2 = await c.request(DescribeTransactionsRequest, DescribeTransactionsResponse, 0, {
        transactionalIds: ["app-1"],
      });
      const s = d2.transactionStates[0];
      assertEquals([s.errorCode, s.transactionState, s.producerId, s.producerEpoch], [
        0,
        "Empty",
        pid,
        1,
      ]);
      // The aborted transaction is found again by scanning the log.
      const rc = (await c.request(
        FetchRequest,
        FetchResponse,
        11,
        fetchBody([{ topic: "tx-topic", partition: 0, offset: 0 }], { isolationLevel: 1 }),
      )).responses[0].partitions[0];
      assertEquals([rc.highWatermark, rc.lastStableOffset], [5, 5]);
      assertEquals(rc.abortedTransactions, [{ producerId: pid, firstOffset: 2 }]);
    } finally {
      c.close();
      await b2.close();
    }
  } finally {
    c.close();
    await t.broker.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Fetch read_committed: stops at the LSO, lists aborted transactions", async () => {
  await using t = await startTestBroker();
  const c = await RawClient.connect(t.broker.port);
  try {
    await createTopic(c, "rc", 1);
    const producer = await initTransactionalProducer(c, "rc-1");
    const pid = producer.producerId;
    // A non-transactional record first: offset 0.
    await c.request(ProduceRequest, ProduceResponse, 9, {
      ...produceBody(
        "rc",
        0,
        buildBatch({ records: [{ key: "a", value: "plain" }], baseTimestamp: Date.now() }),
      ),
    });
    await c.request(AddPartitionsToTxnRequest, AddPartitionsToTxnResponse, 3, {
      v3AndBelowTransactionalId: "rc-1",
      v3AndBelowProducerId: pid,
      v3AndBelowProducerEpoch: 0,
      v3AndBelowTopics: [{ name: "rc", partitions: [0] }],
    });
    const txnTimestamp = Date.now() + 1000; // later than the plain record's
    const xy = [{ key: "k", value: "x" }, { key: "k", value: "y" }];
    await produceTransactional(c, producer, "rc", 0, xy, 0, txnTimestamp);
    const fetch = async (isolationLevel: number) =>
      (await c.request(
        FetchRequest,
        FetchResponse,
        11,
        fetchBody([{ topic: "rc", partition: 0, offset: 0 }], { isolationLevel }),
      )).responses[0].partitions[0];
    let rc = await fetch(1);
    assertEquals([rc.highWatermark, rc.lastStableOffset], [3, 1]);
    assertEquals(batchSummaries(rc.records!), [[0, 0, -1]]);
    assertEquals(rc.abortedTransactions, []);
    const ru = await fetch(0);
    assertEquals(batchSummaries(ru.records!), [[0, 0, -1], [1, 0x10, pid]]);
    assertEquals(ru.abortedTransactions, null);
    // the partition's LSO is reported to read_uncommitted fetches too, as Kafka does
    assertEquals([ru.highWatermark, ru.lastStableOffset], [3, 1]);
    const lookup = async (isolationLevel: number, timestamp = -1) =>
      (await c.request(ListOffsetsRequest, ListOffsetsResponse, 5, {
        replicaId: -1,
        isolationLevel,
        topics: [{
          name: "rc",
          partitions: [{
            partitionIndex: 0,
            timestamp,
            currentLeaderEpoch: -1,
            maxNumOffsets: 1,
          }],
        }],
      })).topics[0].partitions[0].offset;
    assertEquals([await lookup(0), await lookup(1)], [3, 1]);
    // a timestamp lookup landing at or after the LSO finds nothing for read_committed
    assertEquals([await lookup(0, txnTimestamp), await lookup(1, txnTimestamp)], [1, -1]);
    const txnStart = async () =>
      (await c.request(DescribeProducersRequest, DescribeProducersResponse, 0, {
        topics: [{ name: "rc", partitionIndexes: [0] }],
      })).topics[0].partitions[0].activeProducers.map((s) => [
        s.producerId,
        s.coordinatorEpoch,
        s.currentTxnStartOffset,
      ]);
    assertEquals(await txnStart(), [[pid, -1, 1]]);
    const end = await c.request(EndTxnRequest, EndTxnResponse, 3, {
      ...producer,
      committed: false,
    });
    assertEquals(end.errorCode, 0);
    rc = await fetch(1);
    assertEquals([rc.highWatermark, rc.lastStableOffset], [4, 4]);
    assertEquals(batchSummaries(rc.records!), [[0, 0, -1], [1, 0x10, pid], [3, 0x30, pid]]);
    assertEquals(rc.abortedTransactions, [{ producerId: pid, firstOffset: 1 }]);
    assertEquals(await lookup(1, txnTimestamp), 1);
    assertEquals(await txnStart(), [[pid, 0, -1]]);
  } finally {
    c.close();
  }
});

Deno.test("Produce: a transactional batch outside a transaction the coordinator knows is refused", async () => {
  await using t = await startTestBroker();
  const c = await RawClient.connect(t.broker.port);
  try {
    await createTopic(c, "v", 2);
    let seq = 0;
    const produce = (producerId: number, partition: number) =>
      produceTransactional(
        c,
        { transactionalId: "v-1", producerId, producerEpoch: 0 },
        "v",
        partition,
        [{ key: "k", value: "x" }],
        seq++,
      );
    const stable = async (partition: number) =>
      (await c.request(
        FetchRequest,
        FetchResponse,
        11,
        fetchBody([{ topic: "v", partition, offset: 0 }], { isolationLevel: 1 }),
      )).responses[0].partitions[0];
    // a producer id of no transactional id: it would open a transaction nobody can end
    assertEquals(await produce(424242, 0), ErrorCode.INVALID_PRODUCER_ID_MAPPING);
    const pid = (await initTransactionalProducer(c, "v-1")).producerId;
    seq = 0;
    // before AddPartitionsToTxn
    assertEquals(await produce(pid, 0), ErrorCode.INVALID_TXN_STATE);
    await c.request(AddPartitionsToTxnRequest, AddPartitionsToTxnResponse, 3, {
      v3AndBelowTransactionalId: "v-1",
      v3AndBelowProducerId: pid,
      v3AndBelowProducerEpoch: 0,
      v3AndBelowTopics: [{ name: "v", partitions: [0] }],
    });
    seq = 0;
    assertEquals(await produce(pid, 0), ErrorCode.NONE);
    assertEquals(await produce(pid, 1), ErrorCode.INVALID_TXN_STATE); // not added
    const open = await stable(0);
    assertEquals([open.highWatermark, open.lastStableOffset], [1, 0]);
    const end = await c.request(EndTxnRequest, EndTxnResponse, 3, {
      transactionalId: "v-1",
      producerId: pid,
      producerEpoch: 0,
      committed: true,
    });
    assertEquals(end.errorCode, 0);
    // after the transaction ended
    assertEquals(await produce(pid, 0), ErrorCode.INVALID_TXN_STATE);
    for (const p of [0, 1]) {
      const r = await stable(p);
      assertEquals(r.lastStableOffset, r.highWatermark, `partition ${p}`);
    }
  } finally {
    c.close();
  }
});
