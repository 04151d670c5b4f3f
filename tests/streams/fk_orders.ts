// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * The foreign-key join scenario of the broker and kill tests: orders (`<customer>:<n>`, `-:<n>`
 * for no customer) joined inner and left with customers, random updates of both, and the model
 * of the two joined tables.
 *
 * @module
 */

import { type Client, Producer } from "../../client/mod.ts";
import { StreamsBuilder, type Topology } from "../../streams/mod.ts";
import { prng } from "../../streams/testing.ts";

/** An update: side, key, value (`null`: delete). A left value is `<fk>:<n>`, `-:<n>` for a
 * `null` foreign key. */
export type Update = ["l" | "r", string, string | null];

export function updates(seed: number, n: number): Update[] {
  const rnd = prng(seed);
  const out: Update[] = [];
  for (let i = 0; i < n; i++) {
    if (rnd() < 0.6) {
      const key = `o${Math.floor(rnd() * 30)}`;
      const r = rnd();
      const fk = r < 0.1 ? "-" : `c${Math.floor(rnd() * 8)}`;
      out.push(["l", key, r > 0.85 ? null : `${fk}:${i}`]);
    } else {
      const key = `c${Math.floor(rnd() * 8)}`;
      out.push(["r", key, rnd() < 0.2 ? null : `name${i}`]);
    }
  }
  return out;
}

export const fkOf = (v: string): string | null => v.startsWith("-:") ? null : v.split(":")[0];
export const joiner = (l: string, r: string | null) => `${l}+${r}`;

/** The two joins' final tables: every left row with a foreign key whose right row exists
 * (inner), every left row (left join, `null` for no right row). */
export function model(list: Update[]): { inner: Map<string, string>; left: Map<string, string> } {
  const l = new Map<string, string>();
  const r = new Map<string, string>();
  for (const [side, k, v] of list) {
    const t = side === "l" ? l : r;
    v === null ? t.delete(k) : t.set(k, v);
  }
  const inner = new Map<string, string>();
  const left = new Map<string, string>();
  for (const [k, v] of l) {
    const fk = fkOf(v);
    const rv = fk === null ? null : r.get(fk) ?? null;
    if (rv !== null) inner.set(k, joiner(v, rv));
    left.set(k, joiner(v, rv));
  }
  return { inner, left };
}

export function topology(
  orders: string,
  customers: string,
  innerOut: string,
  leftOut: string,
): Topology {
  const b = new StreamsBuilder();
  const o = b.table<string, string>(orders, { storeName: "orders" });
  const c = b.table<string, string>(customers, { storeName: "customers" });
  o.join(c, fkOf, joiner, { name: "fk-inner", storeName: "inner-result" })
    .toStream().to(innerOut);
  o.leftJoin(c, fkOf, joiner, { name: "fk-left", storeName: "left-result" })
    .toStream().to(leftOut);
  return b.build();
}

export async function produce(client: Client, orders: string, customers: string, list: Update[]) {
  const producer = new Producer(client);
  try {
    // In runs, the two topics alternating, so left and right updates interleave in time.
    for (let i = 0; i < list.length; i += 25) {
      const run = list.slice(i, i + 25);
      for (const [side, topic] of [["l", orders], ["r", customers]] as const) {
        const messages = run.filter((u) => u[0] === side).map(([, key, value]) => ({
          key,
          value,
        }));
        if (messages.length > 0) await producer.send({ topic, messages });
      }
    }
  } finally {
    await producer.close();
  }
}
