import assert from "node:assert/strict";
import { startBroker, waitFor as waitForEvery } from "../tests/harness.ts";
import { Admin } from "./admin.ts";
import { Client } from "./client.ts";
import type { ConsumerRecord, LogTruncation } from "./consumer.ts";
import {
  GroupConsumer,
  type GroupConsumerOptions,
  type RebalanceListener,
} from "./group_consumer.ts";
import type { ConsumerGroupMetadata } from "./transaction_manager.ts";
import { LeaveGroupRequest, LeaveGroupResponse } from "../protocol/messages/leave_group.ts";
import { Producer } from "./producer.ts";
import { pollUntil } from "./testing.ts";

const td = new TextDecoder();

interface Cluster {
  port: number;
  client: Client;
  producer: Producer;
  /** A new client (closed at the end). */
  newClient(clientId: string): Client;
  /** A new group member with test-friendly timings (closed at the end). */
  member(groupId: string, options?: Partial<GroupConsumerOptions>): GroupConsumer;
  /** Produce `n` records `${prefix}-${i}` round-robin over `partitions` partitions. */
  produce(prefix: string, n: number, partitions?: number): Promise<void>;
}

async function withCluster(fn: (c: Cluster) => Promise<void>) {
  const broker = await startBroker({ offsetsTopicNumPartitions: 3 });
  const bootstrapServers = broker.bootstrap;
  const clients: Client[] = [];
  const members: GroupConsumer[] = [];
  const newClient = (clientId: string) => {
    const c = new Client({ bootstrapServers, clientId, retryBackoffMs: 20 });
    clients.push(c);
    return c;
  };
  const client = newClient("admin");
  const producer = new Producer(client);
  try {
    await new Admin(client).createTopics([{ name: "t", numPartitions: 4 }]);
    await fn({
      port: broker.port,
      client,
      producer,
      newClient,
      member(groupId, options = {}) {
        const m = new GroupConsumer(newClient(`member-${members.length + 1}`), {
          groupId,
          sessionTimeoutMs: 10_000,
          rebalanceTimeoutMs: 10_000,
          heartbeatIntervalMs: 100,
          autoOffsetReset: "earliest",
          maxWaitMs: 100,
          ...options,
        });
        m.subscribe(["t"]);
        members.push(m);
        return m;
      },
      async produce(prefix, n, partitions = 4) {
        await producer.send({
          topic: "t",
          messages: Array.from({ length: n }, (_, i) => ({
            value: `${prefix}-${i}`,
            partition: i % partitions,
          })),
        });
      },
    });
  } finally {
    for (const m of members) await m.close().catch(() => {});
    for (const c of clients) await c.close();
    await broker.close();
  }
}

/** Polls `member` in the background into `got` until stopped. */
function pollLoop(member: GroupConsumer, got: ConsumerRecord[]) {
  let stop = false;
  let error: unknown;
  const done = (async () => {
    while (!stop) {
      try {
        got.push(...await member.poll({ maxWaitMs: 100 }));
      } catch (e) {
        if (!String(e).includes("poll after close")) error = e;
        return;
      }
    }
  })();
  return {
    async stop() {
      stop = true;
      await done;
      if (error) throw error;
    },
    get error() {
      return error;
    },
  };
}

const waitFor = (what: string, cond: () => boolean, ms = 60_000) =>
  waitForEvery(what, cond, { timeoutMs: ms });

const partitionsOf = (m: GroupConsumer) => m.assignment().map((a) => a.partition).sort();
const valuesOf = (rs: ConsumerRecord[]) => rs.map((r) => td.decode(r.value!)).sort();
const expected = (prefix: string, n: number) =>
  Array.from({ length: n }, (_, i) => `${prefix}-${i}`).sort();

Deno.test("GroupConsumer: two members split 4 partitions, the survivor takes over on close", async () => {
  await withCluster(async (c) => {
    const a = c.member("g1");
    const b = c.member("g1");
    const gotA: ConsumerRecord[] = [];
    const gotB: ConsumerRecord[] = [];
    const loopA = pollLoop(a, gotA);
    const loopB = pollLoop(b, gotB);
    await waitFor(
      "a 2+2 split",
      () =>
        a.assignment().length === 2 && b.assignment().length === 2 && !loopA.error &&
        !loopB.error,
    );
    assert.equal(a.generationId, b.generationId);
    assert.deepEqual([...partitionsOf(a), ...partitionsOf(b)].sort(), [0, 1, 2, 3]);
    await c.produce("first", 40);
    await waitFor("40 records", () => gotA.length + gotB.length >= 40 || !!loopA.error);
    await loopB.stop();
    // Every record exactly once, each member only from its own partitions.
    assert.deepEqual(valuesOf([...gotA, ...gotB]), expected("first", 40));
    const pa = partitionsOf(a);
    const pb = partitionsOf(b);
    assert.ok(gotA.every((r) => pa.includes(r.partition)));
    assert.ok(gotB.every((r) => pb.includes(r.partition)));
    assert.equal(gotA.length, 20);
    assert.equal(gotB.length, 20);
    await b.close(); // commits, leaves
    await waitFor("a takes all partitions", () => partitionsOf(a).length === 4 || !!loopA.error);
    assert.deepEqual(partitionsOf(a), [0, 1, 2, 3]);
    await c.produce("second", 20);
    await waitFor("20 more", () => gotA.length >= 40 || !!loopA.error);
    await new Promise((r) => setTimeout(r, 300)); // any re-delivery would show up now
    await loopA.stop();
    assert.deepEqual(
      valuesOf(gotA.filter((r) => td.decode(r.value!).startsWith("second"))),
      expected("second", 20),
    );
    assert.equal(gotA.length, 40, "no record of b's partitions is delivered again");
  });
});

