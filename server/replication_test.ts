// Replication between three real brokers on 127.0.0.1 whose replica managers a test controller
// drives (server/testdata/test_cluster.ts): acks=all and the high watermark, ISR shrink and
// expansion, min.insync.replicas, a leader change with a divergent tail on the old leader, and an
// idempotent producer's retry after failover.
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { Client, Producer } from "../client/mod.ts";
import { ErrorCode } from "../protocol/errors.ts";
import {
  DeleteRecordsRequest,
  DeleteRecordsResponse,
} from "../protocol/messages/delete_records.ts";
import { FetchRequest, FetchResponse } from "../protocol/messages/fetch.ts";
import { ListOffsetsRequest, ListOffsetsResponse } from "../protocol/messages/list_offsets.ts";
import {
  OffsetForLeaderEpochRequest,
  OffsetForLeaderEpochResponse,
} from "../protocol/messages/offset_for_leader_epoch.ts";
import { ProduceRequest, ProduceResponse } from "../protocol/messages/produce.ts";
import { decodeRecordBatches } from "../records/mod.ts";
import { buildBatch } from "../wasm/testing.ts";
import { fetchBody, produceBody, RawClient } from "./testing.ts";
import { TestController, waitUntil } from "./testdata/test_cluster.ts";
import { withTimeout } from "../tests/harness.ts";

const T = { sanitizeOps: false, sanitizeResources: false };

function batch(values: string[], idem?: { pid: number; seq: number }): Uint8Array {
  return buildBatch({
    records: values.map((v) => ({ key: `k-${v}`, value: v })),
    baseTimestamp: Date.now(),
    ...(idem ? { producerId: idem.pid, producerEpoch: 0, baseSequence: idem.seq } : {}),
  });
}

async function produce(
  ctl: TestController,
  id: number,
  topic: string,
  records: Uint8Array,
  acks: number,
  timeoutMs = 20_000,
) {
  const c = await RawClient.connect(ctl.broker(id).port);
  try {
    const res = await c.request(ProduceRequest, ProduceResponse, 9, {
      ...produceBody(topic, 0, records, acks),
      timeoutMs,
    });
    return res.responses[0].partitionResponses[0];
  } finally {
    c.close();
  }
}

async function listLatest(ctl: TestController, id: number, topic: string): Promise<number> {
  const c = await RawClient.connect(ctl.broker(id).port);
  try {
    const res = await c.request(ListOffsetsRequest, ListOffsetsResponse, 5, {
      replicaId: -1,
      isolationLevel: 0,
      topics: [{
        name: topic,
        partitions: [{
          partitionIndex: 0,
          timestamp: -1,
          currentLeaderEpoch: -1,
          maxNumOffsets: 1,
        }],
      }],
    });
    const p = res.topics[0].partitions[0];
    strictEqual(p.errorCode, 0, `ListOffsets on ${id}: error ${p.errorCode}`);
    return Number(p.offset);
  } finally {
    c.close();
  }
}

/** Every record value of the leader's log (read_uncommitted, up to the HW), by offset. */
async function readValues(ctl: TestController, id: number, topic: string) {
  const c = await RawClient.connect(ctl.broker(id).port);
  const out: [number, string][] = [];
  try {
    for (let offset = 0;;) {
      const res = await c.request(
        FetchRequest,
        FetchResponse,
        12,
        fetchBody([{ topic, partition: 0, offset }]),
      );
      const p = res.responses[0].partitions[0];
      strictEqual(p.errorCode, 0, `fetch from ${id}: error ${p.errorCode}`);
      if (p.records === null || p.records.length === 0) break;
      for (const b of decodeRecordBatches(p.records)) {
        for (const r of b.records) out.push([r.offset, new TextDecoder().decode(r.value!)]);
        offset = b.lastOffset + 1;
      }
    }
  } finally {
    c.close();
  }
  return out;
}

const offsetsOf = (ctl: TestController, id: number, topic: string) =>
  ctl.broker(id).replicaManager!.offsets(topic, 0)!;

