import assert from "node:assert/strict";
import { buildBatch, type TestRecord } from "../wasm/testing.ts";
import { scanBatches } from "../wasm/mod.ts";
import {
  attributesAt,
  COMPRESSION_CODEC_MASK,
  type CompressionName,
  compressionName,
  decodeRecordBatches,
  encodeRecordBatch,
} from "../records/mod.ts";
import { cleanerConfigOf, LogCleaner } from "./cleaner.ts";
import type { SwapStep } from "./cleaner_swap.ts";
import { EngineError, ErrorCode } from "./errors.ts";
import { LogManager } from "./log_manager.ts";
import type { PartitionLog } from "./partition_log.ts";
import { LogSegment } from "./segment.ts";
import { prng } from "./testdata/helpers.ts";

const dec = new TextDecoder();

/** A record as read back: offset, key, value (null for a tombstone). */
interface Rec {
  offset: number;
  key: string | null;
  value: string | null;
}

/** Reads every record of a log from its start offset, checking batch framing on the way. */
async function readAll(log: PartitionLog, chunk = 1 << 20): Promise<Rec[]> {
  const out: Rec[] = [];
  let offset = log.logStartOffset;
  while (offset < log.highWatermark) {
    const { records } = await log.read(offset, chunk);
    if (records.length === 0) break;
    for (const b of decodeRecordBatches(records, { validation: "relaxed" })) {
      for (const r of b.records) {
        if (r.offset < offset) continue;
        out.push({
          offset: r.offset,
          key: r.key ? dec.decode(r.key) : null,
          value: r.value ? dec.decode(r.value) : null,
        });
      }
      offset = b.lastOffset + 1;
    }
  }
  return out;
}

/** Last value per key (tombstones delete). */
function latest(recs: Rec[]): Map<string, string> {
  const m = new Map<string, string>();
  for (const r of recs) {
    if (r.key === null) continue;
    if (r.value === null) m.delete(r.key);
    else m.set(r.key, r.value);
  }
  return m;
}

interface Fixture {
  dir: string;
  mgr: LogManager;
  log: PartitionLog;
  produced: Rec[];
  model: Map<string, string>;
}

async function compactedTopic(configs: Record<string, string> = {}): Promise<Fixture> {
  const dir = await Deno.makeTempDir({ prefix: "sluice-cleaner-" });
  const mgr = await LogManager.open(dir, { cleanerBackoffMs: 0, hotTailBytes: 64 * 1024 });
  await mgr.createTopic("c", 1, {
    "cleanup.policy": "compact",
    "segment.bytes": "32768",
    "delete.retention.ms": "1000",
    ...configs,
  });
  return { dir, mgr, log: mgr.partition("c", 0)!, produced: [], model: new Map() };
}

/** Appends `n` updates over `keys` keys in batches of `perBatch`, tombstoning `tombstone` keys. */
async function produce(
  f: Fixture,
  n: number,
  keys: number,
  perBatch: number,
  seed: number,
  tombstone: (i: number, key: number) => boolean = () => false,
  timestamp?: number,
): Promise<void> {
  const rand = prng(seed);
  for (let i = 0; i < n; i += perBatch) {
    const records: TestRecord[] = [];
    for (let j = i; j < Math.min(n, i + perBatch); j++) {
      const k = Math.floor(rand() * keys);
      const value = tombstone(j, k) ? null : `v${seed}-${j}-${"x".repeat(k % 17)}`;
      records.push({ key: `key-${k}`, value });
    }
    const { baseOffset } = await f.log.append(
      buildBatch({ records, baseTimestamp: timestamp ?? Date.now() }),
    );
    records.forEach((r, d) => {
      const rec = { offset: baseOffset + d, key: r.key as string, value: r.value as string | null };
      f.produced.push(rec);
      if (rec.value === null) f.model.delete(rec.key);
      else f.model.set(rec.key, rec.value);
    });
  }
}

