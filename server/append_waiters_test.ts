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

Deno.test("AppendWaiters: any of several signals ends the wait, and every listener is removed", async () => {
  const waiters = new AppendWaiters();
  const broker = new AbortController();
  const client = new AbortController();
  let added = 0, removed = 0;
  for (const s of [broker.signal, client.signal]) {
    const add = s.addEventListener.bind(s), remove = s.removeEventListener.bind(s);
    s.addEventListener = (...a: Parameters<typeof add>) => (added++, add(...a));
    s.removeEventListener = (...a: Parameters<typeof remove>) => (removed++, remove(...a));
  }
  const w = waiters.wait([["t", 0], ["t", 0]], 60_000, broker.signal, undefined, client.signal);
  assertEquals(waiters.size, 1);
  client.abort();
  assertEquals(await w, "aborted");
  assertEquals([added, removed, waiters.size], [2, 2, 0]);
  // An append after the end is a no-op, and a second wait on the same partition still works.
  waiters.notify("t", 0);
  const again = waiters.wait([["t", 0]], 60_000, broker.signal);
  waiters.notify("t", 0);
  assertEquals(await again, "append");
});
