// Copyright 2026 the Sluice authors. Apache-2.0 license.
import assert from "node:assert/strict";
import { AbortedTransactionFilter } from "./aborted_transactions.ts";
import { encodeRecordBatch } from "./batch_builder.ts";
import { decodeRecordsInto } from "./batch_reader.ts";
import { buildControlBatch } from "./control.ts";
import { setBaseOffsetAt } from "./layout.ts";
import { concatBytes as concat } from "../wasm/testing.ts";

const te = new TextEncoder();
const td = new TextDecoder();

/** A data batch of `values` at `offset`, transactional for a producer id >= 0. */
function data(offset: number, producerId: number, values: string[]): Uint8Array {
  return encodeRecordBatch(values.map((v) => ({ value: te.encode(v) })), {
    baseOffset: offset,
    producerId,
    producerEpoch: producerId < 0 ? -1 : 0,
    baseSequence: producerId < 0 ? -1 : 0,
    transactional: producerId >= 0,
  });
}

function marker(offset: number, producerId: number, commit: boolean): Uint8Array {
  const b = buildControlBatch({ producerId, producerEpoch: 0, commit, timestamp: 0 });
  setBaseOffsetAt(b, 0, offset);
  return b;
}

function read(bytes: Uint8Array, aborted: Array<{ producerId: number; firstOffset: number }>) {
  const out: string[] = [];
  const filter = new AbortedTransactionFilter(aborted);
  const next = decodeRecordsInto(bytes, 0, (_o, _t, _k, v) => td.decode(v!), out, {
    skipBatch: (d, p) => filter.skip(d, p),
  });
  return { values: out, next };
}

Deno.test("AbortedTransactionFilter: drops an aborted transaction's batches up to its ABORT marker", () => {
  // Producer 1 commits c1; producer 2 aborts a1 a2 (interleaved with plain records and producer
  // 1's next transaction), then writes c3 in a new transaction that commits.
  const log = concat([
    data(0, 1, ["c1"]),
    data(1, 2, ["a1"]),
    data(2, -1, ["plain1"]),
    marker(3, 1, true),
    data(4, 2, ["a2"]),
    data(5, 1, ["c2"]),
    marker(6, 2, false),
    data(7, 2, ["c3"]),
    marker(8, 1, true),
    marker(9, 2, true),
  ]);
  const { values, next } = read(log, [{ producerId: 2, firstOffset: 1 }]);
  assert.deepEqual(values, ["c1", "plain1", "c2", "c3"]);
  assert.equal(next, 10);
  // Without the list (read_uncommitted) only the markers are skipped.
  const all: string[] = [];
  decodeRecordsInto(log, 0, (_o, _t, _k, v) => td.decode(v!), all);
  assert.deepEqual(all, ["c1", "a1", "plain1", "a2", "c2", "c3"]);
});

Deno.test("AbortedTransactionFilter: the same producer aborting twice, listed out of order", () => {
  const log = concat([
    data(0, 5, ["x1"]),
    marker(1, 5, false),
    data(2, 5, ["ok"]),
    marker(3, 5, true),
    data(4, 5, ["x2", "x3"]),
    marker(6, 5, false),
  ]);
  const { values } = read(log, [
    { producerId: 5, firstOffset: 4 },
    { producerId: 5, firstOffset: 0 },
  ]);
  assert.deepEqual(values, ["ok"]);
});

Deno.test("AbortedTransactionFilter: a fetch starting inside an aborted transaction", () => {
  // The aborted transaction began before the fetched data (first offset 0 < 10).
  const log = concat([data(10, 3, ["a"]), marker(11, 3, false), data(12, 3, ["b"])]);
  assert.deepEqual(read(log, [{ producerId: 3, firstOffset: 0 }]).values, ["b"]);
});
