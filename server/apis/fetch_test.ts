// Copyright 2026 the Sluice authors. Apache-2.0 license.
import {
  batchSizeAt,
  type CompressionName,
  decodeMessageSet,
  decodeRecords,
  encodeRecordBatch,
  type LegacyRecord,
  LOG_OVERHEAD,
  RECORD_OVERHEAD_V1,
} from "../../records/mod.ts";
import {
  AddPartitionsToTxnRequest,
  AddPartitionsToTxnResponse,
} from "../../protocol/messages/add_partitions_to_txn.ts";
import { EndTxnRequest, EndTxnResponse } from "../../protocol/messages/end_txn.ts";
import {
  InitProducerIdRequest,
  InitProducerIdResponse,
} from "../../protocol/messages/init_producer_id.ts";
import {
  WriteTxnMarkersRequest,
  WriteTxnMarkersResponse,
} from "../../protocol/messages/write_txn_markers.ts";
import { deepStrictEqual as assertEquals, ok } from "node:assert/strict";
import { ErrorCode } from "../../protocol/errors.ts";
import { FetchRequest, FetchResponse } from "../../protocol/messages/fetch.ts";
import { ProduceRequest, ProduceResponse } from "../../protocol/messages/produce.ts";
import { buildBatch, seededRandom } from "../../wasm/testing.ts";
import { FETCH_MAX_BYTES } from "./fetch.ts";
import {
  createTopic,
  fetchBody,
  NO_TOPIC_ID,
  produceBody,
  RawClient,
  startTestBroker,
} from "../testing.ts";

async function produce(c: RawClient, topic: string, partition: number, value: string) {
  const b = buildBatch({ records: [{ key: null, value }], baseTimestamp: 1 });
  const p = await c.request(ProduceRequest, ProduceResponse, 9, produceBody(topic, partition, b));
  const r = p.responses[0].partitionResponses[0];
  if (r.errorCode !== 0) throw new Error(`produce failed: ${r.errorCode} ${r.errorMessage}`);
  return b.length;
}

/** `p`, or a rejection with `what` if it takes over 30 s (a hang, not a slow machine). */
async function within<T>(p: Promise<T>, what: string): Promise<T> {
  let guard: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    guard = setTimeout(() => reject(new Error(what)), 30_000);
  });
  return await Promise.race([p, late]).finally(() => clearTimeout(guard));
}

/** Values of the records in raw batches. */
function values(records: Uint8Array | null): string[] {
  if (records === null) return [];
  return decodeRecords(records).map((r) => new TextDecoder().decode(r.value!));
}

/** Values of the records in a legacy message set. */
function legacyValues(records: Uint8Array | null): string[] {
  if (records === null) return [];
  return decodeMessageSet(records).map((r) => new TextDecoder().decode(r.value!));
}

Deno.test("Fetch: long poll returns empty after max_wait_ms when no data arrives", async () => {
  await using t = await startTestBroker();
  const c = await RawClient.connect(t.broker.port);
  try {
    await createTopic(c, "quiet");
    const f = await c.request(
      FetchRequest,
      FetchResponse,
      12,
      fetchBody([{ topic: "quiet", partition: 0, offset: 0 }], { maxWaitMs: 100, minBytes: 1 }),
    );
    const part = f.responses[0].partitions[0];
    assertEquals(part.errorCode, 0);
    assertEquals(part.highWatermark, 0);
    assertEquals(part.records!.length, 0);
  } finally {
    c.close();
  }
});

Deno.test("Fetch: a parked fetch wakes when data is produced and returns it", async () => {
  await using t = await startTestBroker();
  const consumer = await RawClient.connect(t.broker.port);
  const producer = await RawClient.connect(t.broker.port);
  try {
    await createTopic(producer, "live", 2);
    const fetching = consumer.request(
      FetchRequest,
      FetchResponse,
      12,
      fetchBody(
        [{ topic: "live", partition: 0, offset: 0 }, { topic: "live", partition: 1, offset: 0 }],
        { maxWaitMs: 60_000, minBytes: 1 },
      ),
    );
    // Give the fetch time to park (not required for correctness: data before parking also works).
    await new Promise((r) => setTimeout(r, 50));
    await produce(producer, "live", 1, "wake-up");
    const f = await within(fetching, "the fetch was not woken by the append");
    const parts = f.responses[0].partitions;
    assertEquals(parts.map((p) => [p.partitionIndex, p.highWatermark]), [[0, 0], [1, 1]]);
    assertEquals(values(parts[1].records), ["wake-up"]);
    assertEquals(parts[0].records!.length, 0);
  } finally {
    consumer.close();
    producer.close();
  }
});

