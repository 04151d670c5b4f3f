/**
 * One log segment: a `.log` file of record batches plus its sparse offset index (`.index`) and
 * time index (`.timeindex`), both held in WASM-resident buffers, and its transaction index
 * (`.txnindex`, `transaction_index.ts`), all written to disk on roll, flush and close.
 *
 * Index entries: the offset index maps a batch's base offset (relative to the segment) to the
 * batch's byte position, one entry per `index.interval.bytes`; the time index maps the largest
 * timestamp seen so far to the last offset of the batch holding it (Kafka's shallow offset).
 *
 * @module
 */

import { BatchStatus, OffsetIndexBuffer, scanBatches, TimeIndexBuffer } from "../wasm/mod.ts";
import {
  BASE_OFFSET_LENGTH,
  baseOffsetAt,
  batchSizeAt,
  HEADER_PEEK,
  lastOffsetAt,
  LOG_OVERHEAD,
  MAX_TIMESTAMP_LENGTH,
  MAX_TIMESTAMP_OFFSET,
  maxTimestampAt,
  partitionLeaderEpochAt,
  readInt64,
  RECORD_BATCH_OVERHEAD,
} from "../records/layout.ts";
import { type CachedHandle, type FileHandleCache, isTooManyOpenFiles } from "./handle_cache.ts";
import { HotTail, type KeepBytes } from "./hot_tail.ts";
import { TransactionIndex } from "./transaction_index.ts";
import { syncDir } from "./checkpoint.ts";
import { readFileBounded, writeWhole } from "./transient_files.ts";
import {
  DELETED_FILE_SUFFIX,
  INDEX_FILE_SUFFIX,
  LOG_FILE_SUFFIX,
  offsetFileStem,
  TIME_INDEX_FILE_SUFFIX,
} from "./names.ts";

/** Bytes of a batch header up to and including `maxTimestamp`. */
const TIMESTAMP_PEEK = MAX_TIMESTAMP_OFFSET + MAX_TIMESTAMP_LENGTH;

/** Serialises async critical sections. */
export class Mutex {
  #tail: Promise<void> = Promise.resolve();
  #pending = 0;
  readonly #onIdle: (() => void) | undefined;

  /**
   * @param onIdle Called each time the last queued section has finished.
   */
  constructor(onIdle?: () => void) {
    this.#onIdle = onIdle;
  }

  /** Whether no section is running or queued. */
  get idle(): boolean {
    return this.#pending === 0;
  }

  /**
   * Runs `fn` after every previously queued section has finished.
   *
   * @param fn The critical section.
   * @returns What `fn` returns.
   */
  run<T>(fn: () => Promise<T>): Promise<T> {
    this.#pending++;
    const r = this.#tail.then(fn);
    this.#tail = r.then(this.#done, this.#done);
    return r;
  }

  #done = (): void => {
    if (--this.#pending === 0) this.#onIdle?.();
  };
}

/** Location of one stored batch. */
export interface BatchLocation {
  /** Byte position in the segment. */
  position: number;
  /** Total batch size. */
  size: number;
  /** Base offset. */
  baseOffset: number;
  /** Last offset. */
  lastOffset: number;
}

/** A segment's append state, taken before an append so that a failed one can be undone. */
export interface SegmentMark {
  /** Bytes in the `.log` file. */
  size: number;
  /** Offset after the last batch. */
  nextOffset: number;
  /** Largest batch maxTimestamp. */
  maxTimestamp: number;
  /** Last offset of the batch holding it. */
  offsetOfMaxTimestamp: number;
  /** maxTimestamp of the first batch. */
  firstBatchTimestamp: number;
  /** Entries in the offset index. */
  offsetIndexEntries: number;
  /** Entries in the time index. */
  timeIndexEntries: number;
  /** Bytes appended since the last offset index entry. */
  bytesSinceIndex: number;
  /** Timestamp of the last time index entry. */
  lastTimeIndexTs: number;
}

/** Result of {@linkcode LogSegment.recover}. */
export interface SegmentRecovery {
  /** Bytes of valid batches (the segment's new size). */
  validBytes: number;
  /** Bytes cut off the end of the file (0 if the whole file was valid). */
  truncatedBytes: number;
  /** Why the tail was cut ("" if not). */
  reason: string;
  /**
   * Each leader epoch the kept batches carry and the base offset of its first batch, in order
   * (only epochs larger than every one before: Kafka's recovery assigns these to the cache).
   */
  epochs: { epoch: number; startOffset: number }[];
}

const READ_WINDOW = 64 * 1024;
const INDEX_INITIAL_ENTRIES = 256;
const SYNC_WRITE_MAX = 256 * 1024;
const RECOVERY_CHUNK = 8 * 1024 * 1024;

