// Copyright 2026 the Sluice authors. Apache-2.0 license.
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import {
  createHeartbeatRequest,
  type HeartbeatResponse,
} from "../../protocol/messages/heartbeat.ts";
import {
  createJoinGroupRequest,
  type JoinGroupResponse,
} from "../../protocol/messages/join_group.ts";
import {
  createSyncGroupRequest,
  type SyncGroupResponse,
} from "../../protocol/messages/sync_group.ts";
import { openHandlerHarness } from "../group/testing.ts";
import { heartbeat } from "./heartbeat.ts";
import { joinGroup } from "./join_group.ts";
import { syncGroup } from "./sync_group.ts";

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

Deno.test("SyncGroup v0-v5 distributes the leader's assignment; Heartbeat v0-v4", async () => {
  for (const v of [0, 1, 2, 3, 4, 5]) {
    const h = await openHandlerHarness();
    try {
      const j = await joined(h, v);
      const s = await h.call<unknown, SyncGroupResponse>(
        syncGroup,
        v,
        createSyncGroupRequest({
          groupId: "g",
          generationId: 1,
          memberId: j.memberId,
          protocolType: v >= 5 ? "consumer" : null,
          protocolName: v >= 5 ? "range" : null,
          assignments: [{ memberId: j.memberId, assignment: new Uint8Array([4, 2]) }],
        }),
      );
      assertEquals(s.errorCode, 0);
      assertEquals(s.assignment, new Uint8Array([4, 2]));
      assertEquals([s.protocolType, s.protocolName], v >= 5 ? ["consumer", "range"] : [null, null]);
      const hv = Math.min(v, 4);
      const hb = await h.call<unknown, HeartbeatResponse>(
        heartbeat,
        hv,
        createHeartbeatRequest({ groupId: "g", generationId: 1, memberId: j.memberId }),
      );
      assertEquals(hb.errorCode, 0);
      const stale = await h.call<unknown, HeartbeatResponse>(
        heartbeat,
        hv,
        createHeartbeatRequest({ groupId: "g", generationId: 0, memberId: j.memberId }),
      );
      assertEquals(stale.errorCode, 22);
    } finally {
      await h.close();
    }
  }
});
