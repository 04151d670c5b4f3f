// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * The floor under a broker's CPU per MB of produced 1 KiB records on this machine (issue #17):
 * what any broker that checks each batch in the WASM core and writes it to the page cache pays,
 * whatever else it does, measured as CPU time (nanoseconds on CPU of this process's threads, or of
 * this thread, from `/proc`: `tests/process_usage.ts`, Linux), not wall time:
 *
 * - `scanBatches` of a 1 MB batch of 1,000 × 1 KiB records (copy into WASM memory, CRC-32C,
 *   record walk), on this thread;
 * - a 1 MiB write into a new file's page cache, through Deno's async `FsFile.write` (the write
 *   runs on Deno's blocking thread pool, as `LogSegment.append` writes large spans) and through
 *   `writeSync` (on this thread), alternated, the file removed after each run.
 *
 * Compare the sum with librdkafka's mock cluster's CPU per MB in the same minutes
 * (`deno task bench:e2e --peer mock --workloads produce-1kib`): the mock neither checks nor
 * writes.
 *
 * ```sh
 * deno run --allow-all bench/produce_floor.ts [ROUNDS]
 * ```
 *
 * @module
 */

import { scanBatches } from "../wasm/core.ts";
import { buildBatch } from "../wasm/testing.ts";
import { cpuBetween, processUsage, threadCpuNs } from "../tests/process_usage.ts";

const MiB = 1 << 20;
const WRITES = 200;
const SCANS = 400;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

async function writes(dir: string, sync: boolean): Promise<number> {
  const path = `${dir}/${sync ? "sync" : "async"}.log`;
  const buf = new Uint8Array(MiB).fill(7);
  using f = await Deno.open(path, { create: true, write: true, truncate: true });
  const before = await processUsage(Deno.pid);
  for (let i = 0; i < WRITES; i++) {
    buf[i] = i; // a new frame each time, as the socket would fill one
    if (sync) {
      let off = f.writeSync(buf);
      while (off < buf.length) off += f.writeSync(buf.subarray(off));
    } else {
      let off = await f.write(buf);
      while (off < buf.length) off += await f.write(buf.subarray(off));
    }
  }
  const ms = cpuBetween(before, await processUsage(Deno.pid)).seconds * 1000;
  await Deno.remove(path);
  return ms / (WRITES * MiB / 1e6);
}

function scans(): number {
  const value = new Uint8Array(1024);
  for (let i = 0; i < value.length; i++) value[i] = (i * 2654435761) >>> 24;
  const batch = buildBatch({
    records: Array.from({ length: 1000 }, () => ({ key: null, value })),
  });
  for (let i = 0; i < 20; i++) scanBatches(batch); // warm up
  const before = threadCpuNs();
  for (let i = 0; i < SCANS; i++) {
    if (scanBatches(batch).count !== 1) throw new Error("produce_floor: the batch did not scan");
  }
  return (threadCpuNs() - before) / 1e6 / (SCANS * batch.length / 1e6);
}

if (import.meta.main) {
  const rounds = Number(Deno.args[0] ?? 5);
  const dir = await Deno.makeTempDir({ prefix: "sluice-floor-" });
  const got = { scan: [] as number[], async: [] as number[], sync: [] as number[] };
  try {
    for (let r = 0; r < rounds; r++) {
      got.scan.push(scans());
      const order = r % 2 ? [true, false] : [false, true];
      for (const sync of order) (sync ? got.sync : got.async).push(await writes(dir, sync));
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  const show = (xs: number[]) =>
    `${median(xs).toFixed(3)} (${xs.map((x) => x.toFixed(3)).join(" ")})`;
  console.log(`CPU ms per MB, medians of ${rounds} rounds (each round's figure in brackets)`);
  console.log(`scanBatches, 1 MB of 1 KiB records: ${show(got.scan)}`);
  console.log(`page-cache write, async (thread pool): ${show(got.async)}`);
  console.log(`page-cache write, writeSync:           ${show(got.sync)}`);
  console.log(
    `floor (scan + async write): ${(median(got.scan) + median(got.async)).toFixed(3)} ms per MB`,
  );
}
