// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * The fault harness's consumer processes: confluent-kafka (`confluent_consumer.py`, librdkafka)
 * and Sluice's own client (`sluice_consumer.ts`), members of one consumer group, each started
 * with a {@linkcode ConsumerSpec} and read line by line ({@linkcode parseConsumerLine}).
 *
 * Needs `--allow-run --allow-read --allow-write`.
 *
 * @module
 */

import { watchWorker, type WorkerExit } from "../chaos/line_process.ts";
import { PYTHON } from "../chaos/producers.ts";
import { type ConsumerLine, type ConsumerSpec, parseConsumerLine } from "./protocol.ts";

/** The consumers the harness can run. */
export type ConsumerKind = "confluent" | "sluice";

/** Every consumer kind. */
export const CONSUMER_KINDS: readonly ConsumerKind[] = ["confluent", "sluice"];

/** How a consumer process ended. */
export interface ConsumerExit extends WorkerExit {
  /** Whether it ended on its own after SIGTERM with code 0. */
  clean: boolean;
}

/**
 * One running consumer process.
 *
 * @example
 * ```ts ignore
 * import { ConsumerProcess } from "./consumers.ts";
 * const c = ConsumerProcess.spawn("sluice", spec, (line) => console.log(line), "/tmp/c.log");
 * await c.stop();
 * ```
 */
export class ConsumerProcess {
  /** Which client. */
  readonly kind: ConsumerKind;
  /** The spec it runs. */
  readonly spec: ConsumerSpec;
  /** Resolves when the process has exited and its output is read. */
  readonly exited: Promise<Omit<ConsumerExit, "clean">>;
  /** Whether {@linkcode ConsumerProcess.stop} was called. */
  stopping = false;
  #child: Deno.ChildProcess;
  #ready: Promise<void>;

  private constructor(
    kind: ConsumerKind,
    spec: ConsumerSpec,
    child: Deno.ChildProcess,
    onLine: (line: ConsumerLine) => void,
    logFile: string,
  ) {
    this.kind = kind;
    this.spec = spec;
    this.#child = child;
    const { ready, exited } = watchWorker(child, parseConsumerLine, onLine, logFile);
    this.#ready = ready;
    this.exited = exited;
  }

  /**
   * Starts a consumer process.
   *
   * @param kind Which client.
   * @param spec Bootstrap, name, group, topics.
   * @param onLine Called for every line it prints.
   * @param logFile Where its stderr is appended.
   * @returns The process.
   * @throws {Error} If the program cannot be started.
   */
  static spawn(
    kind: ConsumerKind,
    spec: ConsumerSpec,
    onLine: (line: ConsumerLine) => void,
    logFile: string,
  ): ConsumerProcess {
    const here = (f: string) => new URL(f, import.meta.url).pathname;
    const [cmd, args] = kind === "confluent"
      ? [PYTHON, [here("./confluent_consumer.py"), JSON.stringify(spec)]]
      : [Deno.execPath(), ["run", "-A", here("./sluice_consumer.ts"), JSON.stringify(spec)]];
    let child: Deno.ChildProcess;
    try {
      child = new Deno.Command(cmd, { args, stdin: "null", stdout: "piped", stderr: "piped" })
        .spawn();
    } catch (e) {
      throw new Error(`start ${kind} consumer: ${e instanceof Error ? e.message : e}`);
    }
    return new ConsumerProcess(kind, spec, child, onLine, logFile);
  }

  /**
   * Stops the consumer (SIGTERM: it leaves the group) and waits; SIGKILL after `timeoutMs`.
   *
   * @param timeoutMs How long it may take. Default 30000.
   * @returns How it ended.
   */
  async stop(timeoutMs = 30_000): Promise<ConsumerExit> {
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
