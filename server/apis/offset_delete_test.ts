// Copyright 2026 the Sluice authors. Apache-2.0 license.
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import {
  createOffsetDeleteRequest,
  type OffsetDeleteResponse,
} from "../../protocol/messages/offset_delete.ts";
import { Writer } from "../../protocol/primitives.ts";
import { openHandlerHarness } from "../group/testing.ts";
import { offsetDelete } from "./offset_delete.ts";

function subscription(...topics: string[]): Uint8Array {
  const w = new Writer();
  w.writeInt16(1);
  w.writeArrayLength(topics.length);
  for (const t of topics) w.writeString(t);
  w.writeNullableBytes(null);
  w.writeArrayLength(0);
  return w.finish();
}

Deno.test("OffsetDelete v0: subscribed topics refused, others deleted, unknown ones reported", async () => {
  const h = await openHandlerHarness();
  try {
    await h.logs.createTopic("u", 1);
    const j = await h.groups.joinGroup({
      groupId: "g",
      memberId: "",
      groupInstanceId: null,
      requireKnownMemberId: false,
      clientId: "c",
      clientHost: "/h",
      rebalanceTimeoutMs: 10000,
      sessionTimeoutMs: 10000,
      protocolType: "consumer",
      protocols: [{ name: "range", metadata: subscription("t") }],
    });
    await h.groups.syncGroup({
      groupId: "g",
      generationId: 1,
      memberId: j.memberId,
      groupInstanceId: null,
      assignments: [],
    });
    await h.groups.commitOffsets({
      groupId: "g",
      generationId: 1,
      memberId: j.memberId,
      groupInstanceId: null,
      topics: [
        { topic: "t", partitions: [{ partition: 0, offset: 1, leaderEpoch: -1, metadata: "" }] },
        { topic: "u", partitions: [{ partition: 0, offset: 2, leaderEpoch: -1, metadata: "" }] },
      ],
    });
    const r = await h.call<unknown, OffsetDeleteResponse>(
      offsetDelete,
      0,
      createOffsetDeleteRequest({
        groupId: "g",
        topics: [
          { name: "t", partitions: [{ partitionIndex: 0 }] },
          { name: "u", partitions: [{ partitionIndex: 0 }] },
          { name: "zz", partitions: [{ partitionIndex: 0 }] },
        ],
      }),
    );
    assertEquals(r.errorCode, 0);
    assertEquals(r.topics.map((t) => [t.name, t.partitions.map((p) => p.errorCode)]), [
      ["t", [86]],
      ["u", [0]],
      ["zz", [3]],
    ]);
    assertEquals(h.groups.fetchOffsets("g", null).topics.map((t) => t.topic), ["t"]);
    const missing = await h.call<unknown, OffsetDeleteResponse>(
      offsetDelete,
      0,
      createOffsetDeleteRequest({
        groupId: "none",
        topics: [{ name: "t", partitions: [{ partitionIndex: 0 }] }],
      }),
    );
    assertEquals([missing.errorCode, missing.topics], [69, []]);
  } finally {
    await h.close();
  }
});
