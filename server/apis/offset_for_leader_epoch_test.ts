// Copyright 2026 the Sluice authors. Apache-2.0 license.
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { ErrorCode } from "../../protocol/errors.ts";
import {
  OffsetForLeaderEpochRequest,
  OffsetForLeaderEpochResponse,
} from "../../protocol/messages/offset_for_leader_epoch.ts";
import { ProduceRequest, ProduceResponse } from "../../protocol/messages/produce.ts";
import { buildBatch } from "../../wasm/testing.ts";
import { createTopic, produceBody, RawClient, startTestBroker } from "../testing.ts";

Deno.test("OffsetForLeaderEpoch v0-v4: end offsets of epochs, fencing by current epoch, unknown partitions", async () => {
  await using t = await startTestBroker();
  const c = await RawClient.connect(t.broker.port);
  try {
    await createTopic(c, "olep", 1);
    for (let i = 0; i < 3; i++) {
      const b = buildBatch({ records: [{ key: "k", value: `v${i}` }], baseTimestamp: Date.now() });
      const r = await c.request(ProduceRequest, ProduceResponse, 9, produceBody("olep", 0, b));
      assertEquals(r.responses[0].partitionResponses[0].errorCode, 0);
    }
    for (let v = 0; v <= 4; v++) {
      const res = await c.request(OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse, v, {
        replicaId: -1,
        topics: [
          {
            topic: "olep",
            partitions: [
              { partition: 0, currentLeaderEpoch: -1, leaderEpoch: 0 },
              { partition: 0, currentLeaderEpoch: v >= 2 ? 0 : -1, leaderEpoch: 5 },
              { partition: 7, currentLeaderEpoch: -1, leaderEpoch: 0 },
            ],
          },
          {
            topic: "missing",
            partitions: [{ partition: 0, currentLeaderEpoch: -1, leaderEpoch: 0 }],
          },
        ],
      });
      const rows = res.topics.flatMap((x) =>
        x.partitions.map((p) => [x.topic, p.partition, p.errorCode, p.leaderEpoch, p.endOffset])
      );
      const epochOf = (e: number) => (v >= 1 ? e : -1); // leader_epoch is in v1+
      assertEquals(rows, [
        ["olep", 0, 0, epochOf(0), 3], // the current epoch ends at the log end offset
        ["olep", 0, 0, -1, -1], // an epoch newer than every known one
        ["olep", 7, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, -1, -1],
        ["missing", 0, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, -1, -1],
      ], `v${v}`);
    }
    const fenced = await c.request(OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse, 4, {
      topics: [{
        topic: "olep",
        partitions: [
          { partition: 0, currentLeaderEpoch: 1, leaderEpoch: 0 }, // newer than ours (0)
        ],
      }],
    });
    assertEquals(fenced.topics[0].partitions[0].errorCode, ErrorCode.UNKNOWN_LEADER_EPOCH);
  } finally {
    c.close();
  }
});
