// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * Test support for the CLI: run `sluice` in this process ({@linkcode main}) with its output
 * captured. Not exported from `mod.ts`.
 *
 * @module
 */

import { main } from "./main.ts";

/** What a run of {@linkcode runSluice} gave. */
export interface SluiceRun {
  /** The exit status. */
  code: number;
  /** Everything written to stdout. */
  stdout: string;
  /** Everything written to stderr. */
  stderr: string;
}

/**
 * Runs `sluice ARGS` in this process with `stdin` (not a terminal) and captures its output.
 * Needs the permissions of the command run (`--allow-net` to reach a broker, `--allow-read` for
 * `--command-config`, ...).
 *
 * @example
 * ```ts
 * import { runSluice } from "./testing.ts";
 *
 * const r = await runSluice(["frobnicate"]);
 * console.assert(r.code === 2 && r.stderr.includes("unknown command"));
 * ```
 *
 * @param args The arguments after `sluice`.
 * @param stdin What the command reads from stdin. Default: nothing.
 * @returns The exit status and output.
 */
export async function runSluice(args: string[], stdin = ""): Promise<SluiceRun> {
  let stdout = "";
  let stderr = "";
  const code = await main(args, {
    stdout: (t) => void (stdout += t),
    stderr: (t) => void (stderr += t),
    stdin: new Blob([stdin]).stream(),
    stdinIsTerminal: false,
  });
  return { code, stdout, stderr };
}
