// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * Failover timings of cluster mode with default settings (`broker.session.timeout.ms` 2000):
 * three broker processes on one etcd, and `--cycles` rounds of
 *
 * - **controller**: SIGKILL the controller; time until another broker holds the controller key;
 * - **leader**: SIGKILL the leader of an RF=3 partition; time until etcd names a new leader,
 *   and until the first acks=1 produce through our client succeeds on it (records are not
 *   replicated yet: this is the control plane's part of a failover).
 *
 * The killed broker is started again after each round. Prints each round and the distribution.
 *
 * Run: `deno task cluster:failover [--cycles N]` (needs `etcd`).
 *
 * @module
 */

import { Admin, Client, Producer } from "../../client/mod.ts";
import { EtcdClient } from "../../server/cluster/etcd.ts";
import { MetadataStore } from "../../server/cluster/metadata_store.ts";
import { startEtcd } from "../etcd.ts";
import { startProcessCluster, until } from "./harness.ts";

function stats(name: string, ms: number[]): string {
  const s = [...ms].sort((a, b) => a - b);
  const q = (f: number) => s[Math.min(s.length - 1, Math.floor(f * s.length))];
  return `${name}: n=${s.length} min ${s[0].toFixed(0)} ms, median ${q(0.5).toFixed(0)} ms, ` +
    `p90 ${q(0.9).toFixed(0)} ms, max ${s.at(-1)!.toFixed(0)} ms`;
}

async function main(): Promise<void> {
  const i = Deno.args.indexOf("--cycles");
  const cycles = i >= 0 ? Number(Deno.args[i + 1]) : 10;
  if (!Number.isInteger(cycles) || cycles < 1) {
    throw new Error("--cycles must be a positive integer");
  }
  const etcd = await startEtcd();
  const c = await startProcessCluster(etcd, 3);
  const store = new MetadataStore(
    new EtcdClient({ endpoints: etcd.endpoints, timeoutMs: 2000 }),
    `/sluice/${c.clusterName}`,
  );
  const controllerMs: number[] = [];
  const electionMs: number[] = [];
  const produceMs: number[] = [];
  try {
    await until("3 registered", async () => (await store.snapshot()).brokers.size === 3, 60_000);
    for (let n = 0; n < cycles; n++) {
      // controller
      {
        const before = (await store.snapshot()).controller!;
        const victim = c.brokers[before.value.id - 1];
        const t0 = performance.now();
        await victim.kill();
        await until("a new controller", async () => {
          const now = (await store.snapshot()).controller;
          return now !== undefined && now.createRevision !== before.createRevision;
        }, 30_000);
        controllerMs.push(performance.now() - t0);
        await victim.start();
        await until(
          "3 registered",
          async () => (await store.snapshot()).brokers.size === 3,
          60_000,
        );
      }
      // leader: of a new topic each round, since without replication a broker that comes back
      // never rejoins the ISR (its leader would add it once it caught up)
      {
        const topic = `timing-${n}`;
        const client = new Client({
          bootstrapServers: c.bootstrap,
          retries: 1000,
          retryBackoffMs: 20,
        });
        await new Admin(client).createTopics([
          { name: topic, numPartitions: 1, replicationFactor: 3 },
        ]);
        const s = await store.snapshot();
        const leader = s.partitions.get(topic)!.get(0)!.value.leader;
        const producer = new Producer(client, { acks: 1, lingerMs: 0 });
        await producer.send({ topic, messages: [{ value: "warm" }] });
        const t0 = performance.now();
        await c.brokers[leader - 1].kill();
        const elected = until("a new leader", async () => {
          const l = (await store.snapshot()).partitions.get(topic)!.get(0)!.value.leader;
          return l !== leader && l !== -1;
        }, 30_000).then(() => electionMs.push(performance.now() - t0));
        elected.catch(() => {}); // awaited below; the cleanup must run if it fails
        await producer.send({ topic, messages: [{ value: `after-${n}` }] });
        produceMs.push(performance.now() - t0);
        await elected;
        await producer.close();
        await client.close();
        await c.brokers[leader - 1].start();
        await until(
          "3 registered",
          async () => (await store.snapshot()).brokers.size === 3,
          60_000,
        );
      }
      console.log(
        `cycle ${n + 1}: controller ${controllerMs.at(-1)!.toFixed(0)} ms, new leader ` +
          `${electionMs.at(-1)!.toFixed(0)} ms, first produce ${produceMs.at(-1)!.toFixed(0)} ms`,
      );
    }
    console.log(stats("controller failover (SIGKILL → new controller key)", controllerMs));
    console.log(stats("leader election (SIGKILL → new leader in etcd)", electionMs));
    console.log(stats("first acks=1 produce on the new leader (from SIGKILL)", produceMs));
  } finally {
    store.etcd.close();
    await c.close();
    await etcd.stop();
  }
}

if (import.meta.main) await main();
