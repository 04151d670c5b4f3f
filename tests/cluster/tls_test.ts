// Copyright 2026 the Sluice authors. Apache-2.0 license.
// Cluster mode with two listeners per broker (docs/SECURITY.md): PLAINTEXT for clients and SSL as
// the inter-broker listener. Followers fetch from their leaders over TLS (an acks=all produce
// completes only once the follower has the records), each registration in etcd carries every
// listener, and Metadata answers each client with the other brokers' endpoints on its own listener.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { Admin, Client, clientTlsFromProperties, Producer } from "../../client/mod.ts";
import { sharedEtcd } from "../etcd.ts";
import { uniqueTopic } from "../harness.ts";
import { makeCertificates } from "../tls_certs.ts";
import { clusterTest, startCluster, until } from "./harness.ts";

const etcd = sharedEtcd();
const test = clusterTest("cluster");

test("replication over an SSL inter-broker listener, endpoints per listener", async () => {
  const certs = await makeCertificates();
  const cluster = await startCluster(await etcd(), 2, {
    listeners: "PLAINTEXT://127.0.0.1:0,SSL://localhost:0",
    interBrokerListenerName: "SSL",
    sslProperties: {
      "ssl.keystore.location": certs.serverKeystorePath,
      "ssl.truststore.location": certs.caPath,
    },
  });
  const clients: Client[] = [];
  try {
    const [b1, b2] = cluster.brokers as NonNullable<(typeof cluster.brokers)[number]>[];
    // every listener is published; the registration's own address is the inter-broker one
    await until("both registered", () => b1.cluster!.liveBrokers().length === 2);
    const reg2 = b1.cluster!.view.broker(2)!.value;
    assertEquals(reg2.port, b2.listener("SSL").port);
    assertEquals(
      reg2.listeners?.map((l) => [l.name, l.port, l.securityProtocol]),
      [["PLAINTEXT", b2.listener("PLAINTEXT").port, "PLAINTEXT"], [
        "SSL",
        b2.listener("SSL").port,
        "SSL",
      ]],
    );
    const plain = new Client({ bootstrapServers: cluster.bootstrap(0) });
    clients.push(plain);
    const topic = uniqueTopic("tls-cluster");
    await new Admin(plain).createTopics([{ name: topic, numPartitions: 2, replicationFactor: 2 }]);
    // acks=all: each batch waits for the follower, which fetches over TLS
    const producer = new Producer(plain, { acks: -1 });
    const metas = await producer.send({
      topic,
      messages: Array.from({ length: 20 }, (_, i) => ({ key: `k${i}`, value: `v${i}` })),
    });
    await producer.close();
    assertEquals(metas.length, 20);
    // both replicas stayed in sync: the follower fetched everything over TLS
    for (let p = 0; p < 2; p++) {
      const state = b1.cluster!.view.partition(topic, p)!.value;
      assertEquals([...state.isr].sort(), [1, 2], `${topic}-${p}: ${JSON.stringify(state)}`);
    }
    // each client is told the endpoints of its own listener
    const plainBrokers = (await plain.refreshMetadata([topic]), plain.brokers);
    assertEquals(
      plainBrokers.map((b) => b.port).sort(),
      [b1.listener("PLAINTEXT").port, b2.listener("PLAINTEXT").port].sort(),
    );
    const ssl = new Client({
      bootstrapServers: `localhost:${b1.listener("SSL").port}`,
      tls: clientTlsFromProperties({ "security.protocol": "SSL", "ssl.ca.location": certs.caPath }),
    });
    clients.push(ssl);
    await ssl.refreshMetadata([topic]);
    assertEquals(
      ssl.brokers.map((b) => b.port).sort(),
      [b1.listener("SSL").port, b2.listener("SSL").port].sort(),
    );
    assert(ssl.brokers.every((b) => b.host === "localhost"));
  } finally {
    for (const c of clients) await c.close();
    await cluster.close();
    await Deno.remove(certs.dir, { recursive: true });
  }
});
