// Copyright 2026 the Sluice authors. Apache-2.0 license.
// SASL_SSL (issue #14, docs/SECURITY.md): TLS transport with the throwaway CA of
// tests/tls_certs.ts, then SASL. kcat and confluent-kafka (librdkafka) and our client produce and
// consume with SCRAM-SHA-512 over SASL_SSL; a wrong password and a client without SASL move
// nothing. With the ACL authorizer (authorizer.class.name=sluice.acl, super.users=User:admin),
// the SASL user is the principal: alice, allowed by `sluice acls --add --allow-principal
// User:alice --producer --topic T` (over SASL_SSL with --command-config), produces; bob is refused
// TOPIC_AUTHORIZATION_FAILED and nothing is appended.

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { runSluice as sluice } from "../../cli/testing.ts";
import { Admin } from "../../client/admin.ts";
import { Client, type ClientOptions } from "../../client/client.ts";
import { Consumer } from "../../client/consumer.ts";
import { Producer } from "../../client/producer.ts";
import { type SaslOptions, scramUpsertion } from "../../client/sasl.ts";
import { ErrorCode, type KafkaError } from "../../protocol/errors.ts";
import { sharedCertificateBroker, type TestCertificates } from "../tls_certs.ts";
import {
  endOffset as partitionEndOffset,
  interopTest,
  PYTHON,
  requireClient,
  runCommand,
  startBroker,
  type TestBroker,
  uniqueTopic,
} from "../harness.ts";

const kcat = requireClient("kcat");
const confluent = requireClient("confluent-kafka");

const JAAS = "org.apache.kafka.common.security.plain.PlainLoginModule required " +
  'username="admin" password="admin-secret" user_admin="admin-secret";';
const ADMIN: SaslOptions = { mechanism: "PLAIN", username: "admin", password: "admin-secret" };
/** Super user (the interop round trips, which also need groups) and the two ACL users. */
const CAROL: SaslOptions = { mechanism: "SCRAM-SHA-512", username: "carol", password: "carol-pw" };
const ALICE: SaslOptions = { mechanism: "SCRAM-SHA-512", username: "alice", password: "alice-pw" };
const BOB: SaslOptions = { mechanism: "SCRAM-SHA-512", username: "bob", password: "bob-pw" };

interface Setup {
  tb: TestBroker;
  certs: TestCertificates;
  ca: string;
}

/** One SASL_SSL broker with the ACL authorizer; SCRAM-SHA-512 credentials made over the wire. */
const saslSslBroker = sharedCertificateBroker(async (certs): Promise<Setup> => {
  const tb = await startBroker({
    listeners: "SASL_SSL://127.0.0.1:0",
    sslProperties: {
      "ssl.keystore.type": "PEM",
      "ssl.keystore.location": certs.serverKeystorePath,
    },
    saslJaasConfigs: { "sasl_ssl.plain": JAAS },
    authorizerClassName: "sluice.acl",
    superUsers: ["User:admin", "User:carol"],
    numPartitions: 1,
  });
  const s = { tb, certs, ca: certs.read(certs.caPath) };
  const client = ourClient(s, ADMIN);
  try {
    const results = await new Admin(client).alterUserScramCredentials(
      await Promise.all(
        [CAROL, ALICE, BOB].map((u) => scramUpsertion(u.username, "SCRAM-SHA-512", u.password)),
      ),
    );
    assertEquals(results.map((r) => r.errorCode), [0, 0, 0]);
  } finally {
    client.close();
  }
  return s;
});

function ourOptions(
  s: Setup,
  sasl: SaslOptions,
  extra: Partial<ClientOptions> = {},
): ClientOptions {
  return { bootstrapServers: s.tb.bootstrap, tls: { caCerts: [s.ca] }, sasl, retries: 1, ...extra };
}

function ourClient(s: Setup, sasl: SaslOptions, extra: Partial<ClientOptions> = {}): Client {
  return new Client(ourOptions(s, sasl, extra));
}

/** The log end offset of partition 0 of `topic` (-1: no such topic), read by the admin. */
function endOffset(s: Setup, topic: string): Promise<number> {
  return partitionEndOffset(ourOptions(s, ADMIN), topic);
}

