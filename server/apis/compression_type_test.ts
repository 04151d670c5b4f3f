// Copyright 2026 the Sluice authors. Apache-2.0 license.
// The topic config compression.type, as Kafka applies it: batches are recompressed to the topic's
// codec on produce (offsets, producer fields, timestamps, keys, values, headers kept), and zstd
// needs Produce v7 / Fetch v10 (KIP-110).
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { ErrorCode } from "../../protocol/errors.ts";
import { FetchRequest, FetchResponse } from "../../protocol/messages/fetch.ts";
import { ProduceRequest, ProduceResponse } from "../../protocol/messages/produce.ts";
import {
  decodeRecordBatches,
  encodeRecordBatch,
  type EncodeRecordBatchOptions,
} from "../../records/mod.ts";
import { createTopic, fetchBody, produceBody, RawClient, startTestBroker } from "../testing.ts";

const te = new TextEncoder();
const records = [
  { key: te.encode("a"), value: te.encode("x".repeat(300)), headers: [{ key: "h", value: null }] },
  { key: null, value: te.encode("second"), timestamp: 1_700_000_000_123 },
];

async function produce(c: RawClient, topic: string, v: number, opts: EncodeRecordBatchOptions) {
  const batch = encodeRecordBatch(records, { timestamp: 1_700_000_000_000, ...opts });
  const r = await c.request(ProduceRequest, ProduceResponse, v, produceBody(topic, 0, batch));
  return r.responses[0].partitionResponses[0];
}

async function fetchAll(c: RawClient, topic: string, v = 12) {
  const f = await c.request(
    FetchRequest,
    FetchResponse,
    v,
    fetchBody([{ topic, partition: 0, offset: 0 }], { maxWaitMs: 0 }),
  );
  return f.responses[0].partitions[0];
}

Deno.test("compression.type: batches are recompressed to the topic's codec, everything else kept", async () => {
  await using t = await startTestBroker();
  const c = await RawClient.connect(t.broker.port);
  try {
    for (const [codec, from] of [["lz4", "none"], ["gzip", "snappy"], ["uncompressed", "zstd"]]) {
      const topic = `ct-${codec}`;
      await createTopic(c, topic, 1, { "compression.type": codec });
      const idem = { producerId: 77, producerEpoch: 0, baseSequence: 0 };
      const first = await produce(c, topic, 9, { compression: from as "none", ...idem });
      assertEquals([first.errorCode, first.baseOffset], [0, 0]);
      // an idempotent retry of the same batch is still recognised after recompression
      const dup = await produce(c, topic, 9, { compression: from as "none", ...idem });
      assertEquals([dup.errorCode, dup.baseOffset], [0, 0]);
      const part = await fetchAll(c, topic);
      const batches = decodeRecordBatches(part.records!);
      assertEquals(batches.length, 1, codec);
      const b = batches[0];
      assertEquals(b.compression, codec === "uncompressed" ? "none" : codec);
      assertEquals([b.producerId, b.producerEpoch, b.baseSequence], [77, 0, 0]);
      assertEquals(
        b.records.map((r) => [r.offset, r.timestamp, r.key, r.value, r.headers]),
        [
          [0, 1_700_000_000_000, te.encode("a"), te.encode("x".repeat(300)), [{
            key: "h",
            value: null,
          }]],
          [1, 1_700_000_000_123, null, te.encode("second"), []],
        ],
        codec,
      );
    }
  } finally {
    c.close();
  }
});

Deno.test("compression.type=zstd and zstd batches need Produce v7 and Fetch v10 (KIP-110)", async () => {
  await using t = await startTestBroker();
  const c = await RawClient.connect(t.broker.port);
  try {
    await createTopic(c, "ct-zstd", 1, { "compression.type": "zstd" });
    await createTopic(c, "ct-any", 1);
    // an old producer may write to a zstd topic (the broker compresses), not send zstd itself
    assertEquals((await produce(c, "ct-zstd", 6, {})).errorCode, 0);
    const oldZstd = await produce(c, "ct-any", 6, { compression: "zstd" });
    assertEquals(oldZstd.errorCode, ErrorCode.UNSUPPORTED_COMPRESSION_TYPE);
    assertEquals((await produce(c, "ct-zstd", 7, { compression: "zstd" })).errorCode, 0);
    assertEquals(
      (await fetchAll(c, "ct-zstd", 9)).errorCode,
      ErrorCode.UNSUPPORTED_COMPRESSION_TYPE,
    );
    const v10 = await fetchAll(c, "ct-zstd", 10);
    assertEquals(
      [v10.errorCode, decodeRecordBatches(v10.records!).map((b) => b.compression)],
      [0, ["zstd", "zstd"]],
    );
  } finally {
    c.close();
  }
});
