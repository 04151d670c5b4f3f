// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * Broker configuration: a Kafka-style `server.properties` file plus command-line overrides.
 *
 * Property names are Kafka's. Broker-level topic defaults (`log.retention.ms`, `log.segment.bytes`,
 * ...) are translated to the topic-level names (`retention.ms`, `segment.bytes`, ...) and kept in
 * {@linkcode BrokerConfig.topicDefaults}, which is what a topic without overrides uses.
 *
 * @module
 */

import { BROKER_TO_TOPIC_CONFIG, brokerConfigsToTopicDefaults } from "../engine/config.ts";
import { createLogger, type LogFormat, type Logger, type LogLevel } from "./logger.ts";
import { parseJaasConfig, plainUsers } from "./security/jaas.ts";
import { AUTHORIZER_CLASS_NAMES } from "./security/authorizer_names.ts";
import { parsePrincipal } from "./security/principal.ts";
import { parseConnectionOverrides } from "./connection_quotas.ts";

/** Everything a {@linkcode Broker} needs to run. */
export interface BrokerConfig {
  /** This broker's id (`node.id` / `broker.id`). Default 1. */
  nodeId: number;
  /**
   * Where to listen, Kafka syntax, one or more comma-separated `NAME://host:port`:
   * `"PLAINTEXT://localhost:9092,SSL://:9093"`. Port 0 picks a free port. Each name is a security
   * protocol or is mapped to one by {@linkcode BrokerConfig.listenerSecurityProtocolMap}.
   */
  listeners: string;
  /**
   * What clients are told to connect to (`advertised.listeners`), per listener name; a listener
   * not named here advertises its bound address.
   */
  advertisedListeners?: string;
  /**
   * Listener name -> security protocol (`listener.security.protocol.map`), e.g.
   * `"INTERNAL:PLAINTEXT,EXTERNAL:SSL"`. Default: each protocol's own name maps to itself.
   */
  listenerSecurityProtocolMap: string;
  /**
   * Cluster mode: the listener other brokers connect to (`inter.broker.listener.name`, or the
   * listener of `security.inter.broker.protocol`). Default: the first listener.
   */
  interBrokerListenerName?: string;
  /**
   * Every `ssl.*` and `listener.name.<name>.ssl.*` property as given (Kafka's names); read per
   * listener by `security/tls.ts`.
   */
  sslProperties: Record<string, string>;
  /** Data directories (`log.dirs`); the first one is used. Default `["./data"]`. */
  logDirs: string[];
  /** Partitions of an auto-created topic or of CreateTopics with -1 (`num.partitions`). Default 1. */
  numPartitions: number;
  /** Create unknown topics on Metadata/Produce (`auto.create.topics.enable`). Default true. */
  autoCreateTopicsEnable: boolean;
  /** Largest request frame accepted (`socket.request.max.bytes`). Default 104857600. */
  socketRequestMaxBytes: number;
  /**
   * Request memory of the whole broker (`queued.max.request.bytes`): a connection reserves a
   * request's size here before reading its body and stops reading while it cannot (issue #7).
   * `-1` is unbounded (Kafka's default); ours is 268435456 (256 MiB).
   */
  queuedMaxRequestBytes: number;
  /**
   * Request bytes one connection may hold: the request being received, requests read ahead,
   * being handled, or awaiting their response write (`sluice.connection.max.queued.bytes`). A
   * request larger than this is refused (the connection is closed and the refusal logged), so
   * the default equals `socket.request.max.bytes`'s: 104857600 (100 MiB).
   */
  connectionMaxQueuedBytes: number;
  /**
   * Close a connection without socket activity for this long, including one stopped half-way
   * through a request (`connections.max.idle.ms`). Default 600000 (Kafka's).
   */
  connectionsMaxIdleMs: number;
  /**
   * Connections the broker holds at most (`max.connections`, dynamic): beyond, listeners stop
   * accepting until one closes; the inter-broker listener is exempt when there are others.
   * Default 2147483647 (Kafka's: no limit).
   */
  maxConnections: number;
  /**
   * Connections one client address may hold (`max.connections.per.ip`, dynamic): more are closed
   * at once. Default 2147483647 (Kafka's: no limit); 0 only with overrides.
   */
  maxConnectionsPerIp: number;
  /**
   * Per-address limits instead of `max.connections.per.ip`: `host:count,...`
   * (`max.connections.per.ip.overrides`, dynamic). Default "".
   */
  maxConnectionsPerIpOverrides: string;
  /**
   * New connections per second the broker takes, over `quota.window.num` samples of
   * `quota.window.size.seconds` (`max.connection.creation.rate`, KIP-612, dynamic): over it a
   * listener waits before taking the next (at most one window); the inter-broker listener is
   * exempt when there are others. Default 2147483647 (Kafka's: no limit).
   */
  maxConnectionCreationRate: number;
  /** Samples a client quota's rate is measured over (`quota.window.num`). Default 11 (Kafka's). */
  quotaWindowNum: number;
  /** Length of one such sample, in seconds (`quota.window.size.seconds`). Default 1 (Kafka's). */
  quotaWindowSizeSeconds: number;
  /**
   * Largest client metrics payload a PushTelemetry may carry, in bytes (`telemetry.max.bytes`,
   * KIP-714). Default 1048576 (Kafka's).
   */
  telemetryMaxBytes: number;
  /**
   * Most client instances whose pushed metrics `/metrics` shows
   * (`sluice.client.metrics.max.instances`): the least recently heard of are dropped first.
   * Default 1000.
   */
  clientMetricsMaxInstances: number;
  /**
   * An OTLP/HTTP metrics endpoint (e.g. `http://collector:4318/v1/metrics`) every accepted client
   * metrics payload is posted to as it came, decompressed (`sluice.client.metrics.otlp.endpoint`).
   * Default `""`: none.
   */
  clientMetricsOtlpEndpoint: string;
  /**
   * Most segment `.log` files open at once, over all partitions (`sluice.log.max.open.files`):
   * the least recently used idle ones are closed and reopened on demand. `-1` (the default):
   * half the process's open-file limit, read from `/proc/self/limits` (which needs
   * `--allow-all`; otherwise half the descriptors still free at start-up), leaving the other
   * half for connections and the runtime.
   */
  logMaxOpenFiles: number;
  /**
   * Most partitions this broker holds, all topics and internal ones counted
   * (`max.broker.partitions`, KIP-578). CreateTopics, CreatePartitions and auto-creation that
   * would exceed it fail with POLICY_VIOLATION and create nothing. Default 10000.
   */
  maxBrokerPartitions: number;
  /**
   * Most partitions in the cluster (`max.partitions`, KIP-578); with one broker, the same
   * bound as {@linkcode BrokerConfig.maxBrokerPartitions} (the smaller applies). Default
   * 2147483647.
   */
  maxPartitions: number;
  /**
   * Close a connection whose request is not received in full this long after its first byte,
   * however slowly the bytes trickle in (`sluice.request.read.timeout.ms`). Default 30000, the
   * `request.timeout.ms` of Kafka's clients: a client has given up on such a request by then.
   */
  requestReadTimeoutMs: number;
  /**
   * Shards: partitions spread over this many threads (Deno workers), each with its own storage
   * engine under `<log dir>/shard-<i>` and its own request handlers, all listening on the same
   * ports (`reusePort`, needs `--unstable-net`); requests for another shard's partitions are
   * forwarded to it, and everything that is not per partition is served by shard 0
   * (`sluice.workers`, ARCHITECTURE.md "Shards"). Default 1: one thread, the data directory
   * itself. Standalone only (not cluster mode); fixed for a data directory once chosen.
   */
  workers: number;
  /**
   * Replication factor of auto-created topics and of CreateTopics with -1
   * (`default.replication.factor`). Default 1. Standalone, only 1 works.
   */
  defaultReplicationFactor: number;
  /**
   * Cluster mode (docs/CLUSTER.md): etcd client URLs (`controller.etcd.endpoints`,
   * comma-separated `http://host:port`). Empty (the default): standalone, one broker.
   */
  etcdEndpoints: string[];
  /** Key prefix in etcd (`controller.etcd.prefix`). Default `/sluice`. */
  etcdPrefix: string;
  /** Name of this cluster in etcd (`sluice.cluster.name`); several share one etcd. Default `sluice`. */
  clusterName: string;
  /**
   * This broker's rack (`broker.rack`), for rack-aware replica placement and the rack-aware
   * replica selector; `null`: none.
   */
  rack: string | null;
  /**
   * Cluster mode, KIP-392 (`replica.selector.class`): how a leader picks the replica a consumer
   * should fetch from. `null` (the default, as Kafka's): the leader serves every consumer;
   * `"rack-aware"` (`org.apache.kafka.common.replica.RackAwareReplicaSelector`): an in-sync
   * follower in the consumer's rack (Fetch v11+ `rack_id`), answered as `preferred_read_replica`.
   */
  replicaSelector: "rack-aware" | null;
  /**
   * Cluster mode: how long a broker's keep-alive (and heartbeat) may fail before it stops
   * leading, and before the controller fences it (`broker.session.timeout.ms`); also the TTL of
   * its etcd lease unless `sluice.broker.lease.ttl.ms` says otherwise. Default 2000.
   */
  brokerSessionTimeoutMs: number;
  /**
   * Cluster mode: the TTL of the broker's etcd lease, which holds its registration (and broker
   * epoch) after its heartbeats stopped (`sluice.broker.lease.ttl.ms`); 0: the session timeout.
   * Default 0.
   */
  brokerLeaseTtlMs: number;
  /**
   * Cluster mode: probe brokers' listeners and revoke the etcd lease of one whose listener
   * refuses connections (its process is gone), rather than wait for the lease to expire
   * (`sluice.broker.liveness.probe.enable`; docs/CLUSTER.md "Failure detection"). Default true.
   */
  livenessProbeEnable: boolean;
  /** Time between two probes of a broker (`sluice.broker.liveness.probe.interval.ms`). Default 100. */
  livenessProbeIntervalMs: number;
  /**
   * Refused connections in a row that are evidence of a dead broker
   * (`sluice.broker.liveness.probe.refusals`). Default 3.
   */
  livenessProbeRefusals: number;
  /**
   * Cluster mode: a stopping broker first asks the controller to move its leaderships away and
   * drop it from ISRs, and waits for that, before it leaves (`controlled.shutdown.enable`;
   * docs/CLUSTER.md "Controlled shutdown"). Default true.
   */
  controlledShutdownEnable: boolean;
  /**
   * How many times a stopping broker waits `controlled.shutdown.retry.backoff.ms` for its
   * controlled shutdown to complete before it leaves anyway (`controlled.shutdown.max.retries`).
   * Default 3.
   */
  controlledShutdownMaxRetries: number;
  /** One wait of a controlled shutdown (`controlled.shutdown.retry.backoff.ms`). Default 5000. */
  controlledShutdownRetryBackoffMs: number;
  /**
   * Cluster mode: the controller moves leaderships back to the preferred replicas when a
   * broker's share of partitions led by another exceeds `leader.imbalance.per.broker.percentage`
   * (`auto.leader.rebalance.enable`). Default true.
   */
  autoLeaderRebalanceEnable: boolean;
  /** How often the controller checks (`leader.imbalance.check.interval.seconds`). Default 300. */
  leaderImbalanceCheckIntervalSeconds: number;
  /**
   * The share of a broker's preferred partitions led elsewhere that triggers the rebalance
   * (`leader.imbalance.per.broker.percentage`). Default 10.
   */
  leaderImbalancePerBrokerPercentage: number;
  /** Replication factor of `__consumer_offsets` in cluster mode (`offsets.topic.replication.factor`). Default 3. */
  offsetsTopicReplicationFactor: number;
  /**
   * Replication factor of `__transaction_state` in cluster mode
   * (`transaction.state.log.replication.factor`). Default 3.
   */
  transactionStateLogReplicationFactor: number;
  /**
   * `min.insync.replicas` of a new `__transaction_state` in cluster mode
   * (`transaction.state.log.min.isr`): the transaction coordinator's writes need this many
   * in-sync replicas (else COORDINATOR_NOT_AVAILABLE). Default 2.
   */
  transactionStateLogMinIsr: number;
  /** A follower not caught up for this long leaves the ISR (`replica.lag.time.max.ms`). Default 30000. */
  replicaLagTimeMaxMs: number;
  /** Longest wait of a follower's fetch (`replica.fetch.wait.max.ms`). Default 500. */
  replicaFetchWaitMaxMs: number;
  /** Bytes a follower's fetch asks for per partition (`replica.fetch.max.bytes`). Default 1048576. */
  replicaFetchMaxBytes: number;
  /** Bytes a follower's fetch asks for in all (`replica.fetch.response.max.bytes`). Default 10485760. */
  replicaFetchResponseMaxBytes: number;
  /** A follower's pause after a fetch error (`replica.fetch.backoff.ms`). Default 1000. */
  replicaFetchBackoffMs: number;
  /**
   * A follower's wait for its leader's answer, beyond the fetch's own wait
   * (`replica.socket.timeout.ms`). Default 30000.
   */
  replicaSocketTimeoutMs: number;
  /**
   * Period of the `replication-offset-checkpoint` writes
   * (`replica.high.watermark.checkpoint.interval.ms`; 0: only at flush and close). Default 5000.
   */
  replicaHighWatermarkCheckpointIntervalMs: number;
  /**
   * Cluster mode: how long an offset commit waits for the in-sync replicas of its
   * `__consumer_offsets` partition (`offsets.commit.timeout.ms`). Default 5000.
   */
  offsetsCommitTimeoutMs: number;
  /**
   * Cluster mode: how long the transaction coordinator's writes (`__transaction_state`,
   * markers) wait for the in-sync replicas, and its requests to other brokers for an answer
   * (`request.timeout.ms`, as Kafka's inter-broker clients). Default 30000.
   */
  requestTimeoutMs: number;
  /** Retention check period (`log.retention.check.interval.ms`). Default 300000. */
  logRetentionCheckIntervalMs: number;
  /** Most incremental fetch sessions kept (`max.incremental.fetch.session.cache.slots`). Default 1000. */
  maxIncrementalFetchSessionCacheSlots: number;
  /** Partitions of a new `__consumer_offsets` (`offsets.topic.num.partitions`). Default 50. */
  offsetsTopicNumPartitions: number;
  /** How long committed offsets of empty groups are kept (`offsets.retention.minutes`). Default 10080. */
  offsetsRetentionMinutes: number;
  /** Wait for more members of a new group (`group.initial.rebalance.delay.ms`). Default 3000. */
  groupInitialRebalanceDelayMs: number;
  /** Smallest session timeout a member may ask for (`group.min.session.timeout.ms`). Default 6000. */
  groupMinSessionTimeoutMs: number;
  /** Largest session timeout a member may ask for (`group.max.session.timeout.ms`). Default 1800000. */
  groupMaxSessionTimeoutMs: number;
  /** Most members one group may have (`group.max.size`). Default 2147483647. */
  groupMaxSize: number;
  /** Session timeout of consumer-protocol members (`group.consumer.session.timeout.ms`). Default 45000. */
  groupConsumerSessionTimeoutMs: number;
  /** Heartbeat interval told to consumer-protocol members (`group.consumer.heartbeat.interval.ms`). Default 5000. */
  groupConsumerHeartbeatIntervalMs: number;
  /** Most members of a consumer-protocol group (`group.consumer.max.size`). Default 2147483647. */
  groupConsumerMaxSize: number;
  /** Server assignors, the default first (`group.consumer.assignors`: `uniform`, `range`). */
  groupConsumerAssignors: string[];
  /**
   * Least time between two resolutions of a consumer group's topic regexes
   * (`sluice.group.consumer.regex.refresh.interval.ms`; Kafka's fixed 10 s). Default 10000.
   */
  groupConsumerRegexRefreshIntervalMs: number;
  /** How often expired offsets are removed (`offsets.retention.check.interval.ms`). Default 600000. */
  offsetsRetentionCheckIntervalMs: number;
  /** Pause between log cleaner passes (`log.cleaner.backoff.ms`). Default 15000. */
  logCleanerBackoffMs: number;
  /** Partitions of a new `__transaction_state` (`transaction.state.log.num.partitions`). Default 50. */
  transactionStateLogNumPartitions: number;
  /** Largest `transaction.timeout.ms` a producer may ask for (`transaction.max.timeout.ms`). Default 900000. */
  transactionMaxTimeoutMs: number;
  /**
   * How often timed-out transactions are aborted
   * (`transaction.abort.timed.out.transaction.cleanup.interval.ms`). Default 10000.
   */
  transactionAbortTimedOutIntervalMs: number;
  /**
   * Cluster id reported in Metadata/DescribeCluster. Empty (the default) means: read it from
   * `meta.properties` in the data directory, or generate and store one there.
   */
  clusterId: string;
  /** Broker-level topic config defaults in topic-config names, e.g. `{ "retention.ms": "3600000" }`. */
  topicDefaults: Record<string, string>;
  /**
   * SASL mechanisms a SASL listener offers (`sasl.enabled.mechanisms`); a listener may have its
   * own (`listener.name.<l>.sasl.enabled.mechanisms`, in {@linkcode BrokerConfig.saslListenerMechanisms}).
   * Default `PLAIN,SCRAM-SHA-256,SCRAM-SHA-512` (Kafka's is GSSAPI, which Sluice lacks).
   */
  saslEnabledMechanisms: string[];
  /** Per-listener `sasl.enabled.mechanisms`, by lower-case listener name. */
  saslListenerMechanisms: Record<string, string[]>;
  /**
   * JAAS configurations of the SASL listeners (`listener.name.<l>.<mechanism>.sasl.jaas.config`),
   * by `<listener>.<mechanism>` in lower case, e.g. `sasl_plaintext.plain`. PLAIN's users are the
   * `user_<name>="<password>"` options of its entry.
   */
  saslJaasConfigs: Record<string, string>;
  /**
   * The SASL mechanism brokers authenticate to each other with when the inter-broker listener is
   * SASL_PLAINTEXT or SASL_SSL (`sasl.mechanism.inter.broker.protocol`): PLAIN, SCRAM-SHA-256 or
   * SCRAM-SHA-512, as the `username`/`password` options of
   * `listener.name.<inter-broker listener>.<mechanism>.sasl.jaas.config`. Default GSSAPI (Kafka's),
   * which Sluice lacks: a cluster with a SASL inter-broker listener must set it.
   */
  saslMechanismInterBrokerProtocol: string;
  /**
   * Longest SASL session before the client must re-authenticate (`connections.max.reauth.ms`,
   * KIP-368); 0 (the default, Kafka's): never.
   */
  connectionsMaxReauthMs: number;
  /**
   * How long the answer to a failed authentication waits before the connection closes
   * (`connection.failed.authentication.delay.ms`). Default 100 (Kafka's).
   */
  connectionFailedAuthenticationDelayMs: number;
  /**
   * Largest request a SASL listener reads from a connection before it has authenticated
   * (`sasl.server.max.receive.size`); a larger one closes the connection. Default 524288 (Kafka's).
   */
  saslServerMaxReceiveSize: number;
  /**
   * The authorizer (`authorizer.class.name`): `""` (the default) for none, where every request
   * is allowed, or one of `AUTHORIZER_CLASS_NAMES` (Kafka's `StandardAuthorizer` and
   * `AclAuthorizer` class names, or `sluice.acl`) for the ACL authorizer (docs/SECURITY.md).
   */
  authorizerClassName: string;
  /** Principals allowed everything by the authorizer (`super.users`, `;`-separated `User:name`). */
  superUsers: string[];
  /**
   * Allow an operation on a resource no ACL applies to (`allow.everyone.if.no.acl.found`).
   * Default false, as Kafka's.
   */
  allowEveryoneIfNoAclFound: boolean;
  /**
   * The admin HTTP listener (`sluice.http.listener`, `http://HOST:PORT` or `https://HOST:PORT`):
   * `/metrics`, `/healthz`, `/readyz` (docs/OBSERVABILITY.md). Empty (the default): none.
   */
  httpListener: string;
  /**
   * Authentication of the admin HTTP listener (`sluice.http.auth`): `none` (the default) or
   * `basic`, HTTP Basic against the broker's SASL users (PLAIN users of the JAAS entries, SCRAM
   * credentials); `/healthz` and `/readyz` stay open (docs/SECURITY.md).
   */
  httpAuth: "none" | "basic";
  /**
   * `sluice.http.ssl.*` properties (as `ssl.*`, key store only) of an `https://` admin listener;
   * they win over the broker's `ssl.*`.
   */
  httpSslProperties: Record<string, string>;
  /** Format of the default logger's lines (`sluice.log.format`): `text` (default) or `json`. */
  logFormat?: LogFormat;
  /** Where log lines go; default: stderr at {@linkcode BrokerConfig.logLevel}. */
  logger?: Logger;
  /** Lowest level written by the default logger; `"silent"` for none. Default `"info"`. */
  logLevel?: LogLevel | "silent";
}

