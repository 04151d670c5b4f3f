// Copyright 2026 the Sluice authors. Apache-2.0 license.
import { deepStrictEqual as assertEquals, strictEqual } from "node:assert/strict";
import { ErrorCode } from "../../protocol/errors.ts";
import type { PartitionState } from "./metadata_store.ts";
import {
  cancelReassignment,
  checkTarget,
  completeReassignment,
  electPreferred,
  electUnclean,
  startReassignment,
} from "./reassignment.ts";

const s = (leader: number, isr: number[], more: Partial<PartitionState> = {}): PartitionState => ({
  leader,
  leaderEpoch: 3,
  isr,
  partitionEpoch: 7,
  ...more,
});
const live = (...ids: number[]) => new Set(ids);

Deno.test("startReassignment(): the union first, target ++ removing; at once when nothing to copy", () => {
  // [1,2,3] → [4,2,3]: 4 adding, 1 removing, leader 1 stays until completion
  assertEquals(startReassignment([1, 2, 3], s(1, [1, 2, 3]), [4, 2, 3], live(1, 2, 3, 4)), {
    replicas: [4, 2, 3, 1],
    state: s(1, [1, 2, 3], { partitionEpoch: 8, addingReplicas: [4], removingReplicas: [1] }),
  });
  // shrinking [1,2,3] → [2,3]: nothing to copy, done at once; the leader hands over (epoch + 1)
  assertEquals(startReassignment([1, 2, 3], s(1, [1, 2, 3]), [2, 3], live(1, 2, 3)), {
    replicas: [2, 3],
    state: s(2, [2, 3], { leaderEpoch: 4, partitionEpoch: 8 }),
  });
  // reordering only: at once, same leader
  assertEquals(startReassignment([1, 2, 3], s(1, [1, 2, 3]), [3, 2, 1], live(1, 2, 3)), {
    replicas: [3, 2, 1],
    state: s(1, [1, 2, 3], { partitionEpoch: 8 }),
  });
  // the same replicas and nothing in progress: nothing to do
  strictEqual(startReassignment([1, 2, 3], s(1, [1, 2, 3]), [1, 2, 3], live(1, 2, 3)), undefined);
  // a new target replaces the one in progress, from the original replicas [2,3,1]
  const inProgress = s(1, [1, 2, 3], { addingReplicas: [4], removingReplicas: [1] });
  assertEquals(startReassignment([4, 2, 3, 1], inProgress, [5, 2, 3], live(1, 2, 3, 4, 5)), {
    replicas: [5, 2, 3, 1],
    state: s(1, [1, 2, 3], { partitionEpoch: 8, addingReplicas: [5], removingReplicas: [1] }),
  });
});

Deno.test("completeReassignment(): once every adding replica is in the ISR; a removed leader hands over", () => {
  const waiting = s(1, [1, 2, 3], { addingReplicas: [4], removingReplicas: [1] });
  strictEqual(completeReassignment([4, 2, 3, 1], waiting, live(1, 2, 3, 4)), undefined);
  const caughtUp = s(1, [1, 2, 3, 4], { addingReplicas: [4], removingReplicas: [1] });
  assertEquals(completeReassignment([4, 2, 3, 1], caughtUp, live(1, 2, 3, 4)), {
    replicas: [4, 2, 3],
    state: s(4, [2, 3, 4], { leaderEpoch: 4, partitionEpoch: 8 }),
  });
  // the leader is kept: no leader epoch change
  const keeps = s(2, [1, 2, 3, 4], { addingReplicas: [4], removingReplicas: [1] });
  assertEquals(completeReassignment([4, 2, 3, 1], keeps, live(1, 2, 3, 4)), {
    replicas: [4, 2, 3],
    state: s(2, [2, 3, 4], { partitionEpoch: 8 }),
  });
  // nothing in progress
  strictEqual(completeReassignment([1, 2, 3], s(1, [1, 2, 3]), live(1, 2, 3)), undefined);
});

Deno.test("cancelReassignment(): back to the original replicas; nothing in progress is refused", () => {
  const inProgress = s(1, [1, 2, 3], { addingReplicas: [4], removingReplicas: [1] });
  assertEquals(cancelReassignment([4, 2, 3, 1], inProgress, live(1, 2, 3, 4)), {
    replicas: [2, 3, 1],
    state: s(1, [1, 2, 3], { partitionEpoch: 8 }),
  });
  // an adding replica that leads (elected while in the ISR) hands over to an original one
  const led = s(4, [4, 2], { addingReplicas: [4], removingReplicas: [1] });
  assertEquals(cancelReassignment([4, 2, 3, 1], led, live(1, 2, 3, 4)), {
    replicas: [2, 3, 1],
    state: s(2, [2], { leaderEpoch: 4, partitionEpoch: 8 }),
  });
  strictEqual(
    (cancelReassignment([1, 2, 3], s(1, [1, 2, 3]), live(1, 2, 3)) as { errorCode: number })
      .errorCode,
    ErrorCode.NO_REASSIGNMENT_IN_PROGRESS,
  );
});

Deno.test("checkTarget(): empty, duplicates and unregistered brokers are INVALID_REPLICA_ASSIGNMENT", () => {
  for (const t of [[], [1, 1], [1, 5]]) {
    strictEqual(checkTarget(t, live(1, 2, 3))?.errorCode, ErrorCode.INVALID_REPLICA_ASSIGNMENT);
  }
  strictEqual(checkTarget([3, 1], live(1, 2, 3)), undefined);
});

Deno.test("electPreferred() and electUnclean(): Kafka's rules", () => {
  assertEquals(
    electPreferred([1, 2, 3], s(2, [2, 3, 1]), live(1, 2, 3)),
    s(1, [2, 3, 1], { leaderEpoch: 4, partitionEpoch: 8 }),
  );
  const code = (r: unknown) => (r as { errorCode?: number }).errorCode;
  strictEqual(
    code(electPreferred([1, 2, 3], s(1, [1, 2]), live(1, 2))),
    ErrorCode.ELECTION_NOT_NEEDED,
  );
  strictEqual(
    code(electPreferred([1, 2, 3], s(2, [2, 3]), live(1, 2, 3))),
    ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE,
  );
  strictEqual(
    code(electPreferred([1, 2, 3], s(2, [1, 2, 3]), live(2, 3))),
    ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE,
  );
  // unclean: a live leader needs none; a live ISR member first; else any live replica alone
  strictEqual(
    code(electUnclean([1, 2], s(1, [1, 2]), live(1, 2))),
    ErrorCode.ELECTION_NOT_NEEDED,
  );
  assertEquals(
    electUnclean([1, 2, 3], s(-1, [1, 3]), live(2, 3)),
    s(3, [3], { leaderEpoch: 4, partitionEpoch: 8 }),
  );
  assertEquals(
    electUnclean([1, 2, 3], s(-1, [1]), live(2, 3)),
    s(2, [2], { leaderEpoch: 4, partitionEpoch: 8 }),
  );
  strictEqual(
    code(electUnclean([1, 2], s(-1, [1]), live(3))),
    ErrorCode.ELIGIBLE_LEADERS_NOT_AVAILABLE,
  );
});
