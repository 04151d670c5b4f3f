// Copyright 2026 the Sluice authors. Apache-2.0 license.
import assert from "node:assert/strict";
import { shardOf } from "./shards.ts";

Deno.test("shardOf: a topic's partitions go round the shards; internal topics are shard 0's", () => {
  for (const shards of [2, 3, 16, 64]) {
    for (const topic of ["orders", "a", "x".repeat(249)]) {
      const counts = new Array(shards).fill(0);
      for (let p = 0; p < 4 * shards; p++) {
        const s = shardOf(topic, p, shards);
        assert.ok(Number.isInteger(s) && s >= 0 && s < shards, `${topic}-${p}: ${s}`);
        // consecutive partitions are on consecutive shards
        assert.strictEqual(shardOf(topic, p + 1, shards), (s + 1) % shards);
        counts[s]++;
      }
      assert.deepStrictEqual(counts, new Array(shards).fill(4), `${topic} over ${shards}`);
    }
    assert.strictEqual(shardOf("__consumer_offsets", 7, shards), 0);
    assert.strictEqual(shardOf("__transaction_state", 3, shards), 0);
  }
  // one shard: everything is shard 0's
  assert.strictEqual(shardOf("orders", 5, 1), 0);
  // topics start on different shards (FNV-1a of the name), so one-partition topics spread
  const starts = new Set(Array.from({ length: 64 }, (_, i) => shardOf(`topic-${i}`, 0, 16)));
  assert.ok(starts.size >= 8, `64 one-partition topics on ${starts.size} of 16 shards`);
});
