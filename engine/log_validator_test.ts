import assert from "node:assert/strict";
import { EngineError, ErrorCode, LogManager } from "./mod.ts";
import { encodeRecordBatch } from "../records/mod.ts";

Deno.test("compacted topic: a batch inflating past the decompression bound is refused, not opened", async () => {
  const dir = await Deno.makeTempDir();
  const mgr = await LogManager.open(dir, { retentionCheckIntervalMs: 0, cleanerBackoffMs: 0 });
  try {
    await mgr.createTopic("bomb", 1, { "cleanup.policy": "compact" });
    const log = mgr.partition("bomb", 0)!;
    const key = new Uint8Array([1]);
    // 80 MiB of zeros: a few KiB as zstd, past the 64 MiB bound of a small batch
    const bomb = encodeRecordBatch([{ key, value: new Uint8Array(80 << 20) }], {
      compression: "zstd",
    });
    assert.ok(bomb.length < 64 * 1024, `${bomb.length} bytes compressed`);
    await assert.rejects(
      () => log.append(bomb),
      (e: unknown) =>
        e instanceof EngineError && e.code === ErrorCode.INVALID_RECORD &&
        /batch 0 cannot be read: .*larger than the limit of 67108864 bytes/.test(e.message),
    );
    assert.equal(log.logEndOffset, 0);
    // a batch that inflates less (8 MiB) is fine
    const ok = encodeRecordBatch([{ key, value: new Uint8Array(8 << 20) }], {
      compression: "zstd",
    });
    assert.equal((await log.append(ok)).baseOffset, 0);
  } finally {
    await mgr.close();
    await Deno.remove(dir, { recursive: true });
  }
});
