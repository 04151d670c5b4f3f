// Copyright 2026 the Sluice authors. Apache-2.0 license.
import { deepStrictEqual as assertEquals, throws } from "node:assert/strict";
import { Serdes, Stores, StreamsBuilder, TopologyTestDriver } from "./mod.ts";
import { prng } from "./testing.ts";

const S = Serdes.String();
const defaults = { defaultKeySerde: S, defaultValueSerde: S };

function drain(d: TopologyTestDriver): string[] {
  return d.createOutputTopic("out", S, S).readRecordsToList().map((r) =>
    `${r.key}:${r.value}@${r.timestamp}`
  );
}

Deno.test("versioned table (KIP-889/914): out-of-order updates go to the history, not downstream; get(key, asOf) answers each version", () => {
  const b = new StreamsBuilder();
  b.table<string, string>("prices", { ...Stores.persistentVersionedKeyValueStore("p", 100) })
    .toStream().to("out");
  const d = new TopologyTestDriver(b.build(), { ...defaults, stateDir: Deno.makeTempDirSync() });
  try {
    const prices = d.createInputTopic("prices", S, S);
    const store = d.getVersionedKeyValueStore<string, string>("p");
    prices.pipeInput("a", "v1", 10);
    prices.pipeInput("a", "v2", 20);
    prices.pipeInput("a", "v0", 15); // out of order: kept, not forwarded
    assertEquals(drain(d), ["a:v1@10", "a:v2@20"]);
    assertEquals(store.get("a"), { value: "v2", timestamp: 20 });
    assertEquals(store.get("a", 12), { value: "v1", timestamp: 10, validTo: 15 });
    assertEquals(store.get("a", 15), { value: "v0", timestamp: 15, validTo: 20 });
    assertEquals(store.get("a", 19), { value: "v0", timestamp: 15, validTo: 20 });
    assertEquals(store.get("a", 25), { value: "v2", timestamp: 20 });
    assertEquals(store.get("a", 9), null);
    prices.pipeInput("a", null, 30); // a deletion is the latest version
    prices.pipeInput("a", "v3", 25); // older than the deletion: out of order
    assertEquals(drain(d), ["a:null@30"]);
    assertEquals(store.get("a"), null);
    assertEquals(store.get("a", 22), { value: "v2", timestamp: 20, validTo: 25 });
    assertEquals(store.get("a", 27), { value: "v3", timestamp: 25, validTo: 30 });
    assertEquals(store.get("a", 30), null);
    prices.pipeInput("a", "v4", 40);
    prices.pipeInput("a", "v3b", 25); // the same time as a version: replaces it
    assertEquals(drain(d), ["a:v4@40"]);
    assertEquals(store.get("a", 35), null); // deleted from 30 to 40
    assertEquals(store.get("a", 26), { value: "v3b", timestamp: 25, validTo: 30 });
    // The store's time moves to 200: versions that ended before 100 go, and an update older
    // than that is dropped; a key's own in-order update is still forwarded.
    prices.pipeInput("b", "x", 200);
    prices.pipeInput("a", "v5", 50);
    prices.pipeInput("a", "v-late", 45);
    assertEquals(drain(d), ["b:x@200", "a:v5@50"]);
    assertEquals(store.get("a", 45), null);
    assertEquals(store.get("a", 150), { value: "v5", timestamp: 50 });
    assertEquals(store.get("a"), { value: "v5", timestamp: 50 });
    // The table's ordinary reads see the latest values only.
    assertEquals(d.getKeyValueStore<string, string>("p").all(), [["a", "v5"], ["b", "x"]]);
  } finally {
    d.close();
  }
  throws(
    () => new StreamsBuilder().table("t", { versioned: { historyRetentionMs: -1 } }),
    /historyRetentionMs must be a non-negative integer, got -1/,
  );
});

Deno.test("versioned table: 3000 random updates with out-of-order times and deletes; every as-of read equals a model (the last update at or before the time)", () => {
  const rnd = prng(7);
  const list = Array.from({ length: 3000 }, (_, i) => ({
    key: `k${Math.floor(rnd() * 12)}`,
    value: rnd() < 0.2 ? null : `v${i}`,
    time: Math.floor(rnd() * 5000),
  }));
  const b = new StreamsBuilder();
  b.table<string, string>("t", { storeName: "t", versioned: { historyRetentionMs: 10_000 } })
    .toStream().to("out");
  const d = new TopologyTestDriver(b.build(), defaults);
  const input = d.createInputTopic("t", S, S);
  const latest = new Map<string, number>();
  const forwarded: string[] = [];
  for (const u of list) {
    input.pipeInput(u.key, u.value, u.time);
    if (u.time >= (latest.get(u.key) ?? -1)) {
      latest.set(u.key, u.time);
      forwarded.push(`${u.key}:${u.value}@${u.time}`);
    }
  }
  assertEquals(drain(d), forwarded);
  const store = d.getVersionedKeyValueStore<string, string>("t");
  const asOf = (key: string, time: number) => {
    let best: (typeof list)[number] | null = null;
    for (const u of list) {
      if (u.key === key && u.time <= time && (best === null || u.time >= best.time)) best = u;
    }
    return best?.value ?? null;
  };
  for (let k = 0; k < 12; k++) {
    for (let time = 0; time <= 5000; time += 37) {
      assertEquals([`k${k}`, time, store.get(`k${k}`, time)?.value ?? null], [
        `k${k}`,
        time,
        asOf(`k${k}`, time),
      ]);
    }
    assertEquals(store.get(`k${k}`)?.value ?? null, asOf(`k${k}`, latest.get(`k${k}`)!));
  }
});
