// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * Connect's data model: schemas in the JSON form Kafka's `JsonConverter` writes
 * (`{"type":"struct","fields":[{"field":"id","type":"int32"}]}`), values as plain JavaScript
 * (structs and maps are objects, bytes are `Uint8Array`), and the records that flow between
 * tasks, transforms and converters.
 *
 * @module
 */

/** A Connect schema type, as Kafka's `Schema.Type` in lower case. */
export type SchemaType =
  | "int8"
  | "int16"
  | "int32"
  | "int64"
  | "float32"
  | "float64"
  | "boolean"
  | "string"
  | "bytes"
  | "array"
  | "map"
  | "struct";

/** A schema, in the JSON form of Kafka's `JsonConverter` (`schemas.enable=true`). */
export interface Schema {
  /** The type. */
  type: SchemaType;
  /** Whether `null` is a valid value. Default false. */
  optional?: boolean;
  /** Logical name, e.g. `org.apache.kafka.connect.data.Timestamp`. */
  name?: string;
  /** Version. */
  version?: number;
  /** Documentation. */
  doc?: string;
  /** Parameters. */
  parameters?: Record<string, string>;
  /** Default value. */
  default?: unknown;
  /** A struct's fields. */
  fields?: Field[];
  /** An array's element schema. */
  items?: Schema;
  /** A map's key schema. */
  keys?: Schema;
  /** A map's value schema. */
  values?: Schema;
}

/** A struct field: a schema plus its name (`field`, as Kafka's JSON form has it). */
export interface Field extends Schema {
  /** Field name. */
  field: string;
}

/** A record header. */
export interface ConnectHeader {
  /** Header key. */
  key: string;
  /** Header value (bytes as consumed, or what a task set). */
  value: Uint8Array | string | null;
}

/** What source and sink records share (Kafka's `ConnectRecord`). */
export interface ConnectRecord {
  /** Topic. */
  topic: string;
  /** Kafka partition, or `null` to let the producer choose. */
  kafkaPartition?: number | null;
  /** Key schema, or `null` for schemaless data. */
  keySchema?: Schema | null;
  /** Key. */
  key: unknown;
  /** Value schema, or `null` for schemaless data. */
  valueSchema?: Schema | null;
  /** Value; `null` is a tombstone. */
  value: unknown;
  /** Timestamp in milliseconds, or `null`. */
  timestamp?: number | null;
  /** Headers. */
  headers?: ConnectHeader[];
}

/** A record a source task read (Kafka's `SourceRecord`). */
export interface SourceRecord extends ConnectRecord {
  /** Where it came from, e.g. `{ filename: "/tmp/in.txt" }`. */
  sourcePartition: Record<string, unknown>;
  /** How far that source had been read, e.g. `{ position: 1234 }`. */
  sourceOffset: Record<string, unknown>;
}

/** A record a sink task receives (Kafka's `SinkRecord`). */
export interface SinkRecord extends ConnectRecord {
  /** Kafka partition. */
  kafkaPartition: number;
  /** Kafka offset. */
  kafkaOffset: number;
  /** Timestamp in milliseconds. */
  timestamp: number;
}

/** Kafka's `Schema.STRING_SCHEMA`. */
export const STRING_SCHEMA: Schema = { type: "string", optional: false };
/** Kafka's `Schema.OPTIONAL_STRING_SCHEMA`. */
export const OPTIONAL_STRING_SCHEMA: Schema = { type: "string", optional: true };

/**
 * The field of a struct schema, or `undefined`.
 *
 * @param schema A struct schema.
 * @param name The field name.
 * @returns The field.
 */
export function fieldOf(schema: Schema, name: string): Field | undefined {
  return schema.fields?.find((f) => f.field === name);
}

/**
 * Whether `value` is a struct or map value (a plain object).
 *
 * @param value Any value.
 * @returns True for a non-null object that is not an array or bytes.
 */
export function isObjectValue(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) &&
    !(value instanceof Uint8Array);
}