Deno.test("Fetch: parked fetches end when their client leaves or the broker closes", async () => {
  await using t = await startTestBroker();
  const admin = await RawClient.connect(t.broker.port);
  const leaving = await RawClient.connect(t.broker.port);
  const staying = await RawClient.connect(t.broker.port);
  try {
    await createTopic(admin, "parked");
    const park = (c: RawClient, offset: number) =>
      c.request(
        FetchRequest,
        FetchResponse,
        12,
        fetchBody([{ topic: "parked", partition: 0, offset }], { maxWaitMs: 120_000, minBytes: 1 }),
      );
    const gone = park(leaving, 0).then(() => "answered", () => "connection closed");
    const held = park(staying, 0);
    await new Promise((r) => setTimeout(r, 50)); // let both park
    leaving.close();
    assertEquals(await gone, "connection closed");
    // The broker is not stuck on the departed client's wait, and an append wakes the other one.
    await produce(admin, "parked", 0, "after");
    assertEquals(values((await held).responses[0].partitions[0].records), ["after"]);
    const third = park(staying, 1);
    await new Promise((r) => setTimeout(r, 50));
    // Closing the broker answers a 120 s wait at once, with what there is.
    await within(t.broker.close(), "close waited for the parked fetch");
    const last = (await third).responses[0].partitions[0];
    assertEquals([last.errorCode, last.highWatermark, last.records!.length], [0, 1, 0]);
  } finally {
    admin.close();
    staying.close();
  }
});

Deno.test("Fetch: min_bytes is honoured across several appends", async () => {
  await using t = await startTestBroker();
  const consumer = await RawClient.connect(t.broker.port);
  const producer = await RawClient.connect(t.broker.port);
  try {
    await createTopic(producer, "batchy");
    const one = buildBatch({ records: [{ key: null, value: "a" }], baseTimestamp: 1 }).length;
    const fetching = consumer.request(
      FetchRequest,
      FetchResponse,
      12,
      fetchBody([{ topic: "batchy", partition: 0, offset: 0 }], {
        maxWaitMs: 60_000,
        minBytes: one * 3,
      }),
    );
    // Let the fetch park first so that each append wakes it and it must wait for more.
    await new Promise((r) => setTimeout(r, 50));
    for (const v of ["a", "b", "c"]) await produce(producer, "batchy", 0, v);
    const f = await fetching;
    assertEquals(values(f.responses[0].partitions[0].records), ["a", "b", "c"]);
  } finally {
    consumer.close();
    producer.close();
  }
});

Deno.test("Fetch: partition_max_bytes and max_bytes limit the response (first batch always)", async () => {
  await using t = await startTestBroker();
  const c = await RawClient.connect(t.broker.port);
  try {
    await createTopic(c, "limits", 2);
    let size = 0;
    for (const v of ["p0-a", "p0-b", "p0-c"]) size = await produce(c, "limits", 0, v);
    for (const v of ["p1-a", "p1-b"]) await produce(c, "limits", 1, v);
    // partition_max_bytes of one batch: exactly one batch per partition.
    let f = await c.request(
      FetchRequest,
      FetchResponse,
      12,
      fetchBody([
        { topic: "limits", partition: 0, offset: 0, maxBytes: size },
        { topic: "limits", partition: 1, offset: 0, maxBytes: size },
      ]),
    );
    assertEquals(values(f.responses[0].partitions[0].records), ["p0-a"]);
    assertEquals(values(f.responses[0].partitions[1].records), ["p1-a"]);
    // partition_max_bytes of 1: the first partition still gets its first batch, not the second.
    f = await c.request(
      FetchRequest,
      FetchResponse,
      12,
      fetchBody([
        { topic: "limits", partition: 0, offset: 1, maxBytes: 1 },
        { topic: "limits", partition: 1, offset: 0, maxBytes: 1 },
      ]),
    );
    assertEquals(values(f.responses[0].partitions[0].records), ["p0-b"]);
    assertEquals(values(f.responses[0].partitions[1].records), []);
    assertEquals(f.responses[0].partitions[1].highWatermark, 2);
    // max_bytes of two batches: three from p0 would not fit; p1 gets nothing.
    f = await c.request(
      FetchRequest,
      FetchResponse,
      12,
      fetchBody([
        { topic: "limits", partition: 0, offset: 0 },
        { topic: "limits", partition: 1, offset: 0 },
      ], { maxBytes: 2 * size }),
    );
    assertEquals(values(f.responses[0].partitions[0].records), ["p0-a", "p0-b"]);
    assertEquals(values(f.responses[0].partitions[1].records), []);
  } finally {
    c.close();
  }
});

