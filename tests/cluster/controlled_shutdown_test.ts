// Copyright 2026 the Sluice authors. Apache-2.0 license.
// Controlled shutdown (docs/CLUSTER.md "Controlled shutdown") with real broker processes on a
// real etcd: the leader of an RF=3 acks=all partition is stopped with SIGTERM while our client and
// confluent-kafka produce numbered records to it. etcd's own history (a watch replayed from before
// the signal) shows the partition's new leader, without the stopping broker in its ISR, written
// before the stopping broker's registration went; every acknowledged record is read back once, in
// the order it was sent, from the new leader; no send failed.
import { deepStrictEqual as assertEquals, ok, strictEqual } from "node:assert/strict";
import { Admin, Client, Consumer, Producer } from "../../client/mod.ts";
import { EtcdClient, type WatchEvent } from "../../server/cluster/etcd.ts";
import { MetadataStore, type PartitionState } from "../../server/cluster/metadata_store.ts";
import { sharedEtcd } from "../etcd.ts";
import { requireClient } from "../harness.ts";
import { clusterTest, startCluster, startProcessCluster, until } from "./harness.ts";

const etcd = sharedEtcd();

const test = clusterTest("controlled shutdown");

const confluent = requireClient("confluent-kafka");

/** Records each producer sends (a bounded count). */
const RECORDS = 3000;
/** The stopping broker gets SIGTERM once this many of our client's records are acknowledged. */
const STOP_AFTER = 600;

/** confluent-kafka: RECORDS values `c-<i>` to t-0, acks=all, idempotent; one line per report. */
const CONFLUENT_PRODUCER = `
import sys, time
from confluent_kafka import Producer
p = Producer({"bootstrap.servers": sys.argv[1], "acks": "all", "enable.idempotence": True,
              "linger.ms": 2, "message.timeout.ms": 60000,
              "error_cb": lambda e: print("W", e.code(), e.str().replace(" ", "_"), flush=True)})
def report(err, msg):
    if err is None:
        print("A", msg.offset(), msg.value().decode(), flush=True)
    else:
        print("E", msg.value().decode(), err.name(), err.retriable(), flush=True)
for i in range(int(sys.argv[3])):
    while True:
        try:
            p.produce(sys.argv[2], value=("c-%d" % i).encode(), partition=0, on_delivery=report)
            break
        except BufferError:
            p.poll(0.05)
    p.poll(0)
    time.sleep(0.001)
left = p.flush(90)
print("D", left, flush=True)
`;

function storeOf(endpoints: string[], clusterName: string): MetadataStore {
  return new MetadataStore(
    new EtcdClient({ endpoints, timeoutMs: 2000 }),
    `/sluice/${clusterName}`,
  );
}

