import assert from "node:assert/strict";
import { ErrorCode, KafkaError } from "../protocol/errors.ts";
import { FetchRequest } from "../protocol/messages/fetch.ts";
import { MetadataRequest } from "../protocol/messages/metadata.ts";
import { ListOffsetsRequest } from "../protocol/messages/list_offsets.ts";
import { OffsetForLeaderEpochRequest } from "../protocol/messages/offset_for_leader_epoch.ts";
import { FaultProxy } from "../tests/fault_proxy.ts";
import { startBroker } from "../tests/harness.ts";
import { Admin } from "./admin.ts";
import { Client } from "./client.ts";
import {
  Consumer,
  type ConsumerRecord,
  type LogTruncation,
  LogTruncationError,
} from "./consumer.ts";
import { Producer } from "./producer.ts";
import { pollUntil as pollFor } from "./testing.ts";

const td = new TextDecoder();
const values = (rs: ConsumerRecord[]) =>
  rs.map((r) => [r.partition, r.offset, td.decode(r.value!)]);

/** A standalone broker (behind `proxy` if given) with topic `t` of `partitions` partitions. */
async function withTopic(
  partitions: number,
  fn: (client: Client, producer: Producer) => Promise<void>,
  proxy?: { port: number; target: (port: number) => void },
) {
  const broker = await startBroker(
    proxy ? { advertisedListeners: `PLAINTEXT://127.0.0.1:${proxy.port}` } : {},
  );
  proxy?.target(broker.port);
  const client = new Client({
    bootstrapServers: `127.0.0.1:${proxy?.port ?? broker.port}`,
    retryBackoffMs: 20,
  });
  try {
    await new Admin(client).createTopics([{ name: "t", numPartitions: partitions }]);
    await fn(client, new Producer(client));
  } finally {
    await client.close();
    await broker.close();
  }
}

/** Up to 50 polls of 100 ms until `count` records came. */
const pollUntil = (consumer: Consumer, count: number): Promise<ConsumerRecord[]> =>
  pollFor(consumer, count, { rounds: 50, maxWaitMs: 100 });

Deno.test("Consumer reads from the beginning, an offset, or only new records", async () => {
  await withTopic(1, async (client, producer) => {
    await producer.send({ topic: "t", messages: ["a", "b", "c"].map((value) => ({ value })) });
    const early = new Consumer(client, { fromBeginning: true });
    await early.assign([{ topic: "t", partition: 0 }]);
    const first = await pollUntil(early, 3);
    assert.deepEqual(values(first), [[0, 0, "a"], [0, 1, "b"], [0, 2, "c"]]);
    // each record carries its batch's leader epoch (a standalone broker's is 0)
    assert.deepEqual(first.map((r) => r.leaderEpoch), [0, 0, 0]);

    const mid = new Consumer(client);
    await mid.assign([{ topic: "t", partition: 0, offset: 1 }]);
    assert.deepEqual(values(await pollUntil(mid, 2)), [[0, 1, "b"], [0, 2, "c"]]);

    const late = new Consumer(client);
    await late.assign([{ topic: "t", partition: 0 }]);
    // a looked-up position has no leader epoch (it is not validated)
    assert.deepEqual(late.assignment(), [{ topic: "t", partition: 0, offset: 3, leaderEpoch: -1 }]);
    assert.deepEqual(await late.poll({ maxWaitMs: 50 }), []);
    await producer.send({ topic: "t", messages: [{ value: "d" }] });
    assert.deepEqual(values(await pollUntil(late, 1)), [[0, 3, "d"]]);
    // the leader epoch of the batch read (a standalone broker's is 0)
    assert.deepEqual(late.assignment(), [{ topic: "t", partition: 0, offset: 4, leaderEpoch: 0 }]);
  });
});

Deno.test("Consumer long-poll returns records produced while it waits", async () => {
  await withTopic(1, async (client, producer) => {
    const consumer = new Consumer(client, { maxWaitMs: 5000 });
    await consumer.assign([{ topic: "t", partition: 0 }]);
    const polled = consumer.poll();
    await new Promise((r) => setTimeout(r, 100));
    await producer.send({ topic: "t", messages: [{ value: "wake" }] });
    assert.deepEqual(values(await polled), [[0, 0, "wake"]]);
  });
});

