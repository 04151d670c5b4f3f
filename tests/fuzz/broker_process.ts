// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * The broker under fuzz: `deno run -A cli/main.ts broker` in a child process on a free loopback
 * port with a fresh data directory, watched through `/proc/<pid>` (resident memory, open files,
 * CPU time) and through its log, where every line is classified: the ERROR lines a hostile client is
 * expected to cause (a refused frame closes its connection, as Kafka does) are counted; any other
 * ERROR line, and anything on stderr that is not a log line (an uncaught exception), is
 * unexpected and reported with the line.
 *
 * Needs `--allow-run --allow-read --allow-write` (Linux, for `/proc`).
 *
 * @module
 */

import {
  cpuBetween as processCpuBetween,
  type ProcessUsage,
  processUsage,
} from "../process_usage.ts";

/** A log line the fuzzer did not expect. */
export interface UnexpectedLine {
  /** Its class (see {@linkcode classifyLine}). */
  cls: string;
  /** The line. */
  line: string;
  /** When it was read (ms since the epoch). */
  at: number;
}

/** How one log line was classified. */
export interface Classified {
  /** `ERROR`, `WARN`, `INFO`, `DEBUG`, or `STDERR` for a line that is not a log line. */
  level: string;
  /** A stable class name (numbers and names stripped). */
  cls: string;
  /** Whether a fuzzing client may cause it. */
  expected: boolean;
}

/**
 * ERROR lines a hostile client may cause: the connection that sent a frame the broker cannot
 * accept is closed and the reason logged (`server/connection.ts`, `server/broker.ts`).
 */
