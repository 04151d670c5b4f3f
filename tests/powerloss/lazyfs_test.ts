// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * The power-cut file system itself: after a cut, exactly what was fsynced survives (file bytes
 * after fsync of the file, entries after fsync of the parent directory).
 */

import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { LazyFs, lazyFsUnavailable } from "./lazyfs.ts";

const unavailable = await lazyFsUnavailable();
const ci = Deno.env.get("CI") === "true";
if (unavailable) console.warn(`${unavailable}: ${ci ? "failing (CI=true)" : "skipping"}`);

const enc = new TextEncoder();

async function syncDir(dir: string): Promise<void> {
  const f = await Deno.open(dir, { read: true });
  try {
    await f.sync();
  } finally {
    f.close();
  }
}

async function write(path: string, text: string, sync: "data" | "all" | "none"): Promise<void> {
  const f = await Deno.open(path, { write: true, create: true, truncate: true });
  try {
    await f.write(enc.encode(text));
    if (sync === "data") await f.syncData();
    if (sync === "all") await f.sync();
  } finally {
    f.close();
  }
}

async function tree(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (d: string, prefix: string) => {
    for await (const e of Deno.readDir(d)) {
      if (e.isDirectory) {
        out[`${prefix}${e.name}/`] = "";
        await walk(`${d}/${e.name}`, `${prefix}${e.name}/`);
      } else out[prefix + e.name] = await Deno.readTextFile(`${d}/${e.name}`);
    }
  };
  await walk(dir, "");
  return Object.fromEntries(Object.entries(out).sort());
}

async function withFs(
  seed: Record<string, string>,
  fn: (mnt: string) => Promise<void>,
  cut = true,
): Promise<Record<string, string>> {
  const work = await Deno.makeTempDir({ prefix: "sluice_lazyfs_" });
  const backing = `${work}/backing`;
  await Deno.mkdir(backing);
  for (const [p, text] of Object.entries(seed)) {
    if (p.endsWith("/")) await Deno.mkdir(`${backing}/${p}`, { recursive: true });
    else await Deno.writeTextFile(`${backing}/${p}`, text);
  }
  const fs = await LazyFs.mount(backing, `${work}/mnt`);
  try {
    await fn(fs.mountpoint);
  } finally {
    if (cut) await fs.cut();
    else await fs.unmount();
  }
  const out = await tree(backing);
  await Deno.remove(work, { recursive: true });
  return out;
}

Deno.test({
  name: "lazyfs: a cut keeps fsynced bytes and drops the rest",
  ignore: unavailable !== null && !ci,
  async fn() {
    if (unavailable) throw new Error(unavailable);
    const after = await withFs({ "old": "durable" }, async (m) => {
      await write(`${m}/synced`, "hello", "data");
      const f = await Deno.open(`${m}/synced`, { write: true, append: true });
      await f.write(enc.encode(" world")); // after the fsync: lost
      f.close();
      await write(`${m}/never`, "lost", "none");
      await syncDir(m);
      const o = await Deno.open(`${m}/old`, { write: true });
      await o.truncate(2); // not fsynced: the old content comes back
      o.close();
    });
    assertEquals(after, { "never": "", "old": "durable", "synced": "hello" });
  },
});

Deno.test({
  name: "lazyfs: entries are durable only after their parent directory is fsynced",
  ignore: unavailable !== null && !ci,
  async fn() {
    if (unavailable) throw new Error(unavailable);
    const after = await withFs({ "a": "A", "b": "B", "gone": "G", "d/": "" }, async (m) => {
      await write(`${m}/new`, "N", "all"); // file synced, directory not: no entry
      await Deno.rename(`${m}/a`, `${m}/a2`); // not synced: stays "a"
      await Deno.remove(`${m}/gone`); // not synced: comes back
      await Deno.mkdir(`${m}/sub`); // parent never synced: the whole subtree is lost
      await write(`${m}/sub/f`, "F", "all");
      await syncDir(`${m}/sub`);
      await write(`${m}/d/x`, "X", "all");
      await syncDir(`${m}/d`); // d existed: x survives
      await write(`${m}/b.tmp`, "B2", "all");
      await Deno.rename(`${m}/b.tmp`, `${m}/b`);
    });
    assertEquals(after, { "a": "A", "b": "B", "d/": "", "d/x": "X", "gone": "G" });

    const synced = await withFs({ "a": "A", "b": "B", "gone": "G" }, async (m) => {
      await Deno.rename(`${m}/a`, `${m}/a2`);
      await Deno.remove(`${m}/gone`);
      await Deno.mkdir(`${m}/sub`);
      await write(`${m}/sub/f`, "F", "all");
      await syncDir(`${m}/sub`);
      await write(`${m}/b.tmp`, "B2", "all");
      await Deno.rename(`${m}/b.tmp`, `${m}/b`);
      await syncDir(m);
      await write(`${m}/late`, "L", "all"); // after the last directory fsync
    });
    assertEquals(synced, { "a2": "A", "b": "B2", "sub/": "", "sub/f": "F" });
  },
});

Deno.test({
  name: "lazyfs: an unmount without a cut keeps everything",
  ignore: unavailable !== null && !ci,
  async fn() {
    if (unavailable) throw new Error(unavailable);
    const after = await withFs({}, async (m) => {
      await Deno.mkdir(`${m}/d`);
      await write(`${m}/d/f`, "kept", "none");
    }, false);
    assertEquals(after, { "d/": "", "d/f": "kept" });
  },
});
