// Copyright 2026 the Sluice authors. Apache-2.0 license.
// OffsetDelete (key 47): served v0 by the group coordinator (`server/group/`).
// - Deletes committed offsets of a group. Top-level GROUP_ID_NOT_FOUND for an unknown group and
//   NON_EMPTY_GROUP for a non-consumer group with members. In a consumer group with members,
//   partitions of subscribed topics get GROUP_SUBSCRIBED_TO_TOPIC; unknown topics get
//   UNKNOWN_TOPIC_OR_PARTITION.
// - ACLs (`../security/access.ts`): DELETE on the group, else GROUP_AUTHORIZATION_FAILED; READ
//   on each topic, else its partitions TOPIC_AUTHORIZATION_FAILED (their offsets are kept).

import { ErrorCode } from "../../protocol/errors.ts";
import {
  createOffsetDeleteResponse,
  createOffsetDeleteResponseResponsePartition,
  createOffsetDeleteResponseResponseTopic,
  OffsetDeleteRequest,
  OffsetDeleteResponse,
} from "../../protocol/messages/offset_delete.ts";
import { type ApiHandler, defineApi } from "../api.ts";
import { groupCoordinatorOf } from "../group/broker_context.ts";
import { partitionExists } from "../leadership.ts";
import { ACCESS, authorize, authorizedNames } from "../security/access.ts";

/** OffsetDelete handler. */
export const offsetDelete: ApiHandler = defineApi<OffsetDeleteRequest, OffsetDeleteResponse>({
  minVersion: 0,
  maxVersion: 0,
  request: OffsetDeleteRequest,
  response: OffsetDeleteResponse,
  async handle(ctx, req) {
    if (!authorize(ctx, ACCESS.OffsetDelete.group, req.groupId)) {
      return createOffsetDeleteResponse({ errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED });
    }
    const readable = authorizedNames(ctx, ACCESS.OffsetDelete.topic, req.topics.map((t) => t.name));
    const known: { topic: string; partition: number }[] = [];
    for (const t of req.topics) {
      if (!readable.has(t.name)) continue;
      for (const p of t.partitions) {
        if (partitionExists(ctx.broker, t.name, p.partitionIndex)) {
          known.push({ topic: t.name, partition: p.partitionIndex });
        }
      }
    }
    const r = await groupCoordinatorOf(ctx.broker).deleteOffsets(req.groupId, known);
    if (r.errorCode !== 0) return createOffsetDeleteResponse({ errorCode: r.errorCode });
    const codes = new Map<string, number>();
    for (const p of r.partitions) codes.set(`${p.topic}\u0000${p.partition}`, p.errorCode);
    return createOffsetDeleteResponse({
      errorCode: 0,
      topics: req.topics.map((t) =>
        createOffsetDeleteResponseResponseTopic({
          name: t.name,
          partitions: t.partitions.map((p) =>
            createOffsetDeleteResponseResponsePartition({
              partitionIndex: p.partitionIndex,
              errorCode: !readable.has(t.name)
                ? ErrorCode.TOPIC_AUTHORIZATION_FAILED
                : codes.get(`${t.name}\u0000${p.partitionIndex}`) ??
                  ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
            })
          ),
        })
      ),
    });
  },
  errorResponse(_req, errorCode) {
    return createOffsetDeleteResponse({ errorCode });
  },
});