const EXPECTED_ERRORS: Array<[string, RegExp]> = [
  [
    "refused: negative size",
    /^Closing connection \d+ from \S+: invalid request size -\d+: negative$/,
  ],
  [
    "refused: size above socket.request.max.bytes",
    /^Closing connection \d+ from \S+: request size \d+ is larger than socket\.request\.max\.bytes/,
  ],
  [
    "refused: size above sluice.connection.max.queued.bytes",
    /^Closing connection \d+ from \S+: request size \d+ is larger than sluice\.connection\.max\.queued\.bytes/,
  ],
  ["refused: truncated size prefix", /^Closing connection \d+ from \S+: truncated size prefix/],
  [
    "refused: ended mid-request",
    /^Closing connection \d+ from \S+: connection \d+ .* ended mid-request/,
  ],
  [
    "refused: shorter than a header",
    /^Closing connection \d+ from \S+: malformed request: \d+ bytes is too short/,
  ],
  ["refused: unknown API key", /^Closing connection \d+ from \S+: unknown API key -?\d+ /],
  [
    "refused: version cannot be decoded",
    /^Closing connection \d+ from \S+: \w+ v-?\d+ cannot be decoded \(we serve/,
  ],
  [
    // Kafka closes the connection too, so that an acks=0 producer notices and refreshes metadata.
    "refused: acks=0 Produce failed",
    /^Closing connection \d+ from \S+: acks=0 Produce to .* failed \(error -?\d+: .*\); closing so the producer refreshes metadata$/,
  ],
  [
    "refused: malformed request",
    /^Closing connection \d+ from \S+: malformed \w+ v-?\d+ request \(correlation id -?\d+\): /,
  ],
];

/** ERROR lines that are bugs, named for the report. */
const UNEXPECTED_ERRORS: Array<[string, RegExp]> = [
  ["handler threw (UNKNOWN_SERVER_ERROR)", / failed with UNKNOWN_SERVER_ERROR: /],
  ["response cannot be encoded", /^Cannot encode |: cannot encode /],
  ["accept failed", /^Accepting a connection failed/],
  ["connection closed on an internal error", /^Closing connection \d+ from \S+: /],
];

const LINE = /^\[(\d{4}-\d\d-\d\dT[\d:]+Z)\] (DEBUG|INFO|WARN|ERROR) (.*)$/;

function shape(message: string): string {
  return message
    .replace(/"[^"]*"/g, '"…"')
    .replace(/\b(connection|Connection) \d+ from \S+/g, "$1 N")
    .replace(/-?\d+(\.\d+)?/g, "N")
    .slice(0, 90);
}

/**
 * Classifies one line of the broker's stderr.
 *
 * @example
 * ```ts
 * import { classifyLine } from "./broker_process.ts";
 * const c = classifyLine(
 *   "[2026-01-01T00:00:00Z] ERROR Closing connection 7 from 127.0.0.1:5000: unknown API key 99 (version 0, correlation id 4)",
 * );
 * console.log(c.expected, c.cls); // true "refused: unknown API key"
 * ```
 *
 * @param line One line, without the newline.
 * @returns Level, class and whether it is expected.
 */
export function classifyLine(line: string): Classified {
  const m = LINE.exec(line);
  if (!m) {
    if (line.trim() === "" || /^(Download|Check|Compile) /.test(line)) {
      return { level: "STDERR", cls: "tooling", expected: true };
    }
    return { level: "STDERR", cls: `not a log line: ${line.slice(0, 80)}`, expected: false };
  }
  const [, , level, message] = m;
  if (level !== "ERROR") return { level, cls: `${level} ${shape(message)}`, expected: true };
  for (const [cls, re] of EXPECTED_ERRORS) {
    if (re.test(message)) return { level, cls, expected: true };
  }
  for (const [cls, re] of UNEXPECTED_ERRORS) {
    if (re.test(message)) return { level, cls, expected: false };
  }
  return { level, cls: `ERROR ${shape(message)}`, expected: false };
}

/** Resident memory and open files of a process. */
export interface ProcessStatus {
  /** Resident set size now (`VmRSS`), bytes. */
  rssBytes: number;
  /** Peak resident set size (`VmHWM`), bytes. */
  peakRssBytes: number;
  /** Entries in `/proc/<pid>/fd`. */
  openFiles: number;
}

/**
 * Reads `/proc/<pid>/status` and counts `/proc/<pid>/fd`.
 *
 * @param pid Process id.
 * @returns The figures.
 * @throws {Error} If the process is gone.
 */
export async function processStatus(pid: number): Promise<ProcessStatus> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB$`, "m").exec(status)?.[1]);
  let openFiles = 0;
  for await (const _ of Deno.readDir(`/proc/${pid}/fd`)) openFiles++;
  return { rssBytes: kb("VmRSS") * 1024, peakRssBytes: kb("VmHWM") * 1024, openFiles };
}

/** CPU counters of a process and of the machine (`/proc`). */
export interface CpuSample {
  /** When it was taken (`performance.now()`). */
  at: number;
  /** The process's CPU time: its threads' nanoseconds and its clock ticks. */
  process: ProcessUsage;
  /** The machine's busy clock ticks over all CPUs (everything but idle and iowait). */
  busyTicks: number;
  /** The machine's total clock ticks over all CPUs. */
  totalTicks: number;
  /** `/proc/loadavg`'s 1-minute load average. */
  load1: number;
}

/**
 * Reads the CPU counters of `pid` and of the machine, so that a stall can be told apart from a
 * starved machine: a broker that used no CPU while requests waited was waiting (or starved), one
 * that used a whole core was busy.
 *
 * @example
 * ```ts
 * import { cpuSample } from "./broker_process.ts";
 * const s = await cpuSample(Deno.pid);
 * console.log(s.process.threadCpuNs.size > 0, s.totalTicks > s.busyTicks); // true true
 * ```
 *
 * @param pid Process id.
 * @returns The counters.
 * @throws {Error} If the process is gone.
 */
export async function cpuSample(pid: number): Promise<CpuSample> {
  const at = performance.now();
  const process = await processUsage(pid);
  const cpu = (await Deno.readTextFile("/proc/stat")).split("\n")[0].split(/\s+/).slice(1)
    .map(Number);
  const totalTicks = cpu.reduce((a, b) => a + (Number.isFinite(b) ? b : 0), 0);
  const busyTicks = totalTicks - cpu[3] - (cpu[4] ?? 0);
  const load1 = Number((await Deno.readTextFile("/proc/loadavg")).split(" ")[0]);
  return { at, process, busyTicks, totalTicks, load1 };
}

/**
 * What a process and the machine did between two samples: the process's CPU time over the wall
 * time as a percentage of one core (its threads' nanoseconds on CPU, or its clock ticks when a
 * thread exited in between: `cpuBetween` of `tests/process_usage.ts`), the machine's busy share
 * (clock ticks) and load.
 *
 * @example
 * ```ts
 * import { cpuBetween } from "./broker_process.ts";
 * const usage = (ns: number) => ({
 *   cpuSeconds: ns / 1e9,
 *   threadCpuNs: new Map([[1, ns]]),
 *   peakRssBytes: 0,
 * });
 * const a = { at: 0, process: usage(0), busyTicks: 0, totalTicks: 0, load1: 1 };
 * const b = { at: 10_000, process: usage(5e9), busyTicks: 1500, totalTicks: 2000, load1: 3 };
 * console.log(cpuBetween(a, b)); // "over 10.0 s: broker 50% of one core; machine 75% busy, load 3.00"
 * ```
 *
 * @param a The earlier sample.
 * @param b The later sample.
 * @returns A short description for reports.
 */
export function cpuBetween(a: CpuSample, b: CpuSample): string {
  const seconds = (b.at - a.at) / 1000;
  const proc = processCpuBetween(a.process, b.process).seconds / Math.max(seconds, 0.001);
  const total = b.totalTicks - a.totalTicks;
  const busy = total > 0 ? (b.busyTicks - a.busyTicks) / total : 0;
  return `over ${seconds.toFixed(1)} s: broker ${(proc * 100).toFixed(0)}% of one core; ` +
    `machine ${(busy * 100).toFixed(0)}% busy, load ${b.load1.toFixed(2)}`;
}

/** Options for {@linkcode startFuzzBroker}. */
export interface FuzzBrokerOptions {
  /** `--override key=value` settings. */
  overrides?: string[];
  /** The module to run instead of `cli/main.ts` (same arguments), e.g. a deliberately broken broker. */
  entry?: string;
  /** Extra environment for the child. */
  env?: Record<string, string>;
  /** Write a V8 CPU profile of the broker into this directory when it exits. */
  cpuProfDir?: string;
  /** Append every line of the broker's stderr to this file. */
  logFile?: string;
  /** How long to wait for it to listen. Default 60000. */
  startTimeoutMs?: number;
}

/** A running broker under fuzz. */
export interface FuzzBroker {
  /** Process id. */
  readonly pid: number;
  /** Its port on 127.0.0.1. */
  readonly port: number;
  /** `127.0.0.1:port`. */
  readonly bootstrap: string;
  /** The fresh data directory. */
  readonly dataDir: string;
  /** Settles when the process exits. */
  readonly exited: Promise<Deno.CommandStatus>;
  /** The exit status once it has exited, else `undefined`. */
  exitStatus(): Deno.CommandStatus | undefined;
  /** Lines counted per class. */
  readonly counts: Map<string, number>;
  /** Unexpected lines, in order (the first 100). */
  readonly unexpected: UnexpectedLine[];
  /** Called with each unexpected line as it is read. */
  onUnexpected?: (u: UnexpectedLine) => void;
  /** The last 200 lines. */
  tail(): string[];
  /** Memory and open files now. */
  status(): Promise<ProcessStatus>;
  /**
   * SIGTERM, wait up to `timeoutMs` (then SIGKILL) and remove the data directory. Idempotent.
   *
   * @returns The exit status.
   */
  stop(timeoutMs?: number): Promise<Deno.CommandStatus>;
}

/**
 * Starts a broker process on `127.0.0.1:0` with a fresh data directory and waits until it
 * listens.
 *
 * @example
 * ```ts ignore
 * import { startFuzzBroker } from "./broker_process.ts";
 * const b = await startFuzzBroker();
 * console.log(b.bootstrap, await b.status());
 * await b.stop();
 * ```
 *
 * @param options Overrides, entry module, environment, start timeout.
 * @returns The running broker.
 * @throws {Error} If it exits or does not listen in time (it is stopped then).
 */
export async function startFuzzBroker(options: FuzzBrokerOptions = {}): Promise<FuzzBroker> {
  const dataDir = await Deno.makeTempDir({ prefix: "sluice-fuzz-" });
  const entry = options.entry ?? new URL("../../cli/main.ts", import.meta.url).pathname;
  const args = ["run", "-A"];
  if (options.cpuProfDir) args.push("--cpu-prof", `--cpu-prof-dir=${options.cpuProfDir}`);
  args.push(entry, "broker", "--listeners", "PLAINTEXT://127.0.0.1:0");
  args.push("--log-dirs", dataDir);
  for (const o of options.overrides ?? []) args.push("--override", o);
  const child = new Deno.Command(Deno.execPath(), {
    args,
    env: { NO_COLOR: "1", ...options.env },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const tail: string[] = [];
  const counts = new Map<string, number>();
  const unexpected: UnexpectedLine[] = [];
  let exit: Deno.CommandStatus | undefined;
  const exited = child.status.then((s) => exit = s);
  let onListen: (port: number) => void = () => {};
  const listening = new Promise<number>((resolve) => onListen = resolve);
  // deno-lint-ignore prefer-const
  let broker: FuzzBroker;
  const logFile = options.logFile === undefined
    ? undefined
    : await Deno.open(options.logFile, { append: true, create: true });
  const encoder = new TextEncoder();
  const onLine = (line: string) => {
    logFile?.writeSync(encoder.encode(line + "\n"));
    tail.push(line);
    if (tail.length > 200) tail.shift();
    const m = / listening on 127\.0\.0\.1:(\d+) /.exec(line);
    if (m) onListen(Number(m[1]));
    const c = classifyLine(line);
    counts.set(c.cls, (counts.get(c.cls) ?? 0) + 1);
    if (!c.expected) {
      const u = { cls: c.cls, line, at: Date.now() };
      if (unexpected.length < 100) unexpected.push(u);
      broker?.onUnexpected?.(u);
    }
  };
  const pump = (async () => {
    let buf = "";
    for await (const text of child.stderr.pipeThrough(new TextDecoderStream())) {
      buf += text;
      let nl;
      while ((nl = buf.indexOf("\n")) >= 0) {
        onLine(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
      }
    }
    if (buf !== "") onLine(buf);
  })().catch(() => {});
  let stopping: Promise<Deno.CommandStatus> | undefined;
  const stop = (timeoutMs = 30_000) =>
    stopping ??= (async () => {
      if (exit === undefined) {
        try {
          child.kill("SIGTERM");
        } catch { /* exited */ }
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      const killed = new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          try {
            child.kill("SIGKILL");
          } catch { /* exited */ }
          resolve();
        }, timeoutMs);
      });
      await Promise.race([exited, killed]);
      const status = await exited;
      clearTimeout(timer);
      await pump;
      logFile?.close();
      await Deno.remove(dataDir, { recursive: true }).catch(() => {});
      return status;
    })();
  const timeoutMs = options.startTimeoutMs ?? 60_000;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const failed = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`did not listen within ${timeoutMs} ms`)), timeoutMs);
    exited.then((s) => reject(new Error(`exited with code ${s.code} before listening`)));
  });
  failed.catch(() => {});
  let port: number;
  try {
    port = await Promise.race([listening, failed]);
  } catch (e) {
    await stop(5_000);
    throw new Error(
      `cannot start the broker: ${e instanceof Error ? e.message : e}: ${
        tail.slice(-5).join(" | ")
      }`,
    );
  } finally {
    clearTimeout(timer);
  }
  broker = {
    pid: child.pid,
    port,
    bootstrap: `127.0.0.1:${port}`,
    dataDir,
    exited,
    exitStatus: () => exit,
    counts,
    unexpected,
    tail: () => [...tail],
    status: () => processStatus(child.pid),
    stop,
  };
  return broker;
}
