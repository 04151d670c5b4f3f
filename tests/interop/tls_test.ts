// Copyright 2026 the Sluice authors. Apache-2.0 license.
// Listeners and TLS (issue #14, docs/SECURITY.md) with real clients: one broker with four
// listeners — PLAINTEXT, SSL (key and chain from one PEM file), MTLS (SSL, ssl.client.auth=required,
// inline PEM key and chain, DEFAULT principal mapping) and OPTIONAL (SSL,
// ssl.client.auth=requested, an encrypted key with ssl.key.password, a RULE mapping) — and
// certificates made here with openssl. kcat, confluent-kafka, kafka-python, kafkajs and our client
// produce and consume over SSL and mutual TLS; a plaintext client on a TLS port and a TLS client on
// the plaintext port are closed with one log line; a client without (or with an untrusted)
// certificate is refused on MTLS; the principal of the client certificate shows in the log.

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import {
  interopTest,
  requireClient,
  runClientScript,
  runCommand,
  startBroker,
  type TestBroker,
  uniqueTopic,
  withTimeout,
} from "../harness.ts";
import { sharedCertificateBroker, type TestCertificates } from "../tls_certs.ts";
import type { Logger } from "../../server/logger.ts";
import { Client, clientTlsFromProperties, Consumer, Producer } from "../../client/mod.ts";
import { encodeRequestFrame } from "../../protocol/framing.ts";
import { ApiVersionsRequest } from "../../protocol/messages/api_versions.ts";
import { runSluice as sluice } from "../../cli/testing.ts";

const kcat = requireClient("kcat");
const confluent = requireClient("confluent-kafka");
const kafkaPython = requireClient("kafka-python");
const kafkajsReq = requireClient("kafkajs");

interface Setup {
  tb: TestBroker;
  certs: TestCertificates;
  lines: string[];
  port: (listener: string) => number;
}

const tlsBroker = sharedCertificateBroker(async (certs): Promise<Setup> => {
  const lines: string[] = [];
  const capture = (level: string) => (m: string) => {
    lines.push(`${level} ${m}`);
    if (Deno.env.get("SLUICE_TEST_LOG")) console.error(`${level} ${m}`);
  };
  const logger: Logger = {
    debug: () => {},
    info: capture("INFO"),
    warn: capture("WARN"),
    error: capture("ERROR"),
  };
  const tb = await startBroker({
    listeners:
      "PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0,MTLS://127.0.0.1:0,OPTIONAL://127.0.0.1:0",
    listenerSecurityProtocolMap: "PLAINTEXT:PLAINTEXT,SSL:SSL,MTLS:SSL,OPTIONAL:SSL",
    sslProperties: {
      "ssl.keystore.type": "PEM",
      "ssl.keystore.location": certs.serverKeystorePath,
      "ssl.truststore.location": certs.caPath,
      // MTLS: inline PEM, as Kafka's ssl.keystore.certificate.chain / ssl.keystore.key
      "listener.name.mtls.ssl.keystore.location": "",
      "listener.name.mtls.ssl.keystore.certificate.chain": certs.read(certs.serverCertPath),
      "listener.name.mtls.ssl.keystore.key": certs.read(certs.serverKeyPath),
      "listener.name.mtls.ssl.client.auth": "required",
      // OPTIONAL: an encrypted key, a client certificate if the client has one
      "listener.name.optional.ssl.keystore.location": "",
      "listener.name.optional.ssl.keystore.certificate.chain": certs.read(certs.serverCertPath),
      "listener.name.optional.ssl.keystore.key": certs.read(certs.serverEncryptedKeyPath),
      "listener.name.optional.ssl.key.password": certs.keyPassword,
      "listener.name.optional.ssl.client.auth": "requested",
      "listener.name.optional.ssl.principal.mapping.rules": "RULE:^CN=([^,]*),.*$/$1/L,DEFAULT",
    },
    logger,
    numPartitions: 1,
  });
  const port = (name: string) => tb.broker.listener(name).port;
  return { tb, certs, lines, port };
});

