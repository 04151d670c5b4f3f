// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * The admin HTTP listener (`sluice.http.listener`, issue #15): `/metrics` (Prometheus text 0.0.4
 * or OpenMetrics), `/healthz` and `/readyz` for orchestrators. Off unless configured, bound only
 * to the host and port given. Pages are routes added with {@linkcode AdminServer.route}, so a web
 * console can be served from the same listener.
 *
 * @module
 */

import type { HttpListener } from "../config.ts";
import type { Logger } from "../logger.ts";
import { BrokerMetrics } from "../metrics.ts";
import {
  negotiateFormat,
  OPENMETRICS_CONTENT_TYPE,
  TEXT_CONTENT_TYPE,
  writeExposition,
} from "./exposition.ts";
import {
  BrokerState,
  brokerStateName,
  type BrokerStateValue,
  collectMetrics,
  type MetricsSources,
} from "./collect.ts";

/** Answers one request to a route. */
export type RouteHandler = (request: Request, url: URL) => Response | Promise<Response>;

/** Answers a request no route serves (any method), or `null` for 404: the web console. */
export type FallbackHandler = (
  request: Request,
  url: URL,
  user?: string,
) => Promise<Response | null>;

/** What {@linkcode AdminServer.start} needs besides the address. */
export interface AdminServerOptions {
  /** Where to report the listener's start, stop and failures. */
  logger: Logger;
  /** The broker's lifecycle state (before {@linkcode AdminServer.attach}). */
  state: () => BrokerStateValue;
  /** Serve HTTPS with this certificate chain and key (PEM); absent: plain HTTP. */
  tls?: { cert: string; key: string };
  /**
   * The user a request authenticates as, or `null` to refuse it with 401 (`sluice.http.auth`);
   * asked for every path but {@linkcode OPEN_PATHS}. Absent: every request is served.
   */
  authenticate?: (request: Request) => Promise<string | null>;
}

/** Paths served without authentication: orchestrators' probes carry no credentials. */
export const OPEN_PATHS: ReadonlySet<string> = new Set(["/healthz", "/readyz"]);

/** Why `/readyz` says the broker is not ready, or `null` when it is. */
export type ReadinessCheck = () => string | null;

/**
 * The admin HTTP listener.
 *
 * @example Serve `/healthz` on a free port
 * ```ts
 * import { AdminServer } from "./admin_server.ts";
 * import { BrokerState } from "./collect.ts";
 * import { silentLogger } from "../logger.ts";
 *
 * const server = AdminServer.start({ host: "127.0.0.1", port: 0 }, {
 *   logger: silentLogger,
 *   state: () => BrokerState.RUNNING,
 * });
 * const res = await fetch(`http://127.0.0.1:${server.port}/healthz`);
 * console.log(res.status, await res.text()); // 200 "ok\n"
 * await server.close();
 * ```
 */
export class AdminServer {
  readonly #server: Deno.HttpServer<Deno.NetAddr>;
  readonly #routes = new Map<string, RouteHandler>();
  readonly #log: Logger;
  readonly #authenticate: ((request: Request) => Promise<string | null>) | undefined;
  readonly #scheme: "http" | "https";
  #sources: MetricsSources | undefined;
  #state: () => BrokerStateValue;
  #ready: ReadinessCheck = () => null;
  #fallback: FallbackHandler | undefined;
  #closing: Promise<void> | undefined;

