// Copyright 2026 the Sluice authors. Apache-2.0 license.
// GroupConsumer with groupProtocol "consumer" (KIP-848) against a real broker: two members, a
// rebalance as the second joins (the first revokes before the second gets the partitions), a
// leave, commits with the member epoch; every record consumed exactly once.
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { startBroker } from "../tests/harness.ts";
import { Admin } from "./admin.ts";
import { Client } from "./client.ts";
import type { TopicPartition } from "./admin.ts";
import { GroupConsumer } from "./group_consumer.ts";
import { Producer } from "./producer.ts";

const td = new TextDecoder();

Deno.test("GroupConsumer groupProtocol consumer: two members, a rebalance and a leave; every record once", async () => {
  const broker = await startBroker({
    offsetsTopicNumPartitions: 3,
    groupConsumerHeartbeatIntervalMs: 200,
    groupConsumerSessionTimeoutMs: 6000,
  });
  const clients: Client[] = [];
  const newClient = (clientId: string) => {
    const c = new Client({ bootstrapServers: broker.bootstrap, clientId, retryBackoffMs: 20 });
    clients.push(c);
    return c;
  };
  const admin = new Admin(newClient("admin"));
  const producer = new Producer(clients[0]);
  const produce = (prefix: string, n: number) =>
    producer.send({
      topic: "t",
      messages: Array.from(
        { length: n },
        (_, i) => ({ partition: i % 4, value: `${prefix}-${i}` }),
      ),
    });
  type Event = [string, string, string[]];
  const events: Event[] = [];
  const seen = new Map<string, string[]>();
  const member = (name: string) => {
    const m = new GroupConsumer(newClient(name), {
      groupId: "g",
      groupProtocol: "consumer",
      autoCommit: false,
      autoOffsetReset: "earliest",
      maxWaitMs: 100,
    });
    const tp = (ps: TopicPartition[]) => ps.map((p) => `${p.topic}-${p.partition}`).sort();
    m.subscribe(["t"], {
      onPartitionsAssigned: (ps) => void events.push([name, "assigned", tp(ps)]),
      onPartitionsRevoked: (ps) => void events.push([name, "revoked", tp(ps)]),
      onPartitionsLost: (ps) => void events.push([name, "lost", tp(ps)]),
    });
    seen.set(name, []);
    return m;
  };
  /** Polls (committing what it got after each poll) until `done`. */
  const run = async (m: GroupConsumer, name: string, done: () => boolean) => {
    for (let i = 0; i < 300 && !done(); i++) {
      const records = await m.poll();
      seen.get(name)!.push(...records.map((r) => td.decode(r.value!)));
      if (records.length > 0) await m.commit();
    }
  };
  const all = () => [...seen.values()].flat();
  const owned = (m: GroupConsumer) => m.assignment().map((p) => p.partition).sort();
  const a = member("a");
  const b = member("b");
  try {
    await admin.createTopics([{ name: "t", numPartitions: 4 }]);
    await produce("x", 40);
    // a alone: every partition, the 40 records
    await run(a, "a", () => all().length >= 40);
    assertEquals(owned(a), [0, 1, 2, 3]);
    assertEquals(events, [["a", "assigned", ["t-0", "t-1", "t-2", "t-3"]]]);

    // b joins: a revokes two partitions first, then b gets them (uniform: 2/2)
    const done = () => owned(a).length === 2 && owned(b).length === 2;
    await Promise.all([run(a, "a", done), run(b, "b", done)]);
    assertEquals(events.slice(1, 3).map((e) => e.slice(0, 2)), [["a", "revoked"], [
      "b",
      "assigned",
    ]]);
    const [aRevoked, bAssigned] = [events[1], events[2]];
    assertEquals(aRevoked[2], bAssigned[2]);
    assertEquals(owned(a).concat(owned(b)).sort(), [0, 1, 2, 3]);
    const [d] = await admin.describeGroups(["g"]);
    assertEquals(
      [d.type, d.state, d.members.length, d.members.every((m) => m.memberEpoch === d.groupEpoch)],
      ["consumer", "Stable", 2, true],
    );
    assertEquals(d.members.map((m) => m.memberId).sort(), [a.memberId, b.memberId].sort());
    assertEquals(a.generationId, d.groupEpoch); // the member epoch

    // both consume what comes next; then b leaves and a takes its partitions back
    await produce("y", 40);
    const count = (prefix: string) => all().filter((v) => v.startsWith(prefix)).length;
    await Promise.all([run(a, "a", () => count("y") >= 40), run(b, "b", () => count("y") >= 40)]);
    assertEquals(seen.get("b")!.some((v) => v.startsWith("y")), true);
    await b.close();
    assertEquals(events.at(-1)?.slice(0, 2), ["b", "revoked"]);
    await produce("z", 8);
    await run(a, "a", () => owned(a).length === 4 && count("z") >= 8);
    assertEquals(owned(a), [0, 1, 2, 3]);

    // every record exactly once; the commits (with the member epoch) hold every offset
    const want = ["x", "y", "z"].flatMap((p) =>
      Array.from({ length: p === "z" ? 8 : 40 }, (_, i) => `${p}-${i}`)
    );
    assertEquals(all().sort(), want.sort());
    const committed = await a.committed(
      [0, 1, 2, 3].map((partition) => ({ topic: "t", partition })),
    );
    assertEquals(committed.map((c) => c.offset), [22, 22, 22, 22]);
    await a.close();
    const [e] = await admin.describeGroups(["g"]);
    assertEquals([e.state, e.members.length], ["Empty", 0]);
  } finally {
    await a.close().catch(() => {});
    await b.close().catch(() => {});
    await producer.close();
    for (const c of clients) await c.close();
    await broker.close();
  }
});