Deno.test("Fetch: errors per partition; v3 and v4 are served", async () => {
  await using t = await startTestBroker();
  const c = await RawClient.connect(t.broker.port);
  try {
    await createTopic(c, "errs");
    await produce(c, "errs", 0, "x");
    const f = await c.request(
      FetchRequest,
      FetchResponse,
      12,
      fetchBody([
        { topic: "errs", partition: 0, offset: 5 },
        { topic: "errs", partition: 3, offset: 0 },
        { topic: "ghost", partition: 0, offset: 0 },
      ], { maxWaitMs: 60_000 }),
    );
    assertEquals(
      f.responses.map((
        r,
      ) => [r.topic, r.partitions.map((p) => [p.partitionIndex, p.errorCode, p.highWatermark])]),
      [
        ["errs", [[0, ErrorCode.OFFSET_OUT_OF_RANGE, 1], [
          3,
          ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
          -1,
        ]]],
        ["ghost", [[0, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, -1]]],
      ],
    );
    // v3 is served too, as a down-converted message set.
    const old = await c.request(
      FetchRequest,
      FetchResponse,
      3,
      fetchBody([{ topic: "errs", partition: 0, offset: 0 }]),
    );
    assertEquals(old.responses[0].partitions[0].errorCode, 0);
    assertEquals(legacyValues(old.responses[0].partitions[0].records), ["x"]);
    // v4 works and read_committed reports aborted_transactions = [].
    const v4 = await c.request(
      FetchRequest,
      FetchResponse,
      4,
      fetchBody([{ topic: "errs", partition: 0, offset: 0 }], { isolationLevel: 1 }),
    );
    assertEquals(values(v4.responses[0].partitions[0].records), ["x"]);
    assertEquals(v4.responses[0].partitions[0].lastStableOffset, 1);
    assertEquals(v4.responses[0].partitions[0].abortedTransactions, []);
  } finally {
    c.close();
  }
});

Deno.test("Fetch v13+: topics by id; unknown ids get UNKNOWN_TOPIC_ID", async () => {
  await using t = await startTestBroker();
  const c = await RawClient.connect(t.broker.port);
  try {
    const id = await createTopic(c, "byid");
    await produce(c, "byid", 0, "by-id");
    const unknown = "AAAAAAAAAAAAAAAAAAAAAQ";
    const f = await c.request(
      FetchRequest,
      FetchResponse,
      16,
      fetchBody([
        { topic: "", topicId: id, partition: 0, offset: 0 },
        { topic: "", topicId: unknown, partition: 0, offset: 0 },
      ]),
    );
    assertEquals(f.responses.map((r) => r.topicId), [id, unknown]);
    assertEquals(values(f.responses[0].partitions[0].records), ["by-id"]);
    assertEquals(f.responses[1].partitions[0].errorCode, ErrorCode.UNKNOWN_TOPIC_ID);
  } finally {
    c.close();
  }
});

