// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * Many partitions on a broker process (issue #17 "partitions as cheap as Kafka's"): starts
 * `cli/main.ts broker` with a fresh data directory, creates one topic of N partitions with one
 * CreateTopics request, optionally produces one batch to each partition, stops it with SIGTERM,
 * restarts it, and reports each phase's wall time and the broker's RSS (`/proc/<pid>/status`):
 *
 * - create: the CreateTopics request's round trip;
 * - stop: SIGTERM to exit (exit 0 and "logs flushed" checked);
 * - restart: spawn to the first ApiVersions answer (the listener opens after the logs are loaded);
 * - RSS after the creation and after the restart.
 *
 * `--before PATH` alternates the rounds with another checkout's `cli/main.ts` (e.g. main's, from
 * `git archive`) and prints both side by side. `bench/partitions.ts` measures the storage engine
 * alone, in process.
 *
 * @example
 * ```sh
 * deno task bench:partitions --partitions 10000 --rounds 3
 * deno task bench:partitions --partitions 10000 --produce
 * deno task bench:partitions --partitions 10000 --rounds 3 --before /tmp/before/cli/main.ts
 * ```
 *
 * Needs `-A` (spawns the broker, reads `/proc`).
 *
 * @module
 */

import { parseArgs } from "node:util";
import { CreateTopicsRequest, CreateTopicsResponse } from "../protocol/messages/create_topics.ts";
import { ProduceRequest, ProduceResponse } from "../protocol/messages/produce.ts";
import { RawClient } from "../server/testing.ts";
import { buildBatch } from "../wasm/testing.ts";
import {
  type BrokerVariant,
  freePort,
  loadAverage,
  median,
  rssBytes,
  spawnBroker,
  type Spawned,
  stopProcess,
  waitForAnswer,
} from "./start.ts";

const PER_REQUEST = 500;

interface Round {
  firstStartMs: number;
  createMs: number;
  produceMs?: number;
  rssAfterCreateMiB: number;
  stopMs: number;
  restartMs: number;
  rssAfterRestartMiB: number;
  secondStopMs: number;
}

async function stop(b: Spawned): Promise<number> {
  const t = performance.now();
  const code = await stopProcess(b.proc, 600_000);
  const ms = performance.now() - t;
  if (code !== 0 || !b.stderr().includes("logs flushed")) {
    throw new Error(`broker exited ${code}:\n${b.stderr()}`);
  }
  return ms;
}

async function produceEach(port: number, n: number): Promise<void> {
  const c = await RawClient.connect(port);
  try {
    for (let from = 0; from < n; from += PER_REQUEST) {
      const ps = Array.from({ length: Math.min(PER_REQUEST, n - from) }, (_, i) => from + i);
      const res = await c.request(ProduceRequest, ProduceResponse, 9, {
        acks: -1,
        timeoutMs: 60_000,
        topicData: [{
          name: "many",
          partitionData: ps.map((p) => ({
            index: p,
            records: buildBatch({ records: [{ key: `k${p}`, value: `v${p}` }] }),
          })),
        }],
      });
      const bad = res.responses[0].partitionResponses.filter((r) => r.errorCode !== 0);
      if (bad.length > 0) throw new Error(`produce failed: ${JSON.stringify(bad[0])}`);
    }
  } finally {
    c.close();
  }
}

async function round(n: number, produce: boolean, variant: BrokerVariant): Promise<Round> {
  const dir = await Deno.makeTempDir({ prefix: "sluice-partitions-broker-bench-" });
  const port = freePort();
  let b: Spawned | undefined;
  try {
    let t = performance.now();
    b = spawnBroker(dir, port, [], variant);
    await waitForAnswer(port, 60_000);
    const firstStartMs = performance.now() - t;
    const c = await RawClient.connect(port);
    t = performance.now();
    const res = await c.request(CreateTopicsRequest, CreateTopicsResponse, 7, {
      topics: [{
        name: "many",
        numPartitions: n,
        replicationFactor: 1,
        assignments: [],
        configs: [],
      }],
      timeoutMs: 600_000,
    });
    const createMs = performance.now() - t;
    c.close();
    if (res.topics[0].errorCode !== 0) {
      throw new Error(`CreateTopics failed: ${JSON.stringify(res.topics[0])}`);
    }
    let produceMs: number | undefined;
    if (produce) {
      t = performance.now();
      await produceEach(port, n);
      produceMs = performance.now() - t;
    }
    const rssAfterCreateMiB = rssBytes(b.proc.pid) / 2 ** 20;
    const stopMs = await stop(b);
    t = performance.now();
    b = spawnBroker(dir, port, [], variant);
    await waitForAnswer(port, 600_000);
    const restartMs = performance.now() - t;
    const rssAfterRestartMiB = rssBytes(b.proc.pid) / 2 ** 20;
    const secondStopMs = await stop(b);
    b = undefined;
    return {
      firstStartMs,
      createMs,
      produceMs,
      rssAfterCreateMiB,
      stopMs,
      restartMs,
      rssAfterRestartMiB,
      secondStopMs,
    };
  } finally {
    if (b) {
      try {
        b.proc.kill("SIGKILL");
      } catch { /* exited */ }
      await b.proc.status;
    }
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      partitions: { type: "string", default: "10000" },
      rounds: { type: "string", default: "1" },
      produce: { type: "boolean", default: false },
      before: { type: "string" },
    },
  });
  const n = Number(values.partitions);
  // with --before, rounds alternate between another checkout's broker and this one
  const variants: [string, BrokerVariant][] = [["broker", {}]];
  if (values.before !== undefined) variants.push(["before", { main: values.before }]);
  const rounds = new Map<string, Round[]>(variants.map(([name]) => [name, []]));
  const load0 = loadAverage();
  for (let i = 0; i < Number(values.rounds); i++) {
    for (let k = 0; k < variants.length; k++) {
      const [name, variant] = variants[(i + k) % variants.length];
      const r = await round(n, values.produce!, variant);
      console.log(`${name}: ${JSON.stringify(r)} (load ${loadAverage()})`);
      rounds.get(name)!.push(r);
    }
  }
  console.log(
    `${n} partitions${values.produce ? ", one batch produced to each" : ""}; ` +
      `median of ${values.rounds}; load average ${load0} → ${loadAverage()}`,
  );
  const ms = (x: number) => `${(x / 1000).toFixed(2)} s`.padStart(9);
  const mib = (x: number) => `${x.toFixed(0)} MiB`.padStart(9);
  type Row = [string, (r: Round) => number | undefined, (x: number) => string];
  const rows: Row[] = [
    ["first start to first answer", (r) => r.firstStartMs, ms],
    ["CreateTopics", (r) => r.createMs, ms],
  ];
  if (values.produce) rows.push(["produce one batch to each", (r) => r.produceMs, ms]);
  rows.push(
    ["RSS after create", (r) => r.rssAfterCreateMiB, mib],
    ["SIGTERM to exit", (r) => r.stopMs, ms],
    ["restart to first answer", (r) => r.restartMs, ms],
    ["RSS after restart", (r) => r.rssAfterRestartMiB, mib],
    ["second SIGTERM to exit", (r) => r.secondStopMs, ms],
  );
  console.log(`${"".padEnd(28)}${variants.map(([name]) => name.padStart(9)).join(" ")}`);
  for (const [label, f, fmt] of rows) {
    const cells = variants.map(([name]) => fmt(median(rounds.get(name)!.map((r) => f(r) ?? NaN))));
    console.log(`${label.padEnd(28)}${cells.join(" ")}`);
  }
}
