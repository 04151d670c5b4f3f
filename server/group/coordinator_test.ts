// Copyright 2026 the Sluice authors. Apache-2.0 license.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { ErrorCode } from "../../protocol/errors.ts";
import { Writer } from "../../protocol/primitives.ts";
import {
  type CoordinatorLog,
  GroupCoordinator,
  type GroupCoordinatorConfig,
  type JoinGroupParams,
} from "./coordinator.ts";
import type { GroupProtocol, JoinGroupResult, SyncGroupResult } from "./group.ts";
import { ManualScheduler } from "./scheduler.ts";
import type { CoordinatorRecord } from "./schemas.ts";

const b = (...xs: number[]) => new Uint8Array(xs);

function subscription(...topics: string[]): Uint8Array {
  const w = new Writer();
  w.writeInt16(0);
  w.writeArrayLength(topics.length);
  for (const t of topics) w.writeString(t);
  w.writeNullableBytes(null);
  return w.finish();
}

function setup(config: Partial<GroupCoordinatorConfig> = {}) {
  const clock = new ManualScheduler(1_000_000);
  let n = 0;
  const records: CoordinatorRecord[] = [];
  // the records' offsets in the log, as a partition numbers them
  let position = 0;
  const at = (count: number) => {
    position += count;
    return Promise.resolve(position - count);
  };
  const log: CoordinatorLog = {
    append(_groupId, recs) {
      records.push(...recs);
      return at(recs.length);
    },
    appendTransactional: (_groupId, recs) => at(recs.length),
  };
  const c = new GroupCoordinator({
    config: { initialRebalanceDelayMs: 0, ...config },
    scheduler: clock,
    log,
    newMemberId: (clientId) => `${clientId}-${++n}`,
  });
  return { clock, c, records };
}

function req(over: Partial<JoinGroupParams> = {}): JoinGroupParams {
  return {
    groupId: "g",
    memberId: "",
    groupInstanceId: null,
    requireKnownMemberId: false,
    clientId: "c",
    clientHost: "/127.0.0.1",
    rebalanceTimeoutMs: 10000,
    sessionTimeoutMs: 10000,
    protocolType: "consumer",
    protocols: [{ name: "range", metadata: b(1) }],
    ...over,
  };
}

interface Tracked<T> {
  done: boolean;
  value?: T;
}

function track<T>(p: Promise<T>): Tracked<T> {
  const t: Tracked<T> = { done: false };
  p.then((v) => {
    t.done = true;
    t.value = v;
  });
  return t;
}

const flush = () => new Promise((r) => setTimeout(r, 0));

/** Join one new member (v3 style, no MEMBER_ID_REQUIRED) and return its pending result. */
function join(c: GroupCoordinator, over: Partial<JoinGroupParams> = {}): Tracked<JoinGroupResult> {
  return track(c.joinGroup(req(over)));
}

async function settle<T>(clock: ManualScheduler, t: Tracked<T>, ms = 0): Promise<T> {
  clock.advance(ms);
  await flush();
  assert(t.done, "call should have completed");
  return t.value!;
}

/** Two members a (leader) and b in a Stable group at generation 1; returns their ids. */
async function stableTwo(c: GroupCoordinator, clock: ManualScheduler) {
  const ja = join(c, { clientId: "a" });
  const jb = join(c, { clientId: "b" });
  const ra = await settle(clock, ja);
  const rb = await settle(clock, jb);
  const sa = c.syncGroup({
    groupId: "g",
    generationId: 1,
    memberId: ra.memberId,
    groupInstanceId: null,
    assignments: [{ memberId: ra.memberId, assignment: b(0xa) }, {
      memberId: rb.memberId,
      assignment: b(0xb),
    }],
  });
  const sb = c.syncGroup({
    groupId: "g",
    generationId: 1,
    memberId: rb.memberId,
    groupInstanceId: null,
    assignments: [],
  });
  assertEquals((await sa).assignment, b(0xa));
  assertEquals((await sb).assignment, b(0xb));
  return { a: ra.memberId, b: rb.memberId };
}

Deno.test("JoinGroup v4: MEMBER_ID_REQUIRED, then the member joins and leads generation 1", async () => {
  const { c, clock } = setup();
  const first = await c.joinGroup(req({ requireKnownMemberId: true, clientId: "cli" }));
  assertEquals(first.errorCode, ErrorCode.MEMBER_ID_REQUIRED);
  assertEquals(first.memberId, "cli-1");
  assertEquals(c.group("g")!.state, "Empty");
  const second = join(c, { requireKnownMemberId: true, memberId: "cli-1", clientId: "cli" });
  assertEquals(c.group("g")!.state, "PreparingRebalance");
  const r = await settle(clock, second);
  assertEquals(r, {
    errorCode: 0,
    generationId: 1,
    protocolType: "consumer",
    protocolName: "range",
    leader: "cli-1",
    skipAssignment: false,
    memberId: "cli-1",
    members: [{ memberId: "cli-1", groupInstanceId: null, metadata: b(1) }],
  });
  assertEquals(c.group("g")!.state, "CompletingRebalance");
  const s = await c.syncGroup({
    groupId: "g",
    generationId: 1,
    memberId: "cli-1",
    groupInstanceId: null,
    protocolType: "consumer",
    protocolName: "range",
    assignments: [{ memberId: "cli-1", assignment: b(7, 7) }],
  });
  assertEquals(s, {
    errorCode: 0,
    protocolType: "consumer",
    protocolName: "range",
    assignment: b(7, 7),
  });
  assertEquals(c.group("g")!.state, "Stable");
  c.close();
});

