// LogSegment.append's `duringWrite` hook: it runs while the write is in flight; if it throws, the
// file is truncated back and the segment (size, index, hot tail) is unchanged.
import assert from "node:assert/strict";
import { LogSegment } from "./segment.ts";
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
