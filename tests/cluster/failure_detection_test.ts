// Copyright 2026 the Sluice authors. Apache-2.0 license.
// Failure detection's fast path (docs/CLUSTER.md "Failure detection") on a real etcd with real
// broker processes: a SIGKILLed broker's lease is revoked by the controller once its port refuses
// connections, a SIGKILLed controller's by the votes of the others — long before the lease (30 s
// here) could expire, so nothing but the revocation explains it; a SIGSTOPped broker (and a
// SIGSTOPped controller) is never revoked, since the kernel still accepts into its backlog. And
// in-process: a broker whose key is deleted stops leading at once and registers again; a
// registration whose listener never accepted is never revoked.
import { deepStrictEqual as assertEquals, ok, strictEqual } from "node:assert/strict";
import { Admin, Client, Consumer } from "../../client/mod.ts";
import { ErrorCode } from "../../protocol/errors.ts";
import { EtcdClient } from "../../server/cluster/etcd.ts";
import { MetadataStore } from "../../server/cluster/metadata_store.ts";
import { sharedEtcd } from "../etcd.ts";
import { clusterTest, startCluster, startProcessCluster, until } from "./harness.ts";

const etcd = sharedEtcd();

const test = clusterTest("failure detection");

function storeOf(endpoints: string[], clusterName: string): MetadataStore {
  return new MetadataStore(
    new EtcdClient({ endpoints, timeoutMs: 2000 }),
    `/sluice/${clusterName}`,
  );
}

/** How many connections wait in the accept queue of the listener on 127.0.0.1:`port`. */
async function acceptQueue(port: number): Promise<number> {
  const hex = port.toString(16).toUpperCase().padStart(4, "0");
  for (const line of (await Deno.readTextFile("/proc/net/tcp")).split("\n")) {
    const f = line.trim().split(/\s+/);
    // local address, remote address, state 0A (LISTEN), tx_queue:rx_queue (rx = accept queue)
    if (f[1] === `0100007F:${hex}` && f[3] === "0A") return parseInt(f[4].split(":")[1], 16);
  }
  throw new Error(`no listener on 127.0.0.1:${port} in /proc/net/tcp`);
}

/** A lease 30 times the probe bound: only a revocation removes a key within it. */
const LONG_SESSION = "broker.session.timeout.ms=30000";

test("SIGKILL of a broker: the controller revokes its lease (30 s) at once; its partitions move; a restart registers at once", async () => {
  const e = await etcd();
  const c = await startProcessCluster(e, 3, [LONG_SESSION]);
  const store = storeOf(e.endpoints, c.clusterName);
  const client = new Client({ bootstrapServers: c.bootstrap, retries: 30 });
  try {
    await until("3 registered, a controller", async () => {
      const s = await store.snapshot();
      return s.brokers.size === 3 && s.controller !== undefined;
    });
    await new Admin(client).createTopics([{ name: "fd", numPartitions: 3, replicationFactor: 3 }]);
    const s0 = await store.snapshot();
    const controller = s0.controller!.value.id;
    const victim = [1, 2, 3].find((b) =>
      b !== controller && [0, 1, 2].some((p) => s0.partitions.get("fd")!.get(p)!.value.leader === b)
    )!;
    ok(victim !== undefined, "a non-controller broker leads a partition");
    const led = [0, 1, 2].filter((p) => s0.partitions.get("fd")!.get(p)!.value.leader === victim);
    const kv = (await store.etcd.get(store.brokerKey(victim)))!;
    const granted = await store.etcd.leaseTimeToLive(kv.lease);
    strictEqual(granted.grantedTtl, 30);
    const killedAt = performance.now();
    await c.brokers[victim - 1].kill();
    await until(
      "the victim's registration gone (within 20 s, while its 30 s lease lives on)",
      async () => (await store.etcd.get(store.brokerKey(victim))) === undefined,
    );
    const goneMs = performance.now() - killedAt;
    ok(goneMs < granted.grantedTtl * 1000, `gone after ${goneMs} ms`);
    // revoked, not expired: the lease no longer exists, and the controller says why
    strictEqual((await store.etcd.leaseTimeToLive(kv.lease)).ttl, -1);
    const log = await Deno.readTextFile(c.logs[controller - 1]);
    ok(
      new RegExp(
        `Broker ${victim} \\(127\\.0\\.0\\.1:${
          c.brokers[victim - 1].options.port
        }, broker epoch ${kv.createRevision}\\) refused 3 connections in a row \\(seen by the ` +
          `controller\\): its process is gone; revoking its etcd lease`,
      ).test(log),
      "the controller's log names the revocation",
    );
    await until("the victim's partitions have new leaders", async () => {
      const s = await store.snapshot();
      return led.every((p) => {
        const l = s.partitions.get("fd")!.get(p)!.value.leader;
        return l !== victim && l !== -1;
      });
    });
    console.log(
      `broker ${victim} SIGKILLed: lease revoked after ${goneMs.toFixed(0)} ms (lease TTL 30 s)`,
    );
    // it comes back: its old registration is gone, so it registers at once (a new epoch)
    await c.brokers[victim - 1].start();
    await until("registered again", async () => {
      const b = (await store.snapshot()).brokers.get(victim);
      return b !== undefined && b.createRevision > kv.createRevision;
    });
    const victimLog = await Deno.readTextFile(c.logs[victim - 1]);
    ok(!/waiting for its lease to expire/.test(victimLog), "no wait for the old lease");
  } finally {
    await client.close();
    store.etcd.close();
    await c.close();
  }
});

