// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * TLS for SSL and SASL_SSL listeners (docs/SECURITY.md "TLS and listeners"): Kafka's PEM key and
 * trust store properties, read per listener (`listener.name.<name>.ssl.*` over `ssl.*`), and the
 * listening sockets.
 *
 * Two TLS stacks, both Deno's (rustls): without client authentication
 * (`ssl.client.auth=none`, the default) {@linkcode Deno.listenTls}, the faster; with
 * `requested` or `required`, `node:tls` (Deno's implementation), the only one of Deno's server
 * APIs that asks for a client certificate, verifies it against the trust store and hands it to
 * the application (`Deno.listenTls` has no such option in Deno 2.9.6). The client certificate's
 * subject becomes the connection's principal (`ssl_principal.ts`). A listener whose
 * `ssl.enabled.protocols` enables one TLS version only also uses `node:tls`, for its
 * `minVersion`/`maxVersion` (`tls_policy.ts`).
 *
 * @module
 */

import type * as NodeTls from "node:tls";
import type { Socket } from "node:net";
import type * as Crypto from "node:crypto";
import { nodeBuiltin } from "../node_builtin.ts";
import type { SecurityProtocol } from "../config.ts";
import type { KafkaPrincipal } from "./principal.ts";
import type { Accepted, ByteStream, ListenOptions, TransportListener } from "../transport.ts";
import { SslPrincipalMapper, subjectDn } from "./ssl_principal.ts";
import { checkCipherSuites, parseEnabledProtocols, type TlsProtocol } from "./tls_policy.ts";

/** Kafka's `ssl.client.auth`. */
export type SslClientAuth = "none" | "requested" | "required";

/** The TLS settings of one listener, loaded and checked. */
export interface ListenerTlsSettings {
  /** The certificate chain, PEM, leaf first. */
  certChain: string;
  /** The private key, PEM, unencrypted. */
  key: string;
  /** Certificates trusted for client certificates, PEM; `undefined` if none are configured. */
  trustedCerts?: string;
  /** Whether a client certificate is asked for. */
  clientAuth: SslClientAuth;
  /** `ssl.principal.mapping.rules`. */
  principalMapper: SslPrincipalMapper;
  /** `ssl.enabled.protocols`; absent: TLS 1.2 and 1.3. */
  protocols?: TlsProtocol[];
}

/** `ssl.*` keys Kafka has that need no action here (Java providers, JKS passwords, ...). */
const IGNORED_SSL_KEYS = new Set([
  "ssl.protocol",
  "ssl.endpoint.identification.algorithm",
  "ssl.keystore.password",
  "ssl.truststore.password",
  "ssl.keymanager.algorithm",
  "ssl.trustmanager.algorithm",
  "ssl.secure.random.implementation",
  "ssl.provider",
  "ssl.engine.factory.class",
  "ssl.allow.dn.changes",
  "ssl.allow.san.changes",
]);

/** `ssl.*` keys this module reads. */
const USED_SSL_KEYS = new Set([
  "ssl.keystore.type",
  "ssl.keystore.location",
  "ssl.keystore.certificate.chain",
  "ssl.keystore.key",
  "ssl.key.password",
  "ssl.truststore.type",
  "ssl.truststore.location",
  "ssl.truststore.certificates",
  "ssl.client.auth",
  "ssl.principal.mapping.rules",
  "ssl.enabled.protocols",
  "ssl.cipher.suites",
]);

/**
 * The value of `ssl.<name>` for a listener: `listener.name.<listener>.ssl.<name>` (listener name
 * in any case) wins over `ssl.<name>`, as in Kafka.
 *
 * @example
 * ```ts
 * import { listenerSslProperty } from "./tls.ts";
 * const props = { "ssl.client.auth": "none", "listener.name.external.ssl.client.auth": "required" };
 * console.assert(listenerSslProperty(props, "EXTERNAL", "ssl.client.auth") === "required");
 * console.assert(listenerSslProperty(props, "INTERNAL", "ssl.client.auth") === "none");
 * ```
 *
 * @param props `BrokerConfig.sslProperties`.
 * @param listener The listener name.
 * @param key The `ssl.*` key.
 * @returns The value, or `undefined`.
 */
export function listenerSslProperty(
  props: Record<string, string>,
  listener: string,
  key: string,
): string | undefined {
  const prefix = `listener.name.${listener.toLowerCase()}.`;
  for (const [k, v] of Object.entries(props)) {
    if (k.toLowerCase() === prefix + key) return v;
  }
  return props[key];
}

/**
 * Warnings for `ssl.*` keys that are neither read nor known to Kafka.
 *
 * @example
 * ```ts
 * import { unknownSslKeys } from "./tls.ts";
 * console.assert(unknownSslKeys({ "ssl.protocol": "TLSv1.3" }).length === 0);
 * ```
 *
 * @param props `BrokerConfig.sslProperties`.
 * @returns One message per unknown key.
 */
export function unknownSslKeys(props: Record<string, string>): string[] {
  const out: string[] = [];
  for (const k of Object.keys(props)) {
    const base = k.replace(/^listener\.name\.[^.]+\./i, "");
    if (!USED_SSL_KEYS.has(base) && !IGNORED_SSL_KEYS.has(base)) {
      out.push(`Unknown configuration "${k}" is ignored`);
    }
  }
  return out;
}

/** One PEM block. */
interface PemBlock {
  label: string;
  text: string;
}

/**
 * The PEM blocks of a text, re-wrapped to 64 columns: Kafka accepts a PEM value written on one
 * line in a properties file (`\n` escapes or spaces instead of line breaks); so do we.
 */
function pemBlocks(text: string): PemBlock[] {
  const out: PemBlock[] = [];
  const re = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;
  for (const m of text.matchAll(re)) {
    const body = m[2];
    // Legacy encrypted keys carry headers (Proc-Type, DEK-Info): keep those lines as they are.
    if (/^\s*Proc-Type:/m.test(body)) {
      out.push({ label: m[1], text: `-----BEGIN ${m[1]}-----${body}-----END ${m[1]}-----\n` });
      continue;
    }
    const b64 = body.replace(/\s+/g, "");
    const lines = b64.match(/.{1,64}/g) ?? [];
    out.push({
      label: m[1],
      text: `-----BEGIN ${m[1]}-----\n${lines.join("\n")}\n-----END ${m[1]}-----\n`,
    });
  }
  return out;
}

const KEY_LABELS = new Set([
  "PRIVATE KEY",
  "ENCRYPTED PRIVATE KEY",
  "RSA PRIVATE KEY",
  "EC PRIVATE KEY",
]);

/**
 * A PEM private key, decrypted with `password` if it is encrypted.
 *
 * @throws {RangeError} If it is encrypted and no (or a wrong) password is given.
 */
function plainKey(block: PemBlock, password: string | undefined, what: string): string {
  const encrypted = block.label === "ENCRYPTED PRIVATE KEY" || block.text.includes("ENCRYPTED");
  if (!encrypted) return block.text;
  if (password === undefined) {
    throw new RangeError(`Cannot load ${what}: the private key is encrypted; set ssl.key.password`);
  }
  try {
    const key = nodeBuiltin<typeof Crypto>("node:crypto").createPrivateKey({
      key: block.text,
      format: "pem",
      passphrase: password,
    });
    return String(key.export({ format: "pem", type: "pkcs8" }));
  } catch (e) {
    throw new RangeError(
      `Cannot load ${what}: decrypting the private key with ssl.key.password failed: ` +
        (e instanceof Error ? e.message : String(e)),
    );
  }
}

async function readPemFile(path: string, key: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (e) {
    throw new RangeError(
      `Cannot read ${key} "${path}": ${e instanceof Error ? e.message : String(e)}`,
    );
  }
}

/**
 * Load and check the TLS settings of an SSL or SASL_SSL listener.
 * Needs `--allow-read` for `*.location` files.
 *
 * @example
 * ```ts ignore
 * import { loadListenerTls } from "./tls.ts";
 * const tls = await loadListenerTls({ "ssl.keystore.location": "server.pem" }, "SSL");
 * ```
 *
 * @param props `BrokerConfig.sslProperties`.
 * @param listener The listener name (for `listener.name.<name>.ssl.*` and messages).
 * @param securityProtocol `SSL` or `SASL_SSL` (which reads only the listener's own
 * `ssl.client.auth`, as Kafka).
 * @returns The settings.
 * @throws {RangeError} If a setting is missing, malformed or names an unreadable file.
 */
export async function loadListenerTls(
  props: Record<string, string>,
  listener: string,
  securityProtocol: SecurityProtocol = "SSL",
): Promise<ListenerTlsSettings> {
  const get = (k: string) => {
    const v = listenerSslProperty(props, listener, k);
    return v === undefined || v.trim() === "" ? undefined : v;
  };
  const what = `the TLS key of listener ${listener}`;
  const storeType = get("ssl.keystore.type")?.trim().toUpperCase();
  if (storeType !== undefined && storeType !== "PEM") {
    throw new RangeError(
      `Invalid value "${storeType}" for configuration "ssl.keystore.type" of listener ` +
        `${listener}: only PEM is supported (convert a JKS or PKCS12 store with keytool/openssl)`,
    );
  }
  const trustType = get("ssl.truststore.type")?.trim().toUpperCase();
  if (trustType !== undefined && trustType !== "PEM") {
    throw new RangeError(
      `Invalid value "${trustType}" for configuration "ssl.truststore.type" of listener ` +
        `${listener}: only PEM is supported`,
    );
  }
  let keyText = get("ssl.keystore.key");
  let chainText = get("ssl.keystore.certificate.chain");
  const location = get("ssl.keystore.location");
  if (location !== undefined) {
    if (keyText !== undefined || chainText !== undefined) {
      throw new RangeError(
        `Invalid configuration of listener ${listener}: set either ssl.keystore.location or ` +
          `ssl.keystore.key with ssl.keystore.certificate.chain, not both`,
      );
    }
    const file = await readPemFile(location, "ssl.keystore.location");
    keyText = file;
    chainText = file;
  }
  if (keyText === undefined || chainText === undefined) {
    throw new RangeError(
      `Invalid configuration of listener ${listener}: an SSL listener needs a key and ` +
        `certificate: ssl.keystore.location (a PEM file with both) or ssl.keystore.key and ` +
        `ssl.keystore.certificate.chain (inline PEM), with ssl.keystore.type=PEM`,
    );
  }
  const keys = pemBlocks(keyText).filter((b) => KEY_LABELS.has(b.label));
  const certs = pemBlocks(chainText).filter((b) => b.label === "CERTIFICATE");
  if (keys.length !== 1) {
    throw new RangeError(
      `Cannot load ${what}: expected one PEM private key, found ${keys.length}`,
    );
  }
  if (certs.length === 0) {
    throw new RangeError(`Cannot load ${what}: no PEM certificate in the certificate chain`);
  }
  const key = plainKey(keys[0], get("ssl.key.password"), what);
  let trustText = get("ssl.truststore.certificates");
  const trustLocation = get("ssl.truststore.location");
  if (trustLocation !== undefined) {
    if (trustText !== undefined) {
      throw new RangeError(
        `Invalid configuration of listener ${listener}: set either ssl.truststore.location or ` +
          `ssl.truststore.certificates, not both`,
      );
    }
    trustText = await readPemFile(trustLocation, "ssl.truststore.location");
  }
  let trustedCerts: string | undefined;
  if (trustText !== undefined) {
    const trusted = pemBlocks(trustText).filter((b) => b.label === "CERTIFICATE");
    if (trusted.length === 0) {
      throw new RangeError(
        `Cannot load the trust store of listener ${listener}: no PEM certificate in it`,
      );
    }
    trustedCerts = trusted.map((b) => b.text).join("");
  }
  // Kafka: on SASL_SSL listeners only the listener's own ssl.client.auth applies (SASL
  // authenticates the client; a certificate is asked for only when that listener says so)
  const authKey = "ssl.client.auth";
  const authValue = securityProtocol === "SASL_SSL"
    ? Object.entries(props).find(([k]) =>
      k.toLowerCase() === `listener.name.${listener.toLowerCase()}.${authKey}`
    )?.[1]
    : get(authKey);
  const auth = (authValue ?? "none").trim().toLowerCase();
  if (auth !== "none" && auth !== "requested" && auth !== "required") {
    throw new RangeError(
      `Invalid value "${auth}" for configuration "ssl.client.auth" of listener ${listener}: ` +
        `must be required, requested or none`,
    );
  }
  if (auth !== "none" && trustedCerts === undefined) {
    throw new RangeError(
      `Invalid configuration of listener ${listener}: ssl.client.auth=${auth} needs a trust ` +
        `store to verify client certificates (ssl.truststore.location or ` +
        `ssl.truststore.certificates)`,
    );
  }
  const rules = get("ssl.principal.mapping.rules");
  // what Deno's TLS can honour of ssl.enabled.protocols and ssl.cipher.suites (tls_policy.ts)
  const protocols = parseEnabledProtocols(get("ssl.enabled.protocols"), listener);
  checkCipherSuites(
    get("ssl.cipher.suites"),
    protocols,
    nodeBuiltin<typeof Crypto>("node:crypto").createPrivateKey(key).asymmetricKeyType,
    listener,
  );
  return {
    certChain: certs.map((b) => b.text).join(""),
    key,
    trustedCerts,
    clientAuth: auth,
    principalMapper: new SslPrincipalMapper(rules ?? "DEFAULT"),
    ...(protocols.length < 2 ? { protocols } : {}),
  };
}

export type { Accepted, ByteStream, ListenOptions, TransportListener } from "../transport.ts";
export { listen } from "../transport.ts";

/**
 * Listen for one TLS listener (SSL, SASL_SSL): {@linkcode Deno.listenTls}, or `node:tls` for
 * client authentication and TLS version ranges, see the module doc. `transport.ts` `listen`
 * calls it for those listeners. Needs `--allow-net`.
 *
 * @param o Where and how; `tls` is required.
 * @returns The listening socket.
 * @throws {RangeError} Without TLS settings.
 * @throws {Error} If the address cannot be bound or the TLS key is refused.
 */
export async function listenTls(o: ListenOptions): Promise<TransportListener> {
  const hostname = o.hostname || "0.0.0.0";
  if (o.tls === undefined) throw new RangeError(`listener ${o.name} needs TLS settings`);
  // Deno.listenTls takes neither a client certificate nor a TLS version range
  if (o.tls.clientAuth === "none" && o.tls.protocols === undefined) {
    const options = { hostname, port: o.port, cert: o.tls.certChain, key: o.tls.key };
    return new DenoTlsTransport(
      // shards (`sluice.workers`): every shard's socket on the port (SO_REUSEPORT)
      Deno.listenTls(o.reusePort === true ? { ...options, reusePort: true } : options),
      o.handshakeTimeoutMs,
    );
  }
  return await NodeTlsTransport.listen(hostname, o.port, o.tls, o.handshakeTimeoutMs, o);
}

/** Why a TLS handshake failed, with a hint when the client did not speak TLS at all. */
function handshakeFailure(e: unknown): string {
  const detail = e instanceof Error ? e.message : String(e);
  const plaintext =
    /InvalidContentType|corrupt message|wrong version|http request|record overflow|invalid record/i
      .test(detail);
  return plaintext
    ? `TLS handshake failed, the client does not speak TLS (a PLAINTEXT client on an SSL ` +
      `port?): ${detail}`
    : `TLS handshake failed: ${detail}`;
}

function withTimeout<T>(p: Promise<T>, ms: number, onTimeout: () => void): Promise<T> {
  if (!Number.isFinite(ms)) return p;
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        onTimeout();
        reject(new Error(`TLS handshake not complete after ${ms} ms`));
      }, ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

class DenoTlsTransport implements TransportListener {
  readonly #l: Deno.TlsListener;
  readonly #timeoutMs: number;
  constructor(l: Deno.TlsListener, timeoutMs: number) {
    this.#l = l;
    this.#timeoutMs = timeoutMs;
  }
  get addr(): Deno.NetAddr {
    return this.#l.addr;
  }
  async accept(): Promise<Accepted> {
    const conn = await this.#l.accept();
    return {
      conn,
      secure: async () => {
        try {
          await withTimeout(conn.handshake(), this.#timeoutMs, () => {
            try {
              conn.close();
            } catch {
              // Already closed.
            }
          });
        } catch (e) {
          throw new Error(handshakeFailure(e));
        }
        return undefined;
      },
    };
  }
  close(): void {
    this.#l.close();
  }
}

