// Copyright 2026 the Sluice authors. Apache-2.0 license.
import { setPartitionLeaderEpochAt } from "../../records/mod.ts";
import { decodeRecordBatches } from "../../records/mod.ts";
import { Admin, Client } from "../../client/mod.ts";
import { deepStrictEqual as assertEquals, ok } from "node:assert/strict";
import { ErrorCode } from "../../protocol/errors.ts";
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

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

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
    assertEquals(part.records, concat(want1, want2));
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
    assertEquals(f.responses[0].partitions[0].records, concat(...want));
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
      ["two batches", 9, concat(ok1, ok1), 1, ErrorCode.INVALID_RECORD],
      ["null records", 9, null, 1, ErrorCode.INVALID_RECORD],
      ["too large", 9, big, 1, ErrorCode.MESSAGE_TOO_LARGE],
      ["acks=2", 9, ok1, 2, ErrorCode.INVALID_REQUIRED_ACKS],
      ["acks=-1 with min.insync.replicas=2", 9, ok1, -1, ErrorCode.NOT_ENOUGH_REPLICAS],
      ["Produce v2", 2, ok1, 1, ErrorCode.UNSUPPORTED_VERSION],
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
    ok(t.lines.some((l) => l.includes("Produce v2") && l.includes("message format v0/v1")));
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
