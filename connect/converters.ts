// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * Converters between Connect data and record bytes, as Kafka's: `StringConverter`,
 * `JsonConverter` (with the `{"schema":…,"payload":…}` envelope when `schemas.enable=true`, its
 * default, or plain JSON) and `ByteArrayConverter`. {@linkcode createConverter} accepts Kafka's
 * class names and short names.
 *
 * @module
 */

import { DataException } from "./api.ts";
import { isObjectValue, type Schema } from "./data.ts";

/** Connect data: a schema (or `null`) and a value. */
export interface SchemaAndValue {
  /** Schema, or `null` for schemaless data. */
  schema: Schema | null;
  /** Value. */
  value: unknown;
}

/** A converter (Kafka's `Converter`). */
export interface Converter {
  /**
   * Serializes a key or value.
   *
   * @param topic The record's topic.
   * @param schema Its schema, or `null`.
   * @param value The value.
   * @returns The bytes, or `null` (a null key or a tombstone).
   * @throws {Error} When the value cannot be represented.
   */
  fromConnectData(topic: string, schema: Schema | null | undefined, value: unknown):
    | Uint8Array
    | null;
  /**
   * Deserializes a key or value.
   *
   * @param topic The record's topic.
   * @param bytes The bytes, or `null`.
   * @returns Schema and value.
   * @throws {Error} When the bytes are not what the converter expects.
   */
  toConnectData(topic: string, bytes: Uint8Array | null): SchemaAndValue;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: false });

/** Kafka's `org.apache.kafka.connect.storage.StringConverter`. */
export class StringConverter implements Converter {
  /** Serializes `String(value)` as UTF-8. */
  fromConnectData(
    _topic: string,
    _schema: Schema | null | undefined,
    value: unknown,
  ): Uint8Array | null {
    if (value === null || value === undefined) return null;
    if (value instanceof Uint8Array) return value;
    return encoder.encode(isObjectValue(value) ? JSON.stringify(value) : String(value));
  }
  /** An optional string. */
  toConnectData(_topic: string, bytes: Uint8Array | null): SchemaAndValue {
    return {
      schema: { type: "string", optional: true },
      value: bytes === null ? null : decoder.decode(bytes),
    };
  }
}

/** Kafka's `org.apache.kafka.connect.converters.ByteArrayConverter`. */
export class ByteArrayConverter implements Converter {
  /** Passes bytes through; a string is encoded as UTF-8. */
  fromConnectData(
    topic: string,
    _schema: Schema | null | undefined,
    value: unknown,
  ): Uint8Array | null {
    if (value === null || value === undefined) return null;
    if (value instanceof Uint8Array) return value;
    if (typeof value === "string") return encoder.encode(value);
    throw new DataException(
      `ByteArrayConverter: topic ${topic}: value is not bytes (${typeof value})`,
    );
  }
  /** Optional bytes. */
  toConnectData(_topic: string, bytes: Uint8Array | null): SchemaAndValue {
    return { schema: { type: "bytes", optional: true }, value: bytes };
  }
}

function toBase64(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i += 0x8000) {
    s += String.fromCharCode(...b.subarray(i, i + 0x8000));
  }
  return btoa(s);
}

