// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * The fault harness's network: each broker in its own network namespace, joined to the machine
 * by a veth pair on a bridge that this run creates, so that one broker can be cut off from the
 * others and from etcd, and healed, without touching any other process or rule of the machine.
 *
 * ```text
 *   root namespace                          namespace sluice-faults-<pid>-b1   (b2, b3 alike)
 *   bridge slf<id>  X.1   clients, harness  ┌──────────────────────────────┐
 *                   X.2…  etcd members      │ eth0 X.11   broker 1 :9092   │
 *        └── veth slf<id>v1 ────────────────┤ nftables table sluice_faults │
 *                                           └──────────────────────────────┘
 * ```
 *
 * `X` is a /24 of 198.18.0.0/15 (RFC 2544's benchmarking range, routed nowhere) that no interface
 * of the machine uses. Traffic between namespaces is bridged (layer 2): no IP forwarding, no rule
 * in the root namespace. A broker is isolated by an nftables table inside its own namespace that
 * drops every packet to and from the chosen peers (the other brokers and the etcd members; the
 * clients too with `clients: true`): a silent drop, as a cut cable or a partition, not a refused
 * connection. Healing deletes the table. {@linkcode FaultNetwork.close} kills what still runs in
 * the namespaces (processes the harness started there), deletes them (their veth pairs and rules
 * go with them) and the bridge. A run that died without closing is cleaned up by the next one
 * ({@linkcode cleanStaleNetworks}: names carry the owning process id).
 *
 * Needs root, `ip` (iproute2) and `nft` (nftables), and `--allow-run --allow-read`.
 *
 * @module
 */

import { type ClientRequirement, clientRequirement } from "../harness.ts";

/** Prefix of the namespaces a run creates: `sluice-faults-<pid>-<run>-b<n>`. */
export const NAMESPACE_PREFIX = "sluice-faults-";
/** Prefix of the bridge and veth names a run creates: `slf<pid base 36>-<run>`, `…v<n>`. */
export const LINK_PREFIX = "slf";
/** The nftables table that isolates a broker, inside its namespace. */
export const FAULT_TABLE = "sluice_faults";

/** Which traffic an isolation drops. */
export interface IsolateOptions {
  /** Also drop the clients' and the harness's traffic (default: only brokers and etcd). */
  clients?: boolean;
}

/**
 * Runs a command and returns its stdout.
 *
 * @param cmd The program.
 * @param args Its arguments.
 * @param stdin Text for its standard input.
 * @returns What it printed.
 * @throws {Error} `"<cmd> <args>: exit <code>: <stderr>"` when it fails.
 */
export async function run(cmd: string, args: string[], stdin?: string): Promise<string> {
  const child = new Deno.Command(cmd, {
    args,
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(stdin));
    await w.close();
  }
  const out = await child.output();
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success) {
    const err = new TextDecoder().decode(out.stderr).trim();
    throw new Error(`${cmd} ${args.join(" ")}: exit ${out.code}: ${err}`);
  }
  return text;
}

