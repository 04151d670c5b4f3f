// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * Broker produce throughput per worker count, with no client CPU (issue #17, "use every core").
 *
 * Each worker (`bench/shards_worker.ts`) is a Deno worker thread running a whole broker — its own
 * storage engine over its own data directory, its own request handlers, as one shard of a
 * sharded broker would — and replays a Produce v9 request built once in memory (`--partitions`
 * partitions × `--batch-records` records of `--record-bytes`, acks=1) through
 * `Broker.serveFrame`, `--inflight` requests at a time, for `--seconds`. The worker counts of
 * `--workers` run one after the other in each of `--rounds` rounds, the order reversed every
 * other round, so every count sees the same machine. Printed: the median MB/s (record values) of
 * each count, its ratio to the first count's (of the medians, and the median of the ratios
 * within a round), the cores the process used (CPU of all its threads over the wall time: their
 * nanoseconds on CPU, `cpuBetween` of `tests/process_usage.ts`), MB per CPU second, and MB per CPU
 * second of the workers' JavaScript threads alone (each reads its own nanoseconds,
 * `/proc/thread-self/schedstat`, and the user/system split of its clock ticks from
 * `/proc/thread-self/stat`): on a shared machine the cores a run gets vary, and equal MB per CPU
 * second for every count says the workers do not hold each other up, so that with free cores the
 * throughput would follow the worker count.
 *
 * ```
 * deno task bench:shards --workers 1,2 --rounds 3
 * taskset -c 0 deno task bench:shards --workers 1,2     # one core: 2 workers should give ~1×
 * ```
 *
 * `--routing` measures what a forwarded request costs instead: the workers (the largest of
 * `--workers`, at least 2) are the shards of one broker (`startShard`, one port with `reusePort`,
 * so the task runs with `--unstable-net`), and in each round every worker replays requests for
 * its own partitions and, in turn, for the next shard's, which the router forwards.
 *
 * Each replayed request is copied into a buffer lent by the worker's `FrameBufferPool` and given
 * back once answered, as the broker's connections lend buffers to large Produce frames;
 * `--fresh-frames` copies it into a fresh buffer per request instead (the socket path before the
 * pool).
 *
 * Data goes to `--dir` (default `/dev/shm` when it exists, so the figures are the broker's CPU and
 * not this VM's disk; topics keep at most 32 MiB a partition) and is deleted after each run.
 *
 * @module
 */
import { parseArgs } from "node:util";
import type { ShardCommand, ShardReply } from "./shards_worker.ts";
import { shardPorts } from "../server/shards.ts";
import type { ShardSetup } from "../server/broker.ts";
import { DEFAULT_BROKER_CONFIG } from "../server/config.ts";
import { sharedRatesBytes } from "../server/shared_rates.ts";
import { connectionQuotasBytes } from "../server/connection_quotas.ts";
import { cpuBetween, processUsage } from "../tests/process_usage.ts";

const args = parseArgs({
  args: Deno.args,
  options: {
    workers: { type: "string", default: "1,2" },
    rounds: { type: "string", default: "3" },
    seconds: { type: "string", default: "3" },
    partitions: { type: "string", default: "4" },
    "batch-records": { type: "string", default: "64" },
    "record-bytes": { type: "string", default: "1024" },
    inflight: { type: "string", default: "8" },
    dir: { type: "string" },
    json: { type: "string" },
    routing: { type: "boolean", default: false },
    "fresh-frames": { type: "boolean", default: false },
  },
});

function positive(name: string, v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) {
    console.error(`bench:shards: --${name} must be a positive integer, got ${JSON.stringify(v)}`);
    Deno.exit(2);
  }
  return n;
}

