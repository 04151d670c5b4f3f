import assert from "node:assert/strict";
import { EngineError, ErrorCode, LogManager, type PartitionLog } from "./mod.ts";
import { OffsetIndexBuffer } from "../wasm/mod.ts";
import {
  buildBatch,
  bytesEqual,
  concatBytes,
  fixCrc,
  makeBatch,
  prng,
  splitBatches,
} from "./testdata/helpers.ts";
import {
  attributesAt,
  encodeRecordBatch,
  MAGIC_OFFSET,
  maxTimestampAt,
  readInt64,
  RECORD_BATCH_OVERHEAD,
  TIMESTAMP_TYPE_BIT,
} from "../records/mod.ts";

interface ModelBatch {
  base: number;
  last: number;
  bytes: Uint8Array;
  timestamps: number[];
}

class Model {
  batches: ModelBatch[] = [];
  lso = 0;
  leo = 0;
  add(bytes: Uint8Array, timestamps: number[]): void {
    const b = splitBatches(bytes);
    for (const x of b) {
      this.batches.push({ base: x.baseOffset, last: x.lastOffset, bytes: x.bytes, timestamps });
      this.leo = x.lastOffset + 1;
    }
  }
  truncate(offset: number): void {
    if (offset >= this.leo) return;
    if (offset < this.lso || offset <= (this.batches[0]?.base ?? 0)) {
      this.batches = [];
      this.lso = offset;
      this.leo = offset;
      return;
    }
    const i = this.batches.findIndex((b) => b.last >= offset);
    this.leo = this.batches[i].base;
    this.batches = this.batches.slice(0, i);
    this.lso = Math.min(this.lso, this.leo);
  }
}

async function checkRead(
  log: PartitionLog,
  model: Model,
  offset: number,
  maxBytes: number,
): Promise<void> {
  const r = await log.read(offset, maxBytes);
  // readInto agrees with read whenever the first batch fits the destination
  const dest = new Uint8Array(Math.max(RECORD_BATCH_OVERHEAD, maxBytes));
  dest.fill(0xee);
  const ri = await log.readInto(offset, dest);
  assert.equal(ri.highWatermark, model.leo);
  if (r.records.length === 0) assert.equal(ri.bytes, 0);
  else if (ri.bytes === 0) assert.ok(ri.firstBatchSize > dest.length);
  else {
    assert.ok(bytesEqual(dest.subarray(0, ri.bytes), r.records.subarray(0, ri.bytes)));
    assert.ok(ri.bytes === r.records.length || r.records.length > dest.length);
  }
  assert.equal(r.highWatermark, model.leo);
  assert.equal(r.logStartOffset, model.lso);
  const got = splitBatches(r.records);
  if (offset === model.leo) {
    assert.equal(got.length, 0, `read at LEO ${offset} returned data`);
    return;
  }
  const i = model.batches.findIndex((b) => b.last >= offset);
  assert.ok(i >= 0);
  assert.ok(got.length >= 1, `read(${offset}, ${maxBytes}) returned nothing`);
  let total = 0;
  for (let j = 0; j < got.length; j++) {
    const want = model.batches[i + j];
    assert.ok(want, `read(${offset}) returned an extra batch`);
    assert.equal(got[j].baseOffset, want.base);
    assert.ok(bytesEqual(got[j].bytes, want.bytes), `batch ${want.base} differs`);
    total += got[j].bytes.length;
  }
  assert.ok(got.length === 1 || total <= maxBytes, `read exceeded maxBytes ${maxBytes}`);
  const next = model.batches[i + got.length];
  if (next) {
    const bases = log.segmentBaseOffsets;
    assert.ok(
      total + next.bytes.length > maxBytes || bases.includes(next.base),
      `read(${offset}, ${maxBytes}) stopped early before ${next.base}`,
    );
  }
}

async function checkAll(log: PartitionLog, model: Model, rand: () => number): Promise<void> {
  assert.equal(log.logEndOffset, model.leo);
  assert.equal(log.logStartOffset, model.lso);
  // sequential consumption from the start
  let off = model.lso;
  const seen: ModelBatch[] = [];
  while (off < model.leo) {
    const r = await log.read(off, 1 + Math.floor(rand() * 6000));
    const got = splitBatches(r.records);
    assert.ok(got.length > 0);
    for (const g of got) {
      const want = model.batches.find((b) => b.base === g.baseOffset)!;
      assert.ok(want && bytesEqual(want.bytes, g.bytes));
      seen.push(want);
    }
    off = got[got.length - 1].lastOffset + 1;
  }
  const first = model.batches.findIndex((b) => b.last >= model.lso);
  assert.equal(seen.length, first < 0 ? 0 : model.batches.length - first);
  for (let k = 0; k < 5 && model.leo > model.lso; k++) {
    const o = model.lso + Math.floor(rand() * (model.leo - model.lso + 1));
    await checkRead(log, model, o, Math.floor(rand() * 5000));
  }
}

