// Copyright 2026 the Sluice authors. Apache-2.0 license.
// The handler table (issue #17): a started broker has loaded no handler but ApiVersions, still
// advertises every API, and loads each handler at its API's first request, so a client's whole
// life (create, produce idempotently and transactionally, consume in a group, commit) works
// against a broker that has just started. A handler that cannot be loaded closes the requesting
// connection only, with an error logged, and loads at a later request.

import { deepStrictEqual as assertEquals, ok } from "node:assert/strict";
import { Admin } from "../../client/admin.ts";
import { Client } from "../../client/client.ts";
import { GroupConsumer } from "../../client/group_consumer.ts";
import { Producer } from "../../client/producer.ts";
import { ApiKey } from "../../protocol/api_keys.ts";
import { ApiVersionsRequest, ApiVersionsResponse } from "../../protocol/messages/api_versions.ts";
import { MetadataRequest, MetadataResponse } from "../../protocol/messages/metadata.ts";
import { ListGroupsRequest, ListGroupsResponse } from "../../protocol/messages/list_groups.ts";
import { OffsetFetchRequest, OffsetFetchResponse } from "../../protocol/messages/offset_fetch.ts";
import {
  OffsetCommitRequest,
  OffsetCommitResponse,
} from "../../protocol/messages/offset_commit.ts";
import {
  SaslHandshakeRequest,
  SaslHandshakeResponse,
} from "../../protocol/messages/sasl_handshake.ts";
import {
  DescribeUserScramCredentialsRequest,
  DescribeUserScramCredentialsResponse,
} from "../../protocol/messages/describe_user_scram_credentials.ts";
import {
  GetTelemetrySubscriptionsRequest,
  GetTelemetrySubscriptionsResponse,
} from "../../protocol/messages/get_telemetry_subscriptions.ts";
import { ErrorCode } from "../../protocol/errors.ts";
import { ZERO_UUID } from "../../protocol/primitives.ts";
import { createTopic, RawClient, startTestBroker } from "../testing.ts";
import { APIS } from "./mod.ts";
import { API_TABLE } from "./table.ts";

Deno.test("the handler table advertises exactly its handlers' names and version ranges", () => {
  assertEquals(
    API_TABLE.map((e) => [e.key, e.name, e.minVersion, e.maxVersion]),
    APIS.map((a) => [a.key, a.name, a.minVersion, a.maxVersion]),
  );
  ok(API_TABLE.every((e, i) => i === 0 || API_TABLE[i - 1].key < e.key));
});

Deno.test("a started broker answers ApiVersions with every API and loads none of them", async () => {
  await using t = await startTestBroker();
  const c = await RawClient.connect(t.broker.port);
  try {
    const res = await c.request(ApiVersionsRequest, ApiVersionsResponse, 3, {
      clientSoftwareName: "sluice-test",
      clientSoftwareVersion: "1",
    });
    assertEquals(res.errorCode, 0);
    assertEquals(
      res.apiKeys.map((k) => [k.apiKey, k.minVersion, k.maxVersion]),
      API_TABLE.map((e) => [e.key, e.minVersion, e.maxVersion]),
    );
    assertEquals(t.broker.loadedApis, [ApiKey.ApiVersions]);
    // two first requests of one API at once: one load, both answered
    const [a, b] = await Promise.all([
      c.request(MetadataRequest, MetadataResponse, 12, { topics: [] }),
      RawClient.connect(t.broker.port).then(async (d) => {
        try {
          return await d.request(MetadataRequest, MetadataResponse, 12, { topics: [] });
        } finally {
          d.close();
        }
      }),
    ]);
    assertEquals([a.brokers.length, b.brokers.length], [1, 1]);
    assertEquals(t.broker.loadedApis, [ApiKey.Metadata, ApiKey.ApiVersions]);
  } finally {
    c.close();
  }
});

