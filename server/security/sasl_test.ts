// Copyright 2026 the Sluice authors. Apache-2.0 license.
// SASL on a SASL_PLAINTEXT listener, over real sockets: the exchange as Kafka's
// SaslServerAuthenticator runs it (v0 bare tokens, v1 SaslAuthenticate), failures, requests
// before authentication, re-authentication (KIP-368), and the SCRAM credential APIs.

import { deepStrictEqual as assertEquals, ok as assert, rejects } from "node:assert/strict";
import { ErrorCode, KafkaError } from "../../protocol/errors.ts";
import { ApiVersionsRequest, ApiVersionsResponse } from "../../protocol/messages/api_versions.ts";
import { MetadataRequest, MetadataResponse } from "../../protocol/messages/metadata.ts";
import { ProduceRequest } from "../../protocol/messages/produce.ts";
import {
  SaslAuthenticateRequest,
  SaslAuthenticateResponse,
} from "../../protocol/messages/sasl_authenticate.ts";
import {
  SaslHandshakeRequest,
  SaslHandshakeResponse,
} from "../../protocol/messages/sasl_handshake.ts";
import {
  AlterUserScramCredentialsRequest,
  AlterUserScramCredentialsResponse,
} from "../../protocol/messages/alter_user_scram_credentials.ts";
import {
  DescribeUserScramCredentialsRequest,
  DescribeUserScramCredentialsResponse,
} from "../../protocol/messages/describe_user_scram_credentials.ts";
import { SCRAM_MECHANISMS, ScramClient, type ScramMechanism } from "../../protocol/scram.ts";
import { encodeRecordBatch } from "../../records/batch_builder.ts";
import { Admin } from "../../client/admin.ts";
import { Client } from "../../client/client.ts";
import { Producer } from "../../client/producer.ts";
import { type SaslOptions, scramUpsertion } from "../../client/sasl.ts";
import { produceBody, RawClient, startTestBroker, type TestBroker } from "../testing.ts";
import { SCRAM_CREDENTIALS_FILE, ScramCredentialStore } from "./scram_credentials.ts";

const JAAS = "org.apache.kafka.common.security.plain.PlainLoginModule required " +
  'username="admin" password="admin-secret" user_admin="admin-secret" user_alice="alice-secret";';
const te = new TextEncoder();
const BATCH = encodeRecordBatch([{ key: null, value: te.encode("x") }]);
const td = new TextDecoder();

/** Seed SCRAM credentials into a data directory before the broker starts. */
async function seed(dir: string, user: string, password: string, mech: ScramMechanism) {
  const store = await ScramCredentialStore.open(dir);
  const u = await scramUpsertion(user, mech, password);
  await store.apply([{ ...u, op: "upsert" }]);
}

async function saslBroker(config: Parameters<typeof startTestBroker>[0] = {}): Promise<TestBroker> {
  const dir = await Deno.makeTempDir({ prefix: "sluice-sasl-test-" });
  await seed(dir, "bob", "bob-secret", "SCRAM-SHA-256");
  await seed(dir, "bob", "bob-secret-512", "SCRAM-SHA-512");
  return await startTestBroker({
    listeners: "SASL_PLAINTEXT://127.0.0.1:0",
    saslJaasConfigs: { "sasl_plaintext.plain": JAAS },
    connectionFailedAuthenticationDelayMs: 0,
    ...config,
    logDirs: [dir],
  });
}

function plainToken(user: string, password: string, authzid = ""): Uint8Array {
  return te.encode(`${authzid}\u0000${user}\u0000${password}`);
}

async function handshake(c: RawClient, mechanism: string, version = 1) {
  return await c.request(SaslHandshakeRequest, SaslHandshakeResponse, version, { mechanism });
}

async function auth(c: RawClient, token: Uint8Array, version = 2) {
  return await c.request(SaslAuthenticateRequest, SaslAuthenticateResponse, version, {
    authBytes: token,
  });
}

/** A raw SCRAM exchange over SaslAuthenticate; returns the final response. */
async function scramLogin(
  c: RawClient,
  mech: ScramMechanism,
  user: string,
  password: string,
  version = 2,
) {
  assertEquals((await handshake(c, mech)).errorCode, 0);
  const client = new ScramClient(SCRAM_MECHANISMS.get(mech)!, user, password);
  const first = await auth(c, client.first(), version);
  if (first.errorCode !== 0) return first;
  const final = await auth(c, await client.final(first.authBytes), version);
  if (final.errorCode === 0) await client.verify(final.authBytes);
  return final;
}

