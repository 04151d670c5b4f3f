import assert from "node:assert/strict";
import { EngineError, ErrorCode, LogManager } from "./mod.ts";
import { concatBytes, fixCrc, makeBatch, prng, splitBatches } from "./testdata/helpers.ts";

Deno.test("fuzz: mutated batches are appended whole or refused with a Kafka error, never a crash", async () => {
  const dir = await Deno.makeTempDir();
  const mgr = await LogManager.open(dir, { retentionCheckIntervalMs: 0 });
  try {
    await mgr.createTopic("fz", 1, { "segment.bytes": "20000", "max.message.bytes": "5000" });
    const log = mgr.partition("fz", 0)!;
    const rand = prng(99);
    let accepted = 0;
    for (let i = 0; i < 1500; i++) {
      const parts = [
        makeBatch(1 + Math.floor(rand() * 4), Math.floor(rand() * 100), Date.now(), `z${i}`),
      ];
      if (rand() < 0.3) parts.push(makeBatch(2, 20, Date.now(), `y${i}`));
      const buf = concatBytes(parts);
      const mutations = Math.floor(rand() * 4);
      for (let m = 0; m < mutations; m++) {
        const kind = rand();
        const at = Math.floor(rand() * buf.length);
        if (kind < 0.6) buf[at] ^= 1 << Math.floor(rand() * 8);
        else buf[at] = Math.floor(rand() * 256);
      }
      if (rand() < 0.5) fixCrc(buf); // reach the record-level checks too
      const cut = rand() < 0.1 ? buf.subarray(0, Math.floor(rand() * buf.length)) : buf;
      const leo = log.logEndOffset;
      try {
        const r = await log.append(cut);
        assert.equal(r.baseOffset, leo);
        accepted++;
      } catch (e) {
        assert.ok(e instanceof EngineError, `not an EngineError: ${e}`);
        assert.ok(
          ([
            ErrorCode.CORRUPT_MESSAGE,
            ErrorCode.INVALID_RECORD,
            ErrorCode.MESSAGE_TOO_LARGE,
            ErrorCode.INVALID_TIMESTAMP,
          ] as number[])
            .includes(e.code),
          `unexpected code ${e.code}: ${e.message}`,
        );
        assert.match(e.message, /^append to fz-0 failed: /);
        assert.equal(log.logEndOffset, leo);
      }
    }
    assert.ok(accepted > 100);
    // everything stored reads back as valid, contiguous batches
    let off = 0;
    while (off < log.logEndOffset) {
      const got = splitBatches((await log.read(off, 1 << 20)).records);
      assert.equal(got[0].baseOffset, off);
      off = got[got.length - 1].lastOffset + 1;
    }
  } finally {
    await mgr.close();
    await Deno.remove(dir, { recursive: true });
  }
});
