// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * Kafka's record formats, owned here and nowhere else: the record batch v2 header layout and
 * attribute bits (`layout.ts`), zigzag varints (`varint.ts`), the five codecs
 * (`compression.ts`, `snappy.ts`, `lz4.ts`), reading batches and their records
 * (`batch_reader.ts`), building them (`batch_builder.ts`, strings written as UTF-8 in place by
 * `utf8.ts`), what log compaction needs (`compaction.ts`), control records (`control.ts`) and the
 * legacy message formats v0/v1 with conversion both ways (`legacy.ts`). A leaf: it imports only
 * `wasm/` (CRC-32C) and `node:` built-ins, so engine, server and client all use it. Errors are
 * {@linkcode RecordsError}s carrying a Kafka error code.
 *
 * @example Build a batch with any codec and read it back
 * ```ts
 * import { decodeRecordBatches, encodeRecordBatch } from "./mod.ts";
 *
 * const te = new TextEncoder();
 * const batch = encodeRecordBatch([{ key: te.encode("k"), value: te.encode("v") }], {
 *   baseOffset: 3,
 *   compression: "lz4",
 * });
 * const [b] = decodeRecordBatches(batch);
 * console.assert(b.compression === "lz4" && b.records[0].offset === 3);
 * ```
 *
 * @module
 */

export * from "./errors.ts";
export * from "./layout.ts";
export * from "./varint.ts";
export * from "./compression.ts";
export * from "./snappy.ts";
export * from "./lz4.ts";
export * from "./batch_reader.ts";
export * from "./batch_builder.ts";
export * from "./utf8.ts";
export * from "./compaction.ts";
export * from "./control.ts";
export * from "./aborted_transactions.ts";
export * from "./legacy.ts";