/** The security protocols of Kafka's listeners. */
export type SecurityProtocol = "PLAINTEXT" | "SSL" | "SASL_PLAINTEXT" | "SASL_SSL";

/** Whether a security protocol authenticates with SASL (`SASL_PLAINTEXT`, `SASL_SSL`). */
export function isSaslProtocol(protocol: string | undefined): boolean {
  return protocol === "SASL_PLAINTEXT" || protocol === "SASL_SSL";
}

/** Every {@linkcode SecurityProtocol}. */
export const SECURITY_PROTOCOLS: readonly SecurityProtocol[] = Object.freeze([
  "PLAINTEXT",
  "SSL",
  "SASL_PLAINTEXT",
  "SASL_SSL",
]);

/** Kafka's default `listener.security.protocol.map`: each protocol's name maps to itself. */
export const DEFAULT_LISTENER_SECURITY_PROTOCOL_MAP =
  "PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL";

/** A parsed listener, e.g. `PLAINTEXT://localhost:9092`. */
export interface Listener {
  /** Listener name, upper case, e.g. `PLAINTEXT` or `INTERNAL`. */
  name: string;
  /** Host name or address; `""` means all interfaces. */
  host: string;
  /** Port; 0 asks the system for a free one. */
  port: number;
}

/** A listener with its security protocol (from `listener.security.protocol.map`). */
export interface ListenerSpec extends Listener {
  /** How connections on it are secured. */
  securityProtocol: SecurityProtocol;
}

