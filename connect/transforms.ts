// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * Single-message transforms as Kafka's, configured with Kafka's names
 * (`transforms=a,b`, `transforms.a.type=org.apache.kafka.connect.transforms.InsertField$Value`,
 * `transforms.a.static.field=…`): `InsertField`, `MaskField`, `ReplaceField` (`$Key` or `$Value`)
 * and `RegexRouter`. Short names (`InsertField$Value`) are accepted too.
 *
 * @module
 */

import { DataException } from "./api.ts";
import { ConfigError, withPrefix } from "./config.ts";
import { type Predicate, predicatesOf } from "./predicates.ts";
import {
  type ConnectRecord,
  type Field,
  isObjectValue,
  type Schema,
  type SinkRecord,
} from "./data.ts";

/** A single-message transform (Kafka's `Transformation`). */
export interface Transformation {
  /**
   * Transforms one record.
   *
   * @param record The record (not modified).
   * @returns The new record, or `null` to drop it.
   * @throws {Error} When the record does not fit (e.g. a schemaless value that is not a map).
   */
  apply<R extends ConnectRecord>(record: R): R | null;
}

type Side = "Key" | "Value";

function sideOf(r: ConnectRecord, side: Side): { schema: Schema | null; value: unknown } {
  return side === "Key"
    ? { schema: r.keySchema ?? null, value: r.key }
    : { schema: r.valueSchema ?? null, value: r.value };
}

function withSide<R extends ConnectRecord>(
  r: R,
  side: Side,
  schema: Schema | null,
  value: unknown,
): R {
  return side === "Key"
    ? { ...r, keySchema: schema, key: value }
    : { ...r, valueSchema: schema, value };
}

function requireMap(value: unknown, purpose: string): Record<string, unknown> {
  if (!isObjectValue(value)) {
    throw new DataException(
      `Only Map objects supported in absence of schema for [${purpose}], found: ${
        value === null ? "null" : Array.isArray(value) ? "array" : typeof value
      }`,
    );
  }
  return value;
}

function requireStruct(schema: Schema, value: unknown, purpose: string): Record<string, unknown> {
  if (schema.type !== "struct" || !isObjectValue(value)) {
    throw new DataException(
      `Only Struct objects supported for [${purpose}], found: ${schema.type}`,
    );
  }
  return value;
}

const TIMESTAMP_SCHEMA = "org.apache.kafka.connect.data.Timestamp";

interface Insertion {
  name: string;
  optional: boolean;
}

function insertion(spec: string | undefined): Insertion | null {
  if (spec === undefined || spec.trim() === "") return null;
  const s = spec.trim();
  if (s.endsWith("?")) return { name: s.slice(0, -1), optional: true };
  if (s.endsWith("!")) return { name: s.slice(0, -1), optional: false };
  return { name: s, optional: true };
}

/** Kafka's `InsertField$Key` / `InsertField$Value`. */
export class InsertField implements Transformation {
  #side: Side;
  #topic: Insertion | null;
  #partition: Insertion | null;
  #offset: Insertion | null;
  #timestamp: Insertion | null;
  #static: Insertion | null;
  #staticValue: string | null;

  /**
   * Creates the transform.
   *
   * @param side Key or value.
   * @param props `topic.field`, `partition.field`, `offset.field`, `timestamp.field`,
   * `static.field`, `static.value` (a `!` suffix makes a field required, `?` optional).
   */
  constructor(side: Side, props: Record<string, string>) {
    this.#side = side;
    this.#topic = insertion(props["topic.field"]);
    this.#partition = insertion(props["partition.field"]);
    this.#offset = insertion(props["offset.field"]);
    this.#timestamp = insertion(props["timestamp.field"]);
    this.#static = insertion(props["static.field"]);
    this.#staticValue = props["static.value"] ?? null;
    if (this.#static && this.#staticValue === null) {
      throw new ConfigError(["static.value is required when static.field is set"]);
    }
  }

