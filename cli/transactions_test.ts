// Copyright 2026 the Sluice authors. Apache-2.0 license.
import assert from "node:assert/strict";
import { Broker } from "../server/mod.ts";
import { Admin, Client, Consumer, Producer } from "../client/mod.ts";
import { LogManager } from "../engine/log_manager.ts";
import { encodeRecordBatch } from "../records/batch_builder.ts";
import { runSluice as sluice } from "./testing.ts";
import { kafkaToolTable } from "./transactions.ts";
import { interopTest, PYTHON, requireClient } from "../tests/harness.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const HANGING_PID = 777_000_001;

function start(dir: string): Promise<Broker> {
  return Broker.start({ listeners: "PLAINTEXT://127.0.0.1:0", logDirs: [dir], logLevel: "silent" });
}

async function readCommitted(client: Client, topic: string): Promise<string[]> {
  const consumer = new Consumer(client, { isolationLevel: 1 });
  await consumer.assign([{ topic, partition: 0, offset: "earliest" }]);
  const out: string[] = [];
  for (let i = 0; i < 3; i++) {
    for (const r of await consumer.poll({ maxWaitMs: 300 })) {
      out.push(`${r.offset}:${dec.decode(r.value!)}`);
    }
  }
  await consumer.close();
  return out;
}

/**
 * A broker whose partition hang-0 holds `a`, `b` and, at offset 2, the open transaction of
 * producer 777000001 (epoch 3, 20 minutes old) that no coordinator knows.
 */
async function hangingBroker(dir: string): Promise<{ broker: Broker; born: number }> {
  let broker = await start(dir);
  const b = ["--bootstrap-server", `127.0.0.1:${broker.port}`];
  assert.equal((await sluice(["topics", ...b, "--create", "--topic", "hang"])).code, 0);
  assert.equal((await sluice(["produce", ...b, "--topic", "hang"], "a\nb\n")).code, 0);
  await broker.close();
  // The hanging case Kafka's tool is for: a transactional batch on a partition its coordinator
  // never heard of (AddPartitionsToTxn skipped). Sluice's Produce refuses that
  // (INVALID_TXN_STATE), so the batch goes into the log as a broker without that check would
  // have stored it, 20 minutes old, by producer id 777000001, which no coordinator knows.
  const born = Date.now() - 20 * 60_000;
  const logs = await LogManager.open(dir);
  await logs.partition("hang", 0)!.append(encodeRecordBatch(
    [{ key: null, value: enc.encode("stuck") }],
    {
      producerId: HANGING_PID,
      producerEpoch: 3,
      baseSequence: 0,
      transactional: true,
      timestamp: born,
    },
  ));
  await logs.close();
  broker = await start(dir);
  return { broker, born };
}

Deno.test("kafkaToolTable pads columns and ends each cell with a tab, as Kafka's tool", () => {
  assert.equal(kafkaToolTable(["A", "BB"], [["xyz", "1"]]), "A  \tBB\t\nxyz\t1 \t\n");
  assert.equal(kafkaToolTable(["Topic"], []), "Topic\t\n");
});

