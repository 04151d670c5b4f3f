// Copyright 2026 the Sluice authors. Apache-2.0 license.
import { deepStrictEqual as assertEquals, ok } from "node:assert/strict";
import { ErrorCode } from "../../protocol/errors.ts";
import { FetchRequest, FetchResponse } from "../../protocol/messages/fetch.ts";
import { ProduceRequest, ProduceResponse } from "../../protocol/messages/produce.ts";
import { buildBatch } from "../../wasm/testing.ts";
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

/** Values of the records in raw batches (uncompressed, one record each, as `produce` writes). */
function values(records: Uint8Array | null): string[] {
  const out: string[] = [];
  if (records === null) return out;
  const view = new DataView(records.buffer, records.byteOffset, records.byteLength);
  let p = 0;
  while (p + 12 <= records.length) {
    const size = 12 + view.getInt32(p + 8);
    // One record with null key: length varint, attributes, ts delta, offset delta, key -1, value.
    let q = p + 61;
    const readVarint = () => {
      let shift = 0;
      let z = 0;
      for (;;) {
        const b = records[q++];
        z |= (b & 0x7f) << shift;
        if ((b & 0x80) === 0) break;
        shift += 7;
      }
      return (z >>> 1) ^ -(z & 1);
    };
    readVarint(); // record length
    q++; // attributes
    readVarint(); // timestamp delta
    readVarint(); // offset delta
    readVarint(); // key length (-1)
    const vlen = readVarint();
    out.push(new TextDecoder().decode(records.subarray(q, q + vlen)));
    p += size;
  }
  return out;
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

Deno.test("Fetch: errors per partition and refused old versions", async () => {
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
    const old = await c.request(
      FetchRequest,
      FetchResponse,
      3,
      fetchBody([{ topic: "errs", partition: 0, offset: 0 }]),
    );
    assertEquals(old.responses[0].partitions[0].errorCode, ErrorCode.UNSUPPORTED_VERSION);
    ok(t.lines.some((l) => l.includes("Fetch v3") && l.includes("UNSUPPORTED_VERSION")));
    // v4 (the oldest served) works and read_committed reports aborted_transactions = [].
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
    await c.send(
      FetchRequest,
      12,
      fetchBody(
        Array.from({ length: 100 }, () => ({ topic: "capped", partition: 0, offset: 0 })),
        { maxBytes: 0x7fffffff },
      ),
    );
    const frame = await within(c.readFrame(), "fetch answer");
    ok(frame !== null, "connection closed");
    ok(frame.length <= FETCH_MAX_BYTES + big.length + 65536, `${frame.length} bytes`);
    ok(frame.length >= FETCH_MAX_BYTES - big.length, `${frame.length} bytes`);
  } finally {
    c.close();
  }
});
