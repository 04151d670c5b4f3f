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

Deno.test("ListOffsets v0: offsets by segment, as Kafka's legacyFetchOffsetsBefore", async () => {
  // Kafka answers v0 from its segments (base offsets and last write times), not from record
  // timestamps: old clients (optiopay/kafka's proto, Sarama below 0.10.1) ask it that way.
  await using t = await startTestBroker();
  const c = await RawClient.connect(t.broker.port);
  try {
    // one batch per segment: segments at 0 (offsets 0-1), 2 (offset 2) and 3 (offsets 3-4)
    await createTopic(c, "legacy", 1, { "segment.bytes": "100" });
    const batches = [
      buildBatch({ records: [{ key: null, value: "a" }, { key: null, value: "b" }] }),
      buildBatch({ records: [{ key: null, value: "c" }] }),
      buildBatch({ records: [{ key: null, value: "d" }, { key: null, value: "e" }] }),
    ];
    const between: number[] = [];
    for (const b of batches) {
      const p = await c.request(ProduceRequest, ProduceResponse, 9, produceBody("legacy", 0, b));
      assertEquals(p.responses[0].partitionResponses[0].errorCode, 0);
      // a moment between two segments' last writes
      await new Promise((r) => setTimeout(r, 20));
      between.push(Date.now());
      await new Promise((r) => setTimeout(r, 20));
    }
    const segments = [];
    for await (const e of Deno.readDir(`${t.dir}/legacy-0`)) {
      if (e.name.endsWith(".log")) segments.push(Number(e.name.slice(0, -4)));
    }
    assertEquals(segments.sort((a, b) => a - b), [0, 2, 3]);
    const v0 = async (timestamp: number, maxNumOffsets: number, replicaId = -1) => {
      const q = query("legacy", 0, timestamp);
      q.replicaId = replicaId;
      q.topics[0].partitions[0].maxNumOffsets = maxNumOffsets;
      const r = await c.request(ListOffsetsRequest, ListOffsetsResponse, 0, q);
      const p = r.topics[0].partitions[0];
      return [p.errorCode, p.oldStyleOffsets];
    };
    // latest: the log end offset, then each segment's base offset
    assertEquals(await v0(-1, 10), [0, [5, 3, 2, 0]]);
    assertEquals(await v0(-1, 2), [0, [5, 3]]);
    assertEquals(await v0(-1, 1), [0, [5]]);
    assertEquals(await v0(-1, 0), [0, []]);
    // earliest: the log start offset only
    assertEquals(await v0(-2, 10), [0, [0]]);
    // a time: the segments last written at or before it (record timestamps play no part)
    assertEquals(await v0(between[0], 10), [0, [0]]);
    assertEquals(await v0(between[1], 10), [0, [2, 0]]);
    assertEquals(await v0(between[2], 10), [0, [3, 2, 0]]);
    assertEquals(await v0(between[2], 1), [0, [3]]);
    assertEquals(await v0(Date.now() + 3_600_000, 10), [0, [5, 3, 2, 0]]);
    assertEquals(await v0(1000, 10), [0, []]);
    // an empty log: its one segment's base offset, for latest and earliest alike
    await createTopic(c, "legacy-empty");
    const empty = async (timestamp: number) => {
      const q = query("legacy-empty", 0, timestamp);
      q.topics[0].partitions[0].maxNumOffsets = 10;
      const r = await c.request(ListOffsetsRequest, ListOffsetsResponse, 0, q);
      return r.topics[0].partitions[0].oldStyleOffsets;
    };
    assertEquals(await empty(-1), [0]);
    assertEquals(await empty(-2), [0]);
  } finally {
    c.close();
  }
});
