// Copyright 2026 the Sluice authors. Apache-2.0 license.
import assert from "node:assert/strict";
import { batchBytesFor, measureFileRewrite, measureFileWrite } from "./baselines.ts";

async function names(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) out.push(e.name);
  return out.sort();
}

Deno.test("baselines: a kept write leaves exactly its bytes; the others leave nothing", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sluice-baselines-" });
  try {
    const kept = await measureFileWrite(dir, 1_000_000, 262_144, false, true);
    assert.equal((await Deno.stat(kept.path)).size, 1_000_000);
    const bytes = await Deno.readFile(kept.path);
    assert.deepEqual([bytes[0], bytes[25], bytes[26], bytes[262_144]], [97, 122, 97, 97]);
    assert.deepEqual(await names(dir), [kept.path.slice(dir.length + 1)]);
    const synced = await measureFileWrite(dir, 300_000, 100_000, true);
    assert.deepEqual([synced.bytes, synced.batchBytes], [300_000, 100_000]);
    assert.ok(synced.mbPerSec > 0 && "path" in synced);
    const rewrite = await measureFileRewrite(dir, 500_000, batchBytesFor(1024));
    assert.deepEqual([rewrite.bytes, rewrite.batchBytes, "path" in rewrite], [
      500_000,
      262_144,
      false,
    ]);
    assert.deepEqual(await names(dir), [kept.path.slice(dir.length + 1)]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
