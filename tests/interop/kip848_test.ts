// Copyright 2026 the Sluice authors. Apache-2.0 license.
// The consumer group protocol of KIP-848 (`group.protocol=consumer`) with real clients:
// confluent-kafka consumers on librdkafka 2.15.1 (LD_LIBRARY_PATH, `modern_librdkafka.ts`)
// against an in-process Sluice broker. Each consumer is its own process
// (`clients/kip848_consumer.py`): it prints its assignment changes with their times and every
// record, committed synchronously before the next poll. Missing clients fail these tests when
// CI=true (they are skipped otherwise).

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { Admin, Client, Producer } from "../../mod.ts";
import type { ConsumerGroupDescribeResponseDescribedGroup } from "../../protocol/messages/consumer_group_describe.ts";
import { ListGroupsRequest, ListGroupsResponse } from "../../protocol/messages/list_groups.ts";
import { interopTest, startBroker, type TestBroker, uniqueTopic } from "../harness.ts";
import { assertNoDoubleOwnership, describeGroup, Member, waitFor } from "./kip848_member.ts";
import { freePort } from "../etcd.ts";
import { modernLibrdkafka, requireOnModern } from "./modern_librdkafka.ts";
import { runSluice } from "../../cli/testing.ts";

const modern = await modernLibrdkafka();
const confluent = await requireOnModern("confluent-kafka", modern);

/** Each member's assigned partitions (broker's view), when the group is Stable. */
async function stableSplit(client: Client, group: string): Promise<number[][] | null> {
  const d = await describeGroup(client, group);
  if (d.errorCode !== 0 || d.groupState !== "Stable") return null;
  return d.members.map((m) =>
    m.assignment.topicPartitions.flatMap((t) => t.partitions).sort((a, b) => a - b)
  ).sort((a, b) => a[0] - b[0]);
}

async function produce(client: Client, topic: string, from: number, count: number) {
  const producer = new Producer(client);
  await producer.send({
    topic,
    messages: Array.from({ length: count }, (_, i) => ({
      partition: (from + i) % 6,
      value: `r${from + i}`,
    })),
  });
  await producer.close();
}

