// Copyright 2026 the Sluice authors. Apache-2.0 license.
// The idempotent producer against a real in-process broker behind tests/fault_proxy.ts, which
// loses, delays or replaces Produce answers: lost answers are retried without duplicates and in
// order, at most 5 batches of a partition are in flight, sequences wrap at 2^31-1,
// UNKNOWN_PRODUCER_ID and OUT_OF_ORDER_SEQUENCE_NUMBER bump the epoch (InitProducerId with the
// current id and epoch) and renumber, a broker without KIP-360 or INVALID_PRODUCER_EPOCH is a
// fatal error, DUPLICATE_SEQUENCE_NUMBER is success, and a record fails after deliveryTimeoutMs.

import assert from "node:assert/strict";
import { ErrorCode, KafkaError } from "../protocol/errors.ts";
import { incrementSequence } from "../records/mod.ts";
import { startBroker, type TestBroker, uniqueTopic } from "../tests/harness.ts";
import { FaultProxy, type FaultProxyOptions, type SeenBatch } from "../tests/fault_proxy.ts";
import { Admin } from "./admin.ts";
import { Client } from "./client.ts";
import { Consumer } from "./consumer.ts";
import { _internals, type EpochBump, Producer, type RecordMetadata } from "./producer.ts";

const td = new TextDecoder();

interface Ctx {
  client: Client;
  proxy: FaultProxy;
  broker: TestBroker;
}

async function withProxy(options: FaultProxyOptions, fn: (ctx: Ctx) => Promise<void>) {
  let port = 0;
  const proxy = new FaultProxy(() => port, options);
  const broker = await startBroker({
    numPartitions: 1,
    advertisedListeners: `PLAINTEXT://127.0.0.1:${proxy.port}`,
  });
  port = broker.port;
  const client = new Client({ bootstrapServers: `127.0.0.1:${proxy.port}`, retryBackoffMs: 20 });
  try {
    await fn({ client, proxy, broker });
  } finally {
    await client.close();
    await proxy.close();
    await broker.close();
  }
}

/** Every record of a partition as [offset, value], read to its end offset. */
async function readLog(client: Client, topic: string, partition = 0): Promise<[number, string][]> {
  const [end] = await new Admin(client).listOffsets([{ topic, partition, spec: "latest" }]);
  const consumer = new Consumer(client, { fromBeginning: true, maxWaitMs: 50 });
  const out: [number, string][] = [];
  try {
    await consumer.assign([{ topic, partition }]);
    for (let i = 0; i < 500 && (out.at(-1)?.[0] ?? -1) < end.offset - 1; i++) {
      for (const r of await consumer.poll()) out.push([r.offset, td.decode(r.value!)]);
    }
  } finally {
    await consumer.close();
  }
  return out;
}

const values = (prefix: string, n: number) =>
  Array.from({ length: n }, (_, i) => `${prefix}${i}:${"x".repeat(80)}`);

/** Sends `list` in sends of `per` records, all at once, to partition 0. */
function sendAll(producer: Producer, topic: string, list: string[], per: number) {
  const sends: Promise<RecordMetadata[]>[] = [];
  for (let i = 0; i < list.length; i += per) {
    sends.push(producer.send({
      topic,
      messages: list.slice(i, i + per).map((value) => ({ value, partition: 0 })),
    }));
  }
  return sends;
}

/** Sends `list` one send (one batch) of `per` records at a time, each acknowledged first. */
async function sendInTurn(producer: Producer, topic: string, list: string[], per: number) {
  const out: RecordMetadata[] = [];
  for (let i = 0; i < list.length; i += per) {
    out.push(
      ...await producer.send({
        topic,
        messages: list.slice(i, i + per).map((value) => ({ value, partition: 0 })),
      }),
    );
  }
  return out;
}

/**
 * A resent batch is the same batch (same producer id, epoch, sequence and bytes: same CRC), and
 * the sequences of each epoch follow on without a gap.
 */