/** Waits until every running replica's log end offset is the leader's, then compares bytes. */
async function assertReplicasIdentical(ctl: TestController, topic: string, ids: number[]) {
  const leader = ctl.state(topic, 0).leader;
  await waitUntil(
    () =>
      ids.every((id) =>
        offsetsOf(ctl, id, topic).logEndOffset === offsetsOf(ctl, leader, topic).logEndOffset
      ),
    () => `replicas of ${topic} at ${ids.map((id) => offsetsOf(ctl, id, topic).logEndOffset)}`,
  );
  const want = await ctl.logBytes(leader, topic, 0);
  ok(want.length > 0);
  for (const id of ids) {
    deepStrictEqual(await ctl.logBytes(id, topic, 0), want, `log of broker ${id}`);
  }
}

const sorted = (a: number[]) => [...a].sort((x, y) => x - y);

Deno.test({
  ...T,
  name: "replication: acks=all waits for the ISR; the HW moves only when the ISR has the data",
  async fn() {
    await using ctl = await TestController.start([1, 2, 3]);
    await ctl.createTopic("r", [[1, 2, 3]], { "min.insync.replicas": "2" });
    // our idempotent producer, acks=all, 1000 records in 20 concurrent sends
    const client = new Client({ bootstrapServers: ctl.bootstrap(1) });
    const producer = new Producer(client, { acks: -1 });
    const metas = (await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        producer.send({
          topic: "r",
          messages: Array.from({ length: 50 }, (_, j) => ({ key: `k${i}`, value: `v${i}-${j}` })),
        })),
    )).flat();
    await producer.close();
    await client.close();
    strictEqual(metas.length, 1000);
    const hw = await listLatest(ctl, 1, "r");
    for (const m of metas) ok(m.offset >= 0 && m.offset < hw, `acknowledged ${m.offset}, HW ${hw}`);
    await assertReplicasIdentical(ctl, "r", [2, 3]);
    strictEqual(hw, 1000);

    // broker 3 stops; etcd (the ISR change) is out of reach: the HW must stay where 3 left it
    ctl.acceptIsrChanges = false;
    await ctl.stopNode(3);
    const before = offsetsOf(ctl, 1, "r").logEndOffset;
    const p1 = await produce(ctl, 1, "r", batch(["x1", "x2"]), 1);
    strictEqual(p1.errorCode, 0);
    strictEqual(Number(p1.baseOffset), before);
    await waitUntil(
      () => ctl.broker(1).replicaManager!.followerProgress("r", 0)[0].logEndOffset === before + 2,
      "broker 2 to fetch the new batch",
    );
    await waitUntil(
      () => ctl.isrChanges.some((c) => c.from === 1 && c.errorCode === ErrorCode.REQUEST_TIMED_OUT),
      "the leader to try to drop broker 3 from the ISR",
    );
    strictEqual(offsetsOf(ctl, 1, "r").highWatermark, before, "HW passed a record broker 3 lacks");
    strictEqual(await listLatest(ctl, 1, "r"), before);
    deepStrictEqual(sorted(ctl.state("r", 0).isr), [1, 2, 3]);
    // acks=all cannot be answered until the ISR has the batch
    const p2 = await produce(ctl, 1, "r", batch(["y"]), -1, 300);
    strictEqual(p2.errorCode, ErrorCode.REQUEST_TIMED_OUT, p2.errorMessage ?? "");

    // the ISR change goes through: [1, 2], and the HW covers both batches
    ctl.acceptIsrChanges = true;
    await waitUntil(() => sorted(ctl.state("r", 0).isr).join() === "1,2", "ISR [1, 2]");
    await waitUntil(
      () => offsetsOf(ctl, 1, "r").highWatermark === before + 3,
      () => `HW ${offsetsOf(ctl, 1, "r").highWatermark} to reach ${before + 3}`,
    );
    const p3 = await produce(ctl, 1, "r", batch(["z"]), -1);
    strictEqual(p3.errorCode, 0, p3.errorMessage ?? "");

    // broker 3 comes back, catches up and rejoins the ISR
    await ctl.startNode(3);
    await waitUntil(() => sorted(ctl.state("r", 0).isr).join() === "1,2,3", "ISR [1, 2, 3]");
    await assertReplicasIdentical(ctl, "r", [2, 3]);
    for (const id of [2, 3]) {
      deepStrictEqual(
        await Deno.readTextFile(`${ctl.nodes.get(id)!.dir}/r-0/leader-epoch-checkpoint`),
        await Deno.readTextFile(`${ctl.nodes.get(1)!.dir}/r-0/leader-epoch-checkpoint`),
      );
    }
    // a follower's consumers are sent to the leader
    const onFollower = await produce(ctl, 2, "r", batch(["f"]), -1);
    strictEqual(onFollower.errorCode, ErrorCode.NOT_LEADER_OR_FOLLOWER);
  },
});

