// `sluice cluster` against real brokers: a standalone broker (a one-broker cluster, nothing
// under-replicated or offline), three brokers in cluster mode on a real etcd with one of them
// stopped (its RF=1 partitions offline, its RF=3 ones under-replicated), a closed port, bad flags.
import assert from "node:assert/strict";
import { Admin, Client } from "../client/mod.ts";
import { Broker } from "../server/mod.ts";
import { requireEtcd, sharedEtcd } from "../tests/etcd.ts";
import { startCluster, until } from "../tests/cluster/harness.ts";
import type { ClusterReport } from "./cluster.ts";
import { runSluice as sluice } from "./testing.ts";

function closedPort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = l.addr.port;
  l.close();
  return port;
}

Deno.test("sluice cluster: a standalone broker is a one-broker cluster, its own controller, nothing under-replicated or offline", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sluice_cluster_cli_" });
  const broker = await Broker.start({
    listeners: "PLAINTEXT://127.0.0.1:0",
    logDirs: [dir],
    logLevel: "silent",
  });
  const bs = `127.0.0.1:${broker.port}`;
  const client = new Client({ bootstrapServers: bs });
  try {
    await new Admin(client).createTopics([{ name: "orders", numPartitions: 3 }]);
    const text = await sluice(["cluster", "--bootstrap-server", bs]);
    assert.deepEqual(text, {
      code: 0,
      stdout:
        `Cluster ${broker.config.clusterId}: 1 broker, controller 1, 1 topic, 3 partitions\n` +
        "\n" +
        `ID ${"HOST:PORT".padEnd(bs.length)} RACK\n` +
        `1* ${bs} -\n` +
        "\n" +
        "Under-replicated partitions: 0\n" +
        "\n" +
        "Offline partitions: 0\n",
      stderr: "",
    });
    const json = await sluice(["cluster", "--bootstrap-server", bs, "--output", "json"]);
    assert.equal(json.code, 0, json.stderr);
    assert.deepEqual(JSON.parse(json.stdout), {
      clusterId: broker.config.clusterId,
      controller: 1,
      brokers: [{ id: 1, host: "127.0.0.1", port: broker.port, rack: null, controller: true }],
      topics: 1,
      partitions: 3,
      underReplicatedPartitions: [],
      offlinePartitions: [],
    });
  } finally {
    await client.close();
    await broker.close();
    await Deno.remove(dir, { recursive: true });
  }
});

const etcdReq = requireEtcd();
const etcd = sharedEtcd();

