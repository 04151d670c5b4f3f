// Copyright 2026 the Sluice authors. Apache-2.0 license.
// Clients on a recent librdkafka (2.15.1, what today's confluent-kafka-python, -go, .NET and
// @confluentinc/kafka-javascript bundle) against a real in-process Sluice broker. Debian's kcat
// and confluent-kafka link librdkafka.so.1 dynamically; LD_LIBRARY_PATH points them at 2.15.1,
// built once per machine from @confluentinc/kafka-javascript's bundled sources
// (tools/librdkafka.ts). clients/rdkafka_admin.c drives librdkafka's consumer-group Admin API
// (ListConsumerGroups, DescribeConsumerGroups, List/Alter/DeleteConsumerGroupOffsets,
// DeleteGroups, DescribeCluster), which confluent-kafka 1.7.0 lacks, on 2.15.1 and on Debian's
// 2.0.2 (whose ListGroups v4 and OffsetFetch v7 carry bytes after their last field too).
//
// Every connection goes through a recording proxy (the broker advertises the proxy's address);
// the last test checks that each request sent with bytes after its last field is of a kind
// trailing_bytes_test.ts replays byte for byte.

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { concat } from "../../protocol/framing.ts";
import { decodeRecordBatches } from "../../records/mod.ts";
import {
  type ClientRequirement,
  type ClientScript,
  interopTest,
  requireClient,
  runClientScript,
  runCommand,
  type TestBroker,
  uniqueTopic,
} from "../harness.ts";
import { type CapturedRequests, FIXTURE } from "./capture_requests.ts";
import { crc32 } from "./crc32.ts";
import {
  type AdminProgram,
  compileAdmin,
  MODERN_VERSION,
  modernLibrdkafka,
  requireOnModern,
} from "./modern_librdkafka.ts";
import { definePythonClientTests } from "./python_cases.ts";
import { inspectRequest, type ProxiedBroker, startBrokerBehindProxy } from "./recording_proxy.ts";

const modern = await modernLibrdkafka();
const kcat = await requireOnModern("kcat", modern);
const confluent = await requireOnModern("confluent-kafka", modern);
const adminDir = await Deno.makeTempDir({ prefix: "sluice_rdkafka_admin_" });
Deno.test.afterAll(() => Deno.remove(adminDir, { recursive: true }).catch(() => {}));
const admins: { program: AdminProgram; env: Record<string, string>; kcat: ClientRequirement }[] = [
  {
    program: await compileAdmin(adminDir),
    env: {},
    kcat: requireClient("kcat"),
  },
  {
    program: await compileAdmin(adminDir, modern),
    env: modern.env,
    kcat,
  },
];

const PARTITIONS = 3;
let started: Promise<ProxiedBroker> | undefined;
Deno.test.afterAll(async () => {
  if (started) await (await started.catch(() => undefined))?.close();
});
function proxied(): Promise<ProxiedBroker> {
  started ??= startBrokerBehindProxy({
    numPartitions: PARTITIONS,
    topicDefaults: { "max.message.bytes": "4194304" },
  });
  return started;
}
/** The shared broker as the Python cases see it: bootstrap is the proxy. */
async function broker(): Promise<TestBroker> {
  const b = await proxied();
  return { ...b.broker, bootstrap: b.bootstrap };
}

/** Both requirements at once, named after the first. */
function allOf(first: ClientRequirement, second: ClientRequirement): ClientRequirement {
  const ci = Deno.env.get("CI") === "true";
  const available = first.available && second.available;
  return {
    name: first.name,
    available,
    ignore: !available && !ci,
    message: [first.message, second.message].filter((m) => m).join("; "),
    assertAvailable(): void {
      first.assertAvailable();
      second.assertAvailable();
    },
  };
}

// ---- kcat on librdkafka 2.15.1 ----

/** One message as printed by `kcat -C -J`. */
interface KcatMessage {
  partition: number;
  offset: number;
  headers?: (string | null)[];
  key: string | null;
  payload: string | null;
}

async function kcatRun(
  env: Record<string, string>,
  args: string[],
  stdin?: string,
  timeoutMs = 30_000,
) {
  const r = await runCommand("kcat", args, { stdin, timeoutMs, env });
  if (r.timedOut) throw new Error(`kcat ${args.join(" ")}: timed out\n${r.stderr}`);
  if (r.code !== 0) throw new Error(`kcat ${args.join(" ")}: exit ${r.code}\n${r.stderr}`);
  return r;
}