Deno.test("GroupConsumer: a second group gets every record too", async () => {
  await withCluster(async (c) => {
    await c.produce("r", 30);
    for (const group of ["ga", "gb"]) {
      const m = c.member(group);
      const got = await pollUntil(m, 30);
      assert.deepEqual(valuesOf(got), expected("r", 30));
      await m.close();
    }
  });
});

Deno.test("GroupConsumer: a new member resumes after the committed offset, no re-delivery", async () => {
  await withCluster(async (c) => {
    await c.produce("x", 8, 1); // partition 0: offsets 0-7
    const m1 = c.member("resume", { autoCommit: false });
    const got = await pollUntil(m1, 8);
    assert.equal(got.length, 8);
    await m1.commit([{ topic: "t", partition: 0, offset: 5 }]);
    await m1.close(); // autoCommit false: offset 5 stays
    const m2 = c.member("resume", { autoCommit: false });
    const again = await pollUntil(m2, 3);
    assert.deepEqual(again.map((r) => [r.partition, r.offset, td.decode(r.value!)]), [
      [0, 5, "x-5"],
      [0, 6, "x-6"],
      [0, 7, "x-7"],
    ]);
    // Commit current positions; a third member starts at the end and sees only new records.
    await m2.commit();
    await m2.close();
    await c.produce("y", 2, 1);
    const m3 = c.member("resume");
    const last = await pollUntil(m3, 2);
    assert.deepEqual(last.map((r) => [r.offset, td.decode(r.value!)]), [[8, "y-0"], [9, "y-1"]]);
  });
});

Deno.test("GroupConsumer: positions are committed with their leader epoch, and a committed offset past the leader's log for its epoch resumes at the divergence point", async () => {
  await withCluster(async (c) => {
    await c.produce("e", 3, 1); // partition 0: offsets 0-2, leader epoch 0
    const m1 = c.member("epochs", { autoCommit: false });
    const got = await pollUntil(m1, 3);
    assert.equal(got.length, 3);
    const at0 = () => m1.assignment().filter((p) => p.partition === 0);
    assert.deepEqual(at0(), [{ topic: "t", partition: 0, offset: 3, leaderEpoch: 0 }]);
    await m1.commit(); // committed_leader_epoch 0 with offset 3 (OffsetCommit v6+)
    assert.deepEqual(await m1.committed([{ topic: "t", partition: 0 }]), [
      { topic: "t", partition: 0, offset: 3, leaderEpoch: 0 },
    ]);
    // an offset committed in epoch 0 past where the leader's epoch 0 ends (as after an unclean
    // election): the next member resumes at the divergence point (3), not at 7, nor by
    // autoOffsetReset
    await m1.commit([{ topic: "t", partition: 0, offset: 7, leaderEpoch: 0 }]);
    await m1.close();
    const truncations: LogTruncation[] = [];
    const m2 = c.member("epochs", {
      autoCommit: false,
      autoOffsetReset: "latest",
      onTruncation: (t) => truncations.push(t),
    });
    const again = await pollUntil(m2, () => truncations.length > 0);
    assert.deepEqual(m2.assignment().filter((p) => p.partition === 0), [
      { topic: "t", partition: 0, offset: 3, leaderEpoch: 0 },
    ]);
    await c.produce("f", 1, 1); // offset 3
    again.push(...await pollUntil(m2, (more) => again.length + more.length >= 1));
    assert.deepEqual(again.map((r) => [r.partition, r.offset, td.decode(r.value!)]), [
      [0, 3, "f-0"],
    ]);
    assert.deepEqual(truncations, [{
      topic: "t",
      partition: 0,
      fetchOffset: 7,
      fetchEpoch: 0,
      divergentOffset: 3,
      divergentEpoch: 0,
      resetOffset: 3,
    }]);
  });
});

Deno.test("GroupConsumer: seek re-reads exactly the records after it", async () => {
  await withCluster(async (c) => {
    await c.produce("s", 6, 1);
    const m = c.member("seeker");
    const got = await pollUntil(m, 6);
    assert.equal(got.length, 6);
    await m.seek("t", 0, 3);
    const re = await pollUntil(m, 3);
    assert.deepEqual(re.map((r) => [r.offset, td.decode(r.value!)]), [
      [3, "s-3"],
      [4, "s-4"],
      [5, "s-5"],
    ]);
    await assert.rejects(m.seek("t", 7, 0), /seek: t-7 is not assigned/);
  });
});

Deno.test("GroupConsumer: bad options and misuse fail clearly", async () => {
  await withCluster(async (c) => {
    assert.throws(() => new GroupConsumer(c.client, { groupId: "" }), /groupId must be/);
    assert.throws(
      () => new GroupConsumer(c.client, { groupId: "g", assignors: ["sticky"] }),
      /unknown assignor "sticky" \(supported: range, roundrobin, cooperative-sticky\)/,
    );
    for (const metadataMaxAgeMs of [-1, 1.5, NaN]) {
      assert.throws(
        () => new GroupConsumer(c.client, { groupId: "g", metadataMaxAgeMs }),
        /group consumer: invalid metadataMaxAgeMs .*: expected a non-negative integer/,
      );
    }
    const m = new GroupConsumer(c.client, { groupId: "g" });
    await assert.rejects(m.poll(), /poll before subscribe/);
    assert.throws(() => m.subscribe([]), /at least one non-empty topic/);
    m.subscribe(["t"]);
    const first = m.poll({ maxWaitMs: 50 });
    await assert.rejects(m.poll(), /poll while another poll is running/);
    await first;
    await m.close();
    await assert.rejects(m.poll(), /poll after close/);
  });
});

