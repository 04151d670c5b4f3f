// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * What `/metrics` shows: the broker's counters ({@linkcode BrokerMetrics}) and the state of its
 * logs, groups, replicas and connections, read at scrape time into metric families. Names follow
 * the Prometheus JMX exporter's usual rendering of Kafka's MBeans (`kafka.server<type=
 * BrokerTopicMetrics, name=MessagesInPerSec, topic=t><>Count` becomes
 * `kafka_server_brokertopicmetrics_messagesin_total{topic="t"}`); consumer lag follows
 * kafka_exporter's `kafka_consumergroup_lag`; what Kafka has no MBean for is `sluice_*`.
 * docs/OBSERVABILITY.md lists every family.
 *
 * @module
 */

import type { LogManager } from "../../engine/mod.ts";
import type { ClusterNode } from "../cluster/cluster.ts";
import type { GroupCoordinator } from "../group/mod.ts";
import { parseOffsetKey } from "../group/group.ts";
import type { MemoryPool } from "../memory_pool.ts";
import type { ClientMetricsManager } from "../client_metrics.ts";
import { type BrokerMetrics, LATENCY_BUCKETS_MS } from "../metrics.ts";
import type { ReplicaManager, ReplicaManagerStats } from "../replica_manager.ts";
import type { MetricFamily, Sample } from "./exposition.ts";
import type { BrokerStateValue } from "./broker_state.ts";

export { BrokerState, brokerStateName, type BrokerStateValue } from "./broker_state.ts";

/** Where {@linkcode collectMetrics} reads from; absent parts are left out of the exposition. */
export interface MetricsSources {
  /** The request path's counters. */
  metrics: BrokerMetrics;
  /** The broker's lifecycle state. */
  state: () => BrokerStateValue;
  /** The Kafka listener's name (`PLAINTEXT`), the `listener` label of connection metrics. */
  listenerName?: string;
  /** Open Kafka connections. */
  connections?: () => number;
  /** The request memory pool (`queued.max.request.bytes`). */
  memoryPool?: MemoryPool;
  /** Fetches parked in their long poll (the fetch purgatory). */
  fetchWaiters?: () => number;
  /** The storage engine. */
  logs?: LogManager;
  /** The group coordinator. */
  groups?: GroupCoordinator;
  /** The replication layer (cluster mode). */
  replicas?: ReplicaManager;
  /** Cluster mode's membership and view. */
  cluster?: ClusterNode;
  /** Connection limits' counters (`../connection_quotas.ts`), every shard's. */
  connectionLimits?: () => { perIp: number; blocked: number; ipThrottled?: number };
  /** Client quotas' throttle counters, per quota (`../quotas.ts`). */
  quotas?: {
    throttleMsTotal: Readonly<Record<string, number>>;
    throttledTotal: Readonly<Record<string, number>>;
  };
  /** Client metrics (KIP-714): the instances' pushed metrics and the manager's counters. */
  clientMetrics?: ClientMetricsManager;
}

type Labels = readonly (readonly [string, string])[];

function family(
  name: string,
  type: MetricFamily["type"],
  help: string,
  samples: Sample[] = [],
): MetricFamily {
  return { name, type, help, samples };
}

function one(name: string, type: MetricFamily["type"], help: string, v: number): MetricFamily {
  return family(name, type, help, [{ labels: [], value: v }]);
}

/**
 * Read every metric now.
 *
 * @example
 * ```ts
 * import { BrokerState, collectMetrics } from "./collect.ts";
 * import { writeExposition } from "./exposition.ts";
 * import { BrokerMetrics } from "../metrics.ts";
 *
 * const metrics = new BrokerMetrics();
 * metrics.topic("t").messagesIn = 5;
 * const text = writeExposition(
 *   collectMetrics({ metrics, state: () => BrokerState.RUNNING }),
 *   "text",
 * );
 * console.log(text.includes('kafka_server_brokertopicmetrics_messagesin_total{topic="t"} 5'));
 * ```
 *
 * @param s The sources.
 * @returns The metric families, in a stable order.
 */
