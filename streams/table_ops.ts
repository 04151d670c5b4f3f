// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * Table operations of the DSL that {@linkcode KTable} delegates to: re-grouping a table
 * (`groupBy` -> {@linkcode KGroupedTable}, aggregated with an adder and a subtractor through a
 * repartition topic that carries each update's old and new value, as Kafka's
 * `KTableRepartitionMap` and `ChangedSerializer`) and table-table equi-joins (`join`,
 * `leftJoin`, `outerJoin`, as Kafka's `KTableKTableJoin`, `...LeftJoin`, `...RightJoin`,
 * `...OuterJoin` and `KTableKTableJoinMerger`).
 *
 * @module
 */

import type { Forward, GraphBuilder, NodeDef, Rec, TaskContext } from "./graph.ts";
import { type Serde, Serdes } from "./serdes.ts";
import type { Grouped, KTable, Materialized } from "./topology.ts";

/** Reads a table's current value of a key in a task (`null` when none). */
export type TableGetter = (ctx: TaskContext) => (key: unknown) => unknown;

/** What the table operations need of a {@linkcode KTable}. */
export interface TableParts {
  b: GraphBuilder;
  node: NodeDef;
  stores: string[];
  getter: TableGetter;
  keySerde: Serde<unknown> | undefined;
  valueSerde: Serde<unknown> | undefined;
}

/** Makes a {@linkcode KTable} (the DSL's constructor, passed in to keep imports one way). */
export type MakeTable = (
  b: GraphBuilder,
  node: NodeDef,
  keySerde: Serde<unknown> | undefined,
  valueSerde: Serde<unknown> | undefined,
  stores: string[],
  getter: TableGetter,
) => KTable<unknown, unknown>;

// ---------------------------------------------------------------------------------------------
// The repartition record of a re-grouped table: Kafka's `ChangedSerializer` (3.4+, KIP-904).

/** Encoding flags (the last byte): old value only, new value only, both. */
const OLD_ONLY = 0;
const NEW_ONLY = 1;
const BOTH = 2;

/**
 * Encodes a change as Kafka's `ChangedSerializer` does: `{old}{0}`, `{new}{1}`, or
 * `{varint newLength}{new}{old}{2}` (the length a zig-zag varint, as Kafka's
 * `ByteUtils.writeVarint`).
 *
 * @param newValue Serialized new value, or `null`.
 * @param oldValue Serialized old value, or `null`.
 * @returns The record value.
 * @throws {Error} If both are `null`.
 */
export function encodeChange(newValue: Uint8Array | null, oldValue: Uint8Array | null): Uint8Array {
  if (newValue !== null && oldValue !== null) {
    const len = varint(newValue.length);
    const out = new Uint8Array(len.length + newValue.length + oldValue.length + 1);
    out.set(len, 0);
    out.set(newValue, len.length);
    out.set(oldValue, len.length + newValue.length);
    out[out.length - 1] = BOTH;
    return out;
  }
  const one = newValue ?? oldValue;
  if (one === null) throw new Error("groupBy: a change with neither an old nor a new value");
  const out = new Uint8Array(one.length + 1);
  out.set(one, 0);
  out[one.length] = newValue !== null ? NEW_ONLY : OLD_ONLY;
  return out;
}

/**
 * Decodes what {@linkcode encodeChange} wrote; also Kafka's reserved flags 3-5 (the same with an
 * `isLatest` byte before the flag, KIP-914).
 *
 * @param data The record value.
 * @returns The serialized new and old values.
 * @throws {Error} On an unknown flag or a truncated record.
 */
