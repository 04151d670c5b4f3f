// Copyright 2026 the Sluice authors. Apache-2.0 license.
// A versioned table (KIP-889 store, KIP-914 table source) on a real broker: random updates with
// out-of-order timestamps and deletes, 2 partitions, stopped in the middle and restarted; the
// store's latest values, its answers as of many times, and the table's output (in-order updates
// only) must equal a model computed here, under at-least-once and exactly-once.
import assert, { deepStrictEqual as assertEquals } from "node:assert/strict";
import { Client, Producer } from "../client/mod.ts";
import { sharedBroker, uniqueTopic } from "../tests/harness.ts";
import { KafkaStreams, Serdes, Stores, StreamsBuilder, type StreamsConfig } from "./mod.ts";
import { createTopics, eventually, prng, readAll } from "./testing.ts";

const broker = sharedBroker();
const S = Serdes.String();
const KEYS = 16;
const SPAN = 20_000; // 1000 updates 20 ms apart

/** key, value (`null`: delete), timestamp offset from the run's base time. */
type Update = [string, string | null, number];

/** Times mostly rising (20 ms apart, from `start`), a third of them up to 2 s late. */
function updates(seed: number, n: number, tag: string, start: number): Update[] {
  const rnd = prng(seed);
  return Array.from({ length: n }, (_, i) => [
    `k${Math.floor(rnd() * KEYS)}`,
    rnd() < 0.15 ? null : `${tag}${i}`,
    Math.max(0, (start + i) * 20 - (rnd() < 0.33 ? Math.floor(rnd() * 2000) : 0)),
  ]);
}

/** Per key, in offset order: the forwarded (in-order) updates, and every update kept. */
function model(list: Update[]) {
  const latestTime = new Map<string, number>();
  const forwarded = new Map<string, string[]>();
  const kept = new Map<string, Array<[number, string | null]>>();
  for (const [k, v, t] of list) {
    if (!kept.has(k)) kept.set(k, []);
    kept.get(k)!.push([t, v]);
    if (t >= (latestTime.get(k) ?? -1)) {
      latestTime.set(k, t);
      if (!forwarded.has(k)) forwarded.set(k, []);
      forwarded.get(k)!.push(`${v ?? ""}@${t}`);
    }
  }
  /** The value as of a time: the last kept update at or before it (ties: the later one). */
  const asOf = (k: string, time: number): string | null => {
    let best: [number, string | null] | null = null;
    for (const u of kept.get(k) ?? []) {
      if (u[0] <= time && (best === null || u[0] >= best[0])) best = u;
    }
    return best === null ? null : best[1];
  };
  return { forwarded, asOf, latestTime };
}

function topology(input: string, out: string) {
  const b = new StreamsBuilder();
  b.table<string, string>(input, {
    ...Stores.persistentVersionedKeyValueStore("prices", 3_600_000),
  })
    .toStream().to(out);
  return b.build();
}

async function produce(client: Client, topic: string, base: number, list: Update[]) {
  const producer = new Producer(client);
  try {
    // In small batches, so an instance can stop between them.
    for (let i = 0; i < list.length; i += 20) {
      await producer.send({
        topic,
        messages: list.slice(i, i + 20).map(([key, value, t]) => ({
          key,
          value,
          timestamp: base + t,
        })),
      });
    }
  } finally {
    await producer.close();
  }
}