/** Defaults for every {@linkcode BrokerConfig} field, matching Kafka's where Kafka has one. */
export const DEFAULT_BROKER_CONFIG: Readonly<BrokerConfig> = Object.freeze({
  nodeId: 1,
  listeners: "PLAINTEXT://localhost:9092",
  listenerSecurityProtocolMap: DEFAULT_LISTENER_SECURITY_PROTOCOL_MAP,
  sslProperties: {},
  logDirs: ["./data"],
  numPartitions: 1,
  autoCreateTopicsEnable: true,
  socketRequestMaxBytes: 104857600,
  // Request memory and time bounds (issues #7, #11).
  queuedMaxRequestBytes: 268435456,
  connectionMaxQueuedBytes: 104857600,
  connectionsMaxIdleMs: 600000,
  maxConnections: 2147483647,
  maxConnectionsPerIp: 2147483647,
  maxConnectionsPerIpOverrides: "",
  maxConnectionCreationRate: 2147483647,
  quotaWindowNum: 11,
  quotaWindowSizeSeconds: 1,
  telemetryMaxBytes: 1048576,
  clientMetricsMaxInstances: 1000,
  clientMetricsOtlpEndpoint: "",
  // File descriptors and partitions as resources (issue #11).
  logMaxOpenFiles: -1,
  maxBrokerPartitions: 10000,
  maxPartitions: 2147483647,
  requestReadTimeoutMs: 30000,
  workers: 1,
  defaultReplicationFactor: 1,
  etcdEndpoints: [],
  etcdPrefix: "/sluice",
  clusterName: "sluice",
  rack: null,
  replicaSelector: null,
  brokerSessionTimeoutMs: 2000,
  brokerLeaseTtlMs: 0,
  livenessProbeEnable: true,
  livenessProbeIntervalMs: 100,
  livenessProbeRefusals: 3,
  controlledShutdownEnable: true,
  controlledShutdownMaxRetries: 3,
  controlledShutdownRetryBackoffMs: 5000,
  autoLeaderRebalanceEnable: true,
  leaderImbalanceCheckIntervalSeconds: 300,
  leaderImbalancePerBrokerPercentage: 10,
  offsetsTopicReplicationFactor: 3,
  transactionStateLogReplicationFactor: 3,
  transactionStateLogMinIsr: 2,
  replicaLagTimeMaxMs: 30000,
  replicaFetchWaitMaxMs: 500,
  replicaFetchMaxBytes: 1048576,
  replicaFetchResponseMaxBytes: 10485760,
  replicaFetchBackoffMs: 1000,
  replicaSocketTimeoutMs: 30000,
  replicaHighWatermarkCheckpointIntervalMs: 5000,
  offsetsCommitTimeoutMs: 5000,
  requestTimeoutMs: 30000,
  logRetentionCheckIntervalMs: 300000,
  maxIncrementalFetchSessionCacheSlots: 1000,
  offsetsTopicNumPartitions: 50,
  offsetsRetentionMinutes: 10080,
  groupInitialRebalanceDelayMs: 3000,
  groupMinSessionTimeoutMs: 6000,
  groupMaxSessionTimeoutMs: 1800000,
  groupMaxSize: 2147483647,
  groupConsumerSessionTimeoutMs: 45000,
  groupConsumerHeartbeatIntervalMs: 5000,
  groupConsumerMaxSize: 2147483647,
  groupConsumerAssignors: ["uniform", "range"],
  groupConsumerRegexRefreshIntervalMs: 10000,
  offsetsRetentionCheckIntervalMs: 600000,
  logCleanerBackoffMs: 15000,
  transactionStateLogNumPartitions: 50,
  transactionMaxTimeoutMs: 900000,
  transactionAbortTimedOutIntervalMs: 10000,
  clusterId: "",
  topicDefaults: {},
  saslEnabledMechanisms: ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"],
  saslListenerMechanisms: {},
  saslJaasConfigs: {},
  saslMechanismInterBrokerProtocol: "GSSAPI",
  connectionsMaxReauthMs: 0,
  connectionFailedAuthenticationDelayMs: 100,
  saslServerMaxReceiveSize: 524288,
  authorizerClassName: "",
  superUsers: [],
  allowEveryoneIfNoAclFound: false,
  httpListener: "",
  httpAuth: "none",
  httpSslProperties: {},
});