/** What a clean up to `end` must leave: the last record per key below `end`, all from `end` on. */
function expectedAfterClean(produced: Rec[], end: number, dropTombstonesBelow = -1): Rec[] {
  const last = new Map<string, number>();
  for (const r of produced) if (r.offset < end) last.set(r.key!, r.offset);
  return produced.filter((r) =>
    r.offset >= end ||
    (last.get(r.key!) === r.offset && !(r.value === null && r.offset < dropTombstonesBelow))
  );
}

async function cleanup(f: Fixture): Promise<void> {
  await f.mgr.close();
  await Deno.remove(f.dir, { recursive: true });
}

Deno.test("cleaner: 100k updates over 1k keys compact to the latest value per key, offsets kept", async () => {
  const f = await compactedTopic();
  try {
    const keysDeleted = (k: number) => k % 20 === 0;
    // 100k updates; in the last 10k, every 20th key is deleted (tombstone) instead
    await produce(f, 100_000, 1000, 100, 1, (i, k) => i >= 90_000 && keysDeleted(k));
    const before = await readAll(f.log);
    assert.deepEqual(before, f.produced);
    const segsBefore = f.log.segmentCount;
    const sizeBefore = f.log.sizeInBytes;
    assert.ok(segsBefore > 50, `only ${segsBefore} segments`);
    const t0 = Date.now();
    const [stats] = await f.mgr.runCleaner({ now: t0 });
    assert.ok(stats.cleaned, stats.reason);
    const end = stats.endOffset;
    assert.equal(end, f.log.segmentBaseOffsets.at(-1)); // everything but the active segment
    const after = await readAll(f.log);
    assert.deepEqual(after, expectedAfterClean(f.produced, end));
    assert.deepEqual(latest(after), f.model);
    assert.ok(f.log.segmentCount <= segsBefore);
    assert.ok(f.log.sizeInBytes < sizeBefore / 10, `${f.log.sizeInBytes} of ${sizeBefore}`);
    assert.equal(
      stats.recordsRemoved,
      stats.recordsRead - after.filter((r) => r.offset < end).length,
    );
    // every stored batch passes the WASM framing/CRC check
    const all = await f.log.read(0, 64 << 20);
    assert.equal(scanBatches(all.records, { relaxedOffsets: true }).status, 0);

    // tombstones stay until delete.retention.ms after the clean that saw them
    const tombstoned = after.filter((r) => r.value === null && r.offset < end);
    assert.ok(tombstoned.length > 10);
    const [early] = await f.mgr.runCleaner({ now: t0 + 999 });
    assert.equal(early.cleaned, false, early.reason);
    assert.deepEqual(await readAll(f.log), after);
    const [late] = await f.mgr.runCleaner({ now: t0 + 1000 });
    assert.ok(late.cleaned, late.reason);
    assert.equal(late.reason, "tombstone delete horizon");
    assert.equal(late.tombstonesRemoved, tombstoned.length);
    const final = await readAll(f.log);
    assert.deepEqual(final, expectedAfterClean(f.produced, end, end));
    for (const r of final) assert.ok(r.offset >= end || !keysDeleted(Number(r.key!.slice(4))));
    assert.deepEqual(latest(final), f.model);
    // the second pass merged the small cleaned segments (groups of up to segment.bytes)
    assert.ok(f.log.segmentCount < segsBefore / 5, `${f.log.segmentCount} of ${segsBefore}`);

    // survives a restart (clean shutdown) and an unclean one (full recovery with offset gaps)
    await f.mgr.close();
    f.mgr = await LogManager.open(f.dir, { cleanerBackoffMs: 0 });
    f.log = f.mgr.partition("c", 0)!;
    assert.deepEqual(await readAll(f.log), final);
    await f.mgr.close();
    await Deno.remove(`${f.dir}/.kafka_cleanshutdown`);
    await Deno.remove(`${f.dir}/recovery-point-offset-checkpoint`);
    const msgs: string[] = [];
    f.mgr = await LogManager.open(f.dir, { cleanerBackoffMs: 0, logger: (m) => msgs.push(m) });
    f.log = f.mgr.partition("c", 0)!;
    assert.deepEqual(await readAll(f.log), final);
    assert.ok(!msgs.some((m) => m.includes("truncated")), msgs.join("\n"));
    // the cleaner checkpoint survived: nothing is dirty
    const [again] = await f.mgr.runCleaner({ now: t0 + 2000 });
    assert.equal(again.cleaned, false);
    assert.equal(again.firstDirtyOffset, end);
  } finally {
    await cleanup(f);
  }
});