/** A segment of a partition log. */
export class LogSegment {
  /** Partition directory. */
  readonly dir: string;
  /** First offset this segment can hold. */
  readonly baseOffset: number;
  /** Bytes in the `.log` file. */
  size = 0;
  /** Offset after the last batch (= baseOffset when empty). */
  nextOffset: number;
  /** Largest batch maxTimestamp (-1 when none). */
  maxTimestamp = -1;
  /** Last offset of the batch holding {@linkcode LogSegment.maxTimestamp}. */
  offsetOfMaxTimestamp: number;
  /** maxTimestamp of the first batch (-1 when empty), for `segment.ms`. */
  firstBatchTimestamp = -1;
  /** Wall-clock time the segment was created or loaded. */
  readonly createdMs: number;
  /** Wall-clock time of the last write (the file's mtime when loaded). */
  lastModifiedMs: number;
  // the index buffers take WASM memory (5 KiB a segment at first, never given back to the
  // system): made at their first use, so that an idle partition holds none
  #offsetIndex: OffsetIndexBuffer | undefined;
  #timeIndex: TimeIndexBuffer | undefined;
  /** Sparse offset index (WASM-resident; allocated at first use). */
  get offsetIndex(): OffsetIndexBuffer {
    return this.#offsetIndex ??= new OffsetIndexBuffer(INDEX_INITIAL_ENTRIES);
  }
  /** Sparse time index (WASM-resident; allocated at first use). */
  get timeIndex(): TimeIndexBuffer {
    return this.#timeIndex ??= new TimeIndexBuffer(INDEX_INITIAL_ENTRIES);
  }
  /** The aborted transactions whose marker is in this segment (`.txnindex`). */
  readonly txnIndex: TransactionIndex;
  /** Hot tail (active segment only). */
  tail: HotTail | undefined;
  /** Whether the indexes changed since they were last written. */
  indexDirty = false;
  /** Whether `.log` bytes were written since the last fsync. */
  unsynced = false;
  /** Recovery accepts forward offset gaps (segments of compacted logs; set by loader/cleaner). */
  allowOffsetGaps = false;
  #bytesSinceIndex = 0;
  #lastTimeIndexTs = -1;
  // The `.log` handle is opened on demand and closed by the LRU cache when idle (handle_cache.ts).
  // Every use of it runs in an `#io` section, so a handle in use is never closed under a reader.
  #file: Deno.FsFile | undefined;
  #handles: FileHandleCache | undefined;
  readonly #entry: CachedHandle = { tryClose: () => this.#closeIdleHandle() };
  /** Where the `.log` file is now (`logPath`, or its `.deleted` name once renamed). */
  #openPath: string;
  /** Set when an index entry did not match the log: lookups walk from the start. */
  #indexSuspect = false;
  /** The handle's file offset, to skip seeks for sequential I/O (-1: unknown). */
  #filePos = -1;
  #io = new Mutex(() => {
    // someone waits for a handle slot: give up ours now that no I/O uses it
    if (this.#file !== undefined && this.#handles?.waiting) this.#handles.idle(this.#entry);
  });
  #closed = false;
  /** The `.log` file is not made yet: the first open makes it ({@linkcode LogSegment.createLazy}). */
  #fileMissing = false;
  /** The `.log` file was made since the partition directory was last fsynced. */
  #dirUnsynced = false;

  /**
   * @param dir Partition directory.
   * @param baseOffset Segment base offset.
   * @param handles The cache bounding open `.log` handles (none: the handle stays open until
   * {@linkcode LogSegment.close}).
   */
  constructor(dir: string, baseOffset: number, handles?: FileHandleCache) {
    this.dir = dir;
    this.baseOffset = baseOffset;
    this.nextOffset = baseOffset;
    this.offsetOfMaxTimestamp = baseOffset;
    this.createdMs = Date.now();
    this.lastModifiedMs = this.createdMs;
    this.#handles = handles;
    this.#openPath = this.logPath;
    this.txnIndex = new TransactionIndex(dir, baseOffset);
  }

  /** Path of the `.log` file. */
  get logPath(): string {
    return `${this.dir}/${offsetFileStem(this.baseOffset)}${LOG_FILE_SUFFIX}`;
  }
  /** Path of the `.index` file. */
  get indexPath(): string {
    return `${this.dir}/${offsetFileStem(this.baseOffset)}${INDEX_FILE_SUFFIX}`;
  }
  /** Path of the `.timeindex` file. */
  get timeIndexPath(): string {
    return `${this.dir}/${offsetFileStem(this.baseOffset)}${TIME_INDEX_FILE_SUFFIX}`;
  }
  /** Path of the `.txnindex` file. */
  get txnIndexPath(): string {
    return this.txnIndex.path;
  }

  /**
   * Creates an empty segment on disk (truncating leftovers with the same base offset): an empty
   * `.log` and, if they can be written, empty index files, so that closing a segment that never
   * got index entries writes nothing (an empty `.txnindex` also says that nothing aborted in the
   * segment: a missing one is rebuilt from the log at open).
   *
   * @param dir Partition directory.
   * @param baseOffset Base offset.
   * @param handles The cache bounding open `.log` handles.
   * @returns The segment (its handle open, and managed by `handles`).
   */
  static async create(
    dir: string,
    baseOffset: number,
    handles?: FileHandleCache,
  ): Promise<LogSegment> {
    const seg = new LogSegment(dir, baseOffset, handles);
    await seg.#io.run(() => seg.#open({ read: true, write: true, create: true, truncate: true }));
    const indexes = [seg.indexPath, seg.timeIndexPath, seg.txnIndexPath];
    try {
      for (const p of indexes) await removeIfExists(p);
    } catch (e) {
      await seg.close(); // its handle goes back to the cache
      throw e;
    }
    await seg.#writeEmptyIndexes();
    return seg;
  }

  /**
   * An empty segment whose files are made by its first use (a read, an append), not now: a
   * partition that is created or loaded empty costs no file, handle or fsync until it is used
   * (Kafka opens its segments' files lazily too). The `.log` file is made with its empty index
   * files; the next {@linkcode LogSegment.syncLog} fsyncs the partition directory too, so the
   * new file's entry is durable before anything in it is acknowledged as flushed. The partition
   * directory must exist.
   *
   * @param dir Partition directory.
   * @param baseOffset Base offset.
   * @param handles The cache bounding open `.log` handles.
   * @returns The segment (no file made, no handle open).
   */
  static createLazy(dir: string, baseOffset: number, handles?: FileHandleCache): LogSegment {
    const seg = new LogSegment(dir, baseOffset, handles);
    seg.#fileMissing = true;
    return seg;
  }

  /** Whether the `.log` file is made (false for a {@linkcode LogSegment.createLazy} one until used). */
  get fileMade(): boolean {
    return !this.#fileMissing;
  }

  /** Writes empty index files (best effort: if they cannot be, the next flush writes them). */
  async #writeEmptyIndexes(): Promise<void> {
    const indexes = [this.indexPath, this.timeIndexPath, this.txnIndexPath];
    try {
      for (const p of indexes) await writeWhole(p, new Uint8Array(0), false);
      this.indexDirty = false;
    } catch {
      // a full disk: without them, the indexes are written at the next flush
      for (const p of indexes) await removeIfExists(p).catch(() => {});
      this.indexDirty = true;
      this.txnIndex.dirty = true;
    }
  }

  /**
   * Puts the segment's handle under `handles` (for segments made without one, e.g. by the log
   * cleaner). No-op if it already has a cache.
   *
   * @param handles The cache.
   */
  useHandleCache(handles: FileHandleCache | undefined): void {
    if (this.#handles !== undefined || handles === undefined) return;
    this.#handles = handles;
    if (this.#file !== undefined) handles.adopt(this.#entry);
  }

  /** Whether the `.log` handle is open now (it is reopened on demand). */
  get hasOpenHandle(): boolean {
    return this.#file !== undefined;
  }

  /** Must run inside an `#io` section. */
  #handle(): Promise<Deno.FsFile> {
    if (this.#closed) return Promise.reject(new Error(`segment ${this.logPath} is closed`));
    const f = this.#file;
    if (f !== undefined) {
      this.#handles?.touch(this.#entry);
      return Promise.resolve(f);
    }
    return this.#open({ read: true, write: true });
  }

  /** Opens the `.log` file through the cache (inside an `#io` section). */
  async #open(options: Deno.OpenOptions): Promise<Deno.FsFile> {
    if (!this.#fileMissing) return await this.#openFile(options);
    const f = await this.#openFile({ ...options, create: true });
    this.#fileMissing = false;
    this.#dirUnsynced = true;
    await this.#writeEmptyIndexes();
    return f;
  }

  async #openFile(options: Deno.OpenOptions): Promise<Deno.FsFile> {
    const cache = this.#handles;
    if (cache === undefined) {
      this.#file = await Deno.open(this.#openPath, options);
      this.#filePos = -1;
      return this.#file;
    }
    for (let attempt = 0;; attempt++) {
      await cache.acquire();
      let f: Deno.FsFile;
      try {
        f = await Deno.open(this.#openPath, options);
      } catch (e) {
        cache.cancel();
        // the process limit is lower than the cache assumed: shrink the cache and retry once
        if (attempt === 0 && isTooManyOpenFiles(e) && cache.shrinkAfterEmfile()) continue;
        throw e;
      }
      this.#file = f;
      this.#filePos = -1;
      cache.opened(this.#entry);
      return f;
    }
  }

  /** Called by the cache: closes the handle if no I/O is running or queued on it. */
  #closeIdleHandle(): boolean {
    if (this.#file === undefined) return true;
    if (!this.#io.idle) return false;
    try {
      this.#file.close();
    } catch {
      // already closed
    }
    this.#file = undefined;
    this.#filePos = -1;
    return true;
  }

  /** Whether the offset index has room for `segment.index.bytes`. */
  indexFull(segmentIndexBytes: number): boolean {
    return this.offsetIndex.entries >= Math.floor(segmentIndexBytes / 8) ||
      this.timeIndex.entries >= Math.floor(segmentIndexBytes / 12);
  }

  /** Updates offsets, timestamps and indexes for a batch stored at `position`. */
  #track(
    position: number,
    size: number,
    base: number,
    last: number,
    maxTs: number,
    intervalBytes: number,
  ): void {
    if (this.firstBatchTimestamp < 0 && position === 0) this.firstBatchTimestamp = maxTs;
    if (maxTs > this.maxTimestamp) {
      this.maxTimestamp = maxTs;
      this.offsetOfMaxTimestamp = last;
    }
    if (this.#bytesSinceIndex > intervalBytes) {
      this.offsetIndex.append(base - this.baseOffset, position);
      this.#maybeAppendTimeIndex();
      this.#bytesSinceIndex = 0;
      this.indexDirty = true;
    }
    this.#bytesSinceIndex += size;
    this.nextOffset = last + 1;
  }

  #maybeAppendTimeIndex(): void {
    if (this.maxTimestamp > this.#lastTimeIndexTs) {
      this.timeIndex.append(this.maxTimestamp, this.offsetOfMaxTimestamp - this.baseOffset);
      this.#lastTimeIndexTs = this.maxTimestamp;
      this.indexDirty = true;
    }
  }

  /** Largest timestamp for retention: the max batch timestamp, else the last write time. */
  get largestTimestamp(): number {
    return this.maxTimestamp >= 0 ? this.maxTimestamp : this.lastModifiedMs;
  }

  /** Appends the final time index entry (Kafka does this when a segment is rolled or closed). */
  sealTimeIndex(): void {
    this.#maybeAppendTimeIndex();
  }

  /**
   * Writes batches (already offset-assigned) at the end of the segment.
   *
   * @param bytes Consecutive whole batches.
   * @param sizes Size of each batch.
   * @param bases Base offset of each batch.
   * @param lasts Last offset of each batch.
   * @param maxTimestamps maxTimestamp of each batch.
   * @param intervalBytes `index.interval.bytes`.
   * @param duringWrite Optional check run on this thread while the bytes are being written (the
   * write of a large span runs in Deno's thread pool). If it throws, the file is truncated back
   * to its previous size before the error is rethrown: the segment is unchanged (size, indexes,
   * hot tail) and nobody could read the bytes meanwhile (reads wait for the write to settle).
   * @param keep Lets the hot tail keep `bytes` instead of a copy ({@linkcode KeepBytes}).
   * @throws What `duringWrite` throws (segment unchanged), or the I/O error.
   */
  async append(
    bytes: Uint8Array,
    sizes: number[],
    bases: number[],
    lasts: number[],
    maxTimestamps: number[],
    intervalBytes: number,
    duringWrite?: () => void,
    keep?: KeepBytes,
  ): Promise<void> {
    const start = this.size;
    await this.#io.run(async () => {
      const f = await this.#handle();
      if (this.#filePos !== start) f.seekSync(start, Deno.SeekMode.Start); // lseek never blocks
      this.#filePos = -1;
      let off = 0;
      if (bytes.length <= SYNC_WRITE_MAX && !duringWrite) {
        // A small page-cache write is a memory copy: the synchronous call costs a fraction of
        // the thread-pool round trip of an async write (measured: 16 KiB ~10 µs vs ~40 µs).
        while (off < bytes.length) off += f.writeSync(bytes.subarray(off));
      } else {
        // Large writes go to the thread pool: `duringWrite` (and validation of queued appends)
        // overlaps them.
        const first = f.write(bytes);
        let failed: { error: unknown } | null = null;
        try {
          duringWrite?.();
        } catch (e) {
          failed = { error: e };
        }
        off = await first;
        while (off < bytes.length) off += await f.write(bytes.subarray(off));
        if (failed) {
          await f.truncate(start);
          this.#filePos = -1;
          throw failed.error;
        }
      }
      this.#filePos = start + off;
    });
    this.unsynced = true;
    this.lastModifiedMs = Date.now();
    const positions: number[] = new Array(sizes.length);
    let p = start;
    for (let i = 0; i < sizes.length; i++) {
      positions[i] = p;
      this.#track(p, sizes[i], bases[i], lasts[i], maxTimestamps[i], intervalBytes);
      p += sizes[i];
    }
    this.size = p;
    this.tail?.append(bytes, positions, sizes, bases, lasts, keep);
  }

  /**
   * The append state now, for {@linkcode LogSegment.rollbackTo}.
   *
   * @returns The mark.
   */
  mark(): SegmentMark {
    return {
      size: this.size,
      nextOffset: this.nextOffset,
      maxTimestamp: this.maxTimestamp,
      offsetOfMaxTimestamp: this.offsetOfMaxTimestamp,
      firstBatchTimestamp: this.firstBatchTimestamp,
      offsetIndexEntries: this.offsetIndex.entries,
      timeIndexEntries: this.timeIndex.entries,
      bytesSinceIndex: this.#bytesSinceIndex,
      lastTimeIndexTs: this.#lastTimeIndexTs,
    };
  }

  /**
   * Undoes the appends since `mark` was taken (a failed append): truncates the `.log` file back
   * to the marked size - which frees space and needs none, so it works on a full disk - and
   * restores offsets, timestamps and index entries, then makes this the active segment again
   * (a new hot tail if bytes were cut). A failed write leaves the segment's state unchanged but
   * may leave bytes past its size in the file: this cuts them too.
   *
   * @param mark A mark of this segment taken with {@linkcode LogSegment.mark}.
   * @param tailCapacity Hot tail bytes of the active segment (0 disables).
   * @throws {Error} If the file cannot be truncated (the caller must then take the log offline).
   */
  async rollbackTo(mark: SegmentMark, tailCapacity: number): Promise<void> {
    await this.#io.run(async () => {
      const f = await this.#handle();
      this.#filePos = -1;
      await f.truncate(mark.size);
    });
    const cut = this.size !== mark.size;
    this.size = mark.size;
    this.nextOffset = mark.nextOffset;
    this.maxTimestamp = mark.maxTimestamp;
    this.offsetOfMaxTimestamp = mark.offsetOfMaxTimestamp;
    this.firstBatchTimestamp = mark.firstBatchTimestamp;
    if (this.offsetIndex.entries !== mark.offsetIndexEntries) {
      this.offsetIndex.truncateEntries(mark.offsetIndexEntries);
      this.indexDirty = true;
    }
    if (this.timeIndex.entries !== mark.timeIndexEntries) {
      this.timeIndex.truncateEntries(mark.timeIndexEntries);
      this.indexDirty = true;
    }
    this.#bytesSinceIndex = mark.bytesSinceIndex;
    this.#lastTimeIndexTs = mark.lastTimeIndexTs;
    this.unsynced = true; // the truncation itself is not fsynced yet
    if (cut || !this.tail) this.activate(tailCapacity);
  }

  /**
   * Reads `length` bytes at `position` (fewer if the file is shorter).
   *
   * @param position Byte position.
   * @param length Bytes wanted.
   * @returns The bytes.
   */
  readBytes(position: number, length: number): Promise<Uint8Array> {
    return this.#io.run(async () => {
      const f = await this.#handle();
      if (this.#filePos !== position) f.seekSync(position, Deno.SeekMode.Start);
      this.#filePos = -1;
      const buf = new Uint8Array(length);
      let off = 0;
      while (off < length) {
        const n = await f.read(buf.subarray(off));
        if (n === null) break;
        off += n;
      }
      this.#filePos = position + off;
      return off === length ? buf : buf.subarray(0, off);
    });
  }

  /**
   * Fills `dest` with file bytes from `position` (fewer at the end of the file).
   *
   * @param position Byte position.
   * @param dest Destination.
   * @returns Bytes read.
   */
  readFileInto(position: number, dest: Uint8Array): Promise<number> {
    return this.#io.run(async () => {
      const f = await this.#handle();
      if (this.#filePos !== position) f.seekSync(position, Deno.SeekMode.Start);
      this.#filePos = -1;
      let off = 0;
      while (off < dest.length) {
        const n = await f.read(dest.subarray(off));
        if (n === null) break;
        off += n;
      }
      this.#filePos = position + off;
      return off;
    });
  }

  /**
   * Copies whole batches from the one containing `offset` into `dest` (no allocation): as many
   * as fit, none whose base offset is >= `limitOffset`.
   *
   * @param offset Target offset.
   * @param dest Destination buffer; its length is the byte budget.
   * @param limitOffset Exclusive bound on base offsets.
   * @returns Bytes written and the size of the first batch (larger than `dest` when
   * `bytes` is 0), or `null` if nothing at or after `offset` is below the limit.
   */
  async readInto(
    offset: number,
    dest: Uint8Array,
    limitOffset: number,
  ): Promise<{ bytes: number; firstBatchSize: number } | null> {
    if (this.#closed) throw new Error(`segment ${this.logPath} is closed`);
    const tail = this.tail;
    tail?.touch(); // someone reads this segment: its tail fills again if it had emptied itself
    let n: number;
    if (tail && tail.count > 0 && offset >= tail.firstOffset) {
      const i = tail.find(offset);
      if (i < 0 || tail.batchAt(i).baseOffset >= limitOffset) return null;
      n = tail.copyInto(i, dest);
    } else {
      const slot = this.#indexSuspect
        ? -1
        : this.offsetIndex.lookup(Math.max(0, offset - this.baseOffset));
      const pos = slot < 0 ? 0 : this.offsetIndex.positionAt(slot);
      n = await this.readFileInto(
        pos,
        dest.length <= this.size - pos ? dest : dest.subarray(0, this.size - pos),
      );
      // walk to the batch holding `offset`; re-read from there unless it is where we started
      let p = 0;
      while (p + HEADER_PEEK <= n && lastOffsetAt(dest, p) < offset) {
        const size = batchSizeAt(dest, p);
        if (size < LOG_OVERHEAD) return null;
        p += size;
      }
      const lied = slot >= 0 && n >= BASE_OFFSET_LENGTH &&
        baseOffsetAt(dest, 0) !== this.baseOffset + this.offsetIndex.relativeOffsetAt(slot);
      if (p > 0 || n < HEADER_PEEK || lied) {
        const loc = await this.locate(offset);
        if (!loc) return null;
        const len = Math.min(dest.length, this.size - loc.position);
        n = await this.readFileInto(loc.position, dest.subarray(0, len));
      }
    }
    if (n < HEADER_PEEK) return null;
    const first = batchSizeAt(dest, 0);
    if (baseOffsetAt(dest, 0) >= limitOffset) return null;
    let p = 0;
    while (p + HEADER_PEEK <= n) {
      const size = batchSizeAt(dest, p);
      if (size < LOG_OVERHEAD || p + size > n) break;
      if (p > 0 && baseOffsetAt(dest, p) >= limitOffset) break;
      p += size;
    }
    return { bytes: p, firstBatchSize: first };
  }

  /**
   * Finds the batch containing `offset`, or the first batch after it.
   *
   * @param offset Target offset.
   * @returns Its location, or `null` if the segment holds no batch at or after `offset`.
   */
  async locate(offset: number): Promise<BatchLocation | null> {
    return (await this.#locate(offset, READ_WINDOW))?.loc ?? null;
  }

  /** Like `locate`, also returning the file window read (reused by `read`). */
  async #locate(
    offset: number,
    windowBytes: number,
  ): Promise<{ loc: BatchLocation; win: Uint8Array; winStart: number } | null> {
    if (this.#closed) throw new Error(`segment ${this.logPath} is closed`);
    const tail = this.tail;
    if (tail && tail.count > 0 && offset >= tail.firstOffset) {
      const i = tail.find(offset);
      return i < 0 ? null : { loc: tail.batchAt(i), win: new Uint8Array(0), winStart: 0 };
    }
    const slot = this.#indexSuspect
      ? -1
      : this.offsetIndex.lookup(Math.max(0, offset - this.baseOffset));
    let pos = slot < 0 ? 0 : this.offsetIndex.positionAt(slot);
    let expect = slot < 0 ? -1 : this.baseOffset + this.offsetIndex.relativeOffsetAt(slot);
    const end = this.size;
    let win: Uint8Array = new Uint8Array(0);
    let winStart = pos;
    while (pos < end) {
      if (pos + HEADER_PEEK > winStart + win.length) {
        winStart = pos;
        win = await this.readBytes(pos, Math.min(windowBytes, end - pos));
        if (win.length < HEADER_PEEK) return null;
      }
      const p = pos - winStart;
      if (expect >= 0) {
        if (baseOffsetAt(win, p) !== expect) {
          // the index lies (damaged file): walk from the start, and rebuild it on next open
          this.#indexSuspect = true;
          pos = 0;
          winStart = 0;
          win = new Uint8Array(0);
          expect = -1;
          continue;
        }
        expect = -1;
      }
      const size = batchSizeAt(win, p);
      const last = lastOffsetAt(win, p);
      if (size < LOG_OVERHEAD) return null;
      if (last >= offset) {
        return {
          loc: { position: pos, size, baseOffset: baseOffsetAt(win, p), lastOffset: last },
          win,
          winStart,
        };
      }
      pos += size;
    }
    return null;
  }

  /**
   * Whole batches from the one containing `offset`: at most `maxBytes` but at least one batch,
   * none whose base offset is >= `limitOffset`.
   *
   * @param offset Target offset.
   * @param maxBytes Byte budget.
   * @param limitOffset Exclusive bound on base offsets.
   * @param allocate Where bytes copied out of the hot tail go (default a new buffer).
   * @returns The bytes as stored, or `null` if nothing at or after `offset` is below the limit.
   */
  async read(
    offset: number,
    maxBytes: number,
    limitOffset: number,
    allocate?: (size: number) => Uint8Array,
  ): Promise<Uint8Array | null> {
    const tail = this.tail;
    tail?.touch(); // someone reads this segment: its tail fills again if it had emptied itself
    if (tail && tail.count > 0 && offset >= tail.firstOffset) {
      const i = tail.find(offset);
      if (i < 0 || tail.batchAt(i).baseOffset >= limitOffset) return null;
      return tail.copyFrom(i, maxBytes, limitOffset, allocate);
    }
    // slack past maxBytes: a first batch a little larger than maxBytes still takes one read
    const found = await this.#locate(offset, Math.max(READ_WINDOW, maxBytes) + READ_WINDOW);
    if (!found || found.loc.baseOffset >= limitOffset) return null;
    const { loc, win, winStart } = found;
    const want = Math.min(this.size - loc.position, Math.max(loc.size, maxBytes));
    const from = loc.position - winStart;
    const buf = from >= 0 && from + want <= win.length
      ? win.subarray(from, from + want)
      : await this.readBytes(loc.position, want);
    let p = 0;
    while (p + HEADER_PEEK <= buf.length) {
      const size = batchSizeAt(buf, p);
      if (size < LOG_OVERHEAD || p + size > buf.length) break;
      if (p > 0 && (p + size > maxBytes || baseOffsetAt(buf, p) >= limitOffset)) break;
      p += size;
    }
    return p === 0 ? null : buf.subarray(0, p);
  }

  /**
   * The first batch whose maxTimestamp is >= `timestamp`, starting the search from the time index.
   *
   * @param timestamp Target timestamp.
   * @returns The batch bytes (header and records) or `null` if none.
   */
  async findByTimestamp(timestamp: number): Promise<Uint8Array | null> {
    const slot = this.timeIndex.lookup(timestamp - 1);
    const from = slot < 0
      ? this.baseOffset
      : this.baseOffset + this.timeIndex.relativeOffsetAt(slot);
    let loc = await this.locate(from);
    while (loc) {
      const head = await this.readBytes(loc.position, loc.size);
      if (maxTimestampAt(head, 0) >= timestamp) return head;
      loc = await this.locate(loc.lastOffset + 1);
    }
    return null;
  }

  /**
   * fsyncs the `.log` file if it has unsynced bytes (and the partition directory after the
   * file was made lazily).
   */
  async syncLog(): Promise<void> {
    if (!this.unsynced) return;
    this.unsynced = false;
    try {
      await this.#io.run(async () => {
        const f = await this.#handle();
        await f.syncData();
        if (this.#dirUnsynced) {
          // a lazily made `.log`: its directory entry must be durable with its bytes
          this.#dirUnsynced = false;
          try {
            await syncDir(this.dir);
          } catch (e) {
            this.#dirUnsynced = true;
            throw e;
          }
        }
      });
    } catch (e) {
      this.unsynced = true;
      throw e;
    }
  }

  /**
   * Writes the index files that changed (Kafka's on-disk layout), optionally fsyncing the offset
   * and time indexes (the transaction index is always written through a fsynced temporary file).
   * When a write fails (a full disk), the files are removed - a cut index must never be
   * trusted; the loader rebuilds a missing one from the log - and the indexes stay dirty, so the
   * next call writes them again.
   *
   * @param sync Whether to fsync the index files.
   * @throws {Error} The I/O error of the write.
   */
  async writeIndexes(sync: boolean): Promise<void> {
    if (this.#indexSuspect) {
      // never persist an index known to be wrong: the next open rebuilds it from the log
      for (const p of [this.indexPath, this.timeIndexPath]) await removeIfExists(p);
    } else if (this.indexDirty) {
      this.indexDirty = false;
      try {
        await writeWhole(this.indexPath, this.offsetIndex.toBytes(), sync);
        await writeWhole(this.timeIndexPath, this.timeIndex.toBytes(), sync);
      } catch (e) {
        this.indexDirty = true;
        for (const p of [this.indexPath, this.timeIndexPath]) {
          await removeIfExists(p).catch(() => {});
        }
        throw e;
      }
    }
    await this.txnIndex.write();
  }

  /**
   * Loads the index files after sanity checks (size a multiple of the entry size, entries
   * monotonic, positions and offsets within the segment). The segment `size` must be set.
   *
   * @returns `""` if both loaded, else why they could not be trusted.
   */
  async loadIndexes(): Promise<string> {
    let idx: Uint8Array;
    let tidx: Uint8Array;
    try {
      idx = await readFileBounded(this.indexPath);
      tidx = await readFileBounded(this.timeIndexPath);
    } catch (e) {
      return e instanceof Deno.errors.NotFound ? "index file missing" : `cannot read index: ${e}`;
    }
    if (idx.length % 8 !== 0) return `offset index size ${idx.length} is not a multiple of 8`;
    if (tidx.length % 12 !== 0) return `time index size ${tidx.length} is not a multiple of 12`;
    const dv = new DataView(idx.buffer, idx.byteOffset, idx.byteLength);
    let prevRel = -1;
    let prevPos = -1;
    for (let p = 0; p < idx.length; p += 8) {
      const rel = dv.getUint32(p);
      const pos = dv.getUint32(p + 4);
      if (rel <= prevRel || pos <= prevPos || pos >= this.size) {
        return `offset index entry ${p / 8} (${rel} -> ${pos}) is not monotonic or past the log`;
      }
      prevRel = rel;
      prevPos = pos;
    }
    const tdv = new DataView(tidx.buffer, tidx.byteOffset, tidx.byteLength);
    let prevTs = -Infinity;
    let prevTRel = -1;
    for (let p = 0; p < tidx.length; p += 12) {
      const ts = readInt64(tidx, p);
      const rel = tdv.getUint32(p + 8);
      if (ts <= prevTs || rel < prevTRel) {
        return `time index entry ${p / 12} (${ts} -> ${rel}) is not monotonic`;
      }
      prevTs = ts;
      prevTRel = rel;
    }
    this.offsetIndex.load(idx);
    this.timeIndex.load(tidx);
    if (this.timeIndex.entries > 0) {
      const lastSlot = this.timeIndex.entries - 1;
      this.maxTimestamp = this.timeIndex.timestampAt(lastSlot);
      this.offsetOfMaxTimestamp = this.baseOffset + this.timeIndex.relativeOffsetAt(lastSlot);
      this.#lastTimeIndexTs = this.maxTimestamp;
    }
    this.indexDirty = false;
    return "";
  }

  /**
   * Checks that loaded index entries stay below `nextOffset` (cheap sanity check on open).
   *
   * @param nextOffset The segment's next offset.
   * @returns `""` if fine, else why the indexes cannot be trusted.
   */
  checkIndexRange(nextOffset: number): string {
    const limit = nextOffset - this.baseOffset;
    const n = this.offsetIndex.entries;
    if (n > 0 && this.offsetIndex.relativeOffsetAt(n - 1) >= limit) {
      return `offset index entry ${n - 1} is past the segment's last offset`;
    }
    const t = this.timeIndex.entries;
    if (t > 0 && this.timeIndex.relativeOffsetAt(t - 1) >= limit) {
      return `time index entry ${t - 1} is past the segment's last offset`;
    }
    return "";
  }

  /**
   * Completes the state of a segment whose indexes were loaded: walks the batches after the last
   * index entry to find the next offset, the bytes since the last entry, and the timestamps.
   *
   * @returns `""` on success, else why the tail could not be walked (the caller then recovers).
   */
  async loadTail(): Promise<string> {
    const n = this.offsetIndex.entries;
    let pos = n > 0 ? this.offsetIndex.positionAt(n - 1) : 0;
    if (n > 0) {
      const head = await this.readBytes(pos, BASE_OFFSET_LENGTH);
      const want = this.baseOffset + this.offsetIndex.relativeOffsetAt(n - 1);
      if (head.length < BASE_OFFSET_LENGTH || baseOffsetAt(head, 0) !== want) {
        return `last offset index entry does not point at the batch with offset ${want}`;
      }
    }
    if (pos === 0 && this.size > 0) {
      const head = await this.readBytes(0, Math.min(this.size, TIMESTAMP_PEEK));
      if (head.length >= TIMESTAMP_PEEK) this.firstBatchTimestamp = maxTimestampAt(head, 0);
    }
    while (pos < this.size) {
      const head = await this.readBytes(pos, TIMESTAMP_PEEK);
      if (head.length < TIMESTAMP_PEEK) return `batch header at byte ${pos} is cut off`;
      const size = batchSizeAt(head, 0);
      if (size < RECORD_BATCH_OVERHEAD || pos + size > this.size) {
        return `batch at byte ${pos} has a bad length`;
      }
      const last = lastOffsetAt(head, 0);
      const maxTs = maxTimestampAt(head, 0);
      if (maxTs > this.maxTimestamp) {
        this.maxTimestamp = maxTs;
        this.offsetOfMaxTimestamp = last;
      }
      this.#bytesSinceIndex = pos === (n > 0 ? this.offsetIndex.positionAt(n - 1) : 0)
        ? size
        : this.#bytesSinceIndex + size;
      this.nextOffset = last + 1;
      pos += size;
    }
    return "";
  }

  /**
   * Re-validates every batch in the file (CRC and framing, in WASM), rebuilds both indexes and
   * cuts a torn or corrupt tail.
   *
   * @param intervalBytes `index.interval.bytes`.
   * @returns What was kept and cut.
   */
  recover(intervalBytes: number): Promise<SegmentRecovery> {
    return this.#io.run(() => this.#recover(intervalBytes));
  }

  async #recover(intervalBytes: number): Promise<SegmentRecovery> {
    this.offsetIndex.truncateEntries(0);
    this.timeIndex.truncateEntries(0);
    this.#bytesSinceIndex = 0;
    this.#lastTimeIndexTs = -1;
    this.maxTimestamp = -1;
    this.offsetOfMaxTimestamp = this.baseOffset;
    this.firstBatchTimestamp = -1;
    this.nextOffset = this.baseOffset;
    this.indexDirty = true;
    const f = await this.#handle();
    this.#filePos = -1;
    const fileSize = (await f.stat()).size;
    let buf = new Uint8Array(Math.min(RECOVERY_CHUNK, Math.max(fileSize, 64)));
    let bufPos = 0; // file position of buf[0]
    let filled = 0;
    let filePos = 0;
    let reason = "";
    let valid = 0;
    const epochs: { epoch: number; startOffset: number }[] = [];
    await f.seek(0, Deno.SeekMode.Start);
    outer: while (true) {
      while (filled < buf.length && filePos < fileSize) {
        const n = await f.read(buf.subarray(filled));
        if (n === null) break;
        filled += n;
        filePos += n;
      }
      const eof = filePos >= fileSize;
      const scan = scanBatches(buf, {
        start: 0,
        end: filled,
        walkRecords: false,
        verifyCrc: true,
        relaxedOffsets: this.allowOffsetGaps, // batches rewritten by the log cleaner
      });
      for (let i = 0; i < scan.count; i++) {
        const base = scan.baseOffsets[i];
        // baseOffset is not covered by the CRC: offsets must continue exactly (no compaction)
        if (base < this.nextOffset || (base > this.nextOffset && !this.allowOffsetGaps)) {
          reason = `batch at byte ${bufPos + scan.positions[i]} has base offset ${base}, ` +
            `expected ${this.nextOffset}`;
          break outer;
        }
        if (
          !Number.isSafeInteger(scan.maxTimestamps[i]) ||
          base + scan.lastOffsetDeltas[i] - this.baseOffset > 0xffffffff
        ) {
          reason = `batch at byte ${bufPos + scan.positions[i]} has an out-of-range ` +
            `timestamp or offset`;
          break outer;
        }
        this.#track(
          bufPos + scan.positions[i],
          scan.sizes[i],
          base,
          base + scan.lastOffsetDeltas[i],
          scan.maxTimestamps[i],
          intervalBytes,
        );
        valid = bufPos + scan.positions[i] + scan.sizes[i];
        const epoch = partitionLeaderEpochAt(buf, scan.positions[i]);
        if (epoch >= 0 && epoch > (epochs.at(-1)?.epoch ?? -1)) {
          epochs.push({ epoch, startOffset: base });
        }
      }
      if (scan.status === BatchStatus.OK) {
        if (eof) break;
        bufPos += filled;
        filled = 0;
        continue;
      }
      if (scan.status === BatchStatus.TRUNCATED && !eof) {
        // The batch at `validBytes` runs past the end of this chunk. It is torn only if the file
        // itself ends inside it: compare the batch's own size (or, for a header cut by the chunk,
        // the size field's end) with the bytes left in the file, never the chunk size.
        const rest = filled - scan.validBytes;
        const at = bufPos + scan.validBytes;
        const need = rest >= LOG_OVERHEAD ? batchSizeAt(buf, scan.validBytes) : LOG_OVERHEAD;
        if (need > fileSize - at) {
          reason = `batch at byte ${at} needs ${need} bytes but the file ends ${
            fileSize - at
          } bytes after its start`;
          break;
        }
        if (need > buf.length) {
          const next = new Uint8Array(need);
          next.set(buf.subarray(scan.validBytes, filled));
          buf = next;
        } else {
          buf.copyWithin(0, scan.validBytes, filled);
        }
        bufPos += scan.validBytes;
        filled = rest;
        continue;
      }
      reason = scan.detail.replace(
        /^batch \d+ at byte (\d+)/,
        (_, b) => `batch at byte ${bufPos + Number(b)}`,
      );
      break;
    }
    const truncated = fileSize - valid;
    if (truncated > 0) {
      await f.truncate(valid);
      this.unsynced = true;
    }
    this.size = valid;
    this.#filePos = -1;
    return {
      validBytes: valid,
      truncatedBytes: truncated,
      reason: truncated > 0 ? reason : "",
      epochs,
    };
  }

  /**
   * Cuts the segment so that it ends before the first batch whose last offset is >= `offset`.
   *
   * @param offset First offset to remove.
   * @param intervalBytes `index.interval.bytes` (indexes are rebuilt).
   * @returns The segment's next offset afterwards.
   */
  async truncateTo(offset: number, intervalBytes: number): Promise<number> {
    const loc = await this.locate(offset);
    if (loc) {
      await this.#io.run(async () => {
        const f = await this.#handle();
        await f.truncate(loc.position);
        this.#filePos = -1;
      });
      this.size = loc.position;
    }
    this.#setTail(this.tail ? new HotTail(this.#tailCap, this.size) : undefined);
    await this.recover(intervalBytes);
    this.txnIndex.truncateTo(this.nextOffset);
    return this.nextOffset;
  }

  #tailCap = 0;

  /**
   * Makes this the active segment, with a hot tail of `capacity` bytes.
   *
   * @param capacity Hot tail bytes (0 disables).
   */
  activate(capacity: number): void {
    this.#tailCap = capacity;
    this.#setTail(capacity > 0 ? new HotTail(capacity, this.size) : undefined);
  }

  /** Replaces the hot tail; the old one releases the bytes it kept. */
  #setTail(tail: HotTail | undefined): void {
    this.tail?.dispose();
    this.tail = tail;
  }

  /** Drops the hot tail (the segment is no longer active). */
  deactivate(): void {
    this.#setTail(undefined);
  }

  /** Closes the file handle (idempotent). */
  close(): Promise<void> {
    return this.#io.run(() => {
      if (this.#closed) return Promise.resolve();
      this.#closed = true;
      if (this.#file !== undefined) {
        this.#file.close();
        this.#file = undefined;
        this.#handles?.closed(this.#entry);
      }
      this.#setTail(undefined);
      this.#offsetIndex?.free();
      this.#timeIndex?.free();
      return Promise.resolve();
    });
  }

  /**
   * Renames the segment's files to `*.deleted`. Readers holding the segment keep reading it
   * (its handle is reopened under the new name if the cache closed it) until it is closed.
   *
   * @returns The renamed paths.
   */
  renameToDeleted(): Promise<string[]> {
    return this.#io.run(async () => {
      const out: string[] = [];
      for (const p of [this.logPath, this.indexPath, this.timeIndexPath, this.txnIndexPath]) {
        try {
          await Deno.rename(p, p + DELETED_FILE_SUFFIX);
          out.push(p + DELETED_FILE_SUFFIX);
          if (p === this.logPath) this.#openPath = p + DELETED_FILE_SUFFIX;
        } catch (e) {
          if (!(e instanceof Deno.errors.NotFound)) throw e;
        }
      }
      return out;
    });
  }
}

/**
 * Removes a file, ignoring a missing one.
 *
 * @param path File path.
 */
export async function removeIfExists(path: string): Promise<void> {
  try {
    await Deno.remove(path);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
}
