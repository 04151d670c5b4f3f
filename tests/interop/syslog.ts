/**
 * Helpers for the log shippers' interop tests (`rsyslog_test.ts`, `syslog_ng_test.ts`): where
 * rsyslog (with `rsyslog-kafka`) and syslog-ng (with `syslog-ng-mod-rdkafka`) are, a daemon run in
 * the foreground with a private configuration (killed by {@linkcode Daemon.stop}), syslog lines
 * sent over TCP and UDP, and the records of a topic read back with our client.
 *
 * The two Debian packages conflict (each `Provides: system-log-daemon`), so at most one can be
 * installed as the system's log daemon; the tests use an installed one, else the one unpacked
 * (`apt-get download` + `dpkg-deb -x`, no maintainer scripts, nothing started) into
 * `<cache>/debs/<package>/` (the cache of `tools/librdkafka.ts`: `$SLUICE_CACHE_DIR`, else
 * `$XDG_CACHE_HOME/sluice`, else `~/.cache/sluice`), which is what `.ci/run` does. The daemons
 * never touch the system's syslog: no `/dev/log`, their own pid, state and work files.
 *
 * @module
 */

import { createSocket } from "node:dgram";
import {
  type ClientRequirement,
  clientRequirement,
  startBroker,
  type TestBroker,
  withTimeout,
} from "../harness.ts";
import { cacheRoot } from "../../tools/librdkafka.ts";
import { Admin } from "../../client/admin.ts";
import { Client } from "../../client/client.ts";
import { Consumer } from "../../client/consumer.ts";