Deno.test("Consumer seeks to earliest, latest and explicit offsets", async () => {
  await withTopic(2, async (client, producer) => {
    await producer.send({
      topic: "t",
      messages: ["p0a", "p0b", "p0c"].map((value) => ({ value, partition: 0 })),
    });
    await producer.send({ topic: "t", messages: [{ value: "p1a", partition: 1 }] });
    const consumer = new Consumer(client, { fromBeginning: true });
    await consumer.assign([{ topic: "t", partition: 0 }, { topic: "t", partition: 1 }]);
    const all = await pollUntil(consumer, 4);
    assert.deepEqual(
      values(all).sort(),
      [[0, 0, "p0a"], [0, 1, "p0b"], [0, 2, "p0c"], [1, 0, "p1a"]],
    );
    await consumer.seek({ topic: "t", partition: 0, offset: 2 });
    assert.deepEqual(values(await pollUntil(consumer, 1)), [[0, 2, "p0c"]]);
    await consumer.seek({ topic: "t", partition: 1, offset: "earliest" });
    assert.deepEqual(values(await pollUntil(consumer, 1)), [[1, 0, "p1a"]]);
    await consumer.seek({ topic: "t", partition: 0, offset: "latest" });
    assert.deepEqual(consumer.assignment().find((a) => a.partition === 0)?.offset, 3);
    await assert.rejects(consumer.seek({ topic: "t", partition: 5, offset: 0 }), {
      name: "RangeError",
      message: "seek: t-5 is not assigned",
    });
  });
});

Deno.test("Consumer async iterator yields records in order", async () => {
  await withTopic(1, async (client, producer) => {
    await producer.send({ topic: "t", messages: ["x", "y", "z"].map((value) => ({ value })) });
    const consumer = new Consumer(client, { fromBeginning: true, maxWaitMs: 100 });
    await consumer.assign([{ topic: "t", partition: 0 }]);
    const seen: string[] = [];
    for await (const r of consumer) {
      seen.push(td.decode(r.value!));
      if (seen.length === 3) break;
    }
    assert.deepEqual(seen, ["x", "y", "z"]);
  });
});

Deno.test("Consumer resets an out-of-range offset, or throws with autoOffsetReset none", async () => {
  await withTopic(1, async (client, producer) => {
    await producer.send({ topic: "t", messages: [{ value: "only" }] });
    const resetting = new Consumer(client, { autoOffsetReset: "earliest" });
    await resetting.assign([{ topic: "t", partition: 0, offset: 100 }]);
    assert.deepEqual(values(await pollUntil(resetting, 1)), [[0, 0, "only"]]);

    const strict = new Consumer(client, { autoOffsetReset: "none" });
    await strict.assign([{ topic: "t", partition: 0, offset: 100 }]);
    await assert.rejects(strict.poll({ maxWaitMs: 50 }), (e: unknown) => {
      assert.ok(e instanceof KafkaError);
      assert.equal(e.errorName, "OFFSET_OUT_OF_RANGE");
      assert.match(e.message, /^fetch t-0 at offset 100: OFFSET_OUT_OF_RANGE/);
      return true;
    });
  });
});

Deno.test("Consumer.assign() rejects a missing topic or partition", async () => {
  await withTopic(1, async (client) => {
    const consumer = new Consumer(client);
    await assert.rejects(consumer.assign([{ topic: "missing", partition: 0 }]), {
      name: "KafkaError",
      message: /^metadata for topic missing: UNKNOWN_TOPIC_OR_PARTITION/,
    });
    await assert.rejects(consumer.assign([{ topic: "t", partition: 3, offset: 0 }]), {
      name: "KafkaError",
      message: /t-3/,
    });
  });
});