export function decodeChange(
  data: Uint8Array,
): { newValue: Uint8Array | null; oldValue: Uint8Array | null } {
  if (data.length < 1) throw new Error("groupBy: an empty repartition record");
  let flag = data[data.length - 1];
  let end = data.length - 1;
  if (flag >= 3 && flag <= 5) {
    flag -= 3;
    end--;
  }
  if (end < 0) throw new Error("groupBy: a truncated repartition record");
  if (flag === OLD_ONLY) return { newValue: null, oldValue: data.subarray(0, end) };
  if (flag === NEW_ONLY) return { newValue: data.subarray(0, end), oldValue: null };
  if (flag !== BOTH) throw new Error(`groupBy: unknown repartition record flag ${flag}`);
  const { value: n, size } = readVarint(data, end);
  if (n < 0 || size + n > end) throw new Error("groupBy: a truncated repartition record");
  return { newValue: data.subarray(size, size + n), oldValue: data.subarray(size + n, end) };
}

function varint(n: number): Uint8Array {
  let v = ((n << 1) ^ (n >> 31)) >>> 0;
  const out: number[] = [];
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  out.push(v);
  return Uint8Array.from(out);
}

function readVarint(data: Uint8Array, end: number): { value: number; size: number } {
  let v = 0;
  for (let i = 0, shift = 0; i < Math.min(5, end); i++, shift += 7) {
    const b = data[i];
    v |= (b & 0x7f) << shift;
    if ((b & 0x80) === 0) return { value: (v >>> 1) ^ -(v & 1), size: i + 1 };
  }
  throw new Error("groupBy: a bad length in a repartition record");
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

// ---------------------------------------------------------------------------------------------
// KTable.groupBy

/** How a grouped table reaches its aggregation: built once the store name is known. */
interface TableGrouping<K, V> {
  b: GraphBuilder;
  /** Adds the repartition topic (named by `Grouped.name`, else after the aggregation's store)
   * and returns its source node. */
  input: (storeName: string) => NodeDef;
  keySerde: Serde<K> | undefined;
  valueSerde: Serde<V> | undefined;
  makeTable: MakeTable;
}

/**
 * `table.groupBy(selector, grouped)`: a node mapping each update to its old and new group,
 * written to `<applicationId>-<name>-repartition` and read back (the returned grouping adds
 * them when the aggregation names its store).
 *
 * @param t The table.
 * @param selector New key and value of an entry.
 * @param grouped The repartition topic's name and serdes.
 * @param makeTable The DSL's table constructor.
 * @returns The grouped table.
 */
export function groupTable<K, V, K2, V2>(
  t: TableParts,
  selector: (key: K, value: V) => [K2, V2],
  grouped: Grouped<K2, V2>,
  makeTable: MakeTable,
): KGroupedTable<K2, V2> {
  const b = t.b;
  const keySerde = grouped.keySerde;
  const valueSerde = grouped.valueSerde;
  const select = b.add("KTABLE-SELECT", [t.node], (ctx, forward) => {
    const ks = ctx.keySerde(keySerde, "groupBy");
    const pair = (key: unknown, value: unknown): [K2, V2] | null => {
      if (value === null || value === undefined) return null;
      const p = selector(key as K, value as V);
      return p[0] === null || p[0] === undefined || p[1] === null || p[1] === undefined ? null : p;
    };
    // As Kafka's KTableRepartitionMap (3.4+): the old pair first, then the new; one record
    // with both when they fall in the same group (the aggregation subtracts, then adds).
    return (rec) => {
      if (rec.key === null || rec.key === undefined) {
        return ctx.dropRecord("table update without a key");
      }
      const newPair = pair(rec.key, rec.value);
      const oldPair = pair(rec.key, rec.oldValue);
      const out = (key: unknown, value: unknown, oldValue: unknown) =>
        forward({ key, value, oldValue, timestamp: rec.timestamp, headers: rec.headers });
      if (
        newPair !== null && oldPair !== null &&
        sameBytes(ks.serialize(newPair[0])!, ks.serialize(oldPair[0])!)
      ) {
        return out(newPair[0], newPair[1], oldPair[1]);
      }
      if (oldPair !== null) out(oldPair[0], null, oldPair[1]);
      if (newPair !== null) out(newPair[0], newPair[1], null);
    };
  });
  const input = (storeName: string): NodeDef => {
    const topic = `${grouped.name ?? storeName}-repartition`;
    if (b.internalTopics.has(topic)) {
      throw new Error(`topology: repartition topic ${topic} already exists`);
    }
    b.internalTopics.add(topic);
    b.add("KSTREAM-SINK", [select], (ctx) => {
      const ks = ctx.keySerde(keySerde, `sink ${topic}`);
      const vs = ctx.valueSerde(valueSerde, `sink ${topic}`);
      const name = ctx.topicName(topic);
      return (rec) => {
        const nv = rec.value === null ? null : vs.serialize(rec.value as V2);
        const ov = rec.oldValue === null || rec.oldValue === undefined
          ? null
          : vs.serialize(rec.oldValue as V2);
        ctx.send(
          name,
          ks.serialize(rec.key as K2),
          encodeChange(nv, ov),
          rec.timestamp,
          rec.headers,
        );
      };
    }, { sinkTopic: topic });
    return b.add("KSTREAM-SOURCE", [], (ctx, forward) => {
      const ks = ctx.keySerde(keySerde, `source ${topic}`);
      const vs = ctx.valueSerde(valueSerde, `source ${topic}`);
      return (rec) => {
        if (rec.value === null) return ctx.dropRecord("repartition record without a value");
        const change = decodeChange(rec.value as Uint8Array);
        forward({
          key: ks.deserialize(rec.key as Uint8Array | null),
          value: change.newValue === null ? null : vs.deserialize(change.newValue),
          oldValue: change.oldValue === null ? null : vs.deserialize(change.oldValue),
          timestamp: rec.timestamp,
          headers: rec.headers,
        });
      };
    }, { topics: [topic] });
  };
  return newGroupedTable({ b, input, keySerde, valueSerde, makeTable });
}

let newGroupedTable: <K, V>(g: TableGrouping<K, V>) => KGroupedTable<K, V>;

/** Applies one change to an aggregate: the subtractor for the old value, then the adder. */
type TableUpdate = (
  key: unknown,
  newValue: unknown,
  oldValue: unknown,
  aggregate: unknown,
) => { value: unknown; subtracted: boolean; added: boolean };

/**
 * A re-grouped table ({@linkcode KTable.groupBy}), to aggregate per new key with an adder and
 * a subtractor: an update of the table subtracts the entry's old value from its old group and
 * adds the new value to its new group (a deletion only subtracts).
 *
 * @example Users per region (Kafka's `groupBy(...).count()` on a table)
 * ```ts
 * import { Serdes, StreamsBuilder, TopologyTestDriver } from "./mod.ts";
 * const S = Serdes.String();
 * const b = new StreamsBuilder();
 * b.table<string, string>("user-regions", { keySerde: S, valueSerde: S })
 *   .groupBy((user, region) => [region, user], { keySerde: S, valueSerde: S })
 *   .count({ storeName: "users-per-region" })
 *   .toStream().to("out", { keySerde: S, valueSerde: Serdes.Int64() });
 * const d = new TopologyTestDriver(b.build());
 * const users = d.createInputTopic("user-regions", S, S);
 * users.pipeInput("alice", "europe");
 * users.pipeInput("alice", "asia"); // moves: europe 0, asia 1
 * const out = d.createOutputTopic("out", S, Serdes.Int64()).readKeyValuesToList();
 * console.assert(JSON.stringify(out) === '[["europe",1],["europe",0],["asia",1]]');
 * ```
 *
 * @typeParam K The new key type.
 * @typeParam V The new value type.
 */
export class KGroupedTable<K, V> {
  #g!: TableGrouping<K, V>;

  private constructor() {}

  static {
    newGroupedTable = <K, V>(g: TableGrouping<K, V>) => {
      const t = new KGroupedTable<K, V>();
      t.#g = g;
      return t;
    };
  }

  #aggregate<VA>(
    update: TableUpdate,
    materialized: Materialized<K, VA>,
    prefix: string,
  ): KTable<K, VA> {
    const { b, makeTable } = this.#g;
    const storeName = materialized.storeName ?? b.newName(`${prefix}-STATE-STORE`);
    const input = this.#g.input(storeName);
    const keySerde = materialized.keySerde ?? this.#g.keySerde;
    const valueSerde = materialized.valueSerde;
    b.addStore({
      name: storeName,
      kind: "kv",
      persistent: materialized.persistent ?? false,
      keySerde: keySerde as Serde<unknown> | undefined,
      valueSerde: valueSerde as Serde<unknown> | undefined,
    });
    const node = b.add(prefix, [input], (ctx, forward) => {
      const ks = ctx.keySerde(keySerde, storeName);
      const vs = ctx.valueSerde(valueSerde, storeName);
      const store = ctx.store(storeName);
      // As Kafka's KTableAggregate / KTableReduce: subtract the old value, add the new one,
      // one result; its timestamp the larger of the record's and the aggregate's last one.
      return (rec) => {
        if (rec.key === null || rec.key === undefined) {
          return ctx.dropRecord("table aggregation of a record without a key");
        }
        const kb = ks.serialize(rec.key as K)!;
        const e = store.get(kb);
        const oldAgg = e === undefined ? null : vs.deserialize(e.value);
        const r = update(rec.key, rec.value ?? null, rec.oldValue ?? null, oldAgg);
        const timestamp = e !== undefined && (r.subtracted || r.added)
          ? Math.max(rec.timestamp, e.timestamp)
          : rec.timestamp;
        const value = r.value === undefined ? null : r.value;
        store.put(kb, value === null ? null : vs.serialize(value as VA), timestamp);
        forward({ key: rec.key, value, oldValue: oldAgg, timestamp, headers: rec.headers });
      };
    }, { stores: [storeName] });
    return makeTable(
      b,
      node,
      keySerde as Serde<unknown> | undefined,
      valueSerde as Serde<unknown> | undefined,
      [storeName],
      storeGetter(storeName, keySerde, valueSerde),
    ) as KTable<K, VA>;
  }

  /**
   * Counts the entries per group: +1 for an entry that enters the group, -1 for one that
   * leaves it (a group that empties keeps the count 0, as in Kafka).
   *
   * @param materialized The store (value serde default: int64).
   * @returns The counts.
   */
  count(materialized: Materialized<K, number> = {}): KTable<K, number> {
    return this.aggregate<number>(
      () => 0,
      (_k, _v, n) => n + 1,
      (_k, _v, n) => n - 1,
      { ...materialized, valueSerde: materialized.valueSerde ?? Serdes.Int64() },
    );
  }

  /**
   * Combines the values per group: `adder` for a value entering the group (the first value is
   * the aggregate as it is), `subtractor` for one leaving it. A `null` result deletes the group.
   *
   * @param adder New aggregate from the current one and an added value.
   * @param subtractor New aggregate from the current one and a removed value.
   * @param materialized The store (value serde default: the grouping's).
   * @returns The reduced table.
   */
  reduce(
    adder: (aggregate: V, value: V) => V,
    subtractor: (aggregate: V, value: V) => V,
    materialized: Materialized<K, V> = {},
  ): KTable<K, V> {
    return this.#aggregate<V>(
      (_k, nv, ov, agg) => {
        let value = agg;
        const subtracted = ov !== null && agg !== null;
        if (subtracted) value = subtractor(agg as V, ov as V);
        let added = false;
        if (nv !== null) {
          if (value === null || value === undefined) value = nv;
          else {
            value = adder(value as V, nv as V);
            added = true;
          }
        }
        return { value, subtracted, added };
      },
      { ...materialized, valueSerde: materialized.valueSerde ?? this.#g.valueSerde },
      "KTABLE-REDUCE",
    );
  }

  /**
   * Aggregates the values per group: `adder` for a value entering the group (a new group
   * starts from `initializer()`), `subtractor` for one leaving it.
   *
   * @param initializer The aggregate of a new group.
   * @param adder New aggregate from the group key, an added value and the current aggregate.
   * @param subtractor New aggregate from the group key, a removed value and the aggregate.
   * @param materialized The store (give a value serde for the aggregate).
   * @returns The aggregated table.
   */
  aggregate<VA>(
    initializer: () => VA,
    adder: (key: K, value: V, aggregate: VA) => VA,
    subtractor: (key: K, value: V, aggregate: VA) => VA,
    materialized: Materialized<K, VA> = {},
  ): KTable<K, VA> {
    return this.#aggregate<VA>(
      (k, nv, ov, agg) => {
        let value = agg;
        const subtracted = ov !== null && agg !== null;
        if (subtracted) value = subtractor(k as K, ov as V, agg as VA);
        const added = nv !== null;
        if (added) {
          value = adder(k as K, nv as V, value === null ? initializer() : value as VA);
        }
        return { value, subtracted, added };
      },
      materialized,
      "KTABLE-AGGREGATE",
    );
  }
}

