// Copyright 2026 the Sluice authors. Apache-2.0 license.
// LinkedIn's Burrow 1.2.1 (Debian `burrow`, Sarama inside), the consumer-lag monitor, against a
// real in-process Sluice broker. Burrow does not ask the broker for a group's offsets: it reads
// `__consumer_offsets` from the beginning and decodes Kafka's OffsetCommitKey/OffsetCommitValue
// records itself, and it asks each partition's leader for its end offset. So a right lag here
// means our `__consumer_offsets` records are Kafka's, byte for byte as Burrow parses them.
// Burrow insists on a ZooKeeper for its own coordination: Debian's `zookeeper` (Java) runs one on a
// free port for the test. Burrow 1.2.1 predates GroupMetadataValue v3 (Kafka 2.3+, which Sluice
// writes like Kafka 3.9) and logs "failed to decode ... value version 3" for those records,
// as it does against Kafka; it needs only the offset records.

import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { Admin } from "../../client/admin.ts";
import { Client } from "../../client/client.ts";
import { Producer } from "../../client/producer.ts";
import { freePort } from "../etcd.ts";
import { interopTest, requireClient, startBroker, uniqueTopic, waitFor } from "../harness.ts";

const burrow = requireClient("burrow");

/** Where Debian's `zookeeper` package puts its launcher. */
const ZK_SERVER = "/usr/share/zookeeper/bin/zkServer.sh";

/** A started child process and its temporary directory; `stop` kills it and removes the dir. */
interface Service {
  port: number;
  /** The end of its output, for failure messages. */
  logTail(): Promise<string>;
  stop(): Promise<void>;
}