Deno.test("Consumer prefetch: positions follow returned records only, and a seek drops the prefetched fetch", async () => {
  await withTopic(1, async (client, producer) => {
    // Three separate batches, so that a small maxPartitionBytes returns one per fetch.
    for (const v of ["a", "b", "c"]) await producer.send({ topic: "t", messages: [{ value: v }] });
    const consumer = new Consumer(client, { maxWaitMs: 100, maxPartitionBytes: 1 });
    await consumer.assign([{ topic: "t", partition: 0, offset: 0 }]);
    assert.deepEqual(values(await consumer.poll()), [[0, 0, "a"]]);
    // The next fetch is already in flight, but the position is only past what was returned.
    assert.deepEqual(consumer.assignment(), [{
      topic: "t",
      partition: 0,
      offset: 1,
      leaderEpoch: 0,
    }]);
    assert.deepEqual(values(await consumer.poll()), [[0, 1, "b"]]);
    assert.deepEqual(consumer.assignment(), [{
      topic: "t",
      partition: 0,
      offset: 2,
      leaderEpoch: 0,
    }]);
    // Seeking back discards the prefetched "c".
    await consumer.seek({ topic: "t", partition: 0, offset: 0 });
    assert.deepEqual(values(await pollUntil(consumer, 1)), [[0, 0, "a"]]);
    assert.deepEqual(values(await pollUntil(consumer, 2)), [[0, 1, "b"], [0, 2, "c"]]);
    assert.deepEqual(consumer.assignment(), [{
      topic: "t",
      partition: 0,
      offset: 3,
      leaderEpoch: 0,
    }]);
    await consumer.close();
  });
});

Deno.test("Consumer poll with an aborted signal, then close: the abandoned fetch rejects nowhere", async () => {
  // KafkaStreams.close() right after start() hit this: the signal was aborted while the leader
  // was looked up, the fetch was sent anyway and left without a handler, and closing its
  // connection made an unhandled rejection (a crash of the process).
  await withTopic(1, async (client) => {
    const consumer = new Consumer(client, { maxWaitMs: 5000, prefetch: false });
    await consumer.assign([{ topic: "t", partition: 0 }]);
    const abort = new AbortController();
    const polled = consumer.poll({ signal: abort.signal });
    abort.abort(); // while the poll looks the leader up, before its fetch is sent
    assert.deepEqual(await polled, []);
    await consumer.close();
    // Let a rejection surface (the test fails on an unhandled one).
    await new Promise((r) => setTimeout(r, 50));
  });
});

Deno.test("Consumer validates a position given with a leader epoch: past the leader's log it resumes at the divergence point and reports it, never resets", async () => {
  await withTopic(1, async (client, producer) => {
    await producer.send({ topic: "t", messages: ["a", "b", "c"].map((value) => ({ value })) });
    // a position of epoch 0 inside the log is valid: read on from it, nothing reported
    const seen: LogTruncation[] = [];
    const ok = new Consumer(client, {
      autoOffsetReset: "earliest",
      onTruncation: (t) => seen.push(t),
    });
    await ok.assign([{ topic: "t", partition: 0, offset: 1, leaderEpoch: 0 }]);
    assert.deepEqual(values(await pollUntil(ok, 2)), [[0, 1, "b"], [0, 2, "c"]]);
    assert.equal(seen.length, 0);
    await ok.close();
    // offset 7 in epoch 0, but the leader's epoch 0 ends at 3 (as after an unclean election):
    // the consumer resumes at 3, where new records go, instead of resetting to 0 (earliest)
    const moved = new Consumer(client, {
      autoOffsetReset: "earliest",
      onTruncation: (t) => seen.push(t),
    });
    await moved.assign([{ topic: "t", partition: 0, offset: 7, leaderEpoch: 0 }]);
    for (let i = 0; i < 50 && seen.length === 0; i++) {
      assert.deepEqual(await moved.poll({ maxWaitMs: 50 }), []);
    }
    assert.deepEqual(moved.assignment(), [{ topic: "t", partition: 0, offset: 3, leaderEpoch: 0 }]);
    await producer.send({ topic: "t", messages: [{ value: "d" }] });
    assert.deepEqual(values(await pollUntil(moved, 1)), [[0, 3, "d"]]);
    assert.deepEqual(seen, [{
      topic: "t",
      partition: 0,
      fetchOffset: 7,
      fetchEpoch: 0,
      divergentOffset: 3,
      divergentEpoch: 0,
      resetOffset: 3,
    }]);
    await moved.close();
    // without a reset policy poll throws, and the position stays where it was
    const strict = new Consumer(client, { autoOffsetReset: "none" });
    await strict.assign([{ topic: "t", partition: 0, offset: 9, leaderEpoch: 0 }]);
    await assert.rejects(strict.poll({ maxWaitMs: 50 }), (e: unknown) => {
      assert.ok(e instanceof LogTruncationError, String(e));
      assert.equal(e.code, ErrorCode.OFFSET_OUT_OF_RANGE);
      assert.equal(e.truncation.divergentOffset, 4);
      assert.match(
        e.message,
        /^log truncation detected on t-0: the leader's log ends at 4 for leader epoch 0, below the position 9: OFFSET_OUT_OF_RANGE/,
      );
      return true;
    });
    assert.deepEqual(strict.assignment(), [{
      topic: "t",
      partition: 0,
      offset: 9,
      leaderEpoch: 0,
    }]);
    await strict.close();
  });
});

