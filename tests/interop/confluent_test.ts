// Copyright 2026 the Sluice authors. Apache-2.0 license.
// confluent-kafka 1.7.0 on librdkafka 2.0.2 (Debian python3-confluent-kafka) against a real
// in-process Sluice broker, through clients/confluent_client.py. The cases are in
// python_cases.ts; librdkafka has every codec built in and an idempotent producer.

import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { interopTest, requireClient, sharedBroker, uniqueTopic } from "../harness.ts";
import { definePythonClientTests, pyConsume, pyProduce } from "./python_cases.ts";

const client = requireClient("confluent-kafka");
const broker = sharedBroker({
  numPartitions: 3,
  topicDefaults: { "max.message.bytes": "4194304" },
});

definePythonClientTests(client, {
  script: "confluent_client.py",
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

// kafka-python cannot send a null header value; librdkafka can, and repeats a header key as sent.
interopTest(client, "null and repeated header values survive", async () => {
  const { bootstrap } = await broker();
  const topic = uniqueTopic("confluent-headers");
  const headers: [string, string | null][] = [["n", null], ["e", ""], ["n", "dup"], ["ü", "✓"]];
  await pyProduce("confluent_client.py", bootstrap, topic, [
    { partition: 0, key: "a", value: "b", headers },
  ]);
  const got = await pyConsume("confluent_client.py", bootstrap, topic, 1);
  assertEquals(got.map((r) => [r.offset, r.key, r.value, r.headers]), [[0, "a", "b", headers]]);
});
