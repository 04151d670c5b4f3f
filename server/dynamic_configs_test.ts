// Copyright 2026 the Sluice authors. Apache-2.0 license.
// Dynamic broker configs (issue #12): AlterConfigs / IncrementalAlterConfigs on BROKER resources,
// per broker and as cluster default, persisted, shown by DescribeConfigs with their source, and
// in force on the live logs.

import { deepStrictEqual as assertEquals, ok, rejects } from "node:assert/strict";
import { Admin, Client, KafkaError, Producer } from "../client/mod.ts";
import { ErrorCode } from "../protocol/errors.ts";
import { AlterConfigsRequest, AlterConfigsResponse } from "../protocol/messages/alter_configs.ts";
import {
  DescribeConfigsRequest,
  DescribeConfigsResponse,
} from "../protocol/messages/describe_configs.ts";
import { Broker } from "./broker.ts";
import { DYNAMIC_CONFIGS_FILE, DynamicBrokerConfigs } from "./dynamic_configs.ts";
import { RawClient } from "./testing.ts";

Deno.test("DynamicBrokerConfigs: precedence, validation, persistence", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const dyn = await DynamicBrokerConfigs.open(dir, 7, { "retention.ms": "1000" });
    assertEquals(dyn.topicDefaults()["retention.ms"], "1000");
    await dyn.alter("default", { "log.retention.ms": "2000", "log.cleanup.policy": "compact" }, []);
    assertEquals(dyn.topicDefaults()["retention.ms"], "2000");
    await dyn.alter("broker", { "log.retention.ms": "3000" }, []);
    assertEquals(dyn.topicDefaults()["retention.ms"], "3000");
    assertEquals(dyn.layers("retention.ms").map((l) => [l.source, l.value]), [
      ["dynamic-broker", "3000"],
      ["dynamic-default", "2000"],
      ["static", "1000"],
    ]);
    await rejects(
      dyn.alter("broker", { "listeners": "PLAINTEXT://:1", "log.retention.ms": "1" }, []),
      (e: unknown) =>
        e instanceof KafkaError && e.code === ErrorCode.INVALID_REQUEST &&
        e.message.includes("Cannot update these configs dynamically: listeners"),
    );
    await rejects(
      dyn.alter("broker", { "log.retention.ms": "-7" }, []),
      (e: unknown) =>
        e instanceof KafkaError && e.code === ErrorCode.INVALID_CONFIG &&
        e.message.includes("must be at least -1"),
    );
    await dyn.alter("broker", {}, [], { replace: true, validateOnly: true });
    assertEquals(dyn.topicDefaults()["retention.ms"], "3000"); // validate only
    // a new instance reads what was saved
    const again = await DynamicBrokerConfigs.open(dir, 7, {});
    assertEquals(again.values("broker"), { "log.retention.ms": "3000" });
    assertEquals(again.values("default"), {
      "log.retention.ms": "2000",
      "log.cleanup.policy": "compact",
    });
    await again.alter("broker", {}, ["log.retention.ms"]);
    assertEquals(again.topicDefaults()["retention.ms"], "2000");
    // another node id on the same file does not see this node's values
    const other = await DynamicBrokerConfigs.open(dir, 8, {});
    assertEquals(other.values("broker"), {});
    await Deno.writeTextFile(`${dir}/${DYNAMIC_CONFIGS_FILE}`, "{ not json");
    await rejects(DynamicBrokerConfigs.open(dir, 7, {}), /cannot read .*sluice-dynamic-configs/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("dynamic broker configs over the wire: applied to live topics, described, kept across a restart", async () => {
  const dir = await Deno.makeTempDir();
  const start = () =>
    Broker.start({
      listeners: "PLAINTEXT://127.0.0.1:0",
      logDirs: [dir],
      logLevel: "silent",
      nodeId: 1,
      topicDefaults: { "retention.ms": "86400000" }, // as from server.properties
      groupInitialRebalanceDelayMs: 0,
    });
  let broker = await start();
  try {
    let client = new Client({ bootstrapServers: `127.0.0.1:${broker.port}` });
    try {
      const admin = new Admin(client);
      await admin.createTopics([
        { name: "plain", numPartitions: 1 },
        { name: "own", numPartitions: 1, configs: { "segment.bytes": "1073741824" } },
      ]);
      // cluster default (IncrementalAlterConfigs, resource "") and this broker (resource "1")
      await admin.alterConfigs([{
        type: "broker",
        name: "",
        changes: [{ name: "log.segment.bytes", value: "1048576" }],
      }]);
      await admin.alterConfigs([{
        type: "broker",
        name: "1",
        changes: [{ name: "log.retention.ms", value: "3600000" }],
      }]);
      await rejects(
        admin.alterConfigs([{
          type: "broker",
          name: "1",
          changes: [{ name: "num.partitions", value: "3" }],
        }]),
        (e: unknown) => e instanceof KafkaError && e.code === ErrorCode.INVALID_REQUEST,
      );
      const [plain] = await admin.describeConfigs([
        { type: "topic", name: "plain", keys: ["segment.bytes", "retention.ms"] },
      ]);
      assertEquals(plain.entries.map((e) => [e.name, e.value, e.source]), [
        ["retention.ms", "3600000", "DYNAMIC_BROKER_CONFIG"],
        ["segment.bytes", "1048576", "DYNAMIC_DEFAULT_BROKER_CONFIG"],
      ]);
      // in force: 3 MiB into "plain" rolls 1 MiB segments; "own" keeps its override
      const producer = new Producer(client);
      const value = new Uint8Array(100_000).fill(7);
      for (let i = 0; i < 30; i++) {
        await producer.send({ topic: "plain", messages: [{ value }] });
        await producer.send({ topic: "own", messages: [{ value }] });
      }
      const segments = (topic: string) =>
        [...Deno.readDirSync(`${dir}/${topic}-0`)].filter((e) => e.name.endsWith(".log")).length;
      ok(segments("plain") >= 3, `plain has ${segments("plain")} segments`);
      assertEquals(segments("own"), 1);
    } finally {
      client.close();
    }
    await broker.close();
    broker = await start();
    client = new Client({ bootstrapServers: `127.0.0.1:${broker.port}` });
    const raw = await RawClient.connect(broker.port);
    try {
      const res = await raw.request(DescribeConfigsRequest, DescribeConfigsResponse, 4, {
        resources: [
          { resourceType: 4, resourceName: "1", configurationKeys: ["log.retention.ms"] },
          { resourceType: 4, resourceName: "", configurationKeys: null },
        ],
        includeSynonyms: true,
      });
      const [mine, cluster] = res.results;
      assertEquals(
        mine.configs.map((c) => [c.name, c.value, c.configSource, c.readOnly]),
        [["log.retention.ms", "3600000", 2, false]],
      );
      assertEquals(mine.configs[0].synonyms.map((s) => [s.name, s.value, s.source]), [
        ["log.retention.ms", "3600000", 2],
        ["log.retention.ms", "86400000", 4],
        ["log.retention.ms", "604800000", 5],
      ]);
      assertEquals(cluster.configs.map((c) => [c.name, c.value, c.configSource]), [
        ["log.segment.bytes", "1048576", 3],
      ]);
      // legacy AlterConfigs replaces the whole set of this broker's dynamic configs
      const alt = await raw.request(AlterConfigsRequest, AlterConfigsResponse, 1, {
        resources: [{
          resourceType: 4,
          resourceName: "1",
          configs: [{ name: "log.retention.bytes", value: "123456789" }],
        }],
      });
      assertEquals(alt.responses[0].errorCode, 0);
      const [plain] = await new Admin(client).describeConfigs([
        { type: "topic", name: "plain", keys: ["retention.bytes", "retention.ms"] },
      ]);
      assertEquals(plain.entries.map((e) => [e.name, e.value, e.source]), [
        ["retention.bytes", "123456789", "DYNAMIC_BROKER_CONFIG"],
        ["retention.ms", "86400000", "STATIC_BROKER_CONFIG"],
      ]);
      const other = await raw.request(AlterConfigsRequest, AlterConfigsResponse, 1, {
        resources: [{ resourceType: 4, resourceName: "2", configs: [] }],
      });
      assertEquals(other.responses[0].errorCode, ErrorCode.INVALID_REQUEST);
    } finally {
      raw.close();
      client.close();
    }
  } finally {
    await broker.close();
    await Deno.remove(dir, { recursive: true });
  }
});