Deno.test("Consumer: a fetch answered FENCED_LEADER_EPOCH or UNKNOWN_LEADER_EPOCH refreshes the metadata and fetches again at the same position, no reset", async () => {
  let target = 0;
  // Fetch requests 2 and 3 (the first after a poll returned records) are answered by the proxy.
  const codes = new Map([[2, ErrorCode.FENCED_LEADER_EPOCH], [3, ErrorCode.UNKNOWN_LEADER_EPOCH]]);
  const proxy = new FaultProxy(() => target, { fetchError: (n) => codes.get(n) });
  try {
    await withTopic(1, async (client, producer) => {
      for (const v of ["a", "b", "c"]) {
        await producer.send({ topic: "t", messages: [{ value: v }] });
      }
      // latest: a reset would skip "b" and "c"
      const consumer = new Consumer(client, { maxPartitionBytes: 1, prefetch: false });
      await consumer.assign([{ topic: "t", partition: 0, offset: 0 }]);
      const out = await pollUntil(consumer, 3);
      assert.deepEqual(values(out), [[0, 0, "a"], [0, 1, "b"], [0, 2, "c"]]);
      // every Fetch carried the leader epoch of the metadata (0 on a standalone broker), each at
      // the position: 0, 1, then 2 three times (fenced, unknown epoch, answered)
      assert.deepEqual(
        proxy.fetches.slice(0, 5).map((f) => [f.offset, f.currentLeaderEpoch]),
        [[0, 0], [1, 0], [2, 0], [2, 0], [2, 0]],
      );
      // after each of the two errors the metadata was looked up before the next Fetch, and no
      // offset was looked up (no reset) nor validated (the epoch did not change)
      const keys = proxy.apiKeys;
      const between = (from: number, to: number) => {
        const fetches = keys.flatMap((k, i) => k === FetchRequest.apiKey ? [i] : []);
        return keys.slice(fetches[from] + 1, fetches[to]);
      };
      assert.deepEqual(between(2, 3), [MetadataRequest.apiKey]);
      assert.deepEqual(between(3, 4), [MetadataRequest.apiKey]);
      assert.ok(!keys.includes(ListOffsetsRequest.apiKey), `API keys: ${keys}`);
      assert.ok(!keys.includes(OffsetForLeaderEpochRequest.apiKey), `API keys: ${keys}`);
      await consumer.close();
    }, { port: proxy.port, target: (port) => target = port });
  } finally {
    await proxy.close();
  }
});

Deno.test("Consumer.lag: unknown until a fetch answers, then the high watermark minus the position", async () => {
  await withTopic(1, async (client, producer) => {
    for (let i = 0; i < 3; i++) {
      await producer.send({ topic: "t", messages: [{ value: `v${i}` }] });
    }
    // One batch per fetch (the first batch is returned whatever the size limit).
    const consumer = new Consumer(client, { maxPartitionBytes: 1, prefetch: false });
    await consumer.assign([{ topic: "t", partition: 0, offset: 0 }]);
    assert.equal(consumer.lag("t", 0), undefined);
    assert.equal(consumer.lag("t", 1), undefined, "a partition not assigned");
    assert.deepEqual(values(await consumer.poll()), [[0, 0, "v0"]]);
    assert.equal(consumer.lag("t", 0), 2);
    await consumer.poll();
    await consumer.poll();
    assert.equal(consumer.lag("t", 0), 0);
    // An empty answer says the partition is caught up; a new record shows at the next fetch.
    assert.deepEqual(await consumer.poll({ maxWaitMs: 10 }), []);
    assert.equal(consumer.lag("t", 0), 0);
    await producer.send({ topic: "t", messages: [{ value: "v3" }, { value: "v4" }] });
    assert.equal(consumer.lag("t", 0), 0, "not fetched yet");
    await consumer.seek({ topic: "t", partition: 0, offset: 1 });
    assert.equal(consumer.lag("t", 0), undefined, "a seek forgets it");
    assert.deepEqual(values(await consumer.poll()).length, 1);
    assert.equal(consumer.lag("t", 0), 3);
    // At the end: an answer without records makes it known (0).
    await consumer.seek({ topic: "t", partition: 0, offset: 5 });
    assert.deepEqual(await consumer.poll({ maxWaitMs: 10 }), []);
    assert.equal(consumer.lag("t", 0), 0);
    await consumer.close();
  });
});

