// Copyright 2026 the Sluice authors. Apache-2.0 license.
// Cluster mode with a SASL inter-broker listener (docs/SECURITY.md "Brokers among themselves"):
// followers authenticate to their leaders with SCRAM (`sasl.mechanism.inter.broker.protocol`, the
// listener's JAAS username/password) over SASL_SSL and SASL_PLAINTEXT, as a principal in
// super.users with an authorizer on; the SCRAM credentials are the cluster's, in etcd. A broker
// with a wrong inter-broker password keeps running and stays out of the ISR of what it follows,
// saying why in one error line.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { Admin, Client, Consumer, Producer, scramUpsertion } from "../../client/mod.ts";
import type { BrokerConfig } from "../../server/config.ts";
import type { Logger } from "../../server/logger.ts";
import { sharedEtcd } from "../etcd.ts";
import { uniqueTopic } from "../harness.ts";
import { makeCertificates } from "../tls_certs.ts";
import { clusterTest, type InProcessCluster, startCluster, until } from "./harness.ts";

const etcd = sharedEtcd();
const test = clusterTest("cluster");

const PLAIN = "org.apache.kafka.common.security.plain.PlainLoginModule required ";
const SCRAM = "org.apache.kafka.common.security.scram.ScramLoginModule required ";

/** A logger keeping every line (the brokers' logs are otherwise silent in tests). */
function capture(lines: string[]): Logger {
  return {
    debug: () => {},
    info: (m) => lines.push(`INFO ${m}`),
    warn: (m) => lines.push(`WARN ${m}`),
    error: (m) => lines.push(`ERROR ${m}`),
  };
}

/**
 * Settings of a cluster whose clients log in with PLAIN as `admin` on the first listener
 * (SASL_PLAINTEXT) and whose brokers log in to each other with `mechanism` as `broker` on the
 * `interBroker` listener; both principals are super users of the ACL authorizer.
 */
function saslSettings(
  interBroker: "SASL_SSL" | "SASL_PLAINTEXT",
  mechanism: "SCRAM-SHA-256" | "SCRAM-SHA-512",
  brokerPassword: string,
  ssl: Record<string, string> = {},
): Partial<BrokerConfig> {
  const ib = interBroker === "SASL_SSL" ? "sasl_ssl" : "internal";
  return {
    listeners: interBroker === "SASL_SSL"
      ? "SASL_PLAINTEXT://127.0.0.1:0,SASL_SSL://localhost:0"
      : "SASL_PLAINTEXT://127.0.0.1:0,INTERNAL://localhost:0",
    listenerSecurityProtocolMap: "SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL," +
      "INTERNAL:SASL_PLAINTEXT",
    interBrokerListenerName: interBroker === "SASL_SSL" ? "SASL_SSL" : "INTERNAL",
    saslMechanismInterBrokerProtocol: mechanism,
    saslListenerMechanisms: { sasl_plaintext: ["PLAIN"], [ib]: [mechanism] },
    saslJaasConfigs: {
      "sasl_plaintext.plain": `${PLAIN}user_admin="admin-secret";`,
      [`${ib}.${mechanism.toLowerCase()}`]:
        `${SCRAM}username="broker" password="${brokerPassword}";`,
    },
    authorizerClassName: "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
    superUsers: ["User:admin", "User:broker"],
    sslProperties: ssl,
  };
}

function adminClient(cluster: InProcessCluster, i: number): Client {
  return new Client({
    bootstrapServers: cluster.bootstrap(i),
    sasl: { mechanism: "PLAIN", username: "admin", password: "admin-secret" },
  });
}

/** The `broker` user's SCRAM credential, created at broker 1 (the cluster's, in etcd). */
async function createBrokerUser(
  client: Client,
  mechanism: "SCRAM-SHA-256" | "SCRAM-SHA-512",
): Promise<void> {
  const res = await new Admin(client).alterUserScramCredentials([
    await scramUpsertion("broker", mechanism, "broker-secret"),
  ]);
  assertEquals(res.map((r) => r.errorCode), [0]);
}