/**
 * A `node:tls` socket as a {@linkcode ByteStream}: reads drain the chunks its `data` events
 * queued (the socket pauses above {@linkcode NODE_READ_HIGH_WATER} bytes queued), writes resolve
 * when the socket has taken the bytes.
 */
class NodeSocketStream implements ByteStream {
  readonly #s: NodeTls.TLSSocket;
  readonly #chunks: Uint8Array[] = [];
  #queued = 0;
  #ended = false;
  #error: Error | null = null;
  #wake: (() => void) | null = null;
  readonly remoteAddr: Deno.NetAddr;

  constructor(s: NodeTls.TLSSocket) {
    this.#s = s;
    this.remoteAddr = {
      transport: "tcp",
      hostname: s.remoteAddress ?? "?",
      port: s.remotePort ?? 0,
    };
    s.setNoDelay(true);
    s.on("data", (d: Uint8Array) => {
      this.#chunks.push(d);
      this.#queued += d.length;
      if (this.#queued > NODE_READ_HIGH_WATER) s.pause();
      this.#wakeUp();
    });
    s.on("end", () => {
      this.#ended = true;
      this.#wakeUp();
    });
    s.on("close", () => {
      this.#ended = true;
      this.#wakeUp();
    });
    s.on("error", (e: Error) => {
      this.#error ??= new Deno.errors.ConnectionReset(e.message);
      this.#ended = true;
      this.#wakeUp();
    });
  }

  #wakeUp(): void {
    const w = this.#wake;
    this.#wake = null;
    w?.();
  }