function assertSequencesFollowOn(batches: SeenBatch[]) {
  const byEpoch = new Map<string, Map<number, SeenBatch>>();
  for (const b of batches) {
    const k = `${b.producerId}/${b.producerEpoch}`;
    const m = byEpoch.get(k) ?? new Map<number, SeenBatch>();
    byEpoch.set(k, m);
    const first = m.get(b.baseSequence);
    if (first !== undefined) {
      assert.deepEqual(
        [b.count, b.crc],
        [first.count, first.crc],
        `resend of ${k}/${b.baseSequence}`,
      );
    } else m.set(b.baseSequence, b);
  }
  for (const [k, m] of byEpoch) {
    const seqs = [...m.keys()].sort((a, b) => a - b);
    let next = seqs[0];
    for (const s of seqs) {
      assert.equal(s, next, `${k}: sequences ${seqs.join(",")} have a gap`);
      next = incrementSequence(s, m.get(s)!.count);
    }
  }
}

Deno.test("idempotent producer: lost answers are retried in order, every record once", async () => {
  const drops = new Set([3, 8, 9, 15]);
  await withProxy({
    produce: (n) => drops.has(n) ? "drop-response" : "forward",
  }, async ({ client, proxy }) => {
    const topic = uniqueTopic("idem-lossy");
    await new Admin(client).createTopics([{ name: topic, numPartitions: 1 }]);
    const producer = new Producer(client, { lingerMs: 0, batchSize: 1500 });
    assert.equal(producer.idempotent, true);
    const list = values("l", 600);
    const metas = await Promise.all(sendAll(producer, topic, list, 10));
    assert.deepEqual(metas.flat().map((m) => m.offset), list.map((_, i) => i));
    assert.equal(proxy.dropped, drops.size);
    assert.deepEqual(await readLog(client, topic), list.map((v, i) => [i, v]));
    // A resent batch is the same batch: same producer id, epoch, sequence and bytes.
    const sequences = new Set<number>();
    for (const b of proxy.batches) {
      assert.ok(b.producerId >= 0 && b.producerEpoch === 0, JSON.stringify(b));
      sequences.add(b.baseSequence);
    }
    assertSequencesFollowOn(proxy.batches);
    assert.ok(proxy.batches.length > sequences.size, "nothing was resent");
    assert.ok((proxy.maxOutstanding.get(`${topic}-0`) ?? 0) <= 5);
    await producer.close();
  });
});

Deno.test("idempotent producer: a compressed batch is resent byte for byte", async () => {
  await withProxy({
    produce: (n) => n % 4 === 1 ? "drop-response" : "forward",
  }, async ({ client, proxy }) => {
    const topic = uniqueTopic("idem-bytes");
    await new Admin(client).createTopics([{ name: topic, numPartitions: 1 }]);
    const producer = new Producer(client, { lingerMs: 0, batchSize: 1200, compression: "lz4" });
    const list = values("b", 200);
    await Promise.all(sendAll(producer, topic, list, 10));
    assert.ok(proxy.dropped >= 3);
    assertSequencesFollowOn(proxy.batches);
    assert.deepEqual(await readLog(client, topic), list.map((v, i) => [i, v]));
    await producer.close();
  });
});

Deno.test("idempotent producer: at most maxInFlight batches of a partition in flight", async () => {
  await withProxy({ produce: () => ({ delayMs: 40 }) }, async ({ client, proxy }) => {
    const five = uniqueTopic("idem-inflight5");
    const two = uniqueTopic("idem-inflight2");
    await new Admin(client).createTopics([
      { name: five, numPartitions: 2 },
      { name: two, numPartitions: 1 },
    ]);
    const p5 = new Producer(client, { lingerMs: 0, batchSize: 400 });
    const p2 = new Producer(client, { lingerMs: 0, batchSize: 400, maxInFlight: 2 });
    const list = values("f", 120);
    await Promise.all([
      ...list.map((value, i) => p5.send({ topic: five, messages: [{ value, partition: i % 2 }] })),
      ...sendAll(p2, two, list, 3),
    ]);
    assert.equal(proxy.maxOutstanding.get(`${five}-0`), 5);
    assert.equal(proxy.maxOutstanding.get(`${five}-1`), 5);
    assert.equal(proxy.maxOutstanding.get(`${two}-0`), 2);
    assert.deepEqual(
      (await readLog(client, two)).map(([, v]) => v),
      list,
    );
    await p5.close();
    await p2.close();
  });
});

