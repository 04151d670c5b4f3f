// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * The embedded broker: opens the storage engine on the first data directory, listens on every
 * configured listener (PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL; docs/SECURITY.md), and serves the
 * Kafka protocol until {@linkcode Broker.close}.
 *
 * @module
 */

import { DataDirLock, LogManager } from "../engine/mod.ts";
import { ErrorCode, errorName, ProtocolError } from "../protocol/errors.ts";
import { Reader } from "../protocol/primitives.ts";
import { RequestHeader, requestHeaderVersion } from "../protocol/messages/headers.ts";
import { encodeResponseFrame } from "../protocol/framing.ts";
import { ApiKey } from "../protocol/api_keys.ts";
import {
  type ApiHandler,
  type BrokerContext,
  clipMessage,
  errorCodeOf,
  type RequestContext,
} from "./api.ts";
import { API_TABLE, type ApiEntry } from "./apis/table.ts";
import { apiVersions, apiVersionsFallback } from "./apis/api_versions.ts";
import { AppendWaiters } from "./append_waiters.ts";
import {
  type BrokerConfig,
  DEFAULT_BROKER_CONFIG,
  interBrokerListener,
  type InterBrokerSasl,
  interBrokerSasl,
  isSaslProtocol,
  type ListenerSpec,
  listenerSpecs,
  parseHttpListener,
  parseListeners,
  type SecurityProtocol,
} from "./config.ts";
import type { ListenerTlsSettings } from "./security/tls.ts";
import { type Accepted, listen as listenTransport, type TransportListener } from "./transport.ts";
import type { RegisteredListener } from "./cluster/metadata_store.ts";
import type { ClusterNode } from "./cluster/cluster.ts";
import {
  CloseConnection,
  Connection,
  type ConnectionInfo,
  type FrameLending,
} from "./connection.ts";
import { FrameBufferPool } from "./frame_buffer_pool.ts";
import { FetchSessionCache } from "./fetch_session.ts";
import type { GroupCoordinator } from "./group/coordinator.ts";
import { DynamicBrokerConfigs } from "./dynamic_configs.ts";
import { createLogger, type Logger } from "./logger.ts";
import { loadOrCreateMetaProperties } from "./meta_properties.ts";
import { loopbackTurn, RequestScheduler } from "./request_scheduler.ts";
import { MemoryPool } from "./memory_pool.ts";
import { BrokerMetrics } from "./metrics.ts";
import type { AdminServer, FallbackHandler } from "./http/admin_server.ts";
import type { Console } from "./http/console.ts";
import { BrokerState, type BrokerStateValue } from "./http/broker_state.ts";
import type { MetricsSources } from "./http/collect.ts";
import { ProducerIdManager } from "./producer_ids.ts";
import type { ReplicaManager, ReplicaManagerOptions } from "./replica_manager.ts";
import type { AclAuthorizer } from "./security/authorizer.ts";
import type { TransactionCoordinator } from "./txn/coordinator.ts";
import type { TxnVerifier } from "./txn/verification.ts";
import { CONSUMER_OFFSETS_TOPIC, TRANSACTION_STATE_TOPIC } from "./internal_topic_names.ts";
import { sleep } from "./sleep.ts";
import type { ShardRouter } from "./shards.ts";
import type { ShardDocuments, ShardDocumentSnapshot } from "./shard_documents.ts";
import type { SaslServer } from "./security/sasl.ts";
import { parseJaasConfig, plainUsers } from "./security/jaas.ts";
import type { ScramCredentialStore } from "./security/scram_credentials.ts";
import { SCRAM_CREDENTIALS_FILE } from "./security/scram_file.ts";
import { type KafkaPrincipal, principalToString } from "./security/principal.ts";
import { ClientQuotaManager, ClientQuotaStore, EtcdQuotaStorage, SampledRate } from "./quotas.ts";
import type { ClientMetricsManager } from "./client_metrics.ts";
import { CLIENT_METRICS_FILE } from "./client_metrics_file.ts";
import { applyQuotas } from "./quota_throttle.ts";
import { SharedRates, sharedRatesBytes } from "./shared_rates.ts";
import {
  connectionLimits,
  ConnectionQuotas,
  connectionQuotasBytes,
  remoteHost,
} from "./connection_quotas.ts";

export type { BrokerConfig } from "./config.ts";

/**
 * What the control plane gives the replication layer (docs/CLUSTER.md): the brokers' addresses,
 * AlterPartition, and the `replica.*` settings. The node id, logs and logger are the broker's.
 */
export type ReplicationOptions = Omit<ReplicaManagerOptions, "nodeId" | "logs" | "logger">;

/** The `replica.*` settings of a configuration, as {@linkcode ReplicaManagerOptions} fields. */
function replicaSettings(c: BrokerConfig): Partial<ReplicaManagerOptions> {
  return {
    replicaLagTimeMaxMs: c.replicaLagTimeMaxMs,
    replicaFetchWaitMaxMs: c.replicaFetchWaitMaxMs,
    replicaFetchMaxBytes: c.replicaFetchMaxBytes,
    replicaFetchResponseMaxBytes: c.replicaFetchResponseMaxBytes,
    replicaFetchBackoffMs: c.replicaFetchBackoffMs,
    replicaSocketTimeoutMs: c.replicaSocketTimeoutMs,
    replicaHighWatermarkCheckpointIntervalMs: c.replicaHighWatermarkCheckpointIntervalMs,
    replicaSelector: c.replicaSelector ?? undefined,
  };
}

/** Collaborators of a {@linkcode Broker} that are not configuration. */
export interface BrokerStartOptions {
  /**
   * Cluster mode's data plane: a {@linkcode ReplicaManager} is made with these, and the
   * partitions it is given states for ({@linkcode ReplicaManager.applyStates}) are replicated.
   * Absent (standalone): the broker leads every partition, high watermark = log end offset.
   */
  replication?: ReplicationOptions;
}

const API_VERSIONS_KEY = apiVersions.key;

/** One shard's place among the shards of a broker (`sluice.workers`, `server/shards.ts`). */
export interface ShardSetup {
  /** Its index; 0 is the one in the main thread. */
  index: number;
  /** Shard count. */
  count: number;
  /** A port to every other shard by index, `null` at its own. */
  ports: (MessagePort | null)[];
  /**
   * Memory every shard maps (made by shard 0): the client quotas' rates (`shared_rates.ts`) and
   * the connection counts (`connection_quotas.ts`), so quotas and limits are per broker.
   */
  shared: { rates: SharedArrayBuffer; connections: SharedArrayBuffer };
  /** Another shard: shard 0's ACLs and SCRAM credentials at its start (`shard_documents.ts`). */
  documents?: ShardDocumentSnapshot;
}

/** The data directory file that fixes the shard count of a sharded broker's log dir. */
export const SHARDS_FILE = "sluice-shards.json";

let startShardOf: (config: BrokerConfig, shard: ShardSetup) => Promise<Broker>;

/**
 * Start one shard of a sharded broker (`server/shard_worker.ts` calls it in its worker): a broker
 * on `config`'s data directory (`<log dir>/shard-<i>`) and listeners (reusePort), routing
 * through `shard`'s ports.
 *
 * @param config The shard's configuration.
 * @param shard Its index, count and ports.
 * @returns The running shard.
 */
export function startShard(config: BrokerConfig, shard: ShardSetup): Promise<Broker> {
  return startShardOf(config, shard);
}

/** One listener a running broker serves. */
export interface BoundListener {
  /** Listener name, e.g. `PLAINTEXT` or `EXTERNAL`. */
  readonly name: string;
  /** Its security protocol. */
  readonly securityProtocol: SecurityProtocol;
  /** The address bound. */
  readonly host: string;
  /** The port bound (the system's choice for port 0). */
  readonly port: number;
  /** What clients are told (`advertised.listeners`). */
  readonly advertised: { readonly host: string; readonly port: number };
}

