// Expected assignments are those of the Java client's RangeAssignorTest and
// RoundRobinAssignorTest for the same inputs.
import assert from "node:assert/strict";
import {
  cooperativeStickyAssignor,
  decodeAssignment,
  decodeAssignmentUserData,
  decodeSubscription,
  encodeAssignment,
  encodeSubscription,
  rangeAssignor,
  roundRobinAssignor,
} from "./assignors.ts";

const counts = (o: Record<string, number>) => new Map(Object.entries(o));
const plain = (m: Map<string, unknown>) => Object.fromEntries(m);

Deno.test("range: two consumers, two topics of three partitions (Java testTwoConsumersTwoTopicsSixPartitions)", () => {
  const a = rangeAssignor.assign(
    [{ memberId: "consumer1", topics: ["t1", "t2"] }, {
      memberId: "consumer2",
      topics: ["t1", "t2"],
    }],
    counts({ t1: 3, t2: 3 }),
  );
  assert.deepEqual(plain(a), {
    consumer1: [{ topic: "t1", partitions: [0, 1] }, { topic: "t2", partitions: [0, 1] }],
    consumer2: [{ topic: "t1", partitions: [2] }, { topic: "t2", partitions: [2] }],
  });
});

Deno.test("range: mixed subscriptions (Java testMultipleConsumersMixedTopics)", () => {
  const a = rangeAssignor.assign(
    [
      { memberId: "consumer3", topics: ["topic1"] },
      { memberId: "consumer1", topics: ["topic1"] },
      { memberId: "consumer2", topics: ["topic1", "topic2"] },
    ],
    counts({ topic1: 3, topic2: 2 }),
  );
  assert.deepEqual(plain(a), {
    consumer3: [{ topic: "topic1", partitions: [2] }],
    consumer1: [{ topic: "topic1", partitions: [0] }],
    consumer2: [{ topic: "topic1", partitions: [1] }, { topic: "topic2", partitions: [0, 1] }],
  });
});

Deno.test("range: more consumers than partitions, unknown topic, 7 over 3", () => {
  const a = rangeAssignor.assign(
    [
      { memberId: "a", topics: ["seven", "one", "missing"] },
      { memberId: "b", topics: ["seven", "one"] },
      { memberId: "c", topics: ["seven", "one"] },
    ],
    counts({ seven: 7, one: 1 }),
  );
  assert.deepEqual(plain(a), {
    a: [{ topic: "one", partitions: [0] }, { topic: "seven", partitions: [0, 1, 2] }],
    b: [{ topic: "seven", partitions: [3, 4] }],
    c: [{ topic: "seven", partitions: [5, 6] }],
  });
});

Deno.test("range: static members sort by group.instance.id before dynamic ones", () => {
  const a = rangeAssignor.assign(
    [
      { memberId: "a-dynamic", topics: ["t"] },
      { memberId: "z-static", groupInstanceId: "instance-1", topics: ["t"] },
      { memberId: "y-static", groupInstanceId: "instance-2", topics: ["t"] },
    ],
    counts({ t: 3 }),
  );
  assert.deepEqual(plain(a), {
    "a-dynamic": [{ topic: "t", partitions: [2] }],
    "z-static": [{ topic: "t", partitions: [0] }],
    "y-static": [{ topic: "t", partitions: [1] }],
  });
});

Deno.test("roundrobin: two consumers, two topics of three partitions (Java testTwoConsumersTwoTopicsSixPartitions)", () => {
  const a = roundRobinAssignor.assign(
    [{ memberId: "consumer1", topics: ["t1", "t2"] }, {
      memberId: "consumer2",
      topics: ["t1", "t2"],
    }],
    counts({ t1: 3, t2: 3 }),
  );
  assert.deepEqual(plain(a), {
    consumer1: [{ topic: "t1", partitions: [0, 2] }, { topic: "t2", partitions: [1] }],
    consumer2: [{ topic: "t1", partitions: [1] }, { topic: "t2", partitions: [0, 2] }],
  });
});

Deno.test("roundrobin: mixed subscriptions skip unsubscribed members (Java testMultipleConsumersMixedTopics)", () => {
  const a = roundRobinAssignor.assign(
    [
      { memberId: "consumer1", topics: ["topic1"] },
      { memberId: "consumer2", topics: ["topic1", "topic2"] },
      { memberId: "consumer3", topics: ["topic1"] },
    ],
    counts({ topic1: 3, topic2: 2 }),
  );
  assert.deepEqual(plain(a), {
    consumer1: [{ topic: "topic1", partitions: [0] }],
    consumer2: [{ topic: "topic1", partitions: [1] }, { topic: "topic2", partitions: [0, 1] }],
    consumer3: [{ topic: "topic1", partitions: [2] }],
  });
});

Deno.test("roundrobin: a member with nothing gets an empty assignment", () => {
  const a = roundRobinAssignor.assign(
    [{ memberId: "m1", topics: ["t"] }, { memberId: "m2", topics: ["t"] }],
    counts({ t: 1 }),
  );
  assert.deepEqual(plain(a), { m1: [{ topic: "t", partitions: [0] }], m2: [] });
});

