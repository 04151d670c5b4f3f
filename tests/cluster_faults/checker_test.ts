// Copyright 2026 the Sluice authors. Apache-2.0 license.
// The fault harness's checker on made-up histories: divergent offsets (an acknowledged record
// replaced, two reads that disagree), commits lost or gone backwards (and the interleavings that
// are not), replica logs that differ from the leader's below the high watermark (and differences
// above it, which are allowed), and the consumer line protocol.
import { deepStrictEqual as assertEquals, ok, strictEqual } from "node:assert/strict";
import { encodeRecordBatch } from "../../records/batch_builder.ts";
import { setPartitionLeaderEpochAt } from "../../records/layout.ts";
import { offsetFileStem } from "../../engine/names.ts";
import { concat } from "../../protocol/framing.ts";
import { makeValue } from "../chaos/protocol.ts";
import { checkPartition } from "../chaos/checker.ts";
import {
  CommitBook,
  compareReplicas,
  describeDivergence,
  type LogBatch,
  OffsetHistory,
  readReplicaLog,
  setResendsApart,
} from "./checker.ts";
import { commitLine, parseConsumerLine, readLine } from "./protocol.ts";

Deno.test("history: the same value seen again agrees; another one is a divergence", () => {
  const h = new OffsetHistory();
  ok(h.observe("t", 0, 0, "c0.0:0", "ack c0.0", 1000));
  ok(h.observe("t", 0, 0, "c0.0:0", "read g1", 1001));
  ok(h.observe("t", 0, 1, "c0.0:1", "read g1", 1002));
  ok(h.observe("t", 1, 0, "s1.0:5", "read g1", 1003)); // another partition
  strictEqual(h.divergentOffsets, 0);
  // the leader changed and offset 1 now holds another record: a consumer saw it first
  ok(!h.observe("t", 0, 1, "s1.0:9", "final read", 2000));
  ok(!h.observe("t", 0, 1, "s1.0:9", "broker 2 log", 2001)); // same offset again: one offset
  strictEqual(h.divergentOffsets, 1);
  assertEquals(h.kinds, { "read/final": 1, "read/broker": 1 });
  assertEquals(h.divergences[0].first, { id: "c0.0:1", source: "read g1", at: 1002 });
  ok(describeDivergence(h.divergences[0]).startsWith("t-0 offset 1: c0.0:1 (read g1"));
  // a value without an id where a record was seen
  ok(!h.observe("t", 0, 0, undefined, "read g2", 3000));
  strictEqual(h.divergentOffsets, 2);
  assertEquals(h.at("t", 0, 0)?.id, "c0.0:0");
  strictEqual(h.at("t", 0, 99), undefined);
});

Deno.test("history: far offsets grow the arrays; ids of many producers stay apart", () => {
  const h = new OffsetHistory();
  ok(h.observe("t", 0, 1_000_000, "p7.3:4294967295", "ack p7.3", 1));
  ok(h.observe("t", 0, 5, "q:1", "ack q", 1));
  ok(h.observe("t", 0, 1_000_000, "p7.3:4294967295", "read g", 2));
  ok(!h.observe("t", 0, 5, "p7.3:1", "read g", 2));
  assertEquals(h.at("t", 0, 1_000_000)?.id, "p7.3:4294967295");
});

Deno.test("commits: a read below a commit acknowledged before it was sent is a lost commit", () => {
  const b = new CommitBook();
  b.acked("t", 0, 10, 1000, "g1");
  b.acked("t", 0, 40, 2000, "g1");
  b.observed("t", 0, 10, 1500, 1501); // after the first, before the second: fine
  b.observed("t", 0, 40, 1999, 2003); // sent before the ack arrived, saw it already: fine
  b.observed("t", 0, 40, 2500, 2501);
  strictEqual(b.check().lost, 0);
  b.observed("t", 0, -1, 3000, 3001); // the coordinator forgot everything
  const c = b.check();
  strictEqual(c.lost, 1);
  strictEqual(c.backwards, 1);
  ok(c.examples[0].includes("g1's commit of 40"), c.examples[0]);
  assertEquals(b.maxAcked("t", 0), { offset: 40, ts: 2000 });
  assertEquals([...b.committedSince(1500)], ["t-0"]);
  assertEquals([...b.committedSince(2000)], []);
});

Deno.test("commits: a read sent just before an acknowledgement may see the older offset", () => {
  const b = new CommitBook();
  b.acked("t", 1, 5, 1000, "g1");
  b.acked("t", 1, 9, 2000, "g2"); // another member, after a rebalance
  b.observed("t", 1, 5, 2000, 2001); // sent at the same millisecond: not strictly after
  b.observed("t", 1, 9, 2002, 2003);
  assertEquals(b.check(), { acked: 2, observed: 2, lost: 0, backwards: 0, examples: [] });
});

async function writeSegment(dir: string, base: number, batches: Uint8Array[]): Promise<void> {
  await Deno.writeFile(`${dir}/${offsetFileStem(base)}.log`, concat(batches));
}

function batch(base: number, ids: string[], epoch: number): Uint8Array {
  const b = encodeRecordBatch(ids.map((id) => ({ value: makeValue(id, 64) })), {
    baseOffset: base,
  });
  setPartitionLeaderEpochAt(b, 0, epoch); // not covered by the CRC, as Kafka's
  return b;
}