function jsonLines<T>(text: string): T[] {
  return text.split("\n").filter((l) => l.trim() !== "").map((l) => JSON.parse(l));
}

/** Every batch stored in one partition of `topic`, read from its log files (strict checks). */
async function storedBatches(dataDir: string, topic: string, partition: number) {
  const dir = `${dataDir}/${topic}-${partition}`;
  const names = [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n.endsWith(".log"));
  const parts = await Promise.all(names.sort().map((n) => Deno.readFile(`${dir}/${n}`)));
  return decodeRecordBatches(concat(parts), { validation: "strict" });
}

interopTest(
  kcat,
  "runs on librdkafka 2.15.1 with gzip, snappy, lz4 and zstd built in",
  async () => {
    const r = await kcatRun(modern.env, ["-V"]);
    const m = r.stdout.match(/librdkafka (\S+) builtin\.features=(\S+)\)/);
    assert(m, r.stdout);
    assertEquals(m[1], MODERN_VERSION);
    const features = m[2].split(",");
    for (const codec of ["gzip", "snappy", "lz4", "zstd"]) assert(features.includes(codec), m[2]);
  },
);

interopTest(kcat, "metadata: all topics (Metadata v12 + 3 bytes) and one topic", async () => {
  const b = await proxied();
  const topic = uniqueTopic("modern-kcat-meta");
  await kcatRun(modern.env, ["-b", b.bootstrap, "-P", "-t", topic, "-K", ":"], "k:v\n");
  const from = b.proxy.requests.length;
  const all = JSON.parse((await kcatRun(modern.env, ["-b", b.bootstrap, "-L", "-J"])).stdout);
  // The request that every librdkafka >= 2.10 client sends first, and Sluice used to refuse.
  const sent = b.proxy.requests.slice(from).map((r) => inspectRequest(r.frame));
  assert(
    sent.some((s) => s.name === "Metadata" && s.apiVersion === 12 && s.trailingBytes === 3),
    sent.map((s) => `${s.name} v${s.apiVersion} +${s.trailingBytes}`).join(", "),
  );
  assertEquals(all.brokers, [{ id: 1, name: b.bootstrap }]);
  const listed = all.topics.find((t: { topic: string }) => t.topic === topic);
  assert(
    listed,
    `${topic} in ${JSON.stringify(all.topics.map((t: { topic: string }) => t.topic))}`,
  );
  const one = JSON.parse(
    (await kcatRun(modern.env, ["-b", b.bootstrap, "-L", "-J", "-t", topic])).stdout,
  );
  assertEquals(one.topics.length, 1);
  assertEquals(
    one.topics[0].partitions.map((p: { partition: number; leader: number }) => [
      p.partition,
      p.leader,
    ]).sort(),
    [[0, 1], [1, 1], [2, 1]],
  );
});

for (const codec of ["none", "gzip", "snappy", "lz4", "zstd"]) {
  interopTest(kcat, `round trip with keys and headers, compression ${codec}`, async () => {
    const b = await proxied();
    const topic = uniqueTopic(`modern-kcat-rt-${codec}`);
    // 40 records over 8 keys, one null value; values long enough for every codec to pay off.
    const sent = Array.from({ length: 40 }, (_, i) => ({
      key: `key-${i % 8}`,
      value: i === 7 ? null : `value-${i}-${codec}-${"x".repeat(i * 11)}`,
    }));
    await kcatRun(
      modern.env,
      [
        "-b",
        b.bootstrap,
        "-P",
        "-t",
        topic,
        "-K",
        ":",
        "-Z",
        "-H",
        "trace=abc-123",
        "-H",
        "empty=",
        "-X",
        `compression.codec=${codec}`,
        "-X",
        "linger.ms=100",
      ],
      sent.map((r) => `${r.key}:${r.value ?? ""}`).join("\n") + "\n",
    );
    const got = jsonLines<KcatMessage>(
      (await kcatRun(modern.env, [
        "-b",
        b.bootstrap,
        "-C",
        "-t",
        topic,
        "-J",
        "-X",
        "check.crcs=true",
        "-o",
        "beginning",
        "-e",
      ])).stdout,
    );
    assertEquals(got.length, sent.length);
    const codecs = new Set<string>();
    for (let p = 0; p < PARTITIONS; p++) {
      // librdkafka's consistent_random: CRC-32 of the key modulo the partition count
      const want = sent.filter((r) => crc32(new TextEncoder().encode(r.key)) % PARTITIONS === p);
      const msgs = got.filter((m) => m.partition === p);
      assertEquals(
        msgs.map((m) => [m.offset, m.key, m.payload, m.headers]),
        want.map((r, i) => [i, r.key, r.value, ["trace", "abc-123", "empty", ""]]),
        `partition ${p}`,
      );
      if (want.length === 0) continue;
      for (const batch of await storedBatches(b.broker.dataDir, topic, p)) {
        codecs.add(batch.compression);
      }
    }
    // librdkafka keeps a batch uncompressed when compressing does not shrink it
    assert(
      codecs.has(codec) && [...codecs].every((c) => c === codec || c === "none"),
      [
        ...codecs,
      ].join(),
    );
  });
}

