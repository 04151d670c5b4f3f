// Copyright 2026 the Sluice authors. Apache-2.0 license.
import { deepStrictEqual as assertEquals, ok } from "node:assert/strict";
import {
  DescribeLogDirsRequest,
  DescribeLogDirsResponse,
} from "../../protocol/messages/describe_log_dirs.ts";
import { ProduceRequest, ProduceResponse } from "../../protocol/messages/produce.ts";
import { resolve } from "node:path";
import { buildBatch } from "../../wasm/testing.ts";
import { createTopic, produceBody, RawClient, startTestBroker } from "../testing.ts";

Deno.test("DescribeLogDirs v0-v4: the data dir, each partition's bytes, lag 0, volume sizes", async () => {
  await using t = await startTestBroker();
  const c = await RawClient.connect(t.broker.port);
  try {
    await createTopic(c, "dirs-a", 2);
    await createTopic(c, "dirs-b", 1);
    const batches = [
      buildBatch({ records: [{ key: "k", value: "x".repeat(1000) }], baseTimestamp: Date.now() }),
      buildBatch({ records: [{ key: "k", value: "y".repeat(50) }], baseTimestamp: Date.now() }),
    ];
    for (const b of batches) {
      const r = await c.request(ProduceRequest, ProduceResponse, 9, produceBody("dirs-a", 1, b));
      assertEquals(r.responses[0].partitionResponses[0].errorCode, 0);
    }
    const size = batches[0].length + batches[1].length;
    const dir = resolve(t.dir);
    for (let v = 0; v <= 4; v++) {
      const all = await c.request(DescribeLogDirsRequest, DescribeLogDirsResponse, v, {
        topics: null,
      });
      assertEquals(all.results.length, 1, `v${v}`);
      const [res] = all.results;
      assertEquals([res.errorCode, res.logDir], [0, dir], `v${v}`);
      assertEquals(
        res.topics.map((
          x,
        ) => [x.name, x.partitions.map((p) => [p.partitionIndex, p.partitionSize])])
          .sort(),
        [["dirs-a", [[0, 0], [1, size]]], ["dirs-b", [[0, 0]]]],
        `v${v}`,
      );
      ok(res.topics.every((x) => x.partitions.every((p) => p.offsetLag === 0 && !p.isFutureKey)));
      if (v >= 4) {
        ok(res.totalBytes > 0 && res.usableBytes > 0 && res.usableBytes <= res.totalBytes);
      } else assertEquals([res.totalBytes, res.usableBytes], [-1, -1]);
      // named partitions: unknown topics and partitions are left out, duplicates once
      const some = await c.request(DescribeLogDirsRequest, DescribeLogDirsResponse, v, {
        topics: [
          { topic: "dirs-a", partitions: [1, 1, 7] },
          { topic: "missing", partitions: [0] },
        ],
      });
      assertEquals(
        some.results[0].topics.map((x) => [x.name, x.partitions.map((p) => p.partitionSize)]),
        [["dirs-a", [size]]],
        `v${v}`,
      );
    }
  } finally {
    c.close();
  }
});

Deno.test("DescribeLogDirs after a clean restart: never-used partitions are listed, empty", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sluice-dirs-restart-" });
  const b = buildBatch({ records: [{ key: "k", value: "v" }], baseTimestamp: Date.now() });
  try {
    // the first broker's dispose would remove the directory: closed by hand
    const first = await startTestBroker({ logDirs: [dir] });
    try {
      const c = await RawClient.connect(first.broker.port);
      await createTopic(c, "holes", 3);
      await c.request(ProduceRequest, ProduceResponse, 9, produceBody("holes", 1, b));
      c.close();
    } finally {
      await first.broker.close();
    }
    await using t = await startTestBroker({ logDirs: [dir] });
    const c = await RawClient.connect(t.broker.port);
    try {
      const all = await c.request(DescribeLogDirsRequest, DescribeLogDirsResponse, 4, {
        topics: [{ topic: "holes", partitions: [0, 1, 2, 3] }],
      });
      assertEquals(
        all.results[0].topics.map((x) =>
          x.partitions.map((p) => [p.partitionIndex, p.partitionSize, p.offsetLag])
        ),
        [[[0, 0, 0], [1, b.length, 0], [2, 0, 0]]],
      );
      // and they take records as any other
      const r = await c.request(ProduceRequest, ProduceResponse, 9, produceBody("holes", 2, b));
      assertEquals(r.responses[0].partitionResponses[0].errorCode, 0);
    } finally {
      c.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
