// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * The listening sockets of the broker's listeners: plain TCP here, TLS (SSL, SASL_SSL) through
 * `security/tls.ts`, imported only when a listener needs it (issue #17).
 *
 * @module
 */

import type { Logger } from "./logger.ts";
import type { SecurityProtocol } from "./config.ts";
import type { KafkaPrincipal } from "./security/principal.ts";
import type { ListenerTlsSettings } from "./security/tls.ts";

/** The byte stream a `Connection` serves: a TCP or TLS connection. */
export type ByteStream = Pick<Deno.Conn, "read" | "write" | "close" | "remoteAddr">;

/** One accepted connection, before its TLS handshake (if any). */
export interface Accepted {
  /** The stream to serve once {@linkcode Accepted.secure} resolved. */
  readonly conn: ByteStream;
  /**
   * Completes the TLS handshake (no-op for plaintext) and yields the principal it establishes
   * (a client certificate's), or `undefined` (anonymous).
   *
   * @throws {Error} If the handshake fails or the client certificate is refused; the message
   * says why, for one log line.
   */
  secure(): Promise<KafkaPrincipal | undefined>;
}

/** A listening socket of one listener. */
export interface TransportListener {
  /** The address bound. */
  readonly addr: Deno.NetAddr;
  /**
   * The next connection.
   *
   * @throws {Deno.errors.BadResource} Once closed.
   */
  accept(): Promise<Accepted>;
  /** Stop listening. */
  close(): void;
}

/** Options for {@linkcode listen}. */
export interface ListenOptions {
  /** Address to bind; `""` for every interface. */
  hostname: string;
  /** Port; 0 for a free one. */
  port: number;
  /** The listener's protocol: SSL and SASL_SSL need `tls`. */
  securityProtocol: SecurityProtocol;
  /** TLS settings (SSL, SASL_SSL). */
  tls?: ListenerTlsSettings;
  /** Longest TLS handshake (`sluice.request.read.timeout.ms`). */
  handshakeTimeoutMs: number;
  /** Where a `node:tls` listener reports handshakes that fail before a connection exists. */
  logger: Logger;
  /** The listener name, for log lines. */
  name: string;
  /**
   * Share the port with other sockets that set it (SO_REUSEPORT; the kernel spreads connections
   * over them), as the shards of `sluice.workers` do: plain TCP and both TLS stacks
   * (`Deno.listenTls`, `node:tls`). Needs `--unstable-net`.
   */
  reusePort?: boolean;
}

/**
 * Listen for one listener: plain TCP, {@linkcode Deno.listenTls} or `node:tls` (client
 * authentication), see the module doc. Needs `--allow-net`.
 *
 * @example
 * ```ts
 * import { listen } from "./transport.ts";
 * import { silentLogger } from "./logger.ts";
 * const l = await listen({
 *   hostname: "127.0.0.1",
 *   port: 0,
 *   securityProtocol: "PLAINTEXT",
 *   handshakeTimeoutMs: 30000,
 *   logger: silentLogger,
 *   name: "PLAINTEXT",
 * });
 * l.close();
 * ```
 *
 * @param o Where and how.
 * @returns The listening socket.
 * @throws {Error} If the address cannot be bound or the TLS key is refused.
 */
export async function listen(o: ListenOptions): Promise<TransportListener> {
  const hostname = o.hostname || "0.0.0.0";
  const tls = o.securityProtocol === "SSL" || o.securityProtocol === "SASL_SSL";
  // TLS listeners' code (`security/tls.ts`) loads only with one (issue #17)
  if (tls) return (await import("./security/tls.ts")).listenTls(o);
  return new TcpTransport(
    o.reusePort === true
      ? Deno.listen({ hostname, port: o.port, reusePort: true })
      : Deno.listen({ hostname, port: o.port }),
  );
}

class TcpTransport implements TransportListener {
  readonly #l: Deno.TcpListener;
  constructor(l: Deno.TcpListener) {
    this.#l = l;
  }
  get addr(): Deno.NetAddr {
    return this.#l.addr;
  }
  async accept(): Promise<Accepted> {
    const conn = await this.#l.accept();
    try {
      conn.setNoDelay(true);
    } catch {
      // Peer already gone; serving notices.
    }
    return { conn, secure: () => Promise.resolve(undefined) };
  }
  close(): void {
    this.#l.close();
  }
}
