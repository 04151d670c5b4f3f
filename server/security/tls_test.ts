// Copyright 2026 the Sluice authors. Apache-2.0 license.
import {
  deepStrictEqual as assertEquals,
  ok as assert,
  rejects as assertRejects,
} from "node:assert/strict";
import { listenerSslProperty, loadListenerTls, unknownSslKeys } from "./tls.ts";
import { makeCertificates, type TestCertificates } from "../../tests/tls_certs.ts";

let made: Promise<TestCertificates> | undefined;
const certs = () => made ??= makeCertificates();
Deno.test.afterAll(async () => {
  const c = await made;
  if (c) await Deno.remove(c.dir, { recursive: true });
});

Deno.test("loadListenerTls() reads a PEM key store file, inline PEM and PEM on one line", async () => {
  const c = await certs();
  const file = await loadListenerTls({ "ssl.keystore.location": c.serverKeystorePath }, "SSL");
  assert(file.key.includes("BEGIN PRIVATE KEY"));
  assertEquals(file.certChain.match(/BEGIN CERTIFICATE/g)?.length, 1);
  assertEquals(file.clientAuth, "none");
  assertEquals(file.trustedCerts, undefined);
  // a properties file may hold the PEM on one line, spaces for line breaks (as Kafka allows)
  const oneLine = (s: string) => s.replace(/\n/g, " ");
  const inline = await loadListenerTls({
    "ssl.keystore.type": "PEM",
    "ssl.keystore.certificate.chain": oneLine(c.read(c.serverCertPath)),
    "ssl.keystore.key": oneLine(c.read(c.serverKeyPath)),
    "ssl.truststore.certificates": oneLine(c.read(c.caPath)),
    "ssl.client.auth": "REQUIRED",
  }, "SSL");
  assertEquals(inline.certChain, file.certChain);
  assertEquals(inline.key.replace(/\s/g, ""), file.key.replace(/\s/g, ""));
  assertEquals(inline.clientAuth, "required");
  assertEquals(inline.trustedCerts?.replace(/\s/g, ""), c.read(c.caPath).replace(/\s/g, ""));
});

Deno.test("loadListenerTls() decrypts a key with ssl.key.password and says what is wrong", async () => {
  const c = await certs();
  const base = {
    "ssl.keystore.certificate.chain": c.read(c.serverCertPath),
    "ssl.keystore.key": c.read(c.serverEncryptedKeyPath),
  };
  const ok = await loadListenerTls({ ...base, "ssl.key.password": c.keyPassword }, "SSL");
  assert(ok.key.includes("BEGIN PRIVATE KEY") && !ok.key.includes("ENCRYPTED"));
  await assertRejects(loadListenerTls(base, "SSL"), /encrypted; set ssl.key.password/);
  await assertRejects(
    loadListenerTls({ ...base, "ssl.key.password": "wrong" }, "SSL"),
    /decrypting the private key with ssl.key.password failed/,
  );
});

Deno.test("loadListenerTls() refuses what it cannot serve, naming the setting", async () => {
  const c = await certs();
  const ks = { "ssl.keystore.location": c.serverKeystorePath };
  const cases: [Record<string, string>, RegExp][] = [
    [{}, /needs a key and certificate/],
    [{ ...ks, "ssl.keystore.type": "JKS" }, /only PEM is supported/],
    [{ ...ks, "ssl.truststore.type": "PKCS12" }, /only PEM is supported/],
    [{ ...ks, "ssl.client.auth": "required" }, /needs a trust store/],
    [{ ...ks, "ssl.client.auth": "maybe" }, /must be required, requested or none/],
    [{ "ssl.keystore.location": "/nonexistent/x.pem" }, /Cannot read ssl.keystore.location/],
    [{ "ssl.keystore.location": c.caPath }, /expected one PEM private key, found 0/],
    [{ ...ks, "ssl.keystore.key": c.read(c.serverKeyPath) }, /not both/],
    [{ ...ks, "ssl.principal.mapping.rules": "RULE:x" }, /ssl.principal.mapping.rules/],
  ];
  for (const [props, message] of cases) {
    await assertRejects(loadListenerTls(props, "SSL"), message, JSON.stringify(props));
  }
});

Deno.test("SASL_SSL listeners read only their own ssl.client.auth, as Kafka", async () => {
  const c = await certs();
  const props = {
    "ssl.keystore.location": c.serverKeystorePath,
    "ssl.truststore.location": c.caPath,
    "ssl.client.auth": "required",
  };
  assertEquals((await loadListenerTls(props, "SASL_SSL", "SASL_SSL")).clientAuth, "none");
  assertEquals((await loadListenerTls(props, "SSL", "SSL")).clientAuth, "required");
  const own = { ...props, "listener.name.sasl_ssl.ssl.client.auth": "requested" };
  assertEquals((await loadListenerTls(own, "SASL_SSL", "SASL_SSL")).clientAuth, "requested");
});

Deno.test("listener.name.<name>.ssl.* overrides ssl.*, the name in any case", () => {
  const props = {
    "ssl.client.auth": "none",
    "listener.name.External.ssl.client.auth": "required",
  };
  assertEquals(listenerSslProperty(props, "EXTERNAL", "ssl.client.auth"), "required");
  assertEquals(listenerSslProperty(props, "INTERNAL", "ssl.client.auth"), "none");
  assertEquals(listenerSslProperty({}, "X", "ssl.client.auth"), undefined);
  assertEquals(
    unknownSslKeys({ "ssl.protocol": "TLSv1.3", "ssl.bogus": "1", "listener.name.a.ssl.x": "" }),
    [
      'Unknown configuration "ssl.bogus" is ignored',
      'Unknown configuration "listener.name.a.ssl.x" is ignored',
    ],
  );
});
