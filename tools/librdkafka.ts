// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * A recent librdkafka for the interop tests, built from the sources bundled in an npm package:
 * `@confluentinc/kafka-javascript` ships librdkafka's source tree in `deps/librdkafka`. The
 * package version and its integrity hash (from `npm view … dist.integrity`) are pinned below, so
 * every machine builds the same sources with the same `configure` flags.
 *
 * The tarball is fetched once with `npm pack` and kept; after that the build is offline. The
 * result is installed into a per-user cache directory outside the repository, keyed by the
 * librdkafka version and a hash of the recipe, and built at most once per machine (a lock
 * directory keeps concurrent test processes from building it twice):
 * `$SLUICE_CACHE_DIR`, else `$XDG_CACHE_HOME/sluice`, else `~/.cache/sluice`.
 *
 * Debian's kcat and python3-confluent-kafka link `librdkafka.so.1` dynamically, so with
 * `LD_LIBRARY_PATH` set to {@linkcode LibrdkafkaBuild.libDir} they run on this librdkafka.
 *
 * Needs `npm` (first run only), `tar`, `make`, a C and a C++ compiler (librdkafka's configure
 * requires both), `python3`, `pkg-config` and the zlib and zstd headers (Debian: `apt-get install
 * gcc g++ make pkg-config zlib1g-dev libzstd-dev`). Snappy and LZ4 are librdkafka's built-in
 * copies; SSL, SASL/GSSAPI and libcurl are off.
 *
 * Run: `deno task build:librdkafka` (prints the install directory; exit status 1 on failure).
 * Requires `--allow-all` (subprocesses, files, env).
 *
 * @module
 */

/** The pinned npm package and the librdkafka it bundles. */
export const LIBRDKAFKA = {
  /** librdkafka's version (`RD_KAFKA_VERSION` 0x020f01ff). */
  version: "2.15.1",
  /** The npm package whose tarball holds librdkafka's sources in `package/deps/librdkafka`. */
  npmPackage: "@confluentinc/kafka-javascript@1.10.1",
  /** The tarball file `npm pack` writes. */
  tarball: "confluentinc-kafka-javascript-1.10.1.tgz",
  /** `npm view @confluentinc/kafka-javascript@1.10.1 dist.integrity`. */
  integrity:
    "sha512-KVePUBn21EqCVP9mfxzEuM3SYJHHEF7X+iiC2e43QQgDSyEaksInmCGooT3w5q+cNAdkSCrK71j0ICfqoSqZLw==",
} as const;

/**
 * librdkafka's `configure` flags: every optional feature named, so the result does not depend on
 * which libraries the machine happens to have. gzip (zlib) and zstd link Debian's libraries;
 * snappy and lz4 are built in.
 */
export const CONFIGURE_FLAGS: readonly string[] = [
  "--no-download",
  "--enable-zlib",
  "--enable-zstd",
  "--disable-lz4-ext",
  "--disable-ssl",
  "--disable-gssapi",
  "--disable-curl",
];

/** A librdkafka installed in the cache. */
export interface LibrdkafkaBuild {
  /** librdkafka's version, e.g. `"2.15.1"`. */
  version: string;
  /** The install prefix. */
  prefix: string;
  /** Holds `librdkafka.so.1` (for `LD_LIBRARY_PATH`, `-L`, `-Wl,-rpath`). */
  libDir: string;
  /** Holds `librdkafka/rdkafka.h` (for `-I`). */
  includeDir: string;
}

/** Options for {@linkcode buildLibrdkafka}. */
export interface BuildOptions {
  /** Cache root. Default: {@linkcode cacheRoot}. */
  cacheDir?: string;
  /** Progress lines (what is being done and how long it took). Default: none. */
  log?: (line: string) => void;
  /** Parallel make jobs. Default: `navigator.hardwareConcurrency`. */
  jobs?: number;
  /** Kill a build step (npm pack, configure, make) that runs longer. Default 30 minutes. */
  stepTimeoutMs?: number;
  /** Give up waiting for another process's build after this long. Default 40 minutes. */
  lockTimeoutMs?: number;
}

/**
 * The cache root: `$SLUICE_CACHE_DIR`, else `$XDG_CACHE_HOME/sluice`, else `$HOME/.cache/sluice`.
 *
 * @example
 * ```ts
 * import { cacheRoot } from "./librdkafka.ts";
 * console.assert(cacheRoot().length > 0);
 * ```
 *
 * @returns The directory (not created).
 * @throws {Error} When none of those variables is set.
 */
export function cacheRoot(): string {
  const explicit = Deno.env.get("SLUICE_CACHE_DIR");
  if (explicit) return explicit;
  const xdg = Deno.env.get("XDG_CACHE_HOME");
  if (xdg) return `${xdg}/sluice`;
  const home = Deno.env.get("HOME");
  if (home) return `${home}/.cache/sluice`;
  throw new Error("librdkafka cache: none of SLUICE_CACHE_DIR, XDG_CACHE_HOME, HOME is set");
}

