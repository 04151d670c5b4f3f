// Copyright 2026 the Sluice authors. Apache-2.0 license.
// Record batch scan (CRC + header checks + record walk): WASM vs the TS reference over a 4 MiB
// log of batches. records/s = records per iteration / time; MB/s = 4 MiB / time.
// Run: deno bench --allow-all bench/batch_bench.ts
import { RECORD_BATCH_OVERHEAD } from "../records/mod.ts";
import { BatchStatus, scanBatches } from "../wasm/mod.ts";
import { referenceScanBatches } from "../wasm/reference.ts";
import { buildBatch, concatBytes, seededRandom, type TestRecord } from "../wasm/testing.ts";

const rnd = seededRandom(2);
const LOG_BYTES = 4 << 20;

function makeLog(recordSize: number, batchSize: number): { log: Uint8Array; records: number } {
  const parts: Uint8Array[] = [];
  let bytes = 0;
  let records = 0;
  let offset = 0;
  while (bytes < LOG_BYTES) {
    const recs: TestRecord[] = [];
    for (
      let size = RECORD_BATCH_OVERHEAD;
      size + recordSize < batchSize;
      size += recordSize + 8
    ) {
      const value = new Uint8Array(recordSize);
      for (let i = 0; i < recordSize; i++) value[i] = (rnd() * 256) | 0;
      recs.push({ key: `key-${records + recs.length}`, value, timestampDelta: recs.length });
    }
    const batch = buildBatch({ baseOffset: offset, records: recs, baseTimestamp: 1.7e12 });
    parts.push(batch);
    bytes += batch.length;
    records += recs.length;
    offset += recs.length;
  }
  return { log: concatBytes(parts), records };
}

const cases: [string, number, number][] = [
  ["1 KiB records, 16 KiB batches", 1024, 16 << 10],
  ["1 KiB records, 1 MiB batches", 1024, 1 << 20],
  ["100 B records, 16 KiB batches", 100, 16 << 10],
];

for (const [label, recordSize, batchSize] of cases) {
  const { log, records } = makeLog(recordSize, batchSize);
  const scan = scanBatches(log);
  if (scan.status !== BatchStatus.OK || scan.records !== records) {
    throw new Error(`bench data invalid: ${scan.detail}`);
  }
  const group = `scan ${label}`;
  const mib = (log.length / 1048576).toFixed(1);
  Deno.bench({
    name: `TS reference (${records} records, ${mib} MiB)`,
    group,
    baseline: true,
    fn: () => {
      if (referenceScanBatches(log).records !== records) throw new Error("bad scan");
    },
  });
  Deno.bench({
    name: `WASM (${records} records, ${mib} MiB)`,
    group,
    fn: () => {
      if (scanBatches(log).records !== records) throw new Error("bad scan");
    },
  });
}
