/**
 * The crash-safe swap of cleaned segments, and its completion when a log is opened.
 *
 * The cleaner writes one `.log` file, `<B>.log.cleaned`, holding the cleaned form of the
 * segments with base offsets in `[B, E)` (fsynced). The swap then goes:
 *
 * 1. `<B>.swapend` is written atomically with `E` (the marker says which old segments the swap
 *    replaces: the cleaned file alone cannot say, as compaction may have removed its tail);
 * 2. `<B>.log.cleaned` is renamed to `<B>.log.swap` and the directory fsynced - the commit point;
 * 3. the old segments' files are renamed to `.deleted`;
 * 4. `<B>.log.swap` is renamed to `<B>.log`;
 * 5. the new segment's indexes are written and the marker removed.
 *
 * At open ({@linkcode completeSwaps}), a `<B>.log.swap` with its marker is rolled forward (old
 * `.log`/`.index`/`.timeindex`/`.txnindex` files in `[B, E)` removed, the swap renamed into
 * place, its indexes rebuilt by the loader); a marker without a swap file is removed (before step 2 the old
 * segments are intact; after step 4 the swap is done); a swap without a marker cannot come from
 * this protocol and is removed. A kill at any moment thus leaves the old or the new segment set.
 *
 * @module
 */

import { syncDir, writeFileAtomic } from "./checkpoint.ts";
import {
  CLEANED_FILE_SUFFIX,
  DELETED_FILE_SUFFIX,
  INDEX_FILE_SUFFIX,
  LOG_FILE_SUFFIX,
  offsetFileStem,
  parseSegmentFileName,
  SWAP_END_FILE_SUFFIX,
  SWAP_FILE_SUFFIX,
  TIME_INDEX_FILE_SUFFIX,
  TXN_INDEX_FILE_SUFFIX,
} from "./names.ts";
import { type LogSegment, removeIfExists } from "./segment.ts";

/** Points of the swap at which {@linkcode SwapOptions.onStep} is called. */
export type SwapStep = "marked" | "committed" | "old-renamed" | "renamed" | "done";

/** Options of {@linkcode swapInCleaned}. */
export interface SwapOptions {
  /** Called after each step (tests copy the directory here to simulate a kill). */
  onStep?: (step: SwapStep) => Promise<void> | void;
}

/** Thrown by {@linkcode swapInCleaned}; `committed` says whether the commit point was passed. */
export class SwapError extends Error {
  /** Whether the swap file was in place when the error happened. */
  readonly committed: boolean;

  /**
   * @param message What failed.
   * @param committed Whether the commit point was passed.
   */
  constructor(message: string, committed: boolean) {
    super(message);
    this.name = "SwapError";
    this.committed = committed;
  }
}

/**
 * Path of the cleaned `.log` file the cleaner writes for base offset `base`.
 *
 * @param dir Partition directory.
 * @param base Base offset of the first replaced segment.
 * @returns `<dir>/<base>.log.cleaned`.
 *
 * @example
 * ```ts
 * import { cleanedLogPath } from "./cleaner_swap.ts";
 * console.assert(cleanedLogPath("/d", 5) === "/d/00000000000000000005.log.cleaned");
 * ```
 */
export function cleanedLogPath(dir: string, base: number): string {
  return `${dir}/${offsetFileStem(base)}${LOG_FILE_SUFFIX}${CLEANED_FILE_SUFFIX}`;
}

/**
 * Performs steps 1-5 of the swap (see the module doc). The cleaned file must be complete and
 * fsynced; `old` are the replaced segments (their file handles are opened first, so readers
 * holding them keep reading the old data after the rename); `replacement` is the new segment
 * with its indexes built in memory.
 *
 * @param dir Partition directory.
 * @param end Base offset of the first segment after the replaced ones.
 * @param old The replaced segments, oldest first.
 * @param replacement The new segment (same base offset as `old[0]`).
 * @param options Step callback.
 * @returns The renamed (`.deleted`) paths of each old segment.
 * @throws {SwapError} If a step failed (`committed` tells whether the new set is on disk).
 */
