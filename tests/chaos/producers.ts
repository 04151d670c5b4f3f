// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * The crash harness's producer processes: confluent-kafka (`confluent_producer.py`, librdkafka)
 * and Sluice's own client (`sluice_producer.ts`), each started with a {@linkcode WorkerSpec} and
 * read line by line ({@linkcode parseWorkerLine}).
 *
 * Needs `--allow-run --allow-read`.
 *
 * @module
 */

import { watchWorker, type WorkerExit } from "./line_process.ts";
import { parseWorkerLine, type WorkerLine, type WorkerSpec } from "./protocol.ts";

/** The producers the harness can run. */
export type ProducerKind = "confluent" | "sluice";

/** Every producer kind, in table order. */
export const PRODUCER_KINDS: readonly ProducerKind[] = ["confluent", "sluice"];

/** The Python interpreter with Debian's `confluent_kafka` (not a pyenv one on PATH). */
export const PYTHON = "/usr/bin/python3";

/** How a producer process ended (its `F` line's detail as `fatal`). */
export type ProducerExit = WorkerExit;

/**
 * One running producer process.
 *
 * @example
 * ```ts ignore
 * import { ProducerProcess } from "./producers.ts";
 * const p = ProducerProcess.spawn("sluice", spec, (line) => console.log(line), "/tmp/s.log");
 * await p.stop();
 * ```
 */
export class ProducerProcess {
  /** Which client. */
  readonly kind: ProducerKind;
  /** The spec it runs (its `name` prefixes its record ids). */
  readonly spec: WorkerSpec;
  /** Resolves when the process has exited and its output is read. */
  readonly exited: Promise<ProducerExit>;
  /** Whether {@linkcode ProducerProcess.stop} was called. */
  stopping = false;
  #child: Deno.ChildProcess;
  #ready: Promise<void>;

  private constructor(
    kind: ProducerKind,
    spec: WorkerSpec,
    child: Deno.ChildProcess,
    onLine: (line: WorkerLine) => void,
    logFile: string,
  ) {
    this.kind = kind;
    this.spec = spec;
    this.#child = child;
    const { ready, exited } = watchWorker(child, parseWorkerLine, onLine, logFile);
    this.#ready = ready;
    this.exited = exited;
  }

  /**
   * Starts a producer process.
   *
   * @param kind Which client.
   * @param spec Bootstrap, name, partitions, record size.
   * @param onLine Called for every line it prints.
   * @param logFile Where its stderr is appended.
   * @returns The process.
   * @throws {Error} If the program cannot be started.
   */
  static spawn(
    kind: ProducerKind,
    spec: WorkerSpec,
    onLine: (line: WorkerLine) => void,
    logFile: string,
  ): ProducerProcess {
    const here = (f: string) => new URL(f, import.meta.url).pathname;
    const [cmd, args] = kind === "confluent"
      ? [PYTHON, [here("./confluent_producer.py"), JSON.stringify(spec)]]
      : [Deno.execPath(), ["run", "-A", here("./sluice_producer.ts"), JSON.stringify(spec)]];
    let child: Deno.ChildProcess;
    try {
      child = new Deno.Command(cmd, { args, stdin: "null", stdout: "piped", stderr: "piped" })
        .spawn();
    } catch (e) {
      throw new Error(`start ${kind} producer: ${e instanceof Error ? e.message : e}`);
    }
    return new ProducerProcess(kind, spec, child, onLine, logFile);
  }

  /**
   * Asks the producer to stop (SIGTERM: it finishes the batches in flight) and waits; SIGKILL
   * after `timeoutMs`. A producer still starting is first given up to 30 s to say it is ready,
   * so that SIGTERM reaches its handler rather than ending it on the spot.
   *
   * @param timeoutMs How long it may take. Default 150000 (longer than the confluent producer's 120 s drain).
   * @returns How it ended; `clean` is false when it had to be killed.
   */
  async stop(timeoutMs = 150_000): Promise<ProducerExit & { clean: boolean }> {
    this.stopping = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([this.#ready, new Promise((r) => timer = setTimeout(r, 30_000))]);
    clearTimeout(timer);
    try {
      this.#child.kill("SIGTERM");
    } catch { /* already exited */ }
    const late = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), timeoutMs);
    });
    const ended = await Promise.race([this.exited, late]);
    clearTimeout(timer);
    if (ended !== undefined) return { ...ended, clean: ended.code === 0 };
    try {
      this.#child.kill("SIGKILL");
    } catch { /* already exited */ }
    return { ...(await this.exited), clean: false };
  }
}
