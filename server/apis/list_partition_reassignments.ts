// Copyright 2026 the Sluice authors. Apache-2.0 license.
// ListPartitionReassignments (key 46): served v0 (flexible), as Kafka 3.9.
// - Cluster mode (docs/CLUSTER.md "Operations"): the reassignments in progress as this broker's
//   view of etcd has them: each partition's replicas (the target first, then those being
//   removed), adding and removing replicas. `topics` null: every partition; else only the
//   partitions listed (those without a reassignment, or unknown, are left out, as Kafka does).
// - Standalone: nothing is ever reassigned: an empty list.
// - ACLs: DESCRIBE on the cluster, else CLUSTER_AUTHORIZATION_FAILED (Kafka's).

import { ErrorCode } from "../../protocol/errors.ts";
import {
  createListPartitionReassignmentsResponse,
  createListPartitionReassignmentsResponseOngoingPartitionReassignment,
  createListPartitionReassignmentsResponseOngoingTopicReassignment,
  ListPartitionReassignmentsRequest,
  ListPartitionReassignmentsResponse,
  type ListPartitionReassignmentsResponseOngoingPartitionReassignment,
} from "../../protocol/messages/list_partition_reassignments.ts";
import { type ApiHandler, defineApi } from "../api.ts";
import { ACCESS, authorize } from "../security/access.ts";

/** ListPartitionReassignments handler. */
export const listPartitionReassignments: ApiHandler = defineApi<
  ListPartitionReassignmentsRequest,
  ListPartitionReassignmentsResponse
>({
  minVersion: 0,
  maxVersion: 0,
  request: ListPartitionReassignmentsRequest,
  response: ListPartitionReassignmentsResponse,
  handle(ctx, req) {
    if (!authorize(ctx, ACCESS.ListPartitionReassignments.cluster)) {
      return this.errorResponse(req, ErrorCode.CLUSTER_AUTHORIZATION_FAILED, "");
    }
    const cluster = ctx.broker.cluster;
    const asked = req.topics === null
      ? null
      : req.topics.flatMap((t) =>
        t.partitionIndexes.map((partition) => ({ topic: t.name, partition }))
      );
    const ongoing = cluster?.listPartitionReassignments(asked) ?? [];
    const byTopic = new Map<
      string,
      ListPartitionReassignmentsResponseOngoingPartitionReassignment[]
    >();
    for (const r of ongoing) {
      let list = byTopic.get(r.topic);
      if (list === undefined) byTopic.set(r.topic, list = []);
      list.push(createListPartitionReassignmentsResponseOngoingPartitionReassignment({
        partitionIndex: r.partition,
        replicas: r.replicas,
        addingReplicas: r.addingReplicas,
        removingReplicas: r.removingReplicas,
      }));
    }
    return createListPartitionReassignmentsResponse({
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      topics: [...byTopic].map(([name, partitions]) =>
        createListPartitionReassignmentsResponseOngoingTopicReassignment({ name, partitions })
      ),
    });
  },
  errorResponse(_req, errorCode, message) {
    return createListPartitionReassignmentsResponse({ errorCode, errorMessage: message });
  },
});