Deno.test({
  ...T,
  name: "replication: min.insync.replicas refuses acks=all before and after the append",
  async fn() {
    await using ctl = await TestController.start([1, 2, 3]);
    await ctl.createTopic("m", [[1, 2, 3]], { "min.insync.replicas": "2" });
    strictEqual((await produce(ctl, 1, "m", batch(["a"]), -1)).errorCode, 0);
    // one follower gone: dropped from the ISR after replica.lag.time.max.ms, acks=all goes on
    await ctl.stopNode(3);
    const p1 = await produce(ctl, 1, "m", batch(["b"]), -1);
    strictEqual(p1.errorCode, 0, p1.errorMessage ?? "");
    await waitUntil(() => sorted(ctl.state("m", 0).isr).join() === "1,2", "ISR [1, 2]");
    // the other one too: the batch in flight is appended, but the ISR falls below 2 before it
    // is replicated
    await ctl.stopNode(2);
    const p2 = await produce(ctl, 1, "m", batch(["c"]), -1);
    strictEqual(p2.errorCode, ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND, p2.errorMessage ?? "");
    deepStrictEqual(ctl.state("m", 0).isr, [1]);
    // now refused before the append; acks=1 still works
    const p3 = await produce(ctl, 1, "m", batch(["d"]), -1);
    strictEqual(p3.errorCode, ErrorCode.NOT_ENOUGH_REPLICAS, p3.errorMessage ?? "");
    ok(p3.errorMessage?.includes("min.insync.replicas=2"), p3.errorMessage ?? "");
    const leo = offsetsOf(ctl, 1, "m").logEndOffset;
    const p4 = await produce(ctl, 1, "m", batch(["e"]), 1);
    strictEqual(p4.errorCode, 0);
    strictEqual(Number(p4.baseOffset), leo, "the refused batch was not appended");
    // both come back and rejoin; acks=all works again
    await ctl.startNode(2);
    await ctl.startNode(3);
    await waitUntil(() => sorted(ctl.state("m", 0).isr).join() === "1,2,3", "ISR [1, 2, 3]");
    strictEqual((await produce(ctl, 1, "m", batch(["f"]), -1)).errorCode, 0);
    await assertReplicasIdentical(ctl, "m", [2, 3]);
    deepStrictEqual((await readValues(ctl, 1, "m")).map(([, v]) => v), ["a", "b", "c", "e", "f"]);
  },
});

