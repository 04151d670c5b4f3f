// Copyright 2026 the Sluice authors. Apache-2.0 license.
// Our client's transactions against a real one (confluent-kafka / librdkafka, through
// clients/confluent_txn_client.py): a librdkafka read_committed consumer sees exactly what our
// transactional producer committed (read_uncommitted also the aborted records), our
// read_committed consumers (plain and group) see exactly what a librdkafka transactional producer
// committed, and a librdkafka consume–transform–produce transaction's offsets are what our
// group consumer resumes from.

import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { Admin, Client, Consumer, GroupConsumer, Producer } from "../../client/mod.ts";
import {
  interopTest,
  requireClient,
  runClientScript,
  sharedBroker,
  uniqueTopic,
} from "../harness.ts";

const confluent = requireClient("confluent-kafka");
const broker = sharedBroker({ numPartitions: 1 });
const td = new TextDecoder();

interface Rec {
  offset: number;
  value: string;
}

async function pyRead(bootstrap: string, topic: string, isolation: string, count: number) {
  const r = await runClientScript<{ records: Rec[] }>("confluent_txn_client.py", "consume", {
    bootstrap,
    topic,
    isolation,
    count,
    idle_ms: 1500,
  }, 60_000);
  return r.records;
}

/** Partition 0 of `topic` read to its end offset by our consumer. */
async function ourRead(client: Client, topic: string, isolationLevel: 0 | 1): Promise<Rec[]> {
  const [end] = await new Admin(client).listOffsets([{ topic, partition: 0, spec: "latest" }]);
  const consumer = new Consumer(client, { fromBeginning: true, maxWaitMs: 50, isolationLevel });
  const out: Rec[] = [];
  try {
    await consumer.assign([{ topic, partition: 0 }]);
    for (let i = 0; i < 400 && consumer.assignment()[0].offset < end.offset; i++) {
      for (const r of await consumer.poll()) {
        out.push({ offset: r.offset, value: td.decode(r.value!) });
      }
    }
  } finally {
    await consumer.close();
  }
  return out;
}

interopTest(confluent, "librdkafka read_committed sees exactly our committed records", async () => {
  const { bootstrap } = await broker();
  const client = new Client({ bootstrapServers: bootstrap, retryBackoffMs: 20 });
  try {
    const topic = uniqueTopic("ours-to-confluent");
    await new Admin(client).createTopics([{ name: topic, numPartitions: 1 }]);
    const producer = new Producer(client, { transactionalId: `tid-${topic}` });
    await producer.initTransactions();
    const plan: Array<[string[], boolean]> = [
      [["c1", "c2"], true],
      [["a1", "a2", "a3"], false],
      [["c3"], true],
      [["a4"], false],
      [["c4", "c5"], true],
    ];
    for (const [values, commit] of plan) {
      producer.beginTransaction();
      await producer.send({ topic, messages: values.map((value) => ({ value })) });
      if (commit) await producer.commitTransaction();
      else await producer.abortTransaction();
    }
    await producer.close();
    // Offsets: c1 0, c2 1, COMMIT 2, a1-a3 3-5, ABORT 6, c3 7, COMMIT 8, a4 9, ABORT 10,
    // c4 11, c5 12, COMMIT 13.
    const committed = [
      { offset: 0, value: "c1" },
      { offset: 1, value: "c2" },
      { offset: 7, value: "c3" },
      { offset: 11, value: "c4" },
      { offset: 12, value: "c5" },
    ];
    assertEquals(await pyRead(bootstrap, topic, "read_committed", 5), committed);
    const all = (await pyRead(bootstrap, topic, "read_uncommitted", 9)).map((r) => r.value);
    assertEquals(all, ["c1", "c2", "a1", "a2", "a3", "c3", "a4", "c4", "c5"]);
    // Our own consumer agrees with librdkafka on both.
    assertEquals(await ourRead(client, topic, 1), committed);
    assertEquals((await ourRead(client, topic, 0)).map((r) => r.value), all);
  } finally {
    await client.close();
  }
});

