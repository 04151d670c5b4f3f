// Copyright 2026 the Sluice authors. Apache-2.0 license.
// Transactional offset commits across brokers (three in-process brokers on a real etcd, RF=3,
// min.insync.replicas=2): confluent-kafka's consume-transform-produce with
// send_offsets_to_transaction, the group's coordinator on one broker and the transaction's on
// another. As Kafka's: TxnOffsetCommit goes to the group coordinator, which writes the offsets
// to __consumer_offsets as a transactional batch of the producer; the transaction coordinator's
// marker on that partition (WriteTxnMarkers to the other broker) commits them, an abort leaves
// them uncommitted. The group's next coordinator (its first one stopped) replays the same
// outcome from the log, and a new consumer of the group resumes there.
import { deepStrictEqual as assertEquals, ok, strictEqual } from "node:assert/strict";
import { Admin, Client, Connection, Producer } from "../../client/mod.ts";
import { ErrorCode } from "../../protocol/errors.ts";
import {
  FindCoordinatorRequest,
  FindCoordinatorResponse,
} from "../../protocol/messages/find_coordinator.ts";
import type { Broker } from "../../server/mod.ts";
import { requireEtcd, sharedEtcd } from "../etcd.ts";
import { PYTHON, requireClient } from "../harness.ts";
import { type InProcessCluster, startCluster, until } from "./harness.ts";

const etcdReq = requireEtcd();
const confluent = requireClient("confluent-kafka");
const etcd = sharedEtcd();
const INPUT = "eos-in";
const OUTPUT = "eos-out";
/** Records per transaction. */
const PER_TXN = 10;

async function coordinatorOf(b: Broker, key: string, keyType: number): Promise<number> {
  const conn = await Connection.connect({ host: "127.0.0.1", port: b.port });
  try {
    const res = await conn.send(
      { request: FindCoordinatorRequest, response: FindCoordinatorResponse },
      FindCoordinatorRequest.create({ key, keyType }),
      { version: 3 },
    );
    return res.errorCode === ErrorCode.NONE ? res.nodeId : -1;
  } finally {
    conn.close();
  }
}

/** Runs `txn_client.py <mode> <spec>` to its end; its output lines. */
async function script(mode: string, spec: Record<string, unknown>): Promise<string[]> {
  const out = await new Deno.Command(PYTHON, {
    args: [new URL("./txn_client.py", import.meta.url).pathname, mode, JSON.stringify(spec)],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const lines = new TextDecoder().decode(out.stdout).split("\n").filter((l) => l !== "");
  const failed = lines.find((l) => l.startsWith("F "));
  if (failed !== undefined || !out.success) {
    throw new Error(
      `txn_client.py ${mode}: ${failed ?? `exit ${out.code}`}\n` +
        new TextDecoder().decode(out.stderr).slice(-1500),
    );
  }
  return lines;
}

async function committedOffset(c: InProcessCluster, group: string): Promise<number> {
  const client = new Client({ bootstrapServers: c.bootstrapAll(), retries: 20 });
  try {
    const offsets = await new Admin(client).listConsumerGroupOffsets(group, [
      { topic: INPUT, partition: 0 },
    ]);
    return offsets[0]?.offset ?? -1;
  } finally {
    await client.close();
  }
}

Deno.test({
  name:
    "cluster transactional offsets: group and transaction coordinators on different brokers; committed with the transaction, not with an abort, and after the group coordinator moves",
  ignore: etcdReq.ignore || confluent.ignore,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    etcdReq.assertAvailable();
    confluent.assertAvailable();
    const c = await startCluster(await etcd(), 3, {
      topicDefaults: { "min.insync.replicas": "2" },
    });
    try {
      const client = new Client({ bootstrapServers: c.bootstrapAll(), retries: 20 });
      try {
        await new Admin(client).createTopics([
          { name: INPUT, numPartitions: 1, replicationFactor: 3 },
          { name: OUTPUT, numPartitions: 3, replicationFactor: 3 },
        ]);
        const producer = new Producer(client, { acks: -1 });
        producer.send({
          topic: INPUT,
          messages: Array.from(
            { length: 4 * PER_TXN },
            (_, i) => ({ partition: 0, value: `in${i}` }),
          ),
        });
        await producer.flush();
        await producer.close();
      } finally {
        await client.close();
      }
      // a group and a transactional id whose coordinators are different brokers
      let group = "";
      let txnId = "";
      let groupCoordinator = -1;
      let txnCoordinator = -1;
      await until("coordinators", async () => {
        groupCoordinator = await coordinatorOf(c.brokers[0]!, "eos-group", 0);
        txnCoordinator = await coordinatorOf(c.brokers[0]!, "eos-txn-0", 1);
        return groupCoordinator > 0 && txnCoordinator > 0;
      }, 60_000);
      for (let i = 0; i < 50 && group === ""; i++) {
        const g = await coordinatorOf(c.brokers[0]!, `eos-group-${i}`, 0);
        const t = await coordinatorOf(c.brokers[0]!, `eos-txn-${i}`, 1);
        if (g > 0 && t > 0 && g !== t) {
          [group, txnId, groupCoordinator, txnCoordinator] = [
            `eos-group-${i}`,
            `eos-txn-${i}`,
            g,
            t,
          ];
        }
      }
      ok(group !== "", "a group and a transactional id with different coordinators");
      const spec = {
        bootstrap: c.bootstrapAll(),
        group,
        transactional_id: txnId,
        input: INPUT,
        output: OUTPUT,
        output_partitions: 3,
        records: PER_TXN,
        timeout_s: 60,
      };
      // commit the first ten, abort the next ten
      const first = await script("transform", { ...spec, transactions: ["commit", "abort"] });
      assertEquals(first.filter((l) => l.startsWith("T ")), [
        `T 0 commit 0 ${PER_TXN - 1}`,
        `T 1 abort ${PER_TXN} ${2 * PER_TXN - 1}`,
      ]);
      strictEqual(await committedOffset(c, group), PER_TXN);
      // the group's coordinator goes: its successor replays the transactional commit and the
      // aborted one from __consumer_offsets
      await c.stop(groupCoordinator - 1);
      await until("a new group coordinator", async () => {
        const alive = c.brokers.find((b) => b !== undefined)!;
        const now = await coordinatorOf(alive, group, 0);
        return now > 0 && now !== groupCoordinator;
      }, 60_000);
      let after = -2;
      await until("the successor answers", async () => {
        after = await committedOffset(c, group).catch(() => -2);
        return after !== -2;
      }, 60_000);
      strictEqual(after, PER_TXN, "the aborted offsets stay uncommitted after the failover");
      // a new consumer of the group resumes at the committed offset
      const second = await script("transform", { ...spec, transactions: ["commit"] });
      assertEquals(second.filter((l) => l.startsWith("T ")), [
        `T 0 commit ${PER_TXN} ${2 * PER_TXN - 1}`,
      ]);
      strictEqual(await committedOffset(c, group), 2 * PER_TXN);
      // read_committed sees the two committed transactions' records, each once
      const read = await script("read", {
        bootstrap: c.bootstrapAll(),
        topic: OUTPUT,
        partitions: [0, 1, 2],
        isolation: "read_committed",
        timeout_s: 60,
      });
      const values = read.filter((l) => l.startsWith("V ")).map((l) => l.split(" ")[3]).sort();
      const expected = [
        ...Array.from({ length: PER_TXN }, (_, i) => `out-in${i}`),
        ...Array.from({ length: PER_TXN }, (_, i) => `out-in${PER_TXN + i}`),
      ].sort();
      assertEquals(values, expected);
    } finally {
      await c.close();
    }
  },
});