interface Serving {
  spec: ListenerSpec;
  transport: TransportListener;
  bound: BoundListener;
  loop: Promise<void>;
}

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
  readonly #listeners: Serving[];
  readonly #ctx: BrokerContext;
  readonly #log: Logger;
  readonly #abort: AbortController;
  readonly #connections = new Map<number, { conn: Connection; done: Promise<void> }>();
  /** Connections over their address's connection_creation_rate, closed when their throttle ends. */
  readonly #throttledSockets = new Map<{ close(): void }, ReturnType<typeof setTimeout>>();
  /** Per-address connection rates when the shared table is full (KIP-612). */
  readonly #ipRates = new Map<string, SampledRate>();
  /** The handler table by key: what ApiVersions advertises and how each handler loads. */
  readonly #table: ReadonlyMap<number, ApiEntry>;
  /** Handlers loaded so far (at their API's first request; ApiVersions from the start). */
  readonly #handlers = new Map<number, ApiHandler>([[API_VERSIONS_KEY, apiVersions]]);
  /** Handlers being loaded. */
  readonly #loading = new Map<number, Promise<ApiHandler>>();
  readonly #unsubscribe: () => void;
  #nextConnectionId = 1;
  // Request memory bound (issue #7): every connection reserves frames from this pool.
  readonly #memoryPool: MemoryPool;
  /** Requests of all connections are served in slices (issue #17). */
  readonly #scheduler = new RequestScheduler({ openTurn: loopbackTurn });
  #closing: Promise<void> | null = null;
  // Observability (issue #15): the admin HTTP listener, if configured, and the lifecycle state.
  #admin: AdminServer | undefined;
  #console: Console | undefined;
  #state: { value: BrokerStateValue } = { value: BrokerState.RUNNING };
  /** Shards (`sluice.workers` > 1): this shard's routing; on shard 0 the other shards' workers. */
  #router: ShardRouter | undefined;
  /** Shards: the ACLs and SCRAM credentials every shard holds (shard 0's). */
  #documents: ShardDocuments | undefined;
  #workers: Worker[] = [];
  /** The connection creation rate (`max.connection.creation.rate`), every shard's. */
  #connectionRates: SharedRates | undefined;
  /** The group and transaction coordinators, opened at start or at their first use. */
  #coordinators: LazyPart<OpenCoordinators> | undefined;
  /** SCRAM credentials and SASL, opened at start or at their first use. */
  #security: LazyPart<Security> | undefined;
  #clientMetrics: LazyPart<ClientMetricsManager> | undefined;

  static {
    startShardOf = (config, shard) => Broker.#start(config, {}, shard);
  }
  /**
   * Large Produce frames are read into reused buffers, and Fetch copies records out of the hot
   * tail into them (issue #17); the connection takes them back once the request is answered.
   */
  readonly #frameBuffers: FrameLending;

  private constructor(
    config: BrokerConfig,
    listeners: Serving[],
    ctx: BrokerContext,
    abort: AbortController,
    table: ReadonlyMap<number, ApiEntry>,
  ) {
    this.config = config;
    this.#listeners = listeners;
    this.#ctx = ctx;
    this.#log = ctx.logger;
    this.#abort = abort;
    this.#table = table;
    this.#memoryPool = new MemoryPool(config.queuedMaxRequestBytes);
    this.#frameBuffers = {
      pool: ctx.frameBuffers ?? new FrameBufferPool(),
      apiKeys: new Set([ApiKey.Produce]),
    };
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
   * @param options Collaborators: the replication layer's (cluster mode).
   * @returns The running broker.
   * @throws {RangeError} If the listeners or their TLS settings are malformed.
   * @throws {Error} If the data directory cannot be used or the port cannot be bound.
   */
  static start(
    config: Partial<BrokerConfig> = {},
    options: BrokerStartOptions = {},
  ): Promise<Broker> {
    return Broker.#start(config, options, undefined);
  }

  static async #start(
    config: Partial<BrokerConfig>,
    options: BrokerStartOptions,
    shard: ShardSetup | undefined,
  ): Promise<Broker> {
    const full: BrokerConfig = {
      ...DEFAULT_BROKER_CONFIG,
      ...config,
      logDirs: [...(config.logDirs ?? DEFAULT_BROKER_CONFIG.logDirs)],
      topicDefaults: { ...(config.topicDefaults ?? {}) },
      etcdEndpoints: [...(config.etcdEndpoints ?? [])],
      superUsers: [...(config.superUsers ?? [])],
    };
    const log = full.logger ??
      createLogger({ level: full.logLevel ?? "info", format: full.logFormat ?? "text" });
    if (full.workers > 1 && shard === undefined) return Broker.#startShards(full, log, options);
    if (shard === undefined && full.logDirs[0] !== undefined) {
      const shards = await readShardCount(`${full.logDirs[0]}/${SHARDS_FILE}`);
      if (shards !== undefined) {
        throw new Error(
          `Cannot start broker: ${full.logDirs[0]} holds ${shards} shards (${SHARDS_FILE}); ` +
            `start it with sluice.workers=${shards}`,
        );
      }
    }
    const specs = listenerSpecs(full);
    const interBroker = interBrokerListener(full);
    // cluster mode: a SASL inter-broker listener needs this broker's own credentials
    const interBrokerAuth = full.etcdEndpoints.length > 0 ? interBrokerSasl(full) : undefined;
    // the TLS code loads only with ssl.* settings or a TLS listener (issue #17)
    const ssl = full.sslProperties ?? {};
    const tlsSpecs = specs.filter((s) =>
      s.securityProtocol === "SSL" || s.securityProtocol === "SASL_SSL"
    );
    const tls = Object.keys(ssl).length > 0 || tlsSpecs.length > 0
      ? await import("./security/tls.ts")
      : undefined;
    for (const w of tls?.unknownSslKeys(ssl) ?? []) log.warn(w);
    // TLS keys and trust stores are read and checked before anything is opened.
    const tlsSettings = new Map<string, ListenerTlsSettings>();
    for (const spec of tlsSpecs) {
      tlsSettings.set(
        spec.name,
        await tls!.loadListenerTls(ssl, spec.name, spec.securityProtocol),
      );
    }
    // Issue #7: refuse a bad queued.max.request.bytes before opening anything.
    new MemoryPool(full.queuedMaxRequestBytes);
    // Issue #15: the admin listener starts first, so /readyz answers (503) during log recovery.
    const state = { value: BrokerState.STARTING as BrokerStateValue };
    // its TLS key and its users are read before anything is opened (docs/SECURITY.md)
    const httpListener = full.httpListener === ""
      ? undefined
      : parseHttpListener(full.httpListener);
    const httpTls = httpListener?.tls ? await adminHttpTls(full) : undefined;
    const credentials: { store?: ScramCredentialStore } = {};
    // the admin listener's modules load only when it is configured (issue #17)
    const http = httpListener === undefined ? undefined : await Promise.all([
      import("./http/admin_server.ts"),
      import("./http/console.ts"),
      import("./security/http_basic.ts"),
    ]);
    const httpAuth = http !== undefined && full.httpAuth === "basic"
      ? new http[2].HttpBasicAuthenticator({
        plainUsers: allPlainUsers(full),
        credentials: () => credentials.store,
        failedAuthenticationDelayMs: full.connectionFailedAuthenticationDelayMs,
      })
      : undefined;
    const admin = http === undefined ? undefined : http[0].AdminServer.start(httpListener!, {
      logger: log,
      state: () => state.value,
      ...(httpTls === undefined ? {} : { tls: { cert: httpTls.certChain, key: httpTls.key } }),
      ...(httpAuth === undefined ? {} : {
        authenticate: (req: Request) => httpAuth.authenticate(req.headers.get("authorization")),
      }),
    });
    try {
      const broker = await Broker.#open(
        full,
        log,
        { specs, interBroker, tlsSettings, interBrokerAuth },
        options,
        state,
        shard,
      );
      broker.#admin = admin;
      credentials.store = broker.#ctx.scramCredentials;
      broker.#state = state;
      admin?.attach(broker.#metricsSources(), () => broker.#notReadyReason());
      if (admin !== undefined) {
        broker.#console = http![1].openConsole({
          context: broker.#ctx,
          state: () => state.value,
          connections: () => broker.#connections.size,
        });
        admin.fallback(consoleAccess(broker.#console.handler, broker.#ctx.authorizer));
        log.info(
          `Web console on ${httpListener?.tls ? "https" : "http"}://` +
            `${formatHttpHost(admin.host)}:${admin.port}/`,
        );
      }
      state.value = BrokerState.RUNNING;
      return broker;
    } catch (e) {
      state.value = BrokerState.NOT_RUNNING;
      await admin?.close();
      throw e;
    }
  }

  /**
   * `sluice.workers` > 1: shard 0 here, the others in workers, on the same ports; the log dir
   * holds `shard-<i>` directories and {@linkcode SHARDS_FILE}, which fixes the count.
   */
  static async #startShards(
    full: BrokerConfig,
    log: Logger,
    options: BrokerStartOptions,
  ): Promise<Broker> {
    const n = full.workers;
    const what = `Cannot start broker with sluice.workers=${n}`;
    if (full.etcdEndpoints.length > 0 || options.replication !== undefined) {
      throw new RangeError(`${what}: shards are for a standalone broker, not cluster mode`);
    }
    const root = full.logDirs[0];
    if (root === undefined) throw new RangeError(`${what}: logDirs is empty`);
    await Deno.mkdir(root, { recursive: true });
    const marker = `${root}/${SHARDS_FILE}`;
    const recorded = await readShardCount(marker);
    if (recorded === undefined) {
      for (const f of ["meta.properties", "sluice-topics.json"]) {
        if (await Deno.stat(`${root}/${f}`).then(() => true, () => false)) {
          throw new Error(
            `${what}: ${root} holds the data of a broker with sluice.workers=1 (${f}); ` +
              `shards need a data directory of their own`,
          );
        }
      }
      const tmp = `${marker}.tmp`;
      await Deno.writeTextFile(tmp, JSON.stringify({ version: 1, workers: n }) + "\n");
      await Deno.rename(tmp, marker);
    } else if (recorded !== n) {
      throw new Error(
        `${what}: ${root} was made with sluice.workers=${recorded} (${SHARDS_FILE}); each ` +
          `partition lives in the shard its hash names, so the count cannot change`,
      );
    }
    // Deno ends the process (exit 70) at a reusePort listen without --unstable-net, which no
    // catch can stop; Deno.listenDatagram exists exactly when --unstable-net is given.
    if (typeof (Deno as { listenDatagram?: unknown }).listenDatagram !== "function") {
      throw new RangeError(
        `${what}: the shards share their ports (reusePort), which needs deno run --unstable-net`,
      );
    }
    const ports = (await import("./shards.ts")).shardPorts(n);
    const shared = {
      rates: new SharedArrayBuffer(sharedRatesBytes(full.quotaWindowNum)),
      connections: new SharedArrayBuffer(connectionQuotasBytes()),
    };
    // every shard answers fetches without sessions: a session's partitions span shards
    const base: BrokerConfig = { ...full, maxIncrementalFetchSessionCacheSlots: 0 };
    const zero = await Broker.#start(
      { ...base, logDirs: [`${root}/shard-0`] },
      options,
      { index: 0, count: n, ports: ports[0], shared },
    );
    const host = (h: string) => h.includes(":") ? `[${h}]` : h;
    const { logger: _logger, ...cloneable } = base;
    const shardConfig: BrokerConfig = {
      ...cloneable,
      clusterId: zero.config.clusterId,
      listeners: zero.listeners.map((l) => `${l.name}://${host(l.host)}:${l.port}`).join(","),
      advertisedListeners: zero.listeners
        .map((l) => `${l.name}://${host(l.advertised.host)}:${l.advertised.port}`).join(","),
      httpListener: "",
    };
    try {
      await Promise.all(Array.from({ length: n - 1 }, (_, k) => {
        const index = k + 1;
        const w = new Worker(new URL("./shard_worker.ts", import.meta.url).href, {
          type: "module",
          name: `sluice-shard-${index}`,
        });
        zero.#workers.push(w);
        return startShardWorker(
          w,
          { ...shardConfig, logDirs: [`${root}/shard-${index}`] },
          // shard 0's ACLs and SCRAM credentials now; its later changes follow
          { index, count: n, ports: ports[index], shared, documents: zero.#documents?.snapshot() },
        );
      }));
      // a shard that fails later takes the process down with it, as a crash would (its
      // partitions are nowhere else; the next start recovers them): the error is not handled
      zero.#workers.forEach((w, k) => {
        w.onerror = (e) => log.error(`Shard ${k + 1} failed: ${e.message}`);
      });
      // each shard holds exactly its partitions of shard 0's topics (a restart, a crash between)
      // and shard 0's client quotas
      await zero.#router!.syncTopics();
      await zero.#router!.syncQuotas();
      // the transaction coordinator's markers may go to every shard now
      zero.#router!.started();
    } catch (e) {
      await zero.close();
      throw e;
    }
    log.info(
      `Sluice broker ${full.nodeId}: ${n} shards (sluice.workers) listening on ` +
        `${zero.host}:${zero.port}, data in ${root}/shard-0..${n - 1}`,
    );
    return zero;
  }

  static async #open(
    full: BrokerConfig,
    log: Logger,
    listening: {
      specs: ListenerSpec[];
      interBroker: ListenerSpec;
      tlsSettings: Map<string, ListenerTlsSettings>;
      interBrokerAuth: InterBrokerSasl | undefined;
    },
    options: BrokerStartOptions,
    state: { value: BrokerStateValue },
    shard: ShardSetup | undefined,
  ): Promise<Broker> {
    const { specs, interBroker, tlsSettings, interBrokerAuth } = listening;
    const dir = full.logDirs[0];
    if (dir === undefined) throw new RangeError("Cannot start broker: logDirs is empty");
    if (full.logDirs.length > 1) {
      log.warn(`Only the first of log.dirs is used (${dir}); ignoring ${full.logDirs.slice(1)}`);
    }
    // The data dir's lock comes first: a second broker on the same directory stops here,
    // before it reads or writes anything in it.
    const lock = await DataDirLock.acquire(dir);
    // Cluster mode (docs/CLUSTER.md): the cluster id comes from etcd.
    let cluster: ClusterNode | undefined;
    let meta;
    try {
      let clusterId = full.clusterId;
      if (full.etcdEndpoints.length > 0) {
        const { ClusterNode } = await import("./cluster/cluster.ts");
        cluster = await ClusterNode.connect(full, log);
        // replica fetchers and markers connect to the inter-broker listener: TLS if it is SSL
        const own = tlsSettings.get(interBroker.name);
        if (own !== undefined) {
          cluster.interBrokerTls = {
            caCerts: own.trustedCerts === undefined ? undefined : [own.trustedCerts],
            cert: own.certChain,
            key: own.key,
          };
        }
        // and authenticate with SASL if it is SASL_PLAINTEXT or SASL_SSL (docs/SECURITY.md)
        cluster.interBrokerSasl = interBrokerAuth;
        clusterId = await cluster.resolveClusterId(dir);
      }
      meta = await loadOrCreateMetaProperties(dir, { nodeId: full.nodeId, clusterId });
    } catch (e) {
      await cluster?.close();
      lock.release();
      throw e;
    }
    full.clusterId = meta.clusterId;
    let dynamicConfigs: DynamicBrokerConfigs;
    let quotaStore: ClientQuotaStore;
    // Aborted when the broker shuts down (`BrokerContext.closing`).
    const abort = new AbortController();
    // Shards: the ACLs and SCRAM credentials are shard 0's, every change sent to every shard
    const shardDocs: ShardDocuments | undefined = shard &&
      new (await import("./shard_documents.ts")).ShardDocuments(shard.documents);
    // SCRAM credentials (AlterUserScramCredentials), salted and hashed (docs/SECURITY.md), and
    // SASL authentication: opened here when something authenticates from the start (a SASL
    // listener, cluster mode, the admin listener's HTTP Basic) or there is a credentials file to
    // check; otherwise at the first SASL or SCRAM request (issue #17), as there is nothing to read.
    const security = new LazyPart(async (): Promise<Security> => {
      const [{ EtcdScramStorage, ScramCredentialStore }, { SaslServer }] = await Promise.all([
        import("./security/scram_credentials.ts"),
        import("./security/sasl.ts"),
      ]);
      let scramCredentials: ScramCredentialStore;
      // cluster mode: one set for every broker, in etcd
      if (cluster !== undefined) {
        scramCredentials = await ScramCredentialStore.openWith(
          new EtcdScramStorage(cluster.etcd, `${cluster.store.root}/scram-credentials`),
        );
        const local = `${dir}/${SCRAM_CREDENTIALS_FILE}`;
        if (await Deno.stat(local).then(() => true, () => false)) {
          log.warn(
            `SCRAM credentials in ${local} are ignored in cluster mode: the cluster's are in ` +
              `${scramCredentials.storage} (create the users again with AlterUserScramCredentials)`,
          );
        }
      } else if (shardDocs !== undefined) {
        const { FileScramStorage } = await import("./security/scram_credentials.ts");
        scramCredentials = await ScramCredentialStore.openWith(
          shard!.index === 0
            ? shardDocs.leader("scram", new FileScramStorage(dir))
            : shardDocs.follower("scram", "shard 0's SCRAM credentials", () => new Map()),
        );
      } else scramCredentials = await ScramCredentialStore.open(dir);
      const sasl = saslServer(SaslServer, full, scramCredentials, log, abort.signal);
      return { scramCredentials, sasl };
    }, (s) => s.scramCredentials.close());
    // KIP-714 client metrics: CLIENT_METRICS subscriptions (the data directory's, or the
    // cluster's in etcd) and what clients push
    const clientMetrics = new LazyPart(async (): Promise<ClientMetricsManager> => {
      const [cm, { otlpForwarder }] = await Promise.all([
        import("./client_metrics.ts"),
        import("./otlp_forward.ts"),
      ]);
      const subscriptions = await cm.ClientMetricsSubscriptions.openWith(
        cluster !== undefined
          ? new cm.EtcdClientMetricsStorage(cluster.etcd, `${cluster.store.root}/client-metrics`)
          : new cm.FileClientMetricsStorage(dir),
      );
      return new cm.ClientMetricsManager(subscriptions, {
        telemetryMaxBytes: full.telemetryMaxBytes,
        maxInstances: full.clientMetricsMaxInstances,
        onPayload: full.clientMetricsOtlpEndpoint === ""
          ? undefined
          : otlpForwarder(full.clientMetricsOtlpEndpoint, log, abort.signal),
      });
    }, (m) => m.subscriptions.close());
    try {
      // AlterConfigs on BROKER resources, kept across restarts; they override server.properties
      dynamicConfigs = await DynamicBrokerConfigs.open(dir, full.nodeId, full.topicDefaults);
      if (
        cluster !== undefined || full.httpListener !== "" ||
        specs.some((l) => isSaslProtocol(l.securityProtocol)) ||
        await Deno.stat(`${dir}/${SCRAM_CREDENTIALS_FILE}`).then(() => true, () => false)
      ) await security.load();
      // client quotas (AlterClientQuotas): the data directory's, or the cluster's in etcd
      quotaStore = cluster !== undefined
        ? await ClientQuotaStore.openWith(
          new EtcdQuotaStorage(cluster.etcd, `${cluster.store.root}/client-quotas`),
        )
        : await ClientQuotaStore.open(dir);
      // client metrics (KIP-714): at start when there are subscriptions on disk to check, else
      // at the first telemetry request or CLIENT_METRICS config (issue #17)
      if (
        await Deno.stat(`${dir}/${CLIENT_METRICS_FILE}`).then(() => true, () => false)
      ) await clientMetrics.load();
    } catch (e) {
      await cluster?.close();
      lock.release();
      throw e;
    }
    // ACLs (docs/SECURITY.md): loaded before anything is served
    let authorizer: AclAuthorizer | undefined;
    if (full.authorizerClassName !== "") {
      try {
        // loaded only when an authorizer is configured (issue #17)
        const { AclAuthorizer, EtcdAclStorage, FileAclStorage } = await import(
          "./security/authorizer.ts"
        );
        // cluster mode: one set of ACLs for every broker, in etcd
        // shards: shard 0's file, every change sent to every shard (`shard_documents.ts`)
        const storage = cluster !== undefined
          ? new EtcdAclStorage(cluster.etcd, `${cluster.store.root}/acls`)
          : shardDocs === undefined
          ? new FileAclStorage(dir)
          : shard!.index === 0
          ? shardDocs.leader("acls", new FileAclStorage(dir))
          : shardDocs.follower("acls", "shard 0's ACLs", () => []);
        authorizer = await AclAuthorizer.openWith(storage, {
          superUsers: full.superUsers,
          allowEveryoneIfNoAclFound: full.allowEveryoneIfNoAclFound,
        });
      } catch (e) {
        await cluster?.close();
        lock.release();
        throw e;
      }
      log.info(
        `Authorizer ${full.authorizerClassName}: ${authorizer.size} ACLs in ` +
          `${authorizer.storage}, super.users ` +
          `${full.superUsers.length === 0 ? "(none)" : full.superUsers.join(";")}, ` +
          `allow.everyone.if.no.acl.found=${full.allowEveryoneIfNoAclFound}`,
      );
    }
    // File descriptors and partitions as resources (issue #11).
    const clusterLimit = full.maxPartitions < full.maxBrokerPartitions;
    state.value = BrokerState.RECOVERY;
    const logs = await LogManager.open(dir, {
      defaults: dynamicConfigs.topicDefaults(),
      retentionCheckIntervalMs: full.logRetentionCheckIntervalMs,
      cleanerBackoffMs: full.logCleanerBackoffMs,
      logger: (m: string) => log.info(m),
      maxOpenFiles: full.logMaxOpenFiles === -1 ? undefined : full.logMaxOpenFiles,
      maxPartitions: Math.min(full.maxBrokerPartitions, full.maxPartitions),
      maxPartitionsName: clusterLimit ? "max.partitions" : "max.broker.partitions",
      lock,
    });
    log.info(
      `Data dir ${dir}: ${logs.partitionCount} partitions (max.broker.partitions ` +
        `${full.maxBrokerPartitions}), at most ${logs.openFileStats().capacity} segment files ` +
        `open (sluice.log.max.open.files)`,
    );
    // Replication (docs/CLUSTER.md): in cluster mode every partition is replicated, with the
    // brokers' addresses and AlterPartition from the cluster view; with `options.replication`
    // (a control plane of the caller's, e.g. tests) only the partitions it gives states for.
    let replicas: ReplicaManager | undefined;
    // loaded only when there is something to replicate (issue #17)
    const { ReplicaManager } = cluster !== undefined || options.replication !== undefined
      ? await import("./replica_manager.ts")
      : { ReplicaManager: undefined };
    if (cluster !== undefined) {
      const node = cluster;
      replicas = new ReplicaManager!({
        ...replicaSettings(full),
        nodeId: full.nodeId,
        logs,
        logger: log,
        brokerEndpoint: (id) => node.endpoint(id),
        alterPartition: (topic, p, req) => node.view.alterPartition(topic, p, req),
        replicatesAll: true,
        fenced: () => !node.registered,
        brokerEpoch: () => node.membership?.state.epoch || -1,
        isrEligible: (id, epoch) => {
          const b = node.view.broker(id);
          return b !== undefined && b.value.fenced !== true &&
            b.value.controlledShutdown !== true && (epoch < 0 || epoch === b.createRevision);
        },
        rackOf: (id) => {
          const b = node.view.broker(id)?.value;
          return b === undefined || b.fenced === true ? undefined : (b.rack ?? null);
        },
      });
    } else if (options.replication !== undefined) {
      replicas = new ReplicaManager!({
        ...replicaSettings(full),
        ...options.replication,
        nodeId: full.nodeId,
        logs,
        logger: log,
      });
    }
    let producerIds: ProducerIdManager;
    let txnVerifier: TxnVerifier | undefined;
    // cluster mode and shards only: markers to other brokers' (shards') partitions, verification
    // with coordinators
    const [markers, verification] = cluster === undefined && shard === undefined
      ? [undefined, undefined]
      : await Promise.all([import("./txn/markers.ts"), import("./txn/verification.ts")]);
    // Shards: the router (made once the broker is) carries markers and verifications
    const routed = Promise.withResolvers<ShardRouter>();
    const shardOf = shard && (await import("./shards.ts")).shardOf;
    const timeoutMs = full.requestTimeoutMs;
    /** Shards: whether a partition is in the topic table (wherever it is held). */
    const inTable = (t: string, p: number) => p >= 0 && p < (logs.topic(t)?.partitions ?? 0);
    // The group and transaction coordinators (issue #17): opened here when they have something
    // to replay (`__consumer_offsets` or `__transaction_state` in the data dir) or something
    // reads them from the start (cluster mode, a replication control plane, shards, the admin
    // listener's metrics and console); otherwise, as on a fresh data dir, at the first request
    // that needs them (`BrokerContext.loadCoordinators`): with nothing to replay, opening them
    // later finds the same empty state, and their timers have nothing to do until then.
    const coordinators = new LazyPart(async (): Promise<OpenCoordinators> => {
      const [{ openGroupCoordinator }, { openTransactionCoordinator }] = await Promise.all([
        import("./group/open_group_coordinator.ts"),
        import("./txn/open_transaction_coordinator.ts"),
      ]);
      const groups = await openGroupCoordinator(logs, {
        offsetsTopicNumPartitions: full.offsetsTopicNumPartitions,
        clusterPartitions: cluster &&
          (() => cluster!.internalPartitions(CONSUMER_OFFSETS_TOPIC)),
        // Cluster mode: a commit is acknowledged once the in-sync replicas have it.
        append: replicas &&
          ((log, records) => replicas!.appendAsLeader(log, records, full.offsetsCommitTimeoutMs)),
        logger: log,
        config: {
          initialRebalanceDelayMs: full.groupInitialRebalanceDelayMs,
          minSessionTimeoutMs: full.groupMinSessionTimeoutMs,
          maxSessionTimeoutMs: full.groupMaxSessionTimeoutMs,
          offsetsRetentionMs: full.offsetsRetentionMinutes * 60_000,
          offsetsRetentionCheckIntervalMs: full.offsetsRetentionCheckIntervalMs,
          maxGroupSize: full.groupMaxSize,
          consumerSessionTimeoutMs: full.groupConsumerSessionTimeoutMs,
          consumerHeartbeatIntervalMs: full.groupConsumerHeartbeatIntervalMs,
          consumerMaxSize: full.groupConsumerMaxSize,
          consumerAssignors: full.groupConsumerAssignors,
          consumerRegexRefreshIntervalMs: full.groupConsumerRegexRefreshIntervalMs,
        },
      });
      try {
        const txns = await openTransactionCoordinator(logs, {
          nextProducerId: () => producerIds.next(),
          numPartitions: full.transactionStateLogNumPartitions,
          clusterPartitions: (cluster &&
            (() => cluster!.internalPartitions(TRANSACTION_STATE_TOPIC))) ||
            // Shards: one coordinator, shard 0's; the others' serve no transactional id
            (shard !== undefined && shard.index !== 0 ? () => undefined : undefined),
          append: replicas &&
            ((log, records) => replicas!.appendAsLeader(log, records, full.requestTimeoutMs)),
          // Cluster mode: markers go to each partition's leader (WriteTxnMarkers).
          markers: cluster && new markers!.TxnMarkerSender({
                nodeId: full.nodeId,
                cluster,
                local: (req) =>
                  markers!.writeLocalMarkers(
                    { logs, replicas, cluster, groups, txnVerifier },
                    req,
                    full.requestTimeoutMs,
                    log,
                  ),
                requestTimeoutMs: full.requestTimeoutMs,
                logger: log,
              }) ||
            // Shards: shard 0 coordinates every transactional id; its markers go to each
            // partition's owner shard through the router
            (shard?.index === 0 && new markers!.TxnMarkerSender({
              nodeId: 0,
              cluster: {
                leaderOf: (t, p) => shardOf!(t, p, shard.count),
                partitionExists: inTable,
                endpoint: () => undefined,
              },
              local: (req) => markers!.writeLocalMarkers({ logs, groups }, req, timeoutMs, log),
              remote: (s, req) => routed.promise.then((r) => r.sendMarkers(s, req)),
              requestTimeoutMs: timeoutMs,
              logger: log,
            })) || undefined,
          partitionExists: (cluster && ((t, p) => cluster!.partitionExists(t, p))) ||
            (shard && inTable),
          // One broker: the group's partition of __consumer_offsets even before the topic is
          // created (its markers must reach the partition its offsets are written to).
          offsetsPartitions: cluster
            ? (() => cluster!.internalPartitions(CONSUMER_OFFSETS_TOPIC))
            : (() =>
              logs.topic(CONSUMER_OFFSETS_TOPIC)?.partitions ?? full.offsetsTopicNumPartitions),
          groups,
          logger: log,
          config: {
            maxTimeoutMs: full.transactionMaxTimeoutMs,
            abortTimedOutIntervalMs: full.transactionAbortTimedOutIntervalMs,
          },
        });
        return { groups, txns };
      } catch (e) {
        groups.close();
        throw e;
      }
    }, (c) => {
      c.txns.close();
      c.groups.close();
    });
    try {
      // Cluster mode: producer ids are unique over the cluster, not only this data dir.
      producerIds = cluster !== undefined
        ? ProducerIdManager.fromBlocks((size) => cluster!.allocateProducerIds(size))
        : await ProducerIdManager.open(dir);
      const replay = logs.topic(CONSUMER_OFFSETS_TOPIC) !== undefined ||
        logs.topic(TRANSACTION_STATE_TOPIC) !== undefined;
      if (
        replay || cluster !== undefined || options.replication !== undefined ||
        shard !== undefined || full.httpListener !== ""
      ) {
        const { groups, txns } = await coordinators.load();
        // Cluster mode: a partition leader verifies a transaction's first batch with its
        // coordinator (KIP-890 part 1), wherever that is.
        txnVerifier = (cluster &&
          new verification!.TxnVerifier({
            nodeId: full.nodeId,
            cluster,
            local: (p, topics) => txns.verifyPartitions(p, topics),
            requestTimeoutMs: full.requestTimeoutMs,
            logger: log,
          })) ||
          // Shards: a shard other than 0 verifies with shard 0's coordinator
          (shard !== undefined && shard.index !== 0
            ? new verification!.TxnVerifier({
              nodeId: shard.index,
              cluster: {
                leaderOf: () => 0,
                internalPartitions: () => full.transactionStateLogNumPartitions,
                endpoint: () => undefined,
              },
              local: (p, topics) => txns.verifyPartitions(p, topics),
              remote: (_, p, topics) => routed.promise.then((r) => r.verifyTxn(p, topics)),
              requestTimeoutMs: timeoutMs,
              logger: log,
            })
            : undefined);
        // Cluster mode: the local logs follow the cluster before this broker serves anything,
        // and the view's partition states drive the replica manager.
        await cluster?.attach({ logs, groups, txns, replicas: replicas! });
      }
    } catch (e) {
      await cluster?.close();
      await replicas?.close();
      txnVerifier?.close();
      await coordinators.close();
      await logs.close();
      throw e;
    }
    const serving: Serving[] = [];
    /** Closes what this start opened, when it fails. */
    const closeOpened = async (): Promise<void> => {
      for (const l of serving) l.transport.close();
      await cluster?.close();
      await replicas?.close();
      txnVerifier?.close();
      await coordinators.close();
      await logs.close();
    };
    try {
      const advertisedByName = new Map(
        full.advertisedListeners === undefined
          ? []
          : parseListeners(full.advertisedListeners).map((a) => [a.name, a]),
      );
      for (const spec of specs) {
        let transport: TransportListener;
        try {
          transport = await listenTransport({
            hostname: spec.host,
            port: spec.port,
            securityProtocol: spec.securityProtocol,
            tls: tlsSettings.get(spec.name),
            handshakeTimeoutMs: full.requestReadTimeoutMs,
            logger: log,
            name: spec.name,
            reusePort: shard !== undefined,
          });
        } catch (e) {
          const detail = e instanceof Error ? e.message : String(e);
          throw new Error(
            `Cannot listen on ${spec.host || "0.0.0.0"}:${spec.port}: ${detail} (listener ` +
              `${spec.name})`,
          );
        }
        const port = transport.addr.port;
        const adv = advertisedByName.get(spec.name);
        const wildcard = spec.host === "" || spec.host === "0.0.0.0" || spec.host === "::";
        const advertised = adv !== undefined
          ? { host: adv.host || localHostName(), port: adv.port === 0 ? port : adv.port }
          : { host: wildcard ? localHostName() : spec.host, port };
        serving.push({
          spec,
          transport,
          bound: {
            name: spec.name,
            securityProtocol: spec.securityProtocol,
            host: transport.addr.hostname,
            port,
            advertised,
          },
          loop: Promise.resolve(),
        });
      }
    } catch (e) {
      await closeOpened();
      throw e;
    }
    const advertisedListeners = new Map(serving.map((l) => [l.spec.name, l.bound.advertised]));
    const advertised = serving[0].bound.advertised;
    const interBrokerAdvertised = advertisedListeners.get(interBroker.name)!;
    const apis = new Map(API_TABLE.map((e) => [e.key, e]));
    // connection limits (docs/SECURITY.md#connection-limits): one count for every shard
    const connectionQuotas = new ConnectionQuotas(
      shard?.shared.connections ?? new SharedArrayBuffer(connectionQuotasBytes()),
      specs.map((l) => l.name),
      interBroker.name,
    );
    if (shard === undefined || shard.index === 0) {
      try {
        connectionQuotas.configure(connectionLimits(full, dynamicConfigs.connectionValues()));
      } catch (e) {
        await closeOpened();
        throw new RangeError(`Cannot start broker: ${e instanceof Error ? e.message : e}`);
      }
    }
    const ctx: BrokerContext = {
      config: full,
      nodeId: full.nodeId,
      clusterId: meta.clusterId,
      advertised,
      advertisedListeners,
      logs,
      logger: log,
      fetchSessions: new FetchSessionCache(full.maxIncrementalFetchSessionCacheSlots),
      producerIds,
      appendWaiters: new AppendWaiters(),
      frameBuffers: new FrameBufferPool(),
      get groups() {
        return coordinators.value?.groups;
      },
      get txns() {
        return coordinators.value?.txns;
      },
      loadPart: (part) =>
        (part === "coordinators" ? coordinators : part === "sasl" ? security : clientMetrics)
          .load().then(() => {}),
      dynamicConfigs,
      cluster,
      replicas,
      txnVerifier,
      authorizer,
      apis,
      metrics: new BrokerMetrics(),
      closing: abort.signal,
      get sasl() {
        return security.value?.sasl;
      },
      get scramCredentials() {
        return security.value?.scramCredentials;
      },
      connectionQuotas,
      quotas: new ClientQuotaManager(
        quotaStore,
        { samples: full.quotaWindowNum, windowMs: full.quotaWindowSizeSeconds * 1000 },
        // shards: one rate per client for the whole broker
        shard && new SharedRates(shard.shared.rates, {
          samples: full.quotaWindowNum,
          windowMs: full.quotaWindowSizeSeconds * 1000,
        }),
      ),
      get clientMetrics() {
        return clientMetrics.value;
      },
    };
    const broker = new Broker(full, serving, ctx, abort, apis);
    broker.#coordinators = coordinators;
    broker.#security = security;
    broker.#clientMetrics = clientMetrics;
    broker.#connectionRates = new SharedRates(
      shard?.shared.rates ?? new SharedArrayBuffer(sharedRatesBytes(full.quotaWindowNum)),
      { samples: full.quotaWindowNum, windowMs: full.quotaWindowSizeSeconds * 1000 },
    );
    if (shard !== undefined) {
      // loaded only with sluice.workers > 1: it imports the codecs of the APIs it routes
      const { ShardRouter } = await import("./shards.ts");
      broker.#router = new ShardRouter({
        ...shard,
        serve: (frame, info) => broker.#dispatch(frame, info),
        logs,
        quotas: quotaStore,
        documents: shardDocs,
        txn: {
          // the owner of a transaction's partitions writes its markers, as WriteTxnMarkers does
          markers: (req) => markers!.writeLocalMarkers(ctx, req, timeoutMs, log),
          // shard 0 answers the others' verifications (KIP-890's verify_only)
          verify: async (p, topics) =>
            await (await coordinators.load()).txns.verifyPartitions(p, topics),
        },
        logger: log,
      });
      routed.resolve(broker.#router);
      broker.#documents = shardDocs;
    }
    for (const l of serving) l.loop = broker.#accept(l);
    if (cluster !== undefined) {
      // every listener is published; other brokers connect to the inter-broker one
      const published: RegisteredListener[] = serving.map((l) => ({
        name: l.spec.name,
        ...l.bound.advertised,
        securityProtocol: l.spec.securityProtocol,
      }));
      try {
        await cluster.register(interBrokerAdvertised, published);
      } catch (e) {
        await broker.close();
        throw e;
      }
    }
    // "listening on HOST:PORT " first: tools and tests wait for it (bench/e2e, tests/chaos, ...)
    const named = (l: Serving) =>
      serving.length === 1 && l.spec.name === "PLAINTEXT"
        ? ""
        : `listener ${l.spec.name} (${l.spec.securityProtocol}), `;
    const [first, ...others] = serving;
    const more = others.map((l) =>
      `; ${named(l)}on ${l.bound.host}:${l.bound.port}, advertised as ` +
      `${l.bound.advertised.host}:${l.bound.advertised.port}`
    ).join("");
    log.info(
      `Sluice broker ${full.nodeId} listening on ${first.bound.host}:${first.bound.port} ` +
        `(${named(first)}advertised as ${advertised.host}:${advertised.port}${more}; data in ` +
        `${dir}, cluster ${meta.clusterId})`,
    );
    return broker;
  }

  /** The port actually bound by the first listener (useful when the config asked for port 0). */
  get port(): number {
    return this.#listeners[0].bound.port;
  }

  /** The address actually bound by the first listener. */
  get host(): string {
    return this.#listeners[0].bound.host;
  }

  /** Every listener served, in `listeners` order, with its bound and advertised addresses. */
  get listeners(): readonly BoundListener[] {
    return this.#listeners.map((l) => l.bound);
  }

  /**
   * A listener by name.
   *
   * @param name The listener name, e.g. `SSL` (any case).
   * @returns The listener.
   * @throws {RangeError} If the broker has no such listener.
   */
  listener(name: string): BoundListener {
    const l = this.#listeners.find((x) => x.spec.name === name.toUpperCase());
    if (l === undefined) {
      throw new RangeError(
        `No listener ${name}: the broker serves ${this.#listeners.map((x) => x.spec.name)}`,
      );
    }
    return l.bound;
  }

  /**
   * The broker-wide request memory pool (`queued.max.request.bytes`); `reserved` is what the
   * connections hold now. For tests and metrics.
   */
  get memoryPool(): MemoryPool {
    return this.#memoryPool;
  }

  /**
   * The keys of the APIs whose handlers are loaded, in key order: ApiVersions from the start,
   * every other at its first request (issue #17). For tests.
   */
  get loadedApis(): number[] {
    return [...this.#handlers.keys()].sort((a, b) => a - b);
  }

  /** The buffers large Produce frames are read into, reused from request to request; for tests. */
  get frameBufferPool(): FrameBufferPool {
    return this.#frameBuffers.pool;
  }

  /** The admission of requests in slices shared by every connection (issue #17); for tests. */
  get requestScheduler(): RequestScheduler {
    return this.#scheduler;
  }

  /**
   * Request bytes each open connection holds (read ahead, being handled or answered), by
   * connection id. For tests and metrics.
   *
   * @returns Connection id -> queued bytes.
   */
  connectionQueuedBytes(): Map<number, number> {
    const out = new Map<number, number>();
    for (const [id, c] of this.#connections) out.set(id, c.conn.queuedBytes);
    return out;
  }

  /**
   * The replication layer: in cluster mode fed by the cluster view; otherwise the control plane
   * given at start (`options.replication`) hands it partition states. `undefined` on a standalone
   * broker.
   */
  get replicaManager(): ReplicaManager | undefined {
    return this.#ctx.replicas;
  }

  /**
   * Cluster mode: this broker's membership, view of the cluster and controller candidacy
   * (docs/CLUSTER.md); `undefined` in standalone mode. For tests and metrics.
   */
  get cluster(): ClusterNode | undefined {
    return this.#ctx.cluster;
  }

  /**
   * The ACL authorizer (`authorizer.class.name`); `undefined` when none is configured and every
   * request is allowed. Its ACLs can be changed here as with CreateAcls/DeleteAcls.
   */
  get authorizer(): AclAuthorizer | undefined {
    return this.#ctx.authorizer;
  }

  /**
   * Connection counts and limits (`max.connections`, `max.connections.per.ip`:
   * `connection_quotas.ts`); every shard's counts. For tests and metrics.
   */
  get connectionQuotas(): ConnectionQuotas {
    return this.#ctx.connectionQuotas!;
  }

  /** The client quotas and their sensors (AlterClientQuotas, throttling: `quotas.ts`). */
  get quotas(): ClientQuotaManager {
    return this.#ctx.quotas!;
  }

  /**
   * The request path's counters (issue #15), read by `/metrics`. For tests and metrics.
   */
  get metrics(): BrokerMetrics {
    return this.#ctx.metrics!;
  }

  /**
   * The address the admin HTTP listener (`sluice.http.listener`) bound, or `undefined` when
   * none is configured.
   */
  get httpAddress(): { host: string; port: number } | undefined {
    return this.#admin === undefined
      ? undefined
      : { host: this.#admin.host, port: this.#admin.port };
  }

  #metricsSources(): MetricsSources {
    const ctx = this.#ctx;
    return {
      metrics: ctx.metrics!,
      state: () => this.#state.value,
      listenerName: listenerSpecs(this.config)[0].name,
      // shards: every shard's connections (the counts are shared)
      connections: () =>
        this.#router === undefined ? this.#connections.size : ctx.connectionQuotas!.total,
      connectionLimits: () => ctx.connectionQuotas!.refused,
      memoryPool: this.#memoryPool,
      fetchWaiters: () => ctx.appendWaiters.parked,
      logs: ctx.logs,
      groups: ctx.groups,
      replicas: ctx.replicas,
      cluster: ctx.cluster,
      quotas: ctx.quotas,
      // opened at the first telemetry request: read at each scrape
      get clientMetrics() {
        return ctx.clientMetrics;
      },
    };
  }

  /** Why `/readyz` answers 503 once running (cluster mode: not registered in etcd), or `null`. */
  #notReadyReason(): string | null {
    const cluster = this.#ctx.cluster;
    if (cluster !== undefined && !cluster.registered) return "not registered in the cluster";
    return null;
  }

  /** The host and port given to clients of the first listener in Metadata responses. */
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
      this.#ctx.authorizer?.close(); // no more ACL changes from etcd
      await this.#security?.stop();
      this.#ctx.scramCredentials?.close(); // nor credential changes
      this.#ctx.quotas?.store.close(); // nor quota changes
      await this.#clientMetrics?.close(); // nor client metrics subscriptions
      this.#state.value = BrokerState.SHUTTING_DOWN;
      this.#console?.close();
      // Cluster mode: a controlled shutdown first (the controller moves the leaderships away and
      // drops this broker from ISRs while it still serves), then flush, then leave (lease
      // revoked: whatever it still leads moves now).
      const cluster = this.#ctx.cluster;
      if (cluster !== undefined) {
        await cluster.controlledShutdown().catch((e) =>
          this.#log.warn(`Controlled shutdown failed: ${e instanceof Error ? e.message : e}`)
        );
        await this.#ctx.logs.flush().catch((e) =>
          this.#log.warn(`Flushing the logs failed: ${e instanceof Error ? e.message : e}`)
        );
      }
      await cluster?.close().catch((e) =>
        this.#log.warn(`Leaving the cluster failed: ${e instanceof Error ? e.message : e}`)
      );
      this.#abort.abort();
      for (const l of this.#listeners) {
        try {
          l.transport.close();
        } catch {
          // Already closed.
        }
      }
      await Promise.all(this.#listeners.map((l) => l.loop));
      for (const [conn, timer] of this.#throttledSockets) {
        clearTimeout(timer);
        closeQuietly(conn);
      }
      this.#throttledSockets.clear();
      const pending = [...this.#connections.values()];
      for (const c of pending) c.conn.close();
      await Promise.allSettled(pending.map((c) => c.done));
      // shards: the others close (their requests to this one answered meanwhile), then ours
      await Promise.all(this.#workers.map((w, i) => closeShardWorker(w, i + 1, this.#log)));
      this.#router?.close();
      this.#scheduler.close();
      this.#unsubscribe();
      // coordinators being opened at a request's first use are closed once open
      await this.#coordinators?.stop();
      this.#ctx.txns?.close(); // no new markers are sent
      this.#ctx.txnVerifier?.close();
      // fetchers stop before the logs close; acks=all waits (coordinators' too) end
      await this.#ctx.replicas?.close();
      this.#ctx.fetchSessions.clear();
      await this.#ctx.txns?.drain();
      this.#ctx.groups?.close();
      await this.#ctx.logs.close();
      this.#state.value = BrokerState.NOT_RUNNING;
      await this.#admin?.close();
      this.#log.info(`Sluice broker ${this.config.nodeId} stopped; logs flushed`);
    })();
    return this.#closing;
  }

  async #accept(listener: Serving): Promise<void> {
    const backoff = new AcceptBackoff(this.#log);
    const { name, securityProtocol } = listener.spec;
    for (;;) {
      let accepted: Accepted;
      try {
        accepted = await listener.transport.accept();
      } catch (e) {
        if (this.#abort.signal.aborted) return;
        if (e instanceof Deno.errors.BadResource) return;
        // Out of descriptors (EMFILE/ENFILE) or memory: the connection stays in the kernel's
        // backlog; retrying at once would only spin and flood the log.
        await sleep(backoff.failed(e), this.#abort.signal);
        continue;
      }
      backoff.succeeded();
      // connection limits (Kafka's ConnectionQuotas): wait for a slot under max.connections,
      // then count it against its address's max.connections.per.ip
      const quotas = this.#ctx.connectionQuotas!;
      if (!quotas.slotAvailable(name)) {
        quotas.countBlocked();
        this.#log.debug(
          `max.connections reached: listener ${name} waits for a connection to close`,
        );
        while (!quotas.slotAvailable(name) && !this.#abort.signal.aborted) {
          await sleep(SLOT_POLL_MS, this.#abort.signal);
        }
        if (this.#abort.signal.aborted) {
          closeQuietly(accepted.conn);
          return;
        }
      }
      // KIP-612's max.connection.creation.rate: over it, wait before serving (and accepting more)
      const rate = quotas.creationRate(name);
      if (rate !== undefined) {
        const windowMs = this.config.quotaWindowSizeSeconds * 1000;
        const m = this.#connectionRates!.record(CONNECTION_RATE_SENSOR, 1, Date.now());
        if (m !== null && m.rate > rate) {
          // Kafka's QuotaUtils.boundedThrottleTime: at most one window
          const ms = Math.min(Math.round((m.rate - rate) / rate * m.windowMs), windowMs);
          quotas.countBlocked();
          this.#log.debug(`max.connection.creation.rate ${rate}: listener ${name} waits ${ms} ms`);
          await sleep(ms, this.#abort.signal);
          if (this.#abort.signal.aborted) {
            closeQuietly(accepted.conn);
            return;
          }
        }
      }
      const addr = accepted.conn.remoteAddr as Deno.NetAddr;
      const host = remoteHost(`${addr.hostname}:${addr.port}`);
      // KIP-612's connection_creation_rate of the address (an ip quota entity): over it, the
      // connection is held unread and closed when its throttle time ends (Kafka's
      // ConnectionThrottledException and DelayedCloseSocket), so the client waits before it
      // reconnects; it is never counted
      const throttleMs = this.#ipThrottleMs(host);
      if (throttleMs > 0) {
        quotas.countIpThrottled();
        this.#log.debug(
          `connection_creation_rate of ${host}: closing its connection on listener ${name} ` +
            `in ${throttleMs} ms`,
        );
        const conn = accepted.conn;
        this.#throttledSockets.set(
          conn,
          setTimeout(() => {
            this.#throttledSockets.delete(conn);
            closeQuietly(conn);
          }, throttleMs),
        );
        continue;
      }
      const limit = quotas.inc(name, host);
      if (limit !== null) {
        this.#log.info(
          `Closing connection from ${host} on listener ${name}: max.connections.per.ip ${limit} ` +
            `reached for ${host}`,
        );
        closeQuietly(accepted.conn);
        continue;
      }
      const id = this.#nextConnectionId++;
      this.#ctx.metrics!.connectionsCreated++;
      const conn = new Connection(
        accepted.conn,
        id,
        this.config.socketRequestMaxBytes,
        (frame, info, scratch) => this.#dispatch(frame, info, scratch),
        this.#log,
        // Request memory and time bounds (issues #7, #11).
        {
          pool: this.#memoryPool,
          scheduler: this.#scheduler,
          frameBuffers: this.#frameBuffers,
          maxQueuedBytes: this.config.connectionMaxQueuedBytes,
          idleMs: this.config.connectionsMaxIdleMs,
          readTimeoutMs: this.config.requestReadTimeoutMs,
          unauthenticatedMaxFrame: isSaslProtocol(securityProtocol)
            ? this.config.saslServerMaxReceiveSize
            : undefined,
        },
        { name, securityProtocol },
      );
      this.#log.debug(`Accepted connection ${id} from ${conn.info.remote} on listener ${name}`);
      const done = this.#serve(conn, accepted).finally(() => {
        quotas.dec(name, host);
        this.#connections.delete(id);
        this.#ctx.metrics!.connectionsClosed++;
        this.#log.debug(`Connection ${id} from ${conn.info.remote} closed`);
      });
      this.#connections.set(id, { conn, done });
    }
  }

  /**
   * Record a new connection from `host` against its `connection_creation_rate` (Kafka's
   * `ConnectionQuotas.recordIpConnectionMaybeThrottle`): the shards' shared rate, one per address,
   * recorded even when over, as Kafka's sensor does.
   *
   * @param remote The connection's address ({@linkcode remoteHost}).
   * @returns The throttle time, at most one quota window; 0 within the rate or without a quota.
   */
  #ipThrottleMs(remote: string): number {
    // an IPv4-mapped IPv6 address (a dual-stack listener) is its IPv4 address, as Java's
    // InetAddress makes it
    const host = /^::ffff:\d+\.\d+\.\d+\.\d+$/.test(remote) ? remote.slice(7) : remote;
    const rate = this.#ctx.quotas?.store.ipConnectionRate(host);
    if (rate === undefined) return 0;
    const now = Date.now();
    const windowMs = this.config.quotaWindowSizeSeconds * 1000;
    const key = `${CONNECTION_RATE_SENSOR}\u0000ip\u0000${host}`;
    let m = this.#connectionRates!.record(key, 1, now);
    if (m === null) {
      // the shared table is full: this shard measures the address alone
      let r = this.#ipRates.get(host);
      if (r === undefined) {
        if (this.#ipRates.size >= 10_000) this.#ipRates.clear();
        r = new SampledRate({ samples: this.config.quotaWindowNum, windowMs });
        this.#ipRates.set(host, r);
      }
      r.record(1, now);
      m = { rate: r.measure(now), windowMs: r.windowSize(now) };
    }
    if (m.rate <= rate) return 0;
    // Kafka's QuotaUtils.boundedThrottleTime: at most one window
    return Math.max(1, Math.min(Math.round((m.rate - rate) / rate * m.windowMs), windowMs));
  }

  /** Complete the TLS handshake (client certificate -> principal), then serve requests. */
  async #serve(conn: Connection, accepted: Accepted): Promise<void> {
    let principal: KafkaPrincipal | undefined;
    try {
      principal = await accepted.secure();
    } catch (e) {
      if (!conn.info.closed?.aborted) {
        this.#log.warn(
          `Closing connection ${conn.info.id} from ${conn.info.remote} on listener ` +
            `${conn.info.listenerName}: ${e instanceof Error ? e.message : String(e)}`,
        );
      }
      conn.close();
      return;
    }
    // SSL: the certificate is the principal; SASL_SSL: SASL authentication sets it, as Kafka
    if (principal !== undefined && conn.info.securityProtocol === "SSL") {
      conn.info.principal = principal;
      this.#log.info(
        `Connection ${conn.info.id} from ${conn.info.remote} on listener ` +
          `${conn.info.listenerName} authenticated as ${principalToString(principal)} (TLS)`,
      );
    }
    await conn.serve();
  }

  /**
   * Serve one request frame as if a connection had sent it: the same header checks, handlers,
   * metrics and response encoding, without a socket. A sharded broker (`sluice.workers`)
   * answers requests another shard forwards with it, and `bench/shards.ts` replays requests
   * from memory through it to measure the broker without a client's CPU.
   *
   * @example Answer an ApiVersions request held in memory
   * ```ts
   * import { Broker } from "./broker.ts";
   * import { encodeRequestFrame } from "../protocol/framing.ts";
   * import { ApiVersionsRequest } from "../protocol/messages/api_versions.ts";
   *
   * const dir = await Deno.makeTempDir();
   * const broker = await Broker.start({
   *   listeners: "PLAINTEXT://127.0.0.1:0",
   *   logDirs: [dir],
   *   logLevel: "silent",
   * });
   * const sized = encodeRequestFrame(ApiVersionsRequest, 3, 1, "me", ApiVersionsRequest.create());
   * const chunks = await broker.serveFrame(sized.subarray(4));
   * console.log(chunks !== null); // true
   * await broker.close();
   * await Deno.remove(dir, { recursive: true });
   * ```
   *
   * @param frame The request without its 4-byte size prefix. Produce records are views into it
   * and their base offsets are rewritten in place, so pass a frame nothing else uses.
   * @param connection The connection the request stands for (id, principal, listener); by
   * default an in-process one, `{ id: 0, remote: "in-process" }` (PLAINTEXT, anonymous).
   * @returns The response frame's chunks (size prefix included), or `null` when the request
   * gets no response (Produce with acks=0).
   * @throws {Error} If the frame is malformed where a connection would be closed for it.
   */
  serveFrame(
    frame: Uint8Array,
    connection: ConnectionInfo = { id: 0, remote: "in-process" },
  ): Promise<Uint8Array[] | null> {
    return this.#dispatch(frame, connection);
  }

  /** Serve one request, counted and timed for `/metrics` (issue #15). */
  async #dispatch(
    frame: Uint8Array,
    info: ConnectionInfo,
    scratch?: Uint8Array<ArrayBuffer>,
  ): Promise<Uint8Array[] | null> {
    const started = performance.now();
    let failed = true;
    try {
      const out = await this.#handleFrame(frame, info, scratch);
      failed = false;
      return out;
    } finally {
      const key = frame.length < 8 ? -1 : (frame[0] << 24 >> 16) | frame[1];
      const api = this.#handlers.get(key);
      const version = frame.length < 8 ? -1 : (frame[2] << 24 >> 16) | frame[3];
      // versions we cannot decode are not labels: a client could make thousands of them
      if (api !== undefined && version >= 0 && version <= api.request.maxVersion) {
        this.#ctx.metrics!.recordRequest(
          api.key,
          api.name,
          version,
          performance.now() - started,
          failed,
        );
      } else {
        // a served API whose handler could not be loaded
        const entry = api ?? this.#table.get(key);
        if (entry !== undefined) this.#ctx.metrics!.recordError(entry.key, entry.name);
      }
    }
  }

  /**
   * The handler of a served API, loaded at its first request; requests that come while it loads
   * wait for the same load. A load that fails closes the requesting connection (without the
   * codecs the request cannot even be read) and is tried again at the next request.
   */
  #loadHandler(apiKey: number, version: number, what: string): Promise<ApiHandler> {
    const entry = this.#table.get(apiKey);
    if (entry === undefined) {
      throw new CloseConnection(`unknown API key ${apiKey} (version ${version}, ${what})`);
    }
    let loading = this.#loading.get(apiKey);
    if (loading === undefined) {
      // handlers that read a part opened at first use as they serve: it is opened first
      const part = entry.needs === undefined ? undefined : this.#ctx.loadPart?.(entry.needs);
      loading = Promise.all([entry.load(), part]).then(([handler]) => {
        if (
          handler.key !== entry.key || handler.name !== entry.name ||
          handler.minVersion !== entry.minVersion || handler.maxVersion !== entry.maxVersion
        ) {
          throw new Error(
            `the handler serves ${handler.name} (key ${handler.key}) ` +
              `v${handler.minVersion}-v${handler.maxVersion}, the handler table advertises ` +
              `v${entry.minVersion}-v${entry.maxVersion}`,
          );
        }
        this.#handlers.set(apiKey, handler);
        this.#loading.delete(apiKey);
        return handler;
      }, (e) => {
        this.#loading.delete(apiKey);
        throw e;
      });
      this.#loading.set(apiKey, loading);
    }
    return loading.catch((e) => {
      const detail = e instanceof Error ? e.message : String(e);
      this.#log.error(`Cannot load the ${entry.name} handler: ${detail}`);
      throw new CloseConnection(`cannot load the ${entry.name} handler (${what}): ${detail}`);
    });
  }

  /**
   * Serve one request; the response is encoded into `scratch` while it has room (a buffer of
   * the connection's, issue #17) or into memory of its own.
   */
  async #handleFrame(
    frame: Uint8Array,
    info: ConnectionInfo,
    scratch?: Uint8Array<ArrayBuffer>,
  ): Promise<Uint8Array[] | null> {
    if (frame.length < 8) {
      throw new CloseConnection(
        `malformed request: ${frame.length} bytes is too short for a request header`,
      );
    }
    // SASL listeners: only the SASL exchange before authentication (and bare v0 tokens); a
    // request another shard forwarded passed the gate of its connection's shard
    if (isSaslProtocol(info.securityProtocol) && this.#router?.gated(info) !== true) {
      const raw = await this.#ctx.sasl!.gate(frame, info);
      if (raw !== undefined) return raw;
    }
    // read from the bytes: no DataView per request (issue #17)
    const apiKey = (frame[0] << 24 >> 16) | frame[1];
    const version = (frame[2] << 24 >> 16) | frame[3];
    const correlationId = (frame[4] << 24) | (frame[5] << 16) | (frame[6] << 8) | frame[7];
    // the handler and its codecs load at the first request of its API (issue #17)
    const api = this.#handlers.get(apiKey) ??
      await this.#loadHandler(apiKey, version, `correlation id ${correlationId}`);
    if (apiKey === API_VERSIONS_KEY && (version < 0 || version > api.maxVersion)) {
      // KIP-511: answer in v0 so any client can read our ranges and pick a version.
      this.#log.warn(
        `ApiVersions v${version} from connection ${info.id} is not supported; answering v0 with ` +
          `UNSUPPORTED_VERSION (correlation id ${correlationId})`,
      );
      return encodeResponseFrame(
        api.response,
        0,
        correlationId,
        apiVersionsFallback(this.#ctx.apis),
        scratch,
      );
    }
    if (version < api.request.minVersion || version > api.request.maxVersion) {
      throw new CloseConnection(
        `${api.name} v${version} cannot be decoded (we serve v${api.minVersion}-v${api.maxVersion}` +
          `, correlation id ${correlationId})`,
      );
    }
    let header;
    let request: unknown;
    try {
      // header and body read by one reader (decodeRequestHeader and decodeRequestBody's reads,
      // without a reader and a result object each: issue #17)
      const r = new Reader(frame);
      header = RequestHeader.read(r, requestHeaderVersion(apiKey, version));
      request = api.request.read(r, version);
      const trailingBytes = r.remaining;
      if (trailingBytes > 0) {
        // Kafka reads the declared fields and ignores the rest; so do we.
        this.#log.debug(
          `${api.name} v${version} from ${header.clientId ?? "?"} (connection ${info.id}) has ` +
            `${trailingBytes} trailing bytes after its last field; ignored (correlation id ${correlationId})`,
        );
      }
    } catch (e) {
      if (!(e instanceof ProtocolError)) throw e;
      throw new CloseConnection(
        `malformed ${api.name} v${version} request (correlation id ${correlationId}): ${e.message}`,
      );
    }
    if (this.#router !== undefined && version <= api.maxVersion) {
      // shards: another shard's partitions, or shard 0's requests, are served there
      const routed = this.#router.route(
        api,
        version,
        header.clientId,
        correlationId,
        request,
        frame,
        info,
        (f, i) => this.#handleFrame(f, i),
      );
      if (routed !== undefined) return await routed;
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
      // client quotas: a cheap check when none is configured (docs/SECURITY.md#client-quotas)
      const quotas = this.#ctx.quotas!;
      const started = quotas.store.empty ? 0 : performance.now();
      try {
        response = await api.handle(ctx, request);
      } catch (e) {
        if (e instanceof CloseConnection) throw e;
        this.#ctx.metrics!.recordError(api.key, api.name);
        const code = errorCodeOf(e);
        // a protocol string holds at most 32767 bytes; a message may quote the request's input
        const message = clipMessage(e instanceof Error ? e.message : String(e));
        const line = `${api.name} v${version} (correlation id ${correlationId}) failed with ${
          errorName(code)
        }: ${message}`;
        if (code === ErrorCode.UNKNOWN_SERVER_ERROR) this.#log.error(line);
        else this.#log.warn(line);
        response = api.errorResponse(request, code, message);
      }
      if (started !== 0) {
        response = applyQuotas(
          quotas,
          ctx,
          apiKey,
          request,
          frame.length,
          response,
          performance.now() - started - (ctx.waitedMs ?? 0),
        );
      }
    }
    if (response === null) return null;
    try {
      return encodeResponseFrame(api.response, version, correlationId, response, scratch);
    } catch (e) {
      // A handler bug: report it to the client as UNKNOWN_SERVER_ERROR if that encodes.
      const detail = e instanceof Error ? e.message : String(e);
      this.#log.error(
        `Cannot encode ${api.name} v${version} response (correlation id ${correlationId}): ${detail}`,
      );
      try {
        const fallback = api.errorResponse(request, ErrorCode.UNKNOWN_SERVER_ERROR, detail);
        return encodeResponseFrame(api.response, version, correlationId, fallback, scratch);
      } catch {
        throw new CloseConnection(
          `cannot encode ${api.name} v${version} response (correlation id ${correlationId})`,
        );
      }
    }
  }
}

