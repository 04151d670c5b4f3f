// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * The kill scenario of issue #16: a word-count Streams instance (a subprocess,
 * `word_count_app.ts`) is SIGKILLed at random moments and restarted while lines keep arriving;
 * at the end the output topic, read committed, must hold for every word exactly the counts
 * 1, 2, …, n in order, n being the model's count (a count produced twice, or skipped, fails).
 *
 * @module
 */

import { followEvents } from "./app_events.ts";
import { Admin, Client, Producer } from "../../client/mod.ts";
import { Serdes } from "../../streams/mod.ts";
import { createTopics, lines, prng, wordCountModel } from "../../streams/testing.ts";
import { Consumer } from "../../client/mod.ts";

/** What to run. */
export interface KillRunOptions {
  /** Bootstrap servers of a running broker. */
  bootstrap: string;
  /** Input lines (words: about 4.5 per line). */
  lines: number;
  /** SIGKILLs of the instance. */
  kills: number;
  /** Input partitions. */
  partitions: number;
  /** Guarantee. */
  guarantee: "at_least_once" | "exactly_once_v2";
  /** Persistent (on-disk) count store. */
  persistent: boolean;
  /** Seed. */
  seed: number;
  /** Each kill comes this long at most after the instance processed its first record. */
  killWithinMs: number;
  /** Longest run in ms (the scenario fails after it). */
  timeoutMs: number;
  /** Progress lines go here. */
  log?: (line: string) => void;
}

/** What happened. */
export interface KillRunResult {
  /** Words in the input. */
  words: number;
  /** Distinct words. */
  distinct: number;
  /** SIGKILLs done. */
  kills: number;
  /** Records in the output topic (committed). */
  outputRecords: number;
  /** Words whose counts were not exactly 1..n. */
  wrong: string[];
  /** Wall time in ms. */
  elapsedMs: number;
}

const APP = new URL("./word_count_app.ts", import.meta.url).pathname;

