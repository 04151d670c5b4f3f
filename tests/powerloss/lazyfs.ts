// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * Driver of `lazyfs.c`, a FUSE file system that simulates power loss: it passes everything
 * through to a backing directory and, on {@linkcode LazyFs.cut}, rewrites that directory to hold
 * only what had been made durable under strict POSIX rules (file bytes after fsync/fdatasync of
 * the file, directory entries after fsync of their parent directory).
 *
 * The C source is compiled on first use (`gcc`, `pkg-config fuse3`) into a cache directory keyed
 * by its hash. Needs root (or a user allowed to mount FUSE), `/dev/fuse` and `fusermount3`;
 * {@linkcode lazyFsUnavailable} says what is missing.
 *
 * Requires `--allow-all` (subprocesses, files, env).
 *
 * @module
 */

const SOURCE = new URL("./lazyfs.c", import.meta.url);

/** What a cut found and dropped (the JSON line `lazyfs` prints at unmount). */
export interface CutStats {
  /** Whether the state was cut (false: unmounted with everything kept). */
  cut: boolean;
  /** Files and directories in the durable state written back. */
  files: number;
  /** Directories in the durable state. */
  dirs: number;
  /** Files with writes or truncations since their last fsync (dropped). */
  unsyncedFiles: number;
  /** Bytes written since their file's last fsync (dropped). */
  unsyncedBytes: number;
  /** Directories whose entries changed since their last fsync (changes dropped). */
  unsyncedDirs: number;
  /** fsync/fdatasync calls on files during the mount. */
  fsyncs: number;
  /** fsync calls on directories during the mount. */
  fsyncdirs: number;
  /** Bytes copied into durable state by those fsyncs. */
  syncedBytes: number;
  /** write calls during the mount. */
  writes: number;
  /** Bytes written during the mount. */
  writtenBytes: number;
  /** Set when the mount ended abnormally (e.g. it was aborted from outside) but was written back. */
  incident?: string;
}

/**
 * Why lazyfs cannot run here, or `null` when it can: checks `/dev/fuse`, `fusermount3`, `gcc`
 * and the libfuse3 headers, and compiles the daemon.
 *
 * @returns A message naming what is missing, or `null`.
 */
