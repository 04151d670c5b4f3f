// Copyright 2026 the Sluice authors. Apache-2.0 license.
// A broker cut off from etcd whose lease expired registers again when it can reach etcd: from
// then on it must not answer from the partition state it held before (docs/CLUSTER.md
// "Fencing"). Three in-process brokers on a real etcd; broker 1 reaches etcd through an alias
// endpoint that this test can cut (every call fails) or half-heal (calls pass, its watch does
// not), so the window between its new registration and its view catching up stays open for as
// long as the test holds it. Meanwhile its data partition and its group's __consumer_offsets
// partition moved to another broker, and the group committed a new offset there.
import { ok, strictEqual } from "node:assert/strict";
import { ErrorCode } from "../../protocol/errors.ts";
import {
  FindCoordinatorRequest,
  FindCoordinatorResponse,
} from "../../protocol/messages/find_coordinator.ts";
import { ListOffsetsRequest, ListOffsetsResponse } from "../../protocol/messages/list_offsets.ts";
import { OffsetFetchRequest, OffsetFetchResponse } from "../../protocol/messages/offset_fetch.ts";
import type { Broker } from "../../server/mod.ts";
import { partitionForGroup } from "../../server/group/schemas.ts";
import { requireEtcd, sharedEtcd } from "../etcd.ts";
import { aliasEtcd } from "./etcd_link.ts";
import { commitOffset, onBroker, startCluster, until } from "./harness.ts";

const etcdReq = requireEtcd();
const etcd = sharedEtcd();

/** OffsetFetch v7 of `t-0`: the group's error code, else the committed offset. */
function fetchOffset(
  b: Broker,
  group: string,
): Promise<{ error: number } | { offset: number }> {
  return onBroker(b, async (conn) => {
    const res = await conn.send(
      { request: OffsetFetchRequest, response: OffsetFetchResponse },
      OffsetFetchRequest.create({
        groupId: group,
        topics: [{ name: "t", partitionIndexes: [0] }],
        requireStable: true,
      }),
      { version: 7 },
    );
    if (res.errorCode !== ErrorCode.NONE) return { error: res.errorCode };
    const p = res.topics[0].partitions[0];
    return p.errorCode !== ErrorCode.NONE ? { error: p.errorCode } : { offset: p.committedOffset };
  });
}

/** ListOffsets (latest) of `t-0`: its error code, else the offset. */
function latestOffset(b: Broker): Promise<{ error: number } | { offset: number }> {
  return onBroker(b, async (conn) => {
    const res = await conn.send(
      { request: ListOffsetsRequest, response: ListOffsetsResponse },
      ListOffsetsRequest.create({
        replicaId: -1,
        isolationLevel: 0,
        topics: [{
          name: "t",
          partitions: [{
            partitionIndex: 0,
            currentLeaderEpoch: -1,
            timestamp: -1,
            maxNumOffsets: 1,
          }],
        }],
      }),
      { version: 5 },
    );
    const p = res.topics[0].partitions[0];
    return p.errorCode !== ErrorCode.NONE ? { error: p.errorCode } : { offset: p.offset };
  });
}

