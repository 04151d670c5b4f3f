// Copyright 2026 the Sluice authors. Apache-2.0 license.
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { LogManager } from "../../engine/mod.ts";
import { ErrorCode } from "../../protocol/errors.ts";
import {
  DescribeProducersRequest,
  DescribeProducersResponse,
} from "../../protocol/messages/describe_producers.ts";
import { Reader, Writer } from "../../protocol/primitives.ts";
import { buildBatch } from "../../wasm/testing.ts";
import type { RequestContext } from "../api.ts";
import { describeProducers } from "./describe_producers.ts";

Deno.test("DescribeProducers: the producer state of each partition, v0 round trip", async () => {
  const dir = await Deno.makeTempDir();
  const logs = await LogManager.open(dir, { retentionCheckIntervalMs: 0 });
  try {
    await logs.createTopic("idem", 2);
    const log = logs.partition("idem", 1)!;
    const ts = Date.now();
    for (const [pid, epoch, seq] of [[7, 0, 0], [7, 0, 2], [3, 2, 10], [7, 1, 0]]) {
      await log.append(buildBatch({
        records: [{ key: null, value: "a" }, { key: null, value: "b" }],
        baseTimestamp: ts + seq,
        producerId: pid,
        producerEpoch: epoch,
        baseSequence: seq,
      }));
    }
    // handlers only read `ctx.broker.logs` here: a real LogManager, no broker around it
    const ctx = { broker: { logs }, version: 0 } as unknown as RequestContext;
    const req = DescribeProducersRequest.create({
      topics: [{ name: "idem", partitionIndexes: [1, 0, 5] }, {
        name: "nope",
        partitionIndexes: [0],
      }],
    });
    const w = new Writer();
    DescribeProducersRequest.write(w, req, 0);
    const decoded = DescribeProducersRequest.read(new Reader(w.finish()), 0);
    const res = await describeProducers.handle(ctx, decoded) as DescribeProducersResponse;
    const out = new Writer();
    DescribeProducersResponse.write(out, res, 0);
    const back = DescribeProducersResponse.read(new Reader(out.finish()), 0);
    const parts = back.topics.map((t) =>
      t.partitions.map((p) => [
        t.name,
        p.partitionIndex,
        p.errorCode,
        p.activeProducers.map((s) => [
          s.producerId,
          s.producerEpoch,
          s.lastSequence,
          s.lastTimestamp - ts,
          s.coordinatorEpoch,
          s.currentTxnStartOffset,
        ]),
      ])
    );
    assertEquals(parts, [
      [
        ["idem", 1, 0, [[3, 2, 11, 10, -1, -1], [7, 1, 1, 0, -1, -1]]],
        ["idem", 0, 0, []],
        ["idem", 5, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, []],
      ],
      [["nope", 0, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, []]],
    ]);
  } finally {
    await logs.close();
    await Deno.remove(dir, { recursive: true });
  }
});
