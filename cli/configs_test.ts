// Copyright 2026 the Sluice authors. Apache-2.0 license.
// `sluice configs`: client quotas in kafka-configs.sh's syntax against a real broker.

import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { runSluice as sluice, type SluiceRun, withBroker } from "./testing.ts";

// The entities of kafka-configs.sh's quota syntax used below.
const user = (name: string) => ["--entity-type", "users", "--entity-name", name];
const ALICE = user("alice");
const ALL_USERS = ["--entity-type", "users"];
const DEFAULT_CLIENT = ["--entity-type", "clients", "--entity-default"];
const DEFAULT_USER = ["--entity-type", "users", "--entity-default"];

/** `sluice configs` against a broker of its own. */
interface Configs {
  /** `configs --bootstrap-server HOST:PORT`, the start of every command. */
  b: string[];
  /** `sluice configs ENTITY --alter --add-config CONFIG`. */
  add(entity: string[], config: string): Promise<SluiceRun>;
  /** `sluice configs ENTITY --describe`, its stdout. */
  describe(entity: string[]): Promise<string>;
}

/** A test of `sluice configs` with a broker of its own ({@linkcode withBroker}). */
function configsTest(name: string, fn: (c: Configs) => Promise<void>): void {
  Deno.test({
    name,
    sanitizeOps: false,
    sanitizeResources: false,
    fn: () =>
      withBroker(async (bootstrap) => {
        const b = ["configs", "--bootstrap-server", bootstrap];
        await fn({
          b,
          add: (entity, config) => sluice([...b, ...entity, "--alter", "--add-config", config]),
          describe: async (entity) => (await sluice([...b, ...entity, "--describe"])).stdout,
        });
      }),
  });
}

configsTest(
  "sluice configs: --alter/--describe client quotas as kafka-configs.sh",
  async ({ b, add, describe }) => {
    assertEquals(
      await add(ALICE, "producer_byte_rate=1024,request_percentage=12.5"),
      { code: 0, stdout: "Completed updating config for user-principal 'alice'.\n", stderr: "" },
    );
    assertEquals(
      (await add([...ALICE, ...DEFAULT_CLIENT], "consumer_byte_rate=2048")).stdout,
      "Completed updating config for user-principal 'alice', the default client-id.\n",
    );
    await add(DEFAULT_CLIENT, "producer_byte_rate=500");
    assertEquals(
      await describe(ALICE),
      "Quota configs for user-principal 'alice' are producer_byte_rate=1024.0, " +
        "request_percentage=12.5\n",
    );
    assertEquals(
      await describe([...ALL_USERS, "--entity-type", "clients"]),
      "Quota configs for user-principal 'alice', the default client-id are " +
        "consumer_byte_rate=2048.0\n",
    );
    assertEquals(
      await describe(DEFAULT_CLIENT),
      "Quota configs for the default client-id are producer_byte_rate=500.0\n",
    );
    // delete one key
    await sluice([...b, ...ALICE, "--alter", "--delete-config", "request_percentage"]);
    assertEquals(
      await describe(ALL_USERS),
      "Quota configs for user-principal 'alice' are producer_byte_rate=1024.0\n",
    );
    // refused by the broker: exit 1 with its code and message
    assertEquals(
      await add(user("x"), "bogus=1"),
      {
        code: 1,
        stdout: "",
        stderr: "user-principal 'x': INVALID_REQUEST (Invalid configuration key bogus)\n",
      },
    );
    // bad usage: exit 2
    assertEquals((await sluice([...b, "--entity-type", "topics", "--describe"])).code, 2);
    assertEquals((await add(ALL_USERS, "a=1")).code, 2);
    assertEquals((await add(DEFAULT_USER, "producer_byte_rate=abc")).code, 2);
  },
);

