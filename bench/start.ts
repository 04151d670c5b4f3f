// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * Start-up of a broker process (issue #17 "start fast and small"): spawns `deno run … cli/main.ts
 * broker` on a free loopback port and a fresh data directory, times spawn → first ApiVersions
 * answer (the client connects again every 2 ms until one comes), waits, reads the idle RSS
 * (`/proc/<pid>/status` VmRSS), stops it with SIGTERM. Repeats `--runs` times, alternating with
 * Deno's own floor: `deno run` of a script that only listens on a port and answers the same
 * request with a fixed reply, and the same script that first sets a timer (`floor+timer`: Deno
 * loads its Node-compatible timers at the first one). Prints medians and the ratios to the floor.
 * `--before PATH` (repeatable) adds another checkout's `cli/main.ts` (e.g. main's, from
 * `git archive`, or a `deno bundle` of it) and `--flags="..."` (repeatable) this broker with more
 * `deno run` flags, all in the same rotation. Each `--flags` variant runs with a `DENO_DIR` of its
 * own: V8 rejects a code cache made under other V8 flags, so variants sharing one cache would
 * rewrite every module's entry at each start, and slow the plain broker's starts as much.
 *
 * @example
 * ```sh
 * deno task bench:start --runs 15
 * deno task bench:start --runs 9 --before /tmp/before/cli/main.ts \
 *   --flags="--v8-flags=--single-threaded-gc"
 * ```
 *
 * Needs `-A` (spawns processes, reads `/proc`).
 *
 * @module
 */

import { parseFlags } from "./flags.ts";

const MAIN = new URL("../cli/main.ts", import.meta.url).pathname;
/** The permissions of `deno task broker`. */
export const BROKER_PERMISSIONS: string[] = [
  "--allow-net",
  "--allow-read",
  "--allow-write",
  "--allow-env",
  "--allow-sys",
];

/** Deno's floor: listen, answer every request with a size-prefixed 4-byte correlation id. */
const FLOOR_SCRIPT = `
const l = Deno.listen({ hostname: "127.0.0.1", port: Number(Deno.args[0]) });
for await (const c of l) {
  (async () => {
    const buf = new Uint8Array(65536);
    while (true) {
      const n = await c.read(buf);
      if (n === null) break;
      await c.write(new Uint8Array([0, 0, 0, 4, buf[8], buf[9], buf[10], buf[11]]));
    }
  })().catch(() => {});
}
`;

/**
 * The floor of a program that uses a timer: Deno 2.9 loads its Node-compatible timers
 * (`node:timers`, with async hooks) at the first `setTimeout` or `setInterval`, ~55 ms and ~5 MiB
 * on this machine, and a broker needs timers (session timeouts, retention, flushes).
 */
const FLOOR_TIMER_SCRIPT = `clearTimeout(setTimeout(() => {}, 1000));\n${FLOOR_SCRIPT}`;

/** Help text. */
export const HELP: string = `Usage: deno run -A bench/start.ts [OPTIONS]

Times a broker process from spawn to its first ApiVersions answer and reads its idle RSS, in
rotation with Deno's own floor (a script answering the same request), and prints medians and the
ratios to the floor.

Options:
  --runs N           Measured starts of each subject (default 11)
  --idle-ms N        Wait after the first answer before reading the RSS (default 1000)
  --before PATH      Another checkout's cli/main.ts in the same rotation (repeatable)
  --flags="F ..."    This broker with more \`deno run\` flags, own DENO_DIR (repeatable)
  -h, --help         Show this help

Exit code: 0 when every start was measured, 1 on a failure, 2 on bad usage.
`;

/** Parsed command line of `bench/start.ts`. */
export interface StartBenchArgs {
  /** Measured starts of each subject. */
  runs: number;
  /** Milliseconds between the first answer and the RSS reading. */
  idleMs: number;
  /** Other checkouts' `cli/main.ts`. */
  before: string[];
  /** Extra `deno run` flags, one string per variant. */
  flags: string[];
  /** Help asked for. */
  help: boolean;
}

/**
 * Parses the flags of `bench/start.ts`.
 *
 * @example
 * ```ts
 * import { parseStartBenchArgs } from "./start.ts";
 * console.log(parseStartBenchArgs(["--runs", "3"]).runs); // 3
 * ```
 *
 * @param args Command-line arguments.
 * @returns The options.
 * @throws {RangeError} On an unknown flag, a positional argument or a bad number.
 */