Deno.test("Admin lists, describes, alters and deletes consumer groups and their offsets", async () => {
  await withCluster(async (c) => {
    const admin = new Admin(c.client);
    await c.produce("a", 12); // 3 per partition
    const m = c.member("g", { autoCommit: false });
    assert.equal((await pollUntil(m, 12)).length, 12);
    await m.commit([{ topic: "t", partition: 0, offset: 3, leaderEpoch: 7 }, {
      topic: "t",
      partition: 2,
      offset: 1, // no leader epoch: committed_leader_epoch -1
    }]);
    assert.deepEqual(await admin.listGroups(), [
      { groupId: "g", protocolType: "consumer", state: "Stable", type: "classic" },
    ]);
    assert.deepEqual(await admin.listGroups({ states: ["Empty"] }), []);
    const [g, missing] = await admin.describeGroups(["g", "nope"]);
    // a classic group: ConsumerGroupDescribe answers GROUP_ID_NOT_FOUND, DescribeGroups describes it
    assert.deepEqual(g, {
      groupId: "g",
      type: "classic",
      state: "Stable",
      protocolType: "consumer",
      protocol: "range",
      coordinator: 1,
      groupEpoch: null,
      targetAssignmentEpoch: null,
      members: [{
        memberId: m.memberId,
        groupInstanceId: null,
        clientId: "member-1",
        clientHost: "/127.0.0.1",
        subscription: ["t"],
        subscribedTopicRegex: null,
        assignment: [{ topic: "t", partitions: [0, 1, 2, 3] }],
        targetAssignment: null,
        memberEpoch: null,
      }],
    });
    assert.equal(missing.state, "Dead");
    assert.equal(missing.type, "classic");
    assert.deepEqual(missing.members, []);
    // The committed leader epoch comes back as committed (OffsetFetch v5+); -1 as null.
    assert.deepEqual(await admin.listConsumerGroupOffsets("g"), [
      { topic: "t", partition: 0, offset: 3, metadata: "", leaderEpoch: 7 },
      { topic: "t", partition: 2, offset: 1, metadata: "", leaderEpoch: null },
    ]);
    await assert.rejects(
      admin.alterConsumerGroupOffsets("g", [{ topic: "t", partition: 1, offset: 0 }]),
      /^KafkaError: alter offsets of group g: the group has active members \(state Stable, 1 members\); stop them first: NON_EMPTY_GROUP/,
    );
    await assert.rejects(admin.deleteConsumerGroups(["g"]), /delete group g: NON_EMPTY_GROUP/);
    await m.close();
    assert.deepEqual(await admin.listGroups({ states: ["empty"] }), [
      { groupId: "g", protocolType: "consumer", state: "Empty", type: "classic" },
    ]);
    await admin.alterConsumerGroupOffsets("g", [
      { topic: "t", partition: 1, offset: 2 },
      { topic: "t", partition: 0, offset: 0 },
    ]);
    await admin.deleteConsumerGroupOffsets("g", [{ topic: "t", partition: 2 }]);
    assert.deepEqual(
      (await admin.listConsumerGroupOffsets("g")).map((o) => [o.partition, o.offset]),
      [[0, 0], [1, 2]],
    );
    await assert.rejects(
      admin.alterConsumerGroupOffsets("g", [{ topic: "t", partition: 0, offset: -1 }]),
      /invalid offset -1 for t-0/,
    );
    await admin.deleteConsumerGroups(["g"]);
    assert.deepEqual(await admin.listGroups(), []);
    await assert.rejects(admin.deleteConsumerGroups(["g"]), /delete group g: GROUP_ID_NOT_FOUND/);
  });
});

Deno.test("GroupConsumer: a member removed by the coordinator resets its member id and rejoins", async () => {
  await withCluster(async (c) => {
    const m = c.member("kick");
    assert.deepEqual(await m.poll({ maxWaitMs: 0 }), []);
    const first = m.memberId;
    assert.notEqual(first, "");
    // Remove it behind its back (LeaveGroup v0 with its member id): its next heartbeat gets
    // UNKNOWN_MEMBER_ID.
    const leave = await c.client.send(
      1,
      { request: LeaveGroupRequest, response: LeaveGroupResponse },
      LeaveGroupRequest.create({ groupId: "kick", memberId: first }),
      { version: 0 },
    );
    assert.equal(leave.errorCode, 0);
    const got: ConsumerRecord[] = [];
    const loop = pollLoop(m, got);
    await waitFor(
      "a new member id",
      () => m.memberId !== first && m.memberId !== "" || !!loop.error,
    );
    await waitFor("the partitions back", () => m.assignment().length === 4 || !!loop.error);
    await c.produce("k", 8);
    await waitFor("8 records", () => got.length >= 8 || !!loop.error);
    await loop.stop();
    assert.deepEqual(valuesOf(got), expected("k", 8));
  });
});

Deno.test("GroupConsumer: with more members than partitions the extra member gets nothing", async () => {
  await withCluster(async (c) => {
    await new Admin(c.client).createTopics([{ name: "two", numPartitions: 2 }]);
    const ms = [c.member("many"), c.member("many"), c.member("many")];
    for (const m of ms) m.subscribe(["two"]);
    const loops = ms.map((m) => pollLoop(m, []));
    await waitFor(
      "a stable 1+1+0 split",
      () =>
        new Set(ms.map((m) => m.generationId)).size === 1 &&
          ms.map((m) => m.assignment().length).sort().join() === "0,1,1" ||
        loops.some((l) => !!l.error),
    );
    for (const l of loops) await l.stop();
    assert.deepEqual(ms.flatMap(partitionsOf).sort(), [0, 1]);
  });
});

Deno.test("GroupConsumer: the async iterator yields records; close auto-commits the position", async () => {
  await withCluster(async (c) => {
    await c.produce("it", 5, 1);
    const m = c.member("iter");
    const seen: string[] = [];
    for await (const r of m) {
      seen.push(td.decode(r.value!));
      if (seen.length === 5) break;
    }
    assert.deepEqual(seen, ["it-0", "it-1", "it-2", "it-3", "it-4"]);
    await m.close();
    // Every assigned partition's position is committed (empty ones at 0), as Java does.
    assert.deepEqual(
      (await new Admin(c.client).listConsumerGroupOffsets("iter")).map((o) => [
        o.partition,
        o.offset,
      ]),
      [[0, 5], [1, 0], [2, 0], [3, 0]],
    );
  });
});

