// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * One broker-to-broker connection (cluster mode): TCP, or TLS when the inter-broker listener is an
 * SSL one (`inter.broker.listener.name`, docs/SECURITY.md), authenticated with SASL (SaslHandshake
 * v1, then SaslAuthenticate v2) before its first request when the listener is SASL_PLAINTEXT or
 * SASL_SSL, and again on the same connection before the session lifetime the other broker gave
 * (`connections.max.reauth.ms`, KIP-368) runs out; to another Sluice broker, one request
 * at a time with the protocol codecs (`protocol/messages`), each bounded by a timeout after which
 * the connection is closed. The replica fetchers fetch from their leaders with it, and the
 * transaction coordinator sends WriteTxnMarkers to the partitions' leaders with it. Versions are
 * fixed by the caller: every broker of a cluster runs Sluice (no ApiVersions round trip, as
 * Kafka's inter-broker protocol version pins them).
 *
 * @module
 */

import { dial } from "../protocol/dial.ts";
import { errorName } from "../protocol/errors.ts";
import { decodeBody, decodeResponseHeader, encodeRequestFrame } from "../protocol/framing.ts";
import {
  SaslAuthenticateRequest,
  SaslAuthenticateResponse,
} from "../protocol/messages/sasl_authenticate.ts";
import {
  SaslHandshakeRequest,
  SaslHandshakeResponse,
} from "../protocol/messages/sasl_handshake.ts";
import type { MessageCodec } from "../protocol/primitives.ts";
import { saslLogin } from "../protocol/sasl_login.ts";
import { saltedPassword, type ScramMechanism, toBase64 } from "../protocol/scram.ts";

/** TLS for a broker-to-broker connection: the inter-broker listener's trust store and key. */
export interface BrokerTls {
  /** CA certificates that sign the other brokers' certificates, PEM; default the system's. */
  caCerts?: string[];
  /** This broker's certificate chain, PEM (presented when the other side asks). */
  cert?: string;
  /** Its private key, PEM. */
  key?: string;
}

/**
 * SASL for a broker-to-broker connection (`sasl.mechanism.inter.broker.protocol` and the
 * inter-broker listener's JAAS `username`/`password`).
 */
export interface BrokerSasl {
  /** PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512. */
  mechanism: "PLAIN" | ScramMechanism;
  /** The broker's user name. */
  username: string;
  /** Its password. */
  password: string;
}

/** The failed SASL authentication of a broker-to-broker connection (wrong password, ...). */
export class BrokerAuthenticationError extends Error {
  /** The Kafka error code the other broker answered, or -1 if the failure was ours. */
  readonly code: number;

  /**
   * @param message What failed and why.
   * @param code The other broker's error code.
   */
  constructor(message: string, code: number) {
    super(message);
    this.name = "BrokerAuthenticationError";
    this.code = code;
  }
}

const SASL_HANDSHAKE_VERSION = 1;
/** v1+ carries the session lifetime (KIP-368). */
const SASL_AUTHENTICATE_VERSION = 2;
/** Re-authenticate once this share of the session lifetime is over (Kafka's clients: 85-95%). */
const REAUTH_AT = 0.85;

/**
 * Salted passwords of this broker's own inter-broker logins, by mechanism, salt, iterations and
 * password: PBKDF2 (0.8 ms for SCRAM-SHA-256, several for SCRAM-SHA-512 at 4096 iterations) runs
 * once per credential instead of at every connect of every fetcher. Bounded: a credential changed
 * again and again evicts the oldest.
 */
const saltedPasswords = new Map<string, Promise<Uint8Array>>();
const SALTED_PASSWORDS_KEPT = 16;

const rememberedSaltedPassword: typeof saltedPassword = (mech, password, salt, iterations) => {
  const key = `${mech.name}\u0000${toBase64(salt)}\u0000${iterations}\u0000${password}`;
  let p = saltedPasswords.get(key);
  if (p === undefined) {
    p = saltedPassword(mech, password, salt, iterations);
    p.catch(() => saltedPasswords.delete(key));
    saltedPasswords.set(key, p);
    if (saltedPasswords.size > SALTED_PASSWORDS_KEPT) {
      saltedPasswords.delete(saltedPasswords.keys().next().value!);
    }
  }
  return p;
};

/** The largest answer accepted, in bytes (1 GiB). */
const MAX_ANSWER_BYTES = 1 << 30;

/** Where a broker listens. */
export interface BrokerEndpoint {
  /** Host name or address. */
  host: string;
  /** Port. */
  port: number;
  /** Connect with TLS (the inter-broker listener is SSL); absent: plain TCP. */
  tls?: BrokerTls;
  /** Authenticate with SASL (the inter-broker listener is SASL_*); absent: no SASL. */
  sasl?: BrokerSasl;
}

/**
 * A connection to another broker; requests are sent one at a time (a second call waits for the
 * first's answer).
 *
 * @example
 * ```ts ignore
 * const conn = await BrokerConnection.connect({ host: "127.0.0.1", port: 9092 }, "me", 30000);
 * const res = await conn.request(FetchRequest, FetchResponse, 12, body, 30000);
 * conn.close();
 * ```
 */
export class BrokerConnection {
  readonly #conn: Deno.TcpConn | Deno.TlsConn;
  readonly #clientId: string;
  readonly #ep: BrokerEndpoint;
  readonly #head = new Uint8Array(4);
  #nextCorrelationId = 1;
  #closed = false;
  #queue: Promise<unknown> = Promise.resolve();
  /** When to re-authenticate (epoch ms; 0: never). */
  #reauthAt = 0;

  private constructor(conn: Deno.TcpConn | Deno.TlsConn, clientId: string, ep: BrokerEndpoint) {
    this.#conn = conn;
    this.#clientId = clientId;
    this.#ep = ep;
  }

  /**
   * Connects (needs `--allow-net`).
   *
   * @param ep The broker's address.
   * @param clientId The client id sent in every request header.
   * @param timeoutMs Longest wait for the connection.
   * @returns The connection, authenticated when `ep.sasl` is set.
   * @throws {Error} `cannot connect to host:port: ...` when refused or not answered in time.
   * @throws {BrokerAuthenticationError} If the SASL authentication fails.
   */
  static async connect(
    ep: BrokerEndpoint,
    clientId: string,
    timeoutMs: number,
  ): Promise<BrokerConnection> {
    let made: BrokerConnection | undefined;
    try {
      const conn = await dial({
        host: ep.host,
        port: ep.port,
        tls: ep.tls,
        timeoutMs,
        timeoutError: () =>
          new Error(`connect to ${ep.host}:${ep.port}: no answer in ${timeoutMs} ms`),
      });
      made = new BrokerConnection(conn, clientId, ep);
      if (ep.sasl !== undefined) await made.#authenticate(ep.sasl, timeoutMs);
      return made;
    } catch (e) {
      made?.close();
      if (e instanceof BrokerAuthenticationError) throw e;
      const msg = e instanceof Error ? e.message : String(e);
      throw new Error(`cannot connect to ${ep.host}:${ep.port}: ${msg}`);
    }
  }

  /** Whether the connection is closed (by {@linkcode BrokerConnection.close}, an error or a timeout). */
  get closed(): boolean {
    return this.#closed;
  }

  /** Closes the connection; a request in flight fails. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#conn.close();
    } catch {
      // already closed
    }
  }

  /**
   * Sends one request and reads its answer; closes the connection on a timeout or error.
   *
   * @param req The request codec.
   * @param res The response codec.
   * @param version The API version.
   * @param body The request.
   * @param timeoutMs Longest wait for the answer.
   * @returns The answer.
   * @throws {Error} If the connection fails, the answer is malformed or late.
   */
  request<Req, Res>(
    req: MessageCodec<Req>,
    res: MessageCodec<Res>,
    version: number,
    body: Req,
    timeoutMs: number,
  ): Promise<Res> {
    const run = this.#queue.then(() => this.#request(req, res, version, body, timeoutMs));
    this.#queue = run.catch(() => {});
    return run;
  }

  async #request<Req, Res>(
    req: MessageCodec<Req>,
    res: MessageCodec<Res>,
    version: number,
    body: Req,
    timeoutMs: number,
  ): Promise<Res> {
    if (this.#closed) throw new Error(`${req.name}: the connection is closed`);
    // KIP-368: past the session's lifetime the other broker would close the connection
    if (this.#reauthAt > 0 && Date.now() >= this.#reauthAt) {
      try {
        await this.#authenticate(this.#ep.sasl!, timeoutMs);
      } catch (e) {
        this.close();
        throw e;
      }
    }
    return this.#exchange(req, res, version, body, timeoutMs);
  }

  /**
   * SaslHandshake v1, then the mechanism's SaslAuthenticate v2 round trips; remembers when the
   * session must be renewed.
   */
  async #authenticate(sasl: BrokerSasl, timeoutMs: number): Promise<void> {
    const what = `SASL ${sasl.mechanism} authentication as ${sasl.username} to ` +
      `${this.#ep.host}:${this.#ep.port}`;
    const fail = (detail: string, code = -1): never => {
      throw new BrokerAuthenticationError(`${what} failed: ${detail}`, code);
    };
    const lifetime = await saslLogin({
      handshake: (mechanism) =>
        this.#exchange(
          SaslHandshakeRequest,
          SaslHandshakeResponse,
          SASL_HANDSHAKE_VERSION,
          { mechanism },
          timeoutMs,
        ),
      authenticate: (authBytes) =>
        this.#exchange(
          SaslAuthenticateRequest,
          SaslAuthenticateResponse,
          SASL_AUTHENTICATE_VERSION,
          { authBytes },
          timeoutMs,
        ),
      fail(f): never {
        switch (f.step) {
          case "handshake":
            return fail(
              `${errorName(f.errorCode)} (the broker enables ${f.mechanisms.join(", ")})`,
              f.errorCode,
            );
          case "authenticate":
            return fail(
              `${errorName(f.errorCode)}: ${f.errorMessage ?? "no reason given"}`,
              f.errorCode,
            );
          case "mechanism":
            return fail(`mechanism ${sasl.mechanism} is not implemented`);
          case "scram":
            return fail(f.error.message);
        }
      },
      derive: rememberedSaltedPassword,
    }, sasl);
    this.#reauthAt = lifetime > 0 ? Date.now() + Math.max(1, Math.floor(lifetime * REAUTH_AT)) : 0;
  }

  /** One request and its answer on the wire. */
  async #exchange<Req, Res>(
    req: MessageCodec<Req>,
    res: MessageCodec<Res>,
    version: number,
    body: Req,
    timeoutMs: number,
  ): Promise<Res> {
    if (this.#closed) throw new Error(`${req.name}: the connection is closed`);
    const id = this.#nextCorrelationId++;
    const frame = encodeRequestFrame(req, version, id, this.#clientId, body);
    const timer = setTimeout(() => this.close(), timeoutMs);
    try {
      let off = 0;
      while (off < frame.length) off += await this.#conn.write(frame.subarray(off));
      const answer = await this.#readFrame();
      const { header, bodyOffset } = decodeResponseHeader(answer, req.apiKey, version);
      if (header.correlationId !== id) {
        throw new Error(`${req.name}: expected correlation id ${id}, got ${header.correlationId}`);
      }
      return decodeBody(res, answer, bodyOffset, version);
    } catch (e) {
      const timedOut = this.#closed;
      this.close();
      if (timedOut) throw new Error(`${req.name} v${version}: no answer within ${timeoutMs} ms`);
      throw e;
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Reads one answer: its size prefix, then its bytes straight into a buffer of that size (no
   * copy in between: a follower's Fetch answers are up to `replica.fetch.response.max.bytes`).
   * Nothing past the answer is read (one request at a time, one answer each).
   */
  async #readFrame(): Promise<Uint8Array> {
    await this.#readFully(this.#head);
    const size = new DataView(this.#head.buffer).getInt32(0);
    if (size < 0 || size > MAX_ANSWER_BYTES) {
      throw new Error(`invalid answer size ${size}: must be 0-${MAX_ANSWER_BYTES}`);
    }
    const frame = new Uint8Array(size);
    await this.#readFully(frame);
    return frame;
  }

  async #readFully(into: Uint8Array): Promise<void> {
    let off = 0;
    while (off < into.length) {
      const n = await this.#conn.read(into.subarray(off));
      if (n === null) throw new Error("the broker closed the connection");
      off += n;
    }
  }
}

/**
 * One connection per broker, made on first use and made again once closed (a request that
 * timed out closes its connection): the transaction coordinator's markers and the partition
 * leaders' transaction verifications reach other brokers through one.
 *
 * @example
 * ```ts ignore
 * const pool = new BrokerConnectionPool((id) => view.broker(id)?.value, "sluice-1", 30000);
 * const conn = await pool.get(2);
 * pool.close();
 * ```
 */
export class BrokerConnectionPool {
  readonly #endpoint: (id: number) => BrokerEndpoint | undefined;
  readonly #clientId: string;
  readonly #timeoutMs: number;
  readonly #conns = new Map<number, Promise<BrokerConnection>>();

  /**
   * Creates the pool (no connection yet).
   *
   * @param endpoint A registered broker's address.
   * @param clientId The client id of the requests.
   * @param timeoutMs Connection timeout.
   */
  constructor(
    endpoint: (id: number) => BrokerEndpoint | undefined,
    clientId: string,
    timeoutMs: number,
  ) {
    this.#endpoint = endpoint;
    this.#clientId = clientId;
    this.#timeoutMs = timeoutMs;
  }

  /**
   * The connection to broker `id`, made if there is none open.
   *
   * @param id The broker's node id.
   * @returns The connection.
   * @throws {Error} If the broker's address is unknown or it cannot be reached.
   */
  get(id: number): Promise<BrokerConnection> {
    const cached = this.#conns.get(id);
    if (cached !== undefined) {
      return cached.then((c) => {
        if (!c.closed) return c;
        if (this.#conns.get(id) === cached) this.#conns.delete(id);
        return this.get(id);
      });
    }
    const ep = this.#endpoint(id);
    if (ep === undefined) {
      return Promise.reject(new Error(`the address of broker ${id} is unknown`));
    }
    const made = BrokerConnection.connect(ep, this.#clientId, this.#timeoutMs);
    this.#conns.set(id, made);
    made.catch(() => {
      if (this.#conns.get(id) === made) this.#conns.delete(id);
    });
    return made;
  }

  /**
   * Forgets broker `id`'s connection if it is closed (after a request on it failed).
   *
   * @param id The broker's node id.
   * @param conn The connection the request used.
   */
  dropIfClosed(id: number, conn: BrokerConnection): void {
    if (conn.closed) this.#conns.delete(id);
  }

  /** Closes every connection. */
  close(): void {
    for (const c of this.#conns.values()) c.then((conn) => conn.close(), () => {});
    this.#conns.clear();
  }
}