Deno.test("idempotent producer: sequences wrap from 2147483647 to 0, retries included", async () => {
  const first = 2147483647 - 24;
  _internals.firstSequence = first;
  try {
    await withProxy({
      // Request 2 holds sequences 2147483643..5: its answer is lost, the resend is not written
      // again.
      produce: (n) => n === 2 ? "drop-response" : "forward",
    }, async ({ client, proxy }) => {
      const topic = uniqueTopic("idem-wrap");
      await new Admin(client).createTopics([{ name: topic, numPartitions: 1 }]);
      const producer = new Producer(client, { lingerMs: 0 });
      const list = values("w", 60);
      const metas = await sendInTurn(producer, topic, list, 10);
      assert.deepEqual(metas.map((m) => m.offset), list.map((_, i) => i));
      const expected = [0, 1, 2, 2, 3, 4, 5].map((k) => incrementSequence(first, 10 * k));
      assert.deepEqual(proxy.batches.map((b) => b.baseSequence), expected);
      assert.deepEqual(expected.slice(2, 5), [2147483643, 2147483643, 5]);
      assert.deepEqual(await readLog(client, topic), list.map((v, i) => [i, v]));
      await producer.close();
    });
  } finally {
    _internals.firstSequence = 0;
  }
});

Deno.test("idempotent producer: InitProducerId is retried while the broker cannot answer", async () => {
  const busy = [ErrorCode.COORDINATOR_NOT_AVAILABLE, ErrorCode.COORDINATOR_LOAD_IN_PROGRESS];
  await withProxy({ initProducerIdError: (n) => busy[n] }, async ({ client, proxy }) => {
    const topic = uniqueTopic("idem-init-retry");
    await new Admin(client).createTopics([{ name: topic, numPartitions: 1 }]);
    const producer = new Producer(client, { lingerMs: 0 });
    const metas = await producer.send({ topic, messages: [{ value: "a" }, { value: "b" }] });
    assert.deepEqual(metas.map((m) => m.offset), [0, 1]);
    assert.equal(proxy.initProducerIds.length, 3);
    assert.deepEqual(proxy.batches.map((b) => [b.producerId >= 0, b.baseSequence]), [[true, 0]]);
    await producer.close();
  });
});

