// Copyright 2026 the Sluice authors. Apache-2.0 license.
// A broker-to-broker connection authenticating with SASL: PLAIN and SCRAM, a wrong password
// (BrokerAuthenticationError with the other broker's reason, the connection closed), and
// re-authentication on the same connection once the session lifetime the broker gave is mostly over
// (KIP-368: without it, the broker closes the connection at the next request).
import { deepStrictEqual as assertEquals, ok as assert, rejects } from "node:assert/strict";
import { scramUpsertion } from "../client/sasl.ts";
import { MetadataRequest, MetadataResponse } from "../protocol/messages/metadata.ts";
import {
  BrokerAuthenticationError,
  BrokerConnection,
  type BrokerSasl,
} from "./broker_connection.ts";
import { ScramCredentialStore } from "./security/scram_credentials.ts";
import { startTestBroker } from "./testing.ts";

const PLAIN_JAAS = "org.apache.kafka.common.security.plain.PlainLoginModule required " +
  'user_broker="plain-secret";';

async function saslBroker(maxReauthMs = 0) {
  const dir = await Deno.makeTempDir({ prefix: "sluice-broker-conn-test-" });
  const store = await ScramCredentialStore.open(dir);
  const u = await scramUpsertion("broker", "SCRAM-SHA-512", "scram-secret");
  await store.apply([{ ...u, op: "upsert" }]);
  return await startTestBroker({
    listeners: "SASL_PLAINTEXT://127.0.0.1:0",
    saslJaasConfigs: { "sasl_plaintext.plain": PLAIN_JAAS },
    connectionFailedAuthenticationDelayMs: 0,
    connectionsMaxReauthMs: maxReauthMs,
    logDirs: [dir],
  });
}

function metadata(conn: BrokerConnection) {
  return conn.request(
    MetadataRequest,
    MetadataResponse,
    12,
    MetadataRequest.create({ topics: null }),
    10_000,
  );
}

Deno.test("BrokerConnection: PLAIN and SCRAM-SHA-512 before the first request", async () => {
  await using b = await saslBroker();
  for (
    const sasl of [
      { mechanism: "PLAIN", username: "broker", password: "plain-secret" },
      { mechanism: "SCRAM-SHA-512", username: "broker", password: "scram-secret" },
    ] satisfies BrokerSasl[]
  ) {
    const conn = await BrokerConnection.connect(
      { host: "127.0.0.1", port: b.broker.port, sasl },
      "test",
      10_000,
    );
    assertEquals((await metadata(conn)).brokers.length, 1);
    conn.close();
  }
  // without SASL the broker closes the connection at the first request
  const bare = await BrokerConnection.connect(
    { host: "127.0.0.1", port: b.broker.port },
    "t",
    10_000,
  );
  await rejects(metadata(bare), /closed the connection/);
});

Deno.test("BrokerConnection: a wrong password fails with the broker's reason", async () => {
  await using b = await saslBroker();
  for (const mechanism of ["PLAIN", "SCRAM-SHA-512"] as const) {
    const err = await BrokerConnection.connect(
      {
        host: "127.0.0.1",
        port: b.broker.port,
        sasl: { mechanism, username: "broker", password: "x" },
      },
      "test",
      10_000,
    ).then(() => null, (e) => e);
    assert(err instanceof BrokerAuthenticationError, String(err));
    assertEquals(err.code, 58); // SASL_AUTHENTICATION_FAILED
    assert(
      err.message.startsWith(
        `SASL ${mechanism} authentication as broker to 127.0.0.1:${b.broker.port} failed: ` +
          "SASL_AUTHENTICATION_FAILED: ",
      ),
      err.message,
    );
  }
});

Deno.test("BrokerConnection: re-authenticates before the session lifetime is over (KIP-368)", async () => {
  await using b = await saslBroker(600);
  const conn = await BrokerConnection.connect(
    {
      host: "127.0.0.1",
      port: b.broker.port,
      sasl: { mechanism: "SCRAM-SHA-512", username: "broker", password: "scram-secret" },
    },
    "test",
    10_000,
  );
  try {
    // past the lifetime several times over: each request after 85% of it logs in again first
    for (let i = 0; i < 3; i++) {
      await new Promise((r) => setTimeout(r, 700));
      assertEquals((await metadata(conn)).brokers.length, 1);
    }
    assert(!conn.closed);
  } finally {
    conn.close();
  }
});
