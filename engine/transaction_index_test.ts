import { deepStrictEqual, strictEqual } from "node:assert/strict";
import {
  ABORTED_TXN_SIZE,
  type AbortedTxn,
  decodeAbortedTxns,
  encodeAbortedTxns,
  TransactionIndex,
  txnIndexPath,
} from "./transaction_index.ts";

const A: AbortedTxn = {
  producerId: 0x0102030405,
  firstOffset: 7,
  lastOffset: 11,
  lastStableOffset: 9,
};

Deno.test("transaction index: Kafka's 34-byte AbortedTxn layout", () => {
  const b = encodeAbortedTxns([A]);
  strictEqual(ABORTED_TXN_SIZE, 34);
  strictEqual(b.length, 34);
  const dv = new DataView(b.buffer);
  // version i16, producerId i64, firstOffset i64, lastOffset i64, lastStableOffset i64
  deepStrictEqual(
    [
      dv.getInt16(0),
      Number(dv.getBigInt64(2)),
      Number(dv.getBigInt64(10)),
      Number(dv.getBigInt64(18)),
      Number(dv.getBigInt64(26)),
    ],
    [0, 0x0102030405, 7, 11, 9],
  );
  deepStrictEqual(decodeAbortedTxns(b, 0), [A]);
});

Deno.test("transaction index: files that cannot be trusted are refused", () => {
  const two = encodeAbortedTxns([A, { ...A, producerId: 2, firstOffset: 12, lastOffset: 20 }]);
  strictEqual(decodeAbortedTxns(two, 5).length, 2);
  const cut = decodeAbortedTxns(two.subarray(0, 50), 5);
  strictEqual(typeof cut === "string" && cut.includes("not a multiple of 34"), true, `${cut}`);
  const v1 = two.slice();
  v1[1] = 1;
  strictEqual(decodeAbortedTxns(v1, 5), "entry 0 has unknown version 1");
  const reversed = encodeAbortedTxns([{ ...A, lastOffset: 20 }, A]);
  strictEqual(typeof decodeAbortedTxns(reversed, 5), "string");
  // a marker below the segment's base offset
  strictEqual(typeof decodeAbortedTxns(two, 12), "string");
  const backwards = encodeAbortedTxns([{ ...A, firstOffset: 12 }]);
  strictEqual(typeof decodeAbortedTxns(backwards, 0), "string");
});

Deno.test("transaction index: collect follows Kafka's overlap and completeness rules", () => {
  const idx = new TransactionIndex("/tmp/unused", 0);
  idx.append({ producerId: 1, firstOffset: 0, lastOffset: 5, lastStableOffset: 3 });
  idx.append({ producerId: 2, firstOffset: 3, lastOffset: 8, lastStableOffset: 9 });
  idx.append({ producerId: 3, firstOffset: 9, lastOffset: 12, lastStableOffset: 13 });
  const got = (from: number, to: number) => {
    const out: AbortedTxn[] = [];
    const complete = idx.collect(from, to, out);
    return [out.map((a) => a.producerId), complete];
  };
  deepStrictEqual(got(0, 4), [[1, 2], true]); // entry 2's LSO 9 ≥ 4: nothing later can overlap
  deepStrictEqual(got(6, 9), [[2], true]);
  deepStrictEqual(got(6, 10), [[2, 3], true]);
  deepStrictEqual(got(13, 20), [[], false]); // a later segment may still hold one
  deepStrictEqual(got(9, 10), [[3], true]);
  let threw = false;
  try {
    idx.append({ producerId: 4, firstOffset: 1, lastOffset: 12, lastStableOffset: 13 });
  } catch (e) {
    threw = e instanceof RangeError;
  }
  strictEqual(threw, true);
  idx.truncateTo(8);
  deepStrictEqual(idx.entries.map((e) => e.producerId), [1]);
});

Deno.test("transaction index: written whole, loaded back, missing or cut is reported", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const idx = new TransactionIndex(dir, 10);
    strictEqual(idx.path, txnIndexPath(dir, 10));
    strictEqual(await idx.load(), "transaction index missing");
    idx.append({ ...A, firstOffset: 8, lastOffset: 12 });
    await idx.write();
    strictEqual(idx.dirty, false);
    strictEqual((await Deno.readFile(idx.path)).length, 34);
    const back = new TransactionIndex(dir, 10);
    strictEqual(await back.load(), "");
    deepStrictEqual(back.entries, idx.entries);
    await Deno.writeFile(idx.path, new Uint8Array(3), { append: true });
    strictEqual(await back.load(), "transaction index: size 37 is not a multiple of 34");
    deepStrictEqual(back.entries, []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
