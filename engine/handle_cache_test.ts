import assert from "node:assert/strict";
import { type CachedHandle, FileHandleCache, openFileLimit } from "./handle_cache.ts";
import { LogManager } from "./log_manager.ts";
import { LogSegment } from "./segment.ts";
import { makeBatch } from "./testdata/helpers.ts";

function fake(name: string, log: string[], busy = () => false): CachedHandle {
  return {
    tryClose: () => {
      if (busy()) return false;
      log.push(name);
      return true;
    },
  };
}

Deno.test("handle cache: least recently used idle handles are closed first", async () => {
  const cache = new FileHandleCache(3);
  const closed: string[] = [];
  let bBusy = true;
  const [a, b, c, d, e] = ["a", "b", "c", "d", "e"].map((n) =>
    fake(n, closed, n === "b" ? () => bBusy : undefined)
  );
  for (const h of [a, b, c]) {
    await cache.acquire();
    cache.opened(h);
  }
  cache.touch(a); // order, oldest first: b c a
  await cache.acquire(); // b is busy: c goes
  cache.opened(d);
  assert.deepEqual(closed, ["c"]);
  bBusy = false;
  await cache.acquire(); // now b is idle and the oldest
  cache.opened(e);
  assert.deepEqual(closed, ["c", "b"]);
  assert.deepEqual(cache.stats(), {
    capacity: 3,
    open: 3,
    peak: 3,
    opens: 5,
    evictions: 2,
    waits: 0,
  });
});

Deno.test("handle cache: an open waits while every handle is in use, then takes the first idle one", async () => {
  const cache = new FileHandleCache(2);
  const closed: string[] = [];
  const busy = new Set(["a", "b"]);
  const a = fake("a", closed, () => busy.has("a"));
  const b = fake("b", closed, () => busy.has("b"));
  for (const h of [a, b]) {
    await cache.acquire();
    cache.opened(h);
  }
  let got = false;
  const waiting = cache.acquire().then(() => got = true);
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(got, false);
  assert.equal(cache.waiting, true);
  busy.delete("b");
  cache.idle(b); // b's I/O finished
  await waiting;
  assert.deepEqual(closed, ["b"]);
  cache.opened(fake("c", closed));
  assert.equal(cache.stats().open, 2);
  assert.equal(cache.stats().waits, 1);
  // a failed open gives its room back
  busy.delete("a");
  await cache.acquire();
  cache.cancel();
  assert.equal(cache.stats().open, 1);
});

Deno.test("handle cache: EMFILE lowers the bound to three quarters of the open handles", async () => {
  const lines: string[] = [];
  const cache = new FileHandleCache(100, { logger: (m) => lines.push(m) });
  const closed: string[] = [];
  for (let i = 0; i < 40; i++) {
    await cache.acquire();
    cache.opened(fake(String(i), closed));
  }
  assert.equal(cache.shrinkAfterEmfile(), true);
  assert.equal(cache.capacity, 30);
  assert.equal(cache.stats().open, 30);
  assert.deepEqual(closed, Array.from({ length: 10 }, (_, i) => String(i)));
  assert.match(lines[0], /lowering sluice\.log\.max\.open\.files from 100 to 30/);
  assert.equal(new FileHandleCache(16).shrinkAfterEmfile(), false);
});

Deno.test("handle cache: the open-file limit is read from /proc/self/limits", () => {
  const limit = openFileLimit();
  if (Deno.build.os === "linux") assert.ok(limit !== undefined && limit > 0, String(limit));
});

