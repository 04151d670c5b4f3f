// Copyright 2026 the Sluice authors. Apache-2.0 license.
// SASL_PLAINTEXT with real clients (issue #14): kcat and confluent-kafka (librdkafka 2.0.2),
// kafka-python 2.0.2 and kafkajs 2.2.4 authenticate with PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512
// and move records; a wrong password, an unknown user and a client without SASL get Kafka's
// errors and move nothing (the log end offset is unchanged). kafkajs re-authenticates
// (KIP-368) within connections.max.reauth.ms. The SCRAM credentials are made with our admin
// client (AlterUserScramCredentials) logged in with PLAIN, as an operator would.

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { Admin } from "../../client/admin.ts";
import { Client } from "../../client/client.ts";
import { type SaslOptions, scramUpsertion } from "../../client/sasl.ts";
import type { Logger } from "../../server/logger.ts";
import {
  endOffset as partitionEndOffset,
  interopTest,
  PYTHON,
  requireClient,
  runCommand,
  sharedBroker,
  type TestBroker,
  uniqueTopic,
  withTimeout,
} from "../harness.ts";
import { CALL_MS, loadKafkajs } from "./kafkajs_client.ts";

const kcat = requireClient("kcat");
const confluent = requireClient("confluent-kafka");
const kafkaPython = requireClient("kafka-python");
const kafkajsReq = requireClient("kafkajs");
const kafkajs = await loadKafkajs(kafkajsReq.available);

const JAAS = "org.apache.kafka.common.security.plain.PlainLoginModule required " +
  'username="admin" password="admin-secret" user_admin="admin-secret" user_alice="alice-secret";';
const ADMIN: SaslOptions = { mechanism: "PLAIN", username: "admin", password: "admin-secret" };

/** Who logs in with each mechanism. */
const LOGINS: SaslOptions[] = [
  { mechanism: "PLAIN", username: "alice", password: "alice-secret" },
  { mechanism: "SCRAM-SHA-256", username: "bob", password: "bob-secret-256" },
  { mechanism: "SCRAM-SHA-512", username: "bob", password: "bob-secret-512" },
];

const lines: string[] = [];
const logger: Logger = {
  debug: (m) => lines.push(`DEBUG ${m}`),
  info: (m) => lines.push(`INFO ${m}`),
  warn: (m) => lines.push(`WARN ${m}`),
  error: (m) => lines.push(`ERROR ${m}`),
};

const base = sharedBroker({
  listeners: "SASL_PLAINTEXT://127.0.0.1:0",
  saslJaasConfigs: { "sasl_plaintext.plain": JAAS },
  connectionsMaxReauthMs: 12_000,
  logger,
});
let shared: Promise<TestBroker> | undefined;
/** One SASL_PLAINTEXT broker for the file, with bob's SCRAM credentials made over the wire. */
function broker(): Promise<TestBroker> {
  shared ??= base().then(async (b) => {
    const client = new Client({ bootstrapServers: b.bootstrap, sasl: ADMIN });
    try {
      const results = await new Admin(client).alterUserScramCredentials([
        await scramUpsertion("bob", "SCRAM-SHA-256", "bob-secret-256"),
        await scramUpsertion("bob", "SCRAM-SHA-512", "bob-secret-512", 8192),
      ]);
      assertEquals(results.map((r) => r.errorCode), [0]);
    } finally {
      client.close();
    }
    return b;
  });
  return shared;
}

/** The log end offset of partition 0 of `topic` (-1: no such topic), read as the admin. */
function endOffset(b: TestBroker, topic: string): Promise<number> {
  return partitionEndOffset({ bootstrapServers: b.bootstrap, sasl: ADMIN }, topic);
}

function rdkafkaProps(login: SaslOptions): string[] {
  return [
    "-X",
    "security.protocol=sasl_plaintext",
    "-X",
    `sasl.mechanisms=${login.mechanism}`,
    "-X",
    `sasl.username=${login.username}`,
    "-X",
    `sasl.password=${login.password}`,
  ];
}

for (const login of LOGINS) {
  interopTest(kcat, `kcat ${login.mechanism}: produce and consume`, async () => {
    const b = await broker();
    const topic = uniqueTopic(`kcat-sasl-${login.mechanism}`);
    const auth = rdkafkaProps(login);
    const p = await runCommand("kcat", ["-b", b.bootstrap, ...auth, "-P", "-t", topic], {
      stdin: "one\ntwo\nthree\n",
    });
    assertEquals([p.code, p.timedOut], [0, false], p.stderr);
    const c = await runCommand("kcat", [
      "-b",
      b.bootstrap,
      ...auth,
      "-C",
      "-t",
      topic,
      "-o",
      "beginning",
      "-e",
      "-q",
    ]);
    assertEquals([c.code, c.stdout], [0, "one\ntwo\nthree\n"], c.stderr);
  });
}

