// Copyright 2026 the Sluice authors. Apache-2.0 license.
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import {
  createListGroupsRequest,
  type ListGroupsResponse,
} from "../../protocol/messages/list_groups.ts";
import { openHandlerHarness } from "../group/testing.ts";
import { listGroups } from "./list_groups.ts";

Deno.test("ListGroups v0-v5: all groups; v4 states filter; v5 types filter", async () => {
  const h = await openHandlerHarness({ initialRebalanceDelayMs: 60000 });
  try {
    await h.groups.commitOffsets({
      groupId: "simple",
      generationId: -1,
      memberId: "",
      groupInstanceId: null,
      topics: [{
        topic: "t",
        partitions: [{ partition: 0, offset: 1, leaderEpoch: -1, metadata: "" }],
      }],
    });
    const waiting = h.groups.joinGroup({
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
    for (let v = 0; v <= 5; v++) {
      const all = await h.call<unknown, ListGroupsResponse>(
        listGroups,
        v,
        createListGroupsRequest(),
      );
      assertEquals(all.groups.map((g) => [g.groupId, g.protocolType, g.groupState, g.groupType]), [
        ["busy", "consumer", v >= 4 ? "PreparingRebalance" : "", v >= 5 ? "classic" : ""],
        ["simple", "", v >= 4 ? "Empty" : "", v >= 5 ? "classic" : ""],
      ]);
    }
    const empty = await h.call<unknown, ListGroupsResponse>(
      listGroups,
      4,
      createListGroupsRequest({ statesFilter: ["Empty"] }),
    );
    assertEquals(empty.groups.map((g) => g.groupId), ["simple"]);
    const consumerType = await h.call<unknown, ListGroupsResponse>(
      listGroups,
      5,
      createListGroupsRequest({ typesFilter: ["consumer"] }),
    );
    assertEquals(consumerType.groups, []);
    const classic = await h.call<unknown, ListGroupsResponse>(
      listGroups,
      5,
      createListGroupsRequest({ typesFilter: ["Classic"], statesFilter: ["preparingrebalance"] }),
    );
    assertEquals(classic.groups.map((g) => g.groupId), ["busy"]);
    h.groups.close();
    assertEquals((await waiting).errorCode, 16);
  } finally {
    await h.close();
  }
});