/** `listener.name.<l>.sasl.enabled.mechanisms` and `listener.name.<l>.<mech>.sasl.jaas.config`. */
const SASL_LISTENER_KEY =
  /^listener\.name\.([a-z0-9_.-]+?)\.(?:(sasl\.enabled\.mechanisms)|(plain|scram-sha-256|scram-sha-512)\.sasl\.jaas\.config)$/;

/** The SASL mechanisms Sluice implements, for validating `sasl.enabled.mechanisms`. */
const SASL_MECHANISMS = new Set(["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]);

function saslMechanismList(key: string, value: string): string[] {
  const list = splitList(value).map((m) => m.toUpperCase());
  for (const m of list) {
    if (!SASL_MECHANISMS.has(m)) {
      throw new RangeError(
        `Invalid value "${value}" for configuration "${key}": mechanism ${m} is not ` +
          `implemented (use ${[...SASL_MECHANISMS].join(", ")})`,
      );
    }
  }
  return list;
}

/**
 * Parse the text of a Java `.properties` file (Kafka's `server.properties`).
 *
 * Supports `#`/`!` comments, `key=value`, `key: value` and `key value`, backslash line
 * continuations and the escapes `\t \n \r \f \\ \uXXXX`. Later keys replace earlier ones.
 *
 * @example Parse a small file
 * ```ts
 * import { parsePropertiesFile } from "./config.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 *
 * const props = parsePropertiesFile("# broker\nnode.id=3\nlog.dirs = /tmp/a,/tmp/b\n");
 * assertEquals(props, { "node.id": "3", "log.dirs": "/tmp/a,/tmp/b" });
 * ```
 *
 * @param text The file's contents.
 * @returns Key -> value, in file order.
 * @throws {SyntaxError} On a malformed `\u` escape.
 */
export function parsePropertiesFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const rawLines = text.split(/\r\n|\r|\n/);
  for (let i = 0; i < rawLines.length; i++) {
    let line = rawLines[i].replace(/^[ \t\f]+/, "");
    if (line === "" || line[0] === "#" || line[0] === "!") continue;
    const lineNo = i + 1;
    while (endsWithOddBackslashes(line) && i + 1 < rawLines.length) {
      line = line.slice(0, -1) + rawLines[++i].replace(/^[ \t\f]+/, "");
    }
    if (endsWithOddBackslashes(line)) line = line.slice(0, -1);
    // Find the key terminator: first unescaped '=', ':' or whitespace.
    let k = 0;
    while (k < line.length) {
      const c = line[k];
      if (c === "\\") {
        k += 2;
        continue;
      }
      if (c === "=" || c === ":" || c === " " || c === "\t" || c === "\f") break;
      k++;
    }
    const key = unescape(line.slice(0, k), lineNo);
    let v = k;
    while (v < line.length && /[ \t\f]/.test(line[v])) v++;
    if (v < line.length && (line[v] === "=" || line[v] === ":")) v++;
    while (v < line.length && /[ \t\f]/.test(line[v])) v++;
    out[key] = unescape(line.slice(v), lineNo).replace(/[ \t]+$/, "");
  }
  return out;
}

function endsWithOddBackslashes(s: string): boolean {
  let n = 0;
  for (let i = s.length - 1; i >= 0 && s[i] === "\\"; i--) n++;
  return n % 2 === 1;
}

function unescape(s: string, lineNo: number): string {
  if (!s.includes("\\")) return s;
  let out = "";
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c !== "\\") {
      out += c;
      continue;
    }
    const n = s[++i];
    if (n === undefined) break;
    if (n === "t") out += "\t";
    else if (n === "n") out += "\n";
    else if (n === "r") out += "\r";
    else if (n === "f") out += "\f";
    else if (n === "u") {
      const hex = s.slice(i + 1, i + 5);
      if (!/^[0-9a-fA-F]{4}$/.test(hex)) {
        throw new SyntaxError(
          `Cannot parse properties: malformed \\u escape "\\u${hex}" on line ${lineNo}`,
        );
      }
      out += String.fromCharCode(parseInt(hex, 16));
      i += 4;
    } else out += n;
  }
  return out;
}

/** Kafka's rack-aware replica selector (KIP-392), the one `replica.selector.class` Sluice has. */
export const RACK_AWARE_REPLICA_SELECTOR =
  "org.apache.kafka.common.replica.RackAwareReplicaSelector";

/**
 * `replica.selector.class`: empty means none (the leader serves consumers, Kafka's default);
 * Kafka's `RackAwareReplicaSelector` (also under its simple name) is the one supported.
 */
function replicaSelectorFrom(value: string): "rack-aware" | null {
  const v = value.trim();
  if (v === "") return null;
  if (v === RACK_AWARE_REPLICA_SELECTOR || v === "RackAwareReplicaSelector") return "rack-aware";
  throw new RangeError(
    `Invalid value "${value}" for configuration "replica.selector.class": Sluice has only ` +
      `${RACK_AWARE_REPLICA_SELECTOR} (or empty: the leader serves every consumer)`,
  );
}

/** Options for {@linkcode brokerConfigFrom}. */
export interface BrokerConfigSources {
  /** Properties from a `server.properties` file (see {@linkcode parsePropertiesFile}). */
  properties?: Record<string, string>;
  /** `--override key=value` pairs; they win over `properties`. */
  overrides?: Record<string, string>;
  /**
   * Called once per unknown key and for settings that contradict each other; default writes a
   * `WARN` log line to stderr.
   */
  warn?: (message: string) => void;
}

/** Kafka broker keys we accept without using them (replication, threads, KRaft plumbing...). */
const ACCEPTED_IGNORED = new Set([
  "num.network.threads",
  "num.io.threads",
  "num.replica.fetchers",
  "num.recovery.threads.per.data.dir",
  "socket.send.buffer.bytes",
  "socket.receive.buffer.bytes",
  "zookeeper.connect",
  "zookeeper.connection.timeout.ms",
  "process.roles",
  "controller.quorum.voters",
  "controller.quorum.bootstrap.servers",
  "controller.listener.names",
  "log.cleaner.enable",
  "delete.topic.enable",
  "share.coordinator.state.topic.replication.factor",
  "share.coordinator.state.topic.min.isr",
]);

type ValueKind = "positive-int" | "non-negative-int" | "positive-long" | "boolean";

const INT_MAX = 2147483647;

function validateBrokerValue(key: string, value: string, kind: ValueKind): string {
  const v = value.trim();
  const fail = (what: string): never => {
    throw new RangeError(`Invalid value "${value}" for configuration "${key}": ${what}`);
  };
  if (kind === "boolean") {
    const b = v.toLowerCase();
    if (b !== "true" && b !== "false") fail("must be true or false");
    return b;
  }
  if (!/^[+-]?\d+$/.test(v)) fail("not an integer");
  const n = Number(v);
  if (!Number.isSafeInteger(n)) fail("integer out of range");
  if (kind === "positive-int" && (n < 1 || n > INT_MAX)) fail(`must be between 1 and ${INT_MAX}`);
  if (kind === "non-negative-int" && (n < 0 || n > INT_MAX)) {
    fail(`must be between 0 and ${INT_MAX}`);
  }
  if (kind === "positive-long" && n < 1) fail("must be at least 1");
  return String(n);
}

/**
 * Parse a listener list (`listeners` / `advertised.listeners`) in Kafka's syntax, leaving out
 * the names listed in `controllerNames` (`controller.listener.names`).
 *
 * @example
 * ```ts
 * import { parseListeners } from "./config.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 *
 * assertEquals(parseListeners("PLAINTEXT://localhost:9092,ssl://:9093"), [
 *   { name: "PLAINTEXT", host: "localhost", port: 9092 },
 *   { name: "SSL", host: "", port: 9093 },
 * ]);
 * ```
 *
 * @param value The listener list, e.g. `"PLAINTEXT://:9092,CONTROLLER://:9093"`.
 * @param controllerNames Listener names to leave out.
 * @returns The listeners, in the order given.
 * @throws {RangeError} If the list is malformed, names a listener twice, uses a port twice or
 * has no listener left.
 */