Deno.test("a client's whole life works against a broker that has just started", async () => {
  await using t = await startTestBroker({ transactionStateLogNumPartitions: 1 });
  const client = new Client({ bootstrapServers: `127.0.0.1:${t.broker.port}`, retryBackoffMs: 20 });
  try {
    const admin = new Admin(client);
    await admin.createTopics([{ name: "lazy", numPartitions: 2 }]);
    const producer = new Producer(client); // idempotent: InitProducerId
    await producer.send({ topic: "lazy", messages: [{ value: "a" }, { value: "b" }] });
    await producer.close();
    const txn = new Producer(client, { transactionalId: "lazy-tx" });
    await txn.initTransactions();
    txn.beginTransaction();
    await txn.send({ topic: "lazy", messages: [{ value: "c" }] });
    await txn.commitTransaction();
    await txn.close();
    const consumer = new GroupConsumer(client, {
      groupId: "lazy-g",
      autoCommit: false,
      autoOffsetReset: "earliest",
      isolationLevel: "read_committed",
    });
    try {
      consumer.subscribe(["lazy"]);
      const got: string[] = [];
      for (let i = 0; i < 100 && got.length < 3; i++) {
        for (const r of await consumer.poll({ maxWaitMs: 100 })) {
          got.push(new TextDecoder().decode(r.value!));
        }
      }
      assertEquals(got.sort(), ["a", "b", "c"]);
      await consumer.commit();
    } finally {
      await consumer.close();
    }
    const offsets = await admin.listConsumerGroupOffsets("lazy-g");
    assertEquals(offsets.reduce((n, o) => n + o.offset, 0), 4); // 3 records + 1 marker
    for (
      const api of [
        "CreateTopics",
        "Metadata",
        "InitProducerId",
        "Produce",
        "FindCoordinator",
        "AddPartitionsToTxn",
        "EndTxn",
        "JoinGroup",
        "SyncGroup",
        "Fetch",
        "OffsetCommit",
        "OffsetFetch",
      ] as const
    ) ok(t.broker.loadedApis.includes(ApiKey[api]), `${api} loaded`);
    assertEquals(t.lines.filter((l) => l.startsWith("ERROR")), []);
  } finally {
    await client.close();
  }
});

Deno.test("a handler that cannot be loaded closes that connection only, and loads later", async () => {
  await using t = await startTestBroker();
  const entry = API_TABLE.find((e) => e.key === ApiKey.Metadata)! as { load: () => unknown };
  const load = entry.load;
  entry.load = () => Promise.reject(new Error("Module not found: metadata.ts"));
  const c = await RawClient.connect(t.broker.port);
  const other = await RawClient.connect(t.broker.port);
  try {
    await c.send(MetadataRequest, 12, { topics: [] });
    await c.expectClosed();
    ok(
      t.lines.some((l) =>
        l === "ERROR Cannot load the Metadata handler: Module not found: metadata.ts"
      ),
      t.lines.join("\n"),
    );
    // the broker and its other connections go on
    const v = await other.request(ApiVersionsRequest, ApiVersionsResponse, 0, {});
    assertEquals(v.errorCode, 0);
    entry.load = load;
    const m = await other.request(MetadataRequest, MetadataResponse, 12, { topics: [] });
    assertEquals(m.brokers.length, 1);
  } finally {
    entry.load = load;
    c.close();
    other.close();
  }
});

/** The modules `sluice broker` imports at start: `cli/broker.ts`'s static graph. */
function startGraph(): Promise<string[]> {
  return staticGraph("../../cli/broker.ts");
}

/** The static graph of a module (`deno info`, dynamic imports left out), relative to this file. */
async function staticGraph(path: string): Promise<string[]> {
  const entry = new URL(path, import.meta.url).href;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", entry],
    stdout: "piped",
  }).output();
  ok(out.success, "deno info");
  const info = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    modules: { specifier: string; dependencies?: { code?: { specifier: string } }[] }[];
  };
  // the static graph: dynamic imports (`isDynamic`) are what loads later
  const bySpecifier = new Map(info.modules.map((m) => [m.specifier, m]));
  const seen = new Set<string>();
  const stack = [entry];
  while (stack.length > 0) {
    const s = stack.pop()!;
    if (seen.has(s)) continue;
    seen.add(s);
    for (const d of bySpecifier.get(s)?.dependencies ?? []) {
      if (!(d as { isDynamic?: boolean }).isDynamic && d.code) stack.push(d.code.specifier);
    }
  }
  return [...seen];
}