Deno.test({
  name:
    "sluice cluster: three brokers, one stopped: its RF=1 partitions offline, its RF=3 ones under-replicated, through any live broker",
  ignore: etcdReq.ignore,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    etcdReq.assertAvailable();
    const c = await startCluster(await etcd(), 3, { brokerSessionTimeoutMs: 30_000 });
    const client = new Client({ bootstrapServers: c.bootstrapAll(), retries: 30 });
    try {
      await new Admin(client).createTopics([
        { name: "r1", numPartitions: 3, replicationFactor: 1 },
        { name: "r3", numPartitions: 2, replicationFactor: 3 },
      ]);
      const view = c.brokers[0]!.cluster!.view;
      const controller = view.controllerId;
      const all = await sluice([
        "cluster",
        "--bootstrap-server",
        c.bootstrap(0),
        "--output",
        "json",
      ]);
      const healthy = JSON.parse(all.stdout) as ClusterReport;
      assert.deepEqual(healthy.brokers.map((b) => [b.id, b.port, b.controller]), [
        [1, c.brokers[0]!.port, controller === 1],
        [2, c.brokers[1]!.port, controller === 2],
        [3, c.brokers[2]!.port, controller === 3],
      ]);
      assert.deepEqual(
        [
          healthy.underReplicatedPartitions,
          healthy.offlinePartitions,
          healthy.topics,
          healthy.partitions,
        ],
        [[], [], 2, 5],
      );
      // stop a broker that is not the controller (its lease is revoked: it goes at once)
      const victim = [1, 2, 3].find((b) => b !== controller)!;
      const deadBootstrap = c.bootstrap(victim - 1);
      await c.stop(victim - 1);
      const survivor = c.brokers.find((b) => b !== undefined)!.cluster!.view;
      await until(
        "the victim's partitions moved",
        () =>
          ["r1", "r3"].every((t) =>
            survivor.topic(t)!.value.replicas.every((_, p) => {
              const s = survivor.partition(t, p)!.value;
              return s.leader !== victim && !s.isr.includes(victim) || s.leader === -1;
            })
          ),
      );
      // the dead broker first in the list: any live one answers
      const bs = `${deadBootstrap},${c.bootstrapAll()}`;
      const r = await sluice(["cluster", "--bootstrap-server", bs, "--output", "json"]);
      assert.equal(r.code, 0, r.stderr);
      const report = JSON.parse(r.stdout) as ClusterReport;
      assert.deepEqual(report.brokers.map((b) => b.id), [1, 2, 3].filter((b) => b !== victim));
      assert.equal(report.controller, controller);
      const expected = (topic: string) =>
        survivor.topic(topic)!.value.replicas.map((replicas, partition) => {
          const s = survivor.partition(topic, partition)!.value;
          return {
            topic,
            partition,
            leader: s.leader,
            replicas,
            isr: s.isr,
            offlineReplicas: replicas.filter((b) => b === victim),
          };
        });
      const r1 = expected("r1");
      const r3 = expected("r3");
      assert.deepEqual(
        report.offlinePartitions,
        r1.filter((p) => p.replicas[0] === victim),
      );
      assert.ok(report.offlinePartitions.length >= 1, "the victim held an RF=1 partition");
      // every RF=3 partition lost the victim from its ISR (a leader, 2 of 3 in sync)
      assert.deepEqual(report.underReplicatedPartitions, r3);
      for (const p of r3) assert.deepEqual([p.leader !== victim, p.isr.length], [true, 2]);
      // the text form names the same partitions
      const text = await sluice(["cluster", "--bootstrap-server", bs]);
      assert.equal(text.code, 0, text.stderr);
      assert.match(
        text.stdout,
        new RegExp(
          `^Cluster ${view.clusterId}: 2 brokers, controller ${controller}, \\d+ topics?, \\d+ ` +
            `partitions\\n`,
        ),
      );
      assert.match(text.stdout, new RegExp(`\\n${controller}\\* +127\\.0\\.0\\.1:\\d+ +-\\n`));
      assert.match(
        text.stdout,
        new RegExp(`\\nOffline partitions: ${report.offlinePartitions.length}\\nTOPIC `),
      );
      for (const p of report.offlinePartitions) {
        assert.match(
          text.stdout,
          new RegExp(`\\nr1 +${p.partition} +none +${victim} +${victim} +${victim}\\n`),
        );
      }
    } finally {
      await client.close();
      await c.close();
    }
  },
});

Deno.test("sluice cluster: an unreachable broker fails in one line with exit code 1; bad flags with 2", async () => {
  const port = closedPort();
  const r = await sluice(["cluster", "--bootstrap-server", `127.0.0.1:${port}`]);
  assert.equal(r.code, 1);
  assert.equal(r.stdout, "");
  assert.equal(
    r.stderr,
    `sluice cluster: cannot connect to 127.0.0.1:${port} (connection refused): is the broker ` +
      `running at 127.0.0.1:${port}?\n`,
  );
  const bad = await sluice(["cluster", "--output", "yaml"]);
  assert.deepEqual(bad, {
    code: 2,
    stdout: "",
    stderr: 'sluice cluster: invalid --output "yaml": expected text or json\n',
  });
  const help = await sluice(["cluster", "--help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^Usage: sluice cluster /);
});
