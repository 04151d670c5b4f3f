// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * The load tool's producer and consumer processes: the librdkafka program `rdkafka_perf.c`
 * (compiled on first use with `cc ... -lrdkafka` into a cache directory) and
 * `client_worker.ts` for Sluice's own client and kafkajs. All three take the same arguments and
 * print the same JSON lines.
 *
 * @module
 */

import type { ConsumeStats, ProduceStats } from "./payload.ts";

/** The clients the load tool drives. */
export type ClientName = "rdkafka" | "sluice" | "kafkajs";

/** Every client, in table order. */
export const CLIENTS: readonly ClientName[] = ["rdkafka", "sluice", "kafkajs"];

/** The C source of the librdkafka client. */
export const RDKAFKA_SOURCE: string = new URL("./rdkafka_perf.c", import.meta.url).pathname;

function cacheDir(): string {
  const xdg = Deno.env.get("XDG_CACHE_HOME");
  const home = Deno.env.get("HOME");
  return xdg ? `${xdg}/sluice/e2e` : home ? `${home}/.cache/sluice/e2e` : "/tmp/sluice-e2e-cache";
}

/**
 * Compiles one of the load tool's C programs (once per source version: the binary's name holds
 * the source hash) with `cc -O2`.
 *
 * @example
 * ```ts ignore
 * import { buildC, CONNS_SOURCE } from "./workers.ts";
 * console.log(await buildC(CONNS_SOURCE, [])); // ~/.cache/sluice/e2e/conns_perf-<hash>
 * ```
 *
 * @param source Path of the `.c` file.
 * @param libs Libraries to link, e.g. `["-lrdkafka"]`.
 * @param dir Where to keep the binary. Default `$XDG_CACHE_HOME/sluice/e2e` or
 *   `~/.cache/sluice/e2e`.
 * @returns The binary's path.
 * @throws {Error} If `cc` is missing or the build fails (e.g. no librdkafka-dev headers).
 */
export async function buildC(
  source: string,
  libs: string[],
  dir: string = cacheDir(),
): Promise<string> {
  const name = source.slice(source.lastIndexOf("/") + 1).replace(/\.c$/, "");
  const text = await Deno.readFile(source);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", text));
  const hash = [...digest.slice(0, 8)].map((b) => b.toString(16).padStart(2, "0")).join("");
  const binary = `${dir}/${name}-${hash}`;
  try {
    await Deno.stat(binary);
    return binary;
  } catch { /* build it */ }
  await Deno.mkdir(dir, { recursive: true });
  const tmp = `${binary}.${crypto.randomUUID()}.tmp`;
  let out;
  try {
    out = await new Deno.Command("cc", {
      args: ["-O2", "-o", tmp, source, ...libs],
      stdout: "piped",
      stderr: "piped",
    }).output();
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new Error(`cannot build ${name}.c: cc not found (install a C compiler)`);
    }
    throw e;
  }
  if (!out.success) {
    const err = new TextDecoder().decode(out.stderr).trim().split("\n").slice(0, 3).join(" | ");
    const hint = libs.includes("-lrdkafka") ? " (is librdkafka-dev installed?)" : "";
    throw new Error(`cannot build ${name}.c${hint}: ${err}`);
  }
  await Deno.rename(tmp, binary);
  return binary;
}

/** The C source of the many-connections client (`conns_perf.c`). */
export const CONNS_SOURCE: string = new URL("./conns_perf.c", import.meta.url).pathname;

/** The C source of the librdkafka mock cluster peer (`mock_cluster.c`). */
export const MOCK_SOURCE: string = new URL("./mock_cluster.c", import.meta.url).pathname;

/**
 * Compiles `rdkafka_perf.c` (once per source version: the binary's name holds the source hash).
 *
 * @example
 * ```ts ignore
 * import { buildRdkafkaPerf } from "./workers.ts";
 * console.log(await buildRdkafkaPerf()); // ~/.cache/sluice/e2e/rdkafka_perf-<hash>
 * ```
 *
 * @param dir Where to keep the binary. Default `$XDG_CACHE_HOME/sluice/e2e` or
 *   `~/.cache/sluice/e2e`.
 * @returns The binary's path.
 * @throws {Error} If `cc` is missing or the build fails (e.g. no librdkafka-dev headers).
 */
export function buildRdkafkaPerf(dir: string = cacheDir()): Promise<string> {
  return buildC(RDKAFKA_SOURCE, ["-lrdkafka"], dir);
}

/** Producer arguments (the same for every client). */
export interface ProduceArgs {
  /** `host:port`. */
  bootstrap: string;
  /** Topic. */
  topic: string;
  /** Partition count (record i goes to partition i % partitions). */
  partitions: number;
  /** Records to send. */
  records: number;
  /** Value size in bytes (at least 16). */
  size: number;
  /** 1 or -1 (all). */
  acks: 1 | -1;
  /** Records per second, 0 for as fast as possible. */
  rate: number;
  /** librdkafka properties set last (`-X key=value`, e.g. `security.protocol=ssl`); rdkafka only. */
  conf?: Record<string, string>;
}