async function kcatRun(args: string[], stdin?: string) {
  return await runCommand("kcat", args, { stdin, timeoutMs: 30_000 });
}

function kcatSsl(s: Setup, listener: string, withCert: boolean, cert = "client"): string[] {
  const c = s.certs;
  const args = [
    "-b",
    `127.0.0.1:${s.port(listener)}`,
    "-X",
    "security.protocol=ssl",
    "-X",
    `ssl.ca.location=${c.caPath}`,
  ];
  if (withCert) {
    const certPath = cert === "client" ? c.clientCertPath : c.rogueCertPath;
    const keyPath = cert === "client" ? c.clientKeyPath : c.rogueKeyPath;
    args.push("-X", `ssl.certificate.location=${certPath}`, "-X", `ssl.key.location=${keyPath}`);
  }
  return args;
}

async function kcatRoundTrip(base: string[], n = 5): Promise<string[]> {
  const topic = uniqueTopic("tls-kcat");
  const values = Array.from({ length: n }, (_, i) => `m${i}`);
  const p = await kcatRun([...base, "-P", "-t", topic], values.join("\n") + "\n");
  assertEquals(p.code, 0, p.stderr);
  const c = await kcatRun([...base, "-C", "-t", topic, "-o", "beginning", "-e", "-q"]);
  assertEquals(c.code, 0, c.stderr);
  return c.stdout.split("\n").filter((l) => l !== "");
}

/** The lines logged while `fn` runs. */
/**
 * The broker's log lines while `fn` runs and after: until `expected` holds of them (a refusal is
 * logged when the broker notices the close, which on a loaded machine can be seconds later;
 * bounded), then a moment more for lines that should not be there.
 */
async function linesDuring(
  s: Setup,
  fn: () => Promise<void>,
  expected: (lines: string[]) => boolean = () => true,
): Promise<string[]> {
  const from = s.lines.length;
  await fn();
  const deadline = Date.now() + 15_000;
  while (!expected(s.lines.slice(from)) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
  }
  await new Promise((r) => setTimeout(r, 300));
  return s.lines.slice(from);
}

interopTest(
  kcat,
  "produce and consume over SSL; Metadata answers the listener's endpoint",
  async () => {
    const s = await tlsBroker();
    assertEquals(await kcatRoundTrip(kcatSsl(s, "SSL", false)), ["m0", "m1", "m2", "m3", "m4"]);
    // each listener advertises itself: a client on SSL is sent to the SSL port, not PLAINTEXT's
    for (const [listener, ssl] of [["SSL", true], ["PLAINTEXT", false]] as const) {
      const base = ssl ? kcatSsl(s, listener, false) : ["-b", `127.0.0.1:${s.port(listener)}`];
      const md = await kcatRun([...base, "-L", "-J"]);
      assertEquals(md.code, 0, md.stderr);
      const brokers = JSON.parse(md.stdout).brokers as { id: number; name: string }[];
      assertEquals(brokers.map((b) => b.name), [`127.0.0.1:${s.port(listener)}`]);
    }
  },
);

interopTest(kcat, "mutual TLS: the client certificate's DN is the principal", async () => {
  const s = await tlsBroker();
  const logged = await linesDuring(s, async () => {
    assertEquals(await kcatRoundTrip(kcatSsl(s, "MTLS", true), 3), ["m0", "m1", "m2"]);
  }, (ls) => ls.some((l) => l.includes("authenticated as")));
  const auth = logged.filter((l) => l.includes("on listener MTLS authenticated as"));
  assert(auth.length > 0, logged.join("\n"));
  for (const l of auth) assert(l.endsWith(`authenticated as User:${s.certs.clientDn} (TLS)`), l);
});

