// Copyright 2026 the Sluice authors. Apache-2.0 license.
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { ErrorCode } from "../../protocol/errors.ts";
import type { DescribeGroupsResponse } from "../../protocol/messages/describe_groups.ts";
import { createDescribeGroupsRequest } from "../../protocol/messages/describe_groups.ts";
import {
  createJoinGroupRequest,
  type JoinGroupRequest,
  type JoinGroupResponse,
} from "../../protocol/messages/join_group.ts";
import { openHandlerHarness } from "../group/testing.ts";
import { describeGroups } from "./describe_groups.ts";
import { joinGroup } from "./join_group.ts";

const meta = new Uint8Array([0, 1, 2]);

function joinReq(init: Partial<JoinGroupRequest>): JoinGroupRequest {
  return createJoinGroupRequest({
    groupId: "g",
    sessionTimeoutMs: 10000,
    rebalanceTimeoutMs: 20000,
    memberId: "",
    protocolType: "consumer",
    protocols: [{ name: "range", metadata: meta }],
    ...init,
  });
}

Deno.test("JoinGroup v4+: MEMBER_ID_REQUIRED then join; response fields per version", async () => {
  for (const v of [4, 5, 6, 7, 8, 9]) {
    const h = await openHandlerHarness();
    try {
      const first = await h.call<JoinGroupRequest, JoinGroupResponse>(joinGroup, v, joinReq({}));
      assertEquals(first.errorCode, ErrorCode.MEMBER_ID_REQUIRED);
      assertEquals(first.memberId.startsWith("test-client-"), true);
      const r = await h.call<JoinGroupRequest, JoinGroupResponse>(
        joinGroup,
        v,
        joinReq({ memberId: first.memberId, groupInstanceId: null }),
      );
      assertEquals(
        [r.errorCode, r.generationId, r.protocolName, r.leader, r.memberId],
        [0, 1, "range", first.memberId, first.memberId],
      );
      assertEquals(r.protocolType, v >= 7 ? "consumer" : null);
      assertEquals(r.members.map((m) => [m.memberId, m.metadata]), [[first.memberId, meta]]);
      const g = h.groups.group("g")!;
      assertEquals(g.members.get(first.memberId)!.clientHost, "/127.0.0.1");
      assertEquals(g.members.get(first.memberId)!.rebalanceTimeoutMs, 20000);
    } finally {
      await h.close();
    }
  }
});

Deno.test("JoinGroup v0-v3: joins at once; v0 uses the session timeout as rebalance timeout", async () => {
  for (const v of [0, 1, 2, 3]) {
    const h = await openHandlerHarness();
    try {
      const r = await h.call<JoinGroupRequest, JoinGroupResponse>(joinGroup, v, joinReq({}));
      assertEquals([r.errorCode, r.generationId, r.protocolName], [0, 1, "range"]);
      const member = h.groups.group("g")!.members.get(r.memberId)!;
      assertEquals(member.rebalanceTimeoutMs, v === 0 ? 10000 : 20000);
      const d = await h.call<unknown, DescribeGroupsResponse>(
        describeGroups,
        0,
        createDescribeGroupsRequest({ groups: ["g"] }),
      );
      assertEquals(d.groups[0].groupState, "CompletingRebalance");
    } finally {
      await h.close();
    }
  }
});

Deno.test("JoinGroup: static member (v5) and bad requests", async () => {
  const h = await openHandlerHarness();
  try {
    const r = await h.call<JoinGroupRequest, JoinGroupResponse>(
      joinGroup,
      5,
      joinReq({ groupInstanceId: "i-1" }),
    );
    assertEquals([r.errorCode, r.generationId], [0, 1]);
    assertEquals(h.groups.group("g")!.staticMembers.get("i-1"), r.memberId);
    const badSession = await h.call<JoinGroupRequest, JoinGroupResponse>(
      joinGroup,
      5,
      joinReq({ groupId: "h", sessionTimeoutMs: 10 }),
    );
    assertEquals([badSession.errorCode, badSession.protocolName], [26, ""]);
    const unknown = await h.call<JoinGroupRequest, JoinGroupResponse>(
      joinGroup,
      7,
      joinReq({ groupId: "h", memberId: "who" }),
    );
    assertEquals([unknown.errorCode, unknown.memberId, unknown.protocolName], [25, "who", null]);
  } finally {
    await h.close();
  }
});

Deno.test("JoinGroup: a broker shutdown ends a waiting join with NOT_COORDINATOR", async () => {
  const h = await openHandlerHarness({ initialRebalanceDelayMs: 60000 });
  try {
    const pending = h.call<JoinGroupRequest, JoinGroupResponse>(joinGroup, 3, joinReq({}));
    await new Promise((r) => setTimeout(r, 10));
    h.closing.abort();
    assertEquals((await pending).errorCode, ErrorCode.NOT_COORDINATOR);
  } finally {
    await h.close();
  }
});

Deno.test("JoinGroup: a static leader rejoining a Stable group: skip_assignment in v9, leader hidden before", async () => {
  for (const v of [5, 9]) {
    const h = await openHandlerHarness();
    try {
      const first = await h.call<JoinGroupRequest, JoinGroupResponse>(
        joinGroup,
        v,
        joinReq({ groupInstanceId: "leader-1" }),
      );
      await h.groups.syncGroup({
        groupId: "g",
        generationId: 1,
        memberId: first.memberId,
        groupInstanceId: "leader-1",
        assignments: [{ memberId: first.memberId, assignment: new Uint8Array([3]) }],
      });
      const again = await h.call<JoinGroupRequest, JoinGroupResponse>(
        joinGroup,
        v,
        joinReq({ groupInstanceId: "leader-1" }),
      );
      assertEquals(again.generationId, 1);
      if (v >= 9) {
        assertEquals([again.leader, again.skipAssignment], [again.memberId, true]);
      } else {
        assertEquals([again.leader, again.skipAssignment], ["", false]);
      }
      assertEquals(h.groups.group("g")!.state, "Stable");
    } finally {
      await h.close();
    }
  }
});
