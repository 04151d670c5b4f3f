// Copyright 2026 the Sluice authors. Apache-2.0 license.
// Disk full, end to end: a real broker process whose data directory is a 64 MiB tmpfs. Our client
// and confluent-kafka (librdkafka, idempotent) produce until KAFKA_STORAGE_ERROR; everything
// acknowledged must stay readable while the disk is full, across a SIGKILL while full, after a
// topic deletion frees space (appends resume without a restart), and across a clean and a killed
// restart after that: every acknowledged record exactly once, at its acknowledged offset.
// Needs root (mount); outside CI a machine without it ignores the test with a printed reason.
import assert from "node:assert/strict";
import { Admin, Client, Consumer, Producer } from "../client/mod.ts";
import { ErrorCode, KafkaError } from "../protocol/errors.ts";
import { mountTmpfs, tmpfsTest } from "../engine/testdata/tmpfs.ts";
import { requireClient, runClientScript, withTimeout } from "./harness.ts";

const CLI = new URL("../cli/main.ts", import.meta.url).pathname;
const VALUE_PAD = "x".repeat(1000);
/** The whole test must finish within this (a safety net; it takes about a minute). */
const DEADLINE_MS = 8 * 60_000;

/** A broker in its own process, so that it can be SIGKILLed. */
class BrokerProcess {
  readonly lines: string[] = [];
  port = 0;
  #child: Deno.ChildProcess;
  #status: Promise<Deno.CommandStatus>;

  private constructor(child: Deno.ChildProcess) {
    this.#child = child;
    this.#status = child.status;
  }

