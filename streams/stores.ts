// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * State stores: the key-value maps a task's aggregations, tables and joins keep, in memory or
 * on disk, each backed by a compacted changelog topic. A store holds bytes (serialized keys and
 * values, ordered by key bytes as Kafka's RocksDB stores are); it collects the keys written
 * since the last commit so the runtime writes each one once to the changelog, and tracks the
 * changelog offset its contents reflect, so a task that moves restores only what it misses.
 *
 * The on-disk format (a store directory under `stateDir/<applicationId>/<task>/<store>`) is an
 * append-only log of `[u32 key length][key][i32 value length, -1 for a deletion][value]`
 * entries in a file `<generation>.log`, and a `checkpoint` file naming the log, its valid
 * length and the changelog offset it reflects (written by rename after the log is synced). The
 * log is appended only after a commit, so it never holds uncommitted state; a crash loses at
 * most what the changelog restores. When a log has grown past four times its live entries the
 * next commit writes a compacted one under a new generation.
 *
 * Window, session and join stores may have a retention period (Kafka's segmented stores): each
 * entry belongs to a time segment (by window start, session end or record time, in
 * `segmentIntervalMs` slices), and once the store's time passes an entry's time plus the
 * retention, reads no longer see it and its whole segment is dropped when the segment's last
 * millisecond has expired. The store's time is the latest entry time written to it (Kafka's
 * `observedStreamTime` of a segmented store), not the task's stream time: records of other
 * topics of the task, or a window aggregation's record whose window starts earlier, do not
 * expire what a join or an interactive query still reads there. Dropped entries are not written to the changelog (its `delete`
 * policy forgets them); the on-disk log loses them at its next compaction, and the checkpoint
 * records the stream time so a reopened store skips them.
 *
 * @module
 */

import type { Serde } from "./serdes.ts";
import type { Window, Windowed } from "./windows.ts";

/** One entry of a store. */
export interface StoreEntry {
  /** Key bytes. */
  key: Uint8Array;
  /** Value bytes. */
  value: Uint8Array;
  /** Stream time when it was last written (the changelog record's timestamp). */
  timestamp: number;
}

/** A string whose UTF-16 units are the bytes: a Map key that sorts as the bytes do. */
export function bytesKey(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i += 4096) {
    s += String.fromCharCode.apply(null, b.subarray(i, i + 4096) as unknown as number[]);
  }
  return s;
}

/** How a store's keys are laid out: plain, or an inner key followed by a fixed suffix. */
export type StoreKind = "kv" | "window" | "session" | "join";

/** Bytes after the inner key, per kind. */
export const KEY_SUFFIX: Record<StoreKind, number> = { kv: 0, window: 8, session: 16, join: 12 };

/** Kafka's segment interval of a segmented store: half the retention, at least a minute. */
export function segmentIntervalFor(retentionMs: number): number {
  return Math.max(Math.floor(retentionMs / 2), 60_000);
}

/**
 * A task's store, by bytes. Writes are remembered for the changelog (latest per key) and, when
 * persistent, for the on-disk log.
 */
export class BytesStore {
  /** The store name. */
  readonly name: string;
  /** Key layout. */
  readonly kind: StoreKind;
  /** The directory of an on-disk store, or `undefined` in memory. */
  readonly dir: string | undefined;
  /** The changelog offset up to which this store's contents are known (next to read). */
  position = 0;
  /**
   * The highest timestamp of a value written or restored (deletions do not count); kept in
   * the on-disk checkpoint. A windowed or session aggregation writes with the time it has
   * seen, so after a restore this is where that time resumes.
   */
  maxTimestamp = -1;
  /**
   * Counts the changelog records restored and the wipes: a processor that keeps a summary of
   * the store (a stream–stream outer join's earliest waiting record) recomputes it when this
   * moved under it.
   */
  restores = 0;
  #map = new Map<string, StoreEntry>();
  /** Inner key → full keys, for window, session and join stores. */
  #index: Map<string, Set<string>> | undefined;
  #dirty = new Map<string, StoreEntry | Uint8Array>();
  #unpersisted = new Map<string, StoreEntry | Uint8Array>();
  #logFile: Deno.FsFile | undefined;
  #generation = 0;
  #logBytes = 0;
  #liveBytes = 0;
  /** Retention of a window, session or join store; `undefined` keeps entries forever. */
  readonly retentionMs: number | undefined;
  /** Width of a time segment (with a retention). */
  readonly segmentIntervalMs: number;
  /** Segment id → keys, with a retention. */
  #segments = new Map<number, Set<string>>();
  /** The stream time expiry is measured from. */
  #observed = -1;
  /** The oldest segment still kept (the segments below it are dropped). */
  #minLiveSegment = -Infinity;

