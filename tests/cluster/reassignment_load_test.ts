// Copyright 2026 the Sluice authors. Apache-2.0 license.
// Partition reassignments under load with real clients: four broker processes on a real etcd, a
// topic of three partitions with three replicas and min.insync.replicas=2, two idempotent
// acks=all producers (confluent-kafka and Sluice's own client, the crash harness's producer
// processes) writing every partition while, cycle after cycle, every partition is moved to the
// broker that has no replica of it in place of its leader (so the leadership moves each time)
// with AlterPartitionReassignments through our admin client. Then the checker
// (tests/chaos/checker.ts): every acknowledged record exactly once at its acknowledged offset,
// no offset acknowledged for two records, read through the cluster and from the disks of the
// partition's replicas (byte-identical up to the high watermark); the broker without a replica
// holds no copy of it any more.
//
// Cycles: SLUICE_REASSIGN_CYCLES (default 3).
import { deepStrictEqual as assertEquals, ok } from "node:assert/strict";
import { Admin, Client } from "../../client/mod.ts";
import { EtcdClient } from "../../server/cluster/etcd.ts";
import { MetadataStore } from "../../server/cluster/metadata_store.ts";
import { AckBook, checkPartition, partitionOk, readWithSluice } from "../chaos/checker.ts";
import type { Ack } from "../chaos/protocol.ts";
import { type ProducerKind, ProducerProcess } from "../chaos/producers.ts";
import type { WorkerSpec } from "../chaos/protocol.ts";
import { requireEtcd, sharedEtcd } from "../etcd.ts";
import { requireClient } from "../harness.ts";
import { startProcessCluster, until } from "./harness.ts";
import { compareReplicas, readReplica, replicaContents } from "./replicas.ts";

const etcdReq = requireEtcd();
const confluent = requireClient("confluent-kafka");
const etcd = sharedEtcd();
const CYCLES = Number(Deno.env.get("SLUICE_REASSIGN_CYCLES") ?? "3");
const TOPIC = "moving";
const PARTITIONS = 3;
const RECORD_BYTES = 100;