Deno.test({
  ...T,
  name: "replication: a new leader takes writes; the old one truncates its divergent tail",
  async fn() {
    await using ctl = await TestController.start([1, 2, 3]);
    await ctl.createTopic("d", [[1, 2, 3]], { "min.insync.replicas": "2" });
    const acked: [number, string][] = [];
    for (let i = 0; i < 5; i++) {
      const p = await produce(ctl, 1, "d", batch([`a${i}`]), -1);
      strictEqual(p.errorCode, 0);
      acked.push([Number(p.baseOffset), `a${i}`]);
    }
    await assertReplicasIdentical(ctl, "d", [2, 3]);
    // the followers go; the leader takes acks=1 writes nobody else has (never acknowledged to
    // an acks=all producer), with its ISR kept (etcd out of reach)
    ctl.acceptIsrChanges = false;
    await ctl.stopNode(2);
    await ctl.stopNode(3);
    for (let i = 0; i < 3; i++) {
      strictEqual((await produce(ctl, 1, "d", batch([`lost${i}`, "x"]), 1)).errorCode, 0);
    }
    const oldLeo = offsetsOf(ctl, 1, "d").logEndOffset;
    strictEqual(oldLeo, 11);
    ok(offsetsOf(ctl, 1, "d").highWatermark <= 5);
    // the leader dies; broker 2 is elected (epoch 1) with the ISR [2, 3]
    await ctl.stopNode(1);
    ctl.acceptIsrChanges = true;
    await ctl.elect("d", 0, 2, [2, 3]);
    await ctl.startNode(2);
    await ctl.startNode(3);
    // more than the old leader had: without truncation it would fetch on from its own end
    for (let i = 0; i < 8; i++) {
      const p = await produce(ctl, 2, "d", batch([`b${i}`]), -1);
      strictEqual(p.errorCode, 0, p.errorMessage ?? "");
      acked.push([Number(p.baseOffset), `b${i}`]);
    }
    strictEqual(acked[5][0], 5, "the new leader writes after the committed records");
    // the old leader comes back as a follower in epoch 1: it must cut 5..10 and copy 5..12
    await ctl.startNode(1);
    await waitUntil(() => sorted(ctl.state("d", 0).isr).join() === "1,2,3", "ISR [1, 2, 3]");
    await assertReplicasIdentical(ctl, "d", [1, 3]);
    const lines = ctl.nodes.get(1)!.lines.join("\n");
    ok(lines.includes("d-0: truncated the log from 11 to 5"), lines);
    // every acknowledged record at its offset, once; nothing of the lost tail
    deepStrictEqual(await readValues(ctl, 2, "d"), acked);
    // the old leader is a follower now
    strictEqual(
      (await produce(ctl, 1, "d", batch(["no"]), 1)).errorCode,
      ErrorCode.NOT_LEADER_OR_FOLLOWER,
    );
    const c = await RawClient.connect(ctl.broker(1).port);
    try {
      const r = await c.request(OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse, 4, {
        replicaId: -1,
        topics: [{
          topic: "d",
          partitions: [{ partition: 0, currentLeaderEpoch: 1, leaderEpoch: 0 }],
        }],
      });
      strictEqual(r.topics[0].partitions[0].errorCode, ErrorCode.NOT_LEADER_OR_FOLLOWER);
    } finally {
      c.close();
    }
    // a fetch with the old epoch is fenced by the new leader, one from the future is unknown
    const c2 = await RawClient.connect(ctl.broker(2).port);
    try {
      for (
        const [epoch, code] of [[0, ErrorCode.FENCED_LEADER_EPOCH], [
          2,
          ErrorCode.UNKNOWN_LEADER_EPOCH,
        ], [1, 0]]
      ) {
        const body = fetchBody([{ topic: "d", partition: 0, offset: 0 }]);
        body.topics![0].partitions[0].currentLeaderEpoch = epoch;
        const r = await c2.request(FetchRequest, FetchResponse, 12, body);
        strictEqual(r.responses[0].partitions[0].errorCode, code, `epoch ${epoch}`);
        // ListOffsets v4+ checks current_leader_epoch the same way (KIP-320)
        const l = await c2.request(ListOffsetsRequest, ListOffsetsResponse, 5, {
          replicaId: -1,
          isolationLevel: 0,
          topics: [{
            name: "d",
            partitions: [{
              partitionIndex: 0,
              timestamp: -1,
              currentLeaderEpoch: epoch,
              maxNumOffsets: 1,
            }],
          }],
        });
        const lp = l.topics[0].partitions[0];
        strictEqual(lp.errorCode, code, `ListOffsets in epoch ${epoch}`);
        if (code === 0) deepStrictEqual([Number(lp.offset), lp.leaderEpoch], [13, 1]);
      }
    } finally {
      c2.close();
    }
  },
});

Deno.test({
  ...T,
  name: "replication: an idempotent producer's retry after failover is a duplicate",
  async fn() {
    await using ctl = await TestController.start([1, 2, 3]);
    await ctl.createTopic("i", [[1, 2, 3]], { "min.insync.replicas": "2" });
    const pid = 4242;
    const b0 = batch(["s0", "s1"], { pid, seq: 0 });
    const b1 = batch(["s2"], { pid, seq: 2 });
    const p0 = await produce(ctl, 1, "i", b0.slice(), -1);
    const p1 = await produce(ctl, 1, "i", b1.slice(), -1);
    strictEqual(p0.errorCode, 0);
    strictEqual(p1.errorCode, 0);
    strictEqual(Number(p1.baseOffset), 2);
    // failover to broker 2 (broker 1 stays, as a follower)
    await ctl.elect("i", 0, 2);
    // the producer did not see the answer for b1 and sends it again, to the new leader
    const retry = await produce(ctl, 2, "i", b1.slice(), -1);
    strictEqual(retry.errorCode, 0, retry.errorMessage ?? "");
    strictEqual(Number(retry.baseOffset), 2, "the retry is answered with the original offset");
    strictEqual(offsetsOf(ctl, 2, "i").logEndOffset, 3, "and not written again");
    // the next batch goes on; a gap is refused as on the old leader
    strictEqual((await produce(ctl, 2, "i", batch(["s3"], { pid, seq: 3 }), -1)).errorCode, 0);
    strictEqual(
      (await produce(ctl, 2, "i", batch(["s9"], { pid, seq: 9 }), -1)).errorCode,
      ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
    );
    strictEqual(
      (await produce(ctl, 1, "i", b1.slice(), -1)).errorCode,
      ErrorCode.NOT_LEADER_OR_FOLLOWER,
    );
    await assertReplicasIdentical(ctl, "i", [1, 3]);
    deepStrictEqual((await readValues(ctl, 2, "i")).map(([o, v]) => `${o}:${v}`), [
      "0:s0",
      "1:s1",
      "2:s2",
      "3:s3",
    ]);
  },
});

