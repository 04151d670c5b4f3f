// Copyright 2026 the Sluice authors. Apache-2.0 license.
import assert, { deepStrictEqual as assertEquals } from "node:assert/strict";
import { Admin, Client, Consumer, partitionForKey, Producer } from "../client/mod.ts";
import { startBroker } from "../tests/harness.ts";
import { isSequence, readCounts } from "../tests/streams/kill_run.ts";
import { countByKey, STANDBY_TEST_TIMEOUTS } from "../tests/streams/standby_topology.ts";
import { KafkaStreams, type ProcessingGuarantee, Serdes } from "./mod.ts";
import { createTopics, eventually, prng } from "./testing.ts";

const APP = new URL("../tests/streams/standby_app.ts", import.meta.url).pathname;
const S = Serdes.String();
const L = Serdes.Int64();
const utf8 = new TextEncoder();

interface Restore {
  topic: string;
  partition: number;
  start: number;
  end: number;
  batches: number;
  total: number;
}

/** The killed instance: a subprocess reporting its metrics. */
function spawnVictim(config: Record<string, unknown>) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", APP, JSON.stringify(config)],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const state = {
    ready: false,
    fatal: undefined as string | undefined,
    metrics: undefined as
      | { processed: number; tasks: string[]; standbyTasks: string[] }
      | undefined,
  };
  const reading = (async () => {
    let buf = "";
    for await (const t of child.stdout.pipeThrough(new TextDecoderStream())) {
      buf += t;
      for (let nl = buf.indexOf("\n"); nl >= 0; nl = buf.indexOf("\n")) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        try {
          const ev = JSON.parse(line);
          if (ev.kind === "ready") state.ready = true;
          if (ev.kind === "metrics") state.metrics = ev;
          if (ev.kind === "fatal") state.fatal = ev.detail;
        } catch { /* not ours */ }
      }
    }
  })();
  return {
    state,
    async kill() {
      child.kill("SIGKILL");
      await child.status;
      await reading.catch(() => {});
    },
  };
}

/** Committed records of a partition in `[from, to)`, read committed. */
async function committedRecords(
  client: Client,
  topic: string,
  partition: number,
  from: number,
  to: number,
): Promise<number> {
  const consumer = new Consumer(client, { isolationLevel: 1 });
  let n = 0;
  try {
    await consumer.assign([{ topic, partition, offset: from }]);
    while (consumer.assignment()[0].offset < to) {
      n += (await consumer.poll({ maxWaitMs: 200 })).filter((r) => r.offset < to).length;
    }
  } finally {
    await consumer.close();
  }
  return n;
}