/** Partitions of a topic as an authenticated client sees it; -1 if it does not exist. */
async function partitions(t: TestBroker, topic: string): Promise<number> {
  const c = await RawClient.connect(t.broker.port);
  try {
    assertEquals((await handshake(c, "PLAIN")).errorCode, 0);
    assertEquals((await auth(c, plainToken("admin", "admin-secret"))).errorCode, 0);
    const md = await c.request(MetadataRequest, MetadataResponse, 9, {
      topics: [{ name: topic, topicId: "AAAAAAAAAAAAAAAAAAAAAA" }],
      allowAutoTopicCreation: false,
    });
    return md.topics[0].errorCode === 0 ? md.topics[0].partitions.length : -1;
  } finally {
    c.close();
  }
}

Deno.test("SASL PLAIN: v1 handshake and SaslAuthenticate, then requests are served", async () => {
  await using t = await saslBroker();
  const c = await RawClient.connect(t.broker.port);
  const av = await c.request(ApiVersionsRequest, ApiVersionsResponse, 3, {});
  const keys = new Set(av.apiKeys.map((k) => k.apiKey));
  for (const k of [17, 36, 50, 51]) assert(keys.has(k), `ApiVersions lacks key ${k}`);
  const hs = await handshake(c, "PLAIN");
  assertEquals(hs.errorCode, 0);
  assertEquals(hs.mechanisms, ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]);
  const a = await auth(c, plainToken("alice", "alice-secret"), 1);
  assertEquals([a.errorCode, a.sessionLifetimeMs], [0, 0]);
  const md = await c.request(MetadataRequest, MetadataResponse, 9, { topics: [] });
  assertEquals(md.brokers.length, 1);
  // After authentication: SaslAuthenticate is out of place, as in Kafka's KafkaApis.
  const again = await auth(c, plainToken("alice", "alice-secret"));
  assertEquals(again.errorCode, ErrorCode.ILLEGAL_SASL_STATE);
  c.close();
});

Deno.test("SASL PLAIN: wrong password, unknown user, other authzid fail and close; no data moves", async () => {
  await using t = await saslBroker({ connectionFailedAuthenticationDelayMs: 200 });
  const cases: [Uint8Array, RegExp][] = [
    [plainToken("alice", "wrong"), /Invalid username or password/],
    [plainToken("mallory", "alice-secret"), /Invalid username or password/],
    [plainToken("alice", "alice-secret", "admin"), /authorization id that is different/],
    [plainToken("alice", ""), /password not specified/],
    [te.encode("alice\u0000alice-secret"), /expected 3 tokens/],
    [new Uint8Array([0xff, 0, 0x61, 0, 0x62]), /UTF-8/],
  ];
  for (const [token, message] of cases) {
    const c = await RawClient.connect(t.broker.port);
    assertEquals((await handshake(c, "PLAIN")).errorCode, 0);
    // A produce pipelined behind the failing authentication must not be served.
    const started = Date.now();
    const id = await c.send(SaslAuthenticateRequest, 2, { authBytes: token });
    await c.send(ProduceRequest, 9, produceBody("sasl-topic", 0, BATCH));
    const res = await c.receive(SaslAuthenticateResponse, 2);
    // connection.failed.authentication.delay.ms holds the answer back (a lower bound only).
    assert(Date.now() - started >= 150, `answered after ${Date.now() - started} ms`);
    assertEquals(res.correlationId, id);
    assertEquals(res.body.errorCode, ErrorCode.SASL_AUTHENTICATION_FAILED);
    assert(message.test(res.body.errorMessage ?? ""), res.body.errorMessage ?? "");
    await c.expectClosed();
    c.close();
  }
  assertEquals(await partitions(t, "sasl-topic"), -1);
  assert(t.lines.some((l) => l.includes("Failed authentication with 127.0.0.1")));
});