configsTest(
  "sluice configs: client-metrics subscriptions as kafka-configs.sh sets and describes them",
  async ({ b }) => {
    const cm = (name: string) => [...b, "--entity-type", "client-metrics", "--entity-name", name];
    assertEquals(
      await sluice([
        ...cm("prod"),
        "--alter",
        "--add-config",
        "metrics=[org.apache.kafka.producer.,org.apache.kafka.consumer.],interval.ms=1000," +
        "match=[client_id=app-.*,client_software_name=librdkafka]",
      ]),
      { code: 0, stdout: "Completed updating config for client-metric prod.\n", stderr: "" },
    );
    assertEquals(
      await sluice([...cm("all"), "--alter", "--add-config", "metrics=*"]),
      { code: 0, stdout: "Completed updating config for client-metric all.\n", stderr: "" },
    );
    assertEquals(await sluice([...cm("prod"), "--describe"]), {
      code: 0,
      stdout: "Dynamic configs for client-metric prod are:\n" +
        "  interval.ms=1000 sensitive=false synonyms={CLIENT_METRICS_CONFIG:interval.ms=1000}\n" +
        "  match=client_id=app-.*,client_software_name=librdkafka sensitive=false " +
        "synonyms={CLIENT_METRICS_CONFIG:match=client_id=app-.*,client_software_name=librdkafka}\n" +
        "  metrics=org.apache.kafka.producer.,org.apache.kafka.consumer. sensitive=false " +
        "synonyms={CLIENT_METRICS_CONFIG:metrics=org.apache.kafka.producer.,org.apache.kafka.consumer.}\n",
      stderr: "",
    });
    // a refused change: exit 1 with the broker's reason
    assertEquals(await sluice([...cm("prod"), "--alter", "--add-config", "interval.ms=5"]), {
      code: 1,
      stdout: "",
      stderr: "client-metric 'prod': INVALID_REQUEST: alter configs of client-metrics prod " +
        "(Invalid value 5 for interval.ms, interval must be between 100 and 3600000 (1 hour))\n",
    });
    assertEquals(
      (await sluice([...cm("prod"), "--alter", "--delete-config", "match,interval.ms"])).code,
      0,
    );
    // without a name: every subscription
    assertEquals(
      (await sluice([...b, "--entity-type", "client-metrics", "--describe"])).stdout,
      "Dynamic configs for client-metric all are:\n" +
        "  metrics=* sensitive=false synonyms={CLIENT_METRICS_CONFIG:metrics=*}\n" +
        "Dynamic configs for client-metric prod are:\n" +
        "  metrics=org.apache.kafka.producer.,org.apache.kafka.consumer. sensitive=false " +
        "synonyms={CLIENT_METRICS_CONFIG:metrics=org.apache.kafka.producer.,org.apache.kafka.consumer.}\n",
    );
    const usage = await sluice([
      ...b,
      "--entity-type",
      "client-metrics",
      "--alter",
      "--add-config",
      "metrics=*",
    ]);
    assertEquals([usage.code, usage.stderr.includes("--alter needs --entity-name")], [2, true]);
    const unbalanced = await sluice([...cm("x"), "--alter", "--add-config", "metrics=[a,b"]);
    assertEquals([unbalanced.code, unbalanced.stderr.includes("unbalanced [")], [2, true]);
  },
);

configsTest(
  "sluice configs: --entity-type ips, connection_creation_rate as kafka-configs.sh",
  async ({ b, add, describe }) => {
    const ip = (name: string) => ["--entity-type", "ips", "--entity-name", name];
    const DEFAULT_IP = ["--entity-type", "ips", "--entity-default"];
    assertEquals(
      await add(ip("10.1.2.3"), "connection_creation_rate=5"),
      { code: 0, stdout: "Completed updating config for ip '10.1.2.3'.\n", stderr: "" },
    );
    assertEquals(
      (await add(DEFAULT_IP, "connection_creation_rate=20")).stdout,
      "Completed updating config for the default ip.\n",
    );
    assertEquals(
      await describe(ip("10.1.2.3")),
      "Quota configs for ip '10.1.2.3' are connection_creation_rate=5.0\n",
    );
    assertEquals(
      await describe(DEFAULT_IP),
      "Quota configs for the default ip are connection_creation_rate=20.0\n",
    );
    assertEquals(
      (await describe(["--entity-type", "ips"])).split("\n").sort(),
      [
        "",
        "Quota configs for ip '10.1.2.3' are connection_creation_rate=5.0",
        "Quota configs for the default ip are connection_creation_rate=20.0",
      ],
    );
    // the broker's checks: exit 1 with its code and message
    assertEquals(await add(ip("nope"), "connection_creation_rate=5"), {
      code: 1,
      stdout: "",
      stderr: "ip 'nope': INVALID_REQUEST (nope is not a valid IP or resolvable host.)\n",
    });
    assertEquals(await add(ip("10.1.2.3"), "producer_byte_rate=5"), {
      code: 1,
      stdout: "",
      stderr: "ip '10.1.2.3': INVALID_REQUEST (Invalid configuration key producer_byte_rate)\n",
    });
    assertEquals(
      (await sluice([
        ...b,
        ...ip("10.1.2.3"),
        "--alter",
        "--delete-config",
        "connection_creation_rate",
      ]))
        .code,
      0,
    );
    assertEquals(await describe(ip("10.1.2.3")), "");
  },
);
