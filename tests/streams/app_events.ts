// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * The line protocol of the Streams test apps (`word_count_app.ts`, `fk_join_app.ts`,
 * `standby_app.ts`): each runs one Streams instance and prints one JSON object a line,
 * `{"kind":"ready"}` once running, `{"kind":"metrics",...}` periodically and
 * `{"kind":"fatal","detail":...}` if processing stopped. The apps' side ({@linkcode startAndReport},
 * {@linkcode fatal}) and the tests' side ({@linkcode followEvents}).
 *
 * @module
 */

import type { KafkaStreams } from "../../streams/mod.ts";

/** One JSON line a Streams test app prints. */
export interface AppEvent {
  /** `ready`, `metrics` or `fatal`. */
  kind: string;
  /** Records processed so far (`metrics`). */
  processed: number;
  /** What failed (`fatal`). */
  detail: string;
  /** Active tasks (`metrics` of `standby_app.ts`). */
  tasks: string[];
  /** Standby tasks (`metrics` of `standby_app.ts`). */
  standbyTasks: string[];
}

const say = (o: Record<string, unknown>) => console.log(JSON.stringify(o));

/**
 * Print `{"kind":"fatal","detail":...}` (the error's stack) and exit 1: the app's `onError`.
 *
 * @param e What failed.
 */
export function fatal(e: unknown): never {
  say({ kind: "fatal", detail: String(e instanceof Error ? e.stack : e) });
  Deno.exit(1);
}

/**
 * Start `streams` (a failure is {@linkcode fatal}), print `ready`, then `metrics()` as a
 * `metrics` event every `intervalMs`.
 *
 * @param streams The instance.
 * @param metrics What each `metrics` event carries.
 * @param intervalMs How often.
 */
export async function startAndReport(
  streams: KafkaStreams,
  metrics: () => Record<string, unknown>,
  intervalMs: number,
): Promise<void> {
  try {
    await streams.start();
  } catch (e) {
    fatal(e);
  }
  say({ kind: "ready" });
  setInterval(() => say({ kind: "metrics", ...metrics() }), intervalMs);
}

/**
 * Read a Streams test app's stdout as JSON lines, handing each event (and its line) to `on`
 * after noting a `ready`; lines that are not JSON, and errors thrown by `on`, are skipped.
 *
 * @param stdout The app's stdout.
 * @param on Called for each event.
 * @returns `ready`, resolved at the first `ready` event or when the output ends; `done`, when it
 *   ends.
 */
export function followEvents(
  stdout: ReadableStream<Uint8Array>,
  on: (ev: AppEvent, line: string) => void,
): { ready: Promise<void>; done: Promise<void> } {
  let resolve = () => {};
  const ready = new Promise<void>((r) => resolve = r);
  const done = (async () => {
    let buf = "";
    for await (const t of stdout.pipeThrough(new TextDecoderStream())) {
      buf += t;
      for (let nl = buf.indexOf("\n"); nl >= 0; nl = buf.indexOf("\n")) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        try {
          const ev = JSON.parse(line);
          if (ev.kind === "ready") resolve();
          on(ev, line);
        } catch { /* not ours */ }
      }
    }
    resolve();
  })();
  return { ready, done };
}
