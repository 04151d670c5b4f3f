// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * Test support for the CLI: run `sluice` in this process ({@linkcode main}) with its output
 * captured, against a broker of the test's own ({@linkcode withBroker}). Not exported from `mod.ts`.
 *
 * @module
 */

import { Broker } from "../server/mod.ts";
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

/**
 * Runs `fn` with a broker on 127.0.0.1 (a free port, a fresh data directory, no log output), then
 * closes the broker and removes the directory.
 *
 * @example
 * ```ts ignore
 * import { runSluice, withBroker } from "./testing.ts";
 *
 * await withBroker(async (bootstrap) => {
 *   const r = await runSluice(["topics", "--bootstrap-server", bootstrap, "--list"]);
 *   console.assert(r.code === 0);
 * });
 * ```
 *
 * @param fn The test, given the broker's `HOST:PORT` and its data directory.
 * @throws {Error} Whatever `fn` throws, after the clean-up.
 */
export async function withBroker(
  fn: (bootstrap: string, dir: string) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "sluice_cli_" });
  const broker = await Broker.start({
    listeners: "PLAINTEXT://127.0.0.1:0",
    logDirs: [dir],
    logLevel: "silent",
  });
  try {
    await fn(`127.0.0.1:${broker.port}`, dir);
  } finally {
    await broker.close();
    await Deno.remove(dir, { recursive: true });
  }
}
