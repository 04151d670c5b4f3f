/**
 * Log cleaner bench (`deno bench --allow-all engine/cleaner_bench.ts`): one forced pass over a
 * 32 MiB compacted log (100-byte values, batches of 100 records, 10k keys, 1 MiB segments: ~93%
 * of the records are superseded) vs the baseline, a sequential read of the same log through
 * `PartitionLog.read`. Each iteration cleans a fresh copy of the prepared data dir (the copy and
 * the open are outside the timed part). Cleaning throughput = log bytes / time.
 *
 * @module
 */

import { LogManager } from "./mod.ts";
import { buildBatch, type TestRecord } from "../wasm/testing.ts";
import { nextOffsetAfter } from "../records/mod.ts";

const LOG_BYTES = 32 << 20;
const root = await Deno.makeTempDir({ prefix: "sluice-cleaner-bench-" });
globalThis.addEventListener("unload", () => {
  try {
    Deno.removeSync(root, { recursive: true });
  } catch {
    // already gone
  }
});

const template = `${root}/template`;
{
  const mgr = await LogManager.open(template, { cleanerBackoffMs: 0 });
  await mgr.createTopic("c", 1, { "cleanup.policy": "compact", "segment.bytes": "1048576" });
  const log = mgr.partition("c", 0)!;
  const value = "v".repeat(100);
  let i = 0;
  while (log.sizeInBytes < LOG_BYTES) {
    const records: TestRecord[] = [];
    for (let j = 0; j < 100; j++, i++) records.push({ key: `key-${(i * 7919) % 10_000}`, value });
    await log.append(buildBatch({ records, baseTimestamp: Date.now() }));
  }
  await mgr.close();
}

async function copyDir(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const e of Deno.readDir(from)) {
    if (e.isDirectory) await copyDir(`${from}/${e.name}`, `${to}/${e.name}`);
    else await Deno.copyFile(`${from}/${e.name}`, `${to}/${e.name}`);
  }
}

let n = 0;
Deno.bench("read the 32 MiB log", { group: "clean", baseline: true }, async (b) => {
  const mgr = await LogManager.open(template, { cleanerBackoffMs: 0 });
  const log = mgr.partition("c", 0)!;
  b.start();
  let off = 0;
  while (off < log.logEndOffset) {
    const { records } = await log.read(off, 1 << 20);
    off = nextOffsetAfter(records) ?? off;
  }
  b.end();
  await mgr.close();
});

Deno.bench("clean the 32 MiB log (one forced pass)", { group: "clean" }, async (b) => {
  const dir = `${root}/run-${n++}`;
  await copyDir(template, dir);
  const mgr = await LogManager.open(dir, { cleanerBackoffMs: 0 });
  b.start();
  const [s] = await mgr.runCleaner({ force: true });
  b.end();
  if (!s.cleaned) throw new Error(`bench: not cleaned: ${s.reason}`);
  await mgr.close();
  await Deno.remove(dir, { recursive: true });
});
