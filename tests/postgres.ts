// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * Test harness for the PostgreSQL connectors: a throwaway cluster of Debian's `postgresql`
 * (`initdb` and `postgres` from `/usr/lib/postgresql/VERSION/bin`) in a temporary directory on a
 * free port of 127.0.0.1, trust authentication, user `postgres`. PostgreSQL refuses to run as
 * root, so as root the processes run as the `postgres` system user (the package creates it).
 *
 * Tests gate on {@linkcode requirePostgres}: skipped with a message when PostgreSQL is missing,
 * except when `CI=true`, where they fail.
 *
 * Needs `--allow-all` (subprocesses, network, temp files).
 *
 * @module
 */

import { type ClientRequirement, clientRequirement } from "./harness.ts";
import { freePort } from "./etcd.ts";

/** The newest `/usr/lib/postgresql/VERSION/bin` (`PG_BIN` overrides), or `undefined`. */
export function postgresBin(): string | undefined {
  const env = Deno.env.get("PG_BIN");
  if (env) return env;
  try {
    const versions = [...Deno.readDirSync("/usr/lib/postgresql")]
      .map((e) => e.name)
      .filter((n) => /^\d+$/.test(n))
      .sort((a, b) => Number(b) - Number(a));
    for (const v of versions) {
      const bin = `/usr/lib/postgresql/${v}/bin`;
      try {
        Deno.statSync(`${bin}/initdb`);
        return bin;
      } catch {
        // not this version
      }
    }
  } catch {
    // not installed
  }
  return undefined;
}

/**
 * Whether PostgreSQL is installed; a missing one skips the test outside CI and fails it in CI.
 *
 * @returns The requirement.
 */
export function requirePostgres(): ClientRequirement {
  return clientRequirement(
    "postgresql",
    postgresBin() !== undefined,
    Deno.env.get("CI") === "true",
    "apt-get install postgresql",
  );
}

/** A running PostgreSQL owned by a test. */
export interface TestPostgres {
  /** Port on 127.0.0.1. */
  port: number;
  /** `postgres://postgres@127.0.0.1:PORT/postgres`. */
  url: string;
  /** Stops the server (fast shutdown) and removes its directory. Idempotent. */
  stop(): Promise<void>;
}

function ids(): { uid: number; gid: number } | undefined {
  if (Deno.uid() !== 0) return undefined;
  const id = (flag: string) => {
    const out = new Deno.Command("id", {
      args: [flag, "postgres"],
      stdout: "piped",
      stderr: "null",
    })
      .outputSync();
    if (!out.success) throw new Error("postgres: running as root needs the postgres system user");
    return Number(new TextDecoder().decode(out.stdout).trim());
  };
  return { uid: id("-u"), gid: id("-g") };
}

/**
 * Starts a fresh PostgreSQL cluster on a free port and waits until it accepts connections.
 *
 * @returns The server; `stop()` it when done.
 * @throws {Error} When PostgreSQL is missing or does not start (its log tail in the message).
 */
export async function startPostgres(): Promise<TestPostgres> {
  const bin = postgresBin();
  if (!bin) throw new Error("postgresql not installed: apt-get install postgresql");
  const user = ids();
  const dir = await Deno.makeTempDir({ prefix: "sluice_pg_" });
  await Deno.chmod(dir, 0o777);
  const data = `${dir}/data`;
  const run = async (cmd: string, args: string[]) => {
    const out = await new Deno.Command(`${bin}/${cmd}`, {
      args,
      ...user,
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!out.success) {
      throw new Error(`postgres: ${cmd} failed: ${new TextDecoder().decode(out.stderr).trim()}`);
    }
  };
  await run("initdb", ["-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"]);
  for (let attempt = 0;; attempt++) {
    const port = freePort();
    const log = `${dir}/log-${attempt}.txt`;
    const child = new Deno.Command(`${bin}/postgres`, {
      args: [
        "-D",
        data,
        "-p",
        String(port),
        "-k",
        dir,
        "-c",
        "listen_addresses=127.0.0.1",
        "-c",
        "fsync=off",
        "-c",
        "TimeZone=UTC",
      ],
      ...user,
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const logText: string[] = [];
    const logging = (async () => {
      for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
        logText.push(chunk);
      }
    })();
    const exited = child.status;
    let ready = false;
    const deadline = Date.now() + 60_000;
    let dead = false;
    exited.then(() => (dead = true));
    while (!ready && !dead && Date.now() < deadline) {
      try {
        const c = await Deno.connect({ hostname: "127.0.0.1", port });
        c.close();
        const probe = await new Deno.Command(`${bin}/pg_isready`, {
          args: ["-h", "127.0.0.1", "-p", String(port), "-U", "postgres"],
          stdout: "null",
          stderr: "null",
        }).output();
        ready = probe.success;
      } catch {
        // not listening yet
      }
      if (!ready) await new Promise((r) => setTimeout(r, 100));
    }
    if (!ready) {
      try {
        child.kill("SIGKILL");
      } catch {
        // exited
      }
      await exited;
      await logging;
      await Deno.writeTextFile(log, logText.join(""));
      if (attempt < 2 && /could not bind|Address already in use/.test(logText.join(""))) continue;
      await Deno.remove(dir, { recursive: true }).catch(() => {});
      throw new Error(`postgres did not start: ${logText.join("").slice(-500)}`);
    }
    let stopped: Promise<void> | undefined;
    return {
      port,
      url: `postgres://postgres@127.0.0.1:${port}/postgres`,
      stop(): Promise<void> {
        stopped ??= (async () => {
          try {
            child.kill("SIGINT"); // fast shutdown
          } catch {
            // exited
          }
          await exited;
          await logging.catch(() => {});
          await Deno.remove(dir, { recursive: true }).catch(() => {});
        })();
        return stopped;
      },
    };
  }
}