Deno.test("cleaner: the dirty ratio and min.compaction.lag.ms decide what is cleaned", async () => {
  const f = await compactedTopic({ "min.cleanable.dirty.ratio": "0.9" });
  try {
    await produce(f, 5000, 50, 50, 2, undefined, Date.now() - 600_000); // 10 minutes old
    const [first] = await f.mgr.runCleaner();
    assert.ok(first.cleaned, first.reason); // all dirty: ratio 1
    // fully superseded segments are left empty; they do not count as "recent" for the lag
    assert.ok(f.log.segmentsSnapshot().some((s) => s.size === 0));
    await f.mgr.alterTopicConfigs("c", { "min.compaction.lag.ms": "60000" });
    const [old] = await f.mgr.runCleaner({ force: true });
    assert.ok(old.cleaned, old.reason);
    assert.equal(old.endOffset, f.log.segmentBaseOffsets.at(-1));
    await f.mgr.alterTopicConfigs("c", { "min.compaction.lag.ms": "0" });
    await produce(f, 200, 50, 50, 3);
    const [second] = await f.mgr.runCleaner();
    assert.equal(second.cleaned, false);
    assert.match(second.reason, /^not due \(dirty ratio 0\.\d+\)$/);
    // a lag far in the future keeps every segment uncleanable, even when forced
    await f.mgr.alterTopicConfigs("c", { "min.compaction.lag.ms": "3600000" });
    const [lagged] = await f.mgr.runCleaner({ force: true });
    assert.equal(lagged.cleaned, false);
    assert.match(lagged.reason, /min\.compaction\.lag\.ms/);
    // a policy without compact is left alone
    await f.mgr.alterTopicConfigs("c", { "cleanup.policy": "delete" });
    assert.deepEqual(await f.mgr.runCleaner({ force: true }), []);
    assert.deepEqual(latest(await readAll(f.log)), f.model);
  } finally {
    await cleanup(f);
  }
});

Deno.test("cleaner: readers iterating during compaction always end with the latest values", async () => {
  const f = await compactedTopic({ "segment.bytes": "8192" });
  try {
    let swaps = 0;
    const cleaner = new LogCleaner({ onSwapStep: (s) => void (s === "done" && swaps++) });
    const cfg = cleanerConfigOf({ "delete.retention.ms": "1000" });
    for (let round = 0; round < 4; round++) {
      await produce(f, 5000, 300, 20, 10 + round, (i, k) => i % 97 === 0 && k % 3 === 0);
      const want = new Map(f.model);
      const swapsBefore = swaps;
      // readers with a small fetch size, so that they overlap many swaps
      const readers = [256, 1024, 4096].map(async (chunk) => {
        const seen = latest(await readAll(f.log, chunk));
        assert.deepEqual(seen, want, `reader with ${chunk}-byte fetches, round ${round}`);
      });
      const cleaning = (async () => {
        for (let i = 0; i < 2; i++) await cleaner.clean(f.log, cfg, { force: true });
      })();
      await Promise.all([...readers, cleaning]);
      assert.ok(swaps > swapsBefore);
    }
    assert.deepEqual(latest(await readAll(f.log)), f.model);
  } finally {
    await cleanup(f);
  }
});