export function parseListeners(value: string, controllerNames: string[] = []): Listener[] {
  const fail = (what: string): never => {
    throw new RangeError(`Invalid listeners "${value}": ${what}`);
  };
  const entries = value.split(",").map((s) => s.trim()).filter((s) => s !== "");
  if (entries.length === 0) fail("no listener given");
  const parsed: Listener[] = [];
  for (const entry of entries) {
    const m = /^([A-Za-z0-9_.-]+):\/\/(\[[^\]]*\]|[^:\/\[\]]*):(\d+)$/.exec(entry);
    if (m === null) fail(`"${entry}" is not NAME://host:port`);
    const port = Number(m![3]);
    if (port > 65535) fail(`port ${port} is out of range 0-65535`);
    const host = m![2].startsWith("[") ? m![2].slice(1, -1) : m![2];
    const name = m![1].toUpperCase();
    if (parsed.some((l) => l.name === name)) fail(`listener name ${name} appears twice`);
    if (port !== 0 && parsed.some((l) => l.port === port && l.host === host)) {
      fail(`port ${port} is used by two listeners`);
    }
    parsed.push({ name, host, port });
  }
  const skip = new Set(controllerNames.map((n) => n.trim().toUpperCase()));
  const usable = parsed.filter((l) => !skip.has(l.name));
  if (usable.length === 0) fail("every listener is a controller listener");
  return usable;
}

/**
 * Parse a listener list and return its first listener (what a single-listener caller serves).
 *
 * @example
 * ```ts
 * import { parseListener } from "./config.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 *
 * assertEquals(parseListener("PLAINTEXT://localhost:9092"), {
 *   name: "PLAINTEXT",
 *   host: "localhost",
 *   port: 9092,
 * });
 * assertEquals(parseListener("PLAINTEXT://[::1]:0").host, "::1");
 * ```
 *
 * @param value The listener list.
 * @param controllerNames Listener names to skip.
 * @returns The first listener not skipped.
 * @throws {RangeError} As {@linkcode parseListeners}.
 */
export function parseListener(value: string, controllerNames: string[] = []): Listener {
  return parseListeners(value, controllerNames)[0];
}

/**
 * Parse `listener.security.protocol.map` (`NAME:PROTOCOL,...`).
 *
 * @example
 * ```ts
 * import { parseSecurityProtocolMap } from "./config.ts";
 * console.assert(parseSecurityProtocolMap("INTERNAL:PLAINTEXT,external:ssl").get("EXTERNAL") === "SSL");
 * ```
 *
 * @param value The map.
 * @returns Listener name (upper case) -> protocol.
 * @throws {RangeError} On a malformed entry or an unknown protocol.
 */
export function parseSecurityProtocolMap(value: string): Map<string, SecurityProtocol> {
  const out = new Map<string, SecurityProtocol>();
  for (const entry of splitList(value)) {
    const m = /^([A-Za-z0-9_.-]+)\s*:\s*([A-Za-z_]+)$/.exec(entry);
    const protocol = m?.[2].toUpperCase() as SecurityProtocol | undefined;
    if (m === null || protocol === undefined || !SECURITY_PROTOCOLS.includes(protocol)) {
      throw new RangeError(
        `Invalid value "${value}" for configuration "listener.security.protocol.map": ` +
          `"${entry}" is not NAME:PROTOCOL with PROTOCOL one of ${SECURITY_PROTOCOLS.join(", ")}`,
      );
    }
    out.set(m[1].toUpperCase(), protocol);
  }
  return out;
}

/**
 * The listeners of a configuration with their security protocols, in `listeners` order.
 *
 * @example
 * ```ts
 * import { DEFAULT_BROKER_CONFIG, listenerSpecs } from "./config.ts";
 * console.assert(listenerSpecs(DEFAULT_BROKER_CONFIG)[0].securityProtocol === "PLAINTEXT");
 * ```
 *
 * @param config `listeners` and `listener.security.protocol.map`.
 * @returns One spec per listener.
 * @throws {RangeError} If a listener's name has no protocol in the map.
 */
export function listenerSpecs(
  config: Pick<BrokerConfig, "listeners" | "listenerSecurityProtocolMap">,
): ListenerSpec[] {
  const map = parseSecurityProtocolMap(config.listenerSecurityProtocolMap);
  return parseListeners(config.listeners).map((l) => {
    const securityProtocol = map.get(l.name);
    if (securityProtocol === undefined) {
      throw new RangeError(
        `Invalid listeners "${config.listeners}": listener ${l.name} has no security protocol; ` +
          `name it PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL, or map it in ` +
          `listener.security.protocol.map (e.g. ${l.name}:SSL)`,
      );
    }
    return { ...l, securityProtocol };
  });
}

/**
 * The listener other brokers connect to: `inter.broker.listener.name`, else the first listener.
 *
 * @example
 * ```ts
 * import { brokerConfigFrom, interBrokerListener } from "./config.ts";
 * const c = brokerConfigFrom({
 *   properties: { "listeners": "PLAINTEXT://:9092,SSL://:9093", "inter.broker.listener.name": "SSL" },
 * });
 * console.assert(interBrokerListener(c).port === 9093);
 * ```
 *
 * @param config The configuration.
 * @returns The listener's spec.
 * @throws {RangeError} If `inter.broker.listener.name` names no listener.
 */
export function interBrokerListener(config: BrokerConfig): ListenerSpec {
  const specs = listenerSpecs(config);
  if (config.interBrokerListenerName === undefined) return specs[0];
  const found = specs.find((l) => l.name === config.interBrokerListenerName);
  if (found === undefined) {
    throw new RangeError(
      `Invalid configuration: inter.broker.listener.name ${config.interBrokerListenerName} is ` +
        `not one of the listeners (${specs.map((l) => l.name).join(", ")})`,
    );
  }
  return found;
}

/** How a broker authenticates to the others' SASL inter-broker listener. */
export interface InterBrokerSasl {
  /** `sasl.mechanism.inter.broker.protocol`. */
  mechanism: "PLAIN" | "SCRAM-SHA-256" | "SCRAM-SHA-512";
  /** The `username` option of the listener's JAAS entry for the mechanism. */
  username: string;
  /** Its `password` option. */
  password: string;
}

/**
 * The credentials a broker authenticates to the other brokers with, as Kafka's inter-broker
 * clients take them: when the inter-broker listener is SASL_PLAINTEXT or SASL_SSL, the mechanism
 * `sasl.mechanism.inter.broker.protocol` (which that listener must enable) and the `username` and
 * `password` options of `listener.name.<listener>.<mechanism>.sasl.jaas.config`.
 *
 * @example
 * ```ts
 * import { DEFAULT_BROKER_CONFIG, interBrokerSasl } from "./config.ts";
 * const sasl = interBrokerSasl({
 *   ...DEFAULT_BROKER_CONFIG,
 *   listeners: "SASL_PLAINTEXT://:9092",
 *   saslMechanismInterBrokerProtocol: "SCRAM-SHA-512",
 *   saslJaasConfigs: {
 *     "sasl_plaintext.scram-sha-512": "org.apache.kafka.common.security.scram.ScramLoginModule " +
 *       'required username="broker" password="broker-secret";',
 *   },
 * });
 * console.assert(sasl?.username === "broker");
 * ```
 *
 * @param config The configuration.
 * @returns The credentials, or `undefined` when the inter-broker listener does not use SASL.
 * @throws {RangeError} If the mechanism is not one Sluice implements or the listener does not
 *   enable, or the JAAS entry is missing or lacks `username`/`password`.
 */
export function interBrokerSasl(config: BrokerConfig): InterBrokerSasl | undefined {
  const listener = interBrokerListener(config);
  if (listener.securityProtocol !== "SASL_PLAINTEXT" && listener.securityProtocol !== "SASL_SSL") {
    return undefined;
  }
  const mechanism = config.saslMechanismInterBrokerProtocol;
  const what = `the inter-broker listener ${listener.name} is ${listener.securityProtocol}`;
  if (!SASL_MECHANISMS.has(mechanism)) {
    throw new RangeError(
      `Invalid configuration: ${what}, and sasl.mechanism.inter.broker.protocol is ${mechanism}: ` +
        `set it to one of ${[...SASL_MECHANISMS].join(", ")}`,
    );
  }
  const enabled = config.saslListenerMechanisms[listener.name.toLowerCase()] ??
    config.saslEnabledMechanisms;
  if (!enabled.includes(mechanism)) {
    throw new RangeError(
      `Invalid configuration: sasl.mechanism.inter.broker.protocol ${mechanism} is not enabled on ` +
        `the inter-broker listener ${listener.name} (its sasl.enabled.mechanisms: ` +
        `${enabled.join(",") || "none"})`,
    );
  }
  const key = `listener.name.${listener.name.toLowerCase()}.${mechanism.toLowerCase()}` +
    `.sasl.jaas.config`;
  const text = config.saslJaasConfigs[`${listener.name.toLowerCase()}.${mechanism.toLowerCase()}`];
  if (text === undefined) {
    throw new RangeError(
      `Invalid configuration: ${what} with ${mechanism}, and ${key} is not set: give it the ` +
        `broker's own username="..." password="..."`,
    );
  }
  const { options } = parseJaasConfig(text);
  const username = options["username"];
  const password = options["password"];
  if (username === undefined || username === "" || password === undefined) {
    throw new RangeError(
      `Invalid configuration: ${key} has no username="..." password="..." options, which the ` +
        `broker authenticates to the other brokers with`,
    );
  }
  return { mechanism: mechanism as InterBrokerSasl["mechanism"], username, password };
}

