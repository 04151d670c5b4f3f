/**
 * Record batch encode/decode throughput against kafkajs's encoder/decoder as the baseline
 * (1000 records of 100 bytes with an 8-byte key per batch). kafkajs does not verify CRCs when
 * decoding; the Sluice decode runs are shown with and without CRC verification.
 *
 * @module
 */

import { Buffer } from "node:buffer";
// kafkajs internals (CommonJS), used only as the reference implementation.
import kafkajsRecordBatchModule from "kafkajs/src/protocol/recordBatch/v0/index.js";
import KafkajsRecord from "kafkajs/src/protocol/recordBatch/record/v0/index.js";
import kafkajsDecodeBatch from "kafkajs/src/protocol/recordBatch/v0/decoder.js";
import KafkajsDecoder from "kafkajs/src/protocol/decoder.js";
import {
  decodeRecordBatches,
  decodeRecordsInto,
  encodeRecordBatch,
  RecordBatchBuilder,
  type RecordInput,
} from "./mod.ts";

const KafkajsRecordBatch = kafkajsRecordBatchModule.RecordBatch;
const N = 1000;
const now = 1_700_000_000_000;
const records: RecordInput[] = Array.from({ length: N }, (_, i) => ({
  key: new TextEncoder().encode(`key-${String(i).padStart(4, "0")}`),
  value: new Uint8Array(100).fill(i & 0xff),
  timestamp: now + i,
}));
const kafkajsRecords = records.map((r, i) =>
  KafkajsRecord({
    offsetDelta: i,
    timestampDelta: i,
    key: Buffer.from(r.key!),
    value: Buffer.from(r.value!),
  })
);

async function kafkajsEncode(): Promise<Uint8Array> {
  const encoder = await KafkajsRecordBatch({
    firstTimestamp: now,
    maxTimestamp: now + N - 1,
    lastOffsetDelta: N - 1,
    records: kafkajsRecords,
  });
  return encoder.buffer;
}

const encoded = encodeRecordBatch(records);

Deno.bench({
  name: "kafkajs encode",
  group: "encode 1000 x 100 B",
  baseline: true,
  async fn() {
    await kafkajsEncode();
  },
});

Deno.bench({
  name: "sluice encodeRecordBatch",
  group: "encode 1000 x 100 B",
  fn() {
    encodeRecordBatch(records);
  },
});

Deno.bench({
  name: "sluice RecordBatchBuilder (append in place, as the producer)",
  group: "encode 1000 x 100 B",
  fn() {
    const b = new RecordBatchBuilder(128 * 1024);
    for (const r of records) b.append(r.key, r.value, r.timestamp!);
    b.finish();
  },
});

Deno.bench({
  name: "kafkajs decode (no CRC check)",
  group: "decode 1000 x 100 B",
  baseline: true,
  async fn() {
    await kafkajsDecodeBatch(new KafkajsDecoder(Buffer.from(encoded)));
  },
});

Deno.bench({
  name: "sluice decodeRecordBatches (CRC checked)",
  group: "decode 1000 x 100 B",
  fn() {
    decodeRecordBatches(encoded);
  },
});

Deno.bench({
  name: "sluice decodeRecordBatches (no CRC check)",
  group: "decode 1000 x 100 B",
  fn() {
    decodeRecordBatches(encoded, { verifyCrc: false });
  },
});

Deno.bench({
  name: "sluice decodeRecordsInto (CRC checked, as the consumer)",
  group: "decode 1000 x 100 B",
  fn() {
    const out: unknown[] = [];
    decodeRecordsInto(encoded, 0, (offset, timestamp, key, value, headers) => ({
      topic: "t",
      partition: 0,
      offset,
      timestamp,
      key,
      value,
      headers,
    }), out);
  },
});
