// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * Versioned key-value stores (KIP-889) behind tables (KIP-914): a store that keeps, besides
 * each key's latest value, its earlier values with the time each was valid from and to, for
 * `historyRetentionMs` past the store's stream time, so `get(key, asOfTimestamp)` answers what
 * the table held at a time. A table materialized in one stores an out-of-order update (older
 * than the key's latest) in the history without forwarding it, as Kafka's `KTableSource` over a
 * versioned store.
 *
 * Layout: the latest values are the table's ordinary key-value store (what every table getter
 * and join reads); the history is a second key-value store `<name>-versions`, keyed by the key
 * bytes and the version's end time (int64 big-endian), its value the version's start time
 * (int64), a byte 1 and the value bytes, or a byte 0 for a deletion's period (kept as a version: it
 * bounds the versions an older update splits); the end time `Number.MAX_SAFE_INTEGER` marks a
 * latest deletion (a tombstone's time: an older update stays out of order). Both are
 * changelogged.
 *
 * @module
 */

import type { Serde } from "./serdes.ts";
import { bytesKey, type BytesStore } from "./stores.ts";

/** Options of a versioned table (Kafka's `Stores.persistentVersionedKeyValueStore`). */
export interface VersionedOptions {
  /** How long past the store's stream time older versions stay queryable (and out-of-order
   * updates are accepted into the history). */
  historyRetentionMs: number;
}

/** A version of a key's value (Kafka's `VersionedRecord`). */
export interface VersionedRecord<V> {
  /** The value. */
  value: V;
  /** When it became valid (its record's timestamp). */
  timestamp: number;
  /** When it stopped being valid; absent for the latest. */
  validTo?: number;
}

/** A read-only view of a versioned store (Kafka's `VersionedKeyValueStore` reads). */
export interface ReadOnlyVersionedKeyValueStore<K, V> {
  /**
   * The latest version of a key, or the version valid at `asOfTimestamp` (`null`: none, or
   * older than the history retention).
   */
  get(key: K, asOfTimestamp?: number): VersionedRecord<V> | null;
}

const LATEST_TOMBSTONE = Number.MAX_SAFE_INTEGER;

function int64(n: number): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigInt64(0, BigInt(n));
  return out;
}

function readInt64(b: Uint8Array, at: number): number {
  return Number(new DataView(b.buffer, b.byteOffset, b.length).getBigInt64(at));
}

function historyKey(key: Uint8Array, validTo: number): Uint8Array {
  const out = new Uint8Array(key.length + 8);
  out.set(key, 0);
  out.set(int64(validTo), key.length);
  return out;
}

interface Version {
  /** The history entry's key. */
  hk: Uint8Array;
  from: number;
  to: number;
  /** `null`: the key was deleted from `from` to `to`. */
  value: Uint8Array | null;
}

/** The history store's versions of a key (the deletion mark included), by start time. */
function versionsOf(history: BytesStore, key: Uint8Array): Version[] {
  const lo = historyKey(key, 0); // record timestamps are not negative
  const hi = historyKey(key, LATEST_TOMBSTONE);
  const out: Version[] = [];
  for (const e of history.range(lo, hi)) {
    if (e.key.length !== key.length + 8) continue;
    if (bytesKey(e.key.subarray(0, key.length)) !== bytesKey(key)) continue;
    out.push({
      hk: e.key,
      from: readInt64(e.value, 0),
      to: readInt64(e.key, key.length),
      value: e.value[8] === 0 ? null : e.value.subarray(9),
    });
  }
  return out.sort((a, b) => a.from - b.from);
}

function putVersion(
  history: BytesStore,
  key: Uint8Array,
  from: number,
  to: number,
  value: Uint8Array | null,
  time: number,
): void {
  const v = new Uint8Array(9 + (value?.length ?? 0));
  v.set(int64(from), 0);
  if (value !== null) {
    v[8] = 1;
    v.set(value, 9);
  }
  history.put(historyKey(key, to), v, time);
}

/** The store's stream time: the largest timestamp put into it. */
function streamTime(latest: BytesStore, history: BytesStore): number {
  return Math.max(latest.maxTimestamp, history.maxTimestamp);
}

/**
 * Puts a table update into a versioned store.
 *
 * @param latest The latest values (the table's store).
 * @param history The history store.
 * @param retentionMs The history retention.
 * @param key Key bytes.
 * @param value Value bytes, or `null` (a deletion).
 * @param timestamp The update's timestamp.
 * @returns Whether it is the key's latest (to forward, with the old latest value), and that
 *   old value; `latest: false` for an out-of-order update (kept in the history, or dropped
 *   when older than the retention).
 */
