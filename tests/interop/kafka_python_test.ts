// Copyright 2026 the Sluice authors. Apache-2.0 license.
// kafka-python 2.0.2 (Debian python3-kafka) against a real in-process Sluice broker, through
// clients/kafka_python_client.py. The cases are in python_cases.ts. kafka-python has no
// idempotent producer, and snappy/lz4/zstd need optional modules (probed; gzip is built in).

import { requireClient, sharedBroker } from "../harness.ts";
import { definePythonClientTests } from "./python_cases.ts";

const client = requireClient("kafka-python");
const broker = sharedBroker({
  numPartitions: 3,
  topicDefaults: { "max.message.bytes": "4194304" },
});

definePythonClientTests(client, {
  script: "kafka_python_client.py",
  codecs: ["none", "gzip", "snappy", "lz4", "zstd"],
  compression: (codec) => ({ compression_type: codec === "none" ? null : codec }),
  murmur2: {},
  bigProducer: { max_request_size: 4194304 },
  bigConsumer: { max_partition_fetch_bytes: 4194304, fetch_max_bytes: 8388608 },
  longPoll: { fetch_max_wait_ms: 60000, request_timeout_ms: 90000 },
  acks0: { acks: 0 },
  // kafka-python fails on a response out of correlation-id order
  pipelined: { batch_size: 512, linger_ms: 0, max_in_flight_requests_per_connection: 5 },
  noOffset: null,
}, broker);
