// Copyright 2026 the Sluice authors. Apache-2.0 license.
// WriteTxnMarkers (key 27): served v0-v1 (flexible from v1).
// - Broker-to-broker in Kafka; on this single broker the coordinator writes markers itself,
//   and this API writes the requested COMMIT/ABORT control batches the same way, for
//   completeness. Unknown partitions get UNKNOWN_TOPIC_OR_PARTITION.

import {
  createWriteTxnMarkersResponse,
  createWriteTxnMarkersResponseWritableTxnMarkerPartitionResult,
  createWriteTxnMarkersResponseWritableTxnMarkerResult,
  createWriteTxnMarkersResponseWritableTxnMarkerTopicResult,
  WriteTxnMarkersRequest,
  WriteTxnMarkersResponse,
} from "../../protocol/messages/write_txn_markers.ts";
import { type ApiHandler, defineApi } from "../api.ts";
import { transactionCoordinatorOf } from "../txn/mod.ts";

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
    const txns = await transactionCoordinatorOf(ctx.broker);
    const markers = [];
    for (const m of req.markers) {
      const topics = await txns.writeMarkers({
        producerId: m.producerId,
        producerEpoch: m.producerEpoch,
        commit: m.transactionResult,
        coordinatorEpoch: m.coordinatorEpoch,
        topics: m.topics.map((t) => ({ topic: t.name, partitions: t.partitionIndexes })),
      });
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
