// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * The embedded broker: opens the storage engine on the first data directory, listens on the
 * configured PLAINTEXT listener, and serves the Kafka protocol until {@linkcode Broker.close}.
 *
 * @module
 */

import { LogManager, mkdirDurable } from "../engine/mod.ts";
import { ErrorCode, errorName, ProtocolError } from "../protocol/errors.ts";
import { decodeBody, decodeRequestHeader, encodeResponseFrame } from "../protocol/framing.ts";
import { type ApiHandler, type BrokerContext, errorCodeOf, type RequestContext } from "./api.ts";
import { APIS } from "./apis/mod.ts";
import { apiVersionsFallback } from "./apis/api_versions.ts";
import { AppendWaiters } from "./append_waiters.ts";
import {
  type BrokerConfig,
  DEFAULT_BROKER_CONFIG,
  type Listener,
  parseListener,
} from "./config.ts";
import { CloseConnection, Connection, type ConnectionInfo } from "./connection.ts";
import { FetchSessionCache } from "./fetch_session.ts";
import { type GroupCoordinator, openGroupCoordinator } from "./group/mod.ts";
import { createLogger, type Logger } from "./logger.ts";
import { loadOrCreateMetaProperties } from "./meta_properties.ts";
import { MemoryPool } from "./memory_pool.ts";
import { ProducerIdManager } from "./producer_ids.ts";
import { openTransactionCoordinator, type TransactionCoordinator } from "./txn/mod.ts";

export type { BrokerConfig } from "./config.ts";

const API_VERSIONS_KEY = 18;