/** The group and transaction coordinators, opened together. */
interface OpenCoordinators {
  groups: GroupCoordinator;
  txns: TransactionCoordinator;
}

/** SCRAM credentials and SASL authentication, opened together. */
interface Security {
  scramCredentials: ScramCredentialStore;
  sasl: SaslServer;
}

/**
 * A part of the broker opened once: at start, or at the first request that needs it (issue
 * #17). Concurrent first uses share one opening; one that fails is tried again at the next use.
 */
class LazyPart<T> {
  readonly #open: () => Promise<T>;
  readonly #close: (value: T) => void;
  #opening: Promise<T> | undefined;
  #value: T | undefined;
  #stopped = false;

  constructor(open: () => Promise<T>, close: (value: T) => void) {
    this.#open = open;
    this.#close = close;
  }

  /** The part once opened. */
  get value(): T | undefined {
    return this.#value;
  }

  /** Opens it, once; later calls return the same opening. */
  load(): Promise<T> {
    if (this.#opening !== undefined) return this.#opening;
    if (this.#stopped) {
      return Promise.reject(new Error("Cannot open it: the broker is shutting down"));
    }
    const opening = this.#open().then((v) => {
      this.#value = v;
      return v;
    }, (e) => {
      this.#opening = undefined;
      throw e;
    });
    this.#opening = opening;
    return opening;
  }

  /** No opening starts after this; resolves once the one in progress, if any, has ended. */
  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#opening?.catch(() => {});
  }

  /** Stops openings and closes what was opened. */
  async close(): Promise<void> {
    await this.stop();
    if (this.#value !== undefined) this.#close(this.#value);
  }
}

