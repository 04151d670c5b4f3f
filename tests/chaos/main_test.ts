// Copyright 2026 the Sluice authors. Apache-2.0 license.
// `deno task chaos` flags: the defaults are the full run of docs/RELIABILITY.md, bad values are
// refused with the flag named, and the seed decides every random choice.

import { deepStrictEqual as assertEquals, throws as assertThrows } from "node:assert/strict";
import { DEFAULT_SEGMENT_BYTES, formatSize, parseSize, rng } from "./harness.ts";
import { parseChaosArgs } from "./main.ts";

const quiet = () => {};

Deno.test("parseChaosArgs() defaults to the full run: 2 × 50 kills, 1 MiB to 1 GiB segments", () => {
  const o = parseChaosArgs(["--seed", "5"], quiet)!;
  assertEquals(
    [o.seed, o.kills, o.fsync, o.segmentBytes, o.partitions, o.bytesPerPartition, o.producers],
    [5, 50, [true, false], [1 << 20, 16 << 20, DEFAULT_SEGMENT_BYTES], 2, 64 << 20, [
      "confluent",
      "sluice",
    ]],
  );
  assertEquals([o.kcat, o.keep, o.recordBytes], [true, false, 1000]);
});

Deno.test("parseChaosArgs() reads every flag and refuses bad values", () => {
  const o = parseChaosArgs([
    "--kills=3",
    "--fsync",
    "off",
    "--segment-bytes",
    "1MiB",
    "--bytes-per-partition",
    "8MiB",
    "--producers",
    "sluice,sluice",
    "--no-kcat",
    "--recovery-kill-ratio",
    "0",
  ], quiet)!;
  assertEquals(
    [o.kills, o.fsync, o.segmentBytes, o.bytesPerPartition, o.producers, o.kcat],
    [3, [false], [1 << 20], 8 << 20, ["sluice", "sluice"], false],
  );
  assertEquals(parseChaosArgs(["--help"], quiet), undefined);
  assertThrows(() => parseChaosArgs(["--fsync", "maybe"], quiet), /invalid --fsync "maybe"/);
  assertThrows(() => parseChaosArgs(["--kills=-1"], quiet), /invalid --kills "-1"/);
  assertThrows(() => parseChaosArgs(["--producers", "kafkajs"], quiet), /invalid --producers/);
  assertThrows(() => parseChaosArgs(["--bytes-per-partition", "lots"], quiet), /invalid size/);
  assertThrows(() => parseChaosArgs(["--kils", "3"], quiet), /kils/);
});

Deno.test("parseSize() and formatSize() use binary units", () => {
  assertEquals(
    ["1048576", "64MiB", "64M", "1 GiB", "16KB"].map(parseSize),
    [1 << 20, 64 << 20, 64 << 20, 1 << 30, 16 << 10],
  );
  assertEquals([formatSize(1 << 20), formatSize(1.5 * (1 << 20)), formatSize(10)], [
    "1 MiB",
    "1.5 MiB",
    "10 B",
  ]);
  assertThrows(() => parseSize("0"), /invalid size "0"/);
});

Deno.test("rng() repeats its sequence for a seed", () => {
  const a = rng(42), b = rng(42), c = rng(43);
  const take = (r: () => number) => Array.from({ length: 5 }, r);
  const first = take(a);
  assertEquals(first, take(b));
  assertEquals(first.every((x) => x >= 0 && x < 1), true);
  assertEquals(first.join() === take(c).join(), false);
});