  static async start(dataDir: string): Promise<BrokerProcess> {
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        CLI,
        "broker",
        "--listeners",
        "PLAINTEXT://127.0.0.1:0",
        "--log-dirs",
        dataDir,
        "--override",
        "offsets.topic.num.partitions=1",
      ],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const b = new BrokerProcess(child);
    const listening = Promise.withResolvers<number>();
    const pump = async (stream: ReadableStream<Uint8Array>) => {
      let rest = "";
      for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
        const parts = (rest + chunk).split("\n");
        rest = parts.pop()!;
        for (const line of parts) {
          b.lines.push(line);
          const m = /listening on [^ ]*:(\d+) /.exec(line);
          if (m) listening.resolve(Number(m[1]));
        }
      }
    };
    pump(child.stdout);
    pump(child.stderr);
    b.#status.then((s) => listening.reject(new Error(`broker exited with ${s.code}`)));
    try {
      b.port = await withTimeout(listening.promise, 120_000, "broker start");
    } catch (e) {
      await b.stop("SIGKILL");
      throw new Error(`${(e as Error).message}\n${b.lines.slice(-20).join("\n")}`);
    }
    return b;
  }

  get bootstrap(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Sends `signal` and waits for the exit; returns the exit code. */
  async stop(signal: Deno.Signal): Promise<number> {
    try {
      this.#child.kill(signal);
    } catch {
      // already gone
    }
    const s = await withTimeout(this.#status, 120_000, `broker exit after ${signal}`);
    return s.code;
  }
}

interface Ack {
  topic: string;
  partition: number;
  offset: number;
  id: string;
}

const TOPICS: { name: string; partitions: number; configs: Record<string, string> }[] = [
  { name: "victim", partitions: 2, configs: {} },
  { name: "main", partitions: 3, configs: {} },
  { name: "rolling", partitions: 1, configs: { "segment.bytes": String(1 << 20) } },
];

/** Produces with our client; returns "full" for a KAFKA_STORAGE_ERROR. */
async function sendChunk(
  producer: Producer,
  acks: Ack[],
  topic: string,
  partition: number,
  ids: string[],
): Promise<"ok" | "full"> {
  try {
    const md = await producer.send({
      topic,
      messages: ids.map((id) => ({ partition, value: `${id}|${VALUE_PAD}` })),
    });
    md.forEach((m, i) =>
      acks.push({ topic, partition: m.partition, offset: m.offset, id: ids[i] })
    );
    return "ok";
  } catch (e) {
    if (e instanceof KafkaError && e.code === ErrorCode.KAFKA_STORAGE_ERROR) return "full";
    throw e;
  }
}

/**
 * Reads every partition from its start and checks that every acknowledged record is there once,
 * at its acknowledged offset, and that no record appears twice.
 *
 * @returns Records read and how many of them were never acknowledged.
 */
async function verify(bootstrap: string, acks: Ack[], topics: typeof TOPICS, label: string) {
  const client = new Client({ bootstrapServers: bootstrap, retries: 10 });
  try {
    const admin = new Admin(client);
    let records = 0;
    let unacked = 0;
    for (const t of topics) {
      for (let p = 0; p < t.partitions; p++) {
        const [{ offset: hw }] = await admin.listOffsets([{
          topic: t.name,
          partition: p,
          spec: "latest",
        }]);
        const consumer = new Consumer(client, { maxWaitMs: 100 });
        const byOffset = new Map<number, string>();
        await consumer.assign([{ topic: t.name, partition: p, offset: 0 }]);
        let next = 0;
        const until = Date.now() + 120_000;
        while (next < hw) {
          if (Date.now() > until) {
            throw new Error(`${label}: ${t.name}-${p} read stopped at ${next} of ${hw}`);
          }
          const got = await withTimeout(consumer.poll(), 30_000, `${label}: fetch`);
          for (const r of got) {
            const v = new TextDecoder().decode(r.value!.subarray(0, 24));
            byOffset.set(r.offset, v.slice(0, v.indexOf("|")));
            next = r.offset + 1;
          }
        }
        await consumer.close();
        const want = acks.filter((a) => a.topic === t.name && a.partition === p);
        for (const a of want) {
          assert.equal(byOffset.get(a.offset), a.id, `${label}: ${t.name}-${p} offset ${a.offset}`);
        }
        const ids = [...byOffset.values()];
        assert.equal(new Set(ids).size, ids.length, `${label}: ${t.name}-${p} has a record twice`);
        assert.equal(byOffset.size, hw, `${label}: ${t.name}-${p} offsets 0..${hw - 1}`);
        records += ids.length;
        const ackedIds = new Set(want.map((a) => a.id));
        unacked += ids.filter((id) => !ackedIds.has(id)).length;
      }
    }
    return { records, unacked };
  } finally {
    await client.close();
  }
}

/** confluent-kafka, idempotent, acks=all: produces `n` records to `main`, reports each. */
async function confluentProduce(
  bootstrap: string,
  acks: Ack[],
  prefix: string,
  n: number,
  messageTimeoutMs = 4000,
) {
  const records = Array.from({ length: n }, (_, i) => ({
    topic: "main",
    partition: i % 3,
    value: `${prefix}${i}|${VALUE_PAD}`,
  }));
  const r = await runClientScript<{ results: Array<Record<string, string | number>> }>(
    "confluent_client.py",
    "produce_report",
    {
      bootstrap,
      config: {
        "enable.idempotence": true,
        "acks": "all",
        "message.timeout.ms": messageTimeoutMs,
        "linger.ms": 5,
      },
      records,
      timeout_s: messageTimeoutMs / 1000 + 30,
    },
    messageTimeoutMs + 60_000,
  );
  const errors: string[] = [];
  r.results.forEach((x, i) => {
    if ("error" in x) errors.push(String(x.code));
    else {
      acks.push({
        topic: "main",
        partition: Number(x.partition),
        offset: Number(x.offset),
        id: `${prefix}${i}`,
      });
    }
  });
  return { acked: n - errors.length, errors };
}

const confluent = requireClient("confluent-kafka");

tmpfsTest(
  "disk full on a 64 MiB tmpfs: reads go on, delete frees space, no ack is lost",
  async () => {
    confluent.assertAvailable();
    const started = Date.now();
    const late = () => Date.now() - started > DEADLINE_MS;
    await using fs = await mountTmpfs(64 << 20);
    const dataDir = `${fs.root}/data`;
    let broker = await BrokerProcess.start(dataDir);
    const acks: Ack[] = [];
    const report: string[] = [];
    try {
      let client = new Client({ bootstrapServers: broker.bootstrap });
      await new Admin(client).createTopics(
        TOPICS.map((t) => ({ name: t.name, numPartitions: t.partitions, configs: t.configs })),
      );
      let producer = new Producer(client, { acks: -1, retries: 0, lingerMs: 0 });
      let seq = 0;
      const ids = (n: number) => Array.from({ length: n }, () => `c${seq++}`);
      // 24 MiB into the topic that is deleted later
      for (let i = 0; i < 480; i++) {
        assert.equal(await sendChunk(producer, acks, "victim", i % 2, ids(50)), "ok");
      }
      const before = await confluentProduce(broker.bootstrap, acks, "k", 1000);
      assert.deepEqual(before.errors, [], "confluent-kafka before the disk is full");
      // fill the rest: every partition of main and rolling until it fails 5 times in a row, with
      // 50 records a request, then with one (what is left is then less than a record)
      const targets = [
        { topic: "main", p: 0 },
        { topic: "main", p: 1 },
        { topic: "main", p: 2 },
        { topic: "rolling", p: 0 },
      ];
      let storageErrors = 0;
      for (const chunk of [50, 1]) {
        await Promise.all(targets.map(async ({ topic, p }) => {
          let failedInARow = 0;
          while (failedInARow < 5 && !late()) {
            const r = await sendChunk(producer, acks, topic, p, ids(chunk));
            failedInARow = r === "full" ? failedInARow + 1 : 0;
            if (r === "full") storageErrors++;
          }
        }));
      }
      assert.ok(storageErrors >= 20, `only ${storageErrors} KAFKA_STORAGE_ERRORs`);
      report.push(
        `full after ${acks.length} acknowledged records, ${storageErrors} storage errors`,
      );
      // librdkafka retries KAFKA_STORAGE_ERROR until message.timeout.ms
      const during = await confluentProduce(broker.bootstrap, acks, "f", 20);
      report.push(
        `confluent-kafka while full: ${during.acked} acked, errors ${[...new Set(during.errors)]}`,
      );
      assert.equal(during.acked, 0, "confluent-kafka produced to a full disk");
      // reads and ListOffsets work on the full disk
      let v = await verify(broker.bootstrap, acks, TOPICS, "while full");
      report.push(`while full: ${v.records} records read, ${v.unacked} never acknowledged`);
      await producer.close();
      await client.close();
      // one line a minute says the disk is full, not one per refused request
      const failureLines = broker.lines.filter((l) => /No space left/.test(l));
      report.push(
        `log lines about the full disk: ${failureLines.length} of ${broker.lines.length}`,
      );
      assert.ok(failureLines.length <= 5, failureLines.join("\n"));

      // a crash while the disk is full, and a start on the full disk
      assert.equal(await broker.stop("SIGKILL"), 137);
      broker = await BrokerProcess.start(dataDir);
      v = await verify(broker.bootstrap, acks, TOPICS, "after SIGKILL while full");
      report.push(`after SIGKILL while full: ${v.records} records, ${v.unacked} unacknowledged`);
      client = new Client({ bootstrapServers: broker.bootstrap });
      producer = new Producer(client, { acks: -1, retries: 0, lingerMs: 0 });
      assert.equal(await sendChunk(producer, acks, "main", 0, ids(50)), "full");

      // librdkafka retries KAFKA_STORAGE_ERROR: its records wait, then go in once a topic
      // deletion (which works on the full disk) frees space — no restart, no operator action
      const admin = new Admin(client);
      const mainEnds = () =>
        admin.listOffsets([0, 1, 2].map((p) => ({ topic: "main", partition: p, spec: "latest" })))
          .then((r) => r.map((x) => x.offset));
      const endsWhileFull = await mainEnds();
      const waiting = confluentProduce(broker.bootstrap, acks, "w", 30, 60_000);
      await new Promise((r) => setTimeout(r, 3000));
      assert.deepEqual(await mainEnds(), endsWhileFull, "appended to a full disk");
      await admin.deleteTopics(["victim"]);
      const waited = await waiting;
      assert.deepEqual(waited.errors, [], "confluent-kafka's retried records after the deletion");
      const left = [...Deno.readDirSync(dataDir)].map((e) => e.name).filter((n) =>
        n.startsWith("victim") || n.endsWith("-delete")
      );
      assert.deepEqual(left, []);
      for (const { topic, p } of targets) {
        assert.equal(await sendChunk(producer, acks, topic, p, ids(50)), "ok", `${topic}-${p}`);
      }
      const after = await confluentProduce(broker.bootstrap, acks, "a", 500);
      assert.deepEqual(after.errors, [], "confluent-kafka after the deletion");
      const live = TOPICS.filter((t) => t.name !== "victim");
      const liveAcks = () => acks.filter((a) => a.topic !== "victim");
      v = await verify(broker.bootstrap, liveAcks(), live, "after delete");
      await producer.close();
      await client.close();

      // a clean restart, then a crash
      assert.equal(await broker.stop("SIGTERM"), 0, broker.lines.slice(-10).join("\n"));
      broker = await BrokerProcess.start(dataDir);
      v = await verify(broker.bootstrap, liveAcks(), live, "after a clean restart");
      assert.equal(await broker.stop("SIGKILL"), 137);
      broker = await BrokerProcess.start(dataDir);
      v = await verify(broker.bootstrap, liveAcks(), live, "after SIGKILL");
      report.push(`at the end: ${v.records} records, ${v.unacked} unacknowledged`);
      report.push(`${Math.round((Date.now() - started) / 1000)} s`);
      console.log(report.join("\n"));
    } catch (e) {
      console.log(report.join("\n"));
      console.log(broker.lines.slice(-40).join("\n"));
      throw e;
    } finally {
      await broker.stop("SIGTERM").catch(() => broker.stop("SIGKILL"));
    }
  },
);