/**
 * The install directory's name: the version and a short hash of the recipe (package, integrity,
 * configure flags), so a changed recipe builds afresh beside the old one.
 *
 * @example
 * ```ts
 * import { buildKey } from "./librdkafka.ts";
 * console.assert((await buildKey()).startsWith("librdkafka-2.15.1-"));
 * ```
 *
 * @returns e.g. `librdkafka-2.15.1-1a2b3c4d`.
 */
export async function buildKey(): Promise<string> {
  const recipe = JSON.stringify([LIBRDKAFKA, CONFIGURE_FLAGS]);
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(recipe));
  const hex = Array.from(new Uint8Array(digest).slice(0, 4))
    .map((b) => b.toString(16).padStart(2, "0")).join("");
  return `librdkafka-${LIBRDKAFKA.version}-${hex}`;
}

const STAMP = ".sluice-build-complete";

/**
 * The cached build, or `null` when it has not been built (or a build was cut short).
 *
 * @param cacheDir Cache root. Default: {@linkcode cacheRoot}.
 * @returns The build, or `null`.
 */
export async function cachedLibrdkafka(cacheDir = cacheRoot()): Promise<LibrdkafkaBuild | null> {
  const build = layout(`${cacheDir}/${await buildKey()}`);
  try {
    await Deno.stat(`${build.prefix}/${STAMP}`);
    await Deno.stat(`${build.libDir}/librdkafka.so.1`);
    return build;
  } catch {
    return null;
  }
}

function layout(prefix: string): LibrdkafkaBuild {
  return {
    version: LIBRDKAFKA.version,
    prefix,
    libDir: `${prefix}/lib`,
    includeDir: `${prefix}/include`,
  };
}

/**
 * Returns the cached librdkafka, building it first when needed: fetch the pinned tarball with
 * `npm pack` (once), check its integrity, unpack `package/deps/librdkafka`, `configure` with
 * {@linkcode CONFIGURE_FLAGS}, `make`, install into the cache. Another process building the
 * same key at the same time is waited for, not repeated.
 *
 * @example
 * ```ts ignore
 * import { buildLibrdkafka } from "./librdkafka.ts";
 * const lib = await buildLibrdkafka({ log: console.error });
 * console.log(lib.libDir); // ~/.cache/sluice/librdkafka-2.15.1-xxxxxxxx/lib
 * ```
 *
 * @param options Cache root, progress output, parallelism and time bounds.
 * @returns The installed build.
 * @throws {Error} When a step fails ("build librdkafka 2.15.1: make: exit 2: …" with the tail
 * of its output), the tarball's integrity does not match, or the lock is held too long.
 */
export async function buildLibrdkafka(options: BuildOptions = {}): Promise<LibrdkafkaBuild> {
  const cacheDir = options.cacheDir ?? cacheRoot();
  const found = await cachedLibrdkafka(cacheDir);
  if (found) return found;
  await Deno.mkdir(cacheDir, { recursive: true });
  const key = await buildKey();
  const lock = `${cacheDir}/${key}.lock`;
  await acquireLock(lock, options.lockTimeoutMs ?? 40 * 60_000, options.log);
  try {
    const again = await cachedLibrdkafka(cacheDir);
    if (again) return again;
    return await buildLocked(cacheDir, key, options);
  } finally {
    await Deno.remove(lock, { recursive: true }).catch(() => {});
  }
}

