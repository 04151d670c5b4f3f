// Copyright 2026 the Sluice authors. Apache-2.0 license.
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { AppendWaiters } from "./append_waiters.ts";

Deno.test("AppendWaiters: wakes waiters of the appended partition only, then forgets them", async () => {
  const waiters = new AppendWaiters();
  const a = waiters.wait([["t", 0], ["t", 1]], 60_000);
  const b = waiters.wait([["u", 0]], 60_000);
  assertEquals(waiters.size, 3);
  waiters.notify("t", 2); // nobody waits there
  waiters.notify("t", 1);
  assertEquals(await a, "append");
  assertEquals(waiters.size, 1);
  waiters.notify("u", 0);
  assertEquals(await b, "append");
  assertEquals(waiters.size, 0);
});

Deno.test("AppendWaiters: times out and aborts", async () => {
  const waiters = new AppendWaiters();
  assertEquals(await waiters.wait([["t", 0]], 1), "timeout");
  const ctl = new AbortController();
  const w = waiters.wait([["t", 0]], 60_000, ctl.signal);
  ctl.abort();
  assertEquals(await w, "aborted");
  assertEquals(await waiters.wait([["t", 0]], 60_000, ctl.signal), "aborted");
  assertEquals(waiters.size, 0);
});