interopTest(
  confluent,
  "our read_committed consumers see exactly librdkafka's committed records",
  async () => {
    const { bootstrap } = await broker();
    const client = new Client({ bootstrapServers: bootstrap, retryBackoffMs: 20 });
    try {
      const topic = uniqueTopic("confluent-to-ours");
      await runClientScript("confluent_txn_client.py", "transactions", {
        bootstrap,
        topic,
        transactional_id: `tid-${topic}`,
        transactions: [
          { values: ["c1", "c2"], commit: true },
          { values: ["a1"], commit: false },
          { values: ["c3"], commit: true },
          { values: ["a2", "a3"], commit: false },
          { values: ["c4"], commit: true },
        ],
      }, 60_000);
      const expected = ["c1", "c2", "c3", "c4"];
      assertEquals((await ourRead(client, topic, 1)).map((r) => r.value), expected);
      assertEquals(
        (await ourRead(client, topic, 0)).map((r) => r.value),
        ["c1", "c2", "a1", "c3", "a2", "a3", "c4"],
      );
      const member = new GroupConsumer(client, {
        groupId: `g-${topic}`,
        autoOffsetReset: "earliest",
        autoCommit: false,
        isolationLevel: "read_committed",
        maxWaitMs: 100,
      });
      member.subscribe([topic]);
      const got: string[] = [];
      for (let i = 0; i < 100 && got.length < 4; i++) {
        for (const r of await member.poll({ maxWaitMs: 100 })) got.push(td.decode(r.value!));
      }
      // Nothing more: the aborted records and markers are behind its position.
      for (let i = 0; i < 3; i++) {
        for (const r of await member.poll({ maxWaitMs: 100 })) got.push(td.decode(r.value!));
      }
      assertEquals(got, expected);
      await member.close();
    } finally {
      await client.close();
    }
  },
);

interopTest(
  confluent,
  "offsets a librdkafka transaction committed are where our group resumes",
  async () => {
    const { bootstrap } = await broker();
    const client = new Client({ bootstrapServers: bootstrap, retryBackoffMs: 20 });
    try {
      const input = uniqueTopic("confluent-copy-in");
      const output = uniqueTopic("confluent-copy-out");
      const group = `g-${input}`;
      await new Admin(client).createTopics([
        { name: input, numPartitions: 1 },
        { name: output, numPartitions: 1 },
      ]);
      const plain = new Producer(client);
      await plain.send({
        topic: input,
        messages: ["a", "b", "c", "d"].map((value) => ({ value })),
      });
      await runClientScript("confluent_txn_client.py", "copy", {
        bootstrap,
        input,
        output,
        group,
        transactional_id: `tid-${input}`,
        count: 3,
      }, 60_000);
      // librdkafka copied 3 records (or all 4 it read: `count` is a minimum) in one transaction
      // with the input offsets; our member resumes right after what was copied.
      const copied = (await ourRead(client, output, 1)).map((r) => r.value);
      const member = new GroupConsumer(client, {
        groupId: group,
        autoCommit: false,
        isolationLevel: "read_committed",
        maxWaitMs: 100,
      });
      member.subscribe([input]);
      const rest: string[] = [];
      for (let i = 0; i < 30 && rest.length + copied.length < 4; i++) {
        for (const r of await member.poll({ maxWaitMs: 100 })) rest.push(td.decode(r.value!));
      }
      assertEquals([...copied.map((v) => v.toLowerCase()), ...rest], ["a", "b", "c", "d"]);
      await member.close();
      // And the reverse: our transaction's offsets are what librdkafka's group sees.
      const producer = new Producer(client, { transactionalId: `tid2-${input}` });
      await producer.initTransactions();
      producer.beginTransaction();
      await producer.sendOffsetsToTransaction([{ topic: input, partition: 0, offset: 2 }], {
        groupId: `${group}-2`,
        generationId: -1,
        memberId: "",
        groupInstanceId: null,
      });
      await producer.commitTransaction();
      await producer.close();
      const c = await runClientScript<{ offsets: Record<string, number | null> }>(
        "confluent_client.py",
        "committed",
        { bootstrap, group: `${group}-2`, topic: input, partitions: [0] },
        60_000,
      );
      assertEquals(c.offsets, { "0": 2 });
    } finally {
      await client.close();
    }
  },
);
