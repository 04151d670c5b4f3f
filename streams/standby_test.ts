// Copyright 2026 the Sluice authors. Apache-2.0 license.
import assert, { deepStrictEqual as assertEquals } from "node:assert/strict";
import { Admin, Client, Consumer, partitionForKey, Producer } from "../client/mod.ts";
import { startBroker } from "../tests/harness.ts";
import { followEvents } from "../tests/streams/app_events.ts";
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
  const reading = followEvents(child.stdout, (ev) => {
    if (ev.kind === "ready") state.ready = true;
    if (ev.kind === "metrics") state.metrics = ev;
    if (ev.kind === "fatal") state.fatal = ev.detail;
  }).done;
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

async function failover(guarantee: ProcessingGuarantee, persistent: boolean, instances: number) {
  const broker = await startBroker();
  const client = new Client({ bootstrapServers: broker.bootstrap });
  const admin = new Admin(client);
  const id = `${Deno.pid}-${Date.now()}`;
  const input = `sb-in-${id}`;
  const output = `sb-out-${id}`;
  const applicationId = `sb-app-${id}`;
  const changelog = `${applicationId}-counts-changelog`;
  const n = instances;
  const all = Array.from({ length: n }, (_, i) => i);
  const dirs = await Promise.all(
    all.map((i) => Deno.makeTempDir({ prefix: `sluice_standby_${i}_` })),
  );
  // One partition per instance: one active and one standby task each.
  await createTopics(client, n, input, output);
  const keys = Array.from({ length: 40 }, (_, i) => `k${String(i).padStart(2, "0")}`);
  const rnd = prng(7);
  const batch = (count: number) =>
    Array.from({ length: count }, () => keys[Math.floor(rnd() * keys.length)]);
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
  const hostOf = (i: number) => ({ host: `host-${i}`, port: 7000 + i });
  // Instance 0 is the subprocess that is killed; the others run here.
  const victim = spawnVictim({
    bootstrap: broker.bootstrap,
    input,
    output,
    applicationId,
    stateDir: dirs[0],
    applicationServer: "host-0:7000",
    persistent,
    guarantee,
  });
  const survivors: KafkaStreams[] = [];
  const restores: Array<Restore & { instance: number }> = [];
  try {
    await eventually("the first instance running", () => {
      if (victim.state.fatal) throw new Error(victim.state.fatal);
      return victim.state.ready;
    });
    for (let i = 1; i < n; i++) {
      const streams = new KafkaStreams(countByKey(input, output, persistent), {
        applicationId,
        client,
        processingGuarantee: guarantee,
        stateDir: dirs[i],
        applicationServer: `host-${i}:${7000 + i}`,
        numStandbyReplicas: 1,
        ...STANDBY_TEST_TIMEOUTS,
        defaultKeySerde: S,
        defaultValueSerde: S,
      });
      const open = (tp: { topic: string; partition: number }) =>
        restores.find((r) =>
          r.instance === i && r.topic === tp.topic && r.partition === tp.partition && r.total < 0
        )!;
      streams.setGlobalStateRestoreListener({
        onRestoreStart: (tp, _store, start, end) =>
          restores.push({ ...tp, instance: i, start, end, batches: 0, total: -1 }),
        onBatchRestored: (tp, _store, _end, count) => {
          open(tp).batches += count;
        },
        onRestoreEnd: (tp, _store, total) => {
          open(tp).total = total;
        },
      });
      survivors.push(streams);
    }
    await Promise.all(survivors.map((s) => s.start()));
    const tasksOf = (i: number) => i === 0 ? victim.state.metrics! : survivors[i - 1].metrics();
    // One active and one standby each, every task active once and standby once, never both
    // copies of a task on one instance.
    await eventually("one active and one standby task each", () => {
      if (victim.state.metrics === undefined) return false;
      const actives = all.flatMap((i) => tasksOf(i).tasks).sort();
      const standbys = all.flatMap((i) => tasksOf(i).standbyTasks).sort();
      const every = all.map((p) => `0_${p}`);
      return all.every((i) =>
        tasksOf(i).tasks.length === 1 && tasksOf(i).standbyTasks.length === 1
      ) &&
        JSON.stringify(actives) === JSON.stringify(every) &&
        JSON.stringify(standbys) === JSON.stringify(every);
    });
    const owners = all.map((i) => ({ ...tasksOf(i) }));
    for (const o of owners) assert(!o.standbyTasks.includes(o.tasks[0]), JSON.stringify(owners));
    const activeOf = (p: number) => owners.findIndex((o) => o.tasks.includes(`0_${p}`));
    const standbyOf = (p: number) => owners.findIndex((o) => o.standbyTasks.includes(`0_${p}`));
    const victimTask = owners[0].tasks[0];
    const q = Number(victimTask.split("_")[1]);
    const holder = standbyOf(q);
    const streamsX = survivors[holder - 1];
    for (const s of survivors) {
      const metadata = s.allMetadataForStore("counts").sort((x, y) =>
        x.hostInfo.port - y.hostInfo.port
      );
      assertEquals(
        metadata.map((m) => [m.hostInfo, m.topicPartitions, m.standbyTopicPartitions]),
        all.map((i) => [
          hostOf(i),
          [{ topic: input, partition: Number(owners[i].tasks[0].split("_")[1]) }],
          [{ topic: input, partition: Number(owners[i].standbyTasks[0].split("_")[1]) }],
        ]),
      );
      // queryMetadataForKey: the key's partition by murmur2, the instance that runs its task.
      for (const k of keys) {
        const p = partitionForKey(utf8.encode(k), n);
        assertEquals(s.queryMetadataForKey("counts", k, S), {
          activeHost: hostOf(activeOf(p)),
          standbyHosts: [hostOf(standbyOf(p))],
          partition: p,
        });
      }
    }

    // Batch 1, processed and committed; the standbys catch up with the changelogs.
    await produce(batch(3000));
    const ends = async (topic: string) =>
      (await admin.listOffsets(all.map((partition) => ({
        topic,
        partition,
        spec: "latest" as const,
      })))).map((o) => o.offset);
    const committedAll = async (want: number[]) => {
      const c = await admin.listConsumerGroupOffsets(
        applicationId,
        all.map((partition) => ({ topic: input, partition })),
      );
      return c.every((o) => o.offset === want[o.partition]);
    };
    const inputEnds = await ends(input);
    await eventually("batch 1 committed", () => committedAll(inputEnds));
    // A transaction on the victim's task's changelog partition, left open: a read-committed
    // standby stops at it (the last stable offset) while the active goes on writing past it,
    // so when the active is killed the standby is exactly there. Aborted once the survivor's
    // restore started; its record (a key in no input) must never reach a store.
    const poison = keys.map((k) => `poison-${k}`).find((k) =>
      partitionForKey(utf8.encode(k), n) === q
    )!;
    const txn = new Producer(client, { transactionalId: `${applicationId}-poison` });
    await txn.initTransactions();
    txn.beginTransaction();
    const [sent] = await txn.send({
      topic: changelog,
      messages: [{ key: utf8.encode(poison), value: L.serialize(1000), partition: q }],
    });
    const stuckAt = sent.offset;
    assert(stuckAt > 15, `changelog end ${stuckAt}`);
    await eventually(
      "the standby at the open transaction",
      () => streamsX.metrics().standbyPositions[victimTask]?.counts === stuckAt,
    );
    const standbyBefore = streamsX.metrics().standbyUpdated;
    if (persistent) {
      // A persistent standby keeps its position in the store's checkpoint file.
      const file = `${dirs[holder]}/${applicationId}/${victimTask}/counts/checkpoint`;
      await eventually("the standby's checkpoint", async () => {
        const text = await Deno.readTextFile(file).catch(() => "{}");
        return JSON.parse(text).offset === stuckAt;
      });
    }

    // Batch 2; the victim is SIGKILLed while processing it.
    const processedBefore = victim.state.metrics!.processed;
    await produce(batch(6000));
    await eventually(
      "the first instance processing batch 2",
      async () =>
        victim.state.metrics!.processed >= processedBefore + 400 &&
        (await ends(changelog))[q] > stuckAt + 15,
    );
    // The active wrote past the open transaction; the standby is still held there.
    await new Promise((r) => setTimeout(r, 300));
    assertEquals(streamsX.metrics().standbyPositions[victimTask]?.counts, stuckAt);
    restores.length = 0;
    await victim.kill();
    const moving = () => restores.filter((r) => r.topic === changelog && r.partition === q);
    await eventually("a survivor restoring the task", () => moving().length > 0, 60_000);
    await txn.abortTransaction();
    await txn.close();
    await eventually(
      "the survivors running every task",
      () =>
        survivors.flatMap((s) => s.metrics().tasks).length === n &&
        survivors.every((s) => s.state === "RUNNING"),
    );
    const allEnds = await ends(input);
    await eventually("batch 2 committed", () => committedAll(allEnds), 90_000);

    // The task went to the instance with its standby (the furthest copy) and was restored from
    // the standby's position, not from the start: exactly the committed records past it.
    assert(streamsX.metrics().tasks.includes(victimTask), JSON.stringify(owners));
    const moved = moving();
    assertEquals(moved.map((r) => r.instance), [holder], JSON.stringify(restores));
    const [r] = moved;
    assertEquals(r.start, stuckAt);
    const expected = await committedRecords(client, changelog, q, r.start, r.end);
    assert(expected > 0);
    assertEquals([r.total, r.batches], [expected, expected]);
    for (const s of survivors) {
      const m = s.metrics();
      for (const t of m.standbyTasks) assert(!m.tasks.includes(t), JSON.stringify(m));
      assertEquals(m.standbyTasks.length, n === 2 ? 0 : m.standbyTasks.length);
    }

    // Every count equals the model, in the stores and in the output (each count once).
    const counts = new Map<string, number>();
    for (const s of survivors) {
      for (const [k, v] of s.store<string, number>("counts").all()) counts.set(k, v);
    }
    assertEquals(counts, new Map([...model].sort()));
    const out = await readCounts(client, output);
    const wrong = [...model].filter(([k, c]) => !isSequence(out.counts.get(k), c));
    assertEquals(wrong, []);
    for (const k of keys) {
      const p = partitionForKey(utf8.encode(k), n);
      const owner = survivors.findIndex((s) => s.metrics().tasks.includes(`0_${p}`)) + 1;
      assertEquals(streamsX.queryMetadataForKey("counts", k, S)?.activeHost, hostOf(owner));
    }
    console.log(
      `${n} instances: changelog ${changelog}-${q} restored on instance ${holder} from ${r.start} ` +
        `to ${r.end}: ${r.total} records (its standby had applied ${standbyBefore})`,
    );
  } finally {
    await victim.kill().catch(() => {});
    for (const s of survivors) await s.close().catch(() => {});
    await producer.close();
    await client.close();
    await broker.close();
    for (const d of dirs) await Deno.remove(d, { recursive: true }).catch(() => {});
  }
}

