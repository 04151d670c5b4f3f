// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * Where source offsets are kept: {@linkcode FileOffsetStore} for standalone mode (Kafka's
 * `offset.storage.file.filename`; here a JSON file written atomically, not Java serialization)
 * and {@linkcode TopicOffsetStore} for distributed mode (`offset.storage.topic`, compacted, keys
 * `["connector",{partition}]` and values `{offset}` as JSON, the layout Kafka Connect writes).
 *
 * @module
 */

import { isObjectValue } from "./data.ts";
import type { Client } from "../client/client.ts";
import { Producer } from "../client/producer.ts";
import { readTopicToEnd } from "./topic_reader.ts";

/** A source offset to store. */
export interface OffsetEntry {
  /** Connector name. */
  connector: string;
  /** Source partition. */
  partition: Record<string, unknown>;
  /** Source offset (`null` removes it). */
  offset: Record<string, unknown> | null;
}

/** Stores source offsets. */
export interface OffsetStore {
  /** Loads what was stored. */
  start(): Promise<void>;
  /** Reads again what other workers stored (distributed mode); a no-op in a file. */
  refresh(): Promise<void>;
  /**
   * The stored offset of a source partition.
   *
   * @param connector Connector name.
   * @param partition Source partition.
   * @returns The offset, or `null`.
   */
  get(connector: string, partition: Record<string, unknown>): Record<string, unknown> | null;
  /**
   * Stores offsets durably (returns once they are written).
   *
   * @param entries The offsets.
   */
  set(entries: OffsetEntry[]): Promise<void>;
  /** Releases resources. */
  stop(): Promise<void>;
}

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (isObjectValue(value)) {
    return Object.fromEntries(
      Object.keys(value).sort().map((k) => [k, canonical(value[k])]),
    );
  }
  return value;
}

/**
 * The key an offset is stored under: `["connector",{partition}]` as JSON, the partition's keys
 * sorted.
 *
 * @example
 * ```ts
 * import { offsetKey } from "./offset_store.ts";
 * console.assert(offsetKey("c", { b: 1, a: "x" }) === '["c",{"a":"x","b":1}]');
 * ```
 *
 * @param connector Connector name.
 * @param partition Source partition.
 * @returns The key.
 */
export function offsetKey(connector: string, partition: Record<string, unknown>): string {
  return JSON.stringify([connector, canonical(partition)]);
}

/** Offsets in a local JSON file (standalone mode), replaced atomically on every store. */
export class FileOffsetStore implements OffsetStore {
  #path: string;
  #data = new Map<string, Record<string, unknown>>();
  #writing: Promise<void> = Promise.resolve();

  /**
   * Creates the store.
   *
   * @param path `offset.storage.file.filename`.
   */
  constructor(path: string) {
    this.#path = path;
  }

  /**
   * Loads the file (absent: no offsets).
   *
   * @throws {Error} When the file exists but is not an offsets file.
   */
  async start(): Promise<void> {
    let text: string;
    try {
      text = await Deno.readTextFile(this.#path);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return;
      throw new Error(`offset file ${this.#path}: ${e instanceof Error ? e.message : e}`);
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (e) {
      throw new Error(`offset file ${this.#path}: not JSON: ${e instanceof Error ? e.message : e}`);
    }
    if (!isObjectValue(json)) throw new Error(`offset file ${this.#path}: not a JSON object`);
    for (const [k, v] of Object.entries(json)) {
      if (isObjectValue(v)) this.#data.set(k, v);
    }
  }

  /** Nothing to do: this worker is the only writer. */
  refresh(): Promise<void> {
    return Promise.resolve();
  }

  /** The offset in memory. */
  get(connector: string, partition: Record<string, unknown>): Record<string, unknown> | null {
    return this.#data.get(offsetKey(connector, partition)) ?? null;
  }

  /** Updates memory, then writes the whole file (temp file, fsync, rename). */
  set(entries: OffsetEntry[]): Promise<void> {
    for (const e of entries) {
      const k = offsetKey(e.connector, e.partition);
      if (e.offset === null) this.#data.delete(k);
      else this.#data.set(k, e.offset);
    }
    const snapshot = JSON.stringify(Object.fromEntries(this.#data));
    const write = this.#writing.then(async () => {
      const tmp = `${this.#path}.tmp`;
      const f = await Deno.open(tmp, { write: true, create: true, truncate: true });
      try {
        const bytes = new TextEncoder().encode(snapshot);
        let off = 0;
        while (off < bytes.length) off += await f.write(bytes.subarray(off));
        await f.sync();
      } finally {
        f.close();
      }
      await Deno.rename(tmp, this.#path);
    });
    this.#writing = write.catch(() => {});
    return write;
  }

  /** Waits for the last write. */
  async stop(): Promise<void> {
    await this.#writing;
  }
}

/** Offsets in a compacted topic (distributed mode), shared by the workers of a group. */
export class TopicOffsetStore implements OffsetStore {
  #client: Client;
  #topic: string;
  #producer: Producer;
  #data = new Map<string, Record<string, unknown>>();
  #positions = new Map<number, number>();

  /**
   * Creates the store.
   *
   * @param client The cluster client.
   * @param topic `offset.storage.topic`.
   */
  constructor(client: Client, topic: string) {
    this.#client = client;
    this.#topic = topic;
    this.#producer = new Producer(client, { lingerMs: 0 });
  }

  /** Reads the topic to its end. */
  async start(): Promise<void> {
    await this.refresh();
  }

  /** Reads what was written since the last read. */
  async refresh(): Promise<void> {
    await readTopicToEnd(this.#client, this.#topic, this.#positions, (r) => {
      if (!r.key) return;
      const k = new TextDecoder().decode(r.key);
      if (r.value === null) this.#data.delete(k);
      else {
        try {
          const v = JSON.parse(new TextDecoder().decode(r.value));
          if (isObjectValue(v)) this.#data.set(k, v);
        } catch {
          // A record that is not an offset: not ours, ignored.
        }
      }
    });
  }

  /** The offset in memory. */
  get(connector: string, partition: Record<string, unknown>): Record<string, unknown> | null {
    return this.#data.get(offsetKey(connector, partition)) ?? null;
  }

  /** Produces the offsets and waits for their acknowledgement. */
  async set(entries: OffsetEntry[]): Promise<void> {
    if (entries.length === 0) return;
    for (const e of entries) {
      const k = offsetKey(e.connector, e.partition);
      if (e.offset === null) this.#data.delete(k);
      else this.#data.set(k, e.offset);
    }
    await this.#producer.send({
      topic: this.#topic,
      messages: entries.map((e) => ({
        key: offsetKey(e.connector, e.partition),
        value: e.offset === null ? null : JSON.stringify(e.offset),
      })),
    });
  }

  /** Closes the producer. */
  async stop(): Promise<void> {
    await this.#producer.close();
  }
}
