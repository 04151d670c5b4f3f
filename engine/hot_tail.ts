/**
 * The hot tail of an active segment: the last few MiB of appended batches kept in memory so that
 * consumers reading near the log end never touch the file ("mmap-style" buffer).
 *
 * @module
 */

/**
 * A tail not read ({@linkcode HotTail.touch}) while this many times its capacity was appended
 * holds nothing until it is read again: a partition nobody reads near its end pays no copy (and
 * a producer's pooled frames are not kept, so the same warm buffers take its next requests).
 */
export const UNREAD_LIMIT = 2;

/**
 * Lets the hot tail keep the bytes of an append instead of copying them: called with the bytes,
 * it returns the function to call once the tail holds no view of them any more, or undefined if
 * they may not be kept (the server's `FrameBufferPool.retain`: a Produce batch that fills most
 * of its pooled request frame).
 */
export type KeepBytes = (bytes: Uint8Array) => (() => void) | undefined;

/** A span of the tail held as the caller's own bytes ({@linkcode KeepBytes}), not a copy. */
interface Kept {
  /** Segment positions [start, end). */
  start: number;
  end: number;
  bytes: Uint8Array;
  /** Bytes it pins (its whole buffer). */
  cost: number;
  release: () => void;
}

/**
 * Whole batches at the end of the active segment, held in a ring buffer of `capacity` bytes
 * (allocated as it fills, then reused: appends do not allocate). Batches overwritten by newer
 * ones are forgotten; a span larger than the capacity empties the tail.
 *
 * A span whose bytes the caller lets the tail keep ({@linkcode KeepBytes}: a large Produce batch
 * in its pooled request frame) is held as that view instead of being copied into the ring, when
 * it fills at least half of its buffer and the buffer is no larger than the capacity; such kept
 * buffers together pin at most `capacity` bytes (older batches are dropped to stay under), and
 * each is released as soon as the tail drops its last batch, or {@linkcode HotTail.dispose}.
 *
 * A tail nobody reads empties itself: once more than {@linkcode UNREAD_LIMIT} times its capacity
 * was appended since the last {@linkcode HotTail.touch}, appends only move its end, until the
 * next touch.
 *
 * @example
 * ```ts
 * import { HotTail } from "./hot_tail.ts";
 *
 * const tail = new HotTail(1024, 0);
 * tail.append(new Uint8Array(100), [0], [100], [5], [9]);
 * console.assert(tail.find(7) === 0 && tail.find(10) === -1);
 * ```
 */
export class HotTail {
  #cap: number;
  #ring: Uint8Array = new Uint8Array(0);
  #end: number;
  #pos: number[] = [];
  #size: number[] = [];
  #base: number[] = [];
  #last: number[] = [];
  #head = 0;
  /** Spans held as kept views, oldest first (they do not overlap). */
  #kept: Kept[] = [];
  #keptCost = 0;
  /** Bytes appended since the last {@linkcode HotTail.touch}. */
  #unread = 0;

  /**
   * @param capacity Bytes to keep.
   * @param start Segment position where the tail begins (the current segment size).
   */
  constructor(capacity: number, start: number) {
    this.#cap = Math.max(0, capacity);
    this.#end = start;
  }

  /** Segment position of the first byte held. */
  get start(): number {
    return this.#head < this.#pos.length ? this.#pos[this.#head] : this.#end;
  }

  /** Segment position just after the last byte held. */
  get end(): number {
    return this.#end;
  }

  /** Number of batches held. */
  get count(): number {
    return this.#pos.length - this.#head;
  }

  /** Base offset of the first batch held (`Infinity` when empty). */
  get firstOffset(): number {
    return this.count > 0 ? this.#base[this.#head] : Infinity;
  }

  /** Bytes pinned by kept views (buffers held instead of copies). */
  get keptBytes(): number {
    return this.#keptCost;
  }