Deno.test("sluice transactions: a hanging transaction is found, aborted, and the LSO moves on", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sluice_cli_txn_" });
  const { broker, born } = await hangingBroker(dir);
  const b = ["--bootstrap-server", `127.0.0.1:${broker.port}`];
  /** `sluice transactions` on this broker with `args`. */
  const transactions = (...args: string[]) => sluice(["transactions", ...b, ...args]);
  const client = new Client({ bootstrapServers: `127.0.0.1:${broker.port}`, retryBackoffMs: 20 });
  const admin = new Admin(client);
  try {
    // a live transactional producer, to list and describe
    const producer = new Producer(client, { transactionalId: "tx-live" });
    await producer.initTransactions();
    await producer.beginTransaction();
    await producer.send({ topic: "hang", messages: [{ partition: 0, value: enc.encode("live") }] });
    const lso = async () =>
      (await admin.listOffsets([{ topic: "hang", partition: 0, spec: "latest" }], {
        isolationLevel: "read_committed",
      }))[0].offset;
    assert.equal(await lso(), 2); // held by the hanging transaction at offset 2
    assert.deepEqual(await readCommitted(client, "hang"), ["0:a", "1:b"]);

    const listed = await transactions("list");
    assert.equal(listed.code, 0, listed.stderr);
    const [livePid] = (await admin.describeTransactions(["tx-live"])).map((d) => d.producerId);
    assert.equal(
      listed.stdout,
      kafkaToolTable(
        ["TransactionalId", "Coordinator", "ProducerId", "TransactionState"],
        [["tx-live", "1", String(livePid), "Ongoing"]],
      ),
    );
    const described = await transactions("describe", "--transactional-id", "tx-live");
    assert.equal(described.code, 0, described.stderr);
    const [head, row] = described.stdout.split("\n");
    assert.match(
      head,
      /^CoordinatorId\tTransactionalId\tProducerId\tProducerEpoch\tTransactionState/,
    );
    const cells = row.split("\t").map((c) => c.trim());
    assert.deepEqual(
      [cells[0], cells[1], cells[2], cells[3], cells[4], cells[5], cells[8]],
      ["1", "tx-live", String(livePid), "0", "Ongoing", "60000", "hang-0"],
    );
    assert.ok(Number(cells[7]) >= 0 && Number(cells[7]) < 60_000, row);

    // describe-producers: the hanging producer and the live one, exact columns
    const producers = await transactions(
      "describe-producers",
      "--topic",
      "hang",
      "--partition",
      "0",
    );
    assert.equal(producers.code, 0, producers.stderr);
    const hangingRow = [String(HANGING_PID), "3", "-1", "0", String(born), "2"];
    assert.ok(
      producers.stdout.split("\n").some((l) =>
        l.split("\t").map((c) => c.trim()).slice(0, 6).join(" ") === hangingRow.join(" ")
      ),
      producers.stdout,
    );

    // find-hanging: only the unknown producer's transaction (the live one is younger and held
    // by its coordinator)
    const header = [
      "Topic",
      "Partition",
      "ProducerId",
      "ProducerEpoch",
      "CoordinatorEpoch",
      "StartOffset",
      "LastTimestamp",
      "Duration(min)",
    ];
    const found = await transactions("find-hanging", "--broker-id", "1");
    assert.equal(found.code, 0, found.stderr);
    assert.equal(
      found.stdout,
      kafkaToolTable(header, [[
        "hang",
        "0",
        String(HANGING_PID),
        "3",
        "-1",
        "2",
        String(born),
        "20",
      ]]),
    );
    // the live transaction, 0 minutes old, is not hanging even with no timeout: its
    // coordinator holds hang-0
    const byTopic = await transactions(
      "find-hanging",
      "--topic",
      "hang",
      "--max-transaction-timeout",
      "0",
    );
    assert.equal(byTopic.stdout, found.stdout);

    // abort by start offset: the wrong one is refused, the right one writes the marker
    const abortAt = (offset: number) =>
      transactions(
        "abort",
        "--topic",
        "hang",
        "--partition",
        "0",
        "--start-offset",
        String(offset),
      );
    const wrong = await abortAt(1);
    assert.deepEqual(wrong, {
      code: 1,
      stdout: "",
      stderr:
        "sluice transactions: Could not find any open transactions starting at offset 1 on partition hang-0\n",
    });
    const aborted = await abortAt(2);
    assert.deepEqual(aborted, { code: 0, stdout: "", stderr: "" });
    // the live transaction (offset 3) now holds the LSO; committing it frees the log end
    assert.equal(await lso(), 3);
    assert.equal(
      (await transactions("find-hanging", "--topic", "hang")).stdout,
      kafkaToolTable(header, []),
    );
    await producer.commitTransaction();
    assert.equal(await lso(), 6); // 2 stuck, 3 live, 4 ABORT marker, 5 COMMIT marker
    assert.deepEqual(await readCommitted(client, "hang"), ["0:a", "1:b", "3:live"]);
    await producer.close();
  } finally {
    await client.close();
    await broker.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("sluice transactions abort by producer id, epoch and coordinator epoch", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sluice_cli_txn_pid_" });
  const { broker } = await hangingBroker(dir);
  const b = ["--bootstrap-server", `127.0.0.1:${broker.port}`];
  /** `sluice transactions` on this broker with `args`. */
  const transactions = (...args: string[]) => sluice(["transactions", ...b, ...args]);
  const client = new Client({ bootstrapServers: `127.0.0.1:${broker.port}`, retryBackoffMs: 20 });
  const abort = (epoch: string) =>
    transactions(
      "abort",
      "--topic",
      "hang",
      "--partition",
      "0",
      "--producer-id",
      String(HANGING_PID),
      "--producer-epoch",
      epoch,
      "--coordinator-epoch",
      "-1",
    );
  try {
    // an older epoch than the producer's is refused by the partition, nothing written
    assert.deepEqual(await abort("2"), {
      code: 1,
      stdout: "",
      stderr: `sluice transactions: Failed to abort transaction {topicPartition=hang-0, ` +
        `producerId=${HANGING_PID}, producerEpoch=2, coordinatorEpoch=0}: abort transaction on ` +
        `hang-0: INVALID_PRODUCER_EPOCH\n`,
    });
    assert.deepEqual(await abort("3"), { code: 0, stdout: "", stderr: "" });
    const [end] = await new Admin(client).listOffsets([{
      topic: "hang",
      partition: 0,
      spec: "latest",
    }], { isolationLevel: "read_committed" });
    assert.equal(end.offset, 4); // a, b, stuck, ABORT marker
    assert.deepEqual(await readCommitted(client, "hang"), ["0:a", "1:b"]);
  } finally {
    await client.close();
    await broker.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("sluice transactions: bad input is one line, no stack", async () => {
  const cases: [string[], string][] = [
    [[], "a command is required (list, describe, describe-producers, find-hanging, abort)"],
    [
      ["frob"],
      'unknown command "frob" (expected list, describe, describe-producers, find-hanging, abort)',
    ],
    [["describe"], "describe needs --transactional-id"],
    [["list", "--topic", "t"], "list does not take --topic"],
    [["describe-producers", "--topic", "t"], "describe-producers needs --partition"],
    [
      ["find-hanging"],
      "The `find-hanging` command requires either --topic or --broker-id to limit the scope of the search",
    ],
    [
      ["find-hanging", "--broker-id", "1", "--partition", "0"],
      "The --partition argument requires --topic to be provided",
    ],
    [
      ["abort", "--topic", "t", "--partition", "0"],
      "The transaction to abort must be identified either with --start-offset or with --producer-id, --producer-epoch, and --coordinator-epoch",
    ],
    [
      ["abort", "--topic", "t", "--partition", "0", "--producer-id", "5"],
      "Missing required argument --producer-epoch",
    ],
    [
      ["abort", "--topic", "t", "--partition", "x", "--start-offset", "1"],
      'invalid --partition "x": expected an integer >= 0',
    ],
  ];
  for (const [args, message] of cases) {
    assert.deepEqual(await sluice(["transactions", ...args]), {
      code: 2,
      stdout: "",
      stderr: `sluice transactions: ${message}\n`,
    }, args.join(" "));
  }
});

interopTest(
  requireClient("confluent-kafka"),
  "a SIGKILLed transactional producer's transaction is open, not hanging, and aborted by its coordinator",
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "sluice_cli_txn_kill_" });
    const broker = await start(dir);
    const b = ["--bootstrap-server", `127.0.0.1:${broker.port}`];
    /** `sluice transactions` on this broker with `args`. */
    const transactions = (...args: string[]) => sluice(["transactions", ...b, ...args]);
    try {
      assert.equal((await sluice(["topics", ...b, "--create", "--topic", "k"])).code, 0);
      // librdkafka (Debian's python3-confluent-kafka) writes in a transaction, then kills itself
      const script = `
import os, signal
from confluent_kafka import Producer
p = Producer({"bootstrap.servers": "127.0.0.1:${broker.port}", "transactional.id": "killed",
              "transaction.timeout.ms": 3000})
p.init_transactions()
p.begin_transaction()
p.produce("k", b"half", partition=0)
p.flush()
os.kill(os.getpid(), signal.SIGKILL)
`;
      const out = await new Deno.Command(PYTHON, { args: ["-c", script], stderr: "piped" })
        .output();
      assert.equal(out.signal, "SIGKILL", new TextDecoder().decode(out.stderr));
      const listed = await transactions("list");
      assert.match(listed.stdout.split("\n")[1], /^killed\s*\t1\s*\t\d+\s*\tOngoing\s*\t$/);
      const producers =
        (await transactions("describe-producers", "--topic", "k", "--partition", "0")).stdout.split(
          "\n",
        )[1].split("\t").map((c) => c.trim());
      assert.deepEqual([producers[1], producers[2], producers[3], producers[5]], [
        "0",
        "-1",
        "0",
        "0",
      ]);
      // open but held by its coordinator: not hanging, even with no timeout
      const header =
        "Topic\tPartition\tProducerId\tProducerEpoch\tCoordinatorEpoch\tStartOffset\t" +
        "LastTimestamp\tDuration(min)\t\n";
      assert.deepEqual(
        await transactions("find-hanging", "--topic", "k", "--max-transaction-timeout", "0"),
        { code: 0, stdout: header, stderr: "" },
      );
      // the coordinator aborts it after transaction.timeout.ms (3 s): the LSO passes the marker
      const client = new Client({ bootstrapServers: `127.0.0.1:${broker.port}` });
      try {
        const admin = new Admin(client);
        let lso = -1;
        for (let i = 0; i < 100 && lso !== 2; i++) {
          await new Promise((r) => setTimeout(r, 200));
          lso = (await admin.listOffsets([{ topic: "k", partition: 0, spec: "latest" }], {
            isolationLevel: "read_committed",
          }))[0].offset;
        }
        assert.equal(lso, 2); // the record at 0, the ABORT marker at 1
        const after = await transactions("list");
        assert.match(after.stdout.split("\n")[1], /^killed\s*\t1\s*\t\d+\s*\tCompleteAbort\s*\t$/);
      } finally {
        await client.close();
      }
    } finally {
      await broker.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
);
