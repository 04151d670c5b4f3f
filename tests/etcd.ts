// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * Test harness for cluster mode: real etcd processes (Debian's `etcd-server`, v3.4+) on free
 * ports of 127.0.0.1 with temporary data directories, one member or a 3-member cluster whose
 * members can be killed and started again (fault tests).
 *
 * Tests gate on {@linkcode requireEtcd}: without the `etcd` binary they are skipped with a
 * message, except when `CI=true`, where they fail (as `requireClient` does for Kafka clients).
 *
 * Needs `--allow-all` (subprocesses, network, temp files).
 *
 * @module
 */

import { type ClientRequirement, clientRequirement } from "./harness.ts";

/** The etcd binary (`ETCD_BIN` overrides). */
export const ETCD_BIN: string = Deno.env.get("ETCD_BIN") ?? "etcd";

/** One etcd member process. */
export interface EtcdMember {
  /** Member name (`m0`, `m1`, ...). */
  name: string;
  /** Client URL, `http://127.0.0.1:PORT`. */
  clientUrl: string;
  /** Peer URL. */
  peerUrl: string;
  /** Its data directory. */
  dataDir: string;
  /** Whether its process runs now. */
  readonly running: boolean;
}

/** A running etcd (one member or several) owned by a test. */
export interface TestEtcd {
  /** Client URLs of every member, for `controller.etcd.endpoints`. */
  endpoints: string[];
  /** The members. */
  members: EtcdMember[];
  /** SIGKILL member `i` (its data directory stays). */
  kill(i: number): Promise<void>;
  /** Start member `i` again on its data directory and wait until it is healthy. */
  start(i: number): Promise<void>;
  /** Stop every member (SIGTERM, then SIGKILL) and remove the data directories. Idempotent. */
  stop(): Promise<void>;
  /**
   * The index of the member that is raft leader now, as a running member reports it
   * (`/v3/maintenance/status`), or `undefined` when no running member names one.
   */
  leader(): Promise<number | undefined>;
}

/** Options of {@linkcode startEtcd}. */
export interface StartEtcdOptions {
  /** Members: 1 (default) or 3. */
  members?: number;
  /** How long to wait for health, in milliseconds. Default 30000. */
  timeoutMs?: number;
  /**
   * The address each member listens on (client and peer URLs), one per member. Default
   * `127.0.0.1` for all.
   */
  hosts?: string[];
}

/**
 * Whether etcd is installed; a missing one skips the test outside CI and fails it in CI.
 *
 * @returns The requirement, for `interopTest` or `Deno.test({ ignore })`.
 */
