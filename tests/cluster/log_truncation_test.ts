// Copyright 2026 the Sluice authors. Apache-2.0 license.
// KIP-320 in our consumers, on three in-process brokers and a real etcd: a consumer and a group
// member read offsets 0..9 of a partition from its leader (broker 1) while the other replica
// (broker 2) had only 0..4; broker 1 goes, broker 2 is elected uncleanly and takes 8 new records
// at 5..12. Both must see the truncation (OffsetForLeaderEpoch: broker 2's log ends at 5 for the
// epoch of what they read) and resume at 5 with the new records: a consumer without KIP-320
// fetches on from 10 (it gets 10..12 and never sees 5..9 of the new leader), and a reset would go
// to 0 or 13.
import { deepStrictEqual as assertEquals, ok, strictEqual } from "node:assert/strict";
import {
  Admin,
  Client,
  Consumer,
  type ConsumerRecord,
  GroupConsumer,
  KafkaError,
  type LogTruncation,
  Producer,
} from "../../client/mod.ts";
import { sharedEtcd } from "../etcd.ts";
import { uniqueTopic } from "../harness.ts";
import { clusterTest, type InProcessCluster, startCluster, until } from "./harness.ts";

const etcd = sharedEtcd();

const test = clusterTest("log truncation (KIP-320)");

const td = new TextDecoder();

function views(c: InProcessCluster) {
  return c.brokers.filter((b) => b !== undefined).map((b) => b!.cluster!.view);
}

/** Partition 0's state (leader, epoch, ISR) in every running broker's view. */
function stateEverywhere(
  c: InProcessCluster,
  topic: string,
  want: (s: { leader: number; leaderEpoch: number; isr: number[] }) => boolean,
): boolean {
  return views(c).every((v) => {
    const s = v.partition(topic, 0)?.value;
    return s !== undefined && want(s);
  });
}

async function produce(c: InProcessCluster, topic: string, values: string[]): Promise<number[]> {
  const client = new Client({ bootstrapServers: c.bootstrapAll(), retries: 20 });
  const producer = new Producer(client, { acks: -1, lingerMs: 0 });
  try {
    const metas = await producer.send({
      topic,
      messages: values.map((value) => ({ partition: 0, value })),
    });
    return metas.map((m) => m.offset);
  } finally {
    await producer.close();
    await client.close();
  }
}