Deno.test("GroupConsumer: close during a rebalance wait ends the poll and leaves at once", async () => {
  await withCluster(async (c) => {
    const a = c.member("slow");
    const b = c.member("slow");
    const loopA = pollLoop(a, []);
    const loopB = pollLoop(b, []);
    await waitFor("a 2+2 split", () => a.assignment().length === 2 && b.assignment().length === 2);
    await loopB.stop(); // b keeps heartbeating but stops polling: it will not rejoin
    const c3 = c.member("slow");
    const loopC = pollLoop(c3, []);
    const admin = new Admin(c.client);
    for (let i = 0; i < 500; i++) {
      if ((await admin.describeGroups(["slow"]))[0].state === "PreparingRebalance") break;
      await new Promise((r) => setTimeout(r, 20));
    }
    // Give a's heartbeat time to see the rebalance: a then waits in JoinGroup for b (up to the
    // 10 s rebalance timeout).
    await new Promise((r) => setTimeout(r, 500));
    await a.close();
    await loopA.stop();
    // Had close queued its LeaveGroup behind the JoinGroup, the rebalance would be over.
    const [d] = await admin.describeGroups(["slow"]);
    assert.equal(d.state, "PreparingRebalance");
    assert.ok(!d.members.some((m) => m.memberId === a.memberId && a.memberId !== ""));
    await c3.close();
    await loopC.stop();
  });
});

/**
 * Two cooperative-sticky members of `group` polling in the background: `a` alone owns the four
 * partitions and reads 20 records `one-*`, then `b` joins and they split the partitions 2+2.
 */
async function cooperativePair(c: Cluster, group: string, options: Partial<GroupConsumerOptions>) {
  const opts = { assignors: ["cooperative-sticky"], ...options };
  const a = c.member(group, opts);
  const gotA: ConsumerRecord[] = [];
  const loopA = pollLoop(a, gotA);
  await waitFor("a owns all", () => a.assignment().length === 4 || !!loopA.error);
  await c.produce("one", 20);
  await waitFor("20 records", () => gotA.length >= 20 || !!loopA.error);
  const b = c.member(group, opts);
  const gotB: ConsumerRecord[] = [];
  const loopB = pollLoop(b, gotB);
  await waitFor(
    "a 2+2 split",
    () => a.assignment().length === 2 && b.assignment().length === 2 || !!loopA.error,
  );
  return { a, b, gotA, gotB, loopA, loopB };
}

Deno.test("GroupConsumer: cooperative-sticky keeps partitions and positions through a rebalance", async () => {
  await withCluster(async (c) => {
    const { a, b, gotA, gotB, loopA, loopB } = await cooperativePair(c, "coop", {});
    const kept = partitionsOf(a);
    await c.produce("two", 20);
    await waitFor("20 more", () => gotA.length + gotB.length >= 40 || !!loopA.error);
    await new Promise((r) => setTimeout(r, 300)); // any re-delivery would show up now
    await loopA.stop();
    await loopB.stop();
    // a kept two of its partitions (positions intact); b took the other two; nothing twice.
    assert.deepEqual([...kept, ...partitionsOf(b)].sort(), [0, 1, 2, 3]);
    assert.deepEqual(
      valuesOf([...gotA, ...gotB]),
      [...expected("one", 20), ...expected("two", 20)].sort(),
    );
    assert.ok(gotB.every((r) => td.decode(r.value!).startsWith("two")));
  });
});

Deno.test("GroupConsumer: cooperative-sticky without auto-commit re-reads only moved partitions", async () => {
  await withCluster(async (c) => {
    const { b, gotA, gotB, loopA, loopB } = await cooperativePair(c, "coop2", {
      autoCommit: false,
    });
    await waitFor("b re-reads its 10", () => gotB.length >= 10 || !!loopB.error);
    await new Promise((r) => setTimeout(r, 300));
    await loopA.stop();
    await loopB.stop();
    // Nothing was committed: b starts its two partitions from the beginning, but a's kept
    // partitions keep their positions (an eager rebalance would re-read them from 0).
    assert.equal(gotA.length, 20);
    assert.deepEqual(valuesOf(gotA), expected("one", 20));
    const pb = partitionsOf(b);
    assert.deepEqual(
      valuesOf(gotB),
      gotA.filter((r) => pb.includes(r.partition)).map((r) => td.decode(r.value!)).sort(),
    );
    assert.equal(gotB.length, 10);
  });
});

/** A listener that records its calls as `assigned:0,1` / `revoked:…` / `lost:…`. */
function recorder(m: () => GroupConsumer, log: string[], extra: Partial<RebalanceListener> = {}) {
  const fmt = (ps: Array<{ partition: number }>) =>
    ps.map((p) => p.partition).sort((a, b) => a - b).join(",");
  return {
    async onPartitionsAssigned(ps: Array<{ topic: string; partition: number }>) {
      log.push(`assigned:${fmt(ps)}`);
      await extra.onPartitionsAssigned?.(ps);
    },
    async onPartitionsRevoked(ps: Array<{ topic: string; partition: number }>) {
      // The member still owns them (and is still in its generation: logged below).
      assert.equal(m().assignment().length, ps.length);
      log.push(`revoked:${fmt(ps)}@${m().generationId}`);
      await extra.onPartitionsRevoked?.(ps);
    },
    onPartitionsLost(ps: Array<{ topic: string; partition: number }>) {
      log.push(`lost:${fmt(ps)}`);
    },
  };
}

