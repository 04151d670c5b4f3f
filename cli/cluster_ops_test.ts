// `sluice cluster elect-leaders | reassign | decommission`: plans parsed and refused, the
// decommission plan, and the commands against four in-process brokers in cluster mode on a real
// etcd: a plan run and waited for, verified and listed, a preferred election, a broker emptied
// (its partition directories gone) and then stopped while the topics stay readable.
import assert from "node:assert/strict";
import { Admin, Client, Consumer, Producer } from "../client/mod.ts";
import { requireEtcd, sharedEtcd } from "../tests/etcd.ts";
import { startCluster, until } from "../tests/cluster/harness.ts";
import { decommissionPlan, parsePlan } from "./cluster_ops.ts";
import { UsageError } from "./args.ts";
import { runSluice as sluice } from "./testing.ts";

Deno.test("parsePlan(): Kafka's reassignment JSON, and clear refusals", () => {
  assert.deepEqual(
    parsePlan(
      '{"version":1,"partitions":[{"topic":"a","partition":0,"replicas":[1,2],"log_dirs":["any","any"]},' +
        '{"topic":"b","partition":3,"replicas":[3]}]}',
    ),
    [
      { topic: "a", partition: 0, replicas: [1, 2] },
      { topic: "b", partition: 3, replicas: [3] },
    ],
  );
  const refused: [string, string][] = [
    ["nope", "invalid plan: not JSON"],
    ["[]", "invalid plan: not a JSON object"],
    ['{"version":2,"partitions":[]}', 'invalid plan: "version" must be 1, got 2'],
    ['{"version":1}', 'invalid plan: "partitions" must be an array'],
    [
      '{"version":1,"partitions":[{"topic":"a","partition":-1,"replicas":[1]}]}',
      "invalid plan: partitions[0].partition must be an integer ≥ 0",
    ],
    [
      '{"version":1,"partitions":[{"topic":"a","partition":0,"replicas":"1"}]}',
      "invalid plan: partitions[0].replicas must be an array of broker ids",
    ],
    [
      '{"version":1,"partitions":[{"topic":"a","partition":0,"replicas":[1],"log_dirs":["/d"]}]}',
      'invalid plan: partitions[0].log_dirs: only "any" is supported',
    ],
    [
      '{"version":1,"partitions":[{"topic":"a","partition":0,"replicas":[1]},{"topic":"a","partition":0,"replicas":[2]}]}',
      "invalid plan: partitions[1]: a-0 is listed twice",
    ],
  ];
  for (const [text, message] of refused) {
    assert.throws(() => parsePlan(text), (e) => {
      assert.ok(e instanceof UsageError);
      assert.ok(e.message.startsWith(message), `${e.message} / ${message}`);
      return true;
    });
  }
});

Deno.test("decommissionPlan(): each replica on the broker goes to the least loaded broker without one", () => {
  const t = (name: string, replicas: number[][]) => ({
    name,
    topicId: "",
    internal: false,
    partitions: replicas.map((r, partition) => ({
      partition,
      leader: r[0],
      replicas: r,
      isr: r,
      offlineReplicas: [],
    })),
  });
  const plan = decommissionPlan(1, [1, 2, 3, 4, 5], [
    t("a", [[1, 2, 3], [2, 3, 4], [3, 1, 2]]),
    t("b", [[1], [4]]),
  ]);
  // loads before: 1:3, 2:3, 3:3, 4:2, 5:0 → 5, then 5 (1 < 2), then 4 (2 < 2? lowest id on a tie)
  assert.deepEqual(plan, [
    { topic: "a", partition: 0, replicas: [5, 2, 3] },
    { topic: "a", partition: 2, replicas: [3, 5, 2] },
    { topic: "b", partition: 0, replicas: [4] },
  ]);
  assert.deepEqual(decommissionPlan(9, [1, 9], [t("a", [[1]])]), []);
  assert.throws(
    () => decommissionPlan(1, [1, 2, 3], [t("a", [[1, 2, 3]])]),
    /cannot move a-0 off broker 1: its replicas \[1,2,3\] are on every other registered broker/,
  );
});

