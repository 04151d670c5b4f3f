// Copyright 2026 the Sluice authors. Apache-2.0 license.
import { deepStrictEqual as assertEquals, ok } from "node:assert/strict";
import { ErrorCode } from "../../protocol/errors.ts";
import { MetadataRequest, MetadataResponse } from "../../protocol/messages/metadata.ts";
import {
  FindCoordinatorRequest,
  FindCoordinatorResponse,
} from "../../protocol/messages/find_coordinator.ts";
import {
  DescribeClusterRequest,
  DescribeClusterResponse,
} from "../../protocol/messages/describe_cluster.ts";
import { createTopic, NO_TOPIC_ID, RawClient, startTestBroker } from "../testing.ts";

const named = (...names: string[]) => names.map((name) => ({ name, topicId: NO_TOPIC_ID }));

Deno.test("Metadata: brokers, controller, cluster id and partitions led by us", async () => {
  await using t = await startTestBroker({ nodeId: 7, numPartitions: 3 });
  const c = await RawClient.connect(t.broker.port);
  try {
    const id = await createTopic(c, "alpha", 2);
    const res = await c.request(MetadataRequest, MetadataResponse, 12, {
      topics: named("alpha"),
      allowAutoTopicCreation: false,
    });
    assertEquals(res.brokers, [{ nodeId: 7, host: "127.0.0.1", port: t.broker.port, rack: null }]);
    assertEquals(res.controllerId, 7);
    assertEquals(res.clusterId, t.broker.config.clusterId);
    assertEquals(res.clusterId!.length, 22);
    const topic = res.topics[0];
    assertEquals([topic.errorCode, topic.name, topic.topicId, topic.isInternal], [
      0,
      "alpha",
      id,
      false,
    ]);
    assertEquals(
      topic.partitions.map((p) => [p.partitionIndex, p.leaderId, p.replicaNodes, p.isrNodes]),
      [[0, 7, [7], [7]], [1, 7, [7], [7]]],
    );
    // Every version decodes and reports the same topic.
    for (let v = 0; v <= 12; v++) {
      const r = await c.request(MetadataRequest, MetadataResponse, v, { topics: named("alpha") });
      assertEquals([r.topics[0].name, r.topics[0].partitions.length], ["alpha", 2], `v${v}`);
    }
  } finally {
    c.close();
  }
});

Deno.test("Metadata: null topics lists all (v1+); empty lists all only in v0", async () => {
  await using t = await startTestBroker();
  const c = await RawClient.connect(t.broker.port);
  try {
    await createTopic(c, "b-topic");
    await createTopic(c, "a-topic");
    const all = await c.request(MetadataRequest, MetadataResponse, 12, { topics: null });
    assertEquals(all.topics.map((x) => [x.name, x.isInternal]), [
      ["a-topic", false],
      ["b-topic", false],
    ]);
    const none = await c.request(MetadataRequest, MetadataResponse, 12, { topics: [] });
    assertEquals(none.topics, []);
    const v0 = await c.request(MetadataRequest, MetadataResponse, 0, { topics: [] });
    assertEquals(v0.topics.map((x) => x.name), ["a-topic", "b-topic"]);
  } finally {
    c.close();
  }
});

