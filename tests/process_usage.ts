// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * CPU time of a process and of its threads, read from `/proc` (Linux), for benches and test
 * harnesses: {@linkcode processUsage} reads the nanoseconds on CPU of each thread
 * (`/proc/<pid>/task/<tid>/schedstat`) beside the clock ticks of the whole process
 * (`/proc/<pid>/stat`, 10 ms steps) and its peak RSS; {@linkcode cpuBetween} turns two readings
 * into seconds, in nanoseconds where they are whole, in ticks where a thread exited in between;
 * {@linkcode threadCpuNs} is the calling thread's own nanoseconds, read synchronously.
 *
 * Needs `--allow-read` (and `--allow-run` for `getconf CLK_TCK`, else 100 is assumed).
 *
 * @module
 */

/** CPU time and memory of a process, read from `/proc`. */
export interface ProcessUsage {
  /**
   * User plus system CPU seconds since the process started, every thread, live or exited
   * (`/proc/<pid>/stat` utime + stime): whole clock ticks of 10 ms. Compare two readings with
   * {@linkcode cpuBetween}, which uses {@linkcode ProcessUsage.threadCpuNs} instead.
   */
  cpuSeconds: number;
  /**
   * Nanoseconds on CPU of each live thread, by thread id (`/proc/<pid>/task/<tid>/schedstat`,
   * first field). A thread that exited is no longer here, and its time is gone with it.
   */
  threadCpuNs: Map<number, number>;
  /** Peak resident set size (`VmHWM`) in bytes since start or the last reset. */
  peakRssBytes: number;
}

/** A process's CPU time between two {@linkcode ProcessUsage} readings. */
export interface CpuInterval {
  /**
   * CPU seconds: the nanosecond difference of the threads' schedstat times, or the clock-tick
   * difference when {@linkcode CpuInterval.fallback} says why the nanoseconds miss time.
   */
  seconds: number;
  /** The clock-tick difference (utime + stime), for a cross-check. */
  tickSeconds: number;
  /**
   * Why the tick difference was used: `"thread exited"` (a thread of the first reading is gone at
   * the second) or `"ticks ahead"` (the ticks exceed the nanoseconds by more than a tick per
   * thread: a thread born and gone between the readings). Absent when the nanoseconds were used.
   */
  fallback?: "thread exited" | "ticks ahead";
}

let clockTicks: number | undefined;

async function ticksPerSecond(): Promise<number> {
  if (clockTicks !== undefined) return clockTicks;
  try {
    const out = await new Deno.Command("getconf", { args: ["CLK_TCK"], stderr: "null" }).output();
    const n = Number(new TextDecoder().decode(out.stdout).trim());
    clockTicks = Number.isInteger(n) && n > 0 ? n : 100;
  } catch {
    clockTicks = 100;
  }
  return clockTicks;
}

/**
 * Reads a process's CPU time: clock ticks of the whole process (`/proc/<pid>/stat` utime + stime)
 * and nanoseconds of each live thread (`/proc/<pid>/task/<tid>/schedstat`), and its peak RSS
 * (`/proc/<pid>/status` VmHWM).
 *
 * @example
 * ```ts ignore
 * import { cpuBetween, processUsage } from "./process_usage.ts";
 * const before = await processUsage(Deno.pid);
 * console.log(cpuBetween(before, await processUsage(Deno.pid)).seconds);
 * ```
 *
 * @param pid Process id.
 * @returns CPU time and peak RSS.
 * @throws {Error} If `/proc/<pid>` cannot be read or parsed (e.g. the process exited).
 */