/** Where a log daemon's files are (a root: `/` when installed, else the unpacked packages). */
export interface Shipper {
  /** The daemon's binary. */
  binary: string;
  /** Its module directory. */
  modules: string;
  /** Extra environment (the unpacked syslog-ng needs its libraries on `LD_LIBRARY_PATH`). */
  env: Record<string, string>;
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** The multiarch library directory under `root` holding `sub` (e.g. `rsyslog/omkafka.so`). */
function multiarch(root: string, sub: string): string | undefined {
  try {
    for (const e of Deno.readDirSync(`${root}/usr/lib`)) {
      if (e.isDirectory && exists(`${root}/usr/lib/${e.name}/${sub}`)) {
        return `${root}/usr/lib/${e.name}`;
      }
    }
  } catch {
    // no such root
  }
  return undefined;
}

function unpacked(pkg: string): string {
  try {
    return `${cacheRoot()}/debs/${pkg}`;
  } catch {
    return "/nonexistent";
  }
}

/** rsyslogd with omkafka and imkafka, or `undefined`. */
export function findRsyslog(): Shipper | undefined {
  for (const root of ["", unpacked("rsyslog")]) {
    const lib = multiarch(root, "rsyslog/omkafka.so");
    if (exists(`${root}/usr/sbin/rsyslogd`) && lib && exists(`${lib}/rsyslog/imkafka.so`)) {
      return { binary: `${root}/usr/sbin/rsyslogd`, modules: `${lib}/rsyslog`, env: {} };
    }
  }
  return undefined;
}

/** syslog-ng with its kafka-c() module, or `undefined`. */
export function findSyslogNg(): Shipper | undefined {
  for (const root of ["", unpacked("syslog-ng")]) {
    const modules = `${root}/usr/lib/syslog-ng/3.38`;
    if (exists(`${root}/usr/sbin/syslog-ng`) && exists(`${modules}/libkafka.so`)) {
      return {
        binary: `${root}/usr/sbin/syslog-ng`,
        modules,
        env: root === "" ? {} : { LD_LIBRARY_PATH: `${root}/usr/lib/syslog-ng` },
      };
    }
  }
  return undefined;
}

const HINT = "apt-get install DEB, or unpack it as .ci/run does (it conflicts with the other " +
  "syslog daemon): apt-get download DEB && dpkg-deb -x each into ~/.cache/sluice/debs/NAME";

/** The rsyslog requirement (ignored when missing outside CI, failing under `CI=true`). */
export function requireRsyslog(): ClientRequirement {
  return clientRequirement(
    "rsyslog",
    findRsyslog() !== undefined,
    Deno.env.get("CI") === "true",
    HINT.replaceAll("DEB", "rsyslog rsyslog-kafka").replace("NAME", "rsyslog"),
  );
}

/** The syslog-ng requirement (ignored when missing outside CI, failing under `CI=true`). */
export function requireSyslogNg(): ClientRequirement {
  return clientRequirement(
    "syslog-ng",
    findSyslogNg() !== undefined,
    Deno.env.get("CI") === "true",
    HINT.replaceAll("DEB", "syslog-ng-core syslog-ng-mod-rdkafka").replace("NAME", "syslog-ng"),
  );
}

/** A free TCP (and, very likely, UDP) port on 127.0.0.1. */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** A daemon running in the foreground. */
export interface Daemon {
  /** Everything it printed so far (stdout and stderr). */
  output(): string;
  /** SIGTERM, then SIGKILL after 5 s; resolves when it has exited. Safe to call twice. */
  stop(): Promise<void>;
}

/**
 * Start a daemon in the foreground, its output collected.
 *
 * @param binary The program.
 * @param args Its arguments.
 * @param env Extra environment.
 * @returns The running daemon.
 */
export function startDaemon(binary: string, args: string[], env: Record<string, string>): Daemon {
  const child = new Deno.Command(binary, {
    args,
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let text = "";
  const pump = async (s: ReadableStream<Uint8Array>) => {
    for await (const chunk of s.pipeThrough(new TextDecoderStream())) text += chunk;
  };
  const pumps = Promise.all([pump(child.stdout), pump(child.stderr)]);
  let stopped: Promise<void> | undefined;
  return {
    output: () => text,
    stop(): Promise<void> {
      stopped ??= (async () => {
        try {
          child.kill("SIGTERM");
        } catch {
          // already exited
        }
        const timer = setTimeout(() => {
          try {
            child.kill("SIGKILL");
          } catch {
            // exited meanwhile
          }
        }, 5_000);
        await child.status;
        clearTimeout(timer);
        await pumps;
      })();
      return stopped;
    },
  };
}

/**
 * Wait until a TCP port accepts connections.
 *
 * @param port The port on 127.0.0.1.
 * @param daemon Whose output goes into the error.
 * @param ms At most this long.
 * @throws {Error} With the daemon's output when the port does not open in time.
 */
export async function waitForPort(port: number, daemon: Daemon, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      return;
    } catch {
      if (Date.now() > deadline) {
        throw new Error(`port ${port} not listening after ${ms} ms:\n${daemon.output()}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** An RFC 3164 line as a device would send it: `<13>Dec  6 13:00:00 HOST PROGRAM: TEXT`. */
export function syslogLine(host: string, program: string, text: string): string {
  return `<13>Dec  6 13:00:00 ${host} ${program}: ${text}`;
}

/**
 * Send lines over one TCP connection (newline-framed), then close it.
 *
 * @param port The daemon's TCP input.
 * @param lines The lines.
 */
export async function sendTcp(port: number, lines: string[]): Promise<void> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    const data = new TextEncoder().encode(lines.map((l) => `${l}\n`).join(""));
    for (let off = 0; off < data.length;) off += await conn.write(data.subarray(off));
  } finally {
    conn.close();
  }
}

/**
 * Send each line as one UDP datagram.
 *
 * @param port The daemon's UDP input.
 * @param lines The lines.
 */
export async function sendUdp(port: number, lines: string[]): Promise<void> {
  const sock = createSocket("udp4");
  try {
    for (const l of lines) {
      await new Promise<void>((resolve, reject) =>
        sock.send(l, port, "127.0.0.1", (err: Error | null) => err ? reject(err) : resolve())
      );
    }
  } finally {
    sock.close();
  }
}

/** A record as the tests compare it. */
export interface ShippedRecord {
  partition: number;
  offset: number;
  key: string | null;
  value: string;
}

/**
 * Read `topic` from the beginning of every partition with our client (read_committed) until at
 * least `count` records came, then half a second more (so that extra copies show), sorted by
 * partition and offset.
 *
 * @param bootstrap The broker.
 * @param topic The topic.
 * @param count How many records to wait for.
 * @param daemon Whose output goes into the error.
 * @param ms At most this long.
 * @returns The records.
 * @throws {Error} With what arrived and the daemon's output when fewer arrive in time.
 */
export async function waitForRecords(
  bootstrap: string,
  topic: string,
  count: number,
  daemon: Daemon,
  ms = 20_000,
): Promise<ShippedRecord[]> {
  const client = new Client({ bootstrapServers: [bootstrap], clientId: "sluice-syslog-test" });
  const deadline = Date.now() + ms;
  const out: ShippedRecord[] = [];
  const fail = (what: string) =>
    new Error(`${topic}: ${what} after ${ms} ms (${out.length} of ${count}):\n${daemon.output()}`);
  const text = (b: Uint8Array | null) => b === null ? null : new TextDecoder().decode(b);
  try {
    let partitions = 0;
    while (partitions === 0) {
      const md = await client.refreshMetadata([topic], { allowAutoTopicCreation: false })
        .catch(() => []);
      partitions = md.find((t) => t.name === topic)?.partitions.length ?? 0;
      if (partitions > 0) break;
      if (Date.now() > deadline) throw fail("no such topic");
      await new Promise((r) => setTimeout(r, 200));
    }
    const consumer = new Consumer(client, { fromBeginning: true, isolationLevel: 1 });
    try {
      await consumer.assign(
        Array.from({ length: partitions }, (_, p) => ({ topic, partition: p })),
      );
      let until = Infinity;
      while (Date.now() < until) {
        if (Date.now() > deadline) throw fail("too few records");
        for (const r of await consumer.poll({ maxWaitMs: 100 })) {
          out.push({
            partition: r.partition,
            offset: Number(r.offset),
            key: text(r.key),
            value: text(r.value) ?? "",
          });
        }
        if (out.length >= count && until === Infinity) until = Date.now() + 500;
      }
    } finally {
      await consumer.close();
    }
    return out.sort((a, b) => a.partition - b.partition || a.offset - b.offset);
  } finally {
    await withTimeout(client.close(), 5_000, "close client").catch(() => {});
  }
}

/**
 * Wait until a file holds at least `count` lines.
 *
 * @param path The file.
 * @param count How many lines.
 * @param daemon Whose output goes into the error.
 * @param ms At most this long.
 * @returns Its lines.
 * @throws {Error} With what arrived and the daemon's output when fewer arrive in time.
 */
export async function waitForLines(
  path: string,
  count: number,
  daemon: Daemon,
  ms = 20_000,
): Promise<string[]> {
  const deadline = Date.now() + ms;
  for (;;) {
    const text = await Deno.readTextFile(path).catch(() => "");
    const lines = text.split("\n").filter((l) => l !== "");
    if (lines.length >= count) return lines;
    if (Date.now() > deadline) {
      throw new Error(`${path}: ${lines.length} of ${count} lines:\n${text}\n${daemon.output()}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** What one shipper test runs against (see {@linkcode withShipperRun}). */
export interface ShipperRun {
  /** The broker. */
  broker: TestBroker;
  /** A scratch directory for the daemon's configuration and files. */
  dir: string;
  /** Keep `daemon` to be stopped when the test ends; returns it. */
  own(daemon: Daemon): Daemon;
}

/**
 * Run `body` against a fresh broker and scratch directory; afterwards, whatever `body` did, stop
 * the daemon it {@linkcode ShipperRun.own}ed, close the broker and remove the directory.
 *
 * @param prefix The scratch directory's name prefix.
 * @param brokerOptions Broker settings (see `startBroker`).
 * @param body The test.
 */
export async function withShipperRun(
  prefix: string,
  brokerOptions: Parameters<typeof startBroker>[0],
  body: (run: ShipperRun) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix });
  const broker = await startBroker(brokerOptions);
  let daemon: Daemon | undefined;
  try {
    await body({ broker, dir, own: (d) => daemon = d });
  } finally {
    await daemon?.stop();
    await broker.close();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/**
 * Run `body` with an admin client on `bootstrap`, closed afterwards.
 *
 * @param bootstrap The broker.
 * @param body What to do with the admin client.
 * @returns What `body` returns.
 */
export async function withAdmin<T>(
  bootstrap: string,
  body: (admin: Admin) => Promise<T>,
): Promise<T> {
  const client = new Client({ bootstrapServers: [bootstrap] });
  try {
    return await body(new Admin(client));
  } finally {
    await client.close();
  }
}

/** A syslog line sent: its header's host and program, and its text. */
export interface SentLine {
  /** HOSTNAME. */
  host: string;
  /** The program (TAG). */
  program: string;
  /** The message. */
  text: string;
}

/**
 * Send 30 lines over TCP (`tcp line <i>`, from hosta, hostb and hostc in turn, program
 * `program(i)`), wait until `topic` holds them, then 3 datagrams over UDP (`udp <i>` from hostd,
 * app1): the order across two inputs is not defined, so the datagrams go after.
 *
 * @param ports The daemon's TCP and UDP ports.
 * @param program The program of TCP line `i`.
 * @param bootstrap The broker.
 * @param topic Where the TCP lines land.
 * @param daemon Whose output goes into the error.
 * @returns The 33 lines, in the order sent.
 * @throws {Error} When the TCP lines do not arrive in time.
 */
export async function sendTcpThenUdp(
  ports: { tcp: number; udp: number },
  program: (i: number) => string,
  bootstrap: string,
  topic: string,
  daemon: Daemon,
): Promise<SentLine[]> {
  const hosts = ["hosta", "hostb", "hostc"];
  const sent = Array.from({ length: 30 }, (_, i) => ({
    host: hosts[i % 3],
    program: program(i),
    text: `tcp line ${i}`,
  }));
  const line = (s: SentLine) => syslogLine(s.host, s.program, s.text);
  await sendTcp(ports.tcp, sent.map(line));
  await waitForRecords(bootstrap, topic, 30, daemon);
  const datagrams = [0, 1, 2].map((i) => ({ host: "hostd", program: "app1", text: `udp ${i}` }));
  await sendUdp(ports.udp, datagrams.map(line));
  return [...sent, ...datagrams];
}