Deno.test("Fetch sessions: create, incremental updates, forgotten topics, epoch errors, close", async () => {
  await using t = await startTestBroker();
  const c = await RawClient.connect(t.broker.port);
  const p = await RawClient.connect(t.broker.port);
  try {
    await createTopic(p, "sess", 3);
    await produce(p, "sess", 0, "zero");
    const all = [0, 1, 2].map((i) => ({ topic: "sess", partition: i, offset: 0 }));
    // Epoch 0: full fetch that opens a session.
    const full = await c.request(
      FetchRequest,
      FetchResponse,
      12,
      fetchBody(all, { sessionId: 0, sessionEpoch: 0 }),
    );
    const sessionId = full.sessionId;
    ok(sessionId > 0);
    assertEquals(full.responses[0].partitions.map((x) => x.partitionIndex), [0, 1, 2]);
    assertEquals(values(full.responses[0].partitions[0].records), ["zero"]);

    // Epoch 1: partition 0 moves to offset 1; nothing new anywhere: empty response.
    const inc1 = await c.request(
      FetchRequest,
      FetchResponse,
      12,
      fetchBody([{ topic: "sess", partition: 0, offset: 1 }], { sessionId, sessionEpoch: 1 }),
    );
    assertEquals([inc1.errorCode, inc1.sessionId, inc1.responses], [0, sessionId, []]);

    // New data on partition 2 only: epoch 2 returns just partition 2.
    await produce(p, "sess", 2, "two");
    const inc2 = await c.request(
      FetchRequest,
      FetchResponse,
      12,
      fetchBody([], { sessionId, sessionEpoch: 2 }),
    );
    assertEquals(inc2.responses.length, 1);
    assertEquals(inc2.responses[0].partitions.map((x) => x.partitionIndex), [2]);
    assertEquals(values(inc2.responses[0].partitions[0].records), ["two"]);
    assertEquals(inc2.responses[0].partitions[0].highWatermark, 1);

    // Forget partition 1 and 2; produce to both; only... nothing is returned for them.
    const forget = await c.request(
      FetchRequest,
      FetchResponse,
      12,
      fetchBody([], {
        sessionId,
        sessionEpoch: 3,
        forgottenTopicsData: [{ topic: "sess", topicId: NO_TOPIC_ID, partitions: [1, 2] }],
      }),
    );
    assertEquals(forget.responses, []);
    await produce(p, "sess", 1, "ignored");
    await produce(p, "sess", 0, "zero-2");
    const inc4 = await c.request(
      FetchRequest,
      FetchResponse,
      12,
      fetchBody([], { sessionId, sessionEpoch: 4 }),
    );
    assertEquals(inc4.responses[0].partitions.map((x) => x.partitionIndex), [0]);
    assertEquals(values(inc4.responses[0].partitions[0].records), ["zero-2"]);

    // Stale epoch and unknown session are top-level errors.
    const stale = await c.request(
      FetchRequest,
      FetchResponse,
      12,
      fetchBody([], { sessionId, sessionEpoch: 4 }),
    );
    assertEquals([stale.errorCode, stale.responses], [ErrorCode.INVALID_FETCH_SESSION_EPOCH, []]);
    const unknown = await c.request(
      FetchRequest,
      FetchResponse,
      12,
      fetchBody([], { sessionId: sessionId ^ 1, sessionEpoch: 1 }),
    );
    assertEquals(unknown.errorCode, ErrorCode.FETCH_SESSION_ID_NOT_FOUND);

    // Epoch -1 closes the session: a sessionless full fetch, then the id is gone.
    const close = await c.request(
      FetchRequest,
      FetchResponse,
      12,
      fetchBody([{ topic: "sess", partition: 1, offset: 0 }], { sessionId, sessionEpoch: -1 }),
    );
    assertEquals(close.sessionId, 0);
    assertEquals(values(close.responses[0].partitions[0].records), ["ignored"]);
    const gone = await c.request(
      FetchRequest,
      FetchResponse,
      12,
      fetchBody([], { sessionId, sessionEpoch: 5 }),
    );
    assertEquals(gone.errorCode, ErrorCode.FETCH_SESSION_ID_NOT_FOUND);
  } finally {
    c.close();
    p.close();
  }
});

Deno.test("Fetch: max_bytes is capped at Kafka's fetch.max.bytes (55 MiB), whatever the client asks", async () => {
  await using t = await startTestBroker();
  const c = await RawClient.connect(t.broker.port);
  try {
    await createTopic(c, "capped", 1);
    const big = buildBatch({ records: [{ key: null, value: new Uint8Array(900_000) }] });
    const p = await c.request(ProduceRequest, ProduceResponse, 9, produceBody("capped", 0, big));
    assertEquals(p.responses[0].partitionResponses[0].errorCode, 0);
    // The same 900 kB partition asked for 100 times with max_bytes 2^31-1: uncapped, the answer
    // grows with the copies (4,000 copies made a frame over 2 GiB, its size prefix negative).
    // v0-v2 have no max_bytes (it is 2^31-1) and v0-v3 answers are down-converted: capped too.
    for (const version of [12, 3, 2, 0]) {
      await c.send(
        FetchRequest,
        version,
        fetchBody(
          Array.from({ length: 100 }, () => ({ topic: "capped", partition: 0, offset: 0 })),
          { maxBytes: 0x7fffffff },
        ),
      );
      const frame = await within(c.readFrame(), `v${version} fetch answer`);
      ok(frame !== null, `v${version}: connection closed`);
      ok(frame.length <= FETCH_MAX_BYTES + big.length + 65536, `v${version}: ${frame.length} B`);
      ok(frame.length >= FETCH_MAX_BYTES - big.length, `v${version}: ${frame.length} B`);
    }
  } finally {
    c.close();
  }
});