Deno.test("GroupConsumer: eager rebalance callbacks — revoked (still in the generation) before the rejoin, then assigned; revoked on close", async () => {
  await withCluster(async (c) => {
    const logA: string[] = [];
    const a = c.member("cb");
    await c.produce("x", 8); // two records per partition
    let revokedMeta: ConsumerGroupMetadata | undefined;
    const txp = new Producer(c.client, { transactionalId: "cb-tx" });
    await txp.initTransactions();
    a.subscribe(
      ["t"],
      recorder(() => a, logA, {
        async onPartitionsRevoked(ps) {
          if (revokedMeta !== undefined) return;
          revokedMeta = a.groupMetadata();
          // What Streams does here: commit the tasks' offsets in a transaction, with the
          // generation that is ending (KIP-447 accepts it: the group waits for this member).
          txp.beginTransaction();
          await txp.sendOffsetsToTransaction(
            ps.map((p) => ({ ...p, offset: 1 })),
            revokedMeta,
          );
          await txp.commitTransaction();
        },
      }),
    );
    const loopA = pollLoop(a, []);
    await waitFor("a owns 4", () => a.assignment().length === 4 || !!loopA.error);
    const gen1 = a.generationId;
    assert.deepEqual(logA, ["assigned:0,1,2,3"]);
    assert.deepEqual(a.groupMetadata(), {
      groupId: "cb",
      generationId: gen1,
      memberId: a.memberId,
      groupInstanceId: null,
    });
    const logB: string[] = [];
    const b = c.member("cb");
    b.subscribe(["t"], recorder(() => b, logB));
    const loopB = pollLoop(b, []);
    await waitFor(
      "a 2+2 split",
      () => a.assignment().length === 2 && b.assignment().length === 2 || !!loopA.error,
    );
    await loopB.stop();
    await loopA.stop();
    // a gave everything up in generation 1, before it rejoined, then got its half.
    assert.equal(logA[1], `revoked:0,1,2,3@${gen1}`);
    assert.equal(logA.length, 3, logA.join(" "));
    assert.match(logA[2], /^assigned:\d,\d$/);
    assert.deepEqual(revokedMeta, {
      groupId: "cb",
      generationId: gen1,
      memberId: a.memberId,
      groupInstanceId: null,
    });
    assert.match(logB[0], /^assigned:\d,\d$/);
    // b started from the offsets a committed in its revoked callback (then read one record
    // of each of its partitions).
    assert.deepEqual(b.assignment().map((p) => p.offset), [2, 2]);
    await txp.close();
    const owned = partitionsOf(b).join(",");
    const genB = b.generationId;
    await b.close();
    assert.equal(logB.at(-1), `revoked:${owned}@${genB}`);
  });
});

Deno.test("GroupConsumer: a member removed behind its back gets onPartitionsLost, not revoked", async () => {
  await withCluster(async (c) => {
    const log: string[] = [];
    const m = c.member("lostg");
    m.subscribe(["t"], recorder(() => m, log));
    const loop = pollLoop(m, []);
    await waitFor("4 partitions", () => m.assignment().length === 4 || !!loop.error);
    const first = m.memberId;
    const leave = await c.client.send(
      1,
      { request: LeaveGroupRequest, response: LeaveGroupResponse },
      LeaveGroupRequest.create({ groupId: "lostg", memberId: first }),
      { version: 0 },
    );
    assert.equal(leave.errorCode, 0);
    await waitFor(
      "a new member id with its partitions",
      () => m.memberId !== first && m.assignment().length === 4 || !!loop.error,
    );
    await loop.stop();
    assert.deepEqual(log, ["assigned:0,1,2,3", "lost:0,1,2,3", "assigned:0,1,2,3"]);
  });
});

Deno.test("GroupConsumer: cooperative members get revoked only for the partitions moved", async () => {
  await withCluster(async (c) => {
    const opts = { assignors: ["cooperative-sticky"] };
    const logA: string[] = [];
    const a = c.member("coop-cb", opts);
    a.subscribe(["t"], {
      onPartitionsAssigned: (ps) => void logA.push(`assigned:${ps.length}`),
      onPartitionsRevoked: (ps) => void logA.push(`revoked:${ps.length}`),
    });
    const loopA = pollLoop(a, []);
    await waitFor("a owns 4", () => a.assignment().length === 4 || !!loopA.error);
    const b = c.member("coop-cb", opts);
    const logB: string[] = [];
    b.subscribe(["t"], { onPartitionsAssigned: (ps) => void logB.push(`assigned:${ps.length}`) });
    const loopB = pollLoop(b, []);
    await waitFor(
      "a 2+2 split and a's second rebalance",
      () =>
        a.assignment().length === 2 && b.assignment().length === 2 && logA.length >= 4 ||
        !!loopA.error,
    );
    const seen = [...logA]; // (stopping b's loop first makes a rebalance that drops b)
    await loopA.stop();
    await loopB.stop();
    // Kept two, gave up two (b gets nothing yet: a still owned them), got nothing new; then the
    // rejoin after the revocation, where b gets the two (a: an empty assigned).
    assert.deepEqual(seen, ["assigned:4", "revoked:2", "assigned:0", "assigned:0"]);
    // Never two owners: b gets nothing in the generation where a gives the two up.
    assert.deepEqual(logB.slice(0, 2), ["assigned:0", "assigned:2"]);
  });
});

Deno.test("GroupConsumer: a listener's error is thrown by poll after the rebalance", async () => {
  await withCluster(async (c) => {
    const m = c.member("throws");
    m.subscribe(["t"], {
      onPartitionsAssigned() {
        throw new Error("listener failed");
      },
    });
    await assert.rejects(m.poll({ maxWaitMs: 100 }), /listener failed/);
    // The member joined anyway and goes on.
    assert.equal(m.assignment().length, 4);
    await c.produce("e", 4);
    const got = await pollUntil(m, 4, { rounds: 50, maxWaitMs: 100 });
    assert.deepEqual(valuesOf(got), expected("e", 4));
  });
});

