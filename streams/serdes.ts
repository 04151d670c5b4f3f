// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * Serdes: how keys and values of a Streams topology turn into record bytes and back, with the
 * same byte layouts as Kafka's built-in serdes (strings UTF-8, numbers big-endian, JSON as UTF-8
 * text), so a Java or librdkafka application reads what a topology writes.
 *
 * @module
 */

/**
 * A serializer and deserializer of one type. `null` (a tombstone, or a record without a key)
 * passes through both ways as `null`.
 *
 * @typeParam T The type serialized.
 */
export interface Serde<T> {
  /** A name for error messages, e.g. `string`. */
  readonly name: string;
  /**
   * Turns a value into bytes.
   *
   * @param value The value, or `null`.
   * @returns Its bytes, or `null` for `null`.
   */
  serialize(value: T | null): Uint8Array | null;
  /**
   * Turns bytes back into a value.
   *
   * @param data The bytes, or `null`.
   * @returns The value, or `null` for `null`.
   * @throws {SerdeError} When the bytes do not hold a value of this type.
   */
  deserialize(data: Uint8Array | null): T | null;
}

/** Bytes that a {@linkcode Serde} could not read. */
export class SerdeError extends Error {
  /**
   * Creates the error.
   *
   * @param message What failed and why.
   */
  constructor(message: string) {
    super(message);
    this.name = "SerdeError";
  }
}

import { decodeUtf8 } from "../records/utf8.ts";

const encoder = new TextEncoder();

function fixed(name: string, size: number, data: Uint8Array): DataView {
  if (data.length !== size) {
    throw new SerdeError(`deserialize ${name}: expected ${size} bytes, got ${data.length}`);
  }
  return new DataView(data.buffer, data.byteOffset, size);
}

const STRING: Serde<string> = {
  name: "string",
  serialize: (v) => v === null ? null : encoder.encode(v),
  deserialize: (d) => {
    if (d === null) return null;
    try {
      return decodeUtf8(d);
    } catch {
      throw new SerdeError("deserialize string: the bytes are not valid UTF-8");
    }
  },
};

const BYTES: Serde<Uint8Array> = {
  name: "bytes",
  serialize: (v) => v,
  deserialize: (d) => d,
};

const INT32: Serde<number> = {
  name: "int32",
  serialize: (v) => {
    if (v === null) return null;
    if (!Number.isInteger(v) || v < -2147483648 || v > 2147483647) {
      throw new RangeError(`serialize int32: ${v} is not a 32-bit integer`);
    }
    const out = new Uint8Array(4);
    new DataView(out.buffer).setInt32(0, v);
    return out;
  },
  deserialize: (d) => d === null ? null : fixed("int32", 4, d).getInt32(0),
};

const INT64: Serde<number> = {
  name: "int64",
  serialize: (v) => {
    if (v === null) return null;
    if (!Number.isSafeInteger(v)) {
      throw new RangeError(`serialize int64: ${v} is not a safe integer`);
    }
    const out = new Uint8Array(8);
    new DataView(out.buffer).setBigInt64(0, BigInt(v));
    return out;
  },
  deserialize: (d) => {
    if (d === null) return null;
    const n = fixed("int64", 8, d).getBigInt64(0);
    if (n > BigInt(Number.MAX_SAFE_INTEGER) || n < BigInt(Number.MIN_SAFE_INTEGER)) {
      throw new SerdeError(`deserialize int64: ${n} is beyond a safe integer`);
    }
    return Number(n);
  },
};

const FLOAT64: Serde<number> = {
  name: "float64",
  serialize: (v) => {
    if (v === null) return null;
    const out = new Uint8Array(8);
    new DataView(out.buffer).setFloat64(0, v);
    return out;
  },
  deserialize: (d) => d === null ? null : fixed("float64", 8, d).getFloat64(0),
};

function json<T>(): Serde<T> {
  return {
    name: "json",
    serialize: (v) => v === null ? null : encoder.encode(JSON.stringify(v)),
    deserialize: (d) => {
      if (d === null) return null;
      let text: string;
      try {
        text = decodeUtf8(d);
      } catch {
        throw new SerdeError("deserialize json: the bytes are not valid UTF-8");
      }
      try {
        return JSON.parse(text) as T;
      } catch (e) {
        throw new SerdeError(`deserialize json: ${(e as Error).message}`);
      }
    },
  };
}

/**
 * Whether `serde` is the built-in string serde, whose bytes are a string's UTF-8 as the producer
 * writes a text key or value: a sink then hands the producer the string itself (written into the
 * batch in place) rather than its serialized copy. Internal to `streams/`.
 *
 * @param serde A serde.
 * @returns `true` for {@linkcode Serdes.String}'s.
 */
export function isStringSerde(serde: Serde<unknown>): boolean {
  return serde === STRING;
}

/**
 * The built-in serdes, named as Kafka's `Serdes` factory methods.
 *
 * @example Round trips
 * ```ts
 * import { Serdes } from "./serdes.ts";
 * const long = Serdes.Int64();
 * console.assert(long.deserialize(long.serialize(42)) === 42);
 * const json = Serdes.Json<{ n: number }>();
 * console.assert(json.deserialize(json.serialize({ n: 1 }))!.n === 1);
 * ```
 */
export const Serdes = {
  /** UTF-8 strings (Kafka's `StringSerde`). */
  String: (): Serde<string> => STRING,
  /** Raw bytes, unchanged (`ByteArraySerde`). */
  Bytes: (): Serde<Uint8Array> => BYTES,
  /** 32-bit big-endian integers (`IntegerSerde`). */
  Int32: (): Serde<number> => INT32,
  /** 64-bit big-endian integers as safe JavaScript integers (`LongSerde`). */
  Int64: (): Serde<number> => INT64,
  /** 64-bit IEEE 754 big-endian floats (`DoubleSerde`). */
  Float64: (): Serde<number> => FLOAT64,
  /** Any JSON value as UTF-8 JSON text. */
  Json: <T>(): Serde<T> => json<T>(),
} as const;