const counts = args.values.workers.split(",").map((w) => positive("workers", w.trim()));
const rounds = positive("rounds", args.values.rounds);
const seconds = positive("seconds", args.values.seconds);
const partitions = positive("partitions", args.values.partitions);
const batchRecords = positive("batch-records", args.values["batch-records"]);
const recordBytes = positive("record-bytes", args.values["record-bytes"]);
const inflight = positive("inflight", args.values.inflight);
if (seconds > 60 || rounds > 20 || counts.some((c) => c > 64)) {
  console.error("bench:shards: at most 60 s a run, 20 rounds and 64 workers");
  Deno.exit(2);
}
const base = args.values.dir ??
  (await Deno.stat("/dev/shm").then(() => "/dev/shm", () => Deno.env.get("TMPDIR") ?? "/tmp"));

async function loadAverage(): Promise<string> {
  return (await Deno.readTextFile("/proc/loadavg")).split(" ").slice(0, 3).join(" ");
}

async function cpusAllowed(): Promise<string> {
  const status = await Deno.readTextFile("/proc/self/status");
  return /Cpus_allowed_list:\s*(\S+)/.exec(status)?.[1] ?? "?";
}

interface Run {
  round: number;
  workers: number;
  mbPerS: number;
  requests: number;
  cores: number;
  /** CPU seconds of the workers' JavaScript threads together. */
  threadCpu: number;
  /** The part of it spent in the kernel. */
  threadSystemCpu: number;
  load: string;
  /** `--routing`: requests for the worker's own partitions, or for the next shard's. */
  which?: "local" | "remote";
}

/**
 * One timed run of every worker at once (`which`: `--routing`'s own or next shard's partitions):
 * MB/s of record values over the slowest worker's time, cores the process used, workers' CPU.
 */
async function measure(
  workers: Worker[],
  round: number,
  which?: "local" | "remote",
): Promise<Run> {
  const load = await loadAverage();
  const cpu0 = await processUsage(Deno.pid);
  const t0 = performance.now();
  const results = await all(
    workers,
    workers.map(() => ({ type: "run", ms: seconds * 1000, which })),
    "result",
    seconds * 1000 + 60_000,
  );
  const wall = (performance.now() - t0) / 1000;
  const cpu = cpuBetween(cpu0, await processUsage(Deno.pid)).seconds;
  const bytes = results.reduce((s, r) => s + r.valueBytes, 0);
  const ms = Math.max(...results.map((r) => r.ms));
  return {
    round,
    workers: workers.length,
    which,
    mbPerS: bytes / 1e6 / (ms / 1000),
    requests: results.reduce((s, r) => s + r.requests, 0),
    cores: cpu / wall,
    threadCpu: results.reduce((s, r) => s + r.threadCpu, 0),
    threadSystemCpu: results.reduce((s, r) => s + r.threadSystemCpu, 0),
    load,
  };
}

/** The command that starts worker `index` (with `shard`: as a shard of one broker, `--routing`). */
function startCommand(
  dir: string,
  index: number,
  shard?: {
    count: number;
    ports: (MessagePort | null)[];
    port: number;
    shared: ShardSetup["shared"];
  },
): ShardCommand {
  return {
    type: "start",
    index,
    dir: `${dir}/shard-${index}`,
    partitions,
    batchRecords,
    recordBytes,
    inflight,
    freshFrames: args.values["fresh-frames"],
    shard,
  };
}

/** Send a command to every worker and wait for each one's reply of type `want`. */
function all<T extends ShardReply["type"]>(
  workers: Worker[],
  commands: ShardCommand[],
  want: T,
  timeoutMs: number,
): Promise<Extract<ShardReply, { type: T }>[]> {
  return Promise.all(
    workers.map((w, i) =>
      new Promise<Extract<ShardReply, { type: T }>>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`worker ${i}: no ${want} within ${timeoutMs} ms`)),
          timeoutMs,
        );
        w.onmessage = (e: MessageEvent<ShardReply>) => {
          clearTimeout(timer);
          if (e.data.type === "failed") reject(new Error(`worker ${i}: ${e.data.message}`));
          else if (e.data.type === want) resolve(e.data as Extract<ShardReply, { type: T }>);
          else reject(new Error(`worker ${i}: ${e.data.type} instead of ${want}`));
        };
        w.onerror = (e) => {
          clearTimeout(timer);
          e.preventDefault();
          reject(new Error(`worker ${i}: ${e.message}`));
        };
        const c = commands[i];
        const transfer = c.type === "start" && c.shard !== undefined
          ? c.shard.ports.filter((x): x is MessagePort => x !== null)
          : [];
        w.postMessage(c, transfer);
      })
    ),
  );
}

