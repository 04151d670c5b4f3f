// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * Cluster mode at a size users have: three broker processes on their own etcd member, 1,500
 * partitions with replication factor 3 and `min.insync.replicas=2` (docs/CLUSTER.md "Many
 * partitions"). Every partition must be led with a full ISR after the create, take one acks=all
 * batch, move off a SIGKILLed broker and take another acks=all batch there, get the broker back
 * in its ISR after its restart, and hold exactly the acknowledged records at their offsets.
 * etcd's own count of transactions (its `/metrics`) must stay well below one per partition in
 * the failover and in the return to the ISRs: the controller's elections and the leaders'
 * AlterPartitions go to etcd in batches (one per partition before, which starved the brokers'
 * lease keep-alives at 3,000 partitions). No timings are asserted; the timeouts are for safety.
 *
 * `SLUICE_CLUSTER_PARTITIONS` changes the partition count (default 1500).
 *
 * @module
 */

import { deepStrictEqual as assertEquals, ok, strictEqual } from "node:assert/strict";
import { Admin, Client, Connection, Consumer, Producer } from "../../client/mod.ts";
import { MetadataRequest, MetadataResponse } from "../../protocol/messages/metadata.ts";
import { EtcdClient } from "../../server/cluster/etcd.ts";
import { MetadataStore } from "../../server/cluster/metadata_store.ts";
import { startEtcd, type TestEtcd } from "../etcd.ts";
import { clusterTest, startProcessCluster, until } from "./harness.ts";

const test = clusterTest("cluster at many partitions");
const TOTAL = Number(Deno.env.get("SLUICE_CLUSTER_PARTITIONS") ?? 1500);
const PER_TOPIC = 500;
const SAFETY_MS = 300_000;

/** etcd's count of Txn requests served (every client's). */
async function etcdTxns(etcd: TestEtcd): Promise<number> {
  const text = await (await fetch(`${etcd.endpoints[0]}/metrics`)).text();
  let n = 0;
  for (const line of text.split("\n")) {
    const m = line.match(/^grpc_server_handled_total\{.*grpc_method="Txn".*\} (\S+)/);
    if (m) n += Number(m[1]);
  }
  return n;
}

test(`${TOTAL} partitions RF 3: led with full ISRs after create, SIGKILL and restart; every acked record once`, async () => {
  const etcd = await startEtcd();
  const c = await startProcessCluster(etcd, 3, [
    "min.insync.replicas=2",
    "default.replication.factor=3",
    "offsets.topic.replication.factor=3",
    "transaction.state.log.replication.factor=3",
    // a loaded test machine delays etcd: no broker fenced for a slow keep-alive
    "broker.session.timeout.ms=9000",
  ]);
  const store = new MetadataStore(
    new EtcdClient({ endpoints: etcd.endpoints, timeoutMs: 30_000 }),
    `/sluice/${c.clusterName}`,
  );
  const topics: string[] = [];
  for (let n = 0; n * PER_TOPIC < TOTAL; n++) topics.push(`many-${n}`);
  const count = (i: number) => Math.min(PER_TOPIC, TOTAL - i * PER_TOPIC);
  const all = topics.flatMap((t, i) =>
    Array.from({ length: count(i) }, (_, p) => [t, p] as [string, number])
  );
  /** The acknowledged values of each partition, by offset. */
  const acked = new Map<string, string[]>();
  let round = 0;

  const inSync = async () => {
    const s = await store.snapshot();
    return all.every(([t, p]) => {
      const v = s.partitions.get(t)?.get(p)?.value;
      return v !== undefined && v.leader > 0 && v.isr.length === 3;
    });
  };
  /** Every broker's Metadata answer: every partition led, with a full ISR. */
  const metadataInSync = async () => {
    for (const b of c.brokers) {
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
        const led = res.topics.flatMap((t) =>
          t.errorCode !== 0
            ? []
            : t.partitions.filter((p) =>
              p.errorCode === 0 && p.leaderId > 0 && p.isrNodes.length === 3
            )
        );
        if (led.length !== TOTAL) return false;
      } finally {
        conn.close();
      }
    }
    return true;
  };
  const produce = async (parts: Array<[string, number]>) => {
    const client = new Client({ bootstrapServers: c.bootstrap, retries: 100_000 });
    const producer = new Producer(client, { acks: -1, idempotent: true, lingerMs: 5 });
    const r = ++round;
    try {
      await Promise.all(parts.map(async ([t, p]) => {
        const value = `${t}/${p}/${r}`;
        const [meta] = await producer.send({ topic: t, messages: [{ partition: p, value }] });
        const log = acked.get(`${t}/${p}`) ?? [];
        strictEqual(meta.offset, log.length, `${t}/${p}: round ${r}'s offset`);
        log.push(value);
        acked.set(`${t}/${p}`, log);
      }));
    } finally {
      await producer.close();
      await client.close();
    }
  };
  /** Each partition's records are exactly its acknowledged values, in offset order. */
  const verify = async () => {
    const client = new Client({ bootstrapServers: c.bootstrap, retries: 100_000 });
    const consumer = new Consumer(client, { fromBeginning: true, maxWaitMs: 200 });
    const seen = new Map<string, string[]>();
    try {
      await consumer.assign(all.map(([topic, partition]) => ({ topic, partition, offset: 0 })));
      const expected = [...acked.values()].reduce((a, l) => a + l.length, 0);
      let got = 0;
      let quietSince = 0;
      const deadline = Date.now() + SAFETY_MS;
      // every acked record, then 1.5 s more in which no further (duplicate) record may come
      while (Date.now() < deadline && (got < expected || Date.now() - quietSince < 1500)) {
        for (const rec of await consumer.poll()) {
          const k = `${rec.topic}/${rec.partition}`;
          const l = seen.get(k) ?? [];
          l.push(`${rec.offset}:${new TextDecoder().decode(rec.value!)}`);
          seen.set(k, l);
          got++;
        }
        if (got >= expected && quietSince === 0) quietSince = Date.now();
      }
      for (const [t, p] of all) {
        const k = `${t}/${p}`;
        assertEquals(seen.get(k) ?? [], (acked.get(k) ?? []).map((v, i) => `${i}:${v}`), k);
      }
      strictEqual(got, expected);
    } finally {
      await consumer.close();
      await client.close();
    }
  };

  try {
    const client = new Client({ bootstrapServers: c.bootstrap, requestTimeoutMs: 60_000 });
    try {
      const admin = new Admin(client);
      for (let i = 0; i < topics.length; i++) {
        await admin.createTopics([{
          name: topics[i],
          numPartitions: count(i),
          replicationFactor: 3,
        }]);
      }
    } finally {
      await client.close();
    }
    await until("every partition led with a full ISR in etcd", inSync, SAFETY_MS);
    await until("... and in every broker's Metadata", metadataInSync, SAFETY_MS);
    await produce(all);
    await verify();

    // SIGKILL a broker that is not the controller: its leaderships move, acks=all works there
    const s = await store.snapshot();
    const victim = s.controller!.value.id === 3 ? 2 : 3;
    const led = all.filter(([t, p]) => s.partitions.get(t)!.get(p)!.value.leader === victim);
    ok(led.length > 0, `broker ${victim} leads partitions`);
    const txnsBefore = await etcdTxns(etcd);
    await c.brokers[victim - 1].kill();
    await until(`every partition of broker ${victim} led by another`, async () => {
      const now = await store.snapshot();
      return led.every(([t, p]) => {
        const l = now.partitions.get(t)!.get(p)!.value.leader;
        return l > 0 && l !== victim;
      });
    }, SAFETY_MS);
    await until(`broker ${victim} out of every ISR`, async () => {
      const now = await store.snapshot();
      return all.every(([t, p]) => !now.partitions.get(t)!.get(p)!.value.isr.includes(victim));
    }, SAFETY_MS);
    const failoverTxns = (await etcdTxns(etcd)) - txnsBefore;
    await produce(led);
    await verify();

    // restart it: back in every ISR
    const txnsRestart = await etcdTxns(etcd);
    await c.brokers[victim - 1].start();
    await until(`broker ${victim} back in every ISR`, inSync, SAFETY_MS);
    await until("... and in every broker's Metadata", metadataInSync, SAFETY_MS);
    const returnTxns = (await etcdTxns(etcd)) - txnsRestart;
    await verify();
    await produce(all);
    await verify();

    // one transaction per partition before the batching; well below that with it
    ok(failoverTxns < TOTAL / 2, `${failoverTxns} etcd transactions for the failover`);
    ok(returnTxns < TOTAL / 2, `${returnTxns} etcd transactions for the return to the ISRs`);
  } finally {
    store.etcd.close();
    await c.close();
    await etcd.stop();
  }
});