function rdkafkaProps(s: Setup, login: SaslOptions): string[] {
  return [
    "-X",
    "security.protocol=sasl_ssl",
    "-X",
    `ssl.ca.location=${s.certs.caPath}`,
    "-X",
    `sasl.mechanisms=${login.mechanism}`,
    "-X",
    `sasl.username=${login.username}`,
    "-X",
    `sasl.password=${login.password}`,
  ];
}

async function kcatRun(args: string[], stdin?: string) {
  const r = await runCommand("kcat", args, { stdin, timeoutMs: 30_000 });
  if (r.timedOut) throw new Error(`kcat ${args.join(" ")}: timed out\n${r.stderr}`);
  return r;
}

interopTest(kcat, "kcat SCRAM-SHA-512 over SASL_SSL: produce and consume", async () => {
  const s = await saslSslBroker();
  const topic = uniqueTopic("kcat-sasl-ssl");
  const auth = rdkafkaProps(s, CAROL);
  const p = await kcatRun(["-b", s.tb.bootstrap, ...auth, "-P", "-t", topic], "one\ntwo\n");
  assertEquals(p.code, 0, p.stderr);
  const c = await kcatRun([
    "-b",
    s.tb.bootstrap,
    ...auth,
    "-C",
    "-t",
    topic,
    "-o",
    "beginning",
    "-e",
    "-q",
  ]);
  assertEquals([c.code, c.stdout], [0, "one\ntwo\n"], c.stderr);

  // a wrong password, and TLS without SASL: refused, nothing written
  for (
    const [args, error] of [
      [rdkafkaProps(s, { ...CAROL, password: "wrong" }), /Invalid user credentials/],
      [["-X", "security.protocol=ssl", "-X", `ssl.ca.location=${s.certs.caPath}`], /./],
    ] as const
  ) {
    const r = await kcatRun(
      ["-b", s.tb.bootstrap, ...args, "-P", "-t", topic, "-X", "message.timeout.ms=5000"],
      "intruder\n",
    );
    assert(r.code !== 0, `kcat ${args.join(" ")} should fail: ${r.stderr}`);
    assert(error.test(r.stderr), `${error}: ${r.stderr.slice(0, 500)}`);
  }
  assertEquals(await endOffset(s, topic), 2);
});

const CONFLUENT = `
import json, sys, time
from confluent_kafka import Producer, Consumer
req = json.loads(sys.stdin.read())
conf = {"bootstrap.servers": req["bootstrap"], "security.protocol": "SASL_SSL",
        "ssl.ca.location": req["ca"], "sasl.mechanisms": "SCRAM-SHA-512",
        "sasl.username": req["username"], "sasl.password": req["password"]}
errors = []
p = Producer(dict(conf, **{"message.timeout.ms": 10000, "error_cb": lambda e: errors.append(str(e))}))
delivered = []
for i in range(3):
    p.produce(req["topic"], value=b"v%d" % i, callback=lambda err, msg: delivered.append(err is None))
p.flush(15)
c = Consumer(dict(conf, **{"group.id": "g-" + req["topic"], "auto.offset.reset": "earliest"}))
c.subscribe([req["topic"]])
got = []
deadline = time.time() + 20
while len(got) < 3 and time.time() < deadline:
    m = c.poll(0.5)
    if m is not None and m.error() is None:
        got.append(m.value().decode())
c.close()
print(json.dumps({"delivered": sum(delivered), "consumed": got, "errors": errors[:3]}))
`;

interopTest(
  confluent,
  "confluent-kafka SCRAM-SHA-512 over SASL_SSL: produce and consume",
  async () => {
    const s = await saslSslBroker();
    const topic = uniqueTopic("ck-sasl-ssl");
    const r = await runCommand(PYTHON, ["-c", CONFLUENT], {
      stdin: JSON.stringify({ bootstrap: s.tb.bootstrap, ca: s.certs.caPath, topic, ...CAROL }),
      timeoutMs: 60_000,
    });
    const out = JSON.parse(r.stdout.trim().split("\n").pop() || "{}");
    assertEquals([out.delivered, out.consumed], [3, ["v0", "v1", "v2"]], r.stdout + r.stderr);
  },
);

