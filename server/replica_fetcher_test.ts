// Where a follower cuts its log (Kafka's getOffsetTruncationState), round by round against a
// leader's leader-epoch cache, as the fetcher's OffsetForLeaderEpoch exchanges do.
import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { type EpochEntry, LeaderEpochCache } from "../engine/mod.ts";
import { truncationPoint } from "./replica_fetcher.ts";

/** A follower's log as far as truncation sees it: an epoch cache, a log end, a HW. */
function follower(entries: EpochEntry[], leo: number, hw: number) {
  const cache = new LeaderEpochCache("/nonexistent", entries);
  return {
    cache,
    logEndOffset: leo,
    highWatermark: hw,
    endOffsetForEpoch(epoch: number) {
      return cache.endOffsetFor(epoch, this.logEndOffset);
    },
  };
}

/** Runs the exchange until done; returns the offsets truncated to, in order. */
function converge(f: ReturnType<typeof follower>, leader: EpochEntry[], leaderLeo: number) {
  const l = new LeaderEpochCache("/nonexistent", leader);
  const cuts: number[] = [];
  for (let round = 0; round < 10; round++) {
    const asked = f.cache.latestEpoch;
    const answer = l.endOffsetFor(asked, leaderLeo);
    const t = truncationPoint(f, answer.epoch, answer.endOffset);
    const to = Math.max(t.offset, f.highWatermark); // never below the HW
    if (to < f.logEndOffset) {
      f.logEndOffset = to;
      f.cache.truncateFromEnd(to);
      cuts.push(to);
    }
    if (t.done || f.logEndOffset <= f.highWatermark) return cuts;
  }
  throw new Error("no convergence in 10 rounds");
}

Deno.test("truncationPoint: the same epoch on both sides cuts where the leader's ends", () => {
  // the old leader wrote 5..10 in epoch 0; the new leader's epoch 1 starts at 5
  const f = follower([{ epoch: 0, startOffset: 0 }], 11, 5);
  deepStrictEqual(converge(f, [{ epoch: 0, startOffset: 0 }, { epoch: 1, startOffset: 5 }], 13), [
    5,
  ]);
  // a follower that is simply behind keeps everything
  const g = follower([{ epoch: 0, startOffset: 0 }], 4, 4);
  deepStrictEqual(
    converge(g, [{ epoch: 0, startOffset: 0 }, { epoch: 1, startOffset: 5 }], 13),
    [],
  );
});

Deno.test("truncationPoint: an epoch the leader never had takes two rounds", () => {
  // follower: epoch 2 (never on the leader) from 50; leader: epoch 1 from 40, 3 from 60
  const f = follower([{ epoch: 0, startOffset: 0 }, { epoch: 2, startOffset: 50 }], 80, 10);
  const leader = [
    { epoch: 0, startOffset: 0 },
    { epoch: 1, startOffset: 40 },
    { epoch: 3, startOffset: 60 },
  ];
  deepStrictEqual(converge(f, leader, 100), [50, 40]);
  strictEqual(f.logEndOffset, 40);
});

Deno.test("truncationPoint: never below the high watermark, never past the log end", () => {
  const f = follower([{ epoch: 0, startOffset: 0 }], 20, 15);
  deepStrictEqual(converge(f, [{ epoch: 0, startOffset: 0 }, { epoch: 1, startOffset: 10 }], 30), [
    15,
  ]);
  // every epoch of the leader is newer than ours: it answers where its first one starts
  const g = follower([{ epoch: 4, startOffset: 0 }], 20, 7);
  deepStrictEqual(converge(g, [{ epoch: 5, startOffset: 0 }], 30), [7]);
  // no end offset in the answer: the high watermark; no epoch: the leader's end offset
  const h = follower([{ epoch: 4, startOffset: 0 }], 20, 7);
  strictEqual(truncationPoint(h, -1, -1).offset, 7);
  strictEqual(truncationPoint(h, -1, 12).offset, 12);
  strictEqual(truncationPoint(h, -1, 99).offset, 20, "never past the log end");
});