async function replicateAndFailOver(
  interBroker: "SASL_SSL" | "SASL_PLAINTEXT",
  mechanism: "SCRAM-SHA-256" | "SCRAM-SHA-512",
): Promise<void> {
  const certs = await makeCertificates();
  const ssl: Record<string, string> = interBroker === "SASL_SSL"
    ? {
      "ssl.keystore.location": certs.serverKeystorePath,
      "ssl.truststore.location": certs.caPath,
    }
    : {};
  const cluster = await startCluster(
    await etcd(),
    3,
    saslSettings(interBroker, mechanism, "broker-secret", ssl),
  );
  const clients: Client[] = [];
  try {
    const c1 = adminClient(cluster, 0);
    clients.push(c1);
    await createBrokerUser(c1, mechanism);
    const topic = uniqueTopic("sasl-ib");
    await new Admin(c1).createTopics([{ name: topic, numPartitions: 3, replicationFactor: 3 }]);
    // acks=all with RF3: each batch waits for both followers, which fetch over SASL
    const producer = new Producer(c1, { acks: -1 });
    const sent = Array.from({ length: 30 }, (_, i) => ({
      partition: i % 3,
      key: `k${i}`,
      value: `v${i}`,
    }));
    const metas = await producer.send({ topic, messages: sent });
    await producer.close();
    assertEquals(metas.length, 30);
    const b1 = cluster.brokers[0]!;
    for (let p = 0; p < 3; p++) {
      const state = b1.cluster!.view.partition(topic, p)!.value;
      assertEquals([...state.isr].sort(), [1, 2, 3], `${topic}-${p}: ${JSON.stringify(state)}`);
    }
    // the leader of partition 0 goes away; a follower (which got the records over SASL) leads
    const old = b1.cluster!.view.partition(topic, 0)!.value.leader;
    await cluster.stop(old - 1);
    const up = [0, 1, 2].find((i) => cluster.brokers[i] !== undefined)!;
    const watcher = cluster.brokers[up]!;
    await until("a new leader for partition 0", () => {
      const s = watcher.cluster!.view.partition(topic, 0)?.value;
      return s !== undefined && s.leader !== -1 && s.leader !== old;
    }, 60_000);
    const reader = adminClient(cluster, up);
    clients.push(reader);
    const consumer = new Consumer(reader, { fromBeginning: true });
    await consumer.assign([{ topic, partition: 0, offset: "earliest" }]);
    const got: string[] = [];
    await until("partition 0's records from the new leader", async () => {
      for (const r of await consumer.poll({ maxWaitMs: 200 })) {
        got.push(
          `${r.offset}:${new TextDecoder().decode(r.key!)}=${new TextDecoder().decode(r.value!)}`,
        );
      }
      return got.length >= 10;
    }, 60_000);
    await consumer.close();
    assertEquals(
      got,
      sent.filter((m) => m.partition === 0).map((m, i) => `${i}:${m.key}=${m.value}`),
    );
  } finally {
    for (const c of clients) await c.close();
    await cluster.close();
    await Deno.remove(certs.dir, { recursive: true });
  }
}

test("SCRAM-SHA-512 over a SASL_SSL inter-broker listener, acks=all RF3, failover", async () => {
  await replicateAndFailOver("SASL_SSL", "SCRAM-SHA-512");
});

test("SCRAM-SHA-256 over a SASL_PLAINTEXT inter-broker listener, acks=all RF3, failover", async () => {
  await replicateAndFailOver("SASL_PLAINTEXT", "SCRAM-SHA-256");
});

test("a broker with a wrong inter-broker password stays out of the ISR, saying why", async () => {
  const lines: string[] = [];
  const cluster = await startCluster(await etcd(), 3, (i) => ({
    ...saslSettings("SASL_PLAINTEXT", "SCRAM-SHA-512", i === 2 ? "wrong" : "broker-secret"),
    replicaLagTimeMaxMs: 2000,
    replicaFetchBackoffMs: 200,
    ...(i === 2 ? { logger: capture(lines) } : {}),
  }));
  const clients: Client[] = [];
  try {
    const c1 = adminClient(cluster, 0);
    clients.push(c1);
    await createBrokerUser(c1, "SCRAM-SHA-512");
    const topic = uniqueTopic("sasl-ib-wrong");
    await new Admin(c1).createTopics([{ name: topic, numPartitions: 6, replicationFactor: 3 }]);
    const b1 = cluster.brokers[0]!;
    const state = (p: number) => b1.cluster!.view.partition(topic, p)!.value;
    // what broker 3 follows loses it from the ISR; what it leads keeps everyone (1 and 2 log in)
    await until("broker 3 out of the ISR of what it follows", () => {
      for (let p = 0; p < 6; p++) {
        const s = state(p);
        if (s.leader !== 3 && s.isr.includes(3)) return false;
      }
      return true;
    }, 60_000);
    const producer = new Producer(c1, { acks: -1 });
    const metas = await producer.send({
      topic,
      messages: Array.from({ length: 12 }, (_, i) => ({ partition: i % 6, value: `v${i}` })),
    });
    await producer.close();
    assertEquals(metas.length, 12);
    for (let p = 0; p < 6; p++) {
      const s = state(p);
      assertEquals(
        [...s.isr].sort(),
        s.leader === 3 ? [1, 2, 3] : [1, 2],
        `${topic}-${p}: ${JSON.stringify(s)}`,
      );
    }
    // still running and registered (no crash loop), and it said why
    assert(cluster.brokers[2]!.cluster!.registered);
    const errors = lines.filter((l) => l.startsWith("ERROR Replica fetcher for leader"));
    assert(errors.length >= 1, lines.join("\n"));
    for (const e of errors) {
      assert(
        /cannot authenticate: SASL SCRAM-SHA-512 authentication as broker to localhost:\d+ failed: SASL_AUTHENTICATION_FAILED: /
          .test(e),
        e,
      );
    }
  } finally {
    for (const c of clients) await c.close();
    await cluster.close();
  }
});
