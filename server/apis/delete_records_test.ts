// Copyright 2026 the Sluice authors. Apache-2.0 license.
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { ErrorCode } from "../../protocol/errors.ts";
import {
  DeleteRecordsRequest,
  DeleteRecordsResponse,
} from "../../protocol/messages/delete_records.ts";
import { FetchRequest, FetchResponse } from "../../protocol/messages/fetch.ts";
import { ProduceRequest, ProduceResponse } from "../../protocol/messages/produce.ts";
import { buildBatch } from "../../wasm/testing.ts";
import { createTopic, fetchBody, produceBody, RawClient, startTestBroker } from "../testing.ts";

Deno.test("DeleteRecords: moves the log start offset; errors per partition", async () => {
  await using t = await startTestBroker();
  const c = await RawClient.connect(t.broker.port);
  try {
    await createTopic(c, "trim", 2);
    for (let i = 0; i < 5; i++) {
      const b = buildBatch({ records: [{ key: null, value: `r${i}` }] });
      await c.request(ProduceRequest, ProduceResponse, 9, produceBody("trim", 0, b));
    }
    const res = await c.request(DeleteRecordsRequest, DeleteRecordsResponse, 2, {
      topics: [
        {
          name: "trim",
          partitions: [{ partitionIndex: 0, offset: 3 }, { partitionIndex: 1, offset: 9 }],
        },
        { name: "nope", partitions: [{ partitionIndex: 0, offset: 0 }] },
      ],
      timeoutMs: 1000,
    });
    assertEquals(
      res.topics.map((tr) =>
        tr.partitions.map((p) => [p.partitionIndex, p.errorCode, p.lowWatermark])
      ),
      [
        [[0, 0, 3], [1, ErrorCode.OFFSET_OUT_OF_RANGE, -1]],
        [[0, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, -1]],
      ],
    );
    const f = await c.request(
      FetchRequest,
      FetchResponse,
      12,
      fetchBody([{ topic: "trim", partition: 0, offset: 0 }]),
    );
    assertEquals(f.responses[0].partitions[0].errorCode, ErrorCode.OFFSET_OUT_OF_RANGE);
    assertEquals(f.responses[0].partitions[0].logStartOffset, 3);
    // -1 means "up to the high watermark".
    const all = await c.request(DeleteRecordsRequest, DeleteRecordsResponse, 0, {
      topics: [{ name: "trim", partitions: [{ partitionIndex: 0, offset: -1 }] }],
    });
    assertEquals(all.topics[0].partitions[0].lowWatermark, 5);
  } finally {
    c.close();
  }
});
