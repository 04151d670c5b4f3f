import assert from "node:assert/strict";
import { LogManager } from "./log_manager.ts";
import { makeBatch } from "./testdata/helpers.ts";
import {
  MAX_TRANSIENT_FILES,
  resetTransientFilePeak,
  transientFileStats,
  withTransientFile,
} from "./transient_files.ts";

/**
 * Counts descriptors the process's file calls hold at once (a call that opens one holds it from
 * the call until its handle is closed or its promise settles). Restore with the returned function.
 */
function countOpenFiles(): { peak: () => number; restore: () => void } {
  const d = Deno as unknown as Record<string, unknown>;
  const saved: Record<string, unknown> = {};
  let live = 0;
  let peak = 0;
  const up = () => {
    if (++live > peak) peak = live;
  };
  const open = Deno.open;
  saved.open = open;
  d.open = async (path: string | URL, options?: Deno.OpenOptions) => {
    up();
    let f: Deno.FsFile;
    try {
      f = await open(path, options);
    } catch (e) {
      live--;
      throw e;
    }
    const close = f.close.bind(f);
    f.close = () => {
      live--;
      close();
    };
    return f;
  };
  for (const name of ["readFile", "readTextFile", "writeFile", "writeTextFile"]) {
    const fn = d[name] as (...args: unknown[]) => Promise<unknown>;
    saved[name] = fn;
    d[name] = async (...args: unknown[]) => {
      up();
      try {
        return await fn(...args);
      } finally {
        live--;
      }
    };
  }
  return {
    peak: () => peak,
    restore: () => Object.assign(d, saved),
  };
}

Deno.test("transient files: at most MAX_TRANSIENT_FILES sections run at once; the rest wait their turn", async () => {
  resetTransientFilePeak();
  let running = 0;
  let most = 0;
  const order: number[] = [];
  await Promise.all(Array.from({ length: 100 }, (_, i) =>
    withTransientFile(async () => {
      most = Math.max(most, ++running);
      await new Promise((r) => setTimeout(r, 1));
      running--;
      order.push(i);
    })));
  assert.equal(most, MAX_TRANSIENT_FILES);
  assert.equal(order.length, 100);
  assert.deepEqual(transientFileStats(), { active: 0, peak: MAX_TRANSIENT_FILES });
  // a section that throws gives its slot back
  await assert.rejects(withTransientFile(() => Promise.reject(new Error("boom"))), /boom/);
  assert.equal(transientFileStats().active, 0);
});

Deno.test("log manager: the first appends to 600 never-used partitions at once hold at most the handle bound plus MAX_TRANSIENT_FILES descriptors", async () => {
  const dir = await Deno.makeTempDir();
  const opts = {
    retentionCheckIntervalMs: 0,
    flushCheckpointIntervalMs: 0,
    cleanerBackoffMs: 0,
    maxOpenFiles: 64,
  };
  const n = 600;
  try {
    let mgr = await LogManager.open(dir, opts);
    await mgr.createTopic("t", n);
    await mgr.close(); // the partitions are never-used holes after a clean restart
    mgr = await LogManager.open(dir, opts);
    const counter = countOpenFiles();
    try {
      // each first append makes the segment's .log file, then its three index files while it
      // holds the .log handle: without a bound on those, twice the handle bound at once
      await Promise.all(Array.from(
        { length: n },
        (_, p) => mgr.partition("t", p)!.append(makeBatch(2, 50, Date.now(), `${p}`)),
      ));
      await mgr.flush(); // fsyncs every partition's directory
      await mgr.close();
    } finally {
      counter.restore();
    }
    assert.ok(
      counter.peak() > opts.maxOpenFiles &&
        counter.peak() <= opts.maxOpenFiles + MAX_TRANSIENT_FILES,
      `${counter.peak()} descriptors held at once`,
    );
    mgr = await LogManager.open(dir, opts);
    for (let p = 0; p < n; p++) assert.equal(mgr.partition("t", p)!.logEndOffset, 2);
    await mgr.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
