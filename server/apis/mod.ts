// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * The API registry: every API the broker serves, in key order. ApiVersions advertises exactly
 * these ranges.
 *
 * Every range starts at version 0, even where old versions are refused per request (Produce
 * v0-v2, Fetch v0-v3): librdkafka <= 2.8 silently disables compression and idempotence when
 * Produce and friends do not start at 0.
 *
 * To add an API (e.g. the group coordinator's FindCoordinator, JoinGroup, ...): create
 * `server/apis/<name>.ts` exporting a handler built with `defineApi` (see `../api.ts` for the
 * handler contract and the {@linkcode RequestContext} it receives) and add it to `APIS` below.
 *
 * @module
 */

import type { ApiHandler } from "../api.ts";
import { alterConfigs } from "./alter_configs.ts";
import { apiVersions } from "./api_versions.ts";
import { createPartitions } from "./create_partitions.ts";
import { createTopics } from "./create_topics.ts";
import { deleteRecords } from "./delete_records.ts";
import { deleteTopics } from "./delete_topics.ts";
import { describeCluster } from "./describe_cluster.ts";
import { describeConfigs } from "./describe_configs.ts";
import { fetch } from "./fetch.ts";
import { incrementalAlterConfigs } from "./incremental_alter_configs.ts";
import { initProducerId } from "./init_producer_id.ts";
import { listOffsets } from "./list_offsets.ts";
import { metadata } from "./metadata.ts";
import { produce } from "./produce.ts";

/** Every served API, sorted by key. */
export const APIS: readonly ApiHandler[] = [
  produce, // 0
  fetch, // 1
  listOffsets, // 2
  metadata, // 3
  apiVersions, // 18
  createTopics, // 19
  deleteTopics, // 20
  deleteRecords, // 21
  initProducerId, // 22
  describeConfigs, // 32
  alterConfigs, // 33
  createPartitions, // 37
  incrementalAlterConfigs, // 44
  describeCluster, // 60
];
