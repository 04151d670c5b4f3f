// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * Test support for `streams/` (not exported): seeded text, the word-count model, and a reader
 * of a topic's latest value per key.
 *
 * @module
 */

import { Admin, type Client, Consumer, Producer } from "../client/mod.ts";
import { waitFor } from "../tests/harness.ts";

/** A seeded PRNG (mulberry32): the same run every time. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `count` lines of 1–`maxWords` words from a vocabulary of `vocabulary` words. */
export function lines(seed: number, count: number, vocabulary = 200, maxWords = 8): string[] {
  const rnd = prng(seed);
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const n = 1 + Math.floor(rnd() * maxWords);
    const words: string[] = [];
    for (let j = 0; j < n; j++) {
      const w = `w${Math.floor(rnd() * vocabulary)}`;
      words.push(rnd() < 0.1 ? w.toUpperCase() : w);
    }
    out.push(words.join(rnd() < 0.5 ? " " : ", "));
  }
  return out;
}

/** Kafka's WordCountDemo split: lower case, split on non-word characters. */
export function words(line: string): string[] {
  return line.toLowerCase().split(/\W+/).filter((w) => w !== "");
}

/** The word counts of the lines. */
export function wordCountModel(text: string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const l of text) for (const w of words(l)) m.set(w, (m.get(w) ?? 0) + 1);
  return m;
}

/** Produces string values (null keys) to a topic in batches. */
export async function produceLines(
  client: Client,
  topic: string,
  text: string[],
  options: { key?: (i: number) => string; timestamp?: (i: number) => number } = {},
): Promise<void> {
  const producer = new Producer(client);
  try {
    for (let i = 0; i < text.length; i += 1000) {
      await producer.send({
        topic,
        messages: text.slice(i, i + 1000).map((value, j) => ({
          key: options.key?.(i + j) ?? null,
          value,
          timestamp: options.timestamp?.(i + j),
        })),
      });
    }
  } finally {
    await producer.close();
  }
}

/** Creates topics with `partitions` partitions each. */
export async function createTopics(client: Client, partitions: number, ...names: string[]) {
  await new Admin(client).createTopics(names.map((name) => ({ name, numPartitions: partitions })));
}

/**
 * Reads a topic from the beginning to its current end (read committed when asked): the latest
 * value per key, decoded with `decode`, and how many records there were.
 */
export async function latestByKey<V>(
  client: Client,
  topic: string,
  decode: (b: Uint8Array | null) => V,
  options: { readCommitted?: boolean } = {},
): Promise<{ values: Map<string, V>; records: number }> {
  const info = await client.topic(topic, { refresh: true });
  const admin = new Admin(client);
  const ends = await admin.listOffsets(
    info.partitions.map((p) => ({ topic, partition: p.partition, spec: "latest" as const })),
  );
  const consumer = new Consumer(client, {
    fromBeginning: true,
    isolationLevel: options.readCommitted ? 1 : 0,
  });
  const values = new Map<string, V>();
  let records = 0;
  try {
    await consumer.assign(info.partitions.map((p) => ({ topic, partition: p.partition })));
    const deadline = Date.now() + 60_000;
    const text = new TextDecoder();
    for (;;) {
      const pos = consumer.assignment();
      if (pos.every((p) => p.offset >= ends[p.partition].offset)) break;
      if (Date.now() > deadline) throw new Error(`read ${topic}: did not reach the end`);
      for (const r of await consumer.poll({ maxWaitMs: 200 })) {
        records++;
        values.set(text.decode(r.key ?? new Uint8Array()), decode(r.value));
      }
    }
  } finally {
    await consumer.close();
  }
  return { values, records };
}

/** Waits until `check` holds (polling every 100 ms) or fails after `timeoutMs`. */
export async function eventually(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 60_000,
): Promise<void> {
  await waitFor(what, check, { timeoutMs, intervalMs: 100 });
}

/** Map entries sorted by key, for readable equality assertions. */
export function sorted<V>(m: Map<string, V>): Array<[string, V]> {
  return [...m].sort((a, b) => a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);
}

/**
 * Windowed counts as a model computes them: per partition stream time (the largest timestamp
 * so far), a record dropped for each window whose end is at or before stream time minus grace.
 *
 * @returns Counts by `key@windowStart`, and how many (record, window) pairs were dropped.
 */
export function windowCountModel(
  records: Array<{ key: string; timestamp: number; partition: number }>,
  windowsFor: (ts: number) => Array<{ start: number; end: number }>,
  graceMs: number,
): { counts: Map<string, number>; dropped: number } {
  const counts = new Map<string, number>();
  const streamTime = new Map<number, number>();
  let dropped = 0;
  for (const r of records) {
    const st = Math.max(streamTime.get(r.partition) ?? -1, r.timestamp);
    streamTime.set(r.partition, st);
    for (const w of windowsFor(r.timestamp)) {
      if (w.end <= st - graceMs) {
        dropped++;
        continue;
      }
      const k = `${r.key}@${w.start}`;
      counts.set(k, (counts.get(k) ?? 0) + 1);
    }
  }
  return { counts, dropped };
}

/** A stream–stream left join, or an outer join. */
export type JoinMode = "left" | "outer";

/** A join input record: side (`l`eft, `r`ight), key, value, timestamp. */
export type JoinInput = ["l" | "r", string, string, number];

/**
 * A straightforward model of Kafka's stream–stream left/outer join: each side's store expires
 * by the latest record time put into it (retention before + after + grace); the join's time is
 * the largest timestamp of either side; a record at that time first emits every waiting
 * record whose window + grace has closed (by time, right before left, key, arrival), then
 * joins; an unmatched record of a kept side waits, or is emitted at once if its window has
 * closed already.
 */
