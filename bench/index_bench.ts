// Copyright 2026 the Sluice authors. Apache-2.0 license.
// Sparse index lookups over a 1M-entry index: WASM (entries in linear memory) vs the TS
// reference binary search over a DataView. Each iteration does 1000 lookups of random targets,
// so lookups/s = 1000 / time per iteration.
// Run: deno bench --allow-all bench/index_bench.ts
import { OffsetIndexBuffer, TimeIndexBuffer } from "../wasm/mod.ts";
import { referenceOffsetIndexSearch, referenceTimeIndexSearch } from "../wasm/reference.ts";
import { seededRandom } from "../wasm/testing.ts";

const N = 1_000_000;
const LOOKUPS = 1000;
const rnd = seededRandom(3);

const offsets = new OffsetIndexBuffer(N);
const times = new TimeIndexBuffer(N);
for (let i = 0; i < N; i++) {
  offsets.append(i * 4, i * 4096);
  times.append(1.7e12 + i * 10, i * 4);
}
const offsetView = new DataView(offsets.toBytes().buffer);
const timeView = new DataView(times.toBytes().buffer);
const offsetTargets = Array.from({ length: LOOKUPS }, () => Math.floor(rnd() * N * 4));
const timeTargets = Array.from({ length: LOOKUPS }, () => 1.7e12 + Math.floor(rnd() * N * 10));
for (const t of offsetTargets) {
  if (offsets.lookup(t) !== referenceOffsetIndexSearch(offsetView, N, t)) throw new Error("bad");
}

let sink = 0;
Deno.bench({
  name: "TS offset index, 1000 lookups",
  group: "offset index 1M entries",
  baseline: true,
  fn: () => {
    for (const t of offsetTargets) sink += referenceOffsetIndexSearch(offsetView, N, t);
  },
});
Deno.bench({
  name: "WASM offset index, 1000 lookups",
  group: "offset index 1M entries",
  fn: () => {
    for (const t of offsetTargets) sink += offsets.lookup(t);
  },
});
Deno.bench({
  name: "TS time index, 1000 lookups",
  group: "time index 1M entries",
  baseline: true,
  fn: () => {
    for (const t of timeTargets) sink += referenceTimeIndexSearch(timeView, N, t);
  },
});
Deno.bench({
  name: "WASM time index, 1000 lookups",
  group: "time index 1M entries",
  fn: () => {
    for (const t of timeTargets) sink += times.lookup(t);
  },
});
