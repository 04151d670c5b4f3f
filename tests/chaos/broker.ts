// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * The broker under test, as its own process (`deno run -A cli/main.ts broker`) on a fixed data
 * directory and port, so that it can be SIGKILLed (or SIGSTOPped) and started again where it was.
 * Its log goes to a file; the lines in which recovery reports what it removed or rebuilt are kept
 * per start. The process may run on another address than 127.0.0.1 and under a command prefix,
 * e.g. `ip netns exec <ns>` (which execs the broker in place, so signals reach it directly).
 *
 * Needs `--allow-run --allow-read --allow-write --allow-net`.
 *
 * @module
 */

/** Options for {@linkcode ChaosBroker}. */
export interface ChaosBrokerOptions {
  /** The data directory (`log.dirs`), kept across restarts. */
  dataDir: string;
  /** The port, kept across restarts. */
  port: number;
  /** The address it listens on and advertises. Default `127.0.0.1`. */
  host?: string;
  /**
   * A command the broker is started under, which must exec it in place (same process id), e.g.
   * `["ip", "netns", "exec", "ns1"]`. Default none.
   */
  wrap?: string[];
  /** `--override key=value` settings. */
  overrides: string[];
  /** File the broker's log is appended to. */
  logFile: string;
  /** How long a start may take before it fails, in milliseconds. Default 180000. */
  startTimeoutMs?: number;
  /** Flags of `deno run` before the script, e.g. `["--cpu-prof", "--cpu-prof-dir=/tmp/p"]`. */
  denoFlags?: string[];
}

/** What one start of the broker took and reported. */
export interface StartResult {
  /** Milliseconds from spawning the process to its "listening" log line. */
  listenMs: number;
  /** Wall-clock time (ms since the epoch) when it listened. */
  listenedAt: number;
  /** Log lines in which the log loader removed, truncated or rebuilt something. */
  recoveryLines: string[];
}

/** Log lines that say recovery changed something on disk. */
const RECOVERY_LINE =
  /truncat|deleting segment|rebuilding|re-validating|removing|corrupt|overlaps/i;

/**
 * Finds a free TCP port on 127.0.0.1 below Linux's ephemeral range (32768+), so that no outgoing
 * connection of another process takes it while the broker is down between a kill and a restart.
 *
 * @returns The port.
 * @throws {Error} If 200 random tries all find the port taken.
 */
export function freePort(): number {
  for (let i = 0; i < 200; i++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    try {
      Deno.listen({ hostname: "127.0.0.1", port }).close();
      return port;
    } catch { /* taken: try another */ }
  }
  throw new Error("find a free port: 200 ports between 20000 and 32000 were taken");
}

/**
 * A broker process that can be started, SIGKILLed and started again on the same data directory
 * and port.
 *
 * @example
 * ```ts ignore
 * import { ChaosBroker, freePort } from "./broker.ts";
 * const dir = await Deno.makeTempDir();
 * const b = new ChaosBroker({ dataDir: dir, port: freePort(), overrides: [], logFile: `${dir}.log` });
 * await b.start();
 * await b.kill();
 * console.log((await b.start()).listenMs);
 * await b.stop();
 * ```
 */
export class ChaosBroker {
  readonly options: ChaosBrokerOptions;
  #child: Deno.ChildProcess | undefined;
  #exited: Promise<Deno.CommandStatus> | undefined;
  #tail: string[] = [];
  #starts = 0;
  #listeningSince = Infinity;
  #paused = false;

  /**
   * @param options Data directory, port, overrides and log file.
   */
  constructor(options: ChaosBrokerOptions) {
    this.options = options;
  }

  /** `HOST:PORT` (host `127.0.0.1` unless set). */
  get bootstrap(): string {
    return `${this.options.host ?? "127.0.0.1"}:${this.options.port}`;
  }

  /** Whether the process is stopped by {@linkcode ChaosBroker.pause}. */
  get paused(): boolean {
    return this.#paused;
  }

  /** Process id of the running broker, or `undefined`. */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /**
   * Wall-clock time (ms since the epoch) at which the running process said it listens, read as
   * its log line arrives; `Infinity` while it is starting or not running.
   */
  get listeningSince(): number {
    return this.#listeningSince;
  }

