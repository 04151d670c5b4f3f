// Copyright 2026 the Sluice authors. Apache-2.0 license.
import { deepStrictEqual as assertEquals, throws } from "node:assert/strict";

function assertThrows(fn: () => unknown, type: new (...a: never[]) => Error, includes: string) {
  throws(fn, (e: unknown) => {
    if (!(e instanceof type)) throw new Error(`expected ${type.name}, got ${e}`);
    if (!e.message.includes(includes)) throw new Error(`"${e.message}" lacks "${includes}"`);
    return true;
  });
}
import {
  brokerConfigFrom,
  DEFAULT_BROKER_CONFIG,
  interBrokerListener,
  interBrokerSasl,
  listenerSpecs,
  loadBrokerConfig,
  parseListener,
  parsePropertiesFile,
  RACK_AWARE_REPLICA_SELECTOR,
} from "./config.ts";

Deno.test("parsePropertiesFile() reads comments, separators, continuations and escapes", () => {
  const text = [
    "# a comment",
    "! another comment",
    "",
    "   node.id = 7",
    "log.dirs:/tmp/a,\\",
    "    /tmp/b",
    "listeners PLAINTEXT://localhost:9093",
    "key\\=with\\:colon=v\\tx\\u0041",
    "empty=",
    "trailing=value   ",
    "node.id=8",
  ].join("\r\n");
  assertEquals(parsePropertiesFile(text), {
    "node.id": "8",
    "log.dirs": "/tmp/a,/tmp/b",
    "listeners": "PLAINTEXT://localhost:9093",
    "key=with:colon": "v\txA",
    "empty": "",
    "trailing": "value",
  });
});

Deno.test("parsePropertiesFile() refuses a malformed unicode escape with its line", () => {
  assertThrows(
    () => parsePropertiesFile("a=1\nb=\\u00zz\n"),
    SyntaxError,
    'malformed \\u escape "\\u00zz" on line 2',
  );
});

Deno.test("brokerConfigFrom() with nothing gives Kafka's defaults", () => {
  const warnings: string[] = [];
  const config = brokerConfigFrom({ warn: (m) => warnings.push(m) });
  assertEquals(config, { ...DEFAULT_BROKER_CONFIG, logDirs: ["./data"], topicDefaults: {} });
  assertEquals(config.listeners, "PLAINTEXT://localhost:9092");
  assertEquals(config.socketRequestMaxBytes, 104857600);
  assertEquals(warnings, []);
});

Deno.test("brokerConfigFrom() maps broker keys and lets overrides win", () => {
  const warnings: string[] = [];
  const config = brokerConfigFrom({
    properties: {
      "broker.id": "4",
      "listeners": "CONTROLLER://:9093,PLAINTEXT://:9092",
      "controller.listener.names": "CONTROLLER",
      "advertised.listeners": "PLAINTEXT://kafka.example:9092",
      "log.dir": "/ignored",
      "log.dirs": "/data/a, /data/b",
      "num.partitions": "3",
      "log.retention.hours": "168",
      "log.retention.minutes": "5",
      "log.segment.bytes": "1048576",
      "auto.create.topics.enable": "false",
      "socket.request.max.bytes": "1000",
      "message.max.bytes": "2000",
      "log.flush.interval.messages": "1",
      "log.retention.check.interval.ms": "1000",
      "default.replication.factor": "1",
      "offsets.topic.replication.factor": "1",
      "zookeeper.connect": "localhost:2181",
    },
    overrides: { "num.partitions": "5", "log.retention.bytes": "-1" },
    warn: (m) => warnings.push(m),
  });
  assertEquals(config.nodeId, 4);
  assertEquals(config.listeners, "PLAINTEXT://:9092");
  assertEquals(config.advertisedListeners, "PLAINTEXT://kafka.example:9092");
  assertEquals(config.logDirs, ["/data/a", "/data/b"]);
  assertEquals(config.numPartitions, 5);
  assertEquals(config.autoCreateTopicsEnable, false);
  assertEquals(config.socketRequestMaxBytes, 1000);
  assertEquals(config.logRetentionCheckIntervalMs, 1000);
  assertEquals(config.topicDefaults, {
    "retention.ms": "300000",
    "retention.bytes": "-1",
    "segment.bytes": "1048576",
    "max.message.bytes": "2000",
    "flush.messages": "1",
  });
  assertEquals(warnings, []);
});