export async function swapInCleaned(
  dir: string,
  end: number,
  old: LogSegment[],
  replacement: LogSegment,
  options: SwapOptions = {},
): Promise<string[][]> {
  const base = replacement.baseOffset;
  const stem = `${dir}/${offsetFileStem(base)}`;
  const swap = `${stem}${LOG_FILE_SUFFIX}${SWAP_FILE_SUFFIX}`;
  const marker = `${stem}${SWAP_END_FILE_SUFFIX}`;
  let committed = false;
  try {
    for (const s of old) await s.readBytes(0, 0); // pin the old inodes for in-flight readers
    await writeFileAtomic(marker, new TextEncoder().encode(`${end}\n`));
    await options.onStep?.("marked");
    await Deno.rename(cleanedLogPath(dir, base), swap);
    await syncDir(dir);
    committed = true;
    await options.onStep?.("committed");
    const renamed: string[][] = [];
    for (const s of old) renamed.push(await s.renameToDeleted());
    await options.onStep?.("old-renamed");
    await Deno.rename(swap, replacement.logPath);
    await syncDir(dir);
    await options.onStep?.("renamed");
    replacement.indexDirty = true;
    replacement.txnIndex.dirty = true; // an empty one too: the old segment's went with it
    try {
      await replacement.writeIndexes(true);
    } catch {
      // a full disk: the swap stands; the indexes stay dirty and are written at the next flush
      // (or rebuilt from the log at open), never a reason to take the log offline
    }
    await removeIfExists(marker);
    await options.onStep?.("done");
    return renamed;
  } catch (e) {
    throw new SwapError(
      `swap of cleaned segment ${base} in ${dir} failed${committed ? " after commit" : ""}: ` +
        (e instanceof Error ? e.message : String(e)),
      committed,
    );
  }
}

/**
 * Completes or rolls back a cleaner swap interrupted by a crash (see the module doc). Run before
 * the loader lists the segments.
 *
 * @param dir Partition directory.
 * @param log Diagnostic messages.
 */
export async function completeSwaps(dir: string, log: (msg: string) => void): Promise<void> {
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) if (e.isFile) names.push(e.name);
  const swapSuffix = LOG_FILE_SUFFIX + SWAP_FILE_SUFFIX;
  const swaps = new Set<number>();
  for (const name of names) {
    const p = parseSegmentFileName(name);
    if (!p || p.suffix !== swapSuffix) continue;
    const stem = offsetFileStem(p.baseOffset);
    let end = NaN;
    try {
      end = Number((await Deno.readTextFile(`${dir}/${stem}${SWAP_END_FILE_SUFFIX}`)).trim());
    } catch {
      // no marker: not a committed swap of ours
    }
    if (!Number.isSafeInteger(end) || end <= p.baseOffset) {
      log(`${dir}: removing swap file ${name} without a valid ${SWAP_END_FILE_SUFFIX} marker`);
      await removeIfExists(`${dir}/${name}`);
      continue;
    }
    swaps.add(p.baseOffset);
    const replaced = new Set([
      LOG_FILE_SUFFIX,
      INDEX_FILE_SUFFIX,
      TIME_INDEX_FILE_SUFFIX,
      TXN_INDEX_FILE_SUFFIX,
    ]);
    for (const other of names) {
      const q = parseSegmentFileName(other);
      if (!q || q.baseOffset < p.baseOffset || q.baseOffset >= end) continue;
      const suffix = q.suffix.endsWith(DELETED_FILE_SUFFIX)
        ? q.suffix.slice(0, -DELETED_FILE_SUFFIX.length)
        : q.suffix;
      if (replaced.has(suffix)) await removeIfExists(`${dir}/${other}`);
    }
    await Deno.rename(`${dir}/${name}`, `${dir}/${stem}${LOG_FILE_SUFFIX}`);
    await syncDir(dir);
    log(`${dir}: completed the interrupted swap of cleaned segment ${p.baseOffset} (up to ${end})`);
  }
  for (const name of names) {
    const p = parseSegmentFileName(name);
    if (p && p.suffix === SWAP_END_FILE_SUFFIX) await removeIfExists(`${dir}/${name}`);
  }
  if (swaps.size > 0) await syncDir(dir);
}