for (const seed of [1, 2, 3]) {
  Deno.test(`PartitionLog random workload matches an in-memory model (seed ${seed})`, async () => {
    const rand = prng(seed);
    const dir = await Deno.makeTempDir();
    const hotTailBytes = seed === 1 ? 0 : seed === 2 ? 3000 : 1 << 20;
    const configs = {
      "segment.bytes": String(4000 + seed * 1000),
      "index.interval.bytes": "300",
      "file.delete.delay.ms": seed === 3 ? "50" : "0",
    };
    let mgr = await LogManager.open(dir, { hotTailBytes, retentionCheckIntervalMs: 0 });
    try {
      await mgr.createTopic("t", 1, configs);
      let log = mgr.partition("t", 0)!;
      const model = new Model();
      let now = Date.now();
      for (let op = 0; op < 250; op++) {
        const r = rand();
        if (r < 0.55) {
          // one request or several concurrent requests (group commit)
          const n = rand() < 0.3 ? 2 + Math.floor(rand() * 4) : 1;
          const reqs: Uint8Array[] = [];
          const tss: number[][] = [];
          for (let q = 0; q < n; q++) {
            const parts: Uint8Array[] = [];
            const ts: number[] = [];
            for (let b = 0; b < 1 + Math.floor(rand() * 3); b++) {
              const count = 1 + Math.floor(rand() * 8);
              now += 1;
              parts.push(
                makeBatch(count, Math.floor(rand() * 200), now, `s${seed}o${op}q${q}b${b}`),
              );
              ts.push(now);
            }
            reqs.push(concatBytes(parts));
            tss.push(ts);
          }
          const results = await Promise.all(reqs.map((x) => log.append(x)));
          for (let q = 0; q < n; q++) {
            assert.equal(results[q].baseOffset, model.leo);
            model.add(reqs[q], tss[q]);
            assert.equal(results[q].lastOffset, model.leo - 1);
            assert.equal(results[q].logAppendTime, -1);
          }
        } else if (r < 0.8) {
          const o = model.lso + Math.floor(rand() * (model.leo - model.lso + 1));
          await checkRead(log, model, o, Math.floor(rand() * 4000));
        } else if (r < 0.85) {
          await mgr.close();
          mgr = await LogManager.open(dir, { hotTailBytes, retentionCheckIntervalMs: 0 });
          assert.equal(mgr.hadCleanShutdown, true);
          log = mgr.partition("t", 0)!;
          await checkAll(log, model, rand);
        } else if (r < 0.9) {
          const o = model.lso + Math.floor(rand() * (model.leo - model.lso + 1));
          const lso = await log.deleteRecordsBefore(o);
          model.lso = Math.max(model.lso, o);
          assert.equal(lso, model.lso);
          assert.ok(log.segmentBaseOffsets[0] <= model.lso);
        } else if (r < 0.94) {
          const o = Math.max(0, model.leo - Math.floor(rand() * 40));
          await log.truncateTo(o);
          model.truncate(o);
          assert.equal(log.logEndOffset, model.leo);
        } else if (r < 0.97) {
          await mgr.alterTopicConfigs("t", { "retention.bytes": String(6000 + seed * 500) });
          await mgr.runRetention();
          model.lso = Math.max(model.lso, log.segmentBaseOffsets[0]);
          assert.equal(log.logStartOffset, model.lso);
          assert.ok(log.sizeInBytes <= 6000 + seed * 500 + 4000 + seed * 1000);
          await mgr.alterTopicConfigs("t", {}, ["retention.bytes"]);
        } else {
          await checkAll(log, model, rand);
        }
      }
      await checkAll(log, model, rand);
      assert.ok(log.segmentCount > 1, "the workload should roll segments");
    } finally {
      await mgr.close();
      await Deno.remove(dir, { recursive: true });
    }
  });
}