const te = new TextEncoder();
const td = new TextDecoder();
const text = (b: Uint8Array | null) => b === null ? null : td.decode(b);

/** Produce one batch (Produce v9) to partition `partition`; returns its base offset. */
async function produceBatch(c: RawClient, topic: string, batch: Uint8Array, partition = 0) {
  const p = await c.request(
    ProduceRequest,
    ProduceResponse,
    9,
    produceBody(topic, partition, batch),
  );
  const r = p.responses[0].partitionResponses[0];
  if (r.errorCode !== 0) throw new Error(`produce failed: ${r.errorCode} ${r.errorMessage}`);
  return r.baseOffset;
}

/** One partition of a Fetch at `version`. */
async function fetchAt(
  c: RawClient,
  version: number,
  targets: Parameters<typeof fetchBody>[0],
  options: Parameters<typeof fetchBody>[1] = {},
) {
  const f = await c.request(FetchRequest, FetchResponse, version, fetchBody(targets, options));
  return f.responses.flatMap((t) => t.partitions);
}

const summary = (
  r: LegacyRecord,
) => [r.offset, r.magic, r.timestamp, r.compression, text(r.key), text(r.value)];

Deno.test("Fetch v0-v3: message sets down-converted from the log (magic, headers, markers, fetch offset)", async () => {
  await using t = await startTestBroker();
  const c = await RawClient.connect(t.broker.port);
  try {
    await createTopic(c, "conv");
    // Current timestamps: the segment is not rolled by time (reads stop at segment ends).
    const t0 = Date.now();
    const rec = (k: string | null, v: string, timestamp: number) => ({
      key: k === null ? null : te.encode(k),
      value: te.encode(v),
      timestamp,
      headers: [{ key: "h", value: te.encode("dropped") }],
    });
    await produceBatch(
      c,
      "conv",
      encodeRecordBatch([rec("a", "1", t0), rec(null, "2", t0 + 1), rec("c", "3", t0 + 2)]),
    );
    await produceBatch(
      c,
      "conv",
      encodeRecordBatch([rec("d", "4", t0 + 10), rec("e", "5", t0 + 11)], { compression: "gzip" }),
    );
    // A transaction, aborted: its records and then the coordinator's ABORT marker (offset 7).
    const init = await c.request(InitProducerIdRequest, InitProducerIdResponse, 4, {
      transactionalId: "conv-txn",
      transactionTimeoutMs: 60_000,
      producerId: -1,
      producerEpoch: -1,
    });
    assertEquals(init.errorCode, 0);
    const txn = { producerId: init.producerId, producerEpoch: init.producerEpoch };
    const added = await c.request(AddPartitionsToTxnRequest, AddPartitionsToTxnResponse, 3, {
      v3AndBelowTransactionalId: "conv-txn",
      v3AndBelowProducerId: txn.producerId,
      v3AndBelowProducerEpoch: txn.producerEpoch,
      v3AndBelowTopics: [{ name: "conv", partitions: [0] }],
    });
    assertEquals(added.resultsByTopicV3AndBelow[0].resultsByPartition[0].partitionErrorCode, 0);
    await produceBatch(
      c,
      "conv",
      encodeRecordBatch([rec("f", "6", t0 + 20), rec("g", "7", t0 + 21)], {
        transactional: true,
        ...txn,
        baseSequence: 0,
      }),
    );
    const end = await c.request(EndTxnRequest, EndTxnResponse, 3, {
      transactionalId: "conv-txn",
      ...txn,
      committed: false,
    });
    assertEquals(end.errorCode, 0);
    await produceBatch(
      c,
      "conv",
      encodeRecordBatch([rec("i", "8", t0 + 30)], { compression: "snappy" }),
    );

    const expected = (magic: 0 | 1) =>
      [
        [0, "a", "1", t0, "none"],
        [1, null, "2", t0 + 1, "none"],
        [2, "c", "3", t0 + 2, "none"],
        [3, "d", "4", t0 + 10, "gzip"],
        [4, "e", "5", t0 + 11, "gzip"],
        [5, "f", "6", t0 + 20, "none"],
        [6, "g", "7", t0 + 21, "none"],
        [8, "i", "8", t0 + 30, "snappy"],
      ].map(([o, k, v, ts, codec]) => [o, magic, magic === 0 ? -1 : ts, codec, k, v]);
    for (const version of [0, 1, 2, 3]) {
      const [p] = await fetchAt(c, version, [{ topic: "conv", partition: 0, offset: 0 }]);
      assertEquals([p.errorCode, p.highWatermark], [0, 9], `v${version}`);
      const magic = version <= 1 ? 0 : 1;
      assertEquals(decodeMessageSet(p.records!).map(summary), expected(magic), `v${version}`);
    }
    // From the middle of an uncompressed batch: the records before the fetch offset are left out;
    // a compressed batch is sent whole (its wrapper cannot be split), as Kafka does.
    let [p] = await fetchAt(c, 2, [{ topic: "conv", partition: 0, offset: 1 }]);
    assertEquals(decodeMessageSet(p.records!).map((r) => r.offset), [1, 2, 3, 4, 5, 6, 8]);
    [p] = await fetchAt(c, 2, [{ topic: "conv", partition: 0, offset: 4 }]);
    assertEquals(decodeMessageSet(p.records!).map((r) => r.offset), [3, 4, 5, 6, 8]);
    // At the marker: the next data.
    [p] = await fetchAt(c, 1, [{ topic: "conv", partition: 0, offset: 7 }]);
    assertEquals(decodeMessageSet(p.records!).map((r) => r.offset), [8]);
  } finally {
    c.close();
  }
});

