/**
 * `sluice cluster`: the cluster as any broker sees it — its brokers (the controller marked),
 * under-replicated partitions and offline partitions — from one Metadata request (Kafka's
 * brokers, controller id, and every partition's leader, replicas, ISR and offline replicas).
 * Works against any Kafka-compatible broker; a standalone Sluice broker is a one-broker cluster.
 * `sluice cluster elect-leaders`, `reassign` and `decommission` are in `cluster_ops.ts`.
 *
 * @module
 */

import { Client, type TopicInfo } from "../client/mod.ts";
import { parseFlags, UsageError } from "./args.ts";
import { runDecommission, runElectLeaders, runReassign } from "./cluster_ops.ts";
import { formatTable } from "./groups.ts";
import type { CommandIo } from "./io.ts";
import { COMMAND_CONFIG_HELP, COMMAND_CONFIG_OPTION, commandConfig } from "./command_config.ts";

/** Help text of `sluice cluster`. */
export const CLUSTER_HELP: string = `Usage: sluice cluster [--bootstrap-server HOST:PORT] [OPTIONS]
       sluice cluster elect-leaders|reassign|decommission [OPTIONS]   (--help for each)

Lists the cluster's brokers (the controller marked *), its under-replicated partitions (a
leader, but fewer in-sync replicas than replicas) and its offline partitions (no leader), as
the broker reached sees them.

Operations:
  elect-leaders  Preferred (or unclean) leader elections
  reassign       Move partitions' replicas (a plan in kafka-reassign-partitions.sh's JSON),
                 list, verify or cancel reassignments
  decommission   Move every replica off a broker so that it can be stopped

Options:
  --bootstrap-server LIST  Brokers to connect to (default localhost:9092); any one will do
  --output FORMAT          text (default) or json
${COMMAND_CONFIG_HELP}  -h, --help               Show this help
`;

/** A broker in {@linkcode ClusterReport}. */
export interface ClusterBroker {
  /** Node id. */
  id: number;
  /** Advertised host. */
  host: string;
  /** Advertised port. */
  port: number;
  /** Rack, or `null`. */
  rack: string | null;
  /** Whether it is the controller. */
  controller: boolean;
}

/** A partition in {@linkcode ClusterReport}. */
export interface ClusterPartition {
  /** Topic. */
  topic: string;
  /** Partition index. */
  partition: number;
  /** Leader (-1: none). */
  leader: number;
  /** Replicas, preferred leader first. */
  replicas: number[];
  /** In-sync replicas. */
  isr: number[];
  /** Replicas on brokers that are not alive. */
  offlineReplicas: number[];
}

/** What `sluice cluster` reports (`--output json` prints it as is). */
export interface ClusterReport {
  /** Cluster id, or `null` if the broker gave none. */
  clusterId: string | null;
  /** Controller's node id (-1: none known). */
  controller: number;
  /** Live brokers, by id. */
  brokers: ClusterBroker[];
  /** Topics, internal ones included. */
  topics: number;
  /** Partitions over all topics. */
  partitions: number;
  /** Partitions with a leader and fewer in-sync replicas than replicas. */
  underReplicatedPartitions: ClusterPartition[];
  /** Partitions without a leader. */
  offlinePartitions: ClusterPartition[];
}

/**
 * Builds the report from a Metadata response's brokers, controller and topics.
 *
 * @example
 * ```ts
 * import { clusterReport } from "./cluster.ts";
 *
 * const r = clusterReport("c1", 1, [{ nodeId: 1, host: "h", port: 9092, rack: null }], [
 *   { name: "t", topicId: "AAAAAAAAAAAAAAAAAAAAAA", internal: false, partitions: [
 *     { partition: 0, leader: 1, leaderEpoch: 0, replicas: [1, 2], isr: [1], offlineReplicas: [2], errorCode: 0 },
 *   ] },
 * ]);
 * console.assert(r.underReplicatedPartitions.length === 1 && r.offlinePartitions.length === 0);
 * ```
 *
 * @param clusterId The cluster id.
 * @param controller The controller's node id.
 * @param brokers The brokers.
 * @param topics The topics (those with a topic-level error are left out).
 * @returns The report, brokers by id and partitions by topic and index.
 */
