// Copyright 2026 the Sluice authors. Apache-2.0 license.
import { deepStrictEqual as assertEquals, throws as assertThrows } from "node:assert/strict";
import { ManualScheduler, systemScheduler } from "./scheduler.ts";

Deno.test("ManualScheduler runs due tasks in time order, ties in scheduling order", () => {
  const clock = new ManualScheduler(100);
  const ran: string[] = [];
  clock.schedule(30, () => ran.push(`b@${clock.now()}`));
  clock.schedule(10, () => {
    ran.push(`a@${clock.now()}`);
    clock.schedule(5, () => ran.push(`a2@${clock.now()}`)); // falls in the same window
  });
  clock.schedule(30, () => ran.push(`c@${clock.now()}`));
  const cancel = clock.schedule(20, () => ran.push("cancelled"));
  cancel();
  cancel(); // twice is harmless
  assertEquals(clock.pending, 3);
  clock.advance(29);
  assertEquals(ran, ["a@110", "a2@115"]);
  clock.advance(1);
  assertEquals(ran, ["a@110", "a2@115", "b@130", "c@130"]);
  assertEquals([clock.now(), clock.pending], [130, 0]);
  clock.schedule(-5, () => ran.push(`now@${clock.now()}`));
  clock.advance(0);
  assertEquals(ran.at(-1), "now@130");
  assertThrows(() => clock.advance(-1), /Cannot advance the clock: negative duration -1/);
});

Deno.test("systemScheduler runs and cancels real timers", async () => {
  let ran = 0;
  const cancel = systemScheduler.schedule(1, () => ran++);
  systemScheduler.schedule(0, () => ran += 10)();
  await new Promise((r) => setTimeout(r, 20));
  cancel();
  assertEquals(ran, 1);
  const t = systemScheduler.now();
  assertEquals(Math.abs(t - Date.now()) < 1000, true);
});