/**
 * A running Sluice broker.
 *
 * @example Start on a free port, then stop
 * ```ts
 * import { Broker } from "./broker.ts";
 *
 * const dir = await Deno.makeTempDir();
 * const broker = await Broker.start({
 *   listeners: "PLAINTEXT://127.0.0.1:0",
 *   logDirs: [dir],
 *   logLevel: "silent",
 * });
 * console.log(`listening on ${broker.host}:${broker.port}`);
 * await broker.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class Broker {
  /** The configuration the broker runs with (cluster id resolved). */
  readonly config: BrokerConfig;
  readonly #listener: Deno.Listener<Deno.TcpConn, Deno.NetAddr>;
  readonly #ctx: BrokerContext;
  readonly #log: Logger;
  readonly #abort: AbortController;
  readonly #connections = new Map<number, { conn: Connection; done: Promise<void> }>();
  readonly #unsubscribe: () => void;
  #nextConnectionId = 1;
  // Request memory bound (issue #7): every connection reserves frames from this pool.
  readonly #memoryPool: MemoryPool;
  #acceptLoop: Promise<void> = Promise.resolve();
  #closing: Promise<void> | null = null;

  private constructor(
    config: BrokerConfig,
    listener: Deno.Listener<Deno.TcpConn, Deno.NetAddr>,
    ctx: BrokerContext,
    abort: AbortController,
  ) {
    this.config = config;
    this.#listener = listener;
    this.#ctx = ctx;
    this.#log = ctx.logger;
    this.#abort = abort;
    this.#memoryPool = new MemoryPool(config.queuedMaxRequestBytes);
    this.#unsubscribe = ctx.logs.onAppend((topic, partition) =>
      ctx.appendWaiters.notify(topic, partition)
    );
  }

  /**
   * Open the data directory and start listening.
   * Needs `--allow-net --allow-read --allow-write` (and `--allow-sys` to advertise the host
   * name when listening on all interfaces).
   *
   * @param config Settings; anything missing takes {@linkcode DEFAULT_BROKER_CONFIG}'s value.
   * @returns The running broker.
   * @throws {RangeError} If the listeners are malformed.
   * @throws {Error} If the data directory cannot be used or the port cannot be bound.
   */
  static async start(config: Partial<BrokerConfig> = {}): Promise<Broker> {
    const full: BrokerConfig = {
      ...DEFAULT_BROKER_CONFIG,
      ...config,
      logDirs: [...(config.logDirs ?? DEFAULT_BROKER_CONFIG.logDirs)],
      topicDefaults: { ...(config.topicDefaults ?? {}) },
    };
    const log = full.logger ?? createLogger({ level: full.logLevel ?? "info" });
    const listen = parseListener(full.listeners);
    // Issue #7: refuse a bad queued.max.request.bytes before opening anything.
    new MemoryPool(full.queuedMaxRequestBytes);
    const dir = full.logDirs[0];
    if (dir === undefined) throw new RangeError("Cannot start broker: logDirs is empty");
    if (full.logDirs.length > 1) {
      log.warn(`Only the first of log.dirs is used (${dir}); ignoring ${full.logDirs.slice(1)}`);
    }
    await mkdirDurable(dir); // its entry in the parent must survive a power loss
    const meta = await loadOrCreateMetaProperties(dir, {
      nodeId: full.nodeId,
      clusterId: full.clusterId,
    });
    full.clusterId = meta.clusterId;
    const logs = await LogManager.open(dir, {
      defaults: full.topicDefaults,
      retentionCheckIntervalMs: full.logRetentionCheckIntervalMs,
      cleanerBackoffMs: full.logCleanerBackoffMs,
      logger: (m: string) => log.info(m),
    });
    let producerIds: ProducerIdManager;
    let groups: GroupCoordinator | undefined;
    let txns: TransactionCoordinator;
    try {
      producerIds = await ProducerIdManager.open(dir);
      groups = await openGroupCoordinator(logs, {
        offsetsTopicNumPartitions: full.offsetsTopicNumPartitions,
        logger: log,
        config: {
          initialRebalanceDelayMs: full.groupInitialRebalanceDelayMs,
          minSessionTimeoutMs: full.groupMinSessionTimeoutMs,
          maxSessionTimeoutMs: full.groupMaxSessionTimeoutMs,
          offsetsRetentionMs: full.offsetsRetentionMinutes * 60_000,
          offsetsRetentionCheckIntervalMs: full.offsetsRetentionCheckIntervalMs,
          maxGroupSize: full.groupMaxSize,
        },
      });
      txns = await openTransactionCoordinator(logs, {
        nextProducerId: () => producerIds.next(),
        numPartitions: full.transactionStateLogNumPartitions,
        groups,
        logger: log,
        config: {
          maxTimeoutMs: full.transactionMaxTimeoutMs,
          abortTimedOutIntervalMs: full.transactionAbortTimedOutIntervalMs,
        },
      });
    } catch (e) {
      groups?.close();
      await logs.close();
      throw e;
    }
    let listener: Deno.Listener<Deno.TcpConn, Deno.NetAddr>;
    try {
      listener = Deno.listen({ hostname: listen.host || "0.0.0.0", port: listen.port });
    } catch (e) {
      txns.close();
      groups.close();
      await logs.close();
      const detail = e instanceof Error ? e.message : String(e);
      throw new Error(`Cannot listen on ${listen.host || "0.0.0.0"}:${listen.port}: ${detail}`);
    }
    const bound = listener.addr;
    const advertised = advertisedAddress(full, listen, bound.port);
    const abort = new AbortController();
    const apis = new Map<number, ApiHandler>(APIS.map((a) => [a.key, a]));
    const ctx: BrokerContext = {
      config: full,
      nodeId: full.nodeId,
      clusterId: meta.clusterId,
      advertised,
      logs,
      logger: log,
      fetchSessions: new FetchSessionCache(full.maxIncrementalFetchSessionCacheSlots),
      producerIds,
      appendWaiters: new AppendWaiters(),
      groups,
      txns,
      apis,
      closing: abort.signal,
    };
    const broker = new Broker(full, listener, ctx, abort);
    broker.#acceptLoop = broker.#accept();
    log.info(
      `Sluice broker ${full.nodeId} listening on ${bound.hostname}:${bound.port} ` +
        `(advertised as ${advertised.host}:${advertised.port}, data in ${dir}, cluster ${meta.clusterId})`,
    );
    return broker;
  }

  /** The port actually bound (useful when the config asked for port 0). */
  get port(): number {
    return this.#listener.addr.port;
  }

  /** The address actually bound. */
  get host(): string {
    return this.#listener.addr.hostname;
  }

  /**
   * The broker-wide request memory pool (`queued.max.request.bytes`); `reserved` is what the
   * connections hold now. For tests and metrics.
   */
  get memoryPool(): MemoryPool {
    return this.#memoryPool;
  }

  /**
   * Request bytes each open connection holds (read ahead, being handled or answered), by
   * connection id. For tests and metrics.
   *
   * @returns Connection id → queued bytes.
   */
  connectionQueuedBytes(): Map<number, number> {
    const out = new Map<number, number>();
    for (const [id, c] of this.#connections) out.set(id, c.conn.queuedBytes);
    return out;
  }

  /** The host and port given to clients in Metadata responses. */
  get advertised(): { host: string; port: number } {
    return { ...this.#ctx.advertised };
  }

  /**
   * Stop accepting, close every connection (requests in progress finish first), then flush and
   * close the logs. Idempotent: later calls return the same promise.
   *
   * @returns Resolves when everything is closed.
   */
  close(): Promise<void> {
    if (this.#closing !== null) return this.#closing;
    this.#closing = (async () => {
      this.#log.info(`Sluice broker ${this.config.nodeId} shutting down`);
      this.#abort.abort();
      try {
        this.#listener.close();
      } catch {
        // Already closed.
      }
      await this.#acceptLoop;
      const pending = [...this.#connections.values()];
      for (const c of pending) c.conn.close();
      await Promise.allSettled(pending.map((c) => c.done));
      this.#unsubscribe();
      this.#ctx.fetchSessions.clear();
      this.#ctx.txns?.close();
      await this.#ctx.txns?.drain();
      this.#ctx.groups.close();
      await this.#ctx.logs.close();
      this.#log.info(`Sluice broker ${this.config.nodeId} stopped; logs flushed`);
    })();
    return this.#closing;
  }

  async #accept(): Promise<void> {
    for (;;) {
      let tcp: Deno.TcpConn;
      try {
        tcp = await this.#listener.accept();
      } catch (e) {
        if (this.#abort.signal.aborted) return;
        if (e instanceof Deno.errors.BadResource) return;
        this.#log.error(`Accepting a connection failed: ${e instanceof Error ? e.message : e}`);
        continue;
      }
      try {
        tcp.setNoDelay(true);
      } catch {
        // Peer already gone; serve() will notice.
      }
      const id = this.#nextConnectionId++;
      const conn = new Connection(
        tcp,
        id,
        this.config.socketRequestMaxBytes,
        (frame, info) => this.#dispatch(frame, info),
        this.#log,
        // Request memory bounds (issue #7).
        {
          pool: this.#memoryPool,
          maxQueuedBytes: this.config.connectionMaxQueuedBytes,
          idleMs: this.config.connectionsMaxIdleMs,
        },
      );
      this.#log.debug(`Accepted connection ${id} from ${conn.info.remote}`);
      const done = conn.serve().finally(() => {
        this.#connections.delete(id);
        this.#log.debug(`Connection ${id} from ${conn.info.remote} closed`);
      });
      this.#connections.set(id, { conn, done });
    }
  }

  async #dispatch(frame: Uint8Array, info: ConnectionInfo): Promise<Uint8Array[] | null> {
    if (frame.length < 8) {
      throw new CloseConnection(
        `malformed request: ${frame.length} bytes is too short for a request header`,
      );
    }
    const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
    const apiKey = view.getInt16(0);
    const version = view.getInt16(2);
    const correlationId = view.getInt32(4);
    const api = this.#ctx.apis.get(apiKey);
    const what = `correlation id ${correlationId}`;
    if (api === undefined) {
      throw new CloseConnection(`unknown API key ${apiKey} (version ${version}, ${what})`);
    }
    if (apiKey === API_VERSIONS_KEY && (version < 0 || version > api.maxVersion)) {
      // KIP-511: answer in v0 so any client can read our ranges and pick a version.
      this.#log.warn(
        `ApiVersions v${version} from connection ${info.id} is not supported; answering v0 with ` +
          `UNSUPPORTED_VERSION (${what})`,
      );
      return encodeResponseFrame(
        api.response,
        0,
        correlationId,
        apiVersionsFallback(this.#ctx.apis),
      );
    }
    if (version < api.request.minVersion || version > api.request.maxVersion) {
      throw new CloseConnection(
        `${api.name} v${version} cannot be decoded (we serve v${api.minVersion}-v${api.maxVersion}` +
          `, ${what})`,
      );
    }
    let header;
    let request: unknown;
    try {
      const decoded = decodeRequestHeader(frame);
      header = decoded.header;
      request = decodeBody(api.request, frame, decoded.bodyOffset, version);
    } catch (e) {
      if (!(e instanceof ProtocolError)) throw e;
      throw new CloseConnection(
        `malformed ${api.name} v${version} request (${what}): ${e.message}`,
      );
    }
    const ctx: RequestContext = {
      broker: this.#ctx,
      version,
      correlationId,
      clientId: header.clientId,
      connection: info,
    };
    let response: unknown;
    if (version > api.maxVersion) {
      this.#log.warn(
        `${api.name} v${version} from ${header.clientId ?? "?"} (connection ${info.id}) refused: ` +
          `UNSUPPORTED_VERSION, we serve v${api.minVersion}-v${api.maxVersion}`,
      );
      response = api.errorResponse(
        request,
        ErrorCode.UNSUPPORTED_VERSION,
        `${api.name} v${version} is not supported`,
      );
    } else {
      try {
        response = await api.handle(ctx, request);
      } catch (e) {
        if (e instanceof CloseConnection) throw e;
        const code = errorCodeOf(e);
        const message = e instanceof Error ? e.message : String(e);
        const line = `${api.name} v${version} (${what}) failed with ${errorName(code)}: ${message}`;
        if (code === ErrorCode.UNKNOWN_SERVER_ERROR) this.#log.error(line);
        else this.#log.warn(line);
        response = api.errorResponse(request, code, message);
      }
    }
    if (response === null) return null;
    try {
      return encodeResponseFrame(api.response, version, correlationId, response);
    } catch (e) {
      // A handler bug: report it to the client as UNKNOWN_SERVER_ERROR if that encodes.
      const detail = e instanceof Error ? e.message : String(e);
      this.#log.error(`Cannot encode ${api.name} v${version} response (${what}): ${detail}`);
      try {
        const fallback = api.errorResponse(request, ErrorCode.UNKNOWN_SERVER_ERROR, detail);
        return encodeResponseFrame(api.response, version, correlationId, fallback);
      } catch {
        throw new CloseConnection(`cannot encode ${api.name} v${version} response (${what})`);
      }
    }
  }
}

function advertisedAddress(
  config: BrokerConfig,
  listen: Listener,
  boundPort: number,
): { host: string; port: number } {
  if (config.advertisedListeners !== undefined) {
    const adv = parseListener(config.advertisedListeners);
    return { host: adv.host || localHostName(), port: adv.port === 0 ? boundPort : adv.port };
  }
  const wildcard = listen.host === "" || listen.host === "0.0.0.0" || listen.host === "::";
  return { host: wildcard ? localHostName() : listen.host, port: boundPort };
}

function localHostName(): string {
  try {
    return Deno.hostname();
  } catch {
    return "localhost";
  }
}
