// Copyright 2026 the Sluice authors. Apache-2.0 license.
// Regex subscriptions of the consumer group protocol (KIP-848) with a real client: a
// confluent-kafka consumer on librdkafka 2.15.1 (`group.protocol=consumer`) subscribes to
// "^prefix-.*", which librdkafka sends to the broker as ConsumerGroupHeartbeat v1's
// SubscribedTopicRegex ("(^prefix-.*)"); the broker resolves it against its topics. Missing
// clients fail these tests when CI=true (they are skipped otherwise).

import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { Admin, Client, Producer } from "../../mod.ts";
import { interopTest, startBroker, type TestBroker, uniqueTopic } from "../harness.ts";
import { describeGroup, Member, waitFor } from "./kip848_member.ts";
import { freePort } from "../etcd.ts";
import { modernLibrdkafka, requireOnModern } from "./modern_librdkafka.ts";
import { runSluice } from "../../cli/testing.ts";

const modern = await modernLibrdkafka();
const confluent = await requireOnModern("confluent-kafka", modern);

/** The member's assigned "topic:partition"s as the broker describes them. */
async function assigned(client: Client, group: string): Promise<string[] | null> {
  const d = await describeGroup(client, group);
  if (d.errorCode !== 0 || d.groupState !== "Stable" || d.members.length !== 1) return null;
  return d.members[0].assignment.topicPartitions.flatMap((t) =>
    t.partitions.map((p) => `${t.topicName}:${p}`)
  ).sort();
}

async function produce(client: Client, topic: string, values: string[], partitions = 1) {
  const producer = new Producer(client);
  await producer.send({
    topic,
    messages: values.map((value, i) => ({ partition: i % partitions, value })),
  });
  await producer.close();
}

/** The "topic:partition"s the client owns, from its assign/revoke/lost events. */
function owned(m: Member): string[] {
  const out = new Set<string>();
  for (const e of m.events) {
    for (const [t, p] of e.tps ?? []) {
      if (e.ev === "assign") out.add(`${t}:${p}`);
      if (e.ev === "revoke" || e.ev === "lost") out.delete(`${t}:${p}`);
    }
  }
  return [...out].sort();
}

const range = (prefix: string, from: number, to: number) =>
  Array.from({ length: to - from }, (_, i) => `${prefix}${from + i}`);