Deno.test("sluice broker imports no handler, codec or unconfigured part at start", async () => {
  const seen = await startGraph();
  const root = new URL("../../", import.meta.url).href;
  const ours = [...seen].map((s) => s.slice(root.length));
  assertEquals(ours.filter((s) => s.startsWith("server/apis/")).sort(), [
    "server/apis/api_versions.ts",
    "server/apis/table.ts",
  ]);
  const codecs = ours.filter((s) => s.startsWith("protocol/messages/")).sort();
  ok(!codecs.includes("protocol/messages/produce.ts"), codecs.join(", "));
  ok(!codecs.includes("protocol/messages/fetch.ts"), codecs.join(", "));
  for (
    const lazy of [
      "server/http/admin_server.ts",
      "server/http/console.ts",
      "server/cluster/cluster.ts",
      "server/replica_manager.ts",
      "server/txn/verification.ts",
      // cluster mode's marker sender and its inter-broker connections, the ACL authorizer
      "server/txn/markers.ts",
      "server/broker_connection.ts",
      "server/security/authorizer.ts",
      "protocol/apis.ts",
      // opened at their first use when there is nothing to replay (issue #17, fifth pass)
      "server/group/coordinator.ts",
      "server/group/open_group_coordinator.ts",
      "server/group/group.ts",
      "server/txn/coordinator.ts",
      "server/txn/open_transaction_coordinator.ts",
      "server/internal_topic.ts",
      // SASL and SCRAM without a SASL listener
      "server/security/sasl.ts",
      "server/security/scram_credentials.ts",
      "protocol/scram.ts",
      // TLS without a TLS listener or ssl.* settings
      "server/security/tls.ts",
      "server/security/ssl_principal.ts",
      // the metrics collection without the admin listener
      "server/http/collect.ts",
      // KIP-714 client metrics without subscriptions on disk: at the first telemetry request
      "server/client_metrics.ts",
      "server/otlp.ts",
      "server/otlp_forward.ts",
      // the legacy message formats (v0/v1) and their CRC-32: the engine imports leaf modules
      "records/mod.ts",
      "records/legacy.ts",
      "records/crc32.ts",
    ]
  ) ok(!ours.includes(lazy), `${lazy} is imported at start`);
});

Deno.test("sluice broker's start-up modules are Latin-1 (V8 keeps their source one byte a char)", async () => {
  // V8 stores a module's source, which Deno hands it with an inline source map, two bytes a
  // character if one character is beyond U+00FF: escape it in strings ("\u2026"), write "->",
  // "<=", ">=", "-" or "..." in comments (issue #17: 1.9 MiB of idle RSS for 37 modules' arrows)
  const root = new URL("../../", import.meta.url).href;
  const wide: string[] = [];
  for (const s of await startGraph()) {
    if (!s.startsWith(root)) continue;
    const lines = (await Deno.readTextFile(new URL(s))).split("\n");
    lines.forEach((line, i) => {
      const c = [...line].find((ch) => ch.codePointAt(0)! > 0xff);
      if (c) wide.push(`${s.slice(root.length)}:${i + 1}: ${JSON.stringify(c)}`);
    });
  }
  assertEquals(wide, []);
});

