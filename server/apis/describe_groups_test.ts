// Copyright 2026 the Sluice authors. Apache-2.0 license.
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import {
  createDescribeGroupsRequest,
  type DescribeGroupsResponse,
} from "../../protocol/messages/describe_groups.ts";
import { openHandlerHarness } from "../group/testing.ts";
import { describeGroups } from "./describe_groups.ts";

Deno.test("DescribeGroups v0-v5: Stable group with members and assignment; unknown = Dead", async () => {
  for (let v = 0; v <= 5; v++) {
    const h = await openHandlerHarness();
    try {
      const j = await h.groups.joinGroup({
        groupId: "g",
        memberId: "",
        groupInstanceId: "inst",
        requireKnownMemberId: false,
        clientId: "cl",
        clientHost: "/10.0.0.1",
        rebalanceTimeoutMs: 10000,
        sessionTimeoutMs: 10000,
        protocolType: "consumer",
        protocols: [{ name: "range", metadata: new Uint8Array([1]) }],
      });
      await h.groups.syncGroup({
        groupId: "g",
        generationId: 1,
        memberId: j.memberId,
        groupInstanceId: "inst",
        assignments: [{ memberId: j.memberId, assignment: new Uint8Array([2]) }],
      });
      const r = await h.call<unknown, DescribeGroupsResponse>(
        describeGroups,
        v,
        createDescribeGroupsRequest({
          groups: ["g", "missing"],
          includeAuthorizedOperations: v >= 3,
        }),
      );
      const [g, missing] = r.groups;
      assertEquals([g.errorCode, g.groupState, g.protocolType, g.protocolData], [
        0,
        "Stable",
        "consumer",
        "range",
      ]);
      assertEquals(
        g.members.map((
          m,
        ) => [
          m.memberId,
          m.groupInstanceId,
          m.clientId,
          m.clientHost,
          m.memberMetadata,
          m.memberAssignment,
        ]),
        [[
          j.memberId,
          v >= 4 ? "inst" : null,
          "cl",
          "/10.0.0.1",
          new Uint8Array([1]),
          new Uint8Array([2]),
        ]],
      );
      // asked for from v3: without an authorizer every GROUP operation (READ, DELETE, DESCRIBE), as Kafka
      assertEquals(g.authorizedOperations, v >= 3 ? (1 << 3) | (1 << 6) | (1 << 8) : -2147483648);
      assertEquals([missing.errorCode, missing.groupState, missing.members], [0, "Dead", []]);
    } finally {
      await h.close();
    }
  }
});

Deno.test("DescribeGroups: a group listed many times is described once (no amplification)", async () => {
  const h = await openHandlerHarness();
  try {
    // The fuzzer's request: one group named 58,000 times, each member with a 32 KiB client id,
    // made the broker encode gigabytes for 18 s while every other client waited.
    const j = await h.groups.joinGroup({
      groupId: "g",
      memberId: "",
      groupInstanceId: null,
      requireKnownMemberId: false,
      clientId: "c".repeat(32767),
      clientHost: "/10.0.0.1",
      rebalanceTimeoutMs: 10000,
      sessionTimeoutMs: 10000,
      protocolType: "consumer",
      protocols: [{ name: "range", metadata: new Uint8Array(1000) }],
    });
    assertEquals(j.errorCode, 0);
    const r = await h.call<unknown, DescribeGroupsResponse>(
      describeGroups,
      5,
      createDescribeGroupsRequest({
        groups: [...Array(2_000).fill("g"), "missing", "g", "missing"],
      }),
    );
    assertEquals(r.groups.map((g) => [g.groupId, g.members.length]), [["g", 1], ["missing", 0]]);
  } finally {
    await h.close();
  }
});