interopTest(
  kcat,
  "kcat: wrong password, unknown user, no SASL: errors, nothing written",
  async () => {
    const b = await broker();
    const topic = uniqueTopic("kcat-sasl-denied");
    const ok = await runCommand("kcat", [
      "-b",
      b.bootstrap,
      ...rdkafkaProps(LOGINS[1]),
      "-P",
      "-t",
      topic,
    ], {
      stdin: "first\n",
    });
    assertEquals(ok.code, 0, ok.stderr);
    assertEquals(await endOffset(b, topic), 1);
    const attempts: [string[], RegExp][] = [
      [rdkafkaProps({ ...LOGINS[0], password: "wrong" }), /Invalid username or password/],
      [rdkafkaProps({ ...LOGINS[1], password: "wrong" }), /Invalid user credentials/],
      [rdkafkaProps({ ...LOGINS[2], username: "nobody" }), /Invalid user credentials/],
      [rdkafkaProps({ ...LOGINS[2], password: "bob-secret-256" }), /Invalid user credentials/],
      [[], /Broker transport failure|Disconnected|transport/],
    ];
    for (const [auth, error] of attempts) {
      const r = await runCommand("kcat", [
        "-b",
        b.bootstrap,
        ...auth,
        "-X",
        "message.timeout.ms=3000",
        "-X",
        "socket.timeout.ms=3000",
        "-P",
        "-t",
        topic,
      ], { stdin: "intruder\n", timeoutMs: 20_000 });
      assert(r.code !== 0 && !r.timedOut, `kcat ${auth.join(" ")} should fail: ${r.stderr}`);
      assert(error.test(r.stderr), `${error}: ${r.stderr.slice(0, 500)}`);
    }
    assertEquals(await endOffset(b, topic), 1);
  },
);

const CONFLUENT = `
import json, sys
from confluent_kafka import Producer, Consumer, KafkaException
req = json.loads(sys.stdin.read())
conf = {"bootstrap.servers": req["bootstrap"], "security.protocol": "SASL_PLAINTEXT",
        "sasl.mechanisms": req["mechanism"], "sasl.username": req["username"],
        "sasl.password": req["password"]}
errors = []
p = Producer(dict(conf, **{"message.timeout.ms": 5000, "error_cb": lambda e: errors.append(str(e))}))
delivered = []
for i in range(3):
    p.produce(req["topic"], value=b"v%d" % i, callback=lambda err, msg: delivered.append(err is None))
p.flush(10)
out = {"delivered": sum(delivered), "errors": errors[:3]}
if req.get("consume"):
    c = Consumer(dict(conf, **{"group.id": "g-" + req["topic"], "auto.offset.reset": "earliest"}))
    c.subscribe([req["topic"]])
    got = []
    import time
    deadline = time.time() + 20
    while len(got) < 3 and time.time() < deadline:
        m = c.poll(0.5)
        if m is not None and m.error() is None:
            got.append(m.value().decode())
    c.close()
    out["consumed"] = got
print(json.dumps(out))
`;

async function python(script: string, request: unknown, timeoutMs = 40_000) {
  const r = await runCommand(PYTHON, ["-c", script], {
    stdin: JSON.stringify(request),
    timeoutMs,
  });
  if (r.timedOut) throw new Error(`python timed out: ${r.stderr.slice(-1000)}`);
  const last = r.stdout.trim().split("\n").pop() ?? "";
  try {
    return JSON.parse(last);
  } catch {
    throw new Error(`python: exit ${r.code}, no JSON\n${r.stderr.slice(-1500)}`);
  }
}

for (const login of LOGINS) {
  interopTest(confluent, `confluent-kafka ${login.mechanism}: produce and consume`, async () => {
    const b = await broker();
    const topic = uniqueTopic(`ck-sasl-${login.mechanism}`);
    const out = await python(CONFLUENT, { bootstrap: b.bootstrap, topic, ...login, consume: true });
    assertEquals([out.delivered, out.consumed], [3, ["v0", "v1", "v2"]], JSON.stringify(out));
  });
}

interopTest(
  confluent,
  "confluent-kafka: a wrong password is reported, nothing is written",
  async () => {
    const b = await broker();
    const topic = uniqueTopic("ck-sasl-denied");
    const out = await python(CONFLUENT, {
      bootstrap: b.bootstrap,
      topic,
      ...LOGINS[2],
      password: "wrong",
    });
    assertEquals(out.delivered, 0);
    assert(
      out.errors.some((e: string) => /Authentication failed: Invalid user credentials/.test(e)),
      JSON.stringify(out.errors),
    );
    assertEquals(await endOffset(b, topic), -1);
  },
);