  /**
   * Creates an empty store (an on-disk one is loaded by {@linkcode BytesStore.open}).
   *
   * @param name Store name.
   * @param kind Key layout.
   * @param dir Directory of an on-disk store; in memory when absent.
   * @param retentionMs Retention of a window, session or join store (no expiry when absent).
   * @param segmentIntervalMs Segment width; default Kafka's, {@linkcode segmentIntervalFor}.
   * @throws {RangeError} If a retention is given for a key-value store or is not positive.
   */
  constructor(
    name: string,
    kind: StoreKind,
    dir?: string,
    retentionMs?: number,
    segmentIntervalMs?: number,
  ) {
    this.name = name;
    this.kind = kind;
    this.dir = dir;
    if (KEY_SUFFIX[kind] > 0) this.#index = new Map();
    if (retentionMs !== undefined && (kind === "kv" || !(retentionMs > 0))) {
      throw new RangeError(`store ${name}: retention ${retentionMs} ms needs a ${kind} store`);
    }
    this.retentionMs = retentionMs;
    this.segmentIntervalMs = segmentIntervalMs ??
      (retentionMs === undefined ? 0 : segmentIntervalFor(retentionMs));
  }

  /** The stream time expiry is measured from (the latest given to `advance`). */
  get observedStreamTime(): number {
    return this.#observed;
  }

