// Copyright 2026 the Sluice authors. Apache-2.0 license.
import { deepStrictEqual as assertEquals, ok, rejects, strictEqual } from "node:assert/strict";
import { EtcdClient, EtcdError, type WatchEvent } from "./etcd.ts";
import { freePort, requireEtcd, startEtcd, type TestEtcd } from "../../tests/etcd.ts";
import { waitFor as waitForEvery } from "../../tests/harness.ts";

const etcdReq = requireEtcd();

function etcdTest(name: string, fn: (etcd: TestEtcd) => Promise<void>, members = 1): void {
  Deno.test({
    name: `etcd client: ${name}`,
    ignore: etcdReq.ignore,
    sanitizeOps: false,
    sanitizeResources: false,
    async fn() {
      etcdReq.assertAvailable();
      const etcd = await startEtcd({ members });
      try {
        await fn(etcd);
      } finally {
        await etcd.stop();
      }
    },
  });
}

const waitFor = (what: string, cond: () => boolean, ms = 15_000) =>
  waitForEvery(what, cond, { timeoutMs: ms });

etcdTest("put, get, range with prefix, delete one and a prefix", async (etcd) => {
  const c = new EtcdClient({ endpoints: etcd.endpoints });
  try {
    const r1 = await c.put("/t/a", "1");
    await c.put("/t/b", "ü2");
    await c.put("/t0", "outside");
    const a = await c.get("/t/a");
    strictEqual(a?.value, "1");
    strictEqual(a?.createRevision, r1);
    strictEqual(a?.version, 1);
    strictEqual(await c.get("/t/none"), undefined);
    const all = await c.range("/t/", { prefix: true });
    assertEquals(all.kvs.map((kv) => [kv.key, kv.value]), [["/t/a", "1"], ["/t/b", "ü2"]]);
    ok(all.revision >= r1 + 2);
    const limited = await c.range("/t/", { prefix: true, limit: 1 });
    strictEqual(limited.kvs.length, 1);
    strictEqual(limited.more, true);
    // an old revision still reads what was there
    await c.put("/t/a", "changed");
    strictEqual((await c.range("/t/a", { revision: r1 })).kvs[0].value, "1");
    strictEqual((await c.delete("/t/a")).deleted, 1);
    strictEqual((await c.delete("/t/", { prefix: true })).deleted, 1);
    strictEqual((await c.get("/t0"))?.value, "outside");
  } finally {
    c.close();
  }
});

etcdTest("txn: create-if-absent, compare-and-swap on mod revision, value, ops", async (etcd) => {
  const c = new EtcdClient({ endpoints: etcd.endpoints });
  try {
    const create = (value: string) =>
      c.txn({
        compare: [{ key: "/x", target: "create", value: 0 }],
        success: [{ put: { key: "/x", value } }, { put: { key: "/x/child", value } }],
        failure: [{ range: { key: "/x" } }],
      });
    const first = await create("a");
    strictEqual(first.succeeded, true);
    const second = await create("b");
    strictEqual(second.succeeded, false);
    strictEqual(second.results[0].kvs[0].value, "a");
    const x = (await c.get("/x"))!;
    strictEqual(x.modRevision, first.revision);
    // compare-and-swap: the first writer with the revision it read wins, the second fails
    const cas = (value: string) =>
      c.txn({
        compare: [{ key: "/x", target: "mod", value: x.modRevision }],
        success: [{ put: { key: "/x", value } }],
      });
    strictEqual((await cas("w1")).succeeded, true);
    strictEqual((await cas("w2")).succeeded, false);
    strictEqual((await c.get("/x"))?.value, "w1");
    const byValue = await c.txn({
      compare: [{ key: "/x", target: "value", value: "w1" }, {
        key: "/x",
        target: "version",
        result: ">",
        value: 1,
      }],
      success: [{ delete: { key: "/x", prefix: true } }],
    });
    strictEqual(byValue.succeeded, true);
    strictEqual(byValue.results[0].deleted, 2);
    // a transaction over etcd's --max-txn-ops (128) is refused with a clear error
    await rejects(
      c.txn({
        compare: [],
        success: Array.from({ length: 129 }, (_, i) => ({ put: { key: `/m/${i}`, value: "" } })),
      }),
      (e: Error) =>
        e instanceof EtcdError && /^etcd txn on \(no compare\) failed: /.test(e.message),
    );
  } finally {
    c.close();
  }
});

