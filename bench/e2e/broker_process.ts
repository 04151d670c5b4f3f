// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * A Sluice broker in a separate process, for the load tool: started with `cli/main.ts broker` on a
 * free loopback port and a fresh temporary data directory, watched through `/proc/<pid>` (CPU
 * time of its threads in nanoseconds, peak RSS), and always stopped and cleaned up by {@linkcode BrokerProcess.stop}.
 *
 * Needs `--allow-run --allow-read --allow-write` (Linux only for the `/proc` figures).
 *
 * @module
 */

/** Options for {@linkcode startBrokerProcess}. */
export interface BrokerProcessOptions {
  /** Extra `--override key=value` settings. */
  overrides?: string[];
  /** Write a V8 CPU profile of the broker into this directory (`deno run --cpu-prof`). */
  cpuProfDir?: string;
  /** Port on 127.0.0.1 to listen on. Default 0 (the system's choice). */
  port?: number;
  /** Called with each line the broker writes to stderr (its log). */
  onLine?: (line: string) => void;
  /** How long to wait for the broker to listen, in milliseconds. Default 60000. */
  startTimeoutMs?: number;
}

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
 * import { cpuBetween, processUsage } from "./broker_process.ts";
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
 * import { cpuBetween, processUsage } from "./broker_process.ts";
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
 * Resets a process's peak RSS to its current RSS (`echo 5 > /proc/<pid>/clear_refs`).
 *
 * @param pid Process id.
 * @returns Whether the kernel accepted the reset.
 */
export async function resetPeakRss(pid: number): Promise<boolean> {
  try {
    await Deno.writeTextFile(`/proc/${pid}/clear_refs`, "5");
    return true;
  } catch {
    return false;
  }
}

/** A running broker process. */
export interface BrokerProcess {
  /** Process id. */
  readonly pid: number;
  /** `host:port` for clients. */
  readonly bootstrap: string;
  /**
   * The admin HTTP listener's base URL (`http://host:port`), when `sluice.http.listener` is
   * among the overrides.
   */
  readonly httpUrl: string | undefined;
  /** The fresh data directory (removed by {@linkcode BrokerProcess.stop}). */
  readonly dataDir: string;
  /** The broker's last lines on stderr (for error reports). */
  stderrTail(): string[];
  /** CPU time and peak RSS now (compare two with {@linkcode cpuBetween}). */
  usage(): Promise<ProcessUsage>;
  /** Stops the broker (SIGTERM, SIGKILL after 10 s) and removes the data directory. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Starts `deno run -A cli/main.ts broker` on `127.0.0.1:0` (or the given port) with a fresh data
 * directory and waits until it listens.
 *
 * @example
 * ```ts ignore
 * import { startBrokerProcess } from "./broker_process.ts";
 * const broker = await startBrokerProcess();
 * try {
 *   console.log(broker.bootstrap, await broker.usage());
 * } finally {
 *   await broker.stop();
 * }
 * ```
 *
 * @param options Overrides, port, CPU profiling, start timeout.
 * @returns The running broker.
 * @throws {Error} If the broker exits or does not listen in time (it is stopped then).
 */
export async function startBrokerProcess(
  options: BrokerProcessOptions = {},
): Promise<BrokerProcess> {
  const dataDir = await Deno.makeTempDir({ prefix: "sluice-e2e-" });
  const cli = new URL("../../cli/main.ts", import.meta.url).pathname;
  const args = ["run", "-A"];
  if (options.cpuProfDir) args.push("--cpu-prof", `--cpu-prof-dir=${options.cpuProfDir}`);
  args.push(
    cli,
    "broker",
    "--listeners",
    `PLAINTEXT://127.0.0.1:${options.port ?? 0}`,
    "--log-dirs",
    dataDir,
  );
  for (const o of options.overrides ?? []) args.push("--override", o);
  const child = new Deno.Command(Deno.execPath(), {
    args,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const tail: string[] = [];
  let httpUrl: string | undefined;
  let onListen: (bootstrap: string) => void = () => {};
  const listening = new Promise<string>((resolve) => onListen = resolve);
  const pump = (async () => {
    const lines = child.stderr.pipeThrough(new TextDecoderStream());
    let buf = "";
    for await (const text of lines) {
      buf += text;
      let nl;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        tail.push(line);
        options.onLine?.(line);
        if (tail.length > 40) tail.shift();
        httpUrl ??= /Admin HTTP listener on (http:\/\/\S+) /.exec(line)?.[1];
        const m = /listening on (\S+):(\d+) /.exec(line);
        if (m) onListen(`${m[1]}:${m[2]}`);
      }
    }
  })().catch(() => {});
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    stopped ??= (async () => {
      try {
        child.kill("SIGTERM");
      } catch { /* already exited */ }
      let timer: ReturnType<typeof setTimeout> | undefined;
      const killed = new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          try {
            child.kill("SIGKILL");
          } catch { /* already exited */ }
          resolve();
        }, 10_000);
      });
      await Promise.race([child.status.then(() => {}), killed]);
      await child.status;
      clearTimeout(timer);
      await pump;
      await Deno.remove(dataDir, { recursive: true }).catch(() => {});
    })();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeoutMs = options.startTimeoutMs ?? 60_000;
  const failed = new Promise<string>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`broker did not listen within ${timeoutMs} ms`)),
      timeoutMs,
    );
    child.status.then((s) =>
      reject(new Error(`broker exited with code ${s.code} before listening`))
    );
  });
  let bootstrap: string;
  try {
    bootstrap = await Promise.race([listening, failed]);
  } catch (e) {
    await stop();
    const detail = tail.slice(-5).join(" | ");
    throw new Error(
      `cannot start broker: ${e instanceof Error ? e.message : e}${detail ? `: ${detail}` : ""}`,
    );
  } finally {
    clearTimeout(timer);
  }
  failed.catch(() => {});
  return {
    pid: child.pid,
    bootstrap,
    httpUrl,
    dataDir,
    stderrTail: () => [...tail],
    usage: () => processUsage(child.pid),
    stop,
  };
}