  /** Earliest entry time still live: stream time minus retention plus 1 (as Kafka's). */
  #liveFrom(): number {
    return this.retentionMs === undefined ? -Infinity : this.#observed - this.retentionMs + 1;
  }

  /** The time an entry is segmented and expired by: window start, session end, record time. */
  #timeOf(key: Uint8Array): number {
    const at = key.byteOffset + key.length - KEY_SUFFIX[this.kind];
    return Number(new DataView(key.buffer, at, 8).getBigInt64(0));
  }

  #expired(key: Uint8Array): boolean {
    return this.retentionMs !== undefined && this.#timeOf(key) < this.#liveFrom();
  }

  /**
   * Moves the store's time forward and drops every segment wholly older than the retention.
   * Does nothing without a retention or when time does not advance. Writes call it with their
   * key's time; a reopened store with its checkpoint's.
   *
   * @param streamTime The store's new time.
   */
  advance(streamTime: number): void {
    if (this.retentionMs === undefined || streamTime <= this.#observed) return;
    this.#observed = streamTime;
    // Segment s holds times [s * interval, (s + 1) * interval): it is dropped once its last
    // millisecond has expired, i.e. every segment below the one holding the live start.
    const min = Math.floor(this.#liveFrom() / this.segmentIntervalMs);
    if (min <= this.#minLiveSegment) return;
    this.#minLiveSegment = min;
    for (const [id, keys] of this.#segments) {
      if (id >= min) continue;
      for (const k of keys) this.#drop(k);
      this.#segments.delete(id);
    }
  }

  /** Removes a key from the map and the inner-key index (not from the changelog). */
  #drop(k: string): boolean {
    if (!this.#map.delete(k)) return false;
    const index = this.#index;
    if (index !== undefined) {
      const inner = k.slice(0, k.length - KEY_SUFFIX[this.kind]);
      const set = index.get(inner);
      set?.delete(k);
      if (set?.size === 0) index.delete(inner);
    }
    return true;
  }

  /** Number of entries held (with a retention, including expired ones of a segment not yet
   * dropped). */
  get size(): number {
    return this.#map.size;
  }

  /**
   * The value of a key.
   *
   * @param key Key bytes.
   * @returns The entry, or `undefined`.
   */
  get(key: Uint8Array): StoreEntry | undefined {
    const e = this.#map.get(bytesKey(key));
    return e === undefined || this.#expired(e.key) ? undefined : e;
  }

  /**
   * Writes or deletes (`null`) a key. With a retention, the key's time (window start, session
   * end, record time) first moves the store's time forward ({@linkcode BytesStore.advance}); a
   * write into an expired segment is skipped.
   *
   * @param key Key bytes.
   * @param value Value bytes, or `null` to delete.
   * @param timestamp Stream time of the write.
   */
  put(key: Uint8Array, value: Uint8Array | null, timestamp: number): void {
    if (this.retentionMs !== undefined) this.advance(this.#timeOf(key));
    const k = bytesKey(key);
    this.#apply(k, key, value, timestamp);
    const change = value === null ? key : { key, value, timestamp };
    this.#dirty.set(k, change);
    if (this.dir !== undefined) this.#unpersisted.set(k, change);
  }

  #apply(k: string, key: Uint8Array, value: Uint8Array | null, timestamp: number): void {
    if (value !== null && timestamp > this.maxTimestamp) this.maxTimestamp = timestamp;
    const index = this.#index;
    const segmented = this.retentionMs !== undefined;
    if (value === null) {
      if (this.#drop(k) && segmented) {
        const id = Math.floor(this.#timeOf(key) / this.segmentIntervalMs);
        const seg = this.#segments.get(id);
        seg?.delete(k);
        if (seg?.size === 0) this.#segments.delete(id);
      }
      return;
    }
    // A write into an expired segment is skipped (Kafka's segmented stores do the same).
    if (segmented && this.#expired(key)) return;
    if (!this.#map.has(k)) {
      if (index !== undefined) {
        const inner = k.slice(0, k.length - KEY_SUFFIX[this.kind]);
        let set = index.get(inner);
        if (set === undefined) index.set(inner, set = new Set());
        set.add(k);
      }
      if (segmented) {
        const id = Math.floor(this.#timeOf(key) / this.segmentIntervalMs);
        let seg = this.#segments.get(id);
        if (seg === undefined) this.#segments.set(id, seg = new Set());
        seg.add(k);
      }
    }
    this.#map.set(k, { key, value, timestamp });
  }

  /**
   * Entries whose inner key (the key without its window suffix) is `inner`.
   *
   * @param inner Inner key bytes.
   * @returns The entries, in no particular order.
   */
  byInnerKey(inner: Uint8Array): StoreEntry[] {
    const set = this.#index?.get(bytesKey(inner));
    if (set === undefined) return [];
    const out: StoreEntry[] = [];
    for (const k of set) {
      const e = this.#map.get(k)!;
      if (!this.#expired(e.key)) out.push(e);
    }
    return out;
  }

  /**
   * Entries with `from <= key <= to` (bytes order; either bound may be absent), sorted.
   *
   * @param from Lowest key, inclusive.
   * @param to Highest key, inclusive.
   * @returns The entries.
   */
  range(from?: Uint8Array, to?: Uint8Array): StoreEntry[] {
    const lo = from === undefined ? undefined : bytesKey(from);
    const hi = to === undefined ? undefined : bytesKey(to);
    const keys: string[] = [];
    for (const k of this.#map.keys()) {
      if ((lo === undefined || k >= lo) && (hi === undefined || k <= hi)) keys.push(k);
    }
    keys.sort();
    const out: StoreEntry[] = [];
    for (const k of keys) {
      const e = this.#map.get(k)!;
      if (!this.#expired(e.key)) out.push(e);
    }
    return out;
  }

  /**
   * The writes since the last call, latest per key: entries, or key bytes for deletions.
   *
   * @returns The changes.
   */
  takeDirty(): Array<StoreEntry | Uint8Array> {
    if (this.#dirty.size === 0) return [];
    const out: Array<StoreEntry | Uint8Array> = [];
    for (const c of this.#dirty.values()) {
      // An entry that expired before its commit is not worth a changelog record.
      if (c instanceof Uint8Array || !this.#expired(c.key)) out.push(c);
    }
    this.#dirty.clear();
    return out;
  }

  /**
   * Applies a changelog record while restoring.
   *
   * @param key Key bytes.
   * @param value Value bytes or `null`.
   * @param timestamp The record's timestamp.
   */
  restore(key: Uint8Array, value: Uint8Array | null, timestamp: number): void {
    // The store's time follows the entries written, as it did when they were: a window the
    // changelog still holds but that had expired is not brought back.
    if (this.retentionMs !== undefined) this.advance(this.#timeOf(key));
    this.restores++;
    const k = bytesKey(key);
    this.#apply(k, key, value, timestamp);
    if (this.dir !== undefined) {
      this.#unpersisted.set(k, value === null ? key : { key, value, timestamp });
    }
  }

  /** Drops every entry and forgets the changelog position (a store to restore from scratch). */
  wipe(): void {
    this.restores++;
    this.#map.clear();
    this.#index?.clear();
    this.#dirty.clear();
    this.#unpersisted.clear();
    this.#segments.clear();
    this.position = 0;
    this.maxTimestamp = -1;
    this.#observed = -1;
    this.#minLiveSegment = -Infinity;
  }

  // --- on disk ---------------------------------------------------------------------------

  /**
   * Loads an on-disk store: the log named by the checkpoint, cut to its checkpointed length;
   * without a checkpoint the store starts empty at changelog offset 0. Does nothing in memory.
   *
   * @throws {Error} When the directory cannot be read or written.
   */
  async open(): Promise<void> {
    const dir = this.dir;
    if (dir === undefined) return;
    await Deno.mkdir(dir, { recursive: true });
    let checkpoint:
      | {
        generation: number;
        bytes: number;
        offset: number;
        streamTime?: number;
        maxTimestamp?: number;
      }
      | undefined;
    try {
      checkpoint = JSON.parse(await Deno.readTextFile(`${dir}/checkpoint`));
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) {
        throw new Error(`open store ${this.name}: unreadable checkpoint in ${dir}: ${e}`);
      }
    }
    for await (const f of Deno.readDir(dir)) {
      const keep = checkpoint !== undefined && f.name === `${checkpoint.generation}.log`;
      if (f.name !== "checkpoint" && !keep) await Deno.remove(`${dir}/${f.name}`);
    }
    this.wipe();
    if (checkpoint !== undefined) {
      const path = `${dir}/${checkpoint.generation}.log`;
      const data = await Deno.readFile(path);
      if (data.length < checkpoint.bytes) {
        throw new Error(
          `open store ${this.name}: ${path} holds ${data.length} bytes, its checkpoint says ` +
            `${checkpoint.bytes}`,
        );
      }
      // Entries that had expired when the checkpoint was written are skipped while loading.
      if (typeof checkpoint.streamTime === "number") this.advance(checkpoint.streamTime);
      this.#load(data.subarray(0, checkpoint.bytes));
      if (typeof checkpoint.maxTimestamp === "number") this.maxTimestamp = checkpoint.maxTimestamp;
      this.#unpersisted.clear();
      this.#generation = checkpoint.generation;
      this.#logBytes = checkpoint.bytes;
      this.position = checkpoint.offset;
      this.#logFile = await Deno.open(path, { write: true });
      await this.#logFile.truncate(checkpoint.bytes);
      await this.#logFile.seek(checkpoint.bytes, Deno.SeekMode.Start);
    } else {
      this.#generation = 0;
      this.#logBytes = 0;
      this.#logFile = await Deno.open(`${dir}/0.log`, {
        write: true,
        create: true,
        truncate: true,
      });
    }
    this.#liveBytes = 0;
    for (const e of this.#map.values()) this.#liveBytes += 8 + e.key.length + e.value.length;
  }

  #load(data: Uint8Array): void {
    const view = new DataView(data.buffer, data.byteOffset, data.length);
    let at = 0;
    while (at < data.length) {
      const kl = view.getUint32(at);
      const key = data.slice(at + 4, at + 4 + kl);
      const vl = view.getInt32(at + 4 + kl);
      at += 8 + kl;
      const value = vl < 0 ? null : data.slice(at, at + vl);
      if (vl > 0) at += vl;
      this.#apply(bytesKey(key), key, value, -1);
    }
  }

  /**
   * Appends what changed since the last call to the on-disk log, syncs it and checkpoints the
   * changelog offset; compacts the log when it has grown past four times its live entries. To
   * be called only after the changes are committed. Does nothing in memory.
   */
  async persist(): Promise<void> {
    if (this.dir === undefined || this.#logFile === undefined) return;
    const changes: Array<StoreEntry | Uint8Array> = [];
    for (const c of this.#unpersisted.values()) {
      if (c instanceof Uint8Array || this.#map.has(bytesKey(c.key))) changes.push(c);
    }
    this.#unpersisted.clear();
    if (changes.length > 0) {
      const buf = encodeEntries(changes);
      await writeAll(this.#logFile, buf);
      this.#logBytes += buf.length;
      await this.#logFile.syncData();
    }
    this.#liveBytes = 0;
    for (const e of this.#map.values()) this.#liveBytes += 8 + e.key.length + e.value.length;
    if (this.#logBytes > 4 * this.#liveBytes + 65_536) {
      const generation = this.#generation + 1;
      const path = `${this.dir}/${generation}.log`;
      const file = await Deno.open(path, { write: true, create: true, truncate: true });
      const buf = encodeEntries([...this.#map.values()]);
      await writeAll(file, buf);
      await file.syncData();
      this.#logFile.close();
      this.#logFile = file;
      const old = this.#generation;
      this.#generation = generation;
      this.#logBytes = buf.length;
      await this.#checkpoint();
      await Deno.remove(`${this.dir}/${old}.log`).catch(() => {});
      return;
    }
    await this.#checkpoint();
  }

  async #checkpoint(): Promise<void> {
    const text = JSON.stringify({
      generation: this.#generation,
      bytes: this.#logBytes,
      offset: this.position,
      streamTime: this.#observed,
      maxTimestamp: this.maxTimestamp,
    });
    await Deno.writeTextFile(`${this.dir}/checkpoint.tmp`, text);
    await Deno.rename(`${this.dir}/checkpoint.tmp`, `${this.dir}/checkpoint`);
  }

  /** Closes the on-disk log (its last checkpoint stays). */
  close(): void {
    this.#logFile?.close();
    this.#logFile = undefined;
  }

  /** Removes an on-disk store's directory (a store whose state cannot be trusted). */
  async destroy(): Promise<void> {
    this.close();
    this.wipe();
    if (this.dir !== undefined) await Deno.remove(this.dir, { recursive: true }).catch(() => {});
  }
}

function encodeEntries(changes: Array<StoreEntry | Uint8Array>): Uint8Array {
  let size = 0;
  for (const c of changes) {
    size += c instanceof Uint8Array ? 8 + c.length : 8 + c.key.length + c.value.length;
  }
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  let at = 0;
  for (const c of changes) {
    const key = c instanceof Uint8Array ? c : c.key;
    view.setUint32(at, key.length);
    out.set(key, at + 4);
    at += 4 + key.length;
    if (c instanceof Uint8Array) {
      view.setInt32(at, -1);
      at += 4;
    } else {
      view.setInt32(at, c.value.length);
      out.set(c.value, at + 4);
      at += 4 + c.value.length;
    }
  }
  return out;
}

async function writeAll(file: Deno.FsFile, data: Uint8Array): Promise<void> {
  for (let at = 0; at < data.length;) at += await file.write(data.subarray(at));
}

/** The window start (big-endian 8 bytes) after an inner key: a window store's key. */
export function windowKey(inner: Uint8Array, start: number): Uint8Array {
  const out = new Uint8Array(inner.length + 8);
  out.set(inner, 0);
  new DataView(out.buffer).setBigInt64(inner.length, BigInt(start));
  return out;
}

/** An inner key, the session end and start: a session store's key (Kafka's layout). */
export function sessionKey(inner: Uint8Array, window: Window): Uint8Array {
  const out = new Uint8Array(inner.length + 16);
  out.set(inner, 0);
  const view = new DataView(out.buffer);
  view.setBigInt64(inner.length, BigInt(window.end));
  view.setBigInt64(inner.length + 8, BigInt(window.start));
  return out;
}

/** Reads the `[start, end]` suffix of a session key. */
export function sessionWindowOf(key: Uint8Array): Window {
  const view = new DataView(key.buffer, key.byteOffset + key.length - 16, 16);
  return { end: Number(view.getBigInt64(0)), start: Number(view.getBigInt64(8)) };
}

/** Reads the window start of a window key. */
export function windowStartOf(key: Uint8Array): number {
  return Number(new DataView(key.buffer, key.byteOffset + key.length - 8, 8).getBigInt64(0));
}

// --- interactive queries --------------------------------------------------------------------

/**
 * A key-value store of this instance, read-only, over every local task's copy (interactive
 * queries). Reads see what has been processed, committed or not.
 *
 * @typeParam K Key type.
 * @typeParam V Value type.
 */
export interface ReadOnlyKeyValueStore<K, V> {
  /**
   * The value of a key.
   *
   * @param key The key.
   * @returns The value, or `undefined` when this instance has none.
   */
  get(key: K): V | undefined;
  /**
   * Entries with `from <= key <= to` in key-bytes order.
   *
   * @param from Lowest key (inclusive).
   * @param to Highest key (inclusive).
   * @returns The entries.
   */
  range(from: K, to: K): Array<[K, V]>;
  /**
   * Every entry, in key-bytes order.
   *
   * @returns The entries.
   */
  all(): Array<[K, V]>;
  /**
   * How many entries the local stores hold.
   *
   * @returns The count.
   */
  approximateNumEntries(): number;
}

/**
 * A window store of this instance, read-only, over every local task's copy.
 *
 * @typeParam K Key type.
 * @typeParam V Value type.
 */
export interface ReadOnlyWindowStore<K, V> {
  /**
   * The value of one key in the window starting at `start`.
   *
   * @param key The key.
   * @param start The window start.
   * @returns The value, or `undefined`.
   */
  fetch(key: K, start: number): V | undefined;
  /**
   * A key's windows starting in `[from, to]`, by start time.
   *
   * @param key The key.
   * @param from Earliest window start.
   * @param to Latest window start.
   * @returns Window start and value pairs.
   */
  fetchRange(key: K, from: number, to: number): Array<[Windowed<K>, V]>;
  /**
   * Every window of every key.
   *
   * @returns The entries, by key bytes then start.
   */
  all(): Array<[Windowed<K>, V]>;
}

/** Typed views over the bytes stores of several tasks. */
export function keyValueView<K, V>(
  stores: () => BytesStore[],
  keySerde: Serde<K>,
  valueSerde: Serde<V>,
): ReadOnlyKeyValueStore<K, V> {
  const decode = (e: StoreEntry): [K, V] => [
    keySerde.deserialize(e.key) as K,
    valueSerde.deserialize(e.value) as V,
  ];
  const sorted = (entries: StoreEntry[]) =>
    entries.map((e) => [bytesKey(e.key), e] as const).sort((a, b) =>
      a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0
    ).map(([, e]) => decode(e));
  return {
    get(key) {
      const kb = keySerde.serialize(key);
      if (kb === null) return undefined;
      for (const s of stores()) {
        const e = s.get(kb);
        if (e !== undefined) return valueSerde.deserialize(e.value) as V;
      }
      return undefined;
    },
    range(from, to) {
      const lo = keySerde.serialize(from) ?? undefined;
      const hi = keySerde.serialize(to) ?? undefined;
      return sorted(stores().flatMap((s) => s.range(lo, hi)));
    },
    all: () => sorted(stores().flatMap((s) => s.range())),
    approximateNumEntries: () => stores().reduce((n, s) => n + s.size, 0),
  };
}

/** A typed window-store view over the bytes stores of several tasks. */
export function windowView<K, V>(
  stores: () => BytesStore[],
  keySerde: Serde<K>,
  valueSerde: Serde<V>,
  sizeMs: number,
): ReadOnlyWindowStore<K, V> {
  const decode = (e: StoreEntry): [Windowed<K>, V] => {
    const start = windowStartOf(e.key);
    return [
      {
        key: keySerde.deserialize(e.key.subarray(0, e.key.length - 8)) as K,
        window: { start, end: start + sizeMs },
      },
      valueSerde.deserialize(e.value) as V,
    ];
  };
  return {
    fetch(key, start) {
      const kb = keySerde.serialize(key);
      if (kb === null) return undefined;
      for (const s of stores()) {
        const e = s.get(windowKey(kb, start));
        if (e !== undefined) return valueSerde.deserialize(e.value) as V;
      }
      return undefined;
    },
    fetchRange(key, from, to) {
      const kb = keySerde.serialize(key);
      if (kb === null) return [];
      return stores().flatMap((s) => s.byInnerKey(kb))
        .filter((e) => {
          const start = windowStartOf(e.key);
          return start >= from && start <= to;
        })
        .sort((a, b) => windowStartOf(a.key) - windowStartOf(b.key))
        .map(decode);
    },
    all: () =>
      stores().flatMap((s) => s.range()).map((e) => [bytesKey(e.key), e] as const)
        .sort((a, b) => a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0).map(([, e]) => decode(e)),
  };
}
