import assert from "node:assert/strict";
import { Broker, type BrokerConfig } from "../server/mod.ts";
import { Admin, Client, GroupConsumer, Producer } from "../client/mod.ts";
import { runSluice as sluice } from "./testing.ts";
import { formatAssignment, formatTable, parseDateTime, parseTopicSpec } from "./groups.ts";
import { ConsumerGroupDescribeRequest } from "../protocol/messages/consumer_group_describe.ts";
import {
  ConsumerGroupHeartbeatRequest,
  ConsumerGroupHeartbeatResponse,
} from "../protocol/messages/consumer_group_heartbeat.ts";

interface Env {
  b: string[];
  client: Client;
  admin: Admin;
  producer: Producer;
}

async function withBroker(fn: (env: Env) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "sluice_groups_cli_test_" });
  const broker = await Broker.start({
    listeners: "PLAINTEXT://127.0.0.1:0",
    logDirs: [dir],
    logLevel: "silent",
    groupInitialRebalanceDelayMs: 0,
    offsetsTopicNumPartitions: 2,
  } as Partial<BrokerConfig>);
  const client = new Client({
    bootstrapServers: `127.0.0.1:${broker.port}`,
    clientId: "member",
    retryBackoffMs: 20,
  });
  try {
    await fn({
      b: ["--bootstrap-server", `127.0.0.1:${broker.port}`],
      client,
      admin: new Admin(client),
      producer: new Producer(client),
    });
  } finally {
    await client.close();
    await broker.close();
    await Deno.remove(dir, { recursive: true });
  }
}

/** Produces `counts[p]` records `p-i` to each partition `p` of `topic`, timestamps 1000+i. */
async function produce(env: Env, topic: string, counts: number[]) {
  for (const [p, n] of counts.entries()) {
    await env.producer.send({
      topic,
      messages: Array.from({ length: n }, (_, i) => ({
        value: `${p}-${i}`,
        partition: p,
        timestamp: 1000 + i,
      })),
    });
  }
}

async function joined(env: Env, group: string, topic: string): Promise<GroupConsumer> {
  const m = new GroupConsumer(env.client, {
    groupId: group,
    autoCommit: false,
    heartbeatIntervalMs: 100,
    sessionTimeoutMs: 10_000,
  });
  m.subscribe([topic]);
  await m.poll({ maxWaitMs: 0 });
  return m;
}