async function versionedRun(guarantee: "at_least_once" | "exactly_once_v2") {
  const { bootstrap } = await broker();
  const client = new Client({ bootstrapServers: bootstrap });
  const input = uniqueTopic("prices");
  const out = uniqueTopic("prices-out");
  await createTopics(client, 2, input, out);
  const stateDir = await Deno.makeTempDir();
  const config: StreamsConfig = {
    applicationId: uniqueTopic("versioned-app"),
    bootstrapServers: bootstrap,
    defaultKeySerde: S,
    defaultValueSerde: S,
    processingGuarantee: guarantee,
    commitIntervalMs: 100,
    stateDir,
  };
  const base = Date.now() - 3_600_000;
  const seed = guarantee === "at_least_once" ? 30 : 40;
  const first = updates(seed + 1, 400, "a", 0);
  const second = updates(seed + 2, 400, "b", 400);
  const third = updates(seed + 3, 200, "c", 800);
  const m = model([...first, ...second, ...third]);
  // What the store must answer: each key's latest, and its value as of times across the span.
  const points = Array.from({ length: 25 }, (_, i) => Math.floor(i * SPAN / 24));
  const wanted = () => {
    const rows: string[] = [];
    for (let k = 0; k < KEYS; k++) {
      const key = `k${k}`;
      const lt = m.latestTime.get(key);
      rows.push(`${key} latest ${lt === undefined ? null : m.asOf(key, lt)}`);
      for (const p of points) rows.push(`${key}@${p} ${m.asOf(key, p)}`);
    }
    return rows;
  };
  const actual = (s: KafkaStreams) => {
    const store = s.versionedStore<string, string>("prices");
    const rows: string[] = [];
    for (let k = 0; k < KEYS; k++) {
      const key = `k${k}`;
      rows.push(`${key} latest ${store.get(key)?.value ?? null}`);
      for (const p of points) rows.push(`${key}@${p} ${store.get(key, base + p)?.value ?? null}`);
    }
    return rows;
  };
  try {
    await produce(client, input, base, first);
    const a = new KafkaStreams(topology(input, out), config);
    await a.start();
    try {
      await eventually("the first updates", () => a.metrics().processed >= 400);
      // Closed while it takes in more: stopped somewhere in the second part.
      const more = produce(client, input, base, second);
      await eventually("some of the second updates", () => a.metrics().processed >= 550);
      await more;
    } finally {
      await a.close();
    }
    await produce(client, input, base, third);
    // A fresh instance (its own state directory): everything comes from the changelogs.
    const b = new KafkaStreams(topology(input, out), {
      ...config,
      stateDir: await Deno.makeTempDir(),
    });
    await b.start();
    try {
      assert(b.metrics().restored > 0, `restored ${b.metrics().restored}`);
      const want = wanted();
      await eventually("the versions", () => JSON.stringify(actual(b)) === JSON.stringify(want))
        .catch((e) => {
          assertEquals(actual(b), want);
          throw e;
        });
    } finally {
      await b.close();
    }
    // The output: only in-order updates (KIP-914); exactly them once under exactly-once.
    const byKey = new Map<string, string[]>();
    for (const part of await readAll(client, out)) {
      for (const r of part) {
        const [key, rest] = [r.slice(0, r.indexOf(":")), r.slice(r.indexOf(":") + 1)];
        const at = rest.lastIndexOf("@");
        const value = `${rest.slice(0, at)}@${Number(rest.slice(at + 1)) - base}`;
        if (!byKey.has(key)) byKey.set(key, []);
        byKey.get(key)!.push(value);
      }
    }
    const outOfOrder = [...first, ...second, ...third].length -
      [...m.forwarded.values()].reduce((n, l) => n + l.length, 0);
    assert(outOfOrder > 150, `out-of-order updates: ${outOfOrder}`);
    for (const [key, list] of m.forwarded) {
      const got = byKey.get(key) ?? [];
      if (guarantee === "exactly_once_v2") assertEquals(got, list, key);
      else {
        // At-least-once may repeat a stretch after the restart: the same updates, in order.
        const deduped = got.filter((v, i) => got.indexOf(v) === i);
        assertEquals(deduped, list.filter((v, i) => list.indexOf(v) === i), key);
      }
    }
  } finally {
    await client.close();
    await Deno.remove(stateDir, { recursive: true });
  }
}

Deno.test("versioned table on a broker: out-of-order updates, restart in the middle, as-of reads and output exact (at-least-once)", async () => {
  await versionedRun("at_least_once");
});

Deno.test("versioned table on a broker: out-of-order updates, restart in the middle, as-of reads and output exact (exactly-once)", async () => {
  await versionedRun("exactly_once_v2");
});