export function versionedPut(
  latest: BytesStore,
  history: BytesStore,
  retentionMs: number,
  key: Uint8Array,
  value: Uint8Array | null,
  timestamp: number,
): { latest: boolean; old: Uint8Array | null } {
  const cur = latest.get(key);
  const versions = versionsOf(history, key);
  const mark = versions.find((v) => v.to === LATEST_TOMBSTONE);
  const latestTime = cur?.timestamp ?? mark?.from ?? -Infinity;
  const time = Math.max(streamTime(latest, history), timestamp);
  // Versions that ended before the retention go (Kafka expires them by segment).
  for (const v of versions) {
    if (v.to !== LATEST_TOMBSTONE && v.to <= time - retentionMs) history.put(v.hk, null, time);
  }
  if (timestamp >= latestTime) {
    if (cur !== undefined && timestamp > cur.timestamp) {
      putVersion(history, key, cur.timestamp, timestamp, cur.value, time);
    }
    if (mark !== undefined) {
      // The deletion's period becomes a version of its own (a boundary for older updates).
      history.put(mark.hk, null, time);
      if (timestamp > mark.from) putVersion(history, key, mark.from, timestamp, null, time);
    }
    if (value === null) {
      latest.put(key, null, time);
      // The deletion's time, as Kafka keeps a latest tombstone: older updates stay out of order.
      putVersion(history, key, timestamp, LATEST_TOMBSTONE, null, time);
    } else latest.put(key, value, timestamp);
    return { latest: true, old: cur?.value ?? null };
  }
  // Out of order: into the history (a deletion too: it bounds the versions around it), if
  // within the retention.
  if (timestamp < time - retentionMs) return { latest: false, old: null };
  const live = versions.filter((v) => v.to !== LATEST_TOMBSTONE && v.to > time - retentionMs);
  const same = live.find((v) => v.from === timestamp);
  if (same !== undefined) {
    putVersion(history, key, same.from, same.to, value, time);
    return { latest: false, old: null };
  }
  const covering = live.find((v) => v.from < timestamp && timestamp < v.to);
  let to: number;
  if (covering !== undefined) {
    history.put(covering.hk, null, time);
    putVersion(history, key, covering.from, timestamp, covering.value, time);
    to = covering.to;
  } else {
    // Before every version: valid until the first one (or the latest).
    to = Math.min(latestTime, ...live.filter((v) => v.from > timestamp).map((v) => v.from));
  }
  putVersion(history, key, timestamp, to, value, time);
  return { latest: false, old: null };
}

/**
 * Reads a versioned store: the latest version, or the one valid at `asOf`.
 *
 * @returns The version's value bytes and times, or `null`.
 */
export function versionedGet(
  latest: BytesStore,
  history: BytesStore,
  retentionMs: number,
  key: Uint8Array,
  asOf?: number,
): { value: Uint8Array; from: number; to?: number } | null {
  const cur = latest.get(key);
  if (asOf === undefined) {
    return cur === undefined ? null : { value: cur.value, from: cur.timestamp };
  }
  if (cur !== undefined && cur.timestamp <= asOf) return { value: cur.value, from: cur.timestamp };
  if (asOf < streamTime(latest, history) - retentionMs) return null;
  for (const v of versionsOf(history, key)) {
    if (v.from <= asOf && asOf < v.to) {
      return v.value === null ? null : { value: v.value, from: v.from, to: v.to };
    }
  }
  return null;
}

/**
 * A typed view over the versioned stores of several tasks (the one holding the key answers).
 *
 * @param stores Each task's latest and history stores.
 * @param retentionMs The history retention.
 * @param keySerde Key serde.
 * @param valueSerde Value serde.
 * @returns The view.
 */
export function versionedView<K, V>(
  stores: () => Array<[BytesStore, BytesStore]>,
  retentionMs: number,
  keySerde: Serde<K>,
  valueSerde: Serde<V>,
): ReadOnlyVersionedKeyValueStore<K, V> {
  return {
    get(key, asOfTimestamp) {
      const kb = keySerde.serialize(key);
      if (kb === null) return null;
      for (const [latest, history] of stores()) {
        const r = versionedGet(latest, history, retentionMs, kb, asOfTimestamp);
        if (r !== null) {
          const out: VersionedRecord<V> = {
            value: valueSerde.deserialize(r.value) as V,
            timestamp: r.from,
          };
          if (r.to !== undefined) out.validTo = r.to;
          return out;
        }
      }
      return null;
    },
  };
}