Deno.test("JoinGroup: an unknown member id for a pending-less group is UNKNOWN_MEMBER_ID", async () => {
  const { c } = setup();
  assertEquals((await c.joinGroup(req({ memberId: "nope" }))).errorCode, 25);
  assertEquals(c.group("g"), undefined);
  assertEquals((await c.joinGroup(req({ groupId: "" }))).errorCode, ErrorCode.INVALID_GROUP_ID);
  assertEquals(
    (await c.joinGroup(req({ sessionTimeoutMs: 5999 }))).errorCode,
    ErrorCode.INVALID_SESSION_TIMEOUT,
  );
  assertEquals(
    (await c.joinGroup(req({ sessionTimeoutMs: 1800001 }))).errorCode,
    ErrorCode.INVALID_SESSION_TIMEOUT,
  );
  c.close();
});

Deno.test("JoinGroup: protocol selection by members' vote; leader alone gets metadata", async () => {
  const { c, clock } = setup();
  const p = (...names: string[]): GroupProtocol[] =>
    names.map((name, i) => ({ name, metadata: b(name.length, i) }));
  const ja = join(c, { clientId: "a", protocols: p("range", "roundrobin", "sticky") });
  const jb = join(c, { clientId: "b", protocols: p("roundrobin", "range") });
  const jc = join(c, { clientId: "c", protocols: p("roundrobin", "range", "x") });
  const [ra, rb, rc] = [await settle(clock, ja), await settle(clock, jb), await settle(clock, jc)];
  for (const r of [ra, rb, rc]) {
    assertEquals(r.errorCode, 0);
    assertEquals(r.generationId, 1);
    assertEquals(r.protocolName, "roundrobin");
    assertEquals(r.leader, "a-1");
  }
  assertEquals(ra.members, [
    { memberId: "a-1", groupInstanceId: null, metadata: b(10, 1) },
    { memberId: "b-2", groupInstanceId: null, metadata: b(10, 0) },
    { memberId: "c-3", groupInstanceId: null, metadata: b(10, 0) },
  ]);
  assertEquals(rb.members, []);
  assertEquals(rc.members, []);
  c.close();
});

Deno.test("JoinGroup: ties in the vote go to the first member's preference", async () => {
  const { c, clock } = setup();
  const ja = join(c, {
    clientId: "a",
    protocols: [{ name: "x", metadata: b() }, { name: "y", metadata: b() }],
  });
  const jb = join(c, {
    clientId: "b",
    protocols: [{ name: "y", metadata: b() }, { name: "x", metadata: b() }],
  });
  assertEquals((await settle(clock, ja)).protocolName, "x");
  assertEquals((await settle(clock, jb)).protocolName, "x");
  c.close();
});