/** Consumer arguments. */
export interface ConsumeArgs {
  /** `host:port`. */
  bootstrap: string;
  /** Topic. */
  topic: string;
  /** Partition count (all are read from offset 0). */
  partitions: number;
  /** Records expected. */
  records: number;
  /** Give up after this long without a new record, in milliseconds. */
  idleMs: number;
  /** librdkafka properties set last (`-X key=value`); rdkafka only. */
  conf?: Record<string, string>;
}

/** A running worker process. */
export interface WorkerProcess<T> {
  /** Resolves when a consumer has its partitions (immediately for producers). */
  ready: Promise<void>;
  /** The final JSON; rejects with the worker's error, exit status or timeout. */
  result: Promise<T>;
  /** Kills the process if it still runs. */
  kill(): void;
}

function commandFor(
  client: ClientName,
  rdkafka: string | undefined,
  args: string[],
  conf: Record<string, string> = {},
) {
  const extra = Object.entries(conf).flatMap(([k, v]) => ["-X", `${k}=${v}`]);
  if (client === "rdkafka") {
    if (!rdkafka) throw new Error("rdkafka worker: rdkafka_perf was not built");
    return { cmd: rdkafka, args: [...args, ...extra] };
  }
  if (extra.length > 0) throw new Error(`${client} worker: conf is for rdkafka only`);
  const worker = new URL("./client_worker.ts", import.meta.url).pathname;
  return { cmd: Deno.execPath(), args: ["run", "-A", worker, client, ...args] };
}

/**
 * Runs a worker process that prints JSON lines: `{"ready":true}`, `{"error":...}` or its final
 * object (one with `mode`).
 *
 * @param what Name for error messages.
 * @param cmd Executable.
 * @param args Its arguments.
 * @param timeoutMs Kill it after this long.
 * @returns The process.
 */
export function spawnWorker<T>(
  what: string,
  cmd: string,
  args: string[],
  timeoutMs: number,
): WorkerProcess<T> {
  const child = new Deno.Command(cmd, {
    args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const kill = () => {
    try {
      child.kill("SIGKILL");
    } catch { /* exited */ }
  };
  let onReady = () => {};
  const ready = new Promise<void>((resolve) => onReady = resolve);
  const stderr = new Response(child.stderr).text().catch(() => "");
  const result = (async () => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        kill();
        reject(new Error(`${what}: no result within ${timeoutMs} ms`));
      }, timeoutMs);
    });
    const read = (async () => {
      let buf = "";
      let final: T | undefined;
      let error: string | undefined;
      for await (const text of child.stdout.pipeThrough(new TextDecoderStream())) {
        buf += text;
        let nl;
        while ((nl = buf.indexOf("\n")) >= 0) {
          const line = buf.slice(0, nl).trim();
          buf = buf.slice(nl + 1);
          if (!line.startsWith("{")) continue;
          const o = JSON.parse(line);
          if (o.ready) onReady();
          else if (o.error) error = String(o.error);
          else if (o.mode) final = o as T;
        }
      }
      const status = await child.status;
      if (final !== undefined) return final;
      const tail = (await stderr).trim().split("\n").slice(-3).join(" | ");
      throw new Error(
        `${what}: ${error ?? `exited with code ${status.code} without a result`}` +
          (tail ? `: ${tail}` : ""),
      );
    })();
    try {
      return await Promise.race([read, timedOut]);
    } finally {
      clearTimeout(timer);
    }
  })();
  // A worker that fails before it is ready must not leave `ready` pending.
  const readyOrFail = Promise.race([ready, result.then(() => {})]);
  // Callers await what they need; a rejection nobody awaits must not crash the tool.
  result.catch(() => {});
  readyOrFail.catch(() => {});
  return { ready: readyOrFail, result, kill };
}

/**
 * Starts a producer process.
 *
 * @param client Which client.
 * @param rdkafka Path of the built `rdkafka_perf` (needed for `rdkafka`).
 * @param a What to produce.
 * @param timeoutMs Kill it after this long.
 * @returns The process; `result` resolves with its stats.
 * @throws {Error} If the `rdkafka` binary is missing.
 */
export function startProducer(
  client: ClientName,
  rdkafka: string | undefined,
  a: ProduceArgs,
  timeoutMs: number,
): WorkerProcess<ProduceStats> {
  const args = ["produce", a.bootstrap, a.topic, a.partitions, a.records, a.size, a.acks, a.rate]
    .map(String);
  const { cmd, args: full } = commandFor(client, rdkafka, args, a.conf);
  return spawnWorker(`${client} producer`, cmd, full, timeoutMs);
}

/**
 * Starts a consumer process; wait for `ready` before producing.
 *
 * @param client Which client.
 * @param rdkafka Path of the built `rdkafka_perf` (needed for `rdkafka`).
 * @param a What to consume.
 * @param timeoutMs Kill it after this long.
 * @returns The process; `result` resolves with its stats.
 * @throws {Error} If the `rdkafka` binary is missing.
 */
export function startConsumer(
  client: ClientName,
  rdkafka: string | undefined,
  a: ConsumeArgs,
  timeoutMs: number,
): WorkerProcess<ConsumeStats> {
  const args = ["consume", a.bootstrap, a.topic, a.partitions, a.records, a.idleMs].map(String);
  const { cmd, args: full } = commandFor(client, rdkafka, args, a.conf);
  return spawnWorker(`${client} consumer`, cmd, full, timeoutMs);
}
