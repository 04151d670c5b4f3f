// Copyright 2026 the Sluice authors. Apache-2.0 license.
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { ErrorCode } from "../../protocol/errors.ts";
import { ListOffsetsRequest, ListOffsetsResponse } from "../../protocol/messages/list_offsets.ts";
import { ProduceRequest, ProduceResponse } from "../../protocol/messages/produce.ts";
import { buildBatch } from "../../wasm/testing.ts";
import { createTopic, produceBody, RawClient, startTestBroker } from "../testing.ts";

function query(topic: string, partitionIndex: number, timestamp: number) {
  return {
    replicaId: -1,
    isolationLevel: 0,
    topics: [{
      name: topic,
      partitions: [{ partitionIndex, timestamp, currentLeaderEpoch: -1, maxNumOffsets: 1 }],
    }],
  };
}

Deno.test("ListOffsets: earliest, latest, by timestamp, max timestamp, v0 old-style offsets", async () => {
  await using t = await startTestBroker();
  const c = await RawClient.connect(t.broker.port);
  try {
    await createTopic(c, "times");
    // Offsets 0-1 at t=1000/1001, offset 2 at t=5000, offsets 3-4 at t=3000/3010.
    const batches = [
      buildBatch({
        records: [{ key: null, value: "a" }, { key: null, value: "b", timestampDelta: 1 }],
        baseTimestamp: 1000,
      }),
      buildBatch({ records: [{ key: null, value: "c" }], baseTimestamp: 5000 }),
      buildBatch({
        records: [{ key: null, value: "d" }, { key: null, value: "e", timestampDelta: 10 }],
        baseTimestamp: 3000,
      }),
    ];
    for (const b of batches) {
      const p = await c.request(ProduceRequest, ProduceResponse, 9, produceBody("times", 0, b));
      assertEquals(p.responses[0].partitionResponses[0].errorCode, 0);
    }
    const ask = async (timestamp: number, version = 8) => {
      const r = await c.request(
        ListOffsetsRequest,
        ListOffsetsResponse,
        version,
        query("times", 0, timestamp),
      );
      const p = r.topics[0].partitions[0];
      return [p.errorCode, p.offset, p.timestamp];
    };
    assertEquals(await ask(-2), [0, 0, -1]);
    assertEquals(await ask(-1), [0, 5, -1]);
    assertEquals(await ask(1001), [0, 1, 1001]);
    assertEquals(await ask(2000), [0, 2, 5000]);
    assertEquals(await ask(9999), [0, -1, -1]);
    assertEquals(await ask(-3, 7), [0, 2, 5000]);
    assertEquals(await ask(-1, 1), [0, 5, -1]);
    const v0 = await c.request(ListOffsetsRequest, ListOffsetsResponse, 0, query("times", 0, -1));
    assertEquals(v0.topics[0].partitions[0].oldStyleOffsets, [5]);
    const missing = await c.request(
      ListOffsetsRequest,
      ListOffsetsResponse,
      8,
      query("times", 9, -1),
    );
    assertEquals(
      missing.topics[0].partitions[0].errorCode,
      ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
    );
  } finally {
    c.close();
  }
});