/** First pause after a failed accept; doubles with each failure in a row. */
const ACCEPT_BACKOFF_MIN_MS = 5;
/** Longest pause between accept attempts while they keep failing. */
const ACCEPT_BACKOFF_MAX_MS = 1000;
/** While accepting keeps failing, one log line per this period counts the failures. */
const ACCEPT_FAILURE_LOG_INTERVAL_MS = 10_000;

/**
 * Back-off and log throttling for a failing accept loop (EMFILE, ENFILE, ENOMEM). The pause
 * doubles from `ACCEPT_BACKOFF_MIN_MS` to `ACCEPT_BACKOFF_MAX_MS` while accepts keep failing and
 * starts over after one succeeds. At most one failure line per `ACCEPT_FAILURE_LOG_INTERVAL_MS`,
 * counting the failures since the previous one, and one line when accepting works again after
 * a logged failure: even an accept that alternately fails and succeeds logs two lines per period.
 */
class AcceptBackoff {
  readonly #log: Logger;
  #delay = 0;
  /** Failures not yet counted in a log line, since `#unloggedSince`. */
  #unlogged = 0;
  #unloggedSince = 0;
  #loggedAt = -Infinity;
  /** Failures since the last recovery line; non-zero once a failure line is out. */
  #unrecovered = 0;
  #reported = false;