async function copyDir(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const e of Deno.readDir(from)) {
    if (e.isDirectory) await copyDir(`${from}/${e.name}`, `${to}/${e.name}`);
    else if (e.isFile) await Deno.copyFile(`${from}/${e.name}`, `${to}/${e.name}`);
  }
}

Deno.test("cleaner: a kill at any step of a swap leaves the old or the new segments", async () => {
  const f = await compactedTopic({ "segment.bytes": "8192" });
  const crashRoot = await Deno.makeTempDir({ prefix: "sluice-cleaner-crash-" });
  try {
    await produce(f, 3000, 100, 25, 7, (i, k) => i > 2500 && k % 10 === 0);
    await f.mgr.runCleaner({ force: true }); // first pass: gaps and tombstones with horizons
    await produce(f, 2000, 100, 25, 8);
    const old = await readAll(f.log);
    const copies: { path: string; group: number; step: SwapStep }[] = [];
    const groups: { base: number; end: number }[] = [];
    let bases = f.log.segmentBaseOffsets;
    const cleaner = new LogCleaner({
      firstDirtyOffsets: new Map(),
      onSwapStep: async (step, log) => {
        if (step === "marked") {
          // the group being swapped: from the cleaned file's base to the next remaining base
          const names = [...Deno.readDirSync(log.dir)].map((e) => e.name);
          const base = Number(names.find((n) => n.endsWith(".swapend"))!.slice(0, 20));
          const end = Number(
            (await Deno.readTextFile(`${log.dir}/${String(base).padStart(20, "0")}.swapend`))
              .trim(),
          );
          groups.push({ base, end });
        }
        const path = `${crashRoot}/${copies.length}-${step}`;
        await copyDir(f.dir, path);
        copies.push({ path, group: groups.length - 1, step });
      },
    });
    const stats = await cleaner.clean(f.log, cleanerConfigOf({}), { force: true });
    assert.ok(stats.cleaned && groups.length >= 2, `${stats.reason}, ${groups.length} groups`);
    const cleaned = await readAll(f.log);
    assert.notDeepEqual(cleaned, old);
    assert.deepEqual(latest(cleaned), f.model);
    bases = f.log.segmentBaseOffsets;
    assert.ok(bases.length > 1);
    const inRange = (recs: Rec[], g: { base: number; end: number }) =>
      recs.filter((r) => r.offset >= g.base && r.offset < g.end);
    assert.equal(copies.length, groups.length * 5);
    for (const c of copies) {
      const msgs: string[] = [];
      const mgr = await LogManager.open(c.path, {
        cleanerBackoffMs: 0,
        logger: (m) => msgs.push(m),
      });
      try {
        const got = await readAll(mgr.partition("c", 0)!);
        const swapped = c.step !== "marked";
        const expect: Rec[] = [];
        for (let g = 0; g < groups.length; g++) {
          const useNew = g < c.group || (g === c.group && swapped);
          expect.push(...inRange(useNew ? cleaned : old, groups[g]));
        }
        expect.push(...old.filter((r) => r.offset >= groups.at(-1)!.end));
        assert.deepEqual(got, expect, `copy ${c.path}`);
        assert.deepEqual(latest(got), f.model);
        assert.ok(!msgs.some((m) => m.includes("truncated")), msgs.join("\n"));
        const names = [...Deno.readDirSync(`${c.path}/c-0`)].map((e) => e.name);
        assert.deepEqual(names.filter((n) => /\.(cleaned|swap|swapend|deleted)$/.test(n)), []);
        if (c.step === "committed") assert.ok(msgs.some((m) => m.includes("interrupted swap")));
        // the reopened log takes appends after the right offset
        const r = await mgr.partition("c", 0)!.append(
          buildBatch({ records: [{ key: "z", value: "z" }], baseTimestamp: Date.now() }),
        );
        assert.equal(r.baseOffset, old.at(-1)!.offset + 1);
      } finally {
        await mgr.close();
      }
    }
  } finally {
    await cleanup(f);
    await Deno.remove(crashRoot, { recursive: true });
  }
});

