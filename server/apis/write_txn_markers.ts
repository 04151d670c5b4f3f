// Copyright 2026 the Sluice authors. Apache-2.0 license.
// WriteTxnMarkers (key 27): served v0-v1 (flexible from v1).
// - Broker-to-broker, as in Kafka: in cluster mode the transaction coordinator sends it to the
//   leader of each partition of a transaction it does not lead itself (`../txn/markers.ts`
//   `TxnMarkerSender`). Each COMMIT/ABORT control batch goes through the leader check
//   (NOT_LEADER_OR_FOLLOWER elsewhere, UNKNOWN_TOPIC_OR_PARTITION for an unknown partition) and
//   is appended as an acks=all write: answered once the in-sync replicas have it
//   (NOT_ENOUGH_REPLICAS(_AFTER_APPEND), REQUEST_TIMED_OUT after `request.timeout.ms`). A marker
//   of an older coordinator epoch gets TRANSACTION_COORDINATOR_FENCED, of an older producer
//   epoch INVALID_PRODUCER_EPOCH. On a single broker the coordinator writes its markers itself,
//   and this API writes them the same way.
// - ACLs: CLUSTER_ACTION on the cluster (brokers only), else every partition
//   CLUSTER_AUTHORIZATION_FAILED and no marker is written (`../security/access.ts`).

import {
  createWriteTxnMarkersResponse,
  createWriteTxnMarkersResponseWritableTxnMarkerPartitionResult,
  createWriteTxnMarkersResponseWritableTxnMarkerResult,
  createWriteTxnMarkersResponseWritableTxnMarkerTopicResult,
  WriteTxnMarkersRequest,
  WriteTxnMarkersResponse,
} from "../../protocol/messages/write_txn_markers.ts";
import { type ApiHandler, defineApi } from "../api.ts";
import { writeLocalMarkers } from "../txn/markers.ts";
import { ACCESS, authorize } from "../security/access.ts";
import { ErrorCode } from "../../protocol/errors.ts";

/** WriteTxnMarkers handler. */
export const writeTxnMarkers: ApiHandler = defineApi<
  WriteTxnMarkersRequest,
  WriteTxnMarkersResponse
>({
  minVersion: 0,
  maxVersion: 1,
  request: WriteTxnMarkersRequest,
  response: WriteTxnMarkersResponse,
  async handle(ctx, req) {
    if (!authorize(ctx, ACCESS.WriteTxnMarkers.cluster)) {
      return this.errorResponse(req, ErrorCode.CLUSTER_AUTHORIZATION_FAILED, "");
    }
    const timeoutMs = ctx.broker.config.requestTimeoutMs ?? 30000;
    const markers = [];
    for (const m of req.markers) {
      const topics = await writeLocalMarkers(
        ctx.broker,
        {
          producerId: m.producerId,
          producerEpoch: m.producerEpoch,
          commit: m.transactionResult,
          coordinatorEpoch: m.coordinatorEpoch,
          topics: m.topics.map((t) => ({ topic: t.name, partitions: t.partitionIndexes })),
        },
        timeoutMs,
        ctx.broker.logger,
      );
      markers.push(createWriteTxnMarkersResponseWritableTxnMarkerResult({
        producerId: m.producerId,
        topics: topics.map((t) =>
          createWriteTxnMarkersResponseWritableTxnMarkerTopicResult({
            name: t.topic,
            partitions: t.partitions.map((p) =>
              createWriteTxnMarkersResponseWritableTxnMarkerPartitionResult({
                partitionIndex: p.partition,
                errorCode: p.errorCode,
              })
            ),
          })
        ),
      }));
    }
    return createWriteTxnMarkersResponse({ markers });
  },
  errorResponse(req, errorCode) {
    return createWriteTxnMarkersResponse({
      markers: req.markers.map((m) =>
        createWriteTxnMarkersResponseWritableTxnMarkerResult({
          producerId: m.producerId,
          topics: m.topics.map((t) =>
            createWriteTxnMarkersResponseWritableTxnMarkerTopicResult({
              name: t.name,
              partitions: t.partitionIndexes.map((p) =>
                createWriteTxnMarkersResponseWritableTxnMarkerPartitionResult({
                  partitionIndex: p,
                  errorCode,
                })
              ),
            })
          ),
        })
      ),
    });
  },
});
