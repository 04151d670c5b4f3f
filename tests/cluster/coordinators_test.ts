// Copyright 2026 the Sluice authors. Apache-2.0 license.
// The group and transaction coordinators of cluster mode under real faults, with confluent-kafka
// (librdkafka) and three broker processes on a real etcd (RF=3, min.insync.replicas=2):
//
// - a consumer group commits offsets while its coordinator (the leader of its
//   `__consumer_offsets` partition) is SIGKILLed: the commits go on with the new coordinator, and a
//   new consumer of the group resumes exactly at the last acknowledged commit (no record read
//   twice, none skipped);
// - transactions span partitions led by three different brokers (the coordinator sends
//   WriteTxnMarkers to the other leaders); the transaction coordinator is SIGKILLed between two
//   transactions and the next ones go to its successor; read_committed consumers see exactly the
//   committed transactions' records, read_uncommitted ones every record.
import { deepStrictEqual as assertEquals, ok } from "node:assert/strict";
import { Admin, Client, Producer } from "../../client/mod.ts";
import { EtcdClient } from "../../server/cluster/etcd.ts";
import { MetadataStore } from "../../server/cluster/metadata_store.ts";
import { partitionForGroup } from "../../server/group/schemas.ts";
import { requireEtcd, sharedEtcd, type TestEtcd } from "../etcd.ts";
import { PYTHON, requireClient } from "../harness.ts";
import { type ProcessCluster, startProcessCluster, until } from "./harness.ts";

const etcdReq = requireEtcd();
const confluent = requireClient("confluent-kafka");
const etcd = sharedEtcd();
/** `offsets.topic.num.partitions` and `transaction.state.log.num.partitions` of the harness. */
const INTERNAL_PARTITIONS = 5;
const REPLICATED = [
  "min.insync.replicas=2",
  "default.replication.factor=3",
  "offsets.topic.replication.factor=3",
  "transaction.state.log.replication.factor=3",
];

/** One cluster for the file's tests (each leaves every broker running). */
let shared: Promise<{ c: ProcessCluster; store: MetadataStore }> | undefined;
function cluster(e: TestEtcd): Promise<{ c: ProcessCluster; store: MetadataStore }> {
  return shared ??= (async () => {
    const c = await startProcessCluster(e, 3, REPLICATED);
    const store = new MetadataStore(
      new EtcdClient({ endpoints: e.endpoints, timeoutMs: 2000 }),
      `/sluice/${c.clusterName}`,
    );
    await until("3 registered", async () => (await store.snapshot()).brokers.size === 3, 60_000);
    return { c, store };
  })();
}
Deno.test.afterAll(async () => {
  const s = await shared?.catch(() => undefined);
  s?.store.etcd.close();
  if (s !== undefined && Deno.env.get("SLUICE_KEEP_LOGS") !== undefined) {
    await Promise.all(s.c.brokers.map((b) => b.stop(20_000).catch(() => {})));
    console.log(`logs kept: ${s.c.logs.join(" ")}`);
  } else await s?.c.close();
});

function test(name: string, fn: (c: ProcessCluster, store: MetadataStore) => Promise<void>) {
  Deno.test({
    name: `cluster coordinators: ${name}`,
    ignore: etcdReq.ignore || confluent.ignore,
    sanitizeOps: false,
    sanitizeResources: false,
    async fn() {
      etcdReq.assertAvailable();
      confluent.assertAvailable();
      const { c, store } = await cluster(await etcd());
      await fn(c, store);
    },
  });
}

/** A script of this directory, run with the Debian Python, its stdout read line by line. */
class Script {
  readonly lines: string[] = [];
  readonly done: Promise<Deno.CommandStatus>;
  readonly #child: Deno.ChildProcess;
  readonly #stdin: WritableStreamDefaultWriter<Uint8Array>;
  #stderr = "";

