// Copyright 2026 the Sluice authors. Apache-2.0 license.
// Cluster mode's /metrics and /readyz (issue #15): two brokers on a real etcd, each with its admin
// listener; the active controller counts the partitions left without a leader when a broker stops.
import { deepStrictEqual as assertEquals, ok } from "node:assert/strict";
import { Admin, Client } from "../../client/mod.ts";
import { requireEtcd, sharedEtcd } from "../etcd.ts";
import { scrape } from "../prometheus.ts";
import { startCluster, until } from "./harness.ts";

const etcdReq = requireEtcd();
const etcd = sharedEtcd();

Deno.test({
  name: "cluster: /readyz once registered; the controller's /metrics counts offline partitions",
  ignore: etcdReq.ignore,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    etcdReq.assertAvailable();
    const cluster = await startCluster(await etcd(), 2, {
      httpListener: "http://127.0.0.1:0",
      offsetsTopicReplicationFactor: 2,
      transactionStateLogReplicationFactor: 2,
    });
    try {
      const http = (i: number) => cluster.brokers[i]!.httpAddress!.port;
      for (const i of [0, 1]) {
        const r = await fetch(`http://127.0.0.1:${http(i)}/readyz`);
        assertEquals([r.status, await r.text()], [200, "ready\n"]);
      }
      const client = new Client({ bootstrapServers: cluster.bootstrapAll(), retries: 20 });
      let onlyOn: number[];
      try {
        const admin = new Admin(client);
        await admin.createTopics([{ name: "solo", numPartitions: 4, replicationFactor: 1 }]);
        const [solo] = await admin.describeTopics(["solo"]);
        onlyOn = [1, 2].map((id) =>
          solo.partitions.filter((p) => p.replicas.length === 1 && p.replicas[0] === id).length
        );
      } finally {
        await client.close();
      }
      // the controller is one of the two; it stays up, the other stops
      let controller = -1;
      await until("a controller", async () => {
        for (const i of [0, 1]) {
          const m = await scrape(http(i));
          if (m.value("kafka_controller_kafkacontroller_activecontrollercount") === 1) {
            controller = i;
          }
        }
        return controller !== -1;
      });
      const other = 1 - controller;
      ok(onlyOn[other] > 0, `partitions only on broker ${other + 1}: ${onlyOn}`);
      let m = await scrape(http(controller));
      assertEquals(m.value("kafka_controller_kafkacontroller_offlinepartitionscount"), 0);
      assertEquals(
        (await scrape(http(other))).value("kafka_controller_kafkacontroller_activecontrollercount"),
        0,
      );
      await cluster.stop(other);
      // the partitions whose only replica was on the stopped broker have no leader now
      await until("offline partitions counted", async () => {
        m = await scrape(http(controller));
        return m.value("kafka_controller_kafkacontroller_offlinepartitionscount") ===
          onlyOn[other];
      });
      assertEquals(
        m.value("kafka_controller_kafkacontroller_offlinepartitionscount"),
        onlyOn[other],
      );
    } finally {
      await cluster.close();
    }
  },
});