Deno.test("brokerConfigFrom() warns about unknown keys and keeps going", () => {
  const warnings: string[] = [];
  const config = brokerConfigFrom({
    properties: { "no.such.key": "x", "node.id": "2" },
    warn: (m) => warnings.push(m),
  });
  assertEquals(config.nodeId, 2);
  assertEquals(warnings, ['Unknown configuration "no.such.key" (value "x") is ignored']);
});

Deno.test("brokerConfigFrom() reads group, offsets and cleaner timing keys", () => {
  const config = brokerConfigFrom({
    properties: {
      "group.max.size": "7",
      "offsets.retention.check.interval.ms": "1234",
      "log.cleaner.backoff.ms": "500",
    },
  });
  assertEquals(
    [config.groupMaxSize, config.offsetsRetentionCheckIntervalMs, config.logCleanerBackoffMs],
    [7, 1234, 500],
  );
  const defaults = brokerConfigFrom({});
  assertEquals(
    [defaults.groupMaxSize, defaults.offsetsRetentionCheckIntervalMs, defaults.logCleanerBackoffMs],
    [2147483647, 600000, 15000],
  );
});

Deno.test("brokerConfigFrom() reads sluice.group.consumer.regex.refresh.interval.ms", () => {
  const key = "sluice.group.consumer.regex.refresh.interval.ms";
  assertEquals(brokerConfigFrom({}).groupConsumerRegexRefreshIntervalMs, 10000);
  assertEquals(
    brokerConfigFrom({ properties: { [key]: "250" } }).groupConsumerRegexRefreshIntervalMs,
    250,
  );
  let error = "";
  try {
    brokerConfigFrom({ properties: { [key]: "-1" } });
  } catch (e) {
    error = (e as Error).message;
  }
  assertEquals(error.includes(key), true, error);
});

Deno.test("brokerConfigFrom() reads the transaction coordinator keys", () => {
  const config = brokerConfigFrom({
    properties: {
      "transaction.state.log.num.partitions": "3",
      "transaction.max.timeout.ms": "60000",
      "transaction.abort.timed.out.transaction.cleanup.interval.ms": "250",
    },
  });
  assertEquals(
    [
      config.transactionStateLogNumPartitions,
      config.transactionMaxTimeoutMs,
      config.transactionAbortTimedOutIntervalMs,
    ],
    [3, 60000, 250],
  );
  const defaults = brokerConfigFrom({});
  assertEquals(
    [
      defaults.transactionStateLogNumPartitions,
      defaults.transactionMaxTimeoutMs,
      defaults.transactionAbortTimedOutIntervalMs,
    ],
    [50, 900000, 10000],
  );
});

Deno.test("brokerConfigFrom() refuses bad values naming key and value", () => {
  const bad: [string, string, string][] = [
    ["num.partitions", "0", 'Invalid value "0" for configuration "num.partitions"'],
    ["num.partitions", "three", 'Invalid value "three" for configuration "num.partitions"'],
    ["node.id", "-1", 'Invalid value "-1" for configuration "node.id"'],
    ["auto.create.topics.enable", "yes", 'configuration "auto.create.topics.enable"'],
    ["socket.request.max.bytes", "99999999999", 'configuration "socket.request.max.bytes"'],
    ["log.retention.hours", "1.5", 'Invalid value "1.5" for configuration "log.retention.hours"'],
    ["log.segment.bytes", "10", 'Invalid value "10" for configuration "log.segment.bytes"'],
    ["log.cleanup.policy", "shred", 'configuration "log.cleanup.policy"'],
    ["listeners", "localhost:9092", 'Invalid listeners "localhost:9092"'],
    ["listeners", "FOO://localhost:9092", "listener FOO has no security protocol"],
    ["listeners", "PLAINTEXT://:9092,PLAINTEXT://:9093", "listener name PLAINTEXT appears twice"],
    ["listener.security.protocol.map", "A:TLS", '"A:TLS" is not NAME:PROTOCOL'],
    ["inter.broker.listener.name", "OTHER", "inter.broker.listener.name OTHER is not one of"],
    ["advertised.listeners", "SSL://h:1", "advertised.listeners names SSL, which is not one"],
    ["listeners", "PLAINTEXT://localhost:99999", "port 99999 is out of range"],
    ["log.dirs", " , ", 'Invalid value " , " for configuration "log.dirs": empty'],
    ["cluster.id", "a b", 'Invalid value "a b" for configuration "cluster.id"'],
    ["group.max.size", "0", 'Invalid value "0" for configuration "group.max.size"'],
    [
      "transaction.state.log.num.partitions",
      "0",
      'Invalid value "0" for configuration "transaction.state.log.num.partitions"',
    ],
    [
      "transaction.max.timeout.ms",
      "soon",
      'Invalid value "soon" for configuration "transaction.max.timeout.ms"',
    ],
    [
      "transaction.abort.timed.out.transaction.cleanup.interval.ms",
      "-1",
      'configuration "transaction.abort.timed.out.transaction.cleanup.interval.ms"',
    ],
    [
      "log.cleaner.backoff.ms",
      "-5",
      'Invalid value "-5" for configuration "log.cleaner.backoff.ms"',
    ],
  ];
  assertThrows(
    () => brokerConfigFrom({ properties: { "node.id": "1", "broker.id": "2" } }),
    RangeError,
    "node.id (1) and broker.id (2) differ",
  );
  for (const [key, value, message] of bad) {
    assertThrows(
      () => brokerConfigFrom({ properties: { [key]: value }, warn: () => {} }),
      RangeError,
      message,
    );
  }
});