Deno.test("segment: a reader in flight keeps its handle; other opens wait for it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const cache = new FileHandleCache(1);
    const a = await LogSegment.create(dir, 0, cache);
    const b = await LogSegment.create(dir, 100, cache);
    const batchA = makeBatch(5, 100, Date.now(), "a");
    const batchB = makeBatch(5, 100, Date.now(), "b");
    await a.append(batchA, [batchA.length], [0], [4], [Date.now()], 4096);
    await b.append(batchB, [batchB.length], [100], [104], [Date.now()], 4096);
    // many reads of both at once: never more than one handle open, every read correct
    const reads = [];
    for (let i = 0; i < 50; i++) {
      reads.push(a.readBytes(0, batchA.length), b.readBytes(0, batchB.length));
    }
    const got = await Promise.all(reads);
    for (let i = 0; i < got.length; i += 2) {
      assert.deepEqual(got[i], batchA);
      assert.deepEqual(got[i + 1], batchB);
    }
    const s = cache.stats();
    assert.equal(s.peak, 1);
    assert.ok(s.waits > 0 && s.evictions > 0, JSON.stringify(s));
    assert.equal(a.hasOpenHandle !== b.hasOpenHandle, true);
    // a long read (recovery reads 24 MiB in 8 MiB chunks) keeps its handle while others wait
    let next = 5;
    for (let i = 0; i < 24; i++) {
      const big = makeBatch(1000, 1000, Date.now(), `big${i}`);
      new DataView(big.buffer).setBigInt64(0, BigInt(next));
      await a.append(big, [big.length], [next], [next + 999], [Date.now()], 4096);
      next += 1000;
    }
    const waitsBefore = cache.stats().waits;
    const [recovered] = await Promise.all([
      a.recover(4096),
      ...Array.from({ length: 20 }, () => b.readBytes(0, batchB.length)),
    ]);
    assert.deepEqual([recovered.truncatedBytes, a.nextOffset], [0, next]);
    assert.ok(cache.stats().waits > waitsBefore);
    // a renamed segment reopens under its new name
    await a.renameToDeleted();
    await b.readBytes(0, 8); // a's handle is closed to make room
    assert.equal(a.hasOpenHandle, false);
    assert.deepEqual(await a.readBytes(0, batchA.length), batchA);
    await a.close();
    await b.close();
    assert.equal(cache.stats().open, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("log manager: 300 partitions written and read at once through 8 handles", async () => {
  const dir = await Deno.makeTempDir();
  const opts = {
    retentionCheckIntervalMs: 0,
    flushCheckpointIntervalMs: 0,
    cleanerBackoffMs: 0,
    maxOpenFiles: 8,
    defaults: { "segment.bytes": "20000" }, // several segments each
  };
  try {
    let mgr = await LogManager.open(dir, opts);
    await mgr.createTopic("t", 300);
    const n = 300;
    for (let round = 0; round < 6; round++) {
      await Promise.all(
        Array.from(
          { length: n },
          (_, p) => mgr.partition("t", p)!.append(makeBatch(10, 500, Date.now(), `${p}/${round}`)),
        ),
      );
    }
    const check = async (m: LogManager) => {
      await Promise.all(Array.from({ length: n }, async (_, p) => {
        const log = m.partition("t", p)!;
        assert.equal(log.logEndOffset, 60);
        assert.ok(log.segmentCount > 1);
        let off = 0;
        while (off < 60) {
          const r = await log.read(off, 1 << 20);
          assert.ok(r.records.length > 0);
          off = Number(new DataView(r.records.buffer, r.records.byteOffset).getBigInt64(0)) + 10;
        }
      }));
      const s = m.openFileStats();
      assert.equal(s.capacity, 8);
      assert.ok(s.peak <= 8 && s.opens >= n, JSON.stringify(s)); // every handle went through it
    };
    await check(mgr);
    await mgr.close();
    mgr = await LogManager.open(dir, opts);
    await check(mgr);
    await mgr.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("handle cache: the default bound is half the fd limit, read or probed", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const script = `${dir}/probe.ts`;
    await Deno.writeTextFile(
      script,
      `import { defaultMaxOpenFiles } from "${new URL("./handle_cache.ts", import.meta.url).href}";
console.log(defaultMaxOpenFiles(${JSON.stringify(dir)}));`,
    );
    const run = async (perms: string) => {
      const out = await new Deno.Command("sh", {
        args: ["-c", `ulimit -n 256 && exec "$0" run ${perms} "$1"`, Deno.execPath(), script],
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
      return Number(new TextDecoder().decode(out.stdout).trim());
    };
    // with --allow-all, /proc/self/limits is read: half of 256
    assert.equal(await run("-A"), 128);
    // without, half the descriptors still free (256 less the runtime's own), counted by opening
    // the data dir, or `/` where it may be read (cheaper to open)
    const probed = await run(`--allow-read=${dir}`);
    assert.ok(probed > 96 && probed < 128, String(probed));
    const probedAtRoot = await run("--allow-read");
    assert.ok(Math.abs(probedAtRoot - probed) <= 2, `${probedAtRoot} vs ${probed}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("handle cache: grow is asked once, when the cache is first full", async () => {
  const asked: number[] = [];
  const lines: string[] = [];
  const cache = new FileHandleCache(2, {
    grow: (held) => {
      asked.push(held);
      return 5;
    },
    logger: (m) => lines.push(m),
  });
  const closed: string[] = [];
  for (let i = 0; i < 2; i++) {
    await cache.acquire();
    cache.opened(fake(String(i), closed));
  }
  assert.deepEqual(asked, []); // not full before the third
  for (let i = 2; i < 7; i++) {
    await cache.acquire();
    cache.opened(fake(String(i), closed));
  }
  assert.deepEqual(asked, [2]);
  assert.equal(cache.capacity, 5);
  assert.deepEqual(closed, ["0", "1"]); // the bound grown once, then the LRU as before
  assert.match(lines[0], /raising sluice\.log\.max\.open\.files from 2 to 5/);
});

Deno.test("handle cache: the probe counts up to 1,024 at start, the rest at the first need", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const script = `${dir}/grow.ts`;
    await Deno.writeTextFile(`${dir}/f`, "x");
    await Deno.writeTextFile(
      script,
      `import { defaultMaxOpenFiles, defaultOpenFilesBound, FileHandleCache } from "${
        new URL("./handle_cache.ts", import.meta.url).href
      }";
const full = defaultMaxOpenFiles("${dir}");
const { capacity, grow } = defaultOpenFilesBound("${dir}");
const cache = new FileHandleCache(capacity, { grow });
for (let i = 0; i < 600; i++) {
  await cache.acquire();
  const f = Deno.openSync("${dir}/f");
  cache.opened({ tryClose: () => (f.close(), true) });
}
console.log(JSON.stringify({ full, start: capacity, grown: cache.capacity }));`,
    );
    const run = async (limit: number) => {
      const out = await new Deno.Command("sh", {
        args: [
          "-c",
          `ulimit -n ${limit} && exec "$0" run --allow-read "$1"`,
          Deno.execPath(),
          script,
        ],
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
      return JSON.parse(new TextDecoder().decode(out.stdout)) as Record<string, number>;
    };
    // a low limit is counted at start, exactly: no growth
    const low = await run(256);
    assert.ok(low.start > 96 && low.start < 128 && low.grown === low.start, JSON.stringify(low));
    assert.ok(Math.abs(low.start - low.full) <= 2, JSON.stringify(low));
    // a high one: 512 at start, 1,024 at the first need of a 513th handle
    assert.deepEqual(await run(8192), { full: 1024, start: 512, grown: 1024 });
    // between: 512 at start, then half of what is free counting the cache's 512 handles, as the
    // whole count at start gives
    const mid = await run(1600);
    assert.equal(mid.start, 512);
    assert.ok(mid.grown > 700 && mid.grown < 800, JSON.stringify(mid));
    assert.ok(Math.abs(mid.grown - mid.full) <= 2, JSON.stringify(mid));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
