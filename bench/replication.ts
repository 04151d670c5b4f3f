// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * Replication's data plane on this machine, with the test controller of
 * `server/testdata/test_cluster.ts` playing the control plane (no etcd): three brokers **in this
 * one process** (so they share one JavaScript thread: a lower bound for three processes).
 *
 * 1. kcat writes `N` records of 100 bytes to one partition: a standalone broker with acks=1, then
 *    a replication-factor-3 partition (`min.insync.replicas=2`) with acks=all and idempotence;
 *    the followers' logs are checked byte for byte against the leader's.
 * 2. Failover as the data plane sees it: `E` elections in turn over the three brokers, each timed
 *    from the new state handed to the brokers to the first acks=all Produce answered by the new
 *    leader (default `replica.*` settings).
 *
 * @example
 * ```sh
 * deno run -A bench/replication.ts 300000 30   # N records, E elections
 * ```
 *
 * @module
 */

import { ProduceRequest, ProduceResponse } from "../protocol/messages/produce.ts";
import { Broker } from "../server/broker.ts";
import { createTopic, produceBody, RawClient } from "../server/testing.ts";
import { TestController, waitUntil } from "../server/testdata/test_cluster.ts";
import { runCommand } from "../tests/harness.ts";
import { buildBatch } from "../wasm/testing.ts";

const N = Number(Deno.args[0] ?? 300_000);
const E = Number(Deno.args[1] ?? 30);
const DEFAULTS = {
  replicaLagTimeMaxMs: 30000,
  replicaFetchWaitMaxMs: 500,
  replicaFetchBackoffMs: 1000,
};
const input = Array.from({ length: N }, (_, i) => String(i).padStart(100, "x")).join("\n") + "\n";

async function kcat(bootstrap: string, topic: string, acks: "1" | "all"): Promise<number> {
  const t0 = performance.now();
  const r = await runCommand("kcat", [
    "-b",
    bootstrap,
    "-P",
    "-t",
    topic,
    "-p",
    "0",
    "-X",
    `acks=${acks}`,
    ...(acks === "all" ? ["-X", "enable.idempotence=true"] : []),
    "-X",
    "linger.ms=5",
  ], { stdin: input, timeoutMs: 600_000 });
  if (r.code !== 0) throw new Error(`kcat failed: ${r.stderr}`);
  return performance.now() - t0;
}

const rate = (ms: number) =>
  `${N} records in ${ms.toFixed(0)} ms = ${(N / ms * 1000).toFixed(0)} rec/s`;

{
  const dir = await Deno.makeTempDir();
  const b = await Broker.start({
    listeners: "PLAINTEXT://127.0.0.1:0",
    logDirs: [dir],
    logLevel: "silent",
  });
  const c = await RawClient.connect(b.port);
  await createTopic(c, "s", 1);
  c.close();
  console.log(`standalone, acks=1: ${rate(await kcat(`127.0.0.1:${b.port}`, "s", "1"))}`);
  await b.close();
  await Deno.remove(dir, { recursive: true });
}

{
  await using ctl = await TestController.start([1, 2, 3], DEFAULTS);
  await ctl.createTopic("r", [[1, 2, 3]], { "min.insync.replicas": "2" });
  console.log(`RF=3, acks=all, idempotent: ${rate(await kcat(ctl.bootstrap(1), "r", "all"))}`);
  const leo = (id: number) => ctl.broker(id).replicaManager!.offsets("r", 0)!.logEndOffset;
  await waitUntil(() => leo(2) === leo(1) && leo(3) === leo(1), "the followers to catch up");
  const want = await ctl.logBytes(1, "r", 0);
  for (const id of [2, 3]) {
    const got = await ctl.logBytes(id, "r", 0);
    const same = got.length === want.length && got.every((x, i) => x === want[i]);
    console.log(`  broker ${id}: ${got.length} bytes, byte-identical to the leader's: ${same}`);
  }
}

{
  await using ctl = await TestController.start([1, 2, 3], DEFAULTS);
  await ctl.createTopic("f", [[1, 2, 3]], { "min.insync.replicas": "2" });
  const times: number[] = [];
  for (let i = 0; i < E; i++) {
    const next = [1, 2, 3][(i + 1) % 3];
    const t0 = performance.now();
    await ctl.elect("f", 0, next);
    const c = await RawClient.connect(ctl.broker(next).port);
    try {
      for (;;) {
        const batch = buildBatch({
          records: [{ key: "k", value: `v${i}` }],
          baseTimestamp: Date.now(),
        });
        const r = await c.request(ProduceRequest, ProduceResponse, 9, {
          ...produceBody("f", 0, batch, -1),
          timeoutMs: 10_000,
        });
        if (r.responses[0].partitionResponses[0].errorCode === 0) break;
      }
    } finally {
      c.close();
    }
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  const at = (q: number) =>
    times[Math.min(times.length - 1, Math.floor(q * times.length))].toFixed(0);
  console.log(
    `elected → first acks=all answer of the new leader, ${E} elections: min ${at(0)}, median ` +
      `${at(0.5)}, p90 ${at(0.9)}, max ${at(1)} ms`,
  );
}
