// Copyright 2026 the Sluice authors. Apache-2.0 license.
// ssl.enabled.protocols and ssl.cipher.suites (docs/SECURITY.md "TLS"): parsed and checked, then
// a broker enabled for TLS 1.2 only or 1.3 only, probed with `openssl s_client -tls1_2/-tls1_3`
// (and kcat for a Kafka request over the one version); a cipher suite list the TLS stack cannot
// honour refuses the start.
import { deepStrictEqual as assertEquals, ok as assert, rejects, throws } from "node:assert/strict";
import { makeCertificates } from "../../tests/tls_certs.ts";
import { runCommand } from "../../tests/harness.ts";
import { Broker } from "../broker.ts";
import { silentLogger } from "../logger.ts";
import { checkCipherSuites, parseEnabledProtocols } from "./tls_policy.ts";

const TLS13 = "TLS_AES_256_GCM_SHA384,TLS_AES_128_GCM_SHA256,TLS_CHACHA20_POLY1305_SHA256";
const ECDSA12 = "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256," +
  "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256";

Deno.test("parseEnabledProtocols: TLSv1.2 and TLSv1.3 only, in version order", () => {
  assertEquals(parseEnabledProtocols(undefined, "SSL"), ["TLSv1.2", "TLSv1.3"]);
  assertEquals(parseEnabledProtocols("TLSv1.3, TLSv1.2", "SSL"), ["TLSv1.2", "TLSv1.3"]);
  assertEquals(parseEnabledProtocols("tlsv1.3", "SSL"), ["TLSv1.3"]);
  throws(
    () => parseEnabledProtocols("TLSv1.1,TLSv1.2", "EXTERNAL"),
    /"ssl.enabled.protocols" of listener EXTERNAL: TLSv1.1 cannot be enabled, Deno's TLS \(rustls\) implements only TLSv1.2 and TLSv1.3/,
  );
  throws(() => parseEnabledProtocols(" , ", "SSL"), /no protocol enabled/);
  throws(() => parseEnabledProtocols("TLSv9", "SSL"), /unknown protocol TLSv9/);
});

Deno.test("checkCipherSuites: a list naming every offered suite passes, any gap is refused", () => {
  checkCipherSuites(undefined, ["TLSv1.2", "TLSv1.3"], "ec", "SSL");
  checkCipherSuites(`${TLS13},${ECDSA12}`, ["TLSv1.2", "TLSv1.3"], "ec", "SSL");
  // OpenSSL names, extra (unused) suites, and TLS 1.3 only needs the 1.3 suites
  checkCipherSuites(
    "ECDHE-ECDSA-AES256-GCM-SHA384,ECDHE-ECDSA-AES128-GCM-SHA256,ECDHE-ECDSA-CHACHA20-POLY1305," +
      `TLS_RSA_WITH_AES_128_CBC_SHA,${TLS13}`,
    ["TLSv1.2", "TLSv1.3"],
    "ec",
    "SSL",
  );
  checkCipherSuites(TLS13, ["TLSv1.3"], "rsa", "SSL");
  // an RSA key: the ECDHE_RSA suites are the ones offered
  throws(
    () => checkCipherSuites(`${TLS13},${ECDSA12}`, ["TLSv1.2", "TLSv1.3"], "rsa", "SSL"),
    /leaves out TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256/,
  );
  throws(
    () => checkCipherSuites("TLS_AES_256_GCM_SHA384", ["TLSv1.3"], "ec", "SSL"),
    /cannot turn cipher suites off.*leaves out TLS_AES_128_GCM_SHA256,TLS_CHACHA20_POLY1305_SHA256/,
  );
  throws(() => checkCipherSuites("AES/GCM", ["TLSv1.3"], "ec", "SSL"), /no cipher suite name/);
});

/** `openssl s_client` with one version: the protocol it negotiated, or "refused". */
async function negotiate(port: number, flag: "-tls1_2" | "-tls1_3", ca: string): Promise<string> {
  const r = await runCommand(
    "openssl",
    ["s_client", "-connect", `127.0.0.1:${port}`, "-servername", "localhost", flag, "-CAfile", ca],
    { stdin: "", timeoutMs: 20_000 },
  );
  const m = /New, (TLSv1\.[23]), Cipher is (\S+)/.exec(r.stdout);
  return m === null ? "refused" : `${m[1]} ${m[2]}`;
}

