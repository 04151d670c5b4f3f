// Copyright 2026 the Sluice authors. Apache-2.0 license.
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import {
  createOffsetCommitRequest,
  type OffsetCommitResponse,
} from "../../protocol/messages/offset_commit.ts";
import {
  createOffsetFetchRequest,
  type OffsetFetchResponse,
} from "../../protocol/messages/offset_fetch.ts";
import { openHandlerHarness } from "../group/testing.ts";
import { offsetCommit } from "./offset_commit.ts";
import { offsetFetch } from "./offset_fetch.ts";

const part = (partitionIndex: number, committedOffset: number, committedMetadata = "") => ({
  partitionIndex,
  committedOffset,
  committedLeaderEpoch: -1,
  commitTimestamp: -1,
  committedMetadata,
});

Deno.test("OffsetCommit v0-v9 simple commits; unknown topics per partition; fetch v1 sees them", async () => {
  for (let v = 0; v <= 9; v++) {
    const h = await openHandlerHarness();
    try {
      const r = await h.call<unknown, OffsetCommitResponse>(
        offsetCommit,
        v,
        createOffsetCommitRequest({
          groupId: "g",
          generationIdOrMemberEpoch: -1,
          memberId: "",
          retentionTimeMs: -1,
          topics: [
            { name: "t", partitions: [part(0, 10 + v, "meta"), part(7, 1)] },
            { name: "nope", partitions: [part(0, 1)] },
          ],
        }),
      );
      assertEquals(
        r.topics.map((t) => [t.name, t.partitions.map((p) => [p.partitionIndex, p.errorCode])]),
        [
          ["t", [[0, 0], [7, 3]]],
          ["nope", [[0, 3]]],
        ],
      );
      const f = await h.call<unknown, OffsetFetchResponse>(
        offsetFetch,
        1,
        createOffsetFetchRequest({
          groupId: "g",
          topics: [{ name: "t", partitionIndexes: [0, 1] }],
        }),
      );
      assertEquals(
        f.topics[0].partitions.map((
          p,
        ) => [p.partitionIndex, p.committedOffset, p.metadata, p.errorCode]),
        [
          [0, 10 + v, "meta", 0],
          [1, -1, "", 0],
        ],
      );
    } finally {
      await h.close();
    }
  }
});

Deno.test("OffsetCommit v2 retention time sets an explicit expiry; member commits need a member", async () => {
  const h = await openHandlerHarness();
  try {
    const before = Date.now();
    await h.call<unknown, OffsetCommitResponse>(
      offsetCommit,
      2,
      createOffsetCommitRequest({
        groupId: "g",
        retentionTimeMs: 60000,
        topics: [{ name: "t", partitions: [part(1, 5)] }],
      }),
    );
    const o = h.groups.group("g")!.offsets.get("t\u00001")!;
    assertEquals(o.expireTimestamp - o.commitTimestamp, 60000);
    assertEquals(o.commitTimestamp >= before, true);
    const r = await h.call<unknown, OffsetCommitResponse>(
      offsetCommit,
      8,
      createOffsetCommitRequest({
        groupId: "g",
        generationIdOrMemberEpoch: 3,
        memberId: "m",
        groupInstanceId: "i",
        topics: [{ name: "t", partitions: [part(1, 6)] }],
      }),
    );
    assertEquals(r.topics[0].partitions[0].errorCode, 25);
  } finally {
    await h.close();
  }
});
