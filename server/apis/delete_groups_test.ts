// Copyright 2026 the Sluice authors. Apache-2.0 license.
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import {
  createDeleteGroupsRequest,
  type DeleteGroupsResponse,
} from "../../protocol/messages/delete_groups.ts";
import { openHandlerHarness } from "../group/testing.ts";
import { deleteGroups } from "./delete_groups.ts";

Deno.test("DeleteGroups v0-v2: Empty groups deleted, non-empty refused, unknown not found", async () => {
  for (let v = 0; v <= 2; v++) {
    const h = await openHandlerHarness();
    try {
      await h.groups.commitOffsets({
        groupId: "e",
        generationId: -1,
        memberId: "",
        groupInstanceId: null,
        topics: [{
          topic: "t",
          partitions: [{ partition: 0, offset: 1, leaderEpoch: -1, metadata: "" }],
        }],
      });
      await h.groups.joinGroup({
        groupId: "busy",
        memberId: "",
        groupInstanceId: null,
        requireKnownMemberId: false,
        clientId: "c",
        clientHost: "/h",
        rebalanceTimeoutMs: 10000,
        sessionTimeoutMs: 10000,
        protocolType: "consumer",
        protocols: [{ name: "range", metadata: new Uint8Array() }],
      });
      const r = await h.call<unknown, DeleteGroupsResponse>(
        deleteGroups,
        v,
        createDeleteGroupsRequest({ groupsNames: ["e", "busy", "nope"] }),
      );
      assertEquals(r.results.map((x) => [x.groupId, x.errorCode]), [["e", 0], ["busy", 68], [
        "nope",
        69,
      ]]);
      assertEquals(h.groups.listGroups().map((g) => g.groupId), ["busy"]);
    } finally {
      await h.close();
    }
  }
});