/**
 * Build a {@linkcode BrokerConfig} from `server.properties` values and overrides, validating
 * every known key and warning about unknown ones.
 *
 * @example
 * ```ts
 * import { brokerConfigFrom } from "./config.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 *
 * const config = brokerConfigFrom({
 *   properties: { "node.id": "2", "log.retention.hours": "1" },
 *   overrides: { "num.partitions": "3" },
 * });
 * assertEquals(config.nodeId, 2);
 * assertEquals(config.numPartitions, 3);
 * assertEquals(config.topicDefaults["retention.ms"], "3600000");
 * ```
 *
 * @param sources Properties, overrides and the warning sink.
 * @returns A complete config.
 * @throws {RangeError} On a bad value, naming the key and the value.
 */
export function brokerConfigFrom(sources: BrokerConfigSources = {}): BrokerConfig {
  const warn = sources.warn ?? createLogger().warn;
  const props: Record<string, string> = { ...sources.properties, ...sources.overrides };
  const config: BrokerConfig = {
    ...DEFAULT_BROKER_CONFIG,
    logDirs: [...DEFAULT_BROKER_CONFIG.logDirs],
    topicDefaults: {},
    saslEnabledMechanisms: [...DEFAULT_BROKER_CONFIG.saslEnabledMechanisms],
    saslListenerMechanisms: {},
    saslJaasConfigs: {},
    sslProperties: {},
    httpSslProperties: {},
  };
  const int = (key: string, kind: ValueKind): number =>
    Number(validateBrokerValue(key, props[key], kind));
  const logProps: Record<string, string> = {};

  for (const key of Object.keys(props)) {
    const value = props[key];
    switch (key) {
      case "node.id":
      case "broker.id": {
        config.nodeId = int(key, "non-negative-int");
        const other = props[key === "node.id" ? "broker.id" : "node.id"];
        if (other !== undefined && other.trim() !== String(config.nodeId)) {
          throw new RangeError(
            `Invalid configuration: node.id (${props["node.id"]}) and broker.id ` +
              `(${props["broker.id"]}) differ`,
          );
        }
        break;
      }
      // Controller listeners (KRaft) are left out: Sluice serves no controller protocol.
      case "listeners":
        config.listeners = parseListeners(
          value,
          splitList(props["controller.listener.names"] ?? ""),
        ).map(formatListener).join(",");
        break;
      case "advertised.listeners":
        config.advertisedListeners = parseListeners(
          value,
          splitList(props["controller.listener.names"] ?? ""),
        ).map(formatListener).join(",");
        break;
      case "listener.security.protocol.map":
        parseSecurityProtocolMap(value);
        config.listenerSecurityProtocolMap = value.trim();
        break;
      case "inter.broker.listener.name":
        if (props["security.inter.broker.protocol"] !== undefined) {
          throw new RangeError(
            `Invalid configuration: only one of inter.broker.listener.name and ` +
              `security.inter.broker.protocol may be set, as in Kafka`,
          );
        }
        config.interBrokerListenerName = value.trim().toUpperCase();
        break;
      case "security.inter.broker.protocol": {
        const p = value.trim().toUpperCase() as SecurityProtocol;
        if (!SECURITY_PROTOCOLS.includes(p)) {
          throw new RangeError(
            `Invalid value "${value}" for configuration "${key}": must be one of ` +
              SECURITY_PROTOCOLS.join(", "),
          );
        }
        config.interBrokerListenerName = p;
        break;
      }
      case "log.dirs":
      case "log.dir": {
        if (key === "log.dir" && props["log.dirs"] !== undefined) break;
        const dirs = splitList(value);
        if (dirs.length === 0) {
          throw new RangeError(`Invalid value "${value}" for configuration "${key}": empty`);
        }
        config.logDirs = dirs;
        break;
      }
      case "num.partitions":
        config.numPartitions = int(key, "positive-int");
        break;
      case "default.replication.factor":
        config.defaultReplicationFactor = int(key, "positive-int");
        break;
      // Cluster mode (docs/CLUSTER.md).
      case "controller.etcd.endpoints":
        config.etcdEndpoints = splitList(value).map((e) => {
          if (!/^https?:\/\/(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}\/?$/.test(e)) {
            throw new RangeError(
              `Invalid value "${value}" for configuration "${key}": "${e}" is not ` +
                `http://host:port`,
            );
          }
          return e.replace(/\/$/, "");
        });
        break;
      case "controller.etcd.prefix": {
        const v = value.trim();
        if (!/^\/[\x21-\x7e]*$/.test(v) || v.endsWith("/") && v !== "/") {
          throw new RangeError(
            `Invalid value "${value}" for configuration "${key}": must start with "/", not end ` +
              `with "/", and hold no spaces`,
          );
        }
        config.etcdPrefix = v === "/" ? "" : v;
        break;
      }
      case "sluice.cluster.name":
        if (!/^[A-Za-z0-9._-]{1,64}$/.test(value.trim())) {
          throw new RangeError(
            `Invalid value "${value}" for configuration "${key}": use 1-64 of A-Z a-z 0-9 . _ -`,
          );
        }
        config.clusterName = value.trim();
        break;
      case "broker.rack":
        config.rack = value.trim() === "" ? null : value.trim();
        break;
      case "replica.selector.class":
        config.replicaSelector = replicaSelectorFrom(value);
        break;
      case "broker.session.timeout.ms":
        config.brokerSessionTimeoutMs = int(key, "positive-int");
        break;
      case "sluice.broker.lease.ttl.ms":
        config.brokerLeaseTtlMs = int(key, "non-negative-int");
        break;
      case "sluice.broker.liveness.probe.enable":
        config.livenessProbeEnable = validateBrokerValue(key, value, "boolean") === "true";
        break;
      case "sluice.broker.liveness.probe.interval.ms":
        config.livenessProbeIntervalMs = int(key, "positive-int");
        break;
      case "sluice.broker.liveness.probe.refusals":
        config.livenessProbeRefusals = int(key, "positive-int");
        break;
      case "controlled.shutdown.enable":
        config.controlledShutdownEnable = validateBrokerValue(key, value, "boolean") === "true";
        break;
      case "controlled.shutdown.max.retries":
        config.controlledShutdownMaxRetries = int(key, "positive-int");
        break;
      case "controlled.shutdown.retry.backoff.ms":
        config.controlledShutdownRetryBackoffMs = int(key, "positive-int");
        break;
      case "auto.leader.rebalance.enable":
        config.autoLeaderRebalanceEnable = validateBrokerValue(key, value, "boolean") === "true";
        break;
      case "leader.imbalance.check.interval.seconds":
        config.leaderImbalanceCheckIntervalSeconds = int(key, "positive-int");
        break;
      case "leader.imbalance.per.broker.percentage": {
        const n = int(key, "non-negative-int");
        if (n > 100) {
          throw new RangeError(
            `Invalid value "${value}" for configuration "${key}": must be between 0 and 100`,
          );
        }
        config.leaderImbalancePerBrokerPercentage = n;
        break;
      }
      case "offsets.topic.replication.factor":
        config.offsetsTopicReplicationFactor = int(key, "positive-int");
        break;
      case "transaction.state.log.replication.factor":
        config.transactionStateLogReplicationFactor = int(key, "positive-int");
        break;
      case "transaction.state.log.min.isr":
        config.transactionStateLogMinIsr = int(key, "positive-int");
        break;
      case "replica.lag.time.max.ms":
        config.replicaLagTimeMaxMs = int(key, "positive-long");
        break;
      case "replica.fetch.wait.max.ms":
        config.replicaFetchWaitMaxMs = int(key, "non-negative-int");
        break;
      case "replica.fetch.max.bytes":
        config.replicaFetchMaxBytes = int(key, "positive-int");
        break;
      case "replica.fetch.response.max.bytes":
        config.replicaFetchResponseMaxBytes = int(key, "positive-int");
        break;
      case "replica.fetch.backoff.ms":
        config.replicaFetchBackoffMs = int(key, "non-negative-int");
        break;
      case "replica.socket.timeout.ms":
        config.replicaSocketTimeoutMs = int(key, "positive-int");
        break;
      case "replica.high.watermark.checkpoint.interval.ms":
        config.replicaHighWatermarkCheckpointIntervalMs = int(key, "non-negative-int");
        break;
      case "offsets.commit.timeout.ms":
        config.offsetsCommitTimeoutMs = int(key, "positive-int");
        break;
      case "request.timeout.ms":
        config.requestTimeoutMs = int(key, "positive-int");
        break;
      case "auto.create.topics.enable":
        config.autoCreateTopicsEnable = validateBrokerValue(key, value, "boolean") === "true";
        break;
      case "socket.request.max.bytes":
        config.socketRequestMaxBytes = int(key, "positive-int");
        break;
      // Request memory bounds (issue #7).
      case "queued.max.request.bytes": {
        const v = value.trim();
        if (
          v !== "-1" &&
          (!/^\+?\d+$/.test(v) || !(Number(v) >= 1 && Number.isSafeInteger(Number(v))))
        ) {
          throw new RangeError(
            `Invalid value "${value}" for configuration "${key}": must be -1 (unbounded) or at least 1`,
          );
        }
        config.queuedMaxRequestBytes = Number(v);
        break;
      }
      case "sluice.connection.max.queued.bytes":
        config.connectionMaxQueuedBytes = int(key, "positive-long");
        break;
      case "connections.max.idle.ms":
        config.connectionsMaxIdleMs = int(key, "positive-long");
        break;
      case "max.connections":
        config.maxConnections = int(key, "non-negative-int");
        break;
      case "max.connections.per.ip":
        config.maxConnectionsPerIp = int(key, "non-negative-int");
        break;
      case "max.connection.creation.rate":
        config.maxConnectionCreationRate = int(key, "non-negative-int");
        break;
      case "max.connections.per.ip.overrides":
        parseConnectionOverrides(value);
        config.maxConnectionsPerIpOverrides = value;
        break;
      case "quota.window.num":
        config.quotaWindowNum = int(key, "positive-int");
        break;
      case "quota.window.size.seconds":
        config.quotaWindowSizeSeconds = int(key, "positive-int");
        break;
      case "telemetry.max.bytes":
        config.telemetryMaxBytes = int(key, "positive-int");
        break;
      case "sluice.client.metrics.max.instances":
        config.clientMetricsMaxInstances = int(key, "positive-int");
        break;
      case "sluice.client.metrics.otlp.endpoint":
        if (value !== "" && !/^https?:\/\/[^/]+/.test(value)) {
          throw new RangeError(
            `Invalid value "${value}" for configuration "${key}": expected an http:// or https:// URL`,
          );
        }
        config.clientMetricsOtlpEndpoint = value;
        break;
      case "sluice.request.read.timeout.ms":
        config.requestReadTimeoutMs = int(key, "positive-int");
        break;
      case "sluice.workers":
        config.workers = int(key, "positive-int");
        if (config.workers > 256) {
          throw new RangeError(`Invalid ${key}: ${config.workers} is more than 256 shards`);
        }
        break;
      // File descriptors and partitions as resources (issue #11).
      case "sluice.log.max.open.files":
        config.logMaxOpenFiles = value.trim() === "-1" ? -1 : int(key, "positive-int");
        break;
      case "max.broker.partitions":
        config.maxBrokerPartitions = int(key, "positive-int");
        break;
      case "max.partitions":
        config.maxPartitions = int(key, "positive-int");
        break;
      case "log.retention.check.interval.ms":
        config.logRetentionCheckIntervalMs = int(key, "positive-long");
        break;
      case "max.incremental.fetch.session.cache.slots":
        config.maxIncrementalFetchSessionCacheSlots = int(key, "non-negative-int");
        break;
      case "offsets.topic.num.partitions":
        config.offsetsTopicNumPartitions = int(key, "positive-int");
        break;
      case "offsets.retention.minutes":
        config.offsetsRetentionMinutes = int(key, "positive-int");
        break;
      case "group.initial.rebalance.delay.ms":
        config.groupInitialRebalanceDelayMs = int(key, "non-negative-int");
        break;
      case "group.min.session.timeout.ms":
        config.groupMinSessionTimeoutMs = int(key, "positive-int");
        break;
      case "group.max.session.timeout.ms":
        config.groupMaxSessionTimeoutMs = int(key, "positive-int");
        break;
      case "group.max.size":
        config.groupMaxSize = int(key, "positive-int");
        break;
      case "group.consumer.session.timeout.ms":
        config.groupConsumerSessionTimeoutMs = int(key, "positive-int");
        break;
      case "group.consumer.heartbeat.interval.ms":
        config.groupConsumerHeartbeatIntervalMs = int(key, "positive-int");
        break;
      case "group.consumer.max.size":
        config.groupConsumerMaxSize = int(key, "positive-int");
        break;
      case "sluice.group.consumer.regex.refresh.interval.ms":
        config.groupConsumerRegexRefreshIntervalMs = int(key, "non-negative-int");
        break;
      case "group.consumer.assignors": {
        const names = splitList(value).map((n) =>
          n === "org.apache.kafka.coordinator.group.assignor.UniformAssignor"
            ? "uniform"
            : n === "org.apache.kafka.coordinator.group.assignor.RangeAssignor"
            ? "range"
            : n
        );
        const unknown = names.find((n) => n !== "uniform" && n !== "range");
        if (names.length === 0 || unknown !== undefined) {
          throw new Error(
            `Invalid value for group.consumer.assignors: "${value}": the assignors are ` +
              `uniform and range`,
          );
        }
        config.groupConsumerAssignors = names;
        break;
      }
      case "offsets.retention.check.interval.ms":
        config.offsetsRetentionCheckIntervalMs = int(key, "positive-long");
        break;
      case "log.cleaner.backoff.ms":
        config.logCleanerBackoffMs = int(key, "positive-long");
        break;
      case "transaction.state.log.num.partitions":
        config.transactionStateLogNumPartitions = int(key, "positive-int");
        break;
      case "transaction.max.timeout.ms":
        config.transactionMaxTimeoutMs = int(key, "positive-int");
        break;
      case "transaction.abort.timed.out.transaction.cleanup.interval.ms":
        config.transactionAbortTimedOutIntervalMs = int(key, "positive-int");
        break;
      // SASL (issue #14, docs/SECURITY.md).
      case "sasl.enabled.mechanisms":
        config.saslEnabledMechanisms = saslMechanismList(key, value);
        break;
      case "sasl.mechanism.inter.broker.protocol":
        config.saslMechanismInterBrokerProtocol = saslMechanismList(key, value)[0] ?? "GSSAPI";
        break;
      case "connections.max.reauth.ms":
        config.connectionsMaxReauthMs = int(key, "non-negative-int");
        break;
      case "connection.failed.authentication.delay.ms":
        config.connectionFailedAuthenticationDelayMs = int(key, "non-negative-int");
        break;
      case "sasl.server.max.receive.size":
        config.saslServerMaxReceiveSize = int(key, "positive-int");
        break;
      case "authorizer.class.name": {
        const v = value.trim();
        if (v !== "" && !AUTHORIZER_CLASS_NAMES.includes(v)) {
          throw new RangeError(
            `Invalid value "${value}" for configuration "authorizer.class.name": Sluice's ACL ` +
              `authorizer is enabled with one of ${AUTHORIZER_CLASS_NAMES.join(", ")}`,
          );
        }
        config.authorizerClassName = v;
        break;
      }
      case "super.users":
        config.superUsers = value.split(";").map((s) => s.trim()).filter((s) => s !== "");
        for (const u of config.superUsers) {
          try {
            parsePrincipal(u);
          } catch (e) {
            throw new RangeError(
              `Invalid value "${value}" for configuration "super.users": ${(e as Error).message}`,
            );
          }
        }
        break;
      case "allow.everyone.if.no.acl.found":
        config.allowEveryoneIfNoAclFound = validateBrokerValue(key, value, "boolean") === "true";
        break;
      // Observability (issue #15, docs/OBSERVABILITY.md).
      case "sluice.http.listener":
        if (value.trim() !== "") parseHttpListener(value);
        config.httpListener = value.trim();
        break;
      case "sluice.http.auth": {
        const v = value.trim().toLowerCase();
        if (v !== "none" && v !== "basic") {
          throw new RangeError(
            `Invalid value "${value}" for configuration "sluice.http.auth": use none or basic`,
          );
        }
        config.httpAuth = v;
        break;
      }
      case "sluice.log.format": {
        const v = value.trim();
        if (v !== "text" && v !== "json") {
          throw new RangeError(
            `Invalid value "${value}" for configuration "${key}": use text or json`,
          );
        }
        config.logFormat = v;
        break;
      }
      case "cluster.id":
        if (!/^[A-Za-z0-9_-]{1,64}$/.test(value.trim())) {
          throw new RangeError(
            `Invalid value "${value}" for configuration "cluster.id": use 1-64 of A-Z a-z 0-9 _ -`,
          );
        }
        config.clusterId = value.trim();
        break;
      default:
        if (BROKER_TO_TOPIC_CONFIG.has(key)) {
          // Validate alone first so the error names the broker key the user wrote.
          try {
            brokerConfigsToTopicDefaults({ [key]: value });
          } catch (e) {
            const detail = e instanceof Error ? e.message : String(e);
            throw new RangeError(`Invalid value "${value}" for configuration "${key}": ${detail}`);
          }
          logProps[key] = value;
        } else if (SASL_LISTENER_KEY.test(key)) {
          const m = SASL_LISTENER_KEY.exec(key)!;
          if (m[2] !== undefined) {
            config.saslListenerMechanisms[m[1]] = saslMechanismList(key, value);
          } else {
            try {
              const jaas = parseJaasConfig(value);
              if (m[3] === "plain") plainUsers(jaas);
            } catch (e) {
              throw new RangeError(
                `Invalid value for configuration "${key}": ${e instanceof Error ? e.message : e}`,
              );
            }
            config.saslJaasConfigs[`${m[1]}.${m[3]}`] = value;
          }
        } else if (key.startsWith("sluice.http.ssl.")) {
          config.httpSslProperties[key.slice("sluice.http.".length)] = value;
        } else if (key.startsWith("ssl.") || /^listener\.name\.[^.]+\.ssl\./i.test(key)) {
          config.sslProperties[key] = value;
        } else if (!ACCEPTED_IGNORED.has(key)) {
          warn(`Unknown configuration "${key}" (value "${value}") is ignored`);
        }
    }
  }
  // The engine applies Kafka's precedence (log.retention.ms over .minutes over .hours, ...).
  config.topicDefaults = brokerConfigsToTopicDefaults(logProps);
  if (config.etcdEndpoints.length > 0) {
    if (config.topicDefaults["unclean.leader.election.enable"] === "true") {
      throw new RangeError(
        `Invalid value "true" for configuration "unclean.leader.election.enable": cluster mode ` +
          `implements only false (a leader is always elected from the ISR)`,
      );
    }
    if (config.replicaFetchWaitMaxMs >= config.replicaLagTimeMaxMs) {
      throw new RangeError(
        `Invalid configuration: replica.fetch.wait.max.ms (${config.replicaFetchWaitMaxMs}) ` +
          `must be below replica.lag.time.max.ms (${config.replicaLagTimeMaxMs}), as Kafka ` +
          `requires, or every follower would leave the ISR`,
      );
    }
  }
  // Listeners: every name has a protocol, the inter-broker listener exists, and advertised
  // listeners name only listeners.
  const specs = listenerSpecs(config);
  interBrokerListener(config);
  if (config.advertisedListeners !== undefined) {
    for (const a of parseListeners(config.advertisedListeners)) {
      if (!specs.some((l) => l.name === a.name)) {
        throw new RangeError(
          `Invalid configuration: advertised.listeners names ${a.name}, which is not one of the ` +
            `listeners (${specs.map((l) => l.name).join(", ")})`,
        );
      }
    }
  }
  if (config.connectionMaxQueuedBytes < config.socketRequestMaxBytes) {
    warn(
      `sluice.connection.max.queued.bytes (${config.connectionMaxQueuedBytes}) is below ` +
        `socket.request.max.bytes (${config.socketRequestMaxBytes}): requests larger than ` +
        `${config.connectionMaxQueuedBytes} bytes are refused`,
    );
  }
  return config;
}

