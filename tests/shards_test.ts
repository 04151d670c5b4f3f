// Copyright 2026 the Sluice authors. Apache-2.0 license.
// A sharded broker (sluice.workers=2, issue #17) as its own process (`deno run --unstable-net
// cli/main.ts broker`): one port, partitions in both shards' directories; our client and kcat
// produce and consume through it (requests whose partitions span the shards are split and
// merged), a consumer group commits on shard 0, and after a clean stop and a restart the records
// and the group's offsets are all there. The data dir then refuses another worker count.
import assert from "node:assert/strict";
import { Admin, Client, Consumer, GroupConsumer, Producer } from "../client/mod.ts";
import { Broker } from "../server/broker.ts";
import { shardOf } from "../server/shards.ts";
import { createTopic, fetchBody, RawClient } from "../server/testing.ts";
import { FetchRequest, FetchResponse } from "../protocol/messages/fetch.ts";
import { ProduceRequest, ProduceResponse } from "../protocol/messages/produce.ts";
import { buildBatch } from "../wasm/testing.ts";
import {
  InitProducerIdRequest,
  InitProducerIdResponse,
} from "../protocol/messages/init_producer_id.ts";
import {
  requireClient,
  runCommand,
  type ShardedBroker,
  startShardedBroker,
  withTimeout,
} from "./harness.ts";

const kcat = requireClient("kcat");
type Running = ShardedBroker;

/** Start the broker process; resolves once every shard listens. */
function startSharded(dir: string): Promise<Running> {
  return startShardedBroker(dir, [
    "offsets.topic.num.partitions=1",
    "group.initial.rebalance.delay.ms=0",
  ]);
}

/** SIGTERM; the broker must exit 0 after flushing its logs. */
async function stop(b: Running): Promise<void> {
  b.child.kill("SIGTERM");
  let timer: ReturnType<typeof setTimeout> | undefined;
  const status = await Promise.race([
    b.exited,
    new Promise<null>((r) => timer = setTimeout(() => r(null), 120_000)),
  ]);
  clearTimeout(timer);
  if (status === null) {
    b.child.kill("SIGKILL");
    await b.exited;
    throw new Error(`sharded broker did not stop within 120 s:\n${b.output.join("\n")}`);
  }
  assert.deepStrictEqual(status.code, 0, b.output.join("\n"));
  assert.ok(b.output.some((l) => l.includes("logs flushed")), b.output.join("\n"));
}

const TOPIC = "orders";
const PARTITIONS = 6;
const PER_PARTITION = 50;
const value = (p: number, i: number) => `p${p}-r${i}-${"x".repeat(100 + p)}`;

/** Every record of every partition from the start, as `value` strings, through our client. */
async function readAll(bootstrap: string, want: number): Promise<string[][]> {
  const client = new Client({ bootstrapServers: bootstrap, clientId: "shards-test" });
  try {
    const c = new Consumer(client, { maxWaitMs: 100 });
    await c.assign(
      Array.from({ length: PARTITIONS }, (_, p) => ({ topic: TOPIC, partition: p, offset: 0 })),
    );
    const got: string[][] = Array.from({ length: PARTITIONS }, () => []);
    let n = 0;
    for (let i = 0; i < 200 && n < want; i++) {
      for (const r of await c.poll()) {
        assert.deepStrictEqual(
          r.offset,
          got[r.partition].length,
          `offset order in partition ${r.partition}`,
        );
        got[r.partition].push(new TextDecoder().decode(r.value!));
        n++;
      }
    }
    await c.close();
    return got;
  } finally {
    await client.close();
  }
}

