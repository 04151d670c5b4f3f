// Copyright 2026 the Sluice authors. Apache-2.0 license.
// A sharded broker (sluice.workers=2, ARCHITECTURE.md "Shards") with a SASL_SSL listener, an
// SSL listener with client certificates (ssl.client.auth=required: node:tls) and the ACL
// authorizer, as its own process: both shards listen on both TLS ports (SO_REUSEPORT), SCRAM
// users made on shard 0 (AlterUserScramCredentials) authenticate on connections of either shard,
// and an ACL created or deleted on shard 0 applies on both shards' partitions as soon as the
// request is answered, for SASL users and certificate principals; after a restart, the shard
// started in a worker has shard 0's ACLs and credentials from the start.
import assert from "node:assert/strict";
import { Admin, Client, Producer } from "../client/mod.ts";
import { type SaslOptions, scramUpsertion } from "../client/sasl.ts";
import { shardOf } from "../server/shards.ts";
import { makeCertificates } from "./tls_certs.ts";
import { type ShardedBroker, startShardedBroker, stopShardedBroker } from "./harness.ts";

const JAAS = "org.apache.kafka.common.security.plain.PlainLoginModule required " +
  'username="admin" password="admin-secret" user_admin="admin-secret";';
const ADMIN: SaslOptions = { mechanism: "PLAIN", username: "admin", password: "admin-secret" };
const ALICE: SaslOptions = { mechanism: "SCRAM-SHA-512", username: "alice", password: "alice-pw" };
const BOB: SaslOptions = { mechanism: "SCRAM-SHA-512", username: "bob", password: "bob-pw" };
const TOPIC = "sec";
const PARTITIONS = [0, 1, 2, 3];
/** Separate connections per check: all on one shard with probability 2^-(CONNECTIONS-1). */
const CONNECTIONS = 12;

