// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * Many partitions, measured on the storage engine alone: time to create N partitions, the time
 * another topic's creation takes while a topic grows to N partitions, appends to each, close,
 * open, read back, with the descriptors the process holds (sampled from `/proc/self/fd`) and its
 * RSS. Run it under a low open-file limit to see the handle cache at work (figures in
 * `docs/PARTITIONS.md`).
 *
 * @example
 * ```sh
 * prlimit --nofile=1024:1024 deno run -A bench/partitions.ts 10000
 * ```
 *
 * Needs `-A` (reads `/proc/self/fd` and `/proc/self/limits`).
 *
 * @module
 */

import { LogManager } from "../engine/mod.ts";
import { makeBatch } from "../engine/testdata/helpers.ts";

const n = Number(Deno.args[0] ?? 2000);
const dir = await Deno.makeTempDir({ prefix: "sluice-partitions-bench-" });
const fds = () => [...Deno.readDirSync("/proc/self/fd")].length;
let peak = 0;
const sampler = setInterval(() => peak = Math.max(peak, fds()), 10);
const opts = { retentionCheckIntervalMs: 0, flushCheckpointIntervalMs: 0, cleanerBackoffMs: 0 };
const secs = (t: number) => `${((performance.now() - t) / 1000).toFixed(1)} s`;
const rss = () => `${(Deno.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB`;
console.log(`${n} partitions; ${fds()} descriptors open at start`);
let mgr = await LogManager.open(dir, opts);
console.log(`segment handle bound: ${mgr.openFileStats().capacity}`);
let t = performance.now();
try {
  await mgr.createTopic("a", n);
  console.log(`create topic a: ${secs(t)} (descriptors ${fds()}, peak ${peak})`);
  await mgr.createTopic("g", 1);
  const grow = mgr.createPartitions("g", n);
  await new Promise((r) => setTimeout(r, 200));
  t = performance.now();
  await mgr.createTopic("b", 1);
  console.log(`create topic b while g grows to ${n}: ${secs(t)}`);
  t = performance.now();
  await grow;
  console.log(`rest of g's growth: ${secs(t)}`);
  t = performance.now();
  for (let p = 0; p < n; p++) {
    await mgr.partition("a", p)!.append(makeBatch(3, 10, Date.now(), `p${p}`));
  }
  console.log(`append to each of a, one by one: ${secs(t)} (peak ${peak}, rss ${rss()})`);
  t = performance.now();
  await mgr.close();
  console.log(`close: ${secs(t)}`);
  t = performance.now();
  mgr = await LogManager.open(dir, opts);
  console.log(`open: ${secs(t)} (descriptors ${fds()}, peak ${peak}, rss ${rss()})`);
  t = performance.now();
  let missing = 0;
  for (let p = 0; p < n; p++) {
    if ((await mgr.partition("a", p)!.read(0, 1 << 20)).records.length === 0) missing++;
  }
  console.log(`read each of a back: ${secs(t)}, ${missing} missing (peak ${peak})`);
  console.log(`handle cache: ${JSON.stringify(mgr.openFileStats())}`);
  await mgr.close();
} catch (e) {
  console.log(`failed after ${secs(t)}: ${e instanceof Error ? e.message : e} (peak ${peak})`);
} finally {
  clearInterval(sampler);
  await Deno.remove(dir, { recursive: true });
}
