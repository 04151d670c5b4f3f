// Copyright 2026 the Sluice authors. Apache-2.0 license.
// Transactions with real clients against an in-process Sluice broker: confluent-kafka
// (librdkafka) through clients/confluent_txn_client.py, and kafkajs' producer.transaction().
// Committed transactions are visible to read_committed consumers, aborted ones are not; a
// read_uncommitted consumer sees both, and nobody sees the COMMIT/ABORT markers. The state that
// decides it (last stable offset, aborted transactions) survives a broker restart in the middle
// of a transaction.

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import {
  interopTest,
  PYTHON,
  requireClient,
  requireClients,
  runClientScript,
  sharedBroker,
  startBroker,
  uniqueTopic,
  withTimeout,
} from "../harness.ts";
import { CALL_MS, consumeAll, kafkaFor, loadKafkajs } from "./kafkajs_client.ts";
import { ListOffsetsRequest, ListOffsetsResponse } from "../../protocol/messages/list_offsets.ts";
import { RawClient } from "../../server/testing.ts";

const confluent = requireClient("confluent-kafka");
const kafkajsClient = requireClient("kafkajs");
const kafkajs = await loadKafkajs(kafkajsClient.available);
const broker = sharedBroker({ numPartitions: 1 });

interface Rec {
  offset: number;
  value: string;
}

async function pyRead(bootstrap: string, topic: string, isolation: string, count: number) {
  const r = await runClientScript<{ records: Rec[] }>("confluent_txn_client.py", "consume", {
    bootstrap,
    topic,
    isolation,
    count,
    idle_ms: 1500,
  }, 60_000);
  return r.records;
}

interopTest(confluent, "commit visible to read_committed, abort not; markers skipped", async () => {
  const { bootstrap } = await broker();
  const topic = uniqueTopic("txn-confluent");
  await runClientScript("confluent_txn_client.py", "transactions", {
    bootstrap,
    topic,
    transactional_id: `tid-${topic}`,
    transactions: [
      { values: ["c1", "c2"], commit: true },
      { values: ["a1"], commit: false },
      { values: ["c3"], commit: true },
    ],
  }, 60_000);
  // Offsets: c1 0, c2 1, COMMIT 2, a1 3, ABORT 4, c3 5, COMMIT 6.
  const committed = await pyRead(bootstrap, topic, "read_committed", 3);
  assertEquals(committed, [
    { offset: 0, value: "c1" },
    { offset: 1, value: "c2" },
    { offset: 5, value: "c3" },
  ]);
  const all = await pyRead(bootstrap, topic, "read_uncommitted", 4);
  assertEquals(all, [
    { offset: 0, value: "c1" },
    { offset: 1, value: "c2" },
    { offset: 3, value: "a1" },
    { offset: 5, value: "c3" },
  ]);
});

interopTest(
  confluent,
  "a new producer with the same transactional id fences the old one",
  async () => {
    const { bootstrap } = await broker();
    const topic = uniqueTopic("txn-confluent-fence");
    const tid = `tid-${topic}`;
    await runClientScript("confluent_txn_client.py", "transactions", {
      bootstrap,
      topic,
      transactional_id: tid,
      transactions: [{ values: ["x"], commit: true }],
    }, 60_000);
    await runClientScript("confluent_txn_client.py", "transactions", {
      bootstrap,
      topic,
      transactional_id: tid,
      transactions: [{ values: ["y"], commit: true }],
    }, 60_000);
    const got = await pyRead(bootstrap, topic, "read_committed", 2);
    assertEquals(got.map((r) => r.value), ["x", "y"]);
  },
);