async function failover(guarantee: ProcessingGuarantee, persistent: boolean) {
  const broker = await startBroker();
  const client = new Client({ bootstrapServers: broker.bootstrap });
  const admin = new Admin(client);
  const id = `${Deno.pid}-${Date.now()}`;
  const input = `sb-in-${id}`;
  const output = `sb-out-${id}`;
  const applicationId = `sb-app-${id}`;
  const changelog = `${applicationId}-counts-changelog`;
  const dirA = await Deno.makeTempDir({ prefix: "sluice_standby_a_" });
  const dirB = await Deno.makeTempDir({ prefix: "sluice_standby_b_" });
  await createTopics(client, 2, input, output);
  const keys = Array.from({ length: 40 }, (_, i) => `k${String(i).padStart(2, "0")}`);
  const rnd = prng(7);
  const batch = (n: number) =>
    Array.from({ length: n }, () => keys[Math.floor(rnd() * keys.length)]);
  const model = new Map<string, number>();
  const producer = new Producer(client);
  const produce = async (ks: string[]) => {
    for (const k of ks) model.set(k, (model.get(k) ?? 0) + 1);
    for (let i = 0; i < ks.length; i += 500) {
      await producer.send({
        topic: input,
        messages: ks.slice(i, i + 500).map((k) => ({
          key: utf8.encode(k),
          value: utf8.encode("x"),
        })),
      });
    }
  };
  const victim = spawnVictim({
    bootstrap: broker.bootstrap,
    input,
    output,
    applicationId,
    stateDir: dirA,
    applicationServer: "host-a:7001",
    persistent,
    guarantee,
  });
  let b: KafkaStreams | undefined;
  try {
    await eventually("the first instance running", () => {
      if (victim.state.fatal) throw new Error(victim.state.fatal);
      return victim.state.ready;
    });
    const restores: Restore[] = [];
    b = new KafkaStreams(countByKey(input, output, persistent), {
      applicationId,
      client,
      processingGuarantee: guarantee,
      stateDir: dirB,
      applicationServer: "host-b:7002",
      numStandbyReplicas: 1,
      ...STANDBY_TEST_TIMEOUTS,
      defaultKeySerde: S,
      defaultValueSerde: S,
    });
    b.setGlobalStateRestoreListener({
      onRestoreStart: (tp, _store, start, end) =>
        restores.push({ ...tp, start, end, batches: 0, total: -1 }),
      onBatchRestored: (tp, _store, _end, n) => {
        restores.find((r) => r.partition === tp.partition && r.total < 0)!.batches += n;
      },
      onRestoreEnd: (tp, _store, total) => {
        restores.find((r) => r.partition === tp.partition && r.total < 0)!.total = total;
      },
    });
    await b.start();
    const streamsB = b;
    // One active and one standby each, never both copies of a task on one instance.
    await eventually(
      "one active and one standby task each",
      () =>
        streamsB.metrics().tasks.length === 1 && streamsB.metrics().standbyTasks.length === 1 &&
        victim.state.metrics?.tasks.length === 1 &&
        victim.state.metrics.standbyTasks.length === 1 &&
        victim.state.metrics.tasks[0] === streamsB.metrics().standbyTasks[0],
    );
    const mine = streamsB.metrics();
    assert.notDeepStrictEqual(mine.tasks, mine.standbyTasks);
    assertEquals(victim.state.metrics!.tasks, mine.standbyTasks);
    assertEquals(victim.state.metrics!.standbyTasks, mine.tasks);
    const standbyTask = mine.standbyTasks[0];
    const q = Number(standbyTask.split("_")[1]);
    const metadata = b.allMetadataForStore("counts").sort((x, y) =>
      x.hostInfo.host < y.hostInfo.host ? -1 : 1
    );
    assertEquals(metadata.map((m) => [m.hostInfo, m.topicPartitions, m.standbyTopicPartitions]), [
      [{ host: "host-a", port: 7001 }, [{ topic: input, partition: q }], [{
        topic: input,
        partition: 1 - q,
      }]],
      [{ host: "host-b", port: 7002 }, [{ topic: input, partition: 1 - q }], [{
        topic: input,
        partition: q,
      }]],
    ]);
    // queryMetadataForKey: the key's partition by murmur2, the instance that runs its task.
    for (const k of keys) {
      const p = partitionForKey(utf8.encode(k), 2);
      const a = { host: "host-a", port: 7001 };
      const me = { host: "host-b", port: 7002 };
      assertEquals(b.queryMetadataForKey("counts", k, S), {
        activeHost: p === q ? a : me,
        standbyHosts: [p === q ? me : a],
        partition: p,
      });
    }

    // Batch 1, processed and committed; the standby catches up with the changelog.
    await produce(batch(3000));
    const ends = async (topic: string) =>
      (await admin.listOffsets([0, 1].map((partition) => ({
        topic,
        partition,
        spec: "latest" as const,
      })))).map((o) => o.offset);
    const inputEnds = await ends(input);
    await eventually("batch 1 committed", async () => {
      const c = await admin.listConsumerGroupOffsets(
        applicationId,
        [0, 1].map((partition) => ({ topic: input, partition })),
      );
      return c.every((o) => o.offset === inputEnds[o.partition]);
    });
    // A transaction on the standby's changelog partition, left open: a read-committed standby
    // stops at it (the last stable offset) while the active goes on writing past it, so when
    // the active is killed the standby is exactly there. Aborted once the survivor's restore
    // started; its record (a key in no input) must never reach a store.
    const poison = keys.map((k) => `poison-${k}`).find((k) =>
      partitionForKey(utf8.encode(k), 2) === q
    )!;
    const txn = new Producer(client, { transactionalId: `${applicationId}-poison` });
    await txn.initTransactions();
    txn.beginTransaction();
    const [sent] = await txn.send({
      topic: changelog,
      messages: [{ key: utf8.encode(poison), value: L.serialize(1000), partition: q }],
    });
    const stuckAt = sent.offset;
    assert(stuckAt > 20, `changelog end ${stuckAt}`);
    await eventually(
      "the standby at the open transaction",
      () => streamsB.metrics().standbyPositions[standbyTask]?.counts === stuckAt,
    );
    const standbyBefore = streamsB.metrics().standbyUpdated;
    if (persistent) {
      // A persistent standby keeps its position in the store's checkpoint file.
      const file = `${dirB}/${applicationId}/${standbyTask}/counts/checkpoint`;
      await eventually("the standby's checkpoint", async () => {
        const text = await Deno.readTextFile(file).catch(() => "{}");
        return JSON.parse(text).offset === stuckAt;
      });
    }

    // Batch 2; the active of the standby's task is SIGKILLed while processing it.
    const processedBefore = victim.state.metrics!.processed;
    await produce(batch(6000));
    await eventually(
      "the first instance processing batch 2",
      async () =>
        victim.state.metrics!.processed >= processedBefore + 600 &&
        (await ends(changelog))[q] > stuckAt + 20,
    );
    restores.length = 0;
    await victim.kill();
    const moving = () => restores.filter((r) => r.topic === changelog && r.partition === q);
    await eventually("the survivor restoring the task", () => moving().length > 0, 60_000);
    await txn.abortTransaction();
    await txn.close();
    await eventually(
      "the survivor running both tasks",
      () => streamsB.metrics().tasks.length === 2 && streamsB.state === "RUNNING",
    );
    const allEnds = await ends(input);
    await eventually("batch 2 committed", async () => {
      const c = await admin.listConsumerGroupOffsets(
        applicationId,
        [0, 1].map((partition) => ({ topic: input, partition })),
      );
      return c.every((o) => o.offset === allEnds[o.partition]);
    }, 90_000);

    // The failed-over task was restored from the standby's position, not from the start:
    // exactly the committed records past it.
    const moved = moving();
    assertEquals(moved.length, 1, JSON.stringify(restores));
    const [r] = moved;
    assertEquals(r.start, stuckAt);
    const expected = await committedRecords(client, changelog, q, r.start, r.end);
    assert(expected > 0);
    assertEquals([r.total, r.batches], [expected, expected]);
    assertEquals(streamsB.metrics().standbyTasks, []);

    // Every count equals the model, in the store and in the output (each count once).
    const store = b.store<string, number>("counts");
    assertEquals(new Map(store.all()), new Map([...model].sort()));
    const out = await readCounts(client, output);
    const wrong = [...model].filter(([k, n]) => !isSequence(out.counts.get(k), n));
    assertEquals(wrong, []);
    for (const k of keys) {
      assertEquals(b.queryMetadataForKey("counts", k, S)?.activeHost, {
        host: "host-b",
        port: 7002,
      });
    }
    console.log(
      `standby restore: changelog ${changelog}-${q} from ${r.start} to ${r.end}, ` +
        `${r.total} records restored (the standby had applied ${standbyBefore})`,
    );
  } finally {
    await victim.kill().catch(() => {});
    await b?.close().catch(() => {});
    await producer.close();
    await client.close();
    await broker.close();
    await Deno.remove(dirA, { recursive: true }).catch(() => {});
    await Deno.remove(dirB, { recursive: true }).catch(() => {});
  }
}

Deno.test({
  name:
    "standby: exactly_once_v2, in-memory store, active SIGKILLed: the standby's instance restores only past its position, counts equal the model",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () => failover("exactly_once_v2", false),
});

Deno.test({
  name:
    "standby: exactly_once_v2, persistent store (checkpointed standby), active SIGKILLed: restore from the standby's position, counts equal the model",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () => failover("exactly_once_v2", true),
});
