// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * The API registry: every API the broker serves, in key order. ApiVersions advertises exactly
 * these ranges.
 *
 * Every range starts at version 0, as Kafka 3.x's do: librdkafka <= 2.8 silently disables
 * compression and idempotence when Produce and friends do not start at 0. Produce v0-v2 and
 * Fetch v0-v3, which carry message formats v0/v1, are served by converting to and from the
 * stored v2 batches (`records/legacy.ts`).
 *
 * To add an API: create
 * `server/apis/<name>.ts` exporting a handler built with `defineApi` (see `../api.ts` for the
 * handler contract and the {@linkcode RequestContext} it receives; the key and name come from the
 * request codec) and add it to `APIS` below.
 *
 * @module
 */

import { type ApiHandler, registry } from "../api.ts";
import { addOffsetsToTxn } from "./add_offsets_to_txn.ts";
import { addPartitionsToTxn } from "./add_partitions_to_txn.ts";
import { alterConfigs } from "./alter_configs.ts";
import { alterUserScramCredentials } from "./alter_user_scram_credentials.ts";
import { alterPartitionReassignments } from "./alter_partition_reassignments.ts";
import { apiVersions } from "./api_versions.ts";
import { createAcls } from "./create_acls.ts";
import { createPartitions } from "./create_partitions.ts";
import { createTopics } from "./create_topics.ts";
import { deleteAcls } from "./delete_acls.ts";
import { deleteGroups } from "./delete_groups.ts";
import { deleteRecords } from "./delete_records.ts";
import { deleteTopics } from "./delete_topics.ts";
import { describeAcls } from "./describe_acls.ts";
import { describeCluster } from "./describe_cluster.ts";
import { describeConfigs } from "./describe_configs.ts";
import { describeGroups } from "./describe_groups.ts";
import { describeLogDirs } from "./describe_log_dirs.ts";
import { describeProducers } from "./describe_producers.ts";
import { describeTransactions } from "./describe_transactions.ts";
import { describeUserScramCredentials } from "./describe_user_scram_credentials.ts";
import { electLeaders } from "./elect_leaders.ts";
import { endTxn } from "./end_txn.ts";
import { fetch } from "./fetch.ts";
import { findCoordinator } from "./find_coordinator.ts";
import { heartbeat } from "./heartbeat.ts";
import { incrementalAlterConfigs } from "./incremental_alter_configs.ts";
import { initProducerId } from "./init_producer_id.ts";
import { joinGroup } from "./join_group.ts";
import { leaveGroup } from "./leave_group.ts";
import { listGroups } from "./list_groups.ts";
import { listOffsets } from "./list_offsets.ts";
import { listPartitionReassignments } from "./list_partition_reassignments.ts";
import { listTransactions } from "./list_transactions.ts";
import { metadata } from "./metadata.ts";
import { offsetCommit } from "./offset_commit.ts";
import { offsetDelete } from "./offset_delete.ts";
import { offsetFetch } from "./offset_fetch.ts";
import { offsetForLeaderEpoch } from "./offset_for_leader_epoch.ts";
import { produce } from "./produce.ts";
import { saslAuthenticate } from "./sasl_authenticate.ts";
import { saslHandshake } from "./sasl_handshake.ts";
import { syncGroup } from "./sync_group.ts";
import { txnOffsetCommit } from "./txn_offset_commit.ts";
import { writeTxnMarkers } from "./write_txn_markers.ts";

/** Every served API, sorted by key (the registry refuses two handlers for one key). */
export const APIS: readonly ApiHandler[] = registry([
  produce, // 0
  fetch, // 1
  listOffsets, // 2
  metadata, // 3
  offsetCommit, // 8
  offsetFetch, // 9
  findCoordinator, // 10
  joinGroup, // 11
  heartbeat, // 12
  leaveGroup, // 13
  syncGroup, // 14
  describeGroups, // 15
  listGroups, // 16
  saslHandshake, // 17 (SASL)
  apiVersions, // 18
  createTopics, // 19
  deleteTopics, // 20
  deleteRecords, // 21
  initProducerId, // 22
  offsetForLeaderEpoch, // 23
  addPartitionsToTxn, // 24 (transactions)
  addOffsetsToTxn, // 25 (transactions)
  endTxn, // 26 (transactions)
  writeTxnMarkers, // 27 (transactions)
  txnOffsetCommit, // 28 (transactions)
  describeAcls, // 29 (ACLs)
  createAcls, // 30 (ACLs)
  deleteAcls, // 31 (ACLs)
  describeConfigs, // 32
  alterConfigs, // 33
  describeLogDirs, // 35
  saslAuthenticate, // 36 (SASL)
  createPartitions, // 37
  deleteGroups, // 42
  electLeaders, // 43
  incrementalAlterConfigs, // 44
  alterPartitionReassignments, // 45
  listPartitionReassignments, // 46
  offsetDelete, // 47
  describeUserScramCredentials, // 50 (SCRAM credentials)
  alterUserScramCredentials, // 51 (SCRAM credentials)
  describeCluster, // 60
  describeProducers, // 61 (transactions)
  describeTransactions, // 65 (transactions)
  listTransactions, // 66 (transactions)
]);