Deno.test("cleaner: a null key on a compacted topic is INVALID_RECORD and the log is unchanged", async () => {
  const f = await compactedTopic();
  try {
    await produce(f, 10, 5, 5, 4);
    const before = await readAll(f.log);
    const leo = f.log.logEndOffset;
    const bad = buildBatch({
      records: [{ key: "ok", value: "1" }, { key: null, value: "2" }],
      baseTimestamp: Date.now(),
    });
    await assert.rejects(
      () => f.log.append(bad),
      (e: unknown) => {
        assert.ok(e instanceof EngineError);
        assert.equal(e.code, ErrorCode.INVALID_RECORD);
        assert.match(
          e.message,
          /^append to c-0 failed: Compacted topic cannot accept message without key: record 1 of batch 0 has a null key$/,
        );
        return true;
      },
    );
    assert.equal(f.log.logEndOffset, leo);
    assert.deepEqual(await readAll(f.log), before);
    // in a compressed batch of any codec too
    for (const compression of ["gzip", "snappy", "lz4", "zstd"] as CompressionName[]) {
      const te = new TextEncoder();
      const packed = encodeRecordBatch([{ key: te.encode("ok"), value: null }, { value: null }], {
        compression,
      });
      await assert.rejects(() => f.log.append(packed), /record 1 of batch 0 has a null key$/);
    }
    assert.equal(f.log.logEndOffset, leo);
    // a delete-policy topic takes null keys
    await f.mgr.createTopic("d", 1);
    const r = await f.mgr.partition("d", 0)!.append(bad);
    assert.equal(r.baseOffset, 0);
  } finally {
    await cleanup(f);
  }
});

for (const codec of ["gzip", "snappy", "lz4", "zstd"] as CompressionName[]) {
  Deno.test(`cleaner: ${codec} batches are opened, filtered and recompressed with ${codec}`, async () => {
    const f = await compactedTopic({ "segment.bytes": "4096" });
    const te = new TextEncoder();
    try {
      for (let i = 0; i < 400; i++) {
        const records: { key: string; value: string | null }[] = [];
        for (let j = 0; j < 10; j++) {
          const k = `k${(i * 10 + j) % 37}`;
          records.push({ key: k, value: (i + j) % 23 === 0 ? null : `v${i}-${j}` });
        }
        const batch = encodeRecordBatch(
          records.map((r) => ({
            key: te.encode(r.key),
            value: r.value === null ? null : te.encode(r.value),
          })),
          { compression: codec, timestamp: Date.now() },
        );
        const { baseOffset } = await f.log.append(batch);
        records.forEach((r, d) => f.produced.push({ offset: baseOffset + d, ...r }));
      }
      assert.ok(f.log.segmentCount > 2);
      const bytesBefore = f.log.sizeInBytes;
      const [s] = await f.mgr.runCleaner();
      assert.ok(s.cleaned, s.reason);
      assert.ok(s.recordsRemoved > 0 && f.log.sizeInBytes < bytesBefore / 2);
      const after = await readAll(f.log);
      assert.deepEqual(after, expectedAfterClean(f.produced, s.endOffset));
      // Every stored batch still uses the codec.
      const { records } = await f.log.read(0, 1 << 20);
      const codecs = new Set(
        decodeRecordBatches(records).map((b) => b.compression),
      );
      assert.deepEqual([...codecs], [codec]);
      assert.equal(
        compressionName(attributesAt(records, 0) & COMPRESSION_CODEC_MASK),
        codec,
      );
    } finally {
      await cleanup(f);
    }
  });
}

