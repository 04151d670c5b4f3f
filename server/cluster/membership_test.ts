// Copyright 2026 the Sluice authors. Apache-2.0 license.
import { ok, rejects, strictEqual } from "node:assert/strict";
import { EtcdClient } from "./etcd.ts";
import { Membership, type MembershipState } from "./membership.ts";
import { MetadataStore } from "./metadata_store.ts";
import { createLogger, type LogLevel } from "../logger.ts";
import { requireEtcd, sharedEtcd, uniquePrefix } from "../../tests/etcd.ts";
import { waitFor } from "../../tests/harness.ts";

const etcdReq = requireEtcd();
const etcd = sharedEtcd();
const logger = createLogger({
  level: (Deno.env.get("SLUICE_TEST_LOG") as LogLevel | undefined) ?? "silent",
});

function test(name: string, fn: (store: MetadataStore) => Promise<void>): void {
  Deno.test({
    name: `membership: ${name}`,
    ignore: etcdReq.ignore,
    sanitizeOps: false,
    sanitizeResources: false,
    async fn() {
      etcdReq.assertAvailable();
      const e = await etcd();
      const client = new EtcdClient({ endpoints: e.endpoints, timeoutMs: 1000 });
      try {
        await fn(new MetadataStore(client, uniquePrefix()));
      } finally {
        client.close();
      }
    },
  });
}

const until = (what: string, cond: () => boolean | Promise<boolean>, ms = 15_000) =>
  waitFor(what, cond, { timeoutMs: ms, intervalMs: 25 });

const reg = { id: 7, host: "127.0.0.1", port: 9092, rack: null };

test("registers under a lease; closing revokes it, so the key goes at once", async (store) => {
  const m = new Membership({ store, registration: reg, sessionTimeoutMs: 2000, logger });
  await m.start();
  const kv = await store.etcd.get(store.brokerKey(7));
  ok(kv !== undefined);
  strictEqual(m.state.registered, true);
  strictEqual(m.state.epoch, kv.createRevision); // broker epoch = create revision
  strictEqual(kv.lease, m.state.lease);
  strictEqual(JSON.parse(kv.value).incarnation, m.registration.incarnation);
  // keep-alives hold the key well past the TTL
  await new Promise((r) => setTimeout(r, 3000));
  strictEqual(m.state.registered, true);
  ok(await store.etcd.get(store.brokerKey(7)) !== undefined);
  await m.close();
  strictEqual(await store.etcd.get(store.brokerKey(7)), undefined);
});

test("fences itself when keep-alives fail for the session timeout, registers again with a new epoch", async (store) => {
  const m = new Membership({ store, registration: reg, sessionTimeoutMs: 2000, logger });
  const states: MembershipState[] = [];
  m.onChange((s) => states.push(s));
  await m.start();
  const first = m.state.epoch;
  const pausedAt = Date.now();
  m.pauseKeepAlive(true);
  await until("fenced", () => !m.state.registered);
  const fencedAfter = Date.now() - pausedAt;
  // fenced no later than the session timeout after the last keep-alive (plus timer slack)...
  ok(fencedAfter <= 2000 + 1000, `fenced after ${fencedAfter} ms`);
  // ...and before etcd let the lease expire: the key is still there when it fences
  await until(
    "lease expired",
    async () => (await store.etcd.get(store.brokerKey(7))) === undefined,
  );
  m.pauseKeepAlive(false);
  await until("registered again", () => m.state.registered);
  ok(m.state.epoch > first, `${m.state.epoch} > ${first}`);
  strictEqual((await store.etcd.get(store.brokerKey(7)))?.createRevision, m.state.epoch);
  const seen = states.map((s) => s.registered);
  strictEqual(seen[0], true); // registered, fenced (listeners told), registered again
  ok(seen.includes(false), JSON.stringify(seen));
  strictEqual(seen.at(-1), true);
  await m.close();
});

test("a keep-alive that works again before the lease expired unfences with the same epoch", async (store) => {
  const m = new Membership({ store, registration: reg, sessionTimeoutMs: 3000, logger });
  await m.start();
  const epoch = m.state.epoch;
  // etcd grants at least the TTL asked; stop renewing just past the session timeout's fence
  m.pauseKeepAlive(true);
  await until("fenced", () => !m.state.registered);
  m.pauseKeepAlive(false);
  await until("unfenced or registered again", () => m.state.registered);
  if ((await store.etcd.get(store.brokerKey(7)))?.createRevision === epoch) {
    strictEqual(m.state.epoch, epoch);
  } else {
    ok(m.state.epoch > epoch); // the lease expired meanwhile on a slow machine
  }
  await m.close();
});

test("a broker that waits longer than its own lease's TTL for a previous registration keeps that lease and registers", async (store) => {
  const a = new Membership({ store, registration: reg, sessionTimeoutMs: 2000, logger });
  await a.start();
  const b = new Membership({
    store,
    registration: { ...reg, port: 9093 },
    sessionTimeoutMs: 2000,
    logger,
    registerWaitMs: 20_000,
  });
  const started = b.start();
  // b waits while a lives on, longer than b's own 2 s lease would last without keep-alives
  await new Promise((r) => setTimeout(r, 3500));
  a.pauseKeepAlive(true); // a "dies": its lease runs out
  await started;
  strictEqual(b.state.registered, true);
  strictEqual(JSON.parse((await store.etcd.get(store.brokerKey(7)))!.value).port, 9093);
  await b.close();
  await a.close();
});

test("a node id held by another live broker is refused with a clear message", async (store) => {
  const a = new Membership({ store, registration: reg, sessionTimeoutMs: 2000, logger });
  await a.start();
  const b = new Membership({
    store,
    registration: { ...reg, port: 9093 },
    sessionTimeoutMs: 2000,
    logger,
    registerWaitMs: 1500,
  });
  await rejects(
    b.start(),
    /Cannot register broker 7: node id 7 is registered by another live broker \(127\.0\.0\.1:9092, incarnation [0-9a-f-]+\) and its registration did not expire within 1500 ms; give each broker its own node\.id/,
  );
  // a previous run that died (its lease not renewed) is waited for
  a.pauseKeepAlive(true);
  const c = new Membership({ store, registration: reg, sessionTimeoutMs: 2000, logger });
  await c.start();
  strictEqual(c.state.registered, true);
  await c.close();
  await a.close();
  await b.close();
});