Deno.test("Metadata: auto-creation follows the broker setting and allow_auto_topic_creation", async () => {
  {
    await using t = await startTestBroker({ numPartitions: 4 });
    const c = await RawClient.connect(t.broker.port);
    try {
      const refused = await c.request(MetadataRequest, MetadataResponse, 12, {
        topics: named("lazy"),
        allowAutoTopicCreation: false,
      });
      assertEquals(refused.topics[0].errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
      const created = await c.request(MetadataRequest, MetadataResponse, 12, {
        topics: named("lazy"),
        allowAutoTopicCreation: true,
      });
      assertEquals(created.topics[0].errorCode, 0);
      assertEquals(created.topics[0].partitions.length, 4);
      ok(created.topics[0].topicId !== NO_TOPIC_ID);
      // Before v4 there is no flag: auto-creation is always requested.
      const v1 = await c.request(MetadataRequest, MetadataResponse, 1, { topics: named("old") });
      assertEquals(v1.topics[0].partitions.length, 4);
      ok(t.lines.some((l) => l === "INFO Auto-created topic lazy with 4 partition(s)"));
    } finally {
      c.close();
    }
  }
  {
    await using t = await startTestBroker({ autoCreateTopicsEnable: false });
    const c = await RawClient.connect(t.broker.port);
    try {
      const res = await c.request(MetadataRequest, MetadataResponse, 12, {
        topics: named("lazy"),
        allowAutoTopicCreation: true,
      });
      assertEquals(res.topics[0].errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
      const all = await c.request(MetadataRequest, MetadataResponse, 12, { topics: null });
      assertEquals(all.topics, []);
    } finally {
      c.close();
    }
  }
});

Deno.test("Metadata: invalid names, lookups by topic id and unknown ids", async () => {
  await using t = await startTestBroker();
  const c = await RawClient.connect(t.broker.port);
  try {
    const id = await createTopic(c, "known");
    const res = await c.request(MetadataRequest, MetadataResponse, 12, {
      topics: [
        { name: "bad name!", topicId: NO_TOPIC_ID },
        { name: "x".repeat(250), topicId: NO_TOPIC_ID },
        { name: null, topicId: id },
        { name: null, topicId: "AAAAAAAAAAAAAAAAAAAAAQ" },
      ],
      allowAutoTopicCreation: true,
    });
    assertEquals(
      res.topics.map((x) => [x.errorCode, x.name]),
      [
        [ErrorCode.INVALID_TOPIC_EXCEPTION, "bad name!"],
        [ErrorCode.INVALID_TOPIC_EXCEPTION, "x".repeat(250)],
        [0, "known"],
        [ErrorCode.UNKNOWN_TOPIC_ID, null],
      ],
    );
  } finally {
    c.close();
  }
});

Deno.test("Metadata: advertised listener is what clients are told", async () => {
  await using t = await startTestBroker({ advertisedListeners: "PLAINTEXT://kafka.example:19092" });
  const c = await RawClient.connect(t.broker.port);
  try {
    const res = await c.request(MetadataRequest, MetadataResponse, 12, { topics: [] });
    assertEquals([res.brokers[0].host, res.brokers[0].port], ["kafka.example", 19092]);
  } finally {
    c.close();
  }
});

Deno.test("Metadata, FindCoordinator, DescribeCluster answer the endpoint of the request's listener", async () => {
  await using t = await startTestBroker({
    listeners: "INTERNAL://127.0.0.1:0,EXTERNAL://127.0.0.1:0",
    listenerSecurityProtocolMap: "INTERNAL:PLAINTEXT,EXTERNAL:PLAINTEXT",
    advertisedListeners: "EXTERNAL://kafka.example:19093",
  });
  const internal = t.broker.listener("INTERNAL");
  const external = t.broker.listener("EXTERNAL");
  assertEquals(internal.advertised, { host: "127.0.0.1", port: internal.port });
  for (
    const [l, want] of [[internal, ["127.0.0.1", internal.port]], [external, [
      "kafka.example",
      19093,
    ]]] as const
  ) {
    const c = await RawClient.connect(l.port);
    try {
      const md = await c.request(MetadataRequest, MetadataResponse, 12, { topics: [] });
      assertEquals(md.brokers.map((b) => [b.host, b.port]), [want]);
      const fc = await c.request(FindCoordinatorRequest, FindCoordinatorResponse, 4, {
        keyType: 0,
        coordinatorKeys: ["g"],
      });
      assertEquals(fc.coordinators.map((x) => [x.host, x.port]), [want]);
      const dc = await c.request(DescribeClusterRequest, DescribeClusterResponse, 0, {});
      assertEquals(dc.brokers.map((b) => [b.host, b.port]), [want]);
    } finally {
      c.close();
    }
  }
});

Deno.test("Metadata: v10 and v11 answer an unknown topic id with an empty name (null needs v12)", async () => {
  await using t = await startTestBroker();
  const c = await RawClient.connect(t.broker.port);
  try {
    const id = await createTopic(c, "by-name");
    const unknown = "AAAAAAAAAAAAAAAAAAAAAQ";
    for (const version of [10, 11]) {
      const res = await c.request(MetadataRequest, MetadataResponse, version, {
        topics: [{ name: null, topicId: unknown }, { name: null, topicId: id }],
        allowAutoTopicCreation: false,
      });
      assertEquals(res.topics.map((x) => [x.errorCode, x.name, x.topicId]), [
        [ErrorCode.UNKNOWN_TOPIC_ID, "", unknown],
        [0, "by-name", id],
      ]);
    }
    assertEquals(t.lines.filter((l) => l.startsWith("ERROR")), []);
  } finally {
    c.close();
  }
});

Deno.test("Metadata: a topic asked for more than once is answered once, as Kafka does", async () => {
  await using t = await startTestBroker();
  const c = await RawClient.connect(t.broker.port);
  try {
    const id = await createTopic(c, "repeated", 8);
    // The fuzzer named one topic 58,196 times in 1 MiB: every copy was answered with all its
    // partitions, a response a hundred times the request, built while nobody else was served.
    const res = await c.request(MetadataRequest, MetadataResponse, 12, {
      topics: [
        ...Array.from({ length: 5000 }, () => ({ name: "repeated", topicId: NO_TOPIC_ID })),
        { name: "absent", topicId: NO_TOPIC_ID },
        { name: null, topicId: id },
        { name: "absent", topicId: NO_TOPIC_ID },
      ],
      allowAutoTopicCreation: false,
    });
    assertEquals(res.topics.map((x) => [x.name, x.errorCode, x.partitions.length]), [
      ["repeated", 0, 8],
      ["absent", ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 0],
    ]);
  } finally {
    c.close();
  }
});
