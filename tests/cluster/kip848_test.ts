// Copyright 2026 the Sluice authors. Apache-2.0 license.
// A consumer group of the KIP-848 protocol in cluster mode: two confluent-kafka consumers on
// librdkafka 2.15.1 (`group.protocol=consumer`) against three broker processes on a real etcd
// (RF=3). The group's coordinator (the leader of its `__consumer_offsets` partition) is
// SIGKILLed: its successor loads the group from the replicated partition and the members go on
// with their partitions; every record is consumed once, no partition has two owners at once.
// Missing etcd or clients fail the test when CI=true (it is skipped otherwise).

import { deepStrictEqual as assertEquals, ok } from "node:assert/strict";
import { Admin, Client, Producer } from "../../client/mod.ts";
import { EtcdClient } from "../../server/cluster/etcd.ts";
import { MetadataStore } from "../../server/cluster/metadata_store.ts";
import { partitionForGroup } from "../../server/group/schemas.ts";
import { requireEtcd, sharedEtcd } from "../etcd.ts";
import { assertNoDoubleOwnership, Member, waitFor } from "../interop/kip848_member.ts";
import { modernLibrdkafka, requireOnModern } from "../interop/modern_librdkafka.ts";
import { startProcessCluster, until } from "./harness.ts";

const etcdReq = requireEtcd();
const modern = await modernLibrdkafka();
const confluent = await requireOnModern("confluent-kafka", modern);
const etcd = sharedEtcd();
/** `offsets.topic.num.partitions` of the harness. */
const INTERNAL_PARTITIONS = 5;

Deno.test({
  name: "cluster: a KIP-848 group goes on with its partitions after its coordinator's SIGKILL",
  ignore: etcdReq.ignore || confluent.ignore,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    etcdReq.assertAvailable();
    confluent.assertAvailable();
    const e = await etcd();
    const c = await startProcessCluster(e, 3, [
      "min.insync.replicas=2",
      "default.replication.factor=3",
      "offsets.topic.replication.factor=3",
      "group.consumer.heartbeat.interval.ms=500",
    ]);
    const store = new MetadataStore(
      new EtcdClient({ endpoints: e.endpoints, timeoutMs: 2000 }),
      `/sluice/${c.clusterName}`,
    );
    const client = new Client({ bootstrapServers: c.bootstrap, retries: 50 });
    const members: Member[] = [];
    let killed = -1;
    try {
      await until("3 registered", async () => (await store.snapshot()).brokers.size === 3, 60_000);
      const topic = "kip848-orders";
      const group = "kip848-group";
      await new Admin(client).createTopics([{
        name: topic,
        numPartitions: 4,
        replicationFactor: 3,
      }]);
      const produce = async (from: number, count: number) => {
        const producer = new Producer(client, { acks: -1 });
        await producer.send({
          topic,
          messages: Array.from({ length: count }, (_, i) => ({
            partition: (from + i) % 4,
            value: `r${from + i}`,
          })),
        });
        await producer.close();
      };
      await produce(0, 200);
      const config = { bootstrap: c.bootstrap, group, topic };
      for (const name of ["c0", "c1"]) members.push(new Member(name, config, modern.env));
      await waitFor(
        "a 2/2 split and 200 records",
        () =>
          members.every((m) => m.owned().size === 2) &&
          members.flatMap((m) => m.records()).length >= 200,
        90_000,
      );
      const offsetsPartition = partitionForGroup(group, INTERNAL_PARTITIONS);
      killed = (await store.snapshot()).partitions.get("__consumer_offsets")?.get(offsetsPartition)
        ?.value.leader ?? -1;
      ok(killed > 0, `__consumer_offsets-${offsetsPartition} has a leader`);
      const killedAt = Date.now() / 1000;
      await c.brokers[killed - 1].kill();
      await until("a new group coordinator", async () => {
        const l = (await store.snapshot()).partitions.get("__consumer_offsets")
          ?.get(offsetsPartition)?.value.leader ?? -1;
        return l > 0 && l !== killed;
      }, 30_000);
      await produce(200, 200);
      await waitFor(
        "all 400 records",
        () => members.flatMap((m) => m.records()).length >= 400,
        90_000,
      );
      await new Promise((r) => setTimeout(r, 1000));
      assertNoDoubleOwnership(members);
      const all = members.flatMap((m) => m.records());
      assertEquals(all.length, 400, "records consumed more than once");
      assertEquals(new Set(all).size, 400);
      for (const m of members) {
        assertEquals(m.events.filter((ev) => ev.ev === "fatal"), [], `${m.name}: ${m.stderr}`);
        // the successor knew the members: none lost or gave up a partition
        assertEquals(
          m.events.filter((ev) => (ev.ev === "lost" || ev.ev === "revoke") && ev.t! > killedAt),
          [],
          m.name,
        );
      }
    } finally {
      for (const m of members) await m.kill().catch(() => {});
      await client.close();
      store.etcd.close();
      if (killed > 0) await c.brokers[killed - 1].start().catch(() => {});
      await c.close();
    }
  },
});
