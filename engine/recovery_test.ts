import assert from "node:assert/strict";
import { LogManager } from "./mod.ts";
import { scanBatches } from "../wasm/mod.ts";
import { bytesEqual, firstKey, makeBatch, prng, splitBatches } from "./testdata/helpers.ts";

const CHILD = new URL("./testdata/crash_child.ts", import.meta.url).pathname;

async function readAll(mgr: LogManager, topic: string): Promise<ReturnType<typeof splitBatches>> {
  const log = mgr.partition(topic, 0)!;
  const out: ReturnType<typeof splitBatches> = [];
  let off = log.logStartOffset;
  while (off < log.logEndOffset) {
    const r = await log.read(off, 1 << 20);
    const got = splitBatches(r.records);
    assert.ok(got.length > 0, `no data at ${off} below LEO ${log.logEndOffset}`);
    out.push(...got);
    off = got[got.length - 1].lastOffset + 1;
  }
  return out;
}

Deno.test("crash: SIGKILLed appender with flush.messages=1 loses no acknowledged batch", async () => {
  const dir = await Deno.makeTempDir();
  const rand = prng(42);
  const acked = new Map<number, { last: number; tag: string }>();
  try {
    for (let run = 0; run < 25; run++) {
      const child = new Deno.Command(Deno.execPath(), {
        args: ["run", "--allow-read", "--allow-write", CHILD, dir, String(run)],
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const killAfter = 1 + Math.floor(rand() * 60);
      const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
      let text = "";
      let acks = 0;
      let killed = false;
      while (true) {
        const { value, done } = await reader.read();
        if (done) break;
        text += value;
        acks = text.split("\n").filter((l) => /^\d+ \d+ /.test(l)).length;
        if (!killed && acks >= killAfter) {
          await new Promise((r) => setTimeout(r, Math.floor(rand() * 5)));
          child.kill("SIGKILL");
          killed = true;
        }
      }
      const status = await child.status;
      const stderr = await new Response(child.stderr).text();
      assert.ok(killed, `child exited by itself: ${status.code} ${stderr}`);
      const lines = text.split("\n");
      lines.pop(); // a line cut by the kill is not an acknowledgement
      for (const line of lines) {
        const m = /^(\d+) (\d+) (\S+)$/.exec(line);
        if (m) acked.set(Number(m[1]), { last: Number(m[2]), tag: m[3] });
      }
      const messages: string[] = [];
      const mgr = await LogManager.open(dir, {
        retentionCheckIntervalMs: 0,
        logger: (m) => messages.push(m),
      });
      try {
        assert.equal(mgr.hadCleanShutdown, false);
        const all = await readAll(mgr, "crash");
        // offsets are contiguous and every stored batch is valid
        let expect = 0;
        for (const b of all) {
          assert.equal(b.baseOffset, expect);
          expect = b.lastOffset + 1;
          const scan = scanBatches(b.bytes);
          assert.equal(scan.status, 0, scan.detail);
        }
        const byBase = new Map(all.map((b) => [b.baseOffset, b]));
        for (const [base, a] of acked) {
          const b = byBase.get(base);
          assert.ok(b, `acknowledged batch at ${base} (${a.tag}) is missing after run ${run}`);
          assert.equal(b.lastOffset, a.last);
          assert.equal(firstKey(b.bytes), `${a.tag}/0`);
        }
        assert.equal(mgr.partition("crash", 0)!.logEndOffset, expect);
      } finally {
        await mgr.close();
      }
    }
    assert.ok(acked.size >= 12);
    // the log still takes appends after the last crash
    const mgr = await LogManager.open(dir, { retentionCheckIntervalMs: 0 });
    const log = mgr.partition("crash", 0)!;
    const leo = log.logEndOffset;
    assert.equal((await log.append(makeBatch(1, 10, Date.now(), "final"))).baseOffset, leo);
    await mgr.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

const BULK_CHILD = new URL("./testdata/bulk_child.ts", import.meta.url).pathname;

// The sizes that once lost data: recovery read the log in 8 MiB chunks and took a whole batch
// straddling a chunk boundary, with less than a chunk left in the file, for a torn tail; it then
// cut it and deleted every later segment (12 MB acknowledged: 8.3 MB survived).
for (
  const [name, segmentBytes, totalBytes, flush] of [
    ["12 MB in one default (1 GiB) segment", 1 << 30, 12_000_000, "9223372036854775807"],
    ["12 MB in one segment, fsync before ack", 1 << 30, 12_000_000, "1"],
    ["50 MB in 20 MiB segments", 20 << 20, 50_000_000, "9223372036854775807"],
  ] as const
) {
  Deno.test(`crash: SIGKILL after ${name} keeps every acknowledged batch`, async () => {
    const dir = await Deno.makeTempDir();
    try {
      const child = new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "--allow-read",
          "--allow-write",
          BULK_CHILD,
          dir,
          "bulk",
          String(segmentBytes),
          String(totalBytes),
          flush,
        ],
        stdout: "piped",
        stderr: "inherit",
      }).spawn();
      const acked: { base: number; last: number; tag: string }[] = [];
      let leo = -1;
      let pending = "";
      for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
        pending += chunk;
        const lines = pending.split("\n");
        pending = lines.pop()!;
        for (const line of lines) {
          const m = /^(\d+) (\d+) (\S+)$/.exec(line);
          if (m) acked.push({ base: Number(m[1]), last: Number(m[2]), tag: m[3] });
          const done = /^DONE (\d+)$/.exec(line);
          if (done) {
            leo = Number(done[1]);
            child.kill("SIGKILL");
          }
        }
      }
      await child.status;
      assert.ok(leo > 0, "the child never finished appending");
      const messages: string[] = [];
      const mgr = await LogManager.open(dir, {
        retentionCheckIntervalMs: 0,
        logger: (m) => messages.push(m),
      });
      try {
        const log = mgr.partition("bulk", 0)!;
        assert.equal(log.logEndOffset, leo, messages.join("\n"));
        assert.ok(
          !messages.some((m) => /removed|deleting segment/.test(m)),
          messages.join("\n"),
        );
        if (segmentBytes < totalBytes) assert.ok(log.segmentCount >= 3);
        let i = 0;
        for (let off = 0; off < leo;) {
          const got = splitBatches((await log.read(off, 4 << 20)).records);
          for (const b of got) {
            const a = acked[i++];
            assert.equal(b.baseOffset, a.base);
            assert.equal(b.lastOffset, a.last);
            assert.equal(firstKey(b.bytes), `${a.tag}/0`);
            assert.equal(scanBatches(b.bytes).status, 0);
          }
          off = got[got.length - 1].lastOffset + 1;
        }
        assert.equal(i, acked.length);
      } finally {
        await mgr.close();
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}

interface Fixture {
  dir: string;
  partDir: string;
  batches: ReturnType<typeof splitBatches>;
  segments: number[];
}

async function fixture(): Promise<Fixture> {
  const dir = await Deno.makeTempDir();
  const mgr = await LogManager.open(dir, { retentionCheckIntervalMs: 0 });
  await mgr.createTopic("r", 1, { "segment.bytes": "3000", "index.interval.bytes": "200" });
  const log = mgr.partition("r", 0)!;
  for (let i = 0; i < 30; i++) await log.append(makeBatch(1 + (i % 4), 150, Date.now(), `f${i}`));
  const segments = log.segmentBaseOffsets;
  const batches = await readAll(mgr, "r");
  await mgr.close();
  assert.ok(segments.length >= 3);
  return { dir, partDir: `${dir}/r-0`, batches, segments };
}

const stem = (o: number) => String(o).padStart(20, "0");

async function reopen(f: Fixture): Promise<{ mgr: LogManager; messages: string[] }> {
  const messages: string[] = [];
  const mgr = await LogManager.open(f.dir, {
    retentionCheckIntervalMs: 0,
    logger: (m) => messages.push(m),
  });
  return { mgr, messages };
}

async function expectPrefix(mgr: LogManager, f: Fixture, count: number): Promise<void> {
  const all = await readAll(mgr, "r");
  assert.equal(all.length, count);
  for (let i = 0; i < count; i++) {
    assert.equal(all[i].baseOffset, f.batches[i].baseOffset);
    assert.ok(bytesEqual(all[i].bytes, f.batches[i].bytes));
  }
  const log = mgr.partition("r", 0)!;
  const leo = count === 0 ? 0 : f.batches[count - 1].lastOffset + 1;
  assert.equal(log.logEndOffset, leo);
  assert.equal((await log.append(makeBatch(2, 10, Date.now(), "new"))).baseOffset, leo);
}

function lastSegmentBatchPos(f: Fixture): { index: number; position: number } {
  const base = f.segments[f.segments.length - 1];
  let pos = 0;
  let idx = -1;
  for (let i = 0; i < f.batches.length; i++) {
    if (f.batches[i].baseOffset < base) continue;
    idx = i;
    if (i + 1 < f.batches.length) pos += f.batches[i].bytes.length;
  }
  return { index: idx, position: pos };
}

for (
  const [name, damage, reason] of [
    [
      "torn tail (file cut mid-batch)",
      async (path: string) => {
        const size = (await Deno.stat(path)).size;
        await Deno.truncate(path, size - 10);
      },
      /truncated batch/,
    ],
    [
      "flipped bit in the last batch",
      async (path: string) => {
        const b = await Deno.readFile(path);
        b[b.length - 5] ^= 0x04;
        await Deno.writeFile(path, b);
      },
      /bad CRC/,
    ],
  ] as const
) {
  Deno.test(`recovery: ${name} is cut at the last valid batch and logged`, async () => {
    const f = await fixture();
    try {
      await Deno.remove(`${f.dir}/.kafka_cleanshutdown`);
      const last = f.segments[f.segments.length - 1];
      const path = `${f.partDir}/${stem(last)}.log`;
      await damage(path);
      const { mgr, messages } = await reopen(f);
      try {
        const { index, position } = lastSegmentBatchPos(f);
        const lost = f.batches[index];
        const msg = messages.find((m) => m.includes("removed the invalid tail"));
        assert.ok(msg, messages.join("\n"));
        const size = (await Deno.stat(path).catch(() => ({ size: -1 }))).size;
        assert.ok(
          msg.startsWith(
            `r-0: removed the invalid tail of segment ${last}: bytes ${position}..`,
          ) && msg.includes(`offsets from ${lost.baseOffset}: `),
          msg,
        );
        assert.equal(size, position);
        assert.match(msg, reason);
        assert.equal((await Deno.stat(path)).size, position);
        await expectPrefix(mgr, f, f.batches.length - 1);
      } finally {
        await mgr.close();
      }
    } finally {
      await Deno.remove(f.dir, { recursive: true });
    }
  });
}

Deno.test("recovery: garbage appended after the last batch is cut", async () => {
  const f = await fixture();
  try {
    await Deno.remove(`${f.dir}/.kafka_cleanshutdown`);
    const path = `${f.partDir}/${stem(f.segments.at(-1)!)}.log`;
    const size = (await Deno.stat(path)).size;
    const garbage = new Uint8Array(100);
    const rand = prng(3);
    for (let i = 0; i < garbage.length; i++) garbage[i] = Math.floor(rand() * 256);
    const file = await Deno.open(path, { append: true });
    await file.write(garbage);
    file.close();
    const { mgr, messages } = await reopen(f);
    try {
      assert.ok(
        messages.some((m) => m.includes(`bytes ${size}..${size + 100} (100 bytes)`)),
        messages.join("\n"),
      );
      assert.equal((await Deno.stat(path)).size, size);
      await expectPrefix(mgr, f, f.batches.length);
    } finally {
      await mgr.close();
    }
  } finally {
    await Deno.remove(f.dir, { recursive: true });
  }
});

Deno.test("recovery: corruption mid-log cuts only the invalid bytes and keeps later valid segments", async () => {
  const f = await fixture();
  try {
    await Deno.remove(`${f.dir}/.kafka_cleanshutdown`);
    await Deno.remove(`${f.dir}/recovery-point-offset-checkpoint`);
    const path = `${f.partDir}/${stem(f.segments[0])}.log`;
    const b = await Deno.readFile(path);
    const pos = f.batches[0].bytes.length + f.batches[1].bytes.length;
    b[pos + 70] ^= 0xff; // inside batch 2
    await Deno.writeFile(path, b);
    const { mgr, messages } = await reopen(f);
    try {
      const lost = f.batches.filter((x) => x.baseOffset >= 2 && x.baseOffset < f.segments[1]);
      const lostFrom = f.batches[2].baseOffset;
      assert.ok(
        messages.some((m) =>
          m.includes(
            `removed the invalid tail of segment 0: bytes ${pos}..${b.length} ` +
              `(${b.length - pos} bytes), offsets from ${lostFrom} up to ${f.segments[1] - 1} ` +
              `at most: batch at byte ${pos}: bad CRC`,
          )
        ),
        messages.join("\n"),
      );
      assert.ok(!messages.some((m) => m.includes("deleting segment")), messages.join("\n"));
      const log = mgr.partition("r", 0)!;
      assert.deepEqual(log.segmentBaseOffsets, f.segments);
      // every batch of the later segments is still there, byte for byte, at its offset
      const kept = f.batches.filter((x) => !lost.includes(x));
      const all = await readAll(mgr, "r");
      assert.equal(all.length, kept.length);
      for (let i = 0; i < kept.length; i++) {
        assert.equal(all[i].baseOffset, kept[i].baseOffset);
        assert.ok(bytesEqual(all[i].bytes, kept[i].bytes));
      }
      const leo = f.batches[f.batches.length - 1].lastOffset + 1;
      assert.equal(log.logEndOffset, leo);
      assert.equal((await log.append(makeBatch(2, 10, Date.now(), "new"))).baseOffset, leo);
    } finally {
      await mgr.close();
    }
  } finally {
    await Deno.remove(f.dir, { recursive: true });
  }
});

for (
  const [name, damage] of [
    ["truncated (size not a multiple of 8)", (b: Uint8Array) => b.subarray(0, b.length - 3)],
    ["not monotonic", (b: Uint8Array) => {
      const c = b.slice();
      c.set(b.subarray(0, 8), c.length - 8);
      return c;
    }],
    ["pointing past the log", (b: Uint8Array) => {
      const c = b.slice();
      new DataView(c.buffer).setUint32(c.length - 4, 0x7fffffff);
      return c;
    }],
    ["missing", null],
  ] as const
) {
  Deno.test(`recovery: an offset index ${name} is rebuilt, even after a clean shutdown`, async () => {
    const f = await fixture();
    try {
      const path = `${f.partDir}/${stem(f.segments[0])}.index`;
      const original = await Deno.readFile(path);
      assert.ok(original.length >= 16);
      if (damage) await Deno.writeFile(path, damage(original));
      else await Deno.remove(path);
      const { mgr, messages } = await reopen(f);
      try {
        assert.equal(mgr.hadCleanShutdown, true);
        assert.ok(
          messages.some((m) => m.includes("rebuilding indexes of segment 0")),
          messages.join("\n"),
        );
        await expectPrefix(mgr, f, f.batches.length);
        for (let i = 0; i < f.batches.length; i++) {
          const r = await mgr.partition("r", 0)!.read(f.batches[i].lastOffset, 1);
          assert.equal(splitBatches(r.records)[0].baseOffset, f.batches[i].baseOffset);
        }
      } finally {
        await mgr.close();
      }
      assert.ok(bytesEqual(await Deno.readFile(path), original), "rebuilt index differs");
    } finally {
      await Deno.remove(f.dir, { recursive: true });
    }
  });
}

Deno.test("recovery: stray .deleted, .cleaned, .swap and temporary files are removed", async () => {
  const f = await fixture();
  try {
    const strays = [
      `${stem(999)}.log.deleted`,
      `${stem(998)}.log.cleaned`,
      `${stem(997)}.log.swap`,
      `${stem(996)}.index.swap`,
      "leftover.tmp",
    ];
    for (const s of strays) await Deno.writeFile(`${f.partDir}/${s}`, new Uint8Array(10));
    await Deno.writeFile(`${f.partDir}/${stem(5000)}.index`, new Uint8Array(8)); // orphan index
    await Deno.mkdir(`${f.dir}/gone-0.abc-delete`);
    const { mgr } = await reopen(f);
    try {
      for (const s of strays) {
        await assert.rejects(() => Deno.stat(`${f.partDir}/${s}`), Deno.errors.NotFound);
      }
      await assert.rejects(
        () => Deno.stat(`${f.partDir}/${stem(5000)}.index`),
        Deno.errors.NotFound,
      );
      await assert.rejects(() => Deno.stat(`${f.dir}/gone-0.abc-delete`), Deno.errors.NotFound);
      await expectPrefix(mgr, f, f.batches.length);
    } finally {
      await mgr.close();
    }
  } finally {
    await Deno.remove(f.dir, { recursive: true });
  }
});

Deno.test("fuzz: random damage to segment and index files never breaks open or serves a bad batch", async () => {
  const rand = prng(1234);
  for (let round = 0; round < 12; round++) {
    const f = await fixture();
    try {
      const files = [...Deno.readDirSync(f.partDir)].map((e) => e.name).filter((n) =>
        /\.(log|index|timeindex)$/.test(n)
      );
      const logDamaged = rand() < 0.7;
      const damagedLogs = new Set<number>();
      for (let k = 0; k < 1 + Math.floor(rand() * 4); k++) {
        const name = files[Math.floor(rand() * files.length)];
        if (name.endsWith(".log") && !logDamaged) continue;
        if (name.endsWith(".log")) damagedLogs.add(Number(name.slice(0, 20)));
        const path = `${f.partDir}/${name}`;
        const b = await Deno.readFile(path);
        if (b.length === 0) continue;
        const r = rand();
        if (r < 0.5) b[Math.floor(rand() * b.length)] ^= 1 << Math.floor(rand() * 8);
        else if (r < 0.8) {
          await Deno.writeFile(path, b.subarray(0, Math.floor(rand() * b.length)));
          continue;
        } else b[Math.floor(rand() * b.length)] = Math.floor(rand() * 256);
        await Deno.writeFile(path, b);
      }
      if (logDamaged) {
        // a damaged .log is only detected by a full recovery (as in Kafka)
        await Deno.remove(`${f.dir}/.kafka_cleanshutdown`);
        await Deno.remove(`${f.dir}/recovery-point-offset-checkpoint`);
      }
      const { mgr } = await reopen(f);
      try {
        const all = await readAll(mgr, "r");
        let expect = 0;
        for (const b of all) {
          // damage may cut a segment's tail (an offset gap), never reorder or invent offsets
          assert.ok(b.baseOffset >= expect, `batch ${b.baseOffset} after ${expect}`);
          assert.equal(scanBatches(b.bytes).status, 0);
          const orig = f.batches.find((x) => x.baseOffset === b.baseOffset);
          // partitionLeaderEpoch (bytes 12-15) is the one field no check covers (as in Kafka)
          const mask = (x: Uint8Array) => {
            const c = x.slice();
            c.fill(0, 12, 16);
            return c;
          };
          assert.ok(
            orig && bytesEqual(mask(orig.bytes), mask(b.bytes)),
            `batch ${b.baseOffset} differs`,
          );
          expect = b.lastOffset + 1;
        }
        if (!logDamaged) assert.equal(all.length, f.batches.length);
        // every batch of a segment whose .log was not damaged survives, whatever came before it
        const segOf = (o: number) => f.segments.filter((s) => s <= o).at(-1)!;
        const got = new Set(all.map((b) => b.baseOffset));
        for (const b of f.batches) {
          if (damagedLogs.has(segOf(b.baseOffset))) continue;
          assert.ok(got.has(b.baseOffset), `intact batch ${b.baseOffset} is missing`);
        }
        const log = mgr.partition("r", 0)!;
        assert.equal(log.logEndOffset, expect);
        assert.equal((await log.append(makeBatch(1, 10, Date.now(), "z"))).baseOffset, expect);
        for (let i = 0; i < all.length; i++) {
          const got = splitBatches((await log.read(all[i].lastOffset, 1)).records);
          assert.equal(got[0].baseOffset, all[i].baseOffset);
        }
      } finally {
        await mgr.close();
      }
    } finally {
      await Deno.remove(f.dir, { recursive: true });
    }
  }
});
