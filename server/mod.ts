// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * Sluice's Kafka wire-protocol broker.
 *
 * {@linkcode Broker.start} opens the storage engine on the first data directory and serves the
 * Kafka protocol over TCP (PLAINTEXT) until {@linkcode Broker.close}. Configuration comes from a
 * Kafka-style `server.properties` plus overrides ({@linkcode loadBrokerConfig},
 * {@linkcode brokerConfigFrom}, {@linkcode parsePropertiesFile}). Each API is one file under
 * `server/apis/`; see `server/api.ts` for the handler contract.
 *
 * Request lifecycle: `Connection` (one per socket) reads size-prefixed frames ahead into a small
 * queue (refusing frames over `socket.request.max.bytes`); the broker peeks the API key and
 * version, looks the handler up in the registry (`apis/mod.ts`; unknown key: close), decodes the
 * header and body once with the generated codecs (malformed: close), calls the handler with a
 * `RequestContext`, and encodes the response into `Writer` chunks that reference record bytes
 * instead of copying them. Requests of one connection are handled one at a time, so responses
 * leave in request order; an acks=0 Produce returns no response. Long-poll fetches park on
 * `AppendWaiters`, fed by one `LogManager.onAppend` subscription.
 *
 * Needs `--allow-net --allow-read --allow-write` (and `--allow-sys` to advertise the host name
 * when listening on all interfaces).
 *
 * @example Run an embedded broker on a free port
 * ```ts
 * import { Broker } from "./mod.ts";
 *
 * const dir = await Deno.makeTempDir();
 * const broker = await Broker.start({
 *   listeners: "PLAINTEXT://127.0.0.1:0",
 *   logDirs: [dir],
 *   logLevel: "silent",
 * });
 * console.log(`Kafka clients can bootstrap from 127.0.0.1:${broker.port}`);
 * await broker.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @example Build the config like `sluice broker server.properties --override num.partitions=3`
 * ```ts
 * import { brokerConfigFrom, parsePropertiesFile } from "./mod.ts";
 *
 * const config = brokerConfigFrom({
 *   properties: parsePropertiesFile("node.id=1\nlog.dirs=/tmp/sluice\n"),
 *   overrides: { "num.partitions": "3" },
 * });
 * console.log(config.numPartitions); // 3
 * ```
 *
 * @module
 */

export {
  type BoundListener,
  Broker,
  type BrokerStartOptions,
  type ReplicationOptions,
} from "./broker.ts";
export {
  type AlterPartitionFn,
  type BrokerEndpoint,
  type FollowerProgress,
  type ReplicaError,
  ReplicaManager,
  type ReplicaManagerOptions,
  type ReplicaManagerStats,
  type ReplicaRole,
  ReplicationError,
} from "./replica_manager.ts";
export {
  type BrokerConfig,
  brokerConfigFrom,
  type BrokerConfigSources,
  DEFAULT_BROKER_CONFIG,
  DEFAULT_LISTENER_SECURITY_PROTOCOL_MAP,
  type HttpListener,
  interBrokerListener,
  type Listener,
  type ListenerSpec,
  listenerSpecs,
  loadBrokerConfig,
  parseHttpListener,
  parseListener,
  parseListeners,
  parsePropertiesFile,
  parseSecurityProtocolMap,
  SECURITY_PROTOCOLS,
  type SecurityProtocol,
} from "./config.ts";
export {
  ANONYMOUS,
  type KafkaPrincipal,
  parsePrincipal,
  principalToString,
} from "./security/principal.ts";
export { SslPrincipalMapper, subjectDn } from "./security/ssl_principal.ts";
export {
  createLogger,
  formatJsonLogLine,
  formatLogLine,
  type LogFormat,
  type Logger,
  type LoggerOptions,
  type LogLevel,
  silentLogger,
} from "./logger.ts";
export type { ConnectionInfo } from "./connection.ts";
export { type FrameReservation, MemoryPool, type MemoryPoolOptions } from "./memory_pool.ts";
export { FrameBufferPool, type FrameBufferPoolStats } from "./frame_buffer_pool.ts";
export * from "./cluster/mod.ts";
export { BrokerMetrics, LATENCY_BUCKETS_MS, RequestCounters, TopicCounters } from "./metrics.ts";
export type { BrokerSasl, BrokerTls } from "./broker_connection.ts";
export * from "./security/authorizer.ts";
export * from "./quotas.ts";
export { type Measured, SHARED_SENSORS, SharedRates, sharedRatesBytes } from "./shared_rates.ts";
export * from "./connection_quotas.ts";
export * from "./document_store.ts";
export * from "./security/acl.ts";
export {
  loopbackTurn,
  type LoopTurn,
  RequestScheduler,
  type RequestSchedulerOptions,
  type SchedulerStats,
} from "./request_scheduler.ts";
