// Copyright 2026 the Sluice authors. Apache-2.0 license.
import { crc32 } from "node:zlib";
import {
  type CompressionName,
  decodeRecordBatches,
  encodeMessageSet,
  LEGACY_ATTRIBUTES_OFFSET,
  LEGACY_CRC_OFFSET,
  LEGACY_MAGIC_OFFSET,
  type LegacyRecordInput,
  LOG_OVERHEAD,
  setPartitionLeaderEpochAt,
  writeInt32,
} from "../../records/mod.ts";
import { Admin, Client } from "../../client/mod.ts";
import { deepStrictEqual as assertEquals, ok } from "node:assert/strict";
import { ErrorCode } from "../../protocol/errors.ts";
import { concat } from "../../protocol/framing.ts";
import { FetchRequest, FetchResponse } from "../../protocol/messages/fetch.ts";
import { ProduceRequest, ProduceResponse } from "../../protocol/messages/produce.ts";
import {
  DeleteTopicsRequest,
  DeleteTopicsResponse,
} from "../../protocol/messages/delete_topics.ts";
import { MetadataRequest, MetadataResponse } from "../../protocol/messages/metadata.ts";
import { buildBatch } from "../../wasm/testing.ts";
import { Broker } from "../broker.ts";
import { createTopic, fetchBody, produceBody, RawClient, startTestBroker } from "../testing.ts";

Deno.test("Produce/Fetch: round trip with exact offsets, bytes and log start offset", async () => {
  await using t = await startTestBroker();
  const c = await RawClient.connect(t.broker.port);
  try {
    await createTopic(c, "orders", 2);
    const b1 = buildBatch({
      records: [{ key: "k1", value: "v1" }, { key: "k2", value: "v2" }],
      baseTimestamp: 1000,
    });
    const b2 = buildBatch({ records: [{ key: null, value: "third" }], baseTimestamp: 2000 });
    for (const version of [3, 7, 9, 11]) {
      const p = await c.request(
        ProduceRequest,
        ProduceResponse,
        version,
        produceBody("orders", 1, b1),
      );
      assertEquals(p.responses.length, 1, `v${version}`);
      assertEquals(p.responses[0].name, "orders");
      const r = p.responses[0].partitionResponses[0];
      assertEquals(r.index, 1);
      assertEquals(r.errorCode, 0, `v${version}: ${r.errorMessage}`);
      assertEquals(r.logAppendTimeMs, -1);
    }
    const last = await c.request(ProduceRequest, ProduceResponse, 11, produceBody("orders", 1, b2));
    const lr = last.responses[0].partitionResponses[0];
    assertEquals(lr.baseOffset, 8); // four batches of two records before it
    assertEquals(lr.logStartOffset, 0);

    const f = await c.request(
      FetchRequest,
      FetchResponse,
      12,
      fetchBody([{ topic: "orders", partition: 1, offset: 6 }]),
    );
    const part = f.responses[0].partitions[0];
    assertEquals(part.errorCode, 0);
    assertEquals(part.highWatermark, 9);
    assertEquals(part.lastStableOffset, 9);
    assertEquals(part.logStartOffset, 0);
    // Batches at offsets 6 and 8, byte for byte as produced apart from the base offset and the
    // partition leader epoch (0) the leader stamps, as Kafka does; neither is under the CRC.
    const want1 = b1.slice();
    new DataView(want1.buffer).setBigInt64(0, 6n);
    setPartitionLeaderEpochAt(want1, 0, 0);
    const want2 = b2.slice();
    new DataView(want2.buffer).setBigInt64(0, 8n);
    setPartitionLeaderEpochAt(want2, 0, 0);
    assertEquals(part.records, concat([want1, want2]));
    // The other partition is untouched.
    const f0 = await c.request(
      FetchRequest,
      FetchResponse,
      12,
      fetchBody([{ topic: "orders", partition: 0, offset: 0 }]),
    );
    assertEquals(f0.responses[0].partitions[0].highWatermark, 0);
    assertEquals(f0.responses[0].partitions[0].records!.length, 0);
  } finally {
    c.close();
  }
});