etcdTest(
  "leases: grant, keep-alive, revoke deletes the keys, errors name the call",
  async (etcd) => {
    const c = new EtcdClient({ endpoints: etcd.endpoints });
    try {
      const lease = await c.grantLease(5);
      ok(lease.ttl >= 5, `granted ${lease.ttl}`);
      ok(lease.id !== "0");
      await c.put("/l/me", "here", { lease: lease.id });
      strictEqual((await c.get("/l/me"))?.lease, lease.id);
      ok((await c.keepAlive(lease.id)) >= 5);
      const ttl = await c.leaseTimeToLive(lease.id);
      ok(ttl.ttl > 0 && ttl.grantedTtl >= 5);
      await c.revokeLease(lease.id);
      strictEqual(await c.get("/l/me"), undefined);
      strictEqual(await c.keepAlive(lease.id), 0); // expired or revoked
      await rejects(
        c.put("/l/again", "x", { lease: lease.id }),
        (e: Error) =>
          e instanceof EtcdError && e.grpcCode === 5 &&
          /^etcd put \/l\/again failed: .*lease not found/.test(e.message),
      );
      // a short lease expires without keep-alive, and its key goes with it
      const short = await c.grantLease(1);
      await c.put("/l/short", "x", { lease: short.id });
      const deadline = Date.now() + 15_000;
      while ((await c.get("/l/short")) !== undefined) {
        ok(Date.now() < deadline, "the key of a lease without keep-alive was not deleted");
        await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      c.close();
    }
  },
);

etcdTest(
  "watch: events in order from a revision, across an etcd restart, no repeats",
  async (etcd) => {
    const c = new EtcdClient({ endpoints: etcd.endpoints, timeoutMs: 2000 });
    const seen: { type: string; key: string; value: string; rev: number }[] = [];
    const errors: Error[] = [];
    try {
      const start = await c.put("/w/0", "v0");
      await c.put("/w/1", "v1");
      await c.delete("/w/0");
      await c.put("/other", "not watched");
      const watch = c.watch("/w/", {
        prefix: true,
        startRevision: start,
        onEvents: (events: WatchEvent[], rev: number) => {
          for (const e of events) {
            seen.push({ type: e.type, key: e.kv.key, value: e.kv.value, rev });
          }
        },
        onError: (e) => errors.push(e),
      });
      await watch.ready;
      await waitFor("the first three events", () => seen.length >= 3);
      assertEquals(seen.map((e) => `${e.type} ${e.key} ${e.value}`), [
        "put /w/0 v0",
        "put /w/1 v1",
        "delete /w/0 ",
      ]);
      // a transaction's events share one revision and come in one call
      await c.txn({
        compare: [],
        success: [{ put: { key: "/w/a", value: "1" } }, { put: { key: "/w/b", value: "2" } }],
      });
      await waitFor("the txn's events", () => seen.length >= 5);
      strictEqual(seen[3].rev, seen[4].rev);
      // the only member goes down; writes made after it is back are seen once, in order
      await etcd.kill(0);
      await waitFor("the watch noticed", () => errors.length > 0);
      await etcd.start(0);
      for (let i = 0; i < 5; i++) await c.put("/w/after", String(i));
      await waitFor("events after the restart", () => seen.length >= 10);
      await new Promise((r) => setTimeout(r, 200)); // a repeat would come now
      assertEquals(seen.slice(5).map((e) => e.value), ["0", "1", "2", "3", "4"]); // no repeat
      for (let i = 1; i < seen.length; i++) ok(seen[i].rev >= seen[i - 1].rev);
      ok(/^etcd watch of \/w\/ from http:\/\/127\.0\.0\.1:\d+ failed: /.test(errors[0].message));
      watch.close();
    } finally {
      c.close();
    }
  },
);

etcdTest(
  "watch: a compacted start revision asks for a re-read and goes on after it",
  async (etcd) => {
    const c = new EtcdClient({ endpoints: etcd.endpoints });
    try {
      const first = await c.put("/k/a", "1");
      await c.put("/k/a", "2");
      const compactedTo = await c.put("/k/a", "3");
      await c.compact(compactedTo);
      const values: string[] = [];
      let reread = 0;
      const watch = c.watch("/k/", {
        prefix: true,
        startRevision: first,
        onEvents: (events) => {
          for (const e of events) values.push(e.kv.value);
        },
        onCompacted: async (rev) => {
          strictEqual(rev, compactedTo);
          const state = await c.range("/k/", { prefix: true });
          reread++;
          values.push(`reread:${state.kvs[0].value}`);
          return state.revision;
        },
      });
      await waitFor("the re-read", () => reread === 1);
      await c.put("/k/a", "4");
      await waitFor("the next event", () => values.length === 2);
      assertEquals(values, ["reread:3", "4"]);
      watch.close();
    } finally {
      c.close();
    }
  },
);

etcdTest(
  "fails over to the next endpoint; names every endpoint when none answers",
  async (etcd) => {
    const dead = `http://127.0.0.1:${freePort()}`;
    const c = new EtcdClient({ endpoints: [dead, ...etcd.endpoints], timeoutMs: 2000 });
    try {
      await c.put("/f", "1");
      strictEqual(c.currentEndpoint, etcd.endpoints[0]);
      strictEqual((await c.get("/f"))?.value, "1");
    } finally {
      c.close();
    }
    // an endpoint that accepts connections but never answers: the timeout ends the call
    const silent = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const held: Deno.Conn[] = [];
    (async () => {
      for await (const conn of silent) held.push(conn);
    })().catch(() => {});
    const silentUrl = `http://127.0.0.1:${(silent.addr as Deno.NetAddr).port}`;
    const bad = new EtcdClient({ endpoints: [dead, silentUrl], timeoutMs: 300 });
    try {
      await rejects(bad.get("/f"), (e: Error) => {
        ok(e instanceof EtcdError, String(e));
        ok(e.message.startsWith("etcd range /f failed: "), e.message);
        ok(e.message.includes(dead) && e.message.includes(silentUrl), e.message);
        ok(e.message.includes("no answer within 300 ms"), e.message);
        return true;
      });
      // a write that timed out may have been applied: it is not sent to another endpoint
      const writer = new EtcdClient({ endpoints: [silentUrl, ...etcd.endpoints], timeoutMs: 300 });
      await rejects(writer.delete("/f"), /etcd delete \/f failed: .*no answer within 300 ms/);
      strictEqual((await writer.get("/f"))?.value, "1");
      writer.close();
    } finally {
      bad.close();
      silent.close();
      for (const conn of held) conn.close();
    }
  },
);

etcdTest("3 members: calls and a watch go on when the member in use is killed", async (etcd) => {
  const c = new EtcdClient({ endpoints: etcd.endpoints, timeoutMs: 2000 });
  const seen: string[] = [];
  try {
    const watch = c.watch("/q/", {
      prefix: true,
      onEvents: (events) => {
        for (const e of events) seen.push(e.kv.value);
      },
    });
    await watch.ready;
    await c.put("/q/a", "before");
    await waitFor("the first event", () => seen.length === 1);
    const used = etcd.endpoints.indexOf(c.currentEndpoint);
    await etcd.kill(used);
    for (let i = 0; i < 3; i++) await c.put("/q/a", `after${i}`);
    await waitFor("events after the kill", () => seen.length === 4);
    assertEquals(seen, ["before", "after0", "after1", "after2"]);
    ok(c.currentEndpoint !== etcd.endpoints[used]);
    watch.close();
  } finally {
    c.close();
  }
}, 3);

Deno.test("etcd client: refuses bad endpoints and timeouts", () => {
  for (
    const [endpoints, timeoutMs, re] of [
      [[], 1000, /no endpoint given/],
      [["localhost:2379"], 1000, /is not http\(s\):\/\//],
      [["not a url"], 1000, /is not a URL/],
      [["http://127.0.0.1:2379"], 0, /timeoutMs 0 must be > 0/],
    ] as const
  ) {
    let error: Error | undefined;
    try {
      new EtcdClient({ endpoints: [...endpoints], timeoutMs });
    } catch (e) {
      error = e as Error;
    }
    ok(error instanceof RangeError && re.test(error.message), String(error));
  }
});
