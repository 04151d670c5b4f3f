// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * Kafka's `ssl.enabled.protocols` and `ssl.cipher.suites` for Deno's TLS (rustls), which
 * implements TLS 1.2 and 1.3 only and a fixed set of AEAD cipher suites:
 *
 * - `ssl.enabled.protocols` (default `TLSv1.2,TLSv1.3`, Kafka's) is honoured: a listener enabled
 *   for one version only gets `minVersion`/`maxVersion` (`node:tls`, which Deno implements on
 *   rustls and which honours them; `Deno.listenTls` has no such option). A protocol rustls lacks
 *   (`TLSv1.1`, `TLSv1`, `SSLv3`) refuses the configuration.
 * - `ssl.cipher.suites` cannot restrict anything: neither `Deno.listenTls` nor Deno's `node:tls`
 *   (its `ciphers` option is accepted and ignored, checked with `openssl s_client -cipher`) lets a
 *   server turn a suite off. A list is accepted when it names every suite the listener would
 *   offer (for its key type and enabled protocols), so it is honoured as written; one that leaves
 *   any out refuses the configuration, naming them. Names are Kafka's (Java's, IANA's:
 *   `TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384`) or OpenSSL's (`ECDHE-ECDSA-AES256-GCM-SHA384`).
 *
 * @module
 */

/** A TLS version rustls implements, in Kafka's spelling. */
export type TlsProtocol = "TLSv1.2" | "TLSv1.3";

/** The protocols of Kafka's default `ssl.enabled.protocols`. */
export const DEFAULT_TLS_PROTOCOLS: readonly TlsProtocol[] = ["TLSv1.2", "TLSv1.3"];

const KNOWN_UNSUPPORTED = new Set(["TLSV1.1", "TLSV1", "SSLV3", "SSLV2HELLO", "TLSV1.0"]);

/** The key type a TLS 1.2 suite authenticates with (TLS 1.3 suites work with any). */
type KeyKind = "ecdsa" | "rsa";

interface Suite {
  /** IANA (and Java's, Kafka's) name. */
  iana: string;
  /** OpenSSL's name. */
  openssl: string;
  version: TlsProtocol;
  /** Which key a TLS 1.2 suite needs; undefined for TLS 1.3. */
  key?: KeyKind;
}

/** The suites Deno's rustls offers as a server, strongest first. */
const RUSTLS_SUITES: readonly Suite[] = [
  { iana: "TLS_AES_256_GCM_SHA384", openssl: "TLS_AES_256_GCM_SHA384", version: "TLSv1.3" },
  { iana: "TLS_AES_128_GCM_SHA256", openssl: "TLS_AES_128_GCM_SHA256", version: "TLSv1.3" },
  {
    iana: "TLS_CHACHA20_POLY1305_SHA256",
    openssl: "TLS_CHACHA20_POLY1305_SHA256",
    version: "TLSv1.3",
  },
  {
    iana: "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    openssl: "ECDHE-ECDSA-AES256-GCM-SHA384",
    version: "TLSv1.2",
    key: "ecdsa",
  },
  {
    iana: "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    openssl: "ECDHE-ECDSA-AES128-GCM-SHA256",
    version: "TLSv1.2",
    key: "ecdsa",
  },
  {
    iana: "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
    openssl: "ECDHE-ECDSA-CHACHA20-POLY1305",
    version: "TLSv1.2",
    key: "ecdsa",
  },
  {
    iana: "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    openssl: "ECDHE-RSA-AES256-GCM-SHA384",
    version: "TLSv1.2",
    key: "rsa",
  },
  {
    iana: "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    openssl: "ECDHE-RSA-AES128-GCM-SHA256",
    version: "TLSv1.2",
    key: "rsa",
  },
  {
    iana: "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
    openssl: "ECDHE-RSA-CHACHA20-POLY1305",
    version: "TLSv1.2",
    key: "rsa",
  },
];