/**
 * The timestamp of a table's value for a key (Kafka's `ValueAndTimestamp`): the latest of its
 * key-value stores' entries for the key (one store for a source table, an aggregation or a
 * materialized join, and the tables derived from them; both sides' for a join without a store,
 * as Kafka's join value getter). `null` when none holds the key, or the table is windowed.
 */
export function valueTime(t: TableParts, ctx: TaskContext): (key: unknown) => number | null {
  const defs = t.stores.map((name) => t.b.stores.get(name)!);
  if (defs.some((d) => d.kind !== "kv")) return () => null;
  const reads = defs.map((d) => {
    const store = ctx.store(d.name);
    const ks = ctx.keySerde(d.keySerde ?? t.keySerde, d.name);
    return (key: unknown) => {
      const kb = ks.serialize(key);
      return kb === null ? undefined : store.get(kb)?.timestamp;
    };
  });
  return (key) => {
    let time: number | null = null;
    for (const read of reads) {
      const ts = read(key);
      if (ts !== undefined && (time === null || ts > time)) time = ts;
    }
    return time;
  };
}

function storeGetter(
  storeName: string,
  keySerde: Serde<unknown> | undefined,
  valueSerde: Serde<unknown> | undefined,
): TableGetter {
  return (ctx) => {
    const store = ctx.store(storeName);
    const ks = ctx.keySerde(keySerde, storeName);
    const vs = ctx.valueSerde(valueSerde, storeName);
    return (key) => {
      const kb = ks.serialize(key);
      if (kb === null) return null;
      const e = store.get(kb);
      return e === undefined ? null : vs.deserialize(e.value);
    };
  };
}

