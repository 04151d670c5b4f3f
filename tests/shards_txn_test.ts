// Copyright 2026 the Sluice authors. Apache-2.0 license.
// Transactions on a sharded broker (sluice.workers=2, ARCHITECTURE.md "Shards") as its own
// process: the coordinator is shard 0's and its COMMIT/ABORT markers reach the partitions of
// both shards. confluent-kafka (librdkafka) and our client write transactions over partitions of
// both shards; read_committed consumers see exactly the committed records, read_uncommitted ones
// every record at the offsets the markers leave; a librdkafka consume-transform-produce group
// member copies them with its input offsets in one transaction. Transactional offsets commit or
// drop with their transaction, a second producer of a transactional id fences the first, a
// transaction whose topic is deleted still completes, and a transactional batch is refused on
// either shard unless its partition is in the producer's transaction. After a SIGKILL, a transaction left open is
// aborted on both shards when its id is taken again, and one left prepared (PrepareCommit in
// __transaction_state) is committed on both shards at the start.
import assert from "node:assert/strict";
import { Admin, Client, Consumer, GroupConsumer, Producer } from "../client/mod.ts";
import { LogManager } from "../engine/mod.ts";
import { shardOf } from "../server/shards.ts";
import { TransactionStateStore } from "../server/txn/store.ts";
import { createTopic, RawClient } from "../server/testing.ts";
import { ProduceRequest, ProduceResponse } from "../protocol/messages/produce.ts";
import { ListOffsetsRequest, ListOffsetsResponse } from "../protocol/messages/list_offsets.ts";
import {
  AddPartitionsToTxnRequest,
  AddPartitionsToTxnResponse,
} from "../protocol/messages/add_partitions_to_txn.ts";
import {
  InitProducerIdRequest,
  InitProducerIdResponse,
} from "../protocol/messages/init_producer_id.ts";
import { buildBatch } from "../wasm/testing.ts";
import {
  requireClient,
  runClientScript,
  type ShardedBroker,
  startShardedBroker,
  stopShardedBroker,
} from "./harness.ts";

const confluent = requireClient("confluent-kafka");
const SETTINGS = [
  "offsets.topic.num.partitions=1",
  "transaction.state.log.num.partitions=1",
  "group.initial.rebalance.delay.ms=0",
  "transaction.abort.timed.out.transaction.cleanup.interval.ms=200",
];
const PARTITIONS = [0, 1, 2, 3];
const decoder = new TextDecoder();

/** Kill the broker process (if still running) and wait for it. */
async function kill(b: ShardedBroker): Promise<void> {
  try {
    b.child.kill("SIGKILL");
  } catch {
    // already exited
  }
  await b.exited;
}

/**
 * Every record of `topic`'s partitions from offset 0, as "partition:offset:value", read until
 * `want` records and then 1 s of nothing more.
 */
async function read(
  bootstrap: string,
  topic: string,
  isolationLevel: 0 | 1,
  want: number,
): Promise<string[]> {
  const client = new Client({ bootstrapServers: bootstrap, clientId: "shards-txn-reader" });
  try {
    const c = new Consumer(client, { maxWaitMs: 100, isolationLevel });
    await c.assign(PARTITIONS.map((partition) => ({ topic, partition, offset: 0 })));
    const got: string[] = [];
    let quiet = 0;
    for (let i = 0; i < 600 && (got.length < want || quiet < 10); i++) {
      const records = await c.poll();
      quiet = records.length === 0 ? quiet + 1 : 0;
      for (const r of records) got.push(`${r.partition}:${r.offset}:${decoder.decode(r.value!)}`);
    }
    await c.close();
    return got.sort();
  } finally {
    await client.close();
  }
}

/** "partition:offset:value" for each partition and each [offset, value]. */
const expect = (rows: [number, string][]) =>
  PARTITIONS.flatMap((p) => rows.map(([o, v]) => `${p}:${o}:${v}@${p}`)).sort();

/** One record per partition, `value@partition`. */
const each = (value: string) =>
  PARTITIONS.map((partition) => ({ partition, value: `${value}@${partition}` }));

