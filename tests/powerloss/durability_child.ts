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
  default:
    throw new Error(`unknown step ${step}`);
}
Deno.exit(0); // no close: what follows is a power cut