Deno.test("index files agree with a linear scan of the log", async () => {
  const dir = await Deno.makeTempDir();
  const mgr = await LogManager.open(dir, { retentionCheckIntervalMs: 0 });
  try {
    await mgr.createTopic("idx", 1, { "segment.bytes": "20000", "index.interval.bytes": "500" });
    const log = mgr.partition("idx", 0)!;
    const rand = prng(7);
    const base = Date.now() - 100_000;
    for (let i = 0; i < 200; i++) {
      const ts = base + Math.floor(rand() * 50_000);
      await log.append(
        makeBatch(1 + Math.floor(rand() * 5), Math.floor(rand() * 300), ts, `i${i}`),
      );
    }
    await mgr.flush();
    const bases = log.segmentBaseOffsets;
    assert.ok(bases.length >= 3);
    for (const segBase of bases) {
      const stem = String(segBase).padStart(20, "0");
      const logBytes = await Deno.readFile(`${dir}/idx-0/${stem}.log`);
      const batches = splitBatches(logBytes);
      const positions = new Map<number, number>();
      let p = 0;
      for (const b of batches) {
        positions.set(p, b.baseOffset);
        p += b.bytes.length;
      }
      const idx = await Deno.readFile(`${dir}/idx-0/${stem}.index`);
      assert.equal(idx.length % 8, 0);
      const dv = new DataView(idx.buffer);
      const entries: [number, number][] = [];
      for (let e = 0; e < idx.length; e += 8) {
        const rel = dv.getUint32(e);
        const pos = dv.getUint32(e + 4);
        assert.equal(positions.get(pos), segBase + rel, `index entry ${rel}->${pos}`);
        entries.push([rel, pos]);
      }
      if (logBytes.length > 2000) assert.ok(entries.length > 0);
      // lookups of the WASM index agree with a linear scan of the entries
      const buf = new OffsetIndexBuffer();
      buf.load(idx);
      for (let k = 0; k < 50; k++) {
        const target = Math.floor(rand() * (batches.at(-1)!.lastOffset - segBase + 2));
        let linear = -1;
        for (let e = 0; e < entries.length; e++) if (entries[e][0] <= target) linear = e;
        assert.equal(buf.lookup(target), linear);
      }
      buf.free();
      // time index: each entry is the max timestamp so far and the last offset of its batch
      const tidx = await Deno.readFile(`${dir}/idx-0/${stem}.timeindex`);
      assert.equal(tidx.length % 12, 0);
      const tdv = new DataView(tidx.buffer);
      for (let e = 0; e < tidx.length; e += 12) {
        const ts = readInt64(tidx, e);
        const off = segBase + tdv.getUint32(e + 8);
        let maxSoFar = -1;
        for (const b of batches) {
          if (b.lastOffset > off) break;
          maxSoFar = Math.max(maxSoFar, maxTimestampAt(b.bytes, 0));
        }
        assert.equal(ts, maxSoFar);
        assert.ok(batches.some((b) => b.lastOffset === off));
      }
    }
  } finally {
    await mgr.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("offsetForTime agrees with a linear scan of record timestamps, compressed batches too", async () => {
  const dir = await Deno.makeTempDir();
  const mgr = await LogManager.open(dir, { retentionCheckIntervalMs: 0 });
  try {
    await mgr.createTopic("ts", 1, { "segment.bytes": "6000", "index.interval.bytes": "200" });
    const log = mgr.partition("ts", 0)!;
    const rand = prng(11);
    const records: { offset: number; ts: number }[] = [];
    const t0 = Date.now() - 1_000_000;
    for (let i = 0; i < 120; i++) {
      const n = 1 + Math.floor(rand() * 5);
      const baseTs = t0 + i * 1000 + Math.floor(rand() * 3000) - 1500;
      const deltas = Array.from({ length: n }, () => Math.floor(rand() * 900));
      // every third batch gzip, every third lz4: offsetForTime opens them (Kafka does)
      const codec = (["none", "gzip", "lz4"] as const)[i % 3];
      const batch = codec === "none"
        ? makeBatch(n, 20, baseTs, `t${i}`, deltas)
        : encodeRecordBatch(
          deltas.map((d) => ({ value: new Uint8Array(20).fill(i), timestamp: baseTs + d })),
          { compression: codec },
        );
      const r = await log.append(batch);
      deltas.forEach((d, k) => records.push({ offset: r.baseOffset + k, ts: baseTs + d }));
    }
    for (let k = 0; k < 200; k++) {
      const target = t0 - 5000 + Math.floor(rand() * 135_000);
      const hit = records.find((r) => r.ts >= target);
      const got = await log.offsetForTime(target);
      if (!hit) assert.equal(got, null);
      else assert.deepEqual(got, { offset: hit.offset, timestamp: hit.ts });
    }
    assert.deepEqual(await log.offsetForTime(-2), { offset: 0, timestamp: -1 });
    assert.deepEqual(await log.offsetForTime(-1), { offset: log.logEndOffset, timestamp: -1 });
    const maxTs = Math.max(...records.map((r) => r.ts));
    // Kafka 3.8+: the first record with the largest timestamp, not its batch's last offset.
    assert.deepEqual(await log.offsetForTime(-3), {
      offset: records.find((r) => r.ts === maxTs)!.offset,
      timestamp: maxTs,
    });
    // A batch that inflates past 64 times its size (a client's zstd bomb) is not opened: its base
    // offset and maxTimestamp answer.
    const bombTs = t0 + 500_000;
    const bomb = await log.append(
      encodeRecordBatch([{ value: new Uint8Array(1 << 20), timestamp: bombTs - 7 }, {
        value: new Uint8Array(8 << 20),
        timestamp: bombTs,
      }], { compression: "zstd" }),
    );
    assert.deepEqual(await log.offsetForTime(bombTs), {
      offset: bomb.baseOffset,
      timestamp: bombTs,
    });
    // after moving the log start offset, results never go below it
    await log.deleteRecordsBefore(50);
    assert.equal((await log.offsetForTime(t0 - 10_000))?.offset, 50);
  } finally {
    await mgr.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("max-timestamp (-3) answers the first record with the largest timestamp, as Kafka 3.8+", async () => {
  const dir = await Deno.makeTempDir();
  const mgr = await LogManager.open(dir, { retentionCheckIntervalMs: 0 });
  try {
    const t0 = Date.now() - 60_000;
    for (const codec of ["none", "zstd"] as const) {
      await mgr.createTopic(`mt-${codec}`, 1);
      const log = mgr.partition(`mt-${codec}`, 0)!;
      // offsets 0-5 then 6-9: the largest timestamp is first carried by offset 3, mid-batch
      // (the batch's last offset is 5), and again by offset 7 in a later batch.
      for (const deltas of [[0, 1, 2, 100, 4, 100], [5, 100, 6, 7]]) {
        await log.append(encodeRecordBatch(
          deltas.map((d) => ({ value: new Uint8Array(8), timestamp: t0 + d })),
          { compression: codec },
        ));
      }
      assert.deepEqual(await log.offsetForTime(-3), { offset: 3, timestamp: t0 + 100 });
      // below the log start offset: no answer, as before
      await log.deleteRecordsBefore(4);
      assert.equal(await log.offsetForTime(-3), null);
    }
    await mgr.createTopic("mt-lat", 1, { "message.timestamp.type": "LogAppendTime" });
    const lat = mgr.partition("mt-lat", 0)!;
    const r = await lat.append(
      buildBatch({
        records: [{ key: "a", value: "b" }, { key: "c", value: "d" }],
        baseTimestamp: 5,
      }),
    );
    // every record of a LogAppendTime batch carries the batch's time: its first record answers
    assert.deepEqual(await lat.offsetForTime(-3), { offset: 0, timestamp: r.logAppendTime });
  } finally {
    await mgr.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("retention.ms and retention.bytes delete whole old segments, the active one when expired", async () => {
  const dir = await Deno.makeTempDir();
  const mgr = await LogManager.open(dir, { retentionCheckIntervalMs: 0 });
  try {
    await mgr.createTopic("r", 1, {
      "segment.bytes": "1000",
      "retention.ms": "3600000",
      "file.delete.delay.ms": "0",
    });
    const log = mgr.partition("r", 0)!;
    const old = Date.now() - 10 * 3600_000;
    for (let i = 0; i < 10; i++) await log.append(makeBatch(4, 100, old, `old${i}`)); // 10 segments
    const oldSegments = log.segmentCount;
    assert.equal(oldSegments, 10);
    for (let i = 0; i < 5; i++) await log.append(makeBatch(4, 100, Date.now(), `new${i}`));
    assert.equal(log.segmentCount, 15);
    const deleted = await mgr.runRetention();
    assert.equal(deleted, 10);
    assert.equal(log.logStartOffset, 40);
    assert.deepEqual(log.segmentBaseOffsets, [40, 44, 48, 52, 56]);
    await assert.rejects(
      () => log.read(39, 100),
      (e: EngineError) => e.code === ErrorCode.OFFSET_OUT_OF_RANGE,
    );
    assert.equal(splitBatches((await log.read(40, 1)).records)[0].baseOffset, 40);
    const files = [...Deno.readDirSync(`${dir}/r-0`)].map((e) => e.name).filter((n) =>
      n.endsWith(".log")
    );
    assert.equal(files.length, 5);
    // everything expired: the active segment is rolled and deleted too (as Kafka does), so the
    // earliest offset reaches the end offset
    await mgr.alterTopicConfigs("r", { "retention.ms": "0" });
    assert.equal(await mgr.runRetention(Date.now() + 1000), 5);
    assert.deepEqual(log.segmentBaseOffsets, [60]);
    assert.deepEqual([log.logStartOffset, log.logEndOffset, log.highWatermark], [60, 60, 60]);
    assert.equal((await log.read(60, 1000)).records.length, 0);
    assert.equal(await mgr.runRetention(Date.now() + 1000), 0); // an empty active segment stays
    assert.equal((await log.append(makeBatch(1, 10, Date.now(), "after"))).baseOffset, 60);
    // retention.bytes
    await mgr.alterTopicConfigs("r", { "retention.ms": "-1", "retention.bytes": "2500" });
    for (let i = 0; i < 6; i++) await log.append(makeBatch(4, 100, Date.now(), `b${i}`));
    const sizes = log.sizeInBytes;
    const n = await mgr.runRetention();
    assert.ok(n > 0);
    assert.ok(log.sizeInBytes <= 2500 + 1000, `size ${log.sizeInBytes} of ${sizes}`);
    assert.ok(log.sizeInBytes >= 2500 - 1000);
    // reopen keeps the log start offset
    const lso = log.logStartOffset;
    await mgr.close();
    const again = await LogManager.open(dir, { retentionCheckIntervalMs: 0 });
    assert.equal(again.partition("r", 0)!.logStartOffset, lso);
    await again.close();
  } finally {
    await mgr.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deleteRecordsBefore and truncateTo", async () => {
  const dir = await Deno.makeTempDir();
  const mgr = await LogManager.open(dir, { retentionCheckIntervalMs: 0 });
  try {
    await mgr.createTopic("d", 1, { "segment.bytes": "1000", "file.delete.delay.ms": "0" });
    const log = mgr.partition("d", 0)!;
    for (let i = 0; i < 10; i++) await log.append(makeBatch(4, 100, Date.now(), `d${i}`));
    assert.equal(log.logEndOffset, 40);
    assert.equal(await log.deleteRecordsBefore(10), 10);
    assert.deepEqual(log.segmentBaseOffsets.slice(0, 2), [8, 12]);
    assert.equal(await log.deleteRecordsBefore(5), 10); // never backwards
    await assert.rejects(
      () => log.deleteRecordsBefore(41),
      (e: EngineError) =>
        e.code === ErrorCode.OFFSET_OUT_OF_RANGE &&
        e.message === "delete records of d-0 failed: offset 41 is outside [0, 40]",
    );
    // read at the log start offset returns the batch containing it
    assert.equal(splitBatches((await log.read(10, 1)).records)[0].baseOffset, 8);
    await assert.rejects(
      () => log.read(9, 1),
      (e: EngineError) =>
        e.code === ErrorCode.OFFSET_OUT_OF_RANGE &&
        e.message === "read from d-0 failed: offset 9 is outside [10, 40]",
    );
    assert.equal((await log.read(40, 1000)).records.length, 0);
    // truncate in the middle of a batch removes the whole batch
    await log.truncateTo(30);
    assert.equal(log.logEndOffset, 28);
    await log.truncateTo(25);
    assert.equal(log.logEndOffset, 24);
    const r = await log.append(makeBatch(2, 10, Date.now(), "after"));
    assert.equal(r.baseOffset, 24);
    // truncate below the start offset empties the log and restarts it there
    await log.truncateTo(3);
    assert.equal(log.logStartOffset, 3);
    assert.equal(log.logEndOffset, 3);
    assert.deepEqual(log.segmentBaseOffsets, [3]);
    assert.equal((await log.append(makeBatch(1, 10, Date.now(), "x"))).baseOffset, 3);
    assert.equal(await log.deleteRecordsBefore(-1), 4);
  } finally {
    await mgr.close();
    await Deno.remove(dir, { recursive: true });
  }
});

async function dirBytes(path: string): Promise<number> {
  let n = 0;
  for await (const e of Deno.readDir(path)) {
    if (e.name.endsWith(".log")) n += (await Deno.stat(`${path}/${e.name}`)).size;
  }
  return n;
}

Deno.test("bad input is refused with a precise error and the log is unchanged", async () => {
  const dir = await Deno.makeTempDir();
  const mgr = await LogManager.open(dir, { retentionCheckIntervalMs: 0 });
  try {
    await mgr.createTopic("bad", 1, { "max.message.bytes": "1000" });
    const log = mgr.partition("bad", 0)!;
    const good = makeBatch(3, 10, Date.now(), "good");
    await log.append(good);
    const before = await dirBytes(`${dir}/bad-0`);
    const check = async (input: Uint8Array, code: number, message: string | RegExp) => {
      await assert.rejects(() => log.append(input), (e: unknown) => {
        assert.ok(e instanceof EngineError);
        assert.equal(e.code, code);
        if (typeof message === "string") assert.equal(e.message, message);
        else assert.match(e.message, message);
        return true;
      });
      assert.equal(log.logEndOffset, 3);
      assert.equal(await dirBytes(`${dir}/bad-0`), before);
    };
    const crc = makeBatch(2, 10, Date.now(), "crc");
    crc[crc.length - 3] ^= 0x10;
    await check(
      crc,
      ErrorCode.CORRUPT_MESSAGE,
      /^append to bad-0 failed: batch 0 at byte 0: bad CRC/,
    );
    // second batch corrupt: the valid first batch must not be appended either
    const two = concatBytes([makeBatch(1, 10, Date.now(), "ok"), crc]);
    await check(
      two,
      ErrorCode.CORRUPT_MESSAGE,
      /^append to bad-0 failed: batch 1 at byte \d+: bad CRC/,
    );
    const magic = makeBatch(2, 10, Date.now(), "magic");
    magic[MAGIC_OFFSET] = 1;
    await check(
      magic,
      ErrorCode.CORRUPT_MESSAGE,
      /^append to bad-0 failed: batch 0 at byte 0: bad magic/,
    );
    const framing = makeBatch(2, 10, Date.now(), "framing");
    framing[RECORD_BATCH_OVERHEAD] = 0x7e; // first record's length varint
    fixCrc(framing);
    await check(framing, ErrorCode.INVALID_RECORD, /^append to bad-0 failed: batch 0 at byte 0: /);
    const torn = makeBatch(2, 10, Date.now(), "torn").subarray(0, 70);
    await check(
      torn,
      ErrorCode.CORRUPT_MESSAGE,
      /^append to bad-0 failed: batch 0 at byte 0: truncated/,
    );
    const big = makeBatch(2, 600, Date.now(), "big");
    await check(
      big,
      ErrorCode.MESSAGE_TOO_LARGE,
      `append to bad-0 failed: batch 0 at byte 0 is ${big.length} bytes, larger than max.message.bytes 1000`,
    );
    await check(
      new Uint8Array(0),
      ErrorCode.INVALID_RECORD,
      "append to bad-0 failed: no record batches",
    );
    // the log still works and holds exactly the good batch
    const r = await log.read(0, 10_000);
    assert.equal(r.records.length, good.length);
    assert.equal((await log.append(makeBatch(1, 10, Date.now(), "later"))).baseOffset, 3);
  } finally {
    await mgr.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("LogAppendTime topics stamp the broker time and a valid CRC", async () => {
  const dir = await Deno.makeTempDir();
  const mgr = await LogManager.open(dir, { retentionCheckIntervalMs: 0 });
  try {
    await mgr.createTopic("lat", 1, { "message.timestamp.type": "LogAppendTime" });
    const log = mgr.partition("lat", 0)!;
    const before = Date.now();
    const r = await log.append(
      buildBatch({ records: [{ key: "a", value: "b" }], baseTimestamp: 5 }),
    );
    assert.ok(r.logAppendTime >= before && r.logAppendTime <= Date.now());
    const stored = (await log.read(0, 1000)).records;
    assert.equal(maxTimestampAt(stored, 0), r.logAppendTime);
    assert.equal(attributesAt(stored, 0) & TIMESTAMP_TYPE_BIT, TIMESTAMP_TYPE_BIT);
    // the stored batch is valid: appending a copy elsewhere succeeds
    await mgr.createTopic("copy", 1);
    await mgr.partition("copy", 0)!.append(stored.slice());
  } finally {
    await mgr.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("concurrent appends get consecutive offsets in call order; fsync-before-ack mode", async () => {
  const dir = await Deno.makeTempDir();
  const mgr = await LogManager.open(dir, { retentionCheckIntervalMs: 0 });
  try {
    await mgr.createTopic("c", 2, { "flush.messages": "1" });
    const log = mgr.partition("c", 1)!;
    const seen: number[] = [];
    const off = mgr.onAppend((t, p, leo) => {
      assert.equal(t, "c");
      assert.equal(p, 1);
      seen.push(leo);
    });
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => log.append(makeBatch(2, 30, Date.now(), `c${i}`))),
    );
    results.forEach((r, i) => {
      assert.equal(r.baseOffset, i * 2);
      assert.equal(r.lastOffset, i * 2 + 1);
      assert.equal(r.recordCount, 2);
    });
    assert.equal(seen.at(-1), 100);
    assert.ok(seen.length <= 50);
    assert.equal(log.recoveryPoint, 100); // fsynced before acknowledging
    off();
    const all = splitBatches((await log.read(0, 1 << 20)).records);
    assert.deepEqual(all.map((b) => b.baseOffset), results.map((r) => r.baseOffset));
  } finally {
    await mgr.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("segment.ms (by batch timestamps) and a full index roll new segments", async () => {
  const dir = await Deno.makeTempDir();
  const mgr = await LogManager.open(dir, { retentionCheckIntervalMs: 0 });
  try {
    await mgr.createTopic("ms", 1, { "segment.ms": "1000" });
    const log = mgr.partition("ms", 0)!;
    const t = Date.now();
    await log.append(makeBatch(2, 10, t, "a"));
    await log.append(makeBatch(2, 10, t + 500, "b"));
    assert.deepEqual(log.segmentBaseOffsets, [0]);
    await log.append(makeBatch(2, 10, t + 1500, "c"));
    assert.deepEqual(log.segmentBaseOffsets, [0, 4]);

    await mgr.createTopic("full", 1, { "segment.index.bytes": "24", "index.interval.bytes": "0" });
    const full = mgr.partition("full", 0)!;
    for (let i = 0; i < 10; i++) await full.append(makeBatch(1, 10, t + i, `f${i}`));
    // 24 bytes hold 2 time index entries: a segment takes 3 batches (the first is not indexed)
    assert.deepEqual(full.segmentBaseOffsets, [0, 3, 6, 9]);
    for (let i = 0; i < 10; i++) {
      assert.equal(splitBatches((await full.read(i, 1)).records)[0].baseOffset, i);
    }
  } finally {
    await mgr.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("flush policy: default leaves fsync to the OS; flush.ms=0 and flush.messages flush", async () => {
  const dir = await Deno.makeTempDir();
  const mgr = await LogManager.open(dir, { retentionCheckIntervalMs: 0 });
  try {
    await mgr.createTopic("lazy", 1);
    await mgr.createTopic("timed", 1, { "flush.ms": "0" });
    await mgr.createTopic("counted", 1, { "flush.messages": "5" });
    const t = Date.now();
    for (const name of ["lazy", "timed", "counted"]) {
      const log = mgr.partition(name, 0)!;
      await log.append(makeBatch(2, 10, t, "a"));
      await log.append(makeBatch(2, 10, t, "b"));
    }
    assert.equal(mgr.partition("lazy", 0)!.recoveryPoint, 0);
    assert.equal(mgr.partition("timed", 0)!.recoveryPoint, 4);
    assert.equal(mgr.partition("counted", 0)!.recoveryPoint, 0);
    await mgr.partition("counted", 0)!.append(makeBatch(1, 10, t, "c"));
    assert.equal(mgr.partition("counted", 0)!.recoveryPoint, 5);
    await mgr.flush();
    assert.equal(mgr.partition("lazy", 0)!.recoveryPoint, 4);
  } finally {
    await mgr.close();
    await Deno.remove(dir, { recursive: true });
  }
});