/** Runs the scenario. */
export async function killRun(o: KillRunOptions): Promise<KillRunResult> {
  const began = Date.now();
  const deadline = began + o.timeoutMs;
  const log = o.log ?? (() => {});
  const client = new Client({ bootstrapServers: o.bootstrap });
  const id = `${Deno.pid}-${o.seed}-${Date.now()}`;
  const input = `kill-in-${id}`;
  const output = `kill-out-${id}`;
  const applicationId = `kill-app-${id}`;
  const stateDir = await Deno.makeTempDir({ prefix: "sluice_streams_kill_" });
  await createTopics(client, o.partitions, input, output);
  const text = lines(o.seed, o.lines);
  const model = wordCountModel(text);
  const rnd = prng(o.seed + 1);
  let child: Deno.ChildProcess | undefined;
  let processed = 0;
  let fatal: string | undefined;
  const start = async () => {
    child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        APP,
        JSON.stringify({
          bootstrap: o.bootstrap,
          input,
          output,
          applicationId,
          stateDir,
          instanceId: "instance-1",
          guarantee: o.guarantee,
          persistent: o.persistent,
        }),
      ],
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const isReady = followEvents(child.stdout, (ev, line) => {
      if (ev.kind === "metrics") processed = ev.processed;
      if (Deno.env.get("KILL_DEBUG")) console.log(line);
      if (ev.kind === "fatal") fatal = ev.detail;
    }).ready;
    const status = child.status;
    await Promise.race([isReady, status]);
    if (fatal) throw new Error(`streams instance failed: ${fatal}`);
  };
  const kill = async () => {
    child!.kill("SIGKILL");
    await child!.status;
    await child!.stdout.cancel().catch(() => {});
  };
  // The input in one chunk per incarnation of the instance, produced just before it starts, so
  // that every kill lands while there is work in flight.
  const producer = new Producer(client);
  const chunk = Math.ceil(text.length / (o.kills + 1));
  let fed = 0;
  const feed = async () => {
    const part = text.slice(fed, fed + chunk);
    fed += part.length;
    for (let i = 0; i < part.length; i += 2000) {
      await producer.send({
        topic: input,
        messages: part.slice(i, i + 2000).map((value) => ({ value })),
      });
    }
  };
  let kills = 0;
  try {
    await feed();
    await start();
    while (kills < o.kills) {
      if (Date.now() > deadline) throw new Error(`kill run: timed out after ${kills} kills`);
      // Kill at a random moment once it processed something in this incarnation.
      while (processed === 0) {
        if (fatal) throw new Error(`streams instance failed: ${fatal}`);
        if (Date.now() > deadline) throw new Error("kill run: the instance made no progress");
        await new Promise((r) => setTimeout(r, 20));
      }
      await new Promise((r) => setTimeout(r, Math.floor(rnd() * o.killWithinMs)));
      await kill();
      kills++;
      log(`kill ${kills}/${o.kills} after ${processed} records this run`);
      processed = 0;
      await feed();
      await start();
    }
    await producer.close();
    // Wait until the group committed the whole input, then until the output is complete.
    const admin = new Admin(client);
    const info = await client.topic(input);
    const ends = await admin.listOffsets(
      info.partitions.map((p) => ({
        topic: input,
        partition: p.partition,
        spec: "latest" as const,
      })),
    );
    const total = ends.reduce((n, e) => n + e.offset, 0);
    for (;;) {
      if (fatal) throw new Error(`streams instance failed: ${fatal}`);
      if (Date.now() > deadline) throw new Error("kill run: the input was not committed in time");
      const committed = await admin.listConsumerGroupOffsets(
        applicationId,
        info.partitions.map((p) => ({ topic: input, partition: p.partition })),
      );
      if (committed.reduce((n, c) => n + c.offset, 0) >= total) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    // Then the repartition topic: each partition committed up to its last record (only its
    // last transaction's marker after it).
    const repartition = `${applicationId}-counts-store-repartition`;
    const rinfo = await client.topic(repartition, { refresh: true });
    for (;;) {
      if (fatal) throw new Error(`streams instance failed: ${fatal}`);
      if (Date.now() > deadline) throw new Error("kill run: the repartition topic lags");
      const hw = await admin.listOffsets(
        rinfo.partitions.map((p) => ({
          topic: repartition,
          partition: p.partition,
          spec: "latest" as const,
        })),
      );
      const committed = await admin.listConsumerGroupOffsets(
        applicationId,
        rinfo.partitions.map((p) => ({ topic: repartition, partition: p.partition })),
      );
      const behind = hw.filter((h) =>
        (committed.find((c) => c.partition === h.partition)?.offset ?? 0) < h.offset - 1
      );
      if (behind.length === 0) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    let result: { counts: Map<string, number[]>; records: number } | undefined;
    let wrong: string[] = [];
    for (;;) {
      result = await readCounts(client, output);
      wrong = [...model].filter(([w, n]) => !isSequence(result!.counts.get(w), n)).map(([w]) => w);
      const extra = [...result.counts.keys()].filter((w) => !model.has(w));
      wrong.push(...extra);
      if (wrong.length === 0 || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 1000));
    }
    return {
      words: [...model.values()].reduce((a, b) => a + b, 0),
      distinct: model.size,
      kills,
      outputRecords: result!.records,
      wrong: wrong.map((w) =>
        `${w}: expected 1..${model.get(w)}, got ${summary(result!.counts.get(w))}`
      ),
      elapsedMs: Date.now() - began,
    };
  } finally {
    if (child) {
      try {
        child.kill("SIGKILL");
      } catch { /* exited */ }
      await child.status;
      await child.stdout.cancel().catch(() => {});
    }
    await producer.close().catch(() => {});
    await client.close();
    await Deno.remove(stateDir, { recursive: true }).catch(() => {});
  }
}

/** Whether `values` is exactly 1, 2, …, n. */
export function isSequence(values: number[] | undefined, n: number): boolean {
  if (values === undefined || values.length !== n) return false;
  for (let i = 0; i < n; i++) if (values[i] !== i + 1) return false;
  return true;
}

function summary(values: number[] | undefined): string {
  if (values === undefined) return "nothing";
  if (values.length <= 12) return values.join(",");
  return `${values.length} values, ${values.slice(0, 5).join(",")}…${values.slice(-5).join(",")}`;
}

/** Every count each word got in the output, in order, read committed. */
export async function readCounts(
  client: Client,
  topic: string,
): Promise<{ counts: Map<string, number[]>; records: number }> {
  const info = await client.topic(topic, { refresh: true });
  const ends = await new Admin(client).listOffsets(
    info.partitions.map((p) => ({ topic, partition: p.partition, spec: "latest" as const })),
  );
  const consumer = new Consumer(client, { fromBeginning: true, isolationLevel: 1 });
  const counts = new Map<string, number[]>();
  const decoder = new TextDecoder();
  const long = Serdes.Int64();
  let records = 0;
  try {
    await consumer.assign(info.partitions.map((p) => ({ topic, partition: p.partition })));
    const until = Date.now() + 120_000;
    for (;;) {
      if (consumer.assignment().every((p) => p.offset >= ends[p.partition].offset)) break;
      if (Date.now() > until) throw new Error(`read ${topic}: did not reach the end`);
      for (const r of await consumer.poll({ maxWaitMs: 200 })) {
        records++;
        const w = decoder.decode(r.key!);
        let list = counts.get(w);
        if (list === undefined) counts.set(w, list = []);
        list.push(long.deserialize(r.value)!);
      }
    }
  } finally {
    await consumer.close();
  }
  return { counts, records };
}
