// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * Debian's librdkafka clients on a recent librdkafka: kcat and confluent-kafka link
 * `librdkafka.so.1` dynamically, so with `LD_LIBRARY_PATH` set to the librdkafka that
 * `tools/librdkafka.ts` builds (2.15.1, from `@confluentinc/kafka-javascript`'s bundled sources)
 * they speak librdkafka 2.15.1's protocol. Also compiles `clients/rdkafka_admin.c` (librdkafka's
 * consumer-group Admin API) against either librdkafka.
 *
 * Requires `--allow-all` (subprocesses, files, env).
 *
 * @module
 */

import {
  buildLibrdkafka,
  cachedLibrdkafka,
  LIBRDKAFKA,
  type LibrdkafkaBuild,
} from "../../tools/librdkafka.ts";
import { type ClientRequirement, clientRequirement, PYTHON, runCommand } from "../harness.ts";

/** The recent librdkafka's version. */
export const MODERN_VERSION: string = LIBRDKAFKA.version;

/** Debian's librdkafka (`librdkafka1`, `librdkafka-dev`). */
export const DEBIAN_VERSION = "2.0.2";

/** The recent librdkafka, or why it is not there. */
export interface ModernLibrdkafka {
  /** The build, or `null`. */
  lib: LibrdkafkaBuild | null;
  /** Why `lib` is `null` (the build's error); empty when it is set. */
  problem: string;
  /** Environment that makes Debian's clients load it: `{ LD_LIBRARY_PATH }` (empty without it). */
  env: Record<string, string>;
}

const BUILD_HINT = "deno task build:librdkafka (needs npm once, gcc, g++, make, pkg-config, " +
  "zlib1g-dev, libzstd-dev)";

let modern: Promise<ModernLibrdkafka> | undefined;

/**
 * The librdkafka built by `tools/librdkafka.ts`, building it when it is not in the cache yet
 * (once per machine; a few minutes on two cores; progress on stderr).
 *
 * @returns The build and the environment to use it, or the reason it failed.
 */
export function modernLibrdkafka(): Promise<ModernLibrdkafka> {
  modern ??= (async (): Promise<ModernLibrdkafka> => {
    try {
      const lib = await cachedLibrdkafka() ??
        await buildLibrdkafka({ log: (line) => console.error(line) });
      const old = Deno.env.get("LD_LIBRARY_PATH");
      return {
        lib,
        problem: "",
        env: { LD_LIBRARY_PATH: old ? `${lib.libDir}:${old}` : lib.libDir },
      };
    } catch (e) {
      return { lib: null, problem: e instanceof Error ? e.message : String(e), env: {} };
    }
  })();
  return modern;
}

/**
 * Which librdkafka a Debian client loads with `env`: `kcat -V`'s or
 * `confluent_kafka.libversion()`'s version.
 *
 * @param client `"kcat"` or `"confluent-kafka"`.
 * @param env Extra environment (e.g. from {@linkcode modernLibrdkafka}).
 * @returns The version, or `null` when the client is missing.
 */
export async function loadedVersion(
  client: "kcat" | "confluent-kafka",
  env: Record<string, string>,
): Promise<string | null> {
  try {
    const r = client === "kcat"
      ? await runCommand("kcat", ["-V"], { env, timeoutMs: 20_000 })
      : await runCommand(PYTHON, [
        "-c",
        "import confluent_kafka; print(confluent_kafka.libversion()[0])",
      ], { env, timeoutMs: 20_000 });
    if (r.code !== 0) return null;
    const m = client === "kcat" ? r.stdout.match(/librdkafka (\S+)/) : r.stdout.match(/^(\S+)/);
    return m ? m[1] : null;
  } catch {
    return null;
  }
}

/**
 * A requirement for a Debian client running on the recent librdkafka: available when the
 * librdkafka is built and the client loads it. Named `<client>-on-librdkafka-<version>` (the
 * name is used in topic names, so it keeps to Kafka's topic characters).
 *
 * @param client `"kcat"` or `"confluent-kafka"`.
 * @param m From {@linkcode modernLibrdkafka}.
 * @returns The requirement (ignored outside CI when missing, failing in CI).
 */
export async function requireOnModern(
  client: "kcat" | "confluent-kafka",
  m: ModernLibrdkafka,
): Promise<ClientRequirement> {
  const name = `${client}-on-librdkafka-${MODERN_VERSION}`;
  const ci = Deno.env.get("CI") === "true";
  if (m.lib === null) {
    return clientRequirement(
      name,
      false,
      ci,
      `librdkafka ${MODERN_VERSION}: ${m.problem}; ${BUILD_HINT}`,
    );
  }
  const got = await loadedVersion(client, m.env);
  const install = client === "kcat"
    ? "apt-get install kcat"
    : "apt-get install python3-confluent-kafka";
  return clientRequirement(
    name,
    got === MODERN_VERSION,
    ci,
    got === null ? install : `${client} loads librdkafka ${got}, not ${MODERN_VERSION}`,
  );
}

/** `clients/rdkafka_admin.c` compiled against one librdkafka. */
export interface AdminProgram {
  /** The librdkafka version it runs on. */
  version: string;
  /** The executable, or `null` when it could not be built. */
  path: string | null;
  /** The requirement for its tests (`rdkafka-admin-<version>`). */
  requirement: ClientRequirement;
}

const ADMIN_SOURCE = new URL("./clients/rdkafka_admin.c", import.meta.url).pathname;

/**
 * Compiles `clients/rdkafka_admin.c` with `cc` against a librdkafka: Debian's (`librdkafka-dev`)
 * or the recent build (headers and library from the cache, found at run time through an rpath).
 *
 * @param outDir Where to put the executable.
 * @param modern The recent librdkafka (from {@linkcode modernLibrdkafka}); omit for Debian's.
 * @returns The program and its requirement.
 */
export async function compileAdmin(
  outDir: string,
  modern?: ModernLibrdkafka,
): Promise<AdminProgram> {
  const version = modern ? MODERN_VERSION : DEBIAN_VERSION;
  const lib = modern?.lib ?? null;
  const name = `rdkafka-admin-${version}`;
  const ci = Deno.env.get("CI") === "true";
  const missing = (hint: string): AdminProgram => ({
    version,
    path: null,
    requirement: clientRequirement(name, false, ci, hint),
  });
  if (modern && !lib) {
    return missing(`librdkafka ${MODERN_VERSION}: ${modern.problem}; ${BUILD_HINT}`);
  }
  const path = `${outDir}/rdkafka_admin-${version}`;
  const flags = lib ? [`-I${lib.includeDir}`, `-L${lib.libDir}`, `-Wl,-rpath,${lib.libDir}`] : [];
  let r;
  try {
    r = await runCommand("cc", ["-O1", "-Wall", "-o", path, ADMIN_SOURCE, ...flags, "-lrdkafka"], {
      timeoutMs: 120_000,
    });
  } catch {
    return missing("needs a C compiler: apt-get install gcc");
  }
  if (r.code !== 0) {
    const hint = lib ? "" : " (Debian: apt-get install librdkafka-dev)";
    return missing(`cc ${ADMIN_SOURCE}: exit ${r.code}${hint}\n${r.stderr.trim()}`);
  }
  const v = await runCommand(path, ["-", "version"], { timeoutMs: 20_000 });
  const got = v.code === 0 ? JSON.parse(v.stdout).version : `exit ${v.code}: ${v.stderr}`;
  if (got !== version) return missing(`${path} runs on librdkafka ${got}, not ${version}`);
  return { version, path, requirement: clientRequirement(name, true, ci, "") };
}
