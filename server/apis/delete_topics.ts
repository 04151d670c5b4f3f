// Copyright 2026 the Sluice authors. Apache-2.0 license.
// DeleteTopics (key 20): served v0-v6.
// - v0-v5 name topics in topic_names; v6 in topics[] by name or by id (name null).
// - Unknown name: UNKNOWN_TOPIC_OR_PARTITION; unknown id: UNKNOWN_TOPIC_ID; both name and id
//   given: INVALID_REQUEST; an internal topic (`__consumer_offsets`, `__transaction_state`):
//   INVALID_TOPIC_EXCEPTION.
// - Errors per topic; error_message from v5; topic_id in results v6+; flexible from v4.
// - Cluster mode (docs/CLUSTER.md): the topic and its partition states are deleted from etcd;
//   every replica removes its logs when its view sees the deletion.
// - ACLs: DELETE on each topic, else TOPIC_AUTHORIZATION_FAILED (before the existence check) and
//   it is kept (`../security/access.ts`).

import { ErrorCode } from "../../protocol/errors.ts";
import {
  createDeleteTopicsResponse,
  createDeleteTopicsResponseDeletableTopicResult,
  DeleteTopicsRequest,
  DeleteTopicsResponse,
} from "../../protocol/messages/delete_topics.ts";
import { ZERO_UUID } from "../../protocol/primitives.ts";
import { type ApiHandler, clipMessage, defineApi, errorCodeOf, messageOf } from "../api.ts";
import { isInternalTopic } from "../internal_topic_names.ts";
import { ACCESS, authorize } from "../security/access.ts";

function requested(req: DeleteTopicsRequest, version: number) {
  return version >= 6
    ? req.topics.map((t) => ({ name: t.name, topicId: t.topicId }))
    : req.topicNames.map((name) => ({ name: name as string | null, topicId: ZERO_UUID }));
}

/** DeleteTopics handler. */
export const deleteTopics: ApiHandler = defineApi<DeleteTopicsRequest, DeleteTopicsResponse>({
  minVersion: 0,
  maxVersion: 6,
  request: DeleteTopicsRequest,
  response: DeleteTopicsResponse,
  async handle(ctx, req) {
    const broker = ctx.broker;
    const responses = [];
    for (const { name, topicId } of requested(req, ctx.version)) {
      const result = (errorCode: number, errorMessage: string | null, n = name, id = topicId) =>
        createDeleteTopicsResponseDeletableTopicResult({
          name: n,
          topicId: id,
          errorCode,
          errorMessage: errorMessage === null ? null : clipMessage(errorMessage),
        });
      if (name !== null && topicId !== ZERO_UUID) {
        responses.push(result(ErrorCode.INVALID_REQUEST, "Give a topic name or an id, not both"));
        continue;
      }
      const cluster = broker.cluster;
      const info = cluster !== undefined
        ? cluster.topicInfo(name ?? cluster.topicName(topicId) ?? "")
        : name !== null
        ? broker.logs.topic(name)
        : broker.logs.topicById(topicId);
      if (info === undefined && name !== null && !authorize(ctx, ACCESS.DeleteTopics.topic, name)) {
        // an unknown topic one may not delete is not revealed as unknown
        responses.push(result(ErrorCode.TOPIC_AUTHORIZATION_FAILED, null));
        continue;
      }
      if (info === undefined) {
        responses.push(
          name !== null
            ? result(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Topic ${name} does not exist`)
            : result(ErrorCode.UNKNOWN_TOPIC_ID, `Topic id ${topicId} does not exist`),
        );
        continue;
      }
      if (!authorize(ctx, ACCESS.DeleteTopics.topic, info.name)) {
        // by id: the name only to those who may DESCRIBE it (Kafka answers the id alone)
        responses.push(result(ErrorCode.TOPIC_AUTHORIZATION_FAILED, null, name, topicId));
        continue;
      }
      if (isInternalTopic(info.name)) {
        responses.push(result(
          ErrorCode.INVALID_TOPIC_EXCEPTION,
          `Internal topic ${info.name} cannot be deleted`,
          info.name,
          info.id,
        ));
        continue;
      }
      try {
        if (cluster !== undefined) await cluster.deleteTopic(info.name);
        else await broker.logs.deleteTopic(info.name);
        broker.logger.info(`Deleted topic ${info.name} (id ${info.id})`);
        responses.push(result(0, null, info.name, info.id));
      } catch (e) {
        responses.push(result(errorCodeOf(e), messageOf(e), info.name, info.id));
      }
    }
    return createDeleteTopicsResponse({ responses });
  },
  errorResponse(req, errorCode, message) {
    return createDeleteTopicsResponse({
      responses: requested(req, 6).concat(requested(req, 0)).map((t) =>
        createDeleteTopicsResponseDeletableTopicResult({
          name: t.name,
          topicId: t.topicId,
          errorCode,
          errorMessage: message,
        })
      ),
    });
  },
});