Deno.test({
  name: `cluster reassignment: acks=all idempotent producers lose nothing while every partition ` +
    `moves its leader to another broker (${CYCLES} cycles)`,
  ignore: etcdReq.ignore || confluent.ignore,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    etcdReq.assertAvailable();
    confluent.assertAvailable();
    ok(Number.isInteger(CYCLES) && CYCLES >= 1, "SLUICE_REASSIGN_CYCLES: a positive integer");
    const e = await etcd();
    // a longer session than the default 2 s: this test is about moves, not about brokers fenced
    // by a machine too loaded to renew their leases
    const c = await startProcessCluster(e, 4, [
      "min.insync.replicas=2",
      "broker.session.timeout.ms=6000",
    ]);
    const store = new MetadataStore(
      new EtcdClient({ endpoints: e.endpoints, timeoutMs: 10_000 }),
      `/sluice/${c.clusterName}`,
    );
    // the test's own reads of etcd: a loaded machine can make one late (bounded retries)
    const snapshot = async () => {
      for (let attempt = 1;; attempt++) {
        try {
          return await store.snapshot();
        } catch (err) {
          if (attempt >= 5) throw err;
          await new Promise((r) => setTimeout(r, 500));
        }
      }
    };
    const replicasOf = async (p: number) =>
      (await snapshot()).topics.get(TOPIC)?.value.replicas[p] ?? [];
    const settled = async () => {
      const s = await snapshot();
      const ps = s.partitions.get(TOPIC);
      return ps !== undefined && ps.size === PARTITIONS &&
        [...ps.values()].every((v) =>
          v.value.isr.length === 3 && v.value.leader > 0 && v.value.addingReplicas === undefined
        );
    };
    const book = new AckBook();
    const noOffset: Ack[] = [];
    const problems: string[] = [];
    const lastAck = new Map<number, number>();
    const producers: ProducerProcess[] = [];
    const logDir = await Deno.makeTempDir({ prefix: "sluice_reassign_load_" });
    const client = new Client({ bootstrapServers: c.bootstrap, retries: 50 });
    const admin = new Admin(client);
    try {
      await until("4 registered", async () => (await snapshot()).brokers.size === 4, 60_000);
      await admin.createTopics([{ name: TOPIC, numPartitions: PARTITIONS, replicationFactor: 3 }]);
      await until("in sync", settled, 60_000);
      const targets: WorkerSpec["targets"] = [];
      for (let p = 0; p < PARTITIONS; p++) targets.push([TOPIC, p]);
      for (const [kind, batchRecords] of [["confluent", 1], ["sluice", 20]] as const) {
        const spec: WorkerSpec = {
          bootstrap: c.bootstrap,
          name: `${kind[0]}0`,
          targets,
          recordBytes: RECORD_BYTES,
          batchRecords,
        };
        producers.push(
          ProducerProcess.spawn(kind as ProducerKind, spec, (line) => {
            if (line.kind === "ack") {
              if (line.ack.offset < 0) {
                // librdkafka's implicit acknowledgement of a batch whose answer was lost:
                // checked by id below
                noOffset.push(line.ack);
                return;
              }
              book.add(line.ack);
              lastAck.set(
                line.ack.partition,
                Math.max(lastAck.get(line.ack.partition) ?? 0, line.ack.ts),
              );
            } else if (line.kind === "error") {
              problems.push(`${kind}: ${line.id} not acknowledged: ${line.detail}`);
            } else if (line.kind === "fatal") problems.push(`${kind}: fatal: ${line.detail}`);
          }, `${logDir}/${kind}.log`),
        );
      }
      await until("acknowledgements on every partition", () => {
        for (let p = 0; p < PARTITIONS; p++) if (!lastAck.has(p)) return false;
        return true;
      }, 60_000);
      for (let n = 0; n < CYCLES; n++) {
        await until(
          "4 registered",
          async () => (await snapshot()).brokers.size === 4,
          60_000,
        );
        const plan: { topic: string; partition: number; replicas: number[] }[] = [];
        for (let p = 0; p < PARTITIONS; p++) {
          const now = await replicasOf(p);
          const leader = (await snapshot()).partitions.get(TOPIC)!.get(p)!.value.leader;
          const spare = [1, 2, 3, 4].find((b) => !now.includes(b))!;
          // the spare broker in place of the leader, and first: the leadership moves to it
          plan.push({
            topic: TOPIC,
            partition: p,
            replicas: [spare, ...now.filter((b) => b !== leader)],
          });
        }
        const t0 = Date.now();
        const results = await admin.alterPartitionReassignments(plan);
        assertEquals(results.map((r) => r.error?.message ?? null), plan.map(() => null));
        await until(`cycle ${n + 1}: every partition moved`, async () => {
          for (let p = 0; p < PARTITIONS; p++) {
            if ((await replicasOf(p)).join() !== plan[p].replicas.join()) return false;
          }
          return true;
        }, 300_000);
        const movedMs = Date.now() - t0;
        await until(`cycle ${n + 1}: acknowledgements on every partition after the move`, () => {
          if (problems.length > 0) throw new Error(`cycle ${n + 1}: ${problems.join("; ")}`);
          for (let p = 0; p < PARTITIONS; p++) {
            if ((lastAck.get(p) ?? 0) <= t0 + movedMs) return false;
          }
          return true;
        }, 60_000);
        await until(`cycle ${n + 1}: in sync`, settled, 60_000);
        console.log(
          `cycle ${n + 1}: ${
            plan.map((x) => `${TOPIC}-${x.partition} → [${x.replicas}]`).join(", ")
          } in ${movedMs} ms (${book.count} acks so far)`,
        );
      }
      for (const pr of producers) {
        const exit = await pr.stop();
        if (!exit.clean) problems.push(`${pr.kind} producer ended ${JSON.stringify(exit)}`);
      }
      assertEquals(problems, []);
      assertEquals(book.conflicts, [], "no offset acknowledged for two records");
      for (let p = 0; p < PARTITIONS; p++) {
        const log = await readWithSluice(c.bootstrap, TOPIC, p, RECORD_BYTES, 120_000);
        const check = checkPartition(TOPIC, p, book.partition(TOPIC, p), log);
        ok(partitionOk(check), `read through the cluster: ${check.examples.join("; ")}`);
        ok(check.acked > 0, `${TOPIC}-${p} got acknowledgements`);
        for (const a of noOffset.filter((a) => a.partition === p)) {
          const n = log.ids.filter((id) => id === a.id).length;
          ok(n === 1, `${a.id}, acknowledged without offset, is in ${TOPIC}-${p} ${n} times`);
        }
      }
      const final = [];
      for (let p = 0; p < PARTITIONS; p++) final.push(await replicasOf(p));
      await new Promise((r) => setTimeout(r, 1500)); // the followers' last fetch brings the HW
      for (const b of c.brokers) await b.stop();
      let records = 0;
      for (let p = 0; p < PARTITIONS; p++) {
        const replicas = [];
        for (let i = 0; i < 4; i++) {
          const r = await readReplica(c.brokers[i].options.dataDir, TOPIC, p);
          if (!final[p].includes(i + 1)) {
            ok(r === undefined, `broker ${i + 1} still holds ${TOPIC}-${p}`);
            continue;
          }
          ok(r !== undefined, `broker ${i + 1} holds ${TOPIC}-${p}`);
          replicas.push(r);
        }
        const hw = Math.max(...replicas.map((r) => r.highWatermark));
        ok(hw > book.maxOffset(TOPIC, p), `${TOPIC}-${p}: HW ${hw} covers the last ack`);
        for (const r of replicas) {
          assertEquals(compareReplicas(replicas[0], r, hw), undefined);
          const check = checkPartition(
            TOPIC,
            p,
            book.partition(TOPIC, p),
            replicaContents(r, hw, RECORD_BYTES),
          );
          ok(partitionOk(check), `${r.dataDir}: ${check.examples.join("; ")}`);
          records += check.present;
        }
      }
      console.log(
        `${book.count} acknowledged records over ${CYCLES} cycles of ${PARTITIONS} moves; ` +
          `${records} records read from ${
            PARTITIONS * 3
          } replicas (${noOffset.length} acknowledged ` +
          `without offset by librdkafka, each read once): 0 lost, 0 misplaced, ` +
          `0 duplicated, replicas byte-identical up to the high watermark`,
      );
    } finally {
      await client.close();
      await Promise.all(producers.map((pr) => pr.stop(20_000).catch(() => {})));
      store.etcd.close();
      if (Deno.env.get("SLUICE_KEEP_LOGS") === undefined) {
        await c.close();
        await Deno.remove(logDir, { recursive: true }).catch(() => {});
      } else {
        await Promise.all(c.brokers.map((b) => b.stop(20_000).catch(() => {})));
        console.log(`logs kept: ${c.logs.join(" ")} ${logDir}`);
      }
    }
  },
});