Deno.test("cleaner: a cleaned log switched to cleanup.policy=delete still recovers its gaps", async () => {
  const f = await compactedTopic({ "segment.bytes": "4096" });
  try {
    await produce(f, 3000, 40, 20, 21);
    const [s] = await f.mgr.runCleaner();
    assert.ok(s.cleaned, s.reason);
    const cleaned = await readAll(f.log);
    await f.mgr.alterTopicConfigs("c", { "cleanup.policy": "delete" });
    await f.mgr.close();
    await Deno.remove(`${f.dir}/.kafka_cleanshutdown`);
    await Deno.remove(`${f.dir}/recovery-point-offset-checkpoint`);
    const msgs: string[] = [];
    f.mgr = await LogManager.open(f.dir, { cleanerBackoffMs: 0, logger: (m) => msgs.push(m) });
    f.log = f.mgr.partition("c", 0)!;
    assert.deepEqual(await readAll(f.log), cleaned);
    assert.ok(!msgs.some((m) => m.includes("truncated")), msgs.join("\n"));
  } finally {
    await cleanup(f);
  }
});

Deno.test("cleaner: __consumer_offsets (compact) is cleaned by the manager's passes", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sluice-cleaner-" });
  const mgr = await LogManager.open(dir, { cleanerBackoffMs: 0 });
  try {
    await mgr.createTopic("__consumer_offsets", 1, {
      "cleanup.policy": "compact",
      "segment.bytes": "4096",
    });
    const log = mgr.partition("__consumer_offsets", 0)!;
    for (let i = 0; i < 500; i++) {
      const records = [{ key: `group-${i % 3}`, value: `commit-${i}` }];
      await log.append(buildBatch({ records, baseTimestamp: Date.now() }));
    }
    const [s] = await mgr.runCleaner();
    assert.equal(s.topic, "__consumer_offsets");
    assert.ok(s.cleaned, s.reason);
    const recs = await readAll(log);
    const below = recs.filter((r) => r.offset < s.endOffset);
    assert.ok(below.length <= 3, JSON.stringify(below));
    assert.deepEqual(
      latest(recs),
      new Map([["group-0", "commit-498"], ["group-1", "commit-499"], ["group-2", "commit-497"]]),
    );
  } finally {
    await mgr.close();
    await Deno.remove(dir, { recursive: true });
  }
});

const CLEANER_CHILD = new URL("./testdata/cleaner_child.ts", import.meta.url).pathname;

