import assert from "node:assert/strict";
import { KafkaError } from "../protocol/errors.ts";
import { Client, parseBootstrapServers } from "./client.ts";

Deno.test("parseBootstrapServers() parses host:port lists", () => {
  assert.deepEqual(parseBootstrapServers("localhost:9092, 10.0.0.1:9093,[::1]:9094"), [
    { host: "localhost", port: 9092 },
    { host: "10.0.0.1", port: 9093 },
    { host: "::1", port: 9094 },
  ]);
  assert.deepEqual(parseBootstrapServers(["PLAINTEXT://b:1"]), [{ host: "b", port: 1 }]);
});

Deno.test("parseBootstrapServers() rejects malformed entries", () => {
  assert.throws(() => parseBootstrapServers(""), {
    name: "RangeError",
    message: "invalid bootstrap servers: the list is empty",
  });
  for (const bad of ["localhost", "host:0", "host:70000", "host:x", ":9092"]) {
    assert.throws(() => parseBootstrapServers(bad), {
      name: "RangeError",
      message: `invalid bootstrap server "${bad}": expected host:port`,
    });
  }
});

Deno.test("Client reports an unreachable cluster as NETWORK_EXCEPTION", async () => {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  const client = new Client({ bootstrapServers: `127.0.0.1:${port}` });
  try {
    await assert.rejects(client.refreshMetadata(), (e: unknown) => {
      assert.ok(e instanceof KafkaError);
      assert.equal(e.errorName, "NETWORK_EXCEPTION");
      assert.match(
        e.message,
        new RegExp(
          `^client: cannot reach any broker of 127\\.0\\.0\\.1:${port} ` +
            `\\(is a broker running there\\?\\): `,
        ),
      );
      assert.equal(e.message.match(/NETWORK_EXCEPTION/g)?.length, 1, e.message);
      return true;
    });
  } finally {
    await client.close();
  }
});