test("SIGKILL of the controller: the other brokers vote, its lease (30 s) is revoked, another is elected at once", async () => {
  const e = await etcd();
  const c = await startProcessCluster(e, 3, [LONG_SESSION]);
  const store = storeOf(e.endpoints, c.clusterName);
  try {
    await until("3 registered, a controller", async () => {
      const s = await store.snapshot();
      return s.brokers.size === 3 && s.controller !== undefined;
    });
    const before = (await store.snapshot()).controller!;
    const victim = before.value.id;
    const kv = (await store.etcd.get(store.brokerKey(victim)))!;
    const killedAt = performance.now();
    await c.brokers[victim - 1].kill();
    await until(
      "a new controller (within 20 s, while the old one's 30 s lease lives on)",
      async () => {
        const now = (await store.snapshot()).controller;
        return now !== undefined && now.createRevision !== before.createRevision;
      },
    );
    const ms = performance.now() - killedAt;
    const after = (await store.snapshot()).controller!;
    ok(after.value.id !== victim && after.createRevision > before.createRevision);
    strictEqual(await store.etcd.get(store.brokerKey(victim)), undefined);
    strictEqual((await store.etcd.leaseTimeToLive(kv.lease)).ttl, -1); // revoked
    // both others voted (a majority of 2 is 2), and one of them revoked
    const others = [1, 2, 3].filter((b) => b !== victim);
    const logs = await Promise.all(others.map((b) => Deno.readTextFile(c.logs[b - 1])));
    for (const [i, log] of logs.entries()) {
      ok(
        new RegExp(`Broker ${others[i]} saw controller ${victim} .* voted in etcd`).test(log),
        `broker ${others[i]} voted`,
      );
    }
    ok(
      logs.some((l) =>
        new RegExp(`Broker ${victim} .* refused connections from 2 of the 2 other brokers`).test(l)
      ),
      "a broker revoked on the majority",
    );
    // the votes go with the registration they were about
    await until("no votes left", async () => {
      const r = await store.etcd.range(`${store.root}/liveness/`, { prefix: true });
      return r.kvs.length === 0;
    });
    console.log(
      `controller ${victim} SIGKILLed: ${after.value.id} elected after ${ms.toFixed(0)} ms`,
    );
  } finally {
    store.etcd.close();
    await c.close();
  }
});

test("SIGSTOP of a broker, then of the controller: never revoked while stopped (the kernel accepts the probes); the same registration on SIGCONT", async () => {
  const e = await etcd();
  // a 10 s lease: each stop below lasts until 10 probes wait in the broker's accept queue
  const c = await startProcessCluster(e, 3, ["broker.session.timeout.ms=10000"]);
  const store = storeOf(e.endpoints, c.clusterName);
  const paused = new Set<number>();
  try {
    await until("3 registered, a controller", async () => {
      const s = await store.snapshot();
      return s.brokers.size === 3 && s.controller !== undefined;
    });
    const controller = (await store.snapshot()).controller!.value.id;
    const slow = [1, 2, 3].find((b) => b !== controller)!;
    for (const victim of [slow, controller]) {
      const b = c.brokers[victim - 1];
      const kv = (await store.etcd.get(store.brokerKey(victim)))!;
      b.pause(true);
      paused.add(victim);
      // the probes go on: the stopped process's listener still completes the handshakes
      await until(`10 probes in broker ${victim}'s accept queue`, async () => {
        const now = await store.etcd.get(store.brokerKey(victim));
        strictEqual(now?.createRevision, kv.createRevision, `stopped broker ${victim} revoked`);
        return await acceptQueue(b.options.port) >= 10;
      }, 8000);
      b.pause(false);
      paused.delete(victim);
      await until(
        `broker ${victim} runs again`,
        async () => await acceptQueue(b.options.port) === 0,
      );
      const s = await store.snapshot();
      strictEqual(s.brokers.get(victim)?.createRevision, kv.createRevision, "never re-registered");
      ok((await store.etcd.leaseTimeToLive(kv.lease)).ttl > 0, "its lease lives on");
      if (victim === controller) {
        strictEqual(s.controller?.value.id, controller, "still the controller");
      }
      for (const log of c.logs) {
        ok(
          !new RegExp(`Broker ${victim} .*revoking its etcd lease`).test(
            await Deno.readTextFile(log),
          ),
        );
      }
    }
  } finally {
    for (const v of paused) c.brokers[v - 1].pause(false);
    store.etcd.close();
    await c.close();
  }
});