interopTest(
  confluent,
  "three consumers split 6 partitions 2/2/2; a killed and a leaving member hand theirs over; " +
    "every record consumed once with commits; never two owners",
  async () => {
    const b: TestBroker = await startBroker({
      numPartitions: 6,
      groupConsumerSessionTimeoutMs: 6000,
      groupConsumerHeartbeatIntervalMs: 500,
    });
    const client = new Client({ bootstrapServers: b.bootstrap, retryBackoffMs: 20 });
    const members: Member[] = [];
    try {
      const topic = uniqueTopic("kip848");
      const group = `g-${topic}`;
      await new Admin(client).createTopics([{ name: topic, numPartitions: 6 }]);
      await produce(client, topic, 0, 300);
      const config = { bootstrap: b.bootstrap, group, topic };
      for (const name of ["m0", "m1", "m2"]) members.push(new Member(name, config, modern.env));
      const [m0, m1, m2] = members;

      // joined: the broker's assignment and each client's own view are 2/2/2, disjoint
      await waitFor("a stable 2/2/2 split", async () => {
        const split = await stableSplit(client, group);
        return split !== null && split.length === 3 && split.every((s) => s.length === 2) &&
          members.every((m) => m.owned().size === 2);
      });
      const owned = members.map((m) => [...m.owned()]).flat().sort();
      assertEquals(owned, [0, 1, 2, 3, 4, 5]);
      await waitFor("all 300 records", () => members.flatMap((m) => m.records()).length >= 300);

      // the admin client and `sluice groups` see the members (ConsumerGroupDescribe), as
      // kafka-consumer-groups.sh does
      const [d] = await new Admin(client).describeGroups([group]);
      // (each join bumps the group epoch; every member is at the group's, the target's epoch)
      assertEquals(
        [d.type, d.state, d.protocol, d.targetAssignmentEpoch, d.members.length],
        ["consumer", "Stable", "uniform", d.groupEpoch, 3],
      );
      const owners = new Map<number, string>();
      for (const m of d.members) {
        assertEquals([m.memberEpoch, m.subscription, m.targetAssignment], [
          d.groupEpoch,
          [topic],
          m.assignment,
        ]);
        for (const p of m.assignment[0].partitions) owners.set(p, m.memberId);
      }
      assertEquals([...owners.keys()].sort(), [0, 1, 2, 3, 4, 5]);
      const cli = (...more: string[]) =>
        runSluice([
          "groups",
          "--bootstrap-server",
          b.bootstrap,
          "--describe",
          "--group",
          group,
          ...more,
        ]);
      const rows = (text: string) => text.trim().split("\n").slice(1).map((l) => l.split(/ +/));
      const byMember = await cli("--members");
      assertEquals(byMember.code, 0, byMember.stderr);
      assertEquals(
        rows(byMember.stdout).map((r) => [r[0], r[1], r[r.length - 1]]).sort(),
        d.members.map((m) => [group, m.memberId, "2"]).sort(),
      );
      const table = await cli();
      assertEquals(
        rows(table.stdout).map((r) => [Number(r[2]), r[6]]),
        [0, 1, 2, 3, 4, 5].map((p) => [p, owners.get(p)]),
      );

      // ListGroups v5: a consumer group, Stable
      const listed = await client.send(
        "any",
        { request: ListGroupsRequest, response: ListGroupsResponse },
        ListGroupsRequest.create({ typesFilter: ["consumer"] }),
        { version: 5 },
      );
      const mine = listed.groups.find((g) => g.groupId === group);
      assertEquals(
        [mine?.groupType, mine?.protocolType, mine?.groupState],
        ["consumer", "consumer", "Stable"],
      );

      // a member killed: after the session timeout its partitions go to the others, 3/3
      await m0.kill();
      await waitFor("a stable 3/3 split", async () => {
        const split = await stableSplit(client, group);
        return split !== null && split.length === 2 && split.every((s) => s.length === 3) &&
          m1.owned().size === 3 && m2.owned().size === 3;
      }, 60_000);
      // a member leaving: the last one gets everything
      await m1.close();
      assert(m1.events.some((e) => e.ev === "closed"), m1.stderr);
      await waitFor("m2 owning all 6", async () => {
        const split = await stableSplit(client, group);
        return split !== null && split.length === 1 && m2.owned().size === 6;
      });
      await produce(client, topic, 300, 300);
      await waitFor("all 600 records", () => members.flatMap((m) => m.records()).length >= 600);
      await new Promise((r) => setTimeout(r, 1000)); // any duplicate would show up by now

      assertNoDoubleOwnership(members);
      const all = members.flatMap((m) => m.records());
      assertEquals(all.length, 600, "records consumed more than once");
      assertEquals(new Set(all).size, 600);
      for (const m of members) {
        const errors = m.events.filter((e) => e.ev === "fatal" || e.ev === "commit-error");
        assertEquals(errors, [], `${m.name}: ${m.stderr}`);
      }
      await m2.close();
      await waitFor(
        "an empty group",
        async () => (await describeGroup(client, group)).groupState === "Empty",
      );
    } finally {
      for (const m of members) if (m.killedAt === null) await m.kill().catch(() => {});
      client.close();
      await b.close();
    }
  },
);

interopTest(
  confluent,
  "a broker restart: the group, its members and their partitions come back; consumption goes on",
  async () => {
    // a fixed port, so that the clients find the restarted broker
    const port = freePort();
    const b: TestBroker = await startBroker({
      listeners: `PLAINTEXT://127.0.0.1:${port}`,
      numPartitions: 4,
      groupConsumerSessionTimeoutMs: 6000,
      groupConsumerHeartbeatIntervalMs: 500,
    });
    let client = new Client({ bootstrapServers: b.bootstrap, retryBackoffMs: 20 });
    const members: Member[] = [];
    try {
      const topic = uniqueTopic("kip848r");
      const group = `g-${topic}`;
      await new Admin(client).createTopics([{ name: topic, numPartitions: 6 }]);
      await produce(client, topic, 0, 120);
      const config = { bootstrap: b.bootstrap, group, topic, assignor: "range" };
      for (const name of ["r0", "r1"]) members.push(new Member(name, config, modern.env));
      await waitFor("a stable 3/3 split", async () => {
        const split = await stableSplit(client, group);
        return split !== null && split.length === 2 && split.every((s) => s.length === 3);
      });
      // the range assignor: consecutive partitions
      assertEquals(await stableSplit(client, group), [[0, 1, 2], [3, 4, 5]]);
      assertEquals((await describeGroup(client, group)).assignorName, "range");
      await waitFor("all 120 records", () => members.flatMap((m) => m.records()).length >= 120);
      let lastSeen: unknown = null;

      client.close();
      const restartedAt = Date.now() / 1000;
      await b.restart();
      client = new Client({ bootstrapServers: b.bootstrap, retryBackoffMs: 20 });
      // the members go on at their epochs with their partitions
      await waitFor(
        () => `the group stable again after the restart: ${JSON.stringify(lastSeen)}`,
        async () => {
          lastSeen = await describeGroup(client, group);
          const d = lastSeen as ConsumerGroupDescribeResponseDescribedGroup;
          const split = await stableSplit(client, group);
          return d.errorCode === 0 && split !== null && split.length === 2 &&
            split.every((s) => s.length === 3);
        },
      );
      await produce(client, topic, 120, 120);
      await waitFor("all 240 records", () => members.flatMap((m) => m.records()).length >= 240);
      await new Promise((r) => setTimeout(r, 1000));
      assertNoDoubleOwnership(members);
      const all = members.flatMap((m) => m.records());
      assertEquals(all.length, 240, "records consumed more than once");
      assertEquals(new Set(all).size, 240);
      for (const m of members) {
        assertEquals(m.events.filter((e) => e.ev === "fatal"), [], `${m.name}: ${m.stderr}`);
        // known to the restarted broker, they were not fenced: nothing lost, nothing revoked
        assertEquals(
          m.events.filter((e) => (e.ev === "lost" || e.ev === "revoke") && e.t! > restartedAt),
          [],
          `${m.name}: ${JSON.stringify(m.events.filter((e) => e.ev !== "rec"))}`,
        );
      }
    } finally {
      for (const m of members) await m.kill().catch(() => {});
      client.close();
      await b.close();
    }
  },
);