  #values(r: ConnectRecord): Array<[Insertion, Schema, unknown]> {
    const out: Array<[Insertion, Schema, unknown]> = [];
    const add = (i: Insertion | null, schema: Schema, v: unknown) => {
      if (i) out.push([i, { ...schema, optional: i.optional }, v]);
    };
    add(this.#topic, { type: "string" }, r.topic);
    add(this.#partition, { type: "int32" }, r.kafkaPartition ?? null);
    add(this.#offset, { type: "int64" }, (r as SinkRecord).kafkaOffset ?? null);
    add(
      this.#timestamp,
      { type: "int64", name: TIMESTAMP_SCHEMA, version: 1 },
      r.timestamp ?? null,
    );
    add(this.#static, { type: "string" }, this.#staticValue);
    return out;
  }

  /** Adds the fields. */
  apply<R extends ConnectRecord>(r: R): R | null {
    const { schema, value } = sideOf(r, this.#side);
    const purpose = "field insertion";
    if (value === null && this.#side === "Value") return r; // tombstones pass through
    const inserts = this.#values(r);
    if (!schema) {
      const out = { ...requireMap(value, purpose) };
      for (const [i, , v] of inserts) out[i.name] = v;
      return withSide(r, this.#side, null, out);
    }
    const struct = requireStruct(schema, value, purpose);
    const fields: Field[] = [...(schema.fields ?? [])];
    const out = { ...struct };
    for (const [i, s, v] of inserts) {
      if (!fields.some((f) => f.field === i.name)) fields.push({ field: i.name, ...s });
      out[i.name] = v;
    }
    return withSide(r, this.#side, { ...schema, fields }, out);
  }
}

function maskOf(schemaType: string | undefined, value: unknown, replacement: string | null) {
  const type = schemaType ??
    (value instanceof Uint8Array
      ? "bytes"
      : Array.isArray(value)
      ? "array"
      : isObjectValue(value)
      ? "map"
      : typeof value);
  switch (type) {
    case "string":
      return replacement ?? "";
    case "number":
    case "int8":
    case "int16":
    case "int32":
    case "int64":
    case "float32":
    case "float64":
    case "bigint": {
      if (replacement === null) return 0;
      const n = Number(replacement);
      if (!Number.isFinite(n)) {
        throw new DataException(`Unable to convert ${replacement} to a number for field masking`);
      }
      return n;
    }
    case "boolean":
      return false;
    case "bytes":
      return new Uint8Array(0);
    case "array":
      return [];
    case "map":
      return {};
    default:
      throw new DataException(`Cannot mask value of type ${type}`);
  }
}

/** Kafka's `MaskField$Key` / `MaskField$Value`. */
export class MaskField implements Transformation {
  #side: Side;
  #fields: Set<string>;
  #replacement: string | null;
  /**
   * Creates the transform.
   *
   * @param side Key or value.
   * @param props `fields` (required), `replacement`.
   */
  constructor(side: Side, props: Record<string, string>) {
    this.#side = side;
    const fields = (props.fields ?? "").split(",").map((s) => s.trim()).filter((s) => s);
    if (fields.length === 0) {
      throw new ConfigError([
        `Missing required configuration "fields" which has no default value.`,
      ]);
    }
    this.#fields = new Set(fields);
    this.#replacement = props.replacement ?? null;
  }
  /** Replaces the fields' values with their type's empty value or `replacement`. */
  apply<R extends ConnectRecord>(r: R): R | null {
    const { schema, value } = sideOf(r, this.#side);
    if (value === null) return r;
    const purpose = "mask fields";
    const obj = schema ? requireStruct(schema, value, purpose) : requireMap(value, purpose);
    const out = { ...obj };
    for (const f of this.#fields) {
      if (!(f in out)) continue;
      const type = schema?.fields?.find((x) => x.field === f)?.type;
      out[f] = out[f] === null && !type ? null : maskOf(type, out[f], this.#replacement);
    }
    return withSide(r, this.#side, schema, out);
  }
}

function list(s: string | undefined): string[] {
  return (s ?? "").split(",").map((x) => x.trim()).filter((x) => x);
}

/** Kafka's `ReplaceField$Key` / `ReplaceField$Value`: exclude, include and rename fields. */
export class ReplaceField implements Transformation {
  #side: Side;
  #exclude: Set<string>;
  #include: Set<string>;
  #renames = new Map<string, string>();
  /**
   * Creates the transform.
   *
   * @param side Key or value.
   * @param props `exclude` (or `blacklist`), `include` (or `whitelist`), `renames`
   * (`old:new,…`).
   * @throws {ConfigError} On a rename that is not `old:new`.
   */
  constructor(side: Side, props: Record<string, string>) {
    this.#side = side;
    this.#exclude = new Set(list(props.exclude ?? props.blacklist));
    this.#include = new Set(list(props.include ?? props.whitelist));
    for (const pair of list(props.renames)) {
      const parts = pair.split(":");
      if (parts.length !== 2 || parts[0] === "" || parts[1] === "") {
        throw new ConfigError([
          `Invalid value ${props.renames} for configuration renames: Invalid rename mapping: ${pair}`,
        ]);
      }
      this.#renames.set(parts[0], parts[1]);
    }
  }
  #keep(name: string): boolean {
    return !this.#exclude.has(name) && (this.#include.size === 0 || this.#include.has(name));
  }
  /** Drops and renames fields. */
  apply<R extends ConnectRecord>(r: R): R | null {
    const { schema, value } = sideOf(r, this.#side);
    if (value === null) return r;
    const purpose = "field replacement";
    const obj = schema ? requireStruct(schema, value, purpose) : requireMap(value, purpose);
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(obj)) {
      if (this.#keep(k)) out[this.#renames.get(k) ?? k] = v;
    }
    if (!schema) return withSide(r, this.#side, null, out);
    const fields = (schema.fields ?? []).filter((f) => this.#keep(f.field)).map((f) => ({
      ...f,
      field: this.#renames.get(f.field) ?? f.field,
    }));
    return withSide(r, this.#side, { ...schema, fields }, out);
  }
}

/** Kafka's `RegexRouter`: a topic matching `regex` (whole name) becomes `replacement`. */
export class RegexRouter implements Transformation {
  #regex: RegExp;
  #replacement: string;
  /**
   * Creates the transform.
   *
   * @param props `regex` and `replacement` (`$1` refers to a group).
   * @throws {ConfigError} On a missing or invalid regex or a missing replacement.
   */
  constructor(props: Record<string, string>) {
    const errors: string[] = [];
    for (const k of ["regex", "replacement"]) {
      if (props[k] === undefined) {
        errors.push(`Missing required configuration "${k}" which has no default value.`);
      }
    }
    if (errors.length) throw new ConfigError(errors);
    try {
      this.#regex = new RegExp(`^(?:${props.regex})$`);
    } catch (e) {
      throw new ConfigError([
        `Invalid value ${props.regex} for configuration regex: ${
          e instanceof Error ? e.message : e
        }`,
      ]);
    }
    this.#replacement = props.replacement;
  }
  /** Renames the topic when it matches. */
  apply<R extends ConnectRecord>(r: R): R | null {
    if (!this.#regex.test(r.topic)) return r;
    return { ...r, topic: r.topic.replace(this.#regex, this.#replacement) };
  }
}

const PACKAGE = "org.apache.kafka.connect.transforms.";

/** The transforms in the box, by short name. */
export const TRANSFORMS: Record<string, (props: Record<string, string>) => Transformation> = {
  "InsertField$Key": (p) => new InsertField("Key", p),
  "InsertField$Value": (p) => new InsertField("Value", p),
  "MaskField$Key": (p) => new MaskField("Key", p),
  "MaskField$Value": (p) => new MaskField("Value", p),
  "ReplaceField$Key": (p) => new ReplaceField("Key", p),
  "ReplaceField$Value": (p) => new ReplaceField("Value", p),
  "RegexRouter": (p) => new RegexRouter(p),
};

/**
 * One transform by Kafka class name or short name.
 *
 * @example
 * ```ts
 * import { createTransform } from "./transforms.ts";
 * const t = createTransform("org.apache.kafka.connect.transforms.RegexRouter", {
 *   regex: "(.*)-raw", replacement: "$1",
 * });
 * console.assert(t.apply({ topic: "orders-raw", key: null, value: "x" })!.topic === "orders");
 * ```
 *
 * @param type The class, e.g. `org.apache.kafka.connect.transforms.InsertField$Value`.
 * @param props Its properties (without `transforms.NAME.`).
 * @returns The transform.
 * @throws {ConfigError} On an unknown class or a bad property.
 */
export function createTransform(type: string, props: Record<string, string>): Transformation {
  const t = type.trim();
  const short = t.startsWith(PACKAGE) ? t.slice(PACKAGE.length) : t;
  const make = TRANSFORMS[short];
  if (!make) {
    throw new ConfigError([
      `Invalid value ${type} for configuration transforms type: Class ${type} could not be ` +
      `found (available: ${Object.keys(TRANSFORMS).map((n) => PACKAGE + n).join(", ")})`,
    ]);
  }
  return make(props);
}

/** A transform of a chain with what it is called and when it applies. */
export interface TransformStage {
  /** Its alias in `transforms`. */
  alias: string;
  /** Kafka's class name, e.g. `org.apache.kafka.connect.transforms.InsertField$Value`. */
  className: string;
  /** The transform; applied only where the predicate allows it. */
  transform: Transformation;
  /** `transforms.ALIAS.predicate`: the predicate deciding whether it applies, if any. */
  predicate?: Predicate;
  /** `transforms.ALIAS.negate`: apply where the predicate does not hold. */
  negate: boolean;
}

/**
 * Applies one stage: its transform if there is no predicate, or if the predicate's answer differs
 * from `negate` (Kafka's `PredicatedTransformation`); else the record passes unchanged.
 *
 * @param stage The stage.
 * @param record The record.
 * @returns The new record, or `null` to drop it.
 * @throws {Error} What the transform or predicate throws.
 */
export function applyStage<R extends ConnectRecord>(stage: TransformStage, record: R): R | null {
  if (stage.predicate && stage.predicate.test(record) === stage.negate) return record;
  return stage.transform.apply(record);
}

/**
 * The transform chain of a connector configuration as stages: `transforms=a,b`, each
 * `transforms.NAME.type` with its `transforms.NAME.*` properties, and the predicates it refers
 * to with `transforms.NAME.predicate` (declared in `predicates`) and `transforms.NAME.negate`.
 *
 * @example
 * ```ts
 * import { applyStage, transformStages } from "./transforms.ts";
 * const [stage] = transformStages({
 *   transforms: "route",
 *   "transforms.route.type": "RegexRouter",
 *   "transforms.route.regex": "(.*)",
 *   "transforms.route.replacement": "$1-copy",
 *   "transforms.route.predicate": "tomb",
 *   "transforms.route.negate": "true",
 *   predicates: "tomb",
 *   "predicates.tomb.type": "RecordIsTombstone",
 * });
 * console.assert(applyStage(stage, { topic: "t", key: null, value: 1 })!.topic === "t-copy");
 * console.assert(applyStage(stage, { topic: "t", key: null, value: null })!.topic === "t");
 * ```
 *
 * @param config The connector configuration.
 * @returns The stages in order.
 * @throws {ConfigError} Listing every problem: a missing `type`, a bad transform or predicate
 * property, a predicate not declared in `predicates`, `negate` without `predicate`.
 */
export function transformStages(config: Record<string, string>): TransformStage[] {
  const names = list(config.transforms);
  const errors: string[] = [];
  const stages: TransformStage[] = [];
  if (new Set(names).size !== names.length) {
    errors.push(
      `Invalid value ${config.transforms} for configuration transforms: Duplicate alias provided.`,
    );
  }
  let predicates = new Map<string, Predicate>();
  try {
    predicates = predicatesOf(config);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    errors.push(...e.errors);
  }
  const declared = new Set(list(config.predicates));
  for (const name of names) {
    const prefix = `transforms.${name}.`;
    const { predicate: predicateName, negate: negateText, ...props } = withPrefix(config, prefix);
    let predicate: Predicate | undefined;
    let negate = false;
    if (negateText !== undefined) {
      const t = negateText.trim().toLowerCase();
      if (predicateName === undefined) {
        errors.push(
          `Config '${prefix}negate' was provided but there is no config '${prefix}predicate' ` +
            `defining a predicate to be negated.`,
        );
      } else if (t !== "true" && t !== "false") {
        errors.push(
          `Invalid value ${negateText} for configuration ${prefix}negate: Expected value to be ` +
            `either true or false`,
        );
      }
      negate = t === "true";
    }
    if (predicateName !== undefined && predicateName.trim() !== "") {
      const p = predicateName.trim();
      if (!declared.has(p)) {
        errors.push(
          `Invalid value ${predicateName} for configuration ${prefix}predicate: no predicate ` +
            `"${p}" is declared in "predicates"${
              declared.size > 0 ? ` (declared: ${[...declared].join(", ")})` : ""
            }`,
        );
      }
      predicate = predicates.get(p);
    }
    if (!props.type) {
      errors.push(`Missing required configuration "${prefix}type" which has no default value.`);
      continue;
    }
    try {
      const transform = createTransform(props.type, props);
      const t = props.type.trim();
      stages.push({
        alias: name,
        className: t.startsWith(PACKAGE) ? t : PACKAGE + t,
        transform,
        ...(predicate ? { predicate } : {}),
        negate,
      });
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      errors.push(...e.errors.map((m) => `transforms.${name}: ${m}`));
    }
  }
  if (errors.length) throw new ConfigError(errors);
  return stages;
}

/**
 * The transform chain of a connector configuration: `transforms=a,b` and each
 * `transforms.NAME.type` with its `transforms.NAME.*` properties; a transform with a
 * `predicate` applies only to the records it selects (see {@linkcode transformStages}).
 *
 * @example
 * ```ts
 * import { transformChain } from "./transforms.ts";
 * const chain = transformChain({
 *   transforms: "route",
 *   "transforms.route.type": "RegexRouter",
 *   "transforms.route.regex": "a",
 *   "transforms.route.replacement": "b",
 * });
 * console.assert(chain.length === 1);
 * ```
 *
 * @param config The connector configuration.
 * @returns The transforms in order.
 * @throws {ConfigError} On a missing `type`, a bad transform or predicate property.
 */
export function transformChain(config: Record<string, string>): Transformation[] {
  return transformStages(config).map((stage) =>
    stage.predicate
      ? { apply: <R extends ConnectRecord>(r: R): R | null => applyStage(stage, r) }
      : stage.transform
  );
}

/**
 * Runs a record through a chain.
 *
 * @param chain The transforms.
 * @param record The record.
 * @returns The transformed record, or `null` when one transform dropped it.
 */
export function applyChain<R extends ConnectRecord>(chain: Transformation[], record: R): R | null {
  let r: R | null = record;
  for (const t of chain) {
    if (r === null) return null;
    r = t.apply(r);
  }
  return r;
}