export async function lazyFsUnavailable(): Promise<string | null> {
  if (Deno.build.os !== "linux") return `lazyfs needs Linux, not ${Deno.build.os}`;
  try {
    await Deno.stat("/dev/fuse");
  } catch {
    return "lazyfs needs /dev/fuse (FUSE kernel module)";
  }
  for (const tool of ["fusermount3", "gcc", "pkg-config"]) {
    if (!(await which(tool))) {
      return `lazyfs needs ${tool} (Debian: apt-get install fuse3 libfuse3-dev gcc pkg-config)`;
    }
  }
  try {
    await lazyFsBinary();
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
  return null;
}

async function which(tool: string): Promise<boolean> {
  for (const dir of (Deno.env.get("PATH") ?? "/usr/bin:/bin").split(":")) {
    try {
      if ((await Deno.stat(`${dir}/${tool}`)).isFile) return true;
    } catch {
      // not in this directory
    }
  }
  return false;
}

let built: Promise<string> | undefined;

/**
 * Compiles `lazyfs.c` (once per source version) and returns the binary's path.
 *
 * @returns The path of the `lazyfs` binary.
 * @throws {Error} If the compiler or libfuse3's headers are missing, with the compiler's output.
 */
export function lazyFsBinary(): Promise<string> {
  built ??= (async () => {
    const src = await Deno.readFile(SOURCE);
    const hash = Array.from(new Uint8Array(await crypto.subtle.digest("SHA-256", src)))
      .slice(0, 8).map((b) => b.toString(16).padStart(2, "0")).join("");
    const dir = `${Deno.env.get("TMPDIR") ?? "/tmp"}/sluice-lazyfs-${hash}`;
    const bin = `${dir}/lazyfs`;
    try {
      await Deno.stat(bin);
      return bin;
    } catch {
      // not built yet
    }
    await Deno.mkdir(dir, { recursive: true });
    const flags = await new Deno.Command("pkg-config", { args: ["--cflags", "--libs", "fuse3"] })
      .output();
    if (!flags.success) {
      throw new Error(
        `lazyfs needs libfuse3's headers (Debian: apt-get install libfuse3-dev): ` +
          new TextDecoder().decode(flags.stderr).trim(),
      );
    }
    const tmp = `${bin}.${Deno.pid}`;
    const cc = await new Deno.Command("gcc", {
      args: [
        "-O2",
        "-Wall",
        "-o",
        tmp,
        SOURCE.pathname,
        ...new TextDecoder().decode(flags.stdout).trim().split(/\s+/),
      ],
    }).output();
    if (!cc.success) {
      throw new Error(`lazyfs: compiling lazyfs.c failed: ${new TextDecoder().decode(cc.stderr)}`);
    }
    await Deno.rename(tmp, bin);
    return bin;
  })();
  built.catch(() => (built = undefined));
  return built;
}

/**
 * A mounted lazyfs.
 *
 * @example Cut power under a directory
 * ```ts ignore
 * import { LazyFs } from "./lazyfs.ts";
 * const fs = await LazyFs.mount("/tmp/backing", "/tmp/mnt");
 * await Deno.writeTextFile("/tmp/mnt/a", "never fsynced");
 * const dropped = await fs.cut(); // /tmp/backing holds no "a"
 * ```
 */
export class LazyFs {
  /** The backing directory (durable state between mounts). */
  readonly backing: string;
  /** Where the file system is mounted. */
  readonly mountpoint: string;
  #child: Deno.ChildProcess;
  #lines: AsyncIterator<string>;
  #stderr: Promise<string>;
  #done: Promise<CutStats> | undefined;

  private constructor(
    backing: string,
    mountpoint: string,
    child: Deno.ChildProcess,
    lines: AsyncIterator<string>,
    stderr: Promise<string>,
  ) {
    this.backing = backing;
    this.mountpoint = mountpoint;
    this.#child = child;
    this.#lines = lines;
    this.#stderr = stderr;
  }

  /**
   * Mounts `backing` at `mountpoint` (both created if missing). Everything in `backing` counts
   * as durable.
   *
   * @param backing Backing directory.
   * @param mountpoint Mount point (an empty directory).
   * @param timeoutMs How long to wait for the mount.
   * @returns The mounted file system.
   * @throws {Error} If the daemon does not come up, with its stderr.
   */
  static async mount(backing: string, mountpoint: string, timeoutMs = 15_000): Promise<LazyFs> {
    const bin = await lazyFsBinary();
    await Deno.mkdir(backing, { recursive: true });
    await Deno.mkdir(mountpoint, { recursive: true });
    const child = new Deno.Command(bin, {
      args: [backing, mountpoint, "-o", "fsname=lazyfs,auto_unmount,max_threads=16"],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const stderr = new Response(child.stderr).text();
    const lines = readLines(child.stdout);
    const fs = new LazyFs(backing, mountpoint, child, lines, stderr);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const first = await Promise.race([
      lines.next(),
      new Promise<"timeout">((r) => (timer = setTimeout(() => r("timeout"), timeoutMs))),
    ]);
    clearTimeout(timer);
    if (first === "timeout" || first.done || first.value !== "ready") {
      try {
        child.kill("SIGKILL");
      } catch {
        // already gone
      }
      await child.status;
      await unmount(mountpoint, true);
      throw new Error(`lazyfs: mount of ${mountpoint} failed: ${(await stderr).trim()}`);
    }
    return fs;
  }

  /**
   * Simulates a power cut: everything not yet durable is dropped, the file system is unmounted
   * and the backing directory holds exactly the durable state. Every process using the mount
   * must have exited.
   *
   * @returns What was dropped.
   */
  cut(): Promise<CutStats> {
    this.#done ??= (async () => {
      this.#child.kill("SIGUSR1");
      return await this.#finish();
    })();
    return this.#done;
  }

  /**
   * Unmounts keeping everything (as if the machine synced and powered off cleanly).
   *
   * @returns The mount's counters.
   */
  unmount(): Promise<CutStats> {
    this.#done ??= this.#finish();
    return this.#done;
  }

  async #finish(): Promise<CutStats> {
    // The mount can vanish under us (something else aborted or unmounted it): the daemon then
    // still writes the durable state back if a cut was armed, and says so on stdout.
    const unmountError = await unmount(this.mountpoint, false).then(() => "", (e) => e.message);
    let stats: CutStats | undefined;
    for (;;) {
      const r = await this.#lines.next();
      if (r.done) break;
      if (r.value.startsWith("{")) stats = JSON.parse(r.value);
    }
    const status = await this.#child.status;
    const err = (await this.#stderr).split("\n")
      .filter((l) => l && !l.includes("max threads")).join("\n");
    if (!stats) {
      throw new Error(
        `lazyfs: ${this.mountpoint} exited with ${status.code}: ${err} ${unmountError}`.trim(),
      );
    }
    if (!status.success || unmountError) {
      stats.incident = `lazyfs exited with ${status.code}: ${err} ${unmountError}`.trim();
    }
    return stats;
  }
}

async function unmount(mountpoint: string, quiet: boolean): Promise<void> {
  let last = "";
  for (let i = 0; i < 50; i++) {
    const r = await new Deno.Command("fusermount3", { args: ["-u", mountpoint], stderr: "piped" })
      .output();
    if (r.success) return;
    last = new TextDecoder().decode(r.stderr).trim();
    if (last.includes("not mounted")) {
      // gone already (aborted): detach whatever is left so the daemon exits
      await new Deno.Command("umount", { args: ["-l", mountpoint], stderr: "null" }).output();
      break;
    }
    if (!last.includes("busy")) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  if (!quiet) throw new Error(`lazyfs: unmount of ${mountpoint} failed: ${last}`);
}

async function* readLinesGen(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  let buf = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    buf += chunk;
    let i;
    while ((i = buf.indexOf("\n")) >= 0) {
      yield buf.slice(0, i);
      buf = buf.slice(i + 1);
    }
  }
  if (buf) yield buf;
}

function readLines(stream: ReadableStream<Uint8Array>): AsyncIterator<string> {
  return readLinesGen(stream)[Symbol.asyncIterator]();
}
