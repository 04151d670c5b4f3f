// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * Power cuts (lazyfs) at the exact points where Sluice once lost data: each scenario runs one
 * step in a process that exits without closing anything, cuts power, and checks in a second
 * process what a restarted broker would see.
 */

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { LazyFs, lazyFsUnavailable } from "./lazyfs.ts";

const unavailable = await lazyFsUnavailable();
const ci = Deno.env.get("CI") === "true";
if (unavailable) console.warn(`${unavailable}: ${ci ? "failing (CI=true)" : "skipping"}`);
const CHILD = new URL("./durability_child.ts", import.meta.url).pathname;

// deno-lint-ignore no-explicit-any
async function step(name: string, dir: string, ...extra: string[]): Promise<any> {
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CHILD, name, dir, ...extra],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(r.stdout).trim();
  if (!r.success || !text) {
    throw new Error(`step ${name} failed: ${new TextDecoder().decode(r.stderr)}`);
  }
  return JSON.parse(text.split("\n").at(-1)!);
}

/** Runs `before` on a fresh lazyfs, cuts power, runs `after` on what survived. */
async function acrossCut<A, B>(
  sub: string,
  before: (dir: string) => Promise<A>,
  after: (dir: string) => Promise<B>,
): Promise<[A, B]> {
  const work = await Deno.makeTempDir({ prefix: "sluice_durability_" });
  try {
    let fs = await LazyFs.mount(`${work}/backing`, `${work}/mnt`);
    let a: A;
    try {
      a = await before(`${fs.mountpoint}/${sub}`);
    } finally {
      await fs.cut();
    }
    fs = await LazyFs.mount(`${work}/backing`, `${work}/mnt`);
    try {
      return [a, await after(`${fs.mountpoint}/${sub}`)];
    } finally {
      await fs.unmount();
    }
  } finally {
    await Deno.remove(work, { recursive: true });
  }
}

function lazyTest(name: string, fn: () => Promise<void>): void {
  Deno.test({
    name,
    ignore: unavailable !== null && !ci,
    async fn() {
      if (unavailable) throw new Error(unavailable);
      await fn();
    },
  });
}

lazyTest("power cut: acknowledged appends survive segment rolls (flush.messages=1)", async () => {
  const [w, r] = await acrossCut("data", (d) => step("roll", d), (d) => step("read", d));
  assert(w.segments >= 5, `expected several rolls, got ${w.segments} segments`);
  const stored = new Map<number, string>(r.stored);
  for (const [offset, id] of w.acked) assertEquals([offset, stored.get(offset)], [offset, id]);
});

lazyTest("power cut: a data directory the engine created survives with its topic", async () => {
  const [, r] = await acrossCut("a/b/data", (d) => step("topic", d), (d) => step("read", d));
  assertEquals(r.topics, ["t"]);
});

lazyTest("power cut: meta.properties is never left empty", async () => {
  const [w, r] = await acrossCut("", (d) => step("meta", d), (d) => step("meta-read", d));
  assertEquals(r, { clusterId: w.clusterId, nodeId: 1 });
});

lazyTest("power cut: producer ids are never handed out twice", async () => {
  const [w, r] = await acrossCut("", (d) => step("pids", d), (d) => step("pids", d));
  assertEquals(w.id, 0);
  assert(r.id >= 1000, `producer id ${r.id} handed out again after a power cut`);
});

lazyTest(
  "power cut: partitions created at once survive whole, with acked records in lazily made segments",
  async () => {
    const [w, r] = await acrossCut("", (d) => step("many", d), (d) => step("many-read", d));
    assertEquals(r.partitions, 300);
    assertEquals(r.dirs, 300);
    assertEquals(w.acked, [[5, 0], [299, 0]]);
    assertEquals(r.values, [[5, ["p5"]], [299, ["p299"]]]);
  },
);

lazyTest(
  "power cut after a clean shutdown: the marker's never-used partitions reopen",
  async () => {
    const [, r] = await acrossCut("", (d) => step("many-clean", d), (d) => step("many-read", d));
    assertEquals([r.partitions, r.dirs, r.values], [300, 300, []]);
  },
);

lazyTest(
  "power cut during a 2000-partition creation: the whole topic or nothing of it",
  async () => {
    // cut at several points of the creation (the last after it returned)
    const seen = new Set<string>();
    for (const ms of [150, 600, 1500, 60_000]) {
      const [w, r] = await acrossCut(
        "",
        (d) => step("many-cut", d, String(ms)),
        (d) => step("many-read", d),
      );
      assertEquals(r.small, 1);
      if (w.returned) {
        assertEquals([r.partitions, r.dirs], [2000, 2000]);
      } else {
        assert(
          (r.partitions === 0 && r.dirs === 0) || (r.partitions === 2000 && r.dirs === 2000),
          `cut at ${ms} ms: topic of ${r.partitions} partitions, ${r.dirs} directories left`,
        );
      }
      seen.add(`${w.returned}:${r.partitions}`);
    }
    assert(seen.has("true:2000"), [...seen].join(" "));
  },
);
