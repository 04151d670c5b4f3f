// Copyright 2026 the Sluice authors. Apache-2.0 license.
import { deepStrictEqual as assertEquals, ok as assert, rejects } from "node:assert/strict";
import { dial } from "./dial.ts";

const timeoutError = () => new Error("connect: no answer");

Deno.test("dial opens a plain TCP connection", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepted = listener.accept();
  const conn = await dial({
    host: "127.0.0.1",
    port: listener.addr.port,
    timeoutMs: 10_000,
    timeoutError,
  });
  const server = await accepted;
  await conn.write(new Uint8Array([1, 2, 3]));
  const buf = new Uint8Array(3);
  assertEquals(await server.read(buf), 3);
  assertEquals([...buf], [1, 2, 3]);
  conn.close();
  server.close();
  listener.close();
});

Deno.test("dial passes a refused connection on as Deno.errors.ConnectionRefused", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  listener.close();
  await rejects(
    dial({ host: "127.0.0.1", port: listener.addr.port, timeoutMs: 10_000, timeoutError }),
    Deno.errors.ConnectionRefused,
  );
});

Deno.test("dial fails with 'TLS handshake failed' when the other side hangs up", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepted = listener.accept().then((c) => c.close());
  await rejects(
    dial({
      host: "127.0.0.1",
      port: listener.addr.port,
      tls: {},
      timeoutMs: 10_000,
      timeoutError,
    }),
    (e: Error) => {
      assert(e.message.startsWith("TLS handshake failed: "), e.message);
      return true;
    },
  );
  await accepted;
  listener.close();
});

Deno.test("dial fails with the caller's error when the TLS handshake is not answered in time", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepted = listener.accept();
  await rejects(
    dial({ host: "127.0.0.1", port: listener.addr.port, tls: {}, timeoutMs: 200, timeoutError }),
    (e: Error) => {
      assertEquals(e.message, "connect: no answer");
      return true;
    },
  );
  (await accepted).close();
  listener.close();
});
