// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * One broker-to-broker connection (cluster mode): plain TCP to another Sluice broker, one request
 * at a time with the protocol codecs (`protocol/messages`), each bounded by a timeout after which
 * the connection is closed. The replica fetchers fetch from their leaders with it, and the
 * transaction coordinator sends WriteTxnMarkers to the partitions' leaders with it. Versions are
 * fixed by the caller: every broker of a cluster runs Sluice (no ApiVersions round trip, as
 * Kafka's inter-broker protocol version pins them).
 *
 * @module
 */

import {
  decodeBody,
  decodeResponseHeader,
  encodeRequestFrame,
  FrameSplitter,
} from "../protocol/framing.ts";
import type { MessageCodec } from "../protocol/primitives.ts";

/** Where a broker listens. */
export interface BrokerEndpoint {
  /** Host name or address. */
  host: string;
  /** Port. */
  port: number;
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
  readonly #conn: Deno.TcpConn;
  readonly #clientId: string;
  readonly #splitter = new FrameSplitter(1 << 30);
  readonly #buf = new Uint8Array(256 * 1024);
  #nextCorrelationId = 1;
  #closed = false;
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(conn: Deno.TcpConn, clientId: string) {
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
    const connecting = Deno.connect({ hostname: ep.host, port: ep.port });
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
      conn.setNoDelay(true);
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

  async #readFrame(): Promise<Uint8Array> {
    for (;;) {
      const frames = this.#splitter.push(new Uint8Array(0));
      if (frames.length > 0) return frames[0];
      const n = await this.#conn.read(this.#buf);
      if (n === null) throw new Error("the broker closed the connection");
      const more = this.#splitter.push(this.#buf.slice(0, n));
      if (more.length > 0) {
        if (more.length > 1) throw new Error(`${more.length} answers to one request`);
        return more[0];
      }
    }
  }
}