Deno.test("subscription and assignment encode as Kafka's consumer protocol", () => {
  // Version 0: int16 version, array of strings, nullable bytes (-1).
  assert.deepEqual(
    [...encodeSubscription(["ab"], { version: 0 })],
    [0, 0, 0, 0, 0, 1, 0, 2, 97, 98, 255, 255, 255, 255],
  );
  const s = decodeSubscription(
    encodeSubscription(["x", "y"], {
      ownedPartitions: [{ topic: "x", partitions: [1, 2] }],
      generationId: 7,
    }),
  );
  assert.deepEqual(s, {
    version: 3,
    topics: ["x", "y"],
    userData: null,
    ownedPartitions: [{ topic: "x", partitions: [1, 2] }],
    generationId: 7,
  });
  assert.deepEqual(
    [...encodeAssignment([{ topic: "t", partitions: [3] }])],
    [0, 0, 0, 0, 0, 1, 0, 1, 116, 0, 0, 0, 1, 0, 0, 0, 3, 255, 255, 255, 255],
  );
  assert.deepEqual(decodeAssignment(encodeAssignment([{ topic: "t", partitions: [0, 2] }], 3)), [
    { topic: "t", partitions: [0, 2] },
  ]);
  assert.deepEqual(decodeAssignment(new Uint8Array(0)), []);
  // Version 1 claimed, only version-0 fields written: read as version 0.
  const v0 = encodeSubscription(["ab"], { version: 0 });
  v0[1] = 1;
  assert.deepEqual(decodeSubscription(v0).topics, ["ab"]);
  assert.throws(() => encodeSubscription(["t"], { version: 4 }), /unsupported version 4/);
  assert.throws(() => decodeAssignment(new Uint8Array([0, 0, 0])), /./);
});

Deno.test("cooperative-sticky: fresh members get a balanced split", () => {
  const a = cooperativeStickyAssignor.assign(
    [{ memberId: "m2", topics: ["t"] }, { memberId: "m1", topics: ["t"] }],
    counts({ t: 5 }),
  );
  assert.deepEqual(plain(a), {
    m1: [{ topic: "t", partitions: [0, 2, 4] }],
    m2: [{ topic: "t", partitions: [1, 3] }],
  });
});

Deno.test("cooperative-sticky: owned partitions stay; moved ones wait a round", () => {
  const owned = (partitions: number[]) => [{ topic: "t", partitions }];
  // Round 1: m1 owns everything, m2 is new: m1 keeps 0-1, 2-3 are revoked (nobody gets them).
  const r1 = cooperativeStickyAssignor.assign(
    [
      { memberId: "m1", topics: ["t"], ownedPartitions: owned([0, 1, 2, 3]), generationId: 1 },
      { memberId: "m2", topics: ["t"], ownedPartitions: [], generationId: -1 },
    ],
    counts({ t: 4 }),
  );
  assert.deepEqual(plain(r1), { m1: owned([0, 1]), m2: [] });
  // Round 2: the revoked partitions are free and go to m2.
  const r2 = cooperativeStickyAssignor.assign(
    [
      { memberId: "m1", topics: ["t"], ownedPartitions: owned([0, 1]), generationId: 2 },
      { memberId: "m2", topics: ["t"], ownedPartitions: [], generationId: 2 },
    ],
    counts({ t: 4 }),
  );
  assert.deepEqual(plain(r2), { m1: owned([0, 1]), m2: owned([2, 3]) });
  // A member leaves: the survivor keeps its own and takes the orphans at once.
  const r3 = cooperativeStickyAssignor.assign(
    [{ memberId: "m2", topics: ["t"], ownedPartitions: owned([2, 3]), generationId: 2 }],
    counts({ t: 4 }),
  );
  assert.deepEqual(plain(r3), { m2: owned([0, 1, 2, 3]) });
});

Deno.test("cooperative-sticky: stale and double claims, unsubscribed topics, mixed subscriptions", () => {
  const a = cooperativeStickyAssignor.assign(
    [
      // Claims t-0 at generation 3: wins over m2's generation-2 claim.
      {
        memberId: "m1",
        topics: ["t", "u"],
        ownedPartitions: [{ topic: "t", partitions: [0] }, { topic: "gone", partitions: [0] }],
        generationId: 3,
      },
      {
        memberId: "m2",
        topics: ["t"],
        ownedPartitions: [{ topic: "t", partitions: [0, 1] }],
        generationId: 2,
      },
      // No longer subscribed to u: its claim on u-0 is void.
      {
        memberId: "m3",
        topics: ["t"],
        ownedPartitions: [{ topic: "u", partitions: [0] }],
        generationId: 3,
      },
    ],
    counts({ t: 3, u: 2 }),
  );
  // m1 (t-0, u-0, u-1) is 2 above m2: t-0 moves to m2, so it is revoked from m1 this round and
  // handed to m2 in the next.
  assert.deepEqual(plain(a), {
    m1: [{ topic: "u", partitions: [0, 1] }],
    m2: [{ topic: "t", partitions: [1] }],
    m3: [{ topic: "t", partitions: [2] }],
  });
});

Deno.test("assignor user data: the subscription's and the assignment's round-trip, absent is null", () => {
  const data = new Uint8Array([1, 2, 3, 250]);
  for (const version of [0, 1, 2, 3]) {
    const sub = decodeSubscription(encodeSubscription(["t"], { version, userData: data }));
    assert.deepStrictEqual([sub.topics, sub.userData], [["t"], data]);
    const bytes = encodeAssignment([{ topic: "t", partitions: [0, 2] }], version, data);
    assert.deepStrictEqual(decodeAssignment(bytes), [{ topic: "t", partitions: [0, 2] }]);
    assert.deepStrictEqual(decodeAssignmentUserData(bytes), data);
  }
  assert.equal(decodeSubscription(encodeSubscription(["t"])).userData, null);
  assert.equal(decodeAssignmentUserData(encodeAssignment([])), null);
  assert.equal(decodeAssignmentUserData(new Uint8Array()), null);
});