Deno.test("GroupConsumer: isolationLevel is checked", async () => {
  await withCluster((c) => {
    assert.throws(
      () =>
        new GroupConsumer(c.client, {
          groupId: "x",
          isolationLevel: "committed" as "read_committed",
        }),
      /invalid isolationLevel "committed"/,
    );
    return Promise.resolve();
  });
});

/** Produces `n` records `${prefix}-${i}` round-robin over `partitions` partitions of `topic`. */
async function produceTo(c: Cluster, topic: string, prefix: string, n: number, partitions: number) {
  await c.producer.send({
    topic,
    messages: Array.from({ length: n }, (_, i) => ({
      value: `${prefix}-${i}`,
      partition: i % partitions,
    })),
  });
}

Deno.test("GroupConsumer: a member subscribed before its topic exists gets it once created", async () => {
  await withCluster(async (c) => {
    const log: string[] = [];
    const m = c.member("late-g", { metadataMaxAgeMs: 100 });
    m.subscribe(["late"], recorder(() => m, log));
    const got: ConsumerRecord[] = [];
    const loop = pollLoop(m, got);
    await waitFor("joined with nothing", () => log.length > 0 || !!loop.error);
    assert.deepEqual(m.assignment(), []);
    await new Admin(c.client).createTopics([{ name: "late", numPartitions: 3 }]);
    await produceTo(c, "late", "late", 30, 3);
    await waitFor("30 records", () => got.length >= 30 || !!loop.error);
    await new Promise((r) => setTimeout(r, 300)); // any re-delivery would show up now
    await loop.stop();
    assert.deepEqual(valuesOf(got), expected("late", 30));
    assert.deepEqual(partitionsOf(m), [0, 1, 2]);
    assert.deepEqual(log.filter((l) => l.startsWith("assigned")), ["assigned:", "assigned:0,1,2"]);
  });
});

for (const assignors of [["range"], ["cooperative-sticky"]]) {
  Deno.test(`GroupConsumer: partitions added to a subscribed topic are assigned and consumed once (${assignors})`, async () => {
    await withCluster(async (c) => {
      const opts = { metadataMaxAgeMs: 200, assignors };
      const logs: string[][] = [[], []];
      const got: ConsumerRecord[][] = [[], []];
      const members = [c.member("grow", opts), c.member("grow", opts)];
      members.forEach((m, i) => m.subscribe(["t"], recorder(() => m, logs[i])));
      const loops = members.map((m, i) => pollLoop(m, got[i]));
      const failed = () => loops.some((l) => !!l.error);
      const all = () => [...got[0], ...got[1]];
      await waitFor(
        "a 2+2 split",
        () => members.every((m) => m.assignment().length === 2) || failed(),
      );
      await c.produce("before", 40);
      await waitFor("40 records", () => all().length >= 40 || failed());
      await new Admin(c.client).createPartitions([{ topic: "t", count: 6 }]);
      await waitFor(
        "a 3+3 split of 6 partitions",
        () => members.every((m) => m.assignment().length === 3) || failed(),
      );
      assert.deepEqual(
        [...partitionsOf(members[0]), ...partitionsOf(members[1])].sort(),
        [0, 1, 2, 3, 4, 5],
      );
      await c.produce("after", 60, 6);
      await waitFor("100 records", () => all().length >= 100 || failed());
      await new Promise((r) => setTimeout(r, 300)); // any re-delivery would show up now
      for (const l of loops) await l.stop();
      assert.deepEqual(
        valuesOf(all()),
        [...expected("before", 40), ...expected("after", 60)].sort(),
      );
      for (let i = 0; i < 2; i++) {
        const owned = partitionsOf(members[i]);
        assert.ok(
          got[i].filter((r) => r.value && td.decode(r.value).startsWith("after"))
            .every((r) => owned.includes(r.partition)),
        );
      }
      const assigned = logs.flat().filter((l) => l.startsWith("assigned"));
      assert.ok(assigned.some((l) => /\b4\b/.test(l)) && assigned.some((l) => /\b5\b/.test(l)));
      if (assignors[0] === "cooperative-sticky") {
        // Only partitions were added: nobody gives up one it owned.
        assert.deepEqual(logs.flat().filter((l) => !l.startsWith("assigned")), []);
      } else {
        assert.ok(logs.every((log) => log.some((l) => l.startsWith("revoked:"))));
      }
    });
  });
}

for (const assignors of [["range"], ["cooperative-sticky"]]) {
  Deno.test(`GroupConsumer: a subscribed topic deleted is given up without poll errors (${assignors})`, async () => {
    await withCluster(async (c) => {
      const log: string[] = [];
      const m = c.member("del-g", { metadataMaxAgeMs: 200, assignors });
      const admin = new Admin(c.client);
      await admin.createTopics([{ name: "gone", numPartitions: 2 }]);
      m.subscribe(["t", "gone"], {
        onPartitionsAssigned: (ps) => void log.push(`assigned:${ps.length}`),
        onPartitionsRevoked: (ps) => void log.push(`revoked:${ps.length}`),
      });
      const got: ConsumerRecord[] = [];
      const loop = pollLoop(m, got);
      await waitFor("6 partitions", () => m.assignment().length === 6 || !!loop.error);
      await admin.deleteTopics(["gone"]);
      await waitFor(
        "only t's partitions",
        () =>
          m.assignment().length === 4 && m.assignment().every((p) => p.topic === "t") ||
          !!loop.error,
      );
      await c.produce("still", 20);
      await waitFor("20 records", () => got.length >= 20 || !!loop.error);
      await loop.stop(); // throws what a poll threw
      assert.deepEqual(valuesOf(got), expected("still", 20));
      assert.deepEqual(
        log,
        assignors[0] === "range"
          ? ["assigned:6", "revoked:6", "assigned:4"]
          // Gives up gone's two, then the rejoin that follows a revocation.
          : ["assigned:6", "revoked:2", "assigned:0", "assigned:0"],
      );
    });
  });
}

