// KIP-392: Kafka's RackAwareReplicaSelector (pure), and the leader's preferred_read_replica and
// the followers' consumer reads on three real brokers whose replica managers a test controller
// drives (server/testdata/test_cluster.ts), racks a, b and c.
import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { ErrorCode } from "../protocol/errors.ts";
import { FetchRequest, FetchResponse } from "../protocol/messages/fetch.ts";
import { ProduceRequest, ProduceResponse } from "../protocol/messages/produce.ts";
import { buildBatch } from "../wasm/testing.ts";
import { type ReplicaView, selectRackAware } from "./replica_selector.ts";
import { fetchBody, produceBody, RawClient } from "./testing.ts";
import { TestController, waitUntil } from "./testdata/test_cluster.ts";

const T = { sanitizeOps: false, sanitizeResources: false };

const view = (nodeId: number, rack: string | null, leo: number, since = 0): ReplicaView => ({
  nodeId,
  rack,
  logEndOffset: leo,
  timeSinceLastCaughtUpMs: since,
});

Deno.test("selectRackAware: the leader unless another replica is in the client's rack; then the most caught up", () => {
  const leader = view(1, "a", 100);
  const b2 = view(2, "b", 90, 50);
  const b3 = view(3, "b", 100, 20);
  const b4 = view(4, "b", 100, 10);
  const b5 = view(5, "b", 100, 10);
  const all = [leader, b2, b3, b4, b5];
  strictEqual(selectRackAware("", leader, all), leader, "no client rack");
  strictEqual(selectRackAware("a", leader, all), leader, "the leader's rack");
  strictEqual(selectRackAware("z", leader, all), leader, "no replica in the rack");
  strictEqual(selectRackAware("b", leader, [leader, b2]), b2);
  strictEqual(selectRackAware("b", leader, [leader, b2, b3]), b3, "the largest log end");
  strictEqual(selectRackAware("b", leader, [leader, b3, b4]), b4, "then the latest caught up");
  strictEqual(selectRackAware("b", leader, [leader, b5, b4]), b5, "then the largest node id");
  strictEqual(selectRackAware("b", view(1, null, 5), [view(1, null, 5)]).nodeId, 1);
});

async function fetchAt(
  ctl: TestController,
  id: number,
  version: number,
  offset: number,
  options: { rack?: string; epoch?: number } = {},
) {
  const c = await RawClient.connect(ctl.broker(id).port);
  try {
    const body = fetchBody([{ topic: "t", partition: 0, offset }], {
      rackId: options.rack ?? "",
    });
    body.topics![0].partitions[0].currentLeaderEpoch = options.epoch ?? -1;
    const r = await c.request(FetchRequest, FetchResponse, version, body);
    return r;
  } finally {
    c.close();
  }
}

/** Error, preferred read replica and whether records came, of the one partition fetched. */
async function answer(
  ctl: TestController,
  id: number,
  version: number,
  offset: number,
  options: { rack?: string; epoch?: number } = {},
): Promise<[number, number, boolean]> {
  const p = (await fetchAt(ctl, id, version, offset, options)).responses[0].partitions[0];
  return [p.errorCode, p.preferredReadReplica, (p.records?.length ?? 0) > 0];
}