Deno.test("SASL: a request before authentication closes the connection unanswered", async () => {
  await using t = await saslBroker();
  // Produce straight away.
  let c = await RawClient.connect(t.broker.port);
  await c.send(ProduceRequest, 9, produceBody("early", 0, BATCH));
  await c.expectClosed();
  c.close();
  // Metadata after the handshake, before SaslAuthenticate.
  c = await RawClient.connect(t.broker.port);
  assertEquals((await handshake(c, "PLAIN")).errorCode, 0);
  await c.send(MetadataRequest, 9, { topics: null });
  await c.expectClosed();
  c.close();
  // SaslAuthenticate before SaslHandshake.
  c = await RawClient.connect(t.broker.port);
  await c.send(SaslAuthenticateRequest, 2, { authBytes: plainToken("alice", "alice-secret") });
  await c.expectClosed();
  c.close();
  assertEquals(await partitions(t, "early"), -1);
  assert(
    t.lines.some((l) => /unexpected Kafka request of API key 0 during SASL handshake/.test(l)),
  );
});

Deno.test("SASL: an unsupported mechanism answers UNSUPPORTED_SASL_MECHANISM with the list", async () => {
  await using t = await saslBroker({ saslEnabledMechanisms: ["SCRAM-SHA-512"] });
  for (const mech of ["GSSAPI", "PLAIN", "scram-sha-512"]) {
    const c = await RawClient.connect(t.broker.port);
    const hs = await handshake(c, mech);
    assertEquals([hs.errorCode, hs.mechanisms], [
      ErrorCode.UNSUPPORTED_SASL_MECHANISM,
      ["SCRAM-SHA-512"],
    ]);
    await c.expectClosed();
    c.close();
  }
  const c = await RawClient.connect(t.broker.port);
  assertEquals((await scramLogin(c, "SCRAM-SHA-512", "bob", "bob-secret-512")).errorCode, 0);
  c.close();
});

for (const mech of ["SCRAM-SHA-256", "SCRAM-SHA-512"] as const) {
  const pw = mech === "SCRAM-SHA-256" ? "bob-secret" : "bob-secret-512";
  Deno.test(`SASL ${mech}: login, wrong password and unknown user`, async () => {
    await using t = await saslBroker();
    let c = await RawClient.connect(t.broker.port);
    assertEquals((await scramLogin(c, mech, "bob", pw, 1)).errorCode, 0);
    assertEquals(
      (await c.request(MetadataRequest, MetadataResponse, 9, { topics: [] })).brokers.length,
      1,
    );
    c.close();
    for (const [user, password] of [["bob", "nope"], ["nobody", pw]]) {
      c = await RawClient.connect(t.broker.port);
      const res = await scramLogin(c, mech, user, password);
      assertEquals(res.errorCode, ErrorCode.SASL_AUTHENTICATION_FAILED);
      assert(/Invalid user credentials/.test(res.errorMessage ?? ""), res.errorMessage ?? "");
      await c.expectClosed();
      c.close();
    }
    assert(
      t.lines.some((l) => new RegExp(`authenticated as User:bob with ${mech} \\(`).test(l)),
      "debug line with the broker time",
    );
  });
}

Deno.test("SASL SCRAM: malformed and out-of-order messages fail with a message, then close", async () => {
  await using t = await saslBroker();
  const bad = [
    "p=tls-unique,,n=bob,r=abc",
    "n,,n=bob",
    "garbage",
    "n,,n=b=ob,r=abc",
    "",
  ];
  for (const first of bad) {
    const c = await RawClient.connect(t.broker.port);
    assertEquals((await handshake(c, "SCRAM-SHA-256")).errorCode, 0);
    const res = await auth(c, te.encode(first));
    assertEquals(res.errorCode, ErrorCode.SASL_AUTHENTICATION_FAILED, first);
    assert((res.errorMessage ?? "").length > 0);
    await c.expectClosed();
    c.close();
  }
  // A good first message, then a final message with a wrong nonce, a wrong channel binding, bad
  // base64.
  for (const tamper of ["nonce", "binding", "base64"]) {
    const c = await RawClient.connect(t.broker.port);
    assertEquals((await handshake(c, "SCRAM-SHA-256")).errorCode, 0);
    const client = new ScramClient(SCRAM_MECHANISMS.get("SCRAM-SHA-256")!, "bob", "bob-secret");
    const first = await auth(c, client.first());
    assertEquals(first.errorCode, 0);
    let final = td.decode(await client.final(first.authBytes));
    if (tamper === "nonce") final = final.replace(/,r=([^,]*)/, ",r=$1x");
    if (tamper === "binding") final = final.replace("c=biws", "c=eSws");
    if (tamper === "base64") final = final.replace(/,p=.*/, ",p=***");
    const res = await auth(c, te.encode(final));
    assertEquals(res.errorCode, ErrorCode.SASL_AUTHENTICATION_FAILED, tamper);
    await c.expectClosed();
    c.close();
  }
});

