// Copyright 2026 the Sluice authors. Apache-2.0 license.
// `sluice configs`: client quotas in kafka-configs.sh's syntax against a real broker.

import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { Broker } from "../server/mod.ts";
import { runSluice as sluice } from "./testing.ts";

// The entities of kafka-configs.sh's quota syntax used below.
const user = (name: string) => ["--entity-type", "users", "--entity-name", name];
const ALICE = user("alice");
const ALL_USERS = ["--entity-type", "users"];
const DEFAULT_CLIENT = ["--entity-type", "clients", "--entity-default"];
const DEFAULT_USER = ["--entity-type", "users", "--entity-default"];

Deno.test({
  name: "sluice configs: --alter/--describe client quotas as kafka-configs.sh",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "sluice_cli_configs_" });
    const broker = await Broker.start({
      listeners: "PLAINTEXT://127.0.0.1:0",
      logDirs: [dir],
      logLevel: "silent",
    });
    try {
      const b = ["configs", "--bootstrap-server", `127.0.0.1:${broker.port}`];
      /** `sluice configs ENTITY --alter --add-config CONFIG`. */
      const add = (entity: string[], config: string) =>
        sluice([...b, ...entity, "--alter", "--add-config", config]);
      /** `sluice configs ENTITY --describe`, its stdout. */
      const describe = async (entity: string[]) =>
        (await sluice([...b, ...entity, "--describe"])).stdout;
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
    } finally {
      await broker.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
