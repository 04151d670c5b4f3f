// Copyright 2026 the Sluice authors. Apache-2.0 license.
import assert from "node:assert/strict";
import { KafkaError } from "../protocol/errors.ts";
import {
  type CompressionName,
  decodeRecordBatches,
  decodeRecords,
  decodeRecordsInto,
  DecompressionError,
  encodeRecordBatch,
  lz4Decompress,
  RecordBatchBuilder,
} from "./mod.ts";
import { CRC_OFFSET } from "../records/mod.ts";

const te = new TextEncoder();

Deno.test("the client's record functions throw KafkaErrors with the record formats' codes", () => {
  const bytes = encodeRecordBatch([{ value: te.encode("v") }], { baseOffset: 3 });
  const bad = bytes.slice();
  bad[CRC_OFFSET] ^= 0xff;
  for (
    const f of [
      () => decodeRecordBatches(bad),
      () => decodeRecords(bad),
      () => decodeRecordsInto(bad, 0, (o) => o, []),
    ]
  ) {
    assert.throws(f, (e: unknown) => {
      assert.ok(e instanceof KafkaError);
      assert.equal(e.errorName, "CORRUPT_MESSAGE");
      assert.match(e.message, /^record batch: CRC mismatch at offset 3: stored [0-9a-f]+/);
      return true;
    });
  }
  const unknown = "brotli" as CompressionName;
  assert.throws(() => encodeRecordBatch([{ value: null }], { compression: unknown }), {
    name: "KafkaError",
    message: /^record batch: unknown compression brotli: UNSUPPORTED_COMPRESSION_TYPE \(76\)/,
  });
  const b = new RecordBatchBuilder();
  b.append(null, null, 1);
  assert.throws(() => b.finish({ compression: unknown }), KafkaError);
  // The codecs' own functions keep their DecompressionError.
  assert.throws(() => lz4Decompress(new Uint8Array(8)), DecompressionError);
});

Deno.test("the client writes and reads every codec", () => {
  for (const compression of ["none", "gzip", "snappy", "lz4", "zstd"] as const) {
    const b = new RecordBatchBuilder();
    b.append(te.encode("k"), te.encode("v".repeat(1000)), 1_700_000_000_000, [
      { key: "h", value: null },
    ]);
    const [batch] = decodeRecordBatches(b.finish({ compression, baseOffset: 1 }));
    assert.equal(batch.compression, compression);
    assert.equal(batch.records[0].value!.length, 1000);
    assert.deepEqual(batch.records[0].headers, [{ key: "h", value: null }]);
  }
});
