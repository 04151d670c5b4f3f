// Copyright 2026 the Sluice authors. Apache-2.0 license.
// Foreign-key joins when the instance is SIGKILLed mid-stream (no close, no commit) and
// restarted, twice: the output topics' latest value per key must still equal the model's
// joined tables (read committed under exactly-once).
import assert, { deepStrictEqual as assertEquals } from "node:assert/strict";
import { Client } from "../client/mod.ts";
import { sharedBroker, uniqueTopic } from "../tests/harness.ts";
import { model, produce, updates } from "../tests/streams/fk_orders.ts";
import { followEvents } from "../tests/streams/app_events.ts";
import { Serdes } from "./mod.ts";
import { createTopics, latestByKey, sorted } from "./testing.ts";

const broker = sharedBroker();
const APP = new URL("../tests/streams/fk_join_app.ts", import.meta.url).pathname;

async function killRun(guarantee: "at_least_once" | "exactly_once_v2") {
  const { bootstrap } = await broker();
  const client = new Client({ bootstrapServers: bootstrap });
  const names = {
    orders: uniqueTopic("orders"),
    customers: uniqueTopic("customers"),
    innerOut: uniqueTopic("inner-out"),
    leftOut: uniqueTopic("left-out"),
    applicationId: uniqueTopic("fk-kill-app"),
  };
  await createTopics(client, 2, names.orders, names.innerOut, names.leftOut);
  await createTopics(client, 3, names.customers);
  const stateDir = await Deno.makeTempDir();
  const seed = guarantee === "at_least_once" ? 50 : 60;
  const parts = [updates(seed + 1, 600), updates(seed + 2, 600), updates(seed + 3, 600)];
  let child: Deno.ChildProcess | undefined;
  let processed = 0;
  let fatal: string | undefined;
  const start = async () => {
    processed = 0;
    child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", APP, JSON.stringify({ bootstrap, stateDir, guarantee, ...names })],
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const isReady = followEvents(child.stdout, (ev) => {
      if (ev.kind === "metrics") processed = ev.processed;
      if (ev.kind === "fatal") fatal = ev.detail;
    }).ready;
    await Promise.race([isReady, child.status]);
    if (fatal !== undefined) throw new Error(`streams instance failed: ${fatal}`);
  };
  const stopped: number[] = [];
  const until = async (what: string, check: () => boolean | Promise<boolean>, ms: number) => {
    const deadline = Date.now() + ms;
    while (!(await check())) {
      if (fatal !== undefined) throw new Error(`streams instance failed: ${fatal}`);
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  try {
    for (const part of parts.slice(0, 2)) {
      await produce(client, names.orders, names.customers, part);
      await start();
      // SIGKILL once it is well into the part: subscriptions and responses in flight, offsets
      // and changelogs not committed since the last commit.
      await until("processing", () => processed >= 800, 120_000);
      child!.kill("SIGKILL");
      await child!.status;
      await child!.stdout.cancel().catch(() => {});
      stopped.push(processed);
    }
    await produce(client, names.orders, names.customers, parts[2]);
    await start();
    const m = model(parts.flat());
    const read = async (topic: string) => {
      const out = await latestByKey(client, topic, (v) => Serdes.String().deserialize(v), {
        readCommitted: guarantee === "exactly_once_v2",
      });
      return sorted(
        new Map([...out.values].filter(([, v]) => v !== null) as Array<[string, string]>),
      );
    };
    const want = { inner: sorted(m.inner), left: sorted(m.left) };
    const got = async () => ({
      inner: await read(names.innerOut),
      left: await read(names.leftOut),
    });
    await until(
      "the joined tables",
      async () => JSON.stringify(await got()) === JSON.stringify(want),
      180_000,
    ).catch(async (e) => {
      assertEquals(await got(), want);
      throw e;
    });
    assertEquals(stopped.length, 2);
    assert(stopped.every((n) => n >= 800), `killed after ${stopped}`);
  } finally {
    if (child !== undefined) {
      try {
        child.kill("SIGTERM");
      } catch { /* already gone */ }
      await child.status;
      await child.stdout.cancel().catch(() => {});
    }
    await client.close();
    await Deno.remove(stateDir, { recursive: true });
  }
}

Deno.test({
  name: "foreign-key joins: the instance SIGKILLed mid-stream twice and restarted (at-least-once)",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () => killRun("at_least_once"),
});

Deno.test({
  name: "foreign-key joins: the instance SIGKILLed mid-stream twice and restarted (exactly-once)",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () => killRun("exactly_once_v2"),
});