interopTest(
  confluent,
  "a regex subscription: matching topics created before and after subscribing, a deleted " +
    "topic, a non-matching one, a broker restart; every record consumed once",
  async () => {
    // a fixed port, so that the client finds the restarted broker
    const port = freePort();
    const b: TestBroker = await startBroker({
      listeners: `PLAINTEXT://127.0.0.1:${port}`,
      groupConsumerSessionTimeoutMs: 6000,
      groupConsumerHeartbeatIntervalMs: 500,
      groupConsumerRegexRefreshIntervalMs: 1000,
    });
    let client = new Client({ bootstrapServers: b.bootstrap, retryBackoffMs: 20 });
    let member: Member | undefined;
    try {
      const prefix = uniqueTopic("rx");
      const [ta, tb, other] = [`${prefix}-a`, `${prefix}-b`, `x-${prefix}-a`];
      const group = `g-${prefix}`;
      let admin = new Admin(client);
      await admin.createTopics([
        { name: ta, numPartitions: 2 },
        { name: other, numPartitions: 1 },
      ]);
      await produce(client, ta, range("a", 0, 10), 2);
      await produce(client, other, range("x", 0, 5));
      member = new Member("rx0", { bootstrap: b.bootstrap, group, topic: `^${prefix}-.*` }, {
        ...modern.env,
      });
      const m = member;
      const records = () => m.events.filter((e) => e.ev === "rec").map((e) => `${e.topic}/${e.v}`);
      const waitRecords = (n: number) =>
        waitFor(
          () => `${n} records, got ${JSON.stringify(records())}: ${m.stderr}`,
          () => records().length >= n,
        );

      // the topic that existed: both partitions, its 10 records; the other topic never
      await waitFor(
        "a's partitions",
        async () =>
          JSON.stringify(await assigned(client, group)) === JSON.stringify([`${ta}:0`, `${ta}:1`]),
      );
      await waitRecords(10);
      const d = await describeGroup(client, group);
      assertEquals(
        d.members.map((x) => [x.subscribedTopicNames, x.subscribedTopicRegex]),
        [[[], `(^${prefix}-.*)`]],
      );

      // the admin client and `sluice groups --output json` show the member's regex
      const [described] = await admin.describeGroups([group]);
      assertEquals(
        described.members.map((x) => [x.subscription, x.subscribedTopicRegex]),
        [[[], `(^${prefix}-.*)`]],
      );
      const json = await runSluice([
        "groups",
        "--bootstrap-server",
        b.bootstrap,
        "--describe",
        "--group",
        group,
        "--output",
        "json",
      ]);
      assertEquals(
        JSON.parse(json.stdout).members.map((x: { subscribedTopicRegex?: string }) =>
          x.subscribedTopicRegex
        ),
        [`(^${prefix}-.*)`],
      );

      // a matching topic created after subscribing joins the assignment (refresh: 1 s here)
      await admin.createTopics([{ name: tb, numPartitions: 1 }]);
      await produce(client, tb, range("b", 0, 5));
      await waitFor(
        "b's partition too",
        async () =>
          JSON.stringify(await assigned(client, group)) ===
            JSON.stringify([`${ta}:0`, `${ta}:1`, `${tb}:0`]),
      );
      await waitRecords(15);

      // the first topic deleted: its partitions leave the assignment
      await admin.deleteTopics([ta]);
      await waitFor(
        "only b's partition",
        async () => JSON.stringify(await assigned(client, group)) === JSON.stringify([`${tb}:0`]),
      );
      await waitFor(
        () => `a's partitions revoked by the client: ${JSON.stringify(m.events)}`,
        () => JSON.stringify(owned(m)) === JSON.stringify([`${tb}:0`]),
      );

      // a broker restart: the member goes on with its partition (the regex and its
      // resolution stored); the records produced after it are consumed once
      const eventsBefore = m.events.length;
      client.close();
      await b.restart();
      client = new Client({ bootstrapServers: b.bootstrap, retryBackoffMs: 20 });
      admin = new Admin(client);
      await produce(client, tb, range("b", 5, 10));
      await produce(client, other, range("x", 5, 10));
      await waitRecords(20);
      assertEquals(await assigned(client, group), [`${tb}:0`]);
      const after = m.events.slice(eventsBefore);
      assertEquals(after.filter((e) => e.ev === "revoke" || e.ev === "lost"), []);

      await new Promise((r) => setTimeout(r, 1000)); // nothing else arrives
      assertEquals(
        records().sort(),
        [...range(`${ta}/a`, 0, 10), ...range(`${tb}/b`, 0, 10)].sort(),
      );
      assertEquals(m.events.filter((e) => e.ev === "fatal"), [], m.stderr);
      await m.close();
      member = undefined;
      await waitFor(
        "an empty group",
        async () => (await describeGroup(client, group)).groupState === "Empty",
      );
    } finally {
      if (member !== undefined) await member.kill().catch(() => {});
      client.close();
      await b.close();
    }
  },
);

interopTest(
  confluent,
  "an invalid regex: the broker answers INVALID_REGULAR_EXPRESSION (128), fatal for the client",
  async () => {
    const b: TestBroker = await startBroker({ groupConsumerHeartbeatIntervalMs: 500 });
    const client = new Client({ bootstrapServers: b.bootstrap, retryBackoffMs: 20 });
    let member: Member | undefined;
    try {
      const group = `g-${uniqueTopic("rxbad")}`;
      // valid for librdkafka's own regex library, refused by RE2: a backreference
      member = new Member("rxbad", { bootstrap: b.bootstrap, group, topic: "^(a)\\1" }, {
        ...modern.env,
      });
      const m = member;
      // librdkafka 2.15.1 knows code 128 and makes it fatal for the consumer
      await waitFor(
        () => `an error event: ${JSON.stringify(m.events)} ${m.stderr}`,
        () => m.events.some((e) => e.ev === "error"),
      );
      assertEquals(
        m.events.filter((e) => e.ev === "error").map((e) => e.error),
        [
          'KafkaError{code=_FATAL,val=-150,str="Fatal error: Broker: The regular expression is ' +
          "not valid: ConsumerGroupHeartbeat fatal error: Broker: The regular expression is not " +
          'valid"}',
        ],
      );
      // the group was never created
      assertEquals((await describeGroup(client, group)).errorCode, 69); // GROUP_ID_NOT_FOUND
    } finally {
      if (member !== undefined) await member.kill().catch(() => {});
      client.close();
      await b.close();
    }
  },
);