Deno.test("JoinGroup: INCONSISTENT_GROUP_PROTOCOL for another type or no common protocol", async () => {
  const { c, clock } = setup();
  const ja = join(c, { clientId: "a" });
  await settle(clock, ja);
  const other = await c.joinGroup(req({ protocolType: "connect" }));
  assertEquals(other.errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
  const none = await c.joinGroup(req({ protocols: [{ name: "roundrobin", metadata: b() }] }));
  assertEquals(none.errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
  const empty = await c.joinGroup(req({ groupId: "h", protocols: [] }));
  assertEquals(empty.errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
  assertEquals(c.group("g")!.members.size, 1);
  c.close();
});

Deno.test("SyncGroup: follower waits for the leader; errors as Kafka", async () => {
  const { c, clock } = setup();
  const ja = join(c, { clientId: "a" });
  const jb = join(c, { clientId: "b" });
  const ra = await settle(clock, ja);
  const rb = await settle(clock, jb);
  const base = { groupId: "g", groupInstanceId: null, assignments: [] };
  // Follower first: it waits.
  const sb = track(c.syncGroup({ ...base, generationId: 1, memberId: rb.memberId }));
  await flush();
  assertEquals(sb.done, false);
  assertEquals(
    (await c.syncGroup({ ...base, generationId: 2, memberId: rb.memberId })).errorCode,
    ErrorCode.ILLEGAL_GENERATION,
  );
  assertEquals(
    (await c.syncGroup({ ...base, generationId: 1, memberId: "zz" })).errorCode,
    ErrorCode.UNKNOWN_MEMBER_ID,
  );
  assertEquals(
    (await c.syncGroup({ ...base, groupId: "nope", generationId: 1, memberId: "zz" })).errorCode,
    ErrorCode.UNKNOWN_MEMBER_ID,
  );
  assertEquals(
    (await c.syncGroup({ ...base, generationId: 1, memberId: rb.memberId, protocolName: "rr" }))
      .errorCode,
    ErrorCode.INCONSISTENT_GROUP_PROTOCOL,
  );
  // The inconsistent call above replaced nothing: b still waits.
  const sa = await c.syncGroup({
    ...base,
    generationId: 1,
    memberId: ra.memberId,
    assignments: [{ memberId: rb.memberId, assignment: b(2) }],
  });
  assertEquals(sa.assignment, b()); // the leader assigned itself nothing
  await flush();
  assertEquals(sb.value, {
    errorCode: 0,
    protocolType: "consumer",
    protocolName: "range",
    assignment: b(2),
  });
  // Stable: a late SyncGroup returns the stored assignment at once.
  assertEquals(
    (await c.syncGroup({ ...base, generationId: 1, memberId: rb.memberId })).assignment,
    b(2),
  );
  c.close();
});

Deno.test("a new member triggers a rebalance; the join completes when all members rejoined", async () => {
  const { c, clock } = setup();
  const { a, b: bId } = await stableTwo(c, clock);
  const jn = join(c, { clientId: "n" });
  assertEquals(c.group("g")!.state, "PreparingRebalance");
  assertEquals(
    c.heartbeat({ groupId: "g", generationId: 1, memberId: a, groupInstanceId: null }),
    27,
  );
  assertEquals(
    c.heartbeat({ groupId: "g", generationId: 0, memberId: a, groupInstanceId: null }),
    22,
  );
  // SyncGroup while preparing: REBALANCE_IN_PROGRESS.
  assertEquals(
    (await c.syncGroup({
      groupId: "g",
      generationId: 1,
      memberId: a,
      groupInstanceId: null,
      assignments: [],
    }))
      .errorCode,
    ErrorCode.REBALANCE_IN_PROGRESS,
  );
  const ra = join(c, { clientId: "a", memberId: a });
  await flush();
  assertEquals(jn.done || ra.done, false);
  const rb = join(c, { clientId: "b", memberId: bId });
  await flush();
  assert(jn.done && ra.done && rb.done);
  assertEquals(jn.value!.generationId, 2);
  assertEquals(ra.value!.leader, a);
  assertEquals(ra.value!.members.map((m) => m.memberId), [a, bId, "n-3"]);
  assertEquals(rb.value!.members, []);
  c.close();
});

Deno.test("rebalance timeout: members that do not rejoin are removed", async () => {
  const { c, clock } = setup();
  const { a, b: bId } = await stableTwo(c, clock);
  const ra = join(c, { clientId: "a", memberId: a, rebalanceTimeoutMs: 5000 });
  assertEquals(c.group("g")!.state, "PreparingRebalance");
  clock.advance(4999); // b keeps heartbeating but never rejoins
  assertEquals(
    c.heartbeat({ groupId: "g", generationId: 1, memberId: bId, groupInstanceId: null }),
    27,
  );
  await flush();
  assertEquals(ra.done, false);
  // The rebalance timeout is the largest of the members' (b joined with 10000).
  const r = await settle(clock, ra, 5001);
  assertEquals(r.generationId, 2);
  assertEquals(r.members.map((m) => m.memberId), [a]);
  assertEquals([...c.group("g")!.members.keys()], [a]);
  assertEquals(
    c.heartbeat({ groupId: "g", generationId: 2, memberId: bId, groupInstanceId: null }),
    25,
  );
  c.close();
});

Deno.test("session timeout: a silent member is evicted and the group rebalances", async () => {
  const { c, clock } = setup();
  const { a, b: bId } = await stableTwo(c, clock);
  for (let t = 0; t < 2; t++) {
    clock.advance(4000);
    assertEquals(
      c.heartbeat({ groupId: "g", generationId: 1, memberId: a, groupInstanceId: null }),
      0,
    );
  }
  assertEquals(c.group("g")!.members.size, 2);
  clock.advance(1999);
  assertEquals(c.group("g")!.members.size, 2);
  clock.advance(1);
  // b last showed life at the sync, 10000 ms (its session timeout) ago: evicted.
  assertEquals([...c.group("g")!.members.keys()], [a]);
  assertEquals(c.group("g")!.state, "PreparingRebalance");
  assertEquals(
    c.heartbeat({ groupId: "g", generationId: 1, memberId: a, groupInstanceId: null }),
    27,
  );
  const r = await settle(clock, join(c, { clientId: "a", memberId: a }));
  assertEquals(r.generationId, 2);
  assertEquals(r.members.map((m) => m.memberId), [a]);
  assertEquals(
    c.heartbeat({ groupId: "g", generationId: 1, memberId: bId, groupInstanceId: null }),
    25,
  );
  c.close();
});

Deno.test("pending sync: a member that never syncs is removed after the rebalance timeout", async () => {
  const { c, clock } = setup();
  const ja = join(c, { clientId: "a" });
  const jb = join(c, { clientId: "b" });
  const ra = await settle(clock, ja);
  const rb = await settle(clock, jb);
  await c.syncGroup({
    groupId: "g",
    generationId: 1,
    memberId: ra.memberId,
    groupInstanceId: null,
    assignments: [],
  });
  clock.advance(5000);
  c.heartbeat({ groupId: "g", generationId: 1, memberId: ra.memberId, groupInstanceId: null });
  c.heartbeat({ groupId: "g", generationId: 1, memberId: rb.memberId, groupInstanceId: null });
  clock.advance(4999);
  assertEquals(c.group("g")!.members.size, 2);
  clock.advance(1); // rebalance timeout since the join completed: b never synced
  assertEquals([...c.group("g")!.members.keys()], [ra.memberId]);
  assertEquals(c.group("g")!.state, "PreparingRebalance");
  c.close();
});

Deno.test("LeaveGroup: batched members, static by instance id, unknown members", async () => {
  const { c, clock } = setup();
  const js = join(c, { clientId: "s", groupInstanceId: "inst" });
  const jd = join(c, { clientId: "d" });
  const rs = await settle(clock, js);
  const rd = await settle(clock, jd);
  const res = c.leaveGroup("g", [
    { memberId: "", groupInstanceId: "inst" },
    { memberId: rd.memberId, groupInstanceId: null },
    { memberId: "ghost", groupInstanceId: null },
    { memberId: "x", groupInstanceId: "other" },
  ]);
  assertEquals(res, {
    errorCode: 0,
    members: [
      { memberId: "", groupInstanceId: "inst", errorCode: 0 },
      { memberId: rd.memberId, groupInstanceId: null, errorCode: 0 },
      { memberId: "ghost", groupInstanceId: null, errorCode: 25 },
      { memberId: "x", groupInstanceId: "other", errorCode: 25 },
    ],
  });
  assertEquals(rs.generationId, 1);
  const g = c.group("g")!;
  assertEquals(g.state, "Empty");
  assertEquals(g.generationId, 2);
  assertEquals(
    c.leaveGroup("nope", [{ memberId: "m", groupInstanceId: null }]).members[0].errorCode,
    25,
  );
  c.close();
});

Deno.test("LeaveGroup: a static member with a stale member id is FENCED_INSTANCE_ID", async () => {
  const { c, clock } = setup();
  await settle(clock, join(c, { clientId: "s", groupInstanceId: "inst" }));
  const res = c.leaveGroup("g", [{ memberId: "old", groupInstanceId: "inst" }]);
  assertEquals(res.members[0].errorCode, ErrorCode.FENCED_INSTANCE_ID);
  assertEquals(c.group("g")!.members.size, 1);
  c.close();
});

Deno.test("initial rebalance delay: joins are batched while new members keep arriving", async () => {
  const { c, clock } = setup({ initialRebalanceDelayMs: 3000 });
  const ja = join(c, { clientId: "a" });
  clock.advance(1000);
  const jb = join(c, { clientId: "b" });
  clock.advance(1999);
  await flush();
  assertEquals(ja.done, false);
  clock.advance(1); // t=3000: b arrived during the delay, so wait another 3000
  await flush();
  assertEquals(ja.done, false);
  clock.advance(2999);
  await flush();
  assertEquals(ja.done, false);
  const ra = await settle(clock, ja, 1); // t=6000
  const rb = await settle(clock, jb);
  assertEquals([ra.generationId, rb.generationId], [1, 1]);
  assertEquals(ra.members.length, 2);
  c.close();
});

Deno.test("initial rebalance delay is capped by the rebalance timeout", async () => {
  const { c, clock } = setup({ initialRebalanceDelayMs: 3000 });
  const ja = join(c, { clientId: "a", rebalanceTimeoutMs: 4000 });
  clock.advance(2000);
  join(c, { clientId: "b", rebalanceTimeoutMs: 4000 });
  clock.advance(1000); // t=3000; remaining 1000
  await flush();
  assertEquals(ja.done, false);
  assertEquals((await settle(clock, ja, 1000)).generationId, 1);
  c.close();
});

Deno.test("static membership: rejoin with the same instance id replaces the member without a rebalance", async () => {
  const { c, clock } = setup();
  const js = join(c, { clientId: "s", groupInstanceId: "inst" });
  const jd = join(c, { clientId: "d" });
  const rs = await settle(clock, js);
  const rd = await settle(clock, jd);
  assertEquals(rs.leader, "s-1");
  await c.syncGroup({
    groupId: "g",
    generationId: 1,
    memberId: "s-1",
    groupInstanceId: "inst",
    assignments: [{ memberId: "s-1", assignment: b(1) }, {
      memberId: rd.memberId,
      assignment: b(2),
    }],
  });
  // The static leader restarts: same instance id, unknown member id, same metadata.
  const again = await c.joinGroup(req({ clientId: "s", groupInstanceId: "inst" }));
  assertEquals(again, {
    errorCode: 0,
    generationId: 1,
    protocolType: "consumer",
    protocolName: "range",
    leader: "s-3", // still the leader, but told to skip the assignment (KIP-814)
    skipAssignment: true,
    memberId: "s-3",
    members: [
      { memberId: "s-3", groupInstanceId: "inst", metadata: b(1) },
      { memberId: rd.memberId, groupInstanceId: null, metadata: b(1) },
    ],
  });
  const g = c.group("g")!;
  assertEquals(g.state, "Stable");
  assertEquals(g.leaderId, "s-3");
  assertEquals([...g.members.keys()], ["s-3", rd.memberId]);
  // The new id syncs and gets the old assignment; the old id is fenced.
  const s = await c.syncGroup({
    groupId: "g",
    generationId: 1,
    memberId: "s-3",
    groupInstanceId: "inst",
    assignments: [],
  });
  assertEquals(s.assignment, b(1));
  assertEquals(
    c.heartbeat({ groupId: "g", generationId: 1, memberId: "s-1", groupInstanceId: "inst" }),
    82,
  );
  assertEquals(
    (await c.joinGroup(req({ memberId: "s-1", groupInstanceId: "inst" }))).errorCode,
    ErrorCode.FENCED_INSTANCE_ID,
  );
  assertEquals(
    c.heartbeat({ groupId: "g", generationId: 1, memberId: rd.memberId, groupInstanceId: null }),
    0,
  );
  c.close();
});

Deno.test("static membership: rejoin with a different protocol triggers a rebalance", async () => {
  const { c, clock } = setup();
  const ra = await settle(clock, join(c, { clientId: "s", groupInstanceId: "inst" }));
  await c.syncGroup({
    groupId: "g",
    generationId: 1,
    memberId: ra.memberId,
    groupInstanceId: "inst",
    assignments: [],
  });
  const protocols = [{ name: "rr", metadata: b() }, { name: "range", metadata: b(1) }];
  const j = join(c, { clientId: "s", groupInstanceId: "inst", protocols });
  // The only member rejoined, so the rebalance completes at once with the new protocol.
  assertEquals(c.group("g")!.state, "CompletingRebalance");
  const r = await settle(clock, j);
  assertEquals([r.generationId, r.protocolName, r.memberId, r.leader], [2, "rr", "s-2", "s-2"]);
  c.close();
});

Deno.test("static membership: a silent static member stays through a rebalance until its session expires", async () => {
  const { c, clock } = setup();
  const js = join(c, { clientId: "s", groupInstanceId: "inst", sessionTimeoutMs: 30000 });
  const jd = join(c, { clientId: "d" });
  const rs = await settle(clock, js);
  const rd = await settle(clock, jd);
  const sync = (memberId: string, inst: string | null) =>
    c.syncGroup({
      groupId: "g",
      generationId: 1,
      memberId,
      groupInstanceId: inst,
      assignments: [],
    });
  await sync(rs.memberId, "inst");
  await sync(rd.memberId, null);
  // d's metadata changes: rebalance; s (static) never rejoins.
  const j = join(c, {
    clientId: "d",
    memberId: rd.memberId,
    protocols: [{ name: "range", metadata: b(9) }],
  });
  const r = await settle(clock, j, 10000);
  assertEquals(r.generationId, 2);
  assertEquals(r.leader, rd.memberId); // the silent leader lost leadership to a joined member
  assertEquals(r.members.map((m) => m.memberId), [rs.memberId, rd.memberId]);
  c.close();
});

Deno.test("cooperative rejoin while Stable: unchanged follower gets the generation, changed metadata rebalances", async () => {
  const { c, clock } = setup();
  const { a, b: bId } = await stableTwo(c, clock);
  const same = await c.joinGroup(req({ clientId: "b", memberId: bId }));
  assertEquals([same.errorCode, same.generationId, same.leader, same.members], [0, 1, a, []]);
  assertEquals(c.group("g")!.state, "Stable");
  const changed = join(c, {
    clientId: "b",
    memberId: bId,
    protocols: [{ name: "range", metadata: b(2) }],
  });
  assertEquals(c.group("g")!.state, "PreparingRebalance");
  const ra = join(c, { clientId: "a", memberId: a });
  const r = await settle(clock, changed);
  assertEquals(r.generationId, 2);
  assertEquals((await settle(clock, ra)).members.map((m) => m.metadata), [b(1), b(2)]);
  c.close();
});

Deno.test("group.max.size: a new member beyond the limit is refused", async () => {
  const { c, clock } = setup({ maxGroupSize: 1 });
  await settle(clock, join(c, { clientId: "a" }));
  assertEquals(
    (await c.joinGroup(req({ clientId: "b" }))).errorCode,
    ErrorCode.GROUP_MAX_SIZE_REACHED,
  );
  c.close();
});

Deno.test("close and abort answer pending joins with NOT_COORDINATOR", async () => {
  const { c } = setup({ initialRebalanceDelayMs: 3000 });
  const ac = new AbortController();
  const aborted = track(c.joinGroup(req({ clientId: "x" }), ac.signal));
  const pending = track(c.joinGroup(req({ clientId: "y" })));
  ac.abort();
  await flush();
  assertEquals(aborted.value?.errorCode, ErrorCode.NOT_COORDINATOR);
  assertEquals(pending.done, false);
  c.close();
  await flush();
  assertEquals(pending.value?.errorCode, ErrorCode.NOT_COORDINATOR);
  assertEquals(
    c.heartbeat({ groupId: "g", generationId: 0, memberId: "y-2", groupInstanceId: null }),
    16,
  );
});

Deno.test("OffsetCommit/OffsetFetch: simple commits, member commits and their errors", async () => {
  const { c, clock, records } = setup();
  const commit = (over: Partial<Parameters<GroupCoordinator["commitOffsets"]>[0]>) =>
    c.commitOffsets({
      groupId: "g",
      generationId: -1,
      memberId: "",
      groupInstanceId: null,
      topics: [{
        topic: "t",
        partitions: [{ partition: 0, offset: 42, leaderEpoch: 3, metadata: "m" }],
      }],
      ...over,
    });
  assertEquals(await commit({}), [{ topic: "t", partitions: [{ partition: 0, errorCode: 0 }] }]);
  assertEquals(c.group("g")!.state, "Empty");
  assertEquals(records.length, 1);
  assertEquals(records[0], {
    kind: "offset",
    groupId: "g",
    topic: "t",
    partition: 0,
    value: {
      offset: 42,
      leaderEpoch: 3,
      metadata: "m",
      commitTimestamp: 1_000_000,
      expireTimestamp: -1,
    },
  });
  assertEquals(
    (await commit({ groupId: "h", generationId: 1 }))[0].partitions[0].errorCode,
    ErrorCode.ILLEGAL_GENERATION,
  );
  assertEquals(
    (await commit({
      topics: [{
        topic: "t",
        partitions: [{ partition: 1, offset: 1, leaderEpoch: -1, metadata: "x".repeat(4097) }],
      }],
    }))[0]
      .partitions[0].errorCode,
    ErrorCode.OFFSET_METADATA_TOO_LARGE,
  );
  // Group with members: admin commits are refused, member commits checked.
  const ja = join(c, { clientId: "a" });
  const ra = await settle(clock, ja);
  assertEquals((await commit({}))[0].partitions[0].errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
  assertEquals(
    (await commit({ generationId: 1, memberId: ra.memberId }))[0].partitions[0].errorCode,
    ErrorCode.REBALANCE_IN_PROGRESS,
  );
  await c.syncGroup({
    groupId: "g",
    generationId: 1,
    memberId: ra.memberId,
    groupInstanceId: null,
    assignments: [],
  });
  assertEquals(
    (await commit({ generationId: 2, memberId: ra.memberId }))[0].partitions[0].errorCode,
    ErrorCode.ILLEGAL_GENERATION,
  );
  const ok = await commit({
    generationId: 1,
    memberId: ra.memberId,
    topics: [
      { topic: "t", partitions: [{ partition: 0, offset: 50, leaderEpoch: -1, metadata: null }] },
      { topic: "u", partitions: [{ partition: 2, offset: 7, leaderEpoch: -1, metadata: "" }] },
    ],
  });
  assertEquals(ok.map((t) => t.partitions[0].errorCode), [0, 0]);
  assertEquals(
    c.fetchOffsets("g", [{ topic: "t", partitions: [0, 1] }, { topic: "v", partitions: [0] }]),
    {
      errorCode: 0,
      topics: [
        {
          topic: "t",
          partitions: [
            { partition: 0, offset: 50, leaderEpoch: -1, metadata: "", errorCode: 0 },
            { partition: 1, offset: -1, leaderEpoch: -1, metadata: "", errorCode: 0 },
          ],
        },
        {
          topic: "v",
          partitions: [{ partition: 0, offset: -1, leaderEpoch: -1, metadata: "", errorCode: 0 }],
        },
      ],
    },
  );
  assertEquals(
    c.fetchOffsets("g", null).topics.map((t) => [t.topic, t.partitions.map((p) => p.offset)]),
    [
      ["t", [50]],
      ["u", [7]],
    ],
  );
  assertEquals(c.fetchOffsets("unknown", null), { errorCode: 0, topics: [] });
  c.close();
});

Deno.test("DescribeGroups and ListGroups report states, members and assignments", async () => {
  const { c, clock } = setup();
  const { a, b: bId } = await stableTwo(c, clock);
  await c.commitOffsets({
    groupId: "simple",
    generationId: -1,
    memberId: "",
    groupInstanceId: null,
    topics: [{
      topic: "t",
      partitions: [{ partition: 0, offset: 1, leaderEpoch: -1, metadata: "" }],
    }],
  });
  const d = c.describeGroup("g");
  assertEquals([d.groupState, d.protocolType, d.protocolData], ["Stable", "consumer", "range"]);
  assertEquals(
    d.members.map((
      m,
    ) => [m.memberId, m.clientId, m.clientHost, m.memberMetadata, m.memberAssignment]),
    [
      [a, "a", "/127.0.0.1", b(1), b(0xa)],
      [bId, "b", "/127.0.0.1", b(1), b(0xb)],
    ],
  );
  assertEquals(c.describeGroup("none"), {
    errorCode: 0,
    groupId: "none",
    groupState: "Dead",
    protocolType: "",
    protocolData: "",
    members: [],
  });
  assertEquals(c.listGroups(), [
    { groupId: "g", protocolType: "consumer", groupState: "Stable", groupType: "classic" },
    { groupId: "simple", protocolType: "", groupState: "Empty", groupType: "classic" },
  ]);
  assertEquals(c.listGroups(["empty"]).map((g) => g.groupId), ["simple"]);
  assertEquals(c.listGroups(["Stable", "Dead"]).map((g) => g.groupId), ["g"]);
  join(c, { clientId: "n" });
  const p = c.describeGroup("g");
  assertEquals([p.groupState, p.protocolData, p.members.length, p.members[0].memberAssignment], [
    "PreparingRebalance",
    "",
    3,
    b(),
  ]);
  c.close();
});

Deno.test("DeleteGroups: Empty groups are deleted with tombstones; others refused", async () => {
  const { c, clock, records } = setup();
  await stableTwo(c, clock);
  await c.commitOffsets({
    groupId: "e",
    generationId: -1,
    memberId: "",
    groupInstanceId: null,
    topics: [{
      topic: "t",
      partitions: [{ partition: 3, offset: 1, leaderEpoch: -1, metadata: "" }],
    }],
  });
  records.length = 0;
  assertEquals(await c.deleteGroups(["g", "e", "missing", ""]), [
    { groupId: "g", errorCode: ErrorCode.NON_EMPTY_GROUP },
    { groupId: "e", errorCode: 0 },
    { groupId: "missing", errorCode: ErrorCode.GROUP_ID_NOT_FOUND },
    { groupId: "", errorCode: ErrorCode.INVALID_GROUP_ID },
  ]);
  assertEquals(records, [
    { kind: "offset", groupId: "e", topic: "t", partition: 3, value: null },
    { kind: "group", groupId: "e", value: null },
  ]);
  assertEquals(c.group("e"), undefined);
  assertEquals(
    c.fetchOffsets("e", [{ topic: "t", partitions: [3] }]).topics[0].partitions[0].offset,
    -1,
  );
  c.close();
});

Deno.test("OffsetDelete: GROUP_SUBSCRIBED_TO_TOPIC for subscribed topics; others deleted", async () => {
  const { c, clock } = setup();
  const meta = subscription("orders", "audit");
  const ra = await settle(
    clock,
    join(c, { clientId: "a", protocols: [{ name: "range", metadata: meta }] }),
  );
  await c.syncGroup({
    groupId: "g",
    generationId: 1,
    memberId: ra.memberId,
    groupInstanceId: null,
    assignments: [],
  });
  await c.commitOffsets({
    groupId: "g",
    generationId: 1,
    memberId: ra.memberId,
    groupInstanceId: null,
    topics: [
      { topic: "orders", partitions: [{ partition: 0, offset: 5, leaderEpoch: -1, metadata: "" }] },
      { topic: "old", partitions: [{ partition: 0, offset: 6, leaderEpoch: -1, metadata: "" }] },
    ],
  });
  const res = await c.deleteOffsets("g", [{ topic: "orders", partition: 0 }, {
    topic: "old",
    partition: 0,
  }]);
  assertEquals(res, {
    errorCode: 0,
    partitions: [
      { topic: "orders", partition: 0, errorCode: ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC },
      { topic: "old", partition: 0, errorCode: 0 },
    ],
  });
  assertEquals(c.fetchOffsets("g", null).topics.map((t) => t.topic), ["orders"]);
  assertEquals((await c.deleteOffsets("zz", [])).errorCode, ErrorCode.GROUP_ID_NOT_FOUND);
  c.close();
});

Deno.test("offset expiry: offsets of an Empty group expire after the retention; the group goes", async () => {
  const { c, clock, records } = setup({
    offsetsRetentionMs: 60_000,
    offsetsRetentionCheckIntervalMs: 10_000,
  });
  const ra = await settle(clock, join(c, { clientId: "a" }));
  await c.syncGroup({
    groupId: "g",
    generationId: 1,
    memberId: ra.memberId,
    groupInstanceId: null,
    assignments: [],
  });
  await c.commitOffsets({
    groupId: "g",
    generationId: 1,
    memberId: ra.memberId,
    groupInstanceId: null,
    topics: [{
      topic: "t",
      partitions: [{ partition: 0, offset: 9, leaderEpoch: -1, metadata: "" }],
    }],
  });
  clock.advance(30_000); // Stable, and within the retention counted from the commit
  c.heartbeat({ groupId: "g", generationId: 1, memberId: ra.memberId, groupInstanceId: null });
  c.leaveGroup("g", [{ memberId: ra.memberId, groupInstanceId: null }]);
  assertEquals(c.group("g")!.state, "Empty");
  assertEquals(await c.expireOffsets(), 0);
  clock.advance(59_999);
  await flush();
  assertEquals(c.fetchOffsets("g", null).topics.length, 1);
  records.length = 0;
  clock.advance(10_001);
  await flush();
  assertEquals(c.group("g"), undefined);
  assertEquals(records, [
    { kind: "offset", groupId: "g", topic: "t", partition: 0, value: null },
    { kind: "group", groupId: "g", value: null },
  ]);
  c.close();
});

Deno.test("load: offsets and group metadata come back from records; tombstones apply", async () => {
  const first = setup();
  const { a, b: bId } = await stableTwo(first.c, first.clock);
  await first.c.commitOffsets({
    groupId: "g",
    generationId: 1,
    memberId: a,
    groupInstanceId: null,
    topics: [{
      topic: "t",
      partitions: [{ partition: 0, offset: 11, leaderEpoch: -1, metadata: "x" }, {
        partition: 1,
        offset: 12,
        leaderEpoch: -1,
        metadata: "",
      }],
    }],
  });
  await first.c.commitOffsets({
    groupId: "gone",
    generationId: -1,
    memberId: "",
    groupInstanceId: null,
    topics: [{
      topic: "t",
      partitions: [{ partition: 0, offset: 1, leaderEpoch: -1, metadata: "" }],
    }],
  });
  await first.c.deleteGroups(["gone"]);
  await first.c.deleteOffsets("g", [{ topic: "t", partition: 1 }]);
  first.c.close();
  const second = setup();
  second.c.load(first.records.map((r, i) => ({ ...r, recordOffset: i })));
  const g = second.c.group("g")!;
  assertEquals([g.state, g.generationId, g.protocolName, g.leaderId], ["Stable", 1, "range", a]);
  assertEquals([...g.members.keys()], [a, bId]);
  assertEquals(second.c.fetchOffsets("g", null).topics, [
    {
      topic: "t",
      partitions: [{ partition: 0, offset: 11, leaderEpoch: -1, metadata: "x", errorCode: 0 }],
    },
  ]);
  assertEquals(second.c.group("gone"), undefined);
  // Loaded members keep their generation and assignment...
  assertEquals(
    second.c.heartbeat({ groupId: "g", generationId: 1, memberId: a, groupInstanceId: null }),
    0,
  );
  assertEquals(
    (await second.c.syncGroup({
      groupId: "g",
      generationId: 1,
      memberId: bId,
      groupInstanceId: null,
      assignments: [],
    }))
      .assignment,
    b(0xb),
  );
  // ...and are evicted when they stop heartbeating.
  second.clock.advance(10_000);
  assertEquals(second.c.group("g")!.members.size, 0);
  second.c.close();
});

Deno.test("the last member leaving a Stable group bumps the generation and empties it", async () => {
  const { c, clock } = setup();
  const ra = await settle(clock, join(c, { clientId: "a" }));
  await c.syncGroup({
    groupId: "g",
    generationId: 1,
    memberId: ra.memberId,
    groupInstanceId: null,
    assignments: [],
  });
  c.leaveGroup("g", [{ memberId: ra.memberId, groupInstanceId: null }]);
  const g = c.group("g")!;
  assertEquals([g.state, g.generationId, g.protocolName, g.leaderId], ["Empty", 2, null, null]);
  c.close();
});

Deno.test("rebalance storm: 10 members joining and leaving end in one stable generation", async () => {
  const { c, clock } = setup();
  const results: Tracked<JoinGroupResult>[] = [];
  for (let i = 0; i < 10; i++) results.push(join(c, { clientId: `m${i}` }));
  // Five leave before the join completes (their joins are answered UNKNOWN_MEMBER_ID).
  clock.advance(0);
  await flush();
  const ids = results.map((r) => r.value!.memberId);
  assertEquals(results.every((r) => r.value!.generationId === 1), true);
  c.leaveGroup("g", ids.slice(5).map((memberId) => ({ memberId, groupInstanceId: null })));
  const rejoin = ids.slice(0, 5).map((memberId, i) => join(c, { clientId: `m${i}`, memberId }));
  await flush();
  const final = rejoin.map((r) => r.value!);
  assertEquals(final.map((r) => r.generationId), [2, 2, 2, 2, 2]);
  const leader = final.find((r) => r.memberId === r.leader)!;
  assertEquals(leader.members.map((m) => m.memberId), ids.slice(0, 5));
  const syncs: Promise<SyncGroupResult>[] = final.map((r) =>
    c.syncGroup({
      groupId: "g",
      generationId: 2,
      memberId: r.memberId,
      groupInstanceId: null,
      assignments: r.memberId === leader.memberId
        ? ids.slice(0, 5).map((memberId, i) => ({ memberId, assignment: b(i) }))
        : [],
    })
  );
  assertEquals((await Promise.all(syncs)).map((s) => s.assignment), [b(0), b(1), b(2), b(3), b(4)]);
  assertEquals(c.group("g")!.state, "Stable");
  c.close();
});

Deno.test("static membership: a rejoining static follower gets the generation, no members, no skip", async () => {
  const { c, clock } = setup();
  const jd = join(c, { clientId: "d" });
  const js = join(c, { clientId: "s", groupInstanceId: "inst" });
  const rd = await settle(clock, jd);
  const rs = await settle(clock, js);
  await c.syncGroup({
    groupId: "g",
    generationId: 1,
    memberId: rd.memberId,
    groupInstanceId: null,
    assignments: [{ memberId: rs.memberId, assignment: b(5) }],
  });
  const again = await c.joinGroup(req({ clientId: "s", groupInstanceId: "inst" }));
  assertEquals(
    [again.errorCode, again.generationId, again.leader, again.skipAssignment, again.members],
    [0, 1, rd.memberId, false, []],
  );
  assertEquals(c.group("g")!.state, "Stable");
  const s = await c.syncGroup({
    groupId: "g",
    generationId: 1,
    memberId: again.memberId,
    groupInstanceId: "inst",
    assignments: [],
  });
  assertEquals(s.assignment, b(5));
  c.close();
});
