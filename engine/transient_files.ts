/**
 * A process-wide bound on descriptors held briefly: index files written or read whole, checkpoint
 * and snapshot files, directories opened to fsync them. Segment `.log` handles are bounded by the
 * file handle cache (`handle_cache.ts`); these short-lived ones are bounded here, so that a request touching
 * thousands of partitions at once (the first produce to each, which makes its files) does not
 * open one descriptor per partition at the same moment and run into the process's open-file
 * limit (`ulimit -n`).
 *
 * A section must not enter another section inside it (the slots it waits for could all be held
 * by sections waiting the same way): each call site opens, does its I/O and closes.
 *
 * @module
 */

/** Most transient descriptors open at once, over the whole process. */
export const MAX_TRANSIENT_FILES = 16;

let active = 0;
let peak = 0;
const waiters: (() => void)[] = [];

/**
 * Runs `fn` holding one of {@linkcode MAX_TRANSIENT_FILES} slots: waits while every slot is held.
 * `fn` opens at most one descriptor and closes it before it returns.
 *
 * @param fn The section (open, I/O, close).
 * @returns What `fn` returns.
 *
 * @example
 * ```ts
 * import { withTransientFile } from "./transient_files.ts";
 *
 * const text = await withTransientFile(() => Deno.readTextFile("deno.json"));
 * console.assert(text.length > 0);
 * ```
 */
export async function withTransientFile<T>(fn: () => Promise<T>): Promise<T> {
  if (active >= MAX_TRANSIENT_FILES) await new Promise<void>((r) => waiters.push(r));
  else active++;
  if (active > peak) peak = active;
  try {
    return await fn();
  } finally {
    const next = waiters.shift();
    if (next !== undefined) next(); // the slot passes straight to the next waiter
    else active--;
  }
}

/**
 * The bound's counters (for tests).
 *
 * @returns Slots held now and the most held at once since the process started (or the last
 * {@linkcode resetTransientFilePeak}).
 */
export function transientFileStats(): { active: number; peak: number } {
  return { active, peak };
}

/** Restarts the peak count from the slots held now (for tests). */
export function resetTransientFilePeak(): void {
  peak = active;
}

/**
 * Reads a whole file under the bound.
 *
 * @param path File path.
 * @returns The bytes.
 */
export function readFileBounded(path: string): Promise<Uint8Array> {
  return withTransientFile(() => Deno.readFile(path));
}

/**
 * Reads a whole text file under the bound.
 *
 * @param path File path.
 * @returns The text.
 */
export function readTextFileBounded(path: string): Promise<string> {
  return withTransientFile(() => Deno.readTextFile(path));
}

/**
 * Writes `data` as the whole content of `path` (created or truncated) under the bound, fsynced
 * first if `sync`.
 *
 * @param path File path.
 * @param data The bytes.
 * @param sync Whether to fsync the file before closing it.
 */
export function writeWhole(path: string, data: Uint8Array, sync: boolean): Promise<void> {
  return withTransientFile(async () => {
    const f = await Deno.open(path, { write: true, create: true, truncate: true });
    try {
      let off = 0;
      while (off < data.length) off += await f.write(data.subarray(off));
      if (sync) await f.sync();
    } finally {
      f.close();
    }
  });
}
