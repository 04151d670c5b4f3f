// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * Opening a connection to a Kafka broker: TCP, or TLS with its handshake done, Nagle off, within
 * a time limit. Our client's connections (`client/connection.ts`) and the brokers' connections to
 * each other (`server/broker_connection.ts`) both open this way.
 *
 * @module
 */

/** TLS settings of a connection ({@linkcode Deno.connectTls}'s, PEM). */
export interface DialTls {
  /** Certificates trusted besides the system's. */
  caCerts?: string[];
  /** The certificate chain presented when the broker asks (mutual TLS); needs `key`. */
  cert?: string;
  /** Its private key, unencrypted; needs `cert`. */
  key?: string;
  /** Skip checking the broker's host name against its certificate. Default false. */
  disableHostnameVerification?: boolean;
}

/** Options for {@linkcode dial}. */
export interface DialOptions {
  /** Host name or address. */
  host: string;
  /** Port. */
  port: number;
  /** Connect with TLS; absent: plain TCP. */
  tls?: DialTls;
  /** How long the connection (and TLS handshake) may take. */
  timeoutMs: number;
  /** The error to fail with once `timeoutMs` has passed. */
  timeoutError: () => Error;
}

/**
 * Opens a connection to a broker: `Deno.connect`, or `Deno.connectTls` followed by the TLS
 * handshake, with `setNoDelay(true)` on TCP. A connection made after the time limit has passed is
 * closed. Needs `--allow-net`.
 *
 * @example
 * ```ts
 * import { dial } from "./dial.ts";
 *
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const conn = await dial({
 *   host: "127.0.0.1",
 *   port: listener.addr.port,
 *   timeoutMs: 10_000,
 *   timeoutError: () => new Error("connect: no answer"),
 * });
 * conn.close();
 * listener.close();
 * ```
 *
 * @param options Where to, TLS, the time limit.
 * @returns The open connection.
 * @throws {Error} `options.timeoutError()` when the time limit passes; `TLS handshake failed:
 *   <detail>` when the handshake fails; otherwise what `Deno.connect`/`Deno.connectTls` threw
 *   (e.g. {@linkcode Deno.errors.ConnectionRefused}).
 */
export async function dial(options: DialOptions): Promise<Deno.TcpConn | Deno.TlsConn> {
  const { host, port, tls } = options;
  const connecting: Promise<Deno.TcpConn | Deno.TlsConn> = tls === undefined
    ? Deno.connect({ hostname: host, port })
    : Deno.connectTls({
      hostname: host,
      port,
      caCerts: tls.caCerts,
      unsafelyDisableHostnameVerification: tls.disableHostnameVerification,
      ...(tls.cert !== undefined && tls.key !== undefined ? { cert: tls.cert, key: tls.key } : {}),
    }).then(async (c) => {
      try {
        await c.handshake();
        return c;
      } catch (e) {
        c.close();
        throw new Error(`TLS handshake failed: ${e instanceof Error ? e.message : e}`);
      }
    });
  let timer: ReturnType<typeof setTimeout> | undefined;
  let timedOut = false;
  try {
    const conn = await Promise.race([
      connecting,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          timedOut = true;
          reject(options.timeoutError());
        }, options.timeoutMs);
        Deno.unrefTimer(timer);
      }),
    ]);
    if ("setNoDelay" in conn) conn.setNoDelay(true);
    return conn;
  } catch (e) {
    if (timedOut) connecting.then((c) => c.close(), () => {});
    throw e;
  } finally {
    clearTimeout(timer);
  }
}