Deno.test("brokerConfigFrom(): several listeners, named ones, advertised per name, inter-broker", () => {
  const config = brokerConfigFrom({
    properties: {
      "listeners": "INTERNAL://:9094, external://0.0.0.0:9093,CONTROLLER://:9095",
      "controller.listener.names": "CONTROLLER",
      "listener.security.protocol.map": "INTERNAL:PLAINTEXT,EXTERNAL:SSL,CONTROLLER:PLAINTEXT",
      "advertised.listeners": "EXTERNAL://kafka.example.com:9093",
      "inter.broker.listener.name": "internal",
      "listener.name.external.ssl.keystore.location": "/etc/k.pem",
      "ssl.client.auth": "required",
    },
    warn: () => {},
  });
  assertEquals(config.listeners, "INTERNAL://:9094,EXTERNAL://0.0.0.0:9093");
  assertEquals(config.advertisedListeners, "EXTERNAL://kafka.example.com:9093");
  assertEquals(config.interBrokerListenerName, "INTERNAL");
  assertEquals(config.sslProperties, {
    "listener.name.external.ssl.keystore.location": "/etc/k.pem",
    "ssl.client.auth": "required",
  });
  assertEquals(listenerSpecs(config).map((l) => [l.name, l.securityProtocol, l.port]), [
    ["INTERNAL", "PLAINTEXT", 9094],
    ["EXTERNAL", "SSL", 9093],
  ]);
  const byProtocol = brokerConfigFrom({
    properties: {
      "listeners": "PLAINTEXT://:9092,SSL://:9093",
      "security.inter.broker.protocol": "ssl",
    },
  });
  assertEquals(interBrokerListener(byProtocol).name, "SSL");
  assertEquals(
    listenerSpecs(brokerConfigFrom({})).map((l) => [l.name, l.host, l.port, l.securityProtocol]),
    [["PLAINTEXT", "localhost", 9092, "PLAINTEXT"]],
  );
});

Deno.test("parseListener() parses hosts, IPv6 and empty hosts", () => {
  assertEquals(parseListener("PLAINTEXT://:0"), { name: "PLAINTEXT", host: "", port: 0 });
  assertEquals(parseListener("plaintext://127.0.0.1:9092"), {
    name: "PLAINTEXT",
    host: "127.0.0.1",
    port: 9092,
  });
  assertEquals(parseListener("PLAINTEXT://[::1]:19092").host, "::1");
  assertEquals(
    parseListener("CONTROLLER://:9093,PLAINTEXT://h:1", ["CONTROLLER"]),
    { name: "PLAINTEXT", host: "h", port: 1 },
  );
});