interopTest(
  confluent,
  "new partitions are assigned; a paused member is fenced after the session timeout and rejoins",
  async () => {
    const b: TestBroker = await startBroker({
      numPartitions: 4,
      groupConsumerSessionTimeoutMs: 6000,
      groupConsumerHeartbeatIntervalMs: 500,
    });
    const client = new Client({ bootstrapServers: b.bootstrap, retryBackoffMs: 20 });
    const members: Member[] = [];
    try {
      const topic = uniqueTopic("kip848p");
      const group = `g-${topic}`;
      await new Admin(client).createTopics([{ name: topic, numPartitions: 6 }]);
      await produce(client, topic, 0, 60);
      const config = { bootstrap: b.bootstrap, group, topic };
      for (const name of ["p0", "p1"]) members.push(new Member(name, config, modern.env));
      const [p0, p1] = members;
      await waitFor("a 3/3 split and 60 records", async () => {
        const split = await stableSplit(client, group);
        return split !== null && split.length === 2 &&
          members.flatMap((m) => m.records()).length >= 60;
      });
      // more partitions: the next heartbeats move the group to a new epoch, 4/4
      const epoch = (await describeGroup(client, group)).groupEpoch;
      await new Admin(client).createPartitions([{ topic, count: 8 }]);
      await waitFor("a 4/4 split of 8 partitions", async () => {
        const split = await stableSplit(client, group);
        return split !== null && split.length === 2 && split.every((s) => s.length === 4) &&
          p0.owned().size === 4 && p1.owned().size === 4;
      });
      assert((await describeGroup(client, group)).groupEpoch > epoch);
      const before = (await describeGroup(client, group)).members.map((m) => m.memberId).sort();
      p1.signal("SIGSTOP");
      await waitFor("p0 alone with all 8", async () => {
        const split = await stableSplit(client, group);
        return split !== null && split.length === 1 && p0.owned().size === 8;
      });
      p1.signal("SIGCONT");
      // p1 learns it was fenced (UNKNOWN_MEMBER_ID), drops its partitions and rejoins
      await waitFor("a 4/4 split again", async () => {
        const split = await stableSplit(client, group);
        return split !== null && split.length === 2 && split.every((s) => s.length === 4) &&
          p0.owned().size === 4 && p1.owned().size === 4;
      });
      assert(p1.events.some((e) => e.ev === "lost"), JSON.stringify(p1.events.slice(-5)));
      const after = (await describeGroup(client, group)).members.map((m) => m.memberId).sort();
      assertEquals(after, before, "p1 rejoins with its member id");
      await produce(client, topic, 60, 60);
      await waitFor("all 120 records", () => members.flatMap((m) => m.records()).length >= 120);
      await new Promise((r) => setTimeout(r, 1000));
      assertNoDoubleOwnership(members);
      const all = members.flatMap((m) => m.records());
      assertEquals(new Set(all).size, 120);
      assertEquals(all.length, 120, "records consumed more than once");
    } finally {
      for (const m of members) await m.kill().catch(() => {});
      client.close();
      await b.close();
    }
  },
);