Deno.test("sluice groups --describe shows exact offsets and lag; --list, --members, --state", async () => {
  await withBroker(async (env) => {
    await env.admin.createTopics([{ name: "orders", numPartitions: 2 }]);
    await produce(env, "orders", [5, 3]); // N = 8
    const m = await joined(env, "g1", "orders");
    await m.commit([
      { topic: "orders", partition: 0, offset: 2, leaderEpoch: 0 },
      { topic: "orders", partition: 1, offset: 3 }, // no epoch: committed_leader_epoch -1
    ]); // M = 5
    const b = env.b;
    assert.deepEqual(await sluice(["groups", ...b, "--list"]), {
      code: 0,
      stdout: "g1\n",
      stderr: "",
    });
    assert.deepEqual(await sluice(["groups", ...b, "--list", "--state"]), {
      code: 0,
      stdout: "GROUP                     STATE\ng1                        Stable\n",
      stderr: "",
    });
    const id = m.memberId;
    const w = Math.max(15, id.length);
    const active = await sluice(["groups", ...b, "--describe", "--group", "g1"]);
    assert.deepEqual(active, {
      code: 0,
      stdout: "\n" +
        `GROUP           TOPIC           PARTITION  CURRENT-OFFSET  LOG-END-OFFSET  LAG             ${
          "CONSUMER-ID".padEnd(w)
        } HOST            CLIENT-ID\n` +
        `g1              orders          0          2               5               3               ${
          id.padEnd(w)
        } /127.0.0.1      member\n` +
        `g1              orders          1          3               3               0               ${
          id.padEnd(w)
        } /127.0.0.1      member\n`,
      stderr: "",
    });
    const members = await sluice(["groups", ...b, "--describe", "--group", "g1", "--members"]);
    assert.equal(
      members.stdout,
      "\n" +
        `GROUP           ${"CONSUMER-ID".padEnd(w)} HOST            CLIENT-ID       #PARTITIONS\n` +
        `g1              ${id.padEnd(w)} /127.0.0.1      member          2\n`,
    );
    const state = await sluice(["groups", ...b, "--describe", "--group", "g1", "--state"]);
    const coord = `127.0.0.1:${b[1].split(":")[1]} (1)`.padEnd(25);
    assert.equal(
      state.stdout,
      "\nGROUP                     COORDINATOR (ID)          ASSIGNMENT-STRATEGY  STATE           #MEMBERS\n" +
        `g1                        ${coord} range                Stable          1\n`,
    );
    await m.close();
    // No members: the rows stay, with "-" for the member columns.
    assert.deepEqual(await sluice(["groups", ...b, "--describe", "--group", "g1"]), {
      code: 0,
      stdout: "\nConsumer group 'g1' has no active members.\n\n" +
        "GROUP           TOPIC           PARTITION  CURRENT-OFFSET  LOG-END-OFFSET  LAG             CONSUMER-ID     HOST            CLIENT-ID\n" +
        "g1              orders          0          2               5               3               -               -               -\n" +
        "g1              orders          1          3               3               0               -               -               -\n",
      stderr: "",
    });
    // --verbose: each committed offset's leader epoch, "-" where none was committed.
    assert.deepEqual(await sluice(["groups", ...b, "--describe", "--group", "g1", "--verbose"]), {
      code: 0,
      stdout: "\nConsumer group 'g1' has no active members.\n\n" +
        "GROUP           TOPIC           PARTITION  CURRENT-OFFSET  LEADER-EPOCH    LOG-END-OFFSET  LAG             CONSUMER-ID     HOST            CLIENT-ID\n" +
        "g1              orders          0          2               0               5               3               -               -               -\n" +
        "g1              orders          1          3               -               3               0               -               -               -\n",
      stderr: "",
    });
    assert.deepEqual(await sluice(["groups", ...b, "--describe", "--group", "nope"]), {
      code: 1,
      stdout: "",
      stderr: "sluice groups: Consumer group 'nope' does not exist.\n",
    });
  });
});

/**
 * A KIP-848 member driven by hand: one ConsumerGroupHeartbeat (v1, the member id made here) to
 * the coordinator (node 1, the only broker), owning `owned` partitions of the topic `topicId`.
 */
function heartbeat(
  env: Env,
  memberId: string,
  memberEpoch: number,
  owned: { topicId: string; partitions: number[] } | null = null,
): Promise<ConsumerGroupHeartbeatResponse> {
  return env.client.send(
    1,
    { request: ConsumerGroupHeartbeatRequest, response: ConsumerGroupHeartbeatResponse },
    ConsumerGroupHeartbeatRequest.create({
      groupId: "cg",
      memberId,
      memberEpoch,
      rebalanceTimeoutMs: 30_000,
      subscribedTopicNames: memberEpoch === 0 ? ["orders"] : null,
      topicPartitions: memberEpoch === 0 ? [] : owned === null ? null : [owned],
    }),
  );
}

