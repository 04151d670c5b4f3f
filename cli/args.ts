/**
 * Argument helpers shared by the `sluice` commands: usage errors, `--property k=v` lists and
 * numeric flags.
 *
 * @module
 */

import type * as Util from "node:util";
import type { ParseArgsConfig } from "node:util";

/** A bad command line: printed as one line, exit code 2. */
export class UsageError extends Error {
  /**
   * Creates a usage error.
   *
   * @param message What is wrong with the command line.
   */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** Parsed flags: strings, booleans and repeated strings. */
export type Flags = Record<string, string | boolean | string[] | undefined>;

/**
 * Parses `args` strictly with `node:util` `parseArgs`, turning its errors into
 * {@linkcode UsageError}s.
 *
 * @example
 * ```ts
 * import { parseFlags } from "./args.ts";
 * const { values } = parseFlags(["--topic", "t"], { topic: { type: "string" } });
 * values.topic; // "t"
 * ```
 *
 * @param args Arguments after the command name.
 * @param options `parseArgs` option definitions.
 * @param allowPositionals Whether positional arguments are allowed.
 * @returns The flag values and positionals.
 * @throws {UsageError} On an unknown flag, a missing value or an unexpected positional.
 */
export function parseFlags(
  args: string[],
  options: NonNullable<ParseArgsConfig["options"]>,
  allowPositionals = false,
): { values: Flags; positionals: string[] } {
  // Let string options take negative numbers (`--acks -1`), which parseArgs treats as flags.
  const joined: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const name = args[i].startsWith("--") ? args[i].slice(2) : undefined;
    if (
      name !== undefined && options[name]?.type === "string" && i + 1 < args.length &&
      /^-\d/.test(args[i + 1])
    ) {
      joined.push(`${args[i]}=${args[++i]}`);
    } else joined.push(args[i]);
  }
  try {
    // node:util at first use: importing it with the module would load Deno's Node
    // compatibility layer for every command, `sluice broker` included
    const { parseArgs } = (globalThis as unknown as {
      process: { getBuiltinModule(id: string): unknown };
    }).process.getBuiltinModule("node:util") as typeof Util;
    const { values, positionals } = parseArgs({
      args: joined,
      options,
      allowPositionals,
      strict: true,
    });
    return { values: values as Flags, positionals };
  } catch (e) {
    const message = (e as Error).message.split("\n")[0]
      .replace(/\. To specify a positional argument.*$/, "");
    throw new UsageError(message);
  }
}

/**
 * Parses repeated `k=v` values (`--property`, `--config`) into a map.
 *
 * @example
 * ```ts
 * import { parseKeyValues } from "./args.ts";
 * parseKeyValues(["parse.key=true", "key.separator=:"], "--property");
 * // { "parse.key": "true", "key.separator": ":" }
 * ```
 *
 * @param list The raw values.
 * @param flag Flag name, for the error message.
 * @returns The pairs, later ones winning.
 * @throws {UsageError} If a value has no `=` or an empty key.
 */
export function parseKeyValues(
  list: string[] | undefined,
  flag: string,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of list ?? []) {
    const eq = item.indexOf("=");
    if (eq <= 0) throw new UsageError(`invalid ${flag} "${item}": expected key=value`);
    out[item.slice(0, eq).trim()] = item.slice(eq + 1);
  }
  return out;
}

/**
 * Parses an integer flag value.
 *
 * @example
 * ```ts
 * import { parseIntFlag } from "./args.ts";
 * parseIntFlag("3", "--partitions", 1); // 3
 * ```
 *
 * @param value The raw value (may be undefined).
 * @param flag Flag name, for the error message.
 * @param min Smallest allowed value.
 * @returns The number, or `undefined` when `value` is undefined.
 * @throws {UsageError} If the value is not an integer `>= min`.
 */
export function parseIntFlag(value: unknown, flag: string, min: number): number | undefined {
  if (value === undefined) return undefined;
  const s = String(value);
  if (!/^-?\d+$/.test(s) || !Number.isSafeInteger(Number(s)) || Number(s) < min) {
    throw new UsageError(`invalid ${flag} "${s}": expected an integer >= ${min}`);
  }
  return Number(s);
}

/**
 * Parses a boolean property value the way Kafka's console tools do (`true`, case-insensitive).
 *
 * @param value The raw value.
 * @returns Whether it is `true`.
 */
export function isTrue(value: string | undefined): boolean {
  return value !== undefined && value.trim().toLowerCase() === "true";
}

/**
 * Expands the escape sequences Kafka's console tools accept in separators (`\t`, `\n`, `\r`,
 * `\\`).
 *
 * @param s The raw separator.
 * @returns The separator with escapes expanded.
 */
export function unescapeSeparator(s: string): string {
  return s.replace(
    /\\([tnr\\])/g,
    (_, c: string) => c === "t" ? "\t" : c === "n" ? "\n" : c === "r" ? "\r" : "\\",
  );
}
