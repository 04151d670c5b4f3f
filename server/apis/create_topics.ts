// Copyright 2026 the Sluice authors. Apache-2.0 license.
// CreateTopics (key 19): served v0-v7.
// - num_partitions -1 (v4+) = `num.partitions`; replication_factor must be 1 or -1 (one broker),
//   else INVALID_REPLICATION_FACTOR; manual assignments must give every partition exactly [our
//   node id] with partitions 0..n-1 (else INVALID_REPLICA_ASSIGNMENT) and need num_partitions and
//   replication_factor -1 (else INVALID_REQUEST). A name listed twice: INVALID_REQUEST for it.
// - The internal topics (`__consumer_offsets`, `__transaction_state`) are created only by their
//   coordinators: INVALID_REQUEST, as Kafka answers for its internal metadata topic.
// - configs are validated by the engine (INVALID_CONFIG with the reason); validate_only checks
//   everything and creates nothing. Errors per topic, with error_message (v1+).
// - A broker shutdown stops the creation in progress (what it made is removed) and the topics
//   after it get NOT_CONTROLLER, as Kafka answers when its controller goes away; clients retry.
// - v5+ answers with num_partitions, replication_factor and the topic's configs (v5+) and topic
//   id (v7); flexible from v5.
// - Cluster mode (docs/CLUSTER.md): the topic is written to etcd (create-if-absent: a concurrent
//   creation gets TOPIC_ALREADY_EXISTS), replicas placed over the live brokers
//   (`replication_factor` -1: `default.replication.factor`; more than the live brokers:
//   INVALID_REPLICATION_FACTOR) or as assigned (brokers must be registered, every partition the
//   same count: else INVALID_REPLICA_ASSIGNMENT); each replica makes its log from its view.
// - ACLs (`../security/access.ts`): CREATE on the cluster, or on each topic, else
//   TOPIC_AUTHORIZATION_FAILED for it and it is not created; v5+ configs of a created topic only
//   with DESCRIBE_CONFIGS on it (else topic_config_error_code TOPIC_AUTHORIZATION_FAILED).

import { ErrorCode } from "../../protocol/errors.ts";
import {
  createCreateTopicsResponse,
  createCreateTopicsResponseCreatableTopicConfigs,
  createCreateTopicsResponseCreatableTopicResult,
  CreateTopicsRequest,
  CreateTopicsResponse,
} from "../../protocol/messages/create_topics.ts";
import { ZERO_UUID } from "../../protocol/primitives.ts";
import {
  type ApiHandler,
  type BrokerContext,
  clipMessage,
  defineApi,
  errorCodeOf,
  messageOf,
  SHUTTING_DOWN,
} from "../api.ts";
import { isInternalTopic } from "../internal_topic_names.ts";
import { describeTopic } from "./describe_configs.ts";
import { ACCESS, authorize } from "../security/access.ts";

type Result = CreateTopicsResponse["topics"][number];

function failure(name: string, errorCode: number, errorMessage: string | null): Result {
  return createCreateTopicsResponseCreatableTopicResult({
    name,
    topicId: ZERO_UUID,
    errorCode,
    errorMessage: errorMessage === null ? null : clipMessage(errorMessage),
    numPartitions: -1,
    replicationFactor: -1,
    configs: null,
  });
}

type RequestTopic = CreateTopicsRequest["topics"][number];

/** CreateTopics of one topic in cluster mode. */
async function createInCluster(
  broker: BrokerContext,
  t: RequestTopic,
  validateOnly: boolean,
): Promise<Result> {
  const configs: Record<string, string> = {};
  for (const c of t.configs) {
    if (c.value === null) {
      return failure(t.name, ErrorCode.INVALID_CONFIG, `Config ${c.name} has a null value`);
    }
    configs[c.name] = c.value;
  }
  let assignments: number[][] | undefined;
  if (t.assignments.length > 0) {
    if (t.numPartitions !== -1 || t.replicationFactor !== -1) {
      return failure(
        t.name,
        ErrorCode.INVALID_REQUEST,
        "Both num_partitions/replication_factor and a manual assignment were given",
      );
    }
    const sorted = [...t.assignments].sort((a, b) => a.partitionIndex - b.partitionIndex);
    const gap = sorted.findIndex((a, i) => a.partitionIndex !== i);
    if (gap !== -1) {
      return failure(
        t.name,
        ErrorCode.INVALID_REPLICA_ASSIGNMENT,
        `Partitions must be assigned as 0..n-1; partition ${gap} is missing`,
      );
    }
    assignments = sorted.map((a) => a.brokerIds);
  }
  try {
    const created = await broker.cluster!.createTopic({
      name: t.name,
      numPartitions: t.numPartitions,
      replicationFactor: t.replicationFactor,
      assignments,
      configs,
      validateOnly,
    });
    const info = broker.cluster!.topicInfo(t.name) ?? {
      name: t.name,
      id: created.id,
      partitions: created.numPartitions,
      configs,
      effective: configs,
    };
    return createCreateTopicsResponseCreatableTopicResult({
      name: t.name,
      topicId: validateOnly ? ZERO_UUID : created.id,
      errorCode: 0,
      errorMessage: null,
      numPartitions: created.numPartitions,
      replicationFactor: created.replicationFactor,
      configs: describeTopic(broker, { ...info, configs: validateOnly ? configs : info.configs })
        .map((d) =>
          createCreateTopicsResponseCreatableTopicConfigs({
            name: d.name,
            value: d.value,
            readOnly: d.readOnly,
            configSource: d.source,
            isSensitive: false,
          })
        ),
    });
  } catch (e) {
    return failure(t.name, errorCodeOf(e), messageOf(e));
  }
}