  /** The broker's last log lines (for error reports). */
  tail(): string[] {
    return [...this.#tail];
  }

  /**
   * Spawns the broker and waits until it listens.
   *
   * @returns How long it took and what recovery reported.
   * @throws {Error} If the broker exits (or is killed) before listening, or does not listen in
   *   time; the message carries the last lines of its log.
   */
  async start(): Promise<StartResult> {
    if (this.#child) throw new Error("start broker: it is already running");
    const cli = new URL("../../cli/main.ts", import.meta.url).pathname;
    const wrap = this.options.wrap ?? [];
    const args = [
      ...wrap.slice(1),
      ...(wrap.length > 0 ? [Deno.execPath()] : []),
      "run",
      "-A",
      ...(this.options.denoFlags ?? []),
      cli,
      "broker",
      "--listeners",
      `PLAINTEXT://${this.options.host ?? "127.0.0.1"}:${this.options.port}`,
      "--log-dirs",
      this.options.dataDir,
    ];
    for (const o of this.options.overrides) args.push("--override", o);
    const log = await Deno.open(this.options.logFile, { create: true, append: true });
    const n = ++this.#starts;
    this.#listeningSince = Infinity;
    const spawnedAt = performance.now();
    const child = new Deno.Command(wrap[0] ?? Deno.execPath(), {
      args,
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    this.#child = child;
    this.#exited = child.status;
    this.#paused = false;
    const recoveryLines: string[] = [];
    let onListen: (at: number) => void = () => {};
    const listening = new Promise<number>((resolve) => onListen = resolve);
    const encoder = new TextEncoder();
    await log.write(
      encoder.encode(`--- start ${n} (pid ${child.pid}) at ${new Date().toISOString()}\n`),
    );
    (async () => {
      let buf = "";
      for await (const text of child.stderr.pipeThrough(new TextDecoderStream())) {
        await log.write(encoder.encode(text));
        buf += text;
        let nl;
        while ((nl = buf.indexOf("\n")) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          this.#tail.push(line);
          if (this.#tail.length > 40) this.#tail.shift();
          if (RECOVERY_LINE.test(line)) recoveryLines.push(line);
          if (/ listening on /.test(line)) {
            if (this.#child === child) this.#listeningSince = Date.now();
            onListen(performance.now());
          }
        }
      }
    })().catch(() => {}).finally(() => log.close());
    const timeoutMs = this.options.startTimeoutMs ?? 180_000;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const failed = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`did not listen within ${timeoutMs} ms`)),
        timeoutMs,
      );
      child.status.then((s) =>
        reject(
          new Error(s.signal ? `killed by ${s.signal} before listening` : `exited with ${s.code}`),
        )
      );
    });
    try {
      const at = await Promise.race([listening, failed]);
      return {
        listenMs: at - spawnedAt,
        listenedAt: Date.now(),
        recoveryLines,
      };
    } catch (e) {
      await this.kill();
      const detail = this.#tail.slice(-8).join(" | ");
      throw new Error(`start broker: ${e instanceof Error ? e.message : e}: ${detail}`);
    } finally {
      clearTimeout(timer);
      failed.catch(() => {});
    }
  }

  /** SIGKILLs the broker (if running, stopped or not) and waits until it is gone. */
  async kill(): Promise<void> {
    const child = this.#child;
    if (!child) return;
    try {
      child.kill("SIGKILL");
    } catch { /* already exited */ }
    this.#listeningSince = Infinity;
    await this.#exited;
    if (this.#child === child) {
      this.#child = undefined;
      this.#paused = false;
    }
  }

  /**
   * Stops (SIGSTOP) or continues (SIGCONT) the running broker: a "slow" node, whose process
   * holds its sockets but runs nothing.
   *
   * @param paused Whether to stop it.
   * @throws {Error} If it is not running.
   */
  pause(paused: boolean): void {
    if (!this.#child) throw new Error("pause broker: it is not running");
    this.#child.kill(paused ? "SIGSTOP" : "SIGCONT");
    this.#paused = paused;
  }

  /**
   * Stops the broker cleanly (SIGTERM; SIGKILL after `timeoutMs`).
   *
   * @param timeoutMs How long a clean shutdown may take. Default 60000.
   * @returns The exit code (`undefined` when it had to be killed or was not running).
   */
  async stop(timeoutMs = 60_000): Promise<number | undefined> {
    const child = this.#child;
    if (!child) return undefined;
    try {
      child.kill("SIGTERM");
      if (this.#paused) this.pause(false);
    } catch { /* already exited */ }
    this.#listeningSince = Infinity;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), timeoutMs);
    });
    const status = await Promise.race([this.#exited!, late]);
    clearTimeout(timer);
    if (status === undefined) {
      await this.kill();
      return undefined;
    }
    this.#child = undefined;
    return status.code;
  }
}