async function acquireLock(
  lock: string,
  timeoutMs: number,
  log?: (line: string) => void,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let told = false;
  while (true) {
    try {
      await Deno.mkdir(lock);
      await Deno.writeTextFile(`${lock}/pid`, String(Deno.pid));
      return;
    } catch (e) {
      if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
    }
    // A lock whose holder died (killed test run) is taken over.
    const holder = Number(await Deno.readTextFile(`${lock}/pid`).catch(() => ""));
    if (holder > 0 && !(await processAlive(holder))) {
      await Deno.remove(lock, { recursive: true }).catch(() => {});
      continue;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `build librdkafka ${LIBRDKAFKA.version}: ${lock} held by process ${holder} for more ` +
          `than ${timeoutMs} ms`,
      );
    }
    if (!told) {
      log?.(`librdkafka ${LIBRDKAFKA.version}: waiting for process ${holder}'s build`);
      told = true;
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}

async function processAlive(pid: number): Promise<boolean> {
  try {
    await Deno.stat(`/proc/${pid}`);
    return true;
  } catch {
    return false;
  }
}

async function buildLocked(
  cacheDir: string,
  key: string,
  options: BuildOptions,
): Promise<LibrdkafkaBuild> {
  const log = options.log ?? (() => {});
  const stepTimeoutMs = options.stepTimeoutMs ?? 30 * 60_000;
  const jobs = options.jobs ?? navigator.hardwareConcurrency ?? 2;
  const started = Date.now();
  const tarball = await fetchTarball(cacheDir, stepTimeoutMs, log);
  const build = layout(`${cacheDir}/${key}`);
  const work = `${cacheDir}/${key}.work`;
  await Deno.remove(build.prefix, { recursive: true }).catch(() => {});
  await Deno.remove(work, { recursive: true }).catch(() => {});
  await Deno.mkdir(work, { recursive: true });
  try {
    const src = `${work}/package/deps/librdkafka`;
    await step("tar", ["-xzf", tarball, "-C", work, "package/deps/librdkafka"], work);
    log(`librdkafka ${LIBRDKAFKA.version}: configure ${CONFIGURE_FLAGS.join(" ")}`);
    await step("./configure", [`--prefix=${build.prefix}`, ...CONFIGURE_FLAGS], src);
    log(`librdkafka ${LIBRDKAFKA.version}: make -j${jobs} (a few minutes)`);
    await step("make", ["-C", "src", `-j${jobs}`, "lib"], src);
    await step("make", ["-C", "src", "install"], src);
    // Written last: its presence is what makes the build usable (cachedLibrdkafka).
    await Deno.writeTextFile(
      `${build.prefix}/${STAMP}`,
      JSON.stringify({ ...LIBRDKAFKA, configure: CONFIGURE_FLAGS, seconds: seconds() }),
    );
  } catch (e) {
    await Deno.remove(build.prefix, { recursive: true }).catch(() => {});
    throw e;
  } finally {
    await Deno.remove(work, { recursive: true }).catch(() => {});
  }
  log(`librdkafka ${LIBRDKAFKA.version}: built in ${seconds()} s into ${build.prefix}`);
  return build;

  function seconds(): number {
    return Math.round((Date.now() - started) / 1000);
  }

  async function step(cmd: string, args: string[], cwd: string): Promise<void> {
    const what = `${cmd} ${args[0] ?? ""}`.trim();
    let child: Deno.ChildProcess;
    try {
      child = new Deno.Command(cmd, { args, cwd, stdin: "null", stdout: "piped", stderr: "piped" })
        .spawn();
    } catch (e) {
      throw new Error(
        `build librdkafka ${LIBRDKAFKA.version}: ${what}: ${e instanceof Error ? e.message : e}`,
        { cause: e },
      );
    }
    const timer = setTimeout(() => child.kill("SIGKILL"), stepTimeoutMs);
    const out = await child.output().finally(() => clearTimeout(timer));
    if (!out.success) {
      const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
      const tail = text.trimEnd().split("\n").slice(-25).join("\n");
      throw new Error(
        `build librdkafka ${LIBRDKAFKA.version}: ${what}: exit ${out.code}` +
          `${out.signal ? ` (${out.signal}, limit ${stepTimeoutMs} ms)` : ""}\n${tail}`,
      );
    }
  }
}

/**
 * The pinned tarball in `<cacheDir>/downloads/`, fetched with `npm pack` when absent; its SHA-512
 * must equal {@linkcode LIBRDKAFKA}'s integrity.
 */
async function fetchTarball(
  cacheDir: string,
  timeoutMs: number,
  log: (line: string) => void,
): Promise<string> {
  const dir = `${cacheDir}/downloads`;
  const path = `${dir}/${LIBRDKAFKA.tarball}`;
  await Deno.mkdir(dir, { recursive: true });
  try {
    await checkIntegrity(path);
    return path;
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) {
      log(`librdkafka: ${e instanceof Error ? e.message : e}; fetching it again`);
    }
  }
  const tmp = await Deno.makeTempDir({ dir, prefix: "npm-pack-" });
  try {
    log(`librdkafka: npm pack ${LIBRDKAFKA.npmPackage}`);
    const child = new Deno.Command("npm", {
      args: ["pack", LIBRDKAFKA.npmPackage, "--pack-destination", tmp, "--silent"],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    const out = await child.output().finally(() => clearTimeout(timer));
    if (!out.success) {
      throw new Error(
        `fetch librdkafka sources: npm pack ${LIBRDKAFKA.npmPackage}: exit ${out.code}: ` +
          new TextDecoder().decode(out.stderr).trim().split("\n").slice(-5).join("\n"),
      );
    }
    await checkIntegrity(`${tmp}/${LIBRDKAFKA.tarball}`);
    await Deno.rename(`${tmp}/${LIBRDKAFKA.tarball}`, path);
    return path;
  } finally {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }
}

/**
 * Checks that a file is the pinned tarball: its SHA-512, in npm's `sha512-<base64>` form, must
 * equal {@linkcode LIBRDKAFKA}'s integrity.
 *
 * @param path The tarball.
 * @throws {Error} `"<path>: integrity sha512-… is not sha512-…"` on a mismatch; `NotFound` when
 * the file is missing.
 */
export async function checkIntegrity(path: string): Promise<void> {
  const digest = await crypto.subtle.digest("SHA-512", await Deno.readFile(path));
  const got = `sha512-${btoa(String.fromCharCode(...new Uint8Array(digest)))}`;
  if (got !== LIBRDKAFKA.integrity) {
    throw new Error(
      `${path}: integrity ${got} is not ${LIBRDKAFKA.integrity} (${LIBRDKAFKA.npmPackage})`,
    );
  }
}

if (import.meta.main) {
  try {
    const lib = await buildLibrdkafka({ log: (line) => console.error(line) });
    console.log(lib.libDir);
  } catch (e) {
    console.error(e instanceof Error ? e.message : e);
    Deno.exit(1);
  }
}