interopTest(kcat, "idempotent producer: one producer id, sequences from 0", async () => {
  const b = await proxied();
  const topic = uniqueTopic("modern-kcat-idem");
  const lines = Array.from({ length: 200 }, (_, i) => `idem-${i}`);
  await kcatRun(modern.env, [
    "-b",
    b.bootstrap,
    "-P",
    "-t",
    topic,
    "-p",
    "0",
    "-X",
    "enable.idempotence=true",
    "-X",
    "batch.num.messages=25",
    "-X",
    "linger.ms=5",
  ], lines.join("\n") + "\n");
  const got = jsonLines<KcatMessage>(
    (await kcatRun(modern.env, [
      "-b",
      b.bootstrap,
      "-C",
      "-t",
      topic,
      "-p",
      "0",
      "-J",
      "-o",
      "beginning",
      "-e",
    ])).stdout,
  );
  assertEquals(got.map((m) => [m.offset, m.payload]), lines.map((l, i) => [i, l]));
  const batches = await storedBatches(b.broker.dataDir, topic, 0);
  assert(batches.length > 1, `${batches.length} batches`);
  const ids = new Set(batches.map((x) => `${x.producerId}/${x.producerEpoch}`));
  assertEquals(ids.size, 1, [...ids].join());
  assert(batches[0].producerId >= 0);
  // A new idempotent producer numbers a partition's records from 0, so sequence = offset here.
  for (const x of batches) assertEquals(x.baseSequence, x.baseOffset);
});

interopTest(kcat, "consumer group (-G) commits, and a new member resumes after them", async () => {
  const b = await proxied();
  const topic = uniqueTopic("modern-kcat-group");
  const group = `${topic}-g`;
  const produce = (from: number, n: number) =>
    kcatRun(
      modern.env,
      ["-b", b.bootstrap, "-P", "-t", topic, "-K", ":"],
      Array.from({ length: n }, (_, i) => `k${(from + i) % 5}:v${from + i}`).join("\n") + "\n",
    );
  // Not -o beginning: in -G mode kcat assigns every partition from there, ignoring commits.
  const consume = async (n: number) =>
    jsonLines<KcatMessage>(
      (await kcatRun(
        modern.env,
        [
          "-b",
          b.bootstrap,
          "-G",
          group,
          "-X",
          "auto.offset.reset=earliest",
          "-c",
          String(n),
          "-e",
          "-J",
          topic,
        ],
        undefined,
        60_000,
      )).stdout,
    ).map((m) => m.payload).sort();
  await produce(0, 12);
  assertEquals(await consume(12), Array.from({ length: 12 }, (_, i) => `v${i}`).sort());
  await produce(12, 6);
  assertEquals(await consume(6), Array.from({ length: 6 }, (_, i) => `v${12 + i}`).sort());
});

// ---- confluent-kafka 1.7.0 on librdkafka 2.15.1: the whole Python client suite ----

const confluentScript: ClientScript = { file: "confluent_client.py", env: modern.env };
definePythonClientTests(confluent, {
  script: confluentScript,
  codecs: ["none", "gzip", "snappy", "lz4", "zstd"],
  compression: (codec) => ({ "compression.type": codec }),
  murmur2: { "partitioner": "murmur2_random" },
  bigProducer: { "message.max.bytes": 4194304 },
  bigConsumer: {
    "fetch.message.max.bytes": 4194304,
    "fetch.max.bytes": 4194304,
    "receive.message.max.bytes": 8388608,
  },
  longPoll: { "fetch.wait.max.ms": 60000, "socket.timeout.ms": 90000 },
  acks0: { "acks": 0 },
  pipelined: { "batch.num.messages": 20, "linger.ms": 0, "max.in.flight": 10 },
  idempotent: { "enable.idempotence": true },
  noOffset: { offset: -1 },
}, broker);