Deno.test("replicas: logs read from disk, compared batch by batch below the high watermark", async () => {
  const root = await Deno.makeTempDir();
  try {
    for (const b of ["b1", "b2", "b3", "b4"]) {
      await Deno.mkdir(`${root}/${b}/t-0`, { recursive: true });
    }
    const common = [batch(0, ["p:0", "p:1"], 0), batch(2, ["p:2"], 0)];
    // leader: two segments; its last batch (epoch 1) is above the high watermark of 3
    await writeSegment(`${root}/b1/t-0`, 0, common);
    await writeSegment(`${root}/b1/t-0`, 3, [batch(3, ["p:3"], 1)]);
    // a follower holding the same below 3, and a divergent suffix above it (allowed)
    await writeSegment(`${root}/b2/t-0`, 0, [...common, batch(3, ["q:0", "q:1"], 0)]);
    // a follower with another record at offset 2 (same epoch)
    await writeSegment(`${root}/b3/t-0`, 0, [common[0], batch(2, ["q:2"], 0)]);
    // a follower that never got offset 2
    await writeSegment(`${root}/b4/t-0`, 0, [common[0]]);
    const leader = await readReplicaLog(`${root}/b1`, "t", 0, 64);
    assertEquals(
      leader.map((b) => [b.baseOffset, b.lastOffset, b.epoch, b.records?.map((r) => r.id)]),
      [[0, 1, 0, ["p:0", "p:1"]], [2, 2, 0, ["p:2"]], [3, 3, 1, ["p:3"]]],
    );
    ok(leader.every((b) => b.records!.every((r) => r.intact)));
    const read = (b: string) => readReplicaLog(`${root}/${b}`, "t", 0);
    strictEqual(compareReplicas(leader, await read("b2"), 3), undefined);
    const diff3 = compareReplicas(leader, await read("b3"), 3)!;
    ok(
      /^batch at 2: leader 2\.\.2 epoch 0 crc \d+, follower 2\.\.2 epoch 0 crc \d+$/.test(diff3),
      diff3,
    );
    strictEqual(compareReplicas(leader, await read("b4"), 3), "offsets 2..2 (epoch 0) missing");
    // the epoch is compared, though the CRC does not cover it
    const epochMoved: LogBatch[] = leader.map((b) => ({
      ...b,
      epoch: b.baseOffset === 2 ? 5 : b.epoch,
    }));
    ok(compareReplicas(leader, epochMoved, 3)!.includes("epoch 5"));
    // a follower with a batch the leader does not have below the high watermark
    const extra: LogBatch[] = [...leader.slice(0, 1), {
      ...leader[0],
      baseOffset: 1,
      lastOffset: 1,
    }];
    ok(compareReplicas(leader.slice(0, 1), extra, 3)!.includes("not in the leader's log"));
    // a replica without the partition's directory has nothing
    assertEquals(await readReplicaLog(`${root}/b1`, "t", 7), []);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("consumer protocol: lines round-trip; anything else is 'other'", () => {
  const r = { topic: "t", partition: 2, offset: 41, id: "s1.0:7", intact: true, ts: 17 };
  assertEquals(parseConsumerLine(readLine(r)), { kind: "read", read: r });
  const none = { ...r, id: undefined, intact: false };
  assertEquals(parseConsumerLine(readLine(none)), { kind: "read", read: none });
  const k = { topic: "t", partition: 0, offset: 42, ts: 18 };
  assertEquals(parseConsumerLine(commitLine(k)), { kind: "commit", commit: k });
  assertEquals(parseConsumerLine("R"), { kind: "ready" });
  assertEquals(parseConsumerLine("E commit: x y"), { kind: "error", detail: "commit: x y" });
  assertEquals(parseConsumerLine("F gone"), { kind: "fatal", detail: "gone" });
  assertEquals(parseConsumerLine("C t 0 -1 x 1 5").kind, "other");
  assertEquals(parseConsumerLine("K t 0 5").kind, "other");
});

Deno.test("resends: a copy under a higher producer epoch, never acknowledged, is set apart", () => {
  const batch = (o: number, producerId: number, producerEpoch: number): LogBatch => ({
    baseOffset: o,
    lastOffset: o,
    epoch: 0,
    crc: 0,
    producerId,
    producerEpoch,
    baseSequence: 0,
  });
  const contents = {
    offsets: [0, 1, 2, 3, 4],
    ids: ["c:0", "c:1", "c:1", "c:2", "c:2"],
    intact: [true, true, true, true, true],
    highWatermark: 5,
  };
  const acks = { offsets: [0, 2, 4], ids: ["c:0", "c:1", "c:2"] };
  // offsets 1 and 2: epochs 0 then 1, 1 unacknowledged: a re-send; 3 and 4: the same epoch
  const log = [batch(0, 7, 0), batch(1, 7, 0), batch(2, 7, 1), batch(3, 7, 1), batch(4, 7, 1)];
  const { contents: got, resends } = setResendsApart(contents, new Set(acks.offsets), log);
  assertEquals(got.ids, ["c:0", "c:1#resent", "c:1", "c:2", "c:2"]);
  assertEquals(resends, [
    "c:1 at offset 1 (producer 7 epoch 0, not acknowledged) and again at 2 (epoch 1)",
  ]);
  const check = checkPartition("t", 0, acks, got);
  assertEquals([check.duplicates, check.reordered, check.lost], [1, 1, 0]); // 3 and 4 remain
  // an acknowledged first copy is a duplicate, whatever the epochs
  strictEqual(setResendsApart(contents, new Set([0, 1, 2, 4]), log).resends.length, 0);
  // another producer id is not a re-send either
  const other = [batch(0, 7, 0), batch(1, 7, 0), batch(2, 8, 1), batch(3, 7, 1), batch(4, 7, 1)];
  strictEqual(setResendsApart(contents, new Set(acks.offsets), other).resends.length, 0);
});
