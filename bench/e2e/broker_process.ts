// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * A Sluice broker in a separate process, for the load tool: started with `cli/main.ts broker` on a
 * free loopback port and a fresh temporary data directory, watched through `/proc/<pid>` (CPU
 * time of its threads in nanoseconds, peak RSS: `tests/process_usage.ts`), and always stopped and
 * cleaned up by {@linkcode BrokerProcess.stop}.
 *
 * Needs `--allow-run --allow-read --allow-write` (Linux only for the `/proc` figures).
 *
 * @module
 */

import { type ProcessUsage, processUsage } from "../../tests/process_usage.ts";

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
  /** CPU time and peak RSS now (compare two with `cpuBetween` of `tests/process_usage.ts`). */
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
