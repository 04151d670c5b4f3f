// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * `deno task bench:cluster-partitions`: cluster mode at thousands of partitions. One etcd (1 or 3
 * members, `tests/etcd.ts`) and three broker processes (`tests/chaos/broker.ts`,
 * `min.insync.replicas=2`), then, each step timed:
 *
 * 1. **create**: topics of `--per-topic` partitions (replication factor 3) totalling
 *    `--partitions`; until etcd gives every partition a leader and a full ISR, then until every
 *    broker's Metadata answer does;
 * 2. **produce**: one acks=all batch (idempotent producer) to every partition;
 * 3. **SIGKILL** of a broker that is not the controller: until every partition it led has another
 *    leader in etcd, and until an acks=all batch to each of them is acknowledged; the records are
 *    read back; then its **restart**: until it is back in every ISR;
 * 4. **SIGTERM** of one broker (the same): how long it takes to exit, until its partitions are
 *    led elsewhere, an acks=all batch to each; restart and back in every ISR;
 * 5. **SIGTERM of all** three, **restart of all**: until every partition is led with a full ISR.
 *
 * After each fault every acknowledged batch must be read back exactly once at its offset (each
 * partition's records are exactly the acknowledged ones, in order). Each step reports the brokers'
 * RSS, etcd's key count and database size, and the requests etcd served in it (the gRPC calls of
 * its `/metrics`, which the JSON gateway's calls go through), by method.
 *
 * @example
 * ```sh
 * deno task bench:cluster-partitions --partitions 3000
 * deno task bench:cluster-partitions --partitions 10000 --cpu-prof /tmp/prof
 * deno task bench:cluster-partitions --override broker.session.timeout.ms=9000
 * ```
 *
 * Needs `-A` and `etcd` (Debian `etcd-server`).
 *
 * @module
 */

import { parseArgs } from "node:util";
import { Admin, Client, Connection, Consumer, Producer } from "../client/mod.ts";
import { MetadataRequest, MetadataResponse } from "../protocol/messages/metadata.ts";
import { EtcdClient } from "../server/cluster/etcd.ts";
import { MetadataStore } from "../server/cluster/metadata_store.ts";
import { ChaosBroker, freePort } from "../tests/chaos/broker.ts";
import { startEtcd, type TestEtcd } from "../tests/etcd.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    partitions: { type: "string", default: "3000" },
    "per-topic": { type: "string", default: "500" },
    "etcd-members": { type: "string", default: "1" },
    "cpu-prof": { type: "string" },
    "timeout-s": { type: "string", default: "240" },
    "skip-faults": { type: "boolean", default: false },
    override: { type: "string", multiple: true, default: [] },
  },
});
const TOTAL = Number(values.partitions);
const PER_TOPIC = Math.min(Number(values["per-topic"]), TOTAL);
const STEP_MS = Number(values["timeout-s"]) * 1000;