// ---------------------------------------------------------------------------------------------
// Table-table joins

/** The kind of a table-table join. */
export type TableJoinMode = "inner" | "left" | "outer";

/**
 * `left.join(right, joiner)` (or `leftJoin`, `outerJoin`) of two co-partitioned tables: each
 * side's update looks the key up in the other side's table and forwards the joined value, or
 * a tombstone when the key no longer joins (Kafka's KTable-KTable join semantics). The two
 * tables' stores join one sub-topology, so the runtime requires their topics to have the same
 * partition count.
 *
 * @param left This table.
 * @param right The other table.
 * @param joiner The result from both sides' values (`null` for a missing side of a left or
 *   outer join).
 * @param mode Inner, left or outer.
 * @param materialized A store for the result (with `storeName`), queryable; else none.
 * @param makeTable The DSL's table constructor.
 * @returns The joined table.
 */
export function joinTables(
  left: TableParts,
  right: TableParts,
  joiner: (l: unknown, r: unknown) => unknown,
  mode: TableJoinMode,
  materialized: Materialized<unknown, unknown>,
  makeTable: MakeTable,
): KTable<unknown, unknown> {
  const b = left.b;
  if (right.b !== b) throw new Error("join: the tables come from different builders");
  const names = mode === "inner"
    ? ["KTABLE-JOINTHIS", "KTABLE-JOINOTHER"]
    : mode === "left"
    ? ["KTABLE-LEFTTHIS", "KTABLE-LEFTOTHER"]
    : ["KTABLE-OUTERTHIS", "KTABLE-OUTEROTHER"];
  const stores = [...new Set([...left.stores, ...right.stores])];
  // Whether a side's value alone (the other missing) gives a result.
  const keepsLeft = mode !== "inner";
  const keepsRight = mode === "outer";
  const side = (isLeft: boolean) => (ctx: TaskContext, forward: Forward) => {
    const other = (isLeft ? right : left).getter(ctx);
    const keepsMine = isLeft ? keepsLeft : keepsRight;
    const keepsTheirs = isLeft ? keepsRight : keepsLeft;
    const join = (mine: unknown, theirs: unknown) =>
      isLeft ? joiner(mine, theirs) : joiner(theirs, mine);
    // A result of this side's value `mine` (maybe null) with the other's `theirs`.
    const result = (mine: unknown, theirs: unknown): unknown => {
      if (mine !== null && theirs !== null) return join(mine, theirs);
      if (mine !== null && keepsMine) return join(mine, null);
      if (theirs !== null && keepsTheirs) return join(null, theirs);
      return null;
    };
    const otherTime = valueTime(isLeft ? right : left, ctx);
    return (rec: Rec) => {
      if (rec.key === null || rec.key === undefined) {
        return ctx.dropRecord("table join of a record without a key");
      }
      const theirs = (other(rec.key) ?? null) as unknown;
      const mine = rec.value ?? null;
      const mineBefore = rec.oldValue ?? null;
      // Nothing joined before or after: Kafka forwards nothing (an inner join, or this side's
      // update when the other side is missing and this side is not kept).
      if (theirs === null && !(keepsMine && (mine !== null || mineBefore !== null))) return;
      // Kafka: the larger of the update's timestamp and the other side's value's.
      const timestamp = theirs === null
        ? rec.timestamp
        : Math.max(rec.timestamp, otherTime(rec.key) ?? rec.timestamp);
      forward({
        key: rec.key,
        value: result(mine, theirs),
        oldValue: result(mineBefore, theirs),
        timestamp,
        headers: rec.headers,
      });
    };
  };
  const l = b.add(names[0], [left.node], side(true), { stores });
  const r = b.add(names[1], [right.node], side(false), { stores });
  const storeName = materialized.storeName;
  const keySerde = (materialized.keySerde ?? left.keySerde ?? right.keySerde) as
    | Serde<unknown>
    | undefined;
  const valueSerde = materialized.valueSerde as Serde<unknown> | undefined;
  if (storeName !== undefined) {
    b.addStore({
      name: storeName,
      kind: "kv",
      persistent: materialized.persistent ?? false,
      keySerde,
      valueSerde,
    });
  }
  const merged = b.add("KTABLE-MERGE", [l, r], (ctx, forward) => {
    if (storeName === undefined) return forward;
    // Kafka's KTableKTableJoinMerger with a store: the result is put there, and the old value
    // forwarded is the store's.
    const store = ctx.store(storeName);
    const ks = ctx.keySerde(keySerde, storeName);
    const vs = ctx.valueSerde(valueSerde, storeName);
    return (rec) => {
      const kb = ks.serialize(rec.key)!;
      const old = store.get(kb);
      store.put(kb, rec.value === null ? null : vs.serialize(rec.value), rec.timestamp);
      forward({ ...rec, oldValue: old === undefined ? null : vs.deserialize(old.value) });
    };
  }, { stores: storeName === undefined ? [] : [...stores, storeName] });
  const getter: TableGetter = storeName !== undefined
    ? storeGetter(storeName, keySerde, valueSerde)
    : (ctx) => {
      const getLeft = left.getter(ctx);
      const getRight = right.getter(ctx);
      return (key) => {
        const lv = (getLeft(key) ?? null) as unknown;
        const rv = lv === null && !keepsRight ? null : (getRight(key) ?? null) as unknown;
        if (lv !== null && rv !== null) return joiner(lv, rv);
        if (lv !== null && keepsLeft) return joiner(lv, null);
        if (rv !== null && keepsRight) return joiner(null, rv);
        return null;
      };
    };
  return makeTable(
    b,
    merged,
    keySerde,
    valueSerde,
    storeName !== undefined ? [storeName] : stores,
    getter,
  );
}
