/**
 * Test support for disk-full tests: a small tmpfs mounted for one test (needs root), and ways to
 * fill it exactly — every page, or every inode — and give space back. tmpfs counts space in
 * pages and never fails an fsync, so ENOSPC appears exactly when the pages run out.
 *
 * Outside CI a machine that cannot mount makes the tests that need it ignored with a printed
 * reason; with `CI=true` they run and fail.
 *
 * @module
 */

/** Bytes tmpfs charges per page. */
export const PAGE = 4096;

/** A mounted tmpfs; dispose to unmount and remove the mount point. */
export interface Tmpfs extends AsyncDisposable {
  /** The mount point. */
  root: string;
  /**
   * Fills every free page with a filler file in the root, then gives back `leaveBytes` (whole
   * pages). Call again to refill.
   */
  fill(leaveBytes?: number): Promise<void>;
  /** Removes the filler files: the space comes back. */
  release(): Promise<void>;
  /** Creates empty files until no inode is left, keeping `leave` free. */
  exhaustInodes(leave?: number): Promise<void>;
  /** Removes the files of {@linkcode Tmpfs.exhaustInodes}. */
  releaseInodes(): Promise<void>;
}

function run(cmd: string, args: string[]): { ok: boolean; err: string } {
  try {
    const r = new Deno.Command(cmd, { args, stdout: "null", stderr: "piped", stdin: "null" })
      .outputSync();
    return { ok: r.success, err: new TextDecoder().decode(r.stderr).trim() };
  } catch (e) {
    return { ok: false, err: String(e) };
  }
}

let probed: string | undefined;

/**
 * Why a tmpfs cannot be mounted here ("" when it can), probed once by mounting a 4 KiB one.
 *
 * @returns The reason, or "".
 */
export function tmpfsUnavailable(): string {
  if (probed !== undefined) return probed;
  const dir = Deno.makeTempDirSync({ prefix: "sluice-tmpfs-probe-" });
  const m = run("mount", ["-t", "tmpfs", "-o", "size=4k", "tmpfs", dir]);
  if (m.ok) run("umount", [dir]);
  Deno.removeSync(dir, { recursive: true });
  probed = m.ok ? "" : `cannot mount a tmpfs (needs root): ${m.err}`;
  return probed;
}

/**
 * Registers a test that needs a tmpfs: ignored with a printed reason when none can be mounted,
 * unless `CI=true`, where it runs and fails.
 *
 * @param name Test name.
 * @param fn Test body.
 */
export function tmpfsTest(name: string, fn: () => Promise<void>): void {
  const why = tmpfsUnavailable();
  const ci = Deno.env.get("CI") === "true";
  if (why && !ci) console.warn(`${name}: skipping: ${why}`);
  Deno.test({
    name,
    ignore: why !== "" && !ci,
    async fn() {
      if (why) throw new Error(why);
      await fn();
    },
  });
}

/**
 * Mounts a tmpfs of `bytes` (and at most `inodes` inodes).
 *
 * @param bytes Size.
 * @param inodes Inode limit (default: tmpfs's).
 * @returns The mount; `await using` it.
 */
export async function mountTmpfs(bytes: number, inodes?: number): Promise<Tmpfs> {
  const root = await Deno.makeTempDir({ prefix: "sluice-tmpfs-" });
  const opts = `size=${bytes}` + (inodes ? `,nr_inodes=${inodes}` : "");
  const m = run("mount", ["-t", "tmpfs", "-o", opts, "tmpfs", root]);
  if (!m.ok) {
    await Deno.remove(root, { recursive: true });
    throw new Error(`mount tmpfs on ${root} failed: ${m.err}`);
  }
  let fillers = 0;
  let inodeFiles = 0;
  const chunk = new Uint8Array(64 * 1024).fill(0x5a);
  const t: Tmpfs = {
    root,
    async fill(leaveBytes = 0) {
      const path = `${root}/.filler-${fillers++}`;
      const f = await Deno.open(path, { write: true, create: true });
      let size = 0;
      try {
        while (true) size += f.writeSync(chunk);
      } catch (e) {
        if ((e as { code?: string }).code !== "ENOSPC") throw e;
      }
      size = (await f.stat()).size;
      if (leaveBytes > 0) await f.truncate(Math.max(0, size - Math.ceil(leaveBytes / PAGE) * PAGE));
      f.close();
    },
    async release() {
      for (let i = 0; i < fillers; i++) await Deno.remove(`${root}/.filler-${i}`).catch(() => {});
      fillers = 0;
    },
    async exhaustInodes(leave = 0) {
      const made: string[] = [];
      try {
        while (true) {
          const p = `${root}/.inode-${inodeFiles}`;
          (await Deno.open(p, { write: true, create: true })).close();
          made.push(p);
          inodeFiles++;
        }
      } catch (e) {
        if ((e as { code?: string }).code !== "ENOSPC") throw e;
      }
      for (let i = 0; i < leave && made.length > 0; i++) {
        await Deno.remove(made.pop()!);
        inodeFiles--;
      }
    },
    async releaseInodes() {
      for (let i = 0; i < inodeFiles; i++) await Deno.remove(`${root}/.inode-${i}`).catch(() => {});
      inodeFiles = 0;
    },
    async [Symbol.asyncDispose]() {
      const u = run("umount", [root]);
      if (!u.ok) run("umount", ["-l", root]);
      await Deno.remove(root, { recursive: true }).catch(() => {});
    },
  };
  return t;
}