function fromBase64(s: string): Uint8Array {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** A value as JSON, bytes as base64 (what Kafka's JsonConverter writes). */
function toJson(schema: Schema | null | undefined, value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (value instanceof Uint8Array) return toBase64(value);
  if (value instanceof Date) return value.getTime();
  if (typeof value === "bigint") return Number(value);
  if (Array.isArray(value)) return value.map((v) => toJson(schema?.items, v));
  if (isObjectValue(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const f = schema?.type === "struct"
        ? schema.fields?.find((x) => x.field === k)
        : schema?.values;
      out[k] = toJson(f, v);
    }
    return out;
  }
  return value;
}

/** JSON back to a value: base64 back to bytes where the schema says bytes. */
function fromJson(schema: Schema | null | undefined, value: unknown): unknown {
  if (value === null || value === undefined || !schema) return value ?? null;
  switch (schema.type) {
    case "bytes":
      if (typeof value !== "string") {
        throw new DataException("JsonConverter: bytes value is not base64 text");
      }
      return fromBase64(value);
    case "array":
      return Array.isArray(value) ? value.map((v) => fromJson(schema.items, v)) : value;
    case "map":
      if (!isObjectValue(value)) return value;
      return Object.fromEntries(
        Object.entries(value).map(([k, v]) => [k, fromJson(schema.values, v)]),
      );
    case "struct": {
      if (!isObjectValue(value)) {
        throw new DataException(`JsonConverter: struct value is not a JSON object`);
      }
      const out: Record<string, unknown> = {};
      for (const f of schema.fields ?? []) out[f.field] = fromJson(f, value[f.field] ?? null);
      return out;
    }
    default:
      return value;
  }
}

/** Options of {@linkcode JsonConverter}. */
export interface JsonConverterOptions {
  /** `schemas.enable`: write and expect the schema envelope. Default true (Kafka's). */
  schemasEnable?: boolean;
}

/** Kafka's `org.apache.kafka.connect.json.JsonConverter`. */
export class JsonConverter implements Converter {
  /** Whether the `{"schema","payload"}` envelope is used. */
  readonly schemasEnable: boolean;
  /**
   * Creates the converter.
   *
   * @param options `schemas.enable`.
   */
  constructor(options: JsonConverterOptions = {}) {
    this.schemasEnable = options.schemasEnable ?? true;
  }
  /** JSON text, in the envelope when `schemas.enable`. */
  fromConnectData(
    _topic: string,
    schema: Schema | null | undefined,
    value: unknown,
  ): Uint8Array | null {
    if ((schema === null || schema === undefined) && (value === null || value === undefined)) {
      return null;
    }
    const payload = toJson(schema, value);
    const json = this.schemasEnable ? { schema: schema ?? null, payload } : payload;
    return encoder.encode(JSON.stringify(json));
  }
  /** Parses JSON; with `schemas.enable` the envelope is required. */
  toConnectData(topic: string, bytes: Uint8Array | null): SchemaAndValue {
    if (bytes === null) return { schema: null, value: null };
    let json: unknown;
    try {
      json = JSON.parse(decoder.decode(bytes));
    } catch (e) {
      throw new DataException(
        `Converting byte[] to Kafka Connect data failed due to serialization error of topic ` +
          `${topic}: ${e instanceof Error ? e.message : e}`,
      );
    }
    if (!this.schemasEnable) return { schema: null, value: json };
    if (
      !isObjectValue(json) || !("schema" in json) || !("payload" in json) ||
      Object.keys(json).length !== 2
    ) {
      throw new DataException(
        `JsonConverter with schemas.enable requires "schema" and "payload" fields and may not ` +
          `contain additional fields. If you are trying to deserialize plain JSON data, set ` +
          `schemas.enable=false in your converter configuration.`,
      );
    }
    const schema = json.schema as Schema | null;
    return { schema, value: fromJson(schema, json.payload) };
  }
}

const CONVERTERS: Record<string, (props: Record<string, string>) => Converter> = {
  StringConverter: () => new StringConverter(),
  ByteArrayConverter: () => new ByteArrayConverter(),
  JsonConverter: (props) =>
    new JsonConverter({ schemasEnable: (props["schemas.enable"] ?? "true").trim() !== "false" }),
};

/** Kafka's class names of the converters. */
export const CONVERTER_CLASSES: Record<string, string> = {
  StringConverter: "org.apache.kafka.connect.storage.StringConverter",
  ByteArrayConverter: "org.apache.kafka.connect.converters.ByteArrayConverter",
  JsonConverter: "org.apache.kafka.connect.json.JsonConverter",
};

/**
 * A converter by Kafka class name (`org.apache.kafka.connect.json.JsonConverter`) or short name
 * (`JsonConverter`), configured with its properties (`schemas.enable`).
 *
 * @example
 * ```ts
 * import { createConverter } from "./converters.ts";
 * const c = createConverter("org.apache.kafka.connect.json.JsonConverter", { "schemas.enable": "false" });
 * console.assert(new TextDecoder().decode(c.fromConnectData("t", null, { a: 1 })!) === '{"a":1}');
 * ```
 *
 * @param className The class.
 * @param props The converter's properties (without the `key.converter.` prefix).
 * @returns The converter.
 * @throws {RangeError} On an unknown class.
 */
export function createConverter(className: string, props: Record<string, string> = {}): Converter {
  const short = className.trim().split(".").pop()!;
  const make = CONVERTERS[short];
  if (!make || (className.includes(".") && CONVERTER_CLASSES[short] !== className.trim())) {
    throw new RangeError(
      `Invalid value ${className} for configuration converter: Class ${className} could not be ` +
        `found (available: ${Object.values(CONVERTER_CLASSES).join(", ")})`,
    );
  }
  return make(props);
}