export function collectMetrics(s: MetricsSources): MetricFamily[] {
  const out: MetricFamily[] = [];
  const m = s.metrics;
  const replicaStats = s.replicas?.stats();
  out.push(
    one(
      "kafka_server_kafkaserver_brokerstate",
      "gauge",
      "Broker state as Kafka numbers it: 1 starting, 2 recovering logs, 3 running, 7 shutting down",
      s.state(),
    ),
  );

  // ---- per topic (BrokerTopicMetrics): deleted topics' counters are dropped here
  if (s.logs !== undefined) {
    for (const t of [...m.topics.keys()]) if (s.logs.topic(t) === undefined) m.topics.delete(t);
  }
  const topics = [...m.topics.keys()].sort();
  const topicCounter = (name: string, help: string, pick: (t: string) => number) =>
    family(
      `kafka_server_brokertopicmetrics_${name}`,
      "counter",
      help,
      topics.map((t) => ({ labels: [["topic", t]], value: pick(t) })),
    );
  const tc = (t: string) => m.topics.get(t)!;
  out.push(
    topicCounter("messagesin", "Records appended by producers", (t) => tc(t).messagesIn),
    topicCounter("bytesin", "Record batch bytes appended by producers", (t) => tc(t).bytesIn),
    topicCounter("bytesout", "Record bytes sent to consumers", (t) => tc(t).bytesOut),
    topicCounter(
      "replicationbytesout",
      "Record bytes sent to follower brokers",
      (t) => tc(t).replicationBytesOut,
    ),
    topicCounter(
      "totalproducerequests",
      "Partition appends asked for by Produce requests",
      (t) => tc(t).produceRequests,
    ),
    topicCounter(
      "failedproducerequests",
      "Partition appends of Produce requests that failed",
      (t) => tc(t).failedProduceRequests,
    ),
    topicCounter(
      "totalfetchrequests",
      "Partitions read by Fetch requests",
      (t) => tc(t).fetchRequests,
    ),
    topicCounter(
      "failedfetchrequests",
      "Partitions of Fetch requests answered with an error",
      (t) => tc(t).failedFetchRequests,
    ),
  );

  // ---- per API (RequestMetrics)
  const requests = m.requests();
  const requestsTotal = family(
    "kafka_network_requestmetrics_requests",
    "counter",
    "Requests by API and version",
  );
  const errors = family(
    "kafka_network_requestmetrics_errors",
    "counter",
    "Requests whose handling failed as a whole (answered with an error for every part, or the " +
      "connection closed)",
  );
  const latency = family(
    "kafka_network_requestmetrics_totaltimems",
    "histogram",
    "Time from a request's decoding to its encoded response, in milliseconds",
  );
  for (const r of requests) {
    const req: [string, string] = ["request", r.name];
    for (let v = 0; v < r.byVersion.length; v++) {
      const n = r.byVersion[v];
      if (n !== undefined) {
        requestsTotal.samples.push({ labels: [req, ["version", `${v}`]], value: n });
      }
    }
    errors.samples.push({ labels: [req], value: r.errors });
    let cumulative = 0;
    for (let i = 0; i < LATENCY_BUCKETS_MS.length; i++) {
      cumulative += r.buckets[i];
      latency.samples.push({
        labels: [req, ["le", `${LATENCY_BUCKETS_MS[i]}`]],
        value: cumulative,
        suffix: "_bucket",
      });
    }
    cumulative += r.buckets[LATENCY_BUCKETS_MS.length];
    latency.samples.push({ labels: [req, ["le", "+Inf"]], value: cumulative, suffix: "_bucket" });
    latency.samples.push({ labels: [req], value: r.sumMs, suffix: "_sum" });
    latency.samples.push({ labels: [req], value: cumulative, suffix: "_count" });
  }
  out.push(requestsTotal, errors, latency);

  // ---- purgatories, connections, request memory
  const purgatory = family(
    "kafka_server_delayedoperationpurgatory_purgatorysize",
    "gauge",
    "Requests waiting: Produce (acks=all until the in-sync replicas have the records), Fetch " +
      "(long polls waiting for data)",
  );
  purgatory.samples.push(
    { labels: [["delayedoperation", "Produce"]], value: replicaStats?.ackWaiters ?? 0 },
    { labels: [["delayedoperation", "Fetch"]], value: s.fetchWaiters?.() ?? 0 },
  );
  out.push(purgatory);
  const listener: Labels = [["listener", s.listenerName ?? "PLAINTEXT"]];
  out.push(
    family("kafka_server_socket_server_metrics_connection_count", "gauge", "Open connections", [
      { labels: listener, value: s.connections?.() ?? 0 },
    ]),
    family(
      "kafka_server_socket_server_metrics_connection_creation",
      "counter",
      "Connections accepted",
      [{ labels: listener, value: m.connectionsCreated }],
    ),
    family(
      "kafka_server_socket_server_metrics_connection_close",
      "counter",
      "Connections closed",
      [{ labels: listener, value: m.connectionsClosed }],
    ),
  );
  if (s.connectionLimits !== undefined) {
    const r = s.connectionLimits();
    out.push(
      one(
        "sluice_connections_refused",
        "counter",
        "Connections closed at once because their address had max.connections.per.ip open",
        r.perIp,
      ),
      one(
        "sluice_connections_blocked",
        "counter",
        "Accepts that waited for a slot because the broker held max.connections",
        r.blocked,
      ),
      one(
        "sluice_connections_ip_throttled",
        "counter",
        "Connections closed after their throttle time because their address was over its " +
          "connection_creation_rate (KIP-612 ip quota)",
        r.ipThrottled ?? 0,
      ),
    );
  }
  if (s.quotas !== undefined) {
    // Kafka's quota sensors are type=Produce, Fetch and Request
    const kinds: [string, string][] = [
      ["Produce", "producer_byte_rate"],
      ["Fetch", "consumer_byte_rate"],
      ["Request", "request_percentage"],
    ];
    const q = s.quotas;
    out.push(
      family(
        "kafka_server_quota_throttle_time_ms",
        "counter",
        "Throttle time given to clients over a quota, in milliseconds",
        kinds.map(([type, key]) => ({ labels: [["type", type]], value: q.throttleMsTotal[key] })),
      ),
      family(
        "kafka_server_quota_throttled_requests",
        "counter",
        "Responses throttled because a client went over a quota",
        kinds.map(([type, key]) => ({ labels: [["type", type]], value: q.throttledTotal[key] })),
      ),
    );
  }
  if (s.memoryPool !== undefined) {
    const pool = s.memoryPool;
    out.push(
      one(
        "kafka_network_socketserver_memorypoolused",
        "gauge",
        "Request bytes held in the queued.max.request.bytes pool",
        pool.reserved,
      ),
      one(
        "kafka_network_socketserver_memorypoolavailable",
        "gauge",
        "Request bytes still free in the pool (+Inf when queued.max.request.bytes=-1)",
        pool.capacity - pool.reserved,
      ),
      one(
        "sluice_network_memorypool_waiting",
        "gauge",
        "Requests waiting for request memory",
        pool.waiting,
      ),
    );
  }

  // ---- logs (kafka.log:type=Log), retention and cleaner
  if (s.logs !== undefined) out.push(...logFamilies(s.logs));
  // ---- replication (kafka.server:type=ReplicaManager, kafka.controller:type=KafkaController)
  if (s.replicas !== undefined || s.cluster !== undefined) {
    out.push(...replicaFamilies(s, replicaStats));
  }
  // ---- consumer groups
  if (s.groups !== undefined) out.push(...groupFamilies(s.groups, s.logs));
  out.push(...processFamilies());
  // ---- client metrics (KIP-714): last, so that no client's name can take a broker family's
  if (s.clientMetrics !== undefined) {
    out.push(...clientMetricsFamilies(s.clientMetrics, new Set(out.map((f) => f.name))));
  }
  return out;
}