Deno.test("consumer-protocol (KIP-848) groups: describeGroups via ConsumerGroupDescribe, sluice groups --describe/--members/--state/--list --type", async () => {
  await withBroker(async (env) => {
    await env.admin.createTopics([{ name: "orders", numPartitions: 4 }]);
    await produce(env, "orders", [4, 3, 2, 1]);
    // Offsets committed while the group is empty (a classic group then), kept when it becomes a
    // consumer group.
    await env.admin.alterConsumerGroupOffsets("cg", [
      { topic: "orders", partition: 0, offset: 1 },
      { topic: "orders", partition: 1, offset: 3 },
      { topic: "orders", partition: 2, offset: 0 },
    ]);
    const classic = await joined(env, "classic", "orders");
    const a = await heartbeat(env, "member-a", 0);
    assert.deepEqual([a.errorCode, a.memberEpoch], [0, 1]);
    const topicId = a.assignment!.topicPartitions[0].topicId;
    const b = await heartbeat(env, "member-b", 0);
    assert.deepEqual([b.errorCode, b.memberEpoch], [0, 2]);
    const member = (
      memberId: string,
      memberEpoch: number,
      assignment: number[],
      target: number[],
    ) => ({
      memberId,
      groupInstanceId: null,
      clientId: "member",
      clientHost: "/127.0.0.1",
      subscription: ["orders"],
      subscribedTopicRegex: null,
      assignment: assignment.length === 0 ? [] : [{ topic: "orders", partitions: assignment }],
      targetAssignment: [{ topic: "orders", partitions: target }],
      memberEpoch,
    });
    // member-a still holds all four at epoch 1; member-b waits for 2 and 3 (Reconciling).
    assert.deepEqual(await env.admin.describeGroups(["cg"]), [{
      groupId: "cg",
      type: "consumer",
      state: "Reconciling",
      protocolType: "consumer",
      protocol: "uniform",
      coordinator: 1,
      groupEpoch: 2,
      targetAssignmentEpoch: 2,
      members: [member("member-a", 1, [0, 1, 2, 3], [0, 1]), member("member-b", 2, [], [2, 3])],
    }]);
    const b0 = env.b;
    const describe = (...more: string[]) =>
      sluice(["groups", ...b0, "--describe", "--group", "cg", ...more]);
    assert.deepEqual(await describe("--members", "--verbose"), {
      code: 0,
      stdout: "\n" +
        "GROUP           CONSUMER-ID     HOST            CLIENT-ID       #PARTITIONS     ASSIGNMENT\n" +
        "cg              member-a        /127.0.0.1      member          4               orders(0,1,2,3)\n" +
        "cg              member-b        /127.0.0.1      member          0               -\n",
      stderr: "\nWarning: Consumer group 'cg' is rebalancing.\n",
    });
    const coord = `127.0.0.1:${b0[1].split(":")[1]} (1)`.padEnd(25);
    assert.deepEqual(await describe("--state"), {
      code: 0,
      stdout:
        "\nGROUP                     COORDINATOR (ID)          ASSIGNMENT-STRATEGY  STATE           #MEMBERS\n" +
        `cg                        ${coord} uniform              Reconciling     2\n`,
      stderr: "\nWarning: Consumer group 'cg' is rebalancing.\n",
    });

    // member-a revokes 2 and 3 (told so at its next heartbeat), then member-b gets them.
    const revoke = await heartbeat(env, "member-a", 1, { topicId, partitions: [0, 1, 2, 3] });
    assert.deepEqual(revoke.assignment?.topicPartitions, [{ topicId, partitions: [0, 1] }]);
    assert.equal(
      (await heartbeat(env, "member-a", 1, { topicId, partitions: [0, 1] })).memberEpoch,
      2,
    );
    const got = await heartbeat(env, "member-b", 2, { topicId, partitions: [] });
    assert.deepEqual(got.assignment?.topicPartitions, [{ topicId, partitions: [2, 3] }]);
    const [stable] = await env.admin.describeGroups(["cg"]);
    assert.deepEqual(
      [stable.state, stable.groupEpoch, stable.targetAssignmentEpoch, stable.members],
      ["Stable", 2, 2, [
        member("member-a", 2, [0, 1], [0, 1]),
        member("member-b", 2, [2, 3], [2, 3]),
      ]],
    );
    // Classic groups are still described by DescribeGroups.
    const [cl] = await env.admin.describeGroups(["classic"]);
    assert.deepEqual(
      [cl.type, cl.state, cl.protocol, cl.groupEpoch, cl.targetAssignmentEpoch],
      ["classic", "Stable", "range", null, null],
    );
    assert.deepEqual(
      cl.members.map((m) => [m.assignment, m.targetAssignment, m.memberEpoch]),
      [[[{ topic: "orders", partitions: [0, 1, 2, 3] }], null, null]],
    );

    assert.deepEqual(await describe(), {
      code: 0,
      stdout: "\n" +
        "GROUP           TOPIC           PARTITION  CURRENT-OFFSET  LOG-END-OFFSET  LAG             CONSUMER-ID     HOST            CLIENT-ID\n" +
        "cg              orders          0          1               4               3               member-a        /127.0.0.1      member\n" +
        "cg              orders          1          3               3               0               member-a        /127.0.0.1      member\n" +
        "cg              orders          2          0               2               2               member-b        /127.0.0.1      member\n" +
        "cg              orders          3          -               1               -               member-b        /127.0.0.1      member\n",
      stderr: "",
    });
    assert.deepEqual(await describe("--members"), {
      code: 0,
      stdout: "\n" +
        "GROUP           CONSUMER-ID     HOST            CLIENT-ID       #PARTITIONS\n" +
        "cg              member-a        /127.0.0.1      member          2\n" +
        "cg              member-b        /127.0.0.1      member          2\n",
      stderr: "",
    });
    assert.deepEqual(await describe("--state"), {
      code: 0,
      stdout:
        "\nGROUP                     COORDINATOR (ID)          ASSIGNMENT-STRATEGY  STATE           #MEMBERS\n" +
        `cg                        ${coord} uniform              Stable          2\n`,
      stderr: "",
    });
    const json = JSON.parse((await describe("--output", "json")).stdout);
    assert.deepEqual(
      [json.type, json.state, json.protocol, json.groupEpoch, json.targetAssignmentEpoch],
      ["consumer", "Stable", "uniform", 2, 2],
    );
    assert.deepEqual(
      json.members.map((
        m: Record<string, unknown>,
      ) => [m.memberId, m.memberEpoch, m.targetAssignment]),
      [
        ["member-a", 2, [{ topic: "orders", partitions: [0, 1] }]],
        ["member-b", 2, [{ topic: "orders", partitions: [2, 3] }]],
      ],
    );
    assert.deepEqual(await sluice(["groups", ...b0, "--list", "--type", "--state"]), {
      code: 0,
      stdout: "GROUP                     TYPE                 STATE\n" +
        "cg                        Consumer             Stable\n" +
        "classic                   Classic              Stable\n",
      stderr: "",
    });
    assert.deepEqual(await sluice(["groups", ...b0, "--list", "--type", "Consumer"]), {
      code: 0,
      stdout: "GROUP                     TYPE\ncg                        Consumer\n",
      stderr: "",
    });
    assert.deepEqual(await sluice(["groups", ...b0, "--list", "--type", "classic", "--state"]), {
      code: 0,
      stdout: "GROUP                     TYPE                 STATE\n" +
        "classic                   Classic              Stable\n",
      stderr: "",
    });
    assert.deepEqual(
      (await env.admin.listGroups({ types: ["consumer"] })).map((g) => [g.groupId, g.type]),
      [["cg", "consumer"]],
    );
    // A broker without ConsumerGroupDescribe (its ApiVersions entry dropped here): DescribeGroups,
    // as Kafka's Admin falls back on UNSUPPORTED_VERSION; the consumer group is Dead to it.
    const old = new Client({ bootstrapServers: b0[1], clientId: "old", retryBackoffMs: 20 });
    try {
      (await old.connectionTo(1)).brokerVersions.delete(ConsumerGroupDescribeRequest.apiKey);
      const [oldCg, oldClassic] = await new Admin(old).describeGroups(["cg", "classic"]);
      assert.deepEqual(
        [oldCg.type, oldCg.state, oldCg.members, oldClassic.type, oldClassic.state],
        ["classic", "Dead", [], "classic", "Stable"],
      );
    } finally {
      await old.close();
    }
    await classic.close();

    // Both leave: Empty, the committed offsets stay.
    for (const [id, epoch] of [["member-a", -1], ["member-b", -1]] as const) {
      assert.equal((await heartbeat(env, id, epoch)).errorCode, 0);
    }
    const [empty] = await env.admin.describeGroups(["cg"]);
    assert.deepEqual([empty.type, empty.state, empty.members], ["consumer", "Empty", []]);
    assert.deepEqual(await describe(), {
      code: 0,
      stdout: "\nConsumer group 'cg' has no active members.\n\n" +
        "GROUP           TOPIC           PARTITION  CURRENT-OFFSET  LOG-END-OFFSET  LAG             CONSUMER-ID     HOST            CLIENT-ID\n" +
        "cg              orders          0          1               4               3               -               -               -\n" +
        "cg              orders          1          3               3               0               -               -               -\n" +
        "cg              orders          2          0               2               2               -               -               -\n",
      stderr: "",
    });
  });
});

