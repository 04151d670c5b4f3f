// Copyright 2026 the Sluice authors. Apache-2.0 license.
// ElectLeaders (key 43): served v0-v2 (flexible from v2; v0 has no election type: preferred).
// - Cluster mode (docs/CLUSTER.md "Operations"): election type 0 (preferred) makes the first
//   replica leader when it is registered and in the ISR; type 1 (unclean) elects, for a
//   partition without a live leader only, a live ISR member, else the first live replica. Any
//   broker answers: it writes each election to etcd itself (compare-and-swap on the partition's
//   state, as the controller's own writes) and answers once its view has them, within
//   timeout_ms. Per partition: NONE, ELECTION_NOT_NEEDED (the preferred replica leads
//   already; a live leader for unclean), PREFERRED_LEADER_NOT_AVAILABLE (not registered or not
//   in the ISR), ELIGIBLE_LEADERS_NOT_AVAILABLE (no live replica for unclean),
//   UNKNOWN_TOPIC_OR_PARTITION, NOT_CONTROLLER (this broker is fenced: ask another),
//   REQUEST_TIMED_OUT (etcd out of reach).
// - topic_partitions null: every partition of the cluster; as Kafka's controller, partitions
//   that needed no election are left out of the answer.
// - Standalone: the broker is every partition's only replica and leader: ELECTION_NOT_NEEDED
//   (or UNKNOWN_TOPIC_OR_PARTITION). An election type other than 0 and 1: INVALID_REQUEST.
// - ACLs: ALTER on the cluster, else CLUSTER_AUTHORIZATION_FAILED for everything (Kafka's).

import { ErrorCode } from "../../protocol/errors.ts";
import {
  createElectLeadersResponse,
  createElectLeadersResponsePartitionResult,
  createElectLeadersResponseReplicaElectionResult,
  ElectLeadersRequest,
  ElectLeadersResponse,
  type ElectLeadersResponsePartitionResult,
} from "../../protocol/messages/elect_leaders.ts";
import { type ApiHandler, clipMessage, defineApi } from "../api.ts";
import { ACCESS, authorize } from "../security/access.ts";

/** ElectLeaders handler. */
export const electLeaders: ApiHandler = defineApi<ElectLeadersRequest, ElectLeadersResponse>({
  minVersion: 0,
  maxVersion: 2,
  request: ElectLeadersRequest,
  response: ElectLeadersResponse,
  async handle(ctx, req) {
    if (!authorize(ctx, ACCESS.ElectLeaders.cluster)) {
      // every partition, and from v1 the top-level error code too (Kafka's)
      const denied = this.errorResponse(req, ErrorCode.CLUSTER_AUTHORIZATION_FAILED, "");
      if (ctx.version >= 1) denied.errorCode = ErrorCode.CLUSTER_AUTHORIZATION_FAILED;
      return denied;
    }
    const broker = ctx.broker;
    const type = ctx.version >= 1 ? req.electionType : 0;
    const asked = req.topicPartitions === null ? null : dedupe(req.topicPartitions);
    let outcomes: { topic: string; partition: number; errorCode: number; message: string | null }[];
    if (type !== 0 && type !== 1) {
      outcomes = (asked ?? []).map((p) => ({
        ...p,
        errorCode: ErrorCode.INVALID_REQUEST,
        message: `Unknown election type ${type}: 0 (preferred) or 1 (unclean)`,
      }));
    } else if (broker.cluster !== undefined) {
      outcomes = await broker.cluster.electLeaders(type === 1, asked, req.timeoutMs);
    } else {
      outcomes = (asked ?? []).map((p) =>
        !broker.logs.hasPartition(p.topic, p.partition)
          ? {
            ...p,
            errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
            message: `${p.topic}-${p.partition} does not exist`,
          }
          : {
            ...p,
            errorCode: ErrorCode.ELECTION_NOT_NEEDED,
            message: `Broker ${broker.nodeId} is the only replica and leads already`,
          }
      );
    }
    const byTopic = new Map<string, ElectLeadersResponsePartitionResult[]>();
    for (const o of outcomes) {
      let list = byTopic.get(o.topic);
      if (list === undefined) byTopic.set(o.topic, list = []);
      list.push(createElectLeadersResponsePartitionResult({
        partitionId: o.partition,
        errorCode: o.errorCode,
        errorMessage: o.message === null ? null : clipMessage(o.message),
      }));
    }
    return createElectLeadersResponse({
      errorCode: ErrorCode.NONE,
      replicaElectionResults: [...byTopic].map(([topic, partitionResult]) =>
        createElectLeadersResponseReplicaElectionResult({ topic, partitionResult })
      ),
    });
  },
  errorResponse(req, errorCode, message) {
    // per partition: v0 has no top-level error code
    return createElectLeadersResponse({
      replicaElectionResults: (req.topicPartitions ?? []).map((t) =>
        createElectLeadersResponseReplicaElectionResult({
          topic: t.topic,
          partitionResult: t.partitions.map((p) =>
            createElectLeadersResponsePartitionResult({
              partitionId: p,
              errorCode,
              errorMessage: message,
            })
          ),
        })
      ),
    });
  },
});

function dedupe(
  topics: { topic: string; partitions: number[] }[],
): { topic: string; partition: number }[] {
  const seen = new Set<string>();
  const out: { topic: string; partition: number }[] = [];
  for (const t of topics) {
    for (const partition of t.partitions) {
      const k = `${t.topic}\u0000${partition}`;
      if (seen.has(k)) continue;
      seen.add(k);
      out.push({ topic: t.topic, partition });
    }
  }
  return out;
}