/** A metric name as Prometheus allows it: `org.apache.kafka.x` -> `org_apache_kafka_x`. */
export function promMetricName(name: string): string {
  const s = name.replace(/[^a-zA-Z0-9_:]/g, "_");
  return /^[0-9]/.test(s) ? `_${s}` : s;
}

/** A label name as Prometheus allows it (`__` reserved: prefixed with `attr`). */
function promLabelName(name: string): string {
  const s = name.replace(/[^a-zA-Z0-9_]/g, "_");
  return /^[0-9]/.test(s) || s.startsWith("__") || s === "" ? `attr_${s}` : s;
}

/**
 * The client metrics manager's counters and every live client instance's latest pushed values:
 * one family per metric name, a series per instance and data point attributes, labelled
 * `client_instance_id` and `client_id` first. Monotonic sums are counters (a name's `_total`
 * dropped: the exposition adds it), gauges and other sums gauges; histograms and summaries are
 * not shown. A name taken by a broker family, or by another client's metric of another type, is
 * skipped.
 */
function clientMetricsFamilies(cm: ClientMetricsManager, taken: Set<string>): MetricFamily[] {
  const instances = cm.instances();
  const out: MetricFamily[] = [
    one(
      "kafka_server_client_metrics_instance_count",
      "gauge",
      "Client instances whose metrics the broker keeps (KIP-714)",
      instances.length,
    ),
    one(
      "sluice_client_metrics_pushes",
      "counter",
      "PushTelemetry requests accepted",
      cm.stats.pushes,
    ),
    one(
      "sluice_client_metrics_push_errors",
      "counter",
      "PushTelemetry requests refused",
      cm.stats.pushErrors,
    ),
    one(
      "sluice_client_metrics_throttled",
      "counter",
      "GetTelemetrySubscriptions and PushTelemetry requests sent before the push interval",
      cm.stats.throttled,
    ),
    one(
      "sluice_client_metrics_unknown_subscription",
      "counter",
      "PushTelemetry requests with an unknown subscription id",
      cm.stats.unknownSubscription,
    ),
  ];
  for (const f of out) taken.add(f.name);
  const families = new Map<string, MetricFamily>();
  for (const inst of instances) {
    for (const p of inst.values.values()) {
      if (p.kind !== "gauge" && p.kind !== "sum") continue;
      const counter = p.kind === "sum" && p.monotonic;
      let name = promMetricName(p.name);
      if (counter) name = name.replace(/_total$/, "");
      if (taken.has(name)) continue;
      let f = families.get(name);
      if (f === undefined) {
        f = family(name, counter ? "counter" : "gauge", `Client metric ${p.name} (KIP-714)`);
        families.set(name, f);
      } else if (f.type !== (counter ? "counter" : "gauge")) continue;
      const labels: [string, string][] = [
        ["client_instance_id", inst.id],
        ["client_id", inst.client.clientId],
      ];
      for (const [k, v] of p.attributes) {
        const l = promLabelName(k);
        if (!labels.some(([have]) => have === l)) labels.push([l, v]);
      }
      f.samples.push({ labels, value: p.value });
    }
  }
  out.push(...[...families.keys()].sort().map((k) => families.get(k)!));
  return out;
}

