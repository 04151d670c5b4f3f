import assert from "node:assert/strict";
import { Broker } from "../server/mod.ts";
import { KafkaError } from "../protocol/errors.ts";
import { Admin } from "./admin.ts";
import { Client } from "./client.ts";
import { Consumer, type ConsumerRecord } from "./consumer.ts";
import { startBroker, uniqueTopic } from "../tests/harness.ts";
import { FaultProxy } from "../tests/fault_proxy.ts";
import { partitionForKey } from "./partitioner.ts";
import { Producer, type RecordMetadata } from "./producer.ts";

const te = new TextEncoder();
const td = new TextDecoder();
const text = (b: Uint8Array | null) => b === null ? null : td.decode(b);

async function withCluster(fn: (client: Client) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "sluice_producer_test_" });
  const broker = await Broker.start({
    listeners: "PLAINTEXT://127.0.0.1:0",
    logDirs: [dir],
    logLevel: "silent",
  });
  const client = new Client({ bootstrapServers: `127.0.0.1:${broker.port}`, retryBackoffMs: 20 });
  try {
    await fn(client);
  } finally {
    await client.close();
    await broker.close();
    await Deno.remove(dir, { recursive: true });
  }
}

async function readAll(client: Client, topic: string, partition: number, count: number) {
  const consumer = new Consumer(client, { fromBeginning: true, maxWaitMs: 100 });
  await consumer.assign([{ topic, partition }]);
  const out: ConsumerRecord[] = [];
  for (let i = 0; i < 50 && out.length < count; i++) out.push(...await consumer.poll());
  await consumer.close();
  return out;
}

Deno.test("Producer puts keyed messages where the Java partitioner does, with exact offsets", async () => {
  await withCluster(async (client) => {
    await new Admin(client).createTopics([{ name: "keys", numPartitions: 3 }]);
    const producer = new Producer(client);
    const keys = ["21", "foobar", "abc", "12345", "1", "a-little-bit-longer-string", "21"];
    const meta = await producer.send({
      topic: "keys",
      messages: keys.map((key, i) => ({ key, value: `v${i}`, headers: { i: String(i) } })),
    });
    const next = [0, 0, 0];
    assert.deepEqual(
      meta.map((m) => [m.partition, m.offset]),
      keys.map((k) => {
        const p = partitionForKey(te.encode(k), 3);
        return [p, next[p]++];
      }),
    );
    for (const p of [0, 1, 2]) {
      const records = await readAll(client, "keys", p, next[p]);
      const expected = keys.map((k, i) => ({ k, i })).filter(({ k }) =>
        partitionForKey(te.encode(k), 3) === p
      );
      assert.deepEqual(
        records.map((
          r,
        ) => [r.offset, text(r.key), text(r.value), r.headers.map((h) => [h.key, text(h.value)])]),
        expected.map(({ k, i }, n) => [n, k, `v${i}`, [["i", String(i)]]]),
      );
    }
    await producer.close();
  });
});

Deno.test("Producer round-trips null keys, null values, headers and timestamps", async () => {
  await withCluster(async (client) => {
    await new Admin(client).createTopics([{ name: "rt", numPartitions: 1 }]);
    const producer = new Producer(client, { acks: 1 });
    const meta = await producer.send({
      topic: "rt",
      messages: [
        { value: "first", timestamp: 1_600_000_000_000 },
        { key: "k", value: null, timestamp: 1_600_000_000_001 },
        {
          key: new Uint8Array([0, 1, 2]),
          value: new Uint8Array([255]),
          headers: [{ key: "dup", value: "1" }, { key: "dup", value: null }],
          timestamp: 1_600_000_000_002,
        },
      ],
    });
    assert.deepEqual(meta.map((m) => [m.topic, m.partition, m.offset, m.timestamp]), [
      ["rt", 0, 0, 1_600_000_000_000],
      ["rt", 0, 1, 1_600_000_000_001],
      ["rt", 0, 2, 1_600_000_000_002],
    ]);
    const records = await readAll(client, "rt", 0, 3);
    assert.deepEqual(records, [
      {
        topic: "rt",
        partition: 0,
        offset: 0,
        timestamp: 1_600_000_000_000,
        leaderEpoch: 0,
        key: null,
        value: te.encode("first"),
        headers: [],
      },
      {
        topic: "rt",
        partition: 0,
        offset: 1,
        timestamp: 1_600_000_000_001,
        leaderEpoch: 0,
        key: te.encode("k"),
        value: null,
        headers: [],
      },
      {
        topic: "rt",
        partition: 0,
        offset: 2,
        timestamp: 1_600_000_000_002,
        leaderEpoch: 0,
        key: new Uint8Array([0, 1, 2]),
        value: new Uint8Array([255]),
        headers: [{ key: "dup", value: te.encode("1") }, { key: "dup", value: null }],
      },
    ]);
  });
});

