// Copyright 2026 the Sluice authors. Apache-2.0 license.
import assert, { deepStrictEqual as assertEquals } from "node:assert/strict";
import {
  assignTasks,
  decodeAssignmentInfo,
  decodeSubscriptionInfo,
  encodeSubscriptionInfo,
  StreamsAssignor,
  type TaskMember,
} from "./assignor.ts";
import { prng } from "./testing.ts";

const tasksOf = (subs: number, partitions: number, stateful = true) =>
  Array.from({ length: subs * partitions }, (_, i) => ({
    id: `${Math.floor(i / partitions)}_${i % partitions}`,
    stateful,
  }));

/** Checks the invariants: every task active once, actives balanced, at most one copy of a
 * task per member, `min(standbys, members - 1)` standbys per stateful task. */
function check(
  members: TaskMember[],
  tasks: Array<{ id: string; stateful: boolean }>,
  standbys: number,
) {
  const a = assignTasks(members, tasks, standbys);
  const actives = [...a.active.values()].flat().sort();
  assertEquals(actives, tasks.map((t) => t.id).sort());
  const loads = [...a.active.values()].map((l) => l.length);
  assert(Math.max(...loads) - Math.min(...loads) <= 1, `loads ${loads}`);
  // With one task per member and one standby each, every member gets exactly one standby.
  if (standbys === 1 && tasks.length === members.length && tasks.every((t) => t.stateful)) {
    assertEquals([...a.standby.values()].map((l) => l.length), members.map(() => 1));
  }
  for (const t of tasks) {
    const holders = members.filter((m) =>
      a.active.get(m.id)!.includes(t.id) || a.standby.get(m.id)!.includes(t.id)
    );
    const copies = members.map((m) =>
      a.active.get(m.id)!.filter((x) => x === t.id).length +
      a.standby.get(m.id)!.filter((x) => x === t.id).length
    );
    assert(copies.every((c) => c <= 1), `task ${t.id} twice on one member`);
    assertEquals(
      holders.length,
      1 + (t.stateful ? Math.min(standbys, members.length - 1) : 0),
      `copies of ${t.id}`,
    );
  }
  return a;
}

Deno.test("assignTasks: never a standby with its active, balanced, every stateful task's copies", () => {
  const rnd = prng(3);
  for (let run = 0; run < 300; run++) {
    const n = 1 + Math.floor(rnd() * 5);
    const members: TaskMember[] = Array.from({ length: n }, (_, i) => ({
      id: `m${i}`,
      active: [],
      sums: {},
    }));
    const tasks = [
      ...tasksOf(1 + Math.floor(rnd() * 2), 1 + Math.floor(rnd() * 6)),
      ...tasksOf(1, 1 + Math.floor(rnd() * 3), false).map((t) => ({
        ...t,
        id: `9_${t.id.split("_")[1]}`,
      })),
    ];
    // Random previous owners and copies.
    for (const t of tasks) {
      if (rnd() < 0.5) members[Math.floor(rnd() * n)].active.push(t.id);
      for (const m of members) if (rnd() < 0.3) m.sums[t.id] = Math.floor(rnd() * 100);
    }
    check(members, tasks, Math.floor(rnd() * 4));
  }
});

Deno.test("assignTasks: three members, one task and one standby each, whatever the copies", () => {
  // The greedy pass alone gave m0 two standbys and m1 none here.
  check(
    [
      { id: "m0", active: ["0_0"], sums: { "0_0": 50, "0_1": 20, "0_2": 20 } },
      { id: "m1", active: ["0_2"], sums: { "0_2": 50 } },
      { id: "m2", active: ["0_1"], sums: { "0_1": 50, "0_0": 10 } },
    ],
    tasksOf(1, 3),
    1,
  );
  const rnd = prng(11);
  for (let run = 0; run < 200; run++) {
    const members: TaskMember[] = ["m0", "m1", "m2", "m3"].slice(0, 2 + (run % 3)).map((
      id,
    ) => ({ id, active: [], sums: {} }));
    const tasks = tasksOf(1, members.length);
    for (const t of tasks) {
      members[Math.floor(rnd() * members.length)].active.push(t.id);
      for (const m of members) if (rnd() < 0.5) m.sums[t.id] = Math.floor(rnd() * 100);
    }
    check(members, tasks, 1);
  }
});

Deno.test("assignTasks: a dead active's task goes to the member with the furthest copy", () => {
  // m1 ran 0_0 and 0_1; m2 held a standby of 0_0 at 90, m3 one at 40. m1 is gone.
  const a = check(
    [
      { id: "m2", active: ["0_2"], sums: { "0_0": 90, "0_2": 10 } },
      { id: "m3", active: ["0_3"], sums: { "0_0": 40, "0_1": 70, "0_3": 5 } },
    ],
    tasksOf(1, 4),
    1,
  );
  assertEquals(a.active.get("m2"), ["0_0", "0_2"]);
  assertEquals(a.active.get("m3"), ["0_1", "0_3"]);
  assertEquals(a.standby.get("m2"), ["0_1", "0_3"]);
  assertEquals(a.standby.get("m3"), ["0_0", "0_2"]);
  // Sticky: the same members, same actives.
  const again = check(
    [
      { id: "m2", active: ["0_0", "0_2"], sums: { "0_0": 90, "0_2": 10 } },
      { id: "m3", active: ["0_1", "0_3"], sums: { "0_0": 40, "0_1": 70, "0_3": 5 } },
    ],
    tasksOf(1, 4),
    1,
  );
  assertEquals(again.active, a.active);
});

Deno.test("StreamsAssignor: partitions of a task together, user data both ways, hosts", () => {
  const assignor = new StreamsAssignor(
    [{ id: 0, topics: ["a", "b"], stateful: true }, { id: 1, topics: ["c"], stateful: false }],
    2,
    () => ({ v: 1, host: "h0:1", active: [], sums: {} }),
  );
  const info = (host: string) => encodeSubscriptionInfo({ v: 1, host, active: [], sums: {} });
  const members = ["x", "y", "z"].map((m, i) => ({
    memberId: m,
    topics: ["a", "b", "c"],
    userData: info(`h${i}:${9000 + i}`),
  }));
  const out = assignor.assignWithUserData(members, new Map([["a", 3], ["b", 3], ["c", 2]]));
  const all = new Map<string, string[]>();
  for (const m of members) {
    const got = out.get(m.memberId)!;
    const data = decodeAssignmentInfo(got.userData)!;
    for (const t of data.active) {
      const p = Number(t.split("_")[1]);
      const topics = t.startsWith("0_") ? ["a", "b"] : ["c"];
      for (const topic of topics) {
        assert(got.partitions.find((x) => x.topic === topic)?.partitions.includes(p));
      }
    }
    assert(data.standby.every((t) => !data.active.includes(t)));
    assertEquals(data.tasks, { 0: 3, 1: 2 });
    all.set(m.memberId, [...data.active, ...data.standby]);
    assertEquals(Object.keys(data.hosts).sort(), ["h0:9000", "h1:9001", "h2:9002"]);
  }
  // Three copies of each stateful task (one active, two standbys) on three members; one of
  // each stateless task.
  for (const t of ["0_0", "0_1", "0_2"]) {
    assertEquals([...all.values()].filter((l) => l.includes(t)).length, 3);
  }
  for (const t of ["1_0", "1_1"]) {
    assertEquals([...all.values()].filter((l) => l.includes(t)).length, 1);
  }
  assertEquals(decodeSubscriptionInfo(assignor.subscriptionUserData()), {
    v: 1,
    host: "h0:1",
    active: [],
    sums: {},
  });
});