Deno.test("loadBrokerConfig() reads a properties file and applies flags in order", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = `${dir}/server.properties`;
    await Deno.writeTextFile(file, "node.id=3\nnum.partitions=2\nlog.dirs=/from/file\n");
    const config = await loadBrokerConfig([
      file,
      "--override",
      "num.partitions=6",
      "--log-dirs=/from/flag",
      "--listeners",
      "PLAINTEXT://127.0.0.1:0",
      "--quiet",
    ]);
    assertEquals(config.nodeId, 3);
    assertEquals(config.numPartitions, 6);
    assertEquals(config.logDirs, ["/from/flag"]);
    assertEquals(config.listeners, "PLAINTEXT://127.0.0.1:0");
    assertEquals(config.logLevel, "silent");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadBrokerConfig() refuses unknown flags, missing values and bad overrides", async () => {
  const cases: [string[], string][] = [
    [["--bogus"], 'unknown flag "--bogus"'],
    [["--listeners"], "--listeners needs a value"],
    [["--override", "novalue"], '--override "novalue" is not key=value'],
    [["a.properties", "b.properties"], "more than one properties file"],
  ];
  for (const [args, message] of cases) {
    let caught: unknown;
    try {
      await loadBrokerConfig(args);
    } catch (e) {
      caught = e;
    }
    assertEquals(caught instanceof RangeError, true, `expected RangeError for ${args}`);
    assertEquals((caught as Error).message.includes(message), true, (caught as Error).message);
  }
});

Deno.test("brokerConfigFrom() reads the request memory, idle and read limits (issues #7, #11)", () => {
  const defaults = brokerConfigFrom({ warn: () => {} });
  assertEquals(defaults.queuedMaxRequestBytes, 268435456);
  // Any request socket.request.max.bytes admits fits one connection's bound.
  assertEquals(defaults.connectionMaxQueuedBytes, 104857600);
  assertEquals(defaults.connectionMaxQueuedBytes, defaults.socketRequestMaxBytes);
  assertEquals(defaults.connectionsMaxIdleMs, 600000);
  assertEquals(defaults.requestReadTimeoutMs, 30000);
  const warnings: string[] = [];
  const config = brokerConfigFrom({
    properties: {
      "queued.max.request.bytes": "1048576",
      "sluice.connection.max.queued.bytes": "65536",
      "connections.max.idle.ms": "30000",
      "sluice.request.read.timeout.ms": "5000",
    },
    warn: (m) => warnings.push(m),
  });
  assertEquals(config.queuedMaxRequestBytes, 1048576);
  assertEquals(config.connectionMaxQueuedBytes, 65536);
  assertEquals(config.connectionsMaxIdleMs, 30000);
  assertEquals(config.requestReadTimeoutMs, 5000);
  // No key is unknown; the bound below socket.request.max.bytes is pointed out.
  assertEquals(warnings, [
    "sluice.connection.max.queued.bytes (65536) is below socket.request.max.bytes (104857600): " +
    "requests larger than 65536 bytes are refused",
  ]);
  assertEquals(
    brokerConfigFrom({ overrides: { "queued.max.request.bytes": " -1 " } }).queuedMaxRequestBytes,
    -1,
  );
  const bad: [string, string, string][] = [
    ["queued.max.request.bytes", "0", "must be -1 (unbounded) or at least 1"],
    ["queued.max.request.bytes", "-2", 'Invalid value "-2" for configuration "queued.max.'],
    ["queued.max.request.bytes", "1MB", 'Invalid value "1MB" for configuration "queued.max.'],
    ["sluice.connection.max.queued.bytes", "0", 'configuration "sluice.connection.max.queued'],
    ["connections.max.idle.ms", "-1", 'Invalid value "-1" for configuration "connections.max.'],
    ["connections.max.idle.ms", "soon", 'configuration "connections.max.idle.ms": not an int'],
    ["sluice.request.read.timeout.ms", "0", 'configuration "sluice.request.read.timeout.ms": must'],
    ["sluice.request.read.timeout.ms", "1e3", '"sluice.request.read.timeout.ms": not an integer'],
  ];
  for (const [key, value, message] of bad) {
    assertThrows(
      () => brokerConfigFrom({ properties: { [key]: value }, warn: () => {} }),
      RangeError,
      message,
    );
  }
});