/** An admin listener's address, from `sluice.http.listener`. */
export interface HttpListener {
  /** Host name or address to bind (`localhost`, `127.0.0.1`, `0.0.0.0`, `::1`). */
  host: string;
  /** Port; 0 asks the system for a free one. */
  port: number;
  /** `https://`: serve with TLS (the broker's `ssl.keystore.*`, or `sluice.http.ssl.*`). */
  tls?: true;
}

/**
 * Parse `sluice.http.listener`: `http://HOST:PORT` or `https://HOST:PORT`, host and port both
 * required (the listener binds only where it is told).
 *
 * @example
 * ```ts
 * import { parseHttpListener } from "./config.ts";
 *
 * console.log(parseHttpListener("http://localhost:9644")); // { host: "localhost", port: 9644 }
 * console.log(parseHttpListener("https://[::1]:0")); // { host: "::1", port: 0, tls: true }
 * ```
 *
 * @param value The property's value.
 * @returns The host and port, and `tls` for `https://`.
 * @throws {RangeError} If the value is not `http(s)://HOST:PORT` with a port from 0 to 65535.
 */
export function parseHttpListener(value: string): HttpListener {
  const m = /^(https?):\/\/(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})\/?$/.exec(value.trim());
  const port = m === null ? NaN : Number(m[3]);
  if (m === null || port > 65535) {
    throw new RangeError(
      `Invalid value "${value}" for configuration "sluice.http.listener": use http://HOST:PORT ` +
        `or https://HOST:PORT (e.g. http://localhost:9644), port 0-65535`,
    );
  }
  const host = m[2].replace(/^\[|\]$/g, "");
  return m[1] === "https" ? { host, port, tls: true } : { host, port };
}

