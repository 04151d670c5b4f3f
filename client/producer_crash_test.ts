// Copyright 2026 the Sluice authors. Apache-2.0 license.
// The idempotent producer while its broker (a process of its own) is SIGKILLed and restarted on
// its data directory: every send is acknowledged in the end, and the log holds exactly the
// acknowledged records, each once, at its acknowledged offset (no batch lost, none written
// twice by a retry, none out of order). 16 MiB over two partitions, up to 5 batches in flight
// per partition, three kills at moments picked by SLUICE_CRASH_SEED (printed).

import assert from "node:assert/strict";
import { ChaosBroker, freePort } from "../tests/chaos/broker.ts";
import { Admin } from "./admin.ts";
import { Client } from "./client.ts";
import { Consumer } from "./consumer.ts";
import { Producer } from "./producer.ts";

const RECORDS = 32_000;
const VALUE_BYTES = 500;
const PER_SEND = 20;
const KILLS = 3;

const te = new TextEncoder();
const td = new TextDecoder();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function value(i: number): Uint8Array {
  const head = `r${i}|`;
  return te.encode(head + String.fromCharCode(97 + i % 26).repeat(VALUE_BYTES - head.length));
}

Deno.test("idempotent producer: broker SIGKILLed and restarted while sending", async () => {
  const seed = Number(Deno.env.get("SLUICE_CRASH_SEED") ?? Math.floor(Math.random() * 1e9));
  let s = seed;
  const random = () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
  console.log(`SLUICE_CRASH_SEED=${seed}`);
  const dir = await Deno.makeTempDir({ prefix: "sluice_producer_crash_" });
  const broker = new ChaosBroker({
    dataDir: `${dir}/data`,
    port: freePort(),
    overrides: ["log.segment.bytes=1048576"],
    logFile: `${dir}/broker.log`,
  });
  await broker.start();
  const client = new Client({
    bootstrapServers: broker.bootstrap,
    retryBackoffMs: 50,
    connectTimeoutMs: 2000,
  });
  const producer = new Producer(client, {
    lingerMs: 2,
    batchSize: 64 * 1024,
    deliveryTimeoutMs: 60_000,
  });
  let ok = false;
  try {
    assert.equal(producer.idempotent, true);
    await new Admin(client).createTopics([{ name: "crash", numPartitions: 2 }]);
    // offset → record number, per partition, as acknowledged
    const acked = [new Map<number, number>(), new Map<number, number>()];
    const errors: string[] = [];
    let ackedCount = 0;
    const killAt = Array.from(
      { length: KILLS },
      (_, k) => Math.floor(RECORDS * (k + 0.2 + 0.6 * random()) / (KILLS + 0.5)),
    );
    const killedAt: number[] = [];
    const kills = (async () => {
      for (const at of killAt) {
        while (ackedCount < at && ackedCount + errors.length < RECORDS) await sleep(5);
        killedAt.push(ackedCount);
        await broker.kill();
        await sleep(random() * 500);
        await broker.start();
      }
    })();
    const inFlight = new Set<Promise<void>>();
    for (let i = 0; i < RECORDS; i += PER_SEND) {
      const partition = (i / PER_SEND) % 2;
      const first = i;
      const p = producer.send({
        topic: "crash",
        messages: Array.from({ length: PER_SEND }, (_, k) => ({
          value: value(first + k),
          partition,
        })),
      }).then((metas) => {
        metas.forEach((m, k) => {
          const before = acked[m.partition].get(m.offset);
          if (before !== undefined) errors.push(`offset ${m.offset} acknowledged twice`);
          acked[m.partition].set(m.offset, first + k);
        });
        ackedCount += metas.length;
      }, (e) => {
        errors.push(`records ${first}..${first + PER_SEND - 1}: ${e.message}`);
      });
      inFlight.add(p);
      p.finally(() => inFlight.delete(p));
      if (inFlight.size >= 64) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
    await kills;
    await producer.flush();
    console.log(`killed at ${killedAt.join(", ")} of ${RECORDS} records acknowledged`);
    assert.ok(killedAt.every((n) => n < RECORDS - 64 * PER_SEND), `${killedAt}`);
    assert.deepEqual(errors, []);
    assert.equal(ackedCount, RECORDS);
    // Read both partitions back to their end: exactly the acknowledged records.
    const consumer = new Consumer(client, {
      fromBeginning: true,
      maxWaitMs: 50,
      maxPartitionBytes: 4 << 20,
    });
    try {
      for (const partition of [0, 1]) {
        await consumer.assign([{ topic: "crash", partition }]);
        const stored = new Map<number, number>();
        const expectedEnd = acked[partition].size;
        for (let polls = 0; stored.size < expectedEnd && polls < 2000; polls++) {
          for (const r of await consumer.poll()) {
            const text = td.decode(r.value!.subarray(0, 16));
            const n = Number(text.slice(1, text.indexOf("|")));
            assert.equal(r.value!.length, VALUE_BYTES);
            assert.ok(!stored.has(r.offset), `offset ${r.offset} read twice`);
            stored.set(r.offset, n);
          }
        }
        const [end] = await new Admin(client).listOffsets([
          { topic: "crash", partition, spec: "latest" },
        ]);
        assert.equal(end.offset, expectedEnd, `crash-${partition}: log end offset`);
        const sorted = (m: Map<number, number>) => [...m].sort((a, b) => a[0] - b[0]);
        assert.deepEqual(sorted(stored), sorted(acked[partition]), `crash-${partition}`);
        // In send order: record numbers grow with the offset.
        const numbers = sorted(stored).map(([, n]) => n);
        for (let k = 1; k < numbers.length; k++) assert.ok(numbers[k] > numbers[k - 1]);
      }
    } finally {
      await consumer.close();
    }
    ok = true;
  } finally {
    await producer.close().catch(() => {});
    await client.close();
    await broker.kill();
    if (ok) await Deno.remove(dir, { recursive: true });
    else console.log(`kept ${dir}`);
  }
});