const KAFKA_PYTHON = `
import json, sys
from kafka import KafkaProducer, KafkaConsumer
from kafka.errors import KafkaError
req = json.loads(sys.stdin.read())
conf = dict(bootstrap_servers=req["bootstrap"], security_protocol="SASL_PLAINTEXT",
            sasl_mechanism=req["mechanism"], sasl_plain_username=req["username"],
            sasl_plain_password=req["password"], api_version_auto_timeout_ms=10000)
out = {}
try:
    p = KafkaProducer(max_block_ms=10000, **conf)
    for i in range(3):
        p.send(req["topic"], b"v%d" % i).get(timeout=10)
    p.close()
    c = KafkaConsumer(req["topic"], auto_offset_reset="earliest", consumer_timeout_ms=5000,
                      group_id=None, **conf)
    out["consumed"] = [m.value.decode() for m in c][:3]
    c.close()
except Exception as e:
    out["error"] = "%s: %s" % (type(e).__name__, e)
print(json.dumps(out))
`;

for (const login of LOGINS) {
  interopTest(kafkaPython, `kafka-python ${login.mechanism}: produce and consume`, async () => {
    const b = await broker();
    const topic = uniqueTopic(`kp-sasl-${login.mechanism}`);
    const out = await python(KAFKA_PYTHON, { bootstrap: b.bootstrap, topic, ...login });
    assertEquals(out, { consumed: ["v0", "v1", "v2"] });
  });
}

interopTest(kafkaPython, "kafka-python: a wrong password fails, nothing is written", async () => {
  const b = await broker();
  const topic = uniqueTopic("kp-sasl-denied");
  const out = await python(KAFKA_PYTHON, {
    bootstrap: b.bootstrap,
    topic,
    ...LOGINS[1],
    password: "wrong",
  });
  assert(/Authentication failed|NoBrokersAvailable/.test(out.error ?? ""), JSON.stringify(out));
  assertEquals(await endOffset(b, topic), -1);
});

function kafkajsFor(b: TestBroker, login: SaslOptions) {
  return new kafkajs!.Kafka({
    clientId: "sluice-interop-sasl",
    brokers: [b.bootstrap],
    logLevel: kafkajs!.logLevel.NOTHING,
    retry: { retries: 2, initialRetryTime: 100 },
    sasl: {
      mechanism: login.mechanism.toLowerCase() as "plain",
      username: login.username,
      password: login.password,
    },
  });
}

for (const login of LOGINS) {
  interopTest(kafkajsReq, `kafkajs ${login.mechanism}: produce and read offsets`, async () => {
    const b = await broker();
    const topic = uniqueTopic(`kjs-sasl-${login.mechanism}`);
    const kafka = kafkajsFor(b, login);
    const producer = kafka.producer();
    try {
      await withTimeout(producer.connect(), CALL_MS, "kafkajs connect");
      await withTimeout(
        producer.send({ topic, messages: [{ value: "a" }, { value: "b" }] }),
        CALL_MS,
        "kafkajs send",
      );
    } finally {
      await producer.disconnect();
    }
    assertEquals(await endOffset(b, topic), 2);
  });
}

interopTest(
  kafkajsReq,
  "kafkajs: wrong password fails with SASL_AUTHENTICATION_FAILED",
  async () => {
    const b = await broker();
    const topic = uniqueTopic("kjs-sasl-denied");
    const producer = kafkajsFor(b, { ...LOGINS[2], password: "wrong" }).producer();
    let error: unknown;
    try {
      await withTimeout(producer.connect(), CALL_MS, "kafkajs connect");
      await withTimeout(producer.send({ topic, messages: [{ value: "x" }] }), CALL_MS, "send");
    } catch (e) {
      error = e;
    } finally {
      await producer.disconnect();
    }
    assert(
      /SASL SCRAM SHA512 authentication failed|Authentication failed/i.test(String(error)),
      String(error),
    );
    assertEquals(await endOffset(b, topic), -1);
  },
);

interopTest(kafkajsReq, "kafkajs re-authenticates before connections.max.reauth.ms", async () => {
  const b = await broker();
  const topic = uniqueTopic("kjs-sasl-reauth");
  const kafka = kafkajsFor(b, LOGINS[1]);
  // kafkajs re-authenticates reauthenticationThreshold (default 10 s) before the 12 s lifetime.
  const producer = kafka.producer();
  const before = lines.filter((l) => / re-authenticated as User:bob with SCRAM-SHA-256/.test(l))
    .length;
  try {
    await withTimeout(producer.connect(), CALL_MS, "kafkajs connect");
    await producer.send({ topic, messages: [{ value: "1" }] });
    await new Promise((r) => setTimeout(r, 3_000));
    await withTimeout(producer.send({ topic, messages: [{ value: "2" }] }), CALL_MS, "send 2");
  } finally {
    await producer.disconnect();
  }
  assertEquals(await endOffset(b, topic), 2);
  const after = lines.filter((l) => / re-authenticated as User:bob with SCRAM-SHA-256/.test(l))
    .length;
  assert(after > before, "no re-authentication was logged");
});