interopTest(confluent, "transactions: commit visible to read_committed, abort not", async () => {
  const { bootstrap } = await broker();
  const topic = uniqueTopic("modern-confluent-txn");
  const txn: ClientScript = { file: "confluent_txn_client.py", env: modern.env };
  await runClientScript(txn, "transactions", {
    bootstrap,
    topic,
    transactional_id: `tid-${topic}`,
    transactions: [
      { values: ["c1", "c2"], commit: true },
      { values: ["a1"], commit: false },
      { values: ["c3"], commit: true },
    ],
  }, 60_000);
  const read = async (isolation: string, count: number) =>
    (await runClientScript<{ records: { offset: number; value: string }[] }>(txn, "consume", {
      bootstrap,
      topic,
      isolation,
      count,
      idle_ms: 1500,
    }, 60_000)).records.map((r) => [r.offset, r.value]);
  // Offsets: c1 0, c2 1, COMMIT 2, a1 3, ABORT 4, c3 5, COMMIT 6.
  assertEquals(await read("read_committed", 3), [[0, "c1"], [1, "c2"], [5, "c3"]]);
  assertEquals(await read("read_uncommitted", 4), [[0, "c1"], [1, "c2"], [3, "a1"], [5, "c3"]]);
});

// ---- librdkafka's consumer-group Admin API, on 2.0.2 and on 2.15.1 ----

interface Listed {
  group: string;
  state: string;
  simple: boolean;
}
interface Described {
  error: string | null;
  state: string;
  simple: boolean;
  coordinator: number;
  members: { client_id: string; host: string; assignment: [string, number][] }[];
}
interface GroupOffsets {
  error: string | null;
  offsets: { topic: string; partition: number; offset: number; error: string | null }[];
}