  #write(pos: number, bytes: Uint8Array): void {
    const len = this.#ring.length;
    const at = pos % len;
    const first = Math.min(bytes.length, len - at);
    this.#ring.set(bytes.subarray(0, first), at);
    if (first < bytes.length) this.#ring.set(bytes.subarray(first), 0);
  }

  /**
   * Records bytes just appended at segment position {@linkcode HotTail.end}: copied, or kept as
   * they are if `keep` allows it (see the class).
   *
   * @param bytes The bytes written (whole batches).
   * @param positions Segment position of each batch in `bytes`.
   * @param sizes Size of each batch.
   * @param bases Base offset of each batch.
   * @param lasts Last offset of each batch.
   * @param keep Lets the tail keep `bytes` instead of a copy.
   */
  append(
    bytes: Uint8Array,
    positions: ArrayLike<number>,
    sizes: ArrayLike<number>,
    bases: ArrayLike<number>,
    lasts: ArrayLike<number>,
    keep?: KeepBytes,
  ): void {
    const start = this.#end;
    const newEnd = start + bytes.length;
    this.#unread += bytes.length;
    if (bytes.length > this.#cap || this.#unread > UNREAD_LIMIT * this.#cap) {
      this.#end = newEnd;
      this.#pos = [];
      this.#size = [];
      this.#base = [];
      this.#last = [];
      this.#head = 0;
      this.#releaseKept(Infinity);
      return;
    }
    // forget batches the new bytes will overwrite
    this.#dropBefore(newEnd - this.#cap);
    const cost = bytes.buffer.byteLength;
    const release = keep !== undefined && bytes.length * 2 >= cost && cost <= this.#cap
      ? keep(bytes)
      : undefined;
    if (release !== undefined) {
      // kept buffers pin at most the capacity: older batches go first
      while (this.#keptCost + cost > this.#cap && this.#kept.length > 0) {
        this.#dropBefore(this.#kept[0].end);
      }
      this.#kept.push({ start, end: newEnd, bytes, cost, release });
      this.#keptCost += cost;
    } else {
      // the ring holds the copied batches: from the oldest held one that is not kept on
      let from = this.start;
      for (const k of this.#kept) {
        if (k.start > from || k.end <= from) break;
        from = k.end;
      }
      const held = start - from;
      if (held + bytes.length > this.#ring.length) {
        // grow (only while filling up to the capacity), from 4 KiB: a partition that got one
        // small batch holds 4 KiB, not 64 (10,000 such partitions held 640 MiB of tails)
        const size = Math.min(
          this.#cap,
          Math.max(this.#ring.length * 2, held + bytes.length, 4096),
        );
        const old = new Uint8Array(held);
        if (held > 0) this.#ringCopy(from, old);
        this.#ring = new Uint8Array(size);
        if (held > 0) this.#write(from, old);
      }
      this.#write(start, bytes);
    }
    this.#end = newEnd;
    for (let i = 0; i < positions.length; i++) {
      this.#pos.push(positions[i]);
      this.#size.push(sizes[i]);
      this.#base.push(bases[i]);
      this.#last.push(lasts[i]);
    }
    if (this.#head > 1024 && this.#head * 2 > this.#pos.length) {
      this.#pos = this.#pos.slice(this.#head);
      this.#size = this.#size.slice(this.#head);
      this.#base = this.#base.slice(this.#head);
      this.#last = this.#last.slice(this.#head);
      this.#head = 0;
    }
  }

  /**
   * Says the log end is being read (a fetch or a follower looked at the active segment): a tail
   * that emptied itself because nobody read it fills again from the next append on.
   */
  touch(): void {
    this.#unread = 0;
  }

  /** Drops the batches before segment position `from`, and kept views no batch is in any more. */
  #dropBefore(from: number): void {
    while (this.#head < this.#pos.length && this.#pos[this.#head] < from) this.#head++;
    this.#releaseKept(this.start);
  }

  /** Releases the kept views that end at or before `until`. */
  #releaseKept(until: number): void {
    while (this.#kept.length > 0 && this.#kept[0].end <= until) {
      const k = this.#kept.shift()!;
      this.#keptCost -= k.cost;
      k.release();
    }
  }

  /**
   * Releases every kept view and forgets every batch (the tail is no longer used: the segment
   * was rolled, truncated or closed). Idempotent.
   */
  dispose(): void {
    this.#head = this.#pos.length;
    this.#releaseKept(Infinity);
  }

  /** Copies segment bytes [from, from + dest.length) into dest, from kept views and the ring. */
  #copy(from: number, dest: Uint8Array): void {
    if (this.#kept.length === 0) return this.#ringCopy(from, dest);
    const end = from + dest.length;
    let at = from;
    let k = 0;
    while (k < this.#kept.length && this.#kept[k].end <= at) k++;
    while (at < end) {
      const kept = k < this.#kept.length ? this.#kept[k] : undefined;
      if (kept !== undefined && kept.start <= at) {
        const stop = Math.min(end, kept.end);
        dest.set(kept.bytes.subarray(at - kept.start, stop - kept.start), at - from);
        at = stop;
        k++;
      } else {
        const stop = kept !== undefined ? Math.min(end, kept.start) : end;
        this.#ringCopy(at, dest.subarray(at - from, stop - from));
        at = stop;
      }
    }
  }

  /** Copies segment bytes [from, from + dest.length) out of the ring into dest. */
  #ringCopy(from: number, dest: Uint8Array): void {
    const len = this.#ring.length;
    const at = from % len;
    const first = Math.min(dest.length, len - at);
    dest.set(this.#ring.subarray(at, at + first), 0);
    if (first < dest.length) dest.set(this.#ring.subarray(0, dest.length - first), first);
  }

  /**
   * Index (for {@linkcode HotTail.batchAt}) of the batch containing `offset` or the first batch
   * after it, -1 if none is held. Only meaningful when `offset >= firstOffset`.
   *
   * @param offset Target offset.
   * @returns Batch index or -1.
   */
  find(offset: number): number {
    let lo = this.#head;
    let hi = this.#pos.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#last[mid] < offset) lo = mid + 1;
      else hi = mid;
    }
    return lo < this.#pos.length ? lo - this.#head : -1;
  }

  /**
   * The batch at index `i` (0 = oldest held).
   *
   * @param i Batch index.
   * @returns Its segment position, size, base and last offsets.
   */
  batchAt(i: number): { position: number; size: number; baseOffset: number; lastOffset: number } {
    const j = i + this.#head;
    return {
      position: this.#pos[j],
      size: this.#size[j],
      baseOffset: this.#base[j],
      lastOffset: this.#last[j],
    };
  }

  /**
   * Copies the bytes from batch `i` on into `dest`, as many as fit (the caller trims to whole
   * batches).
   *
   * @param i First batch index.
   * @param dest Destination.
   * @returns Bytes copied.
   */
  copyInto(i: number, dest: Uint8Array): number {
    const first = this.#pos[i + this.#head];
    const n = Math.min(dest.length, this.#end - first);
    this.#copy(first, dest.subarray(0, n));
    return n;
  }

  /**
   * Copies whole batches from index `i`: at most `maxBytes` (but at least one batch), stopping
   * before the first batch whose base offset is >= `limitOffset`.
   *
   * @param i First batch index.
   * @param maxBytes Byte budget.
   * @param limitOffset Exclusive offset bound.
   * @param allocate Where the copy goes: a buffer of exactly the size asked for (default a new
   * one).
   * @returns A copy of the bytes (possibly empty).
   */
  copyFrom(
    i: number,
    maxBytes: number,
    limitOffset: number,
    allocate?: (size: number) => Uint8Array,
  ): Uint8Array {
    let j = i + this.#head;
    const first = this.#pos[j];
    let end = first;
    for (; j < this.#pos.length; j++) {
      if (this.#base[j] >= limitOffset) break;
      const next = this.#pos[j] + this.#size[j];
      if (end > first && next - first > maxBytes) break;
      end = next;
    }
    const out = allocate?.(end - first) ?? new Uint8Array(end - first);
    this.#copy(first, out);
    return out;
  }
}
