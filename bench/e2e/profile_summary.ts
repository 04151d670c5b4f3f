// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * Summarises a V8 `.cpuprofile` (from `main.ts --cpu-prof DIR`, i.e. `deno run --cpu-prof`):
 * the functions with the most self time.
 *
 * ```sh
 * deno run -A bench/e2e/profile_summary.ts DIR/CPU.*.cpuprofile [TOP]
 * ```
 *
 * @module
 */

/** One function's self time in a profile. */
export interface SelfTime {
  /** `function (file:line)`. */
  name: string;
  /** Self time in milliseconds. */
  ms: number;
  /** Share of all sampled time, 0..1. */
  share: number;
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

/** The parts of a V8 CPU profile this module reads. */
export interface CpuProfile {
  /** Call-tree nodes. */
  nodes: ProfileNode[];
  /** Node id of each sample. */
  samples: number[];
  /** Microseconds before each sample. */
  timeDeltas: number[];
}

/**
 * Self time per function, most first.
 *
 * @example
 * ```ts
 * import { topSelfTime } from "./profile_summary.ts";
 * const top = topSelfTime({
 *   nodes: [{ id: 1, callFrame: { functionName: "f", url: "file:///a.ts", lineNumber: 0 } }],
 *   samples: [1, 1],
 *   timeDeltas: [500, 500],
 * });
 * console.log(top[0]); // { name: "f (a.ts:1)", ms: 1, share: 1 }
 * ```
 *
 * @param profile A parsed `.cpuprofile`.
 * @param top How many to return. Default 20.
 * @returns The functions.
 */
export function topSelfTime(profile: CpuProfile, top = 20): SelfTime[] {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const totals = new Map<string, number>();
  let all = 0;
  profile.samples.forEach((id, i) => {
    const f = byId.get(id)?.callFrame;
    const dt = profile.timeDeltas[i] ?? 0;
    if (!f) return;
    const file = f.url ? f.url.slice(f.url.lastIndexOf("/") + 1) : "";
    const name = `${f.functionName || "(anonymous)"}${
      file ? ` (${file}:${f.lineNumber + 1})` : ""
    }`;
    totals.set(name, (totals.get(name) ?? 0) + dt);
    all += dt;
  });
  return [...totals].sort((a, b) => b[1] - a[1]).slice(0, top).map(([name, us]) => ({
    name,
    ms: us / 1000,
    share: all > 0 ? us / all : 0,
  }));
}

if (import.meta.main) {
  const [path, top] = Deno.args;
  if (!path) {
    console.error("usage: profile_summary.ts FILE.cpuprofile [TOP]");
    Deno.exit(2);
  }
  try {
    const profile: CpuProfile = JSON.parse(await Deno.readTextFile(path));
    for (const s of topSelfTime(profile, top ? Number(top) : 20)) {
      console.log(
        `${(s.share * 100).toFixed(1).padStart(5)}%  ${s.ms.toFixed(1).padStart(8)} ms  ${s.name}`,
      );
    }
  } catch (e) {
    console.error(`profile_summary: cannot read ${path}: ${e instanceof Error ? e.message : e}`);
    Deno.exit(1);
  }
}