Deno.test({
  ...T,
  name:
    "KIP-392: the leader sends consumers to an in-sync follower in their rack; followers serve v11+ consumers in the ISR only",
  async fn() {
    await using ctl = await TestController.start([1, 2, 3], {
      racks: { 1: "a", 2: "b", 3: "c" },
      replicaSelector: "rack-aware",
    });
    await ctl.createTopic("t", [[1, 2, 3]]);
    const c = await RawClient.connect(ctl.broker(1).port);
    try {
      const batch = buildBatch({
        records: Array.from({ length: 10 }, (_, i) => ({ key: `k${i}`, value: `v${i}` })),
        baseTimestamp: Date.now(),
      });
      const res = await c.request(
        ProduceRequest,
        ProduceResponse,
        9,
        produceBody("t", 0, batch, -1),
      );
      strictEqual(res.responses[0].partitionResponses[0].errorCode, 0);
    } finally {
      c.close();
    }
    const progress = () => ctl.broker(1).replicaManager!.followerProgress("t", 0);
    await waitUntil(
      () => progress().every((f) => f.logEndOffset === 10),
      "both followers to fetch the batch",
    );
    await waitUntil(
      () =>
        [2, 3].every((id) => ctl.broker(id).replicaManager!.offsets("t", 0)!.highWatermark === 10),
      "both followers' high watermarks at 10",
    );
    // the leader: rack b -> 2, rack c -> 3, its own rack, none or an unknown one -> itself
    deepStrictEqual(await answer(ctl, 1, 12, 0, { rack: "b" }), [0, 2, false]);
    deepStrictEqual(await answer(ctl, 1, 12, 10, { rack: "c" }), [0, 3, false]);
    deepStrictEqual(await answer(ctl, 1, 12, 0, { rack: "a" }), [0, -1, true]);
    deepStrictEqual(await answer(ctl, 1, 12, 0, { rack: "" }), [0, -1, true]);
    deepStrictEqual(await answer(ctl, 1, 12, 0, { rack: "z" }), [0, -1, true]);
    // Fetch v10 has no rack_id: the leader serves
    deepStrictEqual(await answer(ctl, 1, 10, 0, { rack: "b" }), [0, -1, true]);
    // an offset past every log end: no follower holds it, the leader answers its error
    deepStrictEqual(await answer(ctl, 1, 12, 11, { rack: "b" }), [
      ErrorCode.OFFSET_OUT_OF_RANGE,
      -1,
      false,
    ]);
    // followers serve consumers' v11+ fetches below their high watermark, not older ones
    deepStrictEqual(await answer(ctl, 2, 12, 0, { rack: "b", epoch: 0 }), [0, -1, true]);
    deepStrictEqual(await answer(ctl, 3, 11, 0), [0, -1, true]);
    deepStrictEqual(await answer(ctl, 2, 10, 0), [ErrorCode.NOT_LEADER_OR_FOLLOWER, -1, false]);

    // an incremental fetch session carries the preferred replica though nothing else changed
    const c2 = await RawClient.connect(ctl.broker(1).port);
    try {
      const first = await c2.request(
        FetchRequest,
        FetchResponse,
        12,
        fetchBody(
          [{ topic: "t", partition: 0, offset: 0 }],
          { rackId: "b", sessionId: 0, sessionEpoch: 0 },
        ),
      );
      const id = first.sessionId;
      strictEqual(first.responses[0].partitions[0].preferredReadReplica, 2);
      const next = await c2.request(
        FetchRequest,
        FetchResponse,
        12,
        fetchBody([], {
          rackId: "b",
          sessionId: id,
          sessionEpoch: 1,
        }),
      );
      strictEqual(next.errorCode, 0);
      deepStrictEqual(
        next.responses.flatMap((t) => t.partitions.map((p) => p.preferredReadReplica)),
        [2],
      );
    } finally {
      c2.close();
    }

    // broker 3 out of the ISR (the change stays: AlterPartition refused): the leader no longer
    // sends consumers there, and broker 3 refuses them (Sluice's rule); broker 2 serves in epoch 1
    ctl.acceptIsrChanges = false;
    await ctl.elect("t", 0, 1, [1, 2]);
    await waitUntil(
      () => ctl.broker(3).replicaManager!.state("t", 0)!.leaderEpoch === 1,
      "broker 3 to apply the new state",
    );
    deepStrictEqual(await answer(ctl, 1, 12, 0, { rack: "c" }), [0, -1, true]);
    deepStrictEqual(await answer(ctl, 3, 12, 0, { rack: "c" }), [
      ErrorCode.NOT_LEADER_OR_FOLLOWER,
      -1,
      false,
    ]);
    deepStrictEqual(await answer(ctl, 1, 12, 0, { rack: "b" }), [0, 2, false]);
    await waitUntil(
      () => ctl.broker(2).replicaManager!.state("t", 0)!.leaderEpoch === 1,
      "broker 2 to apply the new state",
    );
    deepStrictEqual(await answer(ctl, 2, 12, 0, { epoch: 1 }), [0, -1, true]);
    deepStrictEqual(await answer(ctl, 2, 12, 0, { epoch: 0 }), [
      ErrorCode.FENCED_LEADER_EPOCH,
      -1,
      false,
    ]);
    deepStrictEqual(await answer(ctl, 2, 12, 0, { epoch: 2 }), [
      ErrorCode.UNKNOWN_LEADER_EPOCH,
      -1,
      false,
    ]);
  },
});
