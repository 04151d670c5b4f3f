// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * The handler table: every API the broker serves, in key order, with the version range
 * ApiVersions advertises and how to load its handler. A handler module (and the generated codecs
 * it imports) is loaded at the first request of its API, so a broker starts without the 45
 * handlers and ~0.7 MB of codecs it may never need (issue #17). `apis/mod.ts` loads them all, for
 * tests and tools that want the handlers themselves.
 *
 * Every range starts at version 0, as Kafka 3.x's do: librdkafka <= 2.8 silently disables
 * compression and idempotence when Produce and friends do not start at 0. Produce v0-v2 and
 * Fetch v0-v3, which carry message formats v0/v1, are served by converting to and from the
 * stored v2 batches (`records/legacy.ts`).
 *
 * To add an API: create `server/apis/<name>.ts` exporting a handler built with `defineApi` (see
 * `../api.ts` for the handler contract and the `RequestContext` it receives; the key
 * and name come from the request codec) and add a line for it to `API_TABLE` below. The table's
 * name and `maxVersion` must be the handler's (`apis/mod_test.ts` checks it; the broker refuses
 * to serve a handler that differs from its line).
 *
 * @module
 */

import { ApiKey } from "../../protocol/api_keys.ts";
import type { ApiHandler, ApiRange, LazyPartName } from "../api.ts";

/** One line of the handler table: what ApiVersions advertises, and how to load the handler. */
export interface ApiEntry extends ApiRange {
  /**
   * Imports the handler's module (once: the module system caches it).
   *
   * @returns The handler.
   */
  load(): Promise<ApiHandler>;
  /**
   * A part of the broker opened at its first use that the handler reads as it serves (the group
   * coordinator, `BrokerContext.groups`; SASL and SCRAM credentials): the broker opens it, if it
   * has not yet, before the first request of this API is served (issue #17). `table_test.ts`
   * checks every handler that reads one says so.
   */
  readonly needs?: LazyPartName;
}

function lazy(
  name: keyof typeof ApiKey,
  maxVersion: number,
  load: () => Promise<ApiHandler>,
  needs?: LazyPartName,
): ApiEntry {
  const entry = { key: ApiKey[name], name, minVersion: 0, maxVersion, load };
  return needs === undefined ? entry : { ...entry, needs };
}

/** The handler reads the group coordinator (`ApiEntry.needs`). */
const COORDINATORS = "coordinators";
/** The handler reads SASL or the SCRAM credentials (`ApiEntry.needs`). */
const SASL = "sasl";
/** The handler reads the client metrics subscriptions and instances (`ApiEntry.needs`). */
const CLIENT_METRICS = "clientMetrics";

