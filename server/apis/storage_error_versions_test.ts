// Copyright 2026 the Sluice authors. Apache-2.0 license.
// KAFKA_STORAGE_ERROR exists from Produce v4 and Fetch v6; older requests get
// NOT_LEADER_OR_FOLLOWER, which their clients retry, as Kafka answers them.
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { EngineError, ErrorCode as EngineCode, PartitionLog } from "../../engine/mod.ts";
import { ErrorCode } from "../../protocol/errors.ts";
import { FetchRequest, FetchResponse } from "../../protocol/messages/fetch.ts";
import { ProduceRequest, ProduceResponse } from "../../protocol/messages/produce.ts";
import { buildBatch } from "../../wasm/testing.ts";
import { createTopic, fetchBody, produceBody, RawClient, startTestBroker } from "../testing.ts";

Deno.test("storage errors: NOT_LEADER_OR_FOLLOWER for Produce v3 and Fetch v4-v5, KAFKA_STORAGE_ERROR after", async () => {
  await using t = await startTestBroker();
  const c = await RawClient.connect(t.broker.port);
  const append = PartitionLog.prototype.append;
  const read = PartitionLog.prototype.read;
  const failing = (what: string) =>
    Promise.reject(new EngineError(EngineCode.KAFKA_STORAGE_ERROR, `${what} failed: disk`));
  try {
    await createTopic(c, "sto", 1);
    PartitionLog.prototype.append = () => failing("append");
    PartitionLog.prototype.read = () => failing("read");
    const batch = () =>
      buildBatch({ records: [{ key: "k", value: "v" }], baseTimestamp: Date.now() });
    const produced = [];
    for (const v of [3, 4, 9]) {
      const r = await c.request(ProduceRequest, ProduceResponse, v, produceBody("sto", 0, batch()));
      produced.push([v, r.responses[0].partitionResponses[0].errorCode]);
    }
    assertEquals(produced, [
      [3, ErrorCode.NOT_LEADER_OR_FOLLOWER],
      [4, ErrorCode.KAFKA_STORAGE_ERROR],
      [9, ErrorCode.KAFKA_STORAGE_ERROR],
    ]);
    const fetched = [];
    for (const v of [4, 5, 6, 12]) {
      const f = await c.request(
        FetchRequest,
        FetchResponse,
        v,
        fetchBody([{ topic: "sto", partition: 0, offset: 0 }], { maxWaitMs: 0 }),
      );
      fetched.push([v, f.responses[0].partitions[0].errorCode]);
    }
    assertEquals(fetched, [
      [4, ErrorCode.NOT_LEADER_OR_FOLLOWER],
      [5, ErrorCode.NOT_LEADER_OR_FOLLOWER],
      [6, ErrorCode.KAFKA_STORAGE_ERROR],
      [12, ErrorCode.KAFKA_STORAGE_ERROR],
    ]);
  } finally {
    PartitionLog.prototype.append = append;
    PartitionLog.prototype.read = read;
    c.close();
  }
});