  private constructor(listener: HttpListener, options: AdminServerOptions) {
    this.#log = options.logger;
    this.#state = options.state;
    this.#authenticate = options.authenticate;
    this.#scheme = options.tls === undefined ? "http" : "https";
    this.#routes.set("/metrics", (req) => this.#metrics(req));
    this.#routes.set("/healthz", () => text(200, "ok\n"));
    this.#routes.set("/readyz", () => this.#readyz());
    this.#server = Deno.serve({
      hostname: listener.host,
      port: listener.port,
      ...(options.tls ?? {}),
      onListen: () => {},
      onError: (e) => {
        this.#log.error(`Admin HTTP request failed: ${e instanceof Error ? e.message : e}`);
        return text(500, "internal error\n");
      },
    }, (req) => this.#handle(req));
  }

  /**
   * Start listening. Needs `--allow-net`.
   *
   * @param listener Where to bind.
   * @param options Logger and lifecycle state.
   * @returns The running server.
   * @throws {Error} If the address cannot be bound.
   */
  static start(listener: HttpListener, options: AdminServerOptions): AdminServer {
    let server: AdminServer;
    try {
      server = new AdminServer(listener, options);
    } catch (e) {
      const detail = e instanceof Error ? e.message : String(e);
      throw new Error(
        `Cannot listen for admin HTTP on ${listener.host}:${listener.port}: ${detail}`,
      );
    }
    options.logger.info(
      `Admin HTTP listener on ${server.#scheme}://${formatHost(server.host)}:${server.port} ` +
        `(/metrics, /healthz, /readyz${
          options.authenticate === undefined ? "" : "; HTTP Basic but on /healthz and /readyz"
        })`,
    );
    return server;
  }

  /** The port bound. */
  get port(): number {
    return this.#server.addr.port;
  }

  /** The address bound. */
  get host(): string {
    return this.#server.addr.hostname;
  }

  /**
   * Give `/metrics` the broker's parts and `/readyz` its readiness check, once they exist.
   *
   * @param sources What `/metrics` reads.
   * @param ready Why the broker is not ready, or `null` when it is.
   */
  attach(sources: MetricsSources, ready: ReadinessCheck): void {
    this.#sources = sources;
    this.#state = sources.state;
    this.#ready = ready;
  }

  /**
   * Serve a path (GET and HEAD), e.g. a console page; replaces what served it before.
   *
   * @param path The URL path, e.g. `/console`.
   * @param handler Answers the requests.
   */
  route(path: string, handler: RouteHandler): void {
    this.#routes.set(path, handler);
  }

  /**
   * Serve what no route serves, with any method: the web console's page and JSON API
   * (`console.ts`). It answers `null` for paths it does not know (404).
   *
   * @param handler Answers the requests.
   */
  fallback(handler: FallbackHandler): void {
    this.#fallback = handler;
  }

  /**
   * Stop listening; requests in progress finish first. Idempotent.
   *
   * @returns Resolves when the listener is closed.
   */
  close(): Promise<void> {
    this.#closing ??= this.#server.shutdown().catch(() => {});
    return this.#closing;
  }

  async #handle(req: Request): Promise<Response> {
    const url = new URL(req.url);
    let user: string | undefined;
    if (this.#authenticate !== undefined && !OPEN_PATHS.has(url.pathname)) {
      user = await this.#authenticate(req) ?? undefined;
    }
    if (this.#authenticate !== undefined && !OPEN_PATHS.has(url.pathname) && user === undefined) {
      return new Response("authentication required\n", {
        status: 401,
        headers: {
          "content-type": "text/plain; charset=utf-8",
          "www-authenticate": 'Basic realm="sluice", charset="UTF-8"',
        },
      });
    }
    const route = this.#routes.get(url.pathname);
    if (route === undefined) {
      return await this.#fallback?.(req, url, user) ?? text(404, `not found: ${url.pathname}\n`);
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      return new Response(`method not allowed: ${req.method}\n`, {
        status: 405,
        headers: { "content-type": "text/plain; charset=utf-8", allow: "GET, HEAD" },
      });
    }
    return await route(req, url);
  }

  #metrics(req: Request): Response {
    const format = negotiateFormat(req.headers.get("accept"));
    const sources = this.#sources ?? { metrics: EMPTY_METRICS, state: this.#state };
    const body = writeExposition(collectMetrics(sources), format);
    return new Response(body, {
      headers: {
        "content-type": format === "openmetrics" ? OPENMETRICS_CONTENT_TYPE : TEXT_CONTENT_TYPE,
      },
    });
  }

  #readyz(): Response {
    const state = this.#state();
    if (state !== BrokerState.RUNNING) return text(503, `not ready: ${brokerStateName(state)}\n`);
    const why = this.#ready();
    return why === null ? text(200, "ready\n") : text(503, `not ready: ${why}\n`);
  }
}

const EMPTY_METRICS = new BrokerMetrics();

function text(status: number, body: string): Response {
  return new Response(body, { status, headers: { "content-type": "text/plain; charset=utf-8" } });
}

function formatHost(h: string): string {
  return h.includes(":") ? `[${h}]` : h;
}
