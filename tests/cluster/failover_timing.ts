// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * Failover timings of cluster mode with default settings (`broker.session.timeout.ms` 2000,
 * the liveness probe on): three broker processes on one etcd, replication factor 3 and
 * `min.insync.replicas=2` (issue #13's bar), and `--cycles` rounds of
 *
 * - **controller**: SIGKILL the controller; time until another broker holds the controller key;
 * - **leader**: SIGKILL the leader of an RF=3 partition; time until its registration is gone
 *   from etcd (lease revoked by the failure detector, or expired), until etcd names a new
 *   leader, and until the first produce through our client (default client settings; acks=all
 *   and idempotent unless `--acks 1`) succeeds on it: the new leader was a follower in the ISR,
 *   the killed broker leaves the ISR, and the two left acknowledge the record. The leader is
 *   the controller too in about one round in three; both cases are reported apart, since a
 *   dead controller must be replaced before a leader is elected.
 *
 * The killed broker is started again after each round, and the next round waits until it is
 * back in every ISR. Prints each round and the distribution (min, p10, median, p90, max, and a
 * histogram in 250 ms steps).
 *
 * Run: `deno task cluster:failover [--cycles N] [--acks all|1] [--retry-backoff-ms N]
 * [--override key=value]...` (needs `etcd`). `--override` goes to every broker, e.g.
 * `--override sluice.broker.liveness.probe.enable=false` for the lease alone.
 *
 * @module
 */

import { Admin, Client, Producer } from "../../client/mod.ts";
import { EtcdClient } from "../../server/cluster/etcd.ts";
import { MetadataStore } from "../../server/cluster/metadata_store.ts";
import { startEtcd } from "../etcd.ts";
import { startProcessCluster, until } from "./harness.ts";

interface Options {
  cycles: number;
  acks: -1 | 1;
  retryBackoffMs: number | undefined;
  overrides: string[];
}

function parse(args: string[]): Options {
  const o: Options = { cycles: 10, acks: -1, retryBackoffMs: undefined, overrides: [] };
  for (let i = 0; i < args.length; i++) {
    const flag = args[i];
    const value = args[++i];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    switch (flag) {
      case "--cycles":
        o.cycles = Number(value);
        if (!Number.isInteger(o.cycles) || o.cycles < 1) {
          throw new Error("--cycles must be a positive integer");
        }
        break;
      case "--acks":
        if (value !== "all" && value !== "-1" && value !== "1") {
          throw new Error("--acks must be all, -1 or 1");
        }
        o.acks = value === "1" ? 1 : -1;
        break;
      case "--retry-backoff-ms":
        o.retryBackoffMs = Number(value);
        if (!Number.isInteger(o.retryBackoffMs) || o.retryBackoffMs < 1) {
          throw new Error("--retry-backoff-ms must be a positive integer");
        }
        break;
      case "--override":
        if (!value.includes("=")) throw new Error("--override needs key=value");
        o.overrides.push(value);
        break;
      default:
        throw new Error(
          `unknown flag ${flag} (--cycles, --acks, --retry-backoff-ms, --override)`,
        );
    }
  }
  return o;
}

function stats(name: string, ms: number[]): string {
  if (ms.length === 0) return `${name}: n=0`;
  const s = [...ms].sort((a, b) => a - b);
  const q = (f: number) => s[Math.min(s.length - 1, Math.floor(f * s.length))];
  const line = `${name}: n=${s.length} min ${s[0].toFixed(0)} ms, p10 ${q(0.1).toFixed(0)} ms, ` +
    `median ${q(0.5).toFixed(0)} ms, p90 ${q(0.9).toFixed(0)} ms, max ${s.at(-1)!.toFixed(0)} ms`;
  const buckets = new Map<number, number>();
  for (const v of s) {
    const b = Math.floor(v / 250) * 250;
    buckets.set(b, (buckets.get(b) ?? 0) + 1);
  }
  const histogram = [...buckets].map(([b, n]) => `${b}-${b + 250}: ${n}`).join(", ");
  return `${line}\n  histogram (ms): ${histogram}`;
}

async function main(): Promise<void> {
  const o = parse(Deno.args);
  const etcd = await startEtcd();
  const c = await startProcessCluster(etcd, 3, [
    "min.insync.replicas=2",
    "default.replication.factor=3",
    "offsets.topic.replication.factor=3",
    "transaction.state.log.replication.factor=3",
    ...o.overrides,
  ]);
  const store = new MetadataStore(
    new EtcdClient({ endpoints: etcd.endpoints, timeoutMs: 2000 }),
    `/sluice/${c.clusterName}`,
  );
  const controllerMs: number[] = [];
  const goneMs: number[] = [];
  const electionMs: number[] = [];
  const produceMs: number[] = [];
  const produceControllerMs: number[] = [];
  const produceOtherMs: number[] = [];
  const acks = o.acks === -1 ? "acks=all" : "acks=1";
  console.log(
    `3 brokers, RF 3, min.insync.replicas 2, ${o.cycles} cycles, ${acks}, client retryBackoffMs ${
      o.retryBackoffMs ?? "default (100)"
    }, overrides: ${o.overrides.join(" ") || "none"}`,
  );
  try {
    await until("3 registered", async () => (await store.snapshot()).brokers.size === 3, 60_000);
    for (let n = 0; n < o.cycles; n++) {
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
      // leader: of one RF=3 topic, its killed leader back in the ISR before the next round
      let wasController = false;
      {
        const topic = "timing";
        const client = new Client({
          bootstrapServers: c.bootstrap,
          retries: 1000,
          ...(o.retryBackoffMs === undefined ? {} : { retryBackoffMs: o.retryBackoffMs }),
        });
        if (n === 0) {
          await new Admin(client).createTopics([
            { name: topic, numPartitions: 1, replicationFactor: 3 },
          ]);
        }
        const inSync = async () => {
          const s = (await store.snapshot()).partitions.get(topic)?.get(0)?.value;
          return s !== undefined && s.leader > 0 && s.isr.length === 3;
        };
        await until("the partition in sync", inSync, 60_000);
        const s = await store.snapshot();
        const leader = s.partitions.get(topic)!.get(0)!.value.leader;
        const epoch = s.brokers.get(leader)!.createRevision;
        wasController = s.controller?.value.id === leader;
        const producer = new Producer(client, {
          acks: o.acks,
          idempotent: o.acks === -1,
          lingerMs: 0,
        });
        await producer.send({ topic, messages: [{ value: `warm-${n}` }] });
        const t0 = performance.now();
        await c.brokers[leader - 1].kill();
        const gone = until("the leader's registration gone", async () => {
          const b = (await store.snapshot()).brokers.get(leader);
          return b === undefined || b.createRevision !== epoch;
        }, 30_000).then(() => goneMs.push(performance.now() - t0));
        const elected = until("a new leader", async () => {
          const l = (await store.snapshot()).partitions.get(topic)!.get(0)!.value.leader;
          return l !== leader && l !== -1;
        }, 30_000).then(() => electionMs.push(performance.now() - t0));
        gone.catch(() => {}); // awaited below; the cleanup must run if they fail
        elected.catch(() => {});
        const [meta] = await producer.send({ topic, messages: [{ value: `after-${n}` }] });
        const took = performance.now() - t0;
        if (meta.offset < 0) throw new Error(`cycle ${n + 1}: ${acks} produce without offset`);
        produceMs.push(took);
        (wasController ? produceControllerMs : produceOtherMs).push(took);
        await gone;
        await elected;
        await producer.close();
        await client.close();
        await c.brokers[leader - 1].start();
        await until(
          "3 registered",
          async () => (await store.snapshot()).brokers.size === 3,
          60_000,
        );
        await until("the killed leader back in the ISR", inSync, 60_000);
      }
      console.log(
        `cycle ${n + 1}: controller ${controllerMs.at(-1)!.toFixed(0)} ms; leader` +
          `${wasController ? " (also controller)" : ""}: registration gone ${
            goneMs.at(-1)!.toFixed(0)
          } ms, new leader ${electionMs.at(-1)!.toFixed(0)} ms, first ${acks} produce ${
            produceMs.at(-1)!.toFixed(0)
          } ms`,
      );
    }
    console.log(stats("controller failover (SIGKILL → new controller key)", controllerMs));
    console.log(stats("leader's registration gone (SIGKILL → key deleted)", goneMs));
    console.log(stats("leader election (SIGKILL → new leader in etcd)", electionMs));
    console.log(stats(`first ${acks} produce on the new leader (from SIGKILL)`, produceMs));
    console.log(stats(`  of which the leader was not the controller`, produceOtherMs));
    console.log(stats(`  of which the leader was the controller`, produceControllerMs));
  } finally {
    store.etcd.close();
    await c.close();
    await etcd.stop();
  }
}

if (import.meta.main) await main();
