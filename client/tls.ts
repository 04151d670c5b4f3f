// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * TLS settings of our client (`security.protocol=SSL` or `SASL_SSL`), from Kafka client properties: librdkafka's
 * `ssl.ca.location`, `ssl.certificate.location`, `ssl.key.location`, `ssl.key.password`, or the
 * Java client's PEM forms (`ssl.truststore.location` / `ssl.truststore.certificates`,
 * `ssl.keystore.location` / `ssl.keystore.certificate.chain` + `ssl.keystore.key`, with
 * `ssl.keystore.type=PEM`). `ssl.endpoint.identification.algorithm=` (empty) turns host name
 * verification off, as in Kafka.
 *
 * @module
 */

import { createPrivateKey } from "node:crypto";

/** How our client secures its connections (Deno's TLS, {@linkcode Deno.connectTls}). */
export interface ClientTlsOptions {
  /** Certificates trusted besides the system's, PEM (`ssl.ca.location`). */
  caCerts?: string[];
  /** The client certificate chain, PEM, for mutual TLS (`ssl.certificate.location`). */
  cert?: string;
  /** Its private key, PEM, unencrypted (`ssl.key.location`, decrypted with `ssl.key.password`). */
  key?: string;
  /** Skip checking the broker's host name against its certificate. Default false. */
  disableHostnameVerification?: boolean;
}

/**
 * The TLS options a set of Kafka client properties asks for; `undefined` when
 * `security.protocol` is PLAINTEXT (or absent) or SASL_PLAINTEXT (the SASL half is
 * `client/sasl.ts`'s `saslOptionsFromProperties`). Reads the files named. Needs `--allow-read`.
 *
 * @example
 * ```ts
 * import { clientTlsFromProperties } from "./tls.ts";
 * console.assert(clientTlsFromProperties({ "security.protocol": "PLAINTEXT" }) === undefined);
 * ```
 *
 * @param props Kafka client properties.
 * @returns The options, or `undefined` for plaintext.
 * @throws {RangeError} On an unknown protocol, an unsupported store type, an
 * unreadable file, or an encrypted key without its password.
 */
export function clientTlsFromProperties(
  props: Record<string, string>,
): ClientTlsOptions | undefined {
  const protocol = (props["security.protocol"] ?? "PLAINTEXT").trim().toUpperCase();
  if (protocol === "PLAINTEXT" || protocol === "SASL_PLAINTEXT") return undefined;
  if (protocol !== "SSL" && protocol !== "SASL_SSL") {
    throw new RangeError(
      `Invalid value "${props["security.protocol"]}" for configuration "security.protocol": ` +
        `use PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL`,
    );
  }
  const get = (k: string) => {
    const v = props[k];
    return v === undefined || v.trim() === "" ? undefined : v;
  };
  for (const k of ["ssl.keystore.type", "ssl.truststore.type"]) {
    const t = get(k)?.trim().toUpperCase();
    if (t !== undefined && t !== "PEM") {
      throw new RangeError(`Invalid value "${t}" for configuration "${k}": only PEM is supported`);
    }
  }
  const read = (k: string): string | undefined => {
    const path = get(k);
    if (path === undefined) return undefined;
    try {
      return Deno.readTextFileSync(path);
    } catch (e) {
      throw new RangeError(`Cannot read ${k} "${path}": ${e instanceof Error ? e.message : e}`);
    }
  };
  const ca = read("ssl.ca.location") ?? read("ssl.truststore.location") ??
    get("ssl.truststore.certificates") ?? get("ssl.ca.pem");
  const keystore = read("ssl.keystore.location");
  const cert = read("ssl.certificate.location") ?? get("ssl.certificate.pem") ??
    get("ssl.keystore.certificate.chain") ?? pemOf(keystore, /CERTIFICATE/);
  let key = read("ssl.key.location") ?? get("ssl.key.pem") ?? get("ssl.keystore.key") ??
    pemOf(keystore, /PRIVATE KEY/);
  if ((cert === undefined) !== (key === undefined)) {
    throw new RangeError(
      `Invalid TLS configuration: a client certificate needs its key and the other way round ` +
        `(ssl.certificate.location with ssl.key.location)`,
    );
  }
  if (key !== undefined && /ENCRYPTED/.test(key)) {
    const password = props["ssl.key.password"];
    if (password === undefined) {
      throw new RangeError(
        "Invalid TLS configuration: the private key is encrypted; set ssl.key.password",
      );
    }
    try {
      key = String(
        createPrivateKey({ key, format: "pem", passphrase: password })
          .export({ format: "pem", type: "pkcs8" }),
      );
    } catch (e) {
      throw new RangeError(
        `Invalid TLS configuration: decrypting the private key with ssl.key.password failed: ` +
          (e instanceof Error ? e.message : String(e)),
      );
    }
  }
  return {
    caCerts: ca === undefined ? undefined : [ca],
    cert,
    key,
    disableHostnameVerification: props["ssl.endpoint.identification.algorithm"] !== undefined &&
      props["ssl.endpoint.identification.algorithm"].trim() === "",
  };
}

/** The PEM blocks of a file whose label matches, joined; `undefined` if none. */
function pemOf(text: string | undefined, label: RegExp): string | undefined {
  if (text === undefined) return undefined;
  const blocks = [...text.matchAll(/-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g)]
    .filter((m) => label.test(m[1]))
    .map((m) => m[0] + "\n");
  return blocks.length === 0 ? undefined : blocks.join("");
}