/** CreateTopics handler. */
export const createTopics: ApiHandler = defineApi<CreateTopicsRequest, CreateTopicsResponse>({
  minVersion: 0,
  maxVersion: 7,
  request: CreateTopicsRequest,
  response: CreateTopicsResponse,
  async handle(ctx, req) {
    const broker = ctx.broker;
    const nodeId = broker.nodeId;
    const counts = new Map<string, number>();
    for (const t of req.topics) counts.set(t.name, (counts.get(t.name) ?? 0) + 1);
    const topics: Result[] = [];
    // CREATE on the cluster allows every topic; else CREATE on each
    const clusterCreate = authorize(ctx, ACCESS.CreateTopics.clusterCreate);
    for (const t of req.topics) {
      if (counts.get(t.name)! > 1) {
        topics.push(failure(t.name, ErrorCode.INVALID_REQUEST, `Topic ${t.name} is listed twice`));
        continue;
      }
      if (!clusterCreate && !authorize(ctx, ACCESS.CreateTopics.topicCreate, t.name)) {
        topics.push(failure(t.name, ErrorCode.TOPIC_AUTHORIZATION_FAILED, null));
        continue;
      }
      if (isInternalTopic(t.name)) {
        // The coordinators create these with their own partition counts and configs; one made
        // by a client (say with 1 partition) would break every group or transaction mapping.
        topics.push(failure(
          t.name,
          ErrorCode.INVALID_REQUEST,
          `Creation of internal topic ${t.name} is prohibited`,
        ));
        continue;
      }
      if (broker.closing.aborted) {
        // A shutdown ends the request: the topics left are not created (nor tried one by one:
        // 100,000 of them kept a stopping broker busy for a minute).
        topics.push(failure(t.name, ErrorCode.NOT_CONTROLLER, SHUTTING_DOWN));
        continue;
      }
      if (broker.cluster !== undefined) {
        topics.push(await createInCluster(broker, t, req.validateOnly));
        continue;
      }
      let partitions = t.numPartitions === -1 ? broker.config.numPartitions : t.numPartitions;
      if (t.assignments.length > 0) {
        if (t.numPartitions !== -1 || t.replicationFactor !== -1) {
          topics.push(failure(
            t.name,
            ErrorCode.INVALID_REQUEST,
            "Both num_partitions/replication_factor and a manual assignment were given",
          ));
          continue;
        }
        const sorted = [...t.assignments].sort((a, b) => a.partitionIndex - b.partitionIndex);
        const bad = sorted.find((a, i) =>
          a.partitionIndex !== i || a.brokerIds.length !== 1 || a.brokerIds[0] !== nodeId
        );
        if (bad !== undefined) {
          topics.push(failure(
            t.name,
            ErrorCode.INVALID_REPLICA_ASSIGNMENT,
            `Partition ${bad.partitionIndex} is assigned to [${bad.brokerIds}]; every partition ` +
              `0..n-1 must be assigned to exactly [${nodeId}] (the only broker)`,
          ));
          continue;
        }
        partitions = sorted.length;
      } else if (t.replicationFactor !== -1 && t.replicationFactor !== 1) {
        topics.push(failure(
          t.name,
          ErrorCode.INVALID_REPLICATION_FACTOR,
          `Replication factor ${t.replicationFactor} is larger than the 1 available broker`,
        ));
        continue;
      }
      const configs: Record<string, string> = {};
      const nullConfig = t.configs.find((c) => c.value === null);
      if (nullConfig !== undefined) {
        topics.push(failure(
          t.name,
          ErrorCode.INVALID_CONFIG,
          `Config ${nullConfig.name} has a null value`,
        ));
        continue;
      }
      for (const c of t.configs) configs[c.name] = c.value!;
      try {
        const info = await broker.logs.createTopic(t.name, partitions, configs, {
          validateOnly: req.validateOnly,
          signal: broker.closing, // a shutdown stops the creation and removes what it made
        });
        if (!req.validateOnly) {
          broker.logger.info(`Created topic ${t.name} with ${partitions} partition(s)`);
        }
        topics.push(createCreateTopicsResponseCreatableTopicResult({
          name: t.name,
          topicId: req.validateOnly ? ZERO_UUID : info.id,
          errorCode: 0,
          errorMessage: null,
          numPartitions: partitions,
          replicationFactor: 1,
          configs: describeTopic(broker, info).map((d) =>
            createCreateTopicsResponseCreatableTopicConfigs({
              name: d.name,
              value: d.value,
              readOnly: d.readOnly,
              configSource: d.source,
              isSensitive: false,
            })
          ),
        }));
      } catch (e) {
        topics.push(failure(t.name, errorCodeOf(e), messageOf(e)));
      }
    }
    if (ctx.version >= 5) {
      // the created topic's configs only with DESCRIBE_CONFIGS on it (KIP-525)
      for (const r of topics) {
        if (r.errorCode !== 0 || authorize(ctx, ACCESS.CreateTopics.topicConfigs, r.name)) continue;
        r.configs = null;
        r.topicConfigErrorCode = ErrorCode.TOPIC_AUTHORIZATION_FAILED;
      }
    }
    return createCreateTopicsResponse({ topics });
  },
  errorResponse(req, errorCode, message) {
    return createCreateTopicsResponse({
      topics: req.topics.map((t) => failure(t.name, errorCode, message)),
    });
  },
});