interopTest(
  kcat,
  "mutual TLS required: no certificate or an untrusted one is refused",
  async () => {
    const s = await tlsBroker();
    const topic = uniqueTopic("tls-refused");
    for (const [withCert, why] of [[false, "no certificate"], [true, "untrusted"]] as const) {
      const logged = await linesDuring(s, async () => {
        const r = await kcatRun(
          [...kcatSsl(s, "MTLS", withCert, "rogue"), "-P", "-t", topic, "-m", "5"],
          "never stored\n",
        );
        assert(r.code !== 0, `kcat (${why}) succeeded: ${r.stdout}`);
      }, (ls) => ls.some((l) => l.includes("TLS handshake failed")));
      const refused = logged.filter((l) => l.includes("on listener MTLS: TLS handshake failed"));
      assert(refused.length > 0, `${why}: ${logged.join("\n")}`);
      assert(!logged.some((l) => l.includes("authenticated as")), logged.join("\n"));
    }
    // nothing was stored
    const c = await kcatRun([
      ...kcatSsl(s, "SSL", false),
      "-C",
      "-t",
      topic,
      "-o",
      "beginning",
      "-e",
      "-q",
    ]);
    assertEquals(c.stdout, "", c.stderr);
  },
);

interopTest(
  kcat,
  "mutual TLS requested: anonymous without a certificate, mapped with one",
  async () => {
    const s = await tlsBroker();
    const without = await linesDuring(s, async () => {
      assertEquals(await kcatRoundTrip(kcatSsl(s, "OPTIONAL", false), 2), ["m0", "m1"]);
    });
    assert(!without.some((l) => l.includes("authenticated as")), without.join("\n"));
    const withCert = await linesDuring(s, async () => {
      assertEquals(await kcatRoundTrip(kcatSsl(s, "OPTIONAL", true), 2), ["m0", "m1"]);
    }, (ls) => ls.some((l) => l.includes("authenticated as")));
    const auth = withCert.filter((l) => l.includes("on listener OPTIONAL authenticated as"));
    assert(auth.length > 0, withCert.join("\n"));
    // RULE:^CN=([^,]*),.*$/$1/L
    for (const l of auth) assert(l.endsWith("authenticated as User:alice (TLS)"), l);
  },
);

interopTest(kcat, "a plaintext client on an SSL port is closed with one log line", async () => {
  const s = await tlsBroker();
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: s.port("SSL") });
  const localPort = (conn.localAddr as Deno.NetAddr).port;
  const logged = await linesDuring(s, async () => {
    const frame = encodeRequestFrame(
      ApiVersionsRequest,
      0,
      1,
      "plain",
      ApiVersionsRequest.create({}),
    );
    await conn.write(frame);
    const buf = new Uint8Array(1024);
    // the broker answers no Kafka bytes: a TLS alert at most, then the close
    let n: number | null;
    let total = 0;
    try {
      while ((n = await withTimeout(conn.read(buf), 10_000, "read")) !== null) total += n;
    } catch (e) {
      assert(e instanceof Deno.errors.ConnectionReset, String(e));
    }
    assert(total < 64, `${total} bytes answered`);
    conn.close();
  }, (ls) => ls.some((l) => l.includes("TLS handshake failed")));
  const mine = logged.filter((l) => l.includes(`127.0.0.1:${localPort}`));
  assertEquals(mine.length, 1, logged.join("\n"));
  assert(mine[0].startsWith("WARN "), mine[0]);
  assert(mine[0].includes("on listener SSL: TLS handshake failed, the client does not speak TLS"));
  assert(!logged.some((l) => /request size/.test(l)), logged.join("\n"));
  // and kcat without security.protocol=ssl: refused the same way, by both TLS stacks
  for (const listener of ["SSL", "MTLS"]) {
    const kc = await linesDuring(s, async () => {
      const r = await kcatRun(["-b", `127.0.0.1:${s.port(listener)}`, "-L", "-m", "3"]);
      assert(r.code !== 0);
    }, (ls) => ls.length > 0);
    assert(
      kc.length > 0 &&
        kc.every((l) =>
          l.includes(`on listener ${listener}: TLS handshake failed, the client does not speak TLS`)
        ),
      kc.join("\n"),
    );
  }
});