Deno.test("Produce: compressed batches are stored exactly as received", async () => {
  await using t = await startTestBroker();
  const c = await RawClient.connect(t.broker.port);
  try {
    await createTopic(c, "zipped");
    // Codec bits 1-4 (gzip, snappy, lz4, zstd): the broker checks the CRC only, never inflates.
    const batches = [1, 2, 3, 4].map((codec) =>
      buildBatch({ records: [{ key: "k", value: `payload-${codec}` }], attributes: codec })
    );
    for (const b of batches) {
      const p = await c.request(ProduceRequest, ProduceResponse, 9, produceBody("zipped", 0, b));
      assertEquals(p.responses[0].partitionResponses[0].errorCode, 0);
    }
    const f = await c.request(
      FetchRequest,
      FetchResponse,
      12,
      fetchBody([{ topic: "zipped", partition: 0, offset: 0 }]),
    );
    const want = batches.map((b, i) => {
      const w = b.slice();
      new DataView(w.buffer).setBigInt64(0, BigInt(i));
      setPartitionLeaderEpochAt(w, 0, 0);
      return w;
    });
    assertEquals(f.responses[0].partitions[0].records, concat(want));
  } finally {
    c.close();
  }
});

Deno.test("Produce: per-partition errors", async () => {
  await using t = await startTestBroker();
  const c = await RawClient.connect(t.broker.port);
  try {
    await createTopic(c, "small", 1, { "max.message.bytes": "200" });
    await createTopic(c, "strict", 1, { "min.insync.replicas": "2" });
    const ok1 = buildBatch({ records: [{ key: "k", value: "v" }] });
    const badCrc = ok1.slice();
    badCrc[badCrc.length - 1] ^= 0xff;
    const big = buildBatch({ records: [{ key: "k", value: "x".repeat(500) }] });
    const cases: [string, number, Uint8Array | null, number, number][] = [
      ["unknown topic", 9, ok1, 1, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
      ["bad CRC", 9, badCrc, 1, ErrorCode.CORRUPT_MESSAGE],
      ["two batches", 9, concat([ok1, ok1]), 1, ErrorCode.INVALID_RECORD],
      ["null records", 9, null, 1, ErrorCode.INVALID_RECORD],
      ["too large", 9, big, 1, ErrorCode.MESSAGE_TOO_LARGE],
      ["acks=2", 9, ok1, 2, ErrorCode.INVALID_REQUIRED_ACKS],
      ["acks=-1 with min.insync.replicas=2", 9, ok1, -1, ErrorCode.NOT_ENOUGH_REPLICAS],
      [
        "Produce v2, a cut-off message set",
        2,
        encodeMessageSet(legacy(["k", "v", 1]), { magic: 1 }).subarray(0, 20),
        1,
        ErrorCode.CORRUPT_MESSAGE,
      ],
    ];
    for (const [name, version, records, acks, code] of cases) {
      const topic = name === "unknown topic"
        ? "nope"
        : name === "too large"
        ? "small"
        : name.startsWith("acks=-1")
        ? "strict"
        : "small";
      const p = await c.request(
        ProduceRequest,
        ProduceResponse,
        version,
        produceBody(topic, 0, records, acks),
      );
      const r = p.responses[0].partitionResponses[0];
      assertEquals(r.errorCode, code, name);
      assertEquals(r.baseOffset, -1, name);
    }
    // v8+ carries the error message.
    const p = await c.request(ProduceRequest, ProduceResponse, 9, produceBody("small", 0, badCrc));
    ok(p.responses[0].partitionResponses[0].errorMessage!.length > 0);
    // Nothing was appended by any failure.
    const f = await c.request(
      FetchRequest,
      FetchResponse,
      12,
      fetchBody([{ topic: "small", partition: 0, offset: 0 }]),
    );
    assertEquals(f.responses[0].partitions[0].highWatermark, 0);
    ok(
      t.lines.some((l) => l.includes("Produce v2 to small-0 refused") && l.includes("cut off")),
      t.lines.join("\n"),
    );
  } finally {
    c.close();
  }
});

Deno.test("Produce: acks=0 with an error closes the connection", async () => {
  await using t = await startTestBroker();
  const c = await RawClient.connect(t.broker.port);
  try {
    const b = buildBatch({ records: [{ key: "k", value: "v" }] });
    await c.send(ProduceRequest, 9, produceBody("missing", 0, b, 0));
    await c.expectClosed();
    ok(t.lines.some((l) => l.includes("acks=0 Produce to missing-0 failed")));
  } finally {
    c.close();
  }
});

Deno.test("Produce: idempotent producer batches (producer id, epoch, sequence) are accepted", async () => {
  await using t = await startTestBroker();
  const c = await RawClient.connect(t.broker.port);
  try {
    await createTopic(c, "idem");
    for (let seq = 0; seq < 3; seq++) {
      const b = buildBatch({
        records: [{ key: "k", value: `v${seq}` }],
        producerId: 42,
        producerEpoch: 0,
        baseSequence: seq,
      });
      const p = await c.request(ProduceRequest, ProduceResponse, 9, produceBody("idem", 0, b, -1));
      const r = p.responses[0].partitionResponses[0];
      assertEquals([r.errorCode, r.baseOffset], [0, seq]);
    }
  } finally {
    c.close();
  }
});

Deno.test("Produce/DeleteTopics/Metadata: __consumer_offsets is off limits to clients", async () => {
  await using t = await startTestBroker();
  const c = await RawClient.connect(t.broker.port);
  try {
    // The coordinator creates it on first use (clients may not: CreateTopics refuses it).
    await createTopic(c, "plain");
    const client = new Client({ bootstrapServers: `127.0.0.1:${t.broker.port}` });
    try {
      await new Admin(client).alterConsumerGroupOffsets("g", [
        { topic: "plain", partition: 0, offset: 0 },
      ]);
    } finally {
      client.close();
    }
    const b = buildBatch({ records: [{ key: "k", value: "v" }] });
    const p = await c.request(
      ProduceRequest,
      ProduceResponse,
      9,
      produceBody("__consumer_offsets", 0, b),
    );
    assertEquals(
      p.responses[0].partitionResponses[0].errorCode,
      ErrorCode.INVALID_TOPIC_EXCEPTION,
    );
    const d = await c.request(DeleteTopicsRequest, DeleteTopicsResponse, 5, {
      topicNames: ["__consumer_offsets"],
    });
    assertEquals(d.responses[0].errorCode, ErrorCode.INVALID_TOPIC_EXCEPTION);
    const md = await c.request(MetadataRequest, MetadataResponse, 12, { topics: null });
    assertEquals(md.topics.map((x) => [x.name, x.isInternal]), [
      ["__consumer_offsets", true],
      ["plain", false],
    ]);
  } finally {
    c.close();
  }
});

Deno.test("Metadata does not auto-create __consumer_offsets", async () => {
  await using t = await startTestBroker();
  const c = await RawClient.connect(t.broker.port);
  try {
    const md = await c.request(MetadataRequest, MetadataResponse, 12, {
      topics: [{ name: "__consumer_offsets", topicId: "AAAAAAAAAAAAAAAAAAAAAA" }],
      allowAutoTopicCreation: true,
    });
    assertEquals(md.topics[0].errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  } finally {
    c.close();
  }
});

function idemBatch(seq: number, count: number, epoch = 0, producerId = 42): Uint8Array {
  return buildBatch({
    records: Array.from({ length: count }, (_, i) => ({ key: "k", value: `v${seq + i}` })),
    baseTimestamp: Date.now(),
    producerId,
    producerEpoch: epoch,
    baseSequence: seq,
  });
}

async function produceTo(
  c: RawClient,
  batch: Uint8Array,
  version = 9,
): Promise<[number, number, string | null]> {
  const p = await c.request(
    ProduceRequest,
    ProduceResponse,
    version,
    produceBody("idem", 0, batch),
  );
  const r = p.responses[0].partitionResponses[0];
  return [r.errorCode, r.baseOffset, r.errorMessage];
}

async function fetchAll(c: RawClient): Promise<[number, number]> {
  const f = await c.request(
    FetchRequest,
    FetchResponse,
    12,
    fetchBody([{ topic: "idem", partition: 0, offset: 0 }]),
  );
  const part = f.responses[0].partitions[0];
  return [part.highWatermark, decodeRecordBatches(part.records!).length];
}

Deno.test("Produce: a resent idempotent request (lost response) is stored once, same offset", async () => {
  await using t = await startTestBroker();
  const c = await RawClient.connect(t.broker.port);
  try {
    await createTopic(c, "idem");
    assertEquals(await produceTo(c, idemBatch(0, 3)), [0, 0, null]);
    assertEquals(await produceTo(c, idemBatch(3, 2)), [0, 3, null]);
    // the response to the second request was "lost": the client resends it, any version
    for (const v of [3, 7, 9, 11]) {
      assertEquals(await produceTo(c, idemBatch(3, 2), v), [0, 3, null]);
    }
    assertEquals(await produceTo(c, idemBatch(0, 3)), [0, 0, null]);
    assertEquals(await fetchAll(c), [5, 2]);
    // a gap and a fenced epoch are refused, the log is unchanged
    const [gap, , gapMsg] = await produceTo(c, idemBatch(9, 1));
    assertEquals(gap, ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    ok(gapMsg?.includes("sent sequence 9, expected 5"), gapMsg ?? "");
    assertEquals(await produceTo(c, idemBatch(0, 1, 1)), [0, 5, null]);
    const [fenced, , fencedMsg] = await produceTo(c, idemBatch(5, 1, 0));
    assertEquals(fenced, ErrorCode.INVALID_PRODUCER_EPOCH);
    ok(fencedMsg?.includes("epoch 0 is older than the current epoch 1"), fencedMsg ?? "");
    assertEquals(await fetchAll(c), [6, 3]);
  } finally {
    c.close();
  }
});

Deno.test("Produce: a resent idempotent request after a broker restart is stored once", async () => {
  const dir = await Deno.makeTempDir();
  try {
    for (const round of [0, 1, 2]) {
      const broker = await Broker.start({
        listeners: "PLAINTEXT://127.0.0.1:0",
        logDirs: [dir],
        logLevel: "silent",
      });
      const c = await RawClient.connect(broker.port);
      try {
        if (round === 0) {
          await createTopic(c, "idem");
          assertEquals(await produceTo(c, idemBatch(0, 2)), [0, 0, null]);
          assertEquals(await produceTo(c, idemBatch(2, 2)), [0, 2, null]);
        } else {
          // resent after the restart: the original offsets, nothing stored
          assertEquals(await produceTo(c, idemBatch(2, 2)), [0, 2, null]);
          assertEquals(await produceTo(c, idemBatch(0, 2)), [0, 0, null]);
          assertEquals(await fetchAll(c), [4, 2]);
          const [code] = await produceTo(c, idemBatch(5, 1));
          assertEquals(code, ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
        }
      } finally {
        c.close();
        await broker.close();
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

const te = new TextEncoder();
const td = new TextDecoder();
const text = (b: Uint8Array | null) => b === null ? null : td.decode(b);
const legacy = (...kv: [string | null, string, number?][]): LegacyRecordInput[] =>
  kv.map(([k, v, timestamp]) => ({
    key: k === null ? null : te.encode(k),
    value: te.encode(v),
    timestamp,
  }));

/** Produce one partition's records; returns the partition response. */
async function produceAt(c: RawClient, version: number, topic: string, records: Uint8Array | null) {
  const p = await c.request(
    ProduceRequest,
    ProduceResponse,
    version,
    produceBody(topic, 0, records),
  );
  return p.responses[0].partitionResponses[0];
}

/** The stored batches of partition 0 from `offset`, decoded (CRCs and records checked). */
async function storedBatches(c: RawClient, topic: string, offset = 0) {
  const f = await c.request(
    FetchRequest,
    FetchResponse,
    12,
    fetchBody([{ topic, partition: 0, offset }]),
  );
  return decodeRecordBatches(f.responses[0].partitions[0].records!);
}

Deno.test("Produce v0-v2: message sets v0/v1 are stored as v2 batches (offsets, timestamps, codecs)", async () => {
  await using t = await startTestBroker();
  const c = await RawClient.connect(t.broker.port);
  try {
    await createTopic(c, "old");
    const sent: [number, Uint8Array, number][] = [
      [0, encodeMessageSet(legacy(["k0", "a"], [null, "b"], ["k2", "c"]), { magic: 0 }), 0],
      [1, encodeMessageSet(legacy(["k3", "d"], ["k4", "e"]), { magic: 0, compression: "gzip" }), 3],
      [2, encodeMessageSet(legacy(["k5", "f", 1000], [null, "g", 1001]), { magic: 1 }), 5],
      [
        2,
        encodeMessageSet(legacy(["k7", "h", 2005], ["k8", "i", 2000]), {
          magic: 1,
          compression: "snappy",
        }),
        7,
      ],
      [2, encodeMessageSet(legacy(["k9", "j", 3000]), { magic: 1, compression: "lz4" }), 9],
    ];
    for (const [version, set, base] of sent) {
      const r = await produceAt(c, version, "old", set);
      assertEquals([r.errorCode, r.errorMessage, r.baseOffset], [0, null, base], `v${version}`);
      assertEquals(r.logAppendTimeMs, -1);
    }
    // A v2 batch in an old Produce is taken as it is (Kafka checks the magic from v3 only).
    const v2 = buildBatch({ records: [{ key: "k10", value: "k" }], baseTimestamp: 4000 });
    assertEquals((await produceAt(c, 2, "old", v2)).baseOffset, 10);
    const batches = await storedBatches(c, "old");
    assertEquals(
      batches.map((b) => [b.baseOffset, b.compression, b.producerId, b.timestampType]),
      [[0, "none", -1, 0], [3, "gzip", -1, 0], [5, "none", -1, 0], [7, "snappy", -1, 0], [
        9,
        "lz4",
        -1,
        0,
      ], [10, "none", -1, 0]],
    );
    assertEquals(
      batches.flatMap((b) =>
        b.records.map((r) => [r.offset, r.timestamp, text(r.key), text(r.value)])
      ),
      [
        [0, -1, "k0", "a"],
        [1, -1, null, "b"],
        [2, -1, "k2", "c"],
        [3, -1, "k3", "d"],
        [4, -1, "k4", "e"],
        [5, 1000, "k5", "f"],
        [6, 1001, null, "g"],
        [7, 2005, "k7", "h"],
        [8, 2000, "k8", "i"],
        [9, 3000, "k9", "j"],
        [10, 4000, "k10", "k"],
      ],
    );
    assertEquals(batches[3].maxTimestamp, 2005);
  } finally {
    c.close();
  }
});

Deno.test("Produce v0-v2: LogAppendTime topics and the topic's compression.type", async () => {
  await using t = await startTestBroker();
  const c = await RawClient.connect(t.broker.port);
  try {
    await createTopic(c, "lat", 1, { "message.timestamp.type": "LogAppendTime" });
    const before = Date.now();
    const set = encodeMessageSet(legacy(["k", "v", 1000], ["k", "w", 1001]), { magic: 1 });
    const r = await produceAt(c, 2, "lat", set);
    assertEquals([r.errorCode, r.baseOffset], [0, 0]);
    ok(r.logAppendTimeMs >= before && r.logAppendTimeMs <= Date.now(), `${r.logAppendTimeMs}`);
    const [b] = await storedBatches(c, "lat");
    assertEquals([b.timestampType, b.maxTimestamp], [1, r.logAppendTimeMs]);
    assertEquals(b.records.map((x) => x.timestamp), [r.logAppendTimeMs, r.logAppendTimeMs]);
    // v0 and v1 responses have no log_append_time_ms.
    assertEquals((await produceAt(c, 1, "lat", set)).logAppendTimeMs, -1);

    const codecs: [string, CompressionName][] = [
      ["uncompressed", "none"],
      ["lz4", "lz4"],
      ["zstd", "zstd"],
      ["producer", "gzip"],
    ];
    for (const [type, stored] of codecs) {
      const topic = `codec-${type}`;
      await createTopic(c, topic, 1, { "compression.type": type });
      const gz = encodeMessageSet(legacy(["k", "v", 5]), { magic: 1, compression: "gzip" });
      assertEquals((await produceAt(c, 2, topic, gz)).errorCode, 0);
      const [s] = await storedBatches(c, topic);
      assertEquals([s.compression, text(s.records[0].value)], [stored, "v"], type);
    }
  } finally {
    c.close();
  }
});

Deno.test("Produce v0-v2: what Kafka's LogValidator refuses, a bomb, and an empty message set", async () => {
  await using t = await startTestBroker({ socketRequestMaxBytes: 4 << 20 });
  const c = await RawClient.connect(t.broker.port);
  try {
    await createTopic(c, "strict", 1, { "max.message.bytes": "300" });
    await createTopic(c, "compacted", 1, { "cleanup.policy": "compact" });
    const one = encodeMessageSet(legacy(["k", "v", 1]), { magic: 1 });
    const badCrc = one.slice();
    badCrc[badCrc.length - 1] ^= 1;
    const gz = encodeMessageSet(legacy(["k", "v", 1]), { magic: 1, compression: "gzip" });
    const zstd = one.slice();
    zstd[LOG_OVERHEAD + LEGACY_ATTRIBUTES_OFFSET] = 4;
    const m = LOG_OVERHEAD;
    writeInt32(zstd, m + LEGACY_CRC_OFFSET, crc32(zstd.subarray(m + LEGACY_MAGIC_OFFSET)));
    const v0 = encodeMessageSet(legacy(["k", "v"]), { magic: 0 });
    const big = encodeMessageSet(legacy(["k", "x".repeat(400), 1]), { magic: 1 });
    const cases: [string, string, Uint8Array, number][] = [
      ["bad CRC", "strict", badCrc, ErrorCode.CORRUPT_MESSAGE],
      ["cut off", "strict", one.subarray(0, one.length - 1), ErrorCode.CORRUPT_MESSAGE],
      ["wrapper beside a message", "strict", concat([gz, one]), ErrorCode.INVALID_RECORD],
      ["magic 0 then 1", "strict", concat([v0, one]), ErrorCode.INVALID_RECORD],
      ["zstd in magic 1", "strict", zstd, ErrorCode.UNSUPPORTED_COMPRESSION_TYPE],
      ["larger than max.message.bytes", "strict", big, ErrorCode.MESSAGE_TOO_LARGE],
      [
        "null key on a compacted topic",
        "compacted",
        encodeMessageSet(legacy([null, "v", 1]), { magic: 1 }),
        ErrorCode.INVALID_RECORD,
      ],
    ];
    for (const [name, topic, records, code] of cases) {
      const r = await produceAt(c, 2, topic, records);
      assertEquals([r.errorCode, r.baseOffset], [code, -1], name);
    }
    // A gzip wrapper that inflates past socket.request.max.bytes (a bomb) is refused.
    const bomb = encodeMessageSet([{
      value: new Uint8Array(t.broker.config.socketRequestMaxBytes),
    }], {
      magic: 1,
      compression: "gzip",
    });
    const refused = await produceAt(c, 2, "strict", bomb);
    assertEquals([refused.errorCode, refused.baseOffset], [ErrorCode.CORRUPT_MESSAGE, -1]);
    ok(t.lines.some((l) => l.includes("larger than the limit of")));
    // An empty message set appends nothing and is answered NONE with base offset -1 (Kafka).
    const empty = await produceAt(c, 2, "strict", new Uint8Array(0));
    assertEquals([empty.errorCode, empty.baseOffset], [0, -1]);
    for (const topic of ["strict", "compacted"]) {
      const f = await c.request(
        FetchRequest,
        FetchResponse,
        12,
        fetchBody([{ topic, partition: 0, offset: 0 }]),
      );
      assertEquals(f.responses[0].partitions[0].highWatermark, 0, topic);
    }
  } finally {
    c.close();
  }
});

Deno.test("Produce v8+: record_errors name every record Kafka's LogValidator refuses (timestamps, null keys)", async () => {
  await using t = await startTestBroker();
  const c = await RawClient.connect(t.broker.port);
  try {
    const day = 86_400_000;
    await createTopic(c, "ts", 1, { "message.timestamp.before.max.ms": String(day) });
    await createTopic(c, "keys", 1, { "cleanup.policy": "compact" });
    const now = Date.now();
    // the header's first and max timestamps are current: only the records show the old ones
    const old = buildBatch({
      baseTimestamp: now,
      records: [
        { key: "a", value: "now" },
        { key: "b", value: "2 days", timestampDelta: -2 * day },
        { key: "c", value: "now too", timestampDelta: 0 },
        { key: "d", value: "3 days", timestampDelta: -3 * day },
      ],
    });
    const r = await produceAt(c, 9, "ts", old);
    assertEquals([r.errorCode, r.baseOffset], [ErrorCode.INVALID_TIMESTAMP, -1]);
    assertEquals(r.recordErrors.map((e) => e.batchIndex), [1, 3]);
    const m =
      /^Timestamp (\d+) of message with offset 1 is out of range\. The timestamp should be within \[(\d+), (\d+)\]$/
        .exec(r.recordErrors[0].batchIndexErrorMessage ?? "");
    ok(m !== null, String(r.recordErrors[0].batchIndexErrorMessage));
    assertEquals(Number(m[1]), now - 2 * day);
    ok(Number(m[2]) >= now - day && Number(m[2]) <= Date.now() - day);
    ok(
      (r.recordErrors[1].batchIndexErrorMessage ?? "").startsWith(
        `Timestamp ${now - 3 * day} of message with offset 3 is out of range.`,
      ),
    );
    // Produce v7 has no record_errors: the same refusal without them
    const v7 = await produceAt(c, 7, "ts", old);
    assertEquals([v7.errorCode, v7.recordErrors], [ErrorCode.INVALID_TIMESTAMP, []]);

    const keyless = buildBatch({
      records: [{ key: "k", value: "1" }, { key: null, value: "2" }, { key: null, value: "3" }],
    });
    const k = await produceAt(c, 9, "keys", keyless);
    assertEquals(k.errorCode, ErrorCode.INVALID_RECORD);
    assertEquals(
      k.recordErrors,
      [1, 2].map((batchIndex) => ({
        batchIndex,
        batchIndexErrorMessage:
          "Compacted topic cannot accept message without key in topic partition keys-0.",
      })),
    );
  } finally {
    c.close();
  }
});