  async read(p: Uint8Array): Promise<number | null> {
    while (this.#chunks.length === 0) {
      if (this.#ended) {
        if (this.#error !== null) throw this.#error;
        return null;
      }
      await new Promise<void>((resolve) => (this.#wake = resolve));
    }
    let n = 0;
    while (n < p.length && this.#chunks.length > 0) {
      const c = this.#chunks[0];
      const take = Math.min(c.length, p.length - n);
      p.set(c.subarray(0, take), n);
      n += take;
      if (take === c.length) this.#chunks.shift();
      else this.#chunks[0] = c.subarray(take);
    }
    this.#queued -= n;
    if (this.#queued <= NODE_READ_HIGH_WATER && this.#s.isPaused()) this.#s.resume();
    return n;
  }

  write(p: Uint8Array): Promise<number> {
    if (this.#ended || this.#s.destroyed) {
      return Promise.reject(this.#error ?? new Deno.errors.BrokenPipe("connection closed"));
    }
    return new Promise((resolve, reject) => {
      this.#s.write(p, (e?: Error | null) => {
        if (e) reject(new Deno.errors.BrokenPipe(e.message));
        else resolve(p.length);
      });
    });
  }

  close(): void {
    this.#ended = true;
    this.#s.destroy();
    this.#wakeUp();
  }
}

/** Bytes a `node:tls` socket queues before it stops reading (back-pressure). */
const NODE_READ_HIGH_WATER = 1024 * 1024;

class NodeTlsTransport implements TransportListener {
  readonly #server: NodeTls.Server;
  readonly #queue: NodeTls.TLSSocket[] = [];
  #waiting: { resolve: (s: NodeTls.TLSSocket) => void; reject: (e: Error) => void } | null = null;
  #closed = false;
  readonly #tls: ListenerTlsSettings;
  #addr: Deno.NetAddr = { transport: "tcp", hostname: "", port: 0 };

  private constructor(server: NodeTls.Server, tls: ListenerTlsSettings) {
    this.#server = server;
    this.#tls = tls;
    server.on("secureConnection", (s: NodeTls.TLSSocket) => this.#push(s));
  }

  get addr(): Deno.NetAddr {
    return this.#addr;
  }

  static async listen(
    hostname: string,
    port: number,
    tls: ListenerTlsSettings,
    timeoutMs: number,
    o: ListenOptions,
  ): Promise<NodeTlsTransport> {
    const server = nodeBuiltin<typeof NodeTls>("node:tls").createServer({
      cert: tls.certChain,
      key: tls.key,
      ca: tls.trustedCerts,
      requestCert: tls.clientAuth !== "none",
      ...(tls.protocols === undefined
        ? {}
        : { minVersion: tls.protocols[0], maxVersion: tls.protocols[tls.protocols.length - 1] }),
      // `requested`: a client without a certificate is anonymous; one whose certificate does
      // not verify is refused after the handshake (see secure()), as Kafka's SSLEngine does.
      rejectUnauthorized: tls.clientAuth === "required",
      handshakeTimeout: Number.isFinite(timeoutMs) ? timeoutMs : 120_000,
    });
    const transport = new NodeTlsTransport(server, tls);
    server.on("tlsClientError", (e: Error, s: NodeTls.TLSSocket | Socket) => {
      // the TLS socket forgets its address once failed; the TCP socket under it (`_parent`)
      // still has it
      const raw = (s as { _parent?: Socket })._parent ?? s;
      o.logger.warn(
        `Closing connection from ${raw.remoteAddress}:${raw.remotePort} on listener ${o.name}: ` +
          handshakeFailure(e),
      );
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      // shards (`sluice.workers`): every shard's socket on the port (SO_REUSEPORT)
      server.listen({ port, host: hostname, reusePort: o.reusePort === true }, () => {
        server.off("error", reject);
        resolve();
      });
    });
    const a = server.address();
    if (a === null || typeof a === "string") throw new Error("node:tls server has no address");
    transport.#addr = { transport: "tcp", hostname: a.address, port: a.port };
    return transport;
  }

  #push(s: NodeTls.TLSSocket): void {
    if (this.#closed) {
      s.destroy();
      return;
    }
    const w = this.#waiting;
    if (w !== null) {
      this.#waiting = null;
      w.resolve(s);
    } else this.#queue.push(s);
  }

  async accept(): Promise<Accepted> {
    if (this.#closed) throw new Deno.errors.BadResource("listener closed");
    const s = this.#queue.shift() ??
      await new Promise<NodeTls.TLSSocket>((resolve, reject) =>
        this.#waiting = { resolve, reject }
      );
    const conn = new NodeSocketStream(s);
    return { conn, secure: () => Promise.resolve(this.#principal(s)) };
  }

  /** The principal of an established connection; throws if its certificate is refused. */
  #principal(s: NodeTls.TLSSocket): KafkaPrincipal | undefined {
    const cert = s.getPeerCertificate(true);
    const presented = cert !== null && cert.raw !== undefined && cert.raw.length > 0;
    if (!presented) {
      if (this.#tls.clientAuth === "required") {
        throw new Error("TLS client authentication failed: no client certificate");
      }
      return undefined;
    }
    if (!s.authorized) {
      throw new Error(
        `TLS client authentication failed: the client certificate does not verify against ` +
          `the trust store (${s.authorizationError})`,
      );
    }
    const dn = subjectDn(new Uint8Array(cert.raw));
    const name = this.#tls.principalMapper.map(dn);
    if (name === null) {
      throw new Error(
        `TLS client authentication failed: no ssl.principal.mapping.rules rule matches "${dn}"`,
      );
    }
    return { type: "User", name };
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#server.close();
    for (const s of this.#queue.splice(0)) s.destroy();
    this.#waiting?.reject(new Deno.errors.BadResource("listener closed"));
    this.#waiting = null;
  }
}
