// Copyright 2026 the Sluice authors. Apache-2.0 license.
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import {
  createOffsetFetchRequest,
  type OffsetFetchResponse,
} from "../../protocol/messages/offset_fetch.ts";
import { openHandlerHarness } from "../group/testing.ts";
import { offsetFetch } from "./offset_fetch.ts";

async function seed(h: Awaited<ReturnType<typeof openHandlerHarness>>) {
  for (const [groupId, partition, offset] of [["a", 0, 5], ["a", 2, 9], ["b", 1, 3]] as const) {
    await h.groups.commitOffsets({
      groupId,
      generationId: -1,
      memberId: "",
      groupInstanceId: null,
      topics: [{ topic: "t", partitions: [{ partition, offset, leaderEpoch: 4, metadata: "x" }] }],
    });
  }
}

Deno.test("OffsetFetch v2-v7: null topics = all committed offsets; leader epoch from v5", async () => {
  for (let v = 2; v <= 7; v++) {
    const h = await openHandlerHarness();
    try {
      await seed(h);
      const r = await h.call<unknown, OffsetFetchResponse>(
        offsetFetch,
        v,
        createOffsetFetchRequest({ groupId: "a", topics: null }),
      );
      assertEquals(r.errorCode, 0);
      assertEquals(
        r.topics.map((
          t,
        ) => [
          t.name,
          t.partitions.map((p) => [p.partitionIndex, p.committedOffset, p.committedLeaderEpoch]),
        ]),
        [["t", [[0, 5, v >= 5 ? 4 : -1], [2, 9, v >= 5 ? 4 : -1]]]],
      );
      const none = await h.call<unknown, OffsetFetchResponse>(
        offsetFetch,
        v,
        createOffsetFetchRequest({ groupId: "zzz", topics: null }),
      );
      assertEquals([none.errorCode, none.topics], [0, []]);
    } finally {
      await h.close();
    }
  }
});

Deno.test("OffsetFetch v8-v9: several groups per request", async () => {
  for (const v of [8, 9]) {
    const h = await openHandlerHarness();
    try {
      await seed(h);
      const r = await h.call<unknown, OffsetFetchResponse>(
        offsetFetch,
        v,
        createOffsetFetchRequest({
          groups: [
            {
              groupId: "a",
              memberId: null,
              memberEpoch: -1,
              topics: [{ name: "t", partitionIndexes: [2, 1] }],
            },
            { groupId: "b", memberId: null, memberEpoch: -1, topics: null },
            {
              groupId: "c",
              memberId: null,
              memberEpoch: -1,
              topics: [{ name: "t", partitionIndexes: [0] }],
            },
          ],
        }),
      );
      assertEquals(
        r.groups.map((
          g,
        ) => [
          g.groupId,
          g.errorCode,
          g.topics.map((
            t,
          ) => [
            t.name,
            t.partitions.map((p) => [p.partitionIndex, p.committedOffset, p.metadata]),
          ]),
        ]),
        [
          ["a", 0, [["t", [[2, 9, "x"], [1, -1, ""]]]]],
          ["b", 0, [["t", [[1, 3, "x"]]]]],
          ["c", 0, [["t", [[0, -1, ""]]]]],
        ],
      );
    } finally {
      await h.close();
    }
  }
});

Deno.test("OffsetFetch v0-v1: group errors go into each partition", async () => {
  const h = await openHandlerHarness();
  try {
    h.groups.close(); // the coordinator is gone: NOT_COORDINATOR
    const r = await h.call<unknown, OffsetFetchResponse>(
      offsetFetch,
      1,
      createOffsetFetchRequest({ groupId: "a", topics: [{ name: "t", partitionIndexes: [0] }] }),
    );
    assertEquals(r.topics[0].partitions.map((p) => [p.committedOffset, p.errorCode]), [[-1, 16]]);
  } finally {
    await h.close();
  }
});