test("a broker whose registration is deleted stops leading at once (no keep-alive needed) and registers again", async () => {
  const e = await etcd();
  const c = await startCluster(e, 3, { brokerSessionTimeoutMs: 15_000 });
  try {
    const b2 = c.brokers[1]!.cluster!;
    await b2.createTopic({
      name: "gone",
      numPartitions: -1,
      replicationFactor: -1,
      assignments: [[2]],
      configs: {},
    });
    await until("broker 2 leads gone-0", () => b2.leaderError("gone", 0) === undefined);
    const membership = b2.membership!;
    const { epoch, lease } = membership.state;
    // keep-alives off: only the watch of its own key can tell it within 10 s (the fence timer
    // is 15 s)
    membership.pauseKeepAlive(true);
    await b2.etcd.revokeLease(lease);
    await until("broker 2 fenced", () => !b2.registered, 10_000);
    strictEqual(b2.leaderError("gone", 0)?.code, ErrorCode.NOT_LEADER_OR_FOLLOWER);
    membership.pauseKeepAlive(false);
    await until("registered again", () => b2.registered && membership.state.epoch > epoch);
    ok(membership.state.lease !== lease);
    // the controller elects it again (the only ISR member of an RF=1 partition)
    await until("broker 2 leads gone-0 again", () => b2.leaderError("gone", 0) === undefined);
  } finally {
    await c.close();
  }
});

test("a registration whose listener never accepted is never revoked (left to its lease)", async () => {
  const e = await etcd();
  const c = await startCluster(e, 2, { brokerSessionTimeoutMs: 30_000 });
  const store = c.brokers[0]!.cluster!.store;
  try {
    await until("a controller", () => c.brokers.some((b) => b!.cluster!.controller!.active));
    const controller = c.brokers.find((b) => b!.cluster!.controller!.active)!.cluster!;
    const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = closed.addr.port;
    closed.close();
    const lease = await store.etcd.grantLease(30);
    const r = await store.registerBroker(
      { id: 9, host: "127.0.0.1", port, rack: null, incarnation: "never-listened" },
      lease.id,
    );
    ok("epoch" in r);
    await until("20 probes of broker 9", async () => {
      ok(await store.etcd.get(store.brokerKey(9)) !== undefined, "broker 9 was revoked");
      return (controller.failureDetector!.probeState(9)?.probes ?? 0) >= 20;
    });
    assertEquals(controller.failureDetector!.probeState(9), {
      epoch: r.epoch,
      probes: controller.failureDetector!.probeState(9)!.probes,
      armed: false,
      refusals: 0,
    });
    ok(await store.etcd.get(store.brokerKey(9)) !== undefined, "still registered");
    await store.etcd.revokeLease(lease.id);
  } finally {
    await c.close();
  }
});

test("clients follow a leader that went: the consumer and the admin client look the leader up again", async () => {
  const e = await etcd();
  const c = await startCluster(e, 3);
  const client = new Client({ bootstrapServers: c.bootstrapAll(), retries: 30 });
  const consumerClient = new Client({ bootstrapServers: c.bootstrapAll(), retries: 30 });
  try {
    await new Admin(client).createTopics([{
      name: "follow",
      numPartitions: 1,
      replicationFactor: 3,
    }]);
    const consumer = new Consumer(consumerClient, { fromBeginning: true });
    await consumer.assign([{ topic: "follow", partition: 0 }]);
    assertEquals(await consumer.poll({ maxWaitMs: 100 }), []);
    const admin = new Admin(client); // its own metadata cache
    await admin.listOffsets([{ topic: "follow", partition: 0, spec: "latest" }]);
    const leader = await consumerClient.leaderFor("follow", 0);
    strictEqual(await client.leaderFor("follow", 0), leader);
    await c.stop(leader - 1); // its port refuses from now on; a new leader is elected
    await until("every live broker names a new leader", () =>
      c.brokers.every((b) => {
        const l = b?.cluster?.view.partition("follow", 0)?.value.leader;
        return b === undefined || l !== undefined && l !== leader && l !== -1;
      }));
    // each fails at most once (the refused connection), then asks for the leader again
    let failures = 0;
    await until("the consumer fetches from the new leader", async () => {
      try {
        await consumer.poll({ maxWaitMs: 50 });
        return true;
      } catch {
        failures++;
        return false;
      }
    });
    ok(failures <= 1, `${failures} failed polls`);
    failures = 0;
    await until("the admin client asks the new leader", async () => {
      try {
        await admin.listOffsets([{ topic: "follow", partition: 0, spec: "latest" }]);
        return true;
      } catch {
        failures++;
        return false;
      }
    });
    ok(failures <= 1, `${failures} failed listOffsets`);
    await consumer.close();
  } finally {
    await consumerClient.close();
    await client.close();
    await c.close();
  }
});