Deno.test({
  ...T,
  name: "replication: a follower behind the leader's log start starts over there",
  async fn() {
    await using ctl = await TestController.start([1, 2, 3]);
    await ctl.createTopic("s", [[1, 2, 3]]);
    strictEqual((await produce(ctl, 1, "s", batch(["a", "b"]), -1)).errorCode, 0);
    await assertReplicasIdentical(ctl, "s", [2, 3]);
    await ctl.stopNode(3);
    for (let i = 0; i < 5; i++) {
      strictEqual((await produce(ctl, 1, "s", batch([`c${i}`]), -1)).errorCode, 0);
    }
    await waitUntil(() => sorted(ctl.state("s", 0).isr).join() === "1,2", "ISR [1, 2]");
    // the leader's log start moves past everything broker 3 has (DeleteRecords)
    const c = await RawClient.connect(ctl.broker(1).port);
    try {
      const r = await c.request(DeleteRecordsRequest, DeleteRecordsResponse, 2, {
        topics: [{ name: "s", partitions: [{ partitionIndex: 0, offset: 5 }] }],
        timeoutMs: 5000,
      });
      strictEqual(r.topics[0].partitions[0].errorCode, 0);
    } finally {
      c.close();
    }
    // broker 2 follows the leader's log start (within its HW)
    await waitUntil(() => offsetsOf(ctl, 2, "s").logStartOffset === 5, "log start 5 on broker 2");
    await ctl.startNode(3);
    await waitUntil(() => sorted(ctl.state("s", 0).isr).join() === "1,2,3", "ISR [1, 2, 3]");
    const o3 = offsetsOf(ctl, 3, "s");
    strictEqual(o3.logStartOffset, 5);
    strictEqual(o3.logEndOffset, 7);
    const lines = ctl.nodes.get(3)!.lines.join("\n");
    ok(lines.includes("the leader's log starts at 5, after our log end 2"), lines);
    // its log is the leader's from offset 5 on
    const mine = await ctl.logBytes(3, "s", 0);
    const leaders = await ctl.logBytes(1, "s", 0);
    ok(mine.length > 0 && mine.length < leaders.length);
    deepStrictEqual(mine, leaders.subarray(leaders.length - mine.length));
    strictEqual(decodeRecordBatches(mine)[0].baseOffset, 5);
  },
});

Deno.test({
  ...T,
  name: "replication: a consumer's long poll on the leader wakes when the HW passes new records",
  async fn() {
    await using ctl = await TestController.start([1, 2, 3]);
    await ctl.createTopic("w", [[1, 2, 3]]);
    strictEqual((await produce(ctl, 1, "w", batch(["a"]), -1)).errorCode, 0);
    await waitUntil(() => offsetsOf(ctl, 1, "w").highWatermark === 1, "HW 1");
    const c = await RawClient.connect(ctl.broker(1).port);
    try {
      // parked at the HW for up to a minute: only a wake-up on the HW move answers it sooner
      const parked = c.request(
        FetchRequest,
        FetchResponse,
        12,
        fetchBody([{ topic: "w", partition: 0, offset: 1 }], { maxWaitMs: 60_000 }),
      );
      await new Promise((r) => setTimeout(r, 50));
      // acks=1: answered at the leader's append, before the followers have it; the consumer
      // must not see it then (its fetch reads below the HW) but once the HW passes it
      strictEqual((await produce(ctl, 1, "w", batch(["b"]), 1)).errorCode, 0);
      const res = await withTimeout(parked, 20_000, "the parked fetch");
      const p = res.responses[0].partitions[0];
      strictEqual(p.errorCode, 0);
      strictEqual(Number(p.highWatermark), 2);
      deepStrictEqual(decodeRecordBatches(p.records!).map((b) => b.baseOffset), [1]);
    } finally {
      c.close();
    }
  },
});