/** Every served API, sorted by key. */
export const API_TABLE: readonly ApiEntry[] = [
  lazy("Produce", 11, async () => (await import("./produce.ts")).produce),
  lazy("Fetch", 16, async () => (await import("./fetch.ts")).fetch),
  lazy("ListOffsets", 8, async () => (await import("./list_offsets.ts")).listOffsets),
  lazy("Metadata", 12, async () => (await import("./metadata.ts")).metadata),
  lazy(
    "OffsetCommit",
    9,
    async () => (await import("./offset_commit.ts")).offsetCommit,
    COORDINATORS,
  ),
  lazy("OffsetFetch", 9, async () => (await import("./offset_fetch.ts")).offsetFetch, COORDINATORS),
  lazy("FindCoordinator", 4, async () => (await import("./find_coordinator.ts")).findCoordinator),
  lazy("JoinGroup", 9, async () => (await import("./join_group.ts")).joinGroup, COORDINATORS),
  lazy("Heartbeat", 4, async () => (await import("./heartbeat.ts")).heartbeat, COORDINATORS),
  lazy("LeaveGroup", 5, async () => (await import("./leave_group.ts")).leaveGroup, COORDINATORS),
  lazy("SyncGroup", 5, async () => (await import("./sync_group.ts")).syncGroup, COORDINATORS),
  lazy(
    "DescribeGroups",
    5,
    async () => (await import("./describe_groups.ts")).describeGroups,
    COORDINATORS,
  ),
  lazy("ListGroups", 5, async () => (await import("./list_groups.ts")).listGroups, COORDINATORS),
  lazy("SaslHandshake", 1, async () => (await import("./sasl_handshake.ts")).saslHandshake, SASL),
  lazy("ApiVersions", 4, async () => (await import("./api_versions.ts")).apiVersions),
  lazy("CreateTopics", 7, async () => (await import("./create_topics.ts")).createTopics),
  lazy("DeleteTopics", 6, async () => (await import("./delete_topics.ts")).deleteTopics),
  lazy("DeleteRecords", 2, async () => (await import("./delete_records.ts")).deleteRecords),
  lazy("InitProducerId", 5, async () => (await import("./init_producer_id.ts")).initProducerId),
  lazy(
    "OffsetForLeaderEpoch",
    4,
    async () => (await import("./offset_for_leader_epoch.ts")).offsetForLeaderEpoch,
  ),
  lazy(
    "AddPartitionsToTxn",
    5,
    async () => (await import("./add_partitions_to_txn.ts")).addPartitionsToTxn,
  ),
  lazy("AddOffsetsToTxn", 3, async () => (await import("./add_offsets_to_txn.ts")).addOffsetsToTxn),
  lazy("EndTxn", 3, async () => (await import("./end_txn.ts")).endTxn),
  lazy(
    "WriteTxnMarkers",
    1,
    async () => (await import("./write_txn_markers.ts")).writeTxnMarkers,
    COORDINATORS,
  ),
  lazy(
    "TxnOffsetCommit",
    3,
    async () => (await import("./txn_offset_commit.ts")).txnOffsetCommit,
    COORDINATORS,
  ),
  lazy("DescribeAcls", 3, async () => (await import("./describe_acls.ts")).describeAcls),
  lazy("CreateAcls", 3, async () => (await import("./create_acls.ts")).createAcls),
  lazy("DeleteAcls", 3, async () => (await import("./delete_acls.ts")).deleteAcls),
  lazy("DescribeConfigs", 4, async () => (await import("./describe_configs.ts")).describeConfigs),
  lazy("AlterConfigs", 2, async () => (await import("./alter_configs.ts")).alterConfigs),
  lazy("DescribeLogDirs", 4, async () => (await import("./describe_log_dirs.ts")).describeLogDirs),
  lazy(
    "SaslAuthenticate",
    2,
    async () => (await import("./sasl_authenticate.ts")).saslAuthenticate,
    SASL,
  ),
  lazy(
    "CreatePartitions",
    3,
    async () => (await import("./create_partitions.ts")).createPartitions,
  ),
  lazy(
    "DeleteGroups",
    2,
    async () => (await import("./delete_groups.ts")).deleteGroups,
    COORDINATORS,
  ),
  lazy("ElectLeaders", 2, async () => (await import("./elect_leaders.ts")).electLeaders),
  lazy(
    "IncrementalAlterConfigs",
    1,
    async () => (await import("./incremental_alter_configs.ts")).incrementalAlterConfigs,
  ),
  lazy(
    "AlterPartitionReassignments",
    0,
    async () => (await import("./alter_partition_reassignments.ts")).alterPartitionReassignments,
  ),
  lazy(
    "ListPartitionReassignments",
    0,
    async () => (await import("./list_partition_reassignments.ts")).listPartitionReassignments,
  ),
  lazy(
    "OffsetDelete",
    0,
    async () => (await import("./offset_delete.ts")).offsetDelete,
    COORDINATORS,
  ),
  lazy(
    "DescribeClientQuotas",
    1,
    async () => (await import("./describe_client_quotas.ts")).describeClientQuotas,
  ),
  lazy(
    "AlterClientQuotas",
    1,
    async () => (await import("./alter_client_quotas.ts")).alterClientQuotas,
  ),
  lazy(
    "DescribeUserScramCredentials",
    0,
    async () => (await import("./describe_user_scram_credentials.ts")).describeUserScramCredentials,
    SASL,
  ),
  lazy(
    "AlterUserScramCredentials",
    0,
    async () => (await import("./alter_user_scram_credentials.ts")).alterUserScramCredentials,
    SASL,
  ),
  lazy("DescribeCluster", 1, async () => (await import("./describe_cluster.ts")).describeCluster),
  lazy(
    "DescribeProducers",
    0,
    async () => (await import("./describe_producers.ts")).describeProducers,
  ),
  lazy(
    "DescribeTransactions",
    0,
    async () => (await import("./describe_transactions.ts")).describeTransactions,
  ),
  lazy(
    "ListTransactions",
    1,
    async () => (await import("./list_transactions.ts")).listTransactions,
  ),
  lazy(
    "ConsumerGroupHeartbeat",
    1,
    async () => (await import("./consumer_group_heartbeat.ts")).consumerGroupHeartbeat,
    COORDINATORS,
  ),
  lazy(
    "ConsumerGroupDescribe",
    0,
    async () => (await import("./consumer_group_describe.ts")).consumerGroupDescribe,
    COORDINATORS,
  ),
  lazy(
    "GetTelemetrySubscriptions",
    0,
    async () => (await import("./get_telemetry_subscriptions.ts")).getTelemetrySubscriptions,
    CLIENT_METRICS,
  ),
  lazy(
    "PushTelemetry",
    0,
    async () => (await import("./push_telemetry.ts")).pushTelemetry,
    CLIENT_METRICS,
  ),
  lazy(
    "ListClientMetricsResources",
    0,
    async () => (await import("./list_client_metrics_resources.ts")).listClientMetricsResources,
    CLIENT_METRICS,
  ),
  lazy(
    "DescribeTopicPartitions",
    0,
    async () => (await import("./describe_topic_partitions.ts")).describeTopicPartitions,
  ),
];