Deno.test("SASL v0 handshake: the tokens follow as bare frames (PLAIN and SCRAM)", async () => {
  await using t = await saslBroker();
  const bare = (token: Uint8Array) => {
    const f = new Uint8Array(4 + token.length);
    new DataView(f.buffer).setInt32(0, token.length);
    f.set(token, 4);
    return f;
  };
  let c = await RawClient.connect(t.broker.port);
  assertEquals((await handshake(c, "PLAIN", 0)).errorCode, 0);
  await c.sendRaw(bare(plainToken("alice", "alice-secret")));
  assertEquals(await c.readFrame(), new Uint8Array(0));
  assertEquals(
    (await c.request(MetadataRequest, MetadataResponse, 1, { topics: [] })).brokers.length,
    1,
  );
  c.close();

  c = await RawClient.connect(t.broker.port);
  assertEquals((await handshake(c, "SCRAM-SHA-256", 0)).errorCode, 0);
  const client = new ScramClient(SCRAM_MECHANISMS.get("SCRAM-SHA-256")!, "bob", "bob-secret");
  await c.sendRaw(bare(client.first()));
  const serverFirst = (await c.readFrame())!;
  await c.sendRaw(bare(await client.final(serverFirst)));
  await client.verify((await c.readFrame())!);
  assertEquals(
    (await c.request(MetadataRequest, MetadataResponse, 1, { topics: [] })).brokers.length,
    1,
  );
  c.close();

  // A wrong password: no room for an error in v0 framing, the connection closes.
  c = await RawClient.connect(t.broker.port);
  assertEquals((await handshake(c, "PLAIN", 0)).errorCode, 0);
  await c.sendRaw(bare(plainToken("alice", "nope")));
  await c.expectClosed();
  c.close();
});

Deno.test("SASL re-authentication (KIP-368): lifetime, expiry, same principal only", async () => {
  await using t = await saslBroker({ connectionsMaxReauthMs: 400 });
  // The session lifetime is told (v1+); re-authentication as the same user keeps it going.
  let c = await RawClient.connect(t.broker.port);
  assertEquals((await handshake(c, "PLAIN")).errorCode, 0);
  const a = await auth(c, plainToken("alice", "alice-secret"));
  assertEquals(a.errorCode, 0);
  assert(a.sessionLifetimeMs > 0 && a.sessionLifetimeMs <= 400, String(a.sessionLifetimeMs));
  for (let i = 0; i < 2; i++) {
    await new Promise((r) => setTimeout(r, 250));
    assertEquals((await handshake(c, "PLAIN")).errorCode, 0);
    assertEquals((await auth(c, plainToken("alice", "alice-secret"))).errorCode, 0);
    assertEquals(
      (await c.request(MetadataRequest, MetadataResponse, 9, { topics: [] })).brokers.length,
      1,
    );
  }
  // Expired: the next request other than SaslHandshake closes the connection unanswered, and a
  // produce writes nothing.
  await new Promise((r) => setTimeout(r, 500));
  await c.send(ProduceRequest, 9, produceBody("after-expiry", 0, BATCH));
  await c.expectClosed();
  c.close();
  assertEquals(await partitions(t, "after-expiry"), -1);
  assert(t.lines.some((l) => /SASL session of User:alice expired/.test(l)));

  // Re-authentication as another user fails and closes.
  c = await RawClient.connect(t.broker.port);
  assertEquals((await handshake(c, "PLAIN")).errorCode, 0);
  assertEquals((await auth(c, plainToken("alice", "alice-secret"))).errorCode, 0);
  assertEquals((await handshake(c, "PLAIN")).errorCode, 0);
  const other = await auth(c, plainToken("admin", "admin-secret"));
  assertEquals(other.errorCode, ErrorCode.SASL_AUTHENTICATION_FAILED);
  assert(/Cannot change principals/.test(other.errorMessage ?? ""));
  await c.expectClosed();
  c.close();

  // Re-authentication with another mechanism is refused.
  c = await RawClient.connect(t.broker.port);
  assertEquals((await handshake(c, "PLAIN")).errorCode, 0);
  assertEquals((await auth(c, plainToken("alice", "alice-secret"))).errorCode, 0);
  assertEquals((await handshake(c, "SCRAM-SHA-256")).errorCode, ErrorCode.ILLEGAL_SASL_STATE);
  await c.expectClosed();
  c.close();
});