export function parseStartBenchArgs(args: string[]): StartBenchArgs {
  const values = parseFlags(args, {
    runs: { type: "string" },
    "idle-ms": { type: "string" },
    before: { type: "string", multiple: true },
    flags: { type: "string", multiple: true },
    help: { type: "boolean", short: "h" },
  });
  const integer = (flag: string, v: string | undefined, fallback: number, min: number) => {
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) {
      throw new RangeError(`${flag} ${v} is invalid: expected an integer of at least ${min}`);
    }
    return n;
  };
  return {
    runs: integer("--runs", values.runs, 11, 1),
    idleMs: integer("--idle-ms", values["idle-ms"], 1000, 0),
    before: values.before ?? [],
    flags: values.flags ?? [],
    help: values.help ?? false,
  };
}

/** A free port on 127.0.0.1 (closed again; the child binds it). */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** ApiVersions v0, correlation id 1, no client id. */
const API_VERSIONS_V0 = new Uint8Array([0, 0, 0, 10, 0, 18, 0, 0, 0, 0, 0, 1, 0xff, 0xff]);

/**
 * Sends one ApiVersions v0 request and reads the whole size-prefixed answer.
 *
 * @returns Whether an answer came (false when the connection was refused or closed).
 */
export async function apiVersionsOnce(port: number): Promise<boolean> {
  let conn: Deno.TcpConn;
  try {
    conn = await Deno.connect({ hostname: "127.0.0.1", port });
  } catch {
    return false;
  }
  try {
    await conn.write(API_VERSIONS_V0);
    const buf = new Uint8Array(65536);
    let got = 0;
    let size = -1;
    while (size < 0 || got < size + 4) {
      const n = await conn.read(buf.subarray(got));
      if (n === null) return false;
      got += n;
      if (size < 0 && got >= 4) size = new DataView(buf.buffer).getInt32(0);
    }
    return true;
  } catch {
    return false;
  } finally {
    conn.close();
  }
}

/** Polls `port` with ApiVersions every 2 ms until an answer comes or `timeoutMs` passes. */
export async function waitForAnswer(port: number, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await apiVersionsOnce(port))) {
    if (performance.now() > deadline) throw new Error(`no ApiVersions answer on port ${port}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** Resident set size of a process in bytes (`/proc/<pid>/status` VmRSS). */
export function rssBytes(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(Deno.readTextFileSync(`/proc/${pid}/status`));
  if (!m) throw new Error(`cannot read VmRSS of ${pid}`);
  return Number(m[1]) * 1024;
}

/** A spawned broker. */
export interface Spawned {
  /** The process. */
  proc: Deno.ChildProcess;
  /** Its port. */
  port: number;
  /** What it wrote to stderr so far. */
  stderr(): string;
}

/** Which broker to spawn: another checkout's `cli/main.ts`, more `deno run` flags. */
export interface BrokerVariant {
  /** Path of `cli/main.ts` (default: this checkout's). */
  main?: string;
  /** More `deno run` flags, e.g. `--v8-flags=--single-threaded-gc`. */
  denoFlags?: string[];
  /** `DENO_DIR` of the process (default: the inherited one). */
  denoDir?: string;
}

/**
 * Spawns `deno run <permissions> cli/main.ts broker` on `port` with data in `dir`.
 *
 * @param extra More broker arguments (e.g. `--override k=v`).
 * @param variant Another checkout's `cli/main.ts`, more `deno run` flags.
 */
export function spawnBroker(
  dir: string,
  port: number,
  extra: string[] = [],
  variant: BrokerVariant = {},
): Spawned {
  const proc = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      ...BROKER_PERMISSIONS,
      ...(variant.denoFlags ?? []),
      variant.main ?? MAIN,
      "broker",
      "--listeners",
      `PLAINTEXT://127.0.0.1:${port}`,
      "--log-dirs",
      dir,
      ...extra,
    ],
    env: variant.denoDir === undefined ? undefined : { DENO_DIR: variant.denoDir },
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let text = "";
  (async () => {
    for await (const chunk of proc.stderr.pipeThrough(new TextDecoderStream())) text += chunk;
  })();
  return { proc, port, stderr: () => text };
}

/** SIGTERM, then the exit status (SIGKILL after `timeoutMs`). */
export async function stopProcess(proc: Deno.ChildProcess, timeoutMs = 60_000): Promise<number> {
  proc.kill("SIGTERM");
  const timer = setTimeout(() => {
    try {
      proc.kill("SIGKILL");
    } catch { /* exited */ }
  }, timeoutMs);
  const status = await proc.status;
  clearTimeout(timer);
  return status.code;
}

/** Median of numbers. */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** The load average line of `/proc/loadavg` (the machine is shared). */
export function loadAverage(): string {
  return Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3).join(" ");
}

interface Sample {
  startMs: number;
  rssMiB: number;
}

