/**
 * Atomic file writes and Kafka's offset checkpoint files (`recovery-point-offset-checkpoint`,
 * `log-start-offset-checkpoint`): a version line, a count line, then `topic partition offset`
 * lines.
 *
 * @module
 */

import { CHECKPOINT_VERSION, TEMP_FILE_SUFFIX } from "./names.ts";
import { readTextFileBounded, withTransientFile, writeWhole } from "./transient_files.ts";

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
    await writeWhole(tmp, data, true);
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
export function syncDir(dir: string): Promise<void> {
  return withTransientFile(async () => {
    let f: Deno.FsFile | undefined;
    try {
      f = await Deno.open(dir, { read: true });
      await f.sync();
    } catch {
      // Directories cannot be opened for sync on some platforms; nothing more we can do.
    } finally {
      f?.close();
    }
  });
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
  const out: CheckpointEntry[] = [];
  forEachCheckpointEntry(text, (topic, partition, offset) => {
    out.push({ topic, partition: Number(partition), offset });
  });
  return out;
}

/** Whether `line[from, to)` is digits, at least one (with `minus`, an optional leading `-`). */
function isDigits(line: string, from: number, to: number, minus: boolean): boolean {
  if (minus && line.charCodeAt(from) === 45) from++;
  if (from >= to) return false;
  for (let i = from; i < to; i++) {
    const c = line.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/** Whether `line[0, to)` holds white space (as `\s` matches it). */
function hasSpace(line: string, to: number): boolean {
  for (let i = 0; i < to; i++) {
    const c = line.charCodeAt(i);
    if (c <= 32 || (c >= 127 && /\s/.test(line[i]))) return true;
  }
  return false;
}

/**
 * Calls `fn` with each entry of a checkpoint's text (the partition as its digits), in order.
 * Parses by hand, not with a regular expression a line: a data dir of 10,000 partitions reads
 * 10,000 lines from each checkpoint file at every start (issue #17).
 */
function forEachCheckpointEntry(
  text: string,
  fn: (topic: string, partition: string, offset: number) => void,
): void {
  const lines: string[] = [];
  let at = 0;
  while (at < text.length) {
    let end = text.indexOf("\n", at);
    if (end < 0) end = text.length;
    if (end > at) lines.push(text.slice(at, end));
    at = end + 1;
  }
  if (lines[0] !== String(CHECKPOINT_VERSION)) {
    throw new Error(`invalid checkpoint: unsupported version line "${lines[0] ?? ""}"`);
  }
  const count = Number(lines[1]);
  if (!Number.isInteger(count) || count < 0 || lines.length !== count + 2) {
    throw new Error(`invalid checkpoint: count line "${lines[1] ?? ""}" does not match entries`);
  }
  for (let i = 2; i < lines.length; i++) {
    const line = lines[i];
    // `topic partition offset`: no white space in the topic, digits, optionally negative digits
    const s2 = line.lastIndexOf(" ");
    const s1 = s2 > 0 ? line.lastIndexOf(" ", s2 - 1) : -1;
    if (
      s1 <= 0 || hasSpace(line, s1) || !isDigits(line, s1 + 1, s2, false) ||
      !isDigits(line, s2 + 1, line.length, true)
    ) {
      throw new Error(`invalid checkpoint: malformed line "${line}"`);
    }
    fn(line.slice(0, s1), line.slice(s1 + 1, s2), Number(line.slice(s2 + 1)));
  }
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
    text = await readTextFileBounded(path);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) onError?.(`cannot read ${path}: ${e}`);
    return out;
  }
  try {
    forEachCheckpointEntry(text, (topic, partition, offset) => {
      out.set(`${topic}-${Number(partition)}`, offset);
    });
  } catch (e) {
    onError?.(`ignoring ${path}: ${(e as Error).message}`);
    out.clear();
  }
  return out;
}