Deno.test("sluice groups --reset-offsets plans, refuses active groups, executes; consume --group resumes there", async () => {
  await withBroker(async (env) => {
    await env.admin.createTopics([{ name: "t", numPartitions: 1 }]);
    await produce(env, "t", [6]); // values 0-0..0-5, timestamps 1000..1005
    const b = env.b;
    const consume = (n: number) =>
      sluice(["consume", ...b, "--topic", "t", "--group", "cg", "--max-messages", String(n)]);
    // consume --group --from-beginning starts at 0 and commits what it printed.
    assert.deepEqual(
      await sluice([
        "consume",
        ...b,
        "--topic",
        "t",
        "--group",
        "cg",
        "--from-beginning",
        "--max-messages",
        "2",
      ]),
      { code: 0, stdout: "0-0\n0-1\n", stderr: "Processed a total of 2 messages\n" },
    );
    // The commit carries the leader epoch of record 1 (0: a fresh broker's first epoch).
    assert.deepEqual(await env.admin.listConsumerGroupOffsets("cg"), [
      { topic: "t", partition: 0, offset: 2, metadata: "", leaderEpoch: 0 },
    ]);
    assert.deepEqual((await consume(2)).stdout, "0-2\n0-3\n");

    // Dry run (default): the plan, no change.
    const reset = ["groups", ...b, "--reset-offsets", "--group", "cg", "--topic", "t"];
    assert.deepEqual(await sluice([...reset, "--to-earliest"]), {
      code: 0,
      stdout:
        "\nGROUP                          TOPIC                          PARTITION  NEW-OFFSET\n" +
        "cg                             t                              0          0\n",
      stderr: "WARN: No action will be performed as the --execute option is missing.\n",
    });
    assert.equal((await env.admin.listConsumerGroupOffsets("cg"))[0].offset, 4);

    // Refused while a member is active, for a dry run too.
    const m = await joined(env, "cg", "t");
    assert.deepEqual(await sluice([...reset, "--to-earliest", "--execute"]), {
      code: 1,
      stdout: "",
      stderr: "sluice groups: Assignments can only be reset if the group 'cg' is inactive, " +
        "but the current state is Stable.\n",
    });
    await m.close();

    await sluice([...reset, "--to-earliest", "--execute"]);
    assert.deepEqual((await consume(1)).stdout, "0-0\n");
    const toOffset = await sluice([
      ...reset.slice(0, -2),
      "--topic",
      "t:0",
      "--to-offset",
      "3",
      "--execute",
    ]);
    assert.equal(
      toOffset.stdout.split("\n")[2],
      "cg                             t                              0          3",
    );
    assert.deepEqual((await consume(1)).stdout, "0-3\n");
    // --to-offset beyond the end is clamped to the log end offset, as Kafka does.
    await sluice([...reset, "--to-offset", "99", "--execute"]);
    assert.equal((await env.admin.listConsumerGroupOffsets("cg"))[0].offset, 6);
    const ts = new Date(1002).toISOString(); // "1970-01-01T00:00:01.002Z"
    await sluice([...reset, "--to-datetime", ts, "--execute"]);
    assert.deepEqual((await consume(2)).stdout, "0-2\n0-3\n");
    await sluice([...reset, "--shift-by", "-3", "--execute"]);
    assert.deepEqual((await consume(1)).stdout, "0-1\n");
    await sluice([...reset, "--to-latest", "--execute"]);
    assert.equal((await env.admin.listConsumerGroupOffsets("cg"))[0].offset, 6);

    assert.deepEqual(await sluice(["groups", ...b, "--delete", "--group", "cg"]), {
      code: 0,
      stdout: "Deletion of requested consumer groups ('cg') was successful.\n",
      stderr: "",
    });
    assert.deepEqual(await sluice(["groups", ...b, "--list"]), { code: 0, stdout: "", stderr: "" });
    assert.deepEqual(await sluice(["groups", ...b, "--delete", "--group", "cg"]), {
      code: 1,
      stdout: "",
      stderr:
        "sluice groups: Deletion of consumer group 'cg' failed: The group id does not exist.\n",
    });
  });
});

