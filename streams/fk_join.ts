// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * KTable-KTable foreign-key joins (KIP-213; Kafka's `KTable.join(other, foreignKeyExtractor,
 * joiner)` and `leftJoin`), built as Kafka builds them so the result is right whatever the two
 * tables' partitioning and however their updates interleave:
 *
 * - the left table's updates go to the subscription topic
 *   `<applicationId>-<name>-subscription-registration-topic`, keyed by the foreign key, each
 *   carrying the left key, an instruction and a 128-bit Murmur3 hash of the serialized left
 *   value (Kafka's `SubscriptionWrapper`, version 1, with the left record's partition);
 * - the right side keeps every subscription in the subscription store
 *   (`<name>-subscription-store`, key: the foreign key's length, the foreign key, the left key:
 *   Kafka's `CombinedKeySchema`), answers each subscription with the right value of its
 *   foreign key, and answers every subscription of a foreign key again when the right table
 *   updates it, on the response topic `<applicationId>-<name>-subscription-response-topic`
 *   (Kafka's `SubscriptionResponseWrapper`: the hash and the right value), to the partition
 *   the subscription came from;
 * - the left side joins a response with the left table's current value, dropping it when the
 *   hash no longer matches that value (a stale answer to an older value), and keeps the result
 *   in a store (its old values make it a table like any other).
 *
 * @module
 */

import type { GraphBuilder } from "./graph.ts";
import { type Serde, Serdes } from "./serdes.ts";
import { type MakeTable, type TableGetter, type TableParts, valueTime } from "./table_ops.ts";
import type { KTable, Materialized } from "./topology.ts";

// ---------------------------------------------------------------------------------------------
// Murmur3 (x64, 128 bits), as Kafka's `org.apache.kafka.streams.state.internals.Murmur3`.

const MASK = (1n << 64n) - 1n;
const C1 = 0x87c37b91114253d5n;
const C2 = 0x4cf5ad432745937fn;
const SEED = 104729n;

function rotl(x: bigint, r: bigint): bigint {
  return ((x << r) | (x >> (64n - r))) & MASK;
}

function fmix(h: bigint): bigint {
  h ^= h >> 33n;
  h = (h * 0xff51afd7ed558ccdn) & MASK;
  h ^= h >> 33n;
  h = (h * 0xc4ceb9fe1a85ec53n) & MASK;
  h ^= h >> 33n;
  return h;
}

function le64(data: Uint8Array, at: number, n: number): bigint {
  let v = 0n;
  for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(data[at + i]);
  return v;
}

/**
 * Kafka's `Murmur3.hash128(data)` (seed 104729): the two 64-bit halves, written big-endian as
 * Kafka writes them (`putLong`), 16 bytes.
 *
 * @param data Bytes to hash.
 * @returns The hash.
 */
export function murmur3Hash128(data: Uint8Array, seed: bigint = SEED): Uint8Array {
  let h1 = seed;
  let h2 = seed;
  const blocks = data.length >> 4;
  for (let i = 0; i < blocks; i++) {
    let k1 = le64(data, i * 16, 8);
    let k2 = le64(data, i * 16 + 8, 8);
    k1 = rotl((k1 * C1) & MASK, 31n);
    h1 ^= (k1 * C2) & MASK;
    h1 = (((rotl(h1, 27n) + h2) & MASK) * 5n + 0x52dce729n) & MASK;
    k2 = rotl((k2 * C2) & MASK, 33n);
    h2 ^= (k2 * C1) & MASK;
    h2 = (((rotl(h2, 31n) + h1) & MASK) * 5n + 0x38495ab5n) & MASK;
  }
  const tail = blocks * 16;
  const rest = data.length - tail;
  if (rest > 8) {
    const k2 = rotl((le64(data, tail + 8, rest - 8) * C2) & MASK, 33n);
    h2 ^= (k2 * C1) & MASK;
  }
  if (rest > 0) {
    const k1 = rotl((le64(data, tail, Math.min(rest, 8)) * C1) & MASK, 31n);
    h1 ^= (k1 * C2) & MASK;
  }
  const len = BigInt(data.length);
  h1 ^= len;
  h2 ^= len;
  h1 = (h1 + h2) & MASK;
  h2 = (h2 + h1) & MASK;
  h1 = fmix(h1);
  h2 = fmix(h2);
  h1 = (h1 + h2) & MASK;
  h2 = (h2 + h1) & MASK;
  const out = new Uint8Array(16);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, h1);
  view.setBigUint64(8, h2);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Wire formats: Kafka's SubscriptionWrapperSerde, SubscriptionResponseWrapperSerde and
// CombinedKeySchema.

/** Kafka's `SubscriptionWrapper.Instruction`. */
export const Instruction = {
  /** Remove the subscription; answer nothing (the left row moved to another foreign key). */
  DELETE_KEY_NO_PROPAGATE: 0,
  /** Remove the subscription; answer with no right value (the result goes away). */
  DELETE_KEY_AND_PROPAGATE: 1,
  /** Subscribe; answer even when the foreign key has no right value. */
  PROPAGATE_NULL_IF_NO_FK_VAL_AVAILABLE: 2,
  /** Subscribe; answer only when the foreign key has a right value. */
  PROPAGATE_ONLY_IF_FK_VAL_AVAILABLE: 3,
} as const;

/** A subscription: Kafka's `SubscriptionWrapper`. */
export interface Subscription {
  /** Hash of the serialized left value, `null` for a deleted one. */
  hash: Uint8Array | null;
  /** One of {@linkcode Instruction}. */
  instruction: number;
  /** Serialized left key. */
  primaryKey: Uint8Array;
  /** The left record's partition (version 1), where the answer goes; `null` in version 0. */
  primaryPartition: number | null;
}

/**
 * Encodes a subscription as Kafka's version 1:
 * `{isHashNull bit, 7-bit version}{instruction}{16-byte hash?}{left key}{int32 partition}`.
 */
export function encodeSubscription(s: Subscription): Uint8Array {
  const hashLen = s.hash === null ? 0 : 16;
  const out = new Uint8Array(2 + hashLen + s.primaryKey.length + 4);
  out[0] = s.hash === null ? 0x81 : 0x01;
  out[1] = s.instruction;
  if (s.hash !== null) out.set(s.hash, 2);
  out.set(s.primaryKey, 2 + hashLen);
  new DataView(out.buffer).setInt32(out.length - 4, s.primaryPartition ?? -1);
  return out;
}

/**
 * Decodes a subscription (Kafka's versions 0 and 1).
 *
 * @throws {Error} On a later version, an unknown instruction or a truncated record.
 */
export function decodeSubscription(data: Uint8Array): Subscription {
  if (data.length < 2) throw new Error("foreign-key join: a truncated subscription");
  const version = data[0] & 0x7f;
  if (version > 1) {
    throw new Error(`foreign-key join: subscription version ${version} is not supported`);
  }
  const instruction = data[1];
  if (instruction > 3) {
    throw new Error(`foreign-key join: unknown subscription instruction ${instruction}`);
  }
  const hashNull = (data[0] & 0x80) !== 0;
  const start = 2 + (hashNull ? 0 : 16);
  const end = data.length - (version > 0 ? 4 : 0);
  if (end < start) throw new Error("foreign-key join: a truncated subscription");
  return {
    hash: hashNull ? null : data.subarray(2, 18),
    instruction,
    primaryKey: data.subarray(start, end),
    primaryPartition: version > 0
      ? new DataView(data.buffer, data.byteOffset, data.length).getInt32(end)
      : null,
  };
}

/** Encodes a response as Kafka's version 0: `{isHashNull bit, version}{16-byte hash?}{value?}`. */
export function encodeResponse(hash: Uint8Array | null, value: Uint8Array | null): Uint8Array {
  const hashLen = hash === null ? 0 : 16;
  const out = new Uint8Array(1 + hashLen + (value?.length ?? 0));
  out[0] = hash === null ? 0x80 : 0x00;
  if (hash !== null) out.set(hash, 1);
  if (value !== null) out.set(value, 1 + hashLen);
  return out;
}

/**
 * Decodes a response (an empty value part is a `null` right value, as in Kafka).
 *
 * @throws {Error} On another version or a truncated record.
 */
export function decodeResponse(
  data: Uint8Array,
): { hash: Uint8Array | null; value: Uint8Array | null } {
  if (data.length < 1) throw new Error("foreign-key join: an empty response");
  const version = data[0] & 0x7f;
  if (version !== 0) {
    throw new Error(`foreign-key join: response version ${version} is not supported`);
  }
  const hashNull = (data[0] & 0x80) !== 0;
  const start = hashNull ? 1 : 17;
  if (data.length < start) throw new Error("foreign-key join: a truncated response");
  return {
    hash: hashNull ? null : data.subarray(1, 17),
    value: data.length > start ? data.subarray(start) : null,
  };
}

/** The subscription store's key prefix of a foreign key: `{int32 length}{foreign key}`. */
export function combinedPrefix(fk: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + fk.length);
  new DataView(out.buffer).setInt32(0, fk.length);
  out.set(fk, 4);
  return out;
}

/** The subscription store's key: `{int32 length}{foreign key}{left key}`. */
export function combinedKey(fk: Uint8Array, pk: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + fk.length + pk.length);
  new DataView(out.buffer).setInt32(0, fk.length);
  out.set(fk, 4);
  out.set(pk, 4 + fk.length);
  return out;
}

function sameBytes(a: Uint8Array | null, b: Uint8Array | null): boolean {
  if (a === null || b === null) return a === b;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

// ---------------------------------------------------------------------------------------------
// The join

/** Options of a foreign-key join: Kafka's `TableJoined.as(name)` and `Materialized`. */
export interface ForeignKeyJoinOptions<K, VR> extends Materialized<K, VR> {
  /** Base name of the internal topics and the subscription store (`TableJoined.as`); default
   * `KTABLE-FK-JOIN-SUBSCRIPTION-REGISTRATION-<n>` etc., as Kafka numbers them. */
  name?: string;
}

/**
 * Builds a foreign-key join (see the module doc).
 *
 * @param left The table whose values carry the foreign key.
 * @param right The table keyed by the foreign key.
 * @param extract The foreign key of a left value (`(value, key)`); `null` joins nothing.
 * @param joiner The result from the left value and the right one (`null` for a left join's
 *   missing right value).
 * @param leftJoin Keep left rows without a right value.
 * @param options Names, the result store and its serdes.
 * @param makeTable The DSL's table constructor.
 * @returns The joined table, keyed by the left key.
 */
export function foreignKeyJoin(
  left: TableParts,
  right: TableParts,
  extract: (value: unknown, key: unknown) => unknown,
  joiner: (l: unknown, r: unknown) => unknown,
  leftJoin: boolean,
  options: ForeignKeyJoinOptions<unknown, unknown>,
  makeTable: MakeTable,
): KTable<unknown, unknown> {
  const b: GraphBuilder = left.b;
  if (right.b !== b) throw new Error("foreign-key join: the tables come from different builders");
  const what = leftJoin ? "foreign-key left join" : "foreign-key join";
  const name = (suffix: string, prefix: string) =>
    options.name !== undefined ? `${options.name}${suffix}` : b.newName(prefix);
  const subTopic = `${
    name("-subscription-registration", "KTABLE-FK-JOIN-SUBSCRIPTION-REGISTRATION")
  }-topic`;
  const subStore = name("-subscription-store", "KTABLE-FK-JOIN-SUBSCRIPTION-STATE-STORE");
  const respTopic = `${
    name("-subscription-response", "KTABLE-FK-JOIN-SUBSCRIPTION-RESPONSE")
  }-topic`;
  const resultStore = options.storeName ?? b.newName("KTABLE-FK-JOIN-OUTPUT-STATE-STORE");
  for (const t of [subTopic, respTopic]) {
    if (b.internalTopics.has(t)) throw new Error(`topology: internal topic ${t} already exists`);
  }
  b.internalTopics.add(subTopic);
  b.internalTopics.add(respTopic);
  // Each topic has the partitions of the table its reader joins with (Kafka's co-partition
  // groups): the subscriptions the right table's, the responses the left table's.
  b.coPartitioned.add(subTopic);
  b.coPartitioned.add(respTopic);
  const leftKeySerde = left.keySerde;
  const leftValueSerde = left.valueSerde;
  const fkSerde = right.keySerde;
  const rightValueSerde = right.valueSerde;
  b.addStore({
    name: subStore,
    kind: "kv",
    persistent: options.persistent ?? false,
    // Queried as bytes: the combined key and Kafka's SubscriptionWrapper.
    keySerde: Serdes.Bytes() as Serde<unknown>,
    valueSerde: Serdes.Bytes() as Serde<unknown>,
  });
  const resultKeySerde = (options.keySerde ?? leftKeySerde) as Serde<unknown> | undefined;
  const resultValueSerde = options.valueSerde as Serde<unknown> | undefined;
  b.addStore({
    name: resultStore,
    kind: "kv",
    persistent: options.persistent ?? false,
    keySerde: resultKeySerde,
    valueSerde: resultValueSerde,
  });

  // 1. Left side: each update of the left table subscribes to its foreign key (Kafka's
  //    SubscriptionSendProcessorSupplier, instruction for instruction).
  b.add("KTABLE-FK-JOIN-SUBSCRIPTION-REGISTRATION", [left.node], (ctx) => {
    const ks = ctx.keySerde(leftKeySerde, what);
    const vs = ctx.valueSerde(leftValueSerde, what);
    const fks = ctx.keySerde(fkSerde, what);
    const topic = ctx.topicName(subTopic);
    return (rec) => {
      if (rec.key === null || rec.key === undefined) {
        return ctx.dropRecord("foreign-key join of a record without a key");
      }
      const pk = ks.serialize(rec.key)!;
      const newValue = rec.value ?? null;
      const oldValue = rec.oldValue ?? null;
      const hash = newValue === null ? null : murmur3Hash128(vs.serialize(newValue)!);
      const fkOf = (v: unknown) => {
        if (v === null) return null;
        const fk = extract(v, rec.key);
        return fk === null || fk === undefined ? null : fks.serialize(fk);
      };
      const partition = ctx.partition;
      const send = (fk: Uint8Array | null, instruction: number) =>
        ctx.send(
          topic,
          fk,
          encodeSubscription({ hash, instruction, primaryKey: pk, primaryPartition: partition }),
          rec.timestamp,
          rec.headers,
        );
      const oldFk = fkOf(oldValue);
      if (leftJoin) {
        if (oldValue === null && newValue === null) return;
        const newFk = fkOf(newValue);
        if (oldFk !== null && !sameBytes(newFk, oldFk)) {
          send(oldFk, Instruction.DELETE_KEY_NO_PROPAGATE);
        }
        // Also for a deletion or a null foreign key: a subscription without a key answers
        // with no right value, which is the result (joiner(value, null) or a tombstone).
        send(newFk, Instruction.PROPAGATE_NULL_IF_NO_FK_VAL_AVAILABLE);
        return;
      }
      // The inner join: as Kafka's, except that every update of a value gets an answer
      // carrying its hash (see the deviation in docs/STREAMS.md): an answer dropped as stale
      // (the value changed meanwhile) must never leave a result behind that no later answer
      // replaces.
      if (newValue !== null) {
        const newFk = fkOf(newValue);
        if (newFk === null) {
          ctx.dropRecord("foreign-key join of a value whose foreign key is null");
          // Kafka answers only when an old foreign key had a subscription; a subscription
          // without a key is answered with no right value (a tombstone) all the same.
          if (oldFk !== null) send(oldFk, Instruction.DELETE_KEY_AND_PROPAGATE);
          else send(null, Instruction.PROPAGATE_NULL_IF_NO_FK_VAL_AVAILABLE);
        } else {
          if (oldFk !== null && !sameBytes(newFk, oldFk)) {
            send(oldFk, Instruction.DELETE_KEY_NO_PROPAGATE);
          }
          // Kafka asks an insert or an update with the same foreign key for an answer only
          // if the foreign key has a right value (the old value did not join either); it may
          // have, when an answer to it came after this update was sent.
          send(newFk, Instruction.PROPAGATE_NULL_IF_NO_FK_VAL_AVAILABLE);
        }
      } else if (oldFk !== null) {
        send(oldFk, Instruction.DELETE_KEY_AND_PROPAGATE);
      } else if (oldValue !== null) {
        send(null, Instruction.PROPAGATE_NULL_IF_NO_FK_VAL_AVAILABLE);
      }
    };
  }, { sinkTopic: subTopic });

  // 2. Right side: subscriptions are kept (Kafka's SubscriptionReceiveProcessorSupplier) and
  //    answered with the foreign key's right value (SubscriptionJoinProcessorSupplier).
  const subSource = b.add("KTABLE-FK-JOIN-SUBSCRIPTION-SOURCE", [], (_ctx, forward) => forward, {
    topics: [subTopic],
  });
  b.add("KTABLE-FK-JOIN-SUBSCRIPTION-PROCESSOR", [subSource], (ctx) => {
    const store = ctx.store(subStore);
    const fks = ctx.keySerde(fkSerde, what);
    const rvs = ctx.valueSerde(rightValueSerde, what);
    const getRight = right.getter(ctx);
    const timeOf = valueTime(right, ctx);
    const topic = ctx.topicName(respTopic);
    return (rec) => {
      if (rec.value === null) return ctx.dropRecord("subscription without a value");
      const raw = rec.value as Uint8Array;
      const sub = decodeSubscription(raw);
      const fkBytes = rec.key as Uint8Array | null;
      if (fkBytes === null) {
        if (sub.instruction !== Instruction.PROPAGATE_NULL_IF_NO_FK_VAL_AVAILABLE) {
          return ctx.dropRecord("subscription without a foreign key");
        }
      } else {
        const key = combinedKey(fkBytes, sub.primaryKey);
        if (
          sub.instruction === Instruction.DELETE_KEY_AND_PROPAGATE ||
          sub.instruction === Instruction.DELETE_KEY_NO_PROPAGATE
        ) store.put(key, null, rec.timestamp);
        else store.put(key, raw.slice(), rec.timestamp);
      }
      if (sub.instruction === Instruction.DELETE_KEY_NO_PROPAGATE) return;
      const fk = fkBytes === null ? null : fks.deserialize(fkBytes);
      const rv = fk === null ? null : (getRight(fk) ?? null) as unknown;
      if (rv === null && sub.instruction === Instruction.PROPAGATE_ONLY_IF_FK_VAL_AVAILABLE) return;
      const value = sub.instruction === Instruction.DELETE_KEY_AND_PROPAGATE || rv === null
        ? null
        : rvs.serialize(rv);
      const rt = rv === null ? null : timeOf(fk);
      ctx.send(
        topic,
        sub.primaryKey,
        encodeResponse(sub.hash, value),
        rt === null ? rec.timestamp : Math.max(rec.timestamp, rt),
        rec.headers,
        sub.primaryPartition ?? undefined,
      );
    };
  }, { stores: [subStore, ...right.stores], sinkTopic: respTopic });

  // 3. Right side: an update of a foreign key answers all its subscriptions again (Kafka's
  //    ForeignTableJoinProcessorSupplier: a prefix scan of the subscription store).
  b.add("KTABLE-FK-JOIN-FOREIGN-PROCESSOR", [right.node], (ctx) => {
    const store = ctx.store(subStore);
    const fks = ctx.keySerde(fkSerde, what);
    const rvs = ctx.valueSerde(rightValueSerde, what);
    const topic = ctx.topicName(respTopic);
    return (rec) => {
      if (rec.key === null || rec.key === undefined) {
        return ctx.dropRecord("foreign-key join of a right record without a key");
      }
      const prefix = combinedPrefix(fks.serialize(rec.key)!);
      const value = rec.value === null || rec.value === undefined ? null : rvs.serialize(rec.value);
      for (const e of prefixScan(store.range(prefix, upperBound(prefix)), prefix)) {
        const sub = decodeSubscription(e.value);
        ctx.send(
          topic,
          e.key.subarray(prefix.length),
          encodeResponse(sub.hash, value),
          rec.timestamp,
          rec.headers,
          sub.primaryPartition ?? undefined,
        );
      }
    };
  }, { stores: [subStore] });

  // 4. Left side: a response is joined with the left table's current value unless that value
  //    changed since (its hash differs: Kafka's ResponseJoinProcessorSupplier), and the result
  //    kept in the result store (Kafka's KTableSource of the result).
  const respSource = b.add("KTABLE-FK-JOIN-SUBSCRIPTION-RESPONSE-SOURCE", [], (_c, fwd) => fwd, {
    topics: [respTopic],
  });
  const node = b.add("KTABLE-FK-JOIN-OUTPUT", [respSource], (ctx, forward) => {
    const ks = ctx.keySerde(leftKeySerde, what);
    const vs = ctx.valueSerde(leftValueSerde, what);
    const rvs = ctx.valueSerde(rightValueSerde, what);
    const getLeft = left.getter(ctx);
    const store = ctx.store(resultStore);
    const rks = ctx.keySerde(resultKeySerde, resultStore);
    const res = ctx.valueSerde(resultValueSerde, resultStore);
    return (rec) => {
      if (rec.key === null || rec.value === null) {
        return ctx.dropRecord("foreign-key join response without a key or value");
      }
      const response = decodeResponse(rec.value as Uint8Array);
      const key = ks.deserialize(rec.key as Uint8Array);
      const current = (getLeft(key) ?? null) as unknown;
      const currentHash = current === null ? null : murmur3Hash128(vs.serialize(current)!);
      if (!sameBytes(response.hash, currentHash)) return; // stale: the left value changed
      const rv = response.value === null ? null : rvs.deserialize(response.value);
      const value = rv === null && (!leftJoin || current === null) ? null : joiner(current, rv);
      const kb = rks.serialize(key)!;
      const old = store.get(kb);
      const result = value === undefined ? null : value;
      store.put(kb, result === null ? null : res.serialize(result), rec.timestamp);
      forward({
        key,
        value: result,
        oldValue: old === undefined ? null : res.deserialize(old.value),
        timestamp: rec.timestamp,
        headers: rec.headers,
      });
    };
  }, { stores: [...left.stores, resultStore] });
  const getter: TableGetter = (ctx) => {
    const store = ctx.store(resultStore);
    const rks = ctx.keySerde(resultKeySerde, resultStore);
    const res = ctx.valueSerde(resultValueSerde, resultStore);
    return (key) => {
      const kb = rks.serialize(key);
      if (kb === null) return null;
      const e = store.get(kb);
      return e === undefined ? null : res.deserialize(e.value);
    };
  };
  return makeTable(b, node, resultKeySerde, resultValueSerde, [resultStore], getter);
}

/** The smallest key above every key starting with `prefix` (all 0xff: none, `undefined`). */
function upperBound(prefix: Uint8Array): Uint8Array | undefined {
  const out = prefix.slice();
  for (let i = out.length - 1; i >= 0; i--) {
    if (out[i] !== 0xff) {
      out[i]++;
      return out.subarray(0, i + 1);
    }
  }
  return undefined;
}

function* prefixScan<E extends { key: Uint8Array }>(entries: E[], prefix: Uint8Array) {
  for (const e of entries) {
    if (e.key.length < prefix.length) continue;
    let ok = true;
    for (let i = 0; i < prefix.length && ok; i++) ok = e.key[i] === prefix[i];
    if (ok) yield e;
  }
}