interopTest(kafkajsClient, "producer.transaction(): commit visible, abort not", async () => {
  const b = await broker();
  const topic = uniqueTopic("txn-kafkajs");
  const kafka = kafkaFor(kafkajs!, b);
  const admin = kafka.admin();
  await withTimeout(admin.connect(), CALL_MS, "admin.connect");
  await withTimeout(
    admin.createTopics({ topics: [{ topic, numPartitions: 1 }] }),
    CALL_MS,
    "createTopics",
  );
  await admin.disconnect();
  const producer = kafka.producer({
    transactionalId: `tid-${topic}`,
    idempotent: true,
    maxInFlightRequests: 1,
  });
  await withTimeout(producer.connect(), CALL_MS, "producer.connect");
  try {
    const t1 = await withTimeout(producer.transaction(), CALL_MS, "transaction 1");
    await withTimeout(
      t1.send({ topic, messages: [{ value: "k1" }, { value: "k2" }] }),
      CALL_MS,
      "send 1",
    );
    await withTimeout(t1.commit(), CALL_MS, "commit");
    const t2 = await withTimeout(producer.transaction(), CALL_MS, "transaction 2");
    await withTimeout(t2.send({ topic, messages: [{ value: "gone" }] }), CALL_MS, "send 2");
    await withTimeout(t2.abort(), CALL_MS, "abort");
    const t3 = await withTimeout(producer.transaction(), CALL_MS, "transaction 3");
    await withTimeout(t3.send({ topic, messages: [{ value: "k3" }] }), CALL_MS, "send 3");
    await withTimeout(t3.commit(), CALL_MS, "commit 3");
  } finally {
    await producer.disconnect();
  }
  // kafkajs consumers read committed by default and drop aborted batches by the broker's list.
  const got = await consumeAll(kafka, topic, 3);
  assertEquals(got.map((g) => [g.offset, g.value]), [[0, "k1"], [1, "k2"], [5, "k3"]]);
  if (confluent.available) {
    // Read back through librdkafka, which filters aborted transactions by the broker's list.
    const committed = await pyRead(b.bootstrap, topic, "read_committed", 3);
    assertEquals(committed.map((r) => [r.offset, r.value]), [[0, "k1"], [1, "k2"], [5, "k3"]]);
    const all = await pyRead(b.bootstrap, topic, "read_uncommitted", 4);
    assertEquals(all.map((r) => r.value), ["k1", "k2", "gone", "k3"]);
  }
});

interopTest(
  confluent,
  "send_offsets_to_transaction: committed on commit, dropped on abort",
  async () => {
    const { bootstrap } = await broker();
    const topic = uniqueTopic("txn-confluent-offsets");
    const group = `g-${topic}`;
    const tid = `tid-${topic}`;
    await runClientScript("confluent_txn_client.py", "transactions", {
      bootstrap,
      topic,
      transactional_id: tid,
      transactions: [{ values: ["v"], commit: true }],
    }, 60_000);
    const committed = async () =>
      (await runClientScript<{ offsets: Record<string, number | null> }>(
        "confluent_client.py",
        "committed",
        { bootstrap, topic, group, partitions: [0] },
        60_000,
      )).offsets["0"];
    const send = (offset: number, commit: boolean) =>
      runClientScript("confluent_txn_client.py", "offsets_in_txn", {
        bootstrap,
        topic,
        transactional_id: tid,
        group,
        offset,
        commit,
      }, 60_000);
    await send(1, true);
    assertEquals(await committed(), 1);
    await send(9, false);
    assertEquals(await committed(), 1);
  },
);

interopTest(
  confluent,
  "consume-transform-produce as a group member commits its offsets",
  async () => {
    const { bootstrap } = await broker();
    const input = uniqueTopic("txn-eos-in");
    const output = uniqueTopic("txn-eos-out");
    const group = `g-${input}`;
    await runClientScript("confluent_txn_client.py", "transactions", {
      bootstrap,
      topic: input,
      transactional_id: `tid-in-${input}`,
      transactions: [{ values: ["a", "b", "c"], commit: true }],
    }, 60_000);
    const r = await runClientScript<{ copied: number }>("confluent_txn_client.py", "copy", {
      bootstrap,
      input,
      output,
      group,
      transactional_id: `tid-copy-${input}`,
      count: 3,
    }, 60_000);
    assertEquals(r.copied, 3);
    const out = await pyRead(bootstrap, output, "read_committed", 3);
    assertEquals(out.map((x) => x.value), ["A", "B", "C"]);
    const committed = await runClientScript<{ offsets: Record<string, number | null> }>(
      "confluent_client.py",
      "committed",
      { bootstrap, topic: input, group, partitions: [0] },
      60_000,
    );
    // a, b, c at 0-2, the COMMIT marker at 3: librdkafka's position is the last record + 1
    // (3), or past the marker (4) once a fetch has skipped it.
    const at = committed.offsets["0"];
    assert(at === 3 || at === 4, `committed offset ${at}, expected 3 or 4`);
  },
);