export function requireEtcd(): ClientRequirement {
  let available = false;
  try {
    available = new Deno.Command(ETCD_BIN, { args: ["--version"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    available = false;
  }
  return clientRequirement(
    "etcd",
    available,
    Deno.env.get("CI") === "true",
    "apt-get install etcd-server",
  );
}

/**
 * A free TCP port (the system's choice, released at once).
 *
 * @param hostname The address to find it on. Default `127.0.0.1`.
 * @returns The port.
 */
export function freePort(hostname = "127.0.0.1"): number {
  const l = Deno.listen({ hostname, port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

interface MemberState extends EtcdMember {
  child: Deno.ChildProcess | undefined;
  exited: Promise<Deno.CommandStatus> | undefined;
  log: string;
}

/**
 * Start etcd: one member, or a cluster of `members`, each on free ports of 127.0.0.1 with a
 * fresh data directory, and wait until every member answers `/health` with `true`.
 *
 * @example
 * ```ts ignore
 * import { startEtcd } from "./etcd.ts";
 *
 * const etcd = await startEtcd();
 * console.log(etcd.endpoints); // ["http://127.0.0.1:PORT"]
 * await etcd.stop();
 * ```
 *
 * @param options Member count, health timeout.
 * @returns The running etcd; call `stop()` when done.
 * @throws {Error} If etcd does not start or become healthy in time (its log tail is in the
 *   message).
 */
export async function startEtcd(options: StartEtcdOptions = {}): Promise<TestEtcd> {
  const count = options.members ?? 1;
  const timeoutMs = options.timeoutMs ?? 30_000;
  const hosts = options.hosts ?? new Array(count).fill("127.0.0.1");
  if (hosts.length !== count) {
    throw new RangeError(`start etcd: ${hosts.length} hosts for ${count} members`);
  }
  const root = await Deno.makeTempDir({ prefix: "sluice_etcd_" });
  const members: MemberState[] = [];
  for (let i = 0; i < count; i++) {
    members.push({
      name: `m${i}`,
      clientUrl: `http://${hosts[i]}:${freePort(hosts[i])}`,
      peerUrl: `http://${hosts[i]}:${freePort(hosts[i])}`,
      dataDir: `${root}/m${i}`,
      child: undefined,
      exited: undefined,
      log: `${root}/m${i}.log`,
      get running() {
        return this.child !== undefined;
      },
    });
  }
  const initialCluster = members.map((m) => `${m.name}=${m.peerUrl}`).join(",");
  const token = `sluice-${crypto.randomUUID()}`;

  const spawn = async (m: MemberState) => {
    const log = await Deno.open(m.log, { create: true, append: true });
    const child = new Deno.Command(ETCD_BIN, {
      args: [
        "--name",
        m.name,
        "--data-dir",
        m.dataDir,
        "--listen-client-urls",
        m.clientUrl,
        "--advertise-client-urls",
        m.clientUrl,
        "--listen-peer-urls",
        m.peerUrl,
        "--initial-advertise-peer-urls",
        m.peerUrl,
        "--initial-cluster",
        initialCluster,
        "--initial-cluster-state",
        "new",
        "--initial-cluster-token",
        token,
        "--log-level",
        "warn",
      ],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    child.stderr.pipeTo(log.writable).catch(() => {});
    m.child = child;
    m.exited = child.status;
  };

  const healthy = async (m: MemberState): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    let last = "";
    while (Date.now() < deadline) {
      if (m.child === undefined) throw new Error(`etcd ${m.name} is not running`);
      const status = await Promise.race([
        m.exited!,
        new Promise<undefined>((r) => setTimeout(() => r(undefined), 0)),
      ]);
      if (status !== undefined) {
        m.child = undefined;
        throw new Error(`etcd ${m.name} exited with ${status.code}:\n${await tail(m.log)}`);
      }
      try {
        const res = await fetch(`${m.clientUrl}/health`, { signal: AbortSignal.timeout(1000) });
        const body = await res.text();
        if (res.ok && body.includes('"true"')) return;
        last = body;
      } catch (e) {
        last = e instanceof Error ? e.message : String(e);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(
      `etcd ${m.name} not healthy within ${timeoutMs} ms (${last}):\n${await tail(m.log)}`,
    );
  };

  const killMember = async (m: MemberState, signal: Deno.Signal) => {
    if (m.child === undefined) return;
    try {
      m.child.kill(signal);
    } catch {
      // already exited
    }
    await m.exited;
    m.child = undefined;
  };

  let stopped: Promise<void> | undefined;
  const etcd: TestEtcd = {
    endpoints: members.map((m) => m.clientUrl),
    members,
    async kill(i) {
      await killMember(members[i], "SIGKILL");
    },
    async start(i) {
      const m = members[i];
      if (m.child !== undefined) return;
      await spawn(m);
      await healthy(m);
    },
    stop() {
      stopped ??= (async () => {
        await Promise.all(members.map(async (m) => {
          if (m.child === undefined) return;
          const timer = setTimeout(() => {
            try {
              m.child?.kill("SIGKILL");
            } catch {
              // exited
            }
          }, 5000);
          await killMember(m, "SIGTERM");
          clearTimeout(timer);
        }));
        await Deno.remove(root, { recursive: true }).catch(() => {});
      })();
      return stopped;
    },
    async leader() {
      for (const m of members) {
        if (m.child === undefined) continue;
        try {
          const res = await fetch(`${m.clientUrl}/v3/maintenance/status`, {
            method: "POST",
            body: "{}",
            signal: AbortSignal.timeout(1000),
          });
          const body = await res.json() as { header?: { member_id?: string }; leader?: string };
          if (!res.ok || body.leader === undefined || body.leader === "0") continue;
          // each member's own id is in its header: find the one whose id is the leader's
          for (let i = 0; i < members.length; i++) {
            if (members[i].child === undefined) continue;
            const r = await fetch(`${members[i].clientUrl}/v3/maintenance/status`, {
              method: "POST",
              body: "{}",
              signal: AbortSignal.timeout(1000),
            });
            const b = await r.json() as { header?: { member_id?: string } };
            if (b.header?.member_id === body.leader) return i;
          }
        } catch {
          // this member does not answer: ask the next
        }
      }
      return undefined;
    },
  };
  try {
    for (const m of members) await spawn(m);
    await Promise.all(members.map(healthy));
  } catch (e) {
    await etcd.stop();
    throw e;
  }
  return etcd;
}

async function tail(file: string): Promise<string> {
  try {
    return (await Deno.readTextFile(file)).split("\n").slice(-20).join("\n");
  } catch {
    return "(no log)";
  }
}

/**
 * One etcd shared by the tests of a file: started on first use, stopped after the file's last
 * test. Tests sharing it use distinct key prefixes ({@linkcode uniquePrefix}).
 *
 * @returns A function resolving to the running etcd.
 */
export function sharedEtcd(): () => Promise<TestEtcd> {
  let started: Promise<TestEtcd> | undefined;
  Deno.test.afterAll(async () => {
    if (started) await (await started.catch(() => undefined))?.stop();
  });
  return () => (started ??= startEtcd());
}

let prefixCounter = 0;

/**
 * A key prefix unique within this process: `/test-<pid>-<n>`.
 *
 * @returns The prefix (no trailing slash).
 */
export function uniquePrefix(): string {
  return `/test-${Deno.pid}-${++prefixCounter}`;
}
