// Copyright 2026 the Sluice authors. Apache-2.0 license.
// Exactly-once consume–transform–produce with our client: `eos_worker.ts` (a read_committed
// group member and a transactional producer, offsets sent to each transaction) copies an input
// topic to an output topic while it is SIGKILLed mid-transaction again and again and restarted;
// the output read with read_committed must be the model exactly (every input record once, in
// partition order: no duplicate, no gap), while read_uncommitted also shows the aborted copies.
// The same run with the offsets committed outside the transaction (EOS_BREAK=outside) must not
// match the model. Sizes: EOS_RECORDS (default 3000) records, EOS_KILLS (default 6) kills;
// `deno task eos` (EOS_LONG=1) runs 30000 records and 25 kills unless they say otherwise. The
// first run again on a sharded broker process (sluice.workers=2: the coordinator on shard 0, the
// topics' partitions on both shards).

import assert from "node:assert/strict";
import { Admin, Client, Consumer, Producer } from "../../client/mod.ts";
import { startBroker, startShardedBroker, stopShardedBroker, uniqueTopic } from "../harness.ts";
import { watchWorker, type WorkerExit } from "../chaos/line_process.ts";

const LONG = Deno.env.get("EOS_LONG") === "1";
const RECORDS = Number(Deno.env.get("EOS_RECORDS") ?? (LONG ? 30_000 : 3000));
const KILLS = Number(Deno.env.get("EOS_KILLS") ?? (LONG ? 25 : 6));
const PARTITIONS = 3;
const WORKER = new URL("./eos_worker.ts", import.meta.url).pathname;
const td = new TextDecoder();

/** A small deterministic PRNG (mulberry32), seeded from EOS_SEED or the clock, printed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Worker {
  /** Lines seen so far. */
  sent: number;
  committed: number;
  ready: Promise<void>;
  exited: Promise<WorkerExit>;
  waitSent(n: number, ms: number): Promise<boolean>;
  kill(): Promise<WorkerExit>;
}

/** The broker a run copies through. */
interface EosBroker {
  bootstrap: string;
  close(): Promise<void>;
}

/** A broker in this process, or a process with two shards (`sluice.workers=2`). */
async function eosBroker(sharded: boolean): Promise<EosBroker> {
  if (!sharded) {
    return await startBroker({
      offsetsTopicNumPartitions: 3,
      transactionStateLogNumPartitions: 3,
      groupMinSessionTimeoutMs: 1000,
    });
  }
  const dir = await Deno.makeTempDir({ prefix: "sluice-eos-shards-" });
  const b = await startShardedBroker(dir, [
    "offsets.topic.num.partitions=3",
    "transaction.state.log.num.partitions=3",
    "group.min.session.timeout.ms=1000",
  ]);
  return {
    bootstrap: `127.0.0.1:${b.port}`,
    close: async () => {
      await stopShardedBroker(b);
      await Deno.remove(dir, { recursive: true });
    },
  };
}

function spawnWorker(
  broker: EosBroker,
  args: string[],
  env: Record<string, string>,
  log: string,
): Worker {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", WORKER, broker.bootstrap, ...args],
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
    env,
  }).spawn();
  const waiters: Array<() => void> = [];
  let gone = false;
  const w: Worker = {
    sent: 0,
    committed: 0,
    ready: Promise.resolve(),
    exited: Promise.resolve({ code: 0, signal: null, fatal: undefined }),
    async waitSent(n, ms) {
      const end = Date.now() + ms;
      while (w.sent < n) {
        if (Date.now() > end || gone) return false;
        await new Promise<void>((r) => {
          waiters.push(r);
          setTimeout(r, 100);
        });
      }
      return true;
    },
    async kill() {
      try {
        child.kill("SIGKILL");
      } catch { /* gone already */ }
      return await w.exited;
    },
  };
  const watched = watchWorker(
    child,
    (line) => {
      const [kind, ...rest] = line.split(" ");
      return { kind, detail: rest.join(" ") };
    },
    (line) => {
      if (line.kind === "sent") w.sent++;
      if (line.kind === "committed") w.committed = Number((line as { detail: string }).detail);
      for (const r of waiters.splice(0)) r();
    },
    log,
  );
  w.ready = watched.ready;
  w.exited = watched.exited.finally(() => {
    gone = true;
    for (const r of waiters.splice(0)) r();
  });
  return w;
}

/** The values of each partition, read to its end offset with an isolation level. */
async function readTopic(
  client: Client,
  topic: string,
  isolationLevel: 0 | 1,
): Promise<string[][]> {
  const specs = Array.from({ length: PARTITIONS }, (_, partition) => ({
    topic,
    partition,
    spec: "latest" as const,
  }));
  const ends = await new Admin(client).listOffsets(specs);
  const consumer = new Consumer(client, { fromBeginning: true, maxWaitMs: 50, isolationLevel });
  const out: string[][] = specs.map(() => []);
  try {
    await consumer.assign(specs.map(({ topic, partition }) => ({ topic, partition })));
    const deadline = Date.now() + 60_000;
    while (!consumer.assignment().every((p) => p.offset >= ends[p.partition].offset)) {
      if (Date.now() > deadline) throw new Error(`read ${topic}: not at its end within 60 s`);
      for (const r of await consumer.poll()) out[r.partition].push(td.decode(r.value!));
    }
  } finally {
    await consumer.close();
  }
  return out;
}

/** Committed copies so far (read_committed), counted without keeping them. */
async function countCommitted(client: Client, topic: string): Promise<number> {
  return (await readTopic(client, topic, 1)).reduce((n, p) => n + p.length, 0);
}

