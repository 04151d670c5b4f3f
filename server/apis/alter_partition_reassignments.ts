// Copyright 2026 the Sluice authors. Apache-2.0 license.
// AlterPartitionReassignments (key 45): served v0 (flexible), as Kafka 3.9.
// - Cluster mode (docs/CLUSTER.md "Operations"): `replicas` starts (or replaces) a partition's
//   reassignment; null cancels it (back to the original replicas). Any broker answers: it
//   writes each change to etcd itself (one compare-and-swap transaction on the topic's replicas
//   and the partition's state) and answers once its view has them; the controller completes a
//   reassignment once every new replica is in the ISR. Per partition: NONE,
//   INVALID_REPLICA_ASSIGNMENT (empty list, a broker twice, a broker not registered),
//   NO_REASSIGNMENT_IN_PROGRESS (cancel), UNKNOWN_TOPIC_OR_PARTITION,
//   ELIGIBLE_LEADERS_NOT_AVAILABLE (no replica left could lead), NOT_CONTROLLER (this broker
//   is fenced: ask another), REQUEST_TIMED_OUT (etcd out of reach). A partition listed twice:
//   INVALID_REQUEST for both.
// - Standalone: the only assignment is [this broker] (NONE, nothing to do); any other is
//   INVALID_REPLICA_ASSIGNMENT, a cancel NO_REASSIGNMENT_IN_PROGRESS.
// - ACLs: ALTER on the cluster, else CLUSTER_AUTHORIZATION_FAILED for everything (Kafka's).

import { ErrorCode } from "../../protocol/errors.ts";
import {
  AlterPartitionReassignmentsRequest,
  AlterPartitionReassignmentsResponse,
  type AlterPartitionReassignmentsResponseReassignablePartitionResponse,
  createAlterPartitionReassignmentsResponse,
  createAlterPartitionReassignmentsResponseReassignablePartitionResponse,
  createAlterPartitionReassignmentsResponseReassignableTopicResponse,
} from "../../protocol/messages/alter_partition_reassignments.ts";
import { type ApiHandler, clipMessage, defineApi } from "../api.ts";
import { ACCESS, authorize } from "../security/access.ts";

/** AlterPartitionReassignments handler. */
export const alterPartitionReassignments: ApiHandler = defineApi<
  AlterPartitionReassignmentsRequest,
  AlterPartitionReassignmentsResponse
>({
  minVersion: 0,
  maxVersion: 0,
  request: AlterPartitionReassignmentsRequest,
  response: AlterPartitionReassignmentsResponse,
  async handle(ctx, req) {
    if (!authorize(ctx, ACCESS.AlterPartitionReassignments.cluster)) {
      return this.errorResponse(req, ErrorCode.CLUSTER_AUTHORIZATION_FAILED, "");
    }
    const broker = ctx.broker;
    const asked = req.topics.flatMap((t) =>
      t.partitions.map((p) => ({
        topic: t.name,
        partition: p.partitionIndex,
        replicas: p.replicas,
      }))
    );
    const count = new Map<string, number>();
    const k = (p: { topic: string; partition: number }) => `${p.topic}\u0000${p.partition}`;
    for (const p of asked) count.set(k(p), (count.get(k(p)) ?? 0) + 1);
    const once = asked.filter((p) => count.get(k(p)) === 1);
    const results = new Map<string, { errorCode: number; message: string | null }>();
    for (const p of asked) {
      if (count.get(k(p))! > 1) {
        results.set(k(p), {
          errorCode: ErrorCode.INVALID_REQUEST,
          message: `${p.topic}-${p.partition} is listed more than once`,
        });
      }
    }
    if (broker.cluster !== undefined) {
      for (const o of await broker.cluster.alterPartitionReassignments(once, req.timeoutMs)) {
        results.set(k(o), o);
      }
    } else {
      for (const p of once) {
        const exists = broker.logs.hasPartition(p.topic, p.partition);
        results.set(
          k(p),
          !exists
            ? {
              errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
              message: `${p.topic}-${p.partition} does not exist`,
            }
            : p.replicas === null
            ? {
              errorCode: ErrorCode.NO_REASSIGNMENT_IN_PROGRESS,
              message: "No reassignment of this partition is in progress",
            }
            : p.replicas.length === 1 && p.replicas[0] === broker.nodeId
            ? { errorCode: ErrorCode.NONE, message: null }
            : {
              errorCode: ErrorCode.INVALID_REPLICA_ASSIGNMENT,
              message: `A standalone broker's only assignment is [${broker.nodeId}], not ` +
                `[${p.replicas}]`,
            },
        );
      }
    }
    return createAlterPartitionReassignmentsResponse({
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      responses: req.topics.map((t) =>
        createAlterPartitionReassignmentsResponseReassignableTopicResponse({
          name: t.name,
          partitions: t.partitions.map(
            (p): AlterPartitionReassignmentsResponseReassignablePartitionResponse => {
              const r = results.get(k({ topic: t.name, partition: p.partitionIndex }))!;
              return createAlterPartitionReassignmentsResponseReassignablePartitionResponse({
                partitionIndex: p.partitionIndex,
                errorCode: r.errorCode,
                errorMessage: r.message === null ? null : clipMessage(r.message),
              });
            },
          ),
        })
      ),
    });
  },
  errorResponse(req, errorCode, message) {
    return createAlterPartitionReassignmentsResponse({
      errorCode,
      errorMessage: message,
      responses: req.topics.map((t) =>
        createAlterPartitionReassignmentsResponseReassignableTopicResponse({
          name: t.name,
          partitions: t.partitions.map((p) =>
            createAlterPartitionReassignmentsResponseReassignablePartitionResponse({
              partitionIndex: p.partitionIndex,
              errorCode,
              errorMessage: message,
            })
          ),
        })
      ),
    });
  },
});
