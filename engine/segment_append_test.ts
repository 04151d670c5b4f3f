// LogSegment.append's `duringWrite` hook: it runs while the write is in flight; if it throws, the
// file is truncated back and the segment (size, index, hot tail) is unchanged.
import assert from "node:assert/strict";
import { LogSegment } from "./segment.ts";
import { UNREAD_LIMIT } from "./hot_tail.ts";
import { bytesEqual, concatBytes, makeBatch, splitBatches } from "./testdata/helpers.ts";
import { setBaseOffsetAt } from "../records/mod.ts";

function batchAt(base: number, count: number, valueBytes: number, tag: string): Uint8Array {
  const b = makeBatch(count, valueBytes, 1_700_000_000_000, tag);
  setBaseOffsetAt(b, 0, base);
  return b;
}

async function appendOne(
  seg: LogSegment,
  batch: Uint8Array,
  base: number,
  count: number,
  duringWrite?: () => void,
): Promise<void> {
  await seg.append(
    batch,
    [batch.length],
    [base],
    [base + count - 1],
    [1_700_000_000_000],
    4096,
    duringWrite,
  );
}

Deno.test("LogSegment.append: a throwing duringWrite truncates back and changes nothing", async () => {
  const dir = await Deno.makeTempDir();
  const seg = await LogSegment.create(dir, 0);
  seg.activate(8 << 20);
  try {
    const first = batchAt(0, 10, 100, "first");
    await appendOne(seg, first, 0, 10);
    const size = seg.size;
    assert.equal(size, first.length);
    for (const [label, valueBytes] of [["small (sync-size)", 100], ["large", 1024]] as const) {
      const bad = batchAt(10, 400, valueBytes, "bad");
      let calls = 0;
      await assert.rejects(
        () =>
          appendOne(seg, bad, 10, 400, () => {
            calls++;
            throw new RangeError("check failed: bad CRC");
          }),
        (e: unknown) => e instanceof RangeError && e.message === "check failed: bad CRC",
        label,
      );
      assert.equal(calls, 1, label);
      assert.equal(seg.size, size, label);
      assert.equal((await Deno.stat(seg.logPath)).size, size, label);
      assert.equal(await seg.locate(10), null, label); // not in the index nor the hot tail
    }
    // the next append lands where the failed one would have, and reads see exactly it
    const next = batchAt(10, 300, 1024, "next");
    let ran = 0;
    await appendOne(seg, next, 10, 300, () => ran++);
    assert.equal(ran, 1);
    assert.equal(seg.size, first.length + next.length);
    const file = await Deno.readFile(seg.logPath);
    assert.ok(bytesEqual(file, concatBytes([first, next])));
    assert.deepEqual(splitBatches(file).map((b) => b.baseOffset), [0, 10]);
    const loc = await seg.locate(150);
    assert.deepEqual(loc, {
      position: first.length,
      size: next.length,
      baseOffset: 10,
      lastOffset: 309,
    });
  } finally {
    await seg.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("LogSegment: a hot tail nobody reads empties itself; read() and readInto() fill it again, and every read answers the bytes written", async () => {
  const dir = await Deno.makeTempDir();
  const seg = await LogSegment.create(dir, 0);
  const cap = 64 * 1024;
  seg.activate(cap);
  try {
    const written: Uint8Array[] = [];
    let base = 0;
    const add = async () => {
      const b = batchAt(base, 10, 1000, `b${base}`); // ~10 KB
      await appendOne(seg, b, base, 10);
      written.push(b);
      base += 10;
    };
    // more than UNREAD_LIMIT × the capacity, no reader: nothing held
    while (seg.size <= UNREAD_LIMIT * cap) await add();
    await add();
    assert.equal(seg.tail!.count, 0);
    // a read (from the file) says someone reads: the next batches are held
    const all = concatBytes(written);
    const r = await seg.read(0, 1 << 20, base);
    assert.ok(r !== null && bytesEqual(r, all.subarray(0, r.length)));
    await add();
    await add();
    assert.equal(seg.tail!.count, 2);
    assert.equal(seg.tail!.firstOffset, base - 20);
    const fromTail = await seg.read(base - 20, 1 << 20, base);
    assert.ok(bytesEqual(fromTail!, concatBytes(written.slice(-2))));
    // readInto keeps it filled too, as long as reads come
    for (let i = 0; i < 30; i++) {
      await add();
      const dest = new Uint8Array(64 * 1024);
      const got = await seg.readInto(base - 10, dest, base);
      assert.ok(got !== null && bytesEqual(dest.subarray(0, got.bytes), written.at(-1)!));
    }
    assert.ok(seg.tail!.count > 0);
  } finally {
    await seg.close();
    await Deno.remove(dir, { recursive: true });
  }
});
