// Copyright 2026 the Sluice authors. Apache-2.0 license.
// The admin HTTP listener protected as the Kafka listeners are (issue #15, docs/SECURITY.md):
// `https://` with the broker's key store (or `sluice.http.ssl.*`), and `sluice.http.auth=basic`
// against the broker's PLAIN users and SCRAM credentials; `/healthz` and `/readyz` stay open.
// Checked with curl, as an operator or a scraper would.
import { deepStrictEqual as assertEquals, ok as assert, rejects } from "node:assert/strict";
import { scramUpsertion } from "../../client/sasl.ts";
import { makeCertificates } from "../../tests/tls_certs.ts";
import { runCommand } from "../../tests/harness.ts";
import { Broker } from "../broker.ts";
import { silentLogger } from "../logger.ts";
import { HttpBasicAuthenticator } from "../security/http_basic.ts";
import { ScramCredentialStore } from "../security/scram_credentials.ts";

const JAAS = "org.apache.kafka.common.security.plain.PlainLoginModule required " +
  'user_ops="ops-secret";';

/** curl's status code for a URL (`-w %{http_code}`), with extra arguments. */
async function curl(url: string, ...args: string[]): Promise<{ status: string; stderr: string }> {
  const r = await runCommand(
    "curl",
    ["-sS", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "20", ...args, url],
    { timeoutMs: 30_000 },
  );
  return { status: r.stdout.trim(), stderr: r.stderr };
}

Deno.test("admin HTTP: https with the broker's key, Basic auth against PLAIN and SCRAM users", async () => {
  const certs = await makeCertificates();
  const dir = await Deno.makeTempDir({ prefix: "sluice-admin-auth-" });
  const store = await ScramCredentialStore.open(dir);
  await store.apply([{
    ...(await scramUpsertion("scraper", "SCRAM-SHA-512", "scrape-secret")),
    op: "upsert",
  }]);
  const broker = await Broker.start({
    listeners: "SASL_SSL://127.0.0.1:0",
    saslJaasConfigs: { "sasl_ssl.plain": JAAS },
    sslProperties: { "ssl.keystore.location": certs.serverKeystorePath },
    httpListener: "https://127.0.0.1:0",
    httpAuth: "basic",
    connectionFailedAuthenticationDelayMs: 0,
    logDirs: [dir],
    logger: silentLogger,
  });
  try {
    const base = `https://localhost:${broker.httpAddress!.port}`;
    const ca = ["--cacert", certs.caPath];
    // probes: open
    assertEquals((await curl(`${base}/healthz`, ...ca)).status, "200");
    assertEquals((await curl(`${base}/readyz`, ...ca)).status, "200");
    // everything else: 401 without, with a wrong password or an unknown user
    for (
      const auth of [[], ["-u", "ops:wrong"], ["-u", "nobody:ops-secret"], [
        "-u",
        "scraper:wrong",
      ]]
    ) {
      assertEquals((await curl(`${base}/metrics`, ...ca, ...auth)).status, "401", auth.join(" "));
    }
    assertEquals((await curl(`${base}/no-such-page`, ...ca)).status, "401");
    // a PLAIN user and a SCRAM user (checked against the salted form)
    assertEquals((await curl(`${base}/metrics`, ...ca, "-u", "ops:ops-secret")).status, "200");
    assertEquals(
      (await curl(`${base}/metrics`, ...ca, "-u", "scraper:scrape-secret")).status,
      "200",
    );
    // TLS only: plain HTTP to the port fails, and the certificate is verified
    const plain = await curl(`http://127.0.0.1:${broker.httpAddress!.port}/healthz`);
    assert(plain.status !== "200", plain.status);
    const untrusted = await curl(`${base}/healthz`);
    assertEquals(untrusted.status, "000");
    assert(/certificate/i.test(untrusted.stderr), untrusted.stderr);
  } finally {
    await broker.close();
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(certs.dir, { recursive: true });
  }
});