function probe(cmd: string, args: string[]): boolean {
  try {
    return new Deno.Command(cmd, { args, stdin: "null", stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
}

/**
 * Whether this machine can run the harness's network: root, `ip` and `nft`. Missing, the tests
 * that need it are skipped with a message, except with `CI=true`, where they fail.
 *
 * @returns The requirement.
 */
export function requireNetns(): ClientRequirement {
  const root = Deno.uid?.() === 0;
  const available = root && probe("ip", ["netns", "list"]) && probe("nft", ["--version"]);
  return clientRequirement(
    "network namespaces",
    available,
    Deno.env.get("CI") === "true",
    root ? "apt-get install iproute2 nftables" : "run as root (ip netns, nft)",
  );
}

function alive(pid: number): boolean {
  try {
    Deno.statSync(`/proc/${pid}`);
    return true;
  } catch {
    return false;
  }
}

/** The process ids running in a namespace (`ip netns pids`). */
async function namespacePids(ns: string): Promise<number[]> {
  try {
    return (await run("ip", ["netns", "pids", ns])).split(/\s+/).filter((s) => s !== "")
      .map(Number).filter((n) => Number.isInteger(n) && n > 0);
  } catch {
    return [];
  }
}

/** SIGKILLs every process in a namespace (each one by id), then deletes the namespace. */
async function deleteNamespace(ns: string): Promise<void> {
  for (let round = 0; round < 50; round++) {
    const pids = await namespacePids(ns);
    if (pids.length === 0) break;
    for (const pid of pids) {
      try {
        Deno.kill(pid, "SIGKILL");
      } catch { /* gone */ }
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  await run("ip", ["netns", "del", ns]).catch(() => {});
}

/**
 * Removes the namespaces and bridges of earlier runs whose process is gone (a harness killed
 * before it could clean up), with whatever still runs in those namespaces.
 *
 * @returns The names removed.
 */
export async function cleanStaleNetworks(): Promise<string[]> {
  const removed: string[] = [];
  const names = (await run("ip", ["netns", "list"]).catch(() => "")).split("\n")
    .map((l) => l.split(" ")[0]).filter((n) => n.startsWith(NAMESPACE_PREFIX));
  for (const ns of names) {
    const m = ns.slice(NAMESPACE_PREFIX.length).match(/^(\d+)(?:-[0-9a-z]+)?-b\d+$/);
    if (!m || alive(Number(m[1]))) continue;
    await deleteNamespace(ns);
    removed.push(ns);
  }
  const links = JSON.parse(await run("ip", ["-j", "link", "show", "type", "bridge"])) as Array<
    { ifname: string }
  >;
  for (const { ifname } of links) {
    const m = ifname.match(new RegExp(`^${LINK_PREFIX}([0-9a-z]+)(?:-[0-9a-z]+)?$`));
    if (!m || alive(parseInt(m[1], 36))) continue;
    await run("ip", ["link", "del", ifname]).catch(() => {});
    removed.push(ifname);
  }
  return removed;
}

/** Picks a /24 of 198.18.0.0/15 that no address of the machine is in. */
async function freeSubnet(): Promise<string> {
  const addrs = JSON.parse(await run("ip", ["-j", "-4", "addr"])) as Array<
    { addr_info?: Array<{ local?: string }> }
  >;
  const used = new Set<string>();
  for (const a of addrs) {
    for (const i of a.addr_info ?? []) {
      if (i.local) used.add(i.local.split(".").slice(0, 3).join("."));
    }
  }
  const routes = JSON.parse(await run("ip", ["-j", "-4", "route", "show", "table", "all"]))
    .map((r: { dst?: string }) => r.dst ?? "") as string[];
  // random: test files run in parallel share the process (and its pid)
  const start = crypto.getRandomValues(new Uint16Array(1))[0] % 512;
  for (let k = 0; k < 512; k++) {
    const n = (start + k) % 512;
    const net = `198.${18 + (n >> 8)}.${n & 255}`;
    if (used.has(net) || routes.some((d) => d.startsWith(`${net}.`))) continue;
    return net;
  }
  throw new Error("network: every /24 of 198.18.0.0/15 is in use on this machine");
}

/**
 * The namespaces, bridge and addresses of one run.
 *
 * @example
 * ```ts ignore
 * import { FaultNetwork } from "./network.ts";
 * const net = await FaultNetwork.create({ brokers: 3, etcdMembers: 1 });
 * try {
 *   await net.isolate(0);   // broker 1 cut off from brokers 2, 3 and etcd
 *   await net.heal(0);
 * } finally {
 *   await net.close();
 * }
 * ```
 */
export class FaultNetwork {
  /** The address clients and the harness connect from (the bridge's first address). */
  readonly clientHost: string;
  /** The address of each etcd member (on the bridge, root namespace). */
  readonly etcdHosts: string[];
  /** The address of broker `i` (node id `i + 1`), inside its namespace. */
  readonly brokerHosts: string[];
  /** The namespace of broker `i`. */
  readonly namespaces: string[];
  /** The bridge's name. */
  readonly bridge: string;
  #isolated = new Set<number>();
  #closed: Promise<void> | undefined;

  private constructor(net: string, brokers: number, etcdMembers: number) {
    // the run: two test files run in parallel (`deno test --parallel`) share the process's pid
    const run = crypto.getRandomValues(new Uint16Array(1))[0].toString(36).padStart(2, "0")
      .slice(-2);
    this.bridge = `${LINK_PREFIX}${Deno.pid.toString(36)}-${run}`;
    this.clientHost = `${net}.1`;
    this.etcdHosts = Array.from({ length: etcdMembers }, (_, i) => `${net}.${2 + i}`);
    this.brokerHosts = Array.from({ length: brokers }, (_, i) => `${net}.${11 + i}`);
    this.namespaces = Array.from(
      { length: brokers },
      (_, i) => `${NAMESPACE_PREFIX}${Deno.pid}-${run}-b${i + 1}`,
    );
  }

  /**
   * Creates the bridge and one namespace per broker (after removing what dead runs left).
   *
   * @param options How many brokers and etcd members.
   * @returns The network; call {@linkcode FaultNetwork.close} when done.
   * @throws {Error} If a command fails (what was created is removed again).
   */
  static async create(options: { brokers: number; etcdMembers: number }): Promise<FaultNetwork> {
    if (options.brokers < 1 || options.brokers > 200 || options.etcdMembers > 8) {
      throw new RangeError("network: 1 to 200 brokers, at most 8 etcd members");
    }
    await cleanStaleNetworks();
    const net = new FaultNetwork(await freeSubnet(), options.brokers, options.etcdMembers);
    try {
      await run("ip", ["link", "add", net.bridge, "type", "bridge"]);
      await run("ip", ["link", "set", net.bridge, "up"]);
      for (const host of [net.clientHost, ...net.etcdHosts]) {
        await run("ip", ["addr", "add", `${host}/24`, "dev", net.bridge]);
      }
      for (let i = 0; i < options.brokers; i++) {
        const ns = net.namespaces[i];
        const veth = `${net.bridge}v${i + 1}`;
        await run("ip", ["netns", "add", ns]);
        await run("ip", ["link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns]);
        await run("ip", ["link", "set", veth, "master", net.bridge]);
        await run("ip", ["link", "set", veth, "up"]);
        await run("ip", ["-n", ns, "link", "set", "lo", "up"]);
        await run("ip", ["-n", ns, "addr", "add", `${net.brokerHosts[i]}/24`, "dev", "eth0"]);
        await run("ip", ["-n", ns, "link", "set", "eth0", "up"]);
      }
    } catch (e) {
      await net.close();
      throw e;
    }
    return net;
  }

  /**
   * The command prefix that runs a program in broker `i`'s namespace (`ip netns exec` execs it
   * in place: same process id, so signals reach the program itself).
   *
   * @param i Broker index.
   * @returns `["ip", "netns", "exec", <namespace>]`.
   */
  wrap(i: number): string[] {
    return ["ip", "netns", "exec", this.namespaces[i]];
  }

  /** Whether broker `i` is isolated now. */
  isIsolated(i: number): boolean {
    return this.#isolated.has(i);
  }

  /**
   * Cuts broker `i` off: every packet between its namespace and the other brokers and the etcd
   * members (and the clients, if asked) is dropped, both ways, until {@linkcode FaultNetwork.heal}.
   *
   * @param i Broker index.
   * @param options Whether the clients are cut off too.
   * @throws {Error} If nft fails.
   */
  async isolate(i: number, options: IsolateOptions = {}): Promise<void> {
    const peers = [
      ...this.brokerHosts.filter((_, j) => j !== i),
      ...this.etcdHosts,
      ...(options.clients ? [this.clientHost] : []),
    ].join(", ");
    await this.#nft(i, ["delete", "table", "inet", FAULT_TABLE]).catch(() => {});
    await run(
      "ip",
      ["netns", "exec", this.namespaces[i], "nft", "-f", "-"],
      [
        `table inet ${FAULT_TABLE} {`,
        `  chain input { type filter hook input priority 0; policy accept; ip saddr { ${peers} } drop; }`,
        `  chain output { type filter hook output priority 0; policy accept; ip daddr { ${peers} } drop; }`,
        `}`,
        "",
      ].join("\n"),
    );
    this.#isolated.add(i);
  }

  /**
   * Lets broker `i`'s traffic through again.
   *
   * @param i Broker index.
   * @throws {Error} If nft fails (other than for a table already gone).
   */
  async heal(i: number): Promise<void> {
    await this.#nft(i, ["delete", "table", "inet", FAULT_TABLE]).catch((e) => {
      if (!/No such file or directory/.test(String(e))) throw e;
    });
    this.#isolated.delete(i);
  }

  /** Heals every isolated broker. */
  async healAll(): Promise<void> {
    for (const i of [...this.#isolated]) await this.heal(i);
  }

  #nft(i: number, args: string[]): Promise<string> {
    return run("ip", ["netns", "exec", this.namespaces[i], "nft", ...args]);
  }

  /**
   * Kills what still runs in the namespaces, deletes them and the bridge. Idempotent.
   */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      for (const ns of this.namespaces) await deleteNamespace(ns);
      // The kernel tears a deleted namespace down later (a work queue), and with it the host end
      // of its veth pair: delete those ends now, so nothing of this run is listed after close().
      for (let i = 0; i < this.namespaces.length; i++) {
        await run("ip", ["link", "del", `${this.bridge}v${i + 1}`]).catch(() => {});
      }
      await run("ip", ["link", "del", this.bridge]).catch(() => {});
    })();
    return this.#closed;
  }
}
