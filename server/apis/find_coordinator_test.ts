// Copyright 2026 the Sluice authors. Apache-2.0 license.
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import {
  createFindCoordinatorRequest,
  type FindCoordinatorResponse,
} from "../../protocol/messages/find_coordinator.ts";
import { openHandlerHarness } from "../group/testing.ts";
import { findCoordinator } from "./find_coordinator.ts";

Deno.test("FindCoordinator v0-v3: this broker for groups and transactions", async () => {
  const h = await openHandlerHarness();
  try {
    for (const v of [0, 1, 2, 3]) {
      const r = await h.call<unknown, FindCoordinatorResponse>(
        findCoordinator,
        v,
        createFindCoordinatorRequest({ key: "g", keyType: 0 }),
      );
      assertEquals([r.errorCode, r.nodeId, r.host, r.port], [0, 7, "broker.test", 19092]);
    }
    const txn = await h.call<unknown, FindCoordinatorResponse>(
      findCoordinator,
      1,
      createFindCoordinatorRequest({ key: "tx", keyType: 1 }),
    );
    assertEquals([txn.errorCode, txn.nodeId, txn.host, txn.port], [0, 7, "broker.test", 19092]);
  } finally {
    await h.close();
  }
});

Deno.test("FindCoordinator v4: batched keys answered per key", async () => {
  const h = await openHandlerHarness();
  try {
    const r = await h.call<unknown, FindCoordinatorResponse>(
      findCoordinator,
      4,
      createFindCoordinatorRequest({ keyType: 0, coordinatorKeys: ["a", "b"] }),
    );
    assertEquals(r.coordinators.map((c) => [c.key, c.nodeId, c.host, c.port, c.errorCode]), [
      ["a", 7, "broker.test", 19092, 0],
      ["b", 7, "broker.test", 19092, 0],
    ]);
    const bad = await h.call<unknown, FindCoordinatorResponse>(
      findCoordinator,
      4,
      createFindCoordinatorRequest({ keyType: 5, coordinatorKeys: ["x"] }),
    );
    assertEquals(bad.coordinators.map((c) => [c.key, c.errorCode, c.errorMessage]), [
      ["x", 42, "Unknown coordinator key type 5"],
    ]);
    const err = findCoordinator.errorResponse(
      createFindCoordinatorRequest({ coordinatorKeys: ["k"] }),
      35,
      "no",
    ) as FindCoordinatorResponse;
    assertEquals([err.errorCode, err.coordinators[0].errorCode], [0, 35]);
  } finally {
    await h.close();
  }
});