interopTest(
  confluent,
  "exactly once: consume-transform-produce worker SIGKILLed mid-transaction, then restarted",
  async () => {
    // Its own broker: short group session timeouts so the killed member leaves the group fast.
    const b = await startBroker({ numPartitions: 1, groupMinSessionTimeoutMs: 500 });
    try {
      const input = uniqueTopic("eos-in");
      const output = uniqueTopic("eos-out");
      const n = 200;
      const values = Array.from({ length: n }, (_, i) => `in-${String(i).padStart(3, "0")}`);
      await runClientScript("confluent_txn_client.py", "transactions", {
        bootstrap: b.bootstrap,
        topic: input,
        transactional_id: `tid-load-${input}`,
        transactions: [{ values, commit: true }],
      }, 60_000);
      const job = {
        bootstrap: b.bootstrap,
        input,
        output,
        group: `g-${input}`,
        transactional_id: `tid-eos-${input}`,
        last: values[n - 1],
        batch: 10,
        // The 4th transaction stays open for 20 s after its records are written; the test kills
        // the worker in that window, so the kill always lands inside an open transaction.
        pause_at: 30,
        pause_ms: 20_000,
        session_timeout_ms: 1000,
      };
      const script = new URL("./clients/confluent_txn_client.py", import.meta.url).pathname;
      const child = new Deno.Command(PYTHON, {
        args: [script, "eos"],
        stdin: "piped",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const stderr = new Response(child.stderr).text();
      const w = child.stdin.getWriter();
      await w.write(new TextEncoder().encode(JSON.stringify(job)));
      await w.close();
      // Kill once 3 transactions are committed and the 4th has written its records (open).
      let committedBeforeKill = -1;
      let killed = false;
      const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
      const watch = (async () => {
        let buf = "";
        for (;;) {
          const { value, done } = await lines.read();
          if (done) return;
          buf += value;
          let nl;
          while ((nl = buf.indexOf("\n")) >= 0) {
            const line = JSON.parse(buf.slice(0, nl));
            buf = buf.slice(nl + 1);
            if ("committed" in line) committedBeforeKill = line.committed;
            if ("produced" in line && committedBeforeKill >= 30 && !killed) {
              child.kill("SIGKILL");
              killed = true;
            }
          }
        }
      })();
      let status: Deno.CommandStatus;
      try {
        status = await withTimeout(child.status, 30_000, "eos worker before the kill");
      } catch (e) {
        if (!killed) child.kill("SIGKILL");
        await child.status;
        throw e;
      } finally {
        await watch.catch(() => {});
      }
      assert(killed, `the worker finished before it was killed\n${await stderr}`);
      assertEquals(status.signal, "SIGKILL");
      assertEquals(committedBeforeKill, 30);
      // Same transactional id: InitProducerId fences the killed producer and aborts its open
      // transaction; the group's committed offset says where to resume.
      const r = await runClientScript<{ done: number }>(
        "confluent_txn_client.py",
        "eos",
        { ...job, pause_at: -1 },
        60_000,
      );
      assertEquals(r.done, n - committedBeforeKill);
      const expected = values.map((v) => `OUT-${v.slice(3)}`);
      const committed = await runClientScript<{ records: Rec[] }>(
        "confluent_txn_client.py",
        "consume",
        {
          bootstrap: b.bootstrap,
          topic: output,
          isolation: "read_committed",
          count: n,
          idle_ms: 1000,
        },
        60_000,
      );
      assertEquals(committed.records.map((x) => x.value), expected);
      // The killed transaction's records are in the log, aborted: a read_uncommitted reader sees
      // them again between the first 30 and the rest.
      const all = await runClientScript<{ records: Rec[] }>(
        "confluent_txn_client.py",
        "consume",
        {
          bootstrap: b.bootstrap,
          topic: output,
          isolation: "read_uncommitted",
          count: n + 10,
          idle_ms: 1000,
        },
        60_000,
      );
      assertEquals(all.records.map((x) => x.value), [
        ...expected.slice(0, 40),
        ...expected.slice(30),
      ]);
    } finally {
      await b.close();
    }
  },
);

/** A port free now (the broker restarts on it, so running clients reconnect to it). */
function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = l.addr.port;
  l.close();
  return port;
}

/** ListOffsets latest for partition 0: [high watermark, last stable offset]. */
async function latestOffsets(port: number, topic: string): Promise<number[]> {
  const c = await RawClient.connect(port);
  try {
    const at = async (isolationLevel: number) =>
      (await c.request(ListOffsetsRequest, ListOffsetsResponse, 5, {
        replicaId: -1,
        isolationLevel,
        topics: [{
          name: topic,
          partitions: [{
            partitionIndex: 0,
            timestamp: -1,
            currentLeaderEpoch: -1,
            maxNumOffsets: 1,
          }],
        }],
      })).topics[0].partitions[0].offset;
    return [await at(0), await at(1)];
  } finally {
    c.close();
  }
}

interopTest(
  requireClients(["confluent-kafka", "kafkajs"]),
  "read_committed consumers see exactly the committed records across a restart mid-transaction",
  async () => {
    // Its own broker, on a port kept across the restart: the consumers running during it
    // reconnect by themselves.
    const port = freePort();
    const b = await startBroker({ numPartitions: 1, listeners: `PLAINTEXT://127.0.0.1:${port}` });
    const kafka = new kafkajs!.Kafka({
      clientId: "sluice-interop",
      brokers: [b.bootstrap],
      logLevel: kafkajs!.logLevel.NOTHING,
      retry: { retries: 12, initialRetryTime: 200, maxRetryTime: 2000 },
    });
    const topic = uniqueTopic("txn-restart");
    const admin = kafka.admin();
    const producer = kafka.producer({
      transactionalId: `tid-${topic}`,
      idempotent: true,
      maxInFlightRequests: 1,
    });
    let reader: Deno.ChildProcess | undefined;
    try {
      await withTimeout(admin.connect(), CALL_MS, "admin.connect");
      // small segments: the transactions and their .txnindex entries span several segments
      await withTimeout(
        admin.createTopics({
          topics: [{
            topic,
            numPartitions: 1,
            configEntries: [{ name: "segment.bytes", value: "2048" }],
          }],
        }),
        CALL_MS,
        "createTopics",
      );
      await admin.disconnect();
      const values = (t: string) => Array.from({ length: 15 }, (_, i) => `${t}-${i}`);
      const expected = [...values("t1"), ...values("t3"), ...values("t4"), ...values("t6")];
      // A librdkafka read_committed consumer reading from offset 0 all along.
      const script = new URL("./clients/confluent_txn_client.py", import.meta.url).pathname;
      reader = new Deno.Command(PYTHON, {
        args: [script, "consume"],
        stdin: "piped",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const readerOut = new Response(reader.stdout).text();
      const readerErr = new Response(reader.stderr).text();
      const w = reader.stdin.getWriter();
      await w.write(new TextEncoder().encode(JSON.stringify({
        bootstrap: b.bootstrap,
        topic,
        isolation: "read_committed",
        count: expected.length,
        idle_ms: 2000,
        deadline_s: 90,
      })));
      await w.close();

      await withTimeout(producer.connect(), CALL_MS, "producer.connect");
      const txn = async (name: string, commit: boolean | "open") => {
        const t = await withTimeout(producer.transaction(), CALL_MS, `begin ${name}`);
        for (const v of values(name)) {
          await withTimeout(t.send({ topic, messages: [{ value: v }] }), CALL_MS, `send ${v}`);
        }
        if (commit === "open") return t;
        await withTimeout(commit ? t.commit() : t.abort(), CALL_MS, `end ${name}`);
        return t;
      };
      await txn("t1", true);
      await txn("t2", false);
      await txn("t3", true);
      const t4 = await txn("t4", "open");
      // t4's first record is the last stable offset: 15 + 1 + 15 + 1 + 15 + 1 records/markers
      const t4First = 48;
      assertEquals(await latestOffsets(port, topic), [t4First + 15, t4First]);

      await b.restart();
      assertEquals(b.port, port);
      // the open transaction still holds the LSO back: it comes from the log, not a rescan
      assertEquals(await latestOffsets(port, topic), [t4First + 15, t4First]);
      await withTimeout(t4.commit(), CALL_MS, "commit t4 after the restart");
      await txn("t5", false);
      await txn("t6", true);
      const end = 6 * 16; // six transactions of 15 records and a marker each
      assertEquals(await latestOffsets(port, topic), [end, end]);

      const across = JSON.parse(await withTimeout(readerOut, 120_000, "read_committed reader"));
      const status = await reader.status;
      reader = undefined;
      assert(status.success, `reader failed: ${await readerErr}`);
      assertEquals(across.records.map((r: Rec) => r.value), expected);

      // Fresh readers after the restart: librdkafka and kafkajs (read_committed by default).
      const fresh = await pyRead(b.bootstrap, topic, "read_committed", expected.length);
      assertEquals(fresh.map((r) => r.value), expected);
      const got = await consumeAll(kafka, topic, expected.length, { timeoutMs: 60_000 });
      assertEquals(got.map((g) => g.value), expected);
      // the aborted records are in the log: read_uncommitted sees all 90
      const all = await pyRead(b.bootstrap, topic, "read_uncommitted", 90);
      assertEquals(all.length, 90);
    } finally {
      if (reader !== undefined) {
        reader.kill("SIGKILL");
        await reader.status;
      }
      await producer.disconnect().catch(() => {});
      await admin.disconnect().catch(() => {});
      await b.close();
    }
  },
);

interopTest(
  requireClients(["confluent-kafka", "kafkajs"]),
  "compaction removes aborted records and keeps a producer's last batch; consumers read past it",
  async () => {
    // Its own broker: the log cleaner runs every 200 ms.
    const b = await startBroker({ numPartitions: 1, logCleanerBackoffMs: 200 });
    const kafka = kafkaFor(kafkajs!, b);
    const topic = uniqueTopic("txn-compact");
    const admin = kafka.admin();
    const txnProducer = kafka.producer({
      transactionalId: `tid-${topic}`,
      idempotent: true,
      maxInFlightRequests: 1,
    });
    const idempotent = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    const plain = kafka.producer();
    try {
      await withTimeout(admin.connect(), CALL_MS, "admin.connect");
      await withTimeout(
        admin.createTopics({
          topics: [{
            topic,
            numPartitions: 1,
            configEntries: [
              { name: "cleanup.policy", value: "compact" },
              { name: "segment.bytes", value: "1024" },
              { name: "min.cleanable.dirty.ratio", value: "0.01" },
            ],
          }],
        }),
        CALL_MS,
        "createTopics",
      );
      for (const p of [txnProducer, idempotent, plain]) {
        await withTimeout(p.connect(), CALL_MS, "producer.connect");
      }
      const txn = async (records: [string, string][], commit: boolean) => {
        const t = await withTimeout(txnProducer.transaction(), CALL_MS, "begin");
        for (const [key, value] of records) {
          await withTimeout(
            t.send({ topic, messages: [{ key, value }] }),
            CALL_MS,
            `send ${value}`,
          );
        }
        await withTimeout(commit ? t.commit() : t.abort(), CALL_MS, "end");
      };
      await txn([["a", "a1"], ["b", "b1"]], true);
      await txn([["a", "a2-aborted"], ["c", "c2-aborted"]], false);
      await txn([["b", "b3"]], true);
      // the idempotent producer's last batch, superseded: kept by the cleaner as an empty batch
      await idempotent.send({ topic, messages: [{ key: "d", value: "d-last" }] });
      await plain.send({ topic, messages: [{ key: "d", value: "d-new" }] });
      const fillers = Array.from({ length: 40 }, (_, i) => `f${i}`);
      for (const f of fillers) await plain.send({ topic, messages: [{ key: f, value: f }] });

      const read = async (isolation: string) =>
        (await runClientScript<{ records: Rec[] }>("confluent_txn_client.py", "consume", {
          bootstrap: b.bootstrap,
          topic,
          isolation,
          count: 1,
          idle_ms: 1500,
        }, 60_000)).records.map((r) => r.value);
      // wait (bounded) until the cleaner removed the aborted and superseded records
      let all: string[] = [];
      for (let i = 0; i < 20; i++) {
        all = await read("read_uncommitted");
        if (!all.some((v) => v.endsWith("-aborted") || v === "d-last" || v === "b1")) break;
      }
      assert(!all.some((v) => v.endsWith("-aborted")), `aborted records left: ${all}`);
      assert(!all.includes("d-last") && !all.includes("b1"), `not compacted: ${all}`);
      // read_committed readers read past the empty batch, the markers and the gaps to the end
      const committed = await read("read_committed");
      assertEquals(committed.slice(0, 3), ["a1", "b3", "d-new"]);
      assertEquals(committed.slice(-1), [fillers.at(-1)]);
      assert(fillers.every((f) => committed.includes(f)), `fillers missing: ${committed}`);
      const got = await consumeAll(kafka, topic, committed.length, { timeoutMs: 60_000 });
      assertEquals(got.map((g) => g.value), committed);
    } finally {
      for (const p of [txnProducer, idempotent, plain]) await p.disconnect().catch(() => {});
      await admin.disconnect().catch(() => {});
      await b.close();
    }
  },
);