export function outerJoinModel(
  records: JoinInput[],
  before: number,
  after: number,
  grace: number,
  mode: JoinMode,
): string[] {
  const retention = before + after + grace;
  const stores = {
    l: { time: -1, entries: [] as Array<[string, string, number]> },
    r: { time: -1, entries: [] as Array<[string, string, number]> },
  };
  let time = -1;
  let waiting: Array<{ side: "l" | "r"; key: string; value: string; ts: number; n: number }> = [];
  const out: string[] = [];
  const show = (key: string, l: string | null, r: string | null, ts: number) =>
    out.push(`${key}:${l}+${r}@${ts}`);
  let n = 0;
  for (const [side, key, value, ts] of records) {
    const mine = stores[side];
    const theirs = stores[side === "l" ? "r" : "l"];
    const [lo, hi] = side === "l" ? [before, after] : [after, before];
    mine.time = Math.max(mine.time, ts);
    if (ts >= mine.time - retention + 1) mine.entries.push([key, value, ts]);
    time = Math.max(time, ts);
    if (ts === time) {
      const closed = waiting.filter((w) => w.ts + (w.side === "l" ? after : before) + grace < time);
      closed.sort((x, y) =>
        x.ts - y.ts || (x.side === y.side ? 0 : x.side === "r" ? -1 : 1) ||
        (x.key < y.key ? -1 : x.key > y.key ? 1 : 0) || x.n - y.n
      );
      for (const w of closed) {
        show(w.key, w.side === "l" ? w.value : null, w.side === "r" ? w.value : null, w.ts);
      }
      waiting = waiting.filter((w) => !closed.includes(w));
    }
    const matches = theirs.entries
      .filter(([k, , t]) =>
        k === key && t >= theirs.time - retention + 1 && t >= ts - lo && t <= ts + hi
      )
      .map((e, i) => [e, i] as const)
      .sort(([x, i], [y, j]) => x[2] - y[2] || i - j);
    for (const [[, v, t]] of matches) {
      waiting = waiting.filter((w) => !(w.side !== side && w.key === key && w.ts === t));
      if (side === "l") show(key, value, v, Math.max(ts, t));
      else show(key, v, value, Math.max(ts, t));
    }
    const keeps = mode === "outer" || side === "l";
    if (matches.length > 0 || !keeps) continue;
    if (ts + hi < time) show(key, side === "l" ? value : null, side === "r" ? value : null, ts);
    else waiting.push({ side, key, value, ts, n: n++ });
  }
  return out;
}

/**
 * Kafka's windowed count with `suppress(untilWindowCloses)`: the aggregation drops a record's
 * window when its end is at or before the time it has seen minus grace (counted in `dropped`);
 * the suppression's time is the largest timestamp of a record that updated a window, and after
 * each record every buffered window whose end is at or before that time minus grace is
 * forwarded once (by end, then key), as `key@start=count@timestamp of its last update`.
 */
export function suppressedCountModel(
  records: Array<[string, number]>,
  size: number,
  advance: number,
  grace: number,
): { finals: string[]; dropped: number } {
  const counts = new Map<string, number>();
  const buffer = new Map<string, { key: string; start: number; n: number; ts: number }>();
  const finals: string[] = [];
  let observed = -1;
  let suppressTime = -1;
  let dropped = 0;
  for (const [key, ts] of records) {
    observed = Math.max(observed, ts);
    let updated = false;
    const first = Math.max(0, Math.floor((ts - size) / advance + 1) * advance);
    for (let start = first; start <= ts; start += advance) {
      if (start + size <= ts) continue;
      if (start + size <= observed - grace) {
        dropped++;
        continue;
      }
      const id = `${key}@${start}`;
      const n = (counts.get(id) ?? 0) + 1;
      counts.set(id, n);
      buffer.set(id, { key, start, n, ts });
      updated = true;
    }
    if (!updated) continue;
    suppressTime = Math.max(suppressTime, ts);
    const closed = [...buffer.values()]
      .filter((w) => w.start + size <= suppressTime - grace)
      .sort((x, y) => x.start - y.start || (x.key < y.key ? -1 : x.key > y.key ? 1 : 0));
    for (const w of closed) {
      finals.push(`${w.key}@${w.start}=${w.n}@${w.ts}`);
      buffer.delete(`${w.key}@${w.start}`);
    }
  }
  return { finals, dropped };
}

/**
 * Every record of a topic up to its latest offsets, read committed, per partition, as
 * `key:value@timestamp` (the broker tests' view of a Streams output).
 *
 * @param client A client of the broker.
 * @param topic The topic.
 * @returns Each partition's records in offset order.
 */
export async function readAll(client: Client, topic: string): Promise<string[][]> {
  const info = await client.topic(topic, { refresh: true });
  const n = info.partitions.length;
  const ends = await new Admin(client).listOffsets(
    Array.from({ length: n }, (_, p) => ({ topic, partition: p, spec: "latest" as const })),
  );
  const consumer = new Consumer(client, { fromBeginning: true, isolationLevel: 1 });
  const out: string[][] = Array.from({ length: n }, () => []);
  try {
    await consumer.assign(Array.from({ length: n }, (_, p) => ({ topic, partition: p })));
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (consumer.assignment().every((p) => p.offset >= ends[p.partition].offset)) break;
      if (Date.now() > deadline) throw new Error(`read ${topic}: did not reach the end`);
      for (const r of await consumer.poll({ maxWaitMs: 200 })) {
        out[r.partition].push(
          `${new TextDecoder().decode(r.key ?? new Uint8Array())}:${
            new TextDecoder().decode(r.value ?? new Uint8Array())
          }@${r.timestamp}`,
        );
      }
    }
  } finally {
    await consumer.close();
  }
  return out;
}