async function spawnService(
  dir: string,
  cmd: string,
  args: string[],
  env: Record<string, string>,
  port: number,
): Promise<Service> {
  const log = await Deno.open(`${dir}/out.log`, { write: true, create: true });
  const child = new Deno.Command(cmd, {
    args,
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  // drain both pipes into the log file (read on failure)
  const drained = Promise.all([child.stdout, child.stderr].map(async (s) => {
    for await (const chunk of s) await log.write(chunk);
  }));
  return {
    port,
    async logTail() {
      const text = await Deno.readTextFile(`${dir}/out.log`).catch(() => "");
      return text.slice(-2000);
    },
    async stop() {
      try {
        child.kill("SIGKILL");
      } catch { /* already gone */ }
      await child.status;
      await drained.catch(() => {});
      log.close();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

async function startZooKeeper(): Promise<Service> {
  const dir = await Deno.makeTempDir({ prefix: "sluice_zk_" });
  const port = freePort();
  await Deno.writeTextFile(
    `${dir}/zoo.cfg`,
    `tickTime=2000\ndataDir=${dir}/data\nclientPort=${port}\nclientPortAddress=127.0.0.1\n` +
      `admin.enableServer=false\n4lw.commands.whitelist=srvr\n`,
  );
  const service = await spawnService(dir, ZK_SERVER, ["start-foreground", `${dir}/zoo.cfg`], {
    ZOOCFGDIR: dir,
    ZOO_LOG_DIR: dir,
  }, port);
  // Ready when it serves: the port accepts connections before sessions are possible (Burrow
  // then fails with "Authentication failed: EOF" and exits). `srvr` is the one four-letter
  // command ZooKeeper 3.5+ allows by default.
  await waitFor("ZooKeeper serving", async () => {
    try {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      try {
        await conn.write(new TextEncoder().encode("srvr"));
        const buf = new Uint8Array(4096);
        let text = "";
        for (let n; (n = await conn.read(buf)) !== null;) {
          text += new TextDecoder().decode(buf.subarray(0, n));
        }
        return text.includes("Mode: standalone");
      } finally {
        conn.close();
      }
    } catch {
      return false;
    }
  }, { timeoutMs: 60_000, intervalMs: 250, detail: () => service.logTail() });
  return service;
}

async function startBurrow(bootstrap: string, zkPort: number): Promise<Service> {
  const dir = await Deno.makeTempDir({ prefix: "sluice_burrow_" });
  const port = freePort();
  await Deno.writeTextFile(
    `${dir}/burrow.toml`,
    `[general]
pidfile="${dir}/burrow.pid"
[logging]
level="info"
[zookeeper]
servers=["127.0.0.1:${zkPort}"]
timeout=6
root-path="/burrow"
[client-profile.sluice]
client-id="burrow-interop"
kafka-version="2.0.0"
[cluster.local]
class-name="kafka"
servers=["${bootstrap}"]
client-profile="sluice"
topic-refresh=1
offset-refresh=1
[consumer.local]
class-name="kafka"
cluster="local"
servers=["${bootstrap}"]
client-profile="sluice"
start-latest=false
[httpserver.default]
address="127.0.0.1:${port}"
[storage.default]
class-name="inmemory"
workers=2
intervals=10
expire-group=604800
min-distance=1
`,
  );
  const service = await spawnService(dir, "Burrow", ["--config-dir", dir], {}, port);
  return service;
}

interface LagPartition {
  topic: string;
  partition: number;
  end: { offset: number; lag: number } | null;
  current_lag: number;
}

interface LagAnswer {
  error: boolean;
  status?: { status: string; partitions: LagPartition[]; totallag: number };
}

async function lagOf(port: number, group: string): Promise<LagAnswer | null> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/v3/kafka/local/consumer/${group}/lag`);
    return await res.json() as LagAnswer;
  } catch {
    return null;
  }
}

interopTest(burrow, "reads our __consumer_offsets and reports each partition's lag", async () => {
  const b = await startBroker();
  const client = new Client({ bootstrapServers: [b.bootstrap] });
  let zk: Service | undefined;
  let mon: Service | undefined;
  try {
    const admin = new Admin(client);
    const topic = uniqueTopic("burrow");
    const group = uniqueTopic("burrow-group");
    await admin.createTopics([{ name: topic, numPartitions: 2 }]);
    const producer = new Producer(client);
    await producer.send({
      topic,
      messages: Array.from({ length: 100 }, (_, i) => ({ partition: i % 2, value: `v${i}` })),
    });
    await admin.alterConsumerGroupOffsets(group, [
      { topic, partition: 0, offset: 30 },
      { topic, partition: 1, offset: 50 },
    ]);
    zk = await startZooKeeper();
    mon = await startBurrow(b.bootstrap, zk.port);
    const port = mon.port;
    const summary = (a: LagAnswer | null) =>
      a?.status?.partitions.map((p) => [p.topic, p.partition, p.end?.offset, p.current_lag])
        .sort() ?? [];
    let last: LagAnswer | null = null;
    const expect = async (rows: unknown[], total: number) => {
      await waitFor(
        `Burrow's lag for ${group}`,
        async () => {
          last = await lagOf(port, group);
          return JSON.stringify(summary(last)) === JSON.stringify(rows) &&
            last?.status?.totallag === total;
        },
        {
          timeoutMs: 60_000,
          intervalMs: 250,
          detail: async () =>
            `last answer ${JSON.stringify(last)}; Burrow's log: ${await mon!.logTail()}`,
        },
      );
      assertEquals(summary(last), rows);
    };
    // p0: committed 30 of 50 (lag 20); p1: committed 50 of 50 (lag 0)
    await expect([[topic, 0, 30, 20], [topic, 1, 50, 0]], 20);
    // a later commit is read from the log too; the lag follows
    await admin.alterConsumerGroupOffsets(group, [{ topic, partition: 0, offset: 45 }]);
    await expect([[topic, 0, 45, 5], [topic, 1, 50, 0]], 5);
  } finally {
    await mon?.stop();
    await zk?.stop();
    client.close();
    await b.close();
  }
});
