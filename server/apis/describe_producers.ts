// Copyright 2026 the Sluice authors. Apache-2.0 license.
// DescribeProducers (key 61): served v0 (flexible).
// - For each requested partition, the producers the log has state for
//   (`PartitionLog.producerStates()`, engine/producer_state.ts): producer id, epoch, last
//   sequence, last timestamp, the coordinator epoch of the last marker and the first offset of
//   the transaction in progress (-1 if none). Unknown partition: UNKNOWN_TOPIC_OR_PARTITION with
//   a message.
// - Cluster mode (docs/CLUSTER.md, `../leadership.ts`): only the partition's leader answers;
//   other brokers (and a fenced leader) answer NOT_LEADER_OR_FOLLOWER, as Kafka's.
// - ACLs: READ on each topic, else its partitions TOPIC_AUTHORIZATION_FAILED
//   (`../security/access.ts`).

import { ErrorCode } from "../../protocol/errors.ts";
import {
  createDescribeProducersResponse,
  createDescribeProducersResponsePartitionResponse,
  createDescribeProducersResponseProducerState,
  createDescribeProducersResponseTopicResponse,
  DescribeProducersRequest,
  DescribeProducersResponse,
} from "../../protocol/messages/describe_producers.ts";
import { type ApiHandler, clipMessage, defineApi } from "../api.ts";
import { leaderError } from "../leadership.ts";
import { ACCESS, authorizedNames } from "../security/access.ts";

/** DescribeProducers handler. */
export const describeProducers: ApiHandler = defineApi<
  DescribeProducersRequest,
  DescribeProducersResponse
>({
  minVersion: 0,
  maxVersion: 0,
  request: DescribeProducersRequest,
  response: DescribeProducersResponse,
  handle(ctx, req) {
    const logs = ctx.broker.logs;
    const readable = authorizedNames(
      ctx,
      ACCESS.DescribeProducers.topic,
      req.topics.map((t) => t.name),
    );
    return createDescribeProducersResponse({
      topics: req.topics.map((t) =>
        createDescribeProducersResponseTopicResponse({
          name: t.name,
          partitions: t.partitionIndexes.map((partitionIndex) => {
            if (!readable.has(t.name)) {
              return createDescribeProducersResponsePartitionResponse({
                partitionIndex,
                errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
              });
            }
            // only the partition's leader answers (cluster mode, or a replicated partition)
            const notLeader = leaderError(ctx.broker, t.name, partitionIndex);
            if (notLeader !== undefined) {
              return createDescribeProducersResponsePartitionResponse({
                partitionIndex,
                errorCode: notLeader.code,
                errorMessage: clipMessage(
                  notLeader.code === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION &&
                    ctx.broker.cluster === undefined
                    ? `${t.name}-${partitionIndex} does not exist on this broker`
                    : notLeader.message,
                ),
              });
            }
            const log = logs.partition(t.name, partitionIndex)!;
            return createDescribeProducersResponsePartitionResponse({
              partitionIndex,
              errorCode: 0,
              activeProducers: log.producerStates().map((s) =>
                createDescribeProducersResponseProducerState({
                  producerId: s.producerId,
                  producerEpoch: s.epoch,
                  lastSequence: s.lastSequence,
                  lastTimestamp: s.lastTimestamp,
                  coordinatorEpoch: s.coordinatorEpoch,
                  currentTxnStartOffset: s.currentTxnStartOffset,
                })
              ),
            });
          }),
        })
      ),
    });
  },
  errorResponse(req, errorCode, message) {
    return createDescribeProducersResponse({
      topics: req.topics.map((t) =>
        createDescribeProducersResponseTopicResponse({
          name: t.name,
          partitions: t.partitionIndexes.map((partitionIndex) =>
            createDescribeProducersResponsePartitionResponse({
              partitionIndex,
              errorCode,
              errorMessage: message,
            })
          ),
        })
      ),
    });
  },
});
