// Copyright 2026 the Sluice authors. Apache-2.0 license.

/**
 * Parser for Apache Kafka's JSON message specifications (`clients/src/main/resources/common/
 * message/*.json`): comment stripping, version ranges, field types and struct resolution. Used by
 * the codec generator and by the schema-driven round-trip tests.
 *
 * @module
 */

/** An inclusive version range; `hi` is `Infinity` for open-ended ranges such as `"3+"`. */
export interface VersionRange {
  /** Lowest version. */
  readonly lo: number;
  /** Highest version (`Infinity` when open-ended). */
  readonly hi: number;
}

/** The primitive field types of Kafka's message specs. */
export type PrimitiveType =
  | "bool"
  | "int8"
  | "int16"
  | "uint16"
  | "int32"
  | "uint32"
  | "int64"
  | "float64"
  | "string"
  | "bytes"
  | "uuid"
  | "records";

/** A field's type: a primitive, a struct, or an array of either. */
export type FieldType =
  | { readonly kind: "primitive"; readonly name: PrimitiveType }
  | { readonly kind: "struct"; readonly struct: StructSpec }
  | { readonly kind: "array"; readonly element: FieldType };

/** One field of a message or struct. */
export interface FieldSpec {
  /** Spec name, e.g. `TopicData`. */
  readonly name: string;
  /** camelCased name used in TypeScript, e.g. `topicData`. */
  readonly camel: string;
  /** The field's type. */
  readonly type: FieldType;
  /** Versions in which the field is present. */
  readonly versions: VersionRange;
  /** Versions in which the field may be null, or `null` if never. */
  readonly nullable: VersionRange | null;
  /** Versions in which the field is a tagged field, or `null` if never. */
  readonly tagged: VersionRange | null;
  /** The tag, for tagged fields. */
  readonly tag: number | null;
  /** Whether the field may be silently dropped in versions that lack it. */
  readonly ignorable: boolean;
  /** The spec's `default`, if any (raw). */
  readonly defaultValue: string | number | boolean | undefined;
  /** Field-level `flexibleVersions` override (only RequestHeader.ClientId uses `"none"`). */
  readonly flexibleOverride: VersionRange | null | undefined;
  /** The spec's `about` text. */
  readonly about: string;
}

/** A struct (the element type of an array of structs, a nested struct or a common struct). */
export interface StructSpec {
  /** Spec name, e.g. `TopicProduceData`. */
  readonly name: string;
  /** Fields in wire order (mutable while parsing). */
  fields: FieldSpec[];
}

/** One parsed spec file. */
export interface MessageSpec {
  /** Message name, e.g. `ProduceRequest`. */
  readonly name: string;
  /** `request`, `response`, `header` or `data`. */
  readonly type: string;
  /** API key (-1 for headers and data). */
  readonly apiKey: number;
  /** Supported versions. */
  readonly valid: VersionRange;
  /** Flexible versions, or `null` if never flexible. */
  readonly flexible: VersionRange | null;
  /** Top-level fields. */
  readonly fields: FieldSpec[];
  /** Every struct used by the message, in first-use order (depth-first). */
  readonly structs: StructSpec[];
  /** The file name the spec came from. */
  readonly file: string;
  /** Whether the highest version is still under development (not to be advertised). */
  readonly latestVersionUnstable: boolean;
}

const PRIMITIVES = new Set<string>([
  "bool",
  "int8",
  "int16",
  "uint16",
  "int32",
  "uint32",
  "int64",
  "float64",
  "string",
  "bytes",
  "uuid",
  "records",
]);

/**
 * Removes `//` line comments from a spec file (the specs only use whole-line or trailing
 * comments outside strings).
 *
 * @param text The file contents.
 * @returns Plain JSON.
 */
export function stripComments(text: string): string {
  const out: string[] = [];
  for (const line of text.split("\n")) {
    let inString = false;
    let cut = line.length;
    for (let i = 0; i < line.length; i++) {
      const c = line[i];
      if (c === "\\" && inString) {
        i++;
      } else if (c === '"') {
        inString = !inString;
      } else if (!inString && c === "/" && line[i + 1] === "/") {
        cut = i;
        break;
      }
    }
    out.push(line.slice(0, cut));
  }
  return out.join("\n");
}

/**
 * Parses a version spec: `"3+"`, `"0-2"`, `"5"` or `"none"`.
 *
 * @param s The spec string.
 * @returns The range, or `null` for `"none"`.
 * @throws {Error} On malformed input.
 */
export function parseVersions(s: string): VersionRange | null {
  const t = s.trim();
  if (t === "none") return null;
  let m = /^(\d+)\+$/.exec(t);
  if (m) return { lo: Number(m[1]), hi: Infinity };
  m = /^(\d+)-(\d+)$/.exec(t);
  if (m) return { lo: Number(m[1]), hi: Number(m[2]) };
  m = /^(\d+)$/.exec(t);
  if (m) return { lo: Number(m[1]), hi: Number(m[1]) };
  throw new Error(`invalid version range: ${JSON.stringify(s)}`);
}

