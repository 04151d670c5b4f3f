// Copyright 2026 the Sluice authors. Apache-2.0 license.
import assert from "node:assert/strict";
import { selectWorkloads, WORKLOADS } from "./workloads.ts";

Deno.test("workloads: the issue #7 set", () => {
  assert.deepEqual(
    WORKLOADS.map((w) => [w.name, w.records, w.size, w.partitions, w.acks, w.fsync, w.rate]),
    [
      ["100b", 1_000_000, 100, 1, 1, false, 0],
      ["100b-acks-all", 1_000_000, 100, 1, -1, false, 0],
      ["100b-8p", 1_000_000, 100, 8, 1, false, 0],
      ["1kib", 200_000, 1024, 1, 1, false, 0],
      ["1kib-fsync", 200_000, 1024, 1, -1, true, 0],
      ["16kib", 20_000, 16_384, 1, 1, false, 0],
      ["latency-50k", 500_000, 100, 1, 1, false, 50_000],
    ],
  );
});

Deno.test("workloads: selection keeps table order and scales counts, not rates", () => {
  const picked = selectWorkloads(["latency-50k", "16kib"], 0.001);
  assert.deepEqual(picked.map((w) => [w.name, w.records, w.rate]), [
    ["16kib", 20, 0],
    ["latency-50k", 500, 50_000],
  ]);
  assert.equal(selectWorkloads([], 1).length, WORKLOADS.length);
  assert.equal(selectWorkloads(["all"], 1e-9)[0].records, 1);
  assert.throws(() => selectWorkloads(["x"], 1), /unknown workload "x": expected one of 100b,/);
  assert.throws(() => selectWorkloads([], -1), /--scale -1 is invalid/);
  assert.throws(() => selectWorkloads([], NaN), /--scale NaN is invalid/);
});