Deno.test({
  name: "sluice.workers=2: transactions over both shards' partitions (confluent-kafka, our " +
    "client), offsets, fencing, verification",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "sluice-shards-txn-" });
    const b = await startShardedBroker(dir, SETTINGS);
    const bootstrap = `127.0.0.1:${b.port}`;
    const client = new Client({ bootstrapServers: bootstrap, clientId: "shards-txn" });
    try {
      const admin = new Admin(client);
      await admin.createTopics([
        { name: "lib", numPartitions: 4 },
        { name: "ours", numPartitions: 4 },
        { name: "in", numPartitions: 4 },
      ]);
      for (const t of ["lib", "ours"]) {
        const owners = PARTITIONS.map((p) => shardOf(t, p, 2));
        assert.ok(owners.includes(0) && owners.includes(1), `${t}: owners ${owners}`);
      }

      // confluent-kafka: commit, abort, commit, each over the four partitions
      if (!confluent.ignore) {
        confluent.assertAvailable();
        await runClientScript("confluent_txn_client.py", "transactions", {
          bootstrap,
          topic: "lib",
          transactional_id: "tid-lib",
          partitions: PARTITIONS,
          transactions: [
            { values: ["c1", "c2"], commit: true },
            { values: ["a1"], commit: false },
            { values: ["c3"], commit: true },
          ],
        }, 90_000);
        // per partition: c1 0, c2 1, COMMIT 2, a1 3, ABORT 4, c3 5, COMMIT 6
        const pyRead = async (isolation: string, count: number) =>
          (await runClientScript<
            { records: { partition: number; offset: number; value: string }[] }
          >("confluent_txn_client.py", "consume", {
            bootstrap,
            topic: "lib",
            isolation,
            count,
            idle_ms: 1500,
            partitions: PARTITIONS,
          }, 60_000)).records.map((r) => `${r.partition}:${r.offset}:${r.value}`).sort();
        assert.deepStrictEqual(
          await pyRead("read_committed", 12),
          expect([[0, "c1"], [1, "c2"], [5, "c3"]]),
        );
        assert.deepStrictEqual(
          await pyRead("read_uncommitted", 16),
          expect([[0, "c1"], [1, "c2"], [3, "a1"], [5, "c3"]]),
        );
        assert.deepStrictEqual(
          await read(bootstrap, "lib", 1, 12),
          expect([[0, "c1"], [1, "c2"], [5, "c3"]]),
        );
        // consume-transform-produce as a group member: the committed records of both shards'
        // partitions copied, and the input offsets committed, in one transaction
        await admin.createTopics([{ name: "copied", numPartitions: 4 }]);
        const copied = await runClientScript<{ copied: number }>(
          "confluent_txn_client.py",
          "copy",
          {
            bootstrap,
            input: "lib",
            output: "copied",
            group: "lib-copier",
            transactional_id: "tid-copy",
            count: 12,
          },
          90_000,
        );
        assert.strictEqual(copied.copied, 12);
        // each partition's committed position is past c3 (5): 6, or 7 when librdkafka had
        // fetched the COMMIT marker too
        const offsets = await admin.listConsumerGroupOffsets("lib-copier");
        assert.deepStrictEqual(
          offsets.map((o) => [o.topic, o.partition, o.offset === 6 || o.offset === 7])
            .sort((x, y) => (x[1] as number) - (y[1] as number)),
          PARTITIONS.map((p) => ["lib", p, true]),
          JSON.stringify(offsets),
        );
        // the copies (all to partition 0), committed: 12 records, then the COMMIT marker
        const out = await read(bootstrap, "copied", 1, 12);
        assert.deepStrictEqual(
          out.map((r) => r.split(":").slice(0, 1).concat(r.split(":").slice(2)).join(":")).sort(),
          expect([[0, "C1"], [1, "C2"], [5, "C3"]]).map((r) => `0:${r.split(":")[2]}`).sort(),
        );
        assert.deepStrictEqual(
          out.map((r) => Number(r.split(":")[1])).sort((a, b) => a - b),
          Array.from({ length: 12 }, (_, i) => i),
        );
      }

      // our client: records and a group's offsets in one transaction, committed, then aborted
      const group = new GroupConsumer(client, {
        groupId: "txn-group",
        autoCommit: false,
        autoOffsetReset: "earliest",
        maxWaitMs: 100,
      });
      group.subscribe(["in"]);
      await group.poll();
      const producer = new Producer(client, { transactionalId: "tid-ours" });
      await producer.initTransactions();
      producer.beginTransaction();
      await producer.send({ topic: "ours", messages: each("o1") });
      await producer.sendOffsetsToTransaction(
        PARTITIONS.map((partition) => ({ topic: "in", partition, offset: 5 + partition })),
        group.groupMetadata(),
      );
      await producer.commitTransaction();
      producer.beginTransaction();
      await producer.send({ topic: "ours", messages: each("o2") });
      await producer.sendOffsetsToTransaction(
        PARTITIONS.map((partition) => ({ topic: "in", partition, offset: 50 })),
        group.groupMetadata(),
      );
      await producer.abortTransaction();
      await group.close();
      assert.deepStrictEqual(
        (await admin.listConsumerGroupOffsets("txn-group"))
          .map((o) => [o.topic, o.partition, o.offset])
          .sort((x, y) => (x[1] as number) - (y[1] as number)),
        PARTITIONS.map((p) => ["in", p, 5 + p]),
      );

      // fencing: a second producer of the id aborts the first one's transaction on both shards
      producer.beginTransaction();
      await producer.send({ topic: "ours", messages: each("fenced") });
      const second = new Producer(client, { transactionalId: "tid-ours" });
      await second.initTransactions();
      await assert.rejects(() => producer.commitTransaction(), /FENCED|EPOCH/);
      await producer.close();
      second.beginTransaction();
      await second.send({ topic: "ours", messages: each("o3") });
      await second.commitTransaction();
      await second.close();
      // o1 0, COMMIT 1, o2 2, ABORT 3, fenced 4, ABORT 5, o3 6, COMMIT 7
      assert.deepStrictEqual(
        await read(bootstrap, "ours", 1, 8),
        expect([[0, "o1"], [6, "o3"]]),
      );
      assert.deepStrictEqual(
        await read(bootstrap, "ours", 0, 16),
        expect([[0, "o1"], [2, "o2"], [4, "fenced"], [6, "o3"]]),
      );

      // a transaction whose topic is deleted before its commit completes (the deleted
      // partitions need no marker), and the id's next transaction commits
      await admin.createTopics([{ name: "gone", numPartitions: 4 }]);
      const gone = new Producer(client, { transactionalId: "tid-gone", maxBlockMs: 10_000 });
      await gone.initTransactions();
      gone.beginTransaction();
      await gone.send({ topic: "gone", messages: each("g") });
      await admin.deleteTopics(["gone"]);
      await gone.commitTransaction();
      gone.beginTransaction();
      await gone.send({ topic: "ours", messages: each("o4") });
      await gone.commitTransaction();
      await gone.close();
      assert.deepStrictEqual(
        await read(bootstrap, "ours", 1, 12),
        expect([[0, "o1"], [6, "o3"], [8, "o4"]]),
      );

      // a transaction past its timeout is aborted by shard 0's timer on both shards: the last
      // stable offset of every partition reaches its end, and its producer is fenced
      const slow = new Producer(client, {
        transactionalId: "tid-slow",
        transactionTimeoutMs: 1000,
      });
      await slow.initTransactions();
      slow.beginTransaction();
      await slow.send({ topic: "ours", messages: each("late") });
      const ends = async (isolationLevel: number) => {
        const raw = await RawClient.connect(b.port);
        try {
          const r = await raw.request(ListOffsetsRequest, ListOffsetsResponse, 5, {
            replicaId: -1,
            isolationLevel,
            topics: [{
              name: "ours",
              partitions: PARTITIONS.map((partitionIndex) => ({
                partitionIndex,
                timestamp: -1,
                currentLeaderEpoch: -1,
                maxNumOffsets: 1,
              })),
            }],
          });
          return r.topics[0].partitions.map((p) => p.offset);
        } finally {
          raw.close();
        }
      };
      // o4 8, COMMIT 9, late 10, ABORT 11
      let stable: number[] = [];
      for (let i = 0; i < 300; i++) {
        stable = await ends(1);
        if (stable.every((o) => o === 12)) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.deepStrictEqual([stable, await ends(0)], [[12, 12, 12, 12], [12, 12, 12, 12]]);
      await assert.rejects(() => slow.commitTransaction(), /FENCED|EPOCH/);
      await slow.close();

      // a transactional batch is refused on either shard unless its partition is in the
      // producer's transaction (shard 1 asks shard 0's coordinator)
      const raw = await RawClient.connect(b.port);
      try {
        await createTopic(raw, "raw", 4);
        const owners = PARTITIONS.map((p) => shardOf("raw", p, 2));
        const on = (s: number) => PARTITIONS.filter((p) => owners[p] === s);
        assert.ok(on(0).length >= 2 && on(1).length >= 2, `raw: owners ${owners}`);
        const [a0, c0] = on(0);
        const [a1, c1] = on(1);
        const init = async (transactionalId: string | null) => {
          const r = await raw.request(InitProducerIdRequest, InitProducerIdResponse, 4, {
            transactionalId,
            transactionTimeoutMs: 60_000,
            producerId: -1,
            producerEpoch: -1,
          });
          assert.strictEqual(r.errorCode, 0);
          return r;
        };
        const produce = async (
          transactionalId: string,
          producerId: number,
          producerEpoch: number,
          partitions: number[],
          baseSequence = 0,
        ) => {
          const r = await raw.request(ProduceRequest, ProduceResponse, 9, {
            transactionalId,
            acks: -1,
            timeoutMs: 5000,
            topicData: [{
              name: "raw",
              partitionData: partitions.map((index) => ({
                index,
                records: buildBatch({
                  records: [{ key: null, value: "t" }],
                  producerId,
                  producerEpoch,
                  baseSequence,
                  attributes: 0x10, // transactional
                }),
              })),
            }],
          });
          return r.responses[0].partitionResponses.map((p) => [p.index, p.errorCode]);
        };
        const first = await init("tid-raw");
        // not added to the transaction: INVALID_TXN_STATE on both shards
        assert.deepStrictEqual(
          await produce("tid-raw", first.producerId, first.producerEpoch, [a0, a1]),
          [[a0, 48], [a1, 48]],
        );
        const add = await raw.request(AddPartitionsToTxnRequest, AddPartitionsToTxnResponse, 3, {
          v3AndBelowTransactionalId: "tid-raw",
          v3AndBelowProducerId: first.producerId,
          v3AndBelowProducerEpoch: first.producerEpoch,
          v3AndBelowTopics: [{ name: "raw", partitions: [a0, a1] }],
        });
        assert.deepStrictEqual(
          add.resultsByTopicV3AndBelow[0].resultsByPartition.map((p) => p.partitionErrorCode),
          [0, 0],
        );
        assert.deepStrictEqual(
          await produce("tid-raw", first.producerId, first.producerEpoch, [a0, a1]),
          [[a0, 0], [a1, 0]],
        );
        // the producer of no transactional id: INVALID_PRODUCER_ID_MAPPING on both shards
        const idem = await init(null);
        assert.deepStrictEqual(
          await produce("tid-raw", idem.producerId, idem.producerEpoch, [c0, c1]),
          [[c0, 49], [c1, 49]],
        );
        // fenced by a newer epoch: INVALID_PRODUCER_EPOCH on both shards
        const newer = await init("tid-raw");
        assert.deepStrictEqual(
          [newer.producerId, newer.producerEpoch],
          [first.producerId, first.producerEpoch + 2], // the open transaction aborted with a bump
        );
        assert.deepStrictEqual(
          await produce("tid-raw", first.producerId, first.producerEpoch, [c0, c1]),
          [[c0, 47], [c1, 47]],
        );
      } finally {
        raw.close();
      }
      // nothing of those is committed; the aborted batches do not hold the LSO back
      assert.deepStrictEqual(await read(bootstrap, "raw", 1, 0), []);
      await client.close();
      await stopShardedBroker(b);
    } catch (e) {
      await client.close().catch(() => {});
      await kill(b);
      throw new Error(
        `${e instanceof Error ? e.stack : e}\n--- broker ---\n${b.output.join("\n")}`,
      );
    } finally {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test({
  name: "sluice.workers=2: after a SIGKILL, an open transaction is aborted and a prepared one " +
    "committed on both shards",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "sluice-shards-txn-kill-" });
    let b = await startShardedBroker(dir, SETTINGS);
    try {
      let bootstrap = `127.0.0.1:${b.port}`;
      let client = new Client({ bootstrapServers: bootstrap, clientId: "shards-txn-kill" });
      await new Admin(client).createTopics([{ name: "k", numPartitions: 4 }]);
      const owners = PARTITIONS.map((p) => shardOf("k", p, 2));
      assert.ok(owners.includes(0) && owners.includes(1), `k: owners ${owners}`);
      let p = new Producer(client, { transactionalId: "tid-kill" });
      await p.initTransactions();
      p.beginTransaction();
      await p.send({ topic: "k", messages: each("k1") });
      await p.commitTransaction();
      p.beginTransaction();
      await p.send({ topic: "k", messages: each("k2") }); // acknowledged, never ended
      await kill(b);
      await client.close().catch(() => {});

      // the open transaction holds the LSO back on both shards after the restart, until the
      // id is taken again: its InitProducerId aborts it on both shards
      b = await startShardedBroker(dir, SETTINGS);
      bootstrap = `127.0.0.1:${b.port}`;
      client = new Client({ bootstrapServers: bootstrap, clientId: "shards-txn-kill" });
      assert.deepStrictEqual(await read(bootstrap, "k", 1, 4), expect([[0, "k1"]]));
      p = new Producer(client, { transactionalId: "tid-kill" });
      await p.initTransactions();
      p.beginTransaction();
      await p.send({ topic: "k", messages: each("k3") });
      await p.commitTransaction();
      // k1 0, COMMIT 1, k2 2, ABORT 3, k3 4, COMMIT 5
      assert.deepStrictEqual(await read(bootstrap, "k", 1, 8), expect([[0, "k1"], [4, "k3"]]));
      assert.deepStrictEqual(
        await read(bootstrap, "k", 0, 12),
        expect([[0, "k1"], [2, "k2"], [4, "k3"]]),
      );
      p.beginTransaction();
      await p.send({ topic: "k", messages: each("k4") });
      await kill(b);
      await client.close().catch(() => {});

      // as if killed after PrepareCommit was written and before any marker: the start commits
      // it on both shards (shard 1 starts after shard 0's coordinator loaded)
      const logs = await LogManager.open(`${dir}/shard-0`);
      try {
        const store = TransactionStateStore.open(logs, { numPartitions: 1 });
        const last = (await store.load()).filter((r) => r.transactionalId === "tid-kill").pop()!;
        assert.strictEqual(last.value?.state, "Ongoing");
        assert.deepStrictEqual([...last.value!.partitions.get("k")!].sort(), PARTITIONS);
        await store.append("tid-kill", { ...last.value!, state: "PrepareCommit" });
      } finally {
        await logs.close();
      }
      b = await startShardedBroker(dir, SETTINGS);
      bootstrap = `127.0.0.1:${b.port}`;
      // k4 6, COMMIT 7
      assert.deepStrictEqual(
        await read(bootstrap, "k", 1, 12),
        expect([[0, "k1"], [4, "k3"], [6, "k4"]]),
      );
      client = new Client({ bootstrapServers: bootstrap, clientId: "shards-txn-kill" });
      p = new Producer(client, { transactionalId: "tid-kill" });
      await p.initTransactions();
      p.beginTransaction();
      await p.send({ topic: "k", messages: each("k5") });
      await p.commitTransaction();
      await p.close();
      await client.close();
      assert.deepStrictEqual(
        await read(bootstrap, "k", 1, 16),
        expect([[0, "k1"], [4, "k3"], [6, "k4"], [8, "k5"]]),
      );
      assert.ok(
        b.output.some((l) => l.includes("completing 1 prepared transactions")),
        b.output.join("\n"),
      );
      await stopShardedBroker(b);
    } catch (e) {
      await kill(b);
      throw new Error(
        `${e instanceof Error ? e.stack : e}\n--- broker ---\n${b.output.join("\n")}`,
      );
    } finally {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
