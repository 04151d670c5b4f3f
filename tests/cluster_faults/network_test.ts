// Copyright 2026 the Sluice authors. Apache-2.0 license.
// The fault harness's network on this machine (root, ip, nft): a broker's namespace reaches the
// clients' address, the other namespaces and the etcd addresses over the bridge; isolated, it
// reaches none but the clients (a silent drop: the connection times out, it is not refused), and
// healed, all again; close() kills what runs in the namespaces and leaves no namespace, bridge or
// veth behind; what a dead run left is removed by the next.
import { deepStrictEqual as assertEquals, ok, rejects } from "node:assert/strict";
import {
  cleanStaleNetworks,
  FaultNetwork,
  LINK_PREFIX,
  NAMESPACE_PREFIX,
  requireNetns,
  run,
} from "./network.ts";

const netns = requireNetns();

function test(name: string, fn: () => Promise<void>): void {
  Deno.test({
    name: `fault network: ${name}`,
    ignore: netns.ignore,
    sanitizeOps: false,
    sanitizeResources: false,
    async fn() {
      netns.assertAvailable();
      await fn();
    },
  });
}

/** A TCP server in broker `i`'s namespace that answers "hi" to every connection. */
function serveIn(net: FaultNetwork, i: number, port: number): Deno.ChildProcess {
  const code = `const l = Deno.listen({ hostname: "${net.brokerHosts[i]}", port: ${port} });
    console.log("up");
    for await (const c of l) { await c.write(new TextEncoder().encode("hi")); c.close(); }`;
  const [cmd, ...args] = net.wrap(i);
  return new Deno.Command(cmd, {
    args: [...args, Deno.execPath(), "eval", code],
    stdin: "null",
    stdout: "piped",
    stderr: "null",
  }).spawn();
}

/** Connects from broker `from`'s namespace (or the root one) to host:port: "ok" or the error. */
async function connectFrom(
  net: FaultNetwork,
  from: number | undefined,
  host: string,
  port: number,
): Promise<string> {
  const code = `try {
      const c = await Deno.connect({ hostname: "${host}", port: ${port}, signal: AbortSignal.timeout(1500) });
      c.close(); console.log("ok");
    } catch (e) { console.log(e.name); }`;
  const prefix = from === undefined ? [] : net.wrap(from);
  const out = await run(prefix[0] ?? Deno.execPath(), [
    ...prefix.slice(1),
    ...(prefix.length > 0 ? [Deno.execPath()] : []),
    "eval",
    code,
  ]);
  return out.trim();
}

async function waitUp(child: Deno.ChildProcess): Promise<void> {
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const { value } = await reader.read();
  reader.releaseLock();
  ok(value?.includes("up"), `server did not start: ${value}`);
}

test("isolate cuts a broker off from the others and etcd, not from the clients; heal undoes it", async () => {
  const net = await FaultNetwork.create({ brokers: 3, etcdMembers: 1 });
  const servers: Deno.ChildProcess[] = [];
  let etcdLike: Deno.Listener | undefined;
  try {
    servers.push(serveIn(net, 0, 9092), serveIn(net, 1, 9092));
    for (const s of servers) await waitUp(s);
    etcdLike = Deno.listen({ hostname: net.etcdHosts[0], port: 0 });
    const etcdPort = (etcdLike.addr as Deno.NetAddr).port;
    (async () => {
      for await (const c of etcdLike!) c.close();
    })().catch(() => {});
    const b1 = net.brokerHosts[0], b2 = net.brokerHosts[1];
    assertEquals(
      [
        await connectFrom(net, undefined, b1, 9092), // a client
        await connectFrom(net, 1, b1, 9092), // broker 2 → broker 1
        await connectFrom(net, 0, b2, 9092), // broker 1 → broker 2
        await connectFrom(net, 0, net.etcdHosts[0], etcdPort), // broker 1 → etcd
      ],
      ["ok", "ok", "ok", "ok"],
    );
    await net.isolate(0);
    ok(net.isIsolated(0));
    assertEquals(
      [
        await connectFrom(net, undefined, b1, 9092),
        await connectFrom(net, 1, b1, 9092),
        await connectFrom(net, 0, b2, 9092),
        await connectFrom(net, 0, net.etcdHosts[0], etcdPort),
        await connectFrom(net, 2, b2, 9092), // brokers 3 → 2 are not affected
      ],
      ["ok", "TimeoutError", "TimeoutError", "TimeoutError", "ok"],
    );
    await net.isolate(0, { clients: true });
    assertEquals(await connectFrom(net, undefined, b1, 9092), "TimeoutError");
    await net.heal(0);
    await net.heal(0); // twice is fine
    ok(!net.isIsolated(0));
    assertEquals(
      [
        await connectFrom(net, undefined, b1, 9092),
        await connectFrom(net, 1, b1, 9092),
        await connectFrom(net, 0, net.etcdHosts[0], etcdPort),
      ],
      ["ok", "ok", "ok"],
    );
  } finally {
    etcdLike?.close();
    await net.close(); // kills the servers inside the namespaces
    for (const s of servers) await s.status;
  }
  // names listed, exactly (another test file's run in this process shares the pid in its names)
  const names = (out: string) => out.split("\n").map((l) => l.split(/[\s@]/)[0]).filter(Boolean);
  const namespaces = names(await run("ip", ["netns", "list"]));
  for (const ns of net.namespaces) ok(!namespaces.includes(ns), `${ns} left behind`);
  const links = names(await run("ip", ["-br", "link"]));
  const ours = [net.bridge, ...net.namespaces.map((_, i) => `${net.bridge}v${i + 1}`)];
  for (const link of ours) ok(!links.includes(link), `${link} left behind`);
  await rejects(net.isolate(0)); // the namespace is gone
});

test("what a dead run left is removed by the next; live runs' are kept", async () => {
  // a run whose process is gone (pid 2^22 + 1 is above Linux's pid_max, so never alive)
  const dead = 4194305;
  const ns = `${NAMESPACE_PREFIX}${dead}-b1`;
  const bridge = `${LINK_PREFIX}${dead.toString(36)}`;
  await run("ip", ["netns", "add", ns]);
  await run("ip", ["link", "add", bridge, "type", "bridge"]);
  // and one of this process, alive
  const mine = `${NAMESPACE_PREFIX}${Deno.pid}-b9`;
  await run("ip", ["netns", "add", mine]);
  try {
    const removed = await cleanStaleNetworks();
    ok(removed.includes(ns) && removed.includes(bridge), `removed ${removed}`);
    ok(!removed.includes(mine));
    ok(!(await run("ip", ["netns", "list"])).includes(ns));
  } finally {
    await run("ip", ["netns", "del", mine]).catch(() => {});
    await run("ip", ["netns", "del", ns]).catch(() => {});
    await run("ip", ["link", "del", bridge]).catch(() => {});
  }
});
