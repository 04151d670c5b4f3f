// Copyright 2026 the Sluice authors. Apache-2.0 license.
// The replica manager's application of control-plane states: different partitions' states at the
// same time, each partition's in order (a broker given 10,000 new states was minutes behind its
// view when each waited for the one before).
import { deepStrictEqual as assertEquals, strictEqual } from "node:assert/strict";
import { LogManager } from "../engine/mod.ts";
import { createLogger } from "./logger.ts";
import { ReplicaManager } from "./replica_manager.ts";
import type { ReplicaState } from "./cluster/cluster_view.ts";
import { waitUntil } from "./testdata/test_cluster.ts";

Deno.test({
  name: "replica manager: a partition whose new leader epoch is slow to write holds up no other " +
    "partition; its own later state waits for it",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "sluice_rm_" });
    const logs = await LogManager.open(dir);
    const rm = new ReplicaManager({
      nodeId: 1,
      logs,
      logger: createLogger({ level: "silent" }),
      brokerEndpoint: () => undefined,
      alterPartition: () => Promise.resolve({ errorCode: 0 }),
    });
    let release = () => {};
    try {
      await logs.createTopic("p", 3);
      const state = (partition: number, leaderEpoch: number, isr = [1]): ReplicaState => ({
        topic: "p",
        topicId: "AAAAAAAAAAAAAAAAAAAAAA",
        partition,
        replicas: [1],
        leader: 1,
        leaderEpoch,
        isr,
        partitionEpoch: leaderEpoch,
        removed: false,
      });
      // p-0's leader epoch 1 is written only once the test lets it
      const log0 = logs.partition("p", 0)!;
      release = () => {};
      const gate = new Promise<void>((r) => release = r);
      const setLeaderEpoch = log0.setLeaderEpoch.bind(log0);
      log0.setLeaderEpoch = async (epoch: number) => {
        if (epoch === 1) await gate;
        return setLeaderEpoch(epoch);
      };
      const applied = rm.applyStates([state(0, 1), state(0, 2), state(1, 1), state(2, 1)]);
      await waitUntil(
        () => rm.state("p", 1)?.leaderEpoch === 1 && rm.state("p", 2)?.leaderEpoch === 1,
        "p-1 and p-2 led in epoch 1 while p-0's epoch 1 is being written",
        10_000,
      );
      strictEqual(rm.role("p", 1), "leader");
      strictEqual(rm.role("p", 2), "leader");
      // p-0: epoch 1 in progress (no role meanwhile), epoch 2 not before it
      strictEqual(rm.role("p", 0), "none");
      strictEqual(rm.state("p", 0)?.leaderEpoch, 1);
      release();
      await applied;
      assertEquals([rm.role("p", 0), rm.state("p", 0)?.leaderEpoch], ["leader", 2]);
      strictEqual(log0.leaderEpoch, 2);
    } finally {
      release(); // a failed check above leaves the write waiting
      await rm.close();
      await logs.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