Deno.test({
  name: "our client SCRAM-SHA-512 over SASL_SSL: produce and consume",
  sanitizeOps: false,
  sanitizeResources: false,
}, async () => {
  const s = await saslSslBroker();
  const topic = uniqueTopic("ours-sasl-ssl");
  const client = ourClient(s, CAROL);
  try {
    await new Admin(client).createTopics([{ name: topic, numPartitions: 1 }]);
    const producer = new Producer(client);
    await producer.send({ topic, messages: [{ value: "a" }, { value: "b" }] });
    const consumer = new Consumer(client, { fromBeginning: true });
    await consumer.assign([{ topic, partition: 0, offset: "earliest" }]);
    const got: string[] = [];
    for (let i = 0; i < 20 && got.length < 2; i++) {
      for (const rec of await consumer.poll()) got.push(new TextDecoder().decode(rec.value!));
    }
    assertEquals(got, ["a", "b"]);
  } finally {
    client.close();
  }
  // a wrong password fails as such, over TLS too
  const bad = ourClient(s, { ...CAROL, password: "wrong" });
  try {
    await bad.refreshMetadata([topic], { allowAutoTopicCreation: false }).then(
      () => assert(false, "a wrong password was accepted"),
      (e) => assertEquals((e as KafkaError).code, ErrorCode.SASL_AUTHENTICATION_FAILED),
    );
  } finally {
    bad.close();
  }
});

interopTest(
  kcat,
  "SASL and ACLs: alice allowed by sluice acls --producer writes, bob is refused TOPIC_AUTHORIZATION_FAILED and nothing is appended",
  async () => {
    const s = await saslSslBroker();
    const topic = uniqueTopic("sasl-acl");
    const admin = ourClient(s, ADMIN);
    try {
      await new Admin(admin).createTopics([{ name: topic, numPartitions: 1 }]);
    } finally {
      admin.close();
    }
    const file = `${s.certs.dir}/admin.properties`;
    await Deno.writeTextFile(
      file,
      `security.protocol=SASL_SSL\nssl.ca.location=${s.certs.caPath}\n` +
        "sasl.mechanism=PLAIN\nsasl.username=admin\nsasl.password=admin-secret\n",
    );
    const cfg = ["--bootstrap-server", s.tb.bootstrap, "--command-config", file];
    // before any ACL both are refused (no ACL found: denied once an authorizer is configured)
    const before = await kcatRun(
      [
        "-b",
        s.tb.bootstrap,
        ...rdkafkaProps(s, ALICE),
        "-P",
        "-t",
        topic,
        "-X",
        "message.timeout.ms=8000",
      ],
      "early\n",
    );
    assert(
      before.code !== 0 && before.stderr.includes("Topic authorization failed"),
      before.stderr,
    );
    const add = await sluice([
      "acls",
      ...cfg,
      "--add",
      "--allow-principal",
      "User:alice",
      "--producer",
      "--topic",
      topic,
    ]);
    assertEquals(add.code, 0, add.stderr);
    const list = await sluice(["acls", ...cfg, "--list", "--topic", topic]);
    assertEquals(list.code, 0, list.stderr);
    assert(list.stdout.includes("User:alice") && !list.stdout.includes("User:bob"), list.stdout);

    const a = await kcatRun(
      ["-b", s.tb.bootstrap, ...rdkafkaProps(s, ALICE), "-P", "-t", topic],
      "from-alice-1\nfrom-alice-2\n",
    );
    assertEquals(a.code, 0, a.stderr);
    assertEquals(await endOffset(s, topic), 2);

    const b = await kcatRun(
      [
        "-b",
        s.tb.bootstrap,
        ...rdkafkaProps(s, BOB),
        "-P",
        "-t",
        topic,
        "-X",
        "message.timeout.ms=8000",
      ],
      "from-bob\n",
    );
    assert(b.code !== 0 && b.stderr.includes("Topic authorization failed"), b.stderr);
    // our client as bob: Kafka's error code
    const bobClient = ourClient(s, BOB);
    try {
      await new Producer(bobClient).send({ topic, messages: [{ value: "from-bob" }] }).then(
        () => assert(false, "bob's produce was accepted"),
        (e) => assertEquals((e as KafkaError).code, ErrorCode.TOPIC_AUTHORIZATION_FAILED),
      );
    } finally {
      bobClient.close();
    }
    assertEquals(await endOffset(s, topic), 2);
    // what is there is alice's only
    const c = await kcatRun([
      "-b",
      s.tb.bootstrap,
      ...rdkafkaProps(s, CAROL),
      "-C",
      "-t",
      topic,
      "-o",
      "beginning",
      "-e",
      "-q",
    ]);
    assertEquals([c.code, c.stdout], [0, "from-alice-1\nfrom-alice-2\n"], c.stderr);
  },
);