async function once(round: number, n: number): Promise<Run> {
  const dir = await Deno.makeTempDir({ dir: base, prefix: "sluice-bench-shards-" });
  const workers = Array.from(
    { length: n },
    () => new Worker(new URL("./shards_worker.ts", import.meta.url).href, { type: "module" }),
  );
  try {
    await all(
      workers,
      workers.map((_, index) => startCommand(dir, index)),
      "ready",
      120_000,
    );
    const run = await measure(workers, round);
    await all(workers, workers.map(() => ({ type: "stop" })), "closed", 120_000);
    return run;
  } finally {
    for (const w of workers) w.terminate();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/**
 * `--routing`: the workers are the shards of one broker (`startShard`, one port); in the same
 * round each replays requests for its own partitions ("local") and for the next shard's
 * ("remote", every request forwarded), in `order`.
 */
async function onceRouted(round: number, n: number, order: ("local" | "remote")[]): Promise<Run[]> {
  const dir = await Deno.makeTempDir({ dir: base, prefix: "sluice-bench-shards-" });
  const workers = Array.from(
    { length: n },
    () => new Worker(new URL("./shards_worker.ts", import.meta.url).href, { type: "module" }),
  );
  const ports = shardPorts(n);
  // the memory every shard of one broker maps (quota rates, connection counts), as Broker.start
  const shared = {
    rates: new SharedArrayBuffer(sharedRatesBytes(DEFAULT_BROKER_CONFIG.quotaWindowNum)),
    connections: new SharedArrayBuffer(connectionQuotasBytes()),
  };
  const start = (index: number, port: number): ShardCommand =>
    startCommand(dir, index, { count: n, ports: ports[index], port, shared });
  try {
    const [zero] = await all([workers[0]], [start(0, 0)], "ready", 120_000);
    await all(
      workers.slice(1),
      workers.slice(1).map((_, k) => start(k + 1, zero.port)),
      "ready",
      120_000,
    );
    await all([workers[0]], [{ type: "prepare" }], "ready", 120_000);
    await all(
      workers.slice(1),
      workers.slice(1).map(() => ({ type: "prepare" })),
      "ready",
      120_000,
    );
    const runs: Run[] = [];
    for (const which of order) runs.push(await measure(workers, round, which));
    await all(workers, workers.map(() => ({ type: "stop" })), "closed", 120_000);
    return runs;
  } finally {
    for (const w of workers) w.terminate();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

console.log(
  `bench:shards: workers ${counts.join(",")}, ${rounds} rounds of ${seconds} s; Produce v9 of ` +
    `${partitions} × ${batchRecords} × ${recordBytes} B, acks=1, ${inflight} in flight per ` +
    `worker${
      args.values["fresh-frames"] ? " (a fresh frame per request)" : " (frames lent by a pool)"
    }; data in ${base}; CPUs allowed ${await cpusAllowed()}; load ${await loadAverage()}`,
);
if (args.values.routing) {
  const n = Math.max(2, ...counts);
  const runs: Run[] = [];
  for (let round = 1; round <= rounds; round++) {
    const order: ("local" | "remote")[] = round % 2 === 1
      ? ["local", "remote"]
      : ["remote", "local"];
    for (const r of await onceRouted(round, n, order)) {
      runs.push(r);
      console.log(
        `round ${round}, ${n} shards, ${r.which}: ${r.mbPerS.toFixed(1)} MB/s, ` +
          `${r.cores.toFixed(2)} cores, ${(r.mbPerS / r.cores).toFixed(0)} MB per CPU s, ` +
          `${(r.mbPerS * seconds / r.threadCpu).toFixed(0)} MB per JS-thread CPU s, load ${r.load}`,
      );
    }
  }
  console.log(
    "\n| requests for | MB/s (median) | cores used | MB per CPU second | MB per JS-thread CPU second |",
  );
  console.log("| ---- | ----: | ----: | ----: | ----: |");
  const summary = (["local", "remote"] as const).map((which) => {
    const mine = runs.filter((r) => r.which === which);
    const row = {
      which,
      mbPerS: median(mine.map((r) => r.mbPerS)),
      cores: median(mine.map((r) => r.cores)),
      mbPerCpuSecond: median(mine.map((r) => r.mbPerS / r.cores)),
      mbPerThreadCpuSecond: median(mine.map((r) => r.mbPerS * seconds / r.threadCpu)),
    };
    console.log(
      `| ${which === "local" ? "own partitions" : "the next shard's (forwarded)"} | ` +
        `${row.mbPerS.toFixed(1)} | ${row.cores.toFixed(2)} | ${row.mbPerCpuSecond.toFixed(0)} | ` +
        `${row.mbPerThreadCpuSecond.toFixed(0)} |`,
    );
    return row;
  });
  console.log(`load at the end ${await loadAverage()}`);
  if (args.values.json !== undefined) {
    await Deno.writeTextFile(args.values.json, JSON.stringify({ runs, summary }, null, 2) + "\n");
  }
  Deno.exit(0);
}
const runs: Run[] = [];
for (let round = 1; round <= rounds; round++) {
  const order = round % 2 === 1 ? counts : [...counts].reverse();
  for (const n of order) {
    const r = await once(round, n);
    runs.push(r);
    console.log(
      `round ${round}, ${n} worker(s): ${r.mbPerS.toFixed(1)} MB/s, ${r.requests} requests, ` +
        `${r.cores.toFixed(2)} cores (JS threads ${(r.threadCpu / seconds).toFixed(2)}, ` +
        `${(100 * r.threadSystemCpu / r.threadCpu).toFixed(0)}% system), ` +
        `${(r.mbPerS * seconds / r.threadCpu).toFixed(0)} MB per JS-thread CPU s, load ${r.load}`,
    );
  }
}
const firstRuns = new Map(runs.filter((r) => r.workers === counts[0]).map((r) => [r.round, r]));
console.log(
  "\n| workers | MB/s (median) | × first (medians) | × first (median of rounds) | cores used | " +
    "MB per CPU second | MB per JS-thread CPU second | rounds MB/s |",
);
console.log("| ------: | ----: | ----: | ----: | ----: | ----: | ----: | ---- |");
const first = median([...firstRuns.values()].map((r) => r.mbPerS));
const summary = counts.map((n) => {
  const mine = runs.filter((r) => r.workers === n);
  const mb = median(mine.map((r) => r.mbPerS));
  const row = {
    workers: n,
    mbPerS: mb,
    ratio: mb / first,
    roundRatio: median(mine.map((r) => r.mbPerS / firstRuns.get(r.round)!.mbPerS)),
    cores: median(mine.map((r) => r.cores)),
    mbPerCpuSecond: median(mine.map((r) => r.mbPerS / r.cores)),
    mbPerThreadCpuSecond: median(mine.map((r) => r.mbPerS * seconds / r.threadCpu)),
    rounds: mine.map((r) => r.mbPerS),
  };
  console.log(
    `| ${n} | ${mb.toFixed(1)} | ${row.ratio.toFixed(2)} | ${row.roundRatio.toFixed(2)} | ` +
      `${row.cores.toFixed(2)} | ${row.mbPerCpuSecond.toFixed(0)} | ` +
      `${row.mbPerThreadCpuSecond.toFixed(0)} | ` +
      `${row.rounds.map((x) => x.toFixed(0)).join(", ")} |`,
  );
  return row;
});
console.log(`load at the end ${await loadAverage()}`);
if (args.values.json !== undefined) {
  await Deno.writeTextFile(args.values.json, JSON.stringify({ runs, summary }, null, 2) + "\n");
}
