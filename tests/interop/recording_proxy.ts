// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * A recording TCP proxy for the Kafka protocol: it forwards bytes both ways unchanged and keeps
 * every request frame a client sends, byte for byte, so a test can see exactly what a real client
 * writes (e.g. the bytes recent librdkafka puts after a request's last field).
 *
 * Put it in front of a broker whose `advertised.listeners` names the proxy's port, so clients
 * reconnect through it after bootstrap: {@linkcode startBrokerBehindProxy}.
 *
 * Requires `--allow-net` (127.0.0.1 only).
 *
 * @module
 */

import { decodeRequestHeader, FrameSplitter } from "../../protocol/framing.ts";
import { apiByKey } from "../../protocol/apis.ts";
import { Reader } from "../../protocol/primitives.ts";
import { startBroker, type TestBroker } from "../harness.ts";
import type { BrokerConfig } from "../../server/config.ts";

/** One request frame as a client sent it. */
export interface RecordedRequest {
  /** The proxy's number for the client connection (1, 2, …). */
  connection: number;
  /** The exact bytes, size prefix included. */
  frame: Uint8Array;
  /** API key. */
  apiKey: number;
  /** API version. */
  apiVersion: number;
  /** Correlation id. */
  correlationId: number;
}

/** What {@linkcode inspectRequest} reads from a request frame. */
export interface RequestShape {
  /** API key. */
  apiKey: number;
  /** API name (`"Metadata"`), or `"key N"` for an API our codecs do not know. */
  name: string;
  /** API version. */
  apiVersion: number;
  /** Correlation id. */
  correlationId: number;
  /** Client id from the request header. */
  clientId: string | null;
  /** The decoded request body (our codec's view of it). */
  body: unknown;
  /** Bytes after the body's last declared field. */
  trailingBytes: number;
}

/**
 * Reads a request frame with our codecs: header, body and how many bytes follow the last field.
 *
 * @example
 * ```ts
 * import { encodeRequestFrame } from "../../protocol/framing.ts";
 * import { ApiVersionsRequest } from "../../protocol/messages/api_versions.ts";
 * import { inspectRequest } from "./recording_proxy.ts";
 *
 * const frame = encodeRequestFrame(ApiVersionsRequest, 3, 7, "me", ApiVersionsRequest.create({}));
 * console.assert(inspectRequest(frame).trailingBytes === 0);
 * ```
 *
 * @param frame The frame, size prefix included.
 * @returns What the frame holds.
 * @throws {Error} When the API key is unknown or a field is cut off.
 */
export function inspectRequest(frame: Uint8Array): RequestShape {
  const payload = frame.subarray(4);
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  const apiKey = view.getInt16(0);
  const apiVersion = view.getInt16(2);
  const api = apiByKey(apiKey);
  if (api === undefined) throw new Error(`inspect request: unknown API key ${apiKey}`);
  const { header, bodyOffset } = decodeRequestHeader(payload);
  // Read with the codec directly, not the broker's decodeRequestBody, so what a test learns
  // about a frame does not depend on the code it tests.
  const r = new Reader(payload, bodyOffset);
  const body = api.request.read(r, apiVersion);
  return {
    apiKey,
    name: api.name,
    apiVersion,
    correlationId: header.correlationId,
    clientId: header.clientId,
    body,
    trailingBytes: r.remaining,
  };
}

/** Options for {@linkcode RecordingProxy.listen}. */
export interface ProxyOptions {
  /** The port to forward to on 127.0.0.1, read at each new connection. */
  target: () => number;
}

/** A listening proxy; {@linkcode RecordingProxy.requests} grows as clients send. */
export class RecordingProxy {
  /** Every request frame received so far, in arrival order per connection. */
  readonly requests: RecordedRequest[] = [];
  readonly #listener: Deno.TcpListener;
  readonly #target: () => number;
  readonly #conns = new Set<Deno.TcpConn>();
  #accepting: Promise<void>;
  #connections = 0;

  private constructor(listener: Deno.TcpListener, options: ProxyOptions) {
    this.#listener = listener;
    this.#target = options.target;
    this.#accepting = this.#accept();
  }

  /**
   * Listens on `127.0.0.1:0`.
   *
   * @example
   * ```ts ignore
   * import { RecordingProxy } from "./recording_proxy.ts";
   * const proxy = RecordingProxy.listen({ target: () => 9092 });
   * console.log(proxy.port);
   * await proxy.close();
   * ```
   *
   * @param options Where to forward.
   * @returns The proxy.
   */
  static listen(options: ProxyOptions): RecordingProxy {
    return new RecordingProxy(Deno.listen({ hostname: "127.0.0.1", port: 0 }), options);
  }

  /** The port clients connect to. */
  get port(): number {
    return this.#listener.addr.port;
  }

  async #accept(): Promise<void> {
    for (;;) {
      let client: Deno.TcpConn;
      try {
        client = await this.#listener.accept();
      } catch {
        return; // closed
      }
      const n = ++this.#connections;
      this.#serve(n, client).catch(() => {});
    }
  }

  async #serve(n: number, client: Deno.TcpConn): Promise<void> {
    this.#conns.add(client);
    let server: Deno.TcpConn;
    try {
      server = await Deno.connect({ hostname: "127.0.0.1", port: this.#target() });
    } catch {
      this.#drop(client);
      return;
    }
    this.#conns.add(server);
    let splitter: FrameSplitter | null = new FrameSplitter(1 << 30);
    const upstream = (async () => {
      const buf = new Uint8Array(64 * 1024);
      for (;;) {
        const got = await client.read(buf).catch(() => null);
        if (got === null) break;
        const chunk = buf.slice(0, got);
        try {
          for (const payload of splitter?.push(chunk.slice()) ?? []) this.#record(n, payload);
        } catch {
          splitter = null; // not Kafka framing (a bad-frame test): forward, stop recording
        }
        if (!(await writeAll(server, chunk))) break;
      }
      this.#drop(server);
    })();
    const downstream = (async () => {
      const buf = new Uint8Array(64 * 1024);
      for (;;) {
        const got = await server.read(buf).catch(() => null);
        if (got === null) break;
        if (!(await writeAll(client, buf.subarray(0, got)))) break;
      }
      this.#drop(client);
    })();
    await Promise.all([upstream, downstream]);
    this.#drop(client);
    this.#drop(server);
  }

  #record(connection: number, payload: Uint8Array): void {
    if (payload.length < 8) return;
    const frame = new Uint8Array(4 + payload.length);
    new DataView(frame.buffer).setInt32(0, payload.length);
    frame.set(payload, 4);
    const view = new DataView(frame.buffer);
    this.requests.push({
      connection,
      frame,
      apiKey: view.getInt16(4),
      apiVersion: view.getInt16(6),
      correlationId: view.getInt32(8),
    });
  }

  #drop(conn: Deno.TcpConn): void {
    if (!this.#conns.delete(conn)) return;
    try {
      conn.close();
    } catch {
      // already closed
    }
  }

  /** Stops listening and closes every proxied connection. */
  async close(): Promise<void> {
    try {
      this.#listener.close();
    } catch {
      // already closed
    }
    for (const c of [...this.#conns]) this.#drop(c);
    await this.#accepting;
  }
}

async function writeAll(conn: Deno.TcpConn, bytes: Uint8Array): Promise<boolean> {
  try {
    let off = 0;
    while (off < bytes.length) off += await conn.write(bytes.subarray(off));
    return true;
  } catch {
    return false;
  }
}

/** A test broker reached only through a {@linkcode RecordingProxy}. */
export interface ProxiedBroker {
  /** The broker (its `bootstrap` is the broker's own port; clients should use `bootstrap`). */
  broker: TestBroker;
  /** The proxy. */
  proxy: RecordingProxy;
  /** `"127.0.0.1:PROXYPORT"`: what clients take as bootstrap servers. */
  bootstrap: string;
  /** Closes the proxy, then the broker. */
  close(): Promise<void>;
}

/**
 * Starts a test broker that advertises a recording proxy's address, so every client connection
 * (bootstrap and per-broker) goes through the proxy.
 *
 * @example
 * ```ts ignore
 * import { startBrokerBehindProxy } from "./recording_proxy.ts";
 * const b = await startBrokerBehindProxy();
 * // run a client against b.bootstrap, then look at b.proxy.requests
 * await b.close();
 * ```
 *
 * @param overrides Broker settings, as for the harness's `startBroker`.
 * @returns The broker and its proxy.
 */
export async function startBrokerBehindProxy(
  overrides: Partial<BrokerConfig> = {},
): Promise<ProxiedBroker> {
  let broker: TestBroker | undefined;
  const proxy = RecordingProxy.listen({ target: () => broker?.port ?? 0 });
  try {
    broker = await startBroker({
      advertisedListeners: `PLAINTEXT://127.0.0.1:${proxy.port}`,
      ...overrides,
    });
  } catch (e) {
    await proxy.close();
    throw e;
  }
  return {
    broker,
    proxy,
    bootstrap: `127.0.0.1:${proxy.port}`,
    async close() {
      await proxy.close();
      await broker!.close();
    },
  };
}