Deno.test("SASL APIs on a PLAINTEXT listener answer ILLEGAL_SASL_STATE", async () => {
  await using t = await startTestBroker();
  const c = await RawClient.connect(t.broker.port);
  assertEquals((await handshake(c, "PLAIN")).errorCode, ErrorCode.ILLEGAL_SASL_STATE);
  assertEquals(
    (await auth(c, plainToken("a", "b"))).errorCode,
    ErrorCode.ILLEGAL_SASL_STATE,
  );
  assertEquals(
    (await c.request(MetadataRequest, MetadataResponse, 9, { topics: [] })).brokers.length,
    1,
  );
  c.close();
});

Deno.test("SCRAM credential APIs: Kafka's errors, durable, hashed; our client logs in", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sluice-sasl-test-" });
  let t = await startTestBroker({
    listeners: "SASL_PLAINTEXT://127.0.0.1:0",
    saslJaasConfigs: { "sasl_plaintext.plain": JAAS },
    logDirs: [dir],
  });
  const admin: SaslOptions = { mechanism: "PLAIN", username: "admin", password: "admin-secret" };
  let client = new Client({ bootstrapServers: `127.0.0.1:${t.broker.port}`, sasl: admin });
  const a = new Admin(client);
  try {
    const results = await a.alterUserScramCredentials([
      await scramUpsertion("carol", "SCRAM-SHA-256", "carol-pw", 4096),
      await scramUpsertion("carol", "SCRAM-SHA-512", "carol-pw5", 8192),
      await scramUpsertion("few", "SCRAM-SHA-256", "x", 4095),
      await scramUpsertion("many", "SCRAM-SHA-256", "x", 16385),
      await scramUpsertion("dup", "SCRAM-SHA-256", "x"),
      await scramUpsertion("dup", "SCRAM-SHA-256", "y"),
      { ...(await scramUpsertion("weird", "SCRAM-SHA-256", "x")), mechanismType: 7 },
      await scramUpsertion("", "SCRAM-SHA-256", "x"),
    ], [{ user: "ghost", mechanism: "SCRAM-SHA-256" }]);
    const byUser = Object.fromEntries(results.map((r) => [r.user, r.errorCode]));
    assertEquals(byUser, {
      carol: 0,
      few: ErrorCode.UNACCEPTABLE_CREDENTIAL,
      many: ErrorCode.UNACCEPTABLE_CREDENTIAL,
      dup: ErrorCode.DUPLICATE_RESOURCE,
      weird: ErrorCode.UNSUPPORTED_SASL_MECHANISM,
      "": ErrorCode.UNACCEPTABLE_CREDENTIAL,
      ghost: ErrorCode.RESOURCE_NOT_FOUND,
    });
    const described = await a.describeUserScramCredentials();
    assertEquals(described.map((d) => [d.user, d.credentials]), [
      ["carol", [
        { mechanism: "SCRAM-SHA-256", iterations: 4096 },
        { mechanism: "SCRAM-SHA-512", iterations: 8192 },
      ]],
    ]);
    const named = await a.describeUserScramCredentials(["carol", "ghost", "x", "x"]);
    assertEquals(named.map((d) => [d.user, d.errorCode]), [
      ["carol", 0],
      ["ghost", ErrorCode.RESOURCE_NOT_FOUND],
      ["x", ErrorCode.DUPLICATE_RESOURCE],
    ]);
  } finally {
    client.close();
  }
  // Stored hashed: no password, no salted password in the file.
  const file = await Deno.readTextFile(`${dir}/${SCRAM_CREDENTIALS_FILE}`);
  assert(!file.includes("carol-pw") && file.includes("storedKey") && file.includes("serverKey"));
  // Durable: a new broker on the same directory lets carol in with both mechanisms.
  await t.broker.close();
  t = await startTestBroker({ listeners: "SASL_PLAINTEXT://127.0.0.1:0", logDirs: [dir] });
  try {
    for (
      const sasl of [
        { mechanism: "SCRAM-SHA-256", username: "carol", password: "carol-pw" },
        { mechanism: "SCRAM-SHA-512", username: "carol", password: "carol-pw5" },
      ] as SaslOptions[]
    ) {
      client = new Client({ bootstrapServers: `127.0.0.1:${t.broker.port}`, sasl });
      const p = new Producer(client);
      await p.send({ topic: "carols", messages: [{ value: te.encode(sasl.mechanism) }] });
      await p.close();
      client.close();
    }
    client = new Client({
      bootstrapServers: `127.0.0.1:${t.broker.port}`,
      sasl: { mechanism: "SCRAM-SHA-256", username: "carol", password: "carol-pw5" },
      retries: 0,
    });
    await rejects(
      client.refreshMetadata([]),
      (e) => e instanceof KafkaError && e.code === ErrorCode.SASL_AUTHENTICATION_FAILED,
    );
    client.close();
    // Deleting a credential: carol's SHA-256 login stops working, SHA-512 stays.
    const c = await RawClient.connect(t.broker.port);
    assertEquals((await scramLogin(c, "SCRAM-SHA-512", "carol", "carol-pw5")).errorCode, 0);
    const del = await c.request(
      AlterUserScramCredentialsRequest,
      AlterUserScramCredentialsResponse,
      0,
      {
        deletions: [{ name: "carol", mechanism: 1 }],
      },
    );
    assertEquals(del.results.map((r) => r.errorCode), [0]);
    const d = await c.request(
      DescribeUserScramCredentialsRequest,
      DescribeUserScramCredentialsResponse,
      0,
      { users: null },
    );
    assertEquals(d.results[0].credentialInfos.map((i) => i.mechanism), [2]);
    c.close();
  } finally {
    await t[Symbol.asyncDispose]();
  }
});