Deno.test({
  name:
    "standby: exactly_once_v2, in-memory store, active SIGKILLed: the standby's instance restores only past its position, counts equal the model",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () => failover("exactly_once_v2", false, 2),
});

Deno.test({
  name:
    "standby: exactly_once_v2, persistent store (checkpointed standby), active SIGKILLed: restore from the standby's position, counts equal the model",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () => failover("exactly_once_v2", true, 2),
});

Deno.test({
  name:
    "standby: three instances, exactly_once_v2, the killed active's task goes to the instance with its standby and restores past its position",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () => failover("exactly_once_v2", false, 3),
});

/**
 * An active task that moves away while its old instance keeps the standby: the active's committed
 * store becomes the copy at its position (no re-read from offset 0), and a failover back restores
 * only past that copy's position, with counts equal to the model.
 */
async function handover(guarantee: ProcessingGuarantee) {
  const broker = await startBroker();
  const client = new Client({ bootstrapServers: broker.bootstrap });
  const admin = new Admin(client);
  const id = `${Deno.pid}-${Date.now()}`;
  const input = `sbh-in-${id}`;
  const output = `sbh-out-${id}`;
  const applicationId = `sbh-app-${id}`;
  const changelog = `${applicationId}-counts-changelog`;
  await createTopics(client, 2, input, output);
  const keys = Array.from({ length: 40 }, (_, i) => `k${String(i).padStart(2, "0")}`);
  const rnd = prng(11);
  const model = new Map<string, number>();
  const producer = new Producer(client);
  const produce = async (count: number) => {
    const ks = Array.from({ length: count }, () => keys[Math.floor(rnd() * keys.length)]);
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
  const committedAll = async () => {
    const ends = await admin.listOffsets(
      [0, 1].map((partition) => ({ topic: input, partition, spec: "latest" as const })),
    );
    const c = await admin.listConsumerGroupOffsets(
      applicationId,
      [0, 1].map((partition) => ({ topic: input, partition })),
    );
    // Nothing committed yet is an empty list, not a match.
    return c.length === 2 && c.every((o) => o.offset === ends[o.partition].offset);
  };
  const changelogEnd = async (partition: number) =>
    (await admin.listOffsets([{ topic: changelog, partition, spec: "latest" }]))[0].offset;
  const restores: Restore[] = [];
  const make = (i: number) => {
    const streams = new KafkaStreams(countByKey(input, output, false), {
      applicationId,
      client,
      processingGuarantee: guarantee,
      applicationServer: `host-${i}:${7000 + i}`,
      numStandbyReplicas: 1,
      ...STANDBY_TEST_TIMEOUTS,
      defaultKeySerde: S,
      defaultValueSerde: S,
    });
    if (i === 0) {
      const open = (tp: { topic: string; partition: number }) =>
        restores.find((r) => r.topic === tp.topic && r.partition === tp.partition && r.total < 0)!;
      streams.setGlobalStateRestoreListener({
        onRestoreStart: (tp, _store, start, end) =>
          restores.push({ ...tp, start, end, batches: 0, total: -1 }),
        onBatchRestored: (tp, _store, _end, count) => {
          open(tp).batches += count;
        },
        onRestoreEnd: (tp, _store, total) => {
          open(tp).total = total;
        },
      });
    }
    return streams;
  };
  const a = make(0);
  const b = make(1);
  try {
    // Instance A alone: both tasks active, no standby (no other instance).
    await a.start();
    assertEquals([a.metrics().tasks, a.metrics().standbyTasks], [["0_0", "0_1"], []]);
    await produce(3000);
    await eventually("batch 1 committed", committedAll);
    const before = [await changelogEnd(0), await changelogEnd(1)];
    assert(before[0] > 15 && before[1] > 15, JSON.stringify(before));

    // B joins: one task moves to B (each member at most ceil(2 / 2) = 1), and A, the only other
    // member, gets its standby: the moved active's store is handed over, not dropped.
    await b.start();
    await eventually("one active each, A keeps the moved task's standby", () => {
      const ma = a.metrics();
      const mb = b.metrics();
      return a.state === "RUNNING" && ma.tasks.length === 1 && mb.tasks.length === 1 &&
        ma.standbyTasks.length === 1 && ma.standbyTasks[0] === mb.tasks[0];
    });
    const moved = b.metrics().tasks[0];
    const q = Number(moved.split("_")[1]);
    // The copy is at the changelog end the active committed: it applied nothing, it did not
    // re-read the changelog from offset 0 (dropping it would apply every record again).
    await eventually(
      "the handed-over copy at the committed changelog end",
      () => a.metrics().standbyPositions[moved]?.counts === before[q],
    );
    await new Promise((r) => setTimeout(r, 300));
    const m1 = a.metrics();
    assertEquals(
      [m1.standbyHandedOver, m1.standbyUpdated, m1.standbyPositions],
      [1, 0, { [moved]: { counts: before[q] } }],
    );
    assertEquals(await changelogEnd(q), before[q]);

    // Batch 2, processed by B for the moved task; A's copy applies exactly B's committed writes.
    restores.length = 0;
    await produce(3000);
    await eventually("batch 2 committed", committedAll);
    const mid = await changelogEnd(q);
    await eventually(
      "A's copy caught up with B",
      () => a.metrics().standbyPositions[moved]?.counts === mid,
    );
    const applied = await committedRecords(client, changelog, q, before[q], mid);
    assert(applied > 0);
    assertEquals(a.metrics().standbyUpdated, applied);

    // Failover back: B leaves, A takes the task from its copy, restoring only past its position.
    const copyAt = a.metrics().standbyPositions[moved].counts;
    await b.close();
    await eventually(
      "A runs both tasks",
      () => a.state === "RUNNING" && a.metrics().tasks.length === 2,
    );
    await produce(1000);
    await eventually("batch 3 committed", committedAll);
    for (const r of restores.filter((r) => r.topic === changelog && r.partition === q)) {
      assertEquals(r.start, copyAt, JSON.stringify(restores));
      const expected = await committedRecords(client, changelog, q, r.start, r.end);
      assertEquals([r.total, r.batches], [expected, expected]);
    }
    const counts = new Map([...a.store<string, number>("counts").all()].sort());
    assertEquals(counts, new Map([...model].sort()));
    const out = await readCounts(client, output);
    const wrong = [...model].filter(([k, c]) => !isSequence(out.counts.get(k), c));
    assertEquals(wrong, []);
    console.log(
      `${guarantee}: task ${moved} handed over at changelog offset ${
        before[q]
      }; the copy applied ` +
        `${applied} records of B's up to ${mid}; failover back from ${copyAt}`,
    );
  } finally {
    await b.close().catch(() => {});
    await a.close().catch(() => {});
    await producer.close();
    await client.close();
    await broker.close();
  }
}

Deno.test({
  name:
    "standby: exactly_once_v2, an active moved to a joining instance becomes the old owner's standby at its committed position, not re-read from 0",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () => handover("exactly_once_v2"),
});

Deno.test({
  name:
    "standby: at_least_once, an active moved to a joining instance becomes the old owner's standby at its flushed position",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () => handover("at_least_once"),
});

Deno.test("standby: invalid numStandbyReplicas and applicationServer are RangeErrors; an unknown store an Error", () => {
  const topology = countByKey("in", "out", false);
  const base = { applicationId: "app", bootstrapServers: "localhost:1" };
  for (const numStandbyReplicas of [-1, 1.5, NaN]) {
    assert.throws(
      () => new KafkaStreams(topology, { ...base, numStandbyReplicas }),
      { name: "RangeError", message: `streams: invalid numStandbyReplicas ${numStandbyReplicas}` },
    );
  }
  for (const applicationServer of ["nohost", "host:", ":80", "host:99999", "host:x"]) {
    assert.throws(
      () => new KafkaStreams(topology, { ...base, applicationServer }),
      {
        name: "RangeError",
        message: `streams: invalid applicationServer ${
          JSON.stringify(applicationServer)
        } (host:port)`,
      },
    );
  }
  const streams = new KafkaStreams(topology, { ...base, applicationServer: "[::1]:8080" });
  assert.throws(() => streams.queryMetadataForKey("nope", "k", S), {
    message: "streams: no store named nope",
  });
  assert.throws(() => streams.allMetadataForStore("nope"), {
    message: "streams: no store named nope",
  });
  // Before the first assignment nothing is known.
  assertEquals(streams.queryMetadataForKey("counts", "k", S), undefined);
  assertEquals(streams.allMetadataForStore("counts"), []);
});
