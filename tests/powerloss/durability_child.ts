// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * One step of a `durability_test.ts` scenario, run in its own process so that it can end as a
 * crash does: `Deno.exit` without closing anything. Prints one JSON line.
 *
 * Usage: `deno run -A durability_child.ts STEP DIR`
 *
 * @module
 */

import { decodeRecordBatches, encodeRecordBatch } from "../../records/mod.ts";
import { LogManager, writeFileAtomic } from "../../engine/mod.ts";
import { loadOrCreateMetaProperties } from "../../server/meta_properties.ts";
import { ProducerIdManager } from "../../server/producer_ids.ts";

const [step, dir] = Deno.args;
const out = (v: unknown) => console.log(JSON.stringify(v));
const ROLL = { "segment.bytes": "4096", "flush.messages": "1" };
const MANY = 300;

switch (step) {
  case "roll": {
    // appends acknowledged (fsynced) across many segment rolls
    const mgr = await LogManager.open(dir, { defaults: ROLL });
    await mgr.createTopic("t", 1);
    const log = mgr.partition("t", 0)!;
    const acked: Array<[number, string]> = [];
    for (let i = 0; i < 60; i++) {
      const value = new TextEncoder().encode(`r${i}:${"x".repeat(400)}`);
      const r = await log.append(encodeRecordBatch([{ value }]));
      acked.push([r.baseOffset, `r${i}`]);
    }
    out({ acked, segments: log.segmentCount });
    break;
  }
  case "read": {
    const mgr = await LogManager.open(dir, { defaults: ROLL });
    const log = mgr.partition("t", 0);
    const stored: Array<[number, string]> = [];
    for (let off = log?.logStartOffset ?? 0; log && off < log.logEndOffset;) {
      const { records } = await log.read(off, 1 << 20);
      if (records.length === 0) break;
      for (const b of decodeRecordBatches(records)) {
        for (const r of b.records) {
          stored.push([r.offset, new TextDecoder().decode(r.value!).split(":")[0]]);
          off = r.offset + 1;
        }
      }
    }
    out({ topics: mgr.listTopics().map((t) => t.name), stored });
    break;
  }
  case "meta": {
    const { clusterId } = await loadOrCreateMetaProperties(dir, { nodeId: 1, clusterId: "" });
    // anything that later fsyncs the directory (here: another atomic write) makes the entry
    // durable; its content must be too
    await writeFileAtomic(`${dir}/other`, new Uint8Array([1]));
    out({ clusterId });
    break;
  }
  case "meta-read": {
    try {
      out(await loadOrCreateMetaProperties(dir, { nodeId: 1, clusterId: "" }));
    } catch (e) {
      out({ error: (e as Error).message });
    }
    break;
  }
  case "pids": {
    out({ id: await (await ProducerIdManager.open(dir)).next() });
    break;
  }
  case "topic": {
    // a data directory the engine creates, then a topic in it
    const mgr = await LogManager.open(dir);
    await mgr.createTopic("t", 1);
    out({ ok: true });
    break;
  }
  case "many": {
    // many partitions made at once (one data-dir fsync, no segment file), then one fsynced
    // append to two of them: their lazily made `.log` files must survive with the records
    const mgr = await LogManager.open(dir, { defaults: { "flush.messages": "1" } });
    await mgr.createTopic("m", MANY);
    const acked: Array<[number, number]> = [];
    for (const p of [5, MANY - 1]) {
      const r = await mgr.partition("m", p)!.append(
        encodeRecordBatch([{ value: new TextEncoder().encode(`p${p}`) }]),
      );
      acked.push([p, r.baseOffset]);
    }
    out({ acked });
    break;
  }
  case "many-cut": {
    // a creation the power cut interrupts: after Deno.args[2] ms (or once it returned)
    const mgr = await LogManager.open(dir);
    await mgr.createTopic("small", 1);
    await mgr.partition("small", 0)!.append(encodeRecordBatch([{ value: new Uint8Array(1) }]));
    await mgr.flush();
    setTimeout(() => {
      out({ returned: false });
      Deno.exit(0);
    }, Number(Deno.args[2]));
    await mgr.createTopic("m", 2000);
    out({ returned: true });
    break;
  }
  case "many-clean": {
    // a clean shutdown listing the never-used partitions in the marker, then a power cut
    const mgr = await LogManager.open(dir);
    await mgr.createTopic("m", MANY);
    await mgr.close();
    out({ ok: true });
    break;
  }
  case "many-read": {
    const mgr = await LogManager.open(dir);
    const t = mgr.topic("m");
    const values: Array<[number, string[]]> = [];
    for (let p = 0; t && p < t.partitions; p++) {
      const log = mgr.partition("m", p)!;
      if (log.logEndOffset === 0) continue;
      const { records } = await log.read(0, 1 << 20);
      const vs = decodeRecordBatches(records).flatMap((b) =>
        b.records.map((r) => new TextDecoder().decode(r.value!))
      );
      values.push([p, vs]);
    }
    // what is left of the interrupted creation besides the topic's own directories
    const dirs = [...Deno.readDirSync(dir)].filter((e) => e.isDirectory).map((e) => e.name);
    out({
      partitions: t?.partitions ?? 0,
      values,
      small: mgr.partition("small", 0)?.logEndOffset,
      dirs: dirs.filter((d) => d.startsWith("m-")).length,
    });
    await mgr.close();
    break;
  }
  default:
    throw new Error(`unknown step ${step}`);
}
Deno.exit(0); // no close: what follows is a power cut