Deno.test("sluice groups rejects bad flags with one line and exit code 2", async () => {
  const cases: Array<[string[], string]> = [
    [[], "exactly one of --list, --describe, --reset-offsets or --delete is required"],
    [["--list", "--describe"], "exactly one of --list, --describe, --reset-offsets or --delete"],
    [["--describe"], "--describe needs --group"],
    [["--delete"], "--delete needs --group"],
    [["--list", "--members"], "--members needs --describe"],
    [["--list", "--verbose"], "--verbose needs --describe"],
    [["--describe", "--group", "g", "--state", "--verbose"], "--verbose needs --describe"],
    [["--describe", "--group", "g", "--type"], "--type needs --list"],
    [
      ["--list", "--type", "share"],
      "Invalid types list 'share'. Valid types are: classic, consumer",
    ],
    [["--describe", "--group", "g", "--members", "--state"], "--members and --state cannot"],
    [["--reset-offsets", "--group", "g", "--topic", "t"], "--reset-offsets needs exactly one of"],
    [
      ["--reset-offsets", "--group", "g", "--to-earliest"],
      "--reset-offsets needs --topic or --all-topics",
    ],
    [
      ["--reset-offsets", "--group", "g", "--topic", "t:x", "--to-earliest"],
      'invalid --topic "t:x"',
    ],
    [
      ["--reset-offsets", "--group", "g", "--topic", "t", "--to-offset", "-1"],
      'invalid --to-offset "-1": expected an integer >= 0',
    ],
    [
      ["--reset-offsets", "--group", "g", "--topic", "t", "--to-datetime", "yesterday"],
      'invalid --to-datetime "yesterday"',
    ],
    [
      [
        "--reset-offsets",
        "--group",
        "g",
        "--topic",
        "t",
        "--to-datetime",
        "2026-02-30T00:00:00.000",
      ],
      "no such date",
    ],
    [["--describe", "--group", "g", "--to-earliest"], "--to-earliest needs --reset-offsets"],
    [["--list", "--bogus"], "Unknown option '--bogus'"],
  ];
  for (const [args, message] of cases) {
    const r = await sluice(["groups", "--bootstrap-server", "127.0.0.1:1", ...args]);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.equal(r.stdout, "");
    assert.ok(r.stderr.startsWith("sluice groups: "), r.stderr);
    assert.ok(r.stderr.includes(message), `${args.join(" ")}: ${r.stderr}`);
    assert.equal(r.stderr.split("\n").length, 2, "one line");
  }
  const c = await sluice(["consume", "--topic", "t", "--group", "g", "--partition", "0"]);
  assert.deepEqual(c, {
    code: 2,
    stdout: "",
    stderr: "sluice consume: --group and --partition cannot be used together\n",
  });
});

Deno.test("groups helpers: topic specs, datetimes, tables", () => {
  assert.deepEqual(parseTopicSpec("t"), { topic: "t", partitions: null });
  assert.deepEqual(parseTopicSpec("a:b:1,2"), { topic: "a:b", partitions: [1, 2] });
  assert.equal(parseDateTime("2026-01-02T03:04:05.006Z"), Date.UTC(2026, 0, 2, 3, 4, 5, 6));
  assert.equal(parseDateTime("2026-01-02T03:04:05.006+01:00"), Date.UTC(2026, 0, 2, 2, 4, 5, 6));
  assert.equal(
    parseDateTime("2026-01-02T03:04:05.006"),
    new Date(2026, 0, 2, 3, 4, 5, 6).getTime(),
  );
  assert.equal(formatTable([["A", "B", "C"], ["xx", "y", "z"]], [1, 3, 0]), "A  B   C\nxx y   z\n");
  assert.equal(
    formatAssignment([{ topic: "t", partitions: [2, 0] }, { topic: "a", partitions: [1] }]),
    "a(1), t(0,2)",
  );
  assert.equal(formatAssignment([{ topic: "t", partitions: [] }]), "-");
});