/**
 * Whether `v` lies in `range`.
 *
 * @param range A range or `null` (empty).
 * @param v A version.
 * @returns `true` if `v` is in the range.
 */
export function inRange(range: VersionRange | null | undefined, v: number): boolean {
  return !!range && v >= range.lo && v <= range.hi;
}

/**
 * Lower-cases the first character: `TopicData` → `topicData`.
 *
 * @param name A spec field name.
 * @returns The camelCased name.
 */
export function camelCase(name: string): string {
  return name[0].toLowerCase() + name.slice(1);
}

/**
 * `FindCoordinator` → `find_coordinator`.
 *
 * @param name A PascalCase name.
 * @returns The snake_case name.
 */
export function snakeCase(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .replace(/([A-Z])([A-Z][a-z])/g, "$1_$2")
    .toLowerCase();
}

// deno-lint-ignore no-explicit-any
type Json = any;

/**
 * Parses one spec file.
 *
 * @param file The file name (for messages).
 * @param text The file contents.
 * @returns The parsed message.
 * @throws {Error} On an unknown type or an unresolved struct.
 */
export function parseSpec(file: string, text: string): MessageSpec {
  const json: Json = JSON.parse(stripComments(text));
  const structs: StructSpec[] = [];
  const byName = new Map<string, StructSpec>();
  const common = new Map<string, Json>();
  for (const cs of json.commonStructs ?? []) common.set(cs.name, cs);

  const structFor = (name: string, fields: Json[] | undefined): StructSpec => {
    let s = byName.get(name);
    if (s) {
      if (fields) throw new Error(`${file}: struct ${name} defined twice`);
      return s;
    }
    let src = fields;
    if (!src) {
      const cs = common.get(name);
      if (!cs) throw new Error(`${file}: unknown struct type ${name}`);
      src = cs.fields;
    }
    s = { name, fields: [] };
    byName.set(name, s);
    structs.push(s);
    s.fields = src!.map(parseField);
    return s;
  };

  const parseType = (t: string, fields: Json[] | undefined): FieldType => {
    if (t.startsWith("[]")) return { kind: "array", element: parseType(t.slice(2), fields) };
    if (PRIMITIVES.has(t)) return { kind: "primitive", name: t as PrimitiveType };
    if (!/^[A-Z]/.test(t)) throw new Error(`${file}: unknown type ${t}`);
    return { kind: "struct", struct: structFor(t, fields) };
  };

  function parseField(f: Json): FieldSpec {
    const versions = parseVersions(String(f.versions));
    if (!versions) throw new Error(`${file}: field ${f.name} has no versions`);
    return {
      name: f.name,
      camel: camelCase(f.name),
      type: parseType(f.type, f.fields),
      versions,
      nullable: f.nullableVersions ? parseVersions(String(f.nullableVersions)) : null,
      tagged: f.taggedVersions ? parseVersions(String(f.taggedVersions)) : null,
      tag: f.tag === undefined ? null : Number(f.tag),
      ignorable: f.ignorable === true,
      defaultValue: f.default,
      flexibleOverride: f.flexibleVersions === undefined
        ? undefined
        : parseVersions(String(f.flexibleVersions)),
      about: f.about ?? "",
    };
  }

  const fields = (json.fields as Json[]).map(parseField);
  const valid = parseVersions(String(json.validVersions));
  if (!valid) throw new Error(`${file}: no valid versions`);
  return {
    name: json.name,
    type: json.type,
    apiKey: json.apiKey ?? -1,
    valid,
    flexible: parseVersions(String(json.flexibleVersions ?? "none")),
    fields,
    structs,
    file,
    latestVersionUnstable: json.latestVersionUnstable === true,
  };
}

/**
 * Reads and parses every `*.json` spec in a directory, sorted by file name.
 *
 * @param dir The directory (path or file URL).
 * @returns The parsed specs with the raw bytes of each file.
 * @throws {Error} If the directory cannot be read or a spec is malformed.
 */
export async function loadSpecs(
  dir: string | URL,
): Promise<{ spec: MessageSpec; bytes: Uint8Array }[]> {
  const base = typeof dir === "string" ? dir.replace(/\/?$/, "/") : dir.href.replace(/\/?$/, "/");
  const names: string[] = [];
  for await (const e of Deno.readDir(typeof dir === "string" ? dir : new URL(base))) {
    if (e.isFile && e.name.endsWith(".json")) names.push(e.name);
  }
  names.sort();
  const out: { spec: MessageSpec; bytes: Uint8Array }[] = [];
  for (const name of names) {
    const path = typeof dir === "string" ? base + name : new URL(name, base);
    const bytes = await Deno.readFile(path);
    try {
      out.push({ spec: parseSpec(name, new TextDecoder().decode(bytes)), bytes });
    } catch (e) {
      throw new Error(`cannot parse spec ${name}: ${(e as Error).message}`);
    }
  }
  return out;
}