function logFamilies(logs: LogManager): MetricFamily[] {
  const size = family("kafka_log_log_size", "gauge", "Bytes of the partition's segments");
  const end = family("kafka_log_log_logendoffset", "gauge", "The partition's log end offset");
  const start = family("kafka_log_log_logstartoffset", "gauge", "The partition's log start offset");
  const segments = family("kafka_log_log_numlogsegments", "gauge", "The partition's segments");
  const hw = family(
    "sluice_log_highwatermark",
    "gauge",
    "The partition's high watermark (consumers read below it)",
  );
  for (const t of logs.listTopics()) {
    const indexes = t.localPartitions ?? Array.from({ length: t.partitions }, (_, i) => i);
    for (const p of indexes) {
      // a partition never used since the last clean shutdown is not made for a scrape
      const log = logs.madePartition(t.name, p);
      if (log === undefined && !logs.hasPartition(t.name, p)) continue;
      const labels: Labels = [["topic", t.name], ["partition", `${p}`]];
      size.samples.push({ labels, value: log?.sizeInBytes ?? 0 });
      end.samples.push({ labels, value: log?.logEndOffset ?? 0 });
      start.samples.push({ labels, value: log?.logStartOffset ?? 0 });
      segments.samples.push({ labels, value: log?.segmentCount ?? 1 });
      hw.samples.push({ labels, value: log?.highWatermark ?? 0 });
    }
  }
  const a = logs.activity;
  return [
    size,
    end,
    start,
    segments,
    hw,
    one(
      "sluice_log_retention_runs",
      "counter",
      "Retention passes over every partition",
      a.retentionRuns,
    ),
    one(
      "sluice_log_retention_segments_deleted",
      "counter",
      "Segments deleted by retention",
      a.retentionSegmentsDeleted,
    ),
    one("sluice_log_cleaner_runs", "counter", "Log cleaner passes", a.cleanerRuns),
    one(
      "sluice_log_cleaner_partitions_cleaned",
      "counter",
      "Partitions compacted by the log cleaner",
      a.cleanerPartitionsCleaned,
    ),
    one(
      "sluice_log_cleaner_read_bytes",
      "counter",
      "Bytes read by the log cleaner",
      a.cleanerBytesRead,
    ),
    one(
      "sluice_log_cleaner_written_bytes",
      "counter",
      "Bytes written by the log cleaner",
      a.cleanerBytesWritten,
    ),
    one(
      "sluice_log_cleaner_records_removed",
      "counter",
      "Records removed by the log cleaner",
      a.cleanerRecordsRemoved,
    ),
    one(
      "sluice_log_cleaner_failures",
      "counter",
      "Partitions whose cleaning failed",
      a.cleanerFailures,
    ),
  ];
}