Deno.test("idempotent producer: InitProducerId refused for good is a fatal error", async () => {
  await withProxy({
    initProducerIdError: () => ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
  }, async ({ client, proxy }) => {
    const topic = uniqueTopic("idem-init-refused");
    await new Admin(client).createTopics([{ name: topic, numPartitions: 1 }]);
    const producer = new Producer(client, { lingerMs: 0 });
    const refused = (e: unknown) => {
      assert.ok(e instanceof KafkaError);
      assert.equal(e.code, ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
      assert.match(e.message, /^InitProducerId to .*: an idempotent producer cannot go on/);
      return true;
    };
    await assert.rejects(producer.send({ topic, messages: [{ value: "a" }] }), refused);
    await assert.rejects(producer.send({ topic, messages: [{ value: "b" }] }), refused);
    assert.equal(proxy.initProducerIds.length, 1);
    assert.equal(proxy.produceRequests, 0);
    await producer.close();
  });
});

Deno.test("idempotent producer: UNKNOWN_PRODUCER_ID bumps the epoch and renumbers", async () => {
  await withProxy({
    produce: (n) => n === 3 ? { errorCode: ErrorCode.UNKNOWN_PRODUCER_ID } : "forward",
  }, async ({ client, proxy }) => {
    const topic = uniqueTopic("idem-unknown-pid");
    await new Admin(client).createTopics([{ name: topic, numPartitions: 1 }]);
    const bumps: EpochBump[] = [];
    const producer = new Producer(client, { lingerMs: 0, onEpochBump: (b) => bumps.push(b) });
    const list = values("u", 60);
    const metas = await sendInTurn(producer, topic, list, 10);
    assert.deepEqual(metas.map((m) => m.offset), list.map((_, i) => i));
    assert.equal(proxy.answered, 1);
    // The second InitProducerId carries the current producer id and epoch (KIP-360, v3+).
    const [init, bump] = proxy.initProducerIds;
    assert.equal(proxy.initProducerIds.length, 2);
    assert.deepEqual([init.producerId, init.producerEpoch], [-1, -1]);
    const old = proxy.batches[0];
    assert.deepEqual([bump.producerId, bump.producerEpoch], [old.producerId, old.producerEpoch]);
    assert.ok(bump.version >= 3);
    assert.equal(bumps.length, 1);
    assert.equal(bumps[0].error.code, ErrorCode.UNKNOWN_PRODUCER_ID);
    assert.deepEqual(
      [bumps[0].topic, bumps[0].previousProducerId, bumps[0].previousProducerEpoch],
      [topic, old.producerId, old.producerEpoch],
    );
    assert.equal(bumps[0].renumbered, 1);
    const now = [bumps[0].producerId, bumps[0].producerEpoch];
    assert.notDeepEqual(now, [old.producerId, old.producerEpoch]);
    // Batches 0-2 with the first id, batch 3 refused, then renumbered from 0 with the new one.
    assert.deepEqual(
      proxy.batches.map((b) => [b.producerId === old.producerId ? "old" : "new", b.baseSequence]),
      [["old", 0], ["old", 10], ["old", 20], ["old", 30], ["new", 0], ["new", 10], ["new", 20]],
    );
    for (const b of proxy.batches.slice(4)) {
      assert.deepEqual([b.producerId, b.producerEpoch], now);
    }
    assert.deepEqual(await readLog(client, topic), list.map((v, i) => [i, v]));
    await producer.close();
  });
});

Deno.test("idempotent producer: OUT_OF_ORDER_SEQUENCE_NUMBER after a lost batch bumps the epoch", async () => {
  // The proxy acknowledges request 2 itself: the broker never gets it, as if it lost an
  // acknowledged batch. Request 3 (several batches in flight) then meets the gap.
  await withProxy({
    produce: (n) => n === 2 ? { errorCode: ErrorCode.NONE, baseOffset: 20 } : "forward",
  }, async ({ client, proxy }) => {
    const topic = uniqueTopic("idem-gap");
    await new Admin(client).createTopics([{ name: topic, numPartitions: 1 }]);
    const bumps: EpochBump[] = [];
    const producer = new Producer(client, { lingerMs: 0, onEpochBump: (b) => bumps.push(b) });
    const list = values("g", 30);
    await sendInTurn(producer, topic, list, 10);
    const rest = values("h", 100);
    const metas = await Promise.all(sendAll(producer, topic, rest, 10));
    assert.equal(bumps.length, 1);
    assert.equal(bumps[0].error.code, ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    assert.ok(bumps[0].renumbered >= 1 && bumps[0].renumbered <= 5, `${bumps[0].renumbered}`);
    // The lost batch is missing; everything after it is there once, in order.
    const kept = [...list.slice(0, 20), ...rest];
    assert.deepEqual(await readLog(client, topic), kept.map((v, i) => [i, v]));
    assert.deepEqual(metas.flat().map((m) => m.offset), rest.map((_, i) => 20 + i));
    assertSequencesFollowOn(proxy.batches);
    await producer.close();
  });
});

Deno.test("idempotent producer: without KIP-360 a needed bump fails every pending send", async () => {
  await withProxy({
    maxInitProducerIdVersion: 2,
    produce: (n) => n === 1 ? { errorCode: ErrorCode.UNKNOWN_PRODUCER_ID } : "forward",
  }, async ({ client, proxy }) => {
    const topic = uniqueTopic("idem-no-kip360");
    await new Admin(client).createTopics([{ name: topic, numPartitions: 1 }]);
    const producer = new Producer(client, { lingerMs: 0 });
    const list = values("k", 50);
    await sendInTurn(producer, topic, list.slice(0, 10), 10);
    const results = await Promise.allSettled(sendAll(producer, topic, list.slice(10), 10));
    const isFatal = (e: unknown) => {
      assert.ok(e instanceof KafkaError);
      assert.equal(e.code, ErrorCode.UNKNOWN_PRODUCER_ID);
      assert.match(e.message, /supports InitProducerId up to v2.*KIP-360/);
      return true;
    };
    for (const r of results) {
      assert.equal(r.status, "rejected");
      isFatal((r as PromiseRejectedResult).reason);
    }
    await assert.rejects(producer.send({ topic, messages: [{ value: "later" }] }), isFatal);
    assert.deepEqual(await readLog(client, topic), list.slice(0, 10).map((v, i) => [i, v]));
    assert.equal(proxy.initProducerIds.length, 1);
    await producer.close();
  });
});

Deno.test("idempotent producer: INVALID_PRODUCER_EPOCH is a fatal error", async () => {
  await withProxy({
    produce: (n) => n === 1 ? { errorCode: ErrorCode.INVALID_PRODUCER_EPOCH } : "forward",
  }, async ({ client }) => {
    const topic = uniqueTopic("idem-fenced");
    await new Admin(client).createTopics([{ name: topic, numPartitions: 1 }]);
    const producer = new Producer(client, { lingerMs: 0 });
    await producer.send({ topic, messages: [{ value: "a" }] });
    const isFatal = (e: unknown) => {
      assert.ok(e instanceof KafkaError);
      assert.equal(e.code, ErrorCode.INVALID_PRODUCER_EPOCH);
      assert.match(e.message, /newer epoch.*cannot go on/);
      return true;
    };
    await assert.rejects(producer.send({ topic, messages: [{ value: "b" }] }), isFatal);
    await assert.rejects(producer.send({ topic, messages: [{ value: "c" }] }), isFatal);
    assert.deepEqual(await readLog(client, topic), [[0, "a"]]);
    await producer.close();
  });
});

Deno.test("idempotent producer: DUPLICATE_SEQUENCE_NUMBER is success", async () => {
  await withProxy({
    produce: (n) =>
      n === 1 ? { errorCode: ErrorCode.DUPLICATE_SEQUENCE_NUMBER, forward: true } : "forward",
  }, async ({ client, proxy }) => {
    const topic = uniqueTopic("idem-dup");
    await new Admin(client).createTopics([{ name: topic, numPartitions: 1 }]);
    const producer = new Producer(client, { lingerMs: 0 });
    const list = values("d", 30);
    const metas = await sendInTurn(producer, topic, list, 10);
    assert.deepEqual(
      metas.map((m) => m.offset),
      list.map((_, i) => i >= 10 && i < 20 ? -1 : i),
    );
    assert.equal(proxy.initProducerIds.length, 1);
    assert.deepEqual(await readLog(client, topic), list.map((v, i) => [i, v]));
    await producer.close();
  });
});

Deno.test("producer: a record not acknowledged within deliveryTimeoutMs fails", async () => {
  await withProxy({}, async ({ client, broker }) => {
    const topic = uniqueTopic("idem-timeout");
    await new Admin(client).createTopics([{ name: topic, numPartitions: 1 }]);
    const producers = [true, false].map((idempotent) =>
      new Producer(client, { lingerMs: 0, deliveryTimeoutMs: 800, retries: 1000, idempotent })
    );
    for (const p of producers) await p.send({ topic, messages: [{ value: "before" }] });
    await broker.broker.close();
    const started = Date.now();
    const timedOut = (what: RegExp) => (e: unknown) => {
      assert.ok(e instanceof KafkaError);
      assert.equal(e.code, ErrorCode.REQUEST_TIMED_OUT);
      assert.match(e.message, what);
      return true;
    };
    const within = /1 records not acknowledged within deliveryTimeoutMs 800 .*last error: /;
    await Promise.all(
      producers.map((p) =>
        assert.rejects(p.send({ topic, messages: [{ value: "after" }] }), timedOut(within))
      ),
    );
    assert.ok(Date.now() - started >= 700);
    // Without metadata (the retries above dropped it), the wait for it is bounded the same way.
    await assert.rejects(
      producers[0].send({ topic, messages: [{ value: "later" }] }),
      timedOut(/no metadata within deliveryTimeoutMs 800/),
    );
    for (const p of producers) await p.close();
  });
});

Deno.test("producer: close(timeoutMs) fails the records still unacknowledged", async () => {
  await withProxy({}, async ({ client, broker }) => {
    const topic = uniqueTopic("idem-close");
    await new Admin(client).createTopics([{ name: topic, numPartitions: 1 }]);
    const producer = new Producer(client, { lingerMs: 0 });
    await producer.send({ topic, messages: [{ value: "before" }] });
    await broker.broker.close();
    const pending = producer.send({ topic, messages: [{ value: "after" }] });
    const started = Date.now();
    await producer.close(300);
    await assert.rejects(pending, /closed after 300 ms with 1 batches not acknowledged/);
    assert.ok(Date.now() - started >= 250);
    await assert.rejects(producer.send({ topic, messages: [{ value: "x" }] }), /send after close/);
  });
});

Deno.test("producer: idempotence defaults and conflicting options", async () => {
  const client = new Client({ bootstrapServers: "127.0.0.1:1" });
  try {
    const idem = (o: ConstructorParameters<typeof Producer>[1]) =>
      new Producer(client, o).idempotent;
    assert.equal(idem({}), true);
    assert.equal(idem({ acks: -1, maxInFlight: 5 }), true);
    // As the Java client: a conflicting setting turns the default off.
    assert.equal(idem({ acks: 1 }), false);
    assert.equal(idem({ acks: 0 }), false);
    assert.equal(idem({ retries: 0 }), false);
    assert.equal(idem({ maxInFlight: 6 }), false);
    assert.equal(idem({ idempotent: false }), false);
    // Asked for explicitly, it is an error.
    for (
      const [o, why] of [
        [{ acks: 1 }, /idempotent cannot be used with acks 1 \(it needs acks -1/],
        [{ acks: 0 }, /acks 0/],
        [{ retries: 0 }, /retries 0/],
        [{ maxInFlight: 6 }, /maxInFlight 6 \(at most 5/],
      ] as const
    ) {
      assert.throws(() => new Producer(client, { ...o, idempotent: true }), why);
    }
    assert.throws(() => new Producer(client, { maxInFlight: 0 }), /invalid maxInFlight 0/);
    assert.throws(() => new Producer(client, { deliveryTimeoutMs: 0 }), /deliveryTimeoutMs 0/);
    assert.throws(() => new Producer(client, { retries: -1 }), /invalid retries -1/);
  } finally {
    await client.close();
  }
});

Deno.test("producer: acks=1 sends no producer id, acks=-1 does", async () => {
  await withProxy({}, async ({ client, proxy }) => {
    const topic = uniqueTopic("idem-pid");
    await new Admin(client).createTopics([{ name: topic, numPartitions: 1 }]);
    await new Producer(client, { acks: 1 }).send({ topic, messages: [{ value: "a" }] });
    await new Producer(client).send({ topic, messages: [{ value: "b" }] });
    assert.deepEqual(
      proxy.batches.map((b) => [b.producerId >= 0, b.producerEpoch, b.baseSequence]),
      [[false, -1, -1], [true, 0, 0]],
    );
    assert.equal(proxy.initProducerIds.length, 1);
  });
});