async function sampleBroker(idleMs: number, variant: BrokerVariant): Promise<Sample> {
  const dir = await Deno.makeTempDir({ prefix: "sluice-start-bench-" });
  const port = freePort();
  const t = performance.now();
  const b = spawnBroker(dir, port, [], variant);
  try {
    await waitForAnswer(port, 60_000);
    const startMs = performance.now() - t;
    await new Promise((r) => setTimeout(r, idleMs));
    const rssMiB = rssBytes(b.proc.pid) / 2 ** 20;
    const code = await stopProcess(b.proc);
    if (code !== 0) throw new Error(`broker exited ${code}:\n${b.stderr()}`);
    return { startMs, rssMiB };
  } finally {
    try {
      b.proc.kill("SIGKILL");
    } catch { /* exited */ }
    await b.proc.status;
    await Deno.remove(dir, { recursive: true });
  }
}

async function sampleFloor(script: string, idleMs: number): Promise<Sample> {
  const port = freePort();
  const t = performance.now();
  const proc = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-net", script, String(port)],
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    await waitForAnswer(port, 60_000);
    const startMs = performance.now() - t;
    await new Promise((r) => setTimeout(r, idleMs));
    return { startMs, rssMiB: rssBytes(proc.pid) / 2 ** 20 };
  } finally {
    proc.kill("SIGKILL");
    await proc.status;
  }
}

if (import.meta.main) {
  let args: StartBenchArgs;
  try {
    args = parseStartBenchArgs(Deno.args);
  } catch (e) {
    console.error(`bench:start: ${e instanceof Error ? e.message : e}\n\n${HELP}`);
    Deno.exit(2);
  }
  if (args.help) {
    console.log(HELP);
    Deno.exit(0);
  }
  const { runs, idleMs } = args;
  const floorScript = await Deno.makeTempFile({ prefix: "sluice-floor-", suffix: ".ts" });
  await Deno.writeTextFile(floorScript, FLOOR_SCRIPT);
  const timerScript = await Deno.makeTempFile({ prefix: "sluice-floor-timer-", suffix: ".ts" });
  await Deno.writeTextFile(timerScript, FLOOR_TIMER_SCRIPT);
  // what is measured: this checkout's broker, the floor, and the variants asked for
  const subjects: { name: string; sample: () => Promise<Sample>; got: Sample[] }[] = [
    { name: "broker", sample: () => sampleBroker(idleMs, {}), got: [] },
    { name: "deno floor", sample: () => sampleFloor(floorScript, idleMs), got: [] },
    { name: "floor+timer", sample: () => sampleFloor(timerScript, idleMs), got: [] },
  ];
  for (const [i, main] of args.before.entries()) {
    const name = i === 0 ? "before" : `before ${i + 1}`;
    subjects.push({ name, sample: () => sampleBroker(idleMs, { main }), got: [] });
  }
  const denoDirs: string[] = [];
  for (const f of args.flags) {
    const denoFlags = f.split(" ").filter((x) => x !== "");
    const denoDir = await Deno.makeTempDir({ prefix: "sluice-start-deno-dir-" });
    denoDirs.push(denoDir);
    subjects.push({ name: f, sample: () => sampleBroker(idleMs, { denoFlags, denoDir }), got: [] });
  }
  const load0 = loadAverage();
  try {
    // one unreported run each warms Deno's module cache
    for (const s of subjects) await s.sample();
    for (let i = 0; i < runs; i++) {
      // order rotated, so drifting load hits all alike
      for (let k = 0; k < subjects.length; k++) {
        const s = subjects[(i + k) % subjects.length];
        s.got.push(await s.sample());
      }
    }
  } finally {
    await Deno.remove(floorScript);
    await Deno.remove(timerScript);
    for (const d of denoDirs) await Deno.remove(d, { recursive: true });
  }
  const row = (name: string, s: Sample[]) => {
    const starts = s.map((x) => x.startMs);
    const rss = s.map((x) => x.rssMiB);
    return `${name.padEnd(12)} start→first answer median ${median(starts).toFixed(1)} ms ` +
      `(min ${Math.min(...starts).toFixed(1)}, max ${Math.max(...starts).toFixed(1)}); ` +
      `idle RSS median ${median(rss).toFixed(1)} MiB`;
  };
  console.log(`${runs} runs each, rotating; load average ${load0} → ${loadAverage()}`);
  for (const s of subjects) console.log(row(s.name, s.got));
  const floor = subjects[1].got;
  for (const s of subjects) {
    if (s === subjects[1]) continue;
    const ratio = (f: (x: Sample) => number) =>
      (median(s.got.map(f)) / median(floor.map(f))).toFixed(2);
    console.log(
      `${s.name}/floor: start ${ratio((x) => x.startMs)}×, idle RSS ${ratio((x) => x.rssMiB)}×`,
    );
  }
}
