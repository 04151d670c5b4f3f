// Copyright 2026 the Sluice authors. Apache-2.0 license.
// The web console's API in cluster mode (issue #15): two brokers on a real etcd, each with its
// admin listener. A topic created through one broker's console is in the cluster (etcd) with its
// replicas placed over both; each console shows both brokers and the same controller; when one
// broker stops, the other's console counts the partitions left without a leader (only on the
// stopped broker) and those whose ISR shrank, and refuses to browse a partition it holds no
// replica of, naming its leader.
import { deepStrictEqual as assertEquals, ok } from "node:assert/strict";
import { Admin, Client } from "../../client/mod.ts";
import { requireEtcd, sharedEtcd } from "../etcd.ts";
import { startCluster, until } from "./harness.ts";

const etcdReq = requireEtcd();
const etcd = sharedEtcd();

// deno-lint-ignore no-explicit-any
async function get(port: number, path: string): Promise<{ status: number; body: any }> {
  const r = await fetch(`http://127.0.0.1:${port}/api/v1/${path}`);
  return { status: r.status, body: await r.json() };
}

Deno.test({
  name: "cluster: the console shows brokers, controller, replicas, offline and under-replicated",
  ignore: etcdReq.ignore,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    etcdReq.assertAvailable();
    const cluster = await startCluster(await etcd(), 2, { httpListener: "http://127.0.0.1:0" });
    try {
      const http = (i: number) => cluster.brokers[i]!.httpAddress!.port;
      const created = await fetch(`http://127.0.0.1:${http(0)}/api/v1/topics`, {
        method: "POST",
        body: JSON.stringify({ name: "replicated", partitions: 4, replicationFactor: 2 }),
      });
      assertEquals(created.status, 201, await created.clone().text());
      assertEquals((await created.json()).replicationFactor, 2);
      const solo = await fetch(`http://127.0.0.1:${http(1)}/api/v1/topics`, {
        method: "POST",
        body: JSON.stringify({ name: "solo", partitions: 4, replicationFactor: 1 }),
      });
      assertEquals(solo.status, 201);
      const tooMany = await fetch(`http://127.0.0.1:${http(0)}/api/v1/topics`, {
        method: "POST",
        body: JSON.stringify({ name: "x", partitions: 1, replicationFactor: 3 }),
      });
      assertEquals(
        [tooMany.status, (await tooMany.json()).error.code],
        [400, "INVALID_REPLICATION_FACTOR"],
      );
      // both consoles see both brokers and one controller
      let controller = -1;
      await until("both brokers and a controller in both views", async () => {
        const views = await Promise.all([0, 1].map((i) => get(http(i), "overview")));
        const ids = views.map((v) => v.body.brokers.map((b: { id: number }) => b.id).join());
        controller = views[0].body.controller;
        return ids.every((x) => x === "1,2") && controller > 0 &&
          views[1].body.controller === controller;
      });
      const o = (await get(http(0), "overview")).body;
      assertEquals(o.broker.mode, "cluster");
      assertEquals(
        o.brokers.map((b: { id: number; live: boolean; self: boolean; controller: boolean }) => [
          b.id,
          b.live,
          b.self,
          b.controller,
        ]),
        [[1, true, true, controller === 1], [2, true, false, controller === 2]],
      );
      assertEquals([o.offline, o.underReplicated], [0, 0]);
      // the topic as its clients see it
      const client = new Client({ bootstrapServers: cluster.bootstrapAll(), retries: 20 });
      let soloOn: number[];
      try {
        const admin = new Admin(client);
        const [r] = await admin.describeTopics(["replicated"]);
        const t = (await get(http(1), "topics/replicated")).body;
        assertEquals(
          t.partitions.map((p: { replicas: number[] }) => p.replicas),
          r.partitions.map((p) => p.replicas),
        );
        for (const p of t.partitions) assertEquals([...p.replicas].sort(), [1, 2]);
        const [s] = await admin.describeTopics(["solo"]);
        soloOn = [1, 2].map((id) => s.partitions.filter((p) => p.replicas[0] === id).length);
      } finally {
        await client.close();
      }
      const other = controller === 1 ? 1 : 0; // the index of the broker that is not controller
      const stays = 1 - other;
      const otherId = other + 1;
      ok(soloOn[other] > 0, `solo partitions on broker ${otherId}: ${soloOn}`);
      await cluster.stop(other);
      let after = (await get(http(stays), "overview")).body;
      await until("offline and under-replicated counted", async () => {
        after = (await get(http(stays), "overview")).body;
        return after.offline === soloOn[other] && after.underReplicated >= 4;
      });
      assertEquals(after.brokers.map((b: { id: number }) => b.id), [stays + 1]);
      assertEquals(
        after.offlinePartitions.every((p: { topic: string }) => p.topic === "solo"),
        true,
      );
      assertEquals(
        after.underReplicatedPartitions.filter((p: { topic: string }) => p.topic === "replicated")
          .map((p: { partition: number }) => p.partition),
        [0, 1, 2, 3],
      );
      const topics = (await get(http(stays), "topics")).body.topics;
      const soloRow = topics.find((t: { name: string }) => t.name === "solo");
      assertEquals([soloRow.offline, soloRow.underReplicated], [soloOn[other], 0]);
      // a partition this broker holds no replica of
      const detail = (await get(http(stays), "topics/solo")).body;
      const away = detail.partitions.find((p: { local: boolean }) => !p.local);
      assertEquals([away.leader, away.sizeBytes], [-1, null]);
      const browse = await get(http(stays), `topics/solo/records?partition=${away.partition}`);
      assertEquals([browse.status, browse.body.error.code], [409, "NOT_LEADER_OR_FOLLOWER"]);
      ok(/holds no replica of solo-\d+; browse it on its leader, broker -1/.test(
        browse.body.error.message,
      ));
    } finally {
      await cluster.close();
    }
  },
});
