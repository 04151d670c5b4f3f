/**
 * The leader-epoch cache of a partition (Kafka's `LeaderEpochFileCache`): for each leader epoch
 * that wrote to the log, the offset of its first record, kept in `leader-epoch-checkpoint` in
 * the partition directory (Kafka's file and format). OffsetForLeaderEpoch answers from it (a
 * consumer validating its position after a leader change, a follower finding where its log
 * diverges), and truncation and retention trim it with the log.
 *
 * @module
 */

import { writeFileAtomic } from "./checkpoint.ts";
import { readTextFileBounded } from "./transient_files.ts";
import { CHECKPOINT_VERSION, LEADER_EPOCH_CHECKPOINT_FILE } from "./names.ts";

/** An epoch and the offset of its first record. */
export interface EpochEntry {
  /** Leader epoch. */
  epoch: number;
  /** Offset of the first record written in that epoch. */
  startOffset: number;
}

/** Kafka's "no epoch" value. */
export const UNDEFINED_EPOCH: number = -1;
/** Kafka's "no offset" value for OffsetForLeaderEpoch. */
export const UNDEFINED_EPOCH_OFFSET: number = -1;

/**
 * A partition's epoch -> start offset map, in epoch order (epochs and start offsets both
 * strictly increasing, as Kafka keeps them).
 *
 * @example
 * ```ts
 * import { LeaderEpochCache } from "./leader_epoch_cache.ts";
 *
 * const cache = new LeaderEpochCache("/tmp/unused", [{ epoch: 0, startOffset: 0 }]);
 * cache.assign(2, 100);
 * console.assert(cache.endOffsetFor(0, 150).endOffset === 100);
 * console.assert(cache.endOffsetFor(2, 150).endOffset === 150);
 * ```
 */
export class LeaderEpochCache {
  /** The partition directory. */
  readonly dir: string;
  #entries: EpochEntry[];
  #dirty = false;
  /** The checkpoint file's text as last read or written (undefined: unknown or absent). */
  #onDisk: string | undefined;

  /**
   * Creates a cache (use {@linkcode LeaderEpochCache.load} to read a partition's checkpoint).
   *
   * @param dir Partition directory (where the checkpoint lives).
   * @param entries Initial entries, in epoch order.
   */
  constructor(dir: string, entries: EpochEntry[] = []) {
    this.dir = dir;
    this.#entries = entries.map((e) => ({ ...e }));
  }

  /** Path of the checkpoint file. */
  get path(): string {
    return `${this.dir}/${LEADER_EPOCH_CHECKPOINT_FILE}`;
  }