interface EosRun {
  committed: string[][];
  uncommittedTotal: number;
  model: string[][];
  kills: number;
}

async function runEos(breakMode: string, sharded = false): Promise<EosRun> {
  const seed = Number(Deno.env.get("EOS_SEED") ?? Date.now() % 1_000_000);
  console.log(
    `eos: seed ${seed} (EOS_SEED), ${RECORDS} records, ${KILLS} kills, break "${breakMode}"`,
  );
  const random = rng(seed);
  const broker = await eosBroker(sharded);
  const client = new Client({ bootstrapServers: broker.bootstrap, retryBackoffMs: 20 });
  const log = await Deno.makeTempFile({ prefix: "sluice_eos_worker_", suffix: ".log" });
  const workers: Worker[] = [];
  try {
    const input = uniqueTopic("eos-in");
    const output = uniqueTopic("eos-out");
    await new Admin(client).createTopics([
      { name: input, numPartitions: PARTITIONS },
      { name: output, numPartitions: PARTITIONS },
    ]);
    const model: string[][] = Array.from({ length: PARTITIONS }, () => []);
    const plain = new Producer(client, { lingerMs: 5 });
    await plain.send({
      topic: input,
      messages: Array.from({ length: RECORDS }, (_, i) => {
        model[i % PARTITIONS].push(`out-${i}`);
        return { key: `k-${i}`, value: `${i}`, partition: i % PARTITIONS };
      }),
    });
    await plain.close();
    const args = [input, output, `${input}-group`, `${input}-tx`];
    const env: Record<string, string> = breakMode ? { EOS_BREAK: breakMode } : {};
    let kills = 0;
    for (let k = 0; k < KILLS; k++) {
      const w = spawnWorker(broker, args, { ...env, EOS_PAUSE_MS: "300" }, log);
      workers.push(w);
      const exitedEarly = w.exited.then((e) => e);
      await Promise.race([w.ready, exitedEarly]);
      // Kill after the 2nd to 12th `sent` line: always inside a transaction (each has three:
      // two sends and its offsets, each followed by a 300 ms pause: the kill lands before the
      // worker goes on). The broken run kills after
      // an offsets line, where committing offsets outside the transaction shows.
      const at = breakMode ? 3 * (1 + Math.floor(random() * 4)) : 2 + Math.floor(random() * 11);
      const got = await w.waitSent(at, 60_000);
      const exit = await w.kill();
      if (!got) {
        throw new Error(
          `eos worker ${k}: only ${w.sent} sends in 60 s (exit ${exit.code}${
            exit.fatal ? `, fatal: ${exit.fatal}` : ""
          }); log ${log}`,
        );
      }
      if (exit.fatal !== undefined) throw new Error(`eos worker ${k}: fatal: ${exit.fatal}`);
      kills++;
    }
    // The last worker runs until every record has a committed copy.
    const last = spawnWorker(broker, args, env, log);
    workers.push(last);
    // Until its count of committed records stops moving for 3 s (all of them, unless broken).
    const deadline = Date.now() + 180_000;
    let seen = -1;
    let still = Date.now();
    while (Date.now() < deadline) {
      const exit = await Promise.race([
        last.exited,
        new Promise<undefined>((r) => setTimeout(() => r(undefined), 250)),
      ]);
      if (exit !== undefined) throw new Error(`eos last worker exited: ${exit.fatal ?? exit.code}`);
      if (last.committed !== seen) {
        seen = last.committed;
        still = Date.now();
      } else if (seen > 0 && Date.now() - still > 3_000) {
        if (await countCommitted(client, output) >= RECORDS || breakMode) break;
      }
    }
    await last.kill();
    const committed = await readTopic(client, output, 1);
    const uncommitted = await readTopic(client, output, 0);
    return {
      committed,
      uncommittedTotal: uncommitted.reduce((n, p) => n + p.length, 0),
      model,
      kills,
    };
  } finally {
    for (const w of workers) await w.kill();
    await client.close();
    await broker.close();
    await Deno.remove(log).catch(() => {});
  }
}

for (const sharded of [false, true]) {
  Deno.test({
    name:
      "eos: consume–transform–produce SIGKILLed mid-transaction: read_committed output = model" +
      (sharded ? " (sluice.workers=2)" : ""),
    sanitizeResources: false,
    sanitizeOps: false,
    fn: () => checkModel(sharded),
  });
}

/** The model run: exactly every input record once in the read_committed output. */
async function checkModel(sharded: boolean): Promise<void> {
  const run = await runEos("", sharded);
  assert.equal(run.kills, KILLS);
  for (let p = 0; p < PARTITIONS; p++) {
    // Exactly the model, in order: no duplicate, no gap.
    assert.deepEqual(run.committed[p], run.model[p], `partition ${p}`);
  }
  // The killed transactions' copies are in the log, aborted: only read_uncommitted sees them.
  assert.ok(
    run.uncommittedTotal > RECORDS,
    `read_uncommitted ${run.uncommittedTotal} records: expected aborted copies beyond ${RECORDS}`,
  );
  console.log(
    `eos: ${run.kills} kills, ${RECORDS} committed copies, ${
      run.uncommittedTotal - RECORDS
    } aborted copies`,
  );
}

Deno.test({
  name: "eos: offsets committed outside the transaction lose records when killed (the check works)",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const run = await runEos("outside");
    const total = run.committed.reduce((n, p) => n + p.length, 0);
    const mismatch = run.committed.some((p, i) =>
      JSON.stringify(p) !== JSON.stringify(run.model[i])
    );
    console.log(`eos (outside): ${total} committed copies of ${RECORDS}`);
    assert.ok(mismatch, "committing offsets outside the transaction should have lost records");
  },
});