Deno.test("brokerConfigFrom() reads the cluster-mode keys (docs/CLUSTER.md)", () => {
  const defaults = brokerConfigFrom({});
  assertEquals(
    [
      defaults.etcdEndpoints,
      defaults.etcdPrefix,
      defaults.clusterName,
      defaults.rack,
      defaults.brokerSessionTimeoutMs,
      defaults.defaultReplicationFactor,
      defaults.offsetsTopicReplicationFactor,
      defaults.transactionStateLogReplicationFactor,
      defaults.transactionStateLogMinIsr,
      defaults.replicaLagTimeMaxMs,
      defaults.replicaFetchWaitMaxMs,
      defaults.replicaFetchMaxBytes,
      defaults.replicaFetchResponseMaxBytes,
      defaults.replicaFetchBackoffMs,
      defaults.replicaSocketTimeoutMs,
      defaults.replicaHighWatermarkCheckpointIntervalMs,
      defaults.offsetsCommitTimeoutMs,
      defaults.requestTimeoutMs,
    ],
    [
      [],
      "/sluice",
      "sluice",
      null,
      2000,
      1,
      3,
      3,
      2,
      30000,
      500,
      1048576,
      10485760,
      1000,
      30000,
      5000,
      5000,
      30000,
    ],
  );
  const warnings: string[] = [];
  const config = brokerConfigFrom({
    properties: {
      "controller.etcd.endpoints":
        "http://127.0.0.1:2379, http://[::1]:2380/,https://etcd.example:2379",
      "controller.etcd.prefix": "/kafka/prod",
      "sluice.cluster.name": "east-1",
      "broker.rack": "rack-a",
      "broker.session.timeout.ms": "6000",
      "default.replication.factor": "3",
      "offsets.topic.replication.factor": "2",
      "transaction.state.log.replication.factor": "1",
      "transaction.state.log.min.isr": "1",
      "replica.lag.time.max.ms": "10000",
      "replica.fetch.wait.max.ms": "100",
      "replica.fetch.max.bytes": "65536",
      "replica.fetch.response.max.bytes": "131072",
      "replica.fetch.backoff.ms": "250",
      "replica.socket.timeout.ms": "7000",
      "replica.high.watermark.checkpoint.interval.ms": "0",
      "offsets.commit.timeout.ms": "3000",
      "request.timeout.ms": "9000",
      "min.insync.replicas": "2",
      "unclean.leader.election.enable": "false",
    },
    warn: (m) => warnings.push(m),
  });
  assertEquals(config.etcdEndpoints, [
    "http://127.0.0.1:2379",
    "http://[::1]:2380",
    "https://etcd.example:2379",
  ]);
  assertEquals(
    [config.etcdPrefix, config.clusterName, config.rack, config.brokerSessionTimeoutMs],
    ["/kafka/prod", "east-1", "rack-a", 6000],
  );
  assertEquals(
    [
      config.defaultReplicationFactor,
      config.offsetsTopicReplicationFactor,
      config.transactionStateLogReplicationFactor,
      config.transactionStateLogMinIsr,
      config.replicaLagTimeMaxMs,
      config.replicaFetchWaitMaxMs,
      config.replicaFetchMaxBytes,
      config.replicaFetchResponseMaxBytes,
      config.replicaFetchBackoffMs,
      config.replicaSocketTimeoutMs,
      config.replicaHighWatermarkCheckpointIntervalMs,
      config.offsetsCommitTimeoutMs,
      config.requestTimeoutMs,
    ],
    [3, 2, 1, 1, 10000, 100, 65536, 131072, 250, 7000, 0, 3000, 9000],
  );
  assertEquals(config.topicDefaults["min.insync.replicas"], "2");
  assertEquals(warnings, []);
});

Deno.test("brokerConfigFrom() reads the liveness probe keys: on by default, 100 ms, 3 refusals", () => {
  const defaults = brokerConfigFrom({});
  assertEquals(
    [
      defaults.livenessProbeEnable,
      defaults.livenessProbeIntervalMs,
      defaults.livenessProbeRefusals,
    ],
    [true, 100, 3],
  );
  const config = brokerConfigFrom({
    properties: {
      "sluice.broker.liveness.probe.enable": "FALSE",
      "sluice.broker.liveness.probe.interval.ms": "250",
      "sluice.broker.liveness.probe.refusals": "2",
    },
    warn: (m) => {
      throw new Error(m);
    },
  });
  assertEquals(
    [config.livenessProbeEnable, config.livenessProbeIntervalMs, config.livenessProbeRefusals],
    [false, 250, 2],
  );
  const cases: [Record<string, string>, string][] = [
    [
      { "sluice.broker.liveness.probe.enable": "yes" },
      'Invalid value "yes" for configuration "sluice.broker.liveness.probe.enable": must be true',
    ],
    [
      { "sluice.broker.liveness.probe.interval.ms": "0" },
      '"sluice.broker.liveness.probe.interval.ms": must be between 1',
    ],
    [
      { "sluice.broker.liveness.probe.refusals": "-1" },
      '"sluice.broker.liveness.probe.refusals": must be between 1',
    ],
  ];
  for (const [properties, message] of cases) {
    assertThrows(() => brokerConfigFrom({ properties }), RangeError, message);
  }
});

