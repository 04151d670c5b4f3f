// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * Strict flag parsing for the bench tools (`bench:start`, `bench:cluster`, `bench:e2e`): Node's
 * `parseArgs` with no positional argument allowed, its errors as `RangeError`s, which each tool
 * reports with its usage and exit code 2.
 *
 * @module
 */

import { parseArgs, type ParseArgsOptionsConfig } from "node:util";

/**
 * Parses `args` against `options` strictly.
 *
 * @example
 * ```ts
 * import { parseFlags } from "./flags.ts";
 * const values = parseFlags(["--runs", "3"], { runs: { type: "string" } });
 * console.log(values.runs); // "3"
 * ```
 *
 * @param args Command-line arguments.
 * @param options The flags, as `parseArgs` takes them.
 * @returns The values of the flags given.
 * @throws {RangeError} On an unknown flag, a flag without its value, or a positional argument.
 */
export function parseFlags<const O extends ParseArgsOptionsConfig>(
  args: string[],
  options: O,
): ReturnType<
  typeof parseArgs<{ args: string[]; options: O; strict: true; allowPositionals: false }>
>["values"] {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: false }).values;
  } catch (e) {
    throw new RangeError(e instanceof Error ? e.message : String(e));
  }
}