const log = (s: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${s}`);

async function waitFor(what: string, cond: () => Promise<boolean>, ms = STEP_MS): Promise<number> {
  const t0 = performance.now();
  const deadline = Date.now() + ms;
  while (!(await cond().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return performance.now() - t0;
}

function rssMb(pid: number | undefined): string {
  if (pid === undefined) return "-";
  try {
    const m = Deno.readTextFileSync(`/proc/${pid}/status`).match(/VmRSS:\s+(\d+)/);
    return m ? `${(Number(m[1]) / 1024).toFixed(0)}` : "-";
  } catch {
    return "-";
  }
}

/** etcd's counters of interest, summed over members. */
async function etcdMetrics(etcd: TestEtcd): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const m of etcd.members) {
    if (!m.running) continue;
    const text = await (await fetch(`${m.clientUrl}/metrics`)).text();
    for (const line of text.split("\n")) {
      let key: string | undefined;
      const g = line.match(/^grpc_server_handled_total\{.*grpc_method="(\w+)".*\} (\S+)/);
      if (g) key = `rpc.${g[1]}`;
      else {
        const k = line.match(
          /^(etcd_debugging_mvcc_keys_total|etcd_mvcc_db_total_size_in_bytes|etcd_debugging_mvcc_watcher_total|etcd_server_proposals_committed_total|etcd_debugging_lease_granted_total|etcd_debugging_mvcc_put_total|etcd_debugging_mvcc_range_total)(?:\{[^}]*\})? (\S+)/,
        );
        if (k) key = k[1];
      }
      if (key) out.set(key, (out.get(key) ?? 0) + Number(g ? g[2] : line.split(" ").at(-1)));
    }
    if (etcd.members.length > 1) break; // one member's view of keys/db; RPCs of the one asked
  }
  return out;
}

function metricsDelta(a: Map<string, number>, b: Map<string, number>): string {
  const rpc = [...b].filter(([k]) => k.startsWith("rpc.")).map(([k, v]) => [k, v - (a.get(k) ?? 0)])
    .filter(([, v]) => (v as number) > 0).map(([k, v]) => `${(k as string).slice(4)} ${v}`);
  const keys = b.get("etcd_debugging_mvcc_keys_total") ?? 0;
  const db = (b.get("etcd_mvcc_db_total_size_in_bytes") ?? 0) / 1024 / 1024;
  const proposals = (b.get("etcd_server_proposals_committed_total") ?? 0) -
    (a.get("etcd_server_proposals_committed_total") ?? 0);
  const watchers = b.get("etcd_debugging_mvcc_watcher_total") ?? 0;
  return `etcd: ${keys} keys, db ${
    db.toFixed(1)
  } MB, ${proposals} proposals, ${watchers} watchers; ` +
    `requests: ${rpc.join(", ") || "none"}`;
}

async function main(): Promise<void> {
  console.log(`load before: ${Deno.readTextFileSync("/proc/loadavg").trim()}`);
  console.log(
    `${TOTAL} partitions, ${values["etcd-members"]} etcd member(s), overrides: ${
      values.override?.join(" ") || "none"
    }`,
  );
  const etcd = await startEtcd({ members: Number(values["etcd-members"]) });
  const root = await Deno.makeTempDir({ prefix: "sluice_cparts_" });
  const clusterName = `cparts-${Deno.pid}`;
  if (values["cpu-prof"]) await Deno.mkdir(values["cpu-prof"], { recursive: true });
  const brokers: ChaosBroker[] = [];
  for (let i = 0; i < 3; i++) {
    await Deno.mkdir(`${root}/b${i + 1}`);
    brokers.push(
      new ChaosBroker({
        dataDir: `${root}/b${i + 1}`,
        port: freePort(),
        logFile: `${root}/b${i + 1}.log`,
        startTimeoutMs: STEP_MS,
        denoFlags: values["cpu-prof"]
          ? [
            "--cpu-prof",
            `--cpu-prof-dir=${values["cpu-prof"]}`,
            `--cpu-prof-name=b${i + 1}-${Date.now()}.cpuprofile`,
          ]
          : [],
        overrides: [
          `node.id=${i + 1}`,
          `controller.etcd.endpoints=${etcd.endpoints.join(",")}`,
          `sluice.cluster.name=${clusterName}`,
          "min.insync.replicas=2",
          "default.replication.factor=3",
          "offsets.topic.replication.factor=3",
          "transaction.state.log.replication.factor=3",
          "offsets.topic.num.partitions=5",
          "transaction.state.log.num.partitions=5",
          ...(values.override ?? []),
        ],
      }),
    );
  }
  const bootstrap = brokers.map((b) => b.bootstrap).join(",");
  const store = new MetadataStore(
    new EtcdClient({ endpoints: etcd.endpoints, timeoutMs: 30_000 }),
    `/sluice/${clusterName}`,
  );
  const topics: string[] = [];
  for (let n = 0; n * PER_TOPIC < TOTAL; n++) topics.push(`many-${n}`);
  const partitionsOf = (t: string) => Math.min(PER_TOPIC, TOTAL - topics.indexOf(t) * PER_TOPIC);
  /** Acknowledged values per "topic/partition", by offset (the log's exact contents). */
  const acked = new Map<string, string[]>();
  let batchNo = 0;

  let mark = await etcdMetrics(etcd);
  const report = async (step: string, detail: string) => {
    const now = await etcdMetrics(etcd);
    log(
      `${step}: ${detail}\n    RSS MB ${
        brokers.map((b, i) => `b${i + 1} ${rssMb(b.pid)}`).join(", ")
      }; ` +
        `load ${Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3).join(" ")}\n    ${
          metricsDelta(mark, now)
        }`,
    );
    mark = now;
  };

  const allInSync = async (isr = 3) => {
    const s = await store.snapshot();
    let n = 0;
    for (const t of topics) {
      const ps = s.partitions.get(t);
      if (!ps) return false;
      for (const [, p] of ps) {
        if (p.value.leader <= 0 || p.value.isr.length < isr) return false;
        n++;
      }
    }
    return n === TOTAL;
  };
  const metadataInSync = async (b: ChaosBroker) => {
    const [host, port] = b.bootstrap.split(":");
    const conn = await Connection.connect({ host, port: Number(port) });
    try {
      const res = await conn.send(
        { request: MetadataRequest, response: MetadataResponse },
        MetadataRequest.create({
          topics: topics.map((name) => ({ name, topicId: "AAAAAAAAAAAAAAAAAAAAAA" })),
          allowAutoTopicCreation: false,
        }),
      );
      let n = 0;
      for (const t of res.topics) {
        if (t.errorCode !== 0) return false;
        for (const p of t.partitions) {
          if (p.errorCode !== 0 || p.leaderId <= 0 || p.isrNodes.length < 3) return false;
          n++;
        }
      }
      return n === TOTAL;
    } finally {
      conn.close();
    }
  };
  const ledBy = async (id: number) => {
    const s = await store.snapshot();
    const out: Array<[string, number]> = [];
    for (const t of topics) {
      for (const [p, st] of s.partitions.get(t)!) if (st.value.leader === id) out.push([t, p]);
    }
    return out;
  };
  /** One acks=all batch to each partition; resolves when every one is acknowledged. */
  const produce = async (parts: Array<[string, number]>) => {
    const client = new Client({
      bootstrapServers: bootstrap,
      retries: 100_000,
      retryBackoffMs: 100,
    });
    const producer = new Producer(client, { acks: -1, idempotent: true, lingerMs: 5 });
    const no = ++batchNo;
    try {
      await Promise.all(parts.map(async ([t, p]) => {
        const value = `${t}/${p}/${no}`;
        const [meta] = await producer.send({ topic: t, messages: [{ partition: p, value }] });
        const log = acked.get(`${t}/${p}`) ?? [];
        if (meta.offset !== log.length) {
          throw new Error(
            `${t}/${p}: batch ${no} acknowledged at ${meta.offset}, expected ${log.length}`,
          );
        }
        log.push(value);
        acked.set(`${t}/${p}`, log);
      }));
    } finally {
      await producer.close();
      await client.close();
    }
  };
  /** Every partition's records are exactly the acknowledged values, in offset order. */
  const verify = async (what: string) => {
    const t0 = performance.now();
    const client = new Client({
      bootstrapServers: bootstrap,
      retries: 100_000,
      retryBackoffMs: 100,
    });
    const consumer = new Consumer(client, { fromBeginning: true, maxWaitMs: 200 });
    const seen = new Map<string, string[]>();
    try {
      await consumer.assign(
        topics.flatMap((t) =>
          Array.from({ length: partitionsOf(t) }, (_, p) => ({ topic: t, partition: p, offset: 0 }))
        ),
      );
      const expected = [...acked.values()].reduce((a, l) => a + l.length, 0);
      let got = 0;
      let quietSince = 0;
      const deadline = Date.now() + STEP_MS;
      while (Date.now() < deadline) {
        const records = await consumer.poll();
        for (const r of records) {
          const k = `${r.topic}/${r.partition}`;
          const l = seen.get(k) ?? [];
          if (r.offset !== l.length) {
            throw new Error(`${what}: ${k} record at ${r.offset} after ${l.length}`);
          }
          l.push(new TextDecoder().decode(r.value!));
          seen.set(k, l);
          got++;
        }
        if (got >= expected) {
          if (quietSince === 0) quietSince = Date.now();
          if (Date.now() - quietSince > 1500) break;
        }
      }
      let bad = 0;
      for (const [k, want] of acked) {
        const have = seen.get(k) ?? [];
        if (have.length !== want.length || have.some((v, i) => v !== want[i])) {
          if (bad++ < 5) {
            console.log(`  ${k}: have ${JSON.stringify(have)}, acked ${JSON.stringify(want)}`);
          }
        }
      }
      for (const k of seen.keys()) if (!acked.has(k)) bad++;
      if (bad > 0) {
        throw new Error(`${what}: ${bad} partitions differ from the acknowledged batches`);
      }
      log(
        `verify (${what}): ${got} records in ${TOTAL} partitions exactly as acknowledged (${
          (performance.now() - t0).toFixed(0)
        } ms)`,
      );
    } finally {
      await consumer.close();
      await client.close();
    }
  };

  try {
    const t0 = performance.now();
    await Promise.all(brokers.map((b) => b.start()));
    await waitFor("3 registered", async () => (await store.snapshot()).brokers.size === 3);
    await report("start", `3 brokers registered in ${(performance.now() - t0).toFixed(0)} ms`);

    // 1. create
    const client = new Client({ bootstrapServers: bootstrap, requestTimeoutMs: STEP_MS });
    const c0 = performance.now();
    for (const t of topics) {
      await new Admin(client).createTopics([
        { name: t, numPartitions: partitionsOf(t), replicationFactor: 3 },
      ]);
    }
    const created = performance.now() - c0;
    await waitFor("all led, full ISR (etcd)", () => allInSync());
    const inEtcd = performance.now() - c0;
    await waitFor("all led, full ISR (Metadata of every broker)", async () => {
      for (const b of brokers) if (!(await metadataInSync(b))) return false;
      return true;
    });
    await client.close();
    await report(
      "create",
      `${topics.length} topics, ${TOTAL} partitions RF3: CreateTopics answered ${
        created.toFixed(0)
      } ms, all led with full ISR in etcd ${inEtcd.toFixed(0)} ms, in every broker's Metadata ${
        (performance.now() - c0).toFixed(0)
      } ms`,
    );

    // 2. produce
    const all = topics.flatMap((t) =>
      Array.from({ length: partitionsOf(t) }, (_, p) => [t, p] as [string, number])
    );
    const p0 = performance.now();
    await produce(all);
    await report(
      "produce",
      `one acks=all batch to each of ${TOTAL} partitions: ${
        (performance.now() - p0).toFixed(0)
      } ms`,
    );
    await verify("after produce");
    if (values["skip-faults"]) return;

    const controller = (await store.snapshot()).controller!.value.id;
    const victimId = controller === 3 ? 2 : 3;
    const victim = brokers[victimId - 1];

    // 3. SIGKILL one broker, then restart
    for (const how of ["SIGKILL", "SIGTERM"] as const) {
      const led = await ledBy(victimId);
      const k0 = performance.now();
      let exitMs = 0;
      if (how === "SIGKILL") await victim.kill();
      else {
        await victim.stop(STEP_MS);
        exitMs = performance.now() - k0;
      }
      const reelected = waitFor(`partitions of broker ${victimId} re-led`, async () => {
        const s = await store.snapshot();
        return led.every(([t, p]) => {
          const l = s.partitions.get(t)!.get(p)!.value.leader;
          return l > 0 && l !== victimId;
        });
      }).then(() => performance.now() - k0);
      await produce(led);
      const producedMs = performance.now() - k0;
      const electedMs = await reelected;
      await report(
        how,
        `broker ${victimId} (led ${led.length}; controller is ${controller})${
          how === "SIGTERM" ? `: exited in ${exitMs.toFixed(0)} ms` : ""
        }: all its partitions re-led in etcd ${
          electedMs.toFixed(0)
        } ms, acks=all batch to each acknowledged ${producedMs.toFixed(0)} ms`,
      );
      await verify(`after ${how}`);
      const r0 = performance.now();
      await victim.start();
      const listenMs = performance.now() - r0;
      await waitFor(`broker ${victimId} back in every ISR`, () => allInSync());
      await report(
        `restart after ${how}`,
        `broker ${victimId} listening ${listenMs.toFixed(0)} ms, back in every ISR ${
          (performance.now() - r0).toFixed(0)
        } ms`,
      );
      await verify(`after restart (${how})`);
    }

    // 5. stop all, restart all
    const s0 = performance.now();
    const exits = await Promise.all(brokers.map(async (b) => {
      await b.stop(STEP_MS);
      return performance.now() - s0;
    }));
    await report("SIGTERM all", `exited in ${exits.map((e) => e.toFixed(0)).join(", ")} ms`);
    const a0 = performance.now();
    await Promise.all(brokers.map((b) => b.start()));
    const listened = performance.now() - a0;
    await waitFor("all led, full ISR after restart of all", () => allInSync());
    await report(
      "restart all",
      `all listening ${listened.toFixed(0)} ms, all led with full ISR ${
        (performance.now() - a0).toFixed(0)
      } ms`,
    );
    await verify("after restart of all");
    await produce(all);
    await verify("after a produce to all after restart of all");
  } finally {
    store.etcd.close();
    await Promise.all(brokers.map((b) => b.stop(60_000).catch(() => {})));
    const warn = [];
    for (let i = 0; i < 3; i++) {
      const text = await Deno.readTextFile(`${root}/b${i + 1}.log`).catch(() => "");
      const lines = text.split("\n").filter((l) => /WARN|ERROR/.test(l));
      warn.push(
        `b${i + 1}: ${lines.length} WARN/ERROR lines${
          lines.length ? `, e.g. ${lines.slice(0, 3).join(" | ")}` : ""
        }`,
      );
    }
    console.log(warn.join("\n"));
    if (Deno.env.get("KEEP_LOGS")) console.log(`logs in ${root}`);
    else await Deno.remove(root, { recursive: true }).catch(() => {});
    await etcd.stop();
    console.log(`load after: ${Deno.readTextFileSync("/proc/loadavg").trim()}`);
  }
}

if (import.meta.main) await main();