for (const { program, env, kcat: groupKcat } of admins) {
  const req = allOf(program.requirement, groupKcat);
  const admin = async <T>(bootstrap: string, ...args: string[]): Promise<T> => {
    const r = await runCommand(program.path!, [bootstrap, ...args], { timeoutMs: 40_000 });
    const last = r.stdout.trim().split("\n").pop() ?? "";
    let answer: T & { error?: string };
    try {
      answer = JSON.parse(last);
    } catch {
      throw new Error(`rdkafka_admin ${args.join(" ")}: exit ${r.code}, no JSON\n${r.stderr}`);
    }
    if (r.code !== 0) throw new Error(`rdkafka_admin ${args.join(" ")}: ${answer.error}`);
    return answer;
  };
  const offsets = (o: GroupOffsets) =>
    o.offsets.map((x) => [x.partition, x.offset, x.error]).sort((a, b) =>
      (a[0] as number) - (b[0] as number)
    );

  interopTest(
    req,
    "ListConsumerGroups, DescribeConsumerGroups, list/alter/delete group offsets, DeleteGroups",
    async () => {
      const b = await proxied();
      const topic = uniqueTopic(`modern-admin-${program.version}`);
      const group = `${topic}-g`;
      for (let p = 0; p < PARTITIONS; p++) {
        await kcatRun(env, ["-b", b.bootstrap, "-P", "-t", topic, "-p", String(p)], "a\nb\nc\n");
      }
      await kcatRun(
        env,
        [
          "-b",
          b.bootstrap,
          "-G",
          group,
          "-X",
          "auto.offset.reset=earliest",
          "-c",
          "9",
          "-e",
          topic,
        ],
        undefined,
        60_000,
      );

      const listed = await admin<{ groups: Listed[]; errors: string[] }>(
        b.bootstrap,
        "list_groups",
      );
      assertEquals(listed.errors, []);
      assertEquals(listed.groups.filter((g) => g.group === group), [
        { group, state: "Empty", simple: false },
      ]);
      const described = await admin<{ groups: Record<string, Described> }>(
        b.bootstrap,
        "describe_groups",
        group,
      );
      assertEquals(
        { ...described.groups[group], assignor: undefined },
        {
          error: null,
          state: "Empty",
          simple: false,
          assignor: undefined,
          coordinator: 1,
          members: [],
        },
      );

      const all = await admin<GroupOffsets>(b.bootstrap, "list_offsets", group);
      assertEquals([all.error, offsets(all)], [null, [[0, 3, null], [1, 3, null], [2, 3, null]]]);
      const one = await admin<GroupOffsets>(b.bootstrap, "list_offsets", group, `${topic}:1`);
      assertEquals(offsets(one), [[1, 3, null]]);

      const altered = await admin<GroupOffsets>(
        b.bootstrap,
        "alter_offsets",
        group,
        `${topic}:0:1`,
      );
      assertEquals([altered.error, offsets(altered)], [null, [[0, 1, null]]]);
      const deleted = await admin<GroupOffsets>(b.bootstrap, "delete_offsets", group, `${topic}:2`);
      assertEquals([deleted.error, deleted.offsets.map((x) => [x.partition, x.error])], [null, [[
        2,
        null,
      ]]]);
      assertEquals(offsets(await admin<GroupOffsets>(b.bootstrap, "list_offsets", group)), [
        [0, 1, null],
        [1, 3, null],
      ]);

      // A live member: listed and described as Stable with its assignment; the group cannot be
      // deleted while it is there.
      const live = `${topic}-live`;
      const member = new Deno.Command("kcat", {
        args: ["-b", b.bootstrap, "-G", live, "-q", topic],
        env,
        stdin: "null",
        stdout: "null",
        stderr: "null",
      }).spawn();
      try {
        let d: Described | undefined;
        for (let i = 0; i < 60; i++) {
          d = (await admin<{ groups: Record<string, Described> }>(
            b.bootstrap,
            "describe_groups",
            live,
          )).groups[live];
          if (d.state === "Stable" && d.members.length === 1) break;
          await new Promise((r) => setTimeout(r, 500));
        }
        assertEquals([d!.error, d!.state, d!.members.length], [null, "Stable", 1]);
        assertEquals(d!.members[0].client_id, "rdkafka");
        assertEquals(d!.members[0].assignment.sort(), [[topic, 0], [topic, 1], [topic, 2]]);
        const now = await admin<{ groups: Listed[] }>(b.bootstrap, "list_groups");
        assertEquals(now.groups.filter((g) => g.group === live), [
          { group: live, state: "Stable", simple: false },
        ]);
        assertEquals(await admin(b.bootstrap, "delete_group", live), { error: "NON_EMPTY_GROUP" });
      } finally {
        try {
          member.kill("SIGTERM"); // kcat leaves the group on SIGTERM
        } catch {
          // already exited
        }
        const timer = setTimeout(() => {
          try {
            member.kill("SIGKILL");
          } catch {
            // exited meanwhile
          }
        }, 20_000);
        await member.status;
        clearTimeout(timer);
      }

      assertEquals(await admin(b.bootstrap, "delete_group", group), { error: null });
      const after = await admin<{ groups: Listed[] }>(b.bootstrap, "list_groups");
      assertEquals(after.groups.filter((g) => g.group === group), []);
      assertEquals(offsets(await admin<GroupOffsets>(b.bootstrap, "list_offsets", group)), []);
    },
  );

  if (program.version === MODERN_VERSION) {
    interopTest(req, "DescribeCluster", async () => {
      const b = await proxied();
      const d = await admin<{ cluster_id: string; controller: number; nodes: unknown[] }>(
        b.bootstrap,
        "describe_cluster",
      );
      assertEquals(d, {
        cluster_id: b.broker.broker.config.clusterId,
        controller: 1,
        nodes: [{ id: 1, host: "127.0.0.1", port: b.proxy.port }],
      });
    });
  }
}

// ---- what went over the wire ----

interopTest(
  kcat,
  "every request sent with bytes after its last field is a kind trailing_bytes_test replays",
  async () => {
    const b = await proxied();
    const fixtures: CapturedRequests = JSON.parse(await Deno.readTextFile(FIXTURE));
    const replayed = new Set(
      fixtures.requests.map((r) => `${r.api} v${r.apiVersion} +${r.trailingBytes}`),
    );
    assert(b.proxy.requests.length > 0, "no requests went through the proxy");
    const seen = new Map<string, number>();
    for (const r of b.proxy.requests) {
      const s = inspectRequest(r.frame);
      if (s.trailingBytes === 0) continue;
      const kind = `${s.name} v${s.apiVersion} +${s.trailingBytes}`;
      seen.set(kind, (seen.get(kind) ?? 0) + 1);
    }
    const unknown = [...seen.keys()].filter((k) => !replayed.has(k));
    assertEquals(unknown, [], `not in ${FIXTURE.pathname}: run capture_requests.ts`);
    assert(seen.has("Metadata v12 +3"), [...seen.keys()].join());
  },
);