export async function processUsage(pid: number): Promise<ProcessUsage> {
  let stat: string, status: string;
  const threadCpuNs = new Map<number, number>();
  try {
    for await (const e of Deno.readDir(`/proc/${pid}/task`)) {
      const tid = Number(e.name);
      let text: string;
      try {
        text = await Deno.readTextFile(`/proc/${pid}/task/${e.name}/schedstat`);
      } catch (err) {
        if (err instanceof Deno.errors.NotFound) continue; // exited since the listing
        throw err;
      }
      const ns = Number(text.split(" ")[0]);
      if (!Number.isSafeInteger(ns)) {
        throw new Error(`cannot parse /proc/${pid}/task/${e.name}/schedstat: ${text.trim()}`);
      }
      threadCpuNs.set(tid, ns);
    }
    stat = await Deno.readTextFile(`/proc/${pid}/stat`);
    status = await Deno.readTextFile(`/proc/${pid}/status`);
  } catch (e) {
    throw new Error(`process usage of ${pid}: ${e instanceof Error ? e.message : e}`);
  }
  // Fields after the parenthesised command name: state is field 3, utime 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const utime = Number(fields[11]), stime = Number(fields[12]);
  const hwm = /^VmHWM:\s+(\d+) kB$/m.exec(status);
  if (!Number.isFinite(utime) || !Number.isFinite(stime) || !hwm) {
    throw new Error(`process usage of ${pid}: cannot parse /proc/${pid}/stat or status`);
  }
  return {
    cpuSeconds: (utime + stime) / await ticksPerSecond(),
    threadCpuNs,
    peakRssBytes: Number(hwm[1]) * 1024,
  };
}

/**
 * The CPU time of a process between two readings, in nanoseconds where they are whole: the sum over
 * its threads of their schedstat time at `after` less at `before` (a thread born in between counts
 * from 0). When a thread of `before` is gone at `after`, its last slice went with it, so the
 * interval falls back to the clock ticks (10 ms steps); the same when the ticks run ahead of the
 * nanoseconds by more than a tick per thread (a thread that lived only between the readings).
 *
 * @example
 * ```ts ignore
 * import { cpuBetween, processUsage } from "./process_usage.ts";
 * const before = await processUsage(Deno.pid);
 * const cpu = cpuBetween(before, await processUsage(Deno.pid));
 * console.log(cpu.seconds, cpu.tickSeconds, cpu.fallback);
 * ```
 *
 * @param before The earlier reading.
 * @param after The later reading of the same process.
 * @returns The CPU seconds, the tick-based seconds, and why the ticks were used if they were.
 */
export function cpuBetween(before: ProcessUsage, after: ProcessUsage): CpuInterval {
  const tickSeconds = after.cpuSeconds - before.cpuSeconds;
  for (const tid of before.threadCpuNs.keys()) {
    if (!after.threadCpuNs.has(tid)) {
      return { seconds: tickSeconds, tickSeconds, fallback: "thread exited" };
    }
  }
  let ns = 0;
  for (const [tid, t] of after.threadCpuNs) ns += t - (before.threadCpuNs.get(tid) ?? 0);
  const seconds = ns / 1e9;
  const tick = 1 / (clockTicks ?? 100);
  if (tickSeconds - seconds > (after.threadCpuNs.size + 1) * tick) {
    return { seconds: tickSeconds, tickSeconds, fallback: "ticks ahead" };
  }
  return { seconds, tickSeconds };
}

/**
 * Nanoseconds on CPU of the calling thread (`/proc/thread-self/schedstat`, first field), read
 * synchronously so that the thread reads its own: a worker's JavaScript thread, or the main
 * thread's share of its process.
 *
 * @example
 * ```ts ignore
 * import { threadCpuNs } from "./process_usage.ts";
 * const t0 = threadCpuNs();
 * // ... work on this thread ...
 * console.log((threadCpuNs() - t0) / 1e6, "ms on CPU");
 * ```
 *
 * @returns The nanoseconds, or NaN where there is no such file (not Linux).
 * @throws {Error} If the file is there but cannot be parsed.
 */
export function threadCpuNs(): number {
  let text: string;
  try {
    text = Deno.readTextFileSync("/proc/thread-self/schedstat");
  } catch {
    return NaN;
  }
  const ns = Number(text.split(" ")[0]);
  if (!Number.isSafeInteger(ns)) {
    throw new Error(`cannot parse /proc/thread-self/schedstat: ${text.trim()}`);
  }
  return ns;
}
