import assert from "node:assert/strict";
import { CONSUME_HELP, formatRecord, runConsume } from "./consume.ts";
import { UsageError } from "./args.ts";
import { formatTopicDescription } from "./topics.ts";
import { readLines } from "./produce.ts";

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
