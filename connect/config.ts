// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * Configuration definitions and validation, a small form of Kafka's `ConfigDef`: each key has a
 * type, an optional default and validator, and documentation; {@linkcode parseConfig} turns a
 * string map into typed values or reports every problem at once, in Kafka Connect's words.
 *
 * @module
 */

/** A config value type, as Kafka's `ConfigDef.Type`. */
export type ConfigType = "string" | "int" | "long" | "double" | "boolean" | "list" | "password";

/** One config key. */
export interface ConfigKey {
  /** Type. */
  type: ConfigType;
  /** Default (as a string, like a properties file); absent: required. */
  default?: string | null;
  /** What it does. */
  documentation?: string;
  /** Importance, as Kafka's (`high`, `medium`, `low`). */
  importance?: "high" | "medium" | "low";
  /** The allowed values (strings compared case-insensitively). */
  validValues?: string[];
  /** Smallest allowed number. */
  min?: number;
  /** Extra check: returns an error message, or `undefined`. */
  validator?: (value: ConfigValue) => string | undefined;
}

/** A typed config value. */
export type ConfigValue = string | number | boolean | string[] | null;

/** Config keys by name. */
export type ConfigDef = Record<string, ConfigKey>;

/** Invalid configuration (Kafka's `ConfigException`): every problem, one per line. */
export class ConfigError extends Error {
  /** The problems, one per key. */
  readonly errors: string[];
  /**
   * Creates the error.
   *
   * @param errors The problems.
   */
  constructor(errors: string[]) {
    super(
      errors.length === 1 ? errors[0] : `Connector configuration is invalid and contains the ` +
        `following ${errors.length} error(s):\n${errors.join("\n")}`,
    );
    this.name = "ConfigError";
    this.errors = errors;
  }
}

function parseValue(name: string, key: ConfigKey, raw: string): ConfigValue {
  const bad = (what: string) =>
    new ConfigError([`Invalid value ${raw} for configuration ${name}: ${what}`]);
  const text = raw.trim();
  switch (key.type) {
    case "string":
    case "password":
      return raw;
    case "int":
    case "long": {
      if (!/^[-+]?\d+$/.test(text)) throw bad(`Not a number of type ${key.type.toUpperCase()}`);
      const n = Number(text);
      if (key.type === "int" && (n > 2147483647 || n < -2147483648)) {
        throw bad("Not a number of type INT");
      }
      return n;
    }
    case "double": {
      const n = Number(text);
      if (text === "" || !Number.isFinite(n)) throw bad("Not a number of type DOUBLE");
      return n;
    }
    case "boolean": {
      const t = text.toLowerCase();
      if (t !== "true" && t !== "false") throw bad("Expected value to be either true or false");
      return t === "true";
    }
    case "list":
      return text === "" ? [] : text.split(",").map((s) => s.trim());
  }
}

/**
 * Parses and validates `props` against `def`: unknown keys are kept as strings, known keys are
 * typed, defaults filled in.
 *
 * @example
 * ```ts
 * import { parseConfig } from "./config.ts";
 * const c = parseConfig({ "tasks.max": { type: "int", default: "1", min: 1 } }, { "tasks.max": "3" });
 * console.assert(c["tasks.max"] === 3);
 * ```
 *
 * @param def The definitions.
 * @param props The raw values.
 * @returns Typed values by name.
 * @throws {ConfigError} Listing every missing or invalid key.
 */
export function parseConfig(def: ConfigDef, props: Record<string, string>): Record<
  string,
  ConfigValue
> {
  const out: Record<string, ConfigValue> = { ...props };
  const errors: string[] = [];
  for (const [name, key] of Object.entries(def)) {
    const raw = props[name] ?? key.default;
    if (raw === undefined) {
      errors.push(
        `Missing required configuration "${name}" which has no default value.`,
      );
      continue;
    }
    if (raw === null) {
      out[name] = null;
      continue;
    }
    try {
      const value = parseValue(name, key, raw);
      if (
        key.validValues &&
        !key.validValues.some((v) => v.toLowerCase() === String(value).toLowerCase())
      ) {
        throw new ConfigError([
          `Invalid value ${raw} for configuration ${name}: String must be one of: ${
            key.validValues.join(", ")
          }`,
        ]);
      }
      if (key.min !== undefined && typeof value === "number" && value < key.min) {
        throw new ConfigError([
          `Invalid value ${raw} for configuration ${name}: Value must be at least ${key.min}`,
        ]);
      }
      const problem = key.validator?.(value);
      if (problem) {
        throw new ConfigError([`Invalid value ${raw} for configuration ${name}: ${problem}`]);
      }
      out[name] = value;
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      errors.push(...e.errors);
    }
  }
  if (errors.length > 0) throw new ConfigError(errors);
  return out;
}

/**
 * The keys of `props` that start with `prefix`, with the prefix removed (Kafka's
 * `originalsWithPrefix`).
 *
 * @example
 * ```ts
 * import { withPrefix } from "./config.ts";
 * const p = withPrefix({ "value.converter.schemas.enable": "false" }, "value.converter.");
 * console.assert(p["schemas.enable"] === "false");
 * ```
 *
 * @param props Properties.
 * @param prefix The prefix.
 * @returns The matching keys without it.
 */
export function withPrefix(props: Record<string, string>, prefix: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(props)) {
    if (k.startsWith(prefix)) out[k.slice(prefix.length)] = v;
  }
  return out;
}