export function clusterReport(
  clusterId: string | null,
  controller: number,
  brokers: { nodeId: number; host: string; port: number; rack: string | null }[],
  topics: TopicInfo[],
): ClusterReport {
  const ok = topics.filter((t) => ((t as { errorCode?: number }).errorCode ?? 0) === 0)
    .sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  const under: ClusterPartition[] = [];
  const offline: ClusterPartition[] = [];
  let partitions = 0;
  for (const t of ok) {
    for (const p of [...t.partitions].sort((a, b) => a.partition - b.partition)) {
      partitions++;
      const row: ClusterPartition = {
        topic: t.name,
        partition: p.partition,
        leader: p.leader,
        replicas: [...p.replicas],
        isr: [...p.isr],
        offlineReplicas: [...p.offlineReplicas],
      };
      if (p.leader < 0) offline.push(row);
      else if (p.isr.length < p.replicas.length) under.push(row);
    }
  }
  return {
    clusterId,
    controller,
    brokers: brokers.map((b) => ({
      id: b.nodeId,
      host: b.host,
      port: b.port,
      rack: b.rack,
      controller: b.nodeId === controller,
    })).sort((a, b) => a.id - b.id),
    topics: ok.length,
    partitions,
    underReplicatedPartitions: under,
    offlinePartitions: offline,
  };
}

/**
 * Formats the report as text: a summary line, the brokers, then the under-replicated and the
 * offline partitions (each table only when there are some).
 *
 * @example
 * ```ts
 * import { formatClusterReport } from "./cluster.ts";
 *
 * const text = formatClusterReport({
 *   clusterId: "c1", controller: 1, topics: 0, partitions: 0,
 *   brokers: [{ id: 1, host: "h", port: 9092, rack: null, controller: true }],
 *   underReplicatedPartitions: [], offlinePartitions: [],
 * });
 * console.assert(text.includes("1*"));
 * ```
 *
 * @param r The report.
 * @returns The lines, each ending in `\n`.
 */
export function formatClusterReport(r: ClusterReport): string {
  const list = (ids: number[]) => ids.length === 0 ? "-" : ids.join(",");
  const partitionTable = (rows: ClusterPartition[]) =>
    formatTable(
      [
        ["TOPIC", "PARTITION", "LEADER", "REPLICAS", "ISR", "OFFLINE-REPLICAS"],
        ...rows.map((p) => [
          p.topic,
          String(p.partition),
          p.leader < 0 ? "none" : String(p.leader),
          list(p.replicas),
          list(p.isr),
          list(p.offlineReplicas),
        ]),
      ],
      [0, 0, 0, 0, 0, 0],
    );
  const controller = r.controller < 0 ? "none" : String(r.controller);
  let out = `Cluster ${r.clusterId ?? "(no id)"}: ${r.brokers.length} broker` +
    `${r.brokers.length === 1 ? "" : "s"}, controller ${controller}, ${r.topics} topic` +
    `${r.topics === 1 ? "" : "s"}, ${r.partitions} partition${r.partitions === 1 ? "" : "s"}\n\n`;
  out += formatTable(
    [
      ["ID", "HOST:PORT", "RACK"],
      ...r.brokers.map((b) => [
        `${b.id}${b.controller ? "*" : ""}`,
        `${b.host.includes(":") ? `[${b.host}]` : b.host}:${b.port}`,
        b.rack ?? "-",
      ]),
    ],
    [0, 0, 0],
  );
  out += `\nUnder-replicated partitions: ${r.underReplicatedPartitions.length}\n`;
  if (r.underReplicatedPartitions.length > 0) out += partitionTable(r.underReplicatedPartitions);
  out += `\nOffline partitions: ${r.offlinePartitions.length}\n`;
  if (r.offlinePartitions.length > 0) out += partitionTable(r.offlinePartitions);
  return out;
}

/**
 * Runs `sluice cluster`.
 *
 * @param args Arguments after `cluster`.
 * @param io Where to write output.
 * @returns The exit code.
 * @throws {UsageError} On bad flags.
 * @throws {KafkaError} When no broker can be reached.
 */
export async function runCluster(args: string[], io: CommandIo): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === "elect-leaders") return await runElectLeaders(rest, io);
  if (sub === "reassign") return await runReassign(rest, io);
  if (sub === "decommission") return await runDecommission(rest, io);
  const { values } = parseFlags(args, {
    ...COMMAND_CONFIG_OPTION,
    "bootstrap-server": { type: "string", default: "localhost:9092" },
    output: { type: "string", default: "text" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    io.stdout(CLUSTER_HELP);
    return 0;
  }
  const output = values.output as string;
  if (output !== "text" && output !== "json") {
    throw new UsageError(`invalid --output "${output}": expected text or json`);
  }
  const client = new Client({
    ...(await commandConfig(values["command-config"])),
    bootstrapServers: values["bootstrap-server"] as string,
    clientId: "sluice-cluster",
  });
  try {
    // One Metadata request: brokers, controller and partitions from the same broker at once.
    const topics = await client.refreshMetadata();
    const report = clusterReport(client.clusterId, client.controllerId, client.brokers, topics);
    io.stdout(
      output === "json" ? JSON.stringify(report, null, 2) + "\n" : formatClusterReport(report),
    );
    return 0;
  } finally {
    await client.close();
  }
}
