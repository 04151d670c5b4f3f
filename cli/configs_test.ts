// Copyright 2026 the Sluice authors. Apache-2.0 license.
// `sluice configs`: client quotas in kafka-configs.sh's syntax against a real broker.

import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { Broker } from "../server/mod.ts";
import { main } from "./main.ts";

async function sluice(args: string[]) {
  let stdout = "";
  let stderr = "";
  const code = await main(args, {
    stdout: (t) => void (stdout += t),
    stderr: (t) => void (stderr += t),
    stdin: new ReadableStream({ start: (c) => c.close() }),
    stdinIsTerminal: false,
  });
  return { code, stdout, stderr };
}

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
      assertEquals(
        await sluice([
          ...b,
          "--entity-type",
          "users",
          "--entity-name",
          "alice",
          "--alter",
          "--add-config",
          "producer_byte_rate=1024,request_percentage=12.5",
        ]),
        { code: 0, stdout: "Completed updating config for user-principal 'alice'.\n", stderr: "" },
      );
      assertEquals(
        (await sluice([
          ...b,
          "--entity-type",
          "users",
          "--entity-name",
          "alice",
          "--entity-type",
          "clients",
          "--entity-default",
          "--alter",
          "--add-config",
          "consumer_byte_rate=2048",
        ])).stdout,
        "Completed updating config for user-principal 'alice', the default client-id.\n",
      );
      await sluice([
        ...b,
        "--entity-type",
        "clients",
        "--entity-default",
        "--alter",
        "--add-config",
        "producer_byte_rate=500",
      ]);
      assertEquals(
        (await sluice([...b, "--entity-type", "users", "--entity-name", "alice", "--describe"]))
          .stdout,
        "Quota configs for user-principal 'alice' are producer_byte_rate=1024.0, " +
          "request_percentage=12.5\n",
      );
      assertEquals(
        (await sluice([...b, "--entity-type", "users", "--entity-type", "clients", "--describe"]))
          .stdout,
        "Quota configs for user-principal 'alice', the default client-id are " +
          "consumer_byte_rate=2048.0\n",
      );
      assertEquals(
        (await sluice([...b, "--entity-type", "clients", "--entity-default", "--describe"])).stdout,
        "Quota configs for the default client-id are producer_byte_rate=500.0\n",
      );
      // delete one key
      await sluice([
        ...b,
        "--entity-type",
        "users",
        "--entity-name",
        "alice",
        "--alter",
        "--delete-config",
        "request_percentage",
      ]);
      assertEquals(
        (await sluice([...b, "--entity-type", "users", "--describe"])).stdout,
        "Quota configs for user-principal 'alice' are producer_byte_rate=1024.0\n",
      );
      // refused by the broker: exit 1 with its code and message
      assertEquals(
        await sluice([
          ...b,
          "--entity-type",
          "users",
          "--entity-name",
          "x",
          "--alter",
          "--add-config",
          "bogus=1",
        ]),
        {
          code: 1,
          stdout: "",
          stderr: "user-principal 'x': INVALID_REQUEST (Invalid configuration key bogus)\n",
        },
      );
      // bad usage: exit 2
      assertEquals((await sluice([...b, "--entity-type", "topics", "--describe"])).code, 2);
      assertEquals(
        (await sluice([...b, "--entity-type", "users", "--alter", "--add-config", "a=1"])).code,
        2,
      );
      assertEquals(
        (await sluice([
          ...b,
          "--entity-type",
          "users",
          "--entity-default",
          "--alter",
          "--add-config",
          "producer_byte_rate=abc",
        ])).code,
        2,
      );
    } finally {
      await broker.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