Deno.test("our client opens a new connection before its SASL session expires", async () => {
  await using t = await saslBroker({ connectionsMaxReauthMs: 1000 });
  const client = new Client({
    bootstrapServers: `127.0.0.1:${t.broker.port}`,
    sasl: { mechanism: "SCRAM-SHA-512", username: "bob", password: "bob-secret-512" },
    retries: 0,
  });
  try {
    // Requests at about 0, 300, 600, 900 (past 85 % of the lifetime: a new connection), 1200 ms.
    for (let i = 0; i < 5; i++) {
      await client.refreshMetadata([]);
      await new Promise((r) => setTimeout(r, 300));
    }
  } finally {
    client.close();
  }
  const logins = t.lines.filter((l) => /authenticated as User:bob with SCRAM-SHA-512/.test(l));
  assert(logins.length >= 2, `${logins.length} logins`);
  assert(!t.lines.some((l) => /SASL session of User:bob expired/.test(l)), "a session expired");
});

Deno.test("SASL: a frame above sasl.server.max.receive.size before authentication closes", async () => {
  await using t = await saslBroker({ saslServerMaxReceiveSize: 1000 });
  let c = await RawClient.connect(t.broker.port);
  assertEquals((await handshake(c, "PLAIN")).errorCode, 0);
  await c.send(SaslAuthenticateRequest, 2, { authBytes: new Uint8Array(2000) });
  await c.expectClosed();
  c.close();
  assert(t.lines.some((l) => /larger than sasl.server.max.receive.size \(1000\)/.test(l)));
  // Once authenticated, the usual bound applies.
  c = await RawClient.connect(t.broker.port);
  assertEquals((await handshake(c, "PLAIN")).errorCode, 0);
  assertEquals((await auth(c, plainToken("alice", "alice-secret"))).errorCode, 0);
  const md = await c.request(MetadataRequest, MetadataResponse, 9, {
    topics: Array.from({ length: 100 }, (_, i) => ({
      name: `t${i}`.padEnd(40, "x"),
      topicId: "AAAAAAAAAAAAAAAAAAAAAA",
    })),
    allowAutoTopicCreation: false,
  });
  assertEquals(md.topics.length, 100);
  c.close();
});