Deno.test("Fetch v0-v3: size limits (hard in v0-v2, one whole batch in v3, cut at whole messages)", async () => {
  await using t = await startTestBroker();
  const c = await RawClient.connect(t.broker.port);
  try {
    await createTopic(c, "lim", 2);
    const big = (v: string) =>
      encodeRecordBatch([{ key: te.encode("k"), value: te.encode(v.repeat(100)) }]);
    for (const v of ["a", "b", "c"]) await produceBatch(c, "lim", big(v));
    await produceBatch(c, "lim", big("z"), 1);
    const batchSize = big("a").length;
    // v0-v2: a first batch over partition_max_bytes gets Kafka's 12-byte overflow message.
    for (const version of [0, 1, 2]) {
      const [p0, p1] = await fetchAt(c, version, [
        { topic: "lim", partition: 0, offset: 0, maxBytes: 50 },
        { topic: "lim", partition: 1, offset: 0, maxBytes: 50 },
      ]);
      for (const p of [p0, p1]) {
        assertEquals(p.errorCode, 0);
        assertEquals(p.records!.length, LOG_OVERHEAD, `v${version}`);
        ok(batchSizeAt(p.records!, 0) > LOG_OVERHEAD);
        assertEquals(decodeMessageSet(p.records!), []);
      }
    }
    // v3: the first partition gets its first batch whole, the next one nothing.
    let [p0, p1] = await fetchAt(c, 3, [
      { topic: "lim", partition: 0, offset: 0, maxBytes: 50 },
      { topic: "lim", partition: 1, offset: 0, maxBytes: 50 },
    ]);
    assertEquals(legacyValues(p0.records), ["a".repeat(100)]);
    assertEquals(p1.records!.length, 0);
    // One batch's worth: its message (smaller than the batch) and no more.
    [p0] = await fetchAt(c, 2, [{ topic: "lim", partition: 0, offset: 0, maxBytes: batchSize }]);
    assertEquals(legacyValues(p0.records), ["a".repeat(100)]);
    // v3 max_bytes over two partitions.
    [p0, p1] = await fetchAt(c, 3, [
      { topic: "lim", partition: 0, offset: 1 },
      { topic: "lim", partition: 1, offset: 0 },
    ], { maxBytes: 2 * batchSize });
    assertEquals(legacyValues(p0.records), ["b".repeat(100), "c".repeat(100)]);
    assertEquals(p1.records!.length, 0);

    // Small records grow when converted (34 bytes of v1 framing against ~8 in a v2 batch): the
    // first batch is always whole, then messages while they fit within the bytes read.
    await createTopic(c, "small");
    const many = (from: number) =>
      encodeRecordBatch(
        Array.from({ length: 50 }, (_, i) => ({ value: te.encode(`v${from + i}`.padEnd(6)) })),
      );
    await produceBatch(c, "small", many(0));
    await produceBatch(c, "small", many(50));
    const s1 = many(0).length;
    const message = LOG_OVERHEAD + RECORD_OVERHEAD_V1 + 6;
    ok(50 * message > 2 * s1, "the test needs conversion to grow the data");
    let [p] = await fetchAt(c, 2, [{ topic: "small", partition: 0, offset: 0, maxBytes: s1 }]);
    assertEquals(p.records!.length, 50 * message);
    [p] = await fetchAt(c, 2, [{ topic: "small", partition: 0, offset: 0, maxBytes: 2 * s1 }]);
    assertEquals(p.records!.length, 50 * message);
    [p] = await fetchAt(c, 2, [{ topic: "small", partition: 0, offset: 30, maxBytes: 2 * s1 }]);
    // 20 records of the first batch converted; the second adds whole messages up to 2 * s1.
    const fit = Math.floor((2 * s1 - 20 * message) / message);
    assertEquals(p.records!.length, (20 + fit) * message);
    assertEquals(decodeMessageSet(p.records!).map((r) => r.offset), [
      ...Array.from({ length: 20 + fit }, (_, i) => 30 + i),
    ]);
  } finally {
    c.close();
  }
});