  constructor(log: Logger) {
    this.#log = log;
  }

  /** Record a failed accept; returns how long to pause before the next one. */
  failed(e: unknown): number {
    const now = Date.now();
    this.#delay = this.#delay === 0
      ? ACCEPT_BACKOFF_MIN_MS
      : Math.min(this.#delay * 2, ACCEPT_BACKOFF_MAX_MS);
    if (this.#unlogged++ === 0) this.#unloggedSince = now;
    this.#unrecovered++;
    if (now - this.#loggedAt >= ACCEPT_FAILURE_LOG_INTERVAL_MS) {
      const detail = e instanceof Error ? e.message : String(e);
      const count = this.#unlogged === 1
        ? ""
        : ` (${this.#unlogged} failures in the last ${now - this.#unloggedSince} ms)`;
      this.#log.error(
        `Accepting a connection failed: ${detail}${count}; retrying in ${this.#delay} ms, ` +
          `backing off up to ${ACCEPT_BACKOFF_MAX_MS} ms (waiting connections stay in the backlog)`,
      );
      this.#unlogged = 0;
      this.#loggedAt = now;
      this.#reported = true;
    }
    return this.#delay;
  }

  /** Record a successful accept: the back-off starts over; the recovery is logged. */
  succeeded(): void {
    if (this.#delay === 0) return;
    this.#delay = 0;
    if (!this.#reported) return;
    this.#log.info(`Accepting connections again after ${this.#unrecovered} failed attempts`);
    this.#reported = false;
    this.#unrecovered = 0;
  }
}

/**
 * The TLS key of an `https://` admin listener: `sluice.http.ssl.*` over the broker's `ssl.*`
 * (key store settings; the admin listener asks no client certificate).
 */
async function adminHttpTls(config: BrokerConfig): Promise<ListenerTlsSettings> {
  const own = config.httpSslProperties;
  if (own["ssl.client.auth"] !== undefined && own["ssl.client.auth"].trim() !== "none") {
    throw new RangeError(
      `Invalid value "${
        own["ssl.client.auth"]
      }" for configuration "sluice.http.ssl.client.auth": ` +
        `the admin HTTP listener asks no client certificate (use sluice.http.auth=basic)`,
    );
  }
  // the key store only: the Kafka listeners' protocols and suites are theirs
  const props: Record<string, string> = {};
  for (const [k, v] of Object.entries(config.sslProperties)) {
    if (k.startsWith("ssl.") && k !== "ssl.enabled.protocols" && k !== "ssl.cipher.suites") {
      props[k] = v;
    }
  }
  Object.assign(props, own, { "ssl.client.auth": "none" });
  const tls = await (await import("./security/tls.ts")).loadListenerTls(props, "sluice.http");
  if (tls.protocols !== undefined) {
    throw new RangeError(
      `Invalid value "${own["ssl.enabled.protocols"]}" for configuration ` +
        `"sluice.http.ssl.enabled.protocols": Deno's HTTP server serves TLSv1.2 and TLSv1.3 and ` +
        `cannot be restricted to one`,
    );
  }
  return tls;
}

/** Every PLAIN user of every SASL listener's JAAS entry, name -> passwords (the admin listener's). */
function allPlainUsers(config: BrokerConfig): Map<string, string[]> {
  const users = new Map<string, string[]>();
  for (const [key, jaas] of Object.entries(config.saslJaasConfigs)) {
    if (!key.endsWith(".plain")) continue;
    for (const [u, p] of plainUsers(parseJaasConfig(jaas))) {
      users.set(u, [...(users.get(u) ?? []), p]);
    }
  }
  return users;
}

/** The SASL authenticator of a configuration (used by SASL listeners and the SASL APIs). */
function saslServer(
  SaslServer: typeof import("./security/sasl.ts").SaslServer,
  config: BrokerConfig,
  credentials: ScramCredentialStore,
  logger: Logger,
  closing: AbortSignal,
): SaslServer {
  const users = new Map<string, ReadonlyMap<string, string>>();
  return new SaslServer({
    enabledMechanisms: (listener) =>
      config.saslListenerMechanisms[listener.toLowerCase()] ?? config.saslEnabledMechanisms,
    plainUsers: (listener) => {
      const key = `${listener.toLowerCase()}.plain`;
      let u = users.get(key);
      if (u === undefined) {
        const jaas = config.saslJaasConfigs[key];
        u = jaas === undefined ? new Map() : plainUsers(parseJaasConfig(jaas));
        users.set(key, u);
      }
      return u;
    },
    credentials,
    maxReauthMs: config.connectionsMaxReauthMs,
    failedAuthenticationDelayMs: config.connectionFailedAuthenticationDelayMs,
    logger,
    closing,
  });
}

function localHostName(): string {
  try {
    return Deno.hostname();
  } catch {
    return "localhost";
  }
}

function formatHttpHost(h: string): string {
  return h.includes(":") ? `[${h}]` : h;
}

/**
 * The web console behind `sluice.http.auth=basic` and an ACL authorizer: its actions run the Kafka
 * handlers as an administrator, so only `super.users` may use it; any other authenticated user
 * gets 403 (the user may still scrape `/metrics`). Without authentication or without an
 * authorizer, whoever reaches the listener is the administrator (docs/SECURITY.md).
 */
function consoleAccess(handler: FallbackHandler, authorizer?: AclAuthorizer): FallbackHandler {
  return (req, url, user) => {
    if (user === undefined || authorizer === undefined) return handler(req, url);
    if (authorizer.isSuperUser(`User:${user}`)) return handler(req, url, user);
    return Promise.resolve(
      Response.json({
        error: {
          code: "CLUSTER_AUTHORIZATION_FAILED",
          message: `User:${user} is not in super.users; the web console is an administrator's ` +
            `tool when an authorizer is configured`,
        },
      }, { status: 403 }),
    );
  };
}

/** The shard count a sharded log dir was made with, or `undefined` if it has none. */
async function readShardCount(marker: string): Promise<number | undefined> {
  let text: string;
  try {
    text = await Deno.readTextFile(marker);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
  const workers = (JSON.parse(text) as { workers?: unknown }).workers;
  if (typeof workers !== "number" || !Number.isInteger(workers) || workers < 1) {
    throw new Error(`Cannot read ${marker}: no shard count in ${JSON.stringify(text)}`);
  }
  return workers;
}

/** The sensor of the connection creation rate among the shared quota rates. */
const CONNECTION_RATE_SENSOR = "connection-creation-rate\u0000broker";

/** How often a listener at `max.connections` looks for a free slot (another shard's may free). */
const SLOT_POLL_MS = 20;

function closeQuietly(conn: { close(): void }): void {
  try {
    conn.close();
  } catch {
    // already closed
  }
}

/** Start a shard in its worker (`server/shard_worker.ts`); resolves when it listens. */
function startShardWorker(w: Worker, config: BrokerConfig, shard: ShardSetup): Promise<void> {
  return new Promise((resolve, reject) => {
    w.onmessage = (e: MessageEvent<{ type: string; message?: string }>) => {
      if (e.data.type === "ready") resolve();
      else reject(new Error(`shard ${shard.index}: ${e.data.message ?? e.data.type}`));
    };
    w.onerror = (e) => {
      e.preventDefault();
      reject(new Error(`shard ${shard.index}: ${e.message}`));
    };
    const transfer = shard.ports.filter((p): p is MessagePort => p !== null);
    w.postMessage({ type: "start", config, shard }, transfer);
  });
}

/** Close a shard's broker in its worker, then end the worker (at most 60 s). */
function closeShardWorker(w: Worker, index: number, log: Logger): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      w.terminate();
      resolve();
    };
    const timer = setTimeout(() => {
      log.warn(`Shard ${index} did not close within 60 s; its worker is ended`);
      done();
    }, 60_000);
    w.onmessage = (e: MessageEvent<{ type: string; message?: string }>) => {
      if (e.data.type !== "closed") log.error(`Shard ${index} close: ${e.data.message}`);
      done();
    };
    w.onerror = (e) => {
      e.preventDefault();
      log.error(`Shard ${index} failed while closing: ${e.message}`);
      done();
    };
    w.postMessage({ type: "close" });
  });
}
