/**
 * One TCP connection to a Kafka-compatible broker: request framing, correlation ids, pipelined
 * requests (responses are matched in order), ApiVersions negotiation and request timeouts.
 *
 * @module
 */

import { ErrorCode, KafkaError, ProtocolError } from "../protocol/errors.ts";
import { type MessageCodec, Writer } from "../protocol/primitives.ts";
import {
  decodeBody,
  decodeResponseHeader,
  DEFAULT_MAX_FRAME_SIZE,
  writeRequestFrame,
} from "../protocol/framing.ts";
import { ApiVersionsRequest, ApiVersionsResponse } from "../protocol/messages/api_versions.ts";
import { dial } from "../protocol/dial.ts";
import { saslAuthenticate, type SaslOptions } from "./sasl.ts";
import type { ClientTlsOptions } from "./tls.ts";

/** Size of a socket read buffer (a larger frame gets a buffer of its own size). */
const READ_BUFFER_BYTES = 256 * 1024;

/** A request codec paired with its response codec. */
export interface Api<Req, Res> {
  /** Request codec (carries the API key and versions this client can encode). */
  request: MessageCodec<Req>;
  /** Response codec. */
  response: MessageCodec<Res>;
}

/** Options for {@linkcode Connection.connect}. */
export interface ConnectionOptions {
  /** Broker host. */
  host: string;
  /** Broker port. */
  port: number;
  /** `client.id` sent in every request header. Default `sluice`. */
  clientId?: string;
  /** How long to wait for a response before failing with `REQUEST_TIMED_OUT`. Default 30000. */
  requestTimeoutMs?: number;
  /** How long to wait for the TCP connection (and TLS handshake). Default 10000. */
  connectTimeoutMs?: number;
  /** SASL authentication after ApiVersions (`SASL_PLAINTEXT`); default none. */
  sasl?: SaslOptions;
  /** Connect with TLS (`security.protocol=SSL`); absent: plaintext. */
  tls?: ClientTlsOptions;
}

/** Options for one request. */
export interface SendOptions {
  /** Version to use; default: the highest supported by both sides. */
  version?: number;
  /** Timeout for this request (e.g. longer for Fetch long-polls). */
  timeoutMs?: number;
  /** Set to false when the broker sends no response (Produce with acks=0). */
  expectResponse?: boolean;
}

interface Pending {
  correlationId: number;
  apiKey: number;
  version: number;
  codec: MessageCodec<unknown>;
  name: string;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
  timer: ReturnType<typeof setTimeout>;
}

/** Supported version range of one API. */
export interface VersionRange {
  /** Lowest version. */
  min: number;
  /** Highest version. */
  max: number;
}

const API_VERSIONS_KEY = 18;

/**
 * Whether an error is a connection attempt the broker's host refused (ECONNREFUSED: nothing
 * listens on the port, e.g. the broker's process is gone), as opposed to a timeout or an
 * unreachable host. A client that sees its partition leader refuse knows its metadata is stale.
 *
 * @example
 * ```ts
 * import { Connection, isConnectionRefused } from "./connection.ts";
 *
 * const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * l.close();
 * const e = await Connection.connect({ host: "127.0.0.1", port: l.addr.port }).catch((e) => e);
 * console.assert(isConnectionRefused(e));
 * ```
 *
 * @param e An error thrown by {@linkcode Connection.connect} (or anything else).
 * @returns True for a refused connection.
 */
export function isConnectionRefused(e: unknown): boolean {
  return e instanceof KafkaError && e.cause instanceof Deno.errors.ConnectionRefused;
}

/**
 * A connection to one broker. Requests may be issued concurrently; they are written in call order
 * and resolved as their responses arrive.
 *
 * @example
 * ```ts ignore
 * import { Connection } from "./connection.ts";
 * import { MetadataRequest, MetadataResponse } from "../protocol/messages/metadata.ts";
 * const conn = await Connection.connect({ host: "localhost", port: 9092 });
 * const md = await conn.send({ request: MetadataRequest, response: MetadataResponse },
 *   MetadataRequest.create({ topics: null }));
 * conn.close();
 * ```
 */
export class Connection {
  /** Broker host. */
  readonly host: string;
  /** Broker port. */
  readonly port: number;
  /** Versions the broker supports, by API key (filled by ApiVersions). */
  readonly brokerVersions: Map<number, VersionRange> = new Map();