interopTest(kcat, "a TLS client on the plaintext port is closed with one log line", async () => {
  const s = await tlsBroker();
  const logged = await linesDuring(s, async () => {
    const e = await Deno.connectTls({
      hostname: "127.0.0.1",
      port: s.port("PLAINTEXT"),
      caCerts: [s.certs.read(s.certs.caPath)],
    }).then(async (c) => {
      try {
        await withTimeout(c.handshake(), 10_000, "handshake");
      } finally {
        c.close();
      }
    }).then(() => null, (e) => e);
    assert(e instanceof Error, "the TLS handshake with a plaintext port succeeded");
  }, (ls) => ls.some((l) => l.includes("a TLS handshake arrived")));
  assertEquals(logged.length, 1, logged.join("\n"));
  assert(
    logged[0].startsWith("WARN ") &&
      logged[0].includes(
        "a TLS handshake arrived on listener PLAINTEXT (security protocol " +
          "PLAINTEXT): the client uses SSL on a plaintext port",
      ),
    logged[0],
  );
  const kc = await linesDuring(s, async () => {
    const r = await kcatRun([
      ...kcatSsl(s, "SSL", false).slice(2),
      "-b",
      `127.0.0.1:${s.port("PLAINTEXT")}`,
      "-L",
      "-m",
      "3",
    ]);
    assert(r.code !== 0);
  }, (ls) => ls.length > 0);
  // librdkafka may open a connection with an alert record rather than a ClientHello
  assert(
    kc.length > 0 && kc.every((l) => /a TLS (handshake|alert) arrived/.test(l)),
    kc.join("\n"),
  );
  assert(!kc.some((l) => /request size/.test(l)));
});

interface RoundTrip {
  produced: number;
  values: string[];
}

for (const [req, lib] of [[confluent, "confluent"], [kafkaPython, "kafka-python"]] as const) {
  interopTest(req, "produce and consume over SSL and mutual TLS", async () => {
    const s = await tlsBroker();
    for (const [listener, cert] of [["SSL", false], ["MTLS", true], ["OPTIONAL", true]] as const) {
      const topic = uniqueTopic(`tls-${lib}`);
      const logged = await linesDuring(s, async () => {
        const r = await runClientScript<RoundTrip>("tls_client.py", "roundtrip", {
          lib,
          bootstrap: `localhost:${s.port(listener)}`,
          topic,
          count: 20,
          ca: s.certs.caPath,
          cert: cert ? s.certs.clientCertPath : null,
          key: cert ? s.certs.clientKeyPath : null,
          timeout_s: 20,
        }, 60_000);
        assertEquals(r.produced, 20);
        assertEquals(r.values, Array.from({ length: 20 }, (_, i) => `v${i}`));
      }, (ls) => ls.some((l) => l.includes("authenticated as")));
      if (cert) {
        const who = listener === "MTLS" ? s.certs.clientDn : "alice";
        assert(logged.some((l) => l.endsWith(`authenticated as User:${who} (TLS)`)), listener);
      }
    }
  });
}

interopTest(kafkajsReq, "produce and consume over SSL and mutual TLS", async () => {
  const s = await tlsBroker();
  const { Kafka, logLevel } = await import("kafkajs");
  const c = s.certs;
  for (const [listener, cert] of [["SSL", false], ["MTLS", true]] as const) {
    const kafka = new Kafka({
      clientId: "sluice-tls",
      brokers: [`localhost:${s.port(listener)}`],
      logLevel: logLevel.NOTHING,
      ssl: {
        ca: [c.read(c.caPath)],
        ...(cert ? { cert: c.read(c.clientCertPath), key: c.read(c.clientKeyPath) } : {}),
      },
      retry: { retries: 3, initialRetryTime: 100 },
    });
    const topic = uniqueTopic("tls-kafkajs");
    const admin = kafka.admin();
    await withTimeout(admin.connect(), 30_000, "kafkajs admin connect");
    await withTimeout(admin.createTopics({ topics: [{ topic }] }), 30_000, "create topic");
    const meta = await admin.fetchTopicMetadata({ topics: [topic] });
    assertEquals(meta.topics[0].partitions.length, 1);
    await admin.disconnect();
    const producer = kafka.producer();
    await withTimeout(producer.connect(), 30_000, "kafkajs producer connect");
    await withTimeout(
      producer.send({ topic, messages: [{ value: "a" }, { value: "b" }, { value: "c" }] }),
      30_000,
      "kafkajs send",
    );
    await producer.disconnect();
    const { consumeAll } = await import("./kafkajs_client.ts");
    const got = await consumeAll(kafka, topic, 3);
    assertEquals(got.map((g) => g.value), ["a", "b", "c"]);
  }
});

