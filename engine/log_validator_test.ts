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

Deno.test("message.timestamp.before/after.max.ms: every record's timestamp is checked, as Kafka's LogValidator does", async () => {
  const dir = await Deno.makeTempDir();
  const mgr = await LogManager.open(dir, { retentionCheckIntervalMs: 0, cleanerBackoffMs: 0 });
  try {
    const day = 86_400_000;
    await mgr.createTopic("ts", 1, {
      "message.timestamp.before.max.ms": String(day),
      "message.timestamp.after.max.ms": String(day),
    });
    const log = mgr.partition("ts", 0)!;
    const now = Date.now();
    const invalid = (e: unknown) =>
      e instanceof EngineError && e.code === ErrorCode.INVALID_TIMESTAMP;
    // A log shipper's batch: a current line, then one replayed from two days ago (omkafka sets
    // each record's timestamp from its syslog header). The batch's base timestamp is in range.
    for (const compression of ["none", "gzip"] as const) {
      const mixed = encodeRecordBatch([
        { value: new Uint8Array([1]), timestamp: now },
        { value: new Uint8Array([2]), timestamp: now - 2 * day },
      ], { compression });
      await assert.rejects(() => log.append(mixed), invalid);
    }
    // A timestamp below zero other than -1 (none) is out of range like any other.
    await assert.rejects(
      () => log.append(encodeRecordBatch([{ value: null, timestamp: -5 }])),
      invalid,
    );
    // Too far ahead, in the second record.
    await assert.rejects(
      () =>
        log.append(encodeRecordBatch([
          { value: null, timestamp: now },
          { value: null, timestamp: now + 2 * day },
        ])),
      invalid,
    );
    assert.equal(log.logEndOffset, 0);
    // Within range on both sides, and -1 (no timestamp): written.
    const fine = encodeRecordBatch([
      { value: null, timestamp: now - day / 2 },
      { value: null, timestamp: now + day / 2 },
      { value: null, timestamp: -1 },
    ]);
    assert.equal((await log.append(fine)).baseOffset, 0);
    assert.equal(log.logEndOffset, 3);
  } finally {
    await mgr.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("LogAppendTime topics ignore the producer's timestamps (no before/after check)", async () => {
  const dir = await Deno.makeTempDir();
  const mgr = await LogManager.open(dir, { retentionCheckIntervalMs: 0, cleanerBackoffMs: 0 });
  try {
    await mgr.createTopic("lat", 1, {
      "message.timestamp.type": "LogAppendTime",
      "message.timestamp.before.max.ms": "1000",
    });
    const log = mgr.partition("lat", 0)!;
    const old = encodeRecordBatch([
      { value: null, timestamp: Date.now() },
      { value: null, timestamp: 5 },
    ]);
    assert.equal((await log.append(old)).baseOffset, 0);
  } finally {
    await mgr.close();
    await Deno.remove(dir, { recursive: true });
  }
});