/** Polls until `count` records came (a poll failing on the stopped leader is retried). */
async function pollRecords(
  poll: () => Promise<ConsumerRecord[]>,
  count: number,
): Promise<Array<[number, string]>> {
  const out: Array<[number, string]> = [];
  const deadline = Date.now() + 30_000;
  while (out.length < count) {
    if (Date.now() > deadline) throw new Error(`read ${JSON.stringify(out)}, wanted ${count}`);
    try {
      for (const r of await poll()) out.push([r.offset, td.decode(r.value!)]);
    } catch (e) {
      if (!(e instanceof KafkaError) || !e.retriable) throw e;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return out;
}

test("after an unclean election truncates the log below their positions, a consumer and a group member resume where the logs diverge and read the new leader's records", async () => {
  const c = await startCluster(await etcd(), 3);
  const topic = uniqueTopic("truncated");
  const client = new Client({ bootstrapServers: c.bootstrapAll(), retries: 20 });
  const seen: LogTruncation[] = [];
  const seenByGroup: LogTruncation[] = [];
  try {
    await c.brokers[2]!.cluster!.createTopic({
      name: topic,
      numPartitions: -1,
      replicationFactor: -1,
      assignments: [[1, 2]],
      configs: {},
    });
    await until(
      "led by 1 with ISR [1,2]",
      () => stateEverywhere(c, topic, (s) => s.leader === 1 && s.isr.length === 2),
    );
    // 0..4 on both replicas (acks=all)
    assertEquals(await produce(c, topic, ["a0", "a1", "a2", "a3", "a4"]), [0, 1, 2, 3, 4]);
    // the group member starts while the three brokers are up (__consumer_offsets, RF 3, is
    // created at the group's first FindCoordinator)
    const groupClient = new Client({ bootstrapServers: c.bootstrapAll(), retries: 20 });
    const member = new GroupConsumer(groupClient, {
      groupId: `${topic}-g`,
      autoOffsetReset: "earliest",
    });
    member.subscribe([topic]);
    assertEquals((await pollRecords(() => member.poll({ maxWaitMs: 200 }), 5)).length, 5);
    await c.stop(1); // broker 2 goes: ISR [1]
    await until("ISR [1]", () => stateEverywhere(c, topic, (s) => s.isr.join() === "1"));
    // 5..9 on broker 1 alone
    assertEquals(await produce(c, topic, ["b5", "b6", "b7", "b8", "b9"]), [5, 6, 7, 8, 9]);
    const firstEpoch = views(c)[0].partition(topic, 0)!.value.leaderEpoch;

    // a consumer and a group member read 0..9 from broker 1
    const consumer = new Consumer(client, {
      autoOffsetReset: "earliest",
      onTruncation: (t) => seen.push(t),
    });
    await consumer.assign([{ topic, partition: 0, offset: 0 }]);
    const before = await pollRecords(() => consumer.poll({ maxWaitMs: 200 }), 10);
    assertEquals(before.map(([o]) => o), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const position = consumer.assignment()[0];
    strictEqual(position.offset, 10);
    ok(position.leaderEpoch >= 0, `the position's epoch: ${position.leaderEpoch}`);
    assertEquals((await pollRecords(() => member.poll({ maxWaitMs: 200 }), 5)).length, 5);
    await member.close(); // commits 10 with the leader epoch of the batch it read
    await groupClient.close();

    // broker 1 goes (offline: no ISR member left); broker 2 comes back and is elected uncleanly
    await c.stop(0);
    await until("offline", () => stateEverywhere(c, topic, (s) => s.leader === -1));
    await c.start(1);
    const admin = new Client({ bootstrapServers: c.bootstrapAll(), retries: 20 });
    try {
      const [r] = await new Admin(admin).electLeaders("unclean", [{ topic, partition: 0 }]);
      strictEqual(r.error, null, String(r.error));
    } finally {
      await admin.close();
    }
    await until("led by 2", () => stateEverywhere(c, topic, (s) => s.leader === 2));
    ok(views(c)[0].partition(topic, 0)!.value.leaderEpoch > firstEpoch, "a new leader epoch");
    // broker 2's log: 0..4, then 8 new records at 5..12 (more than the consumer had read)
    const fresh = ["n5", "n6", "n7", "n8", "n9", "n10", "n11", "n12"];
    assertEquals(await produce(c, topic, fresh), [5, 6, 7, 8, 9, 10, 11, 12]);
    const expected = fresh.map((v, i): [number, string] => [i + 5, v]);

    // the consumer: its fetch to broker 1 fails, the metadata names broker 2 in a new epoch, the
    // position (10, epoch of b9) is validated there: the logs diverge at 5
    assertEquals(await pollRecords(() => consumer.poll({ maxWaitMs: 200 }), 8), expected);
    assertEquals(seen.map((t) => [t.fetchOffset, t.divergentOffset, t.resetOffset]), [[10, 5, 5]]);
    strictEqual(seen[0].fetchEpoch, position.leaderEpoch);
    await consumer.close();

    // a member of the group resumes from the committed offset 10 and its epoch: validated too
    const again = new Client({ bootstrapServers: c.bootstrapAll(), retries: 20 });
    const next = new GroupConsumer(again, {
      groupId: `${topic}-g`,
      autoOffsetReset: "latest",
      onTruncation: (t) => seenByGroup.push(t),
    });
    try {
      next.subscribe([topic]);
      assertEquals(await pollRecords(() => next.poll({ maxWaitMs: 200 }), 8), expected);
      assertEquals(
        seenByGroup.map((t) => [t.fetchOffset, t.divergentOffset, t.resetOffset]),
        [[10, 5, 5]],
      );
    } finally {
      await next.close();
      await again.close();
    }
  } finally {
    await client.close();
    await c.close();
  }
});