function formatListener(l: Listener): string {
  return `${l.name}://${l.host.includes(":") ? `[${l.host}]` : l.host}:${l.port}`;
}

function splitList(value: string): string[] {
  return value.split(",").map((s) => s.trim()).filter((s) => s !== "");
}

/**
 * Build a config from `sluice broker` arguments:
 * `[server.properties] [--override key=value]... [--listeners L] [--log-dirs D] [--node-id N]`
 * `[--quiet]`. Flags also accept the `--flag=value` form. The properties file is read from disk.
 *
 * @example
 * ```ts
 * import { loadBrokerConfig } from "./config.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 *
 * const config = await loadBrokerConfig(["--listeners", "PLAINTEXT://localhost:0", "--quiet"]);
 * assertEquals(config.listeners, "PLAINTEXT://localhost:0");
 * assertEquals(config.logLevel, "silent");
 * ```
 *
 * @param args Command-line arguments after `broker`.
 * @param warn Called once per unknown key; default writes to stderr.
 * @returns A complete config.
 * @throws {RangeError} On an unknown flag, a missing flag value or a bad config value.
 * @throws {Deno.errors.NotFound} If the properties file does not exist (needs `--allow-read`).
 */
export async function loadBrokerConfig(
  args: string[],
  warn?: (message: string) => void,
): Promise<BrokerConfig> {
  let file: string | undefined;
  const overrides: Record<string, string> = {};
  let quiet = false;
  const flagKeys: Record<string, string> = {
    "--listeners": "listeners",
    "--advertised-listeners": "advertised.listeners",
    "--log-dirs": "log.dirs",
    "--node-id": "node.id",
    "--num-partitions": "num.partitions",
    "--cluster-id": "cluster.id",
    "--log-format": "sluice.log.format",
  };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (!arg.startsWith("--")) {
      if (file !== undefined) {
        throw new RangeError(
          `Invalid arguments: more than one properties file ("${file}", "${arg}")`,
        );
      }
      file = arg;
      continue;
    }
    const eq = arg.indexOf("=");
    const flag = eq === -1 ? arg : arg.slice(0, eq);
    if (flag === "--quiet") {
      quiet = true;
      continue;
    }
    if (flag !== "--override" && flagKeys[flag] === undefined) {
      throw new RangeError(`Invalid arguments: unknown flag "${flag}"`);
    }
    let value: string;
    if (eq !== -1) value = arg.slice(eq + 1);
    else {
      if (i + 1 >= args.length) throw new RangeError(`Invalid arguments: ${flag} needs a value`);
      value = args[++i];
    }
    if (flag === "--override") {
      const e = value.indexOf("=");
      if (e <= 0) throw new RangeError(`Invalid arguments: --override "${value}" is not key=value`);
      overrides[value.slice(0, e).trim()] = value.slice(e + 1);
    } else overrides[flagKeys[flag]] = value;
  }
  const properties = file === undefined ? {} : parsePropertiesFile(await Deno.readTextFile(file));
  const config = brokerConfigFrom({ properties, overrides, warn });
  if (quiet) config.logLevel = "silent";
  return config;
}
