// Copyright 2026 the Sluice authors. Apache-2.0 license.
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import {
  createJoinGroupRequest,
  type JoinGroupResponse,
} from "../../protocol/messages/join_group.ts";
import {
  createLeaveGroupRequest,
  type LeaveGroupResponse,
} from "../../protocol/messages/leave_group.ts";
import { openHandlerHarness } from "../group/testing.ts";
import { joinGroup } from "./join_group.ts";
import { leaveGroup } from "./leave_group.ts";

async function joined(h: Awaited<ReturnType<typeof openHandlerHarness>>, version: number) {
  return await h.call<unknown, JoinGroupResponse>(
    joinGroup,
    Math.min(version, 3),
    createJoinGroupRequest({
      groupId: "g",
      sessionTimeoutMs: 10000,
      rebalanceTimeoutMs: 10000,
      protocolType: "consumer",
      protocols: [{ name: "range", metadata: new Uint8Array([1]) }],
    }),
  );
}

Deno.test("LeaveGroup v0-v2 single member, v3-v5 batched", async () => {
  for (const v of [0, 1, 2, 3, 4, 5]) {
    const h = await openHandlerHarness();
    try {
      const j = await joined(h, 3);
      const req = v < 3
        ? createLeaveGroupRequest({ groupId: "g", memberId: j.memberId })
        : createLeaveGroupRequest({
          groupId: "g",
          members: [
            { memberId: j.memberId, groupInstanceId: null, reason: v >= 5 ? "bye" : null },
            { memberId: "ghost", groupInstanceId: null, reason: null },
          ],
        });
      const r = await h.call<unknown, LeaveGroupResponse>(leaveGroup, v, req);
      if (v < 3) assertEquals([r.errorCode, r.members], [0, []]);
      else {
        assertEquals(r.errorCode, 0);
        assertEquals(r.members.map((m) => [m.memberId, m.errorCode]), [[j.memberId, 0], [
          "ghost",
          25,
        ]]);
      }
      assertEquals(h.groups.group("g")!.state, "Empty");
      if (v < 3) {
        const again = await h.call<unknown, LeaveGroupResponse>(leaveGroup, v, req);
        assertEquals(again.errorCode, 25);
      }
    } finally {
      await h.close();
    }
  }
});
