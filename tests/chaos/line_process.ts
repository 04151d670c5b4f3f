// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * A worker process of the fault harnesses (the chaos producers, the cluster fault consumers)
 * that reports on stdout one line per event: its lines parsed and handed on, `ready` and
 * `fatal` noted, its stderr appended to a log file.
 *
 * @module
 */

/** The lines every worker protocol has: `ready`, and `fatal` with why it gave up. */
export type WorkerEvent = { kind: "ready" } | { kind: "fatal"; detail: string } | {
  kind: string;
};

/** How a worker process ended. */
export interface WorkerExit {
  /** Exit code. */
  code: number;
  /** The signal that ended it, if any. */
  signal: Deno.Signal | null;
  /** What its `fatal` line said, if it printed one. */
  fatal: string | undefined;
}

/**
 * Reads a worker's output until it exits.
 *
 * @param child The process (stdout and stderr piped).
 * @param parse Parses one line of its protocol.
 * @param onLine Called for every line.
 * @param logFile Where its stderr is appended.
 * @returns `ready` (resolved at its ready line, or when it exits) and `exited`.
 */
export function watchWorker<L extends WorkerEvent>(
  child: Deno.ChildProcess,
  parse: (line: string) => L,
  onLine: (line: L) => void,
  logFile: string,
): { ready: Promise<void>; exited: Promise<WorkerExit> } {
  let fatal: string | undefined;
  let onReady = () => {};
  const ready = new Promise<void>((resolve) => onReady = resolve);
  const stdout = (async () => {
    let buf = "";
    for await (const text of child.stdout.pipeThrough(new TextDecoderStream())) {
      buf += text;
      let nl;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = parse(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
        if (line.kind === "fatal") fatal = (line as { detail: string }).detail;
        if (line.kind === "ready") onReady();
        onLine(line);
      }
    }
  })();
  const stderr = (async () => {
    const log = await Deno.open(logFile, { create: true, append: true });
    try {
      await child.stderr.pipeTo(log.writable);
    } catch { /* the file is closed by pipeTo */ }
  })();
  const exited = (async () => {
    const status = await child.status;
    await Promise.allSettled([stdout, stderr]);
    onReady();
    return { code: status.code, signal: status.signal, fatal };
  })();
  return { ready, exited };
}