Deno.test("Producer batches concurrent sends with linger and compresses with gzip", async () => {
  await withCluster(async (client) => {
    await new Admin(client).createTopics([{ name: "batch", numPartitions: 1 }]);
    const producer = new Producer(client, { lingerMs: 20, compression: "gzip" });
    const sends = Array.from(
      { length: 40 },
      (_, i) => producer.send({ topic: "batch", messages: [{ value: `m${i}`.repeat(10) }] }),
    );
    const meta = (await Promise.all(sends)).flat();
    assert.deepEqual(meta.map((m) => m.offset), Array.from({ length: 40 }, (_, i) => i));
    const records = await readAll(client, "batch", 0, 40);
    assert.deepEqual(
      records.map((r) => text(r.value)),
      Array.from({ length: 40 }, (_, i) => `m${i}`.repeat(10)),
    );
  });
});

Deno.test("Producer sticks null-key messages of one batch to one partition", async () => {
  await withCluster(async (client) => {
    await new Admin(client).createTopics([{ name: "sticky", numPartitions: 4 }]);
    const producer = new Producer(client);
    const meta = await producer.send({
      topic: "sticky",
      messages: Array.from({ length: 10 }, (_, i) => ({ value: `n${i}` })),
    });
    const partitions = new Set(meta.map((m) => m.partition));
    assert.equal(partitions.size, 1);
    assert.deepEqual(meta.map((m) => m.offset), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });
});

Deno.test("Producer with acks=0 gets no offsets but the records arrive", async () => {
  await withCluster(async (client) => {
    await new Admin(client).createTopics([{ name: "fire", numPartitions: 1 }]);
    const producer = new Producer(client, { acks: 0 });
    const meta = await producer.send({ topic: "fire", messages: [{ value: "x" }, { value: "y" }] });
    assert.deepEqual(meta.map((m) => m.offset), [-1, -1]);
    const records = await readAll(client, "fire", 0, 2);
    assert.deepEqual(records.map((r) => [r.offset, text(r.value)]), [[0, "x"], [1, "y"]]);
  });
});

Deno.test("Producer honours an explicit partition and rejects a missing one", async () => {
  await withCluster(async (client) => {
    await new Admin(client).createTopics([{ name: "explicit", numPartitions: 2 }]);
    const producer = new Producer(client);
    const meta = await producer.send({
      topic: "explicit",
      messages: [{ key: "21", value: "a", partition: 1 }, { value: "b", partition: 1 }],
    });
    assert.deepEqual(meta.map((m) => [m.partition, m.offset]), [[1, 0], [1, 1]]);
    await assert.rejects(
      producer.send({ topic: "explicit", messages: [{ value: "c", partition: 2 }] }),
      (e: unknown) => {
        assert.ok(e instanceof KafkaError);
        assert.equal(e.errorName, "UNKNOWN_TOPIC_OR_PARTITION");
        assert.match(
          e.message,
          /^produce to explicit: partition 2 does not exist \(topic has 2 partitions\)/,
        );
        return true;
      },
    );
  });
});

Deno.test("Producer auto-creates a missing topic when the broker allows it", async () => {
  await withCluster(async (client) => {
    const producer = new Producer(client);
    const meta = await producer.send({ topic: "fresh", messages: [{ value: "x" }] });
    assert.deepEqual(meta.map((m) => [m.topic, m.partition, m.offset]), [["fresh", 0, 0]]);
    assert.deepEqual(await new Admin(client).listTopics(), ["fresh"]);
  });
});

Deno.test("Producer to a missing topic fails with UNKNOWN_TOPIC_OR_PARTITION", async () => {
  await withCluster(async (client) => {
    const producer = new Producer(client, { allowAutoTopicCreation: false });
    await assert.rejects(
      producer.send({ topic: "nope", messages: [{ value: "x" }] }),
      (e: unknown) => {
        assert.ok(e instanceof KafkaError);
        assert.equal(e.errorName, "UNKNOWN_TOPIC_OR_PARTITION");
        assert.match(e.message, /^metadata for topic nope: /);
        return true;
      },
    );
  });
});

Deno.test("Producer refreshes stale metadata when a topic grows", async () => {
  await withCluster(async (client) => {
    await new Admin(client).createTopics([{ name: "grow", numPartitions: 1 }]);
    const producer = new Producer(client);
    assert.deepEqual(
      (await producer.send({ topic: "grow", messages: [{ value: "a" }] })).map((m) => m.partition),
      [0],
    );
    // Another client grows the topic; this producer's cache still says 1 partition.
    const other = new Client({ bootstrapServers: client.options.bootstrapServers });
    try {
      await new Admin(other).createPartitions([{ topic: "grow", count: 3 }]);
    } finally {
      await other.close();
    }
    const meta = await producer.send({ topic: "grow", messages: [{ value: "b", partition: 2 }] });
    assert.deepEqual(meta.map((m) => [m.partition, m.offset]), [[2, 0]]);
  });
});

Deno.test("Producer reconnects after the broker restarts", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sluice_producer_restart_" });
  const start = (port: number) =>
    Broker.start({
      listeners: `PLAINTEXT://127.0.0.1:${port}`,
      logDirs: [dir],
      logLevel: "silent",
    });
  let broker = await start(0);
  const port = broker.port;
  const client = new Client({ bootstrapServers: `127.0.0.1:${port}`, retryBackoffMs: 50 });
  try {
    await new Admin(client).createTopics([{ name: "r", numPartitions: 1 }]);
    const producer = new Producer(client);
    assert.deepEqual(
      (await producer.send({ topic: "r", messages: [{ value: "before" }] })).map((m) => m.offset),
      [0],
    );
    await broker.close();
    broker = await start(port);
    assert.deepEqual(
      (await producer.send({ topic: "r", messages: [{ value: "after" }] })).map((m) => m.offset),
      [1],
    );
    const consumer = new Consumer(client, { fromBeginning: true, maxWaitMs: 100 });
    await consumer.assign([{ topic: "r", partition: 0 }]);
    const records = await consumer.poll();
    assert.deepEqual(records.map((r) => text(r.value)), ["before", "after"]);
    await consumer.close();
  } finally {
    await client.close();
    await broker.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Producer moves null-key records to another partition when a batch closes", async () => {
  await withCluster(async (client) => {
    await new Admin(client).createTopics([{ name: "spread", numPartitions: 4 }]);
    // Each 100-byte value nearly fills a 150-byte batch, so every record closes a batch.
    const producer = new Producer(client, { batchSize: 150 });
    const value = "v".repeat(100);
    const meta = await producer.send({
      topic: "spread",
      messages: Array.from({ length: 8 }, () => ({ value })),
    });
    for (let i = 1; i < meta.length; i++) {
      assert.notEqual(meta[i].partition, meta[i - 1].partition, `record ${i} stayed put`);
    }
    // Offsets are dense per partition.
    const seen = new Map<number, number[]>();
    for (const m of meta) seen.set(m.partition, [...(seen.get(m.partition) ?? []), m.offset]);
    for (const offsets of seen.values()) {
      assert.deepEqual(offsets, offsets.map((_, i) => i));
    }
  });
});

Deno.test("Producer keeps the call order of sends that wait for metadata while the broker is away", async () => {
  // A send that found no broker retries its metadata after a backoff; a later send made when the
  // broker is back must still not overtake it (Java's send() blocks its caller, so one thread's
  // sends are ordered; ours are ordered per topic in call order).
  let target = 0;
  const proxy = new FaultProxy(() => target);
  const broker = await startBroker({
    numPartitions: 1,
    advertisedListeners: `PLAINTEXT://127.0.0.1:${proxy.port}`,
  });
  target = broker.port;
  const client = new Client({ bootstrapServers: `127.0.0.1:${proxy.port}`, retryBackoffMs: 100 });
  const producer = new Producer(client, { lingerMs: 0 });
  try {
    const topic = uniqueTopic("order");
    await new Admin(client).createTopics([{ name: topic, numPartitions: 1 }]);
    assert.equal((await producer.send({ topic, messages: [{ value: "first" }] }))[0].offset, 0);
    // The broker goes away: every connection is dropped and new ones are closed at once.
    const dead = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    target = (dead.addr as Deno.NetAddr).port;
    dead.close();
    proxy.dropConnections();
    client.invalidate(topic);
    const a = producer.send({ topic, messages: [{ value: "a" }] });
    await new Promise((r) => setTimeout(r, 350)); // a's metadata failed and it backs off
    target = broker.port;
    const b = producer.send({ topic, messages: [{ value: "b" }] });
    const [ma] = await a;
    const [mb] = await b;
    assert.deepEqual([ma.offset, mb.offset], [1, 2]);
  } finally {
    await producer.close();
    await client.close();
    await proxy.close();
    await broker.close();
  }
});

Deno.test("Producer retries a leader whose port refuses connections every retryBackoffMs without using up retries (a failover)", async () => {
  // The broker advertises a port nothing listens on yet, as metadata names a leader whose
  // process is gone until the next election: every connection to it is refused. With retries
  // 0, a refusal counted as an attempt would fail the send at once; it waits for the leader.
  const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const advertised = closed.addr.port;
  closed.close();
  const dir = await Deno.makeTempDir({ prefix: "sluice_producer_test_" });
  const broker = await Broker.start({
    listeners: "PLAINTEXT://127.0.0.1:0",
    advertisedListeners: `PLAINTEXT://127.0.0.1:${advertised}`,
    logDirs: [dir],
    logLevel: "silent",
  });
  const client = new Client({ bootstrapServers: `127.0.0.1:${broker.port}`, retryBackoffMs: 20 });
  const producer = new Producer(client, { acks: 1, idempotent: false, retries: 0, lingerMs: 0 });
  let forwarder: Deno.TcpListener | undefined;
  try {
    const sent = producer.send({ topic: "refused", messages: [{ value: "v" }] });
    let settled = false;
    sent.then(() => settled = true, () => settled = true);
    // a few refusals go by (the leader is looked up again each time)
    for (let i = 0; i < 10; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(settled, false);
    // the "new leader" listens: a forwarder to the broker on the advertised port
    forwarder = Deno.listen({ hostname: "127.0.0.1", port: advertised });
    (async () => {
      for await (const conn of forwarder!) {
        const up = await Deno.connect({ hostname: "127.0.0.1", port: broker.port });
        conn.readable.pipeTo(up.writable).catch(() => {});
        up.readable.pipeTo(conn.writable).catch(() => {});
      }
    })().catch(() => {});
    assert.deepEqual((await sent).map((m) => m.offset), [0]);
  } finally {
    await producer.close();
    await client.close();
    forwarder?.close();
    await broker.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Producer writes text keys, values and headers as their UTF-8 bytes, placed as the bytes would be", async () => {
  await withCluster(async (client) => {
    await new Admin(client).createTopics([{ name: "text", numPartitions: 5 }]);
    const producer = new Producer(client);
    // ASCII (the in-place fast paths), unicode, surrogate pairs and lone surrogates (written as
    // U+FFFD, as TextEncoder does), empty strings, a key longer than the partitioner's scratch.
    const strings = [
      "k1",
      "record-0000000001-".padEnd(100, "x"),
      "clé-ünïcødé",
      "€".repeat(120),
      "a😀b",
      "\ud800",
      "x\udc00y",
      "",
      "long-key-".repeat(60),
      "漢字".repeat(200) + "!",
    ];
    const messages = strings.map((s, i) => ({
      key: i === 3 ? null : s,
      value: i === 4 ? null : s.split("").reverse().join(""),
      headers: i % 2 === 0 ? [{ key: `h-${s}`, value: s }, { key: "b", value: te.encode(s) }] : [],
      timestamp: 1_650_000_000_000 + i,
    }));
    const meta = await producer.send({ topic: "text", messages });
    for (let i = 0; i < messages.length; i++) {
      const key = messages[i].key;
      if (key !== null) {
        assert.equal(meta[i].partition, partitionForKey(te.encode(key), 5), `key ${i}`);
      }
    }
    const got = new Map<string, ConsumerRecord>();
    for (const p of [0, 1, 2, 3, 4]) {
      const n = meta.filter((m) => m.partition === p).length;
      for (const r of await readAll(client, "text", p, n)) got.set(`${p}:${r.offset}`, r);
    }
    assert.equal(got.size, messages.length);
    messages.forEach((m, i) => {
      const r = got.get(`${meta[i].partition}:${meta[i].offset}`)!;
      assert.deepEqual(r.key, m.key === null ? null : te.encode(m.key), `key ${i}`);
      assert.deepEqual(r.value, m.value === null ? null : te.encode(m.value), `value ${i}`);
      assert.equal(r.timestamp, m.timestamp);
      assert.deepEqual(
        r.headers,
        m.headers.map((h) => ({
          key: td.decode(te.encode(h.key)),
          value: typeof h.value === "string" ? te.encode(h.value) : h.value,
        })),
      );
    });
    await producer.close();
  });
});

Deno.test("Producer measures non-ASCII text in UTF-8 bytes when filling a batch (no batch over batchSize)", async () => {
  await withCluster(async (client) => {
    // The topic refuses batches over 1200 bytes. 200 '€' are 200 UTF-16 units but 600 bytes: a
    // batch holds one such record (about 670 bytes); counted in units, a second one (about 230
    // more) would seem to fit and the batch of two (about 1300 bytes) would be refused.
    await new Admin(client).createTopics([{
      name: "euros",
      numPartitions: 1,
      configs: { "max.message.bytes": "1200" },
    }]);
    const producer = new Producer(client, { batchSize: 1100, lingerMs: 50 });
    const value = "€".repeat(200);
    const meta = await producer.send({
      topic: "euros",
      messages: Array.from({ length: 30 }, (_, i) => ({ key: `k${i}`, value, partition: 0 })),
    });
    assert.deepEqual(meta.map((m) => m.offset), Array.from({ length: 30 }, (_, i) => i));
    const records = await readAll(client, "euros", 0, 30);
    assert.equal(records.length, 30);
    for (const r of records) assert.equal(td.decode(r.value!), value);
    await producer.close();
  });
});

Deno.test("Producer send with metadata: false resolves empty once acknowledged; other sends in the same batches keep exact offsets", async () => {
  await withCluster(async (client) => {
    await new Admin(client).createTopics([{ name: "nometa", numPartitions: 2 }]);
    // A long linger: every send below shares the two partitions' batches.
    const producer = new Producer(client, { lingerMs: 200 });
    const sends: Array<Promise<unknown>> = [];
    const withMeta: Array<{ values: string[]; sent: Promise<RecordMetadata[]> }> = [];
    for (let s = 0; s < 6; s++) {
      const values = Array.from({ length: 5 + s }, (_, i) => `s${s}-${i}`);
      const sent = producer.send({
        topic: "nometa",
        messages: values.map((value, i) => ({ key: `k${i}`, value, timestamp: 1000 * s + i })),
        metadata: s % 2 === 0 ? false : undefined,
      });
      sends.push(sent);
      if (s % 2 === 1) withMeta.push({ values, sent });
    }
    const results = await Promise.all(sends);
    for (let s = 0; s < 6; s += 2) assert.deepEqual(results[s], []);
    const ends = await new Admin(client).listOffsets(
      [0, 1].map((partition) => ({ topic: "nometa", partition, spec: "latest" as const })),
    );
    const byPartition = [
      await readAll(client, "nometa", 0, ends[0].offset),
      await readAll(client, "nometa", 1, ends[1].offset),
    ];
    assert.equal(byPartition[0].length + byPartition[1].length, 5 + 6 + 7 + 8 + 9 + 10);
    for (const { values, sent } of withMeta) {
      const meta = await sent;
      assert.equal(meta.length, values.length);
      meta.forEach((m, i) => {
        const r = byPartition[m.partition].find((r) => r.offset === m.offset)!;
        assert.equal(text(r.value), values[i], `${values[i]} at ${m.partition}:${m.offset}`);
        assert.equal(m.timestamp, r.timestamp);
      });
    }
    // A failing send fails the same way without metadata.
    await assert.rejects(
      producer.send({ topic: "nometa", messages: [{ value: "x", partition: 9 }], metadata: false }),
      (e) => e instanceof KafkaError && /partition 9 does not exist/.test(e.message),
    );
    await producer.close();
  });
});