Deno.test({
  name: "sluice client: produce and consume over SSL and mutual TLS",
  sanitizeOps: false,
  sanitizeResources: false,
}, async () => {
  const s = await tlsBroker();
  const c = s.certs;
  for (const [listener, cert] of [["SSL", false], ["MTLS", true]] as const) {
    const tls = clientTlsFromProperties({
      "security.protocol": "SSL",
      "ssl.ca.location": c.caPath,
      ...(cert
        ? { "ssl.certificate.location": c.clientCertPath, "ssl.key.location": c.clientKeyPath }
        : {}),
    });
    const client = new Client({ bootstrapServers: `localhost:${s.port(listener)}`, tls });
    try {
      const topic = uniqueTopic("tls-ours");
      const producer = new Producer(client);
      await producer.send({
        topic,
        messages: Array.from({ length: 10 }, (_, i) => ({ value: `r${i}` })),
      });
      await producer.close();
      const consumer = new Consumer(client);
      await consumer.assign([{ topic, partition: 0, offset: "earliest" }]);
      const got: string[] = [];
      for (let tries = 0; got.length < 10 && tries < 20; tries++) {
        for (const r of await consumer.poll({ maxWaitMs: 500 })) {
          got.push(new TextDecoder().decode(r.value!));
        }
      }
      await consumer.close();
      assertEquals(got, Array.from({ length: 10 }, (_, i) => `r${i}`));
    } finally {
      await client.close();
    }
  }
  // without the certificate, MTLS refuses our client too
  const bare = new Client({
    bootstrapServers: `localhost:${s.port("MTLS")}`,
    tls: clientTlsFromProperties({ "security.protocol": "SSL", "ssl.ca.location": c.caPath }),
    retries: 0,
  });
  try {
    const e = await bare.refreshMetadata().then(() => null, (e) => e);
    assert(e instanceof Error, "metadata without a client certificate succeeded");
  } finally {
    await bare.close();
  }
});

Deno.test({
  name: "sluice CLI: --command-config with security.protocol=SSL and a client certificate",
  sanitizeOps: false,
  sanitizeResources: false,
}, async () => {
  const s = await tlsBroker();
  const c = s.certs;
  const file = `${c.dir}/client.properties`;
  await Deno.writeTextFile(
    file,
    `security.protocol=SSL\nssl.ca.location=${c.caPath}\n` +
      `ssl.certificate.location=${c.clientCertPath}\nssl.key.location=${c.clientKeyPath}\n`,
  );
  const bootstrap = ["--bootstrap-server", `localhost:${s.port("MTLS")}`];
  const topic = uniqueTopic("tls-cli");
  const cfg = ["--command-config", file];
  const created = await sluice(["topics", ...bootstrap, ...cfg, "--create", "--topic", topic]);
  assertEquals(created, { code: 0, stdout: `Created topic ${topic}.\n`, stderr: "" });
  const produced = await sluice(["produce", ...bootstrap, ...cfg, "--topic", topic], "x\ny\n");
  assertEquals(produced.code, 0, produced.stderr);
  const consumed = await sluice(
    [
      "consume",
      ...bootstrap,
      "--consumer.config",
      file,
      "--topic",
      topic,
      "--from-beginning",
      "--max-messages",
      "2",
    ],
  );
  assertEquals(consumed.stdout, "x\ny\n", consumed.stderr);
  // without the file, the MTLS listener refuses the CLI: a clean error, exit code 1
  const refused = await sluice(["topics", ...bootstrap, "--list"]);
  assert(refused.code !== 0);
  const bad = await sluice(["topics", ...bootstrap, "--command-config", `${c.dir}/none`, "--list"]);
  assertEquals(bad.code, 2, bad.stderr);
  assert(bad.stderr.includes("--command-config"), bad.stderr);
});
