// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * How long a partition reassignment takes (docs/CLUSTER.md "Operations"): four broker processes
 * on one etcd member, a topic per size with one RF=3 partition on brokers 1, 2, 3 filled with N
 * MiB (1 KiB records, our client, acks=all), then moved to [4, 2, 3] (broker 4 copies it, joins
 * the ISR, takes the leadership from broker 1, which deletes its copy), optionally while a
 * producer keeps writing to it. Prints, per size, the time from the AlterPartitionReassignments
 * request to the completion in etcd, and the copy rate.
 *
 * Run: `deno task cluster:reassign [--mib 16,64] [--load]`.
 *
 * @module
 */

import { Admin, Client, Producer } from "../../client/mod.ts";
import { EtcdClient } from "../../server/cluster/etcd.ts";
import { MetadataStore } from "../../server/cluster/metadata_store.ts";
import { startEtcd } from "../etcd.ts";
import { startProcessCluster, until } from "./harness.ts";

function parse(args: string[]): { mib: number[]; load: boolean } {
  const o = { mib: [16, 64], load: false };
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--mib") {
      o.mib = (args[++i] ?? "").split(",").map(Number);
      if (o.mib.some((n) => !Number.isInteger(n) || n < 1 || n > 1024)) {
        throw new Error("--mib: comma-separated sizes in MiB, 1 to 1024");
      }
    } else if (args[i] === "--load") o.load = true;
    else throw new Error(`unknown flag ${args[i]} (--mib, --load)`);
  }
  return o;
}

async function main(): Promise<void> {
  const o = parse(Deno.args);
  const etcd = await startEtcd();
  const c = await startProcessCluster(etcd, 4, ["min.insync.replicas=2"]);
  const store = new MetadataStore(
    new EtcdClient({ endpoints: etcd.endpoints, timeoutMs: 2000 }),
    `/sluice/${c.clusterName}`,
  );
  const client = new Client({ bootstrapServers: c.bootstrap, retries: 100 });
  const admin = new Admin(client);
  console.log(
    `4 brokers, RF 3, [1,2,3] → [4,2,3], 1 KiB records${o.load ? ", a producer writing" : ""}`,
  );
  try {
    await until("4 registered", async () => (await store.snapshot()).brokers.size === 4, 60_000);
    for (const mib of o.mib) {
      const topic = `move-${mib}`;
      await admin.createTopics([{ name: topic, numPartitions: 1, replicationFactor: 3 }]);
      // the assignment placement chose: make it [1,2,3] first (at once: nothing to copy there
      // when it is empty), then fill
      const r0 = await admin.alterPartitionReassignments([
        { topic, partition: 0, replicas: [1, 2, 3] },
      ]);
      if (r0[0].error !== null) throw r0[0].error;
      await until(`${topic} on [1,2,3]`, async () => {
        const s = await store.snapshot();
        return s.topics.get(topic)?.value.replicas[0].join() === "1,2,3" &&
          s.partitions.get(topic)?.get(0)?.value.isr.length === 3;
      }, 60_000);
      await admin.electLeaders("preferred", [{ topic, partition: 0 }]);
      const producer = new Producer(client, { acks: -1, lingerMs: 5 });
      const value = "x".repeat(1024);
      const fillStart = performance.now();
      for (let i = 0; i < mib * 1024; i += 256) {
        await producer.send({
          topic,
          messages: Array.from({ length: 256 }, () => ({ partition: 0, value })),
        });
      }
      await producer.flush();
      const fillMs = performance.now() - fillStart;
      let stop = false;
      let live = 0;
      const loading = o.load
        ? (async () => {
          while (!stop) {
            await producer.send({
              topic,
              messages: Array.from({ length: 20 }, () => ({ partition: 0, value: "live" })),
            });
            live += 20;
          }
        })()
        : Promise.resolve();
      const t0 = performance.now();
      const r = await admin.alterPartitionReassignments([
        { topic, partition: 0, replicas: [4, 2, 3] },
      ]);
      if (r[0].error !== null) throw r[0].error;
      await until(`${topic} moved`, async () => {
        const s = await store.snapshot();
        return s.topics.get(topic)?.value.replicas[0].join() === "4,2,3";
      }, 600_000);
      const ms = performance.now() - t0;
      stop = true;
      await loading;
      await producer.close();
      console.log(
        `${mib} MiB: filled in ${(fillMs / 1000).toFixed(1)} s (acks=all, RF 3); moved in ` +
          `${(ms / 1000).toFixed(2)} s (${(mib / (ms / 1000)).toFixed(1)} MiB/s)` +
          (o.load ? `, ${live} records written during the move` : ""),
      );
      await admin.deleteTopics([topic]);
    }
  } finally {
    await client.close();
    store.etcd.close();
    await c.close();
    await etcd.stop();
  }
}

if (import.meta.main) await main();