  #conn: Deno.TcpConn | Deno.TlsConn;
  #clientId: string;
  #requestTimeoutMs: number;
  #nextCorrelationId = 1;
  #pending: Pending[] = [];
  #writeChain: Promise<void> = Promise.resolve();
  #closed = false;
  #closeError: KafkaError | undefined;
  #readLoop: Promise<void>;
  #sessionExpiresAt = Infinity;

  private constructor(conn: Deno.TcpConn | Deno.TlsConn, options: ConnectionOptions) {
    this.host = options.host;
    this.port = options.port;
    this.#conn = conn;
    this.#clientId = options.clientId ?? "sluice";
    this.#requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
    this.#readLoop = this.#read();
  }

  /**
   * Opens a connection and negotiates API versions.
   *
   * @param options Host, port, client id, timeouts.
   * @returns The connection, with {@linkcode Connection.brokerVersions} filled.
   * @throws {KafkaError} `NETWORK_EXCEPTION` if the broker cannot be reached, or
   *   `REQUEST_TIMED_OUT`.
   */
  static async connect(options: ConnectionOptions): Promise<Connection> {
    const address = `${options.host}:${options.port}`;
    const connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
    let tcp: Deno.TcpConn | Deno.TlsConn;
    try {
      tcp = await dial({
        host: options.host,
        port: options.port,
        tls: options.tls,
        timeoutMs: connectTimeoutMs,
        timeoutError: () =>
          new KafkaError(
            ErrorCode.REQUEST_TIMED_OUT,
            `connect to ${address}: no answer within ${connectTimeoutMs} ms`,
          ),
      });
    } catch (e) {
      if (e instanceof KafkaError) throw e;
      const error = new KafkaError(
        ErrorCode.NETWORK_EXCEPTION,
        `connect to ${address}: ${(e as Error).message}`,
      );
      error.cause = e;
      throw error;
    }
    const conn = new Connection(tcp, options);
    try {
      await conn.#negotiate();
      if (options.sasl !== undefined) {
        const session = await saslAuthenticate(
          { address, send: (api, body) => conn.send(api, body) },
          options.sasl,
        );
        // KIP-368: the broker closes an expired session; use a new connection before then.
        if (session.sessionLifetimeMs > 0) {
          conn.#sessionExpiresAt = Date.now() + session.sessionLifetimeMs * 0.85;
        }
      }
    } catch (e) {
      conn.close();
      throw e;
    }
    return conn;
  }