  constructor(file: string, args: string[]) {
    const child = new Deno.Command(PYTHON, {
      args: [new URL(file, import.meta.url).pathname, ...args],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#child = child;
    this.#stdin = child.stdin.getWriter();
    const out = (async () => {
      let buf = "";
      for await (const t of child.stdout.pipeThrough(new TextDecoderStream())) {
        buf += t;
        let nl;
        while ((nl = buf.indexOf("\n")) >= 0) {
          this.lines.push(buf.slice(0, nl));
          buf = buf.slice(nl + 1);
        }
      }
    })();
    const err = (async () => {
      for await (const t of child.stderr.pipeThrough(new TextDecoderStream())) {
        this.#stderr = (this.#stderr + t).slice(-4000);
      }
    })();
    this.done = Promise.all([child.status, out, err]).then(([s]) => s);
  }

  /** Lines starting with `prefix`, split on spaces (the prefix dropped). */
  fields(prefix: string): string[][] {
    return this.lines.filter((l) => l.startsWith(`${prefix} `) || l === prefix).map((l) =>
      l.split(" ").slice(1)
    );
  }

  /** Throws with the script's output when it printed an `F` line. */
  check(): void {
    const f = this.lines.find((l) => l.startsWith("F "));
    if (f !== undefined) throw new Error(`${f}\n${this.#stderr.slice(-1500)}`);
  }

  async write(line: string): Promise<void> {
    await this.#stdin.write(new TextEncoder().encode(line + "\n"));
  }

  async finish(timeoutMs = 120_000): Promise<void> {
    const timer = setTimeout(() => this.kill(), timeoutMs);
    try {
      await this.#stdin.close().catch(() => {});
      const s = await this.done;
      this.check();
      if (!s.success) throw new Error(`exit ${s.code}\n${this.#stderr.slice(-1500)}`);
    } finally {
      clearTimeout(timer);
    }
  }

  kill(): void {
    try {
      this.#child.kill("SIGKILL");
    } catch { /* exited */ }
  }
}

/** Waits until every partition the cluster has is led and fully in sync. */
async function inSync(store: MetadataStore): Promise<void> {
  await until("every partition in sync", async () => {
    const s = await store.snapshot();
    if (s.brokers.size !== 3) return false;
    for (const ps of s.partitions.values()) {
      for (const v of ps.values()) if (v.value.leader < 0 || v.value.isr.length !== 3) return false;
    }
    return true;
  }, 60_000);
}

async function leaderOf(store: MetadataStore, topic: string, p: number): Promise<number> {
  return (await store.snapshot()).partitions.get(topic)?.get(p)?.value.leader ?? -1;
}

/** The records a group consumer script consumed, as [partition, offset]. */
function consumed(s: Script): number[][] {
  return s.fields("M").map(([p, o]) => [Number(p), Number(o)]);
}

/** The offsets a group consumer script's last acknowledged commits hold, by partition. */
function committedBy(s: Script): Map<number, number> {
  const out = new Map<number, number>();
  for (const [p, o] of s.fields("C")) if (Number(o) >= 0) out.set(Number(p), Number(o));
  return out;
}

test(
  "a group resumes at its last commit after a coordinator SIGKILL; commits go on with its successor",
  async (c, store) => {
    const topic = "orders";
    const group = "orders-group";
    const perPartition = 400;
    const client = new Client({ bootstrapServers: c.bootstrap, retries: 50 });
    try {
      await new Admin(client).createTopics([{
        name: topic,
        numPartitions: 3,
        replicationFactor: 3,
      }]);
      const producer = new Producer(client, { acks: -1, lingerMs: 5 });
      for (let p = 0; p < 3; p++) {
        await producer.send({
          topic,
          messages: Array.from({ length: perPartition }, (_, i) => ({
            value: `o-${p}-${i}`,
            partition: p,
          })),
        });
      }
      await producer.close();
    } finally {
      await client.close();
    }
    const run = async (maxRecords: number, pause: number) => {
      const s = new Script("./group_consumer.py", [JSON.stringify({
        bootstrap: c.bootstrap,
        group,
        topic,
        max_records: maxRecords,
        commit_every: 20,
        pause_after_commit_s: pause,
        timeout_s: 90,
      })]);
      try {
        await s.finish(120_000);
      } finally {
        s.kill();
      }
      return s;
    };
    // each consumer starts where the previous one's last acknowledged commits are
    const resumes = (prev: Map<number, number>, next: Script, what: string) => {
      for (let p = 0; p < 3; p++) {
        const first = consumed(next).find(([q]) => q === p)?.[1];
        if (first !== undefined) assertEquals(first, prev.get(p) ?? 0, `${what}: partition ${p}`);
      }
    };
    // 1: commits, and the coordinator is SIGKILLed as soon as the last one is acknowledged
    const a = await run(300, 0.02);
    const offsetsPartition = partitionForGroup(group, INTERNAL_PARTITIONS);
    const killed = await leaderOf(store, "__consumer_offsets", offsetsPartition);
    ok(killed > 0, `__consumer_offsets-${offsetsPartition} has a leader`);
    await c.brokers[killed - 1].kill();
    const killedAt = Date.now();
    let electedAt = Infinity;
    const elected = until("a new group coordinator", async () => {
      const l = await leaderOf(store, "__consumer_offsets", offsetsPartition);
      return l > 0 && l !== killed;
    }, 30_000).then(() => electedAt = Date.now());
    let b: Script;
    try {
      // 2: a new consumer of the group, while the successor is elected and loads the partition
      b = await run(500, 0.1);
      await elected;
    } finally {
      await c.brokers[killed - 1].start();
    }
    resumes(committedBy(a), b, "after the coordinator's SIGKILL, the group resumes at its commit");
    const bySuccessor = b.fields("C").filter((f) => Number(f[2]) > electedAt).length / 3;
    ok(bySuccessor > 0, "commits were acknowledged by the new coordinator");
    console.log(
      `coordinator ${killed} SIGKILLed after ${a.fields("C").length / 3} commits; its successor, ` +
        `elected after ${electedAt - killedAt} ms, resumed the group there and acknowledged ` +
        `${bySuccessor} commits`,
    );
    await inSync(store);
    // the committed offsets, as any broker's client sees them
    const admin = new Client({ bootstrapServers: c.bootstrap, retries: 50 });
    try {
      const listed = await new Admin(admin).listConsumerGroupOffsets(group);
      assertEquals(
        new Map(listed.filter((o) => o.offset >= 0).map((o) => [o.partition, o.offset])),
        committedBy(b),
      );
    } finally {
      await admin.close();
    }
    // 3: the rest, from the successor's commits on
    const d = await run(3 * perPartition - 800, 0);
    resumes(committedBy(b), d, "the group resumes at the successor's commits");
    for (let p = 0; p < 3; p++) {
      const all = [a, b, d].flatMap(consumed).filter(([q]) => q === p).map(([, o]) => o)
        .sort((x, y) => x - y);
      assertEquals(all, Array.from({ length: perPartition }, (_, i) => i), `partition ${p}`);
    }
  },
);

test(
  "transactions over partitions led by three brokers, across a coordinator SIGKILL, as read_committed sees them",
  async (c, store) => {
    const topic = "txns";
    const transactionalId = "cluster-txn";
    const client = new Client({ bootstrapServers: c.bootstrap, retries: 50 });
    try {
      await new Admin(client).createTopics([{
        name: topic,
        numPartitions: 3,
        replicationFactor: 3,
      }]);
    } finally {
      await client.close();
    }
    await inSync(store);
    const leaders = await Promise.all([0, 1, 2].map((p) => leaderOf(store, topic, p)));
    assertEquals(new Set(leaders).size, 3, `three leaders: ${leaders}`);
    const outcomes = ["commit", "abort", "commit", "abort", "commit"];
    const producer = new Script("./txn_client.py", [
      "produce",
      JSON.stringify({
        bootstrap: c.bootstrap,
        transactional_id: transactionalId,
        topic,
        partitions: [0, 1, 2],
        records: 10,
        transactions: outcomes,
        timeout_s: 60,
      }),
    ]);
    let killed = -1;
    try {
      await until("InitProducerId", () => {
        producer.check();
        return producer.lines.includes("I");
      }, 60_000);
      for (let i = 0; i < outcomes.length; i++) {
        if (i === 2) {
          // the transaction coordinator dies between two transactions
          const p = partitionForGroup(transactionalId, INTERNAL_PARTITIONS);
          killed = await leaderOf(store, "__transaction_state", p);
          await c.brokers[killed - 1].kill();
          await until("a new transaction coordinator", async () => {
            const l = await leaderOf(store, "__transaction_state", p);
            return l > 0 && l !== killed;
          }, 30_000);
        }
        if (i === 4) {
          await c.brokers[killed - 1].start();
          await inSync(store);
        }
        await producer.write("go");
        await until(`transaction ${i}`, () => {
          producer.check();
          return producer.fields("T").length > i;
        }, 90_000);
      }
      await producer.finish(30_000);
    } finally {
      producer.kill();
      if (killed > 0 && c.brokers[killed - 1].pid === undefined) {
        await c.brokers[killed - 1].start();
      }
    }
    assertEquals(producer.fields("T"), outcomes.map((o, i) => [String(i), o]));
    await inSync(store);
    const read = async (isolation: string) => {
      const r = new Script("./txn_client.py", [
        "read",
        JSON.stringify({
          bootstrap: c.bootstrap,
          topic,
          partitions: [0, 1, 2],
          isolation,
          timeout_s: 60,
        }),
      ]);
      try {
        await r.finish(90_000);
      } finally {
        r.kill();
      }
      return r.fields("V");
    };
    const expect = (keep: (i: number) => boolean) =>
      [0, 1, 2].map((p) =>
        outcomes.flatMap((_, i) =>
          keep(i) ? Array.from({ length: 10 }, (_, k) => `t${i}-p${p}-${k}`) : []
        )
      );
    const byPartition = (rows: string[][]) =>
      [0, 1, 2].map((p) => rows.filter((r) => Number(r[0]) === p).map((r) => r[2]));
    assertEquals(
      byPartition(await read("read_committed")),
      expect((i) => outcomes[i] === "commit"),
      "read_committed: the committed transactions, in order",
    );
    assertEquals(
      byPartition(await read("read_uncommitted")),
      expect(() => true),
      "read_uncommitted: every record",
    );
    console.log(
      `5 transactions over partitions led by brokers ${leaders.join(", ")}; coordinator ` +
        `${killed} SIGKILLed before ` +
        `transaction 2: read_committed sees transactions 0, 2, 4 only`,
    );
  },
);