Deno.test({
  ...T,
  name: "replication: an acks=all wait ends with NOT_LEADER_OR_FOLLOWER when leadership moves",
  async fn() {
    await using ctl = await TestController.start([1, 2, 3]);
    await ctl.createTopic("l", [[1, 2, 3]], { "min.insync.replicas": "2" });
    ctl.acceptIsrChanges = false;
    await ctl.stopNode(3);
    const pending = produce(ctl, 1, "l", batch(["p"]), -1, 60_000);
    await waitUntil(() => offsetsOf(ctl, 1, "l").logEndOffset === 1, "the append on broker 1");
    await ctl.elect("l", 0, 2, [1, 2]);
    const r = await withTimeout(pending, 20_000, "the pending produce");
    strictEqual(r.errorCode, ErrorCode.NOT_LEADER_OR_FOLLOWER, r.errorMessage ?? "");
    ok(r.errorMessage?.includes("led by broker 2 now (epoch 1)"), r.errorMessage ?? "");
  },
});

Deno.test({
  ...T,
  name: "replication: a state that comes before its log is applied once the log exists",
  async fn() {
    await using ctl = await TestController.start([1, 2, 3]);
    await ctl.announce("late", [[2, 3, 1]]);
    strictEqual(ctl.broker(2).replicaManager!.role("late", 0), undefined);
    await ctl.createLogs("late", 1);
    const roles = () => [1, 2, 3].map((id) => ctl.broker(id).replicaManager!.role("late", 0));
    await waitUntil(
      () => roles().join() === "follower,leader,follower",
      () => `every broker to apply the state: ${roles()}`,
    );
    strictEqual((await produce(ctl, 2, "late", batch(["v"]), -1)).errorCode, 0);
    await assertReplicasIdentical(ctl, "late", [1, 3]);
  },
});

Deno.test({
  ...T,
  name: "replication: a new leader's HW is its own once the ISR has its log; until then a " +
    "coordinator would not load",
  async fn() {
    await using ctl = await TestController.start([1, 2, 3]);
    await ctl.createTopic("w", [[1, 2, 3]], { "min.insync.replicas": "2" });
    strictEqual((await produce(ctl, 1, "w", batch(["a", "b"]), -1)).errorCode, 0);
    // broker 3 stops, and its ISR membership cannot be changed: the leader's HW stays
    ctl.acceptIsrChanges = false;
    await ctl.stopNode(3);
    strictEqual((await produce(ctl, 1, "w", batch(["c"]), 1)).errorCode, 0);
    await waitUntil(() => offsetsOf(ctl, 2, "w").logEndOffset === 3, "broker 2 to copy c");
    strictEqual(offsetsOf(ctl, 2, "w").highWatermark, 2);
    // broker 2 leads now, with c past its HW and broker 3 still in the ISR
    await ctl.elect("w", 0, 2, [2, 1, 3]);
    const rm = ctl.broker(2).replicaManager!;
    await waitUntil(() => rm.role("w", 0) === "leader", "broker 2 to lead");
    const epoch = ctl.state("w", 0).leaderEpoch;
    let caughtUp: boolean | undefined;
    const wait = rm.waitForLeaderHighWatermark("w", 0, epoch).then((r) => caughtUp = r);
    await new Promise((r) => setTimeout(r, 500));
    strictEqual(caughtUp, undefined, "caught up while an ISR member lacks the leader's log");
    strictEqual(offsetsOf(ctl, 2, "w").highWatermark, 2);
    // an older leadership is over at once
    strictEqual(await rm.waitForLeaderHighWatermark("w", 0, epoch - 1), false);
    // broker 3 leaves the ISR: the HW reaches the log end the leader started its epoch with
    ctl.acceptIsrChanges = true;
    await withTimeout(wait, 20_000, "waitForLeaderHighWatermark");
    strictEqual(caughtUp, true);
    ok(offsetsOf(ctl, 2, "w").highWatermark >= 3);
    deepStrictEqual(sorted(ctl.state("w", 0).isr), [1, 2]);
  },
});
