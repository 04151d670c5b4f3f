import assert from "node:assert/strict";
import { CONSUME_HELP, formatRecord, runConsume } from "./consume.ts";
import { UsageError } from "./args.ts";
import { formatTopicDescription } from "./topics.ts";
import { readLines } from "./produce.ts";
import { runSluice } from "./testing.ts";
import { startBroker } from "../tests/harness.ts";
import { Admin, Client, Producer } from "../client/mod.ts";

const te = new TextEncoder();
const record = {
  topic: "t",
  partition: 2,
  offset: 17,
  timestamp: 1_700_000_000_000,
  key: te.encode("k"),
  value: te.encode("v"),
  headers: [{ key: "h1", value: te.encode("x") }, { key: "h2", value: null }],
  leaderEpoch: 0,
};

Deno.test("formatRecord() prints fields in DefaultMessageFormatter order", () => {
  assert.equal(formatRecord(record, {}), "v\n");
  assert.equal(
    formatRecord(record, {
      printTimestamp: true,
      printPartition: true,
      printOffset: true,
      printHeaders: true,
      printKey: true,
    }),
    "CreateTime:1700000000000\tPartition:2\tOffset:17\th1:x,h2:null\tk\tv\n",
  );
  assert.equal(
    formatRecord({ ...record, key: null, value: null, headers: [] }, {
      printKey: true,
      printHeaders: true,
      keySeparator: " | ",
      lineSeparator: "\r\n",
    }),
    "NO_HEADERS | null | null\r\n",
  );
  assert.equal(formatRecord(record, { printKey: true, printValue: false }), "k\n");
});

Deno.test("formatTopicDescription() matches kafka-topics --describe", () => {
  const text = formatTopicDescription(
    {
      name: "teste",
      topicId: "AAAAAAAAAAAAAAAAAAAAAQ",
      internal: false,
      partitions: [
        { partition: 0, leader: 1, replicas: [1], isr: [1], offlineReplicas: [] },
        { partition: 1, leader: -1, replicas: [1, 2], isr: [], offlineReplicas: [1] },
      ],
    },
    { "cleanup.policy": "compact", "retention.ms": "1000" },
  );
  assert.equal(
    text,
    "Topic: teste\tTopicId: AAAAAAAAAAAAAAAAAAAAAQ\tPartitionCount: 2\tReplicationFactor: 1\t" +
      "Configs: cleanup.policy=compact,retention.ms=1000\n" +
      "\tTopic: teste\tPartition: 0\tLeader: 1\tReplicas: 1\tIsr: 1\n" +
      "\tTopic: teste\tPartition: 1\tLeader: none\tReplicas: 1,2\tIsr: ",
  );
});

Deno.test("readLines() splits on LF and CRLF across chunk boundaries", async () => {
  const chunks = ["Teste", "123\r", "\n12", "3\n\nlast"].map((s) => te.encode(s));
  const stream = ReadableStream.from(chunks);
  const lines: string[] = [];
  for await (const l of readLines(stream)) lines.push(l);
  assert.deepEqual(lines, ["Teste123", "123", "", "last"]);
});

Deno.test("sluice consume --client-rack: in the help; an empty rack is refused before connecting", async () => {
  assert.match(
    CONSUME_HELP,
    /^ {2}--client-rack RACK {15}The consumer's rack \(client\.rack, KIP-392\)/m,
  );
  const io = {
    stdout: () => {},
    stderr: () => {},
    stdin: new ReadableStream<Uint8Array>(),
    stdinIsTerminal: false,
  };
  await assert.rejects(
    runConsume(["--bootstrap-server", "127.0.0.1:1", "--topic", "t", "--client-rack", ""], io),
    (e: unknown) => e instanceof UsageError && e.message === "--client-rack needs a non-empty rack",
  );
});

Deno.test("sluice consume --group-protocol consumer: a KIP-848 member prints and commits; bad values refused", async () => {
  const broker = await startBroker({ groupConsumerHeartbeatIntervalMs: 200 });
  const client = new Client({ bootstrapServers: broker.bootstrap, retryBackoffMs: 20 });
  try {
    const admin = new Admin(client);
    await admin.createTopics([{ name: "t", numPartitions: 1 }]);
    const producer = new Producer(client);
    await producer.send({ topic: "t", messages: ["a", "b", "c"].map((value) => ({ value })) });
    await producer.close();
    const b = ["--bootstrap-server", broker.bootstrap, "--topic", "t", "--group", "g"];
    const kip848 = [...b, "--group-protocol", "consumer"];
    assert.deepEqual(
      await runSluice(["consume", ...kip848, "--from-beginning", "--max-messages", "2"]),
      { code: 0, stdout: "a\nb\n", stderr: "Processed a total of 2 messages\n" },
    );
    // committed with the member epoch (OffsetCommit v9), then the member left: an Empty
    // consumer-protocol group
    assert.deepEqual((await admin.listConsumerGroupOffsets("g")).map((o) => o.offset), [2]);
    const [d] = await admin.describeGroups(["g"]);
    assert.deepEqual([d.type, d.state, d.members.length], ["consumer", "Empty", 0]);
    assert.deepEqual(
      (await runSluice(["consume", ...kip848, "--max-messages", "1"])).stdout,
      "c\n",
    );
    const bad = await runSluice(["consume", ...b, "--group-protocol", "modern"]);
    assert.deepEqual([
      bad.code,
      bad.stderr.includes(
        'invalid --group-protocol "modern": expected classic or consumer',
      ),
    ], [2, true]);
    const noGroup = await runSluice([
      "consume",
      "--bootstrap-server",
      broker.bootstrap,
      "--topic",
      "t",
      "--group-protocol",
      "consumer",
    ]);
    assert.deepEqual([noGroup.code, noGroup.stderr.includes("--group-protocol needs --group")], [
      2,
      true,
    ]);
  } finally {
    await client.close();
    await broker.close();
  }
});