Deno.test("every handler that reads a part opened at first use says so in the table", async () => {
  // a handler reads `groups` (or SASL, the SCRAM credentials) as it serves: without `needs` its
  // first request would find them absent on a broker that has not opened them yet
  const reads: [RegExp, string][] = [
    [/groupCoordinatorOf\(|broker\.groups\b|writeLocalMarkers\(/, "coordinators"],
    [/broker\.sasl\b|broker\.scramCredentials\b/, "sasl"],
    [/broker\.clientMetrics\b/, "clientMetrics"],
  ];
  const wrong: string[] = [];
  for (const e of API_TABLE) {
    const file = e.name.replace(/[A-Z]/g, (c, i) => (i === 0 ? "" : "_") + c.toLowerCase());
    const source = await Deno.readTextFile(new URL(`./${file}.ts`, import.meta.url));
    // the config APIs open client metrics themselves, only for CLIENT_METRICS resources
    const opensItself = /await clientMetricsLoading\(/.test(source);
    const needs = reads.filter(([re, part]) =>
      re.test(source) && !(opensItself && part === "clientMetrics")
    )
      .map(([, part]) => part);
    ok(needs.length <= 1, `${e.name} reads ${needs}`);
    if (needs[0] !== e.needs) wrong.push(`${e.name}: reads ${needs[0]}, table says ${e.needs}`);
  }
  assertEquals(wrong, []);
});

Deno.test("a fresh broker opens its coordinators, SASL and client metrics at the first request that needs them", async () => {
  await using t = await startTestBroker();
  const opened = (what: string) => t.lines.filter((l) => l.startsWith(`INFO ${what} loaded`));
  assertEquals([opened("Group coordinator"), opened("Transaction coordinator")], [[], []]);
  const c = await RawClient.connect(t.broker.port);
  const d = await RawClient.connect(t.broker.port);
  try {
    // two first requests needing the coordinators at once: one opening, both answered
    const [list, fetched] = await Promise.all([
      c.request(ListGroupsRequest, ListGroupsResponse, 4, { statesFilter: [] }),
      d.request(OffsetFetchRequest, OffsetFetchResponse, 7, {
        groupId: "g",
        topics: null,
        requireStable: false,
      }),
    ]);
    assertEquals([list.errorCode, list.groups, fetched.errorCode], [0, [], 0]);
    assertEquals(opened("Group coordinator").length, 1);
    assertEquals(opened("Transaction coordinator").length, 1);
    // SASL on a PLAINTEXT listener: answered as before, from SASL opened at this request
    const hs = await c.request(SaslHandshakeRequest, SaslHandshakeResponse, 1, {
      mechanism: "PLAIN",
    });
    assertEquals(hs.errorCode, ErrorCode.ILLEGAL_SASL_STATE);
    const users = await d.request(
      DescribeUserScramCredentialsRequest,
      DescribeUserScramCredentialsResponse,
      0,
      { users: null },
    );
    assertEquals([users.errorCode, users.results], [0, []]);
    // client metrics (KIP-714), not opened at start without subscriptions on disk: the first
    // GetTelemetrySubscriptions opens them and gets an instance id of the manager's making
    const sub = await c.request(
      GetTelemetrySubscriptionsRequest,
      GetTelemetrySubscriptionsResponse,
      0,
      { clientInstanceId: ZERO_UUID },
    );
    assertEquals(sub.errorCode, 0);
    ok(sub.clientInstanceId !== ZERO_UUID, "an instance id was assigned");
  } finally {
    c.close();
    d.close();
  }
  assertEquals(t.lines.filter((l) => l.startsWith("ERROR")), []);
});

Deno.test("a broker with __consumer_offsets to replay opens its coordinators at start", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sluice-table-test-" });
  try {
    {
      // closed, not disposed: disposing removes the data dir
      const t = await startTestBroker({ logDirs: [dir] });
      const c = await RawClient.connect(t.broker.port);
      try {
        await createTopic(c, "t", 1);
        const res = await c.request(OffsetCommitRequest, OffsetCommitResponse, 8, {
          groupId: "kept",
          generationIdOrMemberEpoch: -1,
          memberId: "",
          groupInstanceId: null,
          retentionTimeMs: -1,
          topics: [{
            name: "t",
            partitions: [{
              partitionIndex: 0,
              committedOffset: 0,
              committedLeaderEpoch: -1,
              commitTimestamp: -1,
              committedMetadata: null,
            }],
          }],
        });
        assertEquals(res.topics[0].partitions[0].errorCode, 0);
      } finally {
        c.close();
        await t.broker.close();
      }
    }
    await using t = await startTestBroker({ logDirs: [dir] });
    ok(
      t.lines.some((l) => l.startsWith("INFO Group coordinator loaded ")),
      t.lines.join("\n"),
    );
    const c = await RawClient.connect(t.broker.port);
    try {
      const list = await c.request(ListGroupsRequest, ListGroupsResponse, 4, { statesFilter: [] });
      assertEquals(list.groups.map((g) => g.groupId), ["kept"]);
    } finally {
      c.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});

Deno.test("a plain producer's and an assigning consumer's handlers import no coordinator", async () => {
  // Metadata, InitProducerId without a transactional id, Produce without transactional batches,
  // Fetch, ListOffsets, CreateTopics: the coordinators and their topics' machinery load with the
  // first request that needs them, not with these
  const root = new URL("../../", import.meta.url).href;
  for (
    const api of [
      "metadata",
      "init_producer_id",
      "produce",
      "fetch",
      "list_offsets",
      "create_topics",
      "find_coordinator",
    ]
  ) {
    const ours = (await staticGraph(`./${api}.ts`)).map((s) => s.slice(root.length));
    const loaded = ours.filter((s) =>
      s.startsWith("server/group/") || s === "server/internal_topic.ts" ||
      (s.startsWith("server/txn/") && s !== "server/txn/coordinator_of.ts") ||
      s === "records/legacy.ts"
    );
    assertEquals(loaded, [], `${api}.ts imports ${loaded}`);
  }
});
