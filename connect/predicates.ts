// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * Predicates (Kafka's KIP-585): conditions that decide whether a transform applies to a record,
 * configured with Kafka's names (`predicates=isOrders`,
 * `predicates.isOrders.type=org.apache.kafka.connect.transforms.predicates.TopicNameMatches`,
 * `predicates.isOrders.pattern=orders-.*`, then `transforms.T.predicate=isOrders` and
 * optionally `transforms.T.negate=true`). Kafka's three built-ins: `TopicNameMatches`
 * (`pattern`, matched against the whole topic name), `HasHeaderKey` (`name`) and
 * `RecordIsTombstone`. Short names are accepted too.
 *
 * @module
 */

import { ConfigError, withPrefix } from "./config.ts";
import type { ConnectRecord } from "./data.ts";

/** A condition on a record (Kafka's `org.apache.kafka.connect.transforms.predicates.Predicate`). */
export interface Predicate {
  /**
   * Tests one record.
   *
   * @param record The record.
   * @returns Whether the condition holds.
   */
  test(record: ConnectRecord): boolean;
}

/** The package of Kafka's predicates. */
export const PREDICATE_PACKAGE = "org.apache.kafka.connect.transforms.predicates.";

function required(props: Record<string, string>, key: string): string {
  const v = props[key];
  if (v === undefined || v.trim() === "") {
    throw new ConfigError([
      v === undefined
        ? `Missing required configuration "${key}" which has no default value.`
        : `Invalid value ${v} for configuration ${key}: String must be non-empty`,
    ]);
  }
  return v;
}

/**
 * Kafka's `TopicNameMatches`: true when the whole topic name matches `pattern` (a regular
 * expression, JavaScript syntax, matched as Java's `Matcher.matches()`).
 */
export class TopicNameMatches implements Predicate {
  #pattern: RegExp;
  /**
   * Creates the predicate.
   *
   * @param props `pattern` (required).
   * @throws {ConfigError} On a missing, empty or invalid pattern.
   */
  constructor(props: Record<string, string>) {
    const pattern = required(props, "pattern");
    try {
      this.#pattern = new RegExp(`^(?:${pattern})$`);
    } catch (e) {
      throw new ConfigError([
        `Invalid value ${pattern} for configuration pattern: Invalid regex: ${
          e instanceof Error ? e.message : e
        }`,
      ]);
    }
  }
  /** Whether the topic name matches. */
  test(record: ConnectRecord): boolean {
    return this.#pattern.test(record.topic);
  }
}

/** Kafka's `HasHeaderKey`: true when the record has at least one header named `name`. */
export class HasHeaderKey implements Predicate {
  #name: string;
  /**
   * Creates the predicate.
   *
   * @param props `name` (required).
   * @throws {ConfigError} On a missing or empty name.
   */
  constructor(props: Record<string, string>) {
    this.#name = required(props, "name");
  }
  /** Whether a header has the name. */
  test(record: ConnectRecord): boolean {
    return (record.headers ?? []).some((h) => h.key === this.#name);
  }
}

/** Kafka's `RecordIsTombstone`: true when the value is `null`. */
export class RecordIsTombstone implements Predicate {
  /** Whether the value is `null`. */
  test(record: ConnectRecord): boolean {
    return record.value === null || record.value === undefined;
  }
}

/** The predicates in the box, by short name. */
export const PREDICATES: Record<string, (props: Record<string, string>) => Predicate> = {
  TopicNameMatches: (p) => new TopicNameMatches(p),
  HasHeaderKey: (p) => new HasHeaderKey(p),
  RecordIsTombstone: () => new RecordIsTombstone(),
};

/**
 * One predicate by Kafka class name or short name.
 *
 * @example
 * ```ts
 * import { createPredicate } from "./predicates.ts";
 * const p = createPredicate("org.apache.kafka.connect.transforms.predicates.TopicNameMatches", {
 *   pattern: "orders-.*",
 * });
 * console.assert(p.test({ topic: "orders-eu", key: null, value: 1 }));
 * console.assert(!p.test({ topic: "my-orders-eu", key: null, value: 1 }));
 * ```
 *
 * @param type The class.
 * @param props Its properties (without `predicates.NAME.`).
 * @returns The predicate.
 * @throws {ConfigError} On an unknown class or a bad property.
 */
export function createPredicate(type: string, props: Record<string, string>): Predicate {
  const t = type.trim();
  const short = t.startsWith(PREDICATE_PACKAGE) ? t.slice(PREDICATE_PACKAGE.length) : t;
  const make = PREDICATES[short];
  if (!make) {
    throw new ConfigError([
      `Invalid value ${type} for configuration type: Class ${type} could not be found ` +
      `(available: ${Object.keys(PREDICATES).map((n) => PREDICATE_PACKAGE + n).join(", ")})`,
    ]);
  }
  return make(props);
}

function list(s: string | undefined): string[] {
  return (s ?? "").split(",").map((x) => x.trim()).filter((x) => x);
}

/**
 * The predicates a connector configuration declares: `predicates=a,b` and each
 * `predicates.NAME.type` with its `predicates.NAME.*` properties.
 *
 * @example
 * ```ts
 * import { predicatesOf } from "./predicates.ts";
 * const p = predicatesOf({
 *   predicates: "tomb",
 *   "predicates.tomb.type": "org.apache.kafka.connect.transforms.predicates.RecordIsTombstone",
 * });
 * console.assert(p.get("tomb")!.test({ topic: "t", key: "k", value: null }));
 * ```
 *
 * @param config The connector configuration.
 * @returns The predicates by name.
 * @throws {ConfigError} Listing every problem (a name given twice, a missing or unknown type, a
 * bad property), with the full configuration key.
 */
export function predicatesOf(config: Record<string, string>): Map<string, Predicate> {
  const names = list(config.predicates);
  const errors: string[] = [];
  if (new Set(names).size !== names.length) {
    errors.push(
      `Invalid value ${config.predicates} for configuration predicates: Duplicate alias provided.`,
    );
  }
  const out = new Map<string, Predicate>();
  for (const name of new Set(names)) {
    const prefix = `predicates.${name}.`;
    const props = withPrefix(config, prefix);
    if (!props.type) {
      errors.push(`Missing required configuration "${prefix}type" which has no default value.`);
      continue;
    }
    try {
      out.set(name, createPredicate(props.type, props));
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      // Kafka reports a predicate's settings under their full key.
      errors.push(
        ...e.errors.map((m) =>
          m.replace(/configuration ([\w.]+)/, `configuration ${prefix}$1`)
            .replace(/configuration "([\w.]+)"/, `configuration "${prefix}$1"`)
        ),
      );
    }
  }
  if (errors.length) throw new ConfigError(errors);
  return out;
}
