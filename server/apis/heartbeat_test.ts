// Copyright 2026 the Sluice authors. Apache-2.0 license.
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import {
  createHeartbeatRequest,
  type HeartbeatResponse,
} from "../../protocol/messages/heartbeat.ts";
import { openHandlerHarness } from "../group/testing.ts";
import { heartbeat } from "./heartbeat.ts";

Deno.test("Heartbeat v0-v4: NONE, REBALANCE_IN_PROGRESS, UNKNOWN_MEMBER_ID, FENCED_INSTANCE_ID", async () => {
  const h = await openHandlerHarness();
  try {
    const join = (clientId: string, groupInstanceId: string | null) =>
      h.groups.joinGroup({
        groupId: "g",
        memberId: "",
        groupInstanceId,
        requireKnownMemberId: false,
        clientId,
        clientHost: "/h",
        rebalanceTimeoutMs: 60000,
        sessionTimeoutMs: 60000,
        protocolType: "consumer",
        protocols: [{ name: "range", metadata: new Uint8Array([1]) }],
      });
    const a = await join("a", "inst-a");
    await h.groups.syncGroup({
      groupId: "g",
      generationId: 1,
      memberId: a.memberId,
      groupInstanceId: "inst-a",
      assignments: [],
    });
    const beat = (
      v: number,
      memberId: string,
      generationId = 1,
      groupInstanceId: string | null = null,
    ) =>
      h.call<unknown, HeartbeatResponse>(
        heartbeat,
        v,
        createHeartbeatRequest({ groupId: "g", generationId, memberId, groupInstanceId }),
      );
    for (let v = 0; v <= 4; v++) {
      assertEquals((await beat(v, a.memberId)).errorCode, 0);
      assertEquals((await beat(v, "nobody")).errorCode, 25);
    }
    assertEquals((await beat(3, "stale-id", 1, "inst-a")).errorCode, 82);
    // A new member makes the group rebalance: a is told to rejoin.
    const pending = join("b", null);
    for (let v = 0; v <= 4; v++) assertEquals((await beat(v, a.memberId)).errorCode, 27);
    h.groups.close();
    assertEquals((await pending).errorCode, 16);
  } finally {
    await h.close();
  }
});