Deno.test("admin HTTP: with an authorizer, the web console's API is for super.users only (403), /metrics for any user", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sluice-admin-console-" });
  const broker = await Broker.start({
    listeners: "SASL_PLAINTEXT://127.0.0.1:0",
    saslJaasConfigs: {
      "sasl_plaintext.plain": "org.apache.kafka.common.security.plain.PlainLoginModule " +
        'required user_admin="admin-secret" user_alice="alice-secret";',
    },
    authorizerClassName: "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
    superUsers: ["User:admin"],
    httpListener: "http://127.0.0.1:0",
    httpAuth: "basic",
    connectionFailedAuthenticationDelayMs: 0,
    logDirs: [dir],
    logger: silentLogger,
  });
  try {
    const base = `http://127.0.0.1:${broker.httpAddress!.port}`;
    const alice = ["-u", "alice:alice-secret"];
    const admin = ["-u", "admin:admin-secret"];
    assertEquals((await curl(`${base}/metrics`, ...alice)).status, "200");
    assertEquals((await curl(`${base}/api/v1/overview`, ...alice)).status, "403");
    assertEquals((await curl(`${base}/`, ...alice)).status, "403");
    const create = ["-X", "POST", "-H", "content-type: application/json", "-d", '{"name":"t1"}'];
    assertEquals((await curl(`${base}/api/v1/topics`, ...alice, ...create)).status, "403");
    assertEquals((await curl(`${base}/api/v1/topics/t1`, ...admin)).status, "404");
    assertEquals((await curl(`${base}/api/v1/overview`, ...admin)).status, "200");
    assertEquals((await curl(`${base}/api/v1/topics`, ...admin, ...create)).status, "201");
    assertEquals((await curl(`${base}/api/v1/topics/t1`, ...admin)).status, "200");
    assertEquals((await curl(`${base}/api/v1/overview`)).status, "401");
  } finally {
    await broker.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("admin HTTP: sluice.http.ssl.* over ssl.*; no key, or client certificates, refused at start", async () => {
  const certs = await makeCertificates();
  const dir = await Deno.makeTempDir({ prefix: "sluice-admin-auth-" });
  try {
    // a PLAINTEXT broker: the admin listener's own key
    const broker = await Broker.start({
      listeners: "PLAINTEXT://127.0.0.1:0",
      httpListener: "https://127.0.0.1:0",
      httpSslProperties: { "ssl.keystore.location": certs.serverKeystorePath },
      logDirs: [dir],
      logger: silentLogger,
    });
    try {
      const r = await curl(
        `https://localhost:${broker.httpAddress!.port}/metrics`,
        "--cacert",
        certs.caPath,
      );
      assertEquals(r.status, "200", r.stderr);
    } finally {
      await broker.close();
    }
    await rejects(
      Broker.start({
        listeners: "PLAINTEXT://127.0.0.1:0",
        httpListener: "https://127.0.0.1:0",
        logDirs: [dir],
        logger: silentLogger,
      }),
      /listener sluice\.http/,
    );
    await rejects(
      Broker.start({
        listeners: "PLAINTEXT://127.0.0.1:0",
        httpListener: "https://127.0.0.1:0",
        httpSslProperties: {
          "ssl.keystore.location": certs.serverKeystorePath,
          "ssl.client.auth": "required",
        },
        logDirs: [dir],
        logger: silentLogger,
      }),
      /sluice\.http\.ssl\.client\.auth.*asks no client certificate/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(certs.dir, { recursive: true });
  }
});

Deno.test("HttpBasicAuthenticator: malformed headers are refused, not thrown", async () => {
  const auth = new HttpBasicAuthenticator({
    plainUsers: new Map([["ops", ["ops-secret"]]]),
    credentials: () => undefined,
    failedAuthenticationDelayMs: 0,
  });
  for (
    const h of [
      null,
      "",
      "Bearer x",
      "Basic",
      "Basic !!!",
      `Basic ${btoa("ops")}`,
      `Basic ${btoa(":ops-secret")}`,
      "Basic /w==", // not UTF-8
      `Basic ${btoa("ops:ops-secret ")}`,
    ]
  ) {
    assertEquals(await auth.authenticate(h), null, String(h));
  }
  assertEquals(await auth.authenticate(`basic  ${btoa("ops:ops-secret")}`), "ops");
});