Deno.test("cleaner crash: SIGKILL during produce + back-to-back cleaning loses no latest value", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sluice-cleaner-kill-" });
  const rand = prng(99);
  const acked = new Map<string, number>(); // key -> highest acknowledged seq
  try {
    for (let run = 0; run < 12; run++) {
      const child = new Deno.Command(Deno.execPath(), {
        args: ["run", "--allow-read", "--allow-write", CLEANER_CHILD, dir, String(run)],
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const killAfter = 20 + Math.floor(rand() * 200);
      const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
      let text = "";
      let killed = false;
      while (true) {
        const { value, done } = await reader.read();
        if (done) break;
        text += value;
        if (!killed && text.split("\nACK ").length > killAfter) {
          await new Promise((r) => setTimeout(r, Math.floor(rand() * 5)));
          child.kill("SIGKILL");
          killed = true;
        }
      }
      await child.status;
      const stderr = await new Response(child.stderr).text();
      assert.ok(killed, `child exited by itself: ${stderr}`);
      const lines = text.split("\n");
      lines.pop(); // a line cut by the kill is not an acknowledgement
      for (const line of lines) {
        if (!line.startsWith("ACK ")) continue;
        for (const kv of line.slice(4).split(" ")) {
          const [k, s] = kv.split("=");
          acked.set(k, Math.max(acked.get(k) ?? -1, Number(s)));
        }
      }
      const mgr = await LogManager.open(dir, { retentionCheckIntervalMs: 0, cleanerBackoffMs: 0 });
      try {
        const log = mgr.partition("cc", 0)!;
        for (let pass = 0; pass < 2; pass++) {
          const recs = await readAll(log);
          const got = latest(recs);
          for (const [k, s] of acked) {
            const v = got.get(k);
            assert.ok(v !== undefined, `run ${run}: key ${k} lost (acked seq ${s})`);
            const [vk, vs] = v.split(":");
            assert.equal(vk, k);
            assert.ok(Number(vs) >= s, `run ${run}: key ${k} went back to ${vs} < acked ${s}`);
          }
          for (let i = 1; i < recs.length; i++) assert.ok(recs[i].offset > recs[i - 1].offset);
          await mgr.runCleaner({ force: true }); // the recovered log cleans correctly too
        }
      } finally {
        await mgr.close();
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cleaner: closing the manager mid-pass stops between groups, the log stays consistent", async () => {
  const f = await compactedTopic({ "segment.bytes": "4096" });
  try {
    await produce(f, 20_000, 200, 20, 31);
    const pass = f.mgr.runCleaner({ force: true });
    await new Promise((r) => setTimeout(r, 20));
    await f.mgr.close();
    const [s] = await pass;
    assert.ok(s === undefined || s.cleaned || s.reason === "aborted: stopping", s?.reason);
    f.mgr = await LogManager.open(f.dir, { cleanerBackoffMs: 0 });
    f.log = f.mgr.partition("c", 0)!;
    const recs = await readAll(f.log);
    const byOffset = new Map(f.produced.map((r) => [r.offset, r]));
    for (const r of recs) assert.deepEqual(r, byOffset.get(r.offset));
    assert.deepEqual(latest(recs), f.model);
  } finally {
    await cleanup(f);
  }
});

Deno.test("cleaner: a topic deleted and created again is cleaned from its start", async () => {
  const f = await compactedTopic({ "segment.bytes": "4096" });
  try {
    await produce(f, 3000, 30, 20, 41);
    const [s1] = await f.mgr.runCleaner();
    assert.ok(s1.cleaned && s1.endOffset > 1000, `${s1.reason} ${s1.endOffset}`);
    await f.mgr.deleteTopic("c");
    await f.mgr.createTopic("c", 1, { "cleanup.policy": "compact", "segment.bytes": "4096" });
    f.log = f.mgr.partition("c", 0)!;
    f.produced = [];
    f.model.clear();
    await produce(f, 600, 30, 20, 42);
    const [s2] = await f.mgr.runCleaner();
    assert.ok(s2.cleaned, s2.reason);
    assert.equal(s2.firstDirtyOffset, 0);
    assert.deepEqual(await readAll(f.log), expectedAfterClean(f.produced, s2.endOffset));
  } finally {
    await cleanup(f);
  }
});

Deno.test("cleaner: index files that cannot be written after the swap leave the log online", async () => {
  const f = await compactedTopic();
  const original = LogSegment.prototype.writeIndexes;
  try {
    await produce(f, 5000, 50, 50, 3);
    // a full disk: every index write fails (ENOSPC), the cleaned segment's after the commit too
    LogSegment.prototype.writeIndexes = function (this: LogSegment): Promise<void> {
      this.indexDirty = true;
      return Promise.reject(
        Object.assign(new Error("No space left on device (os error 28)"), { code: "ENOSPC" }),
      );
    };
    const [stats] = await f.mgr.runCleaner({ force: true });
    assert.ok(stats?.cleaned, stats?.reason);
    const after = await readAll(f.log); // not offline
    assert.deepEqual(after, expectedAfterClean(f.produced, stats.endOffset));
    await produce(f, 100, 50, 50, 4);
    LogSegment.prototype.writeIndexes = original;
    await f.log.flush();
    await f.mgr.close();
    f.mgr = await LogManager.open(f.dir, { cleanerBackoffMs: 0 });
    f.log = f.mgr.partition("c", 0)!;
    assert.deepEqual(latest(await readAll(f.log)), f.model);
  } finally {
    LogSegment.prototype.writeIndexes = original;
    await cleanup(f);
  }
});