Deno.test("Fetch v0-v3: zstd, compression.type=zstd, message.downconversion.enable=false, a bomb", async () => {
  await using t = await startTestBroker({ socketRequestMaxBytes: 4 << 20 });
  const c = await RawClient.connect(t.broker.port);
  try {
    await createTopic(c, "mixed");
    await createTopic(c, "zstd-topic", 1, { "compression.type": "zstd" });
    await createTopic(c, "no-down", 1, { "message.downconversion.enable": "false" });
    const one = (v: string, compression: CompressionName) =>
      encodeRecordBatch([{ value: te.encode(v) }], { compression });
    await produceBatch(c, "mixed", one("g", "gzip"));
    await produceBatch(c, "mixed", one("z", "zstd"));
    await produceBatch(c, "zstd-topic", one("g", "gzip"));
    await produceBatch(c, "no-down", one("n", "none"));
    // A zstd batch after converted data ends the set; fetched first, it is refused.
    let [p] = await fetchAt(c, 2, [{ topic: "mixed", partition: 0, offset: 0 }]);
    assertEquals([p.errorCode, legacyValues(p.records)], [0, ["g"]]);
    [p] = await fetchAt(c, 2, [{ topic: "mixed", partition: 0, offset: 1 }]);
    assertEquals([p.errorCode, p.records!.length], [ErrorCode.UNSUPPORTED_COMPRESSION_TYPE, 0]);
    // A stored gzip batch that inflates past socket.request.max.bytes is not converted.
    await createTopic(c, "bomb");
    await produceBatch(c, "bomb", one("g", "gzip"));
    await produceBatch(
      c,
      "bomb",
      encodeRecordBatch([{ value: new Uint8Array(8 << 20) }], { compression: "gzip" }),
    );
    [p] = await fetchAt(c, 2, [{ topic: "bomb", partition: 0, offset: 0 }]);
    assertEquals([p.errorCode, legacyValues(p.records)], [0, ["g"]]);
    [p] = await fetchAt(c, 2, [{ topic: "bomb", partition: 0, offset: 1 }]);
    assertEquals([p.errorCode, p.records!.length], [ErrorCode.CORRUPT_MESSAGE, 0]);
    const topics = [
      ["zstd-topic", ErrorCode.UNSUPPORTED_COMPRESSION_TYPE],
      ["no-down", ErrorCode.UNSUPPORTED_VERSION],
    ] as const;
    for (const [topic, code] of topics) {
      for (const version of [0, 3]) {
        [p] = await fetchAt(c, version, [{ topic, partition: 0, offset: 0 }], {
          maxWaitMs: 60_000,
        });
        assertEquals([p.errorCode, p.records!.length], [code, 0], `${topic} v${version}`);
      }
      // Modern fetchers are not converted and read the topic (a zstd topic from v10, KIP-110).
      [p] = await fetchAt(c, 4, [{ topic, partition: 0, offset: 0 }]);
      const v4 = topic === "zstd-topic" ? ErrorCode.UNSUPPORTED_COMPRESSION_TYPE : 0;
      assertEquals(p.errorCode, v4, topic);
      [p] = await fetchAt(c, 10, [{ topic, partition: 0, offset: 0 }]);
      assertEquals([p.errorCode, values(p.records!).length], [0, 1], topic);
    }
  } finally {
    c.close();
  }
});