Deno.test("ssl.enabled.protocols: a listener for one version answers only that one (openssl s_client)", async () => {
  const certs = await makeCertificates();
  const dir = await Deno.makeTempDir({ prefix: "sluice-tls-policy-" });
  try {
    const broker = await Broker.start({
      listeners: "SSL://127.0.0.1:0,ONLY12://127.0.0.1:0,ONLY13://127.0.0.1:0,MTLS13://127.0.0.1:0",
      listenerSecurityProtocolMap: "SSL:SSL,ONLY12:SSL,ONLY13:SSL,MTLS13:SSL",
      sslProperties: {
        "ssl.keystore.location": certs.serverKeystorePath,
        "ssl.truststore.location": certs.caPath,
        "listener.name.only12.ssl.enabled.protocols": "TLSv1.2",
        "listener.name.only13.ssl.enabled.protocols": "TLSv1.3",
        "listener.name.only13.ssl.cipher.suites": TLS13,
        "listener.name.mtls13.ssl.enabled.protocols": "TLSv1.3",
        "listener.name.mtls13.ssl.client.auth": "required",
      },
      logDirs: [dir],
      logger: silentLogger,
    });
    try {
      const port = (l: string) => broker.listener(l).port;
      const v = async (l: string, f: "-tls1_2" | "-tls1_3") =>
        (await negotiate(port(l), f, certs.caPath)).split(" ")[0];
      assertEquals([await v("SSL", "-tls1_2"), await v("SSL", "-tls1_3")], ["TLSv1.2", "TLSv1.3"]);
      assertEquals([await v("ONLY12", "-tls1_2"), await v("ONLY12", "-tls1_3")], [
        "TLSv1.2",
        "refused",
      ]);
      assertEquals([await v("ONLY13", "-tls1_2"), await v("ONLY13", "-tls1_3")], [
        "refused",
        "TLSv1.3",
      ]);
      // a Kafka request over each single-version listener (kcat, librdkafka's OpenSSL)
      for (const l of ["ONLY12", "ONLY13"]) {
        const r = await runCommand("kcat", [
          "-L",
          "-b",
          `localhost:${port(l)}`,
          "-X",
          "security.protocol=ssl",
          "-X",
          `ssl.ca.location=${certs.caPath}`,
          "-m",
          "10",
        ], { timeoutMs: 30_000 });
        assertEquals(r.code, 0, `${l}: ${r.stderr}`);
        assert(r.stdout.includes("1 brokers:"), r.stdout);
      }
      // mutual TLS keeps working on a one-version listener: no certificate, no session
      assertEquals(await v("MTLS13", "-tls1_2"), "refused");
      const withCert = await runCommand("openssl", [
        "s_client",
        "-connect",
        `127.0.0.1:${port("MTLS13")}`,
        "-tls1_3",
        "-CAfile",
        certs.caPath,
        "-cert",
        certs.clientCertPath,
        "-key",
        certs.clientKeyPath,
      ], { stdin: "", timeoutMs: 20_000 });
      assert(/New, TLSv1\.3/.test(withCert.stdout), withCert.stdout + withCert.stderr);
    } finally {
      await broker.close();
    }
    // a suite list the stack cannot honour: refused at start, nothing bound
    await rejects(
      Broker.start({
        listeners: "SSL://127.0.0.1:0",
        sslProperties: {
          "ssl.keystore.location": certs.serverKeystorePath,
          "ssl.cipher.suites": "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
        },
        logDirs: [dir],
        logger: silentLogger,
      }),
      /"ssl.cipher.suites" of listener SSL: Deno's TLS \(rustls\) cannot turn cipher suites off/,
    );
    await rejects(
      Broker.start({
        listeners: "SSL://127.0.0.1:0",
        sslProperties: {
          "ssl.keystore.location": certs.serverKeystorePath,
          "ssl.enabled.protocols": "TLSv1.1,TLSv1.2",
        },
        logDirs: [dir],
        logger: silentLogger,
      }),
      /TLSv1.1 cannot be enabled/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(certs.dir, { recursive: true });
  }
});