Deno.test("Consumer: the fetch rotation goes by partition number across topics (a unit's partitions in successive answers)", async () => {
  await withTopic(2, async (client, producer) => {
    await new Admin(client).createTopics([{ name: "u", numPartitions: 2 }]);
    // One batch per send: t-0, u-0 and t-1 get three records, u-1 one.
    for (let i = 0; i < 3; i++) {
      for (const [topic, partition] of [["t", 0], ["u", 0], ["t", 1], ["u", 1]] as const) {
        if (topic === "u" && partition === 1 && i > 0) continue;
        await producer.send({
          topic,
          messages: [{ value: `${topic}${partition}-${i}`, partition }],
        });
      }
    }
    const consumer = new Consumer(client, { maxPartitionBytes: 1 });
    // Topic by topic, as a subscription lists them.
    await consumer.assign([
      { topic: "t", partition: 0, offset: 0 },
      { topic: "t", partition: 1, offset: 0 },
      { topic: "u", partition: 0, offset: 0 },
      { topic: "u", partition: 1, offset: 0 },
    ]);
    // One batch per answer (the first partition with data, over the budget). Partition 0 of
    // both topics, then partition 1 of both, and so on; u-1 has nothing left after its first
    // record, so partition 1's later visits are t-1 alone.
    const seen: string[] = [];
    for (let i = 0; i < 30 && seen.length < 10; i++) {
      for (const r of await consumer.poll({ maxWaitMs: 20 })) seen.push(td.decode(r.value!));
    }
    assert.deepEqual(seen, [
      "t0-0",
      "u0-0",
      "t1-0",
      "u1-0",
      "t0-1",
      "u0-1",
      "t1-1",
      "t0-2",
      "u0-2",
      "t1-2",
    ]);
    await consumer.close();
  });
});

Deno.test("Consumer.pause: a paused partition is not fetched, records fetched before are held back until resume, and the fetch order rotates", async () => {
  await withTopic(2, async (client, producer) => {
    for (let i = 0; i < 3; i++) {
      await producer.send({ topic: "t", messages: [{ value: `a${i}`, partition: 0 }] });
      await producer.send({ topic: "t", messages: [{ value: `b${i}`, partition: 1 }] });
    }
    const consumer = new Consumer(client, { maxPartitionBytes: 1 });
    await consumer.assign([
      { topic: "t", partition: 0, offset: 0 },
      { topic: "t", partition: 1, offset: 0 },
    ]);
    // One batch per answer (the first partition's, over the budget): the partition served
    // longest ago goes first, so the two take turns rather than 0 to its end first.
    const first = values(await consumer.poll());
    assert.deepEqual(first, [[0, 0, "a0"]]);
    assert.deepEqual(values(await consumer.poll()), [[1, 0, "b0"]]);
    // The fetch in flight asks for partition 0: its records are held back once paused.
    consumer.pause([{ topic: "t", partition: 0 }, { topic: "t", partition: 7 }]);
    assert.deepEqual(consumer.paused(), [{ topic: "t", partition: 0 }]);
    const seen: Array<Array<string | number>> = [];
    for (let i = 0; i < 4; i++) seen.push(...values(await consumer.poll({ maxWaitMs: 20 })));
    assert.deepEqual(seen, [[1, 1, "b1"], [1, 2, "b2"]]);
    assert.equal(consumer.assignment().find((p) => p.partition === 0)?.offset, 1);
    consumer.resume([{ topic: "t", partition: 0 }]);
    assert.deepEqual(consumer.paused(), []);
    const rest: Array<Array<string | number>> = [];
    for (let i = 0; i < 4 && rest.length < 2; i++) {
      rest.push(...values(await consumer.poll({ maxWaitMs: 20 })));
    }
    assert.deepEqual(rest, [[0, 1, "a1"], [0, 2, "a2"]]);
    await consumer.close();
  });
});
