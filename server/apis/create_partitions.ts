// Copyright 2026 the Sluice authors. Apache-2.0 license.
// CreatePartitions (key 37): served v0-v3.
// - Grows a topic to `count` partitions (INVALID_PARTITIONS if not larger; unknown topic:
//   UNKNOWN_TOPIC_OR_PARTITION). Assignments, if given, must list exactly [our node id] for each
//   new partition (else INVALID_REPLICA_ASSIGNMENT). A topic listed twice: INVALID_REQUEST.
// - The internal topics keep the partition count their coordinators chose (a group's partition
//   is its hash modulo that count): INVALID_REQUEST.
// - validate_only checks without changing. Flexible from v2.
// - A broker shutdown stops the growth in progress (what it made is removed) and the topics after
//   it get NOT_CONTROLLER, as Kafka answers when its controller goes away.
// - Cluster mode (docs/CLUSTER.md): the new partitions are written to etcd (compare-and-swap on
//   the topic), placed over the live brokers with the topic's replication factor or as
//   assigned (registered brokers, the topic's replica count: else INVALID_REPLICA_ASSIGNMENT).
// - ACLs: ALTER on each topic, else TOPIC_AUTHORIZATION_FAILED and it is not grown
//   (`../security/access.ts`).

import { ErrorCode } from "../../protocol/errors.ts";
import {
  createCreatePartitionsResponse,
  createCreatePartitionsResponseTopicResult,
  CreatePartitionsRequest,
  CreatePartitionsResponse,
} from "../../protocol/messages/create_partitions.ts";
import {
  type ApiHandler,
  clipMessage,
  defineApi,
  errorCodeOf,
  messageOf,
  SHUTTING_DOWN,
} from "../api.ts";
import { isInternalTopic } from "../internal_topic_names.ts";
import { ACCESS, authorize } from "../security/access.ts";

/** CreatePartitions handler. */
export const createPartitions: ApiHandler = defineApi<
  CreatePartitionsRequest,
  CreatePartitionsResponse
>({
  minVersion: 0,
  maxVersion: 3,
  request: CreatePartitionsRequest,
  response: CreatePartitionsResponse,
  async handle(ctx, req) {
    const broker = ctx.broker;
    const counts = new Map<string, number>();
    for (const t of req.topics) counts.set(t.name, (counts.get(t.name) ?? 0) + 1);
    const results = [];
    for (const t of req.topics) {
      const result = (errorCode: number, errorMessage: string | null) =>
        createCreatePartitionsResponseTopicResult({
          name: t.name,
          errorCode,
          errorMessage: errorMessage === null ? null : clipMessage(errorMessage),
        });
      if (counts.get(t.name)! > 1) {
        results.push(result(ErrorCode.INVALID_REQUEST, `Topic ${t.name} is listed twice`));
        continue;
      }
      if (!authorize(ctx, ACCESS.CreatePartitions.topic, t.name)) {
        results.push(result(ErrorCode.TOPIC_AUTHORIZATION_FAILED, null));
        continue;
      }
      if (isInternalTopic(t.name)) {
        // A group's or transactional id's partition is its hash modulo the partition count.
        results.push(result(
          ErrorCode.INVALID_REQUEST,
          `Changing the partition count of internal topic ${t.name} is prohibited`,
        ));
        continue;
      }
      if (broker.closing.aborted) {
        // A shutdown ends the request: the topics left are not grown.
        results.push(result(ErrorCode.NOT_CONTROLLER, SHUTTING_DOWN));
        continue;
      }
      if (broker.cluster !== undefined) {
        try {
          await broker.cluster.createPartitions(
            t.name,
            t.count,
            t.assignments?.map((a) => a.brokerIds) ?? null,
            req.validateOnly,
          );
          results.push(result(0, null));
        } catch (e) {
          results.push(result(errorCodeOf(e), messageOf(e)));
        }
        continue;
      }
      const bad = t.assignments?.find((a) =>
        a.brokerIds.length !== 1 || a.brokerIds[0] !== broker.nodeId
      );
      if (bad !== undefined) {
        results.push(result(
          ErrorCode.INVALID_REPLICA_ASSIGNMENT,
          `Assignment [${bad.brokerIds}] is invalid: every partition must be on [${broker.nodeId}]`,
        ));
        continue;
      }
      try {
        await broker.logs.createPartitions(t.name, t.count, {
          validateOnly: req.validateOnly,
          signal: broker.closing, // a shutdown stops the creation and removes what it made
        });
        if (!req.validateOnly) {
          broker.logger.info(`Topic ${t.name} now has ${t.count} partitions`);
        }
        results.push(result(0, null));
      } catch (e) {
        results.push(result(errorCodeOf(e), messageOf(e)));
      }
    }
    return createCreatePartitionsResponse({ results });
  },
  errorResponse(req, errorCode, message) {
    return createCreatePartitionsResponse({
      results: req.topics.map((t) =>
        createCreatePartitionsResponseTopicResult({
          name: t.name,
          errorCode,
          errorMessage: message,
        })
      ),
    });
  },
});
