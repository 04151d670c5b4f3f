// Copyright 2026 the Sluice authors. Apache-2.0 license.
import { deepStrictEqual as assertEquals, ok, throws } from "node:assert/strict";
import { PlacementError, placeReplicas } from "./assignment.ts";

function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const three = [1, 2, 3].map((id) => ({ id, rack: null }));

Deno.test("placeReplicas() without racks: round-robin leaders, distinct replicas", () => {
  for (let seed = 0; seed < 20; seed++) {
    const r = placeReplicas(three, 6, 1, seeded(seed));
    const leaders = r.map((x) => x[0]);
    // every broker leads exactly two of six partitions
    for (const b of [1, 2, 3]) assertEquals(leaders.filter((l) => l === b).length, 2);
    const rf3 = placeReplicas(three, 9, 3, seeded(seed));
    for (const replicas of rf3) assertEquals([...replicas].sort(), [1, 2, 3]);
    for (const b of [1, 2, 3]) assertEquals(rf3.filter((x) => x[0] === b).length, 3);
  }
});

Deno.test("placeReplicas() spreads a partition's replicas over racks", () => {
  const brokers = [
    { id: 1, rack: "a" },
    { id: 2, rack: "a" },
    { id: 3, rack: "b" },
    { id: 4, rack: "b" },
    { id: 5, rack: "c" },
    { id: 6, rack: "c" },
  ];
  const rack = new Map(brokers.map((b) => [b.id, b.rack]));
  for (let seed = 0; seed < 20; seed++) {
    const r = placeReplicas(brokers, 12, 3, seeded(seed));
    for (const replicas of r) {
      assertEquals(new Set(replicas.map((b) => rack.get(b))).size, 3, JSON.stringify(r));
    }
    const leaders = new Map<number, number>();
    for (const x of r) leaders.set(x[0], (leaders.get(x[0]) ?? 0) + 1);
    for (const b of brokers) assertEquals(leaders.get(b.id), 2, JSON.stringify(r));
    // two racks for RF 2: never both replicas on one rack
    for (const replicas of placeReplicas(brokers, 12, 2, seeded(seed))) {
      ok(rack.get(replicas[0]) !== rack.get(replicas[1]));
    }
  }
});

Deno.test("placeReplicas() refuses more replicas than brokers, as Kafka's words", () => {
  throws(
    () => placeReplicas(three, 1, 4),
    (e: Error) =>
      e instanceof PlacementError &&
      e.message === "Replication factor: 4 larger than available brokers: 3.",
  );
  throws(() => placeReplicas(three, 1, 0), PlacementError);
  throws(() => placeReplicas([], 1, 1), PlacementError);
});
