/**
 * Atomic file writes and Kafka's offset checkpoint files (`recovery-point-offset-checkpoint`,
 * `log-start-offset-checkpoint`): a version line, a count line, then `topic partition offset`
 * lines.
 *
 * @module
 */

import { CHECKPOINT_VERSION, TEMP_FILE_SUFFIX } from "./names.ts";

/**
 * Writes a file atomically: write `<path>.tmp`, fsync it, rename over `path`, fsync the directory.
 * If any step before the rename fails (a full disk), the temporary file is removed so that it
 * holds no space, `path` keeps its previous contents, and the error is thrown.
 * Requires `--allow-read` and `--allow-write`.
 *
 * @param path Destination file.
 * @param data File contents.
 * @throws {Error} The I/O error (e.g. ENOSPC) when the file could not be written.
 *
 * @example
 * ```ts ignore
 * import { writeFileAtomic } from "./checkpoint.ts";
 * await writeFileAtomic("/tmp/x.json", new TextEncoder().encode("{}"));
 * ```
 */
export async function writeFileAtomic(path: string, data: Uint8Array): Promise<void> {
  const tmp = path + TEMP_FILE_SUFFIX;
  try {
    const f = await Deno.open(tmp, { write: true, create: true, truncate: true });
    try {
      let off = 0;
      while (off < data.length) off += await f.write(data.subarray(off));
      await f.sync();
    } finally {
      f.close();
    }
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
  await syncDir(dirOf(path));
}

/**
 * fsyncs a directory so that renames and creations in it are durable. Best effort on platforms
 * that cannot open directories.
 *
 * @param dir Directory path.
 *
 * @example
 * ```ts ignore
 * import { syncDir } from "./checkpoint.ts";
 * await syncDir("/tmp");
 * ```
 */
export async function syncDir(dir: string): Promise<void> {
  let f: Deno.FsFile | undefined;
  try {
    f = await Deno.open(dir, { read: true });
    await f.sync();
  } catch {
    // Directories cannot be opened for sync on some platforms; nothing more we can do.
  } finally {
    f?.close();
  }
}

/**
 * Creates a directory and its missing parents, then fsyncs the parent of each directory created,
 * so that the new entries survive a power loss (as Kafka flushes the parent of a log dir it
 * creates). Requires `--allow-read` and `--allow-write`.
 *
 * @param dir Directory path.
 *
 * @example
 * ```ts ignore
 * import { mkdirDurable } from "./checkpoint.ts";
 * await mkdirDurable("/tmp/a/b");
 * ```
 */
export async function mkdirDurable(dir: string): Promise<void> {
  const created: string[] = [];
  for (let d = dir.replace(/\/+$/, "") || "/"; d !== "/" && d !== ".";) {
    try {
      await Deno.stat(d);
      break;
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
    created.push(d);
    d = dirOf(d);
  }
  await Deno.mkdir(dir, { recursive: true });
  for (const d of created.reverse()) await syncDir(dirOf(d));
}

function dirOf(path: string): string {
  const i = path.lastIndexOf("/");
  return i <= 0 ? (i === 0 ? "/" : ".") : path.slice(0, i);
}

/** Key of a partition in a checkpoint: `topic` and `partition`. */
export interface CheckpointEntry {
  /** Topic name. */
  topic: string;
  /** Partition index. */
  partition: number;
  /** Checkpointed offset. */
  offset: number;
}

/**
 * Formats checkpoint entries in Kafka's text format.
 *
 * @param entries The entries.
 * @returns The file text.
 *
 * @example
 * ```ts
 * import { formatCheckpoint } from "./checkpoint.ts";
 * console.assert(formatCheckpoint([{ topic: "t", partition: 0, offset: 5 }]) === "0\n1\nt 0 5\n");
 * ```
 */
export function formatCheckpoint(entries: CheckpointEntry[]): string {
  const lines = [String(CHECKPOINT_VERSION), String(entries.length)];
  for (const e of entries) lines.push(`${e.topic} ${e.partition} ${e.offset}`);
  return lines.join("\n") + "\n";
}

/**
 * Parses Kafka's checkpoint text format.
 *
 * @param text File text.
 * @returns The entries.
 * @throws {Error} If the version, count or a line is malformed.
 *
 * @example
 * ```ts
 * import { parseCheckpoint } from "./checkpoint.ts";
 * console.assert(parseCheckpoint("0\n1\nt 0 5\n")[0].offset === 5);
 * ```
 */
export function parseCheckpoint(text: string): CheckpointEntry[] {
  const lines = text.split("\n").filter((l) => l.length > 0);
  if (lines[0] !== String(CHECKPOINT_VERSION)) {
    throw new Error(`invalid checkpoint: unsupported version line "${lines[0] ?? ""}"`);
  }
  const count = Number(lines[1]);
  if (!Number.isInteger(count) || count < 0 || lines.length !== count + 2) {
    throw new Error(`invalid checkpoint: count line "${lines[1] ?? ""}" does not match entries`);
  }
  const out: CheckpointEntry[] = [];
  for (const line of lines.slice(2)) {
    const m = /^(\S+) (\d+) (-?\d+)$/.exec(line);
    if (!m) throw new Error(`invalid checkpoint: malformed line "${line}"`);
    out.push({ topic: m[1], partition: Number(m[2]), offset: Number(m[3]) });
  }
  return out;
}

/**
 * Reads a checkpoint file into a map keyed `topic-partition`. A missing or malformed file yields
 * an empty map (the caller then recovers from scratch) and reports why through `onError`.
 *
 * @param path Checkpoint file path.
 * @param onError Called with a description when the file exists but cannot be parsed.
 * @returns Offsets by `topic-partition` key.
 *
 * @example
 * ```ts ignore
 * import { readCheckpointFile } from "./checkpoint.ts";
 * const m = await readCheckpointFile("/data/recovery-point-offset-checkpoint");
 * ```
 */
export async function readCheckpointFile(
  path: string,
  onError?: (msg: string) => void,
): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) onError?.(`cannot read ${path}: ${e}`);
    return out;
  }
  try {
    for (const e of parseCheckpoint(text)) out.set(`${e.topic}-${e.partition}`, e.offset);
  } catch (e) {
    onError?.(`ignoring ${path}: ${(e as Error).message}`);
    out.clear();
  }
  return out;
}