  async #negotiate(): Promise<void> {
    const api = { request: ApiVersionsRequest, response: ApiVersionsResponse };
    let version = Math.min(3, ApiVersionsRequest.maxVersion);
    for (let attempt = 0; attempt < 2; attempt++) {
      const res = await this.send(
        api,
        ApiVersionsRequest.create({ clientSoftwareName: "sluice", clientSoftwareVersion: "0.1.0" }),
        { version },
      );
      if (res.errorCode === ErrorCode.UNSUPPORTED_VERSION && attempt === 0) {
        const own = res.apiKeys.find((k) => k.apiKey === API_VERSIONS_KEY);
        version = Math.min(own?.maxVersion ?? 0, version - 1);
        if (version < 0) break;
        continue;
      }
      if (res.errorCode !== 0) {
        throw new KafkaError(res.errorCode, `ApiVersions to ${this.host}:${this.port}`);
      }
      for (const k of res.apiKeys) {
        this.brokerVersions.set(k.apiKey, { min: k.minVersion, max: k.maxVersion });
      }
      return;
    }
    throw new KafkaError(
      ErrorCode.UNSUPPORTED_VERSION,
      `ApiVersions to ${this.host}:${this.port}: no common version`,
    );
  }

  /**
   * The highest version of an API both this client and the broker support.
   *
   * @param codec The request codec.
   * @returns The version to use.
   * @throws {KafkaError} `UNSUPPORTED_VERSION` if there is no common version.
   */
  versionFor(codec: MessageCodec<unknown>): number {
    if (codec.apiKey === API_VERSIONS_KEY && this.brokerVersions.size === 0) return 0;
    const broker = this.brokerVersions.get(codec.apiKey);
    const max = Math.min(codec.maxVersion, broker?.max ?? -1);
    const min = Math.max(codec.minVersion, broker?.min ?? Infinity);
    if (broker === undefined || max < min) {
      throw new KafkaError(
        ErrorCode.UNSUPPORTED_VERSION,
        `${codec.name} to ${this.host}:${this.port}: no common version (client ` +
          `${codec.minVersion}-${codec.maxVersion}, broker ${
            broker ? `${broker.min}-${broker.max}` : "none"
          })`,
      );
    }
    return max;
  }

  /** Whether the connection is closed. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Whether the SASL session nears the lifetime the broker gave it (`connections.max.reauth.ms`,
   * KIP-368): the client then opens a new, freshly authenticated connection instead.
   */
  get sessionExpired(): boolean {
    return Date.now() >= this.#sessionExpiresAt;
  }

  /** Number of requests awaiting a response. */
  get inFlight(): number {
    return this.#pending.length;
  }

  /**
   * Sends a request and resolves with its response. Several calls may be in flight at once.
   *
   * @param api Request and response codecs.
   * @param body The request body.
   * @param options Version, timeout, whether a response is expected.
   * @returns The decoded response (`undefined` when `expectResponse` is false).
   * @throws {KafkaError} `NETWORK_EXCEPTION` if the connection is lost, `REQUEST_TIMED_OUT` on
   *   timeout, `UNSUPPORTED_VERSION` when no version is common.
   */
  send<Req, Res>(api: Api<Req, Res>, body: Req, options: SendOptions = {}): Promise<Res> {
    if (this.#closed) {
      return Promise.reject(
        this.#closeError ??
          new KafkaError(
            ErrorCode.NETWORK_EXCEPTION,
            `${api.request.name} to ${this.host}:${this.port}: connection is closed`,
          ),
      );
    }
    let version: number;
    let frame: Uint8Array[];
    const correlationId = this.#nextCorrelationId;
    this.#nextCorrelationId = (this.#nextCorrelationId + 1) & 0x7fffffff;
    try {
      version = options.version ?? this.versionFor(api.request as MessageCodec<unknown>);
      // Chunks: large record payloads are written from their own buffers, not copied.
      const w = new Writer(256);
      writeRequestFrame(w, api.request, version, correlationId, this.#clientId, body);
      frame = w.chunks();
    } catch (e) {
      return Promise.reject(e);
    }
    const expectResponse = options.expectResponse ?? true;
    const name = `${api.request.name} v${version}`;
    const result = expectResponse
      ? new Promise<Res>((resolve, reject) => {
        const timeoutMs = options.timeoutMs ?? this.#requestTimeoutMs;
        const timer = setTimeout(() => {
          const error = new KafkaError(
            ErrorCode.REQUEST_TIMED_OUT,
            `${name} to ${this.host}:${this.port}: no response within ${timeoutMs} ms`,
          );
          // Responses come in order, so a timed-out request poisons the connection.
          this.#fail(error, correlationId);
        }, timeoutMs);
        this.#pending.push({
          correlationId,
          apiKey: api.request.apiKey,
          version,
          codec: api.response as MessageCodec<unknown>,
          name,
          resolve: resolve as (v: unknown) => void,
          reject,
          timer,
        });
      })
      : undefined;
    const written = this.#writeChain.then(async () => {
      if (this.#closed) throw this.#closeError;
      for (const chunk of frame) {
        let off = 0;
        while (off < chunk.length) off += await this.#conn.write(chunk.subarray(off));
      }
    });
    this.#writeChain = written.catch(() => {});
    written.catch((e) => {
      this.#fail(
        new KafkaError(
          ErrorCode.NETWORK_EXCEPTION,
          `${name} to ${this.host}:${this.port}: write failed: ${(e as Error)?.message ?? e}`,
        ),
      );
    });
    if (result) return result;
    return written.then(() => undefined as Res, () => {
      throw this.#closeError;
    });
  }

  async #read(): Promise<void> {
    // Frames are handed out as views of the read buffer, which is never written behind `end`.
    // A frame larger than the room left gets a buffer of its own size, so a big Fetch response is
    // read straight into place (one copy of at most the bytes already received).
    let buf = new Uint8Array(READ_BUFFER_BYTES);
    let start = 0;
    let end = 0;
    try {
      for (;;) {
        let need = 4;
        while (end - start >= 4) {
          const size = (buf[start] << 24) | (buf[start + 1] << 16) | (buf[start + 2] << 8) |
            buf[start + 3];
          if (size < 0 || size > DEFAULT_MAX_FRAME_SIZE) {
            throw new ProtocolError(
              `invalid frame size ${size}: must be 0-${DEFAULT_MAX_FRAME_SIZE}`,
            );
          }
          if (end - start < 4 + size) {
            need = 4 + size;
            break;
          }
          this.#dispatch(buf.subarray(start + 4, start + 4 + size));
          start += 4 + size;
        }
        if (start === end && start === buf.length) {
          buf = new Uint8Array(READ_BUFFER_BYTES);
          start = end = 0;
        } else if (buf.length - start < need) {
          const next = new Uint8Array(Math.max(need, READ_BUFFER_BYTES));
          next.set(buf.subarray(start, end));
          buf = next;
          end -= start;
          start = 0;
        }
        const n = await this.#conn.read(buf.subarray(end));
        if (n === null) {
          this.#fail(
            new KafkaError(
              ErrorCode.NETWORK_EXCEPTION,
              `connection to ${this.host}:${this.port}: closed by the broker`,
            ),
          );
          return;
        }
        end += n;
      }
    } catch (e) {
      if (this.#closed) return;
      const error = e instanceof KafkaError ? e : new KafkaError(
        ErrorCode.NETWORK_EXCEPTION,
        `connection to ${this.host}:${this.port}: ${(e as Error).message}`,
      );
      this.#fail(error);
    }
  }

  #dispatch(frame: Uint8Array): void {
    const p = this.#pending.shift();
    if (p === undefined) {
      throw new ProtocolError(
        `unexpected response (${frame.length} bytes) with no request pending`,
      );
    }
    clearTimeout(p.timer);
    if (frame.length < 4) {
      throw new ProtocolError(`response frame of ${frame.length} bytes has no correlation id`);
    }
    const correlationId = new DataView(frame.buffer, frame.byteOffset, 4).getInt32(0);
    if (correlationId !== p.correlationId) {
      const error = new KafkaError(
        ErrorCode.NETWORK_EXCEPTION,
        `${p.name} to ${this.host}:${this.port}: response correlation id ${correlationId} does ` +
          `not match request ${p.correlationId}`,
      );
      p.reject(error);
      throw error;
    }
    try {
      const { bodyOffset } = decodeResponseHeader(frame, p.apiKey, p.version);
      let version = p.version;
      // A broker that does not support our ApiVersions version answers in v0.
      if (p.apiKey === API_VERSIONS_KEY && frame.length >= 6) {
        const errorCode = new DataView(frame.buffer, frame.byteOffset + 4, 2).getInt16(0);
        if (errorCode === ErrorCode.UNSUPPORTED_VERSION) version = 0;
      }
      p.resolve(decodeBody(p.codec, frame, bodyOffset, version));
    } catch (e) {
      p.reject(
        new KafkaError(
          ErrorCode.CORRUPT_MESSAGE,
          `${p.name} from ${this.host}:${this.port}: cannot decode response: ${
            (e as Error).message
          }`,
        ),
      );
    }
  }

  #fail(error: KafkaError, timedOut?: number): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#closeError = error;
    try {
      this.#conn.close();
    } catch { /* already closed */ }
    const pending = this.#pending;
    this.#pending = [];
    const cut = error.message.lastIndexOf(`: ${error.errorName} (`);
    const reason = cut > 0 ? error.message.slice(0, cut) : error.message;
    for (const p of pending) {
      clearTimeout(p.timer);
      if (p.correlationId === timedOut) {
        p.reject(error);
        continue;
      }
      p.reject(
        new KafkaError(
          error.code === ErrorCode.REQUEST_TIMED_OUT ? ErrorCode.NETWORK_EXCEPTION : error.code,
          `${p.name} to ${this.host}:${this.port}: connection lost (${reason})`,
        ),
      );
    }
  }

  /** Closes the connection; requests in flight fail with `NETWORK_EXCEPTION`. */
  close(): void {
    this.#fail(
      new KafkaError(
        ErrorCode.NETWORK_EXCEPTION,
        `connection to ${this.host}:${this.port}: closed by the client`,
      ),
    );
  }

  /** Resolves when the read loop has ended (after {@linkcode Connection.close}). */
  get done(): Promise<void> {
    return this.#readLoop;
  }
}