Deno.test("Fetch v0-v3: long poll wakes on an append; a trailing marker alone is not data", async () => {
  await using t = await startTestBroker();
  const consumer = await RawClient.connect(t.broker.port);
  const producer = await RawClient.connect(t.broker.port);
  try {
    await createTopic(producer, "poll");
    const fetching = fetchAt(consumer, 2, [{ topic: "poll", partition: 0, offset: 0 }], {
      maxWaitMs: 60_000,
      minBytes: 1,
    });
    await new Promise((r) => setTimeout(r, 50));
    await produceBatch(producer, "poll", encodeRecordBatch([{ value: te.encode("wake") }]));
    const [p] = await within(fetching, "the v2 fetch was not woken by the append");
    assertEquals(legacyValues(p.records), ["wake"]);
    // An ABORT marker at the end: a fetch from it waits for max_wait_ms and returns nothing.
    await producer.request(WriteTxnMarkersRequest, WriteTxnMarkersResponse, 1, {
      markers: [{
        producerId: 5,
        producerEpoch: 0,
        transactionResult: false,
        coordinatorEpoch: 0,
        topics: [{ name: "poll", partitionIndexes: [0] }],
      }],
    });
    const started = Date.now();
    const [m] = await fetchAt(consumer, 2, [{ topic: "poll", partition: 0, offset: 1 }], {
      maxWaitMs: 300,
      minBytes: 1,
    });
    assertEquals([m.errorCode, m.highWatermark, m.records!.length], [0, 2, 0]);
    ok(Date.now() - started >= 250, "the fetch waited");
  } finally {
    consumer.close();
    producer.close();
  }
});

Deno.test("Fetch v0-v3: an old consumer's loop reads 16 MiB of mixed batches exactly once", async () => {
  await using t = await startTestBroker();
  const c = await RawClient.connect(t.broker.port);
  try {
    await createTopic(c, "bulk");
    const rnd = seededRandom(42);
    const codecs: CompressionName[] = ["none", "gzip", "snappy", "lz4"];
    const sent: string[] = [];
    let bytes = 0;
    const t0 = Date.now();
    while (bytes < 16 << 20) {
      const n = 1 + Math.floor(rnd() * 200);
      const records = Array.from({ length: n }, () => {
        // random letters: compressed batches stay about as large as their records
        let v = `${sent.length}:`;
        for (let k = 8 + Math.floor(rnd() * 400); k > 0; k--) {
          v += String.fromCharCode(97 + rnd() * 26);
        }
        sent.push(v);
        return { value: te.encode(v), timestamp: t0 + sent.length };
      });
      const batch = encodeRecordBatch(records, { compression: codecs[Math.floor(rnd() * 4)] });
      bytes += batch.length;
      await produceBatch(c, "bulk", batch);
    }
    // As Sarama and kafka-go do: fetch from the next offset, skip records below it (a compressed
    // wrapper is sent whole), and when only a partial message came back, ask for twice as much.
    for (const version of [0, 3]) {
      const got: string[] = [];
      let offset = 0;
      let maxBytes = 64 * 1024; // grows when a batch does not fit (v0)
      let fetches = 0;
      while (offset < sent.length) {
        ok(++fetches < 5000, "the consumer makes progress");
        const [p] = await fetchAt(c, version, [{ topic: "bulk", partition: 0, offset, maxBytes }]);
        assertEquals(p.errorCode, 0);
        const records = decodeMessageSet(p.records!).filter((r) => r.offset >= offset);
        if (records.length === 0) {
          ok(p.records!.length > 0, `nothing at offset ${offset} below the high watermark`);
          maxBytes *= 2;
          continue;
        }
        for (const r of records) {
          assertEquals(r.offset, offset, `v${version}`);
          got.push(td.decode(r.value!));
          offset++;
        }
      }
      assertEquals(got.length, sent.length, `v${version}`);
      ok(got.every((v, i) => v === sent[i]), `v${version}: every value in order`);
    }
  } finally {
    c.close();
  }
});