Deno.test({
  name:
    "stale registration: a broker registered again after its lease expired leads and coordinates nothing until its view caught up",
  ignore: etcdReq.ignore,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    etcdReq.assertAvailable();
    const e = await etcd();
    const real = e.endpoints[0];
    const alias = "http://stale-broker-1.invalid:2379";
    const link = aliasEtcd(alias, real);
    const c = await startCluster(e, 3, (i) => ({
      etcdEndpoints: i === 0 ? [alias] : e.endpoints,
      offsetsCommitTimeoutMs: 2000,
    }));
    try {
      const [b1, b2] = [c.brokers[0]!, c.brokers[1]!];
      await b2.cluster!.createTopic({
        name: "t",
        numPartitions: -1,
        replicationFactor: -1,
        assignments: [[1, 2, 3]],
        configs: {},
      });
      await until("broker 1 leads t-0", () => b1.cluster!.leaderError("t", 0) === undefined);
      // the group's __consumer_offsets partition led by broker 1, every replica in sync
      const group = "stale-group";
      const p = partitionForGroup(group, 5);
      const store = b2.cluster!.store;
      await until("broker 1 leads the group's partition, in sync", async () => {
        const cur = await store.readPartition("__consumer_offsets", p);
        if (cur === undefined) {
          // FindCoordinator creates __consumer_offsets
          await onBroker(b2, (conn) =>
            conn.send(
              { request: FindCoordinatorRequest, response: FindCoordinatorResponse },
              FindCoordinatorRequest.create({ key: group }),
              { version: 3 },
            ));
          return false;
        }
        if (cur.value.leader !== 1) {
          await store.writePartition("__consumer_offsets", p, cur.modRevision, {
            leader: 1,
            leaderEpoch: cur.value.leaderEpoch + 1,
            isr: cur.value.isr,
            partitionEpoch: cur.value.partitionEpoch + 1,
          }, {});
          return false;
        }
        return cur.value.isr.length === 3 && await commitOffset(b1, group, 10) === ErrorCode.NONE;
      });
      strictEqual((await fetchOffset(b1, group) as { offset: number }).offset, 10);
      const oldEpoch = b1.cluster!.membership!.state.epoch;

      // cut broker 1 off from etcd: its lease expires, the controller moves its partitions
      link.set("cut");
      await until(
        "broker 1's registration expired",
        async () => await store.etcd.get(store.brokerKey(1)) === undefined,
      );
      const view2 = b2.cluster!.view;
      await until(
        "t-0 and the group's partition led elsewhere",
        () =>
          (view2.partition("t", 0)?.value.leader ?? 1) !== 1 &&
          (view2.partition("__consumer_offsets", p)?.value.leader ?? 1) !== 1,
      );
      const coordinator = view2.partition("__consumer_offsets", p)!.value.leader;
      await until(
        "offset 20 committed on the new coordinator",
        async () => await commitOffset(c.brokers[coordinator - 1]!, group, 20) === ErrorCode.NONE,
      );
      ok(!b1.cluster!.registered, "broker 1 fenced");

      // half-heal: broker 1 registers again, its view does not catch up while the watch is held
      link.set("watch-held");
      const membership = b1.cluster!.membership!;
      await until(
        "broker 1 registered again",
        () => membership.state.registered && membership.state.epoch > oldEpoch,
      );
      const retriable = new Set<number>([
        ErrorCode.NOT_COORDINATOR,
        ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
        ErrorCode.NOT_LEADER_OR_FOLLOWER,
      ]);
      // bounded: 20 rounds of every check, from the moment it is registered
      for (let round = 0; round < 20; round++) {
        const fetched = await fetchOffset(b1, group);
        ok(
          "error" in fetched ? retriable.has(fetched.error) : fetched.offset === 20,
          `round ${round}: OffsetFetch through broker 1 answered ${JSON.stringify(fetched)}`,
        );
        const latest = await latestOffset(b1);
        ok(
          "error" in latest && latest.error === ErrorCode.NOT_LEADER_OR_FOLLOWER,
          `round ${round}: ListOffsets through broker 1 answered ${JSON.stringify(latest)}`,
        );
        // Produce and Fetch answer from the same check
        strictEqual(b1.cluster!.leaderError("t", 0)?.code, ErrorCode.NOT_LEADER_OR_FOLLOWER);
        strictEqual(
          await commitOffset(b1, group, 30),
          ErrorCode.NOT_COORDINATOR,
          `round ${round}: a commit through broker 1`,
        );
        ok(!b1.cluster!.registered, `round ${round}: broker 1 counts as unfenced`);
        await new Promise((r) => setTimeout(r, 100));
      }

      // healed: the view catches up, broker 1 is unfenced and follows the new leaders
      link.set("open");
      await until("broker 1 unfenced", () => b1.cluster!.registered);
      strictEqual(b1.cluster!.leaderError("t", 0)?.code, ErrorCode.NOT_LEADER_OR_FOLLOWER);
      const after = await fetchOffset(b1, group);
      ok(
        "error" in after ? retriable.has(after.error) : after.offset === 20,
        `OffsetFetch through broker 1 after catching up answered ${JSON.stringify(after)}`,
      );
      strictEqual(
        (await fetchOffset(c.brokers[coordinator - 1]!, group) as { offset: number }).offset,
        20,
      );
    } finally {
      await c.close();
      link.restore();
    }
  },
});