test(
  "SIGTERM of an acks=all leader: leadership and ISR move before its lease is revoked; every acknowledged record once, in order",
  async () => {
    const e = await etcd();
    const c = await startProcessCluster(e, 3);
    const store = storeOf(e.endpoints, c.clusterName);
    const client = new Client({ bootstrapServers: c.bootstrap, retries: 50 });
    const events: { revision: number; event: WatchEvent }[] = [];
    let watch: { close(): void } | undefined;
    let python: Deno.ChildProcess | undefined;
    try {
      await until("3 registered and unfenced, a controller", async () => {
        const s = await store.snapshot();
        return s.brokers.size === 3 && [...s.brokers.values()].every((b) => !b.value.fenced) &&
          s.controller !== undefined;
      });
      const admin = new Admin(client);
      await admin.createTopics([{
        name: "t",
        numPartitions: 1,
        replicationFactor: 3,
        configs: { "min.insync.replicas": "2" },
      }]);
      await until("t-0's ISR is all three", async () => {
        return (await store.snapshot()).partitions.get("t")?.get(0)?.value.isr.length === 3;
      });
      const s0 = await store.snapshot();
      const before = s0.partitions.get("t")!.get(0)!.value;
      const victim = before.leader;
      const victimKey = store.brokerKey(victim);
      const partKey = store.partitionKey("t", 0);
      // etcd's history from here on, in revision order
      const w = store.etcd.watch(`${store.root}/`, {
        prefix: true,
        startRevision: s0.revision + 1,
        onEvents: (evs, revision) => {
          for (const event of evs) events.push({ revision, event });
        },
      });
      watch = w;
      await w.ready;

      python = new Deno.Command("/usr/bin/python3", {
        args: ["-c", CONFLUENT_PRODUCER, c.bootstrap, "t", String(RECORDS)],
        stdout: "piped",
        stderr: "piped",
      }).spawn();

      const producer = new Producer(client, { acks: -1, lingerMs: 2, deliveryTimeoutMs: 60_000 });
      const ours: { i: number; offset: number }[] = [];
      const failures: string[] = [];
      let stopping: Promise<number | undefined> | undefined;
      let slowest = 0; // the longest wait for a chunk's acknowledgements once stopping
      for (let i = 0; i < RECORDS; i += 20) {
        const sends = [];
        for (let j = i; j < Math.min(i + 20, RECORDS); j++) {
          sends.push(
            producer.send({ topic: "t", messages: [{ partition: 0, value: `s-${j}` }] }).then(
              (m) => ours.push({ i: j, offset: m[0].offset }),
              (err) => failures.push(`s-${j}: ${err}`),
            ),
          );
        }
        const sentAt = performance.now();
        await Promise.all(sends);
        if (stopping !== undefined) slowest = Math.max(slowest, performance.now() - sentAt);
        if (stopping === undefined && ours.length >= STOP_AFTER) {
          stopping = c.brokers[victim - 1].stop(60_000);
        }
      }
      await producer.flush();
      await producer.close();
      const code = await stopping;
      console.log(
        `our client: the slowest 20 acknowledgements after the SIGTERM took ${
          slowest.toFixed(0)
        } ms`,
      );
      strictEqual(code, 0, "the stopped broker exits cleanly");
      assertEquals(failures, [], "no send of our client failed");
      strictEqual(ours.length, RECORDS);

      // etcd: the move (a new leader, leader epoch + 1, the victim out of the ISR) came first
      const moveAt = events.find((x) => {
        if (x.event.type !== "put" || x.event.kv.key !== partKey) return false;
        const s = JSON.parse(x.event.kv.value) as PartitionState;
        return s.leader !== victim;
      });
      const goneAt = events.find((x) => x.event.type === "delete" && x.event.kv.key === victimKey);
      ok(moveAt !== undefined, "etcd names a new leader of t-0");
      ok(goneAt !== undefined, "the stopped broker's registration went");
      const moved = JSON.parse(moveAt.event.kv.value) as PartitionState;
      ok(
        moveAt.revision < goneAt.revision,
        `the leadership moved (revision ${moveAt.revision}) before broker ${victim}'s ` +
          `registration went (revision ${goneAt.revision})`,
      );
      strictEqual(moved.leaderEpoch, before.leaderEpoch + 1);
      ok(!moved.isr.includes(victim), `the victim left the ISR with the move: [${moved.isr}]`);
      ok(moved.isr.includes(moved.leader));
      const marked = events.find((x) =>
        x.event.type === "put" && x.event.kv.key === victimKey &&
        JSON.parse(x.event.kv.value).controlledShutdown === true
      );
      ok(marked !== undefined && marked.revision < moveAt.revision, "marked first, then moved");
      const log = await Deno.readTextFile(c.logs[victim - 1]);
      const completed = /completed its controlled shutdown in (\d+) ms/.exec(log);
      ok(completed !== null, "the stopped broker says it completed");
      console.log(`broker ${victim}: controlled shutdown completed in ${completed[1]} ms`);

      // confluent-kafka's reports
      const out = await python.output();
      const lines = new TextDecoder().decode(out.stdout).trim().split("\n");
      assertEquals(
        lines.filter((l) => l.startsWith("E ")),
        [],
        "no delivery of confluent-kafka failed",
      );
      ok(lines.includes("D 0"), `confluent-kafka flushed everything: ${lines.slice(-3)}`);
      const theirs = lines.filter((l) => l.startsWith("A ")).map((l) => {
        const [, offset, value] = l.split(" ");
        return { i: Number(value.slice(2)), offset: Number(offset) };
      });
      strictEqual(theirs.length, RECORDS);
      const warnings = lines.filter((l) => l.startsWith("W "));
      console.log(
        `confluent-kafka's error callbacks: ${warnings.length} (${warnings.slice(0, 3)})`,
      );

      // read back from the new leader: each producer's records once, in the order sent, at the
      // offsets acknowledged
      const consumer = new Consumer(client, { fromBeginning: true });
      await consumer.assign([{ topic: "t", partition: 0 }]);
      const read: { offset: number; value: string }[] = [];
      const total = ours.length + theirs.length;
      await until("every acknowledged record read", async () => {
        for (const r of await consumer.poll({ maxWaitMs: 200 })) {
          read.push({ offset: r.offset, value: new TextDecoder().decode(r.value!) });
        }
        return read.length >= total;
      }, 60_000);
      await consumer.close();
      const mine = read.filter((r) => r.value.startsWith("s-"));
      assertEquals(mine.map((r) => r.value), ours.map((_, i) => `s-${i}`));
      const others = read.filter((r) => r.value.startsWith("c-"));
      assertEquals(others.map((r) => r.value), theirs.map((_, i) => `c-${i}`));
      const at = new Map(read.map((r) => [r.value, r.offset]));
      for (const a of ours) if (a.offset >= 0) strictEqual(at.get(`s-${a.i}`), a.offset);
      for (const a of theirs) if (a.offset >= 0) strictEqual(at.get(`c-${a.i}`), a.offset);
      strictEqual(read.length, total, "nothing but the acknowledged records");
      console.log(
        `broker ${victim} stopped with SIGTERM: t-0 moved to ${moved.leader} at etcd revision ` +
          `${moveAt.revision}, its registration went at ${goneAt.revision}; ${ours.length} + ` +
          `${theirs.length} records read back once, in order`,
      );
    } finally {
      try {
        python?.kill();
      } catch {
        // exited
      }
      watch?.close();
      await client.close();
      store.etcd.close();
      await c.close();
    }
  },
  confluent,
);

