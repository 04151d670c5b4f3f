// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * Throwaway certificates for the TLS tests, made with `openssl`: a CA, a server certificate for
 * `localhost` and `127.0.0.1`, a client certificate signed by the CA, and a client certificate
 * of another (untrusted) CA.
 *
 * @module
 */

import type { TestBroker } from "./harness.ts";

/** Where {@linkcode makeCertificates} wrote its files (PEM), and their text. */
export interface TestCertificates {
  /** The directory holding them (remove it when done). */
  dir: string;
  /** The CA certificate. */
  caPath: string;
  /** The server certificate. */
  serverCertPath: string;
  /** The server's private key (unencrypted PKCS#8). */
  serverKeyPath: string;
  /** The server's key and certificate in one file (`ssl.keystore.location`). */
  serverKeystorePath: string;
  /** The server's key encrypted with {@linkcode TestCertificates.keyPassword}. */
  serverEncryptedKeyPath: string;
  /** The password of the encrypted key. */
  keyPassword: string;
  /** The client certificate (subject {@linkcode TestCertificates.clientDn}). */
  clientCertPath: string;
  /** The client's private key. */
  clientKeyPath: string;
  /** The client certificate's subject as Kafka's DEFAULT principal mapping writes it. */
  clientDn: string;
  /** A client certificate from a CA the broker does not trust. */
  rogueCertPath: string;
  /** Its key. */
  rogueKeyPath: string;
  /** Read one of the files. */
  read(path: string): string;
}

async function openssl(args: string[], cwd: string): Promise<void> {
  const r = await new Deno.Command("openssl", { args, cwd, stdin: "null" }).output();
  if (r.code !== 0) {
    const err = new TextDecoder().decode(r.stderr);
    throw new Error(`openssl ${args.join(" ")}: exit ${r.code}\n${err}`);
  }
}

/**
 * Make the certificates in a new temporary directory. Needs `openssl` on the PATH.
 *
 * @returns The paths.
 */
export async function makeCertificates(): Promise<TestCertificates> {
  const dir = await Deno.makeTempDir({ prefix: "sluice_tls_" });
  const p = (f: string) => `${dir}/${f}`;
  // EC P-256 keys: made in milliseconds, where RSA 2048 takes a second each
  const rsa = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  await openssl(
    [
      "req",
      "-x509",
      ...rsa,
      "-keyout",
      "ca.key",
      "-out",
      "ca.pem",
      "-days",
      "2",
      "-subj",
      "/CN=Sluice Test CA",
    ],
    dir,
  );
  await Deno.writeTextFile(
    p("server.ext"),
    "basicConstraints=CA:FALSE\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n" +
      "extendedKeyUsage=serverAuth\n",
  );
  await Deno.writeTextFile(
    p("client.ext"),
    "basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n",
  );
  const issue = async (name: string, subj: string, ext: string, ca = "ca") => {
    await openssl(
      ["req", ...rsa, "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", subj],
      dir,
    );
    await openssl(
      [
        "x509",
        "-req",
        "-in",
        `${name}.csr`,
        "-CA",
        `${ca}.pem`,
        "-CAkey",
        `${ca}.key`,
        "-CAcreateserial",
        "-out",
        `${name}.pem`,
        "-days",
        "2",
        "-extfile",
        ext,
      ],
      dir,
    );
  };
  await issue("server", "/CN=localhost", "server.ext");
  // a subject with an escaped comma and several RDNs (RFC 2253: last RDN first)
  await issue("client", "/C=US/O=Acme, Inc./OU=Eng/CN=alice", "client.ext");
  await openssl(
    [
      "req",
      "-x509",
      ...rsa,
      "-keyout",
      "rogue_ca.key",
      "-out",
      "rogue_ca.pem",
      "-days",
      "2",
      "-subj",
      "/CN=Rogue CA",
    ],
    dir,
  );
  await issue("rogue", "/CN=mallory", "client.ext", "rogue_ca");
  const keyPassword = "s3cret-pass";
  await openssl(
    [
      "pkcs8",
      "-topk8",
      "-in",
      "server.key",
      "-out",
      "server_enc.key",
      "-v2",
      "aes-256-cbc",
      "-passout",
      `pass:${keyPassword}`,
    ],
    dir,
  );
  await Deno.writeTextFile(
    p("server_keystore.pem"),
    (await Deno.readTextFile(p("server.key"))) + (await Deno.readTextFile(p("server.pem"))),
  );
  return {
    dir,
    caPath: p("ca.pem"),
    serverCertPath: p("server.pem"),
    serverKeyPath: p("server.key"),
    serverKeystorePath: p("server_keystore.pem"),
    serverEncryptedKeyPath: p("server_enc.key"),
    keyPassword,
    clientCertPath: p("client.pem"),
    clientKeyPath: p("client.key"),
    clientDn: "CN=alice,OU=Eng,O=Acme\\, Inc.,C=US",
    rogueCertPath: p("rogue.pem"),
    rogueKeyPath: p("rogue.key"),
    read: (path: string) => Deno.readTextFileSync(path),
  };
}

/**
 * One broker with certificates shared by the tests of a file: the certificates made and `start`
 * run on first use; the broker closed and the certificates removed after the file's last test
 * (`Deno.test.afterAll`).
 *
 * @example
 * ```ts ignore
 * const tlsBroker = sharedCertificateBroker(async (certs) => ({
 *   certs,
 *   tb: await startBroker({ listeners: "SSL://127.0.0.1:0", sslProperties: { ... } }),
 * }));
 * ```
 *
 * @param start Starts the broker with the certificates; returns them with it (and anything else
 *   the tests need).
 * @returns A function resolving to what `start` returned.
 */
export function sharedCertificateBroker<
  T extends { tb: TestBroker; certs: TestCertificates },
>(start: (certs: TestCertificates) => Promise<T>): () => Promise<T> {
  let setup: Promise<T> | undefined;
  Deno.test.afterAll(async () => {
    const s = await setup?.catch(() => undefined);
    await s?.tb.close();
    if (s) await Deno.remove(s.certs.dir, { recursive: true }).catch(() => {});
  });
  return () => setup ??= makeCertificates().then(start);
}