/**
 * Parse `ssl.enabled.protocols`.
 *
 * @example
 * ```ts
 * import { parseEnabledProtocols } from "./tls_policy.ts";
 * console.assert(parseEnabledProtocols("TLSv1.3", "SSL").join() === "TLSv1.3");
 * ```
 *
 * @param value The property's value; `undefined` for Kafka's default (`TLSv1.2,TLSv1.3`).
 * @param listener The listener, for messages.
 * @returns The enabled protocols, in version order.
 * @throws {RangeError} If the list is empty, names a protocol Deno's TLS lacks, or an unknown one.
 */
export function parseEnabledProtocols(
  value: string | undefined,
  listener: string,
): TlsProtocol[] {
  if (value === undefined) return [...DEFAULT_TLS_PROTOCOLS];
  const what = `configuration "ssl.enabled.protocols" of listener ${listener}`;
  const names = value.split(",").map((s) => s.trim()).filter((s) => s !== "");
  if (names.length === 0) {
    throw new RangeError(`Invalid value "${value}" for ${what}: no protocol enabled`);
  }
  const out = new Set<TlsProtocol>();
  for (const n of names) {
    const u = n.toUpperCase();
    if (u === "TLSV1.2") out.add("TLSv1.2");
    else if (u === "TLSV1.3") out.add("TLSv1.3");
    else if (KNOWN_UNSUPPORTED.has(u)) {
      throw new RangeError(
        `Invalid value "${value}" for ${what}: ${n} cannot be enabled, Deno's TLS (rustls) ` +
          `implements only TLSv1.2 and TLSv1.3`,
      );
    } else {
      throw new RangeError(
        `Invalid value "${value}" for ${what}: unknown protocol ${n} (use TLSv1.2, TLSv1.3)`,
      );
    }
  }
  return DEFAULT_TLS_PROTOCOLS.filter((p) => out.has(p));
}

/**
 * Check `ssl.cipher.suites` against what the listener offers (see the module doc).
 *
 * @example
 * ```ts
 * import { checkCipherSuites } from "./tls_policy.ts";
 * checkCipherSuites(
 *   "TLS_AES_256_GCM_SHA384,TLS_AES_128_GCM_SHA256,TLS_CHACHA20_POLY1305_SHA256",
 *   ["TLSv1.3"], "ec", "SSL",
 * ); // accepted: that is every TLS 1.3 suite
 * ```
 *
 * @param value The property's value; `undefined` or empty: no restriction asked.
 * @param protocols The enabled protocols.
 * @param keyType The listener key's `asymmetricKeyType` (`ec`, `rsa`, `ed25519`, ...).
 * @param listener The listener, for messages.
 * @throws {RangeError} If the list leaves out a suite the listener offers, or names no suite.
 */
export function checkCipherSuites(
  value: string | undefined,
  protocols: readonly TlsProtocol[],
  keyType: string | undefined,
  listener: string,
): void {
  if (value === undefined || value.trim() === "") return;
  const what = `configuration "ssl.cipher.suites" of listener ${listener}`;
  const listed = new Set<string>();
  for (const raw of value.split(",").map((s) => s.trim()).filter((s) => s !== "")) {
    if (!/^[A-Za-z0-9_-]+$/.test(raw)) {
      throw new RangeError(`Invalid value "${value}" for ${what}: ${raw} is no cipher suite name`);
    }
    const u = raw.toUpperCase();
    const suite = RUSTLS_SUITES.find((s) => s.iana === u || s.openssl === u);
    listed.add(suite?.iana ?? u);
  }
  const key: KeyKind = keyType === "rsa" || keyType === "rsa-pss" ? "rsa" : "ecdsa";
  const offered = RUSTLS_SUITES.filter((s) =>
    protocols.includes(s.version) && (s.key === undefined || s.key === key)
  );
  const missing = offered.filter((s) => !listed.has(s.iana));
  if (missing.length > 0) {
    throw new RangeError(
      `Invalid value "${value}" for ${what}: Deno's TLS (rustls) cannot turn cipher suites off, ` +
        `and with this key and ${protocols.join(",")} it offers ` +
        `${offered.map((s) => s.iana).join(",")}; the list leaves out ` +
        `${missing.map((s) => s.iana).join(",")}. Add them, or remove ssl.cipher.suites ` +
        `(restrict with ssl.enabled.protocols instead)`,
    );
  }
}