test("controlled.shutdown.enable=false: the registration goes first, the leadership moves after", async () => {
  const e = await etcd();
  const c = await startCluster(e, 3, { controlledShutdownEnable: false });
  const store = c.brokers[0]!.cluster!.store;
  const events: { revision: number; event: WatchEvent }[] = [];
  let watch: { close(): void } | undefined;
  try {
    await c.brokers[0]!.cluster!.createTopic({
      name: "u",
      numPartitions: -1,
      replicationFactor: -1,
      assignments: [[2, 1, 3]],
      configs: {},
    });
    await until(
      "broker 2 leads u-0",
      () => c.brokers[1]!.cluster!.leaderError("u", 0) === undefined,
    );
    const from = (await store.snapshot()).revision + 1;
    const w = store.etcd.watch(`${store.root}/`, {
      prefix: true,
      startRevision: from,
      onEvents: (evs, revision) => {
        for (const event of evs) events.push({ revision, event });
      },
    });
    watch = w;
    await w.ready;
    await c.stop(1);
    await until("u-0 led by another", async () => {
      const l = (await store.readPartition("u", 0))?.value.leader;
      return l !== undefined && l !== 2 && l !== -1;
    });
    await until(
      "the watch caught up",
      () =>
        events.some((x) =>
          x.event.kv.key === store.partitionKey("u", 0) &&
          (JSON.parse(x.event.kv.value) as PartitionState).leader !== 2
        ),
    );
    const goneAt = events.find((x) =>
      x.event.type === "delete" && x.event.kv.key === store.brokerKey(2)
    )!;
    const moveAt = events.find((x) =>
      x.event.type === "put" && x.event.kv.key === store.partitionKey("u", 0) &&
      (JSON.parse(x.event.kv.value) as PartitionState).leader !== 2
    )!;
    ok(goneAt.revision < moveAt.revision, "as before: moved after the registration went");
    ok(
      !events.some((x) =>
        x.event.type === "put" && x.event.kv.key === store.brokerKey(2) &&
        JSON.parse(x.event.kv.value).controlledShutdown === true
      ),
      "no controlled shutdown mark",
    );
  } finally {
    watch?.close();
    await c.close();
  }
});