Deno.test("brokerConfigFrom(): controlled shutdown and lease settings", () => {
  const defaults = brokerConfigFrom({});
  assertEquals(
    [
      defaults.controlledShutdownEnable,
      defaults.controlledShutdownMaxRetries,
      defaults.controlledShutdownRetryBackoffMs,
    ],
    [true, 3, 5000],
  );
  const config = brokerConfigFrom({
    properties: {
      "controlled.shutdown.enable": "false",
      "controlled.shutdown.max.retries": "1",
      "controlled.shutdown.retry.backoff.ms": "200",
    },
    warn: (m) => {
      throw new Error(m);
    },
  });
  assertEquals(
    [
      config.controlledShutdownEnable,
      config.controlledShutdownMaxRetries,
      config.controlledShutdownRetryBackoffMs,
    ],
    [false, 1, 200],
  );
  assertEquals(brokerConfigFrom({}).brokerLeaseTtlMs, 0);
  assertEquals(
    brokerConfigFrom({ properties: { "sluice.broker.lease.ttl.ms": "30000" } }).brokerLeaseTtlMs,
    30000,
  );
  assertThrows(
    () => brokerConfigFrom({ properties: { "controlled.shutdown.max.retries": "0" } }),
    RangeError,
    '"controlled.shutdown.max.retries": must be between 1',
  );
});

Deno.test("brokerConfigFrom() refuses bad cluster-mode values, naming key and value", () => {
  const cases: [Record<string, string>, string][] = [
    [{ "controller.etcd.endpoints": "127.0.0.1:2379" }, '"127.0.0.1:2379" is not http://host:port'],
    [{ "controller.etcd.endpoints": "http://h" }, '"http://h" is not http://host:port'],
    [
      { "controller.etcd.prefix": "sluice" },
      'Invalid value "sluice" for configuration "controller.etcd.prefix"',
    ],
    [{ "controller.etcd.prefix": "/a/" }, 'must start with "/", not end with "/"'],
    [
      { "sluice.cluster.name": "a/b" },
      'Invalid value "a/b" for configuration "sluice.cluster.name"',
    ],
    [{ "broker.session.timeout.ms": "0" }, '"broker.session.timeout.ms": must be between 1'],
    [{ "default.replication.factor": "0" }, '"default.replication.factor": must be between 1'],
    [
      { "offsets.topic.replication.factor": "x" },
      '"offsets.topic.replication.factor": not an integer',
    ],
    [{ "replica.fetch.max.bytes": "-1" }, '"replica.fetch.max.bytes": must be between 1'],
    [{ "replica.fetch.backoff.ms": "-5" }, '"replica.fetch.backoff.ms": must be between 0'],
    [
      { "replica.fetch.response.max.bytes": "0" },
      '"replica.fetch.response.max.bytes": must be between 1',
    ],
    [{ "replica.socket.timeout.ms": "x" }, '"replica.socket.timeout.ms": not an integer'],
    [
      { "replica.high.watermark.checkpoint.interval.ms": "-1" },
      '"replica.high.watermark.checkpoint.interval.ms": must be between 0',
    ],
    [{ "offsets.commit.timeout.ms": "0" }, '"offsets.commit.timeout.ms": must be between 1'],
    [{ "request.timeout.ms": "0" }, '"request.timeout.ms": must be between 1'],
    [
      {
        "controller.etcd.endpoints": "http://127.0.0.1:2379",
        "unclean.leader.election.enable": "true",
      },
      "cluster mode implements only false",
    ],
    [
      {
        "controller.etcd.endpoints": "http://127.0.0.1:2379",
        "replica.fetch.wait.max.ms": "30000",
      },
      "replica.fetch.wait.max.ms (30000) must be below replica.lag.time.max.ms (30000)",
    ],
  ];
  for (const [properties, message] of cases) {
    assertThrows(() => brokerConfigFrom({ properties }), RangeError, message);
  }
  // standalone keeps accepting what it accepted before
  assertEquals(
    brokerConfigFrom({ properties: { "unclean.leader.election.enable": "true" } })
      .topicDefaults["unclean.leader.election.enable"],
    "true",
  );
});