const etcdReq = requireEtcd();
const etcd = sharedEtcd();

Deno.test({
  name: "sluice cluster reassign, elect-leaders and decommission against four brokers",
  ignore: etcdReq.ignore,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    etcdReq.assertAvailable();
    const c = await startCluster(await etcd(), 4);
    const dir = await Deno.makeTempDir({ prefix: "sluice_cluster_ops_" });
    const client = new Client({ bootstrapServers: c.bootstrapAll(), retries: 20 });
    try {
      const bs = ["--bootstrap-server", c.bootstrap(1)];
      const admin = new Admin(client);
      await admin.createTopics([{ name: "orders", numPartitions: 4, replicationFactor: 2 }]);
      await until(
        "orders led everywhere",
        () =>
          c.brokers.every((b) =>
            [0, 1, 2, 3].every((p) =>
              (b!.cluster!.view.partition("orders", p)?.value.leader ?? -1) > 0
            )
          ),
      );
      // Placement is random; pin the one under which the decommission once stored partition 2's
      // records in partition 3 (docs/CLUSTER.md, "Tests and figures"): broker 1 then holds
      // partitions 1-3 (and leads 3 after the preferred election below), and removes 1 and 2
      // while broker 2, the new replica of 3, fetches it from broker 1.
      const pinned = [[3, 2], [2, 4], [4, 1], [1, 3]];
      const pinning = await admin.alterPartitionReassignments(
        pinned.map((replicas, partition) => ({ topic: "orders", partition, replicas })),
      );
      assert.deepEqual(pinning.map((o) => o.error), [null, null, null, null]);
      await until("the pinned placement", async () => {
        const [t] = await admin.describeTopics(["orders"]);
        return (await admin.listPartitionReassignments()).length === 0 &&
          t.partitions.every((p) => `${p.replicas}` === `${pinned[p.partition]}`);
      }, 30_000);
      const producer = new Producer(client, { acks: -1 });
      for (let p = 0; p < 4; p++) {
        await producer.send({
          topic: "orders",
          messages: Array.from({ length: 50 }, (_, i) => ({ partition: p, value: `p${p}-${i}` })),
        });
      }
      await producer.close();

      // a plan: partition 0 to [3, 4], partition 1 to [4, 1]
      const planFile = `${dir}/plan.json`;
      await Deno.writeTextFile(
        planFile,
        JSON.stringify({
          version: 1,
          partitions: [
            { topic: "orders", partition: 0, replicas: [3, 4] },
            { topic: "orders", partition: 1, replicas: [4, 1], log_dirs: ["any", "any"] },
          ],
        }),
      );
      let r = await sluice(["cluster", "reassign", ...bs, "--plan", planFile, "--wait"]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^2 of 2 reassignments started\n/);
      assert.match(r.stdout, /All 2 complete\n$/);
      r = await sluice(["cluster", "reassign", ...bs, "--plan", planFile, "--verify"]);
      assert.equal(r.code, 0, r.stdout);
      assert.equal((r.stdout.match(/complete/g) ?? []).length, 2);
      r = await sluice(["cluster", "reassign", ...bs, "--list"]);
      assert.deepEqual(r, { code: 0, stdout: "Reassignments in progress: 0\n", stderr: "" });
      const [orders] = await admin.describeTopics(["orders"]);
      assert.deepEqual(orders.partitions[0].replicas, [3, 4]);
      assert.deepEqual(orders.partitions[1].replicas, [4, 1]);

      // refusals: a bad plan, an unknown broker, nothing to cancel
      await Deno.writeTextFile(
        `${dir}/bad.json`,
        '{"version":1,"partitions":[{"topic":"orders"}]}',
      );
      r = await sluice(["cluster", "reassign", ...bs, "--plan", `${dir}/bad.json`]);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /^sluice cluster: invalid plan: partitions\[0\]\.partition/);
      await Deno.writeTextFile(
        `${dir}/unknown.json`,
        '{"version":1,"partitions":[{"topic":"orders","partition":2,"replicas":[1,42]}]}',
      );
      r = await sluice(["cluster", "reassign", ...bs, "--plan", `${dir}/unknown.json`]);
      assert.equal(r.code, 1);
      assert.match(r.stdout, /^0 of 1 reassignment started\n/);
      assert.match(r.stdout, /INVALID_REPLICA_ASSIGNMENT/);
      assert.match(r.stdout, /not registered/);
      r = await sluice(["cluster", "reassign", ...bs, "--plan", planFile, "--cancel"]);
      assert.equal(r.code, 1);
      assert.match(r.stdout, /NO_REASSIGNMENT_IN_PROGRESS/);
      r = await sluice(["cluster", "reassign", ...bs]);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /give --plan FILE, --list or --cancel/);

      // elect-leaders: partition 1's preferred leader is 4; after the move it may lead already
      r = await sluice(["cluster", "elect-leaders", ...bs, "--topic", "orders"]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      await until("preferred leaders lead", async () => {
        const [t] = await admin.describeTopics(["orders"]);
        return t.partitions.every((p) => p.leader === p.replicas[0]);
      });
      r = await sluice([
        "cluster",
        "elect-leaders",
        ...bs,
        "--topic",
        "orders",
        "--partition",
        "1",
      ]);
      assert.equal(r.code, 0);
      assert.match(r.stdout, /^0 leaders elected \(preferred\)\n/);
      assert.match(r.stdout, /ELECTION_NOT_NEEDED/);
      r = await sluice(["cluster", "elect-leaders", ...bs, "--type", "dirty"]);
      assert.equal(r.code, 2);

      // decommission broker 1: a dry run prints the plan, then everything moves off it
      r = await sluice(["cluster", "decommission", ...bs, "--broker", "1", "--dry-run"]);
      assert.equal(r.code, 0, r.stderr);
      const dry = parsePlan(r.stdout);
      assert.ok(dry.length > 0 && dry.every((p) => !p.replicas.includes(1)));
      r = await sluice(["cluster", "decommission", ...bs, "--broker", "1"]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(
        r.stdout,
        /Broker 1 holds no replica any more \(\d+ moved\): it can be stopped\n$/,
      );
      for (const t of await admin.describeTopics()) {
        for (const p of t.partitions) {
          assert.ok(!p.replicas.includes(1), `${t.name}-${p.partition}: [${p.replicas}]`);
        }
      }
      await until("broker 1 deleted its partition directories", async () => {
        for await (const e of Deno.readDir(c.dirs[0])) {
          if (e.isDirectory && /-\d+$/.test(e.name)) return false;
        }
        return true;
      });
      r = await sluice(["cluster", "decommission", ...bs, "--broker", "1"]);
      assert.deepEqual(r, {
        code: 0,
        stdout: "Broker 1 holds no replica: it can be stopped\n",
        stderr: "",
      });
      await c.stop(0);
      // every record still there
      const consumer = new Consumer(client, { fromBeginning: true });
      await consumer.assign([0, 1, 2, 3].map((partition) => ({ topic: "orders", partition })));
      const seen: string[] = [];
      // partition/offset of each, so that a failure tells a partition read twice (offsets
      // repeated) from a record stored twice (the same value at two offsets)
      const at: string[] = [];
      const deadline = Date.now() + 30_000;
      while (seen.length < 200 && Date.now() < deadline) {
        for (const m of await consumer.poll({ maxWaitMs: 200 })) {
          seen.push(new TextDecoder().decode(m.value!));
          at.push(`${m.partition}/${m.offset}`);
        }
      }
      await consumer.close();
      const twice = seen.flatMap((v, i) =>
        seen.indexOf(v) === i ? [] : [`${v}@${at[seen.indexOf(v)]},${at[i]}`]
      );
      assert.equal(seen.length, 200);
      assert.equal(new Set(seen).size, 200, `read again: ${twice.slice(0, 20).join(" ")}`);
      r = await sluice(["cluster", "decommission", ...bs, "--broker", "1"]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /^broker 1 is not registered/);
    } finally {
      await client.close();
      await c.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
