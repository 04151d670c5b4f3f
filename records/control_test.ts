// Copyright 2026 the Sluice authors. Apache-2.0 license.
import assert from "node:assert/strict";
import { BatchStatus, scanBatches } from "../wasm/mod.ts";
import { decodeRecordBatches } from "./batch_reader.ts";
import { encodeRecordBatch } from "./batch_builder.ts";
import {
  buildControlBatch,
  ControlRecordType,
  controlRecordTypeOf,
  decodeControlRecordKey,
  decodeEndTxnMarkerValue,
} from "./control.ts";
import { attributesAt, CONTROL_BIT, TRANSACTIONAL_BIT } from "./layout.ts";

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

Deno.test("buildControlBatch() writes the bytes the transaction coordinator always wrote", () => {
  // Written by the coordinator's earlier encoder (server/txn/schemas.ts encodeControlBatch).
  assert.equal(
    hex(buildControlBatch({
      producerId: 4242,
      producerEpoch: 3,
      commit: false,
      coordinatorEpoch: 7,
      timestamp: 1700000000123,
    })),
    "000000000000000000000042ffffffff02e444a5ac0030000000000000018bcfe5687b0000018bcfe5687b" +
      "00000000000010920003ffffffff000000012000000008000000000c00000000000700",
  );
  assert.equal(
    hex(buildControlBatch({ producerId: 1, producerEpoch: 0, commit: true, timestamp: 5 })),
    "000000000000000000000042ffffffff02a5ae1e12003000000000000000000000000500000000000000050000" +
      "0000000000010000ffffffff000000012000000008000000010c00000000000000",
  );
});

Deno.test("control batches read back: type, coordinator epoch, attributes", () => {
  for (const commit of [true, false]) {
    const batch = buildControlBatch({
      producerId: 9,
      producerEpoch: 2,
      commit,
      coordinatorEpoch: 11,
      timestamp: 1,
    });
    assert.equal(scanBatches(batch).status, BatchStatus.OK);
    assert.equal(attributesAt(batch, 0), CONTROL_BIT | TRANSACTIONAL_BIT);
    assert.equal(
      controlRecordTypeOf(batch),
      commit ? ControlRecordType.COMMIT : ControlRecordType.ABORT,
    );
    const [b] = decodeRecordBatches(batch);
    assert.ok(b.control && b.transactional);
    assert.equal(decodeEndTxnMarkerValue(b.records[0].value), 11);
  }
});

Deno.test("malformed control records are CORRUPT_MESSAGE", () => {
  assert.throws(() => decodeControlRecordKey(null), { name: "RecordsError", message: /null/ });
  assert.throws(() => decodeControlRecordKey(new Uint8Array(3)), /3 bytes/);
  assert.throws(() => decodeControlRecordKey(new Uint8Array([0xff, 0xff, 0, 1])), /invalid key/);
  assert.throws(() => decodeEndTxnMarkerValue(new Uint8Array(5)), /invalid transaction marker/);
  const notControl = encodeRecordBatch([{ key: null, value: null }], { control: true });
  assert.throws(() => controlRecordTypeOf(notControl), /control record: invalid key \(null\)/);
});