Deno.test("loadBrokerConfig() takes cluster-mode keys from --override and a properties file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = `${dir}/server.properties`;
    await Deno.writeTextFile(file, "controller.etcd.endpoints=http://127.0.0.1:2379\nnode.id=2\n");
    const config = await loadBrokerConfig([
      file,
      "--override",
      "broker.rack=r1",
      "--override=sluice.cluster.name=c2",
    ]);
    assertEquals(
      [config.etcdEndpoints, config.nodeId, config.rack, config.clusterName],
      [["http://127.0.0.1:2379"], 2, "r1", "c2"],
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("brokerConfigFrom() reads the SASL settings and refuses bad ones", () => {
  const jaas = "org.apache.kafka.common.security.plain.PlainLoginModule required " +
    'user_alice="s3cret";';
  const c = brokerConfigFrom({
    properties: {
      listeners: "SASL_PLAINTEXT://127.0.0.1:9092",
      "sasl.enabled.mechanisms": "scram-sha-512, PLAIN",
      "listener.name.sasl_plaintext.plain.sasl.jaas.config": jaas,
      "listener.name.sasl_plaintext.sasl.enabled.mechanisms": "PLAIN",
      "connections.max.reauth.ms": "60000",
      "connection.failed.authentication.delay.ms": "0",
      "sasl.server.max.receive.size": "65536",
    },
    warn: (m) => {
      throw new Error(`unexpected warning: ${m}`);
    },
  });
  assertEquals(c.listeners, "SASL_PLAINTEXT://127.0.0.1:9092");
  assertEquals(c.saslEnabledMechanisms, ["SCRAM-SHA-512", "PLAIN"]);
  assertEquals(c.saslListenerMechanisms, { sasl_plaintext: ["PLAIN"] });
  assertEquals(c.saslJaasConfigs, { "sasl_plaintext.plain": jaas });
  assertEquals(
    [c.connectionsMaxReauthMs, c.connectionFailedAuthenticationDelayMs, c.saslServerMaxReceiveSize],
    [60000, 0, 65536],
  );
  assertEquals(DEFAULT_BROKER_CONFIG.saslEnabledMechanisms, [
    "PLAIN",
    "SCRAM-SHA-256",
    "SCRAM-SHA-512",
  ]);
  assertThrows(
    () => brokerConfigFrom({ properties: { "sasl.enabled.mechanisms": "GSSAPI" } }),
    RangeError,
    "mechanism GSSAPI is not implemented",
  );
  assertThrows(
    () => brokerConfigFrom({ properties: { "connections.max.reauth.ms": "-1" } }),
    RangeError,
    "connections.max.reauth.ms",
  );
  // A malformed JAAS entry is refused without echoing it (it holds passwords).
  throws(
    () =>
      brokerConfigFrom({
        properties: {
          "listener.name.sasl_plaintext.plain.sasl.jaas.config":
            'org.apache.kafka.common.security.plain.PlainLoginModule required user_a="pw',
        },
      }),
    (e: unknown) =>
      e instanceof RangeError && /unterminated quoted value of option user_a/.test(e.message) &&
      !e.message.includes("pw"),
  );
  assertThrows(
    () =>
      brokerConfigFrom({
        properties: {
          "listener.name.sasl_plaintext.plain.sasl.jaas.config":
            'com.example.Other required user_a="x";',
        },
      }),
    RangeError,
    "expected org.apache.kafka.common.security.plain.PlainLoginModule",
  );
});

Deno.test("brokerConfigFrom() reads the authorizer keys (Kafka's class names, super.users)", () => {
  const none = brokerConfigFrom({});
  assertEquals(
    [none.authorizerClassName, none.superUsers, none.allowEveryoneIfNoAclFound],
    ["", [], false],
  );
  for (
    const name of [
      "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
      "kafka.security.authorizer.AclAuthorizer",
      "sluice.acl",
    ]
  ) {
    const c = brokerConfigFrom({
      properties: {
        "authorizer.class.name": name,
        "super.users": "User:admin; User:CN=broker,O=x ;",
        "allow.everyone.if.no.acl.found": "true",
      },
    });
    assertEquals(
      [c.authorizerClassName, c.superUsers, c.allowEveryoneIfNoAclFound],
      [name, ["User:admin", "User:CN=broker,O=x"], true],
    );
  }
  throws(
    () => brokerConfigFrom({ properties: { "authorizer.class.name": "com.example.MyAuthorizer" } }),
    /Invalid value "com.example.MyAuthorizer" for configuration "authorizer.class.name"/,
  );
  throws(
    () => brokerConfigFrom({ properties: { "super.users": "admin" } }),
    /Invalid value "admin" for configuration "super.users": invalid principal/,
  );
});

Deno.test("brokerConfigFrom() reads sasl.mechanism.inter.broker.protocol; interBrokerSasl() its credentials", () => {
  const scram = "org.apache.kafka.common.security.scram.ScramLoginModule required " +
    'username="broker" password="b \\"secret\\"";';
  const c = brokerConfigFrom({
    properties: {
      listeners: "PLAINTEXT://127.0.0.1:9092,INTERNAL://127.0.0.1:9093",
      "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,INTERNAL:SASL_SSL",
      "inter.broker.listener.name": "INTERNAL",
      "sasl.mechanism.inter.broker.protocol": "scram-sha-512",
      "listener.name.internal.scram-sha-512.sasl.jaas.config": scram,
    },
    warn: (m) => {
      throw new Error(`unexpected warning: ${m}`);
    },
  });
  assertEquals(c.saslMechanismInterBrokerProtocol, "SCRAM-SHA-512");
  assertEquals(interBrokerSasl(c), {
    mechanism: "SCRAM-SHA-512",
    username: "broker",
    password: 'b "secret"',
  });
  // not a SASL inter-broker listener: nothing to authenticate with
  assertEquals(interBrokerSasl({ ...c, interBrokerListenerName: "PLAINTEXT" }), undefined);
  assertEquals(DEFAULT_BROKER_CONFIG.saslMechanismInterBrokerProtocol, "GSSAPI");
  assertThrows(
    () => brokerConfigFrom({ properties: { "sasl.mechanism.inter.broker.protocol": "GSSAPI" } }),
    RangeError,
    "mechanism GSSAPI is not implemented",
  );
});

Deno.test("brokerConfigFrom(): sluice.workers takes 1 to 256 shards and refuses other values by name", () => {
  assertEquals(brokerConfigFrom({ properties: { "sluice.workers": "4" } }).workers, 4);
  assertEquals(brokerConfigFrom({ properties: {} }).workers, 1);
  for (const bad of ["0", "-1", "two", "1.5"]) {
    assertThrows(
      () => brokerConfigFrom({ properties: { "sluice.workers": bad } }),
      RangeError,
      "sluice.workers",
    );
  }
  assertThrows(
    () => brokerConfigFrom({ properties: { "sluice.workers": "257" } }),
    RangeError,
    "Invalid sluice.workers: 257 is more than 256 shards",
  );
});

Deno.test("brokerConfigFrom() reads the client metrics keys (KIP-714)", () => {
  const d = brokerConfigFrom();
  assertEquals(
    [d.telemetryMaxBytes, d.clientMetricsMaxInstances, d.clientMetricsOtlpEndpoint],
    [1048576, 1000, ""],
  );
  const c = brokerConfigFrom({
    properties: {
      "telemetry.max.bytes": "4096",
      "sluice.client.metrics.max.instances": "50",
      "sluice.client.metrics.otlp.endpoint": "http://collector:4318/v1/metrics",
    },
  });
  assertEquals(
    [c.telemetryMaxBytes, c.clientMetricsMaxInstances, c.clientMetricsOtlpEndpoint],
    [4096, 50, "http://collector:4318/v1/metrics"],
  );
  assertThrows(
    () => brokerConfigFrom({ properties: { "telemetry.max.bytes": "0" } }),
    RangeError,
    "telemetry.max.bytes",
  );
  assertThrows(
    () => brokerConfigFrom({ properties: { "sluice.client.metrics.otlp.endpoint": "collector" } }),
    RangeError,
    'Invalid value "collector" for configuration "sluice.client.metrics.otlp.endpoint"',
  );
});

Deno.test("brokerConfigFrom() reads replica.selector.class: none, or Kafka's rack-aware selector", () => {
  const of = (v?: string) =>
    brokerConfigFrom({
      properties: v === undefined ? {} : { "replica.selector.class": v },
      warn: () => {},
    }).replicaSelector;
  assertEquals(
    [of(), of(""), of(RACK_AWARE_REPLICA_SELECTOR), of(" RackAwareReplicaSelector ")],
    [null, null, "rack-aware", "rack-aware"],
  );
  throws(
    () => of("com.example.MySelector"),
    /Invalid value "com.example.MySelector" for configuration "replica.selector.class": Sluice has only org.apache.kafka.common.replica.RackAwareReplicaSelector/,
  );
});