function replicaFamilies(
  s: MetricsSources,
  stats: ReplicaManagerStats | undefined,
): MetricFamily[] {
  const st = stats ??
    { partitions: 0, leaders: 0, underReplicated: 0, offline: 0, ackWaiters: 0 };
  const out = [
    one(
      "kafka_server_replicamanager_partitioncount",
      "gauge",
      "Partitions replicated on this broker",
      st.partitions,
    ),
    one(
      "kafka_server_replicamanager_leadercount",
      "gauge",
      "Partitions this broker leads",
      st.leaders,
    ),
    one(
      "kafka_server_replicamanager_underreplicatedpartitions",
      "gauge",
      "Partitions this broker leads whose ISR is smaller than their replica set",
      st.underReplicated,
    ),
  ];
  const controller = s.cluster?.controller?.active === true;
  let offline = 0;
  if (controller) {
    // like Kafka, the active controller reports the cluster's offline partitions; others 0
    const view = s.cluster!.view;
    for (const [name, t] of view.topics()) {
      for (let p = 0; p < t.value.replicas.length; p++) {
        if ((view.partition(name, p)?.value.leader ?? -1) === -1) offline++;
      }
    }
  }
  out.push(
    one(
      "kafka_controller_kafkacontroller_activecontrollercount",
      "gauge",
      "1 on the active controller, 0 elsewhere",
      controller ? 1 : 0,
    ),
    one(
      "kafka_controller_kafkacontroller_offlinepartitionscount",
      "gauge",
      "Partitions without a leader (reported by the active controller; 0 elsewhere)",
      offline,
    ),
  );
  return out;
}

function groupFamilies(groups: GroupCoordinator, logs: LogManager | undefined): MetricFamily[] {
  const current = family(
    "kafka_consumergroup_current_offset",
    "gauge",
    "The group's committed offset of the partition",
  );
  const lag = family(
    "kafka_consumergroup_lag",
    "gauge",
    "Records between the group's committed offset and the partition's high watermark",
  );
  const members = family("kafka_consumergroup_members", "gauge", "Members of the group");
  for (const g of groups.listGroups()) {
    const meta = groups.group(g.groupId);
    if (meta === undefined) continue;
    const group: [string, string] = ["consumergroup", g.groupId];
    // a consumer-protocol (KIP-848) group's members are its ConsumerGroup's
    members.samples.push({
      labels: [group],
      value: meta.consumer?.members.size ?? meta.members.size,
    });
    const keys = [...meta.offsets.keys()].map(parseOffsetKey).sort((a, b) =>
      a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] - b[1]
    );
    for (const [topic, partition] of keys) {
      const committed = meta.offsets.get(`${topic}\u0000${partition}`)!.offset;
      const labels: Labels = [group, ["topic", topic], ["partition", `${partition}`]];
      current.samples.push({ labels, value: committed });
      const log = logs?.partition(topic, partition);
      if (log !== undefined && committed >= 0) {
        lag.samples.push({ labels, value: Math.max(0, log.highWatermark - committed) });
      }
    }
  }
  return [current, lag, members];
}

function processFamilies(): MetricFamily[] {
  const mem = Deno.memoryUsage();
  return [
    one("process_resident_memory_bytes", "gauge", "Resident memory size in bytes", mem.rss),
    one("sluice_process_heap_used_bytes", "gauge", "V8 heap in use, in bytes", mem.heapUsed),
    one(
      "process_start_time_seconds",
      "gauge",
      "Start time of the process since the epoch, in seconds",
      PROCESS_START_SECONDS,
    ),
  ];
}

const PROCESS_START_SECONDS = Math.round((Date.now() - performance.now()) / 1000);