Deno.test("GroupConsumer: cooperative-sticky moves one partition to a third member (the leader passes the owned partitions to the assignor)", async () => {
  await withCluster(async (c) => {
    const opts = { assignors: ["cooperative-sticky"] };
    const revoked: number[] = [];
    const listener = { onPartitionsRevoked: (ps: unknown[]) => void revoked.push(ps.length) };
    const members = [c.member("coop3", opts), c.member("coop3", opts), c.member("coop3", opts)];
    for (const m of members) m.subscribe(["t"], listener);
    const loops = [pollLoop(members[0], [])];
    const failed = () => loops.some((l) => !!l.error);
    const sizes = () => members.map((m) => m.assignment().length);
    await waitFor("a owns 4", () => sizes()[0] === 4 || failed());
    loops.push(pollLoop(members[1], []));
    await waitFor("a 2+2 split", () => sizes()[0] === 2 && sizes()[1] === 2 || failed());
    revoked.length = 0;
    loops.push(pollLoop(members[2], []));
    await waitFor(
      "c gets one",
      () => sizes()[2] === 1 && sizes().reduce((x, y) => x + y) === 4 || failed(),
    );
    for (const l of loops) await l.stop();
    assert.deepEqual(sizes().slice(0, 2).sort(), [1, 2]);
    assert.deepEqual(revoked, [1], "only the partition moved to c is revoked");
  });
});

Deno.test("GroupConsumer: a member that is not the leader sees added partitions and rejoins", async () => {
  await withCluster(async (c) => {
    // The first member leads (the coordinator keeps it) and would look again only in 300 s.
    const leader = c.member("follower-g", { metadataMaxAgeMs: 300_000 });
    const got: ConsumerRecord[][] = [[], []];
    const loops = [pollLoop(leader, got[0])];
    await waitFor("the leader owns 4", () => leader.assignment().length === 4 || !!loops[0].error);
    const follower = c.member("follower-g", { metadataMaxAgeMs: 100 });
    loops.push(pollLoop(follower, got[1]));
    const failed = () => loops.some((l) => !!l.error);
    const sizes = () => [leader.assignment().length, follower.assignment().length];
    await waitFor("a 2+2 split", () => sizes().join() === "2,2" || failed());
    await new Admin(c.client).createPartitions([{ topic: "t", count: 6 }]);
    await waitFor("a 3+3 split", () => sizes().join() === "3,3" || failed());
    await c.produce("six", 60, 6);
    await waitFor("60 records", () => got[0].length + got[1].length >= 60 || failed());
    for (const l of loops) await l.stop();
    assert.deepEqual(valuesOf([...got[0], ...got[1]]), expected("six", 60));
  });
});

// A rebalance callback longer than the session timeout (a Streams task restoring its state):
// the member heartbeats meanwhile and keeps its place. 6 s is the broker's minimum session
// timeout; the callback sleeps 9 s, once.
const SLOW_SESSION = { sessionTimeoutMs: 6_000, rebalanceTimeoutMs: 30_000 };
const SLOW_CALLBACK_MS = 9_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test("GroupConsumer: heartbeats go on during a slow onPartitionsAssigned; the member keeps its place", async () => {
  await withCluster(async (c) => {
    const b = c.member("slow-assigned", { rebalanceTimeoutMs: 30_000 });
    let assignedB = 0;
    b.subscribe(["t"], { onPartitionsAssigned: () => void assignedB++ });
    const got: ConsumerRecord[] = [];
    const loopB = pollLoop(b, got);
    await waitFor("b owns 4", () => b.assignment().length === 4 || !!loopB.error);
    const a = c.member("slow-assigned", SLOW_SESSION);
    let inCallback: { generationId: number; memberId: string } | undefined;
    let slowDone = false;
    a.subscribe(["t"], {
      async onPartitionsAssigned() {
        if (inCallback !== undefined) return;
        inCallback = { generationId: a.generationId, memberId: a.memberId };
        await sleep(SLOW_CALLBACK_MS);
        slowDone = true;
      },
    });
    const loopA = pollLoop(a, got);
    await waitFor("a's slow callback", () => slowDone || !!loopA.error || !!loopB.error);
    // Records to every partition; both members read them in the generation of the callback.
    await c.produce("s", 8);
    await waitFor("8 records", () => got.length >= 8 || !!loopA.error || !!loopB.error);
    await loopA.stop();
    await loopB.stop();
    assert.deepEqual(valuesOf(got), expected("s", 8));
    assert.deepEqual({ generationId: a.generationId, memberId: a.memberId }, inCallback);
    assert.equal(b.generationId, inCallback!.generationId);
    // b joined alone, then once more for a; no rebalance for a session timeout of a.
    assert.equal(assignedB, 2);
    assert.equal(a.assignment().length + b.assignment().length, 4);
  });
});