Deno.test({
  name: "sluice.workers=2: one port, both shards' partitions, groups, restart",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "sluice-shards-test-" });
    let b = await startSharded(dir);
    try {
      let bootstrap = `127.0.0.1:${b.port}`;
      const client = new Client({ bootstrapServers: bootstrap, clientId: "shards-test" });
      const admin = new Admin(client);
      await admin.createTopics([{ name: TOPIC, numPartitions: PARTITIONS }]);
      // each shard holds its partitions (and only those) in its own directory
      for (const shard of [0, 1]) {
        const mine = Array.from({ length: PARTITIONS }, (_, p) => p)
          .filter((p) => shardOf(TOPIC, p, 2) === shard);
        assert.ok(mine.length > 0, `shard ${shard} owns some of ${TOPIC}'s partitions`);
        const held: number[] = [];
        for await (const e of Deno.readDir(`${dir}/shard-${shard}`)) {
          const m = /^orders-(\d+)$/.exec(e.name);
          if (m) held.push(Number(m[1]));
        }
        assert.deepStrictEqual(held.sort((x, y) => x - y), mine);
      }
      // one send spans every partition: the produce requests are split between the shards
      const producer = new Producer(client, { lingerMs: 5 });
      const messages = [];
      for (let i = 0; i < PER_PARTITION; i++) {
        for (let p = 0; p < PARTITIONS; p++) messages.push({ partition: p, value: value(p, i) });
      }
      const sent = await producer.send({ topic: TOPIC, messages });
      assert.deepStrictEqual(sent.length, PARTITIONS * PER_PARTITION);
      await producer.close();
      const expected = Array.from(
        { length: PARTITIONS },
        (_, p) => Array.from({ length: PER_PARTITION }, (_, i) => value(p, i)),
      );
      assert.deepStrictEqual(await readAll(bootstrap, PARTITIONS * PER_PARTITION), expected);

      // kcat (librdkafka): a record to every partition, then each partition read back
      if (!kcat.ignore) {
        kcat.assertAvailable();
        for (let p = 0; p < PARTITIONS; p++) {
          const r = await runCommand("kcat", [
            "-b",
            bootstrap,
            "-P",
            "-t",
            TOPIC,
            "-p",
            String(p),
          ], { stdin: `kcat-${p}\n`, timeoutMs: 30_000 });
          assert.deepStrictEqual(r.code, 0, r.stderr);
          expected[p].push(`kcat-${p}`);
        }
        for (let p = 0; p < PARTITIONS; p++) {
          const r = await runCommand("kcat", [
            "-b",
            bootstrap,
            "-C",
            "-t",
            TOPIC,
            "-p",
            String(p),
            "-o",
            "beginning",
            "-e",
            "-q",
            "-f",
            "%o %s\\n",
          ], { timeoutMs: 30_000 });
          assert.deepStrictEqual(r.code, 0, r.stderr);
          assert.deepStrictEqual(
            r.stdout.trimEnd().split("\n"),
            expected[p].map((v, o) => `${o} ${v}`),
          );
        }
      }

      // a topic auto-created by shard 0's Metadata whose one partition is shard 1's
      const auto = Array.from({ length: 100 }, (_, i) => `auto-${i}`)
        .find((t) => shardOf(t, 0, 2) === 1)!;
      const autoProducer = new Producer(client);
      const [autoSent] = await autoProducer.send({
        topic: auto,
        messages: [{ value: "made on first use" }],
      });
      await autoProducer.close();
      assert.deepStrictEqual([autoSent.partition, autoSent.offset], [0, 0]);
      assert.ok(
        await Deno.stat(`${dir}/shard-1/${auto}-0`).then(() => true, () => false),
        `${auto}-0 in shard 1's directory`,
      );

      // partitions added, then the topic deleted and made again: every shard follows
      const held = async (topic: string) => {
        const out: number[][] = [[], []];
        for (const shard of [0, 1]) {
          for await (const e of Deno.readDir(`${dir}/shard-${shard}`)) {
            const m = new RegExp(`^${topic}-(\\d+)$`).exec(e.name);
            if (m) out[shard].push(Number(m[1]));
          }
          out[shard].sort((x, y) => x - y);
        }
        return out;
      };
      const owners = (topic: string, n: number) =>
        [0, 1].map((s) =>
          Array.from({ length: n }, (_, p) => p).filter((p) => shardOf(topic, p, 2) === s)
        );
      const sendEach = async (topic: string, n: number) => {
        const p = new Producer(client);
        const sent = await p.send({
          topic,
          messages: Array.from({ length: n }, (_, partition) => ({ partition, value: "x" })),
        });
        await p.close();
        return sent.map((m) => [m.partition, m.offset]);
      };
      await admin.createTopics([{ name: "grow", numPartitions: 1 }]);
      await admin.createPartitions([{ topic: "grow", count: 4 }]);
      assert.deepStrictEqual(await held("grow"), owners("grow", 4));
      assert.deepStrictEqual(await sendEach("grow", 4), [[0, 0], [1, 0], [2, 0], [3, 0]]);
      await admin.deleteTopics(["grow"]);
      assert.deepStrictEqual(await held("grow"), [[], []]);
      await admin.createTopics([{ name: "grow", numPartitions: 2 }]);
      assert.deepStrictEqual(await held("grow"), owners("grow", 2));
      assert.deepStrictEqual(await sendEach("grow", 2), [[0, 0], [1, 0]]);

      // a group on shard 0's coordinator, over partitions of both shards
      const total = expected.reduce((n, e) => n + e.length, 0);
      const group = new GroupConsumer(client, {
        groupId: "shards-group",
        autoCommit: false,
        autoOffsetReset: "earliest",
        maxWaitMs: 100,
      });
      group.subscribe([TOPIC]);
      let read = 0;
      for (let i = 0; i < 300 && read < total; i++) read += (await group.poll()).length;
      assert.deepStrictEqual(read, total);
      const commits = Array.from(
        { length: PARTITIONS },
        (_, p) => ({ topic: TOPIC, partition: p, offset: 10 + p }),
      );
      await group.commit(commits);
      await group.close();
      const committed = () =>
        admin.listConsumerGroupOffsets("shards-group").then((c) =>
          c.map((o) => ({ topic: o.topic, partition: o.partition, offset: o.offset }))
            .sort((x, y) => x.partition - y.partition)
        );
      assert.deepStrictEqual(await committed(), commits);
      await client.close();

      // a clean stop and a restart keep the records and the group's offsets
      await stop(b);
      b = await startSharded(dir);
      bootstrap = `127.0.0.1:${b.port}`;
      assert.deepStrictEqual(await readAll(bootstrap, total), expected);
      const again = new Client({ bootstrapServers: bootstrap, clientId: "shards-test" });
      try {
        const ends = await new Admin(again).listOffsets(
          Array.from(
            { length: PARTITIONS },
            (_, p) => ({ topic: TOPIC, partition: p, spec: "latest" }),
          ),
        );
        assert.deepStrictEqual(ends.map((e) => e.offset), expected.map((e) => e.length));
        const admin2 = new Admin(again);
        assert.deepStrictEqual(
          (await admin2.listConsumerGroupOffsets("shards-group"))
            .map((o) => ({ topic: o.topic, partition: o.partition, offset: o.offset }))
            .sort((x, y) => x.partition - y.partition),
          commits,
        );
      } finally {
        await again.close();
      }
      await stop(b);

      // the data dir is fixed to two shards
      for (const workers of [1, 3]) {
        await assert.rejects(
          () => Broker.start({ listeners: "PLAINTEXT://127.0.0.1:0", logDirs: [dir], workers }),
          /sluice\.workers=2/,
        );
      }
      // this test process has no --unstable-net: a clean error, not Deno's exit 70
      const fresh = await Deno.makeTempDir({ prefix: "sluice-shards-flag-" });
      try {
        await assert.rejects(
          () =>
            Broker.start({ listeners: "PLAINTEXT://127.0.0.1:0", logDirs: [fresh], workers: 2 }),
          /sluice\.workers=2: the shards share their ports \(reusePort\), which needs deno run --unstable-net/,
        );
      } finally {
        await Deno.remove(fresh, { recursive: true }).catch(() => {});
      }
    } catch (e) {
      try {
        b.child.kill("SIGKILL");
      } catch {
        // already exited
      }
      await b.exited;
      throw e;
    } finally {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test({
  name: "sluice.workers=2: a split Produce answers in request order; a split long-poll Fetch " +
    "ends when one shard has records",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "sluice-shards-test-" });
    const b = await startSharded(dir);
    const c = await RawClient.connect(b.port);
    try {
      await createTopic(c, "raw", 4);
      const owners = [0, 1, 2, 3].map((p) => shardOf("raw", p, 2));
      assert.ok(owners.includes(0) && owners.includes(1), `owners ${owners}`);
      // partitions in a non-sorted order, 3 records each (then 1 more to partition 2)
      const order = [2, 0, 3, 1];
      const batch = (n: number) =>
        buildBatch({
          records: Array.from({ length: n }, (_, i) => ({ key: null, value: `v${i}` })),
        });
      const produce = (parts: number[], n: number) =>
        c.request(ProduceRequest, ProduceResponse, 9, {
          acks: 1,
          timeoutMs: 5000,
          topicData: [{
            name: "raw",
            partitionData: parts.map((index) => ({ index, records: batch(n) })),
          }],
        });
      const first = await produce(order, 3);
      assert.deepStrictEqual(
        first.responses.map((t) => ({
          name: t.name,
          parts: t.partitionResponses.map((p) => [p.index, p.errorCode, p.baseOffset]),
        })),
        [{ name: "raw", parts: order.map((p) => [p, 0, 0]) }],
      );
      const second = await produce([...order].reverse(), 3);
      assert.deepStrictEqual(
        second.responses[0].partitionResponses.map((p) => [p.index, p.errorCode, p.baseOffset]),
        [...order].reverse().map((p) => [p, 0, 3]),
      );
      // one partition of each shard at its log end, one of them then gets a record: the fetch
      // (max wait 10 minutes) must end then, not when the other shard's wait runs out
      const other = [0, 1, 2, 3].find((p) => owners[p] !== owners[2])!;
      const fetched = c.request(
        FetchRequest,
        FetchResponse,
        12,
        fetchBody([
          { topic: "raw", partition: other, offset: 6 },
          { topic: "raw", partition: 2, offset: 6 },
        ], { maxWaitMs: 600_000, minBytes: 1 }),
      );
      const writer = await RawClient.connect(b.port);
      try {
        await new Promise((r) => setTimeout(r, 200));
        const w = await writer.request(ProduceRequest, ProduceResponse, 9, {
          acks: 1,
          timeoutMs: 5000,
          topicData: [{ name: "raw", partitionData: [{ index: 2, records: batch(1) }] }],
        });
        assert.strictEqual(w.responses[0].partitionResponses[0].errorCode, 0);
      } finally {
        writer.close();
      }
      const r = await withTimeout(fetched, 60_000, "split long-poll fetch");
      assert.deepStrictEqual(
        r.responses.flatMap((t) =>
          t.partitions.map((p) => [p.partitionIndex, p.errorCode, p.highWatermark])
        ),
        [[other, 0, 6], [2, 0, 7]],
      );
      assert.ok((r.responses[0].partitions[1]?.records?.length ?? 0) > 0, "partition 2's record");
      // the response bound is shared among the parts: 2 batches of ~90 bytes in each partition,
      // 200 bytes allowed in all
      const bounded = await c.request(
        FetchRequest,
        FetchResponse,
        12,
        fetchBody([
          { topic: "raw", partition: other, offset: 0 },
          { topic: "raw", partition: 2, offset: 0 },
        ], { maxBytes: 200 }),
      );
      const sizes = bounded.responses.flatMap((t) =>
        t.partitions.map((p) => p.records?.length ?? 0)
      );
      assert.ok(sizes.every((n) => n > 0), `a batch from each partition: ${sizes}`);
      assert.ok(sizes[0] + sizes[1] <= 200, `at most 200 bytes in all: ${sizes}`);
      // transactions (tests/shards_txn_test.ts) and idempotence are served
      const txn = await c.request(InitProducerIdRequest, InitProducerIdResponse, 4, {
        transactionalId: "t1",
        transactionTimeoutMs: 60_000,
        producerId: -1,
        producerEpoch: -1,
      });
      assert.strictEqual(txn.errorCode, 0);
      const idem = await c.request(InitProducerIdRequest, InitProducerIdResponse, 4, {
        transactionalId: null,
        transactionTimeoutMs: 60_000,
        producerId: -1,
        producerEpoch: -1,
      });
      assert.strictEqual(idem.errorCode, 0);
    } finally {
      c.close();
      await stop(b);
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