Deno.test({
  name: "sluice.workers=2: SASL_SSL and mTLS on both shards, SCRAM users and ACLs made on " +
    "shard 0 apply on both, before the answer and after a restart",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const certs = await makeCertificates();
    const ca = certs.read(certs.caPath);
    const dir = await Deno.makeTempDir({ prefix: "sluice-shards-security-" });
    const settings = [
      "listener.security.protocol.map=SASL_SSL:SASL_SSL,MTLS:SSL",
      `ssl.truststore.location=${certs.caPath}`,
      "listener.name.mtls.ssl.client.auth=required",
      "ssl.keystore.type=PEM",
      `ssl.keystore.location=${certs.serverKeystorePath}`,
      `listener.name.sasl_ssl.plain.sasl.jaas.config=${JAAS}`,
      "authorizer.class.name=sluice.acl",
      "super.users=User:admin",
      "offsets.topic.num.partitions=1",
    ];
    const start = () =>
      startShardedBroker(dir, settings, "SASL_SSL://127.0.0.1:0,MTLS://127.0.0.1:0");
    let b: ShardedBroker = await start();
    /** The MTLS listener's port, from shard 0's "listening" line. */
    const mtlsPort = () => {
      const m = b.output.map((l) => /listener MTLS \(SSL\), on 127\.0\.0\.1:(\d+)/.exec(l))
        .find((x) => x !== null);
      assert.ok(m, b.output.join("\n"));
      return Number(m[1]);
    };
    /** SASL on the SASL_SSL listener, or (`"cert"`) the client certificate on MTLS. */
    type Login = SaslOptions | "cert";
    const clientOf = (login: Login) =>
      new Client({
        bootstrapServers: `127.0.0.1:${login === "cert" ? mtlsPort() : b.port}`,
        tls: login === "cert"
          ? {
            caCerts: [ca],
            cert: certs.read(certs.clientCertPath),
            key: certs.read(certs.clientKeyPath),
          }
          : { caCerts: [ca] },
        sasl: login === "cert" ? undefined : login,
        retries: 1,
        clientId: "shards-security",
      });
    /** Per partition, the error code of one record sent alone on a new connection (0: stored). */
    const produce = async (sasl: Login) => {
      const codes: number[] = [];
      for (const partition of PARTITIONS) {
        const client = clientOf(sasl);
        try {
          const p = new Producer(client, { retries: 0 });
          codes.push(
            await p.send({ topic: TOPIC, messages: [{ partition, value: "v" }] }).then(
              () => 0,
              (e) => (e as { code?: number }).code ?? -1,
            ),
          );
          await p.close().catch(() => {});
        } finally {
          await client.close();
        }
      }
      return codes;
    };
    /** Whether `sasl` authenticates on each of CONNECTIONS new connections. */
    const logins = async (sasl: Login) => {
      const out: boolean[] = [];
      for (let i = 0; i < CONNECTIONS; i++) {
        const client = clientOf(sasl);
        try {
          out.push(await client.anyConnection().then(() => true, () => false));
        } finally {
          await client.close();
        }
      }
      return out;
    };
    const writeAcl = {
      resourceType: "topic",
      resourceName: TOPIC,
      principal: "User:alice",
      operation: "write",
      permission: "allow",
    } as const;
    try {
      const owners = PARTITIONS.map((p) => shardOf(TOPIC, p, 2));
      assert.ok(owners.includes(0) && owners.includes(1), `owners ${owners}`);
      const adminClient = clientOf(ADMIN);
      const admin = new Admin(adminClient);
      await admin.createTopics([{ name: TOPIC, numPartitions: 4 }]);
      // SCRAM users made on shard 0 log in on every connection, whichever shard it lands on
      const made = await admin.alterUserScramCredentials(
        await Promise.all(
          [ALICE, BOB].map((u) => scramUpsertion(u.username, "SCRAM-SHA-512", u.password)),
        ),
      );
      assert.deepStrictEqual(made.map((r) => r.errorCode), [0, 0]);
      assert.deepStrictEqual(await logins(ALICE), Array(CONNECTIONS).fill(true));
      assert.deepStrictEqual(
        await logins({ ...ALICE, password: "wrong" }),
        Array(CONNECTIONS).fill(false),
      );

      // no ACL: refused on both shards' partitions (TOPIC_AUTHORIZATION_FAILED)
      assert.deepStrictEqual(await produce(ALICE), [29, 29, 29, 29]);
      // allowed once CreateAcls is answered, on both shards; bob still refused
      await admin.createAcls([writeAcl, { ...writeAcl, operation: "describe" }]);
      assert.deepStrictEqual(await produce(ALICE), [0, 0, 0, 0]);
      assert.deepStrictEqual(await produce(BOB), [29, 29, 29, 29]);
      // refused again once DeleteAcls is answered
      const deleted = await admin.deleteAcls([{ ...writeAcl }]);
      assert.deepStrictEqual(deleted.map((d) => d.length), [1]);
      assert.deepStrictEqual(await produce(ALICE), [29, 29, 29, 29]);
      await admin.createAcls([writeAcl]);
      // the certificate's principal on the node:tls listener: refused, then allowed on both
      assert.deepStrictEqual(await logins("cert"), Array(CONNECTIONS).fill(true));
      assert.deepStrictEqual(await produce("cert"), [29, 29, 29, 29]);
      await admin.createAcls([{ ...writeAcl, principal: `User:${certs.clientDn}` }]);
      assert.deepStrictEqual(await produce("cert"), [0, 0, 0, 0]);
      await adminClient.close();

      // after a restart, the worker's shard has shard 0's ACLs and credentials from the start
      await stopShardedBroker(b);
      b = await start();
      assert.deepStrictEqual(await logins(ALICE), Array(CONNECTIONS).fill(true));
      assert.deepStrictEqual(await produce(ALICE), [0, 0, 0, 0]);
      assert.deepStrictEqual(await produce(BOB), [29, 29, 29, 29]);
      assert.deepStrictEqual(await produce("cert"), [0, 0, 0, 0]);
      const again = clientOf(ADMIN);
      try {
        const ends = await new Admin(again).listOffsets(
          PARTITIONS.map((partition) => ({ topic: TOPIC, partition, spec: "latest" as const })),
        );
        // one record per partition from each allowed round, none from the refused ones
        assert.deepStrictEqual(ends.map((e) => e.offset), [4, 4, 4, 4]);
      } finally {
        await again.close();
      }
      await stopShardedBroker(b);
    } catch (e) {
      try {
        b.child.kill("SIGKILL");
      } catch {
        // already exited
      }
      await b.exited;
      throw new Error(
        `${e instanceof Error ? e.stack : e}\n--- broker ---\n${b.output.join("\n")}`,
      );
    } finally {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
      await Deno.remove(certs.dir, { recursive: true }).catch(() => {});
    }
  },
});