Deno.test("GroupConsumer: heartbeats (answered REBALANCE_IN_PROGRESS) go on during a slow onPartitionsRevoked; one rebalance", async () => {
  await withCluster(async (c) => {
    const a = c.member("slow-revoked", SLOW_SESSION);
    let revoked: { generationId: number; memberId: string } | undefined;
    let slowDone = false;
    a.subscribe(["t"], {
      async onPartitionsRevoked() {
        if (revoked !== undefined) return;
        revoked = { generationId: a.generationId, memberId: a.memberId };
        await sleep(SLOW_CALLBACK_MS);
        slowDone = true;
      },
    });
    const got: ConsumerRecord[] = [];
    const loopA = pollLoop(a, got);
    await waitFor("a owns 4", () => a.assignment().length === 4 || !!loopA.error);
    const gen1 = a.generationId;
    const memberA = a.memberId;
    // b joins: a revokes (slowly) in generation gen1 before it rejoins; the group waits for it.
    const b = c.member("slow-revoked", { rebalanceTimeoutMs: 30_000 });
    let assignedB = 0;
    b.subscribe(["t"], { onPartitionsAssigned: () => void assignedB++ });
    const loopB = pollLoop(b, got);
    await waitFor("a's slow callback", () => slowDone || !!loopA.error || !!loopB.error);
    await waitFor(
      "a 2+2 split",
      () => a.assignment().length === 2 && b.assignment().length === 2 || !!loopA.error,
    );
    await c.produce("r", 8);
    await waitFor("8 records", () => got.length >= 8 || !!loopA.error || !!loopB.error);
    await loopA.stop();
    await loopB.stop();
    assert.deepEqual(valuesOf(got), expected("r", 8));
    assert.deepEqual(revoked, { generationId: gen1, memberId: memberA });
    assert.equal(a.memberId, memberA);
    assert.equal(a.generationId, gen1 + 1);
    assert.equal(b.generationId, gen1 + 1);
    assert.equal(assignedB, 1);
  });
});

Deno.test("GroupConsumer: a rebalance announced during a slow onPartitionsAssigned is joined after it, by the same member", async () => {
  await withCluster(async (c) => {
    const b = c.member("slow-announced", { rebalanceTimeoutMs: 30_000 });
    let assignedB = 0;
    b.subscribe(["t"], { onPartitionsAssigned: () => void assignedB++ });
    const got: ConsumerRecord[] = [];
    const loopB = pollLoop(b, got);
    await waitFor("b owns 4", () => b.assignment().length === 4 || !!loopB.error);
    const a = c.member("slow-announced", SLOW_SESSION);
    let inCallback: { generationId: number; memberId: string } | undefined;
    let slowStarted = false;
    let slowDone = false;
    a.subscribe(["t"], {
      async onPartitionsAssigned() {
        if (inCallback !== undefined) return;
        inCallback = { generationId: a.generationId, memberId: a.memberId };
        slowStarted = true;
        await sleep(SLOW_CALLBACK_MS);
        slowDone = true;
      },
    });
    const loopA = pollLoop(a, got);
    await waitFor("a's slow callback", () => slowStarted || !!loopA.error || !!loopB.error);
    // A third member joins meanwhile: a's heartbeats are answered REBALANCE_IN_PROGRESS.
    const m3 = c.member("slow-announced", { rebalanceTimeoutMs: 30_000 });
    let assigned3 = 0;
    m3.subscribe(["t"], { onPartitionsAssigned: () => void assigned3++ });
    const loop3 = pollLoop(m3, got);
    await waitFor("a's slow callback done", () => slowDone || !!loopA.error || !!loop3.error);
    await waitFor(
      "three members in the next generation",
      () =>
        [a, b, m3].every((m) => m.generationId === inCallback!.generationId + 1) &&
          assigned3 === 1 || !!loopA.error || !!loopB.error || !!loop3.error,
    );
    await c.produce("n", 8);
    await waitFor("8 records", () => got.length >= 8 || !!loopA.error || !!loopB.error);
    await loopA.stop();
    await loopB.stop();
    await loop3.stop();
    assert.deepEqual(valuesOf(got), expected("n", 8));
    assert.equal(a.memberId, inCallback!.memberId);
    for (const m of [a, b, m3]) assert.equal(m.generationId, inCallback!.generationId + 1);
    // b: alone, with a, with the third member; no rebalance for a session timeout of a.
    assert.equal(assignedB, 3);
    assert.equal(assigned3, 1);
  });
});

Deno.test("GroupConsumer: maxPartitionBytes bounds a fetch (one batch at least); invalid values are refused", async () => {
  await withCluster(async (c) => {
    // 20 batches of 10 records of about 1 kB each, all in partition 0.
    for (let b = 0; b < 20; b++) {
      await c.producer.send({
        topic: "t",
        messages: Array.from({ length: 10 }, (_, i) => ({
          value: `${b}-${i}-`.padEnd(1000, "x"),
          partition: 0,
        })),
      });
    }
    const polls = async (member: GroupConsumer) => {
      const sizes: number[] = [];
      const values: string[] = [];
      for (let i = 0; i < 200 && values.length < 200; i++) {
        const records = await member.poll({ maxWaitMs: 100 });
        if (records.length === 0) continue;
        sizes.push(records.length);
        values.push(...records.map((r) => td.decode(r.value!)));
      }
      return { sizes, values };
    };
    const all = Array.from(
      { length: 200 },
      (_, i) => `${Math.floor(i / 10)}-${i % 10}-`.padEnd(1000, "x"),
    );
    // A batch is about 10 kB: 25 kB a fetch returns 2 or 3 batches at a time.
    const small = await polls(c.member("small", { maxPartitionBytes: 25_000 }));
    assert.deepEqual(small.values, all);
    assert(small.sizes.every((n) => n <= 30), `poll sizes ${small.sizes}`);
    // Smaller than one batch: still one batch a fetch, nothing lost.
    const tiny = await polls(c.member("tiny", { maxPartitionBytes: 1 }));
    assert.deepEqual(tiny.values, all);
    assert(tiny.sizes.every((n) => n === 10), `poll sizes ${tiny.sizes}`);
    // The default (1 MiB) takes them all in one fetch.
    const whole = await polls(c.member("whole"));
    assert.deepEqual(whole.sizes, [200]);
  });
  for (const bad of [0, -1, 1.5, 2 ** 31, Number.NaN]) {
    assert.throws(
      () =>
        new GroupConsumer(new Client({ bootstrapServers: "127.0.0.1:1" }), {
          groupId: "g",
          maxPartitionBytes: bad,
        }),
      /invalid maxPartitionBytes/,
    );
  }
});
