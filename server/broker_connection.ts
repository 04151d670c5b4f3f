// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * One broker-to-broker connection (cluster mode): TCP, or TLS when the inter-broker listener is an
 * SSL one (`inter.broker.listener.name`, docs/SECURITY.md), to another Sluice broker, one request
 * at a time with the protocol codecs (`protocol/messages`), each bounded by a timeout after which
 * the connection is closed. The replica fetchers fetch from their leaders with it, and the
 * transaction coordinator sends WriteTxnMarkers to the partitions' leaders with it. Versions are
 * fixed by the caller: every broker of a cluster runs Sluice (no ApiVersions round trip, as
 * Kafka's inter-broker protocol version pins them).
 *
 * @module
 */

import { decodeBody, decodeResponseHeader, encodeRequestFrame } from "../protocol/framing.ts";
import type { MessageCodec } from "../protocol/primitives.ts";

/** TLS for a broker-to-broker connection: the inter-broker listener's trust store and key. */
export interface BrokerTls {
  /** CA certificates that sign the other brokers' certificates, PEM; default the system's. */
  caCerts?: string[];
  /** This broker's certificate chain, PEM (presented when the other side asks). */
  cert?: string;
  /** Its private key, PEM. */
  key?: string;
}

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
  readonly #head = new Uint8Array(4);
  #nextCorrelationId = 1;
  #closed = false;
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(conn: Deno.TcpConn | Deno.TlsConn, clientId: string) {
    this.#conn = conn;
    this.#clientId = clientId;
  }

  /**
   * Connects (needs `--allow-net`).
   *
   * @param ep The broker's address.
   * @param clientId The client id sent in every request header.
   * @param timeoutMs Longest wait for the connection.
   * @returns The connection.
   * @throws {Error} `cannot connect to host:port: ...` when refused or not answered in time.
   */
  static async connect(
    ep: BrokerEndpoint,
    clientId: string,
    timeoutMs: number,
  ): Promise<BrokerConnection> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const tls = ep.tls;
    const connecting: Promise<Deno.TcpConn | Deno.TlsConn> = tls === undefined
      ? Deno.connect({ hostname: ep.host, port: ep.port })
      : Deno.connectTls({
        hostname: ep.host,
        port: ep.port,
        caCerts: tls.caCerts,
        ...(tls.cert !== undefined && tls.key !== undefined
          ? { cert: tls.cert, key: tls.key }
          : {}),
      }).then(async (c) => {
        try {
          await c.handshake();
          return c;
        } catch (e) {
          c.close();
          throw new Error(`TLS handshake failed: ${e instanceof Error ? e.message : e}`);
        }
      });
    try {
      const conn = await Promise.race([
        connecting,
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () =>
              reject(new Error(`connect to ${ep.host}:${ep.port}: no answer in ${timeoutMs} ms`)),
            timeoutMs,
          );
        }),
      ]);
      if ("setNoDelay" in conn) conn.setNoDelay(true);
      return new BrokerConnection(conn, clientId);
    } catch (e) {
      connecting.then((c) => c.close(), () => {});
      const msg = e instanceof Error ? e.message : String(e);
      throw new Error(`cannot connect to ${ep.host}:${ep.port}: ${msg}`);
    } finally {
      clearTimeout(timer);
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