  /**
   * Reads `leader-epoch-checkpoint`, keeping only entries consistent with the log: start offsets
   * below `logEndOffset` (a crash can leave a checkpoint ahead of a log that lost its tail) and
   * epochs and offsets strictly increasing. A missing or malformed file gives an empty cache
   * (reported through `onError`); the caller may rebuild it from the log.
   * Requires `--allow-read`.
   *
   * @param dir Partition directory.
   * @param logStartOffset The log start offset (earlier entries are folded into it).
   * @param logEndOffset The log end offset.
   * @param onError Called with why the file was ignored.
   * @returns The cache and whether the file existed.
   */
  static async load(
    dir: string,
    logStartOffset: number,
    logEndOffset: number,
    onError?: (msg: string) => void,
  ): Promise<{ cache: LeaderEpochCache; found: boolean }> {
    const path = `${dir}/${LEADER_EPOCH_CHECKPOINT_FILE}`;
    let text: string;
    try {
      text = await readTextFileBounded(path);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) onError?.(`cannot read ${path}: ${e}`);
      return { cache: new LeaderEpochCache(dir), found: false };
    }
    let entries: EpochEntry[];
    try {
      entries = parseEpochCheckpoint(text);
    } catch (e) {
      onError?.(`ignoring ${path}: ${(e as Error).message}`);
      return { cache: new LeaderEpochCache(dir), found: false };
    }
    const cache = new LeaderEpochCache(dir, entries);
    cache.#onDisk = text;
    cache.truncateFromEnd(logEndOffset);
    cache.truncateFromStart(logStartOffset);
    return { cache, found: true };
  }

  /** The entries, in epoch order (copies). */
  entries(): EpochEntry[] {
    return this.#entries.map((e) => ({ ...e }));
  }

  /** The latest epoch, or {@linkcode UNDEFINED_EPOCH} when none. */
  get latestEpoch(): number {
    return this.#entries.at(-1)?.epoch ?? UNDEFINED_EPOCH;
  }

  /**
   * Whether the entries differ from the checkpoint file as last read or written (a change that
   * was undone, e.g. an entry trimmed at load and assigned again, is not one).
   */
  get dirty(): boolean {
    if (!this.#dirty) return false;
    if (formatEpochCheckpoint(this.#entries) !== this.#onDisk) return true;
    this.#dirty = false;
    return false;
  }

  /**
   * Records that `epoch` starts at `startOffset`, as Kafka's `assign`: ignored unless the epoch
   * is newer than the latest one (or the first); an entry with a start offset at or past it is
   * replaced.
   *
   * @param epoch Leader epoch (>= 0).
   * @param startOffset Offset of its first record.
   * @returns Whether the cache changed.
   */
  assign(epoch: number, startOffset: number): boolean {
    if (epoch < 0) return false;
    const last = this.#entries.at(-1);
    if (last !== undefined && (epoch <= last.epoch)) return false;
    // an older epoch's entry starting at or after this offset was never really used
    while (this.#entries.length > 0 && this.#entries.at(-1)!.startOffset >= startOffset) {
      this.#entries.pop();
    }
    this.#entries.push({ epoch, startOffset });
    this.#dirty = true;
    return true;
  }

  /**
   * The end offset of `requestedEpoch` (Kafka's `endOffsetFor`): the start offset of the first
   * later epoch, or the log end offset for the latest epoch. For an epoch older than every entry
   * the result keeps the requested epoch with the first entry's start offset; for one newer
   * than the latest, {@linkcode UNDEFINED_EPOCH} and {@linkcode UNDEFINED_EPOCH_OFFSET}.
   *
   * @param requestedEpoch The epoch asked about.
   * @param logEndOffset The log end offset.
   * @returns The largest epoch <= the requested one that is known, and its end offset.
   */
  endOffsetFor(requestedEpoch: number, logEndOffset: number): { epoch: number; endOffset: number } {
    const none = { epoch: UNDEFINED_EPOCH, endOffset: UNDEFINED_EPOCH_OFFSET };
    if (requestedEpoch === UNDEFINED_EPOCH || this.#entries.length === 0) return none;
    if (requestedEpoch === this.latestEpoch) {
      return { epoch: requestedEpoch, endOffset: logEndOffset };
    }
    const higher = this.#entries.find((e) => e.epoch > requestedEpoch);
    if (higher === undefined) return none;
    const floor = this.#entries.filter((e) => e.epoch <= requestedEpoch).at(-1);
    return { epoch: floor?.epoch ?? requestedEpoch, endOffset: higher.startOffset };
  }

  /**
   * Drops entries whose start offset is at or past `endOffset` (after the log was truncated).
   *
   * @param endOffset The new log end offset.
   */
  truncateFromEnd(endOffset: number): void {
    const before = this.#entries.length;
    this.#entries = this.#entries.filter((e) => e.startOffset < endOffset);
    if (this.#entries.length !== before) this.#dirty = true;
  }

  /**
   * Folds entries below `startOffset` into it (after the log start moved): the last epoch that
   * started at or before it now starts there, earlier ones go.
   *
   * @param startOffset The new log start offset.
   */
  truncateFromStart(startOffset: number): void {
    let i = -1;
    for (let k = 0; k < this.#entries.length; k++) {
      if (this.#entries[k].startOffset <= startOffset) i = k;
    }
    if (i < 0) return;
    const keep = this.#entries.slice(i);
    if (i === 0 && keep[0].startOffset === startOffset) return;
    keep[0] = { epoch: keep[0].epoch, startOffset };
    this.#entries = keep;
    this.#dirty = true;
  }

  /** Drops every entry (the log was emptied and restarts elsewhere; Kafka's `clear`). */
  clear(): void {
    if (this.#entries.length === 0) return;
    this.#entries = [];
    this.#dirty = true;
  }

  /**
   * Writes `leader-epoch-checkpoint` atomically if the entries differ from the file. Requires
   * `--allow-write`.
   */
  async flush(): Promise<void> {
    if (!this.dirty) return;
    const text = formatEpochCheckpoint(this.#entries);
    this.#dirty = false;
    try {
      await writeFileAtomic(this.path, new TextEncoder().encode(text));
      this.#onDisk = text;
    } catch (e) {
      this.#dirty = true;
      throw e;
    }
  }
}

/**
 * Formats epoch entries as Kafka's `leader-epoch-checkpoint`: a version line (0), a count line,
 * then `epoch startOffset` lines.
 *
 * @example
 * ```ts
 * import { formatEpochCheckpoint } from "./leader_epoch_cache.ts";
 * console.assert(formatEpochCheckpoint([{ epoch: 0, startOffset: 5 }]) === "0\n1\n0 5\n");
 * ```
 *
 * @param entries The entries.
 * @returns The file text.
 */
export function formatEpochCheckpoint(entries: EpochEntry[]): string {
  return [
    String(CHECKPOINT_VERSION),
    String(entries.length),
    ...entries.map((e) => `${e.epoch} ${e.startOffset}`),
  ].join("\n") + "\n";
}

/**
 * Parses Kafka's `leader-epoch-checkpoint`.
 *
 * @example
 * ```ts
 * import { parseEpochCheckpoint } from "./leader_epoch_cache.ts";
 * console.assert(parseEpochCheckpoint("0\n2\n0 0\n3 17\n")[1].startOffset === 17);
 * ```
 *
 * @param text The file text.
 * @returns The entries.
 * @throws {Error} On a bad version, count or line, or entries not strictly increasing.
 */
export function parseEpochCheckpoint(text: string): EpochEntry[] {
  const lines = text.split("\n").filter((l) => l.length > 0);
  if (lines[0] !== String(CHECKPOINT_VERSION)) {
    throw new Error(`unsupported version line "${lines[0] ?? ""}"`);
  }
  const count = Number(lines[1]);
  if (!Number.isInteger(count) || count < 0 || lines.length !== count + 2) {
    throw new Error(`count line "${lines[1] ?? ""}" does not match the entries`);
  }
  const out: EpochEntry[] = [];
  for (const line of lines.slice(2)) {
    const m = /^(\d+) (\d+)$/.exec(line);
    if (!m) throw new Error(`malformed line "${line}"`);
    const e = { epoch: Number(m[1]), startOffset: Number(m[2]) };
    const prev = out.at(-1);
    if (prev && (e.epoch <= prev.epoch || e.startOffset <= prev.startOffset)) {
      throw new Error(`entry "${line}" does not follow "${prev.epoch} ${prev.startOffset}"`);
    }
    out.push(e);
  }
  return out;
}
