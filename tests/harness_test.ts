// Copyright 2026 the Sluice authors. Apache-2.0 license.
import { deepStrictEqual as assertEquals, ok as assert, rejects, throws } from "node:assert/strict";
import {
  clientRequirement,
  runCommand,
  startBroker,
  uniqueTopic,
  waitFor,
  withTimeout,
} from "./harness.ts";

Deno.test("runCommand() captures stdout, stderr, exit code and stdin", async () => {
  const r = await runCommand("sh", ["-c", "cat; echo err >&2; exit 3"], { stdin: "in put" });
  assertEquals(r, { code: 3, stdout: "in put", stderr: "err\n", timedOut: false });
});

Deno.test("runCommand() kills a child that outlives its timeout", async () => {
  const r = await runCommand("sleep", ["30"], { timeoutMs: 200 });
  assertEquals(r.timedOut, true);
  assert(r.code !== 0, `killed child exited ${r.code}`);
});

Deno.test("runCommand() rejects a program that does not exist", async () => {
  await rejects(
    runCommand("sluice-no-such-program", []),
    /run sluice-no-such-program: /,
  );
});

Deno.test("withTimeout() passes values through and rejects late work", async () => {
  assertEquals(await withTimeout(Promise.resolve(7), 1000, "quick"), 7);
  await rejects(withTimeout(new Promise(() => {}), 20, "stuck work"), {
    message: "stuck work: timed out after 20 ms",
  });
});

Deno.test("waitFor() checks until the condition holds, and fails with the detail", async () => {
  let checks = 0;
  await waitFor("three checks", () => ++checks === 3, { intervalMs: 1 });
  assertEquals(checks, 3);
  let async = 0;
  await waitFor(() => "lazy name", () => Promise.resolve(++async >= 2), { intervalMs: 1 });
  assertEquals(async, 2);
  let seen = 0;
  await rejects(
    waitFor("never", () => (seen++, false), {
      timeoutMs: 30,
      intervalMs: 5,
      detail: () => Promise.resolve(`checked ${seen > 1 ? "again" : "once"}`),
    }),
    { message: "timed out waiting for never (30 ms): checked again" },
  );
  await rejects(waitFor(() => "lazy", () => false, { timeoutMs: 0, intervalMs: 1 }), {
    message: "timed out waiting for lazy (0 ms)",
  });
  // an error from the check ends the wait with that error
  await rejects(
    waitFor("a throw", () => {
      throw new Error("boom");
    }),
    { message: "boom" },
  );
});

Deno.test("clientRequirement() ignores a missing client outside CI, fails it in CI", () => {
  const here = clientRequirement("kcat", true, false, "apt-get install kcat");
  assertEquals([here.available, here.ignore, here.message], [true, false, ""]);
  here.assertAvailable();

  const local = clientRequirement("kcat", false, false, "apt-get install kcat");
  assertEquals(local.ignore, true);
  assertEquals(local.message, "kcat not installed: skipping; apt-get install kcat");

  const ci = clientRequirement("kcat", false, true, "apt-get install kcat");
  assertEquals(ci.ignore, false);
  throws(() => ci.assertAvailable(), { message: "kcat not installed: apt-get install kcat" });
});

Deno.test("uniqueTopic() never repeats", () => {
  const names = new Set(Array.from({ length: 100 }, () => uniqueTopic("t")));
  assertEquals(names.size, 100);
});

Deno.test({
  name: "startBroker() listens on 127.0.0.1 and close() removes the data directory",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const b = await startBroker();
    assertEquals(b.bootstrap, `127.0.0.1:${b.port}`);
    assert(b.port > 0);
    assert((await Deno.stat(b.dataDir)).isDirectory);
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: b.port });
    conn.close();
    await b.close();
    await b.close(); // twice is fine
    await rejects(Deno.stat(b.dataDir), Deno.errors.NotFound);
    await rejects(Deno.connect({ hostname: "127.0.0.1", port: b.port }));
  },
});

Deno.test({
  name: "TestBroker.restart() serves the same data directory on a new broker",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const b = await startBroker();
    try {
      const before = b.broker;
      await b.restart();
      assert(b.broker !== before);
      assertEquals(b.bootstrap, `127.0.0.1:${b.port}`);
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: b.port });
      conn.close();
      assert((await Deno.stat(b.dataDir)).isDirectory);
    } finally {
      await b.close();
    }
    await rejects(b.restart(), /restart broker: it was closed/);
  },
});
